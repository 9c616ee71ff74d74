/*
 * nmig merge: create a revision whose parents are the given revisions, or
 * all heads, joining branches back into one line. The merge itself runs no
 * SQL: its up file is the header and its down file a comment, so it is
 * reversible. At least two distinct parents are needed, none an ancestor
 * of another (that would not join anything).
 */
#include "commands.h"
#include "newrev.h"

#include "error.h"
#include "plan.h"

#include <stdlib.h>
#include <string.h>

/*
 * Refuse a parent that is an ancestor of another parent: mark the strict
 * ancestors of all parents at once (linear), then look at the parents.
 */
static int check_independent(const struct nmig_graph *graph,
			     const size_t *nodes, size_t n)
{
	size_t count = nmig_graph_count(graph), i, j, np, total = 0;
	unsigned char *mark = calloc(count ? count : 1, 1);
	size_t *roots = NULL;
	const size_t *ps;
	int rc = NMIG_OK;

	if (!mark)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		nmig_graph_parents(graph, nodes[i], &np);
		total += np;
	}
	roots = malloc((total ? total : 1) * sizeof(*roots));
	if (!roots) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0, total = 0; i < n; i++) {
		ps = nmig_graph_parents(graph, nodes[i], &np);
		for (j = 0; j < np; j++)
			roots[total++] = ps[j];
	}
	nmig_graph_mark_ancestors(graph, roots, total, mark);
	for (i = 0; i < n; i++) {
		const struct nmig_revision *r;

		if (!mark[nodes[i]])
			continue;
		r = nmig_graph_rev(graph, nodes[i]);
		rc = nmig_error_set(NMIG_EUSAGE,
				    "revision '%s' is an ancestor of another "
				    "revision to merge",
				    r->id);
		nmig_error_hint("a merge joins revisions on different "
				"branches; leave '%s' out",
				r->id);
		break;
	}
cleanup:
	free(roots);
	free(mark);
	return rc;
}

/* The default message: "merge a and b", "merge a, b and c". */
static void default_message(struct nmig_buf *b, const char *const *ids,
			    size_t n)
{
	size_t i;

	nmig_buf_puts(b, "merge ");
	for (i = 0; i < n; i++)
		nmig_buf_printf(b, "%s%s",
				i == 0 ? "" : (i + 1 == n ? " and " : ", "),
				ids[i]);
}

int cmd_merge(struct cli_global *g, int argc, char **argv)
{
	const char *message = NULL, *rev_id = NULL;
	const struct cli_opt opts[] = {
	    {'m', "message", "MSG", "message (default: merge <id> and <id>)",
	     &message, NULL, NULL, NULL},
	    {0, "rev-id", "ID", "use ID instead of the UTC time", &rev_id, NULL,
	     NULL, NULL},
	    {0, "json", NULL, "print {\"id\", \"up\", \"down\"} as JSON", NULL,
	     &g->json, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "merge",
	    "[REV...]",
	    "Create a merge revision whose parents are the given revisions "
	    "(ids,\nprefixes, 'heads'), or all heads when none are given. "
	    "It needs two or\nmore revisions on different branches. The "
	    "merge runs no SQL and can\nbe undone. Prints the paths of the "
	    "new files.",
	    opts,
	    "nmig merge                       # join all heads\n"
	    "nmig merge -m \"join index work\" 20261126091000 "
	    "20261126092000",
	};
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	struct nmig_buf msg = NMIG_BUF_INIT, up = NMIG_BUF_INIT;
	struct nmig_buf down = NMIG_BUF_INIT;
	const char **pids = NULL;
	size_t *nodes = NULL, n = 0, i;
	char id[NMIG_NEWREV_ID_MAX], date[32];
	char *slug = NULL, *up_path = NULL, *down_path = NULL;
	int rc, exit_code = NMIG_EXIT_OK;

	memset(&set, 0, sizeof(set));
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (message && cli_newrev_check_message(message))
		return cli_report_error(g);
	exit_code = cli_load_graph(g, &set, &graph);
	if (exit_code)
		goto cleanup;
	rc = cli_newrev_resolve(graph, (const char *const *)argv + 1,
				(size_t)(argc > 1 ? argc - 1 : 0), 1, &nodes,
				&n);
	if (rc)
		goto fail;
	if (n < 2) {
		if (argc > 1) {
			rc = nmig_error_set(NMIG_EUSAGE,
					    "a merge needs two or more "
					    "distinct revisions");
			nmig_error_hint("name the heads to join, e.g. 'nmig "
					"merge A B', or run 'nmig heads'");
		} else {
			rc = nmig_error_set(NMIG_ERROR,
					    "nothing to merge: there %s",
					    n ? "is a single head"
					      : "are no "
						"revisions");
			if (n)
				nmig_error_detail(
				    "head: %s",
				    nmig_graph_rev(graph, nodes[0])->id);
		}
		goto fail;
	}
	rc = check_independent(graph, nodes, n);
	if (rc)
		goto fail;
	pids = malloc(n * sizeof(*pids));
	if (!pids) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++)
		pids[i] = nmig_graph_rev(graph, nodes[i])->id;
	if (message)
		nmig_buf_puts(&msg, message);
	else
		default_message(&msg, pids, n);
	if (rev_id) {
		rc = cli_newrev_check_id(graph, rev_id);
		if (!rc && strlen(rev_id) >= sizeof(id))
			rc = nmig_error_set(NMIG_EUSAGE,
					    "the revision id '%s' is longer "
					    "than %zu characters",
					    rev_id, sizeof(id) - 1);
		if (rc)
			goto fail;
		snprintf(id, sizeof(id), "%s", rev_id);
	} else {
		cli_newrev_make_id(graph, cli_newrev_now(date), id);
	}
	slug = cli_newrev_slug(msg.ptr);
	nmig_buf_puts(&up, "-- nmig:parents");
	for (i = 0; i < n; i++)
		nmig_buf_printf(&up, " %s", pids[i]);
	nmig_buf_printf(&up,
			"\n-- nmig:message %s\n\n"
			"-- Merge point: joins the branches above. It runs no "
			"SQL.\n",
			msg.ptr);
	nmig_buf_printf(&down,
			"-- Undo the merge %s: nothing to run; the branches "
			"stay as they are.\n",
			id);
	if (!slug || nmig_buf_oom(&msg) || nmig_buf_oom(&up) ||
	    nmig_buf_oom(&down)) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto fail;
	}
	rc = cli_newrev_write(g->cfg.dir, id, slug, up.ptr, down.ptr, &up_path,
			      &down_path);
	if (rc)
		goto fail;
	cli_newrev_print(g, id, msg.ptr, pids, n, up_path, down_path);
	goto cleanup;
fail:
	exit_code = cli_report_error(g);
cleanup:
	free(nodes);
	free(pids);
	free(slug);
	free(up_path);
	free(down_path);
	nmig_buf_release(&msg);
	nmig_buf_release(&up);
	nmig_buf_release(&down);
	if (graph)
		nmig_graph_free(graph);
	nmig_revset_release(&set);
	return exit_code;
}
