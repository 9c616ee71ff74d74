/*
 * nmig import: reads a history written for Diesel, golang-migrate (and the
 * flat V0001.Name pairs), dbmate, goose or Sourcegraph's migrator into
 * memory as nmig revisions -- ids, names and SQL bytes kept, explicit
 * parents reproducing the source tool's own order, transaction choices
 * carried over -- checks all of it, and only then writes the files. Each
 * reader follows its tool's rules (names, markers, ordering, what it
 * refuses) so that the imported history runs as the tool would have run it;
 * docs/import.md describes them.
 */
#include "import_internal.h"

/* ---- ordering ---- */

int imp_order_cmp(const struct item *a, const struct item *b)
{
	int c = a->numeric ? imp_number_cmp(a->order_key, b->order_key)
			   : strcmp(a->order_key, b->order_key);

	if (c)
		return c < 0 ? -1 : 1;
	return strcmp(a->origin, b->origin);
}

/* qsort adapter of order_cmp. */
static int item_order_cmp(const void *a, const void *b)
{
	return imp_order_cmp(a, b);
}

/* qsort order of item pointers by dup_key, then by the tool's order. */
static int dup_cmp(const void *a, const void *b)
{
	const struct item *x = *(const struct item *const *)a;
	const struct item *y = *(const struct item *const *)b;
	int c = strcmp(x->dup_key, y->dup_key);

	return c ? c : imp_order_cmp(x, y);
}

/* Versions the source tool would take as one are an error. */
static int check_duplicates(struct reader *r)
{
	const struct item **ix;
	size_t i;

	if (r->n < 2)
		return NMIG_OK;
	ix = malloc(r->n * sizeof(*ix));
	if (!ix)
		return imp_oom();
	for (i = 0; i < r->n; i++)
		ix[i] = &r->items[i];
	qsort(ix, r->n, sizeof(*ix), dup_cmp);
	for (i = 1; i < r->n; i++) {
		const struct item *a = ix[i - 1];
		const struct item *b = ix[i];

		if (strcmp(a->dup_key, b->dup_key) == 0)
			imp_fail(r, NMIG_EINPUT, b->origin, 0, NULL,
				 "give each migration its own version",
				 "version '%s' is also used by '%s'", b->rev.id,
				 a->origin);
	}
	free(ix);
	return NMIG_OK;
}

/* Set one parent, a copy of id. */
static int set_parent(struct nmig_import_rev *rev, const char *id)
{
	rev->parents = malloc(sizeof(*rev->parents));
	if (!rev->parents)
		return imp_oom();
	rev->parents[0] = strdup(id);
	if (!rev->parents[0]) {
		free(rev->parents);
		rev->parents = NULL;
		return imp_oom();
	}
	rev->nparents = 1;
	return NMIG_OK;
}

/* Linear tools: sort by the tool's rule; each follows the one before. */
static int order_linear(struct reader *r)
{
	size_t i;
	int rc;

	qsort(r->items, r->n, sizeof(*r->items), item_order_cmp);
	for (i = 1; i < r->n; i++) {
		rc = set_parent(&r->items[i].rev, r->items[i - 1].rev.id);
		if (rc)
			return rc;
	}
	return NMIG_OK;
}

/* ---- output ---- */

/* Make the output names and file texts of an item, moving its SQL. */
static int finish(struct item *it)
{
	struct nmig_buf b = NMIG_BUF_INIT;
	struct nmig_import_rev *rev = &it->rev;
	const char *eol = "\n", *nl;
	size_t i;

	nl = memchr(it->up_sql, '\n', it->up_sql_len);
	if (nl && nl > it->up_sql && nl[-1] == '\r')
		eol = "\r\n";
	nmig_buf_puts(&b, "-- nmig:parents");
	for (i = 0; i < rev->nparents; i++)
		nmig_buf_printf(&b, " %s", rev->parents[i]);
	if (!rev->nparents)
		nmig_buf_puts(&b, " base");
	nmig_buf_puts(&b, eol);
	rev->header_lines = 1;
	if (rev->message) {
		nmig_buf_printf(&b, "-- nmig:message %s%s", rev->message, eol);
		rev->header_lines++;
	}
	if (!rev->transactional) {
		nmig_buf_printf(&b, "-- nmig:transaction off%s", eol);
		rev->header_lines++;
	}
	rev->header_len = b.len;
	nmig_buf_put(&b, it->up_sql, it->up_sql_len);
	rev->up_text = nmig_buf_detach(&b, &rev->up_len);
	free(it->up_sql);
	it->up_sql = NULL;
	b = (struct nmig_buf)NMIG_BUF_INIT;
	nmig_buf_printf(&b, "%s_%s.up.sql", rev->id, rev->slug);
	rev->up_name = nmig_buf_detach(&b, NULL);
	if (!rev->up_text || !rev->up_name)
		return imp_oom();
	if (it->down_sql) {
		rev->down_text = it->down_sql;
		rev->down_len = it->down_sql_len;
		it->down_sql = NULL;
		nmig_buf_printf(&b, "%s_%s.down.sql", rev->id, rev->slug);
		rev->down_name = nmig_buf_detach(&b, NULL);
		if (!rev->down_name)
			return imp_oom();
	}
	return NMIG_OK;
}

/* nmig_import_format_parse: see import.h. */
int nmig_import_format_parse(enum nmig_import_format *out, const char *name)
{
	static const struct {
		const char *name;
		enum nmig_import_format format;
	} names[] = {
	    {"auto", NMIG_IMPORT_AUTO},
	    {"diesel", NMIG_IMPORT_DIESEL},
	    {"golang-migrate", NMIG_IMPORT_FLAT},
	    {"flat", NMIG_IMPORT_FLAT},
	    {"dbmate", NMIG_IMPORT_DBMATE},
	    {"goose", NMIG_IMPORT_GOOSE},
	    {"sourcegraph", NMIG_IMPORT_SOURCEGRAPH},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].format;
			return NMIG_OK;
		}
	}
	nmig_error_set(NMIG_EUSAGE, "unknown format '%s'", name);
	nmig_error_hint("the formats are " FORMATS_HELP);
	return NMIG_EUSAGE;
}

/* nmig_import_format_name: see import.h. */
const char *nmig_import_format_name(enum nmig_import_format format)
{
	switch (format) {
	case NMIG_IMPORT_DIESEL:
		return "diesel";
	case NMIG_IMPORT_FLAT:
		return "golang-migrate";
	case NMIG_IMPORT_DBMATE:
		return "dbmate";
	case NMIG_IMPORT_GOOSE:
		return "goose";
	case NMIG_IMPORT_SOURCEGRAPH:
		return "sourcegraph";
	case NMIG_IMPORT_AUTO:
		break;
	}
	return "auto";
}

/* Which single-file markers text has: bit 1 goose Up, bit 2 dbmate up. */
static int marker_bits(const char *text, size_t len)
{
	struct line ln = {0};
	size_t pos = 0, optlen;
	const char *opts;
	char ann[64];
	int bits = 0;

	while (imp_next_line(text, len, &pos, &ln)) {
		if (imp_goose_annotation(&ln, ann, sizeof(ann)) &&
		    strcmp(ann, "up") == 0)
			bits |= 1;
		if (imp_dbmate_marker(&ln, &opts, &optlen) == 'u')
			bits |= 2;
	}
	return bits;
}

/* The formats nmig_import_detect tells apart, in the order it names them. */
static const enum nmig_import_format detect_order[] = {
    NMIG_IMPORT_DIESEL, NMIG_IMPORT_FLAT,	 NMIG_IMPORT_DBMATE,
    NMIG_IMPORT_GOOSE,	NMIG_IMPORT_SOURCEGRAPH,
};

#define NDETECT (sizeof(detect_order) / sizeof(detect_order[0]))

/*
 * Keep path (a copy) as the first file found of format, when none is
 * kept yet. NMIG_OK or NMIG_ENOMEM.
 */
static int keep_found(char **found, enum nmig_import_format format,
		      const char *path)
{
	if (found[format])
		return NMIG_OK;
	found[format] = strdup(path);
	return found[format] ? NMIG_OK : imp_oom();
}

/* A directory: sourcegraph (metadata.yaml) or else diesel (up.sql). */
static int probe_dir(char **found, const char *dir)
{
	char *probe = imp_join(dir, "metadata.yaml");
	int rc = NMIG_OK;

	if (!probe)
		return imp_oom();
	if (imp_path_kind(probe) == 'f') {
		rc = keep_found(found, NMIG_IMPORT_SOURCEGRAPH, probe);
		free(probe);
		return rc;
	}
	free(probe);
	probe = imp_join(dir, "up.sql");
	if (!probe)
		return imp_oom();
	if (imp_path_kind(probe) == 'f')
		rc = keep_found(found, NMIG_IMPORT_DIESEL, probe);
	free(probe);
	return rc;
}

/*
 * A regular file: golang-migrate by its name, else a numbered .sql file
 * with goose or dbmate markers (read into text; a file that cannot be
 * read is left to the reader to report).
 */
static int probe_file(char **found, const char *name, const char *path,
		      struct nmig_buf *text)
{
	struct half h;
	int rc, bits;

	if (imp_flat_name(name, &h))
		return keep_found(found, NMIG_IMPORT_FLAT, path);
	if (!imp_is_digit(name[0]) || !imp_ends_with(name, ".sql") ||
	    (found[NMIG_IMPORT_GOOSE] && found[NMIG_IMPORT_DBMATE]))
		return NMIG_OK;
	nmig_buf_clear(text);
	rc = nmig_buf_read_file(text, path, NMIG_MAX_FILE_SIZE);
	if (rc)
		return rc == NMIG_ENOMEM ? rc : NMIG_OK;
	bits = marker_bits(text->ptr, text->len);
	if ((bits & 1) && (rc = keep_found(found, NMIG_IMPORT_GOOSE, path)))
		return rc;
	if (bits & 2)
		return keep_found(found, NMIG_IMPORT_DBMATE, path);
	return NMIG_OK;
}

/* The outcome from what was found: one format, none, or several. */
static int detect_verdict(enum nmig_import_format *out, char *const *found,
			  const char *src)
{
	struct nmig_buf names = NMIG_BUF_INIT;
	size_t i, nfound = 0;
	int rc = NMIG_OK;

	for (i = 0; i < NDETECT; i++) {
		if (!found[detect_order[i]])
			continue;
		nmig_buf_printf(&names, "%s%s", nfound ? ", " : "",
				nmig_import_format_name(detect_order[i]));
		nfound++;
		*out = detect_order[i];
	}
	if (names.oom) {
		rc = imp_oom();
	} else if (nfound == 0) {
		rc = nmig_error_set(NMIG_EINPUT,
				    "no migrations of a known format in '%s'",
				    src);
		nmig_error_detail(
		    "looked for diesel (<version>_<name>/up.sql), "
		    "golang-migrate (<n>_<name>.up.sql, "
		    "V<n>.<Name>.up.sql), dbmate (<n>_<name>.sql with "
		    "'-- migrate:up'), goose (<n>_<name>.sql with "
		    "'-- +goose Up'), sourcegraph "
		    "(<id>_<name>/metadata.yaml)");
		nmig_error_hint("check the directory, or name the format "
				"with --from");
	} else if (nfound > 1) {
		rc = nmig_error_set(NMIG_EAMBIGUOUS,
				    "'%s' matches several formats: %s", src,
				    names.ptr);
		for (i = 0; i < NDETECT; i++)
			if (found[detect_order[i]])
				nmig_error_detail(
				    "%s: '%s'",
				    nmig_import_format_name(detect_order[i]),
				    found[detect_order[i]]);
		nmig_error_hint("choose one with --from");
	}
	nmig_buf_release(&names);
	return rc;
}

/* nmig_import_detect: see import.h. The first matching file of each
 * format is kept for the message. */
int nmig_import_detect(enum nmig_import_format *out, const char *src)
{
	char *found[NMIG_IMPORT_SOURCEGRAPH + 1] = {0};
	struct nmig_buf text = NMIG_BUF_INIT;
	struct listing ls;
	char *path;
	size_t i;
	int rc;

	rc = imp_list_dir(&ls, src);
	if (rc)
		return rc;
	for (i = 0; i < ls.n && rc == NMIG_OK; i++) {
		path = imp_join(src, ls.items[i].name);
		if (!path)
			rc = imp_oom();
		else if (ls.items[i].kind == 'd')
			rc = probe_dir(found, path);
		else if (ls.items[i].kind == 'f')
			rc = probe_file(found, ls.items[i].name, path, &text);
		free(path);
	}
	if (rc == NMIG_OK)
		rc = detect_verdict(out, found, src);
	for (i = 0; i < sizeof(found) / sizeof(found[0]); i++)
		free(found[i]);
	nmig_buf_release(&text);
	imp_listing_release(&ls);
	return rc;
}

/* nmig_import_read: see import.h. */
int nmig_import_read(struct nmig_import *out, const char *src,
		     enum nmig_import_format format, struct nmig_diags *diags)
{
	struct reader *r = NULL;
	struct listing ls = {0};
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (format == NMIG_IMPORT_AUTO) {
		rc = nmig_import_detect(&format, src);
		if (rc)
			return rc;
	}
	rc = imp_list_dir(&ls, src);
	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = imp_oom();
		goto cleanup;
	}
	r->src = src;
	r->format = format;
	r->diags = diags;
	switch (format) {
	case NMIG_IMPORT_DIESEL:
		rc = imp_read_diesel(r, &ls);
		break;
	case NMIG_IMPORT_FLAT:
		rc = imp_read_flat(r, &ls);
		break;
	case NMIG_IMPORT_DBMATE:
		rc = imp_read_dbmate(r, &ls);
		break;
	case NMIG_IMPORT_GOOSE:
		rc = imp_read_goose(r, &ls);
		break;
	case NMIG_IMPORT_SOURCEGRAPH:
		rc = imp_read_sourcegraph(r, &ls);
		break;
	case NMIG_IMPORT_AUTO:
		rc = nmig_error_set(NMIG_ERROR, "no format to read");
		break;
	}
	if (rc)
		goto cleanup;
	if (!r->n && !r->first) {
		imp_fail(r, NMIG_EINPUT, src, 0, NULL,
			 "check the directory, or the format given with --from",
			 "no %s migrations in '%s'",
			 nmig_import_format_name(format), src);
	}
	if (format != NMIG_IMPORT_FLAT) { /* flat pairs checked these */
		rc = check_duplicates(r);
		if (rc)
			goto cleanup;
	}
	if (!r->first) {
		rc = format == NMIG_IMPORT_SOURCEGRAPH
			 ? imp_order_sourcegraph(r)
			 : order_linear(r);
		if (rc)
			goto cleanup;
	}
	if (r->first) {
		imp_restore_error(&r->saved);
		rc = r->first;
		goto cleanup;
	}
	out->revs = calloc(r->n, sizeof(*out->revs));
	out->src = strdup(src);
	if (!out->revs || !out->src) {
		rc = imp_oom();
		goto cleanup;
	}
	out->format = format;
	for (i = 0; i < r->n; i++) {
		rc = finish(&r->items[i]);
		if (rc)
			goto cleanup;
		out->revs[i] = r->items[i].rev;
		memset(&r->items[i].rev, 0, sizeof(r->items[i].rev));
		out->n++;
	}
	rc = NMIG_OK;
cleanup:
	if (r) {
		imp_reader_release(r);
		free(r);
	}
	imp_listing_release(&ls);
	if (rc)
		nmig_import_release(out);
	return rc;
}

/* nmig_import_release: see import.h. */
void nmig_import_release(struct nmig_import *imp)
{
	size_t i;

	for (i = 0; i < imp->n; i++)
		imp_rev_release(&imp->revs[i]);
	free(imp->revs);
	free(imp->src);
	memset(imp, 0, sizeof(*imp));
}

/* ---- writing ---- */

/* mkdir -p; NMIG_EIO naming the directory that could not be made. */
static int make_dirs(const char *dir)
{
	char *p = strdup(dir), *s;
	int rc = NMIG_OK;

	if (!p)
		return imp_oom();
	for (s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			rc = nmig_error_set(NMIG_EIO,
					    "cannot create directory '%s': %s",
					    p, strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

/* qsort and bsearch order of string pointers. */
static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A revision file in dest that would give an imported id twice. */
static int check_clashes(const struct nmig_import *imp, const char *dest,
			 const struct listing *ls)
{
	const char **ids = NULL, **names = NULL;
	size_t i, nnames = 0;
	int rc = NMIG_OK;

	ids = malloc((imp->n ? imp->n : 1) * sizeof(*ids));
	names = malloc((2 * imp->n + 1) * sizeof(*names));
	if (!ids || !names) {
		rc = imp_oom();
		goto cleanup;
	}
	for (i = 0; i < imp->n; i++) {
		ids[i] = imp->revs[i].id;
		names[nnames++] = imp->revs[i].up_name;
		if (imp->revs[i].down_name)
			names[nnames++] = imp->revs[i].down_name;
	}
	qsort(ids, imp->n, sizeof(*ids), str_ptr_cmp);
	qsort(names, nnames, sizeof(*names), str_ptr_cmp);
	for (i = 0; i < ls->n; i++) {
		const char *name = ls->items[i].name, *us = strchr(name, '_');
		char *id;
		const char *key = name;

		if (!us || !(imp_ends_with(name, ".up.sql") ||
			     imp_ends_with(name, ".down.sql")))
			continue;
		if (bsearch(&key, names, nnames, sizeof(*names), str_ptr_cmp))
			continue; /* replaced by the same file */
		id = imp_dupn(name, (size_t)(us - name));
		if (!id) {
			rc = imp_oom();
			goto cleanup;
		}
		key = id;
		if (bsearch(&key, ids, imp->n, sizeof(*ids), str_ptr_cmp)) {
			rc = nmig_error_set(NMIG_EEXISTS,
					    "'%s/%s' has the id '%s' of an "
					    "imported revision",
					    dest, name, id);
			nmig_error_hint("move it away, or import into another "
					"directory");
			free(id);
			goto cleanup;
		}
		free(id);
	}
cleanup:
	free(ids);
	free(names);
	return rc;
}

/* nmig_import_check_dest: see import.h. */
int nmig_import_check_dest(const struct nmig_import *imp, const char *dest,
			   unsigned flags)
{
	struct listing ls = {0};
	struct stat st;
	int rc;

	if (stat(dest, &st) != 0) {
		if (errno != ENOENT)
			return nmig_error_set(NMIG_EIO, "cannot use '%s': %s",
					      dest, strerror(errno));
		return flags & NMIG_IMPORT_DRY_RUN ? NMIG_OK : make_dirs(dest);
	}
	if (!S_ISDIR(st.st_mode))
		return nmig_error_set(
		    NMIG_EEXISTS, "'%s' exists and is not a directory", dest);
	rc = imp_list_dir(&ls, dest);
	if (rc)
		return rc;
	if (ls.n && !(flags & NMIG_IMPORT_FORCE)) {
		rc = nmig_error_set(NMIG_EEXISTS, "'%s' is not empty", dest);
		nmig_error_detail("it holds %zu entr%s, e.g. '%s'", ls.n,
				  ls.n == 1 ? "y" : "ies", ls.items[0].name);
		nmig_error_hint("import into an empty directory, or pass "
				"--force to add the files (files of the same "
				"name are replaced)");
	} else {
		rc = check_clashes(imp, dest, &ls);
	}
	imp_listing_release(&ls);
	return rc;
}

/* Write data to dest/name through a hidden temporary file. */
static int write_one(const char *dest, const char *name, const char *data,
		     size_t len, int force)
{
	struct nmig_buf tmpname = NMIG_BUF_INIT;
	char *path = NULL, *tmp = NULL;
	size_t done = 0;
	ssize_t w;
	int fd = -1, rc = NMIG_OK, err;

	nmig_buf_printf(&tmpname, ".%s.%ld.tmp", name, (long)getpid());
	path = imp_join(dest, name);
	tmp = tmpname.oom ? NULL : imp_join(dest, tmpname.ptr);
	if (!path || !tmp) {
		rc = imp_oom();
		goto cleanup;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		rc = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", tmp,
				    strerror(errno));
		goto cleanup;
	}
	while (done < len) {
		w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto write_error;
		done += (size_t)w;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto write_error;
	}
	fd = -1;
	if (force) {
		if (rename(tmp, path) != 0)
			goto write_error;
	} else if (link(tmp, path) != 0) {
		err = errno;
		if (err == EEXIST) {
			rc = nmig_error_set(NMIG_EEXISTS, "'%s' exists already",
					    path);
			nmig_error_hint("pass --force to replace it");
			goto cleanup;
		}
		/* file systems without hard links: check, then rename */
		if (access(path, F_OK) == 0) {
			rc = nmig_error_set(NMIG_EEXISTS, "'%s' exists already",
					    path);
			goto cleanup;
		}
		if (rename(tmp, path) != 0)
			goto write_error;
	}
	goto cleanup;
write_error:
	rc = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
			    strerror(errno));
cleanup:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	nmig_buf_release(&tmpname);
	return rc;
}

/* nmig_import_write: see import.h. */
int nmig_import_write(const struct nmig_import *imp, const char *dest,
		      unsigned flags, size_t *written)
{
	size_t i, count = 0;
	int rc, force = !!(flags & NMIG_IMPORT_FORCE);

	rc = nmig_import_check_dest(imp, dest, flags);
	if (rc || (flags & NMIG_IMPORT_DRY_RUN))
		goto out;
	for (i = 0; i < imp->n; i++) {
		const struct nmig_import_rev *rev = &imp->revs[i];

		rc = write_one(dest, rev->up_name, rev->up_text, rev->up_len,
			       force);
		if (rc)
			goto out;
		count++;
		if (rev->down_name) {
			rc = write_one(dest, rev->down_name, rev->down_text,
				       rev->down_len, force);
			if (rc)
				goto out;
			count++;
		}
	}
out:
	if (written)
		*written = count;
	return rc;
}
