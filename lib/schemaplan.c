/*
 * The schema planner (see schemaplan.h). A plan is made in four moves:
 * match the objects of a and b (keys, declared renames); decide for each
 * matched pair whether it is altered in place or dropped and created
 * again; close the set of dropped objects over what depends on them; then
 * write the statements in passes: renames, detaching defaults, drops in
 * reverse dependency order, creations and alterations in dependency order,
 * the drops that had to wait for an alteration, sequence ownership.
 */
#include "schemaplan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "schemadump.h"
#include "state.h"

#define NONE NMIG_CAT_NONE

/* Why an A object is dropped. */
enum drop_mark {
	KEEP = 0,
	DROP,	  /* removed, or dropped to be created again: SQL */
	IMPLICIT, /* goes with its table, constraint or column: no SQL */
};

struct planner {
	const struct nmig_catalog *a, *b;
	const struct nmig_plan_opts *o;
	struct nmig_schemaplan *p;
	struct nmig_dumper *dump; /* renders b's objects */
	size_t *a2b, *b2a;	  /* matches, NONE when unmatched */
	unsigned char *drop;	  /* per A object: enum drop_mark */
	unsigned char *replace;	  /* per A object: dropped, then created */
	unsigned char *alter;	  /* per A object: altered in place */
	unsigned char *deferred;  /* per A object: dropped at the end */
	unsigned char *detached;  /* per A column: default dropped first */
	unsigned char *typechg;	  /* per A column: its type changes */
	unsigned char *renamed;	  /* per A object: a declared rename */
	unsigned char *swap;	  /* per A enum: made again beside the old
				   * one, its columns moved over, the old
				   * dropped (values removed or reordered) */
	unsigned char *swapcol;	  /* per A column: moved to a swapped enum */
	unsigned char *create;	  /* per B object */
	unsigned char *stepof;	  /* per B object: step it is made in */
	size_t *ausers, *austart; /* A: who depends on each object (CSR) */
	struct nmig_buf t1, t2;	  /* scratch */
};

static void refuse(struct planner *pl, const struct nmig_cat_obj *o,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void refuse(struct planner *pl, const struct nmig_cat_obj *o,
		   const char *fmt, ...)
{
	struct nmig_schemaplan *p = pl->p;
	va_list ap;

	nmig_buf_printf(&p->refused, "%s %s: ", nmig_cat_kind_name(o), o->key);
	va_start(ap, fmt);
	nmig_buf_vprintf(&p->refused, fmt, ap);
	va_end(ap);
	nmig_buf_putc(&p->refused, '\n');
	p->nrefused++;
}

static void hazard(struct planner *pl, const char *what,
		   const struct nmig_cat_obj *o, const char *why)
{
	nmig_buf_printf(&pl->p->hazards, "%s %s %s: %s\n", what,
			nmig_cat_kind_name(o), o->key, why);
	pl->p->nhazards++;
}

/* Append one statement to a step. */
static void stmt(struct planner *pl, int step, const char *sql)
{
	struct nmig_buf *out = &pl->p->step[step];
	size_t len = strlen(sql);

	while (len && (sql[len - 1] == '\n' || sql[len - 1] == ' ' ||
		       sql[len - 1] == ';'))
		len--;
	nmig_buf_put(out, sql, len);
	nmig_buf_puts(out, ";\n");
	pl->p->nstmts[step]++;
}

/* printf into t1, then one statement. */
static void stmtf(struct planner *pl, int step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void stmtf(struct planner *pl, int step, const char *fmt, ...)
{
	va_list ap;

	nmig_buf_clear(&pl->t1);
	va_start(ap, fmt);
	nmig_buf_vprintf(&pl->t1, fmt, ap);
	va_end(ap);
	stmt(pl, step, pl->t1.ptr);
}

static const struct nmig_cat_obj *aobj(struct planner *pl, size_t i)
{
	return &pl->a->objs[i];
}

static const struct nmig_cat_obj *bobj(struct planner *pl, size_t i)
{
	return &pl->b->objs[i];
}

static const struct nmig_cat_obj *parent_of(const struct nmig_catalog *cat,
					    const struct nmig_cat_obj *o)
{
	return o->parent == NONE ? NULL : &cat->objs[o->parent];
}

/* A relation that holds rows: a table or a partitioned table. */
static int is_table(const struct nmig_cat_obj *o)
{
	return o && o->kind == NMIG_CAT_RELATION &&
	       (o->u.rel.relkind == 'r' || o->u.rel.relkind == 'p');
}

/* A column of a table (not of a view or a composite type). */
static int is_table_column(const struct nmig_catalog *cat,
			   const struct nmig_cat_obj *o)
{
	return o->kind == NMIG_CAT_COLUMN && is_table(parent_of(cat, o));
}

/* ---- matching ---- */

/* The rename declared for A object o, or NULL: the new unquoted name. */
static const char *declared_rename(struct planner *pl,
				   const struct nmig_cat_obj *o)
{
	size_t i, klen = strlen(o->key);

	if (o->kind != NMIG_CAT_RELATION && o->kind != NMIG_CAT_COLUMN)
		return NULL;
	for (i = 0; i < pl->o->nrenames; i++) {
		const char *r = pl->o->renames[i];
		const char *eq = strrchr(r, '=');

		if (eq && (size_t)(eq - r) == klen &&
		    strncmp(r, o->key, klen) == 0)
			return eq + 1;
	}
	return NULL;
}

/* The B object of kind under parent bp (or schema) named name. */
static size_t find_named(const struct nmig_catalog *b, enum nmig_cat_kind kind,
			 const char *schema, size_t bp, const char *name)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		const struct nmig_cat_obj *o = &b->objs[i];

		if (o->kind != kind || strcmp(o->name, name) != 0)
			continue;
		if (bp != NONE ? o->parent == bp
			       : strcmp(o->schema, schema) == 0)
			return i;
	}
	return NONE;
}

/* Match a's objects to b's: same kind and key, or through a rename. */
static int match(struct planner *pl)
{
	const struct nmig_catalog *a = pl->a, *b = pl->b;
	size_t i, k, used = 0;
	int err = NMIG_OK;

	for (i = 0; i < b->n; i++)
		pl->b2a[i] = NONE;
	/* renames first: tables, then columns (parents before children) */
	for (i = 0; i < a->n; i++) {
		const struct nmig_cat_obj *o = aobj(pl, i);
		const char *to = declared_rename(pl, o);
		size_t j, bp = NONE;

		pl->a2b[i] = NONE;
		if (!to)
			continue;
		used++;
		if (o->kind == NMIG_CAT_COLUMN) {
			size_t ap = o->parent;

			bp = ap == NONE ? NONE : pl->a2b[ap];
			if (bp == NONE) {
				const struct nmig_cat_obj *t =
				    parent_of(a, o);
				const struct nmig_cat_obj *bt =
				    t ? nmig_catalog_find(b, t->kind, t->key)
				      : NULL;

				bp = bt ? (size_t)(bt - b->objs) : NONE;
			}
			j = bp == NONE ? NONE
				       : find_named(b, o->kind, NULL, bp, to);
		} else {
			j = find_named(b, o->kind, o->schema, NONE, to);
		}
		if (j == NONE || pl->b2a[j] != NONE) {
			err = nmig_error_set(NMIG_EUSAGE,
					     "--rename %s=%s: the target "
					     "has no %s '%s' to rename it to",
					     o->key, to, nmig_cat_kind_name(o),
					     to);
			return err;
		}
		pl->a2b[i] = j;
		pl->b2a[j] = i;
		pl->renamed[i] = 1;
	}
	if (used < pl->o->nrenames) {
		for (k = 0; k < pl->o->nrenames; k++) {
			const char *r = pl->o->renames[k];
			const char *eq = strrchr(r, '=');
			int found = 0;

			for (i = 0; i < a->n && eq; i++)
				if (pl->renamed[i] &&
				    strlen(aobj(pl, i)->key) ==
					(size_t)(eq - r) &&
				    strncmp(r, aobj(pl, i)->key, eq - r) == 0)
					found = 1;
			if (!found) {
				nmig_error_set(NMIG_EUSAGE,
					       "--rename %s names no table or "
					       "column of the from state",
					       r);
				nmig_error_hint("write --rename "
						"schema.table=new_name or "
						"schema.table.column=new_name");
				return NMIG_EUSAGE;
			}
		}
	}
	for (i = 0; i < a->n; i++) {
		const struct nmig_cat_obj *o = aobj(pl, i), *m;
		const struct nmig_cat_obj *t = parent_of(a, o);

		if (pl->renamed[i])
			continue;
		m = NULL;
		if (t && pl->renamed[o->parent] &&
		    o->kind != NMIG_CAT_INDEX &&
		    o->kind != NMIG_CAT_STATISTICS &&
		    strncmp(o->key, t->key, strlen(t->key)) == 0) {
			/* a child keyed under a renamed table */
			const struct nmig_cat_obj *bt =
			    bobj(pl, pl->a2b[o->parent]);

			nmig_buf_clear(&pl->t1);
			nmig_buf_printf(&pl->t1, "%s%s", bt->key,
					o->key + strlen(t->key));
			m = nmig_catalog_find(b, o->kind, pl->t1.ptr);
		} else {
			m = nmig_catalog_find(b, o->kind, o->key);
		}
		if (m && pl->b2a[m - b->objs] == NONE) {
			pl->a2b[i] = (size_t)(m - b->objs);
			pl->b2a[m - b->objs] = i;
		}
	}
	return err;
}

/* ---- deciding: alike, altered in place, or created again ---- */

/* 1 when oa and ob are alike (comments left out when no_comment). */
static int alike(struct planner *pl, const struct nmig_cat_obj *oa,
		 const struct nmig_cat_obj *ob, int no_comment)
{
	struct nmig_cat_obj ca = *oa, cb = *ob;

	if (no_comment)
		ca.comment = cb.comment = NULL;
	nmig_buf_clear(&pl->t1);
	nmig_buf_clear(&pl->t2);
	nmig_cat_describe(&ca, NMIG_CAT_NO_COLUMN_ORDER, &pl->t1);
	nmig_cat_describe(&cb, NMIG_CAT_NO_COLUMN_ORDER, &pl->t2);
	return pl->t1.len == pl->t2.len &&
	       memcmp(pl->t1.ptr, pl->t2.ptr, pl->t1.len) == 0;
}

static int streq(const char *x, const char *y)
{
	return x == y || (x && y && strcmp(x, y) == 0);
}

/*
 * The next label of an enum's list ("'a', 'b'", quote_literal forms) from
 * *s: its literal text in *out, its length in *len; 0 at the end.
 */
static int next_label(const char **s, const char **out, size_t *len)
{
	const char *p = *s;
	int esc = 0;

	while (*p == ',' || *p == ' ')
		p++;
	if (!*p)
		return 0;
	*out = p;
	if (*p == 'E') {
		esc = 1;
		p++;
	}
	if (*p == '\'')
		p++;
	while (*p) {
		if (esc && *p == '\\' && p[1]) {
			p += 2;
			continue;
		}
		if (*p == '\'') {
			if (p[1] == '\'') {
				p += 2;
				continue;
			}
			p++;
			break;
		}
		p++;
	}
	*len = (size_t)(p - *out);
	*s = p;
	return 1;
}

/* 1 when every label of la is in lb, in the same order. */
static int labels_extend(const char *la, const char *lb)
{
	const char *x, *y;
	size_t nx, ny;

	la = la ? la : "";
	lb = lb ? lb : "";
	while (next_label(&la, &x, &nx)) {
		int found = 0;

		while (next_label(&lb, &y, &ny))
			if (nx == ny && memcmp(x, y, nx) == 0) {
				found = 1;
				break;
			}
		if (!found)
			return 0;
	}
	return 1;
}

/* 1 when every label of la is in lb, in any order. */
static int labels_subset(const char *la, const char *lb)
{
	const char *x, *y, *l;
	size_t nx, ny;

	la = la ? la : "";
	while (next_label(&la, &x, &nx)) {
		int found = 0;

		l = lb ? lb : "";
		while (!found && next_label(&l, &y, &ny))
			found = nx == ny && memcmp(x, y, nx) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* Known widenings of a column type: no value is lost. */
static int widens(const char *from, const char *to)
{
	static const char *const ints[] = {"smallint", "integer", "bigint"};
	int fi = -1, ti = -1, k;
	long fn, tn;

	for (k = 0; k < 3; k++) {
		if (strcmp(from, ints[k]) == 0)
			fi = k;
		if (strcmp(to, ints[k]) == 0)
			ti = k;
	}
	if (fi >= 0 && ti >= fi)
		return 1;
	if (fi >= 0 && strcmp(to, "numeric") == 0)
		return 1;
	if (strcmp(to, "text") == 0 &&
	    (strncmp(from, "character varying", 17) == 0 ||
	     strncmp(from, "character(", 10) == 0))
		return 1;
	if (strcmp(from, "character varying") != 0 &&
	    strncmp(from, "character varying(", 18) == 0) {
		if (strcmp(to, "character varying") == 0)
			return 1;
		if (strncmp(to, "character varying(", 18) == 0) {
			fn = strtol(from + 18, NULL, 10);
			tn = strtol(to + 18, NULL, 10);
			return tn >= fn;
		}
	}
	if (strcmp(from, "real") == 0 && strcmp(to, "double precision") == 0)
		return 1;
	if (strncmp(from, "numeric(", 8) == 0 && strcmp(to, "numeric") == 0)
		return 1;
	if (strcmp(from, "timestamp without time zone") == 0 &&
	    strcmp(to, "timestamp with time zone") == 0)
		return 1;
	return 0;
}

/* Whether a changed pair can be altered in place (1) or not (0). */
static int in_place(struct planner *pl, size_t i, const struct nmig_cat_obj *oa,
		    const struct nmig_cat_obj *ob)
{
	switch (oa->kind) {
	case NMIG_CAT_SCHEMA:
	case NMIG_CAT_EXTENSION:
	case NMIG_CAT_SEQUENCE:
		return 1;
	case NMIG_CAT_TYPE:
		if (oa->u.type.typtype != ob->u.type.typtype)
			return 0;
		if (oa->u.type.typtype == 'e')
			return labels_extend(oa->u.type.labels,
					     ob->u.type.labels);
		if (oa->u.type.typtype == 'd')
			return streq(oa->u.type.base, ob->u.type.base) &&
			       streq(oa->u.type.collation,
				     ob->u.type.collation);
		return alike(pl, oa, ob, 1);
	case NMIG_CAT_FUNCTION:
		return oa->u.func.prokind == ob->u.func.prokind &&
		       oa->u.func.prokind != 'a' &&
		       streq(oa->u.func.result, ob->u.func.result) &&
		       streq(oa->u.func.args, ob->u.func.args) &&
		       !oa->u.func.internal;
	case NMIG_CAT_RELATION:
		if (oa->u.rel.relkind != ob->u.rel.relkind)
			return 0;
		if (!is_table(oa))
			return alike(pl, oa, ob, 1);
		return streq(oa->u.rel.partkey, ob->u.rel.partkey) &&
		       streq(oa->u.rel.partbound, ob->u.rel.partbound) &&
		       streq(oa->u.rel.inherits, ob->u.rel.inherits) &&
		       oa->u.rel.partition == ob->u.rel.partition;
	case NMIG_CAT_COLUMN:
		if (!is_table_column(pl->a, oa))
			return alike(pl, oa, ob, 1);
		if (oa->u.col.generated != ob->u.col.generated ||
		    (oa->u.col.generated &&
		     !streq(oa->u.col.default_expr, ob->u.col.default_expr)))
			return 0;
		return oa->u.col.local == ob->u.col.local;
	case NMIG_CAT_CONSTRAINT:
		if (alike(pl, oa, ob, 1))
			return 1;
		/* NOT VALID to valid: VALIDATE CONSTRAINT */
		if (!oa->u.con.validated && ob->u.con.validated) {
			size_t lb = strlen(ob->u.con.def);

			return strncmp(oa->u.con.def, ob->u.con.def, lb) == 0 &&
			       strcmp(oa->u.con.def + lb, " NOT VALID") == 0;
		}
		return 0;
	case NMIG_CAT_INDEX:
		return streq(oa->u.idx.def, ob->u.idx.def) &&
		       oa->u.idx.valid == ob->u.idx.valid;
	case NMIG_CAT_TRIGGER:
		return streq(oa->u.trg.def, ob->u.trg.def);
	case NMIG_CAT_RULE:
	case NMIG_CAT_POLICY:
	case NMIG_CAT_STATISTICS:
		return alike(pl, oa, ob, 1);
	case NMIG_CAT_NKINDS:
		break;
	}
	(void)i;
	return 0;
}

/* Objects the planner leaves to PostgreSQL or to their owner. */
static int made_by_other(const struct nmig_cat_obj *o)
{
	switch (o->kind) {
	case NMIG_CAT_EXTENSION:
		return strcmp(o->key, "plpgsql") == 0;
	case NMIG_CAT_FUNCTION:
		return o->u.func.internal;
	case NMIG_CAT_SEQUENCE:
		return o->u.seq.owned_dep == 'i';
	case NMIG_CAT_INDEX:
		return o->u.idx.of_constraint;
	case NMIG_CAT_CONSTRAINT:
		return !o->u.con.on_domain &&
		       (!o->u.con.local || o->u.con.from_parent);
	case NMIG_CAT_TRIGGER:
		return o->u.trg.from_parent;
	default:
		return 0;
	}
}

/* The users of A object i: who depends on it (CSR lists). */
static int build_users(struct planner *pl)
{
	const struct nmig_catalog *a = pl->a;
	size_t i, k, n = 0;

	pl->austart = calloc(a->n + 2, sizeof(size_t));
	if (!pl->austart)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < a->n; i++)
		for (k = 0; k < a->objs[i].ndeps; k++) {
			pl->austart[a->objs[i].deps[k] + 1]++;
			n++;
		}
	for (i = 0; i < a->n; i++)
		pl->austart[i + 1] += pl->austart[i];
	pl->ausers = malloc((n + 1) * sizeof(size_t));
	if (!pl->ausers)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	{
		size_t *fill = calloc(a->n + 1, sizeof(size_t));

		if (!fill)
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		for (i = 0; i < a->n; i++)
			for (k = 0; k < a->objs[i].ndeps; k++) {
				size_t d = a->objs[i].deps[k];

				pl->ausers[pl->austart[d] + fill[d]++] = i;
			}
		free(fill);
	}
	return NMIG_OK;
}

/* The index behind a primary key, unique or exclusion constraint. */
static size_t constraint_index(const struct nmig_catalog *cat, size_t ci)
{
	const struct nmig_cat_obj *c = &cat->objs[ci];
	size_t i;

	if (c->parent == NONE || c->u.con.on_domain ||
	    !strchr("pux", c->u.con.contype))
		return NONE;
	for (i = 0; i < cat->n; i++) {
		const struct nmig_cat_obj *o = &cat->objs[i];

		if (o->kind == NMIG_CAT_INDEX && o->parent == c->parent &&
		    o->u.idx.of_constraint && strcmp(o->name, c->name) == 0)
			return i;
	}
	return NONE;
}

/*
 * Close the drops over what depends on them: a view on a dropped or
 * retyped column is dropped and made again, a column whose default uses a
 * dropped function loses the default first, ...
 */
static int close_drops(struct planner *pl)
{
	const struct nmig_catalog *a = pl->a;
	size_t n = a->n, *work = malloc((2 * n + 1) * sizeof(size_t));
	size_t top = 0, i, k;

	if (!work)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if (pl->drop[i] || pl->typechg[i] || pl->swap[i])
			work[top++] = i;
	while (top) {
		size_t x = work[--top];
		const struct nmig_cat_obj *ox = aobj(pl, x);
		int dropped = pl->drop[x] != KEEP;

		if (dropped && ox->kind == NMIG_CAT_CONSTRAINT) {
			size_t ix = constraint_index(a, x);

			if (ix != NONE && !pl->drop[ix]) {
				pl->drop[ix] = IMPLICIT;
				work[top++] = ix;
			}
		}
		/* a dropped object takes its children with it */
		if (dropped)
			for (i = 0; i < n; i++)
				if (a->objs[i].parent == x && !pl->drop[i]) {
					pl->drop[i] = IMPLICIT;
					work[top++] = i;
				}
		for (k = pl->austart[x]; k < pl->austart[x + 1]; k++) {
			size_t y = pl->ausers[k];
			const struct nmig_cat_obj *oy = aobj(pl, y);

			if (pl->drop[y])
				continue;
			if (oy->parent == x)
				continue; /* children: handled above */
			if (!dropped && ox->kind == NMIG_CAT_TYPE) {
				/* x is an enum made again: its columns move */
				if (is_table_column(a, oy)) {
					if (!pl->typechg[y]) {
						pl->typechg[y] = 1;
						pl->swapcol[y] = 1;
						pl->alter[y] = 1;
						work[top++] = y;
					}
					continue;
				}
				if (oy->kind == NMIG_CAT_COLUMN ||
				    oy->kind == NMIG_CAT_TYPE ||
				    oy->kind == NMIG_CAT_RELATION) {
					refuse(pl, oy,
					       "it uses the enum %s, whose values "
					       "are removed or reordered",
					       ox->key);
					continue;
				}
			} else if (!dropped) {
				/* x is a column whose type changes */
				if (oy->kind == NMIG_CAT_INDEX ||
				    oy->kind == NMIG_CAT_CONSTRAINT ||
				    oy->kind == NMIG_CAT_COLUMN ||
				    oy->kind == NMIG_CAT_STATISTICS)
					continue; /* rebuilt by the server */
			} else if (oy->kind == NMIG_CAT_COLUMN &&
				   is_table_column(a, oy)) {
				size_t bj = pl->a2b[y];
				const struct nmig_cat_obj *ob =
				    bj == NONE ? NULL : bobj(pl, bj);

				if (ox->kind == NMIG_CAT_TYPE ||
				    (ox->kind == NMIG_CAT_RELATION &&
				     ox->u.rel.relkind == 'c')) {
					if (ob && !streq(ob->u.col.type,
							 oy->u.col.type)) {
						/* retyped away: drop x last */
						pl->deferred[x] = 1;
						continue;
					}
					refuse(pl, oy,
					       "its type %s would have to be "
					       "dropped and made again; change "
					       "the column's type in a migration "
					       "of its own",
					       ox->key);
					continue;
				}
				if (oy->u.col.generated) {
					refuse(pl, oy,
					       "its generation expression uses "
					       "%s, which is dropped",
					       ox->key);
					continue;
				}
				if (oy->kind == NMIG_CAT_COLUMN &&
				    ox->kind == NMIG_CAT_COLUMN &&
				    oy->parent == ox->parent) {
					pl->drop[y] = DROP;
					work[top++] = y;
					continue;
				}
				pl->detached[y] = 1;
				continue;
			} else if (ox->kind == NMIG_CAT_SCHEMA) {
				continue; /* what it holds is removed too */
			} else if (is_table(oy)) {
				refuse(pl, oy, "it depends on %s, which is dropped",
				       ox->key);
				continue;
			}
			if (oy->kind == NMIG_CAT_SCHEMA ||
			    oy->kind == NMIG_CAT_EXTENSION)
				continue;
			pl->drop[y] = DROP;
			pl->replace[y] = pl->a2b[y] != NONE;
			work[top++] = y;
		}
	}
	free(work);
	return NMIG_OK;
}

/* A dropped object whose dependents are altered, not dropped, waits. */
static void propagate_deferred(struct planner *pl)
{
	const struct nmig_catalog *a = pl->a;
	int changed = 1;
	size_t i, k;

	while (changed) {
		changed = 0;
		for (i = 0; i < a->n; i++) {
			if (!pl->deferred[i])
				continue;
			for (k = 0; k < a->objs[i].ndeps; k++) {
				size_t d = a->objs[i].deps[k];

				if (pl->drop[d] && !pl->deferred[d]) {
					pl->deferred[d] = 1;
					changed = 1;
				}
			}
		}
	}
}

/* ---- writing statements ---- */

static const char *rel_word(const struct nmig_cat_obj *o)
{
	switch (o->u.rel.relkind) {
	case 'v':
		return "VIEW";
	case 'm':
		return "MATERIALIZED VIEW";
	case 'c':
		return "TYPE";
	case 'f':
		return "FOREIGN TABLE";
	default:
		return "TABLE";
	}
}

/* The key of A object i's parent as it is named once renames ran. */
static const char *a_parent_key(struct planner *pl, const struct nmig_cat_obj *o)
{
	const struct nmig_cat_obj *t = parent_of(pl->a, o);

	if (!t)
		return "";
	if (pl->renamed[o->parent])
		return bobj(pl, pl->a2b[o->parent])->key;
	return t->key;
}

/* 1 when an index may be built or dropped concurrently on its table. */
static int concurrent_ok(struct planner *pl, const struct nmig_cat_obj *t,
			 int existing)
{
	return !pl->o->unsafe_fast && existing && t &&
	       t->u.rel.relkind == 'r';
}

static void put_drop(struct planner *pl, size_t i)
{
	const struct nmig_cat_obj *o = aobj(pl, i);
	const struct nmig_cat_obj *t = parent_of(pl->a, o);
	const char *pk = a_parent_key(pl, o);

	switch (o->kind) {
	case NMIG_CAT_SCHEMA:
		if (strcmp(o->key, "public") != 0)
			stmtf(pl, NMIG_PLAN_MAIN, "DROP SCHEMA %s", o->key);
		break;
	case NMIG_CAT_EXTENSION:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP EXTENSION %s", o->key);
		break;
	case NMIG_CAT_TYPE:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP %s %s",
		      o->u.type.typtype == 'd' ? "DOMAIN" : "TYPE", o->key);
		break;
	case NMIG_CAT_SEQUENCE:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP SEQUENCE %s", o->key);
		break;
	case NMIG_CAT_FUNCTION:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP %s %s",
		      o->u.func.prokind == 'p'	 ? "PROCEDURE"
		      : o->u.func.prokind == 'a' ? "AGGREGATE"
						 : "FUNCTION",
		      o->key);
		break;
	case NMIG_CAT_RELATION:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP %s %s", rel_word(o), o->key);
		if (is_table(o))
			hazard(pl, "destructive:", o,
			       "the table is dropped with its rows");
		break;
	case NMIG_CAT_COLUMN:
		if (t && t->u.rel.relkind == 'c')
			stmtf(pl, NMIG_PLAN_MAIN, "ALTER TYPE %s DROP ATTRIBUTE %s",
			      pk, o->qname);
		else
			stmtf(pl, NMIG_PLAN_MAIN,
			      "ALTER TABLE %s DROP COLUMN %s", pk, o->qname);
		if (is_table_column(pl->a, o) && !o->u.col.generated)
			hazard(pl, "destructive:", o,
			       "the column is dropped with its values");
		break;
	case NMIG_CAT_CONSTRAINT:
		if (o->u.con.on_domain)
			stmtf(pl, NMIG_PLAN_MAIN,
			      "ALTER DOMAIN %s DROP CONSTRAINT %s", pk,
			      o->qname);
		else
			stmtf(pl, NMIG_PLAN_MAIN,
			      "ALTER TABLE %s DROP CONSTRAINT %s", pk,
			      o->qname);
		break;
	case NMIG_CAT_INDEX: {
		int conc = 0;
		size_t k;

		if (concurrent_ok(pl, t, 1)) {
			/* not when a column it uses goes in the main step */
			conc = 1;
			for (k = 0; k < o->ndeps; k++)
				if (pl->drop[o->deps[k]] ||
				    pl->typechg[o->deps[k]])
					conc = 0;
		}
		stmtf(pl, conc ? NMIG_PLAN_CONCURRENT : NMIG_PLAN_MAIN,
		      "DROP INDEX %s%s", conc ? "CONCURRENTLY IF EXISTS " : "",
		      o->key);
		break;
	}
	case NMIG_CAT_TRIGGER:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP TRIGGER %s ON %s", o->qname,
		      pk);
		break;
	case NMIG_CAT_RULE:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP RULE %s ON %s", o->qname, pk);
		break;
	case NMIG_CAT_POLICY:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP POLICY %s ON %s", o->qname,
		      pk);
		break;
	case NMIG_CAT_STATISTICS:
		stmtf(pl, NMIG_PLAN_MAIN, "DROP STATISTICS %s", o->key);
		break;
	case NMIG_CAT_NKINDS:
		break;
	}
}

/*
 * A foreign key of a dropped table on another dropped one: dropped first on
 * its own, so that the tables can go in any order (they may refer to each
 * other).
 */
static int is_outward_fk(struct planner *pl, size_t i)
{
	const struct nmig_cat_obj *o = aobj(pl, i);
	size_t k;

	if (o->kind != NMIG_CAT_CONSTRAINT || o->u.con.contype != 'f')
		return 0;
	for (k = 0; k < o->ndeps; k++) {
		const struct nmig_cat_obj *d = aobj(pl, o->deps[k]);

		if (o->deps[k] != o->parent && d->parent != o->parent &&
		    pl->drop[o->deps[k]])
			return 1;
	}
	return 0;
}

/* Whether A object i is dropped with SQL of its own. */
static int drops_itself(struct planner *pl, size_t i)
{
	const struct nmig_cat_obj *o = aobj(pl, i);

	if (pl->drop[i] != DROP || made_by_other(o))
		return 0;
	if (o->parent != NONE && pl->drop[o->parent])
		return is_outward_fk(pl, i);
	if (o->kind == NMIG_CAT_SEQUENCE && o->u.seq.owned_by) {
		/* an owned sequence goes with its column */
		const struct nmig_cat_obj *c = nmig_catalog_find(
		    pl->a, NMIG_CAT_COLUMN, o->u.seq.owned_by);

		if (c && pl->drop[c - pl->a->objs])
			return 0;
	}
	return 1;
}

static void put_comment(struct planner *pl, int step,
			const struct nmig_catalog *cat,
			const struct nmig_cat_obj *o, const char *text)
{
	nmig_buf_clear(&pl->t1);
	nmig_buf_puts(&pl->t1, "COMMENT ON ");
	nmig_cat_comment_target(&pl->t1, cat, o);
	nmig_buf_puts(&pl->t1, " IS ");
	if (text)
		nmig_sql_literal(&pl->t1, text);
	else
		nmig_buf_puts(&pl->t1, "NULL");
	stmt(pl, step, pl->t1.ptr);
}

/* The step an object made now goes in, given what it needs. */
static int step_after_deps(struct planner *pl, size_t j, int tx)
{
	const struct nmig_cat_obj *o = bobj(pl, j);
	int s = NMIG_PLAN_MAIN;
	size_t k;

	for (k = 0; k < o->ndeps; k++)
		if (pl->stepof[o->deps[k]] > s)
			s = pl->stepof[o->deps[k]];
	if (tx && s == NMIG_PLAN_CONCURRENT)
		s = NMIG_PLAN_VALIDATE;
	return s;
}

/* Whether B object j's table exists before the plan runs. */
static int on_existing_table(struct planner *pl, const struct nmig_cat_obj *o)
{
	const struct nmig_cat_obj *t = parent_of(pl->b, o);
	size_t tj;

	if (!t)
		return 0;
	tj = (size_t)(t - pl->b->objs);
	return !pl->create[tj];
}

/*
 * `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS ...` from
 * pg_get_indexdef's text: a step outside a transaction that fails half way
 * is run again, so each of its statements must be one that can be.
 */
static void concurrent_def(struct nmig_buf *out, const char *def)
{
	const char *at = strstr(def, "INDEX ");

	if (!at) {
		nmig_buf_puts(out, def);
		return;
	}
	nmig_buf_put(out, def, (size_t)(at - def) + 6);
	nmig_buf_puts(out, "CONCURRENTLY IF NOT EXISTS ");
	nmig_buf_puts(out, at + 6);
}

static int create_index(struct planner *pl, size_t j)
{
	const struct nmig_cat_obj *o = bobj(pl, j);
	const struct nmig_cat_obj *t = parent_of(pl->b, o);
	int s = step_after_deps(pl, j, 0);

	if (concurrent_ok(pl, t, on_existing_table(pl, o)) &&
	    s <= NMIG_PLAN_CONCURRENT && !o->u.idx.attached) {
		nmig_buf_clear(&pl->t2);
		concurrent_def(&pl->t2, o->u.idx.def);
		stmt(pl, NMIG_PLAN_CONCURRENT, pl->t2.ptr);
		pl->stepof[j] = NMIG_PLAN_CONCURRENT;
		if (o->u.idx.clustered)
			stmtf(pl, NMIG_PLAN_VALIDATE,
			      "ALTER TABLE %s CLUSTER ON %s", t->key, o->qname);
		if (o->comment)
			put_comment(pl, NMIG_PLAN_VALIDATE, pl->b, o,
				    o->comment);
		return NMIG_OK;
	}
	if (s == NMIG_PLAN_CONCURRENT)
		s = NMIG_PLAN_VALIDATE;
	pl->stepof[j] = (unsigned char)s;
	nmig_buf_clear(&pl->t2);
	{
		int err = nmig_dumper_create(pl->dump, j, &pl->t2);

		if (err)
			return err;
	}
	nmig_buf_put(&pl->p->step[s], pl->t2.ptr, pl->t2.len);
	pl->p->nstmts[s]++;
	if (o->comment)
		put_comment(pl, s, pl->b, o, o->comment);
	return NMIG_OK;
}

/* A constraint on a table that exists: the safe forms. */
static int create_constraint_safe(struct planner *pl, size_t j)
{
	const struct nmig_cat_obj *o = bobj(pl, j);
	const struct nmig_cat_obj *t = parent_of(pl->b, o);
	const struct nmig_cat_constraint *c = &o->u.con;
	int s = step_after_deps(pl, j, 1);

	if ((c->contype == 'u' || c->contype == 'p') &&
	    t->u.rel.relkind == 'r' && s == NMIG_PLAN_MAIN) {
		size_t ix = constraint_index(pl->b, j);

		if (ix != NONE && !c->deferrable) {
			const struct nmig_cat_obj *io = bobj(pl, ix);

			nmig_buf_clear(&pl->t2);
			concurrent_def(&pl->t2, io->u.idx.def);
			stmt(pl, NMIG_PLAN_CONCURRENT, pl->t2.ptr);
			stmtf(pl, NMIG_PLAN_VALIDATE,
			      "ALTER TABLE %s ADD CONSTRAINT %s %s USING "
			      "INDEX %s",
			      t->key, o->qname,
			      c->contype == 'p' ? "PRIMARY KEY" : "UNIQUE",
			      io->qname);
			pl->stepof[j] = pl->stepof[ix] = NMIG_PLAN_VALIDATE;
			if (o->comment)
				put_comment(pl, NMIG_PLAN_VALIDATE, pl->b, o,
					    o->comment);
			return NMIG_OK;
		}
	}
	if ((c->contype == 'f' || c->contype == 'c') && c->validated &&
	    s == NMIG_PLAN_MAIN) {
		stmtf(pl, NMIG_PLAN_MAIN,
		      "ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID", t->key,
		      o->qname, c->def);
		stmtf(pl, NMIG_PLAN_VALIDATE,
		      "ALTER TABLE %s VALIDATE CONSTRAINT %s", t->key,
		      o->qname);
		pl->stepof[j] = NMIG_PLAN_MAIN;
		if (o->comment)
			put_comment(pl, NMIG_PLAN_MAIN, pl->b, o, o->comment);
		return NMIG_OK;
	}
	return -1; /* the plain form */
}

static int create_obj(struct planner *pl, size_t j)
{
	const struct nmig_cat_obj *o = bobj(pl, j);
	int s, err;

	if (made_by_other(o))
		return NMIG_OK;
	if (o->kind == NMIG_CAT_INDEX)
		return create_index(pl, j);
	if (o->kind == NMIG_CAT_COLUMN) {
		const struct nmig_cat_obj *t = parent_of(pl->b, o);

		if (!on_existing_table(pl, o) ||
		    (!is_table(t) && t->u.rel.relkind != 'c')) {
			/* made with its table; its comment after */
			if (o->comment)
				put_comment(pl, pl->stepof[o->parent], pl->b,
					    o, o->comment);
			pl->stepof[j] = pl->stepof[o->parent];
			return NMIG_OK;
		}
		s = step_after_deps(pl, j, 1);
		nmig_buf_clear(&pl->t2);
		nmig_buf_printf(&pl->t2, "ALTER %s %s ADD %s ",
				t->u.rel.relkind == 'c' ? "TYPE" : "TABLE",
				t->key,
				t->u.rel.relkind == 'c' ? "ATTRIBUTE"
							: "COLUMN");
		if (t->u.rel.relkind == 'c')
			nmig_buf_printf(&pl->t2, "%s %s", o->qname,
					o->u.col.type);
		else
			nmig_dumper_column(pl->dump, j, &pl->t2);
		stmt(pl, s, pl->t2.ptr);
		pl->stepof[j] = (unsigned char)s;
		if (o->comment)
			put_comment(pl, s, pl->b, o, o->comment);
		return NMIG_OK;
	}
	if (o->kind == NMIG_CAT_CONSTRAINT && !o->u.con.on_domain &&
	    !pl->o->unsafe_fast && on_existing_table(pl, o)) {
		err = create_constraint_safe(pl, j);
		if (err >= 0)
			return err;
	}
	if (o->kind == NMIG_CAT_SCHEMA && strcmp(o->key, "public") == 0)
		return NMIG_OK;
	s = step_after_deps(pl, j, 1);
	pl->stepof[j] = (unsigned char)s;
	nmig_buf_clear(&pl->t2);
	if ((err = nmig_dumper_create(pl->dump, j, &pl->t2))) {
		refuse(pl, o, "%s", nmig_error_last()->message);
		return NMIG_OK;
	}
	if (pl->t2.len) {
		nmig_buf_put(&pl->p->step[s], pl->t2.ptr, pl->t2.len);
		pl->p->nstmts[s]++;
	}
	if (o->comment &&
	    !(o->kind == NMIG_CAT_SCHEMA && strcmp(o->key, "public") == 0))
		put_comment(pl, s, pl->b, o, o->comment);
	return NMIG_OK;
}

/* ---- altering in place ---- */

/* An identifier in double quotes (quotes doubled): always valid. */
static void put_ident(struct nmig_buf *out, const char *name)
{
	nmig_buf_putc(out, '"');
	for (; *name; name++) {
		if (*name == '"')
			nmig_buf_putc(out, '"');
		nmig_buf_putc(out, *name);
	}
	nmig_buf_putc(out, '"');
}

static void alter_column(struct planner *pl, size_t i, size_t j)
{
	const struct nmig_cat_obj *oa = aobj(pl, i), *ob = bobj(pl, j);
	const struct nmig_cat_column *ca = &oa->u.col, *cb = &ob->u.col;
	const struct nmig_cat_obj *t = parent_of(pl->b, ob);
	const char *tk = t->key, *c = ob->qname;
	int s = step_after_deps(pl, j, 1);
	int had_default = ca->default_expr && !pl->detached[i];

	pl->stepof[j] = (unsigned char)s;
	if (pl->swapcol[i]) {
		if (had_default) {
			stmtf(pl, s, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
			      tk, c);
			had_default = 0;
		}
		stmtf(pl, s,
		      "ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::text::%s",
		      tk, c, cb->type, c, cb->type);
		pl->p->ignore[s] |= NMIG_PLAN_IGNORE_TYPE;
	} else if (!streq(ca->type, cb->type) ||
		   !streq(ca->collation, cb->collation)) {
		if (had_default && !ca->generated) {
			stmtf(pl, s, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
			      tk, c);
			had_default = 0;
		}
		nmig_buf_clear(&pl->t2);
		nmig_buf_printf(&pl->t2, "ALTER TABLE %s ALTER COLUMN %s TYPE %s",
				tk, c, cb->type);
		if (cb->collation)
			nmig_buf_printf(&pl->t2, " COLLATE %s", cb->collation);
		if (!streq(ca->type, cb->type))
			nmig_buf_printf(&pl->t2, " USING %s::%s", c, cb->type);
		stmt(pl, s, pl->t2.ptr);
		pl->p->ignore[s] |= NMIG_PLAN_IGNORE_TYPE;
		if (!streq(ca->type, cb->type) && !widens(ca->type, cb->type))
			hazard(pl, "destructive:", ob,
			       "the type changes and values may be lost or "
			       "refused");
		else
			hazard(pl, "blocking:", ob,
			       "the type change takes an ACCESS EXCLUSIVE lock "
			       "(and rewrites the table unless the types are "
			       "binary coercible)");
	}
	if (ca->identity != cb->identity) {
		if (ca->identity && !cb->identity)
			stmtf(pl, s, "ALTER TABLE %s ALTER COLUMN %s DROP IDENTITY",
			      tk, c);
		else if (ca->identity)
			stmtf(pl, s,
			      "ALTER TABLE %s ALTER COLUMN %s SET GENERATED %s",
			      tk, c,
			      cb->identity == 'a' ? "ALWAYS" : "BY DEFAULT");
	}
	if (!ca->generated && !cb->generated &&
	    (!streq(ca->default_expr, cb->default_expr) || !had_default)) {
		if (cb->default_expr &&
		    (!had_default || !streq(ca->default_expr, cb->default_expr)))
			stmtf(pl, s, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
			      tk, c, cb->default_expr);
		else if (!cb->default_expr && had_default)
			stmtf(pl, s, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
			      tk, c);
	}
	if (!ca->identity && cb->identity) {
		const struct nmig_cat_obj *sq = NULL;
		size_t k;

		for (k = 0; k < pl->b->n; k++) {
			const struct nmig_cat_obj *x = bobj(pl, k);

			if (x->kind == NMIG_CAT_SEQUENCE &&
			    x->u.seq.owned_dep == 'i' &&
			    streq(x->u.seq.owned_by, ob->key))
				sq = x;
		}
		nmig_buf_clear(&pl->t2);
		nmig_buf_printf(&pl->t2,
				"ALTER TABLE %s ALTER COLUMN %s ADD GENERATED "
				"%s AS IDENTITY",
				tk, c,
				cb->identity == 'a' ? "ALWAYS" : "BY DEFAULT");
		if (sq) {
			nmig_buf_printf(&pl->t2, " (SEQUENCE NAME %s ", sq->key);
			nmig_dumper_seq_options(&pl->t2, sq);
			nmig_buf_putc(&pl->t2, ')');
		}
		stmt(pl, s, pl->t2.ptr);
	}
	if (ca->notnull && !cb->notnull)
		stmtf(pl, s, "ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", tk,
		      c);
	if (!ca->notnull && cb->notnull) {
		if (pl->o->unsafe_fast || cb->identity) {
			stmtf(pl, s, "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL",
			      tk, c);
		} else {
			/* a validated check lets SET NOT NULL skip its scan */
			char name[64];
			size_t lt = strlen(t->name), lc = strlen(ob->name);

			if (lt > 26)
				lt = 26;
			if (lc > 26)
				lc = 26;
			snprintf(name, sizeof(name), "%.*s_%.*s_not_null",
				 (int)lt, t->name, (int)lc, ob->name);
			nmig_buf_clear(&pl->t2);
			nmig_buf_printf(&pl->t2,
					"ALTER TABLE %s ADD CONSTRAINT ", tk);
			put_ident(&pl->t2, name);
			nmig_buf_printf(&pl->t2,
					" CHECK (%s IS NOT NULL) NOT VALID", c);
			stmt(pl, s, pl->t2.ptr);
			nmig_buf_clear(&pl->t2);
			nmig_buf_printf(&pl->t2,
					"ALTER TABLE %s VALIDATE CONSTRAINT ",
					tk);
			put_ident(&pl->t2, name);
			stmt(pl, NMIG_PLAN_VALIDATE, pl->t2.ptr);
			stmtf(pl, NMIG_PLAN_VALIDATE,
			      "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", tk,
			      c);
			nmig_buf_clear(&pl->t2);
			nmig_buf_printf(&pl->t2,
					"ALTER TABLE %s DROP CONSTRAINT ", tk);
			put_ident(&pl->t2, name);
			stmt(pl, NMIG_PLAN_VALIDATE, pl->t2.ptr);
		}
	}
}

static void alter_relation(struct planner *pl, size_t i, size_t j)
{
	const struct nmig_cat_obj *oa = aobj(pl, i), *ob = bobj(pl, j);
	const struct nmig_cat_relation *ra = &oa->u.rel, *rb = &ob->u.rel;
	const char *k = ob->key;

	if (ra->persistence != rb->persistence)
		stmtf(pl, NMIG_PLAN_MAIN, "ALTER TABLE %s SET %s", k,
		      rb->persistence == 'u' ? "UNLOGGED" : "LOGGED");
	if (!streq(ra->reloptions, rb->reloptions)) {
		if (ra->reloptions) {
			/* RESET takes the names: a=1, b=2 -> a, b */
			const char *p = ra->reloptions;

			nmig_buf_clear(&pl->t2);
			nmig_buf_printf(&pl->t2, "ALTER TABLE %s RESET (", k);
			while (*p) {
				size_t n = strcspn(p, "=");

				nmig_buf_put(&pl->t2, p, n);
				p += n;
				p += strcspn(p, ",");
				if (*p) {
					nmig_buf_puts(&pl->t2, ", ");
					p++;
					while (*p == ' ')
						p++;
				}
			}
			nmig_buf_putc(&pl->t2, ')');
			stmt(pl, NMIG_PLAN_MAIN, pl->t2.ptr);
		}
		if (rb->reloptions)
			stmtf(pl, NMIG_PLAN_MAIN, "ALTER TABLE %s SET (%s)", k,
			      rb->reloptions);
	}
	if (ra->rls != rb->rls)
		stmtf(pl, NMIG_PLAN_MAIN, "ALTER TABLE %s %s ROW LEVEL SECURITY",
		      k, rb->rls ? "ENABLE" : "DISABLE");
	if (ra->forced_rls != rb->forced_rls)
		stmtf(pl, NMIG_PLAN_MAIN, "ALTER TABLE %s %s ROW LEVEL SECURITY",
		      k, rb->forced_rls ? "FORCE" : "NO FORCE");
	if (ra->replident != rb->replident) {
		if (rb->replident == 'i')
			refuse(pl, ob, "replica identity USING INDEX is not "
				       "planned yet");
		else
			stmtf(pl, NMIG_PLAN_MAIN,
			      "ALTER TABLE %s REPLICA IDENTITY %s", k,
			      rb->replident == 'n'   ? "NOTHING"
			      : rb->replident == 'f' ? "FULL"
						     : "DEFAULT");
	}
}

/* The name an enum made again keeps its old self under until dropped. */
static void old_enum_name(struct nmig_buf *out, const struct nmig_cat_obj *o,
			  int qualified)
{
	char name[64];
	size_t len = strlen(o->name);

	if (qualified)
		nmig_buf_put(out, o->key, strlen(o->key) - strlen(o->qname));
	snprintf(name, sizeof(name), "%.*s__nmig_old",
		 (int)(len > 52 ? 52 : len), o->name);
	put_ident(out, name);
}

static void alter_type(struct planner *pl, size_t i, size_t j)
{
	const struct nmig_cat_obj *oa = aobj(pl, i), *ob = bobj(pl, j);
	const struct nmig_cat_type *ta = &oa->u.type, *tb = &ob->u.type;

	if (pl->swap[i]) {
		nmig_buf_clear(&pl->t2);
		nmig_buf_printf(&pl->t2, "ALTER TYPE %s RENAME TO ", oa->key);
		old_enum_name(&pl->t2, oa, 0);
		stmt(pl, NMIG_PLAN_MAIN, pl->t2.ptr);
		stmtf(pl, NMIG_PLAN_MAIN, "CREATE TYPE %s AS ENUM (%s)", ob->key,
		      tb->labels ? tb->labels : "");
		if (ob->comment)
			put_comment(pl, NMIG_PLAN_MAIN, pl->b, ob, ob->comment);
		if (!labels_subset(ta->labels, tb->labels))
			hazard(pl, "destructive:", ob,
			       "enum values are removed: rows holding them "
			       "make the migration fail");
		return;
	}

	if (ta->typtype == 'e' && !streq(ta->labels, tb->labels)) {
		const char *lb = tb->labels ? tb->labels : "", *x, *prev = NULL;
		size_t nx, nprev = 0;

		while (next_label(&lb, &x, &nx)) {
			const char *la = ta->labels ? ta->labels : "", *y;
			size_t ny;
			int found = 0;

			while (next_label(&la, &y, &ny))
				if (nx == ny && memcmp(x, y, nx) == 0)
					found = 1;
			if (!found) {
				nmig_buf_clear(&pl->t2);
				nmig_buf_printf(&pl->t2,
						"ALTER TYPE %s ADD VALUE %.*s",
						ob->key, (int)nx, x);
				if (prev)
					nmig_buf_printf(&pl->t2, " AFTER %.*s",
							(int)nprev, prev);
				else {
					/* first: before the current first */
					const char *l0 =
					    ta->labels ? ta->labels : "";
					const char *f;
					size_t nf;

					if (next_label(&l0, &f, &nf))
						nmig_buf_printf(&pl->t2,
								" BEFORE %.*s",
								(int)nf, f);
				}
				stmt(pl, NMIG_PLAN_MAIN, pl->t2.ptr);
			}
			prev = x;
			nprev = nx;
		}
	}
	if (ta->typtype == 'd') {
		if (!streq(ta->default_expr, tb->default_expr)) {
			if (tb->default_expr)
				stmtf(pl, NMIG_PLAN_MAIN,
				      "ALTER DOMAIN %s SET DEFAULT %s", ob->key,
				      tb->default_expr);
			else
				stmtf(pl, NMIG_PLAN_MAIN,
				      "ALTER DOMAIN %s DROP DEFAULT", ob->key);
		}
		if (ta->notnull != tb->notnull)
			stmtf(pl, NMIG_PLAN_MAIN, "ALTER DOMAIN %s %s NOT NULL",
			      ob->key, tb->notnull ? "SET" : "DROP");
	}
}

static void alter_sequence(struct planner *pl, size_t i, size_t j)
{
	const struct nmig_cat_obj *oa = aobj(pl, i), *ob = bobj(pl, j);
	struct nmig_cat_obj ca = *oa, cb = *ob;

	ca.comment = cb.comment = NULL;
	ca.u.seq.owned_by = cb.u.seq.owned_by = NULL;
	ca.u.seq.owned_dep = cb.u.seq.owned_dep = 0;
	if (alike(pl, &ca, &cb, 1))
		return;
	nmig_buf_clear(&pl->t2);
	nmig_buf_printf(&pl->t2, "ALTER SEQUENCE %s AS %s ", ob->key,
			ob->u.seq.type);
	nmig_dumper_seq_options(&pl->t2, ob);
	if (!ob->u.seq.cycle)
		nmig_buf_puts(&pl->t2, " NO CYCLE");
	stmt(pl, NMIG_PLAN_MAIN, pl->t2.ptr);
}

static int alter_obj(struct planner *pl, size_t i, size_t j)
{
	const struct nmig_cat_obj *oa = aobj(pl, i), *ob = bobj(pl, j);
	const struct nmig_cat_obj *t = parent_of(pl->b, ob);
	int s = NMIG_PLAN_MAIN;

	switch (ob->kind) {
	case NMIG_CAT_EXTENSION:
		if (!streq(oa->u.ext.version, ob->u.ext.version)) {
			nmig_buf_clear(&pl->t2);
			nmig_buf_printf(&pl->t2, "ALTER EXTENSION %s UPDATE TO ",
					ob->key);
			nmig_sql_literal(&pl->t2, ob->u.ext.version);
			stmt(pl, s, pl->t2.ptr);
		}
		if (!streq(oa->u.ext.schema, ob->u.ext.schema))
			stmtf(pl, s, "ALTER EXTENSION %s SET SCHEMA %s", ob->key,
			      ob->u.ext.schema);
		break;
	case NMIG_CAT_TYPE:
		alter_type(pl, i, j);
		break;
	case NMIG_CAT_SEQUENCE:
		alter_sequence(pl, i, j);
		break;
	case NMIG_CAT_FUNCTION:
		if (!streq(oa->u.func.def, ob->u.func.def))
			stmt(pl, s, ob->u.func.def);
		break;
	case NMIG_CAT_RELATION:
		if (is_table(ob))
			alter_relation(pl, i, j);
		break;
	case NMIG_CAT_COLUMN:
		if (is_table_column(pl->b, ob))
			alter_column(pl, i, j);
		s = pl->stepof[j];
		break;
	case NMIG_CAT_CONSTRAINT:
		if (!oa->u.con.validated && ob->u.con.validated)
			stmtf(pl, s, "ALTER TABLE %s VALIDATE CONSTRAINT %s",
			      t->key, ob->qname);
		break;
	case NMIG_CAT_INDEX:
		if (oa->u.idx.clustered != ob->u.idx.clustered && t) {
			if (ob->u.idx.clustered)
				stmtf(pl, s, "ALTER TABLE %s CLUSTER ON %s",
				      t->key, ob->qname);
			else
				stmtf(pl, s, "ALTER TABLE %s SET WITHOUT CLUSTER",
				      t->key);
		}
		break;
	case NMIG_CAT_TRIGGER:
		if (oa->u.trg.enabled != ob->u.trg.enabled && t) {
			char e = ob->u.trg.enabled;

			stmtf(pl, s, "ALTER TABLE %s %s TRIGGER %s", t->key,
			      e == 'D'	 ? "DISABLE"
			      : e == 'R' ? "ENABLE REPLICA"
			      : e == 'A' ? "ENABLE ALWAYS"
					 : "ENABLE",
			      ob->qname);
		}
		break;
	default:
		break;
	}
	if (!streq(oa->comment, ob->comment) && !made_by_other(ob))
		put_comment(pl, s, pl->b, ob, ob->comment);
	return NMIG_OK;
}

/* ---- the passes ---- */

static void put_renames(struct planner *pl)
{
	size_t i;

	for (i = 0; i < pl->a->n; i++) {
		const struct nmig_cat_obj *o = aobj(pl, i);
		const struct nmig_cat_obj *ob;

		if (!pl->renamed[i])
			continue;
		ob = bobj(pl, pl->a2b[i]);
		nmig_buf_printf(&pl->p->undo, "%s=%s\n", ob->key, o->name);
		pl->p->nundo++;
		if (o->kind == NMIG_CAT_RELATION)
			stmtf(pl, NMIG_PLAN_MAIN, "ALTER %s %s RENAME TO %s",
			      rel_word(o), o->key, ob->qname);
		else
			stmtf(pl, NMIG_PLAN_MAIN,
			      "ALTER TABLE %s RENAME COLUMN %s TO %s",
			      a_parent_key(pl, o), o->qname, ob->qname);
	}
}

/* Defaults that use what is dropped go first; so does OWNED BY. */
static void put_detach(struct planner *pl)
{
	size_t i;

	for (i = 0; i < pl->a->n; i++) {
		const struct nmig_cat_obj *o = aobj(pl, i);
		size_t j = pl->a2b[i];

		if (o->kind == NMIG_CAT_COLUMN && pl->detached[i] &&
		    !pl->drop[i] && o->u.col.default_expr)
			stmtf(pl, NMIG_PLAN_MAIN,
			      "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
			      a_parent_key(pl, o), o->qname);
		if (o->kind == NMIG_CAT_SEQUENCE && o->u.seq.owned_dep == 'a' &&
		    j != NONE && !pl->drop[i] &&
		    !streq(o->u.seq.owned_by, bobj(pl, j)->u.seq.owned_by))
			stmtf(pl, NMIG_PLAN_MAIN,
			      "ALTER SEQUENCE %s OWNED BY NONE", o->key);
	}
}

/* Sequences owned by a column once everything exists. */
static void put_owned_by(struct planner *pl)
{
	size_t j;

	for (j = 0; j < pl->b->n; j++) {
		const struct nmig_cat_obj *o = bobj(pl, j);
		size_t i = pl->b2a[j];
		const char *was;

		if (o->kind != NMIG_CAT_SEQUENCE || o->u.seq.owned_dep != 'a' ||
		    !o->u.seq.owned_by)
			continue;
		was = i != NONE && !pl->create[j] ? aobj(pl, i)->u.seq.owned_by
						  : NULL;
		if (!pl->create[j] && streq(was, o->u.seq.owned_by) &&
		    aobj(pl, i)->u.seq.owned_dep == 'a')
			continue;
		stmtf(pl, NMIG_PLAN_MAIN, "ALTER SEQUENCE %s OWNED BY %s",
		      o->key, o->u.seq.owned_by);
	}
}

struct colpos {
	size_t parent, idx;
	int position;
};

static int cmp_colpos(const void *x, const void *y)
{
	const struct colpos *a = x, *b = y;

	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	return (a->position > b->position) - (a->position < b->position);
}

/* cat's columns sorted by (relation, position): *out holds *n indexes. */
static int sorted_columns(const struct nmig_catalog *cat, size_t **out,
			  size_t *n)
{
	size_t j, m = 0, *v = malloc((cat->n + 1) * sizeof(size_t));
	struct colpos *cp = malloc((cat->n + 1) * sizeof(*cp));

	*out = NULL;
	*n = 0;
	if (!v || !cp) {
		free(v);
		free(cp);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	for (j = 0; j < cat->n; j++)
		if (cat->objs[j].kind == NMIG_CAT_COLUMN &&
		    cat->objs[j].parent != NONE) {
			cp[m].parent = cat->objs[j].parent;
			cp[m].idx = j;
			cp[m].position = cat->objs[j].u.col.position;
			m++;
		}
	qsort(cp, m, sizeof(*cp), cmp_colpos);
	for (j = 0; j < m; j++)
		v[j] = cp[j].idx;
	free(cp);
	*out = v;
	*n = m;
	return NMIG_OK;
}

/*
 * The columns a table ends with must be in b's order: the ones it keeps
 * in their order, then the added ones (ADD COLUMN appends).
 */
static int check_column_order(struct planner *pl)
{
	const struct nmig_catalog *b = pl->b;
	size_t *v, m, k = 0;
	int err;

	if (pl->o->flags & NMIG_CAT_NO_COLUMN_ORDER)
		return NMIG_OK;
	if ((err = sorted_columns(b, &v, &m)))
		return err;
	while (k < m) {
		size_t t = b->objs[v[k]].parent, q;
		int last_attnum = 0, added = 0;
		const struct nmig_cat_obj *bad = NULL;

		for (q = k; q < m && b->objs[v[q]].parent == t; q++) {
			const struct nmig_cat_obj *c = bobj(pl, v[q]);

			if (pl->create[t] || bad)
				continue;
			if (pl->create[v[q]]) {
				added = 1;
				continue;
			}
			if (added ||
			    aobj(pl, pl->b2a[v[q]])->u.col.attnum < last_attnum)
				bad = c;
			last_attnum = aobj(pl, pl->b2a[v[q]])->u.col.attnum;
		}
		if (bad && is_table(bobj(pl, t)))
			refuse(pl, bad,
			       "its position in %s cannot be reached: ADD "
			       "COLUMN appends at the end (declare a renamed "
			       "column with --rename, or compare with "
			       "--ignore-column-order)",
			       bobj(pl, t)->key);
		k = q;
	}
	free(v);
	return NMIG_OK;
}

/* Possible renames: a dropped and an added column of the same type. */
static void find_possible_renames(struct planner *pl)
{
	size_t i, j;

	for (i = 0; i < pl->a->n; i++) {
		const struct nmig_cat_obj *o = aobj(pl, i);

		if (pl->a2b[i] != NONE || !is_table_column(pl->a, o) ||
		    pl->drop[o->parent] ||
		    pl->a2b[o->parent] == NONE)
			continue;
		for (j = 0; j < pl->b->n; j++) {
			const struct nmig_cat_obj *c = bobj(pl, j);

			if (c->kind == NMIG_CAT_COLUMN && pl->b2a[j] == NONE &&
			    c->parent == pl->a2b[o->parent] &&
			    streq(c->u.col.type, o->u.col.type)) {
				nmig_buf_printf(&pl->p->renames,
						"%s may be renamed to %s: "
						"declare it with --rename "
						"%s=%s\n",
						o->key, c->name, o->key,
						c->qname);
				pl->p->npossible++;
				break;
			}
		}
	}
	for (i = 0; i < pl->a->n; i++) {
		const struct nmig_cat_obj *o = aobj(pl, i);

		if (pl->a2b[i] != NONE || !is_table(o))
			continue;
		for (j = 0; j < pl->b->n; j++) {
			const struct nmig_cat_obj *t = bobj(pl, j);

			if (is_table(t) && pl->b2a[j] == NONE &&
			    strcmp(t->schema, o->schema) == 0) {
				nmig_buf_printf(&pl->p->renames,
						"%s may be renamed to %s: "
						"declare it with --rename "
						"%s=%s\n",
						o->key, t->key, o->key,
						t->qname);
				pl->p->npossible++;
				break;
			}
		}
	}
}

/* Added columns of one table are made in their order. */
static int column_chain(struct planner *pl, size_t **out, size_t *nout)
{
	size_t *v, m, k, n = 0, *e;
	int err;

	*out = NULL;
	*nout = 0;
	if ((err = sorted_columns(pl->b, &v, &m)))
		return err;
	e = malloc((2 * m + 2) * sizeof(size_t));
	if (!e) {
		free(v);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	for (k = 1; k < m; k++) {
		size_t q;

		if (!pl->create[v[k]])
			continue;
		/* the previous added column of the same table */
		for (q = k; q-- > 0;) {
			if (pl->b->objs[v[q]].parent !=
			    pl->b->objs[v[k]].parent)
				break;
			if (pl->create[v[q]]) {
				e[2 * n] = v[k];
				e[2 * n + 1] = v[q];
				n++;
				break;
			}
		}
	}
	free(v);
	*out = e;
	*nout = n;
	return NMIG_OK;
}

static int alloc_marks(struct planner *pl)
{
	size_t na = pl->a->n + 1, nb = pl->b->n + 1;

	pl->a2b = malloc(na * sizeof(size_t));
	pl->b2a = malloc(nb * sizeof(size_t));
	pl->drop = calloc(na, 1);
	pl->replace = calloc(na, 1);
	pl->alter = calloc(na, 1);
	pl->deferred = calloc(na, 1);
	pl->detached = calloc(na, 1);
	pl->typechg = calloc(na, 1);
	pl->renamed = calloc(na, 1);
	pl->swap = calloc(na, 1);
	pl->swapcol = calloc(na, 1);
	pl->create = calloc(nb, 1);
	pl->stepof = calloc(nb, 1);
	if (!pl->a2b || !pl->b2a || !pl->drop || !pl->replace || !pl->alter ||
	    !pl->deferred || !pl->detached || !pl->typechg || !pl->renamed ||
	    !pl->swap || !pl->swapcol ||
	    !pl->create || !pl->stepof)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	return NMIG_OK;
}

static void free_marks(struct planner *pl)
{
	free(pl->a2b);
	free(pl->b2a);
	free(pl->drop);
	free(pl->replace);
	free(pl->alter);
	free(pl->deferred);
	free(pl->detached);
	free(pl->typechg);
	free(pl->renamed);
	free(pl->swap);
	free(pl->swapcol);
	free(pl->create);
	free(pl->stepof);
	free(pl->ausers);
	free(pl->austart);
	nmig_dumper_free(pl->dump);
	nmig_buf_release(&pl->t1);
	nmig_buf_release(&pl->t2);
}

/* Decide every pair: alike, in place, or dropped and made again. */
static void decide(struct planner *pl)
{
	size_t i;

	for (i = 0; i < pl->a->n; i++) {
		const struct nmig_cat_obj *oa = aobj(pl, i), *ob;
		size_t j = pl->a2b[i];

		if (j == NONE) {
			pl->drop[i] = DROP;
			continue;
		}
		ob = bobj(pl, j);
		if (alike(pl, oa, ob, 0) && !pl->renamed[i])
			continue;
		if (oa->kind == NMIG_CAT_COLUMN && !is_table_column(pl->a, oa) &&
		    !alike(pl, oa, ob, 1)) {
			/* a view's or a composite type's column: made with
			 * its relation, which is made again */
			pl->drop[oa->parent] = DROP;
			pl->replace[oa->parent] = 1;
			pl->drop[i] = IMPLICIT;
			continue;
		}
		if (oa->kind == NMIG_CAT_TYPE && oa->u.type.typtype == 'e' &&
		    ob->u.type.typtype == 'e' &&
		    !labels_extend(oa->u.type.labels, ob->u.type.labels)) {
			pl->swap[i] = 1;
			pl->alter[i] = 1;
			continue;
		}
		if (in_place(pl, i, oa, ob)) {
			pl->alter[i] = 1;
			if (oa->kind == NMIG_CAT_COLUMN &&
			    !streq(oa->u.col.type, ob->u.col.type))
				pl->typechg[i] = 1;
			continue;
		}
		if (pl->drop[i])
			continue; /* its relation is made again */
		pl->drop[i] = DROP;
		pl->replace[i] = 1;
	}
}

/*
 * The order drops are written in (backwards): a's dependency order, where
 * a table also needs what its children need (a trigger's function, an
 * index's operator class function), since dropping the table drops them;
 * foreign keys left out (they are dropped first on their own). Plain
 * order when that makes a cycle.
 */
static int drop_order(struct planner *pl, size_t **out)
{
	const struct nmig_catalog *a = pl->a;
	size_t i, k, n = 0, cap = 0, *e;
	int err;

	for (i = 0; i < a->n; i++)
		cap += a->objs[i].ndeps;
	e = malloc((2 * cap + 2) * sizeof(size_t));
	if (!e)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	for (i = 0; i < a->n; i++) {
		const struct nmig_cat_obj *o = &a->objs[i];
		size_t p = o->parent;

		if (p == NONE || is_outward_fk(pl, i) ||
		    (o->kind == NMIG_CAT_CONSTRAINT && o->u.con.contype == 'f'))
			continue;
		for (k = 0; k < o->ndeps; k++) {
			size_t d = o->deps[k];

			if (d == p || a->objs[d].parent == p || d == i)
				continue;
			e[2 * n] = p;
			e[2 * n + 1] = d;
			n++;
		}
	}
	err = nmig_catalog_order_extra(a, e, n, out);
	free(e);
	if (err == NMIG_ERROR)
		err = nmig_catalog_order(a, out);
	return err;
}

static int emit(struct planner *pl)
{
	size_t *aorder = NULL, *border = NULL, *chain = NULL, nchain, i;
	int err;

	if ((err = drop_order(pl, &aorder)) ||
	    (err = column_chain(pl, &chain, &nchain)) ||
	    (err = nmig_catalog_order_extra(pl->b, chain, nchain, &border)))
		goto cleanup;
	put_renames(pl);
	put_detach(pl);
	for (i = pl->a->n; i-- > 0;) {
		size_t x = aorder[i];

		if (!pl->deferred[x] && drops_itself(pl, x))
			put_drop(pl, x);
	}
	for (i = 0; i < pl->b->n && !err; i++) {
		size_t y = border[i], x = pl->b2a[y];

		if (pl->create[y])
			err = create_obj(pl, y);
		else if (x != NONE && pl->alter[x])
			err = alter_obj(pl, x, y);
		else if (x != NONE && pl->detached[x] &&
			 bobj(pl, y)->u.col.default_expr)
			stmtf(pl, NMIG_PLAN_MAIN,
			      "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
			      parent_of(pl->b, bobj(pl, y))->key,
			      bobj(pl, y)->qname,
			      bobj(pl, y)->u.col.default_expr);
	}
	for (i = pl->a->n; i-- > 0 && !err;) {
		size_t x = aorder[i];

		if (pl->deferred[x] && drops_itself(pl, x))
			put_drop(pl, x);
	}
	for (i = 0; i < pl->a->n; i++)
		if (pl->swap[i]) {
			nmig_buf_clear(&pl->t2);
			nmig_buf_puts(&pl->t2, "DROP TYPE ");
			old_enum_name(&pl->t2, aobj(pl, i), 1);
			stmt(pl, NMIG_PLAN_MAIN, pl->t2.ptr);
		}
	put_owned_by(pl);
cleanup:
	free(aorder);
	free(border);
	free(chain);
	return err;
}

void nmig_schemaplan_init(struct nmig_schemaplan *p)
{
	int s;

	memset(p, 0, sizeof(*p));
	for (s = 0; s < NMIG_PLAN_NSTEPS; s++)
		nmig_buf_init(&p->step[s]);
	nmig_buf_init(&p->hazards);
	nmig_buf_init(&p->refused);
	nmig_buf_init(&p->renames);
	nmig_buf_init(&p->undo);
}

void nmig_schemaplan_release(struct nmig_schemaplan *p)
{
	int s;

	for (s = 0; s < NMIG_PLAN_NSTEPS; s++)
		nmig_buf_release(&p->step[s]);
	nmig_buf_release(&p->hazards);
	nmig_buf_release(&p->refused);
	nmig_buf_release(&p->renames);
	nmig_buf_release(&p->undo);
}

int nmig_schemaplan_empty(const struct nmig_schemaplan *p)
{
	int s;

	for (s = 0; s < NMIG_PLAN_NSTEPS; s++)
		if (p->nstmts[s])
			return 0;
	return 1;
}

/* Empty the steps of a refused plan. */
static void clear_steps(struct nmig_schemaplan *p)
{
	int s;

	for (s = 0; s < NMIG_PLAN_NSTEPS; s++) {
		nmig_buf_clear(&p->step[s]);
		p->nstmts[s] = 0;
	}
}

int nmig_schemaplan_build(struct nmig_schemaplan *p,
			  const struct nmig_catalog *a,
			  const struct nmig_catalog *b,
			  const struct nmig_plan_opts *opts)
{
	struct nmig_plan_opts none;
	struct planner pl;
	size_t j;
	int err, s;

	nmig_schemaplan_init(p);
	memset(&none, 0, sizeof(none));
	memset(&pl, 0, sizeof(pl));
	pl.a = a;
	pl.b = b;
	pl.o = opts ? opts : &none;
	pl.p = p;
	nmig_buf_init(&pl.t1);
	nmig_buf_init(&pl.t2);
	if ((err = alloc_marks(&pl)) || (err = match(&pl)) ||
	    (err = build_users(&pl)) ||
	    (err = nmig_dumper_new(&pl.dump, b)))
		goto cleanup;
	decide(&pl);
	if ((err = close_drops(&pl)))
		goto cleanup;
	propagate_deferred(&pl);
	for (j = 0; j < b->n; j++) {
		size_t i = pl.b2a[j];

		pl.create[j] = i == NONE || pl.drop[i] != KEEP;
	}
	if ((err = check_column_order(&pl)))
		goto cleanup;
	find_possible_renames(&pl);
	if (!p->nrefused)
		err = emit(&pl);
	if (err)
		goto cleanup;
	for (s = 0; s < NMIG_PLAN_NSTEPS; s++)
		if (nmig_buf_oom(&p->step[s])) {
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
			goto cleanup;
		}
	if (!pl.o->allow_destructive && strstr(p->hazards.ptr, "destructive:")) {
		const char *h = p->hazards.ptr;

		while (*h) {
			const char *e = strchr(h, '\n');
			size_t len = e ? (size_t)(e - h) : strlen(h);

			if (strncmp(h, "destructive: ", 13) == 0) {
				nmig_buf_put(&p->refused, h + 13, len - 13);
				nmig_buf_puts(&p->refused,
					      " (allow it with "
					      "--allow-destructive)\n");
				p->nrefused++;
			}
			h += len + (e ? 1 : 0);
		}
	}
	if (p->nrefused) {
		clear_steps(p);
		err = nmig_error_set(NMIG_EINPUT,
				     "cannot plan the change: %zu object%s "
				     "refused",
				     p->nrefused, p->nrefused == 1 ? "" : "s");
	}
cleanup:
	free_marks(&pl);
	return err;
}
