/*
 * cron - five-field cron expressions, evaluated in India time.
 *
 * "minute hour day-of-month month day-of-week", each field "*", a number,
 * a range "a-b", a step "*\/n" or "a-b/n", or a comma list of those.
 * Day of week is 0-7 (0 and 7 are Sunday). As in cron, when both day
 * fields are restricted a day matches if either does. Times are India
 * Standard Time (UTC+05:30, no daylight saving), the time every schedule
 * of mandi is written in.
 */
#ifndef MANDI_CRON_H
#define MANDI_CRON_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t minutes; /* bit m: minute m (0-59) */
    uint32_t hours;   /* bit h (0-23) */
    uint32_t days;    /* bit d (1-31) */
    uint16_t months;  /* bit m (1-12) */
    uint8_t weekdays; /* bit w (0-6, Sunday 0) */
    int any_day;      /* day of month was "*" */
    int any_weekday;  /* day of week was "*" */
} cron_t;

/* Parses expr into c. Returns 0, or -1 with a reason naming the field in
 * why (cap bytes). */
int cron_parse(const char *expr, cron_t *c, char *why, size_t cap);

/* The first occurrence strictly after `after` (Unix seconds), as Unix
 * seconds; -1 when there is none within five years (e.g. "0 0 31 2 *"). */
int64_t cron_next(const cron_t *c, int64_t after);

/* The India date (YYYY-MM-DD, 11 bytes) of Unix time t shifted by
 * days_delta days: what a schedule's "{{today}}"/"{{yesterday}}" mean. */
void cron_india_date(int64_t t, int days_delta, char out[11]);

#endif
