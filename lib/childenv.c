/*
 * The allowlisted environment of nmig's child processes (see childenv.h):
 * a short fixed list of names copied from the real environment, plus
 * LC_ALL=C. Values are copied, so the result stays valid when the
 * environment changes, and it is built before fork, so the child only
 * passes it to execve.
 */
#include "childenv.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "env.h"
#include "error.h"

extern char **environ;

/* The names copied from the real environment when present. */
static const char *const allowed[] = {"PATH", "HOME", "TMPDIR", "TZ"};

#define NALLOWED (sizeof(allowed) / sizeof(allowed[0]))

/* The value of name in from (first occurrence), or NULL. */
static const char *lookup(char *const *from, const char *name)
{
	size_t len = strlen(name);

	for (; from && *from; from++)
		if (strncmp(*from, name, len) == 0 && (*from)[len] == '=')
			return *from + len + 1;
	return NULL;
}

/* Append "name=value" to env (room for it is already there). */
static int add(struct nmig_childenv *env, const char *name, const char *value)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	nmig_buf_printf(&b, "%s=%s", name, value);
	if (nmig_buf_oom(&b)) {
		nmig_buf_release(&b);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	env->envp[env->n++] = nmig_buf_detach(&b, NULL);
	env->envp[env->n] = NULL;
	return NMIG_OK;
}

int nmig_childenv_init(struct nmig_childenv *env, char *const *from)
{
	const char *v;
	size_t i;
	int err = NMIG_OK;

	env->n = 0;
	/* the allowlist, LC_ALL and the NULL */
	env->envp = calloc(NALLOWED + 2, sizeof(*env->envp));
	if (!env->envp)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	if (!from)
		from = environ;
	for (i = 0; i < NALLOWED && !err; i++) {
		v = nmig_env_loaded(allowed[i]) ? NULL
						: lookup(from, allowed[i]);
		if (!v && strcmp(allowed[i], "PATH") == 0)
			v = NMIG_CHILDENV_PATH;
		if (v)
			err = add(env, allowed[i], v);
	}
	if (!err)
		err = add(env, "LC_ALL", "C");
	if (err)
		nmig_childenv_release(env);
	return err;
}

int nmig_childenv_has(const struct nmig_childenv *env, const char *name)
{
	return env->envp && lookup(env->envp, name) != NULL;
}

void nmig_childenv_release(struct nmig_childenv *env)
{
	size_t i;

	for (i = 0; env->envp && i < env->n; i++)
		free(env->envp[i]);
	free(env->envp);
	env->envp = NULL;
	env->n = 0;
}
