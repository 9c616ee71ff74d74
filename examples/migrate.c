/*
 * migrate: upgrade the database at DATABASE_URL (or libpq's PG*
 * variables) to the head of a migrations directory, printing each
 * migration as it completes -- what `nmig upgrade` does, as an
 * application embedding libnmig would do it.
 *
 *     cc migrate.c $(pkg-config --cflags --libs nmig) -o migrate
 *     ./migrate [DIR]          # DIR defaults to ./migrations
 *
 * Exits 0 when the database is at head, 1 with the error on stderr.
 */
#include <stdio.h>
#include <string.h>

#include <nmig/conn.h>
#include <nmig/dsn.h>
#include <nmig/error.h>
#include <nmig/migrate.h>
#include <nmig/project.h>
#include <nmig/state.h>

/* The progress callback: one line per migration as it commits. */
static void on_event(void *ud, const struct nmig_exec_event *ev)
{
	(void)ud;
	if (ev->kind == NMIG_EXEC_DONE)
		printf("applied %s %s (%.0f ms)\n", ev->rev->id,
		       ev->rev->message ? ev->rev->message : "", ev->ms);
	else if (ev->kind == NMIG_EXEC_RETRY)
		printf("retrying %s after a lock timeout\n", ev->rev->id);
	fflush(stdout);
}

/* Print the last error in its three layers, as nmig does. */
static int fail(void)
{
	const struct nmig_error *e = nmig_error_last();

	fprintf(stderr, "error: %s\n", e->message);
	if (e->file[0])
		fprintf(stderr, "  --> %s:%d:%d\n", e->file, e->line, e->col);
	if (e->detail[0])
		fprintf(stderr, "detail: %s\n", e->detail);
	if (e->hint[0])
		fprintf(stderr, "hint: %s\n", e->hint);
	return 1;
}

int main(int argc, char **argv)
{
	struct nmig_project_opts po;
	struct nmig_project project;
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_conn_opts co;
	struct nmig_conn *conn = NULL;
	struct nmig_vtable table;
	struct nmig_migrate_opts mo;
	struct nmig_migrate_result res;
	const char *url;
	int rc = 1, have_table = 0, have_res = 0;

	memset(&po, 0, sizeof(po));
	po.dir = argc > 1 ? argv[1] : "migrations";
	if (nmig_project_load(&project, &po, &diags)) {
		size_t i;

		for (i = 0; i < diags.n; i++)
			fprintf(stderr, "%s: %s\n",
				diags.items[i].file ? diags.items[i].file : "",
				diags.items[i].message);
		fail();
		goto cleanup;
	}
	memset(&co, 0, sizeof(co));
	co.connect_timeout_ms = 15000;
	if (nmig_dsn_require(NULL, NULL, &url) ||
	    nmig_conn_open(&conn, url, &co, NULL)) {
		fail();
		goto cleanup;
	}
	if (nmig_vtable_init(&table, conn, NULL, NULL)) {
		fail();
		goto cleanup;
	}
	have_table = 1;
	memset(&mo, 0, sizeof(mo));
	mo.dir = NMIG_UP;
	mo.target = "head";
	mo.lock_wait_ms = 60000;
	mo.lock_timeout_ms = 5000;
	mo.lock_retries = 3;
	mo.client_check_ms = 1000;
	mo.nmig_version = "example";
	mo.on_event = on_event;
	have_res = 1;
	if (nmig_migrate(&res, conn, &table, project.graph, &mo)) {
		fail();
		goto cleanup;
	}
	printf("%zu migration%s applied; the database is at head\n",
	       res.ndone, res.ndone == 1 ? "" : "s");
	rc = 0;
cleanup:
	if (have_res)
		nmig_migrate_result_release(&res);
	if (have_table)
		nmig_vtable_release(&table);
	nmig_conn_close(conn);
	nmig_project_release(&project);
	nmig_diags_release(&diags);
	return rc;
}
