/*
 * Unit tests of the plan cache (lib/cache.c): default paths and database
 * keys; file entries stored and found again, and missed when the file's
 * size, mtime or inode changed; check results and applied sets; every
 * kind of bad file (random bytes, truncated, another application's
 * database, an older schema, pages corrupted behind a good header); an
 * unwritable location; two processes writing at once; a writer holding
 * the lock past the busy timeout; 100,000 entries stored and read with the
 * time printed; info and clear. Each test works in its own temporary
 * directory, removed in teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "diag.h"
#include "error.h"

#define SUM_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SUM_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* An mtime safely in the past (2020-01-01), so stores are never racy. */
#define OLD_SEC 1577836800LL

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	char dir[256];	/* the temporary directory */
	char path[512]; /* dir/.nmig/cache.db */
	struct nmig_cache *cache;
	struct nmig_diags diags;
	struct nmig_revision rev;
	struct nmig_cache_applied applied;
	struct nmig_cache_info info;
};

static void rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		d = opendir(path);
		while (d && (e = readdir(d)) != NULL) {
			char sub[1024];

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_rf(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* Free the header fields that nmig_cache_file_get fills. */
static void rev_clear(struct nmig_revision *r)
{
	size_t i;

	free(r->id);
	free(r->slug);
	free(r->message);
	for (i = 0; i < r->nparents; i++)
		free(r->parents[i]);
	free(r->parents);
	for (i = 0; i < r->nlint_ignore; i++)
		free(r->lint_ignore[i]);
	free(r->lint_ignore);
	memset(r, 0, sizeof(*r));
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("TMPDIR");

	if (!c)
		return -1;
	snprintf(c->dir, sizeof(c->dir), "%s/nmig-cache-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(c->dir)) {
		free(c);
		return -1;
	}
	snprintf(c->path, sizeof(c->path), "%s/.nmig/cache.db", c->dir);
	nmig_diags_init(&c->diags);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nmig_cache_close(c->cache);
	nmig_diags_release(&c->diags);
	rev_clear(&c->rev);
	nmig_cache_applied_release(&c->applied);
	nmig_cache_info_release(&c->info);
	rm_rf(c->dir);
	free(c);
	nmig_error_clear();
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void set_mtime(const char *path, long long sec, long nsec)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = (time_t)sec;
	ts[0].tv_nsec = ts[1].tv_nsec = nsec;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A stat with just the identity the cache looks at. */
static struct stat fake_stat(long long size, long long mtime_sec,
			     unsigned long long ino)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_size = (off_t)size;
	st.st_mtim.tv_sec = (time_t)mtime_sec;
	st.st_mtim.tv_nsec = 123456789;
	st.st_ino = (ino_t)ino;
	return st;
}

static size_t count_rule(const struct nmig_diags *d, const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		n += strcmp(d->items[i].rule, rule) == 0;
	return n;
}

static const struct nmig_diag *find_rule(const struct nmig_diags *d,
					 const char *rule)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->items[i].rule, rule) == 0)
			return &d->items[i];
	return NULL;
}

static void open_cache(struct ctx *c)
{
	assert_int_equal(nmig_cache_open(&c->cache, c->path, &c->diags),
			 NMIG_OK);
}

static void reopen(struct ctx *c)
{
	nmig_cache_close(c->cache);
	c->cache = NULL;
	open_cache(c);
}

/* Store n down-file entries name-0..name-(n-1), in one batch. */
static void fill(struct nmig_cache *cache, size_t n)
{
	char name[64];
	size_t i;

	assert_int_equal(nmig_cache_begin(cache), NMIG_OK);
	for (i = 0; i < n; i++) {
		struct stat st = fake_stat((long long)i, OLD_SEC, 1000 + i);

		snprintf(name, sizeof(name), "%06zu_x.down.sql", i);
		assert_int_equal(
		    nmig_cache_file_put(cache, name, &st, NULL, SUM_A, 0),
		    NMIG_OK);
	}
	assert_int_equal(nmig_cache_commit(cache), NMIG_OK);
}

static int has_entry(struct nmig_cache *cache, size_t i)
{
	struct stat st = fake_stat((long long)i, OLD_SEC, 1000 + i);
	char name[64], sum[NMIG_SHA256_HEX];

	snprintf(name, sizeof(name), "%06zu_x.down.sql", i);
	return nmig_cache_file_get(cache, name, &st, NULL, sum, 0) == NMIG_OK;
}

/* The set-aside copies beside the cache (fills c->info). */
static size_t count_set_aside(struct ctx *c)
{
	nmig_cache_info_release(&c->info);
	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	return c->info.nset_aside;
}

static void test_default_path(void **state)
{
	static const char *const cases[][2] = {
	    {"migrations", ".nmig/cache.db"},
	    {"migrations/", ".nmig/cache.db"},
	    {"db/migrations", "db/.nmig/cache.db"},
	    {"/srv/app/migrations//", "/srv/app/.nmig/cache.db"},
	    {"/migrations", "/.nmig/cache.db"},
	    {"/", "/.nmig/cache.db"},
	    {".", "./.nmig/cache.db"},
	    {"..", "../.nmig/cache.db"},
	    {"a/..", "a/../.nmig/cache.db"},
	    {"", ".nmig/cache.db"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nmig_buf b = NMIG_BUF_INIT;

		assert_int_equal(nmig_cache_default_path(&b, cases[i][0]),
				 NMIG_OK);
		if (strcmp(b.ptr, cases[i][1]) != 0) {
			print_error("dir '%s': got '%s', want '%s'\n",
				    cases[i][0], b.ptr, cases[i][1]);
			nmig_buf_release(&b);
			fail();
		}
		nmig_buf_release(&b);
	}
}

static void test_dbkey(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	assert_int_equal(
	    nmig_cache_dbkey(&b, "db.example.com", "5432", "app", "app_user"),
	    NMIG_OK);
	assert_string_equal(b.ptr,
			    "postgresql://app_user@db.example.com:5432/app");
	nmig_buf_clear(&b);
	/* a socket directory, odd characters, NULL parts */
	assert_int_equal(nmig_cache_dbkey(&b, "/var/run/postgresql", "5433",
					  "my db", "o'neil@x"),
			 NMIG_OK);
	assert_string_equal(b.ptr, "postgresql://o%27neil%40x@%2Fvar%2Frun%2F"
				   "postgresql:5433/my%20db");
	nmig_buf_clear(&b);
	assert_int_equal(nmig_cache_dbkey(&b, NULL, NULL, NULL, NULL), NMIG_OK);
	assert_string_equal(b.ptr, "postgresql://@:/");
	nmig_buf_release(&b);
}

/* A NULL cache (disabled, --no-cache) misses and stores nothing. */
static void test_disabled(void **state)
{
	struct ctx *c = *state;
	struct stat st = fake_stat(1, OLD_SEC, 1);
	struct nmig_cache_stats stats;
	char sum[NMIG_SHA256_HEX];
	int pass = -1;

	assert_int_equal(nmig_cache_open(&c->cache, NULL, &c->diags), NMIG_OK);
	assert_null(c->cache);
	assert_int_equal(c->diags.n, 0);
	assert_int_equal(nmig_cache_begin(NULL), NMIG_OK);
	assert_int_equal(nmig_cache_file_put(NULL, "a", &st, NULL, SUM_A, 0),
			 NMIG_OK);
	assert_int_equal(nmig_cache_file_get(NULL, "a", &st, NULL, sum, 0),
			 NMIG_ENOTFOUND);
	assert_int_equal(nmig_cache_check_put(NULL, SUM_A, 1, "v", 1, NULL, 0),
			 NMIG_OK);
	assert_int_equal(
	    nmig_cache_check_get(NULL, SUM_A, 1, "v", NULL, &pass, &c->diags),
	    NMIG_ENOTFOUND);
	assert_int_equal(pass, -1);
	assert_int_equal(nmig_cache_applied_put(NULL, "k", NULL, 0), NMIG_OK);
	assert_int_equal(nmig_cache_applied_get(NULL, "k", &c->applied),
			 NMIG_ENOTFOUND);
	assert_int_equal(nmig_cache_commit(NULL), NMIG_OK);
	assert_int_equal(nmig_cache_usable(NULL), 0);
	assert_null(nmig_cache_path(NULL));
	nmig_cache_stats_get(NULL, &stats);
	assert_int_equal(stats.hits + stats.misses + stats.stores, 0);
	nmig_cache_close(NULL);
	/* nothing was created */
	assert_int_equal(access(c->path, F_OK), -1);
}

/* A new cache: directory 0700, file (and its WAL) 0600, schema, info. */
static void test_create(void **state)
{
	struct ctx *c = *state;
	char dir[600], wal[600];
	struct stat st;

	umask(022);
	open_cache(c);
	assert_non_null(c->cache);
	assert_int_equal(c->diags.n, 0);
	assert_string_equal(nmig_cache_path(c->cache), c->path);
	assert_true(nmig_cache_usable(c->cache));
	snprintf(dir, sizeof(dir), "%s/.nmig", c->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(c->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	fill(c->cache, 3);
	snprintf(wal, sizeof(wal), "%s-wal", c->path);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_string_equal(c->info.path, c->path);
	assert_int_equal(c->info.state, NMIG_CACHE_OK);
	assert_string_equal(nmig_cache_state_name(c->info.state), "ok");
	assert_null(c->info.why);
	assert_int_equal(c->info.schema_version, NMIG_CACHE_SCHEMA);
	assert_int_equal(c->info.files, 3);
	assert_int_equal(c->info.checks, 0);
	assert_int_equal(c->info.ndbs, 0);
	assert_true(c->info.size > 0);
	assert_true(c->info.wal_size > 0);
	assert_int_equal(c->info.nset_aside, 0);

	/* after the last close the -wal stays, emptied (see keep_wal) */
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_size, 0);
	nmig_cache_info_release(&c->info);
	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.files, 3);
	assert_int_equal(c->info.wal_size, 0);
}

static void test_file_roundtrip(void **state)
{
	struct ctx *c = *state;
	char *parents[] = {"001", "002"}, *ignore[] = {"ban-drop-column"};
	struct nmig_revision in;
	struct nmig_cache_stats stats;
	struct stat up = fake_stat(120, OLD_SEC, 77);
	struct stat down = fake_stat(30, OLD_SEC, 78);
	char sum[NMIG_SHA256_HEX];

	memset(&in, 0, sizeof(in));
	in.id = "003";
	in.slug = "merge_it";
	in.message = "merge it";
	in.parents = parents;
	in.nparents = 2;
	in.parents_explicit = 1;
	in.transactional = 0;
	in.lint_ignore = ignore;
	in.nlint_ignore = 1;
	in.header_lines = 4;
	open_cache(c);
	assert_int_equal(nmig_cache_file_put(c->cache, "003_merge_it.up.sql",
					     &up, &in, SUM_A, 1),
			 NMIG_OK);
	assert_int_equal(nmig_cache_file_put(c->cache, "003_merge_it.down.sql",
					     &down, NULL, SUM_B, 0),
			 NMIG_OK);
	reopen(c);

	assert_int_equal(nmig_cache_file_get(c->cache, "003_merge_it.up.sql",
					     &up, &c->rev, sum, 1),
			 NMIG_OK);
	assert_string_equal(sum, SUM_A);
	assert_string_equal(c->rev.id, "003");
	assert_string_equal(c->rev.slug, "merge_it");
	assert_string_equal(c->rev.message, "merge it");
	assert_int_equal(c->rev.nparents, 2);
	assert_string_equal(c->rev.parents[0], "001");
	assert_string_equal(c->rev.parents[1], "002");
	assert_int_equal(c->rev.parents_explicit, 1);
	assert_int_equal(c->rev.transactional, 0);
	assert_int_equal(c->rev.nlint_ignore, 1);
	assert_string_equal(c->rev.lint_ignore[0], "ban-drop-column");
	assert_int_equal(c->rev.header_lines, 4);
	assert_null(c->rev.up.path);

	/* a down file gives its checksum and leaves rev alone */
	rev_clear(&c->rev);
	assert_int_equal(nmig_cache_file_get(c->cache, "003_merge_it.down.sql",
					     &down, &c->rev, sum, 0),
			 NMIG_OK);
	assert_string_equal(sum, SUM_B);
	assert_null(c->rev.id);
	/* asking for the up entry as a down one (or back) is a miss */
	assert_int_equal(nmig_cache_file_get(c->cache, "003_merge_it.up.sql",
					     &up, NULL, sum, 0),
			 NMIG_ENOTFOUND);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "nope.up.sql", &up, &c->rev, sum, 1),
	    NMIG_ENOTFOUND);
	assert_null(c->rev.id);
	nmig_cache_stats_get(c->cache, &stats);
	assert_int_equal(stats.hits, 2);
	assert_int_equal(stats.misses, 1);
	assert_int_equal(stats.stale, 1);
	assert_int_equal(c->diags.n, 0);
}

/* Implicit parents depend on the other files: never stored. */
static void test_implicit_parents(void **state)
{
	struct ctx *c = *state;
	char *parents[] = {"001"};
	struct nmig_revision in;
	struct stat st = fake_stat(10, OLD_SEC, 5);
	char sum[NMIG_SHA256_HEX];

	memset(&in, 0, sizeof(in));
	in.id = "002";
	in.slug = "";
	in.message = "";
	in.parents = parents;
	in.nparents = 1;
	in.parents_explicit = 0;
	in.transactional = 1;
	open_cache(c);
	assert_int_equal(
	    nmig_cache_file_put(c->cache, "002.up.sql", &st, &in, SUM_A, 1),
	    NMIG_OK);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "002.up.sql", &st, &c->rev, sum, 1),
	    NMIG_OK);
	assert_int_equal(c->rev.parents_explicit, 0);
	assert_int_equal(c->rev.nparents, 0);
	assert_null(c->rev.parents);
	assert_int_equal(c->rev.transactional, 1);
	assert_string_equal(c->rev.slug, "");
	assert_int_equal(c->rev.nlint_ignore, 0);
}

/* Stale entries: a real file's size, mtime or inode changes. */
static void test_stale(void **state)
{
	struct ctx *c = *state;
	char file[600], tmp[600], sum[NMIG_SHA256_HEX];
	struct nmig_cache_stats stats;
	struct stat st;

	snprintf(file, sizeof(file), "%s/001_a.down.sql", c->dir);
	snprintf(tmp, sizeof(tmp), "%s/new", c->dir);
	write_file(file, "DROP TABLE a;\n", 14);
	set_mtime(file, OLD_SEC, 500);
	open_cache(c);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(nmig_cache_file_put(c->cache, "001_a.down.sql", &st,
					     NULL, SUM_A, 0),
			 NMIG_OK);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "001_a.down.sql", &st, NULL, sum, 0),
	    NMIG_OK);

	/* size: same mtime, one byte more */
	write_file(file, "DROP TABLE ab;\n", 15);
	set_mtime(file, OLD_SEC, 500);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "001_a.down.sql", &st, NULL, sum, 0),
	    NMIG_ENOTFOUND);
	/* refreshed, then a hit again */
	assert_int_equal(nmig_cache_file_put(c->cache, "001_a.down.sql", &st,
					     NULL, SUM_B, 0),
			 NMIG_OK);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "001_a.down.sql", &st, NULL, sum, 0),
	    NMIG_OK);
	assert_string_equal(sum, SUM_B);

	/* mtime: same bytes, one nanosecond later */
	set_mtime(file, OLD_SEC, 501);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "001_a.down.sql", &st, NULL, sum, 0),
	    NMIG_ENOTFOUND);
	assert_int_equal(nmig_cache_file_put(c->cache, "001_a.down.sql", &st,
					     NULL, SUM_B, 0),
			 NMIG_OK);

	/*
	 * inode: an identical file (same bytes, same mtime) renamed over it,
	 * as editors and `git checkout` do. The old file exists until the
	 * rename, so the new one cannot reuse its inode number.
	 */
	write_file(tmp, "DROP TABLE ab;\n", 15);
	set_mtime(tmp, OLD_SEC, 501);
	assert_int_equal(rename(tmp, file), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_size, 15);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "001_a.down.sql", &st, NULL, sum, 0),
	    NMIG_ENOTFOUND);
	nmig_cache_stats_get(c->cache, &stats);
	assert_int_equal(stats.stale, 3);
	assert_int_equal(stats.hits, 2);
	assert_int_equal(c->diags.n, 0);
}

/* A file modified just now is not stored (it could change in the tick). */
static void test_racy(void **state)
{
	struct ctx *c = *state;
	char file[600], sum[NMIG_SHA256_HEX];
	struct nmig_cache_stats stats;
	struct stat st;

	snprintf(file, sizeof(file), "%s/fresh.down.sql", c->dir);
	write_file(file, "SELECT 1;\n", 10);
	open_cache(c);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(nmig_cache_file_put(c->cache, "fresh.down.sql", &st,
					     NULL, SUM_A, 0),
			 NMIG_OK);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "fresh.down.sql", &st, NULL, sum, 0),
	    NMIG_ENOTFOUND);
	nmig_cache_stats_get(c->cache, &stats);
	assert_int_equal(stats.skipped_racy, 1);
	assert_int_equal(stats.stores, 0);
	/* once it is older, it is stored */
	set_mtime(file, OLD_SEC, 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(nmig_cache_file_put(c->cache, "fresh.down.sql", &st,
					     NULL, SUM_A, 0),
			 NMIG_OK);
	assert_int_equal(
	    nmig_cache_file_get(c->cache, "fresh.down.sql", &st, NULL, sum, 0),
	    NMIG_OK);
}

static void test_check_results(void **state)
{
	struct ctx *c = *state;
	struct nmig_diags in = NMIG_DIAGS_INIT;
	struct nmig_diag *d;
	const struct nmig_diag *g;
	int pass = -1;

	d = nmig_diags_add(&in, NMIG_SEV_ERROR, NMIG_EINPUT, "sql-syntax",
			   "migrations/001_a.up.sql", 3, 7,
			   "syntax error at or near \"%s\"", "TABEL");
	assert_non_null(d);
	nmig_diag_set_source(d, "CREATE TABEL t (id int);\nmore");
	nmig_diag_set_hint(d, "did you mean '%s'?", "TABLE");
	assert_non_null(nmig_diags_add(&in, NMIG_SEV_WARNING, NMIG_EINPUT,
				       "odd\trule", NULL, 0, 0,
				       "line one\nline two with %% and 1:2"));
	open_cache(c);
	assert_int_equal(nmig_cache_check_put(c->cache, SUM_A, 1, "pg17-lint3",
					      0, in.items, in.n),
			 NMIG_OK);
	assert_int_equal(
	    nmig_cache_check_put(c->cache, SUM_B, 0, "pg17-lint3", 1, NULL, 0),
	    NMIG_OK);
	nmig_diags_release(&in);
	reopen(c);

	assert_int_equal(nmig_cache_check_get(c->cache, SUM_A, 1, "pg17-lint3",
					      "other/001_a.up.sql", &pass,
					      &c->diags),
			 NMIG_OK);
	assert_int_equal(pass, 0);
	assert_int_equal(c->diags.n, 2);
	assert_int_equal(c->diags.errors, 1);
	assert_int_equal(c->diags.warnings, 1);
	g = &c->diags.items[0];
	assert_int_equal(g->severity, NMIG_SEV_ERROR);
	assert_int_equal(g->code, NMIG_EINPUT);
	assert_string_equal(g->rule, "sql-syntax");
	assert_string_equal(g->file, "other/001_a.up.sql");
	assert_int_equal(g->line, 3);
	assert_int_equal(g->col, 7);
	assert_string_equal(g->message, "syntax error at or near \"TABEL\"");
	assert_string_equal(g->source, "CREATE TABEL t (id int);");
	assert_string_equal(g->hint, "did you mean 'TABLE'?");
	g = &c->diags.items[1];
	assert_string_equal(g->rule, "odd\trule");
	assert_null(g->file);
	assert_null(g->source);
	assert_null(g->hint);
	assert_string_equal(g->message, "line one\nline two with % and 1:2");

	/* a clean result, and misses on every other part of the key */
	nmig_diags_release(&c->diags);
	assert_int_equal(nmig_cache_check_get(c->cache, SUM_B, 0, "pg17-lint3",
					      NULL, &pass, &c->diags),
			 NMIG_OK);
	assert_int_equal(pass, 1);
	assert_int_equal(c->diags.n, 0);
	pass = -1;
	assert_int_equal(nmig_cache_check_get(c->cache, SUM_B, 1, "pg17-lint3",
					      NULL, &pass, &c->diags),
			 NMIG_ENOTFOUND);
	assert_int_equal(nmig_cache_check_get(c->cache, SUM_A, 1, "pg17-lint4",
					      NULL, &pass, &c->diags),
			 NMIG_ENOTFOUND);
	assert_int_equal(nmig_cache_check_get(c->cache, SUM_B "x", 0,
					      "pg17-lint3", NULL, &pass,
					      &c->diags),
			 NMIG_ENOTFOUND);
	assert_int_equal(pass, -1);
	assert_int_equal(c->diags.n, 0);
}

/* A check result whose stored findings are damaged is a miss. */
static void test_check_damaged(void **state)
{
	struct ctx *c = *state;
#define BLOB(s)                                                                \
	{                                                                      \
		s, (int)sizeof(s)                                              \
	}
	static const struct {
		const char *p;
		int len;
	} blobs[] = {
	    BLOB("2 -5 1 1 1\n3:abc"),	   /* the record stops short */
	    BLOB("9 -5 1 1 1\n-1:x\0--"),  /* bad severity */
	    BLOB("2 -5 1\n"),		   /* short header */
	    BLOB("2 -5 1 1 0\n-2:ab\0-x"), /* lengths do not fit */
	};
#undef BLOB
	struct nmig_diags in = NMIG_DIAGS_INIT;
	sqlite3 *db = NULL;
	size_t i;
	int pass = -1;

	assert_non_null(
	    nmig_diags_add(&in, NMIG_SEV_NOTE, 0, "r", NULL, 0, 0, "m"));
	open_cache(c);
	assert_int_equal(
	    nmig_cache_check_put(c->cache, SUM_A, 1, "v", 0, in.items, in.n),
	    NMIG_OK);
	nmig_diags_release(&in);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_int_equal(sqlite3_open(c->path, &db), SQLITE_OK);
	for (i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		sqlite3_stmt *s = NULL;

		assert_int_equal(sqlite3_prepare_v2(db,
						    "UPDATE check_result SET "
						    "diags = ?1",
						    -1, &s, NULL),
				 SQLITE_OK);
		sqlite3_bind_blob(s, 1, blobs[i].p, blobs[i].len,
				  SQLITE_STATIC);
		assert_int_equal(sqlite3_step(s), SQLITE_DONE);
		sqlite3_finalize(s);
		open_cache(c);
		assert_int_equal(nmig_cache_check_get(c->cache, SUM_A, 1, "v",
						      NULL, &pass, &c->diags),
				 NMIG_ENOTFOUND);
		assert_int_equal(c->diags.n, 0);
		nmig_cache_close(c->cache);
		c->cache = NULL;
	}
	sqlite3_close(db);
	assert_int_equal(pass, -1);
}

static void test_applied(void **state)
{
	struct ctx *c = *state;
	const char *ids[] = {"20261126090000", "20261126091500", "000042"};
	long long before = (long long)time(NULL);

	open_cache(c);
	assert_int_equal(nmig_cache_applied_get(
			     c->cache, "postgresql://a@h:1/d", &c->applied),
			 NMIG_ENOTFOUND);
	assert_int_equal(
	    nmig_cache_applied_put(c->cache, "postgresql://a@h:1/d", ids, 3),
	    NMIG_OK);
	assert_int_equal(
	    nmig_cache_applied_put(c->cache, "postgresql://a@h:1/e", ids, 0),
	    NMIG_OK);
	reopen(c);
	assert_int_equal(nmig_cache_applied_get(
			     c->cache, "postgresql://a@h:1/d", &c->applied),
			 NMIG_OK);
	assert_int_equal(c->applied.n, 3);
	assert_string_equal(c->applied.ids[0], "20261126090000");
	assert_string_equal(c->applied.ids[2], "000042");
	assert_true(c->applied.observed_at >= before);
	assert_true(c->applied.observed_at <= (long long)time(NULL));
	nmig_cache_applied_release(&c->applied);
	assert_null(c->applied.ids);

	/* empty set, then replaced */
	assert_int_equal(nmig_cache_applied_get(
			     c->cache, "postgresql://a@h:1/e", &c->applied),
			 NMIG_OK);
	assert_int_equal(c->applied.n, 0);
	nmig_cache_applied_release(&c->applied);
	assert_int_equal(nmig_cache_applied_put(
			     c->cache, "postgresql://a@h:1/e", ids + 1, 1),
			 NMIG_OK);
	assert_int_equal(nmig_cache_applied_get(
			     c->cache, "postgresql://a@h:1/e", &c->applied),
			 NMIG_OK);
	assert_int_equal(c->applied.n, 1);
	assert_string_equal(c->applied.ids[0], "20261126091500");

	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.ndbs, 2);
	assert_string_equal(c->info.dbs[0].dbkey, "postgresql://a@h:1/d");
	assert_int_equal(c->info.dbs[0].nids, 3);
	assert_string_equal(c->info.dbs[1].dbkey, "postgresql://a@h:1/e");
	assert_int_equal(c->info.dbs[1].nids, 1);
	assert_true(c->info.dbs[1].observed_at >= before);
}

/* Batches nest; closing with a batch open commits it. */
static void test_batches(void **state)
{
	struct ctx *c = *state;

	open_cache(c);
	assert_int_equal(nmig_cache_begin(c->cache), NMIG_OK);
	fill(c->cache, 10); /* a nested begin/commit */
	assert_int_equal(nmig_cache_commit(c->cache), NMIG_OK);
	/* an extra commit is harmless */
	assert_int_equal(nmig_cache_commit(c->cache), NMIG_OK);
	assert_int_equal(nmig_cache_begin(c->cache), NMIG_OK);
	{
		struct stat st = fake_stat(1, OLD_SEC, 1);

		assert_int_equal(nmig_cache_file_put(c->cache, "open.down.sql",
						     &st, NULL, SUM_A, 0),
				 NMIG_OK);
	}
	reopen(c);
	assert_true(has_entry(c->cache, 9));
	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.files, 11);
	assert_int_equal(c->diags.n, 0);
}

static unsigned long long rng = 88172645463325252ULL;

static unsigned char rand_byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned char)(rng >> 24);
}

/* Check that c->path was set aside once with a warning and rebuilt. */
static void expect_reset(struct ctx *c, const char *why)
{
	const struct nmig_diag *d = find_rule(&c->diags, "cache-reset");

	assert_non_null(d);
	print_message("warning: %s\n", d->message);
	assert_int_equal(count_rule(&c->diags, "cache-reset"), 1);
	assert_int_equal(d->severity, NMIG_SEV_WARNING);
	assert_string_equal(d->file, c->path);
	if (!strstr(d->message, why)) {
		print_error("warning '%s' lacks '%s'\n", d->message, why);
		fail();
	}
	assert_non_null(strstr(d->message, ".bad-"));
	assert_non_null(c->cache);
	assert_true(nmig_cache_usable(c->cache));
	fill(c->cache, 2);
	assert_true(has_entry(c->cache, 1));
	assert_int_equal(count_set_aside(c), 1);
	assert_non_null(strstr(d->message, c->info.set_aside[0]));
	assert_int_equal(c->info.state, NMIG_CACHE_OK);
}

static void test_corrupt_random(void **state)
{
	struct ctx *c = *state;
	unsigned char junk[8192];
	char aside[700];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = rand_byte();
	open_cache(c); /* creates .nmig */
	nmig_cache_close(c->cache);
	c->cache = NULL;
	write_file(c->path, junk, sizeof(junk));

	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.state, NMIG_CACHE_CORRUPT);
	assert_string_equal(c->info.why, "is not a SQLite database");

	open_cache(c);
	expect_reset(c, "is not a SQLite database");
	/* the bad bytes are kept, untouched */
	snprintf(aside, sizeof(aside), "%s", c->info.set_aside[0]);
	assert_int_equal(stat(aside, &st), 0);
	assert_int_equal(st.st_size, sizeof(junk));
	/* the next open is quiet */
	nmig_diags_release(&c->diags);
	reopen(c);
	assert_int_equal(c->diags.n, 0);
	assert_true(has_entry(c->cache, 0));
}

/* Files of a few bytes: shorter than a header, or a header alone. */
static void test_corrupt_short(void **state)
{
	struct ctx *c = *state;

	open_cache(c);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	write_file(c->path, "SQLite format 3", 16);
	open_cache(c);
	expect_reset(c, "is not a SQLite database");
}

static void truncate_to(const char *path, off_t size)
{
	assert_int_equal(truncate(path, size), 0);
}

static void test_truncated(void **state)
{
	struct ctx *c = *state;
	struct stat st;

	open_cache(c);
	fill(c->cache, 3000);
	nmig_cache_close(c->cache); /* checkpoints into the main file */
	c->cache = NULL;
	assert_int_equal(stat(c->path, &st), 0);
	assert_true(st.st_size >= 8 * 4096);
	/* cut at a page boundary: only the page count tells */
	truncate_to(c->path, (st.st_size / 2) & ~(off_t)4095);

	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.state, NMIG_CACHE_CORRUPT);
	assert_non_null(strstr(c->info.why, "is truncated"));

	open_cache(c);
	expect_reset(c, "is truncated");
	assert_false(has_entry(c->cache, 2999));
}

static void test_truncated_odd(void **state)
{
	struct ctx *c = *state;

	open_cache(c);
	fill(c->cache, 100);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	truncate_to(c->path, 1000); /* within the first page */
	open_cache(c);
	expect_reset(c, "is truncated");
}

/* Write a SQLite database of another application at path. */
static void make_foreign(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_foreign(void **state)
{
	struct ctx *c = *state;
	sqlite3 *db = NULL;
	long long n = 0;
	sqlite3_stmt *s = NULL;

	open_cache(c);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	unlink(c->path);
	make_foreign(c->path, "CREATE TABLE notes (body TEXT);"
			      "INSERT INTO notes VALUES ('keep me');");
	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.state, NMIG_CACHE_FOREIGN);
	nmig_cache_info_release(&c->info);

	open_cache(c);
	expect_reset(c, "another application's database");
	/* the other application's data is intact in the set-aside copy */
	assert_int_equal(sqlite3_open_v2(c->info.set_aside[0], &db,
					 SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM notes "
					    "WHERE body = 'keep me'",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_int_equal(n, 1);
	/* nmig did not switch it to WAL: header bytes 18 and 19 still 1 */
	{
		unsigned char h[20];
		FILE *f = fopen(c->info.set_aside[0], "rb");

		assert_non_null(f);
		assert_int_equal(fread(h, 1, sizeof(h), f), sizeof(h));
		fclose(f);
		assert_int_equal(h[18], 1);
		assert_int_equal(h[19], 1);
	}
}

/* Another application id, even with no tables, is not ours. */
static void test_foreign_appid(void **state)
{
	struct ctx *c = *state;

	open_cache(c);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	unlink(c->path);
	make_foreign(c->path, "PRAGMA application_id = 1234;"
			      "PRAGMA user_version = 1;");
	open_cache(c);
	expect_reset(c, "application_id 0x000004d2");
}

/* Our application id with another schema version: rebuilt silently. */
static void test_outdated_schema(void **state)
{
	struct ctx *c = *state;
	char sum[NMIG_SHA256_HEX];
	struct stat st = fake_stat(0, OLD_SEC, 1000);

	open_cache(c);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	unlink(c->path);
	make_foreign(c->path, "PRAGMA application_id = 1852664167;"
			      "PRAGMA user_version = 99;"
			      "CREATE TABLE file (name TEXT, other BLOB);"
			      "INSERT INTO file VALUES ('000000_x.down.sql', "
			      "x'00');");
	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.state, NMIG_CACHE_OUTDATED);
	assert_int_equal(c->info.schema_version, 99);
	nmig_cache_info_release(&c->info);

	open_cache(c);
	assert_non_null(c->cache);
	assert_int_equal(c->diags.n, 0);
	assert_int_equal(nmig_cache_file_get(c->cache, "000000_x.down.sql", &st,
					     NULL, sum, 0),
			 NMIG_ENOTFOUND);
	fill(c->cache, 1);
	assert_true(has_entry(c->cache, 0));
	assert_int_equal(count_set_aside(c), 0);
	assert_int_equal(c->info.schema_version, NMIG_CACHE_SCHEMA);
	assert_int_equal(c->info.files, 1);
}

/* A zero-length file (e.g. a crash right after creating it) is new. */
static void test_empty_file(void **state)
{
	struct ctx *c = *state;

	open_cache(c);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	unlink(c->path);
	write_file(c->path, "", 0);
	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.state, NMIG_CACHE_EMPTY);
	nmig_cache_info_release(&c->info);
	open_cache(c);
	assert_int_equal(c->diags.n, 0);
	fill(c->cache, 1);
	assert_true(has_entry(c->cache, 0));
}

/* Overwrite every page of the cache file but the first with junk. */
static void damage_pages(struct ctx *c)
{
	unsigned char junk[4096];
	struct stat st;
	size_t i;
	int fd;

	assert_int_equal(stat(c->path, &st), 0);
	fd = open(c->path, O_WRONLY);
	assert_true(fd >= 0);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = rand_byte();
	for (i = 1; (off_t)((i + 1) * sizeof(junk)) <= st.st_size; i++)
		assert_int_equal(
		    pwrite(fd, junk, sizeof(junk), (off_t)(i * sizeof(junk))),
		    (ssize_t)sizeof(junk));
	close(fd);
}

/*
 * The check-result and applied-set lookups on damaged pages: the first
 * failing read is a miss that disables the handle with one warning (and,
 * under ASan, touches no statement the failure finalized).
 */
static void test_corrupt_lookups(void **state)
{
	struct ctx *c = *state;
	static const char *const ids[] = {"20261126090000"};
	struct nmig_cache_applied applied;
	struct nmig_diags found = NMIG_DIAGS_INIT;
	int pass = -1, round;

	for (round = 0; round < 2; round++) {
		open_cache(c);
		fill(c->cache, 2000);
		assert_int_equal(
		    nmig_cache_check_put(c->cache, SUM_A, 1, "v", 1, NULL, 0),
		    NMIG_OK);
		assert_int_equal(nmig_cache_applied_put(c->cache, "k", ids, 1),
				 NMIG_OK);
		nmig_cache_close(c->cache);
		c->cache = NULL;
		damage_pages(c);
		open_cache(c);
		if (c->cache) {
			if (round == 0)
				assert_int_equal(nmig_cache_check_get(
						     c->cache, SUM_A, 1, "v",
						     NULL, &pass, &found),
						 NMIG_ENOTFOUND);
			else
				assert_int_equal(nmig_cache_applied_get(
						     c->cache, "k", &applied),
						 NMIG_ENOTFOUND);
			assert_false(nmig_cache_usable(c->cache));
		}
		assert_int_equal(count_rule(&c->diags, "cache-reset") +
				     count_rule(&c->diags, "cache-disabled"),
				 1);
		assert_int_equal(pass, -1);
		assert_int_equal(found.n, 0);
		nmig_cache_close(c->cache);
		c->cache = NULL;
		nmig_diags_release(&c->diags);
		unlink(c->path); /* when it was not set aside */
	}
}

/*
 * A good header over damaged pages: opening may not see it; the first
 * read that does disables the handle with one warning and sets the file
 * aside, and the next open builds a new cache.
 */
static void test_corrupt_pages(void **state)
{
	struct ctx *c = *state;
	unsigned char junk[4096];
	struct stat st;
	size_t i, warned;
	int fd;

	open_cache(c);
	fill(c->cache, 2000);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_int_equal(stat(c->path, &st), 0);
	fd = open(c->path, O_WRONLY);
	assert_true(fd >= 0);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = rand_byte();
	for (i = 1; (off_t)((i + 1) * sizeof(junk)) <= st.st_size; i++)
		assert_int_equal(
		    pwrite(fd, junk, sizeof(junk), (off_t)(i * sizeof(junk))),
		    (ssize_t)sizeof(junk));
	close(fd);

	open_cache(c);
	if (c->cache) {
		assert_false(has_entry(c->cache, 5));
		assert_false(has_entry(c->cache, 6));
		fill(c->cache, 3); /* a no-op once disabled */
		assert_false(nmig_cache_usable(c->cache));
	}
	warned = count_rule(&c->diags, "cache-reset") +
		 count_rule(&c->diags, "cache-disabled");
	assert_int_equal(warned, 1);
	print_message("warning: %s\n", c->diags.items[0].message);
	assert_non_null(strstr(c->diags.items[0].message, "corrupt"));
	assert_int_equal(count_set_aside(c), 1);
	nmig_diags_release(&c->diags);
	reopen(c);
	assert_int_equal(c->diags.n, 0);
	fill(c->cache, 1);
	assert_true(has_entry(c->cache, 0));
}

/*
 * An unwritable location disables the cache with a warning. Tests run as
 * root, whom chmod does not stop, so the location is made impossible
 * instead: a regular file stands where the directory `.nmig` should be
 * (ENOTDIR for any user), and a path under /proc, where no one may create
 * anything.
 */
static void test_unwritable(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;
	char blocker[600];

	snprintf(blocker, sizeof(blocker), "%s/.nmig", c->dir);
	write_file(blocker, "not a directory\n", 16);
	open_cache(c);
	assert_null(c->cache);
	assert_int_equal(c->diags.n, 1);
	d = find_rule(&c->diags, "cache-disabled");
	assert_non_null(d);
	print_message("warning: %s\n", d->message);
	assert_int_equal(d->severity, NMIG_SEV_WARNING);
	assert_non_null(strstr(d->message, c->path));
	assert_non_null(strstr(d->message, ": not a directory;"));
	assert_non_null(strstr(d->message, "running without it"));
	assert_non_null(d->hint);
	/* nothing was touched */
	assert_int_equal(count_set_aside(c), 0);

	nmig_diags_release(&c->diags);
	assert_int_equal(nmig_cache_open(&c->cache,
					 "/proc/nmig-cache-test/cache.db",
					 &c->diags),
			 NMIG_OK);
	assert_null(c->cache);
	assert_int_equal(count_rule(&c->diags, "cache-disabled"), 1);

	/* a directory where the file should be */
	nmig_diags_release(&c->diags);
	snprintf(blocker, sizeof(blocker), "%s/dir.db", c->dir);
	assert_int_equal(mkdir(blocker, 0700), 0);
	assert_int_equal(nmig_cache_open(&c->cache, blocker, &c->diags),
			 NMIG_OK);
	assert_null(c->cache);
	assert_non_null(
	    strstr(c->diags.items[0].message, "not a regular file"));
	nmig_cache_info_release(&c->info);
	assert_int_equal(nmig_cache_info(&c->info, blocker), NMIG_OK);
	assert_int_equal(c->info.state, NMIG_CACHE_UNUSABLE);
	assert_string_equal(nmig_cache_state_name(c->info.state), "unusable");
	assert_string_equal(c->info.why, "is not a regular file");
}

/*
 * nproc processes open the cache at path at the same moment (released
 * together through a pipe) and each stores per entries in batches of 50
 * and an applied set. A child exits nonzero when it got no cache or any
 * warning, after printing it.
 */
static void race(const char *path, int nproc, size_t per)
{
	int go[2], k, status;
	pid_t pid[8];
	size_t i;

	assert_true(nproc <= 8);
	assert_int_equal(pipe(go), 0);
	for (k = 0; k < nproc; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			struct nmig_diags d = NMIG_DIAGS_INIT;
			struct nmig_cache *cache = NULL;
			const char *ids[] = {"001", "002"};
			char b, name[64];
			int bad = 0;

			close(go[1]);
			if (read(go[0], &b, 1) != 0)
				_exit(90);
			if (nmig_cache_open(&cache, path, &d) != NMIG_OK ||
			    !cache) {
				fprintf(stderr, "child %d: %s\n", k,
					d.n ? d.items[0].message : "no cache");
				_exit(91);
			}
			for (i = 0; i < per; i++) {
				struct stat st = fake_stat(
				    (long long)i, OLD_SEC,
				    (unsigned long long)((size_t)k * per + i));

				if (i % 50 == 0)
					nmig_cache_begin(cache);
				snprintf(name, sizeof(name), "p%d-%zu", k, i);
				bad |= nmig_cache_file_put(cache, name, &st,
							   NULL, SUM_A, 0);
				if (i % 50 == 49)
					nmig_cache_commit(cache);
			}
			snprintf(name, sizeof(name), "key-%d", k);
			bad |= nmig_cache_applied_put(cache, name, ids, 2);
			if (!nmig_cache_usable(cache))
				bad = 1;
			nmig_cache_close(cache);
			if (d.n)
				fprintf(stderr, "child %d: %s\n", k,
					d.items[0].message);
			bad |= d.n != 0;
			nmig_diags_release(&d);
			_exit(bad ? 1 : 0);
		}
	}
	close(go[0]);
	close(go[1]); /* all children start now */
	for (k = 0; k < nproc; k++) {
		assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

/* Check that every entry race() stored is there, and nothing else. */
static void expect_raced(struct ctx *c, int nproc, size_t per)
{
	char key[32];
	size_t i;
	int k;

	open_cache(c);
	assert_int_equal(c->diags.n, 0);
	for (k = 0; k < nproc; k++) {
		for (i = 0; i < per; i++) {
			struct stat st = fake_stat(
			    (long long)i, OLD_SEC,
			    (unsigned long long)((size_t)k * per + i));
			char name[64], sum[NMIG_SHA256_HEX];

			snprintf(name, sizeof(name), "p%d-%zu", k, i);
			assert_int_equal(nmig_cache_file_get(c->cache, name,
							     &st, NULL, sum, 0),
					 NMIG_OK);
		}
		snprintf(key, sizeof(key), "key-%d", k);
		assert_int_equal(
		    nmig_cache_applied_get(c->cache, key, &c->applied),
		    NMIG_OK);
		assert_int_equal(c->applied.n, 2);
		nmig_cache_applied_release(&c->applied);
	}
	assert_int_equal(count_set_aside(c), 0);
	assert_int_equal(c->info.files, (long long)(nproc * per));
	assert_int_equal(c->info.ndbs, nproc);
	nmig_cache_close(c->cache);
	c->cache = NULL;
}

/*
 * Two processes create and fill the same new cache at the same moment:
 * neither loses an entry or sees a warning.
 */
static void test_two_processes(void **state)
{
	struct ctx *c = *state;

	race(c->path, 2, 3000);
	expect_raced(c, 2, 3000);
}

/*
 * The moment of creation is the delicate one (an empty file, the switch
 * to WAL, the schema built once): four processes race to create a new
 * cache, many times over.
 */
static void test_creation_race(void **state)
{
	struct ctx *c = *state;
	char dir[600];
	int round;

	snprintf(dir, sizeof(dir), "%s/.nmig", c->dir);
	for (round = 0; round < 25; round++) {
		rm_rf(dir);
		race(c->path, 4, 20);
		expect_raced(c, 4, 20);
	}
}

/*
 * A writer that holds the lock longer than the busy timeout (5 s): the
 * other process reads on (WAL), and its batch gives up with one warning
 * and goes on without the cache.
 */
static void test_busy(void **state)
{
	struct ctx *c = *state;
	int ready[2], status;
	pid_t pid;
	char b;
	double t0;

	open_cache(c);
	fill(c->cache, 5);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nmig_cache *cache = NULL;

		close(ready[0]);
		if (nmig_cache_open(&cache, c->path, NULL) != NMIG_OK || !cache)
			_exit(91);
		nmig_cache_begin(cache); /* takes the write lock */
		if (!nmig_cache_usable(cache))
			_exit(93);
		if (write(ready[1], "x", 1) != 1)
			_exit(92);
		sleep(7);
		nmig_cache_close(cache);
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	close(ready[0]);

	open_cache(c);
	assert_non_null(c->cache);
	assert_true(has_entry(c->cache, 4)); /* readers are not blocked */
	t0 = now_s();
	assert_int_equal(nmig_cache_begin(c->cache), NMIG_OK);
	print_message("begin gave up after %.1f s\n", now_s() - t0);
	assert_true(now_s() - t0 >= 4.5);
	assert_int_equal(count_rule(&c->diags, "cache-busy"), 1);
	assert_false(nmig_cache_usable(c->cache));
	assert_false(has_entry(c->cache, 4));
	assert_int_equal(nmig_cache_commit(c->cache), NMIG_OK);
	assert_int_equal(c->diags.n, 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_100k(void **state)
{
	struct ctx *c = *state;
	enum { N = 100000 };
	char *parents[] = {"x"};
	struct nmig_revision in;
	char name[64], sum[NMIG_SHA256_HEX];
	double t0, c0, put_s, get_s, put_cpu, get_cpu, limit = 1.0;
	size_t i, hits = 0;

#if defined(__SANITIZE_ADDRESS__)
	limit = 10.0; /* ASan slows everything down several times */
#endif
	memset(&in, 0, sizeof(in));
	in.message = "a message of a typical length for a migration";
	in.slug = "a_message_of_a_typical_length_for_a_migration";
	in.parents = parents;
	in.nparents = 1;
	in.parents_explicit = 1;
	in.transactional = 1;
	in.header_lines = 3;
	open_cache(c);
	t0 = now_s();
	c0 = cpu_s();
	nmig_cache_begin(c->cache);
	for (i = 0; i < N; i++) {
		struct stat st =
		    fake_stat(200 + (long long)i % 977, OLD_SEC, i + 1);

		snprintf(name, sizeof(name), "%014zu_%s.up.sql", i, in.slug);
		in.id = name;
		assert_int_equal(
		    nmig_cache_file_put(c->cache, name, &st, &in, SUM_B, 1),
		    NMIG_OK);
	}
	nmig_cache_commit(c->cache);
	put_s = now_s() - t0;
	put_cpu = cpu_s() - c0;
	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < N; i++) {
		struct stat st =
		    fake_stat(200 + (long long)i % 977, OLD_SEC, i + 1);

		snprintf(name, sizeof(name), "%014zu_%s.up.sql", i, in.slug);
		if (nmig_cache_file_get(c->cache, name, &st, &c->rev, sum, 1) ==
		    NMIG_OK)
			hits++;
		rev_clear(&c->rev);
	}
	get_s = now_s() - t0;
	get_cpu = cpu_s() - c0;
	print_message("100000 entries: stored in %.3f s (%.3f s CPU), read in "
		      "%.3f s (%.3f s CPU)\n",
		      put_s, put_cpu, get_s, get_cpu);
	assert_int_equal(hits, N);
	assert_int_equal(c->diags.n, 0);
	/*
	 * The bound is on CPU time, which other jobs on a busy machine do
	 * not inflate; wall time only has to stay within a few times that.
	 */
	assert_true(put_cpu < limit);
	assert_true(get_cpu < limit);
	assert_true(put_s < 3 * limit);
	assert_true(get_s < 3 * limit);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.files, N);
}

static void test_info_clear(void **state)
{
	struct ctx *c = *state;
	char f[700];
	int removed = -1;

	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.state, NMIG_CACHE_ABSENT);
	assert_string_equal(nmig_cache_state_name(c->info.state), "absent");
	assert_int_equal(c->info.size, 0);
	nmig_cache_info_release(&c->info);
	assert_int_equal(nmig_cache_clear(c->path, &removed), NMIG_OK);
	assert_int_equal(removed, 0);

	open_cache(c);
	fill(c->cache, 4); /* leaves -wal and -shm while open */
	/* set-aside copies are listed (sorted) and kept by clear */
	snprintf(f, sizeof(f), "%s.bad-1700000001", c->path);
	write_file(f, "x", 1);
	snprintf(f, sizeof(f), "%s.bad-1700000000.1", c->path);
	write_file(f, "x", 1);
	snprintf(f, sizeof(f), "%s.bad-x", c->path); /* not one */
	write_file(f, "x", 1);
	assert_int_equal(nmig_cache_info(&c->info, c->path), NMIG_OK);
	assert_int_equal(c->info.nset_aside, 2);
	assert_non_null(strstr(c->info.set_aside[0], "bad-1700000000.1"));
	assert_non_null(strstr(c->info.set_aside[1], "bad-1700000001"));
	nmig_cache_info_release(&c->info);
	nmig_cache_close(c->cache);
	c->cache = NULL;

	/* a stale -shm and -journal go too */
	snprintf(f, sizeof(f), "%s-shm", c->path);
	write_file(f, "", 0);
	snprintf(f, sizeof(f), "%s-journal", c->path);
	write_file(f, "", 0);
	assert_int_equal(nmig_cache_clear(c->path, &removed), NMIG_OK);
	/* the file, its (kept, empty) -wal, -shm, -lock, the stale -journal */
	assert_int_equal(removed, 5);
	assert_int_equal(access(c->path, F_OK), -1);
	snprintf(f, sizeof(f), "%s-journal", c->path);
	assert_int_equal(access(f, F_OK), -1);
	assert_int_equal(count_set_aside(c), 2);
	assert_int_equal(c->info.state, NMIG_CACHE_ABSENT);

	/* what cannot be deleted is an error naming it */
	assert_int_equal(mkdir(c->path, 0700), 0);
	snprintf(f, sizeof(f), "%s/inside", c->path);
	write_file(f, "x", 1);
	assert_int_equal(nmig_cache_clear(c->path, &removed), NMIG_EIO);
	assert_non_null(strstr(nmig_error_last()->message, c->path));
	assert_non_null(strstr(nmig_error_last()->message,
			       "cannot delete plan cache file"));
	unlink(f);
	rmdir(c->path);
}

/*
 * Four processes open the same corrupt file at once: it is set aside
 * exactly once (one warning among them), and every process ends up on the
 * same new cache, so no one's entries are lost with a second move.
 */
static void test_set_aside_race(void **state)
{
	struct ctx *c = *state;
	enum { NPROC = 4, PER = 30 };
	unsigned char junk[4096];
	int round, k, status, warned;
	pid_t pid[NPROC];
	size_t i;

	for (round = 0; round < 10; round++) {
		int go[2];
		char dir[600];

		snprintf(dir, sizeof(dir), "%s/.nmig", c->dir);
		rm_rf(dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		for (i = 0; i < sizeof(junk); i++)
			junk[i] = rand_byte();
		write_file(c->path, junk, sizeof(junk));
		assert_int_equal(pipe(go), 0);
		for (k = 0; k < NPROC; k++) {
			pid[k] = fork();
			assert_true(pid[k] >= 0);
			if (pid[k] == 0) {
				struct nmig_diags d = NMIG_DIAGS_INIT;
				struct nmig_cache *cache = NULL;
				char b, name[32];
				int code;

				close(go[1]);
				if (read(go[0], &b, 1) != 0)
					_exit(90);
				if (nmig_cache_open(&cache, c->path, &d) ||
				    !cache) {
					fprintf(stderr, "child %d: %s\n", k,
						d.n ? d.items[0].message
						    : "no cache");
					_exit(91);
				}
				for (i = 0; i < PER; i++) {
					struct stat st =
					    fake_stat((long long)i, OLD_SEC, i);

					snprintf(name, sizeof(name), "%d-%zu",
						 k, i);
					nmig_cache_file_put(cache, name, &st,
							    NULL, SUM_A, 0);
				}
				code = nmig_cache_usable(cache) ? 0 : 92;
				nmig_cache_close(cache);
				if (code == 0 && d.n == 1 &&
				    !strcmp(d.items[0].rule, "cache-reset"))
					code = 10;
				else if (code == 0 && d.n)
					code = 93;
				for (i = 0; i < d.n; i++)
					fprintf(stderr, "child %d: %s\n", k,
						d.items[i].message);
				nmig_diags_release(&d);
				_exit(code);
			}
		}
		close(go[0]);
		close(go[1]);
		warned = 0;
		for (k = 0; k < NPROC; k++) {
			assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
			assert_true(WIFEXITED(status));
			if (WEXITSTATUS(status) == 10)
				warned++;
			else
				assert_int_equal(WEXITSTATUS(status), 0);
		}
		assert_int_equal(warned, 1);
		assert_int_equal(count_set_aside(c), 1);
		assert_int_equal(c->info.state, NMIG_CACHE_OK);
		assert_int_equal(c->info.files, NPROC * PER);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_path),
	    cmocka_unit_test(test_dbkey),
	    cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_roundtrip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_implicit_parents, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_racy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_results, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_check_damaged, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_applied, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_random, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_short, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_odd, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_appid, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_outdated_schema, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_pages, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_lookups, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_processes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_creation_race, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_set_aside_race, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_100k, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_info_clear, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
