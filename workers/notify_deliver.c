/*
 * notify_deliver - the notify.deliver job: one delivery row through its
 * channel's provider.
 *
 * The row says what to send and where; the job makes one attempt per run.
 * A passing failure (no answer, a timeout, 429, 5xx) is handed to
 * job_retry_later with an exponential back-off from
 * MANDI_NOTIFY_RETRY_BASE_MS, doubled per attempt, with full jitter in its
 * upper half so that a provider coming back is not met by every retry at
 * once; the run's writes roll back, and the recovery sweep sends the job
 * again. A refusal (other 4xx) is final at once. Either way the row is
 * marked dead when no attempt is left (the writes of a failed last attempt
 * are kept), which puts it on the admins' dead-letter list.
 *
 * A message the provider took is recorded sent in the same transaction as
 * the job's result, so a redelivered job finds it sent and sends nothing.
 * That leaves the stretch between handing the message over and the
 * commit: a worker killed there left the row queued, though the provider
 * may have the message. So each run first claims its send in Redis (a key
 * of the delivery and the job, which outlives the worker); a run that
 * finds the claim already taken knows an earlier run of the same job died
 * mid-send and does not send: the row goes dead as "in doubt", for an
 * admin to look at and retry (a retry is a new job, so a new claim). A run
 * that ends in a passing failure gives its claim back before its writes
 * roll back. At most once, then, per (event, user, channel).
 *
 * Push goes to each of the user's devices; a token FCM reports unknown or
 * invalid is removed (kept removed only when the run's writes commit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "clock.h"
#include "config.h"
#include "input.h"
#include "log.h"
#include "mp.h"
#include "notify.h"
#include "notify_provider.h"

long notify_backoff_ms(int attempt)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)clock_mono_us() ^ (unsigned)getpid();
    long base = config_get_long("MANDI_NOTIFY_RETRY_BASE_MS");
    if (base < 1)
        base = 1;
    int shift = attempt < 1 ? 0 : attempt - 1 > 16 ? 16 : attempt - 1;
    long full = base << shift;
    return full / 2 + (long)(rand_r(&seed) % (unsigned)(full / 2 + 1));
}

int notify_job_attempt(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->id};
    PGresult *res = PQexecParams(ctx->db, "SELECT attempts FROM jobs WHERE id = $1::uuid", 1, NULL,
                                 params, NULL, NULL, 0);
    int attempt = (int)ctx->job->attempt;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        attempt = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return attempt < 1 ? 1 : attempt;
}

typedef struct {
    char id[37], channel[8], event[64], status[8], user[37];
    const char *recipient, *subject, *body;
    size_t body_len;
} delivery_t;

/* Sends to every device of the user; the outcome is the best of them:
 * sent if one took it and none needs a retry, a retry if one does. */
static void send_push(job_ctx_t *ctx, const notify_provider_t *p, const delivery_t *d,
                      notify_message_t *msg, notify_outcome_t *out)
{
    const char *params[] = {d->user};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT token FROM device_tokens WHERE user_id = $1 "
                                 "ORDER BY created_at, token",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        out->result = NOTIFY_RETRY;
        snprintf(out->error, sizeof out->error, "reading devices failed: %s",
                 PQresultErrorMessage(res));
        PQclear(res);
        return;
    }
    int sent = 0, retry = 0, rejected = 0, removed = 0;
    notify_outcome_t last = {0}, failed = {0};
    for (int i = 0; i < PQntuples(res); i++) {
        notify_outcome_t one = {0};
        msg->to = PQgetvalue(res, i, 0);
        p->send(msg, &one);
        if (one.result == NOTIFY_BAD_TOKEN) {
            const char *tp[] = {msg->to};
            PQclear(PQexecParams(ctx->db, "DELETE FROM device_tokens WHERE token = $1", 1, NULL, tp,
                                 NULL, NULL, 0));
            removed++;
            continue;
        }
        if (one.result == NOTIFY_SENT) {
            sent++;
            last = one;
        } else {
            retry += one.result == NOTIFY_RETRY;
            rejected += one.result == NOTIFY_REJECTED;
            failed = one;
        }
    }
    PQclear(res);
    /* One device that took it makes the message sent: trying the others
     * again would send it twice to this one. */
    if (sent) {
        *out = last;
        out->result = NOTIFY_SENT;
        if (retry || rejected)
            snprintf(out->error, sizeof out->error, "%d of %d devices did not take it: %.150s",
                     retry + rejected, sent + retry + rejected, failed.error);
        return;
    }
    if (retry || rejected) {
        *out = failed;
        if (retry)
            out->result = NOTIFY_RETRY;
        return;
    }
    out->result = NOTIFY_BAD_TOKEN; /* nobody left to tell */
    snprintf(out->error, sizeof out->error, "no valid device token (%d removed)", removed);
}

/* How long a claim outlives its run: longer than any job's attempts last. */
#define CLAIM_TTL_S (7 * 24 * 3600)

typedef enum { CLAIM_TAKEN, CLAIM_IN_DOUBT, CLAIM_NO_REDIS } claim_t;

static void claim_key(job_ctx_t *ctx, const char *delivery_id, char *key, size_t cap)
{
    snprintf(key, cap, "mandi:notify:sending:%s:%s", delivery_id, ctx->job->id);
}

/* Claims this job's send of the delivery (see the top of the file). */
static claim_t claim_send(job_ctx_t *ctx, const char *delivery_id)
{
    redisContext *redis = job_redis(ctx);
    if (!redis)
        return CLAIM_NO_REDIS;
    char key[160];
    claim_key(ctx, delivery_id, key, sizeof key);
    redisReply *r = redisCommand(redis, "SET %s 1 NX EX %d", key, CLAIM_TTL_S);
    claim_t claim = !r || r->type == REDIS_REPLY_ERROR ? CLAIM_NO_REDIS
                    : r->type == REDIS_REPLY_NIL       ? CLAIM_IN_DOUBT
                                                       : CLAIM_TAKEN;
    if (r)
        freeReplyObject(r);
    return claim;
}

/* Gives the claim back: the provider did not take the message, so the
 * next run may send it. A failure here only costs that next run its send
 * (the row goes in doubt), never a second message. */
static void release_send(job_ctx_t *ctx, const char *delivery_id)
{
    redisContext *redis = job_redis(ctx);
    if (!redis)
        return;
    char key[160];
    claim_key(ctx, delivery_id, key, sizeof key);
    redisReply *r = redisCommand(redis, "DEL %s", key);
    if (r)
        freeReplyObject(r);
}

static void answer_status(job_ctx_t *ctx, const char *id, const char *status)
{
    msgpack_pack_map(&ctx->body, 2);
    mp_kv_str(&ctx->body, "delivery_id", id);
    mp_kv_str(&ctx->body, "status", status);
}

/* Records the attempt's outcome on the row. */
static int record(job_ctx_t *ctx, const delivery_t *d, const char *status, const char *provider,
                  const notify_outcome_t *out, int attempt)
{
    char code[16], tries[16];
    snprintf(code, sizeof code, "%ld", out->http_status);
    snprintf(tries, sizeof tries, "%d", attempt);
    const char *params[] = {d->id,
                            status,
                            provider,
                            out->provider_id[0] ? out->provider_id : NULL,
                            tries,
                            out->http_status ? code : NULL,
                            out->error[0] ? out->error : NULL};
    return answer_exec(ctx,
                       "UPDATE notification_deliveries SET status = $2, provider = $3, "
                       "provider_id = coalesce($4, provider_id), attempts = $5::int, "
                       "last_status = $6::int, last_error = $7, updated_at = now(), "
                       "sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1::uuid",
                       7, params);
}

/* An earlier run of this job died while sending: whether the provider has
 * the message is unknown, so it is not sent again. */
static int in_doubt(job_ctx_t *ctx, const delivery_t *d, const char *provider, int attempt)
{
    notify_outcome_t out = {0};
    snprintf(out.error, sizeof out.error,
             "in doubt: a worker stopped while sending it; not sent again (retry to send)");
    log_msg(LOG_WARN, ctx->job->request_id, "delivery %s in doubt after a lost run; not resent",
            d->id);
    int rc = record(ctx, d, "dead", provider, &out, attempt);
    if (rc)
        return rc;
    ctx->keep_writes = 1;
    job_fail(ctx, 409, "DELIVERY_IN_DOUBT", "%s delivery %s may have been sent by a lost run",
             d->channel, d->id);
    job_fail_detail_str(ctx, "delivery_id", d->id);
    return 409;
}

int notify_deliver(job_ctx_t *ctx)
{
    const msgpack_object *body;
    delivery_t d = {0};
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "delivery_id", IN_REQUIRED, d.id, NULL)))
        return rc;
    const char *params[] = {d.id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT channel, event, status, user_id, recipient, subject, body "
                                 "FROM notification_deliveries WHERE id = $1 FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return job_fail(ctx, 404, "DELIVERY_NOT_FOUND", "delivery %s not found", d.id);
    }
    snprintf(d.channel, sizeof d.channel, "%s", PQgetvalue(res, 0, 0));
    snprintf(d.event, sizeof d.event, "%s", PQgetvalue(res, 0, 1));
    snprintf(d.status, sizeof d.status, "%s", PQgetvalue(res, 0, 2));
    snprintf(d.user, sizeof d.user, "%s", PQgetvalue(res, 0, 3));
    d.recipient = PQgetvalue(res, 0, 4);
    d.subject = PQgetvalue(res, 0, 5);
    d.body = PQgetvalue(res, 0, 6);
    d.body_len = (size_t)PQgetlength(res, 0, 6);
    /* Only queued and held rows are sent: a sent one is done, a dead one
     * waits for an admin's retry (which queues it with a new job). */
    if (strcmp(d.status, "queued") != 0 && strcmp(d.status, "held") != 0) {
        answer_status(ctx, d.id, d.status);
        PQclear(res);
        return 200;
    }
    int attempt = notify_job_attempt(ctx);
    char why[256];
    notify_outcome_t out = {0};
    const notify_provider_t *p = notify_provider_for(d.channel, why, sizeof why);
    const char *provider = p ? p->name
                             : config_get(d.channel[0] == 's'   ? "MANDI_SMS_PROVIDER"
                                          : d.channel[0] == 'e' ? "MANDI_EMAIL_PROVIDER"
                                                                : "MANDI_PUSH_PROVIDER");
    notify_message_t msg = {
        .channel = d.channel,
        .to = d.recipient,
        .subject = d.subject,
        .body = d.body,
        .body_len = d.body_len,
        .template_name = d.event,
        .job_id = ctx->job->id,
        .ref = d.id,
    };
    claim_t claim = p ? claim_send(ctx, d.id) : CLAIM_NO_REDIS;
    if (!p) {
        /* A configuration mistake: passing, in that an operator can mend it
         * before the attempts run out. */
        out.result = NOTIFY_RETRY;
        snprintf(out.error, sizeof out.error, "%s", why);
    } else if (claim == CLAIM_NO_REDIS) {
        out.result = NOTIFY_RETRY;
        snprintf(out.error, sizeof out.error, "Redis unavailable: the send cannot be claimed");
    } else if (claim == CLAIM_IN_DOUBT) {
        PQclear(res);
        return in_doubt(ctx, &d, provider, attempt);
    } else if (strcmp(d.channel, "push") == 0) {
        send_push(ctx, p, &d, &msg, &out);
    } else {
        p->send(&msg, &out);
    }
    if (claim == CLAIM_TAKEN && out.result == NOTIFY_RETRY)
        release_send(ctx, d.id);
    PQclear(res);
    LOG_FIELDS(LOG_INFO, ctx->job->request_id, "notification attempt", LOG_STR("delivery_id", d.id),
               LOG_STR("channel", d.channel), LOG_STR("event", d.event),
               LOG_STR("provider", provider), LOG_NUM("attempt", attempt),
               LOG_NUM("http_status", out.http_status),
               LOG_STR("result", out.result == NOTIFY_SENT        ? "sent"
                                 : out.result == NOTIFY_RETRY     ? "retry"
                                 : out.result == NOTIFY_BAD_TOKEN ? "bad_token"
                                                                  : "rejected"));
    switch (out.result) {
    case NOTIFY_SENT:
        if ((rc = record(ctx, &d, "sent", provider, &out, attempt)))
            return rc;
        answer_status(ctx, d.id, "sent");
        return 200;
    case NOTIFY_BAD_TOKEN:
        if ((rc = record(ctx, &d, "skipped", provider, &out, attempt)))
            return rc;
        answer_status(ctx, d.id, "skipped");
        return 200;
    case NOTIFY_RETRY:
        /* Dead if this was the last attempt; with attempts left the worker
         * rolls this back and sends the job again after the back-off. */
        if ((rc = record(ctx, &d, "dead", provider, &out, attempt)))
            return rc;
        ctx->keep_writes = 1;
        job_retry_later(ctx, notify_backoff_ms(attempt));
        job_fail(ctx, 503, "PROVIDER_UNAVAILABLE", "%s provider %s: %s", d.channel, provider,
                 out.error);
        job_fail_detail_str(ctx, "delivery_id", d.id);
        return 503;
    case NOTIFY_REJECTED:
    default:
        if ((rc = record(ctx, &d, "dead", provider, &out, attempt)))
            return rc;
        ctx->keep_writes = 1;
        job_fail(ctx, 502, "PROVIDER_REJECTED", "%s provider %s refused the message: %s", d.channel,
                 provider, out.error);
        job_fail_detail_str(ctx, "delivery_id", d.id);
        return 502;
    }
}
