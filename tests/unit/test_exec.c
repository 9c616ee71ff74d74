/*
 * Unit tests of the execution engine's pure parts (lib/exec.c), with no
 * server: the one-query batch built for a run of transactional migrations
 * (per migration BEGIN, SET LOCAL timeouts, the version-row guard, the
 * file text verbatim, the duration update, COMMIT), the downgrade guard,
 * quoting of hostile ids and messages, mapping a server error position
 * (characters of the whole query, UTF-8 aware) back to the file and
 * byte offset, and the file:line:col location set from it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "exec.h"
#include "sqlscript.h"
#include "state.h"

#define NREV 3

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	struct nmig_revision revs[NREV];
	struct nmig_script scripts[NREV];
	struct nmig_step steps[NREV];
	struct nmig_vtable t;
	struct nmig_batch batch;
	struct nmig_exec_opts o;
};

static const char *const texts[NREV] = {
    "-- nmig:message create users\n"
    "CREATE TABLE users (id int PRIMARY KEY, name text);\n",
    /* multibyte characters before the statement, no final ';' */
    "-- café ☃ naïve\nCREATE TABLE tasks (id int, t text)",
    /* ends inside a line comment without newline */
    "ALTER TABLE tasks ADD COLUMN due date; -- trailing",
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	size_t i;
	static char *parents0[1];
	static char *parents1[2] = {"20260101000000", "x'y"};

	if (!c)
		return -1;
	for (i = 0; i < NREV; i++) {
		struct nmig_revision *r = &c->revs[i];
		char id[32], path[64];

		snprintf(id, sizeof(id), "2026010100000%zu", i);
		snprintf(path, sizeof(path), "m/%s_r.up.sql", id);
		r->id = strdup(id);
		r->message = strdup(i == 1 ? "it's a \\ test" : "test");
		r->slug = strdup("r");
		r->parents = i ? parents1 : parents0;
		r->nparents = i ? 2 : 0;
		r->transactional = 1;
		r->up.path = strdup(path);
		memset(r->up.checksum, 'a' + (int)i, 64);
		if (nmig_script_from_text(&c->scripts[i], path, texts[i],
					  strlen(texts[i])))
			return -1;
		c->steps[i].rev = r;
		c->steps[i].script = &c->scripts[i];
	}
	if (nmig_vtable_init(&c->t, NULL, "ops", "schema_version"))
		return -1;
	c->o.dir = NMIG_UP;
	c->o.lock_timeout_ms = 5000;
	c->o.statement_timeout_ms = 0;
	c->o.lock_retries = 3;
	c->o.nmig_version = "0.1.0";
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	size_t i;

	for (i = 0; i < NREV; i++) {
		free(c->revs[i].id);
		free(c->revs[i].message);
		free(c->revs[i].slug);
		free(c->revs[i].up.path);
		nmig_script_release(&c->scripts[i]);
	}
	nmig_batch_release(&c->batch);
	nmig_vtable_release(&c->t);
	free(c);
	return 0;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void test_batch_up(void **state)
{
	struct ctx *c = *state;
	struct nmig_batch *b = &c->batch;
	const char *sql;
	size_t i;

	assert_int_equal(nmig_batch_build(b, &c->t, c->steps, 0, NREV, &c->o),
			 NMIG_OK);
	sql = b->sql.ptr;
	assert_int_equal(b->n, NREV);
	assert_int_equal(count_of(sql, "BEGIN;\n"), NREV);
	assert_int_equal(count_of(sql, "COMMIT;\n"), NREV);
	assert_int_equal(count_of(sql, "SET LOCAL lock_timeout = '5000ms';"),
			 NREV);
	assert_int_equal(count_of(sql, "SET LOCAL statement_timeout = '0ms';"),
			 NREV);
	assert_int_equal(
	    count_of(sql, "INSERT INTO \"ops\".\"schema_version\""), NREV);
	assert_int_equal(count_of(sql, "UPDATE \"ops\".\"schema_version\" SET "
				       "execution_ms"),
			 NREV);
	assert_int_equal(count_of(sql, "RETURNING execution_ms AS "
				       "nmig_execution_ms;\nCOMMIT;"),
			 NREV);
	/* hostile text is quoted */
	assert_non_null(strstr(sql, "E'it''s a \\\\ test'"));
	assert_non_null(strstr(sql, "ARRAY['20260101000000','x''y']::text[]"));
	assert_non_null(strstr(sql, "'{}'::text[]"));
	for (i = 0; i < NREV; i++) {
		const struct nmig_batch_entry *e = &b->entries[i];
		const char *ins, *begin;

		assert_int_equal(e->step, i);
		assert_int_equal(e->sql_len, strlen(texts[i]));
		assert_memory_equal(sql + e->sql_off, texts[i], e->sql_len);
		/* the file is followed by a line break and a lone ';' */
		assert_memory_equal(sql + e->sql_off + e->sql_len, "\n;\n", 3);
		/* the version row comes first in the transaction */
		begin = sql;
		while (strstr(begin + 1, "BEGIN;") &&
		       strstr(begin + 1, "BEGIN;") < sql + e->sql_off)
			begin = strstr(begin + 1, "BEGIN;");
		ins = strstr(begin, "INSERT INTO");
		assert_non_null(ins);
		assert_true(ins < sql + e->sql_off);
		assert_non_null(strstr(ins, c->revs[i].id));
	}
	/* every block is BEGIN ... COMMIT in order */
	assert_true(strncmp(sql, "BEGIN;\n", 7) == 0);
	assert_true(strcmp(sql + b->sql.len - 8, "COMMIT;\n") == 0);
}

static void test_batch_subrange(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(
	    nmig_batch_build(&c->batch, &c->t, c->steps, 1, 3, &c->o), NMIG_OK);
	assert_int_equal(c->batch.n, 2);
	assert_int_equal(c->batch.entries[0].step, 1);
	assert_int_equal(c->batch.entries[1].step, 2);
	assert_null(strstr(c->batch.sql.ptr, "CREATE TABLE users"));
}

static void test_batch_down(void **state)
{
	struct ctx *c = *state;
	const char *sql;

	c->o.dir = NMIG_DOWN;
	c->o.lock_timeout_ms = 200;
	c->o.statement_timeout_ms = 60000;
	assert_int_equal(
	    nmig_batch_build(&c->batch, &c->t, c->steps, 0, NREV, &c->o),
	    NMIG_OK);
	sql = c->batch.sql.ptr;
	assert_int_equal(count_of(sql, "SET LOCAL lock_timeout = '200ms';"),
			 NREV);
	assert_int_equal(count_of(sql, "statement_timeout = '60000ms'"), NREV);
	assert_null(strstr(sql, "INSERT INTO"));
	assert_null(strstr(sql, "UPDATE"));
	/* each migration reports the server's measure of its duration */
	assert_int_equal(count_of(sql, "set_config('nmig.t0'"), NREV);
	assert_int_equal(count_of(sql, "AS nmig_execution_ms;\nCOMMIT;"), NREV);
	assert_int_equal(count_of(sql, "DELETE FROM \"ops\".\"schema_version\" "
				       "WHERE revision = "),
			 NREV);
	assert_int_equal(count_of(sql, "ERRCODE = 'P0002'"), NREV);
	assert_int_equal(count_of(sql, "DO $nmig$"), NREV);
}

static void test_utf8_offset(void **state)
{
	static const char s[] = "a\xc3\xa9z\xe2\x98\x83!"; /* aéz☃! */

	(void)state;
	assert_int_equal(nmig_utf8_char_offset(s, strlen(s), 1), 0);
	assert_int_equal(nmig_utf8_char_offset(s, strlen(s), 2), 1);
	assert_int_equal(nmig_utf8_char_offset(s, strlen(s), 3), 3);
	assert_int_equal(nmig_utf8_char_offset(s, strlen(s), 4), 4);
	assert_int_equal(nmig_utf8_char_offset(s, strlen(s), 5), 7);
	assert_int_equal(nmig_utf8_char_offset(s, strlen(s), 6), strlen(s));
	assert_int_equal(nmig_utf8_char_offset(s, strlen(s), 0), 0);
}

/* The 1-based character position of byte offset off in s. */
static long char_pos(const char *s, size_t off)
{
	long pos = 1;
	size_t i;

	for (i = 0; i < off; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			pos++;
	return pos;
}

static void test_locate_position(void **state)
{
	struct ctx *c = *state;
	struct nmig_batch *b = &c->batch;
	const char *sql, *target;
	size_t entry = 99, off = 99, want;
	const struct nmig_error *e;

	assert_int_equal(nmig_batch_build(b, &c->t, c->steps, 0, NREV, &c->o),
			 NMIG_OK);
	sql = b->sql.ptr;
	/* "tasks" in the second file, after multibyte characters */
	target = strstr(sql + b->entries[1].sql_off, "tasks");
	assert_non_null(target);
	want = (size_t)(target - (sql + b->entries[1].sql_off));
	assert_int_equal(
	    nmig_batch_locate(b, char_pos(sql, (size_t)(target - sql)), &entry,
			      &off),
	    1);
	assert_int_equal(entry, 1);
	assert_int_equal(off, want);
	/* line 2, column 14 of the file, in characters */
	nmig_error_set(NMIG_ESQL, "x");
	nmig_exec_locate_error(&c->scripts[1], off);
	e = nmig_error_last();
	assert_string_equal(e->file, c->scripts[1].path);
	assert_int_equal(e->line, 2);
	assert_int_equal(e->col, 14);
	assert_string_equal(e->source, "CREATE TABLE tasks (id int, t text)");
	/* a position in nmig's own statements maps to no file */
	assert_int_equal(nmig_batch_locate(b, 1, &entry, &off), 0);
	target = strstr(sql, "INSERT INTO");
	assert_int_equal(
	    nmig_batch_locate(b, char_pos(sql, (size_t)(target - sql)), &entry,
			      &off),
	    0);
	/* the third file's first character */
	assert_int_equal(nmig_batch_locate(b,
					   char_pos(sql, b->entries[2].sql_off),
					   &entry, &off),
			 1);
	assert_int_equal(entry, 2);
	assert_int_equal(off, 0);
	/* out of range */
	assert_int_equal(nmig_batch_locate(b, 0, &entry, &off), 0);
	assert_int_equal(nmig_batch_locate(b, 1000000, &entry, &off), 0);
}

static void test_timeouts_sql(void **state)
{
	struct nmig_exec_opts o = {0};
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	o.lock_timeout_ms = 2500;
	o.statement_timeout_ms = 0;
	assert_int_equal(nmig_exec_timeouts_sql(&b, &o, "LOCAL "), 2);
	assert_string_equal(b.ptr, "SET LOCAL lock_timeout = '2500ms';\n"
				   "SET LOCAL statement_timeout = '0ms';\n");
	nmig_buf_clear(&b);
	/* A non-transactional migration sets them for the session. */
	o.client_check_ms = 1000;
	o.statement_timeout_ms = 60000;
	assert_int_equal(nmig_exec_timeouts_sql(&b, &o, ""), 3);
	assert_string_equal(b.ptr,
			    "SET lock_timeout = '2500ms';\n"
			    "SET statement_timeout = '60000ms';\n"
			    "SET client_connection_check_interval = '1000ms';\n");
	nmig_buf_release(&b);
}

static void test_duration_sql(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	nmig_buf_puts(&b, "execution_ms = ");
	nmig_exec_duration_sql(&b);
	/* Milliseconds since the row's applied_at, as a bigint. */
	assert_string_equal(b.ptr,
			    "execution_ms = (pg_catalog.date_part('epoch', "
			    "pg_catalog.clock_timestamp() OPERATOR("
			    "pg_catalog.-) applied_at) OPERATOR(pg_catalog.*) "
			    "1000)::pg_catalog.int8");
	nmig_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_batch_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_subrange, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_batch_down, setup, teardown),
	    cmocka_unit_test(test_utf8_offset),
	    cmocka_unit_test_setup_teardown(test_locate_position, setup,
					    teardown),
	    cmocka_unit_test(test_timeouts_sql),
	    cmocka_unit_test(test_duration_sql),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
