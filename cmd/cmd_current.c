/*
 * nmig current: what the database has applied -- its applied heads -- and
 * how it compares with the files: pending revisions, drift (applied files
 * edited since), dirty rows (unfinished non-transactional migrations) and
 * applied revisions without files. A report: it exits 0 whatever it finds,
 * and 5 when it cannot connect.
 */
#include "commands.h"
#include "db.h"

#include <stdlib.h>
#include <string.h>

/* Print the row indexes idx[0..n) as a JSON array of revision ids. */
static void json_rows(struct cli_db *db, const size_t *idx, size_t n)
{
	size_t i;

	fputc('[', stdout);
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', stdout);
		cli_json_str(stdout, db->state.rows[idx[i]].revision);
	}
	fputc(']', stdout);
}

static void print_json(struct cli_db *db)
{
	fputs("{\"current\":", stdout);
	db_json_heads(db, stdout);
	printf(",\"pending\":%zu,\"applied\":%zu,\"drift\":",
	       db->report.npending, db->report.napplied);
	json_rows(db, db->report.drift, db->report.ndrift);
	fputs(",\"dirty\":", stdout);
	json_rows(db, db->report.dirty, db->report.ndirty);
	fputs(",\"unknown\":", stdout);
	json_rows(db, db->report.unknown, db->report.nunknown);
	printf(",\"ancestor_closed\":%s}\n",
	       db->report.not_closed < 0 ? "true" : "false");
}

/* One revision line: "<id> [(head)] <message>". */
static void print_rev(struct cli_db *db, size_t node)
{
	struct cli_global *g = db->g;
	const struct nmig_revision *rev = nmig_graph_rev(db->graph, node);
	size_t nc;

	nmig_graph_children(db->graph, node, &nc);
	printf("%s%s%s%s ", cli_c_bold(g), rev->id, cli_c_reset(g),
	       nc == 0 ? " (head)" : "");
	cli_put_safe(stdout, rev->message);
}

/* The full listing of --verbose. */
static void print_verbose(struct cli_db *db)
{
	struct nmig_state *s = &db->state;
	struct nmig_state_report *r = &db->report;
	size_t i, count = nmig_graph_count(db->graph);

	printf("\ndatabase %s, table %s\n", nmig_conn_display(db->conn),
	       db->table.display);
	printf("\napplied (%zu):\n", s->n - r->ndirty);
	for (i = 0; i < s->n; i++) {
		const struct nmig_row *row = &s->rows[i];

		if (row->dirty)
			continue;
		printf("  %s ", row->revision);
		cli_put_safe(stdout, row->message);
		printf("  [%s by %s", row->applied_at, row->applied_by);
		if (row->execution_ms >= 0)
			printf(", %lld ms", row->execution_ms);
		fputs("]\n", stdout);
	}
	printf("\npending (%zu):\n", r->npending);
	for (i = 0; i < count; i++) {
		if (r->mark[i] || r->dirty_mark[i])
			continue;
		fputs("  ", stdout);
		print_rev(db, i);
		fputc('\n', stdout);
	}
	for (i = 0; i < r->ndrift; i++) {
		const struct nmig_row *row = &s->rows[r->drift[i]];

		printf("drift: %s ", row->revision);
		cli_put_safe(stdout, db_rev_path(db, row->revision));
		fputs(" changed since it was applied\n", stdout);
	}
	for (i = 0; i < r->ndirty; i++) {
		const struct nmig_row *row = &s->rows[r->dirty[i]];

		printf("dirty: %s", row->revision);
		if (row->owner_alive)
			printf(" (being applied by %s)", row->owner);
		if (row->error) {
			fputs(": ", stdout);
			cli_put_safe(stdout, row->error);
		}
		fputc('\n', stdout);
	}
	for (i = 0; i < r->nunknown; i++) {
		const struct nmig_row *row = &s->rows[r->unknown[i]];

		printf("unknown: %s ", row->revision);
		cli_put_safe(stdout, row->message);
		fputs(" (no migration file)\n", stdout);
	}
}

static void print_text(struct cli_db *db, int verbose)
{
	struct nmig_state_report *r = &db->report;
	size_t i;

	if (!db->state.exists)
		printf("base (no table %s yet: nothing applied)\n",
		       db->table.display);
	else if (r->nheads == 0)
		printf("base (nothing applied)\n");
	for (i = 0; i < r->nheads; i++) {
		print_rev(db, r->heads[i]);
		fputc('\n', stdout);
	}
	printf("pending: %zu, drift: %zu, dirty: %zu, unknown: %zu\n",
	       r->npending, r->ndrift, r->ndirty, r->nunknown);
	for (i = 0; !verbose && i < r->ndirty; i++) {
		const struct nmig_row *row = &db->state.rows[r->dirty[i]];

		printf("dirty: %s ", row->revision);
		if (row->owner_alive)
			printf("(being applied now by %s)\n", row->owner);
		else
			printf("(did not finish: see 'nmig repair --help')\n");
	}
	if (r->not_closed >= 0)
		printf(
		    "not ancestor-closed: %s is applied but its parent %s "
		    "is not\n",
		    nmig_graph_rev(db->graph, (size_t)r->not_closed)->id,
		    nmig_graph_rev(db->graph, (size_t)r->missing_parent)->id);
	if (verbose)
		print_verbose(db);
}

int cmd_current(struct cli_global *g, int argc, char **argv)
{
	struct db_opts o = {0};
	struct cli_db db;
	int verbose = 0, rc;
	const struct cli_opt opts[] = {
	    {0, "verbose", NULL,
	     "list every applied and pending revision, drift and dirty "
	     "rows",
	     NULL, &verbose, NULL, NULL},
	    DB_OPTS_CONNECT(&o),
	    {0},
	};
	const struct cli_usage usage = {
	    "current",
	    "",
	    "Show the revisions the database has applied (its applied heads;\n"
	    "'(head)' marks a head of the files) and how it compares with\n"
	    "the files: pending revisions, drift (applied files edited\n"
	    "since), dirty rows (unfinished migrations that run outside a\n"
	    "transaction) and applied revisions that have no file. Changes\n"
	    "nothing and takes no lock.",
	    opts,
	    "nmig current\n"
	    "nmig current --verbose\n"
	    "nmig --json current",
	};

	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc > 1) {
		cli_errorf(g, "current takes no arguments");
		return NMIG_EXIT_USAGE;
	}
	rc = db_init(&db, g, &o);
	if (!rc)
		rc = db_load(&db);
	if (!rc)
		rc = db_connect(&db);
	if (!rc)
		rc = db_read(&db, 0);
	if (!rc) {
		if (g->json)
			print_json(&db);
		else
			print_text(&db, verbose || g->verbose);
	}
	db_release(&db);
	return rc;
}
