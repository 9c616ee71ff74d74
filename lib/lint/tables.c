/*
 * The table rules: CREATE TABLE, CREATE INDEX, ALTER TABLE (ADD COLUMN,
 * constraints, types), DROP and RENAME -- locks, rewrites and breaking
 * changes.
 */
#include "lint_internal.h"

/* Rule helpers shared by several statements. */

void lint_not_retryable(struct file *f, size_t off, const char *what,
			const char *instead)
{
	if (f->transactional)
		return;
	lint_report(
	    f, NMIG_LINT_NONTX_NOT_RETRYABLE, off, 1,
	    "this non-transactional migration fails when run again: %s; "
	    "write %s",
	    what, instead);
}

/* The column-type preference rules for one column. */
void lint_check_coltype(struct file *f, const PgQuery__TypeName *tn,
			const char *col)
{
	const char *schema, *name;

	if (!tn)
		return;
	lint_type_names(tn, &schema, &name);
	if (*schema && strcmp(schema, "pg_catalog") != 0)
		return;
	if (strcmp(name, "json") == 0)
		lint_report(f, NMIG_LINT_PREFER_JSONB, lint_at(f, tn->location),
			    1, "column '%s' has type json", col);
	else if (strcmp(name, "timestamp") == 0)
		lint_report(
		    f, NMIG_LINT_PREFER_TIMESTAMPTZ, lint_at(f, tn->location),
		    1, "column '%s' has type timestamp without time zone", col);
	else if (strcmp(name, "varchar") == 0 && tn->n_typmods)
		lint_report(f, NMIG_LINT_PREFER_TEXT, lint_at(f, tn->location),
			    1, "column '%s' has type varchar(n)", col);
	else if (strcmp(name, "bpchar") == 0)
		lint_report(f, NMIG_LINT_PREFER_TEXT, lint_at(f, tn->location),
			    1, "column '%s' has type char(n)", col);
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
		if (lint_builtin_type(tn, small[i])) {
			lint_report(f, NMIG_LINT_PREFER_BIGINT_PK,
				    lint_at(f, tn->location), 1,
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
		if (lint_builtin_type(tn, serials[i]))
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
PgQuery__ColumnDef *lint_node_coldef(const PgQuery__Node *n)
{
	if (n && n->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
		return n->column_def;
	return NULL;
}

/* CREATE TABLE. */
void lint_create_table(struct file *f, const PgQuery__CreateStmt *s)
{
	const char *schema = lint_rv_schema(s->relation);
	const char *table = lint_rv_name(s->relation);
	size_t i, j;

	if (!s->if_not_exists)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE TABLE without IF NOT EXISTS",
				   "CREATE TABLE IF NOT EXISTS");
	for (i = 0; i < s->n_table_elts; i++) {
		PgQuery__ColumnDef *cd = lint_node_coldef(s->table_elts[i]);
		PgQuery__Constraint *c = node_constraint(s->table_elts[i]);

		if (cd) {
			lint_check_coltype(f, cd->type_name,
					   lint_str(cd->colname));
			for (j = 0; j < cd->n_constraints; j++) {
				PgQuery__Constraint *cc =
				    node_constraint(cd->constraints[j]);

				if (cc &&
				    cc->contype ==
					PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
					check_pk_type(f, cd->type_name,
						      lint_str(cd->colname));
			}
		} else if (c &&
			   c->contype ==
			       PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY &&
			   c->n_keys == 1) {
			const char *key = lint_node_str(c->keys[0]);

			for (j = 0; key && j < s->n_table_elts; j++) {
				PgQuery__ColumnDef *k =
				    lint_node_coldef(s->table_elts[j]);

				if (k && strcmp(lint_str(k->colname), key) == 0)
					check_pk_type(f, k->type_name, key);
			}
		}
	}
	lint_obj_add(f, &f->created, OBJ_TABLE, schema, table, NULL,
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
			lint_obj_add_col(f, o, n->index_elem->name);
			if (n->index_elem->expr)
				lint_walk(&n->index_elem->expr->base,
					  lint_collect_colrefs, &refs);
		}
	if (s->where_clause)
		lint_walk(&s->where_clause->base, lint_collect_colrefs, &refs);
}

/* CREATE INDEX. */
void lint_index(struct file *f, const PgQuery__IndexStmt *s)
{
	const char *schema = lint_rv_schema(s->relation);
	const char *table = lint_rv_name(s->relation);
	const char *name = lint_str(s->idxname);
	struct obj *o;

	if (!s->concurrent && !lint_is_new_table(f, schema, table)) {
		if (*name)
			lint_report(
			    f, NMIG_LINT_CONCURRENT_INDEX_CREATION, f->stmt_off,
			    1,
			    "index '%s' on existing table '%s' is built "
			    "without CONCURRENTLY",
			    name, table);
		else
			lint_report(f, NMIG_LINT_CONCURRENT_INDEX_CREATION,
				    f->stmt_off, 1,
				    "an index on existing table '%s' is built "
				    "without CONCURRENTLY",
				    table);
	}
	if (!s->if_not_exists)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE INDEX without IF NOT EXISTS",
				   *name ? "CREATE INDEX ... IF NOT EXISTS"
					 : "a named index with IF NOT EXISTS");
	if (*name && (o = lint_obj_add(f, &f->created, OBJ_INDEX, schema, name,
				       table, !s->if_not_exists)))
		index_columns(f, o, s);
}

/* A constraint that ALTER TABLE adds to table (new: created in this file). */
static void lint_add_constraint(struct file *f, const char *schema,
				const char *table, int is_new,
				const PgQuery__Constraint *c)
{
	const char *name = lint_str(c->conname);
	struct colrefs refs;
	struct obj *o;
	size_t i;

	if (!is_new) {
		switch (c->contype) {
		case PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN:
		case PG_QUERY__CONSTR_TYPE__CONSTR_CHECK:
			if (c->skip_validation)
				break;
			lint_report(
			    f, NMIG_LINT_CONSTRAINT_NOT_VALID,
			    lint_at(f, c->location), 1,
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
			if (*lint_str(c->indexname))
				break;
			lint_report(
			    f, NMIG_LINT_UNIQUE_WITHOUT_INDEX,
			    lint_at(f, c->location), 1,
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
	o = lint_obj_add(f, &f->created, OBJ_CONSTRAINT, schema, name, table,
			 1);
	if (!o)
		return;
	for (i = 0; i < c->n_keys; i++)
		lint_obj_add_col(f, o, lint_node_str(c->keys[i]));
	for (i = 0; i < c->n_fk_attrs; i++)
		lint_obj_add_col(f, o, lint_node_str(c->fk_attrs[i]));
	refs.f = f;
	refs.o = o;
	if (c->raw_expr)
		lint_walk(&c->raw_expr->base, lint_collect_colrefs, &refs);
}

/* ALTER TABLE ... ADD COLUMN. */
static void lint_add_column(struct file *f, const char *schema,
			    const char *table, int is_new,
			    const PgQuery__AlterTableCmd *cmd)
{
	const PgQuery__ColumnDef *cd = lint_node_coldef(cmd->def);
	const PgQuery__Constraint *def = NULL;
	int not_null, identity, generated, serial;
	const char *col, *fn = NULL;
	size_t i;

	if (!cd)
		return;
	col = lint_str(cd->colname);
	lint_check_coltype(f, cd->type_name, col);
	if (!cmd->missing_ok)
		lint_not_retryable(f, lint_at(f, cd->location),
				   "ADD COLUMN without IF NOT EXISTS",
				   "ADD COLUMN IF NOT EXISTS");
	not_null = cd->is_not_null;
	identity = *lint_str(cd->identity) != 0;
	generated = *lint_str(cd->generated) != 0;
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
				lint_report(
				    f, NMIG_LINT_UNIQUE_WITHOUT_INDEX,
				    lint_at(f, c->location), 1,
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
				lint_report(
				    f, NMIG_LINT_CONSTRAINT_NOT_VALID,
				    lint_at(f, c->location), 1,
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
		fn = lint_volatile_call(def->raw_expr);
	if (fn)
		lint_report(
		    f, NMIG_LINT_VOLATILE_DEFAULT, lint_at(f, def->location), 1,
		    "column '%s' is added to existing table '%s' with a "
		    "volatile default (%s())",
		    col, table, fn);
	else if (serial)
		lint_report(
		    f, NMIG_LINT_VOLATILE_DEFAULT,
		    lint_at(f, cd->type_name->location), 1,
		    "column '%s' is added to existing table '%s' as serial, "
		    "whose nextval() default is volatile",
		    col, table);
	else if (identity)
		lint_report(f, NMIG_LINT_VOLATILE_DEFAULT,
			    lint_at(f, cd->location), 1,
			    "column '%s' is added to existing table '%s' as an "
			    "identity column, which fills every row",
			    col, table);
	else if (generated)
		lint_report(f, NMIG_LINT_VOLATILE_DEFAULT,
			    lint_at(f, cd->location), 1,
			    "column '%s' is added to existing table '%s' as a "
			    "stored generated column, which computes every row",
			    col, table);
	if (not_null && !def && !identity && !generated && !serial)
		lint_report(
		    f, NMIG_LINT_REQUIRED_COLUMN, lint_at(f, cd->location), 1,
		    "column '%s' is added NOT NULL to existing table '%s' "
		    "without a default",
		    col, table);
	lint_obj_add(f, &f->created, OBJ_COLUMN, schema, col, table,
		     !cmd->missing_ok);
}

/* ALTER TABLE. */
void lint_alter_table(struct file *f, const PgQuery__AlterTableStmt *s)
{
	const char *schema = lint_rv_schema(s->relation);
	const char *table = lint_rv_name(s->relation);
	int is_new;
	size_t i;

	if (s->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return;
	is_new = lint_is_new_table(f, schema, table);
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
				lint_report(
				    f, NMIG_LINT_SETTING_NOT_NULL, f->stmt_off,
				    1,
				    "column '%s' of existing table '%s' is "
				    "set NOT NULL",
				    lint_str(cmd->name), table);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
			if (node_constraint(cmd->def))
				lint_add_constraint(f, schema, table, is_new,
						    cmd->def->constraint);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType:
			cd = lint_node_coldef(cmd->def);
			if (!cd || !cd->type_name)
				break;
			lint_type_names(cd->type_name, &tschema, &tname);
			if (!is_new)
				lint_report(
				    f, NMIG_LINT_CHANGING_COLUMN_TYPE,
				    lint_at(f, cd->location), 1,
				    "column '%s' of existing table '%s' "
				    "changes type to %s",
				    lint_str(cmd->name), table, tname);
			lint_check_coltype(f, cd->type_name,
					   lint_str(cmd->name));
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn:
			if (!is_new)
				lint_report(
				    f, NMIG_LINT_DROPPING_COLUMN, f->stmt_off,
				    1,
				    "column '%s' is dropped from existing "
				    "table '%s'",
				    lint_str(cmd->name), table);
			if (!cmd->missing_ok)
				lint_not_retryable(
				    f, f->stmt_off,
				    "DROP COLUMN without IF EXISTS",
				    "DROP COLUMN IF EXISTS");
			lint_obj_add(f, &f->dropped, OBJ_COLUMN, schema,
				     lint_str(cmd->name), table, 0);
			break;
		case PG_QUERY__ALTER_TABLE_TYPE__AT_DropConstraint:
			if (!cmd->missing_ok)
				lint_not_retryable(
				    f, f->stmt_off,
				    "DROP CONSTRAINT without IF EXISTS",
				    "DROP CONSTRAINT IF EXISTS");
			lint_obj_add(f, &f->dropped, OBJ_CONSTRAINT, schema,
				     lint_str(cmd->name), table, 0);
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
void lint_drop(struct file *f, const PgQuery__DropStmt *s)
{
	int kind = drop_kind(s->remove_type);
	size_t i;

	if (!s->missing_ok)
		lint_not_retryable(f, f->stmt_off, "DROP without IF EXISTS",
				   "DROP ... IF EXISTS");
	if (s->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE && f->is_down)
		f->undo_unknown = 1;
	for (i = 0; i < s->n_objects; i++) {
		const PgQuery__Node *n = s->objects[i];
		const char *schema = "", *name = "", *table = NULL, *x;

		if (n->node_case == PG_QUERY__NODE__NODE_LIST && n->list) {
			size_t k = n->list->n_items;

			lint_qualified(n->list->items, k, &schema, &name);
			if (kind == OBJ_TRIGGER) {
				table = schema;
				schema = "";
				if (k >= 3 &&
				    (x = lint_node_str(n->list->items[k - 3])))
					schema = x;
			}
		} else if (n->node_case == PG_QUERY__NODE__NODE_TYPE_NAME) {
			lint_type_names(n->type_name, &schema, &name);
		} else if (n->node_case ==
			   PG_QUERY__NODE__NODE_OBJECT_WITH_ARGS) {
			lint_qualified(n->object_with_args->objname,
				       n->object_with_args->n_objname, &schema,
				       &name);
		} else if ((x = lint_node_str(n))) {
			name = x;
		}
		/* judged at the end of the file: a later DROP TABLE of the
		 * index's table makes the lock moot */
		if (kind == OBJ_INDEX && !s->concurrent &&
		    !lint_is_new_index(f, schema, name))
			lint_obj_add(f, &f->plain_index_drops, OBJ_INDEX,
				     schema, name, NULL, 0);
		if (kind == OBJ_TABLE && !lint_is_new_table(f, schema, name))
			lint_report(f, NMIG_LINT_DROPPING_TABLE, f->stmt_off, 1,
				    "table '%s' is dropped", name);
		if (kind >= 0)
			lint_obj_add(f, &f->dropped, (enum obj_kind)kind,
				     schema, name, table, 0);
	}
}

/*
 * ALTER ... RENAME. A table renamed after being created in the file stays
 * new under its new name; renaming an existing table is reported at the
 * end of the file unless a view then keeps the old name working.
 */
void lint_rename(struct file *f, const PgQuery__RenameStmt *s)
{
	const char *schema = lint_rv_schema(s->relation);
	const char *table = lint_rv_name(s->relation);
	int is_new = s->relation && lint_is_new_table(f, schema, table);

	f->undo_unknown = 1;
	if (s->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN &&
	    s->relation_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE && !is_new)
		lint_report(
		    f, NMIG_LINT_RENAMING_COLUMN, f->stmt_off, 1,
		    "column '%s' of existing table '%s' is renamed to '%s'",
		    lint_str(s->subname), table, lint_str(s->newname));
	if (s->rename_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
		return;
	if (is_new)
		lint_obj_add(f, &f->created, OBJ_TABLE, schema,
			     lint_str(s->newname), NULL, 0);
	else
		lint_obj_add(f, &f->renames, OBJ_TABLE, schema, table,
			     lint_str(s->newname), 0);
}
