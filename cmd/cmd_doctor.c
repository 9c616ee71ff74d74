/*
 * nmig doctor: connect as the migration commands do (the URL, .env, the
 * TLS policy, retries) and report, as text or one JSON object, what a
 * migration run would meet: round-trip latency and its class, TLS, Neon
 * and pooler, the server's version, timeouts and connection usage, the
 * migration state (pending, drift, dirty, unknown revisions) and the
 * configuration nmig resolved, the URL with its password redacted. Exit
 * 0 when healthy, 1 when degraded or a problem was found (pending
 * revisions are not one), 5 when it cannot connect. Changes nothing and
 * takes no lock.
 */
#include "commands.h"
#include "db.h"
#include "doctor.h"
#include "production.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "error.h"

/* Ids listed in the text report before "and N more". */
#define TEXT_IDS 5

/* Where the database URL came from, for the config section. */
struct url_origin {
	const char *var;  /* the URL variable's name */
	int from_env;	  /* set before .env was read */
	char *redacted;	  /* the URL with its password as ***, or NULL */
	const char *from; /* "environment", ".env" or "libpq" */
};

/* After db_connect read .env: where the URL came from, redacted. */
static void url_origin_resolve(struct url_origin *u)
{
	const char *url = getenv(u->var);
	struct nmig_buf b = NMIG_BUF_INIT;

	if (!url || !*url) {
		u->from = "libpq";
		return;
	}
	u->from = u->from_env ? "environment" : ".env";
	nmig_conn_redact(url, url, &b);
	u->redacted = nmig_buf_oom(&b) ? NULL : nmig_buf_detach(&b, NULL);
	nmig_buf_release(&b);
}

/* A duration option into *ms when given (exit code). */
static int ms_option(struct cli_global *g, const char *value, const char *name,
		     int *ms)
{
	if (value && nmig_duration_parse(value, name, ms))
		return cli_report_error(g);
	return NMIG_EXIT_OK;
}

/*
 * The migration state into r->state: the files, then the version table
 * (read only, never created). A missing migrations directory is a gap, a
 * broken one or an unreadable table a problem. Exit code for a lost
 * connection or no memory, else NMIG_EXIT_OK.
 */
static int read_state(struct cli_db *db, struct nmig_doctor_report *r)
{
	const char *dir = db->g->cfg.dir ? db->g->cfg.dir : "migrations";
	struct stat st;
	int err;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		err = nmig_doctor_state_unchecked(
		    &r->state, 0, "no migrations directory '%s'", dir);
	else if (db_load(db))
		err = nmig_doctor_state_unchecked(
		    &r->state, 1,
		    "the migration files in '%s' cannot be loaded (the errors "
		    "are above)",
		    dir);
	else if ((err = nmig_state_read(&db->state, db->conn, &db->table, 0)) ||
		 (err =
		      nmig_state_analyze(&db->report, &db->state, db->graph))) {
		if (err == NMIG_ENOMEM || nmig_conn_lost(db->conn))
			return db_fail(db);
		err = nmig_doctor_state_unchecked(
		    &r->state, 1, "cannot read %s: %s", db->table.display,
		    nmig_error_last()->message);
	} else {
		db->have_report = 1;
		err = nmig_doctor_state_fill(&r->state, &db->state, &db->report,
					     db->graph);
	}
	return err ? db_fail(db) : NMIG_EXIT_OK;
}

/* "  key                  " in the text report. */
static void key(const char *k)
{
	printf("  %-21s ", k);
}

/* A text line "key value" with value sanitised. */
static void line_str(const char *k, const char *v)
{
	key(k);
	cli_put_safe(stdout, v ? v : "");
	fputc('\n', stdout);
}

/* A text line "key <formatted>"; the arguments are trusted text. */
static void line_fmt(const char *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void line_fmt(const char *k, const char *fmt, ...)
{
	va_list ap;

	key(k);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* A text line "key N: 'a', 'b' and M more" or "key none". */
static void line_ids(const char *k, const char *const *ids, size_t n)
{
	size_t i;

	key(k);
	if (n == 0) {
		fputs("none\n", stdout);
		return;
	}
	printf("%zu:", n);
	for (i = 0; i < n && i < TEXT_IDS; i++) {
		fputs(i ? ", " : " ", stdout);
		cli_put_safe(stdout, ids[i]);
	}
	if (n > TEXT_IDS)
		printf(" and %zu more", n - TEXT_IDS);
	fputc('\n', stdout);
}

/* The colour of a health class. */
static const char *health_color(const struct cli_global *g, enum nmig_health h)
{
	return h == NMIG_HEALTHY    ? cli_c_green(g)
	       : h == NMIG_DEGRADED ? cli_c_yellow(g)
				    : cli_c_red(g);
}

static void text_connection(struct cli_db *db,
			    const struct nmig_doctor_report *r)
{
	const struct nmig_doctor_latency *l = &r->latency;
	struct cli_global *g = db->g;

	puts("connection");
	line_str("target", nmig_conn_display(db->conn));
	line_fmt("connect", "%.1f ms (%d attempt%s)", l->connect_ms,
		 l->attempts, l->attempts == 1 ? "" : "s");
	line_fmt("latency",
		 "%.1f ms median of %zu SELECT 1 (min %.1f, max %.1f): "
		 "%s%s%s",
		 l->median_ms, l->n, l->min_ms, l->max_ms,
		 health_color(g, r->latency_health),
		 nmig_health_name(r->latency_health), cli_c_reset(g));
	line_fmt("thresholds", "healthy below %d ms, degraded below %d ms",
		 r->thresholds.healthy_ms, r->thresholds.degraded_ms);
	if (r->tls.in_use)
		line_fmt("tls", "%s, %s (%d bits), sslmode=%s",
			 r->tls.protocol ? r->tls.protocol : "?",
			 r->tls.cipher ? r->tls.cipher : "?", r->tls.bits,
			 r->sslmode);
	else
		line_fmt("tls", "not in use (sslmode=%s)%s", r->sslmode,
			 r->local ? "; not needed on a local connection" : "");
	line_fmt("neon", "%s", r->neon ? "yes" : "no");
	line_fmt("pooler", "%s",
		 r->pooler ? "yes (PgBouncer, transaction mode)"
		 : r->have_server && r->server.pooled
		     ? "yes (the server's backend pid differs from the "
		       "connection's)"
		     : "no");
}

static void text_server(const struct nmig_doctor_report *r)
{
	const struct nmig_doctor_server *s = &r->server;

	puts("server");
	key("version");
	fputs("PostgreSQL ", stdout);
	cli_put_safe(stdout, s->version);
	fputc('\n', stdout);
	line_fmt("role", "%s",
		 s->in_recovery ? "standby (in recovery, read-only)"
				: "primary");
	line_str("user", s->user);
	line_str("database", s->database);
	line_str("lock_timeout", s->lock_timeout);
	line_str("statement_timeout", s->statement_timeout);
	line_str("idle_in_transaction_session_timeout",
		 s->idle_in_transaction_session_timeout);
	line_fmt("connections", "%ld of %ld in use (%ld%%)", s->connections,
		 s->max_connections,
		 s->max_connections ? s->connections * 100 / s->max_connections
				    : 0);
}

static void text_state(struct cli_db *db, const struct nmig_doctor_report *r)
{
	const struct nmig_doctor_state *s = &r->state;

	puts("migrations");
	line_str("directory", db->g->cfg.dir);
	if (!s->checked) {
		line_str("state", s->unchecked ? s->unchecked : "not checked");
		return;
	}
	line_fmt("revisions", "%zu", s->nrevisions);
	line_str("table", db->table.display);
	if (!s->table_exists)
		line_fmt("current", "base (no table yet: nothing applied)");
	else if (s->ncurrent == 0)
		line_fmt("current", "base (nothing applied)");
	else
		line_ids("current", s->current, s->ncurrent);
	line_fmt("applied", "%zu", s->napplied);
	line_ids("pending", s->pending, s->npending);
	line_ids("drift", s->drift, s->ndrift);
	line_ids("dirty", s->dirty, s->ndirty);
	line_ids("unknown", s->unknown, s->nunknown);
	if (s->not_closed) {
		key("ancestor-closed");
		fputs("no: ", stdout);
		cli_put_safe(stdout, s->not_closed);
		fputs(" is applied without its parent ", stdout);
		cli_put_safe(stdout, s->missing_parent);
		fputc('\n', stdout);
	} else {
		line_fmt("ancestor-closed", "yes");
	}
}

static void text_config(struct cli_db *db, const struct url_origin *u)
{
	const struct nmig_config *c = &db->g->cfg;
	const char *prod = production_env();

	puts("config");
	line_str("file", c->path ? c->path : "none (defaults)");
	key("url");
	if (u->redacted) {
		cli_put_safe(stdout, u->redacted);
		printf(" (%s, from the %s)\n", u->var,
		       u->from_env ? "environment" : ".env file");
	} else {
		printf("none: %s is not set; libpq's PG* variables and "
		       "defaults\n",
		       u->var);
	}
	key("version table");
	cli_put_safe(stdout, db->table.display);
	fputc('\n', stdout);
	line_fmt("lock_timeout", "%d ms", db->lock_timeout_ms);
	line_fmt("statement_timeout", "%d ms", db->statement_timeout_ms);
	line_fmt("lock_retries", "%d", db->lock_retries);
	line_fmt("lock_wait", "%d ms", db->lock_wait_ms);
	line_fmt("connect_timeout", "%d ms", db->connect_timeout_ms);
	if (prod)
		line_fmt("environment",
			 "production (%s): downgrade, stamp, repair and test "
			 "need --allow-production",
			 prod);
	else
		line_fmt("environment", "not production");
}

static void text_findings(struct cli_global *g,
			  const struct nmig_doctor_report *r)
{
	const struct nmig_diags *d = &r->findings;
	size_t i;

	if (d->n == 0)
		return;
	if (!g->quiet)
		puts("findings");
	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *it = &d->items[i];
		int err = it->severity == NMIG_SEV_ERROR;

		printf("  %s%s%s: ", err ? cli_c_red(g) : cli_c_yellow(g),
		       err ? "problem" : "warning", cli_c_reset(g));
		cli_put_safe(stdout, it->message);
		printf(" %s[%s]%s\n", cli_c_dim(g), it->rule, cli_c_reset(g));
		if (it->hint) {
			fputs("    hint: ", stdout);
			cli_put_safe(stdout, it->hint);
			fputc('\n', stdout);
		}
	}
}

static void print_text(struct cli_db *db, const struct nmig_doctor_report *r,
		       const struct url_origin *u)
{
	struct cli_global *g = db->g;

	if (!g->quiet) {
		text_connection(db, r);
		text_server(r);
		text_state(db, r);
		text_config(db, u);
	}
	text_findings(g, r);
	printf("status: %s%s%s\n", health_color(g, r->status),
	       nmig_health_name(r->status), cli_c_reset(g));
}

/* A JSON array of n ids. */
static void json_ids(const char *const *ids, size_t n)
{
	cli_json_strs(stdout, ids, n);
}

/* ,"name":"value" (value may be NULL: null). */
static void json_kv(const char *name, const char *value)
{
	printf(",\"%s\":", name);
	cli_json_str(stdout, value);
}

static void json_connection(struct cli_db *db,
			    const struct nmig_doctor_report *r)
{
	const struct nmig_doctor_latency *l = &r->latency;
	size_t i;

	fputs(",\"connection\":{\"target\":", stdout);
	cli_json_str(stdout, nmig_conn_display(db->conn));
	printf(",\"connect_ms\":%.3f,\"attempts\":%d,\"local\":%s,"
	       "\"neon\":%s,\"pooler\":%s",
	       l->connect_ms, l->attempts, r->local ? "true" : "false",
	       r->neon ? "true" : "false",
	       r->pooler || (r->have_server && r->server.pooled) ? "true"
								  : "false");
	printf(",\"latency\":{\"median_ms\":%.3f,\"min_ms\":%.3f,"
	       "\"max_ms\":%.3f,\"samples_ms\":[",
	       l->median_ms, l->min_ms, l->max_ms);
	for (i = 0; i < l->n; i++)
		printf("%s%.3f", i ? "," : "", l->samples_ms[i]);
	printf("],\"class\":\"%s\",\"healthy_ms\":%d,\"degraded_ms\":%d}",
	       nmig_health_name(r->latency_health), r->thresholds.healthy_ms,
	       r->thresholds.degraded_ms);
	printf(",\"tls\":{\"in_use\":%s", r->tls.in_use ? "true" : "false");
	json_kv("sslmode", r->sslmode);
	json_kv("protocol", r->tls.protocol);
	json_kv("cipher", r->tls.cipher);
	if (r->tls.in_use)
		printf(",\"bits\":%d}}", r->tls.bits);
	else
		fputs(",\"bits\":null}}", stdout);
}

static void json_server(const struct nmig_doctor_report *r)
{
	const struct nmig_doctor_server *s = &r->server;

	fputs(",\"server\":{\"version\":", stdout);
	cli_json_str(stdout, s->version);
	printf(",\"version_num\":%d,\"in_recovery\":%s", s->version_num,
	       s->in_recovery ? "true" : "false");
	json_kv("user", s->user);
	json_kv("database", s->database);
	fputs(",\"settings\":{\"lock_timeout\":", stdout);
	cli_json_str(stdout, s->lock_timeout);
	json_kv("statement_timeout", s->statement_timeout);
	json_kv("idle_in_transaction_session_timeout",
		s->idle_in_transaction_session_timeout);
	printf("},\"connections\":%ld,\"max_connections\":%ld,"
	       "\"reserved_connections\":%ld}",
	       s->connections, s->max_connections, s->reserved);
}

static void json_state(struct cli_db *db, const struct nmig_doctor_report *r)
{
	const struct nmig_doctor_state *s = &r->state;

	printf(",\"migrations\":{\"checked\":%s",
	       s->checked ? "true" : "false");
	json_kv("dir", db->g->cfg.dir);
	if (!s->checked) {
		json_kv("reason", s->unchecked);
		fputc('}', stdout);
		return;
	}
	json_kv("table", db->table.display);
	printf(",\"table_exists\":%s,\"revisions\":%zu,\"applied\":%zu",
	       s->table_exists ? "true" : "false", s->nrevisions, s->napplied);
	fputs(",\"current\":", stdout);
	json_ids(s->current, s->ncurrent);
	fputs(",\"pending\":", stdout);
	json_ids(s->pending, s->npending);
	fputs(",\"drift\":", stdout);
	json_ids(s->drift, s->ndrift);
	fputs(",\"dirty\":", stdout);
	json_ids(s->dirty, s->ndirty);
	fputs(",\"unknown\":", stdout);
	json_ids(s->unknown, s->nunknown);
	if (s->not_closed) {
		fputs(",\"not_closed\":{\"revision\":", stdout);
		cli_json_str(stdout, s->not_closed);
		json_kv("missing_parent", s->missing_parent);
		fputs("}}", stdout);
	} else {
		fputs(",\"not_closed\":null}", stdout);
	}
}

static void json_config(struct cli_db *db, const struct url_origin *u)
{
	const struct nmig_config *c = &db->g->cfg;

	fputs(",\"config\":{\"file\":", stdout);
	cli_json_str(stdout, c->path);
	json_kv("root", c->root);
	json_kv("dir", c->dir);
	json_kv("url_env", u->var);
	json_kv("url", u->redacted);
	json_kv("url_from", u->from);
	json_kv("schema", db->table.schema);
	json_kv("table", db->table.name);
	printf(",\"lock_timeout_ms\":%d,\"statement_timeout_ms\":%d,"
	       "\"lock_retries\":%d,\"lock_wait_ms\":%d,"
	       "\"connect_timeout_ms\":%d",
	       db->lock_timeout_ms, db->statement_timeout_ms, db->lock_retries,
	       db->lock_wait_ms, db->connect_timeout_ms);
	json_kv("production", production_env());
	fputc('}', stdout);
}

static void json_findings(const struct nmig_doctor_report *r)
{
	const struct nmig_diags *d = &r->findings;
	size_t i;

	fputs(",\"findings\":[", stdout);
	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *it = &d->items[i];

		fputs(i ? ",{\"rule\":" : "{\"rule\":", stdout);
		cli_json_str(stdout, it->rule);
		printf(",\"severity\":\"%s\"",
		       it->severity == NMIG_SEV_ERROR ? "error" : "warning");
		json_kv("message", it->message);
		json_kv("hint", it->hint);
		fputc('}', stdout);
	}
	fputc(']', stdout);
}

static void print_json(struct cli_db *db, const struct nmig_doctor_report *r,
		       const struct url_origin *u, int exit_code)
{
	printf("{\"status\":\"%s\",\"exit\":%d", nmig_health_name(r->status),
	       exit_code);
	json_connection(db, r);
	json_server(r);
	json_state(db, r);
	json_config(db, u);
	json_findings(r);
	printf(",\"round_trips\":%ld}\n", nmig_conn_roundtrips(db->conn));
}

/* --json when the database cannot be reached: what was tried, and why. */
static void print_json_unreachable(struct cli_global *g, int exit_code,
				   const struct url_origin *u)
{
	const struct nmig_error *e = nmig_error_last();
	struct nmig_conninfo ci;
	struct nmig_buf where = NMIG_BUF_INIT;
	const char *url = getenv(u->var);

	printf("{\"status\":\"unreachable\",\"exit\":%d", exit_code);
	fputs(",\"error\":{\"message\":", stdout);
	cli_json_str(stdout, e->message);
	json_kv("hint", e->hint[0] ? e->hint : NULL);
	fputs("},\"config\":{\"file\":", stdout);
	cli_json_str(stdout, g->cfg.path);
	json_kv("url_env", u->var);
	json_kv("url", u->redacted);
	json_kv("url_from", u->from);
	fputc('}', stdout);
	/* last: parsing a malformed URL replaces the error printed above */
	if (nmig_conninfo_parse(&ci, url && *url ? url : "") == NMIG_OK) {
		nmig_conninfo_display(&ci, &where);
		nmig_conninfo_release(&ci);
	}
	fputs(",\"target\":", stdout);
	cli_json_str(stdout, where.len ? where.ptr : NULL);
	fputs("}\n", stdout);
	nmig_buf_release(&where);
}

/*
 * The thresholds: nmig.conf's doctor_healthy_ms / doctor_degraded_ms,
 * overridden by the options; they must fit together. Exit code.
 */
static int thresholds(struct cli_global *g, const char *healthy,
		      const char *degraded, struct nmig_doctor_thresholds *t)
{
	int rc;

	t->healthy_ms = g->cfg.doctor_healthy_ms;
	t->degraded_ms = g->cfg.doctor_degraded_ms;
	if ((rc = ms_option(g, healthy, "--healthy-ms", &t->healthy_ms)) ||
	    (rc = ms_option(g, degraded, "--degraded-ms", &t->degraded_ms)))
		return rc;
	if (nmig_doctor_thresholds_check(t) == NMIG_OK)
		return NMIG_EXIT_OK;
	if (!healthy && !degraded) {
		cli_errorf(g,
			   "%s: doctor_healthy_ms (%d ms) is above "
			   "doctor_degraded_ms (%d ms)",
			   g->cfg.path ? g->cfg.path : "nmig.conf",
			   t->healthy_ms, t->degraded_ms);
		cli_hintf(g, "the healthy threshold cannot be above the "
			     "degraded one");
		return NMIG_EXIT_CONFIG;
	}
	return cli_report_error(g);
}

int cmd_doctor(struct cli_global *g, int argc, char **argv)
{
	struct db_opts o = {0};
	struct cli_db db;
	struct nmig_doctor_report r;
	struct url_origin u;
	const char *healthy = NULL, *degraded = NULL, *v;
	double t0;
	int rc, err, have_db = 0;
	const struct cli_opt opts[] = {
	    {0, "healthy-ms", "MS",
	     "latency below this is healthy (default 100; "
	     "doctor_healthy_ms)",
	     &healthy, NULL, NULL, NULL},
	    {0, "degraded-ms", "MS",
	     "latency below this is degraded, above unhealthy (default "
	     "500; doctor_degraded_ms)",
	     &degraded, NULL, NULL, NULL},
	    DB_OPTS_CONNECT(&o),
	    {0},
	};
	const struct cli_usage usage = {
	    "doctor",
	    "",
	    "Connect as the migration commands do and report what a run\n"
	    "would meet: latency (median of 5 SELECT 1 round trips, healthy,\n"
	    "degraded or unhealthy), TLS, Neon and pooler, the server's\n"
	    "version, timeouts and connection usage, the migration state\n"
	    "(pending, drift, dirty, unknown revisions) and the config nmig\n"
	    "resolved (the password redacted). Changes nothing. Exit status:\n"
	    "0 healthy, 1 degraded or a problem found (pending revisions are\n"
	    "not one), 5 cannot connect. See docs/doctor.md.",
	    opts,
	    "nmig doctor\n"
	    "nmig --json doctor\n"
	    "nmig doctor --healthy-ms 50 --degraded-ms 200",
	};

	nmig_doctor_report_init(&r);
	memset(&u, 0, sizeof(u));
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc) {
		rc = rc == 1 ? NMIG_EXIT_OK : rc;
		goto cleanup;
	}
	if (argc > 1) {
		cli_errorf(g, "doctor takes no arguments");
		cli_hintf(g, "see 'nmig doctor --help'");
		rc = NMIG_EXIT_USAGE;
		goto cleanup;
	}
	if ((rc = thresholds(g, healthy, degraded, &r.thresholds)))
		goto cleanup;
	if ((rc = db_init(&db, g, &o)))
		goto cleanup;
	have_db = 1;
	u.var = db_url_var(g);
	v = getenv(u.var);
	u.from_env = v && *v;
	t0 = nmig_clock_ms();
	rc = db_connect(&db);
	r.latency.connect_ms = nmig_clock_ms() - t0;
	url_origin_resolve(&u);
	if (rc) {
		if (g->json)
			print_json_unreachable(g, rc, &u);
		goto cleanup;
	}
	r.local = nmig_conn_info(db.conn)->local;
	r.neon = nmig_conn_info(db.conn)->neon;
	r.pooler = nmig_conn_info(db.conn)->pooler;
	r.sslmode = nmig_conn_info(db.conn)->sslmode;
	r.latency.attempts = nmig_conn_attempts(db.conn);
	if ((err =
		 nmig_doctor_ping(&r.latency, db.conn, NMIG_DOCTOR_SAMPLES)) ||
	    (err = nmig_doctor_tls_read(&r.tls, db.conn)) ||
	    (err = nmig_doctor_server_read(&r.server, db.conn))) {
		rc = db_fail(&db);
		goto cleanup;
	}
	r.have_server = 1;
	if ((rc = read_state(&db, &r)))
		goto cleanup;
	if (nmig_doctor_judge(&r)) {
		rc = db_fail(&db);
		goto cleanup;
	}
	rc = r.status == NMIG_HEALTHY ? NMIG_EXIT_OK : NMIG_EXIT_FAILURE;
	if (g->json)
		print_json(&db, &r, &u, rc);
	else
		print_text(&db, &r, &u);
cleanup:
	if (have_db)
		db_release(&db);
	nmig_doctor_report_release(&r);
	free(u.redacted);
	return rc;
}
