/*
 * nmig revision: create a new revision -- an up file and a down file
 * rendered from the templates (built in, or the project's `templates`
 * directory) -- on top of the single head, of the --parent targets, or of
 * base for the first revision. The id is the UTC time, moved on while it
 * collides; the rendered header is parsed back so that a custom template
 * can never produce a file whose parents differ from what was asked.
 */
#include "autoplan.h"
#include "commands.h"
#include "db.h"
#include "newrev.h"
#include "schemastate.h"

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

struct autogen_opts {
	int on, dry_run, destructive, unsafe_fast, ignore_order;
	const char *from, *to, *dev_url, *bindir;
	struct parent_list renames; /* OLD=NEW */
};

/* What each generated step's revision says after the message. */
static const char *step_suffix(int st)
{
	return st == NMIG_PLAN_CONCURRENT ? " (concurrent indexes)"
	       : st == NMIG_PLAN_VALIDATE ? " (validate)"
					  : "";
}

/* The text of one generated revision's up file. */
static void generated_up(struct nmig_buf *b, const struct cli_newrev_vars *v,
			 const struct autogen_opts *ao,
			 const struct cli_autoplan *p, size_t k)
{
	empty_up(b, v);
	if (p->ignore[k] & NMIG_PLAN_IGNORE_TYPE)
		nmig_buf_puts(b, "-- nmig:lint-ignore changing-column-type\n");
	nmig_buf_printf(b,
			"-- Generated by nmig revision --autogenerate from %s "
			"to %s,\n-- proven on a scratch database (step %zu "
			"of %zu).\n",
			ao->from, ao->to, k + 1, p->nsteps);
	if (p->ignore[k] & NMIG_PLAN_IGNORE_TYPE)
		nmig_buf_puts(b, "-- A column's type is changed in place "
				 "(changing-column-type is ignored for this\n"
				 "-- revision): see the hazards below.\n");
	if (k == 0)
		cli_autoplan_comments(b, &p->up);
	nmig_buf_putc(b, '\n');
	nmig_buf_puts(b, p->up.step[p->steps[k]].ptr);
}

/*
 * --autogenerate: plan from ao->from (the migration files' head) to ao->to
 * (the declared schema), prove it, and write one revision per step of the
 * plan, each the parent of the next; --dry-run prints them instead.
 */
static int autogenerate(struct cli_global *g, const struct autogen_opts *ao,
			const struct nmig_graph *graph, const char *message,
			const char *const *pids, size_t npar, const char *rev_id)
{
	struct schemastate s;
	struct nmig_catalog a = NMIG_CATALOG_INIT, b = NMIG_CATALOG_INIT;
	struct nmig_plan_opts po;
	struct cli_autoplan p;
	struct nmig_buf up = NMIG_BUF_INIT, down = NMIG_BUF_INIT;
	struct nmig_buf ptext = NMIG_BUF_INIT, msg = NMIG_BUF_INIT;
	char ids[NMIG_PLAN_NSTEPS][NMIG_NEWREV_ID_MAX], date[32];
	const char *url;
	char *slug = NULL;
	long long now;
	size_t k, j;
	int err, rc = NMIG_EXIT_OK;

	memset(&s, 0, sizeof(s));
	memset(&p, 0, sizeof(p));
	s.g = g;
	s.dev_url = ao->dev_url;
	s.bindir = ao->bindir;
	memset(&po, 0, sizeof(po));
	po.renames = ao->renames.specs;
	po.nrenames = ao->renames.n;
	po.allow_destructive = ao->destructive;
	po.unsafe_fast = ao->unsafe_fast;
	po.flags = ao->ignore_order ? NMIG_CAT_NO_COLUMN_ORDER : 0;
	err = db_find_url(g, &url);
	if (!err)
		err = schemastate_read(&s, ao->from, &a);
	if (!err)
		err = schemastate_read(&s, ao->to, &b);
	if (!err)
		err = cli_autoplan_make(&s, &a, &b, &po, 1, &p);
	if (err) {
		if (p.up.nrefused)
			cli_autoplan_report_refusal(g, &p.up);
		rc = cli_report_error(g);
		goto cleanup;
	}
	if (!p.nsteps) {
		if (!g->quiet)
			fprintf(stderr, "nothing to generate: %s already gives "
					"%s\n",
				ao->from, ao->to);
		goto cleanup;
	}
	now = cli_newrev_now(date);
	for (k = 0; k < p.nsteps; k++) {
		long long t = now + (long long)k;
		int taken;

		if (k == 0 && rev_id) {
			snprintf(ids[0], sizeof(ids[0]), "%s", rev_id);
			continue;
		}
		do {
			cli_newrev_make_id(graph, t++, ids[k]);
			taken = 0;
			for (j = 0; j < k; j++)
				taken |= strcmp(ids[j], ids[k]) == 0;
		} while (taken);
	}
	slug = cli_newrev_slug(message);
	if (!slug) {
		rc = cli_report_error(g);
		goto cleanup;
	}
	for (k = 0; k < p.nsteps; k++) {
		struct cli_newrev_vars vars;
		char *up_path = NULL, *down_path = NULL;
		const char *one[1];

		nmig_buf_clear(&ptext);
		nmig_buf_clear(&msg);
		nmig_buf_clear(&up);
		nmig_buf_clear(&down);
		if (k == 0)
			parents_text(&ptext, pids, npar);
		else
			nmig_buf_puts(&ptext, ids[k - 1]);
		nmig_buf_printf(&msg, "%s%s", message,
				step_suffix(p.steps[k]));
		memset(&vars, 0, sizeof(vars));
		vars.id = ids[k];
		vars.slug = slug;
		vars.message = msg.ptr;
		vars.parents = ptext.ptr;
		vars.transactional = cli_autoplan_step_tx(p.steps[k]);
		vars.date = date;
		generated_up(&up, &vars, ao, &p, k);
		nmig_buf_printf(&down,
				"-- Undo %s (%s): generated, proven on a "
				"scratch database.\n\n%s",
				ids[k], msg.ptr, p.down[k]);
		if (nmig_buf_oom(&up) || nmig_buf_oom(&down)) {
			nmig_error_set(NMIG_ENOMEM, "out of memory");
			rc = cli_report_error(g);
			goto cleanup;
		}
		if (ao->dry_run) {
			printf("-- file: %s_%s.up.sql\n%s\n-- file: "
			       "%s_%s.down.sql\n%s\n",
			       ids[k], slug, up.ptr, ids[k], slug, down.ptr);
			continue;
		}
		if (cli_newrev_write(g->cfg.dir, ids[k], slug, up.ptr, down.ptr,
				     &up_path, &down_path)) {
			rc = cli_report_error(g);
			goto cleanup;
		}
		one[0] = k ? ids[k - 1] : NULL;
		if (k == 0)
			cli_newrev_print(g, ids[k], msg.ptr, pids, npar,
					 up_path, down_path);
		else
			cli_newrev_print(g, ids[k], msg.ptr, one, 1, up_path,
					 down_path);
		free(up_path);
		free(down_path);
	}
	if (!g->quiet)
		fprintf(stderr, "%s %zu revision%s, proven on a scratch database\n",
			ao->dry_run ? "would write" : "wrote", p.nsteps,
			p.nsteps == 1 ? "" : "s");
cleanup:
	schemastate_release(&s);
	cli_autoplan_release(&p);
	nmig_catalog_release(&a);
	nmig_catalog_release(&b);
	nmig_buf_release(&up);
	nmig_buf_release(&down);
	nmig_buf_release(&ptext);
	nmig_buf_release(&msg);
	free(slug);
	return rc;
}

int cmd_revision(struct cli_global *g, int argc, char **argv)
{
	const char *message = NULL, *rev_id = NULL;
	int no_tx = 0, empty = 0, rc, exit_code = NMIG_EXIT_OK;
	struct parent_list plist = {NULL, 0};
	struct autogen_opts ao = {0, 0, 0, 0, 0, "migrations", "schema",
				  NULL, NULL, {NULL, 0}};
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
	    {0, "autogenerate", NULL,
	     "write the SQL from the migrations' head to the declared schema, "
	     "proven on a scratch database",
	     NULL, &ao.on, NULL, NULL},
	    {0, "from", "STATE",
	     "with --autogenerate: the state to start from (default: "
	     "migrations)",
	     &ao.from, NULL, NULL, NULL},
	    {0, "to", "STATE",
	     "with --autogenerate: the state to reach (default: schema)",
	     &ao.to, NULL, NULL, NULL},
	    {0, "dry-run", NULL,
	     "with --autogenerate: print the revisions, write nothing", NULL,
	     &ao.dry_run, NULL, NULL},
	    {0, "rename", "OLD=NEW",
	     "with --autogenerate: declare a renamed table "
	     "(schema.table=new) or column (schema.table.column=new); "
	     "repeatable",
	     NULL, NULL, add_parent, &ao.renames},
	    {0, "allow-destructive", NULL,
	     "with --autogenerate: allow dropping tables and columns and "
	     "narrowing types",
	     NULL, &ao.destructive, NULL, NULL},
	    {0, "unsafe-fast", NULL,
	     "with --autogenerate: the plain blocking forms, one revision", NULL,
	     &ao.unsafe_fast, NULL, NULL},
	    {0, "ignore-column-order", NULL,
	     "with --autogenerate: columns may end in another order", NULL,
	     &ao.ignore_order, NULL, NULL},
	    {0, "dev-url", "env:VAR",
	     "with --autogenerate: the empty scratch database whose URL is in "
	     "VAR (default: a temporary local cluster)",
	     &ao.dev_url, NULL, NULL, NULL},
	    {0, "pg-bindir", "DIR",
	     "with --autogenerate: PostgreSQL server binaries for the "
	     "temporary cluster",
	     &ao.bindir, NULL, NULL, NULL},
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
	    "says otherwise. Prints the paths\nof the new files. With "
	    "--autogenerate, the SQL is generated from the\ndifference "
	    "between the migrations' head and the declared schema\n"
	    "(schema_file in nmig.conf), proven on a scratch database up "
	    "and\ndown before anything is written; a plan that needs steps "
	    "outside a\ntransaction is written as a short chain of "
	    "revisions. Exit 3 when\nthe change is refused (destructive "
	    "without --allow-destructive, or\nnot producible) or fails its "
	    "proof.",
	    opts,
	    "nmig revision -m \"create tasks\"\n"
	    "nmig revision -m \"index emails\" --no-transaction\n"
	    "nmig revision -m \"fix\" --parent 2026112609 --rev-id 000042\n"
	    "nmig revision --autogenerate -m \"create tasks\"   # from "
	    "schema_file",
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
	if (ao.on) {
		if (rev_id && (rc = cli_newrev_check_id(graph, rev_id)))
			goto fail;
		exit_code =
		    autogenerate(g, &ao, graph, message, pids, npar, rev_id);
		goto cleanup;
	}
	if (ao.dry_run || ao.renames.n || ao.destructive || ao.unsafe_fast) {
		cli_errorf(g, "--dry-run, --rename, --allow-destructive and "
			      "--unsafe-fast go with --autogenerate");
		exit_code = NMIG_EXIT_USAGE;
		goto cleanup;
	}
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
	free(ao.renames.specs);
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
