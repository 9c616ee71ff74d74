/*
 * Executing a plan against the database. A run of consecutive
 * transactional migrations is sent as ONE multi-statement simple query
 * holding, per migration, `BEGIN; SET LOCAL ...; <version row guard>;
 * <file SQL>; [record duration;] COMMIT;`, and the results are read back
 * as they arrive, so N migrations cost one network round trip. The version
 * row is written first inside each transaction so that a concurrent runner
 * blocks on its primary key and fails cleanly. A failing migration is
 * rolled back with every earlier one committed; its error is mapped back
 * to file:line:col. Non-transactional migrations run statement by
 * statement between a 'dirty' row and its completion. Lock timeouts are
 * retried with backoff. Progress goes out through a callback; nothing here
 * prints.
 */
#ifndef NMIG_EXEC_H
#define NMIG_EXEC_H

#include <stddef.h>

#include "buf.h"
#include "conn.h"
#include "plan.h"
#include "revfile.h"
#include "sqlscript.h"
#include "state.h"

/* One migration to run: the revision and the file that runs (up/down). */
struct nmig_step {
	const struct nmig_revision *rev;
	const struct nmig_script *script;
};

enum nmig_exec_event_kind {
	NMIG_EXEC_START, /* the migration began on the server */
	NMIG_EXEC_DONE,	 /* committed (or completed, non-transactional) */
	NMIG_EXEC_RETRY, /* lock conflict: rolled back, retrying */
};

struct nmig_exec_event {
	enum nmig_exec_event_kind kind;
	size_t index; /* into the steps */
	const struct nmig_revision *rev;
	double ms;	    /* DONE: client-side duration */
	int attempt;	    /* RETRY: 1-based retry number */
	int wait_ms;	    /* RETRY: the wait before it */
	const char *reason; /* RETRY: the server's message */
};

struct nmig_exec_opts {
	enum nmig_direction dir;
	int lock_timeout_ms;	  /* SET LOCAL lock_timeout (0 = none) */
	int statement_timeout_ms; /* SET LOCAL statement_timeout (0 = none) */
	int lock_retries; /* retries of a migration after a lock timeout */
	/*
	 * SET LOCAL client_connection_check_interval in each migration (PG
	 * 14+; 0 = leave the server's setting): how soon the server stops a
	 * migration whose client is gone (killed, or the network lost).
	 */
	int client_check_ms;
	const char *nmig_version; /* recorded in each row */
	void (*on_event)(void *ud, const struct nmig_exec_event *ev);
	void *ud;
};

struct nmig_exec_result {
	size_t done;	     /* steps completed, in order */
	double *ms;	     /* client-side duration of each done step */
	long failed;	     /* the step that failed or conflicted, -1 */
	int concurrent;	     /* step `failed` was applied (reverted) by
			      * another process meanwhile: not an error of
			      * this run; re-read the state */
	int connection_lost; /* the connection dropped */
	int interrupted;     /* stopped by nmig_interrupt_request: step
			      * `failed` was cancelled (rolled back, or left
			      * dirty) or had not started */
};

/*
 * Run steps[0..n) in order. Returns NMIG_OK when every step completed.
 * Else: NMIG_ESQL for a failed migration (the last error names it, with
 * SQLSTATE, detail, hint and file:line:col; earlier steps committed);
 * NMIG_ESTATE with out->concurrent set when another process applied or
 * reverted step out->failed first; NMIG_ESQL with out->connection_lost
 * when the connection dropped. out->done says how far the run got.
 */
int nmig_exec_run(struct nmig_exec_result *out, struct nmig_conn *c,
		  const struct nmig_vtable *t, const struct nmig_step *steps,
		  size_t n, const struct nmig_exec_opts *o);
void nmig_exec_result_release(struct nmig_exec_result *r);

/*
 * Run script's whole text on c as one simple query (one round trip), as
 * a setup file (nmig test --prelude) is run: a failure is NMIG_ESQL named
 * "<what> failed" with the server's fields and the file:line:col of the
 * failing statement (NMIG_ECONNECT when the connection was lost); a
 * transaction the script leaves open is rolled back and is NMIG_ESQL
 * "<what> left a transaction open (rolled back)".
 */
int nmig_exec_script(struct nmig_conn *c, const struct nmig_script *script,
		     const char *what);

struct nmig_batch_entry {
	size_t step;	/* index into the steps */
	size_t sql_off; /* byte offset of the file text in sql */
	size_t sql_len; /* its length */
	size_t file_base; /* offset in the file of what sql holds (after a
			   * byte order mark: nmig_script_body) */
	/*
	 * Results the batch yields for this migration before the file's
	 * statements: BEGIN, the SET LOCAL statements, and the version row
	 * guard (INSERT on upgrade, a guarded DELETE on downgrade), last.
	 */
	int prelude;
};

/* The text of one multi-statement query and where each file sits in it. */
struct nmig_batch {
	struct nmig_buf sql;
	struct nmig_batch_entry *entries;
	size_t n;
};

/*
 * Append the timeout statements each migration starts with, as the engine
 * sends them: `SET <scope>lock_timeout = '<n>ms';` and the same for
 * statement_timeout, one per line, then client_connection_check_interval
 * when o->client_check_ms is set. scope is "LOCAL " inside a migration's
 * transaction, "" for a non-transactional one. Returns the statements
 * appended.
 */
int nmig_exec_timeouts_sql(struct nmig_buf *b, const struct nmig_exec_opts *o,
			   const char *scope);

/*
 * Append the expression execution_ms is set to: the milliseconds since the
 * version row's applied_at (the row must be in the statement's scope).
 */
void nmig_exec_duration_sql(struct nmig_buf *b);

/*
 * Build the query for transactional steps[from..to) (pure: no server).
 * Every step must be transactional.
 */
int nmig_batch_build(struct nmig_batch *out, const struct nmig_vtable *t,
		     const struct nmig_step *steps, size_t from, size_t to,
		     const struct nmig_exec_opts *o);
void nmig_batch_release(struct nmig_batch *b);

/*
 * Map a server error position (1-based, in characters of the whole query
 * text) to the batch entry holding it and the byte offset in that entry's
 * file. Returns 1 when the position falls in a file, 0 when it is in
 * nmig's own statements or out of range.
 */
int nmig_batch_locate(const struct nmig_batch *b, long position, size_t *entry,
		      size_t *file_off);

/*
 * Byte offset of the character numbered pos (1-based) in UTF-8 text s of
 * len bytes; len when pos is past the end. Continuation bytes do not
 * count as characters.
 */
size_t nmig_utf8_char_offset(const char *s, size_t len, long pos);

/*
 * Set the location of the last error from byte offset off in script's
 * text: file, line, column (characters) and the source line.
 */
void nmig_exec_locate_error(const struct nmig_script *script, size_t off);

#endif
