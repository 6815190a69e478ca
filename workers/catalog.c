/*
 * catalog - the pool's job table and the ownership checks its writers share
 * (see catalog.h).
 */
#include "catalog.h"

#include <stdio.h>
#include <string.h>

#include "roles.h"

const job_handler_t catalog_jobs[] = {
    {"category.list", category_list, 0},
    {"category.tree", category_tree, 0},
    {"category.get", category_get, 0},
    {"category.create", category_create, JOB_TX},
    {"category.update", category_update, JOB_TX},
    {"category.delete", category_delete, JOB_TX},
    {"store.list", store_list, 0},
    {"store.nearby", store_nearby, 0},
    {"store.get", store_get, 0},
    {"store.create", store_create, JOB_TX},
    {"store.update", store_update, JOB_TX},
    {"product.list", product_list, 0},
    {"product.get", product_get, 0},
    {"product.create", product_create, JOB_TX},
    {"product.update", product_update, JOB_TX},
    {"product.delete", product_delete, JOB_TX},
    {"stock.adjust", stock_adjust, JOB_TX},
    {"stock.bulk_update", stock_bulk_update, JOB_TX},
    {"stock.low", stock_low, 0},
    {"stock.out", stock_out, 0},
    {"stock.history", stock_history, 0},
    {"stock.report", stock_report, 0},
    {"favorite.list", favorite_list, 0},
    {"favorite.add", favorite_add, JOB_TX},
    {"favorite.remove", favorite_remove, JOB_TX},
    {"notify.subscribe", notify_subscribe, JOB_TX},
    {"notify.unsubscribe", notify_unsubscribe, JOB_TX},
    {"notify.mine", notify_mine, 0},
    {"notify.check", notify_check, 0},
    {"notify.product_requests", notify_product_requests, 0},
    {"notify.stats", notify_stats, 0},
    {"listing.list", listing_list, 0},
    {"listing.get", listing_get, 0},
    {"listing.create", listing_create, JOB_TX},
    {"listing.update", listing_update, JOB_TX},
    {"listing.delete", listing_delete, JOB_TX},
    {"listing.review", listing_review, JOB_TX},
    {"listing.sold", listing_sold, JOB_TX},
    {"listing.boost", listing_boost, JOB_TX},
    {"listing.expire", listing_expire, JOB_TX},
    {"listing.remind_expiring", listing_remind_expiring, JOB_TX},
    {"boost_plan.list", boost_plan_list, 0},
    {NULL, NULL, 0},
};

int catalog_is_admin(const job_ctx_t *ctx)
{
    return role_in(ctx->job->role, ROLES_ADMIN);
}

/* Answers a row of (exists-and-locked owner_id) against the caller. */
static int owner_check(job_ctx_t *ctx, PGresult *res, const char *code, const char *what)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, code, "%s", what);
    }
    int mine = strcmp(PQgetvalue(res, 0, 0), ctx->job->user_id) == 0;
    PQclear(res);
    if (!mine && !catalog_is_admin(ctx))
        return job_fail(ctx, 403, "NOT_STORE_OWNER",
                        "only the store's owner or an admin may change it");
    return 0;
}

int catalog_own_store(job_ctx_t *ctx, const char *store_id)
{
    const char *params[] = {store_id};
    PGresult *res =
        PQexecParams(ctx->db, "SELECT owner_id FROM stores WHERE id = $1 FOR NO KEY UPDATE", 1,
                     NULL, params, NULL, NULL, 0);
    return owner_check(ctx, res, STORE_NOT_FOUND);
}

int catalog_own_product(job_ctx_t *ctx, const char *product_id, int lock)
{
    const char *params[] = {product_id};
    PGresult *res = PQexecParams(ctx->db,
                                 lock ? "SELECT s.owner_id FROM products p "
                                        "JOIN stores s ON s.id = p.store_id WHERE p.id = $1 "
                                        "AND p.deleted_at IS NULL FOR NO KEY UPDATE OF p"
                                      : "SELECT s.owner_id FROM products p "
                                        "JOIN stores s ON s.id = p.store_id WHERE p.id = $1 "
                                        "AND p.deleted_at IS NULL",
                                 1, NULL, params, NULL, NULL, 0);
    return owner_check(ctx, res, PRODUCT_NOT_FOUND);
}
