/*
 * The monotonic clock and sleeping (see clock.h): one definition for the
 * connection retries, the lock polling, the executor's backoff and the
 * elapsed times the commands print.
 */
#include "clock.h"

#include <errno.h>
#include <time.h>

#include "interrupt.h"

/* nmig_clock_ms: see clock.h. */
double nmig_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* nmig_clock_sleep_ms: see clock.h. */
void nmig_clock_sleep_ms(int ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR &&
	       !nmig_interrupt_pending())
		;
}
