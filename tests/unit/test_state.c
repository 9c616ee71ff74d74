/*
 * Unit tests of the version table's pure parts (lib/state.c), with no
 * server: SQL literal and array quoting, identifier quoting of the table
 * name, the advisory lock key, the CREATE statements, and the comparison
 * of rows with a revision graph -- applied heads, pending count, drift,
 * dirty rows, unknown revisions, ancestor closure -- with the refusal
 * messages and hints built from it.
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
#include "diag.h"
#include "error.h"
#include "graph.h"
#include "graph_testlib.h"
#include "state.h"

static void test_literal(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", "''"},
	    {"abc", "'abc'"},
	    {"it's", "'it''s'"},
	    {"a\\b", "E'a\\\\b'"},
	    {"'\\'", "E'''\\\\'''"},
	    {"caf\xc3\xa9", "'caf\xc3\xa9'"},
	    {"$nmig$", "'$nmig$'"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nmig_buf b = NMIG_BUF_INIT;

		nmig_sql_literal(&b, cases[i].in);
		assert_string_equal(b.ptr, cases[i].out);
		nmig_buf_release(&b);
	}
}

static void test_text_array(void **state)
{
	char *v[] = {"a", "b'c"};
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	nmig_sql_text_array(&b, v, 0);
	assert_string_equal(b.ptr, "'{}'::text[]");
	nmig_buf_clear(&b);
	nmig_sql_text_array(&b, v, 2);
	assert_string_equal(b.ptr, "ARRAY['a','b''c']::text[]");
	nmig_buf_release(&b);
}

static void test_vtable(void **state)
{
	struct nmig_vtable t;
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	assert_int_equal(nmig_vtable_init(&t, NULL, NULL, NULL), NMIG_OK);
	assert_string_equal(t.ident, "\"public\".\"schema_version\"");
	assert_string_equal(t.display, "public.schema_version");
	nmig_state_create_sql(&t, &b);
	assert_null(strstr(b.ptr, "CREATE SCHEMA"));
	assert_non_null(strstr(b.ptr, "CREATE TABLE IF NOT EXISTS "
				      "\"public\".\"schema_version\""));
	assert_non_null(strstr(b.ptr, "revision text PRIMARY KEY"));
	assert_non_null(strstr(b.ptr, "parents text[] NOT NULL"));
	assert_non_null(strstr(b.ptr, "CHECK (state IN ('applied', 'dirty'))"));
	assert_non_null(strstr(b.ptr, "pg_catalog.clock_timestamp()"));
	assert_null(strstr(b.ptr, "varchar"));
	nmig_vtable_release(&t);
	nmig_buf_clear(&b);

	assert_int_equal(nmig_vtable_init(&t, NULL, "we\"ird", "My Table"),
			 NMIG_OK);
	assert_string_equal(t.ident, "\"we\"\"ird\".\"My Table\"");
	assert_string_equal(t.schema_ident, "\"we\"\"ird\"");
	nmig_state_create_sql(&t, &b);
	assert_non_null(strstr(b.ptr, "CREATE SCHEMA IF NOT EXISTS "
				      "\"we\"\"ird\";"));
	nmig_vtable_release(&t);
	nmig_buf_release(&b);
}

static void test_lock_key(void **state)
{
	(void)state;
	assert_true(nmig_state_lock_key("public", "schema_version") ==
		    nmig_state_lock_key("public", "schema_version"));
	assert_true(nmig_state_lock_key("public", "schema_version") !=
		    nmig_state_lock_key("ops", "schema_version"));
	assert_true(nmig_state_lock_key("a", "b.c") !=
		    nmig_state_lock_key("a", "bc"));
}

/* Test fixture: a graph and rows built in memory. */
struct ctx {
	struct nmig_revset set;
	struct nmig_graph *g;
	struct nmig_state s;
	struct nmig_state_report r;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return -1;
	/* A -> B -> D (merge of B, C); A -> C; D -> E */
	revset_parse(&c->set, "A:; B:A; C:A; D:B,C; E:D");
	for (i = 0; i < c->set.n; i++)
		memset(c->set.revs[i].up.checksum, '0' + (int)i, 64);
	if (nmig_graph_build(&c->g, &c->set, NULL))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nmig_state_report_release(&c->r);
	nmig_state_release(&c->s);
	nmig_graph_free(c->g);
	revset_free(&c->set);
	free(c);
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

static const char *id_of(struct ctx *c, size_t node)
{
	return nmig_graph_rev(c->g, node)->id;
}

static void test_analyze_clean(void **state)
{
	struct ctx *c = *state;

	add_row(c, "A", 0, 0);
	add_row(c, "B", 0, 0);
	add_row(c, "C", 0, 0);
	assert_int_equal(nmig_state_analyze(&c->r, &c->s, c->g), NMIG_OK);
	assert_int_equal(c->r.napplied, 3);
	assert_int_equal(c->r.npending, 2);
	assert_int_equal(c->r.ndrift + c->r.ndirty + c->r.nunknown, 0);
	assert_int_equal(c->r.not_closed, -1);
	assert_int_equal(c->r.nheads, 2);
	assert_string_equal(id_of(c, c->r.heads[0]), "B");
	assert_string_equal(id_of(c, c->r.heads[1]), "C");
	assert_int_equal(c->r.napplied_ids, 3);
	assert_int_equal(nmig_state_refuse(&c->r, &c->s, c->g, ~0u), NMIG_OK);
}

static void test_analyze_problems(void **state)
{
	struct ctx *c = *state;
	const struct nmig_error *e;

	add_row(c, "A", 0, 1); /* drift */
	add_row(c, "C", 1, 0); /* dirty */
	add_row(c, "Z", 0, 0); /* unknown */
	add_row(c, "D", 0, 0); /* parents B, C not applied */
	assert_int_equal(nmig_state_analyze(&c->r, &c->s, c->g), NMIG_OK);
	assert_int_equal(c->r.napplied, 2);
	/* B and E; C is dirty: neither applied nor pending */
	assert_int_equal(c->r.npending, 2);
	assert_int_equal(c->r.dirty_mark[nmig_graph_find(c->g, "C")], 1);
	assert_int_equal(c->r.dirty_mark[nmig_graph_find(c->g, "B")], 0);
	assert_int_equal(c->r.ndrift, 1);
	assert_string_equal(c->s.rows[c->r.drift[0]].revision, "A");
	assert_int_equal(c->r.ndirty, 1);
	assert_string_equal(c->s.rows[c->r.dirty[0]].revision, "C");
	assert_int_equal(c->r.nunknown, 1);
	assert_string_equal(c->s.rows[c->r.unknown[0]].revision, "Z");
	assert_string_equal(id_of(c, (size_t)c->r.not_closed), "D");
	assert_string_equal(id_of(c, (size_t)c->r.missing_parent), "B");
	/* unknown applied ids go to the plan too; dirty ones do not */
	assert_int_equal(c->r.napplied_ids, 3);

	/* refusals come in order: dirty, unknown, not closed, drift */
	assert_int_equal(nmig_state_refuse(&c->r, &c->s, c->g, ~0u),
			 NMIG_ESTATE);
	e = nmig_error_last();
	assert_non_null(strstr(e->message, "revision 'C' is dirty"));
	assert_non_null(strstr(e->detail, "boom"));
	assert_non_null(strstr(e->hint, "--mark-applied C"));
	assert_int_equal(
	    nmig_state_refuse(&c->r, &c->s, c->g,
			      NMIG_REFUSE_UNKNOWN | NMIG_REFUSE_DRIFT),
	    NMIG_ESTATE);
	assert_non_null(strstr(nmig_error_last()->message, "'Z'"));
	assert_non_null(strstr(nmig_error_last()->hint, "stamp --purge"));
	assert_int_equal(
	    nmig_state_refuse(&c->r, &c->s, c->g, NMIG_REFUSE_NOT_CLOSED),
	    NMIG_ESTATE);
	assert_non_null(strstr(nmig_error_last()->message,
			       "'D' is applied but its parent 'B'"));
	assert_int_equal(
	    nmig_state_refuse(&c->r, &c->s, c->g, NMIG_REFUSE_DRIFT),
	    NMIG_ESTATE);
	e = nmig_error_last();
	assert_non_null(strstr(e->message, "'A' was edited"));
	assert_non_null(strstr(e->detail, "m/A_r0.up.sql"));
	assert_non_null(strstr(e->hint, "repair --checksums"));
	assert_int_equal(nmig_state_refuse(&c->r, &c->s, c->g, 0), NMIG_OK);
}

static void test_analyze_empty(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_state_analyze(&c->r, &c->s, c->g), NMIG_OK);
	assert_int_equal(c->r.napplied, 0);
	assert_int_equal(c->r.npending, 5);
	assert_int_equal(c->r.nheads, 0);
	assert_int_equal(c->r.not_closed, -1);
}

static void test_insert_sql(void **state)
{
	struct ctx *c = *state;
	struct nmig_vtable t;
	struct nmig_buf b = NMIG_BUF_INIT;
	const struct nmig_revision *d =
	    nmig_graph_rev(c->g, (size_t)nmig_graph_find(c->g, "D"));

	assert_int_equal(nmig_vtable_init(&t, NULL, NULL, NULL), NMIG_OK);
	nmig_state_insert_sql(&b, &t, d, "dirty", "9.9");
	assert_non_null(strstr(b.ptr,
			       "INSERT INTO \"public\".\"schema_version\" "
			       "(revision, parents, message, checksum, "
			       "down_checksum, state, nmig_version) "
			       "VALUES ('D',ARRAY['B','C']::text[],"));
	assert_non_null(strstr(b.ptr, ",'dirty','9.9')"));
	nmig_buf_release(&b);
	nmig_vtable_release(&t);
}

/* The problems of a comparison as findings, one per row, in order. */
static void test_findings(void **state)
{
	struct ctx *c = *state;
	struct nmig_diags d = NMIG_DIAGS_INIT;

	add_row(c, "A", 0, 1); /* drift */
	add_row(c, "C", 1, 0); /* dirty */
	add_row(c, "Z", 0, 0); /* unknown */
	add_row(c, "D", 0, 0); /* parents B, C not applied */
	assert_int_equal(nmig_state_analyze(&c->r, &c->s, c->g), NMIG_OK);
	assert_int_equal(nmig_state_findings(&d, &c->r, &c->s, c->g), 4);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.errors, 4);
	assert_string_equal(d.items[0].rule, "db-drift");
	assert_non_null(strstr(d.items[0].message,
			       "applied revision 'A' was edited after it was "
			       "applied"));
	assert_non_null(strstr(d.items[0].file, "A_r0.up.sql"));
	assert_non_null(strstr(d.items[0].hint, "repair --checksums"));
	assert_string_equal(d.items[1].rule, "db-dirty");
	assert_non_null(strstr(d.items[1].message, "revision 'C' is dirty"));
	assert_non_null(strstr(d.items[1].hint, "--mark-applied C"));
	assert_string_equal(d.items[2].rule, "db-unknown");
	assert_string_equal(d.items[2].message,
			    "the database has revision 'Z' applied, which has "
			    "no migration file");
	assert_null(d.items[2].file);
	assert_non_null(strstr(d.items[2].hint, "stamp --purge"));
	assert_string_equal(d.items[3].rule, "db-not-closed");
	assert_string_equal(d.items[3].message,
			    "revision 'D' is applied but its parent 'B' is not");
	assert_int_equal(d.items[3].code, NMIG_ESTATE);
	nmig_diags_release(&d);
}

/* A clean comparison has no findings. */
static void test_findings_clean(void **state)
{
	struct ctx *c = *state;
	struct nmig_diags d = NMIG_DIAGS_INIT;

	add_row(c, "A", 0, 0);
	assert_int_equal(nmig_state_analyze(&c->r, &c->s, c->g), NMIG_OK);
	assert_int_equal(nmig_state_findings(&d, &c->r, &c->s, c->g), 0);
	assert_int_equal(d.n, 0);
	nmig_diags_release(&d);
}

static void test_values_sql(void **state)
{
	struct ctx *c = *state;
	struct nmig_buf b = NMIG_BUF_INIT, ins = NMIG_BUF_INIT;
	struct nmig_vtable t;
	const struct nmig_revision *d =
	    nmig_graph_rev(c->g, (size_t)nmig_graph_find(c->g, "D"));
	const char *values;

	/* The tuple alone is what the INSERT appends after VALUES. */
	nmig_state_values_sql(&b, d, "applied", "1.2");
	assert_true(b.ptr[0] == '(');
	assert_non_null(strstr(b.ptr, "'D',ARRAY['B','C']::text[],"));
	assert_non_null(strstr(b.ptr, ",'applied','1.2')"));
	assert_int_equal(nmig_vtable_init(&t, NULL, NULL, NULL), NMIG_OK);
	nmig_state_insert_sql(&ins, &t, d, "applied", "1.2");
	values = strstr(ins.ptr, "VALUES ");
	assert_non_null(values);
	assert_string_equal(values + strlen("VALUES "), b.ptr);
	nmig_buf_release(&ins);
	nmig_buf_release(&b);
	nmig_vtable_release(&t);
}

static void test_alive_sql(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	char grace[64];

	(void)state;
	nmig_state_alive_sql(&b, "v");
	assert_true(b.ptr[0] == '(');
	assert_true(b.ptr[b.len - 1] == ')');
	/* Both the live-query test and the grace period read the alias. */
	assert_non_null(strstr(b.ptr, "pg_catalog.to_jsonb(v) OPERATOR("
				      "pg_catalog.->>) 'owner', ' '"));
	assert_non_null(strstr(b.ptr, "pg_catalog.to_jsonb(v) OPERATOR("
				      "pg_catalog.->>) 'owner_seen'"));
	snprintf(grace, sizeof(grace), "'%d ms'::pg_catalog.interval",
		 NMIG_OWNER_GRACE_MS);
	assert_non_null(strstr(b.ptr, grace));
	assert_non_null(strstr(b.ptr, "pg_catalog.pg_stat_activity"));
	nmig_buf_release(&b);
}

static void test_ensure_sql(void **state)
{
	struct nmig_vtable t;
	struct nmig_buf b = NMIG_BUF_INIT, ddl = NMIG_BUF_INIT;

	(void)state;
	assert_int_equal(nmig_vtable_init(&t, NULL, "app", "versions"),
			 NMIG_OK);
	nmig_state_ensure_sql(&t, &b);
	nmig_state_create_sql(&t, &ddl);
	assert_int_equal(strncmp(b.ptr, "DO $nmig$", 9), 0);
	assert_string_equal(b.ptr + b.len - strlen("$nmig$;\n"),
			    "$nmig$;\n");
	/* The CREATE statements run only when the table is missing. */
	assert_non_null(strstr(b.ptr, "IF pg_catalog.to_regclass("
				      "'\"app\".\"versions\"') IS NULL"));
	assert_non_null(strstr(b.ptr, ddl.ptr));
	assert_non_null(strstr(b.ptr, "ADD COLUMN IF NOT EXISTS owner_seen"));
	/* No lock and no typo guard in the plain form. */
	assert_null(strstr(b.ptr, "pg_advisory_xact_lock"));
	assert_null(strstr(b.ptr, "holds this history"));
	nmig_buf_release(&ddl);
	nmig_buf_release(&b);
	nmig_vtable_release(&t);
}

static void test_dollar_tag(void **state)
{
	static const struct {
		const char *body, *tag;
	} cases[] = {
	    {"SELECT 1", "$nmig$"},
	    {"", "$nmig$"},
	    {"SELECT '$nmig$'", "$nmig1$"},
	    {"$nmig$ $nmig1$ $nmig2$", "$nmig3$"},
	    {"$nmig1$", "$nmig$"},
	};
	char tag[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nmig_sql_dollar_tag(cases[i].body, tag, sizeof(tag));
		assert_string_equal(tag, cases[i].tag);
		assert_null(strstr(cases[i].body, tag));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_literal),
	    cmocka_unit_test(test_text_array),
	    cmocka_unit_test(test_vtable),
	    cmocka_unit_test(test_lock_key),
	    cmocka_unit_test_setup_teardown(test_analyze_clean, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_analyze_problems, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_analyze_empty, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_insert_sql, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_values_sql, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_findings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_findings_clean, setup,
					    teardown),
	    cmocka_unit_test(test_alive_sql),
	    cmocka_unit_test(test_ensure_sql),
	    cmocka_unit_test(test_dollar_tag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
