/*
 * accounts_address - the caller's delivery addresses.
 *
 * Every statement is keyed by the caller (the token's subject) as well as
 * the address id, so another user's address reads as missing: 404, never
 * 403, which would confirm that the id exists.
 *
 * Exactly one default per user: the first address becomes the default, a
 * new default takes the flag from the old one, and deleting the default
 * hands it to the most recent remaining address. Each change first locks
 * the caller's users row, so two requests of one user take turns; the
 * unique index addresses_one_default is the last line of defence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "input.h"

/* More than a household needs; keeps one user from filling the table. */
#define ADDRESSES_MAX 20

#define ADDRESS_NOT_FOUND "ADDRESS_NOT_FOUND", "the address does not exist"

/* The fields of a body, with what was found of each. */
typedef struct {
    char label[31 * 4], name[101 * 4], phone[14], line1[201 * 4], line2[201 * 4], landmark[201 * 4],
        city[101 * 4], state[101 * 4], pincode[7];
    char latitude[32], longitude[32];
    int has_label, has_name, has_phone, has_line1, has_line2, has_landmark, has_city, has_state,
        has_pincode, has_position, has_default;
    int is_default;
} address_input_t;

static int valid_pincode(const char *s)
{
    if (strlen(s) != 6 || s[0] < '1' || s[0] > '9')
        return 0;
    for (int i = 1; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Reads the body; for a new address (creating) the required fields must
 * be there, for an update every field is optional but none that the
 * address needs may be removed. */
static int read_address(job_ctx_t *ctx, int creating, address_input_t *in)
{
    const msgpack_object *body;
    int req = creating ? IN_REQUIRED : IN_OPTIONAL, rc;
    memset(in, 0, sizeof *in);
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "label", IN_OPTIONAL, 1, 30, in->label, sizeof in->label,
                        &in->has_label)) ||
        (rc =
             input_str(ctx, body, "name", req, 1, 100, in->name, sizeof in->name, &in->has_name)) ||
        (rc = input_phone(ctx, body, "phone", req, in->phone, &in->has_phone)) ||
        (rc = input_str(ctx, body, "line1", req, 1, 200, in->line1, sizeof in->line1,
                        &in->has_line1)) ||
        (rc = input_str(ctx, body, "line2", IN_OPTIONAL, 1, 200, in->line2, sizeof in->line2,
                        &in->has_line2)) ||
        (rc = input_str(ctx, body, "landmark", IN_OPTIONAL, 1, 200, in->landmark,
                        sizeof in->landmark, &in->has_landmark)) ||
        (rc =
             input_str(ctx, body, "city", req, 1, 100, in->city, sizeof in->city, &in->has_city)) ||
        (rc = input_str(ctx, body, "state", req, 1, 100, in->state, sizeof in->state,
                        &in->has_state)) ||
        (rc = input_str(ctx, body, "pincode", req, 6, 6, in->pincode, sizeof in->pincode,
                        &in->has_pincode)) ||
        (rc = input_bool(ctx, body, "is_default", "is_default", &in->is_default, &in->has_default)))
        return rc;
    static const char *const needed[] = {"name", "phone", "line1", "city", "state", "pincode"};
    const int found[] = {in->has_name, in->has_phone, in->has_line1,
                         in->has_city, in->has_state, in->has_pincode};
    if ((rc = input_kept(ctx, needed, found, sizeof needed / sizeof needed[0])))
        return rc;
    if (in->has_default == IN_NULL)
        return input_fail(ctx, "is_default", "is_default must be true or false");
    if (in->has_pincode == IN_PRESENT && !valid_pincode(in->pincode))
        return input_fail(ctx, "pincode", "pincode must be 6 digits not starting with 0");

    /* A position is both coordinates or neither. */
    double lat = 0, lng = 0;
    int has_lat, has_lng;
    if ((rc = input_number(ctx, body, "latitude", IN_OPTIONAL, -90, 90, &lat, &has_lat)) ||
        (rc = input_number(ctx, body, "longitude", IN_OPTIONAL, -180, 180, &lng, &has_lng)))
        return rc;
    if (has_lat != has_lng)
        return input_fail(ctx, has_lat == IN_ABSENT ? "latitude" : "longitude",
                          "latitude and longitude go together: give both or neither");
    in->has_position = has_lat;
    if (has_lat == IN_PRESENT) {
        snprintf(in->latitude, sizeof in->latitude, "%.17g", lat);
        snprintf(in->longitude, sizeof in->longitude, "%.17g", lng);
    }
    return 0;
}

/* The address id of the path. */
static int path_id(job_ctx_t *ctx, char id[37])
{
    return input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
}

/* Makes the caller's changes take turns (see the top of the file). */
static int lock_owner(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id};
    PGresult *res =
        PQexecParams(ctx->db, "SELECT 1 FROM users WHERE id = $1::uuid FOR NO KEY UPDATE", 1, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found ? 0 : job_fail(ctx, 404, "USER_NOT_FOUND", "the user does not exist");
}

/* Takes the default flag off the caller's addresses other than keep_id
 * (NULL: off all of them). */
static int clear_default(job_ctx_t *ctx, const char *keep_id)
{
    const char *params[] = {ctx->job->user_id, keep_id};
    return answer_exec(ctx,
                       "UPDATE addresses SET is_default = false, updated_at = now() "
                       "WHERE user_id = $1::uuid AND is_default "
                       "AND ($2::uuid IS NULL OR id <> $2::uuid)",
                       2, params);
}

static int answer_address(job_ctx_t *ctx, int status, const char *id)
{
    const char *params[] = {ctx->job->user_id, id};
    return answer_json(
        ctx, status,
        "SELECT mandi_address_json(a)::text FROM addresses a WHERE a.user_id = $1::uuid "
        "AND a.id = $2::uuid",
        2, params, ADDRESS_NOT_FOUND);
}

int address_list(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id};
    return answer_json(
        ctx, 200,
        "SELECT jsonb_build_object('items', coalesce(jsonb_agg(mandi_address_json(a) "
        "ORDER BY a.is_default DESC, a.created_at DESC, a.id), '[]'))::text "
        "FROM addresses a WHERE a.user_id = $1::uuid",
        1, params, "USER_NOT_FOUND", "the user does not exist");
}

int address_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = path_id(ctx, id);
    return rc ? rc : answer_address(ctx, 200, id);
}

int address_create(job_ctx_t *ctx)
{
    address_input_t in;
    int rc;
    if ((rc = read_address(ctx, 1, &in)) || (rc = lock_owner(ctx)))
        return rc;
    const char *owner[] = {ctx->job->user_id};
    PGresult *res = PQexecParams(ctx->db, "SELECT count(*) FROM addresses WHERE user_id = $1::uuid",
                                 1, NULL, owner, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int count = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (count >= ADDRESSES_MAX) {
        job_fail(ctx, 409, "ADDRESS_LIMIT_REACHED", "a user keeps at most %d addresses",
                 ADDRESSES_MAX);
        job_fail_detail_i64(ctx, "limit", ADDRESSES_MAX);
        return 409;
    }
    int make_default = count == 0 || (in.has_default == IN_PRESENT && in.is_default);
    if (make_default && (rc = clear_default(ctx, NULL)))
        return rc;
    const char *params[] = {
        ctx->job->user_id,
        input_value(in.has_label, in.label),
        in.name,
        in.phone,
        in.line1,
        input_value(in.has_line2, in.line2),
        input_value(in.has_landmark, in.landmark),
        in.city,
        in.state,
        in.pincode,
        input_value(in.has_position, in.latitude),
        input_value(in.has_position, in.longitude),
        make_default ? "true" : "false",
    };
    return answer_json(
        ctx, 201,
        "INSERT INTO addresses AS a (user_id, label, name, phone, line1, line2, landmark, city, "
        "state, pincode, latitude, longitude, is_default) VALUES ($1::uuid, $2, $3, $4, $5, $6, "
        "$7, $8, $9, $10, $11::double precision, $12::double precision, $13::boolean) "
        "RETURNING mandi_address_json(a)::text",
        13, params, ADDRESS_NOT_FOUND);
}

/* Whether the caller owns address id and whether it is the default. */
static int find_own(job_ctx_t *ctx, const char *id, int *is_default)
{
    const char *params[] = {ctx->job->user_id, id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT is_default FROM addresses WHERE user_id = $1::uuid "
                                 "AND id = $2::uuid",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    if (found)
        *is_default = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return found ? 0 : job_fail(ctx, 404, ADDRESS_NOT_FOUND);
}

/* Moves the default flag to id (the caller's). */
static int make_default(job_ctx_t *ctx, const char *id)
{
    int rc;
    if ((rc = clear_default(ctx, id)))
        return rc;
    const char *params[] = {ctx->job->user_id, id};
    return answer_exec(ctx,
                       "UPDATE addresses SET is_default = true, updated_at = now() "
                       "WHERE user_id = $1::uuid AND id = $2::uuid AND NOT is_default",
                       2, params);
}

int address_update(job_ctx_t *ctx)
{
    char id[37];
    address_input_t in;
    int rc, was_default = 0;
    if ((rc = path_id(ctx, id)) || (rc = read_address(ctx, 0, &in)) || (rc = lock_owner(ctx)) ||
        (rc = find_own(ctx, id, &was_default)))
        return rc;
    if (in.has_default == IN_PRESENT) {
        if (in.is_default && (rc = make_default(ctx, id)))
            return rc;
        /* Unsetting is done by making another address the default. */
        if (!in.is_default && was_default)
            return job_fail(ctx, 409, "DEFAULT_ADDRESS_REQUIRED",
                            "make another address the default instead");
    }
    const char *params[] = {
        ctx->job->user_id,
        id,
        input_sent(in.has_label),
        input_value(in.has_label, in.label),
        input_value(in.has_name, in.name),
        input_value(in.has_phone, in.phone),
        input_value(in.has_line1, in.line1),
        input_sent(in.has_line2),
        input_value(in.has_line2, in.line2),
        input_sent(in.has_landmark),
        input_value(in.has_landmark, in.landmark),
        input_value(in.has_city, in.city),
        input_value(in.has_state, in.state),
        input_value(in.has_pincode, in.pincode),
        input_sent(in.has_position),
        input_value(in.has_position, in.latitude),
        input_value(in.has_position, in.longitude),
    };
    /* Required columns are only ever replaced (coalesce keeps them when
     * absent); optional ones have a "was it sent" flag, null clearing. */
    if ((rc = answer_exec(
             ctx,
             "UPDATE addresses SET "
             "label = CASE WHEN $3::boolean THEN $4 ELSE label END, "
             "name = coalesce($5, name), phone = coalesce($6, phone), "
             "line1 = coalesce($7, line1), "
             "line2 = CASE WHEN $8::boolean THEN $9 ELSE line2 END, "
             "landmark = CASE WHEN $10::boolean THEN $11 ELSE landmark END, "
             "city = coalesce($12, city), state = coalesce($13, state), "
             "pincode = coalesce($14, pincode), "
             "latitude = CASE WHEN $15::boolean THEN $16::double precision ELSE latitude END, "
             "longitude = CASE WHEN $15::boolean THEN $17::double precision ELSE longitude END, "
             "updated_at = now() WHERE user_id = $1::uuid AND id = $2::uuid",
             17, params)))
        return rc;
    return answer_address(ctx, 200, id);
}

int address_delete(job_ctx_t *ctx)
{
    char id[37];
    int rc, was_default = 0;
    if ((rc = path_id(ctx, id)) || (rc = lock_owner(ctx)) || (rc = find_own(ctx, id, &was_default)))
        return rc;
    const char *params[] = {ctx->job->user_id, id};
    if ((rc = answer_exec(ctx, "DELETE FROM addresses WHERE user_id = $1::uuid AND id = $2::uuid",
                          2, params)))
        return rc;
    if (was_default &&
        (rc = answer_exec(ctx,
                          "UPDATE addresses SET is_default = true, updated_at = now() WHERE id = "
                          "(SELECT id FROM addresses WHERE user_id = $1::uuid "
                          "ORDER BY created_at DESC, id LIMIT 1)",
                          1, params)))
        return rc;
    return answer_deleted(ctx, id);
}

int address_set_default(job_ctx_t *ctx)
{
    char id[37];
    int rc, was_default = 0;
    if ((rc = path_id(ctx, id)) || (rc = lock_owner(ctx)) ||
        (rc = find_own(ctx, id, &was_default)) || (!was_default && (rc = make_default(ctx, id))))
        return rc;
    return answer_address(ctx, 200, id);
}
