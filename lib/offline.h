/*
 * Offline SQL: the psql script that `upgrade`, `downgrade` and `stamp`
 * print with --sql instead of touching a database, for teams whose DBA
 * reviews and runs what reaches production. The script has the effect of
 * the online command: it creates the version table when it starts from
 * base, runs each transactional migration in its own BEGIN ... COMMIT with
 * the engine's SET LOCAL timeouts and version-row statements, and each
 * non-transactional one outside a transaction with the dirty protocol.
 * Guards -- DO blocks that raise -- stop it unless the database is in the
 * state it assumes: one before anything changes, one before each
 * migration. Nothing here connects to a database or prints; the script is
 * built in an nmig_buf, with no credential and no path but file names
 * relative to the migrations directory.
 *
 * Two steps: nmig_offline_plan_init works out the start state (a range
 * `A:B`, else the state last observed on the database, else base), the
 * migrations to run and what the database must hold for them;
 * nmig_offline_emit writes the script from that plan and the loaded files.
 * Both are linear in the size of the graph and of the files.
 */
#ifndef NMIG_OFFLINE_H
#define NMIG_OFFLINE_H

#include <stddef.h>

#include "buf.h"
#include "exec.h"
#include "graph.h"
#include "plan.h"
#include "state.h"

enum nmig_offline_kind {
	NMIG_OFFLINE_UPGRADE = 1,
	NMIG_OFFLINE_DOWNGRADE,
	NMIG_OFFLINE_STAMP,
};

/* Where the start state comes from when the spec is not a range. */
struct nmig_offline_source {
	const char *const *observed; /* ids last observed applied, or NULL */
	size_t nobserved;
	long long observed_at; /* unix time of that observation */
	const char *where;     /* the database: user@host:port/dbname */
	/* Why the start is base when nothing was observed, for the header,
	 * e.g. "no range given and no state observed". */
	const char *base_why;
};

/* What the database must hold before the script changes anything. */
enum nmig_offline_want {
	NMIG_WANT_ANY = 0,	 /* applied or not */
	NMIG_WANT_APPLIED = 'a', /* a row in state 'applied' */
	NMIG_WANT_ABSENT = 'n',	 /* no row at all */
};

struct nmig_offline_plan {
	enum nmig_offline_kind kind;
	struct nmig_plan plan; /* upgrade / downgrade: the migrations,
				* in execution order (n = 0 for stamp) */
	unsigned char *start;  /* graph count marks: applied at the start */
	unsigned char *end;    /* applied when the script has run */
	unsigned char *want;   /* graph count enum nmig_offline_want */
	int exact;	       /* want is start exactly (1), or only what the
				* plan needs (0) */
	int any_state;	       /* stamp --purge: no start precondition */
	int from_base;	       /* the start is base: create the table */
	char *start_desc;      /* "<heads> (<why>)" for the header */
	char *spec;	       /* the command's argument as given */
	char *target;	       /* the end side of the spec */
};

/*
 * Work out the plan of an offline `kind SPEC` on graph g. SPEC is a target
 * (the start is then src's observed state, else base) or a range `A:B`
 * (the start is closure(A); `downgrade B:A` starts at closure(B) and goes
 * down to A). An empty start side is base; an empty end side is head for
 * upgrade and an error for the others. The upgrade and downgrade plans
 * are nmig_plan_upgrade / nmig_plan_downgrade from the start state (a
 * downgrade step without a down file fails here). purge (stamp only)
 * makes a script that reaches the target from any state, deleting dirty
 * rows and rows without files as `stamp --purge` does. Errors: NMIG_EUSAGE
 * (a malformed range), NMIG_ENOTFOUND / NMIG_EAMBIGUOUS (targets),
 * NMIG_ESTATE (an observed state that has revisions without files or is
 * not ancestor-closed, an irreversible step), NMIG_ENOMEM. out is safe
 * to release in every case.
 */
int nmig_offline_plan_init(struct nmig_offline_plan *out,
			   const struct nmig_graph *g,
			   enum nmig_offline_kind kind, const char *spec,
			   const struct nmig_offline_source *src, int purge);
void nmig_offline_plan_release(struct nmig_offline_plan *p);

struct nmig_offline_opts {
	const struct nmig_vtable *table;
	int lock_timeout_ms;	  /* SET LOCAL lock_timeout (0 = none) */
	int statement_timeout_ms; /* SET LOCAL statement_timeout */
	int check_drift; /* upgrade: refuse applied revisions whose recorded
			  * checksum differs from the file's */
	const char *nmig_version; /* recorded in each row and the header */
	const char *dir;	  /* the migrations directory: file names in
				   * the script are relative to it */
	int no_lock; /* no migration lock (pooler hosts, --no-lock):
		      * the guards and version rows still apply */
	/*
	 * Streaming, for scripts larger than memory should hold (both may
	 * be NULL). flush: called with what out holds whenever it passes
	 * NMIG_OFFLINE_FLUSH bytes, and at the end; out is emptied after
	 * each call; a non-zero return stops the emission with it.
	 * load_step: when set, steps[i].script is NULL and load_step loads
	 * step i's file into *script when it is written (released after);
	 * the caller checked the files before (nmig_offline_check_step).
	 */
	int (*flush)(void *ud, const char *text, size_t len);
	int (*load_step)(void *ud, size_t i, struct nmig_script *script);
	void *ud;
};

#define NMIG_OFFLINE_FLUSH (256 * 1024)

/*
 * The offline script's own refusal for one step's file: COPY ... FROM
 * STDIN (psql would feed it the rest of the script) is NMIG_EINPUT
 * naming file and line.
 */
int nmig_offline_check_step(const struct nmig_step *step);

/*
 * Append the script for p to out. steps (p->plan.n of them, NULL for
 * stamp) hold the files each migration runs, loaded and checked by the
 * caller; their text is copied byte for byte. A migration that reads
 * COPY ... FROM STDIN is refused (NMIG_EINPUT naming file and line):
 * psql would feed it the rest of the script. NMIG_ENOMEM.
 */
int nmig_offline_emit(struct nmig_buf *out, const struct nmig_graph *g,
		      const struct nmig_offline_plan *p,
		      const struct nmig_step *steps,
		      const struct nmig_offline_opts *o);

/*
 * Append text for a `--` comment line: control characters and invalid
 * UTF-8 become '?', so that nothing can end the comment.
 */
void nmig_offline_comment_text(struct nmig_buf *out, const char *text);

#endif
