/*
 * Unit tests of the environment of nmig's child processes
 * (lib/childenv.c): from a given environment only PATH, HOME, TMPDIR and
 * TZ pass, plus LC_ALL=C; URLs, PG* variables, locale variables and
 * everything else stay behind; PATH gets a default; the first occurrence
 * of a name wins; and a variable that .env supplied is left out even when
 * its name is allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "childenv.h"
#include "env.h"
#include "error.h"

/* envp joined with ';' (one test's expectation in one string). */
static void joined(const struct nmig_childenv *env, struct nmig_buf *out)
{
	size_t i;

	nmig_buf_clear(out);
	for (i = 0; i < env->n; i++)
		nmig_buf_printf(out, "%s;", env->envp[i]);
	assert_false(nmig_buf_oom(out));
	assert_null(env->envp[env->n]);
}

struct fixture {
	struct nmig_childenv env;
	struct nmig_buf text;
	char dir[64];
	char *saved_path;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	nmig_buf_init(&f->text);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[96];

	nmig_childenv_release(&f->env);
	nmig_buf_release(&f->text);
	if (f->dir[0]) {
		snprintf(path, sizeof(path), "%s/.env", f->dir);
		unlink(path);
		rmdir(f->dir);
	}
	if (f->saved_path) {
		setenv("PATH", f->saved_path, 1);
		free(f->saved_path);
	}
	unsetenv("NMIG_TEST_SECRET");
	free(f);
	return 0;
}

static void test_allowlist(void **state)
{
	struct fixture *f = *state;
	char *from[] = {"DATABASE_URL=postgres://u:canaryPW@h/db",
			"APP_DEPLOY_URL=postgres://u:canaryPW@h/db",
			"PGPASSWORD=canaryPW",
			"PGHOST=/tmp",
			"PGSERVICEFILE=/x",
			"HOME=/home/u",
			"LANG=de_DE.UTF-8",
			"LC_CTYPE=de_DE.UTF-8",
			"LC_ALL=de_DE.UTF-8",
			"TZ=Europe/Berlin",
			"PATH=/opt/pg/bin:/usr/bin",
			"LD_PRELOAD=/evil.so",
			"TMPDIR=/var/tmp",
			"SECRET_TOKEN=canaryPW",
			NULL};

	assert_int_equal(nmig_childenv_init(&f->env, from), NMIG_OK);
	joined(&f->env, &f->text);
	assert_string_equal(f->text.ptr, "PATH=/opt/pg/bin:/usr/bin;"
					 "HOME=/home/u;TMPDIR=/var/tmp;"
					 "TZ=Europe/Berlin;LC_ALL=C;");
	assert_int_equal(nmig_childenv_has(&f->env, "PATH"), 1);
	assert_int_equal(nmig_childenv_has(&f->env, "DATABASE_URL"), 0);
	assert_int_equal(nmig_childenv_has(&f->env, "PGPASSWORD"), 0);
	assert_null(strstr(f->text.ptr, "canaryPW"));
}

static void test_defaults_and_first_wins(void **state)
{
	struct fixture *f = *state;
	char *empty[] = {NULL};
	char *odd[] = {"PATHX=/no",    "PATH",	    "HOME=/first",
		       "HOME=/second", "TZ=",	    "PATH=/yes",
		       "PATH=/later",  "=nameless", NULL};

	assert_int_equal(nmig_childenv_init(&f->env, empty), NMIG_OK);
	joined(&f->env, &f->text);
	assert_string_equal(f->text.ptr,
			    "PATH=" NMIG_CHILDENV_PATH ";LC_ALL=C;");
	nmig_childenv_release(&f->env);
	assert_null(f->env.envp);
	assert_int_equal(f->env.n, 0);

	assert_int_equal(nmig_childenv_init(&f->env, odd), NMIG_OK);
	joined(&f->env, &f->text);
	assert_string_equal(f->text.ptr, "PATH=/yes;HOME=/first;TZ=;LC_ALL=C;");
}

static void test_process_environment(void **state)
{
	struct fixture *f = *state;
	struct nmig_buf want = NMIG_BUF_INIT;

	setenv("NMIG_TEST_SECRET", "canaryPW", 1);
	assert_int_equal(nmig_childenv_init(&f->env, NULL), NMIG_OK);
	assert_int_equal(nmig_childenv_has(&f->env, "NMIG_TEST_SECRET"), 0);
	nmig_buf_printf(&want, "PATH=%s",
			getenv("PATH") ? getenv("PATH") : NMIG_CHILDENV_PATH);
	assert_false(nmig_buf_oom(&want));
	assert_string_equal(f->env.envp[0], want.ptr);
	nmig_buf_release(&want);
	assert_string_equal(f->env.envp[f->env.n - 1], "LC_ALL=C");
}

static void test_dotenv_values_stay_behind(void **state)
{
	struct fixture *f = *state;
	char path[96];
	FILE *fp;
	const char *p = getenv("PATH");

	strcpy(f->dir, "/tmp/nmig-test-childenv.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/.env", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("PATH=/dotenv/bin\nTZ=canaryPW\nNMIG_TEST_SECRET=canaryPW\n", fp);
	fclose(fp);
	/* PATH and TZ unset, so that .env sets them */
	if (p) {
		f->saved_path = strdup(p);
		assert_non_null(f->saved_path);
	}
	unsetenv("PATH");
	unsetenv("TZ");
	unsetenv("NMIG_TEST_SECRET");
	assert_int_equal(nmig_env_load(path, NULL), NMIG_OK);
	assert_string_equal(getenv("TZ"), "canaryPW");
	assert_int_equal(nmig_env_loaded("TZ"), 1);
	assert_int_equal(nmig_env_loaded("PATH"), 1);
	assert_int_equal(nmig_env_loaded("HOME"), 0);

	assert_int_equal(nmig_childenv_init(&f->env, NULL), NMIG_OK);
	joined(&f->env, &f->text);
	assert_null(strstr(f->text.ptr, "canaryPW"));
	assert_null(strstr(f->text.ptr, "/dotenv/bin"));
	assert_string_equal(f->env.envp[0], "PATH=" NMIG_CHILDENV_PATH);
	assert_int_equal(nmig_childenv_has(&f->env, "TZ"), 0);
	unsetenv("TZ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_allowlist, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_defaults_and_first_wins, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_process_environment, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dotenv_values_stay_behind,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
