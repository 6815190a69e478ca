/*
 * respond - turns a request's outcome into the HTTP response (see respond.h).
 */
#include "respond.h"

#include "export_stream.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "mp.h"

/* Seconds a client should wait before retrying, by error code. */
static const struct {
    const char *code;
    const char *seconds;
} retry_after[] = {
    /* clang-format off */
    {"OVERLOADED", "1"},
    {"DB_UNAVAILABLE", "2"},
    {"SHUTTING_DOWN", "2"},
    {"NOT_READY", "1"},
    {"TOO_MANY_STREAMS", "5"},
    /* clang-format on */
};

static const char *retry_after_for(const char *code)
{
    for (size_t i = 0; i < sizeof retry_after / sizeof retry_after[0]; i++)
        if (strcmp(retry_after[i].code, code) == 0)
            return retry_after[i].seconds;
    return NULL;
}

static void error_json(buf_t *out, const char *code, const char *message)
{
    buf_append_str(out, "{\"success\":false,\"error\":{\"code\":");
    codec_json_string(out, code, strlen(code));
    buf_append_str(out, ",\"message\":");
    codec_json_string(out, message, strlen(message));
    buf_append_str(out, "}}");
}

/* Builds the JSON of a reply envelope; returns its status. A reply that
 * cannot be read or written as JSON is the pool's fault: 502. */
static int reply_json(request_t *req, buf_t *out, char *code, size_t code_cap, int64_t *retry_s)
{
    reply_t reply;
    const char *why;
    if (reply_decode(&reply, req->out_body.data, req->out_body.len, &why) < 0) {
        snprintf(code, code_cap, "BAD_REPLY");
        error_json(out, code, "the pool sent a reply that cannot be read");
        return 502;
    }
    int status = reply.status;
    if (reply.code) {
        mp_copy_str(reply.code, code, code_cap);
        buf_append_str(out, "{\"success\":false,\"error\":{\"code\":");
        codec_object_to_json(reply.code, out, NULL);
        buf_append_str(out, ",\"message\":");
        codec_object_to_json(reply.message, out, NULL);
        if (reply.details) {
            /* A pool that knows how long the caller should wait says so. */
            const msgpack_object *retry = mp_get(reply.details, "retry_after");
            if (retry)
                mp_get_i64(retry, retry_s);
            buf_append_str(out, ",\"details\":");
            if (codec_object_to_json(reply.details, out, NULL) < 0)
                buf_append_str(out, "null");
        }
        buf_append_str(out, "}}");
    } else {
        size_t mark = out->len;
        buf_append_str(out, "{\"success\":true,\"data\":");
        if (!reply.body)
            buf_append_str(out, "null");
        else if (codec_object_to_json(reply.body, out, NULL) < 0) {
            out->len = mark;
            snprintf(code, code_cap, "BAD_REPLY");
            error_json(out, code, "the pool's reply cannot be written as JSON");
            status = 502;
            reply_release(&reply);
            return status;
        }
        buf_append_char(out, '}');
    }
    reply_release(&reply);
    return status;
}

/* A ROUTE_CSV job's success names an export: answered with the export
 * itself (export_stream.h). Returns MHD_NO-or-YES as queued, or -1 when
 * the reply is anything else, which is then answered as JSON. */
static int csv_queue(request_t *req)
{
    reply_t reply;
    const char *why;
    if (reply_decode(&reply, req->out_body.data, req->out_body.len, &why) < 0)
        return -1;
    char id[37], filename[96];
    int ok = reply.status == 200 && !reply.code &&
             mp_copy_str(mp_get(reply.body, "export_id"), id, sizeof id) == 0 &&
             mp_copy_str(mp_get(reply.body, "filename"), filename, sizeof filename) == 0;
    reply_release(&reply);
    struct MHD_Response *response = ok ? export_stream_new(id, filename) : NULL;
    if (!response)
        return -1;
    MHD_add_response_header(response, "X-Request-Id", req->request_id);
    req->final_status = 200;
    enum MHD_Result rc = MHD_queue_response(req->conn, 200, response);
    MHD_destroy_response(response);
    return rc;
}

enum MHD_Result respond_queue(request_t *req)
{
    if (req->outcome == OUT_REPLY && req->match.route && (req->match.route->flags & ROUTE_CSV)) {
        int rc = csv_queue(req);
        if (rc >= 0)
            return (enum MHD_Result)rc;
    }
    buf_t out = BUF_INIT;
    char code[48] = "";
    char location[64] = "";
    int64_t retry_s = 0;
    const char *content_type = "application/json; charset=utf-8";
    int status;
    switch (req->outcome) {
    case OUT_REPLY:
        status = reply_json(req, &out, code, sizeof code, &retry_s);
        break;
    case OUT_ACCEPTED:
        status = 202;
        snprintf(location, sizeof location, "/api/jobs/%s", req->job.id);
        buf_printf(&out,
                   "{\"success\":true,\"data\":{\"job_id\":\"%s\",\"status\":\"%s\","
                   "\"status_url\":\"%s\"}}",
                   req->job.id, req->replayed ? "running" : "queued", location);
        break;
    case OUT_DATA:
        status = req->out_status;
        buf_append_str(&out, "{\"success\":true,\"data\":");
        buf_append(&out, req->out_body.data, req->out_body.len);
        buf_append_char(&out, '}');
        break;
    case OUT_RAW:
        status = req->out_status;
        snprintf(code, sizeof code, "%s", req->out_code);
        content_type = req->out_content_type;
        buf_append(&out, req->out_body.data, req->out_body.len);
        break;
    case OUT_ERROR:
        status = req->out_status;
        snprintf(code, sizeof code, "%s", req->out_code);
        error_json(&out, req->out_code, req->out_message);
        break;
    default:
        status = 500;
        snprintf(code, sizeof code, "INTERNAL");
        error_json(&out, code, "the request ended without an outcome");
    }

    size_t len;
    char *body = buf_detach(&out, &len);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(response, "Content-Type", content_type);
    MHD_add_response_header(response, "X-Request-Id", req->request_id);
    if (location[0])
        MHD_add_response_header(response, "Location", location);
    if (status == 405 && req->allow[0])
        MHD_add_response_header(response, "Allow", req->allow);
    if (status == 401)
        MHD_add_response_header(response, "WWW-Authenticate", "Bearer");
    if (req->replayed)
        MHD_add_response_header(response, "Idempotent-Replayed", "true");
    char retry_text[24];
    const char *retry = code[0] ? retry_after_for(code) : NULL;
    if (retry_s > 0) {
        snprintf(retry_text, sizeof retry_text, "%lld", (long long)retry_s);
        retry = retry_text;
    }
    if (retry && (status == 503 || status == 429))
        MHD_add_response_header(response, "Retry-After", retry);
    req->final_status = status;
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)status, response);
    MHD_destroy_response(response);
    return rc;
}
