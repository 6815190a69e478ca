/*
 * payments_settlement - what the platform owes each merchant.
 *
 * A settlement covers one store and a period of India dates: the orders
 * delivered in it and not settled before, their item value (subtotal:
 * discounts are the platform's and delivery fees are not the merchant's),
 * less the store's commission, rounded down to the paisa so the merchant
 * never receives less than the rate says, and less what was refunded of
 * those orders (at most what is left of them, so a settlement is never
 * negative; a refund made after its order was settled is not taken off
 * a later one). The orders are
 * claimed under a unique key, so two settlements can never count one order;
 * a cancelled settlement lets them go. The statuses follow one table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "input.h"
#include "payments.h"

#define SETTLEMENT_NOT_FOUND "SETTLEMENT_NOT_FOUND", "the settlement does not exist"

/* clang-format off */
static const struct {
    const char *from, *to;
} steps[] = {
    {"pending",    "processing"},
    {"pending",    "cancelled"},
    {"processing", "paid"},
    {"processing", "failed"},
    {"failed",     "processing"},
    {"failed",     "cancelled"},
};
/* clang-format on */

static const char *const statuses[] = {"pending", "processing", "paid",
                                       "failed",  "cancelled",  NULL};

/* Who reads which settlements ($1 caller, $2 role): finance and admins
 * all of them, a merchant those of its stores. */
#define READ_REACH                                                                                 \
    "($2 IN ('FINANCE', 'ADMIN', 'SUPER_ADMIN') OR EXISTS (SELECT 1 FROM stores st "               \
    "  WHERE st.id = s.store_id AND st.owner_id = $1::uuid))"

int settlement_create(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char store[37], start[11], end[11];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "store_id", IN_REQUIRED, store, NULL)) ||
        (rc = input_date(ctx, body, "period_start", IN_REQUIRED, 0, start, NULL)) ||
        (rc = input_date(ctx, body, "period_end", IN_REQUIRED, 0, end, NULL)))
        return rc;
    if (strcmp(start, end) > 0)
        return input_fail(ctx, "period_end", "period_end must not be before period_start");
    /* The store's row first, in its own statement: two settlements of one
     * store queue here, and the second then sees the orders the first
     * claimed. */
    const char *sid[] = {store};
    PGresult *res = PQexecParams(ctx->db, "SELECT 1 FROM stores WHERE id = $1::uuid FOR UPDATE", 1,
                                 NULL, sid, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found)
        return job_fail(ctx, 404, "STORE_NOT_FOUND", "the store does not exist");
    /* Claim the orders delivered in the period and not settled before,
     * then sum what was claimed. */
    const char *params[] = {ctx->job->id, store, start, end, ctx->job->user_id};
    if ((rc = answer_exec(ctx,
                          "INSERT INTO settlements (id, store_id, period_start, period_end, "
                          "order_count, gross_paise, commission_bps, commission_paise, "
                          "net_paise, created_by) SELECT $1::uuid, $2::uuid, $3::date, "
                          "$4::date, 0, 0, commission_bps, 0, 0, $5::uuid FROM stores "
                          "WHERE id = $2::uuid",
                          5, params)) ||
        (rc = answer_exec(
             ctx,
             "INSERT INTO settlement_orders (settlement_id, order_id) "
             "SELECT $1::uuid, o.id FROM orders o WHERE o.store_id = $2::uuid "
             "AND o.status = 'DELIVERED' "
             "AND NOT EXISTS (SELECT 1 FROM settlement_orders so WHERE so.order_id = o.id) "
             "AND (SELECT (max(h.created_at) AT TIME ZONE 'Asia/Kolkata')::date "
             "     FROM order_status_history h WHERE h.order_id = o.id AND h.to_status = "
             "     'DELIVERED') BETWEEN $3::date AND $4::date",
             4, params)))
        return rc;
    const char *id[] = {ctx->job->id};
    res = PQexecParams(ctx->db,
                       "UPDATE settlements s SET order_count = t.n, gross_paise = t.gross, "
                       "commission_paise = t.commission, refunds_paise = t.refunds, "
                       "net_paise = t.gross - t.commission - t.refunds "
                       "FROM (SELECT n, gross, commission, "
                       "        least(given, gross - commission) AS refunds "
                       "      FROM (SELECT count(*) AS n, "
                       "              coalesce(sum(o.subtotal_paise), 0) AS gross, "
                       "              coalesce(sum(o.subtotal_paise), 0) * (SELECT commission_bps "
                       "                FROM settlements WHERE id = $1::uuid) / 10000 "
                       "                AS commission, "
                       "              coalesce(sum((SELECT sum(f.amount_paise) FROM refunds f "
                       "                WHERE f.order_id = o.id AND f.status <> 'failed')), 0) "
                       "                AS given "
                       "            FROM settlement_orders so JOIN orders o ON o.id = so.order_id "
                       "            WHERE so.settlement_id = $1::uuid) x) t "
                       "WHERE s.id = $1::uuid RETURNING s.order_count",
                       1, NULL, id, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int empty = atoi(PQgetvalue(res, 0, 0)) == 0;
    PQclear(res);
    if (empty)
        return job_fail(ctx, 409, "NOTHING_TO_SETTLE",
                        "the store has no delivered order left to settle in that period");
    return answer_json(ctx, 201,
                       "SELECT (mandi_settlement_json(s) || jsonb_build_object('order_ids', "
                       "(SELECT jsonb_agg(order_id ORDER BY order_id) FROM settlement_orders "
                       "WHERE settlement_id = s.id)))::text FROM settlements s WHERE id = $1",
                       1, id, SETTLEMENT_NOT_FOUND);
}

int settlement_set_status(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37], to[16], note[501 * 4];
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)) ||
        (rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "status", IN_REQUIRED, statuses, to, sizeof to, NULL)) ||
        (rc = input_text(ctx, body, "note", IN_OPTIONAL, 1, 500, note, sizeof note, NULL)))
        return rc;
    const char *params[] = {id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT status FROM settlements WHERE id = $1::uuid "
                                 "FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, SETTLEMENT_NOT_FOUND);
    }
    char from[16];
    snprintf(from, sizeof from, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    int legal = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        legal |= strcmp(steps[i].from, from) == 0 && strcmp(steps[i].to, to) == 0;
    if (!legal)
        return job_fail(ctx, 409, "INVALID_STATUS_TRANSITION",
                        "a settlement cannot go from %s to %s", from, to);
    const char *update[] = {id, to, note[0] ? note : NULL};
    if ((rc = answer_exec(ctx,
                          "UPDATE settlements SET status = $2, note = coalesce($3, note), "
                          "updated_at = now() WHERE id = $1::uuid",
                          3, update)))
        return rc;
    /* A cancelled settlement lets its orders be settled again. */
    if (strcmp(to, "cancelled") == 0 &&
        (rc = answer_exec(ctx, "DELETE FROM settlement_orders WHERE settlement_id = $1::uuid", 1,
                          params)))
        return rc;
    return answer_json(ctx, 200,
                       "SELECT mandi_settlement_json(s)::text FROM settlements s WHERE id = $1", 1,
                       params, SETTLEMENT_NOT_FOUND);
}

int settlement_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, ctx->job->role, id};
    return answer_json(ctx, 200,
                       "SELECT (mandi_settlement_json(s) || jsonb_build_object('order_ids', "
                       "(SELECT coalesce(jsonb_agg(order_id ORDER BY order_id), '[]') "
                       "FROM settlement_orders WHERE settlement_id = s.id)))::text "
                       "FROM settlements s WHERE s.id = $3::uuid AND " READ_REACH,
                       3, params, SETTLEMENT_NOT_FOUND);
}

int settlement_list(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char store[37], status[16];
    answer_page_t page;
    int rc;
    if ((rc = input_uuid(ctx, query, "store", IN_OPTIONAL, store, NULL)) ||
        (rc = input_choice(ctx, query, "status", IN_OPTIONAL, statuses, status, sizeof status,
                           NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {ctx->job->user_id,
                            ctx->job->role,
                            store[0] ? store : NULL,
                            status[0] ? status : NULL,
                            page.page,
                            page.limit,
                            page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT s FROM settlements s WHERE " READ_REACH
        "  AND ($3::uuid IS NULL OR s.store_id = $3::uuid) AND ($4::text IS NULL OR s.status = "
        "$4)), "
        "page AS (SELECT s FROM hits ORDER BY (s).period_start DESC, (s).id "
        "  LIMIT $6::bigint OFFSET $7::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_settlement_json(s) "
        "  ORDER BY (s).period_start DESC, (s).id), '[]') FROM page), "
        "'pagination', mandi_pagination($5::bigint, $6::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        7, params, SETTLEMENT_NOT_FOUND);
}

/* A store's commission rate, set by finance; settlements made after use
 * it (each settlement keeps the rate it was made with). */
int store_set_commission(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37], rate[24], after[64];
    int64_t bps = 0;
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)) ||
        (rc = input_body(ctx, &body)) ||
        (rc = input_int(ctx, body, "commission_bps", IN_REQUIRED, 0, 10000, &bps, NULL)))
        return rc;
    snprintf(rate, sizeof rate, "%lld", (long long)bps);
    const char *params[] = {id, rate};
    PGresult *res =
        PQexecParams(ctx->db,
                     "WITH old AS (SELECT commission_bps FROM stores WHERE id = $1::uuid "
                     "  FOR UPDATE) "
                     "UPDATE stores s SET commission_bps = $2::int, updated_at = now() "
                     "FROM old WHERE s.id = $1::uuid RETURNING old.commission_bps",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, "STORE_NOT_FOUND", "the store does not exist");
    }
    char before[64];
    snprintf(before, sizeof before, "{\"commission_bps\": %s}", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(after, sizeof after, "{\"commission_bps\": %lld}", (long long)bps);
    if ((rc = accounts_audit(ctx, "store.commission", "store", id, before, after)))
        return rc;
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('store_id', id, 'commission_bps', "
                       "commission_bps)::text FROM stores WHERE id = $1::uuid",
                       1, params, "STORE_NOT_FOUND", "the store does not exist");
}
