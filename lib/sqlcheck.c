/*
 * SQL checks through the plan cache (see sqlcheck.h). A revision's
 * findings are stored under its id and its files' content keys (checksum
 * and size), its transaction mode and the checker version, with the
 * findings' file names left out and put back from the revision's paths. The
 * two-file storage is one entry when no finding is about the down file (the
 * usual case: one lookup), else two. What could carry a secret into the cache
 * file -- a file that mentions a password, a finding that quotes one -- is
 * never stored.
 */
#include "sqlcheck.h"
#include "secret.h"
#include "cache.h"
#include "error.h"
#include "sqlscript.h"

#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STR_(x) #x
#define STR(x) STR_(x)

const char *nmig_sqlcheck_checker(void)
{
	return "nmig " NMIG_VERSION
	       " sql " STR(NMIG_SQLCHECK_VERSION) " pg_query " PG_VERSION;
}

/*
 * Append the n bytes at s to out (at *len, capacity cap); 0, or -1 when
 * they do not fit (with the terminating NUL).
 */
static int put_bytes(char *out, size_t *len, size_t cap, const char *s,
		     size_t n)
{
	if (*len + n >= cap)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* Append ":" and the decimal v (>= 0) to out; as put_bytes. */
static int put_num(char *out, size_t *len, size_t cap, long long v)
{
	char digits[24];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n > 1);
	digits[--n] = ':';
	return put_bytes(out, len, cap, digits + n, sizeof(digits) - n);
}

/* The key part of one file: 32 hex digits of its checksum and its size. */
static int put_file(char *out, size_t *len, size_t cap,
		    const struct nmig_file_info *fi)
{
	if (strlen(fi->checksum) != NMIG_SHA256_HEX - 1 || fi->size < 0)
		return -1;
	return put_bytes(out, len, cap, fi->checksum, 32) ||
	       put_num(out, len, cap, (long long)fi->size);
}

int nmig_sqlcheck_pair_key(char out[NMIG_SQLCHECK_KEY], char prefix,
			   const struct nmig_revision *rev)
{
	size_t len = 0;

	/* written by hand: this runs for every revision of a warm run */
	out[0] = '\0';
	if (put_bytes(out, &len, NMIG_SQLCHECK_KEY, &prefix, 1) ||
	    put_bytes(out, &len, NMIG_SQLCHECK_KEY, rev->id, strlen(rev->id)) ||
	    put_bytes(out, &len, NMIG_SQLCHECK_KEY, ":", 1) ||
	    put_file(out, &len, NMIG_SQLCHECK_KEY, &rev->up) ||
	    put_bytes(out, &len, NMIG_SQLCHECK_KEY, ":", 1) ||
	    (rev->down.path ? put_file(out, &len, NMIG_SQLCHECK_KEY, &rev->down)
			    : put_bytes(out, &len, NMIG_SQLCHECK_KEY, "-", 1)))
		return -1;
	return 0;
}

/* Longest checker a pair entry takes, and the buffer for its parts. */
#define MAX_CHECKER 200
#define PART_CHECKER (MAX_CHECKER + 8)

/* checker + " " + part into out (PART_CHECKER bytes); the caller made
 * sure that checker is at most MAX_CHECKER bytes. */
static void part_checker(char *out, const char *checker, const char *part)
{
	size_t len = 0;

	out[0] = '\0';
	put_bytes(out, &len, PART_CHECKER, checker, strlen(checker));
	put_bytes(out, &len, PART_CHECKER, " ", 1);
	put_bytes(out, &len, PART_CHECKER, part, strlen(part));
}

/* The findings of d from index from on (NULL when there are none). */
static const struct nmig_diag *tail(const struct nmig_diags *d, size_t from)
{
	return from < d->n ? d->items + from : NULL;
}

/* Append a copy of every finding of src to dst; NMIG_OK or NMIG_ENOMEM. */
static int copy_diags(struct nmig_diags *dst, const struct nmig_diags *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		const struct nmig_diag *it = &src->items[i];
		struct nmig_diag *d;

		d = nmig_diags_add(dst, it->severity, it->code, it->rule,
				   it->file, it->line, it->col, "%s",
				   it->message);
		if (!d)
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		if (it->source)
			nmig_diag_set_source(d, it->source);
		if (it->hint)
			nmig_diag_set_hint(d, "%s", it->hint);
	}
	return NMIG_OK;
}

int nmig_sqlcheck_pair_get(struct nmig_cache *cache, const char *key,
			   const struct nmig_revision *rev, const char *checker,
			   struct nmig_diags *out)
{
	struct nmig_diags got = NMIG_DIAGS_INIT;
	char ck[PART_CHECKER];
	int rc, pass = 0;

	if (strlen(checker) > MAX_CHECKER)
		return NMIG_ENOTFOUND;
	part_checker(ck, checker, "all");
	rc = nmig_cache_check_get(cache, key, rev->transactional, ck,
				  rev->up.path, &pass, &got);
	if (rc == NMIG_ENOTFOUND && rev->down.path) {
		part_checker(ck, checker, "up");
		rc = nmig_cache_check_get(cache, key, rev->transactional, ck,
					  rev->up.path, &pass, &got);
		if (rc == NMIG_OK && pass) {
			part_checker(ck, checker, "down");
			rc = nmig_cache_check_get(cache, key,
						  rev->transactional, ck,
						  rev->down.path, &pass, &got);
		}
	}
	if (rc == NMIG_OK && !pass)
		rc = NMIG_ENOTFOUND;
	if (rc == NMIG_OK)
		rc = copy_diags(out, &got);
	nmig_diags_release(&got);
	return rc;
}

/*
 * Whether the file fi still has the identity the loader saw (size, mtime,
 * inode) and was not modified in the last NMIG_CACHE_RACY_NS: then what
 * was just read from it is what its checksum names. A file edited since
 * it was loaded would store the findings of new bytes under the old
 * checksum.
 */
static int unchanged(const struct nmig_file_info *fi)
{
	struct timespec now;
	struct stat st;

	if (!fi->path || stat(fi->path, &st) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &now) != 0)
		return 0;
	return nmig_file_info_same(fi, &st) &&
	       fi->mtime_ns <= (long long)now.tv_sec * 1000000000LL +
				   now.tv_nsec - NMIG_CACHE_RACY_NS;
}

int nmig_sqlcheck_pair_put(struct nmig_cache *cache, const char *key,
			   const struct nmig_revision *rev, const char *checker,
			   const struct nmig_diag *items, size_t n)
{
	struct nmig_diag *up = NULL, *down = NULL;
	size_t nup = 0, ndown = 0, i;
	char ck[PART_CHECKER];
	int rc = NMIG_OK;

	if (!nmig_cache_usable(cache) || strlen(checker) > MAX_CHECKER ||
	    nmig_secret_in_diags(items, n) || !unchanged(&rev->up) ||
	    (rev->down.path && !unchanged(&rev->down)))
		return NMIG_OK;
	if (n) {
		up = malloc(n * sizeof(*up));
		down = malloc(n * sizeof(*down));
		if (!up || !down) {
			rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	for (i = 0; i < n; i++) {
		if (!items[i].file || strcmp(items[i].file, rev->up.path) == 0)
			up[nup++] = items[i];
		else if (rev->down.path &&
			 strcmp(items[i].file, rev->down.path) == 0)
			down[ndown++] = items[i];
		else
			goto cleanup;
	}
	if (ndown == 0) {
		part_checker(ck, checker, "all");
		rc = nmig_cache_check_put(cache, key, rev->transactional, ck, 1,
					  up, nup);
		goto cleanup;
	}
	part_checker(ck, checker, "up");
	rc = nmig_cache_check_put(cache, key, rev->transactional, ck, 1, up,
				  nup);
	part_checker(ck, checker, "down");
	if (rc == NMIG_OK)
		rc = nmig_cache_check_put(cache, key, rev->transactional, ck, 1,
					  down, ndown);
cleanup:
	free(up);
	free(down);
	return rc;
}

/*
 * Load and check one file, appending the findings to diags; every
 * failure becomes a finding. *storable is cleared when the result cannot
 * be stored (not loaded, failed, or the text may hold a secret).
 */
static int check_one(const char *path, int transactional, size_t cap,
		     struct nmig_diags *diags, int *storable)
{
	struct nmig_script script;
	size_t before = diags->errors;
	int rc;

	rc = nmig_script_load(&script, path, cap);
	if (rc) {
		nmig_diags_add_last_error(diags, "sql-file");
		*storable = 0;
		return rc;
	}
	if (nmig_secret_may_hold(script.text, script.len))
		*storable = 0;
	rc = nmig_script_check(&script, transactional, diags);
	if (rc && rc != NMIG_EINPUT)
		*storable = 0;
	if (rc && diags->errors == before)
		nmig_diags_add_last_error(diags, "sql");
	nmig_script_release(&script);
	return rc;
}

int nmig_sqlcheck_revision(struct nmig_cache *cache,
			   const struct nmig_revision *rev, unsigned skip,
			   size_t cap, struct nmig_diags *diags)
{
	const char *checker = nmig_sqlcheck_checker();
	char key[NMIG_SQLCHECK_KEY];
	size_t from = diags->n;
	int rc, storable, oom = 0;

	/* a file over the cap is refused by the load, cached or not */
	storable =
	    nmig_cache_usable(cache) && !skip &&
	    (unsigned long long)rev->up.size <= cap &&
	    (!rev->down.path || (unsigned long long)rev->down.size <= cap) &&
	    nmig_sqlcheck_pair_key(key, 's', rev) == 0;
	if (storable) {
		rc = nmig_sqlcheck_pair_get(cache, key, rev, checker, diags);
		if (rc == NMIG_OK)
			return nmig_diags_raise(diags, from);
		if (rc != NMIG_ENOTFOUND)
			return rc;
	}
	if (!(skip & NMIG_SQLCHECK_SKIP_UP))
		oom |= check_one(rev->up.path, rev->transactional, cap, diags,
				 &storable) == NMIG_ENOMEM;
	if (rev->down.path && !(skip & NMIG_SQLCHECK_SKIP_DOWN))
		oom |= check_one(rev->down.path, rev->transactional, cap, diags,
				 &storable) == NMIG_ENOMEM;
	if (oom)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	if (storable &&
	    nmig_sqlcheck_pair_put(cache, key, rev, checker, tail(diags, from),
				   diags->n - from) == NMIG_ENOMEM)
		return NMIG_ENOMEM;
	return nmig_diags_raise(diags, from);
}
