/*
 * partner_webhook - outbound webhooks for partners (notifications pool).
 *
 * Admins register a URL with topic prefixes and a secret. The pool's event
 * handler writes one delivery per (webhook, event) for every active
 * webhook whose prefixes match (events after the webhook was made), with the JSON to send fixed at
 * that moment, and enqueues the job partner_webhook.deliver for each, all in the consumer's
 * transaction. The job POSTs the body with
 *
 *   X-Mandi-Event: <topic>
 *   X-Mandi-Delivery: <delivery id>        (the same on every attempt)
 *   X-Mandi-Timestamp: <Unix seconds of this attempt>
 *   X-Mandi-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>
 *
 * so a partner checks the signature and refuses old timestamps (replays).
 * A 2xx delivers it; a 5xx, 408, 429 or no answer is tried again after a
 * back-off that doubles per attempt (job_retry_later) until the job's
 * attempts run out; any other answer fails it at once. The delivery keeps
 * the outcome, the attempts it took (the job's own count) and the last
 * answer: the log partners' admins read.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "config.h"
#include "consumer.h"
#include "input.h"
#include "log.h"
#include "mp.h"
#include "partner_webhook.h"
#include "razorpay_sig.h"
#include "secret.h"

#define WEBHOOK_NOT_FOUND "WEBHOOK_NOT_FOUND", "the webhook does not exist"
#define EVENTS_MAX        20

/* ---- administration ---------------------------------------------------------- */

/* A topic prefix: lower-case words and dots, as topics are written. */
static int prefix_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_'))
            return 0;
    return 1;
}

/* The events list as a PostgreSQL array literal of checked prefixes. */
static int read_events(job_ctx_t *ctx, const msgpack_object *body, buf_t *array)
{
    const msgpack_object *events;
    int rc = input_container(ctx, body, "events", IN_REQUIRED, MSGPACK_OBJECT_ARRAY, EVENTS_MAX,
                             &events, NULL);
    if (rc)
        return rc;
    if (events->via.array.size == 0)
        return input_fail(ctx, "events", "events must name at least one topic prefix");
    buf_append_char(array, '{');
    for (uint32_t i = 0; i < events->via.array.size; i++) {
        char prefix[65];
        if (mp_copy_str(&events->via.array.ptr[i], prefix, sizeof prefix) < 0 || !prefix_ok(prefix))
            return input_fail(ctx, "events",
                              "events are topic prefixes of lower-case letters, digits, '.' and "
                              "'_' (e.g. \"order.\"), at most 64 characters");
        buf_printf(array, "%s\"%s\"", i ? "," : "", prefix);
    }
    buf_append_char(array, '}');
    return 0;
}

int partner_webhook_create(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char url[2049], secret[129], description[201 * 4];
    int has_secret, rc;
    buf_t events = BUF_INIT;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "url", IN_REQUIRED, 10, 2048, url, sizeof url, NULL)) ||
        (rc = read_events(ctx, body, &events)) ||
        (rc = input_str(ctx, body, "secret", IN_OPTIONAL, 16, 128, secret, sizeof secret,
                        &has_secret)) ||
        (rc = input_text(ctx, body, "description", IN_OPTIONAL, 1, 200, description,
                         sizeof description, NULL))) {
        buf_free(&events);
        return rc;
    }
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        buf_free(&events);
        return input_fail(ctx, "url", "url must be an http:// or https:// URL");
    }
    /* Without a secret of the partner's, one is made; it is shown once. */
    if (has_secret != IN_PRESENT)
        secret_token(secret);
    const char *params[] = {
        ctx->job->id,     url, events.data, secret, description[0] ? description : NULL,
        ctx->job->user_id};
    rc = answer_json(ctx, 201,
                     "WITH w AS (INSERT INTO partner_webhooks (id, url, events, secret, "
                     "description, created_by, from_position) VALUES ($1::uuid, $2, $3::text[], "
                     "$4, $5, $6::uuid, (SELECT coalesce(max(position), 0) FROM outbox)) "
                     "RETURNING *) "
                     "SELECT (mandi_partner_webhook_json(w) || jsonb_build_object('secret', "
                     "w.secret))::text FROM w",
                     6, params, WEBHOOK_NOT_FOUND);
    buf_free(&events);
    return rc;
}

int partner_webhook_list(job_ctx_t *ctx)
{
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('items', coalesce(jsonb_agg("
                       "mandi_partner_webhook_json(w) ORDER BY w.created_at, w.id), '[]'))::text "
                       "FROM partner_webhooks w WHERE w.deleted_at IS NULL",
                       0, NULL, WEBHOOK_NOT_FOUND);
}

int partner_webhook_delete(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id};
    PGresult *res = PQexecParams(ctx->db,
                                 "UPDATE partner_webhooks SET active = false, deleted_at = now() "
                                 "WHERE id = $1::uuid AND deleted_at IS NULL RETURNING id",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found ? answer_deleted(ctx, id) : job_fail(ctx, 404, WEBHOOK_NOT_FOUND);
}

int partner_webhook_deliveries(job_ctx_t *ctx)
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
        "WITH hits AS (SELECT d FROM partner_webhook_deliveries d WHERE d.webhook_id = $1::uuid), "
        "page AS (SELECT d FROM hits ORDER BY (d).created_at DESC, (d).id "
        "  LIMIT $3::bigint OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg("
        "  mandi_partner_delivery_json(d) ORDER BY (d).created_at DESC, (d).id), '[]') FROM page), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM hits)))"
        "::text FROM partner_webhooks w WHERE w.id = $1::uuid",
        4, params, WEBHOOK_NOT_FOUND);
}

/* ---- the event handler -------------------------------------------------------- */

/* One delivery per matching webhook, its body fixed now, and its job. */
static int on_event(job_ctx_t *ctx, const char *topic, const msgpack_object *body)
{
    buf_t data = BUF_INIT;
    if (codec_object_to_json(body, &data, NULL) < 0) {
        buf_free(&data);
        return job_fail(ctx, 422, "UNREADABLE_EVENT", "the event's body is not JSON");
    }
    buf_append_char(&data, '\0');
    char position[24];
    snprintf(position, sizeof position, "%lld", (long long)consumer_position());
    const char *params[] = {ctx->job->id, topic, data.data, position};
    PGresult *res = PQexecParams(
        ctx->db,
        "INSERT INTO partner_webhook_deliveries (webhook_id, event_ref, topic, body) "
        "SELECT w.id, $1::uuid, $2, jsonb_build_object('id', $1::uuid, 'event', $2::text, "
        "  'created_at', mandi_ts(now()), 'data', $3::jsonb)::text "
        "FROM partner_webhooks w WHERE w.active AND w.deleted_at IS NULL "
        "AND $4::bigint > w.from_position "
        "AND EXISTS (SELECT 1 FROM unnest(w.events) e WHERE starts_with($2, e)) "
        "ON CONFLICT (webhook_id, event_ref) DO NOTHING RETURNING id",
        4, NULL, params, NULL, NULL, 0);
    buf_free(&data);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        char json[64];
        buf_t packed = BUF_INIT;
        int n = snprintf(json, sizeof json, "{\"delivery_id\": \"%s\"}", PQgetvalue(res, i, 0));
        if (codec_json_to_msgpack(json, (size_t)n, &packed, NULL) < 0 ||
            job_enqueue(ctx, "notifications", "partner_webhook.deliver", packed.data, packed.len) <
                0)
            rc = job_fail(ctx, 503, "DB_UNAVAILABLE", "the delivery could not be queued");
        buf_free(&packed);
    }
    PQclear(res);
    return rc;
}

const event_handler_t partner_webhook_events[] = {
    {"", on_event, 0},
    {NULL, NULL, 0},
};

/* ---- delivering ---------------------------------------------------------------- */

/* One worker's curl handle: consecutive deliveries reuse connections. */
static CURL *curl;

static size_t discard(char *data, size_t size, size_t n, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * n;
}

/* POSTs body to url with the signed headers; returns the HTTP status, or
 * 0 with why set when no answer came. */
static long post(const char *url, const char *topic, const char *delivery, const char *secret,
                 const char *body, char *why, size_t why_cap)
{
    if (!curl && !(curl = curl_easy_init())) {
        snprintf(why, why_cap, "libcurl cannot start");
        return 0;
    }
    char ts[24], signature[RAZORPAY_SIG_HEX_SIZE], header[160];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    buf_t message = BUF_INIT;
    buf_printf(&message, "%s.%s", ts, body);
    razorpay_hmac_hex(secret, strlen(secret), message.data, message.len, signature);
    buf_free(&message);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(header, sizeof header, "X-Mandi-Event: %s", topic);
    headers = curl_slist_append(headers, header);
    snprintf(header, sizeof header, "X-Mandi-Delivery: %s", delivery);
    headers = curl_slist_append(headers, header);
    snprintf(header, sizeof header, "X-Mandi-Timestamp: %s", ts);
    headers = curl_slist_append(headers, header);
    snprintf(header, sizeof header, "X-Mandi-Signature: v1=%s", signature);
    headers = curl_slist_append(headers, header);
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     config_get_long("MANDI_WEBHOOK_CONNECT_TIMEOUT_MS"));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, config_get_long("MANDI_WEBHOOK_TIMEOUT_MS"));
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(why, why_cap, "%s", error[0] ? error : curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    return status;
}

/* Whether another attempt may do better than this answer. */
static int retryable(long status)
{
    return status == 0 || status >= 500 || status == 408 || status == 429;
}

int partner_webhook_deliver(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, job_body(ctx->job), "delivery_id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id, ctx->job->id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT d.status, w.url, d.topic, w.secret, d.body, w.active, "
                                 "(SELECT attempts FROM jobs WHERE id = $2::uuid) "
                                 "FROM partner_webhook_deliveries d JOIN partner_webhooks w "
                                 "ON w.id = d.webhook_id WHERE d.id = $1::uuid FOR UPDATE OF d",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, "DELIVERY_NOT_FOUND", "the delivery does not exist");
    }
    int pending = strcmp(PQgetvalue(res, 0, 0), "pending") == 0;
    int active = PQgetvalue(res, 0, 5)[0] == 't';
    if (!pending || !active) {
        PQclear(res);
        /* Done before, or its webhook was deleted since: nothing to send. */
        const char *gone[] = {id, active ? NULL : "the webhook was deleted"};
        return answer_json(ctx, 200,
                           "WITH d AS (UPDATE partner_webhook_deliveries SET status = CASE WHEN "
                           "status = 'pending' THEN 'failed' ELSE status END, last_error = "
                           "coalesce($2, last_error), updated_at = now() WHERE id = $1::uuid "
                           "RETURNING *) SELECT mandi_partner_delivery_json(d)::text FROM d",
                           2, gone, "DELIVERY_NOT_FOUND", "the delivery does not exist");
    }
    char why[CURL_ERROR_SIZE] = "";
    long status = post(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), id, PQgetvalue(res, 0, 3),
                       PQgetvalue(res, 0, 4), why, sizeof why);
    long attempt = atol(PQgetvalue(res, 0, 6));
    PQclear(res);
    int delivered = status >= 200 && status < 300;
    int again = !delivered && retryable(status) && attempt < config_get_long("MANDI_MAX_ATTEMPTS");
    char st[24], err[CURL_ERROR_SIZE + 32];
    snprintf(st, sizeof st, "%ld", status);
    if (!delivered && !why[0])
        snprintf(why, sizeof why, "the partner answered %ld", status);
    snprintf(err, sizeof err, "%s", why);
    const char *outcome = delivered ? "delivered" : "failed";
    if (again) {
        /* The job's attempts are the count; the log is written by the
         * attempt that ends it (a waiting job's writes roll back). */
        long delay = config_get_long("MANDI_WEBHOOK_RETRY_MS");
        for (long i = 1; i < attempt && delay < 3600000; i++)
            delay *= 2;
        job_retry_later(ctx, delay);
        return job_fail(ctx, 503, "WEBHOOK_RETRY", "the partner did not take it: %s", why);
    }
    char tries[24];
    snprintf(tries, sizeof tries, "%ld", attempt > 0 ? attempt : 1);
    const char *update[] = {id, outcome, status ? st : NULL, delivered ? NULL : err, tries};
    if ((rc = answer_exec(ctx,
                          "UPDATE partner_webhook_deliveries SET status = $2, attempts = $5::int, "
                          "last_status = $3::int, last_error = $4, updated_at = now(), "
                          "delivered_at = CASE WHEN $2 = 'delivered' THEN now() END "
                          "WHERE id = $1::uuid",
                          5, update)))
        return rc;
    return answer_json(ctx, 200,
                       "SELECT mandi_partner_delivery_json(d)::text FROM "
                       "partner_webhook_deliveries d WHERE d.id = $1::uuid",
                       1, params, "DELIVERY_NOT_FOUND", "the delivery does not exist");
}

const job_handler_t partner_webhook_jobs[] = {
    {"partner_webhook.create", partner_webhook_create, JOB_TX},
    {"partner_webhook.list", partner_webhook_list, 0},
    {"partner_webhook.delete", partner_webhook_delete, JOB_TX},
    {"partner_webhook.deliveries", partner_webhook_deliveries, 0},
    {"partner_webhook.deliver", partner_webhook_deliver, JOB_TX},
    {NULL, NULL, 0},
};
