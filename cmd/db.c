/*
 * The shared setup of the database commands: settings from nmig.conf and
 * the command line, the .env file and the URL variable, connecting under
 * the TLS policy, the version table and its lock, reading and judging the
 * applied state, loading the files a plan runs, and printing progress as
 * migrations complete (a live line on a terminal). The round-trip trace
 * (-v or NMIG_TRACE_ROUNDTRIPS=1) is printed when the command ends.
 */
#include "db.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "dsn.h"
#include "clock.h"
#include "env.h"
#include "error.h"
#include "interrupt.h"
#include "migrate.h"
#include "signals.h"
#include "production.h"
#include "revfile.h"
#include "sqlscript.h"

double db_elapsed_ms(const struct cli_db *db)
{
	return nmig_clock_ms() - db->t0;
}

/* Parse a duration option into *ms when given. */
static int duration_opt(struct cli_db *db, const char *value, const char *name,
			int *ms)
{
	if (!value)
		return NMIG_EXIT_OK;
	if (nmig_duration_parse(value, name, ms))
		return cli_report_error(db->g);
	return NMIG_EXIT_OK;
}

int db_init(struct cli_db *db, struct cli_global *g, const struct db_opts *o)
{
	int rc;

	memset(db, 0, sizeof(*db));
	db->g = g;
	db->t0 = nmig_clock_ms();
	db->tty = isatty(STDOUT_FILENO);
	db->lock_wait_ms = g->cfg.lock_wait_ms;
	db->lock_timeout_ms = g->cfg.lock_timeout_ms;
	db->statement_timeout_ms = g->cfg.statement_timeout_ms;
	db->lock_retries = g->cfg.lock_retries;
	db->connect_timeout_ms = g->cfg.connect_timeout_ms;
	db->allow_insecure = o->allow_insecure;
	db->no_lock = o->no_lock;
	if ((rc = duration_opt(db, o->lock_wait, "--lock-wait",
			       &db->lock_wait_ms)) ||
	    (rc = duration_opt(db, o->lock_timeout, "--lock-timeout",
			       &db->lock_timeout_ms)) ||
	    (rc = duration_opt(db, o->statement_timeout, "--statement-timeout",
			       &db->statement_timeout_ms)) ||
	    (rc = duration_opt(db, o->connect_timeout, "--connect-timeout",
			       &db->connect_timeout_ms)))
		return rc;
	if (o->lock_retries) {
		char *end;
		long v;

		errno = 0;
		v = strtol(o->lock_retries, &end, 10);
		if (end == o->lock_retries || *end || errno || v < 0 ||
		    v > 1000) {
			cli_errorf(g, "invalid value '%s' for --lock-retries",
				   o->lock_retries);
			cli_hintf(g, "give a number of retries from 0 to 1000");
			return NMIG_EXIT_USAGE;
		}
		db->lock_retries = (int)v;
	}
	return NMIG_EXIT_OK;
}

int db_production_guard(struct cli_db *db, const char *what,
			const struct db_opts *o)
{
	const char *var, *value = "";
	int len = 0;

	if (o->allow_production)
		return NMIG_EXIT_OK;
	var = production_env_value(&value, &len);
	if (!var)
		return NMIG_EXIT_OK;
	nmig_error_set(NMIG_EPRODUCTION,
		       "refusing to %s in production (%s is '%.*s')", what, var,
		       len, value);
	nmig_error_hint("pass --allow-production if you mean it");
	return cli_report_error(db->g);
}

int db_load(struct cli_db *db)
{
	return cli_load_graph(db->g, &db->set, &db->graph);
}

/* Call db->on_plan once for the pending target, if any. */
static void announce(struct cli_db *db, const struct nmig_plan *plan)
{
	const char *target = db->plan_target;

	if (!db->on_plan || !target)
		return;
	db->plan_target = NULL;
	db->on_plan(db, target, plan);
}

int db_fail(struct cli_db *db)
{
	announce(db, NULL);
	db_clear_live(db);
	return cli_report_error(db->g);
}

void db_clear_live(struct cli_db *db)
{
	if (db->live) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
		db->live = 0;
	}
}

/* Server notices: shown with -v only. */
static void on_notice(void *ud, const char *severity, const char *message)
{
	struct cli_db *db = ud;
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;

	if (!db->g->verbose || db->g->quiet)
		return;
	db_clear_live(db);
	for (i = 0; severity[i]; i++)
		nmig_buf_putc(&b,
			      (char)(severity[i] >= 'A' && severity[i] <= 'Z'
					 ? severity[i] - 'A' + 'a'
					 : severity[i]));
	nmig_buf_puts(&b, ": ");
	nmig_buf_puts(&b, message);
	while (b.len && b.ptr[b.len - 1] == '\n')
		nmig_buf_truncate(&b, b.len - 1);
	cli_infof(db->g, "%s", b.ptr);
	nmig_buf_release(&b);
}

/*
 * A transient connection failure before a retry: the first one is shown
 * (a Neon compute waking up takes seconds), the others with -v.
 */
static void on_retry(void *ud, int attempt, int wait_ms, const char *message)
{
	struct cli_db *db = ud;
	size_t len = strcspn(message, "\n");

	if (attempt > 1 && !db->g->verbose)
		return;
	cli_infof(db->g,
		  "connection attempt %d failed (%.*s); retrying in "
		  "%.1f s",
		  attempt, (int)len, message, wait_ms / 1000.0);
}

const char *db_url_var(const struct cli_global *g)
{
	return nmig_dsn_var(g->cfg.url_env);
}

int db_libpq_env_set(void)
{
	return nmig_dsn_libpq_env_set();
}

int db_find_url(struct cli_global *g, const char **url)
{
	return nmig_dsn_find(g->cfg.root, g->cfg.url_env, url);
}

/*
 * Connect to url under the TLS policy and set up the version table names.
 * Warnings are printed; returns NMIG_OK or a libnmig code.
 */
static int open_conn(struct cli_db *db, const char *url)
{
	struct cli_global *g = db->g;
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_conn_opts co;
	struct nmig_conninfo ci;
	struct nmig_buf where = NMIG_BUF_INIT;
	int err;

	if (g->verbose && nmig_conninfo_parse(&ci, url) == NMIG_OK) {
		nmig_conninfo_display(&ci, &where);
		cli_infof(g, "connecting to %s", where.ptr);
		nmig_conninfo_release(&ci);
	}
	memset(&co, 0, sizeof(co));
	co.connect_timeout_ms = db->connect_timeout_ms;
	co.allow_insecure = db->allow_insecure;
	co.on_notice = on_notice;
	co.on_retry = on_retry;
	co.ud = db;
	err = nmig_conn_open(&db->conn, url, &co, &diags);
	if (diags.n && !g->quiet)
		cli_report_diags(g, &diags);
	if (!err)
		err = nmig_vtable_init(&db->table, db->conn, g->cfg.schema,
				       g->cfg.table);
	nmig_diags_release(&diags);
	nmig_buf_release(&where);
	return err;
}

int db_connect(struct cli_db *db)
{
	const char *url;

	if (nmig_dsn_require(db->g->cfg.root, db->g->cfg.url_env, &url) ||
	    open_conn(db, url))
		return db_fail(db);
	/* A signal (when handlers are installed) cancels its queries. */
	nmig_interrupt_watch(db->conn);
	return NMIG_EXIT_OK;
}

int db_attach(struct cli_db *db, struct cli_global *g, struct nmig_graph *graph)
{
	const struct db_opts o = {0};
	const char *url;
	int err;

	db_init(db, g, &o);
	if (db->connect_timeout_ms > DB_ATTACH_CONNECT_MS)
		db->connect_timeout_ms = DB_ATTACH_CONNECT_MS;
	db->graph = graph;
	db->borrowed_graph = 1;
	if (!g->use_db)
		return 0;
	err = nmig_dsn_require(g->cfg.root, g->cfg.url_env, &url);
	if (err)
		return err;
	err = open_conn(db, url);
	if (!err)
		err = nmig_state_read(&db->state, db->conn, &db->table, 0);
	if (!err)
		err = nmig_state_analyze(&db->report, &db->state, db->graph);
	if (err)
		return err;
	db->have_report = 1;
	return 1;
}

/* Say (with -v) that a pooler was seen and the session lock not taken. */
static void pooled_note(struct cli_db *db)
{
	if (nmig_conn_pooled(db->conn) && !nmig_conn_info(db->conn)->pooler && db->g->verbose)
		cli_infof(db->g,
			  "a connection pooler is in between (the server's "
			  "backend pid differs from the connection's): no "
			  "session lock; the version-row guard keeps "
			  "concurrent runs apart");
}

/*
 * Take the session advisory lock, unless --no-lock was given or a
 * transaction-mode pooler is in between (by name, or by behaviour: the
 * lock query takes no lock when the server's pid is not the one the
 * connection reports), where a session lock lands on whichever server
 * connection the pooler picks and may never be released. Without it the
 * version row, inserted first in each migration's transaction, still makes
 * a concurrent runner fail cleanly instead of applying a migration twice.
 * The lock lasts until the connection closes (db_release).
 */
int db_lock(struct cli_db *db)
{
	if (db->no_lock || (db->conn && nmig_conn_info(db->conn)->pooler))
		return NMIG_EXIT_OK;
	if (nmig_state_lock(db->conn, &db->table, db->lock_wait_ms, NULL))
		return db_fail(db);
	db->locked = !nmig_conn_pooled(db->conn);
	pooled_note(db);
	return NMIG_EXIT_OK;
}

/* nmig_migrate's notes: waits and concurrent runs are said, the rest -v. */
static void migrate_on_note(void *ud, enum nmig_migrate_note kind,
			    const char *message)
{
	struct cli_db *db = ud;

	db_clear_live(db);
	switch (kind) {
	case NMIG_NOTE_WAITING:
	case NMIG_NOTE_CONCURRENT:
		if (!db->g->quiet)
			cli_infof(db->g, "%s", message);
		break;
	case NMIG_NOTE_POOLED:
		if (db->g->verbose)
			cli_infof(db->g, "%s", message);
		break;
	case NMIG_NOTE_DRIFT:
		cli_warnf(db->g, "%s", message);
		break;
	}
}

/* Take the state, report and done list of a migrate result into db. */
static void adopt(struct cli_db *db, struct nmig_migrate_result *mr)
{
	if (db->have_report)
		nmig_state_report_release(&db->report);
	nmig_state_release(&db->state);
	db->state = mr->state;
	db->report = mr->report;
	db->have_report = mr->have_report;
	memset(&mr->state, 0, sizeof(mr->state));
	memset(&mr->report, 0, sizeof(mr->report));
	mr->have_report = 0;
	db->locked = mr->locked;
	free(db->done_revs);
	free(db->done_ms);
	db->done_revs = mr->done;
	db->done_ms = mr->done_ms;
	db->ndone = mr->ndone;
	mr->done = NULL;
	mr->done_ms = NULL;
}

int db_begin(struct cli_db *db)
{
	struct nmig_migrate_opts mo;
	struct nmig_migrate_result mr;
	int err;

	memset(&mo, 0, sizeof(mo));
	mo.no_lock = db->no_lock;
	mo.lock_wait_ms = db->lock_wait_ms;
	mo.on_note = migrate_on_note;
	mo.ud = db;
	err = nmig_migrate_begin(&mr, db->conn, &db->table, db->graph, &mo);
	adopt(db, &mr);
	nmig_migrate_result_release(&mr);
	return err ? db_fail(db) : NMIG_EXIT_OK;
}

int db_read(struct cli_db *db, int create)
{
	if (db->have_report) {
		nmig_state_report_release(&db->report);
		db->have_report = 0;
	}
	nmig_state_release(&db->state);
	if (nmig_state_read(&db->state, db->conn, &db->table, create))
		return db_fail(db);
	if (nmig_state_analyze(&db->report, &db->state, db->graph))
		return db_fail(db);
	db->have_report = 1;
	return NMIG_EXIT_OK;
}

/*
 * Remember the applied set this run leaves (the files' revisions marked
 * applied) in the plan cache under the database's key, for the offline
 * commands. The cache only ever helps: its warnings show with -v only.
 */
static void record_observed(struct cli_db *db)
{
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_buf path = NMIG_BUF_INIT, key = NMIG_BUF_INIT;
	struct nmig_cache *cache = NULL;
	size_t count = nmig_graph_count(db->graph), n = 0, i;
	const char **ids = malloc((count ? count : 1) * sizeof(*ids));
	const char *host, *port, *dbname, *user;

	if (!ids)
		return;
	if (db->g->no_cache || db->g->cfg.cache_off) {
		free(ids);
		return;
	}
	for (i = 0; i < count; i++)
		if (db->report.mark[i])
			ids[n++] = nmig_graph_rev(db->graph, i)->id;
	if (db->g->cfg.cache)
		nmig_buf_puts(&path, db->g->cfg.cache);
	else
		nmig_cache_default_path(&path, db->g->cfg.dir ? db->g->cfg.dir
							      : "migrations");
	nmig_conn_where(db->conn, &host, &port, &dbname, &user);
	nmig_cache_dbkey(&key, host, port, dbname, user);
	if (!nmig_buf_oom(&path) && !nmig_buf_oom(&key) &&
	    nmig_cache_open(&cache, path.ptr, &diags) == NMIG_OK && cache)
		nmig_cache_applied_put(cache, key.ptr, ids, n);
	nmig_cache_close(cache);
	if (diags.n && db->g->verbose)
		cli_report_diags(db->g, &diags);
	nmig_diags_release(&diags);
	nmig_buf_release(&path);
	nmig_buf_release(&key);
	free(ids);
}

void db_release(struct cli_db *db)
{
	const char *trace = getenv("NMIG_TRACE_ROUNDTRIPS");

	db_clear_live(db);
	if (db->have_report && db->graph && db->conn &&
	    !nmig_conn_lost(db->conn))
		record_observed(db);
	/* A session lock ends with the session: no round trip to unlock. */
	if (db->conn &&
	    (db->g->verbose || (trace && strcmp(trace, "1") == 0))) {
		fprintf(stderr, "connect: %d attempt%s\n", nmig_conn_attempts(db->conn),
			nmig_conn_attempts(db->conn) == 1 ? "" : "s");
		fprintf(stderr, "round trips: %ld\n", nmig_conn_roundtrips(db->conn));
	}
	free(db->done_revs);
	free(db->done_ms);
	db->done_revs = NULL;
	db->done_ms = NULL;
	if (db->have_report)
		nmig_state_report_release(&db->report);
	nmig_state_release(&db->state);
	nmig_vtable_release(&db->table);
	nmig_conn_close(db->conn);
	db->conn = NULL;
	if (db->graph && !db->borrowed_graph)
		nmig_graph_free(db->graph);
	db->graph = NULL;
	nmig_revset_release(&db->set);
}

void db_on_event(void *ud, const struct nmig_exec_event *ev)
{
	struct cli_db *db = ud;
	struct cli_global *g = db->g;
	int down = db->dir == NMIG_DOWN;

	switch (ev->kind) {
	case NMIG_EXEC_START:
		if (db->tty && !g->quiet && !g->json) {
			if (db->plan_n > 1)
				printf("[%zu/%zu, %.1f s] ", db->ndone + 1,
				       db->plan_n, db_elapsed_ms(db) / 1000.0);
			printf("%s %s ", down ? "reverting" : "applying",
			       ev->rev->id);
			cli_put_safe(stdout, ev->rev->message);
			fputs(" ...", stdout);
			fflush(stdout);
			db->live = 1;
		}
		break;
	case NMIG_EXEC_DONE:
		db_clear_live(db);
		db->ndone++;
		if (!g->quiet && !g->json) {
			printf("%s%s%s %s ", cli_c_green(g),
			       down ? "reverted" : "applied", cli_c_reset(g),
			       ev->rev->id);
			cli_put_safe(stdout, ev->rev->message);
			printf(" (%.0f ms)\n", ev->ms);
			fflush(stdout);
		}
		break;
	case NMIG_EXEC_RETRY:
		db_clear_live(db);
		cli_warnf(g,
			  "migration %s hit a lock timeout; retrying in "
			  "%.1f s (retry %d of %d)",
			  ev->rev->id, ev->wait_ms / 1000.0, ev->attempt,
			  db->lock_retries);
		break;
	}
}

/* Applied heads from the current mark: marked, no marked child. */
void db_print_at(struct cli_db *db, FILE *out)
{
	size_t count = nmig_graph_count(db->graph), n, i, nc;
	size_t *heads = malloc((count ? count : 1) * sizeof(*heads));

	if (!heads)
		return;
	n = nmig_graph_marked_heads(db->graph, db->report.mark, heads);
	if (n == 0)
		fputs("base", out);
	for (i = 0; i < n; i++) {
		nmig_graph_children(db->graph, heads[i], &nc);
		fprintf(out, "%s%s%s", i ? ", " : "",
			nmig_graph_rev(db->graph, heads[i])->id,
			nc == 0 ? " (head)" : "");
	}
	free(heads);
}

void db_json_heads(struct cli_db *db, FILE *out)
{
	size_t count = nmig_graph_count(db->graph), n, i;
	size_t *heads = malloc((count ? count : 1) * sizeof(*heads));

	fputc('[', out);
	if (heads) {
		n = nmig_graph_marked_heads(db->graph, db->report.mark, heads);
		for (i = 0; i < n; i++) {
			if (i)
				fputc(',', out);
			cli_json_str(out,
				     nmig_graph_rev(db->graph, heads[i])->id);
		}
	}
	fputc(']', out);
	free(heads);
}

const char *db_rev_path(struct cli_db *db, const char *revision)
{
	long k = nmig_graph_find(db->graph, revision);

	return k >= 0 ? nmig_graph_rev(db->graph, (size_t)k)->up.path : NULL;
}

/* Print "database is at ..." (the applied heads) for the summaries. */
static void print_at_phrase(struct cli_db *db, FILE *out)
{
	size_t count = nmig_graph_count(db->graph), n, nc = 1;
	size_t *heads = malloc((count ? count : 1) * sizeof(*heads));

	if (!heads)
		return;
	n = nmig_graph_marked_heads(db->graph, db->report.mark, heads);
	if (n == 1)
		nmig_graph_children(db->graph, heads[0], &nc);
	if (n == 1 && nc == 0)
		fprintf(out, "head %s",
			nmig_graph_rev(db->graph, heads[0])->id);
	else
		db_print_at(db, out);
	free(heads);
}

/* The JSON array of the migrations run (or planned). */
static void json_runs(FILE *out, const struct nmig_revision *const *revs,
		      const double *ms, size_t n)
{
	size_t i;

	fputc('[', out);
	for (i = 0; i < n; i++) {
		fputs(i ? ",{\"revision\":" : "{\"revision\":", out);
		cli_json_str(out, revs[i]->id);
		fputs(",\"message\":", out);
		cli_json_str(out, revs[i]->message);
		if (ms)
			fprintf(out, ",\"ms\":%.0f", ms[i]);
		fputc('}', out);
	}
	fputc(']', out);
}

/* The closing JSON object of upgrade / downgrade. */
static void json_summary(struct cli_db *db, enum nmig_direction dir,
			 const struct nmig_plan *plan, int dry_run, int failed)
{
	const struct nmig_error *e = nmig_error_last();
	FILE *out = stdout;

	fprintf(out, "{\"direction\":\"%s\"", dir == NMIG_UP ? "up" : "down");
	if (dry_run) {
		const struct nmig_revision **revs =
		    malloc((plan->n ? plan->n : 1) * sizeof(*revs));
		size_t i;

		fputs(",\"dry_run\":true,\"plan\":", out);
		if (revs) {
			for (i = 0; i < plan->n; i++)
				revs[i] =
				    nmig_graph_rev(db->graph, plan->steps[i]);
			json_runs(out, revs, NULL, plan->n);
			free(revs);
		} else {
			fputs("[]", out);
		}
	}
	fputs(",\"applied\":", out);
	json_runs(out, db->done_revs, db->done_ms, db->ndone);
	fprintf(out, ",\"elapsed_ms\":%.0f,\"current\":", db_elapsed_ms(db));
	db_json_heads(db, out);
	if (failed) {
		fputs(",\"error\":{\"message\":", out);
		cli_json_str(out, e->message);
		fputs(",\"sqlstate\":", out);
		cli_json_str(out, e->sqlstate[0] ? e->sqlstate : NULL);
		fputs(",\"file\":", out);
		cli_json_str(out, e->file[0] ? e->file : NULL);
		fprintf(out, ",\"line\":%d,\"col\":%d}", e->line, e->col);
	}
	fputs("}\n", out);
}


/*
 * After a failed or interrupted run: which planned migrations did not
 * run (the failed one included), so that nothing is left to guess.
 */
static void print_not_run(struct cli_db *db, const struct nmig_plan *plan)
{
	size_t i, n = 0, shown = 0;

	for (i = 0; i < plan->n; i++) {
		long k = plan->steps[i];
		int applied = db->report.mark[k];

		if ((plan->dir == NMIG_UP) != applied)
			n++;
	}
	if (n == 0)
		return;
	printf("not %s (%zu): ", plan->dir == NMIG_UP ? "applied" : "reverted",
	       n);
	for (i = 0; i < plan->n && shown < 10; i++) {
		long k = plan->steps[i];

		if ((plan->dir == NMIG_UP) == (db->report.mark[k] != 0))
			continue;
		printf("%s%s", shown ? ", " : "",
		       nmig_graph_rev(db->graph, (size_t)k)->id);
		shown++;
	}
	if (n > shown)
		printf(", ... and %zu more", n - shown);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Print the plan of a dry run. */
static void print_dry_run(struct cli_db *db, const struct nmig_plan *plan)
{
	struct cli_global *g = db->g;
	size_t i;

	if (g->quiet)
		return;
	for (i = 0; i < plan->n; i++) {
		const struct nmig_revision *rev =
		    nmig_graph_rev(db->graph, plan->steps[i]);

		printf("would %s %s ",
		       plan->dir == NMIG_UP ? "apply" : "revert", rev->id);
		cli_put_safe(stdout, rev->message);
		if (!rev->transactional)
			fputs(" (outside a transaction)", stdout);
		fputc('\n', stdout);
	}
	printf("dry run: %zu revision%s would be %s; nothing was changed\n",
	       plan->n, plan->n == 1 ? "" : "s",
	       plan->dir == NMIG_UP ? "applied" : "reverted");
}

/* nmig_migrate's plan callback: the production announcement. */
static void migrate_on_plan(void *ud, const struct nmig_plan *plan)
{
	struct cli_db *db = ud;

	db->plan_n = plan->n;
	db->ndone = 0;
	announce(db, plan);
}

int db_migrate(struct cli_db *db, enum nmig_direction dir, const char *target,
	       int dry_run, int allow_drift)
{
	struct cli_global *g = db->g;
	struct nmig_migrate_opts mo;
	struct nmig_migrate_result mr;
	const struct nmig_plan *plan = &mr.plan;
	int rc, err, ran;

	memset(&mr, 0, sizeof(mr));
	if (!dry_run)
		cli_signals_install();
	if ((rc = db_load(db)) || (rc = db_connect(db)))
		return rc;
	db->plan_target = target;
	db->dir = dir;
	memset(&mo, 0, sizeof(mo));
	mo.dir = dir;
	mo.target = target;
	mo.dry_run = dry_run;
	mo.allow_drift = allow_drift;
	mo.no_lock = db->no_lock;
	mo.lock_wait_ms = db->lock_wait_ms;
	mo.lock_timeout_ms = db->lock_timeout_ms;
	mo.statement_timeout_ms = db->statement_timeout_ms;
	mo.lock_retries = db->lock_retries;
	mo.client_check_ms = DB_CLIENT_CHECK_MS;
	mo.max_file_size = g->cfg.max_file_size;
	mo.nmig_version = NMIG_VERSION;
	mo.on_plan = migrate_on_plan;
	mo.on_event = db_on_event;
	mo.on_note = migrate_on_note;
	mo.ud = db;
	db->plan_n = 0;
	err = nmig_migrate(&mr, db->conn, &db->table, db->graph, &mo);
	ran = mr.done != NULL;
	adopt(db, &mr);
	if (err && !ran) {
		/* Stopped before anything ran. */
		if (mr.diags.errors) {
			announce(db, NULL);
			cli_report_diags(g, &mr.diags);
			cli_hintf(g, "nothing was run; fix the files above");
			rc = NMIG_EXIT_INPUT;
		} else {
			rc = db_fail(db);
		}
		goto cleanup;
	}
	if (mr.diags.n && g->verbose)
		cli_report_diags(g, &mr.diags);
	if (!err && plan->n == 0) {
		if (g->json) {
			json_summary(db, dir, plan, dry_run, 0);
		} else if (!g->quiet) {
			fputs("nothing to do: database is at ", stdout);
			print_at_phrase(db, stdout);
			fputc('\n', stdout);
		}
		goto cleanup;
	}
	if (!err && dry_run) {
		if (g->json)
			json_summary(db, dir, plan, dry_run, 0);
		else
			print_dry_run(db, plan);
		goto cleanup;
	}
	if (err) {
		rc = db_fail(db);
		if (!g->json && !g->quiet)
			print_not_run(db, plan);
	}
	if (g->json) {
		json_summary(db, dir, plan, 0, err != 0);
	} else if (!g->quiet) {
		if (err)
			printf("%s %zu of %zu revision%s in %.2f s; at ",
			       dir == NMIG_UP ? "upgraded" : "downgraded",
			       db->ndone, plan->n, plan->n == 1 ? "" : "s",
			       db_elapsed_ms(db) / 1000.0);
		else
			printf("%s %zu revision%s in %.2f s; at ",
			       dir == NMIG_UP ? "upgraded" : "downgraded",
			       db->ndone, db->ndone == 1 ? "" : "s",
			       db_elapsed_ms(db) / 1000.0);
		db_print_at(db, stdout);
		fputc('\n', stdout);
	}
cleanup:
	db->plan_target = NULL;
	nmig_migrate_result_release(&mr);
	return rc;
}

int db_applied_marks(struct cli_global *g, struct nmig_graph *graph,
		     struct nmig_applied *applied)
{
	struct cli_db db;
	int rc, ok = 0;

	memset(applied, 0, sizeof(*applied));
	rc = db_attach(&db, g, graph);
	if (rc < 0) {
		cli_warnf(g, "cannot read the applied revisions: %s",
			  nmig_error_last()->message);
	} else if (rc == 1) {
		/* A set that is not ancestor-closed is still marked. */
		rc = nmig_applied_init(applied, graph, db.report.applied_ids,
				       db.report.napplied_ids);
		ok = applied->mark != NULL;
		if (!ok)
			cli_warnf(g, "cannot read the applied revisions: %s",
				  nmig_error_last()->message);
	}
	db_release(&db);
	return ok;
}

size_t db_check_stage(struct cli_global *g, struct nmig_graph *graph,
		      struct nmig_diags *diags, int *exit_code)
{
	struct cli_db db;
	size_t before = diags->errors;
	int rc;

	*exit_code = NMIG_EXIT_OK;
	rc = db_attach(&db, g, graph);
	if (rc < 0) {
		nmig_diags_add_last_error(diags, "db-connect");
		*exit_code = cli_exit_code(rc);
	}
	if (rc == 1 &&
	    nmig_state_findings(diags, &db.report, &db.state, graph) > 0)
		*exit_code = NMIG_EXIT_STATE;
	db_release(&db);
	return diags->errors - before;
}
