/*
 * payments_razorpay - money taken through Razorpay: the order the app's
 * checkout pays, the app's verification, and Razorpay's webhooks.
 *
 * A payment is settled exactly once, into the ledger and (for orders) the
 * orders it pays, by settle_captured under the payment's row lock: the
 * verification and the webhook may come in either order, at the same
 * moment, or more than once, and whichever comes second finds it settled.
 * A webhook is checked against its signature before anything else, then
 * recorded, then acted on inside a savepoint, so a failure to act still
 * leaves it recorded (and answered 200: Razorpay must not retry what we
 * hold) with its outcome for finance to see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "input.h"
#include "ledger.h"
#include "log.h"
#include "mp.h"
#include "orders.h"
#include "payments.h"
#include "razorpay.h"
#include "razorpay_sig.h"

#define PAYMENT_NOT_FOUND "PAYMENT_NOT_FOUND", "no payment of yours has that Razorpay order"
#define TOPUP_MAX         10000000LL /* ₹1 lakh at a time */

/* One client per worker process: it keeps its connection to Razorpay. */
static razorpay_t *client;

static razorpay_t *gateway(job_ctx_t *ctx)
{
    if (!client) {
        razorpay_config_t cfg;
        char why[256];
        razorpay_config_load(&cfg);
        client = razorpay_new(&cfg, why, sizeof why);
        if (!client)
            log_msg(LOG_ERROR, ctx->job->request_id, "razorpay client: %s", why);
    }
    return client;
}

static int gateway_failed(job_ctx_t *ctx, const razorpay_result_t *res)
{
    return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR", "Razorpay did not answer as expected: %s",
                    res->why[0] ? res->why : "no client");
}

/* Fields of a Razorpay entity (JSON text), read by PostgreSQL. */
static int entity_fields(job_ctx_t *ctx, const char *json, char id[64], char order[64],
                         char status[32], int64_t *amount)
{
    const char *params[] = {json};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT coalesce(j->>'id', ''), coalesce(j->>'order_id', ''), "
                                 "coalesce(j->>'status', ''), coalesce(j->>'amount', '0') "
                                 "FROM (SELECT $1::jsonb AS j) x",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR", "Razorpay's answer is not JSON");
    }
    snprintf(id, 64, "%s", PQgetvalue(res, 0, 0));
    snprintf(order, 64, "%s", PQgetvalue(res, 0, 1));
    snprintf(status, 32, "%s", PQgetvalue(res, 0, 2));
    *amount = atoll(PQgetvalue(res, 0, 3));
    PQclear(res);
    return 0;
}

/* ---- settling --------------------------------------------------------------- */

/* Settles our payment `payment` as captured by Razorpay payment rzp_id:
 * once, under its row lock. A top-up credits the wallet; an order payment
 * confirms the checkout's PENDING orders. Razorpay holds the money until it
 * settles with us, hence the clearing account on the other side. */
static int settle_captured(job_ctx_t *ctx, const char *payment, const char *rzp_id)
{
    const char *params[] = {payment, rzp_id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT user_id, purpose, checkout_id, amount_paise, status "
                                 "FROM payments WHERE id = $1::uuid FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    char user[37], purpose[16], checkout[37];
    snprintf(user, sizeof user, "%s", PQgetvalue(res, 0, 0));
    snprintf(purpose, sizeof purpose, "%s", PQgetvalue(res, 0, 1));
    snprintf(checkout, sizeof checkout, "%s", PQgetvalue(res, 0, 2));
    int64_t amount = atoll(PQgetvalue(res, 0, 3));
    int settled = strcmp(PQgetvalue(res, 0, 4), "captured") == 0;
    PQclear(res);
    if (settled)
        return 0;
    int rc = answer_exec(ctx,
                         "UPDATE payments SET status = 'captured', razorpay_payment_id = $2, "
                         "captured_at = now(), updated_at = now(), failure_reason = NULL "
                         "WHERE id = $1::uuid",
                         2, params);
    if (rc)
        return rc;
    char wallet[LEDGER_CODE_SIZE];
    int topup = strcmp(purpose, "wallet_topup") == 0;
    if (topup && (rc = ledger_wallet(ctx, user, wallet)))
        return rc;
    ledger_leg_t legs[] = {{LEDGER_RAZORPAY_CLEARING, -amount},
                           {topup ? wallet : LEDGER_ORDERS, amount}};
    if ((rc = ledger_post(ctx, topup ? "topup" : "order", payment, rzp_id, legs, 2)) || topup)
        return rc;
    /* The orders it pays: confirmed, with their history and events. */
    const char *ck[] = {checkout};
    res = PQexecParams(ctx->db,
                       "WITH moved AS (UPDATE orders SET status = 'CONFIRMED', updated_at = now() "
                       "  WHERE checkout_id = $1::uuid AND status = 'PENDING' RETURNING id), "
                       "h AS (INSERT INTO order_status_history (order_id, from_status, to_status, "
                       "  note) SELECT id, 'PENDING', 'CONFIRMED', 'paid through Razorpay' "
                       "  FROM moved) "
                       "SELECT id FROM moved ORDER BY id",
                       1, NULL, ck, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    for (int i = 0; i < PQntuples(res) && !rc; i++)
        rc = order_event(ctx, "order.status_changed", PQgetvalue(res, i, 0),
                         "{\"from\": \"PENDING\"}");
    PQclear(res);
    return rc;
}

/* ---- the Razorpay order ------------------------------------------------------ */

static const char *const purposes[] = {"wallet_topup", "order", NULL};

/* The amount and checkout of the caller's unpaid razorpay order `order`:
 * every PENDING order of its checkout is paid together. */
static int order_due(job_ctx_t *ctx, const char *order, char checkout[37], int64_t *amount)
{
    const char *params[] = {order, ctx->job->user_id};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT o.checkout_id, (SELECT sum(total_paise) FROM orders x "
        "  WHERE x.checkout_id = o.checkout_id AND x.status = 'PENDING'), o.status, "
        "  o.payment_method FROM orders o WHERE o.id = $1::uuid AND o.user_id = $2::uuid",
        2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    int payable = found && strcmp(PQgetvalue(res, 0, 2), "PENDING") == 0 &&
                  strcmp(PQgetvalue(res, 0, 3), "razorpay") == 0;
    if (payable) {
        snprintf(checkout, 37, "%s", PQgetvalue(res, 0, 0));
        *amount = atoll(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    if (!found)
        return job_fail(ctx, 404, "ORDER_NOT_FOUND", "the order does not exist");
    return payable ? 0
                   : job_fail(ctx, 409, "ORDER_NOT_PAYABLE",
                              "only a PENDING order paid through razorpay can be paid");
}

int payment_create_order(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char purpose[16], order[37], checkout[37] = "";
    int64_t amount = 0;
    int has_amount, rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "purpose", IN_REQUIRED, purposes, purpose, sizeof purpose,
                           NULL)) ||
        (rc = input_int(ctx, body, "amount", IN_OPTIONAL, 100, TOPUP_MAX, &amount, &has_amount)) ||
        (rc = input_uuid(ctx, body, "order_id", strcmp(purpose, "order") == 0, order, NULL)))
        return rc;
    if (strcmp(purpose, "wallet_topup") == 0 && has_amount != IN_PRESENT)
        return input_fail(ctx, "amount", "amount (100 to %lld paise) is required for a top-up",
                          (long long)TOPUP_MAX);
    if (strcmp(purpose, "order") == 0 && (rc = order_due(ctx, order, checkout, &amount)))
        return rc;
    razorpay_t *rzp = gateway(ctx);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    if (!rzp)
        return gateway_failed(ctx, &res);
    char amt[24];
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    /* Our id (the job's) is the receipt: a redelivered job makes no second row. */
    const char *params[] = {ctx->job->id, ctx->job->user_id, purpose, checkout[0] ? checkout : NULL,
                            amt};
    if ((rc = answer_exec(ctx,
                          "INSERT INTO payments (id, user_id, purpose, checkout_id, amount_paise) "
                          "VALUES ($1::uuid, $2::uuid, $3, $4::uuid, $5::bigint)",
                          5, params)))
        return rc;
    if (razorpay_order_create(rzp, amount, ctx->job->id, NULL, &res) < 0) {
        rc = gateway_failed(ctx, &res);
        razorpay_result_free(&res);
        return rc;
    }
    char id[64], ignored[64], status[32];
    int64_t echoed = 0;
    rc = entity_fields(ctx, res.body.data, id, ignored, status, &echoed);
    razorpay_result_free(&res);
    if (rc)
        return rc;
    if (!id[0] || echoed != amount)
        return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR", "Razorpay's order does not match ours");
    const char *update[] = {ctx->job->id, id, config_get("RAZORPAY_KEY_ID")};
    return answer_json(
        ctx, 201,
        "WITH u AS (UPDATE payments SET razorpay_order_id = $2 "
        "  WHERE id = $1::uuid RETURNING *) "
        "SELECT jsonb_build_object('payment_id', id, 'razorpay_order_id', "
        "  razorpay_order_id, 'amount', amount_paise, 'currency', currency, "
        "  'key_id', $3::text, 'purpose', purpose, 'checkout_id', checkout_id)::text "
        "FROM u",
        3, update, PAYMENT_NOT_FOUND);
}

/* ---- the app's verification -------------------------------------------------- */

int payment_verify(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char order[65], rzp_payment[65], signature[129];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "razorpay_order_id", IN_REQUIRED, 1, 64, order, sizeof order,
                        NULL)) ||
        (rc = input_str(ctx, body, "razorpay_payment_id", IN_REQUIRED, 1, 64, rzp_payment,
                        sizeof rzp_payment, NULL)) ||
        (rc = input_str(ctx, body, "razorpay_signature", IN_REQUIRED, 1, 128, signature,
                        sizeof signature, NULL)))
        return rc;
    const char *params[] = {order, ctx->job->user_id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT id, razorpay_order_id, amount_paise FROM payments "
                                 "WHERE razorpay_order_id = $1 AND user_id = $2::uuid",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, PAYMENT_NOT_FOUND);
    }
    char payment[37], stored_order[64];
    snprintf(payment, sizeof payment, "%s", PQgetvalue(res, 0, 0));
    snprintf(stored_order, sizeof stored_order, "%s", PQgetvalue(res, 0, 1));
    int64_t amount = atoll(PQgetvalue(res, 0, 2));
    PQclear(res);
    /* The signature covers the order id we stored, not one the app sends. */
    if (!razorpay_payment_signature_ok(config_get("RAZORPAY_KEY_SECRET"), stored_order, rzp_payment,
                                       signature))
        return job_fail(ctx, 400, "INVALID_SIGNATURE",
                        "razorpay_signature does not match this order and payment");
    /* Razorpay's word on the payment, captured when only authorized. */
    razorpay_t *rzp = gateway(ctx);
    razorpay_result_t got = RAZORPAY_RESULT_INIT;
    if (!rzp || razorpay_payment_fetch(rzp, rzp_payment, &got) < 0) {
        rc = gateway_failed(ctx, &got);
        razorpay_result_free(&got);
        return rc;
    }
    char id[64], its_order[64], status[32];
    int64_t its_amount = 0;
    rc = entity_fields(ctx, got.body.data, id, its_order, status, &its_amount);
    razorpay_result_free(&got);
    if (rc)
        return rc;
    if (strcmp(its_order, stored_order) != 0 || its_amount != amount)
        return job_fail(ctx, 400, "PAYMENT_MISMATCH",
                        "the payment is not for this order or not for its amount");
    if (strcmp(status, "authorized") == 0) {
        if (razorpay_payment_capture(rzp, rzp_payment, amount, &got) < 0) {
            rc = gateway_failed(ctx, &got);
            razorpay_result_free(&got);
            return rc;
        }
        rc = entity_fields(ctx, got.body.data, id, its_order, status, &its_amount);
        razorpay_result_free(&got);
        if (rc)
            return rc;
    }
    if (strcmp(status, "captured") != 0)
        return job_fail(ctx, 402, "PAYMENT_NOT_CAPTURED", "Razorpay reports the payment %s",
                        status);
    if ((rc = settle_captured(ctx, payment, rzp_payment)))
        return rc;
    const char *pid[] = {payment};
    return answer_json(ctx, 200, "SELECT mandi_payment_json(p)::text FROM payments p WHERE id = $1",
                       1, pid, PAYMENT_NOT_FOUND);
}

/* ---- webhooks -------------------------------------------------------------- */

/* What an event does: payment events move our payment (never back from
 * captured); the rest are recorded only, until refunds and payouts are
 * taken through Razorpay. */
static int on_captured(job_ctx_t *ctx, const char *order, const char *rzp_id, int64_t amount);
static int on_authorized(job_ctx_t *ctx, const char *order, const char *rzp_id, int64_t amount);
static int on_failed(job_ctx_t *ctx, const char *order, const char *rzp_id, int64_t amount);

static const struct {
    const char *event;
    int (*act)(job_ctx_t *, const char *order, const char *rzp_id, int64_t amount);
} webhook_actions[] = {
    {"payment.captured", on_captured},
    {"order.paid", on_captured},
    {"payment.authorized", on_authorized},
    {"payment.failed", on_failed},
};

/* Our payment for Razorpay order `order` (0: found, 1: not ours). */
static int our_payment(job_ctx_t *ctx, const char *order, char id[37], int64_t *amount)
{
    const char *params[] = {order};
    PGresult *res =
        PQexecParams(ctx->db, "SELECT id, amount_paise FROM payments WHERE razorpay_order_id = $1",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
        *amount = atoll(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found ? 0 : job_fail(ctx, 404, "PAYMENT_NOT_FOUND", "no payment has that order");
}

static int on_captured(job_ctx_t *ctx, const char *order, const char *rzp_id, int64_t amount)
{
    char payment[37];
    int64_t ours = 0;
    int rc = our_payment(ctx, order, payment, &ours);
    if (rc)
        return rc;
    if (ours != amount)
        return job_fail(ctx, 409, "PAYMENT_MISMATCH", "the captured amount is not the order's");
    return settle_captured(ctx, payment, rzp_id);
}

static int on_authorized(job_ctx_t *ctx, const char *order, const char *rzp_id, int64_t amount)
{
    (void)amount;
    const char *params[] = {order, rzp_id};
    return answer_exec(ctx,
                       "UPDATE payments SET status = 'authorized', razorpay_payment_id = $2, "
                       "updated_at = now() WHERE razorpay_order_id = $1 AND status = 'created'",
                       2, params);
}

static int on_failed(job_ctx_t *ctx, const char *order, const char *rzp_id, int64_t amount)
{
    (void)amount;
    /* A failed attempt never undoes a capture (a UPI retry may fail first
     * and be captured after, in either order of delivery). */
    const char *params[] = {order, rzp_id};
    return answer_exec(ctx,
                       "UPDATE payments SET status = 'failed', failure_reason = 'payment ' || $2 "
                       "|| ' failed', updated_at = now() WHERE razorpay_order_id = $1 "
                       "AND status IN ('created', 'authorized')",
                       2, params);
}

/* The string at payload.<kind>.entity.<key> of a webhook body. */
static void entity_str(const msgpack_object *body, const char *kind, const char *key, char *out,
                       size_t cap)
{
    const msgpack_object *e = mp_get(mp_get(mp_get(mp_get(body, "payload"), kind), "entity"), key);
    if (mp_copy_str(e, out, cap) < 0)
        out[0] = '\0';
}

int payment_webhook(job_ctx_t *ctx)
{
    const msgpack_object *raw = mp_get(ctx->job->payload, "raw");
    const msgpack_object *headers = mp_get(ctx->job->payload, "headers");
    char signature[129], event_id[65], event[64];
    if (!raw || raw->type != MSGPACK_OBJECT_BIN ||
        mp_copy_str(mp_get(headers, "X-Razorpay-Signature"), signature, sizeof signature) < 0 ||
        !razorpay_webhook_signature_ok(config_get("RAZORPAY_WEBHOOK_SECRET"), raw->via.bin.ptr,
                                       raw->via.bin.size, signature))
        return job_fail(ctx, 400, "INVALID_SIGNATURE",
                        "X-Razorpay-Signature does not match the body");
    const msgpack_object *body = job_body(ctx->job);
    if (mp_copy_str(mp_get(headers, "X-Razorpay-Event-Id"), event_id, sizeof event_id) < 0 ||
        !event_id[0])
        return job_fail(ctx, 400, "VALIDATION_ERROR", "X-Razorpay-Event-Id is missing");
    if (mp_copy_str(mp_get(body, "event"), event, sizeof event) < 0)
        return input_fail(ctx, "event", "event is missing");
    /* The entity the event is about: a payment's events (and order.paid)
     * carry the payment; the others their own kind. */
    char kind[16], entity[65], order[65];
    snprintf(kind, sizeof kind, "%.*s", (int)strcspn(event, "."), event);
    const char *of = strcmp(kind, "order") == 0 ? "payment" : kind;
    entity_str(body, of, "id", entity, sizeof entity);
    entity_str(body, "payment", "order_id", order, sizeof order);
    int64_t amount = 0;
    mp_get_i64(mp_get(mp_get(mp_get(mp_get(body, "payload"), "payment"), "entity"), "amount"),
               &amount);

    /* Recorded first; a redelivery (same event id, or the same event for
     * the same entity) is answered 200 and does nothing. */
    buf_t text = BUF_INIT;
    buf_append(&text, raw->via.bin.ptr, raw->via.bin.size);
    const char *params[] = {event_id, event, entity[0] ? entity : NULL, text.data};
    PGresult *res =
        PQexecParams(ctx->db,
                     "INSERT INTO webhook_events (event_id, event, entity_id, body) "
                     "VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING RETURNING 1",
                     4, NULL, params, NULL, NULL, 0);
    buf_free(&text);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int fresh = PQntuples(res) == 1, rc;
    PQclear(res);
    if (!fresh) {
        static const char duplicate[] = "{\"received\": true, \"duplicate\": true}";
        rc = answer_pack_json(ctx, duplicate, sizeof duplicate - 1);
        return rc ? rc : 200;
    }

    int (*act)(job_ctx_t *, const char *, const char *, int64_t) = NULL;
    for (size_t i = 0; i < sizeof webhook_actions / sizeof webhook_actions[0]; i++)
        if (strcmp(webhook_actions[i].event, event) == 0)
            act = webhook_actions[i].act;
    char outcome[128] = "recorded";
    if (act) {
        if ((rc = answer_exec(ctx, "SAVEPOINT webhook", 0, NULL)))
            return rc;
        rc = act(ctx, order, strcmp(of, "payment") == 0 ? entity : "", amount);
        if (rc) {
            snprintf(outcome, sizeof outcome, "failed: %s", ctx->error_code);
            job_fail_reset(ctx);
            if ((rc = answer_exec(ctx, "ROLLBACK TO SAVEPOINT webhook", 0, NULL)))
                return rc;
        } else {
            snprintf(outcome, sizeof outcome, "applied");
        }
    }
    const char *done[] = {event_id, outcome};
    if ((rc = answer_exec(ctx,
                          "UPDATE webhook_events SET processed_at = now(), outcome = $2 "
                          "WHERE event_id = $1",
                          2, done)))
        return rc;
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('received', true, 'outcome', $2::text)::text "
                       "FROM webhook_events WHERE event_id = $1",
                       2, done, "EVENT_NOT_FOUND", "the event was not recorded");
}
