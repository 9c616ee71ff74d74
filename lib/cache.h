/*
 * The plan cache: a SQLite file (default `.nmig/cache.db` beside the
 * migrations directory) that remembers what is expensive to recompute --
 * the parsed header and checksum of each migration file keyed by its
 * identity (size, mtime, inode), the result of checking a file's SQL keyed
 * by (checksum, transaction mode, checker version), and the applied set
 * last observed per database (host, port, database, user; never a
 * password). It is only ever an accelerator: a stale entry is a miss, a
 * corrupt, truncated or foreign file is set aside and rebuilt with a
 * warning, a read-only location disables the cache with a warning, and a
 * failure while it is in use disables it for the rest of the run. So no
 * caller ever fails because of the cache: every function accepts a NULL
 * cache (disabled, `--no-cache`) and then does nothing or misses.
 *
 * Several nmig processes may share one cache (WAL journal, 5 s busy
 * timeout). Beside `cache.db` live `cache.db-wal` and `cache.db-shm`
 * (kept between runs) and `cache.db-lock`, which keeps a process from
 * setting a bad file aside while another is opening it. Use one handle
 * per process and file.
 */
#ifndef NMIG_CACHE_H
#define NMIG_CACHE_H

#include <stddef.h>
#include <sys/stat.h>

#include "buf.h"
#include "diag.h"
#include "revfile.h"

/* PRAGMA application_id of nmig's caches: "nmig" in ASCII. */
#define NMIG_CACHE_APPLICATION_ID 0x6e6d6967
/* PRAGMA user_version: the schema; another value is rebuilt silently. */
#define NMIG_CACHE_SCHEMA 1
/* The default file, relative to the directory holding the migrations. */
#define NMIG_CACHE_DEFAULT_NAME ".nmig/cache.db"
/*
 * A file modified less than this long before it is stored is not stored:
 * an edit within the same timestamp tick could otherwise go unnoticed
 * (git's "racily clean" entries). It is cached on a later run.
 */
#define NMIG_CACHE_RACY_NS 2000000000LL

struct nmig_cache;

/*
 * The default cache path for a migrations directory: `.nmig/cache.db` in
 * the directory that holds dir (beside it), or inside dir when dir is "/",
 * "." or "..". Appends to out; NMIG_OK or NMIG_ENOMEM.
 */
int nmig_cache_default_path(struct nmig_buf *out, const char *dir);

/*
 * Open (creating when absent) the cache at path. Missing parent
 * directories are created with mode 0700, the file with 0600. A file that
 * is not SQLite, is truncated, or belongs to another application is
 * renamed to `<path>.bad-<unixtime>` and a new cache is built, with a
 * warning in diags; a cache of another schema version is rebuilt
 * silently. When the cache cannot be used (read-only or impossible
 * location, busy for longer than the timeout) *out is NULL and a warning
 * says why. path NULL means disabled: *out is NULL and nothing is said.
 * diags (may be NULL) must outlive the handle: a failure while the cache
 * is in use appends one warning there and disables the handle.
 * Returns NMIG_OK, or NMIG_ENOMEM.
 */
int nmig_cache_open(struct nmig_cache **out, const char *path,
		    struct nmig_diags *diags);

/* Commit an open batch and close the cache. cache may be NULL. */
void nmig_cache_close(struct nmig_cache *cache);

/* The path the cache was opened with. */
const char *nmig_cache_path(const struct nmig_cache *cache);

/*
 * Batch writes: between begin and commit every store goes into one
 * transaction (100,000 file entries store in a fraction of a second;
 * without a batch each store is its own transaction). Batches nest; the
 * outermost commit writes. A begin that waits longer than the busy
 * timeout disables the cache with a warning. Both return NMIG_OK.
 */
int nmig_cache_begin(struct nmig_cache *cache);
int nmig_cache_commit(struct nmig_cache *cache);

/*
 * A session of lookups: between nmig_cache_read_begin and
 * nmig_cache_read_end the lookups share one read transaction -- one
 * snapshot and lock instead of one per lookup (a quarter of the time of
 * 200,000 file lookups), and a reader never waits for a writer. The first
 * store turns the session into a write batch (as nmig_cache_begin: it
 * waits for the write lock, and a wait past the busy timeout disables the
 * cache with a warning) that nmig_cache_read_end commits. A session does
 * not nest and is not opened inside a batch (then begin does nothing);
 * nmig_cache_begin/commit may be used inside one. Both return NMIG_OK.
 */
int nmig_cache_read_begin(struct nmig_cache *cache);
int nmig_cache_read_end(struct nmig_cache *cache);

/*
 * Look up the migration file name (relative to the migrations directory,
 * e.g. "001_init.up.sql") whose identity is st (st_size, st_mtim,
 * st_ino). On a hit: NMIG_OK, checksum_out holds the hex SHA-256 of the
 * file, and for an up file (is_up 1) the header fields of rev_out are set
 * -- id, slug, message, parents/nparents (only when parents_explicit;
 * implicit parents depend on the other files and are the loader's work),
 * parents_explicit, transactional, lint_ignore/nlint_ignore, header_lines
 * -- as malloc'ed copies the caller frees (nmig_revision_release); those
 * fields must be empty on entry. rev_out may be NULL, and is untouched
 * for a down file. A miss (no entry, a stale entry whose identity
 * differs, a disabled cache) is NMIG_ENOTFOUND and touches nothing.
 * NMIG_ENOMEM when out of memory.
 */
int nmig_cache_file_get(struct nmig_cache *cache, const char *name,
			const struct stat *st, struct nmig_revision *rev_out,
			char checksum_out[NMIG_SHA256_HEX], int is_up);

/*
 * A scan: nmig_cache_file_get for many names with one pass over the
 * entries in name order instead of a query each -- for a loader that
 * looks up every file of a directory (20,000 point queries cost about
 * three times the pass). Ask for names in ascending strcmp order (a name
 * out of order is looked up on its own); entries between them are
 * skipped. One scan per handle at a time; nothing may be stored while it
 * is open. open: NMIG_OK with *out NULL when the cache is not usable
 * (then get misses), or NMIG_ENOMEM. get: as nmig_cache_file_get.
 * close accepts NULL.
 */
struct nmig_cache_scan;
int nmig_cache_scan_open(struct nmig_cache_scan **out,
			 struct nmig_cache *cache);
int nmig_cache_scan_get(struct nmig_cache_scan *scan, const char *name,
			const struct stat *st, struct nmig_revision *rev_out,
			char checksum_out[NMIG_SHA256_HEX], int is_up);
void nmig_cache_scan_close(struct nmig_cache_scan *scan);

/*
 * Store (or refresh) the entry for name: its identity from st, checksum,
 * and for an up file the header fields of rev (as parsed from the file:
 * parents are kept only when parents_explicit). A file modified within
 * NMIG_CACHE_RACY_NS of now is not stored. Returns NMIG_OK (also when
 * the store was skipped or failed: a failure disables the cache with a
 * warning), or NMIG_ENOMEM.
 */
int nmig_cache_file_put(struct nmig_cache *cache, const char *name,
			const struct stat *st, const struct nmig_revision *rev,
			const char *checksum, int is_up);

/*
 * The stored result of checking a file's SQL: the key is the file's
 * checksum, the transaction mode it was checked for, and a string naming
 * the checker's version (parser and rules), so a new checker misses. On a
 * hit: NMIG_OK, *pass_out set, and the stored findings appended to
 * diags_out, each with file (may be NULL) as its file when it had one.
 * A miss is NMIG_ENOTFOUND; NMIG_ENOMEM when out of memory.
 */
int nmig_cache_check_get(struct nmig_cache *cache, const char *checksum,
			 int transactional, const char *checker,
			 const char *file, int *pass_out,
			 struct nmig_diags *diags_out);

/*
 * Store the result of checking one file: pass, and the n findings in
 * items (all about that file; their file names are not stored). Returns
 * NMIG_OK (a failure disables the cache with a warning) or NMIG_ENOMEM.
 */
int nmig_cache_check_put(struct nmig_cache *cache, const char *checksum,
			 int transactional, const char *checker, int pass,
			 const struct nmig_diag *items, size_t n);

/*
 * The key of a database in the cache, from the connection's host, port,
 * database name and user only (there is no way to pass a password):
 * `postgresql://user@host:port/dbname` with each part percent-encoded
 * (a socket directory host becomes `%2Ftmp`). NULL parts are empty.
 * Appends to out; NMIG_OK or NMIG_ENOMEM.
 */
int nmig_cache_dbkey(struct nmig_buf *out, const char *host, const char *port,
		     const char *dbname, const char *user);

/* An applied set as last observed on a database. */
struct nmig_cache_applied {
	char **ids; /* revision ids, in the order stored */
	size_t n;
	long long observed_at; /* unix time (seconds) it was observed */
};

/*
 * The applied set last observed on the database dbkey: NMIG_OK and *out
 * filled (release it with nmig_cache_applied_release), NMIG_ENOTFOUND
 * when none was stored (or the cache is disabled), NMIG_ENOMEM.
 */
int nmig_cache_applied_get(struct nmig_cache *cache, const char *dbkey,
			   struct nmig_cache_applied *out);

/*
 * Record that the database dbkey was observed now with the n revision ids
 * applied (replacing what was stored). Returns NMIG_OK (a failure
 * disables the cache with a warning) or NMIG_ENOMEM.
 */
int nmig_cache_applied_put(struct nmig_cache *cache, const char *dbkey,
			   const char *const *ids, size_t n);

void nmig_cache_applied_release(struct nmig_cache_applied *applied);

/* What one handle did; for -v output and tests. */
struct nmig_cache_stats {
	size_t hits;	     /* file and check lookups answered */
	size_t misses;	     /* lookups with no entry */
	size_t stale;	     /* file lookups whose entry had another identity */
	size_t stores;	     /* entries written */
	size_t skipped_racy; /* file stores skipped: modified too recently */
};

/* The counters of cache (all zero for NULL). */
void nmig_cache_stats_get(const struct nmig_cache *cache,
			  struct nmig_cache_stats *out);

/* Nonzero while cache is open and usable. */
int nmig_cache_usable(const struct nmig_cache *cache);

/* What a file at the cache path is. */
enum nmig_cache_state {
	NMIG_CACHE_ABSENT = 0, /* no file */
	NMIG_CACHE_OK,	       /* nmig's cache of this schema */
	NMIG_CACHE_EMPTY,      /* an empty file or database: built on use */
	NMIG_CACHE_OUTDATED,   /* nmig's, another schema: rebuilt on use */
	NMIG_CACHE_FOREIGN,    /* another application's SQLite database */
	NMIG_CACHE_CORRUPT,    /* not SQLite, truncated or malformed */
	NMIG_CACHE_UNUSABLE,   /* not a regular file: the cache is disabled */
};

/*
 * "absent", "ok", "empty", "outdated", "foreign", "corrupt", "unusable".
 */
const char *nmig_cache_state_name(enum nmig_cache_state state);

struct nmig_cache_db {
	char *dbkey;
	long long observed_at; /* unix time */
	size_t nids;	       /* applied revisions observed */
};

struct nmig_cache_info {
	char *path;
	enum nmig_cache_state state;
	char *why;	    /* FOREIGN, CORRUPT, UNUSABLE: what is wrong */
	long long size;	    /* bytes of the file, 0 when absent */
	long long wal_size; /* bytes of its -wal file, 0 when none */
	int schema_version; /* user_version, 0 when unknown */
	long long files;    /* file entries (state OK) */
	long long checks;   /* check results (state OK) */
	struct nmig_cache_db *dbs; /* databases, by key (state OK) */
	size_t ndbs;
	char **set_aside; /* `<path>.bad-*` files beside it, sorted */
	size_t nset_aside;
};

/*
 * Describe the cache at path without creating or changing it. An unusable
 * file is described (state, why), not an error; NMIG_EIO when the file
 * exists but cannot be read, NMIG_ENOMEM. Release with
 * nmig_cache_info_release.
 */
int nmig_cache_info(struct nmig_cache_info *out, const char *path);
void nmig_cache_info_release(struct nmig_cache_info *info);

/*
 * Delete the cache at path with its -wal, -shm, -journal and -lock files
 * (set-aside `.bad-*` copies are kept: they may hold someone's data).
 * *removed_out (may be NULL) counts the files deleted. NMIG_OK when none
 * exists; NMIG_EIO naming the file that could not be deleted.
 */
int nmig_cache_clear(const char *path, int *removed_out);

/*
 * nmig_revset_load with the plan cache (revfile.h's store): each file is
 * stat'ed and looked up by name and identity (size, mtime, inode) before
 * it is read; a hit gives its checksum and, for an up file, its header,
 * so the file is not opened at all. A miss reads, hashes and parses the
 * file as nmig_revset_load does and stores the result when the file
 * loaded without any finding: files with errors or warnings are always
 * read again. All lookups share one read transaction and all stores of
 * one load go into one batch. The result (out, diags, return value) is
 * the same as nmig_revset_load's whatever the cache holds; cache NULL (or
 * not usable) is nmig_revset_load.
 */
int nmig_revset_load_cached(struct nmig_revset *out, const char *dir,
			    struct nmig_cache *cache, struct nmig_diags *diags);

#endif
