/*
 * payments_wallet - the caller's wallet and finance staff's adjustments.
 *
 * A wallet is a ledger account (sql/014_ledger.sql): its balance is the sum
 * of its postings and every movement is a balanced journal entry, so what
 * the apps show is read from the postings, never kept beside them.
 */
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "input.h"
#include "ledger.h"
#include "payments.h"

#define ADJUST_MAX 10000000000LL /* ₹10 crore either way */

int wallet_get(job_ctx_t *ctx)
{
    char code[LEDGER_CODE_SIZE];
    int rc = ledger_wallet(ctx, ctx->job->user_id, code);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id};
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('balance_paise', a.balance_paise, "
                       "'total_earned_paise', coalesce(sum(p.amount_paise) "
                       "  FILTER (WHERE p.amount_paise > 0), 0), "
                       "'total_spent_paise', coalesce(-sum(p.amount_paise) "
                       "  FILTER (WHERE p.amount_paise < 0), 0), "
                       "'currency', a.currency)::text FROM ledger_accounts a "
                       "LEFT JOIN ledger_postings p ON p.account_id = a.id "
                       "WHERE a.user_id = $1::uuid GROUP BY a.id",
                       1, params, "WALLET_NOT_FOUND", "the wallet does not exist");
}

static const char *const types[] = {"credit", "debit", NULL};
static const char *const sources[] = {"topup",  "order",  "refund",     "cashback", "referral",
                                      "payout", "reward", "adjustment", NULL};
static const char *const statuses[] = {"completed", NULL};

int wallet_transactions(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char type[8], source[16], status[16], from[11], to[11];
    answer_page_t page;
    int rc;
    if ((rc = input_choice(ctx, query, "type", IN_OPTIONAL, types, type, sizeof type, NULL)) ||
        (rc = input_choice(ctx, query, "source", IN_OPTIONAL, sources, source, sizeof source,
                           NULL)) ||
        (rc = input_choice(ctx, query, "status", IN_OPTIONAL, statuses, status, sizeof status,
                           NULL)) ||
        (rc = input_date_range(ctx, query, from, to)) || (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {ctx->job->user_id,
                            type[0] ? type : NULL,
                            source[0] ? source : NULL,
                            from[0] ? from : NULL,
                            to[0] ? to : NULL,
                            page.page,
                            page.limit,
                            page.offset};
    /* Every posting is completed once committed; status is accepted so
     * that pending movements (payouts on their way) can join the list. */
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT p, e FROM ledger_postings p "
        "  JOIN ledger_accounts a ON a.id = p.account_id "
        "  JOIN ledger_entries e ON e.id = p.entry_id WHERE a.user_id = $1::uuid "
        "  AND ($2::text IS NULL OR ($2 = 'credit') = (p.amount_paise > 0)) "
        "  AND ($3::text IS NULL OR e.source = $3) "
        "  AND ($4::date IS NULL OR e.created_at >= ($4::date::timestamp AT TIME ZONE "
        "'Asia/Kolkata')) "
        "  AND ($5::date IS NULL OR e.created_at < (($5::date + 1)::timestamp AT TIME ZONE "
        "      'Asia/Kolkata'))), "
        "page AS (SELECT p, e FROM hits ORDER BY (p).id DESC LIMIT $7::bigint OFFSET $8::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_wallet_txn_json(p, e) "
        "  ORDER BY (p).id DESC), '[]') FROM page), "
        "'pagination', mandi_pagination($6::bigint, $7::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        8, params, "WALLET_NOT_FOUND", "the wallet does not exist");
}

int wallet_stats(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id};
    /* Sums by type and source, and by month (India time). */
    return answer_json(
        ctx, 200,
        "WITH m AS (SELECT p.amount_paise AS amount, e.source, "
        "  to_char(e.created_at AT TIME ZONE 'Asia/Kolkata', 'YYYY-MM') AS month "
        "  FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id "
        "  JOIN ledger_entries e ON e.id = p.entry_id WHERE a.user_id = $1::uuid) "
        "SELECT jsonb_build_object("
        "  'credit_paise', (SELECT coalesce(sum(amount), 0) FROM m WHERE amount > 0), "
        "  'debit_paise', (SELECT coalesce(-sum(amount), 0) FROM m WHERE amount < 0), "
        "  'by_source', (SELECT coalesce(jsonb_object_agg(source, jsonb_build_object("
        "    'credit_paise', c, 'debit_paise', d, 'count', n)), '{}') FROM (SELECT source, "
        "    coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS c, "
        "    coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS d, count(*) AS n "
        "    FROM m GROUP BY source) s), "
        "  'by_month', (SELECT coalesce(jsonb_agg(jsonb_build_object('month', month, "
        "    'credit_paise', c, 'debit_paise', d, 'count', n) ORDER BY month), '[]') "
        "    FROM (SELECT month, coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS c, "
        "    coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS d, count(*) AS n "
        "    FROM m GROUP BY month) x))::text",
        1, params, "WALLET_NOT_FOUND", "the wallet does not exist");
}

int wallet_adjust(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char user[37], reason[501 * 4], code[LEDGER_CODE_SIZE];
    int64_t amount = 0;
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "user_id", IN_REQUIRED, user, NULL)) ||
        (rc = input_body(ctx, &body)) ||
        (rc =
             input_int(ctx, body, "amount", IN_REQUIRED, -ADJUST_MAX, ADJUST_MAX, &amount, NULL)) ||
        (rc = input_text(ctx, body, "reason", IN_REQUIRED, 3, 500, reason, sizeof reason, NULL)))
        return rc;
    if (amount == 0)
        return input_fail(ctx, "amount", "amount must not be 0");
    if ((rc = ledger_wallet(ctx, user, code)))
        return rc;
    /* The job id makes the entry's reference: a redelivered job posts once. */
    ledger_leg_t legs[] = {{code, amount}, {LEDGER_ADJUSTMENTS, -amount}};
    char after[64];
    snprintf(after, sizeof after, "{\"amount_paise\": %lld}", (long long)amount);
    if ((rc = ledger_post(ctx, "adjustment", ctx->job->id, reason, legs, 2)) ||
        (rc = accounts_audit(ctx, "wallet.adjust", "wallet", user, NULL, after)))
        return rc;
    const char *params[] = {user, ctx->job->id};
    return answer_json(ctx, 201,
                       "SELECT (mandi_wallet_txn_json(p, e) || jsonb_build_object('user_id', "
                       "$1::uuid))::text FROM ledger_entries e "
                       "JOIN ledger_postings p ON p.entry_id = e.id "
                       "JOIN ledger_accounts a ON a.id = p.account_id AND a.user_id = $1::uuid "
                       "WHERE e.source = 'adjustment' AND e.reference = $2",
                       2, params, "WALLET_NOT_FOUND", "the wallet does not exist");
}
