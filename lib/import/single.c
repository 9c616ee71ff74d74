/*
 * The single-file readers: dbmate (-- migrate:up / -- migrate:down) and
 * goose (-- +goose Up / Down, StatementBegin/End, NO TRANSACTION).
 */
#include "import_internal.h"

/* ---- single-file formats: dbmate and goose ---- */

/* Where a single file splits, and how it runs. */
struct split {
	int has_down;
	size_t down; /* offset of the down marker line */
	int transactional;
};

/*
 * A dbmate marker line: `--`, blanks, `migrate:up` or `migrate:down`, then
 * the end of the line or blanks and options. 'u', 'd' or 0; *opts gets
 * the text after the marker.
 */
int imp_dbmate_marker(const struct line *ln, const char **opts, size_t *optlen)
{
	const char *p = ln->p, *e = ln->p + ln->len;
	int kind;

	if (ln->len < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	p += 2;
	while (p < e && imp_is_space(*p))
		p++;
	if ((size_t)(e - p) >= 10 && memcmp(p, "migrate:up", 10) == 0) {
		kind = 'u';
		p += 10;
	} else if ((size_t)(e - p) >= 12 &&
		   memcmp(p, "migrate:down", 12) == 0) {
		kind = 'd';
		p += 12;
	} else {
		return 0;
	}
	if (p < e && !imp_is_space(*p))
		return 0;
	*opts = p;
	*optlen = (size_t)(e - p);
	return kind;
}

/* dbmate's block options; *tx = 0 for `transaction:false`. */
static void dbmate_options(struct reader *r, const char *path, int lineno,
			   const char *p, size_t len, int *tx)
{
	const char *e = p + len, *t, *colon;

	*tx = 1;
	for (;;) {
		while (p < e && imp_is_space(*p))
			p++;
		if (p == e)
			break;
		t = p;
		while (p < e && !imp_is_space(*p))
			p++;
		colon = memchr(t, ':', (size_t)(p - t));
		if (colon && (size_t)(colon - t) == 11 &&
		    memcmp(t, "transaction", 11) == 0 &&
		    !memchr(colon + 1, ':', (size_t)(p - colon - 1))) {
			*tx = !((size_t)(p - colon - 1) == 5 &&
				memcmp(colon + 1, "false", 5) == 0);
			continue;
		}
		{
			static const char *const known[] = {"transaction",
							    NULL};
			char opt[64];
			size_t n =
			    colon ? (size_t)(colon - t) : (size_t)(p - t);

			snprintf(opt, sizeof(opt), "%.*s", (int)n, t);
			if (strcmp(opt, "transaction") != 0 &&
			    nmig_key_suggest(opt, known))
				imp_notef(
				    r, NMIG_SEV_WARNING, path, lineno,
				    "dbmate option '%.*s' ignored; did you "
				    "mean 'transaction'?",
				    (int)(p - t), t);
			else
				imp_notef(r, NMIG_SEV_WARNING, path, lineno,
					  "dbmate option '%.*s' ignored",
					  (int)(p - t), t);
		}
	}
}

/* Find dbmate's blocks; 1 when good, 0 after recording the error. */
static int dbmate_split(struct reader *r, const char *path, const char *text,
			size_t len, struct split *sp)
{
	struct line ln = {0};
	const char *opts;
	size_t pos = 0, optlen;
	int up = 0, down = 0, up_tx = 1, down_tx = 1, kind;
	char src[256];

	memset(sp, 0, sizeof(*sp));
	while (imp_next_line(text, len, &pos, &ln)) {
		kind = imp_dbmate_marker(&ln, &opts, &optlen);
		if (!kind) {
			if (!up && !imp_blank_or_comment(&ln))
				goto before_up;
			continue;
		}
		if (kind == 'u' && (up || down)) {
			imp_fail(
			    r, NMIG_EINPUT, path, ln.no,
			    imp_line_text(&ln, src, sizeof(src)),
			    "nmig keeps one up and one down block per "
			    "revision: split the file into one migration per "
			    "block pair",
			    "second '-- migrate:up' block (after line %d)",
			    down ? down : up);
			return 0;
		}
		if (kind == 'd' && down) {
			imp_fail(
			    r, NMIG_EINPUT, path, ln.no,
			    imp_line_text(&ln, src, sizeof(src)),
			    "nmig keeps one up and one down block per "
			    "revision: split the file into one migration per "
			    "block pair",
			    "second '-- migrate:down' block (the first is at "
			    "line %d)",
			    down);
			return 0;
		}
		if (kind == 'd' && !up) {
			imp_fail(r, NMIG_EINPUT, path, ln.no,
				 imp_line_text(&ln, src, sizeof(src)),
				 "dbmate requires '-- migrate:up' first",
				 "'-- migrate:down' before '-- migrate:up'");
			return 0;
		}
		if (kind == 'u') {
			up = ln.no;
			dbmate_options(r, path, ln.no, opts, optlen, &up_tx);
		} else {
			down = ln.no;
			sp->has_down = 1;
			sp->down = ln.off;
			dbmate_options(r, path, ln.no, opts, optlen, &down_tx);
		}
	}
	if (!up) {
		imp_fail(
		    r, NMIG_EINPUT, path, 0, NULL,
		    "add '-- migrate:up' above the SQL (dbmate refuses the "
		    "file too)",
		    "no '-- migrate:up' line");
		return 0;
	}
	if (up_tx != down_tx && down)
		imp_notef(
		    r, NMIG_SEV_WARNING, path, up_tx ? down : up,
		    "only the %s block has transaction:false: nmig runs the "
		    "whole revision outside a transaction",
		    up_tx ? "down" : "up");
	sp->transactional = up_tx && down_tx;
	return 1;
before_up:
	imp_fail(r, NMIG_EINPUT, path, ln.no,
		 imp_line_text(&ln, src, sizeof(src)),
		 "move it below '-- migrate:up' (dbmate refuses the file too)",
		 "statement before '-- migrate:up'");
	return 0;
}

/*
 * A goose annotation line: `--`, blanks, `+goose`, blanks, then the
 * annotation, which goose takes case-insensitively. 1 with ann set to its
 * lower-case words joined by single blanks, or 0 for other lines.
 */
int imp_goose_annotation(const struct line *ln, char *ann, size_t cap)
{
	const char *p = ln->p, *e = ln->p + ln->len;
	size_t n = 0;
	int i;

	if (ln->len < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	p += 2;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (e - p < 6 || *p != '+')
		return 0;
	for (i = 0; i < 5; i++)
		if (imp_lower(p[1 + i]) != "goose"[i])
			return 0;
	p += 6;
	if (p < e && !imp_is_space(*p))
		return 0;
	while (p < e) {
		while (p < e && imp_is_space(*p))
			p++;
		if (p == e)
			break;
		if (n && n + 1 < cap)
			ann[n++] = ' ';
		while (p < e && !imp_is_space(*p)) {
			if (n + 1 < cap)
				ann[n++] = imp_lower(*p);
			p++;
		}
	}
	ann[n] = '\0';
	return 1;
}

/* Find goose's sections; 1 when good, 0 after recording the error. */
static int goose_split(struct reader *r, const char *path, const char *text,
		       size_t len, struct split *sp)
{
	struct line ln = {0};
	size_t pos = 0;
	int up = 0, down = 0, begin = 0;
	char ann[64], src[256];
	const char *why = NULL, *hint = NULL;

	memset(sp, 0, sizeof(*sp));
	sp->transactional = 1;
	while (imp_next_line(text, len, &pos, &ln)) {
		if (!imp_goose_annotation(&ln, ann, sizeof(ann))) {
			if (!up && !imp_blank_or_comment(&ln)) {
				why = "statement before '-- +goose Up'";
				hint = "move it below '-- +goose Up' (goose "
				       "refuses the file too)";
				goto bad;
			}
			continue;
		}
		if (strcmp(ann, "up") == 0) {
			if (up || down) {
				why = "second '-- +goose Up' annotation";
				goto bad;
			}
			up = ln.no;
		} else if (strcmp(ann, "down") == 0) {
			if (!up || down) {
				why = down
					  ? "second '-- +goose Down' annotation"
					  : "'-- +goose Down' before "
					    "'-- +goose Up'";
				goto bad;
			}
			if (begin) {
				why = "'-- +goose Down' inside a "
				      "StatementBegin/StatementEnd block";
				goto bad;
			}
			down = ln.no;
			sp->has_down = 1;
			sp->down = ln.off;
		} else if (strcmp(ann, "statementbegin") == 0) {
			if (!up || begin) {
				why = begin ? "StatementBegin inside another "
					      "StatementBegin block"
					    : "StatementBegin before "
					      "'-- +goose Up'";
				goto bad;
			}
			begin = ln.no;
		} else if (strcmp(ann, "statementend") == 0) {
			if (!begin) {
				why = "StatementEnd without StatementBegin";
				goto bad;
			}
			begin = 0;
		} else if (strcmp(ann, "no transaction") == 0) {
			sp->transactional = 0;
		} else if (strcmp(ann, "envsub on") == 0) {
			why = "'-- +goose ENVSUB ON' substitutes environment "
			      "variables when goose runs; nmig runs the SQL as "
			      "written";
			hint =
			    "replace the ${VAR} references with their values "
			    "and remove the annotation, then import";
			goto bad;
		} else if (strcmp(ann, "envsub off") != 0) {
			why = "unknown goose annotation";
			hint = "goose knows Up, Down, StatementBegin, "
			       "StatementEnd, NO TRANSACTION, ENVSUB ON/OFF";
			goto bad;
		}
	}
	if (begin) {
		imp_fail(r, NMIG_EINPUT, path, begin, NULL, NULL,
			 "StatementBegin without StatementEnd");
		return 0;
	}
	if (!up) {
		imp_fail(r, NMIG_EINPUT, path, 0, NULL,
			 "add '-- +goose Up' above the SQL (goose refuses the "
			 "file too)",
			 "no '-- +goose Up' annotation");
		return 0;
	}
	return 1;
bad:
	imp_fail(r, NMIG_EINPUT, path, ln.no,
		 imp_line_text(&ln, src, sizeof(src)), hint, "%s", why);
	return 0;
}

/*
 * One dbmate or goose file: version id[0..idlen), slug from rest. The up
 * file gets everything before the down marker (the preamble and the up
 * marker included), the down file the rest, so that the two together are
 * the source file.
 */
static int single_one(struct reader *r, const char *name, size_t idlen,
		      const char *slug, size_t slen)
{
	struct split sp;
	struct item *it;
	char *text = NULL;
	size_t len = 0;
	int rc;

	it = imp_add_item(r, imp_join(r->src, name));
	if (!it)
		return imp_oom();
	rc = imp_set_names(r, it, name, idlen, slug, slen);
	if (rc <= 0)
		goto out;
	it->rev.up_source = strdup(it->origin);
	if (r->format == NMIG_IMPORT_DBMATE) {
		/* dbmate orders by file name; its version is the digits as
		 * text */
		it->order_key = strdup(name);
		it->dup_key = imp_dupn(name, idlen);
	} else {
		it->order_key = imp_number_key(name, idlen);
		it->dup_key = imp_number_key(name, idlen);
		it->numeric = 1;
	}
	if (!it->rev.up_source || !it->order_key || !it->dup_key) {
		rc = imp_oom();
		goto out;
	}
	rc = imp_read_source(r, it->origin, &text, &len);
	if (rc <= 0)
		goto out;
	if (!imp_check_not_nmig(r, it->origin, text, len)) {
		rc = 0;
		goto out;
	}
	if (r->format == NMIG_IMPORT_DBMATE)
		rc = dbmate_split(r, it->origin, text, len, &sp);
	else
		rc = goose_split(r, it->origin, text, len, &sp);
	if (rc <= 0)
		goto out;
	it->rev.transactional = sp.transactional;
	if (sp.has_down) {
		it->rev.down_source = strdup(it->origin);
		it->down_sql = imp_dupn(text + sp.down, len - sp.down);
		it->down_sql_len = len - sp.down;
		it->rev.down_offset = sp.down;
		it->up_sql = imp_dupn(text, sp.down);
		it->up_sql_len = sp.down;
		free(text);
	} else {
		it->up_sql = text;
		it->up_sql_len = len;
	}
	text = NULL;
	if (!it->up_sql ||
	    (sp.has_down && (!it->down_sql || !it->rev.down_source))) {
		rc = imp_oom();
		goto out;
	}
	rc = 1;
out:
	free(text);
	if (rc <= 0)
		imp_drop_last_item(r);
	return rc < 0 ? rc : NMIG_OK;
}

/* dbmate: every `<digits>...sql` file is a migration; others are
 * warnings. */
int imp_read_dbmate(struct reader *r, const struct listing *ls)
{
	size_t i, d, n;
	const char *name, *s;
	int rc;

	for (i = 0; i < ls->n; i++) {
		name = ls->items[i].name;
		d = imp_digits_len(name);
		/* dbmate: ^(\d+).*\.sql$ */
		if (ls->items[i].kind != 'f' || !d ||
		    !imp_ends_with(name, ".sql")) {
			if (imp_ignore_entry(r, name,
					     "not a dbmate migration "
					     "(<version>_<name>.sql)"))
				return NMIG_ENOMEM;
			continue;
		}
		s = name + d;
		n = strlen(s) - 4;
		while (n && (*s == '_' || *s == '-' || *s == '.')) {
			s++;
			n--;
		}
		rc = single_one(r, name, d, s, n);
		if (rc == NMIG_ENOMEM)
			return rc;
	}
	return NMIG_OK;
}

/* goose: every `.sql` file must be `<version>_<name>.sql`; `.go`
 * migrations are errors, other files warnings. */
int imp_read_goose(struct reader *r, const struct listing *ls)
{
	size_t i, d;
	const char *name;
	char *path;
	int rc;

	for (i = 0; i < ls->n; i++) {
		name = ls->items[i].name;
		d = imp_digits_len(name);
		path = imp_join(r->src, name);
		if (!path)
			return imp_oom();
		if (ls->items[i].kind == 'f' && imp_ends_with(name, ".go")) {
			imp_fail(
			    r, NMIG_EINPUT, path, 0, NULL,
			    "rewrite it as a SQL migration, or run it with "
			    "goose before importing and remove the file",
			    "Go migrations cannot be imported: nmig runs SQL "
			    "files");
		} else if (ls->items[i].kind != 'f' ||
			   !imp_ends_with(name, ".sql")) {
			imp_notef(r, NMIG_SEV_WARNING, path, 0,
				  "ignored: not a goose SQL migration");
		} else if (!d || name[d] != '_') {
			imp_fail(
			    r, NMIG_EINPUT, path, 0, NULL,
			    "rename it to <version>_<name>.sql",
			    "goose migration names start with a version and "
			    "'_'");
		} else if (strspn(name, "0") >= d) {
			imp_fail(r, NMIG_EINPUT, path, 0, NULL,
				 "goose versions start at 1",
				 "version %.*s is not greater than zero",
				 (int)d, name);
		} else if (d - strspn(name, "0") > 19 ||
			   (d - strspn(name, "0") == 19 &&
			    memcmp(name + strspn(name, "0"),
				   "9223372036854775807", 19) > 0)) {
			imp_fail(r, NMIG_EINPUT, path, 0, NULL, NULL,
				 "version %.*s does not fit goose's 64-bit "
				 "versions",
				 (int)d, name);
		} else {
			free(path);
			rc = single_one(r, name, d, name + d + 1,
					strlen(name) - d - 5);
			if (rc == NMIG_ENOMEM)
				return rc;
			continue;
		}
		free(path);
	}
	return NMIG_OK;
}
