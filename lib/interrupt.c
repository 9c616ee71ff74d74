/*
 * The process-wide interrupt request (see interrupt.h). The handler side
 * only stores a sig_atomic_t and calls PQcancel on a cancel object made
 * beforehand, both allowed in a signal handler; everything else happens on
 * the operation's own thread when it next looks.
 */
#include "interrupt.h"
#include "interrupt_internal.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static volatile sig_atomic_t pending;
static volatile sig_atomic_t armed;
static PGcancel *watched_cancel;
static const void *watched;

/* nmig_interrupt_request: see interrupt.h. */
void nmig_interrupt_request(int signo)
{
	char errbuf[256];

	if (signo <= 0)
		signo = 1;
	if (!pending)
		pending = signo;
	if (armed && watched_cancel)
		(void)PQcancel(watched_cancel, errbuf, (int)sizeof(errbuf));
}

/* nmig_interrupt_pending: see interrupt.h. */
int nmig_interrupt_pending(void)
{
	return (int)pending;
}

/* nmig_interrupt_reset: see interrupt.h. */
void nmig_interrupt_reset(void)
{
	pending = 0;
}

/* nmig_interrupt_arm: see interrupt_internal.h. */
void nmig_interrupt_arm(struct pg_cancel *cancel, const void *who)
{
	armed = 0;
	watched_cancel = cancel;
	watched = who;
	if (watched_cancel)
		armed = 1;
}

/* nmig_interrupt_armed_by: see interrupt_internal.h. */
const void *nmig_interrupt_armed_by(void)
{
	return watched;
}

/* nmig_interrupt_signame: see interrupt.h. */
const char *nmig_interrupt_signame(int signo, char *buf, unsigned cap)
{
	switch (signo) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	case SIGQUIT:
		return "SIGQUIT";
	default:
		snprintf(buf, cap, "signal %d", signo);
		return buf;
	}
}

/* nmig_interrupt_error: see interrupt.h. */
int nmig_interrupt_error(const char *what)
{
	char buf[32];
	const char *name =
	    nmig_interrupt_signame((int)pending, buf, sizeof(buf));

	if (what && *what)
		return nmig_error_set(NMIG_EINTERRUPTED, "interrupted by %s %s",
				      name, what);
	return nmig_error_set(NMIG_EINTERRUPTED, "interrupted by %s", name);
}
