/*
 * nmig lint: the safety rules of lib/lint.h over the migrations, printed as
 * text, JSON or GitHub annotations. The revisions held to every rule are
 * by default those the database (the URL variable, when set and
 * reachable) has not applied; without one, all of them (also --all). With
 * --since REV they are those newer than REV (not REV and not its
 * ancestors). The others are history and only the credential rules apply
 * to them. REV arguments lint just those revisions. Levels
 * come from the rule table, then `lint.<rule>` keys of the config file,
 * then --rule options. Exit 1 when an error-severity finding remains, 3
 * when a migration file cannot be parsed or loaded, 0 otherwise. Lint
 * results of unchanged files come from the plan cache (not with --no-cache
 * or `cache = off`), with the same output.
 */
#include "commands.h"
#include "db.h"

#include "buf.h"
#include "cache.h"
#include "error.h"
#include "lint.h"
#include "plan.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The --rule options, applied after the config file's levels. */
struct rule_opts {
	const char **specs;
	size_t n;
	struct nmig_lint_config check; /* validates each spec at once */
};

/* --rule: check the spec now, apply it once the config is read. */
static int on_rule(const char *value, void *ud)
{
	struct rule_opts *r = ud;
	const char **v;
	int rc = nmig_lint_config_option(&r->check, value);

	if (rc < 0)
		return rc;
	v = realloc(r->specs, (r->n + 1) * sizeof(*v));
	if (!v)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	r->specs = v;
	r->specs[r->n++] = value;
	return NMIG_OK;
}

/* "error", "warning" or "note". */
static const char *severity_name(enum nmig_severity s)
{
	switch (s) {
	case NMIG_SEV_ERROR:
		return "error";
	case NMIG_SEV_WARNING:
		return "warning";
	case NMIG_SEV_NOTE:
		break;
	}
	return "note";
}

/* The lint rule a finding belongs to, or NULL (syntax, lint-ignore). */
static const struct nmig_lint_rule *rule_of(const struct nmig_diag *d)
{
	int id = nmig_lint_rule_find(d->rule);

	return id < 0 ? NULL : &nmig_lint_rules()[id];
}

/* --list-rules as text: name (level, scope), why and fix. */
static void print_rules_text(struct cli_global *g,
			     const struct nmig_lint_config *cfg)
{
	const struct nmig_lint_rule *r = nmig_lint_rules();
	int i;

	for (i = 0; i < NMIG_LINT_NRULES; i++) {
		enum nmig_lint_level lv = cfg->level[i];

		printf("%s%s%s (%s%s%s", cli_c_bold(g), r[i].name,
		       cli_c_reset(g),
		       lv == NMIG_LINT_ERROR	 ? cli_c_red(g)
		       : lv == NMIG_LINT_WARNING ? cli_c_yellow(g)
						 : cli_c_dim(g),
		       nmig_lint_level_name(lv), cli_c_reset(g));
		if (lv != r[i].level)
			printf(", default %s",
			       nmig_lint_level_name(r[i].level));
		if (r[i].flags & NMIG_LINT_PROJECT)
			fputs(", project", stdout);
		else if (r[i].flags & NMIG_LINT_HISTORY)
			fputs(", also history", stdout);
		if (r[i].flags & NMIG_LINT_UP_ONLY)
			fputs(", up files only", stdout);
		printf(")\n    why: %s\n    fix: %s\n", r[i].why, r[i].fix);
	}
}

/* --list-rules --format json: an array of rule objects. */
static void print_rules_json(const struct nmig_lint_config *cfg)
{
	const struct nmig_lint_rule *r = nmig_lint_rules();
	int i;

	fputc('[', stdout);
	for (i = 0; i < NMIG_LINT_NRULES; i++) {
		fputs(i ? ",\n {\"name\": " : "{\"name\": ", stdout);
		cli_json_str(stdout, r[i].name);
		printf(", \"level\": \"%s\", \"default\": \"%s\"",
		       nmig_lint_level_name(cfg->level[i]),
		       nmig_lint_level_name(r[i].level));
		printf(", \"scope\": \"%s\", \"history\": %s, \"up_only\": %s",
		       r[i].flags & NMIG_LINT_PROJECT ? "project" : "sql",
		       r[i].flags & NMIG_LINT_HISTORY ? "true" : "false",
		       r[i].flags & NMIG_LINT_UP_ONLY ? "true" : "false");
		fputs(", \"why\": ", stdout);
		cli_json_str(stdout, r[i].why);
		fputs(", \"fix\": ", stdout);
		cli_json_str(stdout, r[i].fix);
		fputc('}', stdout);
	}
	fputs("]\n", stdout);
}

/*
 * Findings as text: `file:line:col: level: message [rule]`, the source
 * line, why and fix; then the summary. -q keeps only errors.
 */
static void print_text(struct cli_global *g, const struct nmig_diags *d,
		       const size_t *order, size_t nrevs)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *it = &d->items[order ? order[i] : i];
		const struct nmig_lint_rule *r = rule_of(it);

		if (g->quiet && it->severity != NMIG_SEV_ERROR)
			continue;
		if (it->file) {
			cli_put_safe(stdout, it->file);
			if (it->line)
				printf(":%d", it->line);
			if (it->line && it->col)
				printf(":%d", it->col);
			fputs(": ", stdout);
		}
		printf("%s%s%s: ",
		       it->severity == NMIG_SEV_ERROR ? cli_c_red(g)
						      : cli_c_yellow(g),
		       severity_name(it->severity), cli_c_reset(g));
		cli_put_safe(stdout, it->message);
		printf(" %s[%s]%s\n", cli_c_dim(g), it->rule, cli_c_reset(g));
		if (it->source) {
			fputs("    | ", stdout);
			cli_put_safe(stdout, it->source);
			fputc('\n', stdout);
		}
		if (r)
			printf("    why: %s\n    fix: %s\n", r->why, r->fix);
		else if (it->hint) {
			fputs("    hint: ", stdout);
			cli_put_safe(stdout, it->hint);
			fputc('\n', stdout);
		}
	}
	if (!g->quiet)
		printf("%zu error%s, %zu warning%s in %zu revision%s\n",
		       d->errors, d->errors == 1 ? "" : "s", d->warnings,
		       d->warnings == 1 ? "" : "s", nrevs,
		       nrevs == 1 ? "" : "s");
}

/* Findings as one JSON object with the counts. */
static void print_json(const struct nmig_diags *d, const size_t *order,
		       size_t nrevs)
{
	size_t i;

	fputs("{\"findings\": [", stdout);
	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *it = &d->items[order ? order[i] : i];
		const struct nmig_lint_rule *r = rule_of(it);

		fputs(i ? ",\n  {\"rule\": " : "\n  {\"rule\": ", stdout);
		cli_json_str(stdout, it->rule);
		printf(", \"severity\": \"%s\", \"file\": ",
		       severity_name(it->severity));
		cli_json_str(stdout, it->file);
		printf(", \"line\": %d, \"col\": %d, \"message\": ", it->line,
		       it->col);
		cli_json_str(stdout, it->message);
		fputs(", \"source\": ", stdout);
		cli_json_str(stdout, it->source);
		fputs(", \"why\": ", stdout);
		cli_json_str(stdout, r ? r->why : NULL);
		fputs(", \"fix\": ", stdout);
		cli_json_str(stdout, r ? r->fix : it->hint);
		fputc('}', stdout);
	}
	printf("%s], \"errors\": %zu, \"warnings\": %zu, \"revisions\": %zu}\n",
	       d->n ? "\n" : "", d->errors, d->warnings, nrevs);
}

/*
 * Write s for a GitHub workflow command: '%', CR and LF escaped, and in a
 * property value also ':' and ','.
 */
static void gh_escape(const char *s, int property)
{
	for (; s && *s; s++) {
		if (*s == '%')
			fputs("%25", stdout);
		else if (*s == '\r')
			fputs("%0D", stdout);
		else if (*s == '\n')
			fputs("%0A", stdout);
		else if (property && *s == ':')
			fputs("%3A", stdout);
		else if (property && *s == ',')
			fputs("%2C", stdout);
		else
			fputc(*s, stdout);
	}
}

/* Findings as GitHub Actions workflow commands (annotations). */
static void print_github(const struct nmig_diags *d, const size_t *order)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *it = &d->items[order ? order[i] : i];
		const struct nmig_lint_rule *r = rule_of(it);
		const char *fix = r ? r->fix : it->hint;

		printf("::%s ", it->severity == NMIG_SEV_ERROR	   ? "error"
				: it->severity == NMIG_SEV_WARNING ? "warning"
								   : "notice");
		if (it->file) {
			fputs("file=", stdout);
			gh_escape(it->file, 1);
			if (it->line)
				printf(",line=%d", it->line);
			if (it->line && it->col)
				printf(",col=%d", it->col);
			fputc(',', stdout);
		}
		fputs("title=nmig lint ", stdout);
		gh_escape(it->rule, 1);
		fputs("::", stdout);
		gh_escape(it->message, 0);
		if (r) {
			fputs("%0Awhy: ", stdout);
			gh_escape(r->why, 0);
		}
		if (fix) {
			fputs("%0Afix: ", stdout);
			gh_escape(fix, 0);
		}
		fputc('\n', stdout);
	}
}

/* Print the findings in format (text, json, github). */
static void print_findings(struct cli_global *g, const char *format,
			   const struct nmig_diags *d, size_t nrevs)
{
	size_t *order = cli_diags_order(d);

	if (strcmp(format, "json") == 0)
		print_json(d, order, nrevs);
	else if (strcmp(format, "github") == 0) {
		print_github(d, order);
		cli_infof(g, "%zu error%s, %zu warning%s in %zu revision%s",
			  d->errors, d->errors == 1 ? "" : "s", d->warnings,
			  d->warnings == 1 ? "" : "s", nrevs,
			  nrevs == 1 ? "" : "s");
	} else
		print_text(g, d, order, nrevs);
	free(order);
}

/*
 * Load the config when the dispatcher has not (then a password in it is
 * reported as a finding before the loader refuses the file). Returns
 * NMIG_EXIT_OK or an exit code after printing.
 */
static int ensure_config(struct cli_global *g, const char *format,
			 const struct nmig_lint_config *cfg,
			 struct nmig_diags *diags, int *config_checked)
{
	const char *path = g->config_path;
	int rc;

	if (g->cfg.root)
		return NMIG_EXIT_OK;
	if (!path && access(NMIG_CONFIG_FILE, F_OK) == 0)
		path = NMIG_CONFIG_FILE;
	if (path && nmig_lint_project(NULL, path, cfg, diags) == NMIG_OK)
		*config_checked = 1;
	rc = nmig_config_load(&g->cfg, g->config_path);
	if (!rc && g->dir)
		rc = nmig_config_set(&g->cfg, "dir", g->dir, NULL, 0);
	if (!rc && g->url_env)
		rc = nmig_config_set(&g->cfg, "url_env", g->url_env, NULL, 0);
	if (!rc)
		return NMIG_EXIT_OK;
	if (diags->n)
		print_findings(g, format, diags, 0);
	return cli_report_error(g);
}

/*
 * The selection of lint --db: revisions the database has applied are
 * history (1), the pending ones strict (2). Returns 1 when sel was
 * filled; 0 without --db, or with a warning
 * when the database cannot be read (the caller then lints everything).
 */
static int pending_from_db(struct cli_global *g, struct nmig_graph *graph,
			   unsigned char *sel)
{
	struct cli_db db;
	size_t n = nmig_graph_count(graph), i, napplied = 0;
	int rc = db_attach(&db, g, graph);

	if (rc < 0) {
		cli_warnf(g, "cannot read the applied revisions: %s",
			  nmig_error_last()->message);
		cli_hintf(g, "every revision gets every rule; without --db "
			     "the database is not asked, or use --since "
			     "REV");
	} else if (rc == 1) {
		for (i = 0; i < n; i++) {
			sel[i] = db.report.mark[i] ? 1 : 2;
			napplied += db.report.mark[i] != 0;
		}
		cli_infof(g,
			  "%zu revision%s pending on %s get%s every rule; "
			  "%zu applied %s history (--all: every rule for "
			  "all)",
			  n - napplied, n - napplied == 1 ? "" : "s",
			  nmig_conn_display(db.conn),
			  n - napplied == 1 ? "s" : "", napplied,
			  napplied == 1 ? "is" : "are");
	}
	db_release(&db);
	return rc == 1;
}

/*
 * Which revisions to lint, per plan position: 0 not at all, 1 as history,
 * 2 strictly. all: every revision strictly, without asking the database.
 * Returns NMIG_EXIT_OK or an exit code after printing.
 */
static int select_revs(struct cli_global *g, struct nmig_graph *graph,
		       const char *since, int all, int nrevs, char **revs,
		       unsigned char *sel)
{
	size_t n = nmig_graph_count(graph), i, j, nn;
	size_t *nodes = NULL;
	int k;

	if (nrevs) {
		memset(sel, 0, n);
		for (k = 0; k < nrevs; k++) {
			if (nmig_target_resolve(graph, NULL, NMIG_UP, revs[k],
						&nodes, &nn) < 0)
				return cli_report_error(g);
			for (j = 0; j < nn; j++)
				sel[nodes[j]] = 2;
			free(nodes);
			nodes = NULL;
		}
		return NMIG_EXIT_OK;
	}
	memset(sel, 0, n);
	if (!since && !all && pending_from_db(g, graph, sel))
		return NMIG_EXIT_OK;
	if (since) {
		if (nmig_target_resolve(graph, NULL, NMIG_UP, since, &nodes,
					&nn) < 0)
			return cli_report_error(g);
		nmig_graph_mark_ancestors(graph, nodes, nn, sel);
		free(nodes);
	}
	for (i = 0; i < n; i++)
		sel[i] = sel[i] ? 1 : 2;
	return NMIG_EXIT_OK;
}

/*
 * The plan cache is used in sessions of this many revisions (as in `nmig
 * check`): lookups in one read transaction, stores in one write batch
 * (cache.h), and other nmig processes get a turn between them.
 */
#define CACHE_BATCH 1000

/*
 * Lint the selected revisions (sel as select_revs fills it) into diags,
 * with the plan cache unless it is disabled or unusable. *linted counts
 * them; *unparsable is set when a file cannot be parsed or read. Returns
 * NMIG_EXIT_OK or an exit code after printing (out of memory).
 */
static int lint_revs(struct cli_global *g, struct nmig_graph *graph,
		     const unsigned char *sel,
		     const struct nmig_lint_config *cfg,
		     struct nmig_diags *diags, size_t *linted, int *unparsable)
{
	struct cli_run_cache cache;
	struct nmig_buf checker = NMIG_BUF_INIT;
	size_t n = nmig_graph_count(graph), i, done = 0;
	int rc;

	rc = cli_run_cache_open(g, &cache);
	if (rc)
		goto cleanup;
	if (cache.cache && nmig_lint_checker(&checker, cfg))
		nmig_buf_release(&checker); /* then lint without the cache */
	for (i = 0; i < n; i++) {
		const struct nmig_revision *r = nmig_graph_rev(graph, i);
		size_t errors = diags->errors;
		int lrc;

		if (!sel[i])
			continue;
		if (done % CACHE_BATCH == 0) {
			if (done)
				nmig_cache_read_end(cache.cache);
			nmig_cache_read_begin(cache.cache);
		}
		lrc = nmig_lint_revision_cached(
		    r, cfg, sel[i] == 2, cache.cache,
		    checker.len ? checker.ptr : NULL, diags);
		done++;
		if (lrc == NMIG_ENOMEM) {
			nmig_cache_read_end(cache.cache);
			rc = cli_report_error(g);
			goto cleanup;
		}
		if (lrc < 0) {
			/* syntax errors are in diags already; a file that
			 * cannot be read or is not text has none yet */
			if (diags->errors == errors)
				nmig_diags_add_last_error(diags, "sql-file");
			*unparsable = 1;
		}
	}
	if (done)
		nmig_cache_read_end(cache.cache);
cleanup:
	*linted = done;
	nmig_buf_release(&checker);
	cli_run_cache_close(g, &cache);
	return rc;
}

/* nmig lint [--format F] [--since REV] [--rule N=L]... [--list-rules] [REV...]
 */
int cmd_lint(struct cli_global *g, int argc, char **argv)
{
	const char *format = NULL, *since = NULL;
	int list_rules = 0, all = 0, rc, config_checked = 0, unparsable = 0;
	struct rule_opts rules;
	const struct cli_opt opts[] = {
	    {0, "format", "FMT", "text (default), json, or github annotations",
	     &format, NULL, NULL, NULL},
	    {0, "since", "REV", "only revisions after REV get every rule",
	     &since, NULL, NULL, NULL},
	    {0, "all", NULL, "every revision gets every rule (the default)",
	     NULL, &all, NULL, NULL},
	    {0, "db", NULL,
	     "only the revisions the database has not applied get every rule",
	     NULL, &g->use_db, NULL, NULL},
	    {0, "rule", "NAME=LEVEL",
	     "set a rule to error, warning or off (repeatable)", NULL, NULL,
	     on_rule, &rules},
	    {0, "list-rules", NULL, "list the rules: level, why and fix", NULL,
	     &list_rules, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "lint",
	    "[REV...]",
	    "Check migrations for operations that lock or rewrite big "
	    "tables, break\nrunning clients, or leak credentials, by walking "
	    "PostgreSQL's parse tree.\nEvery revision is held to every rule; "
	    "with --since only the newer ones,\nwith --db only those the "
	    "database (the URL variable, or .env) has not\napplied; no "
	    "database is touched without --db. The others are history:\nonly "
	    "the credential rules apply. REV arguments lint just those. "
	    "'lint.<rule> = error|warning|off' in nmig.conf\nand "
	    "--rule change levels; '-- nmig:lint-ignore <rule>' in a file's "
	    "header\nsilences a rule there. Exit status: 1 when an error "
	    "remains, 3 when a\nfile cannot be parsed, 0 otherwise. Rules: "
	    "docs/lint.md.",
	    opts,
	    "nmig lint\nnmig lint --db\nnmig lint --since 20261126120000\n"
	    "nmig lint --format github\nnmig lint --rule prefer-text=off "
	    "20261201093000\nnmig lint --list-rules",
	};
	struct nmig_lint_config cfg;
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	unsigned char *sel = NULL;
	size_t i, n, linted = 0;

	memset(&set, 0, sizeof(set));
	memset(&rules, 0, sizeof(rules));
	nmig_lint_config_init(&rules.check);
	nmig_lint_config_init(&cfg);
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc) {
		rc = rc == 1 ? NMIG_EXIT_OK : rc;
		goto cleanup;
	}
	if (!format)
		format = g->json ? "json" : "text";
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
	    strcmp(format, "github") != 0) {
		cli_errorf(g, "unknown format '%s'", format);
		cli_hintf(g, "use --format text, json or github");
		rc = NMIG_EXIT_USAGE;
		goto cleanup;
	}
	if (all && (since || argc > 1)) {
		cli_errorf(g, "'--all' excludes '--since' and revision "
			      "arguments");
		cli_hintf(g, "--all lints every revision strictly");
		rc = NMIG_EXIT_USAGE;
		goto cleanup;
	}
	if (g->use_db && (all || since || argc > 1)) {
		cli_errorf(g, "'--db' excludes '--all', '--since' and "
			      "revision arguments");
		cli_hintf(g, "--db takes the revisions to hold to every rule "
			     "from the database");
		rc = NMIG_EXIT_USAGE;
		goto cleanup;
	}
	if (since && argc > 1) {
		cli_errorf(g, "'--since' and revision arguments exclude each "
			      "other");
		cli_hintf(g, "name the revisions to lint, or where the new "
			     "ones start");
		rc = NMIG_EXIT_USAGE;
		goto cleanup;
	}
	rc = ensure_config(g, format, &cfg, &diags, &config_checked);
	if (rc)
		goto cleanup;
	if (g->cfg.path && nmig_lint_config_read(&cfg, g->cfg.path) < 0) {
		rc = cli_report_error(g);
		goto cleanup;
	}
	for (i = 0; i < rules.n; i++)
		nmig_lint_config_option(&cfg, rules.specs[i]);
	if (g->cfg.max_file_size)
		cfg.max_file_size = g->cfg.max_file_size;
	if (list_rules) {
		if (strcmp(format, "json") == 0)
			print_rules_json(&cfg);
		else
			print_rules_text(g, &cfg);
		rc = NMIG_EXIT_OK;
		goto cleanup;
	}
	if (nmig_lint_project(g->cfg.root, config_checked ? NULL : g->cfg.path,
			      &cfg, &diags) < 0)
		nmig_diags_add_last_error(&diags, "config-file");
	rc = cli_load_graph(g, &set, &graph);
	if (rc) {
		if (diags.n)
			print_findings(g, format, &diags, 0);
		goto cleanup;
	}
	n = nmig_graph_count(graph);
	sel = malloc(n ? n : 1);
	if (!sel) {
		cli_errorf(g, "out of memory");
		rc = NMIG_EXIT_FAILURE;
		goto cleanup;
	}
	rc = select_revs(g, graph, since, all, argc - 1, argv + 1, sel);
	if (rc)
		goto cleanup;
	rc = lint_revs(g, graph, sel, &cfg, &diags, &linted, &unparsable);
	if (rc)
		goto cleanup;
	print_findings(g, format, &diags, linted);
	rc = unparsable	    ? NMIG_EXIT_INPUT
	     : diags.errors ? NMIG_EXIT_FAILURE
			    : NMIG_EXIT_OK;
cleanup:
	free(sel);
	if (graph)
		nmig_graph_free(graph);
	nmig_revset_release(&set);
	nmig_diags_release(&diags);
	free(rules.specs);
	return rc;
}
