/*
 * Unit tests of the SQL bodies (lib/sqlscript.c), mostly tables of texts:
 * statement splitting with byte offsets, lines and columns (comments,
 * dollar quotes, rules, SQL-standard bodies, UTF-8 and a BOM before a
 * statement, texts the parser refuses); syntax errors with their position;
 * syntax newer than the bundled parser as a warning; transaction control
 * and every statement PostgreSQL refuses in a transaction block; encoding
 * checks; the fixture files under tests/fixtures/sql; and every SQL file
 * of ../shared/corpora when it is there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "error.h"
#include "revfile.h"
#include "sqlscript.h"

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	struct nmig_script sc;
	struct nmig_diags diags;
	char path[1024];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nmig_script_release(&c->sc);
	nmig_diags_release(&c->diags);
	free(c);
	nmig_error_clear();
	return 0;
}

/* Release what the previous table row left. */
static void reset(struct ctx *c)
{
	nmig_script_release(&c->sc);
	nmig_diags_release(&c->diags);
	nmig_error_clear();
}

static const char *fixtures(void)
{
	const char *root = getenv("NMIG_FIXTURES");

	if (!root)
		fail_msg("NMIG_FIXTURES is not set (run through ctest)");
	return root;
}

/* Split text into c->sc, failing the test on an error. */
static void split(struct ctx *c, const char *text)
{
	reset(c);
	if (nmig_script_from_text(&c->sc, "m/t.up.sql", text, strlen(text)))
		fail_msg("splitting '%s': %s", text,
			 nmig_error_last()->message);
}

/* ---- splitting ---------------------------------------------------- */

struct want_stmt {
	const char *text; /* exactly the bytes of the statement */
	int line, col;
	const char *kind; /* NULL: unparsed */
};

struct split_case {
	const char *text;
	int parse_ok;
	size_t n;
	struct want_stmt st[4];
};

static const struct split_case split_cases[] = {
    {"", 1, 0, {{NULL, 0, 0, NULL}}},
    {"   \n\t\n", 1, 0, {{NULL, 0, 0, NULL}}},
    {"-- only a comment\n/* block */\n", 1, 0, {{NULL, 0, 0, NULL}}},
    {"SELECT 1", 1, 1, {{"SELECT 1", 1, 1, "SelectStmt"}}},
    {"SELECT 1;", 1, 1, {{"SELECT 1", 1, 1, "SelectStmt"}}},
    {"-- c\nselect 1; /* x */ select 2 -- trailing\n;\n\n",
     1,
     2,
     {{"select 1", 2, 1, "SelectStmt"}, {"select 2", 2, 19, "SelectStmt"}}},
    {"CREATE TABLE t (\n  id int,\n  name text\n);\n\n"
     "INSERT INTO t VALUES (1, 'a;b');\n",
     1,
     2,
     {{"CREATE TABLE t (\n  id int,\n  name text\n)", 1, 1, "CreateStmt"},
      {"INSERT INTO t VALUES (1, 'a;b')", 6, 1, "InsertStmt"}}},
    {"DO $$\nBEGIN\n  PERFORM 1; PERFORM 2;\nEND\n$$;\nSELECT 3;",
     1,
     2,
     {{"DO $$\nBEGIN\n  PERFORM 1; PERFORM 2;\nEND\n$$", 1, 1, "DoStmt"},
      {"SELECT 3", 6, 1, "SelectStmt"}}},
    {"CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ "
     "LANGUAGE sql;",
     1,
     1,
     {{"CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ "
       "LANGUAGE sql",
       1, 1, "CreateFunctionStmt"}}},
    {"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);\n"
     "SELECT 3;",
     1,
     2,
     {{"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)", 1, 1,
       "RuleStmt"},
      {"SELECT 3", 2, 1, "SelectStmt"}}},
    {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
     "SELECT 1; SELECT 2; END;\nSELECT 3;",
     1,
     2,
     {{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
       "SELECT 1; SELECT 2; END",
       1, 1, "CreateFunctionStmt"},
      {"SELECT 3", 2, 1, "SelectStmt"}}},
    /* columns count characters, not bytes */
    {"SELECT 'é'; SELECT 'ü'; /* ünï */ SELECT 3;",
     1,
     3,
     {{"SELECT 'é'", 1, 1, "SelectStmt"},
      {"SELECT 'ü'", 1, 13, "SelectStmt"},
      {"SELECT 3", 1, 35, "SelectStmt"}}},
    {"SELECT 1;;; SELECT 2",
     1,
     2,
     {{"SELECT 1", 1, 1, "SelectStmt"}, {"SELECT 2", 1, 13, "SelectStmt"}}},
    /* a BOM is not a column */
    {"\xEF\xBB\xBFSELECT 1;", 1, 1, {{"SELECT 1", 1, 1, "SelectStmt"}}},
    {"SELECT 1;\r\n\tSELECT 2;\r\n",
     1,
     2,
     {{"SELECT 1", 1, 1, "SelectStmt"}, {"SELECT 2", 2, 2, "SelectStmt"}}},
    {"SELECT '--not a comment;';",
     1,
     1,
     {{"SELECT '--not a comment;'", 1, 1, "SelectStmt"}}},
    {"SELECT E'it\\'s; fine';",
     1,
     1,
     {{"SELECT E'it\\'s; fine'", 1, 1, "SelectStmt"}}},
    {"CREATE TABLE \"a;b\" (id int);",
     1,
     1,
     {{"CREATE TABLE \"a;b\" (id int)", 1, 1, "CreateStmt"}}},
    /* refused texts are split by the scanner; pieces that parse alone
     * are still classified */
    {"CREATE TABLE t (id int);\nCREATE TABLEX u (id int);\nSELECT 1;",
     0,
     3,
     {{"CREATE TABLE t (id int)", 1, 1, "CreateStmt"},
      {"CREATE TABLEX u (id int)", 2, 1, NULL},
      {"SELECT 1", 3, 1, "SelectStmt"}}},
    {"SELEC 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN "
     "ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;\n"
     "  SELECT (1;\n",
     0,
     3,
     {{"SELEC 1", 1, 1, NULL},
      {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
       "SELECT CASE WHEN true THEN 1 END; SELECT 2; END",
       2, 1, "CreateFunctionStmt"},
      {"SELECT (1;", 3, 3, NULL}}},
    {"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);\n"
     "SELEC 3",
     0,
     2,
     {{"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)", 1, 1,
       "RuleStmt"},
      {"SELEC 3", 2, 1, NULL}}},
    /* the scanner refuses it too: one unparsed piece, blanks trimmed */
    {"\n SELECT 1;\nSELECT 'unterminated\n\n",
     0,
     1,
     {{"SELECT 1;\nSELECT 'unterminated", 2, 2, NULL}}},
};

static void test_split(void **state)
{
	struct ctx *c = *state;
	size_t i, k;

	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const struct split_case *sc = &split_cases[i];

		split(c, sc->text);
		if (c->sc.parse_ok != sc->parse_ok || c->sc.n != sc->n)
			fail_msg("case %zu: parse_ok %d, %zu statements", i,
				 c->sc.parse_ok, c->sc.n);
		for (k = 0; k < sc->n; k++) {
			const struct nmig_stmt *st = &c->sc.stmts[k];
			const struct want_stmt *w = &sc->st[k];
			int kind_ok =
			    w->kind ? st->kind && !strcmp(st->kind, w->kind)
				    : !st->kind;

			if (st->len != strlen(w->text) ||
			    memcmp(c->sc.text + st->offset, w->text, st->len) !=
				0 ||
			    st->line != w->line || st->col != w->col ||
			    !kind_ok ||
			    !!(st->flags & NMIG_STMT_UNPARSED) != !w->kind)
				fail_msg("case %zu stmt %zu: '%.*s' at %d:%d "
					 "kind %s flags %u",
					 i, k, (int)st->len,
					 c->sc.text + st->offset, st->line,
					 st->col, st->kind ? st->kind : "-",
					 st->flags);
		}
		/* the script keeps its own NUL-terminated copy */
		assert_int_equal(c->sc.len, strlen(sc->text));
		assert_string_equal(c->sc.text, sc->text);
		assert_string_equal(c->sc.path, "m/t.up.sql");
	}
}

/* ---- syntax ------------------------------------------------------- */

struct syntax_case {
	const char *text;
	enum nmig_severity sev;
	int line, col;
	const char *message; /* exact for errors, a part for warnings */
	const char *source;
};

static const struct syntax_case syntax_cases[] = {
    {"CREATE TABLE t (id int);\nCREATE TABLEX foo (a int);\n", NMIG_SEV_ERROR,
     2, 8, "syntax error at or near \"TABLEX\"", "CREATE TABLEX foo (a int);"},
    {"SELECT 1;\n  SELECT éé TABLEX foo;\n", NMIG_SEV_ERROR, 2, 20,
     "syntax error at or near \"foo\"", "  SELECT éé TABLEX foo;"},
    {"SELECT (1;", NMIG_SEV_ERROR, 1, 10, "syntax error at or near \";\"",
     "SELECT (1;"},
    {"SELECT 1;\nSELECT (1 -- open\n", NMIG_SEV_ERROR, 2, 10,
     "syntax error at end of input", "SELECT (1 -- open"},
    {"CRATE TABLE t (id int);", NMIG_SEV_ERROR, 1, 1,
     "syntax error at or near \"CRATE\"", "CRATE TABLE t (id int);"},
    {"-- header\nSELECT 'abc;\nSELECT 2;\n", NMIG_SEV_ERROR, 2, 8,
     "unterminated quoted string at or near \"'abc;...\"", "SELECT 'abc;"},
    {"SELECT 1 /* unterminated", NMIG_SEV_ERROR, 1, 10,
     "unterminated /* comment at or near \"/* unterminated\"",
     "SELECT 1 /* unterminated"},
    {"DO $$ BEGIN END", NMIG_SEV_ERROR, 1, 4,
     "unterminated dollar-quoted string at or near \"$$ BEGIN END\"",
     "DO $$ BEGIN END"},
    /* a SQL-standard body before the error is not an error */
    {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
     "SELECT 1; SELECT 2; END;\nSELEC 3;",
     NMIG_SEV_ERROR, 2, 1, "syntax error at or near \"SELEC\"", "SELEC 3;"},
    /* newer syntax: warnings at the parser's position */
    {"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET "
     "a = 1 RETURNING *;",
     NMIG_SEV_WARNING, 1, 72, "MERGE ... RETURNING (PostgreSQL 17)", NULL},
    {"WITH x AS (SELECT 1)\nMERGE INTO t USING s ON t.id = s.id\n"
     "WHEN NOT MATCHED BY SOURCE THEN DELETE;",
     NMIG_SEV_WARNING, 3, 18, "BY SOURCE (PostgreSQL 17)", NULL},
    {"SELECT * FROM JSON_TABLE(js, '$' COLUMNS (a int PATH '$.a')) jt;",
     NMIG_SEV_WARNING, 1, 34, "JSON_TABLE (PostgreSQL 17)", NULL},
    {"SELECT JSON_OBJECT('a' VALUE 1);", NMIG_SEV_WARNING, 1, 24,
     "JSON_OBJECT (PostgreSQL 16)", NULL},
    {"SELECT JSON_ARRAYAGG(x ORDER BY x RETURNING jsonb) FROM t;",
     NMIG_SEV_WARNING, 1, 35, "JSON_ARRAYAGG (PostgreSQL 16)", NULL},
    {"SELECT JSON_EXISTS(js, '$.a' PASSING 1 AS x) FROM t;", NMIG_SEV_WARNING,
     1, 30, "JSON_EXISTS (PostgreSQL 17)", NULL},
    {"SELECT js IS JSON OBJECT FROM t;", NMIG_SEV_WARNING, 1, 14,
     "IS JSON (PostgreSQL 16)", NULL},
    {"CREATE TABLE p (id int, valid_at tstzrange, PRIMARY KEY (id, "
     "valid_at WITHOUT OVERLAPS));",
     NMIG_SEV_WARNING, 1, 71, "WITHOUT OVERLAPS (PostgreSQL 18)", NULL},
    {"ALTER TABLE f ADD FOREIGN KEY (id, PERIOD valid_at) REFERENCES p "
     "(id, PERIOD valid_at);",
     NMIG_SEV_WARNING, 1, 43, "PERIOD in a foreign key", NULL},
    {"CREATE TABLE v (a int, b int GENERATED ALWAYS AS (a * 2) "
     "VIRTUAL);",
     NMIG_SEV_WARNING, 1, 58, "virtual generated columns", NULL},
    {"ALTER TABLE t ALTER COLUMN c SET EXPRESSION AS (a * 3);",
     NMIG_SEV_WARNING, 1, 34, "SET EXPRESSION (PostgreSQL 17)", NULL},
    {"ALTER TABLE t ALTER COLUMN c SET STATISTICS DEFAULT;", NMIG_SEV_WARNING,
     1, 45, "SET STATISTICS DEFAULT", NULL},
    {"ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT ENFORCED;",
     NMIG_SEV_WARNING, 1, 50, "NOT ENFORCED (PostgreSQL 18)", NULL},
    {"ALTER TABLE t SPLIT PARTITION p INTO (PARTITION a FOR VALUES "
     "FROM (1) TO (2), PARTITION b FOR VALUES FROM (2) TO (3));",
     NMIG_SEV_WARNING, 1, 15, "SPLIT PARTITION", NULL},
    {"ALTER TABLE t MERGE PARTITIONS (a, b) INTO c;", NMIG_SEV_WARNING, 1, 15,
     "MERGE PARTITIONS", NULL},
    {"UPDATE t SET a = 1 RETURNING WITH (OLD AS o) o.a;", NMIG_SEV_WARNING, 1,
     30, "RETURNING WITH", NULL},
    {"GRANT r TO u WITH INHERIT TRUE;", NMIG_SEV_WARNING, 1, 19,
     "GRANT ... WITH INHERIT (PostgreSQL 16)", NULL},
    /* a marker does not excuse an error before or away from it */
    {"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATEX SET "
     "a = 1 RETURNING *;",
     NMIG_SEV_ERROR, 1, 55, "syntax error at or near \"UPDATEX\"", NULL},
    {"SELEC x IS JSON;", NMIG_SEV_ERROR, 1, 1,
     "syntax error at or near \"SELEC\"", NULL},
    {"CREATE TABLE t (a int, period int, x intt eger);", NMIG_SEV_ERROR, 1, 43,
     "syntax error at or near \"eger\"", NULL},
    {"SELECT * FROM t RETURNING;", NMIG_SEV_ERROR, 1, 17,
     "syntax error at or near \"RETURNING\"", NULL},
};

static void test_syntax(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(syntax_cases) / sizeof(syntax_cases[0]); i++) {
		const struct syntax_case *sy = &syntax_cases[i];

		split(c, sy->text);
		assert_int_equal(c->sc.parse_ok, 0);
		rc = nmig_script_check(&c->sc, 1, &c->diags);
		if (c->diags.n != 1)
			fail_msg("case %zu: %zu findings", i, c->diags.n);
		d = &c->diags.items[0];
		if (d->severity != sy->sev || d->line != sy->line ||
		    d->col != sy->col ||
		    (sy->sev == NMIG_SEV_ERROR
			 ? strcmp(d->message, sy->message) != 0
			 : !strstr(d->message, sy->message)) ||
		    (sy->source && strcmp(d->source, sy->source) != 0) ||
		    strcmp(d->file, "m/t.up.sql") != 0)
			fail_msg("case %zu: %s at %d:%d '%s' source '%s'", i,
				 d->severity == NMIG_SEV_ERROR ? "error"
							       : "warning",
				 d->line, d->col, d->message,
				 d->source ? d->source : "");
		if (sy->sev == NMIG_SEV_ERROR) {
			assert_int_equal(rc, NMIG_EINPUT);
			assert_string_equal(d->rule, "sql-syntax");
			assert_string_equal(nmig_error_last()->message,
					    d->message);
			assert_int_equal(nmig_error_last()->line, d->line);
			assert_int_equal(nmig_error_last()->col, d->col);
		} else {
			assert_int_equal(rc, NMIG_OK);
			assert_string_equal(d->rule, "sql-newer-syntax");
			assert_non_null(strstr(d->message, "PostgreSQL 15"));
			assert_non_null(d->hint);
		}
	}
}

static void test_syntax_every_error(void **state)
{
	struct ctx *c = *state;

	split(c, "SELEC 1;\nSELECT 2;\nDELET FROM t;\n"
		 "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE "
		 "RETURNING *;");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 2);
	assert_int_equal(c->diags.warnings, 1);
	assert_int_equal(c->diags.items[0].line, 1);
	assert_int_equal(c->diags.items[1].line, 3);
	assert_int_equal(c->diags.items[2].line, 4);
	/* the first error is the last error */
	assert_int_equal(nmig_error_last()->line, 1);
	assert_string_equal(nmig_error_last()->message,
			    "syntax error at or near \"SELEC\"");
}

/*
 * COPY ... FROM STDIN has no data stream in a migration: one error at the
 * COPY, none for psql's inline data after it.
 */
static void test_copy_from_stdin(void **state)
{
	struct ctx *c = *state;

	split(c, "CREATE TABLE t (id int);\nCOPY t (id) FROM stdin;\n1\n2\n"
		 "\\.\nSELECT 1;\n");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 1);
	assert_string_equal(c->diags.items[0].rule, "sql-copy-stdin");
	assert_int_equal(c->diags.items[0].line, 2);
	assert_non_null(strstr(c->diags.items[0].message,
			       "COPY ... FROM STDIN is not supported in a "
			       "migration"));
	assert_non_null(strstr(c->diags.items[0].hint, "INSERT"));
	/* without its data it parses, and is still refused */
	split(c, "COPY t FROM STDIN WITH (FORMAT csv);");
	assert_int_equal(c->sc.parse_ok, 1);
	assert_int_equal(c->sc.stmts[0].flags, NMIG_STMT_COPY_STDIN);
	assert_int_equal(nmig_script_check(&c->sc, 0, &c->diags), NMIG_EINPUT);
	assert_string_equal(c->diags.items[0].rule, "sql-copy-stdin");
	/* from a file or a program it is the server's business */
	split(c, "COPY t FROM '/srv/t.csv';\nCOPY t FROM PROGRAM 'cat x';");
	assert_int_equal(c->sc.stmts[0].flags, 0);
	assert_int_equal(c->sc.stmts[1].flags, 0);
}

/*
 * A byte order mark past the start, where the parser trips on it, is
 * named at its line and column; one at the very start, or inside a string
 * or a comment, is no finding.
 */
static void test_bom_in_middle(void **state)
{
	struct ctx *c = *state;

	split(c, "SELECT 1;\n\xef\xbb\xbfSELECT 2;\n");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 1);
	assert_string_equal(c->diags.items[0].rule, "sql-bom");
	assert_int_equal(c->diags.items[0].line, 2);
	assert_int_equal(c->diags.items[0].col, 1);
	assert_non_null(strstr(c->diags.items[0].message, "U+FEFF"));
	split(c, "SELECT 1;\nCRE\xef\xbb\xbf" "ATE TABLE t (id int);\n");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_string_equal(c->diags.items[0].rule, "sql-bom");
	split(c, "\xef\xbb\xbfSELECT '\xef\xbb\xbf'; -- \xef\xbb\xbf\n");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_OK);
	assert_int_equal(c->diags.n, 0);
}

/* Syntax that this parser accepts needs no marker. */
static void test_syntax_accepted(void **state)
{
	static const char *const texts[] = {
	    "COPY t FROM '/srv/t.csv' (ON_ERROR ignore);",
	    "COPY t TO STDOUT;",
	    "ALTER TYPE mood ADD VALUE 'meh';",
	    "CREATE TABLE t (a int GENERATED ALWAYS AS (1) STORED);",
	    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;",
	    "SELECT json_build_object('a', 1);",
	};
	struct ctx *c = *state;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		split(c, texts[i]);
		assert_int_equal(c->sc.parse_ok, 1);
		assert_int_equal(c->sc.n, 1);
		assert_int_equal(c->sc.stmts[0].flags, 0);
		assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags),
				 NMIG_OK);
		assert_int_equal(c->diags.n, 0);
	}
}

/* ---- transactions ------------------------------------------------- */

struct tx_case {
	const char *text;
	const char *kind;
	unsigned flags;
	const char *what;
};

static const struct tx_case tx_cases[] = {
    {"BEGIN", "TransactionStmt", NMIG_STMT_TXCONTROL, "BEGIN"},
    {"BEGIN ISOLATION LEVEL SERIALIZABLE", "TransactionStmt",
     NMIG_STMT_TXCONTROL, "BEGIN"},
    {"START TRANSACTION", "TransactionStmt", NMIG_STMT_TXCONTROL,
     "START TRANSACTION"},
    {"COMMIT", "TransactionStmt", NMIG_STMT_TXCONTROL, "COMMIT"},
    {"COMMIT AND CHAIN", "TransactionStmt", NMIG_STMT_TXCONTROL, "COMMIT"},
    {"end", "TransactionStmt", NMIG_STMT_TXCONTROL, "END"},
    {"ROLLBACK", "TransactionStmt", NMIG_STMT_TXCONTROL, "ROLLBACK"},
    {"ABORT", "TransactionStmt", NMIG_STMT_TXCONTROL, "ABORT"},
    {"SAVEPOINT s", "TransactionStmt", NMIG_STMT_TXCONTROL, "SAVEPOINT"},
    {"RELEASE SAVEPOINT s", "TransactionStmt", NMIG_STMT_TXCONTROL,
     "RELEASE SAVEPOINT"},
    {"ROLLBACK TO SAVEPOINT s", "TransactionStmt", NMIG_STMT_TXCONTROL,
     "ROLLBACK TO SAVEPOINT"},
    {"PREPARE TRANSACTION 'x'", "TransactionStmt", NMIG_STMT_TXCONTROL,
     "PREPARE TRANSACTION"},
    {"COMMIT PREPARED 'x'", "TransactionStmt", NMIG_STMT_TXCONTROL,
     "COMMIT PREPARED"},
    {"ROLLBACK PREPARED 'x'", "TransactionStmt", NMIG_STMT_TXCONTROL,
     "ROLLBACK PREPARED"},
    {"CREATE INDEX CONCURRENTLY i ON t (a)", "IndexStmt", NMIG_STMT_NO_TX,
     "CREATE INDEX CONCURRENTLY"},
    {"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", "IndexStmt",
     NMIG_STMT_NO_TX, "CREATE INDEX CONCURRENTLY"},
    {"DROP INDEX CONCURRENTLY IF EXISTS i", "DropStmt", NMIG_STMT_NO_TX,
     "DROP INDEX CONCURRENTLY"},
    {"REINDEX (CONCURRENTLY) TABLE t", "ReindexStmt", NMIG_STMT_NO_TX,
     "REINDEX CONCURRENTLY"},
    {"REINDEX INDEX CONCURRENTLY i", "ReindexStmt", NMIG_STMT_NO_TX,
     "REINDEX CONCURRENTLY"},
    {"REINDEX SCHEMA s", "ReindexStmt", NMIG_STMT_NO_TX, "REINDEX SCHEMA"},
    {"REINDEX SYSTEM d", "ReindexStmt", NMIG_STMT_NO_TX, "REINDEX SYSTEM"},
    {"REINDEX DATABASE d", "ReindexStmt", NMIG_STMT_NO_TX, "REINDEX DATABASE"},
    {"VACUUM", "VacuumStmt", NMIG_STMT_NO_TX, "VACUUM"},
    {"VACUUM FULL t", "VacuumStmt", NMIG_STMT_NO_TX, "VACUUM"},
    {"VACUUM (ANALYZE, VERBOSE) t", "VacuumStmt", NMIG_STMT_NO_TX, "VACUUM"},
    {"CREATE DATABASE d", "CreatedbStmt", NMIG_STMT_NO_TX, "CREATE DATABASE"},
    {"DROP DATABASE IF EXISTS d WITH (FORCE)", "DropdbStmt", NMIG_STMT_NO_TX,
     "DROP DATABASE"},
    {"ALTER SYSTEM SET work_mem = '64MB'", "AlterSystemStmt", NMIG_STMT_NO_TX,
     "ALTER SYSTEM"},
    {"ALTER SYSTEM RESET ALL", "AlterSystemStmt", NMIG_STMT_NO_TX,
     "ALTER SYSTEM"},
    {"CREATE TABLESPACE ts LOCATION '/srv/ts'", "CreateTableSpaceStmt",
     NMIG_STMT_NO_TX, "CREATE TABLESPACE"},
    {"DROP TABLESPACE ts", "DropTableSpaceStmt", NMIG_STMT_NO_TX,
     "DROP TABLESPACE"},
    {"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
     "CreateSubscriptionStmt", NMIG_STMT_NO_TX, "CREATE SUBSCRIPTION"},
    {"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH "
     "(create_slot)",
     "CreateSubscriptionStmt", NMIG_STMT_NO_TX, "CREATE SUBSCRIPTION"},
    {"ALTER SUBSCRIPTION s REFRESH PUBLICATION", "AlterSubscriptionStmt",
     NMIG_STMT_NO_TX, "ALTER SUBSCRIPTION ... REFRESH PUBLICATION"},
    {"ALTER SUBSCRIPTION s SET PUBLICATION p", "AlterSubscriptionStmt",
     NMIG_STMT_NO_TX, "ALTER SUBSCRIPTION ... PUBLICATION with refresh"},
    {"ALTER SUBSCRIPTION s ADD PUBLICATION p WITH (refresh = true)",
     "AlterSubscriptionStmt", NMIG_STMT_NO_TX,
     "ALTER SUBSCRIPTION ... PUBLICATION with refresh"},
    {"DROP SUBSCRIPTION s", "DropSubscriptionStmt", NMIG_STMT_NO_TX,
     "DROP SUBSCRIPTION"},
    {"ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "AlterTableStmt",
     NMIG_STMT_NO_TX, "ALTER TABLE ... DETACH PARTITION CONCURRENTLY"},
    {"CLUSTER", "ClusterStmt", NMIG_STMT_NO_TX, "CLUSTER without a table name"},
    {"DISCARD ALL", "DiscardStmt", NMIG_STMT_NO_TX, "DISCARD ALL"},
    {"ALTER DATABASE d SET TABLESPACE ts", "AlterDatabaseStmt", NMIG_STMT_NO_TX,
     "ALTER DATABASE ... SET TABLESPACE"},
    /* the same families, fine in a transaction */
    {"CREATE INDEX i ON t (a)", "IndexStmt", 0, NULL},
    {"DROP INDEX i", "DropStmt", 0, NULL},
    {"REINDEX TABLE t", "ReindexStmt", 0, NULL},
    {"REINDEX (VERBOSE) INDEX i", "ReindexStmt", 0, NULL},
    {"ANALYZE t", "VacuumStmt", 0, NULL},
    {"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH "
     "(connect = false)",
     "CreateSubscriptionStmt", 0, NULL},
    {"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH "
     "(create_slot = false)",
     "CreateSubscriptionStmt", 0, NULL},
    {"ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
     "AlterSubscriptionStmt", 0, NULL},
    {"ALTER SUBSCRIPTION s ENABLE", "AlterSubscriptionStmt", 0, NULL},
    {"ALTER SUBSCRIPTION s CONNECTION 'host=y'", "AlterSubscriptionStmt", 0,
     NULL},
    {"ALTER TABLE p DETACH PARTITION c", "AlterTableStmt", 0, NULL},
    {"ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)", "AlterTableStmt", 0,
     NULL},
    {"ALTER TYPE mood ADD VALUE 'meh'", "AlterEnumStmt", 0, NULL},
    {"CLUSTER t USING i", "ClusterStmt", 0, NULL},
    {"DISCARD TEMP", "DiscardStmt", 0, NULL},
    {"ALTER DATABASE d CONNECTION LIMIT 5", "AlterDatabaseStmt", 0, NULL},
    {"ALTER DATABASE d SET search_path = app", "AlterDatabaseSetStmt", 0, NULL},
    {"SET LOCAL lock_timeout = '1s'", "VariableSetStmt", 0, NULL},
    {"LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "LockStmt", 0, NULL},
};

static void test_tx_statements(void **state)
{
	struct ctx *c = *state;
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(tx_cases) / sizeof(tx_cases[0]); i++) {
		const struct tx_case *t = &tx_cases[i];
		const struct nmig_stmt *st;
		const struct nmig_diag *d;
		int rc;

		snprintf(text, sizeof(text), "SELECT 1;\n  %s;\n", t->text);
		split(c, text);
		if (!c->sc.parse_ok || c->sc.n != 2)
			fail_msg("'%s' did not parse", t->text);
		st = &c->sc.stmts[1];
		if (strcmp(st->kind, t->kind) != 0 || st->flags != t->flags ||
		    (t->what ? !st->what || strcmp(st->what, t->what) != 0
			     : st->what != NULL))
			fail_msg("'%s': kind %s flags %u what '%s'", t->text,
				 st->kind, st->flags,
				 st->what ? st->what : "(null)");
		/*
		 * A non-transactional migration may hold any of them but an
		 * end of a transaction or a savepoint where the file opened
		 * none: each statement runs in autocommit there.
		 */
		if ((t->flags & NMIG_STMT_TXCONTROL) && t->what &&
		    strcmp(t->what, "BEGIN") != 0 &&
		    strcmp(t->what, "START TRANSACTION") != 0 &&
		    strstr(t->what, "PREPARED") == NULL) {
			assert_int_equal(
			    nmig_script_check(&c->sc, 0, &c->diags),
			    NMIG_EINPUT);
			assert_non_null(strstr(c->diags.items[0].message,
					       "no transaction is open"));
			split(c, text);
		} else {
			assert_int_equal(
			    nmig_script_check(&c->sc, 0, &c->diags), NMIG_OK);
			assert_int_equal(c->diags.n, 0);
		}
		rc = nmig_script_check(&c->sc, 1, &c->diags);
		if (!t->flags) {
			assert_int_equal(rc, NMIG_OK);
			assert_int_equal(c->diags.n, 0);
			continue;
		}
		assert_int_equal(rc, NMIG_EINPUT);
		assert_int_equal(c->diags.n, 1);
		d = &c->diags.items[0];
		assert_int_equal(d->line, 2);
		assert_int_equal(d->col, 3);
		assert_non_null(d->source);
		assert_int_equal(strncmp(d->source, "  ", 2), 0);
		snprintf(text, sizeof(text),
			 t->flags == NMIG_STMT_TXCONTROL
			     ? "'%s' cannot be used in a transactional "
			       "migration"
			     : "%s cannot run inside a transaction block",
			 t->what);
		assert_string_equal(d->message, text);
		if (t->flags == NMIG_STMT_TXCONTROL) {
			assert_string_equal(d->rule, "sql-tx-control");
			/*
			 * transaction off is hinted only where it works: a
			 * lone end or savepoint fails there, a lone BEGIN
			 * leaves a transaction open
			 */
			if (strstr(t->what, "PREPARED"))
				assert_non_null(strstr(d->hint, "add '-- nmig"));
			else
				assert_null(strstr(d->hint, "add '-- nmig"));
		} else {
			assert_string_equal(d->rule, "sql-no-transaction");
			assert_string_equal(d->hint,
					    "add '-- nmig:transaction off' to "
					    "the migration's header");
		}
		assert_string_equal(nmig_error_last()->message, text);
	}
}

/* A subscription whose slot was detached earlier drops in a transaction. */
static void test_tx_drop_slotless_subscription(void **state)
{
	struct ctx *c = *state;

	split(c, "ALTER SUBSCRIPTION s DISABLE;\n"
		 "ALTER SUBSCRIPTION s SET (slot_name = NONE);\n"
		 "DROP SUBSCRIPTION s;\nDROP SUBSCRIPTION other;\n");
	assert_int_equal(c->sc.n, 4);
	assert_int_equal(c->sc.stmts[2].flags, 0);
	assert_int_equal(c->sc.stmts[3].flags, NMIG_STMT_NO_TX);
	/* the same when the text is split by the scanner */
	split(c, "ALTER SUBSCRIPTION s SET (slot_name = NONE);\n"
		 "DROP SUBSCRIPTION s;\nSELEC 1;\nDROP SUBSCRIPTION t;\n");
	assert_int_equal(c->sc.parse_ok, 0);
	assert_int_equal(c->sc.stmts[1].flags, 0);
	assert_int_equal(c->sc.stmts[2].flags, NMIG_STMT_UNPARSED);
	assert_int_equal(c->sc.stmts[3].flags, NMIG_STMT_NO_TX);
}

/* Errors of both kinds in one script, each at its statement. */
static void test_tx_every_finding(void **state)
{
	struct ctx *c = *state;

	split(c, "BEGIN;\nCREATE TABLE t (id int);\n"
		 "CREATE INDEX CONCURRENTLY i ON t (id);\nCOMMIT;\n");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 3);
	assert_int_equal(c->diags.items[0].line, 1);
	assert_int_equal(c->diags.items[1].line, 3);
	assert_int_equal(c->diags.items[2].line, 4);
	assert_string_equal(nmig_error_last()->message,
			    "'BEGIN' cannot be used in a transactional "
			    "migration");
	/* diags may be NULL: the return still tells */
	assert_int_equal(nmig_script_check(&c->sc, 1, NULL), NMIG_EINPUT);
	assert_int_equal(nmig_script_check(&c->sc, 0, NULL), NMIG_OK);
}

/*
 * A hint only suggests what works: transaction off is offered only for a
 * file whose own BEGIN ... COMMIT is whole; in a transaction-off file, an
 * end of a transaction where none is open (COMMIT AND CHAIN relying on the
 * wrapping transaction) is an error at check time, not at run time.
 */
static void test_tx_hints(void **state)
{
	struct ctx *c = *state;

	split(c, "CREATE TABLE a (id int);\nCOMMIT AND CHAIN;\n"
		 "CREATE TABLE b (id int);\n");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 1);
	assert_null(strstr(c->diags.items[0].hint, "add '-- nmig:transaction"));
	assert_non_null(strstr(c->diags.items[0].hint, "remove it"));

	split(c, "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_non_null(
	    strstr(c->diags.items[0].hint, "add '-- nmig:transaction off'"));
	/* and as transaction off it checks clean */
	reset(c);
	split(c, "BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n");
	assert_int_equal(nmig_script_check(&c->sc, 0, &c->diags), NMIG_OK);

	split(c, "CREATE TABLE a (id int);\nCOMMIT AND CHAIN;\n");
	assert_int_equal(nmig_script_check(&c->sc, 0, &c->diags), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 1);
	assert_string_equal(c->diags.items[0].message,
			    "'COMMIT AND CHAIN' would fail at run time: no "
			    "transaction is open here");
	assert_int_equal(c->diags.items[0].line, 2);

	split(c, "BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\nSELECT 2;\nCOMMIT;\n");
	assert_int_equal(nmig_script_check(&c->sc, 0, &c->diags), NMIG_OK);
}

/* ---- text helpers and encodings ----------------------------------- */

static void test_linecol(void **state)
{
	static const struct {
		const char *text;
		size_t off;
		int line, col;
		size_t line_start;
	} cases[] = {
	    {"", 0, 1, 1, 0},
	    {"abc", 0, 1, 1, 0},
	    {"abc", 2, 1, 3, 0},
	    {"abc", 99, 1, 4, 0},
	    {"a\nbc", 2, 2, 1, 2},
	    {"a\nbc", 3, 2, 2, 2},
	    {"a\n\n\nx", 4, 4, 1, 4},
	    {"é\nüx", 5, 2, 2, 3},
	    {"éé x", 5, 1, 4, 0},
	    {"名前x", 6, 1, 3, 0},
	    {"\xEF\xBB\xBFx", 3, 1, 1, 0},
	    {"\xEF\xBB\xBFx\ny", 5, 2, 1, 5},
	    {"a\r\nb", 3, 2, 1, 3},
	    {"\tx", 1, 1, 2, 0},
	};
	size_t i;
	int line, col;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);

		nmig_text_linecol(cases[i].text, len, cases[i].off, &line,
				  &col);
		if (line != cases[i].line || col != cases[i].col)
			fail_msg("case %zu: %d:%d", i, line, col);
		if (cases[i].off <= len)
			assert_ptr_equal(
			    nmig_text_line_start(cases[i].text, cases[i].off),
			    cases[i].text + cases[i].line_start);
	}
}

static void test_encoding(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		int line, col; /* 0: valid */
		const char *message;
	} cases[] = {
	    {"plain ascii\n", 12, 0, 0, NULL},
	    {"é ü 名前 😀\n", 17, 0, 0, NULL},
	    {"\xEF\xBB\xBF-- bom\n", 10, 0, 0, NULL},
	    {"\xF4\x8F\xBF\xBF", 4, 0, 0, NULL}, /* U+10FFFF */
	    {"ab\ncd\0ef", 8, 2, 3, "NUL byte"},
	    {"\0", 1, 1, 1, "NUL byte"},
	    {"x\n'caf\xe9'", 7, 2, 5, "(byte 0xe9)"}, /* latin-1 */
	    {"\xff", 1, 1, 1, "(byte 0xff)"},
	    {"\xC0\x80", 2, 1, 1, "(byte 0xc0)"},	  /* overlong NUL */
	    {"\xE0\x80\xAF", 3, 1, 1, "(byte 0xe0)"},	  /* overlong */
	    {"ok\xED\xA0\x80", 5, 1, 3, "(byte 0xed)"},	  /* surrogate */
	    {"\xF4\x90\x80\x80", 4, 1, 1, "(byte 0xf4)"}, /* too big */
	    {"\xF5\x80\x80\x80", 4, 1, 1, "(byte 0xf5)"},
	    {"é\xE2\x82", 4, 1, 2, "(byte 0xe2)"}, /* truncated */
	    {"\x80", 1, 1, 1, "(byte 0x80)"},	   /* lone continuation */
	    {"\xC3\x28", 2, 1, 1, "(byte 0xc3)"},
	};
	const struct nmig_error *e = nmig_error_last();
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = nmig_text_check_encoding("m/x.sql", cases[i].text,
					      cases[i].len);
		if (!cases[i].line) {
			if (rc != NMIG_OK)
				fail_msg("case %zu: %s", i, e->message);
			continue;
		}
		if (rc != NMIG_EINPUT || e->line != cases[i].line ||
		    e->col != cases[i].col ||
		    !strstr(e->message, cases[i].message) ||
		    strcmp(e->file, "m/x.sql") != 0 || !e->hint[0])
			fail_msg("case %zu: rc %d at %d:%d '%s'", i, rc,
				 e->line, e->col, e->message);
	}
}

/* The one UTF-8 decoder: lengths, code points and every kind of refusal. */
static void test_utf8_seq(void **state)
{
	static const struct {
		const char *s;
		size_t n;   /* bytes that may be read */
		size_t len; /* expected length, 0: invalid */
		unsigned cp;
	} cases[] = {
	    {"A", 1, 1, 0x41},
	    {"\t", 1, 1, 0x09},
	    {"\xc3\xa9", 2, 2, 0xe9},
	    {"\xe2\x82\xac", 3, 3, 0x20ac},
	    {"\xf0\x9f\x98\x80", 4, 4, 0x1f600},
	    {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
	    {"\xc3\xa9", SIZE_MAX, 2, 0xe9},
	    {"\xc3", SIZE_MAX, 0, 0},	   /* truncated by the NUL */
	    {"\xe2\x82\xac", 2, 0, 0},	   /* truncated by n */
	    {"\xc0\xaf", 2, 0, 0},	   /* overlong lead byte */
	    {"\xe0\x80\xaf", 3, 0, 0},	   /* overlong */
	    {"\xf0\x8f\xbf\xbf", 4, 0, 0}, /* overlong */
	    {"\xed\xa0\x80", 3, 0, 0},	   /* surrogate */
	    {"\xf4\x90\x80\x80", 4, 0, 0}, /* beyond U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, 0, 0}, /* bad lead byte */
	    {"\x80", 1, 0, 0},		   /* lone continuation */
	    {"\xc3"
	     "A",
	     2, 0, 0},	    /* not a continuation */
	    {"A", 0, 0, 0}, /* nothing to read */
	};
	size_t i, len;
	unsigned cp;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cp = 0xdead;
		len = nmig_text_utf8_seq((const unsigned char *)cases[i].s,
					 cases[i].n, &cp);
		if (len != cases[i].len || (len && cp != cases[i].cp) ||
		    (!len && cp != 0xdead))
			fail_msg("case %zu: length %zu, code point %x", i, len,
				 cp);
		assert_int_equal(
		    nmig_text_utf8_seq((const unsigned char *)cases[i].s,
				       cases[i].n, NULL),
		    cases[i].len);
	}
}

/* Binary garbage is refused when loading, naming file and line. */
static void test_garbage_refused(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(nmig_script_from_text(&c->sc, "m/bin.sql",
					       "SELECT 1;\nSELECT\0 2;", 20),
			 NMIG_EINPUT);
	assert_int_equal(nmig_error_last()->line, 2);
	assert_int_equal(nmig_error_last()->col, 7);
	assert_string_equal(nmig_error_last()->file, "m/bin.sql");
	assert_null(c->sc.text);
	assert_int_equal(c->sc.n, 0);
	assert_int_equal(
	    nmig_script_from_text(&c->sc, "m/l1.sql", "SELECT 'caf\xe9';", 15),
	    NMIG_EINPUT);
	assert_non_null(strstr(nmig_error_last()->message, "UTF-8"));
}

/* ---- files -------------------------------------------------------- */

static void load_sql_fixture(struct ctx *c, const char *name)
{
	reset(c);
	snprintf(c->path, sizeof(c->path), "%s/sql/%s", fixtures(), name);
	if (nmig_script_load(&c->sc, c->path, NMIG_MAX_FILE_SIZE))
		fail_msg("loading '%s': %s", c->path,
			 nmig_error_last()->message);
}

static void test_fixture_files(void **state)
{
	static const char *const kinds[] = {"CreateFunctionStmt", "DoStmt",
					    "CreateFunctionStmt", "RuleStmt",
					    "SelectStmt"};
	static const int lines[] = {3, 11, 20, 26, 31};
	struct ctx *c = *state;
	size_t i;

	load_sql_fixture(c, "bodies.sql");
	assert_int_equal(c->sc.parse_ok, 1);
	assert_int_equal(c->sc.n, 5);
	for (i = 0; i < 5; i++) {
		assert_string_equal(c->sc.stmts[i].kind, kinds[i]);
		assert_int_equal(c->sc.stmts[i].line, lines[i]);
		assert_int_equal(c->sc.stmts[i].col, 1 + (i == 4 ? 53 : 0));
	}
	assert_int_equal(strncmp(c->sc.text + c->sc.stmts[4].offset,
				 "SELECT 'ok; done'", c->sc.stmts[4].len),
			 0);
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_OK);
	assert_int_equal(c->diags.n, 0);

	load_sql_fixture(c, "syntax_error.sql");
	assert_int_equal(c->sc.parse_ok, 0);
	assert_int_equal(c->sc.n, 3);
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_int_equal(c->diags.n, 1);
	assert_string_equal(c->diags.items[0].file, c->path);
	assert_int_equal(c->diags.items[0].line, 6);
	assert_int_equal(c->diags.items[0].col, 8);
	assert_string_equal(c->diags.items[0].source,
			    "CREATE TABLEX task_tags (task_id bigint, tag "
			    "text);");

	load_sql_fixture(c, "newer_syntax.sql");
	assert_int_equal(c->sc.parse_ok, 0);
	assert_int_equal(c->sc.n, 3);
	assert_int_equal(c->sc.stmts[0].flags, NMIG_STMT_UNPARSED);
	assert_int_equal(c->sc.stmts[1].flags, NMIG_STMT_UNPARSED);
	assert_string_equal(c->sc.stmts[2].kind, "SelectStmt");
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_OK);
	assert_int_equal(c->diags.warnings, 2);
	assert_int_equal(c->diags.errors, 0);
	assert_int_equal(c->diags.items[0].line, 5);
	assert_int_equal(c->diags.items[1].line, 11);

	load_sql_fixture(c, "concurrently.sql");
	assert_int_equal(c->sc.n, 2);
	assert_int_equal(nmig_script_check(&c->sc, 0, &c->diags), NMIG_OK);
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 2);

	load_sql_fixture(c, "empty.sql");
	assert_int_equal(c->sc.n, 0);
	assert_int_equal(c->sc.len, 0);
	assert_string_equal(c->sc.text, "");
	assert_int_equal(c->sc.parse_ok, 1);
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_OK);

	load_sql_fixture(c, "comments_only.sql");
	assert_int_equal(c->sc.n, 0);
	assert_int_equal(nmig_script_check(&c->sc, 1, &c->diags), NMIG_OK);
	assert_int_equal(c->diags.n, 0);
}

/* nmig_script_read: the bytes nmig_script_load reads, not split. */
static void test_read_unsplit(void **state)
{
	struct ctx *c = *state;
	struct nmig_script whole = {0};

	load_sql_fixture(c, "bodies.sql");
	assert_int_equal(nmig_script_read(&whole, c->path, NMIG_MAX_FILE_SIZE),
			 NMIG_OK);
	assert_string_equal(whole.path, c->path);
	assert_int_equal(whole.len, c->sc.len);
	assert_memory_equal(whole.text, c->sc.text, whole.len);
	assert_int_equal(whole.n, 0);
	assert_null(whole.stmts);
	nmig_script_release(&whole);
	/* The same size cap and missing-file error as a load. */
	assert_int_equal(nmig_script_read(&whole, c->path, 100), NMIG_EINPUT);
	assert_non_null(strstr(nmig_error_last()->message, "limit of 100"));
	assert_null(whole.text);
	snprintf(c->path, sizeof(c->path), "%s/sql/no-such-file.sql",
		 fixtures());
	assert_int_equal(nmig_script_read(&whole, c->path, 1024), NMIG_EIO);
	assert_string_equal(nmig_error_last()->file, c->path);
	assert_null(whole.text);
}

/* nmig_script_body: the SQL starts after a UTF-8 byte order mark. */
static void test_body_after_bom(void **state)
{
	struct ctx *c = *state;

	reset(c);
	assert_int_equal(nmig_script_from_text(&c->sc, "m/bom.sql",
					       "\xef\xbb\xbfSELECT 1;", 12),
			 NMIG_OK);
	assert_int_equal(nmig_script_body(&c->sc), 3);
	assert_string_equal(c->sc.text + nmig_script_body(&c->sc),
			    "SELECT 1;");
	reset(c);
	assert_int_equal(
	    nmig_script_from_text(&c->sc, "m/plain.sql", "SELECT 1;", 9),
	    NMIG_OK);
	assert_int_equal(nmig_script_body(&c->sc), 0);
	reset(c);
	assert_int_equal(nmig_script_from_text(&c->sc, "m/e.sql", "", 0),
			 NMIG_OK);
	assert_int_equal(nmig_script_body(&c->sc), 0);
}

static void test_load_errors(void **state)
{
	struct ctx *c = *state;

	snprintf(c->path, sizeof(c->path), "%s/sql/no-such-file.sql",
		 fixtures());
	assert_int_equal(nmig_script_load(&c->sc, c->path, 1024), NMIG_EIO);
	assert_non_null(strstr(nmig_error_last()->message, "no-such-file"));
	assert_string_equal(nmig_error_last()->file, c->path);
	assert_null(c->sc.text);
	snprintf(c->path, sizeof(c->path), "%s/sql/bodies.sql", fixtures());
	assert_int_equal(nmig_script_load(&c->sc, c->path, 100), NMIG_EINPUT);
	assert_non_null(strstr(nmig_error_last()->message, "limit of 100"));
	assert_null(c->sc.text);
}

/* ---- corpora ------------------------------------------------------ */

/* Check one corpus file; counts what it found. */
static void check_corpus_file(struct ctx *c, const char *path, size_t *files,
			      size_t *stmts, size_t *no_tx)
{
	size_t i;

	reset(c);
	if (nmig_script_load(&c->sc, path, NMIG_MAX_FILE_SIZE))
		fail_msg("%s: %s", path, nmig_error_last()->message);
	/*
	 * Checked as non-transactional; the one finding allowed is a
	 * transaction end the file did not open (sourcegraph's COMMIT AND
	 * CHAIN relies on the wrapping transaction: see docs/ci.md).
	 */
	nmig_script_check(&c->sc, 0, &c->diags);
	for (i = 0; i < c->diags.n; i++)
		if (!strstr(c->diags.items[i].message,
			    "AND CHAIN' would fail at run time"))
			break;
	if (!c->sc.parse_ok || i < c->diags.n)
		fail_msg("%s: parse_ok %d, %zu findings, first '%s'", path,
			 c->sc.parse_ok, c->diags.n,
			 c->diags.n ? c->diags.items[0].message : "");
	for (i = 0; i < c->sc.n; i++) {
		assert_non_null(c->sc.stmts[i].kind);
		assert_true(c->sc.stmts[i].offset + c->sc.stmts[i].len <=
			    c->sc.len);
		if (c->sc.stmts[i].flags & NMIG_STMT_NO_TX)
			(*no_tx)++;
	}
	(*files)++;
	*stmts += c->sc.n;
}

/* Every .sql file of dir and of its subdirectories (one level). */
static void check_corpus_dir(struct ctx *c, const char *dir, int depth,
			     size_t *files, size_t *stmts, size_t *no_tx)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char sub[2048];
	size_t n;
	struct stat st;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (stat(sub, &st) != 0)
			continue;
		n = strlen(de->d_name);
		if (S_ISDIR(st.st_mode) && depth > 0)
			check_corpus_dir(c, sub, depth - 1, files, stmts,
					 no_tx);
		else if (S_ISREG(st.st_mode) && n > 4 &&
			 !strcmp(de->d_name + n - 4, ".sql"))
			check_corpus_file(c, sub, files, stmts, no_tx);
	}
	closedir(d);
}

/* Real histories parse without a finding; sourcegraph's one
 * createIndexConcurrently migration is the one NO_TX statement. */
static void test_corpora(void **state)
{
	struct ctx *c = *state;
	const char *env = getenv("NMIG_CORPORA");
	char root[1024];
	struct stat st;
	size_t files = 0, stmts = 0, no_tx = 0;

	if (env && *env)
		snprintf(root, sizeof(root), "%s", env);
	else
		snprintf(root, sizeof(root), "%s/../../../shared/corpora",
			 fixtures());
	if (stat(root, &st) != 0) {
		print_message("SKIPPED: corpora '%s' are not there (set "
			      "NMIG_CORPORA to the corpora folder)\n",
			      root);
		skip();
	}
	check_corpus_dir(c, root, 2, &files, &stmts, &no_tx);
	print_message("corpora: %zu files, %zu statements, %zu that cannot "
		      "run in a transaction\n",
		      files, stmts, no_tx);
	assert_true(files > 600);
	assert_int_equal(no_tx, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_split),
	    T(test_syntax),
	    T(test_syntax_every_error),
	    T(test_copy_from_stdin),
	    T(test_bom_in_middle),
	    T(test_syntax_accepted),
	    T(test_tx_statements),
	    T(test_tx_drop_slotless_subscription),
	    T(test_tx_every_finding),
	    T(test_tx_hints),
	    T(test_linecol),
	    T(test_encoding),
	    T(test_utf8_seq),
	    T(test_garbage_refused),
	    T(test_fixture_files),
	    T(test_load_errors),
	    T(test_read_unsplit),
	    T(test_body_after_bom),
	    T(test_corpora),
	};
#undef T

	return cmocka_run_group_tests_name("sqlscript", tests, NULL, NULL);
}
