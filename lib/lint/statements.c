/*
 * The statement table: one linter per parse-tree node type (those of
 * statements that create what the down file should drop among them), and
 * lint_stmt, which dispatches a statement through it.
 */
#include "lint_internal.h"

/*
 * Linters of statements that create objects the down file should drop:
 * each records what it creates, and whether running it twice fails.
 */

static void stmt_create_table_as(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateTableAsStmt *s = n->create_table_as_stmt;
	const PgQuery__RangeVar *rv = s->into ? s->into->rel : NULL;

	if (!s->if_not_exists)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE ... AS without IF NOT EXISTS",
				   "CREATE ... IF NOT EXISTS ... AS");
	lint_obj_add(
	    f, &f->created,
	    s->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW ? OBJ_MATVIEW
								: OBJ_TABLE,
	    lint_rv_schema(rv), lint_rv_name(rv), NULL, !s->if_not_exists);
}

static void stmt_create_seq(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateSeqStmt *s = n->create_seq_stmt;
	int owned = 0;
	size_t i;

	for (i = 0; i < s->n_options; i++)
		if (s->options[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(lint_str(s->options[i]->def_elem->defname),
			   "owned_by") == 0)
			owned = 1;
	if (!s->if_not_exists)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE SEQUENCE without IF NOT EXISTS",
				   "CREATE SEQUENCE IF NOT EXISTS");
	lint_obj_add(f, &f->created, OBJ_SEQUENCE, lint_rv_schema(s->sequence),
		     lint_rv_name(s->sequence), NULL,
		     !s->if_not_exists && !owned);
}

static void stmt_create_view(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__ViewStmt *s = n->view_stmt;

	if (!s->replace)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE VIEW without OR REPLACE",
				   "CREATE OR REPLACE VIEW");
	lint_obj_add(f, &f->created, OBJ_VIEW, lint_rv_schema(s->view),
		     lint_rv_name(s->view), NULL, !s->replace);
}

/* A created object named by a qualified name list, never retryable. */
static void created_qualified(struct file *f, enum obj_kind kind,
			      PgQuery__Node *const *names, size_t n)
{
	const char *schema, *name;

	lint_qualified(names, n, &schema, &name);
	lint_obj_add(f, &f->created, kind, schema, name, NULL, 1);
}

static void stmt_create_enum(struct file *f, const PgQuery__Node *n)
{
	created_qualified(f, OBJ_TYPE, n->create_enum_stmt->type_name,
			  n->create_enum_stmt->n_type_name);
}

static void stmt_create_range(struct file *f, const PgQuery__Node *n)
{
	created_qualified(f, OBJ_TYPE, n->create_range_stmt->type_name,
			  n->create_range_stmt->n_type_name);
}

static void stmt_create_domain(struct file *f, const PgQuery__Node *n)
{
	created_qualified(f, OBJ_DOMAIN, n->create_domain_stmt->domainname,
			  n->create_domain_stmt->n_domainname);
}

static void stmt_composite_type(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CompositeTypeStmt *s = n->composite_type_stmt;
	size_t i;

	for (i = 0; i < s->n_coldeflist; i++) {
		const PgQuery__ColumnDef *cd =
		    lint_node_coldef(s->coldeflist[i]);

		if (cd)
			lint_check_coltype(f, cd->type_name,
					   lint_str(cd->colname));
	}
	lint_obj_add(f, &f->created, OBJ_TYPE, lint_rv_schema(s->typevar),
		     lint_rv_name(s->typevar), NULL, 1);
}

static void stmt_create_schema(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateSchemaStmt *s = n->create_schema_stmt;

	if (!s->if_not_exists)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE SCHEMA without IF NOT EXISTS",
				   "CREATE SCHEMA IF NOT EXISTS");
	if (s->n_schema_elts)
		f->undo_unknown = 1;
	lint_obj_add(f, &f->created, OBJ_SCHEMA, "", lint_str(s->schemaname),
		     NULL, !s->if_not_exists);
}

static void stmt_create_extension(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateExtensionStmt *s = n->create_extension_stmt;

	if (!s->if_not_exists)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE EXTENSION without IF NOT EXISTS",
				   "CREATE EXTENSION IF NOT EXISTS");
	lint_obj_add(f, &f->created, OBJ_EXTENSION, "", lint_str(s->extname),
		     NULL, !s->if_not_exists);
}

static void stmt_create_function(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateFunctionStmt *s = n->create_function_stmt;
	const char *schema, *name;

	if (!s->replace)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE FUNCTION without OR REPLACE",
				   "CREATE OR REPLACE FUNCTION");
	lint_qualified(s->funcname, s->n_funcname, &schema, &name);
	lint_obj_add(f, &f->created, OBJ_FUNCTION, schema, name, NULL,
		     !s->replace);
}

static void stmt_create_trigger(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateTrigStmt *s = n->create_trig_stmt;

	if (!s->replace)
		lint_not_retryable(f, f->stmt_off,
				   "CREATE TRIGGER without OR REPLACE",
				   "CREATE OR REPLACE TRIGGER");
	lint_obj_add(f, &f->created, OBJ_TRIGGER, lint_rv_schema(s->relation),
		     lint_str(s->trigname), lint_rv_name(s->relation),
		     !s->replace);
}

/*
 * Statement linters: one per parse-tree node type that a rule looks at,
 * each checking that statement's rules and recording what it creates and
 * drops. The table below maps node types to them; a statement of any
 * other type has no rule.
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
	lint_report(f, NMIG_LINT_DROP_DATABASE, f->stmt_off, 1,
		    "database '%s' is dropped",
		    lint_str(n->dropdb_stmt->dbname));
}

static void stmt_truncate(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__TruncateStmt *s = n->truncate_stmt;
	const char *t = "";

	if (s->behavior != PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE)
		return;
	if (s->n_relations &&
	    s->relations[0]->node_case == PG_QUERY__NODE__NODE_RANGE_VAR)
		t = lint_rv_name(s->relations[0]->range_var);
	lint_report(f, NMIG_LINT_TRUNCATE_CASCADE, f->stmt_off, 1,
		    "table '%s' is truncated with CASCADE, which also empties "
		    "every table that references it",
		    t);
}

/* Whether a VACUUM option d is FULL, and not FULL false/off/0. */
static int vacuum_full(const PgQuery__DefElem *d)
{
	const char *v;

	if (strcmp(lint_str(d->defname), "full") != 0)
		return 0;
	v = lint_node_str(d->arg);
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
		if (s->n_rels && s->rels[0]->node_case ==
				     PG_QUERY__NODE__NODE_VACUUM_RELATION)
			lint_report(f, NMIG_LINT_VACUUM_FULL, f->stmt_off, 1,
				    "table '%s' is rewritten by VACUUM FULL",
				    lint_rv_name(
					s->rels[0]->vacuum_relation->relation));
		else
			lint_report(
			    f, NMIG_LINT_VACUUM_FULL, f->stmt_off, 1,
			    "every table of the database is rewritten by "
			    "VACUUM FULL");
	}
}

static void stmt_cluster(struct file *f, const PgQuery__Node *n)
{
	if (n->cluster_stmt->relation)
		lint_report(f, NMIG_LINT_CLUSTER, f->stmt_off, 1,
			    "table '%s' is rewritten by CLUSTER",
			    lint_rv_name(n->cluster_stmt->relation));
	else
		lint_report(f, NMIG_LINT_CLUSTER, f->stmt_off, 1,
			    "every clustered table is rewritten by CLUSTER");
}

static void stmt_alter_enum(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__AlterEnumStmt *s = n->alter_enum_stmt;
	const char *schema, *name;

	if (*lint_str(s->old_val))
		return; /* RENAME VALUE */
	lint_qualified(s->type_name, s->n_type_name, &schema, &name);
	if (!*lint_str(s->new_val_neighbor))
		lint_report(
		    f, NMIG_LINT_ENUM_VALUE_PLACEMENT, f->stmt_off, 1,
		    "value '%s' is appended to enum '%s' without BEFORE or "
		    "AFTER",
		    lint_str(s->new_val), name);
	if (!s->skip_if_new_val_exists)
		lint_not_retryable(f, f->stmt_off,
				   "ADD VALUE without IF NOT EXISTS",
				   "ADD VALUE IF NOT EXISTS");
}

static void stmt_create_role(struct file *f, const PgQuery__Node *n)
{
	lint_password_options(f, PW_ROLE, n->create_role_stmt->options,
			      n->create_role_stmt->n_options,
			      lint_str(n->create_role_stmt->role), "");
}

static void stmt_alter_role(struct file *f, const PgQuery__Node *n)
{
	lint_password_options(f, PW_ROLE, n->alter_role_stmt->options,
			      n->alter_role_stmt->n_options,
			      lint_role_name(n->alter_role_stmt->role), "");
}

static void stmt_create_user_mapping(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateUserMappingStmt *s = n->create_user_mapping_stmt;

	lint_password_options(f, PW_USER_MAPPING, s->options, s->n_options,
			      lint_role_name(s->user), lint_str(s->servername));
}

static void stmt_alter_user_mapping(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__AlterUserMappingStmt *s = n->alter_user_mapping_stmt;

	lint_password_options(f, PW_USER_MAPPING, s->options, s->n_options,
			      lint_role_name(s->user), lint_str(s->servername));
}

static void stmt_create_server(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__CreateForeignServerStmt *s =
	    n->create_foreign_server_stmt;

	lint_password_options(f, PW_SERVER, s->options, s->n_options,
			      lint_str(s->servername), "");
}

static void stmt_alter_server(struct file *f, const PgQuery__Node *n)
{
	const PgQuery__AlterForeignServerStmt *s = n->alter_foreign_server_stmt;

	lint_password_options(f, PW_SERVER, s->options, s->n_options,
			      lint_str(s->servername), "");
}

/* SET search_path: unqualified names may then mean other objects. */
static void stmt_set(struct file *f, const PgQuery__Node *n)
{
	if (strcasecmp(lint_str(n->variable_set_stmt->name), "search_path") ==
	    0)
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

	lint_walk(&n->base, lint_find_call, &call);
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
    [PG_QUERY__NODE__NODE_CREATE_USER_MAPPING_STMT] = stmt_create_user_mapping,
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
    [PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT] = stmt_create_table_as,
    [PG_QUERY__NODE__NODE_CREATE_SEQ_STMT] = stmt_create_seq,
    [PG_QUERY__NODE__NODE_VIEW_STMT] = stmt_create_view,
    [PG_QUERY__NODE__NODE_CREATE_ENUM_STMT] = stmt_create_enum,
    [PG_QUERY__NODE__NODE_CREATE_RANGE_STMT] = stmt_create_range,
    [PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT] = stmt_composite_type,
    [PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT] = stmt_create_domain,
    [PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT] = stmt_create_schema,
    [PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT] = stmt_create_extension,
    [PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT] = stmt_create_function,
    [PG_QUERY__NODE__NODE_CREATE_TRIG_STMT] = stmt_create_trigger,
};

/* One parsed statement: its linter from the table, then the secrets. */
void lint_stmt(struct file *f, const PgQuery__Node *n)
{
	size_t k = (size_t)n->node_case;

	if (k < sizeof(stmt_linters) / sizeof(stmt_linters[0]) &&
	    stmt_linters[k])
		stmt_linters[k](f, n);
	lint_walk(&n->base, lint_find_secrets, f);
}

/*
 * Renames of existing tables, reported once the whole file is known: a
 * view created later under the old name keeps clients working.
 */
void lint_finish_renames(struct file *f)
{
	size_t i, k;

	for (i = 0; i < f->renames.n; i++) {
		const struct obj *r = &f->renames.v[i];
		int view = 0;

		for (k = lint_objs_first(&f->created, r->name); k && !view;
		     k = lint_objs_next(&f->created, k)) {
			const struct obj *o = &f->created.v[k - 1];

			view =
			    o->kind == OBJ_VIEW && o->off > r->off &&
			    lint_same(o->schema, o->name, r->schema, r->name);
		}
		if (!view)
			lint_report(
			    f, NMIG_LINT_RENAMING_TABLE, r->off, 1,
			    "existing table '%s' is renamed to '%s' and no "
			    "view keeps the old name",
			    r->name, r->table);
	}
}
