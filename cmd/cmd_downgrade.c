/*
 * nmig downgrade TARGET: revert the applied revisions that descend from
 * the target (children before parents), each in its own transaction with
 * its down file. A revision without a down file stops the plan before
 * anything runs.
 */
#include "commands.h"
#include "db.h"
#include "offline_cmd.h"

int cmd_downgrade(struct cli_global *g, int argc, char **argv)
{
	struct db_opts o = {0};
	struct cli_db db;
	int dry_run = 0, sql = 0, rc;
	const char *output = NULL;
	const struct cli_opt opts[] = {
	    {0, "dry-run", NULL,
	     "print the plan and change nothing (still reads the "
	     "database)",
	     NULL, &dry_run, NULL, NULL},
	    DB_OPTS_LOCK(&o),
	    DB_OPTS_RUN(&o),
	    DB_OPTS_CONNECT(&o),
	    DB_OPTS_PRODUCTION(&o),
	    OFFLINE_OPTS(&sql, &output),
	    {0},
	};
	const struct cli_usage usage = {
	    "downgrade",
	    "TARGET",
	    "Revert migrations down to TARGET: every applied revision that\n"
	    "descends from TARGET, children before parents, with its down\n"
	    "file. TARGET is base (revert everything), a revision id or\n"
	    "unique prefix, -N (the last N applied), or REV-N. A revision\n"
	    "without a down file stops the plan before anything runs. With\n"
	    "--sql, print the psql script of the same downgrade instead,\n"
	    "from the start START:TARGET gives (downgrade 'B:A' goes from B\n"
	    "down to A), else the state last observed on the database;\n"
	    "nothing connects.",
	    opts,
	    "nmig downgrade -1\n"
	    "nmig downgrade 20261126091000\n"
	    "nmig downgrade base --dry-run\n"
	    "nmig downgrade head:base --sql -o downgrade.sql",
	};

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc != 2) {
		if (argc < 2)
			cli_errorf(g, "downgrade needs a target");
		else
			cli_errorf(g, "downgrade takes one target, got %d",
				   argc - 1);
		cli_hintf(g, "give one: 'nmig downgrade -1' (one step), a "
			     "revision, or base; see 'nmig downgrade --help'");
		return NMIG_EXIT_USAGE;
	}
	if ((rc = offline_check_opts(g, "downgrade", sql, output, dry_run)) ||
	    (rc = offline_check_range(g, "downgrade", argv[1], sql)))
		return rc;
	if (sql) {
		/* A script changes nothing by itself: no production guard. */
		struct offline_args a = {NMIG_OFFLINE_DOWNGRADE, argv[1],
					 output, 0, 0};

		return offline_run(g, &o, &a);
	}
	rc = db_init(&db, g, &o);
	if (!rc && !dry_run)
		rc = db_production_guard(&db, "downgrade", &o);
	if (!rc)
		rc = db_migrate(&db, NMIG_DOWN, argv[1], dry_run, 0);
	db_release(&db);
	return rc;
}
