/*
 * What nmig does differently in production (see production.h): knowing
 * that it is there, and announcing an upgrade's target database and plan
 * on stderr before anything runs. No prompt: CI runs without a terminal.
 */
#include "production.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

const char *production_env(void)
{
	static const char *const vars[] = {"NMIG_ENV", "NODE_ENV"};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && strcmp(v, "production") == 0)
			return vars[i];
	}
	return NULL;
}

/* The plan lines: "  apply <id> <message>[ (outside a transaction)]". */
static void print_plan(struct nmig_db *db, const struct nmig_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		const struct nmig_revision *rev =
		    nmig_graph_rev(db->graph, plan->steps[i]);

		fputs("  apply ", stderr);
		nmig_put_safe(stderr, rev->id);
		fputc(' ', stderr);
		nmig_put_safe(stderr, rev->message);
		if (!rev->transactional)
			fputs(" (outside a transaction)", stderr);
		fputc('\n', stderr);
	}
}

/*
 * The plan to target on db's connection, or 0 with nothing printed when
 * it cannot be made. Returns 1 when *plan was filled.
 */
static int make_plan(struct nmig_db *db, const char *target,
		     struct nmig_plan *plan)
{
	struct nmig_applied applied;
	unsigned refuse = NMIG_REFUSE_DIRTY | NMIG_REFUSE_UNKNOWN |
			  NMIG_REFUSE_NOT_CLOSED | NMIG_REFUSE_DRIFT;
	int err;

	if (nmig_state_read(&db->state, db->conn, &db->table, 0))
		return 0;
	if (nmig_state_analyze(&db->report, &db->state, db->graph))
		return 0;
	db->have_report = 1;
	if (nmig_state_refuse(&db->report, &db->state, db->graph, refuse))
		return 0;
	if (nmig_applied_init(&applied, db->graph, db->report.applied_ids,
			      db->report.napplied_ids))
		return 0;
	err = nmig_plan_upgrade(plan, db->graph, &applied, target);
	nmig_applied_release(&applied);
	return err == NMIG_OK;
}

int production_announce(struct nmig_global *g, const struct db_opts *o,
			const char *target)
{
	struct nmig_db db;
	struct nmig_plan plan;
	int rc;

	memset(&plan, 0, sizeof(plan));
	rc = db_init(&db, g, o);
	if (!rc)
		rc = db_load(&db);
	if (!rc)
		rc = db_connect(&db);
	if (rc)
		goto cleanup;
	fprintf(stderr, "production (%s is 'production'): upgrading ",
		production_env());
	nmig_put_safe(stderr, db.conn->display);
	fputs(" to ", stderr);
	nmig_put_safe(stderr, target);
	if (!make_plan(&db, target, &plan)) {
		fputc('\n', stderr);
		nmig_error_clear();
		goto cleanup;
	}
	if (plan.n == 0)
		fputs(": nothing to apply\n", stderr);
	else
		fprintf(stderr, ": %zu revision%s\n", plan.n,
			plan.n == 1 ? "" : "s");
	print_plan(&db, &plan);
	nmig_plan_release(&plan);
cleanup:
	fflush(stderr);
	db_release(&db);
	return rc;
}
