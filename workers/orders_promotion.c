/*
 * orders_promotion - the administration of promotions (promotions.manage).
 *
 * The body's fields are checked here for type and range; the rules that
 * tie fields together (which fields each kind needs, the scope's list, the
 * validity window, the limits) are check constraints named after the field
 * they guard (sql/011_promotions.sql), so create and a partial update obey
 * the same rules and a refusal still names the field. Exclusive (not
 * stackable) promotions may not overlap: two of them active at the same
 * time on a shared scope would leave the customer's discount to chance, so
 * the second is refused with 409. Writes are serialised by one advisory
 * lock so that two overlapping creations cannot both pass the check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accounts.h"
#include "codec.h"
#include "input.h"
#include "mp.h"
#include "orders.h"

#define PROMOTION_NOT_FOUND "PROMOTION_NOT_FOUND", "the promotion does not exist"
#define MONEY_MAX           1000000000000LL /* ₹1,000 crore: far above any cart */
#define COUNT_MAX           1000000000LL
#define SCOPE_IDS_MAX       100
#define BUNDLE_ITEMS_MAX    10

static const char *const kinds[] = {"percentage", "fixed", "buy_x_get_y", "bundle", NULL};
static const char *const scopes[] = {"all", "categories", "products", "stores", "zones", NULL};

/* ---- reading the body ---------------------------------------------------- */

static int code_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* The integer fields: name, range, and whether an explicit null is allowed
 * (it clears a limit). */
static const struct {
    const char *field;
    int64_t min, max;
    int nullable;
} int_fields[] = {
    {"percent_bps", 1, 10000, 0},
    {"cap_paise", 0, MONEY_MAX, 0},
    {"amount_paise", 1, MONEY_MAX, 0},
    {"buy_qty", 1, 100, 0},
    {"get_qty", 1, 100, 0},
    {"bundle_price_paise", 0, MONEY_MAX, 0},
    {"min_cart_paise", 0, MONEY_MAX, 0},
    {"usage_limit", 1, COUNT_MAX, 1},
    {"per_user_limit", 1, COUNT_MAX, 1},
};

static int read_ints(job_ctx_t *ctx, const msgpack_object *body)
{
    for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; i++) {
        int64_t v;
        int found, rc = input_int(ctx, body, int_fields[i].field, IN_OPTIONAL, int_fields[i].min,
                                  int_fields[i].max, &v, &found);
        if (rc)
            return rc;
        if (found == IN_NULL && !int_fields[i].nullable)
            return input_fail(ctx, int_fields[i].field, "%s cannot be null", int_fields[i].field);
    }
    return 0;
}

static int read_scope_ids(job_ctx_t *ctx, const msgpack_object *body)
{
    const msgpack_object *v;
    int found, rc = input_container(ctx, body, "scope_ids", IN_OPTIONAL, MSGPACK_OBJECT_ARRAY,
                                    SCOPE_IDS_MAX, &v, &found);
    if (rc)
        return rc;
    if (found == IN_NULL)
        return input_fail(ctx, "scope_ids", "scope_ids cannot be null; send [] for none");
    for (uint32_t i = 0; v && i < v->via.array.size; i++) {
        const msgpack_object *s = &v->via.array.ptr[i];
        if (s->type != MSGPACK_OBJECT_STR || s->via.str.size < 1 || s->via.str.size > 64 ||
            memchr(s->via.str.ptr, ',', s->via.str.size))
            return input_fail(ctx, "scope_ids",
                              "each of scope_ids is an id or zone name of 1 to 64 characters "
                              "without commas");
        for (uint32_t j = 0; j < i; j++)
            if (v->via.array.ptr[j].via.str.size == s->via.str.size &&
                strncasecmp(v->via.array.ptr[j].via.str.ptr, s->via.str.ptr, s->via.str.size) == 0)
                return input_fail(ctx, "scope_ids", "scope_ids names one entry twice");
    }
    return 0;
}

static int read_bundle_items(job_ctx_t *ctx, const msgpack_object *body)
{
    const msgpack_object *v;
    int found, rc = input_container(ctx, body, "bundle_items", IN_OPTIONAL, MSGPACK_OBJECT_ARRAY,
                                    BUNDLE_ITEMS_MAX, &v, &found);
    if (rc)
        return rc;
    if (found == IN_NULL)
        return input_fail(ctx, "bundle_items", "bundle_items cannot be null");
    char ids[BUNDLE_ITEMS_MAX][37];
    for (uint32_t i = 0; v && i < v->via.array.size; i++) {
        const msgpack_object *item = &v->via.array.ptr[i];
        const msgpack_object *product = mp_get(item, "product_id"), *qty = mp_get(item, "qty");
        char raw[64];
        int64_t n;
        if (item->type != MSGPACK_OBJECT_MAP || !product || !qty ||
            mp_copy_str(product, raw, sizeof raw) < 0 || input_uuid_normalise(raw, ids[i]) < 0 ||
            mp_get_i64(qty, &n) < 0 || n < 1 || n > 100)
            return input_fail(ctx, "bundle_items",
                              "each of bundle_items is {\"product_id\": a product id, \"qty\": "
                              "1 to 100}");
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(ids[j], ids[i]) == 0)
                return input_fail(ctx, "bundle_items", "bundle_items names a product twice");
    }
    return 0;
}

/* Checks every field the body holds; *json receives the body as JSON, which
 * the statements read the fields from. */
static int read_promotion(job_ctx_t *ctx, int creating, char kind[16], buf_t *json)
{
    const msgpack_object *body;
    char code[33 * 4], name[101 * 4], description[1001 * 4], scope[16], ts[33];
    int found, flag, rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "code", creating, 1, 32, code, sizeof code, &found)))
        return rc;
    if (found == IN_NULL || (found == IN_PRESENT && !code_valid(code)))
        return input_fail(ctx, "code",
                          "code must be 3 to 32 letters, digits, '-' or '_' (stored upper case)");
    if ((rc = input_str(ctx, body, "name", creating, 1, 100, name, sizeof name, &found)))
        return rc;
    if (found == IN_NULL)
        return input_fail(ctx, "name", "name cannot be null");
    if ((rc = input_text(ctx, body, "description", IN_OPTIONAL, 0, 1000, description,
                         sizeof description, NULL)) ||
        (rc = input_choice(ctx, body, "kind", creating, kinds, kind, 16, &found)) ||
        (rc = input_choice(ctx, body, "scope", IN_OPTIONAL, scopes, scope, sizeof scope, NULL)) ||
        (rc = read_ints(ctx, body)) || (rc = read_scope_ids(ctx, body)) ||
        (rc = read_bundle_items(ctx, body)) ||
        (rc = input_bool(ctx, body, "stackable", "stackable", &flag, NULL)) ||
        (rc = input_bool(ctx, body, "is_active", "is_active", &flag, NULL)) ||
        (rc = input_timestamp(ctx, body, "starts_at", IN_OPTIONAL, ts, NULL)) ||
        (rc = input_timestamp(ctx, body, "ends_at", creating, ts, NULL)))
        return rc;
    if (codec_object_to_json(body, json, NULL) < 0)
        return input_fail(ctx, "body", "the body cannot be stored");
    return 0;
}

/* ---- writing --------------------------------------------------------------- */

/* The scope ids of body j, for the scope the row ends up with: ids lower
 * case (as PostgreSQL prints them), zone names as given. */
#define SCOPE_IDS_EXPR(scope)                                                                      \
    "ARRAY(SELECT CASE WHEN " scope " = 'zones' THEN e ELSE lower(e) END "                         \
    "  FROM jsonb_array_elements_text(j->'scope_ids') e)"
#define BUNDLE_EXPR                                                                                \
    "(SELECT jsonb_agg(jsonb_build_object('product_id', lower(e->>'product_id'), "                 \
    "  'qty', (e->>'qty')::int)) FROM jsonb_array_elements(j->'bundle_items') e)"

static const char create_sql[] =
    "INSERT INTO promotions (code, name, description, kind, percent_bps, cap_paise, "
    "amount_paise, buy_qty, get_qty, bundle_items, bundle_price_paise, min_cart_paise, scope, "
    "scope_ids, stackable, starts_at, ends_at, usage_limit, per_user_limit, is_active, "
    "created_by) "
    "SELECT upper(j->>'code'), j->>'name', j->>'description', j->>'kind', "
    "(j->>'percent_bps')::int, coalesce((j->>'cap_paise')::bigint, 0), "
    "(j->>'amount_paise')::bigint, (j->>'buy_qty')::int, (j->>'get_qty')::int, " BUNDLE_EXPR ", "
    "(j->>'bundle_price_paise')::bigint, coalesce((j->>'min_cart_paise')::bigint, 0), "
    "coalesce(j->>'scope', 'all'), "
    "coalesce(" SCOPE_IDS_EXPR(
        "coalesce(j->>'scope', 'all')") ", '{}'), "
                                        "coalesce((j->>'stackable')::boolean, false), "
                                        "coalesce((j->>'starts_at')::timestamptz, now()), "
                                        "(j->>'ends_at')::timestamptz, "
                                        "(j->>'usage_limit')::int, (j->>'per_user_limit')::int, "
                                        "coalesce((j->>'is_active')::boolean, true), $2::uuid "
                                        "FROM (SELECT $1::jsonb AS j) x RETURNING id";

/* A field of a partial update: the body's value when sent, else the row's. */
#define SET(col, expr) col " = CASE WHEN j ? '" col "' THEN " expr " ELSE p." col " END, "

/* clang-format off */
static const char update_sql[] =
    "UPDATE promotions p SET "
    SET("code", "upper(j->>'code')")
    SET("name", "j->>'name'")
    SET("description", "j->>'description'")
    SET("percent_bps", "(j->>'percent_bps')::int")
    SET("cap_paise", "(j->>'cap_paise')::bigint")
    SET("amount_paise", "(j->>'amount_paise')::bigint")
    SET("buy_qty", "(j->>'buy_qty')::int")
    SET("get_qty", "(j->>'get_qty')::int")
    SET("bundle_items", BUNDLE_EXPR)
    SET("bundle_price_paise", "(j->>'bundle_price_paise')::bigint")
    SET("min_cart_paise", "(j->>'min_cart_paise')::bigint")
    SET("scope", "j->>'scope'")
    SET("stackable", "(j->>'stackable')::boolean")
    SET("starts_at", "(j->>'starts_at')::timestamptz")
    SET("ends_at", "(j->>'ends_at')::timestamptz")
    SET("usage_limit", "(j->>'usage_limit')::int")
    SET("per_user_limit", "(j->>'per_user_limit')::int")
    SET("is_active", "(j->>'is_active')::boolean")
    /* A scope of all has no list; a new list follows the new scope. */
    "scope_ids = CASE WHEN j ? 'scope_ids' THEN " SCOPE_IDS_EXPR("coalesce(j->>'scope', p.scope)")
    " WHEN j->>'scope' = 'all' THEN '{}' ELSE p.scope_ids END, updated_at = now() "
    "FROM (SELECT $2::jsonb AS j) x WHERE p.id = $1::uuid AND p.deleted_at IS NULL "
    "RETURNING p.id";
/* clang-format on */

/* A refused check constraint, by name, and what to tell the client. */
static const struct {
    const char *constraint, *field, *message;
} rules[] = {
    {"percent_bps", "percent_bps",
     "percent_bps (1-10000) is required by percentage promotions "
     "and taken by no other kind"},
    {"cap_paise", "cap_paise", "cap_paise is only for percentage promotions"},
    {"amount_paise", "amount_paise",
     "amount_paise is required by fixed promotions and taken by "
     "no other kind"},
    {"buy_qty", "buy_qty",
     "buy_qty is required by buy_x_get_y promotions and taken by no other "
     "kind"},
    {"get_qty", "get_qty",
     "get_qty is required by buy_x_get_y promotions and taken by no other "
     "kind"},
    {"bundle_items", "bundle_items",
     "bundle_items (at least one) is required by bundle "
     "promotions and taken by no other kind"},
    {"bundle_price_paise", "bundle_price_paise",
     "bundle_price_paise is required by bundle "
     "promotions and taken by no other kind"},
    {"scope_ids", "scope_ids",
     "scope_ids must list at least one entry unless scope is all, "
     "and none when it is"},
    {"ends_at", "ends_at", "ends_at must be after starts_at"},
    {"used_count", "usage_limit", "usage_limit is below the number of uses so far"},
};

static int write_failed(job_ctx_t *ctx, PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (state && strcmp(state, "23505") == 0) {
        PQclear(res);
        return job_fail(ctx, 409, "PROMOTION_CODE_TAKEN", "another promotion has this code");
    }
    if (state && strcmp(state, "23514") == 0 && constraint)
        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
            if (strcmp(rules[i].constraint, constraint) == 0) {
                PQclear(res);
                return input_fail(ctx, rules[i].field, "%s", rules[i].message);
            }
    return answer_db_failed(ctx, res);
}

/* Checks the written row id: every id it names exists, and, when it is
 * exclusive and active, no other exclusive active promotion overlaps it in
 * time and scope. */
static int check_written(job_ctx_t *ctx, const char *id)
{
    const char *params[] = {id};
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT bad.field, bad.ref FROM promotions p, LATERAL ("
        "  SELECT 'scope_ids' AS field, x AS ref FROM unnest(p.scope_ids) x WHERE "
        "    (p.scope = 'categories' AND NOT EXISTS (SELECT 1 FROM categories c "
        "       WHERE c.id::text = x)) "
        "    OR (p.scope = 'products' AND NOT EXISTS (SELECT 1 FROM products q "
        "       WHERE q.id::text = x AND q.deleted_at IS NULL)) "
        "    OR (p.scope = 'stores' AND NOT EXISTS (SELECT 1 FROM stores s WHERE s.id::text = x)) "
        "  UNION ALL SELECT 'bundle_items', e->>'product_id' "
        "    FROM jsonb_array_elements(coalesce(p.bundle_items, '[]')) e "
        "    WHERE NOT EXISTS (SELECT 1 FROM products q WHERE q.id::text = e->>'product_id' "
        "      AND q.deleted_at IS NULL)) bad "
        "WHERE p.id = $1 LIMIT 1",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) == 1) {
        int rc = input_fail(ctx, PQgetvalue(res, 0, 0), "%s names nothing that exists: %s",
                            PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
        PQclear(res);
        return rc;
    }
    PQclear(res);
    res =
        PQexecParams(ctx->db,
                     "SELECT o.id, o.code FROM promotions p, promotions o "
                     "WHERE p.id = $1 AND NOT p.stackable AND p.is_active "
                     "AND o.id <> p.id AND o.deleted_at IS NULL AND o.is_active "
                     "AND NOT o.stackable AND o.starts_at < p.ends_at AND p.starts_at < o.ends_at "
                     "AND (o.scope = 'all' OR p.scope = 'all' "
                     "     OR (o.scope = p.scope AND o.scope_ids && p.scope_ids)) "
                     "ORDER BY o.created_at LIMIT 1",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) == 1) {
        job_fail(ctx, 409, "PROMOTION_OVERLAP",
                 "exclusive promotion %s covers the same scope at the same time",
                 PQgetvalue(res, 0, 1));
        buf_t details = BUF_INIT;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &details, buf_msgpack_write);
        msgpack_pack_map(&pk, 2);
        mp_kv_str(&pk, "promotion_id", PQgetvalue(res, 0, 0));
        mp_kv_str(&pk, "code", PQgetvalue(res, 0, 1));
        job_fail_details(ctx, details.data, details.len);
        buf_free(&details);
        PQclear(res);
        return 409;
    }
    PQclear(res);
    return 0;
}

/* One writer at a time: the overlap check reads what others may write. */
static int lock_promotions(job_ctx_t *ctx)
{
    return answer_exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('mandi.promotions'))", 0, NULL);
}

/* The promotion as an admin sees it: with its redemptions so far. */
#define PROMOTION_SQL                                                                              \
    "SELECT (mandi_promotion_json(p) || jsonb_build_object('redemptions', "                        \
    "  (SELECT jsonb_build_object('checkouts', count(*), 'discount_paise', "                       \
    "   coalesce(sum(discount_paise), 0)) FROM promotion_redemptions r "                           \
    "   WHERE r.promotion_id = p.id AND r.released_at IS NULL)))::text "                           \
    "FROM promotions p WHERE p.id = $1::uuid AND p.deleted_at IS NULL"

/* The row's JSON for the audit log (NULL when it does not exist). */
static char *promotion_text(job_ctx_t *ctx, const char *id)
{
    const char *params[] = {id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT mandi_promotion_json(p)::text FROM promotions p "
                                 "WHERE p.id = $1::uuid AND p.deleted_at IS NULL",
                                 1, NULL, params, NULL, NULL, 0);
    char *text = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        text = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return text;
}

static int audit_written(job_ctx_t *ctx, const char *action, const char *id, const char *before)
{
    char *after = promotion_text(ctx, id);
    int rc = accounts_audit(ctx, action, "promotion", id, before, after);
    free(after);
    return rc;
}

int promotion_create(job_ctx_t *ctx)
{
    char kind[16];
    buf_t json = BUF_INIT;
    int rc = read_promotion(ctx, 1, kind, &json);
    if (!rc)
        rc = lock_promotions(ctx);
    if (rc) {
        buf_free(&json);
        return rc;
    }
    const char *params[] = {json.data, ctx->job->user_id};
    PGresult *res = PQexecParams(ctx->db, create_sql, 2, NULL, params, NULL, NULL, 0);
    buf_free(&json);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return write_failed(ctx, res);
    char id[37];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if ((rc = check_written(ctx, id)) || (rc = audit_written(ctx, "promotion.create", id, NULL)))
        return rc;
    const char *pid[] = {id};
    return answer_json(ctx, 201, PROMOTION_SQL, 1, pid, PROMOTION_NOT_FOUND);
}

/* A kind is what the other fields mean: changing it makes a different
 * promotion, which is created, not edited into being. */
static int same_kind(job_ctx_t *ctx, const char *id, const char *kind)
{
    const char *params[] = {id, kind};
    PGresult *res = PQexecParams(ctx->db, "SELECT kind = $2 FROM promotions WHERE id = $1::uuid", 2,
                                 NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int same = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return same ? 0 : input_fail(ctx, "kind", "kind cannot change; create a new promotion instead");
}

int promotion_update(job_ctx_t *ctx)
{
    char id[37], kind[16];
    buf_t json = BUF_INIT;
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (!rc)
        rc = read_promotion(ctx, 0, kind, &json);
    if (!rc)
        rc = lock_promotions(ctx);
    char *before = rc ? NULL : promotion_text(ctx, id);
    if (!rc && !before)
        rc = job_fail(ctx, 404, PROMOTION_NOT_FOUND);
    if (!rc && kind[0])
        rc = same_kind(ctx, id, kind);
    if (rc) {
        buf_free(&json);
        free(before);
        return rc;
    }
    const char *params[] = {id, json.data};
    PGresult *res = PQexecParams(ctx->db, update_sql, 2, NULL, params, NULL, NULL, 0);
    buf_free(&json);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        free(before);
        return write_failed(ctx, res);
    }
    PQclear(res);
    if (!(rc = check_written(ctx, id)))
        rc = audit_written(ctx, "promotion.update", id, before);
    free(before);
    if (rc)
        return rc;
    const char *pid[] = {id};
    return answer_json(ctx, 200, PROMOTION_SQL, 1, pid, PROMOTION_NOT_FOUND);
}

int promotion_delete(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    char *before = promotion_text(ctx, id);
    if (!before)
        return job_fail(ctx, 404, PROMOTION_NOT_FOUND);
    /* Orders keep what it gave them; carts stop holding it. */
    const char *params[] = {id};
    if (!(rc = answer_exec(ctx,
                           "UPDATE promotions SET deleted_at = now(), updated_at = now() "
                           "WHERE id = $1::uuid AND deleted_at IS NULL",
                           1, params)) &&
        !(rc = answer_exec(ctx, "DELETE FROM cart_promotions WHERE promotion_id = $1::uuid", 1,
                           params)))
        rc = accounts_audit(ctx, "promotion.delete", "promotion", id, before, NULL);
    free(before);
    return rc ? rc : answer_deleted(ctx, id);
}

int promotion_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id};
    return answer_json(ctx, 200, PROMOTION_SQL, 1, params, PROMOTION_NOT_FOUND);
}

static const char *const states[] = {"active", "scheduled", "expired", "inactive", NULL};

int promotion_list(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char state[16], kind[16], q[65 * 4];
    answer_page_t page;
    int rc;
    if ((rc = input_choice(ctx, query, "status", IN_OPTIONAL, states, state, sizeof state, NULL)) ||
        (rc = input_choice(ctx, query, "kind", IN_OPTIONAL, kinds, kind, sizeof kind, NULL)) ||
        (rc = input_str(ctx, query, "q", IN_OPTIONAL, 1, 64, q, sizeof q, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {state[0] ? state : NULL,
                            kind[0] ? kind : NULL,
                            q[0] ? q : NULL,
                            page.page,
                            page.limit,
                            page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT p FROM promotions p WHERE p.deleted_at IS NULL "
        "  AND ($1::text IS NULL OR $1 = CASE WHEN NOT p.is_active THEN 'inactive' "
        "      WHEN now() < p.starts_at THEN 'scheduled' WHEN now() >= p.ends_at THEN 'expired' "
        "      ELSE 'active' END) "
        "  AND ($2::text IS NULL OR p.kind = $2) "
        "  AND ($3::text IS NULL OR strpos(lower(p.code), lower($3)) > 0 "
        "      OR strpos(lower(p.name), lower($3)) > 0)), "
        "page AS (SELECT p FROM hits ORDER BY (p).created_at DESC, (p).id "
        "  LIMIT $5::bigint OFFSET $6::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_promotion_json(p) "
        "  ORDER BY (p).created_at DESC, (p).id), '[]') FROM page), "
        "'pagination', mandi_pagination($4::bigint, $5::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        6, params, PROMOTION_NOT_FOUND);
}
