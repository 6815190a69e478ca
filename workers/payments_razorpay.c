/*
 * payments_razorpay - money taken through Razorpay: the order the app's
 * checkout pays and the app's verification of it.
 *
 * A payment is settled exactly once, into the ledger and the orders or the
 * boost it pays, by payment_settle_captured under the payment's row lock:
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

/* A captured payment being settled, as read under its row lock. */
typedef struct {
    const char *id, *rzp_id;
    char user[37], purpose[16], checkout[37], boost[37];
    int64_t amount;
} settling_t;

/* The orders an order payment pays: confirmed, with their history and
 * events; what it paid beyond them goes back. */
static int settle_orders(job_ctx_t *ctx, const settling_t *p)
{
    const char *ck[] = {p->checkout, p->id};
    PGresult *res =
        PQexecParams(ctx->db,
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
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        confirmed += atoll(PQgetvalue(res, i, 1));
        rc = order_event(ctx, "order.status_changed", PQgetvalue(res, i, 0),
                         "{\"from\": \"PENDING\"}");
    }
    PQclear(res);
    return rc ? rc : refund_unconfirmed(ctx, p->id, p->checkout, p->amount - confirmed);
}

/* The boost a boost payment pays becomes active: from now, or from the end
 * of the listing's boost running now, so a second boost bought extends the
 * first rather than overlapping it. A boost no longer waiting for payment
 * (replaced by a newer one, or its listing sold, deleted or expired since
 * the Razorpay order was made) is not started; the payment is given back
 * whole. */
static int settle_boost(job_ctx_t *ctx, const settling_t *p)
{
    const char *params[] = {p->boost};
    PGresult *res = PQexecParams(
        ctx->db,
        "UPDATE listing_boosts b SET status = 'active', starts_at = s.start, "
        "ends_at = s.start + make_interval(days => b.duration_days), updated_at = now() "
        "FROM listings l, LATERAL (SELECT greatest(now(), "
        "  coalesce(mandi_listing_boosted_until(l.id), now())) AS start) s "
        "WHERE b.id = $1::uuid AND b.status = 'pending_payment' AND l.id = b.listing_id "
        "AND mandi_listing_status(l) = 'ACTIVE' RETURNING b.id",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int started = PQntuples(res) == 1;
    PQclear(res);
    if (!started)
        return refund_for_order(ctx, p->id, NULL, p->amount,
                                "the boost was no longer waiting for payment");
    /* Read after the update, so the listing shows its new boosted_until. */
    return answer_event(ctx, "listing.boosted",
                        "SELECT (mandi_listing_json(l) || jsonb_build_object('user_id', "
                        "l.owner_id, 'boost', mandi_listing_boost_json(b)))::text "
                        "FROM listing_boosts b JOIN listings l ON l.id = b.listing_id "
                        "WHERE b.id = $1::uuid",
                        1, params);
}

/* What settling does by purpose: the ledger entry's source, the account
 * the money goes to (NULL: the payer's wallet), and what the payment then
 * sets going. */
static const struct {
    const char *purpose;
    const char *source;
    const char *account;
    int (*settle)(job_ctx_t *ctx, const settling_t *p);
} purpose_rules[] = {
    {"wallet_topup", "topup", NULL, NULL},
    {"order", "order", LEDGER_ORDERS, settle_orders},
    {"listing_boost", "boost", LEDGER_BOOST_SALES, settle_boost},
};

static int purpose_rule(const char *purpose)
{
    for (size_t i = 0; i < sizeof purpose_rules / sizeof *purpose_rules; i++)
        if (strcmp(purpose_rules[i].purpose, purpose) == 0)
            return (int)i;
    return -1;
}

int payment_purpose_account(job_ctx_t *ctx, const char *purpose, const char *user,
                            char code[LEDGER_CODE_SIZE])
{
    int r = purpose_rule(purpose);
    if (r < 0)
        return job_fail(ctx, 500, "INTERNAL", "a payment of unknown purpose %s", purpose);
    if (!purpose_rules[r].account)
        return ledger_wallet(ctx, user, code);
    snprintf(code, LEDGER_CODE_SIZE, "%s", purpose_rules[r].account);
    return 0;
}

/* Settles our payment `payment` as captured by Razorpay payment rzp_id:
 * once, under its row lock. The money moves into the purpose's account;
 * Razorpay holds it until it settles with us, hence the clearing account on
 * the other side. */
int payment_settle_captured(job_ctx_t *ctx, const char *payment, const char *rzp_id)
{
    const char *params[] = {payment, rzp_id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT user_id, purpose, coalesce(checkout_id::text, ''), "
                                 "coalesce(boost_id::text, ''), amount_paise, status "
                                 "FROM payments WHERE id = $1::uuid FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    settling_t p = {.id = payment, .rzp_id = rzp_id};
    snprintf(p.user, sizeof p.user, "%s", PQgetvalue(res, 0, 0));
    snprintf(p.purpose, sizeof p.purpose, "%s", PQgetvalue(res, 0, 1));
    snprintf(p.checkout, sizeof p.checkout, "%s", PQgetvalue(res, 0, 2));
    snprintf(p.boost, sizeof p.boost, "%s", PQgetvalue(res, 0, 3));
    p.amount = atoll(PQgetvalue(res, 0, 4));
    int settled = strcmp(PQgetvalue(res, 0, 5), "captured") == 0;
    PQclear(res);
    if (settled)
        return 0;
    int r = purpose_rule(p.purpose);
    char into[LEDGER_CODE_SIZE];
    int rc = answer_exec(ctx,
                         "UPDATE payments SET status = 'captured', razorpay_payment_id = $2, "
                         "captured_at = now(), updated_at = now(), failure_reason = NULL "
                         "WHERE id = $1::uuid",
                         2, params);
    if (rc || (rc = payment_purpose_account(ctx, p.purpose, p.user, into)))
        return rc;
    ledger_leg_t legs[] = {{LEDGER_RAZORPAY_CLEARING, -p.amount}, {into, p.amount}};
    const char *pid[] = {payment};
    if ((rc = ledger_post(ctx, purpose_rules[r].source, payment, rzp_id, legs, 2)) ||
        (rc = answer_event(ctx, "payment.captured",
                           "SELECT (mandi_payment_json(p) || jsonb_build_object('user_id', "
                           "p.user_id))::text FROM payments p WHERE p.id = $1::uuid",
                           1, pid)))
        return rc;
    return purpose_rules[r].settle ? purpose_rules[r].settle(ctx, &p) : 0;
}

/* ---- the Razorpay order ------------------------------------------------------ */

static const char *const purposes[] = {"wallet_topup", "order", "listing_boost", NULL};

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

/* The amount of the caller's boost `boost`, which must wait for payment,
 * for a listing that is still ACTIVE. */
static int boost_due(job_ctx_t *ctx, const char *boost, int64_t *amount)
{
    const char *params[] = {boost, ctx->job->user_id};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT b.amount_paise, b.status = 'pending_payment' AND "
        "  mandi_listing_status(l) = 'ACTIVE' FROM listing_boosts b "
        "  JOIN listings l ON l.id = b.listing_id WHERE b.id = $1::uuid AND b.user_id = $2::uuid",
        2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    int payable = found && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    if (payable)
        *amount = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found)
        return job_fail(ctx, 404, "BOOST_NOT_FOUND", "no boost of yours has that boost_id");
    return payable ? 0
                   : job_fail(ctx, 409, "BOOST_NOT_PAYABLE",
                              "only a boost waiting for payment, of an active listing, can be "
                              "paid");
}

/* Records our payment (the job's id, which is also the Razorpay order's
 * receipt, so a redelivered job makes no second row) of the checkout or
 * the boost it pays (NULL when it pays neither) and opens its Razorpay
 * order for amount. */
static int open_razorpay_order(job_ctx_t *ctx, const char *purpose, const char *checkout,
                               const char *boost, int64_t amount)
{
    razorpay_t *rzp = payments_gateway(ctx);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    if (!rzp)
        return payments_gateway_failed(ctx, &res);
    char amt[24];
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    const char *params[] = {ctx->job->id, ctx->job->user_id, purpose, checkout, boost, amt};
    int rc = answer_exec(ctx,
                         "INSERT INTO payments (id, user_id, purpose, checkout_id, boost_id, "
                         "amount_paise) VALUES ($1::uuid, $2::uuid, $3, $4::uuid, $5::uuid, "
                         "$6::bigint)",
                         6, params);
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
    char purpose[16], order[37], checkout[37] = "", boost[37] = "";
    int64_t amount = 0;
    int has_amount, rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "purpose", IN_REQUIRED, purposes, purpose, sizeof purpose,
                           NULL)) ||
        (rc = input_int(ctx, body, "amount", IN_OPTIONAL, 100, TOPUP_MAX, &amount, &has_amount)) ||
        (rc = input_uuid(ctx, body, "order_id", strcmp(purpose, "order") == 0, order, NULL)) ||
        (rc =
             input_uuid(ctx, body, "boost_id", strcmp(purpose, "listing_boost") == 0, boost, NULL)))
        return rc;
    if (strcmp(purpose, "wallet_topup") == 0 && has_amount != IN_PRESENT)
        return input_fail(ctx, "amount", "amount (100 to %lld paise) is required for a top-up",
                          (long long)TOPUP_MAX);
    /* The price of an order or a boost is ours to say, not the app's. */
    if (strcmp(purpose, "order") == 0 && (rc = order_due(ctx, order, checkout, &amount)))
        return rc;
    if (strcmp(purpose, "listing_boost") == 0 && (rc = boost_due(ctx, boost, &amount)))
        return rc;
    if ((rc = open_razorpay_order(ctx, purpose, checkout[0] ? checkout : NULL,
                                  boost[0] ? boost : NULL, amount)))
        return rc;
    const char *update[] = {ctx->job->id, config_get("RAZORPAY_KEY_ID")};
    return answer_json(ctx, 201,
                       "SELECT jsonb_build_object('payment_id', id, 'razorpay_order_id', "
                       "  razorpay_order_id, 'amount', amount_paise, 'currency', currency, "
                       "  'key_id', $2::text, 'purpose', purpose, 'checkout_id', checkout_id, "
                       "  'boost_id', boost_id)::text "
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
    return open_razorpay_order(ctx, "order", ctx->job->id, NULL, total);
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
