/*
 * catalog_listing - listings: users selling their own items (classifieds).
 *
 * A listing is made PENDING_REVIEW; a moderator approves it (ACTIVE, for
 * LISTING_LIFE) or rejects it with a reason. Its owner edits it (which sends
 * it back to review), marks it sold or deletes it (a soft delete). Who may
 * move a listing from which status to which is the table `moves` below; every
 * move locks the row first, so two requests on one listing take turns.
 *
 * Expiry is by time: an ACTIVE listing past expires_at reads as EXPIRED and
 * an active boost past ends_at as lapsed (mandi_listing_status and
 * mandi_listing_boost_status in sql/007_listings.sql), so reads never depend
 * on the listing.expire job having run; that job only writes the statuses
 * down.
 *
 * A boost is bought for an ACTIVE listing: the request records it as
 * pending_payment with the plan's price. Making it active is the payments
 * pool's work once the payment is captured; nothing here pretends to.
 */
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "codec.h"
#include "input.h"
#include "mp.h"
#include "roles.h"

#define LISTING_NOT_FOUND "LISTING_NOT_FOUND", "the listing does not exist"
#define USER_NOT_FOUND    "USER_NOT_FOUND", "the token's user does not exist"

/* How long an approved listing shows (an SQL interval). */
#define LISTING_LIFE "30 days"

#define PRICE_MAX  100000000000LL /* paise: Rs 100 crore */
#define IMAGES_MAX 10
#define ZONE_MAX   24

/* ---- the state machine ------------------------------------------------ */

enum {
    S_PENDING_REVIEW = 1,
    S_ACTIVE = 2,
    S_REJECTED = 4,
    S_SOLD = 8,
    S_EXPIRED = 16,
    S_DELETED = 32,
};

static const struct {
    const char *name;
    unsigned bit;
} states[] = {
    {"PENDING_REVIEW", S_PENDING_REVIEW},
    {"ACTIVE", S_ACTIVE},
    {"REJECTED", S_REJECTED},
    {"SOLD", S_SOLD},
    {"EXPIRED", S_EXPIRED},
    {"DELETED", S_DELETED},
};
#define STATE_COUNT (sizeof states / sizeof states[0])

typedef enum { BY_OWNER, BY_REVIEWER } listing_actor_t;

typedef struct {
    listing_actor_t by;  /* who may make the move */
    unsigned from;       /* the statuses (as read, see above) it starts from */
    const char *to;      /* the status it leaves */
    const char *refusal; /* 409 code from any other status */
    const char *why;     /* and its message */
} listing_move_t;

enum { MOVE_EDIT, MOVE_DELETE, MOVE_APPROVE, MOVE_REJECT, MOVE_SOLD, MOVE_BOOST };

/* clang-format off */
static const listing_move_t moves[] = {
    [MOVE_EDIT]    = {BY_OWNER,    S_PENDING_REVIEW | S_ACTIVE | S_REJECTED, "PENDING_REVIEW",
                      "LISTING_NOT_EDITABLE", "sold, expired and deleted listings cannot be edited"},
    [MOVE_DELETE]  = {BY_OWNER,    S_PENDING_REVIEW | S_ACTIVE | S_REJECTED | S_SOLD | S_EXPIRED,
                      "DELETED", "LISTING_DELETED", "the listing is already deleted"},
    [MOVE_APPROVE] = {BY_REVIEWER, S_PENDING_REVIEW, "ACTIVE",
                      "LISTING_NOT_PENDING_REVIEW", "only listings waiting for review can be reviewed"},
    [MOVE_REJECT]  = {BY_REVIEWER, S_PENDING_REVIEW, "REJECTED",
                      "LISTING_NOT_PENDING_REVIEW", "only listings waiting for review can be reviewed"},
    [MOVE_SOLD]    = {BY_OWNER,    S_ACTIVE, "SOLD",
                      "LISTING_NOT_ACTIVE", "only an active listing can be marked sold"},
    [MOVE_BOOST]   = {BY_OWNER,    S_ACTIVE, "ACTIVE",
                      "LISTING_NOT_ACTIVE", "only an active listing can be boosted"},
};
/* clang-format on */

static unsigned state_bit(const char *name)
{
    for (size_t i = 0; i < STATE_COUNT; i++)
        if (strcmp(states[i].name, name) == 0)
            return states[i].bit;
    return 0;
}

/* The caller's id as a lower-case UUID, or "" when the job is anonymous or
 * the token's subject is not a UUID (no listing can be theirs then). */
static void caller_id(const job_ctx_t *ctx, char out[37])
{
    if (input_uuid_normalise(ctx->job->user_id, out) < 0)
        out[0] = '\0';
}

static int path_id(job_ctx_t *ctx, char id[37])
{
    return input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
}

/* Locks the listing id for move by the caller, and checks that the caller
 * may make it and that it may start from the listing's status. Returns 0,
 * or the status of the refusal: 404 when the listing does not exist or,
 * for an owner's move, is not the caller's (as if it did not exist); 403
 * CANNOT_REVIEW_SELF; 409 with details {"status"}. */
static int lock_listing(job_ctx_t *ctx, const listing_move_t *move, const char *caller,
                        const char *id)
{
    const char *params[] = {id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT l.owner_id::text, mandi_listing_status(l) "
                                 "FROM listings l WHERE l.id = $1::uuid FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, LISTING_NOT_FOUND);
    }
    int own = caller[0] && strcmp(PQgetvalue(res, 0, 0), caller) == 0;
    char status[20];
    snprintf(status, sizeof status, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (move->by == BY_OWNER && !own)
        return job_fail(ctx, 404, LISTING_NOT_FOUND);
    if (move->by == BY_REVIEWER && own)
        return job_fail(ctx, 403, "CANNOT_REVIEW_SELF", "nobody reviews their own listing");
    if (!(state_bit(status) & move->from)) {
        job_fail(ctx, 409, move->refusal, "%s (it is %s)", move->why, status);
        job_fail_detail_str(ctx, "status", status);
        return 409;
    }
    return 0;
}

/* Answers the one JSON text a write returned; a foreign key that names
 * nothing is the caller's missing user or a category deleted meanwhile. */
static int answer_written(job_ctx_t *ctx, int status, PGresult *res)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        if (state && strcmp(state, "23503") == 0 && constraint) {
            int category = strcmp(constraint, "listings_category_fk") == 0;
            PQclear(res);
            if (category)
                return input_fail(ctx, "category_id", "category_id names no active category");
            return job_fail(ctx, 404, USER_NOT_FOUND);
        }
        return answer_db_failed(ctx, res);
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return job_fail(ctx, 404, LISTING_NOT_FOUND);
    }
    int rc = answer_pack_json(ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc ? rc : status;
}

/* ---- reading a listing's fields ---------------------------------------- */

typedef struct {
    char title[121 * 4], description[5001 * 4], condition[16], city[101 * 4],
        zone[ZONE_MAX * 4 + 1], category[37], price[24];
    buf_t images; /* JSON text of the array; freed by listing_input_free */
    int has_title, has_description, has_price, has_condition, has_images, has_city, has_zone,
        has_category;
} listing_input_t;

static void listing_input_free(listing_input_t *in)
{
    buf_free(&in->images);
}

static int http_url(const char *s, size_t len)
{
    size_t scheme = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
    if (!scheme || len == scheme)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return 0;
    return 1;
}

/* images: an array of at most IMAGES_MAX http or https URLs of up to 2048
 * characters, kept as the array's JSON text. */
static int read_images(job_ctx_t *ctx, const msgpack_object *body, listing_input_t *in)
{
    const msgpack_object *v = mp_get(body, "images");
    in->has_images = !v ? IN_ABSENT : v->type == MSGPACK_OBJECT_NIL ? IN_NULL : IN_PRESENT;
    if (in->has_images != IN_PRESENT)
        return 0;
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return input_fail(ctx, "images", "images must be an array of image URLs");
    if (v->via.array.size > IMAGES_MAX)
        return input_fail(ctx, "images", "images may hold at most %d URLs", IMAGES_MAX);
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *url = &v->via.array.ptr[i];
        if (url->type != MSGPACK_OBJECT_STR ||
            input_utf8_length(url->via.str.ptr, url->via.str.size) > 2048 ||
            !http_url(url->via.str.ptr, url->via.str.size))
            return input_fail(ctx, "images",
                              "images[%u] must be an http or https URL of up to 2048 characters "
                              "without spaces",
                              (unsigned)i);
    }
    codec_error_t err;
    if (codec_object_to_json(v, &in->images, &err) < 0)
        return input_fail(ctx, "images", "images cannot be read: %s", err.message);
    return 0;
}

static int valid_zone(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    return *s != '\0';
}

/* A category a listing may name: one that exists and is active. */
static int check_category(job_ctx_t *ctx, const char *category)
{
    const char *params[] = {category};
    PGresult *res =
        PQexecParams(ctx->db, "SELECT 1 FROM categories WHERE id = $1::uuid AND is_active", 1, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res) == 1;
    PQclear(res);
    return found ? 0 : input_fail(ctx, "category_id", "category_id names no active category");
}

/* Reads and checks the body of a create (every required field) or of an
 * update (any field; at least one). Nothing is written before this
 * passes. */
static int read_listing(job_ctx_t *ctx, int creating, listing_input_t *in)
{
    static const char *const conditions[] = {"new", "like_new", "good", "fair", NULL};
    const msgpack_object *body;
    int64_t price = 0;
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "title", creating, 3, 120, in->title, sizeof in->title,
                        &in->has_title)) ||
        (rc = input_text(ctx, body, "description", IN_OPTIONAL, 1, 5000, in->description,
                         sizeof in->description, &in->has_description)) ||
        (rc =
             input_int(ctx, body, "price_paise", creating, 1, PRICE_MAX, &price, &in->has_price)) ||
        (rc = input_choice(ctx, body, "condition", creating, conditions, in->condition,
                           sizeof in->condition, &in->has_condition)) ||
        (rc = read_images(ctx, body, in)) ||
        (rc = input_str(ctx, body, "city", creating, 1, 100, in->city, sizeof in->city,
                        &in->has_city)) ||
        (rc = input_str(ctx, body, "zone", IN_OPTIONAL, 1, ZONE_MAX, in->zone, sizeof in->zone,
                        &in->has_zone)) ||
        (rc = input_uuid(ctx, body, "category_id", IN_OPTIONAL, in->category, &in->has_category)))
        return rc;
    static const char *const kept[] = {"title", "price_paise", "condition", "city"};
    const int found[] = {in->has_title, in->has_price, in->has_condition, in->has_city};
    if ((rc = input_kept(ctx, kept, found, sizeof kept / sizeof kept[0])))
        return rc;
    if (in->has_zone == IN_PRESENT && !valid_zone(in->zone))
        return input_fail(ctx, "zone", "zone must be letters, digits, '_' or '-'");
    if (!creating && !in->has_title && !in->has_description && !in->has_price &&
        !in->has_condition && !in->has_images && !in->has_city && !in->has_zone &&
        !in->has_category)
        return input_fail(ctx, "body", "the body must hold at least one field to change");
    snprintf(in->price, sizeof in->price, "%lld", (long long)price);
    if (in->has_category == IN_PRESENT && (rc = check_category(ctx, in->category)))
        return rc;
    return 0;
}

/* ---- reads -------------------------------------------------------------- */

int listing_list(job_ctx_t *ctx)
{
    static const char *const mine_values[] = {"true", "false", NULL};
    const char *status_values[STATE_COUNT + 1] = {NULL};
    for (size_t i = 0; i < STATE_COUNT; i++)
        status_values[i] = states[i].name;

    const msgpack_object *query = input_query(ctx);
    char mine[8], status[20], category[37], city[101 * 4], zone[ZONE_MAX * 4 + 1], q[101 * 4];
    char min_text[24] = "", max_text[24] = "", caller[37];
    int64_t min_price = -1, max_price = -1;
    answer_page_t page;
    int rc;
    if ((rc =
             input_choice(ctx, query, "mine", IN_OPTIONAL, mine_values, mine, sizeof mine, NULL)) ||
        (rc = input_choice(ctx, query, "status", IN_OPTIONAL, status_values, status, sizeof status,
                           NULL)) ||
        (rc = input_uuid(ctx, query, "category", IN_OPTIONAL, category, NULL)) ||
        (rc = input_str(ctx, query, "city", IN_OPTIONAL, 1, 100, city, sizeof city, NULL)) ||
        (rc = input_str(ctx, query, "zone", IN_OPTIONAL, 1, ZONE_MAX, zone, sizeof zone, NULL)) ||
        (rc = input_query_int(ctx, "min_price", 0, PRICE_MAX, &min_price)) ||
        (rc = input_query_int(ctx, "max_price", 0, PRICE_MAX, &max_price)) ||
        (rc = input_str(ctx, query, "q", IN_OPTIONAL, 1, 100, q, sizeof q, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    int own = strcmp(mine, "true") == 0;
    if (own && !ctx->job->user_id[0])
        return job_fail(ctx, 401, "AUTH_REQUIRED",
                        "mine=true needs an Authorization: Bearer token");
    if (status[0] && !own)
        return input_fail(ctx, "status", "status filters only your own listings (mine=true)");
    if (zone[0] && !valid_zone(zone))
        return input_fail(ctx, "zone", "zone must be letters, digits, '_' or '-'");
    if (min_price >= 0 && max_price >= 0 && max_price < min_price)
        return input_fail(ctx, "max_price", "max_price must not be below min_price");
    if (min_price >= 0)
        snprintf(min_text, sizeof min_text, "%lld", (long long)min_price);
    if (max_price >= 0)
        snprintf(max_text, sizeof max_text, "%lld", (long long)max_price);
    caller_id(ctx, caller);

    /* A token whose subject is not a UUID owns nothing: its text matches
     * no owner_id. */
    const char *params[] = {own ? (caller[0] ? caller : ctx->job->user_id) : NULL,
                            status[0] ? status : NULL,
                            category[0] ? category : NULL,
                            city[0] ? city : NULL,
                            zone[0] ? zone : NULL,
                            min_text[0] ? min_text : NULL,
                            max_text[0] ? max_text : NULL,
                            q[0] ? q : NULL,
                            page.page,
                            page.limit,
                            page.offset};
    /* Public: ACTIVE and not past expires_at. Mine: every status. Then a
     * category takes in its descendants; q matches a part of the title as
     * plain text (LIKE's wildcards escaped). Boosted listings come first. */
    return answer_json(
        ctx, 200,
        "WITH RECURSIVE cats AS (SELECT c.id FROM categories c WHERE c.id = $3::uuid "
        "UNION SELECT c.id FROM categories c JOIN cats ON c.parent_id = cats.id), "
        "f AS (SELECT l.id, l.created_at, "
        "mandi_listing_boosted_until(l.id) IS NOT NULL AS boosted FROM listings l WHERE "
        "CASE WHEN $1::text IS NULL THEN l.status = 'ACTIVE' AND l.expires_at > now() "
        "ELSE l.owner_id::text = $1 AND ($2::text IS NULL OR mandi_listing_status(l) = $2) END "
        "AND ($3::uuid IS NULL OR l.category_id IN (SELECT id FROM cats)) "
        "AND ($4::text IS NULL OR lower(l.city) = lower($4)) "
        "AND ($5::text IS NULL OR l.zone = $5) "
        "AND ($6::bigint IS NULL OR l.price_paise >= $6::bigint) "
        "AND ($7::bigint IS NULL OR l.price_paise <= $7::bigint) "
        "AND ($8::text IS NULL OR l.title ILIKE '%' || "
        "replace(replace(replace($8, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')), "
        "p AS (SELECT id, boosted, created_at FROM f "
        "ORDER BY boosted DESC, created_at DESC, id DESC LIMIT $10::bigint OFFSET $11::bigint) "
        "SELECT jsonb_build_object('items', coalesce((SELECT jsonb_agg(mandi_listing_json(l) "
        "ORDER BY p.boosted DESC, p.created_at DESC, p.id DESC) "
        "FROM p JOIN listings l USING (id)), '[]'), "
        "'pagination', mandi_pagination($9::bigint, $10::bigint, (SELECT count(*) FROM f)))::text",
        11, params, LISTING_NOT_FOUND);
}

int listing_get(job_ctx_t *ctx)
{
    char id[37], caller[37];
    int rc;
    if ((rc = path_id(ctx, id)))
        return rc;
    caller_id(ctx, caller);
    const char *params[] = {id, caller,
                            permission_allows("listings.review", ctx->job->role) ? "t" : "f"};
    /* Anyone sees an ACTIVE listing; its owner and reviewers see it in any
     * status; to everyone else it does not exist. */
    return answer_json(ctx, 200,
                       "SELECT mandi_listing_json(l)::text FROM listings l WHERE l.id = $1::uuid "
                       "AND (mandi_listing_status(l) = 'ACTIVE' OR l.owner_id::text = $2 "
                       "OR $3::boolean)",
                       3, params, LISTING_NOT_FOUND);
}

int boost_plan_list(job_ctx_t *ctx)
{
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('items', coalesce(jsonb_agg("
                       "mandi_listing_boost_plan_json(p) ORDER BY p.duration_days, p.price_paise, "
                       "p.id), '[]'))::text FROM listing_boost_plans p WHERE p.is_active",
                       0, NULL, LISTING_NOT_FOUND);
}

/* ---- the owner's writes ------------------------------------------------- */

int listing_create(job_ctx_t *ctx)
{
    listing_input_t in;
    char caller[37];
    int rc;
    memset(&in, 0, sizeof in);
    caller_id(ctx, caller);
    if ((rc = read_listing(ctx, 1, &in))) {
        listing_input_free(&in);
        return rc;
    }
    if (!caller[0]) {
        listing_input_free(&in);
        return job_fail(ctx, 404, USER_NOT_FOUND);
    }
    const char *params[] = {caller,
                            input_value(in.has_category, in.category),
                            in.title,
                            input_value(in.has_description, in.description),
                            in.price,
                            in.condition,
                            in.has_images == IN_PRESENT ? in.images.data : "[]",
                            in.city,
                            input_value(in.has_zone, in.zone)};
    PGresult *res = PQexecParams(
        ctx->db,
        "INSERT INTO listings AS l (owner_id, category_id, title, description, price_paise, "
        "condition, images, city, zone) VALUES ($1::uuid, $2::uuid, $3, $4, $5::bigint, $6, "
        "$7::jsonb, $8, $9) RETURNING mandi_listing_json(l)::text",
        9, NULL, params, NULL, NULL, 0);
    listing_input_free(&in);
    return answer_written(ctx, 201, res);
}

int listing_update(job_ctx_t *ctx)
{
    const listing_move_t *move = &moves[MOVE_EDIT];
    listing_input_t in;
    char id[37], caller[37];
    int rc;
    memset(&in, 0, sizeof in);
    caller_id(ctx, caller);
    if ((rc = path_id(ctx, id)) || (rc = read_listing(ctx, 0, &in)) ||
        (rc = lock_listing(ctx, move, caller, id))) {
        listing_input_free(&in);
        return rc;
    }
    const char *images = in.has_images == IN_PRESENT ? in.images.data
                         : in.has_images == IN_NULL  ? "[]"
                                                     : NULL;
    const char *params[] = {id,
                            input_value(in.has_title, in.title),
                            input_sent(in.has_description),
                            input_value(in.has_description, in.description),
                            input_value(in.has_price, in.price),
                            input_value(in.has_condition, in.condition),
                            images,
                            input_value(in.has_city, in.city),
                            input_sent(in.has_zone),
                            input_value(in.has_zone, in.zone),
                            input_sent(in.has_category),
                            input_value(in.has_category, in.category),
                            move->to};
    /* Back to review: an approval (and its expiry date) covered what was
     * there before the edit. The last review's outcome stays readable. */
    PGresult *res = PQexecParams(
        ctx->db,
        "UPDATE listings l SET title = coalesce($2, title), "
        "description = CASE WHEN $3::boolean THEN $4 ELSE description END, "
        "price_paise = coalesce($5::bigint, price_paise), "
        "condition = coalesce($6, condition), images = coalesce($7::jsonb, images), "
        "city = coalesce($8, city), zone = CASE WHEN $9::boolean THEN $10 ELSE zone END, "
        "category_id = CASE WHEN $11::boolean THEN $12::uuid ELSE category_id END, "
        "status = $13, expires_at = NULL, updated_at = now() "
        "WHERE l.id = $1::uuid RETURNING mandi_listing_json(l)::text",
        13, NULL, params, NULL, NULL, 0);
    listing_input_free(&in);
    return answer_written(ctx, 200, res);
}

/* Cancels the boost of listing id that waits for payment, if any: once
 * the listing is sold, deleted or given another boost, nobody will pay for
 * it. */
static int cancel_pending_boost(job_ctx_t *ctx, const char *id)
{
    const char *params[] = {id};
    return answer_exec(ctx,
                       "UPDATE listing_boosts SET status = 'cancelled', updated_at = now() "
                       "WHERE listing_id = $1::uuid AND status = 'pending_payment'",
                       1, params);
}

/* The path's listing, locked for the caller's move. */
static int owner_move(job_ctx_t *ctx, const listing_move_t *move, char id[37])
{
    char caller[37];
    caller_id(ctx, caller);
    int rc = path_id(ctx, id);
    return rc ? rc : lock_listing(ctx, move, caller, id);
}

int listing_delete(job_ctx_t *ctx)
{
    const listing_move_t *move = &moves[MOVE_DELETE];
    char id[37];
    int rc;
    if ((rc = owner_move(ctx, move, id)) || (rc = cancel_pending_boost(ctx, id)))
        return rc;
    const char *params[] = {id, move->to};
    rc = answer_exec(ctx, "UPDATE listings SET status = $2, updated_at = now() WHERE id = $1::uuid",
                     2, params);
    return rc ? rc : answer_deleted(ctx, id);
}

int listing_sold(job_ctx_t *ctx)
{
    const listing_move_t *move = &moves[MOVE_SOLD];
    char id[37];
    int rc;
    if ((rc = owner_move(ctx, move, id)) || (rc = cancel_pending_boost(ctx, id)))
        return rc;
    const char *params[] = {id, move->to};
    PGresult *res = PQexecParams(ctx->db,
                                 "UPDATE listings l SET status = $2, updated_at = now() "
                                 "WHERE l.id = $1::uuid RETURNING mandi_listing_json(l)::text",
                                 2, NULL, params, NULL, NULL, 0);
    return answer_written(ctx, 200, res);
}

int listing_boost(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char id[37], plan[37], caller[37];
    int rc;
    caller_id(ctx, caller);
    if ((rc = path_id(ctx, id)) || (rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "plan_id", IN_REQUIRED, plan, NULL)) ||
        (rc = lock_listing(ctx, &moves[MOVE_BOOST], caller, id)))
        return rc;
    /* One boost waits for payment per listing: asking again replaces it
     * (the listing's lock keeps two requests from racing here). */
    if ((rc = cancel_pending_boost(ctx, id)))
        return rc;
    const char *params[] = {id, plan, caller};
    PGresult *res = PQexecParams(
        ctx->db,
        "WITH b AS (INSERT INTO listing_boosts (listing_id, plan_id, user_id, amount_paise, "
        "duration_days) SELECT $1::uuid, p.id, $3::uuid, p.price_paise, p.duration_days "
        "FROM listing_boost_plans p WHERE p.id = $2::uuid AND p.is_active RETURNING *) "
        "SELECT jsonb_build_object('boost', mandi_listing_boost_json(b), "
        "'plan', mandi_listing_boost_plan_json(p), 'amount_due_paise', b.amount_paise, "
        "'currency', 'INR')::text FROM b JOIN listing_boost_plans p ON p.id = b.plan_id",
        3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 0) {
        PQclear(res);
        return input_fail(ctx, "plan_id", "plan_id names no active boost plan");
    }
    return answer_written(ctx, 201, res);
}

/* ---- moderation and expiry ---------------------------------------------- */

int listing_review(job_ctx_t *ctx)
{
    static const char *const decisions[] = {"approve", "reject", NULL};
    const msgpack_object *body;
    char id[37], decision[16], reason[501 * 4], caller[37];
    int rc, has_reason;
    caller_id(ctx, caller);
    if ((rc = path_id(ctx, id)) || (rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "decision", IN_REQUIRED, decisions, decision, sizeof decision,
                           NULL)))
        return rc;
    int rejecting = strcmp(decision, "reject") == 0;
    const listing_move_t *move = &moves[rejecting ? MOVE_REJECT : MOVE_APPROVE];
    if ((rc = input_text(ctx, body, "reason", IN_OPTIONAL, 1, 500, reason, sizeof reason,
                         &has_reason)))
        return rc;
    if (rejecting && !reason[0])
        return input_fail(ctx, "reason", "reason is required to reject");
    if (!caller[0])
        return job_fail(ctx, 404, USER_NOT_FOUND);
    if ((rc = lock_listing(ctx, move, caller, id)))
        return rc;
    const char *params[] = {id,
                            move->to,
                            rejecting ? reason : NULL,
                            caller,
                            LISTING_LIFE,
                            ctx->job->role,
                            rejecting ? "listing.reject" : "listing.approve",
                            ctx->job->request_id};
    /* The decision and its line in the audit log, in one statement. An
     * approval clears an earlier rejection's reason and starts the
     * listing's life; a rejection leaves it without an expiry date. */
    PGresult *res = PQexecParams(
        ctx->db,
        "WITH l AS (UPDATE listings SET status = $2, rejection_reason = $3, "
        "reviewed_by = $4::uuid, reviewed_at = now(), "
        "expires_at = CASE WHEN $2 = 'ACTIVE' THEN now() + $5::interval END, updated_at = now() "
        "WHERE id = $1::uuid RETURNING *), "
        "a AS (INSERT INTO audit_log (actor_id, actor_role, action, target_type, target_id, "
        "before, after, request_id) SELECT $4::uuid, $6, $7, 'listing', $1, "
        "jsonb_build_object('status', 'PENDING_REVIEW'), "
        "jsonb_build_object('status', l.status, 'reason', l.rejection_reason), $8 FROM l) "
        "SELECT mandi_listing_json(l)::text FROM l",
        8, NULL, params, NULL, NULL, 0);
    if ((rc = answer_written(ctx, 200, res)) >= 400)
        return rc;
    /* The owner hears of the decision (notifications pool). */
    res = PQexecParams(ctx->db,
                       "SELECT jsonb_build_object('listing_id', id, 'owner_id', owner_id, "
                       "'title', title, 'reason', rejection_reason)::text "
                       "FROM listings WHERE id = $1::uuid",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int written = job_event_json(ctx, rejecting ? "listing.rejected" : "listing.approved",
                                 PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    if (written < 0)
        return job_fail(ctx, 503, "DB_UNAVAILABLE", "the review event could not be recorded");
    return rc;
}

int listing_expire(job_ctx_t *ctx)
{
    /* Writes down what reads already see: ACTIVE listings past their
     * expiry date become EXPIRED (and their boosts waiting for payment are
     * cancelled), active boosts past their end become lapsed. */
    return answer_json(
        ctx, 200,
        "WITH e AS (UPDATE listings SET status = 'EXPIRED', updated_at = now() "
        "WHERE status = 'ACTIVE' AND expires_at <= now() RETURNING id), "
        "c AS (UPDATE listing_boosts SET status = 'cancelled', updated_at = now() "
        "WHERE status = 'pending_payment' AND listing_id IN (SELECT id FROM e) RETURNING id), "
        "b AS (UPDATE listing_boosts SET status = 'lapsed', updated_at = now() "
        "WHERE status = 'active' AND ends_at <= now() RETURNING id) "
        "SELECT jsonb_build_object('expired_listings', (SELECT count(*) FROM e), "
        "'lapsed_boosts', (SELECT count(*) FROM b), "
        "'cancelled_boosts', (SELECT count(*) FROM c))::text",
        0, NULL, LISTING_NOT_FOUND);
}

/* Owners of ACTIVE listings that expire within three days are told once
 * per expiry: the event listing.expiring (for the notifications pool),
 * recorded with the mark that keeps it from being sent again. A listing
 * renewed since (its expiry moved past the last reminder's window) is due
 * again when its new expiry comes near. */
int listing_remind_expiring(job_ctx_t *ctx)
{
    PGresult *res = PQexec(
        ctx->db,
        "WITH due AS (UPDATE listings SET expiry_reminded_at = now() "
        "  WHERE status = 'ACTIVE' AND expires_at > now() "
        "  AND expires_at <= now() + interval '3 days' "
        "  AND (expiry_reminded_at IS NULL OR expiry_reminded_at < expires_at - interval '3 days') "
        "  RETURNING id, owner_id, title, expires_at, zone, city) "
        "SELECT jsonb_build_object('listing_id', id, 'user_id', owner_id, 'title', title, "
        "'expires_at', mandi_ts(expires_at), 'zone', zone, 'city', city)::text "
        "FROM due ORDER BY expires_at, id");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        if (job_event_json(ctx, "listing.expiring", PQgetvalue(res, i, 0),
                           (size_t)PQgetlength(res, i, 0)) < 0) {
            PQclear(res);
            return job_fail(ctx, 503, "DB_UNAVAILABLE", "the reminder could not be recorded");
        }
    PQclear(res);
    char count[16];
    snprintf(count, sizeof count, "%d", n);
    const char *params[] = {count};
    return answer_json(ctx, 200, "SELECT jsonb_build_object('reminded', $1::int)::text", 1, params,
                       LISTING_NOT_FOUND);
}
