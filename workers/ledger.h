/*
 * ledger - posting money movements to the double-entry ledger
 * (sql/014_ledger.sql) inside the job's transaction.
 *
 * Any pool that moves money posts through here, in the same transaction as
 * the change the money is for (an order confirmed, a refund on
 * cancellation), so the two commit together or not at all.
 */
#ifndef MANDI_LEDGER_H
#define MANDI_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "worker.h"

/* Account codes of the platform's side. */
#define LEDGER_RAZORPAY_CLEARING  "platform:razorpay_clearing"
#define LEDGER_ORDERS             "platform:orders"
#define LEDGER_PAYOUTS_IN_TRANSIT "platform:payouts_in_transit"
#define LEDGER_REVENUE            "platform:revenue"
#define LEDGER_CASHBACK_EXPENSE   "platform:cashback_expense"
#define LEDGER_ADJUSTMENTS        "platform:adjustments"
#define LEDGER_REFUNDS_PENDING    "platform:refunds_pending"
#define LEDGER_BOOST_SALES        "platform:boost_sales"
/* Paid out of the RazorpayX account (sql/019_payout_process.sql). */
#define LEDGER_RAZORPAYX "platform:razorpayx"

/* A wallet's account code: "wallet:" and the user id. */
#define LEDGER_CODE_SIZE 48

typedef struct {
    const char *account; /* an account code */
    int64_t amount;      /* paise: > 0 raises the account's balance, < 0 lowers it */
} ledger_leg_t;

/* Makes sure user's wallet exists and writes its account code. Returns 0
 * or the status answered. */
int ledger_wallet(job_ctx_t *ctx, const char *user, char code[LEDGER_CODE_SIZE]);

/* Posts one entry of n legs (summing to zero) for source and reference.
 * Answers 422 INSUFFICIENT_BALANCE when a wallet would go below zero (the
 * job's transaction is then spoilt: the job must fail, which rolls back
 * everything it did). Returns 0 or the status answered. */
int ledger_post(job_ctx_t *ctx, const char *source, const char *reference, const char *memo,
                const ledger_leg_t *legs, size_t n);

/* 1 when (source, reference) has been posted, 0 when not, or the status
 * answered on a database failure (> 1). */
int ledger_posted(job_ctx_t *ctx, const char *source, const char *reference);

#endif
