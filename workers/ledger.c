/*
 * ledger - posting to the double-entry ledger (see ledger.h).
 */
#include "ledger.h"

#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "buf.h"

int ledger_wallet(job_ctx_t *ctx, const char *user, char code[LEDGER_CODE_SIZE])
{
    const char *params[] = {user};
    PGresult *res = PQexecParams(ctx->db, "SELECT mandi_wallet_account($1::uuid)", 1, NULL, params,
                                 NULL, NULL, 0);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && state && strcmp(state, "23503") == 0) {
        PQclear(res);
        return job_fail(ctx, 404, "USER_NOT_FOUND", "the user does not exist");
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    snprintf(code, LEDGER_CODE_SIZE, "wallet:%s", user);
    return 0;
}

/* wallet.credited / wallet.debited for each wallet leg of entry, in the
 * entry's transaction: the owner's live stream and the notifications pool
 * learn of every movement of a wallet, whichever pool made it. */
static int wallet_events(job_ctx_t *ctx, const char *entry)
{
    const char *params[] = {entry};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT CASE WHEN p.amount_paise > 0 THEN 'wallet.credited' ELSE 'wallet.debited' END, "
        "jsonb_build_object('user_id', a.user_id, 'amount_paise', abs(p.amount_paise), "
        "'balance_paise', p.balance_after, 'currency', a.currency, 'source', e.source, "
        "'reference', e.reference, 'entry_id', e.id)::text "
        "FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id "
        "JOIN ledger_entries e ON e.id = p.entry_id "
        "WHERE p.entry_id = $1::bigint AND a.kind = 'wallet' ORDER BY p.id",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++)
        if (job_event_json(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                           (size_t)PQgetlength(res, i, 1)) < 0)
            rc = job_fail(ctx, 503, "DB_UNAVAILABLE", "the wallet event could not be recorded");
    PQclear(res);
    return rc;
}

int ledger_post(job_ctx_t *ctx, const char *source, const char *reference, const char *memo,
                const ledger_leg_t *legs, size_t n)
{
    /* The legs go as JSON; codes are "wallet:<uuid>" or "platform:<word>",
     * nothing that needs escaping. */
    buf_t json = BUF_INIT;
    buf_append_char(&json, '[');
    for (size_t i = 0; i < n; i++)
        buf_printf(&json, "%s{\"account\": \"%s\", \"amount\": %lld}", i ? ", " : "",
                   legs[i].account, (long long)legs[i].amount);
    buf_append_char(&json, ']');
    const char *params[] = {source, reference, memo,
                            ctx->job->user_id[0] ? ctx->job->user_id : NULL, json.data};
    PGresult *res =
        PQexecParams(ctx->db, "SELECT mandi_ledger_post($1, $2, $3, $4::uuid, $5::jsonb)", 5, NULL,
                     params, NULL, NULL, 0);
    buf_free(&json);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && constraint &&
        strcmp(constraint, "wallet_not_negative") == 0) {
        PQclear(res);
        return job_fail(ctx, 422, "INSUFFICIENT_BALANCE",
                        "the wallet's balance does not cover this amount");
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    char entry[24];
    snprintf(entry, sizeof entry, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    for (size_t i = 0; i < n; i++)
        if (strncmp(legs[i].account, "wallet:", 7) == 0)
            return wallet_events(ctx, entry);
    return 0;
}

int ledger_posted(job_ctx_t *ctx, const char *source, const char *reference)
{
    const char *params[] = {source, reference};
    PGresult *res =
        PQexecParams(ctx->db, "SELECT 1 FROM ledger_entries WHERE source = $1 AND reference = $2",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int posted = PQntuples(res) == 1;
    PQclear(res);
    return posted;
}
