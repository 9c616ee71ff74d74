/*
 * Unit tests of lib/array.c: growing an array by doubling -- the first
 * allocation, doubling, a need beyond twice the capacity, no change when
 * there is room, the contents kept, and an overflowing size refused with
 * the array unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "array_internal.h"

static void test_grow(void **state)
{
	int *v = NULL, *before;
	size_t cap = 0, i;

	(void)state;
	assert_int_equal(nmig_array_grow(&v, &cap, 1, sizeof(*v), 4), 0);
	assert_non_null(v);
	assert_int_equal(cap, 4);
	for (i = 0; i < 4; i++)
		v[i] = (int)i * 10;
	/* Room enough: nothing moves. */
	before = v;
	assert_int_equal(nmig_array_grow(&v, &cap, 4, sizeof(*v), 4), 0);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 4);
	/* One more doubles, keeping what is there. */
	assert_int_equal(nmig_array_grow(&v, &cap, 5, sizeof(*v), 4), 0);
	assert_int_equal(cap, 8);
	for (i = 0; i < 4; i++)
		assert_int_equal(v[i], (int)i * 10);
	/* Far more: doubled until it fits. */
	assert_int_equal(nmig_array_grow(&v, &cap, 100, sizeof(*v), 4), 0);
	assert_int_equal(cap, 128);
	assert_int_equal(v[3], 30);
	v[99] = 7;
	free(v);
}

static void test_first_zero(void **state)
{
	char *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(nmig_array_grow(&v, &cap, 3, 1, 0), 0);
	assert_int_equal(cap, 4);
	free(v);
}

static void test_overflow(void **state)
{
	double *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(nmig_array_grow(&v, &cap, 2, sizeof(*v), 2), 0);
	v[0] = 1.5;
	assert_int_equal(
	    nmig_array_grow(&v, &cap, SIZE_MAX / 4, sizeof(*v), 2), -1);
	assert_int_equal(cap, 2);
	assert_true(v[0] == 1.5);
	assert_int_equal(nmig_array_grow(&v, &cap, SIZE_MAX, 1, 2), -1);
	assert_int_equal(cap, 2);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grow),
	    cmocka_unit_test(test_first_zero),
	    cmocka_unit_test(test_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
