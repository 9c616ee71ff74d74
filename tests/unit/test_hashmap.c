/*
 * Unit tests of the string -> index map (lib/hashmap.c): put, get,
 * duplicates, growth past many resizes (probing past taken slots),
 * reserve, renumbering, release and reuse.
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
#include "hashmap.h"

#define MANY 20000

struct ctx {
	struct nmig_hashmap map;
	char (*keys)[16];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->keys = calloc(MANY, sizeof(*c->keys));
	if (!c->keys) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nmig_hashmap_release(&c->map);
	free(c->keys);
	free(c);
	return 0;
}

static void test_empty(void **state)
{
	struct ctx *c = *state;
	size_t v = 7;

	assert_int_equal(nmig_hashmap_get(&c->map, "x", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(nmig_hashmap_get(&c->map, NULL, NULL), 0);
	nmig_hashmap_renumber(&c->map, NULL); /* nothing to do */
	nmig_hashmap_release(&c->map);
	assert_int_equal(c->map.n, 0);
}

static void test_put_get_duplicate(void **state)
{
	struct ctx *c = *state;
	size_t v = 0, old = 99;

	assert_int_equal(nmig_hashmap_put(&c->map, "20261126090000", 0, NULL),
			 NMIG_OK);
	assert_int_equal(nmig_hashmap_put(&c->map, "", 1, NULL), NMIG_OK);
	assert_int_equal(nmig_hashmap_put(&c->map, "2026112609000", 2, NULL),
			 NMIG_OK);
	assert_int_equal(c->map.n, 3);
	assert_int_equal(nmig_hashmap_get(&c->map, "20261126090000", &v), 1);
	assert_int_equal(v, 0);
	assert_int_equal(nmig_hashmap_get(&c->map, "", &v), 1);
	assert_int_equal(v, 1);
	assert_int_equal(nmig_hashmap_get(&c->map, "2026112609000", NULL), 1);
	assert_int_equal(nmig_hashmap_get(&c->map, "202611260900", NULL), 0);
	/* a second put of a key keeps the first value and reports it */
	assert_int_equal(nmig_hashmap_put(&c->map, "20261126090000", 5, &old),
			 NMIG_EEXISTS);
	assert_int_equal(old, 0);
	assert_int_equal(nmig_hashmap_get(&c->map, "20261126090000", &v), 1);
	assert_int_equal(v, 0);
	assert_int_equal(c->map.n, 3);
}

/* Many keys: the table grows many times and every key stays found. */
static void test_growth(void **state)
{
	struct ctx *c = *state;
	size_t i, v;

	for (i = 0; i < MANY; i++) {
		snprintf(c->keys[i], sizeof(c->keys[i]), "%06zu", i);
		assert_int_equal(nmig_hashmap_put(&c->map, c->keys[i], i, NULL),
				 NMIG_OK);
	}
	assert_int_equal(c->map.n, MANY);
	/* at most half full */
	assert_true(2 * c->map.n <= c->map.mask + 1);
	for (i = 0; i < MANY; i++) {
		char probe[16];

		snprintf(probe, sizeof(probe), "%06zu", i);
		assert_int_equal(nmig_hashmap_get(&c->map, probe, &v), 1);
		assert_int_equal(v, i);
	}
	assert_int_equal(nmig_hashmap_get(&c->map, "0000000", NULL), 0);
}

/* reserve up front: no growth while the keys go in; reserving less is a
 * no-op */
static void test_reserve(void **state)
{
	struct ctx *c = *state;
	const char **keys;
	size_t i;

	assert_int_equal(nmig_hashmap_reserve(&c->map, 1000), NMIG_OK);
	keys = c->map.keys;
	for (i = 0; i < 1000; i++) {
		snprintf(c->keys[i], sizeof(c->keys[i]), "k%zu", i);
		assert_int_equal(nmig_hashmap_put(&c->map, c->keys[i], i, NULL),
				 NMIG_OK);
	}
	assert_ptr_equal(c->map.keys, keys);
	assert_int_equal(nmig_hashmap_reserve(&c->map, 10), NMIG_OK);
	assert_ptr_equal(c->map.keys, keys);
}

/* renumber maps every value through to[]: how the graph turns original
 * indexes into plan positions */
static void test_renumber(void **state)
{
	struct ctx *c = *state;
	static const char *const ids[] = {"a", "b", "c", "d"};
	static const size_t to[] = {3, 2, 1, 0};
	size_t i, v;

	for (i = 0; i < 4; i++)
		assert_int_equal(nmig_hashmap_put(&c->map, ids[i], i, NULL),
				 NMIG_OK);
	nmig_hashmap_renumber(&c->map, to);
	for (i = 0; i < 4; i++) {
		assert_int_equal(nmig_hashmap_get(&c->map, ids[i], &v), 1);
		assert_int_equal(v, to[i]);
	}
	/* released, the map is empty and can be used again */
	nmig_hashmap_release(&c->map);
	assert_int_equal(nmig_hashmap_get(&c->map, "a", NULL), 0);
	assert_int_equal(nmig_hashmap_put(&c->map, "a", 9, NULL), NMIG_OK);
	assert_int_equal(nmig_hashmap_get(&c->map, "a", &v), 1);
	assert_int_equal(v, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_get_duplicate, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renumber, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
