/*
 * Schema fingerprints (see fingerprint.h): the catalog model (catalog.h)
 * rendered as one (kind, key, value) fact per object, the facts sorted so
 * that two fingerprints compare in one linear pass, a SHA-256 digest for
 * display, and a readable diff for when a roundtrip does not return the
 * schema it started from.
 */
#include "fingerprint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "error.h"

void nmig_fingerprint_sql(struct nmig_buf *out, const char *skip_schema,
			  const char *skip_table)
{
	nmig_catalog_sql(out, skip_schema, skip_table);
}

int nmig_fingerprint_add(struct nmig_fingerprint *fp, const char *kind,
			 const char *key, const char *val)
{
	struct nmig_fp_item *it;

	if (nmig_array_grow(&fp->items, &fp->cap, fp->n + 1, sizeof(*fp->items),
			    256))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	it = &fp->items[fp->n];
	it->kind = strdup(kind ? kind : "");
	it->key = strdup(key ? key : "");
	it->val = strdup(val ? val : "");
	if (!it->kind || !it->key || !it->val) {
		free(it->kind);
		free(it->key);
		free(it->val);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	fp->n++;
	return NMIG_OK;
}

/* Order of facts: kind, then key, then value, byte-wise. */
static int cmp_ident(const struct nmig_fp_item *a, const struct nmig_fp_item *b)
{
	int c = strcmp(a->kind, b->kind);

	return c ? c : strcmp(a->key, b->key);
}

static int cmp_item(const void *pa, const void *pb)
{
	const struct nmig_fp_item *a = pa, *b = pb;
	int c = cmp_ident(a, b);

	return c ? c : strcmp(a->val, b->val);
}

int nmig_fingerprint_finish(struct nmig_fingerprint *fp)
{
	struct nmig_buf all = NMIG_BUF_INIT;
	size_t i;

	if (fp->n)
		qsort(fp->items, fp->n, sizeof(*fp->items), cmp_item);
	for (i = 0; i < fp->n; i++) {
		const struct nmig_fp_item *it = &fp->items[i];

		/* lengths first, so no two lists can share a text */
		nmig_buf_printf(&all, "%zu:%zu:%zu:", strlen(it->kind),
				strlen(it->key), strlen(it->val));
		nmig_buf_puts(&all, it->kind);
		nmig_buf_puts(&all, it->key);
		nmig_buf_puts(&all, it->val);
	}
	if (nmig_buf_oom(&all)) {
		nmig_buf_release(&all);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	nmig_checksum(all.ptr, all.len, fp->digest);
	nmig_buf_release(&all);
	return NMIG_OK;
}

void nmig_fingerprint_release(struct nmig_fingerprint *fp)
{
	size_t i;

	for (i = 0; i < fp->n; i++) {
		free(fp->items[i].kind);
		free(fp->items[i].key);
		free(fp->items[i].val);
	}
	free(fp->items);
	memset(fp, 0, sizeof(*fp));
}

/* Words joined by spaces, NULLs left out (as SQL's concat_ws). */
struct words {
	struct nmig_buf *out;
	int any;
};

static void word(struct words *w, const char *prefix, const char *s,
		 const char *suffix)
{
	if (!s)
		return;
	if (w->any)
		nmig_buf_putc(w->out, ' ');
	w->any = 1;
	nmig_buf_puts(w->out, prefix);
	nmig_buf_puts(w->out, s);
	nmig_buf_puts(w->out, suffix);
}

static const char *rel_fact_kind(const struct nmig_cat_obj *o)
{
	switch (o->u.rel.relkind) {
	case 'f':
		return "foreign table";
	case 'v':
		return "view";
	case 'm':
		return "materialized view";
	case 'c':
		return "type";
	default:
		return "table";
	}
}

static const char *func_fact_kind(const struct nmig_cat_obj *o)
{
	switch (o->u.func.prokind) {
	case 'p':
		return "procedure";
	case 'a':
		return "aggregate";
	case 'w':
		return "window function";
	default:
		return "function";
	}
}

/*
 * The fact of object o into kind and val (val cleared first); kind NULL
 * when o has no fact of its own.
 */
static void render_fact(const struct nmig_cat_obj *o, unsigned flags,
			const char **kind, struct nmig_buf *val)
{
	struct words w = {val, 0};
	char num[32];

	nmig_buf_clear(val);
	*kind = NULL;
	switch (o->kind) {
	case NMIG_CAT_SCHEMA:
		*kind = "schema";
		break;
	case NMIG_CAT_EXTENSION:
		*kind = "extension";
		nmig_buf_printf(val, "version %s in %s", o->u.ext.version,
				o->u.ext.schema);
		break;
	case NMIG_CAT_RELATION: {
		const struct nmig_cat_relation *r = &o->u.rel;

		*kind = rel_fact_kind(o);
		if (r->relkind == 'p')
			word(&w, "partitioned by ",
			     r->partkey ? r->partkey : NULL, "");
		if (r->relkind == 'c')
			word(&w, "", "composite", "");
		if (r->persistence == 'u')
			word(&w, "", "unlogged", "");
		if (r->partition)
			word(&w, "partition ", r->partbound, "");
		word(&w, r->partition ? "of " : "inherits ", r->inherits, "");
		if (r->rls)
			word(&w, "", "row level security", "");
		if (r->forced_rls)
			word(&w, "", "forced", "");
		if (r->replident == 'n')
			word(&w, "", "replica identity nothing", "");
		else if (r->replident == 'f')
			word(&w, "", "replica identity full", "");
		else if (r->replident == 'i')
			word(&w, "", "replica identity index", "");
		word(&w, "with (", r->reloptions, ")");
		if (r->relkind == 'v' || r->relkind == 'm')
			word(&w, "as ", r->viewdef, "");
		break;
	}
	case NMIG_CAT_COLUMN: {
		const struct nmig_cat_column *c = &o->u.col;

		*kind = "column";
		if (!(flags & NMIG_FP_NO_COLUMN_ORDER)) {
			snprintf(num, sizeof(num), "%d", c->position);
			word(&w, "#", num, "");
		}
		word(&w, "", c->type, "");
		word(&w, "collate ", c->collation, "");
		if (c->notnull)
			word(&w, "", "not null", "");
		if (c->identity == 'a')
			word(&w, "", "generated always as identity", "");
		else if (c->identity == 'd')
			word(&w, "", "generated by default as identity", "");
		if (c->generated == 's')
			word(&w, "generated always as (", c->default_expr,
			     ") stored");
		else
			word(&w, "default ", c->default_expr, "");
		break;
	}
	case NMIG_CAT_CONSTRAINT:
		*kind = "constraint";
		nmig_buf_puts(val, o->u.con.def ? o->u.con.def : "");
		break;
	case NMIG_CAT_INDEX:
		*kind = "index";
		nmig_buf_puts(val, o->u.idx.def ? o->u.idx.def : "");
		if (!o->u.idx.valid)
			nmig_buf_puts(val, " (invalid)");
		if (o->u.idx.clustered)
			nmig_buf_puts(val, " (clustered)");
		break;
	case NMIG_CAT_SEQUENCE: {
		const struct nmig_cat_sequence *s = &o->u.seq;

		*kind = "sequence";
		word(&w, "", s->type, "");
		word(&w, "start ", s->start, "");
		word(&w, "increment ", s->increment, "");
		word(&w, "min ", s->min, "");
		word(&w, "max ", s->max, "");
		word(&w, "cache ", s->cache, "");
		if (s->cycle)
			word(&w, "", "cycle", "");
		word(&w, "owned by ", s->owned_by, "");
		break;
	}
	case NMIG_CAT_FUNCTION: {
		const struct nmig_cat_function *f = &o->u.func;

		*kind = func_fact_kind(o);
		if (f->prokind != 'a') {
			nmig_buf_puts(val, f->def ? f->def : "");
			break;
		}
		word(&w, "", "returns", "");
		word(&w, "", f->result, "");
		word(&w, "", "sfunc", "");
		word(&w, "", f->sfunc, "");
		word(&w, "", "stype", "");
		word(&w, "", f->stype, "");
		word(&w, "", "finalfunc", "");
		word(&w, "", f->finalfunc, "");
		word(&w, "", "initcond", "");
		word(&w, "", f->initcond, "");
		break;
	}
	case NMIG_CAT_TRIGGER:
		*kind = "trigger";
		nmig_buf_puts(val, o->u.trg.def ? o->u.trg.def : "");
		if (o->u.trg.enabled == 'D')
			nmig_buf_puts(val, " (disabled)");
		else if (o->u.trg.enabled == 'R')
			nmig_buf_puts(val, " (enabled replica)");
		else if (o->u.trg.enabled == 'A')
			nmig_buf_puts(val, " (enabled always)");
		break;
	case NMIG_CAT_RULE:
		*kind = "rule";
		nmig_buf_puts(val, o->u.rule.def ? o->u.rule.def : "");
		break;
	case NMIG_CAT_POLICY: {
		const struct nmig_cat_policy *p = &o->u.pol;

		*kind = "policy";
		word(&w, "", p->permissive ? "permissive" : "restrictive", "");
		word(&w, "", "for", "");
		word(&w, "", p->cmd, "");
		word(&w, "", "to", "");
		word(&w, "", p->roles, "");
		word(&w, "using (", p->using_expr, ")");
		word(&w, "with check (", p->check_expr, ")");
		break;
	}
	case NMIG_CAT_TYPE: {
		const struct nmig_cat_type *t = &o->u.type;

		*kind = "type";
		if (t->typtype == 'e') {
			if (t->labels)
				nmig_buf_printf(val, "enum (%s)", t->labels);
		} else if (t->typtype == 'd') {
			word(&w, "", "domain", "");
			word(&w, "", t->base, "");
			word(&w, "collate ", t->collation, "");
			if (t->notnull)
				word(&w, "", "not null", "");
			word(&w, "default ", t->default_expr, "");
		} else if (t->typtype == 'r') {
			if (t->subtype) {
				word(&w, "", "range of", "");
				word(&w, "", t->subtype, "");
				word(&w, "collate ", t->range_collation, "");
			}
		} else {
			nmig_buf_puts(val, "base type");
		}
		break;
	}
	case NMIG_CAT_STATISTICS:
	case NMIG_CAT_NKINDS:
		break; /* not part of the fingerprint */
	}
}

/* 1 when o's comment is one the fingerprint lists (relations, columns). */
static int fact_comment(const struct nmig_cat_obj *o)
{
	return o->comment &&
	       (o->kind == NMIG_CAT_RELATION || o->kind == NMIG_CAT_SEQUENCE ||
		o->kind == NMIG_CAT_COLUMN);
}

int nmig_fingerprint_render(struct nmig_fingerprint *out,
			    const struct nmig_catalog *cat, unsigned flags)
{
	struct nmig_buf val = NMIG_BUF_INIT;
	int err = NMIG_OK;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < cat->n && !err; i++) {
		const struct nmig_cat_obj *o = &cat->objs[i];
		const char *kind;

		render_fact(o, flags, &kind, &val);
		if (nmig_buf_oom(&val))
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		if (!err && kind)
			err = nmig_fingerprint_add(out, kind, o->key, val.ptr);
		if (!err && fact_comment(o))
			err = nmig_fingerprint_add(out, "comment", o->key,
						   o->comment);
	}
	if (!err)
		err = nmig_fingerprint_finish(out);
	nmig_buf_release(&val);
	return err;
}

int nmig_fingerprint_take(struct nmig_fingerprint *out, struct nmig_conn *c,
			  const char *skip_schema, const char *skip_table,
			  unsigned flags)
{
	struct nmig_catalog cat = NMIG_CATALOG_INIT;
	int err = nmig_catalog_read(&cat, c, skip_schema, skip_table);

	memset(out, 0, sizeof(*out));
	if (!err)
		err = nmig_fingerprint_render(out, &cat, flags);
	nmig_catalog_release(&cat);
	return err;
}

int nmig_fingerprint_equal(const struct nmig_fingerprint *a,
			   const struct nmig_fingerprint *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (cmp_item(&a->items[i], &b->items[i]) != 0)
			return 0;
	return 1;
}

size_t nmig_fingerprint_user_objects(const struct nmig_fingerprint *fp)
{
	size_t i, n = 0;

	for (i = 0; i < fp->n; i++) {
		const struct nmig_fp_item *it = &fp->items[i];

		if (strcmp(it->kind, "schema") == 0 &&
		    strcmp(it->key, "public") == 0)
			continue;
		if (strcmp(it->kind, "extension") == 0 &&
		    strcmp(it->key, "plpgsql") == 0)
			continue;
		if (strcmp(it->kind, "column") == 0)
			continue; /* its table counts */
		n++;
	}
	return n;
}

/* Longest value excerpt shown in a diff, in bytes. */
#define EXCERPT 160

/*
 * s with every run of white space folded to one space and the ends
 * trimmed (malloc'ed; NULL when out of memory).
 */
static char *fold_space(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	int space = 0;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
		    *s == '\f' || *s == '\v') {
			space = o != out;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = 0;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/*
 * Append the part of s (folded) around byte offset at: the whole text
 * when it is short, else up to EXCERPT bytes starting a little before
 * at, with "..." where text was cut. Cuts fall on UTF-8 boundaries.
 */
static void put_excerpt(struct nmig_buf *out, const char *s, size_t at)
{
	size_t len = strlen(s), from, to;

	if (len <= EXCERPT) {
		nmig_buf_puts(out, s);
		return;
	}
	from = at > EXCERPT / 3 ? at - EXCERPT / 3 : 0;
	while (from > 0 && ((unsigned char)s[from] & 0xC0) == 0x80)
		from--;
	to = from + EXCERPT < len ? from + EXCERPT : len;
	while (to < len && ((unsigned char)s[to] & 0xC0) == 0x80)
		to++;
	if (from > 0)
		nmig_buf_puts(out, "...");
	nmig_buf_put(out, s + from, to - from);
	if (to < len)
		nmig_buf_puts(out, "...");
}

/* Byte offset of the first difference of a and b, on a UTF-8 boundary. */
static size_t first_difference(const char *a, const char *b)
{
	size_t i = 0, start = 0;

	while (a[i] && a[i] == b[i]) {
		if (((unsigned char)a[i] & 0xC0) != 0x80)
			start = i;
		i++;
	}
	if (a[i] == '\0' && b[i] == '\0')
		return i;
	/* back to the start of the character that differs */
	return ((unsigned char)a[i] & 0xC0) == 0x80 ||
		       ((unsigned char)b[i] & 0xC0) == 0x80
		   ? start
		   : i;
}

struct differ {
	struct nmig_buf *out;
	size_t max_lines, lines, diffs, hidden;
};

/* Start a line of the diff; 0 when the limit is reached (not shown). */
static int diff_line(struct differ *d)
{
	if (d->max_lines && d->lines >= d->max_lines)
		return 0;
	d->lines++;
	return 1;
}

/* `- kind key: value` or `+ ...` for a fact on one side only. */
static void diff_one(struct differ *d, char sign, const struct nmig_fp_item *it)
{
	char *v;

	d->diffs++;
	if (!diff_line(d)) {
		d->hidden++;
		return;
	}
	nmig_buf_printf(d->out, "%c %s %s", sign, it->kind, it->key);
	v = fold_space(it->val);
	if (v && *v) {
		nmig_buf_puts(d->out, ": ");
		put_excerpt(d->out, v, 0);
	}
	nmig_buf_putc(d->out, '\n');
	free(v);
}

/*
 * Append s[from..to) with its white space made visible: a space as
 * U+00B7, tab, newline and carriage return as \t, \n, \r.
 */
static void put_visible(struct nmig_buf *out, const char *s, size_t from,
			size_t to)
{
	size_t i;

	for (i = from; i < to; i++) {
		switch (s[i]) {
		case ' ':
			nmig_buf_puts(out, "\xc2\xb7");
			break;
		case '\t':
			nmig_buf_puts(out, "\\t");
			break;
		case '\n':
			nmig_buf_puts(out, "\\n");
			break;
		case '\r':
			nmig_buf_puts(out, "\\r");
			break;
		default:
			nmig_buf_putc(out, s[i]);
		}
	}
}

/*
 * The two raw values of a fact that differ only in white space: cut at
 * the first difference, the white space shown (put_visible), so that the
 * two lines never look the same.
 */
static void diff_space(struct differ *d, const char *a, const char *b)
{
	size_t at = first_difference(a, b), side;

	for (side = 0; side < 2; side++) {
		const char *v = side ? b : a;
		size_t len = strlen(v), from, to;

		if (!diff_line(d))
			return;
		from = at > EXCERPT / 3 ? at - EXCERPT / 3 : 0;
		while (from > 0 && ((unsigned char)v[from] & 0xC0) == 0x80)
			from--;
		to = from + EXCERPT / 2 < len ? from + EXCERPT / 2 : len;
		while (to < len && ((unsigned char)v[to] & 0xC0) == 0x80)
			to++;
		nmig_buf_puts(d->out, side ? "    + " : "    - ");
		if (from > 0)
			nmig_buf_puts(d->out, "...");
		put_visible(d->out, v, from, to);
		if (to < len)
			nmig_buf_puts(d->out, "...");
		nmig_buf_putc(d->out, '\n');
	}
	if (diff_line(d))
		nmig_buf_puts(d->out,
			      "    (only white space differs: \xc2\xb7 is "
			      "a space)\n");
}

/* `~ kind key` and the two values for a fact that changed. */
static void diff_changed(struct differ *d, const struct nmig_fp_item *a,
			 const struct nmig_fp_item *b)
{
	char *va, *vb;
	size_t at;

	d->diffs++;
	if (!diff_line(d)) {
		d->hidden++;
		return;
	}
	nmig_buf_printf(d->out, "~ %s %s\n", a->kind, a->key);
	va = fold_space(a->val);
	vb = fold_space(b->val);
	if (!va || !vb) {
		free(va);
		free(vb);
		return;
	}
	if (strcmp(va, vb) == 0) {
		/* Equal once folded: the difference is white space. */
		diff_space(d, a->val, b->val);
		free(va);
		free(vb);
		return;
	}
	at = first_difference(va, vb);
	if (diff_line(d)) {
		nmig_buf_puts(d->out, "    - ");
		put_excerpt(d->out, va, at);
		nmig_buf_putc(d->out, '\n');
	}
	if (diff_line(d)) {
		nmig_buf_puts(d->out, "    + ");
		put_excerpt(d->out, vb, at);
		nmig_buf_putc(d->out, '\n');
	}
	free(va);
	free(vb);
}

size_t nmig_fingerprint_diff(const struct nmig_fingerprint *a,
			     const struct nmig_fingerprint *b,
			     struct nmig_buf *out, size_t max_lines)
{
	struct differ d = {out, max_lines, 0, 0, 0};
	size_t i = 0, j = 0;

	while (i < a->n || j < b->n) {
		int c;

		if (i == a->n) {
			diff_one(&d, '+', &b->items[j++]);
			continue;
		}
		if (j == b->n) {
			diff_one(&d, '-', &a->items[i++]);
			continue;
		}
		c = cmp_ident(&a->items[i], &b->items[j]);
		if (c < 0) {
			diff_one(&d, '-', &a->items[i++]);
		} else if (c > 0) {
			diff_one(&d, '+', &b->items[j++]);
		} else if (strcmp(a->items[i].val, b->items[j].val) == 0) {
			i++;
			j++;
		} else if ((i + 1 < a->n &&
			    cmp_ident(&a->items[i + 1], &a->items[i]) == 0) ||
			   (j + 1 < b->n &&
			    cmp_ident(&b->items[j + 1], &b->items[j]) == 0)) {
			/* the same name twice on a side: compare values */
			if (strcmp(a->items[i].val, b->items[j].val) < 0)
				diff_one(&d, '-', &a->items[i++]);
			else
				diff_one(&d, '+', &b->items[j++]);
		} else {
			diff_changed(&d, &a->items[i++], &b->items[j++]);
		}
	}
	if (d.hidden)
		nmig_buf_printf(out, "... and %zu more difference%s\n",
				d.hidden, d.hidden == 1 ? "" : "s");
	return d.diffs;
}
