/*
 * The arming side of an interrupt request, for the connection module
 * (conn.c implements nmig_interrupt_watch with it), so that interrupts
 * know no connection: conn depends on interrupt, never the reverse.
 */
#ifndef NMIG_INTERRUPT_INTERNAL_H
#define NMIG_INTERRUPT_INTERNAL_H

struct pg_cancel; /* libpq's PGcancel */

/*
 * Make cancel the object a request hands to PQcancel (NULL: none), on
 * behalf of who (nmig_interrupt_armed_by tells it back). Not
 * async-signal-safe: call it from the thread that runs the operation.
 */
void nmig_interrupt_arm(struct pg_cancel *cancel, const void *who);

/* The who of the last nmig_interrupt_arm. */
const void *nmig_interrupt_armed_by(void);

#endif
