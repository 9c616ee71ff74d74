/*
 * What nmig does differently in production (see production.h): knowing
 * that it is there, and announcing an upgrade's target database and plan
 * on stderr before anything runs. No prompt: CI runs without a terminal.
 */
#include "production.h"

#include <stdlib.h>
#include <string.h>

/* Whether c is a blank that may surround the value. */
static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Whether the len bytes at s are word, ignoring ASCII case. */
static int same_word(const char *s, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return 0;
	}
	return 1;
}

const char *production_env_value(const char **value, int *len)
{
	static const char *const vars[] = {"NMIG_ENV", "NODE_ENV"};
	size_t i, n;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (!v)
			continue;
		while (is_space(*v))
			v++;
		n = strlen(v);
		while (n && is_space(v[n - 1]))
			n--;
		if (same_word(v, n, "production") || same_word(v, n, "prod")) {
			if (value)
				*value = v;
			if (len)
				*len = (int)n;
			return vars[i];
		}
	}
	return NULL;
}

const char *production_env(void)
{
	return production_env_value(NULL, NULL);
}

/* The plan lines: "  apply <id> <message>[ (outside a transaction)]". */
static void print_plan(struct cli_db *db, const struct nmig_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		const struct nmig_revision *rev =
		    nmig_graph_rev(db->graph, plan->steps[i]);

		fputs("  apply ", stderr);
		cli_put_safe(stderr, rev->id);
		fputc(' ', stderr);
		cli_put_safe(stderr, rev->message);
		if (!rev->transactional)
			fputs(" (outside a transaction)", stderr);
		fputc('\n', stderr);
	}
}

void production_announce(struct cli_db *db, const char *target,
			 const struct nmig_plan *plan)
{
	const char *value = "";
	int len = 0;
	const char *var = production_env_value(&value, &len);

	fprintf(stderr, "production (%s is '%.*s'): upgrading ", var, len,
		value);
	cli_put_safe(stderr, nmig_conn_display(db->conn));
	fputs(" to ", stderr);
	cli_put_safe(stderr, target);
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
