/*
 * nmig heads: the revisions with no children, in plan order -- what
 * `upgrade heads` would reach. More than one head means unmerged branches
 * (`upgrade head` refuses them; `nmig merge` joins them). Only headers are
 * read, never SQL bodies, so this stays fast on long histories.
 */
#include "commands.h"

#include <string.h>

static void print_json(const struct nmig_graph *graph, const size_t *heads,
		       size_t n)
{
	size_t i;

	fputc('[', stdout);
	for (i = 0; i < n; i++) {
		const struct nmig_revision *r = nmig_graph_rev(graph, heads[i]);

		fputs(i ? ",\n {" : "{", stdout);
		cli_json_rev(stdout, r);
		fputs(", \"up\": ", stdout);
		cli_json_str(stdout, r->up.path);
		fputs(", \"down\": ", stdout);
		cli_json_str(stdout, r->down.path);
		fputc('}', stdout);
	}
	fputs("]\n", stdout);
}

static void print_text(struct cli_global *g, const struct nmig_graph *graph,
		       const size_t *heads, size_t n, int verbose)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct nmig_revision *r = nmig_graph_rev(graph, heads[i]);

		printf("%s%s%s (head) ", cli_c_yellow(g), r->id,
		       cli_c_reset(g));
		cli_put_safe(stdout, r->message);
		fputc('\n', stdout);
		if (!verbose)
			continue;
		fputs("    parents: ", stdout);
		if (r->nparents == 0)
			fputs("<base>", stdout);
		for (j = 0; j < r->nparents; j++)
			printf("%s%s", j ? ", " : "", r->parents[j]);
		fputs("\n    up:      ", stdout);
		cli_put_safe(stdout, r->up.path);
		fputs("\n    down:    ", stdout);
		if (r->down.path)
			cli_put_safe(stdout, r->down.path);
		else
			fputs("none (irreversible)", stdout);
		fputc('\n', stdout);
	}
}

int cmd_heads(struct cli_global *g, int argc, char **argv)
{
	int verbose = 0, rc;
	const struct cli_opt opts[] = {
	    {'v', "verbose", NULL, "also print parents and file paths", NULL,
	     &verbose, NULL, NULL},
	    {0, "json", NULL,
	     "print a JSON array of {id, message, parents, up, down}", NULL,
	     &g->json, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "heads",
	    NULL,
	    "List the heads: revisions that no other revision has as "
	    "parent, in\nplan order. One line per head: '<id> (head) "
	    "<message>'. Several heads\nmean unmerged branches; join them "
	    "with 'nmig merge'.",
	    opts,
	    "nmig heads\nnmig heads --verbose\nnmig heads --json",
	};
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	const size_t *heads;
	size_t n;

	memset(&set, 0, sizeof(set));
	rc = cli_opts_parse_none(g, &usage, &argc, argv, NULL);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	rc = cli_load_graph(g, &set, &graph);
	if (rc == NMIG_EXIT_OK) {
		heads = nmig_graph_heads(graph, &n);
		if (g->json)
			print_json(graph, heads, n);
		else
			print_text(g, graph, heads, n, verbose || g->verbose);
	}
	if (graph)
		nmig_graph_free(graph);
	nmig_revset_release(&set);
	return rc;
}
