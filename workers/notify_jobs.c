/*
 * notify_jobs - the notifications pool's delivery jobs: notify.send_sms and
 * notify.send_email.
 *
 * Other pools enqueue these (job_enqueue) inside their own transaction, so a
 * message exists if and only if the work that asked for it committed. The
 * provider is chosen per channel by MANDI_SMS_PROVIDER / MANDI_EMAIL_PROVIDER.
 * Only the development provider "file" is built so far: it appends one JSON
 * object per message to $MANDI_VAR_DIR/dev/sms.jsonl or dev/email.jsonl,
 * where a developer (or a test) reads the OTP or the reset link. Any other
 * provider is refused rather than pretended to.
 *
 * The bodies hold one-time codes and reset tokens: the handlers are
 * JOB_SCRUB (the envelope is emptied once the result is recorded) and never
 * log what they deliver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "config.h"
#include "log.h"
#include "input.h"
#include "mp.h"
#include "pool_table.h"

/* What differs between the channels; the handlers share everything else. */
typedef struct {
    const char *name;     /* "sms" or "email", also the "channel" member */
    const char *provider; /* setting naming the provider */
    const char *file;     /* file of the "file" provider, under $MANDI_VAR_DIR/dev */
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

/* "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC. */
static void format_now(char out[32])
{
    int64_t ms = clock_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* The file provider's line: one JSON object and a newline. */
static void format_line(const job_ctx_t *ctx, const channel_t *ch, const message_t *msg,
                        buf_t *line)
{
    char now[32];
    format_now(now);
    buf_append_str(line, "{\"channel\":");
    codec_json_string(line, ch->name, strlen(ch->name));
    buf_append_str(line, ",\"to\":");
    codec_json_string(line, msg->to, strlen(msg->to));
    buf_append_str(line, ",\"template\":");
    codec_json_string(line, msg->template_name, strlen(msg->template_name));
    if (ch->has_subject) {
        buf_append_str(line, ",\"subject\":");
        codec_json_string(line, msg->subject, strlen(msg->subject));
    }
    buf_append_str(line, ",\"body\":");
    codec_json_string(line, msg->body, msg->body_len);
    buf_append_str(line, ",\"job_id\":");
    codec_json_string(line, ctx->job->id, strlen(ctx->job->id));
    buf_append_str(line, ",\"created_at\":");
    codec_json_string(line, now, strlen(now));
    buf_append_str(line, "}\n");
}

/* mkdir that accepts an existing directory. */
static int ensure_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Appends line to $MANDI_VAR_DIR/dev/<file> with one write(2): O_APPEND
 * makes each write land whole at the end, so lines from workers writing at
 * the same time never interleave. Returns 0, or -1 with errno set. */
static int append_line(const char *file, const buf_t *line)
{
    char dir[4096], path[4096];
    const char *var = config_get("MANDI_VAR_DIR");
    if ((size_t)snprintf(dir, sizeof dir, "%s/dev", var) >= sizeof dir ||
        (size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (ensure_dir(var) < 0 || ensure_dir(dir) < 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = write(fd, line->data, line->len);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (n != (ssize_t)line->len) {
        errno = n < 0 ? saved : EIO;
        return -1;
    }
    return 0;
}

/* The file provider. The append happens outside the job's transaction: if
 * the worker dies after it and before the result commits, the redelivered
 * job appends the line again. Delivery through a file is therefore
 * at-least-once, unlike the job's database effects; readers of the file
 * tell repeats apart by job_id. */
static int deliver_file(job_ctx_t *ctx, const channel_t *ch, const message_t *msg)
{
    buf_t line = BUF_INIT;
    format_line(ctx, ch, msg, &line);
    int rc = append_line(ch->file, &line);
    int saved = errno;
    buf_free(&line);
    if (rc < 0) {
        log_msg(LOG_ERROR, ctx->job->request_id, "writing %s message of job %s failed: %s",
                ch->name, ctx->job->id, strerror(saved));
        return job_fail(ctx, 500, "DELIVERY_FAILED", "the %s message could not be written",
                        ch->name);
    }
    return 0;
}

static int send_on(job_ctx_t *ctx, const channel_t *ch)
{
    message_t msg = {0};
    int status = read_message(ctx, ch, &msg);
    if (status)
        return status;
    const char *provider = config_get(ch->provider);
    if (strcmp(provider, "file") != 0)
        return job_fail(ctx, 503, "PROVIDER_UNAVAILABLE",
                        "%s provider \"%s\" is not available: only the file provider is "
                        "built so far",
                        ch->name, provider);
    status = deliver_file(ctx, ch, &msg);
    if (status)
        return status;
    LOG_FIELDS(LOG_INFO, ctx->job->request_id, "notification delivered",
               LOG_STR("job_id", ctx->job->id), LOG_STR("channel", ch->name),
               LOG_STR("template", msg.template_name), LOG_STR("provider", provider));
    msgpack_packer *pk = &ctx->body;
    msgpack_pack_map(pk, 3);
    mp_pack_cstr(pk, "delivered");
    msgpack_pack_true(pk);
    mp_kv_str(pk, "provider", provider);
    mp_kv_str(pk, "channel", ch->name);
    return 200;
}

static const channel_t sms = {
    "sms", "MANDI_SMS_PROVIDER", "sms.jsonl", 0, 1600, valid_phone,
};

static const channel_t email = {
    "email", "MANDI_EMAIL_PROVIDER", "email.jsonl", 1, 65536, valid_email,
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
    {NULL, NULL, 0},
};
