/*
 * notify_jobs - the notifications pool's job table, and its direct sends:
 * notify.send_sms and notify.send_email.
 *
 * Other pools enqueue the direct sends (job_enqueue) inside their own
 * transaction, so a message exists if and only if the work that asked for
 * it committed. They carry text already written (an OTP, a reset link) and
 * are security messages: no preferences, no quiet hours, no inbox. The
 * provider is the channel's (notify_provider.c); a passing failure is
 * retried by the job with back-off, a refusal is final.
 *
 * The bodies hold one-time codes and reset tokens: the handlers are
 * JOB_SCRUB (the envelope is emptied once the result is recorded) and never
 * log what they deliver.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "input.h"
#include "log.h"
#include "mp.h"
#include "notify.h"
#include "notify_provider.h"
#include "pool_table.h"

/* What differs between the channels; the handlers share everything else. */
typedef struct {
    const char *name; /* "sms" or "email", also the "channel" member */
    int has_subject;
    size_t body_max; /* bytes */
    int (*valid_to)(const char *to);
} channel_t;

/* One message, pointing into the job's body. */
typedef struct {
    char to[255];
    char template_name[64];
    char subject[256];
    const char *body;
    size_t body_len;
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
    if (ch->has_subject && (copy_field(body, "subject", msg->subject, sizeof msg->subject) < 0 ||
                            strpbrk(msg->subject, "\r\n") ||
                            !valid_utf8((const unsigned char *)msg->subject, strlen(msg->subject))))
        return fail_field(ctx, "subject", "must be one line of 1 to 255 bytes of text");
    const msgpack_object *text = mp_get(body, "body");
    if (!text || text->type != MSGPACK_OBJECT_STR || text->via.str.size == 0 ||
        text->via.str.size > ch->body_max ||
        !valid_utf8((const unsigned char *)text->via.str.ptr, text->via.str.size)) {
        char why[64];
        snprintf(why, sizeof why, "must be text of 1 to %zu bytes", ch->body_max);
        return fail_field(ctx, "body", why);
    }
    msg->body = text->via.str.ptr;
    msg->body_len = text->via.str.size;
    return 0;
}

static int send_on(job_ctx_t *ctx, const channel_t *ch)
{
    message_t msg = {0};
    int status = read_message(ctx, ch, &msg);
    if (status)
        return status;
    char why[256];
    const notify_provider_t *p = notify_provider_for(ch->name, why, sizeof why);
    if (!p)
        return job_fail(ctx, 503, "PROVIDER_UNAVAILABLE", "%s", why);
    notify_message_t out_msg = {
        .channel = ch->name,
        .to = msg.to,
        .subject = msg.subject,
        .body = msg.body,
        .body_len = msg.body_len,
        .template_name = msg.template_name,
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
               LOG_STR("template", msg.template_name), LOG_STR("provider", p->name));
    msgpack_packer *pk = &ctx->body;
    msgpack_pack_map(pk, 3);
    mp_pack_cstr(pk, "delivered");
    msgpack_pack_true(pk);
    mp_kv_str(pk, "provider", p->name);
    mp_kv_str(pk, "channel", ch->name);
    return 200;
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
