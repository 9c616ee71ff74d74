/*
 * What the parts of lint share (lib/lint/): the run and per-file state,
 * the objects files create and drop, findings, parse-tree helpers, and the
 * rule groups the statement table dispatches to. Not a public header:
 * lint.h is.
 */
#ifndef NMIG_LINT_INTERNAL_H
#define NMIG_LINT_INTERNAL_H

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

#define MAX_IDENT_BYTES 63

#define MAX_CONFIG_SIZE ((size_t)1 << 20)

#define HIST NMIG_LINT_HISTORY

#define UP NMIG_LINT_UP_ONLY

#define SECRET NMIG_LINT_SECRET

#define PROJECT NMIG_LINT_PROJECT

#define RULE(id, name, level, flags, why, fix)                                 \
	[id] = {name, level, flags, why, fix}

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
	struct objs created; /* what this file creates, in order */
	struct objs dropped; /* what this file drops, in order */
	struct objs renames; /* existing tables renamed: name -> table */
	struct objs plain_index_drops; /* DROP INDEX without CONCURRENTLY of
					* an index this file did not create */
	const struct file *up; /* for a down file: its up file, else NULL */
	int undo_unknown;      /* down-does-not-undo cannot judge this file */
	int parse_failed;      /* a statement did not parse */
	struct span *secrets;  /* string literals holding a secret, in order */
	size_t nsecrets, capsecrets;
	size_t diag_start; /* first finding of this file in run->out */
	size_t *lines;	   /* offsets of the line starts, built on demand */
	size_t nlines;
	size_t base;	 /* file offset of the parsed statement text */
	size_t stmt_off; /* file offset of the current statement */
	size_t stmt_end; /* end of the current statement text */
};

/* Column names mentioned by ColumnRef nodes below m, for constraints. */
struct colrefs {
	struct file *f;
	struct obj *o;
};

/* What holds the password options lint_password_options looks at. */
enum pw_owner { PW_ROLE, PW_USER_MAPPING, PW_SERVER };

/* The names of enum obj_kind, for messages. */
extern const char *const lint_obj_kind_names[];

/* lib/lint/objects.c */
void lint_add_finding(struct run *run, int rule, const char *file, int line,
		      int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
size_t lint_at(const struct file *f, int32_t loc);
char *lint_copy_str(struct run *run, const char *s);
const struct obj *lint_created_obj(const struct file *f, const char *schema,
				   const char *name, enum obj_kind a,
				   enum obj_kind b);
int lint_dropped_as(const struct objs *l, const char *name, const struct obj *o,
		    size_t from);
int lint_dropped_in(const struct objs *l, const struct obj *o, size_t from);
int lint_drops(const struct obj *d, const struct obj *o);
int lint_ignored(const struct file *f, int rule);
int lint_index_lines(struct file *f);
int lint_is_new_index(const struct file *f, const char *schema,
		      const char *name);
int lint_is_new_table(const struct file *f, const char *schema,
		      const char *name);
void lint_linecol(struct file *f, size_t off, int *line, int *col);
void lint_nomem(struct run *run);
struct obj *lint_obj_add(struct file *f, struct objs *l, enum obj_kind kind,
			 const char *schema, const char *name,
			 const char *table, int undoable);
size_t lint_objs_first(const struct objs *l, const char *name);
size_t lint_objs_next(const struct objs *l, size_t k);
void lint_objs_release(struct objs *l);
void lint_report(struct file *f, int rule, size_t off, int with_source,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int lint_rule_on(const struct file *f, int rule);
int lint_same(const char *s1, const char *n1, const char *s2, const char *n2);
size_t lint_skip_space(const char *t, size_t off, size_t end);
const char *lint_str(const char *s);

/* lib/lint/tree.c */
int lint_builtin_type(const PgQuery__TypeName *tn, const char *builtin);
int lint_collect_colrefs(const ProtobufCMessage *m, void *ud);
const void *lint_field_ptr(const char *base,
			   const ProtobufCFieldDescriptor *fd);
int lint_field_set(const char *base, const ProtobufCFieldDescriptor *fd);
const char *lint_node_str(const PgQuery__Node *n);
void lint_obj_add_col(struct file *f, struct obj *o, const char *col);
void lint_qualified(PgQuery__Node *const *v, size_t n, const char **schema,
		    const char **name);
const char *lint_rv_name(const PgQuery__RangeVar *rv);
const char *lint_rv_schema(const PgQuery__RangeVar *rv);
void lint_type_names(const PgQuery__TypeName *tn, const char **schema,
		     const char **name);
const char *lint_volatile_call(const PgQuery__Node *expr);
void lint_walk(const ProtobufCMessage *m,
	       int (*fn)(const ProtobufCMessage *m, void *ud), void *ud);

/* lib/lint/tables.c */
void lint_check_coltype(struct file *f, const PgQuery__TypeName *tn,
			const char *col);
void lint_alter_table(struct file *f, const PgQuery__AlterTableStmt *s);
void lint_create_table(struct file *f, const PgQuery__CreateStmt *s);
void lint_drop(struct file *f, const PgQuery__DropStmt *s);
void lint_index(struct file *f, const PgQuery__IndexStmt *s);
void lint_rename(struct file *f, const PgQuery__RenameStmt *s);
PgQuery__ColumnDef *lint_node_coldef(const PgQuery__Node *n);
void lint_not_retryable(struct file *f, size_t off, const char *what,
			const char *instead);

/* lib/lint/secrets.c */
int lint_find_call(const ProtobufCMessage *m, void *ud);
int lint_find_secrets(const ProtobufCMessage *m, void *ud);
void lint_password_options(struct file *f, enum pw_owner owner,
			   PgQuery__Node *const *opts, size_t n, const char *a,
			   const char *b);
const char *lint_role_name(const PgQuery__RoleSpec *r);

/* lib/lint/statements.c */
void lint_finish_renames(struct file *f);
void lint_stmt(struct file *f, const PgQuery__Node *n);

/* lib/lint/lint.c */
int lint_has_secret(const char *s);

#endif
