/*
 * Revision files: the migrations directory scanned into a revset. Names
 * are `<id>_<slug>.up.sql` / `.down.sql` (the id is everything before the
 * first '_', or the whole stem when there is none); the up file's leading
 * `-- nmig:` lines are its header. Loading reads each file once into a
 * reused buffer, checksums it (SHA-256, CRLF folded to LF, without a
 * second copy), refuses binary garbage, and parses the header only, never
 * the SQL body. Pairing up and down files and finding duplicate ids is a
 * sort, so a load is O(n log n) in the number of files; every problem
 * found is appended to the diagnostics so that a check can report them
 * all. With the plan cache, a file whose identity (size, mtime, inode) is
 * known is only stat'ed: its checksum and header come from the cache,
 * looked up for every file in one pass in name order before any file is
 * read.
 */
#include "revfile.h"
#include "buf.h"
#include "array_internal.h"
#include "error.h"
#include "secret.h"
#include "sqlscript.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define UTF8_BOM "\xEF\xBB\xBF"
#define KNOWN_KEYS "parents, message, transaction, lint-ignore"

/*
 * A bump allocator for the strings of a loaded set: one malloc per chunk
 * instead of one per string (a history of 100,000 revisions holds about
 * a million of them), all freed together with the set.
 */
#define POOL_CHUNK (256 * 1024)

struct pool_chunk {
	struct pool_chunk *next;
	size_t size, used;
	max_align_t data[];
};

struct nmig_strpool {
	struct pool_chunk *head;
};

/* size bytes aligned for any type from pool; NULL on OOM. */
static void *pool_alloc(struct nmig_strpool *pool, size_t size)
{
	struct pool_chunk *c = pool->head;
	size_t a = _Alignof(max_align_t), at, want;

	at = c ? (c->used + a - 1) / a * a : 0;
	if (!c || at + size > c->size) {
		want = size > POOL_CHUNK / 4 ? size : POOL_CHUNK;
		c = malloc(sizeof(*c) + want);
		if (!c)
			return NULL;
		c->size = want;
		c->used = 0;
		at = 0;
		if (pool->head && size > POOL_CHUNK / 4) {
			/* a big one goes behind: the current chunk stays open */
			c->next = pool->head->next;
			pool->head->next = c;
		} else {
			c->next = pool->head;
			pool->head = c;
		}
	}
	c->used = at + size;
	return (char *)c->data + at;
}

/* n bytes of pool, unaligned (strings pack); NULL on OOM. */
static char *pool_bytes(struct nmig_strpool *pool, size_t n)
{
	struct pool_chunk *c = pool->head;
	char *p;

	if (c && c->used + n <= c->size) {
		p = (char *)c->data + c->used;
		c->used += n;
		return p;
	}
	return pool_alloc(pool, n);
}

/* A NUL-terminated copy of s[0, n) in pool; NULL on OOM. */
static char *pool_strndup(struct nmig_strpool *pool, const char *s, size_t n)
{
	char *p = pool_bytes(pool, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

static char *pool_strdup(struct nmig_strpool *pool, const char *s)
{
	return pool_strndup(pool, s, strlen(s));
}

static void pool_free_chunks(struct nmig_strpool *pool)
{
	struct pool_chunk *c, *next;

	for (c = pool->head; c; c = next) {
		next = c->next;
		free(c);
	}
	pool->head = NULL;
}

static void pool_free(struct nmig_strpool *pool)
{
	if (!pool)
		return;
	pool_free_chunks(pool);
	free(pool);
}

/* A copy of list[0, n) and its words in pool; NULL on OOM (or n == 0). */
static char **pool_list(struct nmig_strpool *pool, char **list, size_t n)
{
	char **p;
	size_t i;

	if (!n)
		return NULL;
	p = pool_alloc(pool, n * sizeof(*p));
	if (!p)
		return NULL;
	for (i = 0; i < n; i++)
		if (!(p[i] = pool_strdup(pool, list[i])))
			return NULL;
	return p;
}

/* One candidate file of the directory. */
struct entry {
	const char *name;
	size_t idx;	     /* of name in the sorted directory listing */
	unsigned idlen;	     /* the id: name[0, idlen) */
	unsigned slug, slen; /* the slug: name[slug, slug + slen) */
	char kind;	     /* 'u' or 'd' */
};

/* No index: a revision without a down file. */
#define NO_IDX ((size_t)-1)

/* Scratch state of one nmig_revset_load. */
struct loader {
	const char *dir;
	struct nmig_diags *diags;
	struct nmig_buf data; /* the file being read, reused */
	EVP_MD_CTX *md;
	const struct nmig_revfile_store *store; /* NULL: read every file */
	int dirfd; /* dir, for fstatat; -1 without a store */
	size_t prefix;		      /* bytes of dir + "/" in every path */
	struct nmig_strpool *pool;    /* the set's */
};

/* State of one header parse. */
struct hctx {
	struct nmig_revision *rev;
	const char *path;
	struct nmig_diags *diags; /* NULL: stop at the first error */
	int rc;
	int parents_line, message_line, transaction_line;
};

/* nmig_id_is_digits: see revfile.h. */
int nmig_id_is_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Numbers by value (any length), else bytes; see revfile.h. Mixing the
 * two kinds is not a total order (9 < 10 by value, 10 < 1a < 9 as text):
 * the loader sorts with a merge sort, which stays safe and stable. */
int nmig_id_cmp(const char *a, const char *b)
{
	const char *x = a, *y = b;
	size_t lx, ly;
	int c;

	if (nmig_id_is_digits(a) && nmig_id_is_digits(b)) {
		while (*x == '0' && x[1])
			x++;
		while (*y == '0' && y[1])
			y++;
		lx = strlen(x);
		ly = strlen(y);
		if (lx != ly)
			return lx < ly ? -1 : 1;
		c = memcmp(x, y, lx);
		if (c)
			return c < 0 ? -1 : 1;
	}
	c = strcmp(a, b);
	return (c > 0) - (c < 0);
}

/* Copy of name fit for a message: control bytes, and every byte >= 0x80
 * when name is not UTF-8, become '?'. */
static char *printable_name(const char *name)
{
	size_t n = strlen(name), i;
	int utf8 = nmig_text_check_encoding("", name, n) == NMIG_OK;
	char *s = strdup(name);

	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80))
			s[i] = '?';
	}
	return s;
}

/* 1 when s (n bytes) ends with suffix. */
static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Set the last error "'<name>' <what>" and return NMIG_EINPUT. */
static int name_error(const char *name, const char *what, const char *hint)
{
	char *p = printable_name(name);

	nmig_error_set(NMIG_EINPUT, "'%s' %s", p ? p : "?", what);
	nmig_error_hint("%s", hint);
	free(p);
	return NMIG_EINPUT;
}

int nmig_revfile_parse_name(const char *name, char **id, char **slug,
			    char *kind)
{
	size_t n = strlen(name), stem, idlen, i;
	char what[64];
	char k;

	*id = NULL;
	*slug = NULL;
	*kind = 0;
	if (ends_with(name, n, ".up.sql")) {
		k = 'u';
		stem = n - 7;
	} else if (ends_with(name, n, ".down.sql")) {
		k = 'd';
		stem = n - 9;
	} else if (n >= 4 && strcasecmp(name + n - 4, ".sql") == 0 &&
		   name[0] != '.') {
		return name_error(name, "is not a migration file name",
				  "name it '<id>_<slug>.up.sql' (and "
				  "'<id>_<slug>.down.sql' for its down file)");
	} else {
		return 0;
	}
	if (name[0] == '.' && stem > 0)
		return 0; /* a dotfile: editor and OS droppings */
	if (stem == 0 || name[0] == '_')
		return name_error(name, "has no revision id",
				  "name it '<id>_<slug>.up.sql'");
	if (nmig_text_check_encoding(name, name, n) != NMIG_OK)
		return name_error(name, "is not a valid UTF-8 file name",
				  "rename it");
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return name_error(name, "contains a control character",
					  "rename it");
	for (idlen = 0; idlen < stem && name[idlen] != '_'; idlen++) {
		if (!strchr(" \t,:", name[idlen]))
			continue;
		snprintf(what, sizeof(what), "has a revision id with %s in it",
			 name[idlen] == ' '    ? "a space"
			 : name[idlen] == '\t' ? "a tab"
			 : name[idlen] == ','  ? "','"
					       : "':'");
		return name_error(name, what,
				  "revision ids cannot contain blanks, ',' "
				  "or ':' (they separate ids in headers and "
				  "ranges); rename the file");
	}
	if ((idlen == 4 && memcmp(name, "base", 4) == 0) ||
	    (idlen == 4 && memcmp(name, "head", 4) == 0) ||
	    (idlen == 5 && memcmp(name, "heads", 5) == 0))
		return name_error(name, "has a reserved word as revision id",
				  "'base', 'head' and 'heads' name targets; "
				  "choose another id");
	*id = strndup(name, idlen);
	*slug = idlen < stem ? strndup(name + idlen + 1, stem - idlen - 1)
			     : strdup("");
	if (!*id || !*slug) {
		free(*id);
		free(*slug);
		*id = *slug = NULL;
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	*kind = k;
	return 1;
}

/* Hash data into md with every CRLF folded to LF; out gets the hex. */
static int hash_folded(EVP_MD_CTX *md, const char *data, size_t len,
		       char out[NMIG_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0, i;
	const char *seg = data, *pos = data, *end = data + len, *cr;

	if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		return NMIG_ERROR;
	while ((cr = memchr(pos, '\r', (size_t)(end - pos))) != NULL) {
		if (cr + 1 < end && cr[1] == '\n') {
			/* hash up to the CR; the LF starts the next piece */
			if (!EVP_DigestUpdate(md, seg, (size_t)(cr - seg)))
				return NMIG_ERROR;
			seg = cr + 1;
		}
		pos = cr + 1;
	}
	if (!EVP_DigestUpdate(md, seg, (size_t)(end - seg)) ||
	    !EVP_DigestFinal_ex(md, digest, &dlen) || dlen != 32)
		return NMIG_ERROR;
	for (i = 0; i < dlen; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[2 * dlen] = '\0';
	return NMIG_OK;
}

void nmig_checksum(const void *data, size_t len, char out[NMIG_SHA256_HEX])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	/* out is empty when OpenSSL cannot allocate: never a valid sum */
	out[0] = '\0';
	if (md && hash_folded(md, data, len, out) != NMIG_OK)
		out[0] = '\0';
	EVP_MD_CTX_free(md);
}

/* 1-based character column of byte off in line. */
static int char_col(const char *line, size_t off)
{
	size_t i;
	int col = 1;

	for (i = 0; i < off; i++)
		if (((unsigned char)line[i] & 0xC0) != 0x80)
			col++;
	return col;
}

/* Record a header error at line (text of the line: src, column col). */
static void herr(struct hctx *h, int line, const char *src, int col,
		 const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void herr(struct hctx *h, int line, const char *src, int col,
		 const char *hint, const char *fmt, ...)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	va_list ap;

	if (!h->diags && h->rc)
		return; /* keep the first error as the last error */
	va_start(ap, fmt);
	nmig_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	nmig_error_set(NMIG_EINPUT, "%s", msg.ptr);
	nmig_error_location(h->path, line, col, src);
	if (hint)
		nmig_error_hint("%s", hint);
	if (h->diags)
		nmig_diags_add_last_error(h->diags, "header");
	if (!h->rc)
		h->rc = NMIG_EINPUT;
	nmig_buf_release(&msg);
}

/* Space or tab: what separates header words. */
static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * If line (n bytes, no newline) is a `-- nmig:` line, set *rest to the
 * text after "nmig:" and return 1. lead allows blanks before "--".
 */
static int nmig_line(const char *line, size_t n, int lead, size_t *rest)
{
	size_t i = 0;

	if (lead)
		while (i < n && is_blank(line[i]))
			i++;
	if (n - i < 2 || line[i] != '-' || line[i + 1] != '-')
		return 0;
	i += 2;
	while (i < n && is_blank(line[i]))
		i++;
	if (n - i < 5 || memcmp(line + i, "nmig:", 5) != 0)
		return 0;
	*rest = i + 5;
	return 1;
}

/* Append the words of v[0, n) (separated by blanks and commas) to
 * *list; NMIG_ENOMEM on failure. */
static int split_words(const char *v, size_t n, char ***list, size_t *count)
{
	size_t i = 0, j;
	char **p, *w;

	while (i < n) {
		while (i < n && (is_blank(v[i]) || v[i] == ','))
			i++;
		for (j = i; j < n && !is_blank(v[j]) && v[j] != ','; j++)
			;
		if (j == i)
			break;
		p = realloc(*list, (*count + 1) * sizeof(*p));
		if (!p)
			return NMIG_ENOMEM;
		*list = p;
		w = strndup(v + i, j - i);
		if (!w)
			return NMIG_ENOMEM;
		p[(*count)++] = w;
		i = j;
	}
	return NMIG_OK;
}

/* Free n strings and the array holding them (either may be NULL). */
static void free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* A second line for a key that may appear once. */
static int duplicate_key(struct hctx *h, int *first, int lineno,
			 const char *line, int col, const char *key)
{
	char hint[128];

	if (!*first) {
		*first = lineno;
		return 0;
	}
	snprintf(hint, sizeof(hint), "keep one '-- nmig:%s' line", key);
	herr(h, lineno, line, col, hint,
	     "duplicate header key '%s' (first on line %d)", key, *first);
	return 1;
}

/* A `parents` line: ids separated by blanks or commas, or `base`. */
static int header_parents(struct hctx *h, int lineno, const char *line, int col,
			  const char *v, size_t n)
{
	struct nmig_revision *rev = h->rev;
	char **words = NULL;
	size_t nwords = 0, i, j;

	if (duplicate_key(h, &h->parents_line, lineno, line, col, "parents"))
		return NMIG_OK;
	if (split_words(v, n, &words, &nwords)) {
		free_list(words, nwords);
		return NMIG_ENOMEM;
	}
	rev->parents_explicit = 1;
	if (nwords == 0) {
		herr(h, lineno, line, col,
		     "write '-- nmig:parents <id> [<id>...]', or "
		     "'-- nmig:parents base' for a root",
		     "'parents' needs revision ids or 'base'");
		goto cleanup;
	}
	for (i = 0; i < nwords; i++) {
		if (strcmp(words[i], "base") == 0 && nwords > 1) {
			herr(h, lineno, line, col,
			     "a root has '-- nmig:parents base' alone",
			     "'base' cannot be combined with other parents");
			goto cleanup;
		}
		for (j = 0; j < i; j++)
			if (strcmp(words[i], words[j]) == 0) {
				herr(h, lineno, line, col, "list it once",
				     "parent '%s' is listed twice", words[i]);
				goto cleanup;
			}
	}
	if (nwords == 1 && strcmp(words[0], "base") == 0)
		goto cleanup;
	free_list(rev->parents, rev->nparents);
	rev->parents = words;
	rev->nparents = nwords;
	return NMIG_OK;
cleanup:
	free_list(words, nwords);
	return NMIG_OK;
}

/* One `-- nmig:` line: rest is the offset after "nmig:" in line. */
static int header_line(struct hctx *h, int lineno, const char *line, size_t n,
		       size_t rest)
{
	struct nmig_revision *rev = h->rev;
	size_t k = rest, kend, v, vend;
	int col, rc = NMIG_OK;
	const char *nul = memchr(line, '\0', n);
	char *s;

	if (nul) {
		/* not a shorter key: the loader's encoding check names the
		 * byte with its line and column; alone, say it here */
		if (h->diags) {
			h->rc = NMIG_EINPUT;
			return NMIG_OK;
		}
		herr(h, lineno, line, char_col(line, (size_t)(nul - line)),
		     "migration files must be UTF-8 text; remove the byte",
		     "NUL byte in a header line");
		return NMIG_OK;
	}
	while (k < n && is_blank(line[k]))
		k++;
	for (kend = k; kend < n && !is_blank(line[kend]); kend++)
		;
	for (v = kend; v < n && is_blank(line[v]); v++)
		;
	for (vend = n; vend > v && is_blank(line[vend - 1]); vend--)
		;
	col = char_col(line, k);
	if (kend == k) {
		herr(h, lineno, line, col, "known keys: " KNOWN_KEYS,
		     "'-- nmig:' line has no key");
	} else if (kend - k == 7 && memcmp(line + k, "parents", 7) == 0) {
		rc = header_parents(h, lineno, line, col, line + v, vend - v);
	} else if (kend - k == 7 && memcmp(line + k, "message", 7) == 0) {
		if (duplicate_key(h, &h->message_line, lineno, line, col,
				  "message"))
			return NMIG_OK;
		if (v == vend) {
			herr(h, lineno, line, col,
			     "write '-- nmig:message <text>'",
			     "'message' needs a text");
			return NMIG_OK;
		}
		s = strndup(line + v, vend - v);
		if (!s)
			return NMIG_ENOMEM;
		free(rev->message);
		rev->message = s;
	} else if (kend - k == 11 && memcmp(line + k, "transaction", 11) == 0) {
		if (duplicate_key(h, &h->transaction_line, lineno, line, col,
				  "transaction"))
			return NMIG_OK;
		if (vend - v == 3 && memcmp(line + v, "off", 3) == 0)
			rev->transactional = 0;
		else if (vend - v == 2 && memcmp(line + v, "on", 2) == 0)
			rev->transactional = 1;
		else
			herr(h, lineno, line, char_col(line, v),
			     "write '-- nmig:transaction off' (or 'on', the "
			     "default)",
			     "'transaction' must be 'on' or 'off', not '%.*s'",
			     (int)(vend - v), line + v);
	} else if (kend - k == 11 && memcmp(line + k, "lint-ignore", 11) == 0) {
		size_t before = rev->nlint_ignore;

		rc = split_words(line + v, vend - v, &rev->lint_ignore,
				 &rev->nlint_ignore);
		if (!rc && rev->nlint_ignore == before)
			herr(h, lineno, line, col,
			     "write '-- nmig:lint-ignore <rule>[,<rule>...]'",
			     "'lint-ignore' needs rule names");
	} else {
		herr(h, lineno, line, col, "known keys: " KNOWN_KEYS,
		     "unknown header key '%.*s'", (int)(kend - k), line + k);
	}
	return rc;
}

/* rev->message from the slug, '_' read as ' '. */
static int default_message(struct nmig_revision *rev)
{
	size_t i;

	rev->message = strdup(rev->slug ? rev->slug : "");
	if (!rev->message)
		return NMIG_ENOMEM;
	for (i = 0; rev->message[i]; i++)
		if (rev->message[i] == '_')
			rev->message[i] = ' ';
	return NMIG_OK;
}

/* The header parse behind nmig_revision_parse_header; with diags, every
 * error is collected and misplaced `-- nmig:` lines are warned about. */
static int parse_header(struct nmig_revision *rev, const char *path,
			const char *text, size_t len, struct nmig_diags *diags)
{
	struct hctx h;
	const char *p = text, *end = text + len, *nl;
	size_t n, rest;
	int lineno = 0, in_header = 1, rc = NMIG_OK;
	struct nmig_diag *d;

	memset(&h, 0, sizeof(h));
	h.rev = rev;
	h.path = path;
	h.diags = diags;
	free_list(rev->parents, rev->nparents);
	free_list(rev->lint_ignore, rev->nlint_ignore);
	free(rev->message);
	rev->parents = rev->lint_ignore = NULL;
	rev->nparents = rev->nlint_ignore = 0;
	rev->message = NULL;
	rev->parents_explicit = 0;
	rev->transactional = 1;
	rev->header_lines = 0;
	if (len >= 3 && memcmp(p, UTF8_BOM, 3) == 0)
		p += 3;
	while (p < end && !rc) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		if (n && p[n - 1] == '\r')
			n--;
		lineno++;
		if (in_header && nmig_line(p, n, 0, &rest)) {
			rc = header_line(&h, lineno, p, n, rest);
			rev->header_lines = lineno;
		} else if (in_header) {
			in_header = 0;
			if (!diags)
				break;
		}
		if (!in_header && nmig_line(p, n, 1, &rest)) {
			d = nmig_diags_add(
			    diags, NMIG_SEV_WARNING, NMIG_EINPUT,
			    "header-misplaced", path, lineno, 1,
			    "'-- nmig:' line after the header is "
			    "ignored");
			nmig_diag_set_source(d, p);
			nmig_diag_set_hint(d,
					   "the header is the first lines of "
					   "the file, before any blank line or "
					   "SQL; move it up");
		}
		p = nl ? nl + 1 : end;
	}
	if (!rc && !rev->message)
		rc = default_message(rev);
	if (rc == NMIG_ENOMEM)
		return nmig_error_set(rc, "out of memory reading '%s'", path);
	return h.rc;
}

int nmig_revision_parse_header(struct nmig_revision *rev, const char *path,
			       const char *text, size_t len)
{
	return parse_header(rev, path, text, len, NULL);
}

void nmig_revision_release(struct nmig_revision *rev)
{
	if (!(rev->pooled & NMIG_REV_POOL_NAMES)) {
		free(rev->id);
		free(rev->slug);
		free(rev->up.path);
		free(rev->down.path);
	}
	if (!(rev->pooled & NMIG_REV_POOL_HEADER)) {
		free(rev->message);
		free_list(rev->parents, rev->nparents);
		free_list(rev->lint_ignore, rev->nlint_ignore);
	}
	memset(rev, 0, sizeof(*rev));
}

void nmig_revset_release(struct nmig_revset *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		nmig_revision_release(&set->revs[i]);
	free(set->revs);
	free(set->dir);
	pool_free(set->pool);
	memset(set, 0, sizeof(*set));
}

/* Add the last error to the loader's findings under rule. */
static void collect(struct loader *ld, const char *rule, const char *path)
{
	if (path && !nmig_error_last()->file[0])
		nmig_error_location(path, 0, 0, NULL);
	nmig_diags_add_last_error(ld->diags, rule);
}

/*
 * Read one file into ld->data and fill fi (size, mtime, inode,
 * checksum) and *st (the file's stat, taken before reading). Problems go
 * to the findings; returns NMIG_OK when the data is there to look at,
 * NMIG_EINPUT/NMIG_EIO when it is not, NMIG_ENOMEM when the load must
 * stop.
 */
static int read_file(struct loader *ld, struct nmig_file_info *fi,
		     struct stat *stp)
{
	const char *rule = "file-read";
	struct stat st;
	ssize_t got;
	int fd, rc = NMIG_OK;

	nmig_buf_clear(&ld->data);
	/* O_NONBLOCK: a FIFO named like a migration must not block the
	 * open; it is refused below as not a regular file. */
	fd = open(fi->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		nmig_error_set(NMIG_EIO, "cannot read '%s': %s", fi->path,
			       strerror(errno));
		collect(ld, "file-read", fi->path);
		return NMIG_EIO;
	}
	if (fstat(fd, &st) != 0) {
		nmig_error_set(NMIG_EIO, "cannot read '%s': %s", fi->path,
			       strerror(errno));
		rc = NMIG_EIO;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		nmig_error_set(NMIG_EINPUT, "'%s' is not a regular file",
			       fi->path);
		nmig_error_hint("a migration is a plain file; rename or "
				"remove it");
		rule = "file-type";
		rc = NMIG_EINPUT;
		goto cleanup;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	nmig_file_info_identity(fi, &st);
	if ((unsigned long long)st.st_size > NMIG_MAX_FILE_SIZE)
		goto too_big;
	if (nmig_buf_grow(&ld->data, (size_t)st.st_size + 1)) {
		rc = NMIG_ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (ld->data.cap - ld->data.len < 2 &&
		    nmig_buf_grow(&ld->data, 65536)) {
			rc = NMIG_ENOMEM;
			goto cleanup;
		}
		got = read(fd, ld->data.ptr + ld->data.len,
			   ld->data.cap - ld->data.len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			nmig_error_set(NMIG_EIO, "cannot read '%s': %s",
				       fi->path, strerror(errno));
			rc = NMIG_EIO;
			goto cleanup;
		}
		if (got == 0)
			break;
		ld->data.len += (size_t)got;
		ld->data.ptr[ld->data.len] = '\0';
		if (ld->data.len > NMIG_MAX_FILE_SIZE)
			goto too_big;
		/* a short read of a regular file is its end: spare the
		 * read() that would return 0 (a third of the syscalls) */
		if (ld->data.len < ld->data.cap - 1 &&
		    ld->data.len >= (size_t)st.st_size)
			break;
	}
	fi->size = (off_t)ld->data.len;
	*stp = st;
	if (hash_folded(ld->md, ld->data.ptr, ld->data.len, fi->checksum)) {
		nmig_error_set(NMIG_ERROR,
			       "cannot compute the checksum of "
			       "'%s'",
			       fi->path);
		rc = NMIG_ERROR;
	}
	goto cleanup;
too_big:
	nmig_error_set(NMIG_EINPUT,
		       "'%s' is larger than the limit of %zu "
		       "bytes",
		       fi->path, NMIG_MAX_FILE_SIZE);
	nmig_error_hint("split it into several migrations");
	rule = "file-size";
	rc = NMIG_EINPUT;
cleanup:
	close(fd);
	if (rc == NMIG_ENOMEM)
		return nmig_error_set(rc, "out of memory reading '%s'",
				      fi->path);
	if (rc)
		collect(ld, rule, fi->path);
	return rc;
}

/*
 * Whether a cached up-file header fits rev: the same id and slug (they
 * come from the name the entry is keyed by), a message, and parents only
 * when they were written.
 */
static int cached_header_fits(const struct nmig_revision *got,
			      const struct nmig_revision *rev)
{
	return got->id && got->slug && got->message &&
	       strcmp(got->id, rev->id) == 0 &&
	       strcmp(got->slug, rev->slug) == 0 &&
	       (got->parents_explicit || got->nparents == 0);
}

/*
 * Look fi up in the plan cache by its name and identity (through the
 * loader's scan when one is open): 1 on a hit (fi filled; for an up file,
 * rev's header too), 0 on a miss (nothing touched), NMIG_ENOMEM. An empty
 * up file is never cached (it carries a warning), so it is not looked up.
 */
static int cache_lookup(struct loader *ld, struct nmig_file_info *fi,
			struct nmig_revision *rev)
{
	const char *name = fi->path + ld->prefix;
	char sum[NMIG_SHA256_HEX];
	struct nmig_revision got;
	struct stat st;
	int rc;

	if (!ld->store ||
	    fstatat(ld->dirfd, name, &st, 0) != 0 || !S_ISREG(st.st_mode) ||
	    (rev && st.st_size == 0) ||
	    (unsigned long long)st.st_size > NMIG_MAX_FILE_SIZE)
		return 0;
	memset(&got, 0, sizeof(got));
	rc = ld->store->get(ld->store->ud, name, &st, rev ? &got : NULL, sum,
			    rev != NULL);
	if (rc == NMIG_ENOMEM)
		return rc;
	if (rc != NMIG_OK)
		return 0;
	if (rev) {
		if (!cached_header_fits(&got, rev)) {
			nmig_revision_release(&got);
			return 0;
		}
		rev->message = got.message;
		rev->parents = got.parents;
		rev->nparents = got.nparents;
		rev->parents_explicit = got.parents_explicit;
		rev->transactional = got.transactional;
		rev->lint_ignore = got.lint_ignore;
		rev->nlint_ignore = got.nlint_ignore;
		rev->header_lines = got.header_lines;
		free(got.id);
		free(got.slug);
	}
	memcpy(fi->checksum, sum, NMIG_SHA256_HEX);
	nmig_file_info_identity(fi, &st);
	return 1;
}

/*
 * Whether rev's message is the one made from its slug ('_' read as ' '):
 * then it comes from the file name, which is no secret.
 */
static int message_from_slug(const struct nmig_revision *rev)
{
	const char *m = rev->message, *s = rev->slug;

	for (; *m && *s; m++, s++)
		if (*m != (*s == '_' ? ' ' : *s))
			return 0;
	return !*m && !*s;
}

/*
 * Store a file that loaded without findings; st is its stat from before
 * it was read (a file that changed size while being read is skipped, and
 * so is a header message that may hold a password).
 */
static int cache_store(struct loader *ld, const struct nmig_file_info *fi,
		       const struct stat *st, const struct nmig_revision *rev)
{
	if (!ld->store || st->st_size != fi->size)
		return NMIG_OK;
	if (rev && !message_from_slug(rev) &&
	    nmig_secret_may_hold(rev->message, strlen(rev->message)))
		return NMIG_OK;
	return ld->store->put(ld->store->ud, fi->path + ld->prefix, st, rev,
			      fi->checksum, rev != NULL);
}

/* Read, check and parse the up file of rev; store it when clean. */
static int load_up(struct loader *ld, struct nmig_revision *rev)
{
	size_t from = ld->diags->n;
	struct nmig_diag *d;
	struct stat st;
	int rc, clean;

	rc = read_file(ld, &rev->up, &st);
	if (rc == NMIG_ENOMEM)
		return rc;
	clean = rc == NMIG_OK;
	if (rc == NMIG_OK) {
		/* garbage further down does not hide the header: the graph
		 * checks still get the right parents */
		if (nmig_text_check_encoding(rev->up.path, ld->data.ptr,
					     ld->data.len)) {
			collect(ld, "file-encoding", rev->up.path);
			clean = 0;
		}
		rc = parse_header(rev, rev->up.path, ld->data.ptr, ld->data.len,
				  ld->diags);
		if (rc == NMIG_ENOMEM)
			return rc;
		if (rc)
			clean = 0;
		if (ld->data.len == 0) {
			d = nmig_diags_add(ld->diags, NMIG_SEV_WARNING,
					   NMIG_EINPUT, "empty-migration",
					   rev->up.path, 0, 0,
					   "empty migration");
			nmig_diag_set_hint(d, "an empty up file is a no-op; "
					      "say why in a comment");
			clean = 0;
		}
	}
	/* the header was not parsed: still give the default */
	if (!rev->message && default_message(rev))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	if (clean && ld->diags->n == from)
		return cache_store(ld, &rev->up, &st, rev);
	return NMIG_OK;
}

/* Read and check the down file of rev, if any; store it when clean. */
static int load_down(struct loader *ld, struct nmig_revision *rev)
{
	size_t from = ld->diags->n;
	struct stat st;
	int rc;

	if (!rev->down.path)
		return NMIG_OK;
	rc = read_file(ld, &rev->down, &st);
	if (rc == NMIG_ENOMEM)
		return rc;
	if (rc != NMIG_OK)
		return NMIG_OK;
	if (nmig_text_check_encoding(rev->down.path, ld->data.ptr,
				     ld->data.len)) {
		collect(ld, "file-encoding", rev->down.path);
		return NMIG_OK;
	}
	if (ld->data.len == 0) {
		/* not cached: every load reports it, as for an empty up file */
		struct nmig_diag *d = nmig_diags_add(
		    ld->diags, NMIG_SEV_WARNING, NMIG_EINPUT, "empty-migration",
		    rev->down.path, 0, 0, "empty down file");
		nmig_diag_set_hint(d, "an empty down file reverts nothing; if "
				      "that is meant, say why in a comment, "
				      "else write the statements that undo "
				      "the up file");
		return NMIG_OK;
	}
	if (ld->diags->n == from)
		return cache_store(ld, &rev->down, &st, NULL);
	return NMIG_OK;
}

/* Bits of a revision's files found in the cache (lookup_all). */
#define HIT_UP 1
#define HIT_DOWN 2

/*
 * Read, check and parse the up and down files of rev, but those the cache
 * gave (hits, HIT_* bits).
 */
static int load_revision(struct loader *ld, struct nmig_revision *rev,
			 unsigned hits)
{
	int rc = NMIG_OK;

	if (!(hits & HIT_UP)) {
		rev->transactional = 1;
		rc = load_up(ld, rev);
	}
	if (rc == NMIG_OK && !(hits & HIT_DOWN))
		rc = load_down(ld, rev);
	return rc;
}

/*
 * Move rev's header strings (message, parents, lint_ignore) into pool,
 * freeing the malloc'ed ones: the next revision's header reuses their
 * memory, so a load holds one header's worth of malloc'ed strings at a
 * time. On OOM rev keeps its own (and releases them as before).
 */
static int adopt_header(struct nmig_strpool *pool, struct nmig_revision *rev)
{
	char *m = NULL, **p = NULL, **l = NULL;

	if ((rev->message && !(m = pool_strdup(pool, rev->message))) ||
	    (rev->nparents &&
	     !(p = pool_list(pool, rev->parents, rev->nparents))) ||
	    (rev->nlint_ignore &&
	     !(l = pool_list(pool, rev->lint_ignore, rev->nlint_ignore))))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	free(rev->message);
	free_list(rev->parents, rev->nparents);
	free_list(rev->lint_ignore, rev->nlint_ignore);
	rev->message = m;
	rev->parents = p;
	rev->lint_ignore = l;
	rev->pooled |= NMIG_REV_POOL_HEADER;
	return NMIG_OK;
}

/*
 * Look every file of set up in the cache, in the order of the sorted
 * directory listing names (one scan of the cache, cache.h); uidx and didx
 * give the index in names of each revision's up and down file (NO_IDX:
 * none). Hits fill the revision and set HIT_* bits in hits[k]. NMIG_OK or
 * NMIG_ENOMEM.
 */
static int lookup_all(struct loader *ld, struct nmig_revset *set, size_t nnames,
		      const size_t *uidx, const size_t *didx,
		      unsigned char *hits)
{
	size_t *slot, i, k;
	int rc = NMIG_OK, r;

	/* slot[i]: 2k + 1 for the up file of revision k, 2k for its down */
	slot = malloc((nnames ? nnames : 1) * sizeof(*slot));
	if (!slot)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < nnames; i++)
		slot[i] = NO_IDX;
	for (k = 0; k < set->n; k++) {
		slot[uidx[k]] = 2 * k + 1;
		if (didx[k] != NO_IDX)
			slot[didx[k]] = 2 * k;
	}
	rc = ld->store->scan_open(ld->store->ud);
	for (i = 0; i < nnames && rc == NMIG_OK; i++) {
		struct nmig_revision *rev;
		int up;

		if (slot[i] == NO_IDX)
			continue;
		rev = &set->revs[slot[i] / 2];
		up = slot[i] & 1;
		r = cache_lookup(ld, up ? &rev->up : &rev->down,
				 up ? rev : NULL);
		if (r < 0)
			rc = r;
		else if (r)
			hits[slot[i] / 2] |= up ? HIT_UP : HIT_DOWN;
	}
	ld->store->scan_close(ld->store->ud);
	free(slot);
	return rc;
}

/* dir + "/" + name (no double slash), malloc'ed; NULL on OOM. */
static char *join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir), m = strlen(name), slash = n && dir[n - 1] != '/';
	char *p = malloc(n + slash + m + 1);

	/* exact size: one per file is kept for the life of the set */
	if (!p)
		return NULL;
	memcpy(p, dir, n);
	if (slash)
		p[n] = '/';
	memcpy(p + n + slash, name, m + 1);
	return p;
}

/* ld->dir + "/" + name (no double slash) in the set's pool; NULL on OOM. */
static char *pool_path(struct loader *ld, const char *name)
{
	const char *dir = ld->dir;
	size_t n = strlen(dir), m = strlen(name), slash = n && dir[n - 1] != '/';
	char *p = pool_bytes(ld->pool, n + slash + m + 1);

	if (!p)
		return NULL;
	memcpy(p, dir, n);
	if (slash)
		p[n] = '/';
	memcpy(p + n + slash, name, m + 1);
	return p;
}

/* qsort order of file names: bytes. */
static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* strcmp order of a[0, an) and b[0, bn) (no NUL in either). */
static int span_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static int same_id(const struct entry *a, const struct entry *b)
{
	return a->idlen == b->idlen && memcmp(a->name, b->name, a->idlen) == 0;
}

/* Group order: identical ids together, up before down, then by name. */
static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = span_cmp(a->name, a->idlen, b->name, b->idlen);

	if (c)
		return c;
	if (a->kind != b->kind)
		return a->kind == 'u' ? -1 : 1;
	return strcmp(a->name, b->name);
}

/*
 * Sort revisions by nmig_id_cmp with a merge sort: stable and safe even
 * where the order is not transitive (all-digit ids mixed with others).
 * It moves pointers, not the revisions themselves.
 */
static void sort_revs(struct nmig_revision **v, struct nmig_revision **tmp,
		      size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	sort_revs(v, tmp, mid);
	sort_revs(v + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] =
		    nmig_id_cmp(v[j]->id, v[i]->id) < 0 ? v[j++] : v[i++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

/*
 * Put the revisions of set in sort_revs order, and the n-element arrays a
 * and b (one element per revision) in the same order. The permutation is
 * applied in place, cycle by cycle, so no second array of revisions is
 * ever held (at 100,000 revisions that copy was the load's peak).
 */
static int order_revs(struct nmig_revset *set, size_t *a, size_t *b)
{
	struct nmig_revision **p = NULL, **tmp = NULL, held;
	size_t *from = NULL, i, k, next, ha, hb;

	if (set->n < 2)
		return NMIG_OK;
	p = malloc(set->n * sizeof(*p));
	tmp = malloc(set->n * sizeof(*tmp));
	if (!p || !tmp) {
		free(p);
		free(tmp);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	for (i = 0; i < set->n; i++)
		p[i] = &set->revs[i];
	sort_revs(p, tmp, set->n);
	free(tmp);
	/* from[i]: the index the revision to go at i has now */
	from = (size_t *)p;
	for (i = 0; i < set->n; i++)
		from[i] = (size_t)(p[i] - set->revs);
	for (i = 0; i < set->n; i++) {
		if (from[i] == i || from[i] == NO_IDX)
			continue;
		held = set->revs[i];
		ha = a[i];
		hb = b[i];
		k = i;
		for (;;) {
			next = from[k];
			from[k] = NO_IDX;
			if (next == i) {
				set->revs[k] = held;
				a[k] = ha;
				b[k] = hb;
				break;
			}
			set->revs[k] = set->revs[next];
			a[k] = a[next];
			b[k] = b[next];
			k = next;
		}
	}
	free(from);
	return NMIG_OK;
}

/* Read the names in dir, sorted. */
static int list_dir(const char *dir, char ***out, size_t *count)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = NMIG_OK;

	d = opendir(dir);
	if (!d) {
		nmig_error_set(errno == ENOENT || errno == ENOTDIR ? NMIG_EINPUT
								   : NMIG_EIO,
			       "cannot open the migrations directory '%s': %s",
			       dir, strerror(errno));
		nmig_error_hint("create it, or point --dir (or 'dir' in the "
				"config) at it");
		nmig_error_location(dir, 0, 0, NULL);
		return nmig_error_last()->code;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = nmig_error_set(NMIG_EIO,
						    "cannot list '%s': %s", dir,
						    strerror(errno));
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (nmig_array_grow(&names, &cap, n + 1, sizeof(*names), 256)) {
			rc = NMIG_ENOMEM;
			break;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = NMIG_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc) {
		free_list(names, n);
		if (rc == NMIG_ENOMEM)
			nmig_error_set(rc, "out of memory listing '%s'", dir);
		return rc;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	*out = names;
	*count = n;
	return NMIG_OK;
}

/* Record an error about a file of the directory (by name). */
static void file_error(struct loader *ld, const char *rule, const char *name,
		       const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void file_error(struct loader *ld, const char *rule, const char *name,
		       const char *hint, const char *fmt, ...)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	char *path = join_path(ld->dir, name);
	va_list ap;

	va_start(ap, fmt);
	nmig_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	nmig_error_set(NMIG_EINPUT, "%s", msg.ptr);
	nmig_error_location(path ? path : name, 0, 0, NULL);
	if (hint)
		nmig_error_hint("%s", hint);
	collect(ld, rule, NULL);
	free(path);
	nmig_buf_release(&msg);
}

/*
 * Turn the group of entries e[0, n) sharing one id into a revision in
 * *rev (returns 1; *up_idx and *down_idx get the files' indexes in the
 * directory listing), or report why there is none (returns 0).
 */
static int group_revision(struct loader *ld, struct entry *e, size_t n,
			  struct nmig_revision *rev, size_t *up_idx,
			  size_t *down_idx)
{
	struct nmig_buf names = NMIG_BUF_INIT, hint = NMIG_BUF_INIT;
	size_t ups = 0, i;
	struct entry *up = NULL, *down = NULL;

	for (i = 0; i < n; i++)
		if (e[i].kind == 'u' && ups++ == 0)
			up = &e[i];
	if (!up) {
		for (i = 0; i < n; i++) {
			nmig_buf_clear(&hint);
			nmig_buf_printf(&hint,
					"add '%.*s.up.sql', or remove "
					"the down file",
					(int)(strlen(e[i].name) - 9),
					e[i].name);
			file_error(ld, "down-without-up", e[i].name, hint.ptr,
				   "down file '%s' has no up file", e[i].name);
		}
		goto cleanup;
	}
	if (ups > 1) {
		for (i = 0; i < n; i++)
			if (e[i].kind == 'u')
				nmig_buf_printf(&names, "%s'%s'",
						names.len ? ", " : "",
						e[i].name);
		file_error(ld, "duplicate-id", up->name,
			   "each revision needs its own id; rename all but "
			   "one of them",
			   "revision id '%.*s' is used by several up files: %s",
			   (int)up->idlen, up->name, names.ptr);
	}
	for (i = 0; i < n; i++) {
		if (e[i].kind != 'd')
			continue;
		if (span_cmp(e[i].name + e[i].slug, e[i].slen,
			     up->name + up->slug, up->slen) == 0) {
			down = &e[i];
		} else if (ups == 1) {
			nmig_buf_clear(&hint);
			nmig_buf_printf(&hint, "rename it to '%.*s.down.sql'",
					(int)(strlen(up->name) - 7), up->name);
			file_error(ld, "down-mismatch", e[i].name, hint.ptr,
				   "down file '%s' does not match the up file "
				   "'%s'",
				   e[i].name, up->name);
		}
	}
	memset(rev, 0, sizeof(*rev));
	rev->transactional = 1;
	rev->pooled = NMIG_REV_POOL_NAMES;
	rev->id = pool_strndup(ld->pool, up->name, up->idlen);
	rev->slug = pool_strndup(ld->pool, up->name + up->slug, up->slen);
	rev->up.path = pool_path(ld, up->name);
	*up_idx = up->idx;
	*down_idx = NO_IDX;
	if (down) {
		rev->down.path = pool_path(ld, down->name);
		*down_idx = down->idx;
		if (!rev->down.path)
			rev->up.path = NULL; /* reported as out of memory */
	}
	if (!rev->id || !rev->slug)
		rev->up.path = NULL;
cleanup:
	nmig_buf_release(&names);
	nmig_buf_release(&hint);
	return up != NULL;
}

/* Give every revision without a parents line the one before it. */
static int implicit_parents(struct nmig_revset *set)
{
	struct nmig_revision *rev;
	size_t i;

	for (i = 1; i < set->n; i++) {
		rev = &set->revs[i];
		if (rev->parents_explicit || rev->nparents)
			continue;
		if (rev->pooled & NMIG_REV_POOL_HEADER) {
			rev->parents = pool_list(set->pool,
						 &set->revs[i - 1].id, 1);
			if (!rev->parents)
				return NMIG_ENOMEM;
			rev->nparents = 1;
			continue;
		}
		rev->parents = malloc(sizeof(*rev->parents));
		if (!rev->parents)
			return NMIG_ENOMEM;
		rev->parents[0] = strdup(set->revs[i - 1].id);
		if (!rev->parents[0])
			return NMIG_ENOMEM;
		rev->nparents = 1;
	}
	return NMIG_OK;
}

int nmig_revset_load(struct nmig_revset *out, const char *dir,
		     struct nmig_diags *diags)
{
	return nmig_revset_load_store(out, dir, NULL, diags);
}

int nmig_revset_load_store(struct nmig_revset *out, const char *dir,
			   const struct nmig_revfile_store *store,
			   struct nmig_diags *diags)
{
	struct nmig_diags local = NMIG_DIAGS_INIT;
	struct loader ld;
	char **names = NULL;
	struct entry *e = NULL;
	size_t nnames = 0, ne = 0, ngroups, i, j, from, *uidx = NULL;
	size_t *didx = NULL;
	unsigned char *hits = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&ld, 0, sizeof(ld));
	nmig_buf_init(&ld.data);
	if (!diags)
		diags = &local;
	from = diags->n;
	ld.dir = dir;
	ld.diags = diags;
	ld.dirfd = -1;
	ld.prefix = strlen(dir);
	if (ld.prefix && dir[ld.prefix - 1] != '/')
		ld.prefix++;
	out->dir = strdup(dir);
	out->pool = calloc(1, sizeof(*out->pool));
	ld.pool = out->pool;
	ld.md = EVP_MD_CTX_new();
	if (!out->dir || !out->pool || !ld.md) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = list_dir(dir, &names, &nnames);
	if (rc) {
		if (rc != NMIG_ENOMEM)
			nmig_diags_add_last_error(diags, "file-read");
		goto cleanup;
	}
	e = calloc(nnames ? nnames : 1, sizeof(*e));
	if (!e) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < nnames; i++) {
		char *id, *slug;

		rc = nmig_revfile_parse_name(names[i], &id, &slug,
					     &e[ne].kind);
		if (rc == NMIG_ENOMEM)
			goto cleanup;
		if (rc == 1) {
			/* kept as spans of the name: no copy per file */
			e[ne].idlen = (unsigned)strlen(id);
			e[ne].slen = (unsigned)strlen(slug);
			e[ne].slug = e[ne].slen ? e[ne].idlen + 1 : e[ne].idlen;
			free(id);
			free(slug);
		}
		if (rc < 0) {
			char *path = join_path(dir, names[i]);

			nmig_error_location(path ? path : dir, 0, 0, NULL);
			collect(&ld, "file-name", NULL);
			free(path);
		} else if (rc == 1) {
			e[ne].idx = i;
			e[ne++].name = names[i];
		}
	}
	rc = NMIG_OK;
	qsort(e, ne, sizeof(*e), cmp_entry);

	/* one slot per distinct id, not per file: a revision has two */
	for (i = 0, ngroups = 0; i < ne; i++)
		if (i == 0 || !same_id(&e[i], &e[i - 1]))
			ngroups++;
	out->revs = calloc(ngroups ? ngroups : 1, sizeof(*out->revs));
	uidx = malloc((ngroups ? ngroups : 1) * sizeof(*uidx));
	didx = malloc((ngroups ? ngroups : 1) * sizeof(*didx));
	hits = calloc(ngroups ? ngroups : 1, 1);
	if (!out->revs || !uidx || !didx || !hits) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < ne; i = j) {
		for (j = i + 1; j < ne && same_id(&e[j], &e[i]); j++)
			;
		if (group_revision(&ld, e + i, j - i, &out->revs[out->n],
				   &uidx[out->n], &didx[out->n])) {
			out->n++;
			if (!out->revs[out->n - 1].up.path) {
				rc = nmig_error_set(NMIG_ENOMEM,
						    "out of memory");
				goto cleanup;
			}
		}
	}
	rc = order_revs(out, uidx, didx);
	if (rc)
		goto cleanup;
	/* the listing is done with (lookups go by index): free it before
	 * the files are read */
	free(e);
	e = NULL;
	free_list(names, nnames);
	names = NULL;
	if (store) {
		ld.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ld.dirfd >= 0)
			ld.store = store;
	}
	/* one session for every lookup and store (the plan cache: one read
	 * transaction that the first store makes a write batch) */
	if (ld.store) {
		ld.store->begin(ld.store->ud);
		rc = lookup_all(&ld, out, nnames, uidx, didx, hits);
	}
	for (i = 0; i < out->n && rc == NMIG_OK; i++) {
		rc = load_revision(&ld, &out->revs[i], hits[i]);
		if (rc == NMIG_OK)
			rc = adopt_header(out->pool, &out->revs[i]);
	}
	if (ld.store)
		ld.store->end(ld.store->ud);
	if (rc)
		goto cleanup;
	rc = implicit_parents(out);
	if (rc)
		nmig_error_set(rc, "out of memory");
cleanup:
	if (!rc)
		rc = nmig_diags_raise(diags, from);
	free(e); /* ids and slugs are spans of the names */
	if (names)
		free_list(names, nnames);
	free(uidx);
	free(didx);
	free(hits);
	EVP_MD_CTX_free(ld.md);
	nmig_buf_release(&ld.data);
	nmig_diags_release(&local);
	if (ld.dirfd >= 0)
		close(ld.dirfd);
	return rc;
}

long long nmig_stat_mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL +
	       st->st_mtim.tv_nsec;
}

void nmig_file_info_identity(struct nmig_file_info *fi, const struct stat *st)
{
	fi->size = st->st_size;
	fi->mtime_ns = nmig_stat_mtime_ns(st);
	fi->inode = (unsigned long long)st->st_ino;
}

int nmig_file_info_same(const struct nmig_file_info *fi, const struct stat *st)
{
	return st->st_size == fi->size &&
	       nmig_stat_mtime_ns(st) == fi->mtime_ns &&
	       (unsigned long long)st->st_ino == fi->inode;
}
