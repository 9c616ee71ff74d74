/*
 * nmig repair: bookkeeping fixes after a deliberate change. --checksums
 * (the default) re-records the checksums of applied revisions whose files
 * were edited; --mark-applied / --mark-rolled-back resolve the dirty row
 * a failed non-transactional migration left, once the user has finished
 * or undone its statements by hand.
 */
#include "commands.h"
#include "db.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Rows whose recorded checksums differ from the files (up or down). */
static size_t changed_rows(struct cli_db *db, size_t *out)
{
	size_t i, n = 0;

	for (i = 0; i < db->state.n; i++) {
		const struct nmig_row *row = &db->state.rows[i];
		long k = nmig_graph_find(db->graph, row->revision);
		const struct nmig_revision *rev;
		int down_differs;

		if (k < 0 || row->dirty)
			continue;
		rev = nmig_graph_rev(db->graph, (size_t)k);
		down_differs = rev->down.path ? !row->down_checksum ||
						    strcmp(row->down_checksum,
							   rev->down.checksum)
					      : row->down_checksum != NULL;
		if (strcmp(row->checksum, rev->up.checksum) || down_differs)
			out[n++] = i;
	}
	return n;
}

/*
 * repair without an option when rows are dirty: the checksums were the
 * only thing to re-record, but what blocks the runs is the dirty rows;
 * name them and the options that resolve them (exit 7).
 */
static int dirty_left(struct cli_db *db)
{
	const struct nmig_row *row = &db->state.rows[db->report.dirty[0]];

	nmig_error_set(NMIG_ESTATE,
		       "revision '%s' is dirty: a migration that runs outside "
		       "a transaction did not finish",
		       row->revision);
	if (db->report.ndirty > 1)
		nmig_error_detail("%zu revisions are dirty", db->report.ndirty);
	if (row->error)
		nmig_error_detail("%s", row->error);
	if (row->owner_alive)
		nmig_error_hint("it is being applied now by %s: wait for it",
				row->owner);
	else
		nmig_error_hint("check which of its statements ran, then 'nmig "
				"repair --mark-applied %s' (finished by hand) "
				"or 'nmig repair --mark-rolled-back %s' (undone)",
				row->revision, row->revision);
	return db_fail(db);
}

static int repair_checksums(struct cli_db *db)
{
	struct cli_global *g = db->g;
	size_t *rows = malloc((db->state.n ? db->state.n : 1) * sizeof(*rows));
	size_t n, i;
	int rc = NMIG_EXIT_OK;

	if (!rows) {
		nmig_error_set(NMIG_ENOMEM, "out of memory");
		return db_fail(db);
	}
	n = changed_rows(db, rows);
	if (nmig_state_repair_checksums(db->conn, &db->table, &db->state,
					db->graph, rows, n)) {
		rc = db_fail(db);
		goto cleanup;
	}
	if (g->json) {
		fputs("{\"repaired\":[", stdout);
		for (i = 0; i < n; i++) {
			if (i)
				fputc(',', stdout);
			cli_json_str(stdout, db->state.rows[rows[i]].revision);
		}
		fputs("]}\n", stdout);
	} else if (!g->quiet) {
		for (i = 0; i < n; i++) {
			const char *id = db->state.rows[rows[i]].revision;

			printf("re-recorded checksums of %s (", id);
			cli_put_safe(stdout, db_rev_path(db, id));
			fputs(")\n", stdout);
		}
		if (n == 0)
			puts(
			    "nothing to repair: every applied revision matches "
			    "its files");
		else
			printf("repaired %zu revision%s\n", n,
			       n == 1 ? "" : "s");
	}
cleanup:
	free(rows);
	return rc;
}

/* The dirty row's revision named by rev (exact, else a unique prefix). */
static const char *find_dirty(struct cli_db *db, const char *rev)
{
	const char *found = NULL;
	size_t i, len = strlen(rev), matches = 0;

	for (i = 0; i < db->report.ndirty; i++) {
		const char *id = db->state.rows[db->report.dirty[i]].revision;

		if (strcmp(id, rev) == 0)
			return id;
		if (len >= 4 && strncmp(id, rev, len) == 0) {
			found = id;
			matches++;
		}
	}
	return matches == 1 ? found : rev;
}

static int resolve_dirty(struct cli_db *db, const char *rev, int applied)
{
	struct cli_global *g = db->g;
	const char *id = find_dirty(db, rev);
	long k;

	if (nmig_state_resolve_dirty(db->conn, &db->table, id, applied))
		return db_fail(db);
	k = nmig_graph_find(db->graph, id);
	if (applied && k >= 0)
		db->report.mark[k] = 1;
	if (g->json) {
		fputs("{\"revision\":", stdout);
		cli_json_str(stdout, id);
		printf(",\"resolved\":\"%s\"}\n",
		       applied ? "applied" : "rolled-back");
	} else if (!g->quiet) {
		printf("marked %s as %s\n", id,
		       applied ? "applied"
			       : "rolled back (its row is deleted)");
	}
	return NMIG_EXIT_OK;
}

int cmd_repair(struct cli_global *g, int argc, char **argv)
{
	struct db_opts o = {0};
	struct cli_db db;
	const char *mark_applied = NULL, *mark_rolled_back = NULL;
	int checksums = 0, rc;
	const struct cli_opt opts[] = {
	    {0, "checksums", NULL,
	     "re-record the checksums of edited applied revisions "
	     "(default)",
	     NULL, &checksums, NULL, NULL},
	    {0, "mark-applied", "REV",
	     "the dirty REV's statements were finished by hand: record "
	     "it as applied",
	     &mark_applied, NULL, NULL, NULL},
	    {0, "mark-rolled-back", "REV",
	     "the dirty REV's statements were undone by hand: forget "
	     "its row",
	     &mark_rolled_back, NULL, NULL, NULL},
	    DB_OPTS_LOCK(&o),
	    DB_OPTS_CONNECT(&o),
	    DB_OPTS_PRODUCTION(&o),
	    {0},
	};
	const struct cli_usage usage = {
	    "repair",
	    "",
	    "Fix the version table's bookkeeping after a deliberate change,\n"
	    "without running migration SQL. --checksums (the default)\n"
	    "re-records the checksums of applied revisions whose files were\n"
	    "edited, listing each. A migration that runs outside a\n"
	    "transaction and failed leaves a dirty row that blocks every\n"
	    "run: check which of its statements ran, finish or undo them by\n"
	    "hand, then --mark-applied REV or --mark-rolled-back REV.",
	    opts,
	    "nmig repair\n"
	    "nmig repair --mark-applied 20261126092000\n"
	    "nmig repair --mark-rolled-back 20261126092000",
	};

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc > 1) {
		cli_errorf(g, "repair takes no arguments");
		cli_hintf(g, "see 'nmig repair --help'");
		return NMIG_EXIT_USAGE;
	}
	if (checksums + !!mark_applied + !!mark_rolled_back > 1) {
		cli_errorf(g, "give one of --checksums, --mark-applied and "
			      "--mark-rolled-back");
		return NMIG_EXIT_USAGE;
	}
	rc = db_init(&db, g, &o);
	if (!rc)
		rc = db_production_guard(&db, "repair", &o);
	if (!rc && !(rc = db_load(&db)) && !(rc = db_connect(&db)) &&
	    !(rc = db_lock(&db)) && !(rc = db_read(&db, 0))) {
		if (!db.state.exists && !g->json && !g->quiet)
			printf("nothing to repair: no table %s yet\n",
			       db.table.display);
		else if (!db.state.exists && g->json)
			puts("{\"repaired\":[]}");
		else if (mark_applied)
			rc = resolve_dirty(&db, mark_applied, 1);
		else if (mark_rolled_back)
			rc = resolve_dirty(&db, mark_rolled_back, 0);
		else if (!(rc = repair_checksums(&db)) && !checksums &&
			 db.report.ndirty)
			rc = dirty_left(&db);
	}
	db_release(&db);
	return rc;
}
