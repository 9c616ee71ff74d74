/*
 * The Diesel reader: <version>_<name>/ directories with up.sql, down.sql
 * and metadata.toml, in the order Diesel runs them.
 */
#include "import_internal.h"

/* ---- Diesel ---- */

/* metadata.toml: `run_in_transaction = true|false`; 1, 0 or NMIG_ENOMEM. */
static int diesel_metadata(struct reader *r, const char *path, int *tx)
{
	struct line ln = {0};
	char *text = NULL, src[256];
	size_t len = 0, pos = 0;
	int rc, ok = 1;

	rc = imp_read_source(r, path, &text, &len);
	if (rc <= 0)
		return rc;
	while (imp_next_line(text, len, &pos, &ln)) {
		const char *p = ln.p, *e = ln.p + ln.len, *k, *v;
		size_t klen, vlen;

		while (p < e && imp_is_space(*p))
			p++;
		if (p == e || *p == '#')
			continue;
		k = p;
		while (p < e &&
		       (*p == '_' || *p == '-' || imp_is_digit(*p) ||
			(imp_lower(*p) >= 'a' && imp_lower(*p) <= 'z')))
			p++;
		klen = (size_t)(p - k);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (!klen || p == e || *p != '=') {
			imp_fail(
			    r, NMIG_EINPUT, path, ln.no,
			    imp_line_text(&ln, src, sizeof(src)),
			    "diesel reads only `run_in_transaction = false` "
			    "here",
			    "expected 'key = value'");
			ok = 0;
			continue;
		}
		p++;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		v = p;
		while (p < e && *p != '#' && *p != ' ' && *p != '\t')
			p++;
		vlen = (size_t)(p - v);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p < e && *p != '#') {
			imp_fail(r, NMIG_EINPUT, path, ln.no,
				 imp_line_text(&ln, src, sizeof(src)), NULL,
				 "unexpected text after the value");
			ok = 0;
			continue;
		}
		if (klen != 18 || memcmp(k, "run_in_transaction", 18) != 0) {
			static const char *const known[] = {
			    "run_in_transaction", NULL};
			char key[64];

			snprintf(key, sizeof(key), "%.*s", (int)klen, k);
			if (nmig_key_suggest(key, known))
				imp_notef(r, NMIG_SEV_WARNING, path, ln.no,
					  "unknown key '%s'; did you mean "
					  "'run_in_transaction'? (ignored, as "
					  "diesel ignores it)",
					  key);
			else
				imp_notef(
				    r, NMIG_SEV_WARNING, path, ln.no,
				    "unknown key '%s' ignored (diesel knows "
				    "only 'run_in_transaction')",
				    key);
			continue;
		}
		if (vlen == 4 && memcmp(v, "true", 4) == 0) {
			*tx = 1;
		} else if (vlen == 5 && memcmp(v, "false", 5) == 0) {
			*tx = 0;
		} else {
			imp_fail(r, NMIG_EINPUT, path, ln.no,
				 imp_line_text(&ln, src, sizeof(src)), NULL,
				 "'run_in_transaction' must be true or false");
			ok = 0;
		}
	}
	free(text);
	return ok;
}

/* One Diesel migration directory; NMIG_ENOMEM stops the reading. */
static int diesel_one(struct reader *r, const char *name)
{
	const char *us = strchr(name, '_');
	size_t vlen = us ? (size_t)(us - name) : strlen(name);
	char *up = NULL, *down = NULL, *meta = NULL;
	struct item *it;
	size_t i, k;
	int rc, tx = 1;

	it = imp_add_item(r, imp_join(r->src, name));
	if (!it)
		return imp_oom();
	rc = imp_set_names(r, it, name, vlen, us ? us + 1 : NULL,
			   us ? strlen(us + 1) : 0);
	if (rc <= 0)
		goto out;
	/* Diesel's version is the name before '_' with dashes removed,
	 * compared as text. */
	it->order_key = malloc(vlen + 1);
	up = imp_join(it->origin, "up.sql");
	down = imp_join(it->origin, "down.sql");
	meta = imp_join(it->origin, "metadata.toml");
	if (!it->order_key || !up || !down || !meta) {
		rc = imp_oom();
		goto out;
	}
	for (i = k = 0; i < vlen; i++)
		if (name[i] != '-')
			it->order_key[k++] = name[i];
	it->order_key[k] = '\0';
	it->dup_key = strdup(it->order_key);
	if (!it->dup_key) {
		rc = imp_oom();
		goto out;
	}
	rc = imp_read_up_down(r, it, &up, &down,
			      "every diesel migration needs an up.sql");
	if (rc <= 0)
		goto out;
	if (imp_path_kind(meta) == 'f') {
		rc = diesel_metadata(r, meta, &tx);
		if (rc <= 0)
			goto out;
	}
	it->rev.transactional = tx;
	rc = 1;
out:
	free(up);
	free(down);
	free(meta);
	if (rc <= 0)
		imp_drop_last_item(r);
	return rc < 0 ? rc : NMIG_OK;
}

/* Diesel: every directory of src is a migration; files are warnings. */
int imp_read_diesel(struct reader *r, const struct listing *ls)
{
	size_t i;
	int rc;

	for (i = 0; i < ls->n; i++) {
		if (ls->items[i].kind != 'd') {
			if (imp_ignore_entry(
				r, ls->items[i].name,
				"not a diesel migration directory"))
				return NMIG_ENOMEM;
			continue;
		}
		rc = diesel_one(r, ls->items[i].name);
		if (rc == NMIG_ENOMEM)
			return rc;
	}
	return NMIG_OK;
}
