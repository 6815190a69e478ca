/*
 * notify_inbox - what a user reads and registers: the in-app inbox, the
 * devices push goes to, and announcements.
 */
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "input.h"
#include "mp.h"
#include "notify.h"

static const char *const categories[] = {"order", "earning", "general", "promotional", NULL};
static const char *const platforms[] = {"android", "ios", "web", NULL};

/* The caller's unread count, a subquery of several answers. */
#define UNREAD_COUNT "(SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL)"

/* GET /api/notifications?category=&unread=true|false: unread first, then
 * newest first; unread_count counts every unread one, whatever the filter. */
int notify_list(job_ctx_t *ctx)
{
    static const char *const booleans[] = {"true", "false", NULL};
    const msgpack_object *query = input_query(ctx);
    char category[16], unread[8];
    int has_category, has_unread, rc;
    answer_page_t page;
    if ((rc = input_choice(ctx, query, "category", IN_OPTIONAL, categories, category,
                           sizeof category, &has_category)) ||
        (rc = input_choice(ctx, query, "unread", IN_OPTIONAL, booleans, unread, sizeof unread,
                           &has_unread)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {ctx->job->user_id,
                            page.page,
                            page.limit,
                            page.offset,
                            has_category == IN_PRESENT ? category : NULL,
                            has_unread == IN_PRESENT ? unread : NULL};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT n FROM notifications n WHERE n.user_id = $1 "
        "  AND ($5::text IS NULL OR n.category = $5) "
        "  AND ($6::boolean IS NULL OR (n.read_at IS NULL) = $6::boolean)), "
        "page AS (SELECT n FROM hits ORDER BY (n).read_at IS NULL DESC, (n).created_at DESC, "
        "  (n).id LIMIT $3::bigint OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_notification_json(n) "
        "  ORDER BY (n).read_at IS NULL DESC, (n).created_at DESC, (n).id), '[]') FROM page), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM hits)), "
        "'unread_count', " UNREAD_COUNT ")::text",
        6, params, "NOTIFICATION_NOT_FOUND", "no notifications");
}

/* PUT /api/notifications/:id/read: reading twice keeps the first time. */
int notify_read(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id, id};
    return answer_json(
        ctx, 200,
        "WITH r AS (UPDATE notifications SET read_at = coalesce(read_at, now()) "
        "  WHERE id = $2 AND user_id = $1 RETURNING *) "
        "SELECT (mandi_notification_json(r) || jsonb_build_object('unread_count', " UNREAD_COUNT
        " - CASE WHEN (SELECT read_at FROM notifications WHERE id = "
        "$2) IS NULL THEN 1 ELSE 0 END))::text FROM r",
        2, params, "NOTIFICATION_NOT_FOUND", "notification not found");
}

/* PUT /api/notifications/read-all. */
int notify_read_all(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id};
    return answer_json(ctx, 200,
                       "WITH r AS (UPDATE notifications SET read_at = now() "
                       "  WHERE user_id = $1 AND read_at IS NULL RETURNING 1) "
                       "SELECT jsonb_build_object('marked_read', (SELECT count(*) FROM r), "
                       "'unread_count', 0)::text",
                       1, params, "NOTIFICATION_NOT_FOUND", "no notifications");
}

/* A device token: 1 to 4096 printable ASCII characters without spaces
 * (FCM tokens are about 160 characters of [A-Za-z0-9_:-]). */
static int read_token(job_ctx_t *ctx, const msgpack_object *body, char *token, size_t cap)
{
    int rc = input_str(ctx, body, "token", IN_REQUIRED, 1, 4096, token, cap, NULL);
    if (rc)
        return rc;
    for (const char *p = token; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return input_fail(ctx, "token", "token must be printable ASCII without spaces");
    return 0;
}

static void answer_token(job_ctx_t *ctx, const char *token, const char *platform, int registered)
{
    msgpack_pack_map(&ctx->body, 3);
    mp_kv_str(&ctx->body, "token", token);
    mp_pack_cstr(&ctx->body, "platform");
    if (platform)
        mp_pack_cstr(&ctx->body, platform);
    else
        msgpack_pack_nil(&ctx->body);
    mp_pack_cstr(&ctx->body, "registered");
    if (registered)
        msgpack_pack_true(&ctx->body);
    else
        msgpack_pack_false(&ctx->body);
}

/* POST /api/notifications/register-token {token, platform}. A token
 * registered by another user moves to the caller: a device has one owner,
 * the one signed in on it last. */
int notify_register_token(job_ctx_t *ctx)
{
    static char token[4096 * 4 + 1];
    const msgpack_object *body;
    char platform[16];
    int rc;
    if ((rc = input_body(ctx, &body)) || (rc = read_token(ctx, body, token, sizeof token)) ||
        (rc = input_choice(ctx, body, "platform", IN_REQUIRED, platforms, platform, sizeof platform,
                           NULL)))
        return rc;
    const char *params[] = {token, ctx->job->user_id, platform};
    if ((rc =
             answer_exec(ctx,
                         "INSERT INTO device_tokens (token, user_id, platform) VALUES ($1, $2, $3) "
                         "ON CONFLICT (token) DO UPDATE SET user_id = $2, platform = $3, "
                         "updated_at = now()",
                         3, params)))
        return rc;
    answer_token(ctx, token, platform, 1);
    return 200;
}

/* POST /api/notifications/unregister-token {token}: only the caller's own
 * token goes; the answer is the same whether it was there or not. */
int notify_unregister_token(job_ctx_t *ctx)
{
    static char token[4096 * 4 + 1];
    const msgpack_object *body;
    int rc;
    if ((rc = input_body(ctx, &body)) || (rc = read_token(ctx, body, token, sizeof token)))
        return rc;
    const char *params[] = {token, ctx->job->user_id};
    if ((rc = answer_exec(ctx, "DELETE FROM device_tokens WHERE token = $1 AND user_id = $2", 2,
                          params)))
        return rc;
    answer_token(ctx, token, NULL, 0);
    return 200;
}

/* GET /api/announcements: those for everyone and those of the caller's
 * zones, newest first. */
int notify_announcement_list(job_ctx_t *ctx)
{
    answer_page_t page;
    int rc = answer_read_page(ctx, &page);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->zones, page.page, page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT a FROM announcements a WHERE a.zone IS NULL "
        "  OR a.zone = ANY (string_to_array(nullif($1, ''), ','))), "
        "page AS (SELECT a FROM hits ORDER BY (a).created_at DESC, (a).id "
        "  LIMIT $3::bigint OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_announcement_json(a) "
        "  ORDER BY (a).created_at DESC, (a).id), '[]') FROM page), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        4, params, "ANNOUNCEMENT_NOT_FOUND", "no announcements");
}

/* POST /api/announcements {title, body, zone?}. */
int notify_announcement_create(job_ctx_t *ctx)
{
    static char text[5000 * 4 + 1];
    const msgpack_object *body;
    char title[200 * 4 + 1], zone[64 * 4 + 1];
    int rc, has_zone;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "title", IN_REQUIRED, 1, 200, title, sizeof title, NULL)) ||
        (rc = input_text(ctx, body, "body", IN_REQUIRED, 1, 5000, text, sizeof text, NULL)) ||
        (rc = input_str(ctx, body, "zone", IN_OPTIONAL, 1, 64, zone, sizeof zone, &has_zone)))
        return rc;
    const char *params[] = {title, text, has_zone == IN_PRESENT ? zone : NULL, ctx->job->user_id};
    return answer_json(ctx, 201,
                       "INSERT INTO announcements (title, body, zone, created_by) "
                       "VALUES ($1, $2, $3, $4) RETURNING mandi_announcement_json(announcements)"
                       "::text",
                       4, params, "ANNOUNCEMENT_NOT_FOUND", "announcement not made");
}
