/*
 * Unit tests of offline SQL (lib/offline.c), with no server: the start
 * state from a range, from an observed state and from base, with the
 * header's reason; the plans and what the start guard requires of the
 * database for upgrade, downgrade and stamp on a DAG; range and target
 * errors; then the script itself -- psql settings, the lock, the version
 * table from base, the start guard's arrays, per migration the engine's
 * statements around the file text copied byte for byte, the dirty
 * protocol, stamp's deletions and insertions, dollar-quote tags that do
 * not collide, hostile ids and messages quoted and sanitised, no absolute
 * path, COPY FROM STDIN refused -- and the time to write a 20,000-revision
 * downgrade script.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "exec.h"
#include "graph.h"
#include "graph_testlib.h"
#include "offline.h"
#include "sqlscript.h"
#include "state.h"

/*
 * The DAG: a is the root; b and c branch from it and merge in d; e
 * follows d; x branches from a and is irreversible; n (no SQL of its own
 * below) runs outside a transaction after e.
 */
#define DAG "a:; b:a; c:a; d:b,c; e:d; x!:a; n:e"

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	struct nmig_revset set;
	struct nmig_graph *g;
	struct nmig_offline_plan plan;
	struct nmig_script *scripts;
	struct nmig_step *steps;
	size_t nsteps;
	struct nmig_vtable t;
	struct nmig_buf out;
	char *s; /* scratch string to free */
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	nmig_buf_init(&c->out);
	if (nmig_vtable_init(&c->t, NULL, "ops", "schema_version"))
		return -1;
	*state = c;
	return 0;
}

static void free_steps(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nsteps; i++)
		nmig_script_release(&c->scripts[i]);
	free(c->scripts);
	free(c->steps);
	c->scripts = NULL;
	c->steps = NULL;
	c->nsteps = 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	free_steps(c);
	nmig_offline_plan_release(&c->plan);
	nmig_graph_free(c->g);
	revset_free(&c->set);
	nmig_vtable_release(&c->t);
	nmig_buf_release(&c->out);
	free(c->s);
	free(c);
	return 0;
}

/* Build the graph of text into c. */
static void build(struct ctx *c, const char *text)
{
	revset_parse(&c->set, text);
	assert_int_equal(nmig_graph_build(&c->g, &c->set, NULL), NMIG_OK);
}

static struct nmig_revision *rev_named(struct ctx *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->set.n; i++)
		if (strcmp(c->set.revs[i].id, id) == 0)
			return &c->set.revs[i];
	fail_msg("no revision '%s'", id);
	return NULL;
}

/* The plan's steps as ids, into c->s. */
static const char *steps_of(struct ctx *c)
{
	free(c->s);
	c->s = ids_of(c->g, c->plan.plan.steps, c->plan.plan.n);
	return c->s ? c->s : "";
}

/* The ids whose want is w, in plan order, into c->s. */
static const char *want_of(struct ctx *c, int w)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;

	for (i = 0; i < nmig_graph_count(c->g); i++)
		if (c->plan.want[i] == w)
			nmig_buf_printf(&b, "%s%s", b.len ? " " : "",
					nmig_graph_rev(c->g, i)->id);
	free(c->s);
	c->s = nmig_buf_detach(&b, NULL);
	return c->s ? c->s : "";
}

static const char *marked(struct ctx *c, const unsigned char *mark)
{
	free(c->s);
	c->s = ids_marked(c->g, mark);
	return c->s ? c->s : "";
}

static int plan(struct ctx *c, enum nmig_offline_kind kind, const char *spec,
		const struct nmig_offline_source *src, int purge)
{
	nmig_offline_plan_release(&c->plan);
	return nmig_offline_plan_init(&c->plan, c->g, kind, spec, src, purge);
}

/* Load a script for every step of the plan: text of rev id, or default. */
static void load_steps(struct ctx *c, const char *(*text_of)(const char *id))
{
	size_t i, n = c->plan.plan.n;

	free_steps(c);
	c->scripts = calloc(n ? n : 1, sizeof(*c->scripts));
	c->steps = calloc(n ? n : 1, sizeof(*c->steps));
	assert_non_null(c->scripts);
	assert_non_null(c->steps);
	c->nsteps = n;
	for (i = 0; i < n; i++) {
		const struct nmig_revision *rev =
		    nmig_graph_rev(c->g, c->plan.plan.steps[i]);
		const char *text = text_of(rev->id);
		const char *path =
		    c->plan.plan.dir == NMIG_UP ? rev->up.path : rev->down.path;

		assert_int_equal(nmig_script_from_text(&c->scripts[i], path,
						       text, strlen(text)),
				 NMIG_OK);
		c->steps[i].rev = rev;
		c->steps[i].script = &c->scripts[i];
	}
}

static const char *plain_text(const char *id)
{
	(void)id;
	return "CREATE TABLE t (id int);\n";
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

static void emit(struct ctx *c, const char *dir, int check_drift)
{
	struct nmig_offline_opts o;

	memset(&o, 0, sizeof(o));
	o.table = &c->t;
	o.lock_timeout_ms = 5000;
	o.statement_timeout_ms = 0;
	o.check_drift = check_drift;
	o.nmig_version = "0.1.0";
	o.dir = dir;
	nmig_buf_clear(&c->out);
	assert_int_equal(
	    nmig_offline_emit(&c->out, c->g, &c->plan, c->steps, &o), NMIG_OK);
}

/* upgrade A:B starts at closure(A); the guard needs the frontier applied */
static void test_upgrade_range(void **state)
{
	struct ctx *c = *state;

	build(c, DAG);
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "b:e", NULL, 0),
			 NMIG_OK);
	assert_string_equal(marked(c, c->plan.start), "a b");
	assert_string_equal(steps_of(c), "c d e");
	assert_string_equal(marked(c, c->plan.end), "a b c d e");
	assert_string_equal(want_of(c, NMIG_WANT_ABSENT), "c d e");
	assert_string_equal(want_of(c, NMIG_WANT_APPLIED), "a b");
	assert_int_equal(c->plan.exact, 0);
	assert_int_equal(c->plan.from_base, 0);
	assert_string_equal(c->plan.start_desc, "b (from the range given)");
	assert_string_equal(c->plan.target, "e");

	/* an empty end is head, ambiguous here: n and x are heads */
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "d:", NULL, 0),
			 NMIG_EAMBIGUOUS);
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "d:heads", NULL, 0),
			 NMIG_OK);
	assert_string_equal(steps_of(c), "e n x");
	assert_string_equal(want_of(c, NMIG_WANT_APPLIED), "a d");

	/* an empty start is base */
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, ":d", NULL, 0), NMIG_OK);
	assert_string_equal(steps_of(c), "a b c d");
	assert_int_equal(c->plan.from_base, 1);
	assert_string_equal(c->plan.start_desc, "base (from the range given)");
	assert_string_equal(want_of(c, NMIG_WANT_APPLIED), "");

	/* +N counts from the start: exact precondition */
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "b:+1", NULL, 0),
			 NMIG_OK);
	assert_string_equal(steps_of(c), "c");
	assert_int_equal(c->plan.exact, 1);
	assert_string_equal(want_of(c, NMIG_WANT_APPLIED), "a b");
	assert_string_equal(want_of(c, NMIG_WANT_ABSENT), "c d e n x");
}

/* no range: the observed state, else base with the caller's reason */
static void test_start_sources(void **state)
{
	struct ctx *c = *state;
	const char *ids[] = {"a", "c"};
	const char *unknown[] = {"a", "zz"};
	const char *open[] = {"d"};
	struct nmig_offline_source src;

	build(c, DAG);
	memset(&src, 0, sizeof(src));
	src.observed = ids;
	src.nobserved = 2;
	src.observed_at = 1795701600; /* 2026-11-26 14:00 UTC */
	src.where = "app@127.0.0.1:5432/app";
	src.base_why = "unused";
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "e", &src, 0), NMIG_OK);
	assert_string_equal(c->plan.start_desc,
			    "c (last observed on app@127.0.0.1:5432/app at "
			    "2026-11-26 14:00 UTC, plan cache)");
	assert_string_equal(steps_of(c), "b d e");
	assert_string_equal(want_of(c, NMIG_WANT_APPLIED), "a c");

	src.observed = unknown;
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "e", &src, 0),
			 NMIG_ESTATE);
	assert_non_null(strstr(nmig_error_last()->message, "'zz'"));
	assert_non_null(strstr(nmig_error_last()->message, "127.0.0.1"));
	assert_non_null(strstr(nmig_error_last()->hint, "START:e"));

	src.observed = open;
	src.nobserved = 1;
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "e", &src, 0),
			 NMIG_ESTATE);
	assert_non_null(
	    strstr(nmig_error_last()->message, "cannot be a start"));

	memset(&src, 0, sizeof(src));
	src.base_why = "no range given and no state observed";
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "e", &src, 0), NMIG_OK);
	assert_string_equal(c->plan.start_desc,
			    "base (no range given and no state observed)");
	assert_int_equal(c->plan.from_base, 1);
	assert_string_equal(steps_of(c), "a b c d e");

	/* the range wins over the observed state */
	src.observed = ids;
	src.nobserved = 2;
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "b:e", &src, 0),
			 NMIG_OK);
	assert_string_equal(c->plan.start_desc, "b (from the range given)");
}

/* downgrade B:A: from closure(B) down to A; base and -N are exact */
static void test_downgrade(void **state)
{
	struct ctx *c = *state;

	build(c, DAG);
	assert_int_equal(plan(c, NMIG_OFFLINE_DOWNGRADE, "e:a", NULL, 0),
			 NMIG_OK);
	assert_int_equal(c->plan.plan.dir, NMIG_DOWN);
	assert_string_equal(steps_of(c), "e d c b");
	assert_string_equal(marked(c, c->plan.end), "a");
	assert_string_equal(want_of(c, NMIG_WANT_APPLIED), "b c d e");
	/* no other descendant of a may be applied */
	assert_string_equal(want_of(c, NMIG_WANT_ABSENT), "n x");
	assert_int_equal(c->plan.exact, 0);

	assert_int_equal(plan(c, NMIG_OFFLINE_DOWNGRADE, "e:base", NULL, 0),
			 NMIG_OK);
	assert_string_equal(steps_of(c), "e d c b a");
	assert_int_equal(c->plan.exact, 1);
	assert_string_equal(want_of(c, NMIG_WANT_APPLIED), "a b c d e");
	assert_string_equal(want_of(c, NMIG_WANT_ABSENT), "n x");

	assert_int_equal(plan(c, NMIG_OFFLINE_DOWNGRADE, "e:-2", NULL, 0),
			 NMIG_OK);
	assert_string_equal(steps_of(c), "e d");
	assert_int_equal(c->plan.exact, 1);

	/* x has no down file: refused before anything is written */
	assert_int_equal(plan(c, NMIG_OFFLINE_DOWNGRADE, "x:a", NULL, 0),
			 NMIG_ESTATE);
	assert_non_null(strstr(nmig_error_last()->message, "x"));

	/* a range needs its end; no range and nothing observed: no-op */
	assert_int_equal(plan(c, NMIG_OFFLINE_DOWNGRADE, "e:", NULL, 0),
			 NMIG_EUSAGE);
	assert_non_null(strstr(nmig_error_last()->message, "has no end"));
	assert_int_equal(plan(c, NMIG_OFFLINE_DOWNGRADE, "base", NULL, 0),
			 NMIG_OK);
	assert_int_equal(c->plan.plan.n, 0);
}

static void test_stamp_and_errors(void **state)
{
	struct ctx *c = *state;

	build(c, DAG);
	assert_int_equal(plan(c, NMIG_OFFLINE_STAMP, "b:d", NULL, 0), NMIG_OK);
	assert_int_equal(c->plan.plan.n, 0);
	assert_string_equal(marked(c, c->plan.start), "a b");
	assert_string_equal(marked(c, c->plan.end), "a b c d");
	assert_int_equal(c->plan.exact, 1);
	assert_string_equal(want_of(c, NMIG_WANT_APPLIED), "a b");
	assert_string_equal(want_of(c, NMIG_WANT_ABSENT), "c d e n x");

	assert_int_equal(plan(c, NMIG_OFFLINE_STAMP, "b", NULL, 1), NMIG_OK);
	assert_int_equal(c->plan.any_state, 1);
	assert_string_equal(want_of(c, NMIG_WANT_ANY), "a b c d e n x");
	assert_non_null(strstr(c->plan.start_desc, "any state"));

	assert_int_equal(plan(c, NMIG_OFFLINE_STAMP, "b:", NULL, 0),
			 NMIG_EUSAGE);
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "a:b:c", NULL, 0),
			 NMIG_EUSAGE);
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "nosuch:e", NULL, 0),
			 NMIG_ENOTFOUND);
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "a:nosuch", NULL, 0),
			 NMIG_ENOTFOUND);
	/* released on failure: a second release is harmless */
	nmig_offline_plan_release(&c->plan);
}

/* The text of revision files for the script tests. */
static const char *dag_text(const char *id)
{
	if (strcmp(id, "b") == 0)
		/* a DO block using the tag nmig would pick first */
		return "DO $nmig$ BEGIN RAISE NOTICE 'b'; END $nmig$;\n"
		       "CREATE TABLE b (v text DEFAULT 'it''s')";
	if (strcmp(id, "n") == 0)
		return "CREATE INDEX CONCURRENTLY n_i ON b (v);\n";
	return "CREATE TABLE t (id int); -- no newline at the end";
}

/* the structure of an upgrade script from base */
static void test_emit_upgrade(void **state)
{
	struct ctx *c = *state;
	const char *s;
	char *p;

	revset_parse(&c->set, DAG);
	/* files under an absolute directory: only relative names appear */
	rev_named(c, "n")->transactional = 0;
	free(rev_named(c, "c")->message);
	rev_named(c, "c")->message =
	    strdup("it's \\ a\nDROP TABLE users; -- \xff");
	assert_int_equal(nmig_graph_build(&c->g, &c->set, NULL), NMIG_OK);
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, ":n", NULL, 0), NMIG_OK);
	load_steps(c, dag_text);
	emit(c, "m", 1);
	s = c->out.ptr;

	assert_non_null(
	    strstr(s, "-- nmig offline script: upgrade :n (--sql)"));
	assert_non_null(strstr(s, "psql -X -v ON_ERROR_STOP=1 -f"));
	assert_non_null(strstr(s, "-- start: base (from the range given)\n"));
	assert_non_null(strstr(s, "-- end:   n\n"));
	assert_non_null(strstr(s, "-- version table: ops.schema_version\n"));
	assert_non_null(strstr(s, "-- migrations: 6 to apply (1 outside a "
				  "transaction)\n"));
	assert_non_null(strstr(s, "\n\\set ON_ERROR_STOP on\n"));
	assert_non_null(strstr(s, "\\set AUTOCOMMIT on\n"));
	assert_non_null(strstr(s, "pg_try_advisory_lock("));
	assert_non_null(strstr(s, "pg_advisory_unlock("));
	assert_non_null(strstr(s, "pg_catalog.statement_timestamp()"));
	/* from base: the table is created when missing */
	assert_non_null(strstr(s, "CREATE TABLE IF NOT EXISTS "
				  "\"ops\".\"schema_version\""));
	assert_non_null(strstr(s, "CREATE SCHEMA IF NOT EXISTS \"ops\""));
	/* the start guard: every id, what it needs, and the checksums */
	assert_non_null(strstr(s,
			       "FULL JOIN ROWS FROM (pg_catalog.unnest(ARRAY["
			       "'a','b','c','d','e','n','x']::pg_catalog."
			       "text[]),\npg_catalog.unnest('{n,n,n,n,n,n,x}'"
			       "::pg_catalog.text[]),\npg_catalog.unnest("
			       "ARRAY[NULL,NULL,NULL,NULL,NULL,NULL,'"));
	/* every file copied byte for byte, closed by "\n;\n" */
	assert_int_equal(count_of(s, "CREATE TABLE t (id int); -- no newline "
				     "at the end\n;\n"),
			 4);
	assert_int_equal(count_of(s, dag_text("b")), 1);
	/* the migration's own $nmig$ is its business: guards are blocks
	 * of their own */
	assert_non_null(strstr(s, "DO $nmig$ BEGIN\nIF EXISTS (SELECT FROM "
				  "\"ops\".\"schema_version\" WHERE revision = "
				  "'b')"));
	/* transactional: the engine's statements in order */
	p = strstr(s, "-- 1/6: apply a ");
	assert_non_null(p);
	assert_non_null(strstr(p, "-- file: a_r0.up.sql\nBEGIN;\nSET LOCAL "
				  "lock_timeout = '5000ms';\nSET LOCAL "
				  "statement_timeout = '0ms';\nDO $nmig$"));
	assert_non_null(strstr(p, "INSERT INTO \"ops\".\"schema_version\" "
				  "(revision, parents, message, checksum, "
				  "down_checksum, state, nmig_version) VALUES "
				  "('a','{}'::text[],'test revision',"));
	assert_non_null(strstr(p, "UPDATE \"ops\".\"schema_version\" SET "
				  "execution_ms = "));
	/* parents checked before d */
	assert_non_null(strstr(s, "state = 'applied' AND revision IN "
				  "('b','c')) <> 2 THEN"));
	/* the non-transactional one: dirty row, autocommit, completion */
	p = strstr(s, "-- 6/6: apply n test revision (outside a transaction)");
	assert_non_null(p);
	assert_non_null(strstr(p, ",'dirty','0.1.0');\nUPDATE "
				  "\"ops\".\"schema_version\" SET error = "));
	assert_non_null(strstr(p,
			       "COMMIT;\nSET lock_timeout = '5000ms';\n"
			       "SET statement_timeout = '0ms';\nCREATE "
			       "INDEX CONCURRENTLY n_i ON b (v);\n\n;\n"
			       "UPDATE \"ops\".\"schema_version\" SET state "
			       "= 'applied', error = NULL, execution_ms = "));
	assert_non_null(strstr(p, "RESET lock_timeout;\nRESET "
				  "statement_timeout;\n"));
	/* 6 migrations + the table, no more, no less */
	assert_int_equal(count_of(s, "\nBEGIN;\n"), 6);
	assert_int_equal(count_of(s, "\nCOMMIT;\n"), 6);
	/* the hostile message: quoted in the row, sanitised in comments */
	assert_non_null(
	    strstr(s, "E'it''s \\\\ a\nDROP TABLE users; -- \xff'"));
	assert_non_null(strstr(s, "-- 3/6: apply c it's \\ a?DROP TABLE "
				  "users; -- ?\n"));
	/* the only line break in it is inside the row's literal */
	assert_int_equal(count_of(s, "\nDROP TABLE users"), 1);
	assert_non_null(strstr(s, "-- done: the database is at n\n"));
}

/* relative names only; no drift check without check_drift */
static void test_emit_paths(void **state)
{
	struct ctx *c = *state;
	size_t i;

	revset_parse(&c->set, "a:; b:a");
	for (i = 0; i < c->set.n; i++) {
		struct nmig_revision *r = &c->set.revs[i];
		char path[128];

		snprintf(path, sizeof(path), "/srv/app/db/%s_x.up.sql", r->id);
		free(r->up.path);
		r->up.path = strdup(path);
	}
	assert_int_equal(nmig_graph_build(&c->g, &c->set, NULL), NMIG_OK);
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "a:b", NULL, 0),
			 NMIG_OK);
	load_steps(c, plain_text);
	emit(c, "/srv/app/db/", 0);
	assert_non_null(strstr(c->out.ptr, "-- file: b_x.up.sql\n"));
	assert_null(strstr(c->out.ptr, "/srv"));
	/* mid-history: no table creation, the guard checks it exists */
	assert_null(strstr(c->out.ptr, "CREATE TABLE IF NOT EXISTS"));
	assert_non_null(strstr(c->out.ptr, "IF pg_catalog.to_regclass("
					   "'\"ops\".\"schema_version\"') IS "
					   "NULL THEN"));
	assert_non_null(strstr(c->out.ptr, "'{a,n}'::pg_catalog.text[])) AS "
					   "e(id, want) ON"));
	/* a directory that is not a prefix: the base name */
	emit(c, "elsewhere", 0);
	assert_non_null(strstr(c->out.ptr, "-- file: b_x.up.sql\n"));
}

static void test_emit_downgrade(void **state)
{
	struct ctx *c = *state;
	const char *s;
	char *p;

	revset_parse(&c->set, DAG);
	rev_named(c, "n")->transactional = 0;
	assert_int_equal(nmig_graph_build(&c->g, &c->set, NULL), NMIG_OK);
	assert_int_equal(plan(c, NMIG_OFFLINE_DOWNGRADE, "n:a", NULL, 0),
			 NMIG_OK);
	assert_string_equal(steps_of(c), "n e d c b");
	load_steps(c, plain_text);
	emit(c, "m", 1);
	s = c->out.ptr;
	assert_non_null(strstr(s, "-- migrations: 5 to revert (1 outside a "
				  "transaction)\n"));
	assert_non_null(strstr(s, "-- file: c_r2.down.sql\n"));
	/* no drift check on a downgrade, as online */
	assert_null(strstr(s, "AS e(id, want, sum)"));
	/* the guarded delete, after the children check */
	p = strstr(s, "-- 2/5: revert e ");
	assert_non_null(p);
	assert_non_null(strstr(p, "state = 'applied' AND revision IN ('n')) "
				  "THEN\n"));
	assert_non_null(strstr(p, "DELETE FROM \"ops\".\"schema_version\" "
				  "WHERE state = 'applied' AND revision = "
				  "'e';\nIF NOT FOUND THEN\n"));
	assert_non_null(strstr(p, "ERRCODE = 'P0002'"));
	/* the non-transactional one: marked dirty, run, deleted */
	p = strstr(s, "-- 1/5: revert n ");
	assert_non_null(p);
	assert_non_null(strstr(p, "UPDATE \"ops\".\"schema_version\" SET "
				  "state = 'dirty', error = 'downgrade: "));
	assert_non_null(strstr(p, "COMMIT;\nSET lock_timeout = '5000ms';\n"));
	assert_non_null(strstr(p,
			       "\n;\nDELETE FROM \"ops\".\"schema_version\" "
			       "WHERE revision = 'n';\nRESET lock_timeout;"));
	assert_null(strstr(s, "CREATE TABLE IF NOT EXISTS"));
}

static void test_emit_stamp(void **state)
{
	struct ctx *c = *state;
	const char *s;

	build(c, DAG);
	assert_int_equal(plan(c, NMIG_OFFLINE_STAMP, "e:b", NULL, 0), NMIG_OK);
	emit(c, "m", 0);
	s = c->out.ptr;
	assert_non_null(strstr(s, "-- rows: 0 inserted, 3 deleted; no "
				  "migration SQL runs\n"));
	assert_non_null(strstr(s, "DELETE FROM \"ops\".\"schema_version\" AS "
				  "v USING pg_catalog.unnest(ARRAY['c','d','e']"
				  "::pg_catalog.text[]) AS d(id) WHERE "
				  "v.revision = d.id;\n"));
	assert_null(strstr(s, "INSERT INTO"));

	assert_int_equal(plan(c, NMIG_OFFLINE_STAMP, ":d", NULL, 0), NMIG_OK);
	emit(c, "m", 0);
	s = c->out.ptr;
	assert_non_null(strstr(s, "CREATE TABLE IF NOT EXISTS"));
	assert_non_null(strstr(s, "-- rows: 4 inserted, 0 deleted"));
	assert_non_null(strstr(s, "VALUES ('a','{}'::text[],"));
	assert_non_null(strstr(s, ",'applied','0.1.0'),\n('b',ARRAY['a']"));
	assert_non_null(strstr(s, "('d',ARRAY['b','c']::text[],"));
	assert_null(strstr(s, "AS v USING"));

	assert_int_equal(plan(c, NMIG_OFFLINE_STAMP, "d", NULL, 1), NMIG_OK);
	emit(c, "m", 0);
	s = c->out.ptr;
	assert_null(strstr(s, "Start guard"));
	assert_non_null(strstr(s, "CREATE TABLE IF NOT EXISTS"));
	assert_non_null(strstr(s, "WHERE state <> 'applied';\n"));
	assert_non_null(strstr(s, "NOT EXISTS (SELECT FROM pg_catalog.unnest("
				  "ARRAY['a','b','c','d']::pg_catalog.text[]) "
				  "AS e(id) WHERE e.id = v.revision);\n"));
	assert_non_null(strstr(s, "\nON CONFLICT (revision) DO NOTHING;\n"));

	assert_int_equal(plan(c, NMIG_OFFLINE_STAMP, "base", NULL, 1), NMIG_OK);
	emit(c, "m", 0);
	assert_non_null(strstr(c->out.ptr, "BEGIN;\nDELETE FROM "
					   "\"ops\".\"schema_version\" WHERE "
					   "state <> 'applied';\nDELETE FROM "
					   "\"ops\".\"schema_version\";\n"
					   "COMMIT;\n"));
}

/* ids with quotes and dollar signs stay literals; tags never collide */
static void test_emit_hostile_ids(void **state)
{
	struct ctx *c = *state;
	const char *s, *p;

	build(c, "x'$nmig$:; y$nmig1$:x'$nmig$");
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "y$nmig1$", NULL, 0),
			 NMIG_OK);
	load_steps(c, plain_text);
	emit(c, "m", 1);
	s = c->out.ptr;
	assert_non_null(strstr(s, "'x''$nmig$'"));
	/* every DO block's tag occurs in it exactly twice */
	for (p = strstr(s, "\nDO $"); p; p = strstr(p + 1, "\nDO $")) {
		const char *open = p + 4, *close = strchr(open + 1, '$');
		char tag[32];
		const char *end;
		size_t len;

		assert_non_null(close);
		len = (size_t)(close - open) + 1;
		assert_true(len < sizeof(tag));
		memcpy(tag, open, len);
		tag[len] = '\0';
		end = strstr(open + len, tag);
		assert_non_null(end);
		/* the block ends right there */
		assert_memory_equal(end + len, ";\n", 2);
	}
	/* y's guard names both ids: $nmig$ and $nmig1$ are taken */
	assert_non_null(strstr(s, "DO $nmig2$ BEGIN\nIF EXISTS (SELECT FROM "
				  "\"ops\".\"schema_version\" WHERE revision = "
				  "'y$nmig1$')"));
}

/* --no-lock: no advisory lock taken or released; the guards remain */
static void test_emit_no_lock(void **state)
{
	struct ctx *c = *state;
	struct nmig_offline_opts o;

	build(c, "a:; b:a");
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, "a:b", NULL, 0),
			 NMIG_OK);
	load_steps(c, plain_text);
	memset(&o, 0, sizeof(o));
	o.table = &c->t;
	o.nmig_version = "0.1.0";
	o.no_lock = 1;
	assert_int_equal(
	    nmig_offline_emit(&c->out, c->g, &c->plan, c->steps, &o), NMIG_OK);
	assert_null(strstr(c->out.ptr, "advisory"));
	assert_non_null(strstr(c->out.ptr, "(no migration lock: --no-lock)"));
	assert_non_null(strstr(c->out.ptr, "pg_catalog.statement_timestamp()"));
	assert_non_null(strstr(c->out.ptr, "Start guard"));
	assert_non_null(strstr(c->out.ptr, "SET LOCAL lock_timeout = '0ms';"));
}

static const char *copy_text(const char *id)
{
	return strcmp(id, "b") == 0 ? "CREATE TABLE q (v int);\n"
				      "COPY q FROM stdin;\n"
				    : "SELECT 1;\n";
}

static void test_copy_refused(void **state)
{
	struct ctx *c = *state;
	struct nmig_offline_opts o;

	build(c, "a:; b:a");
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, ":b", NULL, 0), NMIG_OK);
	load_steps(c, copy_text);
	memset(&o, 0, sizeof(o));
	o.table = &c->t;
	o.nmig_version = "0.1.0";
	assert_int_equal(
	    nmig_offline_emit(&c->out, c->g, &c->plan, c->steps, &o),
	    NMIG_EINPUT);
	assert_non_null(strstr(nmig_error_last()->message, "FROM STDIN"));
	assert_int_equal(nmig_error_last()->line, 2);
	assert_non_null(strstr(nmig_error_last()->file, "b_r1.up.sql"));
}

/* The per-step check alone: only b's COPY ... FROM stdin is refused. */
static void test_check_step(void **state)
{
	struct ctx *c = *state;

	build(c, "a:; b:a");
	assert_int_equal(plan(c, NMIG_OFFLINE_UPGRADE, ":b", NULL, 0), NMIG_OK);
	load_steps(c, copy_text);
	assert_int_equal(c->nsteps, 2);
	assert_string_equal(c->steps[0].rev->id, "a");
	assert_int_equal(nmig_offline_check_step(&c->steps[0]), NMIG_OK);
	assert_int_equal(nmig_offline_check_step(&c->steps[1]), NMIG_EINPUT);
	assert_string_equal(nmig_error_last()->message,
			    "migration b reads COPY ... FROM STDIN, which an "
			    "offline script cannot feed");
	assert_int_equal(nmig_error_last()->line, 2);
	assert_non_null(strstr(nmig_error_last()->file, "b_r1.up.sql"));
	assert_non_null(strstr(nmig_error_last()->hint, "INSERT"));
}

static void test_comment_text(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	nmig_offline_comment_text(&b, "caf\xc3\xa9 \xe2\x98\x83 ok");
	assert_string_equal(b.ptr, "caf\xc3\xa9 \xe2\x98\x83 ok");
	nmig_buf_clear(&b);
	/* newline, CR, tab, DEL, a lone continuation byte, an overlong
	 * slash, a surrogate, a truncated sequence */
	nmig_offline_comment_text(&b, "a\nb\rc\td\x7f"
				      "e\x80"
				      "f\xc0\xaf"
				      "g\xed\xa0\x80"
				      "h\xe2\x98");
	assert_string_equal(b.ptr, "a?b?c?d?e?f??g???h??");
	nmig_buf_release(&b);
}

/* 20,000 revisions: downgrade head:base planned and written fast */
static void test_scale(void **state)
{
	struct ctx *c = *state;
	clock_t t0;
	double secs;

	revset_synthetic(&c->set, 20000, 1);
	assert_int_equal(nmig_graph_build(&c->g, &c->set, NULL), NMIG_OK);
	t0 = clock();
	assert_int_equal(plan(c, NMIG_OFFLINE_DOWNGRADE, "heads:base", NULL, 0),
			 NMIG_OK);
	assert_int_equal(c->plan.plan.n, 20000);
	load_steps(c, plain_text);
	emit(c, "m", 0);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	print_message("downgrade heads:base of 20000: %.3f s CPU, %zu bytes\n",
		      secs, c->out.len);
	assert_true(secs < 3.0);
	assert_int_equal(count_of(c->out.ptr, "\nCOMMIT;\n"), 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_upgrade_range, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_start_sources, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_downgrade, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stamp_and_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_emit_upgrade, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emit_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emit_downgrade, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_emit_stamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emit_hostile_ids, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_emit_no_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_step, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comment_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
