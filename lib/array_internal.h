/*
 * Growing an array by doubling: the one way libnmig's arrays (findings,
 * statements, catalog objects, ...) make room for one more item. Not an
 * installed header: callers inside lib/ only.
 */
#ifndef NMIG_ARRAY_INTERNAL_H
#define NMIG_ARRAY_INTERNAL_H

#include <stddef.h>

/*
 * Make *items (a T * passed as &array, elem = sizeof(T)) hold at least
 * need elements: when *cap is smaller, reallocate to twice *cap (first
 * when *cap is 0; more when need is larger still) and update *cap.
 * Returns 0, or -1 when the size overflows or realloc fails (the array
 * and *cap are unchanged then). Sets no error: callers say what failed.
 */
int nmig_array_grow(void *items, size_t *cap, size_t need, size_t elem,
		    size_t first);

#endif
