/*
 * Unit tests of the three base modules every other one builds on: the text
 * buffer (lib/buf.c), the per-thread last error (lib/error.c) and the
 * diagnostics list (lib/diag.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "error.h"

/* A scratch directory per test, removed in teardown. */
struct scratch {
	char dir[256];
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	const char *tmp = getenv("TMPDIR");

	if (!s)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "%s/nmig-buf-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(s->dir)) {
		free(s);
		return -1;
	}
	*state = s;
	return 0;
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;
	char path[512];
	const char *names[] = {"file.txt", "big.txt", "empty.txt"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", s->dir);
	rmdir(path);
	rmdir(s->dir);
	free(s);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_buf_init_is_empty_string(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	struct nmig_buf c;

	(void)state;
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	nmig_buf_init(&c);
	assert_string_equal(c.ptr, "");
	assert_int_equal(nmig_buf_oom(&c), 0);
	/* releasing a buffer that never grew is fine */
	nmig_buf_release(&b);
	nmig_buf_release(&c);
	assert_string_equal(b.ptr, "");
}

static void test_buf_appends(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	nmig_buf_puts(&b, "abc");
	nmig_buf_putc(&b, '-');
	nmig_buf_put(&b, "xyz", 2);
	nmig_buf_printf(&b, "[%d:%s]", 42, "q");
	assert_string_equal(b.ptr, "abc-xy[42:q]");
	assert_int_equal(b.len, strlen("abc-xy[42:q]"));
	nmig_buf_put(&b, "", 0);
	nmig_buf_printf(&b, "%s", "");
	assert_string_equal(b.ptr, "abc-xy[42:q]");
	nmig_buf_release(&b);
}

static void test_buf_grows_large(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 100000; i++)
		nmig_buf_putc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.ptr[b.len], '\0');
	assert_int_equal(b.ptr[26], 'a');
	assert_int_equal(b.ptr[99999], (char)('a' + 99999 % 26));
	nmig_buf_printf(&b, "%0*d", 70000, 7);
	assert_int_equal(b.len, 170000);
	assert_int_equal(b.ptr[b.len - 1], '7');
	assert_int_equal(nmig_buf_oom(&b), 0);
	nmig_buf_release(&b);
}

/* Appending a part of the buffer to itself survives the realloc. */
static void test_buf_self_append(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	int i;

	(void)state;
	nmig_buf_puts(&b, "0123456789");
	for (i = 0; i < 12; i++)
		nmig_buf_put(&b, b.ptr, b.len);
	assert_int_equal(b.len, 10 << 12);
	assert_memory_equal(b.ptr + b.len - 10, "0123456789", 10);
	nmig_buf_put(&b, b.ptr + 3, 4);
	assert_memory_equal(b.ptr + b.len - 4, "3456", 4);
	nmig_buf_release(&b);
}

static void test_buf_truncate_clear(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t cap;

	(void)state;
	nmig_buf_puts(&b, "hello world");
	nmig_buf_truncate(&b, 5);
	assert_string_equal(b.ptr, "hello");
	nmig_buf_truncate(&b, 50); /* longer: no change */
	assert_string_equal(b.ptr, "hello");
	cap = b.cap;
	nmig_buf_clear(&b);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.cap, cap); /* keeps the allocation */
	nmig_buf_release(&b);
	nmig_buf_truncate(&b, 0); /* on the shared empty string */
	assert_string_equal(b.ptr, "");
}

static void test_buf_detach(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t len = 99;
	char *s;

	(void)state;
	nmig_buf_puts(&b, "owned");
	s = nmig_buf_detach(&b, &len);
	assert_string_equal(s, "owned");
	assert_int_equal(len, 5);
	assert_string_equal(b.ptr, ""); /* the buffer starts over */
	assert_int_equal(b.cap, 0);
	free(s);
	/* an empty buffer still hands over a string the caller frees */
	s = nmig_buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

/* The sticky error: after an allocation failure nothing appends. */
static void test_buf_oom_is_sticky(void **state)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	nmig_buf_puts(&b, "x");
	assert_int_equal(nmig_buf_grow(&b, (size_t)-1 / 2), NMIG_ENOMEM);
	assert_int_equal(nmig_buf_oom(&b), 1);
	nmig_buf_puts(&b, "more");
	nmig_buf_printf(&b, "%d", 1);
	assert_string_equal(b.ptr, "x");
	assert_int_equal(nmig_buf_grow(&b, 1), NMIG_ENOMEM);
	assert_null(nmig_buf_detach(&b, NULL));
	assert_int_equal(nmig_buf_oom(&b), 0); /* detach reset it */
	nmig_buf_release(&b);
}

static void test_buf_read_file(void **state)
{
	struct scratch *s = *state;
	struct nmig_buf b = NMIG_BUF_INIT;
	char path[512];
	char *big;
	size_t i;

	snprintf(path, sizeof(path), "%s/file.txt", s->dir);
	write_file(path, "line 1\nline 2\n", 14);
	nmig_buf_puts(&b, ">");
	assert_int_equal(nmig_buf_read_file(&b, path, 1024), NMIG_OK);
	assert_string_equal(b.ptr, ">line 1\nline 2\n");
	nmig_buf_release(&b);

	/* bigger than one read chunk */
	big = malloc(200000);
	assert_non_null(big);
	for (i = 0; i < 200000; i++)
		big[i] = (char)('0' + i % 10);
	snprintf(path, sizeof(path), "%s/big.txt", s->dir);
	write_file(path, big, 200000);
	assert_int_equal(nmig_buf_read_file(&b, path, 200000), NMIG_OK);
	assert_int_equal(b.len, 200000);
	assert_memory_equal(b.ptr, big, 200000);
	nmig_buf_release(&b);
	free(big);

	snprintf(path, sizeof(path), "%s/empty.txt", s->dir);
	write_file(path, "", 0);
	assert_int_equal(nmig_buf_read_file(&b, path, 0), NMIG_OK);
	assert_string_equal(b.ptr, "");
	nmig_buf_release(&b);
}

static void test_buf_read_file_errors(void **state)
{
	struct scratch *s = *state;
	struct nmig_buf b = NMIG_BUF_INIT;
	char path[512];

	snprintf(path, sizeof(path), "%s/file.txt", s->dir);
	write_file(path, "0123456789", 10);
	nmig_buf_puts(&b, "keep");
	assert_int_equal(nmig_buf_read_file(&b, path, 9), NMIG_EINPUT);
	assert_non_null(strstr(nmig_error_last()->message, path));
	assert_non_null(strstr(nmig_error_last()->message, "limit of 9"));
	assert_true(nmig_error_last()->hint[0] != '\0');
	/* a refused file leaves the buffer as it was */
	assert_string_equal(b.ptr, "keep");

	snprintf(path, sizeof(path), "%s/missing.txt", s->dir);
	assert_int_equal(nmig_buf_read_file(&b, path, 100), NMIG_EIO);
	assert_non_null(strstr(nmig_error_last()->message, "missing.txt"));
	assert_non_null(strstr(nmig_error_last()->message, strerror(ENOENT)));

	snprintf(path, sizeof(path), "%s/sub", s->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(nmig_buf_read_file(&b, path, 100), NMIG_EIO);
	assert_non_null(strstr(nmig_error_last()->message, strerror(EISDIR)));
	assert_string_equal(b.ptr, "keep");
	nmig_buf_release(&b);
}

static void test_error_set_and_layers(void **state)
{
	const struct nmig_error *e = nmig_error_last();

	(void)state;
	assert_int_equal(nmig_error_set(NMIG_EAMBIGUOUS,
					"revision '%s' is ambiguous", "2026"),
			 NMIG_EAMBIGUOUS);
	assert_int_equal(e->code, NMIG_EAMBIGUOUS);
	assert_string_equal(e->message, "revision '2026' is ambiguous");
	assert_string_equal(e->detail, "");
	nmig_error_detail("candidates: %s", "20261126");
	nmig_error_detail("and %d more", 2);
	assert_string_equal(e->detail, "candidates: 20261126\nand 2 more");
	nmig_error_hint("use %d characters", 8);
	assert_string_equal(e->hint, "use 8 characters");
	nmig_error_sqlstate("42P01");
	assert_string_equal(e->sqlstate, "42P01");
	nmig_error_sqlstate(NULL);
	assert_string_equal(e->sqlstate, "");
	nmig_error_location("m/001_a.up.sql", 3, 7, "SELECT x;\nnext line");
	assert_string_equal(e->file, "m/001_a.up.sql");
	assert_int_equal(e->line, 3);
	assert_int_equal(e->col, 7);
	assert_string_equal(e->source, "SELECT x;");
	nmig_error_location("f", 1, 1, "crlf line\r\n");
	assert_string_equal(e->source, "crlf line");
	nmig_error_location(NULL, 0, 0, NULL);
	assert_string_equal(e->file, "");
	assert_string_equal(e->source, "");

	/* a new error clears the old layers */
	nmig_error_set(NMIG_EIO, "second");
	assert_string_equal(e->detail, "");
	assert_string_equal(e->hint, "");
	assert_string_equal(e->sqlstate, "");
	assert_int_equal(e->line, 0);
	nmig_error_clear();
	assert_int_equal(e->code, NMIG_OK);
	assert_string_equal(e->message, "");
}

/* Wrapping the last error in a new one keeps its text. */
static void test_error_wraps_itself(void **state)
{
	const struct nmig_error *e = nmig_error_last();

	(void)state;
	nmig_error_set(NMIG_EIO, "cannot read '%s'", "x.sql");
	nmig_error_set(NMIG_EINPUT, "loading 'm': %s", e->message);
	assert_string_equal(e->message, "loading 'm': cannot read 'x.sql'");
	nmig_error_hint("first");
	nmig_error_hint("%s, then second", e->hint);
	assert_string_equal(e->hint, "first, then second");
	nmig_error_detail("d1");
	nmig_error_detail("again: %s", e->detail);
	assert_string_equal(e->detail, "d1\nagain: d1");
	nmig_error_location("file.sql", 2, 3, "source text");
	nmig_error_location(e->file, 4, 5, e->source);
	assert_string_equal(e->file, "file.sql");
	assert_string_equal(e->source, "source text");
	assert_int_equal(e->line, 4);
}

static void test_error_truncates_safely(void **state)
{
	const struct nmig_error *e = nmig_error_last();
	char *long_text = malloc(5000);
	size_t i;

	(void)state;
	assert_non_null(long_text);
	memset(long_text, 'x', 4999);
	long_text[4999] = '\0';
	nmig_error_set(NMIG_ERROR, "%s", long_text);
	assert_int_equal(strlen(e->message), sizeof(e->message) - 1);
	for (i = 0; i < 3; i++)
		nmig_error_detail("%s", long_text);
	assert_int_equal(strlen(e->detail), sizeof(e->detail) - 1);
	/* a long source line of two-byte characters is cut between
	 * characters, never inside one */
	for (i = 0; i + 1 < 4999; i += 2) {
		long_text[i] = '\xc3';
		long_text[i + 1] = '\xa9';
	}
	long_text[4998] = '\0';
	nmig_error_location("f", 1, 1, long_text);
	assert_true(strlen(e->source) < sizeof(e->source));
	assert_int_equal(strlen(e->source) % 2, 0);
	free(long_text);
}

static void test_error_code_names(void **state)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
	    {NMIG_OK, "ok"},
	    {NMIG_ENOMEM, "out of memory"},
	    {NMIG_EIO, "io"},
	    {NMIG_EUSAGE, "usage"},
	    {NMIG_EINPUT, "input"},
	    {NMIG_EGRAPH, "graph"},
	    {NMIG_ENOTFOUND, "not found"},
	    {NMIG_EAMBIGUOUS, "ambiguous"},
	    {NMIG_ESTATE, "state"},
	    {NMIG_ECONFIG, "config"},
	    {NMIG_ECONNECT, "connect"},
	    {NMIG_ESQL, "sql"},
	    {NMIG_ELOCKED, "locked"},
	    {NMIG_EEXISTS, "exists"},
	    {NMIG_EPRODUCTION, "production"},
	    {NMIG_ERROR, "error"},
	    {-999, "error"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(nmig_code_name(names[i].code),
				    names[i].name);
}

static void test_diags_add_and_count(void **state)
{
	struct nmig_diags d = NMIG_DIAGS_INIT;
	struct nmig_diag *item;
	int i;

	(void)state;
	assert_int_equal(nmig_diags_first_error(&d), NMIG_OK);
	item = nmig_diags_add(&d, NMIG_SEV_WARNING, NMIG_EINPUT, "w-rule", NULL,
			      0, 0, "a %s warning", "first");
	assert_non_null(item);
	assert_string_equal(item->message, "a first warning");
	assert_null(item->file);
	assert_null(item->hint);
	item = nmig_diags_add(&d, NMIG_SEV_ERROR, NMIG_EGRAPH, "e-rule",
			      "m/x.sql", 4, 2, "bad %d", 7);
	nmig_diag_set_source(item, "SELECT 1;\nSELECT 2;");
	nmig_diag_set_hint(item, "fix %s", "it");
	nmig_diag_set_hint(item, "fix it %s", "again"); /* replaces */
	nmig_diags_add(&d, NMIG_SEV_NOTE, 0, NULL, NULL, 0, 0, "note");
	/* grows past its first allocation */
	for (i = 0; i < 40; i++)
		nmig_diags_add(&d, NMIG_SEV_ERROR, NMIG_EINPUT, "many", NULL, i,
			       0, "error %d", i);
	assert_int_equal(d.n, 43);
	assert_int_equal(d.errors, 41);
	assert_int_equal(d.warnings, 1);
	item = &d.items[1];
	assert_string_equal(item->rule, "e-rule");
	assert_string_equal(item->file, "m/x.sql");
	assert_int_equal(item->line, 4);
	assert_int_equal(item->col, 2);
	assert_string_equal(item->source, "SELECT 1;");
	assert_string_equal(item->hint, "fix it again");
	assert_string_equal(d.items[2].rule, "");
	assert_string_equal(d.items[42].message, "error 39");
	assert_int_equal(nmig_diags_first_error(&d), NMIG_EGRAPH);
	/* NULL items are ignored by the setters */
	nmig_diag_set_source(NULL, "x");
	nmig_diag_set_hint(NULL, "x");
	nmig_diags_release(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.items);
}

static void test_diags_last_error_and_raise(void **state)
{
	struct nmig_diags d = NMIG_DIAGS_INIT;
	const struct nmig_error *e = nmig_error_last();
	struct nmig_diag *item;

	(void)state;
	nmig_error_set(NMIG_EINPUT, "unknown header key '%s'", "foo");
	nmig_error_location("m/001_a.up.sql", 2, 9, "-- nmig:foo bar");
	nmig_error_hint("known keys: parents");
	nmig_diags_add_last_error(&d, "header");
	item = &d.items[0];
	assert_int_equal(item->severity, NMIG_SEV_ERROR);
	assert_int_equal(item->code, NMIG_EINPUT);
	assert_string_equal(item->rule, "header");
	assert_string_equal(item->message, "unknown header key 'foo'");
	assert_string_equal(item->file, "m/001_a.up.sql");
	assert_int_equal(item->line, 2);
	assert_int_equal(item->col, 9);
	assert_string_equal(item->source, "-- nmig:foo bar");
	assert_string_equal(item->hint, "known keys: parents");

	/* an error without a code still counts as one */
	nmig_error_clear();
	nmig_diags_add_last_error(&d, "x");
	assert_int_equal(d.items[1].code, NMIG_ERROR);
	assert_null(d.items[1].file);
	assert_null(d.items[1].hint);

	nmig_diags_add(&d, NMIG_SEV_WARNING, NMIG_EINPUT, "w", NULL, 0, 0,
		       "only a warning");
	/* raise: the first error at or after an index becomes the last
	 * error again, with its location and hint */
	nmig_error_set(NMIG_EIO, "something else");
	assert_int_equal(nmig_diags_raise(&d, 0), NMIG_EINPUT);
	assert_string_equal(e->message, "unknown header key 'foo'");
	assert_string_equal(e->file, "m/001_a.up.sql");
	assert_int_equal(e->line, 2);
	assert_int_equal(e->col, 9);
	assert_string_equal(e->source, "-- nmig:foo bar");
	assert_string_equal(e->hint, "known keys: parents");
	assert_int_equal(nmig_diags_raise(&d, 1), NMIG_ERROR);
	/* warnings alone raise nothing and leave the last error alone */
	nmig_error_set(NMIG_EIO, "untouched");
	assert_int_equal(nmig_diags_raise(&d, 2), NMIG_OK);
	assert_int_equal(nmig_diags_raise(&d, 99), NMIG_OK);
	assert_string_equal(e->message, "untouched");
	nmig_diags_release(&d);
}

/* A saved error comes back whole after a later one replaced it. */
static void test_error_restore(void **state)
{
	struct nmig_error saved;
	const struct nmig_error *e;

	(void)state;
	nmig_error_set(NMIG_EINPUT, "syntax error at or near '%s'", "TABLEX");
	nmig_error_detail("the statement starts on line %d", 6);
	nmig_error_hint("fix the statement");
	nmig_error_sqlstate("42601");
	nmig_error_location("m/1_a.up.sql", 6, 8, "CREATE TABLEX t ();");
	saved = *nmig_error_last();
	/* A cleanup step that fails too replaces every field. */
	nmig_error_set(NMIG_EIO, "cannot close '%s'", "x");
	assert_int_equal(nmig_error_last()->line, 0);
	assert_int_equal(nmig_error_restore(&saved), NMIG_EINPUT);
	e = nmig_error_last();
	assert_int_equal(e->code, NMIG_EINPUT);
	assert_string_equal(e->message, "syntax error at or near 'TABLEX'");
	assert_string_equal(e->detail, "the statement starts on line 6");
	assert_string_equal(e->hint, "fix the statement");
	assert_string_equal(e->sqlstate, "42601");
	assert_string_equal(e->file, "m/1_a.up.sql");
	assert_int_equal(e->line, 6);
	assert_int_equal(e->col, 8);
	assert_string_equal(e->source, "CREATE TABLEX t ();");
	/* Restoring the last error itself changes nothing. */
	assert_int_equal(nmig_error_restore(nmig_error_last()), NMIG_EINPUT);
	assert_string_equal(nmig_error_last()->message,
			    "syntax error at or near 'TABLEX'");
	nmig_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_init_is_empty_string),
	    cmocka_unit_test(test_buf_appends),
	    cmocka_unit_test(test_buf_grows_large),
	    cmocka_unit_test(test_buf_self_append),
	    cmocka_unit_test(test_buf_truncate_clear),
	    cmocka_unit_test(test_buf_detach),
	    cmocka_unit_test(test_buf_oom_is_sticky),
	    cmocka_unit_test_setup_teardown(test_buf_read_file, scratch_setup,
					    scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_buf_read_file_errors,
					    scratch_setup, scratch_teardown),
	    cmocka_unit_test(test_error_set_and_layers),
	    cmocka_unit_test(test_error_wraps_itself),
	    cmocka_unit_test(test_error_truncates_safely),
	    cmocka_unit_test(test_error_code_names),
	    cmocka_unit_test(test_diags_add_and_count),
	    cmocka_unit_test(test_diags_last_error_and_raise),
	    cmocka_unit_test(test_error_restore),
	};

	return cmocka_run_group_tests_name("buf, error, diag", tests, NULL,
					   NULL);
}
