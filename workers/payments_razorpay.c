/*
 * payments_razorpay - money taken through Razorpay: the order the app's
 * checkout pays and the app's verification of it.
 *
 * A payment is settled exactly once, into the ledger and (for orders) the
 * orders it pays, by payment_settle_captured under the payment's row lock:
 * the verification and the webhook (payments_webhook.c) may come in either
 * order, at the same moment, or more than once, and whichever comes second
 * finds it settled.
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
#include "razorpay_test.h"

#define PAYMENT_NOT_FOUND "PAYMENT_NOT_FOUND", "no payment of yours has that Razorpay order"
#define TOPUP_MAX         10000000LL /* ₹1 lakh at a time */

/* ---- settling --------------------------------------------------------------- */

/* What a captured order payment paid for but did not confirm goes back:
 * orders of its checkout cancelled before it arrived (unpaid too long, or
 * by their owner) are refunded one by one, and whatever is left after them
 * (the checkout was paid twice) as one more refund. */
static int refund_unconfirmed(job_ctx_t *ctx, const char *payment, const char *checkout,
                              int64_t unconfirmed)
{
    if (unconfirmed <= 0)
        return 0;
    const char *params[] = {checkout, payment};
    PGresult *res =
        PQexecParams(ctx->db,
                     "UPDATE orders SET paid_by = $2::uuid WHERE checkout_id = $1::uuid "
                     "AND status = 'CANCELLED' AND paid_by IS NULL "
                     "RETURNING id, number, total_paise",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc && unconfirmed > 0; i++) {
        int64_t total = atoll(PQgetvalue(res, i, 2));
        char reason[64];
        snprintf(reason, sizeof reason, "order %s was cancelled before it was paid",
                 PQgetvalue(res, i, 1));
        rc = refund_for_order(ctx, payment, PQgetvalue(res, i, 0), total, reason);
        unconfirmed -= total;
    }
    PQclear(res);
    if (!rc && unconfirmed > 0)
        rc = refund_for_order(ctx, payment, NULL, unconfirmed, "the checkout was paid already");
    return rc;
}

/* Settles our payment `payment` as captured by Razorpay payment rzp_id:
 * once, under its row lock. A top-up credits the wallet; an order payment
 * confirms the checkout's PENDING orders. Razorpay holds the money until it
 * settles with us, hence the clearing account on the other side. */
int payment_settle_captured(job_ctx_t *ctx, const char *payment, const char *rzp_id)
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
    const char *pid[] = {payment};
    if ((rc = ledger_post(ctx, topup ? "topup" : "order", payment, rzp_id, legs, 2)) ||
        (rc = answer_event(ctx, "payment.captured",
                           "SELECT (mandi_payment_json(p) || jsonb_build_object('user_id', "
                           "p.user_id))::text FROM payments p WHERE p.id = $1::uuid",
                           1, pid)) ||
        topup)
        return rc;
    /* The orders it pays: confirmed, with their history and events. */
    const char *ck[] = {checkout, payment};
    res = PQexecParams(ctx->db,
                       "WITH moved AS (UPDATE orders SET status = 'CONFIRMED', paid_by = $2::uuid, "
                       "  updated_at = now() WHERE checkout_id = $1::uuid AND status = 'PENDING' "
                       "  RETURNING id, total_paise), "
                       "h AS (INSERT INTO order_status_history (order_id, from_status, to_status, "
                       "  note) SELECT id, 'PENDING', 'CONFIRMED', 'paid through Razorpay' "
                       "  FROM moved) "
                       "SELECT id, total_paise FROM moved ORDER BY id",
                       2, NULL, ck, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int64_t confirmed = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        confirmed += atoll(PQgetvalue(res, i, 1));
        rc = order_event(ctx, "order.status_changed", PQgetvalue(res, i, 0),
                         "{\"from\": \"PENDING\"}");
    }
    PQclear(res);
    return rc ? rc : refund_unconfirmed(ctx, payment, checkout, amount - confirmed);
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

/* Records our payment (the job's id, which is also the Razorpay order's
 * receipt, so a redelivered job makes no second row) and opens its
 * Razorpay order for amount. */
static int open_razorpay_order(job_ctx_t *ctx, const char *purpose, const char *checkout,
                               int64_t amount)
{
    razorpay_t *rzp = payments_gateway(ctx);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    if (!rzp)
        return payments_gateway_failed(ctx, &res);
    char amt[24];
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    const char *params[] = {ctx->job->id, ctx->job->user_id, purpose, checkout, amt};
    int rc = answer_exec(ctx,
                         "INSERT INTO payments (id, user_id, purpose, checkout_id, amount_paise) "
                         "VALUES ($1::uuid, $2::uuid, $3, $4::uuid, $5::bigint)",
                         5, params);
    if (rc)
        return rc;
    if (razorpay_order_create(rzp, amount, ctx->job->id, NULL, &res) < 0) {
        rc = payments_gateway_failed(ctx, &res);
        razorpay_result_free(&res);
        return rc;
    }
    char id[64], ignored[64], status[32];
    int64_t echoed = 0;
    rc = payments_entity_fields(ctx, res.body.data, id, ignored, status, &echoed);
    razorpay_result_free(&res);
    if (rc)
        return rc;
    if (!id[0] || echoed != amount)
        return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR", "Razorpay's order does not match ours");
    const char *update[] = {ctx->job->id, id};
    return answer_exec(ctx, "UPDATE payments SET razorpay_order_id = $2 WHERE id = $1::uuid", 2,
                       update);
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
    if ((rc = open_razorpay_order(ctx, purpose, checkout[0] ? checkout : NULL, amount)))
        return rc;
    const char *update[] = {ctx->job->id, config_get("RAZORPAY_KEY_ID")};
    return answer_json(
        ctx, 201,
        "SELECT jsonb_build_object('payment_id', id, 'razorpay_order_id', "
        "  razorpay_order_id, 'amount', amount_paise, 'currency', currency, "
        "  'key_id', $2::text, 'purpose', purpose, 'checkout_id', checkout_id)::text "
        "FROM payments WHERE id = $1::uuid",
        2, update, PAYMENT_NOT_FOUND);
}

int payment_checkout_order(job_ctx_t *ctx, int64_t total)
{
    /* Razorpay's smallest charge; a checkout below it is paid otherwise. */
    if (total < 100)
        return job_fail(ctx, 422, "PAYMENT_METHOD_UNAVAILABLE",
                        "razorpay takes at least 100 paise; this checkout costs %lld: use wallet "
                        "or cod",
                        (long long)total);
    return open_razorpay_order(ctx, "order", ctx->job->id, total);
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
    razorpay_t *rzp = payments_gateway(ctx);
    razorpay_result_t got = RAZORPAY_RESULT_INIT;
    if (!rzp || razorpay_payment_fetch(rzp, rzp_payment, &got) < 0) {
        rc = payments_gateway_failed(ctx, &got);
        razorpay_result_free(&got);
        return rc;
    }
    char id[64], its_order[64], status[32];
    int64_t its_amount = 0;
    rc = payments_entity_fields(ctx, got.body.data, id, its_order, status, &its_amount);
    razorpay_result_free(&got);
    if (rc)
        return rc;
    if (strcmp(its_order, stored_order) != 0 || its_amount != amount)
        return job_fail(ctx, 400, "PAYMENT_MISMATCH",
                        "the payment is not for this order or not for its amount");
    if (strcmp(status, "authorized") == 0) {
        if (razorpay_payment_capture(rzp, rzp_payment, amount, &got) < 0) {
            rc = payments_gateway_failed(ctx, &got);
            razorpay_result_free(&got);
            return rc;
        }
        rc = payments_entity_fields(ctx, got.body.data, id, its_order, status, &its_amount);
        razorpay_result_free(&got);
        if (rc)
            return rc;
    }
    if (strcmp(status, "captured") != 0)
        return job_fail(ctx, 402, "PAYMENT_NOT_CAPTURED", "Razorpay reports the payment %s",
                        status);
    if ((rc = payment_settle_captured(ctx, payment, rzp_payment)))
        return rc;
    const char *pid[] = {payment};
    return answer_json(ctx, 200, "SELECT mandi_payment_json(p)::text FROM payments p WHERE id = $1",
                       1, pid, PAYMENT_NOT_FOUND);
}

/* ---- the test gateway's checkout -------------------------------------------- */

/* What Razorpay's Checkout would hand the app for the caller's test order:
 * the payment and its signature, to pass to POST /api/payments/verify. Only
 * while the test gateway is in use (no RAZORPAY_KEY_ID). */
int payment_test_pay(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char order[65], pay[80];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "razorpay_order_id", IN_REQUIRED, 1, 64, order, sizeof order,
                        NULL)))
        return rc;
    if (!razorpay_is_test(payments_gateway(ctx)))
        return job_fail(ctx, 404, "NOT_FOUND",
                        "the test gateway is not in use: RAZORPAY_KEY_ID is set");
    const char *params[] = {order, ctx->job->user_id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT 1 FROM payments WHERE razorpay_order_id = $1 "
                                 "AND user_id = $2::uuid",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found || razorpay_test_payment_of(order, pay, sizeof pay) < 0)
        return job_fail(ctx, 404, PAYMENT_NOT_FOUND);
    char signed_text[160], signature[RAZORPAY_SIG_HEX_SIZE];
    snprintf(signed_text, sizeof signed_text, "%s|%s", order, pay);
    const char *secret = config_get("RAZORPAY_KEY_SECRET");
    razorpay_hmac_hex(secret, strlen(secret), signed_text, strlen(signed_text), signature);
    const char *answer[] = {order, pay, signature};
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('razorpay_order_id', $1::text, "
                       "'razorpay_payment_id', $2::text, 'razorpay_signature', $3::text)::text",
                       3, answer, PAYMENT_NOT_FOUND);
}
