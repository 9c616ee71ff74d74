/*
 * Unit tests of the .env loader (lib/env.c): a table of inputs with the
 * assignments they yield (bare, quoted, escaped, exported, commented),
 * malformed lines with the line number reported and no value echoed, and
 * nmig_env_load never overriding a variable that is already set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "env.h"
#include "error.h"

/* Collects "KEY=value;" for each assignment. */
static int collect(const char *key, const char *value, void *ud)
{
	struct nmig_buf *b = ud;

	nmig_buf_printf(b, "%s=%s;", key, value);
	return 0;
}

struct parse_case {
	const char *input;
	const char *expect; /* collected text, NULL for an error */
	int line;	    /* line of the error */
};

static const struct parse_case cases[] = {
    {"", "", 0},
    {"\n\n# only a comment\n   # indented comment\n", "", 0},
    {"A=1", "A=1;", 0},
    {"A=1\nB=two words\n", "A=1;B=two words;", 0},
    {"export DATABASE_URL=postgres://u@h/db\n",
     "DATABASE_URL=postgres://u@h/db;", 0},
    {"  export   X = y  \n", "X=y;", 0},
    {"A=value # a comment\n", "A=value;", 0},
    {"A=value#not-a-comment\n", "A=value#not-a-comment;", 0},
    {"A='single # quoted $HOME \\n'\n", "A=single # quoted $HOME \\n;", 0},
    {"A=\"double \\\"q\\\" \\\\ \\n end\"\n", "A=double \"q\" \\ \n end;", 0},
    {"A=\"x\" # trailing comment\n", "A=x;", 0},
    {"A=\n", "A=;", 0},
    {"A=''\n", "A=;", 0},
    {"CRLF=yes\r\nNEXT=1\r\n", "CRLF=yes;NEXT=1;", 0},
    {"URL=postgres://u:p%40ss@h:5432/d?sslmode=require\n",
     "URL=postgres://u:p%40ss@h:5432/d?sslmode=require;", 0},
    {"_under_score9=ok\n", "_under_score9=ok;", 0},
    {"exported=1\n", "exported=1;", 0},
    /* a UTF-8 byte order mark at the start, as nmig.conf accepts */
    {"\xef\xbb\xbf" "A=1\nB=2\n", "A=1;B=2;", 0},
    /* errors */
    {"A=1\nno equals sign\n", NULL, 2},
    {"9BAD=1\n", NULL, 1},
    {"=1\n", NULL, 1},
    {"A=1\nB='unterminated\n", NULL, 2},
    {"A=\"unterminated\n", NULL, 1},
    {"A='x' trailing\n", NULL, 1},
    {"A-B=1\n", NULL, 1},
    /* only at the start: elsewhere it is no variable name */
    {"A=1\n\xef\xbb\xbf" "B=2\n", NULL, 2},
};

static void test_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nmig_buf b = NMIG_BUF_INIT;
		const struct parse_case *c = &cases[i];
		int rc = nmig_env_parse(c->input, strlen(c->input), ".env",
					collect, &b);

		if (c->expect) {
			if (rc != NMIG_OK || strcmp(b.ptr, c->expect) != 0)
				print_error("case %zu: input '%s': got rc %d "
					    "'%s', want '%s'\n",
					    i, c->input, rc, b.ptr, c->expect);
			assert_int_equal(rc, NMIG_OK);
			assert_string_equal(b.ptr, c->expect);
		} else {
			if (rc != NMIG_ECONFIG)
				print_error(
				    "case %zu: input '%s' should fail\n", i,
				    c->input);
			assert_int_equal(rc, NMIG_ECONFIG);
			assert_int_equal(nmig_error_last()->line, c->line);
			assert_string_equal(nmig_error_last()->file, ".env");
			assert_non_null(
			    strstr(nmig_error_last()->message, "'.env'"));
		}
		nmig_buf_release(&b);
	}
}

/* An error never shows the value (it may be a password). */
static void test_error_hides_value(void **state)
{
	static const char text[] = "PASS='s3cretValue\n";
	struct nmig_buf b = NMIG_BUF_INIT;
	const struct nmig_error *e;

	(void)state;
	assert_int_equal(
	    nmig_env_parse(text, strlen(text), "x/.env", collect, &b),
	    NMIG_ECONFIG);
	e = nmig_error_last();
	assert_null(strstr(e->message, "s3cret"));
	assert_null(strstr(e->detail, "s3cret"));
	assert_null(strstr(e->source, "s3cret"));
	assert_null(strstr(e->hint, "s3cret"));
	nmig_buf_release(&b);
}

/* A callback's non-zero result stops the parse and is returned. */
static int stop_at_b(const char *key, const char *value, void *ud)
{
	int *seen = ud;

	(void)value;
	(*seen)++;
	return strcmp(key, "B") == 0 ? NMIG_ERROR : 0;
}

static void test_callback_stops(void **state)
{
	static const char text[] = "A=1\nB=2\nC=3\n";
	int seen = 0;

	(void)state;
	assert_int_equal(
	    nmig_env_parse(text, strlen(text), ".env", stop_at_b, &seen),
	    NMIG_ERROR);
	assert_int_equal(seen, 2);
}

static void test_load_never_overrides(void **state)
{
	char dir[] = "/tmp/nmig-test-env.XXXXXX";
	char path[64];
	FILE *f;
	int nset = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.env", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# test\nNMIG_TEST_ENV_SET=from-file\n"
	      "export NMIG_TEST_ENV_NEW='new value'\n",
	      f);
	fclose(f);
	setenv("NMIG_TEST_ENV_SET", "from-env", 1);
	unsetenv("NMIG_TEST_ENV_NEW");
	assert_int_equal(nmig_env_load(path, &nset), NMIG_OK);
	assert_int_equal(nset, 1);
	assert_string_equal(getenv("NMIG_TEST_ENV_SET"), "from-env");
	assert_string_equal(getenv("NMIG_TEST_ENV_NEW"), "new value");
	unlink(path);
	/* A missing file is fine: nothing set. */
	assert_int_equal(nmig_env_load(path, &nset), NMIG_OK);
	assert_int_equal(nset, 0);
	rmdir(dir);
	unsetenv("NMIG_TEST_ENV_SET");
	unsetenv("NMIG_TEST_ENV_NEW");
}

static void test_load_bad_file(void **state)
{
	char dir[] = "/tmp/nmig-test-env.XXXXXX";
	char path[64];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.env", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("GOOD=1\nthis is not an assignment\n", f);
	fclose(f);
	unsetenv("GOOD");
	assert_int_equal(nmig_env_load(path, NULL), NMIG_ECONFIG);
	assert_int_equal(nmig_error_last()->line, 2);
	assert_string_equal(nmig_error_last()->file, path);
	/* nothing from a malformed file is applied */
	assert_null(getenv("GOOD"));
	unlink(path);
	rmdir(dir);
	unsetenv("GOOD");
}

static void test_load_directory(void **state)
{
	char dir[] = "/tmp/nmig-test-env.XXXXXX";
	char path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.env", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	/* the configuration's code, with a hint: not a read error */
	assert_int_equal(nmig_env_load(path, NULL), NMIG_ECONFIG);
	assert_non_null(strstr(nmig_error_last()->message, "is a directory"));
	assert_non_null(strstr(nmig_error_last()->hint, "rename or remove"));
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_error_hides_value),
	    cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_load_never_overrides),
	    cmocka_unit_test(test_load_bad_file),
	    cmocka_unit_test(test_load_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
