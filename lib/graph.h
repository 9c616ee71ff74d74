/*
 * The revision graph: a DAG built from a revset. Nodes are numbered by the
 * plan order -- the deterministic topological order (parents before
 * children, ties broken by nmig_id_cmp on the id) -- so "plan order" is
 * simply index order 0..n-1 and every walk is linear in the size of the
 * graph. Marks are arrays of n unsigned chars indexed the same way.
 */
#ifndef NMIG_GRAPH_H
#define NMIG_GRAPH_H

#include <stddef.h>

#include "diag.h"
#include "revfile.h"

struct nmig_graph;

/*
 * Build the graph from set, which must outlive it (the graph points at its
 * revisions). Duplicate ids, missing parents, self-loops and cycles are
 * errors naming the files involved (a cycle lists its members); all of
 * them go to diags (may be NULL) and the first is returned (NMIG_EGRAPH)
 * with the last error set.
 */
int nmig_graph_build(struct nmig_graph **out, const struct nmig_revset *set,
		     struct nmig_diags *diags);
void nmig_graph_free(struct nmig_graph *g);

size_t nmig_graph_count(const struct nmig_graph *g);
/* The revision at plan position i (0 <= i < count). */
const struct nmig_revision *nmig_graph_rev(const struct nmig_graph *g,
					   size_t i);
/* Plan position of the revision with exactly this id, or -1. O(1) average. */
long nmig_graph_find(const struct nmig_graph *g, const char *id);

/* Parents / children of node i as plan positions, ascending. */
const size_t *nmig_graph_parents(const struct nmig_graph *g, size_t i,
				 size_t *n);
const size_t *nmig_graph_children(const struct nmig_graph *g, size_t i,
				  size_t *n);

/* Heads (no children), bases (no parents), branch points (2+ children),
 * merge points (2+ parents), each in plan order. */
const size_t *nmig_graph_heads(const struct nmig_graph *g, size_t *n);
const size_t *nmig_graph_bases(const struct nmig_graph *g, size_t *n);
const size_t *nmig_graph_branchpoints(const struct nmig_graph *g, size_t *n);
const size_t *nmig_graph_mergepoints(const struct nmig_graph *g, size_t *n);

/*
 * The heads of a marked set (mark: graph count entries, 1 = in the set):
 * the marked nodes none of whose children is marked, e.g. the applied
 * revisions a database is "at". Writes them in plan order into out (room
 * for graph count entries) and returns how many.
 */
size_t nmig_graph_marked_heads(const struct nmig_graph *g,
			       const unsigned char *mark, size_t *out);

/*
 * Set mark[i] = 1 for every ancestor of the nodes in roots, roots included
 * (the closure). mark must have count entries; it is not cleared first.
 */
void nmig_graph_mark_ancestors(const struct nmig_graph *g,
			       const size_t *roots, size_t nroots,
			       unsigned char *mark);
/* The same for descendants, roots included. */
void nmig_graph_mark_descendants(const struct nmig_graph *g,
				 const size_t *roots, size_t nroots,
				 unsigned char *mark);

#endif
