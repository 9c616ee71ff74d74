/*
 * Unit tests of interrupt.h: a request is kept (the first signal wins),
 * reported as NMIG_EINTERRUPTED with the signal's name, sleeps stop early
 * once one is pending, and nothing is cancelled without a watched
 * connection. Real cancellation of a running migration is tested against
 * a server in tests/db/interrupt.sh.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "conn.h"
#include "error.h"
#include "interrupt.h"

static int reset(void **state)
{
	(void)state;
	nmig_interrupt_reset();
	nmig_interrupt_watch(NULL);
	return 0;
}

static void test_request(void **state)
{
	(void)state;
	assert_int_equal(nmig_interrupt_pending(), 0);
	nmig_interrupt_request(SIGTERM);
	nmig_interrupt_request(SIGINT);
	assert_int_equal(nmig_interrupt_pending(), SIGTERM);
	assert_int_equal(nmig_interrupt_error("before migration 1 started"),
			 NMIG_EINTERRUPTED);
	assert_string_equal(
	    nmig_error_last()->message,
	    "interrupted by SIGTERM before migration 1 started");
	nmig_interrupt_reset();
	assert_int_equal(nmig_interrupt_pending(), 0);
}

static void test_names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(nmig_interrupt_signame(SIGINT, buf, sizeof(buf)),
			    "SIGINT");
	assert_string_equal(nmig_interrupt_signame(SIGHUP, buf, sizeof(buf)),
			    "SIGHUP");
	assert_string_equal(nmig_interrupt_signame(42, buf, sizeof(buf)),
			    "signal 42");
}

/* A pending request ends a sleep that a signal interrupts. */
static void on_alarm(int signo)
{
	nmig_interrupt_request(signo);
}

static void test_sleep_stops(void **state)
{
	struct sigaction sa;
	double t0;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	t0 = nmig_clock_ms();
	nmig_clock_sleep_ms(20000);
	/* not a timing goal: 20 s would mean the request was ignored */
	assert_true(nmig_clock_ms() - t0 < 15000);
	assert_int_equal(nmig_interrupt_pending(), SIGALRM);
	assert_int_equal(nmig_interrupt_watching(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_request, reset),
	    cmocka_unit_test_setup(test_names, reset),
	    cmocka_unit_test_setup(test_sleep_stops, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
