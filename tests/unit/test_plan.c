/*
 * Unit tests of targets and plans (lib/plan.c): the applied set, every
 * target form with its errors, ranges, upgrade and downgrade plans with
 * their refusals, and 100,000-revision plans. Graphs are built in memory
 * from the compact text of graph_testlib.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "graph.h"
#include "graph_testlib.h"
#include "plan.h"

#define G_LIN "001:;002:001;003:002;004:003;005:004"
#define G_BR "001:;002:001;003:001;004:002;005:003"
#define G_MERGE "001:;002:001;003:001;004:002,003;005:004"
#define G_BASES "001:;002:;003:002"
#define G_REV "005:;003:005;001:003"
#define G_IRR "001:;002!:001;003:002;004!:003"
#define G_PFX                                                                  \
	"20260101000000:;20260102000000:20260101000000;"                       \
	"20260201000000:20260102000000;2026:20260201000000"
#define G_MANY                                                                 \
	"100001:;100002:100001;100003:100002;100004:100003;"                   \
	"100005:100004;100006:100005;100007:100006;100008:100007;"             \
	"100009:100008;100010:100009;100011:100010;100012:100011"
#define G_DIESEL                                                               \
	"2019-02-26-002946:;2019-03-01-101010:2019-02-26-002946;"              \
	"2019-03-05-000000:2019-03-01-101010"

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	struct nmig_revset set;
	struct nmig_graph *g;
	char *idtext; /* the applied ids, split in place */
	char **ids;
	size_t nids;
	struct nmig_applied applied;
	struct nmig_plan plan;
	size_t *nodes;
	char *str[8];
	size_t nstr;
	char *from, *to;
};

static void ctx_reset(struct ctx *c)
{
	size_t i;

	nmig_plan_release(&c->plan);
	nmig_applied_release(&c->applied);
	nmig_graph_free(c->g);
	c->g = NULL;
	revset_free(&c->set);
	free(c->idtext);
	free(c->ids);
	c->idtext = NULL;
	c->ids = NULL;
	c->nids = 0;
	free(c->nodes);
	c->nodes = NULL;
	for (i = 0; i < c->nstr; i++)
		free(c->str[i]);
	c->nstr = 0;
	free(c->from);
	free(c->to);
	c->from = NULL;
	c->to = NULL;
	nmig_error_clear();
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
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

static const char *keep(struct ctx *c, char *s)
{
	assert_non_null(s);
	assert_true(c->nstr < sizeof(c->str) / sizeof(c->str[0]));
	c->str[c->nstr++] = s;
	return s;
}

/* Split space-separated ids into c->ids (pointers into c->idtext). */
static void split_ids(struct ctx *c, const char *text)
{
	char *p;

	c->idtext = xstrndup(text, strlen(text));
	c->ids = xmalloc((strlen(text) / 2 + 1) * sizeof(*c->ids));
	c->nids = 0;
	for (p = strtok(c->idtext, " "); p; p = strtok(NULL, " "))
		c->ids[c->nids++] = p;
}

/*
 * Reset, build the graph of text and read the applied ids; expects the
 * applied set to be accepted.
 */
static void load(struct ctx *c, const char *text, const char *applied)
{
	ctx_reset(c);
	revset_parse(&c->set, text);
	if (nmig_graph_build(&c->g, &c->set, NULL))
		fail_msg("graph '%s': %s", text, nmig_error_last()->message);
	split_ids(c, applied);
	if (nmig_applied_init(&c->applied, c->g, (const char *const *)c->ids,
			      c->nids))
		fail_msg("applied '%s': %s", applied,
			 nmig_error_last()->message);
}

static void test_applied_init(void **state)
{
	struct ctx *c = *state;

	load(c, G_LIN, "001 002 002 zzz 003 yyy");
	assert_int_equal(c->applied.napplied, 3);
	assert_int_equal(c->applied.nunknown, 2);
	/* pointers into the ids given */
	assert_ptr_equal(c->applied.unknown[0], c->ids[3]);
	assert_ptr_equal(c->applied.unknown[1], c->ids[5]);
	assert_memory_equal(c->applied.mark, "\1\1\1\0\0", 5);

	load(c, G_LIN, "");
	assert_int_equal(c->applied.napplied, 0);
	assert_int_equal(c->applied.nunknown, 0);
	assert_null(c->applied.unknown);
	assert_memory_equal(c->applied.mark, "\0\0\0\0\0", 5);

	/* an empty graph */
	load(c, "", "001");
	assert_int_equal(c->applied.napplied, 0);
	assert_int_equal(c->applied.nunknown, 1);
}

static void test_applied_not_closed(void **state)
{
	struct ctx *c = *state;
	const struct nmig_error *e;

	load(c, G_LIN, "");
	nmig_applied_release(&c->applied);
	free(c->idtext);
	free(c->ids);
	split_ids(c, "001 003");
	assert_int_equal(nmig_applied_init(&c->applied, c->g,
					   (const char *const *)c->ids,
					   c->nids),
			 NMIG_ESTATE);
	e = nmig_error_last();
	assert_string_equal(e->message, "revision '003' is applied but its "
					"parent '002' is not");
	assert_non_null(strstr(e->hint, "nmig check"));
	assert_string_equal(e->detail, "");
	/* still filled, for check to show */
	assert_int_equal(c->applied.napplied, 2);

	nmig_applied_release(&c->applied);
	free(c->idtext);
	free(c->ids);
	split_ids(c, "003 005 001");
	assert_int_equal(nmig_applied_init(&c->applied, c->g,
					   (const char *const *)c->ids,
					   c->nids),
			 NMIG_ESTATE);
	e = nmig_error_last();
	assert_string_equal(e->message, "revision '003' is applied but its "
					"parent '002' is not");
	assert_string_equal(e->detail, "2 applied revisions have a parent "
				       "that is not applied");

	/* a merge with one parent missing */
	nmig_applied_release(&c->applied);
	nmig_graph_free(c->g);
	c->g = NULL;
	revset_free(&c->set);
	revset_parse(&c->set, G_MERGE);
	assert_int_equal(nmig_graph_build(&c->g, &c->set, NULL), NMIG_OK);
	free(c->idtext);
	free(c->ids);
	split_ids(c, "001 002 004");
	assert_int_equal(nmig_applied_init(&c->applied, c->g,
					   (const char *const *)c->ids,
					   c->nids),
			 NMIG_ESTATE);
	assert_string_equal(nmig_error_last()->message,
			    "revision '004' is applied but its parent '003' "
			    "is not");
}

struct target_case {
	const char *graph;
	const char *applied;
	enum nmig_direction dir;
	const char *spec;
	int rc;
	const char *expect; /* ids on success, else the message */
	const char *hint;   /* a part of the hint, or NULL */
};

static const struct target_case targets[] = {
    /* keywords */
    {G_LIN, "001 002", NMIG_UP, "head", 0, "005", NULL},
    {G_LIN, "001 002", NMIG_DOWN, "heads", 0, "005", NULL},
    {G_LIN, "001 002", NMIG_UP, "base", 0, "", NULL},
    {G_BR, "", NMIG_UP, "head", NMIG_EAMBIGUOUS, "several heads: 004, 005",
     "name one, use 'heads', or merge them with 'nmig merge'"},
    {G_BR, "", NMIG_UP, "heads", 0, "004 005", NULL},
    {"", "", NMIG_UP, "head", NMIG_ENOTFOUND,
     "there are no revisions, so no 'head'", "nmig revision"},
    {"", "", NMIG_UP, "heads", 0, "", NULL},
    {"", "", NMIG_UP, "base", 0, "", NULL},
    /* ids and prefixes */
    {G_LIN, "", NMIG_UP, "003", 0, "003", NULL},
    {G_PFX, "", NMIG_UP, "2026", 0, "2026", NULL},
    {G_PFX, "", NMIG_UP, "20260102", 0, "20260102000000", NULL},
    {G_PFX, "", NMIG_UP, "2026020", 0, "20260201000000", NULL},
    {G_PFX, "", NMIG_UP, "202601", NMIG_EAMBIGUOUS,
     "revision '202601' is ambiguous, could be: 20260101000000, "
     "20260102000000",
     "more characters"},
    {G_PFX, "", NMIG_UP, "20260", NMIG_EAMBIGUOUS,
     "revision '20260' is ambiguous, could be: 20260101000000, "
     "20260102000000, 20260201000000",
     NULL},
    {G_MANY, "", NMIG_UP, "1000", NMIG_EAMBIGUOUS,
     "revision '1000' is ambiguous, could be: 100001, 100002, 100003, "
     "100004, 100005, 100006, 100007, 100008, 100009, 100010, ...",
     NULL},
    {G_MANY, "", NMIG_UP, "10001", NMIG_EAMBIGUOUS,
     "revision '10001' is ambiguous, could be: 100010, 100011, 100012", NULL},
    {G_PFX, "", NMIG_UP, "202", NMIG_ENOTFOUND, "unknown revision '202'",
     "at least 4 characters"},
    {G_LIN, "", NMIG_UP, "00", NMIG_ENOTFOUND, "unknown revision '00'",
     "at least 4 characters"},
    {G_LIN, "", NMIG_UP, "xyz", NMIG_ENOTFOUND, "unknown revision 'xyz'",
     "at least 4 characters"},
    {G_LIN, "", NMIG_UP, "0030", NMIG_ENOTFOUND, "unknown revision '0030'",
     "nmig history"},
    {G_LIN, "", NMIG_UP, "", NMIG_EUSAGE, "empty target", NULL},
    {G_LIN, "", NMIG_UP, NULL, NMIG_EUSAGE, "empty target", NULL},
    /* relative to the applied set */
    {G_LIN, "001 002", NMIG_UP, "+1", 0, "003", NULL},
    {G_LIN, "001 002", NMIG_UP, "+0", 0, "002", NULL},
    {G_LIN, "", NMIG_UP, "+0", 0, "", NULL},
    {G_LIN, "001 002", NMIG_UP, "+3", 0, "005", NULL},
    {G_LIN, "001 002", NMIG_UP, "+4", NMIG_ENOTFOUND,
     "cannot go 4 revisions up: only 3 are pending", NULL},
    {G_LIN, "001 002 003 004", NMIG_UP, "+2", NMIG_ENOTFOUND,
     "cannot go 2 revisions up: only 1 is pending", NULL},
    {G_LIN, "001 002", NMIG_UP, "+99999999999999999999999", NMIG_ENOTFOUND,
     "cannot go 99999999999999999999999 revisions up: only 3 are "
     "pending",
     NULL},
    {G_LIN, "001 002", NMIG_DOWN, "-1", 0, "001", NULL},
    {G_LIN, "001 002", NMIG_DOWN, "-0", 0, "002", NULL},
    {G_LIN, "001 002", NMIG_DOWN, "-2", 0, "", NULL},
    {G_LIN, "001 002", NMIG_DOWN, "-3", NMIG_ENOTFOUND,
     "cannot go 3 revisions down: only 2 are applied", NULL},
    {G_LIN, "", NMIG_DOWN, "-1", NMIG_ENOTFOUND,
     "cannot go 1 revision down: only 0 are applied", NULL},
    {G_LIN, "001 002", NMIG_DOWN, "+1", NMIG_EUSAGE,
     "relative target '+1' goes up, against the direction of this "
     "command",
     "'-N' to go down"},
    {G_LIN, "001 002", NMIG_UP, "-1", NMIG_EUSAGE,
     "relative target '-1' goes down, against the direction of this "
     "command",
     NULL},
    {G_BR, "", NMIG_UP, "+2", 0, "002", NULL},
    {G_BR, "", NMIG_UP, "+3", 0, "002 003", NULL},
    {G_BR, "001 003 005", NMIG_UP, "+1", 0, "002 005", NULL},
    {G_BR, "001 003 005", NMIG_DOWN, "-1", 0, "003", NULL},
    {G_BASES, "001 002 003", NMIG_DOWN, "-1", 0, "001 002", NULL},
    {G_BASES, "001 002 003", NMIG_DOWN, "-2", 0, "001", NULL},
    /* relative to a revision */
    {G_LIN, "", NMIG_UP, "003+1", 0, "004", NULL},
    {G_LIN, "", NMIG_UP, "003+0", 0, "003", NULL},
    {G_LIN, "", NMIG_DOWN, "003-2", 0, "001", NULL},
    {G_LIN, "", NMIG_UP, "003+3", NMIG_ENOTFOUND,
     "cannot go 3 revisions up from '003': it has only 2 descendants", NULL},
    {G_LIN, "", NMIG_DOWN, "002-2", NMIG_ENOTFOUND,
     "cannot go 2 revisions down from '002': it has only 1 ancestor", NULL},
    {G_LIN, "", NMIG_DOWN, "head-1", 0, "004", NULL},
    {G_LIN, "", NMIG_DOWN, "head-4", 0, "001", NULL},
    {G_LIN, "", NMIG_DOWN, "head-5", NMIG_ENOTFOUND,
     "cannot go 5 revisions down from 'head': it has only 4 ancestors", NULL},
    {G_LIN, "", NMIG_UP, "base+1", 0, "001", NULL},
    {G_LIN, "", NMIG_UP, "base+5", 0, "005", NULL},
    {G_LIN, "", NMIG_UP, "base+0", 0, "", NULL},
    {G_LIN, "", NMIG_UP, "base+6", NMIG_ENOTFOUND,
     "cannot go 6 revisions up from 'base': there are only 5", NULL},
    {G_LIN, "", NMIG_DOWN, "base-1", NMIG_ENOTFOUND,
     "cannot go 1 revision down from 'base'", "before every revision"},
    {G_BR, "", NMIG_UP, "001+2", 0, "003", NULL},
    {G_BR, "", NMIG_UP, "001+4", 0, "005", NULL},
    {G_BR, "", NMIG_UP, "002+1", 0, "004", NULL},
    {G_BR, "", NMIG_DOWN, "005-1", 0, "003", NULL},
    {G_BR, "", NMIG_DOWN, "005-2", 0, "001", NULL},
    {G_BR, "", NMIG_UP, "head+1", NMIG_EAMBIGUOUS, "several heads: 004, 005",
     NULL},
    {G_MERGE, "", NMIG_DOWN, "005-2", 0, "003", NULL},
    {G_MERGE, "", NMIG_DOWN, "005-3", 0, "002", NULL},
    {G_PFX, "", NMIG_UP, "202601010+1", 0, "20260102000000", NULL},
    {G_PFX, "", NMIG_UP, "202601+1", NMIG_EAMBIGUOUS,
     "revision '202601' is ambiguous, could be: 20260101000000, "
     "20260102000000",
     NULL},
    {G_LIN, "", NMIG_UP, "003+x", NMIG_ENOTFOUND, "unknown revision '003+x'",
     NULL},
    {G_LIN, "", NMIG_UP, "zzzz+1", NMIG_ENOTFOUND, "unknown revision 'zzzz+1'",
     NULL},
    {G_LIN, "", NMIG_UP, "003+", NMIG_ENOTFOUND, "unknown revision '003+'",
     NULL},
    /* ids containing '-': exact and prefix matches come first */
    {G_DIESEL, "", NMIG_UP, "2019-02-26-002946", 0, "2019-02-26-002946", NULL},
    {G_DIESEL, "", NMIG_UP, "2019-02-26-0029", 0, "2019-02-26-002946", NULL},
    {G_DIESEL, "", NMIG_UP, "2019-03-01", 0, "2019-03-01-101010", NULL},
    {G_DIESEL, "", NMIG_UP, "2019-03", NMIG_EAMBIGUOUS,
     "revision '2019-03' is ambiguous, could be: 2019-03-01-101010, "
     "2019-03-05-000000",
     NULL},
    {G_DIESEL, "", NMIG_DOWN, "2019-03-05-000000-1", 0, "2019-03-01-101010",
     NULL},
    {G_DIESEL, "", NMIG_DOWN, "2019-03-05-000000-2", 0, "2019-02-26-002946",
     NULL},
    {G_DIESEL, "", NMIG_UP, "2019-02-26-002946+2", 0, "2019-03-05-000000",
     NULL},
    {G_DIESEL, "", NMIG_DOWN, "2019-02-26-002946-1", NMIG_ENOTFOUND,
     "cannot go 1 revision down from '2019-02-26-002946': it has only "
     "0 ancestors",
     NULL},
    {G_DIESEL, "", NMIG_DOWN, "2019-03-01-1010-1", 0, "2019-02-26-002946",
     NULL},
};

static void test_targets(void **state)
{
	struct ctx *c = *state;
	size_t t;

	for (t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		const struct target_case *tc = &targets[t];
		size_t n = 99;
		int rc;

		print_message("target '%s' (%s) applied '%s' in '%s'\n",
			      tc->spec ? tc->spec : "(null)",
			      tc->dir == NMIG_UP ? "up" : "down", tc->applied,
			      tc->graph);
		load(c, tc->graph, tc->applied);
		rc = nmig_target_resolve(c->g, &c->applied, tc->dir, tc->spec,
					 &c->nodes, &n);
		assert_int_equal(rc, tc->rc);
		if (rc) {
			assert_int_equal(nmig_error_last()->code, rc);
			assert_string_equal(nmig_error_last()->message,
					    tc->expect);
			assert_null(c->nodes);
			assert_int_equal(n, 0);
		} else {
			assert_string_equal(keep(c, ids_of(c->g, c->nodes, n)),
					    tc->expect);
			if (n == 0)
				assert_null(c->nodes);
		}
		if (tc->hint)
			assert_non_null(
			    strstr(nmig_error_last()->hint, tc->hint));
	}
}

/* dir 0 takes relative targets both ways. */
static void test_target_any_direction(void **state)
{
	struct ctx *c = *state;
	size_t n;

	load(c, G_LIN, "001 002 003");
	assert_int_equal(
	    nmig_target_resolve(c->g, &c->applied, 0, "+1", &c->nodes, &n),
	    NMIG_OK);
	assert_string_equal(keep(c, ids_of(c->g, c->nodes, n)), "004");
	free(c->nodes);
	c->nodes = NULL;
	assert_int_equal(
	    nmig_target_resolve(c->g, &c->applied, 0, "-2", &c->nodes, &n),
	    NMIG_OK);
	assert_string_equal(keep(c, ids_of(c->g, c->nodes, n)), "001");
}

/* applied may be NULL: nothing applied. */
static void test_target_null_applied(void **state)
{
	struct ctx *c = *state;
	size_t n;

	load(c, G_LIN, "");
	assert_int_equal(
	    nmig_target_resolve(c->g, NULL, NMIG_UP, "+2", &c->nodes, &n),
	    NMIG_OK);
	assert_string_equal(keep(c, ids_of(c->g, c->nodes, n)), "002");
	free(c->nodes);
	c->nodes = NULL;
	assert_int_equal(
	    nmig_target_resolve(c->g, NULL, NMIG_DOWN, "-1", &c->nodes, &n),
	    NMIG_ENOTFOUND);
}

struct range_case {
	const char *spec;
	int rc;
	const char *from, *to; /* NULL: expected NULL */
};

static const struct range_case ranges[] = {
    {"base:head", 0, "base", "head"},
    {"001:", 0, "001", NULL},
    {":head", 0, NULL, "head"},
    {":", 0, NULL, NULL},
    {"2019-02-26-002946:2019-03-05-000000-1", 0, "2019-02-26-002946",
     "2019-03-05-000000-1"},
    {"head", NMIG_EUSAGE, NULL, NULL},
    {"", NMIG_EUSAGE, NULL, NULL},
    {"a:b:c", NMIG_EUSAGE, NULL, NULL},
};

static void test_ranges(void **state)
{
	struct ctx *c = *state;
	size_t t;

	for (t = 0; t < sizeof(ranges) / sizeof(ranges[0]); t++) {
		const struct range_case *r = &ranges[t];

		ctx_reset(c);
		assert_int_equal(nmig_range_parse(r->spec, &c->from, &c->to),
				 r->rc);
		if (r->from)
			assert_string_equal(c->from, r->from);
		else
			assert_null(c->from);
		if (r->to)
			assert_string_equal(c->to, r->to);
		else
			assert_null(c->to);
	}
	assert_string_equal(nmig_error_last()->message,
			    "range 'a:b:c' has more than one ':'");
	ctx_reset(c);
	assert_int_equal(nmig_range_parse("head", &c->from, &c->to),
			 NMIG_EUSAGE);
	assert_string_equal(nmig_error_last()->message,
			    "range 'head' has no ':'");
	assert_non_null(strstr(nmig_error_last()->hint, "FROM:TO"));
}

struct plan_case {
	const char *graph;
	const char *applied;
	enum nmig_direction dir;
	const char *target;
	int allow_irreversible;
	int rc;
	const char *expect; /* steps on success, else the message */
	const char *hint;   /* a part of the hint, or NULL */
};

static const struct plan_case plans[] = {
    /* upgrade */
    {G_LIN, "", NMIG_UP, "head", 0, 0, "001 002 003 004 005", NULL},
    {G_LIN, "001 002", NMIG_UP, "head", 0, 0, "003 004 005", NULL},
    {G_LIN, "001 002", NMIG_UP, "003", 0, 0, "003", NULL},
    {G_LIN, "001 002", NMIG_UP, "002", 0, 0, "", NULL},
    {G_LIN, "001 002", NMIG_UP, "001", 0, 0, "", NULL},
    {G_LIN, "001 002", NMIG_UP, "base", 0, 0, "", NULL},
    {G_LIN, "001 002", NMIG_UP, "+2", 0, 0, "003 004", NULL},
    {G_LIN, "001 002", NMIG_UP, "+0", 0, 0, "", NULL},
    {G_LIN, "001 002", NMIG_UP, "head-1", 0, 0, "003 004", NULL},
    {G_BR, "", NMIG_UP, "004", 0, 0, "001 002 004", NULL},
    {G_BR, "001 002 004", NMIG_UP, "heads", 0, 0, "003 005", NULL},
    {G_BR, "", NMIG_UP, "head", 0, NMIG_EAMBIGUOUS, "several heads: 004, 005",
     "nmig merge"},
    {G_BR, "001 003 005", NMIG_UP, "+1", 0, 0, "002", NULL},
    {G_MERGE, "001 002", NMIG_UP, "head", 0, 0, "003 004 005", NULL},
    {G_BASES, "", NMIG_UP, "heads", 0, 0, "001 002 003", NULL},
    {G_BASES, "", NMIG_UP, "head", 0, NMIG_EAMBIGUOUS,
     "several heads: 001, 003", NULL},
    {G_BASES, "", NMIG_UP, "003", 0, 0, "002 003", NULL},
    {G_REV, "", NMIG_UP, "head", 0, 0, "005 003 001", NULL},
    {G_LIN, "001 zzz", NMIG_UP, "head", 0, NMIG_ESTATE,
     "the database records 1 revision that is not in the files: 'zzz'",
     "nmig stamp --purge"},
    {G_LIN, "001 zzz yyy", NMIG_UP, "head", 0, NMIG_ESTATE,
     "the database records 2 revisions that are not in the files: "
     "'zzz', 'yyy'",
     "restore the missing files"},
    {G_LIN, "", NMIG_UP, "-1", 0, NMIG_EUSAGE,
     "relative target '-1' goes down, against the direction of this "
     "command",
     NULL},
    {G_LIN, "", NMIG_UP, "nope", 0, NMIG_ENOTFOUND, "unknown revision 'nope'",
     NULL},
    /* downgrade */
    {G_LIN, "001 002 003 004 005", NMIG_DOWN, "base", 0, 0,
     "005 004 003 002 001", NULL},
    {G_LIN, "001 002 003 004 005", NMIG_DOWN, "003", 0, 0, "005 004", NULL},
    {G_LIN, "001 002 003 004 005", NMIG_DOWN, "-2", 0, 0, "005 004", NULL},
    {G_LIN, "001 002 003 004 005", NMIG_DOWN, "-0", 0, 0, "", NULL},
    {G_LIN, "001 002 003 004 005", NMIG_DOWN, "-5", 0, 0, "005 004 003 002 001",
     NULL},
    {G_LIN, "001 002 003 004 005", NMIG_DOWN, "-6", 0, NMIG_ENOTFOUND,
     "cannot go 6 revisions down: only 5 are applied", NULL},
    {G_LIN, "001 002 003 004 005", NMIG_DOWN, "head-2", 0, 0, "005 004", NULL},
    {G_LIN, "001 002 003 004 005", NMIG_DOWN, "head", 0, 0, "", NULL},
    {G_LIN, "001 002", NMIG_DOWN, "004", 0, 0, "", NULL},
    {G_LIN, "001 002", NMIG_DOWN, "001", 0, 0, "002", NULL},
    {G_LIN, "", NMIG_DOWN, "base", 0, 0, "", NULL},
    {G_BR, "001 002 003 004 005", NMIG_DOWN, "002", 0, 0, "004", NULL},
    {G_BR, "001 002 003 004 005", NMIG_DOWN, "001", 0, 0, "005 004 003 002",
     NULL},
    {G_BR, "001 002 003 004 005", NMIG_DOWN, "heads", 0, 0, "", NULL},
    {G_BR, "001 002 003 004 005", NMIG_DOWN, "-1", 0, 0, "005", NULL},
    {G_MERGE, "001 002 003 004 005", NMIG_DOWN, "002", 0, 0, "005 004", NULL},
    {G_MERGE, "001 002 003 004 005", NMIG_DOWN, "003", 0, 0, "005 004", NULL},
    {G_BASES, "001 002 003", NMIG_DOWN, "-1", 0, 0, "003", NULL},
    {G_BASES, "001 002 003", NMIG_DOWN, "-2", 0, 0, "003 002", NULL},
    {G_BASES, "001 002 003", NMIG_DOWN, "001", 0, 0, "", NULL},
    {G_REV, "005 003 001", NMIG_DOWN, "base", 0, 0, "001 003 005", NULL},
    {G_IRR, "001 002 003 004", NMIG_DOWN, "002", 0, NMIG_ESTATE,
     "revision '004' has no down file, so it cannot be downgraded",
     "write 'm/004_r3.down.sql', or record the state without running "
     "SQL with 'nmig stamp'"},
    {G_IRR, "001 002 003", NMIG_DOWN, "002", 0, 0, "003", NULL},
    {G_IRR, "001 002 003", NMIG_DOWN, "base", 0, NMIG_ESTATE,
     "revision '002' has no down file, so it cannot be downgraded",
     "m/002_r1.down.sql"},
    {G_IRR, "001 002 003 004", NMIG_DOWN, "base", 1, 0, "004 003 002 001",
     NULL},
    {G_LIN, "001 002 zzz", NMIG_DOWN, "base", 0, NMIG_ESTATE,
     "the database records 1 revision that is not in the files: 'zzz'",
     "nmig stamp --purge"},
    {G_LIN, "001 002", NMIG_DOWN, "+1", 0, NMIG_EUSAGE,
     "relative target '+1' goes up, against the direction of this "
     "command",
     NULL},
    {G_BR, "001 002 003 004 005", NMIG_DOWN, "head", 0, NMIG_EAMBIGUOUS,
     "several heads: 004, 005", NULL},
};

static void test_plans(void **state)
{
	struct ctx *c = *state;
	size_t t;

	for (t = 0; t < sizeof(plans) / sizeof(plans[0]); t++) {
		const struct plan_case *pc = &plans[t];
		int rc;

		print_message("%s to '%s' applied '%s' in '%s'\n",
			      pc->dir == NMIG_UP ? "upgrade" : "downgrade",
			      pc->target, pc->applied, pc->graph);
		load(c, pc->graph, pc->applied);
		if (pc->dir == NMIG_UP)
			rc = nmig_plan_upgrade(&c->plan, c->g, &c->applied,
					       pc->target);
		else
			rc = nmig_plan_downgrade(&c->plan, c->g, &c->applied,
						 pc->target,
						 pc->allow_irreversible);
		assert_int_equal(rc, pc->rc);
		assert_int_equal(c->plan.dir, pc->dir);
		if (rc) {
			assert_string_equal(nmig_error_last()->message,
					    pc->expect);
			assert_int_equal(c->plan.n, 0);
			assert_null(c->plan.steps);
		} else {
			assert_string_equal(
			    keep(c, ids_of(c->g, c->plan.steps, c->plan.n)),
			    pc->expect);
			if (c->plan.n == 0)
				assert_null(c->plan.steps);
		}
		if (pc->hint)
			assert_non_null(
			    strstr(nmig_error_last()->hint, pc->hint));
	}
}

/* Several irreversible steps: the first in execution order is named, the
 * detail counts them; applied NULL is an empty applied set. */
static void test_plan_details(void **state)
{
	struct ctx *c = *state;
	const struct nmig_error *e;

	load(c, G_IRR, "001 002 003 004");
	assert_int_equal(
	    nmig_plan_downgrade(&c->plan, c->g, &c->applied, "base", 0),
	    NMIG_ESTATE);
	e = nmig_error_last();
	assert_string_equal(e->message, "revision '004' has no down file, so "
					"it cannot be downgraded");
	assert_string_equal(e->file, "m/004_r3.up.sql");
	assert_string_equal(e->detail, "2 revisions in this downgrade are "
				       "irreversible; nothing was run");

	load(c, G_LIN, "");
	assert_int_equal(nmig_plan_upgrade(&c->plan, c->g, NULL, "004"),
			 NMIG_OK);
	assert_string_equal(keep(c, ids_of(c->g, c->plan.steps, c->plan.n)),
			    "001 002 003 004");
	nmig_plan_release(&c->plan);
	assert_int_equal(nmig_plan_downgrade(&c->plan, c->g, NULL, "base", 0),
			 NMIG_OK);
	assert_int_equal(c->plan.n, 0);
	nmig_plan_release(&c->plan);
	/* release twice is harmless */
	nmig_plan_release(&c->plan);
	nmig_applied_release(&c->applied);
	nmig_applied_release(&c->applied);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

#define BIG 100000

/* Build a synthetic history and mark its first napplied as applied. */
static void load_big(struct ctx *c, int branchy, size_t napplied)
{
	size_t i;

	ctx_reset(c);
	revset_synthetic(&c->set, BIG, branchy);
	assert_int_equal(nmig_graph_build(&c->g, &c->set, NULL), NMIG_OK);
	c->ids = xmalloc(napplied * sizeof(*c->ids));
	for (i = 0; i < napplied; i++)
		c->ids[i] = c->set.revs[i].id;
	c->nids = napplied;
	assert_int_equal(nmig_applied_init(&c->applied, c->g,
					   (const char *const *)c->ids,
					   c->nids),
			 NMIG_OK);
	assert_int_equal(c->applied.napplied, napplied);
}

static void check_big(struct ctx *c, int branchy)
{
	struct timespec t0;
	size_t i, n;
	double took;

	load_big(c, branchy, BIG / 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(nmig_plan_upgrade(&c->plan, c->g, &c->applied,
					   branchy ? "heads" : "head"),
			 NMIG_OK);
	took = seconds_since(&t0);
	print_message("%s: upgrade plan of %d steps in %.3f s\n",
		      branchy ? "branchy" : "linear", BIG / 2, took);
	assert_true(took < 10.0);
	assert_int_equal(c->plan.n, BIG / 2);
	for (i = 0; i < c->plan.n; i++)
		assert_int_equal(c->plan.steps[i], BIG / 2 + i);
	nmig_plan_release(&c->plan);

	assert_int_equal(
	    nmig_plan_downgrade(&c->plan, c->g, &c->applied, "base", 0),
	    NMIG_OK);
	assert_int_equal(c->plan.n, BIG / 2);
	for (i = 0; i < c->plan.n; i++)
		assert_int_equal(c->plan.steps[i], BIG / 2 - 1 - i);
	nmig_plan_release(&c->plan);

	assert_int_equal(
	    nmig_plan_downgrade(&c->plan, c->g, &c->applied, "-1000", 0),
	    NMIG_OK);
	assert_int_equal(c->plan.n, 1000);
	assert_int_equal(c->plan.steps[999], BIG / 2 - 1000);
	nmig_plan_release(&c->plan);

	/* down to the first revision: everything else applied, reversed */
	assert_int_equal(
	    nmig_plan_downgrade(&c->plan, c->g, &c->applied, "00000001", 0),
	    NMIG_OK);
	assert_int_equal(c->plan.n, BIG / 2 - 1);
	nmig_plan_release(&c->plan);

	/* relative targets over the whole history */
	assert_int_equal(nmig_target_resolve(c->g, &c->applied, NMIG_UP, "+10",
					     &c->nodes, &n),
			 NMIG_OK);
	free(c->nodes);
	c->nodes = NULL;
	if (!branchy) {
		assert_int_equal(nmig_target_resolve(c->g, &c->applied,
						     NMIG_DOWN, "head-99999",
						     &c->nodes, &n),
				 NMIG_OK);
		assert_int_equal(n, 1);
		assert_int_equal(c->nodes[0], 0);
	}
}

static void test_big_linear(void **state)
{
	check_big(*state, 0);
}

static void test_big_branchy(void **state)
{
	check_big(*state, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_applied_init, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_applied_not_closed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_target_any_direction, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_target_null_applied, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plans, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plan_details, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_linear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_branchy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
