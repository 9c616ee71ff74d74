/*
 * The credential rules of statements: passwords in roles, user mappings
 * and foreign servers, and secrets anywhere in a statement's literals.
 */
#include "lint_internal.h"

/* Whether a DefElem is a `password` option carrying a value. */
static int password_option(const PgQuery__Node *n, size_t *loc_out,
			   const struct file *f)
{
	const PgQuery__DefElem *d;

	if (!n || n->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
		return 0;
	d = n->def_elem;
	if (strcasecmp(lint_str(d->defname), "password") != 0 || !d->arg)
		return 0;
	*loc_out = lint_at(f, d->location);
	return 1;
}

/* The role a RoleSpec names, CURRENT_USER and friends included. */
const char *lint_role_name(const PgQuery__RoleSpec *r)
{
	if (!r)
		return "";
	if (*lint_str(r->rolename))
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

/* Password options of roles, user mappings and foreign servers. */
void lint_password_options(struct file *f, enum pw_owner owner,
			   PgQuery__Node *const *opts, size_t n, const char *a,
			   const char *b)
{
	size_t i, loc;

	for (i = 0; i < n; i++) {
		if (!password_option(opts[i], &loc, f))
			continue;
		if (owner == PW_ROLE)
			lint_report(f, NMIG_LINT_ROLE_PASSWORD, loc, 0,
				    "role '%s' is given a literal password", a);
		else if (owner == PW_USER_MAPPING)
			lint_report(
			    f, NMIG_LINT_USER_MAPPING_PASSWORD, loc, 0,
			    "user mapping for '%s' on server '%s' holds a "
			    "literal password",
			    a, b);
		else
			lint_report(
			    f, NMIG_LINT_USER_MAPPING_PASSWORD, loc, 0,
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
int lint_find_secrets(const ProtobufCMessage *m, void *ud)
{
	struct file *f = ud;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m, *s;
	unsigned i;

	if (d == &pg_query__a__const__descriptor) {
		const PgQuery__AConst *c = (const PgQuery__AConst *)m;

		if (c->val_case == PG_QUERY__A__CONST__VAL_SVAL && c->sval &&
		    lint_has_secret(lint_str(c->sval->sval)))
			lint_report(
			    f, NMIG_LINT_CONNINFO_PASSWORD,
			    lint_at(f, c->location), 0,
			    "a string constant holds a connection string "
			    "with a literal password");
		return 1;
	}
	if (d == &pg_query__def_elem__descriptor) {
		const PgQuery__DefElem *de = (const PgQuery__DefElem *)m;

		/* role and user-mapping passwords have rules of their own */
		if (strcasecmp(lint_str(de->defname), "password") == 0)
			return 1;
		if ((s = lint_node_str(de->arg)) && lint_has_secret(s)) {
			lint_report(f, NMIG_LINT_CONNINFO_PASSWORD,
				    lint_at(f, de->location), 0,
				    strcmp(lint_str(de->defname), "as") == 0
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
		if (!lint_field_set(base, fd))
			continue;
		s = lint_field_ptr(base, fd);
		if (s && lint_has_secret(s))
			lint_report(f, NMIG_LINT_CONNINFO_PASSWORD, f->stmt_off,
				    0, "%s holds a literal password",
				    strcmp(fd->name, "conninfo") == 0
					? "the CONNECTION string"
					: "a connection string in this "
					  "statement");
	}
	return 0;
}

/* lint_walk() callback: sets *ud when m is a function call. */
int lint_find_call(const ProtobufCMessage *m, void *ud)
{
	int *found = ud;

	if (m->descriptor == &pg_query__func_call__descriptor)
		*found = 1;
	return *found;
}
