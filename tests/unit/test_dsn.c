/*
 * Unit tests of dsn.h: the URL variable's name, .env read before it
 * (never overriding), libpq's variables as the fallback, and the error
 * naming the variable when there is nothing.
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

#include "dsn.h"
#include "error.h"

static char dir[64];

static int setup(void **state)
{
	static const char *const vars[] = {
	    "DATABASE_URL", "APP_DB",	  "PGHOST", "PGHOSTADDR",
	    "PGPORT",	    "PGDATABASE", "PGUSER", "PGSERVICE"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	snprintf(dir, sizeof(dir), "/tmp/nmig-test-dsn-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/.env", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void write_env(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/.env", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_var(void **state)
{
	(void)state;
	assert_string_equal(nmig_dsn_var(NULL), "DATABASE_URL");
	assert_string_equal(nmig_dsn_var(""), "DATABASE_URL");
	assert_string_equal(nmig_dsn_var("APP_DB"), "APP_DB");
}

static void test_env_file_never_overrides(void **state)
{
	const char *url;

	(void)state;
	write_env("APP_DB=postgres://app@db.example.com/from_env_file\n");
	assert_int_equal(nmig_dsn_find(dir, "APP_DB", &url), NMIG_OK);
	assert_string_equal(url, "postgres://app@db.example.com/from_env_file");
	setenv("DATABASE_URL", "postgres://app@set/in_env", 1);
	write_env("DATABASE_URL=postgres://app@db/ignored\n");
	assert_int_equal(nmig_dsn_find(dir, NULL, &url), NMIG_OK);
	assert_string_equal(url, "postgres://app@set/in_env");
}

static void test_empty_is_unset(void **state)
{
	const char *url = "x";

	(void)state;
	setenv("DATABASE_URL", "", 1);
	assert_int_equal(nmig_dsn_find(dir, NULL, &url), NMIG_OK);
	assert_null(url);
}

static void test_require(void **state)
{
	const char *url;

	(void)state;
	assert_int_equal(nmig_dsn_require(dir, "APP_DB", &url), NMIG_ECONNECT);
	assert_non_null(strstr(nmig_error_last()->message, "'APP_DB'"));
	assert_non_null(strstr(nmig_error_last()->hint, "export APP_DB="));
	setenv("PGHOST", "/var/run/postgresql", 1);
	assert_int_equal(nmig_dsn_libpq_env_set(), 1);
	assert_int_equal(nmig_dsn_require(dir, "APP_DB", &url), NMIG_OK);
	assert_string_equal(url, "");
}

static void test_malformed_env(void **state)
{
	const char *url;

	(void)state;
	write_env("THIS IS NOT AN ASSIGNMENT\n");
	assert_int_equal(nmig_dsn_find(dir, NULL, &url), NMIG_ECONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_var, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env_file_never_overrides,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_is_unset, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_require, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_env, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
