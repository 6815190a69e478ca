/*
 * fcm_auth - the OAuth 2 access token that FCM HTTP v1 wants, got the way
 * Google hands it to a server: from a service account.
 *
 * The service account's JSON key file (FCM_SERVICE_ACCOUNT_FILE) holds
 * client_email, an RSA private key (PEM, PKCS#8), token_uri and project_id.
 * A token is bought with a JWT signed RS256 by that key (the JWT bearer
 * grant of RFC 7523) and POSTed form-encoded to the token endpoint
 * (FCM_TOKEN_URL, else the file's token_uri, else Google's), which answers
 * {"access_token", "expires_in", "token_type": "Bearer"}.
 *
 * The token is kept in the process and reused until shortly before it
 * expires, so a worker asks Google about once an hour rather than once per
 * message. The key file is read again each time a token is bought, so a
 * rotated key is picked up without a restart.
 *
 * Not thread-safe, like notify_provider: the worker runs handlers on one
 * thread, and the cache is that thread's.
 */
#ifndef MANDI_FCM_AUTH_H
#define MANDI_FCM_AUTH_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The scope that lets a token send FCM messages. */
#define FCM_AUTH_SCOPE "https://www.googleapis.com/auth/firebase.messaging"
/* Where Google sells tokens, when neither FCM_TOKEN_URL nor the file says. */
#define FCM_AUTH_GOOGLE_TOKEN_URL "https://oauth2.googleapis.com/token"

typedef struct {
    char client_email[256];
    char token_uri[512]; /* "" when the file has none */
    char project_id[128];
    EVP_PKEY *key; /* RSA */
} fcm_account_t;

/* The service account of a JSON key file's text. NULL with why when it is
 * not JSON, lacks client_email or private_key, or the key is not an RSA
 * private key in PEM. The caller destroys it. */
fcm_account_t *fcm_account_parse(const char *json, size_t len, char *why, size_t why_cap);

/* fcm_account_parse of the file at path (at most 64 KiB). */
fcm_account_t *fcm_account_load(const char *path, char *why, size_t why_cap);

void fcm_account_destroy(fcm_account_t **self_p);

/* Appends the signed assertion a token is bought with: header
 * {"alg":"RS256","typ":"JWT"}, claims iss = client_email, scope =
 * FCM_AUTH_SCOPE, aud = token_url, iat = now_s, exp = now_s + 3600 (the
 * longest Google accepts). Returns 0, or -1 with why (OpenSSL failed),
 * leaving out as it was. */
int fcm_auth_assertion(const fcm_account_t *account, const char *token_url, int64_t now_s,
                       buf_t *out, char *why, size_t why_cap);

typedef enum {
    FCM_AUTH_OK,      /* *token and *project are set */
    FCM_AUTH_RETRY,   /* passing: no answer, a timeout, 429 or 5xx from the token endpoint */
    FCM_AUTH_REFUSED, /* the account is unusable (no file, bad key, invalid_grant, other 4xx) */
} fcm_auth_result_t;

/* The access token to send with, bought when there is none or the one
 * kept is about to expire. *token and *project (the file's project_id,
 * possibly "") stay valid until the next call. *http_status is the token
 * endpoint's status when it was asked and answered, else 0; why says what
 * went wrong when the result is not FCM_AUTH_OK. */
fcm_auth_result_t fcm_auth_token(const char **token, const char **project, long *http_status,
                                 char *why, size_t why_cap);

/* Forgets the kept token: FCM refused it (401), so the next call buys a
 * fresh one. */
void fcm_auth_forget(void);

#endif
