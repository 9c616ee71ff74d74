/*
 * The probes of `nmig doctor` (see doctor.h) and the judgement over them:
 * what each measured value means for someone about to run migrations.
 * The probes cost one round trip per latency sample and one for every
 * server fact together; the judgement is pure, so that the unit tests can
 * hold each threshold and message to account without a server.
 */
#include "doctor.h"

#include "conn_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "error.h"

/* The largest sample count nmig_doctor_median takes. */
#define MEDIAN_MAX (NMIG_DOCTOR_SAMPLES * 4)

const char *nmig_health_name(enum nmig_health h)
{
	switch (h) {
	case NMIG_HEALTHY:
		return "healthy";
	case NMIG_DEGRADED:
		return "degraded";
	case NMIG_UNHEALTHY:
		break;
	}
	return "unhealthy";
}

int nmig_doctor_thresholds_check(const struct nmig_doctor_thresholds *t)
{
	if (t->healthy_ms < 0 || t->degraded_ms < 0 ||
	    t->healthy_ms > t->degraded_ms) {
		nmig_error_set(NMIG_EUSAGE,
			       "latency thresholds healthy %d ms and degraded "
			       "%d ms do not fit together",
			       t->healthy_ms, t->degraded_ms);
		nmig_error_hint("the healthy threshold must be 0 or more and "
				"not above the degraded one (defaults: %d and "
				"%d ms)",
				NMIG_DOCTOR_HEALTHY_MS,
				NMIG_DOCTOR_DEGRADED_MS);
		return NMIG_EUSAGE;
	}
	return NMIG_OK;
}

enum nmig_health nmig_doctor_classify(const struct nmig_doctor_thresholds *t,
				      double ms)
{
	if (ms < (double)t->healthy_ms)
		return NMIG_HEALTHY;
	if (ms < (double)t->degraded_ms)
		return NMIG_DEGRADED;
	return NMIG_UNHEALTHY;
}

double nmig_doctor_median(const double *v, size_t n)
{
	double s[MEDIAN_MAX], tmp;
	size_t i, j;

	if (n == 0)
		return 0;
	if (n > MEDIAN_MAX)
		n = MEDIAN_MAX;
	memcpy(s, v, n * sizeof(*s));
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && s[j - 1] > s[j]; j--) {
			tmp = s[j];
			s[j] = s[j - 1];
			s[j - 1] = tmp;
		}
	if (n % 2)
		return s[n / 2];
	return (s[n / 2 - 1] + s[n / 2]) / 2;
}

int nmig_doctor_ping(struct nmig_doctor_latency *out, struct nmig_conn *c,
		     size_t n)
{
	size_t i;
	int err;

	if (n == 0 || n > NMIG_DOCTOR_SAMPLES)
		n = NMIG_DOCTOR_SAMPLES;
	out->n = 0;
	for (i = 0; i < n; i++) {
		double t0 = nmig_clock_ms();

		err = nmig_conn_query(c, "latency probe", "SELECT 1", 0, NULL,
				      NULL);
		if (err)
			return err;
		out->samples_ms[out->n++] = nmig_clock_ms() - t0;
	}
	out->median_ms = nmig_doctor_median(out->samples_ms, out->n);
	out->min_ms = out->max_ms = out->samples_ms[0];
	for (i = 1; i < out->n; i++) {
		if (out->samples_ms[i] < out->min_ms)
			out->min_ms = out->samples_ms[i];
		if (out->samples_ms[i] > out->max_ms)
			out->max_ms = out->samples_ms[i];
	}
	return NMIG_OK;
}

/* strdup of s, NULL for NULL; *oom set when a copy failed. */
static char *dup_or_null(const char *s, int *oom)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		*oom = 1;
	return p;
}

int nmig_doctor_tls_read(struct nmig_doctor_tls *out, const struct nmig_conn *c)
{
	const char *bits;
	int oom = 0;

	memset(out, 0, sizeof(*out));
	if (!c->pg || !PQsslInUse(c->pg))
		return NMIG_OK;
	out->in_use = 1;
	out->protocol = dup_or_null(PQsslAttribute(c->pg, "protocol"), &oom);
	out->cipher = dup_or_null(PQsslAttribute(c->pg, "cipher"), &oom);
	bits = PQsslAttribute(c->pg, "key_bits");
	out->bits = bits ? atoi(bits) : 0;
	if (oom) {
		nmig_doctor_tls_release(out);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	return NMIG_OK;
}

void nmig_doctor_tls_release(struct nmig_doctor_tls *t)
{
	free(t->protocol);
	free(t->cipher);
	memset(t, 0, sizeof(*t));
}

/* The hint for an unverified TLS connection, for the libpq in use. */
static const char *verify_hint(void)
{
	static char hint[160];

	snprintf(hint, sizeof(hint),
		 "add %s to the URL (the system's CA certificates verify a "
		 "public CA such as Neon's)",
		 nmig_conn_verify_params());
	return hint;
}

/* The server facts, one row; pg_catalog spelled out (any search_path). */
static const char server_sql[] =
    "SELECT pg_catalog.current_setting('server_version'),"
    " pg_catalog.current_setting('server_version_num'),"
    " pg_catalog.current_setting('lock_timeout'),"
    " pg_catalog.current_setting('statement_timeout'),"
    " pg_catalog.current_setting('idle_in_transaction_session_timeout'),"
    " pg_catalog.current_setting('max_connections'),"
    " pg_catalog.current_setting('superuser_reserved_connections'),"
    " (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity"
    "  WHERE backend_type = 'client backend'),"
    " pg_catalog.pg_is_in_recovery(),"
    " current_user,"
    " pg_catalog.current_database(),"
    " pg_catalog.pg_backend_pid()";

int nmig_doctor_server_read(struct nmig_doctor_server *out, struct nmig_conn *c)
{
	PGresult *res = NULL;
	int err, oom = 0;

	memset(out, 0, sizeof(*out));
	err = nmig_conn_query(c, "cannot read the server's settings",
			      server_sql, 0, NULL, &res);
	if (err)
		return err;
	if (PQntuples(res) != 1 || PQnfields(res) != 12) {
		err = nmig_error_set(NMIG_ERROR,
				     "cannot read the server's settings: "
				     "unexpected result shape");
		goto cleanup;
	}
	out->version = dup_or_null(PQgetvalue(res, 0, 0), &oom);
	out->version_num = atoi(PQgetvalue(res, 0, 1));
	out->lock_timeout = dup_or_null(PQgetvalue(res, 0, 2), &oom);
	out->statement_timeout = dup_or_null(PQgetvalue(res, 0, 3), &oom);
	out->idle_in_transaction_session_timeout =
	    dup_or_null(PQgetvalue(res, 0, 4), &oom);
	out->max_connections = atol(PQgetvalue(res, 0, 5));
	out->reserved = atol(PQgetvalue(res, 0, 6));
	out->connections = atol(PQgetvalue(res, 0, 7));
	out->in_recovery = strcmp(PQgetvalue(res, 0, 8), "t") == 0;
	out->user = dup_or_null(PQgetvalue(res, 0, 9), &oom);
	out->database = dup_or_null(PQgetvalue(res, 0, 10), &oom);
	/* Behind a pooler the connection's backend key is the pooler's. */
	out->pooled = atoi(PQgetvalue(res, 0, 11)) != PQbackendPID(c->pg);
	if (out->pooled)
		c->pooled = 1;
	if (oom)
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
cleanup:
	PQclear(res);
	if (err)
		nmig_doctor_server_release(out);
	return err;
}

void nmig_doctor_server_release(struct nmig_doctor_server *s)
{
	free(s->version);
	free(s->lock_timeout);
	free(s->statement_timeout);
	free(s->idle_in_transaction_session_timeout);
	free(s->user);
	free(s->database);
	memset(s, 0, sizeof(*s));
}

/* An array of n id pointers (at least one slot); NULL when out of memory. */
static const char **id_array(size_t n)
{
	return malloc((n ? n : 1) * sizeof(const char *));
}

/* The revision ids of the rows idx[0..n) of s, into a new array. */
static const char **row_ids(const struct nmig_state *s, const size_t *idx,
			    size_t n)
{
	const char **v = id_array(n);
	size_t i;

	if (v)
		for (i = 0; i < n; i++)
			v[i] = s->rows[idx[i]].revision;
	return v;
}

int nmig_doctor_state_fill(struct nmig_doctor_state *out,
			   const struct nmig_state *s,
			   const struct nmig_state_report *r,
			   const struct nmig_graph *g)
{
	size_t count = nmig_graph_count(g), i;

	nmig_doctor_state_release(out);
	out->checked = 1;
	out->table_exists = s->exists;
	out->nrevisions = count;
	out->napplied = r->napplied;
	out->current = id_array(r->nheads);
	out->pending = id_array(r->npending);
	out->drift = row_ids(s, r->drift, r->ndrift);
	out->dirty = row_ids(s, r->dirty, r->ndirty);
	out->unknown = row_ids(s, r->unknown, r->nunknown);
	if (!out->current || !out->pending || !out->drift || !out->dirty ||
	    !out->unknown) {
		nmig_doctor_state_release(out);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	for (i = 0; i < r->nheads; i++)
		out->current[i] = nmig_graph_rev(g, r->heads[i])->id;
	out->ncurrent = r->nheads;
	for (i = 0; i < count; i++)
		if (!r->mark[i] && !r->dirty_mark[i])
			out->pending[out->npending++] =
			    nmig_graph_rev(g, i)->id;
	out->ndrift = r->ndrift;
	out->ndirty = r->ndirty;
	out->nunknown = r->nunknown;
	if (r->not_closed >= 0) {
		out->not_closed = nmig_graph_rev(g, (size_t)r->not_closed)->id;
		out->missing_parent =
		    nmig_graph_rev(g, (size_t)r->missing_parent)->id;
	}
	return NMIG_OK;
}

int nmig_doctor_state_unchecked(struct nmig_doctor_state *out, int error,
				const char *fmt, ...)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	va_list ap;

	nmig_doctor_state_release(out);
	va_start(ap, fmt);
	nmig_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (nmig_buf_oom(&b))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	out->unchecked = nmig_buf_detach(&b, NULL);
	out->unchecked_error = error;
	return NMIG_OK;
}

void nmig_doctor_state_release(struct nmig_doctor_state *s)
{
	free(s->unchecked);
	free(s->current);
	free(s->pending);
	free(s->drift);
	free(s->dirty);
	free(s->unknown);
	memset(s, 0, sizeof(*s));
}

void nmig_doctor_report_init(struct nmig_doctor_report *r)
{
	memset(r, 0, sizeof(*r));
	r->thresholds.healthy_ms = NMIG_DOCTOR_HEALTHY_MS;
	r->thresholds.degraded_ms = NMIG_DOCTOR_DEGRADED_MS;
	nmig_diags_init(&r->findings);
}

void nmig_doctor_report_release(struct nmig_doctor_report *r)
{
	nmig_doctor_tls_release(&r->tls);
	nmig_doctor_server_release(&r->server);
	nmig_doctor_state_release(&r->state);
	nmig_diags_release(&r->findings);
	memset(r, 0, sizeof(*r));
}

/*
 * Append "'a', 'b', 'c'" for ids[0..n) to b, at most 5 of them and then
 * "and N more".
 */
static void id_list(struct nmig_buf *b, const char *const *ids, size_t n)
{
	size_t i, shown = n > 5 ? 5 : n;

	nmig_buf_clear(b);
	for (i = 0; i < shown; i++)
		nmig_buf_printf(b, "%s'%s'", i ? ", " : "", ids[i]);
	if (n > shown)
		nmig_buf_printf(b, " and %zu more", n - shown);
}

/* Add one finding with a hint; returns it or NULL when out of memory. */
static struct nmig_diag *finding(struct nmig_doctor_report *r,
				 enum nmig_severity sev, int code,
				 const char *rule, const char *hint,
				 const char *message)
{
	struct nmig_diag *d = nmig_diags_add(&r->findings, sev, code, rule,
					     NULL, 0, 0, "%s", message);

	if (d && hint)
		nmig_diag_set_hint(d, "%s", hint);
	return d;
}

/* The latency and connection findings. */
static int judge_connection(struct nmig_doctor_report *r, struct nmig_buf *msg)
{
	const struct nmig_doctor_thresholds *t = &r->thresholds;
	int ok = 1;

	if (r->latency.n && r->latency_health != NMIG_HEALTHY) {
		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"median latency %.1f ms is %s (healthy below "
				"%d ms, degraded below %d ms)",
				r->latency.median_ms,
				nmig_health_name(r->latency_health),
				t->healthy_ms, t->degraded_ms);
		ok &= finding(r,
			      r->latency_health == NMIG_DEGRADED
				  ? NMIG_SEV_WARNING
				  : NMIG_SEV_ERROR,
			      NMIG_ECONNECT, "latency",
			      "every round trip costs this much: run nmig "
			      "close to the database (same region), or check "
			      "the network and the server's load",
			      msg->ptr) != NULL;
	}
	if (!r->tls.in_use && !r->local)
		ok &= finding(r, NMIG_SEV_ERROR, NMIG_ECONNECT, "no-tls",
			      "add sslmode=require (or verify-full) to the "
			      "URL",
			      "the connection to a remote host is not "
			      "encrypted") != NULL;
	if (r->tls.in_use && !r->local && r->sslmode &&
	    strcmp(r->sslmode, "verify-full") != 0) {
		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"the server's certificate is not verified "
				"(sslmode=%s)",
				r->sslmode);
		ok &= finding(r, NMIG_SEV_WARNING, NMIG_ECONNECT,
			      "tls-unverified", verify_hint(),
			      msg->ptr) != NULL;
	}
	if (r->pooler)
		ok &= finding(r, NMIG_SEV_WARNING, NMIG_ECONNECT, "pooler",
			      "point nmig at the direct host (the name "
			      "without '-pooler')",
			      "connected through a pooler (PgBouncer, "
			      "transaction mode): session settings and the "
			      "session advisory lock are unreliable there") !=
		      NULL;
	else if (r->have_server && r->server.pooled)
		ok &= finding(r, NMIG_SEV_WARNING, NMIG_ECONNECT, "pooler",
			      "point nmig at the server itself, not the "
			      "pooler, if you can",
			      "connected through a pooler (the server's "
			      "backend pid differs from the connection's): "
			      "nmig takes no session lock there and relies on "
			      "its in-transaction guards") != NULL;
	return ok;
}

/* The server findings. */
static int judge_server(struct nmig_doctor_report *r, struct nmig_buf *msg)
{
	const struct nmig_doctor_server *s = &r->server;
	int ok = 1;
	long pct;

	if (!r->have_server)
		return 1;
	if (s->in_recovery)
		ok &= finding(r, NMIG_SEV_ERROR, NMIG_ESTATE, "standby",
			      "connect to the primary",
			      "the server is a standby in recovery: it is "
			      "read-only and migrations cannot run there") !=
		      NULL;
	if (s->version_num > 0 && s->version_num < NMIG_DOCTOR_MIN_VERSION) {
		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"PostgreSQL %s is older than 13, the oldest "
				"version nmig supports",
				s->version);
		ok &=
		    finding(r, NMIG_SEV_WARNING, NMIG_ESTATE, "server-version",
			    "upgrade the server", msg->ptr) != NULL;
	}
	if (s->max_connections > 0) {
		pct = s->connections * 100 / s->max_connections;
		if (pct >= NMIG_DOCTOR_CONNECTIONS_WARN) {
			nmig_buf_clear(msg);
			nmig_buf_printf(msg,
					"%ld of %ld connections are in use "
					"(%ld%%)",
					s->connections, s->max_connections,
					pct);
			ok &= finding(r,
				      pct >= NMIG_DOCTOR_CONNECTIONS_ERROR
					  ? NMIG_SEV_ERROR
					  : NMIG_SEV_WARNING,
				      NMIG_ECONNECT, "connections",
				      "close idle sessions or use a pooler for "
				      "the application (nmig itself needs one "
				      "direct connection)",
				      msg->ptr) != NULL;
		}
	}
	return ok;
}

/* The migration state findings. */
static int judge_state(struct nmig_doctor_report *r, struct nmig_buf *msg)
{
	const struct nmig_doctor_state *s = &r->state;
	struct nmig_buf ids = NMIG_BUF_INIT;
	int ok = 1;

	if (!s->checked) {
		nmig_buf_clear(msg);
		nmig_buf_printf(msg, "migration state not checked: %s",
				s->unchecked ? s->unchecked : "not read");
		ok &= finding(r,
			      s->unchecked_error ? NMIG_SEV_ERROR
						 : NMIG_SEV_WARNING,
			      NMIG_EINPUT, "migrations",
			      s->unchecked_error
				  ? "'nmig check' lists every problem"
				  : "run doctor in the project directory, or "
				    "name it with --dir or --config",
			      msg->ptr) != NULL;
		return ok;
	}
	if (s->ndrift) {
		id_list(&ids, s->drift, s->ndrift);
		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"%zu applied revision%s %s edited after %s "
				"applied: %s",
				s->ndrift, s->ndrift == 1 ? "" : "s",
				s->ndrift == 1 ? "was" : "were",
				s->ndrift == 1 ? "it was" : "they were",
				ids.ptr);
		ok &= finding(r, NMIG_SEV_ERROR, NMIG_ESTATE, "db-drift",
			      "restore the applied files; after a deliberate "
			      "edit run 'nmig repair --checksums'",
			      msg->ptr) != NULL;
	}
	if (s->ndirty) {
		id_list(&ids, s->dirty, s->ndirty);
		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"%zu dirty revision%s (a migration outside a "
				"transaction did not finish): %s",
				s->ndirty, s->ndirty == 1 ? "" : "s", ids.ptr);
		ok &= finding(r, NMIG_SEV_ERROR, NMIG_ESTATE, "db-dirty",
			      "check which statements ran, then 'nmig repair "
			      "--mark-applied REV' or '--mark-rolled-back "
			      "REV'",
			      msg->ptr) != NULL;
	}
	if (s->nunknown) {
		id_list(&ids, s->unknown, s->nunknown);
		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"%zu applied revision%s without a migration "
				"file: %s",
				s->nunknown, s->nunknown == 1 ? "" : "s",
				ids.ptr);
		ok &= finding(r, NMIG_SEV_ERROR, NMIG_ESTATE, "db-unknown",
			      "check out the branch that holds the files, or "
			      "forget them with 'nmig stamp --purge TARGET'",
			      msg->ptr) != NULL;
	}
	if (s->not_closed) {
		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"revision '%s' is applied but its parent '%s' "
				"is not",
				s->not_closed, s->missing_parent);
		ok &= finding(r, NMIG_SEV_ERROR, NMIG_ESTATE, "db-not-closed",
			      "record the real state with 'nmig stamp "
			      "TARGET' after checking the schema",
			      msg->ptr) != NULL;
	}
	nmig_buf_release(&ids);
	return ok;
}

int nmig_doctor_judge(struct nmig_doctor_report *r)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	int ok = 1;

	nmig_diags_release(&r->findings);
	nmig_diags_init(&r->findings);
	r->latency_health =
	    r->latency.n
		? nmig_doctor_classify(&r->thresholds, r->latency.median_ms)
		: NMIG_HEALTHY;
	ok &= judge_connection(r, &msg);
	ok &= judge_server(r, &msg);
	ok &= judge_state(r, &msg);
	r->status = r->latency_health;
	if (r->findings.errors)
		r->status = NMIG_UNHEALTHY;
	if (nmig_buf_oom(&msg))
		ok = 0;
	nmig_buf_release(&msg);
	return ok ? NMIG_OK : nmig_error_set(NMIG_ENOMEM, "out of memory");
}
