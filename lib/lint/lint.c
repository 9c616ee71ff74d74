/*
 * Lint: the safety rules of `nmig lint` over libpg_query's parse tree (see
 * lint.h). A file is split into statements by sqlscript, each statement is
 * parsed with pg_query_parse_protobuf and its protobuf-c tree walked by
 * rule functions that know the node types; a generic walker over the
 * protobuf-c descriptors finds string constants (connection strings) and
 * function calls (volatile defaults) anywhere below a node. The file state
 * remembers the objects the file creates and drops: tables created earlier
 * in the file are new (no lock rules apply to them), and the up file's
 * creations are matched against the down file's drops for
 * down-does-not-undo. Locations in a statement's tree are relative to the
 * statement text and are turned into file line:col for findings.
 */
#include "lint_internal.h"

#include "array_internal.h"

static const struct nmig_lint_rule rules[NMIG_LINT_NRULES] = {
    RULE(NMIG_LINT_CONCURRENT_INDEX_CREATION,
	 "require-concurrent-index-creation", NMIG_LINT_ERROR, 0,
	 "CREATE INDEX without CONCURRENTLY blocks every write to the table "
	 "until the whole index is built",
	 "use CREATE INDEX CONCURRENTLY IF NOT EXISTS in its own revision with "
	 "`-- nmig:transaction off`"),
    RULE(NMIG_LINT_CONCURRENT_INDEX_DELETION,
	 "require-concurrent-index-deletion", NMIG_LINT_WARNING, 0,
	 "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on "
	 "the table, queueing every read and write behind it",
	 "use DROP INDEX CONCURRENTLY IF EXISTS in its own revision with `-- "
	 "nmig:transaction off`"),
    RULE(NMIG_LINT_VOLATILE_DEFAULT, "adding-volatile-default", NMIG_LINT_ERROR,
	 0,
	 "ADD COLUMN with a volatile default (or as serial, identity or stored "
	 "generated column) rewrites the whole table under an ACCESS EXCLUSIVE "
	 "lock",
	 "add the column without a default (or with a constant one), backfill "
	 "it in batches, then SET DEFAULT for new rows"),
    RULE(NMIG_LINT_REQUIRED_COLUMN, "adding-required-column", NMIG_LINT_ERROR,
	 0,
	 "ADD COLUMN ... NOT NULL without a default fails on a table that has "
	 "rows",
	 "add the column with a constant DEFAULT, or nullable, backfill it, "
	 "then enforce NOT NULL"),
    RULE(NMIG_LINT_SETTING_NOT_NULL, "setting-not-null", NMIG_LINT_WARNING, 0,
	 "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock",
	 "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in "
	 "a later revision, then SET NOT NULL (no scan since PostgreSQL 12) "
	 "and drop the check"),
    RULE(NMIG_LINT_CONSTRAINT_NOT_VALID, "constraint-missing-not-valid",
	 NMIG_LINT_WARNING, 0,
	 "adding a foreign key or check constraint checks every row while "
	 "holding a lock that blocks writes",
	 "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later "
	 "revision (it takes a weaker lock)"),
    RULE(NMIG_LINT_UNIQUE_WITHOUT_INDEX, "unique-constraint-without-index",
	 NMIG_LINT_ERROR, 0,
	 "adding a unique, primary key or exclusion constraint builds its "
	 "index under an ACCESS EXCLUSIVE lock, blocking reads and writes",
	 "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... "
	 "UNIQUE USING INDEX (or PRIMARY KEY USING INDEX)"),
    RULE(NMIG_LINT_CHANGING_COLUMN_TYPE, "changing-column-type",
	 NMIG_LINT_ERROR, 0,
	 "ALTER COLUMN ... TYPE rewrites the table and its indexes under an "
	 "ACCESS EXCLUSIVE lock unless the types are binary compatible, and "
	 "breaks clients that expect the old type",
	 "add a new column, backfill it in batches, move readers and writers "
	 "over, then drop the old one; ignore the rule for a binary-compatible "
	 "change such as varchar(n) to text"),
    RULE(NMIG_LINT_RENAMING_COLUMN, "renaming-column", NMIG_LINT_WARNING, UP,
	 "renaming a column breaks every running client that still uses the "
	 "old name",
	 "add the new column, write to both, move readers over, then drop the "
	 "old column in a later release"),
    RULE(NMIG_LINT_RENAMING_TABLE, "renaming-table", NMIG_LINT_WARNING, UP,
	 "renaming a table breaks every running client that still uses the old "
	 "name",
	 "rename it and create a view with the old name in the same revision, "
	 "and drop the view once no client uses it"),
    RULE(NMIG_LINT_DROPPING_COLUMN, "dropping-column", NMIG_LINT_WARNING, UP,
	 "dropping a column loses its data and breaks running clients that "
	 "still select or insert it",
	 "stop using the column in the application and deploy that first, then "
	 "drop it in a later revision"),
    RULE(NMIG_LINT_DROPPING_TABLE, "dropping-table", NMIG_LINT_WARNING, UP,
	 "dropping a table loses its data and breaks running clients that "
	 "still use it",
	 "stop using the table in the application and deploy that first, keep "
	 "a backup, then drop it in a later revision"),
    RULE(NMIG_LINT_DROP_DATABASE, "drop-database", NMIG_LINT_ERROR, 0,
	 "DROP DATABASE destroys a whole database; it has no place in a schema "
	 "migration",
	 "drop databases by hand or in provisioning, never in a migration"),
    RULE(NMIG_LINT_TRUNCATE_CASCADE, "truncate-cascade", NMIG_LINT_ERROR, 0,
	 "TRUNCATE ... CASCADE also empties every table that references the "
	 "named ones, and the tables that reference those",
	 "truncate the tables you mean by name, without CASCADE"),
    RULE(NMIG_LINT_VACUUM_FULL, "vacuum-full", NMIG_LINT_ERROR, 0,
	 "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock, "
	 "blocking reads and writes for as long as it runs",
	 "use plain VACUUM, or pg_repack or pg_squeeze to compact a table "
	 "online"),
    RULE(NMIG_LINT_CLUSTER, "cluster", NMIG_LINT_ERROR, 0,
	 "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock, blocking "
	 "reads and writes for as long as it runs",
	 "use pg_repack --order-by to reorder a table online, or leave the "
	 "order alone"),
    RULE(NMIG_LINT_ENUM_VALUE_PLACEMENT, "enum-value-without-placement",
	 NMIG_LINT_WARNING, UP,
	 "ALTER TYPE ... ADD VALUE without BEFORE or AFTER appends the value, "
	 "which fixes how it sorts and compares for good",
	 "say where the value belongs: ADD VALUE 'x' BEFORE 'y' or AFTER 'y' "
	 "(AFTER the last value when appending is meant)"),
    RULE(NMIG_LINT_PREFER_JSONB, "prefer-jsonb", NMIG_LINT_WARNING, UP,
	 "json keeps the raw text: it has no equality operator, cannot be "
	 "indexed and is parsed again on every access",
	 "use jsonb"),
    RULE(NMIG_LINT_PREFER_TIMESTAMPTZ, "prefer-timestamptz", NMIG_LINT_WARNING,
	 UP,
	 "timestamp without time zone stores a wall-clock reading with no "
	 "zone, so the same instant reads differently per session TimeZone",
	 "use timestamptz (timestamp with time zone)"),
    RULE(NMIG_LINT_PREFER_TEXT, "prefer-text", NMIG_LINT_WARNING, UP,
	 "varchar(n) and char(n) are no faster than text, char(n) pads with "
	 "blanks, and raising the limit later is another migration",
	 "use text, with CHECK (char_length(col) <= n) when the limit is a "
	 "real rule"),
    RULE(NMIG_LINT_PREFER_BIGINT_PK, "prefer-bigint-primary-key",
	 NMIG_LINT_WARNING, UP,
	 "an int or serial primary key runs out at 2147483647, and widening it "
	 "later rewrites the table and every referencing column",
	 "use bigint GENERATED ALWAYS AS IDENTITY (or bigserial)"),
    RULE(NMIG_LINT_IDENTIFIER_TOO_LONG, "identifier-too-long", NMIG_LINT_ERROR,
	 0,
	 "PostgreSQL silently truncates identifiers to 63 bytes, so long names "
	 "collide and statements that spell them in full miss",
	 "shorten the name to 63 bytes or less"),
    RULE(NMIG_LINT_NONTX_NOT_RETRYABLE, "non-transactional-not-retryable",
	 NMIG_LINT_ERROR, 0,
	 "a non-transactional migration that fails half way is run again, and "
	 "a CREATE or DROP without IF [NOT] EXISTS then fails on what the "
	 "first run did",
	 "write CREATE ... IF NOT EXISTS, DROP ... IF EXISTS, ADD COLUMN IF "
	 "NOT EXISTS or CREATE OR REPLACE (and drop an INVALID index left by a "
	 "failed CONCURRENTLY build before retrying)"),
    RULE(NMIG_LINT_NONTX_MULTIPLE, "non-transactional-multiple-statements",
	 NMIG_LINT_WARNING, 0,
	 "the statements of a non-transactional migration commit one by one, "
	 "so a failure leaves the database half migrated",
	 "put each non-transactional statement in a revision of its own"),
    RULE(NMIG_LINT_MISSING_DOWN, "missing-down", NMIG_LINT_WARNING, 0,
	 "a revision without a down file cannot be downgraded, and every "
	 "downgrade plan through it stops",
	 "write <id>_<slug>.down.sql undoing the up file"),
    RULE(NMIG_LINT_DOWN_NOT_UNDOING, "down-does-not-undo", NMIG_LINT_WARNING, 0,
	 "the down file leaves behind an object the up file creates, so "
	 "downgrading and upgrading again fails or drifts",
	 "drop in the down file what the up file creates: tables, columns, "
	 "indexes, constraints, types, views, sequences, functions, triggers, "
	 "schemas, extensions"),
    RULE(NMIG_LINT_ROLE_PASSWORD, "role-password", NMIG_LINT_ERROR,
	 HIST | SECRET,
	 "a literal password in CREATE/ALTER ROLE is kept in version control, "
	 "server logs and pg_stat_statements",
	 "create the role without a password (or PASSWORD NULL) and set it out "
	 "of band, e.g. with psql's \\password or a secret manager"),
    RULE(NMIG_LINT_USER_MAPPING_PASSWORD, "user-mapping-password",
	 NMIG_LINT_ERROR, HIST | SECRET,
	 "a literal password in a user mapping or foreign server options is "
	 "kept in version control and server logs",
	 "create the user mapping without it and set the password out of band "
	 "with ALTER USER MAPPING ... OPTIONS (ADD password ...)"),
    RULE(NMIG_LINT_CONNINFO_PASSWORD, "connection-string-password",
	 NMIG_LINT_ERROR, HIST | SECRET,
	 "a connection string with a literal password inside SQL is kept in "
	 "version control, server logs and pg_stat_statements",
	 "leave the password out of the connection string and let the server "
	 "side find it: a password file, a user mapping set out of band, or a "
	 "secret manager"),
    RULE(NMIG_LINT_CONFIG_PASSWORD, "config-password", NMIG_LINT_ERROR,
	 HIST | SECRET | PROJECT,
	 "a password in the config file is committed with it; nmig reads "
	 "credentials only from the environment",
	 "put the URL in DATABASE_URL (or the variable url_env names), a .env "
	 "file that git ignores, or ~/.pgpass, and rotate the password"),
    RULE(NMIG_LINT_ENV_TRACKED, "env-file-tracked", NMIG_LINT_ERROR,
	 HIST | SECRET | PROJECT,
	 "the .env file holds credentials and git tracks it, so every clone "
	 "and every push carries them",
	 "git rm --cached .env, add .env to .gitignore, and rotate the "
	 "credentials it held"),
};

#undef RULE

#undef HIST
#undef UP
#undef SECRET
#undef PROJECT

/* nmig_lint_rules: see lint.h. */
const struct nmig_lint_rule *nmig_lint_rules(void)
{
	return rules;
}

/* nmig_lint_rule_find: see lint.h; linear in the (small) rule table. */
int nmig_lint_rule_find(const char *name)
{
	int i;

	if (!name)
		return -1;
	for (i = 0; i < NMIG_LINT_NRULES; i++)
		if (strcmp(rules[i].name, name) == 0)
			return i;
	return -1;
}

/* nmig_lint_level_name: see lint.h. */
const char *nmig_lint_level_name(enum nmig_lint_level level)
{
	switch (level) {
	case NMIG_LINT_ERROR:
		return "error";
	case NMIG_LINT_WARNING:
		return "warning";
	case NMIG_LINT_OFF:
		break;
	}
	return "off";
}

/* nmig_lint_level_parse: see lint.h. */
int nmig_lint_level_parse(const char *s, enum nmig_lint_level *out)
{
	if (s && strcmp(s, "error") == 0)
		*out = NMIG_LINT_ERROR;
	else if (s && strcmp(s, "warning") == 0)
		*out = NMIG_LINT_WARNING;
	else if (s && strcmp(s, "off") == 0)
		*out = NMIG_LINT_OFF;
	else
		return nmig_error_set(NMIG_EUSAGE,
				      "lint level '%s' is not error, warning "
				      "or off",
				      s ? s : "");
	return NMIG_OK;
}

/* nmig_lint_config_init: see lint.h. */
void nmig_lint_config_init(struct nmig_lint_config *cfg)
{
	int i;

	for (i = 0; i < NMIG_LINT_NRULES; i++)
		cfg->level[i] = rules[i].level;
	cfg->max_file_size = NMIG_MAX_FILE_SIZE;
	cfg->script_check = 1;
}

/* nmig_lint_config_set: see lint.h. */
int nmig_lint_config_set(struct nmig_lint_config *cfg, const char *name,
			 const char *level, const char *file, int line)
{
	int code = file ? NMIG_ECONFIG : NMIG_EUSAGE;
	enum nmig_lint_level lv = NMIG_LINT_OFF;
	int id = nmig_lint_rule_find(name);

	if (id < 0) {
		nmig_error_set(code, "unknown lint rule '%s'", name);
		nmig_error_hint("`nmig lint --list-rules` lists the rules");
		goto fail;
	}
	if (nmig_lint_level_parse(level, &lv) < 0) {
		nmig_error_set(code,
			       "lint level '%s' for rule '%s' is not error, "
			       "warning or off",
			       level, name);
		goto fail;
	}
	cfg->level[id] = lv;
	return NMIG_OK;
fail:
	if (file)
		nmig_error_location(file, line, 0, NULL);
	return code;
}

/* nmig_lint_config_option: see lint.h. */
int nmig_lint_config_option(struct nmig_lint_config *cfg, const char *spec)
{
	const char *eq = strchr(spec, '=');
	char *name;
	int rc;

	if (!eq || eq == spec)
		return nmig_error_set(NMIG_EUSAGE,
				      "option '--rule' takes NAME=LEVEL, not "
				      "'%s'",
				      spec);
	name = strndup(spec, (size_t)(eq - spec));
	if (!name)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	rc = nmig_lint_config_set(cfg, name, eq + 1, NULL, 0);
	free(name);
	return rc;
}

/* Trim blanks at both ends of s in place; returns s. */
static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/*
 * A config value as the config module reads it (config.c): the text inside
 * quotes when quoted, else up to a `#` after whitespace, trimmed. In
 * place; an unterminated quote keeps the text as it is.
 */
static char *config_value(char *v)
{
	char *p, *close;

	v = trim(v);
	if (*v == '"' || *v == '\'') {
		close = strchr(v + 1, *v);
		if (!close)
			return v;
		*close = 0;
		return v + 1;
	}
	for (p = v; *p; p++)
		if (*p == '#' && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			break;
		}
	return trim(v);
}

/*
 * Split one config line into key and value (in place), as the config
 * module does. Returns 0 for a blank line, a comment or a line without '='
 * (the config module reports those).
 */
static int split_config_line(char *line, char **key, char **value)
{
	char *t = trim(line), *eq;

	if (!*t || *t == '#' || *t == ';')
		return 0;
	eq = strchr(t, '=');
	if (!eq)
		return 0;
	*eq = 0;
	*key = trim(t);
	*value = config_value(eq + 1);
	return 1;
}

/* The text of a config file after a UTF-8 BOM. */
static char *skip_bom(char *text)
{
	return strncmp(text, "\xEF\xBB\xBF", 3) == 0 ? text + 3 : text;
}

/*
 * Call fn for each `key = value` line of the config file at path, with its
 * 1-based number and the whole line (key and value point into it). Stops
 * at fn's first negative return and returns it; else NMIG_OK, or the error
 * reading the file.
 */
static int each_config_line(const char *path,
			    int (*fn)(void *ud, const char *path, int lineno,
				      const char *line, const char *key,
				      const char *value),
			    void *ud)
{
	struct nmig_buf text = NMIG_BUF_INIT;
	char *line, *next, *key, *value;
	int rc, lineno = 0;

	rc = nmig_buf_read_file(&text, path, MAX_CONFIG_SIZE);
	if (rc < 0)
		goto cleanup;
	for (line = skip_bom(text.ptr); line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		if (!split_config_line(line, &key, &value))
			continue;
		rc = fn(ud, path, lineno, line, key, value);
		if (rc < 0)
			goto cleanup;
	}
	rc = NMIG_OK;
cleanup:
	nmig_buf_release(&text);
	return rc;
}

/* each_config_line callback: a lint.<rule> key sets that rule's level. */
static int config_level(void *ud, const char *path, int lineno,
			const char *line, const char *key, const char *value)
{
	(void)line;
	if (strncmp(key, "lint.", 5) != 0)
		return NMIG_OK;
	return nmig_lint_config_set(ud, key + 5, value, path, lineno);
}

/* nmig_lint_config_read: see lint.h. */
int nmig_lint_config_read(struct nmig_lint_config *cfg, const char *path)
{
	return each_config_line(path, config_level, cfg);
}

/*
 * Secrets in strings. A value is a placeholder, not a literal secret, when
 * it starts like a template variable.
 */
static int placeholder(const char *v)
{
	return strncmp(v, "${", 2) == 0 || strncmp(v, "$(", 2) == 0 ||
	       strncmp(v, "{{", 2) == 0 || strncmp(v, "%(", 2) == 0 ||
	       strncmp(v, "***", 3) == 0 || *v == '<';
}

/*
 * Whether the password key at p (of "password") starts a key: at the start
 * of s or after a separator of conninfo strings and URI queries.
 */
static int key_start(const char *s, const char *p)
{
	return p == s || strchr(" \t\r\n?&;,('\"", p[-1]) != NULL;
}

/*
 * Whether s holds a literal password the way connection strings carry it:
 * a `password=value` conninfo key (also in a URI query), or a URI with
 * `user:password@`. s is not echoed anywhere.
 */
int lint_has_secret(const char *s)
{
	const char *p, *q, *u, *colon;

	for (p = s; *p; p++) {
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			u = p + 3;
			for (q = u; *q && !strchr("/?#@ \t\r\n'\"", *q); q++)
				;
			if (*q == '@') {
				colon = memchr(u, ':', (size_t)(q - u));
				if (colon && colon + 1 < q &&
				    !placeholder(colon + 1))
					return 1;
			}
		}
		if ((*p == 'p' || *p == 'P') && key_start(s, p) &&
		    strncasecmp(p, "password", 8) == 0) {
			q = p + 8;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q != '=')
				continue;
			q++;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '\'')
				q++;
			if (*q && !strchr(" \t\r\n&;'\"", *q) &&
			    !placeholder(q))
				return 1;
		}
	}
	return 0;
}

/*
 * Parse the text at off..off+len (one statement, or the whole file) and
 * lint the statements it holds. Returns 1 when it parsed, 0 when not (the
 * file is then partly unknown to down-does-not-undo).
 */
static int lint_stmt_text(struct file *f, size_t off, size_t len)
{
	const char *text = f->script->text;
	PgQueryProtobufParseResult r;
	PgQuery__ParseResult *pr = NULL;
	char *sql = NULL;
	size_t k, start, end;
	int ok = 0;

	/* the file text is NUL-terminated: only a statement needs a copy */
	if (off + len < f->script->len) {
		sql = strndup(text + off, len);
		if (!sql) {
			lint_nomem(f->run);
			return 0;
		}
	}
	r = pg_query_parse_protobuf(sql ? sql : text + off);
	if (r.error)
		goto cleanup;
	ok = 1;
	pr = pg_query__parse_result__unpack(NULL, r.parse_tree.len,
					    (const uint8_t *)r.parse_tree.data);
	if (!pr) {
		lint_nomem(f->run);
		goto cleanup;
	}
	f->base = off;
	for (k = 0; k < pr->n_stmts; k++) {
		const PgQuery__RawStmt *raw = pr->stmts[k];

		start =
		    off +
		    (size_t)(raw->stmt_location > 0 ? raw->stmt_location : 0);
		end = raw->stmt_len > 0 ? start + (size_t)raw->stmt_len
					: off + len;
		if (end > off + len)
			end = off + len;
		f->stmt_off = lint_skip_space(text, start, end);
		f->stmt_end = end;
		if (raw->stmt)
			lint_stmt(f, raw->stmt);
	}
cleanup:
	if (pr)
		pg_query__parse_result__free_unpacked(pr, NULL);
	pg_query_free_protobuf_parse_result(r);
	free(sql);
	return ok;
}

/* Bytes of the identifier token t[0..len) once unquoted. */
static size_t ident_bytes(const char *t, size_t len)
{
	size_t i, n = 0;

	if (len < 2 || t[0] != '"')
		return len;
	for (i = 1; i + 1 < len; i++) {
		if (t[i] == '"' && t[i + 1] == '"')
			i++;
		n++;
	}
	return n;
}

/* Remember the string literal at start..end as holding a secret. */
static void add_secret(struct file *f, size_t start, size_t end)
{
	if (nmig_array_grow(&f->secrets, &f->capsecrets, f->nsecrets + 1,
			    sizeof(*f->secrets), 8)) {
		lint_nomem(f->run);
		return;
	}
	f->secrets[f->nsecrets].start = start;
	f->secrets[f->nsecrets].end = end;
	f->nsecrets++;
}

/* Whether the string literal token t[0..len) holds a connection secret. */
static int literal_secret(struct file *f, const char *t, size_t len)
{
	char *copy = strndup(t, len);
	int found;

	if (!copy) {
		lint_nomem(f->run);
		return 0;
	}
	found = lint_has_secret(copy);
	free(copy);
	return found;
}

/*
 * One pass over the scanner's tokens: identifier-too-long (the parse tree
 * already holds identifiers truncated to 63 bytes), and the string
 * literals that hold a secret -- right after a PASSWORD keyword or option,
 * or a connection string with a password -- whose bytes no source line of
 * a finding may show (see mask_sources).
 */
static void scan_tokens(struct file *f)
{
	const struct nmig_script *s = f->script;
	int idents = lint_rule_on(f, NMIG_LINT_IDENTIFIER_TOO_LONG),
	    after_pw = 0;
	PgQueryScanResult r;
	PgQuery__ScanResult *sr = NULL;
	size_t i, n, start, end;

	r = pg_query_scan(s->text);
	if (r.error)
		goto cleanup;
	sr = pg_query__scan_result__unpack(NULL, r.pbuf.len,
					   (const uint8_t *)r.pbuf.data);
	if (!sr) {
		lint_nomem(f->run);
		goto cleanup;
	}
	for (i = 0; i < sr->n_tokens && !f->run->err; i++) {
		const PgQuery__ScanToken *t = sr->tokens[i];

		if (t->start < 0 || t->end <= t->start ||
		    (size_t)t->end > s->len ||
		    t->token == PG_QUERY__TOKEN__SQL_COMMENT ||
		    t->token == PG_QUERY__TOKEN__C_COMMENT)
			continue;
		start = (size_t)t->start;
		end = (size_t)t->end;
		if (t->token == PG_QUERY__TOKEN__SCONST ||
		    t->token == PG_QUERY__TOKEN__USCONST) {
			if (after_pw ||
			    literal_secret(f, s->text + start, end - start))
				add_secret(f, start, end);
		} else if (t->token == PG_QUERY__TOKEN__IDENT && idents) {
			n = ident_bytes(s->text + start, end - start);
			if (n > MAX_IDENT_BYTES)
				lint_report(
				    f, NMIG_LINT_IDENTIFIER_TOO_LONG, start, 1,
				    "identifier %s%.*s%s is %zu bytes long; "
				    "PostgreSQL keeps only the first %d",
				    s->text[start] == '"' ? "" : "'",
				    (int)(end - start), s->text + start,
				    s->text[start] == '"' ? "" : "'", n,
				    MAX_IDENT_BYTES);
		}
		after_pw = end - start == 8 &&
			   strncasecmp(s->text + start, "password", 8) == 0;
	}
cleanup:
	if (sr)
		pg_query__scan_result__free_unpacked(sr, NULL);
	pg_query_free_scan_result(r);
}

/*
 * Mask the secrets found by scan_tokens in the source lines of the
 * findings this file added (any rule's, and the syntax errors of
 * nmig_script_check): a finding about an index on the same line as
 * `ALTER ROLE ... PASSWORD '...'` must not carry the password along.
 */
static void mask_sources(struct file *f)
{
	const char *t = f->script->text;
	struct nmig_diags *out = f->run->out;
	struct nmig_buf line = NMIG_BUF_INIT;
	size_t i, k, ls, le, pos, a, b;

	if (!f->nsecrets || (!f->lines && !lint_index_lines(f)))
		return;
	for (i = f->diag_start; i < out->n; i++) {
		struct nmig_diag *d = &out->items[i];
		int masked = 0;

		if (!d->source || !d->file || d->line < 1 ||
		    (size_t)d->line > f->nlines ||
		    strcmp(d->file, f->script->path) != 0)
			continue;
		ls = f->lines[d->line - 1];
		le = (size_t)d->line < f->nlines ? f->lines[d->line] - 1
						 : f->script->len;
		nmig_buf_clear(&line);
		/* the spans are in file order: find the first ending past ls */
		for (a = 0, b = f->nsecrets; a < b;) {
			k = a + (b - a) / 2;
			if (f->secrets[k].end <= ls)
				a = k + 1;
			else
				b = k;
		}
		for (pos = ls, k = a;
		     k < f->nsecrets && f->secrets[k].start < le; k++) {
			a = f->secrets[k].start > pos ? f->secrets[k].start
						      : pos;
			b = f->secrets[k].end < le ? f->secrets[k].end : le;
			nmig_buf_put(&line, t + pos, a - pos);
			nmig_buf_puts(&line, "'***'");
			pos = b;
			masked = 1;
		}
		if (!masked)
			continue;
		nmig_buf_put(&line, t + pos, le - pos);
		if (nmig_buf_oom(&line)) {
			lint_nomem(f->run);
			break;
		}
		nmig_diag_set_source(d, line.ptr);
	}
	nmig_buf_release(&line);
}

/*
 * The `-- nmig:lint-ignore a, b` lines among the leading comment lines of
 * the file (the header ends at the first blank line or SQL, as revfile's
 * does): collected with their offsets.
 */
static void parse_ignores(struct file *f)
{
	static const char key[] = "nmig:lint-ignore";
	const char *t = f->script->text, *end = t + f->script->len;
	const char *p = t, *eol, *q, *w;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		for (q = p; q < eol && (*q == ' ' || *q == '\t' || *q == '\r');
		     q++)
			;
		if (eol - q < 2 || q[0] != '-' || q[1] != '-')
			break;
		for (q += 2; q < eol && (*q == ' ' || *q == '\t'); q++)
			;
		if ((size_t)(eol - q) > sizeof(key) - 1 &&
		    memcmp(q, key, sizeof(key) - 1) == 0 &&
		    (q[sizeof(key) - 1] == ' ' || q[sizeof(key) - 1] == '\t')) {
			for (q += sizeof(key) - 1; q < eol;) {
				struct ignore *v;

				while (q < eol && strchr(" \t\r,", *q))
					q++;
				for (w = q; w < eol && !strchr(" \t\r,", *w);
				     w++)
					;
				if (w == q)
					break;
				v = realloc(f->ignores,
					    (f->nignores + 1) * sizeof(*v));
				if (!v) {
					lint_nomem(f->run);
					return;
				}
				f->ignores = v;
				v[f->nignores].off = (size_t)(q - t);
				v[f->nignores].name =
				    strndup(q, (size_t)(w - q));
				if (!v[f->nignores].name) {
					lint_nomem(f->run);
					return;
				}
				f->nignores++;
				q = w;
			}
		}
		p = eol + 1;
	}
}

/* An unknown rule name in a lint-ignore line is a warning. */
static void unknown_ignore(struct file *f, const char *name, size_t off)
{
	int line = 0, col = 0;
	struct nmig_diag *d;

	lint_linecol(f, off, &line, &col);
	d = nmig_diags_add(f->run->out, NMIG_SEV_WARNING, NMIG_EINPUT,
			   "lint-ignore", f->script->path, line, col,
			   "unknown lint rule '%s' in lint-ignore", name);
	if (!d) {
		lint_nomem(f->run);
		return;
	}
	nmig_diag_set_source(d, nmig_text_line_start(f->script->text, off));
	nmig_diag_set_hint(d, "`nmig lint --list-rules` lists the rules");
}

/* Warn about names in the lint-ignore lines that are no rule. */
static void check_ignores(struct file *f)
{
	size_t i, j;
	int seen;

	for (i = 0; i < f->nignores; i++)
		if (nmig_lint_rule_find(f->ignores[i].name) < 0)
			unknown_ignore(f, f->ignores[i].name,
				       f->ignores[i].off);
	if (!f->rev || f->is_down)
		return;
	for (i = 0; i < f->rev->nlint_ignore; i++) {
		const char *name = f->rev->lint_ignore[i];

		for (seen = 0, j = 0; j < f->nignores && !seen; j++)
			seen = strcmp(f->ignores[j].name, name) == 0;
		if (!seen && nmig_lint_rule_find(name) < 0)
			unknown_ignore(f, name, 0);
	}
}

/* Start the state of one file of a run. */
static void file_init(struct file *f, struct run *run,
		      const struct nmig_script *script,
		      const struct nmig_revision *rev, int is_down,
		      int transactional)
{
	memset(f, 0, sizeof(*f));
	f->run = run;
	f->script = script;
	f->rev = rev;
	f->is_down = is_down;
	f->transactional = transactional;
	f->diag_start = run->out->n;
}

/* Free the state of one file. */
static void file_release(struct file *f)
{
	size_t i;

	for (i = 0; i < f->nignores; i++)
		free(f->ignores[i].name);
	free(f->ignores);
	lint_objs_release(&f->created);
	lint_objs_release(&f->dropped);
	lint_objs_release(&f->renames);
	lint_objs_release(&f->plain_index_drops);
	free(f->secrets);
	free(f->lines);
	memset(f, 0, sizeof(*f));
}

/*
 * The table of an index this file drops, or NULL when unknown: from the
 * up file of a down file (which made the index), else from PostgreSQL's
 * default names (<table>_<cols>_idx, _key, _pkey, _excl) and Rails'
 * (index_<table>_on_<cols>) when a table of that name is dropped later.
 */
static const char *index_table(const struct file *f, const struct obj *ix)
{
	static const char *const tails[] = {"_idx", "_key", "_pkey", "_excl",
					    NULL};
	const struct obj *o;
	size_t i, n, len = strlen(ix->name);
	int t;

	if (f->up && (o = lint_created_obj(f->up, ix->schema, ix->name,
					   OBJ_INDEX, OBJ_INDEX)))
		return o->table;
	for (i = 0; i < f->dropped.n; i++) {
		o = &f->dropped.v[i];
		if (o->kind != OBJ_TABLE || o->off <= ix->off ||
		    !lint_same(o->schema, "", ix->schema, ""))
			continue;
		n = strlen(o->name);
		if (len > n + 1 && strncmp(ix->name, o->name, n) == 0 &&
		    ix->name[n] == '_')
			for (t = 0; tails[t]; t++)
				if (len >= n + strlen(tails[t]) &&
				    strcmp(ix->name + len - strlen(tails[t]),
					   tails[t]) == 0)
					return o->name;
		if (len > n + 10 && strncmp(ix->name, "index_", 6) == 0 &&
		    strncmp(ix->name + 6, o->name, n) == 0 &&
		    strncmp(ix->name + 6 + n, "_on_", 4) == 0)
			return o->name;
	}
	return NULL;
}

/*
 * require-concurrent-index-deletion, at the end of the file: a DROP INDEX
 * without CONCURRENTLY is reported unless the file drops the index's table
 * after it (the table's own ACCESS EXCLUSIVE lock is taken anyway, so
 * CONCURRENTLY would save nothing).
 */
static void finish_index_drops(struct file *f)
{
	struct obj table;
	size_t i;

	memset(&table, 0, sizeof(table));
	table.kind = OBJ_TABLE;
	for (i = 0; i < f->plain_index_drops.n; i++) {
		const struct obj *ix = &f->plain_index_drops.v[i];
		const char *t = index_table(f, ix);

		table.schema = ix->schema;
		table.name = (char *)(uintptr_t)t;
		if (t && lint_dropped_as(&f->dropped, t, &table, ix->off + 1))
			continue;
		lint_report(f, NMIG_LINT_CONCURRENT_INDEX_DELETION, ix->off, 1,
			    "index '%s' is dropped without CONCURRENTLY",
			    ix->name);
	}
}

/*
 * Lint one loaded file. A file the parser refused is first checked with
 * nmig_script_check, whose findings explain why; returns its result
 * (NMIG_EINPUT when the file has errors), the statements that parse are
 * linted either way.
 */
static int lint_file(struct file *f)
{
	const struct nmig_script *s = f->script;
	int rc = NMIG_OK;
	size_t i;

	if (!s->parse_ok) {
		if (f->run->cfg->script_check)
			rc =
			    nmig_script_check(s, f->transactional, f->run->out);
		else
			rc = nmig_error_set(NMIG_EINPUT,
					    "'%s' has SQL that does not parse",
					    s->path);
		f->parse_failed = 1;
		f->undo_unknown = 1;
	}
	parse_ignores(f);
	if (f->run->strict)
		check_ignores(f);
	/* one parse for the whole file when it parses, else per statement */
	for (i = s->parse_ok && lint_stmt_text(f, 0, s->len) ? s->n : 0;
	     i < s->n && !f->run->err; i++) {
		const struct nmig_stmt *st = &s->stmts[i];

		if ((st->flags & NMIG_STMT_UNPARSED) ||
		    !lint_stmt_text(f, st->offset, st->len)) {
			f->parse_failed = 1;
			f->undo_unknown = 1;
		}
	}
	scan_tokens(f);
	lint_finish_renames(f);
	finish_index_drops(f);
	if (!f->transactional && s->n > 1)
		lint_report(
		    f, NMIG_LINT_NONTX_MULTIPLE,
		    lint_skip_space(s->text, s->stmts[1].offset,
				    s->stmts[1].offset + s->stmts[1].len),
		    1, "non-transactional migration has %zu statements", s->n);
	mask_sources(f);
	if (f->run->err)
		return f->run->err;
	return rc < 0 ? rc : NMIG_OK;
}

/* down-does-not-undo: what the up file creates, the down file drops. */
static void check_undo(struct file *up, const struct file *down)
{
	size_t i;

	if (up->undo_unknown || down->undo_unknown)
		return;
	for (i = 0; i < up->created.n; i++) {
		const struct obj *o = &up->created.v[i];

		if (!o->undoable ||
		    lint_dropped_in(&up->dropped, o, o->off + 1) ||
		    lint_dropped_in(&down->dropped, o, 0))
			continue;
		if (o->table && o->kind != OBJ_INDEX)
			lint_report(
			    up, NMIG_LINT_DOWN_NOT_UNDOING, o->off, 1,
			    "%s '%s' on table '%s' is created here but the "
			    "down file does not drop it",
			    lint_obj_kind_names[o->kind], o->name, o->table);
		else
			lint_report(
			    up, NMIG_LINT_DOWN_NOT_UNDOING, o->off, 1,
			    "%s '%s' is created here but the down file does "
			    "not drop it",
			    lint_obj_kind_names[o->kind], o->name);
	}
}

/* Lint a revision, strictly or as history; see nmig_lint_revision. */
static int lint_revision(const struct nmig_revision *rev,
			 const struct nmig_lint_config *cfg, int strict,
			 struct nmig_diags *out)
{
	struct run run = {cfg, out, strict, 0};
	struct nmig_script up, down;
	struct file uf, df;
	int rc, up_loaded = 0, down_loaded = 0, bad = 0;

	memset(&uf, 0, sizeof(uf));
	memset(&df, 0, sizeof(df));
	rc = nmig_script_load(&up, rev->up.path, cfg->max_file_size);
	if (rc < 0)
		goto cleanup;
	up_loaded = 1;
	file_init(&uf, &run, &up, rev, 0, rev->transactional);
	rc = lint_file(&uf);
	if (rc == NMIG_ENOMEM)
		goto cleanup;
	bad = rc < 0;
	if (rev->down.path) {
		rc =
		    nmig_script_load(&down, rev->down.path, cfg->max_file_size);
		if (rc < 0)
			goto cleanup;
		down_loaded = 1;
		file_init(&df, &run, &down, rev, 1, rev->transactional);
		df.up = &uf;
		rc = lint_file(&df);
		if (rc == NMIG_ENOMEM)
			goto cleanup;
		bad |= rc < 0;
		if (strict) {
			check_undo(&uf, &df);
			mask_sources(&uf);
		}
	} else if (strict) {
		lint_report(&uf, NMIG_LINT_MISSING_DOWN, 0, 0,
			    "revision '%s' has no down file", rev->id);
	}
	rc = run.err;
	if (!rc && bad)
		rc = nmig_error_set(NMIG_EINPUT,
				    "revision '%s' has SQL that does not "
				    "parse",
				    rev->id);
cleanup:
	file_release(&uf);
	file_release(&df);
	if (up_loaded)
		nmig_script_release(&up);
	if (down_loaded)
		nmig_script_release(&down);
	return rc;
}

/* nmig_lint_revision: see lint.h. */
int nmig_lint_revision(const struct nmig_revision *rev,
		       const struct nmig_lint_config *cfg,
		       struct nmig_diags *out)
{
	return lint_revision(rev, cfg, 1, out);
}

/* nmig_lint_revision_history: see lint.h. */
int nmig_lint_revision_history(const struct nmig_revision *rev,
			       const struct nmig_lint_config *cfg,
			       struct nmig_diags *out)
{
	return lint_revision(rev, cfg, 0, out);
}

/* nmig_lint_checker: see lint.h. */
int nmig_lint_checker(struct nmig_buf *out, const struct nmig_lint_config *cfg)
{
	struct nmig_buf desc = NMIG_BUF_INIT;
	char sum[NMIG_SHA256_HEX];
	int i;

	nmig_buf_printf(&desc, "nmig %s lint %d pg_query %s\n", NMIG_VERSION,
			NMIG_LINT_VERSION, PG_VERSION);
	for (i = 0; i < NMIG_LINT_NRULES; i++) {
		nmig_buf_printf(&desc, "%s %d %u %d\n", rules[i].name,
				(int)rules[i].level, rules[i].flags,
				(int)cfg->level[i]);
		nmig_buf_puts(&desc, rules[i].why);
		nmig_buf_putc(&desc, '\n');
		nmig_buf_puts(&desc, rules[i].fix);
		nmig_buf_putc(&desc, '\n');
	}
	nmig_buf_printf(&desc, "script-check %d max %zu\n", cfg->script_check,
			cfg->max_file_size);
	if (nmig_buf_oom(&desc)) {
		nmig_buf_release(&desc);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	nmig_checksum(desc.ptr, desc.len, sum);
	nmig_buf_release(&desc);
	if (!sum[0])
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	nmig_buf_printf(out, "nmig %s lint %d pg_query %s %.24s", NMIG_VERSION,
			NMIG_LINT_VERSION, PG_VERSION, sum);
	return nmig_buf_oom(out) ? nmig_error_set(NMIG_ENOMEM, "out of memory")
				 : NMIG_OK;
}

/* nmig_lint_revision_cached: see lint.h. */
int nmig_lint_revision_cached(const struct nmig_revision *rev,
			      const struct nmig_lint_config *cfg, int strict,
			      struct nmig_cache *cache, const char *checker,
			      struct nmig_diags *out)
{
	const char *mode = strict ? " strict" : " history";
	char key[NMIG_SQLCHECK_KEY], ck[160];
	size_t from = out->n, clen = checker ? strlen(checker) : 0;
	int rc;

	/* a file over the cap is refused by the lint, cached or not */
	if (!nmig_cache_usable(cache) || !checker ||
	    clen + strlen(mode) >= sizeof(ck) ||
	    (unsigned long long)rev->up.size > cfg->max_file_size ||
	    (rev->down.path &&
	     (unsigned long long)rev->down.size > cfg->max_file_size) ||
	    nmig_sqlcheck_pair_key(key, 'l', rev) != 0)
		return lint_revision(rev, cfg, strict, out);
	memcpy(ck, checker, clen);
	strcpy(ck + clen, mode);
	rc = nmig_sqlcheck_pair_get(cache, key, rev, ck, out);
	if (rc != NMIG_ENOTFOUND)
		return rc;
	rc = lint_revision(rev, cfg, strict, out);
	if (rc == NMIG_OK)
		rc = nmig_sqlcheck_pair_put(
		    cache, key, rev, ck,
		    from < out->n ? out->items + from : NULL, out->n - from);
	return rc;
}

/* nmig_lint_sql: see lint.h. */
int nmig_lint_sql(const char *path, const char *sql, size_t len,
		  int transactional, const struct nmig_lint_config *cfg,
		  struct nmig_diags *out)
{
	struct run run = {cfg, out, 1, 0};
	struct nmig_script script;
	struct file f;
	int rc;

	rc = nmig_script_from_text(&script, path, sql, len);
	if (rc < 0)
		return rc;
	file_init(&f, &run, &script, NULL, 0, transactional);
	rc = lint_file(&f);
	if (rc == NMIG_EINPUT)
		rc = nmig_error_set(NMIG_EINPUT,
				    "'%s' has SQL that does not "
				    "parse",
				    path);
	file_release(&f);
	nmig_script_release(&script);
	return rc;
}

/* Whether a config key names a password (and not a variable holding one). */
static int password_key(const char *key)
{
	size_t n = strlen(key);
	const char *p;

	if (n >= 4 && strcasecmp(key + n - 4, "_env") == 0)
		return 0;
	for (p = key; *p; p++)
		if (strncasecmp(p, "password", 8) == 0 ||
		    strncasecmp(p, "passwd", 6) == 0)
			return 1;
	return 0;
}

/* each_config_line callback: config-password for one line. */
static int config_password(void *ud, const char *path, int lineno,
			   const char *line, const char *key, const char *value)
{
	struct run *run = ud;

	if (!*value)
		return NMIG_OK;
	/* lint.<rule> values are levels; rule names say "password" */
	if (strncmp(key, "lint.", 5) != 0 && password_key(key) &&
	    !placeholder(value))
		lint_add_finding(run, NMIG_LINT_CONFIG_PASSWORD, path, lineno,
				 (int)(value - line) + 1,
				 "config key '%s' holds a literal password",
				 key);
	else if (lint_has_secret(value))
		lint_add_finding(run, NMIG_LINT_CONFIG_PASSWORD, path, lineno,
				 (int)(value - line) + 1,
				 "config key '%s' holds a connection string "
				 "with a literal password",
				 key);
	return NMIG_OK;
}

/* config-password over the lines of the config file at path. */
static int lint_config_file(struct run *run, const char *path)
{
	int rc = each_config_line(path, config_password, run);

	return rc < 0 ? rc : run->err;
}

/*
 * Whether git tracks root/.env: `git -C root ls-files --error-unmatch -- .env`
 * exits 0. No git, no work tree or any other failure counts as untracked.
 * git gets the children's environment (childenv.h), not nmig's.
 */
static int env_tracked(const char *root)
{
	char *argv[] = {
	    "git", "-C",   (char *)root, "ls-files", "--error-unmatch",
	    "--",  ".env", NULL};
	struct nmig_childenv env = NMIG_CHILDENV_INIT;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status;

	if (nmig_childenv_init(&env, NULL)) {
		nmig_error_clear();
		return 0;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		nmig_childenv_release(&env);
		return 0;
	}
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
					     0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
					     0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
					     0) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		nmig_childenv_release(&env);
		return 0;
	}
	rc = posix_spawnp(&pid, "git", &fa, NULL, argv, env.envp);
	posix_spawn_file_actions_destroy(&fa);
	nmig_childenv_release(&env);
	if (rc != 0)
		return 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* nmig_lint_project: see lint.h. */
int nmig_lint_project(const char *root, const char *config_path,
		      const struct nmig_lint_config *cfg,
		      struct nmig_diags *out)
{
	struct run run = {cfg, out, 1, 0};
	struct nmig_buf path = NMIG_BUF_INIT;
	int rc = NMIG_OK;

	if (config_path &&
	    cfg->level[NMIG_LINT_CONFIG_PASSWORD] != NMIG_LINT_OFF) {
		rc = lint_config_file(&run, config_path);
		if (rc < 0)
			goto cleanup;
	}
	if (root && cfg->level[NMIG_LINT_ENV_TRACKED] != NMIG_LINT_OFF &&
	    env_tracked(root)) {
		if (strcmp(root, ".") == 0)
			nmig_buf_puts(&path, ".env");
		else
			nmig_buf_printf(&path, "%s/.env", root);
		if (nmig_buf_oom(&path)) {
			rc = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
		lint_add_finding(&run, NMIG_LINT_ENV_TRACKED, path.ptr, 0, 0,
				 "'%s' is tracked by git", path.ptr);
	}
	rc = run.err;
cleanup:
	nmig_buf_release(&path);
	return rc;
}
