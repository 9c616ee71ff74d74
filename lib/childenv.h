/*
 * The environment of the processes nmig starts (initdb, postgres and
 * pg_config for `nmig test`, git for lint), built from an allowlist and
 * never by removing names known to be bad: no database URL, no PG*
 * variable, nothing that .env supplied and nothing else of nmig's own
 * environment reaches a child. This matters because a migration under
 * `nmig test` runs as superuser on the scratch cluster and can read the
 * server's /proc/<pid>/environ. A child gets PATH (NMIG_CHILDENV_PATH when
 * there is none), HOME, TMPDIR and TZ when the real environment has them,
 * and LC_ALL=C, so that tools answer in a known locale.
 */
#ifndef NMIG_CHILDENV_H
#define NMIG_CHILDENV_H

#include <stddef.h>

/* PATH of a child when nmig's real environment has none. */
#define NMIG_CHILDENV_PATH "/usr/local/bin:/usr/bin:/bin"

struct nmig_childenv {
	char **envp; /* "NAME=value" strings, NULL-terminated: for execve */
	size_t n;    /* how many (without the NULL) */
};

#define NMIG_CHILDENV_INIT                                                     \
	{                                                                      \
		NULL, 0                                                        \
	}

/*
 * Build env from the environment from ("NAME=value" strings,
 * NULL-terminated; NULL: this process's environ). Only the allowlisted
 * names are taken, the first occurrence of each, and a variable that
 * nmig_env_load set from a .env file is left out (PATH then gets its
 * default). NMIG_ENOMEM when out of memory (env is then empty).
 */
int nmig_childenv_init(struct nmig_childenv *env, char *const *from);

/* 1 when env holds name (exactly "name=..."), else 0. */
int nmig_childenv_has(const struct nmig_childenv *env, const char *name);

/* Free what env holds; it is empty (and reusable) afterwards. */
void nmig_childenv_release(struct nmig_childenv *env);

#endif
