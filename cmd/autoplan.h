/*
 * Generated migrations, for `nmig diff` (SQL) and `nmig revision
 * --autogenerate`: the plan from one state to another (lib/schemaplan.h),
 * proven on a scratch database before anything is printed or written --
 * each step run, the result compared with the target object for object,
 * and, for revisions, each step's down SQL run back to the state before
 * it.
 */
#ifndef NMIG_AUTOPLAN_H
#define NMIG_AUTOPLAN_H

#include "nmig.h"

#include "schemaplan.h"
#include "schemastate.h"

struct cli_autoplan {
	struct nmig_schemaplan up;
	int steps[NMIG_PLAN_NSTEPS]; /* the steps that hold statements */
	size_t nsteps;
	char *down[NMIG_PLAN_NSTEPS]; /* per entry of steps, with downs */
	unsigned ignore[NMIG_PLAN_NSTEPS]; /* per entry: lint rules its up
					    * or down knowingly breaks */
};

/*
 * Plan from a to b with opts and prove it (with_downs: also make and prove
 * each step's down SQL). NMIG_OK with *out filled (no step when a and b
 * are alike); NMIG_EINPUT when the plan is refused (out->up.refused says
 * why) or the proof fails (the last error names the step and the objects);
 * other codes with the last error set. Release *out in every case.
 */
int cli_autoplan_make(struct schemastate *s, const struct nmig_catalog *a,
		      const struct nmig_catalog *b,
		      const struct nmig_plan_opts *opts, int with_downs,
		      struct cli_autoplan *out);
void cli_autoplan_release(struct cli_autoplan *p);

/* Print why a plan was refused (stderr), and the possible renames. */
void cli_autoplan_report_refusal(struct cli_global *g,
				 const struct nmig_schemaplan *p);

/* `-- hazard: ...` and `-- possible rename: ...` lines of a plan. */
void cli_autoplan_comments(struct nmig_buf *out,
			   const struct nmig_schemaplan *p);

/* Whether step runs in a transaction. */
int cli_autoplan_step_tx(int step);

#endif
