/*
 * Migrating a database to a target: the operation behind `nmig upgrade`
 * and `nmig downgrade`, as one call. It takes the migration lock and reads
 * the version table (one round trip), waits for another run that holds the
 * lock or is applying a non-transactional migration, refuses what the state
 * refuses (dirty rows, unknown revisions, holes, drift), plans, loads and
 * checks the files the plan runs, and runs them, going on from the new
 * state when a concurrent run applied some first. Progress goes out
 * through callbacks; nothing here prints.
 */
#ifndef NMIG_MIGRATE_H
#define NMIG_MIGRATE_H

#include <stddef.h>

#include "conn.h"
#include "diag.h"
#include "exec.h"
#include "graph.h"
#include "plan.h"
#include "state.h"

/* What a note (nmig_migrate_opts.on_note) is about. */
enum nmig_migrate_note {
	NMIG_NOTE_WAITING,    /* waiting for another run (message says why) */
	NMIG_NOTE_CONCURRENT, /* another run applied some first: going on */
	NMIG_NOTE_POOLED,     /* a pooler is in between: no session lock */
	NMIG_NOTE_DRIFT,      /* applied files changed (allow_drift) */
};

struct nmig_migrate_opts {
	enum nmig_direction dir;
	const char *target; /* a target of plan.h ("head", "-1", ...) */
	int dry_run;	    /* plan only: no lock, nothing created or run */
	int allow_drift;    /* upgrade despite applied files changed */
	int no_lock;	    /* skip the session advisory lock */
	int lock_wait_ms;   /* how long to wait for another run */
	int lock_timeout_ms;
	int statement_timeout_ms;
	int lock_retries;
	int client_check_ms; /* see nmig_exec_opts */
	size_t max_file_size;
	const char *nmig_version;
	/*
	 * Called once when the plan is made, before anything runs (also for
	 * a dry run and an empty plan). May be NULL.
	 */
	void (*on_plan)(void *ud, const struct nmig_plan *plan);
	/*
	 * Each migration as it starts, completes or retries. When it comes,
	 * result->report.mark already says whether the revision is applied.
	 * May be NULL.
	 */
	void (*on_event)(void *ud, const struct nmig_exec_event *ev);
	/* Notes on the way (see enum nmig_migrate_note). May be NULL. */
	void (*on_note)(void *ud, enum nmig_migrate_note kind,
			const char *message);
	void *ud;
};

struct nmig_migrate_result {
	struct nmig_state state;	 /* the rows as last read */
	struct nmig_state_report report; /* marks follow the run */
	int have_report;
	struct nmig_plan plan;
	int have_plan;
	const struct nmig_revision **done; /* migrations run, in order */
	double *done_ms;
	size_t ndone;
	long failed;		 /* the revision (graph node) that failed, -1 */
	int locked;		 /* the session lock was taken */
	int interrupted;	 /* stopped by nmig_interrupt_request */
	struct nmig_diags diags; /* findings of the files the plan runs */
};

/*
 * Migrate the database on c (version table t) to o->target over graph g.
 * Returns NMIG_OK when the plan completed (or was empty, or a dry run).
 * Else a negative code with the last error set: NMIG_EINPUT when a file
 * the plan runs does not pass its checks (the findings in out->diags,
 * nothing run); the codes of nmig_state_open, nmig_state_refuse,
 * nmig_plan_upgrade / _downgrade and nmig_exec_run; NMIG_ELOCKED when
 * another run did not finish within o->lock_wait_ms. out is filled in
 * every case: release it with nmig_migrate_result_release.
 */
int nmig_migrate(struct nmig_migrate_result *out, struct nmig_conn *c,
		 const struct nmig_vtable *t, const struct nmig_graph *g,
		 const struct nmig_migrate_opts *o);
void nmig_migrate_result_release(struct nmig_migrate_result *r);

/*
 * The start of nmig_migrate alone, for other operations that change the
 * version table (stamp): the lock (o->no_lock, o->lock_wait_ms) and the
 * state read in one round trip, the table made ready. Fills out->state,
 * out->report and out->locked; release out in every case.
 */
int nmig_migrate_begin(struct nmig_migrate_result *out, struct nmig_conn *c,
		       const struct nmig_vtable *t, const struct nmig_graph *g,
		       const struct nmig_migrate_opts *o);

/*
 * Load and check the file each step of plan runs (the up file, or the
 * down file for a downgrade) into scripts and steps (arrays of plan->n,
 * freed with nmig_steps_free). A revision without the file it needs is
 * NMIG_ESTATE; a file changed since it was loaded NMIG_EINPUT; check
 * findings go to diags, and an error among them is NMIG_EINPUT.
 */
int nmig_steps_load(struct nmig_script **scripts, struct nmig_step **steps,
		    const struct nmig_graph *g, const struct nmig_plan *plan,
		    size_t max_file_size, struct nmig_diags *diags);
void nmig_steps_free(struct nmig_script *scripts, struct nmig_step *steps,
		     size_t n);

/*
 * The ids of the graph's roots (revisions without parents), for
 * nmig_state_open_opts.roots: an array of *n pointers into the graph, to
 * free(). NULL (NMIG_ENOMEM set) when out of memory.
 */
const char **nmig_migrate_roots(const struct nmig_graph *g, size_t *n);

#endif
