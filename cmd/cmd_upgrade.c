/*
 * nmig upgrade [TARGET]: apply the revisions the target needs (closure of
 * the target minus what is applied), in plan order. Consecutive
 * transactional migrations go to the server as one batch; each one runs in
 * its own transaction, so a failure leaves the earlier ones committed.
 */
#include "commands.h"
#include "db.h"
#include "offline_cmd.h"
#include "production.h"

int cmd_upgrade(struct cli_global *g, int argc, char **argv)
{
	struct db_opts o = {0};
	struct cli_db db;
	int dry_run = 0, allow_drift = 0, sql = 0, rc;
	const char *output = NULL;
	const struct cli_opt opts[] = {
	    {0, "dry-run", NULL,
	     "print the plan and change nothing (still reads the "
	     "database)",
	     NULL, &dry_run, NULL, NULL},
	    {0, "allow-drift", NULL,
	     "run even if applied files were edited since", NULL, &allow_drift,
	     NULL, NULL},
	    DB_OPTS_LOCK(&o),
	    DB_OPTS_RUN(&o),
	    DB_OPTS_CONNECT(&o),
	    OFFLINE_OPTS(&sql, &output),
	    {0},
	};
	const struct cli_usage usage = {
	    "upgrade",
	    "[TARGET]",
	    "Apply migrations up to TARGET (default: head): every revision\n"
	    "TARGET needs that the database lacks, parents before children.\n"
	    "TARGET is head, heads, a revision id or unique prefix, +N (the\n"
	    "next N pending), or REV+N. Each migration runs in its own\n"
	    "transaction (unless it says '-- nmig:transaction off'); a\n"
	    "failure rolls that one back and keeps the earlier ones. Prints\n"
	    "one line per migration and a summary. With --sql, print the\n"
	    "psql script of the same upgrade instead, from the start\n"
	    "START:TARGET gives, else the state last observed on the\n"
	    "database, else base; nothing connects.",
	    opts,
	    "nmig upgrade\n"
	    "nmig upgrade +1\n"
	    "nmig upgrade 20261126091000 --dry-run\n"
	    "nmig --json upgrade heads --lock-timeout 2s\n"
	    "nmig upgrade 20261126091000:head --sql -o upgrade.sql",
	};

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc > 2) {
		cli_errorf(g, "upgrade takes one target, got %d", argc - 1);
		cli_hintf(g, "see 'nmig upgrade --help'");
		return NMIG_EXIT_USAGE;
	}
	if ((rc = offline_check_opts(g, "upgrade", sql, output, dry_run)) ||
	    (rc = offline_check_range(g, "upgrade", argc > 1 ? argv[1] : NULL, sql)))
		return rc;
	if (sql) {
		struct offline_args a = {NMIG_OFFLINE_UPGRADE,
					 argc > 1 ? argv[1] : "head", output,
					 allow_drift, 0};

		return offline_run(g, &o, &a);
	}
	rc = db_init(&db, g, &o);
	if (!dry_run && production_env())
		db.on_plan = production_announce;
	if (rc) {
		db_release(&db);
		return rc;
	}
	rc = db_migrate(&db, NMIG_UP, argc > 1 ? argv[1] : "head", dry_run,
			allow_drift);
	db_release(&db);
	return rc;
}
