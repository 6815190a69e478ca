/*
 * catalog_cache - versioned reply cache in Redis (see catalog_cache.h).
 */
#include "catalog_cache.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

/* Reads the counter and the entry under it at once: {version, body|nil}. */
static const char FETCH_SCRIPT[] = "local v = redis.call('GET', KEYS[1]) or '0' "
                                   "return {v, redis.call('GET', ARGV[1] .. '@' .. v)}";

/* The script's SHA1 once Redis has it (SCRIPT LOAD), so that a lookup
 * sends 40 bytes instead of the script; "" until then, and again after a
 * NOSCRIPT answer (Redis restarted and forgot it). */
static char fetch_sha[41];

static redisReply *run_fetch(redisContext *redis, const char *version_key, const char *key)
{
    if (!fetch_sha[0]) {
        redisReply *loaded = redisCommand(redis, "SCRIPT LOAD %s", FETCH_SCRIPT);
        if (loaded && loaded->type == REDIS_REPLY_STRING && loaded->len == 40)
            memcpy(fetch_sha, loaded->str, 41);
        if (loaded)
            freeReplyObject(loaded);
    }
    if (fetch_sha[0]) {
        redisReply *r = redisCommand(redis, "EVALSHA %s 1 %s %s", fetch_sha, version_key, key);
        if (!r || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8) != 0)
            return r;
        freeReplyObject(r);
        fetch_sha[0] = '\0';
    }
    return redisCommand(redis, "EVAL %s 1 %s %s", FETCH_SCRIPT, version_key, key);
}

int cache_fetch(job_ctx_t *ctx, const char *version_key, const char *key, cache_slot_t *slot)
{
    slot->key[0] = '\0';
    redisContext *redis = job_redis(ctx);
    if (!redis)
        return 0;
    redisReply *r = run_fetch(redis, version_key, key);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        if (r)
            freeReplyObject(r);
        return 0;
    }
    const redisReply *body = r->element[1];
    if (body->type == REDIS_REPLY_STRING && body->len > 0) {
        buf_append(&ctx->body_buf, body->str, body->len);
        freeReplyObject(r);
        return 1;
    }
    int n = snprintf(slot->key, sizeof slot->key, "%s@%s", key, r->element[0]->str);
    if (n < 0 || (size_t)n >= sizeof slot->key)
        slot->key[0] = '\0'; /* too long to cache: always read */
    freeReplyObject(r);
    return 0;
}

void cache_store(job_ctx_t *ctx, const cache_slot_t *slot)
{
    if (!slot->key[0] || !ctx->body_buf.len)
        return;
    redisContext *redis = job_redis(ctx);
    if (!redis)
        return;
    redisReply *r = redisCommand(redis, "SET %s %b EX %d", slot->key, ctx->body_buf.data,
                                 ctx->body_buf.len, CACHE_TTL_S);
    if (!r || r->type == REDIS_REPLY_ERROR)
        log_msg(LOG_WARN, ctx->job->request_id, "cache: storing %s failed", slot->key);
    if (r)
        freeReplyObject(r);
}

void cache_bump_products(job_ctx_t *ctx, const char *id)
{
    job_bump_after_commit(ctx, CACHE_PRODUCTS);
    if (id) {
        char key[sizeof CACHE_PRODUCT_PREFIX + 40];
        snprintf(key, sizeof key, "%s%s", CACHE_PRODUCT_PREFIX, id);
        job_bump_after_commit(ctx, key);
    }
}
