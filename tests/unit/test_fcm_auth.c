/*
 * test_fcm_auth - unit tests for the service account side of FCM: reading
 * a key file's JSON, and the RS256 assertion a token is bought with,
 * checked by verifying its signature with the public half of the key.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "check.h"
#include "codec.h"
#include "fcm_auth.h"

#define NOW           1767225600
#define TOKEN_URL     "https://oauth2.googleapis.com/token"
#define CLIENT_EMAIL  "mandi-push@mandi-test.iam.gserviceaccount.com"
#define KEY_BITS      1024 /* enough to test with, and quick under valgrind */
#define KEY_FILE_SIZE 8192

/* The private key's PEM (PKCS#8, as Google writes it) in pem. */
static void key_pem(EVP_PKEY *key, char *pem, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    snprintf(pem, cap, "%.*s", (int)n, data);
    BIO_free(bio);
}

/* A key file's JSON with the given members ("" leaves one out). */
static void key_file(buf_t *out, const char *email, const char *pem, const char *project)
{
    buf_reset(out);
    buf_append_str(out, "{\"type\":\"service_account\"");
    if (email[0]) {
        buf_append_str(out, ",\"client_email\":");
        codec_json_string(out, email, strlen(email));
    }
    if (pem[0]) {
        buf_append_str(out, ",\"private_key\":");
        codec_json_string(out, pem, strlen(pem));
    }
    if (project[0]) {
        buf_append_str(out, ",\"project_id\":");
        codec_json_string(out, project, strlen(project));
    }
    buf_append_str(out, ",\"token_uri\":\"" TOKEN_URL "\"}");
}

static fcm_account_t *parse(const buf_t *json, char *why)
{
    why[0] = '\0';
    return fcm_account_parse(json->data, json->len, why, 256);
}

static void test_key_files(EVP_PKEY *rsa, EVP_PKEY *ec)
{
    char pem[KEY_FILE_SIZE], ec_pem[KEY_FILE_SIZE], why[256];
    key_pem(rsa, pem, sizeof pem);
    key_pem(ec, ec_pem, sizeof ec_pem);
    buf_t json = BUF_INIT;

    key_file(&json, CLIENT_EMAIL, pem, "mandi-test");
    fcm_account_t *a = parse(&json, why);
    CHECK(a != NULL);
    if (a) {
        CHECK_STR(a->client_email, CLIENT_EMAIL);
        CHECK_STR(a->project_id, "mandi-test");
        CHECK_STR(a->token_uri, TOKEN_URL);
        CHECK(EVP_PKEY_eq(a->key, rsa) == 1);
    }
    fcm_account_destroy(&a);
    CHECK(a == NULL);

    /* The project is optional: FCM_PROJECT_ID may name it instead. */
    key_file(&json, CLIENT_EMAIL, pem, "");
    a = parse(&json, why);
    CHECK(a != NULL && a->project_id[0] == '\0');
    fcm_account_destroy(&a);

    key_file(&json, "", pem, "mandi-test");
    CHECK(parse(&json, why) == NULL);
    CHECK(strstr(why, "client_email") != NULL);

    key_file(&json, CLIENT_EMAIL, "", "mandi-test");
    CHECK(parse(&json, why) == NULL);
    CHECK(strstr(why, "private_key") != NULL);

    key_file(&json, CLIENT_EMAIL, "-----BEGIN PRIVATE KEY-----\nnot base64\n", "p");
    CHECK(parse(&json, why) == NULL);
    CHECK(strstr(why, "not an RSA key") != NULL);

    /* RS256 needs RSA: an EC key, valid as it is, will not do. */
    key_file(&json, CLIENT_EMAIL, ec_pem, "p");
    CHECK(parse(&json, why) == NULL);
    CHECK(strstr(why, "not an RSA key") != NULL);

    static const char *const not_accounts[] = {"", "[]", "{", "\"text\"", "{\"a\":1}"};
    for (size_t i = 0; i < sizeof not_accounts / sizeof *not_accounts; i++) {
        CHECK(fcm_account_parse(not_accounts[i], strlen(not_accounts[i]), why, sizeof why) == NULL);
        CHECK(why[0] != '\0');
    }

    CHECK(fcm_account_load("/nonexistent/fcm-key.json", why, sizeof why) == NULL);
    CHECK(strstr(why, "cannot open") != NULL);
    buf_free(&json);
}

/* The part of a JWT between the dots, decoded, in out. */
static int jwt_part(const char *jwt, int index, buf_t *out)
{
    const char *start = jwt;
    for (int i = 0; i < index; i++) {
        start = strchr(start, '.');
        if (!start)
            return -1;
        start++;
    }
    const char *end = strchr(start, '.');
    size_t len = end ? (size_t)(end - start) : strlen(start);
    buf_reset(out);
    return b64url_decode(out, start, len);
}

static int verifies(EVP_PKEY *key, const char *jwt)
{
    const char *last = strrchr(jwt, '.');
    buf_t sig = BUF_INIT;
    int ok = 0;
    if (last && b64url_decode(&sig, last + 1, strlen(last + 1)) == 0) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(md, (const unsigned char *)sig.data, sig.len,
                              (const unsigned char *)jwt, (size_t)(last - jwt)) == 1;
        EVP_MD_CTX_free(md);
    }
    buf_free(&sig);
    return ok;
}

static void test_assertion(EVP_PKEY *rsa, EVP_PKEY *other)
{
    char pem[KEY_FILE_SIZE], why[256] = "";
    key_pem(rsa, pem, sizeof pem);
    buf_t json = BUF_INIT, jwt = BUF_INIT, part = BUF_INIT;
    key_file(&json, CLIENT_EMAIL, pem, "mandi-test");
    fcm_account_t *a = parse(&json, why);
    CHECK(a != NULL);
    if (!a) {
        buf_free(&json);
        return;
    }

    /* Appended after what the buffer held, as a form's value is. */
    buf_append_str(&jwt, "assertion=");
    CHECK_INT(fcm_auth_assertion(a, TOKEN_URL, NOW, &jwt, why, sizeof why), 0);
    CHECK(strncmp(jwt.data, "assertion=", 10) == 0);
    const char *token = jwt.data + 10;

    CHECK_INT(jwt_part(token, 0, &part), 0);
    CHECK_STR(part.data, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
    CHECK_INT(jwt_part(token, 1, &part), 0);
    CHECK_STR(part.data, "{\"iss\":\"" CLIENT_EMAIL "\",\"scope\":\"" FCM_AUTH_SCOPE
                         "\",\"aud\":\"" TOKEN_URL "\",\"iat\":1767225600,\"exp\":1767229200}");

    CHECK(verifies(rsa, token));
    CHECK(!verifies(other, token));
    /* A changed claim no longer matches the signature. */
    char *claims = strchr(jwt.data, '.') + 1;
    claims[3] ^= 1;
    CHECK(!verifies(rsa, token));

    fcm_account_destroy(&a);
    buf_free(&part);
    buf_free(&jwt);
    buf_free(&json);
}

int main(void)
{
    EVP_PKEY *rsa = EVP_RSA_gen(KEY_BITS);
    EVP_PKEY *other = EVP_RSA_gen(KEY_BITS);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    CHECK(rsa && other && ec);
    if (rsa && other && ec) {
        test_key_files(rsa, ec);
        test_assertion(rsa, other);
    }
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(other);
    EVP_PKEY_free(ec);
    return check_summary();
}
