/*
 * What the database commands (upgrade, downgrade, current, stamp, repair,
 * and the database parts of history and check) share: the connection
 * options, connecting from the global options and config (.env, the URL
 * variable, libpq's environment), the version table, the lock, reading and
 * judging the applied state, progress printing, and the round-trip trace.
 * Every function that can fail prints the error and returns an exit code.
 */
#ifndef NMIG_CMD_DB_H
#define NMIG_CMD_DB_H

#include "conn.h"
#include "exec.h"
#include "nmig.h"
#include "plan.h"
#include "state.h"

/* Option strings of the database commands (NULL = config / default). */
struct db_opts {
	const char *lock_wait;
	const char *lock_timeout;
	const char *statement_timeout;
	const char *lock_retries;
	const char *connect_timeout;
	int allow_insecure;
	int allow_production;
	int no_lock;
};

/* Option table entries for the connection (every database command). */
#define DB_OPTS_CONNECT(o)                                                     \
	{0,                                                                    \
	 "connect-timeout",                                                    \
	 "DURATION",                                                           \
	 "keep retrying to connect this long (default 15s)",                   \
	 &(o)->connect_timeout,                                                \
	 NULL,                                                                 \
	 NULL,                                                                 \
	 NULL},                                                                \
	{                                                                      \
		0, "allow-insecure", NULL,                                     \
		    "allow a non-local host without TLS (sslmode=require)",    \
		    NULL, &(o)->allow_insecure, NULL, NULL                     \
	}

/* Option table entries for the commands that take the migration lock. */
#define DB_OPTS_LOCK(o)                                                        \
	{0,                                                                    \
	 "lock-wait",                                                          \
	 "DURATION",                                                           \
	 "wait this long for another nmig to finish (default 60s)",            \
	 &(o)->lock_wait,                                                      \
	 NULL,                                                                 \
	 NULL,                                                                 \
	 NULL},                                                                \
	{                                                                      \
		0, "no-lock", NULL,                                            \
		    "skip the session advisory lock (the version-row guard "   \
		    "still stops a migration running twice)",                  \
		    NULL, &(o)->no_lock, NULL, NULL                            \
	}

/* Option table entries for the commands that run migrations. */
#define DB_OPTS_RUN(o)                                                         \
	{0,                                                                    \
	 "lock-timeout",                                                       \
	 "DURATION",                                                           \
	 "give up waiting for a table lock after this long, then retry "       \
	 "(default 5s)",                                                       \
	 &(o)->lock_timeout,                                                   \
	 NULL,                                                                 \
	 NULL,                                                                 \
	 NULL},                                                                \
	    {0,                                                                \
	     "statement-timeout",                                              \
	     "DURATION",                                                       \
	     "cancel a statement that runs longer (default 0: none)",          \
	     &(o)->statement_timeout,                                          \
	     NULL,                                                             \
	     NULL,                                                             \
	     NULL},                                                            \
	{                                                                      \
		0, "lock-retries", "N",                                        \
		    "retries of a migration after a lock timeout (default 3)", \
		    &(o)->lock_retries, NULL, NULL, NULL                       \
	}

/* The production override (destructive commands). */
#define DB_OPTS_PRODUCTION(o)                                                  \
	{                                                                      \
		0, "allow-production", NULL,                                   \
		    "run even though NMIG_ENV or NODE_ENV is production or "   \
		    "prod",                                                    \
		    NULL, &(o)->allow_production, NULL, NULL                   \
	}

struct cli_db {
	struct cli_global *g;
	struct nmig_revset set;
	struct nmig_graph *graph;
	struct nmig_conn *conn;
	struct nmig_vtable table;
	struct nmig_state state;
	struct nmig_state_report report;
	int have_report;
	int borrowed_graph; /* graph belongs to the caller (db_attach) */
	int locked;
	int lock_wait_ms;
	int lock_timeout_ms;
	int statement_timeout_ms;
	int lock_retries;
	int connect_timeout_ms;
	int allow_insecure;
	int no_lock; /* --no-lock, or a transaction-mode pooler host */
	const struct nmig_revision **done_revs; /* migrations run, in order */
	double *done_ms;
	size_t ndone;
	size_t plan_n; /* migrations in the plan, for the progress line */
	enum nmig_direction dir; /* of the run (db_migrate) */
	int live;  /* a live progress line is on the terminal */
	int tty;   /* stdout is a terminal */
	double t0; /* when the command started (ms) */
	/*
	 * Set by the caller before db_migrate: called once on the run's own
	 * connection, right after the plan is made and before anything runs,
	 * with plan NULL when the run stops before it has one (its error is
	 * printed next). NULL: no such notice.
	 */
	void (*on_plan)(struct cli_db *db, const char *target,
			const struct nmig_plan *plan);
	const char *plan_target; /* on_plan still to call for this target */
};

/*
 * Initialise db for command cmd: settings from the config, overridden by
 * the options. Returns NMIG_EXIT_OK or NMIG_EXIT_USAGE after printing.
 */
int db_init(struct cli_db *db, struct cli_global *g, const struct db_opts *o);

/*
 * Refuse a destructive command (what, e.g. "downgrade") when NMIG_ENV or
 * NODE_ENV says production (production_env in production.h), unless
 * --allow-production was given.
 */
int db_production_guard(struct cli_db *db, const char *what,
			const struct db_opts *o);

/* Load the migration files and the graph (exit code). */
int db_load(struct cli_db *db);

/*
 * The name of the variable that holds the database URL: --url-env or the
 * config's, else DATABASE_URL.
 */
const char *db_url_var(const struct cli_global *g);

/* 1 when one of libpq's connection variables (PGHOST, ...) is set. */
int db_libpq_env_set(void);

/*
 * Read the project's .env (never overriding the environment) and point
 * *url at the URL variable's value, NULL when it is unset or empty.
 * Returns NMIG_OK or a libnmig code with the last error set (a malformed
 * .env); prints nothing.
 */
int db_find_url(struct cli_global *g, const char **url);

/*
 * Read .env, find the URL, connect (TLS policy, retries) and set up the
 * version table names. Exit code (5 for connection problems).
 */
int db_connect(struct cli_db *db);

/*
 * The database side of an offline command (check, history, lint, graph):
 * only when the command was given --db (g->use_db), connect without the
 * lock to the URL variable's database (in the environment or .env, else
 * libpq's variables) and read the version table against graph, which stays
 * the caller's. A URL that is merely set is never used. Returns 1 when
 * db->state and db->report were read, 0 without --db, or a negative NMIG_E*
 * code with the last error set (NMIG_ECONNECT "no database URL" when --db
 * finds none; nothing printed but connection warnings). The database only adds to what these commands show,
 * so transient connection failures are retried for at most
 * DB_ATTACH_CONNECT_MS, not the full connect_timeout. Release db with
 * db_release in every case.
 */
#define DB_ATTACH_CONNECT_MS 2000
int db_attach(struct cli_db *db, struct cli_global *g,
	      struct nmig_graph *graph);

/*
 * history's applied marks (history --db): read the applied set into
 * *applied and return 1 (release it with nmig_applied_release); 0 without
 * --db, or when the database cannot be read (a warning
 * says why: history still works from the files).
 */
int db_applied_marks(struct cli_global *g, struct nmig_graph *graph,
		     struct nmig_applied *applied);

/*
 * check's database stage (check --db): read the version
 * table against graph and add an error finding for every drifted, dirty
 * and unknown row and for an applied set that is not ancestor-closed
 * (rules db-drift, db-dirty, db-unknown, db-not-closed); a failure to
 * connect or read is one db-connect error. Returns how many errors were
 * added (0 without --db) and their exit code in *exit_code.
 */
size_t db_check_stage(struct cli_global *g, struct nmig_graph *graph,
		      struct nmig_diags *diags, int *exit_code);

/* Take the migration lock (exit 8 when another nmig holds it). */
int db_lock(struct cli_db *db);

/*
 * The start of a run that changes the database (stamp): in one round trip
 * try the lock (not behind a pooler), make the version table ready
 * (refused when another version table holds this history) and read it;
 * when another run holds the lock, wait for it (--lock-wait) and read
 * again. Exit code.
 */
int db_begin(struct cli_db *db);

/*
 * client_connection_check_interval for migrations (PG 14+): a killed nmig
 * or a lost network stops the server's work within about this long.
 */
#define DB_CLIENT_CHECK_MS 1000

/*
 * Read the version table (create: create it when missing) and compare it
 * with the graph into db->report. Exit code.
 */
int db_read(struct cli_db *db, int create);

/*
 * upgrade / downgrade: connect, lock, read and judge the state, plan to
 * target (calling db->on_plan when set), then print the plan (dry_run) or
 * run it, printing each migration as it completes and a summary (or one
 * JSON object with --json).
 */
int db_migrate(struct cli_db *db, enum nmig_direction dir, const char *target,
	       int dry_run, int allow_drift);

/*
 * Print the last libnmig error and return its exit code (after calling a
 * pending db->on_plan without a plan).
 */
int db_fail(struct cli_db *db);

/*
 * Release the lock, close the connection, free everything; print the
 * round-trip trace with -v or NMIG_TRACE_ROUNDTRIPS=1.
 */
void db_release(struct cli_db *db);

/* Milliseconds since db_init. */
double db_elapsed_ms(const struct cli_db *db);

/* Progress callback for nmig_exec_run (ud = the cli_db). */
void db_on_event(void *ud, const struct nmig_exec_event *ev);

/* Clear a live progress line before other output. */
void db_clear_live(struct cli_db *db);

/*
 * Print the applied heads after a run, as "X (head)" or "base", to out,
 * comma-separated (for summaries).
 */
void db_print_at(struct cli_db *db, FILE *out);

/* Print the JSON array of the applied heads' ids. */
void db_json_heads(struct cli_db *db, FILE *out);

/* The path of the file a revision's row refers to (for listings). */
const char *db_rev_path(struct cli_db *db, const char *revision);

#endif
