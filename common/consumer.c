/*
 * consumer - a pool's reactions to domain events (see consumer.h).
 */
#include "consumer.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "outbox.h"

#define BATCH       "100"
#define PASS_MAX_MS 1000 /* a pass at least this often, woken or not */

struct consumer {
    char name[32]; /* a pool name (PROTO_SERVICE_MAX) */
    const event_handler_t *handlers;
    void *sub;
    int64_t last_pass_ms;
    int woken;
    int registered; /* its event_consumers row is known to exist */
};

/* The handlers run on the worker's one handler thread: a plain static is
 * enough to tell them where they are. */
static int64_t current_position;

int64_t consumer_position(void)
{
    return current_position;
}

consumer_t *consumer_new(const char *name, const event_handler_t *handlers, void *zmq_ctx,
                         const char *sub_endpoint)
{
    consumer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->name, sizeof self->name, "%s", name);
    self->handlers = handlers;
    self->sub = zmq_socket(zmq_ctx, ZMQ_SUB);
    if (!self->sub || zmq_connect(self->sub, sub_endpoint) < 0) {
        consumer_destroy(&self);
        return NULL;
    }
    /* Only the topics some handler wants wake it. */
    for (const event_handler_t *h = handlers; h->fn; h++)
        zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, h->prefix, strlen(h->prefix));
    int linger = 0;
    zmq_setsockopt(self->sub, ZMQ_LINGER, &linger, sizeof linger);
    self->woken = 1; /* catch up at once on start */
    return self;
}

void consumer_destroy(consumer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->sub)
        zmq_close((*self_p)->sub);
    free(*self_p);
    *self_p = NULL;
}

void *consumer_socket(consumer_t *self)
{
    return self->sub;
}

int consumer_due(consumer_t *self)
{
    /* Drain the wake-ups: what they carried is read from the table. */
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, self->sub, ZMQ_DONTWAIT) >= 0)
        self->woken = 1;
    zmq_msg_close(&msg);
    return self->woken || clock_now_ms() - self->last_pass_ms >= PASS_MAX_MS;
}

/* A stable job id for (consumer, position), shaped as a UUID: handlers use
 * it as the reference of what they write, so a pass redone after a crash
 * meets its own earlier rows rather than making new ones. */
static void event_job_id(const char *consumer, int64_t position, char out[37])
{
    char key[96];
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int len = snprintf(key, sizeof key, "%s/%lld", consumer, (long long)position);
    EVP_Digest(key, (size_t)len, h, &n, EVP_sha256(), NULL);
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x50); /* version 5-like: name-based */
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", h[0],
             h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13],
             h[14], h[15]);
}

/* Runs the handlers of one event in savepoints. Returns 0 when all kept
 * their writes, else the failing status (its writes undone); *why gets the
 * error code. */
static int apply_event(consumer_t *self, PGconn *db, worker_runtime_t *rt, int64_t position,
                       const char *topic, const char *body, size_t len, int *events, char why[64])
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, body, len, NULL) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy(&u);
        snprintf(why, 64, "UNREADABLE_EVENT");
        return 422;
    }
    job_t job = {.attempt = 1};
    event_job_id(self->name, position, job.id);
    snprintf(job.service, sizeof job.service, "%.31s", self->name);
    snprintf(job.type, sizeof job.type, "%.63s", topic);
    snprintf(job.request_id, sizeof job.request_id, "event-%.31s-%lld", self->name,
             (long long)position);
    int status = 0;
    for (const event_handler_t *h = self->handlers; h->fn && status < 400; h++) {
        if (strncmp(topic, h->prefix, strlen(h->prefix)) != 0)
            continue;
        job_ctx_t ctx = {.job = &job, .db = db, .runtime = rt};
        msgpack_packer_init(&ctx.body, &ctx.body_buf, buf_msgpack_write);
        if (db_exec(db, "SAVEPOINT event") < 0) {
            status = 503;
            snprintf(why, 64, "DB_UNAVAILABLE");
        } else {
            current_position = position;
            status = h->fn(&ctx, topic, &u.data);
            current_position = 0;
            if (status >= 400) {
                snprintf(why, 64, "%s", ctx.error_code[0] ? ctx.error_code : "EVENT_FAILED");
                db_exec(db, "ROLLBACK TO SAVEPOINT event");
            } else if (db_exec(db, "RELEASE SAVEPOINT event") < 0) {
                status = 503;
                snprintf(why, 64, "DB_UNAVAILABLE");
            }
        }
        *events += ctx.events;
        buf_free(&ctx.body_buf);
        buf_free(&ctx.error_message);
        buf_free(&ctx.error_details);
        buf_free(&ctx.bumps);
    }
    msgpack_unpacked_destroy(&u);
    return status >= 400 ? status : 0;
}

/* Counts a failure of the event at position; returns 1 when it has now
 * failed too often and is set aside (the position may pass it). */
static int note_failure(consumer_t *self, PGconn *db, int64_t position, const char *topic,
                        const char *why)
{
    char pos[24], max[16];
    snprintf(pos, sizeof pos, "%lld", (long long)position);
    snprintf(max, sizeof max, "%ld", config_get_long("MANDI_EVENT_MAX_ATTEMPTS"));
    const char *params[] = {self->name, pos, topic, why, max};
    PGresult *res =
        PQexecParams(db,
                     "INSERT INTO event_failures (consumer, position, topic, error) "
                     "VALUES ($1, $2::bigint, $3, $4) ON CONFLICT (consumer, position) DO UPDATE "
                     "SET attempts = event_failures.attempts + 1, error = $4, failed_at = now() "
                     "RETURNING attempts >= $5::int",
                     5, NULL, params, NULL, NULL, 0);
    int dead = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
               PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    log_msg(dead ? LOG_ERROR : LOG_WARN, NULL, "consumer %s: event %s (%s) failed: %s%s",
            self->name, pos, topic, why, dead ? "; set aside" : "; tried again later");
    return dead;
}

int consumer_run(consumer_t *self, PGconn *db, worker_runtime_t *rt, int *wrote_events)
{
    self->woken = 0;
    self->last_pass_ms = clock_now_ms();
    *wrote_events = 0;
    const char *name[] = {self->name};
    PGresult *res;
    int ok;
    /* Pools that react to events have their row from their migration
     * (sql/022_event_consumers.sql: from the deployment on); one without
     * starts from its first pass. */
    if (!self->registered) {
        res = PQexecParams(db,
                           "INSERT INTO event_consumers (name, position) SELECT $1, "
                           "coalesce(max(position), 0) FROM outbox ON CONFLICT DO NOTHING",
                           1, NULL, name, NULL, NULL, 0);
        self->registered = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    if (!self->registered || db_exec(db, "BEGIN") < 0)
        return -1;
    res = PQexecParams(db,
                       "SELECT position FROM event_consumers WHERE name = $1 "
                       "FOR UPDATE SKIP LOCKED",
                       1, NULL, name, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        /* Another worker of the pool holds it (its pass covers these), or
         * the row is gone: made again on the next pass. */
        ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        self->registered = 0;
        PQclear(res);
        db_exec(db, "ROLLBACK");
        return ok ? 0 : -1;
    }
    int64_t position = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    PGresult *batch = outbox_read_after(db, position, atoi(BATCH));
    if (!batch) {
        db_exec(db, "ROLLBACK");
        return -1;
    }
    int applied = 0, events = 0, failures = 0, full = PQntuples(batch) == atoi(BATCH);
    for (int i = 0; i < PQntuples(batch); i++) {
        int64_t at = atoll(PQgetvalue(batch, i, 0));
        const char *topic = PQgetvalue(batch, i, 1);
        char why[64] = "";
        int status = apply_event(self, db, rt, at, topic, PQgetvalue(batch, i, 2),
                                 (size_t)PQgetlength(batch, i, 2), &events, why);
        failures += status != 0;
        if (status && !note_failure(self, db, at, topic, why)) {
            full = 0; /* stop here; this event is tried again next pass */
            break;
        }
        position = at;
        applied++;
    }
    PQclear(batch);
    if (applied == 0 && failures == 0) {
        /* Nothing new: nothing to write. */
        db_exec(db, "ROLLBACK");
        return 0;
    }
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)position);
    const char *params[] = {self->name, pos};
    res = PQexecParams(db,
                       "UPDATE event_consumers SET position = $2::bigint, updated_at = now() "
                       "WHERE name = $1",
                       2, NULL, params, NULL, NULL, 0);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok || db_exec(db, "COMMIT") < 0) {
        db_exec(db, "ROLLBACK");
        return -1;
    }
    *wrote_events = events > 0;
    /* A full batch: more may wait, so the next pass comes at once. */
    self->woken = full;
    return applied;
}
