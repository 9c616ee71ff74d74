/*
 * nmig history: the revisions newest first (reverse plan order), one line
 * each in Alembic's form `<parents> -> <id> (head) (branchpoint)
 * (mergepoint), <message>`, optionally limited to a range `-r A:B` (the
 * ancestors of B, B included, that are not ancestors of A, A excluded).
 * When a database URL is set, the applied revisions are read and marked
 * (applied) / (current); without one, history works from the files alone.
 * --graph draws the same revisions with lanes, as `git log --graph`
 * (graphview.c), marking pending and dirty revisions too.
 */
#include "commands.h"
#include "db.h"
#include "graphview.h"

#include "error.h"
#include "plan.h"

#include <stdlib.h>
#include <string.h>

/*
 * Whether node i is applied with no applied child: the database's
 * current position on its branch.
 */
static int is_current(const struct nmig_graph *graph,
		      const struct nmig_applied *applied, size_t i)
{
	size_t nc, j;
	const size_t *ch;

	if (!applied || !applied->mark[i])
		return 0;
	ch = nmig_graph_children(graph, i, &nc);
	for (j = 0; j < nc; j++)
		if (applied->mark[ch[j]])
			return 0;
	return 1;
}

static void print_line(struct cli_global *g, const struct nmig_graph *graph,
		       const struct nmig_applied *applied, size_t i,
		       int verbose)
{
	const struct nmig_revision *r = nmig_graph_rev(graph, i);
	size_t np, nc, j;

	nmig_graph_parents(graph, i, &np);
	nmig_graph_children(graph, i, &nc);
	if (r->nparents == 0)
		fputs("<base>", stdout);
	for (j = 0; j < r->nparents; j++)
		printf("%s%s", j ? ", " : "", r->parents[j]);
	printf(" -> %s%s%s", cli_c_yellow(g), r->id, cli_c_reset(g));
	if (nc == 0)
		printf(" %s(head)%s", cli_c_bold(g), cli_c_reset(g));
	if (nc > 1)
		fputs(" (branchpoint)", stdout);
	if (np > 1)
		fputs(" (mergepoint)", stdout);
	if (is_current(graph, applied, i))
		printf(" %s(current)%s", cli_c_green(g), cli_c_reset(g));
	else if (applied && applied->mark[i])
		printf(" %s(applied)%s", cli_c_green(g), cli_c_reset(g));
	fputs(", ", stdout);
	cli_put_safe(stdout, r->message);
	fputc('\n', stdout);
	if (!verbose)
		return;
	fputs("    up:            ", stdout);
	cli_put_safe(stdout, r->up.path);
	printf("\n    up checksum:   %s\n    down:          ", r->up.checksum);
	if (r->down.path) {
		cli_put_safe(stdout, r->down.path);
		printf("\n    down checksum: %s\n", r->down.checksum);
	} else {
		fputs("none (irreversible)\n", stdout);
	}
	printf("    transaction:   %s\n",
	       r->transactional ? "on" : "off (-- nmig:transaction off)");
	if (applied)
		printf("    applied:       %s\n",
		       applied->mark[i] ? "yes" : "no");
}

static void print_json_item(const struct nmig_graph *graph,
			    const struct nmig_applied *applied, size_t i)
{
	const struct nmig_revision *r = nmig_graph_rev(graph, i);
	size_t np, nc;

	nmig_graph_parents(graph, i, &np);
	nmig_graph_children(graph, i, &nc);
	fputc('{', stdout);
	cli_json_rev(stdout, r);
	fputs(", \"children\": ", stdout);
	cli_json_children(stdout, graph, i);
	printf(", \"head\": %s, \"branchpoint\": %s, \"mergepoint\": %s",
	       nc == 0 ? "true" : "false", nc > 1 ? "true" : "false",
	       np > 1 ? "true" : "false");
	fputs(", \"up\": ", stdout);
	cli_json_str(stdout, r->up.path);
	fputs(", \"up_checksum\": ", stdout);
	cli_json_str(stdout, r->up.checksum);
	fputs(", \"down\": ", stdout);
	cli_json_str(stdout, r->down.path);
	fputs(", \"down_checksum\": ", stdout);
	cli_json_str(stdout, r->down.path ? r->down.checksum : NULL);
	printf(", \"transactional\": %s", r->transactional ? "true" : "false");
	if (applied)
		printf(", \"applied\": %s, \"current\": %s",
		       applied->mark[i] ? "true" : "false",
		       is_current(graph, applied, i) ? "true" : "false");
	fputc('}', stdout);
}

/*
 * Print the history of graph, newest first, limited to range (NULL: all),
 * marking the revisions of applied (NULL: no database). Returns NMIG_OK or
 * a libnmig error code (a bad range) with the error set.
 */
static int print_history(struct cli_global *g, const struct nmig_graph *graph,
			 const struct nmig_applied *applied, const char *range,
			 int verbose)
{
	size_t count = nmig_graph_count(graph), i, k = 0;
	unsigned char *sel = calloc(count ? count : 1, 1);
	int rc;

	if (!sel)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	rc = gv_select_range(graph, applied, range, sel);
	if (rc)
		goto cleanup;
	if (g->json)
		fputc('[', stdout);
	for (i = count; i-- > 0;) {
		if (!sel[i])
			continue;
		if (g->json) {
			fputs(k ? ",\n " : "", stdout);
			print_json_item(graph, applied, i);
		} else {
			if (verbose && k)
				fputc('\n', stdout);
			print_line(g, graph, applied, i, verbose);
		}
		k++;
	}
	if (g->json)
		fputs("]\n", stdout);
cleanup:
	free(sel);
	return rc;
}

/* history --graph: the selected revisions drawn with lanes (exit code). */
static int history_graph(struct cli_global *g, const char *range)
{
	struct gv_view v;
	int rc = gv_view_load(&v, g, range);

	if (!rc && gv_draw_lanes(stdout, g, v.graph, v.sel, &v.marks)) {
		nmig_error_set(NMIG_ENOMEM, "out of memory");
		rc = cli_report_error(g);
	}
	gv_view_release(&v);
	return rc;
}

int cmd_history(struct cli_global *g, int argc, char **argv)
{
	const char *range = NULL;
	int verbose = 0, graph_view = 0, rc;
	const struct cli_opt opts[] = {
	    {'r', "rev-range", "A:B",
	     "only revisions after A (excluded) up to B (included)", &range,
	     NULL, NULL, NULL},
	    {'v', "verbose", NULL,
	     "also print paths, checksums and transaction mode", NULL, &verbose,
	     NULL, NULL},
	    {0, "graph", NULL, "draw the graph with lanes", NULL, &graph_view,
	     NULL, NULL},
	    {0, "db", NULL,
	     "mark the revisions with their state in the database", NULL,
	     &g->use_db, NULL, NULL},
	    {0, "json", NULL, "print a JSON array, newest first", NULL,
	     &g->json, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "history",
	    NULL,
	    "List revisions newest first (reverse plan order), one per "
	    "line:\n'<parents> -> <id> (head) (branchpoint) (mergepoint), "
	    "<message>',\nwith '<base>' as the parent of a root. -r A:B "
	    "keeps the ancestors of B\n(B included) that are not ancestors "
	    "of A (A excluded), as in Alembic;\neither side may be empty "
	    "and each is any target (id, prefix, head...).\n--graph draws "
	    "the revisions with lanes, newest first, as 'git log\n--graph' "
	    "does: '*' is a revision, '|' '/' '\\' its edges; a parent "
	    "outside\nthe range ends its lane. No database is touched unless "
	    "--db is given:\nthen the revisions are marked (applied), "
	    "(current), (pending) or\n(dirty) from the database named by "
	    "the URL variable (or .env); a\ndatabase that cannot be read is "
	    "a warning, and the files are shown.",
	    opts,
	    "nmig history\n"
	    "nmig history -r 20261126091000:head --verbose\n"
	    "nmig history -r :20261126092000 --json\n"
	    "nmig history --graph\n"
	    "nmig history --db",
	};
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	struct nmig_applied applied;
	int have_applied = 0;

	memset(&set, 0, sizeof(set));
	rc = cli_opts_parse_none(g, &usage, &argc, argv,
				 "limit the history with -r A:B");
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (graph_view) {
		if (g->json) {
			cli_errorf(g, "--graph has no JSON form");
			cli_hintf(g, "'nmig history --json' lists parents and "
				     "children; 'nmig graph' prints dot or "
				     "Mermaid");
			return NMIG_EXIT_USAGE;
		}
		return history_graph(g, range);
	}
	rc = cli_load_graph(g, &set, &graph);
	if (rc == NMIG_EXIT_OK)
		have_applied = db_applied_marks(g, graph, &applied);
	if (rc == NMIG_EXIT_OK &&
	    print_history(g, graph, have_applied ? &applied : NULL, range,
			  verbose || g->verbose))
		rc = cli_report_error(g);
	if (have_applied)
		nmig_applied_release(&applied);
	if (graph)
		nmig_graph_free(graph);
	nmig_revset_release(&set);
	return rc;
}
