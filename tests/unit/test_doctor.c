/*
 * Unit tests of doctor's pure parts (lib/doctor.c), with no server: the
 * health names, threshold validation, latency classification at and
 * around each boundary (and with thresholds of 0), the median, the
 * migration state reduced to id lists from rows and a graph, and the
 * judgement: which finding each fact raises, at which severity, with
 * which message, and the overall status that decides the exit code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "doctor.h"
#include "error.h"
#include "graph.h"
#include "graph_testlib.h"
#include "state.h"

static void assert_contains(const char *haystack, const char *needle)
{
	if (!haystack || !strstr(haystack, needle))
		fail_msg("expected '%s' in '%s'", needle,
			 haystack ? haystack : "(null)");
}

static void test_health_names(void **state)
{
	(void)state;
	assert_string_equal(nmig_health_name(NMIG_HEALTHY), "healthy");
	assert_string_equal(nmig_health_name(NMIG_DEGRADED), "degraded");
	assert_string_equal(nmig_health_name(NMIG_UNHEALTHY), "unhealthy");
	assert_true(NMIG_HEALTHY < NMIG_DEGRADED);
	assert_true(NMIG_DEGRADED < NMIG_UNHEALTHY);
}

static void test_thresholds_check(void **state)
{
	struct nmig_doctor_thresholds t = {100, 500};

	(void)state;
	assert_int_equal(nmig_doctor_thresholds_check(&t), NMIG_OK);
	t.healthy_ms = t.degraded_ms = 0;
	assert_int_equal(nmig_doctor_thresholds_check(&t), NMIG_OK);
	t.healthy_ms = t.degraded_ms = 250;
	assert_int_equal(nmig_doctor_thresholds_check(&t), NMIG_OK);

	t.healthy_ms = 600;
	t.degraded_ms = 500;
	assert_int_equal(nmig_doctor_thresholds_check(&t), NMIG_EUSAGE);
	assert_contains(nmig_error_last()->message, "healthy 600 ms");
	assert_contains(nmig_error_last()->message, "degraded 500 ms");
	assert_contains(nmig_error_last()->hint, "100 and 500 ms");
	t.healthy_ms = -1;
	assert_int_equal(nmig_doctor_thresholds_check(&t), NMIG_EUSAGE);
	t.healthy_ms = 0;
	t.degraded_ms = -5;
	assert_int_equal(nmig_doctor_thresholds_check(&t), NMIG_EUSAGE);
	nmig_error_clear();
}

static void test_classify(void **state)
{
	const struct nmig_doctor_thresholds def = {NMIG_DOCTOR_HEALTHY_MS,
						   NMIG_DOCTOR_DEGRADED_MS};
	const struct nmig_doctor_thresholds zero = {0, 0};
	const struct nmig_doctor_thresholds wide = {0, 60000};
	static const struct {
		double ms;
		enum nmig_health h;
	} cases[] = {
	    {0.0, NMIG_HEALTHY},     {0.3, NMIG_HEALTHY},
	    {99.99, NMIG_HEALTHY},   {100.0, NMIG_DEGRADED},
	    {250.0, NMIG_DEGRADED},  {499.99, NMIG_DEGRADED},
	    {500.0, NMIG_UNHEALTHY}, {12000.0, NMIG_UNHEALTHY},
	};
	size_t i;

	(void)state;
	assert_int_equal(NMIG_DOCTOR_HEALTHY_MS, 100);
	assert_int_equal(NMIG_DOCTOR_DEGRADED_MS, 500);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (nmig_doctor_classify(&def, cases[i].ms) != cases[i].h)
			fail_msg("%.2f ms: expected %s, got %s", cases[i].ms,
				 nmig_health_name(cases[i].h),
				 nmig_health_name(
				     nmig_doctor_classify(&def, cases[i].ms)));
	/* thresholds of 0: every latency is unhealthy, even 0 ms */
	assert_int_equal(nmig_doctor_classify(&zero, 0.0), NMIG_UNHEALTHY);
	assert_int_equal(nmig_doctor_classify(&zero, 0.05), NMIG_UNHEALTHY);
	/* healthy 0, degraded a minute: everything measurable is degraded */
	assert_int_equal(nmig_doctor_classify(&wide, 0.05), NMIG_DEGRADED);
	assert_int_equal(nmig_doctor_classify(&wide, 59999.0), NMIG_DEGRADED);
	assert_int_equal(nmig_doctor_classify(&wide, 60000.0), NMIG_UNHEALTHY);
}

static void test_median(void **state)
{
	double odd[] = {9.0, 1.0, 5.0, 3.0, 7.0};
	double even[] = {4.0, 1.0, 3.0, 2.0};
	double one[] = {42.5};
	double spike[] = {0.2, 0.3, 950.0, 0.25, 0.21};

	(void)state;
	assert_true(nmig_doctor_median(odd, 5) == 5.0);
	/* the input is left as it was */
	assert_true(odd[0] == 9.0 && odd[4] == 7.0);
	assert_true(nmig_doctor_median(even, 4) == 2.5);
	assert_true(nmig_doctor_median(one, 1) == 42.5);
	assert_true(nmig_doctor_median(NULL, 0) == 0.0);
	/* one slow sample does not move the median */
	assert_true(nmig_doctor_median(spike, 5) == 0.25);
}

/* A graph A -> B -> D (merge of B, C), A -> C, D -> E, and rows. */
struct ctx {
	struct nmig_revset set;
	struct nmig_graph *g;
	struct nmig_state s;
	struct nmig_state_report r;
	struct nmig_doctor_report rep;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return -1;
	revset_parse(&c->set, "A:; B:A; C:A; D:B,C; E:D");
	for (i = 0; i < c->set.n; i++)
		memset(c->set.revs[i].up.checksum, '0' + (int)i, 64);
	if (nmig_graph_build(&c->g, &c->set, NULL))
		return -1;
	nmig_doctor_report_init(&c->rep);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nmig_doctor_report_release(&c->rep);
	nmig_state_report_release(&c->r);
	nmig_state_release(&c->s);
	nmig_graph_free(c->g);
	revset_free(&c->set);
	free(c);
	nmig_error_clear();
	return 0;
}

/* Append a row for id with a checksum matching its file unless bad. */
static void add_row(struct ctx *c, const char *id, int dirty, int bad_sum)
{
	struct nmig_row *r;
	long k = nmig_graph_find(c->g, id);

	c->s.rows = realloc(c->s.rows, (c->s.n + 1) * sizeof(*c->s.rows));
	assert_non_null(c->s.rows);
	r = &c->s.rows[c->s.n++];
	memset(r, 0, sizeof(*r));
	r->revision = strdup(id);
	r->message = strdup("msg");
	r->checksum = strdup(k >= 0 && !bad_sum
				 ? nmig_graph_rev(c->g, (size_t)k)->up.checksum
				 : "ffff");
	r->applied_at = strdup("2026-01-01T00:00:00Z");
	r->applied_by = strdup("tester");
	r->nmig_version = strdup("0.1.0");
	r->dirty = dirty;
	r->error = dirty ? strdup("boom") : NULL;
	r->execution_ms = -1;
	c->s.exists = 1;
}

/* Analyze the rows and fill the report's state from them. */
static void fill(struct ctx *c)
{
	assert_int_equal(nmig_state_analyze(&c->r, &c->s, c->g), NMIG_OK);
	assert_int_equal(
	    nmig_doctor_state_fill(&c->rep.state, &c->s, &c->r, c->g), NMIG_OK);
}

/* A healthy local connection to a primary with room to spare. */
static void healthy_facts(struct ctx *c)
{
	struct nmig_doctor_report *r = &c->rep;
	size_t i;

	r->local = 1;
	r->sslmode = "prefer";
	r->latency.n = NMIG_DOCTOR_SAMPLES;
	for (i = 0; i < r->latency.n; i++)
		r->latency.samples_ms[i] = 0.2;
	r->latency.median_ms = 0.2;
	r->have_server = 1;
	r->server.version_num = 150008;
	r->server.connections = 7;
	r->server.max_connections = 100;
}

/* The finding of rule, or NULL. */
static const struct nmig_diag *find_rule(const struct nmig_doctor_report *r,
					 const char *rule)
{
	size_t i;

	for (i = 0; i < r->findings.n; i++)
		if (strcmp(r->findings.items[i].rule, rule) == 0)
			return &r->findings.items[i];
	return NULL;
}

/* Judge, expect status and exactly the given number of findings. */
static void judge(struct ctx *c, enum nmig_health status, size_t nfindings)
{
	assert_int_equal(nmig_doctor_judge(&c->rep), NMIG_OK);
	if (c->rep.status != status || c->rep.findings.n != nfindings)
		fail_msg("expected %s with %zu findings, got %s with %zu "
			 "(first: %s)",
			 nmig_health_name(status), nfindings,
			 nmig_health_name(c->rep.status), c->rep.findings.n,
			 c->rep.findings.n ? c->rep.findings.items[0].message
					   : "none");
}

static void test_state_fill(void **state)
{
	struct ctx *c = *state;
	struct nmig_doctor_state *s = &c->rep.state;

	add_row(c, "A", 0, 1); /* drift */
	add_row(c, "C", 1, 0); /* dirty */
	add_row(c, "Z", 0, 0); /* unknown */
	add_row(c, "D", 0, 0); /* parents B, C not applied */
	fill(c);
	assert_true(s->checked);
	assert_null(s->unchecked);
	assert_true(s->table_exists);
	assert_int_equal(s->nrevisions, 5);
	assert_int_equal(s->napplied, 2);
	/* C is dirty: listed as dirty, not also as pending */
	assert_int_equal(s->npending, 2);
	assert_string_equal(s->pending[0], "B");
	assert_string_equal(s->pending[1], "E");
	assert_int_equal(s->ndrift, 1);
	assert_string_equal(s->drift[0], "A");
	assert_int_equal(s->ndirty, 1);
	assert_string_equal(s->dirty[0], "C");
	assert_int_equal(s->nunknown, 1);
	assert_string_equal(s->unknown[0], "Z");
	assert_string_equal(s->not_closed, "D");
	assert_string_equal(s->missing_parent, "B");
	assert_int_equal(s->ncurrent, c->r.nheads);
}

static void test_state_fill_empty(void **state)
{
	struct ctx *c = *state;
	struct nmig_doctor_state *s = &c->rep.state;

	/* no table: everything pending, nothing applied */
	fill(c);
	assert_true(s->checked);
	assert_false(s->table_exists);
	assert_int_equal(s->napplied, 0);
	assert_int_equal(s->ncurrent, 0);
	assert_int_equal(s->npending, 5);
	assert_string_equal(s->pending[0], "A");
	assert_string_equal(s->pending[4], "E");
	assert_int_equal(s->ndrift + s->ndirty + s->nunknown, 0);
	assert_null(s->not_closed);
	/* refilling replaces the lists */
	nmig_state_report_release(&c->r);
	add_row(c, "A", 0, 0);
	add_row(c, "B", 0, 0);
	fill(c);
	assert_int_equal(s->npending, 3);
	assert_int_equal(s->ncurrent, 1);
	assert_string_equal(s->current[0], "B");
}

static void test_judge_healthy(void **state)
{
	struct ctx *c = *state;

	healthy_facts(c);
	add_row(c, "A", 0, 0);
	fill(c);
	/* pending revisions are reported, never a problem */
	assert_int_equal(c->rep.state.npending, 4);
	judge(c, NMIG_HEALTHY, 0);
	assert_int_equal(c->rep.latency_health, NMIG_HEALTHY);
	/* no TLS on a local connection is no finding */
	assert_false(c->rep.tls.in_use);
	assert_null(find_rule(&c->rep, "no-tls"));
}

static void test_judge_latency(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	healthy_facts(c);
	fill(c);
	c->rep.latency.median_ms = 150.0;
	judge(c, NMIG_DEGRADED, 1);
	d = find_rule(&c->rep, "latency");
	assert_non_null(d);
	assert_int_equal(d->severity, NMIG_SEV_WARNING);
	assert_contains(d->message, "median latency 150.0 ms is degraded");
	assert_contains(d->message, "healthy below 100 ms");
	assert_non_null(d->hint);

	c->rep.latency.median_ms = 800.0;
	judge(c, NMIG_UNHEALTHY, 1);
	d = find_rule(&c->rep, "latency");
	assert_int_equal(d->severity, NMIG_SEV_ERROR);
	assert_contains(d->message, "is unhealthy");

	/* thresholds of 0 force the unhealthy class on a fast server */
	c->rep.latency.median_ms = 0.2;
	c->rep.thresholds.healthy_ms = 0;
	c->rep.thresholds.degraded_ms = 0;
	judge(c, NMIG_UNHEALTHY, 1);
	assert_contains(find_rule(&c->rep, "latency")->message,
			"healthy below 0 ms, degraded below 0 ms");
	/* healthy 0, degraded high: degraded, and only that */
	c->rep.thresholds.degraded_ms = 60000;
	judge(c, NMIG_DEGRADED, 1);
	assert_int_equal(c->rep.latency_health, NMIG_DEGRADED);

	/* no samples (never measured): not judged */
	c->rep.latency.n = 0;
	judge(c, NMIG_HEALTHY, 0);
}

static void test_judge_tls(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	healthy_facts(c);
	fill(c);
	c->rep.local = 0;
	c->rep.sslmode = "disable";
	judge(c, NMIG_UNHEALTHY, 1);
	d = find_rule(&c->rep, "no-tls");
	assert_non_null(d);
	assert_int_equal(d->severity, NMIG_SEV_ERROR);
	assert_contains(d->hint, "sslmode=require");

	c->rep.tls.in_use = 1;
	c->rep.sslmode = "require";
	judge(c, NMIG_HEALTHY, 1);
	d = find_rule(&c->rep, "tls-unverified");
	assert_non_null(d);
	assert_int_equal(d->severity, NMIG_SEV_WARNING);
	assert_contains(d->message, "sslmode=require");
	assert_contains(d->hint, "verify-full");

	c->rep.sslmode = "verify-full";
	judge(c, NMIG_HEALTHY, 0);
	/* TLS on a local connection: nothing to say either way */
	c->rep.local = 1;
	c->rep.sslmode = "require";
	judge(c, NMIG_HEALTHY, 0);
}

static void test_judge_neon_pooler(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	healthy_facts(c);
	fill(c);
	c->rep.neon = 1;
	judge(c, NMIG_HEALTHY, 0);
	c->rep.pooler = 1;
	judge(c, NMIG_HEALTHY, 1);
	d = find_rule(&c->rep, "pooler");
	assert_non_null(d);
	assert_int_equal(d->severity, NMIG_SEV_WARNING);
	assert_contains(d->message, "PgBouncer");
	assert_contains(d->hint, "-pooler");
}

static void test_judge_server(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	healthy_facts(c);
	fill(c);
	c->rep.server.connections = 79;
	judge(c, NMIG_HEALTHY, 0);
	c->rep.server.connections = 80;
	judge(c, NMIG_HEALTHY, 1);
	d = find_rule(&c->rep, "connections");
	assert_int_equal(d->severity, NMIG_SEV_WARNING);
	assert_contains(d->message, "80 of 100 connections are in use (80%)");
	c->rep.server.connections = 95;
	judge(c, NMIG_UNHEALTHY, 1);
	assert_int_equal(find_rule(&c->rep, "connections")->severity,
			 NMIG_SEV_ERROR);
	c->rep.server.connections = 3;

	c->rep.server.in_recovery = 1;
	judge(c, NMIG_UNHEALTHY, 1);
	d = find_rule(&c->rep, "standby");
	assert_int_equal(d->severity, NMIG_SEV_ERROR);
	assert_contains(d->message, "read-only");
	c->rep.server.in_recovery = 0;

	c->rep.server.version_num = 120011;
	c->rep.server.version = strdup("12.11");
	judge(c, NMIG_HEALTHY, 1);
	d = find_rule(&c->rep, "server-version");
	assert_int_equal(d->severity, NMIG_SEV_WARNING);
	assert_contains(d->message, "PostgreSQL 12.11 is older than 13");

	/* not read: no server findings at all */
	c->rep.have_server = 0;
	c->rep.server.in_recovery = 1;
	judge(c, NMIG_HEALTHY, 0);
}

static void test_judge_state_problems(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	healthy_facts(c);
	add_row(c, "A", 0, 1); /* drift */
	add_row(c, "C", 1, 0); /* dirty */
	add_row(c, "Z", 0, 0); /* unknown */
	add_row(c, "D", 0, 0); /* not closed */
	fill(c);
	judge(c, NMIG_UNHEALTHY, 4);
	d = find_rule(&c->rep, "db-drift");
	assert_int_equal(d->severity, NMIG_SEV_ERROR);
	assert_contains(d->message, "1 applied revision was edited after it "
				    "was applied: 'A'");
	assert_contains(d->hint, "repair --checksums");
	d = find_rule(&c->rep, "db-dirty");
	assert_contains(d->message, "1 dirty revision");
	assert_contains(d->message, "'C'");
	assert_contains(d->hint, "--mark-applied");
	d = find_rule(&c->rep, "db-unknown");
	assert_contains(d->message, "without a migration file: 'Z'");
	assert_contains(d->hint, "stamp --purge");
	d = find_rule(&c->rep, "db-not-closed");
	assert_contains(d->message,
			"revision 'D' is applied but its parent 'B' is not");
	/* judging again replaces the findings instead of adding */
	judge(c, NMIG_UNHEALTHY, 4);
}

static void test_judge_long_id_lists(void **state)
{
	struct ctx *c = *state;
	static const char *const ids[] = {"u1", "u2", "u3", "u4",
					  "u5", "u6", "u7"};
	size_t i;

	healthy_facts(c);
	for (i = 0; i < 7; i++)
		add_row(c, ids[i], 0, 0);
	fill(c);
	judge(c, NMIG_UNHEALTHY, 1);
	assert_contains(find_rule(&c->rep, "db-unknown")->message,
			"7 applied revisions without a migration file: 'u1', "
			"'u2', 'u3', 'u4', 'u5' and 2 more");
}

static void test_judge_unchecked(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	healthy_facts(c);
	/* no migrations directory: a gap, not a problem */
	assert_int_equal(nmig_doctor_state_unchecked(
			     &c->rep.state, 0, "no migrations directory '%s'",
			     "db/migrations"),
			 NMIG_OK);
	assert_false(c->rep.state.checked);
	judge(c, NMIG_HEALTHY, 1);
	d = find_rule(&c->rep, "migrations");
	assert_int_equal(d->severity, NMIG_SEV_WARNING);
	assert_contains(d->message, "migration state not checked: no "
				    "migrations directory 'db/migrations'");
	/* broken files or an unreadable table: a problem */
	assert_int_equal(nmig_doctor_state_unchecked(
			     &c->rep.state, 1, "cannot read %s: %s",
			     "public.schema_version", "permission denied"),
			 NMIG_OK);
	judge(c, NMIG_UNHEALTHY, 1);
	d = find_rule(&c->rep, "migrations");
	assert_int_equal(d->severity, NMIG_SEV_ERROR);
	assert_contains(d->message, "permission denied");
	assert_contains(d->hint, "nmig check");
	/* Released on its own, the state is left empty and reusable. */
	nmig_doctor_state_release(&c->rep.state);
	assert_null(c->rep.state.unchecked);
	assert_false(c->rep.state.unchecked_error);
	assert_null(c->rep.state.pending);
	assert_int_equal(c->rep.state.npending, 0);
	nmig_doctor_state_release(&c->rep.state);
}

static void test_judge_worst_wins(void **state)
{
	struct ctx *c = *state;

	healthy_facts(c);
	add_row(c, "A", 0, 1);
	fill(c);
	/* degraded latency and drift: unhealthy, both reported */
	c->rep.latency.median_ms = 120.0;
	c->rep.pooler = 1;
	judge(c, NMIG_UNHEALTHY, 3);
	assert_int_equal(c->rep.latency_health, NMIG_DEGRADED);
	assert_int_equal(c->rep.findings.errors, 1);
	assert_int_equal(c->rep.findings.warnings, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_health_names),
	    cmocka_unit_test(test_thresholds_check),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_median),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_state_fill),
	    T(test_state_fill_empty),
	    T(test_judge_healthy),
	    T(test_judge_latency),
	    T(test_judge_tls),
	    T(test_judge_neon_pooler),
	    T(test_judge_server),
	    T(test_judge_state_problems),
	    T(test_judge_long_id_lists),
	    T(test_judge_unchecked),
	    T(test_judge_worst_wins),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
