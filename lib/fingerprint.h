/*
 * Schema fingerprints: what a database's schema is, read from the catalogs
 * in one round trip (not from pg_dump) as the catalog model (catalog.h)
 * and rendered as a sorted list of facts that two
 * moments of the same database can be compared by -- `nmig test` takes one
 * before and after each roundtrip. A fact is (kind, key, value): kind says
 * what the object is ("table", "column", "index"...), key names it
 * (schema-qualified, e.g. `public.users.email` for a column) and value is
 * everything that defines it (a column's position among the live columns,
 * type, collation, nullability, identity, default; an index's or a
 * constraint's definition; a view's or a function's text...).
 *
 * Covered: schemas, tables (kind, partitioning, inheritance, persistence,
 * row level security, replica identity, storage options), columns,
 * constraints (of tables and domains), indexes, sequences (parameters and
 * owner, never their current value), views and materialized views with
 * their definitions, functions, procedures and aggregates, triggers,
 * rules, policies, types (enums, domains, ranges, composites, base
 * types), extensions and their versions, and comments on relations and
 * columns. Objects that belong to an extension, the system schemas, and
 * the version table (with its indexes, constraints and, when it is not
 * `public`, its schema) are left out. Privileges and owners are not
 * compared: they depend on who runs the migrations, not on the files.
 */
#ifndef NMIG_FINGERPRINT_H
#define NMIG_FINGERPRINT_H

#include <stddef.h>

#include "buf.h"
#include "catalog.h"
#include "conn.h"
#include "revfile.h"

struct nmig_fp_item {
	char *kind; /* "table", "column", ... */
	char *key;  /* schema-qualified name, quoted as SQL quotes it */
	char *val;  /* the definition; "" when there is nothing more */
};

struct nmig_fingerprint {
	struct nmig_fp_item *items; /* sorted by kind, key, val */
	size_t n, cap;
	char digest[NMIG_SHA256_HEX]; /* SHA-256 hex of the sorted facts */
};

#define NMIG_FINGERPRINT_INIT                                                  \
	{                                                                      \
		NULL, 0, 0,                                                    \
		{                                                              \
			0                                                      \
		}                                                              \
	}

/* Flags of nmig_fingerprint_take. */
enum nmig_fp_flags {
	/* Leave columns' positions out: a column re-added by a down file
	 * can only go last, which many projects accept. */
	NMIG_FP_NO_COLUMN_ORDER = 1 << 0,
};

/*
 * Read the schema of c's database into *out (which is initialised here;
 * release it in every case). skip_schema.skip_table names the version
 * table to leave out (NULL: leave nothing out); flags are NMIG_FP_* bits.
 * One round trip: a read-only transaction with search_path = pg_catalog,
 * so every name comes out schema-qualified whatever the migrations set.
 * A server error is NMIG_ERROR with the server's message; a lost
 * connection NMIG_ECONNECT.
 */
int nmig_fingerprint_take(struct nmig_fingerprint *out, struct nmig_conn *c,
			  const char *skip_schema, const char *skip_table,
			  unsigned flags);

/*
 * The fingerprint of a catalog already read (*out initialised here;
 * release it in every case): nmig_fingerprint_take is nmig_catalog_read
 * and this.
 */
int nmig_fingerprint_render(struct nmig_fingerprint *out,
			    const struct nmig_catalog *cat, unsigned flags);

/* The catalog query behind nmig_fingerprint_take, for the version table
 * skip_schema.skip_table, appended to out (for tests and debugging). */
void nmig_fingerprint_sql(struct nmig_buf *out, const char *skip_schema,
			  const char *skip_table);

/* Append one fact (copied); NMIG_ENOMEM on failure. */
int nmig_fingerprint_add(struct nmig_fingerprint *fp, const char *kind,
			 const char *key, const char *val);

/* Sort the facts and compute the digest, after the last add. */
int nmig_fingerprint_finish(struct nmig_fingerprint *fp);

void nmig_fingerprint_release(struct nmig_fingerprint *fp);

/* 1 when a and b (both finished) hold the same facts. */
int nmig_fingerprint_equal(const struct nmig_fingerprint *a,
			   const struct nmig_fingerprint *b);

/*
 * How many objects of fp an empty database would not have: facts other
 * than the schema `public` and the extension `plpgsql`, columns not
 * counted (their table is).
 */
size_t nmig_fingerprint_user_objects(const struct nmig_fingerprint *fp);

/*
 * A readable diff from a (before) to b (after), both finished, appended
 * to out, at most max_lines lines (then a line saying how many more
 * differences there are; 0 = no limit). Lines:
 *   `- kind key: value`   only in a (missing afterwards)
 *   `+ kind key: value`   only in b (left behind)
 *   `~ kind key`, then `    - value` / `    + value`: changed; long
 *                         values are cut around the first difference
 * Values are shown with runs of white space folded to one space; two
 * values that differ only in white space are shown raw around the first
 * difference, a space as U+00B7 and \t, \n, \r escaped. Returns
 * the number of differences (0 when equal; nothing is appended then).
 */
size_t nmig_fingerprint_diff(const struct nmig_fingerprint *a,
			     const struct nmig_fingerprint *b,
			     struct nmig_buf *out, size_t max_lines);

#endif
