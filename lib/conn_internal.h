/*
 * The inside of a connection, for libnmig's own modules: the libpq
 * session and the queries that go through it, counted as round trips.
 * Not installed: the public conn.h keeps struct nmig_conn opaque and
 * libpq out of every public header.
 */
#ifndef NMIG_CONN_INTERNAL_H
#define NMIG_CONN_INTERNAL_H

#include <libpq-fe.h>

#include "conn.h"

struct nmig_conn {
	PGconn *pg;
	PGcancel *cancel; /* for nmig_interrupt_request (interrupt.h) */
	struct nmig_conninfo info;
	char *display;	 /* user@host:port/dbname of the session */
	int attempts;	 /* connection attempts made */
	long roundtrips; /* queries sent and waited for */
	int pooled;	 /* see nmig_conn_pooled */
	void (*on_notice)(void *ud, const char *severity, const char *message);
	void *ud;
};

/*
 * Send one query and wait for its result (one round trip). With nparams
 * 0 the simple protocol is used (sql may hold several statements; the last
 * result is returned), else PQexecParams with text parameters. *out (may
 * be NULL) receives the result on success, for the caller to PQclear. A
 * failure sets the last error "<what>: <server message>" with SQLSTATE,
 * detail and hint and returns NMIG_ERROR, or NMIG_ECONNECT when the
 * connection was lost.
 */
int nmig_conn_query(struct nmig_conn *c, const char *what, const char *sql,
		    int nparams, const char *const *params, PGresult **out);

/*
 * Send sql (several statements, simple protocol) in one round trip and
 * keep each statement's result in res[0..*n) (at most max; the caller
 * PQclears them). A failure is reported as nmig_conn_query does, with the
 * results before it kept.
 */
int nmig_conn_query_all(struct nmig_conn *c, const char *what, const char *sql,
			PGresult **res, int max, int *n);

/*
 * Set the last error from a failed result: code, "<prefix>: <primary>",
 * SQLSTATE, detail, hint and context. Returns code.
 */
int nmig_conn_result_error(const PGresult *res, int code, const char *prefix);

#endif
