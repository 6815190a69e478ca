/*
 * notify_jobs - the notifications pool's job table, and its direct sends:
 * notify.send_sms and notify.send_email.
 *
 * The accounts pool enqueues the direct sends (job_enqueue) inside its own
 * transaction, so a message exists if and only if the work that asked for
 * it committed. They are security messages (a sign-in code, a password
 * reset token): no preferences, no quiet hours, no inbox, and no domain
 * event, since an event reaches analytics, the live stream and partners'
 * webhooks and the code must not. The words are still data: the job names
 * a template of notification_templates and carries the members that fill
 * it, and the text is rendered here in the recipient's language (the job's
 * "language", else the preference of the user with that phone or email,
 * else English). The provider is the channel's (notify_provider.c); a
 * passing failure is retried by the job, a refusal is final.
 *
 * The bodies hold one-time codes and reset tokens: the handlers are
 * JOB_SCRUB (the envelope is emptied once the result is recorded), wipe
 * the rendered text, and never log what they deliver.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"

#include "config.h"
#include "input.h"
#include "log.h"
#include "mp.h"
#include "notify.h"
#include "notify_provider.h"
#include "notify_template.h"
#include "pool_table.h"

/* What differs between the channels; the handlers share everything else. */
typedef struct {
    const char *name; /* "sms" or "email", also the "channel" member */
    int has_subject;
    size_t body_max; /* bytes */
    int (*valid_to)(const char *to);
} channel_t;

/* One message: the address and template from the job's body, the text
 * rendered from the template row. */
typedef struct {
    char to[255];
    char template_name[64];
    char language[8];           /* "" when the job names none */
    const msgpack_object *data; /* fills the template */
    buf_t subject;
    buf_t body;
} message_t;

/* E.164: '+' and 8 to 15 digits, the first not 0. */
static int valid_phone(const char *to)
{
    size_t n = strlen(to);
    if (n < 9 || n > 16 || to[0] != '+' || to[1] == '0')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (to[i] < '0' || to[i] > '9')
            return 0;
    return 1;
}

/* A plausible address: one '@' with something before it, a dot inside the
 * domain, no spaces or control characters. Mail servers decide the rest. */
static int valid_email(const char *to)
{
    const char *at = strchr(to, '@');
    if (!at || at == to || strchr(at + 1, '@'))
        return 0;
    const char *dot = strrchr(at + 1, '.');
    if (!dot || dot == at + 1 || dot[1] == '\0')
        return 0;
    for (const char *p = to; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* Template names are identifiers: [a-z0-9_.-], at least one. */
static int valid_template(const char *name)
{
    if (!name[0])
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("_.-", *p)))
            return 0;
    return 1;
}

/* codec_json_string assumes UTF-8, and a job may come from a worker written
 * in any language: check rather than write a line that is not JSON. */
static int valid_utf8(const unsigned char *s, size_t len)
{
    static const unsigned least[] = {0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t extra = c < 0x80             ? 0
                       : (c & 0xe0) == 0xc0 ? 1
                       : (c & 0xf0) == 0xe0 ? 2
                       : (c & 0xf8) == 0xf0 ? 3
                                            : 4;
        if (extra == 4 || extra >= len - i)
            return 0;
        unsigned cp = c & (0x7fu >> extra);
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < least[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += extra + 1;
    }
    return 1;
}

/* A 400 naming the field (input_fail does the envelope). */
static int fail_field(job_ctx_t *ctx, const char *field, const char *why)
{
    return input_fail(ctx, field, "%s %s", field, why);
}

/* Copies the string field name into dst; 0, or -1 when it is missing, not
 * a string, empty or too long (cap - 1 bytes at most). */
static int copy_field(const msgpack_object *body, const char *name, char *dst, size_t cap)
{
    return mp_copy_str(mp_get(body, name), dst, cap) == 0 && dst[0] ? 0 : -1;
}

/* Languages are short codes of lower-case letters ("en", "hi"). */
static int valid_language(const char *code)
{
    size_t n = strlen(code);
    if (n < 2 || n > 7)
        return 0;
    for (const char *p = code; *p; p++)
        if (*p < 'a' || *p > 'z')
            return 0;
    return 1;
}

/* Reads and checks the job's body into msg. Returns 0, or the status of
 * the validation error it recorded. */
static int read_message(job_ctx_t *ctx, const channel_t *ch, message_t *msg)
{
    const msgpack_object *body = job_body(ctx->job);
    if (!body || body->type != MSGPACK_OBJECT_MAP)
        return fail_field(ctx, "body", "must be an object");
    if (copy_field(body, "to", msg->to, sizeof msg->to) < 0 || !ch->valid_to(msg->to))
        return fail_field(ctx, "to",
                          ch->has_subject ? "must be an email address"
                                          : "must be a phone number in E.164 form (+919876543210)");
    if (copy_field(body, "template", msg->template_name, sizeof msg->template_name) < 0 ||
        !valid_template(msg->template_name))
        return fail_field(ctx, "template", "must be a name of 1 to 63 characters a-z 0-9 _ . -");
    const msgpack_object *language = mp_get(body, "language");
    if (language && language->type != MSGPACK_OBJECT_NIL &&
        (mp_copy_str(language, msg->language, sizeof msg->language) < 0 ||
         !valid_language(msg->language)))
        return fail_field(ctx, "language", "must be a language code such as en or hi");
    msg->data = mp_get(body, "data");
    if (!msg->data || msg->data->type != MSGPACK_OBJECT_MAP)
        return fail_field(ctx, "data", "must be an object of the template's members");
    return 0;
}

/* Renders the template's text for the channel into msg->subject and
 * msg->body. Returns 0, or the status of the error it recorded. */
static int render_message(job_ctx_t *ctx, const channel_t *ch, message_t *msg)
{
    const char *params[] = {msg->template_name, ch->name, msg->language[0] ? msg->language : NULL,
                            msg->to};
    /* The job's language, else the preference of the user this address
     * belongs to; a language without a row of its own falls back to 'en'. */
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT nt.subject, nt.body FROM notification_templates nt "
        "WHERE nt.event = $1 AND nt.channel = $2 AND nt.language IN (coalesce($3, "
        "  (SELECT u.preferences->>'language' FROM users u "
        "   WHERE CASE $2 WHEN 'sms' THEN u.phone ELSE u.email END = $4), 'en'), 'en') "
        "ORDER BY nt.language = 'en' LIMIT 1",
        4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return input_fail(ctx, "template", "template %s has no %s text", msg->template_name,
                          ch->name);
    }
    /* Room up front, so no reallocation leaves a copy of the code behind. */
    buf_reserve(&msg->subject, 512);
    buf_reserve(&msg->body, 2048);
    char why[256];
    int broken = notify_template_render(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0),
                                        msg->data, &msg->subject, why, sizeof why) < 0 ||
                 notify_template_render(PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1),
                                        msg->data, &msg->body, why, sizeof why) < 0;
    PQclear(res);
    if (broken)
        return fail_field(ctx, "data", why);
    if (!msg->subject.data)
        buf_append_str(&msg->subject, "");
    size_t subject_len = msg->subject.len, body_len = msg->body.len;
    if (ch->has_subject &&
        (subject_len == 0 || subject_len > 255 || strpbrk(msg->subject.data, "\r\n") ||
         !valid_utf8((const unsigned char *)msg->subject.data, subject_len)))
        return fail_field(ctx, "data", "must make the subject one line of 1 to 255 bytes of text");
    if (body_len == 0 || body_len > ch->body_max ||
        !valid_utf8((const unsigned char *)msg->body.data, body_len)) {
        char text[80];
        snprintf(text, sizeof text, "must make the text 1 to %zu bytes of UTF-8", ch->body_max);
        return fail_field(ctx, "data", text);
    }
    return 0;
}

/* Wipes and frees the rendered text: it holds the code or token. */
static void message_free(message_t *msg)
{
    if (msg->subject.data)
        sodium_memzero(msg->subject.data, msg->subject.cap);
    if (msg->body.data)
        sodium_memzero(msg->body.data, msg->body.cap);
    buf_free(&msg->subject);
    buf_free(&msg->body);
}

static int deliver_message(job_ctx_t *ctx, const channel_t *ch, message_t *msg)
{
    char why[256];
    const notify_provider_t *p = notify_provider_for(ch->name, why, sizeof why);
    if (!p)
        return job_fail(ctx, 503, "PROVIDER_UNAVAILABLE", "%s", why);
    notify_message_t out_msg = {
        .channel = ch->name,
        .to = msg->to,
        .subject = msg->subject.data,
        .body = msg->body.data,
        .body_len = msg->body.len,
        .template_name = msg->template_name,
        .job_id = ctx->job->id,
        .ref = NULL,
    };
    notify_outcome_t out = {0};
    p->send(&out_msg, &out);
    if (out.result == NOTIFY_RETRY) {
        /* Codes expire in minutes: a short, fixed pause, and the job's
         * attempts bound the tries. */
        job_retry_later(ctx, config_get_long("MANDI_NOTIFY_RETRY_BASE_MS"));
        log_msg(LOG_WARN, ctx->job->request_id, "%s of job %s not delivered: %s", ch->name,
                ctx->job->id, out.error);
        return job_fail(ctx, 503, "PROVIDER_UNAVAILABLE", "the %s provider %s did not take it",
                        ch->name, p->name);
    }
    if (out.result != NOTIFY_SENT) {
        log_msg(LOG_WARN, ctx->job->request_id, "%s of job %s refused: %s", ch->name, ctx->job->id,
                out.error);
        return job_fail(ctx, 502, "PROVIDER_REJECTED", "the %s provider %s refused the message",
                        ch->name, p->name);
    }
    LOG_FIELDS(LOG_INFO, ctx->job->request_id, "notification delivered",
               LOG_STR("job_id", ctx->job->id), LOG_STR("channel", ch->name),
               LOG_STR("template", msg->template_name), LOG_STR("provider", p->name));
    msgpack_packer *pk = &ctx->body;
    msgpack_pack_map(pk, 3);
    mp_pack_cstr(pk, "delivered");
    msgpack_pack_true(pk);
    mp_kv_str(pk, "provider", p->name);
    mp_kv_str(pk, "channel", ch->name);
    return 200;
}

static int send_on(job_ctx_t *ctx, const channel_t *ch)
{
    message_t msg = {.subject = BUF_INIT, .body = BUF_INIT};
    int status = read_message(ctx, ch, &msg);
    if (!status)
        status = render_message(ctx, ch, &msg);
    if (!status)
        status = deliver_message(ctx, ch, &msg);
    message_free(&msg);
    return status;
}

static const channel_t sms = {
    "sms",
    0,
    1600,
    valid_phone,
};

static const channel_t email = {
    "email",
    1,
    65536,
    valid_email,
};

static int send_sms(job_ctx_t *ctx)
{
    return send_on(ctx, &sms);
}

static int send_email(job_ctx_t *ctx)
{
    return send_on(ctx, &email);
}

const job_handler_t notify_jobs[] = {
    {"notify.send_sms", send_sms, JOB_SCRUB},
    {"notify.send_email", send_email, JOB_SCRUB},
    {"notify.deliver", notify_deliver, 0},
    {"notify.list", notify_list, 0},
    {"notify.read", notify_read, 0},
    {"notify.read_all", notify_read_all, 0},
    {"notify.register_token", notify_register_token, 0},
    {"notify.unregister_token", notify_unregister_token, 0},
    {"notify.send_to_user", notify_send_to_user, 0},
    {"notify.send_to_admins", notify_send_to_admins, 0},
    {"notify.send_to_zone", notify_send_to_zone, 0},
    {"notify.failed_list", notify_failed_list, 0},
    {"notify.failed_retry", notify_failed_retry, 0},
    {"announcement.list", notify_announcement_list, 0},
    {"announcement.create", notify_announcement_create, 0},
    /* The event reaction as a job, for tests to hand it any event. */
    {"notify.test_event", notify_test_event, JOB_TEST_ONLY},
    {NULL, NULL, 0},
};
