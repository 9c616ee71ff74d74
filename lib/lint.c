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
#include "lint.h"
#include "buf.h"
#include "cache.h"
#include "childenv.h"
#include "error.h"
#include "sqlcheck.h"
#include "sqlscript.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

/* PostgreSQL's NAMEDATALEN - 1: identifiers longer than this are cut. */
#define MAX_IDENT_BYTES 63
/* Cap on the config file read for lint keys and secrets. */
#define MAX_CONFIG_SIZE ((size_t)1 << 20)

#define HIST NMIG_LINT_HISTORY
#define UP NMIG_LINT_UP_ONLY
#define SECRET NMIG_LINT_SECRET
#define PROJECT NMIG_LINT_PROJECT

#define RULE(id, name, level, flags, why, fix)                                 \
	[id] = {name, level, flags, why, fix}

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
static int has_secret(const char *s)
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

/* Objects that files create and drop, for down-does-not-undo. */
enum obj_kind {
	OBJ_TABLE,
	OBJ_INDEX,
	OBJ_COLUMN,
	OBJ_CONSTRAINT,
	OBJ_TRIGGER,
	OBJ_SEQUENCE,
	OBJ_VIEW,
	OBJ_MATVIEW,
	OBJ_TYPE,
	OBJ_DOMAIN,
	OBJ_SCHEMA,
	OBJ_EXTENSION,
	OBJ_FUNCTION,
};

static const char *const obj_kind_names[] = {
    [OBJ_TABLE] = "table",	 [OBJ_INDEX] = "index",
    [OBJ_COLUMN] = "column",	 [OBJ_CONSTRAINT] = "constraint",
    [OBJ_TRIGGER] = "trigger",	 [OBJ_SEQUENCE] = "sequence",
    [OBJ_VIEW] = "view",	 [OBJ_MATVIEW] = "materialized view",
    [OBJ_TYPE] = "type",	 [OBJ_DOMAIN] = "domain",
    [OBJ_SCHEMA] = "schema",	 [OBJ_EXTENSION] = "extension",
    [OBJ_FUNCTION] = "function",
};

/*
 * A named object. For columns, constraints, triggers and indexes, schema
 * and table name the table; otherwise schema and name the object itself.
 * schema is "" when the SQL did not qualify the name.
 */
struct obj {
	enum obj_kind kind;
	char *schema;
	char *name;
	char *table; /* NULL unless the object belongs to a table */
	char **cols; /* columns a constraint mentions */
	size_t ncols;
	size_t off;   /* file offset of the statement */
	int undoable; /* 1: the down file is expected to drop it */
	size_t next;  /* 1 + index of the next object in its hash chain */
};

/*
 * A list of objects in file order, hashed by name (chains newest first),
 * so that every lookup is O(1) on average and a file is linted in time
 * linear in its statements.
 */
struct objs {
	struct obj *v;
	size_t n, cap;
	size_t *bucket;	 /* 1 + index of the chain's first object, or 0 */
	size_t nbuckets; /* a power of two, >= n */
};

/* Free the objects of l and their names; l is left empty. */
static void objs_release(struct objs *l)
{
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].schema);
		free(l->v[i].name);
		free(l->v[i].table);
		for (j = 0; j < l->v[i].ncols; j++)
			free(l->v[i].cols[j]);
		free(l->v[i].cols);
	}
	free(l->v);
	free(l->bucket);
	memset(l, 0, sizeof(*l));
}

/* FNV-1a of a name. */
static size_t hash_name(const char *s)
{
	size_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* First object named name in l (newest first), as 1 + index, or 0. */
static size_t objs_first(const struct objs *l, const char *name)
{
	size_t k;

	if (!l->nbuckets)
		return 0;
	for (k = l->bucket[hash_name(name) & (l->nbuckets - 1)];
	     k && strcmp(l->v[k - 1].name, name) != 0; k = l->v[k - 1].next)
		;
	return k;
}

/* The next object after 1 + index k with the same name, or 0. */
static size_t objs_next(const struct objs *l, size_t k)
{
	const char *name = l->v[k - 1].name;

	for (k = l->v[k - 1].next; k && strcmp(l->v[k - 1].name, name) != 0;
	     k = l->v[k - 1].next)
		;
	return k;
}

/* Hash v[i] into its chain, doubling the buckets when they run out. */
static int objs_hash(struct objs *l, size_t i)
{
	size_t h, j;

	if (l->n + 1 > l->nbuckets) {
		size_t nb = l->nbuckets ? l->nbuckets * 2 : 64;
		size_t *b = calloc(nb, sizeof(*b));

		if (!b)
			return NMIG_ENOMEM;
		free(l->bucket);
		l->bucket = b;
		l->nbuckets = nb;
		for (j = 0; j < i; j++) {
			h = hash_name(l->v[j].name) & (nb - 1);
			l->v[j].next = b[h];
			b[h] = j + 1;
		}
	}
	h = hash_name(l->v[i].name) & (l->nbuckets - 1);
	l->v[i].next = l->bucket[h];
	l->bucket[h] = i + 1;
	return NMIG_OK;
}

/* The non-NULL form of a protobuf string (absent strings may be NULL). */
static const char *str(const char *s)
{
	return s ? s : "";
}

/* Run-wide state: configuration, output, strictness, first failure. */
struct run {
	const struct nmig_lint_config *cfg;
	struct nmig_diags *out;
	int strict;
	int err; /* NMIG_ENOMEM once an allocation failed */
};

/* An ignore entry from a `-- nmig:lint-ignore` line. */
struct ignore {
	char *name;
	size_t off; /* file offset of the name */
};

/* A byte range of the file text. */
struct span {
	size_t start, end;
};

/* Per-file state. */
struct file {
	struct run *run;
	const struct nmig_script *script;
	const struct nmig_revision *rev; /* NULL for nmig_lint_sql */
	int is_down;
	int transactional;
	struct ignore *ignores; /* from the file's own header lines */
	size_t nignores;
	struct objs created;  /* what this file creates, in order */
	struct objs dropped;  /* what this file drops, in order */
	struct objs renames;  /* existing tables renamed: name -> table */
	struct objs plain_index_drops; /* DROP INDEX without CONCURRENTLY of
					* an index this file did not create */
	const struct file *up; /* for a down file: its up file, else NULL */
	int undo_unknown;     /* down-does-not-undo cannot judge this file */
	int parse_failed;     /* a statement did not parse */
	struct span *secrets; /* string literals holding a secret, in order */
	size_t nsecrets, capsecrets;
	size_t diag_start; /* first finding of this file in run->out */
	size_t *lines;	   /* offsets of the line starts, built on demand */
	size_t nlines;
	size_t base;	 /* file offset of the parsed statement text */
	size_t stmt_off; /* file offset of the current statement */
	size_t stmt_end; /* end of the current statement text */
};

/* Record the first out-of-memory failure of the run. */
static void nomem(struct run *run)
{
	if (!run->err)
		run->err = nmig_error_set(NMIG_ENOMEM, "out of memory");
}

/* Whether a lint-ignore of the revision or of the file names rule. */
static int ignored(const struct file *f, int rule)
{
	size_t i;

	if (f->rev)
		for (i = 0; i < f->rev->nlint_ignore; i++)
			if (strcmp(f->rev->lint_ignore[i], rules[rule].name) ==
			    0)
				return 1;
	for (i = 0; i < f->nignores; i++)
		if (strcmp(f->ignores[i].name, rules[rule].name) == 0)
			return 1;
	return 0;
}

/* Whether rule applies to this file in this run. */
static int rule_on(const struct file *f, int rule)
{
	const struct run *run = f->run;

	if (run->cfg->level[rule] == NMIG_LINT_OFF)
		return 0;
	if (!run->strict && !(rules[rule].flags & NMIG_LINT_HISTORY))
		return 0;
	if (f->is_down && (rules[rule].flags & NMIG_LINT_UP_ONLY))
		return 0;
	return !ignored(f, rule);
}

/*
 * Append a finding of rule at file/line/col with the rule's fix as hint and
 * source as the source line (NULL: none). The caller checked the level.
 */
static void vadd_finding(struct run *run, int rule, const char *file, int line,
			 int col, const char *source, const char *fmt,
			 va_list ap)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	struct nmig_diag *d;
	enum nmig_severity sev = run->cfg->level[rule] == NMIG_LINT_ERROR
				     ? NMIG_SEV_ERROR
				     : NMIG_SEV_WARNING;

	nmig_buf_vprintf(&msg, fmt, ap);
	if (nmig_buf_oom(&msg)) {
		nomem(run);
		goto cleanup;
	}
	d = nmig_diags_add(run->out, sev, NMIG_ERROR, rules[rule].name, file,
			   line, col, "%s", msg.ptr);
	if (!d) {
		nomem(run);
		goto cleanup;
	}
	if (source && !(rules[rule].flags & NMIG_LINT_SECRET))
		nmig_diag_set_source(d, source);
	nmig_diag_set_hint(d, "%s", rules[rule].fix);
cleanup:
	nmig_buf_release(&msg);
}

/* A finding without a source line (project rules). */
static void add_finding(struct run *run, int rule, const char *file, int line,
			int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void add_finding(struct run *run, int rule, const char *file, int line,
			int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd_finding(run, rule, file, line, col, NULL, fmt, ap);
	va_end(ap);
}

/* Record the offsets of the file's line starts; 0 when out of memory. */
static int index_lines(struct file *f)
{
	const char *t = f->script->text;
	size_t len = f->script->len, n = 1, i;

	for (i = 0; i < len; i++)
		n += t[i] == '\n';
	f->lines = malloc(n * sizeof(*f->lines));
	if (!f->lines)
		return 0;
	f->lines[0] = 0;
	for (n = 1, i = 0; i < len; i++)
		if (t[i] == '\n')
			f->lines[n++] = i + 1;
	f->nlines = n;
	return 1;
}

/*
 * 1-based line and column (in UTF-8 characters, after a BOM on line 1) of
 * byte offset off, counted as nmig_text_linecol does, but in O(log lines +
 * line length) with the file's line index, so that many findings in a big
 * file cost no more than the file.
 */
static void linecol(struct file *f, size_t off, int *line, int *col)
{
	const char *t = f->script->text;
	size_t lo = 0, hi, mid, i, start;
	int c = 1;

	if (!f->lines && !index_lines(f)) {
		nmig_text_linecol(t, f->script->len, off, line, col);
		return;
	}
	hi = f->nlines;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (f->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	start = f->lines[lo];
	if (lo == 0 && f->script->len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
		start = off < 3 ? off : 3;
	for (i = start; i < off; i++)
		if (((unsigned char)t[i] & 0xC0) != 0x80)
			c++;
	*line = (int)lo + 1;
	*col = c;
}

/*
 * Report rule at file offset off of the current file, when the rule is on.
 * with_source 0 leaves the source line out.
 */
static void report(struct file *f, int rule, size_t off, int with_source,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct file *f, int rule, size_t off, int with_source,
		   const char *fmt, ...)
{
	const struct nmig_script *s = f->script;
	int line = 0, col = 0;
	va_list ap;

	if (!rule_on(f, rule))
		return;
	if (off > s->len)
		off = s->len;
	linecol(f, off, &line, &col);
	va_start(ap, fmt);
	vadd_finding(f->run, rule, s->path, line, col,
		     !with_source ? NULL
		     : f->lines	  ? s->text + f->lines[line - 1]
				  : nmig_text_line_start(s->text, off),
		     fmt, ap);
	va_end(ap);
}

/* File offset of a node location in the current statement (or its start). */
static size_t at(const struct file *f, int32_t loc)
{
	if (loc < 0)
		return f->stmt_off;
	return f->base + (size_t)loc;
}

/*
 * First token at or after off, before end: skips blanks, `--` comments and
 * nested `/ * * /` comments.
 */
static size_t skip_space(const char *t, size_t off, size_t end)
{
	int depth;

	while (off < end) {
		if (isspace((unsigned char)t[off])) {
			off++;
		} else if (t[off] == '-' && off + 1 < end &&
			   t[off + 1] == '-') {
			while (off < end && t[off] != '\n')
				off++;
		} else if (t[off] == '/' && off + 1 < end &&
			   t[off + 1] == '*') {
			depth = 0;
			while (off < end) {
				if (t[off] == '/' && off + 1 < end &&
				    t[off + 1] == '*') {
					depth++;
					off += 2;
				} else if (t[off] == '*' && off + 1 < end &&
					   t[off + 1] == '/') {
					off += 2;
					if (--depth == 0)
						break;
				} else {
					off++;
				}
			}
		} else {
			break;
		}
	}
	return off;
}

/* Objects: recording and matching. */

static char *copy_str(struct run *run, const char *s)
{
	char *d = strdup(str(s));

	if (!d)
		nomem(run);
	return d;
}

/* Append an object; returns it, or NULL when out of memory. */
static struct obj *obj_add(struct file *f, struct objs *l, enum obj_kind kind,
			   const char *schema, const char *name,
			   const char *table, int undoable)
{
	struct obj *o;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct obj *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			nomem(f->run);
			return NULL;
		}
		l->v = v;
		l->cap = cap;
	}
	o = &l->v[l->n];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->schema = copy_str(f->run, schema);
	o->name = copy_str(f->run, name);
	o->table = table ? copy_str(f->run, table) : NULL;
	o->off = f->stmt_off;
	o->undoable = undoable;
	if (!o->schema || !o->name || (table && !o->table) ||
	    objs_hash(l, l->n) < 0) {
		free(o->schema);
		free(o->name);
		free(o->table);
		nomem(f->run);
		return NULL;
	}
	l->n++;
	return o;
}

/* Equal names; schemas must agree only when both are given. */
static int same(const char *s1, const char *n1, const char *s2, const char *n2)
{
	if (strcmp(str(n1), str(n2)) != 0)
		return 0;
	return !*str(s1) || !*str(s2) || strcmp(s1, s2) == 0;
}

/* Whether the drop d removes the object o (directly or with its table). */
static int drops(const struct obj *d, const struct obj *o)
{
	size_t i;

	if (o->table) {
		if (d->kind == OBJ_TABLE &&
		    same(d->schema, d->name, o->schema, o->table))
			return 1;
		if (d->kind == OBJ_COLUMN &&
		    (o->kind == OBJ_CONSTRAINT || o->kind == OBJ_INDEX) &&
		    same(d->schema, d->table, o->schema, o->table))
			for (i = 0; i < o->ncols; i++)
				if (strcmp(o->cols[i], d->name) == 0)
					return 1;
		if (d->kind != o->kind)
			return 0;
		if (o->kind == OBJ_INDEX)
			return same(d->schema, d->name, o->schema, o->name);
		return same(d->schema, d->table, o->schema, o->table) &&
		       strcmp(d->name, o->name) == 0;
	}
	return d->kind == o->kind &&
	       same(d->schema, d->name, o->schema, o->name);
}

/* Whether a drop in l named name, at or after offset from, removes o. */
static int dropped_as(const struct objs *l, const char *name,
		      const struct obj *o, size_t from)
{
	size_t k;

	for (k = objs_first(l, name); k; k = objs_next(l, k))
		if (l->v[k - 1].off >= from && drops(&l->v[k - 1], o))
			return 1;
	return 0;
}

/*
 * Whether a drop in l at or after offset from removes o: a drop of the
 * object itself, of its table, or (for a constraint) of one of its
 * columns -- each looked up by name.
 */
static int dropped_in(const struct objs *l, const struct obj *o, size_t from)
{
	size_t i;

	if (dropped_as(l, o->name, o, from))
		return 1;
	if (o->table && dropped_as(l, o->table, o, from))
		return 1;
	for (i = 0; i < o->ncols; i++)
		if (dropped_as(l, o->cols[i], o, from))
			return 1;
	return 0;
}

/*
 * The first object of kind a or kind b called schema.name created earlier
 * in this file, or NULL.
 */
static const struct obj *created_obj(const struct file *f, const char *schema,
				     const char *name, enum obj_kind a,
				     enum obj_kind b)
{
	size_t k;

	for (k = objs_first(&f->created, name); k;
	     k = objs_next(&f->created, k)) {
		const struct obj *o = &f->created.v[k - 1];

		if ((o->kind == a || o->kind == b) &&
		    same(o->schema, o->name, schema, name))
			return o;
	}
	return NULL;
}

/*
 * Whether the table schema.name was created earlier in this file (and not
 * dropped since): such a table is new, and the lock rules skip it.
 */
static int is_new_table(const struct file *f, const char *schema,
			const char *name)
{
	const struct obj *o =
	    created_obj(f, schema, name, OBJ_TABLE, OBJ_MATVIEW);

	return o && !dropped_in(&f->dropped, o, o->off + 1);
}

/* Whether an index of this name was created earlier in this file. */
static int is_new_index(const struct file *f, const char *schema,
			const char *name)
{
	return created_obj(f, schema, name, OBJ_INDEX, OBJ_INDEX) != NULL;
}

/* Parse-tree helpers. */

/* The string of a String node, or NULL for any other node. */
static const char *node_str(const PgQuery__Node *n)
{
	if (n && n->node_case == PG_QUERY__NODE__NODE_STRING && n->string)
		return str(n->string->sval);
	return NULL;
}

/*
 * The last two names of a qualified name list ([catalog.]schema.name):
 * *schema is "" when unqualified.
 */
static void qualified(PgQuery__Node *const *v, size_t n, const char **schema,
		      const char **name)
{
	const char *s;

	*schema = "";
	*name = "";
	if (n >= 1 && (s = node_str(v[n - 1])))
		*name = s;
	if (n >= 2 && (s = node_str(v[n - 2])))
		*schema = s;
}

/* The schema a RangeVar names, "" when unqualified or absent. */
static const char *rv_schema(const PgQuery__RangeVar *rv)
{
	return rv ? str(rv->schemaname) : "";
}

/* The relation a RangeVar names, "" when absent. */
static const char *rv_name(const PgQuery__RangeVar *rv)
{
	return rv ? str(rv->relname) : "";
}

/* The base name of a type (last name) and its schema ("" if none). */
static void type_names(const PgQuery__TypeName *tn, const char **schema,
		       const char **name)
{
	qualified(tn->names, tn->n_names, schema, name);
}

/* Whether a type name refers to the built-in type called builtin. */
static int builtin_type(const PgQuery__TypeName *tn, const char *builtin)
{
	const char *schema, *name;

	if (!tn)
		return 0;
	type_names(tn, &schema, &name);
	return strcmp(name, builtin) == 0 &&
	       (!*schema || strcmp(schema, "pg_catalog") == 0);
}

/*
 * Whether field fd of the message at base holds a value: always, unless
 * it is a member of a oneof that chose another member.
 */
static int field_set(const char *base, const ProtobufCFieldDescriptor *fd)
{
	uint32_t which;

	if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return 1;
	memcpy(&which, base + fd->quantifier_offset, sizeof(which));
	return which == fd->id;
}

/* The pointer stored in field fd (a message, a string or an array). */
static const void *field_ptr(const char *base,
			     const ProtobufCFieldDescriptor *fd)
{
	const void *p;

	memcpy(&p, base + fd->offset, sizeof(p));
	return p;
}

/* Visit m and every message below it; fn returns nonzero to prune m. */
static void walk(const ProtobufCMessage *m,
		 int (*fn)(const ProtobufCMessage *m, void *ud), void *ud)
{
	const ProtobufCMessageDescriptor *d;
	const char *base;
	unsigned i;
	size_t j, n;

	if (!m || fn(m, ud))
		return;
	d = m->descriptor;
	base = (const char *)m;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];

		if (fd->type != PROTOBUF_C_TYPE_MESSAGE || !field_set(base, fd))
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			ProtobufCMessage *const *v = field_ptr(base, fd);

			memcpy(&n, base + fd->quantifier_offset, sizeof(n));
			for (j = 0; j < n; j++)
				walk(v[j], fn, ud);
		} else {
			walk(field_ptr(base, fd), fn, ud);
		}
	}
}

/* Function names whose result changes per call (provolatile = 'v'). */
static const char *const volatile_funcs[] = {
    "random",
    "random_normal",
    "setseed",
    "gen_random_uuid",
    "gen_random_bytes",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "currval",
    "lastval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
    NULL,
};

/* walk() callback: the first known volatile function called below m. */
static int find_volatile(const ProtobufCMessage *m, void *ud)
{
	const char **found = ud;
	const PgQuery__FuncCall *fc;
	const char *schema, *name;
	size_t i;

	if (*found || m->descriptor != &pg_query__func_call__descriptor)
		return *found != NULL;
	fc = (const PgQuery__FuncCall *)m;
	qualified(fc->funcname, fc->n_funcname, &schema, &name);
	for (i = 0; volatile_funcs[i]; i++)
		if (strcmp(name, volatile_funcs[i]) == 0) {
			*found = volatile_funcs[i];
			return 1;
		}
	return 0;
}

/* The name of a known volatile function called in expr, or NULL. */
static const char *volatile_call(const PgQuery__Node *expr)
{
	const char *found = NULL;

	walk(&expr->base, find_volatile, &found);
	return found;
}

/* Column names mentioned by ColumnRef nodes below m, for constraints. */
struct colrefs {
	struct file *f;
	struct obj *o;
};

/* Add col to the columns constraint o mentions (NULL/"" ignored). */
static void obj_add_col(struct file *f, struct obj *o, const char *col)
{
	char **v;

	if (!col || !*col)
		return;
	v = realloc(o->cols, (o->ncols + 1) * sizeof(*v));
	if (!v) {
		nomem(f->run);
		return;
	}
	o->cols = v;
	if ((o->cols[o->ncols] = copy_str(f->run, col)))
		o->ncols++;
}

/* walk() callback: the column of each ColumnRef below m. */
static int collect_colrefs(const ProtobufCMessage *m, void *ud)
{
	struct colrefs *c = ud;
	const PgQuery__ColumnRef *cr;
	const char *s;

	if (m->descriptor != &pg_query__column_ref__descriptor)
		return 0;
	cr = (const PgQuery__ColumnRef *)m;
	if (cr->n_fields && (s = node_str(cr->fields[cr->n_fields - 1])))
		obj_add_col(c->f, c->o, s);
	return 1;
}

/* Rule helpers shared by several statements. */

static void not_retryable(struct file *f, size_t off, const char *what,
			  const char *instead)
{
	if (f->transactional)
		return;
	report(f, NMIG_LINT_NONTX_NOT_RETRYABLE, off, 1,
	       "this non-transactional migration fails when run again: %s; "
	       "write %s",
	       what, instead);
}

/* The column-type preference rules for one column. */
static void check_coltype(struct file *f, const PgQuery__TypeName *tn,
			  const char *col)
{
	const char *schema, *name;

	if (!tn)
		return;
	type_names(tn, &schema, &name);
	if (*schema && strcmp(schema, "pg_catalog") != 0)
		return;
	if (strcmp(name, "json") == 0)
		report(f, NMIG_LINT_PREFER_JSONB, at(f, tn->location), 1,
		       "column '%s' has type json", col);
	else if (strcmp(name, "timestamp") == 0)
		report(f, NMIG_LINT_PREFER_TIMESTAMPTZ, at(f, tn->location), 1,
		       "column '%s' has type timestamp without time zone", col);
	else if (strcmp(name, "varchar") == 0 && tn->n_typmods)
		report(f, NMIG_LINT_PREFER_TEXT, at(f, tn->location), 1,
		       "column '%s' has type varchar(n)", col);
	else if (strcmp(name, "bpchar") == 0)
		report(f, NMIG_LINT_PREFER_TEXT, at(f, tn->location), 1,
		       "column '%s' has type char(n)", col);
}

/* prefer-bigint-primary-key for a primary key column of type tn. */
static void check_pk_type(struct file *f, const PgQuery__TypeName *tn,
			  const char *col)
{
	static const char *const small[] = {
	    "int2",   "int4",	 "int",		"integer", "smallint",
	    "serial", "serial4", "smallserial", "serial2", NULL,
	};
	size_t i;

	if (!tn)
		return;
	for (i = 0; small[i]; i++)
		if (builtin_type(tn, small[i])) {
			report(f, NMIG_LINT_PREFER_BIGINT_PK,
			       at(f, tn->location), 1,
			       "primary key column '%s' is a 32-bit or "
			       "smaller integer",
			       col);
			return;
		}
}

/* Whether tn is one of the serial pseudo-types. */
static int is_serial(const PgQuery__TypeName *tn)
{
	static const char *const serials[] = {
	    "serial",	   "serial4", "bigserial", "serial8",
	    "smallserial", "serial2", NULL,
	};
	size_t i;

	for (i = 0; serials[i]; i++)
		if (builtin_type(tn, serials[i]))
			return 1;
	return 0;
}

/* The Constraint of a node, or NULL. */
static PgQuery__Constraint *node_constraint(const PgQuery__Node *n)
{
	if (n && n->node_case == PG_QUERY__NODE__NODE_CONSTRAINT)
		return n->constraint;
	return NULL;
}

/* The ColumnDef of a node, or NULL. */
static PgQuery__ColumnDef *node_coldef(const PgQuery__Node *n)
{
	if (n && n->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
		return n->column_def;
	return NULL;
}

/* CREATE TABLE. */
static void lint_create_table(struct file *f, const PgQuery__CreateStmt *s)
{
	const char *schema = rv_schema(s->relation);
	const char *table = rv_name(s->relation);
	size_t i, j;

	if (!s->if_not_exists)
		not_retryable(f, f->stmt_off,
			      "CREATE TABLE without IF NOT EXISTS",
			      "CREATE TABLE IF NOT EXISTS");
	for (i = 0; i < s->n_table_elts; i++) {
		PgQuery__ColumnDef *cd = node_coldef(s->table_elts[i]);
		PgQuery__Constraint *c = node_constraint(s->table_elts[i]);

		if (cd) {
			check_coltype(f, cd->type_name, str(cd->colname));
			for (j = 0; j < cd->n_constraints; j++) {
				PgQuery__Constraint *cc =
				    node_constraint(cd->constraints[j]);

				if (cc &&
				    cc->contype ==
					PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
					check_pk_type(f, cd->type_name,
						      str(cd->colname));
			}
		} else if (c &&
			   c->contype ==
			       PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY &&
			   c->n_keys == 1) {
			const char *key = node_str(c->keys[0]);

			for (j = 0; key && j < s->n_table_elts; j++) {
				PgQuery__ColumnDef *k =
				    node_coldef(s->table_elts[j]);

				if (k && strcmp(str(k->colname), key) == 0)
					check_pk_type(f, k->type_name, key);
			}
		}
	}
	obj_add(f, &f->created, OBJ_TABLE, schema, table, NULL,
		!s->if_not_exists);
}

/*
 * The columns index o uses (keys, expressions, INCLUDE, the WHERE of a
 * partial index): PostgreSQL drops the index with any one of them, so a
 * down file's DROP COLUMN undoes it.
 */
static void index_columns(struct file *f, struct obj *o,
			  const PgQuery__IndexStmt *s)
{
	struct colrefs refs = {f, o};
	PgQuery__Node **lists[2] = {s->index_params, s->index_including_params};
	size_t ns[2] = {s->n_index_params, s->n_index_including_params};
	size_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < ns[k]; i++) {
			const PgQuery__Node *n = lists[k][i];

			if (n->node_case != PG_QUERY__NODE__NODE_INDEX_ELEM)
				continue;
			obj_add_col(f, o, n->index_elem->name);
			if (n->index_elem->expr)
				walk(&n->index_elem->expr->base,
				     collect_colrefs, &refs);
		}
	if (s->where_clause)
		walk(&s->where_clause->base, collect_colrefs, &refs);
}

/* CREATE INDEX. */
static void lint_index(struct file *f, const PgQuery__IndexStmt *s)
{
	const char *schema = rv_schema(s->relation);
	const char *table = rv_name(s->relation);
	const char *name = str(s->idxname);
	struct obj *o;

	if (!s->concurrent && !is_new_table(f, schema, table)) {
		if (*name)
			report(f, NMIG_LINT_CONCURRENT_INDEX_CREATION,
			       f->stmt_off, 1,
			       "index '%s' on existing table '%s' is built "
			       "without CONCURRENTLY",
			       name, table);
		else
			report(f, NMIG_LINT_CONCURRENT_INDEX_CREATION,
			       f->stmt_off, 1,
			       "an index on existing table '%s' is built "
			       "without CONCURRENTLY",
			       table);
	}
	if (!s->if_not_exists)
		not_retryable(f, f->stmt_off,
			      "CREATE INDEX without IF NOT EXISTS",
			      *name ? "CREATE INDEX ... IF NOT EXISTS"
				    : "a named index with IF NOT EXISTS");
	if (*name && (o = obj_add(f, &f->created, OBJ_INDEX, schema, name,
				  table, !s->if_not_exists)))
		index_columns(f, o, s);
}

/* A constraint that ALTER TABLE adds to table (new: created in this file). */
static void lint_add_constraint(struct file *f, const char *schema,
				const char *table, int is_new,
				const PgQuery__Constraint *c)
{
	const char *name = str(c->conname);
	struct colrefs refs;
	struct obj *o;
	size_t i;

	if (!is_new) {
		switch (c->contype) {
		case PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN:
		case PG_QUERY__CONSTR_TYPE__CONSTR_CHECK:
			if (c->skip_validation)
				break;
			report(
			    f, NMIG_LINT_CONSTRAINT_NOT_VALID,
			    at(f, c->location), 1,
			    "%s constraint%s%s%s on existing table '%s' is "
			    "added without NOT VALID",
			    c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN
				? "foreign key"
				: "check",
			    *name ? " '" : "", name, *name ? "'" : "", table);
			break;
		case PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY:
		case PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE:
		case PG_QUERY__CONSTR_TYPE__CONSTR_EXCLUSION:
			if (*str(c->indexname))
				break;
			report(
			    f, NMIG_LINT_UNIQUE_WITHOUT_INDEX,
			    at(f, c->location), 1,
			    "%s constraint%s%s%s on existing table '%s' builds "
			    "its index while reads and writes wait",
			    c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY
				? "primary key"
			    : c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE
				? "unique"
				: "exclusion",
			    *name ? " '" : "", name, *name ? "'" : "", table);
			break;
		default:
			break;
		}
	}
	if (!*name || is_new)
		return;
	o = obj_add(f, &f->created, OBJ_CONSTRAINT, schema, name, table, 1);
	if (!o)
		return;
	for (i = 0; i < c->n_keys; i++)
		obj_add_col(f, o, node_str(c->keys[i]));
	for (i = 0; i < c->n_fk_attrs; i++)
		obj_add_col(f, o, node_str(c->fk_attrs[i]));
	refs.f = f;
	refs.o = o;
	if (c->raw_expr)
		walk(&c->raw_expr->base, collect_colrefs, &refs);
}

/* ALTER TABLE ... ADD COLUMN. */
static void lint_add_column(struct file *f, const char *schema,
			    const char *table, int is_new,
			    const PgQuery__AlterTableCmd *cmd)
{
	const PgQuery__ColumnDef *cd = node_coldef(cmd->def);
	const PgQuery__Constraint *def = NULL;
	int not_null, identity, generated, serial;
	const char *col, *fn = NULL;
	size_t i;

	if (!cd)
		return;
	col = str(cd->colname);
	check_coltype(f, cd->type_name, col);
	if (!cmd->missing_ok)
		not_retryable(f, at(f, cd->location),
			      "ADD COLUMN without IF NOT EXISTS",
			      "ADD COLUMN IF NOT EXISTS");
	not_null = cd->is_not_null;
	identity = *str(cd->identity) != 0;
	generated = *str(cd->generated) != 0;
	serial = cd->type_name && is_serial(cd->type_name);
	for (i = 0; i < cd->n_constraints; i++) {
		const PgQuery__Constraint *c =
		    node_constraint(cd->constraints[i]);

		if (!c)
			continue;
		switch (c->contype) {
		case PG_QUERY__CONSTR_TYPE__CONSTR_NOTNULL:
			not_null = 1;
			break;
		case PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT:
			def = c;
			break;
		case PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY:
			identity = 1;
			break;
		case PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED:
			generated = 1;
			break;
		case PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY:
			not_null = 1;
			check_pk_type(f, cd->type_name, col);
			/* fall through */
		case PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE:
			if (!is_new)
				report(
				    f, NMIG_LINT_UNIQUE_WITHOUT_INDEX,
				    at(f, c->location), 1,
				    "%s column '%s' added to existing table "
				    "'%s' builds its index while reads and "
				    "writes wait",
				    c->contype ==
					    PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY
					? "primary key"
					: "unique",
				    col, table);
			break;
		case PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN:
		case PG_QUERY__CONSTR_TYPE__CONSTR_CHECK:
			if (!is_new && !c->skip_validation)
				report(
				    f, NMIG_LINT_CONSTRAINT_NOT_VALID,
				    at(f, c->location), 1,
				    "%s on column '%s' added to existing "
				    "table '%s' is validated while writes "
				    "wait; add it separately NOT VALID",
				    c->contype ==
					    PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN
					? "foreign key"
					: "check constraint",
				    col, table);
			break;
		default:
			break;
		}
	}
	if (is_new)
		return;
	if (def && def->raw_expr)
		fn = volatile_call(def->raw_expr);
	if (fn)
		report(f, NMIG_LINT_VOLATILE_DEFAULT, at(f, def->location), 1,
		       "column '%s' is added to existing table '%s' with a "
		       "volatile default (%s())",
		       col, table, fn);
	else if (serial)
		report(f, NMIG_LINT_VOLATILE_DEFAULT,
		       at(f, cd->type_name->location), 1,
		       "column '%s' is added to existing table '%s' as serial, "
		       "whose nextval() default is volatile",
		       col, table);
	else if (identity)
		report(f, NMIG_LINT_VOLATILE_DEFAULT, at(f, cd->location), 1,
		       "column '%s' is added to existing table '%s' as an "
		       "identity column, which fills every row",
		       col, table);
	else if (generated)
		report(f, NMIG_LINT_VOLATILE_DEFAULT, at(f, cd->location), 1,
		       "column '%s' is added to existing table '%s' as a "
		       "stored generated column, which computes every row",
		       col, table);
	if (not_null && !def && !identity && !generated && !serial)
		report(f, NMIG_LINT_REQUIRED_COLUMN, at(f, cd->location), 1,
		       "column '%s' is added NOT NULL to existing table '%s' "
		       "without a default",
		       col, table);
	obj_add(f, &f->created, OBJ_COLUMN, schema, col, table,
		!cmd->missing_ok);
}

/* ALTER TABLE. */
static void lint_alter_table(struct file *f, const PgQuery__AlterTableStmt *s)
{
	const char *schema = rv_schema(s->relation);
	const char *table = rv_name(s->relation);
	int is_new;
	size_t i;

	if (s->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return;
	is_new = is_new_table(f, schema, table);
	for (i = 0; i < s->n_cmds; i++) {
		const PgQuery__AlterTableCmd *cmd;
		const PgQuery__ColumnDef *cd;
		const char *tname, *tschema;

		if (s->cmds[i]->node_case !=
		    PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		cmd = s->cmds[i]->alter_table_cmd;
		switch (cmd->subtype) {
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn:
			lint_add_column(f, schema, table, is_new, cmd);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_SetNotNull:
			if (!is_new)
				report(f, NMIG_LINT_SETTING_NOT_NULL,
				       f->stmt_off, 1,
				       "column '%s' of existing table '%s' is "
				       "set NOT NULL",
				       str(cmd->name), table);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
			if (node_constraint(cmd->def))
				lint_add_constraint(f, schema, table, is_new,
						    cmd->def->constraint);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType:
			cd = node_coldef(cmd->def);
			if (!cd || !cd->type_name)
				break;
			type_names(cd->type_name, &tschema, &tname);
			if (!is_new)
				report(f, NMIG_LINT_CHANGING_COLUMN_TYPE,
				       at(f, cd->location), 1,
				       "column '%s' of existing table '%s' "
				       "changes type to %s",
				       str(cmd->name), table, tname);
			check_coltype(f, cd->type_name, str(cmd->name));
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn:
			if (!is_new)
				report(f, NMIG_LINT_DROPPING_COLUMN,
				       f->stmt_off, 1,
				       "column '%s' is dropped from existing "
				       "table '%s'",
				       str(cmd->name), table);
			if (!cmd->missing_ok)
				not_retryable(f, f->stmt_off,
					      "DROP COLUMN without IF EXISTS",
					      "DROP COLUMN IF EXISTS");
			obj_add(f, &f->dropped, OBJ_COLUMN, schema,
				str(cmd->name), table, 0);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_DropConstraint:
			if (!cmd->missing_ok)
				not_retryable(
				    f, f->stmt_off,
				    "DROP CONSTRAINT without IF EXISTS",
				    "DROP CONSTRAINT IF EXISTS");
			obj_add(f, &f->dropped, OBJ_CONSTRAINT, schema,
				str(cmd->name), table, 0);
			break;
		default:
			break;
		}
	}
}

/* The object kind a DROP removes, or -1 for kinds lint does not track. */
static int drop_kind(PgQuery__ObjectType t)
{
	switch (t) {
	case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE:
		return OBJ_TABLE;
	case PG_QUERY__OBJECT_TYPE__OBJECT_INDEX:
		return OBJ_INDEX;
	case PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE:
		return OBJ_SEQUENCE;
	case PG_QUERY__OBJECT_TYPE__OBJECT_VIEW:
		return OBJ_VIEW;
	case PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW:
		return OBJ_MATVIEW;
	case PG_QUERY__OBJECT_TYPE__OBJECT_TYPE:
		return OBJ_TYPE;
	case PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN:
		return OBJ_DOMAIN;
	case PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA:
		return OBJ_SCHEMA;
	case PG_QUERY__OBJECT_TYPE__OBJECT_EXTENSION:
		return OBJ_EXTENSION;
	case PG_QUERY__OBJECT_TYPE__OBJECT_FUNCTION:
	case PG_QUERY__OBJECT_TYPE__OBJECT_PROCEDURE:
	case PG_QUERY__OBJECT_TYPE__OBJECT_ROUTINE:
		return OBJ_FUNCTION;
	case PG_QUERY__OBJECT_TYPE__OBJECT_TRIGGER:
		return OBJ_TRIGGER;
	default:
		return -1;
	}
}

/* DROP <object>. */
static void lint_drop(struct file *f, const PgQuery__DropStmt *s)
{
	int kind = drop_kind(s->remove_type);
	size_t i;

	if (!s->missing_ok)
		not_retryable(f, f->stmt_off, "DROP without IF EXISTS",
			      "DROP ... IF EXISTS");
	if (s->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE && f->is_down)
		f->undo_unknown = 1;
	for (i = 0; i < s->n_objects; i++) {
		const PgQuery__Node *n = s->objects[i];
		const char *schema = "", *name = "", *table = NULL, *x;

		if (n->node_case == PG_QUERY__NODE__NODE_LIST && n->list) {
			size_t k = n->list->n_items;

			qualified(n->list->items, k, &schema, &name);
			if (kind == OBJ_TRIGGER) {
				table = schema;
				schema = "";
				if (k >= 3 &&
				    (x = node_str(n->list->items[k - 3])))
					schema = x;
			}
		} else if (n->node_case == PG_QUERY__NODE__NODE_TYPE_NAME) {
			type_names(n->type_name, &schema, &name);
		} else if (n->node_case ==
			   PG_QUERY__NODE__NODE_OBJECT_WITH_ARGS) {
			qualified(n->object_with_args->objname,
				  n->object_with_args->n_objname, &schema,
				  &name);
		} else if ((x = node_str(n))) {
			name = x;
		}
		/* judged at the end of the file: a later DROP TABLE of the
		 * index's table makes the lock moot */
		if (kind == OBJ_INDEX && !s->concurrent &&
		    !is_new_index(f, schema, name))
			obj_add(f, &f->plain_index_drops, OBJ_INDEX, schema,
				name, NULL, 0);
		if (kind == OBJ_TABLE && !is_new_table(f, schema, name))
			report(f, NMIG_LINT_DROPPING_TABLE, f->stmt_off, 1,
			       "table '%s' is dropped", name);
		if (kind >= 0)
			obj_add(f, &f->dropped, (enum obj_kind)kind, schema,
				name, table, 0);
	}
}

/*
 * ALTER ... RENAME. A table renamed after being created in the file stays
 * new under its new name; renaming an existing table is reported at the
 * end of the file unless a view then keeps the old name working.
 */
static void lint_rename(struct file *f, const PgQuery__RenameStmt *s)
{
	const char *schema = rv_schema(s->relation);
	const char *table = rv_name(s->relation);
	int is_new = s->relation && is_new_table(f, schema, table);

	f->undo_unknown = 1;
	if (s->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN &&
	    s->relation_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE && !is_new)
		report(f, NMIG_LINT_RENAMING_COLUMN, f->stmt_off, 1,
		       "column '%s' of existing table '%s' is renamed to '%s'",
		       str(s->subname), table, str(s->newname));
	if (s->rename_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return;
	if (is_new)
		obj_add(f, &f->created, OBJ_TABLE, schema, str(s->newname),
			NULL, 0);
	else
		obj_add(f, &f->renames, OBJ_TABLE, schema, table,
			str(s->newname), 0);
}

/* Whether a DefElem is a `password` option carrying a value. */
static int password_option(const PgQuery__Node *n, size_t *loc_out,
			   const struct file *f)
{
	const PgQuery__DefElem *d;

	if (!n || n->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
		return 0;
	d = n->def_elem;
	if (strcasecmp(str(d->defname), "password") != 0 || !d->arg)
		return 0;
	*loc_out = at(f, d->location);
	return 1;
}

/* The role a RoleSpec names, CURRENT_USER and friends included. */
static const char *role_name(const PgQuery__RoleSpec *r)
{
	if (!r)
		return "";
	if (*str(r->rolename))
		return r->rolename;
	switch (r->roletype) {
	case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CURRENT_USER:
		return "current_user";
	case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_SESSION_USER:
		return "session_user";
	case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_CURRENT_ROLE:
		return "current_role";
	case PG_QUERY__ROLE_SPEC_TYPE__ROLESPEC_PUBLIC:
		return "public";
	default:
		return "";
	}
}

/* What holds the password options lint_password_options looks at. */
enum pw_owner { PW_ROLE, PW_USER_MAPPING, PW_SERVER };

/* Password options of roles, user mappings and foreign servers. */
static void lint_password_options(struct file *f, enum pw_owner owner,
				  PgQuery__Node *const *opts, size_t n,
				  const char *a, const char *b)
{
	size_t i, loc;

	for (i = 0; i < n; i++) {
		if (!password_option(opts[i], &loc, f))
			continue;
		if (owner == PW_ROLE)
			report(f, NMIG_LINT_ROLE_PASSWORD, loc, 0,
			       "role '%s' is given a literal password", a);
		else if (owner == PW_USER_MAPPING)
			report(f, NMIG_LINT_USER_MAPPING_PASSWORD, loc, 0,
			       "user mapping for '%s' on server '%s' holds a "
			       "literal password",
			       a, b);
		else
			report(f, NMIG_LINT_USER_MAPPING_PASSWORD, loc, 0,
			       "foreign server '%s' holds a literal password "
			       "in its options",
			       a);
	}
}

/*
 * Secrets anywhere in a statement: string constants, option values and
 * string fields (connection strings, function bodies) holding a
 * connection string or URI with a literal password.
 */
static int find_secrets(const ProtobufCMessage *m, void *ud)
{
	struct file *f = ud;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m, *s;
	unsigned i;

	if (d == &pg_query__a__const__descriptor) {
		const PgQuery__AConst *c = (const PgQuery__AConst *)m;

		if (c->val_case == PG_QUERY__A__CONST__VAL_SVAL && c->sval &&
		    has_secret(str(c->sval->sval)))
			report(f, NMIG_LINT_CONNINFO_PASSWORD,
			       at(f, c->location), 0,
			       "a string constant holds a connection string "
			       "with a literal password");
		return 1;
	}
	if (d == &pg_query__def_elem__descriptor) {
		const PgQuery__DefElem *de = (const PgQuery__DefElem *)m;

		/* role and user-mapping passwords have rules of their own */
		if (strcasecmp(str(de->defname), "password") == 0)
			return 1;
		if ((s = node_str(de->arg)) && has_secret(s)) {
			report(f, NMIG_LINT_CONNINFO_PASSWORD,
			       at(f, de->location), 0,
			       strcmp(str(de->defname), "as") == 0
				   ? "a function body holds a connection "
				     "string with a literal password"
				   : "an option value holds a connection "
				     "string with a literal password");
			return 1;
		}
		return 0;
	}
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];

		if (fd->type != PROTOBUF_C_TYPE_STRING ||
		    fd->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		if (!field_set(base, fd))
			continue;
		s = field_ptr(base, fd);
		if (s && has_secret(s))
			report(f, NMIG_LINT_CONNINFO_PASSWORD, f->stmt_off, 0,
			       "%s holds a literal password",
			       strcmp(fd->name, "conninfo") == 0
				   ? "the CONNECTION string"
				   : "a connection string in this "
				     "statement");
	}
	return 0;
}

/* walk() callback: sets *ud when m is a function call. */
static int find_call(const ProtobufCMessage *m, void *ud)
{
	int *found = ud;

	if (m->descriptor == &pg_query__func_call__descriptor)
		*found = 1;
	return *found;
}

/* Statements that create objects the down file should drop. */
static void lint_creations(struct file *f, const PgQuery__Node *n)
{
	const char *schema, *name;
	size_t i;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT: {
		const PgQuery__CreateTableAsStmt *s = n->create_table_as_stmt;
		const PgQuery__RangeVar *rv = s->into ? s->into->rel : NULL;

		if (!s->if_not_exists)
			not_retryable(f, f->stmt_off,
				      "CREATE ... AS without IF NOT EXISTS",
				      "CREATE ... IF NOT EXISTS ... AS");
		obj_add(f, &f->created,
			s->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW
			    ? OBJ_MATVIEW
			    : OBJ_TABLE,
			rv_schema(rv), rv_name(rv), NULL, !s->if_not_exists);
		break;
	}
	case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT: {
		const PgQuery__CreateSeqStmt *s = n->create_seq_stmt;
		int owned = 0;

		for (i = 0; i < s->n_options; i++)
			if (s->options[i]->node_case ==
				PG_QUERY__NODE__NODE_DEF_ELEM &&
			    strcmp(str(s->options[i]->def_elem->defname),
				   "owned_by") == 0)
				owned = 1;
		if (!s->if_not_exists)
			not_retryable(f, f->stmt_off,
				      "CREATE SEQUENCE without IF NOT EXISTS",
				      "CREATE SEQUENCE IF NOT EXISTS");
		obj_add(f, &f->created, OBJ_SEQUENCE, rv_schema(s->sequence),
			rv_name(s->sequence), NULL,
			!s->if_not_exists && !owned);
		break;
	}
	case PG_QUERY__NODE__NODE_VIEW_STMT: {
		const PgQuery__ViewStmt *s = n->view_stmt;

		if (!s->replace)
			not_retryable(f, f->stmt_off,
				      "CREATE VIEW without OR REPLACE",
				      "CREATE OR REPLACE VIEW");
		obj_add(f, &f->created, OBJ_VIEW, rv_schema(s->view),
			rv_name(s->view), NULL, !s->replace);
		break;
	}
	case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
		qualified(n->create_enum_stmt->type_name,
			  n->create_enum_stmt->n_type_name, &schema, &name);
		obj_add(f, &f->created, OBJ_TYPE, schema, name, NULL, 1);
		break;
	case PG_QUERY__NODE__NODE_CREATE_RANGE_STMT:
		qualified(n->create_range_stmt->type_name,
			  n->create_range_stmt->n_type_name, &schema, &name);
		obj_add(f, &f->created, OBJ_TYPE, schema, name, NULL, 1);
		break;
	case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT: {
		const PgQuery__CompositeTypeStmt *s = n->composite_type_stmt;

		for (i = 0; i < s->n_coldeflist; i++) {
			const PgQuery__ColumnDef *cd =
			    node_coldef(s->coldeflist[i]);

			if (cd)
				check_coltype(f, cd->type_name,
					      str(cd->colname));
		}
		obj_add(f, &f->created, OBJ_TYPE, rv_schema(s->typevar),
			rv_name(s->typevar), NULL, 1);
		break;
	}
	case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
		qualified(n->create_domain_stmt->domainname,
			  n->create_domain_stmt->n_domainname, &schema, &name);
		obj_add(f, &f->created, OBJ_DOMAIN, schema, name, NULL, 1);
		break;
	case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT: {
		const PgQuery__CreateSchemaStmt *s = n->create_schema_stmt;

		if (!s->if_not_exists)
			not_retryable(f, f->stmt_off,
				      "CREATE SCHEMA without IF NOT EXISTS",
				      "CREATE SCHEMA IF NOT EXISTS");
		if (s->n_schema_elts)
			f->undo_unknown = 1;
		obj_add(f, &f->created, OBJ_SCHEMA, "", str(s->schemaname),
			NULL, !s->if_not_exists);
		break;
	}
	case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT: {
		const PgQuery__CreateExtensionStmt *s =
		    n->create_extension_stmt;

		if (!s->if_not_exists)
			not_retryable(f, f->stmt_off,
				      "CREATE EXTENSION without IF NOT EXISTS",
				      "CREATE EXTENSION IF NOT EXISTS");
		obj_add(f, &f->created, OBJ_EXTENSION, "", str(s->extname),
			NULL, !s->if_not_exists);
		break;
	}
	case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT: {
		const PgQuery__CreateFunctionStmt *s = n->create_function_stmt;

		if (!s->replace)
			not_retryable(f, f->stmt_off,
				      "CREATE FUNCTION without OR REPLACE",
				      "CREATE OR REPLACE FUNCTION");
		qualified(s->funcname, s->n_funcname, &schema, &name);
		obj_add(f, &f->created, OBJ_FUNCTION, schema, name, NULL,
			!s->replace);
		break;
	}
	case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT: {
		const PgQuery__CreateTrigStmt *s = n->create_trig_stmt;

		if (!s->replace)
			not_retryable(f, f->stmt_off,
				      "CREATE TRIGGER without OR REPLACE",
				      "CREATE OR REPLACE TRIGGER");
		obj_add(f, &f->created, OBJ_TRIGGER, rv_schema(s->relation),
			str(s->trigname), rv_name(s->relation), !s->replace);
		break;
	}
	default:
		break;
	}
}

/*
 * Statement linters: one per parse-tree node type that a rule looks at,
 * each checking that statement's rules and recording what it creates and
 * drops. The table below maps node types to them; a statement of any
 * other type goes to lint_creations.
 */

static void stmt_index(struct file *f, const PgQuery__Node *n)
{
	lint_index(f, n->index_stmt);
}

static void stmt_create_table(struct file *f, const PgQuery__Node *n)
{
	lint_create_table(f, n->create_stmt);
}

static void stmt_alter_table(struct file *f, const PgQuery__Node *n)
{
	lint_alter_table(f, n->alter_table_stmt);
}

static void stmt_drop(struct file *f, const PgQuery__Node *n)
{
	lint_drop(f, n->drop_stmt);
}

static void stmt_rename(struct file *f, const PgQuery__Node *n)
{
	lint_rename(f, n->rename_stmt);
}

static void stmt_dropdb(struct file *f, const PgQuery__Node *n)
{
	report(f, NMIG_LINT_DROP_DATABASE, f->stmt_off, 1,
	       "database '%s' is dropped", str(n->dropdb_stmt->dbname));
}

static void stmt_truncate(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__TruncateStmt *s = n->truncate_stmt;
	const char *t = "";

	if (s->behavior != PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE)
		return;
	if (s->n_relations &&
	    s->relations[0]->node_case == PG_QUERY__NODE__NODE_RANGE_VAR)
		t = rv_name(s->relations[0]->range_var);
	report(f, NMIG_LINT_TRUNCATE_CASCADE, f->stmt_off, 1,
	       "table '%s' is truncated with CASCADE, which also empties "
	       "every table that references it",
	       t);
}

/* Whether a VACUUM option d is FULL, and not FULL false/off/0. */
static int vacuum_full(const PgQuery__DefElem *d)
{
	const char *v;

	if (strcmp(str(d->defname), "full") != 0)
		return 0;
	v = node_str(d->arg);
	if (v && (strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0 ||
		  strcmp(v, "0") == 0))
		return 0;
	if (d->arg && d->arg->node_case == PG_QUERY__NODE__NODE_INTEGER &&
	    d->arg->integer->ival == 0)
		return 0;
	return !(d->arg && d->arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN &&
		 !d->arg->boolean->boolval);
}

static void stmt_vacuum(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__VacuumStmt *s = n->vacuum_stmt;
	size_t i;

	if (!s->is_vacuumcmd)
		return;
	for (i = 0; i < s->n_options; i++) {
		if (s->options[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM ||
		    !vacuum_full(s->options[i]->def_elem))
			continue;
		if (s->n_rels &&
		    s->rels[0]->node_case == PG_QUERY__NODE__NODE_VACUUM_RELATION)
			report(f, NMIG_LINT_VACUUM_FULL, f->stmt_off, 1,
			       "table '%s' is rewritten by VACUUM FULL",
			       rv_name(s->rels[0]->vacuum_relation->relation));
		else
			report(f, NMIG_LINT_VACUUM_FULL, f->stmt_off, 1,
			       "every table of the database is rewritten by "
			       "VACUUM FULL");
	}
}

static void stmt_cluster(struct file *f, const PgQuery__Node *n)
{
	if (n->cluster_stmt->relation)
		report(f, NMIG_LINT_CLUSTER, f->stmt_off, 1,
		       "table '%s' is rewritten by CLUSTER",
		       rv_name(n->cluster_stmt->relation));
	else
		report(f, NMIG_LINT_CLUSTER, f->stmt_off, 1,
		       "every clustered table is rewritten by CLUSTER");
}

static void stmt_alter_enum(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__AlterEnumStmt *s = n->alter_enum_stmt;
	const char *schema, *name;

	if (*str(s->old_val))
		return; /* RENAME VALUE */
	qualified(s->type_name, s->n_type_name, &schema, &name);
	if (!*str(s->new_val_neighbor))
		report(f, NMIG_LINT_ENUM_VALUE_PLACEMENT, f->stmt_off, 1,
		       "value '%s' is appended to enum '%s' without BEFORE or "
		       "AFTER",
		       str(s->new_val), name);
	if (!s->skip_if_new_val_exists)
		not_retryable(f, f->stmt_off, "ADD VALUE without IF NOT EXISTS",
			      "ADD VALUE IF NOT EXISTS");
}

static void stmt_create_role(struct file *f, const PgQuery__Node *n)
{
	lint_password_options(f, PW_ROLE, n->create_role_stmt->options,
			      n->create_role_stmt->n_options,
			      str(n->create_role_stmt->role), "");
}

static void stmt_alter_role(struct file *f, const PgQuery__Node *n)
{
	lint_password_options(f, PW_ROLE, n->alter_role_stmt->options,
			      n->alter_role_stmt->n_options,
			      role_name(n->alter_role_stmt->role), "");
}

static void stmt_create_user_mapping(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateUserMappingStmt *s = n->create_user_mapping_stmt;

	lint_password_options(f, PW_USER_MAPPING, s->options, s->n_options,
			      role_name(s->user), str(s->servername));
}

static void stmt_alter_user_mapping(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__AlterUserMappingStmt *s = n->alter_user_mapping_stmt;

	lint_password_options(f, PW_USER_MAPPING, s->options, s->n_options,
			      role_name(s->user), str(s->servername));
}

static void stmt_create_server(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateForeignServerStmt *s =
	    n->create_foreign_server_stmt;

	lint_password_options(f, PW_SERVER, s->options, s->n_options,
			      str(s->servername), "");
}

static void stmt_alter_server(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__AlterForeignServerStmt *s = n->alter_foreign_server_stmt;

	lint_password_options(f, PW_SERVER, s->options, s->n_options,
			      str(s->servername), "");
}

/* SET search_path: unqualified names may then mean other objects. */
static void stmt_set(struct file *f, const PgQuery__Node *n)
{
	if (strcasecmp(str(n->variable_set_stmt->name), "search_path") == 0)
		f->undo_unknown = 1;
}

static void stmt_undo_unknown(struct file *f, const PgQuery__Node *n)
{
	(void)n;
	f->undo_unknown = 1;
}

/* DO, CALL, EXECUTE, DROP OWNED: a down file may drop anything. */
static void stmt_dynamic(struct file *f, const PgQuery__Node *n)
{
	(void)n;
	if (f->is_down)
		f->undo_unknown = 1;
}

/* A SELECT that calls a function may run anything, as DO does. */
static void stmt_select(struct file *f, const PgQuery__Node *n)
{
	int call = 0;

	walk(&n->base, find_call, &call);
	if (call && f->is_down)
		f->undo_unknown = 1;
}

typedef void (*stmt_linter)(struct file *f, const PgQuery__Node *n);

static const stmt_linter stmt_linters[] = {
    [PG_QUERY__NODE__NODE_INDEX_STMT] = stmt_index,
    [PG_QUERY__NODE__NODE_CREATE_STMT] = stmt_create_table,
    [PG_QUERY__NODE__NODE_ALTER_TABLE_STMT] = stmt_alter_table,
    [PG_QUERY__NODE__NODE_DROP_STMT] = stmt_drop,
    [PG_QUERY__NODE__NODE_RENAME_STMT] = stmt_rename,
    [PG_QUERY__NODE__NODE_DROPDB_STMT] = stmt_dropdb,
    [PG_QUERY__NODE__NODE_TRUNCATE_STMT] = stmt_truncate,
    [PG_QUERY__NODE__NODE_VACUUM_STMT] = stmt_vacuum,
    [PG_QUERY__NODE__NODE_CLUSTER_STMT] = stmt_cluster,
    [PG_QUERY__NODE__NODE_ALTER_ENUM_STMT] = stmt_alter_enum,
    [PG_QUERY__NODE__NODE_CREATE_ROLE_STMT] = stmt_create_role,
    [PG_QUERY__NODE__NODE_ALTER_ROLE_STMT] = stmt_alter_role,
    [PG_QUERY__NODE__NODE_CREATE_USER_MAPPING_STMT] =
	stmt_create_user_mapping,
    [PG_QUERY__NODE__NODE_ALTER_USER_MAPPING_STMT] = stmt_alter_user_mapping,
    [PG_QUERY__NODE__NODE_CREATE_FOREIGN_SERVER_STMT] = stmt_create_server,
    [PG_QUERY__NODE__NODE_ALTER_FOREIGN_SERVER_STMT] = stmt_alter_server,
    [PG_QUERY__NODE__NODE_VARIABLE_SET_STMT] = stmt_set,
    [PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT] = stmt_undo_unknown,
    [PG_QUERY__NODE__NODE_DO_STMT] = stmt_dynamic,
    [PG_QUERY__NODE__NODE_CALL_STMT] = stmt_dynamic,
    [PG_QUERY__NODE__NODE_EXECUTE_STMT] = stmt_dynamic,
    [PG_QUERY__NODE__NODE_DROP_OWNED_STMT] = stmt_dynamic,
    [PG_QUERY__NODE__NODE_SELECT_STMT] = stmt_select,
};

/* One parsed statement: its linter from the table, then the secrets. */
static void lint_stmt(struct file *f, const PgQuery__Node *n)
{
	size_t k = (size_t)n->node_case;

	if (k < sizeof(stmt_linters) / sizeof(stmt_linters[0]) &&
	    stmt_linters[k])
		stmt_linters[k](f, n);
	else
		lint_creations(f, n);
	walk(&n->base, find_secrets, f);
}

/*
 * Renames of existing tables, reported once the whole file is known: a
 * view created later under the old name keeps clients working.
 */
static void finish_renames(struct file *f)
{
	size_t i, k;

	for (i = 0; i < f->renames.n; i++) {
		const struct obj *r = &f->renames.v[i];
		int view = 0;

		for (k = objs_first(&f->created, r->name); k && !view;
		     k = objs_next(&f->created, k)) {
			const struct obj *o = &f->created.v[k - 1];

			view = o->kind == OBJ_VIEW && o->off > r->off &&
			       same(o->schema, o->name, r->schema, r->name);
		}
		if (!view)
			report(f, NMIG_LINT_RENAMING_TABLE, r->off, 1,
			       "existing table '%s' is renamed to '%s' and no "
			       "view keeps the old name",
			       r->name, r->table);
	}
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
			nomem(f->run);
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
		nomem(f->run);
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
		f->stmt_off = skip_space(text, start, end);
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
	struct span *v;

	if (f->nsecrets == f->capsecrets) {
		size_t cap = f->capsecrets ? f->capsecrets * 2 : 8;

		v = realloc(f->secrets, cap * sizeof(*v));
		if (!v) {
			nomem(f->run);
			return;
		}
		f->secrets = v;
		f->capsecrets = cap;
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
		nomem(f->run);
		return 0;
	}
	found = has_secret(copy);
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
	int idents = rule_on(f, NMIG_LINT_IDENTIFIER_TOO_LONG), after_pw = 0;
	PgQueryScanResult r;
	PgQuery__ScanResult *sr = NULL;
	size_t i, n, start, end;

	r = pg_query_scan(s->text);
	if (r.error)
		goto cleanup;
	sr = pg_query__scan_result__unpack(NULL, r.pbuf.len,
					   (const uint8_t *)r.pbuf.data);
	if (!sr) {
		nomem(f->run);
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
				report(f, NMIG_LINT_IDENTIFIER_TOO_LONG, start,
				       1,
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

	if (!f->nsecrets || (!f->lines && !index_lines(f)))
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
			nomem(f->run);
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
					nomem(f->run);
					return;
				}
				f->ignores = v;
				v[f->nignores].off = (size_t)(q - t);
				v[f->nignores].name =
				    strndup(q, (size_t)(w - q));
				if (!v[f->nignores].name) {
					nomem(f->run);
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

	linecol(f, off, &line, &col);
	d = nmig_diags_add(f->run->out, NMIG_SEV_WARNING, NMIG_EINPUT,
			   "lint-ignore", f->script->path, line, col,
			   "unknown lint rule '%s' in lint-ignore", name);
	if (!d) {
		nomem(f->run);
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
	objs_release(&f->created);
	objs_release(&f->dropped);
	objs_release(&f->renames);
	objs_release(&f->plain_index_drops);
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

	if (f->up && (o = created_obj(f->up, ix->schema, ix->name, OBJ_INDEX,
				      OBJ_INDEX)))
		return o->table;
	for (i = 0; i < f->dropped.n; i++) {
		o = &f->dropped.v[i];
		if (o->kind != OBJ_TABLE || o->off <= ix->off ||
		    !same(o->schema, "", ix->schema, ""))
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
		if (t && dropped_as(&f->dropped, t, &table, ix->off + 1))
			continue;
		report(f, NMIG_LINT_CONCURRENT_INDEX_DELETION, ix->off, 1,
		       "index '%s' is dropped without CONCURRENTLY", ix->name);
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
	finish_renames(f);
	finish_index_drops(f);
	if (!f->transactional && s->n > 1)
		report(f, NMIG_LINT_NONTX_MULTIPLE,
		       skip_space(s->text, s->stmts[1].offset,
				  s->stmts[1].offset + s->stmts[1].len),
		       1, "non-transactional migration has %zu statements",
		       s->n);
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

		if (!o->undoable || dropped_in(&up->dropped, o, o->off + 1) ||
		    dropped_in(&down->dropped, o, 0))
			continue;
		if (o->table && o->kind != OBJ_INDEX)
			report(up, NMIG_LINT_DOWN_NOT_UNDOING, o->off, 1,
			       "%s '%s' on table '%s' is created here but the "
			       "down file does not drop it",
			       obj_kind_names[o->kind], o->name, o->table);
		else
			report(up, NMIG_LINT_DOWN_NOT_UNDOING, o->off, 1,
			       "%s '%s' is created here but the down file does "
			       "not drop it",
			       obj_kind_names[o->kind], o->name);
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
		report(&uf, NMIG_LINT_MISSING_DOWN, 0, 0,
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
		add_finding(run, NMIG_LINT_CONFIG_PASSWORD, path, lineno,
			    (int)(value - line) + 1,
			    "config key '%s' holds a literal password", key);
	else if (has_secret(value))
		add_finding(run, NMIG_LINT_CONFIG_PASSWORD, path, lineno,
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
		add_finding(&run, NMIG_LINT_ENV_TRACKED, path.ptr, 0, 0,
			    "'%s' is tracked by git", path.ptr);
	}
	rc = run.err;
cleanup:
	nmig_buf_release(&path);
	return rc;
}
