/*
 * nmig test: the CI roundtrip of a migration history on a scratch
 * database, run by nmig_testrun (lib/testrun.h): an ephemeral local
 * cluster, or TEST_DATABASE_URL. This file holds the options, the signal
 * handlers (SIGINT/SIGTERM cancel the running query and remove the
 * cluster before exiting), and the printing: each check as ok/FAIL/skip
 * with its time as it finishes, the summary line or one JSON object, and
 * `--junit FILE`, JUnit XML for CI, written from the results.
 */
#include "commands.h"
#include "db.h"

#include <signal.h>
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
#include "testrun.h"

/* The command's printing state, the ud of the callbacks. */
struct test_cli {
	struct cli_global *g;
	const char *dir; /* the migrations directory, for the header */
	double t0;	 /* when the command started */
	int live;	 /* a progress line is on the terminal */
	int tty;	 /* stdout is a terminal (the stairway's progress) */
	int diags_shown; /* the files' findings are printed */
	const struct nmig_graph *graph;
};

/* Set by the signal handler: the signal number. */
static volatile sig_atomic_t got_signal;
/* The cluster to kill on a second signal, or stop at exit. */
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

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

static void clear_live(struct test_cli *tc)
{
	if (tc->live) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
		tc->live = 0;
	}
}

/* The cluster as it starts and stops (for the signal handler). */
static void on_cluster(void *ud, struct nmig_cluster *c)
{
	(void)ud;
	live_cluster = c;
}

/* Server notices: shown with -v only. */
static void on_notice(void *ud, const char *severity, const char *message)
{
	struct test_cli *tc = ud;
	size_t len = strlen(message);

	while (len && message[len - 1] == '\n')
		len--;
	if (tc->g->verbose && !tc->g->quiet) {
		clear_live(tc);
		cli_infof(tc->g, "%s: %.*s", severity, (int)len, message);
	}
}

/* The connection policy's warnings. */
static void on_diags(void *ud, const struct nmig_diags *d)
{
	struct test_cli *tc = ud;

	if (!tc->g->quiet)
		cli_report_diags(tc->g, d);
}

/* Each migration with -v; a lock-timeout retry always. */
static void on_event(void *ud, enum nmig_direction dir,
		     const struct nmig_exec_event *ev)
{
	struct test_cli *tc = ud;

	if (ev->kind == NMIG_EXEC_DONE) {
		if (tc->g->verbose && !tc->g->quiet) {
			clear_live(tc);
			cli_infof(tc->g, "  %s %s %s (%.0f ms)",
				  dir == NMIG_UP ? "applied" : "reverted",
				  ev->rev->id, ev->rev->message, ev->ms);
		}
	} else if (ev->kind == NMIG_EXEC_RETRY) {
		clear_live(tc);
		cli_warnf(tc->g,
			  "migration %s hit a lock timeout; retrying in "
			  "%.1f s (retry %d)",
			  ev->rev->id, ev->wait_ms / 1000.0, ev->attempt);
	}
}

/* The stairway's progress line, on a terminal. */
static void on_step(void *ud, size_t i, size_t total, const char *id)
{
	struct test_cli *tc = ud;

	if (!tc->tty)
		return;
	printf("\r\033[Kstairway %zu/%zu %s", i, total, id);
	fflush(stdout);
	tc->live = 1;
}

/* Print one check line (and the details of a failure). */
static void on_check(void *ud, const struct nmig_testrun_check *c)
{
	struct test_cli *tc = ud;
	struct cli_global *g = tc->g;
	const char *p;

	if (g->json)
		return;
	clear_live(tc);
	if (c->status == NMIG_TESTRUN_PASS && g->quiet)
		return;
	if (c->status == NMIG_TESTRUN_PASS)
		printf("%sok%s   ", cli_c_green(g), cli_c_reset(g));
	else if (c->status == NMIG_TESTRUN_FAIL)
		printf("%sFAIL%s ", cli_c_red(g), cli_c_reset(g));
	else
		printf("%sskip%s ", cli_c_yellow(g), cli_c_reset(g));
	printf("%s ", c->name);
	cli_put_safe(stdout, c->summary.ptr);
	fputc('\n', stdout);
	for (p = c->details.ptr; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len);

		fputs("     ", stdout);
		cli_put_safe(stdout, line ? line : "");
		fputc('\n', stdout);
		free(line);
		p += len;
		if (*p)
			p++;
	}
	fflush(stdout);
}

/* The files' warnings with -v (once). */
static void show_diags(struct test_cli *tc, const struct nmig_diags *d)
{
	if (!tc->diags_shown && d->n && tc->g->verbose)
		cli_report_diags(tc->g, d);
	tc->diags_shown = 1;
}

/* The files are checked and the base planned: say what stays applied. */
static void on_plan(void *ud, const struct nmig_testrun_result *r)
{
	struct test_cli *tc = ud;
	struct cli_global *g = tc->g;
	struct nmig_buf list = NMIG_BUF_INIT;
	size_t i, k = r->nirreversible;

	show_diags(tc, &r->diags);
	if (!k || g->json)
		return;
	for (i = 0; i < k && i < 5; i++)
		nmig_buf_printf(&list, "%s%s", i ? ", " : "",
				nmig_graph_rev(tc->graph, r->irreversible[i])->id);
	if (k > 5)
		nmig_buf_printf(&list, " and %zu more", k - 5);
	cli_infof(g,
		  "note: %zu revision%s %s no down file (%s): the descent "
		  "ends there; %s and %s ancestors stay applied and the "
		  "roundtrip covers the %zu revision%s above",
		  k, plural(k), k == 1 ? "has" : "have", list.ptr,
		  k == 1 ? "it" : "they", k == 1 ? "its" : "their", r->ncovered,
		  plural(r->ncovered));
	nmig_buf_release(&list);
}

/* Print the header line: what is tested where. */
static void on_ready(void *ud, const struct nmig_testrun_result *r)
{
	struct test_cli *tc = ud;
	size_t n = nmig_graph_count(tc->graph);

	if (tc->g->quiet || tc->g->json)
		return;
	printf("testing %zu revision%s in '", n, plural(n));
	cli_put_safe(stdout, tc->dir);
	if (r->on_cluster)
		printf("' on a temporary PostgreSQL %s cluster (started in "
		       "%.2f s)\n",
		       r->version ? r->version : "", r->start_ms / 1000.0);
	else
		printf("' on TEST_DATABASE_URL (%s)\n", r->display);
	fflush(stdout);
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
 * Write the JUnit XML report of r to path (through a temporary file
 * renamed into place). setup_error, when not NULL, is the reason the
 * checks could not run at all (one erroring test case). Returns 0, or -1
 * after printing why the file could not be written.
 */
static int write_junit(struct test_cli *tc, const struct nmig_testrun_result *r,
		       const char *path, const char *setup_error)
{
	struct nmig_buf tmp = NMIG_BUF_INIT;
	size_t i, ntests = setup_error ? 1 : r->nchecks;
	double secs = (nmig_clock_ms() - tc->t0) / 1000.0;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	int ok;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	nmig_buf_printf(&tmp, "%s.tmp%ld", path, (long)getpid());
	f = fopen(tmp.ptr, "w");
	if (!f) {
		cli_errorf(tc->g, "cannot write '%s'", tmp.ptr);
		nmig_buf_release(&tmp);
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<testsuites name=\"nmig test\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"%d\" skipped=\"%zu\" "
		"time=\"%.3f\">\n",
		ntests, r->failed, setup_error ? 1 : 0, r->skipped, secs);
	fprintf(f, "  <testsuite name=\"");
	put_xml(f, tc->dir ? tc->dir : "migrations");
	fprintf(f,
		"\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" "
		"skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\">\n",
		ntests, r->failed, setup_error ? 1 : 0, r->skipped, secs,
		stamp);
	if (setup_error) {
		fprintf(f, "    <testcase classname=\"nmig.test\" "
			   "name=\"setup\" time=\"0\">\n      <error "
			   "message=\"");
		put_xml(f, setup_error);
		fprintf(f, "\"/>\n    </testcase>\n");
	}
	for (i = 0; !setup_error && i < r->nchecks; i++) {
		const struct nmig_testrun_check *c = &r->checks[i];

		fprintf(f, "    <testcase classname=\"nmig.test\" name=\"");
		put_xml(f, c->name);
		fprintf(f, "\" time=\"%.3f\"", c->ms / 1000.0);
		if (c->status == NMIG_TESTRUN_PASS) {
			fprintf(f, "/>\n");
			continue;
		}
		fprintf(f, ">\n      <%s message=\"",
			c->status == NMIG_TESTRUN_FAIL ? "failure" : "skipped");
		put_xml(f, c->name);
		fputc(' ', f);
		put_xml(f, c->summary.ptr);
		if (c->status == NMIG_TESTRUN_SKIP) {
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
		cli_errorf(tc->g, "cannot write '%s'", path);
		unlink(tmp.ptr);
		nmig_buf_release(&tmp);
		return -1;
	}
	nmig_buf_release(&tmp);
	return 0;
}

/* The --json report: one object. */
static void print_json(struct test_cli *tc, const struct nmig_testrun_result *r,
		       int exit_code)
{
	size_t i;

	printf("{\"revisions\":%zu,\"database\":\"%s\",\"checks\":[",
	       nmig_graph_count(tc->graph),
	       r->on_cluster ? "temporary cluster" : "TEST_DATABASE_URL");
	for (i = 0; i < r->nchecks; i++) {
		const struct nmig_testrun_check *c = &r->checks[i];

		printf("%s{\"name\":", i ? "," : "");
		cli_json_str(stdout, c->name);
		printf(",\"status\":\"%s\",\"seconds\":%.3f,\"summary\":",
		       nmig_testrun_status_name(c->status), c->ms / 1000.0);
		cli_json_str(stdout, c->summary.ptr);
		printf(",\"details\":");
		cli_json_str(stdout, c->details.ptr);
		putchar('}');
	}
	printf("],\"passed\":%zu,\"failed\":%zu,\"not_run\":%zu,"
	       "\"seconds\":%.3f,\"exit\":%d}\n",
	       r->passed, r->failed, r->skipped,
	       (nmig_clock_ms() - tc->t0) / 1000.0, exit_code);
}

/* Print the summary line (or JSON) and return the exit code. */
static int finish(struct test_cli *tc, const struct nmig_testrun_result *r)
{
	int rc;

	if (got_signal)
		rc = 128 + got_signal;
	else if (r->lost)
		rc = NMIG_EXIT_CONNECT;
	else
		rc = r->failed ? NMIG_EXIT_FAILURE : NMIG_EXIT_OK;
	if (tc->g->json) {
		print_json(tc, r, rc);
	} else {
		clear_live(tc);
		printf("%zu passed, %zu failed", r->passed, r->failed);
		if (r->skipped)
			printf(", %zu not run", r->skipped);
		printf(" (%.2f s)\n", (nmig_clock_ms() - tc->t0) / 1000.0);
	}
	fflush(stdout);
	if (got_signal)
		cli_errorf(tc->g, "interrupted (signal %d)%s", (int)got_signal,
			   r->on_cluster ? ": the scratch cluster is removed"
					 : "");
	return rc;
}

/* The first error among the files' findings, "file:line:col: message". */
static void first_bad(const struct nmig_diags *d, struct nmig_buf *out)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct nmig_diag *x = &d->items[i];

		if (x->severity != NMIG_SEV_ERROR)
			continue;
		if (x->file)
			nmig_buf_printf(out, "%s:%d:%d: ", x->file, x->line,
					x->col);
		nmig_buf_puts(out, x->message);
		return;
	}
}

/*
 * nmig_testrun returned err: print why and write the JUnit file of the
 * setup failure. Returns the exit code.
 */
static int run_failed(struct test_cli *tc, const struct nmig_testrun_result *r,
		      const char *junit)
{
	struct cli_global *g = tc->g;
	struct nmig_buf bad = NMIG_BUF_INIT;
	int code = nmig_error_last()->code, rc;

	if (r->stage == NMIG_TESTRUN_FILES) {
		first_bad(&r->diags, &bad);
		cli_report_diags(g, &r->diags);
		cli_hintf(g, "nothing was run; fix the files above");
		if (junit)
			write_junit(tc, r, junit, bad.ptr);
		nmig_buf_release(&bad);
		return NMIG_EXIT_INPUT;
	}
	if (r->stage == NMIG_TESTRUN_PLAN) {
		show_diags(tc, &r->diags);
		return cli_report_error(g);
	}
	/* the scratch database could not be had */
	cli_report_error(g);
	if (junit)
		write_junit(tc, r, junit, nmig_error_last()->message);
	if (code == NMIG_ENOMEM)
		rc = NMIG_EXIT_FAILURE;
	else
		rc = got_signal ? 128 + got_signal : NMIG_EXIT_CONNECT;
	return rc;
}

int cmd_test(struct cli_global *g, int argc, char **argv)
{
	struct db_opts o = {0};
	struct cli_db db;
	struct nmig_testrun_opts to;
	struct nmig_testrun_result r;
	struct test_cli tc;
	struct nmig_revset set;
	struct nmig_graph *graph = NULL;
	struct sigaction old[NSIGNALS];
	const char *bindir = NULL, *junit = NULL;
	struct nmig_buf envpath = NMIG_BUF_INIT;
	int allow_nonempty = 0, rc, err;
	const struct cli_opt opts[] = {
	    {0, "junit", "FILE", "write the results as JUnit XML to FILE",
	     &junit, NULL, NULL, NULL},
	    {0, "base", "REV",
	     "keep REV and its ancestors applied (squashed roots); the "
	     "roundtrip starts above them",
	     &to.base, NULL, NULL, NULL},
	    {0, "prelude", "FILE",
	     "run this SQL file on the scratch database first", &to.prelude,
	     NULL, NULL, NULL},
	    {0, "no-stairway", NULL, "skip the stairway (the slowest check)",
	     NULL, &to.no_stairway, NULL, NULL},
	    {0, "ignore-column-order", NULL,
	     "compare columns without their positions (a column a down "
	     "file re-adds goes last)",
	     NULL, &to.ignore_column_order, NULL, NULL},
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
	const struct cli_usage usage = {
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

	memset(&to, 0, sizeof(to));
	memset(&tc, 0, sizeof(tc));
	memset(&set, 0, sizeof(set));
	nmig_testrun_result_init(&r);
	tc.g = g;
	tc.t0 = nmig_clock_ms();
	rc = cli_opts_parse(&usage, &argc, argv);
	if (rc)
		return rc == 1 ? NMIG_EXIT_OK : rc;
	if (argc > 1) {
		cli_errorf(g, "test takes no arguments, got '%s'", argv[1]);
		cli_hintf(g, "see 'nmig test --help'");
		return NMIG_EXIT_USAGE;
	}
	if ((rc = db_init(&db, g, &o)) ||
	    (rc = db_production_guard(&db, "run 'nmig test'", &o)))
		return rc;
	if ((rc = cli_load_graph(g, &set, &graph)))
		goto cleanup;
	tc.dir = set.dir;
	tc.graph = graph;
	tc.tty = isatty(STDOUT_FILENO) && !g->quiet && !g->json;
	if (nmig_graph_count(graph) == 0) {
		if (!g->json)
			printf("nothing to test: '%s' holds no revisions\n",
			       set.dir);
		rc = finish(&tc, &r);
		if (junit && write_junit(&tc, &r, junit, NULL))
			rc = NMIG_EXIT_FAILURE;
		goto cleanup;
	}
	nmig_buf_printf(&envpath, "%s/%s", g->cfg.root ? g->cfg.root : ".",
			NMIG_ENV_FILE);
	to.allow_nonempty = allow_nonempty;
	to.env_file = envpath.ptr;
	to.url_env = g->cfg.url_env;
	to.bindir = bindir;
	to.schema = g->cfg.schema;
	to.table = g->cfg.table;
	to.max_file_size = g->cfg.max_file_size;
	to.connect_timeout_ms = db.connect_timeout_ms;
	to.allow_insecure = db.allow_insecure;
	to.lock_wait_ms = db.lock_wait_ms;
	to.lock_timeout_ms = db.lock_timeout_ms;
	to.statement_timeout_ms = db.statement_timeout_ms;
	to.lock_retries = db.lock_retries;
	to.interrupted = &got_signal;
	to.on_plan = on_plan;
	to.on_diags = on_diags;
	to.on_cluster = on_cluster;
	to.on_ready = on_ready;
	to.on_check = on_check;
	to.on_event = on_event;
	to.on_step = on_step;
	to.on_notice = on_notice;
	to.ud = &tc;
	install_signals(old);
	atexit(stop_cluster_at_exit);
	err = nmig_testrun(&r, graph, &to);
	restore_signals(old);
	if (err) {
		rc = run_failed(&tc, &r, junit);
	} else {
		rc = finish(&tc, &r);
		if (junit && write_junit(&tc, &r, junit, NULL) &&
		    rc == NMIG_EXIT_OK)
			rc = NMIG_EXIT_FAILURE;
	}
	if (r.display && g->verbose)
		cli_infof(g, "round trips: %ld", r.roundtrips);
	if (r.stop_error)
		cli_warnf(g, "%s", r.stop_error);
cleanup:
	nmig_testrun_result_release(&r);
	nmig_graph_free(graph);
	nmig_revset_release(&set);
	nmig_buf_release(&envpath);
	return rc;
}
