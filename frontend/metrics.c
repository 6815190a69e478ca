/*
 * metrics - the front's counters and GET /metrics (see metrics.h).
 */
#include "metrics.h"

#include <msgpack.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "journal.h"
#include "mp.h"
#include "routes.h"
#include "stream.h"

#define MAX_ROUTES  64
#define ROUTE_SLOTS (MAX_ROUTES + 1) /* the last slot counts unmatched paths */

/* The statuses the front sends; anything else lands in the last slot. */
static const int statuses[] = {200, 201, 202, 204, 400, 401, 403, 404, 405, 409,
                               413, 415, 422, 429, 500, 501, 502, 503, 504};
#define STATUS_SLOTS (sizeof statuses / sizeof statuses[0] + 1)

static const double bucket_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define BUCKETS (sizeof bucket_s / sizeof bucket_s[0])

static struct {
    atomic_uint_fast64_t requests[ROUTE_SLOTS][STATUS_SLOTS];
    atomic_uint_fast64_t buckets[ROUTE_SLOTS][BUCKETS + 1];
    atomic_uint_fast64_t sum_us[ROUTE_SLOTS];
    size_t route_count;
} m;

void metrics_init(void)
{
    route_table(&m.route_count);
    if (m.route_count > MAX_ROUTES)
        m.route_count = MAX_ROUTES;
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < STATUS_SLOTS - 1; i++)
        if (statuses[i] == status)
            return i;
    return STATUS_SLOTS - 1;
}

void metrics_record(int route, int status, int64_t duration_us)
{
    size_t r = route >= 0 && (size_t)route < m.route_count ? (size_t)route : MAX_ROUTES;
    atomic_fetch_add_explicit(&m.requests[r][status_slot(status)], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < BUCKETS && (double)duration_us / 1e6 > bucket_s[b])
        b++;
    atomic_fetch_add_explicit(&m.buckets[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m.sum_us[r], (uint64_t)(duration_us > 0 ? duration_us : 0),
                              memory_order_relaxed);
}

static void route_label(buf_t *out, size_t r)
{
    size_t count;
    const route_t *routes = route_table(&count);
    if (r == MAX_ROUTES)
        buf_append_str(out, "route=\"unmatched\"");
    else
        buf_printf(out, "route=\"%s %s\"", routes[r].method, routes[r].pattern);
}

static void render_http(buf_t *out)
{
    buf_append_str(out, "# HELP mandi_http_requests_total HTTP requests answered, by route and "
                        "status.\n# TYPE mandi_http_requests_total counter\n");
    for (size_t r = 0; r < ROUTE_SLOTS; r++) {
        if (r >= m.route_count && r != MAX_ROUTES)
            continue;
        for (size_t s = 0; s < STATUS_SLOTS; s++) {
            uint64_t n = atomic_load_explicit(&m.requests[r][s], memory_order_relaxed);
            if (!n)
                continue;
            buf_append_str(out, "mandi_http_requests_total{");
            route_label(out, r);
            if (s < STATUS_SLOTS - 1)
                buf_printf(out, ",status=\"%d\"} %llu\n", statuses[s], (unsigned long long)n);
            else
                buf_printf(out, ",status=\"other\"} %llu\n", (unsigned long long)n);
        }
    }
    buf_append_str(out, "# HELP mandi_http_request_duration_seconds Time from request to "
                        "response.\n# TYPE mandi_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < ROUTE_SLOTS; r++) {
        if (r >= m.route_count && r != MAX_ROUTES)
            continue;
        uint64_t total = 0;
        for (size_t b = 0; b <= BUCKETS; b++)
            total += atomic_load_explicit(&m.buckets[r][b], memory_order_relaxed);
        if (!total)
            continue;
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= BUCKETS; b++) {
            cumulative += atomic_load_explicit(&m.buckets[r][b], memory_order_relaxed);
            buf_append_str(out, "mandi_http_request_duration_seconds_bucket{");
            route_label(out, r);
            if (b < BUCKETS)
                buf_printf(out, ",le=\"%g\"} %llu\n", bucket_s[b], (unsigned long long)cumulative);
            else
                buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
        }
        buf_append_str(out, "mandi_http_request_duration_seconds_sum{");
        route_label(out, r);
        buf_printf(out, "} %.6f\n",
                   (double)atomic_load_explicit(&m.sum_us[r], memory_order_relaxed) / 1e6);
        buf_append_str(out, "mandi_http_request_duration_seconds_count{");
        route_label(out, r);
        buf_printf(out, "} %llu\n", (unsigned long long)total);
    }
}

static void render_jobs(buf_t *out)
{
    int64_t counts[JOURNAL_STATES];
    if (journal_job_counts(counts) == 0) {
        buf_append_str(out, "# HELP mandi_jobs Recorded jobs by state.\n# TYPE mandi_jobs gauge\n");
        for (int s = 0; s < JOURNAL_STATES; s++)
            buf_printf(out, "mandi_jobs{state=\"%s\"} %lld\n", journal_state_names[s],
                       (long long)counts[s]);
    }
    buf_printf(out,
               "# HELP mandi_front_in_flight Requests waiting for a pool's reply.\n"
               "# TYPE mandi_front_in_flight gauge\nmandi_front_in_flight %zu\n",
               dispatch_in_flight());
}

static int64_t stat_of(const msgpack_object *s, const char *key)
{
    int64_t v = 0;
    mp_get_i64(mp_get(s, key), &v);
    return v;
}

static void render_pools(buf_t *out)
{
    buf_t stats = BUF_INIT;
    int64_t age = dispatch_pool_stats(&stats);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (age < 0 || msgpack_unpack_next(&u, stats.data, stats.len, &off) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&u);
        buf_free(&stats);
        return;
    }
    buf_printf(out,
               "# HELP mandi_broker_stats_age_seconds Age of the broker figures below.\n"
               "# TYPE mandi_broker_stats_age_seconds gauge\nmandi_broker_stats_age_seconds %.3f\n",
               (double)age / 1000);
    const msgpack_object *services = mp_get(&u.data, "services");
    /* The broker sends its bucket bounds along with the counts. */
    const msgpack_object *bounds = mp_get(&u.data, "latency_bounds_us");
    uint32_t nbounds = bounds && bounds->type == MSGPACK_OBJECT_ARRAY ? bounds->via.array.size : 0;
    if (services && services->type == MSGPACK_OBJECT_ARRAY) {
        buf_append_str(out,
                       "# HELP mandi_pool_workers Workers registered, by pool and state.\n"
                       "# TYPE mandi_pool_workers gauge\n"
                       "# HELP mandi_pool_queue_depth Jobs waiting for a worker.\n"
                       "# TYPE mandi_pool_queue_depth gauge\n"
                       "# HELP mandi_pool_jobs_total Jobs by pool and outcome.\n"
                       "# TYPE mandi_pool_jobs_total counter\n"
                       "# HELP mandi_pool_job_duration_seconds Broker-measured time from "
                       "arrival to reply.\n# TYPE mandi_pool_job_duration_seconds histogram\n");
        static const char *const outcomes[] = {"done", "failed", "requeued", "refused", "dead"};
        for (uint32_t i = 0; i < services->via.array.size; i++) {
            const msgpack_object *s = &services->via.array.ptr[i];
            char pool[32];
            if (mp_copy_str(mp_get(s, "service"), pool, sizeof pool) < 0)
                continue;
            buf_printf(out, "mandi_pool_workers{pool=\"%s\",state=\"idle\"} %lld\n", pool,
                       (long long)stat_of(s, "workers_idle"));
            buf_printf(out, "mandi_pool_workers{pool=\"%s\",state=\"busy\"} %lld\n", pool,
                       (long long)stat_of(s, "workers_busy"));
            buf_printf(out, "mandi_pool_queue_depth{pool=\"%s\"} %lld\n", pool,
                       (long long)stat_of(s, "queue_depth"));
            for (size_t o = 0; o < sizeof outcomes / sizeof outcomes[0]; o++)
                buf_printf(out, "mandi_pool_jobs_total{pool=\"%s\",outcome=\"%s\"} %lld\n", pool,
                           outcomes[o], (long long)stat_of(s, outcomes[o]));
            const msgpack_object *b = mp_get(s, "latency_buckets");
            if (b && b->type == MSGPACK_OBJECT_ARRAY && nbounds &&
                b->via.array.size == nbounds + 1) {
                int64_t cumulative = 0;
                for (size_t k = 0; k <= nbounds; k++) {
                    int64_t n = 0, bound_us = 0;
                    mp_get_i64(&b->via.array.ptr[k], &n);
                    cumulative += n;
                    if (k < nbounds && mp_get_i64(&bounds->via.array.ptr[k], &bound_us) == 0)
                        buf_printf(out,
                                   "mandi_pool_job_duration_seconds_bucket{pool=\"%s\",le=\"%g\"} "
                                   "%lld\n",
                                   pool, (double)bound_us / 1e6, (long long)cumulative);
                    else if (k < nbounds)
                        continue;
                    else
                        buf_printf(out,
                                   "mandi_pool_job_duration_seconds_bucket{pool=\"%s\",le=\"+Inf\"}"
                                   " %lld\n",
                                   pool, (long long)cumulative);
                }
                buf_printf(out, "mandi_pool_job_duration_seconds_sum{pool=\"%s\"} %.6f\n", pool,
                           (double)stat_of(s, "latency_sum_us") / 1e6);
                buf_printf(out, "mandi_pool_job_duration_seconds_count{pool=\"%s\"} %lld\n", pool,
                           (long long)stat_of(s, "latency_count"));
            }
        }
    }
    msgpack_unpacked_destroy(&u);
    buf_free(&stats);
}

void metrics_render(buf_t *out)
{
    render_http(out);
    render_jobs(out);
    render_pools(out);
    stream_metrics(out);
}
