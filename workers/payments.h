/*
 * payments - the payments pool: wallets on the double-entry ledger,
 * Razorpay payments and webhooks, refunds, payouts and settlements.
 */
#ifndef MANDI_PAYMENTS_H
#define MANDI_PAYMENTS_H

#include <stdint.h>

#include "answer.h"
#include "ledger.h"
#include "mp.h"
#include "razorpay.h"
#include "worker.h"

extern const job_handler_t payments_jobs[];

int wallet_get(job_ctx_t *ctx);
int wallet_transactions(job_ctx_t *ctx);
int wallet_stats(job_ctx_t *ctx);
int wallet_adjust(job_ctx_t *ctx);

int payout_request(job_ctx_t *ctx);
int payout_list(job_ctx_t *ctx);
int payout_list_all(job_ctx_t *ctx);
int payout_cancel(job_ctx_t *ctx);
int payout_reject(job_ctx_t *ctx);
int payout_process(job_ctx_t *ctx);

int settlement_list(job_ctx_t *ctx);
int settlement_get(job_ctx_t *ctx);
int settlement_create(job_ctx_t *ctx);
int settlement_set_status(job_ctx_t *ctx);
int store_set_commission(job_ctx_t *ctx);

int payment_create_order(job_ctx_t *ctx);
int payment_verify(job_ctx_t *ctx);
int payment_webhook(job_ctx_t *ctx);

int payment_test_pay(job_ctx_t *ctx);

int payment_refund(job_ctx_t *ctx);
int payment_refund_send(job_ctx_t *ctx);
int payment_refund_list(job_ctx_t *ctx);
int payment_refund_get(job_ctx_t *ctx);

/* ---- called by the orders pool, in its transaction -------------------------- */

/* Opens the Razorpay payment of a checkout (the job's id) costing total,
 * for the app's Razorpay Checkout to pay; 422 below Razorpay's minimum. */
int payment_checkout_order(job_ctx_t *ctx, int64_t total);

/* Refunds up to amount of captured payment `payment` for cancelled order
 * `order`, once per order, through a payment.refund_send job committed
 * with the caller's work. Nothing when the payment is not captured or
 * nothing is left of it. Returns 0 or the status answered. */
int refund_for_order(job_ctx_t *ctx, const char *payment, const char *order, int64_t amount,
                     const char *reason);
int payment_reconcile(job_ctx_t *ctx);
int reconciliation_list(job_ctx_t *ctx);
int reconciliation_get(job_ctx_t *ctx);
int ledger_check(job_ctx_t *ctx);

/* ---- shared within the pool ---------------------------------------------- */

/* The ledger account a captured payment's money goes into, by purpose: a
 * top-up's the payer's wallet, an order's the orders account (owed to
 * merchants), a boost's boost sales. A refund takes it back from there. */
int payment_purpose_account(job_ctx_t *ctx, const char *purpose, const char *user,
                            char code[LEDGER_CODE_SIZE]);

/* The worker's Razorpay client, made on first use; NULL (logged) when the
 * settings are unusable. */
razorpay_t *payments_gateway(job_ctx_t *ctx);

/* Answers 502 PAYMENT_GATEWAY_ERROR with res's reason. */
int payments_gateway_failed(job_ctx_t *ctx, const razorpay_result_t *res);

/* id, order_id, status and amount of a Razorpay entity's JSON text. */
int payments_entity_fields(job_ctx_t *ctx, const char *json, char id[64], char order[64],
                           char status[32], int64_t *amount);

/* Settles our payment as captured by Razorpay payment rzp_id, once. */
int payment_settle_captured(job_ctx_t *ctx, const char *payment, const char *rzp_id);

/* A verified webhook, as its actions see it: the ids and amount of the
 * entities it carries ("" and 0 when absent). */
typedef struct {
    const char *event;          /* e.g. "refund.processed" */
    const msgpack_object *body; /* the whole event */
    char payment[65];           /* payload.payment.entity.id */
    char order[65];             /* payload.payment.entity.order_id */
    int64_t payment_amount;     /* payload.payment.entity.amount */
    char refund[65];            /* payload.refund.entity.id */
    char payout[65];            /* payload.payout.entity.id */
    /* What the event did, recorded with it: "applied" unless an action
     * that found nothing to do writes why here (at most
     * WEBHOOK_OUTCOME_SIZE bytes with the NUL), e.g. "ignored: ...". */
    char *outcome;
} webhook_t;

#define WEBHOOK_OUTCOME_SIZE 128

/* What a webhook event does, inside its savepoint: 0, or the status of
 * job_fail (the event stays recorded with that outcome). */
typedef int (*webhook_action_fn)(job_ctx_t *ctx, const webhook_t *w);

int refund_on_processed(job_ctx_t *ctx, const webhook_t *w);
int refund_on_failed(job_ctx_t *ctx, const webhook_t *w);
/* payout.processed, payout.reversed and payout.failed: our payout moves to
 * that state once, with its ledger entry and event (payments_payout.c). */
int payout_on_webhook(job_ctx_t *ctx, const webhook_t *w);

#endif
