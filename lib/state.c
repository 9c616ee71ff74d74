/*
 * The schema_version table and the bookkeeping around it: creating it on
 * first use, the advisory lock that serialises nmig runs, reading the rows,
 * comparing them with the files (drift, dirty, unknown, ancestor closure)
 * and the stamp / repair operations that change rows without running
 * migration SQL. Every statement is schema-qualified; values travel as
 * PQexecParams parameters or as literals built by nmig_sql_literal.
 */
#include "state.h"

#include "conn_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "error.h"
#include "interrupt.h"
#include "revfile.h"

/* Rows listed in an error detail before "... and N more". */
#define DETAIL_MAX 15

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

/* Append ident quoted for SQL: PQescapeIdentifier, or doubling '"'. */
static int quote_ident(struct nmig_conn *c, const char *s, struct nmig_buf *out)
{
	if (c && c->pg) {
		char *q = PQescapeIdentifier(c->pg, s, strlen(s));

		if (!q)
			return nmig_error_set(NMIG_ECONFIG,
					      "invalid identifier '%s': %s", s,
					      PQerrorMessage(c->pg));
		nmig_buf_puts(out, q);
		PQfreemem(q);
		return NMIG_OK;
	}
	nmig_buf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			nmig_buf_putc(out, '"');
		nmig_buf_putc(out, *s);
	}
	nmig_buf_putc(out, '"');
	return NMIG_OK;
}

long long nmig_state_lock_key(const char *schema, const char *name)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	const unsigned char *p;
	long long key;

	for (p = (const unsigned char *)schema; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ '.') * 0x100000001b3ULL;
	for (p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	memcpy(&key, &h, sizeof(key));
	return key;
}

int nmig_vtable_init(struct nmig_vtable *t, struct nmig_conn *c,
		     const char *schema, const char *name)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	int err;

	memset(t, 0, sizeof(*t));
	if (!schema || !*schema)
		schema = NMIG_DEFAULT_SCHEMA;
	if (!name || !*name)
		name = NMIG_DEFAULT_TABLE;
	t->schema = xstrdup(schema);
	t->name = xstrdup(name);
	err = quote_ident(c, schema, &b);
	if (err)
		goto cleanup;
	t->schema_ident = xstrdup(b.ptr);
	nmig_buf_putc(&b, '.');
	err = quote_ident(c, name, &b);
	if (err)
		goto cleanup;
	t->ident = xstrdup(b.ptr);
	nmig_buf_clear(&b);
	nmig_buf_printf(&b, "%s.%s", schema, name);
	t->display = xstrdup(b.ptr);
	t->lock_key = nmig_state_lock_key(schema, name);
	if (nmig_buf_oom(&b) || !t->schema || !t->name || !t->ident ||
	    !t->schema_ident || !t->display)
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
cleanup:
	nmig_buf_release(&b);
	if (err)
		nmig_vtable_release(t);
	return err;
}

void nmig_vtable_release(struct nmig_vtable *t)
{
	free(t->schema);
	free(t->name);
	free(t->ident);
	free(t->schema_ident);
	free(t->display);
	memset(t, 0, sizeof(*t));
}

void nmig_sql_literal(struct nmig_buf *out, const char *s)
{
	const char *p;

	if (strchr(s, '\\'))
		nmig_buf_putc(out, 'E');
	nmig_buf_putc(out, '\'');
	for (p = s; *p; p++) {
		if (*p == '\'' || *p == '\\')
			nmig_buf_putc(out, *p);
		nmig_buf_putc(out, *p);
	}
	nmig_buf_putc(out, '\'');
}

void nmig_sql_text_array(struct nmig_buf *out, char *const *v, size_t n)
{
	size_t i;

	if (n == 0) {
		nmig_buf_puts(out, "'{}'::text[]");
		return;
	}
	nmig_buf_puts(out, "ARRAY[");
	for (i = 0; i < n; i++) {
		if (i)
			nmig_buf_putc(out, ',');
		nmig_sql_literal(out, v[i]);
	}
	nmig_buf_puts(out, "]::text[]");
}

/* Add who holds the advisory lock (pid, application, since) as detail. */
static void describe_holder(struct nmig_conn *c, const char *key)
{
	static const char sql[] =
	    "SELECT a.pid, a.application_name, a.client_addr, "
	    "pg_catalog.to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS'), "
	    "a.state FROM pg_catalog.pg_locks l "
	    "JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
	    "WHERE l.locktype = 'advisory' AND l.granted "
	    "AND l.database = (SELECT oid FROM pg_catalog.pg_database "
	    "WHERE datname = pg_catalog.current_database()) "
	    "AND l.classid::pg_catalog.int8 = "
	    "($1::pg_catalog.int8 >> 32) & 4294967295 "
	    "AND l.objid::pg_catalog.int8 = $1::pg_catalog.int8 & 4294967295 "
	    "AND l.objsubid = 1";
	const char *params[1] = {key};
	PGresult *res = NULL;
	int i;

	if (nmig_conn_query(c, "find the lock holder", sql, 1, params, &res))
		return;
	for (i = 0; i < PQntuples(res); i++)
		nmig_error_detail(
		    "held by pid %s (application '%s'%s%s, %s%s%s)",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetisnull(res, i, 2) ? "" : " from ",
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
		    PQgetisnull(res, i, 3) ? "" : ", transaction since ",
		    PQgetvalue(res, i, 3));
	PQclear(res);
}

int nmig_state_lock(struct nmig_conn *c, const struct nmig_vtable *t,
		    int wait_ms, int *waited_ms)
{
	/* Never a session lock behind a pooler: see nmig_state_open. */
	static const char sql[] =
	    "SELECT CASE WHEN pg_catalog.pg_backend_pid() = $2::pg_catalog.int4 "
	    "THEN pg_catalog.pg_try_advisory_lock($1::pg_catalog.int8) END";
	char key[32], pid[16];
	const char *params[2] = {key, pid};
	double start = nmig_clock_ms(), waited = 0;
	int interval = 100, err = NMIG_OK;
	PGresult *res = NULL;

	snprintf(key, sizeof(key), "%lld", t->lock_key);
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(c->pg));
	for (;;) {
		int got;

		err = nmig_conn_query(c, "take the migration lock", sql, 2,
				      params, &res);
		if (err)
			goto cleanup;
		if (PQntuples(res) == 1 && PQgetisnull(res, 0, 0)) {
			c->pooled = 1;
			goto cleanup;
		}
		got = PQntuples(res) == 1 &&
		      strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		res = NULL;
		waited = nmig_clock_ms() - start;
		if (got)
			break;
		if (waited >= (double)wait_ms) {
			nmig_error_set(
			    NMIG_ELOCKED,
			    "another nmig is migrating this database");
			nmig_error_detail("waited %.1f s for the lock on '%s' "
					  "(advisory lock %s)",
					  waited / 1000.0, t->display, key);
			describe_holder(c, key);
			nmig_error_hint("wait for the other run to finish, or "
					"give it longer with --lock-wait");
			err = NMIG_ELOCKED;
			goto cleanup;
		}
		if ((double)interval > (double)wait_ms - waited)
			nmig_clock_sleep_ms((int)((double)wait_ms - waited) +
					    1);
		else
			nmig_clock_sleep_ms(interval);
		if (nmig_interrupt_pending()) {
			err = nmig_interrupt_error("while waiting for the "
						   "migration lock");
			goto cleanup;
		}
		if (interval < 500)
			interval += 100;
	}
cleanup:
	if (res)
		PQclear(res);
	if (waited_ms)
		*waited_ms = (int)waited;
	return err;
}

int nmig_state_unlock(struct nmig_conn *c, const struct nmig_vtable *t)
{
	static const char sql[] =
	    "SELECT pg_catalog.pg_advisory_unlock($1::pg_catalog.int8)";
	char key[32];
	const char *params[1] = {key};

	if (!c || nmig_conn_lost(c))
		return NMIG_OK;
	snprintf(key, sizeof(key), "%lld", t->lock_key);
	return nmig_conn_query(c, "release the migration lock", sql, 1, params,
			       NULL);
}

void nmig_state_create_sql(const struct nmig_vtable *t, struct nmig_buf *out)
{
	if (strcmp(t->schema, "public") != 0)
		nmig_buf_printf(out, "CREATE SCHEMA IF NOT EXISTS %s;\n",
				t->schema_ident);
	nmig_buf_printf(
	    out,
	    "CREATE TABLE IF NOT EXISTS %s (\n"
	    "\trevision text PRIMARY KEY,\n"
	    "\tparents text[] NOT NULL,\n"
	    "\tmessage text NOT NULL DEFAULT '',\n"
	    "\tchecksum text NOT NULL,\n"
	    "\tdown_checksum text,\n"
	    "\tstate text NOT NULL CHECK (state IN ('applied', 'dirty')),\n"
	    "\tapplied_at timestamptz NOT NULL "
	    "DEFAULT pg_catalog.clock_timestamp(),\n"
	    "\tapplied_by text NOT NULL DEFAULT CURRENT_USER,\n"
	    "\texecution_ms bigint,\n"
	    "\tnmig_version text NOT NULL,\n"
	    "\terror text,\n"
	    "\towner text,\n"
	    "\towner_seen timestamptz\n"
	    ");\n",
	    t->ident);
}

void nmig_state_alive_sql(struct nmig_buf *out, const char *row)
{
	nmig_buf_printf(
	    out,
	    "(EXISTS (SELECT FROM pg_catalog.pg_stat_activity a "
	    "WHERE a.state = 'active' AND pg_catalog.starts_with(a.query, "
	    "'/* nmig:' OPERATOR(pg_catalog.||) pg_catalog.split_part("
	    "pg_catalog.to_jsonb(%s) OPERATOR(pg_catalog.->>) 'owner', ' ', "
	    "1) OPERATOR(pg_catalog.||) ' ')) OR COALESCE(("
	    "pg_catalog.to_jsonb(%s) OPERATOR(pg_catalog.->>) 'owner_seen')"
	    "::pg_catalog.timestamptz OPERATOR(pg_catalog.>) "
	    "(pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) "
	    "'%d ms'::pg_catalog.interval), false))",
	    row, row, NMIG_OWNER_GRACE_MS);
}

/*
 * The SELECT that reads every row, in a stable order. The owner columns
 * are read through to_jsonb so that a table made before they existed
 * still reads (as rows without an owner).
 */
static void select_sql(const struct nmig_vtable *t, struct nmig_buf *out)
{
	nmig_buf_printf(
	    out,
	    "SELECT revision, pg_catalog.array_to_string(parents, '/'), "
	    "message, checksum, down_checksum, state, "
	    "pg_catalog.to_char(applied_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), applied_by, execution_ms, "
	    "nmig_version, error, pg_catalog.to_jsonb(v) "
	    "OPERATOR(pg_catalog.->>) 'owner', CASE WHEN state = 'dirty' "
	    "THEN ");
	nmig_state_alive_sql(out, "v");
	nmig_buf_printf(out, " END FROM %s v ORDER BY applied_at, revision",
			t->ident);
}

/* Split "a/b/c" into a malloc'ed array of malloc'ed strings. */
static int split_parents(const char *s, char ***out, size_t *n)
{
	size_t cap = 1, i = 0;
	const char *p;
	char **v;

	*out = NULL;
	*n = 0;
	if (!*s)
		return NMIG_OK;
	for (p = s; *p; p++)
		cap += *p == '/';
	v = calloc(cap, sizeof(*v));
	if (!v)
		return NMIG_ENOMEM;
	for (p = s;; i++) {
		size_t len = strcspn(p, "/");

		v[i] = strndup(p, len);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return NMIG_ENOMEM;
		}
		if (!p[len])
			break;
		p += len + 1;
	}
	*out = v;
	*n = i + 1;
	return NMIG_OK;
}

/* The owner column without its token: "nmig 0.1.0 pid 42 on host". */
static char *owner_display(const char *owner)
{
	const char *sp = strchr(owner, ' ');

	return xstrdup(sp ? sp + 1 : owner);
}

static int fill_rows(struct nmig_state *s, const PGresult *res)
{
	int i, nt = PQntuples(res);

	s->rows = nt ? calloc((size_t)nt, sizeof(*s->rows)) : NULL;
	if (nt && !s->rows)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < nt; i++) {
		struct nmig_row *r = &s->rows[i];

		s->n++;
		r->revision = xstrdup(PQgetvalue(res, i, 0));
		if (split_parents(PQgetvalue(res, i, 1), &r->parents,
				  &r->nparents))
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		r->message = xstrdup(PQgetvalue(res, i, 2));
		r->checksum = xstrdup(PQgetvalue(res, i, 3));
		r->down_checksum = PQgetisnull(res, i, 4)
				       ? NULL
				       : xstrdup(PQgetvalue(res, i, 4));
		r->dirty = strcmp(PQgetvalue(res, i, 5), "dirty") == 0;
		r->applied_at = xstrdup(PQgetvalue(res, i, 6));
		r->applied_by = xstrdup(PQgetvalue(res, i, 7));
		r->execution_ms =
		    PQgetisnull(res, i, 8) ? -1 : atoll(PQgetvalue(res, i, 8));
		r->nmig_version = xstrdup(PQgetvalue(res, i, 9));
		r->error = PQgetisnull(res, i, 10)
			       ? NULL
			       : xstrdup(PQgetvalue(res, i, 10));
		r->owner = PQgetisnull(res, i, 11)
			       ? NULL
			       : owner_display(PQgetvalue(res, i, 11));
		r->owner_alive = !PQgetisnull(res, i, 12) &&
				 strcmp(PQgetvalue(res, i, 12), "t") == 0;
		if (!r->revision || !r->message || !r->checksum ||
		    (!PQgetisnull(res, i, 4) && !r->down_checksum) ||
		    !r->applied_at || !r->applied_by || !r->nmig_version ||
		    (!PQgetisnull(res, i, 10) && !r->error) ||
		    (!PQgetisnull(res, i, 11) && !r->owner))
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	return NMIG_OK;
}

void nmig_sql_dollar_tag(const char *body, char *tag, size_t cap)
{
	int i = 0;

	snprintf(tag, cap, "$nmig$");
	while (strstr(body, tag))
		snprintf(tag, cap, "$nmig%d$", ++i);
}

/*
 * Append the DO block that makes the version table ready: when it is
 * missing, take a transaction-scoped advisory lock (xact_lock; so that
 * concurrent first runs queue instead of racing on the catalogs), refuse when another
 * nmig version table holds one of the roots (a typo in schema or table),
 * and create it, a creation that lost a race anyway being no error; when
 * it exists without the owner columns (made by an older nmig), add them.
 */
static void ensure_sql(const struct nmig_vtable *t, int xact_lock,
		       const char *const *roots, size_t nroots,
		       struct nmig_buf *out)
{
	unsigned long long key;
	struct nmig_buf ddl = NMIG_BUF_INIT, body = NMIG_BUF_INIT;
	char tag[32];
	size_t i;

	nmig_state_create_sql(t, &ddl);
	nmig_buf_puts(&body, "DECLARE nmig_rel pg_catalog.regclass; "
			     "nmig_hit text; BEGIN\n"
			     "IF pg_catalog.to_regclass(");
	nmig_sql_literal(&body, t->ident);
	nmig_buf_puts(&body, ") IS NULL THEN\n");
	/*
	 * The two-key form is another lock space than the session lock's
	 * bigint key: waiting here never waits for a running nmig.
	 */
	memcpy(&key, &t->lock_key, sizeof(key));
	if (xact_lock)
		nmig_buf_printf(&body,
				"PERFORM pg_catalog.pg_advisory_xact_lock(%d, "
				"%d);\n",
				(int)(unsigned)(key >> 32),
				(int)(unsigned)(key & 0xffffffffu));
	if (nroots) {
		nmig_buf_puts(
		    &body,
		    "FOR nmig_rel IN SELECT c.oid FROM pg_catalog.pg_class c "
		    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		    "WHERE c.relkind IN ('r', 'p') AND (SELECT "
		    "pg_catalog.count(*) FROM pg_catalog.pg_attribute a "
		    "WHERE a.attrelid = c.oid AND NOT a.attisdropped AND "
		    "a.attname IN ('revision', 'parents', 'checksum', "
		    "'nmig_version')) = 4 AND (n.nspname, c.relname) <> (");
		/* Our own table, made meanwhile by a concurrent first run. */
		nmig_sql_literal(&body, t->schema);
		nmig_buf_puts(&body, "::pg_catalog.name, ");
		nmig_sql_literal(&body, t->name);
		nmig_buf_puts(&body, "::pg_catalog.name) LOOP\n"
		    "EXECUTE pg_catalog.format('SELECT pg_catalog.string_agg("
		    "revision, '', '') FROM %s WHERE revision = ANY ($1)', "
		    "nmig_rel) INTO nmig_hit USING ARRAY[");
		for (i = 0; i < nroots; i++) {
			if (i)
				nmig_buf_putc(&body, ',');
			nmig_sql_literal(&body, roots[i]);
		}
		nmig_buf_puts(&body, "]::text[];\n"
				     "IF nmig_hit IS NOT NULL THEN RAISE "
				     "EXCEPTION 'the version table ");
		nmig_buf_puts(&body, t->display);
		nmig_buf_puts(&body,
			      " does not exist, but % holds this history "
			      "(revision %)', nmig_rel, nmig_hit USING ERRCODE "
			      "= '" NMIG_SQLSTATE_OTHER_TABLE "'; END IF;\n"
			      "END LOOP;\n");
	}
	nmig_buf_printf(&body,
			"BEGIN\n%s"
			"EXCEPTION WHEN unique_violation OR duplicate_table OR "
			"duplicate_schema OR duplicate_object THEN NULL;\nEND;\n"
			"ELSIF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute "
			"WHERE attrelid = pg_catalog.to_regclass(",
			ddl.ptr);
	nmig_sql_literal(&body, t->ident);
	nmig_buf_printf(&body,
			") AND attname = 'owner_seen' AND NOT attisdropped) "
			"THEN\nALTER TABLE %s ADD COLUMN IF NOT EXISTS owner "
			"text, ADD COLUMN IF NOT EXISTS owner_seen "
			"timestamptz;\nEND IF; END ",
			t->ident);
	nmig_sql_dollar_tag(body.ptr, tag, sizeof(tag));
	nmig_buf_printf(out, "DO %s%s%s;\n", tag, body.ptr, tag);
	if (nmig_buf_oom(&ddl) || nmig_buf_oom(&body))
		out->oom = 1;
	nmig_buf_release(&ddl);
	nmig_buf_release(&body);
}

void nmig_state_ensure_sql(const struct nmig_vtable *t, struct nmig_buf *out)
{
	ensure_sql(t, 0, NULL, 0, out);
}

/* The error of a failed read: the typo guard's refusal gets its hint. */
static int read_error(int err, const struct nmig_vtable *t)
{
	if (strcmp(nmig_error_last()->sqlstate, NMIG_SQLSTATE_OTHER_TABLE) ==
	    0) {
		const struct nmig_error *e = nmig_error_last();
		const char *msg = strstr(e->message, "the version table");
		struct nmig_buf b = NMIG_BUF_INIT;

		nmig_buf_puts(&b, msg ? msg : e->message);
		nmig_error_set(NMIG_ESTATE, "%s", b.ptr);
		nmig_error_detail("nothing was created: a new, empty version "
				  "table would run every migration again");
		nmig_error_hint("check 'schema' and 'table' in nmig.conf (now "
				"'%s')",
				t->display);
		nmig_buf_release(&b);
		return NMIG_ESTATE;
	}
	if (err != NMIG_EINTERRUPTED)
		nmig_error_hint("nmig needs to create and read the table '%s' "
				"(configure schema/table in nmig.conf)",
				t->display);
	return err;
}

int nmig_state_open(struct nmig_state *out, struct nmig_conn *c,
		    const struct nmig_vtable *t,
		    const struct nmig_state_open_opts *o)
{
	struct nmig_buf sql = NMIG_BUF_INIT;
	PGresult *res[3] = {NULL, NULL, NULL};
	int err, n = 0, want;

	memset(out, 0, sizeof(*out));
	out->lock = NMIG_LOCK_NOT_ASKED;
	if (o->lock)
		/*
		 * The session lock only when the session is the server's own:
		 * behind a pooler the key the connection reports differs from
		 * the server's pid, and a session lock would stay on a pooled
		 * server connection after the run.
		 */
		nmig_buf_printf(&sql,
				"SELECT pg_catalog.pg_backend_pid(), CASE WHEN "
				"pg_catalog.pg_backend_pid() = %d THEN "
				"pg_catalog.pg_try_advisory_lock(%lld) END;\n",
				PQbackendPID(c->pg), t->lock_key);
	ensure_sql(t, 1, o->roots, o->nroots, &sql);
	select_sql(t, &sql);
	want = o->lock ? 3 : 2;
	if (nmig_buf_oom(&sql)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	err = nmig_conn_query_all(c, "cannot read the version table", sql.ptr,
				  res, 3, &n);
	if (err) {
		err = read_error(err, t);
		goto cleanup;
	}
	if (n != want || PQnfields(res[n - 1]) != 13) {
		err = nmig_error_set(
		    NMIG_ERROR, "unexpected result reading '%s'", t->display);
		goto cleanup;
	}
	if (o->lock) {
		out->backend_pid = atoi(PQgetvalue(res[0], 0, 0));
		if (PQgetisnull(res[0], 0, 1)) {
			out->lock = NMIG_LOCK_POOLED;
			c->pooled = 1;
		}
		else if (strcmp(PQgetvalue(res[0], 0, 1), "t") == 0)
			out->lock = NMIG_LOCK_TAKEN;
		else
			out->lock = NMIG_LOCK_BUSY;
	}
	out->exists = 1;
	err = fill_rows(out, res[n - 1]);
cleanup:
	while (n > 0)
		PQclear(res[--n]);
	nmig_buf_release(&sql);
	if (err)
		nmig_state_release(out);
	return err;
}

int nmig_state_read(struct nmig_state *out, struct nmig_conn *c,
		    const struct nmig_vtable *t, int create)
{
	struct nmig_buf sql = NMIG_BUF_INIT;
	PGresult *res = NULL;
	const char *params[1];
	int err;

	if (create) {
		struct nmig_state_open_opts o = {0};

		o.create = 1;
		return nmig_state_open(out, c, t, &o);
	}
	memset(out, 0, sizeof(*out));
	out->lock = NMIG_LOCK_NOT_ASKED;
	params[0] = t->ident;
	err = nmig_conn_query(c, "cannot look for the version table",
			      "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
			      1, params, &res);
	if (err)
		goto cleanup;
	out->exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	res = NULL;
	if (!out->exists)
		goto cleanup;
	select_sql(t, &sql);
	err = nmig_conn_query(c, "cannot read the version table", sql.ptr, 0,
			      NULL, &res);
	if (err)
		goto cleanup;
	if (PQnfields(res) != 13) {
		err = nmig_error_set(
		    NMIG_ERROR, "unexpected result reading '%s'", t->display);
		goto cleanup;
	}
	err = fill_rows(out, res);
cleanup:
	if (res)
		PQclear(res);
	nmig_buf_release(&sql);
	if (err)
		nmig_state_release(out);
	return err;
}

void nmig_state_release(struct nmig_state *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		struct nmig_row *r = &s->rows[i];

		free(r->revision);
		for (j = 0; j < r->nparents; j++)
			free(r->parents[j]);
		free(r->parents);
		free(r->message);
		free(r->checksum);
		free(r->down_checksum);
		free(r->applied_at);
		free(r->applied_by);
		free(r->nmig_version);
		free(r->error);
		free(r->owner);
	}
	free(s->rows);
	memset(s, 0, sizeof(*s));
}

int nmig_state_analyze(struct nmig_state_report *out,
		       const struct nmig_state *s, const struct nmig_graph *g)
{
	size_t count = nmig_graph_count(g), i, j;
	unsigned char *has_child = NULL;
	int err = NMIG_OK;

	memset(out, 0, sizeof(*out));
	out->not_closed = -1;
	out->missing_parent = -1;
	out->mark = calloc(count ? count : 1, 1);
	out->dirty_mark = calloc(count ? count : 1, 1);
	has_child = calloc(count ? count : 1, 1);
	if (s->n) {
		out->drift = malloc(s->n * sizeof(*out->drift));
		out->dirty = malloc(s->n * sizeof(*out->dirty));
		out->unknown = malloc(s->n * sizeof(*out->unknown));
		out->applied_ids = malloc(s->n * sizeof(*out->applied_ids));
	}
	if (!out->mark || !out->dirty_mark || !has_child ||
	    (s->n && (!out->drift || !out->dirty || !out->unknown ||
		      !out->applied_ids))) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < s->n; i++) {
		const struct nmig_row *r = &s->rows[i];
		long k = nmig_graph_find(g, r->revision);

		if (k < 0)
			out->unknown[out->nunknown++] = i;
		if (r->dirty) {
			out->dirty[out->ndirty++] = i;
			if (k >= 0)
				out->dirty_mark[k] = 1;
			continue;
		}
		out->applied_ids[out->napplied_ids++] = r->revision;
		if (k < 0 || out->mark[k])
			continue;
		out->mark[k] = 1;
		out->napplied++;
		if (strcmp(r->checksum,
			   nmig_graph_rev(g, (size_t)k)->up.checksum) != 0)
			out->drift[out->ndrift++] = i;
	}
	out->npending = count - out->napplied;
	/* A dirty revision is neither applied nor pending: it is dirty. */
	for (i = 0; i < count; i++)
		if (out->dirty_mark[i] && !out->mark[i])
			out->npending--;
	for (i = 0; i < count; i++) {
		const size_t *par;
		size_t np;

		if (!out->mark[i])
			continue;
		par = nmig_graph_parents(g, i, &np);
		for (j = 0; j < np; j++) {
			has_child[par[j]] = 1;
			if (!out->mark[par[j]] && out->not_closed < 0) {
				out->not_closed = (long)i;
				out->missing_parent = (long)par[j];
			}
		}
	}
	out->heads =
	    malloc((out->napplied ? out->napplied : 1) * sizeof(*out->heads));
	if (!out->heads) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < count; i++)
		if (out->mark[i] && !has_child[i])
			out->heads[out->nheads++] = i;
cleanup:
	free(has_child);
	if (err)
		nmig_state_report_release(out);
	return err;
}

void nmig_state_report_release(struct nmig_state_report *r)
{
	free(r->mark);
	free(r->dirty_mark);
	free(r->drift);
	free(r->dirty);
	free(r->unknown);
	free(r->applied_ids);
	free(r->heads);
	memset(r, 0, sizeof(*r));
	r->not_closed = -1;
	r->missing_parent = -1;
}

/* "... and N more" after DETAIL_MAX listed items. */
static void detail_more(size_t n)
{
	if (n > DETAIL_MAX)
		nmig_error_detail("... and %zu more", n - DETAIL_MAX);
}

static int refuse_dirty(const struct nmig_state_report *r,
			const struct nmig_state *s, const struct nmig_graph *g)
{
	const struct nmig_row *first = &s->rows[r->dirty[0]];
	size_t i;

	for (i = 0; i < r->ndirty; i++) {
		const struct nmig_row *row = &s->rows[r->dirty[i]];

		if (!row->owner_alive)
			continue;
		nmig_error_set(NMIG_ELOCKED,
			       "revision '%s' is being applied by %s",
			       row->revision,
			       row->owner ? row->owner : "another run");
		nmig_error_detail("a migration that runs outside a "
				  "transaction is running now (its row is "
				  "dirty until it finishes)");
		nmig_error_hint("wait for it to finish, or give it longer "
				"with --lock-wait");
		return NMIG_ELOCKED;
	}

	if (r->ndirty == 1)
		nmig_error_set(NMIG_ESTATE,
			       "revision '%s' is dirty: a migration that runs "
			       "outside a transaction did not finish",
			       first->revision);
	else
		nmig_error_set(NMIG_ESTATE,
			       "%zu revisions are dirty: migrations that run "
			       "outside a transaction did not finish",
			       r->ndirty);
	for (i = 0; i < r->ndirty && i < DETAIL_MAX; i++) {
		const struct nmig_row *row = &s->rows[r->dirty[i]];
		long k = nmig_graph_find(g, row->revision);

		nmig_error_detail(
		    "%s (%s)%s%s%s%s", row->revision,
		    k >= 0 ? nmig_graph_rev(g, (size_t)k)->up.path : "no file",
		    row->error ? ": " : "", row->error ? row->error : "",
		    row->owner ? "; left by " : "",
		    row->owner ? row->owner : "");
	}
	detail_more(r->ndirty);
	nmig_error_hint("check which statements ran, finish or undo them by "
			"hand, then run 'nmig repair --mark-applied %s' or "
			"'nmig repair --mark-rolled-back %s'",
			first->revision, first->revision);
	return NMIG_ESTATE;
}

static int refuse_unknown(const struct nmig_state_report *r,
			  const struct nmig_state *s)
{
	size_t i;

	if (r->nunknown == 1)
		nmig_error_set(NMIG_ESTATE,
			       "the database has revision '%s' applied, which "
			       "has no migration file",
			       s->rows[r->unknown[0]].revision);
	else
		nmig_error_set(NMIG_ESTATE,
			       "the database has %zu applied revisions that "
			       "have no migration file",
			       r->nunknown);
	for (i = 0; i < r->nunknown && i < DETAIL_MAX; i++) {
		const struct nmig_row *row = &s->rows[r->unknown[i]];

		nmig_error_detail("%s%s%s%s applied %s by %s", row->revision,
				  *row->message ? " (" : "", row->message,
				  *row->message ? ")" : "", row->applied_at,
				  row->applied_by);
	}
	detail_more(r->nunknown);
	nmig_error_hint("check out the branch that holds their files, or "
			"forget them with 'nmig stamp --purge TARGET'");
	return NMIG_ESTATE;
}

static int refuse_drift(const struct nmig_state_report *r,
			const struct nmig_state *s, const struct nmig_graph *g)
{
	size_t i;

	if (r->ndrift == 1)
		nmig_error_set(NMIG_ESTATE,
			       "applied revision '%s' was edited after it was "
			       "applied",
			       s->rows[r->drift[0]].revision);
	else
		nmig_error_set(NMIG_ESTATE,
			       "%zu applied revisions were edited after they "
			       "were applied",
			       r->ndrift);
	for (i = 0; i < r->ndrift && i < DETAIL_MAX; i++) {
		const struct nmig_row *row = &s->rows[r->drift[i]];
		const struct nmig_revision *rev = nmig_graph_rev(
		    g, (size_t)nmig_graph_find(g, row->revision));

		nmig_error_detail("%s: %s (recorded checksum %.12s, file "
				  "%.12s)",
				  row->revision, rev->up.path, row->checksum,
				  rev->up.checksum);
	}
	detail_more(r->ndrift);
	nmig_error_hint("restore the applied file; after a deliberate edit run "
			"'nmig repair --checksums' (or pass --allow-drift)");
	return NMIG_ESTATE;
}

int nmig_state_refuse(const struct nmig_state_report *r,
		      const struct nmig_state *s, const struct nmig_graph *g,
		      unsigned what)
{
	if ((what & NMIG_REFUSE_DIRTY) && r->ndirty)
		return refuse_dirty(r, s, g);
	if ((what & NMIG_REFUSE_UNKNOWN) && r->nunknown)
		return refuse_unknown(r, s);
	if ((what & NMIG_REFUSE_NOT_CLOSED) && r->not_closed >= 0) {
		const struct nmig_revision *a, *b;

		a = nmig_graph_rev(g, (size_t)r->not_closed);
		b = nmig_graph_rev(g, (size_t)r->missing_parent);
		nmig_error_set(NMIG_ESTATE,
			       "revision '%s' is applied but its parent '%s' "
			       "is not",
			       a->id, b->id);
		nmig_error_detail("the applied set must hold every ancestor of "
				  "an applied revision");
		nmig_error_hint("record the real state with 'nmig stamp "
				"TARGET' after checking the schema");
		return NMIG_ESTATE;
	}
	if ((what & NMIG_REFUSE_DRIFT) && r->ndrift)
		return refuse_drift(r, s, g);
	return NMIG_OK;
}

/* Append `'id'` literals of rows idx[0..n) separated by commas. */
static void row_list(struct nmig_buf *b, const struct nmig_state *s,
		     const size_t *idx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			nmig_buf_putc(b, ',');
		nmig_sql_literal(b, s->rows[idx[i]].revision);
	}
}

/* Append the VALUES tuple that records rev as applied. */
static void insert_values(struct nmig_buf *b, const struct nmig_revision *rev,
			  const char *state, const char *nmig_version)
{
	nmig_buf_putc(b, '(');
	nmig_sql_literal(b, rev->id);
	nmig_buf_putc(b, ',');
	nmig_sql_text_array(b, rev->parents, rev->nparents);
	nmig_buf_putc(b, ',');
	nmig_sql_literal(b, rev->message ? rev->message : "");
	nmig_buf_putc(b, ',');
	nmig_sql_literal(b, rev->up.checksum);
	nmig_buf_putc(b, ',');
	if (rev->down.path)
		nmig_sql_literal(b, rev->down.checksum);
	else
		nmig_buf_puts(b, "NULL");
	nmig_buf_printf(b, ",'%s',", state);
	nmig_sql_literal(b, nmig_version);
	nmig_buf_putc(b, ')');
}

void nmig_state_values_sql(struct nmig_buf *out,
			   const struct nmig_revision *rev, const char *state,
			   const char *nmig_version)
{
	insert_values(out, rev, state, nmig_version);
}

void nmig_state_insert_sql(struct nmig_buf *out, const struct nmig_vtable *t,
			   const struct nmig_revision *rev, const char *state,
			   const char *nmig_version)
{
	nmig_buf_printf(out,
			"INSERT INTO %s (revision, parents, message, checksum, "
			"down_checksum, state, nmig_version) VALUES ",
			t->ident);
	insert_values(out, rev, state, nmig_version);
}

int nmig_state_stamp(struct nmig_conn *c, const struct nmig_vtable *t,
		     const struct nmig_state *s, const struct nmig_graph *g,
		     const unsigned char *mark, int purge,
		     const char *nmig_version, size_t *ninserted,
		     size_t *ndeleted)
{
	struct nmig_buf sql = NMIG_BUF_INIT;
	unsigned char *present = NULL;
	size_t *del = NULL, ndel = 0, nins = 0, count = nmig_graph_count(g);
	size_t i;
	int err = NMIG_OK;

	present = calloc(count ? count : 1, 1);
	del = malloc((s->n ? s->n : 1) * sizeof(*del));
	if (!present || !del) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < s->n; i++) {
		const struct nmig_row *r = &s->rows[i];
		long k = nmig_graph_find(g, r->revision);

		if ((k < 0 || r->dirty) && (!purge || r->owner_alive)) {
			struct nmig_state_report rep;

			memset(&rep, 0, sizeof(rep));
			rep.not_closed = -1;
			if (r->dirty) {
				rep.dirty = &i;
				rep.ndirty = 1;
				err = refuse_dirty(&rep, s, g);
				if (!r->owner_alive)
					nmig_error_hint(
					    "resolve it with 'nmig repair' "
					    "first, or pass --purge to "
					    "delete dirty rows");
			} else {
				rep.unknown = &i;
				rep.nunknown = 1;
				err = refuse_unknown(&rep, s);
				nmig_error_hint("pass --purge to delete rows "
						"without a migration file");
			}
			goto cleanup;
		}
		if (k < 0 || r->dirty || !mark[k])
			del[ndel++] = i;
		else
			present[k] = 1;
	}
	if (ndel) {
		nmig_buf_printf(&sql, "DELETE FROM %s WHERE revision IN (",
				t->ident);
		row_list(&sql, s, del, ndel);
		nmig_buf_puts(&sql, ");\n");
	}
	for (i = 0; i < count; i++) {
		if (!mark[i] || present[i])
			continue;
		if (!nins)
			nmig_buf_printf(&sql,
					"INSERT INTO %s (revision, parents, "
					"message, checksum, down_checksum, "
					"state, nmig_version) VALUES\n",
					t->ident);
		else
			nmig_buf_puts(&sql, ",\n");
		insert_values(&sql, nmig_graph_rev(g, i), "applied",
			      nmig_version);
		nins++;
	}
	if (nins)
		nmig_buf_puts(&sql, ";\n");
	if (nmig_buf_oom(&sql)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	/* Several statements in one simple query: one implicit transaction. */
	if (sql.len)
		err =
		    nmig_conn_query(c, "cannot stamp", sql.ptr, 0, NULL, NULL);
cleanup:
	if (!err) {
		if (ninserted)
			*ninserted = nins;
		if (ndeleted)
			*ndeleted = ndel;
	}
	nmig_buf_release(&sql);
	free(present);
	free(del);
	return err;
}

int nmig_state_repair_checksums(struct nmig_conn *c,
				const struct nmig_vtable *t,
				const struct nmig_state *s,
				const struct nmig_graph *g, const size_t *rows,
				size_t n)
{
	struct nmig_buf sql = NMIG_BUF_INIT;
	size_t i;
	int err;

	if (n == 0)
		return NMIG_OK;
	nmig_buf_printf(
	    &sql,
	    "UPDATE %s AS t SET checksum = v.c, down_checksum = v.d "
	    "FROM (VALUES ",
	    t->ident);
	for (i = 0; i < n; i++) {
		const struct nmig_row *r = &s->rows[rows[i]];
		long k = nmig_graph_find(g, r->revision);
		const struct nmig_revision *rev;

		if (k < 0) {
			err = nmig_error_set(NMIG_ESTATE,
					     "revision '%s' has no migration "
					     "file",
					     r->revision);
			goto cleanup;
		}
		rev = nmig_graph_rev(g, (size_t)k);
		nmig_buf_puts(&sql, i ? ",(" : "(");
		nmig_sql_literal(&sql, r->revision);
		nmig_buf_putc(&sql, ',');
		nmig_sql_literal(&sql, rev->up.checksum);
		nmig_buf_putc(&sql, ',');
		if (rev->down.path)
			nmig_sql_literal(&sql, rev->down.checksum);
		else
			nmig_buf_puts(&sql, "NULL::text");
		nmig_buf_putc(&sql, ')');
	}
	nmig_buf_puts(&sql, ") AS v(r, c, d) WHERE t.revision = v.r");
	if (nmig_buf_oom(&sql)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	err = nmig_conn_query(c, "cannot update checksums", sql.ptr, 0, NULL,
			      NULL);
cleanup:
	nmig_buf_release(&sql);
	return err;
}

int nmig_state_resolve_dirty(struct nmig_conn *c, const struct nmig_vtable *t,
			     const char *revision, int applied)
{
	struct nmig_buf sql = NMIG_BUF_INIT;
	const char *params[1] = {revision};
	PGresult *res = NULL;
	int err;

	/* The owner's liveness is judged in the same statement. */
	if (applied)
		nmig_buf_printf(&sql,
				"UPDATE %s v SET state = 'applied', error = NULL, "
				"owner_seen = NULL WHERE revision = $1 AND "
				"state = 'dirty' AND NOT ",
				t->ident);
	else
		nmig_buf_printf(&sql,
				"DELETE FROM %s v WHERE revision = $1 "
				"AND state = 'dirty' AND NOT ",
				t->ident);
	nmig_state_alive_sql(&sql, "v");
	if (nmig_buf_oom(&sql)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	err = nmig_conn_query(c, "cannot repair the row", sql.ptr, 1, params,
			      &res);
	if (err)
		goto cleanup;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		struct nmig_state st;
		size_t i;

		PQclear(res);
		res = NULL;
		err = nmig_state_read(&st, c, t, 0);
		if (err)
			goto cleanup;
		err = nmig_error_set(
		    NMIG_ESTATE, "revision '%s' has no dirty row", revision);
		nmig_error_hint("'nmig current' lists the dirty revisions");
		for (i = 0; i < st.n; i++) {
			const struct nmig_row *r = &st.rows[i];

			if (!r->dirty || !r->owner_alive ||
			    strcmp(r->revision, revision) != 0)
				continue;
			err = nmig_error_set(NMIG_ELOCKED,
					     "revision '%s' is being applied by "
					     "%s: refusing to repair it",
					     revision,
					     r->owner ? r->owner : "another run");
			nmig_error_detail("its row is dirty because the "
					  "migration is running now");
			nmig_error_hint("wait for that run to finish, then "
					"check 'nmig current'");
		}
		nmig_state_release(&st);
	}
cleanup:
	if (res)
		PQclear(res);
	nmig_buf_release(&sql);
	return err;
}

/* Add one error finding of rule about revision (its up file when known). */
static struct nmig_diag *state_finding(struct nmig_diags *diags,
				       const struct nmig_graph *g,
				       const char *rule, const char *revision,
				       const char *message)
{
	long k = nmig_graph_find(g, revision);

	return nmig_diags_add(diags, NMIG_SEV_ERROR, NMIG_ESTATE, rule,
			      k >= 0 ? nmig_graph_rev(g, (size_t)k)->up.path
				     : NULL,
			      0, 0, "%s", message);
}

/* The drifted and dirty rows of r as findings. */
static void drift_dirty_findings(struct nmig_diags *diags,
				 const struct nmig_state_report *r,
				 const struct nmig_state *s,
				 const struct nmig_graph *g,
				 struct nmig_buf *msg)
{
	struct nmig_diag *d;
	size_t i;

	for (i = 0; i < r->ndrift; i++) {
		const struct nmig_row *row = &s->rows[r->drift[i]];
		long k = nmig_graph_find(g, row->revision);

		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"applied revision '%s' was edited after it was "
				"applied (recorded checksum %.12s, file %.12s)",
				row->revision, row->checksum,
				nmig_graph_rev(g, (size_t)k)->up.checksum);
		d = state_finding(diags, g, "db-drift", row->revision,
				  msg->ptr);
		if (d)
			nmig_diag_set_hint(d,
					   "restore the applied file; after a "
					   "deliberate edit run 'nmig repair "
					   "--checksums'");
	}
	for (i = 0; i < r->ndirty; i++) {
		const struct nmig_row *row = &s->rows[r->dirty[i]];

		nmig_buf_clear(msg);
		nmig_buf_printf(msg,
				"revision '%s' is dirty: a migration that runs "
				"outside a transaction did not finish%s%s",
				row->revision, row->error ? ": " : "",
				row->error ? row->error : "");
		d = state_finding(diags, g, "db-dirty", row->revision,
				  msg->ptr);
		if (d)
			nmig_diag_set_hint(d,
					   "check which statements ran, then "
					   "'nmig repair --mark-applied %s' "
					   "or '--mark-rolled-back %s'",
					   row->revision, row->revision);
	}
}

size_t nmig_state_findings(struct nmig_diags *diags,
			   const struct nmig_state_report *r,
			   const struct nmig_state *s,
			   const struct nmig_graph *g)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	size_t before = diags->errors, i;
	struct nmig_diag *d;

	drift_dirty_findings(diags, r, s, g, &msg);
	for (i = 0; i < r->nunknown; i++) {
		const struct nmig_row *row = &s->rows[r->unknown[i]];

		nmig_buf_clear(&msg);
		nmig_buf_printf(&msg,
				"the database has revision '%s' applied, which "
				"has no migration file",
				row->revision);
		d = state_finding(diags, g, "db-unknown", row->revision,
				  msg.ptr);
		if (d)
			nmig_diag_set_hint(d,
					   "check out the branch that holds "
					   "its file, or forget it with 'nmig "
					   "stamp --purge TARGET'");
	}
	if (r->not_closed >= 0) {
		const char *a = nmig_graph_rev(g, (size_t)r->not_closed)->id;

		nmig_buf_clear(&msg);
		nmig_buf_printf(
		    &msg, "revision '%s' is applied but its parent '%s' is not",
		    a, nmig_graph_rev(g, (size_t)r->missing_parent)->id);
		d = state_finding(diags, g, "db-not-closed", a, msg.ptr);
		if (d)
			nmig_diag_set_hint(d,
					   "record the real state with 'nmig "
					   "stamp TARGET' after checking the "
					   "schema");
	}
	nmig_buf_release(&msg);
	return diags->errors - before;
}
