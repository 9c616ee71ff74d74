/*
 * The monotonic clock and sleeping, as every timed part of libnmig and the
 * commands use them: elapsed times, deadlines, retry backoff and polling.
 */
#ifndef NMIG_CLOCK_H
#define NMIG_CLOCK_H

/* Milliseconds on the monotonic clock (an arbitrary origin). */
double nmig_clock_ms(void);

/*
 * Sleep ms milliseconds, resuming after a signal interrupts the sleep
 * unless an interrupt was requested (interrupt.h); nothing when ms <= 0.
 */
void nmig_clock_sleep_ms(int ms);

#endif
