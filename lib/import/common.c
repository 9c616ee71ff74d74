/*
 * Shared parts of the importer: text and file helpers, the directory
 * listing, and the reader that collects revisions and findings.
 */
#include "import_internal.h"

#include "array_internal.h"

/* ---- small text and file helpers ---- */

/* A malloc'ed NUL-terminated copy of s[0..n), NULL when out of memory. */
char *imp_dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* dir + "/" + name, malloc'ed; NULL when out of memory. */
char *imp_join(const char *dir, const char *name)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	nmig_buf_puts(&b, dir);
	if (b.len && b.ptr[b.len - 1] != '/')
		nmig_buf_putc(&b, '/');
	nmig_buf_puts(&b, name);
	return nmig_buf_detach(&b, NULL);
}

/* Whether s ends with suffix. */
int imp_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* An ASCII digit (isdigit() depends on the locale). */
int imp_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Go's \s, which dbmate's markers use. */
int imp_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\v' ||
	       c == '\n';
}

/* ASCII lower case, whatever the locale. */
char imp_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Number of leading digits of s. */
size_t imp_digits_len(const char *s)
{
	size_t n = 0;

	while (imp_is_digit(s[n]))
		n++;
	return n;
}

/*
 * The digits of s[0..n) without leading zeros ("0" for all zeros), so that
 * equal numbers give equal strings. malloc'ed; NULL when out of memory.
 */
char *imp_number_key(const char *s, size_t n)
{
	while (n > 1 && *s == '0') {
		s++;
		n--;
	}
	return imp_dupn(s, n);
}

/* Compare two number_key strings as numbers. */
int imp_number_cmp(const char *a, const char *b)
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
int imp_path_kind(const char *path)
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

/* Step to the next line of text[0..len); 0 at the end. */
int imp_next_line(const char *text, size_t len, size_t *pos, struct line *ln)
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
int imp_blank_or_comment(const struct line *ln)
{
	size_t i = 0;

	while (i < ln->len && imp_is_space(ln->p[i]))
		i++;
	return i == ln->len ||
	       (i + 1 < ln->len && ln->p[i] == '-' && ln->p[i + 1] == '-');
}

/* The line's text as a NUL-terminated string for messages (truncated). */
const char *imp_line_text(const struct line *ln, char *buf, size_t cap)
{
	size_t n = ln->len < cap - 1 ? ln->len : cap - 1;

	memcpy(buf, ln->p, n);
	buf[n] = '\0';
	return buf;
}

/* ---- directory listing ---- */

/* qsort order of directory entries: by name, bytewise. */
static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

/* Free a listing; it is left empty. */
void imp_listing_release(struct listing *ls)
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
int imp_list_dir(struct listing *out, const char *dir)
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
		if (nmig_array_grow(&out->items, &cap, out->n + 1,
				    sizeof(*out->items), 64))
			goto oom;
		out->items[out->n].name = strdup(de->d_name);
		path = imp_join(dir, de->d_name);
		if (!out->items[out->n].name || !path) {
			free(out->items[out->n].name);
			free(path);
			goto oom;
		}
		out->items[out->n].kind = imp_path_kind(path);
		free(path);
		out->n++;
	}
	if (out->n)
		qsort(out->items, out->n, sizeof(*out->items), entry_cmp);
	goto cleanup;
oom:
	imp_listing_release(out);
	rc = nmig_error_set(NMIG_ENOMEM, "out of memory listing '%s'", dir);
cleanup:
	closedir(d);
	return rc;
}

/* ---- the reader: collected revisions and findings ---- */

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

int imp_fail(struct reader *r, int code, const char *file, int line,
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

void imp_notef(struct reader *r, enum nmig_severity sev, const char *file,
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
int imp_oom(void)
{
	return nmig_error_set(NMIG_ENOMEM, "out of memory");
}

/*
 * Warn that the entry name of the source directory is not a migration and
 * is ignored (why says what it is not). NMIG_OK or NMIG_ENOMEM.
 */
int imp_ignore_entry(struct reader *r, const char *name, const char *why)
{
	char *path = imp_join(r->src, name);

	if (!path)
		return imp_oom();
	imp_notef(r, NMIG_SEV_WARNING, path, 0, "ignored: %s", why);
	free(path);
	return NMIG_OK;
}

/* Make the saved first error the last error again. */
void imp_restore_error(const struct nmig_error *e)
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
void imp_rev_release(struct nmig_import_rev *rev)
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
	imp_rev_release(&it->rev);
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
void imp_reader_release(struct reader *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		item_release(&r->items[i]);
	free(r->items);
	r->items = NULL;
	r->n = r->cap = 0;
}

/* A new zeroed item owning origin (freed on failure), or NULL. */
struct item *imp_add_item(struct reader *r, char *origin)
{
	struct item *it;

	if (!origin)
		return NULL;
	if (nmig_array_grow(&r->items, &r->cap, r->n + 1, sizeof(*r->items),
			    64)) {
		free(origin);
		return NULL;
	}
	it = &r->items[r->n++];
	memset(it, 0, sizeof(*it));
	it->origin = origin;
	return it;
}

/* Drop the last item (a revision that turned out to be bad). */
void imp_drop_last_item(struct reader *r)
{
	item_release(&r->items[--r->n]);
}

/*
 * Set the item's id and slug (slug NULL or empty: DEFAULT_SLUG) and check
 * that nmig's loader reads `<id>_<slug>.up.sql` back as this id and slug
 * (no blanks, ',' or ':' in the id, not a reserved word, valid UTF-8).
 * 1 when good, 0 after recording an error, or NMIG_ENOMEM.
 */
int imp_set_names(struct reader *r, struct item *it, const char *id,
		  size_t idlen, const char *slug, size_t slen)
{
	struct nmig_buf name = NMIG_BUF_INIT;
	char *lid = NULL, *lslug = NULL, kind = 0, hint[1024];
	int rc;

	if (!slug || !slen) {
		slug = DEFAULT_SLUG;
		slen = strlen(DEFAULT_SLUG);
	}
	it->rev.id = imp_dupn(id, idlen);
	it->rev.slug = imp_dupn(slug, slen);
	if (!it->rev.id || !it->rev.slug)
		return imp_oom();
	if (!idlen) {
		imp_fail(r, NMIG_EINPUT, it->origin, 0, NULL,
			 "rename it to <version>_<name>",
			 "migration name has no version before '_'");
		return 0;
	}
	if (memchr(slug, '/', slen)) {
		imp_fail(r, NMIG_EINPUT, it->origin, 0, NULL, NULL,
			 "migration name '%s' cannot be a file name",
			 it->rev.slug);
		return 0;
	}
	nmig_buf_printf(&name, "%s_%s.up.sql", it->rev.id, it->rev.slug);
	if (name.oom)
		return imp_oom();
	rc = nmig_revfile_parse_name(name.ptr, &lid, &lslug, &kind);
	if (rc == NMIG_ENOMEM) {
		nmig_buf_release(&name);
		return rc;
	}
	if (rc < 0) {
		snprintf(hint, sizeof(hint), "%s", nmig_error_last()->hint);
		imp_fail(r, NMIG_EINPUT, it->origin, 0, NULL,
			 hint[0] ? hint : NULL,
			 "cannot become an nmig revision: %s",
			 nmig_error_last()->message);
		rc = 0;
	} else if (rc == 0 || strcmp(lid, it->rev.id) != 0 ||
		   strcmp(lslug, it->rev.slug) != 0) {
		imp_fail(
		    r, NMIG_EINPUT, it->origin, 0, NULL, NULL,
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
int imp_read_source(struct reader *r, const char *path, char **text,
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
		return imp_oom();
	return 1;
}

/* SQL that starts with nmig's own header would merge with the new one. */
int imp_check_not_nmig(struct reader *r, const char *path, const char *sql,
		       size_t len)
{
	static const char prefix[] = "-- nmig:";

	if (len >= sizeof(prefix) - 1 &&
	    memcmp(sql, prefix, sizeof(prefix) - 1) == 0) {
		imp_fail(
		    r, NMIG_EINPUT, path, 1, sql,
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
int imp_read_up_down(struct reader *r, struct item *it, char **up, char **down,
		     const char *hint)
{
	int rc;

	if (imp_path_kind(*up) != 'f') {
		imp_fail(r, NMIG_EINPUT, it->origin, 0, NULL, hint,
			 "migration directory has no 'up.sql'");
		return 0;
	}
	rc = imp_read_source(r, *up, &it->up_sql, &it->up_sql_len);
	if (rc <= 0)
		return rc;
	it->rev.up_source = *up;
	*up = NULL;
	if (!imp_check_not_nmig(r, it->rev.up_source, it->up_sql,
				it->up_sql_len))
		return 0;
	if (imp_path_kind(*down) == 'f') {
		rc =
		    imp_read_source(r, *down, &it->down_sql, &it->down_sql_len);
		if (rc <= 0)
			return rc;
		it->rev.down_source = *down;
		*down = NULL;
	}
	return 1;
}
