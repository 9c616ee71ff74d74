/*
 * Planning and proving generated migrations (see autoplan.h).
 */
#include "autoplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int cli_autoplan_step_tx(int step)
{
	return step != NMIG_PLAN_CONCURRENT;
}

/* Split "a\nb\n" into a NULL-terminated array of lines (in place). */
static const char **split_lines(char *text, size_t n)
{
	const char **v = calloc(n + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	while (text && *text && k < n) {
		char *nl = strchr(text, '\n');

		v[k++] = text;
		if (!nl)
			break;
		*nl = '\0';
		text = nl + 1;
	}
	return v;
}

/* The down SQL of one step: the plan from after it back to before it. */
static int plan_down(const struct nmig_catalog *after,
		     const struct nmig_catalog *before,
		     const struct nmig_plan_opts *opts,
		     const struct nmig_schemaplan *up, int first, int tx,
		     char **out, unsigned *ignore)
{
	struct nmig_plan_opts o = *opts;
	struct nmig_schemaplan d;
	struct nmig_buf undo = NMIG_BUF_INIT;
	const char **lines = NULL;
	int err;

	*out = NULL;
	o.allow_destructive = 1;
	/* a column dropped by the up comes back at the end of its table */
	o.flags |= NMIG_CAT_NO_COLUMN_ORDER;
	/* a transaction-off revision's down runs outside one too */
	o.unsafe_fast = tx;
	o.renames = NULL;
	o.nrenames = 0;
	if (first && up->nundo) {
		nmig_buf_puts(&undo, up->undo.ptr);
		lines = split_lines(undo.ptr, up->nundo);
		if (!lines) {
			nmig_buf_release(&undo);
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		}
		o.renames = lines;
		o.nrenames = up->nundo;
	}
	err = nmig_schemaplan_build(&d, after, before, &o);
	if (err == NMIG_EINPUT) {
		nmig_error_set(NMIG_EINPUT, "cannot plan the down SQL");
		nmig_error_detail("%s", d.refused.ptr);
	}
	if (!err) {
		struct nmig_buf all = NMIG_BUF_INIT;
		size_t len;
		int st;

		for (st = 0; st < NMIG_PLAN_NSTEPS; st++) {
			nmig_buf_puts(&all, d.step[st].ptr);
			*ignore |= d.ignore[st];
		}
		*out = nmig_buf_detach(&all, &len);
		if (!*out || nmig_buf_oom(&all))
			err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		nmig_buf_release(&all);
	}
	nmig_schemaplan_release(&d);
	free(lines);
	nmig_buf_release(&undo);
	return err;
}

int cli_autoplan_make(struct schemastate *s, const struct nmig_catalog *a,
		      const struct nmig_catalog *b,
		      const struct nmig_plan_opts *opts, int with_downs,
		      struct cli_autoplan *out)
{
	struct nmig_catalog mid[NMIG_PLAN_NSTEPS + 1];
	struct nmig_conn *c = NULL;
	unsigned flags = opts->flags;
	size_t k;
	int err, st;

	memset(out, 0, sizeof(*out));
	for (k = 0; k <= NMIG_PLAN_NSTEPS; k++) {
		struct nmig_catalog z = NMIG_CATALOG_INIT;

		mid[k] = z;
	}
	err = nmig_schemaplan_build(&out->up, a, b, opts);
	if (err)
		return err;
	for (st = 0; st < NMIG_PLAN_NSTEPS; st++)
		if (out->up.nstmts[st])
			out->steps[out->nsteps++] = st;
	if (!out->nsteps)
		return NMIG_OK;
	if ((err = schemastate_proof_open(s, a, flags, &c)))
		goto cleanup;
	for (k = 0; k < out->nsteps && !err; k++) {
		st = out->steps[k];
		err = schemastate_proof_step(s, c, out->up.step[st].ptr,
					     cli_autoplan_step_tx(st),
					     "the generated SQL failed on the "
					     "scratch database");
		if (!err && with_downs)
			err = schemastate_proof_read(s, c, &mid[k + 1]);
	}
	if (!err)
		err = schemastate_proof_check(s, c, b, flags,
					      "the generated SQL does not give "
					      "the target schema");
	if (err || !with_downs)
		goto cleanup;
	for (k = 0; k < out->nsteps && !err; k++)
		err = plan_down(&mid[k + 1], k ? &mid[k] : a, opts, &out->up,
				k == 0, cli_autoplan_step_tx(out->steps[k]),
				&out->down[k], &out->ignore[k]);
	for (k = 0; k < out->nsteps; k++)
		out->ignore[k] |= out->up.ignore[out->steps[k]];
	for (k = out->nsteps; k-- > 0 && !err;) {
		st = out->steps[k];
		err = schemastate_proof_step(s, c, out->down[k],
					     cli_autoplan_step_tx(st),
					     "the generated down SQL failed on "
					     "the scratch database");
		if (!err)
			err = schemastate_proof_check(
			    s, c, k ? &mid[k] : a,
			    flags | NMIG_CAT_NO_COLUMN_ORDER,
			    "the generated down SQL does not give the schema "
			    "before its step back");
	}
cleanup:
	schemastate_proof_close(s, c);
	for (k = 0; k <= NMIG_PLAN_NSTEPS; k++)
		nmig_catalog_release(&mid[k]);
	return err;
}

void cli_autoplan_release(struct cli_autoplan *p)
{
	size_t k;

	nmig_schemaplan_release(&p->up);
	for (k = 0; k < NMIG_PLAN_NSTEPS; k++)
		free(p->down[k]);
}

/* Each line of text with a prefix, to f or into a buffer. */
static void put_lines(struct nmig_buf *out, const char *prefix,
		      const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		nmig_buf_puts(out, prefix);
		nmig_buf_put(out, text, len);
		nmig_buf_putc(out, '\n');
		text += len + (nl ? 1 : 0);
	}
}

void cli_autoplan_report_refusal(struct cli_global *g,
				 const struct nmig_schemaplan *p)
{
	struct nmig_buf b = NMIG_BUF_INIT;

	put_lines(&b, "  refused: ", p->refused.ptr);
	put_lines(&b, "  possible rename: ", p->renames.ptr);
	if (!g->quiet && b.len) {
		fputs(b.ptr, stderr);
	}
	nmig_buf_release(&b);
}

void cli_autoplan_comments(struct nmig_buf *out,
			   const struct nmig_schemaplan *p)
{
	put_lines(out, "-- hazard: ", p->hazards.ptr);
	put_lines(out, "-- possible rename: ", p->renames.ptr);
}
