/*
 * Helpers shared by test_graph.c and test_plan.c: revision sets built in
 * memory from a compact text, so the graph and plan tests need no files
 * and no loader. The text is a list of entries separated by ';' (spaces
 * around entries are ignored):
 *
 *     id:parent,parent     a revision and its parents ("id:" = a root)
 *     id!:parent           the same without a down file (irreversible)
 *
 * Revision k of the text gets the files "m/<id>_r<k>.up.sql" and, unless
 * irreversible, "m/<id>_r<k>.down.sql". Everything is malloc'ed and freed
 * by revset_free(). Also here: ids of node lists joined by spaces, for
 * compact assertions.
 */
#ifndef NMIG_GRAPH_TESTLIB_H
#define NMIG_GRAPH_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "graph.h"
#include "revfile.h"

/* Abort the test binary on allocation failure: tests are not about OOM. */
static inline void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

static inline char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static inline char *xprintf_path(const char *id, size_t k, const char *kind)
{
	size_t len = strlen(id) + 64;
	char *p = xmalloc(len);

	snprintf(p, len, "m/%s_r%zu.%s.sql", id, k, kind);
	return p;
}

/* Fill rev from an id and its parents (copied). */
static inline void rev_fill(struct nmig_revision *rev, size_t k, const char *id,
			    size_t idlen, const char *const *parents,
			    const size_t *plens, size_t nparents,
			    int reversible)
{
	size_t i;

	memset(rev, 0, sizeof(*rev));
	rev->id = xstrndup(id, idlen);
	rev->slug = xstrndup("r", 1);
	rev->message = xstrndup("test revision", 13);
	rev->parents = xmalloc(nparents * sizeof(*rev->parents));
	for (i = 0; i < nparents; i++)
		rev->parents[i] = xstrndup(parents[i], plens[i]);
	rev->nparents = nparents;
	rev->parents_explicit = 1;
	rev->transactional = 1;
	rev->up.path = xprintf_path(rev->id, k, "up");
	if (reversible)
		rev->down.path = xprintf_path(rev->id, k, "down");
}

static inline void rev_free(struct nmig_revision *rev)
{
	size_t i;

	free(rev->id);
	free(rev->slug);
	free(rev->message);
	for (i = 0; i < rev->nparents; i++)
		free(rev->parents[i]);
	free(rev->parents);
	free(rev->up.path);
	free(rev->down.path);
	memset(rev, 0, sizeof(*rev));
}

static inline void revset_free(struct nmig_revset *set)
{
	size_t i;

	if (set->pool) {
		/* loaded by nmig_revset_load: its strings are in its pool */
		nmig_revset_release(set);
		return;
	}
	for (i = 0; i < set->n; i++)
		rev_free(&set->revs[i]);
	free(set->revs);
	free(set->dir);
	memset(set, 0, sizeof(*set));
}

/* Parse the compact text described above into set. */
static inline void revset_parse(struct nmig_revset *set, const char *text)
{
	size_t cap = 1, k = 0;
	const char *p;

	for (p = text; *p; p++)
		cap += *p == ';';
	memset(set, 0, sizeof(*set));
	set->dir = xstrndup("m", 1);
	set->revs = xmalloc(cap * sizeof(*set->revs));
	p = text;
	while (*p) {
		const char *end = strchr(p, ';'), *colon, *q, *idend;
		const char *parents[64];
		size_t plens[64], np = 0;
		int reversible = 1;

		if (!end)
			end = p + strlen(p);
		while (p < end && *p == ' ')
			p++;
		if (p == end) {
			p = *end ? end + 1 : end;
			continue;
		}
		colon = memchr(p, ':', (size_t)(end - p));
		if (!colon) {
			fprintf(stderr, "bad revset text near '%s'\n", p);
			abort();
		}
		idend = colon;
		if (idend > p && idend[-1] == '!') {
			reversible = 0;
			idend--;
		}
		for (q = colon + 1; q < end;) {
			const char *c = q;

			while (c < end && *c != ',' && *c != ' ')
				c++;
			if (c > q) {
				parents[np] = q;
				plens[np++] = (size_t)(c - q);
			}
			q = c + 1;
		}
		rev_fill(&set->revs[k], k, p, (size_t)(idend - p), parents,
			 plens, np, reversible);
		k++;
		p = *end ? end + 1 : end;
	}
	set->n = k;
}

/* The ids of nodes[0..n) joined by single spaces (caller frees). */
static inline char *ids_of(const struct nmig_graph *g, const size_t *nodes,
			   size_t n)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		nmig_buf_printf(&b, "%s%s", i ? " " : "",
				nmig_graph_rev(g, nodes[i])->id);
	return nmig_buf_detach(&b, NULL);
}

/* The ids of every node with mark[i] set, in plan order. */
static inline char *ids_marked(const struct nmig_graph *g,
			       const unsigned char *mark)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;

	for (i = 0; i < nmig_graph_count(g); i++)
		if (mark[i])
			nmig_buf_printf(&b, "%s%s", b.len ? " " : "",
					nmig_graph_rev(g, i)->id);
	return nmig_buf_detach(&b, NULL);
}

/* The whole plan order as ids joined by spaces. */
static inline char *ids_all(const struct nmig_graph *g)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;

	for (i = 0; i < nmig_graph_count(g); i++)
		nmig_buf_printf(&b, "%s%s", i ? " " : "",
				nmig_graph_rev(g, i)->id);
	return nmig_buf_detach(&b, NULL);
}

/*
 * A synthetic history of n revisions with zero-padded numeric ids 1..n.
 * linear: each revision's parent is the one before. branchy: blocks of
 * ten -- a fork, two arms of four, a merge of the arms -- chained
 * together; n need not be a multiple of ten (a partial block's merge is
 * just left out, leaving extra heads).
 */
static inline void revset_synthetic(struct nmig_revset *set, size_t n,
				    int branchy)
{
	size_t i;
	char id[32], pa[32], pb[32];

	memset(set, 0, sizeof(*set));
	set->dir = xstrndup("m", 1);
	set->revs = xmalloc(n * sizeof(*set->revs));
	for (i = 0; i < n; i++) {
		const char *parents[2] = {pa, pb};
		size_t plens[2], np = 0, r = i % 10;

		snprintf(id, sizeof(id), "%08zu", i + 1);
		if (!branchy || r == 0 || (r >= 2 && r <= 4) || r >= 6) {
			size_t parent = i; /* the previous id, 1-based */

			if (branchy && r == 9) {
				snprintf(pb, sizeof(pb), "%08zu", i - 4);
				parents[0] = pb;
				parents[1] = pa;
				plens[1] = (size_t)snprintf(pa, sizeof(pa),
							    "%08zu", i);
				plens[0] = strlen(pb);
				np = 2;
			} else if (i > 0) {
				plens[0] = (size_t)snprintf(pa, sizeof(pa),
							    "%08zu", parent);
				np = 1;
			}
		} else {
			/* r == 1 or r == 5: an arm starts at the fork */
			plens[0] = (size_t)snprintf(pa, sizeof(pa), "%08zu",
						    i + 1 - r);
			np = 1;
		}
		rev_fill(&set->revs[i], i, id, strlen(id), parents, plens, np,
			 1);
	}
	set->n = n;
}

#endif
