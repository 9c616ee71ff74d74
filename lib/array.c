/*
 * Growing an array by doubling (array_internal.h).
 */
#include "array_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int nmig_array_grow(void *items, size_t *cap, size_t need, size_t elem,
		    size_t first)
{
	size_t ncap = *cap ? *cap : first ? first : 1;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (elem && ncap > SIZE_MAX / elem)
		return -1;
	/* items points at a T *: read and write it as the pointer it is. */
	memcpy(&p, items, sizeof(p));
	p = realloc(p, ncap * elem);
	if (!p)
		return -1;
	memcpy(items, &p, sizeof(p));
	*cap = ncap;
	return 0;
}
