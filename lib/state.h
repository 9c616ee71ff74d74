/*
 * The schema_version table: where a database records which revisions are
 * applied. One row per revision (not per head), in a configurable schema
 * and table. This module creates the table, takes the session advisory
 * lock that keeps two nmig runs apart, reads the rows, compares them with
 * the revision files (drift, dirty rows, unknown revisions, ancestor
 * closure), and performs the bookkeeping-only operations of stamp and
 * repair. Executing migrations is exec.h's job.
 */
#ifndef NMIG_STATE_H
#define NMIG_STATE_H

#include <stddef.h>

#include "conn.h"
#include "diag.h"
#include "graph.h"

#define NMIG_DEFAULT_SCHEMA "public"
#define NMIG_DEFAULT_TABLE "schema_version"

/* The version table's names, quoted forms and lock key. */
struct nmig_vtable {
	char *schema;	    /* unquoted */
	char *name;	    /* unquoted */
	char *ident;	    /* "schema"."name", quoted for SQL */
	char *schema_ident; /* "schema" */
	char *display;	    /* schema.name for messages */
	long long lock_key; /* advisory lock key */
};

/*
 * Fill t for schema.name (NULL = the defaults). Identifiers are quoted
 * with PQescapeIdentifier on c's connection (c NULL: quoted by doubling
 * '"', for offline use).
 */
int nmig_vtable_init(struct nmig_vtable *t, struct nmig_conn *c,
		     const char *schema, const char *name);
void nmig_vtable_release(struct nmig_vtable *t);

/* The 64-bit advisory lock key of schema.name (FNV-1a of "schema.name"). */
long long nmig_state_lock_key(const char *schema, const char *name);

/*
 * Take the session advisory lock: pg_try_advisory_lock polled every
 * 100-500 ms until wait_ms has passed. NMIG_ELOCKED when another session
 * holds it ("another nmig is migrating this database", with how long it
 * waited). *waited_ms (may be NULL) receives the time spent waiting.
 * Behind a pooler (c->pooled is set then) no lock is taken: NMIG_OK.
 * The lock lasts until the session ends or nmig_state_unlock.
 */
int nmig_state_lock(struct nmig_conn *c, const struct nmig_vtable *t,
		    int wait_ms, int *waited_ms);
/* Release the lock (ignored when the connection is gone). */
int nmig_state_unlock(struct nmig_conn *c, const struct nmig_vtable *t);

struct nmig_row {
	char *revision;
	char **parents;
	size_t nparents;
	char *message;
	char *checksum;
	char *down_checksum; /* NULL when none */
	int dirty;	     /* state = 'dirty' */
	char *applied_at;    /* as the server formats it */
	char *applied_by;
	long long execution_ms; /* -1 when NULL */
	char *nmig_version;
	char *error; /* NULL when none */
	/*
	 * Who is applying a dirty row's migration ("nmig 0.1.0 pid 42 on
	 * host"), NULL when not recorded, and whether that run is alive: a
	 * statement of it is running on the server, or it reported within
	 * NMIG_OWNER_GRACE_MS. A dirty row whose owner is alive is being
	 * applied, not left behind.
	 */
	char *owner;
	int owner_alive;
};

/* How nmig_state_open found the session lock. */
enum nmig_lock_state {
	NMIG_LOCK_NOT_ASKED = -2,
	NMIG_LOCK_POOLED = -1, /* a pooler is in between: not taken */
	NMIG_LOCK_BUSY = 0,    /* another session holds it */
	NMIG_LOCK_TAKEN = 1,
};

struct nmig_state {
	int exists;	       /* the table exists */
	struct nmig_row *rows; /* ordered by applied_at, revision */
	size_t n;
	enum nmig_lock_state lock; /* nmig_state_open with lock */
	int backend_pid;	   /* the server's pid, when asked for the lock */
};

/*
 * How long a dirty row's owner counts as alive after it last reported
 * (before each statement) while none of its statements is seen running:
 * longer than the executor's longest lock-retry wait.
 */
#define NMIG_OWNER_GRACE_MS 15000

/* SQLSTATE the version-table guard raises (another table has the history). */
#define NMIG_SQLSTATE_OTHER_TABLE "NMVT1"

struct nmig_state_open_opts {
	int create; /* create the table when missing (always, for now) */
	int lock;   /* try the session lock in the same round trip */
	/*
	 * The ids of the files' root revisions: when the table is missing
	 * and another nmig version table holds one of them, refuse to create
	 * it (a typo in schema or table would run every migration again).
	 */
	const char *const *roots;
	size_t nroots;
};

/*
 * The start of a run, in one round trip: with o->lock, try the session
 * advisory lock (unless a pooler is detected: the pid the connection
 * reports differs from the server's); make the table ready (created when
 * missing, safely under concurrency; the owner columns added to an older
 * one); read the rows. out->lock says how the lock went. NMIG_ESTATE when
 * the table is missing and another version table holds the history.
 */
int nmig_state_open(struct nmig_state *out, struct nmig_conn *c,
		    const struct nmig_vtable *t,
		    const struct nmig_state_open_opts *o);

/*
 * Append the SQL boolean that a dirty row's owner is alive, for row the
 * alias of a version-table row in scope.
 */
void nmig_state_alive_sql(struct nmig_buf *out, const char *row);

/*
 * Read the rows. create: create the schema and table first when missing
 * (in the same round trip); else a missing table reads as no rows with
 * exists = 0.
 */
int nmig_state_read(struct nmig_state *out, struct nmig_conn *c,
		    const struct nmig_vtable *t, int create);
void nmig_state_release(struct nmig_state *s);

/* The SQL that creates the schema (unless public) and the table. */
void nmig_state_create_sql(const struct nmig_vtable *t, struct nmig_buf *out);

/*
 * Append a `DO` block that creates the schema and table (as
 * nmig_state_create_sql) only when the table is missing, as the engine
 * does before it reads the state; offline scripts use the same.
 */
void nmig_state_ensure_sql(const struct nmig_vtable *t, struct nmig_buf *out);

/*
 * The state compared with the graph. Indexes in drift/dirty/unknown are
 * row indexes into the nmig_state; mark and pending are over the graph.
 */
struct nmig_state_report {
	unsigned char *mark; /* graph count entries: 1 = applied */
	unsigned char *dirty_mark; /* graph count entries: 1 = a dirty row */
	size_t napplied;     /* applied rows known to the graph */
	size_t npending;     /* revisions of the graph neither applied nor
			      * dirty */
	size_t *drift;	     /* applied rows whose up file changed */
	size_t ndrift;
	size_t *dirty; /* rows in state 'dirty' */
	size_t ndirty;
	size_t *unknown; /* rows whose revision has no file */
	size_t nunknown;
	const char **applied_ids; /* ids of applied rows (for plan.h) */
	size_t napplied_ids;
	long not_closed;     /* a graph node applied without a parent, -1 */
	long missing_parent; /* that parent, -1 */
	size_t *heads;	     /* applied heads: applied, no applied child */
	size_t nheads;
};

/* Compare s with g (linear in rows + revisions + edges). */
int nmig_state_analyze(struct nmig_state_report *out,
		       const struct nmig_state *s, const struct nmig_graph *g);
void nmig_state_report_release(struct nmig_state_report *r);

enum nmig_refuse {
	NMIG_REFUSE_DIRTY = 1 << 0,
	NMIG_REFUSE_UNKNOWN = 1 << 1,
	NMIG_REFUSE_DRIFT = 1 << 2,
	NMIG_REFUSE_NOT_CLOSED = 1 << 3,
};

/*
 * NMIG_ESTATE with a message, details listing the rows (revision and
 * file) and a hint for the first problem of the kinds in what; NMIG_OK
 * when there is none.
 */
/*
 * The problems of r (rows s compared with graph g) as error findings,
 * appended to diags: each drifted (rule db-drift), dirty (db-dirty) and
 * unknown (db-unknown) row, then the revision applied without its parent
 * (db-not-closed); each names the revision's up file when it has one and
 * has a hint. Returns the findings added (fewer when memory ran out).
 */
size_t nmig_state_findings(struct nmig_diags *diags,
			   const struct nmig_state_report *r,
			   const struct nmig_state *s,
			   const struct nmig_graph *g);

int nmig_state_refuse(const struct nmig_state_report *r,
		      const struct nmig_state *s, const struct nmig_graph *g,
		      unsigned what);

/*
 * Stamp: make the applied set exactly mark (graph count entries) without
 * running migration SQL, in one transaction: rows outside mark are
 * deleted, missing ones inserted with the files' checksums. Unknown or
 * dirty rows are refused (NMIG_ESTATE) unless purge, which deletes them.
 * *ninserted / *ndeleted (may be NULL) receive the counts.
 */
int nmig_state_stamp(struct nmig_conn *c, const struct nmig_vtable *t,
		     const struct nmig_state *s, const struct nmig_graph *g,
		     const unsigned char *mark, int purge,
		     const char *nmig_version, size_t *ninserted,
		     size_t *ndeleted);

/*
 * Repair checksums: re-record checksum and down_checksum of every row in
 * rows (indexes into s) from the graph's files, in one statement.
 */
int nmig_state_repair_checksums(struct nmig_conn *c,
				const struct nmig_vtable *t,
				const struct nmig_state *s,
				const struct nmig_graph *g, const size_t *rows,
				size_t n);

/*
 * Turn the dirty row of revision into applied (applied = 1) or delete it
 * (applied = 0). NMIG_ESTATE when revision has no dirty row.
 */
int nmig_state_resolve_dirty(struct nmig_conn *c, const struct nmig_vtable *t,
			     const char *revision, int applied);

/*
 * Append `INSERT INTO <table> (...) VALUES (...)` recording rev with state
 * ('applied' or 'dirty'), its parents, message, checksums and nmig_version
 * (no trailing semicolon).
 */
void nmig_state_insert_sql(struct nmig_buf *out, const struct nmig_vtable *t,
			   const struct nmig_revision *rev, const char *state,
			   const char *nmig_version);

/*
 * Append the parenthesised VALUES tuple of nmig_state_insert_sql alone, so
 * that one INSERT can record several revisions (", " between tuples).
 */
void nmig_state_values_sql(struct nmig_buf *out,
			   const struct nmig_revision *rev, const char *state,
			   const char *nmig_version);

/*
 * Append s as an SQL string literal: quotes doubled, and the E'' form
 * with backslashes doubled when s holds one, so the literal means the same
 * whatever standard_conforming_strings is (as PQescapeLiteral does).
 */
void nmig_sql_literal(struct nmig_buf *out, const char *s);

/* Append a text[] literal (ARRAY[...]::text[]) of the n strings. */
void nmig_sql_text_array(struct nmig_buf *out, char *const *v, size_t n);

/*
 * Write into tag (cap bytes, 32 is plenty) a dollar-quote tag -- `$nmig$`,
 * else `$nmig1$`, `$nmig2$`, ... -- that occurs nowhere in body.
 */
void nmig_sql_dollar_tag(const char *body, char *tag, size_t cap);

#endif
