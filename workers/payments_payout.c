/*
 * payments_payout - withdrawals from a wallet.
 *
 * A request moves the amount from the wallet to payouts in transit at
 * once, so the money cannot be spent twice while it waits; cancelling (by
 * the user, while requested) or rejecting (by finance) moves it back. Each
 * move is a ledger entry referenced by the payout and what happened to it,
 * so none is posted twice. A user's requests queue on their wallet's row,
 * which keeps the daily limit exact.
 *
 * Finance processes a requested payout through RazorpayX (a contact, a
 * fund account, then the payout under the payout's own id as its
 * idempotency key); Razorpay's webhooks then settle it: processed (the
 * money has left through the RazorpayX account), or reversed or failed
 * (it comes back to the wallet).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "config.h"
#include "input.h"
#include "ledger.h"
#include "payments.h"
#include "uuid.h"

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
                                 "SELECT user_id, amount_paise, status, process_in_doubt "
                                 "FROM payouts "
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
    int in_doubt = PQgetvalue(res, 0, 3)[0] == 't';
    if (!requested)
        job_fail(ctx, 409, "PAYOUT_NOT_REQUESTED", "the payout is %s; only a requested one can",
                 PQgetvalue(res, 0, 2));
    else if (in_doubt)
        job_fail(ctx, 409, "PAYOUT_IN_DOUBT",
                 "RazorpayX may hold this payout (a process got no answer): process it again to "
                 "learn its state");
    PQclear(res);
    return requested && !in_doubt ? 0 : 409;
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

/* ---- settling: the one state machine of a payout after it is sent --------- */

/*
 * What Razorpay's final word does to a payout, by the status we hold. The
 * RazorpayX payout life cycle is processing (or queued first) -> processed,
 * reversed or failed; and a processed payout may still be reversed later,
 * when the beneficiary's bank sends the money back (the reversal returns it
 * to the RazorpayX account). So:
 *
 *   processing + processed -> processed: in transit -> RazorpayX (it left)
 *   processing + reversed  -> reversed:  in transit -> wallet
 *   processing + failed    -> failed:    in transit -> wallet
 *   processed  + reversed  -> reversed:  RazorpayX  -> wallet (it came back)
 *
 * Anything else changes nothing: processed after processed (a redelivery),
 * failed after processed (Razorpay does not fail what it processed), any
 * event after reversed, failed, cancelled or rejected. A payout reaches
 * reversed at most once, so its "<id>:reversed" entry is posted once either
 * way. NULL in a leg stands for the user's wallet.
 */
static const struct {
    const char *from;
    const char *to;
    const char *out_of;
    const char *into;
} payout_moves[] = {
    {"processing", "processed", LEDGER_PAYOUTS_IN_TRANSIT, LEDGER_RAZORPAYX},
    {"processing", "reversed", LEDGER_PAYOUTS_IN_TRANSIT, NULL},
    {"processing", "failed", LEDGER_PAYOUTS_IN_TRANSIT, NULL},
    {"processed", "reversed", LEDGER_RAZORPAYX, NULL},
};

/* The move from status `from` on Razorpay's status `to`, or -1 for none. */
static int payout_move(const char *from, const char *to)
{
    for (size_t i = 0; i < sizeof payout_moves / sizeof payout_moves[0]; i++)
        if (strcmp(payout_moves[i].from, from) == 0 && strcmp(payout_moves[i].to, to) == 0)
            return (int)i;
    return -1;
}

/* The payout row as processing and settling need it, locked. */
typedef struct {
    char id[37], user[37];
    int64_t amount;
    char status[16], mode[16];
    char vpa[257 * 4], number[19 * 4], ifsc[12 * 4], holder[101 * 4];
    char contact[65], fund_account[65], rzp_payout[65];
    char user_name[256 * 4];
} payout_row_t;

/* Locks payout id, or (when id is NULL) the payout Razorpay knows as
 * rzp_id or by our reference: the webhook of a payout whose process is
 * still in flight finds the row by its reference and waits for its lock,
 * then sees what the process committed. Answers 404 when there is none. */
static int lock_payout(job_ctx_t *ctx, const char *id, const char *rzp_id, payout_row_t *p)
{
    const char *params[] = {id, rzp_id};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT p.id, p.user_id, p.amount_paise, p.status, p.mode, "
        "  coalesce(p.destination->>'address', ''), coalesce(p.destination->>'account_number', "
        "''), "
        "  coalesce(p.destination->>'ifsc', ''), coalesce(p.destination->>'name', ''), "
        "  coalesce(p.razorpay_contact_id, ''), coalesce(p.razorpay_fund_account_id, ''), "
        "  coalesce(p.razorpay_payout_id, ''), coalesce(u.name, '') "
        "FROM payouts p JOIN users u ON u.id = p.user_id "
        "WHERE p.id = $1::uuid OR p.razorpay_payout_id = $2 "
        "ORDER BY p.id = $1::uuid DESC LIMIT 1 FOR UPDATE OF p",
        2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, PAYOUT_NOT_FOUND);
    }
    char *fields[] = {p->id,           p->user,       NULL,        p->status, p->mode,
                      p->vpa,          p->number,     p->ifsc,     p->holder, p->contact,
                      p->fund_account, p->rzp_payout, p->user_name};
    size_t caps[] = {sizeof p->id,       sizeof p->user,         0,
                     sizeof p->status,   sizeof p->mode,         sizeof p->vpa,
                     sizeof p->number,   sizeof p->ifsc,         sizeof p->holder,
                     sizeof p->contact,  sizeof p->fund_account, sizeof p->rzp_payout,
                     sizeof p->user_name};
    for (int i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++)
        if (fields[i])
            snprintf(fields[i], caps[i], "%s", PQgetvalue(res, 0, i));
    p->amount = atoll(PQgetvalue(res, 0, 2));
    PQclear(res);
    return 0;
}

/* Writes the payout's event (topic "payout.<status>") to the outbox. */
static int payout_event(job_ctx_t *ctx, const char *id, const char *status)
{
    char topic[32];
    snprintf(topic, sizeof topic, "payout.%s", status);
    const char *params[] = {id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT mandi_payout_json(p)::text FROM payouts p "
                                 "WHERE id = $1::uuid",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int rc = job_event_json(ctx, topic, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc < 0 ? job_fail(ctx, 503, "DB_UNAVAILABLE", "the payout event could not be recorded")
                  : 0;
}

/* Applies move m to the locked payout p: its status (and reason, for money
 * that came back), its ledger entry "<id>:<status>" and its event, in the
 * job's transaction. */
static int payout_apply(job_ctx_t *ctx, const payout_row_t *p, int m, const char *reason)
{
    const char *to = payout_moves[m].to;
    char wallet[LEDGER_CODE_SIZE], reference[64];
    int rc;
    if ((rc = ledger_wallet(ctx, p->user, wallet)))
        return rc;
    const char *params[] = {p->id, to, reason && reason[0] ? reason : NULL};
    if ((rc = answer_exec(ctx,
                          "UPDATE payouts SET status = $2, reason = coalesce($3, reason), "
                          "processed_at = CASE WHEN $2 = 'processed' THEN now() "
                          "ELSE processed_at END, updated_at = now() WHERE id = $1::uuid",
                          3, params)))
        return rc;
    const char *out_of = payout_moves[m].out_of ? payout_moves[m].out_of : wallet;
    const char *into = payout_moves[m].into ? payout_moves[m].into : wallet;
    ledger_leg_t legs[] = {{out_of, -p->amount}, {into, p->amount}};
    char memo[64];
    snprintf(memo, sizeof memo, "payout %s", to);
    snprintf(reference, sizeof reference, "%s:%s", p->id, to);
    if ((rc = ledger_post(ctx, "payout", reference, memo, legs, 2)))
        return rc;
    return payout_event(ctx, p->id, to);
}

/* A string of the payout entity at path (two keys at most), "" if absent. */
static void entity_str(const msgpack_object *entity, const char *key, const char *sub, char *out,
                       size_t cap)
{
    const msgpack_object *o = mp_get(entity, key);
    if (sub)
        o = mp_get(o, sub);
    if (mp_copy_str(o, out, cap) < 0)
        out[0] = '\0';
}

/* Why Razorpay says the money came back: status_details.description, or
 * the older failure_reason. */
static void entity_reason(const msgpack_object *entity, const char *status, char *out, size_t cap)
{
    entity_str(entity, "status_details", "description", out, cap);
    if (!out[0])
        entity_str(entity, "failure_reason", NULL, out, cap);
    if (!out[0])
        snprintf(out, cap, "RazorpayX %s the payout", status);
}

int payout_on_webhook(job_ctx_t *ctx, const webhook_t *w)
{
    const msgpack_object *entity = mp_get(mp_get(mp_get(w->body, "payload"), "payout"), "entity");
    const char *to = w->event + strlen("payout.");
    char reference[65], reason[256];
    int64_t amount = 0;
    entity_str(entity, "reference_id", NULL, reference, sizeof reference);
    if (strncmp(w->payout, "pout_", 5) != 0 || mp_get_i64(mp_get(entity, "amount"), &amount) < 0)
        return job_fail(ctx, 400, "VALIDATION_ERROR", "the event carries no payout");
    /* Our reference is the payout's id; anything else is not ours to find by. */
    payout_row_t p;
    int rc = lock_payout(ctx, uuid_valid(reference) ? reference : NULL, w->payout, &p);
    if (rc)
        return rc;
    if ((p.rzp_payout[0] && strcmp(p.rzp_payout, w->payout) != 0) || amount != p.amount)
        return job_fail(ctx, 409, "PAYOUT_MISMATCH",
                        "the event's payout or amount is not that of payout %s", p.id);
    /* Sent, but the process never learnt Razorpay's answer (it failed after
     * Razorpay made the payout): the event links it now. */
    if (!p.rzp_payout[0] && strcmp(p.status, "requested") == 0) {
        const char *params[] = {p.id, w->payout};
        if ((rc = answer_exec(ctx,
                              "UPDATE payouts SET status = 'processing', razorpay_payout_id = $2, "
                              "updated_at = now() WHERE id = $1::uuid",
                              2, params)))
            return rc;
        snprintf(p.status, sizeof p.status, "processing");
    }
    int m = payout_move(p.status, to);
    if (m < 0) {
        snprintf(w->outcome, WEBHOOK_OUTCOME_SIZE, "ignored: the payout is %s", p.status);
        return 0;
    }
    reason[0] = '\0';
    if (strcmp(to, "processed") != 0)
        entity_reason(entity, to, reason, sizeof reason);
    return payout_apply(ctx, &p, m, reason);
}

/* ---- processing through RazorpayX ------------------------------------------ */

#define PAYOUT_NARRATION "Mandi wallet withdrawal"

/* Razorpay's names take letters, digits, space and - _ / ( ) , . only and
 * must not end in one of those signs but '.': keeps what it takes of in,
 * with runs of spaces made one, cut to longest bytes. Returns 0, or -1
 * when fewer than 3 characters are left. */
static int razorpay_name(const char *in, char *out, size_t longest)
{
    size_t n = 0;
    for (const char *s = in; *s && n < longest; s++) {
        unsigned char ch = (unsigned char)*s;
        int keep = ch < 0x80 && (isalnum(ch) || strchr("-_/(),.", ch) ||
                                 (ch == ' ' && n > 0 && out[n - 1] != ' '));
        if (keep)
            out[n++] = (char)ch;
    }
    while (n > 0 && !isalnum((unsigned char)out[n - 1]) && out[n - 1] != '.')
        n--;
    out[n] = '\0';
    return n >= 3 ? 0 : -1;
}

/* The id of the entity Razorpay answered, checked to be of kind prefix. */
static int answered_id(job_ctx_t *ctx, const razorpay_result_t *res, const char *prefix,
                       char id[64], char status[32], int64_t *amount)
{
    char ignored[64];
    int rc = payments_entity_fields(ctx, res->body.data, id, ignored, status, amount);
    if (rc)
        return rc;
    if (strncmp(id, prefix, strlen(prefix)) != 0)
        return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR", "Razorpay answered no %s id", prefix);
    return 0;
}

/* Makes sure p has a RazorpayX contact and a fund account for its
 * destination, writing them to the row. A user's contact is reused from
 * their earlier payouts; either call answered the same for the same
 * details (Razorpay dedupes them), so a retried one is harmless. */
static int ensure_fund_account(job_ctx_t *ctx, razorpay_t *rzp, payout_row_t *p)
{
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    char status[32], id[64];
    int64_t ignored = 0;
    int rc;
    if (p->fund_account[0])
        return 0;
    if (!p->contact[0]) {
        const char *params[] = {p->user};
        PGresult *found = PQexecParams(ctx->db,
                                       "SELECT razorpay_contact_id FROM payouts "
                                       "WHERE user_id = $1::uuid AND razorpay_contact_id IS NOT "
                                       "NULL ORDER BY updated_at DESC LIMIT 1",
                                       1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(found) != PGRES_TUPLES_OK)
            return answer_db_failed(ctx, found);
        if (PQntuples(found) == 1)
            snprintf(p->contact, sizeof p->contact, "%s", PQgetvalue(found, 0, 0));
        PQclear(found);
    }
    if (!p->contact[0]) {
        char name[51];
        /* The contact is the user; a user with no usable name of their own
         * goes by the bank account's holder, else by their id. */
        if (razorpay_name(p->user_name, name, 50) < 0 && razorpay_name(p->holder, name, 50) < 0)
            snprintf(name, sizeof name, "Mandi user %.8s", p->user);
        const razorpay_contact_t contact = {
            .name = name, .type = "customer", .reference_id = p->user};
        if (razorpay_contact_create(rzp, &contact, &res) < 0)
            rc = payments_gateway_failed(ctx, &res);
        else
            rc = answered_id(ctx, &res, "cont_", id, status, &ignored);
        razorpay_result_free(&res);
        if (rc)
            return rc;
        snprintf(p->contact, sizeof p->contact, "%s", id);
    }
    razorpay_fund_account_t account = {.contact_id = p->contact, .account_type = p->mode};
    char holder[121];
    if (strcmp(p->mode, "vpa") == 0) {
        account.vpa = p->vpa;
    } else {
        if (razorpay_name(p->holder, holder, 120) < 0)
            return job_fail(ctx, 422, "PAYOUT_DESTINATION_INVALID",
                            "the bank account's name has too few letters for RazorpayX");
        account.name = holder;
        account.ifsc = p->ifsc;
        account.account_number = p->number;
    }
    if (razorpay_fund_account_create(rzp, &account, &res) < 0)
        rc = payments_gateway_failed(ctx, &res);
    else
        rc = answered_id(ctx, &res, "fa_", id, status, &ignored);
    razorpay_result_free(&res);
    if (rc)
        return rc;
    snprintf(p->fund_account, sizeof p->fund_account, "%s", id);
    const char *params[] = {p->id, p->contact, p->fund_account};
    return answer_exec(
        ctx,
        "UPDATE payouts SET razorpay_contact_id = $2, razorpay_fund_account_id = $3, "
        "updated_at = now() WHERE id = $1::uuid",
        3, params);
}

/* What a payout Razorpay answered with means for us: still on its way
 * (queued and pending ones wait for balance or approval), or ended. A
 * payout cancelled or rejected on RazorpayX's side never left: for the
 * wallet that is a failure. */
static const struct {
    const char *razorpay;
    const char *ours;
} payout_answers[] = {
    {"queued", "processing"},     {"pending", "processing"},  {"scheduled", "processing"},
    {"processing", "processing"}, {"processed", "processed"}, {"reversed", "reversed"},
    {"failed", "failed"},         {"cancelled", "failed"},    {"rejected", "failed"},
};

static const char *payout_answer(const char *razorpay)
{
    for (size_t i = 0; i < sizeof payout_answers / sizeof payout_answers[0]; i++)
        if (strcmp(payout_answers[i].razorpay, razorpay) == 0)
            return payout_answers[i].ours;
    return NULL;
}

/*
 * Sends a requested payout to RazorpayX. The row stays locked throughout,
 * so a second process waits and then finds it no longer requested. The
 * idempotency key is the payout's own id, so every attempt at it (a retry
 * inside the client, a job redelivered, finance pressing process again
 * after a 502) names the same payout to Razorpay, which makes it once. The
 * body must then be the same bytes too, which is why the fund account is
 * kept on the row even when the payout call fails: the failed job's other
 * writes roll back, that one commits (keep_writes).
 */
int payout_process(job_ctx_t *ctx)
{
    char id[37];
    payout_row_t p;
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)) ||
        (rc = lock_payout(ctx, id, NULL, &p)))
        return rc;
    if (strcmp(p.status, "requested") != 0)
        return job_fail(ctx, 409, "PAYOUT_NOT_REQUESTED",
                        "the payout is %s; only a requested one can be processed", p.status);
    razorpay_t *rzp = payments_gateway(ctx);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    if (!rzp)
        return payments_gateway_failed(ctx, &res);
    int had_fund_account = p.fund_account[0] != '\0';
    if ((rc = ensure_fund_account(ctx, rzp, &p)))
        return rc;
    const razorpay_payout_t payout = {
        .account_number = config_get("RAZORPAY_ACCOUNT_NUMBER"),
        .fund_account_id = p.fund_account,
        .amount_paise = p.amount,
        .mode = strcmp(p.mode, "vpa") == 0 ? "UPI" : "IMPS",
        .purpose = "payout",
        /* Short of RazorpayX balance, wait for it rather than fail. */
        .queue_if_low_balance = 1,
        .reference_id = p.id,
        .narration = PAYOUT_NARRATION,
    };
    char rzp_id[64], status[32];
    int64_t amount = 0;
    if (razorpay_payout_create(rzp, &payout, p.id, &res) < 0) {
        /* No answer or a 5xx: the payout may exist at RazorpayX. Giving the
         * money back now could pay it twice, so the row says so (and
         * commits with the failure); a later process clears it. */
        int in_doubt = razorpay_result_retryable(&res);
        rc = payments_gateway_failed(ctx, &res);
        razorpay_result_free(&res);
        const char *doubt[] = {p.id};
        if (in_doubt &&
            answer_exec(ctx,
                        "UPDATE payouts SET process_in_doubt = true, updated_at = now() "
                        "WHERE id = $1::uuid",
                        1, doubt) == 0)
            ctx->keep_writes = 1;
        else
            ctx->keep_writes = !had_fund_account;
        return rc;
    }
    rc = answered_id(ctx, &res, "pout_", rzp_id, status, &amount);
    razorpay_result_free(&res);
    if (rc)
        return rc;
    const char *ours = payout_answer(status);
    if (amount != p.amount || !ours)
        return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR",
                        "Razorpay's payout %s (%s, %lld paise) does not match ours", rzp_id, status,
                        (long long)amount);
    const char *params[] = {p.id, rzp_id};
    if ((rc = answer_exec(ctx,
                          "UPDATE payouts SET status = 'processing', razorpay_payout_id = $2, "
                          "process_in_doubt = false, updated_at = now() WHERE id = $1::uuid",
                          2, params)))
        return rc;
    snprintf(p.status, sizeof p.status, "processing");
    /* Razorpay may already have settled it (a retried key answers the
     * payout as it is now): settle ours the same way at once. */
    int m = payout_move("processing", ours);
    if (m >= 0) {
        char reason[64];
        snprintf(reason, sizeof reason, "RazorpayX %s the payout", status);
        if ((rc = payout_apply(ctx, &p, m, strcmp(ours, "processed") ? reason : NULL)))
            return rc;
    }
    char before[64], after[160];
    snprintf(before, sizeof before, "{\"status\": \"requested\"}");
    snprintf(after, sizeof after, "{\"status\": \"%s\", \"razorpay_payout_id\": \"%s\"}", ours,
             rzp_id);
    if ((rc = accounts_audit(ctx, "payout.process", "payout", p.id, before, after)))
        return rc;
    const char *pid[] = {p.id};
    return answer_json(ctx, 200, "SELECT mandi_payout_json(p)::text FROM payouts p WHERE id = $1",
                       1, pid, PAYOUT_NOT_FOUND);
}
