/*
 * catalog_notify - back-in-stock requests ("notify me").
 *
 * A user asks to hear when an out-of-stock product returns; the restock
 * (catalog_stock.c) marks every waiting request notified and records one
 * notify.back_in_stock event per subscriber. Asking again after being
 * notified waits for the next restock.
 */
#include <stdio.h>

#include "catalog.h"
#include "input.h"

static int read_product(job_ctx_t *ctx, char product[37])
{
    return input_uuid(ctx, input_params(ctx), "productId", IN_REQUIRED, product, NULL);
}

int notify_subscribe(job_ctx_t *ctx)
{
    char product[37];
    int rc = read_product(ctx, product);
    if (rc)
        return rc;
    const char *params[] = {product};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT stock FROM products WHERE id = $1 AND deleted_at IS NULL "
                                 "FOR SHARE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1, in_stock = found && PQgetvalue(res, 0, 0)[0] != '0';
    PQclear(res);
    if (!found)
        return job_fail(ctx, 404, PRODUCT_NOT_FOUND);
    if (in_stock)
        return job_fail(ctx, 409, "PRODUCT_IN_STOCK", "the product is in stock now");
    const char *values[] = {ctx->job->user_id, product};
    return answer_json(ctx, 200,
                       "INSERT INTO notify_requests AS n (user_id, product_id) VALUES ($1, $2) "
                       "ON CONFLICT (user_id, product_id) DO UPDATE "
                       "SET notified_at = NULL, created_at = CASE WHEN n.notified_at IS NULL "
                       "THEN n.created_at ELSE now() END "
                       "RETURNING mandi_notify_request_json(n)::text",
                       2, values, PRODUCT_NOT_FOUND);
}

int notify_unsubscribe(job_ctx_t *ctx)
{
    char product[37];
    int rc = read_product(ctx, product);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, product};
    if ((rc = answer_exec(ctx, "DELETE FROM notify_requests WHERE user_id = $1 AND product_id = $2",
                          2, params)))
        return rc;
    return answer_deleted(ctx, product);
}

int notify_mine(job_ctx_t *ctx)
{
    answer_page_t page;
    int rc = answer_read_page(ctx, &page);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, page.page, page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT n, p FROM notify_requests n JOIN products p ON p.id = n.product_id "
        "  AND p.deleted_at IS NULL WHERE n.user_id = $1::uuid), "
        "page AS (SELECT * FROM hits ORDER BY (n).notified_at IS NOT NULL, (n).created_at DESC, "
        "  (p).id LIMIT $3::bigint OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg("
        "  mandi_notify_request_json(n) || jsonb_build_object('product', mandi_product_json(p)) "
        "  ORDER BY (n).notified_at IS NOT NULL, (n).created_at DESC, (p).id), '[]') FROM page), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM "
        "hits)))::text",
        4, params, PRODUCT_NOT_FOUND);
}

int notify_check(job_ctx_t *ctx)
{
    char product[37];
    int rc = read_product(ctx, product);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, product};
    return answer_json(
        ctx, 200,
        "SELECT jsonb_build_object('product_id', p.id, 'in_stock', p.stock > 0, "
        "  'subscribed', n.user_id IS NOT NULL AND n.notified_at IS NULL, "
        "  'request', CASE WHEN n.user_id IS NULL THEN NULL "
        "             ELSE mandi_notify_request_json(n) END)::text "
        "FROM products p LEFT JOIN notify_requests n ON n.product_id = p.id AND n.user_id = $1 "
        "WHERE p.id = $2 AND p.deleted_at IS NULL",
        2, params, PRODUCT_NOT_FOUND);
}

int notify_product_requests(job_ctx_t *ctx)
{
    char product[37];
    answer_page_t page;
    int rc;
    if ((rc = read_product(ctx, product)) || (rc = answer_read_page(ctx, &page)) ||
        (rc = catalog_own_product(ctx, product, CATALOG_READ)))
        return rc;
    const char *params[] = {product, page.page, page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT n FROM notify_requests n WHERE n.product_id = $1::uuid), "
        "page AS (SELECT n FROM hits ORDER BY (n).notified_at IS NOT NULL, (n).created_at, "
        "  (n).user_id LIMIT $3::bigint OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg("
        "  mandi_notify_request_json(n) ORDER BY (n).notified_at IS NOT NULL, (n).created_at, "
        "  (n).user_id), '[]') FROM page), "
        "'waiting', (SELECT count(*) FROM hits WHERE (n).notified_at IS NULL), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM "
        "hits)))::text",
        4, params, PRODUCT_NOT_FOUND);
}

int notify_stats(job_ctx_t *ctx)
{
    const char *owner = catalog_is_admin(ctx) ? NULL : ctx->job->user_id;
    const char *params[] = {owner};
    /* Totals and the 20 products most waited for, within the caller's
     * stores for a merchant. */
    return answer_json(
        ctx, 200,
        "WITH r AS (SELECT n.*, p.name, p.store_id FROM notify_requests n "
        "  JOIN products p ON p.id = n.product_id JOIN stores s ON s.id = p.store_id "
        "  WHERE $1::uuid IS NULL OR s.owner_id = $1::uuid), "
        "top AS (SELECT product_id, name, store_id, count(*) AS waiting FROM r "
        "  WHERE notified_at IS NULL GROUP BY product_id, name, store_id "
        "  ORDER BY waiting DESC, product_id LIMIT 20) "
        "SELECT jsonb_build_object("
        "  'total', (SELECT count(*) FROM r), "
        "  'waiting', (SELECT count(*) FROM r WHERE notified_at IS NULL), "
        "  'notified', (SELECT count(*) FROM r WHERE notified_at IS NOT NULL), "
        "  'notified_last_7_days', (SELECT count(*) FROM r "
        "    WHERE notified_at > now() - interval '7 days'), "
        "  'top_products', (SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', "
        "    product_id, 'name', name, 'store_id', store_id, 'waiting', waiting) "
        "    ORDER BY waiting DESC, product_id), '[]') FROM top))::text",
        1, params, PRODUCT_NOT_FOUND);
}
