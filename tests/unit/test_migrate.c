/*
 * Unit tests of migrate.h's pure parts: the roots of a graph (for the
 * version-table guard) and loading the files a plan runs (a revision
 * without a down file, files checked before anything runs). The operation
 * itself runs against a real server in tests/db/ (interrupt.sh, owner.sh,
 * engine_*.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "graph_testlib.h"
#include "migrate.h"
#include "plan.h"

struct ctx {
	struct nmig_revset set;
	struct nmig_graph *g;
	char dir[64];
};

static int teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[128];

	nmig_graph_free(c->g);
	revset_free(&c->set);
	if (c->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", c->dir);
	}
	free(c);
	return 0;
}

static struct ctx *build(const char *text)
{
	struct ctx *c = xmalloc(sizeof(*c));

	memset(c, 0, sizeof(*c));
	revset_parse(&c->set, text);
	assert_int_equal(nmig_graph_build(&c->g, &c->set, NULL), NMIG_OK);
	return c;
}

static void test_roots(void **state)
{
	struct ctx *c = build("a:; b:a; c:; d:b,c");
	const char **roots;
	size_t n;

	*state = c;
	roots = nmig_migrate_roots(c->g, &n);
	assert_non_null(roots);
	assert_int_equal(n, 2);
	assert_string_equal(roots[0], "a");
	assert_string_equal(roots[1], "c");
	free(roots);
}

/* A downgrade through an irreversible revision stops before loading. */
static void test_steps_no_down_file(void **state)
{
	struct ctx *c = build("a:; b!:a");
	struct nmig_plan plan;
	struct nmig_script *scripts;
	struct nmig_step *steps;
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	size_t nodes[1];

	*state = c;
	memset(&plan, 0, sizeof(plan));
	nodes[0] = (size_t)nmig_graph_find(c->g, "b");
	plan.dir = NMIG_DOWN;
	plan.steps = nodes;
	plan.n = 1;
	assert_int_equal(
	    nmig_steps_load(&scripts, &steps, c->g, &plan, 0, &diags),
	    NMIG_ESTATE);
	assert_non_null(strstr(nmig_error_last()->message, "no down file"));
	assert_null(scripts);
	assert_null(steps);
	nmig_diags_release(&diags);
}

/* Files are read and checked: an error among them means nothing runs. */
static void test_steps_checked(void **state)
{
	struct ctx *c = build("a:");
	struct nmig_revision *rev = &c->set.revs[0];
	struct nmig_plan plan;
	struct nmig_script *scripts;
	struct nmig_step *steps;
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	size_t nodes[1] = {0};
	char path[128], sum[NMIG_SHA256_HEX];
	static const char text[] = "CREATE TABLE t (id int);\nCOMMIT;\n";
	FILE *f;

	*state = c;
	snprintf(c->dir, sizeof(c->dir), "/tmp/nmig-test-migrate-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	snprintf(path, sizeof(path), "%s/a_x.up.sql", c->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(rev->up.path);
	rev->up.path = strdup(path);
	nmig_checksum(text, sizeof(text) - 1, sum);
	memcpy(rev->up.checksum, sum, sizeof(sum));
	rev->transactional = 1;
	memset(&plan, 0, sizeof(plan));
	plan.dir = NMIG_UP;
	plan.steps = nodes;
	plan.n = 1;
	assert_int_equal(
	    nmig_steps_load(&scripts, &steps, c->g, &plan, 0, &diags),
	    NMIG_EINPUT);
	assert_true(diags.errors >= 1);
	assert_non_null(strstr(nmig_error_last()->message, "nothing was run"));
	nmig_diags_release(&diags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_roots, teardown),
	    cmocka_unit_test_teardown(test_steps_no_down_file, teardown),
	    cmocka_unit_test_teardown(test_steps_checked, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
