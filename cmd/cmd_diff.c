/*
 * nmig diff [--from STATE] [--to STATE]: the SQL that turns one state into
 * the other (cmd/schemastate.h, lib/schemaplan.h), proven on a scratch
 * database before it is printed, or which objects differ (--format
 * summary|json), compared object by object with the catalog model
 * (lib/catalog.h). Exit 0 when they are equal, 1 when they differ, so CI
 * can gate on "the migrations produce the declared schema"; 3 when the
 * change is refused or its proof fails (nothing is printed then).
 */
#include "autoplan.h"
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

struct renames {
	const char **v;
	size_t n;
};

static int add_rename(const char *value, void *ud)
{
	struct renames *r = ud;
	const char **v;
	const char *eq = strrchr(value, '=');

	if (!eq || eq == value || !eq[1] || !strchr(value, '.')) {
		nmig_error_set(NMIG_EUSAGE, "--rename takes OLD=NEW, got '%s'",
			       value);
		nmig_error_hint("e.g. --rename public.users=people or --rename "
				"public.users.name=full_name");
		return NMIG_EUSAGE;
	}
	v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	r->v = v;
	r->v[r->n++] = value;
	return 0;
}

/* Print a proven plan as one script, its steps marked. */
static void print_sql(const struct cli_autoplan *p, const char *from,
		      const char *to)
{
	struct nmig_buf out = NMIG_BUF_INIT;
	size_t k;

	nmig_buf_printf(&out,
			"-- nmig diff --from %s --to %s: proven on a scratch "
			"database\n",
			from, to);
	cli_autoplan_comments(&out, &p->up);
	for (k = 0; k < p->nsteps; k++) {
		int st = p->steps[k];

		if (p->nsteps > 1 || st != NMIG_PLAN_MAIN)
			nmig_buf_printf(
			    &out, "\n-- step %zu of %zu: %s\n", k + 1,
			    p->nsteps,
			    st == NMIG_PLAN_CONCURRENT
				? "outside a transaction, one statement at a "
				  "time"
			    : st == NMIG_PLAN_VALIDATE
				? "in a transaction, after the concurrent step"
				: "in a transaction");
		nmig_buf_puts(&out, p->up.step[st].ptr);
	}
	fwrite(out.ptr, 1, out.len, stdout);
	nmig_buf_release(&out);
}

/* --format sql: plan, prove, print. */
static int diff_sql(struct cli_global *g, struct schemastate *s,
		    const struct nmig_catalog *a, const struct nmig_catalog *b,
		    const struct nmig_plan_opts *o, const char *from,
		    const char *to)
{
	struct cli_autoplan p;
	int err = cli_autoplan_make(s, a, b, o, 0, &p), rc;

	if (err) {
		if (p.up.nrefused)
			cli_autoplan_report_refusal(g, &p.up);
		rc = cli_report_error(g);
	} else if (!p.nsteps) {
		if (!g->quiet)
			fprintf(stderr, "equal: nothing to do (%zu and %zu "
					"objects)\n",
				a->n, b->n);
		rc = NMIG_EXIT_OK;
	} else {
		print_sql(&p, from, to);
		if (!g->quiet)
			fprintf(stderr,
				"differ: %zu statement%s in %zu step%s, proven "
				"on a scratch database\n",
				p.up.nstmts[0] + p.up.nstmts[1] + p.up.nstmts[2],
				p.up.nstmts[0] + p.up.nstmts[1] +
					    p.up.nstmts[2] ==
					1
				    ? ""
				    : "s",
				p.nsteps, p.nsteps == 1 ? "" : "s");
		rc = NMIG_EXIT_FAILURE;
	}
	cli_autoplan_release(&p);
	return rc;
}

int cmd_diff(struct cli_global *g, int argc, char **argv)
{
	const char *from = "migrations", *to = "schema", *format = NULL;
	const char *dev_url = NULL, *bindir = NULL;
	int ignore_order = 0, destructive = 0, unsafe_fast = 0;
	struct renames ren = {NULL, 0};
	const struct cli_opt opts[] = {
	    {0, "from", "STATE",
	     "the state compared from (default: migrations)", &from, NULL, NULL,
	     NULL},
	    {0, "to", "STATE", "the state compared to (default: schema)", &to,
	     NULL, NULL, NULL},
	    {0, "format", "sql|summary|json",
	     "the SQL from --from to --to (default), one line per object, or "
	     "JSON",
	     &format, NULL, NULL, NULL},
	    {0, "rename", "OLD=NEW",
	     "declare a renamed table (schema.table=new) or column "
	     "(schema.table.column=new); repeatable",
	     NULL, NULL, add_rename, &ren},
	    {0, "allow-destructive", NULL,
	     "allow dropping tables and columns and narrowing types", NULL,
	     &destructive, NULL, NULL},
	    {0, "unsafe-fast", NULL,
	     "the plain blocking forms (no CONCURRENTLY, no NOT VALID)", NULL,
	     &unsafe_fast, NULL, NULL},
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
	    "Compare two states (see 'nmig schema --help' for the states:\n"
	    "migrations[@REV], schema, file:PATH, env:VAR) and print the SQL\n"
	    "that turns the first into the second, proven on a scratch\n"
	    "database first; or, with --format summary, list what the second\n"
	    "has that the first has not (+), what only the first has (-), and\n"
	    "what changed (~, with the fields that differ). Exit 0 when the\n"
	    "states are equal, 1 when they differ, 3 when a file does not\n"
	    "apply or the SQL is refused (destructive without\n"
	    "--allow-destructive, or not producible) or fails its proof, 5\n"
	    "when a database cannot be reached, 9 for a missing variable or\n"
	    "schema_file.",
	    opts,
	    "nmig diff                       # SQL from the migrations to the "
	    "declared schema\n"
	    "nmig diff --format summary      # only which objects differ\n"
	    "nmig diff --from migrations@applied --to env:DATABASE_URL  # "
	    "drift\n"
	    "nmig diff --from env:FROM_URL --to env:TO_URL --format json",
	};
	struct schemastate s;
	struct nmig_catalog a = NMIG_CATALOG_INIT, b = NMIG_CATALOG_INIT;
	const char *url;
	unsigned flags;
	size_t n;
	int rc, err, json, sql;

	rc = cli_opts_parse_none(g, &usage, &argc, argv,
				 "name the states with --from and --to");
	if (rc) {
		free(ren.v);
		return rc == 1 ? NMIG_EXIT_OK : rc;
	}
	if (format && strcmp(format, "summary") != 0 &&
	    strcmp(format, "json") != 0 && strcmp(format, "sql") != 0) {
		cli_errorf(g, "unknown format '%s'", format);
		cli_hintf(g, "write --format sql, summary or json");
		free(ren.v);
		return NMIG_EXIT_USAGE;
	}
	/* the .env beside nmig.conf, for env:VAR states */
	if (db_find_url(g, &url)) {
		free(ren.v);
		return cli_report_error(g);
	}
	memset(&s, 0, sizeof(s));
	s.g = g;
	s.dev_url = dev_url;
	s.bindir = bindir;
	json = g->json || (format && strcmp(format, "json") == 0);
	sql = !json && (!format || strcmp(format, "sql") == 0);
	flags = ignore_order ? NMIG_CAT_NO_COLUMN_ORDER : 0;
	err = schemastate_read(&s, from, &a);
	if (!err)
		err = schemastate_read(&s, to, &b);
	if (err) {
		rc = cli_report_error(g);
		goto cleanup;
	}
	if (sql) {
		struct nmig_plan_opts po;

		memset(&po, 0, sizeof(po));
		po.renames = ren.v;
		po.nrenames = ren.n;
		po.allow_destructive = destructive;
		po.unsafe_fast = unsafe_fast;
		po.flags = flags;
		rc = diff_sql(g, &s, &a, &b, &po, from, to);
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
	schemastate_release(&s);
	nmig_catalog_release(&a);
	nmig_catalog_release(&b);
	free(ren.v);
	return rc;
}
