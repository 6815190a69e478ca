/*
 * revoked - the revoked token families, in memory (see revoked.h).
 *
 * An open-addressing hash set of family ids under a read-write lock: the
 * HTTP threads read, the journal thread writes a few times a second. It is
 * rebuilt rather than deleted from when entries expire, which keeps probing
 * free of tombstones.
 */
#include "revoked.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

/* Scores a little older than the newest seen are read again: a worker with
 * a clock behind the others' must not slip under the cursor. */
#define CURSOR_SLACK_MS 10000

typedef struct {
    char id[FAMILY_ID_LEN + 1]; /* "" when free */
    int64_t revoked_ms;
} entry_t;

static struct {
    pthread_rwlock_t lock;
    entry_t *slots;
    size_t cap, count; /* cap is a power of two */
    int64_t cursor_ms; /* newest score read */
    int64_t oldest_ms; /* oldest entry held, so pruning runs only when due */
    int64_t ttl_ms;
} r;

static uint64_t hash_id(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static entry_t *slot_for(entry_t *slots, size_t cap, const char *id, size_t len)
{
    size_t i = hash_id(id, len) & (cap - 1);
    while (slots[i].id[0] && !(strncmp(slots[i].id, id, len) == 0 && slots[i].id[len] == '\0'))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Rebuilds into a table of new_cap slots, keeping only live entries. */
static void rebuild(size_t new_cap, int64_t oldest_ms)
{
    entry_t *slots = calloc(new_cap, sizeof *slots);
    if (!slots)
        abort();
    size_t count = 0;
    int64_t oldest_kept = INT64_MAX;
    for (size_t i = 0; i < r.cap; i++) {
        entry_t *e = &r.slots[i];
        if (!e->id[0] || e->revoked_ms < oldest_ms)
            continue;
        *slot_for(slots, new_cap, e->id, FAMILY_ID_LEN) = *e;
        count++;
        if (e->revoked_ms < oldest_kept)
            oldest_kept = e->revoked_ms;
    }
    r.oldest_ms = oldest_kept;
    free(r.slots);
    r.slots = slots;
    r.cap = new_cap;
    r.count = count;
}

static void add(const char *id, size_t len, int64_t revoked_ms)
{
    if (len != FAMILY_ID_LEN)
        return;
    if ((r.count + 1) * 2 > r.cap)
        rebuild(r.cap * 2, INT64_MIN);
    entry_t *e = slot_for(r.slots, r.cap, id, len);
    if (!e->id[0]) {
        memcpy(e->id, id, len);
        e->id[len] = '\0';
        r.count++;
    }
    if (revoked_ms > e->revoked_ms)
        e->revoked_ms = revoked_ms;
    if (e->revoked_ms < r.oldest_ms)
        r.oldest_ms = e->revoked_ms;
}

void revoked_init(long token_ttl_s)
{
    pthread_rwlock_init(&r.lock, NULL);
    r.cap = 1024;
    r.slots = calloc(r.cap, sizeof *r.slots);
    if (!r.slots)
        abort();
    r.ttl_ms = (int64_t)token_ttl_s * 1000;
    r.oldest_ms = INT64_MAX;
}

int revoked_contains(const char *jti)
{
    size_t len = revocation_family_len(jti);
    if (!len)
        return 0;
    pthread_rwlock_rdlock(&r.lock);
    int found = slot_for(r.slots, r.cap, jti, len)->id[0] != '\0';
    pthread_rwlock_unlock(&r.lock);
    return found;
}

int revoked_refresh(redisContext *redis)
{
    int64_t now = clock_now_ms();
    /* A family revoked longer ago than a token lives covers no live token. */
    int64_t oldest = now - r.ttl_ms - CURSOR_SLACK_MS;
    int64_t from = r.cursor_ms - CURSOR_SLACK_MS;
    if (from < oldest)
        from = oldest;
    char min[32];
    snprintf(min, sizeof min, "%lld", (long long)from);
    redisReply *reply =
        redisCommand(redis, "ZRANGEBYSCORE %s %s +inf WITHSCORES", REVOKED_FAMILIES_KEY, min);
    if (!reply)
        return -1;
    if (reply->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return -1;
    }
    pthread_rwlock_wrlock(&r.lock);
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *member = reply->element[i], *score = reply->element[i + 1];
        if (member->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING)
            continue;
        int64_t ms = atoll(score->str);
        add(member->str, member->len, ms);
        if (ms > r.cursor_ms)
            r.cursor_ms = ms;
    }
    /* Rebuilt only when something expired: most refreshes add nothing. */
    if (r.oldest_ms < oldest)
        rebuild(r.count * 8 < r.cap && r.cap > 1024 ? r.cap / 2 : r.cap, oldest);
    pthread_rwlock_unlock(&r.lock);
    freeReplyObject(reply);
    /* Keep the set itself small; any front may do this. */
    snprintf(min, sizeof min, "(%lld", (long long)oldest);
    reply = redisCommand(redis, "ZREMRANGEBYSCORE %s -inf %s", REVOKED_FAMILIES_KEY, min);
    if (!reply)
        return -1;
    freeReplyObject(reply);
    return 0;
}

void revoked_destroy(void)
{
    free(r.slots);
    r.slots = NULL;
    pthread_rwlock_destroy(&r.lock);
}
