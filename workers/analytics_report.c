/*
 * analytics_report - the admin dashboard, the reports over a date range and
 * the daily snapshot.
 *
 * Every figure is defined once, in SQL (sql/040_analytics.sql and the
 * statements below), and documented in docs/API.md section 13. Days are
 * India days (Asia/Kolkata): an order at 23:00 UTC counts on the next day.
 * A caller's reach decides which zones are counted: ADMIN and SUPER_ADMIN
 * see all (or the one they name), a LOCATION_ADMIN only its own.
 */
#include "analytics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "mp.h"

/* Longest range a report covers: three years of days is ~1100 rows. */
#define RANGE_MAX_DAYS     1096
#define DEFAULT_RANGE_DAYS 30
#define ZONE_MAX           64

static const char *const GRANULARITIES[] = {"day", "week", "month", NULL};

/* Report statements take $1 role, $2 the caller's zones, $3 the zone asked
 * for (NULL: none), $4 startDate, $5 endDate, $6 granularity, $7 limit;
 * REPORT_P makes them the row p, with the range as instants [t0, t1). */
#define REPORT_P                                                                                   \
    "WITH p AS (SELECT mandi_analytics_zones($1, $2, $3) AS zones, $4::date AS d0, "               \
    "  $5::date AS d1, mandi_india_start($4::date) AS t0, mandi_india_start($5::date + 1) AS t1, " \
    "  $6::text AS unit, $7::int AS lim) "

/* The periods of the range: each starts on its day, Monday (ISO week) or
 * first of the month, the first one possibly before startDate. */
#define PERIODS                                                                                    \
    ", b AS (SELECT generate_series(date_trunc(p.unit, p.d0::timestamp), p.d1::timestamp, "        \
    "  ('1 ' || p.unit)::interval)::date AS period FROM p) "

#define IN_ZONES(col)     "(p.zones IS NULL OR " col " = ANY (p.zones))"
#define INDIA_PERIOD(col) "date_trunc(p.unit, (" col " AT TIME ZONE 'Asia/Kolkata'))::date"

/* The orders placed in the range within reach, with their period. */
#define ORDERS_IN_RANGE                                                                            \
    ", o AS (SELECT " INDIA_PERIOD(                                                                \
        "o.created_at") " AS period, o.id, o.status, "                                             \
                        "  o.subtotal_paise, o.discount_paise, o.delivery_fee_paise, "             \
                        "o.total_paise, "                                                          \
                        "  (SELECT coalesce(sum(i.quantity), 0) FROM order_items i WHERE "         \
                        "i.order_id = o.id) AS items "                                             \
                        "  FROM orders o, p WHERE o.created_at >= p.t0 AND o.created_at < p.t1 "   \
                        "  AND " IN_ZONES("o.zone") ") "

#define HEAD "'granularity', p.unit, 'startDate', p.d0, 'endDate', p.d1, 'timezone', 'Asia/Kolkata'"

/* A report of figures (aggregates over o) per period and for the range. */
#define BY_PERIOD(figures)                                                                         \
    REPORT_P PERIODS ORDERS_IN_RANGE                                                               \
        "SELECT jsonb_build_object(" HEAD ", "                                                     \
        "  'items', (SELECT coalesce(jsonb_agg(jsonb_build_object('period', b.period) || "         \
        "    (SELECT " figures                                                                     \
        " FROM o WHERE o.period = b.period) ORDER BY b.period), '[]') FROM b), "                   \
        "  'totals', (SELECT " figures " FROM o))::text FROM p"

#define REV "FILTER (WHERE mandi_revenue_status(o.status))"

static const char SALES_SQL[] =
    BY_PERIOD("jsonb_build_object('orders', count(*), 'revenue_orders', count(*) " REV ", "
              "'cancelled_orders', count(*) FILTER (WHERE o.status = 'CANCELLED'), "
              "'items_sold', coalesce(sum(o.items) " REV ", 0), "
              "'revenue_paise', coalesce(sum(o.total_paise) " REV ", 0))");

static const char REVENUE_SQL[] =
    BY_PERIOD("jsonb_build_object('revenue_orders', count(*) " REV ", "
              "'subtotal_paise', coalesce(sum(o.subtotal_paise) " REV ", 0), "
              "'discount_paise', coalesce(sum(o.discount_paise) " REV ", 0), "
              "'delivery_fee_paise', coalesce(sum(o.delivery_fee_paise) " REV ", 0), "
              "'revenue_paise', coalesce(sum(o.total_paise) " REV ", 0), "
              "'average_order_value_paise', coalesce(floor(sum(o.total_paise) " REV " / "
              "  nullif(count(*) " REV ", 0))::bigint, 0))");

/* New users by signup day; active users (an order or an event) by the
 * day of the activity; retention: of the users who signed up in a week,
 * how many were active in that week and each week after, up to endDate. */
static const char USERS_SQL[] = REPORT_P PERIODS
    ", u AS (SELECT u.id::text AS user_id, (u.created_at AT TIME ZONE 'Asia/Kolkata')::date AS day "
    "  FROM users u, p WHERE u.created_at >= p.t0 AND u.created_at < p.t1 "
    "  AND (p.zones IS NULL OR u.zones && p.zones)) "
    ", a AS (SELECT DISTINCT x.user_id, x.day FROM ("
    "  SELECT o.user_id::text AS user_id, (o.created_at AT TIME ZONE 'Asia/Kolkata')::date AS day "
    "    FROM orders o, p WHERE o.created_at >= p.t0 AND o.created_at < p.t1 "
    "    AND " IN_ZONES(
        "o.zone") " UNION ALL "
                  "  SELECT e.user_id, (e.occurred_at AT TIME ZONE 'Asia/Kolkata')::date "
                  "    FROM analytics_events e, p WHERE e.user_id IS NOT NULL AND e.occurred_at >= "
                  "p.t0 "
                  "    AND e.occurred_at < p.t1 AND " IN_ZONES(
                      "e.zone") ") x) "
                                ", c AS (SELECT u.user_id, date_trunc('week', "
                                "u.day::timestamp)::date AS week FROM u) "
                                "SELECT jsonb_build_object(" HEAD ", "
                                "  'items', (SELECT "
                                "coalesce(jsonb_agg(jsonb_build_object('period', b.period, "
                                "    'new_users', (SELECT count(*) FROM u "
                                "      WHERE date_trunc(p.unit, u.day::timestamp)::date = "
                                "b.period), "
                                "    'active_users', (SELECT count(DISTINCT a.user_id) FROM a "
                                "      WHERE date_trunc(p.unit, a.day::timestamp)::date = "
                                "b.period)) ORDER BY b.period), "
                                "    '[]') FROM b), "
                                "  'totals', jsonb_build_object('new_users', (SELECT count(*) FROM "
                                "u), "
                                "    'active_users', (SELECT count(DISTINCT a.user_id) FROM a)), "
                                "  'retention', (SELECT "
                                "coalesce(jsonb_agg(jsonb_build_object('week', w.week, 'users', "
                                "w.n, "
                                "    'active', (SELECT jsonb_agg((SELECT count(DISTINCT a.user_id) "
                                "FROM a "
                                "        JOIN c ON c.user_id = a.user_id WHERE c.week = w.week "
                                "        AND date_trunc('week', a.day::timestamp)::date = w.week + "
                                "7 * k) ORDER BY k) "
                                "      FROM generate_series(0, (date_trunc('week', "
                                "p.d1::timestamp)::date - w.week) / 7) k)) "
                                "    ORDER BY w.week), '[]') FROM (SELECT c.week, count(*) AS n "
                                "FROM c GROUP BY c.week) w)"
                                ")::text FROM p";

/* Top sellers: units of revenue orders; views to orders: product_view
 * events (properties.product_id) against the revenue orders holding the
 * product. */
static const char PRODUCTS_SQL[] = REPORT_P
    ", s AS (SELECT i.product_id::text AS product_id, max(i.name) AS name, "
    "  sum(i.quantity) AS units, sum(i.line_total_paise) AS revenue_paise, "
    "  count(DISTINCT o.id) AS orders "
    "  FROM orders o JOIN order_items i ON i.order_id = o.id, p "
    "  WHERE o.created_at >= p.t0 AND o.created_at < p.t1 AND " IN_ZONES(
        "o.zone") " "
                  "  AND mandi_revenue_status(o.status) GROUP BY i.product_id) "
                  ", v AS (SELECT e.properties->>'product_id' AS product_id, count(*) AS views "
                  "  FROM analytics_events e, p WHERE e.source = 'app' AND e.name = 'product_view' "
                  "  AND e.properties ? 'product_id' AND e.occurred_at >= p.t0 AND e.occurred_at < "
                  "p.t1 "
                  "  AND " IN_ZONES(
                      "e.zone") " GROUP BY 1) "
                                "SELECT jsonb_build_object('startDate', p.d0, 'endDate', p.d1, "
                                "'timezone', 'Asia/Kolkata', "
                                "  'top_sellers', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY "
                                "t.units DESC, "
                                "    t.revenue_paise DESC, t.product_id), '[]') FROM (SELECT * "
                                "FROM s "
                                "    ORDER BY s.units DESC, s.revenue_paise DESC, s.product_id "
                                "LIMIT p.lim) t), "
                                "  'views_to_orders', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER "
                                "BY t.views DESC, "
                                "    t.product_id), '[]') FROM (SELECT v.product_id, "
                                "coalesce(s.name, pr.name) AS name, "
                                "    v.views, coalesce(s.orders, 0) AS orders, "
                                "    coalesce(s.orders, 0) * 10000 / v.views AS conversion_bps "
                                "FROM v "
                                "    LEFT JOIN s ON s.product_id = v.product_id "
                                "    LEFT JOIN products pr ON pr.id::text = v.product_id "
                                "    ORDER BY v.views DESC, v.product_id LIMIT p.lim) t))::text "
                                "FROM p";

/* Back-in-stock requests made in the range, in reach by the product's
 * store's zone: waiting (not yet notified) and notified. */
static const char NOTIFY_SQL[] = REPORT_P
    ", n AS (SELECT n.product_id, pr.name, n.notified_at FROM notify_requests n "
    "  JOIN products pr ON pr.id = n.product_id JOIN stores st ON st.id = pr.store_id, p "
    "  WHERE n.created_at >= p.t0 AND n.created_at < p.t1 AND " IN_ZONES(
        "st.zone") ") "
                   "SELECT jsonb_build_object('startDate', p.d0, 'endDate', p.d1, 'timezone', "
                   "'Asia/Kolkata', "
                   "  'totals', (SELECT jsonb_build_object('requests', count(*), "
                   "    'waiting', count(*) FILTER (WHERE n.notified_at IS NULL), "
                   "    'notified', count(*) FILTER (WHERE n.notified_at IS NOT NULL)) FROM n), "
                   "  'products', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.waiting DESC, "
                   "    t.requests DESC, t.product_id), '[]') FROM (SELECT n.product_id, n.name, "
                   "    count(*) AS requests, count(*) FILTER (WHERE n.notified_at IS NULL) AS "
                   "waiting, "
                   "    count(*) FILTER (WHERE n.notified_at IS NOT NULL) AS notified FROM n "
                   "    GROUP BY n.product_id, n.name "
                   "    ORDER BY waiting DESC, requests DESC, n.product_id LIMIT p.lim) t))::text "
                   "FROM p";

static const struct {
    const char *type;
    const char *sql;
} reports[] = {
    {"analytics.sales", SALES_SQL},
    {"analytics.revenue", REVENUE_SQL},
    {"analytics.users", USERS_SQL},
    {"analytics.products", PRODUCTS_SQL},
    {"analytics.notify_requests", NOTIFY_SQL},
};

/* The query's zone, which narrows an admin's figures to one zone. */
static int read_zone(job_ctx_t *ctx, char zone[4 * ZONE_MAX + 1])
{
    return input_str(ctx, input_query(ctx), "zone", IN_OPTIONAL, 1, ZONE_MAX, zone,
                     4 * ZONE_MAX + 1, NULL);
}

/* startDate and endDate (India dates): endDate defaults to today, startDate
 * to 30 days up to endDate; endDate may not be before startDate, nor the
 * range longer than RANGE_MAX_DAYS. */
static int read_range(job_ctx_t *ctx, char start[11], char end[11])
{
    const msgpack_object *query = input_query(ctx);
    char s[11], e[11];
    int rc;
    if ((rc = input_date(ctx, query, "startDate", IN_OPTIONAL, 0, s, NULL)) ||
        (rc = input_date(ctx, query, "endDate", IN_OPTIONAL, 0, e, NULL)))
        return rc;
    char back[16];
    snprintf(back, sizeof back, "%d", DEFAULT_RANGE_DAYS - 1);
    const char *params[] = {s[0] ? s : NULL, e[0] ? e : NULL, back};
    PGresult *res;
    if ((rc = answer_row(ctx,
                         "WITH d AS (SELECT coalesce($2::date, "
                         "  (now() AT TIME ZONE 'Asia/Kolkata')::date) AS e) "
                         "SELECT coalesce($1::date, d.e - $3::int)::text, d.e::text, "
                         "  d.e - coalesce($1::date, d.e - $3::int) FROM d",
                         3, params, &res)))
        return rc;
    snprintf(start, 11, "%s", PQgetvalue(res, 0, 0));
    snprintf(end, 11, "%s", PQgetvalue(res, 0, 1));
    long days = strtol(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    if (days < 0)
        return input_fail(ctx, "endDate", "endDate must not be before startDate (%s)", start);
    if (days >= RANGE_MAX_DAYS)
        return input_fail(ctx, "endDate", "endDate must be less than %d days after startDate",
                          RANGE_MAX_DAYS);
    return 0;
}

/* GET /api/analytics/{sales,revenue,users,products,notify-requests}. */
int analytics_report(job_ctx_t *ctx)
{
    const char *sql = NULL;
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++)
        if (strcmp(reports[i].type, ctx->job->type) == 0)
            sql = reports[i].sql;
    if (!sql)
        return job_fail(ctx, 501, "JOB_TYPE_UNKNOWN", "no report %s", ctx->job->type);
    char start[11], end[11], unit[4 * 8 + 1] = "day", zone[4 * ZONE_MAX + 1];
    int64_t limit = 10;
    int rc;
    if ((rc = input_choice(ctx, input_query(ctx), "granularity", IN_OPTIONAL, GRANULARITIES, unit,
                           sizeof unit, NULL)) ||
        (rc = input_query_int(ctx, "limit", 1, 100, &limit)) || (rc = read_zone(ctx, zone)) ||
        (rc = read_range(ctx, start, end)))
        return rc;
    if (!unit[0])
        snprintf(unit, sizeof unit, "day");
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)limit);
    const char *params[] = {
        ctx->job->role, ctx->job->zones, zone[0] ? zone : NULL, start, end, unit, lim};
    return answer_json(ctx, 200, sql, 7, params, "REPORT_EMPTY", "the report is empty");
}

/* GET /api/analytics/dashboard: today, the last 7 and the last 30 India
 * days, each up to the end of today. */
int analytics_dashboard(job_ctx_t *ctx)
{
    char zone[4 * ZONE_MAX + 1];
    int rc;
    if ((rc = read_zone(ctx, zone)))
        return rc;
    const char *params[] = {ctx->job->role, ctx->job->zones, zone[0] ? zone : NULL};
    return answer_json(
        ctx, 200,
        "SELECT (jsonb_build_object('date', d.today, 'timezone', 'Asia/Kolkata') || "
        "  (SELECT jsonb_object_agg(w.name, jsonb_build_object('from', d.today - w.back, "
        "    'to', d.today) || mandi_analytics_figures(mandi_india_start(d.today - w.back), "
        "    mandi_india_start(d.today + 1), d.zones)) "
        "   FROM (VALUES ('today', 0), ('last_7_days', 6), ('last_30_days', 29)) w(name, back))"
        ")::text "
        "FROM (SELECT (now() AT TIME ZONE 'Asia/Kolkata')::date AS today, "
        "  mandi_analytics_zones($1, $2, $3) AS zones) d",
        3, params, "REPORT_EMPTY", "the dashboard is empty");
}

/* analytics.snapshot {day}: the day's figures for all zones ('*') and for
 * each zone that had an order, an event or a new user, written again whole
 * (a second run of the same day replaces the first). The scheduler runs it
 * for yesterday at 00:05 India time. */
int analytics_snapshot(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char day[11];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_date(ctx, body, "day", IN_REQUIRED, 0, day, NULL)))
        return rc;
    const char *params[] = {day};
    PGresult *res;
    if ((rc = answer_row(ctx, "SELECT $1::date > (now() AT TIME ZONE 'Asia/Kolkata')::date", 1,
                         params, &res)))
        return rc;
    int future = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (future)
        return input_fail(ctx, "day", "day must not be after today (India time)");
    if ((rc = answer_exec(
             ctx,
             "WITH r AS (SELECT mandi_india_start($1::date) AS t0, "
             "  mandi_india_start($1::date + 1) AS t1), "
             "z AS (SELECT '*' AS zone, NULL::text[] AS zones UNION ALL "
             "  SELECT zz.zone, ARRAY[zz.zone] FROM ("
             "    SELECT o.zone FROM orders o, r WHERE o.created_at >= r.t0 AND o.created_at < "
             "r.t1 "
             "    UNION SELECT e.zone FROM analytics_events e, r WHERE e.zone IS NOT NULL "
             "      AND e.occurred_at >= r.t0 AND e.occurred_at < r.t1 "
             "    UNION SELECT unnest(u.zones) FROM users u, r "
             "      WHERE u.created_at >= r.t0 AND u.created_at < r.t1) zz), "
             "gone AS (DELETE FROM analytics_daily d WHERE d.day = $1::date "
             "  AND d.zone NOT IN (SELECT z.zone FROM z)) "
             "INSERT INTO analytics_daily AS d (day, zone, orders, revenue_orders, "
             "  cancelled_orders, revenue_paise, active_users, new_users, sessions, "
             "  product_views) "
             "SELECT $1::date, z.zone, (f->>'orders')::bigint, (f->>'revenue_orders')::bigint, "
             "  (f->>'cancelled_orders')::bigint, (f->>'revenue_paise')::bigint, "
             "  (f->>'active_users')::bigint, (f->>'new_users')::bigint, "
             "  (f->>'sessions')::bigint, (f->>'product_views')::bigint "
             "FROM z, r, mandi_analytics_figures(r.t0, r.t1, z.zones) f "
             "ON CONFLICT (day, zone) DO UPDATE SET orders = EXCLUDED.orders, "
             "  revenue_orders = EXCLUDED.revenue_orders, "
             "  cancelled_orders = EXCLUDED.cancelled_orders, "
             "  revenue_paise = EXCLUDED.revenue_paise, active_users = EXCLUDED.active_users, "
             "  new_users = EXCLUDED.new_users, sessions = EXCLUDED.sessions, "
             "  product_views = EXCLUDED.product_views, computed_at = now()",
             1, params)))
        return rc;
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('day', $1::date, 'zones', "
                       "  coalesce(jsonb_agg(mandi_analytics_daily_json(d) ORDER BY d.zone), "
                       "  '[]'))::text FROM analytics_daily d WHERE d.day = $1::date",
                       1, params, "SNAPSHOT_NOT_FOUND", "the snapshot was not stored");
}
