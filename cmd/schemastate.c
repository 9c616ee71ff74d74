/*
 * States of the declared-schema commands (see schemastate.h): naming,
 * building on a scratch database, reading back as a catalog model.
 */
#include "schemastate.h"
#include "db.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conn.h"
#include "error.h"
#include "exec.h"
#include "graph.h"
#include "interrupt.h"
#include "plan.h"
#include "revfile.h"
#include "schemadump.h"
#include "sqlscript.h"
#include "state.h"

/* The cluster to stop at exit if the run did not get to it. */
static struct nmig_cluster *volatile live_cluster;
/* Set by the signal handler: the signal number. */
static volatile sig_atomic_t got_signal;

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGNALS (sizeof(handled_signals) / sizeof(handled_signals[0]))
static struct sigaction old_actions[NSIGNALS];
static int signals_installed;

static void stop_at_exit(void)
{
	struct nmig_cluster *c = live_cluster;

	live_cluster = NULL;
	nmig_cluster_free(c);
}

/*
 * SIGINT, SIGTERM, SIGHUP: cancel the running query so that the run stops
 * on its normal path, which removes the cluster; a second signal tells the
 * server to go down at once.
 */
static void on_signal(int sig)
{
	if (!got_signal) {
		got_signal = sig;
		nmig_interrupt_request(sig);
	} else {
		nmig_cluster_kill(live_cluster);
	}
}

static void install_signals(void)
{
	struct sigaction sa;
	size_t i;

	if (signals_installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIGNALS; i++)
		sigaction(handled_signals[i], &sa, &old_actions[i]);
	signals_installed = 1;
}

/* Make the handler cancel queries on c (NULL: none), signals held. */
static void watch(struct nmig_conn *c)
{
	sigset_t block, old;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < NSIGNALS; i++)
		sigaddset(&block, handled_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	nmig_interrupt_watch(c);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void schemastate_release(struct schemastate *s)
{
	size_t i;

	if (s->cluster) {
		live_cluster = NULL;
		nmig_cluster_free(s->cluster);
		s->cluster = NULL;
	}
	if (signals_installed) {
		for (i = 0; i < NSIGNALS; i++)
			sigaction(handled_signals[i], &old_actions[i], NULL);
		signals_installed = 0;
	}
}

static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* The variable of "env:VAR", or NULL when spec is not of that form. */
static const char *env_var(const char *spec)
{
	return strncmp(spec, "env:", 4) == 0 ? spec + 4 : NULL;
}

static int connect_url(struct schemastate *s, const char *url,
		       struct nmig_conn **out)
{
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_conn_opts co;
	int err;

	memset(&co, 0, sizeof(co));
	co.connect_timeout_ms = s->g->cfg.connect_timeout_ms;
	err = nmig_conn_open(out, url, &co, &diags);
	if (!err)
		watch(*out);
	if (diags.n && !s->g->quiet)
		cli_report_diags(s->g, &diags);
	nmig_diags_release(&diags);
	return err;
}

/* The URL in variable var, or NMIG_ECONFIG naming it. */
static int url_from_env(const char *var, const char *what, const char **url)
{
	*url = env_value(var);
	if (!*var || !*url) {
		nmig_error_set(NMIG_ECONFIG,
			       "%s: environment variable '%s' is "
			       "not set",
			       what, var);
		nmig_error_hint("set it to the database's URL (in the "
				"environment or .env); a URL is never taken "
				"on the command line");
		return NMIG_ECONFIG;
	}
	return NMIG_OK;
}

/* 1 when the two URLs name the same database (host, port, dbname). */
static int same_database(const char *a, const char *b)
{
	struct nmig_conninfo x, y;
	int same;

	if (strcmp(a, b) == 0)
		return 1;
	if (nmig_conninfo_parse(&x, a))
		return 0;
	if (nmig_conninfo_parse(&y, b)) {
		nmig_conninfo_release(&x);
		return 0;
	}
	same = strcmp(x.host, y.host) == 0 &&
	       strcmp(x.hostaddr, y.hostaddr) == 0 &&
	       strcmp(x.port, y.port) == 0 && strcmp(x.dbname, y.dbname) == 0;
	nmig_conninfo_release(&x);
	nmig_conninfo_release(&y);
	nmig_error_clear();
	return same;
}

/* Objects of cat an empty database does not have. */
static size_t user_objects(const struct nmig_catalog *cat, const char **first)
{
	size_t i, n = 0;

	*first = NULL;
	for (i = 0; i < cat->n; i++) {
		const struct nmig_cat_obj *o = &cat->objs[i];

		if ((o->kind == NMIG_CAT_SCHEMA &&
		     strcmp(o->key, "public") == 0) ||
		    (o->kind == NMIG_CAT_EXTENSION &&
		     strcmp(o->key, "plpgsql") == 0) ||
		    o->kind == NMIG_CAT_COLUMN)
			continue;
		if (!n)
			*first = o->key;
		n++;
	}
	return n;
}

/*
 * A connection to an empty scratch database for one state: the
 * --dev-url database (refused when it is the deploy database or not
 * empty) or a new database on the temporary cluster.
 */
static int open_scratch(struct schemastate *s, struct nmig_conn **out)
{
	struct nmig_buf url = NMIG_BUF_INIT, sql = NMIG_BUF_INIT;
	const char *var, *dev, *main_var, *main_url;
	struct nmig_cluster_opts o;
	int err;

	*out = NULL;
	if (s->dev_url) {
		struct nmig_catalog cat = NMIG_CATALOG_INIT;
		const char *first;
		size_t n;

		if (!(var = env_var(s->dev_url))) {
			nmig_error_set(NMIG_EUSAGE,
				       "--dev-url takes env:VAR, got '%s'",
				       s->dev_url);
			nmig_error_hint("put the URL in a variable; a URL is "
					"never taken on the command line");
			return NMIG_EUSAGE;
		}
		if ((err = url_from_env(var, "--dev-url", &dev)))
			return err;
		main_var = s->g->cfg.url_env && *s->g->cfg.url_env
			       ? s->g->cfg.url_env
			       : "DATABASE_URL";
		main_url = env_value(main_var);
		if (main_url && same_database(dev, main_url)) {
			nmig_error_set(NMIG_ECONFIG,
				       "--dev-url names the same database as "
				       "%s",
				       main_var);
			nmig_error_hint(
			    "a state is built by running SQL on the "
			    "scratch database: give it an empty "
			    "database of its own");
			return NMIG_ECONFIG;
		}
		if ((err = connect_url(s, dev, out)))
			return err;
		err = nmig_catalog_read(&cat, *out, NULL, NULL);
		n = err ? 0 : user_objects(&cat, &first);
		if (n) {
			err = nmig_error_set(NMIG_ESTATE,
					     "the database of %s is not empty "
					     "(%zu object%s, e.g. '%s')",
					     var, n, n == 1 ? "" : "s", first);
			nmig_error_hint("--dev-url needs an empty database; "
					"nmig resets it after each state");
		}
		nmig_catalog_release(&cat);
		return err;
	}
	if (!s->cluster) {
		memset(&o, 0, sizeof(o));
		o.bindir = s->bindir;
		o.interrupted = &got_signal;
		if ((err = nmig_cluster_start(&s->cluster, &o)))
			return err;
		live_cluster = s->cluster;
		atexit(stop_at_exit);
	}
	nmig_buf_printf(&sql, "CREATE DATABASE nmig_state_%d", ++s->ndb);
	nmig_cluster_url(s->cluster, "postgres", &url);
	if ((err = connect_url(s, url.ptr, out)))
		goto cleanup;
	err = nmig_conn_exec(*out, "cannot create a scratch database", sql.ptr);
	watch(NULL);
	nmig_conn_close(*out);
	*out = NULL;
	if (err)
		goto cleanup;
	nmig_buf_clear(&url);
	nmig_buf_clear(&sql);
	nmig_buf_printf(&sql, "nmig_state_%d", s->ndb);
	nmig_cluster_url(s->cluster, sql.ptr, &url);
	err = connect_url(s, url.ptr, out);
cleanup:
	nmig_buf_release(&url);
	nmig_buf_release(&sql);
	return err;
}

/* Empty the --dev-url database again: drop what cat (read from it) has. */
static int reset_dev(struct nmig_conn *c, const struct nmig_catalog *cat)
{
	struct nmig_buf sql = NMIG_BUF_INIT;
	size_t i;
	int err;

	for (i = 0; i < cat->n; i++)
		if (cat->objs[i].kind == NMIG_CAT_SCHEMA)
			nmig_buf_printf(&sql, "DROP SCHEMA %s CASCADE;\n",
					cat->objs[i].key);
	nmig_buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS public;\n");
	err = nmig_buf_oom(&sql)
		  ? nmig_error_set(NMIG_ENOMEM, "out of memory")
		  : nmig_conn_exec(c, "cannot reset the --dev-url database",
				   sql.ptr);
	nmig_buf_release(&sql);
	return err;
}

int schemastate_markdown_sql(const char *path, const char *md, size_t len,
			     struct nmig_buf *out)
{
	size_t i = 0;
	int line = 0, in_sql = 0, fence_line = 0;

	while (i < len) {
		size_t end = i, k;
		const char *l = md + i;

		while (end < len && md[end] != '\n')
			end++;
		line++;
		k = 0;
		while (i + k < end && (l[k] == ' ' || l[k] == '\t'))
			k++;
		if (end - i - k >= 3 && strncmp(l + k, "```", 3) == 0) {
			const char *info = l + k + 3;
			size_t ilen = end - (size_t)(info - md);

			if (in_sql) {
				in_sql = 0;
			} else if ((ilen >= 3 &&
				    strncasecmp(info, "sql", 3) == 0 &&
				    (ilen == 3 || info[3] == ' ' ||
				     info[3] == '\r')) ||
				   (ilen >= 10 &&
				    strncasecmp(info, "postgresql", 10) == 0)) {
				in_sql = 1;
				fence_line = line;
			}
		} else if (in_sql) {
			nmig_buf_put(out, l, end - i);
		}
		nmig_buf_putc(out, '\n');
		i = end < len ? end + 1 : end;
	}
	if (in_sql) {
		nmig_error_set(NMIG_EINPUT,
			       "'%s': the ```sql block opened on line %d is "
			       "not closed",
			       path, fence_line);
		nmig_error_location(path, fence_line, 1, NULL);
		nmig_error_hint("end the block with a line of ```");
		return NMIG_EINPUT;
	}
	return nmig_buf_oom(out) ? nmig_error_set(NMIG_ENOMEM, "out of memory")
				 : NMIG_OK;
}

/*
 * The server gave no position for a failure of the whole script (an
 * error found when a statement ran, not when it was parsed): run the
 * statements one by one to find the one that fails and put its
 * file:line:col on the original error. The scratch database is thrown
 * away or reset afterwards, so running them again does no harm.
 */
static void locate_failure(struct nmig_conn *c, const struct nmig_script *sc,
			   const char *path)
{
	struct nmig_error saved = *nmig_error_last();
	struct nmig_buf stmt = NMIG_BUF_INIT;
	size_t k;

	for (k = 0; k < sc->n; k++) {
		const struct nmig_stmt *st = &sc->stmts[k];

		nmig_buf_clear(&stmt);
		nmig_buf_put(&stmt, sc->text + st->offset, st->len);
		if (got_signal || nmig_buf_oom(&stmt) ||
		    nmig_conn_exec(c, path, stmt.ptr))
			break;
	}
	nmig_error_restore(&saved);
	if (k < sc->n && !got_signal) {
		const struct nmig_stmt *st = &sc->stmts[k];
		const char *line = sc->text + st->offset;
		char src[1024];
		size_t n = 0;

		while (line > sc->text && line[-1] != '\n')
			line--;
		while (line[n] && line[n] != '\n' && n < sizeof(src) - 1) {
			src[n] = line[n];
			n++;
		}
		src[n] = '\0';
		nmig_error_location(path, st->line, st->col, src);
	}
	nmig_buf_release(&stmt);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Apply one SQL or Markdown file on c; errors at the file's lines. */
static int apply_file(struct schemastate *s, struct nmig_conn *c,
		      const char *path)
{
	struct nmig_script sc;
	struct nmig_buf text = NMIG_BUF_INIT, sql = NMIG_BUF_INIT;
	size_t cap = s->g->cfg.max_file_size ? s->g->cfg.max_file_size
					     : NMIG_MAX_FILE_SIZE;
	int err;

	memset(&sc, 0, sizeof(sc));
	if (ends_with(path, ".md") || ends_with(path, ".markdown")) {
		err = nmig_buf_read_file(&text, path, cap);
		if (!err)
			err = schemastate_markdown_sql(path, text.ptr, text.len,
						       &sql);
		if (!err)
			err =
			    nmig_script_from_text(&sc, path, sql.ptr, sql.len);
	} else {
		err = nmig_script_load(&sc, path, cap);
	}
	if (!err) {
		struct nmig_diags diags = NMIG_DIAGS_INIT;

		if (nmig_script_check(&sc, 0, &diags)) {
			cli_report_diags(s->g, &diags);
			err = nmig_error_set(NMIG_EINPUT,
					     "'%s' does not parse: nothing was "
					     "run",
					     path);
		}
		nmig_diags_release(&diags);
	}
	if (!err)
		err = nmig_exec_script(c, &sc, path);
	if (err == NMIG_ESQL && nmig_error_last()->line == 0 && sc.n &&
	    !got_signal)
		locate_failure(c, &sc, path);
	nmig_script_release(&sc);
	nmig_buf_release(&text);
	nmig_buf_release(&sql);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Apply path: a file, or a directory's *.sql files in name order. */
static int apply_path(struct schemastate *s, struct nmig_conn *c,
		      const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	int err = NMIG_OK;

	if (stat(path, &st) != 0) {
		nmig_error_set(NMIG_EIO,
			       "cannot read '%s': no such file or "
			       "directory",
			       path);
		return NMIG_EIO;
	}
	if (!S_ISDIR(st.st_mode))
		return apply_file(s, c, path);
	if (!(d = opendir(path)))
		return nmig_error_set(NMIG_EIO, "cannot read directory '%s'",
				      path);
	while ((e = readdir(d))) {
		char **v;
		size_t len;

		if (e->d_name[0] == '.' || !ends_with(e->d_name, ".sql"))
			continue;
		v = realloc(names, (n + 1) * sizeof(*v));
		if (!v) {
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
			break;
		}
		names = v;
		len = strlen(path) + strlen(e->d_name) + 2;
		if (!(names[n] = malloc(len))) {
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
			break;
		}
		snprintf(names[n++], len, "%s/%s", path, e->d_name);
	}
	closedir(d);
	if (!err && n == 0)
		err = nmig_error_set(NMIG_EINPUT, "'%s' holds no .sql files",
				     path);
	if (!err)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && !err; i++)
		err = apply_file(s, c, names[i]);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

/*
 * The revisions applied in the database of the deploy URL (the variable
 * of db_url_var), marked in *out over graph: the `migrations@applied`
 * state. A dirty row or an applied revision missing from the files is
 * NMIG_ESTATE: no scratch database can reproduce it.
 */
static int applied_in_database(struct schemastate *s,
			       const struct nmig_graph *graph,
			       struct nmig_applied *out)
{
	const char *var = db_url_var(s->g), *url;
	struct nmig_conn *live = NULL;
	struct nmig_vtable vt;
	struct nmig_state st;
	const char **ids = NULL;
	size_t i;
	int err;

	memset(&vt, 0, sizeof(vt));
	memset(&st, 0, sizeof(st));
	if ((err = url_from_env(var, "migrations@applied", &url)) ||
	    (err = connect_url(s, url, &live)))
		return err;
	err = nmig_vtable_init(&vt, live, s->g->cfg.schema, s->g->cfg.table);
	if (!err)
		err = nmig_state_read(&st, live, &vt, 0);
	ids = calloc(st.n + 1, sizeof(*ids));
	if (!err && !ids)
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; !err && i < st.n; i++) {
		if (st.rows[i].dirty) {
			err = nmig_error_set(NMIG_ESTATE,
					     "revision %s is dirty in %s's "
					     "database",
					     st.rows[i].revision, var);
			nmig_error_hint("'nmig repair' records what happened "
					"first");
		}
		ids[i] = st.rows[i].revision;
	}
	if (!err)
		err = nmig_applied_init(out, graph, ids, st.n);
	if (!err && out->nunknown) {
		err = nmig_error_set(NMIG_ESTATE,
				     "revision %s is applied in %s's database "
				     "but not in the migration files",
				     out->unknown[0], var);
		nmig_error_hint("'nmig check' lists what the files lack");
	}
	free(ids);
	nmig_state_release(&st);
	nmig_vtable_release(&vt);
	watch(NULL);
	nmig_conn_close(live);
	return err;
}

/*
 * Apply the revisions of target (NULL: every head; "applied": those
 * applied in the deploy database) and their ancestors on c, in plan
 * order, through the engine as `upgrade` runs them.
 */
static int apply_migrations(struct schemastate *s, struct nmig_conn *c,
			    const struct nmig_vtable *vt, const char *target)
{
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	struct nmig_applied applied;
	struct nmig_plan plan;
	struct nmig_script *scripts = NULL;
	struct nmig_step *steps = NULL;
	struct nmig_exec_opts xo;
	struct nmig_exec_result xr;
	size_t n = 0, i,
	       cap = s->g->cfg.max_file_size ? s->g->cfg.max_file_size
					     : NMIG_MAX_FILE_SIZE;
	int err = NMIG_OK;

	memset(&set, 0, sizeof(set));
	memset(&xr, 0, sizeof(xr));
	memset(&applied, 0, sizeof(applied));
	memset(&plan, 0, sizeof(plan));
	if (cli_load_graph(s->g, &set, &graph)) {
		err = nmig_error_set(NMIG_EINPUT, "the migration files cannot "
						  "be loaded (see above)");
		goto cleanup;
	}
	if (target && strcmp(target, "applied") == 0) {
		size_t k;

		if ((err = applied_in_database(s, graph, &applied)))
			goto cleanup;
		plan.steps =
		    calloc(nmig_graph_count(graph) + 1, sizeof(*plan.steps));
		if (!plan.steps) {
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
		for (k = 0; k < nmig_graph_count(graph); k++)
			if (applied.mark[k])
				plan.steps[plan.n++] = k;
		plan.dir = NMIG_UP;
	} else if ((err = nmig_applied_init(&applied, graph, NULL, 0)) ||
		   (err = nmig_plan_upgrade(&plan, graph, &applied,
					    target ? target : "heads"))) {
		goto cleanup;
	}
	n = plan.n;
	scripts = calloc(n + 1, sizeof(*scripts));
	steps = calloc(n + 1, sizeof(*steps));
	if (!scripts || !steps) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n && !err; i++) {
		const struct nmig_revision *rev =
		    nmig_graph_rev(graph, plan.steps[i]);
		struct nmig_diags diags = NMIG_DIAGS_INIT;

		err = nmig_script_load(&scripts[i], rev->up.path, cap);
		if (!err && nmig_script_check(&scripts[i], rev->transactional,
					      &diags)) {
			cli_report_diags(s->g, &diags);
			err = nmig_error_set(NMIG_EINPUT,
					     "'%s' has errors: nothing was run",
					     rev->up.path);
		}
		nmig_diags_release(&diags);
		steps[i].rev = rev;
		steps[i].script = &scripts[i];
	}
	if (err || n == 0)
		goto cleanup;
	if ((err = nmig_state_lock(c, vt, s->g->cfg.lock_wait_ms, NULL)))
		goto cleanup;
	{
		struct nmig_state st;

		memset(&st, 0, sizeof(st));
		err = nmig_state_read(&st, c, vt, 1); /* creates the table */
		nmig_state_release(&st);
		if (err) {
			nmig_state_unlock(c, vt);
			goto cleanup;
		}
	}
	memset(&xo, 0, sizeof(xo));
	xo.dir = NMIG_UP;
	xo.lock_timeout_ms = s->g->cfg.lock_timeout_ms;
	xo.statement_timeout_ms = s->g->cfg.statement_timeout_ms;
	xo.nmig_version = NMIG_VERSION;
	err = nmig_exec_run(&xr, c, vt, steps, n, &xo);
	nmig_state_unlock(c, vt);
cleanup:
	nmig_exec_result_release(&xr);
	if (scripts)
		for (i = 0; i < n; i++)
			nmig_script_release(&scripts[i]);
	free(scripts);
	free(steps);
	nmig_plan_release(&plan);
	nmig_applied_release(&applied);
	nmig_graph_free(graph);
	nmig_revset_release(&set);
	return err;
}

int schemastate_read(struct schemastate *s, const char *spec,
		     struct nmig_catalog *out)
{
	struct nmig_vtable vt;
	struct nmig_conn *c = NULL;
	const char *var = env_var(spec), *url, *path = NULL, *target = NULL;
	int err, migrations = strcmp(spec, "migrations") == 0;

	if (strncmp(spec, "migrations@", 11) == 0 && spec[11]) {
		migrations = 1;
		target = spec + 11;
	}

	memset(out, 0, sizeof(*out));
	memset(&vt, 0, sizeof(vt));
	install_signals();
	if (var) {
		if ((err = url_from_env(var, spec, &url)) ||
		    (err = connect_url(s, url, &c)))
			return err;
		err =
		    nmig_vtable_init(&vt, c, s->g->cfg.schema, s->g->cfg.table);
		if (!err)
			err = nmig_catalog_read(out, c, vt.schema, vt.name);
		goto cleanup;
	}
	if (strcmp(spec, "schema") == 0) {
		path = s->g->cfg.schema_file;
		if (!path) {
			nmig_error_set(NMIG_ECONFIG,
				       "the 'schema' state needs schema_file "
				       "in nmig.conf");
			nmig_error_hint("e.g. schema_file = schema.sql (a .sql "
					"file, a directory of them, or a "
					"Markdown spec)");
			return NMIG_ECONFIG;
		}
	} else if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
		path = spec + 5;
	} else if (!migrations) {
		nmig_error_set(NMIG_EUSAGE, "unknown state '%s'", spec);
		nmig_error_hint("a state is migrations, migrations@REV, "
				"migrations@applied, schema, file:PATH or "
				"env:VAR");
		return NMIG_EUSAGE;
	}
	if ((err = open_scratch(s, &c)))
		goto cleanup;
	err = nmig_vtable_init(&vt, c, s->g->cfg.schema, s->g->cfg.table);
	if (!err)
		err = migrations ? apply_migrations(s, c, &vt, target)
				 : apply_path(s, c, path);
	if (!err)
		err = nmig_catalog_read(out, c, vt.schema, vt.name);
	if (s->dev_url && c) {
		/* empty it again, also after a failure half-way */
		struct nmig_error saved = *nmig_error_last();
		struct nmig_catalog now = NMIG_CATALOG_INIT;
		int e2 = nmig_catalog_read(&now, c, NULL, NULL);

		if (!e2)
			e2 = reset_dev(c, &now);
		nmig_catalog_release(&now);
		if (!err)
			err = e2;
		else
			nmig_error_restore(&saved);
	}
cleanup:
	nmig_vtable_release(&vt);
	watch(NULL);
	if (c)
		nmig_conn_close(c);
	if (got_signal)
		err = nmig_interrupt_error("while building the state; the "
					   "scratch database is removed");
	return err;
}

/* ---- proving a plan on a scratch database ---- */

struct firsts {
	struct nmig_buf text;
	size_t n;
};

static void note_difference(void *ud, enum nmig_cat_change ch,
			    const struct nmig_cat_obj *oa,
			    const struct nmig_cat_obj *ob)
{
	struct firsts *f = ud;
	const struct nmig_cat_obj *o = oa ? oa : ob;

	if (f->n++ >= 5)
		return;
	nmig_buf_printf(&f->text, "%s%s %s (%s)", f->n > 1 ? "; " : "",
			nmig_cat_kind_name(o), o->key,
			ch == NMIG_CAT_ADDED	 ? "missing"
			: ch == NMIG_CAT_REMOVED ? "left over"
						 : "different");
}

/* NMIG_OK when have equals want, else NMIG_EINPUT naming what differs. */
static int compare_states(const struct nmig_catalog *have,
			  const struct nmig_catalog *want, unsigned flags,
			  const char *what)
{
	struct firsts f;
	int err = NMIG_OK;

	nmig_buf_init(&f.text);
	f.n = 0;
	nmig_catalog_diff(have, want, flags, note_difference, &f);
	if (f.n) {
		err = nmig_error_set(NMIG_EINPUT, "%s: %zu object%s differ%s",
				     what, f.n, f.n == 1 ? "" : "s",
				     f.n == 1 ? "s" : "");
		nmig_error_detail("%s%s", f.text.ptr, f.n > 5 ? "; ..." : "");
	}
	nmig_buf_release(&f.text);
	return err;
}

/* Run one step's statements: in a transaction, or one by one. */
static int run_step(struct nmig_conn *c, const char *sql, int tx,
		    const char *what)
{
	struct nmig_script sc;
	struct nmig_buf one = NMIG_BUF_INIT;
	size_t i;
	int err;

	if (tx) {
		nmig_buf_printf(&one, "BEGIN;\n%sCOMMIT;\n", sql);
		err = nmig_buf_oom(&one)
			  ? nmig_error_set(NMIG_ENOMEM, "out of memory")
			  : nmig_conn_exec(c, what, one.ptr);
		if (err && err != NMIG_ECONNECT) {
			struct nmig_error saved = *nmig_error_last();

			nmig_conn_exec(c, what, "ROLLBACK");
			nmig_error_restore(&saved);
		}
		nmig_buf_release(&one);
		return err;
	}
	memset(&sc, 0, sizeof(sc));
	err = nmig_script_from_text(&sc, what, sql, strlen(sql));
	for (i = 0; !err && i < sc.n; i++) {
		nmig_buf_clear(&one);
		nmig_buf_put(&one, sc.text + sc.stmts[i].offset,
			     sc.stmts[i].len);
		err = nmig_conn_exec(c, what, one.ptr);
	}
	nmig_script_release(&sc);
	nmig_buf_release(&one);
	return err;
}

int schemastate_proof_open(struct schemastate *s,
			  const struct nmig_catalog *from, unsigned flags,
			  struct nmig_conn **out)
{
	struct nmig_buf dump = NMIG_BUF_INIT;
	int err;

	*out = NULL;
	if ((err = nmig_schema_dump(&dump, from)))
		goto cleanup;
	if ((err = open_scratch(s, out)))
		goto cleanup;
	if ((err = run_step(*out, dump.ptr, 1,
			    "rebuilding the from state on the scratch "
			    "database")))
		goto cleanup;
	err = schemastate_proof_check(s, *out, from, flags,
				      "the from state cannot be rebuilt on "
				      "the scratch database");
cleanup:
	nmig_buf_release(&dump);
	if (err && *out) {
		schemastate_proof_close(s, *out);
		*out = NULL;
	}
	return err;
}

int schemastate_proof_step(struct schemastate *s, struct nmig_conn *c,
			   const char *sql, int tx, const char *what)
{
	int err = run_step(c, sql, tx, what);

	if (got_signal)
		err = nmig_interrupt_error("while proving the plan; the "
					   "scratch database is removed");
	(void)s;
	return err;
}

int schemastate_proof_read(struct schemastate *s, struct nmig_conn *c,
			   struct nmig_catalog *out)
{
	(void)s;
	return nmig_catalog_read(out, c, NULL, NULL);
}

int schemastate_proof_check(struct schemastate *s, struct nmig_conn *c,
			    const struct nmig_catalog *want, unsigned flags,
			    const char *what)
{
	struct nmig_catalog now = NMIG_CATALOG_INIT;
	int err = schemastate_proof_read(s, c, &now);

	if (!err)
		err = compare_states(&now, want, flags, what);
	nmig_catalog_release(&now);
	return err;
}

void schemastate_proof_close(struct schemastate *s, struct nmig_conn *c)
{
	if (!c)
		return;
	if (s->dev_url) {
		struct nmig_error saved = *nmig_error_last();
		struct nmig_catalog left = NMIG_CATALOG_INIT;

		if (!nmig_catalog_read(&left, c, NULL, NULL))
			reset_dev(c, &left);
		nmig_catalog_release(&left);
		nmig_error_restore(&saved);
	}
	watch(NULL);
	nmig_conn_close(c);
}
