/*
 * test_cron - cron expressions: parsing (every field error named), next
 * occurrences in India time against times computed independently, the
 * day-of-month / day-of-week rule, the India dates of {{today}} and
 * {{yesterday}}, and 1,000 random expressions against a walk over days
 * and minutes.
 */
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "cron.h"

#define BASE 1796333820LL /* 2026-12-04 03:07 India time, a Friday */

static int64_t next_of(const char *expr, int64_t after)
{
    cron_t c;
    char why[128];
    if (cron_parse(expr, &c, why, sizeof why) < 0) {
        fprintf(stderr, "parse %s: %s\n", expr, why);
        return -2;
    }
    return cron_next(&c, after);
}

static void test_known_times(void)
{
    CHECK_INT(next_of("*/30 * * * *", BASE), 1796335200LL);         /* 03:30 */
    CHECK_INT(next_of("*/30 * * * *", 1796335200LL), 1796337000LL); /* strictly after: 04:00 */
    CHECK_INT(next_of("0 0 * * *", BASE), 1796409000LL);            /* midnight, 5 Dec */
    CHECK_INT(next_of("30 0 1 1 *", BASE), 1798743600LL);           /* 1 Jan 2027 00:30 */
    CHECK_INT(next_of("0 9 * * 1", BASE), 1796614200LL);            /* Monday 7 Dec 09:00 */
    CHECK_INT(next_of("0 0 29 2 *", BASE), 1835375400LL);           /* 29 Feb 2028 */
    /* Both day fields restricted: the 13th or a Friday, and today is Friday. */
    CHECK_INT(next_of("0 12 13 * 5", BASE), 1796365800LL);
    CHECK_INT(next_of("0 12 13 * 7", BASE), next_of("0 12 13 * 0", BASE)); /* 7 is Sunday */
    CHECK_INT(next_of("0 0 31 2 *", BASE), -1);                            /* never */
    CHECK_INT(next_of("* * * * *", BASE), BASE - (BASE % 60) + 60);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *expr, *names;
    } bad[] = {
        {"", "minute"},
        {"* * * *", "day of week"},
        {"60 * * * *", "minute"},
        {"* 24 * * *", "hour"},
        {"* * 0 * *", "day of month"},
        {"* * * 13 *", "month"},
        {"* * * * 8", "day of week"},
        {"*/0 * * * *", "minute"},
        {"5-1 * * * *", "minute"},
        {"a * * * *", "minute"},
        {"1- * * * *", "minute"},
        {"1,,2 * * * *", "minute"},
        {"* * * * * *", "more than five"},
        {"* * * JAN *", "month"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cron_t c;
        char why[128] = "";
        CHECK_INT(cron_parse(bad[i].expr, &c, why, sizeof why), -1);
        if (!strstr(why, bad[i].names))
            fprintf(stderr, "%s: %s\n", bad[i].expr, why);
        CHECK(strstr(why, bad[i].names) != NULL);
    }
    cron_t c;
    CHECK_INT(cron_parse(NULL, &c, NULL, 0), -1);
    CHECK_INT(cron_parse("  1,5-10/2  */6 1-31 */3 1-5 ", &c, NULL, 0), 0);
    CHECK(c.minutes == ((1ULL << 1) | (1ULL << 5) | (1ULL << 7) | (1ULL << 9)));
    CHECK_INT(c.hours, (1 << 0) | (1 << 6) | (1 << 12) | (1 << 18));
    CHECK_INT(c.months, (1 << 1) | (1 << 4) | (1 << 7) | (1 << 10));
    CHECK_INT(c.weekdays, 0x3e);
    CHECK(!c.any_day);
}

static void test_india_dates(void)
{
    char d[11];
    cron_india_date(BASE, 0, d);
    CHECK_STR(d, "2026-12-04");
    cron_india_date(BASE, -1, d);
    CHECK_STR(d, "2026-12-03");
    /* 18:29:59 UTC on 3 Dec is 23:59:59 India time; a second later is the 4th. */
    cron_india_date(1796322599LL, 0, d);
    CHECK_STR(d, "2026-12-03");
    cron_india_date(1796322600LL, 0, d);
    CHECK_STR(d, "2026-12-04");
}

/* The model: walk the days in India time, and within a matching day its
 * minutes, reading hour and minute arithmetically. */
static int model_day(const cron_t *c, int64_t day_start)
{
    time_t tt = (time_t)(day_start + 19800);
    struct tm tm;
    gmtime_r(&tt, &tm);
    int dom = (c->days >> tm.tm_mday) & 1, dow = (c->weekdays >> tm.tm_wday) & 1;
    int day = c->any_day && c->any_weekday ? 1
              : c->any_day                 ? dow
              : c->any_weekday             ? dom
                                           : dom || dow;
    return day && ((c->months >> (tm.tm_mon + 1)) & 1);
}

static int model_matches(const cron_t *c, int64_t t)
{
    int64_t local = t + 19800;
    int minute = (int)(local / 60 % 60), hour = (int)(local / 3600 % 24);
    return ((c->minutes >> minute) & 1) && ((c->hours >> hour) & 1) &&
           model_day(c, t - local % 86400);
}

static int64_t model_next(const cron_t *c, int64_t after, int days)
{
    int64_t first = after - after % 60 + 60;
    int64_t day_start = first - (first + 19800) % 86400;
    for (int d = 0; d <= days; d++, day_start += 86400) {
        if (!model_day(c, day_start))
            continue;
        for (int64_t t = day_start > first ? day_start : first; t < day_start + 86400; t += 60)
            if (model_matches(c, t))
                return t;
    }
    return -1;
}

static void test_random_against_walk(void)
{
    srand(7);
    static const char *const parts[5][6] = {
        {"*", "*/7", "0", "15,45", "10-20/5", "59"}, {"*", "*/5", "0", "23", "9-17", "6,18"},
        {"*", "1", "15", "28-31", "*/10", "13"},     {"*", "*/2", "2", "12", "6-8", "1,7"},
        {"*", "0", "1-5", "6", "*/3", "5,7"},
    };
    int mismatches = 0;
    for (int i = 0; i < 1000; i++) {
        char expr[96];
        snprintf(expr, sizeof expr, "%s %s %s %s %s", parts[0][rand() % 6], parts[1][rand() % 6],
                 parts[2][rand() % 6], parts[3][rand() % 6], parts[4][rand() % 6]);
        cron_t c;
        if (cron_parse(expr, &c, NULL, 0) < 0) {
            mismatches++;
            continue;
        }
        int64_t after = BASE + (int64_t)(rand() % (400 * 86400));
        int64_t got = cron_next(&c, after);
        /* The walk covers 400 days; past that, got must still match. */
        int64_t want = model_next(&c, after, 400);
        if (want >= 0 ? got != want : (got >= 0 && !model_matches(&c, got))) {
            mismatches++;
            fprintf(stderr, "%s after %lld: got %lld want %lld\n", expr, (long long)after,
                    (long long)got, (long long)want);
        }
    }
    CHECK_INT(mismatches, 0);
}

int main(void)
{
    test_known_times();
    test_parse_errors();
    test_india_dates();
    test_random_against_walk();
    return check_summary();
}
