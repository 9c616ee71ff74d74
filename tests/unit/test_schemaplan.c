/*
 * Unit tests of the schema planner (lib/schemaplan.c) and the per-object
 * rendering it uses (lib/schemadump.c) on catalogs built by hand: a new
 * table is created with its columns, a dropped table is a hazard refused
 * unless allow_destructive, an added column on an existing table is ADD
 * COLUMN, and alike catalogs give an empty plan. The data-driven pairs on
 * a real server are tests/db/plan_pairs.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "error.h"
#include "schemadump.h"
#include "schemaplan.h"

/* public.t with columns id (integer) and, when two, name (text). */
static void build(struct nmig_catalog *cat, int table, int two)
{
	struct nmig_cat_obj *o;

	memset(cat, 0, sizeof(*cat));
	o = nmig_catalog_add(cat, NMIG_CAT_SCHEMA, "n1", "public");
	assert_non_null(o);
	o->schema = o->name = o->qname = nmig_catalog_str(cat, "public");
	if (table) {
		o = nmig_catalog_add(cat, NMIG_CAT_RELATION, "r1", "public.t");
		o->schema = nmig_catalog_str(cat, "public");
		o->name = o->qname = nmig_catalog_str(cat, "t");
		o->u.rel.relkind = 'r';
		o->u.rel.persistence = 'p';
		o->u.rel.replident = 'd';
		o = nmig_catalog_add(cat, NMIG_CAT_COLUMN, "a1.1", "public.t.id");
		o->schema = nmig_catalog_str(cat, "public");
		o->name = o->qname = nmig_catalog_str(cat, "id");
		o->u.col.type = nmig_catalog_str(cat, "integer");
		o->u.col.position = o->u.col.attnum = 1;
		o->u.col.local = 1;
		assert_int_equal(nmig_catalog_set_parent(cat, o, "r1"), NMIG_OK);
	}
	if (table && two) {
		o = nmig_catalog_add(cat, NMIG_CAT_COLUMN, "a1.2",
				     "public.t.name");
		o->schema = nmig_catalog_str(cat, "public");
		o->name = o->qname = nmig_catalog_str(cat, "name");
		o->u.col.type = nmig_catalog_str(cat, "text");
		o->u.col.position = o->u.col.attnum = 2;
		o->u.col.local = 1;
		assert_int_equal(nmig_catalog_set_parent(cat, o, "r1"), NMIG_OK);
	}
	assert_int_equal(nmig_catalog_finish(cat), NMIG_OK);
}

static void test_create_table(void **state)
{
	struct nmig_catalog a, b;
	struct nmig_schemaplan p;

	(void)state;
	build(&a, 0, 0);
	build(&b, 1, 1);
	assert_int_equal(nmig_schemaplan_build(&p, &a, &b, NULL), NMIG_OK);
	assert_false(nmig_schemaplan_empty(&p));
	assert_non_null(strstr(p.step[NMIG_PLAN_MAIN].ptr,
			       "CREATE TABLE public.t (\n    id integer,\n"
			       "    name text\n)"));
	assert_int_equal(p.nrefused, 0);
	nmig_schemaplan_release(&p);
	nmig_catalog_release(&a);
	nmig_catalog_release(&b);
}

static void test_drop_refused(void **state)
{
	struct nmig_catalog a, b;
	struct nmig_schemaplan p;
	struct nmig_plan_opts o;

	(void)state;
	build(&a, 1, 0);
	build(&b, 0, 0);
	assert_int_equal(nmig_schemaplan_build(&p, &a, &b, NULL), NMIG_EINPUT);
	assert_non_null(strstr(p.refused.ptr, "table public.t: the table is "
					      "dropped with its rows"));
	assert_true(nmig_schemaplan_empty(&p));
	nmig_schemaplan_release(&p);
	memset(&o, 0, sizeof(o));
	o.allow_destructive = 1;
	assert_int_equal(nmig_schemaplan_build(&p, &a, &b, &o), NMIG_OK);
	assert_string_equal(p.step[NMIG_PLAN_MAIN].ptr, "DROP TABLE public.t;\n");
	assert_non_null(strstr(p.hazards.ptr, "destructive:"));
	nmig_schemaplan_release(&p);
	nmig_catalog_release(&a);
	nmig_catalog_release(&b);
}

static void test_add_column_and_alike(void **state)
{
	struct nmig_catalog a, b;
	struct nmig_schemaplan p;

	(void)state;
	build(&a, 1, 0);
	build(&b, 1, 1);
	assert_int_equal(nmig_schemaplan_build(&p, &a, &b, NULL), NMIG_OK);
	assert_string_equal(p.step[NMIG_PLAN_MAIN].ptr,
			    "ALTER TABLE public.t ADD COLUMN name text;\n");
	nmig_schemaplan_release(&p);
	assert_int_equal(nmig_schemaplan_build(&p, &b, &b, NULL), NMIG_OK);
	assert_true(nmig_schemaplan_empty(&p));
	nmig_schemaplan_release(&p);
	nmig_catalog_release(&a);
	nmig_catalog_release(&b);
}

static void test_dumper(void **state)
{
	struct nmig_catalog b;
	struct nmig_dumper *d;
	struct nmig_buf out = NMIG_BUF_INIT;
	const struct nmig_cat_obj *t, *c;
	size_t *order = NULL, extra[2];

	(void)state;
	build(&b, 1, 1);
	t = nmig_catalog_find(&b, NMIG_CAT_RELATION, "public.t");
	c = nmig_catalog_find(&b, NMIG_CAT_COLUMN, "public.t.name");
	assert_int_equal(nmig_dumper_new(&d, &b), NMIG_OK);
	assert_int_equal(nmig_dumper_create(d, (size_t)(t - b.objs), &out),
			 NMIG_OK);
	assert_non_null(strstr(out.ptr, "CREATE TABLE public.t ("));
	nmig_buf_clear(&out);
	nmig_dumper_column(d, (size_t)(c - b.objs), &out);
	assert_string_equal(out.ptr, "name text");
	nmig_buf_clear(&out);
	nmig_cat_comment_target(&out, &b, c);
	assert_string_equal(out.ptr, "COLUMN public.t.name");
	nmig_dumper_free(d);
	/* an extra edge: the table after its second column is impossible,
	 * the column after the schema is already so */
	extra[0] = (size_t)(c - b.objs);
	extra[1] = 0;
	assert_int_equal(nmig_catalog_order_extra(&b, extra, 1, &order),
			 NMIG_OK);
	free(order);
	nmig_buf_release(&out);
	nmig_catalog_release(&b);
}

static void test_seq_options(void **state)
{
	struct nmig_cat_obj s;
	struct nmig_buf out = NMIG_BUF_INIT;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.u.seq.start = "1";
	s.u.seq.increment = "2";
	s.u.seq.min = "1";
	s.u.seq.max = "9";
	s.u.seq.cache = "1";
	s.u.seq.cycle = 1;
	struct nmig_schemaplan p;

	nmig_schemaplan_init(&p);
	assert_true(nmig_schemaplan_empty(&p));
	nmig_schemaplan_release(&p);
	nmig_dumper_seq_options(&out, &s);
	assert_string_equal(out.ptr, "START WITH 1 INCREMENT BY 2 MINVALUE 1 "
				     "MAXVALUE 9 CACHE 1 CYCLE");
	nmig_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_table),
	    cmocka_unit_test(test_drop_refused),
	    cmocka_unit_test(test_add_column_and_alike),
	    cmocka_unit_test(test_dumper),
	    cmocka_unit_test(test_seq_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
