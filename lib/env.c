/*
 * The `.env` loader: parses `KEY=value` lines and sets the variables that
 * are not set yet, so that a project can keep its DATABASE_URL beside its
 * migrations without it ever overriding the real environment. See env.h
 * for the accepted syntax. Errors name the file and line but never show a
 * value, which may hold a password.
 */
#include "env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "array_internal.h"
#include "error.h"

/* Largest .env file read (it holds a handful of lines). */
#define ENV_MAX_SIZE ((size_t)1 << 20)

/* The names nmig_env_load has set, for nmig_env_loaded. */
static char **loaded;
static size_t nloaded, loaded_cap;

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_key_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_key_char(char c)
{
	return is_key_start(c) || (c >= '0' && c <= '9');
}

/* Record a syntax error at path:line (column col) without showing text. */
static int syntax_error(const char *path, int line, int col, const char *what)
{
	nmig_error_set(NMIG_ECONFIG, "malformed line in '%s': %s", path, what);
	nmig_error_location(path, line, col, NULL);
	nmig_error_hint("write KEY=value (optionally 'export KEY=value'); "
			"quote values with spaces or '#'");
	return NMIG_ECONFIG;
}

/*
 * Only blanks or a `# comment` may follow a closing quote. Returns 1 when
 * the rest of the line [p, end) is acceptable.
 */
static int rest_is_empty(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p == end || *p == '#';
}

/*
 * Decode the value starting at p (line ends at end) into val. Returns 0 or
 * a short description of what is wrong.
 */
static const char *parse_value(const char *p, const char *end,
			       struct nmig_buf *val)
{
	if (p < end && *p == '\'') {
		const char *q = memchr(p + 1, '\'', (size_t)(end - p - 1));

		if (!q)
			return "unterminated single quote";
		nmig_buf_put(val, p + 1, (size_t)(q - p - 1));
		if (!rest_is_empty(q + 1, end))
			return "unexpected text after the closing quote";
		return NULL;
	}
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p != '\\' || p + 1 == end) {
				nmig_buf_putc(val, *p);
				continue;
			}
			p++;
			switch (*p) {
			case 'n':
				nmig_buf_putc(val, '\n');
				break;
			case 't':
				nmig_buf_putc(val, '\t');
				break;
			case 'r':
				nmig_buf_putc(val, '\r');
				break;
			case '"':
			case '\\':
			case '$':
			case '\'':
				nmig_buf_putc(val, *p);
				break;
			default:
				nmig_buf_putc(val, '\\');
				nmig_buf_putc(val, *p);
			}
		}
		if (p == end)
			return "unterminated double quote";
		if (!rest_is_empty(p + 1, end))
			return "unexpected text after the closing quote";
		return NULL;
	}
	/* Bare value: up to a blank followed by '#', trimmed. */
	{
		const char *s = p, *e = p;

		for (; p < end; p++) {
			if (*p == '#' && p > s && is_blank(p[-1]))
				break;
			if (!is_blank(*p))
				e = p + 1;
		}
		nmig_buf_put(val, s, (size_t)(e - s));
	}
	return NULL;
}

/*
 * Parse one line [p, end) numbered lineno. Calls fn for an assignment.
 * Returns 0, fn's non-zero result, or NMIG_ECONFIG.
 */
static int parse_line(const char *p, const char *end, const char *path,
		      int lineno, struct nmig_buf *key, struct nmig_buf *val,
		      int (*fn)(const char *, const char *, void *), void *ud)
{
	const char *start = p, *why;

	if (end > p && end[-1] == '\r')
		end--;
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	if (end - p > 7 && memcmp(p, "export", 6) == 0 && is_blank(p[6])) {
		p += 7;
		while (p < end && is_blank(*p))
			p++;
	}
	if (p == end || !is_key_start(*p))
		return syntax_error(path, lineno, (int)(p - start) + 1,
				    "expected a variable name");
	nmig_buf_clear(key);
	nmig_buf_clear(val);
	while (p < end && is_key_char(*p))
		nmig_buf_putc(key, *p++);
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p != '=')
		return syntax_error(path, lineno, (int)(p - start) + 1,
				    "expected '=' after the variable name");
	p++;
	while (p < end && is_blank(*p))
		p++;
	why = parse_value(p, end, val);
	if (why)
		return syntax_error(path, lineno, (int)(p - start) + 1, why);
	if (nmig_buf_oom(key) || nmig_buf_oom(val))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	return fn(key->ptr, val->ptr, ud);
}

int nmig_env_parse(const char *text, size_t len, const char *path,
		   int (*fn)(const char *key, const char *value, void *ud),
		   void *ud)
{
	struct nmig_buf key = NMIG_BUF_INIT, val = NMIG_BUF_INIT;
	const char *p = text, *end = text + len;
	int lineno = 0, err = NMIG_OK;

	/* a UTF-8 byte order mark, as editors on Windows write; nmig.conf
	 * accepts one too */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		lineno++;
		if (memchr(p, '\0', (size_t)(eol - p))) {
			err = syntax_error(path, lineno, 1, "NUL byte in line");
			goto cleanup;
		}
		err = parse_line(p, eol, path, lineno, &key, &val, fn, ud);
		if (err)
			goto cleanup;
		p = nl ? nl + 1 : end;
	}
cleanup:
	nmig_buf_release(&key);
	nmig_buf_release(&val);
	return err;
}

/* Assignments collected before any is applied. */
struct pairs {
	char **kv; /* key, value, key, value, ... */
	size_t n, cap;
};

static int collect_pair(const char *key, const char *value, void *ud)
{
	struct pairs *p = ud;

	if (nmig_array_grow(&p->kv, &p->cap, p->n + 2, sizeof(*p->kv), 16))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	p->kv[p->n] = strdup(key);
	p->kv[p->n + 1] = strdup(value);
	p->n += 2;
	if (!p->kv[p->n - 2] || !p->kv[p->n - 1])
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	return 0;
}

/* Remember that .env set key (NMIG_ENOMEM when it cannot). */
static int remember(const char *key)
{
	if (nmig_array_grow(&loaded, &loaded_cap, nloaded + 1, sizeof(*loaded),
			    16))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	loaded[nloaded] = strdup(key);
	if (!loaded[nloaded])
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	nloaded++;
	return NMIG_OK;
}

int nmig_env_loaded(const char *key)
{
	size_t i;

	for (i = 0; i < nloaded; i++)
		if (strcmp(loaded[i], key) == 0)
			return 1;
	return 0;
}

int nmig_env_load(const char *path, int *nset)
{
	struct nmig_buf text = NMIG_BUF_INIT;
	struct pairs p = {NULL, 0, 0};
	struct stat st;
	int count = 0, err;
	size_t i;

	if (nset)
		*nset = 0;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return NMIG_OK;
		/* else the read below names the reason */
	} else if (!S_ISREG(st.st_mode)) {
		err = nmig_error_set(NMIG_ECONFIG,
				     "'%s' is %s, not a file of KEY=value "
				     "lines",
				     path,
				     S_ISDIR(st.st_mode) ? "a directory"
							 : "not a regular file");
		nmig_error_hint("nmig reads its database URL from a .env file "
				"beside the migrations when there is one; "
				"rename or remove '%s'",
				path);
		goto cleanup;
	}
	err = nmig_buf_read_file(&text, path, ENV_MAX_SIZE);
	if (err && err != NMIG_ENOMEM) {
		/* the environment is the configuration: its exit code */
		err = nmig_error_set(NMIG_ECONFIG, "%s",
				     nmig_error_last()->message);
		nmig_error_hint("make '%s' readable, or remove it", path);
		goto cleanup;
	}
	if (err)
		goto cleanup;
	/* Parse the whole file first: a bad file sets nothing. */
	err = nmig_env_parse(text.ptr, text.len, path, collect_pair, &p);
	if (err)
		goto cleanup;
	for (i = 0; i < p.n; i += 2) {
		if (getenv(p.kv[i]))
			continue;
		/* remembered first: a variable set is always known */
		if ((err = remember(p.kv[i])))
			goto cleanup;
		if (setenv(p.kv[i], p.kv[i + 1], 0) != 0) {
			err = nmig_error_set(NMIG_ECONFIG,
					     "cannot set variable '%s' from "
					     "'%s': %s",
					     p.kv[i], path, strerror(errno));
			goto cleanup;
		}
		count++;
	}
	if (nset)
		*nset = count;
cleanup:
	for (i = 0; i < p.n; i++) {
		if (p.kv[i])
			memset(p.kv[i], 0, strlen(p.kv[i]));
		free(p.kv[i]);
	}
	free(p.kv);
	if (text.cap)
		memset(text.ptr, 0, text.len);
	nmig_buf_release(&text);
	return err;
}
