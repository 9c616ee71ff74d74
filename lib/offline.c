/*
 * Offline SQL scripts for upgrade, downgrade and stamp (see offline.h):
 * working out the start state and what the database must hold, then
 * writing the psql script -- settings that make psql stop at the first
 * error, the migration lock, the version table (from base), a start guard
 * that checks the whole precondition in one query before anything
 * changes, and per migration a guard and the same statements the engine
 * (exec.c) sends. Every value goes into the script as a quoted literal
 * (nmig_sql_literal); guards are DO blocks whose dollar-quote tag is
 * chosen to occur nowhere in their body; comments carry only sanitised
 * text. Everything is linear in the number of revisions, edges and bytes
 * of migration text.
 */
#include "offline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "error.h"
#include "sqlscript.h"

/* Heads listed in a header line before "and N more". */
#define HEADS_MAX 8

/* Set the last error to out of memory and return NMIG_ENOMEM. */
static int oom(void)
{
	return nmig_error_set(NMIG_ENOMEM, "out of memory");
}

void nmig_offline_comment_text(struct nmig_buf *out, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	while (*p) {
		size_t n = nmig_text_utf8_seq(p, SIZE_MAX, NULL);

		if (n == 0 || *p < 0x20 || *p == 0x7f) {
			nmig_buf_putc(out, '?');
			p++;
			continue;
		}
		nmig_buf_put(out, p, n);
		p += n;
	}
}

/* Append text sanitised as for a comment, as an SQL literal. */
static void safe_literal(struct nmig_buf *out, const char *text)
{
	struct nmig_buf s = NMIG_BUF_INIT;

	nmig_offline_comment_text(&s, text);
	if (nmig_buf_oom(&s))
		out->oom = 1;
	else
		nmig_sql_literal(out, s.ptr);
	nmig_buf_release(&s);
}

/*
 * Append the heads of the set mark (marked, no marked child) as
 * "a, b, c", at most HEADS_MAX of them, or "base" for the empty set.
 */
static void put_heads(struct nmig_buf *b, const struct nmig_graph *g,
		      const unsigned char *mark)
{
	size_t count = nmig_graph_count(g), n, i;
	size_t *heads = malloc((count ? count : 1) * sizeof(*heads));

	if (!heads) {
		b->oom = 1;
		return;
	}
	n = nmig_graph_marked_heads(g, mark, heads);
	for (i = 0; i < n && i < HEADS_MAX; i++) {
		if (i)
			nmig_buf_puts(b, ", ");
		nmig_offline_comment_text(b, nmig_graph_rev(g, heads[i])->id);
	}
	if (!n)
		nmig_buf_puts(b, "base");
	if (n > HEADS_MAX)
		nmig_buf_printf(b, " and %zu more", n - (size_t)HEADS_MAX);
	free(heads);
}

void nmig_offline_plan_release(struct nmig_offline_plan *p)
{
	nmig_plan_release(&p->plan);
	free(p->start);
	free(p->end);
	free(p->want);
	free(p->start_desc);
	free(p->spec);
	free(p->target);
	memset(p, 0, sizeof(*p));
}

/*
 * Take the start state from the applied set last observed (src) into
 * p->start, and say so in why. NMIG_ESTATE when that set names revisions
 * without files or is not ancestor-closed.
 */
static int observed_start(struct nmig_offline_plan *p,
			  const struct nmig_graph *g,
			  const struct nmig_offline_source *src,
			  struct nmig_buf *why)
{
	struct nmig_applied a;
	char when[64] = "";
	struct tm tm;
	time_t t = (time_t)src->observed_at;
	const char *where = src->where ? src->where : "the database";
	int err;

	err = nmig_applied_init(&a, g, src->observed, src->nobserved);
	if (err == NMIG_ENOMEM || !a.mark) {
		nmig_applied_release(&a);
		return err ? err : oom();
	}
	if (err) {
		struct nmig_error e = *nmig_error_last();

		nmig_error_set(NMIG_ESTATE,
			       "the state last observed on %s cannot be a "
			       "start: %s",
			       where, e.message);
	} else if (a.nunknown) {
		err = nmig_error_set(NMIG_ESTATE,
				     "the state last observed on %s has "
				     "revision '%s' applied, which has no "
				     "migration file",
				     where, a.unknown[0]);
	}
	if (err) {
		nmig_error_hint("give the start as a range, e.g. 'START:%s', "
				"or check the database with 'nmig current'",
				p->target);
		nmig_applied_release(&a);
		return err;
	}
	memcpy(p->start, a.mark, nmig_graph_count(g));
	nmig_applied_release(&a);
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), " at %Y-%m-%d %H:%M UTC", &tm);
	nmig_buf_puts(why, "last observed on ");
	nmig_offline_comment_text(why, where);
	nmig_buf_printf(why, "%s, plan cache", when);
	return NMIG_OK;
}

/* Fill p->want with what the plan needs of the database (see below). */
static int compute_want(struct nmig_offline_plan *p, const struct nmig_graph *g,
			const size_t *tnodes, size_t tn, int relative,
			int purge)
{
	size_t count = nmig_graph_count(g), i, j, k, np;
	const size_t *par;
	unsigned char *desc;

	if (p->kind == NMIG_OFFLINE_STAMP && purge) {
		/* Reaches the target from any state: nothing to require. */
		p->any_state = 1;
		return NMIG_OK;
	}
	/*
	 * Exact: stamp (its deletions and insertions are a difference from
	 * the start), targets relative to the applied set (+N, -N), and
	 * downgrades to base (everything applied is reverted).
	 */
	if (p->kind == NMIG_OFFLINE_STAMP || relative ||
	    (p->kind == NMIG_OFFLINE_DOWNGRADE && tn == 0)) {
		p->exact = 1;
		for (i = 0; i < count; i++)
			p->want[i] =
			    p->start[i] ? NMIG_WANT_APPLIED : NMIG_WANT_ABSENT;
		return NMIG_OK;
	}
	if (p->kind == NMIG_OFFLINE_UPGRADE) {
		/*
		 * None of the plan recorded, every parent outside it applied:
		 * then the online upgrade, from whatever else is applied,
		 * would run exactly the plan.
		 */
		for (k = 0; k < p->plan.n; k++)
			p->want[p->plan.steps[k]] = NMIG_WANT_ABSENT;
		for (k = 0; k < p->plan.n; k++) {
			par = nmig_graph_parents(g, p->plan.steps[k], &np);
			for (j = 0; j < np; j++)
				if (p->want[par[j]] != NMIG_WANT_ABSENT)
					p->want[par[j]] = NMIG_WANT_APPLIED;
		}
		return NMIG_OK;
	}
	/*
	 * Downgrade to a revision: every step applied and no other strict
	 * descendant of the target applied -- the online downgrade would
	 * revert exactly the steps.
	 */
	desc = calloc(count ? count : 1, 1);
	if (!desc)
		return oom();
	nmig_graph_mark_descendants(g, tnodes, tn, desc);
	for (k = 0; k < tn; k++)
		desc[tnodes[k]] = 0;
	for (i = 0; i < count; i++)
		if (desc[i])
			p->want[i] = NMIG_WANT_ABSENT;
	for (k = 0; k < p->plan.n; k++)
		p->want[p->plan.steps[k]] = NMIG_WANT_APPLIED;
	free(desc);
	return NMIG_OK;
}

int nmig_offline_plan_init(struct nmig_offline_plan *out,
			   const struct nmig_graph *g,
			   enum nmig_offline_kind kind, const char *spec,
			   const struct nmig_offline_source *src, int purge)
{
	size_t count = nmig_graph_count(g), alloc = count ? count : 1;
	size_t *nodes = NULL, *tnodes = NULL, n = 0, tn = 0, i, k;
	struct nmig_buf why = NMIG_BUF_INIT, desc = NMIG_BUF_INIT;
	struct nmig_applied applied;
	char *from = NULL;
	int err = NMIG_OK, relative;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->start = calloc(alloc, 1);
	out->end = calloc(alloc, 1);
	out->want = calloc(alloc, 1);
	out->spec = strdup(spec);
	if (!out->start || !out->end || !out->want || !out->spec) {
		err = oom();
		goto cleanup;
	}
	if (strchr(spec, ':')) {
		if ((err = nmig_range_parse(spec, &from, &out->target)))
			goto cleanup;
		if (from) {
			err = nmig_target_resolve(g, NULL, 0, from, &nodes, &n);
			if (err)
				goto cleanup;
			nmig_graph_mark_ancestors(g, nodes, n, out->start);
		}
		nmig_buf_puts(&why, "from the range given");
		if (!out->target && kind != NMIG_OFFLINE_UPGRADE) {
			err = nmig_error_set(NMIG_EUSAGE,
					     "range '%s' has no end: say where "
					     "to go",
					     spec);
			nmig_error_hint("write START:TARGET, e.g. '%sbase'",
					spec);
			goto cleanup;
		}
		if (!out->target && !(out->target = strdup("head"))) {
			err = oom();
			goto cleanup;
		}
	} else {
		if (!(out->target = strdup(spec))) {
			err = oom();
			goto cleanup;
		}
		if (src && src->observed) {
			if ((err = observed_start(out, g, src, &why)))
				goto cleanup;
		} else {
			nmig_buf_puts(&why, src && src->base_why
						? src->base_why
						: "no range given");
		}
	}
	memset(&applied, 0, sizeof(applied));
	applied.mark = out->start;
	for (i = 0; i < count; i++)
		applied.napplied += out->start[i];
	relative = out->target[0] == '+' || out->target[0] == '-';
	switch (kind) {
	case NMIG_OFFLINE_UPGRADE:
		err = nmig_plan_upgrade(&out->plan, g, &applied, out->target);
		break;
	case NMIG_OFFLINE_DOWNGRADE:
		err = nmig_plan_downgrade(&out->plan, g, &applied, out->target,
					  0);
		if (!err)
			err = nmig_target_resolve(g, &applied, NMIG_DOWN,
						  out->target, &tnodes, &tn);
		break;
	case NMIG_OFFLINE_STAMP:
		err = nmig_target_resolve(g, &applied, NMIG_UP, out->target,
					  &tnodes, &tn);
		break;
	}
	if (err)
		goto cleanup;
	if (kind == NMIG_OFFLINE_STAMP) {
		nmig_graph_mark_ancestors(g, tnodes, tn, out->end);
	} else {
		memcpy(out->end, out->start, count);
		for (k = 0; k < out->plan.n; k++)
			out->end[out->plan.steps[k]] =
			    kind == NMIG_OFFLINE_UPGRADE;
	}
	out->from_base = 1;
	for (i = 0; i < count && out->from_base; i++)
		if (out->start[i])
			out->from_base = 0;
	if ((err = compute_want(out, g, tnodes, tn, relative, purge)))
		goto cleanup;
	if (out->any_state) {
		nmig_buf_puts(&desc, "any state (--purge: rows outside the "
				     "target, dirty rows and rows without "
				     "files are deleted)");
	} else {
		put_heads(&desc, g, out->start);
		nmig_buf_puts(&desc, " (");
		nmig_buf_puts(&desc, why.ptr);
		nmig_buf_putc(&desc, ')');
	}
	if (nmig_buf_oom(&why) || nmig_buf_oom(&desc) ||
	    !(out->start_desc = nmig_buf_detach(&desc, NULL)))
		err = oom();
cleanup:
	if (err)
		nmig_offline_plan_release(out);
	nmig_buf_release(&why);
	nmig_buf_release(&desc);
	free(from);
	free(nodes);
	free(tnodes);
	return err;
}

/* The state of one script being written. */
struct emit {
	struct nmig_buf *b;
	const struct nmig_graph *g;
	const struct nmig_offline_plan *p;
	const struct nmig_offline_opts *o;
	struct nmig_exec_opts xo; /* the timeouts, as the engine takes them */
	struct nmig_buf body;	  /* a DO block's body being built */
	struct nmig_buf hint;	  /* the per-migration guards' hint literal */
};

/* Append `DO <tag><body><tag>;` with a tag that occurs nowhere in body. */
static void put_do(struct emit *e)
{
	char tag[32];

	nmig_sql_dollar_tag(e->body.ptr, tag, sizeof(tag));
	nmig_buf_printf(e->b, "DO %s", tag);
	nmig_buf_put(e->b, e->body.ptr, e->body.len);
	nmig_buf_printf(e->b, "%s;\n", tag);
	if (nmig_buf_oom(&e->body))
		e->b->oom = 1;
	nmig_buf_clear(&e->body);
}

/* A file's name relative to the migrations directory. */
static const char *rel_name(const char *dir, const char *path)
{
	size_t n = dir ? strlen(dir) : 0;
	const char *slash;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n && strncmp(path, dir, n) == 0 && path[n] == '/')
		return path + n + 1;
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Append "-- " + sanitised text + "\n". */
static void comment(struct emit *e, const char *text)
{
	nmig_buf_puts(e->b, "-- ");
	nmig_offline_comment_text(e->b, text);
	nmig_buf_putc(e->b, '\n');
}

/* The word for the command in messages and hints. */
static const char *kind_name(enum nmig_offline_kind kind)
{
	return kind == NMIG_OFFLINE_UPGRADE	? "upgrade"
	       : kind == NMIG_OFFLINE_DOWNGRADE ? "downgrade"
						: "stamp";
}

/*
 * The header comment: the command, how to run the script, the start and
 * why, the end, the version table, and what the script changes.
 */
static void header(struct emit *e)
{
	const struct nmig_offline_plan *p = e->p;
	struct nmig_buf line = NMIG_BUF_INIT;
	size_t k, nontx = 0, count = nmig_graph_count(e->g), ins = 0, del = 0;

	nmig_buf_printf(&line, "nmig offline script: %s %s (--sql)",
			kind_name(p->kind), p->spec);
	comment(e, line.ptr);
	nmig_buf_clear(&line);
	nmig_buf_printf(&line,
			"generated by nmig %s. Review it, then run it with "
			"psql:",
			e->o->nmig_version);
	comment(e, line.ptr);
	nmig_buf_puts(e->b,
		      "--     psql -X -v ON_ERROR_STOP=1 -f THIS_FILE\n"
		      "-- with the database chosen as usual (-d URL, or "
		      "PGHOST, PGDATABASE, ...).\n"
		      "-- psql stops at the first error; what ran before it "
		      "stays committed.\n"
		      "-- Guards (DO blocks) stop it unless the database is "
		      "in the state this\n"
		      "-- script assumes; each migration runs in its own "
		      "transaction unless it\n"
		      "-- is marked '-- nmig:transaction off'. File names are "
		      "relative to the\n"
		      "-- migrations directory.\n--\n");
	nmig_buf_clear(&line);
	nmig_buf_printf(&line, "start: %s", p->start_desc);
	comment(e, line.ptr);
	nmig_buf_clear(&line);
	nmig_buf_puts(&line, "end:   ");
	put_heads(&line, e->g, p->end);
	comment(e, line.ptr);
	nmig_buf_clear(&line);
	nmig_buf_printf(&line, "version table: %s", e->o->table->display);
	comment(e, line.ptr);
	nmig_buf_clear(&line);
	if (p->kind == NMIG_OFFLINE_STAMP) {
		for (k = 0; k < count; k++) {
			ins += p->end[k] && (p->any_state || !p->start[k]);
			del += p->start[k] && !p->end[k];
		}
		if (p->any_state)
			nmig_buf_printf(
			    &line,
			    "rows: the %zu of the end state (missing "
			    "ones inserted, all others deleted); no "
			    "migration SQL runs",
			    ins);
		else
			nmig_buf_printf(&line,
					"rows: %zu inserted, %zu deleted; no "
					"migration SQL runs",
					ins, del);
	} else {
		for (k = 0; k < p->plan.n; k++)
			nontx += !nmig_graph_rev(e->g, p->plan.steps[k])
				      ->transactional;
		nmig_buf_printf(&line, "migrations: %zu to %s", p->plan.n,
				p->kind == NMIG_OFFLINE_UPGRADE ? "apply"
								: "revert");
		if (nontx)
			nmig_buf_printf(&line, " (%zu outside a transaction)",
					nontx);
	}
	comment(e, line.ptr);
	nmig_buf_release(&line);
	nmig_buf_putc(e->b, '\n');
}

/*
 * psql settings (stop at the first error, no savepoints, autocommit, the
 * files' encoding), then a block that refuses to run inside a
 * transaction block (psql -1) and takes the migration lock (unless
 * no_lock).
 */
static void prologue(struct emit *e)
{
	const struct nmig_vtable *t = e->o->table;

	nmig_buf_puts(e->b, "\\set ON_ERROR_STOP on\n"
			    "\\set ON_ERROR_ROLLBACK off\n"
			    "\\set AUTOCOMMIT on\n"
			    "SET client_encoding = 'UTF8';\n\n");
	nmig_buf_puts(e->b, e->o->no_lock
				? "-- Not inside a transaction block (no "
				  "migration lock: --no-lock).\n"
				: "-- Not inside a transaction block, and no "
				  "other nmig at work on this database.\n");
	nmig_buf_puts(&e->body,
		      " BEGIN\n"
		      "IF pg_catalog.now() <> pg_catalog.statement_timestamp() "
		      "THEN\n"
		      "\tRAISE EXCEPTION USING MESSAGE = 'nmig: this script "
		      "cannot run inside a transaction block', HINT = 'run it "
		      "with psql -X -v ON_ERROR_STOP=1 -f FILE, without -1 "
		      "(--single-transaction) and with AUTOCOMMIT on';\n"
		      "END IF;\n");
	if (e->o->no_lock) {
		nmig_buf_puts(&e->body, "END ");
		put_do(e);
		nmig_buf_putc(e->b, '\n');
		return;
	}
	nmig_buf_printf(&e->body,
			"IF NOT pg_catalog.pg_try_advisory_lock('%lld'::"
			"pg_catalog.int8) THEN\n"
			"\tRAISE EXCEPTION USING MESSAGE = 'nmig: another nmig "
			"is migrating this database (it holds the migration "
			"lock of ' || ",
			t->lock_key);
	safe_literal(&e->body, t->display);
	nmig_buf_puts(&e->body, " || ')', HINT = 'wait until it has "
				"finished, then run this script';\n"
				"END IF;\nEND ");
	put_do(e);
	nmig_buf_putc(e->b, '\n');
}

/* Append the ids of the graph as an ARRAY[...]::text[] literal. */
static void ids_array(struct emit *e, struct nmig_buf *b,
		      const unsigned char *only)
{
	size_t count = nmig_graph_count(e->g), i, n = 0;

	nmig_buf_puts(b, "ARRAY[");
	for (i = 0; i < count; i++) {
		if (only && !only[i])
			continue;
		if (n++)
			nmig_buf_putc(b, ',');
		nmig_sql_literal(b, nmig_graph_rev(e->g, i)->id);
	}
	nmig_buf_puts(b, "]::pg_catalog.text[]");
}

/* The hint of the start guard. */
static void start_hint(struct emit *e, struct nmig_buf *b)
{
	struct nmig_buf h = NMIG_BUF_INIT;

	nmig_buf_printf(&h,
			"nothing was changed. See the database's state with "
			"'nmig current', then generate a script from it: nmig "
			"%s CURRENT:",
			kind_name(e->p->kind));
	nmig_offline_comment_text(&h, e->p->target);
	nmig_buf_puts(&h, " --sql");
	if (nmig_buf_oom(&h))
		b->oom = 1;
	nmig_sql_literal(b, h.ptr);
	nmig_buf_release(&h);
}

/*
 * The start guard: one query over the version table fully joined with
 * every revision of the files and what the script needs of it, so that a
 * row without a file, a dirty row, a missing, present or (upgrade) edited
 * revision stops the script before it changes anything. Hash joins keep
 * it linear in the revisions.
 */
static void start_guard(struct emit *e)
{
	const struct nmig_offline_plan *p = e->p;
	const struct nmig_vtable *t = e->o->table;
	size_t count = nmig_graph_count(e->g), i;
	int drift = e->o->check_drift && p->kind == NMIG_OFFLINE_UPGRADE;
	struct nmig_buf *b = &e->body, msg = NMIG_BUF_INIT;

	nmig_buf_puts(e->b, "-- Start guard: the database must be in the "
			    "state this script starts from.\n");
	nmig_buf_puts(b, "\nDECLARE\n\tr record;\nBEGIN\n"
			 "IF pg_catalog.to_regclass(");
	nmig_sql_literal(b, t->ident);
	nmig_buf_puts(b, ") IS NULL THEN\n\tRAISE EXCEPTION USING MESSAGE = ");
	nmig_buf_puts(&msg, "nmig: the version table '");
	nmig_buf_puts(&msg, t->display);
	nmig_buf_puts(&msg, "' does not exist, but this script starts from ");
	nmig_buf_puts(&msg, p->start_desc);
	safe_literal(b, msg.ptr);
	nmig_buf_puts(b, ", HINT = ");
	start_hint(e, b);
	nmig_buf_puts(b, ";\nEND IF;\n");
	/* problem: 0 no file, 1 dirty, 2 missing, 3 present, 4 edited */
	nmig_buf_printf(b,
			"SELECT CASE WHEN e.id IS NULL THEN 0 WHEN v.state = "
			"'dirty' THEN 1 WHEN v.revision IS NULL THEN 2 WHEN "
			"e.want = 'n' THEN 3 ELSE 4 END AS problem,\n"
			"\tCOALESCE(v.revision, e.id) AS revision INTO r\n"
			"FROM %s AS v\nFULL JOIN ROWS FROM (pg_catalog.unnest(",
			t->ident);
	ids_array(e, b, NULL);
	nmig_buf_puts(b, "),\npg_catalog.unnest('{");
	for (i = 0; i < count; i++) {
		if (i)
			nmig_buf_putc(b, ',');
		nmig_buf_putc(b, p->want[i] == NMIG_WANT_APPLIED  ? 'a'
				 : p->want[i] == NMIG_WANT_ABSENT ? 'n'
								  : 'x');
	}
	nmig_buf_puts(b, "}'::pg_catalog.text[])");
	if (drift) {
		nmig_buf_puts(b, ",\npg_catalog.unnest(ARRAY[");
		for (i = 0; i < count; i++) {
			const struct nmig_revision *rev =
			    nmig_graph_rev(e->g, i);

			if (i)
				nmig_buf_putc(b, ',');
			if (p->want[i] == NMIG_WANT_ABSENT)
				nmig_buf_puts(b, "NULL");
			else
				nmig_sql_literal(b, rev->up.checksum);
		}
		nmig_buf_puts(b, "]::pg_catalog.text[])) AS e(id, want, sum)");
	} else {
		nmig_buf_puts(b, ") AS e(id, want)");
	}
	nmig_buf_puts(b, " ON e.id = v.revision\n"
			 "WHERE e.id IS NULL OR v.state = 'dirty'\n"
			 "\tOR (v.revision IS NULL AND e.want = 'a')\n"
			 "\tOR (v.revision IS NOT NULL AND e.want = 'n')\n");
	if (drift)
		nmig_buf_puts(b, "\tOR (v.revision IS NOT NULL AND e.sum IS "
				 "NOT NULL AND v.checksum <> e.sum)\n");
	nmig_buf_puts(
	    b, "ORDER BY 1, 2\nLIMIT 1;\n"
	       "IF FOUND THEN\n"
	       "\tRAISE EXCEPTION USING MESSAGE = pg_catalog.format('nmig: "
	       "the database is not in the state this script starts from: "
	       "revision %L ' || CASE r.problem\n"
	       "\t\tWHEN 0 THEN 'is recorded but has no migration file'\n"
	       "\t\tWHEN 1 THEN 'is dirty (a migration outside a "
	       "transaction did not finish)'\n"
	       "\t\tWHEN 2 THEN 'is not applied'\n"
	       "\t\tWHEN 3 THEN 'is applied'\n"
	       "\t\tELSE 'was edited after it was applied (its checksum "
	       "differs)' END, r.revision),\n"
	       "\t\tDETAIL = ");
	nmig_buf_clear(&msg);
	nmig_buf_puts(&msg, "this script starts from ");
	nmig_buf_puts(&msg, p->start_desc);
	safe_literal(b, msg.ptr);
	if (nmig_buf_oom(&msg))
		b->oom = 1;
	nmig_buf_release(&msg);
	nmig_buf_puts(b, ",\n\t\tHINT = ");
	start_hint(e, b);
	nmig_buf_puts(b, ";\nEND IF;\nEND ");
	put_do(e);
	nmig_buf_putc(e->b, '\n');
}

/* Append `RAISE EXCEPTION USING MESSAGE = 'nmig: revision 'R' <what>'`. */
static void raise_rev(struct emit *e, const char *id, const char *what,
		      const char *extra)
{
	struct nmig_buf m = NMIG_BUF_INIT;

	nmig_buf_puts(&m, "nmig: revision '");
	nmig_offline_comment_text(&m, id);
	nmig_buf_printf(&m, "' %s", what);
	if (m.oom)
		e->body.oom = 1;
	nmig_buf_puts(&e->body, "\tRAISE EXCEPTION USING MESSAGE = ");
	nmig_sql_literal(&e->body, m.ptr);
	if (extra)
		nmig_buf_printf(&e->body, ", %s", extra);
	nmig_buf_puts(&e->body, ", HINT = ");
	nmig_buf_put(&e->body, e->hint.ptr, e->hint.len);
	nmig_buf_puts(&e->body, ";\n");
	nmig_buf_release(&m);
}

/* Append a parenthesised list of the literals of nodes v[0..n). */
static void id_list(struct emit *e, const size_t *v, size_t n)
{
	size_t i;

	nmig_buf_putc(&e->body, '(');
	for (i = 0; i < n; i++) {
		if (i)
			nmig_buf_putc(&e->body, ',');
		nmig_sql_literal(&e->body, nmig_graph_rev(e->g, v[i])->id);
	}
	nmig_buf_putc(&e->body, ')');
}

/*
 * The guard before applying rev (node k): no row for it, every parent
 * applied. The version row's primary key would also stop a second run;
 * the guard says why in words.
 */
static void up_guard(struct emit *e, size_t k)
{
	const struct nmig_vtable *t = e->o->table;
	const char *id = nmig_graph_rev(e->g, k)->id;
	const size_t *par;
	size_t np;

	nmig_buf_printf(
	    &e->body,
	    " BEGIN\nIF EXISTS (SELECT FROM %s WHERE revision = ", t->ident);
	nmig_sql_literal(&e->body, id);
	nmig_buf_puts(&e->body, ") THEN\n");
	raise_rev(e, id, "is already recorded: this script assumes it is not",
		  NULL);
	nmig_buf_puts(&e->body, "END IF;\n");
	par = nmig_graph_parents(e->g, k, &np);
	if (np) {
		nmig_buf_printf(&e->body,
				"IF (SELECT pg_catalog.count(*) FROM %s WHERE "
				"state = 'applied' AND revision IN ",
				t->ident);
		id_list(e, par, np);
		nmig_buf_printf(&e->body, ") <> %zu THEN\n", np);
		raise_rev(e, id,
			  np == 1 ? "needs its parent applied, and it is not"
				  : "needs its parents applied, and one is not",
			  NULL);
		nmig_buf_puts(&e->body, "END IF;\n");
	}
}

/*
 * The guard before reverting node k: none of its children applied (they
 * are reverted first), then its row turned into what the engine does --
 * deleted (transactional) or marked dirty (not) -- failing when it was
 * not applied.
 */
static void down_guard(struct emit *e, size_t k, int transactional)
{
	const struct nmig_vtable *t = e->o->table;
	const char *id = nmig_graph_rev(e->g, k)->id;
	const size_t *ch;
	size_t nc;

	nmig_buf_puts(&e->body, " BEGIN\n");
	ch = nmig_graph_children(e->g, k, &nc);
	if (nc) {
		nmig_buf_printf(&e->body,
				"IF EXISTS (SELECT FROM %s WHERE state = "
				"'applied' AND revision IN ",
				t->ident);
		id_list(e, ch, nc);
		nmig_buf_puts(&e->body, ") THEN\n");
		raise_rev(e, id,
			  "has a child applied: this script assumes it has "
			  "none",
			  NULL);
		nmig_buf_puts(&e->body, "END IF;\n");
	}
	if (transactional) {
		nmig_buf_printf(&e->body, "DELETE FROM %s", t->ident);
	} else {
		nmig_buf_printf(
		    &e->body,
		    "UPDATE %s SET state = 'dirty', error = ", t->ident);
		nmig_sql_literal(&e->body,
				 "downgrade: left by an nmig offline script "
				 "(psql) that stopped before the end; its "
				 "error is in that run's output");
	}
	nmig_buf_puts(&e->body, " WHERE state = 'applied' AND revision = ");
	nmig_sql_literal(&e->body, id);
	nmig_buf_puts(&e->body, ";\nIF NOT FOUND THEN\n");
	raise_rev(e, id, "is not applied: this script assumes it is",
		  "ERRCODE = 'P0002'");
	nmig_buf_puts(&e->body, "END IF;\n");
}

/*
 * Refuse a migration that reads COPY ... FROM STDIN: under psql the rest
 * of the script would be its data. The engine refuses it too.
 */
int nmig_offline_check_step(const struct nmig_step *st)
{
	const struct nmig_script *sc = st->script;
	size_t i, j;

	for (i = 0; i < sc->n; i++) {
		const struct nmig_stmt *s = &sc->stmts[i];

		if (!s->kind || strcmp(s->kind, "CopyStmt") != 0)
			continue;
		for (j = 0; j + 5 <= s->len; j++)
			if (strncasecmp(sc->text + s->offset + j, "stdin", 5) ==
			    0)
				break;
		if (j + 5 > s->len)
			continue;
		nmig_error_set(NMIG_EINPUT,
			       "migration %s reads COPY ... FROM STDIN, which "
			       "an offline script cannot feed",
			       st->rev->id);
		nmig_exec_locate_error(sc, s->offset);
		nmig_error_hint("load the data with INSERT statements, or "
				"from a server-side file");
		return NMIG_EINPUT;
	}
	return NMIG_OK;
}

/* The text of the file with a separator that closes its last statement. */
static void file_text(struct emit *e, const struct nmig_script *sc)
{
	nmig_buf_put(e->b, sc->text + nmig_script_body(sc),
		     sc->len - nmig_script_body(sc));
	/* Close a last statement without ';' or a trailing comment. */
	nmig_buf_puts(e->b, "\n;\n");
}

/* One migration of an upgrade or downgrade: steps[i], plan position k. */
static void migration(struct emit *e, size_t i, const struct nmig_step *st)
{
	const struct nmig_vtable *t = e->o->table;
	const struct nmig_revision *rev = st->rev;
	size_t k = e->p->plan.steps[i];
	int up = e->p->kind == NMIG_OFFLINE_UPGRADE;
	struct nmig_buf line = NMIG_BUF_INIT;

	nmig_buf_printf(&line, "%zu/%zu: %s %s ", i + 1, e->p->plan.n,
			up ? "apply" : "revert", rev->id);
	nmig_buf_puts(&line, rev->message ? rev->message : rev->slug);
	if (!rev->transactional)
		nmig_buf_puts(&line, " (outside a transaction)");
	nmig_buf_puts(e->b, "\n");
	comment(e, line.ptr);
	nmig_buf_clear(&line);
	nmig_buf_printf(
	    &line, "file: %s",
	    rel_name(e->o->dir, up ? rev->up.path : rev->down.path));
	comment(e, line.ptr);
	nmig_buf_release(&line);
	if (rev->transactional) {
		/* As the engine's batch: BEGIN; SET LOCAL ...; row; SQL. */
		nmig_buf_puts(e->b, "BEGIN;\n");
		nmig_exec_timeouts_sql(e->b, &e->xo, "LOCAL ");
		if (up)
			up_guard(e, k);
		else
			down_guard(e, k, 1);
		nmig_buf_puts(&e->body, "END ");
		put_do(e);
		if (up) {
			nmig_state_insert_sql(e->b, t, rev, "applied",
					      e->o->nmig_version);
			nmig_buf_puts(e->b, ";\n");
		}
		file_text(e, st->script);
		if (up) {
			nmig_buf_printf(
			    e->b, "UPDATE %s SET execution_ms = ", t->ident);
			nmig_exec_duration_sql(e->b);
			nmig_buf_puts(e->b, " WHERE revision = ");
			nmig_sql_literal(e->b, rev->id);
			nmig_buf_puts(e->b, ";\n");
		}
		nmig_buf_puts(e->b, "COMMIT;\n");
		return;
	}
	/* The dirty protocol: mark, run in autocommit, complete. */
	nmig_buf_puts(e->b, "BEGIN;\n");
	if (up) {
		up_guard(e, k);
		nmig_buf_puts(&e->body, "END ");
		put_do(e);
		nmig_state_insert_sql(e->b, t, rev, "dirty",
				      e->o->nmig_version);
		nmig_buf_printf(e->b, ";\nUPDATE %s SET error = ", t->ident);
		nmig_sql_literal(e->b, "left by an nmig offline script (psql) "
				       "that stopped before the end; its error "
				       "is in that run's output");
		nmig_buf_puts(e->b, " WHERE revision = ");
		nmig_sql_literal(e->b, rev->id);
		nmig_buf_puts(e->b, ";\n");
	} else {
		down_guard(e, k, 0);
		nmig_buf_puts(&e->body, "END ");
		put_do(e);
	}
	nmig_buf_puts(e->b, "COMMIT;\n");
	nmig_exec_timeouts_sql(e->b, &e->xo, "");
	file_text(e, st->script);
	if (up) {
		nmig_buf_printf(e->b,
				"UPDATE %s SET state = 'applied', error = "
				"NULL, execution_ms = ",
				t->ident);
		nmig_exec_duration_sql(e->b);
	} else {
		nmig_buf_printf(e->b, "DELETE FROM %s", t->ident);
	}
	nmig_buf_puts(e->b, " WHERE revision = ");
	nmig_sql_literal(e->b, rev->id);
	nmig_buf_puts(e->b,
		      ";\nRESET lock_timeout;\nRESET statement_timeout;\n");
}

/*
 * Stamp: delete and insert rows in one transaction, as nmig_state_stamp
 * does -- the difference from the start, or (--purge) whatever it takes
 * from any state.
 */
static void stamp(struct emit *e)
{
	const struct nmig_offline_plan *p = e->p;
	const struct nmig_vtable *t = e->o->table;
	size_t count = nmig_graph_count(e->g), i, nins = 0, nend = 0;
	unsigned char *del = NULL;

	nmig_buf_puts(e->b, "\n-- Record the end state; no migration SQL "
			    "runs.\nBEGIN;\n");
	for (i = 0; i < count; i++)
		nend += p->end[i];
	if (p->any_state) {
		nmig_buf_printf(e->b,
				"DELETE FROM %s WHERE state <> 'applied';\n",
				t->ident);
		if (nend) {
			nmig_buf_printf(e->b,
					"DELETE FROM %s AS v WHERE NOT EXISTS "
					"(SELECT FROM pg_catalog.unnest(",
					t->ident);
			ids_array(e, e->b, p->end);
			nmig_buf_puts(e->b, ") AS e(id) WHERE e.id = "
					    "v.revision);\n");
		} else {
			nmig_buf_printf(e->b, "DELETE FROM %s;\n", t->ident);
		}
	} else {
		del = calloc(count ? count : 1, 1);
		if (!del) {
			e->b->oom = 1;
			return;
		}
		for (i = 0; i < count; i++)
			del[i] = p->start[i] && !p->end[i];
		for (i = 0; i < count && !del[i]; i++)
			;
		if (i < count) {
			nmig_buf_printf(e->b,
					"DELETE FROM %s AS v USING "
					"pg_catalog.unnest(",
					t->ident);
			ids_array(e, e->b, del);
			nmig_buf_puts(e->b,
				      ") AS d(id) WHERE v.revision = d.id;\n");
		}
		free(del);
	}
	for (i = 0; i < count; i++) {
		const struct nmig_revision *rev = nmig_graph_rev(e->g, i);

		if (!p->end[i] || (!p->any_state && p->start[i]))
			continue;
		if (!nins++) {
			nmig_state_insert_sql(e->b, t, rev, "applied",
					      e->o->nmig_version);
		} else {
			nmig_buf_puts(e->b, ",\n");
			nmig_state_values_sql(e->b, rev, "applied",
					      e->o->nmig_version);
		}
	}
	if (nins)
		nmig_buf_puts(e->b,
			      p->any_state
				  ? "\nON CONFLICT (revision) DO NOTHING;\n"
				  : ";\n");
	nmig_buf_puts(e->b, "COMMIT;\n");
}

/* Hand what out holds to o->flush and empty it. */
static int flush(struct nmig_buf *out, const struct nmig_offline_opts *o)
{
	int err;

	if (nmig_buf_oom(out))
		return oom();
	err = o->flush(o->ud, out->ptr, out->len);
	nmig_buf_clear(out);
	return err;
}

int nmig_offline_emit(struct nmig_buf *out, const struct nmig_graph *g,
		      const struct nmig_offline_plan *p,
		      const struct nmig_step *steps,
		      const struct nmig_offline_opts *o)
{
	struct emit e;
	size_t i;
	int err = NMIG_OK;

	for (i = 0; i < p->plan.n; i++)
		if (!o->load_step &&
		    (err = nmig_offline_check_step(&steps[i])))
			return err;
	memset(&e, 0, sizeof(e));
	e.b = out;
	e.g = g;
	e.p = p;
	e.o = o;
	e.xo.dir = p->plan.dir;
	e.xo.lock_timeout_ms = o->lock_timeout_ms;
	e.xo.statement_timeout_ms = o->statement_timeout_ms;
	e.xo.nmig_version = o->nmig_version;
	nmig_buf_init(&e.body);
	nmig_buf_init(&e.hint);
	/* Short: it is repeated in every migration's guard. */
	nmig_sql_literal(&e.hint, "earlier migrations are committed; see the "
				  "state with 'nmig current'");
	header(&e);
	prologue(&e);
	if (p->from_base || p->any_state) {
		nmig_buf_puts(out, "-- The version table, created when "
				   "missing.\n");
		nmig_state_ensure_sql(o->table, out);
		nmig_buf_putc(out, '\n');
	}
	if (!p->any_state)
		start_guard(&e);
	if (p->kind == NMIG_OFFLINE_STAMP)
		stamp(&e);
	for (i = 0; i < p->plan.n && !err; i++) {
		if (o->load_step) {
			struct nmig_script sc;
			struct nmig_step st = steps[i];

			memset(&sc, 0, sizeof(sc));
			if ((err = o->load_step(o->ud, i, &sc)))
				break;
			st.script = &sc;
			migration(&e, i, &st);
			nmig_script_release(&sc);
		} else {
			migration(&e, i, &steps[i]);
		}
		if (o->flush && out->len >= NMIG_OFFLINE_FLUSH)
			err = flush(out, o);
	}
	if (err)
		goto cleanup;
	if (!o->no_lock) {
		nmig_buf_puts(out, "\n-- Release the migration lock.\n");
		nmig_buf_printf(&e.body,
				" BEGIN PERFORM pg_catalog.pg_advisory_unlock('"
				"%lld'::pg_catalog.int8); END ",
				o->table->lock_key);
		put_do(&e);
	}
	{
		struct nmig_buf line = NMIG_BUF_INIT;

		nmig_buf_puts(&line, "done: the database is at ");
		put_heads(&line, g, p->end);
		comment(&e, line.ptr);
		if (nmig_buf_oom(&line))
			out->oom = 1;
		nmig_buf_release(&line);
	}
	if (nmig_buf_oom(&e.body) || nmig_buf_oom(&e.hint) || nmig_buf_oom(out))
		err = oom();
	else if (o->flush)
		err = flush(out, o);
cleanup:
	nmig_buf_release(&e.body);
	nmig_buf_release(&e.hint);
	return err;
}
