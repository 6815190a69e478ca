/*
 * clock - the few time readings mandi needs, in integer milliseconds.
 *
 * Wall-clock time (clock_now_ms) is for timestamps that leave the process:
 * log lines, JWT iat/exp, database rows. Monotonic time (clock_mono_*) is for
 * measuring intervals - deadlines, heartbeats, latencies - because it never
 * jumps when NTP or an operator adjusts the system clock.
 */
#ifndef MANDI_CLOCK_H
#define MANDI_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_now_ms(void);
/* Milliseconds on CLOCK_MONOTONIC; only differences are meaningful. */
int64_t clock_mono_ms(void);
/* Microseconds on CLOCK_MONOTONIC, for latency measurements. */
int64_t clock_mono_us(void);
/* Sleeps at least `ms` milliseconds, resuming after signal interruptions.
 * Non-positive values return at once. */
void clock_sleep_ms(int ms);

#endif
