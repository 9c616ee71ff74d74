/*
 * Finding the database a command works on, as every command (and `nmig
 * test`, and a library user) finds it: the URL variable (DATABASE_URL, or
 * the name a project configures), read after the project's `.env` file
 * (which never overrides what is set), else libpq's own PG* variables and
 * service file (an empty URL). The URL stays in the environment: nothing
 * here copies or prints it.
 */
#ifndef NMIG_DSN_H
#define NMIG_DSN_H

#define NMIG_DSN_DEFAULT_VAR "DATABASE_URL"

/* The URL variable's name: url_env when set and not empty, else the default. */
const char *nmig_dsn_var(const char *url_env);

/* 1 when one of libpq's connection variables (PGHOST, ...) is set. */
int nmig_dsn_libpq_env_set(void);

/*
 * Read root's .env (root NULL = ".") into the environment, never
 * overriding, and point *url at the URL variable's value: NULL when it is
 * unset or empty. Returns NMIG_OK, or NMIG_ECONFIG for a malformed .env.
 */
int nmig_dsn_find(const char *root, const char *url_env, const char **url);

/*
 * nmig_dsn_find, then: with no URL, "" when libpq's variables name a
 * server, else NMIG_ECONNECT "no database URL" with a hint naming the
 * variable.
 */
int nmig_dsn_require(const char *root, const char *url_env, const char **url);

#endif
