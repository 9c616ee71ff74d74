/*
 * The rules of dsn.h: the URL variable after .env, then libpq's own.
 */
#include "dsn.h"

#include <stdlib.h>

#include "buf.h"
#include "env.h"
#include "error.h"

const char *nmig_dsn_var(const char *url_env)
{
	return url_env && *url_env ? url_env : NMIG_DSN_DEFAULT_VAR;
}

int nmig_dsn_libpq_env_set(void)
{
	static const char *const vars[] = {
	    "PGHOST",	  "PGHOSTADDR", "PGPORT",
	    "PGDATABASE", "PGUSER",	"PGSERVICE",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return 1;
	}
	return 0;
}

int nmig_dsn_find(const char *root, const char *url_env, const char **url)
{
	struct nmig_buf path = NMIG_BUF_INIT;
	int err;

	*url = NULL;
	nmig_buf_printf(&path, "%s/%s", root ? root : ".", NMIG_ENV_FILE);
	err = nmig_buf_oom(&path) ? nmig_error_set(NMIG_ENOMEM, "out of memory")
				  : nmig_env_load(path.ptr, NULL);
	nmig_buf_release(&path);
	if (err)
		return err;
	*url = getenv(nmig_dsn_var(url_env));
	if (*url && !**url)
		*url = NULL;
	return NMIG_OK;
}

int nmig_dsn_require(const char *root, const char *url_env, const char **url)
{
	const char *var = nmig_dsn_var(url_env);
	int err = nmig_dsn_find(root, url_env, url);

	if (err || *url)
		return err;
	if (nmig_dsn_libpq_env_set()) {
		*url = "";
		return NMIG_OK;
	}
	nmig_error_set(NMIG_ECONNECT, "no database URL: '%s' is not set", var);
	nmig_error_hint("export %s=postgres://USER@HOST/DBNAME?sslmode=require "
			"(or put it in .env), or set libpq's PGHOST / "
			"PGDATABASE / PGSERVICE",
			var);
	return NMIG_ECONNECT;
}
