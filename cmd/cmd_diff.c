/*
 * nmig diff [--from STATE] [--to STATE]: which objects differ between two
 * states (cmd/schemastate.h), compared object by object with the catalog
 * model (lib/catalog.h). Exit 0 when they are equal, 1 when they differ,
 * so CI can gate on "the migrations produce the declared schema". Only
 * the report exists: the SQL that turns one into the other (the planner
 * of docs/schema.md) is not built yet, and this command never pretends
 * to produce it.
 */
#include "commands.h"
#include "db.h"
#include "schemastate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

struct report {
	struct cli_global *g;
	int json;
	size_t n;
	unsigned flags;
	struct nmig_buf ta, tb;
};

/* The lines of text (after its first, the kind) not in other, each once. */
static void put_lines_not_in(FILE *f, const char *sign, const char *text,
			     const char *other)
{
	const char *l = strchr(text, '\n');

	while (l && *++l) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		const char *o = other;
		int found = 0;

		while (o && *o) {
			const char *oe = strchr(o, '\n');
			size_t olen = oe ? (size_t)(oe - o) : strlen(o);

			if (olen == len && memcmp(o, l, len) == 0) {
				found = 1;
				break;
			}
			o = oe ? oe + 1 : NULL;
		}
		if (!found) {
			struct nmig_buf line = NMIG_BUF_INIT;

			nmig_buf_put(&line, l, len);
			fprintf(f, "    %s ", sign);
			cli_put_safe(f, line.ptr);
			fputc('\n', f);
			nmig_buf_release(&line);
		}
		l = end;
	}
}

static void on_change(void *ud, enum nmig_cat_change ch,
		      const struct nmig_cat_obj *oa,
		      const struct nmig_cat_obj *ob)
{
	struct report *r = ud;
	const struct nmig_cat_obj *o = oa ? oa : ob;
	const char *what = ch == NMIG_CAT_ADDED	    ? "added"
			   : ch == NMIG_CAT_REMOVED ? "removed"
						    : "changed";

	if (r->json) {
		fputs(r->n ? ",\n  {" : "\n  {", stdout);
		fputs("\"change\": ", stdout);
		cli_json_str(stdout, what);
		fputs(", \"kind\": ", stdout);
		cli_json_str(stdout, nmig_cat_kind_name(o));
		fputs(", \"key\": ", stdout);
		cli_json_str(stdout, o->key);
		fputc('}', stdout);
		r->n++;
		return;
	}
	r->n++;
	printf("%c %s ",
	       ch == NMIG_CAT_ADDED	? '+'
	       : ch == NMIG_CAT_REMOVED ? '-'
					: '~',
	       nmig_cat_kind_name(o));
	cli_put_safe(stdout, o->key);
	fputc('\n', stdout);
	if (ch != NMIG_CAT_CHANGED)
		return;
	nmig_buf_clear(&r->ta);
	nmig_buf_clear(&r->tb);
	nmig_cat_describe(oa, r->flags, &r->ta);
	nmig_cat_describe(ob, r->flags, &r->tb);
	put_lines_not_in(stdout, "-", r->ta.ptr, r->tb.ptr);
	put_lines_not_in(stdout, "+", r->tb.ptr, r->ta.ptr);
}

size_t schemastate_print_diff(struct cli_global *g,
			      const struct nmig_catalog *a,
			      const struct nmig_catalog *b, unsigned flags,
			      int json)
{
	struct report r;

	memset(&r, 0, sizeof(r));
	r.g = g;
	r.json = json;
	r.flags = flags;
	nmig_buf_init(&r.ta);
	nmig_buf_init(&r.tb);
	if (json)
		fputc('[', stdout);
	nmig_catalog_diff(a, b, flags, on_change, &r);
	if (json)
		fputs(r.n ? "\n]" : "]", stdout);
	nmig_buf_release(&r.ta);
	nmig_buf_release(&r.tb);
	return r.n;
}

int cmd_diff(struct cli_global *g, int argc, char **argv)
{
	const char *from = "migrations", *to = "schema", *format = NULL;
	const char *dev_url = NULL, *bindir = NULL;
	int ignore_order = 0;
	const struct cli_opt opts[] = {
	    {0, "from", "STATE",
	     "the state compared from (default: migrations)", &from, NULL, NULL,
	     NULL},
	    {0, "to", "STATE", "the state compared to (default: schema)", &to,
	     NULL, NULL, NULL},
	    {0, "format", "summary|json",
	     "the report: one line per object (default) or JSON", &format, NULL,
	     NULL, NULL},
	    {0, "ignore-column-order", NULL,
	     "compare columns without their positions", NULL, &ignore_order,
	     NULL, NULL},
	    {0, "dev-url", "env:VAR",
	     "build file states on the empty database whose URL is in VAR "
	     "(default: a temporary local cluster)",
	     &dev_url, NULL, NULL, NULL},
	    {0, "pg-bindir", "DIR",
	     "PostgreSQL server binaries for the temporary cluster "
	     "(default: pg_config, PATH, /usr/lib/postgresql)",
	     &bindir, NULL, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "diff",
	    NULL,
	    "Compare two states object by object (see 'nmig schema --help'\n"
	    "for the states: migrations[@REV], schema, file:PATH, env:VAR) "
	    "and\n"
	    "list what the second has that the first has not (+), what only\n"
	    "the first has (-), and what changed (~, with the fields that\n"
	    "differ). Exit 0 when the states are equal, 1 when they differ,\n"
	    "3 when a file does not apply, 5 when a database cannot be\n"
	    "reached, 9 for a missing variable or schema_file. The SQL that\n"
	    "turns one state into the other is not generated yet.",
	    opts,
	    "nmig diff                       # do the migrations give the "
	    "declared schema?\n"
	    "nmig diff --from migrations@applied --to env:DATABASE_URL  # "
	    "drift\n"
	    "nmig diff --from env:FROM_URL --to env:TO_URL --format json",
	};
	struct schemastate s;
	struct nmig_catalog a = NMIG_CATALOG_INIT, b = NMIG_CATALOG_INIT;
	const char *url;
	unsigned flags;
	size_t n;
	int rc, err, json;

	rc = cli_opts_parse_none(g, &usage, &argc, argv,
				 "name the states with --from and --to");
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (format && strcmp(format, "summary") != 0 &&
	    strcmp(format, "json") != 0) {
		cli_errorf(g, "unknown format '%s'", format);
		cli_hintf(g, "write --format summary or --format json (the SQL "
			     "planner is not built yet)");
		return NMIG_EXIT_USAGE;
	}
	/* the .env beside nmig.conf, for env:VAR states */
	if (db_find_url(g, &url))
		return cli_report_error(g);
	memset(&s, 0, sizeof(s));
	s.g = g;
	s.dev_url = dev_url;
	s.bindir = bindir;
	json = g->json || (format && strcmp(format, "json") == 0);
	flags = ignore_order ? NMIG_CAT_NO_COLUMN_ORDER : 0;
	err = schemastate_read(&s, from, &a);
	if (!err)
		err = schemastate_read(&s, to, &b);
	schemastate_release(&s);
	if (err) {
		rc = cli_report_error(g);
		goto cleanup;
	}
	if (json)
		fputs("{\"differences\": ", stdout);
	n = schemastate_print_diff(g, &a, &b, flags, json);
	if (json)
		printf(", \"equal\": %s, \"from\": {\"objects\": %zu, "
		       "\"roundtrips\": %ld}, \"to\": {\"objects\": %zu, "
		       "\"roundtrips\": %ld}}\n",
		       n ? "false" : "true", a.n, a.roundtrips, b.n,
		       b.roundtrips);
	else if (!g->quiet)
		fprintf(stderr, "%s: %zu difference%s (%zu and %zu objects)\n",
			n ? "differ" : "equal", n, n == 1 ? "" : "s", a.n,
			b.n);
	rc = n ? NMIG_EXIT_FAILURE : NMIG_EXIT_OK;
cleanup:
	nmig_catalog_release(&a);
	nmig_catalog_release(&b);
	return rc;
}
