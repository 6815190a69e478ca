/*
 * test_jobs - job types that exist only in test mode (MANDI_TEST_MODE=1).
 *
 * They let the integration tests drive the runtime's hard cases through the
 * real processes: a slow job to hold a worker (and be killed mid-way), a job
 * that fails, one that crashes its worker, and an echo of what the job
 * carried. The slow job commits a row in test_effects when it is durable, so
 * a test can count how many times a job's work really happened.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "mp.h"
#include "pool_table.h"

static void pack_or_nil(msgpack_packer *pk, const char *key, const msgpack_object *o)
{
    mp_pack_cstr(pk, key);
    if (o)
        msgpack_pack_object(pk, *o);
    else
        msgpack_pack_nil(pk);
}

static int echo(job_ctx_t *ctx)
{
    const job_t *job = ctx->job;
    msgpack_packer *pk = &ctx->body;
    msgpack_pack_map(pk, 9);
    pack_or_nil(pk, "body", job_body(job));
    pack_or_nil(pk, "query", mp_get(job->payload, "query"));
    pack_or_nil(pk, "params", mp_get(job->payload, "params"));
    mp_kv_str(pk, "user_id", job->user_id);
    mp_kv_str(pk, "role", job->role);
    mp_kv_str(pk, "request_id", job->request_id);
    mp_kv_i64(pk, "attempt", job->attempt);
    mp_kv_i64(pk, "durable", job->durable);
    mp_kv_str(pk, "worker", job_worker_name(ctx));
    return 200;
}

/* Sleep length: "ms" from the body or the query string, default 1000. */
static int64_t slow_ms(const job_t *job)
{
    int64_t ms = 1000;
    const msgpack_object *o = mp_get(job_body(job), "ms");
    if (o) {
        mp_get_i64(o, &ms);
    } else if ((o = job_query(job, "ms")) && o->type == MSGPACK_OBJECT_STR) {
        char text[16];
        if (mp_copy_str(o, text, sizeof text) == 0)
            ms = atoll(text);
    }
    return ms < 0 ? 0 : ms > 60000 ? 60000 : ms;
}

static int slow(job_ctx_t *ctx)
{
    const job_t *job = ctx->job;
    int64_t ms = slow_ms(job);
    for (int step = 1; step <= 10; step++) {
        clock_sleep_ms((int)(ms / 10));
        job_progress(ctx, step * 10);
    }
    if (job->durable) {
        if (!ctx->db)
            return job_fail(ctx, 503, "DB_UNAVAILABLE", "no database connection");
        const char *params[] = {job->id, job_worker_name(ctx)};
        PGresult *res =
            PQexecParams(ctx->db, "INSERT INTO test_effects (job_id, worker) VALUES ($1, $2)", 2,
                         NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok)
            return job_fail(ctx, 500, "DB_ERROR", "recording the effect failed");
    }
    msgpack_packer *pk = &ctx->body;
    msgpack_pack_map(pk, 3);
    mp_kv_i64(pk, "slept_ms", ms);
    mp_kv_str(pk, "worker", job_worker_name(ctx));
    mp_kv_i64(pk, "attempt", job->attempt);
    return job->durable ? 201 : 200;
}

static int fail(job_ctx_t *ctx)
{
    return job_fail(ctx, 422, "TEST_FAILURE", "the test job failed as asked");
}

/* Records the event "test.published" with the job's id and body in the
 * outbox. With {"then_fail": true} it fails afterwards, so a test can see
 * that an event of a job whose writes roll back is never published. */
static int publish(job_ctx_t *ctx)
{
    buf_t event = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &event, buf_msgpack_write);
    msgpack_pack_map(&pk, 2);
    mp_kv_str(&pk, "job_id", ctx->job->id);
    pack_or_nil(&pk, "body", job_body(ctx->job));
    int written = job_event(ctx, "test.published", event.data, event.len);
    buf_free(&event);
    if (written < 0)
        return job_fail(ctx, 503, "DB_UNAVAILABLE", "the event could not be recorded");
    const msgpack_object *then_fail = mp_get(job_body(ctx->job), "then_fail");
    if (then_fail && then_fail->type == MSGPACK_OBJECT_BOOLEAN && then_fail->via.boolean)
        return job_fail(ctx, 422, "TEST_FAILURE", "the test job failed after its event");
    msgpack_pack_map(&ctx->body, 1);
    mp_kv_str(&ctx->body, "published", "test.published");
    return 200;
}

/* Dies the way a crashing worker does: no reply, no DISCONNECT. */
static int crash(job_ctx_t *ctx)
{
    (void)ctx;
    kill(getpid(), SIGKILL);
    return 500;
}

/* Reacts to test.published events (test mode): records the event's stable
 * job id in test_effects, so a test counts how often each event was
 * applied; fails while the published body says {"fail_event": true}. */
static int on_published(job_ctx_t *ctx, const char *topic, const msgpack_object *body)
{
    (void)topic;
    const msgpack_object *fail = mp_get(mp_get(body, "body"), "fail_event");
    if (fail && fail->type == MSGPACK_OBJECT_BOOLEAN && fail->via.boolean)
        return job_fail(ctx, 422, "TEST_FAILURE", "the test event handler failed as asked");
    const char *params[] = {ctx->job->id, job_worker_name(ctx)};
    PGresult *res =
        PQexecParams(ctx->db, "INSERT INTO test_effects (job_id, worker) VALUES ($1::uuid, $2)", 2,
                     NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 200 : job_fail(ctx, 503, "DB_UNAVAILABLE", "the effect could not be recorded");
}

const event_handler_t test_events[] = {
    {"test.published", on_published, JOB_TEST_ONLY},
    {NULL, NULL, 0},
};

const job_handler_t test_jobs[] = {
    {"test.echo", echo, JOB_TEST_ONLY},       {"test.slow", slow, JOB_TEST_ONLY},
    {"test.fail", fail, JOB_TEST_ONLY},       {"test.crash", crash, JOB_TEST_ONLY},
    {"test.publish", publish, JOB_TEST_ONLY}, {NULL, NULL, 0},
};
