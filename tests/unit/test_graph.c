/*
 * Unit tests of the revision graph (lib/graph.c): tables of small DAGs
 * with their expected plan order, heads, bases, branch and merge points;
 * every graph error with its message and diagnostics; ancestor and
 * descendant marks; and 100,000-revision histories (linear and branchy)
 * built and walked without recursion. Revision sets are built in memory
 * (graph_testlib.h), never read from files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "diag.h"
#include "error.h"
#include "graph.h"
#include "graph_testlib.h"

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	struct nmig_revset set;
	struct nmig_graph *g;
	struct nmig_diags diags;
	char *str[16];
	size_t nstr;
	unsigned char *mark;
};

static void ctx_reset(struct ctx *c)
{
	size_t i;

	nmig_graph_free(c->g);
	c->g = NULL;
	revset_free(&c->set);
	nmig_diags_release(&c->diags);
	for (i = 0; i < c->nstr; i++)
		free(c->str[i]);
	c->nstr = 0;
	free(c->mark);
	c->mark = NULL;
	nmig_error_clear();
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	nmig_diags_init(&c->diags);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	ctx_reset(c);
	free(c);
	return 0;
}

/* Keep a string for freeing at reset; returns it. */
static const char *keep(struct ctx *c, char *s)
{
	assert_non_null(s);
	assert_true(c->nstr < sizeof(c->str) / sizeof(c->str[0]));
	c->str[c->nstr++] = s;
	return s;
}

/* Build the graph of text (reset first), expecting success. */
static struct nmig_graph *build_ok(struct ctx *c, const char *text)
{
	int rc;

	ctx_reset(c);
	revset_parse(&c->set, text);
	rc = nmig_graph_build(&c->g, &c->set, &c->diags);
	if (rc)
		fail_msg("build of '%s' failed: %s", text,
			 nmig_error_last()->message);
	assert_int_equal(c->diags.n, 0);
	return c->g;
}

/* Build the graph of text, expecting NMIG_EGRAPH. */
static void build_fails(struct ctx *c, const char *text)
{
	ctx_reset(c);
	revset_parse(&c->set, text);
	assert_int_equal(nmig_graph_build(&c->g, &c->set, &c->diags),
			 NMIG_EGRAPH);
	assert_null(c->g);
	assert_int_equal(nmig_error_last()->code, NMIG_EGRAPH);
}

struct dag_case {
	const char *name;
	const char *text;
	const char *order;
	const char *heads;
	const char *bases;
	const char *branch;
	const char *merge;
};

static const struct dag_case dags[] = {
    {"empty", "", "", "", "", "", ""},
    {"single", "001:", "001", "001", "001", "", ""},
    {"linear", "001:;002:001;003:002", "001 002 003", "003", "001", "", ""},
    {"linear given out of order", "003:002;001:;002:001", "001 002 003", "003",
     "001", "", ""},
    {"branchy", "001:;002:001;003:001;004:002;005:003", "001 002 003 004 005",
     "004 005", "001", "001", ""},
    {"branch then merge", "001:;002:001;003:001;004:002,003", "001 002 003 004",
     "004", "001", "001", "004"},
    {"merge parents listed backwards", "001:;002:001;003:001;004:003,002",
     "001 002 003 004", "004", "001", "001", "004"},
    {"several heads", "001:;002:001;003:001;004:001", "001 002 003 004",
     "002 003 004", "001", "001", ""},
    {"several bases", "001:;002:;003:001,002", "001 002 003", "003", "001 002",
     "", "003"},
    {"disjoint histories", "001:;002:001;010:;011:010", "001 002 010 011",
     "002 011", "001 010", "", ""},
    {"parents with larger ids than children", "005:;003:005;001:003;004:",
     "004 005 003 001", "004 001", "004 005", "", ""},
    {"child id below its parent, tie with a sibling",
     "001:;010:001;002:010;003:001", "001 003 010 002", "003 002", "001", "001",
     ""},
    {"ids compare numerically", "1:;10:1;9:1;100:9", "1 9 10 100", "10 100",
     "1", "1", ""},
    {"text ids compare as bytes", "b:;a:b;c:b;B:a", "b a B c", "B c", "b", "b",
     ""},
    {"diamond", "001:;002:001;003:001;004:002;005:003;006:004,005",
     "001 002 003 004 005 006", "006", "001", "001", "006"},
    {"two merges of three arms",
     "001:;002:001;003:001;004:001;005:002,003,004;006:005;007:006,004",
     "001 002 003 004 005 006 007", "007", "001", "001 004", "005 007"},
    {"diesel-style ids",
     "2019-02-26-002946:;2019-03-01-101010:"
     "2019-02-26-002946",
     "2019-02-26-002946 2019-03-01-101010", "2019-03-01-101010",
     "2019-02-26-002946", "", ""},
};

static void test_dag_table(void **state)
{
	struct ctx *c = *state;
	size_t t;

	for (t = 0; t < sizeof(dags) / sizeof(dags[0]); t++) {
		const struct dag_case *d = &dags[t];
		struct nmig_graph *g;
		const size_t *v;
		size_t n;

		print_message("dag: %s\n", d->name);
		g = build_ok(c, d->text);
		assert_int_equal(nmig_graph_count(g), c->set.n);
		assert_string_equal(keep(c, ids_all(g)), d->order);
		v = nmig_graph_heads(g, &n);
		assert_string_equal(keep(c, ids_of(g, v, n)), d->heads);
		v = nmig_graph_bases(g, &n);
		assert_string_equal(keep(c, ids_of(g, v, n)), d->bases);
		v = nmig_graph_branchpoints(g, &n);
		assert_string_equal(keep(c, ids_of(g, v, n)), d->branch);
		v = nmig_graph_mergepoints(g, &n);
		assert_string_equal(keep(c, ids_of(g, v, n)), d->merge);
	}
}

/* In every table graph: parents before children, lists ascending,
 * children the exact inverse of parents, find() the inverse of rev(). */
/* The heads of a marked set: marked nodes without a marked child. */
static void test_marked_heads(void **state)
{
	struct ctx *c = *state;
	/* a - b - d, a - c - d: a diamond, and e on top of d */
	struct nmig_graph *g = build_ok(c, "a:;b:a;c:a;d:b,c;e:d");
	size_t count = nmig_graph_count(g), out[5], n;
	unsigned char mark[5];

	assert_int_equal(count, 5);
	memset(mark, 0, sizeof(mark));
	assert_int_equal(nmig_graph_marked_heads(g, mark, out), 0);
	mark[nmig_graph_find(g, "a")] = 1;
	n = nmig_graph_marked_heads(g, mark, out);
	assert_string_equal(keep(c, ids_of(g, out, n)), "a");
	/* both branches applied, not merged: two heads, in plan order */
	mark[nmig_graph_find(g, "b")] = 1;
	mark[nmig_graph_find(g, "c")] = 1;
	n = nmig_graph_marked_heads(g, mark, out);
	assert_string_equal(keep(c, ids_of(g, out, n)), "b c");
	memset(mark, 1, sizeof(mark));
	n = nmig_graph_marked_heads(g, mark, out);
	assert_string_equal(keep(c, ids_of(g, out, n)), "e");
	/* a set that is not closed: each marked node on its own */
	memset(mark, 0, sizeof(mark));
	mark[nmig_graph_find(g, "b")] = 1;
	mark[nmig_graph_find(g, "e")] = 1;
	n = nmig_graph_marked_heads(g, mark, out);
	assert_string_equal(keep(c, ids_of(g, out, n)), "b e");
}

static void test_structure_invariants(void **state)
{
	struct ctx *c = *state;
	size_t t, i, k, j;

	for (t = 0; t < sizeof(dags) / sizeof(dags[0]); t++) {
		struct nmig_graph *g = build_ok(c, dags[t].text);
		size_t count = nmig_graph_count(g), nedges = 0, nchild = 0;

		for (i = 0; i < count; i++) {
			const struct nmig_revision *r = nmig_graph_rev(g, i);
			const size_t *p, *ch;
			size_t np, nc;

			assert_int_equal(nmig_graph_find(g, r->id), (long)i);
			p = nmig_graph_parents(g, i, &np);
			assert_int_equal(np, r->nparents);
			for (k = 0; k < np; k++) {
				assert_true(p[k] < i);
				if (k)
					assert_true(p[k - 1] < p[k]);
				/* i is among the children of p[k] */
				ch = nmig_graph_children(g, p[k], &nc);
				for (j = 0; j < nc && ch[j] != i; j++)
					;
				assert_true(j < nc);
			}
			nedges += np;
			ch = nmig_graph_children(g, i, &nc);
			for (k = 0; k < nc; k++) {
				assert_true(ch[k] > i);
				if (k)
					assert_true(ch[k - 1] < ch[k]);
			}
			nchild += nc;
		}
		assert_int_equal(nedges, nchild);
	}
}

static void test_find(void **state)
{
	struct ctx *c = *state;
	struct nmig_graph *g = build_ok(c, "005:;003:005;001:003");

	assert_int_equal(nmig_graph_find(g, "005"), 0);
	assert_int_equal(nmig_graph_find(g, "003"), 1);
	assert_int_equal(nmig_graph_find(g, "001"), 2);
	assert_int_equal(nmig_graph_find(g, "00"), -1);
	assert_int_equal(nmig_graph_find(g, "0010"), -1);
	assert_int_equal(nmig_graph_find(g, "1"), -1);
	assert_int_equal(nmig_graph_find(g, ""), -1);
	assert_int_equal(nmig_graph_find(g, NULL), -1);
	assert_null(nmig_graph_rev(g, 3));
	assert_string_equal(nmig_graph_rev(g, 2)->up.path, "m/001_r2.up.sql");
}

struct err_case {
	const char *name;
	const char *text;
	const char *message;   /* of the last error: the first problem */
	const char *file;      /* location of the last error */
	const char *hint_part; /* a part of its hint */
	size_t ndiags;
	const char *rules; /* every diagnostic's rule, in order */
};

static const struct err_case errs[] = {
    {"duplicate id", "001:;001:",
     "duplicate revision id '001': 'm/001_r0.up.sql' and "
     "'m/001_r1.up.sql'",
     "m/001_r1.up.sql", "ids must be unique", 1, "graph-duplicate"},
    {"duplicate id, three times", "001:;002:001;001:;001:",
     "duplicate revision id '001': 'm/001_r0.up.sql' and "
     "'m/001_r2.up.sql'",
     "m/001_r2.up.sql", "rename", 2, "graph-duplicate graph-duplicate"},
    {"missing parent", "001:;003:009",
     "revision '003' ('m/003_r1.up.sql') names parent '009' which does "
     "not exist",
     "m/003_r1.up.sql", "nmig:parents", 1, "graph-missing-parent"},
    {"self-loop", "001:;002:002",
     "revision '002' ('m/002_r1.up.sql') names itself as parent",
     "m/002_r1.up.sql", "other revisions", 1, "graph-self-loop"},
    {"parent named twice", "001:;002:001,001",
     "revision '002' ('m/002_r1.up.sql') names parent '001' twice",
     "m/002_r1.up.sql", "once", 1, "graph-duplicate-parent"},
    {"two-cycle", "004:005;005:004", "cycle: 004 -> 005 -> 004",
     "m/004_r0.up.sql", "'m/004_r0.up.sql', 'm/005_r1.up.sql'", 1,
     "graph-cycle"},
    {"cycle listed from its smallest id, parent to child",
     "001:;002:001,004;003:002;004:003;005:004",
     "cycle: 002 -> 003 -> 004 -> 002", "m/002_r1.up.sql",
     "'m/002_r1.up.sql', 'm/003_r2.up.sql', 'm/004_r3.up.sql'", 1,
     "graph-cycle"},
    {"two disjoint cycles", "001:;002:003;003:002;010:011;011:012;012:010",
     "cycle: 002 -> 003 -> 002", "m/002_r1.up.sql", "nmig:parents", 2,
     "graph-cycle graph-cycle"},
    {"every problem at once", "001:;001:;002:009;003:003;004:005;005:004",
     "duplicate revision id '001': 'm/001_r0.up.sql' and "
     "'m/001_r1.up.sql'",
     "m/001_r1.up.sql", "unique", 4,
     "graph-duplicate graph-missing-parent graph-self-loop "
     "graph-cycle"},
    {"long cycle is elided",
     "01:20;02:01;03:02;04:03;05:04;06:05;07:06;08:07;09:08;10:09;"
     "11:10;12:11;13:12;14:13;15:14;16:15;17:16;18:17;19:18;20:19",
     "cycle: 01 -> 02 -> 03 -> 04 -> 05 -> 06 -> 07 -> 08 -> 09 -> 10 "
     "-> 11 -> 12 -> 13 -> 14 -> 15 -> 16 -> ... (4 more) -> 01",
     "m/01_r0.up.sql", ", ...", 1, "graph-cycle"},
};

static void test_errors(void **state)
{
	struct ctx *c = *state;
	size_t t, i;

	for (t = 0; t < sizeof(errs) / sizeof(errs[0]); t++) {
		const struct err_case *e = &errs[t];
		const struct nmig_error *err;
		struct nmig_buf rules = NMIG_BUF_INIT;

		print_message("graph error: %s\n", e->name);
		build_fails(c, e->text);
		err = nmig_error_last();
		assert_string_equal(err->message, e->message);
		assert_string_equal(err->file, e->file);
		assert_non_null(strstr(err->hint, e->hint_part));
		assert_int_equal(c->diags.n, e->ndiags);
		assert_int_equal(c->diags.errors, e->ndiags);
		for (i = 0; i < c->diags.n; i++) {
			const struct nmig_diag *d = &c->diags.items[i];

			assert_int_equal(d->severity, NMIG_SEV_ERROR);
			assert_int_equal(d->code, NMIG_EGRAPH);
			assert_non_null(d->file);
			assert_non_null(d->hint);
			nmig_buf_printf(&rules, "%s%s", i ? " " : "", d->rule);
		}
		/* the first diagnostic is the returned error */
		assert_string_equal(c->diags.items[0].message, e->message);
		assert_string_equal(keep(c, nmig_buf_detach(&rules, NULL)),
				    e->rules);
	}
}

/* Every problem's message, to check the later ones too. */
static void test_error_messages_all_reported(void **state)
{
	struct ctx *c = *state;

	build_fails(c, "001:;001:;002:009;003:003;004:005;005:004");
	assert_int_equal(c->diags.n, 4);
	assert_string_equal(c->diags.items[1].message,
			    "revision '002' ('m/002_r2.up.sql') names parent "
			    "'009' which does not exist");
	assert_string_equal(c->diags.items[2].message,
			    "revision '003' ('m/003_r3.up.sql') names itself "
			    "as parent");
	assert_string_equal(c->diags.items[3].message,
			    "cycle: 004 -> 005 -> 004");
	assert_string_equal(c->diags.items[3].file, "m/004_r4.up.sql");
}

/* A node behind a cycle is not itself reported; diags may be NULL. */
static void test_cycle_tail_and_null_diags(void **state)
{
	struct ctx *c = *state;
	struct nmig_graph *g = NULL;

	build_fails(c, "001:;002:001,003;003:002;004:003;005:004");
	assert_int_equal(c->diags.n, 1);
	assert_string_equal(nmig_error_last()->message,
			    "cycle: 002 -> 003 -> 002");

	nmig_error_clear();
	assert_int_equal(nmig_graph_build(&g, &c->set, NULL), NMIG_EGRAPH);
	assert_null(g);
	assert_string_equal(nmig_error_last()->message,
			    "cycle: 002 -> 003 -> 002");
}

static void test_marks(void **state)
{
	struct ctx *c = *state;
	/* 001 forks to 002 / 003; 004 merges them; 005 follows 003 */
	struct nmig_graph *g =
	    build_ok(c, "001:;002:001;003:001;004:002,003;005:003;006:");
	size_t roots[2];

	c->mark = calloc(nmig_graph_count(g), 1);
	assert_non_null(c->mark);

	roots[0] = (size_t)nmig_graph_find(g, "004");
	nmig_graph_mark_ancestors(g, roots, 1, c->mark);
	assert_string_equal(keep(c, ids_marked(g, c->mark)), "001 002 003 004");

	memset(c->mark, 0, nmig_graph_count(g));
	roots[0] = (size_t)nmig_graph_find(g, "003");
	nmig_graph_mark_descendants(g, roots, 1, c->mark);
	assert_string_equal(keep(c, ids_marked(g, c->mark)), "003 004 005");

	memset(c->mark, 0, nmig_graph_count(g));
	roots[0] = (size_t)nmig_graph_find(g, "002");
	roots[1] = (size_t)nmig_graph_find(g, "005");
	nmig_graph_mark_ancestors(g, roots, 2, c->mark);
	assert_string_equal(keep(c, ids_marked(g, c->mark)), "001 002 003 005");

	/* marks already set are kept, and do not spread */
	memset(c->mark, 0, nmig_graph_count(g));
	c->mark[nmig_graph_find(g, "005")] = 1;
	roots[0] = (size_t)nmig_graph_find(g, "002");
	nmig_graph_mark_ancestors(g, roots, 1, c->mark);
	assert_string_equal(keep(c, ids_marked(g, c->mark)), "001 002 005");

	memset(c->mark, 0, nmig_graph_count(g));
	c->mark[nmig_graph_find(g, "004")] = 1;
	roots[0] = (size_t)nmig_graph_find(g, "006");
	nmig_graph_mark_ancestors(g, roots, 1, c->mark);
	assert_string_equal(keep(c, ids_marked(g, c->mark)), "004 006");

	memset(c->mark, 0, nmig_graph_count(g));
	c->mark[nmig_graph_find(g, "003")] = 1;
	roots[0] = (size_t)nmig_graph_find(g, "002");
	nmig_graph_mark_descendants(g, roots, 1, c->mark);
	assert_string_equal(keep(c, ids_marked(g, c->mark)), "002 003 004");

	/* no roots: nothing */
	memset(c->mark, 0, nmig_graph_count(g));
	nmig_graph_mark_ancestors(g, roots, 0, c->mark);
	nmig_graph_mark_descendants(g, roots, 0, c->mark);
	assert_string_equal(keep(c, ids_marked(g, c->mark)), "");
}

/* The value of "key ..." in an expected.txt (NULL when absent), with
 * {dir} replaced by dir. */
static char *expected_value(const char *text, const char *key, const char *dir)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t klen = strlen(key);
	const char *line = text, *end, *p;

	for (; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (strncmp(line, key, klen) != 0 ||
		    (line[klen] != ' ' && line + klen != end))
			continue;
		p = line + klen + (line + klen < end);
		while (p < end) {
			if (strncmp(p, "{dir}", 5) == 0) {
				nmig_buf_puts(&b, dir);
				p += 5;
			} else {
				nmig_buf_putc(&b, *p++);
			}
		}
		return nmig_buf_detach(&b, NULL);
	}
	return NULL;
}

/* clang-format off */
static const char *const fixture_dirs[] = {
	"linear", "implicit", "merge", "several-heads", "older-children",
	"diesel", "cycle", "missing-parent", "self-loop", "duplicate-id",
};
/* clang-format on */

/* Revision directories under tests/fixtures/graph, loaded by the real
 * loader, against their expected.txt. */
static void test_fixture_dirs(void **state)
{
	struct ctx *c = *state;
	const char *root = getenv("NMIG_FIXTURES");
	size_t t;

	if (!root)
		fail_msg("NMIG_FIXTURES is not set (run through ctest)");
	for (t = 0; t < sizeof(fixture_dirs) / sizeof(fixture_dirs[0]); t++) {
		struct nmig_buf path = NMIG_BUF_INIT, text = NMIG_BUF_INIT;
		const char *dir, *exp, *want;
		static const char *const keys[] = {
		    "heads", "bases", "branchpoints", "mergepoints"};
		size_t k;
		int rc;

		ctx_reset(c);
		nmig_buf_printf(&path, "%s/graph/%s", root, fixture_dirs[t]);
		dir = keep(c, nmig_buf_detach(&path, NULL));
		print_message("fixture: %s\n", fixture_dirs[t]);
		nmig_buf_printf(&path, "%s/expected.txt", dir);
		rc = nmig_buf_read_file(&text, path.ptr, 1 << 16);
		nmig_buf_release(&path);
		assert_int_equal(rc, NMIG_OK);
		exp = keep(c, nmig_buf_detach(&text, NULL));

		rc = nmig_revset_load(&c->set, dir, &c->diags);
		want = expected_value(exp, "load-error", dir);
		if (want) {
			/* the loader itself refuses it (a part of the
			 * message is expected: the loader words it) */
			keep(c, (char *)want);
			assert_int_not_equal(rc, NMIG_OK);
			assert_non_null(
			    strstr(nmig_error_last()->message, want));
			continue;
		}
		if (rc)
			fail_msg("loading '%s': %s", dir,
				 nmig_error_last()->message);
		rc = nmig_graph_build(&c->g, &c->set, &c->diags);
		want = expected_value(exp, "error", dir);
		if (want) {
			keep(c, (char *)want);
			assert_int_equal(rc, NMIG_EGRAPH);
			assert_string_equal(nmig_error_last()->message, want);
			want = keep(c, expected_value(exp, "file", dir));
			assert_string_equal(nmig_error_last()->file, want);
			assert_int_equal(c->diags.errors, 1);
			continue;
		}
		assert_int_equal(rc, NMIG_OK);
		want = keep(c, expected_value(exp, "order", dir));
		assert_string_equal(keep(c, ids_all(c->g)), want);
		for (k = 0; k < 4; k++) {
			const size_t *v;
			size_t n;

			if (k == 0)
				v = nmig_graph_heads(c->g, &n);
			else if (k == 1)
				v = nmig_graph_bases(c->g, &n);
			else if (k == 2)
				v = nmig_graph_branchpoints(c->g, &n);
			else
				v = nmig_graph_mergepoints(c->g, &n);
			want = keep(c, expected_value(exp, keys[k], dir));
			assert_string_equal(keep(c, ids_of(c->g, v, n)), want);
		}
	}
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

#define BIG 100000

static void check_big(struct ctx *c, int branchy)
{
	struct timespec t0;
	struct nmig_graph *g;
	const size_t *v;
	size_t n, i, root;
	double took;

	ctx_reset(c);
	revset_synthetic(&c->set, BIG, branchy);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(nmig_graph_build(&c->g, &c->set, &c->diags), NMIG_OK);
	took = seconds_since(&t0);
	print_message("%s graph of %d revisions built in %.3f s\n",
		      branchy ? "branchy" : "linear", BIG, took);
	/* generous: a sanitizer build on a busy machine is much slower */
	assert_true(took < 10.0);
	g = c->g;
	assert_int_equal(nmig_graph_count(g), BIG);
	/* the generators number revisions in their plan order */
	for (i = 0; i < BIG; i++)
		assert_int_equal(strtoul(nmig_graph_rev(g, i)->id, NULL, 10),
				 i + 1);
	v = nmig_graph_heads(g, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], BIG - 1);
	v = nmig_graph_bases(g, &n);
	assert_int_equal(n, 1);
	nmig_graph_mergepoints(g, &n);
	assert_int_equal(n, branchy ? BIG / 10 : 0);
	nmig_graph_branchpoints(g, &n);
	assert_int_equal(n, branchy ? BIG / 10 : 0);

	c->mark = calloc(BIG, 1);
	assert_non_null(c->mark);
	root = BIG - 1;
	nmig_graph_mark_ancestors(g, &root, 1, c->mark);
	for (i = 0; i < BIG; i++)
		assert_int_equal(c->mark[i], 1);
	memset(c->mark, 0, BIG);
	root = 0;
	nmig_graph_mark_descendants(g, &root, 1, c->mark);
	for (i = 0; i < BIG; i++)
		assert_int_equal(c->mark[i], 1);
	/* the middle of the history: everything before / after it */
	memset(c->mark, 0, BIG);
	root = BIG / 2;
	nmig_graph_mark_ancestors(g, &root, 1, c->mark);
	for (i = 0; i < BIG; i++)
		assert_int_equal(c->mark[i], i <= BIG / 2);
}

static void test_big_linear(void **state)
{
	check_big(*state, 0);
}

static void test_big_branchy(void **state)
{
	check_big(*state, 1);
}

/* A 100,000-long chain whose ids run backwards: parents have the larger
 * ids, so plan order is the reverse of id order. */
static void test_big_reverse_ids(void **state)
{
	struct ctx *c = *state;
	struct nmig_revset *set = &c->set;
	size_t i;

	ctx_reset(c);
	set->dir = xstrndup("m", 1);
	set->revs = xmalloc(BIG * sizeof(*set->revs));
	for (i = 0; i < BIG; i++) {
		char id[32], parent[32];
		const char *parents[1] = {parent};
		size_t plen;

		snprintf(id, sizeof(id), "%zu", (size_t)BIG - i);
		plen = (size_t)snprintf(parent, sizeof(parent), "%zu",
					(size_t)BIG - i + 1);
		rev_fill(&set->revs[i], i, id, strlen(id), parents, &plen,
			 i ? 1 : 0, 1);
	}
	set->n = BIG;
	assert_int_equal(nmig_graph_build(&c->g, set, &c->diags), NMIG_OK);
	for (i = 0; i < BIG; i++)
		assert_int_equal(strtoul(nmig_graph_rev(c->g, i)->id, NULL, 10),
				 BIG - i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dag_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_structure_invariants, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_find, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_messages_all_reported,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cycle_tail_and_null_diags,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_marks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fixture_dirs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_marked_heads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_linear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_branchy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_reverse_ids, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
