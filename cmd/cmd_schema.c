/*
 * nmig schema dump [STATE] [-o FILE]: the canonical DDL of a state
 * (default `migrations`, the head of the migration files) for review in
 * pull requests -- deterministic, ordered by dependencies, built on a
 * scratch database (cmd/schemastate.h) and rendered from the catalog
 * model (lib/schemadump.h). -o writes FILE only once the whole dump
 * succeeded (a temporary file renamed over it).
 */
#include "commands.h"
#include "db.h"
#include "schemastate.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "schemadump.h"

/* Write text to path through a temporary file beside it. */
static int write_file(struct cli_global *g, const char *path,
		      const struct nmig_buf *text)
{
	struct nmig_buf tmp = NMIG_BUF_INIT;
	FILE *f;
	int ok;

	nmig_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	f = nmig_buf_oom(&tmp) ? NULL : fopen(tmp.ptr, "w");
	if (!f) {
		cli_errorf(g, "cannot write '%s'", path);
		cli_hintf(g, "check that its directory exists and is "
			     "writable");
		nmig_buf_release(&tmp);
		return NMIG_EXIT_INPUT;
	}
	ok = fwrite(text->ptr, 1, text->len, f) == text->len;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp.ptr, path) != 0) {
		cli_errorf(g, "cannot write '%s'", path);
		unlink(tmp.ptr);
		nmig_buf_release(&tmp);
		return NMIG_EXIT_INPUT;
	}
	nmig_buf_release(&tmp);
	return NMIG_EXIT_OK;
}

int cmd_schema(struct cli_global *g, int argc, char **argv)
{
	const char *output = NULL, *dev_url = NULL, *bindir = NULL;
	const struct cli_opt opts[] = {
	    {'o', "output", "FILE",
	     "write the dump to FILE (only when it succeeded) instead of "
	     "standard output",
	     &output, NULL, NULL, NULL},
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
	    "schema",
	    "dump [STATE]",
	    "Print the canonical DDL of a state: every object in dependency\n"
	    "order, the same text for the same schema on every run, for\n"
	    "review in pull requests. STATE is migrations (the default: the\n"
	    "heads of the migration files), migrations@REV (REV and its\n"
	    "ancestors; migrations@applied: those applied in DATABASE_URL's\n"
	    "database), schema (schema_file in\n"
	    "nmig.conf: a .sql file, a directory of them, or a Markdown\n"
	    "spec's ```sql blocks), file:PATH, or env:VAR (a live database\n"
	    "whose URL is in VAR). File states are built on a temporary\n"
	    "local cluster, or on --dev-url. An object kind the dump cannot\n"
	    "write is refused by name. Exit 0 on success, 3 when a file does\n"
	    "not apply or an object cannot be dumped, 5 when the scratch\n"
	    "database cannot be started or reached, 9 for a missing variable\n"
	    "or schema_file.",
	    opts,
	    "nmig schema dump > schema.sql\n"
	    "nmig schema dump schema -o db/declared.sql\n"
	    "nmig schema dump env:DATABASE_URL\n"
	    "nmig schema dump file:dump.sql --dev-url env:DEV_DATABASE_URL",
	};
	struct schemastate s;
	struct nmig_catalog cat = NMIG_CATALOG_INIT;
	struct nmig_buf out = NMIG_BUF_INIT;
	const char *url;
	const char *spec = "migrations";
	int rc, err;

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc < 2 || strcmp(argv[1], "dump") != 0) {
		if (argc < 2)
			cli_errorf(g, "schema needs a command: dump");
		else
			cli_errorf(g, "unknown schema command '%s'", argv[1]);
		cli_hintf(g,
			  "the schema command is 'nmig schema dump [STATE]'");
		return NMIG_EXIT_USAGE;
	}
	if (argc > 3) {
		cli_errorf(g, "schema dump takes one state, got '%s' too",
			   argv[3]);
		cli_hintf(g, "see 'nmig schema --help'");
		return NMIG_EXIT_USAGE;
	}
	if (argc == 3)
		spec = argv[2];
	/* the .env beside nmig.conf, for env:VAR states */
	if (db_find_url(g, &url))
		return cli_report_error(g);
	memset(&s, 0, sizeof(s));
	s.g = g;
	s.dev_url = dev_url;
	s.bindir = bindir;
	err = schemastate_read(&s, spec, &cat);
	if (!err)
		err = nmig_schema_dump(&out, &cat);
	schemastate_release(&s);
	if (err) {
		rc = cli_report_error(g);
	} else if (output) {
		rc = write_file(g, output, &out);
	} else {
		fwrite(out.ptr, 1, out.len, stdout);
		rc = fflush(stdout) == 0 ? NMIG_EXIT_OK : NMIG_EXIT_FAILURE;
	}
	if (!rc && g->verbose && !g->quiet)
		cli_infof(g, "%zu objects read in %ld round trip%s", cat.n,
			  cat.roundtrips, cat.roundtrips == 1 ? "" : "s");
	nmig_catalog_release(&cat);
	nmig_buf_release(&out);
	return rc;
}
