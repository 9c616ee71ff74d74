/*
 * The probes of `nmig doctor` and the judgement over what they found:
 * round-trip latency (SELECT 1, median of several) classified against
 * thresholds, TLS in use with protocol and cipher, the server's version,
 * the settings that matter to migrations and its connection usage (one
 * query), and the migration state reduced to lists of revision ids. The
 * probes return data; nmig_doctor_judge turns a filled report into
 * findings and an overall health, which the command prints as text or
 * JSON. Nothing here prints.
 */
#ifndef NMIG_DOCTOR_H
#define NMIG_DOCTOR_H

#include <stddef.h>

#include "conn.h"
#include "diag.h"
#include "graph.h"
#include "state.h"

#define NMIG_DOCTOR_SAMPLES 5		 /* SELECT 1 round trips timed */
#define NMIG_DOCTOR_HEALTHY_MS 100	 /* default: healthy below this */
#define NMIG_DOCTOR_DEGRADED_MS 500	 /* default: degraded below this */
#define NMIG_DOCTOR_CONNECTIONS_WARN 80	 /* % of max_connections in use */
#define NMIG_DOCTOR_CONNECTIONS_ERROR 95 /* % of max_connections in use */
#define NMIG_DOCTOR_MIN_VERSION 130000	 /* oldest server nmig supports */

/* Health, from best to worst: a worse one compares greater. */
enum nmig_health {
	NMIG_HEALTHY = 0,
	NMIG_DEGRADED = 1,
	NMIG_UNHEALTHY = 2,
};

/* "healthy", "degraded" or "unhealthy". */
const char *nmig_health_name(enum nmig_health h);

/* Latency classes: healthy below healthy_ms, degraded below degraded_ms. */
struct nmig_doctor_thresholds {
	int healthy_ms;
	int degraded_ms;
};

/*
 * NMIG_OK when both thresholds are 0 or more and healthy_ms is not above
 * degraded_ms; else NMIG_EUSAGE naming both values.
 */
int nmig_doctor_thresholds_check(const struct nmig_doctor_thresholds *t);

/*
 * The class of a latency of ms milliseconds: healthy when ms is below
 * t->healthy_ms, degraded when below t->degraded_ms, else unhealthy (so
 * thresholds of 0 make every latency unhealthy).
 */
enum nmig_health nmig_doctor_classify(const struct nmig_doctor_thresholds *t,
				      double ms);

/*
 * The median of v[0..n) (the mean of the middle two when n is even); 0
 * when n is 0. v is not changed. n is at most NMIG_DOCTOR_SAMPLES * 4.
 */
double nmig_doctor_median(const double *v, size_t n);

struct nmig_doctor_latency {
	double connect_ms; /* connecting (filled by the caller) */
	int attempts;	   /* connection attempts (filled by the caller) */
	double samples_ms[NMIG_DOCTOR_SAMPLES];
	size_t n;
	double median_ms, min_ms, max_ms;
};

/*
 * Time n (1 to NMIG_DOCTOR_SAMPLES) round trips of `SELECT 1` on c into
 * out->samples_ms and set median, min and max; connect_ms and attempts
 * are left as they were. A failed query is its error (nmig_conn_query).
 */
int nmig_doctor_ping(struct nmig_doctor_latency *out, struct nmig_conn *c,
		     size_t n);

struct nmig_doctor_tls {
	int in_use;
	char *protocol; /* e.g. "TLSv1.3", NULL when not in use */
	char *cipher;	/* e.g. "TLS_AES_256_GCM_SHA384", NULL when not */
	int bits;	/* key bits, 0 when unknown */
};

/* What the connection's TLS is (no round trip). NMIG_ENOMEM at worst. */
int nmig_doctor_tls_read(struct nmig_doctor_tls *out,
			 const struct nmig_conn *c);
void nmig_doctor_tls_release(struct nmig_doctor_tls *t);

struct nmig_doctor_server {
	char *version;	    /* server_version, e.g. "15.8 (Debian ...)" */
	int version_num;    /* server_version_num, e.g. 150008 */
	char *lock_timeout; /* settings as the server shows them ("0", "5s") */
	char *statement_timeout;
	char *idle_in_transaction_session_timeout;
	long connections;     /* client backends in pg_stat_activity */
	long max_connections; /* max_connections */
	long reserved;	      /* superuser_reserved_connections */
	int in_recovery;      /* a standby: read only */
	char *user;	      /* current_user */
	char *database;	      /* current_database() */
	int pooled; /* a pooler in between: pg_backend_pid() is not the
		     * pid the connection reports */
};

/*
 * Read the version, the timeouts, connection usage, recovery, user and
 * database in one query (one round trip).
 */
int nmig_doctor_server_read(struct nmig_doctor_server *out,
			    struct nmig_conn *c);
void nmig_doctor_server_release(struct nmig_doctor_server *s);

/*
 * The migration state as lists of revision ids. The id pointers belong to
 * the graph and the state rows it was filled from, which must outlive it;
 * the arrays belong to it.
 */
struct nmig_doctor_state {
	int checked;	     /* the files and the table were read */
	char *unchecked;     /* why not (when !checked), or NULL */
	int unchecked_error; /* that is a problem, not just a gap */
	int table_exists;
	size_t nrevisions;    /* revisions in the files */
	size_t napplied;      /* applied rows known to the files */
	const char **current; /* applied heads */
	size_t ncurrent;
	const char **pending; /* not applied, in plan order */
	size_t npending;
	const char **drift; /* applied, file edited since */
	size_t ndrift;
	const char **dirty; /* unfinished non-transactional migrations */
	size_t ndirty;
	const char **unknown; /* applied, no file */
	size_t nunknown;
	const char *not_closed;	    /* applied without its parent, or NULL */
	const char *missing_parent; /* that parent, or NULL */
};

/*
 * Fill out from the rows s, their comparison r with the graph g
 * (nmig_state_analyze) and whether the table exists. Linear in rows and
 * revisions.
 */
int nmig_doctor_state_fill(struct nmig_doctor_state *out,
			   const struct nmig_state *s,
			   const struct nmig_state_report *r,
			   const struct nmig_graph *g);

/*
 * Record that the state was not checked and why (a formatted message);
 * error: that counts as a problem (broken files, an unreadable table),
 * rather than a gap (no migrations directory).
 */
int nmig_doctor_state_unchecked(struct nmig_doctor_state *out, int error,
				const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void nmig_doctor_state_release(struct nmig_doctor_state *s);

/* Everything doctor found, and (after nmig_doctor_judge) what it means. */
struct nmig_doctor_report {
	struct nmig_doctor_thresholds thresholds;
	int local;	     /* every host is a socket or loopback */
	int neon;	     /* a Neon host */
	int pooler;	     /* a -pooler host (PgBouncer, transaction mode) */
	const char *sslmode; /* effective sslmode (not owned) */
	struct nmig_doctor_latency latency;
	struct nmig_doctor_tls tls;
	int have_server; /* server was read */
	struct nmig_doctor_server server;
	struct nmig_doctor_state state;
	/* set by nmig_doctor_judge */
	enum nmig_health latency_health;
	enum nmig_health status;
	struct nmig_diags findings;
};

/* Zero r with the default thresholds. */
void nmig_doctor_report_init(struct nmig_doctor_report *r);
void nmig_doctor_report_release(struct nmig_doctor_report *r);

/*
 * Judge a filled report: classify the median latency, then add findings
 * (replacing any earlier ones) -- errors for a latency class worse than
 * degraded, a remote connection without TLS, a standby server, connection
 * slots nearly all used (NMIG_DOCTOR_CONNECTIONS_ERROR %), drift, dirty,
 * unknown and not ancestor-closed revisions, and a state that could not
 * be read; warnings for degraded latency, unverified TLS to a remote host,
 * a pooler host, connection usage from NMIG_DOCTOR_CONNECTIONS_WARN %, an
 * unsupported server version, and a state not checked for lack of files.
 * Pending revisions are reported, never a problem. status is the worst of
 * the latency class and, when any error was found, unhealthy.
 */
int nmig_doctor_judge(struct nmig_doctor_report *r);

#endif
