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

int offline_check_opts(struct nmig_global *g, const char *cmd, int sql,
		       const char *output, int dry_run)
{
	if (output && !sql) {
		nmig_errorf(g, "-o/--output needs --sql");
		nmig_hintf(g,
			   "write the script with 'nmig %s TARGET --sql -o "
			   "FILE'",
			   cmd);
		return NMIG_EXIT_USAGE;
	}
	if (sql && dry_run) {
		nmig_errorf(g, "--dry-run and --sql cannot be combined");
		nmig_hintf(g, "--sql never touches the database: it prints "
			      "the script that would run");
		return NMIG_EXIT_USAGE;
	}
	return NMIG_EXIT_OK;
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
static int named_database(struct nmig_global *g, struct nmig_buf *key,
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
static int observed_state(struct nmig_global *g, struct nmig_cache_applied *obs,
			  struct nmig_buf *where, struct nmig_buf *why)
{
	struct nmig_buf key = NMIG_BUF_INIT;
	struct nmig_run_cache rc;
	int named, err = 0, found = 0;

	memset(obs, 0, sizeof(*obs));
	named = named_database(g, &key, where, why);
	if (named <= 0) {
		nmig_buf_release(&key);
		return named;
	}
	if (nmig_run_cache_open(g, &rc) != NMIG_EXIT_OK) {
		/* Printed: out of memory. */
		nmig_run_cache_close(g, &rc);
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
	nmig_run_cache_close(g, &rc);
	nmig_buf_release(&key);
	return err < 0 ? err : found;
}

/* Write the n bytes of s to path, replacing it only once all is written. */
static int write_file(const char *path, const char *s, size_t n)
{
	struct nmig_buf tmp = NMIG_BUF_INIT;
	FILE *f;
	int err = NMIG_OK;

	nmig_buf_printf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	if (nmig_buf_oom(&tmp))
		return nmig_error_set(NMIG_ENOMEM, "out of memory");
	f = fopen(tmp.ptr, "w");
	if (!f) {
		err = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
				     strerror(errno));
		goto cleanup;
	}
	if (fwrite(s, 1, n, f) != n || fflush(f) != 0) {
		err = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
				     strerror(errno));
		fclose(f);
		remove(tmp.ptr);
		goto cleanup;
	}
	if (fclose(f) != 0 || rename(tmp.ptr, path) != 0) {
		err = nmig_error_set(NMIG_EIO, "cannot write '%s': %s", path,
				     strerror(errno));
		remove(tmp.ptr);
	}
cleanup:
	nmig_buf_release(&tmp);
	return err;
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
		nmig_json_str(out, nmig_graph_rev(graph, i)->id);
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
	nmig_json_str(stdout, a->output);
	fprintf(stdout, ",\"command\":\"%s\",\"start\":",
		a->kind == NMIG_OFFLINE_UPGRADE	    ? "upgrade"
		: a->kind == NMIG_OFFLINE_DOWNGRADE ? "downgrade"
						    : "stamp");
	json_heads(stdout, graph, p->start);
	fputs(",\"start_reason\":", stdout);
	nmig_json_str(stdout, p->start_desc);
	fputs(",\"end\":", stdout);
	json_heads(stdout, graph, p->end);
	fputs(",\"migrations\":[", stdout);
	for (i = 0; i < p->plan.n; i++) {
		const struct nmig_revision *rev =
		    nmig_graph_rev(graph, p->plan.steps[i]);

		fputs(i ? ",{\"revision\":" : "{\"revision\":", stdout);
		nmig_json_str(stdout, rev->id);
		fputs(",\"message\":", stdout);
		nmig_json_str(stdout, rev->message);
		fprintf(stdout, ",\"transactional\":%s}",
			rev->transactional ? "true" : "false");
	}
	fprintf(stdout, "],\"bytes\":%zu}\n", bytes);
}

int offline_run(struct nmig_global *g, const struct db_opts *o,
		const struct offline_args *a)
{
	struct nmig_db db;
	struct nmig_offline_plan plan;
	struct nmig_offline_source src;
	struct nmig_offline_opts oo;
	struct nmig_cache_applied obs;
	struct nmig_vtable table;
	struct nmig_buf where = NMIG_BUF_INIT, why = NMIG_BUF_INIT;
	struct nmig_buf sql = NMIG_BUF_INIT;
	struct nmig_script *scripts = NULL;
	struct nmig_step *steps = NULL;
	int rc, err, have_plan = 0, have_table = 0;

	memset(&obs, 0, sizeof(obs));
	memset(&plan, 0, sizeof(plan));
	if (g->json && !a->output) {
		nmig_errorf(g, "--json with --sql needs -o FILE: the script "
			       "goes to standard output");
		nmig_hintf(g, "add -o FILE, or drop --json");
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
	if (plan.plan.n &&
	    (rc = db_load_steps(&db, &plan.plan, &scripts, &steps)))
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
	if (nmig_offline_emit(&sql, db.graph, &plan, steps, &oo)) {
		rc = db_fail(&db);
		goto cleanup;
	}
	if (a->output && strcmp(a->output, "-") != 0) {
		if (write_file(a->output, sql.ptr, sql.len)) {
			/* Not the files' fault: a generic failure (1). */
			nmig_report_error(g);
			rc = NMIG_EXIT_FAILURE;
			goto cleanup;
		}
	} else if (fwrite(sql.ptr, 1, sql.len, stdout) != sql.len ||
		   fflush(stdout) != 0) {
		nmig_errorf(g, "cannot write the script: %s", strerror(errno));
		rc = NMIG_EXIT_FAILURE;
		goto cleanup;
	}
	if (g->json) {
		json_summary(a, db.graph, &plan, sql.len);
	} else {
		size_t n = plan.plan.n;

		if (a->output && strcmp(a->output, "-") != 0)
			nmig_infof(g, "wrote '%s'", a->output);
		if (a->kind == NMIG_OFFLINE_STAMP)
			nmig_infof(g, "offline stamp: start %s",
				   plan.start_desc);
		else
			nmig_infof(g,
				   "offline %s: %zu migration%s to %s; "
				   "start %s",
				   a->kind == NMIG_OFFLINE_UPGRADE
				       ? "upgrade"
				       : "downgrade",
				   n, n == 1 ? "" : "s",
				   a->kind == NMIG_OFFLINE_UPGRADE ? "apply"
								   : "revert",
				   plan.start_desc);
		nmig_infof(g, "run it with: psql -X -v ON_ERROR_STOP=1 -f %s",
			   a->output && strcmp(a->output, "-") != 0 ? a->output
								    : "FILE");
	}
cleanup:
	db_free_steps(scripts, steps, plan.plan.n);
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
