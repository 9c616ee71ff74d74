/*
 * The plan cache (see cache.h): a SQLite database used through the C API
 * with prepared statements. Opening validates the file before trusting it
 * -- the 100-byte header (magic, page size, page count against the file
 * size), then application_id and user_version -- and sets aside what is
 * not nmig's; every later SQLite failure disables the handle with one
 * warning (and sets the file aside when SQLite calls it corrupt), so the
 * cache can slow nothing down beyond a miss and can never fail a command.
 */
#include "cache.h"
#include "clock.h"
#include "array_internal.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

enum open_result {
	OPEN_OK = 0,
	OPEN_BAD,      /* not nmig's cache: set it aside and retry */
	OPEN_UNUSABLE, /* cannot be used here: disable */
	OPEN_NOMEM,
};

/* States of a session (nmig_cache_read_begin .. nmig_cache_read_end). */
enum {
	SESSION_NONE = 0,
	SESSION_READ,  /* a read transaction is open */
	SESSION_WRITE, /* a store made it a write batch (depth 1) */
};

enum stmt_id {
	ST_FILE_GET,
	ST_FILE_PUT,
	ST_CHECK_GET,
	ST_CHECK_PUT,
	ST_APPLIED_GET,
	ST_APPLIED_PUT,
	ST_COUNT,
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_FILE_GET] = "SELECT is_up, size, mtime_ns, inode, checksum, id, "
		    "slug, message, parents, parents_explicit, "
		    "transactional, lint_ignore, header_lines "
		    "FROM file WHERE name = ?1",
    [ST_FILE_PUT] = "INSERT OR REPLACE INTO file (name, is_up, size, "
		    "mtime_ns, inode, checksum, id, slug, message, "
		    "parents, parents_explicit, transactional, "
		    "lint_ignore, header_lines) VALUES (?1, ?2, ?3, ?4, "
		    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [ST_CHECK_GET] = "SELECT pass, diags FROM check_result WHERE "
		     "checksum = ?1 AND transactional = ?2 AND "
		     "checker = ?3",
    [ST_CHECK_PUT] = "INSERT OR REPLACE INTO check_result (checksum, "
		     "transactional, checker, pass, diags) VALUES (?1, "
		     "?2, ?3, ?4, ?5)",
    [ST_APPLIED_GET] = "SELECT observed_at, nids, ids FROM applied "
		       "WHERE dbkey = ?1",
    [ST_APPLIED_PUT] = "INSERT OR REPLACE INTO applied (dbkey, "
		       "observed_at, nids, ids) VALUES (?1, ?2, ?3, ?4)",
};

static const char schema_sql[] =
    "CREATE TABLE file ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " is_up INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " inode INTEGER NOT NULL,"
    " checksum TEXT NOT NULL,"
    " id TEXT, slug TEXT, message TEXT,"
    " parents BLOB,"
    " parents_explicit INTEGER NOT NULL DEFAULT 0,"
    " transactional INTEGER NOT NULL DEFAULT 1,"
    " lint_ignore BLOB,"
    " header_lines INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;"
    "CREATE TABLE check_result ("
    " checksum TEXT NOT NULL,"
    " transactional INTEGER NOT NULL,"
    " checker TEXT NOT NULL,"
    " pass INTEGER NOT NULL,"
    " diags BLOB,"
    " PRIMARY KEY (checksum, transactional, checker)"
    ") WITHOUT ROWID;"
    "CREATE TABLE applied ("
    " dbkey TEXT PRIMARY KEY NOT NULL,"
    " observed_at INTEGER NOT NULL,"
    " nids INTEGER NOT NULL,"
    " ids BLOB"
    ") WITHOUT ROWID;";

struct nmig_cache {
	char *path;
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	struct nmig_diags *diags; /* where later warnings go; may be NULL */
	dev_t dev;		  /* identity of the file opened, so that */
	ino_t ino;		  /* set_aside never moves a newer one */
	int depth;		  /* nesting of nmig_cache_begin */
	int session;		  /* nmig_cache_read_begin: SESSION_* */
	sqlite3_stmt *scan;	  /* the open nmig_cache_scan's statement */
	int failed;		  /* disabled after a failure */
	struct nmig_cache_stats stats;
};

/* The -wal/-shm/-journal companion of path, malloc'ed; NULL on OOM. */
static char *companion(const char *path, const char *suffix)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	nmig_buf_puts(&b, path);
	nmig_buf_puts(&b, suffix);
	return nmig_buf_detach(&b, NULL);
}

/* strerror(err) with a lower-case first letter, as messages are. */
static const char *errstr(int err, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}


static void warn(struct nmig_diags *diags, const char *rule, const char *path,
		 const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Append a warning about the cache file path to diags (may be NULL). */
static void warn(struct nmig_diags *diags, const char *rule, const char *path,
		 const char *hint, const char *fmt, ...)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	struct nmig_diag *d;
	va_list ap;

	if (!diags)
		return;
	va_start(ap, fmt);
	nmig_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	d = nmig_diags_add(diags, NMIG_SEV_WARNING, NMIG_EIO, rule, path, 0, 0,
			   "%s", msg.ptr);
	if (d && hint)
		nmig_diag_set_hint(d, "%s", hint);
	nmig_buf_release(&msg);
}

/* Create the missing directories leading to path's file, mode 0700. */
static int make_parents(const char *path, int *err)
{
	char *p = strdup(path);
	char *s;
	int rc = 0;

	if (!p)
		return NMIG_ENOMEM;
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			*err = errno;
			rc = NMIG_EIO;
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Check the database header through SQLite's own file handle (a second
 * descriptor on the file would drop SQLite's POSIX locks when closed).
 * Returns 0 when the header is plausible or the file empty, else 1 with
 * why set ("is not a SQLite database", "is truncated ...").
 */
static int header_bad(sqlite3 *db, struct nmig_buf *why)
{
	sqlite3_file *f = NULL;
	sqlite3_int64 size = 0;
	unsigned char h[100];
	uint32_t pgsz, npages;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) !=
		SQLITE_OK ||
	    !f || !f->pMethods)
		return 0;
	if (f->pMethods->xFileSize(f, &size) != SQLITE_OK || size == 0)
		return 0;
	if (size < (sqlite3_int64)sizeof(h) ||
	    f->pMethods->xRead(f, h, sizeof(h), 0) != SQLITE_OK ||
	    memcmp(h, "SQLite format 3", 16) != 0) {
		nmig_buf_puts(why, "is not a SQLite database");
		return 1;
	}
	pgsz = (uint32_t)h[16] << 8 | h[17];
	if (pgsz == 1)
		pgsz = 65536;
	if (pgsz < 512 || (pgsz & (pgsz - 1)) != 0) {
		nmig_buf_puts(why, "is not a SQLite database (bad page size)");
		return 1;
	}
	npages = be32(h + 28);
	/* The page count is valid when its version matches the counter. */
	if (size % pgsz != 0 || (be32(h + 92) == be32(h + 24) && npages > 0 &&
				 (sqlite3_int64)npages > size / pgsz)) {
		nmig_buf_printf(why,
				"is truncated (%lld bytes, %lu pages "
				"of %lu bytes expected)",
				(long long)size, (unsigned long)npages,
				(unsigned long)pgsz);
		return 1;
	}
	return 0;
}

/*
 * Confirm a header that looked truncated: a checkpoint of another process
 * may write page 1 before it extends the file, so a short file is only
 * bad when SQLite's quick_check fails too. 1 when bad.
 */
static int confirm_bad(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int bad = 1;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &s, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		bad = !t || strcmp((const char *)t, "ok") != 0;
	}
	sqlite3_finalize(s);
	return bad;
}

/* Run a statement returning one integer; SQLite result code. */
static int query_int(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			*out = 0;
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return rc;
}

static int is_corrupt(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* What a database holds: application_id, user_version, schema objects. */
struct identity {
	long long app, version, objects;
};

/*
 * Read the identity in one transaction: read piecemeal, another process
 * building the schema in between would make it look like no one's.
 */
static int read_identity(sqlite3 *db, struct identity *id)
{
	int rc, own = sqlite3_get_autocommit(db);

	rc = own ? sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) : SQLITE_OK;
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA application_id", &id->app);
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA user_version", &id->version);
	if (rc == SQLITE_OK)
		rc = query_int(db, "SELECT count(*) FROM sqlite_master",
			       &id->objects);
	if (own && rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (own && rc != SQLITE_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Drop every table of an older schema of ours. SQLite result code. */
static int drop_tables(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	struct nmig_buf sql = NMIG_BUF_INIT;
	int rc;

	rc = sqlite3_prepare_v2(db,
				"SELECT name FROM sqlite_master WHERE "
				"type = 'table' AND name NOT LIKE 'sqlite%'",
				-1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		char *q =
		    sqlite3_mprintf("DROP TABLE \"%w\";",
				    (const char *)sqlite3_column_text(s, 0));

		if (!q) {
			rc = SQLITE_NOMEM;
			break;
		}
		nmig_buf_puts(&sql, q);
		sqlite3_free(q);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		rc = nmig_buf_oom(&sql)
			 ? SQLITE_NOMEM
			 : sqlite3_exec(db, sql.ptr, NULL, NULL, NULL);
	nmig_buf_release(&sql);
	return rc;
}

/*
 * Build the schema in an empty database or rebuild an outdated one, under
 * the write lock, re-checking first: another process may have done it.
 * Returns a SQLite result code; *foreign set when the file turned out not
 * to be ours.
 */
static int build_schema(sqlite3 *db, int *foreign)
{
	struct identity id;
	char *sql = NULL;
	int rc;

	*foreign = 0;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = read_identity(db, &id);
	if (rc != SQLITE_OK)
		goto cleanup;
	if (id.app == NMIG_CACHE_APPLICATION_ID &&
	    id.version == NMIG_CACHE_SCHEMA)
		goto cleanup;
	if (id.app == NMIG_CACHE_APPLICATION_ID)
		rc = drop_tables(db);
	else if (id.app != 0 || id.objects != 0)
		*foreign = 1;
	if (rc != SQLITE_OK || *foreign)
		goto cleanup;
	sql = sqlite3_mprintf("%sPRAGMA application_id = %d;"
			      "PRAGMA user_version = %d;",
			      schema_sql, NMIG_CACHE_APPLICATION_ID,
			      NMIG_CACHE_SCHEMA);
	rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
cleanup:
	sqlite3_free(sql);
	if (rc == SQLITE_OK && !*foreign)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK || *foreign)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/*
 * Put a freshly opened database in WAL mode and make sure it holds this
 * schema (building it when empty or outdated). *foreign set, with id
 * describing it, when it is another application's database. Returns a
 * SQLite result code.
 */
static int setup_db(sqlite3 *db, struct identity *id, int *foreign)
{
	int rc;

	*foreign = 0;
	/* another application's file is left exactly as it was */
	rc = read_identity(db, id);
	if (rc != SQLITE_OK)
		return rc;
	if (id->app != NMIG_CACHE_APPLICATION_ID &&
	    (id->app != 0 || id->objects != 0)) {
		*foreign = 1;
		return SQLITE_OK;
	}
	rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL,
				  NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (id->app == NMIG_CACHE_APPLICATION_ID &&
	    id->version == NMIG_CACHE_SCHEMA)
		return SQLITE_OK;
	rc = build_schema(db, foreign);
	if (rc == SQLITE_OK && *foreign)
		rc = read_identity(db, id);
	return rc;
}

static void close_db(struct nmig_cache *c)
{
	int i;

	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(c->stmt[i]);
		c->stmt[i] = NULL;
	}
	sqlite3_finalize(c->scan);
	c->scan = NULL;
	sqlite3_close(c->db);
	c->db = NULL;
	c->depth = 0;
	c->session = SESSION_NONE;
}

/*
 * Never let this connection delete the -wal and -shm files when it closes:
 * SQLite deletes them by name, so a connection to a file that was set
 * aside meanwhile would delete the new cache's. Keep them instead, with
 * the WAL truncated to nothing on the last close.
 */
static void keep_wal(sqlite3 *db)
{
	int on = 1;

	sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
	sqlite3_exec(db, "PRAGMA journal_size_limit = 0", NULL, NULL, NULL);
}

/* Classify a SQLite failure while opening: bad file or unusable here. */
static enum open_result open_failure(sqlite3 *db, int rc, struct nmig_buf *why)
{
	if ((rc & 0xff) == SQLITE_NOMEM)
		return OPEN_NOMEM;
	if (is_corrupt(rc)) {
		nmig_buf_printf(why, "is corrupt (%s)", sqlite3_errstr(rc));
		return OPEN_BAD;
	}
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		nmig_buf_puts(why, "it stayed locked by another process");
	else
		nmig_buf_printf(why, "%s",
				db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return OPEN_UNUSABLE;
}

/*
 * Lock `<path>-lock` (never the database itself: closing any descriptor
 * of a file drops all of the process's POSIX locks on it, SQLite's
 * included). Opening holds it shared (F_RDLCK) while it examines the file,
 * setting a bad file aside holds it exclusive (F_WRLCK): so no process is
 * halfway through opening a file while another moves it away. Polls for
 * up to the busy timeout. Returns the descriptor (closing it unlocks), or
 * -1 with errno set.
 */
static int lock_cache(const char *path, short type)
{
	struct flock fl;
	double deadline = nmig_clock_ms() + BUSY_TIMEOUT_MS;
	char *name = companion(path, "-lock");
	int fd;

	if (!name) {
		errno = ENOMEM;
		return -1;
	}
	fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(name);
	if (fd < 0)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLK, &fl) != 0) {
		if ((errno != EACCES && errno != EAGAIN) ||
		    nmig_clock_ms() >= deadline) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		nmig_clock_sleep_ms(5);
	}
	return fd;
}

/*
 * One attempt at opening c->path: create it (0600) when absent, open it,
 * check that it is nmig's cache of this schema (building the schema in an
 * empty file), and prepare the statements. why says what went wrong.
 */
static enum open_result open_once(struct nmig_cache *c, struct nmig_buf *why)
{
	struct identity id;
	struct stat st;
	int rc, fd, err = 0, foreign, i, lock = -1;
	double deadline;
	enum open_result res = OPEN_OK;
	char eb[128];

	if (make_parents(c->path, &err) != 0) {
		if (!err)
			return OPEN_NOMEM;
		nmig_buf_printf(why, "cannot create its directory: %s",
				errstr(err, eb, sizeof(eb)));
		return OPEN_UNUSABLE;
	}
	if (stat(c->path, &st) == 0 && !S_ISREG(st.st_mode)) {
		nmig_buf_puts(why, "it is not a regular file");
		return OPEN_UNUSABLE;
	}
	lock = lock_cache(c->path, F_RDLCK);
	if (lock < 0) {
		if (errno == ENOMEM)
			return OPEN_NOMEM;
		nmig_buf_printf(why, "%s", errstr(errno, eb, sizeof(eb)));
		return OPEN_UNUSABLE;
	}
	fd = open(c->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
	} else if (errno != EEXIST) {
		nmig_buf_printf(why, "%s", errstr(errno, eb, sizeof(eb)));
		res = OPEN_UNUSABLE;
		goto cleanup;
	}
	if (stat(c->path, &st) != 0) {
		nmig_buf_printf(why, "%s", errstr(errno, eb, sizeof(eb)));
		res = OPEN_UNUSABLE;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		nmig_buf_puts(why, "it is not a regular file");
		res = OPEN_UNUSABLE;
		goto cleanup;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;

	rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		res = open_failure(c->db, rc, why);
		goto cleanup;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	keep_wal(c->db);
	if (sqlite3_db_readonly(c->db, "main") == 1) {
		nmig_buf_puts(why, "the file is read-only");
		res = OPEN_UNUSABLE;
		goto cleanup;
	}
	if (header_bad(c->db, why)) {
		if (confirm_bad(c->db)) {
			res = OPEN_BAD;
			goto cleanup;
		}
		nmig_buf_clear(why);
	}
	/*
	 * Two processes setting up one new file can deadlock on SQLite's
	 * locks (one holds SHARED and wants more while the other waits for
	 * it); SQLite then answers SQLITE_BUSY at once instead of waiting, so
	 * retry here, within the same timeout.
	 */
	deadline = nmig_clock_ms() + BUSY_TIMEOUT_MS;
	while ((rc = setup_db(c->db, &id, &foreign)) != SQLITE_OK &&
	       (rc & 0xff) == SQLITE_BUSY && nmig_clock_ms() < deadline)
		nmig_clock_sleep_ms(10);
	if (rc != SQLITE_OK) {
		res = open_failure(c->db, rc, why);
		goto cleanup;
	}
	if (foreign) {
		nmig_buf_printf(why,
				"is another application's database "
				"(application_id 0x%08llx%s)",
				(unsigned long long)id.app & 0xffffffffULL,
				id.objects ? ", with tables of its own" : "");
		res = OPEN_BAD;
		goto cleanup;
	}
	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(c->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &c->stmt[i],
					NULL);
		if (rc != SQLITE_OK) {
			/* ours by its id, but tables are missing or odd */
			res = open_failure(c->db, rc, why);
			if (res == OPEN_UNUSABLE &&
			    (rc & 0xff) == SQLITE_ERROR) {
				nmig_buf_clear(why);
				nmig_buf_printf(why, "is corrupt (%s)",
						sqlite3_errmsg(c->db));
				res = OPEN_BAD;
			}
			goto cleanup;
		}
	}
cleanup:
	if (nmig_buf_oom(why))
		res = OPEN_NOMEM;
	if (res != OPEN_OK)
		close_db(c);
	if (lock >= 0)
		close(lock);
	return res;
}

/*
 * Move the file c->path and its -wal/-journal aside to
 * `<path>.bad-<unixtime>[.N]` and delete its -shm; the database must be
 * closed. Under the set-aside lock, and only when c->path is still the
 * file that was examined (dev, inode): two processes finding the same bad
 * file move it once, and neither moves the new cache the other built.
 * aside receives the new name, or stays empty when another process moved
 * the file already. NMIG_OK, NMIG_ENOMEM, or NMIG_EIO with *err.
 */
static int set_aside(struct nmig_cache *c, struct nmig_buf *aside, int *err)
{
	static const char *const moved[] = {"-wal", "-journal"};
	struct stat st;
	char *from = NULL, *to = NULL;
	long long t = (long long)time(NULL);
	int n, rc = NMIG_OK, lock;
	size_t i;

	*err = 0;
	nmig_buf_clear(aside);
	lock = lock_cache(c->path, F_WRLCK);
	if (lock < 0) {
		*err = errno;
		return *err == ENOMEM ? NMIG_ENOMEM : NMIG_EIO;
	}
	if (stat(c->path, &st) != 0 || st.st_dev != c->dev ||
	    st.st_ino != c->ino)
		goto cleanup; /* another process moved it already */
	for (n = 0;; n++) {
		struct stat other;

		nmig_buf_clear(aside);
		nmig_buf_printf(aside, "%s.bad-%lld", c->path, t);
		if (n)
			nmig_buf_printf(aside, ".%d", n);
		if (nmig_buf_oom(aside)) {
			rc = NMIG_ENOMEM;
			goto cleanup;
		}
		if (lstat(aside->ptr, &other) != 0 && errno == ENOENT)
			break;
	}
	if (rename(c->path, aside->ptr) != 0)
		goto io;
	for (i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
		from = companion(c->path, moved[i]);
		to = companion(aside->ptr, moved[i]);
		if (!from || !to) {
			rc = NMIG_ENOMEM;
			goto cleanup;
		}
		if (rename(from, to) != 0 && errno != ENOENT)
			goto io;
		free(from);
		free(to);
		from = to = NULL;
	}
	from = companion(c->path, "-shm");
	if (!from) {
		rc = NMIG_ENOMEM;
		goto cleanup;
	}
	unlink(from);
	goto cleanup;
io:
	*err = errno;
	rc = NMIG_EIO;
cleanup:
	if (rc != NMIG_OK)
		nmig_buf_clear(aside);
	close(lock);
	free(from);
	free(to);
	return rc;
}

/*
 * The handle hit a SQLite failure (rc) while doing something: disable it
 * with one warning; a corrupt file is also set aside for the next run.
 */
static void fail(struct nmig_cache *c, int rc, const char *doing)
{
	struct nmig_buf aside = NMIG_BUF_INIT;
	char msg[512];
	int err = 0;

	if (c->failed)
		return;
	c->failed = 1;
	snprintf(msg, sizeof(msg), "%s",
		 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	if (c->depth || c->session)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	close_db(c);
	if (is_corrupt(rc) && set_aside(c, &aside, &err) == NMIG_OK &&
	    aside.len) {
		warn(c->diags, "cache-reset", c->path,
		     "the cache only speeds nmig up; nothing is lost",
		     "plan cache '%s' is corrupt (%s); moved it to '%s', a "
		     "new one is built on the next run",
		     c->path, msg, aside.ptr);
	} else if ((rc & 0xff) == SQLITE_BUSY) {
		warn(c->diags, "cache-busy", c->path,
		     "another nmig is using the cache; this run goes on "
		     "without it",
		     "plan cache '%s' stayed locked while %s; running without "
		     "it",
		     c->path, doing);
	} else {
		warn(c->diags, "cache-disabled", c->path,
		     "remove it with 'nmig cache clear' if this repeats",
		     "plan cache '%s' failed while %s (%s); running without it",
		     c->path, doing, msg);
	}
	nmig_buf_release(&aside);
}

int nmig_cache_default_path(struct nmig_buf *out, const char *dir)
{
	size_t len = strlen(dir);
	const char *last;
	size_t parent;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 0) {
		nmig_buf_puts(out, NMIG_CACHE_DEFAULT_NAME);
		goto done;
	}
	last = dir + len;
	while (last > dir && last[-1] != '/')
		last--;
	if ((len == 1 && dir[0] == '/') ||
	    (dir + len - last == 1 && last[0] == '.') ||
	    (dir + len - last == 2 && last[0] == '.' && last[1] == '.')) {
		nmig_buf_put(out, dir, len);
		if (dir[len - 1] != '/')
			nmig_buf_putc(out, '/');
		nmig_buf_puts(out, NMIG_CACHE_DEFAULT_NAME);
		goto done;
	}
	parent = (size_t)(last - dir); /* includes the '/', or 0 */
	nmig_buf_put(out, dir, parent);
	nmig_buf_puts(out, NMIG_CACHE_DEFAULT_NAME);
done:
	return nmig_buf_oom(out) ? NMIG_ENOMEM : NMIG_OK;
}

int nmig_cache_open(struct nmig_cache **out, const char *path,
		    struct nmig_diags *diags)
{
	struct nmig_buf why = NMIG_BUF_INIT, aside = NMIG_BUF_INIT;
	struct nmig_cache *c = NULL;
	enum open_result res;
	int rc = NMIG_OK, err = 0;
	char eb[128];

	*out = NULL;
	if (!path)
		return NMIG_OK;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path)))
		goto nomem;
	c->diags = diags;
	res = open_once(c, &why);
	if (res == OPEN_BAD) {
		rc = set_aside(c, &aside, &err);
		if (rc == NMIG_ENOMEM)
			goto nomem;
		if (rc != NMIG_OK) {
			warn(diags, "cache-disabled", path,
			     "remove the file, or set 'cache' in nmig.conf to "
			     "another path",
			     "plan cache '%s' %s and cannot be moved aside "
			     "(%s); running without it",
			     path, why.ptr, errstr(err, eb, sizeof(eb)));
			rc = NMIG_OK;
			goto disabled;
		}
		if (aside.len)
			warn(diags, "cache-reset", path,
			     "the cache only speeds nmig up; nothing is lost",
			     "plan cache '%s' %s; moved it to '%s' and started "
			     "a new one",
			     path, why.ptr, aside.ptr);
		nmig_buf_clear(&why);
		res = open_once(c, &why);
		if (res == OPEN_BAD)
			res = OPEN_UNUSABLE;
	}
	if (res == OPEN_NOMEM)
		goto nomem;
	if (res == OPEN_UNUSABLE) {
		warn(diags, "cache-disabled", path,
		     "set 'cache' in nmig.conf to a writable path to speed "
		     "nmig up",
		     "cannot use the plan cache '%s': %s; running without it",
		     path, why.ptr);
		goto disabled;
	}
	*out = c;
	c = NULL;
	goto cleanup;
nomem:
	rc = nmig_error_set(NMIG_ENOMEM, "out of memory opening the plan "
					 "cache");
disabled:
	if (c) {
		close_db(c);
		free(c->path);
		free(c);
	}
cleanup:
	nmig_buf_release(&why);
	nmig_buf_release(&aside);
	return rc;
}

void nmig_cache_close(struct nmig_cache *cache)
{
	if (!cache)
		return;
	if (cache->db && cache->depth) {
		cache->depth = 1;
		nmig_cache_commit(cache);
	}
	close_db(cache);
	free(cache->path);
	free(cache);
}

const char *nmig_cache_path(const struct nmig_cache *cache)
{
	return cache ? cache->path : NULL;
}

int nmig_cache_usable(const struct nmig_cache *cache)
{
	return cache && !cache->failed && cache->db;
}

/*
 * Turn the read session of c into a write batch: end the read
 * transaction, take the write lock (waiting up to the busy timeout) and
 * leave depth 1 for nmig_cache_read_end to commit. 0, or -1 when the
 * cache was disabled.
 */
static int session_write(struct nmig_cache *c)
{
	int rc;

	sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	c->session = SESSION_NONE;
	rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		fail(c, rc, "starting a batch of writes");
		return -1;
	}
	c->session = SESSION_WRITE;
	c->depth = 1;
	return 0;
}

int nmig_cache_read_begin(struct nmig_cache *cache)
{
	int rc;

	if (!nmig_cache_usable(cache) || cache->depth || cache->session)
		return NMIG_OK;
	rc = sqlite3_exec(cache->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fail(cache, rc, "starting to read");
	else
		cache->session = SESSION_READ;
	return NMIG_OK;
}

int nmig_cache_read_end(struct nmig_cache *cache)
{
	int rc;

	if (!nmig_cache_usable(cache) || !cache->session)
		return NMIG_OK;
	if (cache->session == SESSION_WRITE) {
		cache->session = SESSION_NONE;
		cache->depth = 1;
		return nmig_cache_commit(cache);
	}
	cache->session = SESSION_NONE;
	rc = sqlite3_exec(cache->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fail(cache, rc, "ending a read");
	return NMIG_OK;
}

int nmig_cache_begin(struct nmig_cache *cache)
{
	int rc;

	if (!nmig_cache_usable(cache))
		return NMIG_OK;
	if (cache->session == SESSION_READ && session_write(cache))
		return NMIG_OK;
	if (cache->depth++ > 0)
		return NMIG_OK;
	rc = sqlite3_exec(cache->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		cache->depth = 0;
		fail(cache, rc, "starting a batch of writes");
	}
	return NMIG_OK;
}

int nmig_cache_commit(struct nmig_cache *cache)
{
	int rc;

	if (!nmig_cache_usable(cache) || cache->depth == 0)
		return NMIG_OK;
	if (--cache->depth > 0)
		return NMIG_OK;
	rc = sqlite3_exec(cache->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		cache->depth = 1; /* so that fail() rolls back */
		fail(cache, rc, "writing a batch");
	}
	return NMIG_OK;
}

/*
 * Step a write statement and reset it. NMIG_OK (a failure disables the
 * cache), or NMIG_ENOMEM.
 */
static int step_write(struct nmig_cache *c, sqlite3_stmt *s, const char *doing)
{
	int rc;

	/* the first store of a read session makes it a write batch */
	if (c->session == SESSION_READ && session_write(c)) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return NMIG_OK;
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE) {
		c->stats.stores++;
		return NMIG_OK;
	}
	if ((rc & 0xff) == SQLITE_NOMEM)
		return nmig_error_set(NMIG_ENOMEM, "out of memory writing "
						   "the plan cache");
	fail(c, rc, doing);
	return NMIG_OK;
}

/* Serialise a list of strings as NUL-terminated strings back to back. */
static void put_list(struct nmig_buf *b, char *const *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		nmig_buf_puts(b, items[i]);
		nmig_buf_putc(b, '\0');
	}
}

static void free_list(char **items, size_t n)
{
	size_t i;

	for (i = 0; i < n && items; i++)
		free(items[i]);
	free(items);
}

/*
 * Parse a list stored by put_list. Returns NMIG_OK, NMIG_EINPUT when the
 * blob is malformed (or does not hold expect items, when expect >= 0),
 * NMIG_ENOMEM.
 */
static int get_list(const void *blob, int len, long long expect, char ***out,
		    size_t *nout)
{
	const char *p = blob, *end, *q;
	char **items = NULL;
	size_t n = 0, i;

	*out = NULL;
	*nout = 0;
	if (!p || len <= 0)
		return expect > 0 ? NMIG_EINPUT : NMIG_OK;
	end = p + len;
	if (end[-1] != '\0')
		return NMIG_EINPUT;
	for (q = p; q < end; q++)
		n += *q == '\0';
	if (expect >= 0 && (long long)n != expect)
		return NMIG_EINPUT;
	items = calloc(n, sizeof(*items));
	if (!items)
		return NMIG_ENOMEM;
	for (i = 0; i < n; i++) {
		items[i] = strdup(p);
		if (!items[i]) {
			free_list(items, i);
			return NMIG_ENOMEM;
		}
		p += strlen(p) + 1;
	}
	*out = items;
	*nout = n;
	return NMIG_OK;
}

static char *col_strdup(sqlite3_stmt *s, int col, int *oom)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	char *r;

	if (!t)
		return NULL;
	r = strdup((const char *)t);
	if (!r)
		*oom = 1;
	return r;
}

/* Copy the header fields of a file row (up file) into rev. */
static int row_to_rev(sqlite3_stmt *s, struct nmig_revision *rev)
{
	struct nmig_revision r;
	int oom = 0, rc;

	memset(&r, 0, sizeof(r));
	r.id = col_strdup(s, 5, &oom);
	r.slug = col_strdup(s, 6, &oom);
	r.message = col_strdup(s, 7, &oom);
	r.parents_explicit = sqlite3_column_int(s, 9) != 0;
	r.transactional = sqlite3_column_int(s, 10) != 0;
	r.header_lines = sqlite3_column_int(s, 12);
	rc = oom ? NMIG_ENOMEM : NMIG_OK;
	if (rc == NMIG_OK && r.parents_explicit)
		rc = get_list(sqlite3_column_blob(s, 8),
			      sqlite3_column_bytes(s, 8), -1, &r.parents,
			      &r.nparents);
	if (rc == NMIG_OK)
		rc = get_list(sqlite3_column_blob(s, 11),
			      sqlite3_column_bytes(s, 11), -1, &r.lint_ignore,
			      &r.nlint_ignore);
	if (rc != NMIG_OK) {
		free(r.id);
		free(r.slug);
		free(r.message);
		free_list(r.parents, r.nparents);
		free_list(r.lint_ignore, r.nlint_ignore);
		return rc;
	}
	rev->id = r.id;
	rev->slug = r.slug;
	rev->message = r.message;
	rev->parents = r.parents;
	rev->nparents = r.nparents;
	rev->parents_explicit = r.parents_explicit;
	rev->transactional = r.transactional;
	rev->lint_ignore = r.lint_ignore;
	rev->nlint_ignore = r.nlint_ignore;
	rev->header_lines = r.header_lines;
	return NMIG_OK;
}

static int valid_checksum(const unsigned char *t)
{
	size_t i;

	if (!t)
		return 0;
	for (i = 0; i < NMIG_SHA256_HEX - 1; i++)
		if (!((t[i] >= '0' && t[i] <= '9') ||
		      (t[i] >= 'a' && t[i] <= 'f')))
			return 0;
	return t[i] == '\0';
}

/*
 * Step the lookup s with its values bound: 1 on a row (s stays on it for
 * the caller to read, reset and clear), 0 when there is none (a miss,
 * counted, s reset and cleared) or on an error (recorded by fail(), which
 * disables the cache and finalizes s: the caller must not touch it).
 */
static int step_read(struct nmig_cache *c, sqlite3_stmt *s, const char *doing)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE)
		c->stats.misses++;
	else
		fail(c, rc, doing);
	return 0;
}

/*
 * The answer of nmig_cache_file_get from the file row s is on (columns
 * as ST_FILE_GET's): NMIG_OK with the outputs filled, NMIG_ENOTFOUND for
 * an entry of another identity, NMIG_ENOMEM. Counts the hit or stale.
 */
static int row_result(struct nmig_cache *c, sqlite3_stmt *s,
		      const struct stat *st, struct nmig_revision *rev_out,
		      char checksum_out[NMIG_SHA256_HEX], int is_up)
{
	if ((sqlite3_column_int(s, 0) != 0) != (is_up != 0) ||
	    sqlite3_column_int64(s, 1) != (sqlite3_int64)st->st_size ||
	    sqlite3_column_int64(s, 2) != nmig_stat_mtime_ns(st) ||
	    sqlite3_column_int64(s, 3) != (sqlite3_int64)st->st_ino ||
	    !valid_checksum(sqlite3_column_text(s, 4))) {
		c->stats.stale++;
		return NMIG_ENOTFOUND;
	}
	if (is_up && rev_out && row_to_rev(s, rev_out) != NMIG_OK)
		return nmig_error_set(NMIG_ENOMEM, "out of memory reading the "
						   "plan cache");
	memcpy(checksum_out, sqlite3_column_text(s, 4), NMIG_SHA256_HEX);
	c->stats.hits++;
	return NMIG_OK;
}

int nmig_cache_file_get(struct nmig_cache *cache, const char *name,
			const struct stat *st, struct nmig_revision *rev_out,
			char checksum_out[NMIG_SHA256_HEX], int is_up)
{
	sqlite3_stmt *s;
	int ret = NMIG_ENOTFOUND;

	if (!nmig_cache_usable(cache))
		return NMIG_ENOTFOUND;
	s = cache->stmt[ST_FILE_GET];
	if (sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		ret = nmig_error_set(NMIG_ENOMEM, "out of memory reading the "
						  "plan cache");
		goto cleanup;
	}
	if (!step_read(cache, s, "reading a file entry"))
		return NMIG_ENOTFOUND;
	ret = row_result(cache, s, st, rev_out, checksum_out, is_up);
cleanup:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

struct nmig_cache_scan {
	struct nmig_cache *cache;
	int state;	      /* SCAN_* */
	struct nmig_buf last; /* the last name asked for */
};

enum { SCAN_START, SCAN_ROW, SCAN_END };

int nmig_cache_scan_open(struct nmig_cache_scan **out, struct nmig_cache *cache)
{
	static const char sql[] =
	    "SELECT is_up, size, mtime_ns, inode, checksum, id, slug, "
	    "message, parents, parents_explicit, transactional, "
	    "lint_ignore, header_lines, name FROM file WHERE name >= ?1 "
	    "ORDER BY name";
	struct nmig_cache_scan *sc;
	int rc;

	*out = NULL;
	if (!nmig_cache_usable(cache) || cache->scan)
		return NMIG_OK;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	nmig_buf_init(&sc->last);
	rc = sqlite3_prepare_v2(cache->db, sql, -1, &cache->scan, NULL);
	if (rc != SQLITE_OK) {
		free(sc);
		if ((rc & 0xff) == SQLITE_NOMEM)
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		fail(cache, rc, "reading the file entries");
		return NMIG_OK;
	}
	sc->cache = cache;
	*out = sc;
	return NMIG_OK;
}

/* Step the scan; SCAN_ROW or SCAN_END, or -1 after disabling the cache. */
static int scan_step(struct nmig_cache_scan *sc)
{
	int rc = sqlite3_step(sc->cache->scan);

	if (rc == SQLITE_ROW)
		return SCAN_ROW;
	if (rc == SQLITE_DONE)
		return SCAN_END;
	sqlite3_finalize(sc->cache->scan);
	sc->cache->scan = NULL;
	fail(sc->cache, rc, "reading the file entries");
	return -1;
}

int nmig_cache_scan_get(struct nmig_cache_scan *sc, const char *name,
			const struct stat *st, struct nmig_revision *rev_out,
			char checksum_out[NMIG_SHA256_HEX], int is_up)
{
	struct nmig_cache *c = sc ? sc->cache : NULL;
	sqlite3_stmt *s;
	int r;

	if (!c || !nmig_cache_usable(c) || !c->scan)
		return NMIG_ENOTFOUND;
	s = c->scan;
	/* out of order: a query of its own */
	if (sc->last.len && strcmp(name, sc->last.ptr) <= 0)
		return nmig_cache_file_get(c, name, st, rev_out, checksum_out,
					   is_up);
	nmig_buf_clear(&sc->last);
	nmig_buf_puts(&sc->last, name);
	if (nmig_buf_oom(&sc->last))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	if (sc->state == SCAN_START) {
		if (sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT) !=
		    SQLITE_OK)
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		sc->state = scan_step(sc);
	}
	while (sc->state == SCAN_ROW &&
	       strcmp((const char *)sqlite3_column_text(s, 13), name) < 0)
		sc->state = scan_step(sc);
	if (sc->state < 0)
		return NMIG_ENOTFOUND;
	if (sc->state == SCAN_END ||
	    strcmp((const char *)sqlite3_column_text(s, 13), name) != 0) {
		c->stats.misses++;
		return NMIG_ENOTFOUND;
	}
	r = row_result(c, s, st, rev_out, checksum_out, is_up);
	return r;
}

void nmig_cache_scan_close(struct nmig_cache_scan *sc)
{
	if (!sc)
		return;
	if (sc->cache && sc->cache->db && sc->cache->scan) {
		sqlite3_finalize(sc->cache->scan);
		sc->cache->scan = NULL;
	}
	nmig_buf_release(&sc->last);
	free(sc);
}

int nmig_cache_file_put(struct nmig_cache *cache, const char *name,
			const struct stat *st, const struct nmig_revision *rev,
			const char *checksum, int is_up)
{
	struct nmig_buf parents = NMIG_BUF_INIT, ignore = NMIG_BUF_INIT;
	sqlite3_stmt *s;
	int rc = NMIG_OK, up = is_up && rev;

	if (!nmig_cache_usable(cache))
		return NMIG_OK;
	if (nmig_stat_mtime_ns(st) > now_ns() - NMIG_CACHE_RACY_NS) {
		cache->stats.skipped_racy++;
		return NMIG_OK;
	}
	if (up && rev->parents_explicit)
		put_list(&parents, rev->parents, rev->nparents);
	if (up)
		put_list(&ignore, rev->lint_ignore, rev->nlint_ignore);
	if (nmig_buf_oom(&parents) || nmig_buf_oom(&ignore)) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory writing the "
						 "plan cache");
		goto cleanup;
	}
	s = cache->stmt[ST_FILE_PUT];
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, is_up != 0);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)st->st_size);
	sqlite3_bind_int64(s, 4, nmig_stat_mtime_ns(st));
	sqlite3_bind_int64(s, 5, (sqlite3_int64)st->st_ino);
	sqlite3_bind_text(s, 6, checksum, -1, SQLITE_STATIC);
	if (up) {
		sqlite3_bind_text(s, 7, rev->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 8, rev->slug, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 9, rev->message, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 10, parents.ptr, (int)parents.len,
				  SQLITE_STATIC);
		sqlite3_bind_int(s, 11, rev->parents_explicit != 0);
		sqlite3_bind_int(s, 12, rev->transactional != 0);
		sqlite3_bind_blob(s, 13, ignore.ptr, (int)ignore.len,
				  SQLITE_STATIC);
		sqlite3_bind_int(s, 14, rev->header_lines);
	} else {
		sqlite3_bind_int(s, 11, 0);
		sqlite3_bind_int(s, 12, 1);
		sqlite3_bind_int(s, 14, 0);
	}
	rc = step_write(cache, s, "storing a file entry");
cleanup:
	nmig_buf_release(&parents);
	nmig_buf_release(&ignore);
	return rc;
}

/*
 * Findings are stored as records: "<severity> <code> <line> <col>
 * <hasfile>\n" then rule, message, source and hint, each "-" when NULL
 * or "<len>:" followed by the bytes and a NUL.
 */
static void put_str(struct nmig_buf *b, const char *s)
{
	if (!s) {
		nmig_buf_putc(b, '-');
		return;
	}
	nmig_buf_printf(b, "%zu:", strlen(s));
	nmig_buf_puts(b, s);
	nmig_buf_putc(b, '\0');
}

static void put_diags(struct nmig_buf *b, const struct nmig_diag *items,
		      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct nmig_diag *d = &items[i];

		nmig_buf_printf(b, "%d %d %d %d %d\n", (int)d->severity,
				d->code, d->line, d->col, d->file != NULL);
		put_str(b, d->rule);
		put_str(b, d->message);
		put_str(b, d->source);
		put_str(b, d->hint);
	}
}

/* Read a decimal int ending at stop; advance *p past stop. 0 or -1. */
static int get_int(const char **p, const char *end, char stop, int *out)
{
	const char *q = *p;
	long v = 0;
	int neg = 0;

	if (q < end && *q == '-') {
		neg = 1;
		q++;
	}
	if (q == end || *q < '0' || *q > '9')
		return -1;
	while (q < end && *q >= '0' && *q <= '9') {
		v = v * 10 + (*q - '0');
		if (v > 1000000000L)
			return -1;
		q++;
	}
	if (q == end || *q != stop)
		return -1;
	*out = (int)(neg ? -v : v);
	*p = q + 1;
	return 0;
}

/* Read a string stored by put_str: *out NULL or into the blob. 0 or -1. */
static int get_str(const char **p, const char *end, const char **out)
{
	const char *q = *p;
	size_t len = 0;

	if (q < end && *q == '-') {
		*out = NULL;
		*p = q + 1;
		return 0;
	}
	if (q == end || *q < '0' || *q > '9')
		return -1;
	while (q < end && *q >= '0' && *q <= '9') {
		len = len * 10 + (size_t)(*q - '0');
		if (len > (size_t)(end - *p))
			return -1;
		q++;
	}
	if (q == end || *q != ':' || (size_t)(end - q - 1) < len + 1 ||
	    q[1 + len] != '\0' || memchr(q + 1, '\0', len))
		return -1;
	*out = q + 1;
	*p = q + 2 + len;
	return 0;
}

/*
 * Parse stored findings; with out NULL only validate, else append them
 * (file as the file of those that had one). 0, -1 when malformed, or
 * NMIG_ENOMEM.
 */
static int get_diags(const char *p, const char *end, struct nmig_diags *out,
		     const char *file)
{
	while (p < end) {
		int sev, code, line, col, hasfile;
		const char *rule, *msg, *source, *hint;
		struct nmig_diag *d;

		if (get_int(&p, end, ' ', &sev) ||
		    get_int(&p, end, ' ', &code) ||
		    get_int(&p, end, ' ', &line) ||
		    get_int(&p, end, ' ', &col) ||
		    get_int(&p, end, '\n', &hasfile) ||
		    get_str(&p, end, &rule) || get_str(&p, end, &msg) ||
		    get_str(&p, end, &source) || get_str(&p, end, &hint) ||
		    sev < NMIG_SEV_NOTE || sev > NMIG_SEV_ERROR || !msg)
			return -1;
		if (!out)
			continue;
		d = nmig_diags_add(out, (enum nmig_severity)sev, code, rule,
				   hasfile ? file : NULL, line, col, "%s", msg);
		if (!d)
			return NMIG_ENOMEM;
		if (source)
			nmig_diag_set_source(d, source);
		if (hint)
			nmig_diag_set_hint(d, "%s", hint);
	}
	return 0;
}

int nmig_cache_check_get(struct nmig_cache *cache, const char *checksum,
			 int transactional, const char *checker,
			 const char *file, int *pass_out,
			 struct nmig_diags *diags_out)
{
	struct nmig_buf blob = NMIG_BUF_INIT;
	sqlite3_stmt *s;
	int ret = NMIG_ENOTFOUND;

	if (!nmig_cache_usable(cache))
		return NMIG_ENOTFOUND;
	s = cache->stmt[ST_CHECK_GET];
	sqlite3_bind_text(s, 1, checksum, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, transactional != 0);
	sqlite3_bind_text(s, 3, checker, -1, SQLITE_STATIC);
	if (!step_read(cache, s, "reading a check result"))
		return NMIG_ENOTFOUND;
	nmig_buf_put(&blob, sqlite3_column_blob(s, 1),
		     (size_t)sqlite3_column_bytes(s, 1));
	if (nmig_buf_oom(&blob)) {
		ret = nmig_error_set(NMIG_ENOMEM, "out of memory reading the "
						  "plan cache");
		goto cleanup;
	}
	if (get_diags(blob.ptr, blob.ptr + blob.len, NULL, NULL) != 0) {
		cache->stats.stale++;
		goto cleanup;
	}
	if (get_diags(blob.ptr, blob.ptr + blob.len, diags_out, file) != 0) {
		ret = nmig_error_set(NMIG_ENOMEM, "out of memory reading the "
						  "plan cache");
		goto cleanup;
	}
	*pass_out = sqlite3_column_int(s, 0) != 0;
	cache->stats.hits++;
	ret = NMIG_OK;
cleanup:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	nmig_buf_release(&blob);
	return ret;
}

int nmig_cache_check_put(struct nmig_cache *cache, const char *checksum,
			 int transactional, const char *checker, int pass,
			 const struct nmig_diag *items, size_t n)
{
	struct nmig_buf blob = NMIG_BUF_INIT;
	sqlite3_stmt *s;
	int rc;

	if (!nmig_cache_usable(cache))
		return NMIG_OK;
	put_diags(&blob, items, n);
	if (nmig_buf_oom(&blob) || blob.len > INT32_MAX) {
		nmig_buf_release(&blob);
		return nmig_error_set(NMIG_ENOMEM, "out of memory writing the "
						   "plan cache");
	}
	s = cache->stmt[ST_CHECK_PUT];
	sqlite3_bind_text(s, 1, checksum, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, transactional != 0);
	sqlite3_bind_text(s, 3, checker, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, pass != 0);
	sqlite3_bind_blob(s, 5, blob.ptr, (int)blob.len, SQLITE_STATIC);
	rc = step_write(cache, s, "storing a check result");
	nmig_buf_release(&blob);
	return rc;
}

/* Append s percent-encoded (RFC 3986 unreserved characters kept). */
static void put_encoded(struct nmig_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~') {
			nmig_buf_putc(b, (char)ch);
		} else {
			nmig_buf_putc(b, '%');
			nmig_buf_putc(b, hex[ch >> 4]);
			nmig_buf_putc(b, hex[ch & 15]);
		}
	}
}

int nmig_cache_dbkey(struct nmig_buf *out, const char *host, const char *port,
		     const char *dbname, const char *user)
{
	nmig_buf_puts(out, "postgresql://");
	put_encoded(out, user);
	nmig_buf_putc(out, '@');
	put_encoded(out, host);
	nmig_buf_putc(out, ':');
	put_encoded(out, port);
	nmig_buf_putc(out, '/');
	put_encoded(out, dbname);
	return nmig_buf_oom(out) ? NMIG_ENOMEM : NMIG_OK;
}

int nmig_cache_applied_get(struct nmig_cache *cache, const char *dbkey,
			   struct nmig_cache_applied *out)
{
	sqlite3_stmt *s;
	int rc, ret = NMIG_ENOTFOUND;

	memset(out, 0, sizeof(*out));
	if (!nmig_cache_usable(cache))
		return NMIG_ENOTFOUND;
	s = cache->stmt[ST_APPLIED_GET];
	sqlite3_bind_text(s, 1, dbkey, -1, SQLITE_STATIC);
	if (!step_read(cache, s, "reading an applied set"))
		return NMIG_ENOTFOUND;
	rc = get_list(sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2),
		      sqlite3_column_int64(s, 1), &out->ids, &out->n);
	if (rc == NMIG_ENOMEM) {
		ret = nmig_error_set(NMIG_ENOMEM, "out of memory reading the "
						  "plan cache");
		goto cleanup;
	}
	if (rc != NMIG_OK) {
		cache->stats.stale++;
		goto cleanup;
	}
	out->observed_at = sqlite3_column_int64(s, 0);
	cache->stats.hits++;
	ret = NMIG_OK;
cleanup:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int nmig_cache_applied_put(struct nmig_cache *cache, const char *dbkey,
			   const char *const *ids, size_t n)
{
	struct nmig_buf blob = NMIG_BUF_INIT;
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if (!nmig_cache_usable(cache))
		return NMIG_OK;
	for (i = 0; i < n; i++) {
		nmig_buf_puts(&blob, ids[i]);
		nmig_buf_putc(&blob, '\0');
	}
	if (nmig_buf_oom(&blob) || blob.len > INT32_MAX) {
		nmig_buf_release(&blob);
		return nmig_error_set(NMIG_ENOMEM, "out of memory writing the "
						   "plan cache");
	}
	s = cache->stmt[ST_APPLIED_PUT];
	sqlite3_bind_text(s, 1, dbkey, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
	sqlite3_bind_blob(s, 4, blob.ptr, (int)blob.len, SQLITE_STATIC);
	rc = step_write(cache, s, "storing an applied set");
	nmig_buf_release(&blob);
	return rc;
}

void nmig_cache_applied_release(struct nmig_cache_applied *applied)
{
	free_list(applied->ids, applied->n);
	memset(applied, 0, sizeof(*applied));
}

void nmig_cache_stats_get(const struct nmig_cache *cache,
			  struct nmig_cache_stats *out)
{
	if (cache)
		*out = cache->stats;
	else
		memset(out, 0, sizeof(*out));
}

const char *nmig_cache_state_name(enum nmig_cache_state state)
{
	switch (state) {
	case NMIG_CACHE_ABSENT:
		return "absent";
	case NMIG_CACHE_OK:
		return "ok";
	case NMIG_CACHE_EMPTY:
		return "empty";
	case NMIG_CACHE_OUTDATED:
		return "outdated";
	case NMIG_CACHE_FOREIGN:
		return "foreign";
	case NMIG_CACHE_CORRUPT:
		return "corrupt";
	case NMIG_CACHE_UNUSABLE:
		return "unusable";
	}
	return "unknown";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is name "<base>.bad-<digits>[.<digits>]"? */
static int is_set_aside(const char *name, const char *base)
{
	size_t n = strlen(base);
	const char *p;

	if (strncmp(name, base, n) != 0 || strncmp(name + n, ".bad-", 5) != 0)
		return 0;
	p = name + n + 5;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* List the set-aside copies of path into info. NMIG_OK or NMIG_ENOMEM. */
static int list_set_aside(struct nmig_cache_info *info, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	char *dirname = NULL;
	struct dirent *e;
	DIR *d;
	size_t cap = 0;
	int rc = NMIG_OK;

	dirname = dirlen ? strndup(path, dirlen) : strdup(".");
	if (!dirname)
		return NMIG_ENOMEM;
	d = opendir(dirname);
	if (!d)
		goto cleanup;
	while ((e = readdir(d)) != NULL) {
		struct nmig_buf full = NMIG_BUF_INIT;

		if (!is_set_aside(e->d_name, base))
			continue;
		if (nmig_array_grow(&info->set_aside, &cap,
				    info->nset_aside + 1,
				    sizeof(*info->set_aside), 4)) {
			rc = NMIG_ENOMEM;
			break;
		}
		nmig_buf_put(&full, path, dirlen);
		nmig_buf_puts(&full, e->d_name);
		info->set_aside[info->nset_aside] =
		    nmig_buf_detach(&full, NULL);
		if (!info->set_aside[info->nset_aside]) {
			rc = NMIG_ENOMEM;
			break;
		}
		info->nset_aside++;
	}
	closedir(d);
	if (info->nset_aside > 1)
		qsort(info->set_aside, info->nset_aside,
		      sizeof(*info->set_aside), cmp_str);
cleanup:
	free(dirname);
	return rc;
}

/* Counts and databases of a cache in state OK. SQLite result code. */
static int read_contents(sqlite3 *db, struct nmig_cache_info *info)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc;

	rc = query_int(db, "SELECT count(*) FROM file", &info->files);
	if (rc == SQLITE_OK)
		rc = query_int(db, "SELECT count(*) FROM check_result",
			       &info->checks);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db,
					"SELECT dbkey, observed_at, nids FROM "
					"applied ORDER BY dbkey",
					-1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct nmig_cache_db *e;

		rc = SQLITE_OK;
		if (nmig_array_grow(&info->dbs, &cap, info->ndbs + 1,
				    sizeof(*info->dbs), 4)) {
			rc = SQLITE_NOMEM;
			break;
		}
		e = &info->dbs[info->ndbs];
		e->dbkey = strdup((const char *)sqlite3_column_text(s, 0));
		if (!e->dbkey) {
			rc = SQLITE_NOMEM;
			break;
		}
		e->observed_at = sqlite3_column_int64(s, 1);
		e->nids = (size_t)sqlite3_column_int64(s, 2);
		info->ndbs++;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(s);
	return rc;
}

int nmig_cache_info(struct nmig_cache_info *out, const char *path)
{
	struct nmig_buf why = NMIG_BUF_INIT;
	struct identity id;
	struct stat st;
	sqlite3 *db = NULL;
	char *wal = NULL;
	int rc = NMIG_OK, src;
	char eb[128];

	memset(out, 0, sizeof(*out));
	out->path = strdup(path);
	wal = companion(path, "-wal");
	if (!out->path || !wal || list_set_aside(out, path) != NMIG_OK)
		goto nomem;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			goto cleanup;
		rc = nmig_error_set(NMIG_EIO, "cannot read plan cache '%s': %s",
				    path, errstr(errno, eb, sizeof(eb)));
		goto cleanup;
	}
	out->size = (long long)st.st_size;
	if (!S_ISREG(st.st_mode)) {
		out->state = NMIG_CACHE_UNUSABLE;
		out->why = strdup("is not a regular file");
		if (!out->why)
			goto nomem;
		goto cleanup;
	}
	if (stat(wal, &st) == 0)
		out->wal_size = (long long)st.st_size;
	out->state = NMIG_CACHE_EMPTY;
	if (out->size == 0 && out->wal_size == 0)
		goto cleanup;
	src = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (src != SQLITE_OK) {
		rc = nmig_error_set(
		    NMIG_EIO, "cannot read plan cache '%s': %s", path,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
		goto cleanup;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	keep_wal(db);
	if (header_bad(db, &why) && confirm_bad(db))
		goto corrupt;
	nmig_buf_clear(&why);
	src = read_identity(db, &id);
	if (is_corrupt(src)) {
		nmig_buf_printf(&why, "is corrupt (%s)", sqlite3_errstr(src));
		goto corrupt;
	}
	if (src != SQLITE_OK) {
		rc = nmig_error_set(NMIG_EIO, "cannot read plan cache '%s': %s",
				    path, sqlite3_errmsg(db));
		goto cleanup;
	}
	out->schema_version = (int)id.version;
	if (id.app == NMIG_CACHE_APPLICATION_ID &&
	    id.version == NMIG_CACHE_SCHEMA) {
		out->state = NMIG_CACHE_OK;
		src = read_contents(db, out);
		if ((src & 0xff) == SQLITE_NOMEM)
			goto nomem;
		if (src != SQLITE_OK) {
			nmig_buf_printf(&why, "is corrupt (%s)",
					sqlite3_errmsg(db));
			goto corrupt;
		}
	} else if (id.app == NMIG_CACHE_APPLICATION_ID) {
		out->state = NMIG_CACHE_OUTDATED;
	} else if (id.app == 0 && id.objects == 0) {
		out->state = NMIG_CACHE_EMPTY;
	} else {
		out->state = NMIG_CACHE_FOREIGN;
		out->schema_version = 0;
		nmig_buf_printf(&why,
				"is another application's database "
				"(application_id 0x%08llx)",
				(unsigned long long)id.app & 0xffffffffULL);
		goto described;
	}
	goto cleanup;
corrupt:
	out->state = NMIG_CACHE_CORRUPT;
	out->schema_version = 0;
described:
	out->why = nmig_buf_detach(&why, NULL);
	if (!out->why)
		goto nomem;
	goto cleanup;
nomem:
	rc = nmig_error_set(NMIG_ENOMEM, "out of memory reading the plan "
					 "cache");
cleanup:
	sqlite3_close(db);
	free(wal);
	nmig_buf_release(&why);
	if (rc != NMIG_OK)
		nmig_cache_info_release(out);
	return rc;
}

void nmig_cache_info_release(struct nmig_cache_info *info)
{
	size_t i;

	free(info->path);
	free(info->why);
	for (i = 0; i < info->ndbs; i++)
		free(info->dbs[i].dbkey);
	free(info->dbs);
	free_list(info->set_aside, info->nset_aside);
	memset(info, 0, sizeof(*info));
}

int nmig_cache_clear(const char *path, int *removed_out)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal",
					       "-lock"};
	int removed = 0, rc = NMIG_OK;
	size_t i;
	char eb[128];

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char *f = companion(path, suffixes[i]);

		if (!f) {
			rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
			break;
		}
		if (unlink(f) == 0) {
			removed++;
		} else if (errno != ENOENT) {
			rc = nmig_error_set(NMIG_EIO,
					    "cannot delete plan cache file "
					    "'%s': %s",
					    f, errstr(errno, eb, sizeof(eb)));
			nmig_error_hint("check the permissions of its "
					"directory, or delete it by hand");
			free(f);
			break;
		}
		free(f);
	}
	if (removed_out)
		*removed_out = removed;
	return rc;
}

/* The plan cache as a revision-file store: a load's session of lookups. */
struct cache_store {
	struct nmig_cache *cache;
	struct nmig_cache_scan *scan; /* open between scan_open and _close */
};

static void store_begin(void *ud)
{
	nmig_cache_read_begin(((struct cache_store *)ud)->cache);
}

static void store_end(void *ud)
{
	nmig_cache_read_end(((struct cache_store *)ud)->cache);
}

static int store_scan_open(void *ud)
{
	struct cache_store *s = ud;

	return nmig_cache_scan_open(&s->scan, s->cache);
}

static void store_scan_close(void *ud)
{
	struct cache_store *s = ud;

	nmig_cache_scan_close(s->scan);
	s->scan = NULL;
}

static int store_get(void *ud, const char *name, const struct stat *st,
		     struct nmig_revision *rev_out,
		     char checksum_out[NMIG_SHA256_HEX], int is_up)
{
	struct cache_store *s = ud;

	if (s->scan)
		return nmig_cache_scan_get(s->scan, name, st, rev_out,
					   checksum_out, is_up);
	return nmig_cache_file_get(s->cache, name, st, rev_out, checksum_out,
				   is_up);
}

static int store_put(void *ud, const char *name, const struct stat *st,
		     const struct nmig_revision *rev,
		     const char checksum[NMIG_SHA256_HEX], int is_up)
{
	return nmig_cache_file_put(((struct cache_store *)ud)->cache, name, st,
				   rev, checksum, is_up);
}

int nmig_revset_load_cached(struct nmig_revset *out, const char *dir,
			    struct nmig_cache *cache, struct nmig_diags *diags)
{
	struct cache_store s = {cache, NULL};
	const struct nmig_revfile_store store = {
	    &s,		     store_begin, store_end, store_scan_open,
	    store_scan_close, store_get,   store_put,
	};

	if (!nmig_cache_usable(cache))
		return nmig_revset_load_store(out, dir, NULL, diags);
	return nmig_revset_load_store(out, dir, &store, diags);
}
