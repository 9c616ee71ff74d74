/*
 * The project loader (see project.h): the cache opened (a cache that
 * cannot be used is a warning, never a failure), the files, the graph.
 */
#include "project.h"

#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cache.h"
#include "error.h"

int nmig_project_load(struct nmig_project *out,
		      const struct nmig_project_opts *o,
		      struct nmig_diags *diags)
{
	const char *dir = o->dir ? o->dir : "migrations";
	struct nmig_buf path = NMIG_BUF_INIT;
	struct nmig_cache *cache = NULL;
	size_t errors = diags->errors;
	struct stat st;
	int err;

	memset(out, 0, sizeof(*out));
	if (stat(dir, &st) != 0) {
		err = nmig_error_set(NMIG_EINPUT,
				     "migrations directory '%s' does not exist",
				     dir);
		nmig_error_hint("create it with 'nmig init', or name it with "
				"--dir or 'dir' in nmig.conf");
		return err;
	}
	if (!S_ISDIR(st.st_mode))
		return nmig_error_set(NMIG_EINPUT,
				      "'%s' is not a directory: migrations "
				      "live in a directory",
				      dir);
	if (!o->no_cache) {
		if (o->cache)
			nmig_buf_puts(&path, o->cache);
		else
			nmig_cache_default_path(&path, dir);
		if (nmig_buf_oom(&path))
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		else
			err = nmig_cache_open(&cache, path.ptr, diags);
		nmig_buf_release(&path);
		if (err) {
			nmig_project_release(out);
			return err;
		}
	}
	err = nmig_revset_load_cached(&out->set, dir, cache, diags);
	nmig_cache_close(cache);
	if (!err && diags->errors == errors)
		err = nmig_graph_build(&out->graph, &out->set, diags);
	if (!err && diags->errors > errors &&
	    (err = nmig_diags_first_error(diags)))
		nmig_error_set(err, "the migration files have errors");
	if (err && out->graph) {
		nmig_graph_free(out->graph);
		out->graph = NULL;
	}
	return err;
}

void nmig_project_release(struct nmig_project *p)
{
	nmig_graph_free(p->graph);
	p->graph = NULL;
	nmig_revset_release(&p->set);
}
