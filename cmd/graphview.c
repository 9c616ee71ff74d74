/*
 * The views of the revision graph (declared in graphview.h): range
 * selection, database marks, and the terminal lane layout of
 * `history --graph`. The layout walks the nodes newest first (reverse plan
 * order, so every child comes before its parents) keeping a row of lanes,
 * each waiting for the revision it will reach next. A revision takes the
 * leftmost lane waiting for it (the others join it: a branch point), or a
 * new lane on the right (a head); its parents then take its lane, a merge
 * fanning out to the right. Between two revision rows, every lane that
 * moves is drawn one column per row with '/' and '\', so the cost is the
 * revisions times the lanes, and lanes stay few on real histories.
 */
#include "graphview.h"
#include "db.h"

#include "buf.h"
#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* gv_select_range: see graphview.h. */
int gv_select_range(const struct nmig_graph *graph,
		    const struct nmig_applied *applied, const char *range,
		    unsigned char *sel)
{
	size_t count = nmig_graph_count(graph), i, nn = 0;
	unsigned char *excl = NULL;
	size_t *nodes = NULL;
	char *from = NULL, *to = NULL;
	int rc;

	if (!range) {
		memset(sel, 1, count);
		return NMIG_OK;
	}
	if (!strchr(range, ':')) {
		nmig_error_set(NMIG_EUSAGE, "invalid range '%s'", range);
		nmig_error_hint(
		    "write A:B (from A, excluded, to B); either "
		    "side may be empty, e.g. -r 2026:  or  -r :head");
		return NMIG_EUSAGE;
	}
	rc = nmig_range_parse(range, &from, &to);
	if (rc)
		goto cleanup;
	if (to && *to) {
		rc = nmig_target_resolve(graph, applied, NMIG_UP, to, &nodes,
					 &nn);
		if (rc)
			goto cleanup;
		nmig_graph_mark_ancestors(graph, nodes, nn, sel);
		free(nodes);
		nodes = NULL;
	} else {
		memset(sel, 1, count);
	}
	if (from && *from) {
		excl = calloc(count ? count : 1, 1);
		if (!excl) {
			rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
		rc = nmig_target_resolve(graph, applied, NMIG_UP, from, &nodes,
					 &nn);
		if (rc)
			goto cleanup;
		nmig_graph_mark_ancestors(graph, nodes, nn, excl);
		for (i = 0; i < count; i++)
			if (excl[i])
				sel[i] = 0;
	}
cleanup:
	free(nodes);
	free(excl);
	free(from);
	free(to);
	return rc;
}

/* gv_marks_read: see graphview.h. */
int gv_marks_read(struct gv_marks *out, struct cli_global *g,
		  struct nmig_graph *graph)
{
	size_t count = nmig_graph_count(graph), i, nc, j;
	const struct nmig_state_report *r;
	struct cli_db db;
	int rc, ok = 0;

	memset(out, 0, sizeof(*out));
	rc = db_attach(&db, g, graph);
	if (rc < 0) {
		cli_warnf(g, "cannot read the applied revisions: %s",
			  nmig_error_last()->message);
		goto cleanup;
	}
	if (rc == 0)
		goto cleanup;
	r = &db.report;
	out->state = malloc(count ? count : 1);
	if (!out->state ||
	    nmig_applied_init(&out->applied, graph, r->applied_ids,
			      r->napplied_ids) ||
	    !out->applied.mark) {
		cli_warnf(g, "cannot read the applied revisions: %s",
			  nmig_error_last()->message[0]
			      ? nmig_error_last()->message
			      : "out of memory");
		goto cleanup;
	}
	out->have_applied = 1;
	for (i = 0; i < count; i++) {
		const size_t *ch = nmig_graph_children(graph, i, &nc);

		if (!r->mark[i]) {
			out->state[i] = GV_PENDING;
			out->npending++;
			continue;
		}
		out->state[i] = GV_CURRENT;
		out->napplied++;
		for (j = 0; j < nc; j++)
			if (r->mark[ch[j]])
				out->state[i] = GV_APPLIED;
	}
	for (i = 0; i < r->ndirty; i++) {
		long k =
		    nmig_graph_find(graph, db.state.rows[r->dirty[i]].revision);

		if (k >= 0 && out->state[k] == GV_PENDING) {
			out->state[k] = GV_DIRTY;
			out->npending--;
			out->ndirty++;
		}
	}
	ok = 1;
cleanup:
	db_release(&db);
	if (!ok)
		gv_marks_release(out);
	return ok;
}

/* gv_marks_release: see graphview.h. */
void gv_marks_release(struct gv_marks *m)
{
	free(m->state);
	if (m->have_applied)
		nmig_applied_release(&m->applied);
	memset(m, 0, sizeof(*m));
}

/* gv_state_name: see graphview.h. */
const char *gv_state_name(int state)
{
	switch (state) {
	case GV_PENDING:
		return "pending";
	case GV_APPLIED:
		return "applied";
	case GV_CURRENT:
		return "current";
	case GV_DIRTY:
		return "dirty";
	default:
		return NULL;
	}
}

/* The colour of a state (stdout escapes, "" when colour is off). */
static const char *state_color(const struct cli_global *g, int state)
{
	switch (state) {
	case GV_APPLIED:
	case GV_CURRENT:
		return cli_c_green(g);
	case GV_DIRTY:
		return cli_c_red(g);
	default:
		return "";
	}
}

/* The lanes and the moves between two rows. */
struct lanes {
	size_t *node; /* lane k waits for node[k] */
	size_t n, cap;
	size_t *next; /* the next row of lanes, being built */
	size_t nnext;
	size_t *pos, *tgt; /* one edge per move: from lane pos to tgt */
	size_t nedge, edgecap;
	struct nmig_buf row;
};

/* Room for n lanes and 2n edges; 0 or -1. */
static int lanes_reserve(struct lanes *l, size_t n)
{
	size_t *p;

	if (n <= l->cap)
		return 0;
	n = n < 2 * l->cap ? 2 * l->cap : n + 8;
	if (!(p = realloc(l->node, n * sizeof(*p))))
		return -1;
	l->node = p;
	if (!(p = realloc(l->next, n * sizeof(*p))))
		return -1;
	l->next = p;
	if (!(p = realloc(l->pos, 2 * n * sizeof(*p))))
		return -1;
	l->pos = p;
	if (!(p = realloc(l->tgt, 2 * n * sizeof(*p))))
		return -1;
	l->tgt = p;
	l->cap = n;
	l->edgecap = 2 * n;
	return 0;
}

static void add_edge(struct lanes *l, size_t from, size_t to)
{
	l->pos[l->nedge] = from;
	l->tgt[l->nedge] = to;
	l->nedge++;
}

/* Put c at cell i of the row, widening it; '/' meeting '\' is 'X'. */
static void put_cell(struct nmig_buf *row, size_t i, char c)
{
	while (row->len <= i)
		nmig_buf_putc(row, ' ');
	if (nmig_buf_oom(row))
		return;
	if (row->ptr[i] != ' ' && row->ptr[i] != c)
		c = 'X';
	row->ptr[i] = c;
}

/*
 * Draw the moves in l's edges, one column per row, until every edge is at
 * its target; nothing when no edge moves. Then the next row of lanes
 * becomes the current one.
 */
static void draw_moves(FILE *out, struct lanes *l)
{
	size_t e;
	int moving = 1;

	while (moving) {
		moving = 0;
		for (e = 0; e < l->nedge; e++)
			if (l->pos[e] != l->tgt[e])
				moving = 1;
		if (!moving)
			break;
		nmig_buf_clear(&l->row);
		for (e = 0; e < l->nedge; e++) {
			if (l->pos[e] == l->tgt[e]) {
				put_cell(&l->row, 2 * l->pos[e], '|');
			} else if (l->tgt[e] < l->pos[e]) {
				put_cell(&l->row, 2 * l->pos[e] - 1, '/');
				l->pos[e]--;
			} else {
				put_cell(&l->row, 2 * l->pos[e] + 1, '\\');
				l->pos[e]++;
			}
		}
		fprintf(out, "%s\n", l->row.ptr);
	}
	memcpy(l->node, l->next, l->nnext * sizeof(*l->node));
	l->n = l->nnext;
	l->nedge = 0;
}

/* The text of node i's row after its lanes. */
static void put_label(FILE *out, struct cli_global *g,
		      const struct nmig_graph *graph, size_t i,
		      const struct gv_marks *marks)
{
	const struct nmig_revision *r = nmig_graph_rev(graph, i);
	int st = marks->state ? marks->state[i] : 0;
	size_t np, nc;

	nmig_graph_parents(graph, i, &np);
	nmig_graph_children(graph, i, &nc);
	fprintf(out, "%s%s%s", cli_c_yellow(g), r->id, cli_c_reset(g));
	if (nc == 0)
		fprintf(out, " %s(head)%s", cli_c_bold(g), cli_c_reset(g));
	if (np == 0)
		fputs(" (base)", out);
	if (nc > 1)
		fputs(" (branchpoint)", out);
	if (np > 1)
		fputs(" (mergepoint)", out);
	if (st)
		fprintf(out, " %s(%s)%s", state_color(g, st), gv_state_name(st),
			cli_c_reset(g));
	fputc(' ', out);
	cli_put_safe(out, r->message);
	fputc('\n', out);
}

/* gv_draw_lanes: see graphview.h. */
int gv_draw_lanes(FILE *out, struct cli_global *g,
		  const struct nmig_graph *graph, const unsigned char *sel,
		  const struct gv_marks *marks)
{
	size_t count = nmig_graph_count(graph), i, k, c, j;
	struct lanes l;
	int rc = -1;

	memset(&l, 0, sizeof(l));
	nmig_buf_init(&l.row);
	for (i = count; i-- > 0;) {
		const struct nmig_revision *r = nmig_graph_rev(graph, i);
		int st = marks->state ? marks->state[i] : 0;

		if (!sel[i])
			continue;
		/* the lanes waiting for i join the leftmost of them */
		if (lanes_reserve(&l, l.n + 1 + r->nparents))
			goto cleanup;
		c = SIZE_MAX;
		l.nnext = 0;
		for (k = 0; k < l.n; k++) {
			if (l.node[k] == i && c != SIZE_MAX) {
				add_edge(&l, k, c);
				continue;
			}
			if (l.node[k] == i)
				c = l.nnext;
			add_edge(&l, k, l.nnext);
			l.next[l.nnext++] = l.node[k];
		}
		draw_moves(out, &l);
		if (c == SIZE_MAX) {
			c = l.n;
			l.node[l.n++] = i;
		}
		/* the revision's row */
		nmig_buf_clear(&l.row);
		for (k = 0; k < l.n; k++)
			nmig_buf_puts(&l.row, k == c ? "* " : "| ");
		if (nmig_buf_oom(&l.row))
			goto cleanup;
		fprintf(out, "%.*s%s*%s%s", (int)(2 * c), l.row.ptr,
			state_color(g, st), st ? cli_c_reset(g) : "",
			l.row.ptr + 2 * c + 1);
		put_label(out, g, graph, i, marks);
		/* its parents take its lane, a merge fanning out right */
		l.nnext = 0;
		for (k = 0; k < c; k++) {
			add_edge(&l, k, k);
			l.next[l.nnext++] = l.node[k];
		}
		for (j = 0; j < r->nparents; j++) {
			long p = nmig_graph_find(graph, r->parents[j]);

			if (p < 0 || !sel[p])
				continue;
			add_edge(&l, c, l.nnext);
			l.next[l.nnext++] = (size_t)p;
		}
		for (k = c + 1; k < l.n; k++) {
			add_edge(&l, k, l.nnext);
			l.next[l.nnext++] = l.node[k];
		}
		draw_moves(out, &l);
	}
	rc = nmig_buf_oom(&l.row) ? -1 : 0;
cleanup:
	free(l.node);
	free(l.next);
	free(l.pos);
	free(l.tgt);
	nmig_buf_release(&l.row);
	return rc;
}

/* gv_view_load: see graphview.h. */
int gv_view_load(struct gv_view *v, struct cli_global *g, const char *range)
{
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = cli_load_graph(g, &v->set, &v->graph)))
		return rc;
	gv_marks_read(&v->marks, g, v->graph);
	v->sel = calloc(nmig_graph_count(v->graph) + 1, 1);
	if (!v->sel) {
		nmig_error_set(NMIG_ENOMEM, "out of memory");
		return cli_report_error(g);
	}
	if (gv_select_range(v->graph,
			    v->marks.have_applied ? &v->marks.applied : NULL,
			    range, v->sel))
		return cli_report_error(g);
	return NMIG_EXIT_OK;
}

/* gv_view_release: see graphview.h. */
void gv_view_release(struct gv_view *v)
{
	free(v->sel);
	gv_marks_release(&v->marks);
	if (v->graph)
		nmig_graph_free(v->graph);
	nmig_revset_release(&v->set);
	memset(v, 0, sizeof(*v));
}
