/*
 * worker - the runtime every worker pool links.
 *
 * It connects to the broker, registers the pool's service, keeps heartbeats
 * going both ways, reconnects with back-off when the broker is lost, decodes
 * each job, dispatches it by type through the pool's handler table, replies,
 * and on SIGTERM finishes the job in hand, says DISCONNECT and exits 0.
 *
 * Two threads: an I/O thread owns the broker socket, so heartbeats continue
 * while a handler is busy for seconds; the main thread runs the handlers
 * with the pool's database connections. Durable jobs (recorded in the jobs
 * table by the front) run exactly once: the handler's writes and the job's
 * result commit in one transaction, and a redelivered job whose result is
 * already recorded is answered from the record without running again.
 */
#ifndef MANDI_WORKER_H
#define MANDI_WORKER_H

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <msgpack.h>

#include "buf.h"
#include "job.h"

typedef struct worker_runtime worker_runtime_t;

typedef struct {
    const job_t *job;
    /* The pool's connection. For a durable job it is inside the job's
     * transaction: commit and rollback belong to the runtime. */
    PGconn *db;
    /* Where the handler packs its reply body (one msgpack value, or nothing). */
    msgpack_packer body;
    buf_t body_buf;
    /* Set by job_fail. */
    char error_code[64];
    buf_t error_message;
    buf_t error_details; /* one msgpack value, or empty */
    /* Set by a handler whose writes must commit even though it answers an
     * error (e.g. a reused refresh token revokes its family, then fails). */
    int keep_writes;
    /* Set by the runtime once the handler's writes are committed. */
    int committed;
    int events; /* events written to the outbox by this job */
    /* Set by job_retry_later: the failure is passing (a third party down),
     * so the job is tried again after this many milliseconds. */
    long retry_after_ms;
    buf_t bumps; /* Redis counters to increment after commit, '\0'-separated */
    worker_runtime_t *runtime;
} job_ctx_t;

/* A handler returns the HTTP-like status of its reply: 2xx after packing a
 * body, or the value of job_fail. Statuses >= 400 roll back its writes. */
typedef int (*job_fn)(job_ctx_t *ctx);

enum {
    JOB_TEST_ONLY = 1, /* loaded only when MANDI_TEST_MODE=1 */
    /* A job that is not recorded (not durable) still runs in a transaction:
     * committed when the handler answers below 400, else rolled back. */
    JOB_TX = 2,
    /* The job carries secrets (a password, an OTP): once its result is
     * recorded its envelope is emptied in the jobs table. */
    JOB_SCRUB = 4,
};

typedef struct {
    const char *type;
    job_fn fn;
    unsigned flags;
} job_handler_t;

/* Records an error reply and returns status, so handlers can write
 * `return job_fail(ctx, 404, "ORDER_NOT_FOUND", "order %s not found", id);` */
int job_fail(job_ctx_t *ctx, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds details (one msgpack value) to the error set by job_fail. */
void job_fail_details(job_ctx_t *ctx, const char *details, size_t len);

/* Forgets a failure the handler has dealt with itself (say, rolled back to
 * a savepoint), so a later success is not reported with its code. */
void job_fail_reset(job_ctx_t *ctx);

/* Details of one member, {key: value}, the common case. */
void job_fail_detail_str(job_ctx_t *ctx, const char *key, const char *value);
void job_fail_detail_i64(job_ctx_t *ctx, const char *key, int64_t value);

/* Records a new durable job for another pool (or this one) in the jobs
 * table, inside the handler's transaction: it exists if and only if the
 * handler's work commits. The front's recovery sweep sends it within about
 * a second. body is one msgpack value (the job's "body"). Returns 0 or -1. */
int job_enqueue(job_ctx_t *ctx, const char *service, const char *type, const char *body,
                size_t len);

/* The same on any connection (the scheduler's): the row is written in
 * whatever transaction db is in. request_id NULL uses the job's id; id
 * (37 bytes, may be NULL) receives the new job's id. Returns 0 or -1. */
int job_enqueue_db(PGconn *db, const char *service, const char *type, const char *request_id,
                   const char *body, size_t len, char id[37]);

/* job_enqueue_db for a job that must not run before not_before (a
 * timestamptz text; NULL for now): its lease starts out ending then, so
 * the recovery sweep sends it when that time comes and nothing polls for
 * it meanwhile. */
int job_enqueue_at_db(PGconn *db, const char *service, const char *type, const char *request_id,
                      const char *body, size_t len, const char *not_before, char id[37]);

/* The pool's Redis connection, opened on first use and again after an
 * error (hiredis contexts die with their first error); NULL when Redis
 * cannot be reached. */
redisContext *job_redis(job_ctx_t *ctx);

/* Marks the failure the handler is about to answer as passing: a durable
 * job that has attempts left is rolled back and not recorded as failed but
 * sent again by the recovery sweep once delay_ms have passed (the attempts
 * count on, so a job that never gets through ends dead). Its writes roll
 * back, keep_writes or not: a handler that logs its attempts counts them
 * from the job's own attempts. A job that is not durable just fails. */
void job_retry_later(job_ctx_t *ctx, long delay_ms);

/* Reports progress (0..100) of a durable job; visible on GET /api/jobs/{id}. */
void job_progress(job_ctx_t *ctx, int percent);

/* Records a domain event (topic: its name; body: one msgpack value) in the
 * outbox, inside the handler's transaction: it is published on the bus after
 * the job commits, and never if the job's writes roll back. Returns 0 or -1
 * (the handler should then fail, so its writes roll back too). */
int job_event(job_ctx_t *ctx, const char *topic, const char *body, size_t len);

/* The same with the body given as JSON text (e.g. built by PostgreSQL). */
int job_event_json(job_ctx_t *ctx, const char *topic, const char *json, size_t len);

/* Increments the Redis counter key once the job's writes are committed and
 * before the reply is sent. Caches key their entries by such counters, so a
 * reader that comes after the reply never gets an entry made before the
 * write (a counter bumped before the commit could be read, and the old row
 * cached under it, before the commit lands). */
void job_bump_after_commit(job_ctx_t *ctx, const char *key);

/* "host:pid" of this worker process. */
const char *job_worker_name(const job_ctx_t *ctx);

/* The pool's name. */
const char *job_pool_name(const job_ctx_t *ctx);

struct event_handler; /* common/consumer.h */

/* Runs the worker of pool `pool` with the handler tables given (each ends
 * with a {NULL} entry; tables[] itself ends with NULL) and the pool's event
 * handler tables (the same shape; NULL or empty: it reacts to no event)
 * until SIGTERM or SIGINT. Returns the process exit code. */
int worker_main(const char *pool, const job_handler_t *const *tables,
                const struct event_handler *const *events);

#endif
