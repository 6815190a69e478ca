/*
 * job - the msgpack job and reply envelopes (see job.h).
 */
#include "job.h"

#include <string.h>

#include "mp.h"

/* Optional string fields of the job envelope, as data: one loop packs and one
 * loop decodes them, so the two can never disagree. */
typedef struct {
    const char *key;
    size_t offset;
    size_t size;
} str_field_t;

#define FIELD(key, member)                                                                         \
    {                                                                                              \
        key, offsetof(job_t, member), sizeof(((job_t *)0)->member)                                 \
    }
static const str_field_t str_fields[] = {
    FIELD("id", id),           FIELD("service", service),
    FIELD("type", type),       FIELD("request_id", request_id),
    FIELD("user_id", user_id), FIELD("role", role),
    FIELD("zones", zones),     FIELD("idempotency_key", idempotency_key),
};
#define STR_FIELDS (sizeof str_fields / sizeof str_fields[0])

void job_encode(const job_t *job, const char *payload, size_t payload_len, buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_map(&pk, STR_FIELDS + 4);
    for (size_t i = 0; i < STR_FIELDS; i++)
        mp_kv_str(&pk, str_fields[i].key, (const char *)job + str_fields[i].offset);
    mp_kv_i64(&pk, "attempt", job->attempt);
    mp_kv_i64(&pk, "deadline", job->deadline_ms);
    mp_pack_cstr(&pk, "durable");
    if (job->durable)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    mp_pack_cstr(&pk, "payload");
    if (payload && payload_len)
        buf_append(out, payload, payload_len);
    else
        msgpack_pack_map(&pk, 0);
}

int job_decode(job_t *job, const char *data, size_t len, const char **why)
{
    memset(job, 0, sizeof *job);
    msgpack_unpacked_init(&job->unpacked);
    size_t off = 0;
    if (msgpack_unpack_next(&job->unpacked, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != len) {
        *why = "job envelope is not one msgpack object";
        goto fail;
    }
    const msgpack_object *map = &job->unpacked.data;
    if (map->type != MSGPACK_OBJECT_MAP) {
        *why = "job envelope is not a map";
        goto fail;
    }
    for (size_t i = 0; i < STR_FIELDS; i++) {
        const msgpack_object *v = mp_get(map, str_fields[i].key);
        char *dst = (char *)job + str_fields[i].offset;
        if (v && mp_copy_str(v, dst, str_fields[i].size) < 0) {
            *why = "job envelope has an invalid string field";
            goto fail;
        }
    }
    if (!job->id[0] || !job->service[0] || !job->type[0]) {
        *why = "job envelope lacks id, service or type";
        goto fail;
    }
    int64_t n = 0;
    if (mp_get_i64(mp_get(map, "attempt"), &n) < 0 || n < 1 || n > UINT32_MAX) {
        *why = "job envelope has no valid attempt";
        goto fail;
    }
    job->attempt = (uint32_t)n;
    if (mp_get_i64(mp_get(map, "deadline"), &job->deadline_ms) < 0) {
        *why = "job envelope has no valid deadline";
        goto fail;
    }
    const msgpack_object *durable = mp_get(map, "durable");
    job->durable = durable && durable->type == MSGPACK_OBJECT_BOOLEAN && durable->via.boolean;
    job->payload = mp_get(map, "payload");
    if (!job->payload || job->payload->type != MSGPACK_OBJECT_MAP) {
        *why = "job envelope has no payload map";
        goto fail;
    }
    return 0;
fail:
    msgpack_unpacked_destroy(&job->unpacked);
    memset(job, 0, sizeof *job);
    return -1;
}

void job_release(job_t *job)
{
    msgpack_unpacked_destroy(&job->unpacked);
    job->payload = NULL;
}

const msgpack_object *job_body(const job_t *job)
{
    return mp_get(job->payload, "body");
}

const msgpack_object *job_param(const job_t *job, const char *name)
{
    return mp_get(mp_get(job->payload, "params"), name);
}

const msgpack_object *job_query(const job_t *job, const char *name)
{
    return mp_get(mp_get(job->payload, "query"), name);
}

void reply_encode_ok(buf_t *out, int status, const char *body, size_t body_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_map(&pk, body && body_len ? 2 : 1);
    mp_kv_i64(&pk, "status", status);
    if (body && body_len) {
        mp_pack_cstr(&pk, "body");
        buf_append(out, body, body_len);
    }
}

void reply_encode_error(buf_t *out, int status, const char *code, const char *message,
                        const char *details, size_t details_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_map(&pk, 2);
    mp_kv_i64(&pk, "status", status);
    mp_pack_cstr(&pk, "error");
    msgpack_pack_map(&pk, details && details_len ? 3 : 2);
    mp_kv_str(&pk, "code", code);
    mp_kv_str(&pk, "message", message);
    if (details && details_len) {
        mp_pack_cstr(&pk, "details");
        buf_append(out, details, details_len);
    }
}

int reply_decode(reply_t *reply, const char *data, size_t len, const char **why)
{
    memset(reply, 0, sizeof *reply);
    msgpack_unpacked_init(&reply->unpacked);
    size_t off = 0;
    if (msgpack_unpack_next(&reply->unpacked, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != len || reply->unpacked.data.type != MSGPACK_OBJECT_MAP) {
        *why = "reply envelope is not one msgpack map";
        goto fail;
    }
    const msgpack_object *map = &reply->unpacked.data;
    int64_t status;
    if (mp_get_i64(mp_get(map, "status"), &status) < 0 || status < 100 || status > 599) {
        *why = "reply envelope has no valid status";
        goto fail;
    }
    reply->status = (int)status;
    reply->body = mp_get(map, "body");
    const msgpack_object *error = mp_get(map, "error");
    if (error) {
        reply->code = mp_get(error, "code");
        reply->message = mp_get(error, "message");
        reply->details = mp_get(error, "details");
        if (!reply->code || reply->code->type != MSGPACK_OBJECT_STR || !reply->message ||
            reply->message->type != MSGPACK_OBJECT_STR) {
            *why = "reply error lacks code or message";
            goto fail;
        }
    }
    return 0;
fail:
    msgpack_unpacked_destroy(&reply->unpacked);
    memset(reply, 0, sizeof *reply);
    return -1;
}

void reply_release(reply_t *reply)
{
    msgpack_unpacked_destroy(&reply->unpacked);
}
