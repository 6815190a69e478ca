/*
 * accounts_admin - the user list of the admin console, status and role
 * changes, and the audit log they write.
 *
 * The front has already checked the caller's role against the permission
 * table (common/roles.c); what needs data is checked here:
 *   - zones: a LOCATION_ADMIN sees and manages only users sharing one of
 *     its zones; others are 404 to it, as if they did not exist;
 *   - reach (role_reach): which accounts a caller may manage at all;
 *   - nobody changes their own status or role.
 * Every change is audited in the transaction that makes it, and ends the
 * target's sessions when its tokens would say something no longer true.
 */
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "input.h"
#include "mp.h"
#include "roles.h"

#define USER_NOT_FOUND "USER_NOT_FOUND", "the user does not exist"

/* Zones travel in tokens and job envelopes joined by commas (job_t.zones
 * holds 255 bytes): at most ZONES_MAX names of ZONE_MAX characters. */
#define ZONES_MAX 10
#define ZONE_MAX  24

static const char *const statuses[] = {"active", "suspended", "deactivated", NULL};
static const char *const settable_statuses[] = {"active", "suspended", NULL};

static int valid_zone(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > ZONE_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* The zones a caller's view is limited to, as a parameter text: the
 * caller's zones for a LOCATION_ADMIN, NULL (no limit) for the others. */
static const char *visible_zones(const job_ctx_t *ctx)
{
    return strcmp(ctx->job->role, "LOCATION_ADMIN") == 0 ? ctx->job->zones : NULL;
}

/* The condition on users u that keeps a LOCATION_ADMIN to its zones; the
 * statement's parameter $1 is visible_zones(). */
#define VISIBLE_TO_CALLER "($1::text IS NULL OR u.zones && string_to_array($1, ','))"

int admin_user_list(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char role[32], status[16], zone[ZONE_MAX * 4 + 1], search[101 * 4];
    answer_page_t page;
    int rc;
    if ((rc = input_choice(ctx, query, "role", IN_OPTIONAL, ROLE_NAMES, role, sizeof role, NULL)) ||
        (rc = input_choice(ctx, query, "status", IN_OPTIONAL, statuses, status, sizeof status,
                           NULL)) ||
        (rc = input_str(ctx, query, "zone", IN_OPTIONAL, 1, ZONE_MAX, zone, sizeof zone, NULL)) ||
        (rc = input_str(ctx, query, "search", IN_OPTIONAL, 1, 100, search, sizeof search, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    if (zone[0] && !valid_zone(zone))
        return input_fail(ctx, "zone", "zone must be letters, digits, '_' or '-'");
    const char *params[] = {visible_zones(ctx),
                            role[0] ? role : NULL,
                            status[0] ? status : NULL,
                            zone[0] ? zone : NULL,
                            search[0] ? search : NULL,
                            page.page,
                            page.limit,
                            page.offset};
    /* search matches name, email and phone as plain text: LIKE's wildcards
     * in it are escaped. */
    return answer_json(
        ctx, 200,
        "WITH f AS (SELECT u.id, u.created_at FROM users u WHERE " VISIBLE_TO_CALLER
        " AND ($2::text IS NULL OR u.role = $2) AND ($3::text IS NULL OR u.status = $3) "
        "AND ($4::text IS NULL OR $4 = ANY (u.zones)) "
        "AND ($5::text IS NULL OR concat_ws(' ', u.name, u.email, u.phone) ILIKE '%' || "
        "replace(replace(replace($5, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')), "
        "p AS (SELECT id FROM f ORDER BY created_at DESC, id DESC LIMIT $7::bigint "
        "OFFSET $8::bigint) "
        "SELECT jsonb_build_object('items', coalesce((SELECT jsonb_agg(mandi_user_json(u) "
        "ORDER BY u.created_at DESC, u.id DESC) FROM users u JOIN p USING (id)), '[]'), "
        "'pagination', mandi_pagination($6::bigint, $7::bigint, (SELECT count(*) FROM f)))::text",
        8, params, USER_NOT_FOUND);
}

/* The target id of the path, which must not be the caller. */
static int target_id(job_ctx_t *ctx, char id[37], const char *what)
{
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc || !what || strcmp(id, ctx->job->user_id) != 0)
        return rc;
    return job_fail(ctx, 403, "CANNOT_CHANGE_SELF", "nobody changes their own %s", what);
}

int admin_user_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = target_id(ctx, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {visible_zones(ctx), id};
    return answer_json(ctx, 200,
                       "SELECT mandi_user_json(u)::text FROM users u WHERE " VISIBLE_TO_CALLER
                       " AND u.id = $2::uuid",
                       2, params, USER_NOT_FOUND);
}

/* The target's row, locked for the change. */
typedef struct {
    char role[32], status[16], zones[256];
    char json[4096];
} target_t;

static int lock_target(job_ctx_t *ctx, const char *id, target_t *t)
{
    const char *params[] = {visible_zones(ctx), id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT u.role, u.status, array_to_string(u.zones, ','), "
                                 "jsonb_build_object('role', u.role, 'zones', to_jsonb(u.zones), "
                                 "'status', u.status)::text FROM users u WHERE " VISIBLE_TO_CALLER
                                 " AND u.id = $2::uuid FOR NO KEY UPDATE",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, USER_NOT_FOUND);
    }
    snprintf(t->role, sizeof t->role, "%s", PQgetvalue(res, 0, 0));
    snprintf(t->status, sizeof t->status, "%s", PQgetvalue(res, 0, 1));
    snprintf(t->zones, sizeof t->zones, "%s", PQgetvalue(res, 0, 2));
    snprintf(t->json, sizeof t->json, "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    if (!role_in(t->role, role_reach(ctx->job->role)))
        return job_fail(ctx, 403, "FORBIDDEN", "a %s cannot change a %s account", ctx->job->role,
                        t->role);
    return 0;
}

/* Applies a change to the target's row (sql: $1 the id, then values),
 * audits it and answers the user as it now is. */
static int apply_change(job_ctx_t *ctx, const char *id, const target_t *before, const char *action,
                        const char *sql, int nparams, const char *const *params)
{
    PGresult *res = PQexecParams(ctx->db, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int rc = accounts_audit(ctx, action, "user", id, before->json, PQgetvalue(res, 0, 1));
    if (!rc)
        rc = answer_pack_json(ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc;
}

/* What a change returns: the user, and the audited fields. */
#define CHANGED_USER                                                                               \
    "RETURNING mandi_user_json(u)::text, jsonb_build_object('role', u.role, 'zones', "             \
    "to_jsonb(u.zones), 'status', u.status)::text"

int admin_user_set_status(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37], status[16];
    target_t t;
    int rc;
    if ((rc = target_id(ctx, id, "status")) || (rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "status", IN_REQUIRED, settable_statuses, status,
                           sizeof status, NULL)) ||
        (rc = lock_target(ctx, id, &t)))
        return rc;
    /* Deactivation is the user's own choice (DELETE /api/users/me). */
    if (strcmp(t.status, "deactivated") == 0)
        return job_fail(ctx, 409, "ACCOUNT_DEACTIVATED", "the account was deactivated by its user");
    if (strcmp(t.status, status) == 0) {
        const char *params[] = {id};
        return answer_json(ctx, 200,
                           "SELECT mandi_user_json(u)::text FROM users u "
                           "WHERE u.id = $1::uuid",
                           1, params, USER_NOT_FOUND);
    }
    const char *params[] = {id, status};
    if ((rc = apply_change(ctx, id, &t, "user.status",
                           "UPDATE users u SET status = $2, updated_at = now() "
                           "WHERE id = $1::uuid " CHANGED_USER,
                           2, params)))
        return rc;
    /* A suspended user's tokens stop working now, not in an hour. */
    if (strcmp(status, "suspended") == 0 && (rc = session_revoke_user(ctx, id, "suspended")))
        return rc;
    return 200;
}

/* Whether zone is one of the names of the comma-joined list. */
static int zone_listed(const char *list, const char *zone)
{
    size_t len = strlen(zone);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && memcmp(p, zone, len) == 0)
            return 1;
        p += n + (comma != NULL);
    }
    return 0;
}

/* Reads "zones" into a comma-joined list without repeats (out: 256). */
static int read_zones(job_ctx_t *ctx, const msgpack_object *body, char *out, size_t cap, int *count)
{
    const msgpack_object *v = mp_get(body, "zones");
    out[0] = '\0';
    *count = 0;
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return input_fail(ctx, "zones", "zones must be an array of zone names");
    if (v->via.array.size > ZONES_MAX)
        return input_fail(ctx, "zones", "zones holds at most %d names", ZONES_MAX);
    size_t used = 0;
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        char zone[ZONE_MAX + 2];
        const msgpack_object *z = &v->via.array.ptr[i];
        if (z->type != MSGPACK_OBJECT_STR || mp_copy_str(z, zone, sizeof zone) < 0 ||
            !valid_zone(zone))
            return input_fail(ctx, "zones",
                              "zones must be names of 1 to %d letters, digits, '_' or '-'",
                              ZONE_MAX);
        if (zone_listed(out, zone))
            continue;
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "," : "", zone);
        (*count)++;
    }
    return 0;
}

int admin_user_set_role(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37], role[32], zones[256];
    target_t t;
    int rc, zone_count;
    if ((rc = target_id(ctx, id, "role")) || (rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "role", IN_REQUIRED, ROLE_NAMES, role, sizeof role, NULL)) ||
        (rc = read_zones(ctx, body, zones, sizeof zones, &zone_count)))
        return rc;
    if (zone_count == 0 && role_in(role, ROLE_LOCATION_ADMIN | ROLE_MERCHANT))
        return input_fail(ctx, "zones", "a %s needs at least one zone in zones", role);
    if (!role_in(role, role_reach(ctx->job->role)))
        return job_fail(ctx, 403, "FORBIDDEN", "a %s cannot grant the role %s", ctx->job->role,
                        role);
    if ((rc = lock_target(ctx, id, &t)))
        return rc;
    if (strcmp(t.status, "deactivated") == 0)
        return job_fail(ctx, 409, "ACCOUNT_DEACTIVATED", "the account was deactivated by its user");
    const char *params[] = {id, role, zones};
    if ((rc = apply_change(ctx, id, &t, "user.role",
                           "UPDATE users u SET role = $2, zones = string_to_array($3, ','), "
                           "updated_at = now() WHERE id = $1::uuid " CHANGED_USER,
                           3, params)))
        return rc;
    /* Tokens carry the role and zones: the old ones must not outlive them. */
    if (strcmp(t.role, role) != 0 || strcmp(t.zones, zones) != 0)
        return (rc = session_revoke_user(ctx, id, "role_changed")) ? rc : 200;
    return 200;
}

int audit_list(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char actor[37], target_type[33 * 4], target[65 * 4], action[65 * 4], from[11], to[11];
    answer_page_t page;
    int rc;
    if ((rc = input_uuid(ctx, query, "actor_id", IN_OPTIONAL, actor, NULL)) ||
        (rc = input_str(ctx, query, "target_type", IN_OPTIONAL, 1, 32, target_type,
                        sizeof target_type, NULL)) ||
        (rc =
             input_str(ctx, query, "target_id", IN_OPTIONAL, 1, 64, target, sizeof target, NULL)) ||
        (rc = input_str(ctx, query, "action", IN_OPTIONAL, 1, 64, action, sizeof action, NULL)) ||
        (rc = input_date_range(ctx, query, from, to)) || (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {actor[0] ? actor : NULL,
                            target_type[0] ? target_type : NULL,
                            target[0] ? target : NULL,
                            action[0] ? action : NULL,
                            from[0] ? from : NULL,
                            to[0] ? to : NULL,
                            page.page,
                            page.limit,
                            page.offset};
    /* from and to are whole UTC days, both included. */
    return answer_json(
        ctx, 200,
        "WITH f AS (SELECT a.id FROM audit_log a WHERE ($1::uuid IS NULL OR a.actor_id = $1) "
        "AND ($2::text IS NULL OR a.target_type = $2) AND ($3::text IS NULL OR a.target_id = $3) "
        "AND ($4::text IS NULL OR a.action = $4) "
        "AND ($5::date IS NULL OR a.created_at >= $5::date::timestamp AT TIME ZONE 'UTC') "
        "AND ($6::date IS NULL OR a.created_at < ($6::date + 1)::timestamp AT TIME ZONE 'UTC')), "
        "p AS (SELECT id FROM f ORDER BY id DESC LIMIT $8::bigint OFFSET $9::bigint) "
        "SELECT jsonb_build_object('items', coalesce((SELECT jsonb_agg(mandi_audit_json(a) "
        "ORDER BY a.id DESC) FROM audit_log a JOIN p USING (id)), '[]'), "
        "'pagination', mandi_pagination($7::bigint, $8::bigint, (SELECT count(*) FROM f)))::text",
        9, params, "AUDIT_NOT_FOUND", "no audit entries");
}
