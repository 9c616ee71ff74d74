/*
 * Unit tests of testrun.h up to the scratch database: bad files stop the
 * run before anything (stage FILES, the findings in the result), a bad
 * --base stops it at the plan, the base is planned from --base and the
 * revisions without a down file (on_plan), and a TEST_DATABASE_URL naming
 * the production database is refused before connecting. The checks
 * themselves run against real servers in tests/db/nmig_test*.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "project.h"
#include "testrun.h"

struct ctx {
	struct nmig_project p;
	struct nmig_diags diags;
	struct nmig_testrun_result r;
	struct nmig_testrun_opts o;
	int plans;	/* on_plan calls */
	int checks;	/* on_check calls */
	size_t nirr;	/* r->nirreversible seen by on_plan */
	size_t nkept;	/* r->nkept seen by on_plan */
	size_t ncover;	/* r->ncovered seen by on_plan */
	char first[16]; /* the first irreversible id seen by on_plan */
};

static void on_plan(void *ud, const struct nmig_testrun_result *r)
{
	struct ctx *c = ud;

	c->plans++;
	c->nirr = r->nirreversible;
	c->nkept = r->nkept;
	c->ncover = r->ncovered;
	if (r->nirreversible)
		snprintf(c->first, sizeof(c->first), "%s",
			 nmig_graph_rev(c->p.graph, r->irreversible[0])->id);
}

static void on_check(void *ud, const struct nmig_testrun_check *ch)
{
	struct ctx *c = ud;

	(void)ch;
	c->checks++;
}

/* Load fixture directory nmigtest/name into a fresh context. */
static struct ctx *load(void **state, const char *name)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct nmig_project_opts po;
	char dir[512];
	const char *fx = getenv("NMIG_FIXTURES");

	assert_non_null(c);
	*state = c;
	assert_non_null(fx);
	snprintf(dir, sizeof(dir), "%s/nmigtest/%s", fx, name);
	memset(&po, 0, sizeof(po));
	po.dir = dir;
	po.no_cache = 1;
	nmig_diags_init(&c->diags);
	nmig_testrun_result_init(&c->r);
	assert_int_equal(nmig_project_load(&c->p, &po, &c->diags), NMIG_OK);
	c->o.on_plan = on_plan;
	c->o.on_check = on_check;
	c->o.ud = c;
	return c;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	unsetenv("TEST_DATABASE_URL");
	unsetenv("NMIG_TESTRUN_MAIN");
	if (c) {
		nmig_testrun_result_release(&c->r);
		nmig_project_release(&c->p);
		nmig_diags_release(&c->diags);
		free(c);
	}
	return 0;
}

/* A syntax error in a down file: nothing runs, the finding names it. */
static void test_bad_files(void **state)
{
	struct ctx *c = load(state, "syntax");
	size_t i, errors = 0;

	assert_int_equal(nmig_testrun(&c->r, c->p.graph, &c->o), NMIG_EINPUT);
	assert_int_equal(c->r.stage, NMIG_TESTRUN_FILES);
	assert_int_equal(nmig_error_last()->code, NMIG_EINPUT);
	assert_true(c->r.diags.errors > 0);
	for (i = 0; i < c->r.diags.n; i++) {
		const struct nmig_diag *d = &c->r.diags.items[i];

		if (d->severity != NMIG_SEV_ERROR)
			continue;
		errors++;
		assert_non_null(d->file);
		assert_non_null(strstr(d->file, "0002_add_name.down.sql"));
		assert_int_equal(d->line, 3);
	}
	assert_int_equal(errors, c->r.diags.errors);
	assert_int_equal(c->plans, 0);
	assert_int_equal(c->r.nchecks, 0);
	assert_int_equal(c->checks, 0);
}

/* --base naming no revision stops at the plan, with the target's error. */
static void test_bad_base(void **state)
{
	struct ctx *c = load(state, "ok");
	int err;

	c->o.base = "9999";
	err = nmig_testrun(&c->r, c->p.graph, &c->o);
	assert_true(err < 0);
	assert_int_equal(c->r.stage, NMIG_TESTRUN_PLAN);
	assert_non_null(strstr(nmig_error_last()->message, "9999"));
	assert_int_equal(c->plans, 0);
	assert_int_equal(c->r.nchecks, 0);
}

/*
 * A revision without a down file stays applied with its ancestors; then
 * TEST_DATABASE_URL naming the database of the production variable is
 * refused without connecting (NMIG_ECONFIG, stage SCRATCH, no check).
 */
static void test_irreversible_and_same_database(void **state)
{
	struct ctx *c = load(state, "irreversible");
	const char *url = "postgresql://ci@db.invalid:5432/app";

	setenv("TEST_DATABASE_URL", url, 1);
	setenv("NMIG_TESTRUN_MAIN", "postgresql://other@db.invalid:5432/app",
	       1);
	c->o.url_env = "NMIG_TESTRUN_MAIN";
	assert_int_equal(nmig_testrun(&c->r, c->p.graph, &c->o), NMIG_ECONFIG);
	assert_int_equal(c->r.stage, NMIG_TESTRUN_SCRATCH);
	assert_non_null(
	    strstr(nmig_error_last()->message, "NMIG_TESTRUN_MAIN"));
	assert_int_equal(c->plans, 1);
	assert_int_equal(c->nirr, 1);
	assert_string_equal(c->first, "0002");
	assert_int_equal(c->nkept, 2);
	assert_int_equal(c->ncover, 1);
	assert_int_equal(c->r.nchecks, 0);
	assert_int_equal(c->r.on_cluster, 0);
	assert_null(c->r.display);
}

/* --base keeps the target and its ancestors; the rest is covered. */
static void test_base_kept(void **state)
{
	struct ctx *c = load(state, "ok");

	setenv("TEST_DATABASE_URL", "postgresql:///app?host=/nonexistent", 1);
	setenv("NMIG_TESTRUN_MAIN", "postgresql:///app?host=/nonexistent", 1);
	c->o.url_env = "NMIG_TESTRUN_MAIN";
	c->o.base = "0002";
	assert_int_equal(nmig_testrun(&c->r, c->p.graph, &c->o), NMIG_ECONFIG);
	assert_int_equal(c->plans, 1);
	assert_int_equal(c->nirr, 0);
	assert_true(c->nkept >= 2);
	assert_int_equal(c->nkept + c->ncover, nmig_graph_count(c->p.graph));
}

/* The result starts empty and releases to empty, twice. */
static void test_result_lifetime(void **state)
{
	struct nmig_testrun_result r;

	(void)state;
	nmig_testrun_result_init(&r);
	assert_int_equal(r.nchecks, 0);
	assert_string_equal(r.checks[0].summary.ptr, "");
	nmig_buf_puts(&r.checks[0].summary, "(1 revision)");
	r.nchecks = 1;
	nmig_testrun_result_release(&r);
	assert_int_equal(r.nchecks, 0);
	assert_string_equal(r.checks[0].summary.ptr, "");
	nmig_testrun_result_release(&r);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(nmig_testrun_status_name(NMIG_TESTRUN_PASS),
			    "pass");
	assert_string_equal(nmig_testrun_status_name(NMIG_TESTRUN_FAIL),
			    "fail");
	assert_string_equal(nmig_testrun_status_name(NMIG_TESTRUN_SKIP),
			    "skip");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_bad_files, teardown),
	    cmocka_unit_test_teardown(test_bad_base, teardown),
	    cmocka_unit_test_teardown(test_irreversible_and_same_database,
				      teardown),
	    cmocka_unit_test_teardown(test_base_kept, teardown),
	    cmocka_unit_test(test_result_lifetime),
	    cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
