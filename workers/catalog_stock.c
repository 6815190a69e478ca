/*
 * catalog_stock - inventory: stock changes with their history and events,
 * and the merchant's stock views.
 *
 * Every change goes through mandi_stock_change (sql/006_inventory.sql),
 * which takes the product's row lock, refuses to go below zero and writes
 * the history row, so concurrent changes serialise and stock never goes
 * negative. The events a change publishes are decided by the table below
 * from the stock before and after and the product's low-stock threshold.
 * A restock also settles the product's back-in-stock requests: each waiting
 * subscriber is marked notified and gets one "notify.back_in_stock" event,
 * which the notifications pool turns into a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "catalog_cache.h"
#include "input.h"
#include "mp.h"

#define STOCK_MAX   10000000
#define BULK_MAX    500
#define REASON_SIZE (200 * 4 + 1)

static int went_out(const stock_change_t *c)
{
    return c->before > 0 && c->after == 0;
}

static int came_back(const stock_change_t *c)
{
    return c->before == 0 && c->after > 0;
}

static int ran_low(const stock_change_t *c)
{
    return c->before > c->threshold && c->after <= c->threshold && c->after > 0;
}

static const struct {
    const char *topic;
    int (*happened)(const stock_change_t *);
} stock_events[] = {
    {"stock.low", ran_low},
    {"stock.out", went_out},
    {"stock.restocked", came_back},
};

/* Records the event of topic for one product's change. */
static int stock_event(job_ctx_t *ctx, const char *topic, const char *product,
                       const stock_change_t *c, const char *reason)
{
    buf_t body = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, buf_msgpack_write);
    msgpack_pack_map(&pk, 7);
    mp_kv_str(&pk, "product_id", product);
    mp_kv_str(&pk, "store_id", c->store);
    mp_kv_str(&pk, "owner_id", c->owner);
    mp_kv_i64(&pk, "before", c->before);
    mp_kv_i64(&pk, "after", c->after);
    mp_kv_i64(&pk, "threshold", c->threshold);
    mp_kv_str(&pk, "reason", reason);
    int rc = job_event(ctx, topic, body.data, body.len);
    buf_free(&body);
    return rc;
}

/* Marks the product's waiting subscribers notified, one event each. */
static int settle_requests(job_ctx_t *ctx, const char *product)
{
    const char *params[] = {product};
    PGresult *res = PQexecParams(ctx->db,
                                 "UPDATE notify_requests SET notified_at = now() "
                                 "WHERE product_id = $1 AND notified_at IS NULL "
                                 "RETURNING user_id, (SELECT name FROM products WHERE id = $1)",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        buf_t body = BUF_INIT;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &body, buf_msgpack_write);
        msgpack_pack_map(&pk, 3);
        mp_kv_str(&pk, "user_id", PQgetvalue(res, i, 0));
        mp_kv_str(&pk, "product_id", product);
        mp_kv_str(&pk, "product_name", PQgetvalue(res, i, 1));
        if (job_event(ctx, "notify.back_in_stock", body.data, body.len) < 0)
            rc = job_fail(ctx, 503, "DB_UNAVAILABLE", "the notification could not be recorded");
        buf_free(&body);
    }
    PQclear(res);
    return rc;
}

int stock_insufficient(job_ctx_t *ctx, const char *product, int64_t available)
{
    job_fail(ctx, 409, "INSUFFICIENT_STOCK", "only %lld in stock", (long long)available);
    buf_t details = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &details, buf_msgpack_write);
    msgpack_pack_map(&pk, 2);
    mp_kv_str(&pk, "product_id", product);
    mp_kv_i64(&pk, "available", available);
    job_fail_details(ctx, details.data, details.len);
    buf_free(&details);
    return 409;
}

int stock_change(job_ctx_t *ctx, const char *product, int64_t delta, int has_set, int64_t set,
                 const char *reason, stock_change_t *c)
{
    char d[24], s[24];
    snprintf(d, sizeof d, "%lld", (long long)delta);
    snprintf(s, sizeof s, "%lld", (long long)set);
    const char *params[] = {
        product,     d, has_set ? s : NULL, reason, ctx->job->user_id[0] ? ctx->job->user_id : NULL,
        ctx->job->id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT ok, before, after, threshold, store_id, owner_id "
                                 "FROM mandi_stock_change($1, $2::int, $3::int, $4, $5, $6)",
                                 6, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, PRODUCT_NOT_FOUND);
    }
    c->ok = PQgetvalue(res, 0, 0)[0] == 't';
    c->before = atoll(PQgetvalue(res, 0, 1));
    c->after = atoll(PQgetvalue(res, 0, 2));
    c->threshold = atoll(PQgetvalue(res, 0, 3));
    snprintf(c->store, sizeof c->store, "%s", PQgetvalue(res, 0, 4));
    snprintf(c->owner, sizeof c->owner, "%s", PQgetvalue(res, 0, 5));
    PQclear(res);
    if (!c->ok)
        return stock_insufficient(ctx, product, c->before);
    for (size_t i = 0; i < sizeof stock_events / sizeof stock_events[0]; i++)
        if (stock_events[i].happened(c) &&
            stock_event(ctx, stock_events[i].topic, product, c, reason) < 0)
            return job_fail(ctx, 503, "DB_UNAVAILABLE", "the stock event could not be recorded");
    int rc = came_back(c) ? settle_requests(ctx, product) : 0;
    if (!rc)
        cache_bump_products(ctx, product);
    return rc;
}

static void pack_change(msgpack_packer *pk, const char *product, const stock_change_t *c,
                        const char *reason)
{
    msgpack_pack_map(pk, 6);
    mp_kv_str(pk, "product_id", product);
    mp_kv_i64(pk, "before", c->before);
    mp_kv_i64(pk, "after", c->after);
    mp_kv_i64(pk, "delta", c->after - c->before);
    mp_kv_str(pk, "reason", reason);
    mp_pack_cstr(pk, "in_stock");
    if (c->after > 0)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

typedef struct {
    char product[37], reason[REASON_SIZE];
    int64_t delta, set;
    int has_delta, has_set;
    int index; /* place in the request, for errors and a stable order */
} stock_request_t;

/* Reads {delta | set, reason} (and product_id when in a bulk item; field
 * names then carry prefix, e.g. "items[3].delta"). */
static int read_request(job_ctx_t *ctx, const msgpack_object *obj, const char *prefix,
                        int with_product, stock_request_t *r)
{
    char f_product[48], f_delta[48], f_set[48], f_reason[48];
    snprintf(f_product, sizeof f_product, "%sproduct_id", prefix);
    snprintf(f_delta, sizeof f_delta, "%sdelta", prefix);
    snprintf(f_set, sizeof f_set, "%sset", prefix);
    snprintf(f_reason, sizeof f_reason, "%sreason", prefix);
    const msgpack_object *product = mp_get(obj, "product_id"), *delta = mp_get(obj, "delta"),
                         *set = mp_get(obj, "set"), *reason = mp_get(obj, "reason");
    /* The checks read the object under the plain names; errors name the
     * prefixed field. */
    msgpack_object_kv kv[4];
    const msgpack_object *src[] = {product, delta, set, reason};
    const char *names[] = {f_product, f_delta, f_set, f_reason};
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        if (src[i]) {
            kv[n].key.type = MSGPACK_OBJECT_STR;
            kv[n].key.via.str.ptr = names[i];
            kv[n].key.via.str.size = (uint32_t)strlen(names[i]);
            kv[n++].val = *src[i];
        }
    msgpack_object renamed = {.type = MSGPACK_OBJECT_MAP, .via.map = {.size = n, .ptr = kv}};
    if (obj->type != MSGPACK_OBJECT_MAP)
        return input_fail(ctx, prefix[0] ? f_product : "body", "each item must be an object");
    int rc;
    if ((with_product &&
         (rc = input_uuid(ctx, &renamed, f_product, IN_REQUIRED, r->product, NULL))) ||
        (rc = input_int(ctx, &renamed, f_delta, IN_OPTIONAL, -STOCK_MAX, STOCK_MAX, &r->delta,
                        &r->has_delta)) ||
        (rc = input_int(ctx, &renamed, f_set, IN_OPTIONAL, 0, STOCK_MAX, &r->set, &r->has_set)) ||
        (rc = input_str(ctx, &renamed, f_reason, IN_REQUIRED, 1, 200, r->reason, sizeof r->reason,
                        NULL)))
        return rc;
    if ((r->has_delta == IN_PRESENT) == (r->has_set == IN_PRESENT)) {
        const char *field = r->has_delta == IN_PRESENT ? f_set : f_delta;
        return input_fail(ctx, field, "%s: give exactly one of delta and set", field);
    }
    if (r->has_delta == IN_PRESENT && r->delta == 0)
        return input_fail(ctx, f_delta, "%s must not be 0", f_delta);
    return 0;
}

int stock_adjust(job_ctx_t *ctx)
{
    stock_request_t r = {0};
    const msgpack_object *body;
    int rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, r.product, NULL)) ||
        (rc = input_body(ctx, &body)) || (rc = read_request(ctx, body, "", 0, &r)) ||
        (rc = catalog_own_product(ctx, r.product, CATALOG_LOCK)))
        return rc;
    stock_change_t c;
    if ((rc = stock_change(ctx, r.product, r.delta, r.has_set == IN_PRESENT, r.set, r.reason, &c)))
        return rc;
    pack_change(&ctx->body, r.product, &c, r.reason);
    return 200;
}

/* Rows are locked in product order, so two bulk updates over the same
 * products cannot deadlock; changes to one product keep their order. */
static int by_product(const void *a, const void *b)
{
    const stock_request_t *x = a, *y = b;
    int c = strcmp(x->product, y->product);
    return c ? c : x->index - y->index;
}

int stock_bulk_update(job_ctx_t *ctx)
{
    /* The body is the array itself, or {"items": [...]}. */
    const msgpack_object *body = job_body(ctx->job), *items = body;
    if (body && body->type == MSGPACK_OBJECT_MAP)
        items = mp_get(body, "items");
    if (!items || items->type != MSGPACK_OBJECT_ARRAY || items->via.array.size == 0)
        return input_fail(ctx, "items", "the body is a non-empty array of stock changes");
    uint32_t n = items->via.array.size;
    if (n > BULK_MAX)
        return input_fail(ctx, "items", "at most %d changes at once", BULK_MAX);
    stock_request_t *reqs = calloc(n, sizeof *reqs);
    if (!reqs)
        return job_fail(ctx, 500, "INTERNAL", "out of memory");
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        char prefix[24];
        snprintf(prefix, sizeof prefix, "items[%u].", i);
        reqs[i].index = (int)i;
        rc = read_request(ctx, &items->via.array.ptr[i], prefix, 1, &reqs[i]);
    }
    qsort(reqs, n, sizeof *reqs, by_product);
    for (uint32_t i = 0; i < n && !rc; i++)
        if (i == 0 || strcmp(reqs[i].product, reqs[i - 1].product) != 0)
            rc = catalog_own_product(ctx, reqs[i].product, CATALOG_LOCK);
    stock_change_t *changes = rc ? NULL : calloc(n, sizeof *changes);
    if (!rc && !changes)
        rc = job_fail(ctx, 500, "INTERNAL", "out of memory");
    /* All or nothing: the first refusal fails the job, which rolls back
     * every change made before it. */
    for (uint32_t i = 0; i < n && !rc; i++)
        rc = stock_change(ctx, reqs[i].product, reqs[i].delta, reqs[i].has_set == IN_PRESENT,
                          reqs[i].set, reqs[i].reason, &changes[reqs[i].index]);
    if (!rc) {
        /* Answered in the order of the request. */
        msgpack_pack_map(&ctx->body, 2);
        mp_pack_cstr(&ctx->body, "updated");
        msgpack_pack_uint32(&ctx->body, n);
        mp_pack_cstr(&ctx->body, "items");
        msgpack_pack_array(&ctx->body, n);
        stock_request_t **order = calloc(n, sizeof *order);
        for (uint32_t i = 0; order && i < n; i++)
            order[reqs[i].index] = &reqs[i];
        for (uint32_t i = 0; order && i < n; i++)
            pack_change(&ctx->body, order[i]->product, &changes[i], order[i]->reason);
        if (!order)
            rc = job_fail(ctx, 500, "INTERNAL", "out of memory");
        free(order);
    }
    free(changes);
    free(reqs);
    return rc ? rc : 200;
}

/* ---- views --------------------------------------------------------------- */

/* The stores a view covers: the caller's own for a merchant (NULL for an
 * admin: all), narrowed by ?store= when given. */
static int read_scope(job_ctx_t *ctx, const char **owner, char store[37])
{
    *owner = catalog_is_admin(ctx) ? NULL : ctx->job->user_id;
    return input_uuid(ctx, input_query(ctx), "store", IN_OPTIONAL, store, NULL);
}

/* Products of the scope whose stock passes `condition`, least stock first. */
static int stock_view(job_ctx_t *ctx, const char *sql)
{
    const char *owner;
    char store[37];
    answer_page_t page;
    int rc;
    if ((rc = read_scope(ctx, &owner, store)) || (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {owner, store[0] ? store : NULL, page.page, page.limit, page.offset};
    return answer_json(ctx, 200, sql, 5, params, PRODUCT_NOT_FOUND);
}

#define STOCK_VIEW_SQL(condition)                                                                  \
    "WITH hits AS (SELECT p FROM products p JOIN stores s ON s.id = p.store_id "                   \
    "  WHERE p.deleted_at IS NULL AND " condition " "                                              \
    "  AND ($1::uuid IS NULL OR s.owner_id = $1::uuid) "                                           \
    "  AND ($2::uuid IS NULL OR p.store_id = $2::uuid)), "                                         \
    "page AS (SELECT p FROM hits ORDER BY (p).stock, (p).name, (p).id LIMIT $4::bigint "           \
    "  OFFSET $5::bigint) "                                                                        \
    "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_product_json(p) "         \
    "  ORDER BY (p).stock, (p).name, (p).id), '[]') FROM page), "                                  \
    "'pagination', mandi_pagination($3::bigint, $4::bigint, (SELECT count(*) FROM hits)))::text"

int stock_low(job_ctx_t *ctx)
{
    return stock_view(ctx, STOCK_VIEW_SQL("p.stock > 0 AND p.stock <= p.low_stock_threshold"));
}

int stock_out(job_ctx_t *ctx)
{
    return stock_view(ctx, STOCK_VIEW_SQL("p.stock = 0"));
}

int stock_history(job_ctx_t *ctx)
{
    char product[37];
    answer_page_t page;
    int rc;
    if ((rc = input_uuid(ctx, input_query(ctx), "product_id", IN_REQUIRED, product, NULL)) ||
        (rc = answer_read_page(ctx, &page)) ||
        (rc = catalog_own_product(ctx, product, CATALOG_READ)))
        return rc;
    const char *params[] = {product, page.page, page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_stock_history_json(h) "
        "  ORDER BY h.id DESC), '[]') FROM (SELECT * FROM stock_history WHERE product_id = $1 "
        "  ORDER BY id DESC LIMIT $3::bigint OFFSET $4::bigint) h), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, "
        "  (SELECT count(*) FROM stock_history WHERE product_id = $1)))::text",
        4, params, PRODUCT_NOT_FOUND);
}

int stock_report(job_ctx_t *ctx)
{
    const char *owner;
    char store[37];
    int rc = read_scope(ctx, &owner, store);
    if (rc)
        return rc;
    const char *params[] = {owner, store[0] ? store : NULL};
    /* Per store and in total: products, how many are in stock, low and
     * out, units held, and their value at the selling price. */
    return answer_json(
        ctx, 200,
        "WITH per AS (SELECT s.id, s.name, count(p.id) AS products, "
        "  count(p.id) FILTER (WHERE p.stock > p.low_stock_threshold) AS in_stock, "
        "  count(p.id) FILTER (WHERE p.stock > 0 AND p.stock <= p.low_stock_threshold) AS low, "
        "  count(p.id) FILTER (WHERE p.stock = 0) AS out, "
        "  coalesce(sum(p.stock), 0) AS units, "
        "  coalesce(sum(p.stock::numeric * p.selling_price_paise), 0) AS value "
        "  FROM stores s LEFT JOIN products p ON p.store_id = s.id AND p.deleted_at IS NULL "
        "  WHERE ($1::uuid IS NULL OR s.owner_id = $1::uuid) "
        "  AND ($2::uuid IS NULL OR s.id = $2::uuid) GROUP BY s.id, s.name) "
        "SELECT jsonb_build_object("
        "  'stores', coalesce(jsonb_agg(jsonb_build_object('store_id', id, 'name', name, "
        "    'products', products, 'in_stock', in_stock, 'low_stock', low, 'out_of_stock', out, "
        "    'units', units, 'stock_value_paise', value) ORDER BY name, id), '[]'), "
        "  'totals', jsonb_build_object('products', coalesce(sum(products), 0), "
        "    'in_stock', coalesce(sum(in_stock), 0), 'low_stock', coalesce(sum(low), 0), "
        "    'out_of_stock', coalesce(sum(out), 0), 'units', coalesce(sum(units), 0), "
        "    'stock_value_paise', coalesce(sum(value), 0)))::text FROM per",
        2, params, STORE_NOT_FOUND);
}
