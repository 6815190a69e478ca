/*
 * stats - per-service counters and latency histogram kept by the broker.
 *
 * The broker answers "mmi.stats" with these figures; the front turns them
 * into /metrics and /api/admin/pools. Bucket bounds are fixed so every
 * reader can merge histograms from several brokers.
 */
#ifndef MANDI_STATS_H
#define MANDI_STATS_H

#include <msgpack.h>
#include <stdint.h>

/* Upper bounds of the latency buckets in microseconds; a last, implicit
 * bucket holds everything slower. */
#define STATS_BUCKETS 14
extern const int64_t stats_bucket_us[STATS_BUCKETS];

typedef struct {
    uint64_t done;     /* replies forwarded with status < 500 */
    uint64_t failed;   /* replies with status >= 500, and dead jobs */
    uint64_t requeued; /* requests handed back after their worker died */
    uint64_t refused;  /* requests refused because the queue was full */
    uint64_t dead;     /* requests given up after the maximum attempts */
    uint64_t latency_count;
    uint64_t latency_sum_us;
    uint64_t latency_buckets[STATS_BUCKETS + 1];
} stats_t;

void stats_record_latency(stats_t *self, int64_t us);

/* Packs one service's figures as a msgpack map (keys in docs/PROTOCOL.md):
 * idle workers hold no job, busy ones at least one; in_flight counts the
 * jobs workers hold. */
void stats_pack(const stats_t *self, msgpack_packer *pk, const char *service, size_t idle,
                size_t busy, size_t queued, size_t in_flight);

#endif
