/*
 * notify_events - from a domain event (or an admin's send) to the rows that
 * carry it: the in-app inbox and one delivery per (event, user, channel).
 *
 * What notifies whom is data: notification_rules maps a topic (and, for
 * order.status_changed, the new status) to a template, a category, the
 * channels and the member of the event naming the recipient. Planning then
 * asks PostgreSQL, in one statement, which of the channels each recipient
 * takes: their preferences (accounts' users.preferences.notifications:
 * sms, email, push, and marketing for promotional messages), an address
 * for the channel (a phone, an email, a
 * registered device), the template in their language (else English), and
 * whether quiet hours hold a promotional message back (the user's own,
 * preferences.quiet_hours, else the service's MANDI_QUIET_HOURS_*). The texts are
 * rendered here (notify_template.c) and the rows written under their
 * unique keys, so planning the same event twice writes nothing new.
 * (Partners' webhooks are another table of this pool's event handlers:
 * partner_webhook.c.)
 */
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "codec.h"
#include "config.h"
#include "input.h"
#include "log.h"
#include "mp.h"
#include "notify.h"
#include "notify_template.h"

/* Renders one template text of column col of row i into out; -1 (logged)
 * when the template is broken. */
static int render_col(job_ctx_t *ctx, const char *event, PGresult *res, int i, int col,
                      const msgpack_object *data, buf_t *out)
{
    char why[256];
    buf_reset(out);
    if (notify_template_render(PQgetvalue(res, i, col), (size_t)PQgetlength(res, i, col), data, out,
                               why, sizeof why) < 0) {
        log_msg(LOG_ERROR, ctx->job->request_id, "template of %s (%s) is broken: %s", event,
                PQgetvalue(res, i, 1), why);
        return -1;
    }
    if (!out->data)
        buf_append_str(out, "");
    return 0;
}

int notify_enqueue_delivery(job_ctx_t *ctx, const char *id, const char *not_before)
{
    buf_t body = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, buf_msgpack_write);
    msgpack_pack_map(&pk, 1);
    mp_kv_str(&pk, "delivery_id", id);
    char job_id[37];
    /* A held message's job waits in the jobs table until quiet hours end,
     * so nothing has to poll for their end. */
    int rc = job_enqueue_at_db(ctx->db, "notifications", "notify.deliver", ctx->job->request_id,
                               body.data, body.len, not_before, job_id);
    buf_free(&body);
    if (rc < 0)
        return job_fail(ctx, 503, "DB_UNAVAILABLE", "the delivery could not be queued");
    const char *params[] = {id, job_id};
    return answer_exec(ctx,
                       "UPDATE notification_deliveries SET job_id = $2::uuid, updated_at = now() "
                       "WHERE id = $1::uuid",
                       2, params);
}

/* One planned row: an inbox entry, or a delivery and its job. */
static int write_row(job_ctx_t *ctx, const notify_plan_t *plan, PGresult *res, int i,
                     const char *subject, const char *text, notify_counts_t *counts)
{
    const char *user = PQgetvalue(res, i, 0), *channel = PQgetvalue(res, i, 1);
    const char *held = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
    if (strcmp(channel, "in_app") == 0) {
        const char *params[] = {user,    plan->ref, plan->event,    plan->category,
                                subject, text,      plan->data_json};
        PGresult *r = PQexecParams(ctx->db,
                                   "INSERT INTO notifications (user_id, ref, event, category, "
                                   "title, body, data) VALUES ($1, $2, $3, $4, $5, $6, "
                                   "coalesce($7::jsonb, '{}')) ON CONFLICT (ref, user_id) DO "
                                   "NOTHING RETURNING id",
                                   7, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            return answer_db_failed(ctx, r);
        counts->in_app += PQntuples(r);
        PQclear(r);
        return 0;
    }
    const char *params[] = {plan->ref,
                            user,
                            channel,
                            plan->event,
                            PQgetvalue(res, i, 2),
                            subject,
                            text,
                            plan->data_json,
                            held ? "held" : "queued"};
    PGresult *r = PQexecParams(ctx->db,
                               "INSERT INTO notification_deliveries (ref, user_id, channel, "
                               "event, recipient, subject, body, data, status) VALUES ($1, $2, "
                               "$3, $4, $5, $6, $7, coalesce($8::jsonb, '{}'), $9) "
                               "ON CONFLICT (ref, user_id, channel) DO NOTHING RETURNING id",
                               9, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, r);
    int rc = 0;
    if (PQntuples(r) == 1) {
        rc = notify_enqueue_delivery(ctx, PQgetvalue(r, 0, 0), held);
        counts->deliveries++;
        counts->held += held != NULL;
    }
    PQclear(r);
    return rc;
}

int notify_plan(job_ctx_t *ctx, const notify_plan_t *plan, notify_counts_t *counts)
{
    const char *params[] = {plan->event,
                            plan->category,
                            plan->channels,
                            plan->users,
                            config_get("MANDI_QUIET_HOURS_START"),
                            config_get("MANDI_QUIET_HOURS_END")};
    /* Columns: user, channel, address, subject, body, held until. A
     * preference that is not the JSON false counts as on (the accounts
     * pool's default is on), marketing only when it is true. */
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT u.id, ch, CASE ch WHEN 'sms' THEN u.phone WHEN 'email' THEN u.email "
        "  WHEN 'push' THEN (SELECT 'devices' WHERE EXISTS (SELECT 1 FROM device_tokens d "
        "    WHERE d.user_id = u.id)) ELSE '' END, "
        "  t.subject, t.body, "
        "  CASE WHEN $2 = 'promotional' AND ch <> 'in_app' "
        "    THEN mandi_ts(mandi_quiet_until(now(), "
        "      coalesce((u.preferences->'quiet_hours'->>'start')::time, $5::time), "
        "      coalesce((u.preferences->'quiet_hours'->>'end')::time, $6::time))) END "
        "FROM users u CROSS JOIN unnest($3::text[]) AS ch "
        "LEFT JOIN LATERAL (SELECT nt.subject, nt.body FROM notification_templates nt "
        "  WHERE nt.event = $1 AND nt.channel = ch "
        "  AND nt.language IN (coalesce(u.preferences->>'language', 'en'), 'en') "
        "  ORDER BY nt.language = 'en' LIMIT 1) t ON true "
        "WHERE u.id = ANY ($4::uuid[]) AND u.status = 'active' "
        "AND (ch = 'in_app' OR "
        "  coalesce(u.preferences->'notifications'->ch <> 'false'::jsonb, true)) "
        "AND ($2 <> 'promotional' OR ch = 'in_app' OR "
        "  coalesce(u.preferences->'notifications'->'marketing' = 'true'::jsonb, false)) "
        "ORDER BY u.id, ch",
        6, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    buf_t subject = BUF_INIT, text = BUF_INIT;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        if (PQgetisnull(res, i, 2))
            continue; /* no phone, email or device for this channel */
        if (PQgetisnull(res, i, 3)) {
            log_msg(LOG_ERROR, ctx->job->request_id, "no %s template for %s", PQgetvalue(res, i, 1),
                    plan->event);
            continue;
        }
        /* A broken template is a data error no retry mends: the others go. */
        if (render_col(ctx, plan->event, res, i, 3, plan->data, &subject) < 0 ||
            render_col(ctx, plan->event, res, i, 4, plan->data, &text) < 0)
            continue;
        rc = write_row(ctx, plan, res, i, subject.data, text.data, counts);
    }
    PQclear(res);
    buf_free(&subject);
    buf_free(&text);
    return rc;
}

int notify_react(job_ctx_t *ctx, const char *ref, const char *topic, const msgpack_object *body,
                 notify_counts_t *counts)
{
    if (!body || body->type != MSGPACK_OBJECT_MAP)
        return 0; /* no event of ours has another shape: nothing to tell anyone */
    buf_t json = BUF_INIT;
    codec_error_t err;
    if (codec_object_to_json(body, &json, &err) < 0) {
        buf_free(&json);
        log_msg(LOG_WARN, ctx->job->request_id, "event %s has no JSON form: %s", topic,
                err.message);
        return 0;
    }
    const char *params[] = {topic, json.data};
    /* The rules the event matches and its recipient, when that member is a
     * UUID (anything else names nobody). */
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT r.event, r.category, array_to_string(r.channels, ','), "
        "  '{' || ($2::jsonb ->> r.recipient_key) || '}' "
        "FROM notification_rules r WHERE r.topic = $1 "
        "AND (r.match_key IS NULL OR $2::jsonb ->> r.match_key = r.match_value) "
        "AND ($2::jsonb ->> r.recipient_key) ~ "
        "  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' "
        "ORDER BY r.event",
        2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        buf_free(&json);
        return answer_db_failed(ctx, res);
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && !rc; i++) {
        char channels[128];
        snprintf(channels, sizeof channels, "{%s}", PQgetvalue(res, i, 2));
        notify_plan_t plan = {
            .ref = ref,
            .event = PQgetvalue(res, i, 0),
            .category = PQgetvalue(res, i, 1),
            .channels = channels,
            .users = PQgetvalue(res, i, 3),
            .data = body,
            .data_json = json.data,
        };
        rc = notify_plan(ctx, &plan, counts);
    }
    PQclear(res);
    buf_free(&json);
    return rc;
}

static void pack_counts(job_ctx_t *ctx, const notify_counts_t *c)
{
    msgpack_pack_map(&ctx->body, 3);
    mp_kv_i64(&ctx->body, "in_app", c->in_app);
    mp_kv_i64(&ctx->body, "deliveries", c->deliveries);
    mp_kv_i64(&ctx->body, "held", c->held);
}

/* The consumer's entry: ctx->job->id is stable per event, so it is the
 * event's identity for the unique keys. */
static int on_event(job_ctx_t *ctx, const char *topic, const msgpack_object *body)
{
    notify_counts_t counts = {0};
    int rc = notify_react(ctx, ctx->job->id, topic, body, &counts);
    if (rc)
        return rc;
    pack_counts(ctx, &counts);
    return 200;
}

/* Every event: what it leads to is data (notification_rules), so the pool
 * looks at each one. */
const event_handler_t notifications_events[] = {
    {"", on_event, 0},
    {NULL, NULL, 0},
};

/* notify.test_event {topic, body, ref?} (test mode): the same reaction,
 * reached as a job, so a test can hand the pool any event; ref stands for
 * the consumer's stable id, so a test can deliver one event twice. */
int notify_test_event(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char topic[128], ref[128];
    int rc, has_ref;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "topic", IN_REQUIRED, 1, 100, topic, sizeof topic, NULL)) ||
        (rc = input_str(ctx, body, "ref", IN_OPTIONAL, 1, 100, ref, sizeof ref, &has_ref)))
        return rc;
    const msgpack_object *event = mp_get(body, "body");
    if (!event || event->type != MSGPACK_OBJECT_MAP)
        return input_fail(ctx, "body", "body must be an object");
    notify_counts_t counts = {0};
    if ((rc = notify_react(ctx, has_ref == IN_PRESENT ? ref : ctx->job->id, topic, event, &counts)))
        return rc;
    pack_counts(ctx, &counts);
    return 200;
}
