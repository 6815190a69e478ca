/*
 * payments - the pool's job table (see payments.h).
 */
#include "payments.h"

const job_handler_t payments_jobs[] = {
    {"wallet.get", wallet_get, JOB_TX},
    {"wallet.transactions", wallet_transactions, 0},
    {"wallet.stats", wallet_stats, 0},
    {"wallet.adjust", wallet_adjust, JOB_TX},
    {"payout.request", payout_request, JOB_TX},
    {"payout.list", payout_list, 0},
    {"payout.list_all", payout_list_all, 0},
    {"payout.cancel", payout_cancel, JOB_TX},
    {"payout.reject", payout_reject, JOB_TX},
    {"payout.process", payout_process, JOB_TX},
    {"settlement.list", settlement_list, 0},
    {"settlement.get", settlement_get, 0},
    {"settlement.create", settlement_create, JOB_TX},
    {"settlement.set_status", settlement_set_status, JOB_TX},
    {"store.set_commission", store_set_commission, JOB_TX},
    {"payment.create_order", payment_create_order, JOB_TX},
    {"payment.verify", payment_verify, JOB_TX},
    {"payment.webhook", payment_webhook, JOB_TX},
    {"payment.test_pay", payment_test_pay, 0},
    {"payment.refund", payment_refund, JOB_TX},
    {"payment.refund_send", payment_refund_send, JOB_TX},
    {"payment.refund_list", payment_refund_list, 0},
    {"payment.refund_get", payment_refund_get, 0},
    {"payment.reconcile", payment_reconcile, JOB_TX},
    {"reconciliation.list", reconciliation_list, 0},
    {"reconciliation.get", reconciliation_get, 0},
    {"ledger.check", ledger_check, 0},
    {NULL, NULL, 0},
};
