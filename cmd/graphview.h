/*
 * What the views of the revision graph (`history --graph`, `graph`)
 * share: the range selection history's -r uses, the database marks
 * (applied, pending, dirty) read when a URL is set, and the lane layout
 * that draws the DAG in a terminal as `git log --graph` does.
 */
#ifndef NMIG_CMD_GRAPHVIEW_H
#define NMIG_CMD_GRAPHVIEW_H

#include "nmig.h"
#include "plan.h"

/*
 * Mark in sel (graph count entries, cleared by the caller) the nodes of
 * range A:B -- the ancestors of B, B included, that are not ancestors of
 * A; either side may be empty -- or all nodes when range is NULL. Each
 * side is any target (resolved against applied, which may be NULL).
 * Returns NMIG_OK or a libnmig code with the last error set.
 */
int gv_select_range(const struct nmig_graph *graph,
		    const struct nmig_applied *applied, const char *range,
		    unsigned char *sel);

/* A revision's state in the database. */
enum gv_state {
	GV_PENDING = 1, /* not applied */
	GV_APPLIED,	/* applied, with an applied child */
	GV_CURRENT,	/* applied, no applied child: where its branch is */
	GV_DIRTY,	/* a dirty row: a migration that did not finish */
};

struct gv_marks {
	unsigned char *state;	     /* count entries of gv_state; NULL: none */
	struct nmig_applied applied; /* for relative targets in ranges */
	int have_applied;
	size_t napplied, npending, ndirty;
};

/*
 * Read the marks when the URL variable is set (as history does: no lock,
 * a short connect window). Returns 1 with out filled, 0 when no URL is set
 * or the database cannot be read (a warning says why; the views still
 * work from the files). Release out with gv_marks_release in every case.
 */
int gv_marks_read(struct gv_marks *out, struct cli_global *g,
		  struct nmig_graph *graph);
void gv_marks_release(struct gv_marks *m);

/* "applied", "current", "pending", "dirty"; NULL for 0. */
const char *gv_state_name(int state);

/*
 * Draw the nodes selected by sel, newest first, with lanes: one row per
 * revision ('*' in its lane, then '<id> (head) (base) (branchpoint)
 * (mergepoint) (state) <message>') and `|`, `/`, `\` rows between them where
 * lanes fork, join or shift. A parent outside sel ends its lane. Linear in the
 * revisions times the number of lanes. Colour only as g allows. Returns 0,
 * or -1 when out of memory (nothing more printed).
 */
int gv_draw_lanes(FILE *out, struct cli_global *g,
		  const struct nmig_graph *graph, const unsigned char *sel,
		  const struct gv_marks *marks);

/* What history --graph and graph draw: the files, the marks, the range. */
struct gv_view {
	struct nmig_revset set;
	struct nmig_graph *graph;
	struct gv_marks marks;
	unsigned char *sel; /* graph count entries: 1 = drawn */
};

/*
 * Load the migration files, read the marks (a database that cannot be
 * read is a warning) and select range (NULL: everything) into v. Exit
 * code, after printing; release v with gv_view_release in every case.
 */
int gv_view_load(struct gv_view *v, struct cli_global *g, const char *range);
void gv_view_release(struct gv_view *v);

#endif
