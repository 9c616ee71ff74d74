/*
 * String -> index map (see hashmap.h): linear probing in a power-of-two
 * table kept at most half full, FNV-1a with its high bits folded in.
 */
#include "hashmap.h"
#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a, the high bits folded into the low ones the mask keeps. */
static size_t hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t probe(const char *const *keys, size_t mask, const char *key)
{
	size_t h = hash(key) & mask;

	while (keys[h] && strcmp(keys[h], key) != 0)
		h = (h + 1) & mask;
	return h;
}

int nmig_hashmap_reserve(struct nmig_hashmap *map, size_t n)
{
	size_t cap = 16, i, h;
	const char **keys;
	size_t *vals;

	while (cap < 2 * n)
		cap *= 2;
	if (map->keys && cap <= map->mask + 1)
		return NMIG_OK;
	keys = calloc(cap, sizeof(*keys));
	vals = malloc(cap * sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return NMIG_ENOMEM;
	}
	for (i = 0; map->keys && i <= map->mask; i++) {
		if (!map->keys[i])
			continue;
		h = probe(keys, cap - 1, map->keys[i]);
		keys[h] = map->keys[i];
		vals[h] = map->vals[i];
	}
	free(map->keys);
	free(map->vals);
	map->keys = keys;
	map->vals = vals;
	map->mask = cap - 1;
	return NMIG_OK;
}

int nmig_hashmap_put(struct nmig_hashmap *map, const char *key, size_t val,
		     size_t *existing)
{
	size_t h;

	if (!map->keys || 2 * (map->n + 1) > map->mask + 1)
		if (nmig_hashmap_reserve(map, map->n + 1 > 8 ? 2 * map->n : 8))
			return NMIG_ENOMEM;
	h = probe(map->keys, map->mask, key);
	if (map->keys[h]) {
		if (existing)
			*existing = map->vals[h];
		return NMIG_EEXISTS;
	}
	map->keys[h] = key;
	map->vals[h] = val;
	map->n++;
	return NMIG_OK;
}

int nmig_hashmap_get(const struct nmig_hashmap *map, const char *key,
		     size_t *val)
{
	size_t h;

	if (!map->keys || !key)
		return 0;
	h = probe(map->keys, map->mask, key);
	if (!map->keys[h])
		return 0;
	if (val)
		*val = map->vals[h];
	return 1;
}

void nmig_hashmap_renumber(struct nmig_hashmap *map, const size_t *to)
{
	size_t i;

	for (i = 0; map->keys && i <= map->mask; i++)
		if (map->keys[i])
			map->vals[i] = to[map->vals[i]];
}

void nmig_hashmap_release(struct nmig_hashmap *map)
{
	free(map->keys);
	free(map->vals);
	memset(map, 0, sizeof(*map));
}
