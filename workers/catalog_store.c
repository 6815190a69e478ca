/*
 * catalog_store - merchants' stores: public lists (by filters, or near a
 * point within each store's delivery radius) and the owner's writes.
 *
 * A merchant creates stores for itself; an admin names the merchant. Only
 * the owner or an admin changes a store. A store's state decides whether
 * its products are listed, so every store write bumps the product lists'
 * cache counter.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "catalog_cache.h"
#include "codec.h"
#include "input.h"
#include "mp.h"

#define MONEY_MAX 100000000000LL

static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

/* ---- reads --------------------------------------------------------------- */

int store_list(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char category[101], city[65], zone[65];
    answer_page_t page;
    int rc;
    if ((rc = input_str(ctx, query, "category", IN_OPTIONAL, 1, 100, category, sizeof category,
                        NULL)) ||
        (rc = input_str(ctx, query, "city", IN_OPTIONAL, 1, 64, city, sizeof city, NULL)) ||
        (rc = input_str(ctx, query, "zone", IN_OPTIONAL, 1, 64, zone, sizeof zone, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {category[0] ? category : NULL,
                            city[0] ? city : NULL,
                            zone[0] ? zone : NULL,
                            page.page,
                            page.limit,
                            page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT s FROM stores s LEFT JOIN categories c ON c.id = s.category_id "
        "  WHERE s.is_active AND ($1::text IS NULL OR c.slug = $1 OR c.id::text = $1) "
        "  AND ($2::text IS NULL OR lower(s.city) = lower($2)) "
        "  AND ($3::text IS NULL OR s.zone = $3)), "
        "page AS (SELECT s FROM hits ORDER BY (s).name, (s).id LIMIT $5::bigint "
        "  OFFSET $6::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_store_json(s) "
        "  ORDER BY (s).name, (s).id), '[]') FROM page), "
        "'pagination', mandi_pagination($4::bigint, $5::bigint, (SELECT count(*) FROM "
        "hits)))::text",
        6, params, STORE_NOT_FOUND);
}

/* A decimal query parameter in min..max; *out is left alone when absent. */
static int query_double(job_ctx_t *ctx, const char *field, int required, double min, double max,
                        double *out)
{
    char text[32];
    int found;
    int rc = input_str(ctx, input_query(ctx), field, required, 1, 30, text, sizeof text, &found);
    if (rc || found != IN_PRESENT)
        return rc;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end || errno || !isfinite(v))
        return input_fail(ctx, field, "%s must be a number", field);
    if (v < min || v > max)
        return input_fail(ctx, field, "%s must be between %g and %g", field, min, max);
    *out = v;
    return 0;
}

int store_nearby(job_ctx_t *ctx)
{
    double lat = 0, lng = 0, radius = 10;
    answer_page_t page;
    int rc;
    if ((rc = query_double(ctx, "lat", IN_REQUIRED, -90, 90, &lat)) ||
        (rc = query_double(ctx, "lng", IN_REQUIRED, -180, 180, &lng)) ||
        (rc = query_double(ctx, "radius_km", IN_OPTIONAL, 0.1, 100, &radius)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    char la[32], ln[32], ra[32];
    snprintf(la, sizeof la, "%.7f", lat);
    snprintf(ln, sizeof ln, "%.7f", lng);
    snprintf(ra, sizeof ra, "%.3f", radius);
    const char *params[] = {la, ln, ra, page.page, page.limit, page.offset};
    /* The bounding box lets the location index cut the candidates before
     * the exact distance is computed (1 degree of latitude ~ 111 km). */
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT s, mandi_distance_km($1::float8, $2::float8, s.latitude, "
        "  s.longitude) AS km FROM stores s WHERE s.is_active AND s.latitude IS NOT NULL "
        "  AND s.latitude BETWEEN $1::float8 - $3::float8 / 111.0 "
        "                     AND $1::float8 + $3::float8 / 111.0 "
        "  AND s.longitude BETWEEN $2::float8 - $3::float8 / (111.0 * greatest(cos(radians("
        "      $1::float8)), 0.01)) AND $2::float8 + $3::float8 / (111.0 * greatest(cos("
        "      radians($1::float8)), 0.01))), "
        "near AS (SELECT s, km FROM hits WHERE km <= $3::float8 AND km <= (s).delivery_radius_km), "
        "page AS (SELECT s, km FROM near ORDER BY km, (s).id LIMIT $5::bigint OFFSET $6::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_store_json(s) "
        "  || jsonb_build_object('distance_km', round(km::numeric, 2)) ORDER BY km, (s).id), "
        "  '[]') FROM page), "
        "'pagination', mandi_pagination($4::bigint, $5::bigint, (SELECT count(*) FROM "
        "near)))::text",
        6, params, STORE_NOT_FOUND);
}

int store_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id};
    return answer_json(ctx, 200,
                       "SELECT mandi_store_json(s)::text FROM stores s "
                       "WHERE s.id = $1 AND s.is_active",
                       1, params, STORE_NOT_FOUND);
}

/* ---- writes -------------------------------------------------------------- */

typedef struct {
    char owner[64], name[121 * 4], description[2001 * 4], category[37], city[65 * 4], zone[65],
        address[501 * 4];
    double latitude, longitude;
    int64_t radius, min_order, cashback;
    int is_active;
    buf_t hours;
    int has_owner, has_name, has_description, has_category, has_city, has_zone, has_address,
        has_latitude, has_longitude, has_radius, has_min_order, has_cashback, has_active, has_hours;
} store_input_t;

static int is_clock(const msgpack_object *o)
{
    const char *s = o->via.str.ptr;
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == 5 && s[2] == ':' && s[0] >= '0' &&
           s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' &&
           s[4] <= '9' && (s[0] < '2' || s[1] <= '3');
}

/* {"mon": ["09:00", "21:00"], "sun": null, ...}: a day is open from the
 * first time to the second (closing after midnight when it is earlier), or
 * closed when null; days not named are closed. */
static int read_hours(job_ctx_t *ctx, const msgpack_object *body, store_input_t *in)
{
    const msgpack_object *v;
    int rc =
        input_container(ctx, body, "hours", IN_OPTIONAL, MSGPACK_OBJECT_MAP, 7, &v, &in->has_hours);
    if (rc || !v)
        return rc;
    for (uint32_t i = 0; i < v->via.map.size; i++) {
        const msgpack_object *key = &v->via.map.ptr[i].key, *day = &v->via.map.ptr[i].val;
        int known = 0;
        for (int d = 0; days[d] && !known; d++)
            known = mp_str_is(key, days[d]);
        if (!known)
            return input_fail(ctx, "hours", "hours are keyed by mon, tue, wed, thu, fri, sat, sun");
        if (day->type == MSGPACK_OBJECT_NIL)
            continue;
        if (day->type != MSGPACK_OBJECT_ARRAY || day->via.array.size != 2 ||
            !is_clock(&day->via.array.ptr[0]) || !is_clock(&day->via.array.ptr[1]))
            return input_fail(ctx, "hours",
                              "each day of hours is [\"HH:MM\", \"HH:MM\"] or null (closed)");
    }
    if (codec_object_to_json(v, &in->hours, NULL) < 0)
        return input_fail(ctx, "hours", "hours cannot be stored");
    return 0;
}

static int read_store(job_ctx_t *ctx, int creating, store_input_t *in)
{
    const msgpack_object *body;
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "owner_id", IN_OPTIONAL, in->owner, &in->has_owner)) ||
        (rc = input_str(ctx, body, "name", creating, 1, 120, in->name, sizeof in->name,
                        &in->has_name)) ||
        (rc = input_text(ctx, body, "description", IN_OPTIONAL, 0, 2000, in->description,
                         sizeof in->description, &in->has_description)) ||
        (rc = input_uuid(ctx, body, "category_id", IN_OPTIONAL, in->category, &in->has_category)) ||
        (rc = input_str(ctx, body, "city", creating, 1, 64, in->city, sizeof in->city,
                        &in->has_city)) ||
        (rc = input_str(ctx, body, "zone", creating, 1, 64, in->zone, sizeof in->zone,
                        &in->has_zone)) ||
        (rc = input_str(ctx, body, "address", IN_OPTIONAL, 0, 500, in->address, sizeof in->address,
                        &in->has_address)) ||
        (rc = input_number(ctx, body, "latitude", IN_OPTIONAL, -90, 90, &in->latitude,
                           &in->has_latitude)) ||
        (rc = input_number(ctx, body, "longitude", IN_OPTIONAL, -180, 180, &in->longitude,
                           &in->has_longitude)) ||
        (rc = input_int(ctx, body, "delivery_radius_km", IN_OPTIONAL, 0, 100, &in->radius,
                        &in->has_radius)) ||
        (rc = input_int(ctx, body, "min_order_paise", IN_OPTIONAL, 0, MONEY_MAX, &in->min_order,
                        &in->has_min_order)) ||
        (rc = input_int(ctx, body, "cashback_bps", IN_OPTIONAL, 0, 10000, &in->cashback,
                        &in->has_cashback)) ||
        (rc = input_bool(ctx, body, "is_active", "is_active", &in->is_active, &in->has_active)) ||
        (rc = read_hours(ctx, body, in)))
        return rc;
    static const struct {
        const char *field;
        size_t offset;
    } not_null[] = {
        {"name", offsetof(store_input_t, has_name)},
        {"city", offsetof(store_input_t, has_city)},
        {"zone", offsetof(store_input_t, has_zone)},
        {"owner_id", offsetof(store_input_t, has_owner)},
        {"delivery_radius_km", offsetof(store_input_t, has_radius)},
        {"min_order_paise", offsetof(store_input_t, has_min_order)},
        {"cashback_bps", offsetof(store_input_t, has_cashback)},
        {"is_active", offsetof(store_input_t, has_active)},
        {"hours", offsetof(store_input_t, has_hours)},
    };
    for (size_t i = 0; i < sizeof not_null / sizeof not_null[0]; i++)
        if (*(const int *)((const char *)in + not_null[i].offset) == IN_NULL)
            return input_fail(ctx, not_null[i].field, "%s cannot be null", not_null[i].field);
    /* A location is both coordinates or neither. */
    if ((in->has_latitude == IN_ABSENT) != (in->has_longitude == IN_ABSENT) ||
        (in->has_latitude == IN_NULL) != (in->has_longitude == IN_NULL))
        return input_fail(ctx, in->has_latitude == IN_ABSENT ? "latitude" : "longitude",
                          "latitude and longitude are given together");
    if (in->has_owner == IN_PRESENT && !creating)
        return input_fail(ctx, "owner_id", "a store's owner does not change");
    return 0;
}

/* Decides the owner of a new store: the caller when a merchant, the
 * merchant named by owner_id when an admin. */
static int store_owner(job_ctx_t *ctx, store_input_t *in)
{
    if (!catalog_is_admin(ctx)) {
        if (in->has_owner == IN_PRESENT && strcmp(in->owner, ctx->job->user_id) != 0)
            return job_fail(ctx, 403, "NOT_STORE_OWNER", "a merchant opens stores for itself only");
        snprintf(in->owner, sizeof in->owner, "%s", ctx->job->user_id);
        return 0;
    }
    if (in->has_owner != IN_PRESENT)
        return input_fail(ctx, "owner_id", "owner_id is required when an admin opens a store");
    const char *params[] = {in->owner};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT 1 FROM users WHERE id = $1 AND role = 'MERCHANT' "
                                 "AND status = 'active'",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int merchant = PQntuples(res) == 1;
    PQclear(res);
    return merchant ? 0 : input_fail(ctx, "owner_id", "owner_id must name a merchant's account");
}

static int store_written(job_ctx_t *ctx, int status, PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && state && strcmp(state, "23503") == 0) {
        PQclear(res);
        return input_fail(ctx, "category_id", "category_id names no category");
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, STORE_NOT_FOUND);
    }
    int rc = answer_pack_json(ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    cache_bump_products(ctx, NULL);
    return rc ? rc : status;
}

typedef struct {
    char lat[32], lng[32], radius[24], min_order[24], cashback[24];
} store_numbers_t;

static void store_numbers(const store_input_t *in, store_numbers_t *n)
{
    snprintf(n->lat, sizeof n->lat, "%.7f", in->latitude);
    snprintf(n->lng, sizeof n->lng, "%.7f", in->longitude);
    snprintf(n->radius, sizeof n->radius, "%lld", (long long)in->radius);
    snprintf(n->min_order, sizeof n->min_order, "%lld", (long long)in->min_order);
    snprintf(n->cashback, sizeof n->cashback, "%lld", (long long)in->cashback);
}

int store_create(job_ctx_t *ctx)
{
    store_input_t in = {0};
    int rc = read_store(ctx, 1, &in);
    if (!rc)
        rc = store_owner(ctx, &in);
    if (rc) {
        buf_free(&in.hours);
        return rc;
    }
    store_numbers_t n;
    store_numbers(&in, &n);
    const char *params[] = {
        in.owner,
        in.name,
        input_value(in.has_description, in.description),
        input_value(in.has_category, in.category),
        in.city,
        in.zone,
        input_value(in.has_address, in.address),
        input_value(in.has_latitude, n.lat),
        input_value(in.has_longitude, n.lng),
        input_value(in.has_radius, n.radius),
        input_value(in.has_min_order, n.min_order),
        input_value(in.has_cashback, n.cashback),
        in.hours.len ? in.hours.data : NULL,
        in.has_active == IN_PRESENT ? (in.is_active ? "true" : "false") : NULL,
    };
    PGresult *res = PQexecParams(
        ctx->db,
        "INSERT INTO stores (owner_id, name, description, category_id, city, zone, address, "
        "latitude, longitude, delivery_radius_km, min_order_paise, cashback_bps, hours, "
        "is_active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::float8, $9::float8, "
        "coalesce($10::int, 5), coalesce($11::bigint, 0), coalesce($12::int, 0), "
        "coalesce($13::jsonb, '{}'), coalesce($14::boolean, true)) "
        "RETURNING mandi_store_json(stores)::text",
        14, NULL, params, NULL, NULL, 0);
    rc = store_written(ctx, 201, res);
    buf_free(&in.hours);
    return rc;
}

int store_update(job_ctx_t *ctx)
{
    char id[37];
    store_input_t in = {0};
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (!rc)
        rc = read_store(ctx, 0, &in);
    if (!rc)
        rc = catalog_own_store(ctx, id);
    if (rc) {
        buf_free(&in.hours);
        return rc;
    }
    store_numbers_t n;
    store_numbers(&in, &n);
    const char *params[] = {
        id,
        input_sent(in.has_name),
        input_value(in.has_name, in.name),
        input_sent(in.has_description),
        input_value(in.has_description, in.description),
        input_sent(in.has_category),
        input_value(in.has_category, in.category),
        input_sent(in.has_city),
        input_value(in.has_city, in.city),
        input_sent(in.has_zone),
        input_value(in.has_zone, in.zone),
        input_sent(in.has_address),
        input_value(in.has_address, in.address),
        input_sent(in.has_latitude),
        input_value(in.has_latitude, n.lat),
        input_value(in.has_longitude, n.lng),
        input_sent(in.has_radius),
        input_value(in.has_radius, n.radius),
        input_sent(in.has_min_order),
        input_value(in.has_min_order, n.min_order),
        input_sent(in.has_cashback),
        input_value(in.has_cashback, n.cashback),
        input_sent(in.has_hours),
        in.hours.len ? in.hours.data : NULL,
        input_sent(in.has_active),
        input_value(in.has_active, in.is_active ? "true" : "false"),
    };
    PGresult *res = PQexecParams(
        ctx->db,
        "UPDATE stores SET "
        "name = CASE WHEN $2 THEN $3 ELSE name END, "
        "description = CASE WHEN $4 THEN $5 ELSE description END, "
        "category_id = CASE WHEN $6 THEN $7::uuid ELSE category_id END, "
        "city = CASE WHEN $8 THEN $9 ELSE city END, "
        "zone = CASE WHEN $10 THEN $11 ELSE zone END, "
        "address = CASE WHEN $12 THEN $13 ELSE address END, "
        "latitude = CASE WHEN $14 THEN $15::float8 ELSE latitude END, "
        "longitude = CASE WHEN $14 THEN $16::float8 ELSE longitude END, "
        "delivery_radius_km = CASE WHEN $17 THEN $18::int ELSE delivery_radius_km END, "
        "min_order_paise = CASE WHEN $19 THEN $20::bigint ELSE min_order_paise END, "
        "cashback_bps = CASE WHEN $21 THEN $22::int ELSE cashback_bps END, "
        "hours = CASE WHEN $23 THEN $24::jsonb ELSE hours END, "
        "is_active = CASE WHEN $25 THEN $26::boolean ELSE is_active END, "
        "updated_at = now() WHERE id = $1 RETURNING mandi_store_json(stores)::text",
        26, NULL, params, NULL, NULL, 0);
    rc = store_written(ctx, 200, res);
    buf_free(&in.hours);
    return rc;
}
