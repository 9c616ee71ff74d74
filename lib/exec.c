/*
 * The engine that runs migrations. Consecutive transactional migrations go
 * to the server as one multi-statement simple query (one round trip for
 * the lot); the results are read back one by one, a BEGIN starting a
 * migration and a COMMIT ending it. The server stops executing a simple
 * query at its first error, so a failure leaves every earlier migration
 * committed and nothing after it run; the open transaction is rolled back.
 * Non-transactional migrations run statement by statement between a
 * 'dirty' version row and its completion. Lock timeouts roll back and
 * retry from the migration that hit them. Errors carry the server's
 * SQLSTATE, detail and hint and point at file:line:col.
 */
#include "exec.h"

#include "conn_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "clock.h"
#include "error.h"
#include "interrupt.h"

/* Lock-conflict retries: 250 ms doubling, capped, with jitter. */
#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS 5000

enum outcome {
	OUT_FAILED = 0, /* error set: stop */
	OUT_LOCK,	/* lock timeout / deadlock: retry from next */
	OUT_PARSE_AT,	/* refused before anything ran: next is the
			 * step whose text the server rejected */
	OUT_CONCURRENT, /* another process got there first */
};

struct run {
	struct nmig_conn *c;
	const struct nmig_vtable *t;
	const struct nmig_step *steps;
	size_t n;
	const struct nmig_exec_opts *o;
	struct nmig_exec_result *res;
	/*
	 * The run's owner record for dirty rows: "<token> nmig <version> pid
	 * <pid> on <host>". Every statement of a non-transactional migration
	 * starts with the comment "/ * nmig:<token> * /" (without the spaces
	 * inside), so that pg_stat_activity shows which run is applying it.
	 */
	char owner[160];
	char tag[48];
};

/* Wait before lock retry number attempt (1-based): backoff with jitter. */
static int retry_wait_ms(int attempt)
{
	static uint64_t state;
	int base = RETRY_FIRST_MS;

	while (--attempt > 0 && base < RETRY_MAX_MS)
		base *= 2;
	if (base > RETRY_MAX_MS)
		base = RETRY_MAX_MS;
	if (!state) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((uint64_t)ts.tv_nsec << 17) ^ (uint64_t)getpid() ^
			0x2545f4914f6cdd1dULL;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return base / 2 + (int)(state % (uint64_t)(base / 2 + 1));
}

static void emit(struct run *r, enum nmig_exec_event_kind kind, size_t i,
		 double ms, int attempt, int wait_ms, const char *reason)
{
	struct nmig_exec_event ev;

	if (!r->o->on_event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.index = i;
	ev.rev = r->steps[i].rev;
	ev.ms = ms;
	ev.attempt = attempt;
	ev.wait_ms = wait_ms;
	ev.reason = reason;
	r->o->on_event(r->o->ud, &ev);
}

static int is_lock_conflict(const char *sqlstate)
{
	return sqlstate && (strcmp(sqlstate, "55P03") == 0 ||
			    strcmp(sqlstate, "40P01") == 0);
}

size_t nmig_utf8_char_offset(const char *s, size_t len, long pos)
{
	size_t i = 0;
	long chars = 0;

	if (pos <= 1)
		return 0;
	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			continue;
		if (++chars == pos)
			return i;
	}
	return len;
}

int nmig_batch_locate(const struct nmig_batch *b, long position, size_t *entry,
		      size_t *file_off)
{
	size_t off, i;

	if (position < 1)
		return 0;
	off = nmig_utf8_char_offset(b->sql.ptr, b->sql.len, position);
	for (i = 0; i < b->n; i++) {
		const struct nmig_batch_entry *e = &b->entries[i];

		if (off >= e->sql_off && off <= e->sql_off + e->sql_len) {
			*entry = i;
			*file_off = off - e->sql_off + e->file_base;
			return 1;
		}
	}
	return 0;
}

void nmig_exec_locate_error(const struct nmig_script *script, size_t off)
{
	int line = 0, col = 0;

	if (off > script->len)
		off = script->len;
	nmig_text_linecol(script->text, script->len, off, &line, &col);
	nmig_error_location(script->path, line, col,
			    nmig_text_line_start(script->text, off));
}

int nmig_exec_timeouts_sql(struct nmig_buf *b, const struct nmig_exec_opts *o,
			   const char *scope)
{
	nmig_buf_printf(b, "SET %slock_timeout = '%dms';\n", scope,
			o->lock_timeout_ms);
	nmig_buf_printf(b, "SET %sstatement_timeout = '%dms';\n", scope,
			o->statement_timeout_ms);
	if (o->client_check_ms <= 0)
		return 2;
	nmig_buf_printf(b, "SET %sclient_connection_check_interval = '%dms';\n",
			scope, o->client_check_ms);
	return 3;
}

/* The column a batch returns the server-side duration of a migration in. */
#define NMIG_MS_COLUMN "nmig_execution_ms"

void nmig_exec_duration_sql(struct nmig_buf *b)
{
	nmig_buf_puts(b, "(pg_catalog.date_part('epoch', "
			 "pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) "
			 "applied_at) OPERATOR(pg_catalog.*) 1000)"
			 "::pg_catalog.int8");
}

/*
 * The downgrade guard: delete the applied row, and raise P0002 when there
 * was none, so that a revision is never reverted twice.
 */
static void down_guard_sql(struct nmig_buf *b, const struct nmig_vtable *t,
			   const char *revision)
{
	struct nmig_buf body = NMIG_BUF_INIT;
	char tag[32];

	nmig_buf_printf(&body,
			" BEGIN DELETE FROM %s WHERE revision = ", t->ident);
	nmig_sql_literal(&body, revision);
	nmig_buf_puts(&body, " AND state = 'applied'; IF NOT FOUND THEN "
			     "RAISE EXCEPTION 'revision % is not applied', ");
	nmig_sql_literal(&body, revision);
	nmig_buf_puts(&body, " USING ERRCODE = 'P0002'; END IF; "
			     "PERFORM pg_catalog.set_config('nmig.t0', "
			     "pg_catalog.clock_timestamp()::pg_catalog.text, "
			     "true); END ");
	nmig_sql_dollar_tag(body.ptr, tag, sizeof(tag));
	nmig_buf_printf(b, "DO %s%s%s;\n", tag, body.ptr, tag);
	nmig_buf_release(&body);
}

int nmig_batch_build(struct nmig_batch *out, const struct nmig_vtable *t,
		     const struct nmig_step *steps, size_t from, size_t to,
		     const struct nmig_exec_opts *o)
{
	struct nmig_buf *b = &out->sql;
	size_t i;

	memset(out, 0, sizeof(*out));
	nmig_buf_init(b);
	out->entries = calloc(to > from ? to - from : 1, sizeof(*out->entries));
	if (!out->entries)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = from; i < to; i++) {
		const struct nmig_revision *rev = steps[i].rev;
		const struct nmig_script *sc = steps[i].script;
		struct nmig_batch_entry *e = &out->entries[out->n++];

		nmig_buf_puts(b, "BEGIN;\n");
		e->prelude = 2 + nmig_exec_timeouts_sql(b, o, "LOCAL ");
		/*
		 * One WAL flush per batch: every commit but the last is
		 * asynchronous, and the last (synchronous) one flushes the
		 * WAL of all before it. A crash in between loses whole
		 * migrations with their version rows, never half of one.
		 */
		if (i + 1 < to) {
			nmig_buf_puts(b, "SET LOCAL synchronous_commit = off;\n");
			e->prelude++;
		}
		if (o->dir == NMIG_UP) {
			nmig_state_insert_sql(b, t, rev, "applied",
					      o->nmig_version);
			nmig_buf_puts(b, ";\n");
		} else {
			down_guard_sql(b, t, rev->id);
		}
		e->step = i;
		e->file_base = nmig_script_body(sc);
		e->sql_off = b->len;
		e->sql_len = sc->len - e->file_base;
		nmig_buf_put(b, sc->text + e->file_base, e->sql_len);
		/* Close a last statement without ';' or a trailing comment. */
		nmig_buf_puts(b, "\n;\n");
		/* The server's own measure of the migration, read back as
		 * the one column NMIG_MS_COLUMN just before COMMIT. */
		if (o->dir == NMIG_UP) {
			nmig_buf_printf(
			    b, "UPDATE %s SET execution_ms = ", t->ident);
			nmig_exec_duration_sql(b);
			nmig_buf_puts(b, " WHERE revision = ");
			nmig_sql_literal(b, rev->id);
			nmig_buf_puts(b, " RETURNING execution_ms AS "
					 NMIG_MS_COLUMN ";\n");
		} else {
			nmig_buf_puts(b, "SELECT (pg_catalog.date_part('epoch', "
					 "pg_catalog.clock_timestamp() "
					 "OPERATOR(pg_catalog.-) "
					 "pg_catalog.current_setting('nmig.t0')"
					 "::pg_catalog.timestamptz) "
					 "OPERATOR(pg_catalog.*) 1000)"
					 "::pg_catalog.int8 AS " NMIG_MS_COLUMN
					 ";\n");
		}
		nmig_buf_puts(b, "COMMIT;\n");
	}
	if (nmig_buf_oom(b)) {
		nmig_batch_release(out);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	return NMIG_OK;
}

void nmig_batch_release(struct nmig_batch *b)
{
	nmig_buf_release(&b->sql);
	free(b->entries);
	b->entries = NULL;
	b->n = 0;
}

/* "migration <id> (<message>) failed" into buf. */
static void failed_prefix(struct nmig_buf *buf, const struct nmig_revision *rev)
{
	nmig_buf_printf(buf, "migration %s (%s) failed", rev->id,
			rev->message ? rev->message : rev->slug);
}

/*
 * The last error for step i failing with res. off: byte offset of the
 * error in the step's file, or SIZE_MAX when unknown.
 */
static int migration_error(struct run *r, size_t i, const PGresult *res,
			   size_t off)
{
	struct nmig_buf prefix = NMIG_BUF_INIT;

	failed_prefix(&prefix, r->steps[i].rev);
	nmig_conn_result_error(res, NMIG_ESQL, prefix.ptr);
	if (off != SIZE_MAX)
		nmig_exec_locate_error(r->steps[i].script, off);
	r->res->failed = (long)i;
	nmig_buf_release(&prefix);
	return NMIG_ESQL;
}

/*
 * The hint of a run that stopped in migration rev (connection lost,
 * interrupted): a dirty one needs repair, else running again goes on.
 */
static void stop_hint(const struct nmig_revision *rev, int dirty)
{
	if (dirty)
		nmig_error_hint("check which of its statements ran, then 'nmig "
				"repair --mark-applied %s' or "
				"'--mark-rolled-back %s'",
				rev->id, rev->id);
	else
		nmig_error_hint("run the command again to continue from "
				"there");
}

/* The last error for a connection that dropped during (or before) step i. */
static int lost_error(struct run *r, size_t i, int started, int dirty)
{
	const struct nmig_revision *rev = r->steps[i].rev;
	struct nmig_buf why = NMIG_BUF_INIT;

	nmig_conn_redact(r->c->info.url,
			 r->c->pg ? PQerrorMessage(r->c->pg) : "", &why);
	while (why.len &&
	       (why.ptr[why.len - 1] == '\n' || why.ptr[why.len - 1] == ' '))
		nmig_buf_truncate(&why, why.len - 1);
	if (!started)
		nmig_error_set(NMIG_ESQL,
			       "connection lost before migration %s (%s) "
			       "started",
			       rev->id, rev->message);
	else if (dirty)
		nmig_error_set(NMIG_ESQL,
			       "connection lost during migration %s (%s): it "
			       "is left dirty",
			       rev->id, rev->message);
	else
		nmig_error_set(NMIG_ESQL,
			       "connection lost during migration %s (%s): it "
			       "was rolled back by the server",
			       rev->id, rev->message);
	if (why.len)
		nmig_error_detail("%s", why.ptr);
	stop_hint(rev, dirty);
	r->res->failed = (long)i;
	r->res->connection_lost = 1;
	nmig_buf_release(&why);
	return NMIG_ESQL;
}

/* The last error for a step another process applied / reverted first. */
static int concurrent_error(struct run *r, size_t i)
{
	nmig_error_set(NMIG_ESTATE,
		       "revision %s was %s concurrently by "
		       "another process",
		       r->steps[i].rev->id,
		       r->o->dir == NMIG_UP ? "applied" : "reverted");
	r->res->failed = (long)i;
	r->res->concurrent = 1;
	return NMIG_ESTATE;
}

/*
 * The last error for a run stopped by an interrupt at step i: started
 * says whether step i had begun, dirty whether it is left dirty (a
 * non-transactional migration part-way through).
 */
static int interrupted_error(struct run *r, size_t i, int started, int dirty)
{
	const struct nmig_revision *rev = r->steps[i].rev;
	struct nmig_buf what = NMIG_BUF_INIT;
	int err;

	if (!started)
		nmig_buf_printf(&what, "before migration %s (%s) started",
				rev->id, rev->message ? rev->message : rev->slug);
	else if (dirty)
		nmig_buf_printf(&what,
				"during migration %s (%s): it runs outside a "
				"transaction and is left dirty",
				rev->id, rev->message ? rev->message : rev->slug);
	else
		nmig_buf_printf(&what,
				"during migration %s (%s): it was cancelled "
				"and rolled back",
				rev->id, rev->message ? rev->message : rev->slug);
	err = nmig_interrupt_error(what.ptr);
	stop_hint(rev, dirty);
	r->res->failed = (long)i;
	r->res->interrupted = 1;
	nmig_buf_release(&what);
	return err;
}

static void step_done(struct run *r, size_t i, double ms)
{
	r->res->ms[i] = ms;
	r->res->done = i + 1;
	emit(r, NMIG_EXEC_DONE, i, ms, 0, 0, NULL);
}


/* Roll back an open or failed transaction (no-op when idle). */
static void rollback_if_open(struct run *r)
{
	PGTransactionStatusType ts;

	if (nmig_conn_lost(r->c))
		return;
	ts = PQtransactionStatus(r->c->pg);
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
		struct nmig_error saved = *nmig_error_last();

		/* the migration's error stays the last error */
		nmig_conn_query(r->c, "cannot roll back", "ROLLBACK", 0, NULL,
				NULL);
		nmig_error_restore(&saved);
	}
}

/* Hand a COPY the migration started back to the server as an error. */
static void refuse_copy(struct nmig_conn *c, ExecStatusType st)
{
	char *buf;

	if (st == PGRES_COPY_IN)
		PQputCopyEnd(c->pg, "nmig cannot feed COPY FROM STDIN in a "
				    "migration");
	else
		while (PQgetCopyData(c->pg, &buf, 0) > 0)
			PQfreemem(buf);
}

/*
 * Send transactional steps[from..to) as one query and read the results.
 * On failure *next is the step that failed (steps before it committed)
 * and *oc says what kind of failure it was.
 */
static int run_batch(struct run *r, size_t from, size_t to, size_t *next,
		     enum outcome *oc)
{
	struct nmig_batch b;
	PGresult *res, *err_res = NULL;
	long cur = -1, err_entry = -1;
	size_t next_entry = 0, off = SIZE_MAX, e;
	int count = 0, err_count = 0, err, prelude;
	double t0 = 0, server_ms = -1;
	const char *state, *pos;

	*next = from;
	*oc = OUT_FAILED;
	err = nmig_batch_build(&b, r->t, r->steps, from, to, r->o);
	if (err)
		return err;
	nmig_conn_count_roundtrip(r->c);
	if (!PQsendQuery(r->c->pg, b.sql.ptr)) {
		err = lost_error(r, from, 0, 0);
		goto cleanup;
	}
	while ((res = PQgetResult(r->c->pg))) {
		ExecStatusType st = PQresultStatus(res);
		const char *tag = PQcmdStatus(res);

		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
			refuse_copy(r->c, st);
		} else if (st == PGRES_FATAL_ERROR ||
			   st == PGRES_BAD_RESPONSE) {
			if (!err_res) {
				err_res = res;
				res = NULL;
				err_entry = cur;
				err_count = count;
			}
		} else if (cur < 0) {
			if (strcmp(tag, "BEGIN") == 0 && next_entry < b.n) {
				cur = (long)next_entry++;
				count = 1;
				t0 = nmig_clock_ms();
				emit(r, NMIG_EXEC_START, b.entries[cur].step, 0,
				     0, 0, NULL);
			}
		} else {
			count++;
			if (st == PGRES_TUPLES_OK && PQnfields(res) == 1 &&
			    PQntuples(res) == 1 &&
			    strcmp(PQfname(res, 0), NMIG_MS_COLUMN) == 0 &&
			    !PQgetisnull(res, 0, 0))
				server_ms = atof(PQgetvalue(res, 0, 0));
			if (strcmp(tag, "COMMIT") == 0) {
				step_done(r, b.entries[cur].step,
					  server_ms >= 0
					      ? server_ms
					      : nmig_clock_ms() - t0);
				cur = -1;
				server_ms = -1;
			}
		}
		PQclear(res);
	}
	*next = from + next_entry - (cur >= 0 ? 1 : 0);
	if (nmig_conn_lost(r->c) && !(next_entry == b.n && cur < 0)) {
		err = lost_error(r, *next < to ? *next : to - 1, cur >= 0, 0);
		goto cleanup;
	}
	if (!err_res) {
		if (next_entry == b.n && cur < 0)
			goto cleanup;
		rollback_if_open(r);
		err = nmig_error_set(NMIG_ESQL,
				     "the server ended the batch early, "
				     "inside migration %s",
				     r->steps[*next].rev->id);
		r->res->failed = (long)*next;
		goto cleanup;
	}
	state = PQresultErrorField(err_res, PG_DIAG_SQLSTATE);
	pos = PQresultErrorField(err_res, PG_DIAG_STATEMENT_POSITION);
	if (pos && nmig_batch_locate(&b, atol(pos), &e, &off)) {
		if (err_entry < 0 && e > 0) {
			/* The server refused the text before running any of
			 * it: run the migrations before that one first. */
			*next = b.entries[e].step;
			*oc = OUT_PARSE_AT;
			err = nmig_conn_result_error(err_res, NMIG_ESQL,
						     "refused");
			goto cleanup;
		}
		if (err_entry < 0)
			err_entry = (long)e;
		if ((long)e != err_entry)
			off = SIZE_MAX;
	}
	if (err_entry < 0)
		err_entry = 0;
	*next = b.entries[err_entry].step;
	prelude = b.entries[err_entry].prelude;
	if (off == SIZE_MAX && err_count >= prelude) {
		const struct nmig_script *sc = r->steps[*next].script;
		size_t u = (size_t)(err_count - prelude);

		if (u < sc->n)
			off = sc->stmts[u].offset;
	}
	if (nmig_interrupt_pending()) {
		err = interrupted_error(r, *next, 1, 0);
	} else if (err_count == prelude - 1 && state &&
	    ((r->o->dir == NMIG_UP && strcmp(state, "23505") == 0) ||
	     (r->o->dir == NMIG_DOWN && strcmp(state, "P0002") == 0))) {
		err = concurrent_error(r, *next);
		*oc = OUT_CONCURRENT;
	} else {
		err = migration_error(r, *next, err_res, off);
		if (is_lock_conflict(state))
			*oc = OUT_LOCK;
	}
	rollback_if_open(r);
	if (nmig_conn_lost(r->c))
		err = lost_error(r, *next, 1, 0);
cleanup:
	if (err_res)
		PQclear(err_res);
	nmig_batch_release(&b);
	return err;
}

/* Run bookkeeping sql (one round trip); the PGresult goes to *out. */
static int bookkeeping(struct run *r, const char *sql, PGresult **out)
{
	PGresult *res;
	ExecStatusType st;

	*out = NULL;
	nmig_conn_count_roundtrip(r->c);
	res = PQexec(r->c->pg, sql);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*out = res;
		return NMIG_OK;
	}
	if (nmig_conn_lost(r->c)) {
		PQclear(res);
		return NMIG_ECONNECT;
	}
	*out = res;
	return NMIG_ERROR;
}

/* Append the RESETs of what nmig_exec_timeouts_sql set for a session. */
static void reset_sql(struct nmig_buf *b, const struct nmig_exec_opts *o)
{
	nmig_buf_puts(b, "RESET lock_timeout;\nRESET statement_timeout");
	if (o->client_check_ms > 0)
		nmig_buf_puts(b, ";\nRESET client_connection_check_interval");
}

/* Record the failure text in the dirty row of step i (best effort). */
static void record_row_error(struct run *r, size_t i)
{
	const struct nmig_error *e = nmig_error_last();
	struct nmig_buf sql = NMIG_BUF_INIT, text = NMIG_BUF_INIT;
	PGresult *res = NULL;

	if (nmig_conn_lost(r->c))
		return;
	nmig_buf_printf(&text, "%s%s",
			r->o->dir == NMIG_DOWN ? "downgrade: " : "",
			e->message);
	if (e->sqlstate[0])
		nmig_buf_printf(&text, " (SQLSTATE %s)", e->sqlstate);
	if (e->file[0])
		nmig_buf_printf(&text, " at %s:%d:%d", e->file, e->line,
				e->col);
	nmig_buf_printf(&sql, "UPDATE %s SET owner_seen = NULL, error = ",
			r->t->ident);
	nmig_sql_literal(&sql, text.ptr);
	nmig_buf_puts(&sql, " WHERE revision = ");
	nmig_sql_literal(&sql, r->steps[i].rev->id);
	nmig_buf_puts(&sql, ";\n");
	reset_sql(&sql, r->o);
	if (!nmig_buf_oom(&sql)) {
		struct nmig_error saved = *e;

		/* the migration's error stays the last error */
		bookkeeping(r, sql.ptr, &res);
		nmig_error_restore(&saved);
	}
	if (res)
		PQclear(res);
	nmig_buf_release(&sql);
	nmig_buf_release(&text);
}

/*
 * Report that this run is alive and applying step i (the dirty row's
 * owner_seen), before each of its statements: a statement of a
 * non-transactional migration may go to another server connection behind
 * a pooler, so liveness is this timestamp plus the tagged statement
 * running, never a backend pid.
 */
static int owner_seen(struct run *r, size_t i)
{
	struct nmig_buf sql = NMIG_BUF_INIT;
	PGresult *res = NULL;
	int err;

	nmig_buf_printf(&sql,
			"UPDATE %s SET owner_seen = pg_catalog.clock_timestamp() "
			"WHERE revision = ",
			r->t->ident);
	nmig_sql_literal(&sql, r->steps[i].rev->id);
	if (nmig_buf_oom(&sql)) {
		nmig_buf_release(&sql);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	err = bookkeeping(r, sql.ptr, &res);
	if (err == NMIG_ECONNECT)
		err = lost_error(r, i, 1, 1);
	else if (err)
		err = nmig_conn_result_error(res, NMIG_ESQL,
					     "cannot record the dirty row's "
					     "owner");
	if (res)
		PQclear(res);
	nmig_buf_release(&sql);
	return err;
}

/*
 * After a failed CREATE INDEX CONCURRENTLY: the server leaves the index
 * behind, INVALID. Say so in the error, with the statement that drops it.
 */
static void invalid_index_detail(struct run *r, size_t i,
				 const struct nmig_stmt *st)
{
	const struct nmig_script *sc = r->steps[i].script;
	struct nmig_error saved = *nmig_error_last();
	PGresult *res = NULL;
	const char *params[1];
	char *text;
	int k;

	if (nmig_conn_lost(r->c) || !st->what ||
	    !strstr(st->what, "INDEX CONCURRENTLY"))
		return;
	text = strndup(sc->text + st->offset, st->len);
	if (!text)
		return;
	params[0] = text;
	/* Only indexes of a table the statement names: an INVALID index
	 * left by something else is not this build's. */
	if (nmig_conn_query(r->c, "find the INVALID index",
			    "SELECT pg_catalog.format('%I.%I', n.nspname, "
			    "c.relname) FROM pg_catalog.pg_index i JOIN "
			    "pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN "
			    "pg_catalog.pg_class t ON t.oid = i.indrelid JOIN "
			    "pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
			    "WHERE NOT i.indisvalid AND pg_catalog.strpos("
			    "pg_catalog.lower($1), pg_catalog.lower(t.relname)) "
			    "OPERATOR(pg_catalog.>) 0 ORDER BY 1",
			    1, params, &res) == NMIG_OK) {
		nmig_error_restore(&saved);
		for (k = 0; k < PQntuples(res); k++)
			nmig_error_detail("the failed build left the INVALID "
					  "index %s; drop it with: DROP INDEX "
					  "CONCURRENTLY IF EXISTS %s;",
					  PQgetvalue(res, k, 0),
					  PQgetvalue(res, k, 0));
	} else {
		nmig_error_restore(&saved);
	}
	if (res)
		PQclear(res);
	free(text);
}

/* Run one statement of a non-transactional step, retrying lock conflicts. */
static int run_statement(struct run *r, size_t i, const struct nmig_stmt *st,
			 int fresh)
{
	const struct nmig_script *sc = r->steps[i].script;
	struct nmig_buf text = NMIG_BUF_INIT;
	size_t tag_len = strlen(r->tag);
	int attempt = 0, err = NMIG_OK;

	nmig_buf_puts(&text, r->tag);
	nmig_buf_put(&text, sc->text + st->offset, st->len);
	if (nmig_buf_oom(&text))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (;;) {
		PGresult *res;
		ExecStatusType s;
		const char *state, *pos;
		size_t off;

		if (nmig_interrupt_pending()) {
			err = interrupted_error(r, i, 1, 1);
			record_row_error(r, i);
			break;
		}
		if ((!fresh || attempt) && (err = owner_seen(r, i)))
			break;
		nmig_conn_count_roundtrip(r->c);
		res = PQexec(r->c->pg, text.ptr);
		s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT) {
			refuse_copy(r->c, s);
			PQclear(res);
			while ((res = PQgetResult(r->c->pg)) &&
			       PQresultStatus(res) != PGRES_FATAL_ERROR)
				PQclear(res);
			s = res ? PQresultStatus(res) : PGRES_COMMAND_OK;
		}
		if (s != PGRES_FATAL_ERROR && s != PGRES_BAD_RESPONSE &&
		    s != PGRES_NONFATAL_ERROR) {
			PQclear(res);
			break;
		}
		if (nmig_conn_lost(r->c)) {
			PQclear(res);
			err = lost_error(r, i, 1, 1);
			break;
		}
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (nmig_interrupt_pending()) {
			PQclear(res);
			err = interrupted_error(r, i, 1, 1);
			invalid_index_detail(r, i, st);
			record_row_error(r, i);
			break;
		}
		if (is_lock_conflict(state) && attempt < r->o->lock_retries) {
			int wait = retry_wait_ms(++attempt);

			emit(r, NMIG_EXEC_RETRY, i, 0, attempt, wait,
			     PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
			PQclear(res);
			nmig_clock_sleep_ms(wait);
			continue;
		}
		pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
		off = st->offset;
		if (pos) {
			size_t at = nmig_utf8_char_offset(text.ptr, text.len,
							  atol(pos));

			off += at > tag_len ? at - tag_len : 0;
		}
		err = migration_error(r, i, res, off);
		invalid_index_detail(r, i, st);
		if (is_lock_conflict(state))
			nmig_error_hint("a lock stayed held longer than "
					"--lock-timeout through %d retries; "
					"look for long-running transactions "
					"in pg_stat_activity",
					attempt);
		PQclear(res);
		record_row_error(r, i);
		break;
	}
	nmig_buf_release(&text);
	return err;
}

/*
 * A non-transactional step: mark the row dirty (insert it on upgrade),
 * run each statement in autocommit, then complete the row.
 */
static int run_nontx(struct run *r, size_t i, enum outcome *oc)
{
	const struct nmig_step *st = &r->steps[i];
	struct nmig_buf sql = NMIG_BUF_INIT;
	PGresult *res = NULL;
	double t0 = nmig_clock_ms();
	size_t j;
	int err;

	*oc = OUT_FAILED;
	emit(r, NMIG_EXEC_START, i, 0, 0, 0, NULL);
	nmig_exec_timeouts_sql(&sql, r->o, "");
	if (r->o->dir == NMIG_UP) {
		nmig_state_insert_sql(&sql, r->t, st->rev, "dirty",
				      r->o->nmig_version);
		nmig_buf_printf(&sql, ";\nUPDATE %s SET owner = ", r->t->ident);
		nmig_sql_literal(&sql, r->owner);
		nmig_buf_puts(&sql, ", owner_seen = pg_catalog.clock_timestamp() "
				    "WHERE revision = ");
	} else {
		nmig_buf_printf(&sql,
				"UPDATE %s SET state = 'dirty', error = NULL, "
				"owner = ",
				r->t->ident);
		nmig_sql_literal(&sql, r->owner);
		nmig_buf_puts(&sql, ", owner_seen = pg_catalog.clock_timestamp() "
				    "WHERE state = 'applied' AND revision = ");
	}
	nmig_sql_literal(&sql, st->rev->id);
	if (nmig_buf_oom(&sql)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	err = bookkeeping(r, sql.ptr, &res);
	if (err == NMIG_ECONNECT) {
		err = lost_error(r, i, 0, 0);
		goto cleanup;
	}
	if (err) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (state && strcmp(state, "23505") == 0) {
			err = concurrent_error(r, i);
			*oc = OUT_CONCURRENT;
		} else {
			err = migration_error(r, i, res, SIZE_MAX);
		}
		goto cleanup;
	}
	if (r->o->dir == NMIG_DOWN && strcmp(PQcmdTuples(res), "1") != 0) {
		err = concurrent_error(r, i);
		*oc = OUT_CONCURRENT;
		goto cleanup;
	}
	PQclear(res);
	res = NULL;
	for (j = 0; j < st->script->n; j++) {
		err = run_statement(r, i, &st->script->stmts[j], j == 0);
		if (err)
			goto cleanup;
	}
	nmig_buf_clear(&sql);
	if (r->o->dir == NMIG_UP) {
		nmig_buf_printf(
		    &sql,
		    "UPDATE %s SET state = 'applied', error = NULL, "
		    "owner = NULL, owner_seen = NULL, execution_ms = ",
		    r->t->ident);
		nmig_exec_duration_sql(&sql);
	} else {
		nmig_buf_printf(&sql, "DELETE FROM %s", r->t->ident);
	}
	nmig_buf_puts(&sql, " WHERE revision = ");
	nmig_sql_literal(&sql, st->rev->id);
	nmig_buf_puts(&sql, ";\n");
	reset_sql(&sql, r->o);
	if (nmig_buf_oom(&sql)) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	err = bookkeeping(r, sql.ptr, &res);
	if (err == NMIG_ECONNECT) {
		err = lost_error(r, i, 1, 1);
		goto cleanup;
	}
	if (err) {
		struct nmig_buf prefix = NMIG_BUF_INIT;

		nmig_buf_printf(&prefix,
				"migration %s (%s) ran but could not "
				"be recorded",
				st->rev->id, st->rev->message);
		err = nmig_conn_result_error(res, NMIG_ESQL, prefix.ptr);
		nmig_error_hint("its row stays dirty: check the database, then "
				"'nmig repair --mark-applied %s' or "
				"'--mark-rolled-back %s'",
				st->rev->id, st->rev->id);
		r->res->failed = (long)i;
		nmig_buf_release(&prefix);
		goto cleanup;
	}
	step_done(r, i, nmig_clock_ms() - t0);
cleanup:
	if (res)
		PQclear(res);
	nmig_buf_release(&sql);
	return err;
}

/*
 * After a run that stopped with migrations committed asynchronously in
 * its batch (see nmig_batch_build): a synchronous commit that flushes the
 * WAL up to here, so that what is reported committed is durable. The
 * run's error stays the last error.
 */
static void flush_commits(struct run *r)
{
	struct nmig_error saved = *nmig_error_last();
	PGresult *res = NULL;

	if (nmig_conn_lost(r->c) || r->res->done == 0)
		return;
	bookkeeping(r, "SELECT pg_catalog.txid_current()", &res);
	if (res)
		PQclear(res);
	nmig_error_restore(&saved);
}

/*
 * Fill r->owner and r->tag: a random token (so that the tag found in
 * pg_stat_activity is this run's), then who runs it.
 */
static void make_owner(struct run *r)
{
	unsigned char rnd[8];
	char host[64] = "";
	char token[17];
	int k;

	if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1) {
		uint64_t x = (uint64_t)nmig_clock_ms() ^
			     ((uint64_t)getpid() << 32);

		memcpy(rnd, &x, sizeof(rnd));
	}
	for (k = 0; k < 8; k++)
		snprintf(token + 2 * k, 3, "%02x", rnd[k]);
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "?");
	for (k = 0; host[k]; k++)
		if ((unsigned char)host[k] < 0x20 || host[k] == '\'' ||
		    host[k] == '*' || (unsigned char)host[k] >= 0x7f)
			host[k] = '_';
	snprintf(r->owner, sizeof(r->owner), "%s nmig %s pid %ld on %s", token,
		 r->o->nmig_version ? r->o->nmig_version : "?", (long)getpid(),
		 host);
	snprintf(r->tag, sizeof(r->tag), "/* nmig:%s */ ", token);
}

int nmig_exec_run(struct nmig_exec_result *out, struct nmig_conn *c,
		  const struct nmig_vtable *t, const struct nmig_step *steps,
		  size_t n, const struct nmig_exec_opts *opts)
{
	struct nmig_exec_opts eff = *opts;
	const struct nmig_exec_opts *o = &eff;
	struct run r;
	size_t i = 0, stop_at = SIZE_MAX;
	long retry_step = -1;
	int retries = 0, err = NMIG_OK;

	/* client_connection_check_interval exists from PostgreSQL 14 on. */
	if (PQserverVersion(c->pg) < 140000)
		eff.client_check_ms = 0;
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.t = t;
	r.steps = steps;
	r.n = n;
	r.o = o;
	r.res = out;
	make_owner(&r);
	memset(out, 0, sizeof(*out));
	out->failed = -1;
	out->ms = calloc(n ? n : 1, sizeof(*out->ms));
	if (!out->ms)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	while (i < n) {
		enum outcome oc;
		size_t j = i, next = i;

		if (nmig_interrupt_pending()) {
			err = interrupted_error(&r, i, 0, 0);
			break;
		}

		if (!steps[i].rev->transactional) {
			err = run_nontx(&r, i, &oc);
			if (err)
				break;
			i++;
			continue;
		}
		while (j < n && j < stop_at && steps[j].rev->transactional)
			j++;
		err = run_batch(&r, i, j, &next, &oc);
		if (!err) {
			i = j;
			if (i >= stop_at)
				stop_at = SIZE_MAX;
			continue;
		}
		if (oc == OUT_PARSE_AT && next > i) {
			/* Run the ones before the refused text, then let the
			 * refused one fail on its own. */
			stop_at = next;
			err = NMIG_OK;
			out->failed = -1;
			continue;
		}
		if (oc != OUT_LOCK || nmig_interrupt_pending())
			break;
		if (retry_step != (long)next) {
			retry_step = (long)next;
			retries = 0;
		}
		if (retries >= o->lock_retries) {
			nmig_error_hint("a lock stayed held longer than "
					"--lock-timeout through %d retries; "
					"look for long-running transactions in "
					"pg_stat_activity, or raise "
					"--lock-timeout / --lock-retries",
					retries);
			break;
		}
		{
			int wait = retry_wait_ms(++retries);

			emit(&r, NMIG_EXEC_RETRY, next, 0, retries, wait,
			     nmig_error_last()->message);
			nmig_clock_sleep_ms(wait);
		}
		err = NMIG_OK;
		out->failed = -1;
		i = next;
	}
	if (err)
		flush_commits(&r);
	return err;
}

void nmig_exec_result_release(struct nmig_exec_result *r)
{
	free(r->ms);
	r->ms = NULL;
	r->done = 0;
}

int nmig_exec_script(struct nmig_conn *c, const struct nmig_script *script,
		     const char *what)
{
	struct nmig_buf prefix = NMIG_BUF_INIT;
	PGresult *res;
	ExecStatusType st;
	const char *pos;
	int err = NMIG_OK;

	nmig_buf_printf(&prefix, "%s failed", what);
	nmig_conn_count_roundtrip(c);
	res = PQexec(c->pg, script->text + nmig_script_body(script));
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
	    st != PGRES_EMPTY_QUERY) {
		err = nmig_conn_result_error(
		    res, nmig_conn_lost(c) ? NMIG_ECONNECT : NMIG_ESQL,
		    prefix.ptr);
		pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION)
			  : NULL;
		if (pos) {
			size_t bo = nmig_script_body(script);

			nmig_exec_locate_error(
			    script,
			    bo + nmig_utf8_char_offset(script->text + bo,
						       script->len - bo,
						       atol(pos)));
		}
	}
	if (res)
		PQclear(res);
	if (!nmig_conn_lost(c) && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		struct nmig_error saved = *nmig_error_last();

		nmig_conn_query(c, "cannot roll back", "ROLLBACK", 0, NULL,
				NULL);
		if (err)
			nmig_error_restore(&saved);
		else
			err = nmig_error_set(NMIG_ESQL,
					     "%s left a transaction open "
					     "(rolled back)",
					     what);
	}
	nmig_buf_release(&prefix);
	return err;
}
