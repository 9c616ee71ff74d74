/*
 * The revision graph (see graph.h). Building it hashes the ids into an
 * open-addressing table, resolves each revision's parent ids to nodes,
 * reports every duplicate id, missing parent, self-loop and cycle, then
 * orders the nodes with Kahn's algorithm driven by a binary min-heap on
 * the ids, so that parents come before children and ties are broken by
 * nmig_id_cmp. Nodes are then renumbered by that plan order and the
 * parent and child lists are kept in compressed arrays, sorted ascending.
 * Every step is linear in revisions plus parent links, apart from the heap
 * (n log n); nothing recurses, so 100,000-deep chains are fine.
 */
#include "graph.h"

#include "buf.h"
#include "error.h"
#include "hashmap.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How many cycle members an error message spells out before eliding. */
#define CYCLE_SHOWN 16
/* How many files a cycle hint names. */
#define CYCLE_FILES 4

struct nmig_graph {
	size_t n;
	const struct nmig_revision **revs; /* by plan position */
	size_t *poff, *par; /* parents of i: par[poff[i] .. poff[i + 1]) */
	size_t *coff, *chi; /* children, likewise */
	struct nmig_hashmap ids; /* id -> plan position */
	size_t *heads, nheads;
	size_t *bases, nbases;
	size_t *branch, nbranch;
	size_t *merge, nmerge;
};

/*
 * The state of one build. Indices here are positions in set->revs (the
 * "original" numbering) until the nodes are renumbered at the end.
 */
struct build {
	const struct nmig_revset *set;
	struct nmig_diags *diags;
	int failed; /* a graph problem was reported */
	size_t n;
	struct nmig_hashmap ids; /* id -> original index */
	unsigned char *dup;  /* 1: duplicate id, left out of the graph */
	size_t *eoff, *edge; /* resolved parents, original indices */
	size_t *indeg;	     /* parents not yet placed (Kahn) */
	size_t *coff, *chi;  /* children, original indices */
	size_t *order;	     /* plan position -> original index */
	size_t nordered;
};

/* Original index of the revision with this id, or SIZE_MAX. */
static size_t build_lookup(const struct build *b, const char *id)
{
	size_t i;

	return nmig_hashmap_get(&b->ids, id, &i) ? i : SIZE_MAX;
}


static int oom(void)
{
	return nmig_error_set(NMIG_ENOMEM, "out of memory");
}

/*
 * Report one graph problem: append it to the diagnostics and, for the
 * first one, make it the last error. msg and hint are finished text.
 */
static void problem(struct build *b, const char *rule, const char *file,
		    const struct nmig_buf *msg, const struct nmig_buf *hint)
{
	if (!b->failed) {
		nmig_error_set(NMIG_EGRAPH, "%s", msg->ptr);
		if (file)
			nmig_error_location(file, 0, 0, NULL);
		if (hint && hint->len)
			nmig_error_hint("%s", hint->ptr);
		b->failed = 1;
	}
	if (b->diags) {
		struct nmig_diag *d =
		    nmig_diags_add(b->diags, NMIG_SEV_ERROR, NMIG_EGRAPH, rule,
				   file, 0, 0, "%s", msg->ptr);

		if (d && hint && hint->len)
			nmig_diag_set_hint(d, "%s", hint->ptr);
	}
}

/* The same, with the message and hint given as formats. */
static void problemf(struct build *b, const char *rule, const char *file,
		     const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void problemf(struct build *b, const char *rule, const char *file,
		     const char *hint, const char *fmt, ...)
{
	struct nmig_buf msg = NMIG_BUF_INIT, h = NMIG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	nmig_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (hint)
		nmig_buf_puts(&h, hint);
	problem(b, rule, file, &msg, &h);
	nmig_buf_release(&msg);
	nmig_buf_release(&h);
}

/* Hash every id; a second revision with a taken id is a duplicate. */
static int hash_ids(struct build *b)
{
	const struct nmig_revision *revs = b->set->revs;
	size_t i;

	b->dup = calloc(b->n ? b->n : 1, 1);
	if (!b->dup || nmig_hashmap_reserve(&b->ids, b->n))
		return oom();
	for (i = 0; i < b->n; i++) {
		size_t at;

		if (nmig_hashmap_put(&b->ids, revs[i].id, i, &at)) {
			const struct nmig_revision *first = &revs[at];

			b->dup[i] = 1;
			problemf(b, "graph-duplicate", revs[i].up.path,
				 "give one of them a new id (rename the "
				 "files); ids must be unique",
				 "duplicate revision id '%s': '%s' and '%s'",
				 revs[i].id,
				 first->up.path ? first->up.path : "?",
				 revs[i].up.path ? revs[i].up.path : "?");
			continue;
		}
	}
	return NMIG_OK;
}

/*
 * Resolve parent ids to original indices. Missing parents, self-loops and
 * a parent named twice are reported and the link left out.
 */
static int resolve_parents(struct build *b)
{
	const struct nmig_revision *revs = b->set->revs;
	size_t i, k, total = 0, ne = 0;
	size_t *seen = NULL; /* seen[j] == i + 1: j already a parent of i */
	int rc = NMIG_OK;

	for (i = 0; i < b->n; i++)
		total += revs[i].nparents;
	b->eoff = malloc((b->n + 1) * sizeof(*b->eoff));
	b->edge = malloc((total ? total : 1) * sizeof(*b->edge));
	b->indeg = calloc(b->n ? b->n : 1, sizeof(*b->indeg));
	seen = calloc(b->n ? b->n : 1, sizeof(*seen));
	if (!b->eoff || !b->edge || !b->indeg || !seen) {
		rc = oom();
		goto cleanup;
	}
	for (i = 0; i < b->n; i++) {
		const struct nmig_revision *r = &revs[i];
		const char *path = r->up.path ? r->up.path : "?";

		b->eoff[i] = ne;
		if (b->dup[i])
			continue;
		for (k = 0; k < r->nparents; k++) {
			size_t j = build_lookup(b, r->parents[k]);

			if (j == SIZE_MAX) {
				problemf(b, "graph-missing-parent", r->up.path,
					 "fix its '-- nmig:parents' line, or "
					 "restore the missing revision's files",
					 "revision '%s' ('%s') names parent "
					 "'%s' which does not exist",
					 r->id, path, r->parents[k]);
			} else if (j == i) {
				problemf(b, "graph-self-loop", r->up.path,
					 "a revision's parents must be other "
					 "revisions: fix its '-- nmig:parents' "
					 "line",
					 "revision '%s' ('%s') names itself as "
					 "parent",
					 r->id, path);
			} else if (seen[j] == i + 1) {
				problemf(b, "graph-duplicate-parent",
					 r->up.path,
					 "name each parent once in its "
					 "'-- nmig:parents' line",
					 "revision '%s' ('%s') names parent "
					 "'%s' twice",
					 r->id, path, r->parents[k]);
			} else {
				seen[j] = i + 1;
				b->edge[ne++] = j;
				b->indeg[i]++;
			}
		}
	}
	b->eoff[b->n] = ne;

cleanup:
	free(seen);
	return rc;
}

/*
 * Compressed child lists from the parent links: children of j are
 * chi[coff[j] .. coff[j + 1]), in ascending original index.
 */
static int invert_links(size_t n, const size_t *eoff, const size_t *edge,
			size_t **coff_out, size_t **chi_out)
{
	size_t ne = eoff[n], i, k;
	size_t *coff = calloc(n + 1, sizeof(*coff));
	size_t *fill = malloc((n ? n : 1) * sizeof(*fill));
	size_t *chi = malloc((ne ? ne : 1) * sizeof(*chi));

	if (!coff || !fill || !chi) {
		free(coff);
		free(fill);
		free(chi);
		return oom();
	}
	for (k = 0; k < ne; k++)
		coff[edge[k] + 1]++;
	for (i = 0; i < n; i++)
		coff[i + 1] += coff[i];
	memcpy(fill, coff, n * sizeof(*fill));
	for (i = 0; i < n; i++)
		for (k = eoff[i]; k < eoff[i + 1]; k++)
			chi[fill[edge[k]]++] = i;
	free(fill);
	*coff_out = coff;
	*chi_out = chi;
	return NMIG_OK;
}

/* Heap order: the smaller id first; equal ids (never in a valid graph)
 * by index so the order stays deterministic. */
static int heap_less(const struct nmig_revision *revs, size_t a, size_t b)
{
	int c = nmig_id_cmp(revs[a].id, revs[b].id);

	return c < 0 || (c == 0 && a < b);
}

static void heap_push(size_t *heap, size_t *len,
		      const struct nmig_revision *revs, size_t v)
{
	size_t i = (*len)++;

	while (i > 0) {
		size_t up = (i - 1) / 2;

		if (!heap_less(revs, v, heap[up]))
			break;
		heap[i] = heap[up];
		i = up;
	}
	heap[i] = v;
}

static size_t heap_pop(size_t *heap, size_t *len,
		       const struct nmig_revision *revs)
{
	size_t top = heap[0], last = heap[--*len], i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m;

		if (l >= *len)
			break;
		m = l;
		if (l + 1 < *len && heap_less(revs, heap[l + 1], heap[l]))
			m = l + 1;
		if (!heap_less(revs, heap[m], last))
			break;
		heap[i] = heap[m];
		i = m;
	}
	if (*len)
		heap[i] = last;
	return top;
}

/* Kahn's algorithm: b->order gets the nodes that are not on or behind a
 * cycle, parents first, ties broken by id. */
static int topo_order(struct build *b)
{
	const struct nmig_revision *revs = b->set->revs;
	size_t *heap = NULL, len = 0, i, k;
	int rc;

	rc = invert_links(b->n, b->eoff, b->edge, &b->coff, &b->chi);
	if (rc)
		return rc;
	heap = malloc((b->n ? b->n : 1) * sizeof(*heap));
	b->order = malloc((b->n ? b->n : 1) * sizeof(*b->order));
	if (!heap || !b->order) {
		free(heap);
		return oom();
	}
	for (i = 0; i < b->n; i++)
		if (!b->dup[i] && b->indeg[i] == 0)
			heap_push(heap, &len, revs, i);
	while (len) {
		size_t v = heap_pop(heap, &len, revs);

		b->order[b->nordered++] = v;
		for (k = b->coff[v]; k < b->coff[v + 1]; k++) {
			size_t c = b->chi[k];

			if (--b->indeg[c] == 0)
				heap_push(heap, &len, revs, c);
		}
	}
	free(heap);
	return NMIG_OK;
}

/*
 * Report one cycle: path[0..len) was walked from child to parent and
 * closes on itself (the parent of path[len - 1] is path[0]). The message
 * lists it parent -> child, starting at its smallest id.
 */
static void report_cycle(struct build *b, const size_t *path, size_t len)
{
	const struct nmig_revision *revs = b->set->revs;
	struct nmig_buf msg = NMIG_BUF_INIT, hint = NMIG_BUF_INIT;
	size_t start = 0, i, shown;

	for (i = 1; i < len; i++)
		if (nmig_id_cmp(revs[path[i]].id, revs[path[start]].id) < 0)
			start = i;
	/* Walking path backwards from start goes parent -> child. */
	nmig_buf_puts(&msg, "cycle: ");
	shown = len <= CYCLE_SHOWN ? len : CYCLE_SHOWN;
	for (i = 0; i < shown; i++) {
		size_t at = (start + len - i) % len;

		nmig_buf_printf(&msg, "%s -> ", revs[path[at]].id);
	}
	if (shown < len)
		nmig_buf_printf(&msg, "... (%zu more) -> ", len - shown);
	nmig_buf_puts(&msg, revs[path[start]].id);

	nmig_buf_puts(&hint, "a revision's parents must be older revisions: "
			     "fix the '-- nmig:parents' line of one of ");
	for (i = 0; i < len && i < CYCLE_FILES; i++) {
		const char *p = revs[path[(start + len - i) % len]].up.path;

		nmig_buf_printf(&hint, "%s'%s'", i ? ", " : "", p ? p : "?");
	}
	if (len > CYCLE_FILES)
		nmig_buf_puts(&hint, ", ...");
	problem(b, "graph-cycle", revs[path[start]].up.path, &msg, &hint);
	nmig_buf_release(&msg);
	nmig_buf_release(&hint);
}

/*
 * The nodes Kahn could not place lie on cycles or behind them; each has a
 * parent that is also unplaced. Walk parent links from each unvisited one
 * until the walk meets itself (a new cycle, reported) or an earlier walk
 * (nothing new). Every node is visited once, so this is linear, and the
 * cycles reported are disjoint.
 */
static int report_cycles(struct build *b)
{
	size_t *walk = NULL, *at = NULL, *path = NULL, w = 0, i;
	int rc = NMIG_OK;

	walk = calloc(b->n, sizeof(*walk)); /* walk number + 1; 0 unseen */
	at = malloc(b->n * sizeof(*at));    /* position in path */
	path = malloc(b->n * sizeof(*path));
	if (!walk || !at || !path) {
		rc = oom();
		goto cleanup;
	}
	for (i = 0; i < b->n; i++) {
		size_t u = i, len = 0;

		if (b->dup[i] || b->indeg[i] == 0 || walk[i])
			continue;
		w++;
		while (!walk[u]) {
			size_t k;

			walk[u] = w;
			at[u] = len;
			path[len++] = u;
			for (k = b->eoff[u]; k < b->eoff[u + 1]; k++)
				if (b->indeg[b->edge[k]])
					break;
			u = b->edge[k]; /* an unplaced parent always exists */
		}
		if (walk[u] == w)
			report_cycle(b, path + at[u], len - at[u]);
	}

cleanup:
	free(walk);
	free(at);
	free(path);
	return rc;
}

/* Collect the nodes whose list length satisfies want(len) into *out. */
static int collect(const size_t *off, size_t n, int (*want)(size_t),
		   size_t **out, size_t *nout)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (want(off[i + 1] - off[i]))
			k++;
	*nout = k;
	*out = malloc((k ? k : 1) * sizeof(**out));
	if (!*out)
		return oom();
	for (i = 0, k = 0; i < n; i++)
		if (want(off[i + 1] - off[i]))
			(*out)[k++] = i;
	return NMIG_OK;
}

static int is_zero(size_t len)
{
	return len == 0;
}

static int is_many(size_t len)
{
	return len >= 2;
}

/*
 * Renumber the nodes by plan position and fill g: revisions, sorted
 * parent and child lists, the id table, heads, bases, branch and merge
 * points.
 */
static int finish(struct build *b, struct nmig_graph *g)
{
	size_t n = b->n, i, k, ne = b->eoff[n];
	size_t *pos = NULL, *toff = NULL, *tpar = NULL, *fill = NULL;
	int rc = NMIG_OK;

	g->n = n;
	g->revs = malloc((n ? n : 1) * sizeof(*g->revs));
	pos = malloc((n ? n : 1) * sizeof(*pos));
	toff = malloc((n + 1) * sizeof(*toff));
	tpar = malloc((ne ? ne : 1) * sizeof(*tpar));
	fill = malloc((n ? n : 1) * sizeof(*fill));
	if (!g->revs || !pos || !toff || !tpar || !fill) {
		rc = oom();
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		pos[b->order[i]] = i;
		g->revs[i] = &b->set->revs[b->order[i]];
	}
	/* Parent lists in the new numbering, not yet sorted. */
	for (i = 0, ne = 0; i < n; i++) {
		size_t o = b->order[i];

		toff[i] = ne;
		for (k = b->eoff[o]; k < b->eoff[o + 1]; k++)
			tpar[ne++] = pos[b->edge[k]];
	}
	toff[n] = ne;
	/* Children come out ascending (filled in child order), and parents
	 * come out ascending when filled back from them in parent order. */
	rc = invert_links(n, toff, tpar, &g->coff, &g->chi);
	if (rc)
		goto cleanup;
	g->poff = toff;
	g->par = tpar;
	toff = NULL;
	tpar = NULL;
	memcpy(fill, g->poff, n * sizeof(*fill));
	for (i = 0; i < n; i++)
		for (k = g->coff[i]; k < g->coff[i + 1]; k++)
			g->par[fill[g->chi[k]]++] = i;

	g->ids = b->ids;
	memset(&b->ids, 0, sizeof(b->ids));
	nmig_hashmap_renumber(&g->ids, pos);

	if ((rc = collect(g->coff, n, is_zero, &g->heads, &g->nheads)) ||
	    (rc = collect(g->poff, n, is_zero, &g->bases, &g->nbases)) ||
	    (rc = collect(g->coff, n, is_many, &g->branch, &g->nbranch)) ||
	    (rc = collect(g->poff, n, is_many, &g->merge, &g->nmerge)))
		goto cleanup;

cleanup:
	free(pos);
	free(toff);
	free(tpar);
	free(fill);
	return rc;
}

static void build_release(struct build *b)
{
	nmig_hashmap_release(&b->ids);
	free(b->dup);
	free(b->eoff);
	free(b->edge);
	free(b->indeg);
	free(b->coff);
	free(b->chi);
	free(b->order);
}

int nmig_graph_build(struct nmig_graph **out, const struct nmig_revset *set,
		     struct nmig_diags *diags)
{
	struct build b;
	struct nmig_graph *g = NULL;
	size_t ndup = 0, i;
	int rc;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	b.set = set;
	b.diags = diags;
	b.n = set->n;
	if ((rc = hash_ids(&b)) || (rc = resolve_parents(&b)) ||
	    (rc = topo_order(&b)))
		goto cleanup;
	for (i = 0; i < b.n; i++)
		ndup += b.dup[i];
	if (b.nordered + ndup < b.n && (rc = report_cycles(&b)))
		goto cleanup;
	if (b.failed) {
		rc = NMIG_EGRAPH;
		goto cleanup;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		rc = oom();
		goto cleanup;
	}
	rc = finish(&b, g);
	if (rc)
		goto cleanup;
	*out = g;
	g = NULL;

cleanup:
	nmig_graph_free(g);
	build_release(&b);
	return rc;
}

void nmig_graph_free(struct nmig_graph *g)
{
	if (!g)
		return;
	free(g->revs);
	free(g->poff);
	free(g->par);
	free(g->coff);
	free(g->chi);
	nmig_hashmap_release(&g->ids);
	free(g->heads);
	free(g->bases);
	free(g->branch);
	free(g->merge);
	free(g);
}

size_t nmig_graph_count(const struct nmig_graph *g)
{
	return g->n;
}

const struct nmig_revision *nmig_graph_rev(const struct nmig_graph *g, size_t i)
{
	return i < g->n ? g->revs[i] : NULL;
}

long nmig_graph_find(const struct nmig_graph *g, const char *id)
{
	size_t i;

	return nmig_hashmap_get(&g->ids, id, &i) ? (long)i : -1;
}

const size_t *nmig_graph_parents(const struct nmig_graph *g, size_t i,
				 size_t *n)
{
	*n = g->poff[i + 1] - g->poff[i];
	return g->par + g->poff[i];
}

const size_t *nmig_graph_children(const struct nmig_graph *g, size_t i,
				  size_t *n)
{
	*n = g->coff[i + 1] - g->coff[i];
	return g->chi + g->coff[i];
}

const size_t *nmig_graph_heads(const struct nmig_graph *g, size_t *n)
{
	*n = g->nheads;
	return g->heads;
}

const size_t *nmig_graph_bases(const struct nmig_graph *g, size_t *n)
{
	*n = g->nbases;
	return g->bases;
}

const size_t *nmig_graph_branchpoints(const struct nmig_graph *g, size_t *n)
{
	*n = g->nbranch;
	return g->branch;
}

const size_t *nmig_graph_mergepoints(const struct nmig_graph *g, size_t *n)
{
	*n = g->nmerge;
	return g->merge;
}

/*
 * Marks made by one call carry this bit while the sweep runs, so that
 * marks already in the array (which need not be closed) do not spread.
 */
#define SWEEP 0x80

void nmig_graph_mark_ancestors(const struct nmig_graph *g, const size_t *roots,
			       size_t nroots, unsigned char *mark)
{
	size_t i, k, top = 0;

	if (!nroots)
		return;
	for (i = 0; i < nroots; i++) {
		mark[roots[i]] |= SWEEP;
		if (roots[i] > top)
			top = roots[i];
	}
	/* Parents come before children, so one backward sweep suffices. */
	for (i = top + 1; i-- > 0;) {
		if (!(mark[i] & SWEEP))
			continue;
		for (k = g->poff[i]; k < g->poff[i + 1]; k++)
			mark[g->par[k]] |= SWEEP;
		mark[i] = 1;
	}
}

void nmig_graph_mark_descendants(const struct nmig_graph *g,
				 const size_t *roots, size_t nroots,
				 unsigned char *mark)
{
	size_t i, k, low = SIZE_MAX;

	for (i = 0; i < nroots; i++) {
		mark[roots[i]] |= SWEEP;
		if (roots[i] < low)
			low = roots[i];
	}
	for (i = low; i < g->n; i++) {
		if (!(mark[i] & SWEEP))
			continue;
		for (k = g->coff[i]; k < g->coff[i + 1]; k++)
			mark[g->chi[k]] |= SWEEP;
		mark[i] = 1;
	}
}

size_t nmig_graph_marked_heads(const struct nmig_graph *g,
			       const unsigned char *mark, size_t *out)
{
	size_t n = 0, count = nmig_graph_count(g), i, j, nc;
	const size_t *ch;

	for (i = 0; i < count; i++) {
		int head = 1;

		if (!mark[i])
			continue;
		ch = nmig_graph_children(g, i, &nc);
		for (j = 0; j < nc && head; j++)
			if (mark[ch[j]])
				head = 0;
		if (head)
			out[n++] = i;
	}
	return n;
}
