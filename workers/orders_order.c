/*
 * orders_order - checkout, the order state machine, cancellation, reads.
 *
 * Checkout turns the caller's cart into one order per store, in one
 * transaction with everything it touches: the cart is validated, the
 * orders and their items (name, SKU and price copied) are written, the
 * stock is reserved through the catalog's stock_change (row locks, history,
 * stock events), the cart is emptied and order.created is recorded in the
 * outbox. A refusal anywhere rolls all of it back. The front's
 * Idempotency-Key makes a retried checkout answer the first one's orders.
 *
 * Status changes follow one table (transitions[]); each is recorded with
 * its actor and published as order.status_changed. Cancelling releases the
 * reserved stock. Who may act on an order: its owner (reads, early
 * cancellation) and staff within their reach: an admin, the merchant of its
 * store, a LOCATION_ADMIN of its zone; anyone else gets 404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "codec.h"
#include "config.h"
#include "input.h"
#include "ledger.h"
#include "mp.h"
#include "orders.h"
#include "payments.h"
#include "roles.h"

#define ORDER_NOT_FOUND "ORDER_NOT_FOUND", "the order does not exist"

/* ---- the state machine --------------------------------------------------- */

typedef struct {
    const char *from;
    const char *to;
    int owner_may; /* the customer may take this step (cancelling early) */
} transition_t;

/* clang-format off */
static const transition_t transitions[] = {
    {"PENDING",    "CONFIRMED",  0},
    {"PENDING",    "CANCELLED",  1},
    {"CONFIRMED",  "PROCESSING", 0},
    {"CONFIRMED",  "CANCELLED",  1},
    {"PROCESSING", "SHIPPED",    0},
    {"PROCESSING", "CANCELLED",  0},
    {"SHIPPED",    "DELIVERED",  0},
};
/* clang-format on */
#define TRANSITION_COUNT (sizeof transitions / sizeof transitions[0])

static const char *const statuses[] = {"PENDING",   "CONFIRMED", "PROCESSING", "SHIPPED",
                                       "DELIVERED", "CANCELLED", NULL};

static const transition_t *find_transition(const char *from, const char *to)
{
    for (size_t i = 0; i < TRANSITION_COUNT; i++)
        if (strcmp(transitions[i].from, from) == 0 && strcmp(transitions[i].to, to) == 0)
            return &transitions[i];
    return NULL;
}

/* 409 naming the steps allowed from `from` (for this caller). */
static int illegal_transition(job_ctx_t *ctx, const char *from, const char *to, int owner)
{
    job_fail(ctx, 409, "INVALID_STATUS_TRANSITION", "an order cannot go from %s to %s", from, to);
    buf_t details = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &details, buf_msgpack_write);
    uint32_t n = 0;
    for (size_t i = 0; i < TRANSITION_COUNT; i++)
        n += strcmp(transitions[i].from, from) == 0 && (!owner || transitions[i].owner_may);
    msgpack_pack_map(&pk, 3);
    mp_kv_str(&pk, "from", from);
    mp_kv_str(&pk, "to", to);
    mp_pack_cstr(&pk, "allowed");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < TRANSITION_COUNT; i++)
        if (strcmp(transitions[i].from, from) == 0 && (!owner || transitions[i].owner_may))
            mp_pack_cstr(&pk, transitions[i].to);
    job_fail_details(ctx, details.data, details.len);
    buf_free(&details);
    return 409;
}

/* ---- reach --------------------------------------------------------------- */

/* Statements about orders o take $1 caller, $2 role, $3 zones; STAFF_REACH
 * is true when the caller may manage o. */
#define STAFF_REACH                                                                                \
    "($2 IN ('ADMIN', 'SUPER_ADMIN') OR ($2 = 'MERCHANT' AND EXISTS (SELECT 1 FROM stores s "      \
    "  WHERE s.id = o.store_id AND s.owner_id = $1::uuid)) "                                       \
    "  OR ($2 = 'LOCATION_ADMIN' AND o.zone = ANY (string_to_array($3, ','))))"

enum { REACH_NONE, REACH_OWNER, REACH_STAFF };

typedef struct {
    char id[37], number[32], status[16], checkout[37], user[37], method[16];
    char paid_by[37]; /* the payment that paid it (Razorpay), "" if none */
    int64_t total;
    int reach;
} order_row_t;

/* Locks order id and says how the caller reaches it; REACH_NONE is
 * answered 404 (job_fail called, its status returned). */
static int lock_order(job_ctx_t *ctx, const char *id, order_row_t *o)
{
    const char *params[] = {ctx->job->user_id, ctx->job->role, ctx->job->zones, id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT o.number, o.status, " STAFF_REACH ", "
                                 "o.user_id = $1::uuid, o.checkout_id, o.user_id, "
                                 "o.payment_method, o.total_paise, coalesce(o.paid_by::text, '') "
                                 "FROM orders o WHERE o.id = $4::uuid FOR UPDATE OF o",
                                 4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    o->reach = REACH_NONE;
    if (PQntuples(res) == 1) {
        snprintf(o->id, sizeof o->id, "%s", id);
        snprintf(o->number, sizeof o->number, "%s", PQgetvalue(res, 0, 0));
        snprintf(o->status, sizeof o->status, "%s", PQgetvalue(res, 0, 1));
        snprintf(o->checkout, sizeof o->checkout, "%s", PQgetvalue(res, 0, 4));
        snprintf(o->user, sizeof o->user, "%s", PQgetvalue(res, 0, 5));
        snprintf(o->method, sizeof o->method, "%s", PQgetvalue(res, 0, 6));
        o->total = atoll(PQgetvalue(res, 0, 7));
        snprintf(o->paid_by, sizeof o->paid_by, "%s", PQgetvalue(res, 0, 8));
        o->reach = PQgetvalue(res, 0, 2)[0] == 't'   ? REACH_STAFF
                   : PQgetvalue(res, 0, 3)[0] == 't' ? REACH_OWNER
                                                     : REACH_NONE;
    }
    PQclear(res);
    return o->reach == REACH_NONE ? job_fail(ctx, 404, ORDER_NOT_FOUND) : 0;
}

/* The event names the store's owner as "merchant_id" (a store's owner
 * never changes) so that the merchant's event stream can pick it out
 * without a look-up per event. */
int order_event(job_ctx_t *ctx, const char *topic, const char *id, const char *extra)
{
    const char *params[] = {id, extra};
    return answer_event(ctx, topic,
                        "SELECT (mandi_order_json(o) - 'items' - 'address' || "
                        "jsonb_build_object('merchant_id', s.owner_id) || "
                        "coalesce($2::jsonb, '{}'))::text "
                        "FROM orders o JOIN stores s ON s.id = o.store_id WHERE o.id = $1",
                        2, params);
}

/* Gives back the stock an order reserved (not to products deleted since). */
static int release_stock(job_ctx_t *ctx, const order_row_t *o)
{
    const char *params[] = {o->id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT i.product_id, i.quantity FROM order_items i "
                                 "JOIN products p ON p.id = i.product_id "
                                 "WHERE i.order_id = $1 AND p.deleted_at IS NULL "
                                 "ORDER BY i.product_id, i.id",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    char reason[64];
    snprintf(reason, sizeof reason, "order %s cancelled", o->number);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        stock_change_t c;
        rc = stock_change(ctx, PQgetvalue(res, i, 0), atoll(PQgetvalue(res, i, 1)), 0, 0, reason,
                          &c);
    }
    PQclear(res);
    return rc;
}

/* Gives back the promotion uses of a checkout once all its orders are
 * cancelled (a checkout used each promotion once, whatever its orders). */
static int release_promotions(job_ctx_t *ctx, const order_row_t *o)
{
    const char *params[] = {o->checkout};
    return answer_exec(ctx,
                       "WITH gone AS (UPDATE promotion_redemptions r SET released_at = now() "
                       "  WHERE r.checkout_id = $1::uuid AND r.released_at IS NULL "
                       "  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.checkout_id = $1::uuid "
                       "                  AND o.status <> 'CANCELLED') "
                       "  RETURNING promotion_id) "
                       "UPDATE promotions p SET used_count = p.used_count - 1 FROM gone "
                       "WHERE p.id = gone.promotion_id",
                       1, params);
}

/* Gives a cancelled order's payment back, once: a wallet payment to the
 * wallet at once (the order id is the entry's reference), a Razorpay
 * payment through a refund that the payments pool sends to Razorpay. An
 * unpaid Razorpay order has nothing to give back; if its payment is
 * captured after all, settling it refunds the cancelled order. */
static int refund_payment(job_ctx_t *ctx, const order_row_t *o)
{
    char memo[64];
    snprintf(memo, sizeof memo, "order %s cancelled", o->number);
    if (strcmp(o->method, "razorpay") == 0)
        return o->paid_by[0] ? refund_for_order(ctx, o->paid_by, o->id, o->total, memo) : 0;
    if (strcmp(o->method, "wallet") != 0 || o->total == 0)
        return 0;
    int posted = ledger_posted(ctx, "refund", o->id);
    if (posted)
        return posted == 1 ? 0 : posted;
    char wallet[LEDGER_CODE_SIZE];
    int rc = ledger_wallet(ctx, o->user, wallet);
    if (rc)
        return rc;
    ledger_leg_t legs[] = {{wallet, o->total}, {LEDGER_ORDERS, -o->total}};
    return ledger_post(ctx, "refund", o->id, memo, legs, 2);
}

/* Moves a locked order to `to`, with the history row, the stock and
 * promotion uses given back on cancellation, and the event. */
static int step_order(job_ctx_t *ctx, const order_row_t *o, const char *to, const char *note)
{
    const transition_t *t = find_transition(o->status, to);
    if (!t || (o->reach == REACH_OWNER && !t->owner_may))
        return illegal_transition(ctx, o->status, to, o->reach == REACH_OWNER);
    int cancelling = strcmp(to, "CANCELLED") == 0;
    /* Cancellations of one checkout's orders queue, so the last of them
     * sees the others cancelled and gives the promotions back. */
    const char *checkout[] = {o->checkout};
    int rc = cancelling ? answer_exec(ctx,
                                      "SELECT pg_advisory_xact_lock(hashtext('mandi.checkout:' "
                                      "|| $1))",
                                      1, checkout)
                        : 0;
    if (rc)
        return rc;
    const char *params[] = {o->id,
                            to,
                            ctx->job->user_id[0] ? ctx->job->user_id
                                                 : NULL, /* none: a scheduled job */
                            ctx->job->role[0] ? ctx->job->role : NULL,
                            note,
                            cancelling ? note : NULL,
                            o->status};
    rc = answer_exec(ctx,
                     "WITH u AS (UPDATE orders SET status = $2, updated_at = now(), "
                     "  cancel_reason = coalesce($6, cancel_reason) WHERE id = $1::uuid "
                     "  RETURNING id) "
                     "INSERT INTO order_status_history (order_id, from_status, to_status, "
                     "actor_id, actor_role, note) SELECT id, $7, $2, $3::uuid, $4, $5 FROM u",
                     7, params);
    /* Promotions before stock: checkout locks them in that order too. */
    if (rc || (cancelling && ((rc = release_promotions(ctx, o)) || (rc = release_stock(ctx, o)) ||
                              (rc = refund_payment(ctx, o)))))
        return rc;
    char extra[64];
    snprintf(extra, sizeof extra, "{\"from\": \"%s\"}", o->status);
    return order_event(ctx, "order.status_changed", o->id, extra);
}

/* step_order, answered with the order and its history. */
static int move_order(job_ctx_t *ctx, const order_row_t *o, const char *to, const char *note)
{
    int rc = step_order(ctx, o, to, note);
    if (rc)
        return rc;
    const char *id[] = {o->id};
    return answer_json(ctx, 200,
                       "SELECT (mandi_order_json(o) || jsonb_build_object('history', "
                       "mandi_order_history_json(o.id)))::text FROM orders o WHERE o.id = $1",
                       1, id, ORDER_NOT_FOUND);
}

int order_set_status(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37], to[16], note[501 * 4];
    order_row_t o;
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)) ||
        (rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "status", IN_REQUIRED, statuses, to, sizeof to, NULL)) ||
        (rc = input_text(ctx, body, "note", IN_OPTIONAL, 1, 500, note, sizeof note, NULL)) ||
        (rc = lock_order(ctx, id, &o)))
        return rc;
    if (o.reach != REACH_STAFF) /* a customer's own order, but not theirs to move */
        return job_fail(ctx, 404, ORDER_NOT_FOUND);
    return move_order(ctx, &o, to, note[0] ? note : NULL);
}

int order_cancel(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37], reason[501 * 4];
    order_row_t o;
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)) ||
        (rc = input_body(ctx, &body)) ||
        (rc = input_text(ctx, body, "reason", IN_REQUIRED, 1, 500, reason, sizeof reason, NULL)) ||
        (rc = lock_order(ctx, id, &o)))
        return rc;
    return move_order(ctx, &o, "CANCELLED", reason);
}

/* Cancels razorpay orders still unpaid MANDI_UNPAID_ORDER_MINUTES after
 * checkout, giving their stock and promotion uses back, oldest first and
 * at most EXPIRE_BATCH per job (the answer says whether more wait). An
 * order locked right now (its payment being confirmed) is skipped, not
 * waited for: the next run looks at it again. */
#define EXPIRE_BATCH "100"

int order_expire_unpaid(job_ctx_t *ctx)
{
    char minutes[24];
    snprintf(minutes, sizeof minutes, "%ld", config_get_long("MANDI_UNPAID_ORDER_MINUTES"));
    const char *params[] = {minutes, EXPIRE_BATCH};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT id, number, checkout_id FROM orders "
                                 "WHERE status = 'PENDING' AND payment_method = 'razorpay' "
                                 "AND created_at < now() - $1::int * interval '1 minute' "
                                 "ORDER BY created_at, id LIMIT $2::int FOR UPDATE SKIP LOCKED",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int n = PQntuples(res), rc = 0;
    buf_t numbers = BUF_INIT;
    buf_append_char(&numbers, '{');
    for (int i = 0; i < n && !rc; i++) {
        order_row_t o = {.reach = REACH_STAFF};
        snprintf(o.id, sizeof o.id, "%s", PQgetvalue(res, i, 0));
        snprintf(o.number, sizeof o.number, "%s", PQgetvalue(res, i, 1));
        snprintf(o.checkout, sizeof o.checkout, "%s", PQgetvalue(res, i, 2));
        snprintf(o.status, sizeof o.status, "PENDING");
        rc = step_order(ctx, &o, "CANCELLED", "not paid in time");
        buf_printf(&numbers, "%s%s", i ? "," : "", o.number);
    }
    buf_append_char(&numbers, '}');
    PQclear(res);
    if (!rc) {
        const char *answer[] = {numbers.data, n == atoi(EXPIRE_BATCH) ? "true" : "false"};
        rc = answer_json(ctx, 200,
                         "SELECT jsonb_build_object('cancelled', cardinality($1::text[]), "
                         "'orders', to_jsonb($1::text[]), 'more', $2::boolean)::text",
                         2, answer, ORDER_NOT_FOUND);
    }
    buf_free(&numbers);
    return rc;
}

/* ---- checkout ------------------------------------------------------------ */

static const char *const methods[] = {"wallet", "razorpay", "cod", NULL};

static int pay_from_wallet(job_ctx_t *ctx, int64_t total);

/* How each payment method is taken at checkout. */
typedef struct {
    const char *method;
    const char *status; /* the orders' first status */
    const char *note;   /* the first history row's */
    /* Takes or opens the payment of the checkout's total; NULL: paid on
     * delivery. */
    int (*pay)(job_ctx_t *ctx, int64_t total);
    /* pay runs before promotions and stock are locked (it waits on a
     * third party), else after the orders are placed (it must see them). */
    int before_locks;
} payment_way_t;

static const payment_way_t ways[] = {
    {"cod", "CONFIRMED", "cash on delivery: confirmed at checkout", NULL, 0},
    {"wallet", "CONFIRMED", "paid from the wallet at checkout", pay_from_wallet, 0},
    {"razorpay", "PENDING", "waiting for payment through Razorpay", payment_checkout_order, 1},
};

static const payment_way_t *find_way(const char *method)
{
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++)
        if (strcmp(ways[i].method, method) == 0)
            return &ways[i];
    return NULL;
}

/* Pays a checkout's orders from the caller's wallet, in the checkout's
 * transaction: the orders and the debit commit together or not at all. */
static int pay_from_wallet(job_ctx_t *ctx, int64_t total)
{
    char wallet[LEDGER_CODE_SIZE];
    int rc = ledger_wallet(ctx, ctx->job->user_id, wallet);
    if (rc || total == 0)
        return rc;
    ledger_leg_t legs[] = {{wallet, -total}, {LEDGER_ORDERS, total}};
    return ledger_post(ctx, "order", ctx->job->id, "checkout", legs, 2);
}

/* The placed orders cost what was paid or opened for: prices read again
 * by the insert may have moved since (a merchant's edit in between). */
static int check_placed_total(job_ctx_t *ctx, int64_t total)
{
    const char *checkout[] = {ctx->job->id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT coalesce(sum(total_paise), 0) FROM orders "
                                 "WHERE checkout_id = $1",
                                 1, NULL, checkout, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int64_t placed = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return placed == total ? 0
                           : job_fail(ctx, 409, "PRICE_CHANGED",
                                      "prices changed during the checkout; look at the cart and "
                                      "check out again");
}

/* Runs the cart's validation (orders_cart.c); a blocking problem refuses
 * the checkout with the problems as details: 409 OUT_OF_STOCK when only
 * stock is short (what a buyer who lost the last unit is told), else 409
 * CART_INVALID. */
static int check_cart(job_ctx_t *ctx, const char *address)
{
    buf_t problems = BUF_INIT, details = BUF_INIT;
    cart_verdict_t verdict = CART_BLOCKED;
    int rc = cart_problems(ctx, address, 0, &verdict, &problems);
    if (!rc && verdict == CART_SHORT_OF_STOCK)
        rc = job_fail(ctx, 409, "OUT_OF_STOCK",
                      "the stock does not cover the cart; see details.problems");
    else if (!rc && verdict == CART_BLOCKED)
        rc = job_fail(ctx, 409, "CART_INVALID",
                      "the cart cannot be ordered as it is; see details.problems");
    if (rc == 409) {
        if (codec_json_to_msgpack(problems.data, problems.len, &details, NULL) == 0)
            job_fail_details(ctx, details.data, details.len);
    }
    buf_free(&problems);
    buf_free(&details);
    return rc;
}

/* Reserves the stock of every item of the checkout, in product order (the
 * same lock order for every checkout, so two cannot deadlock). */
static int reserve_stock(job_ctx_t *ctx, const char *checkout)
{
    const char *params[] = {checkout};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT i.product_id, i.quantity, o.number FROM order_items i "
                                 "JOIN orders o ON o.id = i.order_id WHERE o.checkout_id = $1 "
                                 "ORDER BY i.product_id, i.id",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        char reason[64];
        snprintf(reason, sizeof reason, "order %s", PQgetvalue(res, i, 2));
        stock_change_t c;
        rc = stock_change(ctx, PQgetvalue(res, i, 0), -atoll(PQgetvalue(res, i, 1)), 0, 0, reason,
                          &c);
    }
    PQclear(res);
    /* Another checkout took the stock after the validation read it: the
     * same answer as a shortfall seen by the validation (details kept). */
    if (rc == 409 && strcmp(ctx->error_code, "INSUFFICIENT_STOCK") == 0)
        snprintf(ctx->error_code, sizeof ctx->error_code, "OUT_OF_STOCK");
    return rc;
}

/* Prices the checkout with the cart's promotions and promotion_code (NULL
 * when none) attached as apply would attach it. The customer was shown the
 * attached promotions' discount, so one that can no longer be used refuses
 * the checkout instead of silently charging more; a named code that does
 * not apply is refused as apply refuses it. */
static int price_checkout(job_ctx_t *ctx, const char *code, pricing_t *pr)
{
    int rc;
    if ((rc = pricing_load_lines(ctx, pr)) ||
        (rc = pricing_load_offers(ctx, pr, OFFERS_ATTACHED, NULL)))
        return rc;
    size_t attached = pr->noffers;
    char named[37] = "";
    if (code) {
        if ((rc = pricing_load_offers(ctx, pr, OFFERS_CODE, code)))
            return rc;
        if (pr->noffers == attached)
            return job_fail(ctx, 422, "PROMOTION_NOT_FOUND", "no promotion has the code %s", code);
        if (pr->offers[attached].unusable[0])
            return offer_refuse(ctx, 422, "PROMOTION_UNAVAILABLE", &pr->offers[attached]);
        snprintf(named, sizeof named, "%s", pr->offers[attached].id);
        pricing_attach(pr, attached);
    }
    for (size_t i = 0; i < pr->noffers; i++)
        if (pr->offers[i].unusable[0])
            return offer_refuse(ctx, 409, "PROMOTION_UNAVAILABLE", &pr->offers[i]);
    if ((rc = pricing_stack(ctx, pr)))
        return rc;
    for (size_t i = 0; named[0] && i < pr->noffers; i++)
        if (strcmp(pr->offers[i].id, named) == 0 && pr->offers[i].discount == 0)
            return offer_refuse(ctx, 422, "PROMOTION_NOT_APPLICABLE", &pr->offers[i]);
    return 0;
}

static int offer_by_id(const void *a, const void *b)
{
    return strcmp((*(const offer_t *const *)a)->id, (*(const offer_t *const *)b)->id);
}

/* Counts one use of every promotion that gave a discount, in id order (the
 * lock order of every checkout). The conditional increment under the row
 * lock is what holds a usage limit against concurrent checkouts: the
 * checkout that finds the limit reached is refused with 409. */
static int redeem(job_ctx_t *ctx, pricing_t *pr)
{
    const offer_t **used = calloc(pr->noffers + 1, sizeof *used);
    size_t n = 0;
    if (!used)
        return job_fail(ctx, 503, "OUT_OF_MEMORY", "the promotions could not be redeemed");
    for (size_t i = 0; i < pr->noffers; i++)
        if (pr->offers[i].discount > 0)
            used[n++] = &pr->offers[i];
    qsort(used, n, sizeof *used, offer_by_id);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char amount[24];
        snprintf(amount, sizeof amount, "%lld", (long long)used[i]->discount);
        const char *params[] = {used[i]->id, ctx->job->user_id, ctx->job->id, amount};
        PGresult *res = PQexecParams(
            ctx->db,
            "WITH counted AS (UPDATE promotions SET used_count = used_count + 1 "
            "  WHERE id = $1::uuid AND deleted_at IS NULL AND is_active AND starts_at <= now() "
            "  AND now() < ends_at AND (usage_limit IS NULL OR used_count < usage_limit) "
            "  RETURNING id) "
            "INSERT INTO promotion_redemptions (promotion_id, user_id, checkout_id, "
            "discount_paise) SELECT id, $2::uuid, $3::uuid, $4::bigint FROM counted RETURNING 1",
            4, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = answer_db_failed(ctx, res);
            break;
        }
        int counted = PQntuples(res) == 1;
        PQclear(res);
        if (!counted) {
            offer_t gone = *used[i];
            snprintf(gone.unusable, sizeof gone.unusable, "exhausted");
            rc = offer_refuse(ctx, 409, "PROMOTION_UNAVAILABLE", &gone);
        }
    }
    free(used);
    return rc;
}

/* Each store's part of each promotion (docs/PROMOTIONS.md §6), as three
 * parallel PostgreSQL arrays: store ids, promotion ids, amounts. */
static void store_parts(const pricing_t *pr, buf_t *stores, buf_t *promos, buf_t *amounts)
{
    buf_append_char(stores, '{');
    buf_append_char(promos, '{');
    buf_append_char(amounts, '{');
    int first = 1;
    for (size_t i = 0; i < pr->noffers; i++)
        for (size_t l = 0; l < pr->nlines; l++) {
            /* The first line of each store sums the store's lines. */
            int seen = 0;
            for (size_t k = 0; k < l && !seen; k++)
                seen = strcmp(pr->lines[k].store_id, pr->lines[l].store_id) == 0;
            if (seen)
                continue;
            int64_t part = 0;
            for (size_t k = l; k < pr->nlines; k++)
                if (strcmp(pr->lines[k].store_id, pr->lines[l].store_id) == 0)
                    part += pr->shares[i * pr->nlines + k];
            if (part == 0)
                continue;
            const char *sep = first ? "" : ",";
            buf_printf(stores, "%s%s", sep, pr->lines[l].store_id);
            buf_printf(promos, "%s%s", sep, pr->offers[i].id);
            buf_printf(amounts, "%s%lld", sep, (long long)part);
            first = 0;
        }
    buf_append_char(stores, '}');
    buf_append_char(promos, '}');
    buf_append_char(amounts, '}');
}

/* Each store's part of the cart, priced as its order will be: the lines
 * for sale, each store's part of each promotion ($2-$4) and its delivery
 * fee ($5, waived from a store subtotal of $6 up, before discount, as the
 * cart shows it). Shared by the checkout's total and its orders, so the
 * two cannot disagree. */
#define CHECKOUT_PRICED_SQL                                                                        \
    "WITH lines AS (SELECT ci.product_id, ci.variant, ci.quantity, p.name, p.sku, "                \
    "  p.selling_price_paise AS price, p.store_id, s.zone "                                        \
    "  FROM cart_items ci JOIN products p ON p.id = ci.product_id "                                \
    "  JOIN stores s ON s.id = p.store_id WHERE ci.user_id = $1::uuid), "                          \
    "disc AS (SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::bigint[]) "                         \
    "  x(store_id, promotion_id, amount)), "                                                       \
    "priced AS (SELECT ps.store_id, ps.zone, ps.subtotal, d.discount, f.fee, "                     \
    "  ps.subtotal - d.discount + f.fee AS total "                                                 \
    "  FROM (SELECT store_id, zone, sum(price * quantity) AS subtotal FROM lines "                 \
    "        GROUP BY store_id, zone) ps, "                                                        \
    "  LATERAL (SELECT CASE WHEN ps.subtotal >= $6::bigint THEN 0 ELSE $5::bigint END "            \
    "           AS fee) f, "                                                                       \
    "  LATERAL (SELECT coalesce(sum(amount), 0) AS discount FROM disc "                            \
    "           WHERE disc.store_id = ps.store_id) d) "

/* One order per store of the cart: items copied, the promotions' parts and
 * the first history row, in the way's first status. */
static const char checkout_sql[] = CHECKOUT_PRICED_SQL
    ", made AS (INSERT INTO orders (checkout_id, user_id, store_id, zone, status, "
    "  payment_method, address, notes, subtotal_paise, discount_paise, delivery_fee_paise, "
    "  total_paise) "
    "  SELECT $7::uuid, $1::uuid, store_id, zone, $13, $8, "
    "  (SELECT mandi_address_json(a) FROM addresses a WHERE a.id = $9::uuid), $10, "
    "  subtotal, discount, fee, total FROM priced "
    "  RETURNING id, store_id), "
    "items AS (INSERT INTO order_items (order_id, product_id, name, sku, variant, "
    "  unit_price_paise, quantity, line_total_paise) "
    "  SELECT m.id, l.product_id, l.name, l.sku, nullif(l.variant, ''), l.price, l.quantity, "
    "  l.price * l.quantity FROM lines l JOIN made m ON m.store_id = l.store_id), "
    "parts AS (INSERT INTO order_promotions (order_id, promotion_id, code, discount_paise) "
    "  SELECT m.id, d.promotion_id, p.code, d.amount FROM disc d "
    "  JOIN made m ON m.store_id = d.store_id JOIN promotions p ON p.id = d.promotion_id) "
    "INSERT INTO order_status_history (order_id, from_status, to_status, actor_id, "
    "  actor_role, note) SELECT id, NULL, $13, $1::uuid, $11, $12 FROM made";

/* The priced checkout's parameters $1-$6 (see CHECKOUT_PRICED_SQL); the
 * caller frees the three buffers. */
typedef struct {
    char fee[24], free_from[24];
    buf_t stores, promos, amounts;
} checkout_prices_t;

static void checkout_prices(const pricing_t *pr, checkout_prices_t *cp)
{
    snprintf(cp->fee, sizeof cp->fee, "%ld", config_get_long("MANDI_DELIVERY_FEE_PAISE"));
    snprintf(cp->free_from, sizeof cp->free_from, "%ld",
             config_get_long("MANDI_FREE_DELIVERY_PAISE"));
    cp->stores = cp->promos = cp->amounts = (buf_t)BUF_INIT;
    store_parts(pr, &cp->stores, &cp->promos, &cp->amounts);
}

static void checkout_prices_free(checkout_prices_t *cp)
{
    buf_free(&cp->stores);
    buf_free(&cp->promos);
    buf_free(&cp->amounts);
}

/* What the checkout's orders will cost together, before anything is
 * locked: a Razorpay order for it is made while only the caller's cart is
 * held, not the stock of every product in it. */
static int checkout_total(job_ctx_t *ctx, const pricing_t *pr, int64_t *total)
{
    checkout_prices_t cp;
    checkout_prices(pr, &cp);
    const char *params[] = {ctx->job->user_id, cp.stores.data, cp.promos.data,
                            cp.amounts.data,   cp.fee,         cp.free_from};
    PGresult *res =
        PQexecParams(ctx->db, CHECKOUT_PRICED_SQL "SELECT coalesce(sum(total), 0) FROM priced", 6,
                     NULL, params, NULL, NULL, 0);
    checkout_prices_free(&cp);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    *total = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* Writes the orders of a priced checkout, reserves their stock, empties
 * the cart and records order.created for each. */
static int place_orders(job_ctx_t *ctx, const pricing_t *pr, const payment_way_t *way,
                        const char *address, const char *notes)
{
    checkout_prices_t cp;
    checkout_prices(pr, &cp);
    /* The checkout id is the job's: a redelivered job (already answered
     * from its record) never gets here twice. */
    const char *params[] = {
        ctx->job->user_id, cp.stores.data, cp.promos.data, cp.amounts.data, cp.fee,
        cp.free_from,      ctx->job->id,   way->method,    address,         notes,
        ctx->job->role,    way->note,      way->status};
    PGresult *res = PQexecParams(ctx->db, checkout_sql, 13, NULL, params, NULL, NULL, 0);
    checkout_prices_free(&cp);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    int rc;
    if ((rc = reserve_stock(ctx, ctx->job->id)))
        return rc;
    const char *owner[] = {ctx->job->user_id};
    if ((rc = answer_exec(ctx, "DELETE FROM cart_items WHERE user_id = $1", 1, owner)) ||
        (rc = answer_exec(ctx, "DELETE FROM cart_promotions WHERE user_id = $1", 1, owner)))
        return rc;
    const char *checkout[] = {ctx->job->id};
    res = PQexecParams(ctx->db, "SELECT id FROM orders WHERE checkout_id = $1 ORDER BY number", 1,
                       NULL, checkout, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    for (int i = 0; i < PQntuples(res) && !rc; i++)
        rc = order_event(ctx, "order.created", PQgetvalue(res, i, 0), NULL);
    PQclear(res);
    return rc;
}

int order_create(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char address[37], method[16], code[65], notes[501 * 4];
    int has_code, rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "address_id", IN_REQUIRED, address, NULL)) ||
        (rc = input_choice(ctx, body, "payment_method", IN_REQUIRED, methods, method, sizeof method,
                           NULL)) ||
        (rc = input_str(ctx, body, "promotion_code", IN_OPTIONAL, 1, 64, code, sizeof code,
                        &has_code)) ||
        (rc = input_text(ctx, body, "notes", IN_OPTIONAL, 1, 500, notes, sizeof notes, NULL)))
        return rc;
    const payment_way_t *way = find_way(method);
    /* The cart row's lock queues two checkouts of one user (and so keeps a
     * per-user promotion limit); then promotions, then stock are locked. */
    if ((rc = cart_open(ctx)) || (rc = check_cart(ctx, address)))
        return rc;
    pricing_t pr = {0};
    int64_t total = 0;
    if (!(rc = price_checkout(ctx, has_code == IN_PRESENT ? code : NULL, &pr)) &&
        !(rc = checkout_total(ctx, &pr, &total)) &&
        !(rc = way->pay && way->before_locks ? way->pay(ctx, total) : 0) &&
        !(rc = redeem(ctx, &pr)))
        rc = place_orders(ctx, &pr, way, address, notes[0] ? notes : NULL);
    pricing_free(&pr);
    if (!rc)
        rc = check_placed_total(ctx, total);
    if (!rc && way->pay && !way->before_locks)
        rc = way->pay(ctx, total);
    if (rc)
        return rc;
    /* A Razorpay checkout also answers what the app's Razorpay Checkout
     * needs to take the payment. */
    const char *params[] = {ctx->job->id, config_get("RAZORPAY_KEY_ID")};
    return answer_json(ctx, 201,
                       "SELECT (jsonb_build_object('checkout_id', $1::uuid, 'orders', "
                       "(SELECT jsonb_agg(mandi_order_json(o) ORDER BY o.number) FROM orders o "
                       " WHERE o.checkout_id = $1::uuid)) || coalesce((SELECT "
                       " jsonb_build_object('payment', jsonb_build_object('payment_id', p.id, "
                       " 'razorpay_order_id', p.razorpay_order_id, 'amount', p.amount_paise, "
                       " 'currency', p.currency, 'key_id', $2::text)) FROM payments p "
                       " WHERE p.id = $1::uuid), '{}'))::text",
                       2, params, ORDER_NOT_FOUND);
}

/* ---- reads --------------------------------------------------------------- */

int order_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, ctx->job->role, ctx->job->zones, id};
    return answer_json(ctx, 200,
                       "SELECT (mandi_order_json(o) || jsonb_build_object('history', "
                       "mandi_order_history_json(o.id)))::text FROM orders o "
                       "WHERE o.id = $4::uuid AND (o.user_id = $1::uuid OR " STAFF_REACH ")",
                       4, params, ORDER_NOT_FOUND);
}

/* The caller's view of orders: a customer sees its own; staff the orders
 * within reach, narrowed by the filters. */
int order_list(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char status[16], zone[65], store[37], user[37], from[11], to[11];
    answer_page_t page;
    int rc;
    if ((rc = input_choice(ctx, query, "status", IN_OPTIONAL, statuses, status, sizeof status,
                           NULL)) ||
        (rc = input_str(ctx, query, "zone", IN_OPTIONAL, 1, 64, zone, sizeof zone, NULL)) ||
        (rc = input_uuid(ctx, query, "store", IN_OPTIONAL, store, NULL)) ||
        (rc = input_uuid(ctx, query, "user", IN_OPTIONAL, user, NULL)) ||
        (rc = input_date_range(ctx, query, from, to)) || (rc = answer_read_page(ctx, &page)))
        return rc;
    int staff = permission_allows("orders.manage", ctx->job->role);
    const char *params[] = {ctx->job->user_id,
                            ctx->job->role,
                            ctx->job->zones,
                            staff ? "true" : "false",
                            status[0] ? status : NULL,
                            zone[0] ? zone : NULL,
                            store[0] ? store : NULL,
                            user[0] ? user : NULL,
                            from[0] ? from : NULL,
                            to[0] ? to : NULL,
                            page.page,
                            page.limit,
                            page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT o FROM orders o WHERE "
        "  (CASE WHEN $4::boolean THEN " STAFF_REACH " ELSE o.user_id = $1::uuid END) "
        "  AND ($5::text IS NULL OR o.status = $5) AND ($6::text IS NULL OR o.zone = $6) "
        "  AND ($7::uuid IS NULL OR o.store_id = $7::uuid) "
        "  AND ($8::uuid IS NULL OR o.user_id = $8::uuid) "
        "  AND ($9::date IS NULL OR o.created_at >= ($9::date::timestamp AT TIME ZONE "
        "'Asia/Kolkata')) "
        "  AND ($10::date IS NULL OR o.created_at < (($10::date + 1)::timestamp AT TIME ZONE "
        "      'Asia/Kolkata'))), "
        "page AS (SELECT o FROM hits ORDER BY (o).created_at DESC, (o).id "
        "  LIMIT $12::bigint OFFSET $13::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_order_json(o) "
        "  ORDER BY (o).created_at DESC, (o).id), '[]') FROM page), "
        "'pagination', mandi_pagination($11::bigint, $12::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        13, params, ORDER_NOT_FOUND);
}

int order_stats(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char from[11], to[11];
    int rc;
    if ((rc = input_date_range(ctx, query, from, to)))
        return rc;
    const char *params[] = {ctx->job->user_id, ctx->job->role, ctx->job->zones,
                            from[0] ? from : NULL, to[0] ? to : NULL};
    /* Counts and revenue (cancelled orders bring none) by status and by
     * day in India time, within the caller's reach. */
    return answer_json(
        ctx, 200,
        "WITH o AS (SELECT o.*, (o.created_at AT TIME ZONE 'Asia/Kolkata')::date AS day "
        "  FROM orders o WHERE " STAFF_REACH "  AND ($4::date IS NULL OR o.created_at >= "
        "($4::date::timestamp AT TIME ZONE 'Asia/Kolkata')) "
        "  AND ($5::date IS NULL OR o.created_at < (($5::date + 1)::timestamp AT TIME ZONE "
        "      'Asia/Kolkata'))) "
        "SELECT jsonb_build_object("
        "  'orders', (SELECT count(*) FROM o), "
        "  'revenue_paise', (SELECT coalesce(sum(total_paise), 0) FROM o "
        "    WHERE status <> 'CANCELLED'), "
        "  'by_status', (SELECT coalesce(jsonb_object_agg(status, jsonb_build_object('orders', "
        "    n, 'total_paise', t)), '{}') FROM (SELECT status, count(*) AS n, sum(total_paise) "
        "    AS t FROM o GROUP BY status) s), "
        "  'by_day', (SELECT coalesce(jsonb_agg(jsonb_build_object('day', day, 'orders', n, "
        "    'revenue_paise', r) ORDER BY day), '[]') FROM (SELECT day, count(*) AS n, "
        "    coalesce(sum(total_paise) FILTER (WHERE status <> 'CANCELLED'), 0) AS r "
        "    FROM o GROUP BY day) d))::text",
        5, params, ORDER_NOT_FOUND);
}
