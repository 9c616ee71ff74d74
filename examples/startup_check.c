/*
 * startup_check: the check an application runs when it starts, before it
 * serves anything: does the database it is about to use match the
 * migration files shipped with it? It changes nothing and takes no lock.
 *
 *     cc startup_check.c $(pkg-config --cflags --libs nmig) -o startup_check
 *     ./startup_check [DIR]    # DIR defaults to ./migrations
 *
 * Exit codes: 0 the database is at the files' head; 1 behind (revisions
 * pending: run the migrations first); 2 ahead (it has revisions these
 * files do not know: an older build of the application); 3 drifted or
 * dirty (an applied file was edited, or a migration did not finish);
 * 4 the check itself failed (files, connection). One line on stderr says
 * which, with the revisions.
 */
#include <stdio.h>
#include <string.h>

#include <nmig/conn.h>
#include <nmig/dsn.h>
#include <nmig/error.h>
#include <nmig/graph.h>
#include <nmig/project.h>
#include <nmig/state.h>

enum { OK, BEHIND, AHEAD, DRIFTED, FAILED };

static int fail(const char *what)
{
	const struct nmig_error *e = nmig_error_last();

	fprintf(stderr, "startup check: %s: %s\n", what, e->message);
	if (e->hint[0])
		fprintf(stderr, "hint: %s\n", e->hint);
	return FAILED;
}

/* List up to 5 of the rows idx[0..n) of s. */
static void list_rows(const struct nmig_state *s, const size_t *idx, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 5; i++)
		fprintf(stderr, "%s%s", i ? ", " : " ", s->rows[idx[i]].revision);
	fprintf(stderr, "%s\n", n > 5 ? ", ..." : "");
}

static int judge(const struct nmig_project *p, const struct nmig_state *s,
		 const struct nmig_state_report *r)
{
	size_t i, count = nmig_graph_count(p->graph), shown = 0;

	if (r->ndrift || r->ndirty) {
		fprintf(stderr, "startup check: the database has drifted from "
				"its migrations:");
		list_rows(s, r->ndrift ? r->drift : r->dirty,
			  r->ndrift ? r->ndrift : r->ndirty);
		return DRIFTED;
	}
	if (r->nunknown) {
		fprintf(stderr, "startup check: the database is ahead of this "
				"build (revisions it does not know):");
		list_rows(s, r->unknown, r->nunknown);
		return AHEAD;
	}
	if (r->npending) {
		fprintf(stderr, "startup check: the database is behind: %zu "
				"revision%s pending:",
			r->npending, r->npending == 1 ? "" : "s");
		for (i = 0; i < count && shown < 5; i++)
			if (!r->mark[i] && !r->dirty_mark[i])
				fprintf(stderr, "%s%s", shown++ ? ", " : " ",
					nmig_graph_rev(p->graph, i)->id);
		fprintf(stderr, "%s\n", r->npending > 5 ? ", ..." : "");
		return BEHIND;
	}
	fprintf(stderr, "startup check: the database is at head (%zu "
			"revision%s)\n",
		r->napplied, r->napplied == 1 ? "" : "s");
	return OK;
}

int main(int argc, char **argv)
{
	struct nmig_project_opts po;
	struct nmig_project project;
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_conn_opts co;
	struct nmig_conn *conn = NULL;
	struct nmig_vtable table;
	struct nmig_state state;
	struct nmig_state_report report;
	const char *url;
	int rc, have_table = 0, have_state = 0, have_report = 0;

	memset(&po, 0, sizeof(po));
	po.dir = argc > 1 ? argv[1] : "migrations";
	/* An application's files are read-only: no cache file beside them. */
	po.no_cache = 1;
	if (nmig_project_load(&project, &po, &diags)) {
		rc = fail("the migration files");
		goto cleanup;
	}
	memset(&co, 0, sizeof(co));
	co.connect_timeout_ms = 10000;
	if (nmig_dsn_require(NULL, NULL, &url) ||
	    nmig_conn_open(&conn, url, &co, NULL)) {
		rc = fail("cannot connect");
		goto cleanup;
	}
	if (nmig_vtable_init(&table, conn, NULL, NULL)) {
		rc = fail("the version table");
		goto cleanup;
	}
	have_table = 1;
	if (nmig_state_read(&state, conn, &table, 0)) {
		rc = fail("cannot read the version table");
		goto cleanup;
	}
	have_state = 1;
	if (nmig_state_analyze(&report, &state, project.graph)) {
		rc = fail("cannot compare");
		goto cleanup;
	}
	have_report = 1;
	rc = judge(&project, &state, &report);
cleanup:
	if (have_report)
		nmig_state_report_release(&report);
	if (have_state)
		nmig_state_release(&state);
	if (have_table)
		nmig_vtable_release(&table);
	nmig_conn_close(conn);
	nmig_project_release(&project);
	nmig_diags_release(&diags);
	return rc;
}
