/*
 * Unit tests of the DDL renderer (lib/schemadump.c) on catalogs built by
 * hand, one fixture per case: a table with its columns in position order
 * (defaults, collation, generated, identity with its sequence, NOT NULL,
 * inherited columns left out), OWNED BY and comments at the end with
 * literals quoted, dependency order over canonical order, objects made by
 * others left out (constraint indexes, partition copies, internal
 * functions, identity sequences, public and plpgsql), and the refusals
 * named (base types, foreign tables). A dump applied to a real server is
 * exercised by tests/db/schema_dump.sh.
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

struct fx {
	struct nmig_catalog cat;
	struct nmig_buf out;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	nmig_buf_init(&f->out);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	nmig_catalog_release(&f->cat);
	nmig_buf_release(&f->out);
	free(f);
	return 0;
}

#define S(x) nmig_catalog_str(&f->cat, (x))

static struct nmig_cat_obj *add(struct fx *f, enum nmig_cat_kind kind,
				const char *ident, const char *key,
				const char *parent, const char *qname)
{
	struct nmig_cat_obj *o = nmig_catalog_add(&f->cat, kind, ident, key);

	assert_non_null(o);
	assert_int_equal(nmig_catalog_set_parent(&f->cat, o, parent), NMIG_OK);
	o->qname = S(qname);
	return o;
}

static struct nmig_cat_obj *column(struct fx *f, const char *ident,
				   const char *key, const char *rel,
				   const char *qname, int pos, const char *type)
{
	struct nmig_cat_obj *o =
	    add(f, NMIG_CAT_COLUMN, ident, key, rel, qname);

	o->u.col.position = pos;
	o->u.col.type = S(type);
	o->u.col.local = 1;
	return o;
}

/* Position of needle in the dump (fails when absent). */
static size_t at(struct fx *f, const char *needle)
{
	const char *p = strstr(f->out.ptr, needle);

	if (!p)
		fail_msg("dump lacks '%s':\n%s", needle, f->out.ptr);
	return (size_t)(p - f->out.ptr);
}

static void test_table(void **state)
{
	struct fx *f = *state;
	struct nmig_cat_obj *t, *c, *s;

	add(f, NMIG_CAT_SCHEMA, "n1", "public", NULL, "public");
	t = add(f, NMIG_CAT_RELATION, "r1", "public.\"Users\"", NULL,
		"\"Users\"");
	t->u.rel.relkind = 'r';
	t->u.rel.persistence = 'u';
	t->comment = S("it's them");
	/* added out of position order on purpose */
	c = column(f, "a1.3", "public.\"Users\".g", "r1", "g", 3, "integer");
	c->u.col.generated = 's';
	c->u.col.default_expr = S("(id * 2)");
	c = column(f, "a1.1", "public.\"Users\".id", "r1", "id", 1, "bigint");
	c->u.col.identity = 'a';
	c->u.col.notnull = 1;
	c = column(f, "a1.2", "public.\"Users\".name", "r1", "name", 2, "text");
	c->u.col.collation = S("\"C\"");
	c->u.col.default_expr = S("''::text");
	c = column(f, "a1.4", "public.\"Users\".old", "r1", "old", 4, "text");
	c->u.col.local = 0; /* inherited only: its parent declares it */
	s = add(f, NMIG_CAT_SEQUENCE, "r2", "public.\"Users_id_seq\"", NULL,
		"\"Users_id_seq\"");
	s->u.seq.type = S("bigint");
	s->u.seq.start = S("1");
	s->u.seq.increment = S("1");
	s->u.seq.min = S("1");
	s->u.seq.max = S("9223372036854775807");
	s->u.seq.cache = S("1");
	s->u.seq.owned_by = S("public.\"Users\".id");
	s->u.seq.owned_dep = 'i';
	s = add(f, NMIG_CAT_SEQUENCE, "r3", "public.counter", NULL, "counter");
	s->u.seq.type = S("integer");
	s->u.seq.start = S("5");
	s->u.seq.increment = S("2");
	s->u.seq.min = S("1");
	s->u.seq.max = S("100");
	s->u.seq.cache = S("1");
	s->u.seq.cycle = 1;
	s->u.seq.owned_by = S("public.\"Users\".name");
	s->u.seq.owned_dep = 'a';
	assert_int_equal(nmig_catalog_finish(&f->cat), NMIG_OK);
	assert_int_equal(nmig_schema_dump(&f->out, &f->cat), NMIG_OK);
	assert_null(strstr(f->out.ptr, "CREATE SCHEMA public"));
	at(f, "CREATE UNLOGGED TABLE public.\"Users\" (\n"
	      "    id bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "
	      "public.\"Users_id_seq\" START WITH 1 INCREMENT BY 1 MINVALUE 1 "
	      "MAXVALUE 9223372036854775807 CACHE 1) NOT NULL,\n"
	      "    name text COLLATE \"C\" DEFAULT ''::text,\n"
	      "    g integer GENERATED ALWAYS AS ((id * 2)) STORED\n"
	      ");\n");
	/* the identity sequence is made by its column */
	assert_null(
	    strstr(f->out.ptr, "CREATE SEQUENCE public.\"Users_id_seq\""));
	at(f, "CREATE SEQUENCE public.counter AS integer START WITH 5 "
	      "INCREMENT BY 2 MINVALUE 1 MAXVALUE 100 CACHE 1 CYCLE;\n");
	assert_true(at(f, "ALTER SEQUENCE public.counter OWNED BY "
			  "public.\"Users\".name;") >
		    at(f, "CREATE UNLOGGED TABLE"));
	at(f, "COMMENT ON TABLE public.\"Users\" IS 'it''s them';\n");
}

/*
 * The order: what an object needs comes first whatever the names; made
 * objects are left to whoever makes them.
 */
static void test_order_and_made_objects(void **state)
{
	struct fx *f = *state;
	struct nmig_cat_obj *o;

	o = add(f, NMIG_CAT_RELATION, "r1", "public.a_view", NULL, "a_view");
	o->u.rel.relkind = 'v';
	o->u.rel.viewdef = S(" SELECT z_table.id\n   FROM public.z_table;");
	o = add(f, NMIG_CAT_RELATION, "r2", "public.z_table", NULL, "z_table");
	o->u.rel.relkind = 'r';
	column(f, "a2.1", "public.z_table.id", "r2", "id", 1, "integer");
	o = add(f, NMIG_CAT_CONSTRAINT, "c3", "public.z_table.z_table_pkey",
		"r2", "z_table_pkey");
	o->u.con.def = S("PRIMARY KEY (id)");
	o->u.con.contype = 'p';
	o->u.con.local = 1;
	o = add(f, NMIG_CAT_INDEX, "r4", "public.z_table_pkey", "r2",
		"z_table_pkey");
	o->u.idx.def = S("CREATE UNIQUE INDEX z_table_pkey ON public.z_table "
			 "USING btree (id)");
	o->u.idx.of_constraint = 1;
	o->u.idx.valid = 1;
	o = add(f, NMIG_CAT_FUNCTION, "p5", "public.r(double precision)", "t9",
		"r");
	o->u.func.prokind = 'f';
	o->u.func.internal = 1;
	o->u.func.def = S("CREATE OR REPLACE FUNCTION public.r(...)");
	o = add(f, NMIG_CAT_EXTENSION, "x6", "plpgsql", NULL, "plpgsql");
	o->u.ext.version = S("1.0");
	o = add(f, NMIG_CAT_EXTENSION, "x7", "pgcrypto", NULL, "pgcrypto");
	o->u.ext.version = S("1.3");
	o->u.ext.schema = S("public");
	o = add(f, NMIG_CAT_TYPE, "t8", "public.mood", NULL, "mood");
	o->u.type.typtype = 'e';
	o->u.type.labels = S("'sad', 'ok'");
	assert_int_equal(nmig_catalog_add_dep(&f->cat, "r1", "r2"), NMIG_OK);
	assert_int_equal(nmig_catalog_finish(&f->cat), NMIG_OK);
	assert_int_equal(nmig_schema_dump(&f->out, &f->cat), NMIG_OK);
	assert_true(at(f, "CREATE TABLE public.z_table (") <
		    at(f, "CREATE VIEW public.a_view AS\n SELECT z_table.id\n"
			  "   FROM public.z_table;\n"));
	at(f, "ALTER TABLE public.z_table ADD CONSTRAINT z_table_pkey "
	      "PRIMARY KEY (id);\n");
	at(f, "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public "
	      "VERSION '1.3';\n");
	at(f, "CREATE TYPE public.mood AS ENUM ('sad', 'ok');\n");
	assert_null(strstr(f->out.ptr, "CREATE UNIQUE INDEX"));
	assert_null(strstr(f->out.ptr, "plpgsql"));
	assert_null(strstr(f->out.ptr, "FUNCTION public.r("));
}

/* What cannot be rendered is refused by name, never written wrong. */
static void test_refusals(void **state)
{
	struct fx *f = *state;
	struct nmig_cat_obj *o;

	o = add(f, NMIG_CAT_TYPE, "t1", "public.money2", NULL, "money2");
	o->u.type.typtype = 'b';
	o = add(f, NMIG_CAT_RELATION, "r2", "public.remote", NULL, "remote");
	o->u.rel.relkind = 'f';
	assert_int_equal(nmig_catalog_finish(&f->cat), NMIG_OK);
	assert_int_equal(nmig_schema_dump(&f->out, &f->cat), NMIG_EINPUT);
	assert_string_equal(nmig_error_last()->message,
			    "cannot dump 2 objects of this schema");
	assert_non_null(strstr(nmig_error_last()->detail,
			       "base type public.money2: base types need C "
			       "functions"));
	assert_non_null(strstr(nmig_error_last()->detail,
			       "foreign table public.remote: foreign tables "
			       "are not rendered"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order_and_made_objects, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
