/*
 * analytics_ingest - what enters the analytics_events table: the events the
 * apps send (analytics.ingest, one event or a batch of up to 500) and the
 * domain events of every pool (analytics_events[], the consumer's handler
 * table, and test.analytics_event, which drives the same recording until
 * the consumer runs it).
 *
 * A batch keeps its good events and reports each bad one by index, field
 * and message: an app that queued events offline should not lose 499 for
 * one malformed property bag, and cannot usefully resend them one by one.
 */
#include "analytics.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "codec.h"
#include "input.h"
#include "log.h"
#include "mp.h"

#define BATCH_MAX            500
#define PROPERTIES_MAX_BYTES 8192
/* An event may come this much ahead of our clock (phones' clocks drift)
 * and this long after it happened (apps send what they queued offline). */
#define FUTURE_SKEW_S (10 * 60)
#define PAST_MAX_S    (30 * 24 * 3600)

static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

/* Identifiers chosen by apps: visible ASCII, no spaces. */
static int id_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* The string members of an event, checked alike. */
enum { F_NAME, F_DEVICE, F_SESSION, F_ZONE, F_COUNT };
static const struct {
    const char *field;
    size_t max;
    int (*ok)(unsigned char c);
    const char *rule;
} string_fields[F_COUNT] = {
    [F_NAME] = {"name", 64, name_char, "1 to 64 letters, digits, '_', '.', ':' or '-'"},
    [F_DEVICE] = {"device_id", 128, id_char, "1 to 128 visible ASCII characters"},
    [F_SESSION] = {"session_id", 128, id_char, "1 to 128 visible ASCII characters"},
    [F_ZONE] = {"zone", 64, id_char, "1 to 64 visible ASCII characters"},
};

typedef struct {
    const char *str[F_COUNT]; /* into the job's body; NULL when absent */
    uint32_t len[F_COUNT];
    const msgpack_object *properties; /* a map, or NULL */
    char timestamp[33];               /* "" when absent: the time it arrived */
} app_event_t;

/* Why an event was refused. */
typedef struct {
    const char *field;
    char message[256]; /* room for a field, a rule and codec_error_t's message */
} event_error_t;

static int refuse(event_error_t *err, const char *field, const char *fmt, const char *arg)
{
    err->field = field;
    snprintf(err->message, sizeof err->message, fmt, field, arg);
    return -1;
}

static int two_digits(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Seconds since the epoch of a time input_timestamp_valid accepted (the
 * fraction dropped: the bounds are minutes wide). */
static int64_t timestamp_epoch(const char *s)
{
    int64_t year = two_digits(s) * 100 + two_digits(s + 2);
    int64_t t = days_from_civil(year, two_digits(s + 5), two_digits(s + 8)) * 86400 +
                two_digits(s + 11) * 3600 + two_digits(s + 14) * 60 + two_digits(s + 17);
    const char *p = s + 19;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (*p == '+' || *p == '-') {
        int64_t offset = two_digits(p + 1) * 3600 + two_digits(p + 4) * 60;
        t += *p == '+' ? -offset : offset;
    }
    return t;
}

static int check_string(const msgpack_object *item, int f, app_event_t *ev, event_error_t *err)
{
    const char *field = string_fields[f].field;
    const msgpack_object *v = mp_get(item, field);
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (v->type != MSGPACK_OBJECT_STR)
        return refuse(err, field, "%s must be a string of %s", string_fields[f].rule);
    uint32_t n = v->via.str.size;
    int ok = n >= 1 && n <= string_fields[f].max;
    for (uint32_t i = 0; ok && i < n; i++)
        ok = string_fields[f].ok((unsigned char)v->via.str.ptr[i]);
    if (!ok)
        return refuse(err, field, "%s must be %s", string_fields[f].rule);
    ev->str[f] = v->via.str.ptr;
    ev->len[f] = n;
    return 0;
}

/* Checks one event; defaults (may be NULL) lends it the batch's device_id
 * and session_id when it has none. anonymous: no token, so a device_id is
 * what tells its sender apart. */
static int check_event(const msgpack_object *item, const app_event_t *defaults, int anonymous,
                       int64_t now_s, app_event_t *ev, event_error_t *err)
{
    memset(ev, 0, sizeof *ev);
    if (item->type != MSGPACK_OBJECT_MAP)
        return refuse(err, "event", "%s must be an object%s", "");
    for (int f = 0; f < F_COUNT; f++)
        if (check_string(item, f, ev, err) < 0)
            return -1;
    if (!ev->str[F_NAME])
        return refuse(err, "name", "%s is required: %s", string_fields[F_NAME].rule);
    if (defaults)
        for (int f = F_DEVICE; f <= F_SESSION; f++)
            if (!ev->str[f]) {
                ev->str[f] = defaults->str[f];
                ev->len[f] = defaults->len[f];
            }
    if (anonymous && !ev->str[F_DEVICE])
        return refuse(err, "device_id", "%s is required without a token%s", "");

    const msgpack_object *props = mp_get(item, "properties");
    if (props && props->type != MSGPACK_OBJECT_NIL) {
        if (props->type != MSGPACK_OBJECT_MAP)
            return refuse(err, "properties", "%s must be an object%s", "");
        ev->properties = props;
    }

    const msgpack_object *ts = mp_get(item, "timestamp");
    if (ts && ts->type != MSGPACK_OBJECT_NIL) {
        if (ts->type != MSGPACK_OBJECT_STR || mp_copy_str(ts, ev->timestamp, 33) < 0 ||
            !input_timestamp_valid(ev->timestamp))
            return refuse(err, "timestamp", "%s must be a time like %s",
                          "2026-11-23T18:30:00+05:30 (or ...Z)");
        int64_t t = timestamp_epoch(ev->timestamp);
        if (t > now_s + FUTURE_SKEW_S)
            return refuse(err, "timestamp", "%s must not be more than %s ahead of now",
                          "10 minutes");
        if (t < now_s - PAST_MAX_S)
            return refuse(err, "timestamp", "%s must not be more than %s old", "30 days");
    }
    return 0;
}

/* Appends a kept event to the JSON array the insert reads. */
static int append_event(buf_t *rows, uint32_t index, const app_event_t *ev, event_error_t *err)
{
    static const char *const keys[F_COUNT] = {"name", "device_id", "session_id", "zone"};
    size_t mark = rows->len;
    buf_printf(rows, "%s{\"i\":%u", rows->len > 1 ? "," : "", index);
    for (int f = 0; f < F_COUNT; f++)
        if (ev->str[f]) {
            buf_printf(rows, ",\"%s\":", keys[f]);
            codec_json_string(rows, ev->str[f], ev->len[f]);
        }
    if (ev->timestamp[0])
        buf_printf(rows, ",\"at\":\"%s\"", ev->timestamp);
    buf_append_str(rows, ",\"properties\":");
    size_t props_at = rows->len;
    codec_error_t cerr;
    if (ev->properties && codec_object_to_json(ev->properties, rows, &cerr) < 0) {
        rows->len = mark;
        rows->data[mark] = '\0';
        return refuse(err, "properties", "%s cannot be stored: %s", cerr.message);
    }
    if (!ev->properties)
        buf_append_str(rows, "{}");
    if (rows->len - props_at > PROPERTIES_MAX_BYTES) {
        rows->len = mark;
        rows->data[mark] = '\0';
        return refuse(err, "properties", "%s must be at most %s bytes of JSON", "8192");
    }
    buf_append_char(rows, '}');
    return 0;
}

static void pack_error(msgpack_packer *pk, uint32_t index, const event_error_t *err)
{
    msgpack_pack_map(pk, 3);
    mp_kv_i64(pk, "index", index);
    mp_kv_str(pk, "field", err->field);
    mp_kv_str(pk, "message", err->message);
}

/* App events keep the arrival time when they carry none; the key makes a
 * job delivered again (its result already recorded, or not) insert each
 * event once. */
static const char INSERT_APP_EVENTS[] =
    "INSERT INTO analytics_events (source, event_key, name, user_id, device_id, session_id, "
    "  zone, properties, occurred_at) "
    "SELECT 'app', $1 || ':' || (x->>'i'), x->>'name', nullif($2, ''), x->>'device_id', "
    "  x->>'session_id', x->>'zone', x->'properties', coalesce((x->>'at')::timestamptz, now()) "
    "FROM jsonb_array_elements($3::jsonb) x "
    "ON CONFLICT (event_key) DO NOTHING";

/* POST /api/analytics/event: {name, properties?, timestamp?, device_id?,
 * session_id?, zone?}, or {events: [...], device_id?, session_id?}. */
int analytics_ingest(job_ctx_t *ctx)
{
    const msgpack_object *body, *events = NULL;
    int rc;
    if ((rc = input_body(ctx, &body)))
        return rc;
    int batch = mp_get(body, "events") != NULL;
    if (batch) {
        if ((rc = input_container(ctx, body, "events", IN_REQUIRED, MSGPACK_OBJECT_ARRAY, BATCH_MAX,
                                  &events, NULL)))
            return rc;
        if (!events || events->via.array.size == 0)
            return input_fail(ctx, "events", "events must hold 1 to %d events", BATCH_MAX);
    }
    const int anonymous = ctx->job->user_id[0] == '\0';
    const int64_t now_s = clock_now_ms() / 1000;

    /* The batch's own device_id and session_id, lent to its events. */
    app_event_t defaults;
    memset(&defaults, 0, sizeof defaults);
    event_error_t err;
    if (batch && (check_string(body, F_DEVICE, &defaults, &err) < 0 ||
                  check_string(body, F_SESSION, &defaults, &err) < 0))
        return input_fail(ctx, err.field, "%s", err.message);

    const uint32_t n = batch ? events->via.array.size : 1;
    buf_t rows = {0}, errors = {0};
    msgpack_packer epk;
    msgpack_packer_init(&epk, &errors, buf_msgpack_write);
    buf_append_char(&rows, '[');
    uint32_t kept = 0, refused = 0;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *item = batch ? &events->via.array.ptr[i] : body;
        app_event_t ev;
        if (check_event(item, batch ? &defaults : NULL, anonymous, now_s, &ev, &err) < 0 ||
            append_event(&rows, i, &ev, &err) < 0) {
            if (!batch) {
                buf_free(&rows);
                buf_free(&errors);
                return input_fail(ctx, err.field, "%s", err.message);
            }
            pack_error(&epk, i, &err);
            refused++;
            continue;
        }
        kept++;
    }
    buf_append_char(&rows, ']');

    if (kept) {
        const char *params[] = {ctx->job->id, ctx->job->user_id, rows.data};
        rc = answer_exec(ctx, INSERT_APP_EVENTS, 3, params);
    }
    buf_free(&rows);
    if (rc) {
        buf_free(&errors);
        return rc;
    }
    msgpack_pack_map(&ctx->body, 3);
    mp_kv_i64(&ctx->body, "accepted", kept);
    mp_kv_i64(&ctx->body, "rejected", refused);
    mp_pack_cstr(&ctx->body, "errors");
    msgpack_pack_array(&ctx->body, refused);
    buf_append(&ctx->body_buf, errors.data, errors.len);
    buf_free(&errors);
    return batch ? 200 : 201;
}

/* ---- domain events ------------------------------------------------------ */

/* A body that is not an object is kept under "value"; user and zone come
 * from the body's own members, which is where every pool's events name
 * them (order events: user_id and zone). */
static const char INSERT_DOMAIN_EVENT[] =
    "INSERT INTO analytics_events (source, event_key, name, user_id, zone, properties, "
    "  occurred_at) "
    "SELECT 'domain', $1, $2, b->>'user_id', b->>'zone', b, "
    "  coalesce((SELECT created_at FROM outbox WHERE position = $4::bigint), now()) "
    "FROM (SELECT CASE WHEN jsonb_typeof($3::jsonb) = 'object' THEN $3::jsonb "
    "  ELSE jsonb_build_object('value', $3::jsonb) END AS b) x "
    "ON CONFLICT (event_key) DO NOTHING RETURNING id";

/* Records a domain event under key, once, dated when it was written to
 * the outbox (position; 0 when not from the outbox: now), so events a
 * consumer catches up on after downtime keep their own time; *recorded
 * (may be NULL) says whether this call recorded it. Returns 0 or the
 * status answered. */
static int record_domain_event(job_ctx_t *ctx, const char *key, const char *topic,
                               const msgpack_object *body, int64_t position, int *recorded)
{
    buf_t json = {0};
    codec_error_t err;
    if (!body || codec_object_to_json(body, &json, &err) < 0) {
        /* A body JSON cannot hold (binary, non-string keys) still counts as
         * an event; failing would only have it offered again forever. */
        if (body)
            log_msg(LOG_WARN, ctx->job->request_id,
                    "analytics: event %s of topic %s kept without its body: %s", key, topic,
                    err.message);
        buf_reset(&json);
        buf_append_str(&json, "{}");
    }
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)position);
    const char *params[] = {key, topic, json.data, pos};
    PGresult *res = PQexecParams(ctx->db, INSERT_DOMAIN_EVENT, 4, NULL, params, NULL, NULL, 0);
    buf_free(&json);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (recorded)
        *recorded = PQntuples(res) == 1;
    PQclear(res);
    return 0;
}

static int on_domain_event(job_ctx_t *ctx, const char *topic, const msgpack_object *body)
{
    int rc = record_domain_event(ctx, ctx->job->id, topic, body, consumer_position(), NULL);
    return rc ? rc : 200;
}

const event_handler_t analytics_events[] = {
    {"", on_domain_event, 0},
    {NULL, NULL, 0},
};

/* test.analytics_event {topic, body, id}: what the consumer will do with
 * an event, id standing for its stable delivery id. */
int analytics_test_event(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char topic[513], key[513];
    int rc, recorded = 0;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "topic", IN_REQUIRED, 1, 128, topic, sizeof topic, NULL)) ||
        (rc = input_str(ctx, body, "id", IN_REQUIRED, 1, 128, key, sizeof key, NULL)))
        return rc;
    if ((rc = record_domain_event(ctx, key, topic, mp_get(body, "body"), 0, &recorded)))
        return rc;
    msgpack_pack_map(&ctx->body, 1);
    mp_pack_cstr(&ctx->body, "recorded");
    if (recorded)
        msgpack_pack_true(&ctx->body);
    else
        msgpack_pack_false(&ctx->body);
    return 200;
}
