/*
 * revoked - the front's copy of the revoked token families.
 *
 * An access token's jti is "<family id>.<random>", the family being the
 * login session it came from. Logging out, a reused refresh token, a
 * password reset or an account change revokes families: the accounts pool
 * adds them to the Redis sorted set REVOKED_FAMILIES_KEY (member: family
 * id, score: revocation time in ms). The journal thread reads what is new
 * every REVOKED_REFRESH_MS, so a token check costs a hash look-up here, not
 * a round trip. Entries are dropped once every access token they could
 * cover has expired.
 */
#ifndef MANDI_REVOKED_H
#define MANDI_REVOKED_H

#include <hiredis/hiredis.h>

#include "revocation.h"

#define REVOKED_REFRESH_MS 200

/* Sets up the table; token_ttl_s is the access tokens' life. */
void revoked_init(long token_ttl_s);

/* Whether the family named by jti's prefix (up to the first '.') is
 * revoked. Any thread. */
int revoked_contains(const char *jti);

/* Reads new revocations from Redis and forgets expired ones. Journal thread
 * only. Returns 0, or -1 when Redis failed (the context is then dead). */
int revoked_refresh(redisContext *redis);

void revoked_destroy(void);

#endif
