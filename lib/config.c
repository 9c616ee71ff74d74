/*
 * The project configuration (see config.h): defaults, the `nmig.conf`
 * reader and the validation of each setting. Values are checked here so
 * that a typo fails at once with file:line and the list of known keys,
 * not later in the middle of a migration run. The file may name the
 * variable that holds the database URL but never hold a password or the
 * URL itself; such a line is refused without echoing its value.
 */
#include "config.h"
#include "buf.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* A config file bigger than this is surely not one. */
#define CONFIG_MAX_SIZE ((size_t)1 << 20)

enum key_kind {
	KEY_PATH,
	KEY_ENVNAME,
	KEY_IDENT,
	KEY_DURATION,
	KEY_COUNT,
	KEY_SIZE,
};

struct key_def {
	const char *name;
	enum key_kind kind;
};

static const struct key_def keys[] = {
    {"dir", KEY_PATH},
    {"url_env", KEY_ENVNAME},
    {"schema", KEY_IDENT},
    {"table", KEY_IDENT},
    {"lock_timeout", KEY_DURATION},
    {"statement_timeout", KEY_DURATION},
    {"lock_retries", KEY_COUNT},
    {"lock_wait", KEY_DURATION},
    {"connect_timeout", KEY_DURATION},
    {"max_file_size", KEY_SIZE},
    {"templates", KEY_PATH},
    {"schema_file", KEY_PATH},
    {"cache", KEY_PATH},
    {"doctor_healthy_ms", KEY_DURATION},
    {"doctor_degraded_ms", KEY_DURATION},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char known_keys[] =
    "dir, url_env, schema, table, lock_timeout, statement_timeout, "
    "lock_retries, lock_wait, connect_timeout, max_file_size, templates, "
    "schema_file, cache, doctor_healthy_ms, doctor_degraded_ms";

static const char password_hint[] =
    "put the URL in the environment (DATABASE_URL) or in .env, and set "
    "url_env if it has another name";

/*
 * Record a config error: the message is prefixed with file:line when the
 * setting came from a file.
 */
static int config_error(const char *file, int line, const char *hint,
			const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int config_error(const char *file, int line, const char *hint,
			const char *fmt, ...)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	va_list ap;

	if (file && line > 0)
		nmig_buf_printf(&msg, "%s:%d: ", file, line);
	else if (file)
		nmig_buf_printf(&msg, "%s: ", file);
	va_start(ap, fmt);
	nmig_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	nmig_error_set(NMIG_ECONFIG, "%s",
		       nmig_buf_oom(&msg) ? "out of memory" : msg.ptr);
	if (hint)
		nmig_error_hint("%s", hint);
	nmig_buf_release(&msg);
	return NMIG_ECONFIG;
}

/* Case-insensitive search for needle in haystack. */
static const char *find_nocase(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (; *haystack; haystack++)
		if (strncasecmp(haystack, needle, n) == 0)
			return haystack;
	return NULL;
}

/*
 * Whether a key or value carries a password: a key named like one, a URL
 * with user:password@, or a `password=` conninfo or query parameter.
 */
static int holds_password(const char *key, const char *value)
{
	const char *p, *at, *end;

	if (find_nocase(key, "password") || find_nocase(key, "passwd") ||
	    strcasecmp(key, "pass") == 0 || strcasecmp(key, "pwd") == 0)
		return 1;
	if (find_nocase(value, "password=") || find_nocase(value, "passwd="))
		return 1;
	for (p = strstr(value, "://"); p; p = strstr(p + 3, "://")) {
		const char *auth = p + 3;

		end = auth + strcspn(auth, "/?#");
		at = NULL;
		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		if (at && memchr(auth, ':', (size_t)(at - auth)))
			return 1;
	}
	return 0;
}

/* Whether value looks like a connection URL or conninfo string. */
static int looks_like_url(const char *value)
{
	return strstr(value, "://") || find_nocase(value, "host=") ||
	       find_nocase(value, "dbname=");
}

/* Edit distance, for "did you mean" on unknown keys (short strings). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0], tmp;

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) ==
					      tolower((unsigned char)b[j - 1])
					  ? 0
					  : 1;
			size_t best = diag + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			diag = tmp;
		}
	}
	return row[lb];
}

const char *nmig_key_suggest(const char *word, const char *const *known)
{
	const char *best = NULL;
	size_t d, bestd = 3;

	for (; *known; known++)
		if ((d = distance(word, *known)) < bestd) {
			bestd = d;
			best = *known;
		}
	return best;
}

static const struct key_def *find_key(const char *key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, key) == 0)
			return &keys[i];
	return NULL;
}

/* Replace *slot with a copy of value; NMIG_ENOMEM on failure. */
static int set_str(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	free(*slot);
	*slot = copy;
	return NMIG_OK;
}

/*
 * Join a relative path onto root ("." stays out of the result so printed
 * paths read as the user wrote them); absolute paths are kept.
 */
static char *join_root(const char *root, const char *path)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	if (path[0] == '/' || !root || strcmp(root, ".") == 0)
		return strdup(path);
	nmig_buf_puts(&b, root);
	if (b.len && b.ptr[b.len - 1] != '/')
		nmig_buf_putc(&b, '/');
	nmig_buf_puts(&b, path);
	return nmig_buf_detach(&b, NULL);
}

/*
 * Parse a duration: a non-negative number with an optional unit (ms, s,
 * min, h; none = ms) into milliseconds that fit an int.
 */
static int parse_duration(const char *value, int *out)
{
	unsigned long long n, mult = 1;
	const char *p = value;
	char *end;

	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	n = strtoull(p, &end, 10);
	if (errno)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "min") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		return -1;
	if (n > (unsigned long long)INT_MAX / mult)
		return -1;
	*out = (int)(n * mult);
	return 0;
}

/*
 * Parse a size: a positive number of bytes with an optional unit
 * (B, kB/KiB, MB/MiB, GB/GiB; k, M, G; powers of 1024 as in PostgreSQL).
 */
static int parse_size(const char *value, size_t *out)
{
	static const struct {
		const char *unit;
		unsigned long long mult;
	} units[] = {
	    {"", 1},
	    {"b", 1},
	    {"k", 1024},
	    {"kb", 1024},
	    {"kib", 1024},
	    {"m", 1024 * 1024},
	    {"mb", 1024 * 1024},
	    {"mib", 1024 * 1024},
	    {"g", 1024ULL << 20},
	    {"gb", 1024ULL << 20},
	    {"gib", 1024ULL << 20},
	};
	unsigned long long n;
	const char *p = value;
	char *end;
	size_t i;

	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	n = strtoull(p, &end, 10);
	if (errno || n == 0)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit) != 0)
			continue;
		if (n > (unsigned long long)SIZE_MAX / units[i].mult)
			return -1;
		*out = (size_t)(n * units[i].mult);
		return 0;
	}
	return -1;
}

static int valid_envname(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

static int valid_ident(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* nmig_config_set: see config.h. file NULL: the value came from an option
 * and relative paths stay relative to the current directory. */
int nmig_config_set(struct nmig_config *cfg, const char *key, const char *value,
		    const char *file, int line)
{
	const struct key_def *def;
	const char *suggest = NULL;
	char hintbuf[128];
	size_t i, best = SIZE_MAX;
	char *path;
	int ms;

	if (holds_password(key, value) && !file)
		return config_error(NULL, 0, password_hint,
				    "'%s' must not hold a password", key);
	if (holds_password(key, value))
		return config_error(file, line, password_hint,
				    "the config file must not hold a password");
	def = find_key(key);
	if (!def && (strcasecmp(key, "url") == 0 ||
		     strcasecmp(key, "database_url") == 0 ||
		     strcasecmp(key, "dsn") == 0 || looks_like_url(value)))
		return config_error(file, line, password_hint,
				    "the config file must not hold the "
				    "database URL");
	if (!def) {
		for (i = 0; i < NKEYS; i++) {
			size_t d = distance(key, keys[i].name);

			if (d < best) {
				best = d;
				suggest = keys[i].name;
			}
		}
		if (suggest && best <= 2) {
			snprintf(hintbuf, sizeof(hintbuf), "did you mean '%s'?",
				 suggest);
			config_error(file, line, hintbuf, "unknown key '%s'",
				     key);
		} else {
			config_error(file, line, NULL, "unknown key '%s'", key);
		}
		nmig_error_detail("known keys: %s", known_keys);
		return NMIG_ECONFIG;
	}
	switch (def->kind) {
	case KEY_PATH:
		if (!*value)
			return config_error(file, line, NULL,
					    "'%s' needs a path", key);
		if (strcmp(key, "cache") == 0 &&
		    (strcmp(value, "off") == 0 || strcmp(value, "on") == 0)) {
			cfg->cache_off = value[1] == 'f';
			free(cfg->cache);
			cfg->cache = NULL;
			return NMIG_OK;
		}
		path = file ? join_root(cfg->root, value) : strdup(value);
		if (!path)
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		if (strcmp(key, "dir") == 0) {
			free(cfg->dir);
			cfg->dir = path;
		} else if (strcmp(key, "templates") == 0) {
			free(cfg->templates);
			cfg->templates = path;
		} else if (strcmp(key, "schema_file") == 0) {
			free(cfg->schema_file);
			cfg->schema_file = path;
		} else {
			free(cfg->cache);
			cfg->cache = path;
			cfg->cache_off = 0;
		}
		return NMIG_OK;
	case KEY_ENVNAME:
		if (!valid_envname(value))
			return config_error(
			    file, line,
			    "e.g. url_env = DATABASE_URL; the variable "
			    "itself is set in the environment or in .env",
			    "'%s' must name an environment variable "
			    "(letters, digits, '_')",
			    key);
		return set_str(&cfg->url_env, value);
	case KEY_IDENT:
		if (!valid_ident(value))
			return config_error(file, line, NULL,
					    "'%s' must be a name of 1 to 63 "
					    "characters",
					    key);
		return set_str(strcmp(key, "schema") == 0 ? &cfg->schema
							  : &cfg->table,
			       value);
	case KEY_DURATION:
		if (parse_duration(value, &ms))
			return config_error(file, line,
					    "write a duration such as 500ms, "
					    "5s or 2min (a plain number is "
					    "milliseconds)",
					    "invalid duration '%s' for '%s'",
					    value, key);
		if (strcmp(key, "lock_timeout") == 0)
			cfg->lock_timeout_ms = ms;
		else if (strcmp(key, "statement_timeout") == 0)
			cfg->statement_timeout_ms = ms;
		else if (strcmp(key, "lock_wait") == 0)
			cfg->lock_wait_ms = ms;
		else if (strcmp(key, "doctor_healthy_ms") == 0)
			cfg->doctor_healthy_ms = ms;
		else if (strcmp(key, "doctor_degraded_ms") == 0)
			cfg->doctor_degraded_ms = ms;
		else
			cfg->connect_timeout_ms = ms;
		return NMIG_OK;
	case KEY_COUNT: {
		char *end;
		long n;

		errno = 0;
		n = isdigit((unsigned char)*value) ? strtol(value, &end, 10)
						   : -1;
		if (n < 0 || errno || *end || n > 1000)
			return config_error(file, line, NULL,
					    "invalid count '%s' for '%s' "
					    "(0 to 1000)",
					    value, key);
		cfg->lock_retries = (int)n;
		return NMIG_OK;
	}
	case KEY_SIZE:
		if (parse_size(value, &cfg->max_file_size))
			return config_error(file, line,
					    "write a size such as 64MiB, 512kB "
					    "or a number of bytes",
					    "invalid size '%s' for '%s'", value,
					    key);
		return NMIG_OK;
	}
	return config_error(file, line, NULL, "unknown key '%s'", key);
}

/* Fill cfg with the defaults for a project rooted at root. */
static int config_defaults(struct nmig_config *cfg, const char *root)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->root = strdup(root);
	cfg->dir = join_root(root, "migrations");
	cfg->url_env = strdup("DATABASE_URL");
	cfg->schema = strdup("public");
	cfg->table = strdup("schema_version");
	cfg->lock_timeout_ms = 5000;
	cfg->statement_timeout_ms = 0;
	cfg->lock_retries = 3;
	cfg->lock_wait_ms = 60000;
	cfg->connect_timeout_ms = 15000;
	cfg->max_file_size = (size_t)64 << 20;
	cfg->doctor_healthy_ms = 100;
	cfg->doctor_degraded_ms = 500;
	if (!cfg->root || !cfg->dir || !cfg->url_env || !cfg->schema ||
	    !cfg->table)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	return NMIG_OK;
}

/* The directory part of path: "." when it has none. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/*
 * Split value text: a quoted value ("..." or '...') is taken literally;
 * otherwise a `#` after whitespace starts a comment. Returns NULL for an
 * unterminated quote or text after the closing quote.
 */
static char *parse_value(char *v)
{
	char *p;

	v = trim(v);
	if (*v == '"' || *v == '\'') {
		char *close = strchr(v + 1, *v);
		char *rest;

		if (!close)
			return NULL;
		*close = '\0';
		rest = trim(close + 1);
		if (*rest && *rest != '#')
			return NULL;
		return v + 1;
	}
	for (p = v; *p; p++)
		if (*p == '#' && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	return trim(v);
}

/* Apply the text of one config file, line by line. */
static int config_parse(struct nmig_config *cfg, const char *file, char *text,
			size_t len)
{
	int seen[NKEYS] = {0};
	char *line = text, *next;
	int lineno = 0, rc;

	if (memchr(text, '\0', len))
		return config_error(file, 0, NULL,
				    "the config file holds a NUL byte; is it "
				    "a text file?");
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	for (; line; line = next) {
		char *eq, *key, *value;
		const struct key_def *def;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line = trim(line);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		eq = strchr(line, '=');
		if (!eq)
			return config_error(file, lineno,
					    "each setting is one line: "
					    "key = value",
					    "expected 'key = value'");
		*eq = '\0';
		key = trim(line);
		if (*key == '\0')
			return config_error(file, lineno, NULL,
					    "missing key before '='");
		value = parse_value(eq + 1);
		if (!value) {
			if (holds_password(key, eq + 1))
				return config_error(
				    file, lineno, password_hint,
				    "the config file must not hold a "
				    "password");
			return config_error(file, lineno, NULL,
					    "bad quoting in the value of '%s'",
					    key);
		}
		/* lint.<rule> lines belong to the lint module (lint.h), which
		 * reads them itself; rule names may contain "password" */
		if (strncmp(key, "lint.", 5) == 0 && key[5]) {
			if (holds_password("", value))
				return config_error(
				    file, lineno, password_hint,
				    "the config file must not hold a "
				    "password");
			continue;
		}
		def = find_key(key);
		if (def && seen[def - keys] && !holds_password(key, value))
			return config_error(file, lineno,
					    "keep one line per key",
					    "'%s' is already set on line %d",
					    key, seen[def - keys]);
		rc = nmig_config_set(cfg, key, value, file, lineno);
		if (rc)
			return rc;
		if (def)
			seen[def - keys] = lineno;
	}
	return NMIG_OK;
}

/* nmig_config_load: see config.h. On failure *out is left released. */
int nmig_config_load(struct nmig_config *out, const char *path)
{
	struct nmig_buf text = NMIG_BUF_INIT;
	struct stat st;
	char *root = NULL;
	int rc;

	if (!path && stat(NMIG_CONFIG_FILE, &st) == 0)
		path = NMIG_CONFIG_FILE;
	if (path && stat(path, &st) != 0) {
		memset(out, 0, sizeof(*out));
		rc = config_error(NULL, 0,
				  "create one with 'nmig init', or drop "
				  "--config to use the defaults",
				  "cannot read config file '%s': %s", path,
				  strerror(errno));
		goto cleanup;
	}
	root = path ? dir_of(path) : strdup(".");
	if (!root) {
		memset(out, 0, sizeof(*out));
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = config_defaults(out, root);
	if (rc || !path)
		goto cleanup;
	out->path = strdup(path);
	if (!out->path) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = config_error(NULL, 0, NULL,
				  "config file '%s' is a directory", path);
		goto cleanup;
	}
	rc = nmig_buf_read_file(&text, path, CONFIG_MAX_SIZE);
	if (rc) {
		rc = config_error(NULL, 0, NULL, "%s",
				  nmig_error_last()->message);
		goto cleanup;
	}
	if (nmig_buf_oom(&text)) {
		rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = config_parse(out, path, text.ptr, text.len);
cleanup:
	if (rc)
		nmig_config_release(out);
	free(root);
	nmig_buf_release(&text);
	return rc;
}

/* Free every string of cfg and zero it; safe on a zeroed or released cfg. */
void nmig_config_release(struct nmig_config *cfg)
{
	free(cfg->path);
	free(cfg->root);
	free(cfg->dir);
	free(cfg->url_env);
	free(cfg->schema);
	free(cfg->table);
	free(cfg->templates);
	free(cfg->schema_file);
	free(cfg->cache);
	memset(cfg, 0, sizeof(*cfg));
}
