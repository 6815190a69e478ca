/*
 * request - one HTTP request's state while the front serves it (see request.h).
 */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void request_resume(request_t *req)
{
    MHD_resume_connection(req->conn);
}

void request_fail(request_t *req, int status, const char *code, const char *fmt, ...)
{
    req->outcome = OUT_ERROR;
    req->out_status = status;
    snprintf(req->out_code, sizeof req->out_code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->out_message, sizeof req->out_message, fmt, ap);
    va_end(ap);
}

request_t *request_new_detached(const job_t *job, const char *envelope, size_t len, int wait_ms)
{
    request_t *req = calloc(1, sizeof *req);
    if (!req)
        abort();
    req->job = *job;
    req->job.payload = NULL;
    memset(&req->job.unpacked, 0, sizeof req->job.unpacked);
    buf_append(&req->envelope, envelope, len);
    req->wait_ms = wait_ms;
    return req;
}

void request_destroy(request_t **req_p)
{
    request_t *req = *req_p;
    if (!req)
        return;
    free(req->path);
    buf_free(&req->body);
    buf_free(&req->envelope);
    buf_free(&req->out_body);
    free(req);
    *req_p = NULL;
}
