/*
 * journal - the front's thread for PostgreSQL and Redis (see journal.h).
 */
#include "journal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "codec.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "log.h"
#include "mailbox.h"
#include "mp.h"
#include "outbox.h"
#include "redis_conn.h"
#include "revoked.h"
#include "uuid.h"

#define BATCH_MAX          128 /* keeps a pipeline within the socket buffers */
#define HEALTH_INTERVAL_MS 1000
#define SWEEP_INTERVAL_MS  1000
#define COUNT_INTERVAL_MS  5000
#define OUTBOX_INTERVAL_MS 1000
#define PRUNE_INTERVAL_MS  3600000
#define OUTBOX_BATCH       1000
#define SWEEP_BATCH        "100"

const char *const journal_state_names[JOURNAL_STATES] = {"queued", "running", "succeeded", "failed",
                                                         "dead"};

typedef struct {
    mail_t mail;
    char job_id[37];
    char state[12];
    int status;
    buf_t reply;
} journal_note_t;

static struct {
    mailbox_t mailbox;
    pthread_t thread;
    atomic_int stop;
    PGconn *db;
    redisContext *redis;
    const char *db_url;
    long lease_ms, max_attempts, default_wait_ms;
    atomic_llong db_ok_at, redis_ok_at;
    pthread_mutex_t counts_lock;
    int64_t counts[JOURNAL_STATES];
    int counted;
    void *zmq_ctx;
    void *publisher; /* PUB socket for the outbox relay */
    long outbox_keep_days;
} j;

/* ---- posting ------------------------------------------------------------ */

void journal_record(request_t *req)
{
    req->mail.kind = MAIL_RECORD;
    mailbox_post(&j.mailbox, &req->mail);
}

void journal_accept_late(request_t *req)
{
    req->mail.kind = MAIL_ACCEPT_LATE;
    mailbox_post(&j.mailbox, &req->mail);
}

void journal_job_status(request_t *req)
{
    req->mail.kind = MAIL_JOB_STATUS;
    mailbox_post(&j.mailbox, &req->mail);
}

static void post_note(int kind, const char *job_id, const char *state, int status,
                      const char *reply, size_t len)
{
    journal_note_t *n = calloc(1, sizeof *n);
    if (!n)
        abort();
    n->mail.kind = kind;
    snprintf(n->job_id, sizeof n->job_id, "%s", job_id);
    snprintf(n->state, sizeof n->state, "%s", state);
    n->status = status;
    buf_append(&n->reply, reply, len);
    mailbox_post(&j.mailbox, &n->mail);
}

void journal_finish(const char *job_id, const char *state, int status, const char *reply,
                    size_t len)
{
    post_note(MAIL_FINISH, job_id, state, status, reply, len);
}

void journal_discard(const char *job_id)
{
    post_note(MAIL_DISCARD, job_id, "", 0, NULL, 0);
}

int64_t journal_db_age_ms(void)
{
    int64_t at = atomic_load(&j.db_ok_at);
    return at ? clock_mono_ms() - at : -1;
}

int64_t journal_redis_age_ms(void)
{
    int64_t at = atomic_load(&j.redis_ok_at);
    return at ? clock_mono_ms() - at : -1;
}

int journal_job_counts(int64_t counts[JOURNAL_STATES])
{
    pthread_mutex_lock(&j.counts_lock);
    memcpy(counts, j.counts, sizeof j.counts);
    int counted = j.counted;
    pthread_mutex_unlock(&j.counts_lock);
    return counted ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------ */

static int db_ready(void)
{
    if (db_ensure(&j.db, j.db_url) < 0)
        return -1;
    return 0;
}

static void mark_db_ok(void)
{
    atomic_store(&j.db_ok_at, clock_mono_ms());
}

static PGresult *exec(const char *sql, int n, const char *const *values, const int *lengths,
                      const int *formats, int binary_result)
{
    PGresult *res = PQexecParams(j.db, sql, n, NULL, values, lengths, formats, binary_result);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        mark_db_ok();
    else
        log_msg(LOG_WARN, NULL, "journal query failed: %s", PQresultErrorMessage(res));
    return res;
}

static int res_ok(PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static void fail_unavailable(request_t *req)
{
    if (req->conn) {
        request_fail(req, 503, "DB_UNAVAILABLE", "the job could not be recorded");
        request_resume(req);
    } else {
        request_destroy(&req);
    }
}

/* ---- recording jobs ----------------------------------------------------- */

static const char insert_sql[] =
    "INSERT INTO jobs (id, service, type, status, durable, max_attempts, owner_id, request_id, "
    "idempotency_key, request_hash, envelope, lease_until) "
    "VALUES ($1, $2, $3, $4, $5::boolean, $6::int, $7, $8, $9, $10, $11, "
    "now() + $12::bigint * interval '1 millisecond') "
    "ON CONFLICT DO NOTHING RETURNING id";

/* The parameters of insert_sql for req's job; `text` holds the numbers. */
typedef struct {
    char max_attempts[16], lease[24];
    const char *values[12];
    int lengths[12], formats[12];
} insert_params_t;

static void insert_params(const request_t *req, const char *status, insert_params_t *p)
{
    const job_t *job = &req->job;
    snprintf(p->max_attempts, sizeof p->max_attempts, "%ld", j.max_attempts);
    /* The lease covers the caller's wait, so the sweep never races the
     * first delivery of a job that is merely slow. */
    snprintf(p->lease, sizeof p->lease, "%ld", j.lease_ms + req->wait_ms);
    const char *key = job->idempotency_key[0] ? job->idempotency_key : NULL;
    const char *values[] = {job->id,
                            job->service,
                            job->type,
                            status,
                            job->durable ? "true" : "false",
                            p->max_attempts,
                            req->authenticated ? req->claims.sub : NULL,
                            job->request_id,
                            key,
                            key ? (const char *)req->request_hash : NULL,
                            req->envelope.data,
                            p->lease};
    memcpy(p->values, values, sizeof values);
    memset(p->lengths, 0, sizeof p->lengths);
    memset(p->formats, 0, sizeof p->formats);
    p->lengths[9] = 32;
    p->formats[9] = 1;
    p->lengths[10] = (int)req->envelope.len;
    p->formats[10] = 1;
}

/* An earlier job holds req's Idempotency-Key: answer from it. Returns 0 with
 * req's outcome set, or -1 when it cannot be read. */
static int resolve_conflict(request_t *req)
{
    const char *owner = req->authenticated ? req->claims.sub : "";
    const char *lookup[] = {owner, req->job.idempotency_key};
    PGresult *res = exec("SELECT id, request_hash, status, http_status, result FROM jobs "
                         "WHERE coalesce(owner_id, '') = $1 AND idempotency_key = $2",
                         2, lookup, NULL, NULL, 1);
    if (!res_ok(res) || PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    if (PQgetlength(res, 0, 1) != 32 || memcmp(PQgetvalue(res, 0, 1), req->request_hash, 32)) {
        request_fail(req, 422, "IDEMPOTENCY_KEY_REUSED",
                     "Idempotency-Key was used before with a different request");
    } else if (PQgetisnull(res, 0, 4)) {
        /* The first request is still under way: point at its job. */
        uuid_format((const unsigned char *)PQgetvalue(res, 0, 0), req->job.id);
        req->outcome = OUT_ACCEPTED;
        req->replayed = 1;
    } else {
        const unsigned char *st = (const unsigned char *)PQgetvalue(res, 0, 3);
        req->outcome = OUT_REPLY;
        req->out_status =
            (int)((uint32_t)st[0] << 24 | (uint32_t)st[1] << 16 | (uint32_t)st[2] << 8 | st[3]);
        buf_append(&req->out_body, PQgetvalue(res, 0, 4), (size_t)PQgetlength(res, 0, 4));
        req->replayed = 1;
    }
    PQclear(res);
    return 0;
}

/* Inserts req's job on its own; returns 1 inserted, 0 answered from an
 * earlier job with the same Idempotency-Key, -1 on error. */
static int insert_job(request_t *req, const char *status)
{
    insert_params_t p;
    insert_params(req, status, &p);
    PGresult *res = exec(insert_sql, 12, p.values, p.lengths, p.formats, 0);
    if (!res_ok(res)) {
        PQclear(res);
        return -1;
    }
    int inserted = PQntuples(res) == 1;
    PQclear(res);
    if (inserted)
        return 1;
    if (!req->job.idempotency_key[0])
        return -1; /* a UUID collision: treat as an error */
    return resolve_conflict(req) == 0 ? 0 : -1;
}

/* After a job is recorded: dispatch it, answering 202 at once when asked. */
static void dispatch_recorded(request_t *req)
{
    if (req->respond_async) {
        dispatch_post(
            request_new_detached(&req->job, req->envelope.data, req->envelope.len, req->wait_ms));
        req->outcome = OUT_ACCEPTED;
        request_resume(req);
    } else {
        dispatch_post(req);
    }
}

/* One transaction for the whole batch, sent as one pipeline: a single round
 * trip and a single WAL flush for every job that arrived meanwhile. */
static int insert_batch(request_t **batch, int n, int *inserted)
{
    if (PQenterPipelineMode(j.db) != 1)
        return -1;
    int ok = PQsendQueryParams(j.db, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (int i = 0; i < n && ok; i++) {
        insert_params_t p;
        insert_params(batch[i], "queued", &p);
        ok = PQsendQueryParams(j.db, insert_sql, 12, NULL, p.values, p.lengths, p.formats, 0);
    }
    ok = ok && PQsendQueryParams(j.db, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    ok = ok && PQpipelineSync(j.db);
    if (!ok) {
        log_msg(LOG_WARN, NULL, "journal pipeline failed: %s", PQerrorMessage(j.db));
        PQexitPipelineMode(j.db);
        return -1;
    }
    /* Results come in order: BEGIN, the inserts, COMMIT, then the sync. */
    int failed = 0;
    for (int q = 0; q < n + 2; q++) {
        PGresult *res;
        while ((res = PQgetResult(j.db))) {
            ExecStatusType st = PQresultStatus(res);
            if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                if (!failed)
                    log_msg(LOG_WARN, NULL, "journal batch failed: %s", PQresultErrorMessage(res));
                failed = 1;
            } else if (q >= 1 && q <= n) {
                inserted[q - 1] = PQntuples(res) == 1;
            }
            PQclear(res);
        }
    }
    PGresult *sync = PQgetResult(j.db);
    if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
        failed = 1;
    PQclear(sync);
    PQexitPipelineMode(j.db);
    if (failed)
        return -1;
    mark_db_ok();
    return 0;
}

static void record_batch(request_t **batch, int n)
{
    int inserted[BATCH_MAX] = {0};
    if (db_ready() < 0 || insert_batch(batch, n, inserted) < 0) {
        if (j.db && PQtransactionStatus(j.db) != PQTRANS_IDLE)
            db_exec(j.db, "ROLLBACK");
        for (int i = 0; i < n; i++)
            fail_unavailable(batch[i]);
        return;
    }
    for (int i = 0; i < n; i++) {
        request_t *req = batch[i];
        if (inserted[i])
            dispatch_recorded(req);
        else if (req->job.idempotency_key[0] && resolve_conflict(req) == 0)
            request_resume(req);
        else
            fail_unavailable(req);
    }
}

static void accept_late(request_t *req)
{
    if (db_ready() < 0) {
        request_fail(req, 504, "TIMEOUT", "no reply in time and the job could not be recorded");
        request_resume(req);
        return;
    }
    int r = insert_job(req, "running");
    if (r < 0) {
        request_fail(req, 504, "TIMEOUT", "no reply in time and the job could not be recorded");
    } else if (r == 1) {
        req->outcome = OUT_ACCEPTED;
    }
    request_resume(req);
}

static void finish(journal_note_t *n)
{
    if (db_ready() < 0)
        return;
    char status[8];
    snprintf(status, sizeof status, "%d", n->status);
    const char *values[] = {n->job_id, n->state, status, n->reply.data};
    int lengths[] = {0, 0, 0, (int)n->reply.len};
    int formats[] = {0, 0, 0, 1};
    PQclear(exec("UPDATE jobs SET status = $2, http_status = $3::int, result = $4, "
                 "progress = 100, finished_at = clock_timestamp(), updated_at = clock_timestamp() "
                 "WHERE id = $1 AND status IN ('queued', 'running')",
                 4, values, lengths, formats, 0));
}

static void discard(journal_note_t *n)
{
    if (db_ready() < 0)
        return;
    const char *values[] = {n->job_id};
    PQclear(exec("DELETE FROM jobs WHERE id = $1 AND status = 'queued'", 1, values, NULL, NULL, 0));
}

/* ---- GET /api/jobs/{id} ------------------------------------------------- */

static void json_key(buf_t *out, const char *key)
{
    if (out->len > 1)
        buf_append_char(out, ',');
    codec_json_string(out, key, strlen(key));
    buf_append_char(out, ':');
}

static void json_text_or_null(buf_t *out, PGresult *res, int col)
{
    if (PQgetisnull(res, 0, col))
        buf_append_str(out, "null");
    else
        codec_json_string(out, PQgetvalue(res, 0, col), (size_t)PQgetlength(res, 0, col));
}

/* Writes "result" and "error" from a stored reply envelope. */
static void json_result(buf_t *out, PGresult *res, int col)
{
    reply_t reply;
    const char *why;
    if (PQgetisnull(res, 0, col) ||
        reply_decode(&reply, PQgetvalue(res, 0, col), (size_t)PQgetlength(res, 0, col), &why)) {
        json_key(out, "result");
        buf_append_str(out, "null");
        json_key(out, "error");
        buf_append_str(out, "null");
        return;
    }
    json_key(out, "result");
    if (reply.body && !reply.code)
        codec_object_to_json(reply.body, out, NULL);
    else
        buf_append_str(out, "null");
    json_key(out, "error");
    if (reply.code) {
        buf_append_str(out, "{\"code\":");
        codec_object_to_json(reply.code, out, NULL);
        buf_append_str(out, ",\"message\":");
        codec_object_to_json(reply.message, out, NULL);
        if (reply.details) {
            buf_append_str(out, ",\"details\":");
            codec_object_to_json(reply.details, out, NULL);
        }
        buf_append_char(out, '}');
    } else {
        buf_append_str(out, "null");
    }
    reply_release(&reply);
}

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static void job_status(request_t *req)
{
    size_t id_len = 0;
    const char *id = route_param(&req->match, "id", &id_len);
    char job_id[37] = "";
    if (id_len == 36)
        memcpy(job_id, id, 36);
    if (!uuid_valid(job_id)) {
        request_fail(req, 404, "JOB_NOT_FOUND", "no job with this id");
        request_resume(req);
        return;
    }
    if (db_ready() < 0) {
        request_fail(req, 503, "DB_UNAVAILABLE", "the job store cannot be reached");
        request_resume(req);
        return;
    }
    const char *values[] = {job_id};
    PGresult *res = exec("SELECT id, service, type, status, attempts, max_attempts, progress, "
                         "http_status, owner_id, " TS("created_at") ", " TS("updated_at") ", " TS(
                             "finished_at") " FROM jobs WHERE id = $1",
                         1, values, NULL, NULL, 0);
    if (!res_ok(res)) {
        request_fail(req, 503, "DB_UNAVAILABLE", "the job store cannot be reached");
    } else if (PQntuples(res) == 0) {
        request_fail(req, 404, "JOB_NOT_FOUND", "no job with this id");
    } else {
        const char *owner = PQgetisnull(res, 0, 8) ? NULL : PQgetvalue(res, 0, 8);
        int admin = req->authenticated && (strcmp(req->claims.role, "ADMIN") == 0 ||
                                           strcmp(req->claims.role, "SUPER_ADMIN") == 0);
        if (owner && !req->authenticated) {
            request_fail(req, 401, "AUTH_REQUIRED", "this job belongs to a user: send a token");
        } else if (owner && !admin && strcmp(owner, req->claims.sub) != 0) {
            /* Not yours: indistinguishable from a job that does not exist. */
            request_fail(req, 404, "JOB_NOT_FOUND", "no job with this id");
        } else {
            buf_t *out = &req->out_body;
            buf_append_char(out, '{');
            static const char *const text_cols[] = {"job_id", "service", "type", "status"};
            for (int c = 0; c < 4; c++) {
                json_key(out, text_cols[c]);
                json_text_or_null(out, res, c);
            }
            static const char *const num_cols[] = {"attempts", "max_attempts", "progress",
                                                   "http_status"};
            for (int c = 0; c < 4; c++) {
                json_key(out, num_cols[c]);
                buf_append_str(out,
                               PQgetisnull(res, 0, 4 + c) ? "null" : PQgetvalue(res, 0, 4 + c));
            }
            static const char *const time_cols[] = {"created_at", "updated_at", "finished_at"};
            for (int c = 0; c < 3; c++) {
                json_key(out, time_cols[c]);
                json_text_or_null(out, res, 9 + c);
            }
            /* The result column is bytea: fetch it in binary. */
            PGresult *bin = exec("SELECT result FROM jobs WHERE id = $1", 1, values, NULL, NULL, 1);
            if (res_ok(bin) && PQntuples(bin) == 1)
                json_result(out, bin, 0);
            PQclear(bin);
            buf_append_char(out, '}');
            req->outcome = OUT_DATA;
            req->out_status = 200;
        }
    }
    PQclear(res);
    request_resume(req);
}

/* ---- periodic work ------------------------------------------------------ */

/* Sends again the jobs whose lease ran out, and gives up those that used
 * all their attempts. Several fronts may sweep at once: SKIP LOCKED and the
 * new lease keep them from taking the same job. */
static void sweep(void)
{
    if (db_ready() < 0)
        return;
    buf_t dead = BUF_INIT;
    reply_encode_error(&dead, 500, "JOB_DEAD", "job gave up after its maximum attempts", NULL, 0);
    const char *dv[] = {dead.data};
    int dl[] = {(int)dead.len}, df[] = {1};
    PQclear(exec("UPDATE jobs SET status = 'dead', http_status = 500, result = $1, "
                 "finished_at = now(), updated_at = now() "
                 "WHERE status IN ('queued', 'running') AND lease_until < now() "
                 "AND attempts >= max_attempts",
                 1, dv, dl, df, 0));
    buf_free(&dead);

    char lease[24];
    snprintf(lease, sizeof lease, "%ld", j.lease_ms);
    const char *values[] = {lease};
    PGresult *res =
        exec("UPDATE jobs SET lease_until = now() + $1::bigint * interval '1 millisecond', "
             "attempts = attempts + CASE WHEN durable THEN 0 ELSE 1 END, updated_at = now() "
             "WHERE id IN (SELECT id FROM jobs WHERE status IN ('queued', 'running') "
             "AND lease_until < now() ORDER BY lease_until LIMIT " SWEEP_BATCH
             " FOR UPDATE SKIP LOCKED) RETURNING envelope",
             1, values, NULL, NULL, 1);
    if (res_ok(res)) {
        for (int i = 0; i < PQntuples(res); i++) {
            job_t job;
            const char *why;
            const char *env = PQgetvalue(res, i, 0);
            size_t len = (size_t)PQgetlength(res, i, 0);
            if (job_decode(&job, env, len, &why) < 0) {
                log_msg(LOG_ERROR, NULL, "sweep: unreadable envelope: %s", why);
                continue;
            }
            log_msg(LOG_INFO, job.request_id, "sweep: sending job %s again", job.id);
            if (job.durable) {
                dispatch_post(request_new_detached(&job, env, len, (int)j.lease_ms));
            } else {
                /* A read is skipped by workers once its deadline passed: give
                 * the new delivery a deadline of its own. */
                buf_t payload = BUF_INIT, fresh = BUF_INIT;
                msgpack_packer pk;
                msgpack_packer_init(&pk, &payload, buf_msgpack_write);
                msgpack_pack_object(&pk, *job.payload);
                job.deadline_ms = clock_now_ms() + j.lease_ms;
                job_encode(&job, payload.data, payload.len, &fresh);
                dispatch_post(request_new_detached(&job, fresh.data, fresh.len, (int)j.lease_ms));
                buf_free(&payload);
                buf_free(&fresh);
            }
            job_release(&job);
        }
    }
    PQclear(res);
}

/* Publishes events that waited over a second: their worker normally relays
 * them right after its commit, so these are the ones whose worker died in
 * between (or could not reach the database). Any number of fronts may do
 * this at once; numbering is serialised in the database. */
static void relay_outbox(void)
{
    if (db_ready() < 0)
        return;
    PGresult *res = exec("SELECT 1 FROM outbox WHERE position IS NULL "
                         "AND created_at < now() - interval '1 second' LIMIT 1",
                         0, NULL, NULL, NULL, 0);
    int waiting = res_ok(res) && PQntuples(res) > 0;
    PQclear(res);
    if (!waiting)
        return;
    if (!j.publisher)
        return;
    int n;
    while ((n = outbox_relay(j.db, j.publisher, OUTBOX_BATCH)) == OUTBOX_BATCH)
        ;
    if (n < 0)
        log_msg(LOG_WARN, NULL, "outbox relay failed");
}

/* Drops published events older than MANDI_OUTBOX_KEEP_DAYS. */
static void prune_outbox(void)
{
    if (db_ready() < 0)
        return;
    char days[24];
    snprintf(days, sizeof days, "%ld", j.outbox_keep_days);
    const char *values[] = {days};
    PQclear(exec("DELETE FROM outbox WHERE position IS NOT NULL "
                 "AND published_at < now() - $1::int * interval '1 day'",
                 1, values, NULL, NULL, 0));
}

static void count_jobs(void)
{
    if (db_ready() < 0)
        return;
    PGresult *res =
        exec("SELECT status, count(*) FROM jobs GROUP BY status", 0, NULL, NULL, NULL, 0);
    if (res_ok(res)) {
        int64_t counts[JOURNAL_STATES] = {0};
        for (int i = 0; i < PQntuples(res); i++)
            for (int s = 0; s < JOURNAL_STATES; s++)
                if (strcmp(PQgetvalue(res, i, 0), journal_state_names[s]) == 0)
                    counts[s] = atoll(PQgetvalue(res, i, 1));
        pthread_mutex_lock(&j.counts_lock);
        memcpy(j.counts, counts, sizeof counts);
        j.counted = 1;
        pthread_mutex_unlock(&j.counts_lock);
    }
    PQclear(res);
}

static void check_health(void)
{
    if (db_ready() == 0)
        PQclear(exec("SELECT 1", 0, NULL, NULL, NULL, 0));
    if (!j.redis)
        j.redis = redis_open(config_get("REDIS_URL"), 1000);
    if (j.redis) {
        if (redis_ping(j.redis) == 0) {
            atomic_store(&j.redis_ok_at, clock_mono_ms());
        } else {
            redisFree(j.redis);
            j.redis = NULL;
        }
    }
}

/* ---- thread ------------------------------------------------------------- */

static void handle_mail(mail_t *all)
{
    request_t *batch[BATCH_MAX];
    int n = 0;
    for (mail_t *m = all, *next; m; m = next) {
        next = m->next;
        switch (m->kind) {
        case MAIL_RECORD:
            batch[n++] = (request_t *)m;
            if (n == BATCH_MAX) {
                record_batch(batch, n);
                n = 0;
            }
            break;
        case MAIL_ACCEPT_LATE:
            accept_late((request_t *)m);
            break;
        case MAIL_JOB_STATUS:
            job_status((request_t *)m);
            break;
        case MAIL_FINISH:
        case MAIL_DISCARD: {
            journal_note_t *note = (journal_note_t *)m;
            if (m->kind == MAIL_FINISH)
                finish(note);
            else
                discard(note);
            buf_free(&note->reply);
            free(note);
            break;
        }
        default:
            log_msg(LOG_ERROR, NULL, "journal: unexpected mail kind %d", m->kind);
        }
    }
    if (n)
        record_batch(batch, n);
}

/* The socket the relay publishes on, connected when the thread starts: a
 * PUB socket drops what it sends before its connection is made, so one
 * made at the first relay would lose that relay's events (marked
 * published all the same). */
static void open_publisher(void)
{
    j.publisher = zmq_socket(j.zmq_ctx, ZMQ_PUB);
    if (!j.publisher)
        return;
    int linger = 500;
    zmq_setsockopt(j.publisher, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(j.publisher, config_get("MANDI_EVENTS_PUB")) < 0) {
        log_msg(LOG_WARN, NULL, "outbox relay cannot connect: %s", zmq_strerror(zmq_errno()));
        zmq_close(j.publisher);
        j.publisher = NULL;
    }
}

static void *journal_main(void *arg)
{
    (void)arg;
    open_publisher();
    int64_t health_at = 0, sweep_at = clock_mono_ms() + SWEEP_INTERVAL_MS, count_at = 0;
    int64_t revoked_at = 0, outbox_at = clock_mono_ms() + OUTBOX_INTERVAL_MS,
            prune_at = clock_mono_ms() + PRUNE_INTERVAL_MS;
    while (!atomic_load(&j.stop)) {
        int64_t now = clock_mono_ms();
        int64_t next = health_at < sweep_at ? health_at : sweep_at;
        next = count_at < next ? count_at : next;
        next = revoked_at < next ? revoked_at : next;
        next = outbox_at < next ? outbox_at : next;
        next = prune_at < next ? prune_at : next;
        if (next > now)
            mailbox_wait(&j.mailbox, (int)(next - now));
        mail_t *all = mailbox_take_all(&j.mailbox);
        if (all)
            handle_mail(all);
        now = clock_mono_ms();
        if (now >= health_at) {
            check_health();
            health_at = now + HEALTH_INTERVAL_MS;
        }
        if (now >= sweep_at) {
            sweep();
            sweep_at = now + SWEEP_INTERVAL_MS;
        }
        if (now >= revoked_at) {
            if (j.redis && revoked_refresh(j.redis) < 0) {
                redisFree(j.redis);
                j.redis = NULL; /* check_health reconnects */
            }
            revoked_at = now + REVOKED_REFRESH_MS;
        }
        if (now >= count_at) {
            count_jobs();
            count_at = now + COUNT_INTERVAL_MS;
        }
        if (now >= outbox_at) {
            relay_outbox();
            outbox_at = now + OUTBOX_INTERVAL_MS;
        }
        if (now >= prune_at) {
            prune_outbox();
            prune_at = now + PRUNE_INTERVAL_MS;
        }
    }
    if (j.publisher)
        zmq_close(j.publisher);
    return NULL;
}

int journal_start(void *zmq_ctx)
{
    j.zmq_ctx = zmq_ctx;
    j.outbox_keep_days = config_get_long("MANDI_OUTBOX_KEEP_DAYS");
    j.db_url = config_get("DATABASE_URL");
    j.lease_ms = config_get_long("MANDI_JOB_LEASE_MS");
    j.max_attempts = config_get_long("MANDI_MAX_ATTEMPTS");
    pthread_mutex_init(&j.counts_lock, NULL);
    if (mailbox_init(&j.mailbox) < 0)
        return -1;
    return pthread_create(&j.thread, NULL, journal_main, NULL) == 0 ? 0 : -1;
}

void journal_stop(void)
{
    atomic_store(&j.stop, 1);
    uint64_t one = 1;
    ssize_t n = write(j.mailbox.fd, &one, sizeof one);
    (void)n;
    pthread_join(j.thread, NULL);
    /* Whatever is still in the box gets an answer or is dropped. */
    mail_t *m = mailbox_take_all(&j.mailbox);
    while (m) {
        mail_t *next = m->next;
        if (m->kind == MAIL_FINISH || m->kind == MAIL_DISCARD) {
            journal_note_t *note = (journal_note_t *)m;
            buf_free(&note->reply);
            free(note);
        } else {
            request_t *req = (request_t *)m;
            if (req->conn) {
                request_fail(req, 503, "SHUTTING_DOWN", "the front is stopping");
                request_resume(req);
            } else {
                request_destroy(&req);
            }
        }
        m = next;
    }
    db_close(&j.db);
    if (j.redis)
        redisFree(j.redis);
}
