/*
 * nmig import: reads a history written for Diesel, golang-migrate (and the
 * flat V0001.Name pairs), dbmate, goose or Sourcegraph's migrator into
 * memory as nmig revisions -- ids, names and SQL bytes kept, explicit
 * parents reproducing the source tool's own order, transaction choices
 * carried over -- checks all of it, and only then writes the files. Each
 * reader follows its tool's rules (names, markers, ordering, what it
 * refuses) so that the imported history runs as the tool would have run it;
 * docs/import.md describes them.
 */
#include "import.h"
#include "buf.h"
#include "config.h"
#include "error.h"
#include "hashmap.h"
#include "revfile.h"
#include "sqlscript.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RULE "import"
#define DEFAULT_SLUG "migration"
#define FORMATS_HELP                                                           \
	"diesel, golang-migrate (or flat), dbmate, goose, sourcegraph, auto"

/* ---- small text and file helpers ---- */

/* A malloc'ed NUL-terminated copy of s[0..n), NULL when out of memory. */
static char *dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* dir + "/" + name, malloc'ed; NULL when out of memory. */
static char *join(const char *dir, const char *name)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	nmig_buf_puts(&b, dir);
	if (b.len && b.ptr[b.len - 1] != '/')
		nmig_buf_putc(&b, '/');
	nmig_buf_puts(&b, name);
	return nmig_buf_detach(&b, NULL);
}

/* Whether s ends with suffix. */
static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* An ASCII digit (isdigit() depends on the locale). */
static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Go's \s, which dbmate's markers use. */
static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\v' ||
	       c == '\n';
}

/* ASCII lower case, whatever the locale. */
static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Number of leading digits of s. */
static size_t digits_len(const char *s)
{
	size_t n = 0;

	while (is_digit(s[n]))
		n++;
	return n;
}

/*
 * The digits of s[0..n) without leading zeros ("0" for all zeros), so that
 * equal numbers give equal strings. malloc'ed; NULL when out of memory.
 */
static char *number_key(const char *s, size_t n)
{
	while (n > 1 && *s == '0') {
		s++;
		n--;
	}
	return dupn(s, n);
}

/* Compare two number_key strings as numbers. */
static int number_cmp(const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b);
	int c;

	if (an != bn)
		return an < bn ? -1 : 1;
	c = strcmp(a, b);
	return c < 0 ? -1 : c > 0;
}

/* 'd' for a directory, 'f' for a regular file, '?' for another kind, 0
 * when path cannot be stat'ed (symbolic links followed). */
static int path_kind(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return 'd';
	if (S_ISREG(st.st_mode))
		return 'f';
	return '?';
}

/* One line of a text: p[0..len) without its "\n" or "\r\n". */
struct line {
	const char *p;
	size_t len;
	size_t off; /* byte offset of the line in the text */
	int no;	    /* 1-based */
};

/* Step to the next line of text[0..len); 0 at the end. */
static int next_line(const char *text, size_t len, size_t *pos, struct line *ln)
{
	const char *nl;
	size_t end;

	if (*pos >= len)
		return 0;
	ln->off = *pos;
	ln->p = text + *pos;
	nl = memchr(ln->p, '\n', len - *pos);
	end = nl ? (size_t)(nl - text) : len;
	ln->len = end - *pos;
	if (ln->len && ln->p[ln->len - 1] == '\r')
		ln->len--;
	*pos = nl ? end + 1 : len;
	ln->no++;
	return 1;
}

/* A blank line or a `--` comment line (leading blanks allowed). */
static int blank_or_comment(const struct line *ln)
{
	size_t i = 0;

	while (i < ln->len && is_space(ln->p[i]))
		i++;
	return i == ln->len ||
	       (i + 1 < ln->len && ln->p[i] == '-' && ln->p[i + 1] == '-');
}

/* The line's text as a NUL-terminated string for messages (truncated). */
static const char *line_text(const struct line *ln, char *buf, size_t cap)
{
	size_t n = ln->len < cap - 1 ? ln->len : cap - 1;

	memcpy(buf, ln->p, n);
	buf[n] = '\0';
	return buf;
}

/* ---- directory listing ---- */

struct entry {
	char *name;
	int kind; /* 'd' directory, 'f' regular file, else other */
};

struct listing {
	struct entry *items;
	size_t n;
};

/* qsort order of directory entries: by name, bytewise. */
static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

/* Free a listing; it is left empty. */
static void listing_release(struct listing *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->items[i].name);
	free(ls->items);
	ls->items = NULL;
	ls->n = 0;
}

/*
 * List dir without hidden entries (names starting with '.'), sorted by
 * name, each with its kind (symbolic links followed). NMIG_EIO when dir
 * cannot be read.
 */
static int list_dir(struct listing *out, const char *dir)
{
	struct dirent *de;
	size_t cap = 0;
	char *path;
	DIR *d;
	int rc = NMIG_OK;

	out->items = NULL;
	out->n = 0;
	d = opendir(dir);
	if (!d)
		return nmig_error_set(NMIG_EIO,
				      "cannot read directory '%s': %s", dir,
				      strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct entry *p =
			    realloc(out->items, ncap * sizeof(*p));

			if (!p)
				goto oom;
			out->items = p;
			cap = ncap;
		}
		out->items[out->n].name = strdup(de->d_name);
		path = join(dir, de->d_name);
		if (!out->items[out->n].name || !path) {
			free(out->items[out->n].name);
			free(path);
			goto oom;
		}
		out->items[out->n].kind = path_kind(path);
		free(path);
		out->n++;
	}
	if (out->n)
		qsort(out->items, out->n, sizeof(*out->items), entry_cmp);
	goto cleanup;
oom:
	listing_release(out);
	rc = nmig_error_set(NMIG_ENOMEM, "out of memory listing '%s'", dir);
cleanup:
	closedir(d);
	return rc;
}

/* ---- the reader: collected revisions and findings ---- */

/* A revision being read, with what only the reader needs. */
struct item {
	struct nmig_import_rev rev;
	char *origin;	 /* the file or directory it came from */
	char *order_key; /* the source tool's sort key */
	int numeric;	 /* order_key is a number_key */
	char *dup_key;	 /* equal for versions the tool takes as one */
	char *up_sql;	 /* SQL bytes, without nmig's header */
	size_t up_sql_len;
	char *down_sql; /* NULL: irreversible */
	size_t down_sql_len;
	char **src_parents; /* Sourcegraph: parent ids as written */
	size_t nsrc_parents;
	char *meta;	  /* Sourcegraph: the metadata.yaml path */
	int parents_line; /* and its `parents` line */
};

struct reader {
	const char *src;
	enum nmig_import_format format;
	struct nmig_diags *diags; /* may be NULL */
	int first;		  /* code of the first error, or 0 */
	struct nmig_error saved;  /* that error */
	struct item *items;
	size_t n, cap;
};

/* Record the last error as a finding (and as the first, if it is). */
static int record_last(struct reader *r)
{
	const struct nmig_error *e = nmig_error_last();

	if (r->diags)
		nmig_diags_add_last_error(r->diags, RULE);
	if (!r->first) {
		r->first = e->code ? e->code : NMIG_ERROR;
		r->saved = *e;
	}
	return e->code ? e->code : NMIG_ERROR;
}

/*
 * Record an error about file (line 0 when unknown; source the line's
 * text or NULL; hint may be NULL) and return code. Reading goes on.
 */
static int fail(struct reader *r, int code, const char *file, int line,
		const char *source, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int fail(struct reader *r, int code, const char *file, int line,
		const char *source, const char *hint, const char *fmt, ...)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	nmig_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	nmig_error_set(code, "%s", msg.ptr);
	nmig_buf_release(&msg);
	nmig_error_location(file, line, 0, source);
	if (hint)
		nmig_error_hint("%s", hint);
	return record_last(r);
}

/* A warning or note about file; nothing when there is no list. */
static void notef(struct reader *r, enum nmig_severity sev, const char *file,
		  int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void notef(struct reader *r, enum nmig_severity sev, const char *file,
		  int line, const char *fmt, ...)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	va_list ap;

	if (!r->diags)
		return;
	va_start(ap, fmt);
	nmig_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	nmig_diags_add(r->diags, sev, NMIG_OK, RULE, file, line, 0, "%s",
		       msg.ptr);
	nmig_buf_release(&msg);
}

/* Set the out-of-memory error and return NMIG_ENOMEM. */
static int oom(void)
{
	return nmig_error_set(NMIG_ENOMEM, "out of memory");
}

/*
 * Warn that the entry name of the source directory is not a migration and
 * is ignored (why says what it is not). NMIG_OK or NMIG_ENOMEM.
 */
static int ignore_entry(struct reader *r, const char *name, const char *why)
{
	char *path = join(r->src, name);

	if (!path)
		return oom();
	notef(r, NMIG_SEV_WARNING, path, 0, "ignored: %s", why);
	free(path);
	return NMIG_OK;
}

/* Make the saved first error the last error again. */
static void restore_error(const struct nmig_error *e)
{
	nmig_error_set(e->code, "%s", e->message);
	if (e->detail[0])
		nmig_error_detail("%s", e->detail);
	if (e->hint[0])
		nmig_error_hint("%s", e->hint);
	if (e->file[0] || e->line)
		nmig_error_location(e->file[0] ? e->file : NULL, e->line,
				    e->col, e->source[0] ? e->source : NULL);
}

/* Free n strings and the array holding them. */
static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Free what a revision owns; it is left zeroed. */
static void rev_release(struct nmig_import_rev *rev)
{
	free(rev->id);
	free(rev->slug);
	free(rev->message);
	free_strv(rev->parents, rev->nparents);
	free(rev->up_source);
	free(rev->down_source);
	free(rev->up_name);
	free(rev->down_name);
	free(rev->up_text);
	free(rev->down_text);
	memset(rev, 0, sizeof(*rev));
}

/* Free what an item owns, its revision included; it is left zeroed. */
static void item_release(struct item *it)
{
	rev_release(&it->rev);
	free(it->origin);
	free(it->order_key);
	free(it->dup_key);
	free(it->up_sql);
	free(it->down_sql);
	free_strv(it->src_parents, it->nsrc_parents);
	free(it->meta);
	memset(it, 0, sizeof(*it));
}

/* Free every item of the reader. */
static void reader_release(struct reader *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		item_release(&r->items[i]);
	free(r->items);
	r->items = NULL;
	r->n = r->cap = 0;
}

/* A new zeroed item owning origin (freed on failure), or NULL. */
static struct item *add_item(struct reader *r, char *origin)
{
	struct item *it;

	if (!origin)
		return NULL;
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct item *p = realloc(r->items, ncap * sizeof(*p));

		if (!p) {
			free(origin);
			return NULL;
		}
		r->items = p;
		r->cap = ncap;
	}
	it = &r->items[r->n++];
	memset(it, 0, sizeof(*it));
	it->origin = origin;
	return it;
}

/* Drop the last item (a revision that turned out to be bad). */
static void drop_last_item(struct reader *r)
{
	item_release(&r->items[--r->n]);
}

/*
 * Set the item's id and slug (slug NULL or empty: DEFAULT_SLUG) and check
 * that nmig's loader reads `<id>_<slug>.up.sql` back as this id and slug
 * (no blanks, ',' or ':' in the id, not a reserved word, valid UTF-8).
 * 1 when good, 0 after recording an error, or NMIG_ENOMEM.
 */
static int set_names(struct reader *r, struct item *it, const char *id,
		     size_t idlen, const char *slug, size_t slen)
{
	struct nmig_buf name = NMIG_BUF_INIT;
	char *lid = NULL, *lslug = NULL, kind = 0, hint[1024];
	int rc;

	if (!slug || !slen) {
		slug = DEFAULT_SLUG;
		slen = strlen(DEFAULT_SLUG);
	}
	it->rev.id = dupn(id, idlen);
	it->rev.slug = dupn(slug, slen);
	if (!it->rev.id || !it->rev.slug)
		return oom();
	if (!idlen) {
		fail(r, NMIG_EINPUT, it->origin, 0, NULL,
		     "rename it to <version>_<name>",
		     "migration name has no version before '_'");
		return 0;
	}
	if (memchr(slug, '/', slen)) {
		fail(r, NMIG_EINPUT, it->origin, 0, NULL, NULL,
		     "migration name '%s' cannot be a file name", it->rev.slug);
		return 0;
	}
	nmig_buf_printf(&name, "%s_%s.up.sql", it->rev.id, it->rev.slug);
	if (name.oom)
		return oom();
	rc = nmig_revfile_parse_name(name.ptr, &lid, &lslug, &kind);
	if (rc == NMIG_ENOMEM) {
		nmig_buf_release(&name);
		return rc;
	}
	if (rc < 0) {
		snprintf(hint, sizeof(hint), "%s", nmig_error_last()->hint);
		fail(r, NMIG_EINPUT, it->origin, 0, NULL, hint[0] ? hint : NULL,
		     "cannot become an nmig revision: %s",
		     nmig_error_last()->message);
		rc = 0;
	} else if (rc == 0 || strcmp(lid, it->rev.id) != 0 ||
		   strcmp(lslug, it->rev.slug) != 0) {
		fail(r, NMIG_EINPUT, it->origin, 0, NULL, NULL,
		     "cannot become an nmig revision: '%s' would not load as "
		     "id '%s'",
		     name.ptr, it->rev.id);
		rc = 0;
	} else {
		rc = 1;
	}
	free(lid);
	free(lslug);
	nmig_buf_release(&name);
	return rc;
}

/*
 * Read path into *text and *len. 1 when read, 0 after recording the error,
 * NMIG_ENOMEM.
 */
static int read_source(struct reader *r, const char *path, char **text,
		       size_t *len)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	int rc;

	rc = nmig_buf_read_file(&b, path, NMIG_MAX_FILE_SIZE);
	if (rc == NMIG_ENOMEM) {
		nmig_buf_release(&b);
		return rc;
	}
	if (rc) {
		nmig_buf_release(&b);
		record_last(r);
		return 0;
	}
	*text = nmig_buf_detach(&b, len);
	if (!*text)
		return oom();
	return 1;
}

/* SQL that starts with nmig's own header would merge with the new one. */
static int check_not_nmig(struct reader *r, const char *path, const char *sql,
			  size_t len)
{
	static const char prefix[] = "-- nmig:";

	if (len >= sizeof(prefix) - 1 &&
	    memcmp(sql, prefix, sizeof(prefix) - 1) == 0) {
		fail(r, NMIG_EINPUT, path, 1, sql,
		     "these look like nmig's own files: copy them instead of "
		     "importing",
		     "file already starts with an nmig header");
		return 0;
	}
	return 1;
}

/*
 * Read a migration directory's required up.sql (at *up; hint says what a
 * missing one needs, or NULL) and optional down.sql (at *down) into it,
 * which takes over each path it reads. 1 when read, 0 after recording the
 * error, NMIG_ENOMEM.
 */
static int read_up_down(struct reader *r, struct item *it, char **up,
			char **down, const char *hint)
{
	int rc;

	if (path_kind(*up) != 'f') {
		fail(r, NMIG_EINPUT, it->origin, 0, NULL, hint,
		     "migration directory has no 'up.sql'");
		return 0;
	}
	rc = read_source(r, *up, &it->up_sql, &it->up_sql_len);
	if (rc <= 0)
		return rc;
	it->rev.up_source = *up;
	*up = NULL;
	if (!check_not_nmig(r, it->rev.up_source, it->up_sql, it->up_sql_len))
		return 0;
	if (path_kind(*down) == 'f') {
		rc = read_source(r, *down, &it->down_sql, &it->down_sql_len);
		if (rc <= 0)
			return rc;
		it->rev.down_source = *down;
		*down = NULL;
	}
	return 1;
}

/* ---- Diesel ---- */

/* metadata.toml: `run_in_transaction = true|false`; 1, 0 or NMIG_ENOMEM. */
static int diesel_metadata(struct reader *r, const char *path, int *tx)
{
	struct line ln = {0};
	char *text = NULL, src[256];
	size_t len = 0, pos = 0;
	int rc, ok = 1;

	rc = read_source(r, path, &text, &len);
	if (rc <= 0)
		return rc;
	while (next_line(text, len, &pos, &ln)) {
		const char *p = ln.p, *e = ln.p + ln.len, *k, *v;
		size_t klen, vlen;

		while (p < e && is_space(*p))
			p++;
		if (p == e || *p == '#')
			continue;
		k = p;
		while (p < e && (*p == '_' || *p == '-' || is_digit(*p) ||
				 (lower(*p) >= 'a' && lower(*p) <= 'z')))
			p++;
		klen = (size_t)(p - k);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (!klen || p == e || *p != '=') {
			fail(r, NMIG_EINPUT, path, ln.no,
			     line_text(&ln, src, sizeof(src)),
			     "diesel reads only `run_in_transaction = false` "
			     "here",
			     "expected 'key = value'");
			ok = 0;
			continue;
		}
		p++;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		v = p;
		while (p < e && *p != '#' && *p != ' ' && *p != '\t')
			p++;
		vlen = (size_t)(p - v);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p < e && *p != '#') {
			fail(r, NMIG_EINPUT, path, ln.no,
			     line_text(&ln, src, sizeof(src)), NULL,
			     "unexpected text after the value");
			ok = 0;
			continue;
		}
		if (klen != 18 || memcmp(k, "run_in_transaction", 18) != 0) {
			static const char *const known[] = {
			    "run_in_transaction", NULL};
			char key[64];

			snprintf(key, sizeof(key), "%.*s", (int)klen, k);
			if (nmig_key_suggest(key, known))
				notef(r, NMIG_SEV_WARNING, path, ln.no,
				      "unknown key '%s'; did you mean "
				      "'run_in_transaction'? (ignored, as "
				      "diesel ignores it)",
				      key);
			else
				notef(r, NMIG_SEV_WARNING, path, ln.no,
				      "unknown key '%s' ignored (diesel knows "
				      "only 'run_in_transaction')",
				      key);
			continue;
		}
		if (vlen == 4 && memcmp(v, "true", 4) == 0) {
			*tx = 1;
		} else if (vlen == 5 && memcmp(v, "false", 5) == 0) {
			*tx = 0;
		} else {
			fail(r, NMIG_EINPUT, path, ln.no,
			     line_text(&ln, src, sizeof(src)), NULL,
			     "'run_in_transaction' must be true or false");
			ok = 0;
		}
	}
	free(text);
	return ok;
}

/* One Diesel migration directory; NMIG_ENOMEM stops the reading. */
static int diesel_one(struct reader *r, const char *name)
{
	const char *us = strchr(name, '_');
	size_t vlen = us ? (size_t)(us - name) : strlen(name);
	char *up = NULL, *down = NULL, *meta = NULL;
	struct item *it;
	size_t i, k;
	int rc, tx = 1;

	it = add_item(r, join(r->src, name));
	if (!it)
		return oom();
	rc = set_names(r, it, name, vlen, us ? us + 1 : NULL,
		       us ? strlen(us + 1) : 0);
	if (rc <= 0)
		goto out;
	/* Diesel's version is the name before '_' with dashes removed,
	 * compared as text. */
	it->order_key = malloc(vlen + 1);
	up = join(it->origin, "up.sql");
	down = join(it->origin, "down.sql");
	meta = join(it->origin, "metadata.toml");
	if (!it->order_key || !up || !down || !meta) {
		rc = oom();
		goto out;
	}
	for (i = k = 0; i < vlen; i++)
		if (name[i] != '-')
			it->order_key[k++] = name[i];
	it->order_key[k] = '\0';
	it->dup_key = strdup(it->order_key);
	if (!it->dup_key) {
		rc = oom();
		goto out;
	}
	rc = read_up_down(r, it, &up, &down,
			  "every diesel migration needs an up.sql");
	if (rc <= 0)
		goto out;
	if (path_kind(meta) == 'f') {
		rc = diesel_metadata(r, meta, &tx);
		if (rc <= 0)
			goto out;
	}
	it->rev.transactional = tx;
	rc = 1;
out:
	free(up);
	free(down);
	free(meta);
	if (rc <= 0)
		drop_last_item(r);
	return rc < 0 ? rc : NMIG_OK;
}

/* Diesel: every directory of src is a migration; files are warnings. */
static int read_diesel(struct reader *r, const struct listing *ls)
{
	size_t i;
	int rc;

	for (i = 0; i < ls->n; i++) {
		if (ls->items[i].kind != 'd') {
			if (ignore_entry(r, ls->items[i].name,
					 "not a diesel migration directory"))
				return NMIG_ENOMEM;
			continue;
		}
		rc = diesel_one(r, ls->items[i].name);
		if (rc == NMIG_ENOMEM)
			return rc;
	}
	return NMIG_OK;
}

/* ---- golang-migrate and flat V<n>.<Name> pairs ---- */

struct half {
	const char *name; /* file name in the listing */
	size_t stem_len;  /* name without .up.sql / .down.sql */
	char kind;	  /* 'u' or 'd' */
	const char *id;	  /* within name */
	size_t idlen;
	const char *slug;
	size_t slen;
	char *num; /* number_key of the version */
};

/*
 * Match `<digits>_<title>.up.sql` (golang-migrate) or
 * `V<digits>.<Name>.up.sql` (and .down.sql). 1 and h filled, or 0.
 */
static int flat_name(const char *name, struct half *h)
{
	size_t n = strlen(name), d;

	memset(h, 0, sizeof(*h));
	if (ends_with(name, ".up.sql")) {
		h->kind = 'u';
		h->stem_len = n - 7;
	} else if (ends_with(name, ".down.sql")) {
		h->kind = 'd';
		h->stem_len = n - 9;
	} else {
		return 0;
	}
	h->name = name;
	if (name[0] == 'V' && (d = digits_len(name + 1)) > 0 &&
	    1 + d < h->stem_len && name[1 + d] == '.') {
		h->id = name;
		h->idlen = 1 + d;
		h->slug = name + 2 + d;
		h->slen = h->stem_len - 2 - d;
		return 1;
	}
	d = digits_len(name);
	if (d > 0 && d < h->stem_len && name[d] == '_') {
		h->id = name;
		h->idlen = d;
		h->slug = name + d + 1;
		h->slen = h->stem_len - d - 1;
		return 1;
	}
	return 0;
}

/* qsort order of flat files: by version number, up before down, then
 * by name. */
static int half_cmp(const void *a, const void *b)
{
	const struct half *x = a, *y = b;
	int c = number_cmp(x->num, y->num);

	if (c)
		return c;
	if (x->kind != y->kind)
		return x->kind == 'u' ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Whether text needs `transaction off` to run as golang-migrate ran it
 * (as it stands, no transaction added): transaction control or a
 * statement that cannot run in a transaction block. 1, 0 or NMIG_ENOMEM.
 */
static int flat_needs_no_tx(struct reader *r, const char *path,
			    const char *text, size_t len)
{
	struct nmig_script sc;
	size_t i;
	int rc, found = 0;

	memset(&sc, 0, sizeof(sc));
	rc = nmig_script_from_text(&sc, path, text, len);
	if (rc == NMIG_ENOMEM)
		return rc;
	if (rc) {
		notef(r, NMIG_SEV_WARNING, path, nmig_error_last()->line,
		      "could not scan for transaction control (%s); "
		      "imported as transactional",
		      nmig_error_last()->message);
		nmig_script_release(&sc);
		return 0;
	}
	for (i = 0; i < sc.n && !found; i++) {
		const struct nmig_stmt *st = &sc.stmts[i];
		const char *what = st->what ? st->what : st->kind;

		if (st->flags & NMIG_STMT_TXCONTROL) {
			notef(r, NMIG_SEV_NOTE, path, st->line,
			      "the file controls its own transaction (%s): "
			      "imported with '-- nmig:transaction off'",
			      what ? what : "a transaction statement");
			found = 1;
		} else if (st->flags & NMIG_STMT_NO_TX) {
			notef(r, NMIG_SEV_NOTE, path, st->line,
			      "%s cannot run in a transaction block: imported "
			      "with '-- nmig:transaction off'",
			      what ? what : "a statement");
			found = 1;
		}
	}
	nmig_script_release(&sc);
	return found;
}

/* Make the item of one version from its up half and optional down. */
static int flat_one(struct reader *r, const struct half *up,
		    const struct half *down)
{
	struct item *it;
	int rc, a, b;

	it = add_item(r, join(r->src, up->name));
	if (!it)
		return oom();
	rc = set_names(r, it, up->id, up->idlen, up->slug, up->slen);
	if (rc <= 0)
		goto out;
	it->order_key = strdup(up->num);
	it->dup_key = strdup(up->num);
	it->numeric = 1;
	it->rev.up_source = strdup(it->origin);
	if (down)
		it->rev.down_source = join(r->src, down->name);
	if (!it->order_key || !it->dup_key || !it->rev.up_source ||
	    (down && !it->rev.down_source)) {
		rc = oom();
		goto out;
	}
	rc = read_source(r, it->rev.up_source, &it->up_sql, &it->up_sql_len);
	if (rc <= 0)
		goto out;
	if (!check_not_nmig(r, it->rev.up_source, it->up_sql, it->up_sql_len)) {
		rc = 0;
		goto out;
	}
	if (down) {
		rc = read_source(r, it->rev.down_source, &it->down_sql,
				 &it->down_sql_len);
		if (rc <= 0)
			goto out;
	}
	a = flat_needs_no_tx(r, it->rev.up_source, it->up_sql, it->up_sql_len);
	b = a == 0 && down ? flat_needs_no_tx(r, it->rev.down_source,
					      it->down_sql, it->down_sql_len)
			   : 0;
	if (a < 0 || b < 0) {
		rc = NMIG_ENOMEM;
		goto out;
	}
	it->rev.transactional = !(a || b);
	rc = 1;
out:
	if (rc <= 0)
		drop_last_item(r);
	return rc < 0 ? rc : NMIG_OK;
}

/* Pair the halves of one version (h[0..n), up first) into a revision. */
static int flat_group(struct reader *r, const struct half *h, size_t n)
{
	const struct half *up = NULL, *down = NULL;
	char *path;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct half *x = &h[i];
		const struct half **slot = x->kind == 'u' ? &up : &down;

		if (*slot || (x->kind == 'd' && up &&
			      (up->stem_len != x->stem_len ||
			       memcmp(up->name, x->name, x->stem_len) != 0))) {
			const struct half *other = *slot ? *slot : up;

			path = join(r->src, x->name);
			if (!path)
				return oom();
			fail(r, NMIG_EINPUT, path, 0, NULL,
			     "give each migration its own version",
			     "version %.*s is also used by '%s'", (int)x->idlen,
			     x->id, other->name);
			free(path);
			return NMIG_OK;
		}
		*slot = x;
	}
	if (!up) {
		path = join(r->src, down->name);
		if (!path)
			return oom();
		fail(r, NMIG_EINPUT, path, 0, NULL,
		     "add the up file, or remove the down file",
		     "down file has no up file '%.*s.up.sql'",
		     (int)down->stem_len, down->name);
		free(path);
		return NMIG_OK;
	}
	return flat_one(r, up, down);
}

/* golang-migrate and V<n> pairs: group the files by version number and
 * make one revision per group; other files are warnings. */
static int read_flat(struct reader *r, const struct listing *ls)
{
	struct half *h = NULL;
	size_t i, j, n = 0;
	int rc = NMIG_OK;

	h = calloc(ls->n ? ls->n : 1, sizeof(*h));
	if (!h)
		return oom();
	for (i = 0; i < ls->n; i++) {
		const char *name = ls->items[i].name;

		if (ls->items[i].kind != 'f' || !flat_name(name, &h[n])) {
			rc = ignore_entry(
			    r, name,
			    "not named <version>_<title>.up.sql, "
			    ".down.sql, or V<version>.<Name>.up.sql");
			if (rc)
				goto cleanup;
			continue;
		}
		h[n].num = number_key(h[n].id + (h[n].id[0] == 'V'),
				      h[n].idlen - (h[n].id[0] == 'V'));
		if (!h[n].num) {
			rc = oom();
			goto cleanup;
		}
		n++;
	}
	if (n)
		qsort(h, n, sizeof(*h), half_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && number_cmp(h[i].num, h[j].num) == 0;
		     j++)
			;
		rc = flat_group(r, h + i, j - i);
		if (rc == NMIG_ENOMEM)
			goto cleanup;
	}
	rc = NMIG_OK;
cleanup:
	for (i = 0; i < n; i++)
		free(h[i].num);
	free(h);
	return rc;
}

/* ---- single-file formats: dbmate and goose ---- */

/* Where a single file splits, and how it runs. */
struct split {
	int has_down;
	size_t down; /* offset of the down marker line */
	int transactional;
};

/*
 * A dbmate marker line: `--`, blanks, `migrate:up` or `migrate:down`, then
 * the end of the line or blanks and options. 'u', 'd' or 0; *opts gets
 * the text after the marker.
 */
static int dbmate_marker(const struct line *ln, const char **opts,
			 size_t *optlen)
{
	const char *p = ln->p, *e = ln->p + ln->len;
	int kind;

	if (ln->len < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	p += 2;
	while (p < e && is_space(*p))
		p++;
	if ((size_t)(e - p) >= 10 && memcmp(p, "migrate:up", 10) == 0) {
		kind = 'u';
		p += 10;
	} else if ((size_t)(e - p) >= 12 &&
		   memcmp(p, "migrate:down", 12) == 0) {
		kind = 'd';
		p += 12;
	} else {
		return 0;
	}
	if (p < e && !is_space(*p))
		return 0;
	*opts = p;
	*optlen = (size_t)(e - p);
	return kind;
}

/* dbmate's block options; *tx = 0 for `transaction:false`. */
static void dbmate_options(struct reader *r, const char *path, int lineno,
			   const char *p, size_t len, int *tx)
{
	const char *e = p + len, *t, *colon;

	*tx = 1;
	for (;;) {
		while (p < e && is_space(*p))
			p++;
		if (p == e)
			break;
		t = p;
		while (p < e && !is_space(*p))
			p++;
		colon = memchr(t, ':', (size_t)(p - t));
		if (colon && (size_t)(colon - t) == 11 &&
		    memcmp(t, "transaction", 11) == 0 &&
		    !memchr(colon + 1, ':', (size_t)(p - colon - 1))) {
			*tx = !((size_t)(p - colon - 1) == 5 &&
				memcmp(colon + 1, "false", 5) == 0);
			continue;
		}
		{
			static const char *const known[] = {"transaction",
							    NULL};
			char opt[64];
			size_t n = colon ? (size_t)(colon - t)
					 : (size_t)(p - t);

			snprintf(opt, sizeof(opt), "%.*s", (int)n, t);
			if (strcmp(opt, "transaction") != 0 &&
			    nmig_key_suggest(opt, known))
				notef(r, NMIG_SEV_WARNING, path, lineno,
				      "dbmate option '%.*s' ignored; did you "
				      "mean 'transaction'?",
				      (int)(p - t), t);
			else
				notef(r, NMIG_SEV_WARNING, path, lineno,
				      "dbmate option '%.*s' ignored",
				      (int)(p - t), t);
		}
	}
}

/* Find dbmate's blocks; 1 when good, 0 after recording the error. */
static int dbmate_split(struct reader *r, const char *path, const char *text,
			size_t len, struct split *sp)
{
	struct line ln = {0};
	const char *opts;
	size_t pos = 0, optlen;
	int up = 0, down = 0, up_tx = 1, down_tx = 1, kind;
	char src[256];

	memset(sp, 0, sizeof(*sp));
	while (next_line(text, len, &pos, &ln)) {
		kind = dbmate_marker(&ln, &opts, &optlen);
		if (!kind) {
			if (!up && !blank_or_comment(&ln))
				goto before_up;
			continue;
		}
		if (kind == 'u' && (up || down)) {
			fail(r, NMIG_EINPUT, path, ln.no,
			     line_text(&ln, src, sizeof(src)),
			     "nmig keeps one up and one down block per "
			     "revision: split the file into one migration per "
			     "block pair",
			     "second '-- migrate:up' block (after line %d)",
			     down ? down : up);
			return 0;
		}
		if (kind == 'd' && down) {
			fail(r, NMIG_EINPUT, path, ln.no,
			     line_text(&ln, src, sizeof(src)),
			     "nmig keeps one up and one down block per "
			     "revision: split the file into one migration per "
			     "block pair",
			     "second '-- migrate:down' block (the first is at "
			     "line %d)",
			     down);
			return 0;
		}
		if (kind == 'd' && !up) {
			fail(r, NMIG_EINPUT, path, ln.no,
			     line_text(&ln, src, sizeof(src)),
			     "dbmate requires '-- migrate:up' first",
			     "'-- migrate:down' before '-- migrate:up'");
			return 0;
		}
		if (kind == 'u') {
			up = ln.no;
			dbmate_options(r, path, ln.no, opts, optlen, &up_tx);
		} else {
			down = ln.no;
			sp->has_down = 1;
			sp->down = ln.off;
			dbmate_options(r, path, ln.no, opts, optlen, &down_tx);
		}
	}
	if (!up) {
		fail(r, NMIG_EINPUT, path, 0, NULL,
		     "add '-- migrate:up' above the SQL (dbmate refuses the "
		     "file too)",
		     "no '-- migrate:up' line");
		return 0;
	}
	if (up_tx != down_tx && down)
		notef(r, NMIG_SEV_WARNING, path, up_tx ? down : up,
		      "only the %s block has transaction:false: nmig runs the "
		      "whole revision outside a transaction",
		      up_tx ? "down" : "up");
	sp->transactional = up_tx && down_tx;
	return 1;
before_up:
	fail(r, NMIG_EINPUT, path, ln.no, line_text(&ln, src, sizeof(src)),
	     "move it below '-- migrate:up' (dbmate refuses the file too)",
	     "statement before '-- migrate:up'");
	return 0;
}

/*
 * A goose annotation line: `--`, blanks, `+goose`, blanks, then the
 * annotation, which goose takes case-insensitively. 1 with ann set to its
 * lower-case words joined by single blanks, or 0 for other lines.
 */
static int goose_annotation(const struct line *ln, char *ann, size_t cap)
{
	const char *p = ln->p, *e = ln->p + ln->len;
	size_t n = 0;
	int i;

	if (ln->len < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	p += 2;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (e - p < 6 || *p != '+')
		return 0;
	for (i = 0; i < 5; i++)
		if (lower(p[1 + i]) != "goose"[i])
			return 0;
	p += 6;
	if (p < e && !is_space(*p))
		return 0;
	while (p < e) {
		while (p < e && is_space(*p))
			p++;
		if (p == e)
			break;
		if (n && n + 1 < cap)
			ann[n++] = ' ';
		while (p < e && !is_space(*p)) {
			if (n + 1 < cap)
				ann[n++] = lower(*p);
			p++;
		}
	}
	ann[n] = '\0';
	return 1;
}

/* Find goose's sections; 1 when good, 0 after recording the error. */
static int goose_split(struct reader *r, const char *path, const char *text,
		       size_t len, struct split *sp)
{
	struct line ln = {0};
	size_t pos = 0;
	int up = 0, down = 0, begin = 0;
	char ann[64], src[256];
	const char *why = NULL, *hint = NULL;

	memset(sp, 0, sizeof(*sp));
	sp->transactional = 1;
	while (next_line(text, len, &pos, &ln)) {
		if (!goose_annotation(&ln, ann, sizeof(ann))) {
			if (!up && !blank_or_comment(&ln)) {
				why = "statement before '-- +goose Up'";
				hint = "move it below '-- +goose Up' (goose "
				       "refuses the file too)";
				goto bad;
			}
			continue;
		}
		if (strcmp(ann, "up") == 0) {
			if (up || down) {
				why = "second '-- +goose Up' annotation";
				goto bad;
			}
			up = ln.no;
		} else if (strcmp(ann, "down") == 0) {
			if (!up || down) {
				why = down
					  ? "second '-- +goose Down' annotation"
					  : "'-- +goose Down' before "
					    "'-- +goose Up'";
				goto bad;
			}
			if (begin) {
				why = "'-- +goose Down' inside a "
				      "StatementBegin/StatementEnd block";
				goto bad;
			}
			down = ln.no;
			sp->has_down = 1;
			sp->down = ln.off;
		} else if (strcmp(ann, "statementbegin") == 0) {
			if (!up || begin) {
				why = begin ? "StatementBegin inside another "
					      "StatementBegin block"
					    : "StatementBegin before "
					      "'-- +goose Up'";
				goto bad;
			}
			begin = ln.no;
		} else if (strcmp(ann, "statementend") == 0) {
			if (!begin) {
				why = "StatementEnd without StatementBegin";
				goto bad;
			}
			begin = 0;
		} else if (strcmp(ann, "no transaction") == 0) {
			sp->transactional = 0;
		} else if (strcmp(ann, "envsub on") == 0) {
			why = "'-- +goose ENVSUB ON' substitutes environment "
			      "variables when goose runs; nmig runs the SQL as "
			      "written";
			hint =
			    "replace the ${VAR} references with their values "
			    "and remove the annotation, then import";
			goto bad;
		} else if (strcmp(ann, "envsub off") != 0) {
			why = "unknown goose annotation";
			hint = "goose knows Up, Down, StatementBegin, "
			       "StatementEnd, NO TRANSACTION, ENVSUB ON/OFF";
			goto bad;
		}
	}
	if (begin) {
		fail(r, NMIG_EINPUT, path, begin, NULL, NULL,
		     "StatementBegin without StatementEnd");
		return 0;
	}
	if (!up) {
		fail(r, NMIG_EINPUT, path, 0, NULL,
		     "add '-- +goose Up' above the SQL (goose refuses the "
		     "file too)",
		     "no '-- +goose Up' annotation");
		return 0;
	}
	return 1;
bad:
	fail(r, NMIG_EINPUT, path, ln.no, line_text(&ln, src, sizeof(src)),
	     hint, "%s", why);
	return 0;
}

/*
 * One dbmate or goose file: version id[0..idlen), slug from rest. The up
 * file gets everything before the down marker (the preamble and the up
 * marker included), the down file the rest, so that the two together are
 * the source file.
 */
static int single_one(struct reader *r, const char *name, size_t idlen,
		      const char *slug, size_t slen)
{
	struct split sp;
	struct item *it;
	char *text = NULL;
	size_t len = 0;
	int rc;

	it = add_item(r, join(r->src, name));
	if (!it)
		return oom();
	rc = set_names(r, it, name, idlen, slug, slen);
	if (rc <= 0)
		goto out;
	it->rev.up_source = strdup(it->origin);
	if (r->format == NMIG_IMPORT_DBMATE) {
		/* dbmate orders by file name; its version is the digits as
		 * text */
		it->order_key = strdup(name);
		it->dup_key = dupn(name, idlen);
	} else {
		it->order_key = number_key(name, idlen);
		it->dup_key = number_key(name, idlen);
		it->numeric = 1;
	}
	if (!it->rev.up_source || !it->order_key || !it->dup_key) {
		rc = oom();
		goto out;
	}
	rc = read_source(r, it->origin, &text, &len);
	if (rc <= 0)
		goto out;
	if (!check_not_nmig(r, it->origin, text, len)) {
		rc = 0;
		goto out;
	}
	if (r->format == NMIG_IMPORT_DBMATE)
		rc = dbmate_split(r, it->origin, text, len, &sp);
	else
		rc = goose_split(r, it->origin, text, len, &sp);
	if (rc <= 0)
		goto out;
	it->rev.transactional = sp.transactional;
	if (sp.has_down) {
		it->rev.down_source = strdup(it->origin);
		it->down_sql = dupn(text + sp.down, len - sp.down);
		it->down_sql_len = len - sp.down;
		it->rev.down_offset = sp.down;
		it->up_sql = dupn(text, sp.down);
		it->up_sql_len = sp.down;
		free(text);
	} else {
		it->up_sql = text;
		it->up_sql_len = len;
	}
	text = NULL;
	if (!it->up_sql ||
	    (sp.has_down && (!it->down_sql || !it->rev.down_source))) {
		rc = oom();
		goto out;
	}
	rc = 1;
out:
	free(text);
	if (rc <= 0)
		drop_last_item(r);
	return rc < 0 ? rc : NMIG_OK;
}

/* dbmate: every `<digits>...sql` file is a migration; others are
 * warnings. */
static int read_dbmate(struct reader *r, const struct listing *ls)
{
	size_t i, d, n;
	const char *name, *s;
	int rc;

	for (i = 0; i < ls->n; i++) {
		name = ls->items[i].name;
		d = digits_len(name);
		/* dbmate: ^(\d+).*\.sql$ */
		if (ls->items[i].kind != 'f' || !d ||
		    !ends_with(name, ".sql")) {
			if (ignore_entry(r, name,
					 "not a dbmate migration "
					 "(<version>_<name>.sql)"))
				return NMIG_ENOMEM;
			continue;
		}
		s = name + d;
		n = strlen(s) - 4;
		while (n && (*s == '_' || *s == '-' || *s == '.')) {
			s++;
			n--;
		}
		rc = single_one(r, name, d, s, n);
		if (rc == NMIG_ENOMEM)
			return rc;
	}
	return NMIG_OK;
}

/* goose: every `.sql` file must be `<version>_<name>.sql`; `.go`
 * migrations are errors, other files warnings. */
static int read_goose(struct reader *r, const struct listing *ls)
{
	size_t i, d;
	const char *name;
	char *path;
	int rc;

	for (i = 0; i < ls->n; i++) {
		name = ls->items[i].name;
		d = digits_len(name);
		path = join(r->src, name);
		if (!path)
			return oom();
		if (ls->items[i].kind == 'f' && ends_with(name, ".go")) {
			fail(r, NMIG_EINPUT, path, 0, NULL,
			     "rewrite it as a SQL migration, or run it with "
			     "goose before importing and remove the file",
			     "Go migrations cannot be imported: nmig runs SQL "
			     "files");
		} else if (ls->items[i].kind != 'f' ||
			   !ends_with(name, ".sql")) {
			notef(r, NMIG_SEV_WARNING, path, 0,
			      "ignored: not a goose SQL migration");
		} else if (!d || name[d] != '_') {
			fail(r, NMIG_EINPUT, path, 0, NULL,
			     "rename it to <version>_<name>.sql",
			     "goose migration names start with a version and "
			     "'_'");
		} else if (strspn(name, "0") >= d) {
			fail(r, NMIG_EINPUT, path, 0, NULL,
			     "goose versions start at 1",
			     "version %.*s is not greater than zero", (int)d,
			     name);
		} else if (d - strspn(name, "0") > 19 ||
			   (d - strspn(name, "0") == 19 &&
			    memcmp(name + strspn(name, "0"),
				   "9223372036854775807", 19) > 0)) {
			fail(r, NMIG_EINPUT, path, 0, NULL, NULL,
			     "version %.*s does not fit goose's 64-bit "
			     "versions",
			     (int)d, name);
		} else {
			free(path);
			rc = single_one(r, name, d, name + d + 1,
					strlen(name) - d - 5);
			if (rc == NMIG_ENOMEM)
				return rc;
			continue;
		}
		free(path);
	}
	return NMIG_OK;
}

/* ---- Sourcegraph ---- */

/* Copy a YAML scalar s[0..n) unquoted into a new string; NULL on error
 * (*bad set) or out of memory. */
static char *yaml_scalar(const char *s, size_t n, int *bad)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;
	char q;

	*bad = 0;
	while (n && is_space(s[n - 1]))
		n--;
	while (n && is_space(*s)) {
		s++;
		n--;
	}
	if (!n || (s[0] != '"' && s[0] != '\''))
		return dupn(s, n);
	q = s[0];
	if (n < 2 || s[n - 1] != q) {
		*bad = 1;
		return NULL;
	}
	for (i = 1; i + 1 < n; i++) {
		if (q == '\'' && s[i] == '\'' && s[i + 1] == '\'' &&
		    i + 2 < n) {
			nmig_buf_putc(&b, '\'');
			i++;
		} else if (q == '"' && s[i] == '\\' && i + 2 < n) {
			/* \" and \\ as themselves; \n, \t as a blank: the
			 * value becomes a one-line header */
			i++;
			nmig_buf_putc(&b,
				      s[i] == 'n' || s[i] == 't' ? ' ' : s[i]);
		} else if (s[i] == q) {
			nmig_buf_release(&b);
			*bad = 1;
			return NULL;
		} else {
			nmig_buf_putc(&b, s[i]);
		}
	}
	return nmig_buf_detach(&b, NULL);
}

/* Length of the value s[0..n) without a trailing ` # comment`. */
static size_t yaml_strip_comment(const char *s, size_t n)
{
	size_t i;
	char q = 0;

	for (i = 0; i < n; i++) {
		if (q) {
			if (s[i] == q)
				q = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			q = s[i];
		} else if (s[i] == '#' && (i == 0 || is_space(s[i - 1]))) {
			return i;
		}
	}
	return n;
}

/* Append one parent id (text s[0..n)) to the item; 1, 0 or ENOMEM. */
static int sg_add_parent(struct reader *r, struct item *it, const char *s,
			 size_t n, const struct line *ln)
{
	char **p, *v, src[256];
	int bad;

	v = yaml_scalar(s, n, &bad);
	if (!v && !bad)
		return oom();
	if (bad || !v[0] || digits_len(v) != strlen(v)) {
		fail(r, NMIG_EINPUT, it->meta, ln->no,
		     line_text(ln, src, sizeof(src)),
		     "parents are the numeric ids of other migrations",
		     "parent '%.*s' is not a migration id", (int)n, s);
		free(v);
		return 0;
	}
	p = realloc(it->src_parents, (it->nsrc_parents + 1) * sizeof(*p));
	if (!p) {
		free(v);
		return oom();
	}
	it->src_parents = p;
	p[it->nsrc_parents++] = v;
	return 1;
}

/* The flow list `[a, b]` in s[0..n); 1, 0 or NMIG_ENOMEM. */
static int sg_flow_list(struct reader *r, struct item *it, const char *s,
			size_t n, const struct line *ln)
{
	size_t i, start;
	int rc;
	char src[256];

	while (n && is_space(s[n - 1]))
		n--;
	if (n < 2 || s[0] != '[' || s[n - 1] != ']') {
		fail(r, NMIG_EINPUT, it->meta, ln->no,
		     line_text(ln, src, sizeof(src)),
		     "write the parents as [id, ...] or as a '- id' list",
		     "cannot read the parents list");
		return 0;
	}
	s++;
	n -= 2;
	for (i = 0; i < n && is_space(s[i]); i++)
		;
	if (i == n)
		return 1;
	for (start = 0, i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		rc = sg_add_parent(r, it, s + start, i - start, ln);
		if (rc <= 0)
			return rc;
		start = i + 1;
	}
	return 1;
}

/*
 * The keys Sourcegraph's loader reads from metadata.yaml (its payload
 * struct, internal/database/migration/definition/read.go; newer versions
 * add bestEffortTerminateBlockingTransactions). `parent` is the older
 * single-parent form, still read: its id is added to `parents`.
 * yaml.Unmarshal ignores every other key.
 */
static const char *const sg_keys[] = {
    "name",
    "parent",
    "parents",
    "createIndexConcurrently",
    "privileged",
    "nonIdempotent",
    "bestEffortTerminateBlockingTransactions",
    NULL,
};

/* A YAML 1.1 boolean as yaml.v2 reads it: 1, 0, or -1 for neither. */
static int yaml_bool(const char *v)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
					  "YES",  "y",	  "Y",	  "on",	 "On",
					  "ON",	  NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No",
					 "NO",	  "n",	   "N",	    "off", "Off",
					 "OFF",	  NULL};
	size_t i;

	for (i = 0; yes[i]; i++)
		if (strcmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; no[i]; i++)
		if (strcmp(v, no[i]) == 0)
			return 0;
	return -1;
}

/* Warn about a key Sourcegraph ignores, with the known key it may mean. */
static void sg_unknown_key(struct reader *r, const struct item *it, int line,
			   const char *k, size_t klen)
{
	char key[64];
	const char *near;

	snprintf(key, sizeof(key), "%.*s", (int)klen, k);
	near = nmig_key_suggest(key, sg_keys);
	if (near)
		notef(r, NMIG_SEV_WARNING, it->meta, line,
		      "unknown key '%s'; did you mean '%s'? (ignored, as "
		      "Sourcegraph's loader ignores it)",
		      key, near);
	else
		notef(r, NMIG_SEV_WARNING, it->meta, line,
		      "unknown key '%s' (ignored, as Sourcegraph's loader "
		      "ignores it)",
		      key);
}

/* `parent: <id>`: added to the parents, as Sourcegraph does (0 = none). */
static int sg_single_parent(struct reader *r, struct item *it, const char *p,
			    size_t vlen, const struct line *ln)
{
	size_t i;
	int rc;

	if (vlen == 1 && p[0] == '0')
		return 1;
	rc = sg_add_parent(r, it, p, vlen, ln);
	if (rc <= 0)
		return rc;
	/* also in `parents`: the same edge, kept once */
	for (i = 0; i + 1 < it->nsrc_parents; i++)
		if (strcmp(it->src_parents[i],
			   it->src_parents[it->nsrc_parents - 1]) == 0) {
			free(it->src_parents[--it->nsrc_parents]);
			break;
		}
	return 1;
}

/* `createIndexConcurrently: <bool>`; 1, 0 or NMIG_ENOMEM. */
static int sg_concurrent(struct reader *r, struct item *it, const char *p,
			 size_t vlen, const struct line *ln)
{
	char src[256], *v;
	int bad, b;

	v = yaml_scalar(p, vlen, &bad);
	if (!v && !bad)
		return oom();
	b = v ? yaml_bool(v) : -1;
	free(v);
	if (b < 0) {
		fail(r, NMIG_EINPUT, it->meta, ln->no,
		     line_text(ln, src, sizeof(src)), NULL,
		     "'createIndexConcurrently' must be true or false");
		return 0;
	}
	if (b)
		it->rev.transactional = 0;
	return 1;
}

/*
 * One `key: value` line of metadata.yaml (k[0..klen), value p[0..vlen));
 * *in_list is set when a block list of parents follows, *skip when the
 * indented lines that follow belong to an ignored key. 1, 0 or ENOMEM.
 */
static int sg_key(struct reader *r, struct item *it, const struct line *ln,
		  const char *k, size_t klen, const char *p, size_t vlen,
		  int *in_list, int *skip, int *have_parents)
{
	char src[256], *v;
	int bad;

	if (klen == 7 && memcmp(k, "parents", 7) == 0) {
		if (*have_parents) {
			fail(r, NMIG_EINPUT, it->meta, ln->no,
			     line_text(ln, src, sizeof(src)), NULL,
			     "second 'parents' key");
			return 0;
		}
		*have_parents = 1;
		if (!it->parents_line)
			it->parents_line = ln->no;
		if (!vlen) {
			*in_list = 1;
			return 1;
		}
		return sg_flow_list(r, it, p, vlen, ln);
	}
	if (klen == 6 && memcmp(k, "parent", 6) == 0) {
		if (!it->parents_line)
			it->parents_line = ln->no;
		return sg_single_parent(r, it, p, vlen, ln);
	}
	if (klen == 4 && memcmp(k, "name", 4) == 0) {
		v = yaml_scalar(p, vlen, &bad);
		if (!v && !bad)
			return oom();
		if (bad)
			return -2; /* an unreadable line */
		free(it->rev.message);
		it->rev.message = v;
		return 1;
	}
	if (klen == 23 && memcmp(k, "createIndexConcurrently", 23) == 0)
		return sg_concurrent(r, it, p, vlen, ln);
	/* privileged, nonIdempotent, bestEffortTerminate...: they change
	 * how Sourcegraph's runner behaves, not what runs */
	if ((klen == 10 && memcmp(k, "privileged", 10) == 0) ||
	    (klen == 13 && memcmp(k, "nonIdempotent", 13) == 0) ||
	    (klen == 39 &&
	     memcmp(k, "bestEffortTerminateBlockingTransactions", 39) == 0))
		return 1;
	sg_unknown_key(r, it, ln->no, k, klen);
	*skip = !vlen;
	return 1;
}

/*
 * metadata.yaml, the flat subset Sourcegraph writes, read as Sourcegraph
 * reads it: unknown keys (and what is nested under them) are ignored with a
 * warning, and a file with neither `parents` nor `parent` is a root. 1, 0
 * or NMIG_ENOMEM.
 */
static int sg_metadata(struct reader *r, struct item *it)
{
	struct line ln = {0};
	char *text = NULL, src[256];
	size_t len = 0, pos = 0, klen, vlen;
	const char *p, *e, *k;
	int rc, in_list = 0, skip = 0, have_parents = 0;

	rc = read_source(r, it->meta, &text, &len);
	if (rc <= 0)
		return rc;
	it->rev.transactional = 1;
	while (next_line(text, len, &pos, &ln)) {
		p = ln.p;
		e = ln.p + ln.len;
		while (p < e && is_space(*p))
			p++;
		if (p == e || *p == '#' ||
		    (ln.no == 1 && (size_t)(e - p) == 3 &&
		     memcmp(p, "---", 3) == 0))
			continue;
		if (skip && (p != ln.p || *p == '-'))
			continue; /* nested under an ignored key */
		skip = 0;
		if (*p == '-' && (p + 1 == e || is_space(p[1]))) {
			if (!in_list)
				goto bad_line;
			p++;
			rc = sg_add_parent(
			    r, it, p, yaml_strip_comment(p, (size_t)(e - p)),
			    &ln);
			if (rc <= 0)
				goto cleanup;
			continue;
		}
		in_list = 0;
		if (p != ln.p)
			goto bad_line;
		k = p;
		while (p < e && *p != ':' && !is_space(*p))
			p++;
		klen = (size_t)(p - k);
		if (p == e || *p != ':' || !klen)
			goto bad_line;
		p++;
		vlen = yaml_strip_comment(p, (size_t)(e - p));
		while (vlen && is_space(*p)) {
			p++;
			vlen--;
		}
		while (vlen && is_space(p[vlen - 1]))
			vlen--;
		rc = sg_key(r, it, &ln, k, klen, p, vlen, &in_list, &skip,
			    &have_parents);
		if (rc == -2)
			goto bad_line;
		if (rc <= 0)
			goto cleanup;
	}
	/* the listed order is kept (Sourcegraph sorts the ids, which gives
	 * the same graph) */
	rc = 1;
	goto cleanup;
bad_line:
	fail(r, NMIG_EINPUT, it->meta, ln.no, line_text(&ln, src, sizeof(src)),
	     "nmig reads the flat 'key: value' metadata Sourcegraph writes",
	     "cannot read this line");
	rc = 0;
cleanup:
	free(text);
	return rc;
}

/* Turn a Sourcegraph name into a file-name slug: [A-Za-z0-9] runs joined
 * by '_'. malloc'ed (may be empty); NULL when out of memory. */
static char *slugify(const char *s)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	int gap = 0;

	for (; *s; s++) {
		char c = lower(*s);

		if (is_digit(c) || (c >= 'a' && c <= 'z')) {
			if (gap && b.len)
				nmig_buf_putc(&b, '_');
			nmig_buf_putc(&b, c);
			gap = 0;
		} else {
			gap = 1;
		}
	}
	return nmig_buf_detach(&b, NULL);
}

/* One Sourcegraph migration directory. */
static int sg_one(struct reader *r, const char *name)
{
	size_t d = digits_len(name);
	char *up = NULL, *down = NULL, *slug = NULL;
	struct item *it;
	int rc;

	it = add_item(r, join(r->src, name));
	if (!it)
		return oom();
	it->meta = join(it->origin, "metadata.yaml");
	up = join(it->origin, "up.sql");
	down = join(it->origin, "down.sql");
	it->order_key = number_key(name, d);
	it->dup_key = number_key(name, d);
	it->numeric = 1;
	if (!it->meta || !up || !down || !it->order_key || !it->dup_key) {
		rc = oom();
		goto out;
	}
	if (path_kind(it->meta) != 'f') {
		fail(r, NMIG_EINPUT, it->origin, 0, NULL,
		     "every sourcegraph migration needs metadata.yaml with "
		     "its parents",
		     "migration directory has no 'metadata.yaml'");
		rc = 0;
		goto out;
	}
	rc = sg_metadata(r, it);
	if (rc <= 0)
		goto out;
	if (it->rev.message) {
		char *m;

		/* the header is one line */
		for (m = it->rev.message; *m; m++)
			if ((unsigned char)*m < ' ' || *m == 0x7f)
				*m = ' ';
		if (!it->rev.message[0]) {
			free(it->rev.message);
			it->rev.message = NULL;
		}
	}
	if (name[d] == '_') {
		rc = set_names(r, it, name, d, name + d + 1,
			       strlen(name + d + 1));
	} else {
		slug = slugify(it->rev.message ? it->rev.message : "");
		if (!slug) {
			rc = oom();
			goto out;
		}
		rc = set_names(r, it, name, d, slug, strlen(slug));
	}
	if (rc <= 0)
		goto out;
	rc = read_up_down(r, it, &up, &down, NULL);
	if (rc <= 0)
		goto out;
	rc = 1;
out:
	free(up);
	free(down);
	free(slug);
	if (rc <= 0)
		drop_last_item(r);
	return rc < 0 ? rc : NMIG_OK;
}

/* Sourcegraph: every `<id>_<name>` directory is a migration; other
 * entries (squashed.sql) are warnings. */
static int read_sourcegraph(struct reader *r, const struct listing *ls)
{
	size_t i, d;
	const char *name;
	int rc;

	for (i = 0; i < ls->n; i++) {
		name = ls->items[i].name;
		d = digits_len(name);
		if (ls->items[i].kind != 'd' || !d ||
		    (name[d] != '\0' && name[d] != '_')) {
			if (ignore_entry(
				r, name,
				"not a sourcegraph migration directory "
				"(<id>_<name>/)"))
				return NMIG_ENOMEM;
			continue;
		}
		rc = sg_one(r, name);
		if (rc == NMIG_ENOMEM)
			return rc;
	}
	return NMIG_OK;
}

/* ---- ordering ---- */

static int order_cmp(const struct item *a, const struct item *b)
{
	int c = a->numeric ? number_cmp(a->order_key, b->order_key)
			   : strcmp(a->order_key, b->order_key);

	if (c)
		return c < 0 ? -1 : 1;
	return strcmp(a->origin, b->origin);
}

/* qsort adapter of order_cmp. */
static int item_order_cmp(const void *a, const void *b)
{
	return order_cmp(a, b);
}

/* qsort order of item pointers by dup_key, then by the tool's order. */
static int dup_cmp(const void *a, const void *b)
{
	const struct item *x = *(const struct item *const *)a;
	const struct item *y = *(const struct item *const *)b;
	int c = strcmp(x->dup_key, y->dup_key);

	return c ? c : order_cmp(x, y);
}

/* Versions the source tool would take as one are an error. */
static int check_duplicates(struct reader *r)
{
	const struct item **ix;
	size_t i;

	if (r->n < 2)
		return NMIG_OK;
	ix = malloc(r->n * sizeof(*ix));
	if (!ix)
		return oom();
	for (i = 0; i < r->n; i++)
		ix[i] = &r->items[i];
	qsort(ix, r->n, sizeof(*ix), dup_cmp);
	for (i = 1; i < r->n; i++) {
		const struct item *a = ix[i - 1];
		const struct item *b = ix[i];

		if (strcmp(a->dup_key, b->dup_key) == 0)
			fail(r, NMIG_EINPUT, b->origin, 0, NULL,
			     "give each migration its own version",
			     "version '%s' is also used by '%s'", b->rev.id,
			     a->origin);
	}
	free(ix);
	return NMIG_OK;
}

/* Set one parent, a copy of id. */
static int set_parent(struct nmig_import_rev *rev, const char *id)
{
	rev->parents = malloc(sizeof(*rev->parents));
	if (!rev->parents)
		return oom();
	rev->parents[0] = strdup(id);
	if (!rev->parents[0]) {
		free(rev->parents);
		rev->parents = NULL;
		return oom();
	}
	rev->nparents = 1;
	return NMIG_OK;
}

/* Linear tools: sort by the tool's rule; each follows the one before. */
static int order_linear(struct reader *r)
{
	size_t i;
	int rc;

	qsort(r->items, r->n, sizeof(*r->items), item_order_cmp);
	for (i = 1; i < r->n; i++) {
		rc = set_parent(&r->items[i].rev, r->items[i - 1].rev.id);
		if (rc)
			return rc;
	}
	return NMIG_OK;
}

/* Map every item by its dup_key, its number_key (unique by then). */
static int idmap_build(struct nmig_hashmap *m, const struct item *items,
		       size_t n)
{
	size_t i;

	if (nmig_hashmap_reserve(m, n))
		return oom();
	for (i = 0; i < n; i++)
		if (nmig_hashmap_put(m, items[i].dup_key, i, NULL) ==
		    NMIG_ENOMEM)
			return oom();
	return NMIG_OK;
}

/* Index of the item whose number_key is that of id (digits), or -1. */
static long idmap_find(const struct nmig_hashmap *m, const char *id)
{
	char *key = number_key(id, strlen(id));
	size_t at;
	long found;

	if (!key)
		return -2;
	found = nmig_hashmap_get(m, key, &at) ? (long)at : -1;
	free(key);
	return found;
}

/* A binary min-heap of item indexes by order. */
struct heap {
	size_t *v;
	size_t n;
	const struct item *items;
};

/* Whether the item at heap slot a comes before the one at slot b. */
static int heap_less(const struct heap *h, size_t a, size_t b)
{
	return order_cmp(&h->items[h->v[a]], &h->items[h->v[b]]) < 0;
}

/* Add item index x (the heap has room for every item). */
static void heap_push(struct heap *h, size_t x)
{
	size_t i = h->n++, p, t;

	h->v[i] = x;
	while (i && heap_less(h, i, (p = (i - 1) / 2))) {
		t = h->v[i];
		h->v[i] = h->v[p];
		h->v[p] = t;
		i = p;
	}
}

/* Remove and return the first item index (the heap is not empty). */
static size_t heap_pop(struct heap *h)
{
	size_t top = h->v[0], i = 0, c, t;

	h->v[0] = h->v[--h->n];
	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_less(h, c + 1, c))
			c++;
		if (!heap_less(h, c, i))
			break;
		t = h->v[i];
		h->v[i] = h->v[c];
		h->v[c] = t;
		i = c;
	}
	return top;
}

/*
 * Sourcegraph's loader refuses a history with more than one root
 * ("multiple roots"): so does the import, naming them, without guessing
 * the parents they lack. 1 when there is one root (or none: a cycle,
 * reported later), else 0 after recording the error.
 */
static int sg_single_root(struct reader *r)
{
	struct nmig_buf ids = NMIG_BUF_INIT;
	const char *file = NULL;
	size_t i, k = 0;

	for (i = 0; i < r->n; i++) {
		if (r->items[i].nsrc_parents)
			continue;
		if (k == 1)
			file = r->items[i].meta;
		if (k++ < 20)
			nmig_buf_printf(&ids, "%s'%s'", k > 1 ? ", " : "",
					r->items[i].rev.id);
	}
	if (k > 20)
		nmig_buf_printf(&ids, " and %zu more", k - 20);
	if (k > 1)
		fail(r, NMIG_EGRAPH, file, 0, NULL,
		     "Sourcegraph's own loader refuses this history too "
		     "('multiple roots'); a metadata.yaml without 'parents' "
		     "or 'parent' makes a root (see the warnings about "
		     "unknown keys above)",
		     "%zu migrations have no parent: %s", k,
		     ids.oom ? "several" : ids.ptr);
	nmig_buf_release(&ids);
	return k <= 1;
}

/*
 * Resolve item i's `parents` ids to the ids of the items they name (into
 * its rev.parents), counting each edge in nkids[parent] and indeg[i]. A
 * parent that is no migration, the item itself, or one listed twice is
 * recorded as an error and left out. NMIG_OK or NMIG_ENOMEM.
 */
static int sg_resolve_parents(struct reader *r, const struct nmig_hashmap *map,
			      size_t i, size_t *nkids, size_t *indeg)
{
	struct item *it = &r->items[i];
	size_t j, k;
	long at;

	it->rev.parents =
	    calloc(it->nsrc_parents ? it->nsrc_parents : 1, sizeof(char *));
	if (!it->rev.parents)
		return oom();
	for (j = 0; j < it->nsrc_parents; j++) {
		at = idmap_find(map, it->src_parents[j]);
		if (at == -2)
			return oom();
		if (at < 0) {
			fail(r, NMIG_EINPUT, it->meta, it->parents_line, NULL,
			     "each parent must be the id of a migration "
			     "directory beside this one",
			     "parent '%s' is not a migration in '%s'",
			     it->src_parents[j], r->src);
			continue;
		}
		if ((size_t)at == i) {
			fail(r, NMIG_EINPUT, it->meta, it->parents_line, NULL,
			     NULL, "migration '%s' lists itself as a parent",
			     it->src_parents[j]);
			continue;
		}
		for (k = 0; k < it->rev.nparents; k++)
			if (strcmp(it->rev.parents[k], r->items[at].rev.id) ==
			    0)
				break;
		if (k < it->rev.nparents) {
			fail(r, NMIG_EINPUT, it->meta, it->parents_line, NULL,
			     NULL, "parent '%s' is listed twice",
			     it->src_parents[j]);
			continue;
		}
		it->rev.parents[it->rev.nparents] = strdup(r->items[at].rev.id);
		if (!it->rev.parents[it->rev.nparents])
			return oom();
		it->rev.nparents++;
		nkids[at]++;
		indeg[i]++;
	}
	return NMIG_OK;
}

/* kids[p]: the items that have p as a parent (nkids[p] of them). */
static int sg_children(struct reader *r, const struct nmig_hashmap *map,
		       size_t **kids, size_t *nkids)
{
	size_t i, j, n = r->n;
	long at;

	for (i = 0; i < n; i++) {
		kids[i] = malloc((nkids[i] ? nkids[i] : 1) * sizeof(**kids));
		if (!kids[i])
			return oom();
		nkids[i] = 0;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < r->items[i].rev.nparents; j++) {
			at = idmap_find(map, r->items[i].rev.parents[j]);
			if (at == -2)
				return oom();
			kids[at][nkids[at]++] = i;
		}
	return NMIG_OK;
}

/* The cycle left when the sort stops early: its members (indeg > 0). */
static void sg_report_cycle(struct reader *r, const size_t *indeg)
{
	struct nmig_buf ids = NMIG_BUF_INIT;
	const char *file = NULL;
	size_t i, k;

	for (i = 0, k = 0; i < r->n; i++) {
		if (!indeg[i])
			continue;
		if (!file)
			file = r->items[i].meta;
		if (k++ < 20)
			nmig_buf_printf(&ids, "%s'%s'", k > 1 ? ", " : "",
					r->items[i].rev.id);
	}
	if (k > 20)
		nmig_buf_printf(&ids, " and %zu more", k - 20);
	fail(r, NMIG_EGRAPH, file, 0, NULL,
	     "a migration cannot be its own ancestor: fix the parents lists",
	     "the parents lists make a cycle through %s",
	     ids.oom ? "several revisions" : ids.ptr);
	nmig_buf_release(&ids);
}

/*
 * Kahn's sort of the items into order (parents first, ties by id through
 * the heap); returns how many were placed (fewer than n: a cycle).
 */
static size_t sg_sort(struct reader *r, size_t **kids, const size_t *nkids,
		      size_t *indeg, struct heap *heap, size_t *order)
{
	size_t i, j, done = 0;

	for (i = 0; i < r->n; i++)
		if (!indeg[i])
			heap_push(heap, i);
	while (heap->n) {
		i = heap_pop(heap);
		order[done++] = i;
		for (j = 0; j < nkids[i]; j++)
			if (--indeg[kids[i][j]] == 0)
				heap_push(heap, kids[i][j]);
	}
	return done;
}

/*
 * Sourcegraph: resolve the `parents` lists to ids, then put the items in
 * topological order (parents first, ties by id, as nmig plans) so that a
 * cycle is found here, naming its members.
 */
static int order_sourcegraph(struct reader *r)
{
	struct nmig_hashmap map = NMIG_HASHMAP_INIT;
	struct heap heap = {0};
	size_t *indeg = NULL, *order = NULL, **kids = NULL, *nkids = NULL;
	size_t i, n = r->n;
	struct item *sorted = NULL;
	int rc;

	rc = idmap_build(&map, r->items, n);
	if (rc)
		goto cleanup;
	indeg = calloc(n, sizeof(*indeg));
	nkids = calloc(n, sizeof(*nkids));
	kids = calloc(n, sizeof(*kids));
	order = malloc(n * sizeof(*order));
	heap.v = malloc(n * sizeof(*heap.v));
	heap.items = r->items;
	if (!indeg || !nkids || !kids || !order || !heap.v) {
		rc = oom();
		goto cleanup;
	}
	for (i = 0; i < n && !rc; i++)
		rc = sg_resolve_parents(r, &map, i, nkids, indeg);
	/* with errors recorded, the graph is incomplete: stop there */
	if (rc || r->first || !sg_single_root(r))
		goto cleanup;
	rc = sg_children(r, &map, kids, nkids);
	if (rc)
		goto cleanup;
	if (sg_sort(r, kids, nkids, indeg, &heap, order) < n) {
		sg_report_cycle(r, indeg);
		goto cleanup;
	}
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted) {
		rc = oom();
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		sorted[i] = r->items[order[i]];
	free(r->items);
	r->items = sorted;
	r->cap = n;
cleanup:
	if (kids)
		for (i = 0; i < n; i++)
			free(kids[i]);
	free(kids);
	free(nkids);
	free(indeg);
	free(order);
	free(heap.v);
	nmig_hashmap_release(&map);
	return rc;
}

/* ---- output ---- */

/* Make the output names and file texts of an item, moving its SQL. */
static int finish(struct item *it)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	struct nmig_import_rev *rev = &it->rev;
	const char *eol = "\n", *nl;
	size_t i;

	nl = memchr(it->up_sql, '\n', it->up_sql_len);
	if (nl && nl > it->up_sql && nl[-1] == '\r')
		eol = "\r\n";
	nmig_buf_puts(&b, "-- nmig:parents");
	for (i = 0; i < rev->nparents; i++)
		nmig_buf_printf(&b, " %s", rev->parents[i]);
	if (!rev->nparents)
		nmig_buf_puts(&b, " base");
	nmig_buf_puts(&b, eol);
	rev->header_lines = 1;
	if (rev->message) {
		nmig_buf_printf(&b, "-- nmig:message %s%s", rev->message, eol);
		rev->header_lines++;
	}
	if (!rev->transactional) {
		nmig_buf_printf(&b, "-- nmig:transaction off%s", eol);
		rev->header_lines++;
	}
	rev->header_len = b.len;
	nmig_buf_put(&b, it->up_sql, it->up_sql_len);
	rev->up_text = nmig_buf_detach(&b, &rev->up_len);
	free(it->up_sql);
	it->up_sql = NULL;
	b = (struct nmig_buf)NMIG_BUF_INIT;
	nmig_buf_printf(&b, "%s_%s.up.sql", rev->id, rev->slug);
	rev->up_name = nmig_buf_detach(&b, NULL);
	if (!rev->up_text || !rev->up_name)
		return oom();
	if (it->down_sql) {
		rev->down_text = it->down_sql;
		rev->down_len = it->down_sql_len;
		it->down_sql = NULL;
		nmig_buf_printf(&b, "%s_%s.down.sql", rev->id, rev->slug);
		rev->down_name = nmig_buf_detach(&b, NULL);
		if (!rev->down_name)
			return oom();
	}
	return NMIG_OK;
}

/* nmig_import_format_parse: see import.h. */
int nmig_import_format_parse(enum nmig_import_format *out, const char *name)
{
	static const struct {
		const char *name;
		enum nmig_import_format format;
	} names[] = {
	    {"auto", NMIG_IMPORT_AUTO},
	    {"diesel", NMIG_IMPORT_DIESEL},
	    {"golang-migrate", NMIG_IMPORT_FLAT},
	    {"flat", NMIG_IMPORT_FLAT},
	    {"dbmate", NMIG_IMPORT_DBMATE},
	    {"goose", NMIG_IMPORT_GOOSE},
	    {"sourcegraph", NMIG_IMPORT_SOURCEGRAPH},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].format;
			return NMIG_OK;
		}
	}
	nmig_error_set(NMIG_EUSAGE, "unknown format '%s'", name);
	nmig_error_hint("the formats are " FORMATS_HELP);
	return NMIG_EUSAGE;
}

/* nmig_import_format_name: see import.h. */
const char *nmig_import_format_name(enum nmig_import_format format)
{
	switch (format) {
	case NMIG_IMPORT_DIESEL:
		return "diesel";
	case NMIG_IMPORT_FLAT:
		return "golang-migrate";
	case NMIG_IMPORT_DBMATE:
		return "dbmate";
	case NMIG_IMPORT_GOOSE:
		return "goose";
	case NMIG_IMPORT_SOURCEGRAPH:
		return "sourcegraph";
	case NMIG_IMPORT_AUTO:
		break;
	}
	return "auto";
}

/* Which single-file markers text has: bit 1 goose Up, bit 2 dbmate up. */
static int marker_bits(const char *text, size_t len)
{
	struct line ln = {0};
	size_t pos = 0, optlen;
	const char *opts;
	char ann[64];
	int bits = 0;

	while (next_line(text, len, &pos, &ln)) {
		if (goose_annotation(&ln, ann, sizeof(ann)) &&
		    strcmp(ann, "up") == 0)
			bits |= 1;
		if (dbmate_marker(&ln, &opts, &optlen) == 'u')
			bits |= 2;
	}
	return bits;
}

/* nmig_import_detect: see import.h. The first matching file of each
 * format is kept for the message. */
int nmig_import_detect(enum nmig_import_format *out, const char *src)
{
	static const enum nmig_import_format all[] = {
	    NMIG_IMPORT_DIESEL, NMIG_IMPORT_FLAT,	 NMIG_IMPORT_DBMATE,
	    NMIG_IMPORT_GOOSE,	NMIG_IMPORT_SOURCEGRAPH,
	};
	char *found[NMIG_IMPORT_SOURCEGRAPH + 1] = {0};
	struct nmig_buf names = NMIG_BUF_INIT, text = NMIG_BUF_INIT;
	struct listing ls;
	struct half h;
	char *path = NULL, *probe = NULL;
	size_t i, nfound = 0;
	int rc, bits;

	rc = list_dir(&ls, src);
	if (rc)
		return rc;
	for (i = 0; i < ls.n; i++) {
		const char *name = ls.items[i].name;

		free(path);
		path = join(src, name);
		if (!path)
			goto oom;
		if (ls.items[i].kind == 'd') {
			free(probe);
			probe = join(path, "metadata.yaml");
			if (!probe)
				goto oom;
			if (path_kind(probe) == 'f') {
				if (!found[NMIG_IMPORT_SOURCEGRAPH]) {
					found[NMIG_IMPORT_SOURCEGRAPH] = probe;
					probe = NULL;
				}
				continue;
			}
			free(probe);
			probe = join(path, "up.sql");
			if (!probe)
				goto oom;
			if (path_kind(probe) == 'f' &&
			    !found[NMIG_IMPORT_DIESEL]) {
				found[NMIG_IMPORT_DIESEL] = probe;
				probe = NULL;
			}
			continue;
		}
		if (ls.items[i].kind != 'f')
			continue;
		if (flat_name(name, &h)) {
			if (!found[NMIG_IMPORT_FLAT]) {
				found[NMIG_IMPORT_FLAT] = path;
				path = NULL;
			}
			continue;
		}
		if (!is_digit(name[0]) || !ends_with(name, ".sql") ||
		    (found[NMIG_IMPORT_GOOSE] && found[NMIG_IMPORT_DBMATE]))
			continue;
		nmig_buf_clear(&text);
		rc = nmig_buf_read_file(&text, path, NMIG_MAX_FILE_SIZE);
		if (rc == NMIG_ENOMEM)
			goto cleanup;
		if (rc)
			continue; /* the reader reports it */
		bits = marker_bits(text.ptr, text.len);
		if ((bits & 1) && !found[NMIG_IMPORT_GOOSE]) {
			found[NMIG_IMPORT_GOOSE] = strdup(path);
			if (!found[NMIG_IMPORT_GOOSE])
				goto oom;
		}
		if ((bits & 2) && !found[NMIG_IMPORT_DBMATE]) {
			found[NMIG_IMPORT_DBMATE] = strdup(path);
			if (!found[NMIG_IMPORT_DBMATE])
				goto oom;
		}
	}
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!found[all[i]])
			continue;
		nmig_buf_printf(&names, "%s%s", nfound ? ", " : "",
				nmig_import_format_name(all[i]));
		nfound++;
		*out = all[i];
	}
	if (names.oom)
		goto oom;
	if (nfound == 0) {
		rc = nmig_error_set(NMIG_EINPUT,
				    "no migrations of a known format in '%s'",
				    src);
		nmig_error_detail(
		    "looked for diesel (<version>_<name>/up.sql), "
		    "golang-migrate (<n>_<name>.up.sql, "
		    "V<n>.<Name>.up.sql), dbmate (<n>_<name>.sql with "
		    "'-- migrate:up'), goose (<n>_<name>.sql with "
		    "'-- +goose Up'), sourcegraph "
		    "(<id>_<name>/metadata.yaml)");
		nmig_error_hint("check the directory, or name the format "
				"with --from");
	} else if (nfound > 1) {
		rc = nmig_error_set(NMIG_EAMBIGUOUS,
				    "'%s' matches several formats: %s", src,
				    names.ptr);
		for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			if (found[all[i]])
				nmig_error_detail(
				    "%s: '%s'", nmig_import_format_name(all[i]),
				    found[all[i]]);
		nmig_error_hint("choose one with --from");
	} else {
		rc = NMIG_OK;
	}
	goto cleanup;
oom:
	rc = oom();
cleanup:
	for (i = 0; i < sizeof(found) / sizeof(found[0]); i++)
		free(found[i]);
	free(path);
	free(probe);
	nmig_buf_release(&names);
	nmig_buf_release(&text);
	listing_release(&ls);
	return rc;
}

/* nmig_import_read: see import.h. */
int nmig_import_read(struct nmig_import *out, const char *src,
		     enum nmig_import_format format, struct nmig_diags *diags)
{
	struct reader *r = NULL;
	struct listing ls = {0};
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (format == NMIG_IMPORT_AUTO) {
		rc = nmig_import_detect(&format, src);
		if (rc)
			return rc;
	}
	rc = list_dir(&ls, src);
	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = oom();
		goto cleanup;
	}
	r->src = src;
	r->format = format;
	r->diags = diags;
	switch (format) {
	case NMIG_IMPORT_DIESEL:
		rc = read_diesel(r, &ls);
		break;
	case NMIG_IMPORT_FLAT:
		rc = read_flat(r, &ls);
		break;
	case NMIG_IMPORT_DBMATE:
		rc = read_dbmate(r, &ls);
		break;
	case NMIG_IMPORT_GOOSE:
		rc = read_goose(r, &ls);
		break;
	case NMIG_IMPORT_SOURCEGRAPH:
		rc = read_sourcegraph(r, &ls);
		break;
	case NMIG_IMPORT_AUTO:
		rc = nmig_error_set(NMIG_ERROR, "no format to read");
		break;
	}
	if (rc)
		goto cleanup;
	if (!r->n && !r->first) {
		fail(r, NMIG_EINPUT, src, 0, NULL,
		     "check the directory, or the format given with --from",
		     "no %s migrations in '%s'",
		     nmig_import_format_name(format), src);
	}
	if (format != NMIG_IMPORT_FLAT) { /* flat pairs checked these */
		rc = check_duplicates(r);
		if (rc)
			goto cleanup;
	}
	if (!r->first) {
		rc = format == NMIG_IMPORT_SOURCEGRAPH ? order_sourcegraph(r)
						       : order_linear(r);
		if (rc)
			goto cleanup;
	}
	if (r->first) {
		restore_error(&r->saved);
		rc = r->first;
		goto cleanup;
	}
	out->revs = calloc(r->n, sizeof(*out->revs));
	out->src = strdup(src);
	if (!out->revs || !out->src) {
		rc = oom();
		goto cleanup;
	}
	out->format = format;
	for (i = 0; i < r->n; i++) {
		rc = finish(&r->items[i]);
		if (rc)
			goto cleanup;
		out->revs[i] = r->items[i].rev;
		memset(&r->items[i].rev, 0, sizeof(r->items[i].rev));
		out->n++;
	}
	rc = NMIG_OK;
cleanup:
	if (r) {
		reader_release(r);
		free(r);
	}
	listing_release(&ls);
	if (rc)
		nmig_import_release(out);
	return rc;
}

/* nmig_import_release: see import.h. */
void nmig_import_release(struct nmig_import *imp)
{
	size_t i;

	for (i = 0; i < imp->n; i++)
		rev_release(&imp->revs[i]);
	free(imp->revs);
	free(imp->src);
	memset(imp, 0, sizeof(*imp));
}

/* ---- writing ---- */

/* mkdir -p; NMIG_EIO naming the directory that could not be made. */
static int make_dirs(const char *dir)
{
	char *p = strdup(dir), *s;
	int rc = NMIG_OK;

	if (!p)
		return oom();
	for (s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			rc = nmig_error_set(NMIG_EIO,
					    "cannot create directory '%s': %s",
					    p, strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

/* qsort and bsearch order of string pointers. */
static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A revision file in dest that would give an imported id twice. */
static int check_clashes(const struct nmig_import *imp, const char *dest,
			 const struct listing *ls)
{
	const char **ids = NULL, **names = NULL;
	size_t i, nnames = 0;
	int rc = NMIG_OK;

	ids = malloc((imp->n ? imp->n : 1) * sizeof(*ids));
	names = malloc((2 * imp->n + 1) * sizeof(*names));
	if (!ids || !names) {
		rc = oom();
		goto cleanup;
	}
	for (i = 0; i < imp->n; i++) {
		ids[i] = imp->revs[i].id;
		names[nnames++] = imp->revs[i].up_name;
		if (imp->revs[i].down_name)
			names[nnames++] = imp->revs[i].down_name;
	}
	qsort(ids, imp->n, sizeof(*ids), str_ptr_cmp);
	qsort(names, nnames, sizeof(*names), str_ptr_cmp);
	for (i = 0; i < ls->n; i++) {
		const char *name = ls->items[i].name, *us = strchr(name, '_');
		char *id;
		const char *key = name;

		if (!us || !(ends_with(name, ".up.sql") ||
			     ends_with(name, ".down.sql")))
			continue;
		if (bsearch(&key, names, nnames, sizeof(*names), str_ptr_cmp))
			continue; /* replaced by the same file */
		id = dupn(name, (size_t)(us - name));
		if (!id) {
			rc = oom();
			goto cleanup;
		}
		key = id;
		if (bsearch(&key, ids, imp->n, sizeof(*ids), str_ptr_cmp)) {
			rc = nmig_error_set(NMIG_EEXISTS,
					    "'%s/%s' has the id '%s' of an "
					    "imported revision",
					    dest, name, id);
			nmig_error_hint("move it away, or import into another "
					"directory");
			free(id);
			goto cleanup;
		}
		free(id);
	}
cleanup:
	free(ids);
	free(names);
	return rc;
}

/* nmig_import_check_dest: see import.h. */
int nmig_import_check_dest(const struct nmig_import *imp, const char *dest,
			   unsigned flags)
{
	struct listing ls = {0};
	struct stat st;
	int rc;

	if (stat(dest, &st) != 0) {
		if (errno != ENOENT)
			return nmig_error_set(NMIG_EIO, "cannot use '%s': %s",
					      dest, strerror(errno));
		return flags & NMIG_IMPORT_DRY_RUN ? NMIG_OK : make_dirs(dest);
	}
	if (!S_ISDIR(st.st_mode))
		return nmig_error_set(
		    NMIG_EEXISTS, "'%s' exists and is not a directory", dest);
	rc = list_dir(&ls, dest);
	if (rc)
		return rc;
	if (ls.n && !(flags & NMIG_IMPORT_FORCE)) {
		rc = nmig_error_set(NMIG_EEXISTS, "'%s' is not empty", dest);
		nmig_error_detail("it holds %zu entr%s, e.g. '%s'", ls.n,
				  ls.n == 1 ? "y" : "ies", ls.items[0].name);
		nmig_error_hint("import into an empty directory, or pass "
				"--force to add the files (files of the same "
				"name are replaced)");
	} else {
		rc = check_clashes(imp, dest, &ls);
	}
	listing_release(&ls);
	return rc;
}

/* Write data to dest/name through a hidden temporary file. */
static int write_one(const char *dest, const char *name, const char *data,
		     size_t len, int force)
{
	struct nmig_buf tmpname = NMIG_BUF_INIT;
	char *path = NULL, *tmp = NULL;
	size_t done = 0;
	ssize_t w;
	int fd = -1, rc = NMIG_OK, err;

	nmig_buf_printf(&tmpname, ".%s.%ld.tmp", name, (long)getpid());
	path = join(dest, name);
	tmp = tmpname.oom ? NULL : join(dest, tmpname.ptr);
	if (!path || !tmp) {
		rc = oom();
		goto cleanup;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		rc = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", tmp,
				    strerror(errno));
		goto cleanup;
	}
	while (done < len) {
		w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto write_error;
		done += (size_t)w;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto write_error;
	}
	fd = -1;
	if (force) {
		if (rename(tmp, path) != 0)
			goto write_error;
	} else if (link(tmp, path) != 0) {
		err = errno;
		if (err == EEXIST) {
			rc = nmig_error_set(NMIG_EEXISTS, "'%s' exists already",
					    path);
			nmig_error_hint("pass --force to replace it");
			goto cleanup;
		}
		/* file systems without hard links: check, then rename */
		if (access(path, F_OK) == 0) {
			rc = nmig_error_set(NMIG_EEXISTS, "'%s' exists already",
					    path);
			goto cleanup;
		}
		if (rename(tmp, path) != 0)
			goto write_error;
	}
	goto cleanup;
write_error:
	rc = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
			    strerror(errno));
cleanup:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	nmig_buf_release(&tmpname);
	return rc;
}

/* nmig_import_write: see import.h. */
int nmig_import_write(const struct nmig_import *imp, const char *dest,
		      unsigned flags, size_t *written)
{
	size_t i, count = 0;
	int rc, force = !!(flags & NMIG_IMPORT_FORCE);

	rc = nmig_import_check_dest(imp, dest, flags);
	if (rc || (flags & NMIG_IMPORT_DRY_RUN))
		goto out;
	for (i = 0; i < imp->n; i++) {
		const struct nmig_import_rev *rev = &imp->revs[i];

		rc = write_one(dest, rev->up_name, rev->up_text, rev->up_len,
			       force);
		if (rc)
			goto out;
		count++;
		if (rev->down_name) {
			rc = write_one(dest, rev->down_name, rev->down_text,
				       rev->down_len, force);
			if (rc)
				goto out;
			count++;
		}
	}
out:
	if (written)
		*written = count;
	return rc;
}
