/*
 * The Sourcegraph reader: <id>_<name>/ directories with metadata.yaml read
 * as Sourcegraph's loader reads it, and the graph its parents make, put in
 * topological order.
 */
#include "import_internal.h"

/* ---- Sourcegraph ---- */

/* Copy a YAML scalar s[0..n) unquoted into a new string; NULL on error
 * (*bad set) or out of memory. */
static char *yaml_scalar(const char *s, size_t n, int *bad)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	size_t i;
	char q;

	*bad = 0;
	while (n && imp_is_space(s[n - 1]))
		n--;
	while (n && imp_is_space(*s)) {
		s++;
		n--;
	}
	if (!n || (s[0] != '"' && s[0] != '\''))
		return imp_dupn(s, n);
	q = s[0];
	if (n < 2 || s[n - 1] != q) {
		*bad = 1;
		return NULL;
	}
	for (i = 1; i + 1 < n; i++) {
		if (q == '\'' && s[i] == '\'' && s[i + 1] == '\'' &&
		    i + 2 < n) {
			nmig_buf_putc(&b, '\'');
			i++;
		} else if (q == '"' && s[i] == '\\' && i + 2 < n) {
			/* \" and \\ as themselves; \n, \t as a blank: the
			 * value becomes a one-line header */
			i++;
			nmig_buf_putc(&b,
				      s[i] == 'n' || s[i] == 't' ? ' ' : s[i]);
		} else if (s[i] == q) {
			nmig_buf_release(&b);
			*bad = 1;
			return NULL;
		} else {
			nmig_buf_putc(&b, s[i]);
		}
	}
	return nmig_buf_detach(&b, NULL);
}

/* Length of the value s[0..n) without a trailing ` # comment`. */
static size_t yaml_strip_comment(const char *s, size_t n)
{
	size_t i;
	char q = 0;

	for (i = 0; i < n; i++) {
		if (q) {
			if (s[i] == q)
				q = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			q = s[i];
		} else if (s[i] == '#' && (i == 0 || imp_is_space(s[i - 1]))) {
			return i;
		}
	}
	return n;
}

/* Append one parent id (text s[0..n)) to the item; 1, 0 or ENOMEM. */
static int sg_add_parent(struct reader *r, struct item *it, const char *s,
			 size_t n, const struct line *ln)
{
	char **p, *v, src[256];
	int bad;

	v = yaml_scalar(s, n, &bad);
	if (!v && !bad)
		return imp_oom();
	if (bad || !v[0] || imp_digits_len(v) != strlen(v)) {
		imp_fail(r, NMIG_EINPUT, it->meta, ln->no,
			 imp_line_text(ln, src, sizeof(src)),
			 "parents are the numeric ids of other migrations",
			 "parent '%.*s' is not a migration id", (int)n, s);
		free(v);
		return 0;
	}
	p = realloc(it->src_parents, (it->nsrc_parents + 1) * sizeof(*p));
	if (!p) {
		free(v);
		return imp_oom();
	}
	it->src_parents = p;
	p[it->nsrc_parents++] = v;
	return 1;
}

/* The flow list `[a, b]` in s[0..n); 1, 0 or NMIG_ENOMEM. */
static int sg_flow_list(struct reader *r, struct item *it, const char *s,
			size_t n, const struct line *ln)
{
	size_t i, start;
	int rc;
	char src[256];

	while (n && imp_is_space(s[n - 1]))
		n--;
	if (n < 2 || s[0] != '[' || s[n - 1] != ']') {
		imp_fail(r, NMIG_EINPUT, it->meta, ln->no,
			 imp_line_text(ln, src, sizeof(src)),
			 "write the parents as [id, ...] or as a '- id' list",
			 "cannot read the parents list");
		return 0;
	}
	s++;
	n -= 2;
	for (i = 0; i < n && imp_is_space(s[i]); i++)
		;
	if (i == n)
		return 1;
	for (start = 0, i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		rc = sg_add_parent(r, it, s + start, i - start, ln);
		if (rc <= 0)
			return rc;
		start = i + 1;
	}
	return 1;
}

/*
 * The keys Sourcegraph's loader reads from metadata.yaml (its payload
 * struct, internal/database/migration/definition/read.go; newer versions
 * add bestEffortTerminateBlockingTransactions). `parent` is the older
 * single-parent form, still read: its id is added to `parents`.
 * yaml.Unmarshal ignores every other key.
 */
static const char *const sg_keys[] = {
    "name",
    "parent",
    "parents",
    "createIndexConcurrently",
    "privileged",
    "nonIdempotent",
    "bestEffortTerminateBlockingTransactions",
    NULL,
};

/* A YAML 1.1 boolean as yaml.v2 reads it: 1, 0, or -1 for neither. */
static int yaml_bool(const char *v)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes",
					  "Yes",  "YES",  "y",	  "Y",
					  "on",	  "On",	  "ON",	  NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no",
					 "No",	  "NO",	   "n",	    "N",
					 "off",	  "Off",   "OFF",   NULL};
	size_t i;

	for (i = 0; yes[i]; i++)
		if (strcmp(v, yes[i]) == 0)
			return 1;
	for (i = 0; no[i]; i++)
		if (strcmp(v, no[i]) == 0)
			return 0;
	return -1;
}

/* Warn about a key Sourcegraph ignores, with the known key it may mean. */
static void sg_unknown_key(struct reader *r, const struct item *it, int line,
			   const char *k, size_t klen)
{
	char key[64];
	const char *near;

	snprintf(key, sizeof(key), "%.*s", (int)klen, k);
	near = nmig_key_suggest(key, sg_keys);
	if (near)
		imp_notef(r, NMIG_SEV_WARNING, it->meta, line,
			  "unknown key '%s'; did you mean '%s'? (ignored, as "
			  "Sourcegraph's loader ignores it)",
			  key, near);
	else
		imp_notef(r, NMIG_SEV_WARNING, it->meta, line,
			  "unknown key '%s' (ignored, as Sourcegraph's loader "
			  "ignores it)",
			  key);
}

/* `parent: <id>`: added to the parents, as Sourcegraph does (0 = none). */
static int sg_single_parent(struct reader *r, struct item *it, const char *p,
			    size_t vlen, const struct line *ln)
{
	size_t i;
	int rc;

	if (vlen == 1 && p[0] == '0')
		return 1;
	rc = sg_add_parent(r, it, p, vlen, ln);
	if (rc <= 0)
		return rc;
	/* also in `parents`: the same edge, kept once */
	for (i = 0; i + 1 < it->nsrc_parents; i++)
		if (strcmp(it->src_parents[i],
			   it->src_parents[it->nsrc_parents - 1]) == 0) {
			free(it->src_parents[--it->nsrc_parents]);
			break;
		}
	return 1;
}

/* `createIndexConcurrently: <bool>`; 1, 0 or NMIG_ENOMEM. */
static int sg_concurrent(struct reader *r, struct item *it, const char *p,
			 size_t vlen, const struct line *ln)
{
	char src[256], *v;
	int bad, b;

	v = yaml_scalar(p, vlen, &bad);
	if (!v && !bad)
		return imp_oom();
	b = v ? yaml_bool(v) : -1;
	free(v);
	if (b < 0) {
		imp_fail(r, NMIG_EINPUT, it->meta, ln->no,
			 imp_line_text(ln, src, sizeof(src)), NULL,
			 "'createIndexConcurrently' must be true or false");
		return 0;
	}
	if (b)
		it->rev.transactional = 0;
	return 1;
}

/*
 * One `key: value` line of metadata.yaml (k[0..klen), value p[0..vlen));
 * *in_list is set when a block list of parents follows, *skip when the
 * indented lines that follow belong to an ignored key. 1, 0 or ENOMEM.
 */
static int sg_key(struct reader *r, struct item *it, const struct line *ln,
		  const char *k, size_t klen, const char *p, size_t vlen,
		  int *in_list, int *skip, int *have_parents)
{
	char src[256], *v;
	int bad;

	if (klen == 7 && memcmp(k, "parents", 7) == 0) {
		if (*have_parents) {
			imp_fail(r, NMIG_EINPUT, it->meta, ln->no,
				 imp_line_text(ln, src, sizeof(src)), NULL,
				 "second 'parents' key");
			return 0;
		}
		*have_parents = 1;
		if (!it->parents_line)
			it->parents_line = ln->no;
		if (!vlen) {
			*in_list = 1;
			return 1;
		}
		return sg_flow_list(r, it, p, vlen, ln);
	}
	if (klen == 6 && memcmp(k, "parent", 6) == 0) {
		if (!it->parents_line)
			it->parents_line = ln->no;
		return sg_single_parent(r, it, p, vlen, ln);
	}
	if (klen == 4 && memcmp(k, "name", 4) == 0) {
		v = yaml_scalar(p, vlen, &bad);
		if (!v && !bad)
			return imp_oom();
		if (bad)
			return -2; /* an unreadable line */
		free(it->rev.message);
		it->rev.message = v;
		return 1;
	}
	if (klen == 23 && memcmp(k, "createIndexConcurrently", 23) == 0)
		return sg_concurrent(r, it, p, vlen, ln);
	/* privileged, nonIdempotent, bestEffortTerminate...: they change
	 * how Sourcegraph's runner behaves, not what runs */
	if ((klen == 10 && memcmp(k, "privileged", 10) == 0) ||
	    (klen == 13 && memcmp(k, "nonIdempotent", 13) == 0) ||
	    (klen == 39 &&
	     memcmp(k, "bestEffortTerminateBlockingTransactions", 39) == 0))
		return 1;
	sg_unknown_key(r, it, ln->no, k, klen);
	*skip = !vlen;
	return 1;
}

/*
 * metadata.yaml, the flat subset Sourcegraph writes, read as Sourcegraph
 * reads it: unknown keys (and what is nested under them) are ignored with a
 * warning, and a file with neither `parents` nor `parent` is a root. 1, 0
 * or NMIG_ENOMEM.
 */
static int sg_metadata(struct reader *r, struct item *it)
{
	struct line ln = {0};
	char *text = NULL, src[256];
	size_t len = 0, pos = 0, klen, vlen;
	const char *p, *e, *k;
	int rc, in_list = 0, skip = 0, have_parents = 0;

	rc = imp_read_source(r, it->meta, &text, &len);
	if (rc <= 0)
		return rc;
	it->rev.transactional = 1;
	while (imp_next_line(text, len, &pos, &ln)) {
		p = ln.p;
		e = ln.p + ln.len;
		while (p < e && imp_is_space(*p))
			p++;
		if (p == e || *p == '#' ||
		    (ln.no == 1 && (size_t)(e - p) == 3 &&
		     memcmp(p, "---", 3) == 0))
			continue;
		if (skip && (p != ln.p || *p == '-'))
			continue; /* nested under an ignored key */
		skip = 0;
		if (*p == '-' && (p + 1 == e || imp_is_space(p[1]))) {
			if (!in_list)
				goto bad_line;
			p++;
			rc = sg_add_parent(
			    r, it, p, yaml_strip_comment(p, (size_t)(e - p)),
			    &ln);
			if (rc <= 0)
				goto cleanup;
			continue;
		}
		in_list = 0;
		if (p != ln.p)
			goto bad_line;
		k = p;
		while (p < e && *p != ':' && !imp_is_space(*p))
			p++;
		klen = (size_t)(p - k);
		if (p == e || *p != ':' || !klen)
			goto bad_line;
		p++;
		vlen = yaml_strip_comment(p, (size_t)(e - p));
		while (vlen && imp_is_space(*p)) {
			p++;
			vlen--;
		}
		while (vlen && imp_is_space(p[vlen - 1]))
			vlen--;
		rc = sg_key(r, it, &ln, k, klen, p, vlen, &in_list, &skip,
			    &have_parents);
		if (rc == -2)
			goto bad_line;
		if (rc <= 0)
			goto cleanup;
	}
	/* the listed order is kept (Sourcegraph sorts the ids, which gives
	 * the same graph) */
	rc = 1;
	goto cleanup;
bad_line:
	imp_fail(r, NMIG_EINPUT, it->meta, ln.no,
		 imp_line_text(&ln, src, sizeof(src)),
		 "nmig reads the flat 'key: value' metadata Sourcegraph writes",
		 "cannot read this line");
	rc = 0;
cleanup:
	free(text);
	return rc;
}

/* Turn a Sourcegraph name into a file-name slug: [A-Za-z0-9] runs joined
 * by '_'. malloc'ed (may be empty); NULL when out of memory. */
static char *slugify(const char *s)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	int gap = 0;

	for (; *s; s++) {
		char c = imp_lower(*s);

		if (imp_is_digit(c) || (c >= 'a' && c <= 'z')) {
			if (gap && b.len)
				nmig_buf_putc(&b, '_');
			nmig_buf_putc(&b, c);
			gap = 0;
		} else {
			gap = 1;
		}
	}
	return nmig_buf_detach(&b, NULL);
}

/* One Sourcegraph migration directory. */
static int sg_one(struct reader *r, const char *name)
{
	size_t d = imp_digits_len(name);
	char *up = NULL, *down = NULL, *slug = NULL;
	struct item *it;
	int rc;

	it = imp_add_item(r, imp_join(r->src, name));
	if (!it)
		return imp_oom();
	it->meta = imp_join(it->origin, "metadata.yaml");
	up = imp_join(it->origin, "up.sql");
	down = imp_join(it->origin, "down.sql");
	it->order_key = imp_number_key(name, d);
	it->dup_key = imp_number_key(name, d);
	it->numeric = 1;
	if (!it->meta || !up || !down || !it->order_key || !it->dup_key) {
		rc = imp_oom();
		goto out;
	}
	if (imp_path_kind(it->meta) != 'f') {
		imp_fail(r, NMIG_EINPUT, it->origin, 0, NULL,
			 "every sourcegraph migration needs metadata.yaml with "
			 "its parents",
			 "migration directory has no 'metadata.yaml'");
		rc = 0;
		goto out;
	}
	rc = sg_metadata(r, it);
	if (rc <= 0)
		goto out;
	if (it->rev.message) {
		char *m;

		/* the header is one line */
		for (m = it->rev.message; *m; m++)
			if ((unsigned char)*m < ' ' || *m == 0x7f)
				*m = ' ';
		if (!it->rev.message[0]) {
			free(it->rev.message);
			it->rev.message = NULL;
		}
	}
	if (name[d] == '_') {
		rc = imp_set_names(r, it, name, d, name + d + 1,
				   strlen(name + d + 1));
	} else {
		slug = slugify(it->rev.message ? it->rev.message : "");
		if (!slug) {
			rc = imp_oom();
			goto out;
		}
		rc = imp_set_names(r, it, name, d, slug, strlen(slug));
	}
	if (rc <= 0)
		goto out;
	rc = imp_read_up_down(r, it, &up, &down, NULL);
	if (rc <= 0)
		goto out;
	rc = 1;
out:
	free(up);
	free(down);
	free(slug);
	if (rc <= 0)
		imp_drop_last_item(r);
	return rc < 0 ? rc : NMIG_OK;
}

/* Sourcegraph: every `<id>_<name>` directory is a migration; other
 * entries (squashed.sql) are warnings. */
int imp_read_sourcegraph(struct reader *r, const struct listing *ls)
{
	size_t i, d;
	const char *name;
	int rc;

	for (i = 0; i < ls->n; i++) {
		name = ls->items[i].name;
		d = imp_digits_len(name);
		if (ls->items[i].kind != 'd' || !d ||
		    (name[d] != '\0' && name[d] != '_')) {
			if (imp_ignore_entry(
				r, name,
				"not a sourcegraph migration directory "
				"(<id>_<name>/)"))
				return NMIG_ENOMEM;
			continue;
		}
		rc = sg_one(r, name);
		if (rc == NMIG_ENOMEM)
			return rc;
	}
	return NMIG_OK;
}

/* Map every item by its dup_key, its number_key (unique by then). */
static int idmap_build(struct nmig_hashmap *m, const struct item *items,
		       size_t n)
{
	size_t i;

	if (nmig_hashmap_reserve(m, n))
		return imp_oom();
	for (i = 0; i < n; i++)
		if (nmig_hashmap_put(m, items[i].dup_key, i, NULL) ==
		    NMIG_ENOMEM)
			return imp_oom();
	return NMIG_OK;
}

/* Index of the item whose number_key is that of id (digits), or -1. */
static long idmap_find(const struct nmig_hashmap *m, const char *id)
{
	char *key = imp_number_key(id, strlen(id));
	size_t at;
	long found;

	if (!key)
		return -2;
	found = nmig_hashmap_get(m, key, &at) ? (long)at : -1;
	free(key);
	return found;
}

/* A binary min-heap of item indexes by order. */
struct heap {
	size_t *v;
	size_t n;
	const struct item *items;
};

/* Whether the item at heap slot a comes before the one at slot b. */
static int heap_less(const struct heap *h, size_t a, size_t b)
{
	return imp_order_cmp(&h->items[h->v[a]], &h->items[h->v[b]]) < 0;
}

/* Add item index x (the heap has room for every item). */
static void heap_push(struct heap *h, size_t x)
{
	size_t i = h->n++, p, t;

	h->v[i] = x;
	while (i && heap_less(h, i, (p = (i - 1) / 2))) {
		t = h->v[i];
		h->v[i] = h->v[p];
		h->v[p] = t;
		i = p;
	}
}

/* Remove and return the first item index (the heap is not empty). */
static size_t heap_pop(struct heap *h)
{
	size_t top = h->v[0], i = 0, c, t;

	h->v[0] = h->v[--h->n];
	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_less(h, c + 1, c))
			c++;
		if (!heap_less(h, c, i))
			break;
		t = h->v[i];
		h->v[i] = h->v[c];
		h->v[c] = t;
		i = c;
	}
	return top;
}

/*
 * Sourcegraph's loader refuses a history with more than one root
 * ("multiple roots"): so does the import, naming them, without guessing
 * the parents they lack. 1 when there is one root (or none: a cycle,
 * reported later), else 0 after recording the error.
 */
static int sg_single_root(struct reader *r)
{
	struct nmig_buf ids = NMIG_BUF_INIT;
	const char *file = NULL;
	size_t i, k = 0;

	for (i = 0; i < r->n; i++) {
		if (r->items[i].nsrc_parents)
			continue;
		if (k == 1)
			file = r->items[i].meta;
		if (k++ < 20)
			nmig_buf_printf(&ids, "%s'%s'", k > 1 ? ", " : "",
					r->items[i].rev.id);
	}
	if (k > 20)
		nmig_buf_printf(&ids, " and %zu more", k - 20);
	if (k > 1)
		imp_fail(
		    r, NMIG_EGRAPH, file, 0, NULL,
		    "Sourcegraph's own loader refuses this history too "
		    "('multiple roots'); a metadata.yaml without 'parents' "
		    "or 'parent' makes a root (see the warnings about "
		    "unknown keys above)",
		    "%zu migrations have no parent: %s", k,
		    ids.oom ? "several" : ids.ptr);
	nmig_buf_release(&ids);
	return k <= 1;
}

/*
 * Resolve item i's `parents` ids to the ids of the items they name (into
 * its rev.parents), counting each edge in nkids[parent] and indeg[i]. A
 * parent that is no migration, the item itself, or one listed twice is
 * recorded as an error and left out. NMIG_OK or NMIG_ENOMEM.
 */
static int sg_resolve_parents(struct reader *r, const struct nmig_hashmap *map,
			      size_t i, size_t *nkids, size_t *indeg)
{
	struct item *it = &r->items[i];
	size_t j, k;
	long at;

	it->rev.parents =
	    calloc(it->nsrc_parents ? it->nsrc_parents : 1, sizeof(char *));
	if (!it->rev.parents)
		return imp_oom();
	for (j = 0; j < it->nsrc_parents; j++) {
		at = idmap_find(map, it->src_parents[j]);
		if (at == -2)
			return imp_oom();
		if (at < 0) {
			imp_fail(r, NMIG_EINPUT, it->meta, it->parents_line,
				 NULL,
				 "each parent must be the id of a migration "
				 "directory beside this one",
				 "parent '%s' is not a migration in '%s'",
				 it->src_parents[j], r->src);
			continue;
		}
		if ((size_t)at == i) {
			imp_fail(r, NMIG_EINPUT, it->meta, it->parents_line,
				 NULL, NULL,
				 "migration '%s' lists itself as a parent",
				 it->src_parents[j]);
			continue;
		}
		for (k = 0; k < it->rev.nparents; k++)
			if (strcmp(it->rev.parents[k], r->items[at].rev.id) ==
			    0)
				break;
		if (k < it->rev.nparents) {
			imp_fail(r, NMIG_EINPUT, it->meta, it->parents_line,
				 NULL, NULL, "parent '%s' is listed twice",
				 it->src_parents[j]);
			continue;
		}
		it->rev.parents[it->rev.nparents] = strdup(r->items[at].rev.id);
		if (!it->rev.parents[it->rev.nparents])
			return imp_oom();
		it->rev.nparents++;
		nkids[at]++;
		indeg[i]++;
	}
	return NMIG_OK;
}

/* kids[p]: the items that have p as a parent (nkids[p] of them). */
static int sg_children(struct reader *r, const struct nmig_hashmap *map,
		       size_t **kids, size_t *nkids)
{
	size_t i, j, n = r->n;
	long at;

	for (i = 0; i < n; i++) {
		kids[i] = malloc((nkids[i] ? nkids[i] : 1) * sizeof(**kids));
		if (!kids[i])
			return imp_oom();
		nkids[i] = 0;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < r->items[i].rev.nparents; j++) {
			at = idmap_find(map, r->items[i].rev.parents[j]);
			if (at == -2)
				return imp_oom();
			kids[at][nkids[at]++] = i;
		}
	return NMIG_OK;
}

/* The cycle left when the sort stops early: its members (indeg > 0). */
static void sg_report_cycle(struct reader *r, const size_t *indeg)
{
	struct nmig_buf ids = NMIG_BUF_INIT;
	const char *file = NULL;
	size_t i, k;

	for (i = 0, k = 0; i < r->n; i++) {
		if (!indeg[i])
			continue;
		if (!file)
			file = r->items[i].meta;
		if (k++ < 20)
			nmig_buf_printf(&ids, "%s'%s'", k > 1 ? ", " : "",
					r->items[i].rev.id);
	}
	if (k > 20)
		nmig_buf_printf(&ids, " and %zu more", k - 20);
	imp_fail(
	    r, NMIG_EGRAPH, file, 0, NULL,
	    "a migration cannot be its own ancestor: fix the parents lists",
	    "the parents lists make a cycle through %s",
	    ids.oom ? "several revisions" : ids.ptr);
	nmig_buf_release(&ids);
}

/*
 * Kahn's sort of the items into order (parents first, ties by id through
 * the heap); returns how many were placed (fewer than n: a cycle).
 */
static size_t sg_sort(struct reader *r, size_t **kids, const size_t *nkids,
		      size_t *indeg, struct heap *heap, size_t *order)
{
	size_t i, j, done = 0;

	for (i = 0; i < r->n; i++)
		if (!indeg[i])
			heap_push(heap, i);
	while (heap->n) {
		i = heap_pop(heap);
		order[done++] = i;
		for (j = 0; j < nkids[i]; j++)
			if (--indeg[kids[i][j]] == 0)
				heap_push(heap, kids[i][j]);
	}
	return done;
}

/*
 * Sourcegraph: resolve the `parents` lists to ids, then put the items in
 * topological order (parents first, ties by id, as nmig plans) so that a
 * cycle is found here, naming its members.
 */
int imp_order_sourcegraph(struct reader *r)
{
	struct nmig_hashmap map = NMIG_HASHMAP_INIT;
	struct heap heap = {0};
	size_t *indeg = NULL, *order = NULL, **kids = NULL, *nkids = NULL;
	size_t i, n = r->n;
	struct item *sorted = NULL;
	int rc;

	rc = idmap_build(&map, r->items, n);
	if (rc)
		goto cleanup;
	indeg = calloc(n, sizeof(*indeg));
	nkids = calloc(n, sizeof(*nkids));
	kids = calloc(n, sizeof(*kids));
	order = malloc(n * sizeof(*order));
	heap.v = malloc(n * sizeof(*heap.v));
	heap.items = r->items;
	if (!indeg || !nkids || !kids || !order || !heap.v) {
		rc = imp_oom();
		goto cleanup;
	}
	for (i = 0; i < n && !rc; i++)
		rc = sg_resolve_parents(r, &map, i, nkids, indeg);
	/* with errors recorded, the graph is incomplete: stop there */
	if (rc || r->first || !sg_single_root(r))
		goto cleanup;
	rc = sg_children(r, &map, kids, nkids);
	if (rc)
		goto cleanup;
	if (sg_sort(r, kids, nkids, indeg, &heap, order) < n) {
		sg_report_cycle(r, indeg);
		goto cleanup;
	}
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted) {
		rc = imp_oom();
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		sorted[i] = r->items[order[i]];
	free(r->items);
	r->items = sorted;
	r->cap = n;
cleanup:
	if (kids)
		for (i = 0; i < n; i++)
			free(kids[i]);
	free(kids);
	free(nkids);
	free(indeg);
	free(order);
	free(heap.v);
	nmig_hashmap_release(&map);
	return rc;
}
