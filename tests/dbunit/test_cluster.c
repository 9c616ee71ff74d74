/*
 * cmocka tests of lib/cluster (the ephemeral cluster of `nmig test`): the
 * server binaries found, a cluster started in a private directory under
 * $TMPDIR, reachable at nmig_cluster_url over its socket, killed and
 * stopped (its directory removed, a second stop harmless), and a cluster
 * freed without a stop. It needs the PostgreSQL server binaries, so
 * tests/db/db_api.sh runs it beside the test cluster; it exits 77 (skip)
 * loudly when it is run without DATABASE_URL, as the other dbunit
 * programs do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cluster.h"
#include "conn.h"
#include "error.h"

static void test_find_bindir(void **state)
{
	char *bindir = NULL, path[4096];

	(void)state;
	assert_int_equal(nmig_cluster_find_bindir(&bindir), NMIG_OK);
	assert_non_null(bindir);
	snprintf(path, sizeof(path), "%s/initdb", bindir);
	assert_int_equal(access(path, X_OK), 0);
	snprintf(path, sizeof(path), "%s/postgres", bindir);
	assert_int_equal(access(path, X_OK), 0);
	free(bindir);
}

static void test_start_use_stop(void **state)
{
	struct nmig_cluster_opts o = {0};
	struct nmig_cluster *c = NULL;
	struct nmig_conn_opts co = {0};
	struct nmig_conn *conn = NULL;
	struct nmig_buf url = NMIG_BUF_INIT;
	struct stat st;
	char *dir;

	(void)state;
	o.tmpdir = getenv("TMPDIR");
	if (nmig_cluster_start(&c, &o))
		fail_msg("cannot start a cluster: %s: %s",
			 nmig_error_last()->message, nmig_error_last()->detail);
	assert_true(c->pid > 0);
	assert_non_null(c->version);
	assert_int_equal(stat(c->datadir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	if (o.tmpdir)
		assert_int_equal(strncmp(c->dir, o.tmpdir, strlen(o.tmpdir)),
				 0);
	nmig_cluster_url(c, "postgres", &url);
	assert_false(nmig_buf_oom(&url));
	co.connect_timeout_ms = 10000;
	assert_int_equal(nmig_conn_open(&conn, url.ptr, &co, NULL), NMIG_OK);
	assert_int_equal(nmig_conn_exec(conn, "create", "CREATE DATABASE t2"),
			 NMIG_OK);
	nmig_conn_close(conn);
	conn = NULL;
	/* Another database of the same cluster, by name. */
	nmig_buf_clear(&url);
	nmig_cluster_url(c, "t2", &url);
	assert_int_equal(nmig_conn_open(&conn, url.ptr, &co, NULL), NMIG_OK);
	assert_string_equal(nmig_conn_info(conn)->dbname, "t2");
	nmig_conn_close(conn);
	/* kill asks for an immediate shutdown; stop reaps and removes. */
	nmig_cluster_kill(c);
	dir = strdup(c->dir);
	assert_non_null(dir);
	assert_int_equal(nmig_cluster_stop(c), NMIG_OK);
	assert_int_equal(c->pid, 0);
	assert_int_not_equal(stat(dir, &st), 0);
	assert_int_equal(nmig_cluster_stop(c), NMIG_OK);
	nmig_cluster_free(c);
	nmig_cluster_free(NULL);
	nmig_cluster_kill(NULL);
	free(dir);
	nmig_buf_release(&url);
}

static void test_free_stops(void **state)
{
	struct nmig_cluster_opts o = {0};
	struct nmig_cluster *c = NULL;
	struct stat st;
	char *dir;

	(void)state;
	o.tmpdir = getenv("TMPDIR");
	if (nmig_cluster_start(&c, &o))
		fail_msg("cannot start a cluster: %s",
			 nmig_error_last()->message);
	dir = strdup(c->dir);
	assert_non_null(dir);
	nmig_cluster_free(c);
	assert_int_not_equal(stat(dir, &st), 0);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find_bindir),
	    cmocka_unit_test(test_start_use_stop),
	    cmocka_unit_test(test_free_stops),
	};

	if (!getenv("DATABASE_URL")) {
		fprintf(stderr, "SKIP: run this through tests/db/db_api.sh\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
