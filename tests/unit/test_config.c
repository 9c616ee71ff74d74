/*
 * Unit tests of the project configuration (lib/config.c): defaults, every
 * key and value form (durations, sizes, paths relative to the config
 * file, quotes and comments, CRLF and a BOM), and every refusal with its
 * message -- unknown keys with a suggestion, duplicates, malformed lines,
 * and above all a password or database URL, refused without ever echoing
 * the secret. Each test runs in its own scratch directory (the config is
 * looked for in the current directory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "error.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ctx {
	char dir[256];
	int oldcwd;
	struct nmig_config cfg;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("TMPDIR");

	if (!c)
		return -1;
	snprintf(c->dir, sizeof(c->dir), "%s/nmig-config-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	c->oldcwd = open(".", O_RDONLY | O_DIRECTORY);
	if (c->oldcwd < 0 || !mkdtemp(c->dir) || chdir(c->dir) != 0) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	static const char *const files[] = {"nmig.conf", "sub/x.conf",
					    "other.conf", NULL};
	int i;

	nmig_config_release(&c->cfg);
	for (i = 0; files[i]; i++)
		unlink(files[i]);
	rmdir("sub");
	if (fchdir(c->oldcwd) != 0)
		return -1;
	close(c->oldcwd);
	rmdir(c->dir);
	free(c);
	nmig_error_clear();
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* Load text as ./nmig.conf and expect failure with code. */
static void expect_refused(struct ctx *c, const char *text, int code)
{
	write_file("nmig.conf", text);
	assert_int_equal(nmig_config_load(&c->cfg, NULL), code);
	assert_int_equal(nmig_error_last()->code, code);
	/* a failed load leaves nothing to release */
	assert_null(c->cfg.dir);
	assert_null(c->cfg.root);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("expected '%s' in '%s'", needle, haystack);
}

static void assert_lacks(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		fail_msg("did not expect '%s' in '%s'", needle, haystack);
}

/* Neither message, detail nor hint of the last error holds s. */
static void assert_not_echoed(const char *s)
{
	const struct nmig_error *e = nmig_error_last();

	assert_lacks(e->message, s);
	assert_lacks(e->detail, s);
	assert_lacks(e->hint, s);
	assert_lacks(e->source, s);
}

static void test_defaults_without_file(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_null(c->cfg.path);
	assert_string_equal(c->cfg.root, ".");
	assert_string_equal(c->cfg.dir, "migrations");
	assert_string_equal(c->cfg.url_env, "DATABASE_URL");
	assert_string_equal(c->cfg.schema, "public");
	assert_string_equal(c->cfg.table, "schema_version");
	assert_null(c->cfg.templates);
	assert_null(c->cfg.cache);
	assert_int_equal(c->cfg.lock_timeout_ms, 5000);
	assert_int_equal(c->cfg.statement_timeout_ms, 0);
	assert_int_equal(c->cfg.lock_retries, 3);
	assert_int_equal(c->cfg.lock_wait_ms, 60000);
	assert_int_equal(c->cfg.connect_timeout_ms, 15000);
	assert_int_equal(c->cfg.max_file_size, (size_t)64 << 20);
}

static void test_missing_explicit_path(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_config_load(&c->cfg, "nope.conf"), NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "'nope.conf'");
	assert_null(c->cfg.dir);
	/* releasing after a failed load is harmless */
	nmig_config_release(&c->cfg);
}

static void test_every_key(void **state)
{
	struct ctx *c = *state;

	write_file("nmig.conf", "# comment\n"
				"; also a comment\n"
				"\n"
				"dir = db/migrations\n"
				"url_env = APP_DB_URL\n"
				"schema = ops\n"
				"table = \"versions\"\n"
				"lock_timeout = 500ms\n"
				"statement_timeout = 2min   # inline comment\n"
				"lock_retries = 0\n"
				"lock_wait = 5s\n"
				"connect_timeout = 1h\n"
				"max_file_size = 1MiB\n"
				"templates = tpl\n"
				"cache = '/var/cache/nmig #1.db'\n");
	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_string_equal(c->cfg.path, "nmig.conf");
	assert_string_equal(c->cfg.dir, "db/migrations");
	assert_string_equal(c->cfg.url_env, "APP_DB_URL");
	assert_string_equal(c->cfg.schema, "ops");
	assert_string_equal(c->cfg.table, "versions");
	assert_int_equal(c->cfg.lock_timeout_ms, 500);
	assert_int_equal(c->cfg.statement_timeout_ms, 120000);
	assert_int_equal(c->cfg.lock_retries, 0);
	assert_int_equal(c->cfg.lock_wait_ms, 5000);
	assert_int_equal(c->cfg.connect_timeout_ms, 3600000);
	assert_int_equal(c->cfg.max_file_size, (size_t)1 << 20);
	assert_string_equal(c->cfg.templates, "tpl");
	assert_string_equal(c->cfg.cache, "/var/cache/nmig #1.db");
}

static void test_paths_relative_to_config(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(mkdir("sub", 0777), 0);
	write_file("sub/x.conf", "templates = tpl\ncache = /abs/c.db\n");
	assert_int_equal(nmig_config_load(&c->cfg, "sub/x.conf"), NMIG_OK);
	assert_string_equal(c->cfg.root, "sub");
	assert_string_equal(c->cfg.dir, "sub/migrations");
	assert_string_equal(c->cfg.templates, "sub/tpl");
	assert_string_equal(c->cfg.cache, "/abs/c.db");
	/* a value from the command line stays relative to the cwd */
	assert_int_equal(nmig_config_set(&c->cfg, "dir", "here", NULL, 0),
			 NMIG_OK);
	assert_string_equal(c->cfg.dir, "here");
}

static void test_durations(void **state)
{
	struct ctx *c = *state;
	static const struct {
		const char *text;
		int ms;
	} good[] = {
	    {"0", 0},	   {"250", 250},     {"500ms", 500},  {"5s", 5000},
	    {"5 s", 5000}, {"2min", 120000}, {"1h", 3600000}, {"0s", 0},
	};
	static const char *const bad[] = {
	    "", "5x", "-1", "5 m", "s", "1.5s", "99999999999", "600h",
	};
	size_t i;

	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(nmig_config_set(&c->cfg, "lock_timeout",
						 good[i].text, NULL, 0),
				 NMIG_OK);
		assert_int_equal(c->cfg.lock_timeout_ms, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(nmig_config_set(&c->cfg, "lock_wait", bad[i],
						 "nmig.conf", 7),
				 NMIG_ECONFIG);
		assert_contains(nmig_error_last()->message, "nmig.conf:7: ");
		assert_contains(nmig_error_last()->message, "'lock_wait'");
		assert_contains(nmig_error_last()->hint, "500ms");
	}
	assert_int_equal(c->cfg.lock_wait_ms, 60000);
}

static void test_sizes_and_counts(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "max_file_size", "512kB", NULL, 0), 0);
	assert_int_equal(c->cfg.max_file_size, 512 * 1024);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "max_file_size", "2 GiB", NULL, 0), 0);
	assert_int_equal(c->cfg.max_file_size, (size_t)2 << 30);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "max_file_size", "100", NULL, 0), 0);
	assert_int_equal(c->cfg.max_file_size, 100);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "max_file_size", "0", NULL, 0),
	    NMIG_ECONFIG);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "max_file_size", "12 parsecs", NULL, 0),
	    NMIG_ECONFIG);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "lock_retries", "10", NULL, 0), 0);
	assert_int_equal(c->cfg.lock_retries, 10);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "lock_retries", "-1", NULL, 0),
	    NMIG_ECONFIG);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "lock_retries", "3x", NULL, 0),
	    NMIG_ECONFIG);
	assert_int_equal(c->cfg.lock_retries, 10);
}

static void test_names_validated(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_int_equal(nmig_config_set(&c->cfg, "url_env", "1BAD", NULL, 0),
			 NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "environment variable");
	assert_int_equal(nmig_config_set(&c->cfg, "url_env", "MY URL", NULL, 0),
			 NMIG_ECONFIG);
	assert_int_equal(nmig_config_set(&c->cfg, "schema", "", NULL, 0),
			 NMIG_ECONFIG);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "table",
			    "a_name_that_is_far_too_long_for_postgresql_"
			    "which_stops_at_63_bytes",
			    NULL, 0),
	    NMIG_ECONFIG);
	assert_int_equal(nmig_config_set(&c->cfg, "dir", "", NULL, 0),
			 NMIG_ECONFIG);
	assert_string_equal(c->cfg.url_env, "DATABASE_URL");
}

static void test_lint_keys_left_to_lint(void **state)
{
	struct ctx *c = *state;

	write_file("nmig.conf", "lint.prefer-text = off\n"
				"lint.role-password = error\n"
				"schema = s\n");
	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_string_equal(c->cfg.schema, "s");
	nmig_config_release(&c->cfg);
	expect_refused(c, "lint.prefer-text = postgres://u:hunter2secret@h/d\n",
		       NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "must not hold a password");
	assert_not_echoed("hunter2secret");
	expect_refused(c, "lint. = off\n", NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "unknown key 'lint.'");
}

static void test_crlf_and_bom(void **state)
{
	struct ctx *c = *state;

	write_file("nmig.conf", "\xef\xbb\xbfschema = s1\r\ntable = t1\r\n");
	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_string_equal(c->cfg.schema, "s1");
	assert_string_equal(c->cfg.table, "t1");
}

static void test_unknown_key_suggests(void **state)
{
	struct ctx *c = *state;

	expect_refused(c, "dir = m\n\nlock_timout = 5s\n", NMIG_ECONFIG);
	assert_string_equal(nmig_error_last()->message,
			    "nmig.conf:3: unknown key 'lock_timout'");
	assert_string_equal(nmig_error_last()->hint,
			    "did you mean 'lock_timeout'?");
	assert_contains(nmig_error_last()->detail, "known keys: dir, url_env");

	expect_refused(c, "frobnicate = 1\n", NMIG_ECONFIG);
	assert_string_equal(nmig_error_last()->message,
			    "nmig.conf:1: unknown key 'frobnicate'");
	assert_string_equal(nmig_error_last()->hint, "");
}

static void test_malformed_lines(void **state)
{
	struct ctx *c = *state;

	expect_refused(c, "schema = a\njust some words\n", NMIG_ECONFIG);
	assert_string_equal(nmig_error_last()->message,
			    "nmig.conf:2: expected 'key = value'");
	expect_refused(c, " = value\n", NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "nmig.conf:1: missing key");
	expect_refused(c, "schema = \"open\n", NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "bad quoting");
	expect_refused(c, "schema = \"a\" b\n", NMIG_ECONFIG);
	expect_refused(c, "schema = a\ntable = b\nschema = c\n", NMIG_ECONFIG);
	assert_string_equal(nmig_error_last()->message,
			    "nmig.conf:3: 'schema' is already set on line 1");
}

static void test_nul_byte(void **state)
{
	struct ctx *c = *state;
	FILE *f = fopen("nmig.conf", "w");

	assert_non_null(f);
	assert_int_equal(fwrite("dir = a\0b\n", 1, 10, f), 10);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "NUL");
}

static void test_password_key_refused(void **state)
{
	struct ctx *c = *state;

	expect_refused(c, "dir = m\nurl_env = X\npassword = hunter2secret\n",
		       NMIG_ECONFIG);
	assert_string_equal(nmig_error_last()->message,
			    "nmig.conf:3: the config file must not hold a "
			    "password");
	assert_string_equal(nmig_error_last()->hint,
			    "put the URL in the environment (DATABASE_URL) "
			    "or in .env, and set url_env if it has another "
			    "name");
	assert_not_echoed("hunter2secret");

	expect_refused(c, "db_password = 'hunter2secret'\n", NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "must not hold a password");
	assert_not_echoed("hunter2secret");

	/* a duplicate password line is still a password, not a duplicate */
	expect_refused(c, "PASSWORD=x\n", NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "must not hold a password");
}

static void test_url_with_password_refused(void **state)
{
	struct ctx *c = *state;
	static const char *const lines[] = {
	    "url = postgres://app:hunter2secret@db.example.com/app\n",
	    "database_url = postgresql://app:hunter2secret@h:5432/d?x=1\n",
	    "schema = postgres://u:hunter2secret@h/d\n",
	    "dsn = host=h user=u password=hunter2secret\n",
	    "url = postgres://h/d?sslmode=require&password=hunter2secret\n",
	    "url = \"postgres://app:hunter2secret@h/d\n",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		expect_refused(c, lines[i], NMIG_ECONFIG);
		assert_string_equal(nmig_error_last()->message,
				    "nmig.conf:1: the config file must not "
				    "hold a password");
		assert_not_echoed("hunter2secret");
	}
}

static void test_option_with_password_refused(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_int_equal(nmig_config_set(&c->cfg, "dir",
					 "postgres://u:hunter2secret@h/d", NULL,
					 0),
			 NMIG_ECONFIG);
	assert_string_equal(nmig_error_last()->message,
			    "'dir' must not hold a password");
	assert_not_echoed("hunter2secret");
	assert_string_equal(c->cfg.dir, "migrations");
}

static void test_url_without_password_refused(void **state)
{
	struct ctx *c = *state;

	expect_refused(c, "url = postgres://app@db.example.com:5432/app\n",
		       NMIG_ECONFIG);
	assert_string_equal(nmig_error_last()->message,
			    "nmig.conf:1: the config file must not hold the "
			    "database URL");
	assert_contains(nmig_error_last()->hint, "url_env");
	assert_not_echoed("db.example.com");
	/* a URL-looking value under an unknown key is not echoed either */
	expect_refused(c, "target = postgres://db.example.com/app\n",
		       NMIG_ECONFIG);
	assert_not_echoed("db.example.com");
}

static void test_release_twice(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	nmig_config_release(&c->cfg);
	nmig_config_release(&c->cfg);
	assert_null(c->cfg.dir);
}

static void test_config_is_directory(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(mkdir("sub", 0777), 0);
	assert_int_equal(nmig_config_load(&c->cfg, "sub"), NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "is a directory");
}

/* doctor's latency thresholds: defaults, durations, refusals, duplicates. */
static void test_doctor_thresholds(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_int_equal(c->cfg.doctor_healthy_ms, 100);
	assert_int_equal(c->cfg.doctor_degraded_ms, 500);
	nmig_config_release(&c->cfg);

	write_file("nmig.conf", "doctor_healthy_ms = 250\n"
				"doctor_degraded_ms = 2s\n");
	assert_int_equal(nmig_config_load(&c->cfg, NULL), NMIG_OK);
	assert_int_equal(c->cfg.doctor_healthy_ms, 250);
	assert_int_equal(c->cfg.doctor_degraded_ms, 2000);
	/* the other durations are untouched */
	assert_int_equal(c->cfg.connect_timeout_ms, 15000);
	assert_int_equal(c->cfg.lock_wait_ms, 60000);
	assert_int_equal(
	    nmig_config_set(&c->cfg, "doctor_healthy_ms", "0", NULL, 0),
	    NMIG_OK);
	assert_int_equal(c->cfg.doctor_healthy_ms, 0);
	assert_int_equal(nmig_config_set(&c->cfg, "doctor_degraded_ms", "fast",
					 "nmig.conf", 4),
			 NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "nmig.conf:4: ");
	assert_contains(nmig_error_last()->message, "'doctor_degraded_ms'");
	assert_int_equal(c->cfg.doctor_degraded_ms, 2000);
	nmig_config_release(&c->cfg);

	expect_refused(c, "doctor_healthy_ms = 50\ndoctor_healthy_ms = 60\n",
		       NMIG_ECONFIG);
	assert_contains(nmig_error_last()->message, "already set on line 1");
	expect_refused(c, "doctor_healty_ms = 50\n", NMIG_ECONFIG);
	assert_contains(nmig_error_last()->hint, "doctor_healthy_ms");
	assert_contains(nmig_error_last()->detail, "doctor_degraded_ms");
}
/* The "did you mean" look-up on its own: edit distance <= 2, any case. */
static void test_key_suggest(void **state)
{
	static const char *const known[] = {"dir", "lock_timeout",
					    "statement_timeout", "schema", NULL};
	static const char *const none[] = {NULL};

	(void)state;
	assert_string_equal(nmig_key_suggest("lock_timout", known),
			    "lock_timeout");
	assert_string_equal(nmig_key_suggest("LOCK_TIMEOUT", known),
			    "lock_timeout");
	assert_string_equal(nmig_key_suggest("shcema", known), "schema");
	assert_string_equal(nmig_key_suggest("dri", known), "dir");
	assert_string_equal(nmig_key_suggest("schema", known), "schema");
	/* Three edits away, or nothing alike: no suggestion. */
	assert_null(nmig_key_suggest("shemaxx", known));
	assert_null(nmig_key_suggest("frobnicate", known));
	assert_null(nmig_key_suggest("dir", none));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_defaults_without_file),
	    T(test_missing_explicit_path),
	    T(test_every_key),
	    T(test_paths_relative_to_config),
	    T(test_durations),
	    T(test_sizes_and_counts),
	    T(test_names_validated),
	    T(test_crlf_and_bom),
	    T(test_lint_keys_left_to_lint),
	    T(test_unknown_key_suggests),
	    T(test_key_suggest),
	    T(test_malformed_lines),
	    T(test_nul_byte),
	    T(test_password_key_refused),
	    T(test_url_with_password_refused),
	    T(test_option_with_password_refused),
	    T(test_url_without_password_refused),
	    T(test_release_twice),
	    T(test_config_is_directory),
	    T(test_doctor_thresholds),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
