/*
 * Interrupting a run. A signal handler (or another thread) calls
 * nmig_interrupt_request: the library cancels the query it is waiting for
 * on the watched connection (nmig_interrupt_watch in conn.h; PQcancel,
 * which is safe in a signal handler)
 * and stops at its next safe point with NMIG_EINTERRUPTED, so that a
 * stopped deploy stops: the migration that was running is rolled back by
 * the server and nothing after it starts. The state is process-wide, as
 * signals are.
 */
#ifndef NMIG_INTERRUPT_H
#define NMIG_INTERRUPT_H

/*
 * Ask the running operation to stop because of signal signo (any positive
 * number; a signal number by convention), and cancel the query running on
 * the watched connection, if any. Async-signal-safe. The first request's
 * signo is kept.
 */
void nmig_interrupt_request(int signo);

/* The signo of the pending request, 0 when there is none. */
int nmig_interrupt_pending(void);

/* Forget a pending request (a library user starting a new operation). */
void nmig_interrupt_reset(void);

/*
 * The last error for an operation stopped by the pending request: code
 * NMIG_EINTERRUPTED and "interrupted by <signal name>" followed by what
 * (e.g. "before migration X started"), when given. Returns the code.
 */
int nmig_interrupt_error(const char *what);

/* "SIGINT", "SIGTERM", "SIGHUP", ..., or "signal N". */
const char *nmig_interrupt_signame(int signo, char *buf, unsigned cap);

#endif
