/*
 * http - the libmicrohttpd side of the front (see http.h).
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdatomic.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "codec.h"
#include "config.h"
#include "dispatch.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "mp.h"
#include "pools.h"
#include "respond.h"
#include "revoked.h"
#include "roles.h"
#include "stream.h"
#include "uuid.h"

static struct {
    struct MHD_Daemon *daemon;
    atomic_int stopping;
    atomic_int in_flight; /* requests begun and not yet completed */
    int test_mode;
    size_t max_body;
    long default_wait_ms, max_wait_ms;
    int trust_proxy;
    const char *jwt_secret;
    size_t jwt_secret_len;
} h;

/* How long stopping waits for answered requests to reach their clients. */
#define STOP_FLUSH_MS 3000

/* ---- checks ------------------------------------------------------------- */

static int has_body_method(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0;
}

/* application/json, optionally with parameters such as charset. */
static int is_json_type(const char *type)
{
    if (!type)
        return 0;
    while (*type == ' ')
        type++;
    size_t n = strlen("application/json");
    return strncasecmp(type, "application/json", n) == 0 &&
           (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

/* Header values we carry into jobs and logs: printable ASCII, bounded. */
static int valid_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.:", s[i]))
            return 0;
    return 1;
}

/* The value of a Prefer "wait=" item in milliseconds, capped at the
 * front's maximum; -1 when it is not a plain number of seconds. */
static long long prefer_wait_ms(const char *digits, size_t len)
{
    if (len == 0)
        return -1;
    long long seconds = 0;
    for (size_t i = 0; i < len; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return -1;
        if (seconds * 1000 <= h.max_wait_ms) /* past the cap, stop counting */
            seconds = seconds * 10 + (digits[i] - '0');
    }
    return seconds * 1000 > h.max_wait_ms ? h.max_wait_ms : seconds * 1000;
}

/* Prefer: respond-async, wait=N (RFC 7240; N in seconds). Items the front
 * cannot read are ignored, as the RFC asks. */
static void parse_prefer(request_t *req, const char *prefer)
{
    req->wait_ms = req->match.route->wait_ms ? req->match.route->wait_ms : (int)h.default_wait_ms;
    /* A route that answers 202 once the job is recorded, whatever is asked. */
    if (req->match.route->flags & ROUTE_ASYNC) {
        req->respond_async = 1;
        return;
    }
    if (!prefer)
        return;
    const char *p = prefer;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == ';')
            p++;
        size_t len = strcspn(p, ",;"), item = len;
        while (item > 0 && (p[item - 1] == ' ' || p[item - 1] == '\t'))
            item--;
        if (item == 13 && strncasecmp(p, "respond-async", 13) == 0) {
            req->respond_async = 1;
        } else if (item > 5 && strncasecmp(p, "wait=", 5) == 0) {
            long long ms = prefer_wait_ms(p + 5, item - 5);
            if (ms == 0)
                req->respond_async = 1;
            else if (ms > 0)
                req->wait_ms = (int)ms;
        }
        p += len;
    }
    if (req->match.route->flags & ROUTE_SYNC)
        req->respond_async = 0;
}

/* Checks the bearer token against the route's rule. Returns 0, or -1 with
 * the outcome set. */
static int authenticate(request_t *req)
{
    auth_rule_t rule = req->match.route->auth;
    if (rule == AUTH_NONE)
        return 0;
    const char *header =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token = NULL;
    if (header) {
        if (strncasecmp(header, "Bearer ", 7) != 0) {
            request_fail(req, 401, "TOKEN_MALFORMED", "Authorization must be \"Bearer <token>\"");
            return -1;
        }
        token = header + 7;
    } else if (req->match.route->kind == ROUTE_STREAM) {
        /* Browsers' EventSource cannot set headers: the event stream also
         * takes the token as ?access_token=. Only there, since URLs end up
         * in proxies' logs. */
        token = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "access_token");
    }
    if (!token) {
        if (rule == AUTH_OPTIONAL)
            return 0;
        request_fail(req, 401, "AUTH_REQUIRED", "this route needs an Authorization: Bearer token");
        return -1;
    }
    jwt_status_t st = jwt_verify(token, strlen(token), h.jwt_secret, h.jwt_secret_len,
                                 clock_now_ms() / 1000, &req->claims);
    if (st != JWT_OK) {
        static const char *const why[] = {
            [JWT_MALFORMED] = "the token is not a well-formed JWT",
            [JWT_BAD_ALG] = "the token's algorithm is not accepted",
            [JWT_BAD_SIGNATURE] = "the token's signature does not verify",
            [JWT_EXPIRED] = "the token has expired",
        };
        request_fail(req, 401, jwt_status_name(st), "%s", why[st]);
        return -1;
    }
    if (revoked_contains(req->claims.jti)) {
        request_fail(req, 401, "TOKEN_REVOKED", "the token was revoked (logout or account change)");
        return -1;
    }
    req->authenticated = 1;
    const char *permission = req->match.route->permission;
    if (permission && !permission_allows(permission, req->claims.role)) {
        request_fail(req, 403, "FORBIDDEN", "role %s may not use this route", req->claims.role);
        return -1;
    }
    return 0;
}

/* ---- payload ------------------------------------------------------------ */

/* Query parameters, gathered in order so that a repeated name can be
 * resolved before packing: the last occurrence wins, as the job's "query"
 * map holds each name once. */
enum { QUERY_MAX_ARGS = 64 };

typedef struct {
    const char *key[QUERY_MAX_ARGS];
    const char *value[QUERY_MAX_ARGS];
    int count;
    int overflow;
} query_args_t;

static enum MHD_Result gather_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    query_args_t *q = cls;
    if (q->count == QUERY_MAX_ARGS) {
        q->overflow = 1;
        return MHD_NO;
    }
    q->key[q->count] = key;
    q->value[q->count] = value ? value : "";
    q->count++;
    return MHD_YES;
}

static int repeated_later(const query_args_t *q, int i)
{
    for (int j = i + 1; j < q->count; j++)
        if (strcmp(q->key[i], q->key[j]) == 0)
            return 1;
    return 0;
}

/* The peer's address as text ("" if unknown), for per-address limits. */
static void client_ip(request_t *req, char *out, size_t cap)
{
    out[0] = '\0';
    const char *forwarded =
        h.trust_proxy ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-For")
                      : NULL;
    if (forwarded) {
        /* The last hop is the one our own proxy added; earlier ones are
         * whatever the client claimed. */
        const char *last = strrchr(forwarded, ',');
        last = last ? last + 1 : forwarded;
        while (*last == ' ')
            last++;
        size_t len = strcspn(last, " ");
        if (len > 0 && len < cap) {
            memcpy(out, last, len);
            out[len] = '\0';
            return;
        }
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

/* The headers a ROUTE_RAW job carries: what providers sign with. */
static const char *const raw_headers[] = {"X-Razorpay-Signature", "X-Razorpay-Event-Id"};
#define RAW_HEADER_COUNT (sizeof raw_headers / sizeof raw_headers[0])

/* "raw": the body's bytes, "headers": {name: value} of raw_headers sent. */
static void pack_raw(request_t *req, msgpack_packer *pk)
{
    mp_pack_cstr(pk, "raw");
    msgpack_pack_bin(pk, req->body.len);
    msgpack_pack_bin_body(pk, req->body.data ? req->body.data : "", req->body.len);
    const char *values[RAW_HEADER_COUNT];
    size_t sent = 0;
    for (size_t i = 0; i < RAW_HEADER_COUNT; i++) {
        values[i] = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, raw_headers[i]);
        sent += values[i] != NULL;
    }
    mp_pack_cstr(pk, "headers");
    msgpack_pack_map(pk, sent);
    for (size_t i = 0; i < RAW_HEADER_COUNT; i++)
        if (values[i])
            mp_kv_str(pk, raw_headers[i], values[i]);
}

/* {"body": ..., "query": {...}, "params": {...}, "ip": str, "jti": str}, and
 * "raw" and "headers" for a ROUTE_RAW route. Returns 0, or -1 with a 400
 * outcome naming where the JSON is wrong. */
static int build_payload(request_t *req, buf_t *payload)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, payload, buf_msgpack_write);
    int raw = (req->match.route->flags & ROUTE_RAW) != 0;
    msgpack_pack_map(&pk, raw ? 7 : 5);
    mp_pack_cstr(&pk, "body");
    if (req->body.len == 0) {
        msgpack_pack_nil(&pk);
    } else {
        codec_error_t err;
        if (codec_json_to_msgpack(req->body.data, req->body.len, payload, &err) < 0) {
            request_fail(req, 400, "INVALID_JSON",
                         "body is not valid JSON: %s at line %d, column %d", err.message, err.line,
                         err.column);
            return -1;
        }
    }
    query_args_t q = {.count = 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, gather_arg, &q);
    if (q.overflow) {
        request_fail(req, 400, "TOO_MANY_QUERY_PARAMETERS", "the query has more than %d parameters",
                     QUERY_MAX_ARGS);
        return -1;
    }
    int distinct = 0;
    for (int i = 0; i < q.count; i++)
        distinct += !repeated_later(&q, i);
    mp_pack_cstr(&pk, "query");
    msgpack_pack_map(&pk, (size_t)distinct);
    for (int i = 0; i < q.count; i++) {
        if (repeated_later(&q, i))
            continue;
        mp_pack_cstr(&pk, q.key[i]);
        mp_pack_cstr(&pk, q.value[i]);
    }
    mp_pack_cstr(&pk, "params");
    msgpack_pack_map(&pk, (size_t)req->match.nparams);
    for (int i = 0; i < req->match.nparams; i++) {
        const route_param_t *p = &req->match.params[i];
        mp_pack_strn(&pk, p->name, p->name_len);
        mp_pack_strn(&pk, p->value, p->value_len);
    }
    char ip[INET6_ADDRSTRLEN];
    client_ip(req, ip, sizeof ip);
    mp_kv_str(&pk, "ip", ip);
    /* The token's id names the caller's session, for logout. */
    mp_kv_str(&pk, "jti", req->authenticated ? req->claims.jti : "");
    if (raw)
        pack_raw(req, &pk);
    return 0;
}

/* Fills req->job and req->envelope. Returns 0, or -1 with the outcome set. */
static int build_job(request_t *req)
{
    const route_t *route = req->match.route;
    job_t *job = &req->job;
    if (route_expand(route->service, &req->match, job->service, sizeof job->service) < 0 ||
        !pool_is_known(job->service, strlen(job->service))) {
        request_fail(req, 404, "UNKNOWN_POOL", "no pool is called that");
        return -1;
    }
    if (route_expand(route->job_type, &req->match, job->type, sizeof job->type) < 0) {
        request_fail(req, 404, "UNKNOWN_JOB_TYPE", "the job type in the path is not valid");
        return -1;
    }
    job->durable = (strcmp(req->method, "GET") != 0 && !(route->flags & ROUTE_TRANSIENT)) ||
                   (route->flags & ROUTE_DURABLE);
    /* Keys matter only for jobs that are recorded before they run. */
    const char *key =
        job->durable ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key")
                     : NULL;
    if (key) {
        if (!valid_token(key, sizeof job->idempotency_key - 1)) {
            request_fail(req, 400, "INVALID_IDEMPOTENCY_KEY",
                         "Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 - _ . :");
            return -1;
        }
        snprintf(job->idempotency_key, sizeof job->idempotency_key, "%s", key);
        /* The same key with another method, path or body is another request. */
        EVP_MD_CTX *sha = EVP_MD_CTX_new();
        EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
        EVP_DigestUpdate(sha, req->method, strlen(req->method) + 1);
        EVP_DigestUpdate(sha, req->path, strlen(req->path) + 1);
        EVP_DigestUpdate(sha, req->body.data ? req->body.data : "", req->body.len);
        EVP_DigestFinal_ex(sha, req->request_hash, NULL);
        EVP_MD_CTX_free(sha);
    }
    parse_prefer(req, MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Prefer"));

    buf_t payload = BUF_INIT;
    if (build_payload(req, &payload) < 0) {
        buf_free(&payload);
        return -1;
    }
    uuid_v4(job->id);
    job->attempt = 1;
    job->deadline_ms = clock_now_ms() + req->wait_ms;
    snprintf(job->request_id, sizeof job->request_id, "%s", req->request_id);
    if (req->authenticated) {
        snprintf(job->user_id, sizeof job->user_id, "%s", req->claims.sub);
        snprintf(job->role, sizeof job->role, "%s", req->claims.role);
        snprintf(job->zones, sizeof job->zones, "%s", req->claims.zones);
    }
    job_encode(job, payload.data, payload.len, &req->envelope);
    buf_free(&payload);
    return 0;
}

/* ---- the front's own routes -------------------------------------------- */

static void serve_health(request_t *req)
{
    req->outcome = OUT_DATA;
    req->out_status = 200;
    buf_append_str(&req->out_body, "{\"status\":\"ok\"}");
}

/* Ready when the broker answers, the database and Redis answer, and every
 * pool has at least one worker. */
static void serve_ready(request_t *req)
{
    buf_t stats = BUF_INIT, missing = BUF_INIT, checks = BUF_INIT;
    int64_t broker_age = dispatch_pool_stats(&stats);
    int64_t db_age = journal_db_age_ms(), redis_age = journal_redis_age_ms();
    int broker_ok = broker_age >= 0 && broker_age < 2000;
    int db_ok = db_age >= 0 && db_age < 3000;
    int redis_ok = redis_age >= 0 && redis_age < 3000;
    buf_printf(&checks, "{\"broker\":%s,\"database\":%s,\"redis\":%s,\"pools\":{",
               broker_ok ? "true" : "false", db_ok ? "true" : "false", redis_ok ? "true" : "false");
    if (!broker_ok)
        buf_append_str(&missing, " broker");
    if (!db_ok)
        buf_append_str(&missing, " database");
    if (!redis_ok)
        buf_append_str(&missing, " redis");

    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    const msgpack_object *services = NULL;
    if (broker_ok && msgpack_unpack_next(&u, stats.data, stats.len, &off) == MSGPACK_UNPACK_SUCCESS)
        services = mp_get(&u.data, "services");
    for (size_t i = 0; i < pool_count; i++) {
        int64_t workers = 0;
        for (uint32_t k = 0; services && k < services->via.array.size; k++) {
            const msgpack_object *s = &services->via.array.ptr[k];
            if (mp_str_is(mp_get(s, "service"), pool_names[i])) {
                int64_t idle = 0, busy = 0;
                mp_get_i64(mp_get(s, "workers_idle"), &idle);
                mp_get_i64(mp_get(s, "workers_busy"), &busy);
                workers = idle + busy;
            }
        }
        buf_printf(&checks, "%s\"%s\":%lld", i ? "," : "", pool_names[i], (long long)workers);
        if (workers == 0)
            buf_printf(&missing, " pool:%s", pool_names[i]);
    }
    buf_append_str(&checks, "}}");
    msgpack_unpacked_destroy(&u);

    if (missing.len == 0) {
        req->outcome = OUT_DATA;
        req->out_status = 200;
        buf_printf(&req->out_body, "{\"status\":\"ready\",\"checks\":%s}", checks.data);
    } else {
        /* 503 with the checks as details, so operators see what is missing. */
        req->outcome = OUT_RAW;
        req->out_status = 503;
        req->out_content_type = "application/json; charset=utf-8";
        snprintf(req->out_code, sizeof req->out_code, "NOT_READY");
        buf_append_str(&req->out_body,
                       "{\"success\":false,\"error\":{\"code\":\"NOT_READY\",\"message\":");
        buf_t message = BUF_INIT;
        buf_printf(&message, "not ready, missing:%s", missing.data);
        codec_json_string(&req->out_body, message.data, message.len);
        buf_printf(&req->out_body, ",\"details\":%s}}", checks.data);
        buf_free(&message);
    }
    buf_free(&stats);
    buf_free(&missing);
    buf_free(&checks);
}

static void serve_metrics(request_t *req)
{
    req->outcome = OUT_RAW;
    req->out_status = 200;
    req->out_content_type = "text/plain; version=0.0.4; charset=utf-8";
    metrics_render(&req->out_body);
}

static void serve_admin_pools(request_t *req)
{
    buf_t stats = BUF_INIT;
    int64_t age = dispatch_pool_stats(&stats);
    if (age < 0) {
        request_fail(req, 503, "BROKER_UNAVAILABLE", "the broker has not answered yet");
    } else {
        req->outcome = OUT_DATA;
        req->out_status = 200;
        buf_printf(&req->out_body,
                   "{\"stats_age_ms\":%lld,\"in_flight\":%zu,\"broker\":", (long long)age,
                   dispatch_in_flight());
        if (codec_msgpack_to_json(stats.data, stats.len, &req->out_body, NULL) < 0)
            buf_append_str(&req->out_body, "null");
        buf_append_char(&req->out_body, '}');
    }
    buf_free(&stats);
}

/* ---- the access handler ------------------------------------------------- */

static void take_request_id(request_t *req)
{
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given && valid_token(given, sizeof req->request_id - 1))
        snprintf(req->request_id, sizeof req->request_id, "%s", given);
    else
        uuid_v4(req->request_id);
}

/* First call for a request: headers are in, the body is not. */
static request_t *begin(struct MHD_Connection *conn, const char *url, const char *method)
{
    request_t *req = calloc(1, sizeof *req);
    if (!req)
        abort();
    req->conn = conn;
    req->started_us = clock_mono_us();
    snprintf(req->method, sizeof req->method, "%s", method);
    req->path = strdup(url);
    req->match.index = -1;
    take_request_id(req);
    snprintf(req->route_label, sizeof req->route_label, "unmatched");

    route_result_t r =
        route_match(method, url, h.test_mode, &req->match, req->allow, sizeof req->allow);
    if (r == ROUTE_NOT_FOUND) {
        request_fail(req, 404, "NOT_FOUND", "no route for %s", url);
        return req;
    }
    if (r == ROUTE_METHOD_NOT_ALLOWED) {
        request_fail(req, 405, "METHOD_NOT_ALLOWED", "%s is not allowed here; use %s", method,
                     req->allow);
        return req;
    }
    snprintf(req->route_label, sizeof req->route_label, "%s %s", req->match.route->method,
             req->match.route->pattern);
    const char *length =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > h.max_body) {
        request_fail(req, 413, "BODY_TOO_LARGE", "the body is over %zu bytes", h.max_body);
        return req;
    }
    const char *type =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    int has_body =
        (length && strtoull(length, NULL, 10) > 0) ||
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (has_body && has_body_method(method) && !is_json_type(type)) {
        request_fail(req, 415, "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json");
        return req;
    }
    return req;
}

/* All of the request is in: serve it, or hand it on and suspend. */
static void serve(request_t *req)
{
    if (atomic_load(&h.stopping)) {
        request_fail(req, 503, "SHUTTING_DOWN", "the front is stopping");
        return;
    }
    if (authenticate(req) < 0)
        return;
    switch (req->match.route->kind) {
    case ROUTE_HEALTH:
        serve_health(req);
        return;
    case ROUTE_READY:
        serve_ready(req);
        return;
    case ROUTE_METRICS:
        serve_metrics(req);
        return;
    case ROUTE_ADMIN_POOLS:
        serve_admin_pools(req);
        return;
    case ROUTE_STREAM:
        if (stream_open(req, &req->stream_rc) == 0)
            req->streamed = 1;
        return;
    case ROUTE_JOB_STATUS:
        req->suspended = 1;
        MHD_suspend_connection(req->conn);
        journal_job_status(req);
        return;
    case ROUTE_JOB:
        if (build_job(req) < 0)
            return;
        /* Suspend before handing over: the other thread may resume at once. */
        req->suspended = 1;
        MHD_suspend_connection(req->conn);
        if (req->job.durable || req->respond_async)
            journal_record(req);
        else
            dispatch_post(req);
        return;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    request_t *req = *con_cls;
    if (!req) {
        req = *con_cls = begin(conn, url, method);
        atomic_fetch_add(&h.in_flight, 1);
        /* Refused on its headers alone: answer before any body is read (and
         * before "100 Continue" invites it). */
        if (req->outcome != OUT_NONE)
            return respond_queue(req);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (req->outcome == OUT_NONE) {
            if (req->body.len + *upload_data_size > h.max_body) {
                request_fail(req, 413, "BODY_TOO_LARGE", "the body is over %zu bytes", h.max_body);
                buf_free(&req->body);
            } else {
                buf_append(&req->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->suspended) {
        /* Resumed: the outcome is in. */
        req->suspended = 0;
        return respond_queue(req);
    }
    if (req->outcome == OUT_NONE)
        serve(req);
    if (req->suspended)
        return MHD_YES;
    if (req->streamed)
        return req->stream_rc;
    return respond_queue(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    request_t *req = *con_cls;
    if (!req)
        return;
    int64_t us = clock_mono_us() - req->started_us;
    int status = req->final_status ? req->final_status : 499; /* closed before an answer */
    metrics_record(req->match.route ? req->match.index : -1, status, us);
    LOG_FIELDS(status >= 500 ? LOG_WARN : LOG_INFO, req->request_id, "http",
               LOG_STR("method", req->method), LOG_STR("route", req->route_label),
               LOG_NUM("status", status), LOG_NUM("duration_ms", us / 1000),
               LOG_STR("job_id", req->job.id[0] ? req->job.id : NULL),
               LOG_NUM("completed", toe == MHD_REQUEST_TERMINATED_COMPLETED_OK));
    request_destroy(&req);
    *con_cls = NULL;
    atomic_fetch_sub(&h.in_flight, 1);
}

int http_start(void)
{
    h.test_mode = config_get_long("MANDI_TEST_MODE") == 1;
    h.max_body = (size_t)config_get_long("MANDI_MAX_BODY_BYTES");
    h.default_wait_ms = config_get_long("MANDI_DEFAULT_WAIT_MS");
    h.max_wait_ms = config_get_long("MANDI_MAX_WAIT_MS");
    h.jwt_secret = config_get("JWT_SECRET");
    h.trust_proxy = config_get_long("MANDI_TRUST_PROXY") == 1;
    h.jwt_secret_len = strlen(h.jwt_secret);
    metrics_init();

    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_port = htons((uint16_t)config_get_long("MANDI_HTTP_PORT"));
    if (inet_pton(AF_INET, config_get("MANDI_HTTP_HOST"), &addr.sin_addr) != 1) {
        log_msg(LOG_ERROR, NULL, "MANDI_HTTP_HOST is not an IPv4 address");
        return -1;
    }
    unsigned threads = (unsigned)config_get_long("MANDI_HTTP_THREADS");
    h.daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
        threads ? threads : 1, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!h.daemon) {
        log_msg(LOG_ERROR, NULL, "cannot listen on %s:%ld", config_get("MANDI_HTTP_HOST"),
                config_get_long("MANDI_HTTP_PORT"));
        return -1;
    }
    return 0;
}

void http_quiesce(void)
{
    atomic_store(&h.stopping, 1);
    if (h.daemon)
        MHD_quiesce_daemon(h.daemon);
}

void http_stop(void)
{
    /* Answers given at shutdown are only queued on their connections: give
     * MHD's threads a moment to write them before the sockets close, or the
     * clients would see a reset instead of their 202 or 503. */
    int64_t give_up = clock_mono_ms() + STOP_FLUSH_MS;
    while (h.daemon && atomic_load(&h.in_flight) > 0 && clock_mono_ms() < give_up) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    if (h.daemon)
        MHD_stop_daemon(h.daemon);
    h.daemon = NULL;
}
