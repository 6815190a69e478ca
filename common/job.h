/*
 * job - the msgpack job and reply envelopes.
 *
 * A job is what the front makes of an HTTP request and what a worker
 * handles; a reply is what the worker (or the broker, for refusals) answers.
 * Both are msgpack maps with the keys documented in docs/PROTOCOL.md. A
 * decoded job or reply points into its own unpacked zone: release it with
 * job_release / reply_release.
 */
#ifndef MANDI_JOB_H
#define MANDI_JOB_H

#include <msgpack.h>
#include <stdint.h>

#include "buf.h"

typedef struct {
    char id[37];               /* UUID text */
    char service[32];          /* pool name */
    char type[64];             /* handler name, e.g. "ping", "order.create" */
    uint32_t attempt;          /* 1 on first dispatch; the broker's frame overrides */
    int64_t deadline_ms;       /* epoch ms after which nobody waits for the reply */
    char request_id[65];       /* X-Request-Id, for logs */
    char user_id[64];          /* authenticated caller, "" if anonymous */
    char role[32];             /* caller's role, "" if anonymous */
    char zones[256];           /* caller's zones, comma-separated */
    char idempotency_key[129]; /* Idempotency-Key header, "" if none */
    int durable;               /* recorded in the jobs table before dispatch */
    /* Decoded only: {"body": any, "query": {str: str}, "params": {str: str}}. */
    const msgpack_object *payload;
    msgpack_unpacked unpacked;
} job_t;

/* Appends the envelope of job with payload (raw msgpack bytes of the payload
 * map, or NULL for an empty one) to out. */
void job_encode(const job_t *job, const char *payload, size_t payload_len, buf_t *out);

/* Decodes an envelope. Returns 0, or -1 with *why set (static text). On
 * success the caller owns job->unpacked and calls job_release. */
int job_decode(job_t *job, const char *data, size_t len, const char **why);
void job_release(job_t *job);

/* Parts of the payload; NULL when absent. */
const msgpack_object *job_body(const job_t *job);
const msgpack_object *job_param(const job_t *job, const char *name);
const msgpack_object *job_query(const job_t *job, const char *name);

/* Reply envelope: {"status": int, "body": any} on success, or
 * {"status": int, "error": {"code": str, "message": str, "details": any}}. */
void reply_encode_ok(buf_t *out, int status, const char *body, size_t body_len);
void reply_encode_error(buf_t *out, int status, const char *code, const char *message,
                        const char *details, size_t details_len);

typedef struct {
    int status;
    const msgpack_object *body;    /* success: may be NULL (no body) */
    const msgpack_object *code;    /* failure: string */
    const msgpack_object *message; /* failure: string */
    const msgpack_object *details; /* failure: may be NULL */
    msgpack_unpacked unpacked;
} reply_t;

int reply_decode(reply_t *reply, const char *data, size_t len, const char **why);
void reply_release(reply_t *reply);

#endif
