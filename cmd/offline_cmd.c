/*
 * The `--sql` path of upgrade, downgrade and stamp: from the command line
 * to a psql script (lib/offline.h builds it). The start state is a range
 * given on the command line, else the applied set the plan cache last
 * observed on the database the URL names, else base. The URL is parsed
 * (never used to connect, never printed) only to find that database's key
 * in the cache, the same key the online commands record under (db.c:
 * nmig_conn_where of the session they had).
 */
#include "offline_cmd.h"

#include <errno.h>
#include <pg_config_manual.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "conn.h"
#include "error.h"

#ifndef DEFAULT_PGSOCKET_DIR
#define DEFAULT_PGSOCKET_DIR ""
#endif

int offline_check_opts(struct cli_global *g, const char *cmd, int sql,
		       const char *output, int dry_run)
{
	if (output && !sql) {
		cli_errorf(g, "-o/--output needs --sql");
		cli_hintf(g,
			  "write the script with 'nmig %s TARGET --sql -o "
			  "FILE'",
			  cmd);
		return NMIG_EXIT_USAGE;
	}
	if (sql && dry_run) {
		cli_errorf(g, "--dry-run and --sql cannot be combined");
		cli_hintf(g, "--sql never touches the database: it prints "
			     "the script that would run");
		return NMIG_EXIT_USAGE;
	}
	return NMIG_EXIT_OK;
}

int offline_check_range(struct cli_global *g, const char *cmd,
			const char *target, int sql)
{
	if (sql || !target || !strchr(target, ':'))
		return NMIG_EXIT_OK;
	cli_errorf(g, "ranges such as '%s' are for --sql", target);
	cli_hintf(g,
		  "online, nmig starts from the state the database records: "
		  "'nmig %s %s'; or write a script for that range with "
		  "'nmig %s %s --sql'",
		  cmd, strchr(target, ':') + 1, cmd, target);
	return NMIG_EXIT_USAGE;
}

/* Append the first element of the comma-separated list s. */
static void first_of(struct nmig_buf *out, const char *s)
{
	nmig_buf_put(out, s, strcspn(s, ","));
}

/*
 * The database the URL names: its cache key into key and
 * `user@host:port/dbname` into where (a socket directory shown as
 * [local]: no local path goes into a script). The host is what libpq
 * would report for the session: the host, else the hostaddr, else
 * libpq's default socket directory. Returns 1 when a database is named, 0 when no URL and no
 * libpq variable is set (why says so), or a negative code with the last
 * error set (a malformed URL or .env).
 */
static int named_database(struct cli_global *g, struct nmig_buf *key,
			  struct nmig_buf *where, struct nmig_buf *why)
{
	struct nmig_buf host = NMIG_BUF_INIT, port = NMIG_BUF_INIT;
	struct nmig_conninfo ci;
	const char *url;
	int err;

	if ((err = db_find_url(g, &url)))
		return err;
	if (!url && !db_libpq_env_set()) {
		nmig_buf_printf(why,
				"no range given and no database named: '%s' "
				"is not set",
				db_url_var(g));
		return 0;
	}
	if ((err = nmig_conninfo_parse(&ci, url ? url : "")))
		return err;
	if (*ci.host)
		first_of(&host, ci.host);
	if (!host.len && *ci.hostaddr)
		first_of(&host, ci.hostaddr);
	if (!host.len)
		nmig_buf_puts(&host, *DEFAULT_PGSOCKET_DIR
					 ? DEFAULT_PGSOCKET_DIR
					 : "localhost");
	first_of(&port, ci.port);
	if (!port.len)
		nmig_buf_puts(&port, "5432");
	err = nmig_cache_dbkey(key, host.ptr, port.ptr, ci.dbname, ci.user);
	nmig_buf_printf(where, "%s@", ci.user);
	if (host.ptr[0] == '/' || host.ptr[0] == '@')
		nmig_buf_puts(where, "[local]");
	else if (strchr(host.ptr, ':'))
		nmig_buf_printf(where, "[%s]", host.ptr);
	else
		nmig_buf_puts(where, host.ptr);
	nmig_buf_printf(where, ":%s/%s", port.ptr, ci.dbname);
	nmig_conninfo_release(&ci);
	if (!err &&
	    (nmig_buf_oom(&host) || nmig_buf_oom(&port) || nmig_buf_oom(where)))
		err = nmig_error_set(NMIG_ENOMEM, "out of memory");
	nmig_buf_release(&host);
	nmig_buf_release(&port);
	return err ? err : 1;
}

/*
 * The start source when the spec is not a range: the applied set last
 * observed on the named database (obs filled, returns 1), or why the
 * start is base (returns 0): no database named, the cache off or
 * unusable, nothing observed. Negative: a libnmig code with the last
 * error set (a malformed URL or .env, out of memory).
 */
static int observed_state(struct cli_global *g, struct nmig_cache_applied *obs,
			  struct nmig_buf *where, struct nmig_buf *why)
{
	struct nmig_buf key = NMIG_BUF_INIT;
	struct cli_run_cache rc;
	int named, err = 0, found = 0;

	memset(obs, 0, sizeof(*obs));
	named = named_database(g, &key, where, why);
	if (named <= 0) {
		nmig_buf_release(&key);
		return named;
	}
	if (cli_run_cache_open(g, &rc) != NMIG_EXIT_OK) {
		/* Printed: out of memory. */
		cli_run_cache_close(g, &rc);
		nmig_buf_release(&key);
		return NMIG_ENOMEM;
	}
	if (!rc.cache) {
		nmig_buf_puts(why, g->no_cache || g->cfg.cache_off
				       ? "no range given and the plan cache is "
					 "off"
				       : "no range given and the plan cache "
					 "cannot be used");
	} else {
		err = nmig_cache_applied_get(rc.cache, key.ptr, obs);
		if (err == NMIG_OK) {
			found = 1;
		} else if (err == NMIG_ENOTFOUND) {
			err = 0;
			nmig_buf_puts(why, "no range given and no state "
					   "observed on ");
			nmig_offline_comment_text(why, where->ptr);
		}
	}
	cli_run_cache_close(g, &rc);
	nmig_buf_release(&key);
	return err < 0 ? err : found;
}

/* The JSON array of the heads of the set mark. */
static void json_heads(FILE *out, const struct nmig_graph *graph,
		       const unsigned char *mark)
{
	size_t count = nmig_graph_count(graph), i, j, nc, n = 0;
	const size_t *ch;

	fputc('[', out);
	for (i = 0; i < count; i++) {
		int head = mark[i];

		ch = nmig_graph_children(graph, i, &nc);
		for (j = 0; j < nc && head; j++)
			if (mark[ch[j]])
				head = 0;
		if (!head)
			continue;
		if (n++)
			fputc(',', out);
		cli_json_str(out, nmig_graph_rev(graph, i)->id);
	}
	fputc(']', out);
}

/* With --json (and -o): what was written. */
static void json_summary(const struct offline_args *a,
			 const struct nmig_graph *graph,
			 const struct nmig_offline_plan *p, size_t bytes)
{
	size_t i;

	fputs("{\"sql\":", stdout);
	cli_json_str(stdout, a->output);
	fprintf(stdout, ",\"command\":\"%s\",\"start\":",
		a->kind == NMIG_OFFLINE_UPGRADE	    ? "upgrade"
		: a->kind == NMIG_OFFLINE_DOWNGRADE ? "downgrade"
						    : "stamp");
	json_heads(stdout, graph, p->start);
	fputs(",\"start_reason\":", stdout);
	cli_json_str(stdout, p->start_desc);
	fputs(",\"end\":", stdout);
	json_heads(stdout, graph, p->end);
	fputs(",\"migrations\":[", stdout);
	for (i = 0; i < p->plan.n; i++) {
		const struct nmig_revision *rev =
		    nmig_graph_rev(graph, p->plan.steps[i]);

		fputs(i ? ",{\"revision\":" : "{\"revision\":", stdout);
		cli_json_str(stdout, rev->id);
		fputs(",\"message\":", stdout);
		cli_json_str(stdout, rev->message);
		fprintf(stdout, ",\"transactional\":%s}",
			rev->transactional ? "true" : "false");
	}
	fprintf(stdout, "],\"bytes\":%zu}\n", bytes);
}

/* Where a streamed script goes, and what loads its files. */
struct stream {
	FILE *f;
	struct nmig_buf tmp; /* the temporary file renamed at the end */
	const char *path;    /* -o FILE, NULL for standard output */
	const struct nmig_graph *g;
	const struct nmig_plan *plan;
	size_t cap;
	size_t bytes;
};

/* nmig_offline_opts.flush: write a piece of the script. */
static int stream_flush(void *ud, const char *text, size_t len)
{
	struct stream *st = ud;

	if (fwrite(text, 1, len, st->f) != len)
		return nmig_error_set(NMIG_EIO, "cannot write '%s': %s",
				      st->path ? st->path : "the script",
				      strerror(errno));
	st->bytes += len;
	return NMIG_OK;
}

/* The file step i runs (up, or down for a downgrade) loaded into sc. */
static int load_checked(const struct stream *st, size_t i,
			struct nmig_script *sc, int split)
{
	const struct nmig_revision *rev =
	    nmig_graph_rev(st->g, st->plan->steps[i]);
	const struct nmig_file_info *f =
	    st->plan->dir == NMIG_UP ? &rev->up : &rev->down;
	char sum[NMIG_SHA256_HEX];
	int err;

	if (!f->path)
		return nmig_error_set(NMIG_ESTATE,
				      "revision '%s' has no down file: it "
				      "cannot be reverted",
				      rev->id);
	if ((err = split ? nmig_script_load(sc, f->path, st->cap)
			 : nmig_script_read(sc, f->path, st->cap)))
		return err;
	nmig_checksum(sc->text, sc->len, sum);
	if (strcmp(sum, f->checksum) != 0) {
		nmig_script_release(sc);
		nmig_error_set(NMIG_EINPUT, "'%s' changed while nmig was running",
			       f->path);
		nmig_error_hint("run the command again");
		return NMIG_EINPUT;
	}
	return NMIG_OK;
}

/* nmig_offline_opts.load_step. */
static int stream_load(void *ud, size_t i, struct nmig_script *sc)
{
	/* checked by check_steps: the text is only copied now */
	return load_checked(ud, i, sc, 0);
}

/*
 * Check every file the script will hold before anything is written (one
 * file in memory at a time): syntax and transaction rules as online, and
 * the offline refusal of COPY FROM STDIN. Exit code.
 */
static int check_steps(struct cli_db *db, struct stream *st,
		       struct nmig_step *steps)
{
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	size_t i;
	int rc = NMIG_EXIT_OK;

	for (i = 0; i < st->plan->n; i++) {
		struct nmig_script sc;

		memset(&sc, 0, sizeof(sc));
		steps[i].rev = nmig_graph_rev(st->g, st->plan->steps[i]);
		steps[i].script = NULL;
		if (load_checked(st, i, &sc, 1)) {
			rc = db_fail(db);
			goto cleanup;
		}
		nmig_script_check(&sc, steps[i].rev->transactional, &diags);
		steps[i].script = &sc;
		if (!diags.errors && nmig_offline_check_step(&steps[i]))
			nmig_diags_add_last_error(&diags, "offline-copy");
		steps[i].script = NULL;
		nmig_script_release(&sc);
	}
	if (diags.errors) {
		cli_report_diags(db->g, &diags);
		cli_hintf(db->g, "nothing was written; fix the files above");
		rc = NMIG_EXIT_INPUT;
	} else if (diags.n && db->g->verbose) {
		cli_report_diags(db->g, &diags);
	}
cleanup:
	nmig_diags_release(&diags);
	return rc;
}

/* Open the output: a temporary file beside -o FILE, or standard output. */
static int stream_open(struct stream *st, const char *output)
{
	if (!output || strcmp(output, "-") == 0) {
		st->f = stdout;
		return NMIG_OK;
	}
	st->path = output;
	nmig_buf_printf(&st->tmp, "%s.tmp-%ld", output, (long)getpid());
	if (nmig_buf_oom(&st->tmp))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	st->f = fopen(st->tmp.ptr, "w");
	if (!st->f)
		return nmig_error_set(NMIG_EIO, "cannot write '%s': %s",
				      output, strerror(errno));
	return NMIG_OK;
}

/* Finish the output: rename the complete file into place, or drop it. */
static int stream_close(struct stream *st, int ok)
{
	int err = NMIG_OK;

	if (!st->f)
		return NMIG_OK;
	if (st->f == stdout) {
		if (fflush(stdout) != 0 && ok)
			err = nmig_error_set(NMIG_EIO,
					     "cannot write the script: %s",
					     strerror(errno));
	} else if (!ok) {
		fclose(st->f);
		remove(st->tmp.ptr);
	} else if (fclose(st->f) != 0 || rename(st->tmp.ptr, st->path) != 0) {
		err = nmig_error_set(NMIG_EIO, "cannot write '%s': %s",
				     st->path, strerror(errno));
		remove(st->tmp.ptr);
	}
	st->f = NULL;
	nmig_buf_release(&st->tmp);
	return err;
}

int offline_run(struct cli_global *g, const struct db_opts *o,
		const struct offline_args *a)
{
	struct stream st;
	struct cli_db db;
	struct nmig_offline_plan plan;
	struct nmig_offline_source src;
	struct nmig_offline_opts oo;
	struct nmig_cache_applied obs;
	struct nmig_vtable table;
	struct nmig_buf where = NMIG_BUF_INIT, why = NMIG_BUF_INIT;
	struct nmig_buf sql = NMIG_BUF_INIT;
	struct nmig_step *steps = NULL;
	int rc, err, have_plan = 0, have_table = 0;

	memset(&obs, 0, sizeof(obs));
	memset(&plan, 0, sizeof(plan));
	memset(&st, 0, sizeof(st));
	nmig_buf_init(&st.tmp);
	if (g->json && !a->output) {
		cli_errorf(g, "--json with --sql needs -o FILE: the script "
			      "goes to standard output");
		cli_hintf(g, "add -o FILE, or drop --json");
		return NMIG_EXIT_USAGE;
	}
	rc = db_init(&db, g, o);
	if (rc)
		return rc;
	if ((rc = db_load(&db)))
		goto cleanup;
	memset(&src, 0, sizeof(src));
	if (!strchr(a->spec, ':')) {
		err = observed_state(g, &obs, &where, &why);
		if (err < 0) {
			rc = db_fail(&db);
			goto cleanup;
		}
		if (err == 1) {
			src.observed = (const char *const *)obs.ids;
			src.nobserved = obs.n;
			src.observed_at = obs.observed_at;
			src.where = where.ptr;
		}
		src.base_why = why.ptr;
	}
	if (nmig_offline_plan_init(&plan, db.graph, a->kind, a->spec, &src,
				   a->purge)) {
		rc = db_fail(&db);
		goto cleanup;
	}
	have_plan = 1;
	st.g = db.graph;
	st.plan = &plan.plan;
	st.cap = g->cfg.max_file_size ? g->cfg.max_file_size
				      : NMIG_MAX_FILE_SIZE;
	steps = calloc(plan.plan.n ? plan.plan.n : 1, sizeof(*steps));
	if (!steps) {
		nmig_error_set(NMIG_ENOMEM, "out of memory");
		rc = db_fail(&db);
		goto cleanup;
	}
	if ((rc = check_steps(&db, &st, steps)))
		goto cleanup;
	if (nmig_vtable_init(&table, NULL, g->cfg.schema, g->cfg.table)) {
		rc = db_fail(&db);
		goto cleanup;
	}
	have_table = 1;
	memset(&oo, 0, sizeof(oo));
	oo.table = &table;
	oo.lock_timeout_ms = db.lock_timeout_ms;
	oo.statement_timeout_ms = db.statement_timeout_ms;
	oo.check_drift = !a->allow_drift;
	oo.nmig_version = NMIG_VERSION;
	oo.dir = db.set.dir ? db.set.dir : g->cfg.dir;
	oo.no_lock = o->no_lock;
	/* Streamed: one file in memory at a time, the script written as it
	 * grows (to a temporary file renamed into place at the end). */
	oo.flush = stream_flush;
	oo.load_step = stream_load;
	oo.ud = &st;
	if (stream_open(&st, a->output)) {
		cli_report_error(g);
		rc = NMIG_EXIT_FAILURE;
		goto cleanup;
	}
	err = nmig_offline_emit(&sql, db.graph, &plan, steps, &oo);
	if (err) {
		struct nmig_error saved = *nmig_error_last();

		stream_close(&st, 0);
		nmig_error_restore(&saved);
		/* A write failure is not the files' fault: exit 1. */
		rc = err == NMIG_EIO ? (cli_report_error(g), NMIG_EXIT_FAILURE)
				     : db_fail(&db);
		goto cleanup;
	}
	if (stream_close(&st, 1)) {
		cli_report_error(g);
		rc = NMIG_EXIT_FAILURE;
		goto cleanup;
	}
	if (g->json) {
		json_summary(a, db.graph, &plan, st.bytes);
	} else {
		size_t n = plan.plan.n;

		if (a->output && strcmp(a->output, "-") != 0)
			cli_infof(g, "wrote '%s'", a->output);
		if (a->kind == NMIG_OFFLINE_STAMP)
			cli_infof(g, "offline stamp: start %s",
				  plan.start_desc);
		else
			cli_infof(g,
				  "offline %s: %zu migration%s to %s; "
				  "start %s",
				  a->kind == NMIG_OFFLINE_UPGRADE ? "upgrade"
								  : "downgrade",
				  n, n == 1 ? "" : "s",
				  a->kind == NMIG_OFFLINE_UPGRADE ? "apply"
								  : "revert",
				  plan.start_desc);
		cli_infof(g, "run it with: psql -X -v ON_ERROR_STOP=1 -f %s",
			  a->output && strcmp(a->output, "-") != 0 ? a->output
								   : "FILE");
	}
cleanup:
	if (st.f)
		stream_close(&st, 0);
	nmig_buf_release(&st.tmp);
	free(steps);
	if (have_table)
		nmig_vtable_release(&table);
	if (have_plan)
		nmig_offline_plan_release(&plan);
	nmig_cache_applied_release(&obs);
	nmig_buf_release(&where);
	nmig_buf_release(&why);
	nmig_buf_release(&sql);
	db_release(&db);
	return rc;
}
