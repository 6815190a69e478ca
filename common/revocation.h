/*
 * revocation - how a revoked session reaches the fronts.
 *
 * An access token's jti is "<family id>.<random>": the family is the login
 * session it came from. Revoking a family adds it to the Redis sorted set
 * REVOKED_FAMILIES_KEY (member: family id, score: revocation time in ms);
 * the accounts pool writes it, the fronts read it (frontend/revoked.h).
 */
#ifndef MANDI_REVOCATION_H
#define MANDI_REVOCATION_H

#include <string.h>

#define REVOKED_FAMILIES_KEY "mandi:revoked_families"
#define FAMILY_ID_LEN        36 /* a UUID in text */

/* The length of the family id that starts jti, or 0 when jti names none. */
static inline size_t revocation_family_len(const char *jti)
{
    const char *dot = strchr(jti, '.');
    return dot && dot - jti == FAMILY_ID_LEN ? FAMILY_ID_LEN : 0;
}

#endif
