/*
 * Unit tests of the connection layer's pure parts (lib/conn.c), with no
 * server: which hosts are local, URL parsing with libpq's environment
 * defaults, the TLS policy table (refusals, Neon and pooler warnings),
 * password redaction in every form a URL carries it, the user@host:port/db
 * display, the transient-failure classifier and duration parsing. The
 * only connection attempted is one the policy refuses before any lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "conn_internal.h"
#include "diag.h"
#include "error.h"

/* A clean libpq environment, so that defaults are predictable. */
static int setup_env(void **state)
{
	static const char *const vars[] = {
	    "PGHOST",		"PGHOSTADDR",
	    "PGPORT",		"PGDATABASE",
	    "PGUSER",		"PGSERVICE",
	    "PGSSLMODE",	"PGPASSWORD",
	    "PGCHANNELBINDING", "PGCONNECT_TIMEOUT",
	    "PGSERVICEFILE",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("PGUSER", "tester", 1);
	setenv("PGSYSCONFDIR", "/nonexistent-nmig-test", 1);
	return 0;
}

static void test_host_is_local(void **state)
{
	static const struct {
		const char *host;
		int local;
	} cases[] = {
	    {"", 1},
	    {"/var/run/postgresql", 1},
	    {"/tmp", 1},
	    {"@abstract", 1},
	    {"localhost", 1},
	    {"LOCALHOST", 1},
	    {"127.0.0.1", 1},
	    {"127.1.2.3", 1},
	    {"::1", 1},
	    {"[::1]", 1},
	    {"::ffff:127.0.0.1", 1},
	    {"128.0.0.1", 0},
	    {"10.0.0.5", 0},
	    {"::2", 0},
	    {"db.example.com", 0},
	    {"localhost.example.com", 0},
	    {"mylocalhost", 0},
	    {"ep-cool-1234.us-east-2.aws.neon.tech", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (nmig_host_is_local(cases[i].host) != cases[i].local)
			print_error("host '%s'\n", cases[i].host);
		assert_int_equal(nmig_host_is_local(cases[i].host),
				 cases[i].local);
	}
}

static void test_parse_url(void **state)
{
	struct nmig_conninfo ci;
	struct nmig_buf b = NMIG_BUF_INIT;

	(void)state;
	assert_int_equal(nmig_conninfo_parse(&ci, "postgres://app:s3cret@"
						  "db.example.com:6543/appdb"
						  "?sslmode=verify-full"),
			 NMIG_OK);
	assert_string_equal(ci.user, "app");
	assert_string_equal(ci.host, "db.example.com");
	assert_string_equal(ci.port, "6543");
	assert_string_equal(ci.dbname, "appdb");
	assert_string_equal(ci.sslmode, "verify-full");
	assert_string_equal(ci.password, "s3cret");
	assert_int_equal(ci.local, 0);
	assert_string_equal(ci.remote_host, "db.example.com");
	nmig_conninfo_display(&ci, &b);
	assert_string_equal(b.ptr, "app@db.example.com:6543/appdb");
	nmig_conninfo_release(&ci);
	nmig_buf_clear(&b);

	/* key=value form; dbname defaults to the user */
	assert_int_equal(nmig_conninfo_parse(&ci, "host=127.0.0.1 user=bob "
						  "password='x y'"),
			 NMIG_OK);
	assert_string_equal(ci.dbname, "bob");
	assert_string_equal(ci.sslmode, "prefer");
	assert_string_equal(ci.password, "x y");
	assert_int_equal(ci.local, 1);
	nmig_conninfo_display(&ci, &b);
	assert_string_equal(b.ptr, "bob@127.0.0.1:5432/bob");
	nmig_conninfo_release(&ci);
	nmig_buf_clear(&b);

	/* empty URL: libpq's environment */
	setenv("PGHOST", "/tmp/sock", 1);
	setenv("PGDATABASE", "envdb", 1);
	setenv("PGSSLMODE", "require", 1);
	assert_int_equal(nmig_conninfo_parse(&ci, ""), NMIG_OK);
	assert_string_equal(ci.host, "/tmp/sock");
	assert_string_equal(ci.user, "tester");
	assert_string_equal(ci.dbname, "envdb");
	assert_string_equal(ci.sslmode, "require");
	assert_null(ci.password);
	assert_int_equal(ci.local, 1);
	nmig_conninfo_release(&ci);
	/* the URL wins over the environment */
	assert_int_equal(nmig_conninfo_parse(&ci, "postgresql://h.example/x"
						  "?sslmode=disable"),
			 NMIG_OK);
	assert_string_equal(ci.host, "h.example");
	assert_string_equal(ci.sslmode, "disable");
	assert_string_equal(ci.dbname, "x");
	nmig_conninfo_release(&ci);
	unsetenv("PGHOST");
	unsetenv("PGDATABASE");
	unsetenv("PGSSLMODE");

	/* no host at all: the default socket */
	assert_int_equal(nmig_conninfo_parse(&ci, "dbname=z"), NMIG_OK);
	nmig_conninfo_display(&ci, &b);
	assert_string_equal(b.ptr, "tester@[local]:5432/z");
	nmig_conninfo_release(&ci);
	nmig_buf_release(&b);
}

static void test_parse_multi_host(void **state)
{
	struct nmig_conninfo ci;

	(void)state;
	assert_int_equal(nmig_conninfo_parse(&ci, "postgres://u@localhost,"
						  "replica.example.com/db"),
			 NMIG_OK);
	assert_int_equal(ci.local, 0);
	assert_string_equal(ci.remote_host, "replica.example.com");
	nmig_conninfo_release(&ci);
	/* hostaddr decides where the connection goes */
	assert_int_equal(nmig_conninfo_parse(&ci, "host=db.example.com "
						  "hostaddr=127.0.0.1"),
			 NMIG_OK);
	assert_int_equal(ci.local, 1);
	nmig_conninfo_release(&ci);
	assert_int_equal(nmig_conninfo_parse(&ci, "host=localhost "
						  "hostaddr=10.1.2.3"),
			 NMIG_OK);
	assert_int_equal(ci.local, 0);
	assert_string_equal(ci.remote_host, "localhost");
	nmig_conninfo_release(&ci);
}

static void test_malformed_url_redacted(void **state)
{
	static const char *const urls[] = {
	    "postgres://u:canaryPW-xyz@[::1/db",
	    "postgres://u:canaryPW-xyz@host/db?bogus=1",
	    "host=h password=canaryPW-xyz port",
	    "postgres://u:canaryPW%2Dxyz@h/db?x=%zz",
	};
	struct nmig_conninfo ci;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		const struct nmig_error *e;

		assert_int_equal(nmig_conninfo_parse(&ci, urls[i]),
				 NMIG_ECONNECT);
		e = nmig_error_last();
		if (strstr(e->message, "canaryPW"))
			print_error("leak: %s\n", e->message);
		assert_non_null(strstr(e->message, "malformed database URL"));
		assert_null(strstr(e->message, "canaryPW"));
		assert_null(strstr(e->detail, "canaryPW"));
		assert_null(strstr(e->hint, "canaryPW"));
	}
}

struct policy_case {
	const char *url;
	int allow_insecure;
	int code;	     /* NMIG_OK or NMIG_ECONNECT */
	const char *warning; /* rule of an expected warning, or NULL */
};

static const struct policy_case policy_cases[] = {
    {"postgres://u@db.example.com/app", 0, NMIG_ECONNECT, NULL},
    {"postgres://u@db.example.com/app?sslmode=prefer", 0, NMIG_ECONNECT, NULL},
    {"postgres://u@db.example.com/app?sslmode=allow", 0, NMIG_ECONNECT, NULL},
    {"postgres://u@db.example.com/app?sslmode=disable", 0, NMIG_ECONNECT, NULL},
    {"postgres://u@db.example.com/app?sslmode=bogus", 0, NMIG_ECONNECT, NULL},
    {"postgres://u@db.example.com/app?sslmode=require", 0, NMIG_OK, NULL},
    {"postgres://u@db.example.com/app?sslmode=verify-ca", 0, NMIG_OK, NULL},
    {"postgres://u@db.example.com/app?sslmode=verify-full", 0, NMIG_OK, NULL},
    {"postgres://u@db.example.com/app", 1, NMIG_OK, "insecure-connection"},
    {"postgres://u@127.0.0.1:5432/app", 0, NMIG_OK, NULL},
    {"postgres://u@localhost/app?sslmode=disable", 0, NMIG_OK, NULL},
    {"postgres://u@[::1]/app", 0, NMIG_OK, NULL},
    {"host=/var/run/postgresql dbname=app", 0, NMIG_OK, NULL},
    {"dbname=app", 0, NMIG_OK, NULL},
    {"postgres://u@ep-x-1.us-east-2.aws.neon.tech/app?sslmode=require", 0,
     NMIG_OK, "neon-tls"},
    {"postgres://u@ep-x-1.us-east-2.aws.neon.tech/app"
     "?sslmode=verify-full&channel_binding=require",
     0, NMIG_OK, NULL},
    {"postgres://u@ep-x-1-pooler.us-east-2.aws.neon.tech/app"
     "?sslmode=verify-full&channel_binding=require",
     0, NMIG_OK, "pooler"},
    {"postgres://u@ep-x-1.us-east-2.aws.neon.tech/app", 0, NMIG_ECONNECT, NULL},
};

static void test_policy_table(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++) {
		const struct policy_case *c = &policy_cases[i];
		struct nmig_diags d = NMIG_DIAGS_INIT;
		struct nmig_conninfo ci;
		int rc, found = 0;

		assert_int_equal(nmig_conninfo_parse(&ci, c->url), NMIG_OK);
		rc = nmig_conn_policy(&ci, c->allow_insecure, &d);
		if (rc != c->code)
			print_error("url '%s': rc %d\n", c->url, rc);
		assert_int_equal(rc, c->code);
		if (rc == NMIG_ECONNECT) {
			assert_non_null(strstr(nmig_error_last()->message,
					       "refusing to connect to"));
			assert_non_null(
			    strstr(nmig_error_last()->hint, "sslmode=require"));
		}
		for (j = 0; j < d.n; j++)
			if (c->warning &&
			    strcmp(d.items[j].rule, c->warning) == 0)
				found = 1;
		if (c->warning)
			assert_true(found);
		else if (rc == NMIG_OK)
			assert_int_equal(d.n, 0);
		nmig_diags_release(&d);
		nmig_conninfo_release(&ci);
	}
}

/* The policy refuses before any name is looked up: no DNS for .example. */
static void test_open_refuses_before_connecting(void **state)
{
	struct nmig_conn *c = (struct nmig_conn *)1;
	struct nmig_conn_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.connect_timeout_ms = 1000;
	assert_int_equal(nmig_conn_open(&c,
					"postgres://u:canaryPW-1@"
					"db.example.com/app",
					&o, NULL),
			 NMIG_ECONNECT);
	assert_null(c);
	assert_string_equal(nmig_error_last()->message,
			    "refusing to connect to 'db.example.com' without "
			    "TLS");
}

struct redact_case {
	const char *url;
	const char *text;
	const char *expect;
};

static const struct redact_case redact_cases[] = {
    {"postgres://u:pw123@h/db", "postgres://u:pw123@h/db failed",
     "postgres://u:***@h/db failed"},
    {"postgres://u:p%40ss@h/db", "at u:p%40ss@h", "at u:***@h"},
    {"host=h password='a b' dbname=d", "x password='a b' y",
     "x password='***' y"},
    {"host=h password=plain dbname=d", "x password=plain y",
     "x password=*** y"},
    {"postgres://h/db?password=qp&sslmode=require", "?password=qp!",
     "?password=***!"},
    {"postgres://u:we@ird/x@h/db", "u:we@ird/x@h", "u:***@h"},
    {"postgres://u@h/db", "no secret here", "no secret here"},
    {"", "nothing", "nothing"},
    /* by position, never a search over prose: a password that is also
     * a word (or a letter) leaves the words of a message alone */
    {"postgres://postgres:postgres@h/db",
     "password authentication failed for user \"postgres\"",
     "password authentication failed for user \"postgres\""},
    {"postgres://u:a@127.0.0.1/db",
     "connection to server at \"127.0.0.1\" failed",
     "connection to server at \"127.0.0.1\" failed"},
    {"postgres://u:a@127.0.0.1/db", "postgres://u:a@127.0.0.1/db",
     "postgres://u:***@127.0.0.1/db"},
};

static void test_redact(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(redact_cases) / sizeof(redact_cases[0]); i++) {
		struct nmig_buf b = NMIG_BUF_INIT;

		nmig_conn_redact(redact_cases[i].url, redact_cases[i].text, &b);
		if (strcmp(b.ptr, redact_cases[i].expect) != 0)
			print_error("case %zu: got '%s'\n", i, b.ptr);
		assert_string_equal(b.ptr, redact_cases[i].expect);
		nmig_buf_release(&b);
	}
}

static void test_transient(void **state)
{
	static const struct {
		const char *msg;
		int transient;
	} cases[] = {
	    {"connection to server at \"127.0.0.1\", port 1 failed: "
	     "Connection refused\n\tIs the server running on that host "
	     "and accepting TCP/IP connections?\n",
	     1},
	    {"connection to server at \"x\" failed: timeout expired\n", 1},
	    {"FATAL:  the database system is starting up\n", 1},
	    {"FATAL:  sorry, too many clients already\n", 1},
	    {"FATAL:  remaining connection slots are reserved for "
	     "non-replication superuser connections",
	     1},
	    {"ERROR:  Couldn't connect to compute node", 1},
	    {"FATAL:  password authentication failed for user \"u\"", 0},
	    {"could not translate host name \"x.invalid\" to address: "
	     "Name or service not known",
	     0},
	    {"FATAL:  database \"nope\" does not exist", 0},
	    {"server does not support SSL, but SSL was required", 0},
	    {"invalid integer value \"x\" for connection option \"port\"", 0},
	    {"something else entirely", 0},
	    {NULL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (nmig_conn_error_is_transient(cases[i].msg) !=
		    cases[i].transient)
			print_error("message '%s'\n", cases[i].msg);
		assert_int_equal(nmig_conn_error_is_transient(cases[i].msg),
				 cases[i].transient);
	}
}

static void test_duration(void **state)
{
	static const struct {
		const char *s;
		int ok, ms;
	} cases[] = {
	    {"500ms", 1, 500},	{"5s", 1, 5000},     {"2min", 1, 120000},
	    {"1h", 1, 3600000}, {"250", 1, 250},     {"0", 1, 0},
	    {"1.5s", 1, 1500},	{"2m", 1, 120000},   {"", 0, 0},
	    {"-1s", 0, 0},	{"5 s", 0, 0},	     {"s", 0, 0},
	    {"5d", 0, 0},	{"99999999h", 0, 0}, {" 5s", 0, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ms = -1, rc = nmig_duration_parse(cases[i].s, "--x", &ms);

		if ((rc == NMIG_OK) != cases[i].ok)
			print_error("duration '%s'\n", cases[i].s);
		assert_int_equal(rc == NMIG_OK, cases[i].ok);
		if (cases[i].ok)
			assert_int_equal(ms, cases[i].ms);
		else
			assert_non_null(
			    strstr(nmig_error_last()->message, "--x"));
	}
}

/* The verify-full hint works on the libpq it runs with. */
static void test_verify_params(void **state)
{
	const char *p = nmig_conn_verify_params();

	(void)state;
	assert_non_null(strstr(p, "sslmode=verify-full&sslrootcert="));
	if (PQlibVersion() >= 160000)
		assert_string_equal(p, "sslmode=verify-full&sslrootcert=system");
	else
		assert_non_null(strstr(p, "sslrootcert=/etc/ssl/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_is_local),
	    cmocka_unit_test(test_verify_params),
	    cmocka_unit_test(test_parse_url),
	    cmocka_unit_test(test_parse_multi_host),
	    cmocka_unit_test(test_malformed_url_redacted),
	    cmocka_unit_test(test_policy_table),
	    cmocka_unit_test(test_open_refuses_before_connecting),
	    cmocka_unit_test(test_redact),
	    cmocka_unit_test(test_transient),
	    cmocka_unit_test(test_duration),
	};

	return cmocka_run_group_tests(tests, setup_env, NULL);
}
