/*
 * nmig graph: the revision graph as text another tool draws -- Graphviz
 * dot (`nmig graph | dot -Tsvg > graph.svg`) or a Mermaid flowchart in a
 * ```mermaid block, which GitHub renders in a pull request or a README.
 * Heads, bases and merges get their own shapes; when a database URL is set
 * and reachable, every revision is coloured by its state there (applied,
 * current, pending, dirty), read as `history` reads it. -r A:B limits the
 * graph as `history -r` does. One pass over nodes and edges.
 */
#include "commands.h"
#include "graphview.h"

#include "buf.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Fill colours by state (index gv_state), shared by dot and Mermaid. */
static const char *const fill[] = {"#ffffff", "#ffffff", "#c8e6c9", "#81c784",
				   "#ef9a9a"};
static const char *const stroke[] = {"#555555", "#555555", "#2e7d32", "#1b5e20",
				     "#c62828"};

/* s inside a dot double-quoted string. */
static void dot_str(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s < 0x20)
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

/* s inside a Mermaid "..." label: quotes and markup as entities. */
static void mermaid_str(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '"':
			fputs("#quot;", out);
			break;
		case '<':
			fputs("#lt;", out);
			break;
		case '>':
			fputs("#gt;", out);
			break;
		case '#':
			fputs("#35;", out);
			break;
		default:
			fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
		}
	}
}

/* The words under a revision's id: "(head)", "(merge)", its state. */
static void tags(struct nmig_buf *b, const struct nmig_graph *graph, size_t i,
		 const struct gv_marks *marks)
{
	size_t np, nc;

	nmig_graph_parents(graph, i, &np);
	nmig_graph_children(graph, i, &nc);
	nmig_buf_clear(b);
	if (nc == 0)
		nmig_buf_puts(b, " (head)");
	if (np > 1)
		nmig_buf_puts(b, " (merge)");
	if (marks->state)
		nmig_buf_printf(b, " (%s)", gv_state_name(marks->state[i]));
}

static void print_dot(FILE *out, const struct nmig_graph *graph,
		      const unsigned char *sel, const struct gv_marks *marks)
{
	size_t count = nmig_graph_count(graph), i, j, np, nc;
	struct nmig_buf t = NMIG_BUF_INIT;
	const size_t *par;

	fputs("digraph nmig {\n"
	      "\trankdir=BT;\n"
	      "\tnode [shape=box, style=\"rounded,filled\", "
	      "fillcolor=\"#ffffff\", "
	      "fontname=\"Helvetica\", fontsize=10];\n"
	      "\tedge [arrowsize=0.6];\n",
	      out);
	for (i = count; i-- > 0;) {
		const struct nmig_revision *r = nmig_graph_rev(graph, i);
		int st = marks->state ? marks->state[i] : 0;

		if (!sel[i])
			continue;
		nmig_graph_parents(graph, i, &np);
		nmig_graph_children(graph, i, &nc);
		tags(&t, graph, i, marks);
		fputs("\t\"", out);
		dot_str(out, r->id);
		fputs("\" [label=\"", out);
		dot_str(out, r->id);
		dot_str(out, t.ptr);
		fputs("\\n", out);
		dot_str(out, r->message);
		fputc('"', out);
		if (np > 1)
			fputs(", shape=hexagon", out);
		if (nc == 0)
			fputs(", peripheries=2", out);
		if (st)
			fprintf(out, ", fillcolor=\"%s\", color=\"%s\"",
				fill[st], stroke[st]);
		if (st == GV_DIRTY)
			fputs(", penwidth=2", out);
		fputs("];\n", out);
	}
	for (i = 0; i < count; i++) {
		if (!sel[i])
			continue;
		par = nmig_graph_parents(graph, i, &np);
		for (j = 0; j < np; j++) {
			if (!sel[par[j]])
				continue;
			fputs("\t\"", out);
			dot_str(out, nmig_graph_rev(graph, par[j])->id);
			fputs("\" -> \"", out);
			dot_str(out, nmig_graph_rev(graph, i)->id);
			fputs("\";\n", out);
		}
	}
	fputs("}\n", out);
	nmig_buf_release(&t);
}

static void print_mermaid(FILE *out, const struct nmig_graph *graph,
			  const unsigned char *sel,
			  const struct gv_marks *marks)
{
	size_t count = nmig_graph_count(graph), i, j, np, nc, k;
	struct nmig_buf t = NMIG_BUF_INIT;
	const size_t *par;
	int st;

	fputs("```mermaid\nflowchart BT\n", out);
	for (i = count; i-- > 0;) {
		const struct nmig_revision *r = nmig_graph_rev(graph, i);

		if (!sel[i])
			continue;
		nmig_graph_parents(graph, i, &np);
		nmig_graph_children(graph, i, &nc);
		tags(&t, graph, i, marks);
		/* heads [[..]], merges {{..}}, others [..] */
		fprintf(out, "  n%zu%s\"", i,
			nc == 0	 ? "[["
			: np > 1 ? "{{"
				 : "[");
		mermaid_str(out, r->id);
		mermaid_str(out, t.ptr);
		fputs("<br/>", out);
		mermaid_str(out, r->message);
		fprintf(out, "\"%s\n", nc == 0 ? "]]" : np > 1 ? "}}" : "]");
	}
	for (i = 0; i < count; i++) {
		if (!sel[i])
			continue;
		par = nmig_graph_parents(graph, i, &np);
		for (j = 0; j < np; j++)
			if (sel[par[j]])
				fprintf(out, "  n%zu --> n%zu\n", par[j], i);
	}
	for (st = GV_PENDING; marks->state && st <= GV_DIRTY; st++) {
		k = 0;
		for (i = 0; i < count; i++) {
			if (!sel[i] || marks->state[i] != st)
				continue;
			if (k++ == 0)
				fprintf(out,
					"  classDef %s fill:%s,stroke:%s\n"
					"  class ",
					gv_state_name(st), fill[st],
					stroke[st]);
			fprintf(out, "%sn%zu", k > 1 ? "," : "", i);
		}
		if (k)
			fprintf(out, " %s\n", gv_state_name(st));
	}
	fputs("```\n", out);
	nmig_buf_release(&t);
}

int cmd_graph(struct cli_global *g, int argc, char **argv)
{
	const char *range = NULL, *format = "dot";
	const struct cli_opt opts[] = {
	    {0, "format", "dot|mermaid", "the output format (default: dot)",
	     &format, NULL, NULL, NULL},
	    {'r', "rev-range", "A:B",
	     "only revisions after A (excluded) up to B (included)", &range,
	     NULL, NULL, NULL},
	    {0, "db", NULL,
	     "colour the revisions by their state in the database", NULL,
	     &g->use_db, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "graph",
	    NULL,
	    "Print the revision graph for another tool to draw: Graphviz dot "
	    "(the\ndefault) or a Mermaid flowchart in a ```mermaid block, "
	    "which GitHub\nrenders in pull requests and Markdown files. Edges "
	    "go from parent to\nchild, newest at the top; heads have a double "
	    "border (dot) or bars\n(Mermaid), merges are hexagons. With --db "
	    "(and the database reachable),\nrevisions are coloured by state: "
	    "applied (green), current (darker\ngreen: applied, no applied "
	    "child), pending (white), dirty (red).\n-r A:B limits the graph as "
	    "in 'nmig history -r'.",
	    opts,
	    "nmig graph | dot -Tsvg > graph.svg\n"
	    "nmig graph --format mermaid >> pr-description.md\n"
	    "nmig graph -r 20261126091000:head\n"
	    "nmig graph --db --format mermaid",
	};
	struct gv_view v;
	int rc;

	rc = cli_opts_parse_none(g, &usage, &argc, argv,
				 "limit the graph with -r A:B");
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (strcmp(format, "dot") != 0 && strcmp(format, "mermaid") != 0) {
		cli_errorf(g, "unknown format '%s'", format);
		cli_hintf(g, "write --format dot or --format mermaid");
		return NMIG_EXIT_USAGE;
	}
	rc = gv_view_load(&v, g, range);
	if (!rc && strcmp(format, "dot") == 0)
		print_dot(stdout, v.graph, v.sel, &v.marks);
	else if (!rc)
		print_mermaid(stdout, v.graph, v.sel, &v.marks);
	gv_view_release(&v);
	return rc;
}
