/*
 * common_jobs - job types every pool serves.
 *
 * "ping" proves the whole path front -> broker -> pool -> back without
 * touching the database: it is what /api/ping/:pool and the benchmark use.
 */
#include <unistd.h>

#include "clock.h"
#include "mp.h"
#include "pool_table.h"

static int ping(job_ctx_t *ctx)
{
    msgpack_packer *pk = &ctx->body;
    msgpack_pack_map(pk, 4);
    mp_kv_str(pk, "pong", job_pool_name(ctx));
    mp_kv_str(pk, "worker", job_worker_name(ctx));
    mp_kv_i64(pk, "attempt", ctx->job->attempt);
    mp_kv_i64(pk, "time_ms", clock_now_ms());
    return 200;
}

const job_handler_t common_jobs[] = {
    {"ping", ping, 0},
    {NULL, NULL, 0},
};
