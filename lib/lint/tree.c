/*
 * Parse-tree helpers for the rules: names of relations and types, a
 * generic walk over libpg_query's protobuf messages, volatile calls and
 * column references.
 */
#include "lint_internal.h"

/* Parse-tree helpers. */

/* The string of a String node, or NULL for any other node. */
const char *lint_node_str(const PgQuery__Node *n)
{
	if (n && n->node_case == PG_QUERY__NODE__NODE_STRING && n->string)
		return lint_str(n->string->sval);
	return NULL;
}

/*
 * The last two names of a qualified name list ([catalog.]schema.name):
 * *schema is "" when unqualified.
 */
void lint_qualified(PgQuery__Node *const *v, size_t n, const char **schema,
		    const char **name)
{
	const char *s;

	*schema = "";
	*name = "";
	if (n >= 1 && (s = lint_node_str(v[n - 1])))
		*name = s;
	if (n >= 2 && (s = lint_node_str(v[n - 2])))
		*schema = s;
}

/* The schema a RangeVar names, "" when unqualified or absent. */
const char *lint_rv_schema(const PgQuery__RangeVar *rv)
{
	return rv ? lint_str(rv->schemaname) : "";
}

/* The relation a RangeVar names, "" when absent. */
const char *lint_rv_name(const PgQuery__RangeVar *rv)
{
	return rv ? lint_str(rv->relname) : "";
}

/* The base name of a type (last name) and its schema ("" if none). */
void lint_type_names(const PgQuery__TypeName *tn, const char **schema,
		     const char **name)
{
	lint_qualified(tn->names, tn->n_names, schema, name);
}

/* Whether a type name refers to the built-in type called builtin. */
int lint_builtin_type(const PgQuery__TypeName *tn, const char *builtin)
{
	const char *schema, *name;

	if (!tn)
		return 0;
	lint_type_names(tn, &schema, &name);
	return strcmp(name, builtin) == 0 &&
	       (!*schema || strcmp(schema, "pg_catalog") == 0);
}

/*
 * Whether field fd of the message at base holds a value: always, unless
 * it is a member of a oneof that chose another member.
 */
int lint_field_set(const char *base, const ProtobufCFieldDescriptor *fd)
{
	uint32_t which;

	if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return 1;
	memcpy(&which, base + fd->quantifier_offset, sizeof(which));
	return which == fd->id;
}

/* The pointer stored in field fd (a message, a string or an array). */
const void *lint_field_ptr(const char *base, const ProtobufCFieldDescriptor *fd)
{
	const void *p;

	memcpy(&p, base + fd->offset, sizeof(p));
	return p;
}

/* Visit m and every message below it; fn returns nonzero to prune m. */
void lint_walk(const ProtobufCMessage *m,
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

		if (fd->type != PROTOBUF_C_TYPE_MESSAGE ||
		    !lint_field_set(base, fd))
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			ProtobufCMessage *const *v = lint_field_ptr(base, fd);

			memcpy(&n, base + fd->quantifier_offset, sizeof(n));
			for (j = 0; j < n; j++)
				lint_walk(v[j], fn, ud);
		} else {
			lint_walk(lint_field_ptr(base, fd), fn, ud);
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

/* lint_walk() callback: the first known volatile function called below m. */
static int find_volatile(const ProtobufCMessage *m, void *ud)
{
	const char **found = ud;
	const PgQuery__FuncCall *fc;
	const char *schema, *name;
	size_t i;

	if (*found || m->descriptor != &pg_query__func_call__descriptor)
		return *found != NULL;
	fc = (const PgQuery__FuncCall *)m;
	lint_qualified(fc->funcname, fc->n_funcname, &schema, &name);
	for (i = 0; volatile_funcs[i]; i++)
		if (strcmp(name, volatile_funcs[i]) == 0) {
			*found = volatile_funcs[i];
			return 1;
		}
	return 0;
}

/* The name of a known volatile function called in expr, or NULL. */
const char *lint_volatile_call(const PgQuery__Node *expr)
{
	const char *found = NULL;

	lint_walk(&expr->base, find_volatile, &found);
	return found;
}

/* Add col to the columns constraint o mentions (NULL/"" ignored). */
void lint_obj_add_col(struct file *f, struct obj *o, const char *col)
{
	char **v;

	if (!col || !*col)
		return;
	v = realloc(o->cols, (o->ncols + 1) * sizeof(*v));
	if (!v) {
		lint_nomem(f->run);
		return;
	}
	o->cols = v;
	if ((o->cols[o->ncols] = lint_copy_str(f->run, col)))
		o->ncols++;
}

/* lint_walk() callback: the column of each ColumnRef below m. */
int lint_collect_colrefs(const ProtobufCMessage *m, void *ud)
{
	struct colrefs *c = ud;
	const PgQuery__ColumnRef *cr;
	const char *s;

	if (m->descriptor != &pg_query__column_ref__descriptor)
		return 0;
	cr = (const PgQuery__ColumnRef *)m;
	if (cr->n_fields && (s = lint_node_str(cr->fields[cr->n_fields - 1])))
		lint_obj_add_col(c->f, c->o, s);
	return 1;
}
