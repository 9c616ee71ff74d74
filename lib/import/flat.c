/*
 * The golang-migrate reader and flat V<n>.<Name>.up.sql / .down.sql pairs.
 */
#include "import_internal.h"

/* ---- golang-migrate and flat V<n>.<Name> pairs ---- */

/*
 * Match `<digits>_<title>.up.sql` (golang-migrate) or
 * `V<digits>.<Name>.up.sql` (and .down.sql). 1 and h filled, or 0.
 */
int imp_flat_name(const char *name, struct half *h)
{
	size_t n = strlen(name), d;

	memset(h, 0, sizeof(*h));
	if (imp_ends_with(name, ".up.sql")) {
		h->kind = 'u';
		h->stem_len = n - 7;
	} else if (imp_ends_with(name, ".down.sql")) {
		h->kind = 'd';
		h->stem_len = n - 9;
	} else {
		return 0;
	}
	h->name = name;
	if (name[0] == 'V' && (d = imp_digits_len(name + 1)) > 0 &&
	    1 + d < h->stem_len && name[1 + d] == '.') {
		h->id = name;
		h->idlen = 1 + d;
		h->slug = name + 2 + d;
		h->slen = h->stem_len - 2 - d;
		return 1;
	}
	d = imp_digits_len(name);
	if (d > 0 && d < h->stem_len && name[d] == '_') {
		h->id = name;
		h->idlen = d;
		h->slug = name + d + 1;
		h->slen = h->stem_len - d - 1;
		return 1;
	}
	return 0;
}

/* qsort order of flat files: by version number, up before down, then
 * by name. */
static int half_cmp(const void *a, const void *b)
{
	const struct half *x = a, *y = b;
	int c = imp_number_cmp(x->num, y->num);

	if (c)
		return c;
	if (x->kind != y->kind)
		return x->kind == 'u' ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Whether text needs `transaction off` to run as golang-migrate ran it
 * (as it stands, no transaction added): transaction control or a
 * statement that cannot run in a transaction block. 1, 0 or NMIG_ENOMEM.
 */
static int flat_needs_no_tx(struct reader *r, const char *path,
			    const char *text, size_t len)
{
	struct nmig_script sc;
	size_t i;
	int rc, found = 0;

	memset(&sc, 0, sizeof(sc));
	rc = nmig_script_from_text(&sc, path, text, len);
	if (rc == NMIG_ENOMEM)
		return rc;
	if (rc) {
		imp_notef(r, NMIG_SEV_WARNING, path, nmig_error_last()->line,
			  "could not scan for transaction control (%s); "
			  "imported as transactional",
			  nmig_error_last()->message);
		nmig_script_release(&sc);
		return 0;
	}
	for (i = 0; i < sc.n && !found; i++) {
		const struct nmig_stmt *st = &sc.stmts[i];
		const char *what = st->what ? st->what : st->kind;

		if (st->flags & NMIG_STMT_TXCONTROL) {
			imp_notef(r, NMIG_SEV_NOTE, path, st->line,
				  "the file controls its own transaction (%s): "
				  "imported with '-- nmig:transaction off'",
				  what ? what : "a transaction statement");
			found = 1;
		} else if (st->flags & NMIG_STMT_NO_TX) {
			imp_notef(
			    r, NMIG_SEV_NOTE, path, st->line,
			    "%s cannot run in a transaction block: imported "
			    "with '-- nmig:transaction off'",
			    what ? what : "a statement");
			found = 1;
		}
	}
	nmig_script_release(&sc);
	return found;
}

/* Make the item of one version from its up half and optional down. */
static int flat_one(struct reader *r, const struct half *up,
		    const struct half *down)
{
	struct item *it;
	int rc, a, b;

	it = imp_add_item(r, imp_join(r->src, up->name));
	if (!it)
		return imp_oom();
	rc = imp_set_names(r, it, up->id, up->idlen, up->slug, up->slen);
	if (rc <= 0)
		goto out;
	it->order_key = strdup(up->num);
	it->dup_key = strdup(up->num);
	it->numeric = 1;
	it->rev.up_source = strdup(it->origin);
	if (down)
		it->rev.down_source = imp_join(r->src, down->name);
	if (!it->order_key || !it->dup_key || !it->rev.up_source ||
	    (down && !it->rev.down_source)) {
		rc = imp_oom();
		goto out;
	}
	rc =
	    imp_read_source(r, it->rev.up_source, &it->up_sql, &it->up_sql_len);
	if (rc <= 0)
		goto out;
	if (!imp_check_not_nmig(r, it->rev.up_source, it->up_sql,
				it->up_sql_len)) {
		rc = 0;
		goto out;
	}
	if (down) {
		rc = imp_read_source(r, it->rev.down_source, &it->down_sql,
				     &it->down_sql_len);
		if (rc <= 0)
			goto out;
	}
	a = flat_needs_no_tx(r, it->rev.up_source, it->up_sql, it->up_sql_len);
	b = a == 0 && down ? flat_needs_no_tx(r, it->rev.down_source,
					      it->down_sql, it->down_sql_len)
			   : 0;
	if (a < 0 || b < 0) {
		rc = NMIG_ENOMEM;
		goto out;
	}
	it->rev.transactional = !(a || b);
	rc = 1;
out:
	if (rc <= 0)
		imp_drop_last_item(r);
	return rc < 0 ? rc : NMIG_OK;
}

/* Pair the halves of one version (h[0..n), up first) into a revision. */
static int flat_group(struct reader *r, const struct half *h, size_t n)
{
	const struct half *up = NULL, *down = NULL;
	char *path;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct half *x = &h[i];
		const struct half **slot = x->kind == 'u' ? &up : &down;

		if (*slot || (x->kind == 'd' && up &&
			      (up->stem_len != x->stem_len ||
			       memcmp(up->name, x->name, x->stem_len) != 0))) {
			const struct half *other = *slot ? *slot : up;

			path = imp_join(r->src, x->name);
			if (!path)
				return imp_oom();
			imp_fail(r, NMIG_EINPUT, path, 0, NULL,
				 "give each migration its own version",
				 "version %.*s is also used by '%s'",
				 (int)x->idlen, x->id, other->name);
			free(path);
			return NMIG_OK;
		}
		*slot = x;
	}
	if (!up) {
		path = imp_join(r->src, down->name);
		if (!path)
			return imp_oom();
		imp_fail(r, NMIG_EINPUT, path, 0, NULL,
			 "add the up file, or remove the down file",
			 "down file has no up file '%.*s.up.sql'",
			 (int)down->stem_len, down->name);
		free(path);
		return NMIG_OK;
	}
	return flat_one(r, up, down);
}

/* golang-migrate and V<n> pairs: group the files by version number and
 * make one revision per group; other files are warnings. */
int imp_read_flat(struct reader *r, const struct listing *ls)
{
	struct half *h = NULL;
	size_t i, j, n = 0;
	int rc = NMIG_OK;

	h = calloc(ls->n ? ls->n : 1, sizeof(*h));
	if (!h)
		return imp_oom();
	for (i = 0; i < ls->n; i++) {
		const char *name = ls->items[i].name;

		if (ls->items[i].kind != 'f' || !imp_flat_name(name, &h[n])) {
			rc = imp_ignore_entry(
			    r, name,
			    "not named <version>_<title>.up.sql, "
			    ".down.sql, or V<version>.<Name>.up.sql");
			if (rc)
				goto cleanup;
			continue;
		}
		h[n].num = imp_number_key(h[n].id + (h[n].id[0] == 'V'),
					  h[n].idlen - (h[n].id[0] == 'V'));
		if (!h[n].num) {
			rc = imp_oom();
			goto cleanup;
		}
		n++;
	}
	if (n)
		qsort(h, n, sizeof(*h), half_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1;
		     j < n && imp_number_cmp(h[i].num, h[j].num) == 0; j++)
			;
		rc = flat_group(r, h + i, j - i);
		if (rc == NMIG_ENOMEM)
			goto cleanup;
	}
	rc = NMIG_OK;
cleanup:
	for (i = 0; i < n; i++)
		free(h[i].num);
	free(h);
	return rc;
}
