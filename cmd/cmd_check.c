/*
 * nmig check: everything that can be checked without a database, all at
 * once -- every file name and header, every SQL body through PostgreSQL's
 * parser (syntax, transaction control, statements that cannot run in a
 * transaction), the revision graph, and the lint rules -- reported sorted
 * by file and line with a summary. A check is a list of stages that append
 * findings to one list; with --db (never because a URL is set), a last
 * stage (db.h) adds the applied state's problems: drift, dirty rows,
 * unknown applied revisions, a set that is not ancestor-closed. With
 * --drift (which implies --db), a stage after it compares the live
 * database object by object (lib/catalog.h) with what its applied
 * revisions give on a scratch database (migrations@applied,
 * cmd/schemastate.h): every object added, changed or removed by hand is
 * listed as `nmig diff` lists it.
 */
#include "commands.h"
#include "db.h"
#include "schemastate.h"

#include "buf.h"
#include "cache.h"
#include "error.h"
#include "lint.h"
#include "plan.h"
#include "sqlcheck.h"
#include "sqlscript.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct check_run {
	struct cli_global *g;
	struct nmig_revset set;
	struct nmig_graph *graph; /* NULL when it could not be built */
	struct nmig_diags diags;
	size_t db_errors;	/* errors found by the database stage */
	int db_exit;		/* their exit code */
	const char **bad_files; /* files with an error already, sorted */
	size_t nbad;
	struct cli_run_cache cache; /* the plan cache, open for stages 1-4 */
	int drift;		     /* --drift: stage 6 asked for */
	int drift_read;		     /* both catalogs below were read */
	size_t ndrift;		     /* objects that differ */
	struct nmig_catalog want;    /* migrations@applied, on scratch */
	struct nmig_catalog live;    /* the database at the deploy URL */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Remember the files that already have an error (bad encoding found while
 * loading), so that their SQL is not reported a second time.
 */
static void note_bad_files(struct check_run *run)
{
	size_t i;

	run->bad_files =
	    malloc((run->diags.n ? run->diags.n : 1) * sizeof(*run->bad_files));
	if (!run->bad_files)
		return;
	for (i = 0; i < run->diags.n; i++)
		if (run->diags.items[i].severity == NMIG_SEV_ERROR &&
		    run->diags.items[i].file)
			run->bad_files[run->nbad++] = run->diags.items[i].file;
	qsort(run->bad_files, run->nbad, sizeof(*run->bad_files), cmp_str);
}

static int is_bad_file(const struct check_run *run, const char *path)
{
	return run->nbad && bsearch(&path, run->bad_files, run->nbad,
				    sizeof(*run->bad_files), cmp_str);
}

/* Stage 1: file names, headers and checksums (the revision set). */
static void check_files(struct check_run *run)
{
	size_t before = run->diags.errors;
	int rc = nmig_revset_load_cached(&run->set, run->g->cfg.dir,
					 run->cache.cache, &run->diags);

	if (rc && run->diags.errors == before)
		nmig_diags_add_last_error(&run->diags, "files");
}

/*
 * The plan cache is used in sessions of this many revisions: lookups in
 * one read transaction, stores in one write batch (cache.h), and other
 * nmig processes get a turn between them.
 */
#define CACHE_BATCH 1000

/* End the cache session after every CACHE_BATCH revisions and start the
 * next; i is the index of the revision about to be checked. */
static void cache_batch(struct check_run *run, size_t i)
{
	if (i % CACHE_BATCH != 0)
		return;
	if (i)
		nmig_cache_read_end(run->cache.cache);
	nmig_cache_read_begin(run->cache.cache);
}

/* Stage 2: every SQL body, up and down, with its revision's transaction
 * mode; files that already have an error (garbage) are left out. */
static void check_scripts(struct check_run *run)
{
	size_t i;

	note_bad_files(run);
	for (i = 0; i < run->set.n; i++) {
		const struct nmig_revision *r = &run->set.revs[i];
		unsigned skip = 0;

		cache_batch(run, i);
		if (is_bad_file(run, r->up.path))
			skip |= NMIG_SQLCHECK_SKIP_UP;
		if (r->down.path && is_bad_file(run, r->down.path))
			skip |= NMIG_SQLCHECK_SKIP_DOWN;
		/* every failure is a finding (sqlcheck.h) */
		nmig_sqlcheck_revision(run->cache.cache, r, skip,
				       run->g->cfg.max_file_size, &run->diags);
	}
	if (run->set.n)
		nmig_cache_read_end(run->cache.cache);
}

/* Stage 3: the graph (duplicates, missing parents, cycles), and heads. */
static void check_graph(struct check_run *run)
{
	size_t before = run->diags.errors, nh, i;
	const size_t *heads;
	struct nmig_buf ids = NMIG_BUF_INIT;
	struct nmig_diag *d;
	int rc;

	rc = nmig_graph_build(&run->graph, &run->set, &run->diags);
	if (rc) {
		if (run->diags.errors == before)
			nmig_diags_add_last_error(&run->diags, "graph");
		if (run->graph)
			nmig_graph_free(run->graph);
		run->graph = NULL;
		return;
	}
	heads = nmig_graph_heads(run->graph, &nh);
	if (nh < 2)
		return;
	for (i = 0; i < nh; i++)
		nmig_buf_printf(&ids, "%s%s", i ? ", " : "",
				nmig_graph_rev(run->graph, heads[i])->id);
	d = nmig_diags_add(&run->diags, NMIG_SEV_WARNING, NMIG_EAMBIGUOUS,
			   "multiple-heads", NULL, 0, 0,
			   "the history has %zu heads: %s", nh, ids.ptr);
	nmig_diag_set_hint(d, "join them with 'nmig merge' before 'nmig "
			      "upgrade head', or upgrade with 'heads'");
	nmig_buf_release(&ids);
}

/*
 * Stage 4: the lint rules, as `nmig lint` applies them to every revision,
 * with the levels of the config's `lint.<rule>` lines. Files the parser
 * refused were reported by stage 2, so lint does not explain them again.
 */
static void check_lint(struct check_run *run)
{
	const struct nmig_config *cfg = &run->g->cfg;
	struct nmig_lint_config lcfg;
	struct nmig_buf checker = NMIG_BUF_INIT;
	size_t i;
	int rc;

	nmig_lint_config_init(&lcfg);
	lcfg.max_file_size = cfg->max_file_size;
	lcfg.script_check = 0;
	if (cfg->path && nmig_lint_config_read(&lcfg, cfg->path)) {
		nmig_diags_add_last_error(&run->diags, "lint-config");
		return;
	}
	if (nmig_lint_checker(&checker, &lcfg))
		nmig_buf_release(&checker); /* then lint without the cache */
	for (i = 0; i < run->set.n; i++) {
		const struct nmig_revision *r = &run->set.revs[i];

		cache_batch(run, i);
		if (is_bad_file(run, r->up.path) ||
		    (r->down.path && is_bad_file(run, r->down.path)))
			continue;
		rc = nmig_lint_revision_cached(r, &lcfg, 1, run->cache.cache,
					       checker.len ? checker.ptr : NULL,
					       &run->diags);
		if (rc && rc != NMIG_EINPUT)
			nmig_diags_add_last_error(&run->diags, "lint");
	}
	if (run->set.n)
		nmig_cache_read_end(run->cache.cache);
	nmig_buf_release(&checker);
	if (nmig_lint_project(cfg->root, cfg->path, &lcfg, &run->diags))
		nmig_diags_add_last_error(&run->diags, "lint");
}

/* Stage 5: with --db, the applied state (see db.h). */
static void check_database(struct check_run *run)
{
	if (run->graph)
		run->db_errors = db_check_stage(run->g, run->graph, &run->diags,
						&run->db_exit);
}

/*
 * Stage 6 (--drift): the live database against what its applied
 * revisions give, built on the scratch cluster or dev_url. Left out when
 * the database stage found an error already (a dirty row or an unknown
 * revision cannot be reproduced, and a connection failure is reported).
 */
static void check_drift(struct check_run *run, const char *dev_url,
			const char *bindir)
{
	struct schemastate s;
	struct nmig_buf live = NMIG_BUF_INIT;
	struct nmig_diag *d;
	int err;

	if (!run->graph || run->db_errors)
		return;
	memset(&s, 0, sizeof(s));
	s.g = run->g;
	s.dev_url = dev_url;
	s.bindir = bindir;
	nmig_buf_printf(&live, "env:%s", db_url_var(run->g));
	err = schemastate_read(&s, "migrations@applied", &run->want);
	if (!err)
		err = schemastate_read(&s, live.ptr, &run->live);
	schemastate_release(&s);
	nmig_buf_release(&live);
	if (err) {
		nmig_diags_add_last_error(&run->diags, "db-schema-drift");
		run->db_errors++;
		if (!run->db_exit)
			run->db_exit = cli_exit_code(err);
		return;
	}
	run->drift_read = 1;
	run->ndrift = nmig_catalog_diff(&run->want, &run->live, 0, NULL, NULL);
	if (!run->ndrift)
		return;
	d = nmig_diags_add(&run->diags, NMIG_SEV_ERROR, NMIG_ESTATE,
			   "db-schema-drift", NULL, 0, 0,
			   "the database differs from what its applied "
			   "revisions give in %zu object%s (listed below: + "
			   "added, - removed, ~ changed by hand)",
			   run->ndrift, run->ndrift == 1 ? "" : "s");
	nmig_diag_set_hint(d, "undo the change by hand, or write a revision "
			      "that makes it ('nmig diff --from "
			      "migrations@applied --to env:VAR' shows it)");
	run->db_errors++;
	if (!run->db_exit)
		run->db_exit = NMIG_EXIT_STATE;
}

static void json_int_or_null(int v)
{
	if (v > 0)
		printf("%d", v);
	else
		fputs("null", stdout);
}

static void print_json(const struct check_run *run)
{
	static const char *const sev[] = {"note", "warning", "error"};
	size_t *idx = cli_diags_order(&run->diags), i;

	printf("{\"revisions\": %zu, \"errors\": %zu, \"warnings\": %zu, "
	       "\"findings\": [",
	       run->set.n, run->diags.errors, run->diags.warnings);
	for (i = 0; i < run->diags.n; i++) {
		const struct nmig_diag *d = &run->diags.items[idx ? idx[i] : i];

		fputs(i ? ",\n  {" : "\n  {", stdout);
		printf("\"severity\": \"%s\", \"rule\": ",
		       sev[d->severity <= NMIG_SEV_ERROR ? d->severity : 2]);
		cli_json_str(stdout, d->rule);
		fputs(", \"file\": ", stdout);
		cli_json_str(stdout, d->file);
		fputs(", \"line\": ", stdout);
		json_int_or_null(d->line);
		fputs(", \"col\": ", stdout);
		json_int_or_null(d->col);
		fputs(", \"message\": ", stdout);
		cli_json_str(stdout, d->message);
		fputs(", \"hint\": ", stdout);
		cli_json_str(stdout, d->hint);
		fputc('}', stdout);
	}
	fputs(run->diags.n ? "\n]" : "]", stdout);
	if (run->drift_read) {
		fputs(", \"drift\": ", stdout);
		schemastate_print_diff(run->g, &run->want, &run->live, 0, 1);
	}
	fputs("}\n", stdout);
	free(idx);
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int cmd_check(struct cli_global *g, int argc, char **argv)
{
	struct check_run run;
	const char *dev_url = NULL, *bindir = NULL;
	const struct cli_opt opts[] = {
	    {0, "db", NULL,
	     "also check the database's applied state (drift, dirty, gaps)",
	     NULL, &g->use_db, NULL, NULL},
	    {0, "json", NULL,
	     "print {revisions, errors, warnings, findings[]} as JSON", NULL,
	     &g->json, NULL, NULL},
	    {0, "drift", NULL,
	     "with the database stage (implies --db): compare the database "
	     "with what its applied revisions give, object by object",
	     NULL, &run.drift, NULL, NULL},
	    {0, "dev-url", "env:VAR",
	     "with --drift: build the applied revisions on the empty database "
	     "whose URL is in VAR (default: a temporary local cluster)",
	     &dev_url, NULL, NULL, NULL},
	    {0, "pg-bindir", "DIR",
	     "with --drift: PostgreSQL server binaries for the temporary "
	     "cluster (default: pg_config, PATH, /usr/lib/postgresql)",
	     &bindir, NULL, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "check",
	    NULL,
	    "Check the migrations without a database: file names and "
	    "headers,\nevery SQL body with PostgreSQL's parser (syntax "
	    "errors with\nfile:line:col, BEGIN/COMMIT in a transactional "
	    "migration, statements\nsuch as CREATE INDEX CONCURRENTLY that "
	    "need '-- nmig:transaction off'),\nthe revision graph "
	    "(duplicate ids, unknown parents, cycles), and the\nlint rules "
	    "('nmig lint --list-rules'; levels from 'lint.<rule>' lines\n"
	    "in nmig.conf). Every finding is reported, sorted by file and "
	    "line,\nthen a summary. Exits 3 when there is an error, 0 "
	    "otherwise (warnings\ndo not fail). No database is touched, even "
	    "when a URL is set. With\n--db the applied state of the database "
	    "(DATABASE_URL, url_env or .env)\nis checked too: drift, dirty "
	    "rows, unknown applied revisions and gaps\n(exit 7 when only "
	    "those fail, 5 when the database cannot be reached).",
	    opts,
	    "nmig check\nnmig check --json | jq '.findings[]'\nnmig check --db\n"
	    "nmig check --drift",
	};
	struct stat st;
	int rc;

	memset(&run, 0, sizeof(run));
	run.g = g;
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (run.drift)
		g->use_db = 1;
	if (argc > 1) {
		cli_errorf(g, "unexpected argument '%s'", argv[1]);
		cli_hintf(g, "check reads the whole migrations directory; "
			     "name it with 'nmig --dir DIR check'");
		return NMIG_EXIT_USAGE;
	}
	if (stat(g->cfg.dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		cli_errorf(g, "migrations directory '%s' is not a directory",
			   g->cfg.dir);
		cli_hintf(g, "name the directory that holds the migrations "
			     "with --dir or 'dir' in nmig.conf");
		return NMIG_EXIT_INPUT;
	}
	if (stat(g->cfg.dir, &st) != 0) {
		cli_errorf(g, "migrations directory '%s' does not exist",
			   g->cfg.dir);
		cli_hintf(g, "create it with 'nmig init', or name it with "
			     "--dir or 'dir' in nmig.conf");
		return NMIG_EXIT_INPUT;
	}
	if (run.drift) {
		const char *url;

		/* the drift stage reads the live database as env:VAR, so the
		 * URL variable itself must be set (PG* variables alone are not
		 * a state) */
		if (db_find_url(g, &url))
			return cli_report_error(g);
		if (!url) {
			cli_errorf(g, "check --drift needs a database URL: %s "
				      "is not set",
				   db_url_var(g));
			cli_hintf(g, "set %s in the environment or in .env",
				  db_url_var(g));
			return NMIG_EXIT_CONNECT;
		}
	}
	rc = cli_run_cache_open(g, &run.cache);
	if (rc) {
		cli_run_cache_close(g, &run.cache);
		return rc;
	}
	check_files(&run);
	check_scripts(&run);
	check_graph(&run);
	check_lint(&run);
	cli_run_cache_close(g, &run.cache);
	check_database(&run);
	if (run.drift)
		check_drift(&run, dev_url, bindir);
	if (g->json) {
		print_json(&run);
	} else {
		cli_report_diags(g, &run.diags);
		if (run.ndrift)
			schemastate_print_diff(g, &run.want, &run.live, 0, 0);
		printf("checked %zu %s: %zu %s, %zu %s\n", run.set.n,
		       plural(run.set.n, "revision", "revisions"),
		       run.diags.errors,
		       plural(run.diags.errors, "error", "errors"),
		       run.diags.warnings,
		       plural(run.diags.warnings, "warning", "warnings"));
	}
	rc = run.diags.errors ? NMIG_EXIT_INPUT : NMIG_EXIT_OK;
	if (run.diags.errors && run.diags.errors == run.db_errors)
		rc = run.db_exit;
	if (run.graph)
		nmig_graph_free(run.graph);
	nmig_revset_release(&run.set);
	nmig_diags_release(&run.diags);
	nmig_catalog_release(&run.want);
	nmig_catalog_release(&run.live);
	free(run.bad_files);
	return rc;
}
