/*
 * A map from strings to indexes, with open addressing: what the revision
 * graph (id -> plan position) and import (version -> item) look their
 * names up in, each lookup O(1) on average. The map does not own its
 * keys: each must stay valid, unchanged, as long as the map holds it.
 */
#ifndef NMIG_HASHMAP_H
#define NMIG_HASHMAP_H

#include <stddef.h>

struct nmig_hashmap {
	const char **keys; /* NULL: an empty slot */
	size_t *vals;
	size_t mask;	   /* slots - 1 (a power of two), 0 before the first */
	size_t n;	   /* keys held */
};

#define NMIG_HASHMAP_INIT {NULL, NULL, 0, 0}

/*
 * Make room for n keys in all, so that they go in without another
 * allocation. NMIG_OK, or NMIG_ENOMEM (the map is unchanged).
 */
int nmig_hashmap_reserve(struct nmig_hashmap *map, size_t n);

/*
 * Map key to val. When key is there already, nothing changes and
 * NMIG_EEXISTS is returned with its value in *existing (may be NULL).
 * NMIG_OK, NMIG_EEXISTS or NMIG_ENOMEM. No error is set: callers say what
 * a duplicate means.
 */
int nmig_hashmap_put(struct nmig_hashmap *map, const char *key, size_t val,
		     size_t *existing);

/* 1 with *val (may be NULL) set when key is in the map, else 0. */
int nmig_hashmap_get(const struct nmig_hashmap *map, const char *key,
		     size_t *val);

/* Replace every value v with to[v] (renumbering what the keys map to). */
void nmig_hashmap_renumber(struct nmig_hashmap *map, const size_t *to);

/* Free the table (not the keys); map is left empty and reusable. */
void nmig_hashmap_release(struct nmig_hashmap *map);

#endif
