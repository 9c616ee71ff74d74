/*
 * The roundtrip of a migration history on a scratch database, as one call:
 * the engine behind `nmig test`. The scratch database is an ephemeral local
 * cluster started and removed here (cluster.h), or the empty database of
 * TEST_DATABASE_URL. The checks: a single head; the full upgrade; the full
 * downgrade returning the schema to the fingerprint it started from
 * (fingerprint.h); a second upgrade giving the fingerprint of the first;
 * and the stairway (for each revision in plan order: up one, down one,
 * compare with the fingerprint before it, up again). A base (o->base and
 * the revisions without a down file, with their ancestors) stays applied
 * throughout. Migrations run through the engine (exec.h) exactly as
 * upgrade and downgrade run them. Results come back as a struct (each
 * check with its outcome, summary, details and per-revision failures:
 * SQLSTATE, file:line, message, schema diff); progress goes out through
 * callbacks. nmig_interrupt_request (interrupt.h) stops a run at once: the
 * running query is cancelled and the cluster removed. Nothing here prints
 * or installs signal handlers.
 */
#ifndef NMIG_TESTRUN_H
#define NMIG_TESTRUN_H

#include <signal.h>
#include <stddef.h>

#include "buf.h"
#include "diag.h"
#include "exec.h"
#include "graph.h"
#include "plan.h"

struct nmig_cluster;

enum nmig_testrun_status {
	NMIG_TESTRUN_PASS,
	NMIG_TESTRUN_FAIL,
	NMIG_TESTRUN_SKIP, /* not run, or interrupted */
};

/* Where nmig_testrun stopped when it returned an error. */
enum nmig_testrun_stage {
	NMIG_TESTRUN_FILES,   /* a file does not pass its checks (diags) */
	NMIG_TESTRUN_PLAN,    /* the base or the .env file is bad */
	NMIG_TESTRUN_SCRATCH, /* the scratch database cannot be had */
	NMIG_TESTRUN_CHECKS,  /* the checks ran (NMIG_OK) */
};

/* One revision's failure in a check. */
struct nmig_testrun_failure {
	long node;	   /* plan position; -1 when no revision is to blame */
	const char *id;	   /* the revision's id (the graph's), or NULL */
	char *what;	   /* "its up file fails", ... */
	int code;	   /* NMIG_E* of the error, 0 for a schema difference */
	char sqlstate[6];  /* "" when none */
	char *file;	   /* the failing file, NULL when none */
	int line, col;	   /* 0 when unknown */
	char *message;	   /* the error message, NULL for a difference */
	char *diff;	   /* the schema diff, NULL when none */
};

struct nmig_testrun_check {
	const char *name; /* "single head", "full upgrade", ... */
	enum nmig_testrun_status status;
	double ms;
	struct nmig_buf summary; /* after the name: "(26 revisions, 0.41 s)" */
	struct nmig_buf details; /* lines under a failure: errors, diffs */
	struct nmig_testrun_failure *failures;
	size_t nfailures;
};

/* Every check one run can make, with room to spare. */
#define NMIG_TESTRUN_MAX_CHECKS 12

struct nmig_testrun_result {
	enum nmig_testrun_stage stage;
	struct nmig_testrun_check checks[NMIG_TESTRUN_MAX_CHECKS];
	size_t nchecks;
	size_t passed, failed, skipped;
	struct nmig_diags diags; /* findings of the files */
	size_t *irreversible;	 /* plan positions without a down file,
				  * outside the base */
	size_t nirreversible;
	size_t nkept;	     /* revisions that stay applied (the base) */
	size_t ncovered;     /* revisions the roundtrip covers */
	int on_cluster;	     /* the scratch database is a temporary cluster */
	char *version;	     /* the cluster's server version, or NULL */
	double start_ms;     /* time to start the cluster or connect */
	char *display;	     /* the scratch database as shown (no secret) */
	int lost;	     /* the connection to it dropped */
	int interrupted;     /* stopped by nmig_interrupt_request (signo) */
	long roundtrips;     /* network round trips on the last connection */
	char *stop_error;    /* why the cluster could not be removed, or
			      * NULL */
};

struct nmig_testrun_opts {
	const char *base;    /* keep this target and its ancestors applied */
	const char *prelude; /* SQL file run on the scratch database first */
	int no_stairway;
	int ignore_column_order; /* NMIG_FP_NO_COLUMN_ORDER */
	int allow_nonempty; /* accept a TEST_DATABASE_URL holding objects */
	const char *env_file; /* .env read before TEST_DATABASE_URL (NULL:
			       * none) */
	const char *url_env;  /* the production URL variable (NULL:
			       * DATABASE_URL): TEST_DATABASE_URL may not name
			       * its database */
	const char *bindir;   /* server binaries for the cluster (NULL: find) */
	const char *schema;   /* the version table (NULL: config defaults) */
	const char *table;
	size_t max_file_size; /* 0: NMIG_MAX_FILE_SIZE */
	int connect_timeout_ms;
	int allow_insecure;
	int lock_wait_ms;
	int lock_timeout_ms;
	int statement_timeout_ms;
	int lock_retries;
	/* Set by a signal handler: stops waiting for the cluster to start. */
	volatile sig_atomic_t *interrupted;

	/*
	 * After the files are checked and the base planned, before any
	 * database (r->diags, r->irreversible, r->nkept, r->ncovered set).
	 */
	void (*on_plan)(void *ud, const struct nmig_testrun_result *r);
	/* Findings of connecting (the TLS policy). */
	void (*on_diags)(void *ud, const struct nmig_diags *d);
	/* The cluster once it runs, and NULL before it is stopped: a signal
	 * handler may nmig_cluster_kill it in between. */
	void (*on_cluster)(void *ud, struct nmig_cluster *c);
	/* The scratch database is open (r->on_cluster, version, display). */
	void (*on_ready)(void *ud, const struct nmig_testrun_result *r);
	/* A check finished (passed, failed or not run). */
	void (*on_check)(void *ud, const struct nmig_testrun_check *c);
	/* Each migration run (NMIG_EXEC_DONE) or retried (_RETRY). */
	void (*on_event)(void *ud, enum nmig_direction dir,
			 const struct nmig_exec_event *ev);
	/* The stairway starts step i (1-based) of total, on revision id. */
	void (*on_step)(void *ud, size_t i, size_t total, const char *id);
	/* A notice of the server. */
	void (*on_notice)(void *ud, const char *severity, const char *message);
	void *ud; /* passed to every callback; any may be NULL */
};

void nmig_testrun_result_init(struct nmig_testrun_result *r);
void nmig_testrun_result_release(struct nmig_testrun_result *r);

/*
 * Run the roundtrip of graph g (at least one revision). Returns NMIG_OK
 * when the checks ran (r->stage NMIG_TESTRUN_CHECKS; each check's outcome
 * in r->checks, counted in passed, failed, skipped). Else a negative code
 * with the last error set and r->stage saying where: NMIG_EINPUT when a
 * file fails its checks (the findings in r->diags, nothing run); the code
 * of nmig_target_resolve or nmig_env_load; the code of starting the
 * cluster or reaching TEST_DATABASE_URL, NMIG_ECONFIG when it names the
 * database of o->url_env, NMIG_ESTATE when it has revisions recorded or
 * holds objects, NMIG_ERROR when interrupted before the checks. r is
 * filled in every case: release it with nmig_testrun_result_release.
 */
int nmig_testrun(struct nmig_testrun_result *r, const struct nmig_graph *g,
		 const struct nmig_testrun_opts *o);

/* "pass", "fail" or "skip". */
const char *nmig_testrun_status_name(enum nmig_testrun_status s);

#endif
