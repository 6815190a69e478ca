/*
 * payments_webhook - Razorpay's webhooks.
 *
 * A webhook is checked against its signature before anything else, then
 * recorded, then acted on inside a savepoint, so a failure to act still
 * leaves it recorded (and answered 200: Razorpay must not retry what we
 * hold) with its outcome for finance to see. A redelivery (the same event
 * id, or the same event for the same entity under a new id) is answered
 * 200 and does nothing. Events arrive in any order, so every action moves
 * its entity only forwards and ignores what comes after a final state
 * (recording "ignored: ..." as the outcome when it says why).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "input.h"
#include "mp.h"
#include "payments.h"
#include "razorpay_sig.h"

/* ---- payment events ----------------------------------------------------- */

/* Our payment for Razorpay order `order`. */
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

static int on_captured(job_ctx_t *ctx, const webhook_t *w)
{
    char payment[37];
    int64_t ours = 0;
    int rc = our_payment(ctx, w->order, payment, &ours);
    if (rc)
        return rc;
    if (ours != w->payment_amount)
        return job_fail(ctx, 409, "PAYMENT_MISMATCH", "the captured amount is not the order's");
    return payment_settle_captured(ctx, payment, w->payment);
}

static int on_authorized(job_ctx_t *ctx, const webhook_t *w)
{
    const char *params[] = {w->order, w->payment};
    return answer_exec(ctx,
                       "UPDATE payments SET status = 'authorized', razorpay_payment_id = $2, "
                       "updated_at = now() WHERE razorpay_order_id = $1 AND status = 'created'",
                       2, params);
}

static int on_failed(job_ctx_t *ctx, const webhook_t *w)
{
    /* A failed attempt never undoes a capture (a UPI retry may fail first
     * and be captured after, in either order of delivery). */
    const char *params[] = {w->order, w->payment};
    return answer_exec(ctx,
                       "UPDATE payments SET status = 'failed', failure_reason = 'payment ' || $2 "
                       "|| ' failed', updated_at = now() WHERE razorpay_order_id = $1 "
                       "AND status IN ('created', 'authorized')",
                       2, params);
}

/* ---- the table ------------------------------------------------------------ */

static const struct {
    const char *event;
    webhook_action_fn act;
} webhook_actions[] = {
    {"payment.captured", on_captured},         {"order.paid", on_captured},
    {"payment.authorized", on_authorized},     {"payment.failed", on_failed},
    {"refund.processed", refund_on_processed}, {"refund.failed", refund_on_failed},
    {"payout.processed", payout_on_webhook},   {"payout.reversed", payout_on_webhook},
    {"payout.failed", payout_on_webhook},
};

static webhook_action_fn find_action(const char *event)
{
    for (size_t i = 0; i < sizeof webhook_actions / sizeof webhook_actions[0]; i++)
        if (strcmp(webhook_actions[i].event, event) == 0)
            return webhook_actions[i].act;
    return NULL;
}

/* ---- receiving -------------------------------------------------------------- */

static const msgpack_object *entity(const msgpack_object *body, const char *kind)
{
    return mp_get(mp_get(mp_get(body, "payload"), kind), "entity");
}

static void entity_str(const msgpack_object *body, const char *kind, const char *key, char *out,
                       size_t cap)
{
    if (mp_copy_str(mp_get(entity(body, kind), key), out, cap) < 0)
        out[0] = '\0';
}

/* The ids the actions need, and the id of the entity the event is about:
 * a payment's events (and order.paid) carry the payment, the others an
 * entity of their own kind. */
static void read_webhook(const msgpack_object *body, const char *event, webhook_t *w,
                         const char **about)
{
    memset(w, 0, sizeof *w);
    w->event = event;
    w->body = body;
    entity_str(body, "payment", "id", w->payment, sizeof w->payment);
    entity_str(body, "payment", "order_id", w->order, sizeof w->order);
    mp_get_i64(mp_get(entity(body, "payment"), "amount"), &w->payment_amount);
    entity_str(body, "refund", "id", w->refund, sizeof w->refund);
    entity_str(body, "payout", "id", w->payout, sizeof w->payout);
    if (strncmp(event, "refund.", 7) == 0)
        *about = w->refund;
    else if (strncmp(event, "payout.", 7) == 0)
        *about = w->payout;
    else
        *about = w->payment;
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
    webhook_t w;
    const char *about;
    read_webhook(body, event, &w, &about);

    /* Recorded first; a redelivery is answered 200 and does nothing. */
    buf_t text = BUF_INIT;
    buf_append(&text, raw->via.bin.ptr, raw->via.bin.size);
    const char *params[] = {event_id, event, about[0] ? about : NULL, text.data};
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

    webhook_action_fn act = find_action(event);
    char outcome[WEBHOOK_OUTCOME_SIZE] = "recorded";
    if (act) {
        if ((rc = answer_exec(ctx, "SAVEPOINT webhook", 0, NULL)))
            return rc;
        snprintf(outcome, sizeof outcome, "applied");
        w.outcome = outcome;
        rc = act(ctx, &w);
        if (rc) {
            snprintf(outcome, sizeof outcome, "failed: %s", ctx->error_code);
            job_fail_reset(ctx);
            if ((rc = answer_exec(ctx, "ROLLBACK TO SAVEPOINT webhook", 0, NULL)))
                return rc;
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
