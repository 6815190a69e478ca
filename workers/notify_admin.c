/*
 * notify_admin - admins' send-outs and the dead-letter list.
 *
 * A send-out (to one user, to every admin, to a zone) is the route's own
 * durable job: it plans the message for its recipients in batches of
 * MANDI_NOTIFY_FANOUT_BATCH and reports progress between them
 * (job_progress, seen on GET /api/jobs/:id). The job's id is the message's
 * identity, so a redelivered job plans nothing twice; the whole send-out
 * commits as one.
 */
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "buf.h"
#include "codec.h"
#include "config.h"
#include "input.h"
#include "mp.h"
#include "notify.h"

static const char *const categories[] = {"order", "earning", "general", "promotional", NULL};
static const char *const channel_names[] = {"in_app", "sms", "email", "push", NULL};

typedef struct {
    char title[200 * 4 + 1];
    char text[2000 * 4 + 1];
    char category[16];
    char channels[64]; /* a text[] literal */
} message_t;

/* {title, body, category?, channels?}: channels default to in-app and
 * push, category to general. */
static int read_message(job_ctx_t *ctx, const msgpack_object *body, message_t *m)
{
    int rc, found;
    if ((rc =
             input_str(ctx, body, "title", IN_REQUIRED, 1, 200, m->title, sizeof m->title, NULL)) ||
        (rc = input_text(ctx, body, "body", IN_REQUIRED, 1, 2000, m->text, sizeof m->text, NULL)) ||
        (rc = input_choice(ctx, body, "category", IN_OPTIONAL, categories, m->category,
                           sizeof m->category, &found)))
        return rc;
    if (found != IN_PRESENT)
        snprintf(m->category, sizeof m->category, "general");
    const msgpack_object *list;
    if ((rc = input_container(ctx, body, "channels", IN_OPTIONAL, MSGPACK_OBJECT_ARRAY, 4, &list,
                              NULL)))
        return rc;
    if (!list) {
        snprintf(m->channels, sizeof m->channels, "{in_app,push}");
        return 0;
    }
    if (list->via.array.size == 0)
        return input_fail(ctx, "channels", "channels must name at least one channel");
    buf_t lit = BUF_INIT;
    unsigned seen = 0;
    buf_append_char(&lit, '{');
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        int k = -1;
        for (int c = 0; channel_names[c]; c++)
            if (mp_str_is(&list->via.array.ptr[i], channel_names[c]))
                k = c;
        if (k < 0 || (seen & (1u << k))) {
            buf_free(&lit);
            return input_fail(ctx, "channels",
                              "channels[%u] must be one of in_app, sms, email, push, each once",
                              (unsigned)i);
        }
        seen |= 1u << k;
        buf_printf(&lit, "%s%s", i ? "," : "", channel_names[k]);
    }
    buf_append_char(&lit, '}');
    snprintf(m->channels, sizeof m->channels, "%s", lit.data);
    buf_free(&lit);
    return 0;
}

/* Plans m for the users that sql (with params) selects, by id, in batches. */
static int fan_out(job_ctx_t *ctx, const message_t *m, const char *sql, int nparams,
                   const char *const *params)
{
    PGresult *res = PQexecParams(ctx->db, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    /* The templates' data: {"title", "body"}, also kept on inbox rows. */
    buf_t data = BUF_INIT, json = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &data, buf_msgpack_write);
    msgpack_pack_map(&pk, 2);
    mp_kv_str(&pk, "title", m->title);
    mp_kv_str(&pk, "body", m->text);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    codec_error_t err;
    msgpack_unpack_next(&u, data.data, data.len, &off);
    codec_object_to_json(&u.data, &json, &err);

    long batch = config_get_long("MANDI_NOTIFY_FANOUT_BATCH");
    if (batch < 1)
        batch = 1;
    int total = PQntuples(res), rc = 0;
    notify_counts_t counts = {0};
    buf_t users = BUF_INIT;
    job_progress(ctx, 0);
    for (int start = 0; start < total && !rc; start += (int)batch) {
        int end = start + (int)batch < total ? start + (int)batch : total;
        buf_reset(&users);
        buf_append_char(&users, '{');
        for (int i = start; i < end; i++)
            buf_printf(&users, "%s%s", i > start ? "," : "", PQgetvalue(res, i, 0));
        buf_append_char(&users, '}');
        notify_plan_t plan = {
            .ref = ctx->job->id,
            .event = "admin.message",
            .category = m->category,
            .channels = m->channels,
            .users = users.data,
            .data = &u.data,
            .data_json = json.data,
        };
        rc = notify_plan(ctx, &plan, &counts);
        job_progress(ctx, (int)((int64_t)end * 100 / total));
    }
    PQclear(res);
    buf_free(&users);
    msgpack_unpacked_destroy(&u);
    buf_free(&data);
    buf_free(&json);
    if (rc)
        return rc;
    job_progress(ctx, 100);
    msgpack_pack_map(&ctx->body, 4);
    mp_kv_i64(&ctx->body, "recipients", total);
    mp_kv_i64(&ctx->body, "in_app", counts.in_app);
    mp_kv_i64(&ctx->body, "deliveries", counts.deliveries);
    mp_kv_i64(&ctx->body, "held", counts.held);
    return 200;
}

/* POST /api/notifications/send-to-user {user_id, title, body, ...}. */
int notify_send_to_user(job_ctx_t *ctx)
{
    const msgpack_object *body;
    message_t m;
    char user[37];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_uuid(ctx, body, "user_id", IN_REQUIRED, user, NULL)) ||
        (rc = read_message(ctx, body, &m)))
        return rc;
    const char *params[] = {user};
    PGresult *res = PQexecParams(ctx->db, "SELECT status FROM users WHERE id = $1", 1, NULL, params,
                                 NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int found = PQntuples(res);
    PQclear(res);
    if (!found)
        return job_fail(ctx, 404, "USER_NOT_FOUND", "user %s not found", user);
    return fan_out(ctx, &m, "SELECT id FROM users WHERE id = $1 AND status = 'active'", 1, params);
}

/* POST /api/notifications/send-to-admins {title, body, ...}. */
int notify_send_to_admins(job_ctx_t *ctx)
{
    const msgpack_object *body;
    message_t m;
    int rc;
    if ((rc = input_body(ctx, &body)) || (rc = read_message(ctx, body, &m)))
        return rc;
    return fan_out(ctx, &m,
                   "SELECT id FROM users WHERE role IN ('ADMIN', 'SUPER_ADMIN') "
                   "AND status = 'active' ORDER BY id",
                   0, NULL);
}

/* POST /api/notifications/send-to-zone {zone, title, body, ...}. */
int notify_send_to_zone(job_ctx_t *ctx)
{
    const msgpack_object *body;
    message_t m;
    char zone[64 * 4 + 1];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "zone", IN_REQUIRED, 1, 64, zone, sizeof zone, NULL)) ||
        (rc = read_message(ctx, body, &m)))
        return rc;
    const char *params[] = {zone};
    return fan_out(ctx, &m,
                   "SELECT id FROM users WHERE $1 = ANY (zones) AND status = 'active' ORDER BY id",
                   1, params);
}

/* GET /api/admin/notifications/failed?channel=: the dead letters, the
 * latest first. */
int notify_failed_list(job_ctx_t *ctx)
{
    static const char *const channels[] = {"sms", "email", "push", NULL};
    char channel[8];
    int has_channel, rc;
    answer_page_t page;
    if ((rc = input_choice(ctx, input_query(ctx), "channel", IN_OPTIONAL, channels, channel,
                           sizeof channel, &has_channel)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {page.page, page.limit, page.offset,
                            has_channel == IN_PRESENT ? channel : NULL};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT d FROM notification_deliveries d WHERE d.status = 'dead' "
        "  AND ($4::text IS NULL OR d.channel = $4)), "
        "page AS (SELECT d FROM hits ORDER BY (d).updated_at DESC, (d).id "
        "  LIMIT $2::bigint OFFSET $3::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg(mandi_delivery_json(d) "
        "  ORDER BY (d).updated_at DESC, (d).id), '[]') FROM page), "
        "'pagination', mandi_pagination($1::bigint, $2::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        4, params, "DELIVERY_NOT_FOUND", "no deliveries");
}

/* POST /api/admin/notifications/failed/:id/retry: a dead delivery is
 * queued again with a fresh job (and a fresh count of attempts). */
int notify_failed_retry(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT status FROM notification_deliveries WHERE id = $1 "
                                 "FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return job_fail(ctx, 404, "DELIVERY_NOT_FOUND", "delivery %s not found", id);
    }
    int dead = strcmp(PQgetvalue(res, 0, 0), "dead") == 0;
    char status[16];
    snprintf(status, sizeof status, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!dead) {
        job_fail(ctx, 409, "DELIVERY_NOT_DEAD", "delivery %s is %s, not dead", id, status);
        job_fail_detail_str(ctx, "status", status);
        return 409;
    }
    if ((rc = answer_exec(ctx,
                          "UPDATE notification_deliveries SET status = 'queued', attempts = 0, "
                          "updated_at = now() WHERE id = $1",
                          1, params)) ||
        (rc = notify_enqueue_delivery(ctx, id, NULL)))
        return rc;
    return answer_json(ctx, 200,
                       "SELECT mandi_delivery_json(d)::text FROM notification_deliveries d "
                       "WHERE id = $1",
                       1, params, "DELIVERY_NOT_FOUND", "delivery not found");
}
