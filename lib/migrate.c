/*
 * The migrate operation (see migrate.h): the start of a run (lock and
 * state in one round trip, waiting for other runs), the refusals, the
 * plan, the files it runs, and the run itself with its marks kept in
 * step, so that a caller only prints.
 */
#include "migrate.h"

#include "conn_internal.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "interrupt.h"
#include "revfile.h"
#include "sqlscript.h"

/* How often a waiting run looks again at a live dirty row's owner. */
#define OWNER_POLL_MS 500

struct migrate {
	struct nmig_migrate_result *out;
	struct nmig_conn *c;
	const struct nmig_vtable *t;
	const struct nmig_graph *g;
	const struct nmig_migrate_opts *o;
};

static void note(struct migrate *m, enum nmig_migrate_note kind,
		 const char *message)
{
	if (m->o->on_note)
		m->o->on_note(m->o->ud, kind, message);
}

const char **nmig_migrate_roots(const struct nmig_graph *g, size_t *n)
{
	size_t count = nmig_graph_count(g), i, np;
	const char **roots = malloc((count ? count : 1) * sizeof(*roots));

	*n = 0;
	if (!roots) {
		nmig_error_set(NMIG_ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < count; i++) {
		nmig_graph_parents(g, i, &np);
		if (np == 0)
			roots[(*n)++] = nmig_graph_rev(g, i)->id;
	}
	return roots;
}

/* Drop the state and report read before (for a new read). */
static void forget_state(struct nmig_migrate_result *out)
{
	if (out->have_report)
		nmig_state_report_release(&out->report);
	out->have_report = 0;
	nmig_state_release(&out->state);
}

/* Read the state (create: make the table ready) and compare it. */
static int read_state(struct migrate *m, int create)
{
	int err;

	forget_state(m->out);
	err = nmig_state_read(&m->out->state, m->c, m->t, create);
	if (!err)
		err = nmig_state_analyze(&m->out->report, &m->out->state, m->g);
	if (!err)
		m->out->have_report = 1;
	return err;
}

/*
 * The start of a run that changes the database: try the lock, make the
 * table ready and read it in one round trip; when another run holds the
 * lock, wait for it (o->lock_wait_ms), then read again.
 */
static int begin(struct migrate *m);

int nmig_migrate_begin(struct nmig_migrate_result *out, struct nmig_conn *c,
		       const struct nmig_vtable *t, const struct nmig_graph *g,
		       const struct nmig_migrate_opts *o)
{
	struct migrate m = {out, c, t, g, o};

	memset(out, 0, sizeof(*out));
	out->failed = -1;
	nmig_diags_init(&out->diags);
	return begin(&m);
}

static int begin(struct migrate *m)
{
	struct nmig_state_open_opts so;
	const char **roots;
	size_t nroots;
	int err;

	roots = nmig_migrate_roots(m->g, &nroots);
	if (!roots)
		return NMIG_ENOMEM;
	memset(&so, 0, sizeof(so));
	so.create = 1;
	so.lock = !m->o->no_lock && !m->c->info.pooler;
	so.roots = roots;
	so.nroots = nroots;
	forget_state(m->out);
	err = nmig_state_open(&m->out->state, m->c, m->t, &so);
	free(roots);
	if (err)
		return err;
	if (m->c->pooled && !m->c->info.pooler)
		note(m, NMIG_NOTE_POOLED,
		     "a connection pooler is in between (the server's backend "
		     "pid differs from the connection's): no session lock; "
		     "the version-row guard keeps concurrent runs apart");
	if (m->out->state.lock == NMIG_LOCK_TAKEN)
		m->out->locked = 1;
	if (m->out->state.lock != NMIG_LOCK_BUSY) {
		err = nmig_state_analyze(&m->out->report, &m->out->state, m->g);
		if (!err)
			m->out->have_report = 1;
		return err;
	}
	err = nmig_state_lock(m->c, m->t, m->o->lock_wait_ms, NULL);
	if (err)
		return err;
	m->out->locked = !m->c->pooled;
	return read_state(m, 1);
}

/*
 * While the first problem refuse finds is a dirty row whose owner is
 * alive (another run is applying that migration now), wait for it as for
 * the lock, reading the state again, up to o->lock_wait_ms. Returns the
 * refusal's code (NMIG_OK when none is left).
 */
static int wait_for_owner(struct migrate *m, unsigned refuse)
{
	struct nmig_migrate_result *out = m->out;
	double start = nmig_clock_ms();
	int err, said = 0;

	for (;;) {
		err =
		    nmig_state_refuse(&out->report, &out->state, m->g, refuse);
		if (err != NMIG_ELOCKED)
			return err;
		if (nmig_clock_ms() - start >= (double)m->o->lock_wait_ms) {
			nmig_error_detail("waited %.1f s (--lock-wait)",
					  (nmig_clock_ms() - start) / 1000.0);
			return err;
		}
		if (!said) {
			struct nmig_buf b = NMIG_BUF_INIT;

			nmig_buf_printf(&b, "%s; waiting",
					nmig_error_last()->message);
			note(m, NMIG_NOTE_WAITING, b.ptr);
			nmig_buf_release(&b);
			said = 1;
		}
		nmig_clock_sleep_ms(OWNER_POLL_MS);
		if (nmig_interrupt_pending())
			return nmig_interrupt_error("while waiting for another "
						    "run");
		if ((err = read_state(m, 1)))
			return err;
	}
}

int nmig_steps_load(struct nmig_script **scripts_out,
		    struct nmig_step **steps_out, const struct nmig_graph *g,
		    const struct nmig_plan *plan, size_t max_file_size,
		    struct nmig_diags *diags)
{
	struct nmig_script *scripts;
	struct nmig_step *steps;
	size_t i, cap = max_file_size ? max_file_size : NMIG_MAX_FILE_SIZE;
	size_t errors = diags->errors;
	int err = NMIG_OK;

	*scripts_out = NULL;
	*steps_out = NULL;
	scripts = calloc(plan->n ? plan->n : 1, sizeof(*scripts));
	steps = calloc(plan->n ? plan->n : 1, sizeof(*steps));
	if (!scripts || !steps) {
		free(scripts);
		free(steps);
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	}
	for (i = 0; i < plan->n; i++) {
		const struct nmig_revision *rev =
		    nmig_graph_rev(g, plan->steps[i]);
		const struct nmig_file_info *f =
		    plan->dir == NMIG_UP ? &rev->up : &rev->down;
		char sum[NMIG_SHA256_HEX];

		steps[i].rev = rev;
		steps[i].script = &scripts[i];
		if (!f->path) {
			err = nmig_error_set(NMIG_ESTATE,
					     "revision '%s' has no down file: "
					     "it cannot be reverted",
					     rev->id);
			goto cleanup;
		}
		if ((err = nmig_script_load(&scripts[i], f->path, cap)))
			goto cleanup;
		nmig_checksum(scripts[i].text, scripts[i].len, sum);
		if (strcmp(sum, f->checksum) != 0) {
			err = nmig_error_set(NMIG_EINPUT,
					     "'%s' changed while nmig was "
					     "running",
					     f->path);
			nmig_error_hint("run the command again");
			goto cleanup;
		}
		nmig_script_check(&scripts[i], rev->transactional, diags);
	}
	if (diags->errors > errors)
		err = nmig_error_set(NMIG_EINPUT,
				     "%zu error%s in the files to run: nothing "
				     "was run",
				     diags->errors - errors,
				     diags->errors - errors == 1 ? "" : "s");
cleanup:
	if (err) {
		nmig_steps_free(scripts, steps, plan->n);
		return err;
	}
	*scripts_out = scripts;
	*steps_out = steps;
	return NMIG_OK;
}

void nmig_steps_free(struct nmig_script *scripts, struct nmig_step *steps,
		     size_t n)
{
	size_t i;

	if (scripts)
		for (i = 0; i < n; i++)
			nmig_script_release(&scripts[i]);
	free(scripts);
	free(steps);
}

/* The executor's events: keep the marks and the done list, pass them on. */
static void on_exec_event(void *ud, const struct nmig_exec_event *ev)
{
	struct migrate *m = ud;
	struct nmig_migrate_result *out = m->out;
	long k = nmig_graph_find(m->g, ev->rev->id);

	if (ev->kind == NMIG_EXEC_DONE) {
		if (k >= 0 && out->have_report)
			out->report.mark[k] = m->o->dir == NMIG_UP;
		out->done[out->ndone] = ev->rev;
		out->done_ms[out->ndone++] = ev->ms;
	}
	if (m->o->on_event)
		m->o->on_event(m->o->ud, ev);
}

/*
 * Keep the steps another process has not done meanwhile (after a
 * concurrent run): for upgrade the ones still unapplied, for downgrade
 * the ones still applied. Returns the new count.
 */
static size_t remaining_steps(struct migrate *m, struct nmig_step *steps,
			      size_t n)
{
	size_t i, kept = 0;

	for (i = 0; i < n; i++) {
		long k = nmig_graph_find(m->g, steps[i].rev->id);
		int applied = k >= 0 && m->out->report.mark[k];

		if ((m->o->dir == NMIG_UP) != applied)
			steps[kept++] = steps[i];
	}
	return kept;
}

/* Run the plan's steps, going on after concurrent runs. */
static int run(struct migrate *m, struct nmig_step *steps, size_t nsteps,
	       unsigned refuse)
{
	struct nmig_migrate_result *out = m->out;
	struct nmig_exec_opts xo;
	struct nmig_exec_result xr;
	size_t rounds;
	int err;

	memset(&xo, 0, sizeof(xo));
	xo.dir = m->o->dir;
	xo.lock_timeout_ms = m->o->lock_timeout_ms;
	xo.statement_timeout_ms = m->o->statement_timeout_ms;
	xo.lock_retries = m->o->lock_retries;
	xo.client_check_ms = m->o->client_check_ms;
	xo.nmig_version = m->o->nmig_version;
	xo.on_event = on_exec_event;
	xo.ud = m;
	for (rounds = 0;; rounds++) {
		err = nmig_exec_run(&xr, m->c, m->t, steps, nsteps, &xo);
		if (!err || !xr.concurrent || rounds > out->plan.n)
			break;
		/* Another runner got there first: see where it left us. */
		note(m, NMIG_NOTE_CONCURRENT, nmig_error_last()->message);
		nmig_exec_result_release(&xr);
		if ((err = read_state(m, 1)) ||
		    (err = wait_for_owner(m, refuse & ~NMIG_REFUSE_DRIFT)))
			return err;
		nsteps = remaining_steps(m, steps, nsteps);
		if (nsteps == 0)
			return NMIG_OK;
	}
	if (err && xr.failed >= 0 && (size_t)xr.failed < nsteps) {
		const struct nmig_revision *rev = steps[xr.failed].rev;
		long k = nmig_graph_find(m->g, rev->id);

		out->failed = k;
		/* Left dirty part-way: no longer counted as applied. */
		if (k >= 0 && !rev->transactional && !xr.concurrent &&
		    m->o->dir == NMIG_DOWN)
			out->report.mark[k] = 0;
	}
	out->interrupted = xr.interrupted;
	nmig_exec_result_release(&xr);
	return err;
}

int nmig_migrate(struct nmig_migrate_result *out, struct nmig_conn *c,
		 const struct nmig_vtable *t, const struct nmig_graph *g,
		 const struct nmig_migrate_opts *o)
{
	struct migrate m = {out, c, t, g, o};
	struct nmig_applied applied;
	struct nmig_script *scripts = NULL;
	struct nmig_step *steps = NULL;
	unsigned refuse =
	    NMIG_REFUSE_DIRTY | NMIG_REFUSE_UNKNOWN | NMIG_REFUSE_NOT_CLOSED;
	int err, have_applied = 0;

	memset(out, 0, sizeof(*out));
	out->failed = -1;
	nmig_diags_init(&out->diags);
	if (o->dir == NMIG_UP && !o->allow_drift)
		refuse |= NMIG_REFUSE_DRIFT;
	err = o->dry_run ? read_state(&m, 0) : begin(&m);
	if (err || (err = wait_for_owner(&m, refuse)))
		goto cleanup;
	if (o->dir == NMIG_UP && o->allow_drift && out->report.ndrift) {
		struct nmig_buf b = NMIG_BUF_INIT;

		nmig_buf_printf(&b,
				"%zu applied revision%s changed since applied "
				"(--allow-drift)",
				out->report.ndrift,
				out->report.ndrift == 1 ? "" : "s");
		note(&m, NMIG_NOTE_DRIFT, b.ptr);
		nmig_buf_release(&b);
	}
	if ((err = nmig_applied_init(&applied, g, out->report.applied_ids,
				     out->report.napplied_ids)))
		goto cleanup;
	have_applied = 1;
	err = o->dir == NMIG_UP
		  ? nmig_plan_upgrade(&out->plan, g, &applied, o->target)
		  : nmig_plan_downgrade(&out->plan, g, &applied, o->target, 0);
	if (err)
		goto cleanup;
	out->have_plan = 1;
	if (o->on_plan)
		o->on_plan(o->ud, &out->plan);
	if (out->plan.n == 0 || o->dry_run)
		goto cleanup;
	if ((err = nmig_steps_load(&scripts, &steps, g, &out->plan,
				   o->max_file_size, &out->diags)))
		goto cleanup;
	out->done = calloc(out->plan.n, sizeof(*out->done));
	out->done_ms = calloc(out->plan.n, sizeof(*out->done_ms));
	if (!out->done || !out->done_ms) {
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
		goto cleanup;
	}
	err = run(&m, steps, out->plan.n, refuse);
cleanup:
	nmig_steps_free(scripts, steps, out->have_plan ? out->plan.n : 0);
	if (have_applied)
		nmig_applied_release(&applied);
	return err;
}

void nmig_migrate_result_release(struct nmig_migrate_result *r)
{
	forget_state(r);
	if (r->have_plan)
		nmig_plan_release(&r->plan);
	r->have_plan = 0;
	free(r->done);
	free(r->done_ms);
	r->done = NULL;
	r->done_ms = NULL;
	r->ndone = 0;
	nmig_diags_release(&r->diags);
}
