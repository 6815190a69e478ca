/*
 * notify_webhook - outbound partner webhooks: admins register a URL and the
 * topic prefixes it wants; every matching domain event is POSTed to it,
 * signed, retried like a notification, and logged.
 *
 * The request (docs/API.md section 12.7):
 *
 *     POST <url>
 *     Content-Type: application/json
 *     X-Mandi-Event: order.status_changed
 *     X-Mandi-Delivery: <delivery id>        (the same on every retry)
 *     X-Mandi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 *     {"id": <delivery id>, "event": <topic>, "created_at": ..., "data": <event body>}
 *
 * Signing the time with the body lets a partner refuse old replays; the
 * delivery id lets it drop a repeat (a retry after its answer was lost).
 * A 2xx is success; no answer, a timeout, 429 and 5xx are retried with the
 * notifications' back-off; other statuses are final (dead).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "clock.h"
#include "input.h"
#include "log.h"
#include "mp.h"
#include "notify.h"
#include "notify_provider.h"
#include "secret.h"

int webhook_plan(job_ctx_t *ctx, const char *ref, const char *topic, const char *json)
{
    const char *params[] = {ref, topic, json};
    /* A webhook takes the event when one of its prefixes starts the topic. */
    PGresult *res = PQexecParams(ctx->db,
                                 "INSERT INTO webhook_deliveries (webhook_id, ref, topic, payload) "
                                 "SELECT w.id, $1, $2, $3::jsonb FROM webhooks w "
                                 "WHERE w.deleted_at IS NULL AND EXISTS (SELECT 1 FROM "
                                 "unnest(w.events) p WHERE starts_with($2, p)) "
                                 "ON CONFLICT (webhook_id, ref) DO NOTHING RETURNING id",
                                 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        buf_t body = BUF_INIT;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &body, buf_msgpack_write);
        msgpack_pack_map(&pk, 1);
        mp_kv_str(&pk, "delivery_id", PQgetvalue(res, i, 0));
        char job_id[37];
        if (job_enqueue_db(ctx->db, "notifications", "webhook.deliver", ctx->job->request_id,
                           body.data, body.len, job_id) < 0)
            rc = job_fail(ctx, 503, "DB_UNAVAILABLE", "the webhook delivery could not be queued");
        else {
            const char *up[] = {PQgetvalue(res, i, 0), job_id};
            rc = answer_exec(ctx, "UPDATE webhook_deliveries SET job_id = $2 WHERE id = $1", 2, up);
        }
        buf_free(&body);
    }
    PQclear(res);
    return rc;
}

/* Prefixes are topic beginnings: 1 to 100 of [a-z0-9_.]. */
static int valid_prefix(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > 100)
        return 0;
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        char c = o->via.str.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* POST /api/admin/webhooks {url, events, secret?}. */
int webhook_create(job_ctx_t *ctx)
{
    const msgpack_object *body, *events;
    char url[2048 * 4 + 1], secret[128 * 4 + 1];
    int rc, has_secret;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "url", IN_REQUIRED, 8, 2048, url, sizeof url, NULL)) ||
        (rc = input_container(ctx, body, "events", IN_REQUIRED, MSGPACK_OBJECT_ARRAY, 20, &events,
                              NULL)) ||
        (rc = input_str(ctx, body, "secret", IN_OPTIONAL, 16, 128, secret, sizeof secret,
                        &has_secret)))
        return rc;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return input_fail(ctx, "url", "url must be an http or https URL");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return input_fail(ctx, "url", "url must be printable ASCII without spaces");
    if (!events || events->via.array.size == 0)
        return input_fail(ctx, "events", "events must name at least one topic prefix");
    buf_t lit = BUF_INIT;
    buf_append_char(&lit, '{');
    for (uint32_t i = 0; i < events->via.array.size; i++) {
        const msgpack_object *e = &events->via.array.ptr[i];
        if (!valid_prefix(e)) {
            buf_free(&lit);
            return input_fail(
                ctx, "events",
                "events[%u] must be a topic prefix of 1 to 100 characters a-z 0-9 _ .",
                (unsigned)i);
        }
        buf_printf(&lit, "%s\"%.*s\"", i ? "," : "", (int)e->via.str.size, e->via.str.ptr);
    }
    buf_append_char(&lit, '}');
    if (has_secret != IN_PRESENT) {
        char token[SECRET_TOKEN_LEN + 1];
        secret_token(token);
        snprintf(secret, sizeof secret, "%s", token);
    }
    const char *params[] = {url, lit.data, secret, ctx->job->user_id};
    rc = answer_json(ctx, 201,
                     "INSERT INTO webhooks (url, events, secret, created_by) "
                     "VALUES ($1, $2::text[], $3, $4) "
                     "RETURNING (mandi_webhook_json(webhooks) || jsonb_build_object('secret', "
                     "secret))::text",
                     4, params, "WEBHOOK_NOT_FOUND", "webhook not made");
    buf_free(&lit);
    return rc;
}

/* GET /api/admin/webhooks. */
int webhook_list(job_ctx_t *ctx)
{
    answer_page_t page;
    int rc = answer_read_page(ctx, &page);
    if (rc)
        return rc;
    const char *params[] = {page.page, page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT w FROM webhooks w WHERE w.deleted_at IS NULL), "
        "page AS (SELECT w FROM hits ORDER BY (w).created_at DESC, (w).id "
        "  LIMIT $2::bigint OFFSET $3::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_webhook_json(w) "
        "  ORDER BY (w).created_at DESC, (w).id), '[]') FROM page), "
        "'pagination', mandi_pagination($1::bigint, $2::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        3, params, "WEBHOOK_NOT_FOUND", "no webhooks");
}

/* DELETE /api/admin/webhooks/:id: no new deliveries; its log stays. */
int webhook_delete(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id};
    PGresult *res = PQexecParams(ctx->db,
                                 "UPDATE webhooks SET deleted_at = now() WHERE id = $1 "
                                 "AND deleted_at IS NULL RETURNING 1",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res);
    PQclear(res);
    if (!found)
        return job_fail(ctx, 404, "WEBHOOK_NOT_FOUND", "webhook %s not found", id);
    return answer_deleted(ctx, id);
}

/* GET /api/admin/webhooks/:id/deliveries: the log, newest first. */
int webhook_log(job_ctx_t *ctx)
{
    char id[37];
    answer_page_t page;
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {id, page.page, page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT d FROM webhook_deliveries d WHERE d.webhook_id = $1), "
        "page AS (SELECT d FROM hits ORDER BY (d).created_at DESC, (d).id "
        "  LIMIT $3::bigint OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg("
        "  mandi_webhook_delivery_json(d) ORDER BY (d).created_at DESC, (d).id), '[]') FROM page), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM hits)))"
        "::text FROM webhooks WHERE id = $1",
        4, params, "WEBHOOK_NOT_FOUND", "webhook not found");
}

/* "t=<now>,v1=<hex>" over "<now>.<body>". */
static void sign(const char *secret, const char *body, size_t len, char *out, size_t cap)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)(clock_now_ms() / 1000));
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, cap, "X-Mandi-Signature: t=%s,v1=%s", t, hex);
}

/* webhook.deliver {delivery_id}. */
int webhook_deliver(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "delivery_id", IN_REQUIRED, id, NULL)))
        return rc;
    const char *params[] = {id};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT d.status, w.url, w.secret, d.topic, jsonb_build_object('id', d.id, 'event', "
        "d.topic, 'created_at', mandi_ts(d.created_at), 'data', d.payload)::text "
        "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
        "WHERE d.id = $1 FOR UPDATE OF d",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return job_fail(ctx, 404, "DELIVERY_NOT_FOUND", "webhook delivery %s not found", id);
    }
    if (strcmp(PQgetvalue(res, 0, 0), "queued") != 0) {
        msgpack_pack_map(&ctx->body, 2);
        mp_kv_str(&ctx->body, "delivery_id", id);
        mp_kv_str(&ctx->body, "status", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 200;
    }
    const char *payload = PQgetvalue(res, 0, 4);
    size_t len = (size_t)PQgetlength(res, 0, 4);
    char signature[256], event[192], delivery[64];
    sign(PQgetvalue(res, 0, 2), payload, len, signature, sizeof signature);
    snprintf(event, sizeof event, "X-Mandi-Event: %s", PQgetvalue(res, 0, 3));
    snprintf(delivery, sizeof delivery, "X-Mandi-Delivery: %s", id);
    const char *headers[] = {event, delivery, signature, NULL};
    long status = 0;
    char why[512] = "";
    int posted =
        notify_http_post(PQgetvalue(res, 0, 1), headers, payload, len, &status, why, sizeof why);
    PQclear(res);
    int attempt = notify_job_attempt(ctx);
    int ok = posted == 0 && status >= 200 && status < 300;
    int passing = posted < 0 || status == 429 || status >= 500;
    char code[16], tries[16];
    snprintf(code, sizeof code, "%ld", status);
    snprintf(tries, sizeof tries, "%d", attempt);
    const char *up[] = {id, ok ? "sent" : "dead", tries, posted == 0 ? code : NULL,
                        ok ? NULL : why};
    if ((rc = answer_exec(ctx,
                          "UPDATE webhook_deliveries SET status = $2, attempts = $3::int, "
                          "last_status = $4::int, last_error = $5, updated_at = now(), "
                          "sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1",
                          5, up)))
        return rc;
    LOG_FIELDS(LOG_INFO, ctx->job->request_id, "webhook attempt", LOG_STR("delivery_id", id),
               LOG_NUM("attempt", attempt), LOG_NUM("http_status", status),
               LOG_STR("result", ok        ? "sent"
                                 : passing ? "retry"
                                           : "rejected"));
    if (ok) {
        msgpack_pack_map(&ctx->body, 2);
        mp_kv_str(&ctx->body, "delivery_id", id);
        mp_kv_str(&ctx->body, "status", "sent");
        return 200;
    }
    /* The row says dead: kept only when no attempt is left (see
     * notify_deliver.c for how the worker treats these writes). */
    ctx->keep_writes = 1;
    if (passing) {
        job_retry_later(ctx, notify_backoff_ms(attempt));
        return job_fail(ctx, 503, "WEBHOOK_UNAVAILABLE", "the partner did not take it: %s", why);
    }
    return job_fail(ctx, 502, "WEBHOOK_REJECTED", "the partner answered %ld", status);
}
