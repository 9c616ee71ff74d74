/*
 * The engine of `nmig test` (testrun.h): the scratch database (a temporary
 * cluster or TEST_DATABASE_URL), the base, and the checks -- single head,
 * full upgrade, full downgrade, second upgrade, stairway -- each filled
 * into the result as it finishes and handed to on_check. Migrations run
 * through nmig_exec_run on one connection; schemas are compared by their
 * catalog fingerprint.
 */
#include "testrun.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cluster.h"
#include "conn.h"
#include "env.h"
#include "error.h"
#include "fingerprint.h"
#include "interrupt.h"
#include "revfile.h"
#include "sqlscript.h"
#include "state.h"

/* Lines of a fingerprint diff shown per failure. */
#define DIFF_LINES 40
/* Stairway failures shown in full in the details (the others named). */
#define STAIRWAY_SHOWN 10

struct tester {
	const struct nmig_testrun_opts *o;
	struct nmig_testrun_result *r;
	const struct nmig_graph *graph;
	size_t n;
	size_t cap;		       /* file size cap */
	struct nmig_script *up, *down; /* per revision (plan position) */
	unsigned char *mark;	       /* applied now */
	unsigned char *keep;	       /* stays applied: the base */
	unsigned char *cover;	       /* what the roundtrip covers */
	size_t *nodes;		       /* scratch: a pass's revisions */
	struct nmig_step *steps;       /* scratch: a pass's steps */
	enum nmig_direction dir;       /* of the pass running */
	struct nmig_cluster *cluster;
	struct nmig_conn *conn;
	struct nmig_vtable table;
	int have_table;
	int locked;
	int clean; /* the full downgrade returned to the start exactly */
};

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* The revision at plan position i. */
static const struct nmig_revision *rev_at(struct tester *t, size_t i)
{
	return nmig_graph_rev(t->graph, i);
}

/* Append "<id> (<message>)" of revision i. */
static void put_rev(struct nmig_buf *b, struct tester *t, size_t i)
{
	const struct nmig_revision *rev = rev_at(t, i);

	nmig_buf_printf(b, "%s (%s)", rev->id,
			rev->message ? rev->message : rev->slug);
}

static int interrupted(void)
{
	return nmig_interrupt_pending() != 0;
}

/* Whether the run must stop: interrupted, or the connection is gone. */
static int stopped(struct tester *t)
{
	return interrupted() || t->r->lost;
}

/* Start a check (the table holds every check one run can make). */
static struct nmig_testrun_check *check_new(struct tester *t, const char *name)
{
	struct nmig_testrun_check *c;

	assert(t->r->nchecks < NMIG_TESTRUN_MAX_CHECKS);
	c = &t->r->checks[t->r->nchecks++];
	c->name = name;
	c->status = NMIG_TESTRUN_PASS;
	return c;
}

static void check_summary(struct nmig_testrun_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Replace the summary of c. */
static void check_summary(struct nmig_testrun_check *c, const char *fmt, ...)
{
	va_list ap;

	nmig_buf_clear(&c->summary);
	va_start(ap, fmt);
	nmig_buf_vprintf(&c->summary, fmt, ap);
	va_end(ap);
}

/*
 * Record a failure of revision node (-1: none) in check c. NULL when out
 * of memory (the failure is then only in the details text).
 */
static struct nmig_testrun_failure *failure_add(struct tester *t,
						struct nmig_testrun_check *c,
						long node, const char *what)
{
	struct nmig_testrun_failure *f;

	f = realloc(c->failures, (c->nfailures + 1) * sizeof(*f));
	if (!f)
		return NULL;
	c->failures = f;
	f = &c->failures[c->nfailures++];
	memset(f, 0, sizeof(*f));
	f->node = node;
	f->id = node >= 0 ? rev_at(t, (size_t)node)->id : NULL;
	f->what = what ? strdup(what) : NULL;
	return f;
}

/* Copy the last error into failure f (f may be NULL). */
static void failure_error(struct nmig_testrun_failure *f)
{
	const struct nmig_error *e = nmig_error_last();

	if (!f)
		return;
	f->code = e->code;
	memcpy(f->sqlstate, e->sqlstate, sizeof(f->sqlstate));
	f->sqlstate[sizeof(f->sqlstate) - 1] = '\0';
	f->file = e->file[0] ? strdup(e->file) : NULL;
	f->line = e->line;
	f->col = e->col;
	f->message = strdup(e->message[0] ? e->message : "failed");
}

/*
 * Append the last error to b: message, location with the source line and
 * a caret, SQLSTATE, detail and hint.
 */
static void put_error(struct nmig_buf *b)
{
	const struct nmig_error *e = nmig_error_last();
	const char *p;
	int col;

	nmig_buf_printf(b, "%s\n", e->message[0] ? e->message : "failed");
	if (e->file[0]) {
		nmig_buf_printf(b, "--> %s", e->file);
		if (e->line)
			nmig_buf_printf(b, ":%d:%d", e->line, e->col);
		nmig_buf_putc(b, '\n');
	}
	if (e->source[0] && e->line) {
		nmig_buf_printf(b, "%5d | %s\n", e->line, e->source);
		nmig_buf_puts(b, "      | ");
		/* the caret under column col (characters; tabs kept) */
		for (p = e->source, col = 1; *p && col < e->col; p++) {
			if (((unsigned char)*p & 0xC0) == 0x80)
				continue;
			nmig_buf_putc(b, *p == '\t' ? '\t' : ' ');
			col++;
		}
		nmig_buf_puts(b, "^\n");
	}
	if (e->sqlstate[0])
		nmig_buf_printf(b, "SQLSTATE %s\n", e->sqlstate);
	for (p = e->detail; *p;) {
		size_t len = strcspn(p, "\n");

		nmig_buf_printf(b, "detail: %.*s\n", (int)len, p);
		p += len;
		if (*p)
			p++;
	}
	if (e->hint[0])
		nmig_buf_printf(b, "hint: %s\n", e->hint);
}

/* Check c fails with the last error, blamed on revision node (or -1). */
static void fail_error(struct tester *t, struct nmig_testrun_check *c,
		       long node, const char *what)
{
	c->status = NMIG_TESTRUN_FAIL;
	failure_error(failure_add(t, c, node, what));
	put_error(&c->details);
}

/* Note a failure of the connection itself (then nothing more runs). */
static void note_lost(struct tester *t, int err)
{
	if (err == NMIG_ECONNECT || nmig_conn_lost(t->conn))
		t->r->lost = 1;
}

static void on_notice(void *ud, const char *severity, const char *message)
{
	struct tester *t = ud;

	if (t->o->on_notice)
		t->o->on_notice(t->o->ud, severity, message);
}

/* Connect to url (the policy's findings go to on_diags). */
static int connect_url(struct tester *t, const char *url)
{
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_conn_opts co;
	int err;

	memset(&co, 0, sizeof(co));
	co.connect_timeout_ms = t->o->connect_timeout_ms;
	co.allow_insecure = t->o->allow_insecure;
	co.on_notice = on_notice;
	co.ud = t;
	err = nmig_conn_open(&t->conn, url, &co, &diags);
	if (diags.n && t->o->on_diags)
		t->o->on_diags(t->o->ud, &diags);
	nmig_diags_release(&diags);
	return err;
}

/* Progress of the engine: track the applied set and pass it on. */
static void on_event(void *ud, const struct nmig_exec_event *ev)
{
	struct tester *t = ud;
	size_t node = t->nodes[ev->index];

	if (ev->kind == NMIG_EXEC_DONE)
		t->mark[node] = t->dir == NMIG_UP;
	if (t->o->on_event &&
	    (ev->kind == NMIG_EXEC_DONE || ev->kind == NMIG_EXEC_RETRY))
		t->o->on_event(t->o->ud, t->dir, ev);
}

/*
 * Run nodes[0..k) (already in t->nodes) in direction dir as one engine
 * run. *done receives how many completed; on failure *failed the plan
 * position that failed (else -1) and the last error says why.
 */
static int run_nodes(struct tester *t, enum nmig_direction dir, size_t k,
		     size_t *done, long *failed)
{
	struct nmig_exec_opts xo;
	struct nmig_exec_result xr;
	size_t i;
	int err;

	*done = 0;
	*failed = -1;
	for (i = 0; i < k; i++) {
		t->steps[i].rev = rev_at(t, t->nodes[i]);
		t->steps[i].script = dir == NMIG_UP ? &t->up[t->nodes[i]]
						    : &t->down[t->nodes[i]];
	}
	memset(&xo, 0, sizeof(xo));
	xo.dir = dir;
	xo.lock_timeout_ms = t->o->lock_timeout_ms;
	xo.statement_timeout_ms = t->o->statement_timeout_ms;
	xo.lock_retries = t->o->lock_retries;
	xo.nmig_version = NMIG_VERSION;
	xo.on_event = on_event;
	xo.ud = t;
	t->dir = dir;
	err = nmig_exec_run(&xr, t->conn, &t->table, t->steps, k, &xo);
	*done = xr.done;
	if (err && xr.failed >= 0 && (size_t)xr.failed < k)
		*failed = (long)t->nodes[xr.failed];
	if (err && (xr.connection_lost || nmig_conn_lost(t->conn)))
		t->r->lost = 1;
	nmig_exec_result_release(&xr);
	return err;
}

/*
 * Put into t->nodes the revisions of sel a pass in direction dir runs:
 * the unapplied ones in plan order (up), the applied ones in reverse plan
 * order (down). Returns how many.
 */
static size_t collect(struct tester *t, enum nmig_direction dir,
		      const unsigned char *sel)
{
	size_t i, k = 0;

	if (dir == NMIG_UP) {
		for (i = 0; i < t->n; i++)
			if (sel[i] && !t->mark[i])
				t->nodes[k++] = i;
	} else {
		for (i = t->n; i-- > 0;)
			if (sel[i] && t->mark[i])
				t->nodes[k++] = i;
	}
	return k;
}

/* Number of revisions set in sel. */
static size_t count_set(const struct tester *t, const unsigned char *sel)
{
	size_t i, k = 0;

	for (i = 0; i < t->n; i++)
		k += sel[i] != 0;
	return k;
}

/* A fingerprint of the scratch database, without nmig's table. */
static int take_fp(struct tester *t, struct nmig_fingerprint *fp)
{
	int err = nmig_fingerprint_take(
	    fp, t->conn, t->table.schema, t->table.name,
	    t->o->ignore_column_order ? NMIG_FP_NO_COLUMN_ORDER : 0);

	if (err)
		note_lost(t, err);
	return err;
}

/*
 * Append the diff from a to b2 under the two headings; returns the number
 * of differences.
 */
static size_t put_diff(struct nmig_buf *b, const struct nmig_fingerprint *a,
		       const struct nmig_fingerprint *b2, const char *before,
		       const char *after)
{
	struct nmig_buf d = NMIG_BUF_INIT;
	size_t n = nmig_fingerprint_diff(a, b2, &d, DIFF_LINES);

	nmig_buf_printf(b, "--- %s (schema %.12s)\n+++ %s (schema %.12s)\n",
			before, a->digest, after, b2->digest);
	nmig_buf_put(b, d.ptr, d.len);
	nmig_buf_release(&d);
	return n;
}

/*
 * Check c fails because the schema changed from a to b2 (revision node
 * to blame, or -1): the diff goes into the details and the failure.
 * Returns the number of differences.
 */
static size_t fail_diff(struct tester *t, struct nmig_testrun_check *c,
			long node, const char *what,
			const struct nmig_fingerprint *a,
			const struct nmig_fingerprint *b2, const char *before,
			const char *after)
{
	struct nmig_testrun_failure *f = failure_add(t, c, node, what);
	struct nmig_buf d = NMIG_BUF_INIT;
	size_t n = put_diff(&d, a, b2, before, after);

	c->status = NMIG_TESTRUN_FAIL;
	nmig_buf_put(&c->details, d.ptr, d.len);
	if (f)
		f->diff = nmig_buf_detach(&d, NULL);
	nmig_buf_release(&d);
	return n;
}

/* Finish check c: its time, and hand it on. */
static void check_done(struct tester *t, struct nmig_testrun_check *c,
		       double t0)
{
	c->ms = nmig_clock_ms() - t0;
	if (interrupted() && c->status == NMIG_TESTRUN_FAIL) {
		/* cancelled by the signal: not a finding about the files */
		c->status = NMIG_TESTRUN_SKIP;
		check_summary(c, "(interrupted after %.2f s)", c->ms / 1000.0);
		nmig_buf_clear(&c->details);
	}
	if (t->o->on_check)
		t->o->on_check(t->o->ud, c);
}

/* Mark check c not run, because of why. */
static void check_skip(struct tester *t, struct nmig_testrun_check *c,
		       const char *why)
{
	c->status = NMIG_TESTRUN_SKIP;
	check_summary(c, "(not run: %s)", why);
	if (t->o->on_check)
		t->o->on_check(t->o->ud, c);
}

/* Why a check cannot run now, or NULL when it can. */
static const char *blocked(struct tester *t)
{
	if (interrupted())
		return "interrupted";
	if (t->r->lost)
		return "the connection to the scratch database was lost";
	return NULL;
}

/* single head: the graph has exactly one head. */
static void check_head(struct tester *t)
{
	struct nmig_testrun_check *c = check_new(t, "single head");
	size_t nh, i;
	const size_t *heads = nmig_graph_heads(t->graph, &nh);

	if (nh == 1) {
		check_summary(c, "(%s)", rev_at(t, heads[0])->id);
	} else {
		c->status = NMIG_TESTRUN_FAIL;
		check_summary(c, "(%zu heads)", nh);
		for (i = 0; i < nh; i++) {
			failure_add(t, c, (long)heads[i], "is a head");
			put_rev(&c->details, t, heads[i]);
			nmig_buf_puts(&c->details, " is a head\n");
		}
		nmig_buf_puts(&c->details,
			      "hint: join them with 'nmig merge'; the checks "
			      "below upgrade to every head\n");
	}
	check_done(t, c, nmig_clock_ms());
}

/*
 * Run the prelude file on the current database as one query; an error
 * points at its file:line:col.
 */
static int run_prelude(struct tester *t)
{
	struct nmig_script sc;
	struct nmig_buf what = NMIG_BUF_INIT;
	int err;

	memset(&sc, 0, sizeof(sc));
	err = nmig_script_load(&sc, t->o->prelude, t->cap);
	if (!err) {
		nmig_buf_printf(&what, "prelude '%s'", t->o->prelude);
		err = nmig_exec_script(t->conn, &sc, what.ptr);
		note_lost(t, err);
	}
	nmig_buf_release(&what);
	nmig_script_release(&sc);
	return err;
}

/* prelude: run a SQL file on the scratch database before anything. */
static int check_prelude(struct tester *t)
{
	struct nmig_testrun_check *c = check_new(t, "prelude");
	double t0 = nmig_clock_ms();
	int err = run_prelude(t);

	if (err) {
		fail_error(t, c, -1, "the prelude fails");
		check_summary(c, "'%s'", t->o->prelude);
	} else {
		check_summary(c, "('%s', %.2f s)", t->o->prelude,
			      (nmig_clock_ms() - t0) / 1000.0);
	}
	check_done(t, c, t0);
	return err;
}

/* base: apply the revisions that stay applied throughout. */
static int check_base(struct tester *t)
{
	struct nmig_testrun_check *c = check_new(t, "base");
	double t0 = nmig_clock_ms();
	size_t k = collect(t, NMIG_UP, t->keep), done;
	size_t nirr = t->r->nirreversible;
	long failed;
	int err = run_nodes(t, NMIG_UP, k, &done, &failed);

	if (err) {
		fail_error(t, c, failed, "its up file fails");
		nmig_buf_puts(&c->summary, "at ");
		if (failed >= 0)
			put_rev(&c->summary, t, (size_t)failed);
		nmig_buf_printf(&c->summary, " (%zu of %zu applied, %.2f s)",
				done, k, (nmig_clock_ms() - t0) / 1000.0);
	} else {
		check_summary(c, "(%zu revision%s applied and kept", k,
			      plural(k));
		if (t->o->base)
			nmig_buf_printf(&c->summary, ": --base %s",
					t->o->base);
		if (nirr)
			nmig_buf_printf(&c->summary, "%s%zu irreversible",
					t->o->base ? ", " : ": ", nirr);
		nmig_buf_printf(&c->summary, ", %.2f s)",
				(nmig_clock_ms() - t0) / 1000.0);
	}
	check_done(t, c, t0);
	return err;
}

/*
 * An upgrade or downgrade pass over the covered revisions, as check c.
 * Fills c's summary on failure ("at REV (k of N applied, t s)") and
 * returns the error; on success leaves the summary to the caller.
 */
static int pass(struct tester *t, struct nmig_testrun_check *c,
		enum nmig_direction dir, double t0, size_t *count)
{
	size_t k = collect(t, dir, t->cover), done;
	long failed;
	int err;

	*count = k;
	if (k == 0)
		return NMIG_OK;
	err = run_nodes(t, dir, k, &done, &failed);
	if (err) {
		fail_error(t, c, failed,
			   dir == NMIG_UP ? "its up file fails"
					  : "its down file fails");
		nmig_buf_clear(&c->summary);
		nmig_buf_puts(&c->summary, "at ");
		if (failed >= 0)
			put_rev(&c->summary, t, (size_t)failed);
		else
			nmig_buf_puts(&c->summary, "the start");
		nmig_buf_printf(&c->summary, " (%zu of %zu %s, %.2f s)", done,
				k, dir == NMIG_UP ? "applied" : "reverted",
				(nmig_clock_ms() - t0) / 1000.0);
	}
	return err;
}

/* full upgrade: apply every covered revision; fingerprint the result. */
static void check_full_up(struct tester *t, struct nmig_fingerprint *fp_up)
{
	struct nmig_testrun_check *c = check_new(t, "full upgrade");
	double t0 = nmig_clock_ms();
	size_t k, applied, i;
	int err = pass(t, c, NMIG_UP, t0, &k);

	if (err) {
		/* the other checks cover what did apply */
		for (i = 0; i < t->n; i++)
			t->cover[i] = t->cover[i] && t->mark[i];
		applied = count_set(t, t->cover);
		if (!t->r->lost)
			nmig_buf_printf(&c->details,
					"the checks below cover the %zu "
					"revision%s applied before it\n",
					applied, plural(applied));
	} else {
		check_summary(c, "(%zu revision%s, %.2f s)", k, plural(k),
			      (nmig_clock_ms() - t0) / 1000.0);
	}
	if (!t->r->lost && take_fp(t, fp_up))
		fail_error(t, c, -1, "cannot read the schema");
	check_done(t, c, t0);
}

/* full downgrade: revert the covered revisions; compare with the start. */
static void check_full_down(struct tester *t,
			    const struct nmig_fingerprint *fp_start)
{
	struct nmig_testrun_check *c = check_new(t, "full downgrade");
	struct nmig_fingerprint fp = NMIG_FINGERPRINT_INIT;
	double t0 = nmig_clock_ms();
	size_t k, nd;
	int err = pass(t, c, NMIG_DOWN, t0, &k);

	if (!err && take_fp(t, &fp)) {
		fail_error(t, c, -1, "cannot read the schema");
	} else if (!err && !nmig_fingerprint_equal(fp_start, &fp)) {
		nd = fail_diff(t, c, -1,
			       "the schema after the full downgrade differs "
			       "from the start",
			       fp_start, &fp, "before the full upgrade",
			       "after the full downgrade");
		check_summary(c,
			      "(%zu revision%s: the schema differs from the "
			      "start in %zu place%s, %.2f s)",
			      k, plural(k), nd, plural(nd),
			      (nmig_clock_ms() - t0) / 1000.0);
		if (!t->o->no_stairway)
			nmig_buf_puts(&c->details,
				      "the stairway below names the revisions "
				      "whose down file does not undo its up "
				      "file\n");
	} else if (!err) {
		t->clean = 1;
		check_summary(c, "(%zu revision%s, %.2f s)", k, plural(k),
			      (nmig_clock_ms() - t0) / 1000.0);
	}
	nmig_fingerprint_release(&fp);
	check_done(t, c, t0);
}

/* second upgrade: upgrade again; compare with the first upgrade. */
static void check_second_up(struct tester *t,
			    const struct nmig_fingerprint *fp_up)
{
	struct nmig_testrun_check *c = check_new(t, "second upgrade");
	struct nmig_fingerprint fp = NMIG_FINGERPRINT_INIT;
	double t0 = nmig_clock_ms();
	size_t k, nd;
	int err = pass(t, c, NMIG_UP, t0, &k);

	if (!err && take_fp(t, &fp)) {
		fail_error(t, c, -1, "cannot read the schema");
	} else if (!err && !nmig_fingerprint_equal(fp_up, &fp)) {
		nd = fail_diff(t, c, -1,
			       "the schema after the second upgrade differs "
			       "from the first",
			       fp_up, &fp, "after the first upgrade",
			       "after the second upgrade");
		check_summary(c,
			      "(%zu revision%s: the schema differs from the "
			      "first upgrade in %zu place%s, %.2f s)",
			      k, plural(k), nd, plural(nd),
			      (nmig_clock_ms() - t0) / 1000.0);
	} else if (!err) {
		check_summary(c, "(%zu revision%s, %.2f s)", k, plural(k),
			      (nmig_clock_ms() - t0) / 1000.0);
	}
	nmig_fingerprint_release(&fp);
	check_done(t, c, t0);
}

/* The stairway in progress. */
struct stair {
	struct tester *t;
	struct nmig_testrun_check *c;
	struct nmig_buf failures; /* the details of each failed revision */
	struct nmig_buf names;	  /* "A, B" for the summary */
	size_t nfailed;		  /* revisions that failed, each once */
	long last;		  /* the revision that failed last, -1 */
};

/*
 * Record that revision i failed the stairway (in the check's failures, and
 * in its details): the buffer returned (NULL past the first STAIRWAY_SHOWN
 * revisions) takes the details. A revision failing a second check is
 * counted once. stopping: this failure ends the stairway, and always gets
 * its details (message, SQLSTATE, file:line), however many came before.
 */
static struct nmig_buf *stair_fail(struct stair *s, size_t i, const char *what,
				   int stopping)
{
	struct tester *t = s->t;

	if (s->last != (long)i) {
		s->last = (long)i;
		s->nfailed++;
		if (s->nfailed <= 3) {
			if (s->names.len)
				nmig_buf_puts(&s->names, ", ");
			nmig_buf_puts(&s->names, rev_at(t, i)->id);
		}
	}
	if (s->nfailed > STAIRWAY_SHOWN && !stopping) {
		nmig_buf_puts(&s->failures, "also failing: ");
		put_rev(&s->failures, t, i);
		nmig_buf_printf(&s->failures, ": %s\n", what);
		return NULL;
	}
	put_rev(&s->failures, t, i);
	nmig_buf_printf(&s->failures, ": %s\n", what);
	return &s->failures;
}

/* Revision i failed the stairway with the last error. */
static void stair_error(struct stair *s, size_t i, const char *what,
			int stopping)
{
	struct nmig_buf *b;

	failure_error(failure_add(s->t, s->c, (long)i, what));
	if ((b = stair_fail(s, i, what, stopping)))
		put_error(b);
}

/* Revision i's down file does not return the schema from a to b2. */
static void stair_diff(struct stair *s, size_t i,
		       const struct nmig_fingerprint *a,
		       const struct nmig_fingerprint *b2)
{
	static const char what[] = "the schema after its down file differs "
				   "from the schema before its up file";
	struct nmig_testrun_failure *f = failure_add(s->t, s->c, (long)i, what);
	struct nmig_buf d = NMIG_BUF_INIT, *b;

	put_diff(&d, a, b2, "before its up file", "after its down file");
	if ((b = stair_fail(s, i, what, 0)))
		nmig_buf_put(b, d.ptr, d.len);
	if (f)
		f->diff = nmig_buf_detach(&d, NULL);
	nmig_buf_release(&d);
}

/* Run revision i alone in direction dir. */
static int run_one(struct tester *t, enum nmig_direction dir, size_t i)
{
	size_t done;
	long failed;

	t->nodes[0] = i;
	return run_nodes(t, dir, 1, &done, &failed);
}

/*
 * Step revision i from the state fingerprinted in *before; *before is
 * the fingerprint after the step on return. Returns 0 to go on, 1 when
 * the stairway cannot continue.
 */
static int stair_step(struct stair *s, size_t i,
		      struct nmig_fingerprint *before)
{
	struct tester *t = s->t;
	struct nmig_fingerprint after = NMIG_FINGERPRINT_INIT;
	int stop = 0;

	if (run_one(t, NMIG_UP, i)) {
		stair_error(s, i, "its up file fails", 1);
		return 1;
	}
	if (stopped(t))
		return 1;
	if (run_one(t, NMIG_DOWN, i)) {
		stair_error(s, i,
			    "its down file fails right after its up file", 0);
		if (stopped(t))
			return 1;
		/* it stays applied: go on from there */
		nmig_fingerprint_release(before);
		if (take_fp(t, before)) {
			stair_error(s, i, "cannot read the schema", 1);
			return 1;
		}
		return 0;
	}
	if (take_fp(t, &after)) {
		stair_error(s, i, "cannot read the schema", 1);
		return 1;
	}
	if (!nmig_fingerprint_equal(before, &after))
		stair_diff(s, i, before, &after);
	nmig_fingerprint_release(&after);
	if (stopped(t))
		return 1;
	if (run_one(t, NMIG_UP, i)) {
		stair_error(s, i,
			    "it cannot be applied again after its down file",
			    1);
		return 1;
	}
	nmig_fingerprint_release(before);
	if (take_fp(t, before)) {
		stair_error(s, i, "cannot read the schema", 1);
		stop = 1;
	}
	return stop;
}

/*
 * Move to a new database on the cluster, for a stairway that must not
 * start from what an unclean full downgrade left behind (a leftover
 * object would hide the revision that leaves it): create the database,
 * connect to it (closing the old connection), lock, run the prelude,
 * create the version table and apply the base.
 */
static int fresh_database(struct tester *t)
{
	struct nmig_buf url = NMIG_BUF_INIT;
	struct nmig_state st;
	size_t k, done;
	long failed;
	int err;

	memset(&st, 0, sizeof(st));
	err = nmig_conn_exec(t->conn,
			     "cannot create a database for the stairway",
			     "CREATE DATABASE nmig_stairway");
	if (err) {
		note_lost(t, err);
		return err;
	}
	nmig_interrupt_watch(NULL);
	if (t->locked)
		nmig_state_unlock(t->conn, &t->table);
	t->locked = 0;
	t->r->roundtrips += nmig_conn_roundtrips(t->conn);
	nmig_conn_close(t->conn);
	t->conn = NULL;
	nmig_cluster_url(t->cluster, "nmig_stairway", &url);
	err = nmig_buf_oom(&url) ? nmig_error_set(NMIG_ENOMEM, "out of memory")
				 : connect_url(t, url.ptr);
	nmig_buf_release(&url);
	if (err) {
		t->r->lost = 1;
		return err;
	}
	nmig_interrupt_watch(t->conn);
	memset(t->mark, 0, t->n);
	err = nmig_state_lock(t->conn, &t->table, t->o->lock_wait_ms, NULL);
	if (!err)
		t->locked = 1;
	if (!err && t->o->prelude)
		err = run_prelude(t);
	if (!err)
		err = nmig_state_read(&st, t->conn, &t->table, 1);
	nmig_state_release(&st);
	k = err ? 0 : collect(t, NMIG_UP, t->keep);
	if (k)
		err = run_nodes(t, NMIG_UP, k, &done, &failed);
	if (err)
		note_lost(t, err);
	return err;
}

/* The summary of a stairway that failed (or stopped early). */
static void stair_summary(struct stair *s, int fresh, size_t total,
			  size_t stepped, double t0)
{
	struct nmig_testrun_check *c = s->c;

	c->status = NMIG_TESTRUN_FAIL;
	nmig_buf_printf(&c->summary, "at %s%s (", s->names.ptr,
			s->nfailed > 3 ? ", ..." : "");
	if (fresh)
		nmig_buf_puts(&c->summary, "on a fresh database: ");
	if (s->nfailed)
		nmig_buf_printf(&c->summary, "%zu of ", s->nfailed);
	nmig_buf_printf(&c->summary, "%zu revision%s", total, plural(total));
	if (s->nfailed)
		nmig_buf_puts(&c->summary, " fail");
	if (stepped < total)
		nmig_buf_printf(&c->summary, ", stopped after %zu", stepped);
	nmig_buf_printf(&c->summary, ", %.2f s)",
			(nmig_clock_ms() - t0) / 1000.0);
	nmig_buf_put(&c->details, s->failures.ptr, s->failures.len);
}

/*
 * Get the stairway to its start: a fresh database on the cluster when the
 * full downgrade did not return there exactly, else down again from the
 * second upgrade. Returns 0 to go on (note says what the stairway then
 * covers), 1 when check c is already finished.
 */
static int stair_start(struct tester *t, struct nmig_testrun_check *c,
		       int *fresh, struct nmig_buf *note, double t0)
{
	size_t k, done;
	long failed;

	if (!t->clean && t->cluster) {
		*fresh = 1;
		if (fresh_database(t)) {
			if (interrupted()) {
				check_skip(t, c, "interrupted");
				return 1;
			}
			fail_error(t, c, -1,
				   "cannot set up a fresh database for it");
			check_summary(c, "(cannot set up a fresh database for "
					 "it)");
			check_done(t, c, t0);
			return 1;
		}
		return 0;
	}
	/* back to the start: the second upgrade applied everything */
	k = collect(t, NMIG_DOWN, t->cover);
	if (!t->clean)
		nmig_buf_puts(note, "it runs on the database the full "
				    "downgrade left: an object left behind "
				    "there hides the revision that leaves "
				    "it\n");
	if (k && run_nodes(t, NMIG_DOWN, k, &done, &failed)) {
		if (stopped(t)) {
			check_skip(t, c, blocked(t));
			return 1;
		}
		nmig_buf_puts(note, "the downgrade before it stops at ");
		if (failed >= 0)
			put_rev(note, t, (size_t)failed);
		nmig_buf_puts(note, " (see the full downgrade): the stairway "
				    "covers the revisions above it\n");
	}
	return 0;
}

/*
 * stairway: from the start, for each covered revision in plan order: up
 * one, down one, compare with the fingerprint before it, up again.
 */
static void check_stairway(struct tester *t)
{
	struct nmig_testrun_check *c = check_new(t, "stairway");
	struct stair s = {t, c, NMIG_BUF_INIT, NMIG_BUF_INIT, 0, -1};
	struct nmig_fingerprint before = NMIG_FINGERPRINT_INIT;
	struct nmig_buf note = NMIG_BUF_INIT;
	double t0 = nmig_clock_ms();
	size_t i, total, stepped = 0;
	int fresh = 0;

	if (stair_start(t, c, &fresh, &note, t0))
		goto cleanup;
	total = collect(t, NMIG_UP, t->cover);
	if (total == 0) {
		check_skip(t, c,
			   "no revision could be reverted to step through");
		goto cleanup;
	}
	if (take_fp(t, &before)) {
		fail_error(t, c, -1, "cannot read the schema");
		check_done(t, c, t0);
		goto cleanup;
	}
	for (i = 0; i < t->n && !stopped(t); i++) {
		if (!t->cover[i] || t->mark[i])
			continue;
		if (t->o->on_step)
			t->o->on_step(t->o->ud, stepped + 1, total,
				      rev_at(t, i)->id);
		stepped++;
		if (stair_step(&s, i, &before))
			break;
	}
	if (interrupted()) {
		check_skip(t, c, "interrupted");
		goto cleanup;
	}
	nmig_buf_put(&c->details, note.ptr, note.len);
	if (s.nfailed || stepped < total) {
		stair_summary(&s, fresh, total, stepped, t0);
	} else {
		check_summary(c, "(%zu revision%s", total, plural(total));
		if (fresh)
			nmig_buf_puts(&c->summary, " on a fresh database");
		else if (note.len)
			nmig_buf_puts(&c->summary, " above where the "
						   "downgrade stops");
		nmig_buf_printf(&c->summary, ", %.2f s)",
				(nmig_clock_ms() - t0) / 1000.0);
	}
	check_done(t, c, t0);
cleanup:
	nmig_fingerprint_release(&before);
	nmig_buf_release(&s.failures);
	nmig_buf_release(&s.names);
	nmig_buf_release(&note);
}

/*
 * Load and check every up and down file before anything runs; findings
 * into r->diags. NMIG_OK, or NMIG_EINPUT (the first error raised).
 */
static int load_scripts(struct tester *t)
{
	struct nmig_diags *diags = &t->r->diags;
	size_t i, side;

	for (i = 0; i < t->n; i++) {
		const struct nmig_revision *rev = rev_at(t, i);

		for (side = 0; side < 2; side++) {
			const struct nmig_file_info *f =
			    side ? &rev->down : &rev->up;
			struct nmig_script *sc = side ? &t->down[i] : &t->up[i];
			char sum[NMIG_SHA256_HEX];

			if (!f->path)
				continue;
			if (nmig_script_load(sc, f->path, t->cap)) {
				nmig_diags_add_last_error(diags, "file");
				continue;
			}
			nmig_checksum(sc->text, sc->len, sum);
			if (strcmp(sum, f->checksum) != 0) {
				nmig_diags_add(diags, NMIG_SEV_ERROR,
					       NMIG_EINPUT, "file", f->path, 0,
					       0,
					       "'%s' changed while nmig was "
					       "reading it",
					       f->path);
				continue;
			}
			nmig_script_check(sc, rev->transactional, diags);
		}
	}
	return diags->errors ? nmig_diags_raise(diags, 0) : NMIG_OK;
}

/*
 * The base (o->base and the irreversible revisions with their ancestors)
 * into t->keep, the rest into t->cover; the irreversible revisions outside
 * o->base into r->irreversible.
 */
static int plan_base(struct tester *t)
{
	size_t *nodes = NULL, nn = 0, i, k = 0;

	if (t->o->base) {
		if (nmig_target_resolve(t->graph, NULL, 0, t->o->base, &nodes,
					&nn))
			return nmig_error_last()->code;
		nmig_graph_mark_ancestors(t->graph, nodes, nn, t->keep);
		free(nodes);
	}
	for (i = 0; i < t->n; i++)
		if (!t->keep[i] && !rev_at(t, i)->down.path)
			t->nodes[k++] = i;
	if (k) {
		t->r->irreversible = malloc(k * sizeof(size_t));
		if (!t->r->irreversible)
			return nmig_error_set(NMIG_ENOMEM, "out of memory");
		memcpy(t->r->irreversible, t->nodes, k * sizeof(size_t));
	}
	t->r->nirreversible = k;
	nmig_graph_mark_ancestors(t->graph, t->nodes, k, t->keep);
	for (i = 0; i < t->n; i++)
		t->cover[i] = !t->keep[i];
	t->r->nkept = count_set(t, t->keep);
	t->r->ncovered = count_set(t, t->cover);
	return NMIG_OK;
}

/* The value of variable name, or NULL when unset or empty. */
static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* 1 when the two URLs name the same database (host, port, dbname). */
static int same_database(const char *a, const char *b)
{
	struct nmig_conninfo x, y;
	int same;

	if (strcmp(a, b) == 0)
		return 1;
	if (nmig_conninfo_parse(&x, a))
		return 0;
	if (nmig_conninfo_parse(&y, b)) {
		nmig_conninfo_release(&x);
		return 0;
	}
	same = strcmp(x.host, y.host) == 0 &&
	       strcmp(x.hostaddr, y.hostaddr) == 0 &&
	       strcmp(x.port, y.port) == 0 && strcmp(x.dbname, y.dbname) == 0;
	nmig_conninfo_release(&x);
	nmig_conninfo_release(&y);
	nmig_error_clear();
	return same;
}

/* Refuse a TEST_DATABASE_URL database that holds objects (fp). */
static int refuse_nonempty(const struct nmig_fingerprint *fp, size_t nuser)
{
	size_t i, shown = 0;

	nmig_error_set(NMIG_ESTATE,
		       "the database of TEST_DATABASE_URL is not empty "
		       "(%zu object%s)",
		       nuser, plural(nuser));
	for (i = 0; i < fp->n && shown < 5; i++) {
		const struct nmig_fp_item *it = &fp->items[i];

		if (strcmp(it->kind, "column") == 0 ||
		    (strcmp(it->kind, "schema") == 0 &&
		     strcmp(it->key, "public") == 0) ||
		    (strcmp(it->kind, "extension") == 0 &&
		     strcmp(it->key, "plpgsql") == 0))
			continue;
		nmig_error_detail("%s %s", it->kind, it->key);
		shown++;
	}
	nmig_error_hint("nmig test needs an empty scratch database; pass "
			"--allow-nonempty if these objects are meant to be "
			"there");
	return NMIG_ESTATE;
}

/*
 * TEST_DATABASE_URL: refused when it names the production URL's database,
 * when it has revisions recorded, and when it holds objects (unless
 * o->allow_nonempty). Returns NMIG_OK or a code with the last error set.
 */
static int open_test_url(struct tester *t, const char *url)
{
	const char *var = t->o->url_env && *t->o->url_env ? t->o->url_env
							  : "DATABASE_URL";
	const char *main_url = env_value(var);
	struct nmig_fingerprint fp = NMIG_FINGERPRINT_INIT;
	struct nmig_state st;
	size_t nuser;
	int err;

	memset(&st, 0, sizeof(st));
	if (main_url && same_database(url, main_url)) {
		nmig_error_set(NMIG_ECONFIG,
			       "TEST_DATABASE_URL names the same database as "
			       "%s",
			       var);
		nmig_error_hint("nmig test creates and drops objects: give it "
				"a scratch database of its own, or unset "
				"TEST_DATABASE_URL to use a temporary local "
				"cluster");
		return NMIG_ECONFIG;
	}
	if ((err = connect_url(t, url)))
		return err;
	if ((err = nmig_vtable_init(&t->table, t->conn, t->o->schema,
				    t->o->table)))
		return err;
	t->have_table = 1;
	if ((err = nmig_state_read(&st, t->conn, &t->table, 0)))
		return err;
	if (st.n) {
		nmig_error_set(NMIG_ESTATE,
			       "the database of TEST_DATABASE_URL has %zu "
			       "revision%s recorded in '%s'",
			       st.n, plural(st.n), t->table.display);
		nmig_error_hint("nmig test needs a database no migration has "
				"run on: drop and create it again");
		nmig_state_release(&st);
		return NMIG_ESTATE;
	}
	nmig_state_release(&st);
	if ((err = take_fp(t, &fp)))
		return err;
	nuser = nmig_fingerprint_user_objects(&fp);
	if (nuser && !t->o->allow_nonempty)
		err = refuse_nonempty(&fp, nuser);
	nmig_fingerprint_release(&fp);
	return err;
}

/* The ephemeral cluster: start it and connect. */
static int open_cluster(struct tester *t)
{
	struct nmig_cluster_opts co;
	struct nmig_cluster *c = NULL;
	int err;

	memset(&co, 0, sizeof(co));
	co.bindir = t->o->bindir;
	co.interrupted = t->o->interrupted;
	err = nmig_cluster_start(&c, &co);
	if (err)
		return err;
	t->cluster = c;
	t->r->on_cluster = 1;
	t->r->version = c->version ? strdup(c->version) : NULL;
	if (t->o->on_cluster)
		t->o->on_cluster(t->o->ud, c);
	if ((err = connect_url(t, c->url)))
		return err;
	if ((err = nmig_vtable_init(&t->table, t->conn, t->o->schema,
				    t->o->table)))
		return err;
	t->have_table = 1;
	return NMIG_OK;
}

/* setup: a check that failed to prepare the run, with the last error. */
static void check_setup_failed(struct tester *t, const char *what)
{
	struct nmig_testrun_check *c = check_new(t, "setup");

	fail_error(t, c, -1, what);
	check_done(t, c, nmig_clock_ms());
}

/* Each remaining check is marked not run, because of why. */
static void skip_rest(struct tester *t, const char *why)
{
	static const char *const names[] = {"full upgrade", "full downgrade",
					    "second upgrade", "stairway"};
	size_t j, k;

	for (j = 0; j < 4; j++) {
		int done = 0;

		if (j == 3 && t->o->no_stairway)
			continue;
		for (k = 0; k < t->r->nchecks; k++)
			if (strcmp(t->r->checks[k].name, names[j]) == 0)
				done = 1;
		if (!done && t->r->nchecks < NMIG_TESTRUN_MAX_CHECKS)
			check_skip(t, check_new(t, names[j]), why);
	}
}

/* Run every check on the open scratch database. */
static void run_checks(struct tester *t)
{
	struct nmig_fingerprint fp_start = NMIG_FINGERPRINT_INIT,
				fp_up = NMIG_FINGERPRINT_INIT;
	struct nmig_state st;
	const char *why = NULL;
	int err;

	memset(&st, 0, sizeof(st));
	check_head(t);
	err = nmig_state_lock(t->conn, &t->table, t->o->lock_wait_ms, NULL);
	if (!err)
		t->locked = 1;
	if (!err && t->o->prelude && check_prelude(t))
		why = "the prelude failed";
	if (!err && !why)
		err = nmig_state_read(&st, t->conn, &t->table, 1);
	nmig_state_release(&st);
	if (err) {
		note_lost(t, err);
		check_setup_failed(t, "the scratch database could not be set "
				      "up");
		why = "the scratch database could not be set up";
	}
	if (!why && count_set(t, t->keep) && check_base(t))
		why = "the base could not be applied";
	if (!why && take_fp(t, &fp_start)) {
		check_setup_failed(t, "cannot read the schema");
		why = "the starting schema could not be read";
	}
	if (!why && !count_set(t, t->cover))
		why = "every revision stays applied as the base";
	if (!why && !blocked(t))
		check_full_up(t, &fp_up);
	if (!why && !blocked(t) && !count_set(t, t->cover))
		why = "the full upgrade applied nothing";
	if (!why && !blocked(t))
		check_full_down(t, &fp_start);
	if (!why && !blocked(t))
		check_second_up(t, &fp_up);
	if (!why && !blocked(t) && !t->o->no_stairway)
		check_stairway(t);
	/* what could not run says why */
	if (!why)
		why = blocked(t);
	if (why)
		skip_rest(t, why);
	nmig_fingerprint_release(&fp_start);
	nmig_fingerprint_release(&fp_up);
}

/* Free what the tester holds; stops the cluster. */
static void tester_release(struct tester *t)
{
	size_t i;

	nmig_interrupt_watch(NULL);
	if (t->locked && t->conn && !nmig_conn_lost(t->conn))
		nmig_state_unlock(t->conn, &t->table);
	if (t->conn)
		t->r->roundtrips += nmig_conn_roundtrips(t->conn);
	nmig_conn_close(t->conn);
	t->conn = NULL;
	if (t->have_table)
		nmig_vtable_release(&t->table);
	if (t->cluster) {
		if (t->o->on_cluster)
			t->o->on_cluster(t->o->ud, NULL);
		if (nmig_cluster_stop(t->cluster))
			t->r->stop_error = strdup(nmig_error_last()->message);
		nmig_cluster_free(t->cluster);
		t->cluster = NULL;
	}
	for (i = 0; t->up && i < t->n; i++) {
		nmig_script_release(&t->up[i]);
		nmig_script_release(&t->down[i]);
	}
	free(t->up);
	free(t->down);
	free(t->mark);
	free(t->keep);
	free(t->cover);
	free(t->nodes);
	free(t->steps);
}

/* The count of each outcome into r. */
static void count_outcomes(struct nmig_testrun_result *r)
{
	size_t i;

	r->passed = r->failed = r->skipped = 0;
	for (i = 0; i < r->nchecks; i++) {
		r->passed += r->checks[i].status == NMIG_TESTRUN_PASS;
		r->failed += r->checks[i].status == NMIG_TESTRUN_FAIL;
		r->skipped += r->checks[i].status == NMIG_TESTRUN_SKIP;
	}
}

/* The run of nmig_testrun up to the checks (stage set on the way). */
static int run(struct tester *t)
{
	struct nmig_testrun_result *r = t->r;
	const char *url;
	double start;
	int err;

	r->stage = NMIG_TESTRUN_FILES;
	if ((err = load_scripts(t)))
		return err;
	r->stage = NMIG_TESTRUN_PLAN;
	if ((err = plan_base(t)))
		return err;
	if (t->o->on_plan)
		t->o->on_plan(t->o->ud, r);
	if (t->o->env_file && (err = nmig_env_load(t->o->env_file, NULL)))
		return err;
	r->stage = NMIG_TESTRUN_SCRATCH;
	start = nmig_clock_ms();
	url = env_value("TEST_DATABASE_URL");
	err = url ? open_test_url(t, url) : open_cluster(t);
	if (!err && interrupted())
		err = nmig_error_set(NMIG_ERROR, "interrupted");
	if (err)
		return err;
	r->start_ms = nmig_clock_ms() - start;
	r->display = strdup(nmig_conn_display(t->conn));
	if (!r->display)
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	nmig_interrupt_watch(t->conn);
	if (t->o->on_ready)
		t->o->on_ready(t->o->ud, r);
	r->stage = NMIG_TESTRUN_CHECKS;
	run_checks(t);
	return NMIG_OK;
}

int nmig_testrun(struct nmig_testrun_result *r, const struct nmig_graph *g,
		 const struct nmig_testrun_opts *o)
{
	struct tester t;
	int err;

	nmig_testrun_result_init(r);
	memset(&t, 0, sizeof(t));
	t.o = o;
	t.r = r;
	t.graph = g;
	t.n = nmig_graph_count(g);
	t.cap = o->max_file_size ? o->max_file_size : NMIG_MAX_FILE_SIZE;
	t.up = calloc(t.n + 1, sizeof(*t.up));
	t.down = calloc(t.n + 1, sizeof(*t.down));
	t.mark = calloc(t.n + 1, 1);
	t.keep = calloc(t.n + 1, 1);
	t.cover = calloc(t.n + 1, 1);
	t.nodes = calloc(t.n + 1, sizeof(*t.nodes));
	t.steps = calloc(t.n + 1, sizeof(*t.steps));
	if (!t.up || !t.down || !t.mark || !t.keep || !t.cover || !t.nodes ||
	    !t.steps)
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
	else
		err = run(&t);
	r->lost = r->lost || (t.conn && nmig_conn_lost(t.conn));
	r->interrupted = nmig_interrupt_pending();
	tester_release(&t);
	count_outcomes(r);
	return err;
}

void nmig_testrun_result_init(struct nmig_testrun_result *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	nmig_diags_init(&r->diags);
	for (i = 0; i < NMIG_TESTRUN_MAX_CHECKS; i++) {
		nmig_buf_init(&r->checks[i].summary);
		nmig_buf_init(&r->checks[i].details);
	}
}

void nmig_testrun_result_release(struct nmig_testrun_result *r)
{
	size_t i, j;

	for (i = 0; i < NMIG_TESTRUN_MAX_CHECKS; i++) {
		struct nmig_testrun_check *c = &r->checks[i];

		for (j = 0; j < c->nfailures; j++) {
			free(c->failures[j].what);
			free(c->failures[j].file);
			free(c->failures[j].message);
			free(c->failures[j].diff);
		}
		free(c->failures);
		nmig_buf_release(&c->summary);
		nmig_buf_release(&c->details);
	}
	nmig_diags_release(&r->diags);
	free(r->irreversible);
	free(r->version);
	free(r->display);
	free(r->stop_error);
	nmig_testrun_result_init(r);
}

const char *nmig_testrun_status_name(enum nmig_testrun_status s)
{
	return s == NMIG_TESTRUN_PASS ? "pass"
	       : s == NMIG_TESTRUN_FAIL ? "fail"
					: "skip";
}
