/*
 * States of the declared-schema commands (docs/schema.md): a schema nmig
 * can materialise and read as a catalog model. `migrations` (the heads of
 * the migration files), `migrations@REV` (REV and its ancestors), `schema` (schema_file in nmig.conf), `file:PATH`
 * and `env:VAR` (a live database whose URL is in VAR). File states are
 * built on a scratch database: a temporary local cluster (lib/cluster.h,
 * started once per run, one database per state) or the empty database of
 * --dev-url env:VAR, reset after each state. The scratch side never sees
 * the deploy URL: the cluster's children get the allowlisted environment.
 */
#ifndef NMIG_SCHEMASTATE_H
#define NMIG_SCHEMASTATE_H

#include "nmig.h"

#include "buf.h"
#include "catalog.h"
#include "cluster.h"

struct schemastate {
	struct cli_global *g;
	const char *dev_url; /* --dev-url: "env:VAR", or NULL */
	const char *bindir;  /* --pg-bindir, or NULL */
	struct nmig_cluster *cluster;
	int ndb; /* databases made on the cluster */
};

/*
 * Read the state spec into *out (initialised here; release it in every
 * case). *label (may be NULL) receives how to name the state in output.
 * Returns NMIG_OK or a libnmig code with the last error set: NMIG_EUSAGE
 * for an unknown spec, NMIG_ECONFIG for a missing variable or schema_file,
 * NMIG_EINPUT with file:line for a file that does not apply, ...
 */
int schemastate_read(struct schemastate *s, const char *spec,
		     struct nmig_catalog *out);

/*
 * Print what b has that a has not (+), what only a has (-) and what
 * changed (~, with the fields that differ) on stdout, one line per object
 * (json: a JSON array of {change, kind, key}). Returns the number of
 * differences. Shared by `nmig diff` and `nmig check --drift`.
 */
size_t schemastate_print_diff(struct cli_global *g,
			      const struct nmig_catalog *a,
			      const struct nmig_catalog *b, unsigned flags,
			      int json);

/*
 * Proving a plan on a scratch database. proof_open builds from on a new
 * scratch database (from its canonical DDL) and checks that it reads back
 * as from; proof_step runs one step (tx: in one transaction, else
 * statement by statement; a failure is the server's error under what);
 * proof_read reads the scratch schema; proof_check compares it with want
 * object for object (NMIG_EINPUT under what, naming the first objects
 * that differ); proof_close drops the connection (and empties a
 * --dev-url database). Nothing here touches a database of a state.
 */
int schemastate_proof_open(struct schemastate *s,
			   const struct nmig_catalog *from, unsigned flags,
			   struct nmig_conn **out);
int schemastate_proof_step(struct schemastate *s, struct nmig_conn *c,
			   const char *sql, int tx, const char *what);
int schemastate_proof_read(struct schemastate *s, struct nmig_conn *c,
			   struct nmig_catalog *out);
int schemastate_proof_check(struct schemastate *s, struct nmig_conn *c,
			    const struct nmig_catalog *want, unsigned flags,
			    const char *what);
void schemastate_proof_close(struct schemastate *s, struct nmig_conn *c);

/* Stop the cluster, if one was started. */
void schemastate_release(struct schemastate *s);

/*
 * The SQL of a Markdown spec: the lines of its ```sql fenced blocks, every
 * other line left empty so that line numbers stay those of the .md file.
 * An unclosed block is NMIG_EINPUT at its fence. *out receives the text.
 */
int schemastate_markdown_sql(const char *path, const char *md, size_t len,
			     struct nmig_buf *out);

#endif
