/*
 * Lint state and findings: the objects a file creates and drops (for
 * down-does-not-undo and the "new table" exemptions), the per-file state,
 * lint-ignore, and reporting findings at file:line:col.
 */
#include "lint_internal.h"

#include "array_internal.h"

const char *const lint_obj_kind_names[] = {
    [OBJ_TABLE] = "table",	 [OBJ_INDEX] = "index",
    [OBJ_COLUMN] = "column",	 [OBJ_CONSTRAINT] = "constraint",
    [OBJ_TRIGGER] = "trigger",	 [OBJ_SEQUENCE] = "sequence",
    [OBJ_VIEW] = "view",	 [OBJ_MATVIEW] = "materialized view",
    [OBJ_TYPE] = "type",	 [OBJ_DOMAIN] = "domain",
    [OBJ_SCHEMA] = "schema",	 [OBJ_EXTENSION] = "extension",
    [OBJ_FUNCTION] = "function",
};

/* Free the objects of l and their names; l is left empty. */
void lint_objs_release(struct objs *l)
{
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].schema);
		free(l->v[i].name);
		free(l->v[i].table);
		for (j = 0; j < l->v[i].ncols; j++)
			free(l->v[i].cols[j]);
		free(l->v[i].cols);
	}
	free(l->v);
	free(l->bucket);
	memset(l, 0, sizeof(*l));
}

/* FNV-1a of a name. */
static size_t hash_name(const char *s)
{
	size_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* First object named name in l (newest first), as 1 + index, or 0. */
size_t lint_objs_first(const struct objs *l, const char *name)
{
	size_t k;

	if (!l->nbuckets)
		return 0;
	for (k = l->bucket[hash_name(name) & (l->nbuckets - 1)];
	     k && strcmp(l->v[k - 1].name, name) != 0; k = l->v[k - 1].next)
		;
	return k;
}

/* The next object after 1 + index k with the same name, or 0. */
size_t lint_objs_next(const struct objs *l, size_t k)
{
	const char *name = l->v[k - 1].name;

	for (k = l->v[k - 1].next; k && strcmp(l->v[k - 1].name, name) != 0;
	     k = l->v[k - 1].next)
		;
	return k;
}

/* Hash v[i] into its chain, doubling the buckets when they run out. */
static int objs_hash(struct objs *l, size_t i)
{
	size_t h, j;

	if (l->n + 1 > l->nbuckets) {
		size_t nb = l->nbuckets ? l->nbuckets * 2 : 64;
		size_t *b = calloc(nb, sizeof(*b));

		if (!b)
			return NMIG_ENOMEM;
		free(l->bucket);
		l->bucket = b;
		l->nbuckets = nb;
		for (j = 0; j < i; j++) {
			h = hash_name(l->v[j].name) & (nb - 1);
			l->v[j].next = b[h];
			b[h] = j + 1;
		}
	}
	h = hash_name(l->v[i].name) & (l->nbuckets - 1);
	l->v[i].next = l->bucket[h];
	l->bucket[h] = i + 1;
	return NMIG_OK;
}

/* The non-NULL form of a protobuf string (absent strings may be NULL). */
const char *lint_str(const char *s)
{
	return s ? s : "";
}

/* Record the first out-of-memory failure of the run. */
void lint_nomem(struct run *run)
{
	if (!run->err)
		run->err = nmig_error_set(NMIG_ENOMEM, "out of memory");
}

/* Whether a lint-ignore of the revision or of the file names rule. */
int lint_ignored(const struct file *f, int rule)
{
	size_t i;

	if (f->rev)
		for (i = 0; i < f->rev->nlint_ignore; i++)
			if (strcmp(f->rev->lint_ignore[i],
				   nmig_lint_rules()[rule].name) == 0)
				return 1;
	for (i = 0; i < f->nignores; i++)
		if (strcmp(f->ignores[i].name, nmig_lint_rules()[rule].name) ==
		    0)
			return 1;
	return 0;
}

/* Whether rule applies to this file in this run. */
int lint_rule_on(const struct file *f, int rule)
{
	const struct run *run = f->run;

	if (run->cfg->level[rule] == NMIG_LINT_OFF)
		return 0;
	if (!run->strict &&
	    !(nmig_lint_rules()[rule].flags & NMIG_LINT_HISTORY))
		return 0;
	if (f->is_down && (nmig_lint_rules()[rule].flags & NMIG_LINT_UP_ONLY))
		return 0;
	return !lint_ignored(f, rule);
}

/*
 * Append a finding of rule at file/line/col with the rule's fix as hint and
 * source as the source line (NULL: none). The caller checked the level.
 */
static void vadd_finding(struct run *run, int rule, const char *file, int line,
			 int col, const char *source, const char *fmt,
			 va_list ap)
{
	struct nmig_buf msg = NMIG_BUF_INIT;
	struct nmig_diag *d;
	enum nmig_severity sev = run->cfg->level[rule] == NMIG_LINT_ERROR
				     ? NMIG_SEV_ERROR
				     : NMIG_SEV_WARNING;

	nmig_buf_vprintf(&msg, fmt, ap);
	if (nmig_buf_oom(&msg)) {
		lint_nomem(run);
		goto cleanup;
	}
	d = nmig_diags_add(run->out, sev, NMIG_ERROR,
			   nmig_lint_rules()[rule].name, file, line, col, "%s",
			   msg.ptr);
	if (!d) {
		lint_nomem(run);
		goto cleanup;
	}
	if (source && !(nmig_lint_rules()[rule].flags & NMIG_LINT_SECRET))
		nmig_diag_set_source(d, source);
	nmig_diag_set_hint(d, "%s", nmig_lint_rules()[rule].fix);
cleanup:
	nmig_buf_release(&msg);
}

/* A finding without a source line (project rules). */

void lint_add_finding(struct run *run, int rule, const char *file, int line,
		      int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd_finding(run, rule, file, line, col, NULL, fmt, ap);
	va_end(ap);
}

/* Record the offsets of the file's line starts; 0 when out of memory. */
int lint_index_lines(struct file *f)
{
	const char *t = f->script->text;
	size_t len = f->script->len, n = 1, i;

	for (i = 0; i < len; i++)
		n += t[i] == '\n';
	f->lines = malloc(n * sizeof(*f->lines));
	if (!f->lines)
		return 0;
	f->lines[0] = 0;
	for (n = 1, i = 0; i < len; i++)
		if (t[i] == '\n')
			f->lines[n++] = i + 1;
	f->nlines = n;
	return 1;
}

/*
 * 1-based line and column (in UTF-8 characters, after a BOM on line 1) of
 * byte offset off, counted as nmig_text_linecol does, but in O(log lines +
 * line length) with the file's line index, so that many findings in a big
 * file cost no more than the file.
 */
void lint_linecol(struct file *f, size_t off, int *line, int *col)
{
	const char *t = f->script->text;
	size_t lo = 0, hi, mid, i, start;
	int c = 1;

	if (!f->lines && !lint_index_lines(f)) {
		nmig_text_linecol(t, f->script->len, off, line, col);
		return;
	}
	hi = f->nlines;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (f->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	start = f->lines[lo];
	if (lo == 0 && f->script->len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
		start = off < 3 ? off : 3;
	for (i = start; i < off; i++)
		if (((unsigned char)t[i] & 0xC0) != 0x80)
			c++;
	*line = (int)lo + 1;
	*col = c;
}

/*
 * Report rule at file offset off of the current file, when the rule is on.
 * with_source 0 leaves the source line out.
 */

void lint_report(struct file *f, int rule, size_t off, int with_source,
		 const char *fmt, ...)
{
	const struct nmig_script *s = f->script;
	int line = 0, col = 0;
	va_list ap;

	if (!lint_rule_on(f, rule))
		return;
	if (off > s->len)
		off = s->len;
	lint_linecol(f, off, &line, &col);
	va_start(ap, fmt);
	vadd_finding(f->run, rule, s->path, line, col,
		     !with_source ? NULL
		     : f->lines	  ? s->text + f->lines[line - 1]
				  : nmig_text_line_start(s->text, off),
		     fmt, ap);
	va_end(ap);
}

/* File offset of a node location in the current statement (or its start). */
size_t lint_at(const struct file *f, int32_t loc)
{
	if (loc < 0)
		return f->stmt_off;
	return f->base + (size_t)loc;
}

/*
 * First token at or after off, before end: skips blanks, `--` comments and
 * nested `/ * * /` comments.
 */
size_t lint_skip_space(const char *t, size_t off, size_t end)
{
	int depth;

	while (off < end) {
		if (isspace((unsigned char)t[off])) {
			off++;
		} else if (t[off] == '-' && off + 1 < end &&
			   t[off + 1] == '-') {
			while (off < end && t[off] != '\n')
				off++;
		} else if (t[off] == '/' && off + 1 < end &&
			   t[off + 1] == '*') {
			depth = 0;
			while (off < end) {
				if (t[off] == '/' && off + 1 < end &&
				    t[off + 1] == '*') {
					depth++;
					off += 2;
				} else if (t[off] == '*' && off + 1 < end &&
					   t[off + 1] == '/') {
					off += 2;
					if (--depth == 0)
						break;
				} else {
					off++;
				}
			}
		} else {
			break;
		}
	}
	return off;
}

/* Objects: recording and matching. */

char *lint_copy_str(struct run *run, const char *s)
{
	char *d = strdup(lint_str(s));

	if (!d)
		lint_nomem(run);
	return d;
}

/* Append an object; returns it, or NULL when out of memory. */
struct obj *lint_obj_add(struct file *f, struct objs *l, enum obj_kind kind,
			 const char *schema, const char *name,
			 const char *table, int undoable)
{
	struct obj *o;

	if (nmig_array_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v), 16)) {
		lint_nomem(f->run);
		return NULL;
	}
	o = &l->v[l->n];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->schema = lint_copy_str(f->run, schema);
	o->name = lint_copy_str(f->run, name);
	o->table = table ? lint_copy_str(f->run, table) : NULL;
	o->off = f->stmt_off;
	o->undoable = undoable;
	if (!o->schema || !o->name || (table && !o->table) ||
	    objs_hash(l, l->n) < 0) {
		free(o->schema);
		free(o->name);
		free(o->table);
		lint_nomem(f->run);
		return NULL;
	}
	l->n++;
	return o;
}

/* Equal names; schemas must agree only when both are given. */
int lint_same(const char *s1, const char *n1, const char *s2, const char *n2)
{
	if (strcmp(lint_str(n1), lint_str(n2)) != 0)
		return 0;
	return !*lint_str(s1) || !*lint_str(s2) || strcmp(s1, s2) == 0;
}

/* Whether the drop d removes the object o (directly or with its table). */
int lint_drops(const struct obj *d, const struct obj *o)
{
	size_t i;

	if (o->table) {
		if (d->kind == OBJ_TABLE &&
		    lint_same(d->schema, d->name, o->schema, o->table))
			return 1;
		if (d->kind == OBJ_COLUMN &&
		    (o->kind == OBJ_CONSTRAINT || o->kind == OBJ_INDEX) &&
		    lint_same(d->schema, d->table, o->schema, o->table))
			for (i = 0; i < o->ncols; i++)
				if (strcmp(o->cols[i], d->name) == 0)
					return 1;
		if (d->kind != o->kind)
			return 0;
		if (o->kind == OBJ_INDEX)
			return lint_same(d->schema, d->name, o->schema,
					 o->name);
		return lint_same(d->schema, d->table, o->schema, o->table) &&
		       strcmp(d->name, o->name) == 0;
	}
	return d->kind == o->kind &&
	       lint_same(d->schema, d->name, o->schema, o->name);
}

/* Whether a drop in l named name, at or after offset from, removes o. */
int lint_dropped_as(const struct objs *l, const char *name, const struct obj *o,
		    size_t from)
{
	size_t k;

	for (k = lint_objs_first(l, name); k; k = lint_objs_next(l, k))
		if (l->v[k - 1].off >= from && lint_drops(&l->v[k - 1], o))
			return 1;
	return 0;
}

/*
 * Whether a drop in l at or after offset from removes o: a drop of the
 * object itself, of its table, or (for a constraint) of one of its
 * columns -- each looked up by name.
 */
int lint_dropped_in(const struct objs *l, const struct obj *o, size_t from)
{
	size_t i;

	if (lint_dropped_as(l, o->name, o, from))
		return 1;
	if (o->table && lint_dropped_as(l, o->table, o, from))
		return 1;
	for (i = 0; i < o->ncols; i++)
		if (lint_dropped_as(l, o->cols[i], o, from))
			return 1;
	return 0;
}

/*
 * The first object of kind a or kind b called schema.name created earlier
 * in this file, or NULL.
 */
const struct obj *lint_created_obj(const struct file *f, const char *schema,
				   const char *name, enum obj_kind a,
				   enum obj_kind b)
{
	size_t k;

	for (k = lint_objs_first(&f->created, name); k;
	     k = lint_objs_next(&f->created, k)) {
		const struct obj *o = &f->created.v[k - 1];

		if ((o->kind == a || o->kind == b) &&
		    lint_same(o->schema, o->name, schema, name))
			return o;
	}
	return NULL;
}

/*
 * Whether the table schema.name was created earlier in this file (and not
 * dropped since): such a table is new, and the lock rules skip it.
 */
int lint_is_new_table(const struct file *f, const char *schema,
		      const char *name)
{
	const struct obj *o =
	    lint_created_obj(f, schema, name, OBJ_TABLE, OBJ_MATVIEW);

	return o && !lint_dropped_in(&f->dropped, o, o->off + 1);
}

/* Whether an index of this name was created earlier in this file. */
int lint_is_new_index(const struct file *f, const char *schema,
		      const char *name)
{
	return lint_created_obj(f, schema, name, OBJ_INDEX, OBJ_INDEX) != NULL;
}
