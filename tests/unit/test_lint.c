/*
 * Unit tests of lint (lib/lint/). Data-driven first: every rule has a
 * fixture migrations directory that triggers it (bad/) and one that lints
 * clean (good/) under tests/fixtures/lint/<rule>/, loaded with the real
 * revision loader; docs/lint.md must describe every rule. Then the edges
 * of each rule as SQL snippets, locations, levels and the config keys,
 * lint-ignore, history mode, unparsable files, down-does-not-undo, and the
 * promise of the credential rules: the secret never appears in a finding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "buf.h"
#include "diag.h"
#include "error.h"
#include "lint.h"
#include "revfile.h"

#include <pg_query.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CANARY "hunter2-canary"

static const char *fixtures(void)
{
	const char *f = getenv("NMIG_FIXTURES");

	return f && *f ? f : "tests/fixtures";
}

/* How many findings of rule d holds. */
static size_t count_rule(const struct nmig_diags *d, const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->items[i].rule, rule) == 0)
			n++;
	return n;
}

/* The first finding of rule, or NULL. */
static const struct nmig_diag *find_rule(const struct nmig_diags *d,
					 const char *rule)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->items[i].rule, rule) == 0)
			return &d->items[i];
	return NULL;
}

/* Print the findings, so that a failing assertion shows what was found. */
static void dump(const struct nmig_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		print_message("  %s:%d:%d: [%s] %s\n",
			      d->items[i].file ? d->items[i].file : "-",
			      d->items[i].line, d->items[i].col,
			      d->items[i].rule, d->items[i].message);
}

/* Lint every revision of the migrations directory dir strictly. */
static int lint_dir(const char *dir, const struct nmig_lint_config *cfg,
		    struct nmig_diags *out)
{
	struct nmig_revset set;
	struct nmig_diags load = NMIG_DIAGS_INIT;
	size_t i;
	int rc;

	memset(&set, 0, sizeof(set));
	rc = nmig_revset_load(&set, dir, &load);
	if (rc < 0 || load.errors) {
		dump(&load);
		print_message("cannot load '%s': %s\n", dir,
			      nmig_error_last()->message);
		nmig_revset_release(&set);
		nmig_diags_release(&load);
		return rc < 0 ? rc : NMIG_EINPUT;
	}
	for (i = 0; i < set.n && rc == NMIG_OK; i++)
		rc = nmig_lint_revision(&set.revs[i], cfg, out);
	nmig_revset_release(&set);
	nmig_diags_release(&load);
	return rc;
}

/* Lint SQL text as a transactional (or not) up file. */
static int lint_text(const char *sql, int transactional,
		     const struct nmig_lint_config *cfg, struct nmig_diags *out)
{
	return nmig_lint_sql("t.up.sql", sql, strlen(sql), transactional, cfg,
			     out);
}

/* Run a shell command; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	struct nmig_buf cmd = NMIG_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	nmig_buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd.ptr);
	nmig_buf_release(&cmd);
	return rc;
}

/* A scratch directory; removed by rmtree(). */
static void make_tmpdir(char *buf, size_t size, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, size, "%s/nmig-lint-%s-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", tag);
	assert_non_null(mkdtemp(buf));
}

static void rmtree(const char *dir)
{
	assert_int_equal(sh("rm -rf '%s'", dir), 0);
}

/* Write text to dir/name. */
static void write_file(const char *dir, const char *name, const char *text)
{
	struct nmig_buf path = NMIG_BUF_INIT;
	FILE *f;

	nmig_buf_printf(&path, "%s/%s", dir, name);
	f = fopen(path.ptr, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	nmig_buf_release(&path);
}

static void test_rule_table(void **state)
{
	const struct nmig_lint_rule *r = nmig_lint_rules();
	int i, j;
	const char *p;

	(void)state;
	for (i = 0; i < NMIG_LINT_NRULES; i++) {
		assert_non_null(r[i].name);
		assert_true(strlen(r[i].why) > 20);
		assert_true(strlen(r[i].fix) > 5);
		/* lower-case kebab-case, stable */
		for (p = r[i].name; *p; p++)
			assert_true(islower((unsigned char)*p) || *p == '-');
		/* one line each, no full stop */
		assert_null(strchr(r[i].why, '\n'));
		assert_null(strchr(r[i].fix, '\n'));
		assert_int_not_equal(r[i].why[strlen(r[i].why) - 1], '.');
		assert_int_not_equal(r[i].fix[strlen(r[i].fix) - 1], '.');
		assert_true(r[i].level == NMIG_LINT_ERROR ||
			    r[i].level == NMIG_LINT_WARNING);
		assert_int_equal(nmig_lint_rule_find(r[i].name), i);
		for (j = 0; j < i; j++)
			assert_string_not_equal(r[i].name, r[j].name);
	}
	assert_int_equal(nmig_lint_rule_find("no-such-rule"), -1);
	/* the two the issue names are errors by default */
	assert_int_equal(r[NMIG_LINT_CONCURRENT_INDEX_CREATION].level,
			 NMIG_LINT_ERROR);
	assert_int_equal(r[NMIG_LINT_ROLE_PASSWORD].level, NMIG_LINT_ERROR);
	assert_string_equal(nmig_lint_level_name(NMIG_LINT_OFF), "off");
	assert_string_equal(nmig_lint_level_name(NMIG_LINT_ERROR), "error");
}

/* docs/lint.md has a section for every rule, with its default level. */
static void test_docs_cover_rules(void **state)
{
	const struct nmig_lint_rule *r = nmig_lint_rules();
	struct nmig_buf path = NMIG_BUF_INIT, text = NMIG_BUF_INIT;
	struct nmig_buf want = NMIG_BUF_INIT;
	int i;

	(void)state;
	nmig_buf_printf(&path, "%s/../../docs/lint.md", fixtures());
	assert_int_equal(nmig_buf_read_file(&text, path.ptr, 1 << 20), NMIG_OK);
	for (i = 0; i < NMIG_LINT_NRULES; i++) {
		nmig_buf_clear(&want);
		nmig_buf_printf(&want, "\n### %s\n", r[i].name);
		if (!strstr(text.ptr, want.ptr))
			fail_msg("docs/lint.md has no section '### %s'",
				 r[i].name);
		nmig_buf_clear(&want);
		nmig_buf_printf(&want, "\n### %s\n\nSeverity: %s", r[i].name,
				nmig_lint_level_name(r[i].level));
		if (!strstr(text.ptr, want.ptr))
			fail_msg("docs/lint.md does not give '%s' its default "
				 "severity '%s'",
				 r[i].name, nmig_lint_level_name(r[i].level));
	}
	nmig_buf_release(&want);
	nmig_buf_release(&text);
	nmig_buf_release(&path);
}

/* Every SQL rule: bad/ triggers it, good/ lints without any finding. */
static void test_fixtures(void **state)
{
	const struct nmig_lint_rule *r = nmig_lint_rules();
	struct nmig_lint_config cfg;
	struct nmig_buf dir = NMIG_BUF_INIT;
	int i;

	(void)state;
	nmig_lint_config_init(&cfg);
	for (i = 0; i < NMIG_LINT_NRULES; i++) {
		struct nmig_diags bad = NMIG_DIAGS_INIT;
		struct nmig_diags good = NMIG_DIAGS_INIT;

		if (r[i].flags & NMIG_LINT_PROJECT)
			continue;
		nmig_buf_clear(&dir);
		nmig_buf_printf(&dir, "%s/lint/%s/bad", fixtures(), r[i].name);
		assert_int_equal(lint_dir(dir.ptr, &cfg, &bad), NMIG_OK);
		if (!count_rule(&bad, r[i].name)) {
			dump(&bad);
			fail_msg("'%s' does not trigger '%s'", dir.ptr,
				 r[i].name);
		}
		nmig_buf_clear(&dir);
		nmig_buf_printf(&dir, "%s/lint/%s/good", fixtures(), r[i].name);
		assert_int_equal(lint_dir(dir.ptr, &cfg, &good), NMIG_OK);
		if (good.n) {
			dump(&good);
			fail_msg("'%s' is not clean", dir.ptr);
		}
		nmig_diags_release(&bad);
		nmig_diags_release(&good);
	}
	nmig_buf_release(&dir);
}

/* No field of any finding may carry the fixture secret. */
static void assert_no_canary(const struct nmig_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *it = &d->items[i];

		assert_null(strstr(it->message, CANARY));
		assert_null(strstr(it->message, "hunter2"));
		if (it->source)
			assert_null(strstr(it->source, "hunter2"));
		if (it->hint)
			assert_null(strstr(it->hint, "hunter2"));
		if (it->file)
			assert_null(strstr(it->file, "hunter2"));
	}
}

/* The credential rules' findings never show the secret or its line. */
static void test_secrets_never_echoed(void **state)
{
	static const char *const rules[] = {
	    "role-password",
	    "user-mapping-password",
	    "connection-string-password",
	    NULL,
	};
	struct nmig_lint_config cfg;
	struct nmig_buf dir = NMIG_BUF_INIT;
	int i;

	(void)state;
	nmig_lint_config_init(&cfg);
	for (i = 0; rules[i]; i++) {
		struct nmig_diags d = NMIG_DIAGS_INIT;
		const struct nmig_diag *it;

		nmig_buf_clear(&dir);
		nmig_buf_printf(&dir, "%s/lint/%s/bad", fixtures(), rules[i]);
		assert_int_equal(lint_dir(dir.ptr, &cfg, &d), NMIG_OK);
		it = find_rule(&d, rules[i]);
		assert_non_null(it);
		assert_int_equal(it->severity, NMIG_SEV_ERROR);
		assert_null(it->source);
		assert_true(it->line > 0);
		assert_no_canary(&d);
		nmig_diags_release(&d);
	}
	nmig_buf_release(&dir);
}

/*
 * A finding of any rule on a line that also holds a secret shows the line
 * with the secret masked: PASSWORD literals, password options, connection
 * strings -- also in the syntax errors lint passes on.
 */
static void test_secret_masked_in_sources(void **state)
{
	static const char *const sqls[] = {
	    "CREATE INDEX i ON users (email); ALTER ROLE app PASSWORD '" CANARY
	    "';\n",
	    "CREATE INDEX i ON users (email); CREATE USER MAPPING FOR app "
	    "SERVER s OPTIONS (user 'app', password '" CANARY "');\n",
	    "CREATE INDEX i ON users (email); SELECT dblink_connect("
	    "'host=h password=" CANARY "');\n",
	    "CREATE INDEX i ON users (email); SELECT dblink_connect(\n"
	    "'host=h user=u password=" CANARY "'); CREATE TABLE t (a json);\n",
	    "ALTER ROLE app PASSWORD '" CANARY "'; CREAT TABLE oops ();\n",
	};
	struct nmig_lint_config cfg;
	size_t i, j;

	(void)state;
	nmig_lint_config_init(&cfg);
	for (i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		struct nmig_diags d = NMIG_DIAGS_INIT;
		int shown = 0;

		lint_text(sqls[i], 1, &cfg, &d);
		for (j = 0; j < d.n; j++)
			if (d.items[j].source &&
			    strstr(d.items[j].source, "'***'"))
				shown++;
		if (!shown) {
			dump(&d);
			fail_msg("case %zu: no finding shows a masked line", i);
		}
		assert_no_canary(&d);
		nmig_diags_release(&d);
	}
}

static void test_config_password(void **state)
{
	struct nmig_lint_config cfg;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	struct nmig_buf path = NMIG_BUF_INIT;
	const struct nmig_diag *it;

	(void)state;
	nmig_lint_config_init(&cfg);
	nmig_buf_printf(&path, "%s/lint/config-password/bad/nmig.conf",
			fixtures());
	assert_int_equal(nmig_lint_project(NULL, path.ptr, &cfg, &d), NMIG_OK);
	it = find_rule(&d, "config-password");
	assert_non_null(it);
	assert_int_equal(it->severity, NMIG_SEV_ERROR);
	assert_int_equal(it->line, 3);
	assert_string_equal(it->file, path.ptr);
	assert_non_null(strstr(it->message, "'url_env'"));
	assert_null(it->source);
	assert_no_canary(&d);
	nmig_diags_release(&d);

	nmig_buf_clear(&path);
	nmig_buf_printf(&path, "%s/lint/config-password/good/nmig.conf",
			fixtures());
	assert_int_equal(nmig_lint_project(NULL, path.ptr, &cfg, &d), NMIG_OK);
	assert_int_equal(d.n, 0);

	/* a rule named after passwords, a variable name, comments */
	{
		char dir[512];
		struct nmig_buf conf = NMIG_BUF_INIT;

		make_tmpdir(dir, sizeof(dir), "pw");
		nmig_buf_printf(&conf, "%s/nmig.conf", dir);
		write_file(
		    dir, "nmig.conf",
		    "\xEF\xBB\xBFlint.role-password = off # the seed role\n"
		    "password_env = PGPASSWORD\n"
		    "url_env = \"DATABASE_URL\" # postgres://a:b@h/db\n");
		assert_int_equal(nmig_lint_project(NULL, conf.ptr, &cfg, &d),
				 NMIG_OK);
		dump(&d);
		assert_int_equal(d.n, 0);
		write_file(dir, "nmig.conf",
			   "db_password = '" CANARY "'\n"
			   "lint.prefer-text = postgres://u:" CANARY "@h/db\n");
		assert_int_equal(nmig_lint_project(NULL, conf.ptr, &cfg, &d),
				 NMIG_OK);
		assert_int_equal(count_rule(&d, "config-password"), 2);
		assert_int_equal(d.items[0].line, 1);
		assert_int_equal(d.items[0].col, 16);
		assert_no_canary(&d);
		nmig_diags_release(&d);
		nmig_buf_release(&conf);
		rmtree(dir);
	}

	/* off: not even read */
	nmig_buf_clear(&path);
	nmig_buf_printf(&path, "%s/lint/config-password/bad/nmig.conf",
			fixtures());
	cfg.level[NMIG_LINT_CONFIG_PASSWORD] = NMIG_LINT_OFF;
	assert_int_equal(nmig_lint_project(NULL, path.ptr, &cfg, &d), NMIG_OK);
	assert_int_equal(d.n, 0);

	/* a missing config file is an I/O error */
	cfg.level[NMIG_LINT_CONFIG_PASSWORD] = NMIG_LINT_ERROR;
	assert_int_equal(
	    nmig_lint_project(NULL, "/nonexistent/nmig.conf", &cfg, &d),
	    NMIG_EIO);
	nmig_diags_release(&d);
	nmig_buf_release(&path);
}

/* env-file-tracked: a scratch git work tree with .env added (bad) or
 * ignored (good). */
static void test_env_tracked(void **state)
{
	static const char *const kinds[] = {"bad", "good"};
	struct nmig_lint_config cfg;
	char dir[512];
	int i;

	(void)state;
	if (sh("git --version >/dev/null 2>&1") != 0)
		skip();
	nmig_lint_config_init(&cfg);
	for (i = 0; i < 2; i++) {
		struct nmig_diags d = NMIG_DIAGS_INIT;
		const struct nmig_diag *it;

		make_tmpdir(dir, sizeof(dir), "env");
		assert_int_equal(
		    sh("cd '%s' && git init -q . && "
		       "cp '%s/lint/env-file-tracked/%s/dotenv' .env && "
		       "{ [ ! -f '%s/lint/env-file-tracked/%s/gitignore' ] "
		       "|| cp '%s/lint/env-file-tracked/%s/gitignore' "
		       ".gitignore; } && git add -A",
		       dir, fixtures(), kinds[i], fixtures(), kinds[i],
		       fixtures(), kinds[i]),
		    0);
		assert_int_equal(nmig_lint_project(dir, NULL, &cfg, &d),
				 NMIG_OK);
		it = find_rule(&d, "env-file-tracked");
		if (i == 0) {
			assert_non_null(it);
			assert_int_equal(it->severity, NMIG_SEV_ERROR);
			assert_non_null(strstr(it->message, ".env"));
		} else {
			assert_int_equal(d.n, 0);
		}
		assert_no_canary(&d);
		nmig_diags_release(&d);
		rmtree(dir);
	}
	/* not a work tree: nothing to say */
	make_tmpdir(dir, sizeof(dir), "env");
	assert_int_equal(sh("cp '%s/lint/env-file-tracked/bad/dotenv' "
			    "'%s/.env'",
			    fixtures(), dir),
			 0);
	{
		struct nmig_diags d = NMIG_DIAGS_INIT;

		assert_int_equal(nmig_lint_project(dir, NULL, &cfg, &d),
				 NMIG_OK);
		assert_int_equal(d.n, 0);
	}
	rmtree(dir);
}

struct sql_case {
	const char *rule;
	int transactional;
	int expect; /* findings of rule */
	const char *sql;
};

/* The edges of the rules, one snippet each. */
static const struct sql_case sql_cases[] = {
    /* existing vs new tables */
    {"require-concurrent-index-creation", 1, 0,
     "CREATE TABLE t (id bigint PRIMARY KEY, email text);\n"
     "CREATE INDEX t_email ON t (email);"},
    {"require-concurrent-index-creation", 1, 0,
     "CREATE TABLE app.t (id bigint PRIMARY KEY, email text);\n"
     "CREATE INDEX t_email ON t (email);"},
    {"require-concurrent-index-creation", 1, 1,
     "CREATE TABLE app.t (id bigint);\n"
     "CREATE INDEX t_id ON other.t (id);"},
    {"require-concurrent-index-creation", 1, 1,
     "CREATE INDEX ON users (email);"},
    {"require-concurrent-index-creation", 1, 1,
     "CREATE UNIQUE INDEX users_email ON public.users (email);"},
    {"require-concurrent-index-creation", 0, 0,
     "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON users (email);"},
    {"require-concurrent-index-creation", 1, 1,
     "CREATE TABLE t (id bigint);\nDROP TABLE t;\n"
     "CREATE INDEX i ON t (id);"},
    {"require-concurrent-index-creation", 1, 0,
     "CREATE TABLE t (id bigint);\nALTER TABLE t RENAME TO u;\n"
     "CREATE INDEX i ON u (id);"},
    {"require-concurrent-index-deletion", 1, 0,
     "CREATE INDEX CONCURRENTLY i ON users (a);\nDROP INDEX i;"},
    {"require-concurrent-index-deletion", 1, 2, "DROP INDEX IF EXISTS a, b;"},
    /* the index's table is dropped later in the file: no lock is saved */
    {"require-concurrent-index-deletion", 1, 0,
     "DROP INDEX users_email_idx;\nDROP INDEX users_pkey;\n"
     "DROP INDEX index_users_on_name;\nDROP TABLE users;"},
    {"require-concurrent-index-deletion", 1, 0,
     "DROP INDEX public.users_email_key;\nDROP TABLE public.users;"},
    /* ... but not a table dropped before, another table, another schema,
     * or a name that only starts like the table */
    {"require-concurrent-index-deletion", 1, 1,
     "DROP TABLE users;\nDROP INDEX users_email_idx;"},
    {"require-concurrent-index-deletion", 1, 1,
     "DROP INDEX orders_user_idx;\nDROP TABLE users;"},
    {"require-concurrent-index-deletion", 1, 1,
     "DROP INDEX a.users_email_idx;\nDROP TABLE b.users;"},
    {"require-concurrent-index-deletion", 1, 1,
     "DROP INDEX users_email;\nDROP TABLE users;"},
    /* defaults */
    {"adding-volatile-default", 1, 1,
     "ALTER TABLE public.users ADD COLUMN x float8 DEFAULT random();"},
    {"adding-volatile-default", 1, 1,
     "ALTER TABLE users ADD COLUMN x text DEFAULT "
     "md5(clock_timestamp()::text);"},
    {"adding-volatile-default", 1, 1,
     "ALTER TABLE users ADD COLUMN x bigserial;"},
    {"adding-volatile-default", 1, 1,
     "ALTER TABLE users ADD COLUMN x bigint GENERATED ALWAYS AS "
     "IDENTITY;"},
    {"adding-volatile-default", 1, 1,
     "ALTER TABLE users ADD COLUMN x int GENERATED ALWAYS AS (a * 2) "
     "STORED;"},
    {"adding-volatile-default", 1, 0,
     "ALTER TABLE users ADD COLUMN x int DEFAULT 0;"},
    {"adding-volatile-default", 1, 0,
     "ALTER TABLE users ADD COLUMN x timestamptz DEFAULT "
     "CURRENT_TIMESTAMP;"},
    {"adding-volatile-default", 1, 0,
     "CREATE TABLE t (id bigint);\n"
     "ALTER TABLE t ADD COLUMN x uuid DEFAULT gen_random_uuid();"},
    {"adding-required-column", 1, 0,
     "ALTER TABLE users ADD COLUMN x int NOT NULL DEFAULT 0;"},
    {"adding-required-column", 1, 1,
     "ALTER TABLE users ADD COLUMN x bigint PRIMARY KEY;"},
    {"adding-required-column", 1, 0,
     "ALTER TABLE users ADD COLUMN x bigint NOT NULL GENERATED ALWAYS "
     "AS IDENTITY;"},
    {"adding-required-column", 1, 0,
     "CREATE TABLE t (id bigint);\n"
     "ALTER TABLE t ADD COLUMN x int NOT NULL;"},
    {"setting-not-null", 1, 0,
     "CREATE TABLE t (a int);\n"
     "ALTER TABLE t ALTER COLUMN a SET NOT NULL;"},
    /* constraints */
    {"constraint-missing-not-valid", 1, 1,
     "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0);"},
    {"constraint-missing-not-valid", 1, 0,
     "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID;"},
    {"constraint-missing-not-valid", 1, 1,
     "ALTER TABLE users ADD COLUMN team_id bigint REFERENCES teams "
     "(id);"},
    {"constraint-missing-not-valid", 1, 0,
     "ALTER TABLE users VALIDATE CONSTRAINT c;"},
    {"unique-constraint-without-index", 1, 0,
     "ALTER TABLE users ADD PRIMARY KEY USING INDEX users_id_idx;"},
    {"unique-constraint-without-index", 1, 1,
     "ALTER TABLE users ADD CONSTRAINT no_overlap EXCLUDE USING gist "
     "(period WITH &&);"},
    {"unique-constraint-without-index", 1, 1,
     "ALTER TABLE users ADD COLUMN handle text UNIQUE;"},
    {"unique-constraint-without-index", 1, 0,
     "CREATE TABLE t (a int);\nALTER TABLE t ADD PRIMARY KEY (a);"},
    {"changing-column-type", 1, 1,
     "ALTER TABLE users ALTER COLUMN name TYPE text;"},
    {"changing-column-type", 1, 0,
     "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x';"},
    /* renames and drops */
    {"renaming-table", 1, 1,
     "ALTER TABLE users RENAME TO accounts;\n"
     "CREATE VIEW other AS SELECT * FROM accounts;"},
    {"renaming-table", 1, 1,
     "CREATE VIEW users AS SELECT 1;\n"
     "ALTER TABLE users RENAME TO accounts;"},
    {"renaming-column", 1, 0, "ALTER TABLE users RENAME CONSTRAINT a TO b;"},
    {"dropping-column", 1, 0,
     "CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;"},
    {"dropping-table", 1, 2, "DROP TABLE IF EXISTS a, b CASCADE;"},
    {"dropping-table", 1, 0, "DROP VIEW v;"},
    {"truncate-cascade", 1, 0, "TRUNCATE users;"},
    {"truncate-cascade", 1, 1, "TRUNCATE TABLE a, b CASCADE;"},
    {"vacuum-full", 0, 1, "VACUUM (FULL) users;"},
    {"vacuum-full", 0, 1, "VACUUM (FULL true, ANALYZE);"},
    {"vacuum-full", 0, 0, "VACUUM (FULL false) users;"},
    {"vacuum-full", 0, 0, "VACUUM users;"},
    {"cluster", 0, 1, "CLUSTER;"},
    {"enum-value-without-placement", 1, 0,
     "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'sad';"},
    {"enum-value-without-placement", 1, 0,
     "ALTER TYPE mood RENAME VALUE 'meh' TO 'fine';"},
    /* types */
    {"prefer-jsonb", 1, 1, "CREATE TABLE t (a json[]);"},
    {"prefer-jsonb", 1, 1, "CREATE TABLE t (a pg_catalog.json);"},
    {"prefer-jsonb", 1, 0, "CREATE TABLE t (a myschema.json);"},
    {"prefer-jsonb", 1, 1, "ALTER TABLE users ADD COLUMN a json;"},
    {"prefer-jsonb", 1, 1, "CREATE TYPE pair AS (a json, b jsonb);"},
    {"prefer-timestamptz", 1, 1, "CREATE TABLE t (a timestamp(3));"},
    {"prefer-timestamptz", 1, 0,
     "CREATE TABLE t (a timestamp(3) with time zone);"},
    {"prefer-timestamptz", 1, 1,
     "ALTER TABLE users ALTER COLUMN a TYPE timestamp without time "
     "zone;"},
    {"prefer-text", 1, 0, "CREATE TABLE t (a varchar, b text);"},
    {"prefer-text", 1, 1, "CREATE TABLE t (a char(2));"},
    {"prefer-text", 1, 1, "CREATE TABLE t (a character);"},
    {"prefer-text", 1, 1, "CREATE TABLE t (a character varying(20));"},
    {"prefer-text", 1, 0, "CREATE TABLE t (a \"char\");"},
    {"prefer-bigint-primary-key", 1, 1,
     "CREATE TABLE t (id int, PRIMARY KEY (id));"},
    {"prefer-bigint-primary-key", 1, 1,
     "CREATE TABLE t (id integer GENERATED ALWAYS AS IDENTITY PRIMARY "
     "KEY);"},
    {"prefer-bigint-primary-key", 1, 1,
     "CREATE TABLE t (id smallserial PRIMARY KEY);"},
    {"prefer-bigint-primary-key", 1, 0,
     "CREATE TABLE t (a int, b int, PRIMARY KEY (a, b));"},
    {"prefer-bigint-primary-key", 1, 0,
     "CREATE TABLE t (id uuid PRIMARY KEY);"},
    {"prefer-bigint-primary-key", 1, 0,
     "CREATE TABLE t (id bigserial PRIMARY KEY);"},
    /* identifiers: bytes, not characters; string constants are not */
    {"identifier-too-long", 1, 1,
     "CREATE TABLE \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaa\" (id bigint);"},
    {"identifier-too-long", 1, 0,
     "CREATE TABLE \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaa\" (id bigint);"},
    {"identifier-too-long", 1, 0,
     "CREATE TABLE \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaa\"\"\" (id bigint);"},
    {"identifier-too-long", 1, 1,
     "CREATE TABLE t (\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "\xc3\xa9\xc3\xa9\" int);"},
    {"identifier-too-long", 1, 0,
     "COMMENT ON TABLE t IS 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';"},
    /* non-transactional */
    {"non-transactional-not-retryable", 0, 0,
     "CREATE TABLE IF NOT EXISTS t (id bigint);"},
    {"non-transactional-not-retryable", 0, 1, "DROP TABLE t;"},
    {"non-transactional-not-retryable", 1, 0, "DROP TABLE t;"},
    {"non-transactional-not-retryable", 0, 0,
     "ALTER TABLE users ADD COLUMN IF NOT EXISTS x int;"},
    {"non-transactional-not-retryable", 0, 1,
     "ALTER TABLE users DROP COLUMN x;"},
    {"non-transactional-not-retryable", 0, 0,
     "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS "
     "'select 1';"},
    {"non-transactional-not-retryable", 0, 1,
     "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';"},
    {"non-transactional-not-retryable", 0, 1,
     "ALTER TYPE mood ADD VALUE 'x' AFTER 'y';"},
    {"non-transactional-not-retryable", 0, 1,
     "CREATE INDEX CONCURRENTLY ON users (email);"},
    {"non-transactional-not-retryable", 0, 0, "VACUUM (ANALYZE) users;"},
    {"non-transactional-multiple-statements", 1, 0, "SELECT 1;\nSELECT 2;"},
    /* credentials */
    {"role-password", 1, 0, "ALTER ROLE app PASSWORD NULL;"},
    {"role-password", 1, 1, "ALTER USER app WITH ENCRYPTED PASSWORD 'md5abc';"},
    {"role-password", 1, 1, "CREATE USER u PASSWORD 'x' LOGIN;"},
    {"user-mapping-password", 1, 1,
     "ALTER USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (SET "
     "password 'x');"},
    {"user-mapping-password", 1, 0,
     "ALTER USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (DROP "
     "password);"},
    {"user-mapping-password", 1, 1,
     "CREATE SERVER s FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host "
     "'h', password 'p');"},
    {"connection-string-password", 1, 1,
     "SELECT dblink_connect('c', 'postgresql://app:pw@h/db');"},
    {"connection-string-password", 1, 1,
     "SELECT dblink_connect('c', 'postgresql://h/db?user=a&password=b');"},
    {"connection-string-password", 1, 0,
     "SELECT dblink_connect('c', 'postgresql://app@h/db');"},
    {"connection-string-password", 1, 0,
     "SELECT dblink_connect('c', 'host=h password=');"},
    {"connection-string-password", 1, 0,
     "SELECT dblink_connect('c', 'postgres://u:${DB_PASSWORD}@h/db');"},
    {"connection-string-password", 1, 1,
     "SELECT dblink_connect('c', 'host=h password = ''se cret''');"},
    {"connection-string-password", 1, 1,
     "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
     "PERFORM dblink_connect('host=h password=pw'); END $$;"},
    {"connection-string-password", 1, 0,
     "CREATE FUNCTION f(pw text) RETURNS void LANGUAGE plpgsql AS $$ "
     "BEGIN PERFORM dblink_connect('host=h password=' || pw); END $$;"},
    {"connection-string-password", 1, 1,
     "ALTER SUBSCRIPTION s CONNECTION 'host=h password=x';"},
    {"connection-string-password", 1, 0,
     "SELECT 'the password field is required';"},
};

static void test_sql_cases(void **state)
{
	struct nmig_lint_config cfg;
	size_t i;

	(void)state;
	nmig_lint_config_init(&cfg);
	for (i = 0; i < sizeof(sql_cases) / sizeof(sql_cases[0]); i++) {
		const struct sql_case *c = &sql_cases[i];
		struct nmig_diags d = NMIG_DIAGS_INIT;

		assert_int_not_equal(nmig_lint_rule_find(c->rule), -1);
		assert_int_equal(lint_text(c->sql, c->transactional, &cfg, &d),
				 NMIG_OK);
		if (count_rule(&d, c->rule) != (size_t)c->expect) {
			dump(&d);
			fail_msg("case %zu: %zu findings of '%s', expected %d "
				 "in:\n%s",
				 i, count_rule(&d, c->rule), c->rule, c->expect,
				 c->sql);
		}
		assert_no_canary(&d);
		nmig_diags_release(&d);
	}
}

/* Findings point at the node: line, column and source line. */
static void test_locations(void **state)
{
	static const char sql[] = "SELECT 1;\n"
				  "\n"
				  "ALTER TABLE users\n"
				  "  ADD COLUMN x int DEFAULT random();\n"
				  "/* c */ CREATE INDEX i ON users (x);\n";
	struct nmig_lint_config cfg;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	const struct nmig_diag *it;

	(void)state;
	nmig_lint_config_init(&cfg);
	assert_int_equal(lint_text(sql, 1, &cfg, &d), NMIG_OK);
	it = find_rule(&d, "adding-volatile-default");
	assert_non_null(it);
	assert_string_equal(it->file, "t.up.sql");
	assert_int_equal(it->line, 4);
	assert_int_equal(it->col, 20);
	assert_string_equal(it->source, "  ADD COLUMN x int DEFAULT random();");
	assert_non_null(strstr(it->message, "random()"));
	assert_non_null(strstr(it->message, "'users'"));
	assert_non_null(it->hint);
	assert_int_equal(it->severity, NMIG_SEV_ERROR);
	it = find_rule(&d, "require-concurrent-index-creation");
	assert_non_null(it);
	assert_int_equal(it->line, 5);
	assert_int_equal(it->col, 9);
	nmig_diags_release(&d);
}

/* Levels from the table, the config and --rule. */
static void test_levels(void **state)
{
	static const char sql[] = "CREATE INDEX i ON users (email);";
	struct nmig_lint_config cfg;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	const struct nmig_diag *it;
	enum nmig_lint_level lv;

	(void)state;
	nmig_lint_config_init(&cfg);
	assert_int_equal(nmig_lint_config_option(
			     &cfg, "require-concurrent-index-creation=warning"),
			 NMIG_OK);
	assert_int_equal(lint_text(sql, 1, &cfg, &d), NMIG_OK);
	it = find_rule(&d, "require-concurrent-index-creation");
	assert_non_null(it);
	assert_int_equal(it->severity, NMIG_SEV_WARNING);
	assert_int_equal(d.errors, 0);
	nmig_diags_release(&d);

	assert_int_equal(
	    nmig_lint_config_set(&cfg, "require-concurrent-index-creation",
				 "off", "nmig.conf", 4),
	    NMIG_OK);
	assert_int_equal(lint_text(sql, 1, &cfg, &d), NMIG_OK);
	assert_int_equal(d.n, 0);
	nmig_diags_release(&d);

	assert_int_equal(nmig_lint_config_option(&cfg, "prefer-text=error"),
			 NMIG_OK);
	assert_int_equal(cfg.level[NMIG_LINT_PREFER_TEXT], NMIG_LINT_ERROR);

	/* refusals name what is wrong */
	assert_int_equal(nmig_lint_config_option(&cfg, "prefer-text"),
			 NMIG_EUSAGE);
	assert_non_null(strstr(nmig_error_last()->message, "NAME=LEVEL"));
	assert_int_equal(nmig_lint_config_option(&cfg, "=error"), NMIG_EUSAGE);
	assert_int_equal(nmig_lint_config_option(&cfg, "nope=error"),
			 NMIG_EUSAGE);
	assert_non_null(strstr(nmig_error_last()->message, "'nope'"));
	assert_non_null(strstr(nmig_error_last()->hint, "--list-rules"));
	assert_int_equal(nmig_lint_config_option(&cfg, "prefer-text=fatal"),
			 NMIG_EUSAGE);
	assert_non_null(strstr(nmig_error_last()->message, "'fatal'"));
	assert_int_equal(nmig_lint_config_set(&cfg, "nope", "off", "x.conf", 7),
			 NMIG_ECONFIG);
	assert_string_equal(nmig_error_last()->file, "x.conf");
	assert_int_equal(nmig_error_last()->line, 7);
	assert_int_equal(nmig_lint_level_parse("warning", &lv), NMIG_OK);
	assert_int_equal(lv, NMIG_LINT_WARNING);
	assert_int_equal(nmig_lint_level_parse("Warning", &lv), NMIG_EUSAGE);
}

/* `lint.<rule>` keys of the config file; other keys are skipped. */
static void test_config_read(void **state)
{
	struct nmig_lint_config cfg;
	struct nmig_buf path = NMIG_BUF_INIT;
	char dir[512];

	(void)state;
	make_tmpdir(dir, sizeof(dir), "conf");
	nmig_buf_printf(&path, "%s/nmig.conf", dir);
	write_file(dir, "nmig.conf",
		   "# comment\n"
		   "dir = db/migrations\n"
		   "\n"
		   "lint.prefer-text = off\n"
		   "  lint.missing-down=error  \r\n"
		   "lint.dropping-table = \"warning\"\n");
	nmig_lint_config_init(&cfg);
	assert_int_equal(nmig_lint_config_read(&cfg, path.ptr), NMIG_OK);
	assert_int_equal(cfg.level[NMIG_LINT_PREFER_TEXT], NMIG_LINT_OFF);
	assert_int_equal(cfg.level[NMIG_LINT_MISSING_DOWN], NMIG_LINT_ERROR);
	assert_int_equal(cfg.level[NMIG_LINT_DROPPING_TABLE],
			 NMIG_LINT_WARNING);
	assert_int_equal(cfg.level[NMIG_LINT_PREFER_JSONB], NMIG_LINT_WARNING);

	write_file(dir, "nmig.conf", "dir = x\nlint.prefer-txt = off\n");
	assert_int_equal(nmig_lint_config_read(&cfg, path.ptr), NMIG_ECONFIG);
	assert_non_null(strstr(nmig_error_last()->message, "'prefer-txt'"));
	assert_string_equal(nmig_error_last()->file, path.ptr);
	assert_int_equal(nmig_error_last()->line, 2);

	write_file(dir, "nmig.conf", "lint.prefer-text = loud\n");
	assert_int_equal(nmig_lint_config_read(&cfg, path.ptr), NMIG_ECONFIG);
	assert_non_null(strstr(nmig_error_last()->message, "'loud'"));
	assert_int_equal(nmig_error_last()->line, 1);

	assert_int_equal(nmig_lint_config_read(&cfg, "/nonexistent/nmig.conf"),
			 NMIG_EIO);
	rmtree(dir);
	nmig_buf_release(&path);
}

/* `-- nmig:lint-ignore` silences rules for its file; unknown names warn. */
static void test_lint_ignore(void **state)
{
	static const char sql[] =
	    "-- nmig:lint-ignore require-concurrent-index-creation, "
	    "no-such-rule\n"
	    "CREATE INDEX i ON users (email);\n"
	    "CREATE TABLE t (a json);\n";
	struct nmig_lint_config cfg;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	const struct nmig_diag *it;

	(void)state;
	nmig_lint_config_init(&cfg);
	assert_int_equal(lint_text(sql, 1, &cfg, &d), NMIG_OK);
	assert_int_equal(count_rule(&d, "require-concurrent-index-creation"),
			 0);
	assert_int_equal(count_rule(&d, "prefer-jsonb"), 1);
	it = find_rule(&d, "lint-ignore");
	assert_non_null(it);
	assert_int_equal(it->severity, NMIG_SEV_WARNING);
	assert_non_null(strstr(it->message, "'no-such-rule'"));
	assert_int_equal(it->line, 1);
	assert_int_equal(it->col, 56);
	nmig_diags_release(&d);

	/* a line after the header is SQL's business, not an ignore */
	assert_int_equal(lint_text("CREATE TABLE t (a json);\n"
				   "-- nmig:lint-ignore prefer-jsonb\n",
				   1, &cfg, &d),
			 NMIG_OK);
	assert_int_equal(count_rule(&d, "prefer-jsonb"), 1);
	nmig_diags_release(&d);
}

/* Make a migrations directory in a scratch dir with one revision. */
static void make_rev(char *dir, size_t size, const char *up, const char *down)
{
	make_tmpdir(dir, size, "rev");
	write_file(dir, "20260101000000_x.up.sql", up);
	if (down)
		write_file(dir, "20260101000000_x.down.sql", down);
}

/* Lint the one revision in dir strictly (history 0) or as history. */
static int lint_one(const char *dir, int history,
		    const struct nmig_lint_config *cfg, struct nmig_diags *d)
{
	struct nmig_revset set;
	int rc;

	memset(&set, 0, sizeof(set));
	assert_int_equal(nmig_revset_load(&set, dir, NULL), NMIG_OK);
	assert_int_equal(set.n, 1);
	rc = history ? nmig_lint_revision_history(&set.revs[0], cfg, d)
		     : nmig_lint_revision(&set.revs[0], cfg, d);
	nmig_revset_release(&set);
	return rc;
}

/* History (applied revisions) is held to the credential rules only. */
static void test_history(void **state)
{
	struct nmig_lint_config cfg;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	char dir[512];

	(void)state;
	nmig_lint_config_init(&cfg);
	make_rev(dir, sizeof(dir),
		 "CREATE INDEX i ON users (email);\n"
		 "ALTER ROLE app PASSWORD '" CANARY "';\n"
		 "CREATE TABLE t (a json);\n",
		 NULL);
	assert_int_equal(lint_one(dir, 1, &cfg, &d), NMIG_OK);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].rule, "role-password");
	assert_no_canary(&d);
	nmig_diags_release(&d);
	assert_int_equal(lint_one(dir, 0, &cfg, &d), NMIG_OK);
	assert_int_equal(count_rule(&d, "require-concurrent-index-creation"),
			 1);
	assert_int_equal(count_rule(&d, "missing-down"), 1);
	assert_int_equal(count_rule(&d, "prefer-jsonb"), 1);
	assert_int_equal(count_rule(&d, "role-password"), 1);
	nmig_diags_release(&d);
	rmtree(dir);
}

/* down-does-not-undo: what is decidable, and what is not. */
static void test_undo(void **state)
{
	static const struct {
		const char *up, *down;
		int expect;
	} cases[] = {
	    {"CREATE TABLE a (id bigint);\nCREATE TYPE m AS ENUM ('x');\n",
	     "DROP TABLE a;\n", 1},
	    {"CREATE TABLE a (id bigint);\nCREATE TYPE m AS ENUM ('x');\n",
	     "DROP TYPE m;\nDROP TABLE public.a;\n", 0},
	    /* a DO block may drop anything: not decidable */
	    {"CREATE TABLE a (id bigint);\n",
	     "DO $$ BEGIN EXECUTE 'DROP TABLE a'; END $$;\n", 0},
	    /* CASCADE drops what depends: not decidable */
	    {"CREATE TABLE a (id bigint);\nCREATE VIEW v AS SELECT 1;\n",
	     "DROP TABLE a CASCADE;\n", 0},
	    /* a constraint goes with its column */
	    {"ALTER TABLE t ADD COLUMN b bigint;\n"
	     "ALTER TABLE t ADD CONSTRAINT t_b_fk FOREIGN KEY (b) "
	     "REFERENCES u (id) NOT VALID;\n",
	     "ALTER TABLE t DROP COLUMN b;\n", 0},
	    {"ALTER TABLE t ADD CONSTRAINT t_b_check CHECK (b > 0) NOT "
	     "VALID;\n",
	     "SELECT 1;\n", 1},
	    /* IF NOT EXISTS: the object may have been there before */
	    {"CREATE TABLE IF NOT EXISTS a (id bigint);\n", "SELECT 1;\n", 0},
	    {"CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS "
	     "'select 1';\n",
	     "SELECT 1;\n", 0},
	    {"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select "
	     "1';\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW "
	     "EXECUTE FUNCTION f();\n",
	     "DROP TRIGGER tr ON t;\nDROP FUNCTION f();\n", 0},
	    {"CREATE EXTENSION citext;\nCREATE SCHEMA s;\n"
	     "CREATE SEQUENCE s.q;\n",
	     "DROP SEQUENCE s.q;\nDROP SCHEMA s;\n", 1},
	    /* an index goes with any column it uses (key, expression,
	     * INCLUDE, partial WHERE) */
	    {"ALTER TABLE t ADD COLUMN b text;\n"
	     "CREATE INDEX t_b_idx ON t (b);\n"
	     "CREATE INDEX t_lb ON t (lower(b)) INCLUDE (id);\n"
	     "CREATE INDEX t_part ON t (id) WHERE b IS NOT NULL;\n",
	     "ALTER TABLE t DROP COLUMN b;\n", 0},
	    {"CREATE INDEX t_b_idx ON t (b);\n",
	     "ALTER TABLE t DROP COLUMN c;\n", 1},
	    {"CREATE INDEX t_b_idx ON t (b);\n",
	     "ALTER TABLE u DROP COLUMN b;\n", 1},
	    /* created and dropped in the up file itself */
	    {"CREATE TABLE tmp (id bigint);\nDROP TABLE tmp;\n", "SELECT 1;\n",
	     0},
	};
	struct nmig_lint_config cfg;
	char dir[512];
	size_t i;

	(void)state;
	nmig_lint_config_init(&cfg);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nmig_diags d = NMIG_DIAGS_INIT;

		make_rev(dir, sizeof(dir), cases[i].up, cases[i].down);
		assert_int_equal(lint_one(dir, 0, &cfg, &d), NMIG_OK);
		if (count_rule(&d, "down-does-not-undo") !=
		    (size_t)cases[i].expect) {
			dump(&d);
			fail_msg("undo case %zu: expected %d", i,
				 cases[i].expect);
		}
		if (cases[i].expect) {
			const struct nmig_diag *it =
			    find_rule(&d, "down-does-not-undo");

			assert_non_null(strstr(it->file, ".up.sql"));
		}
		nmig_diags_release(&d);
		rmtree(dir);
	}
}

/*
 * A down file that drops an index before the table the up file made it
 * on saves no lock with CONCURRENTLY; one that drops only the index does.
 */
static void test_down_drops_index_then_table(void **state)
{
	struct nmig_lint_config cfg;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	char dir[512];

	(void)state;
	nmig_lint_config_init(&cfg);
	make_rev(dir, sizeof(dir),
		 "CREATE TABLE things (id bigint, tag text);\n"
		 "CREATE INDEX by_tag ON things (tag);\n",
		 "DROP INDEX by_tag;\nDROP TABLE things;\n");
	assert_int_equal(lint_one(dir, 0, &cfg, &d), NMIG_OK);
	assert_int_equal(count_rule(&d, "require-concurrent-index-deletion"),
			 0);
	nmig_diags_release(&d);
	rmtree(dir);
	make_rev(dir, sizeof(dir),
		 "CREATE INDEX CONCURRENTLY IF NOT EXISTS by_tag ON things "
		 "(tag);\n",
		 "DROP INDEX by_tag;\nDROP TABLE other;\n");
	assert_int_equal(lint_one(dir, 0, &cfg, &d), NMIG_OK);
	assert_int_equal(count_rule(&d, "require-concurrent-index-deletion"),
			 1);
	assert_int_equal(
	    find_rule(&d, "require-concurrent-index-deletion")->line, 1);
	nmig_diags_release(&d);
	rmtree(dir);
}

/* A file the parser refuses: NMIG_EINPUT, explained unless told not to. */
static void test_unparsable(void **state)
{
	static const char sql[] = "CREATE INDEX i ON users (email);\n"
				  "CREAT TABLE oops (id int);\n";
	struct nmig_lint_config cfg;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	char dir[512];
	size_t i;
	int syntax = 0;

	(void)state;
	nmig_lint_config_init(&cfg);
	assert_int_equal(lint_text(sql, 1, &cfg, &d), NMIG_EINPUT);
	for (i = 0; i < d.n; i++)
		if (d.items[i].severity == NMIG_SEV_ERROR &&
		    d.items[i].line == 2)
			syntax = 1;
	assert_true(syntax);
	/* the statements that parse are still linted */
	assert_int_equal(count_rule(&d, "require-concurrent-index-creation"),
			 1);
	nmig_diags_release(&d);

	cfg.script_check = 0;
	assert_int_equal(lint_text(sql, 1, &cfg, &d), NMIG_EINPUT);
	assert_int_equal(d.errors, 1);
	assert_int_equal(count_rule(&d, "require-concurrent-index-creation"),
			 1);
	nmig_diags_release(&d);

	/* a revision: the up file's failure names the revision */
	cfg.script_check = 1;
	make_rev(dir, sizeof(dir), sql, "DROP INDEX i;\n");
	assert_int_equal(lint_one(dir, 0, &cfg, &d), NMIG_EINPUT);
	assert_non_null(strstr(nmig_error_last()->message, "'20260101000000'"));
	/* the down file was linted too */
	assert_int_equal(count_rule(&d, "require-concurrent-index-deletion"),
			 1);
	nmig_diags_release(&d);
	rmtree(dir);
}

/* The down file: its own lint-ignore line, and no up-only rules. */
static void test_down_file(void **state)
{
	struct nmig_lint_config cfg;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	char dir[512];

	(void)state;
	nmig_lint_config_init(&cfg);
	make_rev(dir, sizeof(dir),
		 "CREATE TABLE t (id bigint);\n"
		 "ALTER TABLE users ADD COLUMN note text;\n",
		 "-- nmig:lint-ignore require-concurrent-index-deletion\n"
		 "DROP INDEX some_idx;\n"
		 "ALTER TABLE users DROP COLUMN note;\n"
		 "ALTER TABLE users ADD COLUMN old json;\n"
		 "DROP TABLE t;\n");
	assert_int_equal(lint_one(dir, 0, &cfg, &d), NMIG_OK);
	if (d.n) {
		dump(&d);
		fail_msg("the down file should lint clean");
	}
	nmig_diags_release(&d);
	rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_table),
	    cmocka_unit_test(test_docs_cover_rules),
	    cmocka_unit_test(test_fixtures),
	    cmocka_unit_test(test_secrets_never_echoed),
	    cmocka_unit_test(test_secret_masked_in_sources),
	    cmocka_unit_test(test_config_password),
	    cmocka_unit_test(test_env_tracked),
	    cmocka_unit_test(test_sql_cases),
	    cmocka_unit_test(test_locations),
	    cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_config_read),
	    cmocka_unit_test(test_lint_ignore),
	    cmocka_unit_test(test_history),
	    cmocka_unit_test(test_undo),
	    cmocka_unit_test(test_down_drops_index_then_table),
	    cmocka_unit_test(test_unparsable),
	    cmocka_unit_test(test_down_file),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	pg_query_exit();
	return rc;
}
