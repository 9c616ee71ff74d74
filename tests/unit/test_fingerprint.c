/*
 * Unit tests of the schema fingerprint (lib/fingerprint.c) without a
 * server: facts sorted whatever their order of arrival, the digest, the
 * comparison, the readable diff (one-sided facts, changed values cut
 * around the first difference, folded white space, the line limit), the
 * count of user objects, and the catalog query itself parsed by
 * libpg_query (the server's parser), including a version table whose
 * name needs quoting. The query against a real server is exercised by
 * tests/db/nmig_test.sh. Also the directory removal of lib/cluster.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pg_query.h>

#include "buf.h"
#include "cluster.h"
#include "error.h"
#include "fingerprint.h"

/* Two fingerprints per test, released in teardown. */
struct pair {
	struct nmig_fingerprint a, b;
	struct nmig_buf out;
};

static int pair_setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	nmig_buf_init(&p->out);
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *p = *state;

	nmig_fingerprint_release(&p->a);
	nmig_fingerprint_release(&p->b);
	nmig_buf_release(&p->out);
	free(p);
	return 0;
}

/* Add facts given as triples, then finish. */
static void fill(struct nmig_fingerprint *fp, const char *const *facts,
		 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(nmig_fingerprint_add(fp, facts[3 * i],
						      facts[3 * i + 1],
						      facts[3 * i + 2]),
				 NMIG_OK);
	assert_int_equal(nmig_fingerprint_finish(fp), NMIG_OK);
}

static const char *const users_table[] = {
    "table",
    "public.users",
    "",
    "column",
    "public.users.id",
    "#1 bigint not null",
    "column",
    "public.users.email",
    "#2 text not null",
    "index",
    "public.users_pkey",
    "CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)",
    "schema",
    "public",
    "",
    "extension",
    "plpgsql",
    "version 1.0 in pg_catalog",
};

#define NFACTS(a) (sizeof(a) / sizeof(a[0]) / 3)

/* The same facts in another order give the same sorted list and digest. */
static void test_order_does_not_matter(void **state)
{
	struct pair *p = *state;
	const char *reversed[3 * NFACTS(users_table)];
	size_t i, n = NFACTS(users_table);

	for (i = 0; i < n; i++) {
		reversed[3 * i] = users_table[3 * (n - 1 - i)];
		reversed[3 * i + 1] = users_table[3 * (n - 1 - i) + 1];
		reversed[3 * i + 2] = users_table[3 * (n - 1 - i) + 2];
	}
	fill(&p->a, users_table, n);
	fill(&p->b, reversed, n);
	assert_int_equal(p->a.n, n);
	assert_true(nmig_fingerprint_equal(&p->a, &p->b));
	assert_string_equal(p->a.digest, p->b.digest);
	assert_int_equal(strlen(p->a.digest), 64);
	/* sorted by kind, then key */
	assert_string_equal(p->a.items[0].kind, "column");
	assert_string_equal(p->a.items[0].key, "public.users.email");
	assert_string_equal(p->a.items[1].key, "public.users.id");
	assert_string_equal(p->a.items[n - 1].kind, "table");
	assert_int_equal(nmig_fingerprint_diff(&p->a, &p->b, &p->out, 0), 0);
	assert_int_equal(p->out.len, 0);
}

/* The digest follows every byte; fields cannot run into each other. */
static void test_digest(void **state)
{
	struct pair *p = *state;
	const char *const x[] = {"table", "public.ab", "c"};
	const char *const y[] = {"table", "public.a", "bc"};

	fill(&p->a, x, 1);
	fill(&p->b, y, 1);
	assert_false(nmig_fingerprint_equal(&p->a, &p->b));
	assert_string_not_equal(p->a.digest, p->b.digest);
}

/* A fact left behind is '+', one missing is '-', a change is '~'. */
static void test_diff_kinds(void **state)
{
	struct pair *p = *state;
	const char *const before[] = {
	    "column",	"public.t.a", "#1 integer", "column",	  "public.t.b",
	    "#2 text",	"column",     "public.t.c", "#3 text",	  "table",
	    "public.t", "",	      "type",	    "public.old", "enum ('x')",
	};
	const char *const after[] = {
	    "column",	  "public.t.a",	     "#1 integer", "column",
	    "public.t.b", "#3 text",	     "column",	   "public.t.c",
	    "#2 text",	  "table",	     "public.t",   "",
	    "table",	  "public.leftover", "",
	};

	fill(&p->a, before, NFACTS(before));
	fill(&p->b, after, NFACTS(after));
	assert_int_equal(nmig_fingerprint_diff(&p->a, &p->b, &p->out, 0), 4);
	assert_string_equal(p->out.ptr, "~ column public.t.b\n"
					"    - #2 text\n"
					"    + #3 text\n"
					"~ column public.t.c\n"
					"    - #3 text\n"
					"    + #2 text\n"
					"+ table public.leftover\n"
					"- type public.old: enum ('x')\n");
}

/* Long values are cut around the first difference; white space folds. */
static void test_diff_excerpt(void **state)
{
	struct pair *p = *state;
	struct nmig_buf va = NMIG_BUF_INIT, vb = NMIG_BUF_INIT;
	const char *minus, *plus;
	int i;

	nmig_buf_puts(&va, " SELECT\n\t");
	for (i = 0; i < 60; i++)
		nmig_buf_printf(&va, "col%d,\n    ", i);
	nmig_buf_puts(&vb, va.ptr);
	nmig_buf_puts(&va, "old_column FROM t");
	nmig_buf_puts(&vb, "new_column FROM t");
	assert_int_equal(
	    nmig_fingerprint_add(&p->a, "view", "public.v", va.ptr), NMIG_OK);
	assert_int_equal(
	    nmig_fingerprint_add(&p->b, "view", "public.v", vb.ptr), NMIG_OK);
	assert_int_equal(nmig_fingerprint_finish(&p->a), NMIG_OK);
	assert_int_equal(nmig_fingerprint_finish(&p->b), NMIG_OK);
	assert_int_equal(nmig_fingerprint_diff(&p->a, &p->b, &p->out, 0), 1);
	minus = strstr(p->out.ptr, "    - ...");
	plus = strstr(p->out.ptr, "    + ...");
	assert_non_null(minus);
	assert_non_null(plus);
	assert_non_null(strstr(minus, "col59, old_column FROM t\n"));
	assert_non_null(strstr(plus, "col59, new_column FROM t\n"));
	/* folded: no newline or tab inside a shown value */
	assert_null(strchr(minus, '\t'));
	assert_true(strchr(minus, '\n') < plus);
	nmig_buf_release(&va);
	nmig_buf_release(&vb);
}

/* The line limit keeps the diff short and says how much was left out. */
static void test_diff_limit(void **state)
{
	struct pair *p = *state;
	char key[32];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "public.t%d", i);
		assert_int_equal(nmig_fingerprint_add(&p->b, "table", key, ""),
				 NMIG_OK);
	}
	assert_int_equal(nmig_fingerprint_finish(&p->a), NMIG_OK);
	assert_int_equal(nmig_fingerprint_finish(&p->b), NMIG_OK);
	assert_int_equal(nmig_fingerprint_diff(&p->a, &p->b, &p->out, 3), 10);
	assert_string_equal(p->out.ptr, "+ table public.t0\n"
					"+ table public.t1\n"
					"+ table public.t2\n"
					"... and 7 more differences\n");
}

/* A name twice on one side is compared value by value. */
static void test_diff_duplicate_keys(void **state)
{
	struct pair *p = *state;
	const char *const before[] = {"comment", "public.t", "one"};
	const char *const after[] = {
	    "comment", "public.t", "one", "comment", "public.t", "two",
	};

	fill(&p->a, before, NFACTS(before));
	fill(&p->b, after, NFACTS(after));
	assert_int_equal(nmig_fingerprint_diff(&p->a, &p->b, &p->out, 0), 1);
	assert_string_equal(p->out.ptr, "+ comment public.t: two\n");
}

/* Values that differ only in white space never print as the same line. */
static void test_diff_white_space(void **state)
{
	struct pair *p = *state;
	const char *const before[] = {"function", "public.f()",
				      "BEGIN\n\tRETURN 1;\nEND"};
	const char *const after[] = {"function", "public.f()",
				     "BEGIN\n    RETURN 1;\nEND"};

	fill(&p->a, before, NFACTS(before));
	fill(&p->b, after, NFACTS(after));
	assert_int_equal(nmig_fingerprint_diff(&p->a, &p->b, &p->out, 0), 1);
	assert_string_equal(p->out.ptr,
			    "~ function public.f()\n"
			    "    - BEGIN\\n\\tRETURN\xc2\xb7""1;\\nEND\n"
			    "    + BEGIN\\n\xc2\xb7\xc2\xb7\xc2\xb7\xc2\xb7RETURN"
			    "\xc2\xb7""1;\\nEND\n"
			    "    (only white space differs: \xc2\xb7 is a space)\n");
}

/* An empty database has the schema public and plpgsql, nothing else. */
static void test_user_objects(void **state)
{
	struct pair *p = *state;
	const char *const empty[] = {
	    "schema",	 "public",  "",
	    "extension", "plpgsql", "version 1.0 in pg_catalog",
	};

	fill(&p->a, empty, NFACTS(empty));
	assert_int_equal(nmig_fingerprint_user_objects(&p->a), 0);
	fill(&p->b, users_table, NFACTS(users_table));
	/* the table and its index; columns count with their table */
	assert_int_equal(nmig_fingerprint_user_objects(&p->b), 2);
}

/* Parse sql with the server's parser; fail the test on a syntax error. */
static void assert_parses(const char *sql)
{
	PgQueryParseResult r = pg_query_parse(sql);

	if (r.error)
		fail_msg("the fingerprint query does not parse: %s at %d",
			 r.error->message, r.error->cursorpos);
	pg_query_free_parse_result(r);
}

/* The catalog query is valid SQL, with and without a version table. */
static void test_query_parses(void **state)
{
	struct pair *p = *state;

	nmig_fingerprint_sql(&p->out, "public", "schema_version");
	assert_false(nmig_buf_oom(&p->out));
	assert_non_null(strstr(p->out.ptr,
			       "skip(s, t) AS (VALUES ('public'::name, "
			       "'schema_version'::name))"));
	assert_parses(p->out.ptr);
	nmig_buf_clear(&p->out);
	nmig_fingerprint_sql(&p->out, "we'ird", "back\\slash");
	assert_non_null(strstr(p->out.ptr, "'we''ird'::name"));
	assert_non_null(strstr(p->out.ptr, "E'back\\\\slash'::name"));
	assert_parses(p->out.ptr);
	nmig_buf_clear(&p->out);
	nmig_fingerprint_sql(&p->out, NULL, NULL);
	assert_non_null(strstr(p->out.ptr, "NULL::name, NULL::name"));
	assert_parses(p->out.ptr);
}

/* nmig_remove_tree removes a tree and never follows a symbolic link. */
static void test_remove_tree(void **state)
{
	char dir[256], outside[256], path[512];
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/nmig-rmtree-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	snprintf(outside, sizeof(outside), "%s/nmig-outside-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(outside));
	snprintf(path, sizeof(path), "%s/keep", outside);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b/file", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/a/link", dir);
	assert_int_equal(symlink(outside, path), 0);

	assert_int_equal(nmig_remove_tree(dir), NMIG_OK);
	assert_int_not_equal(lstat(dir, &st), 0);
	snprintf(path, sizeof(path), "%s/keep", outside);
	assert_int_equal(stat(path, &st), 0); /* the link's target stays */
	/* a missing path is not an error */
	assert_int_equal(nmig_remove_tree(dir), NMIG_OK);
	unlink(path);
	rmdir(outside);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order_does_not_matter,
					    pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_digest, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_diff_kinds, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_diff_excerpt, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_diff_limit, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_diff_duplicate_keys,
					    pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_diff_white_space, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_user_objects, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_query_parses, pair_setup,
					    pair_teardown),
	    cmocka_unit_test(test_remove_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
