/*
 * cmocka tests of libnmig's public functions that need a server: the
 * connection's accessors (display, resolved info, attempts, round trips,
 * pooler detection, where, lost), nmig_conn_exec, the session lock and
 * nmig_state_open, and the schema fingerprint taken from a live database
 * (nmig_fingerprint_take, and nmig_catalog_read + nmig_fingerprint_render
 * giving the same), a setup script run in one round trip
 * (nmig_exec_script), a dirty row resolved (nmig_state_resolve_dirty),
 * doctor's reads (ping, TLS, server facts), and the engine's parts one
 * by one (nmig_migrate_begin, nmig_state_stamp, nmig_state_repair_checksums,
 * nmig_steps_load/free, nmig_exec_run).
 * tests/db/db_api.sh runs it with DATABASE_URL naming a
 * fresh database of the test cluster (over TCP, with the password) and
 * exits 77 (skip) when there is none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog.h"
#include "cluster.h"
#include "conn.h"
#include "doctor.h"
#include "error.h"
#include "fingerprint.h"
#include "migrate.h"
#include "plan.h"
#include "project.h"
#include "exec.h"
#include "sqlscript.h"
#include "state.h"

static const char *url(void)
{
	return getenv("DATABASE_URL");
}

static int setup(void **state)
{
	struct nmig_conn_opts o = {0};
	struct nmig_conn *c = NULL;

	o.connect_timeout_ms = 10000;
	if (nmig_conn_open(&c, url(), &o, NULL)) {
		fprintf(stderr, "cannot connect: %s\n",
			nmig_error_last()->message);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	nmig_conn_close(*state);
	return 0;
}

static void test_accessors(void **state)
{
	struct nmig_conn *c = *state;
	const struct nmig_conninfo *ci = nmig_conn_info(c);
	const char *host, *port, *dbname, *user;
	long before;

	/* The resolved URL: a TCP loopback host, the password kept apart. */
	assert_string_equal(ci->host, "127.0.0.1");
	assert_true(ci->local);
	assert_false(ci->pooler);
	assert_non_null(ci->password);
	nmig_conn_where(c, &host, &port, &dbname, &user);
	assert_string_equal(host, "127.0.0.1");
	assert_string_equal(port, ci->port);
	assert_string_equal(dbname, ci->dbname);
	assert_string_equal(user, "postgres");
	/* user@host:port/dbname and never the password. */
	{
		char want[512];

		snprintf(want, sizeof(want), "postgres@127.0.0.1:%s/%s", port,
			 dbname);
		assert_string_equal(nmig_conn_display(c), want);
	}
	assert_null(strstr(nmig_conn_display(c), ci->password));
	assert_int_equal(nmig_conn_attempts(c), 1);
	assert_false(nmig_conn_lost(c));

	before = nmig_conn_roundtrips(c);
	nmig_conn_count_roundtrip(c);
	assert_int_equal(nmig_conn_roundtrips(c), before + 1);
	assert_int_equal(nmig_conn_exec(c, "make t",
					"CREATE TABLE api_t (id int); "
					"INSERT INTO api_t VALUES (1), (2)"),
			 NMIG_OK);
	/* Several statements, one round trip. */
	assert_int_equal(nmig_conn_roundtrips(c), before + 2);
	assert_int_equal(nmig_conn_exec(c, "drop t", "DROP TABLE api_t"),
			 NMIG_OK);
}

static void test_exec_error(void **state)
{
	struct nmig_conn *c = *state;
	const struct nmig_error *e;

	assert_int_equal(nmig_conn_exec(c, "select from a missing table",
					"SELECT * FROM api_missing"),
			 NMIG_ERROR);
	e = nmig_error_last();
	assert_string_equal(e->sqlstate, "42P01");
	assert_non_null(strstr(e->message, "select from a missing table: "));
	assert_non_null(strstr(e->message, "api_missing"));
	/* The session goes on after a failed statement. */
	assert_false(nmig_conn_lost(c));
	assert_int_equal(nmig_conn_exec(c, "select", "SELECT 1"), NMIG_OK);
}

static void test_lost(void **state)
{
	struct nmig_conn *c = *state;

	/* The server ends the session: the next statement finds it gone. */
	nmig_conn_exec(c, "terminate",
		       "SELECT pg_terminate_backend(pg_backend_pid())");
	assert_int_equal(nmig_conn_exec(c, "select", "SELECT 1"),
			 NMIG_ECONNECT);
	assert_true(nmig_conn_lost(c));
}

static void test_lock_and_open(void **state)
{
	struct nmig_conn *c = *state, *other = NULL;
	struct nmig_conn_opts co = {0};
	struct nmig_vtable t;
	struct nmig_state s, s2;
	struct nmig_state_open_opts oo = {0};
	int waited = -1;

	co.connect_timeout_ms = 10000;
	assert_int_equal(nmig_conn_open(&other, url(), &co, NULL), NMIG_OK);
	assert_int_equal(nmig_vtable_init(&t, c, "api", "versions"), NMIG_OK);
	assert_int_equal(nmig_state_lock(c, &t, 1000, &waited), NMIG_OK);
	assert_true(waited >= 0);
	/* Another session waits, then is refused while c holds it. */
	assert_int_equal(nmig_state_lock(other, &t, 200, &waited),
			 NMIG_ELOCKED);
	assert_non_null(strstr(nmig_error_last()->message, "another nmig"));
	oo.create = 1;
	oo.lock = 1;
	assert_int_equal(nmig_state_open(&s2, other, &t, &oo), NMIG_OK);
	assert_int_equal(s2.lock, NMIG_LOCK_BUSY);
	assert_true(s2.exists);
	assert_int_equal(s2.n, 0);
	nmig_state_release(&s2);
	assert_int_equal(nmig_state_unlock(c, &t), NMIG_OK);
	/* Released: the other session gets it in its open. */
	assert_int_equal(nmig_state_open(&s, other, &t, &oo), NMIG_OK);
	assert_int_equal(s.lock, NMIG_LOCK_TAKEN);
	assert_true(s.backend_pid > 0);
	assert_false(nmig_conn_pooled(other));
	nmig_state_release(&s);
	assert_int_equal(nmig_state_unlock(other, &t), NMIG_OK);
	assert_int_equal(nmig_state_lock(c, &t, 1000, NULL), NMIG_OK);
	assert_int_equal(nmig_state_unlock(c, &t), NMIG_OK);
	/* The table nmig_state_open created is there for c too. */
	assert_int_equal(nmig_conn_exec(c, "read",
					"SELECT count(*) FROM api.versions"),
			 NMIG_OK);
	assert_int_equal(nmig_conn_exec(c, "drop", "DROP SCHEMA api CASCADE"),
			 NMIG_OK);
	nmig_vtable_release(&t);
	nmig_conn_close(other);
}

static void test_fingerprint(void **state)
{
	struct nmig_conn *c = *state;
	struct nmig_fingerprint a = NMIG_FINGERPRINT_INIT;
	struct nmig_fingerprint b = NMIG_FINGERPRINT_INIT;
	struct nmig_fingerprint r = NMIG_FINGERPRINT_INIT;
	struct nmig_catalog cat;
	size_t i;
	int seen = 0;

	assert_int_equal(nmig_conn_exec(c, "make",
					"CREATE TABLE fp_t (id int PRIMARY "
					"KEY, name text NOT NULL)"),
			 NMIG_OK);
	assert_int_equal(nmig_fingerprint_take(&a, c, NULL, NULL, 0), NMIG_OK);
	for (i = 0; i < a.n; i++)
		if (strcmp(a.items[i].kind, "table") == 0 &&
		    strstr(a.items[i].key, "fp_t"))
			seen = 1;
	assert_true(seen);
	assert_int_equal(strlen(a.digest), NMIG_SHA256_HEX - 1);
	/* take = catalog_read + render. */
	assert_int_equal(nmig_catalog_read(&cat, c, NULL, NULL), NMIG_OK);
	assert_int_equal(nmig_fingerprint_render(&r, &cat, 0), NMIG_OK);
	assert_string_equal(r.digest, a.digest);
	assert_true(nmig_fingerprint_equal(&a, &r));
	nmig_catalog_release(&cat);
	/* A schema change changes the fingerprint. */
	assert_int_equal(nmig_conn_exec(c, "alter",
					"ALTER TABLE fp_t ADD COLUMN x int"),
			 NMIG_OK);
	assert_int_equal(nmig_fingerprint_take(&b, c, NULL, NULL, 0), NMIG_OK);
	assert_false(nmig_fingerprint_equal(&a, &b));
	assert_string_not_equal(a.digest, b.digest);
	assert_int_equal(nmig_conn_exec(c, "drop", "DROP TABLE fp_t"),
			 NMIG_OK);
	nmig_fingerprint_release(&a);
	nmig_fingerprint_release(&b);
	nmig_fingerprint_release(&r);
}

static void test_exec_script(void **state)
{
	struct nmig_conn *c = *state;
	struct nmig_script sc;
	static const char ok[] = "CREATE TABLE es_t (v int);\n"
				 "INSERT INTO es_t VALUES (1);\n";
	static const char bad[] = "SELECT 1;\n\nSELECT * FROM es_missing;\n";
	static const char open_tx[] = "BEGIN;\nINSERT INTO es_t VALUES (2);\n";

	assert_int_equal(nmig_script_from_text(&sc, "setup.sql", ok,
					       strlen(ok)),
			 NMIG_OK);
	assert_int_equal(nmig_exec_script(c, &sc, "setup.sql"), NMIG_OK);
	nmig_script_release(&sc);
	/* A failure names the script and the failing statement's line. */
	assert_int_equal(nmig_script_from_text(&sc, "bad.sql", bad,
					       strlen(bad)),
			 NMIG_OK);
	assert_int_equal(nmig_exec_script(c, &sc, "bad.sql"), NMIG_ESQL);
	assert_non_null(strstr(nmig_error_last()->message, "bad.sql failed"));
	assert_string_equal(nmig_error_last()->sqlstate, "42P01");
	assert_string_equal(nmig_error_last()->file, "bad.sql");
	assert_int_equal(nmig_error_last()->line, 3);
	nmig_script_release(&sc);
	/* A transaction left open is rolled back and refused. */
	assert_int_equal(nmig_script_from_text(&sc, "tx.sql", open_tx,
					       strlen(open_tx)),
			 NMIG_OK);
	assert_int_equal(nmig_exec_script(c, &sc, "tx.sql"), NMIG_ESQL);
	assert_non_null(strstr(nmig_error_last()->message,
			       "tx.sql left a transaction open (rolled back)"));
	nmig_script_release(&sc);
	assert_int_equal(nmig_conn_exec(c, "count",
					"DO $$ BEGIN IF (SELECT count(*) FROM "
					"es_t) <> 1 THEN RAISE EXCEPTION "
					"'rows'; END IF; END $$"),
			 NMIG_OK);
	assert_int_equal(nmig_conn_exec(c, "drop", "DROP TABLE es_t"),
			 NMIG_OK);
}

static void test_resolve_dirty(void **state)
{
	struct nmig_conn *c = *state;
	struct nmig_vtable t;
	struct nmig_state s;
	struct nmig_buf sql = NMIG_BUF_INIT;

	assert_int_equal(nmig_vtable_init(&t, c, "rd", "versions"), NMIG_OK);
	assert_int_equal(nmig_state_read(&s, c, &t, 1), NMIG_OK);
	nmig_state_release(&s);
	nmig_buf_printf(&sql,
			"INSERT INTO %s (revision, parents, message, checksum, "
			"state, nmig_version) VALUES "
			"('r1', '{}', 'one', 'x', 'dirty', 't'), "
			"('r2', '{r1}', 'two', 'y', 'dirty', 't')",
			t.ident);
	assert_int_equal(nmig_conn_exec(c, "insert", sql.ptr), NMIG_OK);
	assert_int_equal(nmig_state_resolve_dirty(c, &t, "r1", 1), NMIG_OK);
	assert_int_equal(nmig_state_resolve_dirty(c, &t, "r2", 0), NMIG_OK);
	assert_int_equal(nmig_state_read(&s, c, &t, 0), NMIG_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rows[0].revision, "r1");
	assert_false(s.rows[0].dirty);
	nmig_state_release(&s);
	/* r1 is applied now, r2 gone: neither has a dirty row. */
	assert_int_equal(nmig_state_resolve_dirty(c, &t, "r1", 1),
			 NMIG_ESTATE);
	assert_int_equal(nmig_state_resolve_dirty(c, &t, "r2", 0),
			 NMIG_ESTATE);
	assert_int_equal(nmig_conn_exec(c, "drop", "DROP SCHEMA rd CASCADE"),
			 NMIG_OK);
	nmig_buf_release(&sql);
	nmig_vtable_release(&t);
}

static void test_doctor_reads(void **state)
{
	struct nmig_conn *c = *state;
	struct nmig_doctor_latency lat;
	struct nmig_doctor_tls tls;
	struct nmig_doctor_server srv;
	long before = nmig_conn_roundtrips(c);
	size_t i;

	memset(&lat, 0, sizeof(lat));
	assert_int_equal(nmig_doctor_ping(&lat, c, 3), NMIG_OK);
	assert_int_equal(lat.n, 3);
	assert_int_equal(nmig_conn_roundtrips(c), before + 3);
	for (i = 0; i < lat.n; i++) {
		assert_true(lat.samples_ms[i] >= lat.min_ms);
		assert_true(lat.samples_ms[i] <= lat.max_ms);
	}
	assert_true(lat.min_ms <= lat.median_ms);
	assert_true(lat.median_ms <= lat.max_ms);
	/* The test cluster's TCP port is plain: no TLS in use. */
	assert_int_equal(nmig_doctor_tls_read(&tls, c), NMIG_OK);
	assert_int_equal(nmig_conn_roundtrips(c), before + 3);
	if (tls.in_use) {
		assert_non_null(tls.protocol);
		assert_non_null(tls.cipher);
	} else {
		assert_null(tls.protocol);
		assert_null(tls.cipher);
	}
	nmig_doctor_tls_release(&tls);
	assert_null(tls.protocol);
	assert_int_equal(nmig_doctor_server_read(&srv, c), NMIG_OK);
	assert_int_equal(nmig_conn_roundtrips(c), before + 4);
	assert_true(srv.version_num >= 150000);
	assert_non_null(strstr(srv.version, "15"));
	assert_string_equal(srv.user, "postgres");
	assert_string_equal(srv.database, nmig_conn_info(c)->dbname);
	assert_false(srv.in_recovery);
	assert_false(srv.pooled);
	assert_true(srv.connections >= 1);
	assert_true(srv.max_connections > srv.reserved);
	assert_non_null(srv.lock_timeout);
	nmig_doctor_server_release(&srv);
	assert_null(srv.version);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Pieces of the engine one by one: begin, stamp, repair, steps, run. */
static void test_engine_parts(void **state)
{
	struct nmig_conn *c = *state;
	struct nmig_project_opts po = {0};
	struct nmig_project pr;
	struct nmig_diags diags = NMIG_DIAGS_INIT;
	struct nmig_vtable t;
	struct nmig_migrate_opts mo = {0};
	struct nmig_migrate_result mr;
	struct nmig_state s;
	struct nmig_applied applied;
	struct nmig_plan plan;
	struct nmig_script *scripts = NULL;
	struct nmig_step *steps = NULL;
	struct nmig_exec_opts eo = {0};
	struct nmig_exec_result er;
	const struct nmig_revision *r1, *r2;
	const char *ids[1];
	unsigned char mark[2];
	size_t ins = 9, del = 9, row0 = 0;
	char dir[4096], sql[512];
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/engine-XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	put(dir, "1_one.up.sql", "CREATE TABLE eng_one (id int);\n");
	put(dir, "1_one.down.sql", "DROP TABLE eng_one;\n");
	put(dir, "2_two.up.sql", "CREATE TABLE eng_two (id int);\n");
	po.dir = dir;
	po.no_cache = 1;
	assert_int_equal(nmig_project_load(&pr, &po, &diags), NMIG_OK);
	assert_int_equal(nmig_graph_count(pr.graph), 2);
	r1 = nmig_graph_rev(pr.graph, (size_t)nmig_graph_find(pr.graph, "1"));
	r2 = nmig_graph_rev(pr.graph, (size_t)nmig_graph_find(pr.graph, "2"));
	assert_int_equal(nmig_vtable_init(&t, c, "eng", "versions"), NMIG_OK);

	/* begin: the lock and the (new, empty) table in one go. */
	mo.dir = NMIG_UP;
	mo.lock_wait_ms = 1000;
	mo.nmig_version = "t";
	assert_int_equal(nmig_migrate_begin(&mr, c, &t, pr.graph, &mo),
			 NMIG_OK);
	assert_true(mr.locked);
	assert_true(mr.state.exists);
	assert_int_equal(mr.state.n, 0);
	assert_int_equal(mr.report.npending, 2);

	/* stamp 1 without running it. */
	memset(mark, 0, sizeof(mark));
	mark[nmig_graph_find(pr.graph, "1")] = 1;
	assert_int_equal(nmig_state_stamp(c, &t, &mr.state, pr.graph, mark, 0,
					  "t", &ins, &del),
			 NMIG_OK);
	assert_int_equal(ins, 1);
	assert_int_equal(del, 0);
	nmig_migrate_result_release(&mr);
	assert_int_equal(nmig_state_unlock(c, &t), NMIG_OK);

	/* A checksum edited by hand is re-recorded from the file. */
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET checksum = 'edited' WHERE revision = '1'",
		 t.ident);
	assert_int_equal(nmig_conn_exec(c, "edit", sql), NMIG_OK);
	assert_int_equal(nmig_state_read(&s, c, &t, 0), NMIG_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rows[0].checksum, "edited");
	assert_int_equal(nmig_state_repair_checksums(c, &t, &s, pr.graph,
						     &row0, 1),
			 NMIG_OK);
	nmig_state_release(&s);
	assert_int_equal(nmig_state_read(&s, c, &t, 0), NMIG_OK);
	assert_string_equal(s.rows[0].checksum, r1->up.checksum);
	assert_string_equal(s.rows[0].down_checksum, r1->down.checksum);
	nmig_state_release(&s);

	/* The rest of the plan: load its steps and run them. */
	ids[0] = "1";
	assert_int_equal(nmig_applied_init(&applied, pr.graph, ids, 1),
			 NMIG_OK);
	assert_int_equal(nmig_plan_upgrade(&plan, pr.graph, &applied, "head"),
			 NMIG_OK);
	assert_int_equal(plan.n, 1);
	assert_int_equal(nmig_steps_load(&scripts, &steps, pr.graph, &plan,
					 1 << 20, &diags),
			 NMIG_OK);
	assert_ptr_equal(steps[0].rev, r2);
	eo.dir = NMIG_UP;
	eo.nmig_version = "t";
	assert_int_equal(nmig_exec_run(&er, c, &t, steps, plan.n, &eo),
			 NMIG_OK);
	assert_int_equal(er.done, 1);
	assert_int_equal(er.failed, -1);
	assert_true(er.ms[0] >= 0);
	nmig_exec_result_release(&er);
	assert_null(er.ms);
	assert_int_equal(nmig_state_read(&s, c, &t, 0), NMIG_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rows[1].revision, "2");
	assert_false(s.rows[1].dirty);
	nmig_state_release(&s);
	/* 2 ran; 1 was only stamped, so its table is not there. */
	assert_int_equal(nmig_conn_exec(c, "two", "SELECT FROM eng_two"),
			 NMIG_OK);
	assert_int_equal(nmig_conn_exec(c, "one", "SELECT FROM eng_one"),
			 NMIG_ERROR);
	assert_string_equal(nmig_error_last()->sqlstate, "42P01");

	nmig_steps_free(scripts, steps, plan.n);
	nmig_plan_release(&plan);
	nmig_applied_release(&applied);
	assert_int_equal(nmig_conn_exec(c, "drop",
					"DROP SCHEMA eng CASCADE; "
					"DROP TABLE eng_two"),
			 NMIG_OK);
	nmig_vtable_release(&t);
	nmig_project_release(&pr);
	nmig_diags_release(&diags);
	assert_int_equal(nmig_remove_tree(dir), NMIG_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_accessors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exec_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock_and_open, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exec_script, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_doctor_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_engine_parts, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_dirty, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
	};

	if (!url() || !*url()) {
		fprintf(stderr, "SKIP: DATABASE_URL is not set: run this "
				"through tests/db/db_api.sh\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
