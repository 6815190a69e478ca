/*
 * payments_payout - withdrawals from a wallet.
 *
 * A request moves the amount from the wallet to payouts in transit at
 * once, so the money cannot be spent twice while it waits; cancelling (by
 * the user, while requested) or rejecting (by finance) moves it back. Each
 * move is a ledger entry referenced by the payout and what happened to it,
 * so none is posted twice. A user's requests queue on their wallet's row,
 * which keeps the daily limit exact.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "input.h"
#include "ledger.h"
#include "payments.h"

#define PAYOUT_NOT_FOUND "PAYOUT_NOT_FOUND", "the payout does not exist"

/* ---- the destination ----------------------------------------------------- */

static int all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* An IFSC: four letters, a 0, six letters or digits. */
static int ifsc_valid(const char *s)
{
    if (strlen(s) != 11 || s[4] != '0')
        return 0;
    for (int i = 0; i < 11; i++)
        if (i < 4 ? !isupper((unsigned char)s[i]) : !isalnum((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A UPI address: handle@provider, letters, digits, '.', '-', '_'. */
static int vpa_valid(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || at - s > 256 || strchr(at + 1, '@') || strlen(at + 1) < 2 ||
        strlen(at + 1) > 64)
        return 0;
    for (const char *p = s; p < at; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            return 0;
    for (const char *p = at + 1; *p; p++)
        if (!isalpha((unsigned char)*p))
            return 0;
    return 1;
}

typedef struct {
    char mode[16];
    char vpa[257 * 4], number[19 * 4], ifsc[12 * 4], name[101 * 4];
} destination_t;

/* Reads exactly one of bank_account {account_number, ifsc, name} or vpa. */
static int read_destination(job_ctx_t *ctx, const msgpack_object *body, destination_t *d)
{
    const msgpack_object *bank;
    int has_vpa, has_bank, rc;
    memset(d, 0, sizeof *d);
    if ((rc = input_container(ctx, body, "bank_account", IN_OPTIONAL, MSGPACK_OBJECT_MAP, 10, &bank,
                              &has_bank)) ||
        (rc = input_str(ctx, body, "vpa", IN_OPTIONAL, 4, 300, d->vpa, sizeof d->vpa, &has_vpa)))
        return rc;
    if ((bank != NULL) == (has_vpa == IN_PRESENT))
        return input_fail(ctx, "bank_account", "give exactly one of bank_account and vpa");
    if (has_vpa == IN_PRESENT) {
        if (!vpa_valid(d->vpa))
            return input_fail(ctx, "vpa", "vpa must be a UPI address like name@bank");
        snprintf(d->mode, sizeof d->mode, "vpa");
        return 0;
    }
    if ((rc = input_str(ctx, bank, "account_number", IN_REQUIRED, 9, 18, d->number,
                        sizeof d->number, NULL)) ||
        (rc = input_str(ctx, bank, "ifsc", IN_REQUIRED, 11, 11, d->ifsc, sizeof d->ifsc, NULL)) ||
        (rc = input_str(ctx, bank, "name", IN_REQUIRED, 1, 100, d->name, sizeof d->name, NULL)))
        return rc;
    if (!all_digits(d->number, 9, 18))
        return input_fail(ctx, "account_number", "account_number must be 9 to 18 digits");
    for (char *p = d->ifsc; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (!ifsc_valid(d->ifsc))
        return input_fail(ctx, "ifsc", "ifsc must be 4 letters, 0, then 6 letters or digits");
    snprintf(d->mode, sizeof d->mode, "bank_account");
    return 0;
}

/* ---- requesting ------------------------------------------------------------ */

/* Locks the caller's wallet row (a user's payout requests queue on it) and
 * sums what the caller asked to withdraw today (India time), not counting
 * what came back. */
static int lock_wallet_today(job_ctx_t *ctx, const char *user, int64_t *today)
{
    const char *params[] = {user};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT (SELECT coalesce(sum(amount_paise), 0) FROM payouts WHERE user_id = $1::uuid "
        "  AND status NOT IN ('cancelled', 'rejected', 'failed', 'reversed') "
        "  AND created_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata') "
        "      AT TIME ZONE 'Asia/Kolkata') "
        "FROM ledger_accounts WHERE user_id = $1::uuid FOR UPDATE",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    *today = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int payout_request(job_ctx_t *ctx)
{
    const msgpack_object *body;
    destination_t d;
    char wallet[LEDGER_CODE_SIZE];
    int64_t amount = 0, today = 0;
    int64_t least = config_get_long("MANDI_PAYOUT_MIN_PAISE");
    int64_t daily = config_get_long("MANDI_PAYOUT_DAILY_PAISE");
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_int(ctx, body, "amount", IN_REQUIRED, 1, 10000000000LL, &amount, NULL)) ||
        (rc = read_destination(ctx, body, &d)))
        return rc;
    if (amount < least)
        return input_fail(ctx, "amount", "amount must be at least %lld paise", (long long)least);
    if ((rc = ledger_wallet(ctx, ctx->job->user_id, wallet)) ||
        (rc = lock_wallet_today(ctx, ctx->job->user_id, &today)))
        return rc;
    if (today + amount > daily) {
        job_fail(ctx, 422, "PAYOUT_LIMIT_REACHED",
                 "at most %lld paise may be withdrawn a day; %lld paise are left today",
                 (long long)daily, (long long)(today < daily ? daily - today : 0));
        return 422;
    }
    char amt[24];
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    /* The payout's id is the job's: a redelivered job never gets here twice. */
    const char *params[] = {ctx->job->id, ctx->job->user_id, amt,    d.mode,
                            d.vpa,        d.number,          d.ifsc, d.name};
    if ((rc = answer_exec(ctx,
                          "INSERT INTO payouts (id, user_id, amount_paise, mode, destination) "
                          "VALUES ($1::uuid, $2::uuid, $3::bigint, $4, CASE WHEN $4 = 'vpa' "
                          "THEN jsonb_build_object('address', $5::text) "
                          "ELSE jsonb_build_object('account_number', $6::text, 'ifsc', $7::text, "
                          "'name', $8::text) END)",
                          8, params)))
        return rc;
    ledger_leg_t legs[] = {{wallet, -amount}, {LEDGER_PAYOUTS_IN_TRANSIT, amount}};
    if ((rc = ledger_post(ctx, "payout", ctx->job->id, "withdrawal requested", legs, 2)))
        return rc;
    const char *id[] = {ctx->job->id};
    return answer_json(ctx, 201, "SELECT mandi_payout_json(p)::text FROM payouts p WHERE id = $1",
                       1, id, PAYOUT_NOT_FOUND);
}

/* ---- giving the money back ------------------------------------------------- */

/* Locks payout id (the caller's own unless staff) and checks it is still
 * requested; fills user and amount. */
static int lock_requested(job_ctx_t *ctx, const char *id, int staff, char user[37], int64_t *amount)
{
    const char *params[] = {id, staff ? NULL : ctx->job->user_id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT user_id, amount_paise, status FROM payouts "
                                 "WHERE id = $1::uuid AND ($2::uuid IS NULL OR user_id = $2::uuid) "
                                 "FOR UPDATE",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, PAYOUT_NOT_FOUND);
    }
    snprintf(user, 37, "%s", PQgetvalue(res, 0, 0));
    *amount = atoll(PQgetvalue(res, 0, 1));
    int requested = strcmp(PQgetvalue(res, 0, 2), "requested") == 0;
    if (!requested)
        job_fail(ctx, 409, "PAYOUT_NOT_REQUESTED", "the payout is %s; only a requested one can",
                 PQgetvalue(res, 0, 2));
    PQclear(res);
    return requested ? 0 : 409;
}

/* Moves a requested payout to status (cancelled or rejected) and its money
 * from payouts in transit back to the wallet. */
static int give_back(job_ctx_t *ctx, int staff, const char *status, const char *reason)
{
    char id[37], user[37], wallet[LEDGER_CODE_SIZE], reference[64];
    int64_t amount = 0;
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)) ||
        (rc = lock_requested(ctx, id, staff, user, &amount)) ||
        (rc = ledger_wallet(ctx, user, wallet)))
        return rc;
    const char *params[] = {id, status, reason};
    if ((rc = answer_exec(ctx,
                          "UPDATE payouts SET status = $2, reason = $3, updated_at = now() "
                          "WHERE id = $1::uuid",
                          3, params)))
        return rc;
    snprintf(reference, sizeof reference, "%s:%s", id, status);
    ledger_leg_t legs[] = {{LEDGER_PAYOUTS_IN_TRANSIT, -amount}, {wallet, amount}};
    if ((rc = ledger_post(ctx, "payout", reference, status, legs, 2)))
        return rc;
    const char *pid[] = {id};
    return answer_json(ctx, 200, "SELECT mandi_payout_json(p)::text FROM payouts p WHERE id = $1",
                       1, pid, PAYOUT_NOT_FOUND);
}

int payout_cancel(job_ctx_t *ctx)
{
    return give_back(ctx, 0, "cancelled", NULL);
}

int payout_reject(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char reason[501 * 4];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_text(ctx, body, "reason", IN_REQUIRED, 3, 500, reason, sizeof reason, NULL)))
        return rc;
    return give_back(ctx, 1, "rejected", reason);
}

/* ---- reading --------------------------------------------------------------- */

static const char *const payout_statuses[] = {"requested", "processing", "processed", "reversed",
                                              "failed",    "cancelled",  "rejected",  NULL};

/* The caller's payouts, or with all (finance) everyone's, by status and user. */
static int list_payouts(job_ctx_t *ctx, int all)
{
    const msgpack_object *query = input_query(ctx);
    char status[16], user[37];
    answer_page_t page;
    int rc;
    if ((rc = input_choice(ctx, query, "status", IN_OPTIONAL, payout_statuses, status,
                           sizeof status, NULL)) ||
        (rc = input_uuid(ctx, query, "user", IN_OPTIONAL, user, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {all ? (user[0] ? user : NULL) : ctx->job->user_id,
                            status[0] ? status : NULL, page.page, page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT p FROM payouts p WHERE ($1::uuid IS NULL OR p.user_id = $1::uuid) "
        "  AND ($2::text IS NULL OR p.status = $2)), "
        "page AS (SELECT p FROM hits ORDER BY (p).created_at DESC, (p).id "
        "  LIMIT $4::bigint OFFSET $5::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_payout_json(p) "
        "  ORDER BY (p).created_at DESC, (p).id), '[]') FROM page), "
        "'pagination', mandi_pagination($3::bigint, $4::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        5, params, PAYOUT_NOT_FOUND);
}

int payout_list(job_ctx_t *ctx)
{
    return list_payouts(ctx, 0);
}

int payout_list_all(job_ctx_t *ctx)
{
    return list_payouts(ctx, 1);
}
