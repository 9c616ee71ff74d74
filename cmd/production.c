/*
 * What nmig does differently in production (see production.h): knowing
 * that it is there, and announcing an upgrade's target database and plan
 * on stderr before anything runs. No prompt: CI runs without a terminal.
 */
#include "production.h"

#include <stdlib.h>
#include <string.h>

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

void production_announce(struct nmig_db *db, const char *target,
			 const struct nmig_plan *plan)
{
	fprintf(stderr, "production (%s is 'production'): upgrading ",
		production_env());
	nmig_put_safe(stderr, nmig_conn_display(db->conn));
	fputs(" to ", stderr);
	nmig_put_safe(stderr, target);
	if (!plan)
		fputc('\n', stderr);
	else if (plan->n == 0)
		fputs(": nothing to apply\n", stderr);
	else
		fprintf(stderr, ": %zu revision%s\n", plan->n,
			plan->n == 1 ? "" : "s");
	if (plan)
		print_plan(db, plan);
	fflush(stderr);
}
