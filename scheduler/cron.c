/*
 * cron - cron expressions (see cron.h).
 *
 * Fields become bit sets once, at parse time; the next occurrence is found
 * by walking India-time calendar units from the coarsest that does not
 * match (a wrong month skips to the next month's first minute, a wrong day
 * to the next midnight, a wrong hour to the next hour), so even a yearly
 * schedule takes a few hundred steps, not half a million minutes.
 */
#include "cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IST_OFFSET_S (5 * 3600 + 30 * 60)
#define HORIZON_S    (5LL * 366 * 24 * 3600)

typedef struct {
    const char *name;
    int lo, hi;
} field_t;

static const field_t fields[5] = {
    {"minute", 0, 59}, {"hour", 0, 23},       {"day of month", 1, 31},
    {"month", 1, 12},  {"day of week", 0, 7},
};

static int say(char *why, size_t cap, const char *fmt, const char *name)
{
    if (why && cap)
        snprintf(why, cap, fmt, name);
    return -1;
}

/* A decimal number at *p, advanced past it; -1 when none. */
static long number(const char **p)
{
    if (**p < '0' || **p > '9')
        return -1;
    char *end;
    long v = strtol(*p, &end, 10);
    *p = end;
    return v;
}

/* One field's text (len bytes) into a bit set. */
static int parse_field(const char *text, size_t len, const field_t *f, uint64_t *bits, int *star,
                       char *why, size_t cap)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return say(why, cap, "the %s field is empty or too long", f->name);
    memcpy(buf, text, len);
    buf[len] = '\0';
    *bits = 0;
    *star = strcmp(buf, "*") == 0;
    for (char *item = buf, *next; item; item = next) {
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        const char *p = item;
        long lo, hi, step = 1;
        if (*p == '*') {
            lo = f->lo;
            hi = f->hi;
            p++;
        } else {
            if ((lo = number(&p)) < 0)
                return say(why, cap, "the %s field has something that is not a number", f->name);
            hi = lo;
            if (*p == '-') {
                p++;
                if ((hi = number(&p)) < 0)
                    return say(why, cap, "the %s field has a range without an end", f->name);
            }
        }
        if (*p == '/') {
            p++;
            if ((step = number(&p)) <= 0)
                return say(why, cap, "the %s field has a step that is not a positive number",
                           f->name);
        }
        if (*p != '\0')
            return say(why, cap, "the %s field has something that is not a number", f->name);
        if (lo < f->lo || hi > f->hi || lo > hi)
            return say(why, cap, "the %s field is out of range", f->name);
        for (long v = lo; v <= hi; v += step)
            *bits |= 1ULL << v;
    }
    return 0;
}

int cron_parse(const char *expr, cron_t *c, char *why, size_t cap)
{
    memset(c, 0, sizeof *c);
    uint64_t bits[5];
    int star[5];
    const char *p = expr ? expr : "";
    for (int i = 0; i < 5; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (p == start)
            return say(why, cap, "the %s field is missing (five fields are needed)",
                       fields[i].name);
        if (parse_field(start, (size_t)(p - start), &fields[i], &bits[i], &star[i], why, cap) < 0)
            return -1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return say(why, cap, "%s", "more than five fields");
    c->minutes = bits[0];
    c->hours = (uint32_t)bits[1];
    c->days = (uint32_t)bits[2];
    c->months = (uint16_t)bits[3];
    /* 7 is Sunday too. */
    c->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);
    c->any_day = star[2];
    c->any_weekday = star[4];
    return 0;
}

static int day_matches(const cron_t *c, const struct tm *tm)
{
    int by_day = (c->days >> tm->tm_mday) & 1;
    int by_weekday = (c->weekdays >> tm->tm_wday) & 1;
    if (c->any_day && c->any_weekday)
        return 1;
    if (c->any_day)
        return by_weekday;
    if (c->any_weekday)
        return by_day;
    return by_day || by_weekday;
}

int64_t cron_next(const cron_t *c, int64_t after)
{
    /* India local time, as if it were UTC: gmtime and timegm do the rest. */
    int64_t local = after + IST_OFFSET_S;
    int64_t t = local - (local % 60 + 60) % 60 + 60;
    const int64_t end = local + HORIZON_S;
    while (t <= end) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        if (!((c->months >> (tm.tm_mon + 1)) & 1)) {
            tm.tm_mon += 1;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else if (!day_matches(c, &tm)) {
            tm.tm_mday += 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else if (!((c->hours >> tm.tm_hour) & 1)) {
            tm.tm_hour += 1;
            tm.tm_min = tm.tm_sec = 0;
        } else if (!((c->minutes >> tm.tm_min) & 1)) {
            tm.tm_min += 1;
            tm.tm_sec = 0;
        } else {
            return t - IST_OFFSET_S;
        }
        t = (int64_t)timegm(&tm); /* normalises the overflowed field */
    }
    return -1;
}

void cron_india_date(int64_t t, int days_delta, char out[11])
{
    time_t tt = (time_t)(t + IST_OFFSET_S + (int64_t)days_delta * 86400);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}
