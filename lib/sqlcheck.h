/*
 * Checking migrations' SQL with the plan cache. The findings of
 * nmig_script_check (sqlscript.h) depend only on a file's bytes, its
 * transaction mode and the checker, so the findings about a revision's up
 * and down files are stored under the two files' content and a checker
 * version string, and a revision already checked is not parsed again:
 * one lookup per revision on a warm run. The same two-file storage serves
 * the lint results (lint.h). Nothing that may hold a secret is stored: a
 * file whose text, or a finding whose message, source line or hint,
 * mentions a password is checked on every run.
 */
#ifndef NMIG_SQLCHECK_H
#define NMIG_SQLCHECK_H

#include <stddef.h>

#include "diag.h"
#include "revfile.h"

struct nmig_cache;

/*
 * Bump when the findings of nmig_script_check change for the same input
 * (a new check, another message, another position): cached results of an
 * older checker are then misses.
 */
#define NMIG_SQLCHECK_VERSION 2

/*
 * The checker version string stored with SQL check results: nmig's
 * version, NMIG_SQLCHECK_VERSION and the bundled parser's PostgreSQL
 * version (libpg_query's PG_VERSION). Static storage.
 */
const char *nmig_sqlcheck_checker(void);

/* Files of a revision nmig_sqlcheck_revision leaves alone. */
enum nmig_sqlcheck_skip {
	NMIG_SQLCHECK_SKIP_UP = 1 << 0,
	NMIG_SQLCHECK_SKIP_DOWN = 1 << 1,
};

/*
 * Check the SQL of rev's up and down files (but those in skip, a set of
 * enum nmig_sqlcheck_skip, e.g. files already reported as garbage), each
 * read from its path (at most cap bytes) and checked for rev's
 * transaction mode as nmig_script_load and nmig_script_check do; append
 * the findings to diags. Every failure is a finding: a file that cannot
 * be loaded under rule 'sql-file', any other failure that left none under
 * 'sql'. With a cache, the findings stored for the same contents, mode
 * and checker are used instead (when no file is skipped), and new ones
 * are stored. Returns NMIG_OK when no error was found, else the code of
 * the first error found (the last error describes it), or NMIG_ENOMEM.
 * The findings and the result are the same with and without a cache.
 */
int nmig_sqlcheck_revision(struct nmig_cache *cache,
			   const struct nmig_revision *rev, unsigned skip,
			   size_t cap, struct nmig_diags *diags);

/* Bytes of a key made by nmig_sqlcheck_pair_key. */
#define NMIG_SQLCHECK_KEY 256

/*
 * The cache key of a revision's results: prefix, its id, then for the up
 * and the down file ("-" when there is none) the first 128 bits of the
 * checksum (CRLF folded) in hex and the size in bytes (which differs when
 * line endings do). The id comes first so that the entries of a history
 * lie in the order a run looks them up, and a warm run reads the cache's
 * pages in sequence; short keys keep the cache small. Returns 0, or -1
 * when it does not fit (a very long id) or a checksum is missing: then
 * use no cache.
 */
int nmig_sqlcheck_pair_key(char out[NMIG_SQLCHECK_KEY], char prefix,
			   const struct nmig_revision *rev);

/*
 * Stored findings about rev's two files under key, for rev's transaction
 * mode and checker: one entry ("<checker> all") when none is about the
 * down file, else an "up" part (with the findings about no file) and a
 * "down" part. nmig_sqlcheck_pair_get appends them to out with the files'
 * paths: NMIG_OK, NMIG_ENOTFOUND (out untouched), or NMIG_ENOMEM.
 * nmig_sqlcheck_pair_put stores the n findings in items -- unless one is
 * about another file or may hold a secret, checker is too long (over 200
 * bytes), or a file's identity (size, mtime, inode) is no longer the one
 * in rev or it was modified within NMIG_CACHE_RACY_NS (then the bytes
 * checked may not be those the checksum names) -- and returns NMIG_OK or
 * NMIG_ENOMEM.
 */
int nmig_sqlcheck_pair_get(struct nmig_cache *cache, const char *key,
			   const struct nmig_revision *rev, const char *checker,
			   struct nmig_diags *out);
int nmig_sqlcheck_pair_put(struct nmig_cache *cache, const char *key,
			   const struct nmig_revision *rev, const char *checker,
			   const struct nmig_diag *items, size_t n);

#endif
