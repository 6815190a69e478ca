/*
 * clock - wall-clock and monotonic time in integer units (see clock.h).
 */
#include "clock.h"

#include <errno.h>
#include <time.h>

static struct timespec clock_read(clockid_t id)
{
    struct timespec ts = {0, 0};
    /* clock_gettime cannot fail for these two clocks on Linux; the zero
     * default only guards against a hypothetical platform that lacks them. */
    (void)clock_gettime(id, &ts);
    return ts;
}

int64_t clock_now_ms(void)
{
    struct timespec ts = clock_read(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts = clock_read(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts = clock_read(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec req = {ms / 1000, (long)(ms % 1000) * 1000000L};
    struct timespec rem;
    /* nanosleep reports the unslept remainder when a signal interrupts it;
     * carrying on with that remainder keeps the promised minimum duration. */
    while (nanosleep(&req, &rem) == -1 && errno == EINTR)
        req = rem;
}
