/*
 * Job and reply envelopes: encode/decode round trips and refusal of
 * envelopes that lack or mistype what a worker relies on.
 */
#include "check.h"
#include "job.h"
#include "mp.h"

static void pack_job_map(buf_t *out, int with_attempt, int attempt_value)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_msgpack_write);
    msgpack_pack_map(&pk, with_attempt ? 6 : 5);
    mp_kv_str(&pk, "id", "1b4e28ba-2fa1-4d2e-883f-0016d3cca427");
    mp_kv_str(&pk, "service", "orders");
    mp_kv_str(&pk, "type", "ping");
    if (with_attempt)
        mp_kv_i64(&pk, "attempt", attempt_value);
    mp_kv_i64(&pk, "deadline", 1);
    mp_pack_cstr(&pk, "payload");
    msgpack_pack_map(&pk, 0);
}

int main(void)
{
    job_t job = {.attempt = 2, .deadline_ms = 1790000000000, .durable = 1};
    snprintf(job.id, sizeof job.id, "1b4e28ba-2fa1-4d2e-883f-0016d3cca427");
    snprintf(job.service, sizeof job.service, "orders");
    snprintf(job.type, sizeof job.type, "order.create");
    snprintf(job.request_id, sizeof job.request_id, "req-1");
    snprintf(job.user_id, sizeof job.user_id, "u-42");
    snprintf(job.role, sizeof job.role, "USER");
    snprintf(job.zones, sizeof job.zones, "z1,z2");
    snprintf(job.idempotency_key, sizeof job.idempotency_key, "key-1");

    /* payload {"body": {"qty": 3}, "params": {"id": "9"}} */
    buf_t payload = BUF_INIT, env = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &payload, buf_msgpack_write);
    msgpack_pack_map(&pk, 2);
    mp_pack_cstr(&pk, "body");
    msgpack_pack_map(&pk, 1);
    mp_kv_i64(&pk, "qty", 3);
    mp_pack_cstr(&pk, "params");
    msgpack_pack_map(&pk, 1);
    mp_kv_str(&pk, "id", "9");
    job_encode(&job, payload.data, payload.len, &env);

    job_t got;
    const char *why = NULL;
    CHECK_INT(job_decode(&got, env.data, env.len, &why), 0);
    CHECK_STR(got.id, job.id);
    CHECK_STR(got.service, "orders");
    CHECK_STR(got.type, "order.create");
    CHECK_STR(got.request_id, "req-1");
    CHECK_STR(got.user_id, "u-42");
    CHECK_STR(got.role, "USER");
    CHECK_STR(got.zones, "z1,z2");
    CHECK_STR(got.idempotency_key, "key-1");
    CHECK_INT(got.attempt, 2);
    CHECK_INT(got.deadline_ms, 1790000000000);
    CHECK_INT(got.durable, 1);
    int64_t qty = 0;
    CHECK_INT(mp_get_i64(mp_get(job_body(&got), "qty"), &qty), 0);
    CHECK_INT(qty, 3);
    CHECK(mp_str_is(job_param(&got, "id"), "9"));
    CHECK(job_query(&got, "x") == NULL);
    job_release(&got);

    /* Truncated and trailing bytes are refused. */
    CHECK_INT(job_decode(&got, env.data, env.len - 1, &why), -1);
    buf_append_char(&env, 0);
    CHECK_INT(job_decode(&got, env.data, env.len, &why), -1);
    CHECK_INT(job_decode(&got, "\x93\x01\x02\x03", 4, &why), -1); /* an array */
    buf_reset(&env);
    pack_job_map(&env, 0, 0); /* no attempt */
    CHECK_INT(job_decode(&got, env.data, env.len, &why), -1);
    buf_reset(&env);
    pack_job_map(&env, 1, 0); /* attempt 0 */
    CHECK_INT(job_decode(&got, env.data, env.len, &why), -1);
    buf_reset(&env);
    pack_job_map(&env, 1, 1);
    CHECK_INT(job_decode(&got, env.data, env.len, &why), 0);
    job_release(&got);

    /* A string field longer than its slot is refused, not truncated. */
    buf_reset(&env);
    msgpack_packer_init(&pk, &env, buf_msgpack_write);
    msgpack_pack_map(&pk, 1);
    mp_kv_str(&pk, "service", "a-service-name-much-longer-than-thirty-one-chars");
    CHECK_INT(job_decode(&got, env.data, env.len, &why), -1);

    /* Replies. */
    buf_t reply = BUF_INIT;
    reply_encode_ok(&reply, 201, payload.data, payload.len);
    reply_t r;
    CHECK_INT(reply_decode(&r, reply.data, reply.len, &why), 0);
    CHECK_INT(r.status, 201);
    CHECK(r.body && r.body->type == MSGPACK_OBJECT_MAP);
    CHECK(r.code == NULL);
    reply_release(&r);

    buf_reset(&reply);
    reply_encode_error(&reply, 404, "ORDER_NOT_FOUND", "order 9 not found", NULL, 0);
    CHECK_INT(reply_decode(&r, reply.data, reply.len, &why), 0);
    CHECK_INT(r.status, 404);
    CHECK(mp_str_is(r.code, "ORDER_NOT_FOUND"));
    CHECK(mp_str_is(r.message, "order 9 not found"));
    CHECK(r.details == NULL);
    reply_release(&r);

    buf_reset(&reply);
    reply_encode_ok(&reply, 204, NULL, 0);
    CHECK_INT(reply_decode(&r, reply.data, reply.len, &why), 0);
    CHECK(r.body == NULL);
    reply_release(&r);

    buf_reset(&reply);
    msgpack_packer_init(&pk, &reply, buf_msgpack_write);
    msgpack_pack_map(&pk, 1);
    mp_kv_i64(&pk, "status", 99);
    CHECK_INT(reply_decode(&r, reply.data, reply.len, &why), -1);

    buf_free(&payload);
    buf_free(&env);
    buf_free(&reply);
    return check_summary();
}
