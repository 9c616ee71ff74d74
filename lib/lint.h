/*
 * Lint: safety rules over the parse tree of migrations, in the spirit of
 * squawk and strong_migrations. Each rule has a stable name, a default
 * severity, a one-line reason and a fix (the table is exported so that
 * `nmig lint --list-rules` and docs/lint.md show the same thing). Rules look
 * at libpg_query's protobuf parse tree, never at the SQL text with patterns;
 * the one exception is identifier length, which is read from the scanner's
 * tokens because the parser has already truncated identifiers to 63 bytes.
 *
 * "Existing table" means a table that the same file did not create earlier:
 * an index on a table created in the same file needs no CONCURRENTLY.
 * Findings are struct nmig_diags entries carrying the rule name, the file and
 * the line and column of the node (or of the statement). Credential rules
 * never show the source line and never echo the secret; any other finding's
 * source line shows a password literal on it as '***'.
 */
#ifndef NMIG_LINT_H
#define NMIG_LINT_H

#include <stddef.h>

#include "buf.h"
#include "diag.h"
#include "revfile.h"

/* The rules, in the order of the table (and of docs/lint.md). */
enum nmig_lint_rule_id {
	NMIG_LINT_CONCURRENT_INDEX_CREATION,
	NMIG_LINT_CONCURRENT_INDEX_DELETION,
	NMIG_LINT_VOLATILE_DEFAULT,
	NMIG_LINT_REQUIRED_COLUMN,
	NMIG_LINT_SETTING_NOT_NULL,
	NMIG_LINT_CONSTRAINT_NOT_VALID,
	NMIG_LINT_UNIQUE_WITHOUT_INDEX,
	NMIG_LINT_CHANGING_COLUMN_TYPE,
	NMIG_LINT_RENAMING_COLUMN,
	NMIG_LINT_RENAMING_TABLE,
	NMIG_LINT_DROPPING_COLUMN,
	NMIG_LINT_DROPPING_TABLE,
	NMIG_LINT_DROP_DATABASE,
	NMIG_LINT_TRUNCATE_CASCADE,
	NMIG_LINT_VACUUM_FULL,
	NMIG_LINT_CLUSTER,
	NMIG_LINT_ENUM_VALUE_PLACEMENT,
	NMIG_LINT_PREFER_JSONB,
	NMIG_LINT_PREFER_TIMESTAMPTZ,
	NMIG_LINT_PREFER_TEXT,
	NMIG_LINT_PREFER_BIGINT_PK,
	NMIG_LINT_IDENTIFIER_TOO_LONG,
	NMIG_LINT_NONTX_NOT_RETRYABLE,
	NMIG_LINT_NONTX_MULTIPLE,
	NMIG_LINT_MISSING_DOWN,
	NMIG_LINT_DOWN_NOT_UNDOING,
	NMIG_LINT_ROLE_PASSWORD,
	NMIG_LINT_USER_MAPPING_PASSWORD,
	NMIG_LINT_CONNINFO_PASSWORD,
	NMIG_LINT_CONFIG_PASSWORD,
	NMIG_LINT_ENV_TRACKED,
	NMIG_LINT_NRULES
};

/* Where a rule applies; see struct nmig_lint_rule. */
enum nmig_lint_rule_flags {
	NMIG_LINT_HISTORY = 1 << 0, /* also in revisions outside the
				     * strict set (applied history) */
	NMIG_LINT_UP_ONLY = 1 << 1, /* not applied to down files */
	NMIG_LINT_SECRET = 1 << 2,  /* findings never show the source */
	NMIG_LINT_PROJECT = 1 << 3, /* about the project, not the SQL */
};

/* The level a rule is reported at; OFF disables it. */
enum nmig_lint_level {
	NMIG_LINT_OFF = 0,
	NMIG_LINT_WARNING = 1,
	NMIG_LINT_ERROR = 2,
};

struct nmig_lint_rule {
	const char *name;	    /* stable, kebab-case */
	enum nmig_lint_level level; /* default level */
	unsigned flags;		    /* enum nmig_lint_rule_flags */
	const char *why;	    /* one line: what goes wrong */
	const char *fix;	    /* one line: what to write instead */
};

/* The rule table: NMIG_LINT_NRULES entries indexed by enum nmig_lint_rule_id.
 */
const struct nmig_lint_rule *nmig_lint_rules(void);

/* The id of the rule called name, or -1 when there is none. */
int nmig_lint_rule_find(const char *name);

/* "error", "warning" or "off". */
const char *nmig_lint_level_name(enum nmig_lint_level level);

/*
 * Parse "error", "warning" or "off" into *out. Returns NMIG_OK or
 * NMIG_EUSAGE (with the last error set) for anything else.
 */
int nmig_lint_level_parse(const char *s, enum nmig_lint_level *out);

struct nmig_lint_config {
	enum nmig_lint_level level[NMIG_LINT_NRULES];
	size_t max_file_size; /* cap on one migration file */
	/*
	 * 1 (the default): a file the parser refuses is explained with
	 * nmig_script_check's findings; 0: the caller (nmig check) reports
	 * those itself and lint only returns NMIG_EINPUT.
	 */
	int script_check;
};

/* Every rule at its default level; the default file size cap. */
void nmig_lint_config_init(struct nmig_lint_config *cfg);

/*
 * Set the level of the rule name from a level word. file and line name the
 * origin for the message (file NULL: a command-line option). An unknown
 * rule or level is NMIG_ECONFIG when file is given, else NMIG_EUSAGE; the
 * message names the rule and the hint lists `nmig lint --list-rules`.
 */
int nmig_lint_config_set(struct nmig_lint_config *cfg, const char *name,
			 const char *level, const char *file, int line);

/*
 * Apply a `NAME=LEVEL` option (as given to `nmig lint --rule`); bad syntax,
 * rules and levels are NMIG_EUSAGE.
 */
int nmig_lint_config_option(struct nmig_lint_config *cfg, const char *spec);

/*
 * Read the `lint.<rule> = error|warning|off` lines of the config file at
 * path (other keys are the config module's and are skipped). Errors are
 * NMIG_ECONFIG naming path:line; an unreadable file is NMIG_EIO.
 */
int nmig_lint_config_read(struct nmig_lint_config *cfg, const char *path);

/*
 * Lint one revision strictly: every enabled rule over its up file, its down
 * file (rules without NMIG_LINT_UP_ONLY) and the pair (missing-down,
 * down-does-not-undo). The revision's `lint-ignore` header (and a
 * `-- nmig:lint-ignore` line at the top of the down file, for that file)
 * silences rules; an unknown name there is a warning. Findings are
 * appended to out. Returns NMIG_OK when the files were linted (whatever
 * was found), NMIG_EINPUT when a file could not be parsed (its syntax
 * errors are in out), NMIG_EIO when one could not be read, NMIG_ENOMEM.
 */
int nmig_lint_revision(const struct nmig_revision *rev,
		       const struct nmig_lint_config *cfg,
		       struct nmig_diags *out);

/*
 * Lint a revision that is history (already applied, or older than the
 * revision lint starts from): only the rules flagged NMIG_LINT_HISTORY,
 * i.e. the credential rules, since a secret in a file leaks whether or not
 * the file ran. Returns as nmig_lint_revision.
 */
int nmig_lint_revision_history(const struct nmig_revision *rev,
			       const struct nmig_lint_config *cfg,
			       struct nmig_diags *out);

/*
 * Bump when the findings of the rules change for the same input (a new
 * rule, another message or position): lint results in the plan cache
 * from an older rule set are then misses. The rule table itself (names,
 * levels, flags, why, fix) is fingerprinted into the checker string too.
 */
#define NMIG_LINT_VERSION 2

struct nmig_cache;

/*
 * The checker string of lint results in the plan cache for cfg: nmig's
 * version, NMIG_LINT_VERSION, the bundled parser's PostgreSQL version,
 * and a hash of the rule table (names, levels, flags, why, fix) with the
 * effective configuration (every rule's level, script_check,
 * max_file_size). Compute it once per run. Appends to out; NMIG_OK or
 * NMIG_ENOMEM.
 */
int nmig_lint_checker(struct nmig_buf *out, const struct nmig_lint_config *cfg);

/*
 * nmig_lint_revision (strict 1) or nmig_lint_revision_history (strict 0)
 * with the plan cache: the findings are stored under the revision's id,
 * the content (checksum and size) of its up and down files and its
 * transaction mode, for the checker (from nmig_lint_checker with the same
 * cfg), and a revision linted before is not parsed again. Only a clean
 * lint (NMIG_OK) whose findings are all about the two files and quote no
 * password is stored. Returns as the uncached functions, with the same
 * findings (findings about different files may come in another order);
 * cache or checker NULL lints without the cache.
 */
int nmig_lint_revision_cached(const struct nmig_revision *rev,
			      const struct nmig_lint_config *cfg, int strict,
			      struct nmig_cache *cache, const char *checker,
			      struct nmig_diags *out);

/*
 * Lint SQL text as the up file of a revision without a down file, strictly,
 * but without the revision-level rules (missing-down, down-does-not-undo).
 * path names the text in findings. Returns as nmig_lint_revision.
 */
int nmig_lint_sql(const char *path, const char *sql, size_t len,
		  int transactional, const struct nmig_lint_config *cfg,
		  struct nmig_diags *out);

/*
 * The project-level rules: a literal password in the config file at
 * config_path (may be NULL: no config file), and a `.env` file in root
 * that git tracks (checked only when git is installed and root is in a
 * work tree; root may be NULL to skip). Returns NMIG_OK, or NMIG_EIO when
 * the config file cannot be read.
 */
int nmig_lint_project(const char *root, const char *config_path,
		      const struct nmig_lint_config *cfg,
		      struct nmig_diags *out);

#endif
