/*
 * Unit tests of the plan cache in use (lib/revfile.c's
 * nmig_revset_load_cached, lib/sqlcheck.c, lib/lint/'s cached lint, the
 * config's `cache = off`): every load, check and lint through the cache --
 * cold, then warm -- must give exactly what the uncached function gives,
 * compared field by field, on every fixture directory, on a generated
 * history with every header feature, and after edits that change only a
 * file's size, only its mtime or only its inode. Files with errors or
 * warnings are never stored, a file modified a moment ago is not stored,
 * a corrupt or unusable cache changes nothing, and no password reaches the
 * cache file. Each test works on copies in its own temporary directory,
 * with mtimes set in the past so that entries are stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache.h"
#include "config.h"
#include "diag.h"
#include "error.h"
#include "lint.h"
#include "revfile.h"
#include "sqlcheck.h"
#include "secret.h"

/* An mtime safely in the past (2020-01-01): stores are never racy. */
#define OLD_SEC 1577836800LL

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	char tmp[256];	 /* the temporary directory */
	char dir[300];	 /* tmp/migrations */
	char cpath[400]; /* tmp/.nmig/cache.db */
	struct nmig_cache *cache;
	struct nmig_diags cdiags; /* the cache's own warnings */
	struct nmig_revset plain, cached;
	struct nmig_diags dplain, dcached;
	struct nmig_config cfg;
	struct nmig_buf buf;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *t = getenv("TMPDIR");

	if (!c)
		return -1;
	snprintf(c->tmp, sizeof(c->tmp), "%s/nmig-rfcache-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(c->tmp)) {
		free(c);
		return -1;
	}
	snprintf(c->dir, sizeof(c->dir), "%s/migrations", c->tmp);
	snprintf(c->cpath, sizeof(c->cpath), "%s/.nmig/cache.db", c->tmp);
	nmig_buf_init(&c->buf);
	*state = c;
	return 0;
}

/* Remove path and everything under it. */
static void rm_rf(const char *path)
{
	struct stat st;
	struct dirent *de;
	char sub[1024];
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	chmod(path, 0700);
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rm_rf(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nmig_cache_close(c->cache);
	nmig_diags_release(&c->cdiags);
	nmig_revset_release(&c->plain);
	nmig_revset_release(&c->cached);
	nmig_diags_release(&c->dplain);
	nmig_diags_release(&c->dcached);
	nmig_config_release(&c->cfg);
	nmig_buf_release(&c->buf);
	rm_rf(c->tmp);
	free(c);
	nmig_error_clear();
	return 0;
}

static const char *fixtures(void)
{
	const char *root = getenv("NMIG_FIXTURES");

	if (!root)
		fail_msg("NMIG_FIXTURES is not set (run through ctest)");
	return root;
}

/* Copy the regular files and directories under src to dst. */
static void copy_tree(const char *src, const char *dst)
{
	char from[1024], to[1024], data[65536];
	struct dirent *de;
	struct stat st;
	DIR *d;
	FILE *in, *out;
	size_t n;

	assert_int_equal(mkdir(dst, 0700), 0);
	d = opendir(src);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", src, de->d_name);
		snprintf(to, sizeof(to), "%s/%s", dst, de->d_name);
		assert_int_equal(lstat(from, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			copy_tree(from, to);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		in = fopen(from, "rb");
		assert_non_null(in);
		out = fopen(to, "wb");
		assert_non_null(out);
		while ((n = fread(data, 1, sizeof(data), in)) > 0)
			assert_int_equal(fwrite(data, 1, n, out), n);
		fclose(in);
		assert_int_equal(fclose(out), 0);
	}
	closedir(d);
}

/* Set the mtime of path to sec (+ nsec). */
static void set_mtime(const char *path, long long sec, long nsec)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = (time_t)sec;
	ts[0].tv_nsec = ts[1].tv_nsec = nsec;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* Give every file in dir an old mtime, each its own nanoseconds. */
static void backdate(const char *dir)
{
	char path[1024];
	struct dirent *de;
	long ns = 1;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		set_mtime(path, OLD_SEC, ns++);
	}
	closedir(d);
}

/* Write text to dir/name (replacing it in place, same inode). */
static void put_text(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	if (*text)
		assert_int_equal(fwrite(text, 1, strlen(text), f),
				 strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void open_cache(struct ctx *c)
{
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_int_equal(nmig_cache_open(&c->cache, c->cpath, &c->cdiags),
			 NMIG_OK);
	assert_non_null(c->cache);
}

static struct nmig_cache_stats stats(const struct ctx *c)
{
	struct nmig_cache_stats st;

	nmig_cache_stats_get(c->cache, &st);
	return st;
}

static void assert_str_same(const char *a, const char *b, const char *what)
{
	if (!a || !b) {
		if (a != b)
			fail_msg("%s: '%s' vs '%s'", what, a ? a : "(null)",
				 b ? b : "(null)");
		return;
	}
	if (strcmp(a, b) != 0)
		fail_msg("%s: '%s' vs '%s'", what, a, b);
}

static void assert_list_same(char **a, size_t na, char **b, size_t nb,
			     const char *what)
{
	size_t i;

	if (na != nb)
		fail_msg("%s: %zu vs %zu items", what, na, nb);
	for (i = 0; i < na; i++)
		assert_str_same(a[i], b[i], what);
}

static void assert_file_same(const struct nmig_file_info *a,
			     const struct nmig_file_info *b)
{
	assert_str_same(a->path, b->path, "path");
	if (!a->path)
		return;
	assert_str_same(a->checksum, b->checksum, a->path);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->mtime_ns, b->mtime_ns);
	assert_int_equal(a->inode, b->inode);
}

/* Two revsets are equal in every field of every revision. */
static void assert_sets_same(const struct nmig_revset *a,
			     const struct nmig_revset *b)
{
	size_t i;

	assert_str_same(a->dir, b->dir, "dir");
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		const struct nmig_revision *x = &a->revs[i], *y = &b->revs[i];

		assert_str_same(x->id, y->id, "id");
		assert_str_same(x->slug, y->slug, x->id);
		assert_str_same(x->message, y->message, x->id);
		assert_list_same(x->parents, x->nparents, y->parents,
				 y->nparents, x->id);
		assert_int_equal(x->parents_explicit, y->parents_explicit);
		assert_int_equal(x->transactional, y->transactional);
		assert_list_same(x->lint_ignore, x->nlint_ignore,
				 y->lint_ignore, y->nlint_ignore, x->id);
		assert_int_equal(x->header_lines, y->header_lines);
		assert_file_same(&x->up, &y->up);
		assert_file_same(&x->down, &y->down);
	}
}

static void assert_diag_same(const struct nmig_diag *x,
			     const struct nmig_diag *y)
{
	assert_int_equal(x->severity, y->severity);
	assert_int_equal(x->code, y->code);
	assert_str_same(x->rule, y->rule, "rule");
	assert_str_same(x->file, y->file, "file");
	assert_int_equal(x->line, y->line);
	assert_int_equal(x->col, y->col);
	assert_str_same(x->message, y->message, "message");
	assert_str_same(x->source, y->source, "source");
	assert_str_same(x->hint, y->hint, "hint");
}

/* Two finding lists are equal item by item, in order. */
static void assert_diags_same(const struct nmig_diags *a,
			      const struct nmig_diags *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	assert_int_equal(a->errors, b->errors);
	assert_int_equal(a->warnings, b->warnings);
	for (i = 0; i < a->n; i++)
		assert_diag_same(&a->items[i], &b->items[i]);
}

/* qsort order of findings: file, line, col, rule, message. */
static int cmp_diag(const void *pa, const void *pb)
{
	const struct nmig_diag *a = pa, *b = pb;
	int r;

	if (!a->file != !b->file)
		return a->file ? 1 : -1;
	if (a->file && (r = strcmp(a->file, b->file)) != 0)
		return r;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	if ((r = strcmp(a->rule, b->rule)) != 0)
		return r;
	return strcmp(a->message, b->message);
}

/* Two finding lists are equal once sorted by file, line and column. */
static void assert_diags_same_sorted(struct nmig_diags *a, struct nmig_diags *b)
{
	if (a->n)
		qsort(a->items, a->n, sizeof(*a->items), cmp_diag);
	if (b->n)
		qsort(b->items, b->n, sizeof(*b->items), cmp_diag);
	assert_diags_same(a, b);
}

/*
 * Load c->dir without and with the cache; the results, findings, return
 * values and last errors must be equal. Returns the return value.
 */
static int load_both(struct ctx *c)
{
	char msg[sizeof(nmig_error_last()->message)];
	int rc1, rc2;

	nmig_revset_release(&c->plain);
	nmig_revset_release(&c->cached);
	nmig_diags_release(&c->dplain);
	nmig_diags_release(&c->dcached);
	nmig_error_clear();
	rc1 = nmig_revset_load(&c->plain, c->dir, &c->dplain);
	snprintf(msg, sizeof(msg), "%s", nmig_error_last()->message);
	nmig_error_clear();
	rc2 =
	    nmig_revset_load_cached(&c->cached, c->dir, c->cache, &c->dcached);
	assert_int_equal(rc1, rc2);
	assert_str_same(msg, nmig_error_last()->message, "last error");
	assert_sets_same(&c->plain, &c->cached);
	assert_diags_same(&c->dplain, &c->dcached);
	return rc1;
}

/* Whether rule is about a file's bytes (not its name or its group). */
static int content_rule(const char *rule)
{
	static const char *const rules[] = {
	    "header",	 "header-misplaced", "empty-migration", "file-encoding",
	    "file-read", "file-type",	     "file-size",	NULL,
	};
	int i;

	for (i = 0; rules[i]; i++)
		if (strcmp(rule, rules[i]) == 0)
			return 1;
	return 0;
}

/*
 * The files a load of c->plain stores: every file of a revision without
 * a finding about its bytes (findings about names, such as a duplicate id,
 * are made again from the names on every load).
 */
static size_t clean_files(const struct ctx *c)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->plain.n; i++) {
		const struct nmig_revision *r = &c->plain.revs[i];
		const char *paths[2] = {r->up.path, r->down.path};
		int k;

		for (k = 0; k < 2; k++) {
			int clean = paths[k] != NULL;

			for (j = 0; clean && j < c->dplain.n; j++) {
				const struct nmig_diag *d = &c->dplain.items[j];

				if (d->file && strcmp(d->file, paths[k]) == 0 &&
				    content_rule(d->rule))
					clean = 0;
			}
			n += clean;
		}
	}
	return n;
}

/* Load the copy of one fixture directory cold and warm. */
static void fixture_cold_warm(struct ctx *c, const char *src)
{
	struct nmig_cache_stats s0, s1, s2;
	size_t clean;

	rm_rf(c->dir);
	rm_rf(c->cpath);
	copy_tree(src, c->dir);
	backdate(c->dir);
	open_cache(c);
	s0 = stats(c);
	load_both(c);
	s1 = stats(c);
	clean = clean_files(c);
	/* cold: every clean file is stored, nothing else */
	assert_int_equal(s1.hits - s0.hits, 0);
	assert_int_equal(s1.stores - s0.stores, clean);
	load_both(c);
	s2 = stats(c);
	/* warm: every stored file is a hit, nothing is stored again */
	assert_int_equal(s2.hits - s1.hits, clean);
	assert_int_equal(s2.stale - s1.stale, 0);
	assert_int_equal(s2.stores - s1.stores, 0);
	nmig_cache_close(c->cache);
	c->cache = NULL;
}

/* Every directory of fixtures/<group> (and templates_project/db). */
static void fixture_group(struct ctx *c, const char *group)
{
	char path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", fixtures(), group);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", fixtures(), group,
			 de->d_name);
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (strcmp(de->d_name, "templates_project") == 0)
			strncat(path, "/db", sizeof(path) - strlen(path) - 1);
		fixture_cold_warm(c, path);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

static void test_fixtures_revfile(void **state)
{
	fixture_group(*state, "revfile");
}

static void test_fixtures_graph(void **state)
{
	fixture_group(*state, "graph");
}

static void test_fixtures_cli(void **state)
{
	fixture_group(*state, "cli");
}

static void test_example_migrations(void **state)
{
	struct ctx *c = *state;
	char path[1024];

	snprintf(path, sizeof(path), "%s/../../migrations", fixtures());
	fixture_cold_warm(c, path);
	assert_true(c->plain.n > 0);
}

/*
 * Write a history of n revisions using every header feature: implicit
 * and explicit parents, merges, `transaction off`, lint-ignore, CRLF and
 * a BOM, no message, no down file, an empty down file, a misplaced
 * header line (a warning: never stored) and an empty up file.
 */
static void generate(const char *dir, int n)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	char name[128];
	int i;

	assert_int_equal(mkdir(dir, 0700), 0);
	for (i = 1; i <= n; i++) {
		const char *nl = i % 17 == 0 ? "\r\n" : "\n";

		nmig_buf_clear(&b);
		if (i % 19 == 0)
			nmig_buf_puts(&b, "\xEF\xBB\xBF");
		if (i == 1)
			nmig_buf_printf(&b, "-- nmig:parents base%s", nl);
		else if (i % 5 == 0 && i > 2)
			nmig_buf_printf(&b, "-- nmig:parents %06d, %06d%s",
					i - 1, i - 2, nl);
		else if (i % 7 != 0)
			nmig_buf_printf(&b, "-- nmig:parents %06d%s", i - 1,
					nl);
		if (i % 3 != 0)
			nmig_buf_printf(&b, "-- nmig:message step %d%s", i, nl);
		if (i % 11 == 0)
			nmig_buf_printf(&b, "-- nmig:transaction off%s", nl);
		if (i % 13 == 0)
			nmig_buf_printf(&b,
					"-- nmig:lint-ignore prefer-text, "
					"prefer-jsonb%s",
					nl);
		nmig_buf_printf(&b, "%sCREATE TABLE t_%d (id bigint);%s", nl, i,
				nl);
		if (i % 29 == 0)
			nmig_buf_printf(&b, "-- nmig:message too late%s", nl);
		if (i % 37 == 0)
			nmig_buf_clear(&b);
		snprintf(name, sizeof(name), "%06d_step_%d.up.sql", i, i);
		put_text(dir, name, b.ptr);
		if (i % 23 == 0)
			continue;
		snprintf(name, sizeof(name), "%06d_step_%d.down.sql", i, i);
		nmig_buf_clear(&b);
		if (i % 31 != 0)
			nmig_buf_printf(&b, "DROP TABLE t_%d;%s", i, nl);
		put_text(dir, name, b.ptr);
	}
	nmig_buf_release(&b);
}

static void test_generated_history(void **state)
{
	struct ctx *c = *state;
	struct nmig_cache_stats s1, s2;
	size_t i, crlf = 0, implicit = 0;

	generate(c->dir, 3000);
	backdate(c->dir);
	open_cache(c);
	assert_int_equal(load_both(c), NMIG_OK);
	s1 = stats(c);
	assert_int_equal(s1.stores, clean_files(c));
	assert_true(c->dplain.warnings > 0); /* misplaced, empty */
	assert_int_equal(load_both(c), NMIG_OK);
	s2 = stats(c);
	assert_int_equal(s2.hits - s1.hits, s1.stores);
	assert_int_equal(s2.stores, s1.stores);
	/* the features are there: implicit parents filled, CRLF read */
	for (i = 0; i < c->cached.n; i++) {
		const struct nmig_revision *r = &c->cached.revs[i];

		implicit += !r->parents_explicit && r->nparents == 1;
		crlf += strcmp(r->id, "000017") == 0 &&
			strcmp(r->message, "step 17") == 0;
	}
	assert_true(implicit > 100);
	assert_int_equal(crlf, 1);
	/* a cache closed and opened again serves the same */
	open_cache(c);
	load_both(c);
	assert_int_equal(stats(c).hits, s1.stores);
}

/* dir/name's stat. */
static struct stat stat_of(const char *dir, const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st;
}

/* The revision id in c->cached, failing when absent. */
static const struct nmig_revision *cached_rev(const struct ctx *c,
					      const char *id)
{
	size_t i;

	for (i = 0; i < c->cached.n; i++)
		if (strcmp(c->cached.revs[i].id, id) == 0)
			return &c->cached.revs[i];
	fail_msg("revision '%s' is missing", id);
	return NULL;
}

static void test_stale_entries_refreshed(void **state)
{
	struct ctx *c = *state;
	const char *name = "000010_step_10.up.sql";
	char path[1024], tmp[1024];
	struct nmig_cache_stats s0, s1;
	struct stat before, after;

	generate(c->dir, 40);
	backdate(c->dir);
	open_cache(c);
	load_both(c);
	load_both(c);
	snprintf(path, sizeof(path), "%s/%s", c->dir, name);

	/* size only: in place (same inode), the old mtime put back */
	before = stat_of(c->dir, name);
	put_text(c->dir, name,
		 "-- nmig:parents 000009\n-- nmig:message longer now\n\n"
		 "SELECT 1;\n");
	set_mtime(path, before.st_mtim.tv_sec, before.st_mtim.tv_nsec);
	after = stat_of(c->dir, name);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_not_equal(after.st_size, before.st_size);
	s0 = stats(c);
	load_both(c);
	s1 = stats(c);
	assert_int_equal(s1.stale - s0.stale, 1);
	assert_string_equal(cached_rev(c, "000010")->message, "longer now");
	load_both(c); /* the refreshed entry */
	assert_int_equal(stats(c).stale, s1.stale);

	/* mtime only: same size and inode, other bytes */
	before = stat_of(c->dir, name);
	put_text(c->dir, name,
		 "-- nmig:parents 000008\n-- nmig:message longer wow\n\n"
		 "SELECT 1;\n");
	set_mtime(path, before.st_mtim.tv_sec + 1, before.st_mtim.tv_nsec);
	after = stat_of(c->dir, name);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_size, before.st_size);
	s0 = stats(c);
	load_both(c);
	assert_int_equal(stats(c).stale - s0.stale, 1);
	assert_string_equal(cached_rev(c, "000010")->message, "longer wow");
	assert_string_equal(cached_rev(c, "000010")->parents[0], "000008");

	/* inode only: a new file renamed over it, same size and mtime */
	before = stat_of(c->dir, name);
	snprintf(tmp, sizeof(tmp), "%s/new.tmp", c->tmp);
	{
		FILE *f = fopen(tmp, "wb");
		const char *t = "-- nmig:parents 000007\n-- nmig:message "
				"longer yes\n\nSELECT 1;\n";

		assert_non_null(f);
		assert_int_equal(fwrite(t, 1, strlen(t), f), strlen(t));
		assert_int_equal(fclose(f), 0);
	}
	set_mtime(tmp, before.st_mtim.tv_sec, before.st_mtim.tv_nsec);
	assert_int_equal(rename(tmp, path), 0);
	after = stat_of(c->dir, name);
	assert_int_not_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	s0 = stats(c);
	load_both(c);
	assert_int_equal(stats(c).stale - s0.stale, 1);
	assert_string_equal(cached_rev(c, "000010")->parents[0], "000007");

	/* a down file changed: its checksum follows */
	snprintf(path, sizeof(path), "%s/000012_step_12.down.sql", c->dir);
	put_text(c->dir, "000012_step_12.down.sql", "DROP TABLE t_12, x;\n");
	set_mtime(path, OLD_SEC + 100, 0);
	s0 = stats(c);
	load_both(c);
	assert_int_equal(stats(c).stale - s0.stale, 1);
}

/* Wall-clock seconds, for the lock test. */
static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A load reads the cache in one read session: it sees what an earlier
 * load stored, and it does not wait for another process that holds the
 * write lock (a warm load only reads).
 */
static void test_load_never_waits_for_writer(void **state)
{
	struct ctx *c = *state;
	struct nmig_cache_stats s1;
	int sync[2];
	double t0, t1;
	char byte;
	pid_t pid;
	int status;

	generate(c->dir, 300);
	backdate(c->dir);
	open_cache(c);
	load_both(c);
	s1 = stats(c);
	assert_true(s1.stores > 500);
	/* another handle sees the entries: the session was committed */
	open_cache(c);
	load_both(c);
	assert_int_equal(stats(c).hits, s1.stores);

	/* no SQLite handle may cross a fork */
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_int_equal(pipe(sync), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nmig_cache *h = NULL;
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_mtim.tv_sec = (time_t)OLD_SEC;
		if (nmig_cache_open(&h, c->cpath, NULL) != NMIG_OK || !h)
			_exit(1);
		nmig_cache_begin(h);
		nmig_cache_file_put(h, "zzz.down.sql", &st, NULL,
				    c->plain.revs[0].up.checksum, 0);
		if (write(sync[1], "x", 1) != 1)
			_exit(1);
		sleep(3);
		nmig_cache_commit(h);
		nmig_cache_close(h);
		_exit(0);
	}
	close(sync[1]);
	assert_int_equal(read(sync[0], &byte, 1), 1);
	close(sync[0]);
	open_cache(c);
	t0 = wall_s();
	load_both(c);
	t1 = wall_s();
	assert_int_equal(stats(c).hits, s1.stores);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (t1 - t0 > 1.5)
		fail_msg("the load waited %.1f s for the writer", t1 - t0);
	assert_int_equal(c->cdiags.n, 0); /* no busy warning */
}

/*
 * The scan answers as nmig_cache_file_get does: in name order, with names
 * missing from the cache, a stale entry, and a name asked out of order.
 */
static void test_scan_matches_point_lookups(void **state)
{
	static const char *const ask[] = {
	    "000001_step_1.down.sql", "000001_step_1.up.sql",
	    "000002_missing.up.sql",  "000003_step_3.up.sql",
	    "000002_step_2.up.sql", /* out of order */
	    "000005_step_5.down.sql", "zzz_none.up.sql",
	};
	struct ctx *c = *state;
	struct nmig_cache_scan *scan = NULL;
	struct nmig_cache_stats a, b;
	char path[1024];
	size_t i;

	generate(c->dir, 6);
	backdate(c->dir);
	open_cache(c);
	load_both(c);
	/* 000003's up file changes: its entry is stale */
	snprintf(path, sizeof(path), "%s/000003_step_3.up.sql", c->dir);
	set_mtime(path, OLD_SEC + 9, 0);
	for (i = 0; i < sizeof(ask) / sizeof(ask[0]); i++) {
		struct nmig_revision r1, r2;
		char s1[NMIG_SHA256_HEX] = "", s2[NMIG_SHA256_HEX] = "";
		struct stat st;
		int up = strstr(ask[i], ".up.") != NULL, rc1, rc2;

		memset(&st, 0, sizeof(st));
		snprintf(path, sizeof(path), "%s/%s", c->dir, ask[i]);
		stat(path, &st);
		memset(&r1, 0, sizeof(r1));
		memset(&r2, 0, sizeof(r2));
		if (i == 0)
			assert_int_equal(nmig_cache_scan_open(&scan, c->cache),
					 NMIG_OK);
		assert_non_null(scan);
		a = stats(c);
		rc1 = nmig_cache_scan_get(scan, ask[i], &st, up ? &r1 : NULL,
					  s1, up);
		b = stats(c);
		nmig_cache_scan_close(scan);
		scan = NULL;
		rc2 = nmig_cache_file_get(c->cache, ask[i], &st,
					  up ? &r2 : NULL, s2, up);
		assert_int_equal(rc1, rc2);
		assert_string_equal(s1, s2);
		assert_str_same(r1.id, r2.id, ask[i]);
		assert_str_same(r1.message, r2.message, ask[i]);
		assert_list_same(r1.parents, r1.nparents, r2.parents,
				 r2.nparents, ask[i]);
		assert_int_equal(b.hits - a.hits, rc1 == NMIG_OK);
		nmig_revision_release(&r1);
		nmig_revision_release(&r2);
		/* reopen and skip ahead to the next name, as a loader does */
		if (i + 1 < sizeof(ask) / sizeof(ask[0])) {
			size_t k;

			assert_int_equal(nmig_cache_scan_open(&scan, c->cache),
					 NMIG_OK);
			for (k = 0; k <= i; k++) {
				char cs[NMIG_SHA256_HEX];

				memset(&st, 0, sizeof(st));
				nmig_cache_scan_get(scan, ask[k], &st, NULL, cs,
						    0);
			}
		}
	}
	assert_null(scan);
}

static void test_errors_never_stored(void **state)
{
	struct ctx *c = *state;
	char path[1024];
	struct nmig_cache_stats s1, s2;

	assert_int_equal(mkdir(c->dir, 0700), 0);
	put_text(c->dir, "001_a.up.sql", "-- nmig:parents base\nSELECT 1;\n");
	put_text(c->dir, "002_b.up.sql", "-- nmig:colour red\nSELECT 1;\n");
	put_text(c->dir, "003_c.up.sql", "SELECT '\xff';\n");
	put_text(c->dir, "003_c.down.sql", "SELECT '\xfe';\n");
	put_text(c->dir, "004_d.up.sql", "SELECT 1;\n-- nmig:message x\n");
	put_text(c->dir, "005_e.up.sql", "");
	backdate(c->dir);
	open_cache(c);
	assert_int_equal(load_both(c), NMIG_EINPUT);
	s1 = stats(c);
	assert_int_equal(s1.stores, 1); /* only 001 */
	assert_int_equal(load_both(c), NMIG_EINPUT);
	s2 = stats(c);
	assert_int_equal(s2.hits - s1.hits, 1);
	assert_int_equal(s2.stores, 1);
	assert_true(c->dcached.errors >= 3);
	assert_true(c->dcached.warnings >= 2);

	/* a good file made bad is read again and its error reported */
	snprintf(path, sizeof(path), "%s/001_a.up.sql", c->dir);
	put_text(c->dir, "001_a.up.sql", "-- nmig:parents\nSELECT 1;\n");
	set_mtime(path, OLD_SEC + 5, 0);
	load_both(c);
	assert_true(c->dcached.errors >= 4);
}

static void test_recent_files_not_stored(void **state)
{
	struct ctx *c = *state;
	struct nmig_cache_stats st;

	generate(c->dir, 5);
	open_cache(c);
	load_both(c);
	load_both(c);
	st = stats(c);
	assert_int_equal(st.stores, 0);
	assert_int_equal(st.hits, 0);
	assert_true(st.skipped_racy > 0);
}

static void test_corrupt_and_unusable_cache(void **state)
{
	struct ctx *c = *state;
	char path[1024];
	int fd;

	generate(c->dir, 50);
	backdate(c->dir);
	snprintf(path, sizeof(path), "%s/.nmig", c->tmp);
	assert_int_equal(mkdir(path, 0700), 0);
	fd = open(c->cpath, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(
	    write(fd, "this is not a database at all, no.....", 38), 38);
	close(fd);
	open_cache(c);
	assert_int_equal(c->cdiags.warnings, 1);
	assert_string_equal(c->cdiags.items[0].rule, "cache-reset");
	load_both(c);
	load_both(c);
	assert_true(stats(c).hits > 0);

	/* a location that cannot hold a file: no cache, same result */
	nmig_cache_close(c->cache);
	c->cache = NULL;
	snprintf(c->cpath, sizeof(c->cpath), "%s/000001_step_1.up.sql/c.db",
		 c->dir);
	assert_int_equal(nmig_cache_open(&c->cache, c->cpath, &c->cdiags),
			 NMIG_OK);
	assert_null(c->cache);
	assert_int_equal(c->cdiags.warnings, 2);
	load_both(c);
}

/* Whether the cache files (db, -wal) hold the bytes s. */
static int cache_holds(const struct ctx *c, const char *s)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char path[1024];
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i, k, n = strlen(s);
	int found = 0;

	for (k = 0; k < 4 && !found; k++) {
		snprintf(path, sizeof(path), "%s%s", c->cpath, suffix[k]);
		nmig_buf_clear(&b);
		if (nmig_buf_read_file(&b, path, (size_t)1 << 28) != NMIG_OK)
			continue;
		for (i = 0; i + n <= b.len && !found; i++)
			found = memcmp(b.ptr + i, s, n) == 0;
	}
	nmig_buf_release(&b);
	return found;
}

static void test_secret_message_not_stored(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(mkdir(c->dir, 0700), 0);
	put_text(c->dir, "001_a.up.sql",
		 "-- nmig:message via postgresql://app:hunter2@db/x\n"
		 "SELECT 1;\n");
	put_text(c->dir, "002_set_password.up.sql",
		 "-- nmig:message use password=sesame\nSELECT 2;\n");
	put_text(c->dir, "003_password_rotation.up.sql", "SELECT 3;\n");
	backdate(c->dir);
	open_cache(c);
	load_both(c);
	/* 003: its message is its file name, which is no secret */
	assert_int_equal(stats(c).stores, 1);
	load_both(c);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_false(cache_holds(c, "hunter2"));
	assert_false(cache_holds(c, "sesame"));
	assert_true(cache_holds(c, "003_password_rotation.up.sql"));
}

static void test_secret_detector(void **state)
{
	static const struct {
		const char *text;
		int secret;
	} cases[] = {
	    {"CREATE TABLE t (id int);", 0},
	    {"ALTER ROLE app PASSWORD 'x';", 1},
	    {"alter role app password 'x';", 1},
	    {"OPTIONS (user 'u', PASSWD 'x')", 1},
	    {"Pwd=x", 1},
	    {"see https://example.com/path:8080@x", 0},
	    {"postgresql://app@db/x", 0},
	    {"postgresql://app:s3cret@db/x", 1},
	    {"'host=db://u:p@h'", 1},
	    {"http://[::1]:80/", 0},
	    {"", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (nmig_secret_may_hold(cases[i].text,
						  strlen(cases[i].text)) !=
		    cases[i].secret)
			fail_msg("'%s' should%s be a secret", cases[i].text,
				 cases[i].secret ? "" : " not");
	assert_false(nmig_secret_may_hold(NULL, 0));
}

/* Check every revision of c->plain without and with the cache; equal.
 * flip_tx: check for the other transaction mode. */
static void check_all(struct ctx *c, int flip_tx)
{
	size_t i;

	for (i = 0; i < c->plain.n; i++) {
		struct nmig_revision r = c->plain.revs[i];
		struct nmig_diags a = NMIG_DIAGS_INIT;
		struct nmig_diags b = NMIG_DIAGS_INIT;
		char m1[sizeof(nmig_error_last()->message)];
		int rc1, rc2;

		if (flip_tx)
			r.transactional = !r.transactional;
		nmig_error_clear();
		rc1 =
		    nmig_sqlcheck_revision(NULL, &r, 0, NMIG_MAX_FILE_SIZE, &a);
		snprintf(m1, sizeof(m1), "%s", nmig_error_last()->message);
		nmig_error_clear();
		rc2 = nmig_sqlcheck_revision(c->cache, &r, 0,
					     NMIG_MAX_FILE_SIZE, &b);
		assert_int_equal(rc1, rc2);
		assert_str_same(m1, nmig_error_last()->message, "last error");
		assert_diags_same(&a, &b);
		nmig_diags_release(&a);
		nmig_diags_release(&b);
	}
}

static void test_sql_check_cached(void **state)
{
	struct ctx *c = *state;
	struct nmig_cache_stats s0, s1, s2, s3;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	int rc;

	assert_int_equal(mkdir(c->dir, 0700), 0);
	put_text(c->dir, "001_ok.up.sql", "CREATE TABLE a (id int);\n");
	put_text(c->dir, "001_ok.down.sql", "DROP TABLE a;\n");
	put_text(c->dir, "002_syntax.up.sql",
		 "CREATE TABLE b (id int);\nCREATE TABEL c (id int);\n");
	put_text(c->dir, "003_tx.up.sql",
		 "BEGIN;\nCREATE INDEX CONCURRENTLY i ON a (id);\nCOMMIT;\n");
	put_text(c->dir, "003_tx.down.sql", "DROP INDEX i;\nCOMMIT;\n");
	put_text(c->dir, "004_off.up.sql",
		 "-- nmig:transaction off\n"
		 "CREATE INDEX CONCURRENTLY j ON a (id);\n");
	put_text(c->dir, "005_newer.up.sql",
		 "SELECT JSON_VALUE('{}', '$.a');\n");
	put_text(c->dir, "006_crlf.up.sql",
		 "CREATE TABLE b (id int);\r\nCREATE TABEL c (id int);\r\n");
	put_text(c->dir, "007_same.up.sql", "CREATE TABLE a (id int);\n");
	put_text(c->dir, "008_role.up.sql",
		 "ALTER ROLE app PASSWORD 'opensesame' VALID UNTIL;\n");
	backdate(c->dir);
	open_cache(c);
	load_both(c);
	s0 = stats(c);
	check_all(c, 0);
	s1 = stats(c);
	/* 8 revisions, 7 stored (not the one with a password): 003 has a
	 * finding about its down file, so it is two entries */
	assert_int_equal(s1.stores - s0.stores, 8);
	check_all(c, 0);
	s2 = stats(c);
	assert_int_equal(s2.hits - s1.hits, 8);
	assert_int_equal(s2.stores, s1.stores);
	/* the other transaction mode is another entry */
	check_all(c, 1);
	s3 = stats(c);
	assert_true(s3.stores > s2.stores);
	check_all(c, 1);
	assert_int_equal(stats(c).stores, s3.stores);

	/* a file over the cap is refused, cached or not */
	rc = nmig_sqlcheck_revision(c->cache, &c->plain.revs[1], 0, 10, &d);
	assert_int_not_equal(rc, NMIG_OK);
	assert_int_equal(d.errors, 1);
	assert_string_equal(d.items[0].rule, "sql-file");
	nmig_diags_release(&d);
	/* a skipped file gets no finding, and nothing is stored */
	s1 = stats(c);
	rc = nmig_sqlcheck_revision(c->cache, &c->plain.revs[2],
				    NMIG_SQLCHECK_SKIP_UP, NMIG_MAX_FILE_SIZE,
				    &d);
	assert_int_equal(rc, NMIG_EINPUT);
	assert_int_equal(d.errors, 1);
	assert_string_equal(d.items[0].file, c->plain.revs[2].down.path);
	assert_int_equal(stats(c).stores, s1.stores);
	assert_int_equal(stats(c).hits, s1.hits);
	nmig_diags_release(&d);

	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_false(cache_holds(c, "opensesame"));
	assert_true(cache_holds(c, "TABEL"));
}

/*
 * A file edited between the load and the check: the findings of its new
 * bytes must not be stored under the checksum the load saw; a file
 * modified a moment ago is not stored either.
 */
static void test_check_not_stored_after_edit(void **state)
{
	struct ctx *c = *state;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	struct nmig_lint_config cfg;
	struct nmig_buf checker = NMIG_BUF_INIT;
	struct nmig_cache_stats s0;
	char path[1024];

	assert_int_equal(mkdir(c->dir, 0700), 0);
	put_text(c->dir, "001_a.up.sql", "CREATE TABLE a (id bigint);\n");
	put_text(c->dir, "001_a.down.sql", "DROP TABLE a;\n");
	put_text(c->dir, "002_b.up.sql", "CREATE TABLE b (id bigint);\n");
	put_text(c->dir, "003_c.up.sql", "CREATE TABLE c (id bigint);\n");
	put_text(c->dir, "003_c.down.sql", "DROP TABLE c;\n");
	backdate(c->dir);
	open_cache(c);
	load_both(c);
	nmig_lint_config_init(&cfg);
	assert_int_equal(nmig_lint_checker(&checker, &cfg), NMIG_OK);

	/* 001's up file gains a syntax error after the load */
	snprintf(path, sizeof(path), "%s/001_a.up.sql", c->dir);
	put_text(c->dir, "001_a.up.sql", "CREATE TABEL a (id bigint);\n");
	set_mtime(path, OLD_SEC + 50, 0);
	s0 = stats(c);
	assert_int_equal(nmig_sqlcheck_revision(c->cache, &c->cached.revs[0], 0,
						NMIG_MAX_FILE_SIZE, &d),
			 NMIG_EINPUT);
	assert_int_equal(nmig_lint_revision_cached(&c->cached.revs[0], &cfg, 1,
						   c->cache, checker.ptr, &d),
			 NMIG_EINPUT);
	assert_int_equal(stats(c).stores, s0.stores);
	nmig_diags_release(&d);
	/* 003's down file changes and still parses: lint is clean, and
	 * still not stored */
	snprintf(path, sizeof(path), "%s/003_c.down.sql", c->dir);
	put_text(c->dir, "003_c.down.sql", "DROP TABLE IF EXISTS c;\n");
	set_mtime(path, OLD_SEC + 60, 0);
	assert_int_equal(nmig_lint_revision_cached(&c->cached.revs[2], &cfg, 1,
						   c->cache, checker.ptr, &d),
			 NMIG_OK);
	assert_int_equal(nmig_sqlcheck_revision(c->cache, &c->cached.revs[2], 0,
						NMIG_MAX_FILE_SIZE, &d),
			 NMIG_OK);
	assert_int_equal(stats(c).stores, s0.stores);
	nmig_diags_release(&d);

	/* 002 was modified a moment ago: checked, not stored */
	put_text(c->dir, "002_b.up.sql", "CREATE TABLE b (id int);\n");
	load_both(c);
	s0 = stats(c);
	assert_int_equal(nmig_sqlcheck_revision(c->cache, &c->cached.revs[1], 0,
						NMIG_MAX_FILE_SIZE, &d),
			 NMIG_OK);
	assert_int_equal(nmig_lint_revision_cached(&c->cached.revs[1], &cfg, 1,
						   c->cache, checker.ptr, &d),
			 NMIG_OK);
	assert_int_equal(stats(c).stores, s0.stores);
	nmig_diags_release(&d);

	/* reloaded, 001 is checked for what it holds now, then stored */
	load_both(c);
	check_all(c, 0);
	s0 = stats(c);
	check_all(c, 0);
	assert_int_equal(stats(c).hits - s0.hits, 2); /* 001 and 003 */
	nmig_buf_release(&checker);
}

/* Lint every revision of c->plain without and with the cache; equal. */
static void lint_all(struct ctx *c, const struct nmig_lint_config *cfg,
		     int strict)
{
	struct nmig_buf checker = NMIG_BUF_INIT;
	size_t i;

	assert_int_equal(nmig_lint_checker(&checker, cfg), NMIG_OK);
	for (i = 0; i < c->plain.n; i++) {
		const struct nmig_revision *r = &c->plain.revs[i];
		struct nmig_diags a = NMIG_DIAGS_INIT;
		struct nmig_diags b = NMIG_DIAGS_INIT;
		int rc1, rc2;

		rc1 = strict ? nmig_lint_revision(r, cfg, &a)
			     : nmig_lint_revision_history(r, cfg, &a);
		rc2 = nmig_lint_revision_cached(r, cfg, strict, c->cache,
						checker.ptr, &b);
		assert_int_equal(rc1, rc2);
		assert_diags_same_sorted(&a, &b);
		nmig_diags_release(&a);
		nmig_diags_release(&b);
	}
	nmig_buf_release(&checker);
}

static void test_lint_cached(void **state)
{
	struct ctx *c = *state;
	struct nmig_lint_config cfg, quiet;
	char path[1024], sub[1400];
	struct dirent *de;
	size_t hits_before, stores_before;
	DIR *d;
	int n = 0;
	const char *kind[2] = {"bad", "good"};

	nmig_lint_config_init(&cfg);
	nmig_lint_config_init(&quiet);
	assert_int_equal(
	    nmig_lint_config_set(&quiet, "prefer-text", "off", NULL, 0),
	    NMIG_OK);
	snprintf(path, sizeof(path), "%s/lint", fixtures());
	d = opendir(path);
	assert_non_null(d);
	open_cache(c);
	while ((de = readdir(d)) != NULL) {
		int k;

		if (de->d_name[0] == '.')
			continue;
		for (k = 0; k < 2; k++) {
			struct stat st;

			snprintf(sub, sizeof(sub), "%s/%s/%s", path, de->d_name,
				 kind[k]);
			if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
				continue;
			rm_rf(c->dir);
			copy_tree(sub, c->dir);
			backdate(c->dir);
			load_both(c);
			lint_all(c, &cfg, 1);
			hits_before = stats(c).hits;
			stores_before = stats(c).stores;
			lint_all(c, &cfg, 1);
			assert_int_equal(stats(c).stores, stores_before);
			assert_true(stats(c).hits >= hits_before);
			lint_all(c, &cfg, 0);
			lint_all(c, &quiet, 1);
			lint_all(c, &quiet, 1);
			n++;
		}
	}
	closedir(d);
	assert_true(n > 20);
	assert_true(stats(c).hits > 20);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	/* the credential fixtures' secrets stay out */
	assert_false(cache_holds(c, "hunter2-canary"));
}

static void test_lint_config_in_checker(void **state)
{
	struct nmig_lint_config a, b;
	struct nmig_buf x = NMIG_BUF_INIT, y = NMIG_BUF_INIT;

	(void)state;
	nmig_lint_config_init(&a);
	nmig_lint_config_init(&b);
	assert_int_equal(nmig_lint_checker(&x, &a), NMIG_OK);
	assert_int_equal(nmig_lint_checker(&y, &b), NMIG_OK);
	assert_string_equal(x.ptr, y.ptr);
	assert_non_null(strstr(x.ptr, NMIG_VERSION));
	nmig_buf_clear(&y);
	assert_int_equal(
	    nmig_lint_config_set(&b, "prefer-jsonb", "error", NULL, 0),
	    NMIG_OK);
	assert_int_equal(nmig_lint_checker(&y, &b), NMIG_OK);
	assert_string_not_equal(x.ptr, y.ptr);
	nmig_buf_clear(&y);
	nmig_lint_config_init(&b);
	b.max_file_size = 1000;
	assert_int_equal(nmig_lint_checker(&y, &b), NMIG_OK);
	assert_string_not_equal(x.ptr, y.ptr);
	assert_non_null(strstr(nmig_sqlcheck_checker(), "pg_query"));
	nmig_buf_release(&x);
	nmig_buf_release(&y);
}

static void test_config_cache_off(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(
	    nmig_config_set(&c->cfg, "cache", "off", "nmig.conf", 3), NMIG_OK);
	assert_int_equal(c->cfg.cache_off, 1);
	assert_null(c->cfg.cache);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "cache", "on", "nmig.conf", 4), NMIG_OK);
	assert_int_equal(c->cfg.cache_off, 0);
	assert_null(c->cfg.cache);
	assert_int_equal(nmig_config_set(&c->cfg, "cache", "off", NULL, 0),
			 NMIG_OK);
	assert_int_equal(nmig_config_set(&c->cfg, "cache", "x/c.db", NULL, 0),
			 NMIG_OK);
	assert_int_equal(c->cfg.cache_off, 0);
	assert_string_equal(c->cfg.cache, "x/c.db");
	assert_int_equal(nmig_config_set(&c->cfg, "cache", "./off", NULL, 0),
			 NMIG_OK);
	assert_string_equal(c->cfg.cache, "./off");
}

static void test_secret_in_diags(void **state)
{
	struct nmig_diag d[3];

	(void)state;
	memset(d, 0, sizeof(d));
	d[0].rule = "sql-syntax";
	d[0].message = "syntax error at or near 'TABLEX'";
	d[1].rule = "lint";
	d[1].message = "adding a column with a volatile default";
	d[1].source = "ALTER TABLE t ADD c int;";
	d[1].hint = "add it without a default";
	assert_false(nmig_secret_in_diags(d, 2));
	assert_false(nmig_secret_in_diags(NULL, 0));
	/* Each of message, source line and hint counts. */
	d[2].rule = "lint";
	d[2].message = "role created";
	d[2].source = "CREATE ROLE app PASSWORD 'sesame';";
	assert_true(nmig_secret_in_diags(d, 3));
	assert_false(nmig_secret_in_diags(d, 2));
	d[2].source = NULL;
	d[2].hint = "connect as postgresql://app:sesame@db/x";
	assert_true(nmig_secret_in_diags(d, 3));
	d[2].hint = NULL;
	d[2].message = "the pwd column is dropped";
	assert_true(nmig_secret_in_diags(d, 3));
}

/* A file's identity: size, mtime to the nanosecond, inode. */
static void test_file_identity(void **state)
{
	struct ctx *c = *state;
	struct nmig_file_info fi = {0};
	struct stat st, st2;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/ident.sql", c->tmp);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("SELECT 1;\n", f);
	fclose(f);
	assert_int_equal(stat(path, &st), 0);
	assert_true(nmig_stat_mtime_ns(&st) ==
		    (long long)st.st_mtim.tv_sec * 1000000000LL +
			st.st_mtim.tv_nsec);
	nmig_file_info_identity(&fi, &st);
	assert_true(fi.size == st.st_size);
	assert_true(fi.inode == (unsigned long long)st.st_ino);
	assert_true(fi.mtime_ns == nmig_stat_mtime_ns(&st));
	assert_true(nmig_file_info_same(&fi, &st));
	st2 = st;
	st2.st_size++;
	assert_false(nmig_file_info_same(&fi, &st2));
	st2 = st;
	st2.st_mtim.tv_nsec = (st.st_mtim.tv_nsec + 1) % 1000000000L;
	assert_false(nmig_file_info_same(&fi, &st2));
	st2 = st;
	st2.st_ino++;
	assert_false(nmig_file_info_same(&fi, &st2));
}

/*
 * The two-file storage on its own: the key, a miss, a store, a hit inside
 * a read session, and misses for another checker or changed files.
 */
static void test_pair_storage(void **state)
{
	struct ctx *c = *state;
	struct nmig_diags found = NMIG_DIAGS_INIT, out = NMIG_DIAGS_INIT;
	const struct nmig_revision *both, *up_only;
	char key[NMIG_SQLCHECK_KEY], key2[NMIG_SQLCHECK_KEY], want[128];

	assert_int_equal(mkdir(c->dir, 0700), 0);
	put_text(c->dir, "001_a.up.sql", "CREATE TABLE a (id int);\n");
	put_text(c->dir, "001_a.down.sql", "DROP TABLE a;\n");
	put_text(c->dir, "002_b.up.sql", "CREATE TABLE b (id int);\n");
	backdate(c->dir);
	open_cache(c);
	load_both(c);
	both = &c->plain.revs[0];
	up_only = &c->plain.revs[1];

	/* prefix, id, then 32 hex digits and the size of each file */
	assert_int_equal(nmig_sqlcheck_pair_key(key, 'q', both), 0);
	snprintf(want, sizeof(want), "q001:%.32s:%lld:%.32s:%lld",
		 both->up.checksum, (long long)both->up.size,
		 both->down.checksum, (long long)both->down.size);
	assert_string_equal(key, want);
	assert_int_equal(nmig_sqlcheck_pair_key(key2, 'q', up_only), 0);
	assert_non_null(strstr(key2, ":-"));
	assert_string_not_equal(key, key2);

	nmig_diags_add(&found, NMIG_SEV_WARNING, NMIG_EINPUT, "sql-x",
		       both->up.path, 1, 1, "a finding about the up file");
	nmig_diags_add(&found, NMIG_SEV_WARNING, NMIG_EINPUT, "sql-x",
		       both->down.path, 1, 1, "one about the down file");
	assert_int_equal(nmig_cache_read_begin(c->cache), NMIG_OK);
	assert_int_equal(
	    nmig_sqlcheck_pair_get(c->cache, key, both, "checker 1", &out),
	    NMIG_ENOTFOUND);
	assert_int_equal(out.n, 0);
	assert_int_equal(nmig_sqlcheck_pair_put(c->cache, key, both,
						"checker 1", found.items,
						found.n),
			 NMIG_OK);
	assert_int_equal(
	    nmig_sqlcheck_pair_get(c->cache, key, both, "checker 1", &out),
	    NMIG_OK);
	assert_int_equal(nmig_cache_read_end(c->cache), NMIG_OK);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.items[0].message,
			    "a finding about the up file");
	assert_string_equal(out.items[0].file, both->up.path);
	assert_string_equal(out.items[1].message, "one about the down file");
	assert_string_equal(out.items[1].file, both->down.path);
	assert_int_equal(out.warnings, 2);
	nmig_diags_release(&out);
	/* Stored: a new handle still finds it; another checker does not. */
	open_cache(c);
	assert_int_equal(nmig_cache_read_begin(c->cache), NMIG_OK);
	assert_int_equal(
	    nmig_sqlcheck_pair_get(c->cache, key, both, "checker 1", &out),
	    NMIG_OK);
	assert_int_equal(out.n, 2);
	nmig_diags_release(&out);
	assert_int_equal(
	    nmig_sqlcheck_pair_get(c->cache, key, both, "checker 2", &out),
	    NMIG_ENOTFOUND);
	assert_int_equal(
	    nmig_sqlcheck_pair_get(c->cache, key2, up_only, "checker 1", &out),
	    NMIG_ENOTFOUND);
	assert_int_equal(nmig_cache_read_end(c->cache), NMIG_OK);
	/* No findings is a result too. */
	assert_int_equal(nmig_sqlcheck_pair_put(c->cache, key2, up_only,
						"checker 1", NULL, 0),
			 NMIG_OK);
	assert_int_equal(
	    nmig_sqlcheck_pair_get(c->cache, key2, up_only, "checker 1", &out),
	    NMIG_OK);
	assert_int_equal(out.n, 0);
	/* A finding that may hold a secret is not stored. */
	nmig_diags_release(&found);
	nmig_diags_add(&found, NMIG_SEV_WARNING, NMIG_EINPUT, "sql-x",
		       both->up.path, 1, 1, "password 'sesame' in clear");
	assert_int_equal(nmig_sqlcheck_pair_put(c->cache, key, both,
						"checker 3", found.items,
						found.n),
			 NMIG_OK);
	assert_int_equal(
	    nmig_sqlcheck_pair_get(c->cache, key, both, "checker 3", &out),
	    NMIG_ENOTFOUND);
	nmig_cache_close(c->cache);
	c->cache = NULL;
	assert_false(cache_holds(c, "sesame"));
	nmig_diags_release(&found);
	nmig_diags_release(&out);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_fixtures_revfile),
	    T(test_fixtures_graph),
	    T(test_fixtures_cli),
	    T(test_example_migrations),
	    T(test_generated_history),
	    T(test_stale_entries_refreshed),
	    T(test_load_never_waits_for_writer),
	    T(test_scan_matches_point_lookups),
	    T(test_errors_never_stored),
	    T(test_recent_files_not_stored),
	    T(test_corrupt_and_unusable_cache),
	    T(test_secret_message_not_stored),
	    T(test_secret_detector),
	    T(test_secret_in_diags),
	    T(test_file_identity),
	    T(test_sql_check_cached),
	    T(test_check_not_stored_after_edit),
	    T(test_lint_cached),
	    T(test_lint_config_in_checker),
	    T(test_config_cache_off),
	    T(test_pair_storage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
