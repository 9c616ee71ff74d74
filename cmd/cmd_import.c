/*
 * nmig import: convert a history written for another tool (Diesel,
 * golang-migrate and flat V0001.Name pairs, dbmate, goose, Sourcegraph)
 * into nmig revision files, keeping ids, names and SQL byte for byte and
 * writing explicit `-- nmig:parents` headers in the source tool's order.
 * The whole source is read and checked before anything is written; the
 * destination must be empty unless --force. lib/import.h does the work.
 */
#include "commands.h"
#include "error.h"
#include "import.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* dest/name for display, without a doubled '/'. */
static void print_path(const char *dest, const char *name)
{
	size_t n = strlen(dest);

	cli_put_safe(stdout, dest);
	if (n && dest[n - 1] != '/')
		fputc('/', stdout);
	cli_put_safe(stdout, name);
}

/* dest/name as a JSON string; null when name is NULL. */
static void json_path(const char *dest, const char *name)
{
	size_t n = strlen(dest);
	char *p;

	if (!name) {
		fputs("null", stdout);
		return;
	}
	p = malloc(n + strlen(name) + 2);
	if (!p) {
		fputs("null", stdout);
		return;
	}
	sprintf(p, "%s%s%s", dest, n && dest[n - 1] == '/' ? "" : "/", name);
	cli_json_str(stdout, p);
	free(p);
}

/* The --json document: the import, and how many files were written. */
static void print_json(const struct nmig_import *imp, const char *dest,
		       int dry_run, size_t written)
{
	size_t i;

	fputs("{\"format\": ", stdout);
	cli_json_str(stdout, nmig_import_format_name(imp->format));
	fputs(", \"source\": ", stdout);
	cli_json_str(stdout, imp->src);
	fputs(", \"dir\": ", stdout);
	cli_json_str(stdout, dest);
	printf(", \"dry_run\": %s, \"files_written\": %zu,\n \"revisions\": [",
	       dry_run ? "true" : "false", written);
	for (i = 0; i < imp->n; i++) {
		const struct nmig_import_rev *r = &imp->revs[i];

		fputs(i ? ",\n  {" : "\n  {", stdout);
		fputs("\"id\": ", stdout);
		cli_json_str(stdout, r->id);
		fputs(", \"parents\": ", stdout);
		cli_json_strs(stdout, (const char *const *)r->parents,
			      r->nparents);
		printf(", \"transactional\": %s",
		       r->transactional ? "true" : "false");
		fputs(", \"message\": ", stdout);
		cli_json_str(stdout, r->message);
		fputs(", \"up\": ", stdout);
		json_path(dest, r->up_name);
		fputs(", \"down\": ", stdout);
		json_path(dest, r->down_name);
		fputs(", \"up_source\": ", stdout);
		cli_json_str(stdout, r->up_source);
		fputs(", \"down_source\": ", stdout);
		cli_json_str(stdout, r->down_source);
		fputc('}', stdout);
	}
	fputs("]}\n", stdout);
}

/* One line per file ("wrote" or "would write"), the first `limit` files;
 * with verbose, each revision's parents and transaction mode too. */
static void print_text(struct cli_global *g, const struct nmig_import *imp,
		       const char *dest, const char *verb, size_t limit,
		       int verbose)
{
	size_t i, j, count = 0;

	for (i = 0; i < imp->n && count < limit; i++) {
		const struct nmig_import_rev *r = &imp->revs[i];

		printf("%s ", verb);
		print_path(dest, r->up_name);
		fputc('\n', stdout);
		count++;
		if (r->down_name && count < limit) {
			printf("%s ", verb);
			print_path(dest, r->down_name);
			fputc('\n', stdout);
			count++;
		}
		if (!verbose)
			continue;
		printf("    %sparents:%s", cli_c_dim(g), cli_c_reset(g));
		if (!r->nparents)
			fputs(" base", stdout);
		for (j = 0; j < r->nparents; j++)
			printf(" %s", r->parents[j]);
		if (!r->transactional)
			fputs("; transaction off", stdout);
		if (!r->down_name)
			fputs("; irreversible (no down file)", stdout);
		fputc('\n', stdout);
	}
}

/* Whether src and dest name the same existing directory. */
static int same_dir(const char *src, const char *dest)
{
	struct stat a, b;

	if (stat(src, &a) != 0 || stat(dest, &b) != 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* nmig import [--from FORMAT] SRC [--dir DEST] [--force] [--dry-run]:
 * read and check SRC, then write DEST (see the file comment). */
int cmd_import(struct cli_global *g, int argc, char **argv)
{
	const char *from = "auto", *dest = NULL;
	int force = 0, dry_run = 0, rc;
	const struct cli_opt opts[] = {
	    {'f', "from", "FORMAT",
	     "the source tool: diesel, golang-migrate (or flat), dbmate, "
	     "goose, sourcegraph, or auto (default: detect)",
	     &from, NULL, NULL, NULL},
	    {0, "dir", "DEST",
	     "write into DEST (default: the migrations directory)", &dest, NULL,
	     NULL, NULL},
	    {0, "force", NULL,
	     "write into a non-empty DEST (same-name files are replaced)", NULL,
	     &force, NULL, NULL},
	    {'n', "dry-run", NULL, "list the files without writing them", NULL,
	     &dry_run, NULL, NULL},
	    {0, "json", NULL,
	     "print {format, source, dir, dry_run, files_written, "
	     "revisions}",
	     NULL, &g->json, NULL, NULL},
	    {0},
	};
	const struct cli_usage usage = {
	    "import",
	    "SRC",
	    "Convert the migration history in the directory SRC, written "
	    "for another\ntool, into nmig revision files in DEST. Ids, "
	    "names and SQL are kept byte\nfor byte; each up file gets "
	    "'-- nmig:' header lines in front: explicit\nparents that "
	    "reproduce the source tool's order, the message, and\n"
	    "'transaction off' where the tool ran the migration outside a "
	    "transaction.\ndbmate and goose files are split at their down "
	    "marker. Everything is\nread and checked before anything is "
	    "written; DEST must be empty unless\n--force. See "
	    "docs/import.md for each format.",
	    opts,
	    "nmig import --from diesel ../app/migrations\n"
	    "nmig import db/migrations --dir migrations --dry-run\n"
	    "nmig import --from goose sql/ --dir migrations --force",
	};
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_import imp;
	enum nmig_import_format format;
	unsigned flags;
	size_t written = 0;

	memset(&imp, 0, sizeof(imp));
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc < 2) {
		cli_errorf(g, "no source directory given");
		cli_hintf(g, "usage: nmig import [--from FORMAT] SRC "
			     "[--dir DEST]");
		return NMIG_EXIT_USAGE;
	}
	if (argc > 2) {
		cli_errorf(g, "unexpected argument '%s'", argv[2]);
		cli_hintf(g, "see 'nmig import --help'");
		return NMIG_EXIT_USAGE;
	}
	if (nmig_import_format_parse(&format, from))
		return cli_report_error(g);
	if (!dest)
		dest = g->cfg.dir ? g->cfg.dir : "migrations";
	if (same_dir(argv[1], dest)) {
		cli_errorf(g, "cannot import '%s' into itself", argv[1]);
		cli_hintf(g, "name another directory with --dir");
		return NMIG_EXIT_USAGE;
	}
	rc = nmig_import_read(&imp, argv[1], format, &diags);
	if (rc) {
		if (diags.errors) {
			cli_report_diags(g, &diags);
			cli_hintf(g, "nothing was written; fix the files "
				     "above and import again");
			rc = cli_exit_code(rc);
		} else {
			cli_report_diags(g, &diags);
			cli_report_error(g);
			/* several formats matched: the command line must say
			 * which (--from), as with any usage error */
			rc = rc == NMIG_EAMBIGUOUS ? NMIG_EXIT_USAGE
						   : cli_exit_code(rc);
		}
		goto cleanup;
	}
	cli_report_diags(g, &diags);
	flags = (force ? NMIG_IMPORT_FORCE : 0) |
		(dry_run ? NMIG_IMPORT_DRY_RUN : 0);
	rc = nmig_import_write(&imp, dest, flags, &written);
	if (g->json)
		print_json(&imp, dest, dry_run, written);
	else if (dry_run && !rc)
		print_text(g, &imp, dest, "would write", (size_t)-1,
			   g->verbose);
	else
		print_text(g, &imp, dest, "wrote", written, g->verbose);
	fflush(stdout); /* the list first, then the summary or error */
	if (rc) {
		rc = cli_report_error(g);
		if (written)
			cli_hintf(g,
				  "%zu files were written before the "
				  "failure (listed above)",
				  written);
		goto cleanup;
	}
	if (dry_run)
		cli_infof(g,
			  "dry run: %zu revisions from '%s' (%s) would be "
			  "written to '%s'",
			  imp.n, argv[1], nmig_import_format_name(imp.format),
			  dest);
	else
		cli_infof(g, "imported %zu revisions from '%s' (%s) into '%s'",
			  imp.n, argv[1], nmig_import_format_name(imp.format),
			  dest);
	rc = NMIG_EXIT_OK;
cleanup:
	nmig_import_release(&imp);
	nmig_diags_release(&diags);
	return rc;
}
