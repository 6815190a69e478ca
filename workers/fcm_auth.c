/*
 * fcm_auth - service-account access tokens for FCM (see fcm_auth.h).
 */
#include "fcm_auth.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "clock.h"
#include "codec.h"
#include "config.h"
#include "mp.h"
#include "notify_provider.h"

#define ASSERTION_LIFETIME_S 3600
#define REFRESH_MARGIN_MS    60000

/* ---- the service account ------------------------------------------------------ */

/* The JSON text as one msgpack map in *u (the caller destroys u), or NULL. */
static const msgpack_object *parse_json(const char *json, size_t len, buf_t *mp,
                                        msgpack_unpacked *u)
{
    codec_error_t err;
    msgpack_unpacked_init(u);
    if (!len || codec_json_to_msgpack(json, len, mp, &err) < 0)
        return NULL;
    size_t off = 0;
    if (msgpack_unpack_next(u, mp->data, mp->len, &off) != MSGPACK_UNPACK_SUCCESS ||
        u->data.type != MSGPACK_OBJECT_MAP)
        return NULL;
    return &u->data;
}

/* The PEM text of pem[0..len) as an RSA private key, or NULL. PKCS#8 is
 * what Google writes; the traditional RSA form reads just as well. */
static EVP_PKEY *read_key(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (key && EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    /* A failed read leaves its reasons on OpenSSL's queue, where they would
     * be mistaken for a later call's. */
    ERR_clear_error();
    return key;
}

fcm_account_t *fcm_account_parse(const char *json, size_t len, char *why, size_t why_cap)
{
    buf_t mp = BUF_INIT;
    msgpack_unpacked u;
    fcm_account_t *self = NULL;
    const msgpack_object *j = parse_json(json, len, &mp, &u);
    const msgpack_object *pem = j ? mp_get(j, "private_key") : NULL;
    if (!j) {
        snprintf(why, why_cap, "the service account file is not a JSON object");
        goto done;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_cap, "out of memory");
        goto done;
    }
    if (mp_copy_str(mp_get(j, "client_email"), self->client_email, sizeof self->client_email) < 0 ||
        !self->client_email[0]) {
        snprintf(why, why_cap, "the service account file has no client_email");
        goto fail;
    }
    if (!pem || pem->type != MSGPACK_OBJECT_STR || !pem->via.str.size) {
        snprintf(why, why_cap, "the service account file has no private_key");
        goto fail;
    }
    self->key = read_key(pem->via.str.ptr, pem->via.str.size);
    if (!self->key) {
        snprintf(why, why_cap, "the service account's private_key is not an RSA key in PEM");
        goto fail;
    }
    /* Both optional: FCM_TOKEN_URL and FCM_PROJECT_ID can say instead. */
    mp_copy_str(mp_get(j, "token_uri"), self->token_uri, sizeof self->token_uri);
    mp_copy_str(mp_get(j, "project_id"), self->project_id, sizeof self->project_id);
    goto done;
fail:
    fcm_account_destroy(&self);
done:
    msgpack_unpacked_destroy(&u);
    buf_free(&mp);
    return self;
}

fcm_account_t *fcm_account_load(const char *path, char *why, size_t why_cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_cap, "cannot open the service account file %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    /* A key file is about 2.3 KiB; more than 64 KiB is not one. */
    char *text = malloc(65536);
    size_t n = text ? fread(text, 1, 65536, f) : 0;
    int bad = !text || ferror(f) || n == 65536;
    fclose(f);
    fcm_account_t *self = NULL;
    if (bad)
        snprintf(why, why_cap, "cannot read the service account file %s", path);
    else
        self = fcm_account_parse(text, n, why, why_cap);
    if (text)
        OPENSSL_cleanse(text, 65536); /* it held the private key */
    free(text);
    return self;
}

void fcm_account_destroy(fcm_account_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    EVP_PKEY_free((*self_p)->key);
    free(*self_p);
    *self_p = NULL;
}

/* ---- the assertion ------------------------------------------------------------- */

static void append_part(buf_t *out, const buf_t *json)
{
    b64url_encode(out, (const unsigned char *)json->data, json->len);
}

int fcm_auth_assertion(const fcm_account_t *account, const char *token_url, int64_t now_s,
                       buf_t *out, char *why, size_t why_cap)
{
    size_t start = out->len;
    buf_t claims = BUF_INIT;
    buf_append_str(&claims, "{\"iss\":");
    codec_json_string(&claims, account->client_email, strlen(account->client_email));
    buf_append_str(&claims, ",\"scope\":");
    codec_json_string(&claims, FCM_AUTH_SCOPE, strlen(FCM_AUTH_SCOPE));
    buf_append_str(&claims, ",\"aud\":");
    codec_json_string(&claims, token_url, strlen(token_url));
    buf_printf(&claims, ",\"iat\":%lld,\"exp\":%lld}", (long long)now_s,
               (long long)(now_s + ASSERTION_LIFETIME_S));
    static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    b64url_encode(out, (const unsigned char *)header, sizeof header - 1);
    buf_append_char(out, '.');
    append_part(out, &claims);
    buf_free(&claims);

    /* RS256 is RSASSA-PKCS1-v1_5 over SHA-256: OpenSSL's default padding
     * for an RSA key. */
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, account->key) == 1 &&
             EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)out->data + start,
                            out->len - start) == 1 &&
             (sig = malloc(sig_len)) != NULL &&
             EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)out->data + start,
                            out->len - start) == 1;
    EVP_MD_CTX_free(md);
    if (ok) {
        buf_append_char(out, '.');
        b64url_encode(out, sig, sig_len);
    } else {
        char err[128] = "";
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        ERR_clear_error();
        snprintf(why, why_cap, "signing the assertion failed: %s", err);
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    free(sig);
    return ok ? 0 : -1;
}

/* ---- the token ------------------------------------------------------------------ */

/* The one token this process holds. */
static struct {
    char token[4096]; /* Google's are up to 2 KiB */
    char project[128];
    int64_t refresh_at_ms; /* monotonic; 0 = none held */
} held;

void fcm_auth_forget(void)
{
    OPENSSL_cleanse(&held, sizeof held);
}

/* A token is used until a minute before it expires, so that it does not
 * expire in flight; one living less than four minutes (a test's, or a
 * clock-skewed answer) keeps three quarters of its life instead. */
static int64_t refresh_at(int64_t now_ms, int64_t expires_in_s)
{
    int64_t life = expires_in_s * 1000;
    int64_t margin = life / 4 < REFRESH_MARGIN_MS ? life / 4 : REFRESH_MARGIN_MS;
    return now_ms + life - margin;
}

/* The token endpoint's error answer, {"error", "error_description"}, as
 * "invalid_grant (Invalid JWT Signature.)", else the start of the body. */
static void describe_refusal(const buf_t *body, long status, char *why, size_t why_cap)
{
    buf_t mp = BUF_INIT;
    msgpack_unpacked u;
    const msgpack_object *j = parse_json(body->data, body->len, &mp, &u);
    char error[64] = "", description[160] = "";
    mp_copy_str(j ? mp_get(j, "error") : NULL, error, sizeof error);
    mp_copy_str(j ? mp_get(j, "error_description") : NULL, description, sizeof description);
    if (error[0])
        snprintf(why, why_cap, "the token endpoint refused the service account: HTTP %ld %s%s%s%s",
                 status, error, description[0] ? " (" : "", description, description[0] ? ")" : "");
    else
        snprintf(why, why_cap, "the token endpoint refused the service account: HTTP %ld %.120s",
                 status, body->data ? body->data : "");
    msgpack_unpacked_destroy(&u);
    buf_free(&mp);
}

/* Reads {"access_token", "expires_in"} into held. Returns 0, or -1 with
 * why when the answer is not one. */
static int take_token(const buf_t *body, int64_t now_ms, const char *project, char *why,
                      size_t why_cap)
{
    buf_t mp = BUF_INIT;
    msgpack_unpacked u;
    const msgpack_object *j = parse_json(body->data, body->len, &mp, &u);
    int64_t expires_in = 0;
    int rc = -1;
    if (!j || mp_copy_str(mp_get(j, "access_token"), held.token, sizeof held.token) < 0 ||
        !held.token[0] || mp_get_i64(mp_get(j, "expires_in"), &expires_in) < 0 || expires_in < 1) {
        snprintf(why, why_cap, "the token endpoint answered without a token: %.120s",
                 body->data ? body->data : "");
        fcm_auth_forget();
    } else {
        snprintf(held.project, sizeof held.project, "%s", project);
        held.refresh_at_ms = refresh_at(now_ms, expires_in);
        rc = 0;
    }
    msgpack_unpacked_destroy(&u);
    buf_free(&mp);
    return rc;
}

/* Buys a token with the account's assertion and keeps it. */
static fcm_auth_result_t buy(const fcm_account_t *account, long *http_status, char *why,
                             size_t why_cap)
{
    const char *url = config_get("FCM_TOKEN_URL");
    if (!url[0])
        url = account->token_uri[0] ? account->token_uri : FCM_AUTH_GOOGLE_TOKEN_URL;
    buf_t form = BUF_INIT, answer = BUF_INIT;
    /* The grant type's colons percent-encoded; the assertion is base64url
     * and dots, which a form carries as they are. */
    buf_append_str(&form, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
                          "&assertion=");
    if (fcm_auth_assertion(account, url, clock_now_ms() / 1000, &form, why, why_cap) < 0) {
        buf_free(&form);
        return FCM_AUTH_REFUSED;
    }
    static const char *const headers[] = {NULL};
    long status = 0;
    char err[256] = "";
    fcm_auth_result_t result;
    if (notify_http_exchange(url, "application/x-www-form-urlencoded", headers, form.data, form.len,
                             &status, &answer, err, sizeof err) < 0) {
        snprintf(why, why_cap, "the token endpoint did not answer: %s", err);
        result = FCM_AUTH_RETRY;
    } else if (status >= 200 && status < 300) {
        *http_status = status;
        result = take_token(&answer, clock_mono_ms(), account->project_id, why, why_cap) == 0
                     ? FCM_AUTH_OK
                     : FCM_AUTH_RETRY;
    } else if (status == 429 || status >= 500) {
        *http_status = status;
        snprintf(why, why_cap, "the token endpoint is unavailable: HTTP %ld %.120s", status,
                 answer.data ? answer.data : "");
        result = FCM_AUTH_RETRY;
    } else {
        *http_status = status;
        describe_refusal(&answer, status, why, why_cap);
        result = FCM_AUTH_REFUSED;
    }
    buf_free(&answer);
    buf_free(&form);
    return result;
}

fcm_auth_result_t fcm_auth_token(const char **token, const char **project, long *http_status,
                                 char *why, size_t why_cap)
{
    *http_status = 0;
    if (!held.refresh_at_ms || clock_mono_ms() >= held.refresh_at_ms) {
        fcm_auth_forget();
        fcm_account_t *account =
            fcm_account_load(config_get("FCM_SERVICE_ACCOUNT_FILE"), why, why_cap);
        if (!account)
            return FCM_AUTH_REFUSED;
        fcm_auth_result_t r = buy(account, http_status, why, why_cap);
        fcm_account_destroy(&account);
        if (r != FCM_AUTH_OK)
            return r;
    }
    *token = held.token;
    *project = held.project;
    return FCM_AUTH_OK;
}
