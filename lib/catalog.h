/*
 * The catalog model: what a database's schema is, read from the
 * PostgreSQL catalogs in one round trip into typed objects (one struct per
 * kind of object), with the dependencies pg_depend records between them.
 * It is the one introspection of libnmig: the `nmig test` fingerprint
 * (fingerprint.h) is a rendering of it, `nmig schema dump` renders it as
 * DDL, and `nmig diff` compares two of them object by object.
 *
 * Every object has a kind and a key: the schema-qualified name quoted by
 * the server's quote_ident (`public.users` for a table, `public.users.email`
 * for a column, `public.f(integer)` for a function), unique within its
 * kind. SQL text is what the server's pg_get_*def functions give, read with
 * search_path = pg_catalog so every name in it is qualified. Objects that
 * belong to an extension, the system schemas, and the version table (with
 * its indexes, constraints and, when not `public`, its schema) are left
 * out. Owners and privileges are not read.
 */
#ifndef NMIG_CATALOG_H
#define NMIG_CATALOG_H

#include <stddef.h>

#include "buf.h"
#include "conn.h"

/* Kinds, in the order a canonical listing shows them. */
enum nmig_cat_kind {
	NMIG_CAT_SCHEMA,
	NMIG_CAT_EXTENSION,
	NMIG_CAT_TYPE, /* enum, domain, range, base */
	NMIG_CAT_SEQUENCE,
	NMIG_CAT_FUNCTION, /* also procedures, aggregates */
	NMIG_CAT_RELATION, /* tables, views, composite types, ... */
	NMIG_CAT_COLUMN,
	NMIG_CAT_CONSTRAINT,
	NMIG_CAT_INDEX,
	NMIG_CAT_TRIGGER,
	NMIG_CAT_RULE,
	NMIG_CAT_POLICY,
	NMIG_CAT_STATISTICS,
	NMIG_CAT_NKINDS
};

/* No object (a parent that is not there). */
#define NMIG_CAT_NONE ((size_t)-1)

struct nmig_cat_extension {
	const char *version;
	const char *schema; /* quoted */
};

struct nmig_cat_type {
	char typtype;	       /* 'e' enum, 'd' domain, 'r' range, 'b' base */
	const char *labels;    /* enum: 'a', 'b' (quoted literals) */
	const char *base;      /* domain: format_type of the base type */
	const char *collation; /* domain: quoted, when not the base's */
	const char *default_expr;    /* domain */
	int notnull;		     /* domain */
	const char *subtype;	     /* range */
	const char *range_collation; /* range: quoted, or NULL */
};

struct nmig_cat_sequence {
	const char *type; /* AS type: smallint, integer, bigint */
	const char *start, *increment, *min, *max, *cache;
	int cycle;
	const char *owned_by; /* column key, or NULL */
	char owned_dep;	      /* 'a' OWNED BY, 'i' identity, 0 none */
};

struct nmig_cat_function {
	char prokind;		   /* 'f', 'p', 'a', 'w' */
	const char *identity_args; /* pg_get_function_identity_arguments */
	const char *args;	   /* pg_get_function_arguments */
	const char *def;	   /* pg_get_functiondef; NULL: aggregate */
	const char *result;	   /* pg_get_function_result */
	const char *language;
	char volatility; /* 'i', 's', 'v' */
	int security_definer;
	/* aggregates: regproc texts ("-" for none), as the server gives */
	const char *sfunc, *stype, *finalfunc, *initcond;
	int internal; /* made by a type (a range's constructors) */
};

struct nmig_cat_relation {
	char relkind;	       /* 'r', 'p', 'f', 'v', 'm', 'c' */
	char persistence;      /* 'p', 'u' */
	const char *partkey;   /* pg_get_partkeydef, 'p' only */
	const char *partbound; /* FOR VALUES ..., partitions only */
	const char *inherits;  /* parents, in order, ", "-separated */
	int partition;
	int rls, forced_rls;
	char replident;		/* 'd', 'n', 'f', 'i' */
	const char *reloptions; /* "a=1, b=2" or NULL */
	const char *viewdef;	/* views and materialized views */
};

struct nmig_cat_column {
	int position; /* among the live columns, from 1 */
	int attnum;
	const char *type;      /* format_type */
	const char *collation; /* quoted, when not the type's */
	int notnull;
	char identity;		  /* 'a' always, 'd' by default, 0 */
	char generated;		  /* 's' stored, 0 */
	const char *default_expr; /* or the generation expression */
	int local;		  /* attislocal: not only inherited */
};

struct nmig_cat_constraint {
	const char *def; /* pg_get_constraintdef (with NOT VALID) */
	char contype;	 /* 'p', 'u', 'f', 'c', 'x', 't' */
	int validated;
	int local;	 /* conislocal */
	int from_parent; /* a partition's copy of its parent's */
	int on_domain;
	int deferrable, deferred;
};

struct nmig_cat_index {
	const char *def; /* pg_get_indexdef */
	int valid, clustered;
	int unique, primary;
	int of_constraint; /* made by a PRIMARY KEY, UNIQUE, EXCLUDE */
	int attached;	   /* a partition's index of a parent index */
};

struct nmig_cat_trigger {
	const char *def; /* pg_get_triggerdef */
	char enabled;	 /* 'O', 'D', 'R', 'A' */
	int from_parent; /* a partition's clone of its parent's */
};

struct nmig_cat_rule {
	const char *def; /* pg_get_ruledef */
};

struct nmig_cat_policy {
	int permissive;
	const char *cmd;   /* select, insert, update, delete, all */
	const char *roles; /* "public", or quoted names, sorted */
	const char *using_expr, *check_expr;
};

struct nmig_cat_statistics {
	const char *def; /* pg_get_statisticsobjdef */
};

struct nmig_cat_obj {
	enum nmig_cat_kind kind;
	const char *key;     /* quoted, qualified (see the file comment) */
	const char *schema;  /* unquoted */
	const char *name;    /* unquoted */
	const char *qname;   /* name, quoted */
	const char *comment; /* COMMENT ON, or NULL */
	size_t parent;	     /* table of a column, ...; NMIG_CAT_NONE */
	size_t *deps;	     /* objects this one needs to exist first */
	size_t ndeps;
	const char *ident; /* this read's catalog identity (class, oid) */
	const char *parent_ident; /* until nmig_catalog_finish */
	union {
		struct nmig_cat_extension ext;
		struct nmig_cat_type type;
		struct nmig_cat_sequence seq;
		struct nmig_cat_function func;
		struct nmig_cat_relation rel;
		struct nmig_cat_column col;
		struct nmig_cat_constraint con;
		struct nmig_cat_index idx;
		struct nmig_cat_trigger trg;
		struct nmig_cat_rule rule;
		struct nmig_cat_policy pol;
		struct nmig_cat_statistics stx;
	} u;
};

struct nmig_strpool;

struct nmig_catalog {
	struct nmig_cat_obj *objs; /* canonical order: kind, then key */
	size_t n, cap;
	struct nmig_strpool *pool; /* owns every string of the objects */
	const char **pend;	   /* deps and comments by ident, until
				    * nmig_catalog_finish: triples */
	size_t npend, cappend;
	char *server_version; /* server_version_num, e.g. "150018" */
	long roundtrips;      /* what the read cost */
};

#define NMIG_CATALOG_INIT                                                      \
	{                                                                      \
		NULL, 0, 0, NULL, NULL, 0, 0, NULL, 0                          \
	}

/*
 * Read the schema of c's database into *out (initialised here; release it
 * in every case). skip_schema.skip_table names the version table to leave
 * out (NULL: nothing). One round trip: a read-only repeatable-read
 * transaction with search_path = pg_catalog. A server error is NMIG_ERROR
 * with the server's message, a lost connection NMIG_ECONNECT.
 */
int nmig_catalog_read(struct nmig_catalog *out, struct nmig_conn *c,
		      const char *skip_schema, const char *skip_table);

/* The catalog query behind nmig_catalog_read, appended to out. */
void nmig_catalog_sql(struct nmig_buf *out, const char *skip_schema,
		      const char *skip_table);

void nmig_catalog_release(struct nmig_catalog *cat);

/* "table", "column", ...: the name of an object's kind, for messages. */
const char *nmig_cat_kind_name(const struct nmig_cat_obj *o);

/*
 * Building a catalog without a server (tests, other readers): add an
 * object of kind named key (copied; schema, name and qname may be NULL)
 * and return it for the caller to fill its typed part with strings from
 * nmig_catalog_str. Then nmig_catalog_finish sorts the objects into the
 * canonical order and resolves parents and dependencies given by ident
 * (nmig_catalog_set_parent / nmig_catalog_add_dep record them by ident).
 */
struct nmig_cat_obj *nmig_catalog_add(struct nmig_catalog *cat,
				      enum nmig_cat_kind kind,
				      const char *ident, const char *key);
const char *nmig_catalog_str(struct nmig_catalog *cat, const char *s);
int nmig_catalog_set_parent(struct nmig_catalog *cat, struct nmig_cat_obj *o,
			    const char *parent_ident);
int nmig_catalog_add_dep(struct nmig_catalog *cat, const char *from_ident,
			 const char *to_ident);
int nmig_catalog_add_comment(struct nmig_catalog *cat, const char *ident,
			     const char *text);
int nmig_catalog_finish(struct nmig_catalog *cat);

/* The object of kind named key, or NULL (binary search). */
const struct nmig_cat_obj *nmig_catalog_find(const struct nmig_catalog *cat,
					     enum nmig_cat_kind kind,
					     const char *key);

/* Flags of nmig_cat_describe and nmig_catalog_diff. */
enum nmig_cat_flags {
	NMIG_CAT_NO_COLUMN_ORDER = 1 << 0, /* positions not compared */
};

/*
 * Append everything that defines o (its typed fields and its comment, not
 * its key) to out as one canonical text: two objects of the same kind and
 * key are equal exactly when their descriptions are.
 */
void nmig_cat_describe(const struct nmig_cat_obj *o, unsigned flags,
		       struct nmig_buf *out);

/* What nmig_catalog_diff reports about one object. */
enum nmig_cat_change {
	NMIG_CAT_ADDED,	  /* only in b */
	NMIG_CAT_REMOVED, /* only in a */
	NMIG_CAT_CHANGED, /* in both, described differently */
};

/*
 * Compare a to b object by object in canonical order, calling fn for each
 * difference (oa NULL for an added object, ob NULL for a removed one).
 * Returns how many differences there are (0: equal).
 */
size_t nmig_catalog_diff(const struct nmig_catalog *a,
			 const struct nmig_catalog *b, unsigned flags,
			 void (*fn)(void *ud, enum nmig_cat_change ch,
				    const struct nmig_cat_obj *oa,
				    const struct nmig_cat_obj *ob),
			 void *ud);

/*
 * The objects of cat in an order that creates each after what it depends
 * on (pg_depend, parents, inheritance), ties broken by canonical order:
 * *out (malloc'ed) holds n indexes. A cycle is NMIG_ERROR naming its
 * objects.
 */
int nmig_catalog_order(const struct nmig_catalog *cat, size_t **out);

/*
 * The same with nextra more edges: extra[2k] is created after
 * extra[2k + 1] (the planner's order of added columns).
 */
int nmig_catalog_order_extra(const struct nmig_catalog *cat,
			     const size_t *extra, size_t nextra, size_t **out);

#endif
