/*
 * nmig show: everything known about one revision without a database --
 * its place in the graph (parents, children, head, branch and merge
 * point), its files and checksums, transaction mode, reversibility, and
 * the statements of its up and down files as PostgreSQL's parser sees
 * them (how many, and of which kinds).
 */
#include "commands.h"

#include "error.h"
#include "plan.h"
#include "sqlscript.h"

#include <stdlib.h>
#include <string.h>

/* Statement kinds of one script, in order of first appearance. */
struct kinds {
	const char **name;
	size_t *count;
	size_t n;
};

static int count_kinds(const struct nmig_script *s, struct kinds *k)
{
	size_t i, j;

	memset(k, 0, sizeof(*k));
	if (!s->n)
		return NMIG_OK;
	k->name = calloc(s->n, sizeof(*k->name));
	k->count = calloc(s->n, sizeof(*k->count));
	if (!k->name || !k->count)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < s->n; i++) {
		const char *kind = s->stmts[i].kind ? s->stmts[i].kind : "?";

		for (j = 0; j < k->n; j++)
			if (strcmp(k->name[j], kind) == 0)
				break;
		if (j == k->n)
			k->name[k->n++] = kind;
		k->count[j]++;
	}
	return NMIG_OK;
}

static void kinds_release(struct kinds *k)
{
	free(k->name);
	free(k->count);
	memset(k, 0, sizeof(*k));
}

/* One file's facts, loaded before anything is printed. */
struct side {
	const struct nmig_file_info *file;
	struct nmig_script script;
	struct kinds kinds;
	int loaded;
};

static int load_side(struct side *s, const struct nmig_file_info *file,
		     size_t cap)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->file = file;
	if (!file->path)
		return NMIG_OK;
	rc = nmig_script_load(&s->script, file->path, cap);
	if (rc)
		return rc;
	s->loaded = 1;
	return count_kinds(&s->script, &s->kinds);
}

static void side_release(struct side *s)
{
	if (s->loaded)
		nmig_script_release(&s->script);
	kinds_release(&s->kinds);
}

static void print_ids(const struct nmig_graph *graph, const size_t *ix,
		      size_t n, const char *none)
{
	size_t j;

	if (n == 0)
		fputs(none, stdout);
	for (j = 0; j < n; j++)
		printf("%s%s", j ? ", " : "", nmig_graph_rev(graph, ix[j])->id);
	fputc('\n', stdout);
}

static void print_side_text(const char *label, const struct side *s)
{
	size_t j;

	printf("%-16s", label);
	if (!s->file->path) {
		fputs("none (irreversible)\n", stdout);
		return;
	}
	cli_put_safe(stdout, s->file->path);
	printf("\n%-16s%s\n", "  checksum:", s->file->checksum);
	printf("%-16s%zu", "  statements:", s->script.n);
	if (!s->script.parse_ok) {
		fputs(" (the parser refused this file; run 'nmig check')\n",
		      stdout);
		return;
	}
	for (j = 0; j < s->kinds.n; j++) {
		printf("%s%s", j ? ", " : " (", s->kinds.name[j]);
		if (s->kinds.count[j] > 1)
			printf(" x%zu", s->kinds.count[j]);
	}
	fputs(s->kinds.n ? ")\n" : "\n", stdout);
}

static void print_side_json(const struct side *s)
{
	size_t j;

	if (!s->file->path) {
		fputs("null", stdout);
		return;
	}
	fputs("{\"path\": ", stdout);
	cli_json_str(stdout, s->file->path);
	fputs(", \"checksum\": ", stdout);
	cli_json_str(stdout, s->file->checksum);
	printf(", \"statements\": %zu, \"parse_ok\": %s, \"kinds\": {",
	       s->script.n, s->script.parse_ok ? "true" : "false");
	for (j = 0; j < s->kinds.n; j++) {
		if (j)
			fputs(", ", stdout);
		cli_json_str(stdout, s->kinds.name[j]);
		printf(": %zu", s->kinds.count[j]);
	}
	fputs("}}", stdout);
}

static void show(struct cli_global *g, const struct nmig_graph *graph, size_t i,
		 const struct side *up, const struct side *down)
{
	const struct nmig_revision *r = nmig_graph_rev(graph, i);
	const size_t *ps, *cs;
	size_t np, nc;
	int marks;

	ps = nmig_graph_parents(graph, i, &np);
	cs = nmig_graph_children(graph, i, &nc);
	if (g->json) {
		fputc('{', stdout);
		cli_json_rev(stdout, r);
		fputs(", \"children\": ", stdout);
		cli_json_children(stdout, graph, i);
		printf(", \"head\": %s, \"branchpoint\": %s, "
		       "\"mergepoint\": %s, \"transactional\": %s, "
		       "\"reversible\": %s, \"up\": ",
		       nc == 0 ? "true" : "false", nc > 1 ? "true" : "false",
		       np > 1 ? "true" : "false",
		       r->transactional ? "true" : "false",
		       r->down.path ? "true" : "false");
		print_side_json(up);
		fputs(", \"down\": ", stdout);
		print_side_json(down);
		fputs("}\n", stdout);
		return;
	}
	printf("%-16s%s%s%s\n", "revision:", cli_c_yellow(g), r->id,
	       cli_c_reset(g));
	printf("%-16s", "message:");
	cli_put_safe(stdout, r->message);
	printf("\n%-16s", "parents:");
	print_ids(graph, ps, np, "<base>");
	printf("%-16s", "children:");
	print_ids(graph, cs, nc, "none (head)");
	printf("%-16s", "marks:");
	marks = 0;
	if (np == 0)
		printf("%sbase", marks++ ? ", " : "");
	if (nc == 0)
		printf("%shead", marks++ ? ", " : "");
	if (nc > 1)
		printf("%sbranchpoint", marks++ ? ", " : "");
	if (np > 1)
		printf("%smergepoint", marks++ ? ", " : "");
	fputs(marks ? "\n" : "none\n", stdout);
	printf("%-16s%s\n", "transactional:",
	       r->transactional ? "yes" : "no (-- nmig:transaction off)");
	printf("%-16s%s\n",
	       "reversible:", r->down.path ? "yes" : "no (no down file)");
	print_side_text("up:", up);
	print_side_text("down:", down);
}

int cmd_show(struct cli_global *g, int argc, char **argv)
{
	const struct cli_opt opts[] = {
	    {0, "json", NULL, "print one JSON object", NULL, &g->json, NULL,
	     NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "show",
	    "REV",
	    "Show everything about one revision: id, message, parents, "
	    "children,\nfiles and checksums, transaction mode, whether it "
	    "can be undone, and\nthe statements of its up and down files "
	    "(count and kinds, from\nPostgreSQL's parser). REV is an id, a "
	    "unique prefix of 4+ characters,\nor 'head'.",
	    opts,
	    "nmig show 20261126092000\nnmig show 2026112609 --json\n"
	    "nmig show head",
	};
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	struct side up, down;
	size_t *nodes = NULL, n = 0;
	int rc, exit_code;

	memset(&set, 0, sizeof(set));
	memset(&up, 0, sizeof(up));
	memset(&down, 0, sizeof(down));
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc != 2) {
		cli_errorf(g,
			   argc < 2 ? "which revision? 'show' takes one "
				      "REV"
				    : "'show' takes one REV, not %d",
			   argc - 1);
		cli_hintf(g, "e.g. nmig show head; see 'nmig show --help'");
		return NMIG_EXIT_USAGE;
	}
	exit_code = cli_load_graph(g, &set, &graph);
	if (exit_code)
		goto cleanup;
	rc = nmig_target_resolve(graph, NULL, NMIG_UP, argv[1], &nodes, &n);
	if (!rc && n != 1) {
		rc = nmig_error_set(n ? NMIG_EAMBIGUOUS : NMIG_ENOTFOUND,
				    "'%s' names %zu revisions; show takes "
				    "one",
				    argv[1], n);
		nmig_error_hint("name one revision by id or prefix; 'nmig "
				"heads' lists the heads");
	}
	if (!rc)
		rc = load_side(&up, &nmig_graph_rev(graph, nodes[0])->up,
			       g->cfg.max_file_size);
	if (!rc)
		rc = load_side(&down, &nmig_graph_rev(graph, nodes[0])->down,
			       g->cfg.max_file_size);
	if (rc) {
		exit_code = cli_report_error(g);
		goto cleanup;
	}
	show(g, graph, nodes[0], &up, &down);
cleanup:
	side_release(&up);
	side_release(&down);
	free(nodes);
	if (graph)
		nmig_graph_free(graph);
	nmig_revset_release(&set);
	return exit_code;
}
