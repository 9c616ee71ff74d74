/*
 * nmig test: the CI roundtrip of a migration history on a scratch
 * database -- by default an ephemeral local cluster that nmig starts and
 * removes itself (lib/cluster.h), or TEST_DATABASE_URL. The checks, each
 * reported as ok/FAIL with its time: a single head; the full upgrade; the
 * full downgrade returning the schema to the fingerprint it started from
 * (lib/fingerprint.h); a second upgrade giving the fingerprint of the
 * first; and the stairway (for each revision in plan order: up one, down
 * one, compare with the fingerprint before it, up again). `--base REV`
 * keeps REV and its ancestors applied (squashed roots); revisions without
 * a down file keep themselves and their ancestors applied too, with a
 * note. Migrations run through the engine (lib/exec.h) exactly as
 * upgrade and downgrade run them, on one connection; a failing migration
 * is reported with revision, file:line:col, SQLSTATE and message, and the
 * run goes on with what it can still check. SIGINT/SIGTERM cancel the
 * running query and remove the cluster before exiting. `--junit FILE`
 * writes JUnit XML for CI.
 */
#include "commands.h"
#include "db.h"

#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "cluster.h"
#include "env.h"
#include "error.h"
#include "interrupt.h"
#include "fingerprint.h"
#include "sqlscript.h"

/* Lines of a fingerprint diff shown per failure. */
#define DIFF_LINES 40
/* Stairway failures shown in full (the others are only named). */
#define STAIRWAY_SHOWN 10

enum check_status { CHECK_PASS, CHECK_FAIL, CHECK_SKIP };

struct check {
	const char *name;
	enum check_status status;
	double ms;
	struct nmig_buf summary; /* after the name: "(26 revisions, 0.41 s)" */
	struct nmig_buf details; /* lines under a FAIL: errors, diffs */
};

/* Every check one run can make, with room to spare. */
#define MAX_CHECKS 12

struct tester {
	struct nmig_global *g;
	struct nmig_db db; /* settings: timeouts, retries (db_init) */
	struct nmig_revset set;
	struct nmig_graph *graph;
	size_t n;
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
	int lost; /* the connection dropped: nothing more can run */
	int live; /* a progress line is on the terminal */
	struct check checks[MAX_CHECKS];
	size_t nchecks;
	double t0;
	size_t nirr; /* irreversible revisions outside --base */
	const char *base_spec;
	const char *prelude;
	const char *junit;
	int no_stairway;
	int ignore_column_order;
	int clean; /* the full downgrade returned to the start exactly */
	struct nmig_buf bad; /* the first error in the files, for JUnit */
};

/* Set by the signal handler: the signal number. */
static volatile sig_atomic_t got_signal;
/* Cancels the query in progress from the signal handler. */
/* The cluster to stop at exit if the run did not get to it. */
static struct nmig_cluster *volatile live_cluster;

/*
 * SIGINT, SIGTERM, SIGHUP: remember the signal and cancel the running
 * query, so the run stops at once and cleans up on its normal path. A
 * second signal also tells the server to go down immediately.
 */
static void on_signal(int sig)
{
	if (!got_signal) {
		got_signal = sig;
		nmig_interrupt_request(sig);
	} else {
		nmig_cluster_kill(live_cluster);
	}
}

/* atexit: a cluster still running when the process exits is removed. */
static void stop_cluster_at_exit(void)
{
	struct nmig_cluster *c = live_cluster;

	live_cluster = NULL;
	nmig_cluster_free(c);
}

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGNALS (sizeof(handled_signals) / sizeof(handled_signals[0]))

static void install_signals(struct sigaction *old)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIGNALS; i++)
		sigaction(handled_signals[i], &sa, &old[i]);
}

static void restore_signals(const struct sigaction *old)
{
	size_t i;

	for (i = 0; i < NSIGNALS; i++)
		sigaction(handled_signals[i], &old[i], NULL);
}

/*
 * Make the signal handler cancel queries on c (NULL: on nothing);
 * signals are held meanwhile.
 */
static void set_cancel(struct nmig_conn *c)
{
	sigset_t block, old;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < NSIGNALS; i++)
		sigaddset(&block, handled_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	nmig_interrupt_watch(c);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

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

/* Whether the run must stop: interrupted, or the connection is gone. */
static int stopped(struct tester *t)
{
	return got_signal || t->lost;
}

static void clear_live(struct tester *t)
{
	if (t->live) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
		t->live = 0;
	}
}

/* Start a check (the table holds every check one run can make). */
static struct check *check_new(struct tester *t, const char *name)
{
	struct check *c;

	assert(t->nchecks < MAX_CHECKS);
	c = &t->checks[t->nchecks++];

	c->name = name;
	c->status = CHECK_PASS;
	nmig_buf_init(&c->summary);
	nmig_buf_init(&c->details);
	return c;
}

static void check_summary(struct check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Replace the summary of c. */
static void check_summary(struct check *c, const char *fmt, ...)
{
	va_list ap;

	nmig_buf_clear(&c->summary);
	va_start(ap, fmt);
	nmig_buf_vprintf(&c->summary, fmt, ap);
	va_end(ap);
}

/*
 * Append the last error to details: message, location with the source
 * line and a caret, SQLSTATE, detail and hint.
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

/* Note a failure of the connection itself (then nothing more runs). */
static void note_lost(struct tester *t, int err)
{
	if (err == NMIG_ECONNECT || nmig_conn_lost(t->conn))
		t->lost = 1;
}

/* Server notices: shown with -v only. */
static void on_notice(void *ud, const char *severity, const char *message)
{
	struct tester *t = ud;
	size_t len = strlen(message);

	while (len && message[len - 1] == '\n')
		len--;
	if (t->g->verbose && !t->g->quiet) {
		clear_live(t);
		nmig_infof(t->g, "%s: %.*s", severity, (int)len, message);
	}
}

/* Connect to url (policy warnings printed). */
static int connect_url(struct tester *t, const char *url)
{
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_conn_opts co;
	int err;

	memset(&co, 0, sizeof(co));
	co.connect_timeout_ms = t->db.connect_timeout_ms;
	co.allow_insecure = t->db.allow_insecure;
	co.on_notice = on_notice;
	co.ud = t;
	err = nmig_conn_open(&t->conn, url, &co, &diags);
	if (diags.n && !t->g->quiet)
		nmig_report_diags(t->g, &diags);
	nmig_diags_release(&diags);
	return err;
}

/* Progress of the engine: track the applied set; -v prints each step. */
static void on_event(void *ud, const struct nmig_exec_event *ev)
{
	struct tester *t = ud;
	size_t node = t->nodes[ev->index];

	if (ev->kind == NMIG_EXEC_DONE) {
		t->mark[node] = t->dir == NMIG_UP;
		if (t->g->verbose && !t->g->quiet) {
			clear_live(t);
			nmig_infof(t->g, "  %s %s %s (%.0f ms)",
				   t->dir == NMIG_UP ? "applied" : "reverted",
				   ev->rev->id, ev->rev->message, ev->ms);
		}
	} else if (ev->kind == NMIG_EXEC_RETRY) {
		clear_live(t);
		nmig_warnf(t->g,
			   "migration %s hit a lock timeout; retrying in "
			   "%.1f s (retry %d)",
			   ev->rev->id, ev->wait_ms / 1000.0, ev->attempt);
	}
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
	xo.lock_timeout_ms = t->db.lock_timeout_ms;
	xo.statement_timeout_ms = t->db.statement_timeout_ms;
	xo.lock_retries = t->db.lock_retries;
	xo.nmig_version = NMIG_VERSION;
	xo.on_event = on_event;
	xo.ud = t;
	t->dir = dir;
	err = nmig_exec_run(&xr, t->conn, &t->table, t->steps, k, &xo);
	*done = xr.done;
	if (err && xr.failed >= 0 && (size_t)xr.failed < k)
		*failed = (long)t->nodes[xr.failed];
	if (err && (xr.connection_lost || nmig_conn_lost(t->conn)))
		t->lost = 1;
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
	    t->ignore_column_order ? NMIG_FP_NO_COLUMN_ORDER : 0);

	if (err)
		note_lost(t, err);
	return err;
}

/* A check that could not take a fingerprint fails with the reason. */
static void fail_fp(struct check *c)
{
	c->status = CHECK_FAIL;
	put_error(&c->details);
}

/*
 * Append the diff from a to b under the two headings; returns the
 * number of differences.
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

/* Print one check line (and the details of a failure). */
static void check_print(struct tester *t, const struct check *c)
{
	struct nmig_global *g = t->g;
	const char *p;

	if (g->json)
		return;
	clear_live(t);
	if (c->status == CHECK_PASS && g->quiet)
		return;
	if (c->status == CHECK_PASS)
		printf("%sok%s   ", nmig_c_green(g), nmig_c_reset(g));
	else if (c->status == CHECK_FAIL)
		printf("%sFAIL%s ", nmig_c_red(g), nmig_c_reset(g));
	else
		printf("%sskip%s ", nmig_c_yellow(g), nmig_c_reset(g));
	printf("%s ", c->name);
	nmig_put_safe(stdout, c->summary.ptr);
	fputc('\n', stdout);
	for (p = c->details.ptr; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len);

		fputs("     ", stdout);
		nmig_put_safe(stdout, line ? line : "");
		fputc('\n', stdout);
		free(line);
		p += len;
		if (*p)
			p++;
	}
	fflush(stdout);
}

/* Finish check c: its time, and print it. */
static void check_done(struct tester *t, struct check *c, double t0)
{
	c->ms = nmig_clock_ms() - t0;
	if (got_signal && c->status == CHECK_FAIL) {
		/* cancelled by the signal: not a finding about the files */
		c->status = CHECK_SKIP;
		check_summary(c, "(interrupted after %.2f s)", c->ms / 1000.0);
		nmig_buf_clear(&c->details);
	}
	check_print(t, c);
}

/* Mark check c not run, because of why. */
static void check_skip(struct tester *t, struct check *c, const char *why)
{
	c->status = CHECK_SKIP;
	check_summary(c, "(not run: %s)", why);
	check_print(t, c);
}

/* Why a check cannot run now, or NULL when it can. */
static const char *blocked(struct tester *t)
{
	if (got_signal)
		return "interrupted";
	if (t->lost)
		return "the connection to the scratch database was lost";
	return NULL;
}

/* single head: the graph has exactly one head. */
static void check_head(struct tester *t)
{
	struct check *c = check_new(t, "single head");
	size_t nh, i;
	const size_t *heads = nmig_graph_heads(t->graph, &nh);

	if (nh == 1) {
		check_summary(c, "(%s)", rev_at(t, heads[0])->id);
	} else {
		c->status = CHECK_FAIL;
		check_summary(c, "(%zu heads)", nh);
		for (i = 0; i < nh; i++) {
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
 * Run the --prelude file on the current database as one query; an error
 * points at its file:line:col.
 */
static int run_prelude(struct tester *t)
{
	struct nmig_script sc;
	struct nmig_buf what = NMIG_BUF_INIT;
	int err;

	memset(&sc, 0, sizeof(sc));
	err = nmig_script_load(&sc, t->prelude,
			       t->g->cfg.max_file_size ? t->g->cfg.max_file_size
						       : NMIG_MAX_FILE_SIZE);
	if (!err) {
		nmig_buf_printf(&what, "prelude '%s'", t->prelude);
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
	struct check *c = check_new(t, "prelude");
	double t0 = nmig_clock_ms();
	int err = run_prelude(t);

	if (err) {
		c->status = CHECK_FAIL;
		check_summary(c, "'%s'", t->prelude);
		put_error(&c->details);
	} else {
		check_summary(c, "('%s', %.2f s)", t->prelude,
			      (nmig_clock_ms() - t0) / 1000.0);
	}
	check_done(t, c, t0);
	return err;
}

/* base: apply the revisions that stay applied throughout. */
static int check_base(struct tester *t, size_t nirreversible)
{
	struct check *c = check_new(t, "base");
	double t0 = nmig_clock_ms();
	size_t k = collect(t, NMIG_UP, t->keep), done;
	long failed;
	int err = run_nodes(t, NMIG_UP, k, &done, &failed);

	if (err) {
		c->status = CHECK_FAIL;
		nmig_buf_puts(&c->summary, "at ");
		if (failed >= 0)
			put_rev(&c->summary, t, (size_t)failed);
		nmig_buf_printf(&c->summary, " (%zu of %zu applied, %.2f s)",
				done, k, (nmig_clock_ms() - t0) / 1000.0);
		put_error(&c->details);
	} else {
		check_summary(c, "(%zu revision%s applied and kept", k,
			      plural(k));
		if (t->base_spec)
			nmig_buf_printf(&c->summary, ": --base %s",
					t->base_spec);
		if (nirreversible)
			nmig_buf_printf(&c->summary, "%s%zu irreversible",
					t->base_spec ? ", " : ": ",
					nirreversible);
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
static int pass(struct tester *t, struct check *c, enum nmig_direction dir,
		double t0, size_t *count)
{
	size_t k = collect(t, dir, t->cover), done;
	long failed;
	int err;

	*count = k;
	if (k == 0)
		return NMIG_OK;
	err = run_nodes(t, dir, k, &done, &failed);
	if (err) {
		c->status = CHECK_FAIL;
		nmig_buf_clear(&c->summary);
		nmig_buf_puts(&c->summary, "at ");
		if (failed >= 0)
			put_rev(&c->summary, t, (size_t)failed);
		else
			nmig_buf_puts(&c->summary, "the start");
		nmig_buf_printf(&c->summary, " (%zu of %zu %s, %.2f s)", done,
				k, dir == NMIG_UP ? "applied" : "reverted",
				(nmig_clock_ms() - t0) / 1000.0);
		put_error(&c->details);
	}
	return err;
}

/* full upgrade: apply every covered revision; fingerprint the result. */
static void check_full_up(struct tester *t, struct nmig_fingerprint *fp_up)
{
	struct check *c = check_new(t, "full upgrade");
	double t0 = nmig_clock_ms();
	size_t k, applied, i;
	int err = pass(t, c, NMIG_UP, t0, &k);

	if (err) {
		/* the other checks cover what did apply */
		for (i = 0; i < t->n; i++)
			t->cover[i] = t->cover[i] && t->mark[i];
		applied = count_set(t, t->cover);
		if (!t->lost)
			nmig_buf_printf(&c->details,
					"the checks below cover the %zu "
					"revision%s applied before it\n",
					applied, plural(applied));
	} else {
		check_summary(c, "(%zu revision%s, %.2f s)", k, plural(k),
			      (nmig_clock_ms() - t0) / 1000.0);
	}
	if (!t->lost && take_fp(t, fp_up))
		fail_fp(c);
	check_done(t, c, t0);
}

/* full downgrade: revert the covered revisions; compare with the start. */
static void check_full_down(struct tester *t,
			    const struct nmig_fingerprint *fp_start)
{
	struct check *c = check_new(t, "full downgrade");
	struct nmig_fingerprint fp = NMIG_FINGERPRINT_INIT;
	double t0 = nmig_clock_ms();
	size_t k, nd;
	int err = pass(t, c, NMIG_DOWN, t0, &k);

	if (!err && take_fp(t, &fp)) {
		fail_fp(c);
	} else if (!err && !nmig_fingerprint_equal(fp_start, &fp)) {
		c->status = CHECK_FAIL;
		nd = put_diff(&c->details, fp_start, &fp,
			      "before the full upgrade",
			      "after the full downgrade");
		check_summary(c,
			      "(%zu revision%s: the schema differs from the "
			      "start in %zu place%s, %.2f s)",
			      k, plural(k), nd, plural(nd),
			      (nmig_clock_ms() - t0) / 1000.0);
		if (!t->no_stairway)
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
	struct check *c = check_new(t, "second upgrade");
	struct nmig_fingerprint fp = NMIG_FINGERPRINT_INIT;
	double t0 = nmig_clock_ms();
	size_t k, nd;
	int err = pass(t, c, NMIG_UP, t0, &k);

	if (!err && take_fp(t, &fp)) {
		fail_fp(c);
	} else if (!err && !nmig_fingerprint_equal(fp_up, &fp)) {
		c->status = CHECK_FAIL;
		nd =
		    put_diff(&c->details, fp_up, &fp, "after the first upgrade",
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

/* One stairway step of revision i: up, down, compare, up again. */
struct stair {
	struct tester *t;
	struct check *c;
	struct nmig_buf failures; /* the details of each failed revision */
	struct nmig_buf names;	  /* "A, B" for the summary */
	size_t nfailed;		  /* revisions that failed, each once */
	long last;		  /* the revision that failed last, -1 */
};

/*
 * Record that revision i failed the stairway; the buffer returned (NULL
 * past the first STAIRWAY_SHOWN revisions) takes the details. A revision
 * failing a second check is counted once. stopping: this failure ends
 * the stairway, and always gets its details (message, SQLSTATE,
 * file:line), however many came before.
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
	struct nmig_buf *b;
	int stop = 0;

	if (run_one(t, NMIG_UP, i)) {
		if ((b = stair_fail(s, i, "its up file fails", 1)))
			put_error(b);
		return 1;
	}
	if (stopped(t))
		return 1;
	if (run_one(t, NMIG_DOWN, i)) {
		if ((b = stair_fail(s, i,
				    "its down file fails right after its up "
				    "file",
				    0)))
			put_error(b);
		if (stopped(t))
			return 1;
		/* it stays applied: go on from there */
		nmig_fingerprint_release(before);
		if (take_fp(t, before)) {
			if ((b = stair_fail(s, i, "cannot read the schema",
					    1)))
				put_error(b);
			return 1;
		}
		return 0;
	}
	if (take_fp(t, &after)) {
		if ((b = stair_fail(s, i, "cannot read the schema", 1)))
			put_error(b);
		return 1;
	}
	if (!nmig_fingerprint_equal(before, &after) &&
	    (b = stair_fail(s, i,
			    "the schema after its down file differs from "
			    "the schema before its up file",
			    0)))
		put_diff(b, before, &after, "before its up file",
			 "after its down file");
	nmig_fingerprint_release(&after);
	if (stopped(t))
		return 1;
	if (run_one(t, NMIG_UP, i)) {
		if ((b = stair_fail(s, i,
				    "it cannot be applied again after its "
				    "down file",
				    1)))
			put_error(b);
		return 1;
	}
	nmig_fingerprint_release(before);
	if (take_fp(t, before)) {
		if ((b = stair_fail(s, i, "cannot read the schema", 1)))
			put_error(b);
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
	set_cancel(NULL);
	if (t->locked)
		nmig_state_unlock(t->conn, &t->table);
	t->locked = 0;
	nmig_conn_close(t->conn);
	t->conn = NULL;
	nmig_cluster_url(t->cluster, "nmig_stairway", &url);
	err = nmig_buf_oom(&url) ? nmig_error_set(NMIG_ENOMEM, "out of memory")
				 : connect_url(t, url.ptr);
	nmig_buf_release(&url);
	if (err) {
		t->lost = 1;
		return err;
	}
	set_cancel(t->conn);
	memset(t->mark, 0, t->n);
	err = nmig_state_lock(t->conn, &t->table, t->db.lock_wait_ms, NULL);
	if (!err)
		t->locked = 1;
	if (!err && t->prelude)
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

/*
 * stairway: from the start (a fresh database on the cluster when the
 * full downgrade did not return there exactly), for each covered
 * revision in plan order: up one, down one, compare with the fingerprint
 * before it, up again.
 */
static void check_stairway(struct tester *t)
{
	struct check *c = check_new(t, "stairway");
	struct stair s = {t, c, NMIG_BUF_INIT, NMIG_BUF_INIT, 0, -1};
	struct nmig_fingerprint before = NMIG_FINGERPRINT_INIT;
	struct nmig_buf note = NMIG_BUF_INIT;
	double t0 = nmig_clock_ms();
	size_t k, done, i, total, stepped = 0;
	long failed;
	int tty = isatty(STDOUT_FILENO) && !t->g->quiet && !t->g->json;
	int fresh = 0;

	if (!t->clean && t->cluster) {
		fresh = 1;
		if (fresh_database(t)) {
			if (got_signal) {
				check_skip(t, c, "interrupted");
				goto cleanup;
			}
			c->status = CHECK_FAIL;
			check_summary(c, "(cannot set up a fresh database for "
					 "it)");
			put_error(&c->details);
			check_done(t, c, t0);
			goto cleanup;
		}
		k = 0;
	} else {
		/* back to the start: the second upgrade applied everything */
		k = collect(t, NMIG_DOWN, t->cover);
		if (!t->clean)
			nmig_buf_puts(&note,
				      "it runs on the database the full "
				      "downgrade left: an object left behind "
				      "there hides the revision that leaves "
				      "it\n");
	}
	if (k && run_nodes(t, NMIG_DOWN, k, &done, &failed)) {
		if (stopped(t)) {
			check_skip(t, c, blocked(t));
			goto cleanup;
		}
		nmig_buf_puts(&note, "the downgrade before it stops at ");
		if (failed >= 0)
			put_rev(&note, t, (size_t)failed);
		nmig_buf_puts(&note, " (see the full downgrade): the stairway "
				     "covers the revisions above it\n");
	}
	total = collect(t, NMIG_UP, t->cover);
	if (total == 0) {
		check_skip(t, c,
			   "no revision could be reverted to step through");
		goto cleanup;
	}
	if (take_fp(t, &before)) {
		fail_fp(c);
		check_done(t, c, t0);
		goto cleanup;
	}
	for (i = 0; i < t->n && !stopped(t); i++) {
		if (!t->cover[i] || t->mark[i])
			continue;
		if (tty) {
			printf("\r\033[Kstairway %zu/%zu %s", stepped + 1,
			       total, rev_at(t, i)->id);
			fflush(stdout);
			t->live = 1;
		}
		stepped++;
		if (stair_step(&s, i, &before))
			break;
	}
	clear_live(t);
	if (got_signal) {
		check_skip(t, c, "interrupted");
		goto cleanup;
	}
	nmig_buf_put(&c->details, note.ptr, note.len);
	if (s.nfailed || stepped < total) {
		c->status = CHECK_FAIL;
		nmig_buf_printf(&c->summary, "at %s%s (", s.names.ptr,
				s.nfailed > 3 ? ", ..." : "");
		if (fresh)
			nmig_buf_puts(&c->summary, "on a fresh database: ");
		if (s.nfailed)
			nmig_buf_printf(&c->summary, "%zu of ", s.nfailed);
		nmig_buf_printf(&c->summary, "%zu revision%s", total,
				plural(total));
		if (s.nfailed)
			nmig_buf_puts(&c->summary, " fail");
		if (stepped < total)
			nmig_buf_printf(&c->summary, ", stopped after %zu",
					stepped);
		nmig_buf_printf(&c->summary, ", %.2f s)",
				(nmig_clock_ms() - t0) / 1000.0);
		nmig_buf_put(&c->details, s.failures.ptr, s.failures.len);
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
 * Load and check every up and down file before anything runs. Returns
 * NMIG_EXIT_OK or NMIG_EXIT_INPUT after printing the findings.
 */
static int load_scripts(struct tester *t)
{
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	size_t cap = t->g->cfg.max_file_size ? t->g->cfg.max_file_size
					     : NMIG_MAX_FILE_SIZE;
	size_t i, side;
	int rc = NMIG_EXIT_OK;

	for (i = 0; i < t->n; i++) {
		const struct nmig_revision *rev = rev_at(t, i);

		for (side = 0; side < 2; side++) {
			const struct nmig_file_info *f =
			    side ? &rev->down : &rev->up;
			struct nmig_script *sc = side ? &t->down[i] : &t->up[i];
			char sum[NMIG_SHA256_HEX];

			if (!f->path)
				continue;
			if (nmig_script_load(sc, f->path, cap)) {
				nmig_diags_add_last_error(&diags, "file");
				continue;
			}
			nmig_checksum(sc->text, sc->len, sum);
			if (strcmp(sum, f->checksum) != 0) {
				nmig_diags_add(&diags, NMIG_SEV_ERROR,
					       NMIG_EINPUT, "file", f->path, 0,
					       0,
					       "'%s' changed while nmig was "
					       "reading it",
					       f->path);
				continue;
			}
			nmig_script_check(sc, rev->transactional, &diags);
		}
	}
	if (diags.errors) {
		for (i = 0; i < diags.n; i++) {
			const struct nmig_diag *d = &diags.items[i];

			if (d->severity != NMIG_SEV_ERROR)
				continue;
			if (d->file)
				nmig_buf_printf(&t->bad, "%s:%d:%d: ", d->file,
						d->line, d->col);
			nmig_buf_puts(&t->bad, d->message);
			break;
		}
		nmig_report_diags(t->g, &diags);
		nmig_hintf(t->g, "nothing was run; fix the files above");
		rc = NMIG_EXIT_INPUT;
	} else if (diags.n && t->g->verbose) {
		nmig_report_diags(t->g, &diags);
	}
	nmig_diags_release(&diags);
	return rc;
}

/*
 * The base (--base and the irreversible revisions with their ancestors)
 * into t->keep, the rest into t->cover. *nirr receives the number of
 * irreversible revisions outside --base. Exit code.
 */
static int plan_base(struct tester *t, size_t *nirr)
{
	size_t *nodes = NULL, nn = 0, i, k = 0;
	struct nmig_buf list = NMIG_BUF_INIT;

	*nirr = 0;
	if (t->base_spec) {
		if (nmig_target_resolve(t->graph, NULL, 0, t->base_spec, &nodes,
					&nn))
			return nmig_report_error(t->g);
		nmig_graph_mark_ancestors(t->graph, nodes, nn, t->keep);
		free(nodes);
	}
	for (i = 0; i < t->n; i++)
		if (!t->keep[i] && !rev_at(t, i)->down.path)
			t->nodes[k++] = i;
	*nirr = k;
	for (i = 0; i < k && i < 5; i++)
		nmig_buf_printf(&list, "%s%s", i ? ", " : "",
				rev_at(t, t->nodes[i])->id);
	if (k > 5)
		nmig_buf_printf(&list, " and %zu more", k - 5);
	nmig_graph_mark_ancestors(t->graph, t->nodes, k, t->keep);
	for (i = 0; i < t->n; i++)
		t->cover[i] = !t->keep[i];
	if (k && !t->g->json)
		nmig_infof(t->g,
			   "note: %zu revision%s %s no down file (%s): the "
			   "descent ends there; %s and %s ancestors stay "
			   "applied and the roundtrip covers the %zu "
			   "revision%s above",
			   k, plural(k), k == 1 ? "has" : "have", list.ptr,
			   k == 1 ? "it" : "they", k == 1 ? "its" : "their",
			   count_set(t, t->cover),
			   plural(count_set(t, t->cover)));
	nmig_buf_release(&list);
	return NMIG_EXIT_OK;
}

/* The value of the URL variable (after .env), or NULL when unset. */
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

/*
 * TEST_DATABASE_URL: refused when it names DATABASE_URL's database, when
 * it has revisions recorded, and when it holds objects (unless
 * allow_nonempty). Returns NMIG_OK or a code with the last error set.
 */
static int open_test_url(struct tester *t, const char *url, int allow_nonempty)
{
	const char *var = t->g->cfg.url_env && *t->g->cfg.url_env
			      ? t->g->cfg.url_env
			      : "DATABASE_URL";
	const char *main_url = env_value(var);
	struct nmig_fingerprint fp = NMIG_FINGERPRINT_INIT;
	struct nmig_state st;
	size_t i, shown = 0, nuser;
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
	if ((err = nmig_vtable_init(&t->table, t->conn, t->g->cfg.schema,
				    t->g->cfg.table)))
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
	if (nuser && !allow_nonempty) {
		nmig_error_set(NMIG_ESTATE,
			       "the database of TEST_DATABASE_URL is not empty "
			       "(%zu object%s)",
			       nuser, plural(nuser));
		for (i = 0; i < fp.n && shown < 5; i++) {
			const struct nmig_fp_item *it = &fp.items[i];

			if (strcmp(it->kind, "column") == 0 ||
			    (strcmp(it->kind, "schema") == 0 &&
			     strcmp(it->key, "public") == 0) ||
			    (strcmp(it->kind, "extension") == 0 &&
			     strcmp(it->key, "plpgsql") == 0))
				continue;
			nmig_error_detail("%s %s", it->kind, it->key);
			shown++;
		}
		nmig_error_hint("nmig test needs an empty scratch database; "
				"pass --allow-nonempty if these objects are "
				"meant to be there");
		err = NMIG_ESTATE;
	}
	nmig_fingerprint_release(&fp);
	return err;
}

/* The ephemeral cluster: start it and connect. */
static int open_cluster(struct tester *t, const char *bindir)
{
	struct nmig_cluster_opts o;
	struct nmig_cluster *c = NULL;
	int err;

	memset(&o, 0, sizeof(o));
	o.bindir = bindir;
	o.interrupted = &got_signal;
	err = nmig_cluster_start(&c, &o);
	if (err)
		return err;
	t->cluster = c;
	live_cluster = c;
	if ((err = connect_url(t, c->url)))
		return err;
	if ((err = nmig_vtable_init(&t->table, t->conn, t->g->cfg.schema,
				    t->g->cfg.table)))
		return err;
	t->have_table = 1;
	return NMIG_OK;
}

/* Write s escaped for XML text or attributes; bad bytes become '?'. */
static void put_xml(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned char ch = *p;
		size_t n = ch < 0x80		 ? 1
			   : (ch & 0xE0) == 0xC0 ? 2
			   : (ch & 0xF0) == 0xE0 ? 3
			   : (ch & 0xF8) == 0xF0 ? 4
						 : 0;
		size_t k;

		for (k = 1; n && k < n; k++)
			if ((p[k] & 0xC0) != 0x80)
				n = 0;
		if (n == 0 || (ch < 0x20 && ch != '\t' && ch != '\n')) {
			fputc('?', f);
			p++;
			continue;
		}
		if (ch == '&')
			fputs("&amp;", f);
		else if (ch == '<')
			fputs("&lt;", f);
		else if (ch == '>')
			fputs("&gt;", f);
		else if (ch == '"')
			fputs("&quot;", f);
		else if (ch == '\n')
			fputs("&#10;", f);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
}

/* XML text content: like put_xml but newlines kept as they are. */
static void put_xml_text(FILE *f, const char *s)
{
	const char *p = s;

	while (*p) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len);

		put_xml(f, line ? line : "");
		free(line);
		p += len;
		if (*p) {
			fputc('\n', f);
			p++;
		}
	}
}

/*
 * Write the JUnit XML report to path (through a temporary file renamed
 * into place). setup_error, when not NULL, is the reason the checks could
 * not run at all (one erroring test case). Returns 0, or -1 after
 * printing why the file could not be written.
 */
static int write_junit(struct tester *t, const char *path,
		       const char *setup_error)
{
	struct nmig_buf tmp = NMIG_BUF_INIT;
	size_t i, failures = 0, skipped = 0;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int ok;

	for (i = 0; i < t->nchecks; i++) {
		failures += t->checks[i].status == CHECK_FAIL;
		skipped += t->checks[i].status == CHECK_SKIP;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	nmig_buf_printf(&tmp, "%s.tmp%ld", path, (long)getpid());
	f = fopen(tmp.ptr, "w");
	if (!f) {
		nmig_errorf(t->g, "cannot write '%s'", tmp.ptr);
		nmig_buf_release(&tmp);
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<testsuites name=\"nmig test\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"%d\" skipped=\"%zu\" "
		"time=\"%.3f\">\n",
		setup_error ? 1 : t->nchecks, failures, setup_error ? 1 : 0,
		skipped, (nmig_clock_ms() - t->t0) / 1000.0);
	fprintf(f, "  <testsuite name=\"");
	put_xml(f, t->set.dir ? t->set.dir : "migrations");
	fprintf(f,
		"\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" "
		"skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\">\n",
		setup_error ? 1 : t->nchecks, failures, setup_error ? 1 : 0,
		skipped, (nmig_clock_ms() - t->t0) / 1000.0, stamp);
	if (setup_error) {
		fprintf(f, "    <testcase classname=\"nmig.test\" "
			   "name=\"setup\" time=\"0\">\n      <error "
			   "message=\"");
		put_xml(f, setup_error);
		fprintf(f, "\"/>\n    </testcase>\n");
	}
	for (i = 0; !setup_error && i < t->nchecks; i++) {
		const struct check *c = &t->checks[i];

		fprintf(f, "    <testcase classname=\"nmig.test\" name=\"");
		put_xml(f, c->name);
		fprintf(f, "\" time=\"%.3f\"", c->ms / 1000.0);
		if (c->status == CHECK_PASS) {
			fprintf(f, "/>\n");
			continue;
		}
		fprintf(f, ">\n      <%s message=\"",
			c->status == CHECK_FAIL ? "failure" : "skipped");
		put_xml(f, c->name);
		fputc(' ', f);
		put_xml(f, c->summary.ptr);
		if (c->status == CHECK_SKIP) {
			fprintf(f, "\"/>\n    </testcase>\n");
			continue;
		}
		fprintf(f, "\">");
		put_xml_text(f, c->details.ptr);
		fprintf(f, "</failure>\n    </testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	ok = !ferror(f);
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp.ptr, path) != 0) {
		nmig_errorf(t->g, "cannot write '%s'", path);
		unlink(tmp.ptr);
		nmig_buf_release(&tmp);
		return -1;
	}
	nmig_buf_release(&tmp);
	return 0;
}

/* The --json report: one object. */
static void print_json(struct tester *t, size_t passed, size_t failed,
		       size_t skipped, int exit_code)
{
	size_t i;

	printf("{\"revisions\":%zu,\"database\":\"%s\",\"checks\":[", t->n,
	       t->cluster ? "temporary cluster" : "TEST_DATABASE_URL");
	for (i = 0; i < t->nchecks; i++) {
		const struct check *c = &t->checks[i];

		printf("%s{\"name\":", i ? "," : "");
		nmig_json_str(stdout, c->name);
		printf(",\"status\":\"%s\",\"seconds\":%.3f,\"summary\":",
		       c->status == CHECK_PASS	 ? "pass"
		       : c->status == CHECK_FAIL ? "fail"
						 : "skip",
		       c->ms / 1000.0);
		nmig_json_str(stdout, c->summary.ptr);
		printf(",\"details\":");
		nmig_json_str(stdout, c->details.ptr);
		putchar('}');
	}
	printf("],\"passed\":%zu,\"failed\":%zu,\"not_run\":%zu,"
	       "\"seconds\":%.3f,\"exit\":%d}\n",
	       passed, failed, skipped, (nmig_clock_ms() - t->t0) / 1000.0,
	       exit_code);
}

/* Print the summary line (or JSON) and return the exit code. */
static int finish(struct tester *t)
{
	size_t i, passed = 0, failed = 0, skipped = 0;
	int rc;

	for (i = 0; i < t->nchecks; i++) {
		passed += t->checks[i].status == CHECK_PASS;
		failed += t->checks[i].status == CHECK_FAIL;
		skipped += t->checks[i].status == CHECK_SKIP;
	}
	if (got_signal)
		rc = 128 + got_signal;
	else if (t->lost)
		rc = NMIG_EXIT_CONNECT;
	else
		rc = failed ? NMIG_EXIT_FAILURE : NMIG_EXIT_OK;
	if (t->g->json) {
		print_json(t, passed, failed, skipped, rc);
	} else {
		clear_live(t);
		printf("%zu passed, %zu failed", passed, failed);
		if (skipped)
			printf(", %zu not run", skipped);
		printf(" (%.2f s)\n", (nmig_clock_ms() - t->t0) / 1000.0);
	}
	fflush(stdout);
	if (got_signal)
		nmig_errorf(t->g, "interrupted (signal %d)%s", (int)got_signal,
			    t->cluster ? ": the scratch cluster is removed"
				       : "");
	return rc;
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
	err = nmig_state_lock(t->conn, &t->table, t->db.lock_wait_ms, NULL);
	if (!err)
		t->locked = 1;
	if (!err && t->prelude && check_prelude(t))
		why = "the prelude failed";
	if (!err && !why)
		err = nmig_state_read(&st, t->conn, &t->table, 1);
	nmig_state_release(&st);
	if (err) {
		struct check *c = check_new(t, "setup");

		c->status = CHECK_FAIL;
		put_error(&c->details);
		note_lost(t, err);
		check_done(t, c, nmig_clock_ms());
		why = "the scratch database could not be set up";
	}
	if (!why && count_set(t, t->keep) && check_base(t, t->nirr))
		why = "the base could not be applied";
	if (!why && take_fp(t, &fp_start)) {
		struct check *c = check_new(t, "setup");

		fail_fp(c);
		check_done(t, c, nmig_clock_ms());
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
	if (!why && !blocked(t) && !t->no_stairway)
		check_stairway(t);
	/* what could not run says why */
	if (!why)
		why = blocked(t);
	if (why) {
		static const char *const names[] = {
		    "full upgrade", "full downgrade", "second upgrade",
		    "stairway"};
		size_t j, k;

		for (j = 0; j < 4; j++) {
			int done = 0;

			if (j == 3 && t->no_stairway)
				continue;
			for (k = 0; k < t->nchecks; k++)
				if (strcmp(t->checks[k].name, names[j]) == 0)
					done = 1;
			if (!done && t->nchecks < MAX_CHECKS)
				check_skip(t, check_new(t, names[j]), why);
		}
	}
	nmig_fingerprint_release(&fp_start);
	nmig_fingerprint_release(&fp_up);
}

/* Print the header line: what is tested where. */
static void print_header(struct tester *t, double start_ms)
{
	if (t->g->quiet || t->g->json)
		return;
	printf("testing %zu revision%s in '", t->n, plural(t->n));
	nmig_put_safe(stdout, t->set.dir);
	if (t->cluster)
		printf("' on a temporary PostgreSQL %s cluster (started in "
		       "%.2f s)\n",
		       t->cluster->version ? t->cluster->version : "",
		       start_ms / 1000.0);
	else
		printf("' on TEST_DATABASE_URL (%s)\n", nmig_conn_display(t->conn));
	fflush(stdout);
}

/* Free everything the tester holds; stops the cluster. */
static void tester_release(struct tester *t)
{
	size_t i;

	set_cancel(NULL);
	if (t->locked && t->conn && !nmig_conn_lost(t->conn))
		nmig_state_unlock(t->conn, &t->table);
	if (t->conn && t->g->verbose)
		nmig_infof(t->g, "round trips: %ld", nmig_conn_roundtrips(t->conn));
	nmig_conn_close(t->conn);
	t->conn = NULL;
	if (t->have_table)
		nmig_vtable_release(&t->table);
	if (t->cluster) {
		live_cluster = NULL;
		if (nmig_cluster_stop(t->cluster))
			nmig_warnf(t->g, "%s", nmig_error_last()->message);
		nmig_cluster_free(t->cluster);
		t->cluster = NULL;
	}
	for (i = 0; t->up && i < t->n; i++) {
		nmig_script_release(&t->up[i]);
		nmig_script_release(&t->down[i]);
	}
	for (i = 0; i < t->nchecks; i++) {
		nmig_buf_release(&t->checks[i].summary);
		nmig_buf_release(&t->checks[i].details);
	}
	nmig_buf_release(&t->bad);
	free(t->up);
	free(t->down);
	free(t->mark);
	free(t->keep);
	free(t->cover);
	free(t->nodes);
	free(t->steps);
	nmig_graph_free(t->graph);
	nmig_revset_release(&t->set);
}

/* Report a failure to set up the scratch database (exit 5). */
static int scratch_failed(struct tester *t)
{
	int code = nmig_error_last()->code;

	nmig_report_error(t->g);
	if (t->junit)
		write_junit(t, t->junit, nmig_error_last()->message);
	if (code == NMIG_ENOMEM)
		return NMIG_EXIT_FAILURE;
	return got_signal ? 128 + got_signal : NMIG_EXIT_CONNECT;
}

int cmd_test(struct nmig_global *g, int argc, char **argv)
{
	struct db_opts o = {0};
	struct tester t;
	struct sigaction old[NSIGNALS];
	const char *bindir = NULL, *url;
	struct nmig_buf envpath = NMIG_BUF_INIT;
	double start;
	int allow_nonempty = 0, signals = 0, rc, err;
	const struct nmig_opt opts[] = {
	    {0, "junit", "FILE", "write the results as JUnit XML to FILE",
	     &t.junit, NULL, NULL, NULL},
	    {0, "base", "REV",
	     "keep REV and its ancestors applied (squashed roots); the "
	     "roundtrip starts above them",
	     &t.base_spec, NULL, NULL, NULL},
	    {0, "prelude", "FILE",
	     "run this SQL file on the scratch database first", &t.prelude,
	     NULL, NULL, NULL},
	    {0, "no-stairway", NULL, "skip the stairway (the slowest check)",
	     NULL, &t.no_stairway, NULL, NULL},
	    {0, "ignore-column-order", NULL,
	     "compare columns without their positions (a column a down "
	     "file re-adds goes last)",
	     NULL, &t.ignore_column_order, NULL, NULL},
	    {0, "pg-bindir", "DIR",
	     "PostgreSQL server binaries for the temporary cluster "
	     "(default: pg_config, PATH, /usr/lib/postgresql)",
	     &bindir, NULL, NULL, NULL},
	    {0, "allow-nonempty", NULL,
	     "accept a TEST_DATABASE_URL database that holds objects", NULL,
	     &allow_nonempty, NULL, NULL},
	    DB_OPTS_PRODUCTION(&o),
	    DB_OPTS_RUN(&o),
	    DB_OPTS_CONNECT(&o),
	    {0},
	};
	const struct nmig_usage usage = {
	    "test",
	    "",
	    "Test the migration history on a scratch database: a temporary\n"
	    "local PostgreSQL cluster that nmig starts and removes (or the\n"
	    "empty database of TEST_DATABASE_URL). Checks, each reported as\n"
	    "ok or FAIL with its time: a single head; the full upgrade; the\n"
	    "full downgrade returns the schema to where it started; a second\n"
	    "upgrade gives the schema of the first; the stairway (for each\n"
	    "revision: up, down, compare, up again). Schemas are compared by\n"
	    "a catalog fingerprint and a difference is shown as a diff.\n"
	    "Revisions without a down file stay applied, as do those of\n"
	    "--base. Exit 0 when every check passed, 1 when one failed, 3\n"
	    "for bad migration files, 5 when the scratch database cannot be\n"
	    "started, reached or used, 10 in production.",
	    opts,
	    "nmig test\n"
	    "nmig test --junit nmig-test.xml\n"
	    "nmig test --base 1686315964 --prelude setup.sql\n"
	    "TEST_DATABASE_URL=postgres://ci@localhost/scratch nmig test",
	};

	memset(&t, 0, sizeof(t));
	nmig_buf_init(&t.bad);
	t.g = g;
	t.t0 = nmig_clock_ms();
	rc = nmig_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc > 1) {
		nmig_errorf(g, "test takes no arguments, got '%s'", argv[1]);
		nmig_hintf(g, "see 'nmig test --help'");
		return NMIG_EXIT_USAGE;
	}
	if ((rc = db_init(&t.db, g, &o)) ||
	    (rc = db_production_guard(&t.db, "run 'nmig test'", &o)))
		return rc;
	if ((rc = nmig_load_graph(g, &t.set, &t.graph)))
		goto cleanup;
	t.n = nmig_graph_count(t.graph);
	t.up = calloc(t.n + 1, sizeof(*t.up));
	t.down = calloc(t.n + 1, sizeof(*t.down));
	t.mark = calloc(t.n + 1, 1);
	t.keep = calloc(t.n + 1, 1);
	t.cover = calloc(t.n + 1, 1);
	t.nodes = calloc(t.n + 1, sizeof(*t.nodes));
	t.steps = calloc(t.n + 1, sizeof(*t.steps));
	if (!t.up || !t.down || !t.mark || !t.keep || !t.cover || !t.nodes ||
	    !t.steps) {
		nmig_errorf(g, "out of memory");
		rc = NMIG_EXIT_FAILURE;
		goto cleanup;
	}
	if (t.n == 0) {
		if (!g->json)
			printf("nothing to test: '%s' holds no revisions\n",
			       t.set.dir);
		rc = finish(&t);
		if (t.junit && write_junit(&t, t.junit, NULL))
			rc = NMIG_EXIT_FAILURE;
		goto cleanup;
	}
	if ((rc = load_scripts(&t)) || (rc = plan_base(&t, &t.nirr))) {
		if (t.junit && rc == NMIG_EXIT_INPUT)
			write_junit(&t, t.junit, t.bad.ptr);
		goto cleanup;
	}
	nmig_buf_printf(&envpath, "%s/%s", g->cfg.root ? g->cfg.root : ".",
			NMIG_ENV_FILE);
	if (nmig_env_load(envpath.ptr, NULL)) {
		rc = nmig_report_error(g);
		goto cleanup;
	}
	install_signals(old);
	signals = 1;
	atexit(stop_cluster_at_exit);
	start = nmig_clock_ms();
	url = env_value("TEST_DATABASE_URL");
	err = url ? open_test_url(&t, url, allow_nonempty)
		  : open_cluster(&t, bindir);
	if (err || got_signal) {
		if (!err)
			nmig_error_set(NMIG_ERROR, "interrupted");
		rc = scratch_failed(&t);
		goto cleanup;
	}
	set_cancel(t.conn);
	print_header(&t, nmig_clock_ms() - start);
	check_head(&t);
	run_checks(&t);
	rc = finish(&t);
	if (t.junit && write_junit(&t, t.junit, NULL) && rc == NMIG_EXIT_OK)
		rc = NMIG_EXIT_FAILURE;
cleanup:
	tester_release(&t);
	if (signals)
		restore_signals(old);
	nmig_buf_release(&envpath);
	return rc;
}
