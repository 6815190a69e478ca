/*
 * ledger_check - the ledger's invariants checked on demand (ledger.check):
 * what sql/014_ledger.sql and payment_settle_captured promise, verified
 * from the rows themselves.
 *
 * Read-only. Each check is one statement, so each sees one consistent
 * snapshot even while money moves; two checks may see different moments,
 * which is harmless since no check compares with another's result.
 */
#include <string.h>

#include "payments.h"

/* Enough to start looking; count says how many in all. */
#define OFFENDERS_MAX "50"

/* A check's answer from its offenders: `bad` selects (k, o), a sort key
 * and one offender as a JSON object. Selects whether none offends, and
 * {"name", "ok", "count", "offenders": the first OFFENDERS_MAX}. */
#define OFFENDERS(bad)                                                                             \
    "WITH bad AS (" bad ") "                                                                       \
    "SELECT count(*) = 0, jsonb_build_object('name', $1::text, 'ok', count(*) = 0, "               \
    "  'count', count(*), 'offenders', (SELECT coalesce(jsonb_agg(o ORDER BY k), '[]') "           \
    "  FROM (SELECT k, o FROM bad ORDER BY k LIMIT " OFFENDERS_MAX ") b))::text FROM bad"

/* Each account's stored balance beside the sum of its postings. */
#define ACCOUNT_SUMS                                                                               \
    "SELECT a.id AS k, a.code, a.kind, a.balance_paise, "                                          \
    "  coalesce((SELECT sum(p.amount_paise) FROM ledger_postings p "                               \
    "   WHERE p.account_id = a.id), 0) AS posted FROM ledger_accounts a"

static const struct {
    const char *name;
    const char *sql; /* $1 the name */
} checks[] = {
    /* The whole ledger: what one account gains another loses. */
    {"postings_sum_to_zero",
     OFFENDERS("SELECT 0 AS k, jsonb_build_object('sum_paise', s) AS o FROM "
               "(SELECT coalesce(sum(amount_paise), 0) AS s FROM ledger_postings) x "
               "WHERE s <> 0")},
    /* Every entry on its own, so two wrong entries cannot hide each other. */
    {"entries_balanced",
     OFFENDERS("SELECT entry_id AS k, jsonb_build_object('entry_id', entry_id, 'sum_paise', "
               "sum(amount_paise), 'postings', count(*)) AS o FROM ledger_postings "
               "GROUP BY entry_id HAVING sum(amount_paise) <> 0")},
    /* What the platform owes a user is never below zero, stored or posted. */
    {"wallets_not_negative",
     OFFENDERS("SELECT k, jsonb_build_object('account', code, 'balance_paise', balance_paise, "
               "'postings_sum_paise', posted) AS o FROM (" ACCOUNT_SUMS ") s "
               "WHERE kind = 'wallet' AND (balance_paise < 0 OR posted < 0)")},
    /* The balance kept on the row is only a cache of the postings. */
    {"balances_match_postings",
     OFFENDERS("SELECT k, jsonb_build_object('account', code, 'balance_paise', balance_paise, "
               "'postings_sum_paise', posted) AS o FROM (" ACCOUNT_SUMS ") s "
               "WHERE balance_paise <> posted")},
    /* A captured payment is credited once (payment_settle_captured posts
     * it as a top-up, an order payment or a boost sale under its id); one
     * not captured is credited never. */
    {"captured_payments_posted_once",
     OFFENDERS("SELECT p.id::text AS k, jsonb_build_object('payment_id', p.id, 'status', "
               "p.status, 'entries', n) AS o FROM payments p, LATERAL (SELECT count(*) AS n "
               "FROM ledger_entries e WHERE e.source IN ('topup', 'order', 'boost') "
               "AND e.reference = p.id::text) e "
               "WHERE (p.status = 'captured') <> (n = 1) OR n > 1")},
};

#define CHECK_COUNT (sizeof checks / sizeof checks[0])

int ledger_check(job_ctx_t *ctx)
{
    PGresult *res[CHECK_COUNT] = {0};
    int ok = 1, rc = 0;
    size_t ran = 0;
    for (; ran < CHECK_COUNT; ran++) {
        const char *params[] = {checks[ran].name};
        res[ran] = PQexecParams(ctx->db, checks[ran].sql, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res[ran]) != PGRES_TUPLES_OK || PQntuples(res[ran]) != 1) {
            rc = answer_db_failed(ctx, res[ran]);
            break;
        }
        ok &= strcmp(PQgetvalue(res[ran], 0, 0), "t") == 0;
    }
    if (!rc) {
        msgpack_pack_map(&ctx->body, 2);
        mp_pack_cstr(&ctx->body, "ok");
        ok ? msgpack_pack_true(&ctx->body) : msgpack_pack_false(&ctx->body);
        mp_pack_cstr(&ctx->body, "checks");
        msgpack_pack_array(&ctx->body, CHECK_COUNT);
        for (size_t i = 0; i < CHECK_COUNT && !rc; i++)
            rc = answer_pack_json(ctx, PQgetvalue(res[i], 0, 1), (size_t)PQgetlength(res[i], 0, 1));
    }
    /* answer_db_failed cleared the failed one. */
    for (size_t i = 0; i < ran; i++)
        PQclear(res[i]);
    return rc ? rc : 200;
}
