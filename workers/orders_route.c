/*
 * orders_route - delivery routes: a driver's run through one zone on one
 * day, and the orders it carries in the order of its stops.
 *
 * Staff with delivery.manage keep them: an admin everywhere, a
 * LOCATION_ADMIN in its zones, where a route of another zone answers 404
 * as if it did not exist (and making one there 403: the caller named the
 * zone). Every write locks the route's row first, so two changes to one
 * route take turns, and is recorded in the audit log.
 *
 * A route's orders are given as a whole list that replaces the one before
 * (an empty list empties it), all or nothing: every order must be of the
 * route's zone and ready to go out (PROCESSING or SHIPPED) or already on
 * this route, and on no other route. The orders are locked in id order
 * while they are checked, so a status change or an assignment to another
 * route cannot slip in between (and two assignments cannot deadlock). A
 * refusal lists every bad order, not only the first.
 *
 * A route's zone is fixed while it holds orders (they are of that zone),
 * and a route is deleted only once empty: its list of deliveries is worth
 * keeping; emptying it first is an explicit choice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "buf.h"
#include "codec.h"
#include "input.h"
#include "orders.h"

#define ROUTE_NOT_FOUND  "ROUTE_NOT_FOUND", "the delivery route does not exist"
#define ROUTE_ORDERS_MAX 200
#define ZONE_CHARS       64 /* as a store's zone, which its orders copy */

/* The statuses an order may join a route in: ready to go out, or out. */
#define READY_STATUSES "{PROCESSING,SHIPPED}"

/* Statements take $1 role and $2 zones; IN_REACH(zone) is true when the
 * caller may manage what lies in zone: a route r, an order o, or the zone
 * $3. */
#define IN_REACH(zone)                                                                             \
    "($1 IN ('ADMIN', 'SUPER_ADMIN') OR ($1 = 'LOCATION_ADMIN' AND " zone                          \
    " = ANY (string_to_array($2, ','))))"
#define ROUTE_IN_REACH IN_REACH("r.zone")
#define ORDER_IN_REACH IN_REACH("o.zone")
#define ZONE_IN_REACH  IN_REACH("$3")

/* What the audit log keeps of a route: its fields, not its orders. */
#define ROUTE_FIELDS_JSON "mandi_delivery_route_fields_json(r)::text"

typedef struct {
    char id[37], zone[ZONE_CHARS * 4 + 1];
    long orders;
    buf_t fields; /* ROUTE_FIELDS_JSON as it was, for the audit log */
} route_row_t;

static int path_id(job_ctx_t *ctx, char id[37])
{
    return input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
}

/* Locks route id when the caller reaches it, else answers 404. */
static int lock_route(job_ctx_t *ctx, const char *id, route_row_t *r)
{
    const char *params[] = {ctx->job->role, ctx->job->zones, id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT r.zone, (SELECT count(*) FROM delivery_route_orders a "
                                 "WHERE a.route_id = r.id), " ROUTE_FIELDS_JSON
                                 " FROM delivery_routes r WHERE r.id = $3::uuid "
                                 "AND " ROUTE_IN_REACH " FOR UPDATE OF r",
                                 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(r->id, sizeof r->id, "%s", id);
        snprintf(r->zone, sizeof r->zone, "%s", PQgetvalue(res, 0, 0));
        r->orders = atol(PQgetvalue(res, 0, 1));
        buf_append(&r->fields, PQgetvalue(res, 0, 2), (size_t)PQgetlength(res, 0, 2));
    }
    PQclear(res);
    return found ? 0 : job_fail(ctx, 404, ROUTE_NOT_FOUND);
}

/* A LOCATION_ADMIN places routes only in its own zones. */
static int check_zone_reach(job_ctx_t *ctx, const char *zone)
{
    const char *params[] = {ctx->job->role, ctx->job->zones, zone};
    PGresult *res;
    int rc = answer_row(ctx, "SELECT " ZONE_IN_REACH, 3, params, &res);
    if (rc)
        return rc;
    int reached = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (reached)
        return 0;
    job_fail(ctx, 403, "FORBIDDEN", "zone %s is not one of your zones", zone);
    job_fail_detail_str(ctx, "field", "zone");
    return 403;
}

static int refuse_with_orders(job_ctx_t *ctx, const route_row_t *r, const char *why)
{
    job_fail(ctx, 409, "ROUTE_HAS_ORDERS", "the route holds %ld orders: %s", r->orders, why);
    job_fail_detail_i64(ctx, "order_count", r->orders);
    return 409;
}

/* Answers route id as it is now with ok_status. */
static int answer_route(job_ctx_t *ctx, int ok_status, const char *id)
{
    const char *params[] = {id};
    return answer_json(ctx, ok_status,
                       "SELECT mandi_delivery_route_json(r)::text FROM delivery_routes r "
                       "WHERE r.id = $1::uuid",
                       1, params, ROUTE_NOT_FOUND);
}

/* Runs a write that returns one route's id and ROUTE_FIELDS_JSON, records
 * it in the audit log as action (before: NULL for a new route), and
 * answers the route with ok_status. */
static int write_route(job_ctx_t *ctx, int ok_status, const char *action, const char *before,
                       const char *sql, int nparams, const char *const *params)
{
    PGresult *res;
    int rc = answer_row(ctx, sql, nparams, params, &res);
    if (rc)
        return rc;
    char id[37];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    rc = accounts_audit(ctx, action, "delivery_route", id, before, PQgetvalue(res, 0, 1));
    PQclear(res);
    return rc ? rc : answer_route(ctx, ok_status, id);
}

/* ---- a route's fields ---------------------------------------------------- */

typedef struct {
    char zone[ZONE_CHARS * 4 + 1], driver_name[101 * 4], driver_phone[14], route_date[11],
        notes[501 * 4];
    int has_zone, has_driver_name, has_driver_phone, has_route_date, has_notes;
} route_input_t;

/* Reads the body of a create (zone, driver_name and route_date required)
 * or of an update (any field, at least one). */
static int read_route(job_ctx_t *ctx, int creating, route_input_t *in)
{
    const msgpack_object *body;
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "zone", creating, 1, ZONE_CHARS, in->zone, sizeof in->zone,
                        &in->has_zone)) ||
        (rc = input_str(ctx, body, "driver_name", creating, 1, 100, in->driver_name,
                        sizeof in->driver_name, &in->has_driver_name)) ||
        (rc = input_phone(ctx, body, "driver_phone", IN_OPTIONAL, in->driver_phone,
                          &in->has_driver_phone)) ||
        (rc = input_date(ctx, body, "route_date", creating, 0, in->route_date,
                         &in->has_route_date)) ||
        (rc = input_text(ctx, body, "notes", IN_OPTIONAL, 1, 500, in->notes, sizeof in->notes,
                         &in->has_notes)))
        return rc;
    /* A route always has these; an update may change them, not clear them. */
    static const char *const kept[] = {"zone", "driver_name", "route_date"};
    const int found[] = {in->has_zone, in->has_driver_name, in->has_route_date};
    if ((rc = input_kept(ctx, kept, found, sizeof kept / sizeof kept[0])))
        return rc;
    if (!in->has_zone && !in->has_driver_name && !in->has_driver_phone && !in->has_route_date &&
        !in->has_notes)
        return input_fail(ctx, "body", "the body must hold at least one field to change");
    return 0;
}

/* ---- reads --------------------------------------------------------------- */

int route_list(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char zone[ZONE_CHARS * 4 + 1], date[11];
    answer_page_t page;
    int rc;
    if ((rc = input_str(ctx, query, "zone", IN_OPTIONAL, 1, ZONE_CHARS, zone, sizeof zone, NULL)) ||
        (rc = input_date(ctx, query, "date", IN_OPTIONAL, 0, date, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {
        ctx->job->role, ctx->job->zones, zone[0] ? zone : NULL, date[0] ? date : NULL,
        page.page,      page.limit,      page.offset,
    };
    /* The latest date first, then the newest made. */
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT r FROM delivery_routes r WHERE " ROUTE_IN_REACH
        "  AND ($3::text IS NULL OR r.zone = $3) AND ($4::date IS NULL OR r.route_date = $4)), "
        "page AS (SELECT r FROM hits ORDER BY (r).route_date DESC, (r).created_at DESC, (r).id "
        "  LIMIT $6::bigint OFFSET $7::bigint) "
        "SELECT jsonb_build_object("
        "  'items', (SELECT coalesce(jsonb_agg(mandi_delivery_route_json(r) "
        "    ORDER BY (r).route_date DESC, (r).created_at DESC, (r).id), '[]') FROM page), "
        "  'pagination', mandi_pagination($5::bigint, $6::bigint, "
        "    (SELECT count(*) FROM hits)))::text",
        7, params, ROUTE_NOT_FOUND);
}

int route_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = path_id(ctx, id);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->role, ctx->job->zones, id};
    return answer_json(ctx, 200,
                       "SELECT mandi_delivery_route_json(r)::text FROM delivery_routes r "
                       "WHERE r.id = $3::uuid AND " ROUTE_IN_REACH,
                       3, params, ROUTE_NOT_FOUND);
}

/* ---- the route's own writes ---------------------------------------------- */

int route_create(job_ctx_t *ctx)
{
    route_input_t in;
    int rc;
    if ((rc = read_route(ctx, 1, &in)) || (rc = check_zone_reach(ctx, in.zone)))
        return rc;
    const char *params[] = {in.zone,
                            in.driver_name,
                            input_value(in.has_driver_phone, in.driver_phone),
                            in.route_date,
                            input_value(in.has_notes, in.notes),
                            ctx->job->user_id};
    return write_route(ctx, 201, "delivery.route_create", NULL,
                       "INSERT INTO delivery_routes AS r (zone, driver_name, driver_phone, "
                       "route_date, notes, created_by) VALUES ($1, $2, $3, $4::date, $5, $6::uuid) "
                       "RETURNING r.id, " ROUTE_FIELDS_JSON,
                       6, params);
}

int route_update(job_ctx_t *ctx)
{
    route_input_t in;
    route_row_t r = {.fields = BUF_INIT};
    char id[37];
    int rc;
    if ((rc = path_id(ctx, id)) || (rc = read_route(ctx, 0, &in)) || (rc = lock_route(ctx, id, &r)))
        goto done;
    if (in.has_zone && strcmp(in.zone, r.zone) != 0) {
        if (r.orders > 0) {
            rc = refuse_with_orders(ctx, &r, "its zone cannot change (its orders are of it)");
            goto done;
        }
        if ((rc = check_zone_reach(ctx, in.zone)))
            goto done;
    }
    const char *params[] = {id,
                            input_value(in.has_zone, in.zone),
                            input_value(in.has_driver_name, in.driver_name),
                            input_sent(in.has_driver_phone),
                            input_value(in.has_driver_phone, in.driver_phone),
                            input_value(in.has_route_date, in.route_date),
                            input_sent(in.has_notes),
                            input_value(in.has_notes, in.notes)};
    rc = write_route(ctx, 200, "delivery.route_update", r.fields.data,
                     "UPDATE delivery_routes r SET zone = coalesce($2, zone), "
                     "driver_name = coalesce($3, driver_name), "
                     "driver_phone = CASE WHEN $4::boolean THEN $5 ELSE driver_phone END, "
                     "route_date = coalesce($6::date, route_date), "
                     "notes = CASE WHEN $7::boolean THEN $8 ELSE notes END, updated_at = now() "
                     "WHERE r.id = $1::uuid RETURNING r.id, " ROUTE_FIELDS_JSON,
                     8, params);
done:
    buf_free(&r.fields);
    return rc;
}

int route_delete(job_ctx_t *ctx)
{
    route_row_t r = {.fields = BUF_INIT};
    char id[37];
    int rc;
    if ((rc = path_id(ctx, id)) || (rc = lock_route(ctx, id, &r)))
        goto done;
    if (r.orders > 0) {
        rc = refuse_with_orders(ctx, &r, "empty it first (PATCH its orders with an empty list)");
        goto done;
    }
    const char *params[] = {id};
    if ((rc = answer_exec(ctx, "DELETE FROM delivery_routes WHERE id = $1::uuid", 1, params)) ||
        (rc = accounts_audit(ctx, "delivery.route_delete", "delivery_route", id, r.fields.data,
                             NULL)))
        goto done;
    rc = answer_deleted(ctx, id);
done:
    buf_free(&r.fields);
    return rc;
}

/* ---- assigning orders ---------------------------------------------------- */

/* Why an order may not be on the route, as the pool's check names it. */
static const struct {
    const char *code;
    int status;
    const char *why;
} refusals[] = {
    {"ORDER_NOT_FOUND", 404, "does not exist"},
    {"ORDER_NOT_IN_ZONE", 409, "is not of the route's zone"},
    {"ORDER_ON_ANOTHER_ROUTE", 409, "is on another route"},
    {"ORDER_NOT_READY", 409, "is not ready to go out (PROCESSING or SHIPPED)"},
};
#define REFUSAL_COUNT (sizeof refusals / sizeof refusals[0])

/* The ids as a PostgreSQL array literal, e.g. "{a,b}" (UUIDs need no
 * quoting). */
static void uuid_array(char (*ids)[37], uint32_t n, buf_t *out)
{
    buf_append_char(out, '{');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_append_char(out, ',');
        buf_append_str(out, ids[i]);
    }
    buf_append_char(out, '}');
}

/* Locks the orders named (in id order: two assignments never deadlock)
 * and refuses the list when any of them may not ride on route r: the
 * answer takes the first bad order's code and status, and details
 * {"order_ids": [...], "problems": [{"order_id", "code", ...}]} list every
 * one in the list's order. */
static int check_orders(job_ctx_t *ctx, const route_row_t *r, const char *ids)
{
    const char *list[] = {ids};
    int rc = answer_exec(ctx,
                         "SELECT 1 FROM orders WHERE id = ANY ($1::uuid[]) ORDER BY id "
                         "FOR NO KEY UPDATE",
                         1, list);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->role, ctx->job->zones, ids, r->zone, r->id, READY_STATUSES};
    PGresult *res;
    rc = answer_row(
        ctx,
        "WITH c AS (SELECT w.id, w.n, o.zone, o.status, a.route_id, "
        "  CASE WHEN o.id IS NULL OR NOT " ORDER_IN_REACH " THEN 'ORDER_NOT_FOUND' "
        "    WHEN o.zone <> $4 THEN 'ORDER_NOT_IN_ZONE' "
        "    WHEN a.route_id <> $5::uuid THEN 'ORDER_ON_ANOTHER_ROUTE' "
        "    WHEN a.route_id IS NULL AND o.status <> ALL ($6::text[]) "
        "      THEN 'ORDER_NOT_READY' "
        "  END AS code "
        "  FROM unnest($3::uuid[]) WITH ORDINALITY AS w (id, n) "
        "  LEFT JOIN orders o ON o.id = w.id "
        "  LEFT JOIN delivery_route_orders a ON a.order_id = w.id), "
        "bad AS (SELECT * FROM c WHERE code IS NOT NULL) "
        "SELECT (SELECT code FROM bad ORDER BY n LIMIT 1), "
        "  (SELECT id FROM bad ORDER BY n LIMIT 1), (SELECT count(*) FROM bad), "
        "  jsonb_build_object("
        "    'order_ids', (SELECT jsonb_agg(id ORDER BY n) FROM bad), "
        "    'problems', (SELECT jsonb_agg("
        "      jsonb_build_object('order_id', id, 'code', code) || CASE code "
        "        WHEN 'ORDER_NOT_IN_ZONE' THEN jsonb_build_object('zone', zone) "
        "        WHEN 'ORDER_NOT_READY' THEN jsonb_build_object('status', status) "
        "        WHEN 'ORDER_ON_ANOTHER_ROUTE' THEN jsonb_build_object('route_id', route_id) "
        "        ELSE '{}' END ORDER BY n) FROM bad))::text",
        6, params, &res);
    if (rc)
        return rc;
    if (PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return 0;
    }
    /* The statement names only codes of the table. */
    const char *code = PQgetvalue(res, 0, 0);
    size_t i = 0;
    while (i < REFUSAL_COUNT - 1 && strcmp(refusals[i].code, code) != 0)
        i++;
    long more = atol(PQgetvalue(res, 0, 2)) - 1;
    char others[64] = "";
    if (more > 0)
        snprintf(others, sizeof others, " (and %ld more: see details.problems)", more);
    rc = job_fail(ctx, refusals[i].status, refusals[i].code, "order_ids: order %s %s%s",
                  PQgetvalue(res, 0, 1), refusals[i].why, others);
    buf_t details = BUF_INIT;
    if (codec_json_to_msgpack(PQgetvalue(res, 0, 3), (size_t)PQgetlength(res, 0, 3), &details,
                              NULL) == 0)
        job_fail_details(ctx, details.data, details.len);
    buf_free(&details);
    PQclear(res);
    return rc;
}

/* Makes ids (checked) the route's orders, stops numbered in their order:
 * orders staying keep the time they were assigned. Records
 * delivery.route_assigned (the route, its orders, those added and
 * removed) and the audit line. */
static int replace_orders(job_ctx_t *ctx, const route_row_t *r, const char *ids)
{
    const char *params[] = {r->id, ids, ctx->job->user_id};
    PGresult *res;
    int rc = answer_row(
        ctx,
        "WITH w AS (SELECT id, n FROM unnest($2::uuid[]) WITH ORDINALITY AS w (id, n)), "
        "old AS (SELECT order_id, stop FROM delivery_route_orders WHERE route_id = $1::uuid), "
        "d AS (DELETE FROM delivery_route_orders a WHERE a.route_id = $1::uuid "
        "  AND a.order_id NOT IN (SELECT id FROM w) RETURNING a.order_id), "
        "u AS (UPDATE delivery_route_orders a SET stop = w.n FROM w "
        "  WHERE a.route_id = $1::uuid AND a.order_id = w.id), "
        "i AS (INSERT INTO delivery_route_orders (route_id, order_id, stop, assigned_by) "
        "  SELECT $1::uuid, w.id, w.n, $3::uuid FROM w "
        "  WHERE w.id NOT IN (SELECT order_id FROM old) RETURNING order_id), "
        "r AS (UPDATE delivery_routes SET updated_at = now() WHERE id = $1::uuid RETURNING *) "
        "SELECT jsonb_build_object('route_id', r.id, 'zone', r.zone, "
        "    'route_date', r.route_date, 'driver_name', r.driver_name, "
        "    'driver_phone', r.driver_phone, "
        "    'order_ids', (SELECT coalesce(jsonb_agg(id ORDER BY n), '[]') FROM w), "
        "    'added', (SELECT coalesce(jsonb_agg(order_id), '[]') FROM i), "
        "    'removed', (SELECT coalesce(jsonb_agg(order_id), '[]') FROM d))::text, "
        "  jsonb_build_object('order_ids', "
        "    (SELECT coalesce(jsonb_agg(order_id ORDER BY stop), '[]') FROM old))::text, "
        "  jsonb_build_object('order_ids', "
        "    (SELECT coalesce(jsonb_agg(id ORDER BY n), '[]') FROM w))::text "
        "FROM r",
        3, params, &res);
    if (rc)
        return rc;
    if (job_event_json(ctx, "delivery.route_assigned", PQgetvalue(res, 0, 0),
                       (size_t)PQgetlength(res, 0, 0)) < 0)
        rc = job_fail(ctx, 503, "DB_UNAVAILABLE", "the route event could not be recorded");
    else
        rc = accounts_audit(ctx, "delivery.route_assign", "delivery_route", r->id,
                            PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    PQclear(res);
    return rc;
}

int route_assign(job_ctx_t *ctx)
{
    char ids[ROUTE_ORDERS_MAX][37];
    const msgpack_object *body;
    route_row_t r = {.fields = BUF_INIT};
    buf_t list = BUF_INIT;
    char id[37];
    uint32_t count;
    int rc;
    if ((rc = path_id(ctx, id)) || (rc = input_body(ctx, &body)) ||
        (rc = input_uuid_list(ctx, body, "order_ids", IN_REQUIRED, ROUTE_ORDERS_MAX, ids, &count,
                              NULL)) ||
        (rc = lock_route(ctx, id, &r)))
        goto done;
    uuid_array(ids, count, &list);
    if ((rc = check_orders(ctx, &r, list.data)) || (rc = replace_orders(ctx, &r, list.data)))
        goto done;
    rc = answer_route(ctx, 200, id);
done:
    buf_free(&list);
    buf_free(&r.fields);
    return rc;
}
