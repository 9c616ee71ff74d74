/*
 * Unit tests of the revision files (lib/revfile.c): id order, file names,
 * headers (tables of texts with their expected fields or error position),
 * checksums (known SHA-256 vectors, CRLF folding), and whole directories:
 * the fixtures under tests/fixtures/revfile (a DAG with a merge, two heads
 * and a parent with a larger id than its child; one directory per kind of
 * bad input), directories built at test time for what cannot be committed
 * (a file over the size cap, an unreadable file, CRLF copies, control
 * characters in names, 10,000 revisions), and the authelia corpus when
 * ../shared/corpora is there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "error.h"
#include "revfile.h"

/* What one test owns; teardown frees it even after a failed assert. */
struct ctx {
	struct nmig_revset set;
	struct nmig_revset set2; /* a second load to compare */
	struct nmig_diags diags;
	struct nmig_revision rev;
	char tmp[512]; /* scratch directory, "" when none */
	char path[1024];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	*state = c;
	return 0;
}

/* Remove path and everything under it. */
static void rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[2048];

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		d = opendir(path);
		while (d && (de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_rf(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nmig_revset_release(&c->set);
	nmig_revset_release(&c->set2);
	nmig_diags_release(&c->diags);
	nmig_revision_release(&c->rev);
	if (c->tmp[0])
		rm_rf(c->tmp);
	free(c);
	nmig_error_clear();
	return 0;
}

/* Make the scratch directory of the test. */
static const char *scratch(struct ctx *c)
{
	const char *t = getenv("TMPDIR");

	snprintf(c->tmp, sizeof(c->tmp), "%s/nmig-revfile-XXXXXX",
		 t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(c->tmp));
	return c->tmp;
}

static void put_file(struct ctx *c, const char *name, const void *data,
		     size_t len)
{
	FILE *f;

	snprintf(c->path, sizeof(c->path), "%s/%s", c->tmp, name);
	f = fopen(c->path, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put_text(struct ctx *c, const char *name, const char *text)
{
	put_file(c, name, text, strlen(text));
}

static const char *fixtures(void)
{
	const char *root = getenv("NMIG_FIXTURES");

	if (!root)
		fail_msg("NMIG_FIXTURES is not set (run through ctest)");
	return root;
}

/* Load tests/fixtures/revfile/<name> into c. */
static int load_fixture(struct ctx *c, const char *name)
{
	snprintf(c->path, sizeof(c->path), "%s/revfile/%s", fixtures(), name);
	return nmig_revset_load(&c->set, c->path, &c->diags);
}

/* The n-th finding of severity sev (0-based), failing when missing. */
static const struct nmig_diag *finding(const struct ctx *c,
				       enum nmig_severity sev, size_t n)
{
	size_t i;

	for (i = 0; i < c->diags.n; i++)
		if (c->diags.items[i].severity == sev && n-- == 0)
			return &c->diags.items[i];
	fail_msg("finding %zu of severity %d is missing", n, (int)sev);
	return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The parents of rev joined by spaces, in buf. */
static const char *joined(char **list, size_t n, char *buf, size_t cap)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s",
					i ? " " : "", list[i]);
	return buf;
}

/* ---- ids ---------------------------------------------------------- */

static void test_id_is_digits(void **state)
{
	(void)state;
	assert_int_equal(nmig_id_is_digits("0"), 1);
	assert_int_equal(nmig_id_is_digits("20261126120000"), 1);
	assert_int_equal(nmig_id_is_digits("000042"), 1);
	assert_int_equal(nmig_id_is_digits(""), 0);
	assert_int_equal(nmig_id_is_digits("12a"), 0);
	assert_int_equal(nmig_id_is_digits("-1"), 0);
	assert_int_equal(nmig_id_is_digits("+1"), 0);
	assert_int_equal(nmig_id_is_digits("1 "), 0);
	assert_int_equal(nmig_id_is_digits("2019-02-26"), 0);
}

static void test_id_cmp(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
	    {"1", "2", -1},
	    {"2", "10", -1}, /* numeric, not text */
	    {"10", "9", 1},
	    {"10", "10", 0},
	    {"000042", "42", -1}, /* same number: ties broken as text */
	    {"001", "1", -1},
	    {"0", "000", -1},
	    {"000042", "000043", -1},
	    {"1725035224", "20261126120000", -1},
	    {"20261126120000", "20261126120001", -1},
	    /* beyond 64 bits */
	    {"18446744073709551616", "18446744073709551615", 1},
	    {"99999999999999999999999", "100000000000000000000000", -1},
	    {"000000000000000000000000000001", "2", -1},
	    /* not all digits: text order */
	    {"2019-02-26-002946", "2019-03-01-101010", -1},
	    {"00000000000000", "2019-02-26-002946", -1},
	    {"V0001.Initial", "V0002.WebAuthn", -1},
	    {"V10", "V9", -1},
	    {"abc", "abc", 0},
	    {"a", "b", -1},
	    {"9", "a", -1},
	    {"10a", "9", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = nmig_id_cmp(cases[i].a, cases[i].b);
		int back = nmig_id_cmp(cases[i].b, cases[i].a);

		if (got != cases[i].want || back != -cases[i].want)
			fail_msg("nmig_id_cmp('%s', '%s') = %d / %d, want %d",
				 cases[i].a, cases[i].b, got, back,
				 cases[i].want);
	}
}

/* ---- names -------------------------------------------------------- */

static void test_parse_name(void **state)
{
	static const struct {
		const char *name;
		int rc;
		const char *id, *slug;
		char kind;
		const char *err; /* part of the message */
	} cases[] = {
	    {"20261126120000_create_tasks.up.sql", 1, "20261126120000",
	     "create_tasks", 'u', NULL},
	    {"20261126120000_create_tasks.down.sql", 1, "20261126120000",
	     "create_tasks", 'd', NULL},
	    {"000042.up.sql", 1, "000042", "", 'u', NULL},
	    {"1725035224_x.down.sql", 1, "1725035224", "x", 'd', NULL},
	    {"2019-02-26-002946_create_user.up.sql", 1, "2019-02-26-002946",
	     "create_user", 'u', NULL},
	    {"V0001.Initial_Schema.up.sql", 1, "V0001.Initial", "Schema", 'u',
	     NULL},
	    {"V0002.WebAuthn.down.sql", 1, "V0002.WebAuthn", "", 'd', NULL},
	    {"001_a_b_c.up.sql", 1, "001", "a_b_c", 'u', NULL},
	    {"001_.up.sql", 1, "001", "", 'u', NULL},
	    {"001_%s%n%x.up.sql", 1, "001", "%s%n%x", 'u', NULL},
	    {"001_it's a \"test\".up.sql", 1, "001", "it's a \"test\"", 'u',
	     NULL},
	    {"001_ünïcödé 名前.up.sql", 1, "001", "ünïcödé 名前", 'u', NULL},
	    {"header_x.up.sql", 1, "header", "x", 'u', NULL},
	    /* not migrations at all */
	    {"README.md", 0, NULL, NULL, 0, NULL},
	    {".gitkeep", 0, NULL, NULL, 0, NULL},
	    {"001_a.up.sql~", 0, NULL, NULL, 0, NULL},
	    {"001_a.up.sql.orig", 0, NULL, NULL, 0, NULL},
	    {".#001_a.up.sql", 0, NULL, NULL, 0, NULL},
	    {"._001_a.up.sql", 0, NULL, NULL, 0, NULL},
	    {".hidden.sql", 0, NULL, NULL, 0, NULL},
	    {"up.sql.txt", 0, NULL, NULL, 0, NULL},
	    /* malformed */
	    {"notes.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "'notes.sql' is not a migration file name"},
	    {"001_a.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "not a migration file name"},
	    {"001_a.UP.SQL", NMIG_EINPUT, NULL, NULL, 0,
	     "not a migration file name"},
	    {"001_a.up.SQL", NMIG_EINPUT, NULL, NULL, 0,
	     "not a migration file name"},
	    {"_foo.up.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "'_foo.up.sql' has no revision id"},
	    {".up.sql", NMIG_EINPUT, NULL, NULL, 0, "has no revision id"},
	    {".down.sql", NMIG_EINPUT, NULL, NULL, 0, "has no revision id"},
	    {"_.down.sql", NMIG_EINPUT, NULL, NULL, 0, "has no revision id"},
	    {"001 a.up.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "revision id with a space"},
	    {"001\tx_a.up.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "control character"},
	    {"1,2_a.up.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "revision id with ','"},
	    {"a:b_c.up.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "revision id with ':'"},
	    {"base_x.up.sql", NMIG_EINPUT, NULL, NULL, 0, "reserved"},
	    {"head.up.sql", NMIG_EINPUT, NULL, NULL, 0, "reserved"},
	    {"heads_x.down.sql", NMIG_EINPUT, NULL, NULL, 0, "reserved"},
	    {"001_\xff\xfe.up.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "'001_??.up.sql' is not a valid UTF-8 file name"},
	    {"001_a\nb.up.sql", NMIG_EINPUT, NULL, NULL, 0,
	     "'001_a?b.up.sql' contains a control character"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *id = (char *)"x", *slug = (char *)"x", kind = 'x';
		int rc =
		    nmig_revfile_parse_name(cases[i].name, &id, &slug, &kind);
		int ok = rc == cases[i].rc;

		if (ok && rc == 1)
			ok = id && slug && !strcmp(id, cases[i].id) &&
			     !strcmp(slug, cases[i].slug) &&
			     kind == cases[i].kind;
		else if (ok)
			ok = !id && !slug && kind == 0;
		if (ok && rc < 0)
			ok = strstr(nmig_error_last()->message, cases[i].err) !=
				 NULL &&
			     nmig_error_last()->hint[0] != '\0';
		if (!ok)
			fail_msg("'%s': rc %d id '%s' slug '%s' kind '%c' "
				 "error '%s'",
				 cases[i].name, rc, id ? id : "(null)",
				 slug ? slug : "(null)", kind ? kind : '0',
				 nmig_error_last()->message);
		if (rc == 1) {
			free(id);
			free(slug);
		}
	}
}

/* ---- headers ------------------------------------------------------ */

struct header_case {
	const char *text;
	const char *parents; /* joined by spaces */
	int explicit_;
	const char *message;
	int transactional;
	const char *lint; /* joined by spaces */
	int header_lines;
};

static void test_header_fields(void **state)
{
	static const struct header_case cases[] = {
	    {"", "", 0, "my slug", 1, "", 0},
	    {"SELECT 1;\n", "", 0, "my slug", 1, "", 0},
	    {"-- nmig:parents base\n", "", 1, "my slug", 1, "", 1},
	    {"-- nmig:parents base", "", 1, "my slug", 1, "", 1},
	    {"-- nmig:parents 001 002\nSELECT 1;\n", "001 002", 1, "my slug", 1,
	     "", 1},
	    {"-- nmig:parents 001,002, 003\t004\n", "001 002 003 004", 1,
	     "my slug", 1, "", 1},
	    {"--nmig:parents 001\n--   nmig:message  hello world  \n", "001", 1,
	     "hello world", 1, "", 2},
	    {"-- nmig: message spaced key\n", "", 0, "spaced key", 1, "", 1},
	    {"-- nmig:message a\r\n-- nmig:transaction off\r\nSELECT 1;"
	     "\r\n",
	     "", 0, "a", 0, "", 2},
	    {"\xEF\xBB\xBF-- nmig:transaction off\n", "", 0, "my slug", 0, "",
	     1},
	    {"-- nmig:transaction on\n", "", 0, "my slug", 1, "", 1},
	    {"-- nmig:lint-ignore a,b\n-- nmig:lint-ignore c\n", "", 0,
	     "my slug", 1, "a b c", 2},
	    {"-- nmig:message 100% done: %s %n\n", "", 0, "100% done: %s %n", 1,
	     "", 1},
	    {"-- nmig:message ünïcödé 名前\n", "", 0, "ünïcödé 名前", 1, "", 1},
	    /* a blank line ends the header */
	    {"-- nmig:parents 001\n\n-- nmig:message ignored\n", "001", 1,
	     "my slug", 1, "", 1},
	    /* so does any other line, a plain comment included */
	    {"-- a comment\n-- nmig:parents 001\n", "", 0, "my slug", 1, "", 0},
	    {"  -- nmig:parents 001\n", "", 0, "my slug", 1, "", 0},
	    /* a parent naming the revision itself is the graph's
	     * business (a self-loop): recorded as written */
	    {"-- nmig:parents 005\n", "005", 1, "my slug", 1, "", 1},
	};
	struct nmig_revision rev;
	char buf[256], lbuf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct header_case *hc = &cases[i];
		int rc;

		memset(&rev, 0, sizeof(rev));
		rev.id = strdup("005");
		rev.slug = strdup("my_slug");
		rc = nmig_revision_parse_header(&rev, "m/005_my_slug.up.sql",
						hc->text, strlen(hc->text));
		if (rc != NMIG_OK ||
		    strcmp(joined(rev.parents, rev.nparents, buf, sizeof(buf)),
			   hc->parents) != 0 ||
		    rev.parents_explicit != hc->explicit_ ||
		    strcmp(rev.message, hc->message) != 0 ||
		    rev.transactional != hc->transactional ||
		    strcmp(joined(rev.lint_ignore, rev.nlint_ignore, lbuf,
				  sizeof(lbuf)),
			   hc->lint) != 0 ||
		    rev.header_lines != hc->header_lines)
			fail_msg("case %zu: rc %d parents '%s' explicit %d "
				 "message '%s' tx %d lint '%s' lines %d (%s)",
				 i, rc, buf, rev.parents_explicit,
				 rev.message ? rev.message : "(null)",
				 rev.transactional, lbuf, rev.header_lines,
				 nmig_error_last()->message);
		nmig_revision_release(&rev);
	}
}

/* Parsing again replaces the previous header's fields. */
static void test_header_reparse(void **state)
{
	struct ctx *c = *state;
	const char *a = "-- nmig:parents 1 2\n-- nmig:lint-ignore x\n"
			"-- nmig:transaction off\n-- nmig:message m\n";

	c->rev.slug = strdup("s");
	assert_int_equal(nmig_revision_parse_header(&c->rev, "f", a, strlen(a)),
			 NMIG_OK);
	assert_int_equal(c->rev.nparents, 2);
	assert_int_equal(nmig_revision_parse_header(&c->rev, "f", "", 0),
			 NMIG_OK);
	assert_int_equal(c->rev.nparents, 0);
	assert_int_equal(c->rev.nlint_ignore, 0);
	assert_int_equal(c->rev.transactional, 1);
	assert_int_equal(c->rev.parents_explicit, 0);
	assert_string_equal(c->rev.message, "s");
}

static void test_header_errors(void **state)
{
	static const struct {
		const char *text;
		int line, col;
		const char *message; /* exact */
		const char *hint;    /* part of it */
	} cases[] = {
	    {"-- nmig:parents base\n-- nmig:author me\n", 2, 9,
	     "unknown header key 'author'",
	     "parents, message, transaction, lint-ignore"},
	    {"-- nmig:Parents 001\n", 1, 9, "unknown header key 'Parents'",
	     "known keys"},
	    {"--    nmig:  colour blue\n", 1, 14, "unknown header key 'colour'",
	     "known keys"},
	    {"-- nmig:\n", 1, 9, "'-- nmig:' line has no key", "known keys"},
	    {"-- nmig:parents 1\n-- nmig:parents 2\n", 2, 9,
	     "duplicate header key 'parents' (first on line 1)", "keep one"},
	    {"-- nmig:message a\n-- nmig:parents 1\n-- nmig:message b\n", 3, 9,
	     "duplicate header key 'message' (first on line 1)",
	     "'-- nmig:message'"},
	    {"-- nmig:transaction off\n-- nmig:transaction on\n", 2, 9,
	     "duplicate header key 'transaction' (first on line 1)",
	     "keep one"},
	    {"-- nmig:transaction maybe\n", 1, 21,
	     "'transaction' must be 'on' or 'off', not 'maybe'", "off"},
	    {"-- nmig:transaction ünï\n", 1, 21,
	     "'transaction' must be 'on' or 'off', not 'ünï'", "off"},
	    {"-- nmig:transaction\n", 1, 20,
	     "'transaction' must be 'on' or 'off', not ''", "off"},
	    {"-- nmig:parents\n", 1, 9,
	     "'parents' needs revision ids or 'base'", "parents base"},
	    {"-- nmig:parents , ,\n", 1, 9,
	     "'parents' needs revision ids or 'base'", "parents base"},
	    {"-- nmig:parents base 001\n", 1, 9,
	     "'base' cannot be combined with other parents", "alone"},
	    {"-- nmig:parents 001 002 001\n", 1, 9,
	     "parent '001' is listed twice", "once"},
	    {"-- nmig:message\n", 1, 9, "'message' needs a text",
	     "message <text>"},
	    {"-- nmig:message    \n", 1, 9, "'message' needs a text",
	     "message <text>"},
	    {"-- nmig:lint-ignore  ,\n", 1, 9, "'lint-ignore' needs rule names",
	     "<rule>"},
	    /* the column does not count a BOM */
	    {"\xEF\xBB\xBF-- nmig:oops\n", 1, 9, "unknown header key 'oops'",
	     "known keys"},
	    /* the first error is the one returned */
	    {"-- nmig:a\n-- nmig:b\n", 1, 9, "unknown header key 'a'",
	     "known keys"},
	    {"-- nmig:parents 1\r\n-- nmig:bad\r\n", 2, 9,
	     "unknown header key 'bad'", "known keys"},
	};
	const struct nmig_error *e = nmig_error_last();
	struct nmig_revision rev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		memset(&rev, 0, sizeof(rev));
		rev.slug = strdup("s");
		rc = nmig_revision_parse_header(&rev, "m/001_s.up.sql",
						cases[i].text,
						strlen(cases[i].text));
		if (rc != NMIG_EINPUT || e->line != cases[i].line ||
		    e->col != cases[i].col ||
		    strcmp(e->message, cases[i].message) != 0 ||
		    strcmp(e->file, "m/001_s.up.sql") != 0 ||
		    !strstr(e->hint, cases[i].hint) || e->source[0] != '-')
			fail_msg("case %zu: rc %d at %s:%d:%d '%s' hint '%s' "
				 "source '%s'",
				 i, rc, e->file, e->line, e->col, e->message,
				 e->hint, e->source);
		nmig_revision_release(&rev);
	}
}

/* A NUL byte in a header line is named, not read as a shorter key. */
static void test_header_nul_byte(void **state)
{
	static const char text[] = "-- nmig:par\0ents base\nSELECT 1;\n";
	const struct nmig_error *e = nmig_error_last();
	struct nmig_revision rev;

	(void)state;
	memset(&rev, 0, sizeof(rev));
	rev.slug = strdup("s");
	assert_int_equal(nmig_revision_parse_header(&rev, "m/001_s.up.sql",
						    text, sizeof(text) - 1),
			 NMIG_EINPUT);
	assert_string_equal(e->message, "NUL byte in a header line");
	assert_string_equal(e->file, "m/001_s.up.sql");
	assert_int_equal(e->line, 1);
	assert_int_equal(e->col, 12);
	assert_null(strstr(e->message, "unknown header key"));
	nmig_revision_release(&rev);
}

/* ---- checksums ---------------------------------------------------- */

/* Plain SHA-256 hex of data, for comparison. */
static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	assert_int_equal(EVP_Digest(data, len, d, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_checksum_vectors(void **state)
{
	static const struct {
		const char *text, *hex;
	} vectors[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852"
		 "b855"},
	    {"abc",
	     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f200"
	     "15ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db"
	     "06c1"},
	    /* CRLF folds to LF, so this is SHA-256("abc\n") */
	    {"abc\r\n",
	     "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd"
	     "18cb"},
	};
	char out[NMIG_SHA256_HEX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		nmig_checksum(vectors[i].text, strlen(vectors[i].text), out);
		assert_string_equal(out, vectors[i].hex);
	}
	nmig_checksum("abc\n", 4, out);
	assert_string_equal(out, vectors[3].hex);
}

static void test_checksum_folding(void **state)
{
	static const struct {
		const char *in, *folded;
	} cases[] = {
	    {"a\r\nb\r\n", "a\nb\n"},
	    {"\r\n", "\n"},
	    {"\r", "\r"}, /* a lone CR stays */
	    {"a\rb", "a\rb"},
	    {"a\r", "a\r"},
	    {"a\r\r\nb", "a\r\nb"}, /* only the CR before the LF goes */
	    {"\r\r\r\n\n\r\n", "\r\r\n\n\n"},
	    {"\n\r", "\n\r"},
	};
	char got[NMIG_SHA256_HEX], want[65];
	struct nmig_buf in = NMIG_BUF_INIT, folded = NMIG_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nmig_checksum(cases[i].in, strlen(cases[i].in), got);
		sha256_hex(cases[i].folded, strlen(cases[i].folded), want);
		if (strcmp(got, want) != 0)
			fail_msg("case %zu: folding differs", i);
	}
	/* a large text with many line ends, NUL bytes included */
	for (i = 0; i < 200000; i++) {
		nmig_buf_putc(&in, (char)(i % 7));
		nmig_buf_putc(&folded, (char)(i % 7));
		if (i % 13 == 0) {
			nmig_buf_puts(&in, "\r\n");
			nmig_buf_putc(&folded, '\n');
		}
		if (i % 29 == 0) {
			nmig_buf_putc(&in, '\r');
			nmig_buf_putc(&folded, '\r');
		}
	}
	nmig_checksum(in.ptr, in.len, got);
	sha256_hex(folded.ptr, folded.len, want);
	assert_string_equal(got, want);
	nmig_buf_release(&in);
	nmig_buf_release(&folded);
}

/* ---- directories -------------------------------------------------- */

static void test_load_dag(void **state)
{
	static const struct {
		const char *id, *slug, *parents;
		int explicit_;
		const char *message;
		int transactional, down, header_lines;
	} want[] = {
	    {"0001", "init", "", 1, "initial schema", 1, 1, 2},
	    {"0002", "users_email", "0001", 0, "users email", 1, 1, 0},
	    {"0003", "branch_a", "0002", 1, "branch a", 1, 1, 1},
	    {"0004", "branch_b", "0006", 1, "branch b, after its base", 1, 1,
	     2},
	    {"0005", "merge", "0003 0004", 1, "merge branches a and b", 1, 1,
	     2},
	    {"0006", "branch_b_base", "0002", 1, "branch b base", 1, 1, 1},
	    {"0007", "second_head", "0006", 1, "second head", 1, 1, 1},
	    {"0008", "index", "0005", 1, "index", 0, 0, 4},
	    {"0009", "after_index", "0008", 0, "after index", 1, 1, 0},
	};
	struct ctx *c = *state;
	const struct nmig_revision *r;
	struct nmig_buf text = NMIG_BUF_INIT;
	char buf[256], sum[NMIG_SHA256_HEX];
	struct stat st;
	size_t i;

	assert_int_equal(load_fixture(c, "dag"), NMIG_OK);
	assert_int_equal(c->diags.n, 0);
	assert_int_equal(c->set.n, 9);
	assert_string_equal(c->set.dir, c->path);
	for (i = 0; i < 9; i++) {
		r = &c->set.revs[i];
		assert_string_equal(r->id, want[i].id);
		assert_string_equal(r->slug, want[i].slug);
		assert_string_equal(
		    joined(r->parents, r->nparents, buf, sizeof(buf)),
		    want[i].parents);
		assert_int_equal(r->parents_explicit, want[i].explicit_);
		assert_string_equal(r->message, want[i].message);
		assert_int_equal(r->transactional, want[i].transactional);
		assert_int_equal(r->header_lines, want[i].header_lines);
		assert_int_equal(r->down.path != NULL, want[i].down);
		/* the path is dir + "/" + name, and the file info is the
		 * file's */
		assert_true(ends_with(r->up.path, ".up.sql"));
		assert_int_equal(strncmp(r->up.path, c->path, strlen(c->path)),
				 0);
		assert_int_equal(stat(r->up.path, &st), 0);
		assert_int_equal(r->up.size, st.st_size);
		assert_int_equal(r->up.inode, (unsigned long long)st.st_ino);
		assert_true(r->up.mtime_ns / 1000000000LL == st.st_mtime);
		assert_int_equal(nmig_buf_read_file(&text, r->up.path, 1 << 20),
				 NMIG_OK);
		nmig_checksum(text.ptr, text.len, sum);
		assert_string_equal(r->up.checksum, sum);
		nmig_buf_release(&text);
		if (r->down.path) {
			assert_int_equal(
			    nmig_buf_read_file(&text, r->down.path, 1 << 20),
			    NMIG_OK);
			nmig_checksum(text.ptr, text.len, sum);
			assert_string_equal(r->down.checksum, sum);
			assert_string_not_equal(r->down.checksum,
						r->up.checksum);
			nmig_buf_release(&text);
		} else {
			assert_string_equal(r->down.checksum, "");
		}
	}
	r = &c->set.revs[7];
	assert_string_equal(
	    joined(r->lint_ignore, r->nlint_ignore, buf, sizeof(buf)),
	    "require-concurrent-index ban-drop-column "
	    "adding-not-null");
}

static void test_load_down_without_up(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	assert_int_equal(load_fixture(c, "bad-down-without-up"), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 1);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(d->rule, "down-without-up");
	assert_string_equal(d->message,
			    "down file '002_b.down.sql' has no up file");
	assert_true(ends_with(d->file, "/bad-down-without-up/002_b.down.sql"));
	assert_string_equal(d->hint,
			    "add '002_b.up.sql', or remove the down file");
	/* the last error is the same finding */
	assert_string_equal(nmig_error_last()->message, d->message);
	assert_string_equal(nmig_error_last()->file, d->file);
	/* the good revision is still there */
	assert_int_equal(c->set.n, 1);
	assert_string_equal(c->set.revs[0].id, "001");
	assert_non_null(c->set.revs[0].down.path);
}

static void test_load_duplicate_id(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	assert_int_equal(load_fixture(c, "bad-duplicate-id"), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 1);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(d->rule, "duplicate-id");
	assert_string_equal(d->message,
			    "revision id '001' is used by several up files: "
			    "'001_a.up.sql', '001_b.up.sql'");
	assert_non_null(strstr(d->hint, "rename"));
	/* the first file keeps the id; the graph sees no duplicate */
	assert_int_equal(c->set.n, 2);
	assert_string_equal(c->set.revs[0].slug, "a");
	assert_null(c->set.revs[0].down.path);
	assert_string_equal(c->set.revs[1].id, "002");
}

static void test_load_down_mismatch(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	scratch(c);
	put_text(c, "001_a.up.sql", "SELECT 1;\n");
	put_text(c, "001_b.down.sql", "SELECT 1;\n");
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags),
			 NMIG_EINPUT);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(d->rule, "down-mismatch");
	assert_string_equal(d->message, "down file '001_b.down.sql' does not "
					"match the up file '001_a.up.sql'");
	assert_string_equal(d->hint, "rename it to '001_a.down.sql'");
	assert_int_equal(c->set.n, 1);
	assert_null(c->set.revs[0].down.path);
}

static void test_load_unknown_key(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	assert_int_equal(load_fixture(c, "bad-unknown-key"), NMIG_EINPUT);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(d->rule, "header");
	assert_string_equal(d->message, "unknown header key 'author'");
	assert_true(ends_with(d->file, "/001_a.up.sql"));
	assert_int_equal(d->line, 2);
	assert_int_equal(d->col, 9);
	assert_string_equal(d->source, "-- nmig:author someone");
	assert_non_null(strstr(d->hint, "parents, message"));
	assert_int_equal(nmig_error_last()->line, 2);
}

/* Every header error of every file is collected, in id order. */
static void test_load_all_header_errors(void **state)
{
	static const struct {
		const char *file;
		int line;
		const char *message;
	} want[] = {
	    {"001_dup_parents.up.sql", 2,
	     "duplicate header key 'parents' (first on line 1)"},
	    {"002_two_errors.up.sql", 1,
	     "'transaction' must be 'on' or 'off', not 'maybe'"},
	    {"002_two_errors.up.sql", 2, "unknown header key 'colour'"},
	    {"003_base_mixed.up.sql", 1,
	     "'base' cannot be combined with other parents"},
	    {"004_twice.up.sql", 1, "parent '002' is listed twice"},
	    {"004_twice.up.sql", 2, "'message' needs a text"},
	};
	struct ctx *c = *state;
	const struct nmig_diag *d;
	size_t i;

	assert_int_equal(load_fixture(c, "bad-headers"), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 6);
	for (i = 0; i < 6; i++) {
		d = finding(c, NMIG_SEV_ERROR, i);
		assert_true(ends_with(d->file, want[i].file));
		assert_int_equal(d->line, want[i].line);
		assert_string_equal(d->message, want[i].message);
	}
	/* the return and the last error are the first finding */
	assert_string_equal(nmig_error_last()->message, want[0].message);
	assert_int_equal(nmig_error_last()->line, 2);
	assert_int_equal(c->set.n, 5);
	assert_string_equal(c->set.revs[4].message, "ok");
}

static void test_load_garbage(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	assert_int_equal(load_fixture(c, "bad-garbage"), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 2);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(d->rule, "file-encoding");
	assert_true(ends_with(d->file, "/001_latin1.up.sql"));
	assert_int_equal(d->line, 3);
	assert_int_equal(d->col, 12);
	assert_string_equal(d->message,
			    "invalid UTF-8 (byte 0xe9) in a migration file");
	assert_non_null(d->hint);
	/* down files are checked too */
	d = finding(c, NMIG_SEV_ERROR, 1);
	assert_true(ends_with(d->file, "/002_fine.down.sql"));
	assert_int_equal(d->line, 2);
	assert_int_equal(d->col, 1);
	/* the header above the garbage still counts */
	assert_int_equal(c->set.revs[0].parents_explicit, 1);
}

static void test_load_nul_bytes(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	assert_int_equal(load_fixture(c, "bad-nul"), NMIG_EINPUT);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(d->rule, "file-encoding");
	assert_non_null(strstr(d->message, "NUL byte"));
	assert_true(ends_with(d->file, "/001_binary.up.sql"));
	assert_int_equal(d->line, 2);
	assert_int_equal(d->col, 10);
}

static void test_load_bad_names(void **state)
{
	static const char *const want[] = {
	    "'.up.sql' has no revision id",
	    "'002 x_space in id.up.sql' has a revision id with a space in "
	    "it",
	    "'003_shouting.UP.SQL' is not a migration file name",
	    "'_foo.up.sql' has no revision id",
	    "'base_reserved.up.sql' has a reserved word as revision id",
	    "'notes.sql' is not a migration file name",
	};
	struct ctx *c = *state;
	const struct nmig_diag *d;
	size_t i;

	assert_int_equal(load_fixture(c, "bad-names"), NMIG_EINPUT);
	assert_int_equal(c->diags.errors, 6);
	for (i = 0; i < 6; i++) {
		d = finding(c, NMIG_SEV_ERROR, i);
		assert_string_equal(d->rule, "file-name");
		assert_string_equal(d->message, want[i]);
		assert_non_null(d->file);
		assert_non_null(d->hint);
	}
	assert_int_equal(c->set.n, 1);
	assert_string_equal(c->set.revs[0].id, "001");
}

static void test_load_odd_names(void **state)
{
	static const char *const ids[] = {"001", "002", "003",
					  "004", "005", "V006.Dotted"};
	static const char *const messages[] = {
	    "it's a \"test\"", "%s%n%x", "ünïcödé 名前",
	    "with space",      "",	 "Name",
	};
	struct ctx *c = *state;
	size_t i;

	assert_int_equal(load_fixture(c, "odd-names"), NMIG_OK);
	assert_int_equal(c->diags.n, 0);
	assert_int_equal(c->set.n, 6);
	for (i = 0; i < 6; i++) {
		assert_string_equal(c->set.revs[i].id, ids[i]);
		assert_string_equal(c->set.revs[i].message, messages[i]);
		assert_int_equal(strlen(c->set.revs[i].up.checksum), 64);
	}
	assert_non_null(c->set.revs[0].down.path);
	assert_true(ends_with(c->set.revs[0].down.path,
			      "/001_it's a \"test\".down.sql"));
	assert_non_null(c->set.revs[3].down.path);
}

static void test_load_misplaced_header(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	assert_int_equal(load_fixture(c, "misplaced"), NMIG_OK);
	assert_int_equal(c->diags.errors, 0);
	assert_int_equal(c->diags.warnings, 2);
	d = finding(c, NMIG_SEV_WARNING, 0);
	assert_string_equal(d->rule, "header-misplaced");
	assert_int_equal(d->line, 4);
	assert_string_equal(d->source, "-- nmig:transaction off");
	assert_int_equal(finding(c, NMIG_SEV_WARNING, 1)->line, 5);
	/* the header read past the BOM; the late lines changed nothing */
	assert_string_equal(c->set.revs[0].message, "with a BOM");
	assert_int_equal(c->set.revs[0].transactional, 1);
	assert_int_equal(c->set.revs[0].header_lines, 2);
}

static void test_load_empty_up_file(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	scratch(c);
	put_text(c, "001_nothing.up.sql", "");
	put_text(c, "001_nothing.down.sql", "");
	put_text(c, "002_comment.up.sql", "-- intentionally empty\n");
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags), NMIG_OK);
	assert_int_equal(c->set.n, 2);
	/* the empty up, and the empty down beside it */
	assert_int_equal(c->diags.warnings, 2);
	d = finding(c, NMIG_SEV_WARNING, 0);
	assert_string_equal(d->message, "empty migration");
	assert_string_equal(finding(c, NMIG_SEV_WARNING, 1)->message,
			    "empty down file");
	assert_string_equal(d->rule, "empty-migration");
	assert_true(ends_with(d->file, "/001_nothing.up.sql"));
	assert_string_equal(
	    c->set.revs[0].up.checksum,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca49"
	    "5991b7852b855");
	assert_int_equal(c->set.revs[0].up.size, 0);
}

/* The same files with CRLF and LF line ends have the same checksums. */
static void test_load_crlf_equals_lf(void **state)
{
	struct ctx *c = *state;
	const char *up_lf = "-- nmig:parents base\n-- nmig:message m\n"
			    "CREATE TABLE a (id int);\n";
	const char *up_crlf = "-- nmig:parents base\r\n-- nmig:message m\r\n"
			      "CREATE TABLE a (id int);\r\n";

	scratch(c);
	put_text(c, "001_a.up.sql", up_crlf);
	put_text(c, "001_a.down.sql", "DROP TABLE a;\r\n");
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags), NMIG_OK);
	put_text(c, "001_a.up.sql", up_lf);
	put_text(c, "001_a.down.sql", "DROP TABLE a;\n");
	assert_int_equal(nmig_revset_load(&c->set2, c->tmp, &c->diags),
			 NMIG_OK);
	assert_string_equal(c->set.revs[0].up.checksum,
			    c->set2.revs[0].up.checksum);
	assert_string_equal(c->set.revs[0].down.checksum,
			    c->set2.revs[0].down.checksum);
	assert_string_equal(c->set.revs[0].message, "m");
	assert_int_not_equal(c->set.revs[0].up.size, c->set2.revs[0].up.size);
}

static void test_load_too_large(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;
	int fd;

	scratch(c);
	put_text(c, "001_small.up.sql", "SELECT 1;\n");
	/* sparse: no disk space used */
	snprintf(c->path, sizeof(c->path), "%s/002_huge.up.sql", c->tmp);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)NMIG_MAX_FILE_SIZE + 1), 0);
	close(fd);
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags),
			 NMIG_EINPUT);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(d->rule, "file-size");
	assert_non_null(strstr(d->message, "002_huge.up.sql' is larger than "
					   "the limit of 67108864 bytes"));
	assert_string_equal(d->file, c->path);
	assert_int_equal(c->set.n, 2);
	assert_int_equal(c->set.revs[1].up.size, (off_t)NMIG_MAX_FILE_SIZE + 1);
}

/* Load dir and check the unreadable file's finding; 0 when as expected. */
static int check_unreadable(const char *dir, const char *file)
{
	struct nmig_revset set;
	struct nmig_diags d = NMIG_DIAGS_INIT;
	int rc, bad = 0;

	rc = nmig_revset_load(&set, dir, &d);
	if (rc != NMIG_EIO || d.errors != 1 ||
	    strcmp(d.items[0].rule, "file-read") != 0 ||
	    strcmp(d.items[0].file, file) != 0 ||
	    !strstr(d.items[0].message, strerror(EACCES)) ||
	    !strstr(d.items[0].message, "001_locked.up.sql") || set.n != 2) {
		fprintf(stderr, "unreadable: rc %d, %zu errors, '%s'\n", rc,
			d.errors, d.n ? d.items[0].message : "");
		bad = 1;
	}
	nmig_revset_release(&set);
	nmig_diags_release(&d);
	return bad;
}

static void test_load_unreadable(void **state)
{
	struct ctx *c = *state;
	char file[1024];
	pid_t pid;
	int status;

	scratch(c);
	put_text(c, "001_locked.up.sql", "SELECT 1;\n");
	snprintf(file, sizeof(file), "%s", c->path);
	put_text(c, "002_open.up.sql", "SELECT 2;\n");
	assert_int_equal(chmod(file, 0), 0);
	if (geteuid() != 0) {
		assert_int_equal(check_unreadable(c->tmp, file), 0);
		return;
	}
	/* root reads anything: check it as 'nobody' in a child */
	assert_int_equal(chmod(c->tmp, 0755), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(77);
		_exit(check_unreadable(c->tmp, file));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("running as root and cannot switch to uid "
			      "65534: the unreadable-file assertion is "
			      "skipped (root can read any file)\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_load_control_char_name(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	scratch(c);
	put_text(c, "001_new\nline.up.sql", "SELECT 1;\n");
	put_text(c, "002_ok.up.sql", "SELECT 1;\n");
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags),
			 NMIG_EINPUT);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(
	    d->message, "'001_new?line.up.sql' contains a control character");
	assert_int_equal(c->set.n, 1);
}

static void test_load_not_a_file(void **state)
{
	struct ctx *c = *state;
	const struct nmig_diag *d;

	scratch(c);
	snprintf(c->path, sizeof(c->path), "%s/001_dir.up.sql", c->tmp);
	assert_int_equal(mkdir(c->path, 0700), 0);
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags),
			 NMIG_EINPUT);
	d = finding(c, NMIG_SEV_ERROR, 0);
	assert_string_equal(d->rule, "file-type");
	assert_non_null(strstr(d->message, "is not a regular file"));
}

static void test_load_missing_dir(void **state)
{
	struct ctx *c = *state;

	snprintf(c->path, sizeof(c->path), "%s/revfile/no-such-dir",
		 fixtures());
	assert_int_equal(nmig_revset_load(&c->set, c->path, &c->diags),
			 NMIG_EINPUT);
	assert_non_null(strstr(nmig_error_last()->message,
			       "cannot open the migrations directory"));
	assert_non_null(strstr(nmig_error_last()->message, strerror(ENOENT)));
	assert_int_equal(c->diags.errors, 1);
	assert_int_equal(c->set.n, 0);
	/* diags may be NULL: the return and last error still tell */
	nmig_revset_release(&c->set);
	assert_int_equal(nmig_revset_load(&c->set, c->path, NULL), NMIG_EINPUT);
}

static void test_load_empty_dir(void **state)
{
	struct ctx *c = *state;

	scratch(c);
	put_text(c, "README.md", "# migrations\n");
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, NULL), NMIG_OK);
	assert_int_equal(c->set.n, 0);
	nmig_revset_release(&c->set);
	/* a trailing slash gives no double slash in the paths */
	put_text(c, "1_a.up.sql", "SELECT 1;\n");
	snprintf(c->path, sizeof(c->path), "%s/", c->tmp);
	assert_int_equal(nmig_revset_load(&c->set, c->path, NULL), NMIG_OK);
	snprintf(c->path, sizeof(c->path), "%s/1_a.up.sql", c->tmp);
	assert_string_equal(c->set.revs[0].up.path, c->path);
}

/*
 * A store of earlier loads as nmig_revset_load_store sees it: a table of
 * functions. This one remembers what was put and answers down files from
 * it with a checksum of its own, so that a hit shows in the result.
 */
struct fake_store {
	int begins, ends, scans, gets, puts;
	int answer_down; /* 1: a down file put before is a hit */
	char names[8][64];
	int is_up[8];
	int n;
};

static void fake_begin(void *ud)
{
	((struct fake_store *)ud)->begins++;
}

static void fake_end(void *ud)
{
	((struct fake_store *)ud)->ends++;
}

/* Name-order lookups need nothing more of this store. */
static int fake_scan_open(void *ud)
{
	((struct fake_store *)ud)->scans++;
	return NMIG_OK;
}

static void fake_scan_close(void *ud)
{
	(void)ud;
}

static int fake_get(void *ud, const char *name, const struct stat *st,
		    struct nmig_revision *rev_out,
		    char checksum_out[NMIG_SHA256_HEX], int is_up)
{
	struct fake_store *f = ud;
	int i;

	(void)st;
	(void)rev_out;
	f->gets++;
	if (is_up || !f->answer_down)
		return NMIG_ENOTFOUND;
	for (i = 0; i < f->n; i++)
		if (!f->is_up[i] && strcmp(f->names[i], name) == 0) {
			memset(checksum_out, 'f', NMIG_SHA256_HEX - 1);
			checksum_out[NMIG_SHA256_HEX - 1] = '\0';
			return NMIG_OK;
		}
	return NMIG_ENOTFOUND;
}

static int fake_put(void *ud, const char *name, const struct stat *st,
		    const struct nmig_revision *rev,
		    const char checksum[NMIG_SHA256_HEX], int is_up)
{
	struct fake_store *f = ud;

	(void)st;
	assert_int_equal(strlen(checksum), NMIG_SHA256_HEX - 1);
	/* An up file comes with its header, a down file without. */
	assert_true(is_up ? rev != NULL : rev == NULL);
	if (f->n < 8) {
		snprintf(f->names[f->n], sizeof(f->names[0]), "%s", name);
		f->is_up[f->n++] = is_up;
	}
	f->puts++;
	return NMIG_OK;
}

static void test_load_store(void **state)
{
	struct ctx *c = *state;
	struct fake_store f;
	struct nmig_revfile_store store = {0};
	int i, saw_down = 0;

	memset(&f, 0, sizeof(f));
	store.ud = &f;
	store.begin = fake_begin;
	store.end = fake_end;
	store.scan_open = fake_scan_open;
	store.scan_close = fake_scan_close;
	store.get = fake_get;
	store.put = fake_put;
	scratch(c);
	put_text(c, "1_a.up.sql", "CREATE TABLE a (id int);\n");
	put_text(c, "1_a.down.sql", "DROP TABLE a;\n");
	put_text(c, "2_b.up.sql", "-- message: the b table\n"
				  "CREATE TABLE b (id int);\n");
	/* Every file missed, loaded and put, in one bracketed load. */
	assert_int_equal(nmig_revset_load_store(&c->set, c->tmp, &store,
						&c->diags),
			 NMIG_OK);
	assert_int_equal(c->set.n, 2);
	assert_int_equal(f.begins, 1);
	assert_int_equal(f.ends, 1);
	assert_int_equal(f.gets, 3);
	assert_int_equal(f.puts, 3);
	for (i = 0; i < f.n; i++)
		if (!f.is_up[i]) {
			assert_string_equal(f.names[i], "1_a.down.sql");
			saw_down = 1;
		}
	assert_true(saw_down);
	/* The same as a load without a store. */
	assert_int_equal(nmig_revset_load(&c->set2, c->tmp, NULL), NMIG_OK);
	assert_string_equal(c->set.revs[0].down.checksum,
			    c->set2.revs[0].down.checksum);
	assert_string_equal(c->set.revs[1].message, c->set2.revs[1].message);
	nmig_revset_release(&c->set);
	/* A hit is used instead of the file: the store's checksum shows. */
	f.answer_down = 1;
	f.puts = 0;
	assert_int_equal(nmig_revset_load_store(&c->set, c->tmp, &store,
						&c->diags),
			 NMIG_OK);
	assert_int_equal(f.begins, 2);
	assert_int_equal(f.ends, 2);
	assert_int_equal(f.puts, 2);
	assert_int_equal(strspn(c->set.revs[0].down.checksum, "f"),
			 NMIG_SHA256_HEX - 1);
	assert_string_equal(c->set.revs[0].up.checksum,
			    c->set2.revs[0].up.checksum);
	/* NULL: no store, the plain load. */
	nmig_revset_release(&c->set);
	assert_int_equal(nmig_revset_load_store(&c->set, c->tmp, NULL,
						&c->diags),
			 NMIG_OK);
	assert_string_equal(c->set.revs[0].down.checksum,
			    c->set2.revs[0].down.checksum);
}

/* Numeric ids of different lengths sort as numbers, implicit parents
 * follow that order. */
static void test_load_numeric_order(void **state)
{
	static const char *const names[] = {
	    "10_ten.up.sql",	  "9_nine.up.sql", "100_hundred.up.sql",
	    "0011_eleven.up.sql", "1_one.up.sql",
	};
	static const char *const order[] = {"1", "9", "10", "0011", "100"};
	struct ctx *c = *state;
	size_t i;

	scratch(c);
	for (i = 0; i < 5; i++)
		put_text(c, names[i], "SELECT 1;\n");
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags), NMIG_OK);
	for (i = 0; i < 5; i++) {
		assert_string_equal(c->set.revs[i].id, order[i]);
		assert_int_equal(c->set.revs[i].nparents, i ? 1 : 0);
		if (i)
			assert_string_equal(c->set.revs[i].parents[0],
					    order[i - 1]);
	}
}

/* 10,000 revisions: correct, and quick enough to say so. */
static void test_load_many(void **state)
{
	struct ctx *c = *state;
	char name[64], text[128];
	struct timespec t0, t1;
	size_t i, n = 10000;
	double ms;

	scratch(c);
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "%06zu_rev_%zu.up.sql", i, i);
		snprintf(text, sizeof(text),
			 "-- nmig:message revision %zu\nCREATE TABLE t%zu "
			 "(id int);\n",
			 i, i);
		put_text(c, name, text);
		snprintf(name, sizeof(name), "%06zu_rev_%zu.down.sql", i, i);
		put_text(c, name, "SELECT 1;\n");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags), NMIG_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("loaded %zu revisions (%zu files) in %.0f ms\n", n, 2 * n,
		      ms);
	assert_int_equal(c->set.n, n);
	assert_int_equal(c->diags.n, 0);
	for (i = 1; i < n; i++) {
		assert_int_equal(c->set.revs[i].nparents, 1);
		assert_ptr_not_equal(c->set.revs[i].parents[0],
				     c->set.revs[i - 1].id);
		assert_string_equal(c->set.revs[i].parents[0],
				    c->set.revs[i - 1].id);
	}
	assert_string_equal(c->set.revs[n - 1].message, "revision 10000");
}

/* The authelia history from ../shared/corpora: flat V0001.Name files. */
static void test_load_authelia_corpus(void **state)
{
	struct ctx *c = *state;
	const char *env = getenv("NMIG_CORPORA");
	struct stat st;
	size_t i, empty = 0;

	if (env && *env)
		snprintf(c->path, sizeof(c->path), "%s/authelia", env);
	else
		snprintf(c->path, sizeof(c->path),
			 "%s/../../../shared/corpora/authelia", fixtures());
	if (stat(c->path, &st) != 0) {
		print_message("SKIPPED: corpus '%s' is not there (set "
			      "NMIG_CORPORA to the corpora folder)\n",
			      c->path);
		skip();
	}
	assert_int_equal(nmig_revset_load(&c->set, c->path, &c->diags),
			 NMIG_OK);
	assert_int_equal(c->diags.errors, 0);
	assert_int_equal(c->set.n, 26);
	/* ids are not all digits: text order, which the fixed width
	 * makes the numeric one */
	assert_string_equal(c->set.revs[0].id, "V0001.Initial");
	assert_string_equal(c->set.revs[0].slug, "Schema");
	assert_string_equal(c->set.revs[1].id, "V0002.WebAuthn");
	assert_string_equal(c->set.revs[25].id, "V0026.StorageAADRowScoped");
	for (i = 0; i < c->set.n; i++) {
		const struct nmig_revision *r = &c->set.revs[i];

		assert_non_null(r->down.path);
		assert_int_equal(r->parents_explicit, 0);
		if (i) {
			assert_int_equal(strncmp(r->id, "V00", 3), 0);
			assert_true(nmig_id_cmp(c->set.revs[i - 1].id, r->id) <
				    0);
			assert_string_equal(r->parents[0],
					    c->set.revs[i - 1].id);
		}
		if (r->up.size == 0)
			empty++;
		if (r->down.path && r->down.size == 0)
			empty++;
	}
	/* the only findings: warnings for the empty (MySQL-only) files */
	assert_int_equal(c->diags.warnings, empty);
	assert_int_equal(c->diags.n, empty);
}

/*
 * 300 revisions whose numeric ids sort differently by name ("10" before
 * "9") and by id: every revision, after the load reorders them in place,
 * keeps its own files, header and implicit parent; a loaded set's
 * strings are in its pool (released with the set).
 */
static void test_load_order_in_place(void **state)
{
	struct ctx *c = *state;
	char name[64], text[160], want[64];
	const struct nmig_revision *r;
	size_t i, id;

	scratch(c);
	for (i = 1; i <= 300; i++) {
		snprintf(name, sizeof(name), "%zu_rev_%zu.up.sql", i, i);
		if (i % 7 == 0)
			snprintf(text, sizeof(text),
				 "-- nmig:message seventh %zu\n"
				 "-- nmig:lint-ignore a,b%zu\nSELECT %zu;\n",
				 i, i, i);
		else
			snprintf(text, sizeof(text), "SELECT %zu;\n", i);
		put_text(c, name, text);
		if (i % 3) {
			snprintf(name, sizeof(name), "%zu_rev_%zu.down.sql", i,
				 i);
			put_text(c, name, "SELECT 0;\n");
		}
	}
	assert_int_equal(nmig_revset_load(&c->set, c->tmp, &c->diags),
			 NMIG_OK);
	assert_int_equal(c->set.n, 300);
	assert_non_null(c->set.pool);
	for (i = 0; i < 300; i++) {
		r = &c->set.revs[i];
		id = i + 1;
		snprintf(want, sizeof(want), "%zu", id);
		assert_string_equal(r->id, want);
		snprintf(want, sizeof(want), "rev_%zu", id);
		assert_string_equal(r->slug, want);
		snprintf(want, sizeof(want), "/%zu_rev_%zu.up.sql", id, id);
		assert_true(ends_with(r->up.path, want));
		if (id % 3) {
			snprintf(want, sizeof(want), "/%zu_rev_%zu.down.sql",
				 id, id);
			assert_non_null(r->down.path);
			assert_true(ends_with(r->down.path, want));
		} else {
			assert_null(r->down.path);
		}
		if (id % 7 == 0) {
			snprintf(want, sizeof(want), "seventh %zu", id);
			assert_string_equal(r->message, want);
			assert_int_equal(r->nlint_ignore, 2);
			snprintf(want, sizeof(want), "b%zu", id);
			assert_string_equal(r->lint_ignore[1], want);
		} else {
			snprintf(want, sizeof(want), "rev %zu", id);
			assert_string_equal(r->message, want);
			assert_int_equal(r->nlint_ignore, 0);
		}
		if (i == 0) {
			assert_int_equal(r->nparents, 0);
		} else {
			assert_int_equal(r->nparents, 1);
			snprintf(want, sizeof(want), "%zu", id - 1);
			assert_string_equal(r->parents[0], want);
		}
		assert_int_equal(r->pooled,
				 NMIG_REV_POOL_NAMES | NMIG_REV_POOL_HEADER);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_id_is_digits),
	    T(test_id_cmp),
	    T(test_parse_name),
	    T(test_header_fields),
	    T(test_header_reparse),
	    T(test_header_errors),
	    T(test_header_nul_byte),
	    T(test_checksum_vectors),
	    T(test_checksum_folding),
	    T(test_load_dag),
	    T(test_load_down_without_up),
	    T(test_load_duplicate_id),
	    T(test_load_down_mismatch),
	    T(test_load_unknown_key),
	    T(test_load_all_header_errors),
	    T(test_load_garbage),
	    T(test_load_nul_bytes),
	    T(test_load_bad_names),
	    T(test_load_odd_names),
	    T(test_load_misplaced_header),
	    T(test_load_empty_up_file),
	    T(test_load_crlf_equals_lf),
	    T(test_load_too_large),
	    T(test_load_unreadable),
	    T(test_load_control_char_name),
	    T(test_load_not_a_file),
	    T(test_load_missing_dir),
	    T(test_load_empty_dir),
	    T(test_load_store),
	    T(test_load_numeric_order),
	    T(test_load_order_in_place),
	    T(test_load_many),
	    T(test_load_authelia_corpus),
	};
#undef T

	return cmocka_run_group_tests_name("revfile", tests, NULL, NULL);
}
