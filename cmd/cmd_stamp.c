/*
 * nmig stamp TARGET: make the database's applied set exactly the target's
 * closure without running any migration SQL -- rows inserted with the
 * files' checksums, rows outside the closure deleted -- for adopting an
 * existing database or recording work done by hand. Rows of revisions
 * without files, and dirty rows, are refused unless --purge deletes them.
 */
#include "commands.h"
#include "db.h"
#include "offline_cmd.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

static int stamp(struct cli_db *db, const char *target, int purge)
{
	struct cli_global *g = db->g;
	struct nmig_applied applied;
	size_t *nodes = NULL, n = 0, count, ins = 0, del = 0;
	unsigned char *mark = NULL;
	int rc, have_applied = 0;

	if ((rc = db_load(db)) || (rc = db_connect(db)) || (rc = db_begin(db)))
		goto cleanup;
	/* The set may be broken (that is what stamp repairs): keep going. */
	if (nmig_applied_init(&applied, db->graph, db->report.applied_ids,
			      db->report.napplied_ids) &&
	    !applied.mark) {
		rc = db_fail(db);
		goto cleanup;
	}
	have_applied = 1;
	if (nmig_target_resolve(db->graph, &applied, NMIG_UP, target, &nodes,
				&n)) {
		rc = db_fail(db);
		goto cleanup;
	}
	count = nmig_graph_count(db->graph);
	mark = calloc(count ? count : 1, 1);
	if (!mark) {
		nmig_error_set(NMIG_ENOMEM, "out of memory");
		rc = db_fail(db);
		goto cleanup;
	}
	nmig_graph_mark_ancestors(db->graph, nodes, n, mark);
	if (nmig_state_stamp(db->conn, &db->table, &db->state, db->graph, mark,
			     purge, NMIG_VERSION, &ins, &del)) {
		rc = db_fail(db);
		goto cleanup;
	}
	memcpy(db->report.mark, mark, count);
	if (g->json) {
		printf("{\"inserted\":%zu,\"deleted\":%zu,\"current\":", ins,
		       del);
		db_json_heads(db, stdout);
		fputs("}\n", stdout);
	} else if (!g->quiet) {
		if (ins == 0 && del == 0)
			fputs("nothing to do: database is already at ", stdout);
		else
			printf("stamped: %zu row%s inserted, %zu deleted; "
			       "at ",
			       ins, ins == 1 ? "" : "s", del);
		db_print_at(db, stdout);
		fputc('\n', stdout);
	}
cleanup:
	free(nodes);
	free(mark);
	if (have_applied)
		nmig_applied_release(&applied);
	return rc;
}

int cmd_stamp(struct cli_global *g, int argc, char **argv)
{
	struct db_opts o = {0};
	struct cli_db db;
	int purge = 0, sql = 0, rc;
	const char *output = NULL;
	const struct cli_opt opts[] = {
	    {0, "purge", NULL,
	     "also delete rows of revisions without files, and dirty "
	     "rows",
	     NULL, &purge, NULL, NULL},
	    DB_OPTS_LOCK(&o),
	    DB_OPTS_CONNECT(&o),
	    DB_OPTS_PRODUCTION(&o),
	    OFFLINE_OPTS(&sql, &output),
	    {0},
	};
	const struct cli_usage usage = {
	    "stamp",
	    "TARGET",
	    "Record TARGET and its ancestors as exactly the applied\n"
	    "revisions, without running any migration SQL: missing rows are\n"
	    "inserted with the files' checksums, rows outside that set are\n"
	    "deleted. 'stamp base' empties the table. Rows of revisions that\n"
	    "have no file, and dirty rows, are refused unless --purge. With\n"
	    "--sql, print the psql script of the same stamp instead, from\n"
	    "the start START:TARGET gives, else the state last observed on\n"
	    "the database (with --purge: from any state); nothing connects.",
	    opts,
	    "nmig stamp head\n"
	    "nmig stamp 20261126091000\n"
	    "nmig stamp base --purge\n"
	    "nmig stamp base:20261126091000 --sql -o stamp.sql",
	};

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc != 2) {
		cli_errorf(g, argc < 2 ? "stamp needs a target"
				       : "stamp takes one target");
		cli_hintf(g, "see 'nmig stamp --help'");
		return NMIG_EXIT_USAGE;
	}
	if ((rc = offline_check_opts(g, "stamp", sql, output, 0)))
		return rc;
	if (sql) {
		struct offline_args a = {NMIG_OFFLINE_STAMP, argv[1], output, 0,
					 purge};

		return offline_run(g, &o, &a);
	}
	rc = db_init(&db, g, &o);
	if (!rc)
		rc = db_production_guard(&db, "stamp", &o);
	if (!rc)
		rc = stamp(&db, argv[1], purge);
	db_release(&db);
	return rc;
}
