/*
 * worker - the runtime every worker pool links (see worker.h).
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mp.h"
#include "proto.h"
#include "codec.h"
#include "consumer.h"
#include "outbox.h"
#include "redis_conn.h"

#define PIPE_ENDPOINT  "inproc://worker-io"
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 32000

struct worker_runtime {
    char pool[PROTO_SERVICE_MAX + 1];
    char name[96];
    const job_handler_t *const *tables;
    int test_mode;
    void *zmq_ctx;
    void *pipe;      /* main thread's end of the pipe to the I/O thread */
    void *publisher; /* PUB socket to the event bus */
    pthread_t io_thread;
    const char *db_url;
    PGconn *db; /* handlers' connection */
    /* Job bookkeeping outside the handler's transaction: the "running" mark
     * and progress. It commits without waiting for the WAL flush; losing
     * such a mark in a crash only means the lease decides instead. */
    PGconn *aux;
    const char *redis_url;
    redisContext *redis; /* handlers' Redis connection */
    long lease_ms;
    int heartbeat_ms, liveness;
    uint16_t prefetch; /* jobs taken from the broker at once */
};

static volatile sig_atomic_t stop_requested;

static redisContext *redis_ready(worker_runtime_t *rt);

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ==== I/O thread: the broker connection ================================== */

typedef struct {
    worker_runtime_t *rt;
    void *broker;
    void *pipe;
} io_t;

static void io_send(io_t *io, int command, const proto_frame_t *extra, int n)
{
    unsigned char cmd = (unsigned char)command;
    proto_frame_t frames[8] = {{PROTO_WORKER, strlen(PROTO_WORKER)}, {&cmd, 1}};
    for (int i = 0; i < n; i++)
        frames[2 + i] = extra[i];
    if (proto_send(io->broker, frames, 2 + n) < 0)
        log_msg(LOG_WARN, NULL, "send to broker failed: %s", zmq_strerror(errno));
}

/* A fresh socket and a READY: a new session with the broker. */
static void io_connect(io_t *io)
{
    if (io->broker)
        zmq_close(io->broker);
    io->broker = zmq_socket(io->rt->zmq_ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(io->broker, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(io->broker, config_get("MANDI_BROKER"));
    unsigned char credit[2];
    proto_put_u16(credit, io->rt->prefetch);
    proto_frame_t ready[] = {{io->rt->pool, strlen(io->rt->pool)}, {credit, 2}};
    io_send(io, PROTO_READY, ready, 2);
}

static void *io_main(void *arg)
{
    io_t *io = arg;
    worker_runtime_t *rt = io->rt;
    io_connect(io);
    int64_t silence_limit = (int64_t)rt->heartbeat_ms * rt->liveness;
    int64_t broker_expiry = clock_mono_ms() + silence_limit;
    int64_t heartbeat_at = clock_mono_ms() + rt->heartbeat_ms;
    int64_t backoff = BACKOFF_MIN_MS;
    int stopping = 0;

    while (!stopping) {
        zmq_pollitem_t items[] = {{io->broker, 0, ZMQ_POLLIN, 0}, {io->pipe, 0, ZMQ_POLLIN, 0}};
        int64_t wait = heartbeat_at - clock_mono_ms();
        if (zmq_poll(items, 2, wait > 0 ? (long)wait : 0) < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ETERM)
                break;
            log_msg(LOG_ERROR, NULL, "worker poll failed: %s", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            zmq_msg_t msgs[PROTO_MAX_FRAMES];
            int count;
            if (proto_recv(io->broker, msgs, &count, ZMQ_DONTWAIT) == 0) {
                proto_frame_t frames[PROTO_MAX_FRAMES];
                proto_frames_of(msgs, count, frames);
                proto_parsed_t m;
                const char *why;
                if (proto_parse(frames, count, PROTO_FROM_BROKER, &m, &why) < 0 ||
                    m.side != PROTO_SIDE_WORKER) {
                    log_msg(LOG_WARN, NULL, "dropped a malformed message from the broker");
                } else {
                    broker_expiry = clock_mono_ms() + silence_limit;
                    backoff = BACKOFF_MIN_MS;
                    if (m.command == PROTO_REQUEST) {
                        /* To the handler thread: client, job id, attempt, body. */
                        proto_send(io->pipe, &frames[2], 4);
                    } else if (m.command == PROTO_DISCONNECT) {
                        log_msg(LOG_INFO, NULL, "broker asked to reconnect");
                        io_connect(io);
                    }
                }
                proto_close(msgs, count);
            }
        }
        if (items[1].revents & ZMQ_POLLIN) {
            zmq_msg_t msgs[PROTO_MAX_FRAMES];
            int count;
            if (proto_recv(io->pipe, msgs, &count, ZMQ_DONTWAIT) == 0) {
                proto_frame_t frames[PROTO_MAX_FRAMES];
                proto_frames_of(msgs, count, frames);
                if (count == 4) {
                    io_send(io, PROTO_REPLY, frames, 4);
                } else {
                    /* The handler thread is idle and stopping. */
                    io_send(io, PROTO_DISCONNECT, NULL, 0);
                    stopping = 1;
                }
                proto_close(msgs, count);
            }
        }
        int64_t now = clock_mono_ms();
        if (now >= heartbeat_at) {
            io_send(io, PROTO_HEARTBEAT, NULL, 0);
            heartbeat_at = now + rt->heartbeat_ms;
        }
        if (now > broker_expiry) {
            log_msg(LOG_WARN, NULL, "broker silent for %lld ms, reconnecting",
                    (long long)silence_limit);
            io_connect(io);
            broker_expiry = now + silence_limit + backoff;
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        }
    }
    /* Let DISCONNECT leave before the socket closes. */
    int linger = 1000;
    zmq_setsockopt(io->broker, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(io->broker);
    zmq_close(io->pipe);
    return NULL;
}

/* Opens (or re-opens) the bookkeeping connection; see worker_runtime.aux. */
static int aux_ready(worker_runtime_t *rt)
{
    if (rt->aux && PQstatus(rt->aux) == CONNECTION_OK)
        return 0;
    if (db_ensure(&rt->aux, rt->db_url) < 0)
        return -1;
    return db_exec(rt->aux, "SET synchronous_commit = off");
}

static redisContext *redis_ready(worker_runtime_t *rt);

/* ==== handler context ===================================================== */

int job_fail(job_ctx_t *ctx, int status, const char *code, const char *fmt, ...)
{
    snprintf(ctx->error_code, sizeof ctx->error_code, "%s", code);
    buf_reset(&ctx->error_message);
    buf_reset(&ctx->error_details);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&ctx->error_message, fmt, ap);
    va_end(ap);
    return status;
}

void job_fail_reset(job_ctx_t *ctx)
{
    ctx->error_code[0] = '\0';
    buf_reset(&ctx->error_message);
    buf_reset(&ctx->error_details);
}

void job_fail_details(job_ctx_t *ctx, const char *details, size_t len)
{
    buf_reset(&ctx->error_details);
    buf_append(&ctx->error_details, details, len);
}

/* Packs {key: value} straight into the details buffer. */
static msgpack_packer *detail_packer(job_ctx_t *ctx, msgpack_packer *pk, const char *key)
{
    buf_reset(&ctx->error_details);
    msgpack_packer_init(pk, &ctx->error_details, buf_msgpack_write);
    msgpack_pack_map(pk, 1);
    mp_pack_cstr(pk, key);
    return pk;
}

void job_fail_detail_str(job_ctx_t *ctx, const char *key, const char *value)
{
    msgpack_packer pk;
    mp_pack_cstr(detail_packer(ctx, &pk, key), value);
}

void job_fail_detail_i64(job_ctx_t *ctx, const char *key, int64_t value)
{
    msgpack_packer pk;
    msgpack_pack_int64(detail_packer(ctx, &pk, key), value);
}

void job_retry_later(job_ctx_t *ctx, long delay_ms)
{
    ctx->retry_after_ms = delay_ms > 0 ? delay_ms : 1;
}

void job_progress(job_ctx_t *ctx, int percent)
{
    worker_runtime_t *rt = ctx->runtime;
    if (!ctx->job->durable || aux_ready(rt) < 0)
        return;
    char pct[8];
    snprintf(pct, sizeof pct, "%d", percent < 0 ? 0 : percent > 100 ? 100 : percent);
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", rt->lease_ms);
    const char *params[] = {ctx->job->id, pct, lease};
    /* Reporting progress also renews the lease: a handler that runs longer
     * than MANDI_JOB_LEASE_MS keeps the recovery sweep away by reporting. */
    PGresult *res =
        PQexecParams(rt->aux,
                     "UPDATE jobs SET progress = $2::int, updated_at = clock_timestamp(), "
                     "lease_until = greatest(lease_until, "
                     "clock_timestamp() + $3::bigint * interval '1 millisecond') "
                     "WHERE id = $1 AND status = 'running'",
                     3, NULL, params, NULL, NULL, 0);
    PQclear(res);
}

int job_event(job_ctx_t *ctx, const char *topic, const char *body, size_t len)
{
    if (!ctx->db || outbox_write(ctx->db, topic, body, len, ctx->job->id) < 0)
        return -1;
    ctx->events++;
    return 0;
}

int job_event_json(job_ctx_t *ctx, const char *topic, const char *json, size_t len)
{
    buf_t body = BUF_INIT;
    int rc = codec_json_to_msgpack(json, len, &body, NULL) < 0
                 ? -1
                 : job_event(ctx, topic, body.data, body.len);
    buf_free(&body);
    return rc;
}

void job_bump_after_commit(job_ctx_t *ctx, const char *key)
{
    buf_append(&ctx->bumps, key, strlen(key) + 1);
}

/* The counters named by job_bump_after_commit. A failure leaves cached
 * entries to their expiry time (see the catalog cache), so it is logged. */
static void run_bumps(job_ctx_t *ctx)
{
    if (!ctx->bumps.len)
        return;
    redisContext *redis = redis_ready(ctx->runtime);
    for (size_t at = 0; at < ctx->bumps.len; at += strlen(ctx->bumps.data + at) + 1) {
        redisReply *r = redis ? redisCommand(redis, "INCR %s", ctx->bumps.data + at) : NULL;
        if (!r || r->type == REDIS_REPLY_ERROR)
            log_msg(LOG_WARN, ctx->job->request_id, "cache counter %s not bumped",
                    ctx->bumps.data + at);
        if (r)
            freeReplyObject(r);
    }
}

redisContext *job_redis(job_ctx_t *ctx)
{
    return redis_ready(ctx->runtime);
}

const char *job_worker_name(const job_ctx_t *ctx)
{
    return ctx->runtime->name;
}

const char *job_pool_name(const job_ctx_t *ctx)
{
    return ctx->runtime->pool;
}

/* ==== running jobs ======================================================== */

static const job_handler_t *find_handler(worker_runtime_t *rt, const char *type)
{
    for (int t = 0; rt->tables[t]; t++)
        for (const job_handler_t *h = rt->tables[t]; h->type; h++)
            if (strcmp(h->type, type) == 0 && (!(h->flags & JOB_TEST_ONLY) || rt->test_mode))
                return h;
    return NULL;
}

/* Packs the handler's outcome as a reply envelope. */
static void make_reply(job_ctx_t *ctx, int status, buf_t *reply)
{
    if (status >= 400) {
        if (!ctx->error_code[0])
            job_fail(ctx, status, "INTERNAL", "the handler failed without a reason");
        reply_encode_error(reply, status, ctx->error_code, ctx->error_message.data,
                           ctx->error_details.len ? ctx->error_details.data : NULL,
                           ctx->error_details.len);
    } else {
        reply_encode_ok(reply, status, ctx->body_buf.data, ctx->body_buf.len);
    }
}

/* Runs h, or answers 501 when the pool has no handler for the job's type
 * (a durable job then records that answer like any other failure). */
static int run_handler(job_ctx_t *ctx, const job_handler_t *h)
{
    if (!h)
        return job_fail(ctx, 501, "JOB_TYPE_UNKNOWN", "pool %s has no job type %s",
                        ctx->runtime->pool, ctx->job->type);
    int status = h->fn(ctx);
    if (status < 100 || status > 599)
        status = job_fail(ctx, 500, "INTERNAL", "handler returned an invalid status");
    return status;
}

/* Reads the recorded reply of a finished job into reply; returns its status,
 * or 0 when the job is not finished (or not recorded at all: -1). */
static int recorded_reply(worker_runtime_t *rt, PGconn *conn, const char *id, buf_t *reply)
{
    const char *params[] = {id};
    PGresult *res = PQexecParams(conn, "SELECT status, http_status, result FROM jobs WHERE id = $1",
                                 1, NULL, params, NULL, NULL, 1);
    int status = -1;
    (void)rt;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        const char *st = PQgetvalue(res, 0, 0);
        if (strcmp(st, "queued") == 0 || strcmp(st, "running") == 0 || PQgetisnull(res, 0, 2)) {
            status = 0;
        } else {
            const unsigned char *p = (const unsigned char *)PQgetvalue(res, 0, 1);
            status =
                (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
            buf_append(reply, PQgetvalue(res, 0, 2), (size_t)PQgetlength(res, 0, 2));
        }
    }
    PQclear(res);
    return status;
}

/* Writes a job's final state unless it already has one. conn is either
 * inside the job's transaction (success) or in autocommit (failures, whose
 * handler writes were rolled back). Returns 1 written, 0 the job was
 * already finished (by another delivery, or given up by the sweep), -1 on
 * error. */
static int record_result(PGconn *conn, const char *id, const char *state, int status,
                         const buf_t *reply, int scrub)
{
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    const char *params[] = {id, state, st, reply->data, scrub ? "true" : "false"};
    int lengths[] = {0, 0, 0, (int)reply->len, 0};
    int formats[] = {0, 0, 0, 1, 0};
    /* A finished job is never sent again, so a scrubbed envelope (one that
     * carried a password or a code) is no loss. */
    PGresult *res =
        PQexecParams(conn,
                     "UPDATE jobs SET status = $2, http_status = $3::int, "
                     "result = $4, progress = 100, finished_at = clock_timestamp(), "
                     "updated_at = clock_timestamp(), "
                     "envelope = CASE WHEN $5::boolean THEN ''::bytea ELSE envelope END "
                     "WHERE id = $1 AND status IN ('queued', 'running')",
                     5, NULL, params, lengths, formats, 0);
    int rc = -1;
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        rc = atoi(PQcmdTuples(res)) > 0 ? 1 : 0;
    else
        log_msg(LOG_WARN, NULL, "recording job %s failed: %s", id, PQresultErrorMessage(res));
    PQclear(res);
    return rc;
}

static int unavailable(job_ctx_t *ctx)
{
    return job_fail(ctx, 503, "DB_UNAVAILABLE", "the database cannot be reached");
}

/* Runs a job that the front recorded before dispatch, so that its effects
 * happen once however often it is delivered (see worker.h). */
static int run_durable(worker_runtime_t *rt, job_ctx_t *ctx, const job_handler_t *h, buf_t *reply)
{
    const job_t *job = ctx->job;
    const int scrub = h && (h->flags & JOB_SCRUB);
    if (aux_ready(rt) < 0 || db_ensure(&rt->db, rt->db_url) < 0)
        return unavailable(ctx);
    ctx->db = rt->db;

    /* 1. Mark it running (committed at once, so pollers and the recovery
     * sweep see it) and count the attempt. */
    char lease[24];
    snprintf(lease, sizeof lease, "%ld", rt->lease_ms);
    const char *params[] = {job->id, rt->name, lease};
    PGresult *res = PQexecParams(
        rt->aux,
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = $2, "
        "lease_until = now() + $3::bigint * interval '1 millisecond', updated_at = now() "
        "WHERE id = $1 AND status IN ('queued', 'running') RETURNING attempts, max_attempts",
        3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_msg(LOG_WARN, job->request_id, "starting job %s failed: %s", job->id,
                PQresultErrorMessage(res));
        PQclear(res);
        return unavailable(ctx);
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        int status = recorded_reply(rt, rt->aux, job->id, reply);
        if (status > 0)
            return status;
        return job_fail(ctx, 409, "JOB_NOT_RECORDED", "job %s is not in the jobs table", job->id);
    }
    int attempts = atoi(PQgetvalue(res, 0, 0)), max_attempts = atoi(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (attempts > max_attempts) {
        int status = job_fail(ctx, 500, "JOB_DEAD", "job gave up after %d attempts", max_attempts);
        make_reply(ctx, status, reply);
        record_result(rt->db, job->id, "dead", status, reply, scrub);
        return status;
    }

    /* 2. The handler's work and the result commit together. The advisory lock
     * serialises two deliveries of the same job (a re-dispatch racing a slow
     * first run): the second waits, then finds the result recorded. */
    const char *id_param[] = {job->id};
    if (db_exec(rt->db, "BEGIN") < 0)
        return unavailable(ctx);
    res = PQexecParams(rt->db, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", 1, NULL,
                       id_param, NULL, NULL, 0);
    int locked = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!locked) {
        db_exec(rt->db, "ROLLBACK");
        return unavailable(ctx);
    }
    int status = recorded_reply(rt, rt->db, job->id, reply);
    if (status > 0) {
        db_exec(rt->db, "ROLLBACK");
        return status;
    }
    status = run_handler(ctx, h);
    make_reply(ctx, status, reply);
    if (status < 400) {
        int recorded = record_result(rt->db, job->id, "succeeded", status, reply, scrub);
        if (recorded == 1 && db_exec(rt->db, "COMMIT") == 0) {
            ctx->committed = 1;
            return status;
        }
        db_exec(rt->db, "ROLLBACK");
        buf_reset(reply);
        if (recorded == 0) {
            /* Given up meanwhile (its lease ran out too often): the work is
             * rolled back and the recorded outcome stands. */
            int recorded_status = recorded_reply(rt, rt->db, job->id, reply);
            if (recorded_status > 0)
                return recorded_status;
        }
        return unavailable(ctx);
    }
    /* A passing failure with attempts left: nothing recorded, and the
     * lease set to when the sweep should send the job again. */
    if (ctx->retry_after_ms > 0 && attempts < max_attempts) {
        db_exec(rt->db, "ROLLBACK");
        char delay[24];
        snprintf(delay, sizeof delay, "%ld", ctx->retry_after_ms);
        const char *later[] = {job->id, delay};
        res = PQexecParams(rt->db,
                           "UPDATE jobs SET status = 'queued', lease_until = now() + "
                           "$2::bigint * interval '1 millisecond', updated_at = now() "
                           "WHERE id = $1 AND status = 'running'",
                           2, NULL, later, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            log_msg(LOG_WARN, job->request_id, "deferring job %s failed: %s", job->id,
                    PQresultErrorMessage(res));
        else
            log_msg(LOG_INFO, job->request_id, "job %s tried again in %s ms (attempt %d of %d)",
                    job->id, delay, attempts, max_attempts);
        PQclear(res);
        return status;
    }
    /* A refused or failed job leaves no partial writes behind, unless the
     * handler asked for them to stay: then they commit with the failure. */
    if (ctx->keep_writes && record_result(rt->db, job->id, "failed", status, reply, scrub) >= 0 &&
        db_exec(rt->db, "COMMIT") == 0) {
        ctx->committed = 1;
        return status;
    }
    db_exec(rt->db, "ROLLBACK");
    record_result(rt->db, job->id, "failed", status, reply, scrub);
    return status;
}

/* Runs a job that is not recorded. With JOB_TX its writes commit together
 * or not at all; without, the handler has the connection in autocommit. */
static int run_transient(worker_runtime_t *rt, job_ctx_t *ctx, const job_handler_t *h)
{
    if (db_ensure(&rt->db, rt->db_url) == 0)
        ctx->db = rt->db;
    if (!h || !(h->flags & JOB_TX)) {
        ctx->committed = 1; /* autocommit: whatever it wrote is in */
        return run_handler(ctx, h);
    }
    if (!ctx->db || db_exec(ctx->db, "BEGIN") < 0)
        return unavailable(ctx);
    int status = run_handler(ctx, h);
    if (status >= 400 && !ctx->keep_writes) {
        db_exec(ctx->db, "ROLLBACK");
        return status;
    }
    if (db_exec(ctx->db, "COMMIT") < 0) {
        buf_reset(&ctx->body_buf);
        return unavailable(ctx);
    }
    ctx->committed = 1;
    return status;
}

/* The handlers' Redis connection, reconnected when an error killed it
 * (a hiredis context is unusable after an error). */
static redisContext *redis_ready(worker_runtime_t *rt)
{
    if (rt->redis && rt->redis->err) {
        redisFree(rt->redis);
        rt->redis = NULL;
    }
    if (!rt->redis)
        rt->redis = redis_open(rt->redis_url, 2000);
    return rt->redis;
}

/* A job whose envelope cannot be read may still be recorded (the job id
 * frame names it): it is marked failed, so the sweep does not send it again
 * forever. For a job that was never recorded this changes nothing. */
static void record_unreadable(worker_runtime_t *rt, zmq_msg_t *job_id, int status,
                              const buf_t *reply)
{
    char id[PROTO_JOB_ID_MAX + 1];
    size_t len = zmq_msg_size(job_id);
    if (len != PROTO_JOB_ID_MAX || db_ensure(&rt->db, rt->db_url) < 0)
        return;
    memcpy(id, zmq_msg_data(job_id), len);
    id[len] = '\0';
    record_result(rt->db, id, "failed", status, reply, 0);
}

static void handle_job(worker_runtime_t *rt, zmq_msg_t *msgs)
{
    int64_t started = clock_mono_us();
    const proto_frame_t body = {zmq_msg_data(&msgs[3]), zmq_msg_size(&msgs[3])};
    const unsigned char *a = zmq_msg_data(&msgs[2]);
    uint32_t attempt = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];

    job_t job;
    job_ctx_t ctx = {.job = &job, .runtime = rt};
    msgpack_packer_init(&ctx.body, &ctx.body_buf, buf_msgpack_write);
    buf_t reply = BUF_INIT;
    const char *why = NULL;
    int status;
    int decoded = job_decode(&job, body.data, body.size, &why) == 0;
    if (!decoded) {
        memset(&job, 0, sizeof job);
        status = job_fail(&ctx, 400, "BAD_JOB", "%s", why);
        make_reply(&ctx, status, &reply);
        record_unreadable(rt, &msgs[1], status, &reply);
    } else {
        job.attempt = attempt;
        const job_handler_t *h = find_handler(rt, job.type);
        if (job.durable) {
            status = run_durable(rt, &ctx, h, &reply);
            if (!reply.len)
                make_reply(&ctx, status, &reply);
        } else if (job.deadline_ms && clock_now_ms() > job.deadline_ms) {
            /* Nobody waits for it any more and nothing durable depends on it. */
            status = job_fail(&ctx, 504, "JOB_EXPIRED", "the job's deadline passed in the queue");
            make_reply(&ctx, status, &reply);
        } else {
            status = run_transient(rt, &ctx, h);
            make_reply(&ctx, status, &reply);
        }
    }

    if (ctx.committed)
        run_bumps(&ctx);

    unsigned char st[2];
    proto_put_u16(st, (uint16_t)status);
    proto_frame_t frames[] = {
        {zmq_msg_data(&msgs[0]), zmq_msg_size(&msgs[0])},
        {zmq_msg_data(&msgs[1]), zmq_msg_size(&msgs[1])},
        {st, 2},
        {reply.data, reply.len},
    };
    proto_send(rt->pipe, frames, 4);

    LOG_FIELDS(status >= 500 ? LOG_WARN : LOG_INFO, decoded ? job.request_id : NULL, "job",
               LOG_STR("job_id", decoded ? job.id : ""), LOG_STR("type", decoded ? job.type : ""),
               LOG_NUM("attempt", attempt), LOG_NUM("status", status),
               LOG_NUM("duration_ms", (clock_mono_us() - started) / 1000));
    /* After the reply: the caller does not wait for the bus. A relay that
     * fails here leaves the events to the fronts' relay. */
    if (ctx.committed && ctx.events && ctx.db)
        outbox_relay(ctx.db, rt->publisher, 1000);
    if (decoded)
        job_release(&job);
    buf_free(&ctx.bumps);
    buf_free(&reply);
    buf_free(&ctx.body_buf);
    buf_free(&ctx.error_message);
    buf_free(&ctx.error_details);
}

/* ==== main thread ========================================================= */

/* The pool's event handlers as one table (test-only ones in test mode
 * only), or NULL when it has none. The caller frees it. */
static event_handler_t *merge_events(const event_handler_t *const *events, int test_mode)
{
    size_t n = 0;
    for (size_t t = 0; events && events[t]; t++)
        for (const event_handler_t *h = events[t]; h->fn; h++)
            n++;
    if (n == 0)
        return NULL;
    event_handler_t *all = calloc(n + 1, sizeof *all);
    if (!all)
        return NULL;
    size_t k = 0;
    for (size_t t = 0; events[t]; t++)
        for (const event_handler_t *h = events[t]; h->fn; h++)
            if (test_mode || !(h->flags & JOB_TEST_ONLY))
                all[k++] = *h;
    if (k == 0) {
        free(all);
        return NULL;
    }
    return all;
}

int worker_main(const char *pool, const job_handler_t *const *tables,
                const event_handler_t *const *events)
{
    log_init(pool);
    if (config_check_at_start() < 0)
        return 1;

    worker_runtime_t rt = {.tables = tables};
    snprintf(rt.pool, sizeof rt.pool, "%s", pool);
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(rt.name, sizeof rt.name, "%s:%d", host, (int)getpid());
    rt.test_mode = config_get_long("MANDI_TEST_MODE") == 1;
    rt.db_url = config_get("DATABASE_URL");
    rt.redis_url = config_get("REDIS_URL");
    rt.lease_ms = config_get_long("MANDI_JOB_LEASE_MS");
    rt.heartbeat_ms = (int)config_get_long("MANDI_HEARTBEAT_MS");
    rt.liveness = (int)config_get_long("MANDI_HEARTBEAT_LIVENESS");
    long prefetch = config_get_long("MANDI_WORKER_PREFETCH");
    rt.prefetch = (uint16_t)(prefetch < 1                  ? 1
                             : prefetch > PROTO_CREDIT_MAX ? PROTO_CREDIT_MAX
                                                           : prefetch);

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rt.zmq_ctx = zmq_ctx_new();
    rt.pipe = zmq_socket(rt.zmq_ctx, ZMQ_PAIR);
    zmq_bind(rt.pipe, PIPE_ENDPOINT);
    rt.publisher = zmq_socket(rt.zmq_ctx, ZMQ_PUB);
    int linger = 500;
    zmq_setsockopt(rt.publisher, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(rt.publisher, config_get("MANDI_EVENTS_PUB"));

    io_t io = {.rt = &rt, .pipe = zmq_socket(rt.zmq_ctx, ZMQ_PAIR)};
    zmq_connect(io.pipe, PIPE_ENDPOINT);
    /* Signals go to the main thread only, which decides when to stop. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_create(&rt.io_thread, NULL, io_main, &io);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    rt.db = db_connect(rt.db_url);
    /* A pool that reacts to events applies them between jobs, on this
     * thread and connection (common/consumer.h). */
    event_handler_t *handlers = merge_events(events, rt.test_mode);
    consumer_t *consumer =
        handlers ? consumer_new(pool, handlers, rt.zmq_ctx, config_get("MANDI_EVENTS_SUB")) : NULL;
    if (handlers && !consumer)
        log_msg(LOG_ERROR, NULL, "worker %s: the event consumer could not start", rt.name);
    log_msg(LOG_INFO, NULL, "worker %s of pool %s started%s%s", rt.name, rt.pool,
            rt.test_mode ? " (test mode)" : "", consumer ? ", consuming events" : "");

    while (!stop_requested) {
        zmq_pollitem_t items[2] = {{rt.pipe, 0, ZMQ_POLLIN, 0},
                                   {consumer ? consumer_socket(consumer) : NULL, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, consumer ? 2 : 1, 250) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (consumer && !(items[0].revents & ZMQ_POLLIN) && consumer_due(consumer) &&
            db_ensure(&rt.db, rt.db_url) == 0) {
            int wrote = 0;
            if (consumer_run(consumer, rt.db, &rt, &wrote) > 0 && wrote)
                outbox_relay(rt.db, rt.publisher, 1000);
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t msgs[PROTO_MAX_FRAMES];
        int count;
        if (proto_recv(rt.pipe, msgs, &count, ZMQ_DONTWAIT) < 0)
            continue;
        if (count == 4)
            handle_job(&rt, msgs);
        proto_close(msgs, count);
    }

    /* The job in hand (if any) has been answered; say goodbye. */
    zmq_send(rt.pipe, "STOP", 4, 0);
    pthread_join(rt.io_thread, NULL);
    consumer_destroy(&consumer);
    free(handlers);
    zmq_close(rt.pipe);
    zmq_close(rt.publisher);
    db_close(&rt.db);
    db_close(&rt.aux);
    if (rt.redis)
        redisFree(rt.redis);
    zmq_ctx_term(rt.zmq_ctx);
    log_msg(LOG_INFO, NULL, "worker %s stopped", rt.name);
    return 0;
}
