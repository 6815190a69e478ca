/*
 * razorpay - the Razorpay API client (see razorpay.h).
 *
 * Each call builds its whole request (URL, JSON body, headers) once, then
 * hands the same bytes to every attempt: that is what makes a retry safe.
 */
#include "razorpay.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "config.h"
#include "log.h"
#include "mp.h"
#include "razorpay_test.h"

#define RZP_CURRENCY "INR"
/* A list of 100 payments is some 100 KB; anything past this is not Razorpay. */
#define RZP_BODY_MAX ((size_t)8 << 20)
/* However many retries are configured, no single back-off exceeds this. */
#define RZP_BACKOFF_MAX_MS 30000L
#define RZP_RETRIES_MAX    10
#define RZP_RECEIPT_MAX    40
#define RZP_ID_MAX         64

struct razorpay {
    int test; /* the built-in test gateway (razorpay_test.c): no key id given */
    CURL *curl;
    char *api_base; /* without a trailing slash */
    char *key_id;
    char *key_secret;
    long connect_timeout_ms;
    long timeout_ms;
    long retries;
    long retry_base_ms;
    buf_t url; /* reused by every call */
    char curl_error[CURL_ERROR_SIZE];
};

/* Clients alive in this process: libcurl is initialised while there is one. */
static int rzp_curl_users;

/* One request as built by a call, sent unchanged by every attempt. */
typedef struct {
    const char *method;          /* "GET" or "POST" */
    const char *path;            /* from "/v1" on, with any query string */
    const buf_t *body;           /* the JSON body of a POST, else NULL */
    const char *idem_header;     /* e.g. "X-Refund-Idempotency", or NULL */
    const char *idempotency_key; /* its value */
} rzp_request_t;

/* ---- settings and lifetime ---------------------------------------------- */

void razorpay_config_load(razorpay_config_t *cfg)
{
    cfg->api_base = config_get("RAZORPAY_API_BASE");
    cfg->key_id = config_get("RAZORPAY_KEY_ID");
    cfg->key_secret = config_get("RAZORPAY_KEY_SECRET");
    cfg->connect_timeout_ms = config_get_long("RAZORPAY_CONNECT_TIMEOUT_MS");
    cfg->timeout_ms = config_get_long("RAZORPAY_TIMEOUT_MS");
    cfg->retries = config_get_long("RAZORPAY_RETRIES");
    cfg->retry_base_ms = config_get_long("RAZORPAY_RETRY_BASE_MS");
}

static void rzp_say(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rzp_say(char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || !why_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

/* Why cfg cannot make a client, or NULL when it can. */
static const char *rzp_config_problem(const razorpay_config_t *cfg)
{
    if (!cfg->api_base ||
        (strncmp(cfg->api_base, "https://", 8) != 0 && strncmp(cfg->api_base, "http://", 7) != 0))
        return "RAZORPAY_API_BASE must be an http:// or https:// URL";
    if (!cfg->key_id || strchr(cfg->key_id, ':'))
        return "RAZORPAY_KEY_ID must hold no ':'";
    if (!cfg->key_secret || !cfg->key_secret[0])
        return "RAZORPAY_KEY_SECRET must be set";
    if (cfg->connect_timeout_ms <= 0 || cfg->timeout_ms <= 0)
        return "RAZORPAY_CONNECT_TIMEOUT_MS and RAZORPAY_TIMEOUT_MS must be positive";
    if (cfg->retries < 0 || cfg->retries > RZP_RETRIES_MAX)
        return "RAZORPAY_RETRIES must be between 0 and 10";
    if (cfg->retry_base_ms < 0 || cfg->retry_base_ms > RZP_BACKOFF_MAX_MS)
        return "RAZORPAY_RETRY_BASE_MS must be between 0 and 30000";
    return NULL;
}

static void rzp_free_secret(char *s)
{
    if (s)
        sodium_memzero(s, strlen(s));
    free(s);
}

razorpay_t *razorpay_new(const razorpay_config_t *cfg, char *why, size_t why_size)
{
    const char *problem = cfg ? rzp_config_problem(cfg) : "no configuration";
    if (problem) {
        rzp_say(why, why_size, "razorpay: %s", problem);
        return NULL;
    }
    /* The back-off jitter draws from libsodium's generator. */
    if (sodium_init() < 0) {
        rzp_say(why, why_size, "razorpay: libsodium failed to initialise");
        return NULL;
    }
    if (rzp_curl_users == 0) {
        CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK) {
            rzp_say(why, why_size, "razorpay: libcurl failed to initialise: %s",
                    curl_easy_strerror(rc));
            return NULL;
        }
    }
    rzp_curl_users++;

    razorpay_t *self = calloc(1, sizeof *self);
    if (!self) {
        if (--rzp_curl_users == 0)
            curl_global_cleanup();
        rzp_say(why, why_size, "razorpay: out of memory");
        return NULL;
    }
    self->test = cfg->key_id[0] == '\0';
    self->curl = curl_easy_init();
    self->api_base = strdup(cfg->api_base);
    self->key_id = strdup(cfg->key_id);
    self->key_secret = strdup(cfg->key_secret);
    if (!self->curl || !self->api_base || !self->key_id || !self->key_secret) {
        rzp_say(why, why_size, "razorpay: out of memory");
        razorpay_destroy(&self);
        return NULL;
    }
    size_t n = strlen(self->api_base);
    while (n > 0 && self->api_base[n - 1] == '/')
        self->api_base[--n] = '\0';
    self->connect_timeout_ms = cfg->connect_timeout_ms;
    self->timeout_ms = cfg->timeout_ms;
    self->retries = cfg->retries;
    self->retry_base_ms = cfg->retry_base_ms;
    return self;
}

void razorpay_destroy(razorpay_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    razorpay_t *self = *self_p;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    free(self->api_base);
    free(self->key_id);
    rzp_free_secret(self->key_secret);
    buf_free(&self->url);
    free(self);
    *self_p = NULL;
    if (--rzp_curl_users == 0)
        curl_global_cleanup();
}

int razorpay_is_test(const razorpay_t *self)
{
    return self && self->test;
}

/* ---- results -------------------------------------------------------------- */

void razorpay_result_free(razorpay_result_t *res)
{
    if (res)
        buf_free(&res->body);
}

/* Empties everything but keeps the body's memory for the next answer. */
static void rzp_result_reset(razorpay_result_t *res)
{
    buf_t body = res->body;
    buf_reset(&body);
    memset(res, 0, sizeof *res);
    res->body = body;
}

int razorpay_result_retryable(const razorpay_result_t *res)
{
    /* Success, or refused before sending: the same call cannot do better. */
    if (res->why[0] == '\0' || res->attempts == 0)
        return 0;
    return res->status == 0 || res->status >= 500 || res->status == 409 || res->status == 429;
}

/* A refusal before anything is sent: a bad argument is the caller's bug or
 * bad data, and Razorpay would only refuse it too. */
static int rzp_refuse(razorpay_result_t *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int rzp_refuse(razorpay_result_t *res, const char *fmt, ...)
{
    rzp_result_reset(res);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof res->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copies a string of the error body, cut at a character boundary if long.
 * A NUL escaped inside the JSON string ends the copy there. */
static void rzp_copy_field(const msgpack_object *o, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return;
    size_t n = o->via.str.size;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)o->via.str.ptr[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
}

/* Reads Razorpay's {"error": {...}} out of an error answer, when it is one. */
static void rzp_parse_error(razorpay_result_t *res)
{
    buf_t mp = BUF_INIT;
    if (codec_json_to_msgpack(res->body.data ? res->body.data : "", res->body.len, &mp, NULL) ==
        0) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, mp.data, mp.len, NULL) == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *err = mp_get(&u.data, "error");
            rzp_copy_field(mp_get(err, "code"), res->error_code, sizeof res->error_code);
            rzp_copy_field(mp_get(err, "description"), res->error_description,
                           sizeof res->error_description);
            rzp_copy_field(mp_get(err, "field"), res->error_field, sizeof res->error_field);
            rzp_copy_field(mp_get(err, "source"), res->error_source, sizeof res->error_source);
            rzp_copy_field(mp_get(err, "step"), res->error_step, sizeof res->error_step);
            rzp_copy_field(mp_get(err, "reason"), res->error_reason, sizeof res->error_reason);
        }
        msgpack_unpacked_destroy(&u);
    }
    buf_free(&mp);
}

/* ---- the transport ---------------------------------------------------------- */

static size_t rzp_on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    buf_t *body = userdata;
    size_t n = size * nmemb;
    if (n > RZP_BODY_MAX - body->len)
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    buf_append(body, data, n);
    return n;
}

/* Transport errors that another attempt may not meet: the connection or the
 * network failed, or the answer did not come in time. Anything else (a bad
 * URL, a certificate that does not verify, an oversized answer) would fail
 * the same way again. */
static const CURLcode rzp_transient_errors[] = {
    CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,   CURLE_OPERATION_TIMEDOUT,
    CURLE_GOT_NOTHING,          CURLE_SEND_ERROR,        CURLE_RECV_ERROR,
    CURLE_PARTIAL_FILE,         CURLE_SSL_CONNECT_ERROR, CURLE_HTTP2,
    CURLE_HTTP2_STREAM,
};

static int rzp_transient(CURLcode rc)
{
    for (size_t i = 0; i < sizeof rzp_transient_errors / sizeof rzp_transient_errors[0]; i++)
        if (rzp_transient_errors[i] == rc)
            return 1;
    return 0;
}

/* Sets up the handle for req. Done once per call: every attempt then sends
 * the same method, URL, headers and body. Returns 0 or -1. */
static int rzp_prepare(razorpay_t *self, const rzp_request_t *req, struct curl_slist **headers,
                       razorpay_result_t *res)
{
    CURL *c = self->curl;
    /* Options of the previous call go; the kept-alive connection stays. */
    curl_easy_reset(c);
    buf_reset(&self->url);
    buf_printf(&self->url, "%s%s", self->api_base, req->path);

    buf_t line = BUF_INIT;
    *headers = curl_slist_append(NULL, "Accept: application/json");
    if (req->body) {
        *headers = curl_slist_append(*headers, "Content-Type: application/json");
        /* Small bodies never need it, but libcurl would wait a second for a
         * 100-continue on a large one. */
        *headers = curl_slist_append(*headers, "Expect:");
    }
    if (req->idem_header) {
        buf_printf(&line, "%s: %s", req->idem_header, req->idempotency_key);
        *headers = curl_slist_append(*headers, line.data);
    }
    buf_free(&line);

    CURLcode rc = curl_easy_setopt(c, CURLOPT_URL, self->url.data);
    /* Never follow the base URL anywhere but HTTP(S), nor any redirect. */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_USERNAME, self->key_id);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PASSWORD, self->key_secret);
    if (rc == CURLE_OK && req->body) {
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body->len);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body->data);
    }
    if (rc != CURLE_OK || !*headers) {
        curl_slist_free_all(*headers);
        *headers = NULL;
        return rzp_refuse(res, "razorpay %s %s: cannot set up the request: %s", req->method,
                          req->path, rc != CURLE_OK ? curl_easy_strerror(rc) : "out of memory");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mandi");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, self->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, self->timeout_ms);
    /* The worker has another thread: no SIGALRM for resolver timeouts. */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rzp_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &res->body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, self->curl_error);
    return 0;
}

/* One attempt. Returns 1 when it deserves another (no answer for a
 * transient reason, or a 5xx), else 0; res holds its outcome either way. */
static int rzp_attempt(razorpay_t *self, const rzp_request_t *req, razorpay_result_t *res)
{
    int attempts = res->attempts + 1;
    rzp_result_reset(res);
    res->attempts = attempts;
    self->curl_error[0] = '\0';

    CURLcode rc = curl_easy_perform(self->curl);
    if (rc != CURLE_OK) {
        /* Whatever arrived before the failure is not an answer. */
        buf_reset(&res->body);
        rzp_say(res->why, sizeof res->why, "razorpay %s %s: %s", req->method, req->path,
                self->curl_error[0] ? self->curl_error : curl_easy_strerror(rc));
        return rzp_transient(rc);
    }
    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &res->status);
    if (res->status >= 200 && res->status < 300)
        return 0;
    rzp_parse_error(res);
    rzp_say(res->why, sizeof res->why, "razorpay %s %s: HTTP %ld%s%s%s%s", req->method, req->path,
            res->status, res->error_code[0] ? " " : "", res->error_code,
            res->error_description[0] ? ": " : "", res->error_description);
    return res->status >= 500;
}

/* The wait before retry number n (1-based): base * 2^(n-1), capped, less a
 * random part of up to half of it ("equal jitter"), so that workers that
 * failed together do not all come back at the same instant, yet none comes
 * back sooner than half the step. */
static long rzp_backoff_ms(const razorpay_t *self, int n)
{
    long step = self->retry_base_ms;
    for (int i = 1; i < n && step < RZP_BACKOFF_MAX_MS; i++)
        step *= 2;
    if (step > RZP_BACKOFF_MAX_MS)
        step = RZP_BACKOFF_MAX_MS;
    if (step <= 1)
        return step;
    return step - step / 2 + (long)randombytes_uniform((uint32_t)(step / 2 + 1));
}

static void rzp_sleep_ms(long ms)
{
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
}

/* Sends req until it is answered for good or the retries run out. */
static int rzp_call(razorpay_t *self, const rzp_request_t *req, razorpay_result_t *res)
{
    if (self->test) {
        rzp_result_reset(res);
        return razorpay_test_answer(req->method, req->path, req->body, req->idempotency_key, res);
    }
    struct curl_slist *headers = NULL;
    if (rzp_prepare(self, req, &headers, res) < 0)
        return -1;
    res->attempts = 0;
    while (rzp_attempt(self, req, res) && res->attempts <= self->retries) {
        long wait = rzp_backoff_ms(self, res->attempts);
        LOG_FIELDS(LOG_WARN, NULL, "razorpay retry", LOG_STR("method", req->method),
                   LOG_STR("path", req->path), LOG_NUM("attempt", res->attempts),
                   LOG_NUM("status", res->status), LOG_STR("why", res->why),
                   LOG_NUM("wait_ms", wait));
        rzp_sleep_ms(wait);
    }
    /* The handle must not keep pointers into this call's memory (headers,
     * body); the connection stays open for the next call. */
    curl_easy_reset(self->curl);
    curl_slist_free_all(headers);
    if (res->status >= 200 && res->status < 300)
        return 0;
    if (res->attempts > 1) {
        size_t n = strlen(res->why);
        rzp_say(res->why + n, sizeof res->why - n, " (%d attempts)", res->attempts);
    }
    return -1;
}

/* ---- arguments and bodies --------------------------------------------------- */

/* Whether s is min..max characters, each alphanumeric or one of extra. Ids
 * go into a path and keys into a header: nothing else may reach either. */
static int rzp_token_ok(const char *s, size_t min, size_t max, const char *extra)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && !strchr(extra, ch))
            return 0;
    }
    return 1;
}

static int rzp_id_ok(const char *id)
{
    return rzp_token_ok(id, 1, RZP_ID_MAX, "_");
}

/* Whether json is one JSON object. Notes go into the body as given, so they
 * must not be able to break its syntax. */
static int rzp_object_ok(const char *json)
{
    buf_t mp = BUF_INIT;
    int ok = codec_json_to_msgpack(json, strlen(json), &mp, NULL) == 0 && mp.len > 0 &&
             (((unsigned char)mp.data[0] & 0xF0) == 0x80 || (unsigned char)mp.data[0] == 0xDE ||
              (unsigned char)mp.data[0] == 0xDF);
    buf_free(&mp);
    return ok;
}

/* Appends one member to a JSON object under construction in b (which starts
 * as "{"): the separator, the key and its colon. */
static void rzp_json_key(buf_t *b, const char *key)
{
    if (b->len > 1)
        buf_append_char(b, ',');
    codec_json_string(b, key, strlen(key));
    buf_append_char(b, ':');
}

static void rzp_json_int(buf_t *b, const char *key, int64_t v)
{
    rzp_json_key(b, key);
    buf_printf(b, "%" PRId64, v);
}

/* A NULL value leaves the member out. */
static void rzp_json_str(buf_t *b, const char *key, const char *v)
{
    if (!v)
        return;
    rzp_json_key(b, key);
    codec_json_string(b, v, strlen(v));
}

static void rzp_json_raw(buf_t *b, const char *key, const char *json)
{
    if (!json)
        return;
    rzp_json_key(b, key);
    buf_append_str(b, json);
}

/* Runs a call whose body the caller built; frees the body. */
static int rzp_call_with_body(razorpay_t *self, rzp_request_t *req, buf_t *body,
                              razorpay_result_t *res)
{
    buf_append_char(body, '}');
    req->body = body;
    int rc = rzp_call(self, req, res);
    buf_free(body);
    return rc;
}

/* ---- the calls ---------------------------------------------------------------- */

int razorpay_order_create(razorpay_t *self, int64_t amount_paise, const char *receipt,
                          const char *notes_json, razorpay_result_t *res)
{
    if (amount_paise <= 0)
        return rzp_refuse(res, "razorpay order: amount must be positive paise");
    if (receipt && (!receipt[0] || strlen(receipt) > RZP_RECEIPT_MAX))
        return rzp_refuse(res, "razorpay order: receipt must be 1 to 40 characters");
    if (notes_json && !rzp_object_ok(notes_json))
        return rzp_refuse(res, "razorpay order: notes must be a JSON object");
    buf_t body = BUF_INIT;
    buf_append_char(&body, '{');
    rzp_json_int(&body, "amount", amount_paise);
    rzp_json_str(&body, "currency", RZP_CURRENCY);
    rzp_json_str(&body, "receipt", receipt);
    rzp_json_raw(&body, "notes", notes_json);
    rzp_request_t req = {.method = "POST", .path = "/v1/orders"};
    return rzp_call_with_body(self, &req, &body, res);
}

int razorpay_payment_fetch(razorpay_t *self, const char *payment_id, razorpay_result_t *res)
{
    if (!rzp_id_ok(payment_id))
        return rzp_refuse(res, "razorpay payment: not a payment id");
    char path[96];
    snprintf(path, sizeof path, "/v1/payments/%s", payment_id);
    rzp_request_t req = {.method = "GET", .path = path};
    return rzp_call(self, &req, res);
}

int razorpay_payment_capture(razorpay_t *self, const char *payment_id, int64_t amount_paise,
                             razorpay_result_t *res)
{
    if (!rzp_id_ok(payment_id))
        return rzp_refuse(res, "razorpay capture: not a payment id");
    if (amount_paise <= 0)
        return rzp_refuse(res, "razorpay capture: amount must be positive paise");
    char path[112];
    snprintf(path, sizeof path, "/v1/payments/%s/capture", payment_id);
    buf_t body = BUF_INIT;
    buf_append_char(&body, '{');
    rzp_json_int(&body, "amount", amount_paise);
    rzp_json_str(&body, "currency", RZP_CURRENCY);
    rzp_request_t req = {.method = "POST", .path = path};
    return rzp_call_with_body(self, &req, &body, res);
}

int razorpay_payment_refund(razorpay_t *self, const char *payment_id, int64_t amount_paise,
                            const char *notes_json, const char *idempotency_key,
                            razorpay_result_t *res)
{
    if (!rzp_id_ok(payment_id))
        return rzp_refuse(res, "razorpay refund: not a payment id");
    if (amount_paise < 0)
        return rzp_refuse(res, "razorpay refund: amount must not be negative");
    if (!rzp_token_ok(idempotency_key, 10, 64, "-_"))
        return rzp_refuse(res, "razorpay refund: the idempotency key must be 10 to 64 "
                               "characters of A-Z a-z 0-9 - _");
    if (notes_json && !rzp_object_ok(notes_json))
        return rzp_refuse(res, "razorpay refund: notes must be a JSON object");
    char path[112];
    snprintf(path, sizeof path, "/v1/payments/%s/refund", payment_id);
    buf_t body = BUF_INIT;
    buf_append_char(&body, '{');
    if (amount_paise > 0)
        rzp_json_int(&body, "amount", amount_paise);
    rzp_json_raw(&body, "notes", notes_json);
    rzp_request_t req = {.method = "POST",
                         .path = path,
                         .idem_header = "X-Refund-Idempotency",
                         .idempotency_key = idempotency_key};
    return rzp_call_with_body(self, &req, &body, res);
}

int razorpay_payments_list(razorpay_t *self, int64_t from, int64_t to, int count, int skip,
                           razorpay_result_t *res)
{
    if (from < 0 || to < 0 || (to && from > to))
        return rzp_refuse(res, "razorpay payments: from and to must be Unix seconds, from <= to");
    if (count < 0 || count > 100 || skip < 0)
        return rzp_refuse(res, "razorpay payments: count must be 0 to 100, skip >= 0");
    char path[160] = "/v1/payments";
    size_t n = strlen(path);
    const struct {
        const char *name;
        int64_t value;
    } query[] = {{"from", from}, {"to", to}, {"count", count}, {"skip", skip}};
    for (size_t i = 0; i < sizeof query / sizeof query[0]; i++)
        if (query[i].value > 0)
            n += (size_t)snprintf(path + n, sizeof path - n, "%c%s=%" PRId64,
                                  n == strlen("/v1/payments") ? '?' : '&', query[i].name,
                                  query[i].value);
    rzp_request_t req = {.method = "GET", .path = path};
    return rzp_call(self, &req, res);
}

int razorpay_payout_create(razorpay_t *self, const razorpay_payout_t *payout,
                           const char *idempotency_key, razorpay_result_t *res)
{
    if (!payout || !payout->account_number || !payout->account_number[0] ||
        !rzp_id_ok(payout->fund_account_id) || !payout->mode || !payout->mode[0] ||
        !payout->purpose || !payout->purpose[0])
        return rzp_refuse(res, "razorpay payout: account_number, fund_account_id, mode and "
                               "purpose are required");
    if (payout->amount_paise <= 0)
        return rzp_refuse(res, "razorpay payout: amount must be positive paise");
    if (payout->reference_id && strlen(payout->reference_id) > RZP_RECEIPT_MAX)
        return rzp_refuse(res, "razorpay payout: reference_id must be at most 40 characters");
    if (!rzp_token_ok(idempotency_key, 4, 36, "-_ "))
        return rzp_refuse(res, "razorpay payout: the idempotency key must be 4 to 36 "
                               "characters of A-Z a-z 0-9 - _ and space");
    if (payout->notes_json && !rzp_object_ok(payout->notes_json))
        return rzp_refuse(res, "razorpay payout: notes must be a JSON object");
    buf_t body = BUF_INIT;
    buf_append_char(&body, '{');
    rzp_json_str(&body, "account_number", payout->account_number);
    rzp_json_str(&body, "fund_account_id", payout->fund_account_id);
    rzp_json_int(&body, "amount", payout->amount_paise);
    rzp_json_str(&body, "currency", RZP_CURRENCY);
    rzp_json_str(&body, "mode", payout->mode);
    rzp_json_str(&body, "purpose", payout->purpose);
    rzp_json_key(&body, "queue_if_low_balance");
    buf_append_str(&body, payout->queue_if_low_balance ? "true" : "false");
    rzp_json_str(&body, "reference_id", payout->reference_id);
    rzp_json_str(&body, "narration", payout->narration);
    rzp_json_raw(&body, "notes", payout->notes_json);
    rzp_request_t req = {.method = "POST",
                         .path = "/v1/payouts",
                         .idem_header = "X-Payout-Idempotency",
                         .idempotency_key = idempotency_key};
    return rzp_call_with_body(self, &req, &body, res);
}

/* Contact types Razorpay has out of the box (custom ones are made on the
 * dashboard only, and mandi needs none). */
static const char *const rzp_contact_types[] = {"customer", "vendor", "employee", "self", NULL};

static int rzp_one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

/* An optional string of at most max bytes: NULL, or 1..max. */
static int rzp_optional_ok(const char *s, size_t max)
{
    return !s || (s[0] && strnlen(s, max + 1) <= max);
}

int razorpay_contact_create(razorpay_t *self, const razorpay_contact_t *contact,
                            razorpay_result_t *res)
{
    if (!contact || !contact->name || strlen(contact->name) < 3 || strlen(contact->name) > 50)
        return rzp_refuse(res, "razorpay contact: name must be 3 to 50 characters");
    if (!rzp_one_of(contact->type, rzp_contact_types))
        return rzp_refuse(res, "razorpay contact: type must be customer, vendor, employee or self");
    if (!rzp_optional_ok(contact->reference_id, RZP_RECEIPT_MAX))
        return rzp_refuse(res, "razorpay contact: reference_id must be 1 to 40 characters");
    if (!rzp_optional_ok(contact->email, 254) || !rzp_optional_ok(contact->contact, 32))
        return rzp_refuse(res, "razorpay contact: email or contact is empty or too long");
    if (contact->notes_json && !rzp_object_ok(contact->notes_json))
        return rzp_refuse(res, "razorpay contact: notes must be a JSON object");
    buf_t body = BUF_INIT;
    buf_append_char(&body, '{');
    rzp_json_str(&body, "name", contact->name);
    rzp_json_str(&body, "email", contact->email);
    rzp_json_str(&body, "contact", contact->contact);
    rzp_json_str(&body, "type", contact->type);
    rzp_json_str(&body, "reference_id", contact->reference_id);
    rzp_json_raw(&body, "notes", contact->notes_json);
    rzp_request_t req = {.method = "POST", .path = "/v1/contacts"};
    return rzp_call_with_body(self, &req, &body, res);
}

/* Why account cannot be sent, or NULL when it can. The details go into the
 * body as strings, so only their presence and shape are checked here;
 * Razorpay judges the rest (an IFSC that names no branch, ...). */
static const char *rzp_fund_account_problem(const razorpay_fund_account_t *a)
{
    if (!a || !rzp_id_ok(a->contact_id))
        return "contact_id must be a contact id";
    if (a->account_type && strcmp(a->account_type, "vpa") == 0) {
        const char *at = a->vpa ? strchr(a->vpa, '@') : NULL;
        if (!at || at == a->vpa || !at[1] || strlen(a->vpa) > 100)
            return "vpa must be a UPI address, handle@provider";
        return NULL;
    }
    if (!a->account_type || strcmp(a->account_type, "bank_account") != 0)
        return "account_type must be bank_account or vpa";
    if (!a->name || strlen(a->name) < 3 || strlen(a->name) > 120)
        return "the bank account's name must be 3 to 120 characters";
    if (!rzp_token_ok(a->ifsc, 11, 11, ""))
        return "ifsc must be 11 letters or digits";
    if (!rzp_token_ok(a->account_number, 5, 35, ""))
        return "account_number must be 5 to 35 letters or digits";
    return NULL;
}

int razorpay_fund_account_create(razorpay_t *self, const razorpay_fund_account_t *account,
                                 razorpay_result_t *res)
{
    const char *problem = rzp_fund_account_problem(account);
    if (problem)
        return rzp_refuse(res, "razorpay fund account: %s", problem);
    int vpa = strcmp(account->account_type, "vpa") == 0;
    /* The inner object first: {name, ifsc, account_number} or {address}. */
    buf_t inner = BUF_INIT;
    buf_append_char(&inner, '{');
    if (vpa) {
        rzp_json_str(&inner, "address", account->vpa);
    } else {
        rzp_json_str(&inner, "name", account->name);
        rzp_json_str(&inner, "ifsc", account->ifsc);
        rzp_json_str(&inner, "account_number", account->account_number);
    }
    buf_append_char(&inner, '}');
    buf_t body = BUF_INIT;
    buf_append_char(&body, '{');
    rzp_json_str(&body, "contact_id", account->contact_id);
    rzp_json_str(&body, "account_type", account->account_type);
    rzp_json_raw(&body, vpa ? "vpa" : "bank_account", inner.data);
    buf_free(&inner);
    rzp_request_t req = {.method = "POST", .path = "/v1/fund_accounts"};
    return rzp_call_with_body(self, &req, &body, res);
}
