/*
 * Unit tests of the catalog model (lib/catalog.c) without a server:
 * catalogs built by hand as data (object, ident, parent), the canonical
 * order and look-up, parents, dependencies and comments resolved by
 * ident, the object-by-object diff (added, removed, changed; column
 * positions ignored on request), the dependency order (pg_depend edges
 * and parents before ties, a cycle named), and the catalog query parsed
 * by libpg_query. Reading a real server is exercised by the tests of
 * nmig test and nmig schema dump (tests/db/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <pg_query.h>

#include "buf.h"
#include "catalog.h"
#include "error.h"

struct two {
	struct nmig_catalog a, b;
	struct nmig_buf out;
	size_t *order;
};

static int setup(void **state)
{
	struct two *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	nmig_buf_init(&t->out);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct two *t = *state;

	nmig_catalog_release(&t->a);
	nmig_catalog_release(&t->b);
	nmig_buf_release(&t->out);
	free(t->order);
	free(t);
	return 0;
}

/* One object of a fixture: kind, ident, key, parent ident, a value. */
struct fix {
	enum nmig_cat_kind kind;
	const char *ident, *key, *parent, *val;
};

/*
 * Add fixture objects to cat: val is the type of a column, the
 * definition of a constraint, index, trigger, rule or statistics object,
 * the view text of a relation, the definition of a function.
 */
static void fill(struct nmig_catalog *cat, const struct fix *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct nmig_cat_obj *o =
		    nmig_catalog_add(cat, f[i].kind, f[i].ident, f[i].key);
		const char *v = nmig_catalog_str(cat, f[i].val);

		assert_non_null(o);
		assert_int_equal(nmig_catalog_set_parent(cat, o, f[i].parent),
				 NMIG_OK);
		switch (f[i].kind) {
		case NMIG_CAT_COLUMN:
			o->u.col.type = v;
			o->u.col.position = (int)i;
			o->u.col.local = 1;
			break;
		case NMIG_CAT_CONSTRAINT:
			o->u.con.def = v;
			o->u.con.local = 1;
			break;
		case NMIG_CAT_INDEX:
			o->u.idx.def = v;
			o->u.idx.valid = 1;
			break;
		case NMIG_CAT_RELATION:
			o->u.rel.relkind = v ? 'v' : 'r';
			o->u.rel.viewdef = v;
			break;
		case NMIG_CAT_FUNCTION:
			o->u.func.prokind = 'f';
			o->u.func.def = v;
			break;
		default:
			break;
		}
	}
}

static const struct fix shop[] = {
    {NMIG_CAT_SCHEMA, "n1", "shop", NULL, NULL},
    {NMIG_CAT_RELATION, "r10", "shop.orders", NULL, NULL},
    {NMIG_CAT_COLUMN, "a10.1", "shop.orders.id", "r10", "bigint"},
    {NMIG_CAT_COLUMN, "a10.2", "shop.orders.total", "r10", "numeric"},
    {NMIG_CAT_CONSTRAINT, "c11", "shop.orders.orders_pkey", "r10",
     "PRIMARY KEY (id)"},
    {NMIG_CAT_RELATION, "r20", "shop.big", NULL,
     " SELECT orders.id FROM shop.orders WHERE orders.total > 100"},
    {NMIG_CAT_FUNCTION, "p30", "shop.f()", NULL, "CREATE FUNCTION ..."},
};

#define N(a) (sizeof(a) / sizeof(a[0]))

/* Objects come out in canonical order; parents and keys resolve. */
static void test_canonical_order(void **state)
{
	struct two *t = *state;
	const struct nmig_cat_obj *col, *tab;

	fill(&t->a, shop, N(shop));
	assert_int_equal(nmig_catalog_finish(&t->a), NMIG_OK);
	assert_int_equal(t->a.n, N(shop));
	assert_int_equal(t->a.objs[0].kind, NMIG_CAT_SCHEMA);
	/* kinds in enum order, keys sorted within a kind */
	assert_int_equal(t->a.objs[1].kind, NMIG_CAT_FUNCTION);
	assert_string_equal(t->a.objs[2].key, "shop.big");
	assert_string_equal(t->a.objs[3].key, "shop.orders");
	col = nmig_catalog_find(&t->a, NMIG_CAT_COLUMN, "shop.orders.total");
	tab = nmig_catalog_find(&t->a, NMIG_CAT_RELATION, "shop.orders");
	assert_non_null(col);
	assert_non_null(tab);
	assert_ptr_equal(&t->a.objs[col->parent], tab);
	assert_null(nmig_catalog_find(&t->a, NMIG_CAT_COLUMN, "shop.nope"));
	assert_null(nmig_catalog_find(&t->a, NMIG_CAT_INDEX, "shop.orders"));
	assert_string_equal(nmig_cat_kind_name(tab), "table");
	assert_string_equal(nmig_cat_kind_name(&t->a.objs[2]), "view");
}

/* Comments and dependencies name their objects by ident. */
static void test_comments_and_deps(void **state)
{
	struct two *t = *state;
	const struct nmig_cat_obj *v, *o;

	fill(&t->a, shop, N(shop));
	assert_int_equal(nmig_catalog_add_comment(&t->a, "r10", "all orders"),
			 NMIG_OK);
	assert_int_equal(nmig_catalog_add_comment(&t->a, "r999", "gone"),
			 NMIG_OK);
	assert_int_equal(nmig_catalog_add_dep(&t->a, "r20", "r10"), NMIG_OK);
	/* twice, and to an object outside the model: kept once, dropped */
	assert_int_equal(nmig_catalog_add_dep(&t->a, "r20", "r10"), NMIG_OK);
	assert_int_equal(nmig_catalog_add_dep(&t->a, "r20", "p1242"), NMIG_OK);
	assert_int_equal(nmig_catalog_finish(&t->a), NMIG_OK);
	o = nmig_catalog_find(&t->a, NMIG_CAT_RELATION, "shop.orders");
	v = nmig_catalog_find(&t->a, NMIG_CAT_RELATION, "shop.big");
	assert_string_equal(o->comment, "all orders");
	assert_null(v->comment);
	assert_int_equal(v->ndeps, 1);
	assert_ptr_equal(&t->a.objs[v->deps[0]], o);
}

/* What the diff callback saw, as text. */
static void on_change(void *ud, enum nmig_cat_change ch,
		      const struct nmig_cat_obj *oa,
		      const struct nmig_cat_obj *ob)
{
	struct nmig_buf *out = ud;

	nmig_buf_printf(out, "%c %s\n",
			ch == NMIG_CAT_ADDED	 ? '+'
			: ch == NMIG_CAT_REMOVED ? '-'
						 : '~',
			oa ? oa->key : ob->key);
}

static const struct fix shop2[] = {
    {NMIG_CAT_SCHEMA, "n1", "shop", NULL, NULL},
    {NMIG_CAT_RELATION, "r10", "shop.orders", NULL, NULL},
    {NMIG_CAT_COLUMN, "a10.1", "shop.orders.id", "r10", "bigint"},
    {NMIG_CAT_COLUMN, "a10.2", "shop.orders.total", "r10", "bigint"},
    {NMIG_CAT_COLUMN, "a10.3", "shop.orders.note", "r10", "text"},
    {NMIG_CAT_CONSTRAINT, "c11", "shop.orders.orders_pkey", "r10",
     "PRIMARY KEY (id)"},
    {NMIG_CAT_FUNCTION, "p30", "shop.f()", NULL, "CREATE FUNCTION ..."},
};

/* Added, removed and changed objects, each once, in canonical order. */
static void test_diff(void **state)
{
	struct two *t = *state;

	fill(&t->a, shop, N(shop));
	fill(&t->b, shop2, N(shop2));
	assert_int_equal(nmig_catalog_finish(&t->a), NMIG_OK);
	assert_int_equal(nmig_catalog_finish(&t->b), NMIG_OK);
	assert_int_equal(nmig_catalog_diff(&t->a, &t->a, 0, on_change, &t->out),
			 0);
	assert_int_equal(t->out.len, 0);
	assert_int_equal(nmig_catalog_diff(&t->a, &t->b, 0, on_change, &t->out),
			 3);
	assert_string_equal(t->out.ptr, "- shop.big\n"
					"+ shop.orders.note\n"
					"~ shop.orders.total\n");
}

/* A column moved (same type) differs only when positions count. */
static void test_diff_column_order(void **state)
{
	struct two *t = *state;
	struct nmig_cat_obj *o;

	fill(&t->a, shop, N(shop));
	fill(&t->b, shop, N(shop));
	assert_int_equal(nmig_catalog_finish(&t->a), NMIG_OK);
	assert_int_equal(nmig_catalog_finish(&t->b), NMIG_OK);
	o = (struct nmig_cat_obj *)nmig_catalog_find(&t->b, NMIG_CAT_COLUMN,
						     "shop.orders.id");
	o->u.col.position = 42;
	assert_int_equal(nmig_catalog_diff(&t->a, &t->b, 0, NULL, NULL), 1);
	assert_int_equal(nmig_catalog_diff(&t->a, &t->b,
					   NMIG_CAT_NO_COLUMN_ORDER, NULL,
					   NULL),
			 0);
	nmig_cat_describe(o, 0, &t->out);
	assert_non_null(strstr(t->out.ptr, "position 42\n"));
	assert_non_null(strstr(t->out.ptr, "type bigint\n"));
}

/* Position of key in the order. */
static size_t pos(struct two *t, enum nmig_cat_kind kind, const char *key)
{
	const struct nmig_cat_obj *o = nmig_catalog_find(&t->a, kind, key);
	size_t i;

	assert_non_null(o);
	for (i = 0; i < t->a.n; i++)
		if (&t->a.objs[t->order[i]] == o)
			return i;
	fail_msg("%s not in the order", key);
	return 0;
}

/*
 * Dependencies win over the canonical order: a view on a view comes
 * after it even when its name sorts first, a table after the function its
 * default calls, a column after its table; the rest in canonical order.
 */
static void test_order_dependencies(void **state)
{
	struct two *t = *state;
	static const struct fix f[] = {
	    {NMIG_CAT_RELATION, "r1", "public.a_view", NULL, " SELECT 1"},
	    {NMIG_CAT_RELATION, "r2", "public.b_view", NULL, " SELECT 2"},
	    {NMIG_CAT_RELATION, "r3", "public.t", NULL, NULL},
	    {NMIG_CAT_COLUMN, "a3.1", "public.t.x", "r3", "integer"},
	    {NMIG_CAT_FUNCTION, "p4", "public.zz()", NULL, "CREATE ..."},
	    {NMIG_CAT_SCHEMA, "n5", "public", NULL, NULL},
	};

	fill(&t->a, f, N(f));
	assert_int_equal(nmig_catalog_add_dep(&t->a, "r1", "r2"), NMIG_OK);
	assert_int_equal(nmig_catalog_add_dep(&t->a, "r2", "r3"), NMIG_OK);
	assert_int_equal(nmig_catalog_add_dep(&t->a, "r3", "p4"), NMIG_OK);
	assert_int_equal(nmig_catalog_finish(&t->a), NMIG_OK);
	assert_int_equal(nmig_catalog_order(&t->a, &t->order), NMIG_OK);
	assert_true(pos(t, NMIG_CAT_FUNCTION, "public.zz()") <
		    pos(t, NMIG_CAT_RELATION, "public.t"));
	assert_true(pos(t, NMIG_CAT_RELATION, "public.t") <
		    pos(t, NMIG_CAT_COLUMN, "public.t.x"));
	assert_true(pos(t, NMIG_CAT_RELATION, "public.b_view") <
		    pos(t, NMIG_CAT_RELATION, "public.a_view"));
	assert_int_equal(pos(t, NMIG_CAT_SCHEMA, "public"), 0);
}

/* A cycle is an error naming the objects in it. */
static void test_order_cycle(void **state)
{
	struct two *t = *state;
	static const struct fix f[] = {
	    {NMIG_CAT_RELATION, "r1", "public.v1", NULL, " SELECT 1"},
	    {NMIG_CAT_RELATION, "r2", "public.v2", NULL, " SELECT 2"},
	};

	fill(&t->a, f, N(f));
	assert_int_equal(nmig_catalog_add_dep(&t->a, "r1", "r2"), NMIG_OK);
	assert_int_equal(nmig_catalog_add_dep(&t->a, "r2", "r1"), NMIG_OK);
	assert_int_equal(nmig_catalog_finish(&t->a), NMIG_OK);
	assert_int_equal(nmig_catalog_order(&t->a, &t->order), NMIG_ERROR);
	assert_null(t->order);
	assert_non_null(strstr(nmig_error_last()->message, "cycle"));
	assert_non_null(strstr(nmig_error_last()->detail, "view public.v1"));
	assert_non_null(strstr(nmig_error_last()->detail, "view public.v2"));
}

static void assert_parses(const char *sql)
{
	PgQueryParseResult r = pg_query_parse(sql);

	if (r.error)
		fail_msg("catalog query does not parse: %s", r.error->message);
	pg_query_free_parse_result(r);
}

/* The catalog query is valid SQL, with a version table to skip or not. */
static void test_query_parses(void **state)
{
	struct two *t = *state;

	nmig_catalog_sql(&t->out, "public", "schema_version");
	assert_parses(t->out.ptr);
	assert_non_null(strstr(t->out.ptr, "'schema_version'::name"));
	nmig_buf_clear(&t->out);
	nmig_catalog_sql(&t->out, "we'ird", "back\\slash");
	assert_parses(t->out.ptr);
	nmig_buf_clear(&t->out);
	nmig_catalog_sql(&t->out, NULL, NULL);
	assert_parses(t->out.ptr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_canonical_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_comments_and_deps, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_diff_column_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_order_dependencies, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_order_cycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_parses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
