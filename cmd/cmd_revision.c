/*
 * nmig revision: create a new revision -- an up file and a down file
 * rendered from the templates (built in, or the project's `templates`
 * directory) -- on top of the single head, of the --parent targets, or of
 * base for the first revision. The id is the UTC time, moved on while it
 * collides; the rendered header is parsed back so that a custom template
 * can never produce a file whose parents differ from what was asked.
 */
#include "commands.h"
#include "newrev.h"

#include "error.h"
#include "plan.h"
#include "template.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct parent_list {
	const char **specs;
	size_t n;
};

static int add_parent(const char *value, void *ud)
{
	struct parent_list *l = ud;
	const char **p = realloc(l->specs, (l->n + 1) * sizeof(*p));

	if (!p)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	l->specs = p;
	l->specs[l->n++] = value;
	return 0;
}

/*
 * The parents of the new revision as plan positions in plan order: the
 * --parent targets (deduplicated), else the single head, else none.
 */
static int choose_parents(const struct nmig_graph *graph,
			  const struct parent_list *l, size_t **out, size_t *n)
{
	const size_t *heads;
	size_t i, nh;

	*out = NULL;
	*n = 0;
	if (l->n == 0) {
		heads = nmig_graph_heads(graph, &nh);
		if (nh > 1) {
			struct nmig_buf ids = NMIG_BUF_INIT;

			for (i = 0; i < nh; i++)
				nmig_buf_printf(
				    &ids, "%s'%s'", i ? ", " : "",
				    nmig_graph_rev(graph, heads[i])->id);
			nmig_error_set(NMIG_EAMBIGUOUS,
				       "there are %zu heads: %s", nh, ids.ptr);
			for (i = 0; i < nh; i++) {
				const struct nmig_revision *r =
				    nmig_graph_rev(graph, heads[i]);

				nmig_error_detail("head %s: %s", r->id,
						  r->message);
			}
			nmig_error_hint("merge them first with 'nmig merge', "
					"or pass --parent");
			nmig_buf_release(&ids);
			return NMIG_EAMBIGUOUS;
		}
		if (nh == 1) {
			*out = malloc(sizeof(**out));
			if (!*out)
				return nmig_error_set(NMIG_ENOMEM,
						      "out of memory");
			(*out)[0] = heads[0];
			*n = 1;
		}
		return NMIG_OK;
	}
	return cli_newrev_resolve(graph, l->specs, l->n, 0, out, n);
}

/*
 * Read the project's template name from the templates directory, or use
 * the built-in one when the directory has no such file.
 */
static int load_template(const struct nmig_config *cfg, const char *name,
			 const char *builtin, struct nmig_buf *text,
			 struct nmig_buf *label)
{
	struct stat st;

	nmig_buf_clear(label);
	if (!cfg->templates) {
		nmig_buf_printf(label, "built-in template %s", name);
		nmig_buf_puts(text, builtin);
		return NMIG_OK;
	}
	if (stat(cfg->templates, &st) != 0 || !S_ISDIR(st.st_mode)) {
		nmig_error_set(NMIG_ECONFIG,
			       "templates directory '%s' does not exist",
			       cfg->templates);
		nmig_error_hint("create it with up.sql and down.sql, or remove "
				"'templates' from the config");
		return NMIG_ECONFIG;
	}
	nmig_buf_printf(label, "%s/%s", cfg->templates, name);
	if (stat(label->ptr, &st) != 0) {
		nmig_buf_clear(label);
		nmig_buf_printf(label, "built-in template %s", name);
		nmig_buf_puts(text, builtin);
		return NMIG_OK;
	}
	return nmig_buf_read_file(text, label->ptr, (size_t)1 << 20);
}

/*
 * Parse the header of the rendered up file back and make sure it says what
 * was asked: explicit parents, the same parents, the transaction mode.
 */
static int verify_header(const char *label, const char *text,
			 const char *const *parents, size_t nparents,
			 int transactional)
{
	struct nmig_revision rev;
	size_t i;
	int rc, ok;

	memset(&rev, 0, sizeof(rev));
	rc = nmig_revision_parse_header(&rev, label, text, strlen(text));
	if (rc) {
		nmig_error_hint("the template '%s' must start with the "
				"'-- nmig:' header lines",
				label);
		goto cleanup;
	}
	ok = rev.parents_explicit && rev.nparents == nparents &&
	     (rev.transactional != 0) == (transactional != 0);
	for (i = 0; ok && i < nparents; i++)
		ok = strcmp(rev.parents[i], parents[i]) == 0;
	if (!ok) {
		rc = nmig_error_set(NMIG_ECONFIG,
				    "the template '%s' does not write the "
				    "header nmig needs",
				    label);
		nmig_error_hint("keep the lines '-- nmig:parents {{parents}}' "
				"and '{{transaction}}' at the top of the "
				"template, before any SQL");
	}
cleanup:
	nmig_revision_release(&rev);
	return rc;
}

/* The parents as header text: ids separated by spaces, or "base". */
static void parents_text(struct nmig_buf *b, const char *const *ids, size_t n)
{
	size_t i;

	if (n == 0)
		nmig_buf_puts(b, "base");
	for (i = 0; i < n; i++)
		nmig_buf_printf(b, "%s%s", i ? " " : "", ids[i]);
}

/* The text written by --empty: the header and nothing else. */
static void empty_up(struct nmig_buf *b, const struct cli_newrev_vars *v)
{
	nmig_buf_printf(b, "-- nmig:parents %s\n-- nmig:message %s\n",
			v->parents, v->message);
	if (!v->transactional)
		nmig_buf_puts(b, "-- nmig:transaction off\n");
}

int cmd_revision(struct cli_global *g, int argc, char **argv)
{
	const char *message = NULL, *rev_id = NULL;
	int no_tx = 0, empty = 0, rc, exit_code = NMIG_EXIT_OK;
	struct parent_list plist = {NULL, 0};
	const struct cli_opt opts[] = {
	    {'m', "message", "MSG",
	     "what the revision does, one line (required)", &message, NULL,
	     NULL, NULL},
	    {0, "parent", "REV",
	     "parent revision (id, prefix, head...); repeat for several", NULL,
	     NULL, add_parent, &plist},
	    {0, "no-transaction", NULL,
	     "write '-- nmig:transaction off' (CREATE INDEX CONCURRENTLY)",
	     NULL, &no_tx, NULL, NULL},
	    {0, "rev-id", "ID", "use ID instead of the UTC time", &rev_id, NULL,
	     NULL, NULL},
	    {0, "empty", NULL, "write only the header lines, not the templates",
	     NULL, &empty, NULL, NULL},
	    {0, "json", NULL, "print {\"id\", \"up\", \"down\"} as JSON", NULL,
	     &g->json, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "revision",
	    "-m MSG",
	    "Create a new revision: <id>_<slug>.up.sql and .down.sql in the\n"
	    "migrations directory, rendered from the templates. The id is "
	    "the UTC\ntime (YYYYMMDDHHMMSS), moved on by a second while it "
	    "is taken; the\nslug comes from the message. The parent is the "
	    "single head (base for\nthe first revision) unless --parent "
	    "says otherwise. Prints the paths\nof the new files.",
	    opts,
	    "nmig revision -m \"create tasks\"\n"
	    "nmig revision -m \"index emails\" --no-transaction\n"
	    "nmig revision -m \"fix\" --parent 2026112609 --rev-id 000042",
	};
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	struct nmig_buf tmpl = NMIG_BUF_INIT, label = NMIG_BUF_INIT;
	struct nmig_buf up = NMIG_BUF_INIT, down = NMIG_BUF_INIT;
	struct nmig_buf ptext = NMIG_BUF_INIT;
	struct cli_newrev_vars vars;
	const char **pids = NULL;
	size_t *pnodes = NULL, npar = 0, i;
	char id[NMIG_NEWREV_ID_MAX], date[32];
	char *slug = NULL, *up_path = NULL, *down_path = NULL;
	long long now;

	memset(&set, 0, sizeof(set));
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc) {
		exit_code = rc == 1 ? NMIG_EXIT_OK : rc;
		goto cleanup;
	}
	if (argc > 1) {
		cli_errorf(g, "unexpected argument '%s'", argv[1]);
		cli_hintf(g, "quote the message: nmig revision -m \"...\"");
		exit_code = NMIG_EXIT_USAGE;
		goto cleanup;
	}
	if (!message) {
		cli_errorf(g, "a message is required");
		cli_hintf(g, "nmig revision -m \"what it does\"");
		exit_code = NMIG_EXIT_USAGE;
		goto cleanup;
	}
	if (cli_newrev_check_message(message)) {
		exit_code = cli_report_error(g);
		goto cleanup;
	}
	exit_code = cli_load_graph(g, &set, &graph);
	if (exit_code)
		goto cleanup;
	rc = choose_parents(graph, &plist, &pnodes, &npar);
	if (rc)
		goto fail;
	pids = calloc(npar ? npar : 1, sizeof(*pids));
	if (!pids) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < npar; i++)
		pids[i] = nmig_graph_rev(graph, pnodes[i])->id;
	now = cli_newrev_now(date);
	if (rev_id) {
		rc = cli_newrev_check_id(graph, rev_id);
		if (rc)
			goto fail;
		if (strlen(rev_id) >= sizeof(id)) {
			rc = nmig_error_set(NMIG_EUSAGE,
					    "the revision id '%s' is longer "
					    "than %zu characters",
					    rev_id, sizeof(id) - 1);
			goto fail;
		}
		snprintf(id, sizeof(id), "%s", rev_id);
	} else {
		cli_newrev_make_id(graph, now, id);
	}
	slug = cli_newrev_slug(message);
	parents_text(&ptext, pids, npar);
	if (!slug || nmig_buf_oom(&ptext)) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto fail;
	}
	vars.id = id;
	vars.slug = slug;
	vars.message = message;
	vars.parents = ptext.ptr;
	vars.transactional = !no_tx;
	vars.date = date;
	if (empty) {
		empty_up(&up, &vars);
		nmig_buf_printf(&down, "-- Undo %s (%s): nothing to undo.\n",
				id, message);
		nmig_buf_puts(&label, "the header");
	} else {
		rc = load_template(&g->cfg, "down.sql", nmig_template_down,
				   &tmpl, &label);
		if (!rc)
			rc = cli_newrev_render(&down, label.ptr, tmpl.ptr,
					       &vars);
		if (rc)
			goto fail;
		nmig_buf_clear(&tmpl);
		rc = load_template(&g->cfg, "up.sql", nmig_template_up, &tmpl,
				   &label);
		if (!rc)
			rc = cli_newrev_render(&up, label.ptr, tmpl.ptr, &vars);
		if (rc)
			goto fail;
	}
	rc = verify_header(label.ptr, up.ptr, pids, npar, !no_tx);
	if (rc)
		goto fail;
	rc = cli_newrev_write(g->cfg.dir, id, slug, up.ptr, down.ptr, &up_path,
			      &down_path);
	if (rc)
		goto fail;
	cli_newrev_print(g, id, message, pids, npar, up_path, down_path);
	goto cleanup;
fail:
	exit_code = cli_report_error(g);
cleanup:
	free(plist.specs);
	free(pnodes);
	free(pids);
	free(slug);
	free(up_path);
	free(down_path);
	nmig_buf_release(&tmpl);
	nmig_buf_release(&label);
	nmig_buf_release(&up);
	nmig_buf_release(&down);
	nmig_buf_release(&ptext);
	if (graph)
		nmig_graph_free(graph);
	nmig_revset_release(&set);
	return exit_code;
}
