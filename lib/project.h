/*
 * A project's migrations in one call: the revision files of a directory,
 * read through the plan cache (cache.h; it only ever speeds things up),
 * and the revision graph built from them. What an application embedding
 * nmig loads first, before asking the database anything.
 */
#ifndef NMIG_PROJECT_H
#define NMIG_PROJECT_H

#include "diag.h"
#include "graph.h"
#include "revfile.h"

struct nmig_project_opts {
	const char *dir;   /* the migrations directory (NULL: "migrations") */
	const char *cache; /* the plan cache file (NULL: .nmig/cache.db
			    * beside dir) */
	int no_cache;	   /* read every file, use no cache */
};

struct nmig_project {
	struct nmig_revset set;	  /* the revision files */
	struct nmig_graph *graph; /* NULL until loaded */
};

/*
 * Load o->dir into out: files (through the cache unless o->no_cache),
 * then the graph. Findings (warnings, and the errors of bad files or a bad
 * graph) go to diags. Returns NMIG_OK; NMIG_EINPUT when dir is missing or
 * not a directory; the code of the first error finding (NMIG_EINPUT,
 * NMIG_EGRAPH) when a file or the graph is bad. Release out in every case.
 */
int nmig_project_load(struct nmig_project *out,
		      const struct nmig_project_opts *o,
		      struct nmig_diags *diags);
void nmig_project_release(struct nmig_project *p);

#endif
