/*
 * payments_refund - refunds of payments taken through Razorpay.
 *
 * A refund is opened under its payment's row lock: what is left to refund
 * is the payment less every refund not failed, so no two refunds together
 * exceed it. Its money moves at once from where the payment put it (the
 * wallet for a top-up, the orders account for an order) to "refunds
 * pending", then Razorpay is asked with the idempotency key
 * '<payment id>-<n>' (n: the payment's n-th refund). The same key comes
 * back for every try at that refund, also for a finance request retried
 * after an attempt whose answer was lost and whose transaction rolled
 * back, so Razorpay never refunds it twice. Razorpay's answer or its
 * refund.processed / refund.failed webhook settles it: processed moves the
 * money to the clearing account, failed gives it back where it came from
 * (finance may refund again). A settled refund ignores later events.
 *
 * Finance's refunds ask Razorpay in the request. A cancellation's refund is
 * opened in the cancellation's transaction and asked for by the job
 * payment.refund_send, which that transaction enqueues, so a cancellation
 * never waits on Razorpay or fails because it is down: the job tries again
 * later (job_retry_later) until Razorpay answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "codec.h"
#include "config.h"
#include "input.h"
#include "ledger.h"
#include "payments.h"
#include "uuid.h"

#define REFUND_NOT_FOUND "REFUND_NOT_FOUND", "the refund does not exist"

/* ---- opening --------------------------------------------------------------- */

/* The payment a refund draws on, read under its row lock. */
typedef struct {
    char id[37], user[37], purpose[16], status[16], razorpay_payment_id[65];
    int64_t amount, refunded;
    int next_seq;
} refundable_t;

static int lock_payment(job_ctx_t *ctx, const char *payment, refundable_t *p)
{
    const char *params[] = {payment};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT p.id, p.user_id, p.purpose, p.status, coalesce(p.razorpay_payment_id, ''), "
        "p.amount_paise, p.amount_refunded_paise, "
        "(SELECT coalesce(max(seq), 0) + 1 FROM refunds r WHERE r.payment_id = p.id) "
        "FROM payments p WHERE p.id = $1::uuid FOR UPDATE OF p",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, "PAYMENT_NOT_FOUND", "the payment does not exist");
    }
    snprintf(p->id, sizeof p->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(p->user, sizeof p->user, "%s", PQgetvalue(res, 0, 1));
    snprintf(p->purpose, sizeof p->purpose, "%s", PQgetvalue(res, 0, 2));
    snprintf(p->status, sizeof p->status, "%s", PQgetvalue(res, 0, 3));
    snprintf(p->razorpay_payment_id, sizeof p->razorpay_payment_id, "%s", PQgetvalue(res, 0, 4));
    p->amount = atoll(PQgetvalue(res, 0, 5));
    p->refunded = atoll(PQgetvalue(res, 0, 6));
    p->next_seq = atoi(PQgetvalue(res, 0, 7));
    PQclear(res);
    return 0;
}

/* Records a refund event in the outbox, from the refund's row, with the
 * customer as "user_id" and, for a refund of an order, the owner of the
 * order's store as "merchant_id" (left out for other refunds, e.g. of a
 * wallet top-up or a boost), for the streams of both. */
static int refund_event(job_ctx_t *ctx, const char *topic, const char *id)
{
    const char *params[] = {id};
    return answer_event(ctx, topic,
                        "SELECT (mandi_refund_json(r) || jsonb_build_object('user_id', p.user_id) "
                        "|| CASE WHEN s.owner_id IS NULL THEN '{}' "
                        "ELSE jsonb_build_object('merchant_id', s.owner_id) END)::text "
                        "FROM refunds r JOIN payments p ON p.id = r.payment_id "
                        "LEFT JOIN orders o ON o.id = r.order_id "
                        "LEFT JOIN stores s ON s.id = o.store_id WHERE r.id = $1::uuid",
                        1, params);
}

/* Opens refund id of the locked payment p for amount (> 0, within what is
 * left) with its money moved to refunds pending. order: the order it gives
 * back for, or NULL; cancellation: made by that order's cancellation (once
 * per order). Returns 0, 1 when that cancellation was refunded before
 * (nothing done), or the status answered. */
static int open_refund(job_ctx_t *ctx, const char *id, const refundable_t *p, const char *order,
                       int cancellation, int64_t amount, const char *reason)
{
    char amt[24], seq[16], from[LEDGER_CODE_SIZE];
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    snprintf(seq, sizeof seq, "%d", p->next_seq);
    const char *params[] = {id,
                            p->id,
                            seq,
                            order,
                            amt,
                            reason,
                            ctx->job->user_id[0] ? ctx->job->user_id : NULL,
                            cancellation ? "true" : "false"};
    PGresult *res = PQexecParams(
        ctx->db,
        "INSERT INTO refunds (id, payment_id, seq, order_id, amount_paise, reason, actor_id, "
        "cancellation) VALUES ($1::uuid, $2::uuid, $3::int, $4::uuid, $5::bigint, $6, $7::uuid, "
        "$8::boolean) ON CONFLICT (order_id) WHERE cancellation DO NOTHING RETURNING 1",
        8, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int made = PQntuples(res) == 1, rc;
    PQclear(res);
    if (!made)
        return 1;
    const char *move[] = {p->id, amt};
    if ((rc = answer_exec(ctx,
                          "UPDATE payments SET amount_refunded_paise = amount_refunded_paise + "
                          "$2::bigint, updated_at = now() WHERE id = $1::uuid",
                          2, move)) ||
        /* Taken back from where the payment's money went. */
        (rc = payment_purpose_account(ctx, p->purpose, p->user, from)))
        return rc;
    ledger_leg_t legs[] = {{from, -amount}, {LEDGER_REFUNDS_PENDING, amount}};
    if ((rc = ledger_post(ctx, "refund", id, reason, legs, 2)))
        return rc;
    return refund_event(ctx, "refund.created", id);
}

/* ---- settling -------------------------------------------------------------- */

/* The refund's row, locked. */
typedef struct {
    char id[37], payment[37], user[37], purpose[16], status[16], key[64];
    char razorpay_payment_id[65];
    int64_t amount;
} refund_row_t;

/* Locks the refund with our id, or Razorpay's refund id, or failing that
 * the idempotency key (a webhook carries it in the refund's notes); NULL
 * for those not known. Returns 0, or the status answered (404 when none
 * matches). */
static int lock_refund(job_ctx_t *ctx, const char *id, const char *razorpay_id, const char *key,
                       refund_row_t *r)
{
    /* A key is "<payment id>-<n>": looked up as the pair, which the
     * (payment_id, seq) key indexes, not as text built from every row. */
    char text[37] = "", payment[37] = "", seq[16] = "";
    if (key && strlen(key) > 37 && key[36] == '-' && strlen(key + 37) < 10 &&
        strspn(key + 37, "0123456789") == strlen(key + 37)) {
        memcpy(text, key, 36);
        if (input_uuid_normalise(text, payment) == 0)
            snprintf(seq, sizeof seq, "%s", key + 37);
        else
            payment[0] = '\0';
    }
    const char *params[] = {id, razorpay_id, payment[0] ? payment : NULL, seq[0] ? seq : NULL};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT r.id, r.payment_id, p.user_id, p.purpose, r.status, "
        "r.payment_id || '-' || r.seq, coalesce(p.razorpay_payment_id, ''), r.amount_paise "
        "FROM refunds r JOIN payments p ON p.id = r.payment_id "
        "WHERE r.id = $1::uuid OR r.razorpay_refund_id = $2 "
        "OR (r.payment_id = $3::uuid AND r.seq = $4::int) "
        "ORDER BY r.razorpay_refund_id = $2 DESC NULLS LAST LIMIT 1 FOR UPDATE OF r",
        4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, REFUND_NOT_FOUND);
    }
    snprintf(r->id, sizeof r->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(r->payment, sizeof r->payment, "%s", PQgetvalue(res, 0, 1));
    snprintf(r->user, sizeof r->user, "%s", PQgetvalue(res, 0, 2));
    snprintf(r->purpose, sizeof r->purpose, "%s", PQgetvalue(res, 0, 3));
    snprintf(r->status, sizeof r->status, "%s", PQgetvalue(res, 0, 4));
    snprintf(r->key, sizeof r->key, "%s", PQgetvalue(res, 0, 5));
    snprintf(r->razorpay_payment_id, sizeof r->razorpay_payment_id, "%s", PQgetvalue(res, 0, 6));
    r->amount = atoll(PQgetvalue(res, 0, 7));
    PQclear(res);
    return 0;
}

static int settled(const refund_row_t *r)
{
    return strcmp(r->status, "processed") == 0 || strcmp(r->status, "failed") == 0;
}

/* Moves a locked, unsettled refund to Razorpay's final word on it. */
static int settle_refund(job_ctx_t *ctx, const refund_row_t *r, int processed, const char *why)
{
    char reference[64], amt[24];
    snprintf(reference, sizeof reference, "%s:%s", r->id, processed ? "processed" : "failed");
    snprintf(amt, sizeof amt, "%lld", (long long)r->amount);
    const char *params[] = {r->id, processed ? "processed" : "failed", processed ? NULL : why};
    int rc = answer_exec(ctx,
                         "UPDATE refunds SET status = $2, failure_reason = $3, updated_at = now(), "
                         "processed_at = CASE WHEN $2 = 'processed' THEN now() END "
                         "WHERE id = $1::uuid",
                         3, params);
    if (rc)
        return rc;
    char back[LEDGER_CODE_SIZE];
    if (processed) {
        snprintf(back, sizeof back, "%s", LEDGER_RAZORPAY_CLEARING);
    } else {
        /* Not refunded after all: the money goes back where it was, and the
         * payment may be refunded again. */
        const char *undo[] = {r->payment, amt};
        if ((rc = answer_exec(ctx,
                              "UPDATE payments SET amount_refunded_paise = amount_refunded_paise "
                              "- $2::bigint, updated_at = now() WHERE id = $1::uuid",
                              2, undo)) ||
            (rc = payment_purpose_account(ctx, r->purpose, r->user, back)))
            return rc;
    }
    ledger_leg_t legs[] = {{LEDGER_REFUNDS_PENDING, -r->amount}, {back, r->amount}};
    if ((rc = ledger_post(ctx, "refund", reference, processed ? "refund processed" : why, legs, 2)))
        return rc;
    return refund_event(ctx, processed ? "refund.processed" : "refund.failed", r->id);
}

/* ---- asking Razorpay -------------------------------------------------------- */

/* Asks Razorpay for the locked refund r (still queued) and records its
 * answer: the refund id, pending, or settled when it already is. */
static int send_refund(job_ctx_t *ctx, const refund_row_t *r, razorpay_result_t *res)
{
    razorpay_t *rzp = payments_gateway(ctx);
    if (!rzp)
        return payments_gateway_failed(ctx, res);
    char notes[128];
    snprintf(notes, sizeof notes, "{\"mandi_refund_key\": \"%s\"}", r->key);
    if (razorpay_payment_refund(rzp, r->razorpay_payment_id, r->amount, notes, r->key, res) < 0)
        return payments_gateway_failed(ctx, res);
    char id[64], ignored[64], status[32];
    int64_t amount = 0;
    int rc = payments_entity_fields(ctx, res->body.data, id, ignored, status, &amount);
    if (rc)
        return rc;
    if (!id[0] || amount != r->amount)
        return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR", "Razorpay's refund does not match ours");
    const char *params[] = {r->id, id};
    if ((rc = answer_exec(ctx,
                          "UPDATE refunds SET razorpay_refund_id = $2, status = 'pending', "
                          "updated_at = now() WHERE id = $1::uuid",
                          2, params)))
        return rc;
    if (strcmp(status, "processed") == 0 || strcmp(status, "failed") == 0)
        return settle_refund(ctx, r, status[0] == 'p', "Razorpay failed the refund");
    return 0;
}

static int answer_refund(job_ctx_t *ctx, int status, const char *id)
{
    const char *params[] = {id};
    return answer_json(ctx, status,
                       "SELECT mandi_refund_json(r)::text FROM refunds r WHERE id = $1::uuid", 1,
                       params, REFUND_NOT_FOUND);
}

/* ---- jobs --------------------------------------------------------------------- */

/* What is left to refund of order `order` paid by payment: its total less
 * its refunds not failed; 400 naming order_id when the payment did not pay
 * it. */
static int order_left(job_ctx_t *ctx, const char *payment, const char *order, int64_t *left)
{
    const char *params[] = {order, payment};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT o.total_paise - (SELECT coalesce(sum(amount_paise), 0) "
                                 "FROM refunds r WHERE r.order_id = o.id AND r.status <> 'failed') "
                                 "FROM orders o WHERE o.id = $1::uuid AND o.paid_by = $2::uuid",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    if (found)
        *left = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return found ? 0 : input_fail(ctx, "order_id", "order_id is not an order this payment paid");
}

int payment_refund(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char payment[37], order[37], reason[501 * 4];
    int64_t amount = 0;
    int has_amount, has_order, rc;
    refundable_t p;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "payment_id", IN_REQUIRED, payment, NULL)) ||
        (rc = input_uuid(ctx, body, "order_id", IN_OPTIONAL, order, &has_order)) ||
        (rc = input_int(ctx, body, "amount", IN_OPTIONAL, 100, 10000000000LL, &amount,
                        &has_amount)) ||
        (rc = input_text(ctx, body, "reason", IN_REQUIRED, 3, 500, reason, sizeof reason, NULL)) ||
        (rc = lock_payment(ctx, payment, &p)))
        return rc;
    if (strcmp(p.status, "captured") != 0)
        return job_fail(ctx, 409, "PAYMENT_NOT_CAPTURED",
                        "the payment is %s; only a captured payment can be refunded", p.status);
    int64_t left = p.amount - p.refunded, of_order = 0;
    /* A refund of an order is what its store's settlement takes off. */
    if (has_order == IN_PRESENT) {
        if ((rc = order_left(ctx, payment, order, &of_order)))
            return rc;
        if (of_order < left)
            left = of_order < 0 ? 0 : of_order;
    }
    if (left == 0)
        return job_fail(ctx, 409, "PAYMENT_FULLY_REFUNDED", "nothing is left to refund");
    if (has_amount != IN_PRESENT)
        amount = left;
    if (amount > left) {
        job_fail(ctx, 422, "REFUND_TOO_LARGE",
                 "amount: %lld paise is more than the %lld paise left to refund", (long long)amount,
                 (long long)left);
        job_fail_detail_str(ctx, "field", "amount");
        return 422;
    }
    if ((rc = open_refund(ctx, ctx->job->id, &p, has_order == IN_PRESENT ? order : NULL, 0, amount,
                          reason)))
        return rc;
    refund_row_t r;
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    if (!(rc = lock_refund(ctx, ctx->job->id, NULL, NULL, &r)))
        rc = send_refund(ctx, &r, &res);
    razorpay_result_free(&res);
    if (rc)
        return rc;
    /* The reason is free text: the refund row keeps it; the audit row the
     * refund's id and amount. */
    char after[128];
    snprintf(after, sizeof after, "{\"refund_id\": \"%s\", \"amount_paise\": %lld}", ctx->job->id,
             (long long)amount);
    if ((rc = accounts_audit(ctx, "payment.refund", "payment", payment, NULL, after)))
        return rc;
    return answer_refund(ctx, 201, ctx->job->id);
}

/* The job a cancellation enqueues ({refund_id}), and finance's
 * POST /api/payments/refunds/:id/send for a refund still queued after the
 * job gave up. */
int payment_refund_send(job_ctx_t *ctx)
{
    char id[37];
    refund_row_t r;
    int from_route = mp_get(input_params(ctx), "id") != NULL, rc;
    if ((rc = from_route
                  ? input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)
                  : input_uuid(ctx, job_body(ctx->job), "refund_id", IN_REQUIRED, id, NULL)) ||
        (rc = lock_refund(ctx, id, NULL, NULL, &r)))
        return rc;
    if (strcmp(r.status, "queued") != 0)
        return answer_refund(ctx, 200, id);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    rc = send_refund(ctx, &r, &res);
    /* Razorpay down or busy: try again later with the same key. A refusal
     * (a 4xx) is final and stays visible as a queued refund. */
    if (rc && razorpay_result_retryable(&res))
        job_retry_later(ctx, config_get_long("MANDI_REFUND_RETRY_MS"));
    razorpay_result_free(&res);
    return rc ? rc : answer_refund(ctx, 200, id);
}

int refund_for_order(job_ctx_t *ctx, const char *payment, const char *order, int64_t amount,
                     const char *reason)
{
    refundable_t p;
    int rc = lock_payment(ctx, payment, &p);
    if (rc || strcmp(p.status, "captured") != 0)
        return rc;
    if (amount > p.amount - p.refunded)
        amount = p.amount - p.refunded;
    if (amount <= 0)
        return 0;
    char id[37];
    uuid_v4(id);
    if ((rc = open_refund(ctx, id, &p, order, order != NULL, amount, reason)) != 0)
        return rc == 1 ? 0 : rc;
    char body[64];
    int n = snprintf(body, sizeof body, "{\"refund_id\": \"%s\"}", id);
    buf_t packed = BUF_INIT;
    if (codec_json_to_msgpack(body, (size_t)n, &packed, NULL) < 0 ||
        job_enqueue(ctx, "payments", "payment.refund_send", packed.data, packed.len) < 0)
        rc = job_fail(ctx, 503, "DB_UNAVAILABLE", "the refund could not be queued");
    buf_free(&packed);
    return rc;
}

/* ---- webhooks ------------------------------------------------------------------ */

/* refund.processed and refund.failed: the refund of Razorpay's id, or (when
 * our record of the id was lost with a rolled-back try) of the key in its
 * notes. */
static int on_refund_event(job_ctx_t *ctx, const webhook_t *w, int processed)
{
    char key[64] = "";
    const msgpack_object *notes =
        mp_get(mp_get(mp_get(mp_get(w->body, "payload"), "refund"), "entity"), "notes");
    if (mp_copy_str(mp_get(notes, "mandi_refund_key"), key, sizeof key) < 0)
        key[0] = '\0';
    refund_row_t r;
    int rc = lock_refund(ctx, NULL, w->refund, key[0] ? key : NULL, &r);
    if (rc || settled(&r))
        return rc;
    const char *params[] = {r.id, w->refund};
    if ((rc = answer_exec(ctx,
                          "UPDATE refunds SET razorpay_refund_id = $2, updated_at = now() "
                          "WHERE id = $1::uuid AND razorpay_refund_id IS NULL",
                          2, params)))
        return rc;
    return settle_refund(ctx, &r, processed, "Razorpay failed the refund");
}

int refund_on_processed(job_ctx_t *ctx, const webhook_t *w)
{
    return on_refund_event(ctx, w, 1);
}

int refund_on_failed(job_ctx_t *ctx, const webhook_t *w)
{
    return on_refund_event(ctx, w, 0);
}

/* ---- reading ---------------------------------------------------------------------- */

static const char *const refund_statuses[] = {"queued", "pending", "processed", "failed", NULL};

int payment_refund_list(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char status[16], payment[37];
    answer_page_t page;
    int rc;
    if ((rc = input_choice(ctx, query, "status", IN_OPTIONAL, refund_statuses, status,
                           sizeof status, NULL)) ||
        (rc = input_uuid(ctx, query, "payment_id", IN_OPTIONAL, payment, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {status[0] ? status : NULL, payment[0] ? payment : NULL, page.page,
                            page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT r FROM refunds r WHERE ($1::text IS NULL OR r.status = $1) "
        "  AND ($2::uuid IS NULL OR r.payment_id = $2::uuid)), "
        "page AS (SELECT r FROM hits ORDER BY (r).created_at DESC, (r).id "
        "  LIMIT $4::bigint OFFSET $5::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_refund_json(r) "
        "  ORDER BY (r).created_at DESC, (r).id), '[]') FROM page), "
        "'pagination', mandi_pagination($3::bigint, $4::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        5, params, REFUND_NOT_FOUND);
}

int payment_refund_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    return rc ? rc : answer_refund(ctx, 200, id);
}
