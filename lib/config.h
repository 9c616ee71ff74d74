/*
 * The project configuration: `nmig.conf` (INI-like `key = value` lines, `#`
 * comments) found in the current directory or named with --config, plus
 * defaults. The config may name environment variables but never hold a
 * password: a value that carries one is refused.
 *
 * Keys: dir, url_env, schema, table, lock_timeout, statement_timeout,
 * lock_retries, lock_wait, connect_timeout, max_file_size, templates,
 * cache, doctor_healthy_ms, doctor_degraded_ms. Relative paths are
 * relative to the config file's directory.
 * `cache = off` disables the plan cache (`cache = on`: the default path;
 * a file really called off is `./off`).
 * `lint.<rule>` lines are left to the lint module (lint.h), which reads
 * them itself; the loader only makes sure their values hold no password.
 */
#ifndef NMIG_CONFIG_H
#define NMIG_CONFIG_H

#include <stddef.h>

#define NMIG_CONFIG_FILE "nmig.conf"

struct nmig_config {
	char *path;		/* the config file read, NULL when none */
	char *root;		/* directory of the config file, or cwd */
	char *dir;		/* migrations directory (default root/migrations) */
	char *url_env;		/* variable holding the URL (DATABASE_URL) */
	char *schema;		/* schema of the version table (public) */
	char *table;		/* name of the version table (schema_version) */
	char *templates;	/* directory overriding templates, or NULL */
	char *schema_file;	/* the declared schema (.sql, .md or a
				 * directory of .sql files), or NULL */
	char *cache;		/* plan cache file, or NULL for the default */
	int cache_off;		/* 1 with `cache = off`: no plan cache */
	int lock_timeout_ms;	/* SET LOCAL lock_timeout (default 5000) */
	int statement_timeout_ms;	/* SET LOCAL statement_timeout (0: none) */
	int lock_retries;	/* retries of a migration after a lock timeout (3) */
	int lock_wait_ms;	/* how long to poll for the advisory lock (60000) */
	int connect_timeout_ms;	/* how long to retry connecting (15000) */
	size_t max_file_size;	/* cap on one migration file */
	int doctor_healthy_ms;	/* doctor: latency healthy below (100) */
	int doctor_degraded_ms;	/* doctor: latency degraded below (500) */
};

/*
 * Load the config. path NULL: look for nmig.conf in the current directory
 * (absent = defaults). An explicit path that does not exist is an error.
 * Values are validated (numbers, known keys; unknown keys are NMIG_ECONFIG
 * naming file:line and listing the known ones). A value holding a password
 * (e.g. a URL with user:password@) is NMIG_ECONFIG that never echoes it.
 */
int nmig_config_load(struct nmig_config *out, const char *path);
void nmig_config_release(struct nmig_config *cfg);

/* Apply one `key = value` setting (used by the loader and by options). */
int nmig_config_set(struct nmig_config *cfg, const char *key,
		    const char *value, const char *file, int line);

/*
 * The key of the NULL-terminated list known closest to word (case-
 * insensitive edit distance at most 2), for a "did you mean" hint on an
 * unknown key; NULL when none is that close.
 */
const char *nmig_key_suggest(const char *word, const char *const *known);

#endif
