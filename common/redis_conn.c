/*
 * redis_conn - opens hiredis connections from a redis:// URL (see redis_conn.h).
 */
#include "redis_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct {
    char host[128];
    int port;
    int db;
    char password[128];
} redis_url_t;

static int parse_url(const char *url, redis_url_t *out)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0)
        return -1;
    p += 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t len = (size_t)(at - pw);
        if (len >= sizeof out->password)
            return -1;
        memcpy(out->password, pw, len);
        p = at + 1;
    }
    size_t hlen = strcspn(p, ":/");
    if (hlen == 0 || hlen >= sizeof out->host)
        return -1;
    memcpy(out->host, p, hlen);
    p += hlen;
    if (*p == ':') {
        out->port = atoi(p + 1);
        p += 1 + strspn(p + 1, "0123456789");
    }
    if (*p == '/' && p[1])
        out->db = atoi(p + 1);
    return out->port > 0 && out->port < 65536 ? 0 : -1;
}

redisContext *redis_open(const char *url, int timeout_ms)
{
    redis_url_t u;
    if (parse_url(url, &u) < 0) {
        log_msg(LOG_ERROR, NULL, "REDIS_URL is not redis://[:password@]host[:port][/db]");
        return NULL;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (!c || c->err) {
        log_msg(LOG_WARN, NULL, "redis connection failed: %s", c ? c->errstr : "no memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisReply *r = NULL;
    if (u.password[0]) {
        r = redisCommand(c, "AUTH %s", u.password);
        if (!r || r->type == REDIS_REPLY_ERROR)
            goto fail;
        freeReplyObject(r);
    }
    if (u.db) {
        r = redisCommand(c, "SELECT %d", u.db);
        if (!r || r->type == REDIS_REPLY_ERROR)
            goto fail;
        freeReplyObject(r);
    }
    return c;
fail:
    log_msg(LOG_WARN, NULL, "redis set-up failed: %s", r ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return NULL;
}

int redis_ping(redisContext *c)
{
    redisReply *r = redisCommand(c, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}
