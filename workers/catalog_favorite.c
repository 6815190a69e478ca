/*
 * catalog_favorite - a user's favourite products. Adding and removing are
 * idempotent: the answer says the state after the call, whatever it was
 * before.
 */
#include <stdio.h>

#include "catalog.h"
#include "input.h"
#include "mp.h"

int favorite_list(job_ctx_t *ctx)
{
    answer_page_t page;
    int rc = answer_read_page(ctx, &page);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, page.page, page.limit, page.offset};
    /* Products deleted since are left out (and not counted). */
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT p, f.created_at AS added FROM favorites f "
        "  JOIN products p ON p.id = f.product_id AND p.deleted_at IS NULL "
        "  WHERE f.user_id = $1::uuid), "
        "page AS (SELECT * FROM hits ORDER BY added DESC, (p).id LIMIT $3::bigint "
        "  OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_product_json(p) "
        "  || jsonb_build_object('favorited_at', mandi_ts(added)) ORDER BY added DESC, (p).id), "
        "  '[]') FROM page), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM "
        "hits)))::text",
        4, params, PRODUCT_NOT_FOUND);
}

static void answer_state(job_ctx_t *ctx, const char *product, int favorite)
{
    msgpack_pack_map(&ctx->body, 2);
    mp_kv_str(&ctx->body, "product_id", product);
    mp_pack_cstr(&ctx->body, "favorite");
    if (favorite)
        msgpack_pack_true(&ctx->body);
    else
        msgpack_pack_false(&ctx->body);
}

int favorite_add(job_ctx_t *ctx)
{
    char product[37];
    int rc = input_uuid(ctx, input_params(ctx), "productId", IN_REQUIRED, product, NULL);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, product};
    PGresult *res = PQexecParams(ctx->db,
                                 "INSERT INTO favorites (user_id, product_id) "
                                 "SELECT $1, id FROM products WHERE id = $2 AND deleted_at IS NULL "
                                 "ON CONFLICT DO NOTHING RETURNING 1",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int added = PQntuples(res);
    PQclear(res);
    if (!added) {
        /* Either already a favourite, or no such product. */
        res = PQexecParams(ctx->db,
                           "SELECT 1 FROM favorites f JOIN products p ON p.id = f.product_id "
                           "WHERE f.user_id = $1 AND f.product_id = $2 AND p.deleted_at IS NULL",
                           2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            return answer_db_failed(ctx, res);
        int there = PQntuples(res);
        PQclear(res);
        if (!there)
            return job_fail(ctx, 404, PRODUCT_NOT_FOUND);
    }
    answer_state(ctx, product, 1);
    return 200;
}

int favorite_remove(job_ctx_t *ctx)
{
    char product[37];
    int rc = input_uuid(ctx, input_params(ctx), "productId", IN_REQUIRED, product, NULL);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, product};
    if ((rc = answer_exec(ctx, "DELETE FROM favorites WHERE user_id = $1 AND product_id = $2", 2,
                          params)))
        return rc;
    answer_state(ctx, product, 0);
    return 200;
}
