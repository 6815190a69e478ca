/*
 * notify_provider - the file, MSG91, SendGrid and FCM providers (see
 * notify_provider.h).
 */
#include "notify_provider.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "codec.h"
#include "config.h"
#include "fcm_auth.h"
#include "mp.h"

/* ---- the file provider ----------------------------------------------------- */

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

static void json_member(buf_t *line, const char *key, const char *value, size_t len)
{
    buf_printf(line, ",\"%s\":", key);
    codec_json_string(line, value, len);
}

/* mkdir that accepts an existing directory. */
static int ensure_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Appends line to $MANDI_VAR_DIR/dev/<channel>.jsonl with one write(2):
 * O_APPEND makes each write land whole at the end, so lines from workers
 * writing at the same time never interleave. Returns 0, or -1 with errno. */
static int append_line(const char *channel, const buf_t *line)
{
    char dir[4096], path[4096];
    const char *var = config_get("MANDI_VAR_DIR");
    if ((size_t)snprintf(dir, sizeof dir, "%s/dev", var) >= sizeof dir ||
        (size_t)snprintf(path, sizeof path, "%s/%s.jsonl", dir, channel) >= sizeof path) {
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

/* One JSON object per message, where a developer (or a test) reads the
 * OTP or the reset link. The append is outside any transaction: a worker
 * that dies after it and before its job commits appends the line again
 * when the job is redelivered, so readers tell repeats apart by job_id. */
static void file_send(const notify_message_t *msg, notify_outcome_t *out)
{
    char now[32];
    format_now(now);
    buf_t line = BUF_INIT;
    buf_append_str(&line, "{\"channel\":");
    codec_json_string(&line, msg->channel, strlen(msg->channel));
    json_member(&line, "to", msg->to, strlen(msg->to));
    json_member(&line, "template", msg->template_name, strlen(msg->template_name));
    if (strcmp(msg->channel, "sms") != 0)
        json_member(&line, "subject", msg->subject, strlen(msg->subject));
    json_member(&line, "body", msg->body, msg->body_len);
    json_member(&line, "job_id", msg->job_id, strlen(msg->job_id));
    if (msg->ref)
        json_member(&line, "ref", msg->ref, strlen(msg->ref));
    json_member(&line, "created_at", now, strlen(now));
    buf_append_str(&line, "}\n");
    if (append_line(msg->channel, &line) < 0) {
        out->result = NOTIFY_RETRY;
        snprintf(out->error, sizeof out->error, "writing the %s file failed: %s", msg->channel,
                 strerror(errno));
    } else {
        out->result = NOTIFY_SENT;
        snprintf(out->provider_id, sizeof out->provider_id, "file:%s", msg->job_id);
    }
    buf_free(&line);
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct {
    long status;
    buf_t body;
    char message_id[128]; /* SendGrid's X-Message-Id */
} http_answer_t;

static CURL *http_handle;

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    buf_t *body = user;
    /* Providers answer a few hundred bytes; more is not an answer we read. */
    if (body->len + size * n > 65536)
        return 0;
    buf_append(body, data, size * n);
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    http_answer_t *a = user;
    size_t len = size * n;
    static const char name[] = "x-message-id:";
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vn = len - (sizeof name - 1);
        while (vn && (*v == ' ' || *v == '\t'))
            v++, vn--;
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        snprintf(a->message_id, sizeof a->message_id, "%.*s", (int)vn, v);
    }
    return len;
}

/* POSTs body (of content_type) to url with the extra header lines. Returns
 * 0 with a->status set when an HTTP answer came, else -1 with why. */
static int http_post_as(const char *url, const char *content_type, const char *const *headers,
                        const buf_t *body, http_answer_t *a, char *why, size_t why_cap)
{
    if (!http_handle) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        http_handle = curl_easy_init();
        if (!http_handle) {
            snprintf(why, why_cap, "libcurl could not make a handle");
            return -1;
        }
    }
    CURL *c = http_handle;
    curl_easy_reset(c);
    char type[128];
    snprintf(type, sizeof type, "Content-Type: %s", content_type);
    struct curl_slist *list = curl_slist_append(NULL, type);
    list = curl_slist_append(list, "Accept: application/json");
    /* Small bodies never need it, but libcurl would wait for a 100 Continue. */
    list = curl_slist_append(list, "Expect:");
    for (size_t i = 0; headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mandi");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     config_get_long("MANDI_NOTIFY_CONNECT_TIMEOUT_MS"));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, config_get_long("MANDI_NOTIFY_TIMEOUT_MS"));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        snprintf(why, why_cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    return 0;
}

static int http_post(const char *url, const char *const *headers, const buf_t *body,
                     http_answer_t *a, char *why, size_t why_cap)
{
    return http_post_as(url, "application/json", headers, body, a, why, why_cap);
}

/* The answer's body as a msgpack object in *u (the caller destroys it), or
 * NULL when it is not JSON. */
static const msgpack_object *parse_answer(const buf_t *body, buf_t *mp, msgpack_unpacked *u)
{
    codec_error_t err;
    msgpack_unpacked_init(u);
    if (!body->len || codec_json_to_msgpack(body->data, body->len, mp, &err) < 0)
        return NULL;
    size_t off = 0;
    if (msgpack_unpack_next(u, mp->data, mp->len, &off) != MSGPACK_UNPACK_SUCCESS)
        return NULL;
    return &u->data;
}

/* What every HTTP provider shares: no answer, 429 and 5xx are passing;
 * other statuses outside 2xx are refusals. Returns 1 when the answer was a
 * 2xx, for the provider to read further. */
static int classify(int posted, const http_answer_t *a, const char *why, notify_outcome_t *out)
{
    out->http_status = posted == 0 ? a->status : 0;
    if (posted < 0) {
        out->result = NOTIFY_RETRY;
        snprintf(out->error, sizeof out->error, "no answer: %s", why);
        return 0;
    }
    if (a->status >= 200 && a->status < 300)
        return 1;
    out->result = a->status == 429 || a->status >= 500 ? NOTIFY_RETRY : NOTIFY_REJECTED;
    snprintf(out->error, sizeof out->error, "HTTP %ld: %.200s", a->status,
             a->body.data ? a->body.data : "");
    return 0;
}

static void answer_free(http_answer_t *a)
{
    buf_free(&a->body);
}

/* ---- MSG91 (flow API v5) ----------------------------------------------------- */

/* POST {base}/api/v5/flow/ with the authkey header; the flow's template
 * (MSG91_TEMPLATE_ID, registered with DLT) has one variable, ##content##,
 * which carries the rendered text. MSG91 wants the number without '+'. It
 * may answer 200 with {"type": "error"}: that is a refusal too. */
static void msg91_send(const notify_message_t *msg, notify_outcome_t *out)
{
    char url[1024], auth[512], why[CURL_ERROR_SIZE + 64] = "";
    snprintf(url, sizeof url, "%s/api/v5/flow/", config_get("MSG91_API_BASE"));
    snprintf(auth, sizeof auth, "authkey: %s", config_get("MSG91_AUTH_KEY"));
    const char *headers[] = {auth, NULL};
    buf_t body = BUF_INIT;
    const char *to = msg->to[0] == '+' ? msg->to + 1 : msg->to;
    buf_append_str(&body, "{\"template_id\":");
    codec_json_string(&body, config_get("MSG91_TEMPLATE_ID"),
                      strlen(config_get("MSG91_TEMPLATE_ID")));
    buf_append_str(&body, ",\"sender\":");
    codec_json_string(&body, config_get("MSG91_SENDER"), strlen(config_get("MSG91_SENDER")));
    buf_append_str(&body, ",\"short_url\":\"0\",\"recipients\":[{\"mobiles\":");
    codec_json_string(&body, to, strlen(to));
    buf_append_str(&body, ",\"content\":");
    codec_json_string(&body, msg->body, msg->body_len);
    buf_append_str(&body, "}]}");
    http_answer_t a = {0};
    int posted = http_post(url, headers, &body, &a, why, sizeof why);
    if (classify(posted, &a, why, out)) {
        buf_t mp = BUF_INIT;
        msgpack_unpacked u;
        const msgpack_object *j = parse_answer(&a.body, &mp, &u);
        const msgpack_object *type = j ? mp_get(j, "type") : NULL;
        if (type && mp_str_is(type, "success")) {
            out->result = NOTIFY_SENT;
            mp_copy_str(mp_get(j, "message"), out->provider_id, sizeof out->provider_id);
        } else {
            out->result = NOTIFY_REJECTED;
            snprintf(out->error, sizeof out->error, "MSG91 refused: %.200s",
                     a.body.data ? a.body.data : "");
        }
        msgpack_unpacked_destroy(&u);
        buf_free(&mp);
    }
    answer_free(&a);
    buf_free(&body);
}

/* ---- SendGrid (v3 mail/send) ------------------------------------------------- */

/* POST {base}/v3/mail/send with a bearer API key; 202 Accepted with the
 * message's id in X-Message-Id. custom_args carry our delivery id, which
 * SendGrid hands back in its event webhooks. */
static void sendgrid_send(const notify_message_t *msg, notify_outcome_t *out)
{
    char url[1024], auth[512], why[CURL_ERROR_SIZE + 64] = "";
    snprintf(url, sizeof url, "%s/v3/mail/send", config_get("SENDGRID_API_BASE"));
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", config_get("SENDGRID_API_KEY"));
    const char *headers[] = {auth, NULL};
    const char *from = config_get("MANDI_EMAIL_FROM");
    buf_t body = BUF_INIT;
    buf_append_str(&body, "{\"personalizations\":[{\"to\":[{\"email\":");
    codec_json_string(&body, msg->to, strlen(msg->to));
    buf_append_str(&body, "}]}],\"from\":{\"email\":");
    codec_json_string(&body, from, strlen(from));
    buf_append_str(&body, "},\"subject\":");
    codec_json_string(&body, msg->subject, strlen(msg->subject));
    buf_append_str(&body, ",\"content\":[{\"type\":\"text/plain\",\"value\":");
    codec_json_string(&body, msg->body, msg->body_len);
    buf_append_str(&body, "}]");
    if (msg->ref) {
        buf_append_str(&body, ",\"custom_args\":{\"delivery_id\":");
        codec_json_string(&body, msg->ref, strlen(msg->ref));
        buf_append_str(&body, "}");
    }
    buf_append_str(&body, "}");
    http_answer_t a = {0};
    int posted = http_post(url, headers, &body, &a, why, sizeof why);
    if (classify(posted, &a, why, out)) {
        out->result = NOTIFY_SENT;
        snprintf(out->provider_id, sizeof out->provider_id, "%s", a.message_id);
    }
    answer_free(&a);
    buf_free(&body);
}

/* ---- FCM (HTTP v1) ------------------------------------------------------------- */

/* The FCM error code of an error answer: details[].errorCode of the
 * FcmError detail, else error.status. */
static void fcm_error_code(const msgpack_object *j, char *code, size_t cap)
{
    code[0] = '\0';
    const msgpack_object *err = j ? mp_get(j, "error") : NULL;
    if (!err)
        return;
    const msgpack_object *details = mp_get(err, "details");
    if (details && details->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < details->via.array.size; i++)
            if (mp_copy_str(mp_get(&details->via.array.ptr[i], "errorCode"), code, cap) == 0)
                return;
    mp_copy_str(mp_get(err, "status"), code, cap);
}

/* The bearer token and project to send with, from the service account
 * (fcm_auth). Returns 0, or -1 with *out saying why there is none: the
 * token endpoint's passing troubles are retried, an unusable account is a
 * refusal that no retry mends. */
static int fcm_credentials(const char **token, const char **project, notify_outcome_t *out)
{
    long status = 0;
    char why[512] = "";
    fcm_auth_result_t r = fcm_auth_token(token, project, &status, why, sizeof why);
    if (r == FCM_AUTH_OK) {
        /* FCM_PROJECT_ID names the project when the key file does not, or
         * when the account sends for another project it is allowed to. */
        if (config_get("FCM_PROJECT_ID")[0])
            *project = config_get("FCM_PROJECT_ID");
        if ((*project)[0])
            return 0;
        out->result = NOTIFY_REJECTED;
        snprintf(out->error, sizeof out->error,
                 "no Firebase project: set FCM_PROJECT_ID or project_id in the key file");
        return -1;
    }
    out->result = r == FCM_AUTH_RETRY ? NOTIFY_RETRY : NOTIFY_REJECTED;
    out->http_status = status;
    snprintf(out->error, sizeof out->error, "%s", why);
    return -1;
}

/* POST {base}/v1/projects/{project}/messages:send with the service
 * account's OAuth token, one message per device token. A token FCM no
 * longer knows (404 UNREGISTERED) or finds malformed (400
 * INVALID_ARGUMENT naming the token) is a bad token, for the caller to
 * forget. A 401 means the access token was revoked or expired early: it is
 * dropped and the message retried, so the next attempt buys a fresh one. */
static void fcm_send(const notify_message_t *msg, notify_outcome_t *out)
{
    const char *token, *project;
    if (fcm_credentials(&token, &project, out) < 0)
        return;
    char url[1024], auth[4200], why[CURL_ERROR_SIZE + 64] = "";
    snprintf(url, sizeof url, "%s/v1/projects/%s/messages:send", config_get("FCM_API_BASE"),
             project);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *headers[] = {auth, NULL};
    buf_t body = BUF_INIT;
    buf_append_str(&body, "{\"message\":{\"token\":");
    codec_json_string(&body, msg->to, strlen(msg->to));
    buf_append_str(&body, ",\"notification\":{\"title\":");
    codec_json_string(&body, msg->subject, strlen(msg->subject));
    buf_append_str(&body, ",\"body\":");
    codec_json_string(&body, msg->body, msg->body_len);
    buf_append_str(&body, "},\"data\":{\"event\":");
    codec_json_string(&body, msg->template_name, strlen(msg->template_name));
    if (msg->ref) {
        buf_append_str(&body, ",\"delivery_id\":");
        codec_json_string(&body, msg->ref, strlen(msg->ref));
    }
    buf_append_str(&body, "}}}");
    http_answer_t a = {0};
    int posted = http_post(url, headers, &body, &a, why, sizeof why);
    buf_t mp = BUF_INIT;
    msgpack_unpacked u;
    const msgpack_object *j = posted == 0 ? parse_answer(&a.body, &mp, &u) : NULL;
    if (posted < 0)
        msgpack_unpacked_init(&u);
    if (classify(posted, &a, why, out)) {
        out->result = NOTIFY_SENT;
        if (j)
            mp_copy_str(mp_get(j, "name"), out->provider_id, sizeof out->provider_id);
    } else if (posted == 0 && a.status == 401) {
        fcm_auth_forget();
        out->result = NOTIFY_RETRY;
    } else if (posted == 0 && (a.status == 404 || a.status == 400)) {
        char code[64];
        fcm_error_code(j, code, sizeof code);
        if (strcmp(code, "UNREGISTERED") == 0 || strcmp(code, "INVALID_ARGUMENT") == 0)
            out->result = NOTIFY_BAD_TOKEN;
    }
    msgpack_unpacked_destroy(&u);
    buf_free(&mp);
    answer_free(&a);
    buf_free(&body);
}

int notify_http_post(const char *url, const char *const *headers, const char *body, size_t len,
                     long *status, char *why, size_t why_cap)
{
    buf_t b = BUF_INIT;
    buf_append(&b, body, len);
    http_answer_t a = {0};
    int rc = http_post(url, headers, &b, &a, why, why_cap);
    if (rc == 0) {
        *status = a.status;
        if (a.status < 200 || a.status >= 300)
            snprintf(why, why_cap, "HTTP %ld: %.200s", a.status, a.body.data ? a.body.data : "");
    }
    answer_free(&a);
    buf_free(&b);
    return rc;
}

int notify_http_exchange(const char *url, const char *content_type, const char *const *headers,
                         const char *body, size_t len, long *status, buf_t *answer, char *why,
                         size_t why_cap)
{
    buf_t b = BUF_INIT;
    buf_append(&b, body, len);
    http_answer_t a = {0};
    int rc = http_post_as(url, content_type, headers, &b, &a, why, why_cap);
    if (rc == 0) {
        *status = a.status;
        if (a.body.len)
            buf_append(answer, a.body.data, a.body.len);
    }
    answer_free(&a);
    buf_free(&b);
    return rc;
}

/* ---- the table ----------------------------------------------------------------- */

static const struct {
    notify_provider_t provider;
    const char *required[3]; /* settings that must not be empty */
} providers[] = {
    {{"sms", "file", file_send}, {NULL}},
    {{"email", "file", file_send}, {NULL}},
    {{"push", "file", file_send}, {NULL}},
    {{"sms", "msg91", msg91_send}, {"MSG91_AUTH_KEY", "MSG91_TEMPLATE_ID", NULL}},
    {{"email", "sendgrid", sendgrid_send}, {"SENDGRID_API_KEY", "MANDI_EMAIL_FROM", NULL}},
    {{"push", "fcm", fcm_send}, {"FCM_SERVICE_ACCOUNT_FILE", NULL}},
};

static const struct {
    const char *channel, *setting;
} settings[] = {
    {"sms", "MANDI_SMS_PROVIDER"},
    {"email", "MANDI_EMAIL_PROVIDER"},
    {"push", "MANDI_PUSH_PROVIDER"},
};

const notify_provider_t *notify_provider_for(const char *channel, char *why, size_t why_cap)
{
    const char *name = NULL;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (strcmp(settings[i].channel, channel) == 0)
            name = config_get(settings[i].setting);
    if (!name) {
        snprintf(why, why_cap, "there is no %s channel", channel);
        return NULL;
    }
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++) {
        if (strcmp(providers[i].provider.channel, channel) != 0 ||
            strcmp(providers[i].provider.name, name) != 0)
            continue;
        for (size_t k = 0; providers[i].required[k]; k++)
            if (!config_get(providers[i].required[k])[0]) {
                snprintf(why, why_cap, "%s provider %s needs %s", channel, name,
                         providers[i].required[k]);
                return NULL;
            }
        return &providers[i].provider;
    }
    snprintf(why, why_cap, "%s provider \"%s\" does not exist", channel, name);
    return NULL;
}
