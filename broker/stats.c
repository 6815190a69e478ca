/*
 * stats - per-service counters and latency histogram (see stats.h).
 */
#include "stats.h"

#include "mp.h"

const int64_t stats_bucket_us[STATS_BUCKETS] = {
    250,   500,    1000,   2500,   5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 10000000,
};

void stats_record_latency(stats_t *self, int64_t us)
{
    int i = 0;
    while (i < STATS_BUCKETS && us > stats_bucket_us[i])
        i++;
    self->latency_buckets[i]++;
    self->latency_count++;
    self->latency_sum_us += (uint64_t)(us > 0 ? us : 0);
}

void stats_pack(const stats_t *self, msgpack_packer *pk, const char *service, size_t idle,
                size_t busy, size_t queued, size_t in_flight)
{
    msgpack_pack_map(pk, 13);
    mp_kv_str(pk, "service", service);
    mp_kv_i64(pk, "workers_idle", (int64_t)idle);
    mp_kv_i64(pk, "workers_busy", (int64_t)busy);
    mp_kv_i64(pk, "queue_depth", (int64_t)queued);
    mp_kv_i64(pk, "in_flight", (int64_t)in_flight);
    mp_kv_i64(pk, "done", (int64_t)self->done);
    mp_kv_i64(pk, "failed", (int64_t)self->failed);
    mp_kv_i64(pk, "requeued", (int64_t)self->requeued);
    mp_kv_i64(pk, "refused", (int64_t)self->refused);
    mp_kv_i64(pk, "dead", (int64_t)self->dead);
    mp_kv_i64(pk, "latency_count", (int64_t)self->latency_count);
    mp_kv_i64(pk, "latency_sum_us", (int64_t)self->latency_sum_us);
    mp_pack_cstr(pk, "latency_buckets");
    msgpack_pack_array(pk, STATS_BUCKETS + 1);
    for (int i = 0; i <= STATS_BUCKETS; i++)
        msgpack_pack_uint64(pk, self->latency_buckets[i]);
}
