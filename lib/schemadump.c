/*
 * Canonical DDL of a catalog model (see schemadump.h). Tables are written
 * with their columns; sequence ownership (OWNED BY) and comments come at
 * the end, when everything they name exists.
 */
#include "schemadump.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "state.h"

struct nmig_dumper {
	const struct nmig_catalog *cat;
	struct nmig_buf *out;
	struct nmig_buf tail;	 /* OWNED BY, then comments */
	struct nmig_buf refused; /* what cannot be rendered */
	size_t nrefused;
	size_t **cols; /* per relation: its columns by position */
	size_t *ncols;
};

static void refuse(struct nmig_dumper *d, const struct nmig_cat_obj *o,
		   const char *why)
{
	if (d->nrefused < 10)
		nmig_buf_printf(&d->refused, "%s%s %s: %s",
				d->nrefused ? "\n" : "", nmig_cat_kind_name(o),
				o->key, why);
	d->nrefused++;
}

/* The sequence of an identity column, or NULL. */
static const struct nmig_cat_obj *identity_seq(struct nmig_dumper *d,
					       const struct nmig_cat_obj *col)
{
	size_t i;

	for (i = 0; i < d->cat->n; i++) {
		const struct nmig_cat_obj *o = &d->cat->objs[i];

		if (o->kind == NMIG_CAT_SEQUENCE && o->u.seq.owned_dep == 'i' &&
		    o->u.seq.owned_by &&
		    strcmp(o->u.seq.owned_by, col->key) == 0)
			return o;
	}
	return NULL;
}

void nmig_dumper_seq_options(struct nmig_buf *out, const struct nmig_cat_obj *s)
{
	nmig_buf_printf(out,
			"START WITH %s INCREMENT BY %s MINVALUE %s "
			"MAXVALUE %s CACHE %s%s",
			s->u.seq.start, s->u.seq.increment, s->u.seq.min,
			s->u.seq.max, s->u.seq.cache,
			s->u.seq.cycle ? " CYCLE" : "");
}

/* One column of a CREATE TABLE or CREATE TYPE ... AS. */
static void put_column(struct nmig_dumper *d, const struct nmig_cat_obj *c,
		       int composite)
{
	const struct nmig_cat_column *col = &c->u.col;

	nmig_buf_printf(d->out, "    %s %s", c->qname, col->type);
	if (col->collation)
		nmig_buf_printf(d->out, " COLLATE %s", col->collation);
	if (composite)
		return;
	if (col->generated == 's')
		nmig_buf_printf(d->out, " GENERATED ALWAYS AS (%s) STORED",
				col->default_expr);
	else if (col->default_expr)
		nmig_buf_printf(d->out, " DEFAULT %s", col->default_expr);
	if (col->identity) {
		const struct nmig_cat_obj *s = identity_seq(d, c);

		nmig_buf_printf(d->out, " GENERATED %s AS IDENTITY",
				col->identity == 'a' ? "ALWAYS" : "BY DEFAULT");
		if (s) {
			nmig_buf_printf(d->out, " (SEQUENCE NAME %s ", s->key);
			nmig_dumper_seq_options(d->out, s);
			nmig_buf_putc(d->out, ')');
		}
	}
	if (col->notnull)
		nmig_buf_puts(d->out, " NOT NULL");
}

/* The columns of relation r that it declares itself, comma-separated. */
static void put_columns(struct nmig_dumper *d, size_t r, int composite)
{
	size_t i, n = 0;

	for (i = 0; i < d->ncols[r]; i++) {
		const struct nmig_cat_obj *c = &d->cat->objs[d->cols[r][i]];

		if (!c->u.col.local)
			continue;
		nmig_buf_puts(d->out, n++ ? ",\n" : "\n");
		put_column(d, c, composite);
	}
	nmig_buf_puts(d->out, n ? "\n" : "");
}

/* Text ending in exactly one ';' and a newline. */
static void put_stmt(struct nmig_buf *out, const char *sql)
{
	size_t len = strlen(sql);

	while (len && (sql[len - 1] == '\n' || sql[len - 1] == ' ' ||
		       sql[len - 1] == ';'))
		len--;
	nmig_buf_put(out, sql, len);
	nmig_buf_puts(out, ";\n");
}

static void dump_relation(struct nmig_dumper *d, size_t i)
{
	const struct nmig_cat_obj *o = &d->cat->objs[i];
	const struct nmig_cat_relation *r = &o->u.rel;

	switch (r->relkind) {
	case 'r':
	case 'p':
		if (r->partition) {
			nmig_buf_printf(d->out,
					"CREATE TABLE %s PARTITION OF %s",
					o->key, r->inherits);
			nmig_buf_printf(d->out, " %s", r->partbound);
		} else {
			nmig_buf_printf(
			    d->out, "CREATE %sTABLE %s (",
			    r->persistence == 'u' ? "UNLOGGED " : "", o->key);
			put_columns(d, i, 0);
			nmig_buf_putc(d->out, ')');
			if (r->inherits)
				nmig_buf_printf(d->out, " INHERITS (%s)",
						r->inherits);
		}
		if (r->partkey)
			nmig_buf_printf(d->out, " PARTITION BY %s", r->partkey);
		if (r->reloptions)
			nmig_buf_printf(d->out, " WITH (%s)", r->reloptions);
		nmig_buf_puts(d->out, ";\n");
		if (r->rls)
			nmig_buf_printf(d->out,
					"ALTER TABLE %s ENABLE ROW LEVEL "
					"SECURITY;\n",
					o->key);
		if (r->forced_rls)
			nmig_buf_printf(d->out,
					"ALTER TABLE %s FORCE ROW LEVEL "
					"SECURITY;\n",
					o->key);
		if (r->replident == 'n' || r->replident == 'f')
			nmig_buf_printf(
			    d->out, "ALTER TABLE %s REPLICA IDENTITY %s;\n",
			    o->key, r->replident == 'n' ? "NOTHING" : "FULL");
		else if (r->replident == 'i')
			refuse(d, o,
			       "replica identity USING INDEX is not "
			       "rendered yet");
		break;
	case 'v':
		nmig_buf_printf(d->out, "CREATE VIEW %s", o->key);
		if (r->reloptions)
			nmig_buf_printf(d->out, " WITH (%s)", r->reloptions);
		nmig_buf_puts(d->out, " AS\n");
		put_stmt(d->out, r->viewdef ? r->viewdef : "");
		break;
	case 'm':
		nmig_buf_printf(d->out, "CREATE MATERIALIZED VIEW %s", o->key);
		if (r->reloptions)
			nmig_buf_printf(d->out, " WITH (%s)", r->reloptions);
		nmig_buf_puts(d->out, " AS\n");
		put_stmt(d->out, r->viewdef ? r->viewdef : "");
		break;
	case 'c':
		nmig_buf_printf(d->out, "CREATE TYPE %s AS (", o->key);
		put_columns(d, i, 1);
		nmig_buf_puts(d->out, ");\n");
		break;
	default:
		refuse(d, o,
		       "foreign tables are not rendered (they need "
		       "their server and options)");
	}
}

static void dump_function(struct nmig_dumper *d, const struct nmig_cat_obj *o)
{
	const struct nmig_cat_function *f = &o->u.func;

	if (f->internal)
		return; /* made by its type */
	if (f->prokind != 'a') {
		put_stmt(d->out, f->def ? f->def : "");
		return;
	}
	nmig_buf_printf(d->out, "CREATE AGGREGATE %s (SFUNC = %s, STYPE = %s",
			o->key, f->sfunc, f->stype);
	if (f->finalfunc && strcmp(f->finalfunc, "-") != 0)
		nmig_buf_printf(d->out, ", FINALFUNC = %s", f->finalfunc);
	if (f->initcond) {
		nmig_buf_puts(d->out, ", INITCOND = ");
		nmig_sql_literal(d->out, f->initcond);
	}
	nmig_buf_puts(d->out, ");\n");
}

void nmig_cat_comment_target(struct nmig_buf *out,
			     const struct nmig_catalog *cat,
			     const struct nmig_cat_obj *o)
{
	const struct nmig_cat_obj *p =
	    o->parent != NMIG_CAT_NONE ? &cat->objs[o->parent] : NULL;

	switch (o->kind) {
	case NMIG_CAT_SCHEMA:
		nmig_buf_printf(out, "SCHEMA %s", o->key);
		return;
	case NMIG_CAT_EXTENSION:
		nmig_buf_printf(out, "EXTENSION %s", o->key);
		return;
	case NMIG_CAT_TYPE:
		nmig_buf_printf(out, "%s %s",
				o->u.type.typtype == 'd' ? "DOMAIN" : "TYPE",
				o->key);
		return;
	case NMIG_CAT_SEQUENCE:
		nmig_buf_printf(out, "SEQUENCE %s", o->key);
		return;
	case NMIG_CAT_FUNCTION:
		nmig_buf_printf(out, "%s %s",
				o->u.func.prokind == 'p'   ? "PROCEDURE"
				: o->u.func.prokind == 'a' ? "AGGREGATE"
							   : "FUNCTION",
				o->key);
		return;
	case NMIG_CAT_RELATION:
		switch (o->u.rel.relkind) {
		case 'v':
			nmig_buf_puts(out, "VIEW ");
			break;
		case 'm':
			nmig_buf_puts(out, "MATERIALIZED VIEW ");
			break;
		case 'c':
			nmig_buf_puts(out, "TYPE ");
			break;
		case 'f':
			nmig_buf_puts(out, "FOREIGN TABLE ");
			break;
		default:
			nmig_buf_puts(out, "TABLE ");
		}
		nmig_buf_puts(out, o->key);
		return;
	case NMIG_CAT_COLUMN:
		nmig_buf_printf(out, "COLUMN %s", o->key);
		return;
	case NMIG_CAT_CONSTRAINT:
		nmig_buf_printf(out, "CONSTRAINT %s ON %s%s", o->qname,
				o->u.con.on_domain ? "DOMAIN " : "",
				p ? p->key : "");
		return;
	case NMIG_CAT_INDEX:
		nmig_buf_printf(out, "INDEX %s", o->key);
		return;
	case NMIG_CAT_TRIGGER:
		nmig_buf_printf(out, "TRIGGER %s ON %s", o->qname,
				p ? p->key : "");
		return;
	case NMIG_CAT_RULE:
		nmig_buf_printf(out, "RULE %s ON %s", o->qname,
				p ? p->key : "");
		return;
	case NMIG_CAT_POLICY:
		nmig_buf_printf(out, "POLICY %s ON %s", o->qname,
				p ? p->key : "");
		return;
	case NMIG_CAT_STATISTICS:
		nmig_buf_printf(out, "STATISTICS %s", o->key);
		return;
	case NMIG_CAT_NKINDS:
		break;
	}
}

/* The parent index of an attached partition index, or NULL. */
static const struct nmig_cat_obj *parent_index(const struct nmig_catalog *cat,
					       const struct nmig_cat_obj *o)
{
	size_t k;

	for (k = 0; k < o->ndeps; k++)
		if (cat->objs[o->deps[k]].kind == NMIG_CAT_INDEX)
			return &cat->objs[o->deps[k]];
	return NULL;
}

static void dump_object(struct nmig_dumper *d, size_t i)
{
	const struct nmig_catalog *cat = d->cat;
	const struct nmig_cat_obj *o = &cat->objs[i];
	const struct nmig_cat_obj *p =
	    o->parent != NMIG_CAT_NONE ? &cat->objs[o->parent] : NULL;
	size_t before = d->out->len;

	switch (o->kind) {
	case NMIG_CAT_SCHEMA:
		if (strcmp(o->key, "public") != 0)
			nmig_buf_printf(d->out, "CREATE SCHEMA %s;\n", o->key);
		break;
	case NMIG_CAT_EXTENSION:
		if (strcmp(o->key, "plpgsql") == 0)
			break;
		nmig_buf_printf(d->out,
				"CREATE EXTENSION IF NOT EXISTS %s WITH "
				"SCHEMA %s VERSION ",
				o->key, o->u.ext.schema);
		nmig_sql_literal(d->out, o->u.ext.version);
		nmig_buf_puts(d->out, ";\n");
		break;
	case NMIG_CAT_TYPE: {
		const struct nmig_cat_type *t = &o->u.type;

		if (t->typtype == 'e') {
			nmig_buf_printf(d->out,
					"CREATE TYPE %s AS ENUM (%s);\n",
					o->key, t->labels ? t->labels : "");
		} else if (t->typtype == 'd') {
			nmig_buf_printf(d->out, "CREATE DOMAIN %s AS %s",
					o->key, t->base);
			if (t->collation)
				nmig_buf_printf(d->out, " COLLATE %s",
						t->collation);
			if (t->default_expr)
				nmig_buf_printf(d->out, " DEFAULT %s",
						t->default_expr);
			if (t->notnull)
				nmig_buf_puts(d->out, " NOT NULL");
			nmig_buf_puts(d->out, ";\n");
		} else if (t->typtype == 'r') {
			nmig_buf_printf(d->out,
					"CREATE TYPE %s AS RANGE (SUBTYPE = %s",
					o->key, t->subtype);
			if (t->range_collation)
				nmig_buf_printf(d->out, ", COLLATION = %s",
						t->range_collation);
			nmig_buf_puts(d->out, ");\n");
		} else {
			refuse(d, o,
			       "base types need C functions and are "
			       "not rendered");
		}
		break;
	}
	case NMIG_CAT_SEQUENCE:
		if (o->u.seq.owned_dep == 'i')
			break; /* its identity column makes it */
		nmig_buf_printf(d->out, "CREATE SEQUENCE %s AS %s ", o->key,
				o->u.seq.type);
		nmig_dumper_seq_options(d->out, o);
		nmig_buf_puts(d->out, ";\n");
		if (o->u.seq.owned_dep == 'a' && o->u.seq.owned_by)
			nmig_buf_printf(&d->tail,
					"ALTER SEQUENCE %s OWNED BY %s;\n",
					o->key, o->u.seq.owned_by);
		break;
	case NMIG_CAT_FUNCTION:
		dump_function(d, o);
		break;
	case NMIG_CAT_RELATION:
		dump_relation(d, i);
		break;
	case NMIG_CAT_COLUMN:
		break; /* with its table */
	case NMIG_CAT_CONSTRAINT:
		if (!p)
			break;
		if (o->u.con.on_domain) {
			nmig_buf_printf(
			    d->out, "ALTER DOMAIN %s ADD CONSTRAINT %s %s;\n",
			    p->key, o->qname, o->u.con.def);
			break;
		}
		if (!o->u.con.local || o->u.con.from_parent)
			break; /* made by its parent table */
		nmig_buf_printf(d->out,
				"ALTER TABLE %s ADD CONSTRAINT %s %s;\n",
				p->key, o->qname, o->u.con.def);
		break;
	case NMIG_CAT_INDEX: {
		const struct nmig_cat_obj *pi;

		if (o->u.idx.of_constraint)
			break;
		put_stmt(d->out, o->u.idx.def);
		if (o->u.idx.attached && (pi = parent_index(cat, o)))
			nmig_buf_printf(d->out,
					"ALTER INDEX %s ATTACH PARTITION %s;\n",
					pi->key, o->key);
		if (o->u.idx.clustered && p)
			nmig_buf_printf(d->out,
					"ALTER TABLE %s CLUSTER ON %s;\n",
					p->key, o->qname);
		break;
	}
	case NMIG_CAT_TRIGGER:
		if (o->u.trg.from_parent || !p)
			break;
		put_stmt(d->out, o->u.trg.def);
		if (o->u.trg.enabled == 'D')
			nmig_buf_printf(d->out,
					"ALTER TABLE %s DISABLE TRIGGER %s;\n",
					p->key, o->qname);
		else if (o->u.trg.enabled == 'R' || o->u.trg.enabled == 'A')
			nmig_buf_printf(
			    d->out, "ALTER TABLE %s ENABLE %s TRIGGER %s;\n",
			    p->key,
			    o->u.trg.enabled == 'R' ? "REPLICA" : "ALWAYS",
			    o->qname);
		break;
	case NMIG_CAT_RULE:
		put_stmt(d->out, o->u.rule.def);
		break;
	case NMIG_CAT_POLICY: {
		const struct nmig_cat_policy *pol = &o->u.pol;

		if (!p)
			break;
		nmig_buf_printf(d->out,
				"CREATE POLICY %s ON %s AS %s FOR %s TO %s",
				o->qname, p->key,
				pol->permissive ? "PERMISSIVE" : "RESTRICTIVE",
				pol->cmd, pol->roles ? pol->roles : "public");
		if (pol->using_expr)
			nmig_buf_printf(d->out, " USING (%s)", pol->using_expr);
		if (pol->check_expr)
			nmig_buf_printf(d->out, " WITH CHECK (%s)",
					pol->check_expr);
		nmig_buf_puts(d->out, ";\n");
		break;
	}
	case NMIG_CAT_STATISTICS:
		put_stmt(d->out, o->u.stx.def);
		break;
	case NMIG_CAT_NKINDS:
		break;
	}
	if (d->out->len != before)
		nmig_buf_putc(d->out, '\n');
}

/* Each relation's columns in position order, for CREATE TABLE. */
static int group_columns(struct nmig_dumper *d)
{
	const struct nmig_catalog *cat = d->cat;
	size_t i;

	d->cols = calloc(cat->n + 1, sizeof(*d->cols));
	d->ncols = calloc(cat->n + 1, sizeof(*d->ncols));
	if (!d->cols || !d->ncols)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < cat->n; i++) {
		const struct nmig_cat_obj *o = &cat->objs[i];
		size_t p = o->parent, k;
		size_t *v;

		if (o->kind != NMIG_CAT_COLUMN || p == NMIG_CAT_NONE)
			continue;
		v = realloc(d->cols[p], (d->ncols[p] + 1) * sizeof(*v));
		if (!v)
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		d->cols[p] = v;
		/* insertion by position: tables have few columns */
		k = d->ncols[p]++;
		while (k > 0 &&
		       cat->objs[v[k - 1]].u.col.position > o->u.col.position) {
			v[k] = v[k - 1];
			k--;
		}
		v[k] = i;
	}
	return NMIG_OK;
}

int nmig_schema_dump(struct nmig_buf *out, const struct nmig_catalog *cat)
{
	struct nmig_dumper d;
	size_t *order = NULL, i;
	int err;

	memset(&d, 0, sizeof(d));
	d.cat = cat;
	d.out = out;
	nmig_buf_init(&d.tail);
	nmig_buf_init(&d.refused);
	if ((err = nmig_catalog_order(cat, &order)) ||
	    (err = group_columns(&d)))
		goto cleanup;
	nmig_buf_puts(out, "SET check_function_bodies = false;\n\n");
	for (i = 0; i < cat->n; i++)
		dump_object(&d, order[i]);
	for (i = 0; i < cat->n; i++) {
		const struct nmig_cat_obj *o = &cat->objs[i];

		if (!o->comment)
			continue;
		if (o->kind == NMIG_CAT_SEQUENCE && o->u.seq.owned_dep == 'i')
			continue;
		if (o->kind == NMIG_CAT_SCHEMA &&
		    strcmp(o->key, "public") == 0 &&
		    strcmp(o->comment, "standard public schema") == 0)
			continue; /* what every database has */
		nmig_buf_puts(&d.tail, "COMMENT ON ");
		nmig_cat_comment_target(&d.tail, cat, o);
		nmig_buf_puts(&d.tail, " IS ");
		nmig_sql_literal(&d.tail, o->comment);
		nmig_buf_puts(&d.tail, ";\n");
	}
	nmig_buf_put(out, d.tail.ptr, d.tail.len);
	if (d.nrefused) {
		err = nmig_error_set(NMIG_EINPUT,
				     "cannot dump %zu object%s of this schema",
				     d.nrefused, d.nrefused == 1 ? "" : "s");
		nmig_error_detail("%s%s", d.refused.ptr,
				  d.nrefused > 10 ? "\n..." : "");
		goto cleanup;
	}
	if (nmig_buf_oom(out) || nmig_buf_oom(&d.tail))
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
cleanup:
	if (d.cols)
		for (i = 0; i < cat->n; i++)
			free(d.cols[i]);
	free(d.cols);
	free(d.ncols);
	free(order);
	nmig_buf_release(&d.tail);
	nmig_buf_release(&d.refused);
	return err;
}

int nmig_dumper_new(struct nmig_dumper **out, const struct nmig_catalog *cat)
{
	struct nmig_dumper *d = calloc(1, sizeof(*d));
	int err;

	*out = NULL;
	if (!d)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	d->cat = cat;
	nmig_buf_init(&d->tail);
	nmig_buf_init(&d->refused);
	if ((err = group_columns(d))) {
		nmig_dumper_free(d);
		return err;
	}
	*out = d;
	return NMIG_OK;
}

void nmig_dumper_free(struct nmig_dumper *d)
{
	size_t i;

	if (!d)
		return;
	if (d->cols)
		for (i = 0; i < d->cat->n; i++)
			free(d->cols[i]);
	free(d->cols);
	free(d->ncols);
	nmig_buf_release(&d->tail);
	nmig_buf_release(&d->refused);
	free(d);
}

int nmig_dumper_create(struct nmig_dumper *d, size_t i, struct nmig_buf *out)
{
	size_t before = out->len;

	d->out = out;
	d->nrefused = 0;
	nmig_buf_clear(&d->refused);
	dump_object(d, i);
	nmig_buf_clear(&d->tail);
	/* dump_object ends each object with an empty line */
	if (out->len > before && out->ptr[out->len - 1] == '\n' &&
	    out->len - before >= 2 && out->ptr[out->len - 2] == '\n')
		out->ptr[--out->len] = '\0';
	if (d->nrefused) {
		out->len = before;
		if (out->ptr)
			out->ptr[before] = '\0';
		return nmig_error_set(NMIG_EINPUT, "cannot create %s",
				      d->refused.ptr);
	}
	return nmig_buf_oom(out) ? nmig_error_set(NMIG_ENOMEM, "out of memory")
				 : NMIG_OK;
}

void nmig_dumper_column(struct nmig_dumper *d, size_t i, struct nmig_buf *out)
{
	size_t before = out->len;

	d->out = out;
	put_column(d, &d->cat->objs[i], 0);
	/* put_column indents for CREATE TABLE */
	if (out->len >= before + 4 && memcmp(out->ptr + before, "    ", 4) == 0) {
		memmove(out->ptr + before, out->ptr + before + 4,
			out->len - before - 4 + 1);
		out->len -= 4;
	}
}
