/*
 * catalog_product - products: the filtered, searched and sorted list, the
 * detail, and a merchant's writes.
 *
 * Both reads are answered from the cache when they can (catalog_cache.h);
 * every write bumps the counters of what it changed after its commit. The
 * list's sort is picked from a table of fixed ORDER BY clauses: the client's
 * value only selects an entry, it is never part of the SQL. Stock is not
 * written here after creation: it changes through the inventory routes,
 * which keep its history (catalog_stock.c).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "catalog_cache.h"
#include "codec.h"
#include "input.h"
#include "mp.h"

#define PRICE_MAX 100000000000LL /* ₹1,000,000,000.00 in paise */

typedef struct {
    const char *name;
    const char *order_by;
} sort_t;

/* clang-format off */
static const sort_t sorts[] = {
    {"newest",     "p.created_at DESC, p.id"},
    {"price",      "p.selling_price_paise, p.id"},
    {"price_desc", "p.selling_price_paise DESC, p.id"},
    {"name",       "p.name, p.id"},
    {"rating",     "p.rating_avg DESC, p.rating_count DESC, p.id"},
    {"relevance",  "rank DESC, p.created_at DESC, p.id"},
};
/* clang-format on */
#define SORT_COUNT (sizeof sorts / sizeof sorts[0])

static const char *const sort_names[] = {"newest", "price",     "price_desc", "name",
                                         "rating", "relevance", NULL};
static const char *const booleans[] = {"true", "false", NULL};

/* ---- list ---------------------------------------------------------------- */

typedef struct {
    char category[101], store[37], zone[65], q[101 * 4], sort[16], in_stock[8];
    int64_t min_price, max_price, page, limit;
} product_query_t;

static int read_query(job_ctx_t *ctx, product_query_t *f)
{
    const msgpack_object *query = input_query(ctx);
    int rc;
    memset(f, 0, sizeof *f);
    f->min_price = f->max_price = -1;
    if ((rc = input_str(ctx, query, "category", IN_OPTIONAL, 1, 100, f->category,
                        sizeof f->category, NULL)) ||
        (rc = input_uuid(ctx, query, "store", IN_OPTIONAL, f->store, NULL)) ||
        (rc = input_str(ctx, query, "zone", IN_OPTIONAL, 1, 64, f->zone, sizeof f->zone, NULL)) ||
        (rc = input_str(ctx, query, "q", IN_OPTIONAL, 1, 100, f->q, sizeof f->q, NULL)) ||
        (rc = input_choice(ctx, query, "sort", IN_OPTIONAL, sort_names, f->sort, sizeof f->sort,
                           NULL)) ||
        (rc = input_choice(ctx, query, "in_stock", IN_OPTIONAL, booleans, f->in_stock,
                           sizeof f->in_stock, NULL)) ||
        (rc = input_query_int(ctx, "min_price", 0, PRICE_MAX, &f->min_price)) ||
        (rc = input_query_int(ctx, "max_price", 0, PRICE_MAX, &f->max_price)) ||
        (rc = input_page(ctx, &f->page, &f->limit)))
        return rc;
    if (f->min_price >= 0 && f->max_price >= 0 && f->min_price > f->max_price)
        return input_fail(ctx, "max_price", "max_price must not be below min_price");
    if (!f->sort[0])
        snprintf(f->sort, sizeof f->sort, "%s", f->q[0] ? "relevance" : "newest");
    else if (strcmp(f->sort, "relevance") == 0 && !f->q[0])
        return input_fail(ctx, "sort", "sort=relevance needs a search (q)");
    return 0;
}

static const char *order_by(const char *name)
{
    for (size_t i = 0; i < SORT_COUNT; i++)
        if (strcmp(sorts[i].name, name) == 0)
            return sorts[i].order_by;
    return sorts[0].order_by;
}

/* The filters in a fixed order: the cache key of the list. Returns 0, or
 * -1 when it does not fit (the list is then not cached: a cut key could
 * name two different lists). */
static int query_key(const product_query_t *f, char *out, size_t cap)
{
    int n = snprintf(out, cap, "cat:products:%s|%s|%s|%lld|%lld|%s|%s|%s|%lld|%lld", f->category,
                     f->store, f->zone, (long long)f->min_price, (long long)f->max_price,
                     f->in_stock, f->sort, f->q, (long long)f->page, (long long)f->limit);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* The products of the live catalog (active products of active stores) that
 * pass every filter given; $1 category (id or slug, with its descendants),
 * $2 store, $3 zone, $4/$5 price bounds, $6 in stock only, $7 search. */
#define LIST_SQL                                                                                   \
    "WITH RECURSIVE cats AS ("                                                                     \
    "  SELECT id FROM categories WHERE $1::text IS NOT NULL AND (slug = $1 OR id::text = $1) "     \
    "  UNION SELECT c.id FROM categories c JOIN cats ON c.parent_id = cats.id), "                  \
    "search AS (SELECT CASE WHEN $7::text IS NULL THEN NULL "                                      \
    "                  ELSE websearch_to_tsquery('simple', $7) END AS query), "                    \
    "hits AS MATERIALIZED (SELECT p AS prod, p.id, p.created_at, p.selling_price_paise, "          \
    "  p.name, p.rating_avg, p.rating_count, "                                                     \
    "  CASE WHEN q.query IS NULL THEN 0 ELSE ts_rank_cd(p.search, q.query) END AS rank "           \
    "  FROM products p JOIN stores s ON s.id = p.store_id CROSS JOIN search q "                    \
    "  WHERE p.deleted_at IS NULL AND p.is_active AND s.is_active "                                \
    "    AND ($1::text IS NULL OR p.category_id IN (SELECT id FROM cats)) "                        \
    "    AND ($2::uuid IS NULL OR p.store_id = $2::uuid) "                                         \
    "    AND ($3::text IS NULL OR s.zone = $3) "                                                   \
    "    AND ($4::bigint IS NULL OR p.selling_price_paise >= $4::bigint) "                         \
    "    AND ($5::bigint IS NULL OR p.selling_price_paise <= $5::bigint) "                         \
    "    AND (NOT $6::boolean OR p.stock > 0) "                                                    \
    "    AND (q.query IS NULL OR p.search @@ q.query)), "                                          \
    "page AS (SELECT p.prod, row_number() OVER (ORDER BY %s) AS n FROM hits p "                    \
    "  ORDER BY %s LIMIT $9::bigint OFFSET $10::bigint) "                                          \
    "SELECT jsonb_build_object("                                                                   \
    "  'items', (SELECT coalesce(jsonb_agg(mandi_product_json(prod) ORDER BY n), '[]') FROM "      \
    "page), "                                                                                      \
    "  'pagination', mandi_pagination($8::bigint, $9::bigint, (SELECT count(*) FROM hits)))::text"

static int list_products(job_ctx_t *ctx, const product_query_t *f)
{
    char sql[sizeof LIST_SQL + 256], min[24], max[24], page[24], limit[24], offset[24];
    const char *ob = order_by(f->sort);
    snprintf(sql, sizeof sql, LIST_SQL, ob, ob);
    snprintf(min, sizeof min, "%lld", (long long)f->min_price);
    snprintf(max, sizeof max, "%lld", (long long)f->max_price);
    snprintf(page, sizeof page, "%lld", (long long)f->page);
    snprintf(limit, sizeof limit, "%lld", (long long)f->limit);
    snprintf(offset, sizeof offset, "%lld", (long long)((f->page - 1) * f->limit));
    const char *params[] = {
        f->category[0] ? f->category : NULL,
        f->store[0] ? f->store : NULL,
        f->zone[0] ? f->zone : NULL,
        f->min_price >= 0 ? min : NULL,
        f->max_price >= 0 ? max : NULL,
        strcmp(f->in_stock, "true") == 0 ? "true" : "false",
        f->q[0] ? f->q : NULL,
        page,
        limit,
        offset,
    };
    return answer_json(ctx, 200, sql, 10, params, PRODUCT_NOT_FOUND);
}

int product_list(job_ctx_t *ctx)
{
    product_query_t f;
    int rc = read_query(ctx, &f);
    if (rc)
        return rc;
    /* GET /api/stores/:id/products: the path names the store. */
    const msgpack_object *params = input_params(ctx);
    if (mp_get(params, "id") && (rc = input_uuid(ctx, params, "id", IN_REQUIRED, f.store, NULL)))
        return rc;
    char key[1024];
    cache_slot_t slot = {.key = ""};
    if (query_key(&f, key, sizeof key) == 0 && cache_fetch(ctx, CACHE_PRODUCTS, key, &slot))
        return 200;
    int status = list_products(ctx, &f);
    if (status == 200)
        cache_store(ctx, &slot);
    return status;
}

/* ---- detail -------------------------------------------------------------- */

int product_get(job_ctx_t *ctx)
{
    char id[37], version_key[sizeof CACHE_PRODUCT_PREFIX + 40], key[64];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    snprintf(version_key, sizeof version_key, "%s%s", CACHE_PRODUCT_PREFIX, id);
    snprintf(key, sizeof key, "cat:product:%s", id);
    cache_slot_t slot;
    if (cache_fetch(ctx, version_key, key, &slot))
        return 200;
    const char *params[] = {id};
    int status = answer_json(ctx, 200,
                             "SELECT mandi_product_json(p)::text FROM products p "
                             "WHERE p.id = $1 AND p.deleted_at IS NULL AND p.is_active",
                             1, params, PRODUCT_NOT_FOUND);
    if (status == 200)
        cache_store(ctx, &slot);
    return status;
}

/* ---- writes -------------------------------------------------------------- */

typedef struct {
    char store[37], category[37], name[201 * 4], description[5001 * 4], sku[65];
    int64_t original, selling, stock, threshold, min_qty;
    int is_active;
    buf_t tags, images, variants, specifications; /* JSON texts */
    int has_store, has_category, has_name, has_description, has_sku, has_original, has_selling,
        has_stock, has_threshold, has_min_qty, has_active, has_tags, has_images, has_variants,
        has_specifications;
} product_input_t;

static void product_input_free(product_input_t *in)
{
    buf_free(&in->tags);
    buf_free(&in->images);
    buf_free(&in->variants);
    buf_free(&in->specifications);
}

static int is_str(const msgpack_object *o, size_t min, size_t max)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return 0;
    size_t chars = input_utf8_length(o->via.str.ptr, o->via.str.size);
    return chars >= min && chars <= max;
}

static int is_url(const msgpack_object *o)
{
    if (!is_str(o, 8, 2048))
        return 0;
    const char *s = o->via.str.ptr;
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* Checks each member of a container field and keeps it as JSON text. */
static int read_json_field(job_ctx_t *ctx, const msgpack_object *body, const char *field,
                           msgpack_object_type want, uint32_t max,
                           int (*member_ok)(const msgpack_object *), const char *member_rule,
                           buf_t *out, int *found)
{
    const msgpack_object *v;
    int rc = input_container(ctx, body, field, IN_OPTIONAL, want, max, &v, found);
    if (rc || !v)
        return rc;
    uint32_t n = want == MSGPACK_OBJECT_ARRAY ? v->via.array.size : v->via.map.size;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *m =
            want == MSGPACK_OBJECT_ARRAY ? &v->via.array.ptr[i] : &v->via.map.ptr[i].val;
        if (want == MSGPACK_OBJECT_MAP && !is_str(&v->via.map.ptr[i].key, 1, 100))
            return input_fail(ctx, field, "%s keys must be names of 1 to 100 characters", field);
        if (!member_ok(m))
            return input_fail(ctx, field, "%s: %s", field, member_rule);
    }
    if (codec_object_to_json(v, out, NULL) < 0)
        return input_fail(ctx, field, "%s cannot be stored", field);
    return 0;
}

static int tag_ok(const msgpack_object *o)
{
    return is_str(o, 1, 40);
}

static int variant_ok(const msgpack_object *o)
{
    const msgpack_object *name = mp_get(o, "name");
    return o->type == MSGPACK_OBJECT_MAP && o->via.map.size <= 20 && name && is_str(name, 1, 100);
}

static int spec_ok(const msgpack_object *o)
{
    return is_str(o, 0, 500) || o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
           o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER || o->type == MSGPACK_OBJECT_FLOAT64 ||
           o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_BOOLEAN;
}

static int sku_valid(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

static int read_product(job_ctx_t *ctx, int creating, product_input_t *in)
{
    const msgpack_object *body;
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "store_id", creating, in->store, &in->has_store)) ||
        (rc = input_uuid(ctx, body, "category_id", creating, in->category, &in->has_category)) ||
        (rc = input_str(ctx, body, "name", creating, 1, 200, in->name, sizeof in->name,
                        &in->has_name)) ||
        (rc = input_text(ctx, body, "description", IN_OPTIONAL, 0, 5000, in->description,
                         sizeof in->description, &in->has_description)) ||
        (rc =
             input_str(ctx, body, "sku", creating, 1, 64, in->sku, sizeof in->sku, &in->has_sku)) ||
        (rc = input_int(ctx, body, "original_price_paise", creating, 1, PRICE_MAX, &in->original,
                        &in->has_original)) ||
        (rc = input_int(ctx, body, "selling_price_paise", creating, 1, PRICE_MAX, &in->selling,
                        &in->has_selling)) ||
        (rc =
             input_int(ctx, body, "stock", IN_OPTIONAL, 0, 10000000, &in->stock, &in->has_stock)) ||
        (rc = input_int(ctx, body, "low_stock_threshold", IN_OPTIONAL, 0, 1000000, &in->threshold,
                        &in->has_threshold)) ||
        (rc = input_int(ctx, body, "min_order_qty", IN_OPTIONAL, 1, 10000, &in->min_qty,
                        &in->has_min_qty)) ||
        (rc = input_bool(ctx, body, "is_active", "is_active", &in->is_active, &in->has_active)) ||
        (rc = read_json_field(ctx, body, "tags", MSGPACK_OBJECT_ARRAY, 20, tag_ok,
                              "each tag is a string of 1 to 40 characters", &in->tags,
                              &in->has_tags)) ||
        (rc =
             read_json_field(ctx, body, "images", MSGPACK_OBJECT_ARRAY, 10, is_url,
                             "each image is an http or https URL", &in->images, &in->has_images)) ||
        (rc = read_json_field(ctx, body, "variants", MSGPACK_OBJECT_ARRAY, 50, variant_ok,
                              "each variant is an object with a name", &in->variants,
                              &in->has_variants)) ||
        (rc = read_json_field(ctx, body, "specifications", MSGPACK_OBJECT_MAP, 50, spec_ok,
                              "each specification is a string, number or boolean",
                              &in->specifications, &in->has_specifications)))
        return rc;
    static const struct {
        const char *field;
        size_t offset;
    } not_null[] = {
        {"name", offsetof(product_input_t, has_name)},
        {"sku", offsetof(product_input_t, has_sku)},
        {"category_id", offsetof(product_input_t, has_category)},
        {"original_price_paise", offsetof(product_input_t, has_original)},
        {"selling_price_paise", offsetof(product_input_t, has_selling)},
        {"low_stock_threshold", offsetof(product_input_t, has_threshold)},
        {"min_order_qty", offsetof(product_input_t, has_min_qty)},
        {"is_active", offsetof(product_input_t, has_active)},
    };
    for (size_t i = 0; i < sizeof not_null / sizeof not_null[0]; i++)
        if (*(const int *)((const char *)in + not_null[i].offset) == IN_NULL)
            return input_fail(ctx, not_null[i].field, "%s cannot be null", not_null[i].field);
    if (in->has_sku == IN_PRESENT && !sku_valid(in->sku))
        return input_fail(ctx, "sku", "sku may hold only letters, digits, '-', '_' and '.'");
    if (in->has_original == IN_PRESENT && in->has_selling == IN_PRESENT &&
        in->selling > in->original)
        return input_fail(ctx, "selling_price_paise",
                          "selling_price_paise must not be above original_price_paise");
    if (!creating && in->has_store != IN_ABSENT)
        return input_fail(ctx, "store_id", "store_id cannot change: a product stays in its store");
    if (!creating && in->has_stock != IN_ABSENT)
        return input_fail(ctx, "stock",
                          "stock changes through PATCH /api/products/:id/stock, which keeps "
                          "its history");
    if (in->has_stock == IN_NULL)
        return input_fail(ctx, "stock", "stock cannot be null");
    return 0;
}

/* Maps a failed write to its answer: a taken SKU, a missing category, a
 * price pair the table refuses. */
static int write_failed(job_ctx_t *ctx, PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (state && strcmp(state, "23505") == 0) {
        PQclear(res);
        return job_fail(ctx, 409, "SKU_TAKEN", "the store already has a product with this sku");
    }
    if (state && strcmp(state, "23503") == 0) {
        PQclear(res);
        return input_fail(ctx, "category_id", "category_id names no category");
    }
    if (state && strcmp(state, "23514") == 0 && constraint &&
        strcmp(constraint, "products_selling_price_within_original") == 0) {
        PQclear(res);
        return input_fail(ctx, "selling_price_paise",
                          "selling_price_paise must not be above original_price_paise");
    }
    return answer_db_failed(ctx, res);
}

static int answer_written(job_ctx_t *ctx, int status, PGresult *res)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return write_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, PRODUCT_NOT_FOUND);
    }
    int rc = answer_pack_json(ctx, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
    cache_bump_products(ctx, PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc ? rc : status;
}

/* The numbers of a product's input as SQL parameter texts. */
typedef struct {
    char original[24], selling[24], stock[24], threshold[24], min_qty[24];
} product_numbers_t;

static void product_numbers(const product_input_t *in, product_numbers_t *n)
{
    snprintf(n->original, sizeof n->original, "%lld", (long long)in->original);
    snprintf(n->selling, sizeof n->selling, "%lld", (long long)in->selling);
    snprintf(n->stock, sizeof n->stock, "%lld", (long long)(in->has_stock ? in->stock : 0));
    snprintf(n->threshold, sizeof n->threshold, "%lld", (long long)in->threshold);
    snprintf(n->min_qty, sizeof n->min_qty, "%lld", (long long)in->min_qty);
}

static const char *text_or_null(const buf_t *b)
{
    return b->len ? b->data : NULL;
}

int product_create(job_ctx_t *ctx)
{
    product_input_t in = {0};
    int rc = read_product(ctx, 1, &in);
    if (!rc)
        rc = catalog_own_store(ctx, in.store);
    if (rc) {
        product_input_free(&in);
        return rc;
    }
    product_numbers_t n;
    product_numbers(&in, &n);
    const char *params[] = {
        in.store,
        in.category,
        in.name,
        input_value(in.has_description, in.description),
        in.sku,
        n.original,
        n.selling,
        n.stock,
        input_value(in.has_threshold, n.threshold),
        input_value(in.has_min_qty, n.min_qty),
        in.has_active == IN_PRESENT ? (in.is_active ? "true" : "false") : NULL,
        text_or_null(&in.tags),
        text_or_null(&in.images),
        text_or_null(&in.variants),
        text_or_null(&in.specifications),
        ctx->job->user_id,
        ctx->job->id,
    };
    /* The first stock is history too: "initial stock", from 0. */
    PGresult *res = PQexecParams(
        ctx->db,
        "WITH p AS (INSERT INTO products (store_id, category_id, name, description, sku, "
        "original_price_paise, selling_price_paise, stock, low_stock_threshold, min_order_qty, "
        "is_active, tags, images, variants, specifications) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::int, 5), coalesce($10::int, 1), "
        "coalesce($11::boolean, true), "
        "coalesce(ARRAY(SELECT jsonb_array_elements_text($12::jsonb)), '{}'), "
        "coalesce($13::jsonb, '[]'), coalesce($14::jsonb, '[]'), coalesce($15::jsonb, '{}')) "
        "RETURNING *), "
        "h AS (INSERT INTO stock_history (product_id, before, after, reason, actor_id, job_id) "
        "SELECT id, 0, stock, 'initial stock', $16::uuid, $17 FROM p WHERE stock > 0) "
        "SELECT p.id, mandi_product_json(p::products)::text FROM p",
        17, NULL, params, NULL, NULL, 0);
    rc = answer_written(ctx, 201, res);
    product_input_free(&in);
    return rc;
}

int product_update(job_ctx_t *ctx)
{
    char id[37];
    product_input_t in = {0};
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (!rc)
        rc = read_product(ctx, 0, &in);
    if (!rc)
        rc = catalog_own_product(ctx, id, CATALOG_LOCK);
    if (rc) {
        product_input_free(&in);
        return rc;
    }
    product_numbers_t n;
    product_numbers(&in, &n);
    const char *params[] = {
        id,
        input_sent(in.has_category),
        input_value(in.has_category, in.category),
        input_sent(in.has_name),
        input_value(in.has_name, in.name),
        input_sent(in.has_description),
        input_value(in.has_description, in.description),
        input_sent(in.has_sku),
        input_value(in.has_sku, in.sku),
        input_sent(in.has_original),
        input_value(in.has_original, n.original),
        input_sent(in.has_selling),
        input_value(in.has_selling, n.selling),
        input_sent(in.has_threshold),
        input_value(in.has_threshold, n.threshold),
        input_sent(in.has_min_qty),
        input_value(in.has_min_qty, n.min_qty),
        input_sent(in.has_active),
        input_value(in.has_active, in.is_active ? "true" : "false"),
        input_sent(in.has_tags),
        text_or_null(&in.tags),
        input_sent(in.has_images),
        text_or_null(&in.images),
        input_sent(in.has_variants),
        text_or_null(&in.variants),
        input_sent(in.has_specifications),
        text_or_null(&in.specifications),
    };
    PGresult *res = PQexecParams(
        ctx->db,
        "UPDATE products SET "
        "category_id = CASE WHEN $2 THEN $3::uuid ELSE category_id END, "
        "name = CASE WHEN $4 THEN $5 ELSE name END, "
        "description = CASE WHEN $6 THEN $7 ELSE description END, "
        "sku = CASE WHEN $8 THEN $9 ELSE sku END, "
        "original_price_paise = CASE WHEN $10 THEN $11::bigint ELSE original_price_paise END, "
        "selling_price_paise = CASE WHEN $12 THEN $13::bigint ELSE selling_price_paise END, "
        "low_stock_threshold = CASE WHEN $14 THEN $15::int ELSE low_stock_threshold END, "
        "min_order_qty = CASE WHEN $16 THEN $17::int ELSE min_order_qty END, "
        "is_active = CASE WHEN $18 THEN $19::boolean ELSE is_active END, "
        "tags = CASE WHEN $20 THEN coalesce(ARRAY(SELECT jsonb_array_elements_text($21::jsonb)), "
        "'{}') ELSE tags END, "
        "images = CASE WHEN $22 THEN coalesce($23::jsonb, '[]') ELSE images END, "
        "variants = CASE WHEN $24 THEN coalesce($25::jsonb, '[]') ELSE variants END, "
        "specifications = CASE WHEN $26 THEN coalesce($27::jsonb, '{}') ELSE specifications END, "
        "updated_at = now() "
        "WHERE id = $1 AND deleted_at IS NULL "
        "RETURNING id, mandi_product_json(products)::text",
        27, NULL, params, NULL, NULL, 0);
    rc = answer_written(ctx, 200, res);
    product_input_free(&in);
    return rc;
}

int product_delete(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc || (rc = catalog_own_product(ctx, id, CATALOG_LOCK)))
        return rc;
    const char *params[] = {id};
    /* Soft: orders keep pointing at it; it leaves every list and read. */
    if ((rc = answer_exec(ctx,
                          "UPDATE products SET deleted_at = now(), is_active = false, "
                          "updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
                          1, params)))
        return rc;
    cache_bump_products(ctx, id);
    return answer_deleted(ctx, id);
}
