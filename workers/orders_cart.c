/*
 * orders_cart - the caller's cart.
 *
 * A cart is one row per user and a line per product and variant; adding
 * what is already there adds to its quantity. Prices and availability are
 * read from the catalog at every look (mandi_cart_json), never trusted from
 * the time of adding. A cart left alone for CART_IDLE_DAYS is emptied the
 * next time it is touched. Validation lists every problem at once, with a
 * quantity that would fix it where there is one, instead of failing on the
 * first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "input.h"
#include "mp.h"
#include "orders.h"

#define CART_IDLE_DAYS "30"
#define QUANTITY_MAX   1000
#define ITEM_NOT_FOUND "CART_ITEM_NOT_FOUND", "the cart has no such line"
#define CART_LINES_MAX 100

/* Empties the caller's cart when it has been idle too long, and makes sure
 * it exists, locked for the rest of the job (two changes to one cart queue
 * instead of racing on its lines). */
int cart_open(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id, CART_IDLE_DAYS};
    int rc = answer_exec(ctx,
                         "DELETE FROM carts WHERE user_id = $1 "
                         "AND updated_at < now() - $2::int * interval '1 day'",
                         2, params);
    if (rc)
        return rc;
    PGresult *res = PQexecParams(ctx->db,
                                 "INSERT INTO carts (user_id) VALUES ($1) "
                                 "ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id "
                                 "RETURNING user_id",
                                 1, NULL, params, NULL, NULL, 0);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && state && strcmp(state, "23503") == 0) {
        PQclear(res);
        return job_fail(ctx, 404, "USER_NOT_FOUND", "the token's user does not exist");
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    return 0;
}

/* Marks the cart used now (a change resets its idle time). */
static int touch_cart(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id};
    return answer_exec(ctx, "UPDATE carts SET updated_at = now() WHERE user_id = $1", 1, params);
}

/* The cart as the apps show it (mandi_cart_json), with the discount of its
 * promotions (orders_pricing.c) and each promotion's part. */
#define PRICED_CART_SQL                                                                            \
    "SELECT (c || jsonb_build_object('discount_paise', $4::bigint, "                               \
    "  'total_paise', (c->>'total_paise')::bigint - $4::bigint, "                                  \
    "  'promotions', (SELECT coalesce(jsonb_agg(jsonb_build_object('promotion_id', p.id, "         \
    "    'code', p.code, 'name', p.name, 'kind', p.kind, 'stackable', p.stackable, "               \
    "    'discount_paise', d.discount, 'applies', d.discount > 0, 'reason', d.reason) "            \
    "    ORDER BY d.ord), '[]') FROM unnest($5::uuid[], $6::bigint[], $7::text[]) "                \
    "    WITH ORDINALITY d(id, discount, reason, ord) JOIN promotions p ON p.id = d.id)))::text "  \
    "FROM mandi_cart_json($1::uuid, $2::bigint, $3::bigint) c"

int cart_json(job_ctx_t *ctx, buf_t *out)
{
    pricing_t pr = {0};
    int rc;
    if ((rc = pricing_load_lines(ctx, &pr)) ||
        (rc = pricing_load_offers(ctx, &pr, OFFERS_ATTACHED, NULL)) ||
        (rc = pricing_stack(ctx, &pr))) {
        pricing_free(&pr);
        return rc;
    }
    buf_t ids = BUF_INIT, discounts = BUF_INIT, reasons = BUF_INIT;
    pricing_arrays(&pr, &ids, &discounts, &reasons);
    char fee[24], free_from[24], total[24];
    snprintf(fee, sizeof fee, "%ld", config_get_long("MANDI_DELIVERY_FEE_PAISE"));
    snprintf(free_from, sizeof free_from, "%ld", config_get_long("MANDI_FREE_DELIVERY_PAISE"));
    snprintf(total, sizeof total, "%lld", (long long)pr.total);
    const char *params[] = {ctx->job->user_id, fee,         free_from, total, ids.data,
                            discounts.data,    reasons.data};
    PGresult *res = PQexecParams(ctx->db, PRICED_CART_SQL, 7, NULL, params, NULL, NULL, 0);
    buf_free(&ids);
    buf_free(&discounts);
    buf_free(&reasons);
    pricing_free(&pr);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    buf_append(out, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return 0;
}

int cart_answer(job_ctx_t *ctx, int ok_status)
{
    buf_t json = BUF_INIT;
    int rc = cart_json(ctx, &json);
    if (!rc)
        rc = answer_pack_json(ctx, json.data, json.len);
    buf_free(&json);
    return rc ? rc : ok_status;
}

int cart_get(job_ctx_t *ctx)
{
    int rc = cart_open(ctx);
    return rc ? rc : cart_answer(ctx, 200);
}

/* The product a line may be made of: live and sold, with the variant (if
 * any) among its variants. Fills price and stock. */
static int check_product(job_ctx_t *ctx, const char *product, const char *variant, char price[24],
                         int64_t *stock)
{
    const char *params[] = {product, variant};
    PGresult *res =
        PQexecParams(ctx->db,
                     "SELECT p.selling_price_paise, p.stock, "
                     "$2 = '' OR EXISTS (SELECT 1 FROM jsonb_array_elements(p.variants) v "
                     "                   WHERE v->>'name' = $2) "
                     "FROM products p JOIN stores s ON s.id = p.store_id "
                     "WHERE p.id = $1 AND p.deleted_at IS NULL AND p.is_active AND s.is_active",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, "PRODUCT_NOT_FOUND", "the product is not for sale");
    }
    snprintf(price, 24, "%s", PQgetvalue(res, 0, 0));
    *stock = atoll(PQgetvalue(res, 0, 1));
    int variant_ok = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (!variant_ok)
        return input_fail(ctx, "variant", "variant names none of the product's variants");
    return 0;
}

int cart_add_item(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char product[37], variant[101 * 4], price[24];
    int64_t quantity = 0, stock = 0;
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "product_id", IN_REQUIRED, product, NULL)) ||
        (rc =
             input_str(ctx, body, "variant", IN_OPTIONAL, 1, 100, variant, sizeof variant, NULL)) ||
        (rc = input_int(ctx, body, "quantity", IN_REQUIRED, 1, QUANTITY_MAX, &quantity, NULL)) ||
        (rc = cart_open(ctx)) || (rc = check_product(ctx, product, variant, price, &stock)))
        return rc;
    char qty[24];
    snprintf(qty, sizeof qty, "%lld", (long long)quantity);
    const char *params[] = {ctx->job->user_id, product, variant, qty, price};
    /* The same product and variant again adds to the line. */
    PGresult *res = PQexecParams(
        ctx->db,
        "INSERT INTO cart_items AS c (user_id, product_id, variant, quantity, price_at_add_paise) "
        "VALUES ($1, $2, $3, $4::int, $5::bigint) "
        "ON CONFLICT (user_id, product_id, variant) DO UPDATE "
        "SET quantity = c.quantity + EXCLUDED.quantity, updated_at = now() "
        "RETURNING quantity, (SELECT count(*) FROM cart_items WHERE user_id = $1)",
        5, NULL, params, NULL, NULL, 0);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && state && strcmp(state, "23514") == 0) {
        PQclear(res);
        return input_fail(ctx, "quantity", "quantity would pass %d on one line", QUANTITY_MAX);
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int64_t total = atoll(PQgetvalue(res, 0, 0)), lines = atoll(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (total > stock)
        return stock_insufficient(ctx, product, stock);
    if (lines > CART_LINES_MAX)
        return job_fail(ctx, 409, "CART_FULL", "a cart holds at most %d lines", CART_LINES_MAX);
    if ((rc = touch_cart(ctx)))
        return rc;
    return cart_answer(ctx, 201);
}

/* The caller's line :id, locked; fills its product. */
static int own_line(job_ctx_t *ctx, char id[37], char product[37])
{
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id, ctx->job->user_id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT product_id FROM cart_items WHERE id = $1 AND user_id = $2 "
                                 "FOR UPDATE",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, ITEM_NOT_FOUND);
    }
    snprintf(product, 37, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int cart_update_item(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37], product[37];
    int64_t quantity = 0;
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_int(ctx, body, "quantity", IN_REQUIRED, 1, QUANTITY_MAX, &quantity, NULL)) ||
        (rc = cart_open(ctx)) || (rc = own_line(ctx, id, product)))
        return rc;
    const char *pid[] = {product};
    PGresult *res = PQexecParams(ctx->db, "SELECT stock FROM products WHERE id = $1", 1, NULL, pid,
                                 NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int64_t stock = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    /* Lowering a quantity is always allowed; raising it needs the stock. */
    char qty[24];
    snprintf(qty, sizeof qty, "%lld", (long long)quantity);
    const char *params[] = {id, qty};
    res = PQexecParams(ctx->db,
                       "UPDATE cart_items c SET quantity = $2::int, updated_at = now() "
                       "FROM (SELECT quantity AS before FROM cart_items WHERE id = $1) old "
                       "WHERE c.id = $1 RETURNING old.before",
                       2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int64_t before = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (quantity > before && quantity > stock)
        return stock_insufficient(ctx, product, stock);
    if ((rc = touch_cart(ctx)))
        return rc;
    return cart_answer(ctx, 200);
}

int cart_remove_item(job_ctx_t *ctx)
{
    char id[37], product[37];
    int rc;
    if ((rc = cart_open(ctx)) || (rc = own_line(ctx, id, product)))
        return rc;
    const char *params[] = {id};
    if ((rc = answer_exec(ctx, "DELETE FROM cart_items WHERE id = $1", 1, params)) ||
        (rc = touch_cart(ctx)))
        return rc;
    return cart_answer(ctx, 200);
}

int cart_clear(job_ctx_t *ctx)
{
    int rc = cart_open(ctx);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id};
    if ((rc = answer_exec(ctx, "DELETE FROM cart_items WHERE user_id = $1", 1, params)) ||
        (rc = touch_cart(ctx)))
        return rc;
    return cart_answer(ctx, 200);
}

/* Every problem of the cart, one row each, as JSON objects. A problem is
 * blocking unless it only informs (a price that changed since adding). The
 * delivery check needs an address with a location and a store with one. */
#define PROBLEMS_SQL                                                                               \
    "WITH lines AS (SELECT ci.id, ci.product_id, ci.quantity, ci.price_at_add_paise, "             \
    "  p.selling_price_paise AS price, p.stock, p.min_order_qty, p.store_id, "                     \
    "  (p.deleted_at IS NULL AND p.is_active AND s.is_active) AS available "                       \
    "  FROM cart_items ci JOIN products p ON p.id = ci.product_id "                                \
    "  JOIN stores s ON s.id = p.store_id WHERE ci.user_id = $1::uuid), "                          \
    "stores_in AS (SELECT s.id, s.name, s.min_order_paise, s.latitude, s.longitude, "              \
    "  s.delivery_radius_km, sum(l.price * l.quantity) AS subtotal "                               \
    "  FROM lines l JOIN stores s ON s.id = l.store_id WHERE l.available "                         \
    "  GROUP BY s.id), "                                                                           \
    "addr AS (SELECT latitude, longitude FROM addresses WHERE id = $2::uuid), "                    \
    "problems AS ("                                                                                \
    "  SELECT 'CART_EMPTY' AS code, NULL::uuid AS item_id, NULL::uuid AS product_id, "             \
    "    NULL::uuid AS store_id, NULL::bigint AS suggested_quantity, true AS blocking, "           \
    "    'the cart is empty' AS message WHERE NOT EXISTS (SELECT 1 FROM lines) "                   \
    "  UNION ALL SELECT 'PRODUCT_UNAVAILABLE', id, product_id, store_id, 0, true, "                \
    "    'the product is no longer sold' FROM lines WHERE NOT available "                          \
    "  UNION ALL SELECT 'OUT_OF_STOCK', id, product_id, store_id, 0, true, "                       \
    "    'the product is out of stock' FROM lines WHERE available AND stock = 0 "                  \
    "  UNION ALL SELECT 'INSUFFICIENT_STOCK', id, product_id, store_id, stock, true, "             \
    "    'only ' || stock || ' in stock' FROM lines "                                              \
    "    WHERE available AND stock > 0 AND quantity > stock "                                      \
    "  UNION ALL SELECT 'BELOW_MIN_ORDER_QTY', id, product_id, store_id, min_order_qty, true, "    \
    "    'the product is sold from ' || min_order_qty || ' units' FROM lines "                     \
    "    WHERE available AND quantity < min_order_qty AND stock >= min_order_qty "                 \
    "  UNION ALL SELECT 'PRICE_CHANGED', id, product_id, store_id, NULL, false, "                  \
    "    'the price changed from ' || price_at_add_paise || ' to ' || price || ' paise' "          \
    "    FROM lines WHERE available AND price <> price_at_add_paise "                              \
    "  UNION ALL SELECT 'STORE_MIN_ORDER_NOT_MET', NULL, NULL, id, NULL, true, "                   \
    "    name || ' takes orders from ' || min_order_paise || ' paise; ' || "                       \
    "    (min_order_paise - subtotal) || ' more needed' FROM stores_in "                           \
    "    WHERE subtotal < min_order_paise "                                                        \
    "  UNION ALL SELECT 'NOT_DELIVERABLE', NULL, NULL, s.id, NULL, true, "                         \
    "    s.name || ' does not deliver to this address' FROM stores_in s, addr a "                  \
    "    WHERE s.latitude IS NOT NULL AND a.latitude IS NOT NULL AND "                             \
    "    mandi_distance_km(a.latitude, a.longitude, s.latitude, s.longitude) "                     \
    "      > s.delivery_radius_km), "                                                              \
    "v AS (SELECT NOT EXISTS (SELECT 1 FROM problems WHERE blocking) AS valid, "                   \
    "  coalesce((SELECT jsonb_agg(jsonb_strip_nulls(to_jsonb(p)) ORDER BY p.blocking DESC, "       \
    "    p.code, p.item_id, p.store_id) FROM problems p), '[]') AS problems) "                     \
    "SELECT CASE WHEN valid THEN 'valid' WHEN NOT EXISTS (SELECT 1 FROM problems WHERE "           \
    "  blocking AND code NOT IN ('OUT_OF_STOCK', 'INSUFFICIENT_STOCK')) THEN 'stock' "             \
    "  ELSE 'blocked' END, jsonb_build_object('valid', valid, 'problems', problems)::text FROM v"

int cart_problems(job_ctx_t *ctx, const char *address, int with_cart, cart_verdict_t *verdict,
                  buf_t *json)
{
    if (address) {
        const char *params[] = {address, ctx->job->user_id};
        PGresult *res =
            PQexecParams(ctx->db, "SELECT 1 FROM addresses WHERE id = $1 AND user_id = $2", 2, NULL,
                         params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            return answer_db_failed(ctx, res);
        int mine = PQntuples(res) == 1;
        PQclear(res);
        if (!mine)
            return job_fail(ctx, 404, "ADDRESS_NOT_FOUND", "the address does not exist");
    }
    const char *params[] = {ctx->job->user_id, address};
    PGresult *res = PQexecParams(ctx->db, PROBLEMS_SQL, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    const char *v = PQgetvalue(res, 0, 0);
    *verdict = v[0] == 'v' ? CART_VALID : v[0] == 's' ? CART_SHORT_OF_STOCK : CART_BLOCKED;
    /* {"valid", "problems"}, and with the cart: its closing brace gives
     * way to "cart" (jsonb text always ends with the object's brace). */
    buf_append(json, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1) - (with_cart ? 1 : 0));
    PQclear(res);
    if (!with_cart)
        return 0;
    buf_append_str(json, ", \"cart\": ");
    int rc = cart_json(ctx, json);
    buf_append_char(json, '}');
    return rc;
}

int cart_validate(job_ctx_t *ctx)
{
    const msgpack_object *body = job_body(ctx->job);
    char address[37] = "";
    int found = IN_ABSENT, rc;
    if (body && body->type == MSGPACK_OBJECT_MAP &&
        (rc = input_uuid(ctx, body, "address_id", IN_OPTIONAL, address, &found)))
        return rc;
    if ((rc = cart_open(ctx)))
        return rc;
    buf_t json = BUF_INIT;
    cart_verdict_t verdict;
    rc = cart_problems(ctx, found == IN_PRESENT ? address : NULL, 1, &verdict, &json);
    if (!rc)
        rc = answer_pack_json(ctx, json.data, json.len);
    buf_free(&json);
    return rc ? rc : 200;
}
