/*
 * nmig branches: the branch points -- revisions with two or more children
 * -- each with its children, in plan order. A branch point is where work
 * diverged; `nmig heads` shows where it ends, `nmig merge` joins it.
 */
#include "commands.h"

#include <string.h>

static void print_json(const struct nmig_graph *graph, const size_t *bps,
		       size_t n)
{
	size_t i;

	fputc('[', stdout);
	for (i = 0; i < n; i++) {
		const struct nmig_revision *r = nmig_graph_rev(graph, bps[i]);

		fputs(i ? ",\n {" : "{", stdout);
		fputs("\"id\": ", stdout);
		cli_json_str(stdout, r->id);
		fputs(", \"message\": ", stdout);
		cli_json_str(stdout, r->message);
		fputs(", \"children\": ", stdout);
		cli_json_children(stdout, graph, bps[i]);
		fputc('}', stdout);
	}
	fputs("]\n", stdout);
}

static void print_text(struct cli_global *g, const struct nmig_graph *graph,
		       const size_t *bps, size_t n, int verbose)
{
	size_t i, j, nc;

	for (i = 0; i < n; i++) {
		const struct nmig_revision *r = nmig_graph_rev(graph, bps[i]);
		const size_t *ch = nmig_graph_children(graph, bps[i], &nc);

		printf("%s%s%s -> ", cli_c_yellow(g), r->id, cli_c_reset(g));
		for (j = 0; j < nc; j++)
			printf("%s%s", j ? ", " : "",
			       nmig_graph_rev(graph, ch[j])->id);
		fputs(", ", stdout);
		cli_put_safe(stdout, r->message);
		fputc('\n', stdout);
		for (j = 0; verbose && j < nc; j++) {
			const struct nmig_revision *c =
			    nmig_graph_rev(graph, ch[j]);

			printf("    -> %s, ", c->id);
			cli_put_safe(stdout, c->message);
			fputc('\n', stdout);
		}
	}
}

int cmd_branches(struct cli_global *g, int argc, char **argv)
{
	int verbose = 0, rc;
	const struct cli_opt opts[] = {
	    {'v', "verbose", NULL, "also print each child's message", NULL,
	     &verbose, NULL, NULL},
	    {0, "json", NULL, "print a JSON array of {id, message, children}",
	     NULL, &g->json, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "branches",
	    NULL,
	    "List the branch points: revisions with two or more children, "
	    "in plan\norder, as '<id> -> <child>, <child>, <message>'. "
	    "Prints nothing when\nthe history has no branches.",
	    opts,
	    "nmig branches\nnmig branches --json",
	};
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	const size_t *bps;
	size_t n;

	memset(&set, 0, sizeof(set));
	rc = cli_opts_parse_none(g, &usage, &argc, argv, NULL);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	rc = cli_load_graph(g, &set, &graph);
	if (rc == NMIG_EXIT_OK) {
		bps = nmig_graph_branchpoints(graph, &n);
		if (g->json)
			print_json(graph, bps, n);
		else
			print_text(g, graph, bps, n, verbose || g->verbose);
	}
	if (graph)
		nmig_graph_free(graph);
	nmig_revset_release(&set);
	return rc;
}
