/*
 * Signals during a run that changes the database: SIGINT, SIGTERM and
 * SIGHUP ask libnmig to stop (interrupt.h), which cancels the running
 * migration on the server and stops before the next one; a second signal
 * ends nmig at once, as it would have without the handler.
 */
#ifndef NMIG_CMD_SIGNALS_H
#define NMIG_CMD_SIGNALS_H

/* Install the handlers (idempotent). */
void cli_signals_install(void);

/*
 * The exit code of a run stopped by a signal: 128 + the signal number, as
 * a shell reports a process killed by it (130 for SIGINT, 143 SIGTERM,
 * 129 SIGHUP).
 */
int cli_signals_exit_code(void);

#endif
