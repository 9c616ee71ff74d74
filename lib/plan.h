/*
 * Targets and plans: Alembic's target vocabulary resolved against a graph
 * and an applied set, and the upgrade / downgrade plans computed from them
 * as pure functions (no database here; the engine feeds the applied set in).
 *
 * Targets: `head` (the single head; several heads is NMIG_EAMBIGUOUS listing
 * them), `heads`, `base`, a full id, a unique id prefix of 4+ characters
 * (ambiguity lists the candidates), `+N` / `-N` (relative to the applied
 * set along the plan order), `<rev>+N` / `<rev>-N` (N steps from rev along
 * the plan order among its descendants / ancestors). Ranges `A:B` (either
 * side may be empty or any target) are parsed by nmig_range_parse.
 */
#ifndef NMIG_PLAN_H
#define NMIG_PLAN_H

#include <stddef.h>

#include "graph.h"

/*
 * The applied set as a mark array over the graph (1 = applied), built from
 * the ids the database holds. Ids unknown to the graph are collected in
 * unknown (malloc'ed array of pointers into ids; may be NULL when none).
 * Returns NMIG_OK, or NMIG_ESTATE when the set is not ancestor-closed
 * (the message names an applied revision whose parent is not applied) --
 * unknown ids alone do not fail here; the caller decides. *out is filled
 * even on NMIG_ESTATE (so `check` can show it); release it in every case.
 */
struct nmig_applied {
	unsigned char *mark;	/* graph count entries */
	size_t napplied;
	const char **unknown;
	size_t nunknown;
};

int nmig_applied_init(struct nmig_applied *out, const struct nmig_graph *g,
		      const char *const *ids, size_t nids);
void nmig_applied_release(struct nmig_applied *a);

/*
 * Resolve a target to a set of nodes (plan positions, ascending). `base`
 * resolves to the empty set, `heads` to every head. Relative targets
 * (`+N`, `-N`) count along the plan order from the applied set: `+N` is
 * the first N pending revisions, `-N` (downgrade) the applied revisions
 * left after removing the last N applied; both resolve to the heads of
 * the state they describe (applied plus those N, or applied minus them),
 * so `+0` is the applied heads. `+N` needs NMIG_UP and `-N` NMIG_DOWN
 * (else NMIG_EUSAGE, so that `upgrade -1` is not a silent no-op); dir 0
 * accepts both (history ranges, stamp). applied may be NULL (treated as
 * empty). *out is
 * malloc'ed (NULL when *n == 0). The order in which a spec is tried (ids
 * containing '+' or '-') is documented at resolve() in plan.c.
 */
enum nmig_direction { NMIG_UP = 1, NMIG_DOWN = -1 };

int nmig_target_resolve(const struct nmig_graph *g,
			const struct nmig_applied *applied,
			enum nmig_direction dir, const char *spec,
			size_t **out, size_t *n);

/* A range `A:B`: from and to are malloc'ed copies, NULL when empty. */
int nmig_range_parse(const char *spec, char **from, char **to);

struct nmig_plan {
	enum nmig_direction dir;
	size_t *steps;	/* plan positions, in execution order */
	size_t n;
};

/*
 * upgrade T: closure(T) minus applied, in plan order (closure = T and its
 * ancestors).
 * downgrade T: the applied strict descendants of T, in reverse plan order;
 * `base` unapplies everything, `-N` the last N applied. A downgrade step without a down file fails the whole plan
 * with NMIG_ESTATE naming the revision before anything runs (unless
 * allow_irreversible). Unknown applied ids fail with NMIG_ESTATE listing
 * them (the hint names `nmig stamp --purge`).
 */
int nmig_plan_upgrade(struct nmig_plan *out, const struct nmig_graph *g,
		      const struct nmig_applied *applied, const char *target);
int nmig_plan_downgrade(struct nmig_plan *out, const struct nmig_graph *g,
			const struct nmig_applied *applied, const char *target,
			int allow_irreversible);
void nmig_plan_release(struct nmig_plan *plan);

#endif
