/*
 * Unit tests of import (lib/import/): each hand-written fixture under
 * tests/fixtures/import/ read with its expected order, parents, names,
 * transaction modes and headers, its SQL checked byte for byte against the
 * source files, then written out and loaded back through nmig's own loader
 * and graph (lib/revfile.h, lib/graph.h), which must see the same
 * revisions in the same order with the same parents; format detection;
 * a table of bad inputs, each with the error, file and line it must give;
 * and the rules for the destination directory. Bad inputs are written to
 * a scratch directory that teardown removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "error.h"
#include "graph.h"
#include "import.h"
#include "revfile.h"

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	struct nmig_import imp;
	struct nmig_diags diags;
	struct nmig_revset set;
	struct nmig_graph *graph;
	struct nmig_buf a, b;
	char tmp[512];	     /* scratch directory */
	char path[PATH_MAX]; /* scratch path for helpers */
};

/* Remove a directory tree (the scratch directory). */
static void rm_tree(const char *path)
{
	struct stat st;
	struct dirent *de;
	char sub[PATH_MAX];
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d) {
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static void ctx_reset(struct ctx *c)
{
	nmig_import_release(&c->imp);
	nmig_diags_release(&c->diags);
	if (c->graph)
		nmig_graph_free(c->graph);
	c->graph = NULL;
	nmig_revset_release(&c->set);
	nmig_buf_release(&c->a);
	nmig_buf_release(&c->b);
	nmig_error_clear();
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *t = getenv("TMPDIR");

	if (!c)
		return -1;
	nmig_diags_init(&c->diags);
	nmig_buf_init(&c->a);
	nmig_buf_init(&c->b);
	snprintf(c->tmp, sizeof(c->tmp), "%s/nmig-test-import-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(c->tmp)) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	ctx_reset(c);
	rm_tree(c->tmp);
	free(c);
	return 0;
}

/* $NMIG_FIXTURES/import/name, in c->path. */
static const char *fixture(struct ctx *c, const char *name)
{
	const char *f = getenv("NMIG_FIXTURES");

	assert_non_null(f);
	snprintf(c->path, sizeof(c->path), "%s/import/%s", f, name);
	return c->path;
}

/* c->tmp/name, in c->path. */
static const char *scratch(struct ctx *c, const char *name)
{
	snprintf(c->path, sizeof(c->path), "%s/%s", c->tmp, name);
	return c->path;
}

/* Write text to c->tmp/rel, making directories on the way. */
static void put_file(struct ctx *c, const char *rel, const char *text)
{
	char path[PATH_MAX], *s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", c->tmp, rel);
	for (s = path + strlen(c->tmp) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		assert_true(mkdir(path, 0777) == 0 || errno == EEXIST);
		*s = '/';
	}
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* Assert that s starts with the string literal lit. */
#define assert_starts(s, lit) assert_memory_equal((s), lit, sizeof(lit) - 1)

/* Read a whole file into buf (cleared first). */
static void slurp(struct nmig_buf *buf, const char *path)
{
	nmig_buf_clear(buf);
	assert_int_equal(nmig_buf_read_file(buf, path, NMIG_MAX_FILE_SIZE),
			 NMIG_OK);
}

/* ---- formats and detection ---- */

static void test_format_parse(void **state)
{
	static const struct {
		const char *name;
		enum nmig_import_format f;
		const char *canonical;
	} t[] = {
	    {"auto", NMIG_IMPORT_AUTO, "auto"},
	    {"diesel", NMIG_IMPORT_DIESEL, "diesel"},
	    {"golang-migrate", NMIG_IMPORT_FLAT, "golang-migrate"},
	    {"flat", NMIG_IMPORT_FLAT, "golang-migrate"},
	    {"dbmate", NMIG_IMPORT_DBMATE, "dbmate"},
	    {"goose", NMIG_IMPORT_GOOSE, "goose"},
	    {"sourcegraph", NMIG_IMPORT_SOURCEGRAPH, "sourcegraph"},
	};
	enum nmig_import_format f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f = (enum nmig_import_format)99;
		assert_int_equal(nmig_import_format_parse(&f, t[i].name),
				 NMIG_OK);
		assert_int_equal(f, t[i].f);
		assert_string_equal(nmig_import_format_name(f), t[i].canonical);
	}
	assert_int_equal(nmig_import_format_parse(&f, "flyway"), NMIG_EUSAGE);
	assert_string_equal(nmig_error_last()->message,
			    "unknown format 'flyway'");
	assert_non_null(strstr(nmig_error_last()->hint, "golang-migrate"));
	assert_int_equal(nmig_import_format_parse(&f, "Diesel"), NMIG_EUSAGE);
}

static void test_detect(void **state)
{
	static const struct {
		const char *dir;
		enum nmig_import_format f;
	} t[] = {
	    {"diesel", NMIG_IMPORT_DIESEL},
	    {"flat", NMIG_IMPORT_FLAT},
	    {"dbmate", NMIG_IMPORT_DBMATE},
	    {"goose", NMIG_IMPORT_GOOSE},
	    {"sourcegraph", NMIG_IMPORT_SOURCEGRAPH},
	};
	struct ctx *c = *state;
	enum nmig_import_format f;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f = NMIG_IMPORT_AUTO;
		assert_int_equal(nmig_import_detect(&f, fixture(c, t[i].dir)),
				 NMIG_OK);
		assert_int_equal(f, t[i].f);
	}
}

static void test_detect_ambiguous(void **state)
{
	struct ctx *c = *state;
	const struct nmig_error *e;
	enum nmig_import_format f;

	assert_int_equal(nmig_import_detect(&f, fixture(c, "ambiguous")),
			 NMIG_EAMBIGUOUS);
	e = nmig_error_last();
	assert_non_null(strstr(e->message, "matches several formats: "
					   "diesel, golang-migrate"));
	assert_non_null(strstr(e->detail, "diesel: '"));
	assert_non_null(strstr(e->detail, "2019-01-01-000000_create_users/"
					  "up.sql'"));
	assert_non_null(strstr(e->detail, "golang-migrate: '"));
	assert_non_null(strstr(e->detail, "2_create_teams.up.sql'"));
	assert_string_equal(e->hint, "choose one with --from");
	/* reading with auto gives the same error and reads nothing */
	assert_int_equal(nmig_import_read(&c->imp, fixture(c, "ambiguous"),
					  NMIG_IMPORT_AUTO, &c->diags),
			 NMIG_EAMBIGUOUS);
	assert_int_equal(c->imp.n, 0);
	/* a file with both goose and dbmate markers matches both */
	put_file(c, "both/1_x.sql", "-- +goose Up\n-- migrate:up\nSELECT 1;\n");
	assert_int_equal(nmig_import_detect(&f, scratch(c, "both")),
			 NMIG_EAMBIGUOUS);
	assert_non_null(strstr(nmig_error_last()->message, "dbmate, goose"));
}

static void test_detect_nothing(void **state)
{
	struct ctx *c = *state;
	enum nmig_import_format f;

	assert_int_equal(mkdir(scratch(c, "empty"), 0777), 0);
	assert_int_equal(nmig_import_detect(&f, scratch(c, "empty")),
			 NMIG_EINPUT);
	assert_non_null(strstr(nmig_error_last()->message,
			       "no migrations of a known format in '"));
	assert_non_null(strstr(nmig_error_last()->hint, "--from"));
	put_file(c, "plain/1_x.sql", "SELECT 1;\n");
	assert_int_equal(nmig_import_detect(&f, scratch(c, "plain")),
			 NMIG_EINPUT);
	assert_int_equal(nmig_import_detect(&f, scratch(c, "missing")),
			 NMIG_EIO);
	assert_non_null(
	    strstr(nmig_error_last()->message, "cannot read directory"));
}

/* ---- reading the fixtures ---- */

struct want {
	const char *id;
	const char *parents; /* blank-separated; "" = root */
	int tx;
	const char *up_name;
	const char *down_name; /* NULL: irreversible */
	const char *message;   /* NULL: no message header */
};

static void check_parents(const char *want, char *const *got, size_t n)
{
	char buf[512] = "";
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			strcat(buf, " ");
		assert_true(strlen(buf) + strlen(got[i]) < sizeof(buf));
		strcat(buf, got[i]);
	}
	assert_string_equal(buf, want);
}

/*
 * The SQL of each revision is the source's, byte for byte: the up file is
 * the header followed by the up SQL (single files: everything before the
 * down marker), the down file the down SQL (single files: the rest).
 */
static void check_bytes(struct ctx *c, const struct nmig_import_rev *r,
			int single)
{
	size_t i, lines = 0, up_end;

	slurp(&c->a, r->up_source);
	up_end = single && r->down_source ? r->down_offset : c->a.len;
	assert_int_equal(r->up_len, r->header_len + up_end);
	assert_memory_equal(r->up_text + r->header_len, c->a.ptr, up_end);
	for (i = 0; i < r->header_len; i++)
		lines += r->up_text[i] == '\n';
	assert_int_equal(lines, r->header_lines);
	assert_int_equal(r->up_offset, 0);
	if (!r->down_source) {
		assert_null(r->down_text);
		assert_null(r->down_name);
		return;
	}
	if (single) {
		assert_string_equal(r->down_source, r->up_source);
		assert_int_equal(r->down_len, c->a.len - r->down_offset);
		assert_memory_equal(r->down_text, c->a.ptr + r->down_offset,
				    r->down_len);
		return;
	}
	slurp(&c->b, r->down_source);
	assert_int_equal(r->down_len, c->b.len);
	assert_memory_equal(r->down_text, c->b.ptr, c->b.len);
}

/*
 * Write the import, load it with nmig's loader and graph, and check that
 * they see the same revisions, in the same order, with the same parents,
 * transaction modes, header sizes and file bytes.
 */
static void check_roundtrip(struct ctx *c)
{
	char out[PATH_MAX];
	size_t i, written = 0, files = 0;

	snprintf(out, sizeof(out), "%s/out", c->tmp);
	rm_tree(out);
	assert_int_equal(nmig_import_write(&c->imp, out, 0, &written), NMIG_OK);
	for (i = 0; i < c->imp.n; i++)
		files += 1 + (c->imp.revs[i].down_name != NULL);
	assert_int_equal(written, files);
	assert_int_equal(nmig_revset_load(&c->set, out, &c->diags), NMIG_OK);
	assert_int_equal(c->diags.errors, 0);
	assert_int_equal(nmig_graph_build(&c->graph, &c->set, &c->diags),
			 NMIG_OK);
	assert_int_equal(nmig_graph_count(c->graph), c->imp.n);
	for (i = 0; i < c->imp.n; i++) {
		const struct nmig_import_rev *r = &c->imp.revs[i];
		const struct nmig_revision *g = nmig_graph_rev(c->graph, i);
		size_t j;

		assert_string_equal(g->id, r->id);
		assert_string_equal(g->slug, r->slug);
		assert_true(g->parents_explicit);
		assert_int_equal(g->nparents, r->nparents);
		for (j = 0; j < r->nparents; j++)
			assert_string_equal(g->parents[j], r->parents[j]);
		assert_int_equal(g->transactional, r->transactional);
		assert_int_equal(g->header_lines, r->header_lines);
		if (r->message)
			assert_string_equal(g->message, r->message);
		slurp(&c->a, g->up.path);
		assert_int_equal(c->a.len, r->up_len);
		assert_memory_equal(c->a.ptr, r->up_text, r->up_len);
		assert_int_equal(g->down.path != NULL, r->down_name != NULL);
		if (r->down_name) {
			slurp(&c->a, g->down.path);
			assert_int_equal(c->a.len, r->down_len);
			assert_memory_equal(c->a.ptr, r->down_text,
					    r->down_len);
		}
	}
}

static void check_fixture(struct ctx *c, const char *dir,
			  enum nmig_import_format format, const struct want *w,
			  size_t n)
{
	int single =
	    format == NMIG_IMPORT_DBMATE || format == NMIG_IMPORT_GOOSE;
	size_t i;

	assert_int_equal(nmig_import_read(&c->imp, fixture(c, dir),
					  NMIG_IMPORT_AUTO, &c->diags),
			 NMIG_OK);
	assert_int_equal(c->diags.errors, 0);
	assert_int_equal(c->imp.format, format);
	assert_string_equal(c->imp.src, fixture(c, dir));
	assert_int_equal(c->imp.n, n);
	for (i = 0; i < n; i++) {
		const struct nmig_import_rev *r = &c->imp.revs[i];

		assert_string_equal(r->id, w[i].id);
		check_parents(w[i].parents, r->parents, r->nparents);
		assert_int_equal(r->transactional, w[i].tx);
		assert_string_equal(r->up_name, w[i].up_name);
		if (w[i].down_name)
			assert_string_equal(r->down_name, w[i].down_name);
		else
			assert_null(r->down_name);
		if (w[i].message)
			assert_string_equal(r->message, w[i].message);
		else
			assert_null(r->message);
		check_bytes(c, r, single);
	}
	check_roundtrip(c);
}

/* Whether diags holds a finding of severity sev whose file ends with
 * file_end and whose message contains msg. */
static int has_diag(const struct nmig_diags *d, enum nmig_severity sev,
		    const char *file_end, const char *msg)
{
	size_t i, n = strlen(file_end);

	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *it = &d->items[i];

		if (it->severity == sev && it->file && strlen(it->file) >= n &&
		    !strcmp(it->file + strlen(it->file) - n, file_end) &&
		    strstr(it->message, msg))
			return 1;
	}
	return 0;
}

static void test_diesel(void **state)
{
	/* Diesel's order compares versions with '-' removed, so
	 * 20170201000000 comes before 2017-12-01-000000 although nmig's id
	 * order would put it after; the parents keep Diesel's order. */
	static const struct want w[] = {
	    {"00000000000000", "", 1,
	     "00000000000000_diesel_initial_setup.up.sql",
	     "00000000000000_diesel_initial_setup.down.sql", NULL},
	    {"20170201000000", "00000000000000", 1,
	     "20170201000000_create_users.up.sql",
	     "20170201000000_create_users.down.sql", NULL},
	    {"2017-12-01-000000", "20170201000000", 1,
	     "2017-12-01-000000_add_email.up.sql",
	     "2017-12-01-000000_add_email.down.sql", NULL},
	    {"2018-01-01-000000", "2017-12-01-000000", 0,
	     "2018-01-01-000000_index_email.up.sql",
	     "2018-01-01-000000_index_email.down.sql", NULL},
	    {"2018-02-01-000000", "2018-01-01-000000", 1,
	     "2018-02-01-000000_drop_legacy.up.sql", NULL, NULL},
	};
	struct ctx *c = *state;
	static const char header[] = "-- nmig:parents 2017-12-01-000000\n"
				     "-- nmig:transaction off\n";

	check_fixture(c, "diesel", NMIG_IMPORT_DIESEL, w, 5);
	assert_memory_equal(c->imp.revs[3].up_text, header, sizeof(header) - 1);
	assert_int_equal(c->imp.revs[3].header_len, sizeof(header) - 1);
	assert_int_equal(c->imp.revs[3].header_lines, 2);
	assert_starts(c->imp.revs[0].up_text,
		      "-- nmig:parents base\n-- This file");
	/* README.md is not a migration; the hidden .keep is not mentioned */
	assert_true(has_diag(&c->diags, NMIG_SEV_WARNING, "/README.md",
			     "not a diesel migration directory"));
	assert_false(has_diag(&c->diags, NMIG_SEV_WARNING, "/.keep", ""));
	assert_int_equal(c->diags.errors, 0);
}

static void test_flat(void **state)
{
	static const struct want w[] = {
	    {"1", "", 1, "1_create_users.up.sql", "1_create_users.down.sql",
	     NULL},
	    {"2", "1", 0, "2_index_name.up.sql", "2_index_name.down.sql", NULL},
	    {"V0003", "2", 1, "V0003_Add_Email.up.sql",
	     "V0003_Add_Email.down.sql", NULL},
	    {"10", "V0003", 0, "10_backfill.up.sql", "10_backfill.down.sql",
	     NULL},
	};
	struct ctx *c = *state;

	check_fixture(c, "flat", NMIG_IMPORT_FLAT, w, 4);
	/* transaction off was chosen from the SQL, and said so */
	assert_true(has_diag(&c->diags, NMIG_SEV_NOTE, "/2_index_name.up.sql",
			     "cannot run in a transaction block"));
	assert_true(has_diag(&c->diags, NMIG_SEV_NOTE, "/10_backfill.up.sql",
			     "controls its own transaction"));
	assert_true(
	    has_diag(&c->diags, NMIG_SEV_WARNING, "/notes.txt", "ignored"));
}

static void test_dbmate(void **state)
{
	/* dbmate orders by file name, as text: 10_ before 1_, 20_ before
	 * 2_ */
	static const struct want w[] = {
	    {"10", "", 1, "10_create_teams.up.sql", "10_create_teams.down.sql",
	     NULL},
	    {"1", "10", 1, "1_create_users.up.sql", "1_create_users.down.sql",
	     NULL},
	    {"20", "1", 0, "20_index_name.up.sql", "20_index_name.down.sql",
	     NULL},
	    {"2", "20", 1, "2_add_email.up.sql", "2_add_email.down.sql", NULL},
	    {"3", "2", 1, "3_seed.up.sql", NULL, NULL},
	};
	struct ctx *c = *state;
	const struct nmig_import_rev *r;

	check_fixture(c, "dbmate", NMIG_IMPORT_DBMATE, w, 5);
	/* the comment before the up marker stays with the up SQL */
	r = &c->imp.revs[1];
	assert_string_equal(r->up_text,
			    "-- nmig:parents 10\n"
			    "-- The users of the fixture app.\n\n"
			    "-- migrate:up\n"
			    "CREATE TABLE users (id serial PRIMARY KEY, name "
			    "text NOT NULL);\n\n");
	assert_memory_equal(
	    r->down_text, "-- migrate:down\nDROP TABLE users;\n", r->down_len);
	/* a CRLF file gets a CRLF header */
	r = &c->imp.revs[3];
	assert_starts(r->up_text, "-- nmig:parents 20\r\n-- migrate:up\r\n");
	assert_int_equal(r->header_lines, 1);
}

static void test_goose(void **state)
{
	static const struct want w[] = {
	    {"00001", "", 1, "00001_create_users.up.sql",
	     "00001_create_users.down.sql", NULL},
	    {"00002", "00001", 0, "00002_index_name.up.sql",
	     "00002_index_name.down.sql", NULL},
	    {"00003", "00002", 1, "00003_seed.up.sql", NULL, NULL},
	    {"20230101120000", "00003", 1, "20230101120000_add_email.up.sql",
	     "20230101120000_add_email.down.sql", NULL},
	};
	struct ctx *c = *state;
	const struct nmig_import_rev *r;

	check_fixture(c, "goose", NMIG_IMPORT_GOOSE, w, 4);
	/* StatementBegin/End stay as the comments they are */
	r = &c->imp.revs[0];
	assert_non_null(strstr(r->up_text, "-- +goose StatementBegin\n"));
	assert_non_null(strstr(r->up_text, "-- +goose StatementEnd\n"));
	assert_starts(r->down_text, "-- +goose Down\n");
	r = &c->imp.revs[1];
	assert_starts(r->up_text,
		      "-- nmig:parents 00001\n-- nmig:transaction off\n"
		      "-- +goose NO TRANSACTION\n");
}

static void test_sourcegraph(void **state)
{
	/* a DAG: parents first, ties by id; 1003 has a parent with a larger
	 * id; 1020 merges two branches */
	static const struct want w[] = {
	    {"1000", "", 1, "1000_root.up.sql", "1000_root.down.sql", "root"},
	    {"1005", "1000", 1, "1005_branch_b.up.sql",
	     "1005_branch_b.down.sql", "Add teams"},
	    {"1010", "1000", 1, "1010_branch_a.up.sql",
	     "1010_branch_a.down.sql", "Add email"},
	    {"1020", "1010 1005", 1, "1020_merge.up.sql", "1020_merge.down.sql",
	     "Merge: email and teams"},
	    {"1003", "1020", 0, "1003_index_name.up.sql",
	     "1003_index_name.down.sql", "Index user names"},
	};
	struct ctx *c = *state;
	static const char header[] = "-- nmig:parents 1020\n"
				     "-- nmig:message Index user names\n"
				     "-- nmig:transaction off\n";

	check_fixture(c, "sourcegraph", NMIG_IMPORT_SOURCEGRAPH, w, 5);
	assert_int_equal(c->imp.revs[4].header_len, sizeof(header) - 1);
	assert_memory_equal(c->imp.revs[4].up_text, header, sizeof(header) - 1);
	assert_true(has_diag(&c->diags, NMIG_SEV_WARNING, "/squashed.sql",
			     "not a sourcegraph migration directory"));
}

/* ---- bad input ---- */

struct file {
	const char *path;
	const char *text;
};

struct bad {
	const char *what;
	enum nmig_import_format format;
	struct file files[4];
	int code;
	const char *message; /* a part of the message */
	const char *file;    /* the end of the file named */
	int line;
};

static const struct bad bad_cases[] = {
    {"diesel without up.sql",
     NMIG_IMPORT_DIESEL,
     {{"2019-01-01-000000_x/down.sql", "DROP TABLE x;\n"}},
     NMIG_EINPUT,
     "migration directory has no 'up.sql'",
     "/2019-01-01-000000_x",
     0},
    {"diesel versions equal without dashes",
     NMIG_IMPORT_DIESEL,
     {{"2019-01-01-000000_a/up.sql", "SELECT 1;\n"},
      {"20190101000000_b/up.sql", "SELECT 2;\n"}},
     NMIG_EINPUT,
     "is also used by '",
     "_b",
     0},
    {"diesel bad metadata",
     NMIG_IMPORT_DIESEL,
     {{"2019-01-01-000000_a/up.sql", "SELECT 1;\n"},
      {"2019-01-01-000000_a/metadata.toml",
       "# comment\nrun_in_transaction = maybe\n"}},
     NMIG_EINPUT,
     "'run_in_transaction' must be true or false",
     "/metadata.toml",
     2},
    {"diesel metadata not key = value",
     NMIG_IMPORT_DIESEL,
     {{"2019-01-01-000000_a/up.sql", "SELECT 1;\n"},
      {"2019-01-01-000000_a/metadata.toml", "[table]\n"}},
     NMIG_EINPUT,
     "expected 'key = value'",
     "/metadata.toml",
     1},
    {"diesel version base",
     NMIG_IMPORT_DIESEL,
     {{"base_x/up.sql", "SELECT 1;\n"}},
     NMIG_EINPUT,
     "cannot become an nmig revision: 'base_x.up.sql' has a reserved "
     "word as revision id",
     "/base_x",
     0},
    {"diesel version with ':'",
     NMIG_IMPORT_DIESEL,
     {{"2019:01_x/up.sql", "SELECT 1;\n"}},
     NMIG_EINPUT,
     "'2019:01_x.up.sql' has a revision id with ':' in it",
     "/2019:01_x",
     0},
    {"diesel version head",
     NMIG_IMPORT_DIESEL,
     {{"head_x/up.sql", "SELECT 1;\n"}},
     NMIG_EINPUT,
     "has a reserved word as revision id",
     "/head_x",
     0},
    {"already nmig",
     NMIG_IMPORT_FLAT,
     {{"1_a.up.sql", "-- nmig:parents base\nSELECT 1;\n"}},
     NMIG_EINPUT,
     "already starts with an nmig header",
     "/1_a.up.sql",
     1},
    {"flat down without up",
     NMIG_IMPORT_FLAT,
     {{"1_a.up.sql", "SELECT 1;\n"}, {"2_b.down.sql", "SELECT 2;\n"}},
     NMIG_EINPUT,
     "down file has no up file '2_b.up.sql'",
     "/2_b.down.sql",
     0},
    {"flat version used twice",
     NMIG_IMPORT_FLAT,
     {{"1_a.up.sql", "SELECT 1;\n"}, {"001_b.up.sql", "SELECT 2;\n"}},
     NMIG_EINPUT,
     "version 1 is also used by '001_b.up.sql'",
     "/1_a.up.sql",
     0},
    {"flat up and down names differ",
     NMIG_IMPORT_FLAT,
     {{"1_a.up.sql", "SELECT 1;\n"}, {"1_b.down.sql", "SELECT 2;\n"}},
     NMIG_EINPUT,
     "version 1 is also used by '1_a.up.sql'",
     "/1_b.down.sql",
     0},
    {"flat V and numeric versions equal",
     NMIG_IMPORT_FLAT,
     {{"V0001.A.up.sql", "SELECT 1;\n"}, {"1_b.up.sql", "SELECT 2;\n"}},
     NMIG_EINPUT,
     "is also used by",
     ".up.sql",
     0},
    {"dbmate statement before up",
     NMIG_IMPORT_DBMATE,
     {{"1_a.sql", "CREATE TABLE t ();\n-- migrate:up\nSELECT 1;\n"}},
     NMIG_EINPUT,
     "statement before '-- migrate:up'",
     "/1_a.sql",
     1},
    {"dbmate without up",
     NMIG_IMPORT_DBMATE,
     {{"1_a.sql", "-- only a comment\n\n"}},
     NMIG_EINPUT,
     "no '-- migrate:up' line",
     "/1_a.sql",
     0},
    {"dbmate two up blocks",
     NMIG_IMPORT_DBMATE,
     {{"1_a.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n"
		  "SELECT 2;\n-- migrate:up\nSELECT 3;\n"}},
     NMIG_EINPUT,
     "second '-- migrate:up' block",
     "/1_a.sql",
     5},
    {"dbmate two down blocks",
     NMIG_IMPORT_DBMATE,
     {{"1_a.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n"
		  "SELECT 2;\n--migrate:down\n"}},
     NMIG_EINPUT,
     "second '-- migrate:down' block (the first is at "
     "line 3)",
     "/1_a.sql",
     5},
    {"dbmate down before up",
     NMIG_IMPORT_DBMATE,
     {{"1_a.sql", "-- migrate:down\nSELECT 2;\n-- migrate:up\n"}},
     NMIG_EINPUT,
     "'-- migrate:down' before '-- migrate:up'",
     "/1_a.sql",
     1},
    {"dbmate same version twice",
     NMIG_IMPORT_DBMATE,
     {{"1_a.sql", "-- migrate:up\nSELECT 1;\n"},
      {"1_b.sql", "-- migrate:up\nSELECT 2;\n"}},
     NMIG_EINPUT,
     "version '1' is also used by '",
     "/1_b.sql",
     0},
    {"goose without Up",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "-- +goose Down\nSELECT 1;\n"}},
     NMIG_EINPUT,
     "'-- +goose Down' before '-- +goose Up'",
     "/1_a.sql",
     1},
    {"goose no annotation",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "-- nothing\n"}},
     NMIG_EINPUT,
     "no '-- +goose Up' annotation",
     "/1_a.sql",
     0},
    {"goose Go migration",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "-- +goose Up\nSELECT 1;\n"},
      {"2_b.go", "package migrations\n"}},
     NMIG_EINPUT,
     "Go migrations cannot be imported",
     "/2_b.go",
     0},
    {"goose envsub",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "-- +goose ENVSUB ON\n-- +goose Up\n"
		  "CREATE ROLE ${ROLE};\n"}},
     NMIG_EINPUT,
     "'-- +goose ENVSUB ON' substitutes",
     "/1_a.sql",
     1},
    {"goose StatementBegin not ended",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "-- +goose Up\n-- +goose StatementBegin\n"
		  "SELECT 1;\n"}},
     NMIG_EINPUT,
     "StatementBegin without StatementEnd",
     "/1_a.sql",
     2},
    {"goose Down inside a statement",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "-- +goose Up\n-- +goose StatementBegin\n"
		  "SELECT 1;\n-- +goose Down\n"}},
     NMIG_EINPUT,
     "'-- +goose Down' inside a StatementBegin",
     "/1_a.sql",
     4},
    {"goose unknown annotation",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "-- +goose Up\n-- +goose Sideways\n"}},
     NMIG_EINPUT,
     "unknown goose annotation",
     "/1_a.sql",
     2},
    {"goose statement before Up",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "\nSELECT 0;\n-- +goose Up\n"}},
     NMIG_EINPUT,
     "statement before '-- +goose Up'",
     "/1_a.sql",
     2},
    {"goose version zero",
     NMIG_IMPORT_GOOSE,
     {{"000_a.sql", "-- +goose Up\n"}},
     NMIG_EINPUT,
     "version 000 is not greater than zero",
     "/000_a.sql",
     0},
    {"goose version too large",
     NMIG_IMPORT_GOOSE,
     {{"9223372036854775808_a.sql", "-- +goose Up\n"}},
     NMIG_EINPUT,
     "does not fit goose's 64-bit versions",
     "_a.sql",
     0},
    {"goose name without version",
     NMIG_IMPORT_GOOSE,
     {{"init.sql", "-- +goose Up\n"}},
     NMIG_EINPUT,
     "start with a version and '_'",
     "/init.sql",
     0},
    {"goose same version twice",
     NMIG_IMPORT_GOOSE,
     {{"1_a.sql", "-- +goose Up\n"}, {"01_b.sql", "-- +goose Up\n"}},
     NMIG_EINPUT,
     "is also used by",
     ".sql",
     0},
    {"sourcegraph missing parent",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"},
      {"1_a/metadata.yaml", "name: a\nparents: [999]\n"}},
     NMIG_EINPUT,
     "parent '999' is not a migration in '",
     "/1_a/metadata.yaml",
     2},
    {"sourcegraph self parent",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"}, {"1_a/metadata.yaml", "parents:\n- 1\n"}},
     NMIG_EINPUT,
     "migration '1' lists itself as a parent",
     "/1_a/metadata.yaml",
     1},
    {"sourcegraph cycle",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"},
      {"1_a/metadata.yaml", "parents: [2]\n"},
      {"2_b/up.sql", "SELECT 2;\n"},
      {"2_b/metadata.yaml", "parents: [1]\n"}},
     NMIG_EGRAPH,
     "the parents lists make a cycle through '1', '2'",
     "/1_a/metadata.yaml",
     0},
    {"sourcegraph without metadata",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"}},
     NMIG_EINPUT,
     "migration directory has no 'metadata.yaml'",
     "/1_a",
     0},
    /* no parents: a root, and Sourcegraph refuses a second root */
    {"sourcegraph two roots",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"},
      {"1_a/metadata.yaml", "parents: []\n"},
      {"2_b/up.sql", "SELECT 2;\n"},
      {"2_b/metadata.yaml", "name: b\nparnets: [1]\n"}},
     NMIG_EGRAPH,
     "2 migrations have no parent: '1', '2'",
     "/2_b/metadata.yaml",
     0},
    {"sourcegraph unclosed list",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"},
      {"1_a/metadata.yaml", "name: a\nparents: [1,\n  2]\n"}},
     NMIG_EINPUT,
     "cannot read the parents list",
     "/1_a/metadata.yaml",
     2},
    {"sourcegraph parent not a number",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"}, {"1_a/metadata.yaml", "parents: [abc]\n"}},
     NMIG_EINPUT,
     "parent 'abc' is not a migration id",
     "/1_a/metadata.yaml",
     1},
    {"sourcegraph nested value under a known key",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"},
      {"1_a/metadata.yaml", "parents: []\nname:\n  key: value\n"}},
     NMIG_EINPUT,
     "cannot read this line",
     "/1_a/metadata.yaml",
     3},
    {"sourcegraph parent not a number",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"}, {"1_a/metadata.yaml", "parent: x1\n"}},
     NMIG_EINPUT,
     "parent 'x1' is not a migration id",
     "/1_a/metadata.yaml",
     1},
    {"sourcegraph bad flag",
     NMIG_IMPORT_SOURCEGRAPH,
     {{"1_a/up.sql", "SELECT 1;\n"},
      {"1_a/metadata.yaml",
       "parents: []\ncreateIndexConcurrently: sometimes\n"}},
     NMIG_EINPUT,
     "'createIndexConcurrently' must be true or false",
     "/1_a/metadata.yaml",
     2},
    {"nothing to import",
     NMIG_IMPORT_GOOSE,
     {{"README.md", "no migrations here\n"}},
     NMIG_EINPUT,
     "no goose migrations in '",
     "",
     0},
};

static void test_bad_input(void **state)
{
	struct ctx *c = *state;
	char dir[64];
	size_t i, j;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		const struct nmig_error *e;
		char name[PATH_MAX];

		ctx_reset(c);
		snprintf(dir, sizeof(dir), "bad%zu", i);
		assert_int_equal(mkdir(scratch(c, dir), 0777), 0);
		for (j = 0; j < 4 && b->files[j].path; j++) {
			snprintf(name, sizeof(name), "%s/%s", dir,
				 b->files[j].path);
			put_file(c, name, b->files[j].text);
		}
		print_message("case: %s\n", b->what);
		assert_int_equal(nmig_import_read(&c->imp, scratch(c, dir),
						  b->format, &c->diags),
				 b->code);
		assert_int_equal(c->imp.n, 0);
		assert_null(c->imp.revs);
		e = nmig_error_last();
		if (!strstr(e->message, b->message))
			fail_msg("case '%s': message '%s' lacks '%s'", b->what,
				 e->message, b->message);
		assert_true(strlen(e->file) >= strlen(b->file));
		assert_string_equal(e->file + strlen(e->file) - strlen(b->file),
				    b->file);
		assert_int_equal(e->line, b->line);
		assert_true(c->diags.errors >= 1);
		assert_true(
		    has_diag(&c->diags, NMIG_SEV_ERROR, b->file, b->message));
	}
}

/* Every bad file is reported, and the first stays the last error. */
static void test_all_errors_reported(void **state)
{
	struct ctx *c = *state;

	put_file(c, "src/1_a.sql", "SELECT 1;\n-- +goose Up\n");
	put_file(c, "src/2_b.sql", "-- +goose Up\nSELECT 2;\n");
	put_file(c, "src/3_c.sql", "-- +goose Up\n-- +goose Bogus\n");
	assert_int_equal(nmig_import_read(&c->imp, scratch(c, "src"),
					  NMIG_IMPORT_GOOSE, &c->diags),
			 NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 2);
	assert_true(has_diag(&c->diags, NMIG_SEV_ERROR, "/1_a.sql",
			     "statement before"));
	assert_true(has_diag(&c->diags, NMIG_SEV_ERROR, "/3_c.sql",
			     "unknown goose annotation"));
	assert_string_equal(nmig_error_last()->message,
			    "statement before '-- +goose Up'");
	assert_string_equal(nmig_error_last()->source, "SELECT 1;");
	assert_int_equal(nmig_error_last()->line, 1);
	assert_non_null(strstr(nmig_error_last()->hint, "goose refuses"));
	/* without a diagnostics list the result is the same */
	ctx_reset(c);
	assert_int_equal(nmig_import_read(&c->imp, scratch(c, "src"),
					  NMIG_IMPORT_GOOSE, NULL),
			 NMIG_EINPUT);
	assert_string_equal(nmig_error_last()->message,
			    "statement before '-- +goose Up'");
}

/* dbmate: a transaction:false on one block only is a warning; the whole
 * revision runs outside a transaction. Unknown options are warnings. */
static void test_dbmate_options(void **state)
{
	struct ctx *c = *state;

	put_file(c, "src/1_a.sql",
		 "-- migrate:up transaction:false\nSELECT 1;\n"
		 "-- migrate:down\nSELECT 2;\n");
	put_file(c, "src/2_b.sql",
		 "--migrate:up   foo:bar transaction:true\nSELECT 1;\n");
	put_file(c, "src/3_c.sql",
		 "-- migrate:up transacton:false\nSELECT 1;\n");
	assert_int_equal(nmig_import_read(&c->imp, scratch(c, "src"),
					  NMIG_IMPORT_DBMATE, &c->diags),
			 NMIG_OK);
	assert_int_equal(c->imp.n, 3);
	assert_int_equal(c->imp.revs[0].transactional, 0);
	assert_int_equal(c->imp.revs[1].transactional, 1);
	/* a misspelt option is ignored, as dbmate ignores it: warned */
	assert_int_equal(c->imp.revs[2].transactional, 1);
	assert_true(has_diag(&c->diags, NMIG_SEV_WARNING, "/3_c.sql",
			     "dbmate option 'transacton:false' ignored; did "
			     "you mean 'transaction'?"));
	assert_true(has_diag(&c->diags, NMIG_SEV_WARNING, "/1_a.sql",
			     "only the up block has transaction:false"));
	assert_true(has_diag(&c->diags, NMIG_SEV_WARNING, "/2_b.sql",
			     "dbmate option 'foo:bar' ignored"));
	/* `-- migrate:upgrade` is not a marker */
	ctx_reset(c);
	put_file(c, "src2/1_a.sql", "-- migrate:upgrade\n");
	assert_int_equal(nmig_import_read(&c->imp, scratch(c, "src2"),
					  NMIG_IMPORT_DBMATE, &c->diags),
			 NMIG_EINPUT);
	assert_string_equal(nmig_error_last()->message,
			    "no '-- migrate:up' line");
}

/* Sourcegraph names become the message, and the slug when the directory
 * has none; quoting and comments in metadata.yaml are understood. */
static void test_sourcegraph_names(void **state)
{
	struct ctx *c = *state;

	put_file(c, "src/17/up.sql", "SELECT 1;\n");
	put_file(c, "src/17/metadata.yaml",
		 "---\n# generated\nname: 'It''s a \"root\"'\nparents: []\n"
		 "privileged: true\nnonIdempotent: true\n");
	put_file(c, "src/0020_next/up.sql", "SELECT 2;\n");
	put_file(c, "src/0020_next/metadata.yaml",
		 "name: \"tab\\there\"\nparents:\n  - \"017\"\n");
	assert_int_equal(nmig_import_read(&c->imp, scratch(c, "src"),
					  NMIG_IMPORT_SOURCEGRAPH, &c->diags),
			 NMIG_OK);
	assert_int_equal(c->imp.n, 2);
	assert_string_equal(c->imp.revs[0].id, "17");
	assert_string_equal(c->imp.revs[0].message, "It's a \"root\"");
	assert_string_equal(c->imp.revs[0].up_name, "17_it_s_a_root.up.sql");
	assert_null(c->imp.revs[0].down_name);
	assert_string_equal(c->imp.revs[1].id, "0020");
	assert_string_equal(c->imp.revs[1].message, "tab here");
	/* the parent id as written in the directory name, not in the list */
	check_parents("17", c->imp.revs[1].parents, c->imp.revs[1].nparents);
	check_roundtrip(c);
}

/*
 * metadata.yaml read as Sourcegraph's loader reads it: `parent: N` (its
 * older single-parent key) adds N to the parents; any other key, and what
 * is nested under it, is ignored with a warning at its line that suggests
 * a near known key; YAML 1.1 booleans.
 */
static void test_sourcegraph_keys(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *w = NULL;
	size_t i, nwarn = 0;

	put_file(c, "src/1/up.sql", "SELECT 1;\n");
	put_file(c, "src/1/metadata.yaml", "name: root\nparents: []\n");
	put_file(c, "src/2/up.sql", "SELECT 2;\n");
	put_file(c, "src/2/metadata.yaml", "name: two\nparent: 1\n");
	put_file(c, "src/3/up.sql", "SELECT 3;\n");
	put_file(c, "src/3/metadata.yaml",
		 "name: three\nparents: [2]\nparent: 1\nowner:\n  team: x\n"
		 "  - y\n");
	put_file(c, "src/4/up.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n");
	put_file(c, "src/4/metadata.yaml",
		 "parents: [3]\nparent: 3\ncreateIndexConcurently: yes\n"
		 "createIndexConcurrently: yes\n"
		 "bestEffortTerminateBlockingTransactions: true\n"
		 "privileged: false\nnonIdempotent: true\n");
	assert_int_equal(nmig_import_read(&c->imp, scratch(c, "src"),
					  NMIG_IMPORT_SOURCEGRAPH, &c->diags),
			 NMIG_OK);
	assert_int_equal(c->imp.n, 4);
	check_parents("1", c->imp.revs[1].parents, c->imp.revs[1].nparents);
	check_parents("2 1", c->imp.revs[2].parents, c->imp.revs[2].nparents);
	/* the same edge in both keys is one parent */
	check_parents("3", c->imp.revs[3].parents, c->imp.revs[3].nparents);
	assert_int_equal(c->imp.revs[3].transactional, 0);
	for (i = 0; i < c->diags.n; i++) {
		if (c->diags.items[i].severity != NMIG_SEV_WARNING ||
		    !strstr(c->diags.items[i].message, "unknown key"))
			continue;
		nwarn++;
		if (strstr(c->diags.items[i].message, "createIndexConcurently"))
			w = &c->diags.items[i];
	}
	/* 'owner' (line 4 of 3) and the misspelt key (line 3 of 4) */
	assert_int_equal(nwarn, 2);
	assert_non_null(w);
	assert_int_equal(w->line, 3);
	assert_non_null(strstr(w->file, "/4/metadata.yaml"));
	assert_non_null(strstr(w->message, "did you mean "
					   "'createIndexConcurrently'?"));
	check_roundtrip(c);
}

/* diesel's metadata.toml: an unknown key is a warning at its line, with
 * the known key it may mean; the revision keeps diesel's default. */
static void test_diesel_unknown_key(void **state)
{
	struct ctx *c = *state;

	put_file(c, "src/2019-01-01-000000_a/up.sql", "SELECT 1;\n");
	put_file(c, "src/2019-01-01-000000_a/down.sql", "SELECT 2;\n");
	put_file(c, "src/2019-01-01-000000_a/metadata.toml",
		 "# tuned\nrun_in_transacton = false\nowner = \"me\"\n");
	assert_int_equal(nmig_import_read(&c->imp, scratch(c, "src"),
					  NMIG_IMPORT_DIESEL, &c->diags),
			 NMIG_OK);
	assert_int_equal(c->imp.n, 1);
	assert_int_equal(c->imp.revs[0].transactional, 1);
	assert_true(has_diag(&c->diags, NMIG_SEV_WARNING, "/metadata.toml",
			     "unknown key 'run_in_transacton'; did you mean "
			     "'run_in_transaction'?"));
	assert_true(has_diag(&c->diags, NMIG_SEV_WARNING, "/metadata.toml",
			     "unknown key 'owner' ignored"));
}

/* ---- the destination ---- */

/* nmig_import_check_dest alone: the checks of a write, nothing written. */
static void test_check_dest(void **state)
{
	struct ctx *c = *state;
	char dest[1024];
	struct stat st;
	size_t written = 0;

	assert_int_equal(nmig_import_read(&c->imp, fixture(c, "goose"),
					  NMIG_IMPORT_GOOSE, &c->diags),
			 NMIG_OK);
	snprintf(dest, sizeof(dest), "%s/check/migrations", c->tmp);
	assert_int_equal(
	    nmig_import_check_dest(&c->imp, dest, NMIG_IMPORT_DRY_RUN),
	    NMIG_OK);
	assert_int_not_equal(stat(dest, &st), 0);
	/* Without a dry run the directory is made, empty. */
	assert_int_equal(nmig_import_check_dest(&c->imp, dest, 0), NMIG_OK);
	assert_int_equal(stat(dest, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(nmig_import_write(&c->imp, dest, 0, &written),
			 NMIG_OK);
	assert_int_equal(nmig_import_check_dest(&c->imp, dest, 0),
			 NMIG_EEXISTS);
	assert_non_null(strstr(nmig_error_last()->message, "is not empty"));
	assert_int_equal(
	    nmig_import_check_dest(&c->imp, dest, NMIG_IMPORT_FORCE), NMIG_OK);
	put_file(c, "check/migrations/00002_other.up.sql", "SELECT 1;\n");
	assert_int_equal(
	    nmig_import_check_dest(&c->imp, dest, NMIG_IMPORT_FORCE),
	    NMIG_EEXISTS);
	assert_non_null(strstr(nmig_error_last()->message,
			       "has the id '00002' of an imported revision"));
	put_file(c, "check/afile", "x");
	snprintf(dest, sizeof(dest), "%s/check/afile", c->tmp);
	assert_int_equal(nmig_import_check_dest(&c->imp, dest, 0),
			 NMIG_EEXISTS);
	assert_non_null(strstr(nmig_error_last()->message,
			       "exists and is not a directory"));
}

static void test_dest(void **state)
{
	struct ctx *c = *state;
	char dest[1024];
	struct stat st;
	size_t written = 99;

	assert_int_equal(nmig_import_read(&c->imp, fixture(c, "goose"),
					  NMIG_IMPORT_GOOSE, &c->diags),
			 NMIG_OK);
	/* dry run: checked, nothing created */
	snprintf(dest, sizeof(dest), "%s/a/b/migrations", c->tmp);
	assert_int_equal(
	    nmig_import_write(&c->imp, dest, NMIG_IMPORT_DRY_RUN, &written),
	    NMIG_OK);
	assert_int_equal(written, 0);
	assert_int_not_equal(stat(dest, &st), 0);
	/* created with its parents */
	assert_int_equal(nmig_import_write(&c->imp, dest, 0, &written),
			 NMIG_OK);
	assert_int_equal(written, 7);
	assert_int_equal(stat(dest, &st), 0);
	/* now it is not empty */
	assert_int_equal(nmig_import_write(&c->imp, dest, 0, &written),
			 NMIG_EEXISTS);
	assert_int_equal(written, 0);
	assert_non_null(strstr(nmig_error_last()->message, "is not empty"));
	assert_non_null(strstr(nmig_error_last()->detail, "7 entries"));
	assert_non_null(strstr(nmig_error_last()->hint, "--force"));
	assert_int_equal(
	    nmig_import_write(&c->imp, dest, NMIG_IMPORT_DRY_RUN, &written),
	    NMIG_EEXISTS);
	/* --force replaces same-name files */
	assert_int_equal(
	    nmig_import_write(&c->imp, dest, NMIG_IMPORT_FORCE, &written),
	    NMIG_OK);
	assert_int_equal(written, 7);
	/* but refuses another file with an imported id */
	snprintf(c->path, sizeof(c->path), "%s/00002_other.up.sql", dest);
	put_file(c, c->path + strlen(c->tmp) + 1, "SELECT 1;\n");
	assert_int_equal(
	    nmig_import_write(&c->imp, dest, NMIG_IMPORT_FORCE, &written),
	    NMIG_EEXISTS);
	assert_non_null(strstr(nmig_error_last()->message,
			       "00002_other.up.sql' has the id '00002' of an "
			       "imported revision"));
	/* no temporary file is left behind */
	snprintf(c->path, sizeof(c->path), "%s", dest);
	{
		DIR *d = opendir(dest);
		struct dirent *de;
		int n = 0;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
			else
				assert_true(!strcmp(de->d_name, ".") ||
					    !strcmp(de->d_name, ".."));
		closedir(d);
		assert_int_equal(n, 8);
	}
	/* hidden files do not make a directory non-empty */
	put_file(c, "hidden/.gitkeep", "");
	assert_int_equal(
	    nmig_import_write(&c->imp, scratch(c, "hidden"), 0, &written),
	    NMIG_OK);
	/* a file is not a directory */
	put_file(c, "plainfile", "x");
	assert_int_equal(
	    nmig_import_write(&c->imp, scratch(c, "plainfile"), 0, &written),
	    NMIG_EEXISTS);
	assert_non_null(strstr(nmig_error_last()->message,
			       "exists and is not a directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_format_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detect_ambiguous, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_detect_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_diesel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dbmate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_goose, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sourcegraph, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_errors_reported, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dbmate_options, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sourcegraph_keys, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_diesel_unknown_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sourcegraph_names, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_dest, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
