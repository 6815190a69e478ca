/*
 * payments - the payments pool: wallets on the double-entry ledger (and,
 * as the pool grows, Razorpay payments, refunds and payouts).
 */
#ifndef MANDI_PAYMENTS_H
#define MANDI_PAYMENTS_H

#include "answer.h"
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

int settlement_list(job_ctx_t *ctx);
int settlement_get(job_ctx_t *ctx);
int settlement_create(job_ctx_t *ctx);
int settlement_set_status(job_ctx_t *ctx);
int store_set_commission(job_ctx_t *ctx);

int payment_create_order(job_ctx_t *ctx);
int payment_verify(job_ctx_t *ctx);
int payment_webhook(job_ctx_t *ctx);

#endif
