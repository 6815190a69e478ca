/*
 * test_jwt - unit tests for the token path: base64url, HS256 JWT signing and
 * verification (including the classic forgery attempts), and UUIDs.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "check.h"
#include "jwt.h"
#include "uuid.h"

static const char SECRET[] = "mandi-test-secret";
#define NOW 1700001000

/* Builds header.payload.signature from raw JSON texts, signing with HMAC-SHA256
 * directly through OpenSSL (or leaving the signature empty when key is NULL),
 * so the tests can present tokens jwt_sign would never produce. */
static void make_token(buf_t *out, const char *header, const char *payload, const char *key)
{
    buf_reset(out);
    b64url_encode(out, (const unsigned char *)header, strlen(header));
    buf_append_char(out, '.');
    b64url_encode(out, (const unsigned char *)payload, strlen(payload));
    if (key) {
        unsigned char mac[32];
        unsigned int mac_len = 0;
        HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)out->data, out->len, mac,
             &mac_len);
        buf_append_char(out, '.');
        b64url_encode(out, mac, mac_len);
    } else {
        buf_append_char(out, '.');
    }
}

static jwt_status_t verify(const buf_t *t, jwt_claims_t *c)
{
    return jwt_verify(t->data, t->len, SECRET, strlen(SECRET), NOW, c);
}

static jwt_status_t verify_str(const char *t)
{
    jwt_claims_t c;
    return jwt_verify(t, strlen(t), SECRET, strlen(SECRET), NOW, &c);
}

static void check_b64_enc(const char *in, const char *want)
{
    buf_t b = BUF_INIT;
    b64url_encode(&b, (const unsigned char *)in, strlen(in));
    CHECK_STR(b.data, want);
    buf_free(&b);
}

static void check_b64_dec(const char *in, const char *want)
{
    buf_t b = BUF_INIT;
    CHECK_INT(b64url_decode(&b, in, strlen(in)), 0);
    CHECK_INT(b.len, strlen(want));
    CHECK(b.len == 0 || memcmp(b.data, want, b.len) == 0);
    buf_free(&b);
}

static void check_b64_bad(const char *in)
{
    buf_t b = BUF_INIT;
    buf_append_str(&b, "keep");
    CHECK_INT(b64url_decode(&b, in, strlen(in)), -1);
    CHECK_STR(b.data, "keep"); /* a failed decode leaves the buffer as it was */
    buf_free(&b);
}

static void test_b64(void)
{
    /* RFC 4648 section 10 vectors, without the '=' padding. */
    static const char *vec[][2] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        check_b64_enc(vec[i][0], vec[i][1]);
        check_b64_dec(vec[i][1], vec[i][0]);
    }
    /* Bytes whose standard encoding uses '+' and '/' use '-' and '_' here. */
    const unsigned char bin[] = {0xfb, 0xff, 0xbf};
    buf_t b = BUF_INIT;
    b64url_encode(&b, bin, sizeof bin);
    CHECK_STR(b.data, "-_-_");
    buf_reset(&b);
    CHECK_INT(b64url_decode(&b, "-_-_", 4), 0);
    CHECK(b.len == 3 && memcmp(b.data, bin, 3) == 0);
    buf_free(&b);

    check_b64_bad("Zg==");   /* padding */
    check_b64_bad("Zm9v+/"); /* standard alphabet */
    check_b64_bad("Zm9vY");  /* length 5: a lone trailing character */
    check_b64_bad("Zm 9v");  /* whitespace */
    check_b64_bad("Zh");     /* non-zero unused bits: not the canonical "Zg" */
    buf_t z = BUF_INIT;
    CHECK_INT(b64url_decode(&z, "Zm\0v", 4), -1); /* embedded NUL within len */
    buf_free(&z);
}

static void test_round_trip(void)
{
    jwt_claims_t in;
    memset(&in, 0, sizeof in);
    strcpy(in.sub, "user-123");
    strcpy(in.role, "LOCATION_ADMIN");
    strcpy(in.zones, "z1,z2");
    strcpy(in.jti, "0b7c6f2e-93d4-4a8e-b1f0-5c2d7e9a4b13");
    in.iat = NOW - 10;
    in.exp = NOW + 3600;

    buf_t t = BUF_INIT;
    jwt_sign(&t, &in, SECRET, strlen(SECRET));
    jwt_claims_t out;
    CHECK_INT(verify(&t, &out), JWT_OK);
    CHECK_STR(out.sub, "user-123");
    CHECK_STR(out.role, "LOCATION_ADMIN");
    CHECK_STR(out.zones, "z1,z2");
    CHECK_STR(out.jti, in.jti);
    CHECK_INT(out.iat, in.iat);
    CHECK_INT(out.exp, in.exp);
    CHECK(memcmp(&in, &out, sizeof in) == 0);

    /* jwt_sign appends: a prefix already in the buffer stays. */
    buf_t p = BUF_INIT;
    buf_append_str(&p, "Bearer ");
    jwt_sign(&p, &in, SECRET, strlen(SECRET));
    CHECK(p.len == 7 + t.len && memcmp(p.data + 7, t.data, t.len) == 0);
    buf_free(&p);

    /* Never reads past len: the same token with trailing bytes outside len. */
    buf_append_str(&t, "garbage");
    CHECK_INT(jwt_verify(t.data, t.len - 7, SECRET, strlen(SECRET), NOW, &out), JWT_OK);
    CHECK_INT(jwt_verify(t.data, t.len, SECRET, strlen(SECRET), NOW, &out), JWT_MALFORMED);

    /* Quotes and backslashes survive the JSON escaping. */
    strcpy(in.sub, "a\"b\\c");
    strcpy(in.zones, "");
    buf_reset(&t);
    jwt_sign(&t, &in, SECRET, strlen(SECRET));
    CHECK_INT(verify(&t, &out), JWT_OK);
    CHECK_STR(out.sub, "a\"b\\c");
    CHECK_STR(out.zones, "");

    /* Wrong secret. */
    CHECK_INT(jwt_verify(t.data, t.len, "other", 5, NOW, &out), JWT_BAD_SIGNATURE);
    /* An empty secret never signs nor verifies. */
    buf_t e = BUF_INIT;
    jwt_sign(&e, &in, "", 0);
    CHECK_INT(e.len, 0);
    CHECK_INT(jwt_verify(t.data, t.len, "", 0, NOW, &out), JWT_BAD_SIGNATURE);
    buf_free(&e);

    /* Expired: exp == now counts as expired; claims stay zeroed. */
    in.exp = NOW;
    buf_reset(&t);
    jwt_sign(&t, &in, SECRET, strlen(SECRET));
    CHECK_INT(verify(&t, &out), JWT_EXPIRED);
    CHECK_STR(out.sub, "");
    in.exp = NOW + 1;
    buf_reset(&t);
    jwt_sign(&t, &in, SECRET, strlen(SECRET));
    CHECK_INT(verify(&t, NULL), JWT_OK);
    buf_free(&t);
}

static void test_known_vector(void)
{
    /* Computed independently with the openssl command line:
     *   printf '%s' "$H.$P" | openssl dgst -sha256 -hmac mandi-test-secret -binary
     * then base64url without padding. */
    static const char want[] =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiJ1LTQyIiwicm9sZSI6Ik1FUkNIQU5UIiwiem9uZXMiOlsiejEiLCJ6MiJdLCJpYXQiOjE3MDAwMDAw"
        "MDAsImV4cCI6MTcwMDAwMzYwMCwianRpIjoianRpLTcifQ."
        "-XjYV9xy_eb3CT82jiOf9Gy6KB34qn4N7zgSdSC2QNY";
    jwt_claims_t c;
    memset(&c, 0, sizeof c);
    strcpy(c.sub, "u-42");
    strcpy(c.role, "MERCHANT");
    strcpy(c.zones, "z1,z2");
    strcpy(c.jti, "jti-7");
    c.iat = 1700000000;
    c.exp = 1700003600;
    buf_t t = BUF_INIT;
    jwt_sign(&t, &c, SECRET, strlen(SECRET));
    CHECK_STR(t.data, want);
    jwt_claims_t out;
    CHECK_INT(verify_str(want), JWT_OK);
    CHECK_INT(jwt_verify(want, strlen(want), SECRET, strlen(SECRET), NOW, &out), JWT_OK);
    CHECK_STR(out.zones, "z1,z2");
    buf_free(&t);

    /* The well-known jwt.io example verifies but lacks role and exp. */
    static const char jwtio[] =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    const char *k = "your-256-bit-secret";
    CHECK_INT(jwt_verify(jwtio, strlen(jwtio), k, strlen(k), NOW, &out), JWT_MALFORMED);
    CHECK_INT(jwt_verify(jwtio, strlen(jwtio), "x", 1, NOW, &out), JWT_BAD_SIGNATURE);
}

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define GOOD  "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000}"

static void test_rejections(void)
{
    buf_t t = BUF_INIT;
    jwt_claims_t c;

    make_token(&t, HS256, GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_OK);
    CHECK_STR(c.zones, "");
    CHECK_INT(c.iat, 0);

    /* Tampered payload: swap in another payload, keep the signature. */
    buf_t other = BUF_INIT;
    make_token(&other, HS256, "{\"sub\":\"u1\",\"role\":\"ADMIN\",\"exp\":1800000000}", "x");
    const char *sig = strrchr(t.data, '.');
    const char *osig = strrchr(other.data, '.');
    buf_t forged = BUF_INIT;
    buf_append(&forged, other.data, (size_t)(osig - other.data));
    buf_append_str(&forged, sig);
    CHECK_INT(verify(&forged, &c), JWT_BAD_SIGNATURE);
    CHECK_STR(c.role, "");
    /* One flipped character in the signature. */
    buf_reset(&forged);
    buf_append(&forged, t.data, t.len);
    forged.data[forged.len - 2] = forged.data[forged.len - 2] == 'A' ? 'B' : 'A';
    CHECK_INT(verify(&forged, &c), JWT_BAD_SIGNATURE);
    /* A well-formed signature of the wrong size (16 bytes instead of 32). */
    buf_reset(&forged);
    buf_append(&forged, t.data, (size_t)(sig - t.data) + 1);
    const unsigned char half[16] = {0};
    b64url_encode(&forged, half, sizeof half);
    CHECK_INT(verify(&forged, &c), JWT_BAD_SIGNATURE);
    /* A cut signature whose last character no longer encodes whole bytes
     * canonically is not base64url we accept at all. */
    CHECK_INT(jwt_verify(t.data, t.len - 4, SECRET, strlen(SECRET), NOW, &c), JWT_MALFORMED);
    buf_free(&forged);
    buf_free(&other);

    /* alg none with an empty signature, and other algorithms: refused before
     * the signature is considered, even when correctly "signed". */
    make_token(&t, "{\"alg\":\"none\"}", GOOD, NULL);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    make_token(&t, "{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    make_token(&t, "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    make_token(&t, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    make_token(&t, "{\"alg\":\"hs256\"}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    make_token(&t, "{\"typ\":\"JWT\"}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    make_token(&t, "{\"alg\":256}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    make_token(&t, "{\"alg\":\"HS256-and-then-some-more\"}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    make_token(&t, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_BAD_ALG);
    /* Escaped spelling of HS256 is the same string, and unknown members of
     * any type are skipped. */
    make_token(&t, "{\"kid\":{\"a\":[1,2.5e3,true,null,{}]},\"alg\":\"H\\u0053256\"}", GOOD,
               SECRET);
    CHECK_INT(verify(&t, &c), JWT_OK);
    /* Two alg members is ambiguous; a header that is not an object is junk. */
    make_token(&t, "{\"alg\":\"HS256\",\"alg\":\"none\"}", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_MALFORMED);
    make_token(&t, "[\"HS256\"]", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_MALFORMED);
    make_token(&t, "{\"alg\":\"HS256\"", GOOD, SECRET);
    CHECK_INT(verify(&t, &c), JWT_MALFORMED);

    /* Structure. */
    CHECK_INT(verify_str(""), JWT_MALFORMED);
    CHECK_INT(verify_str("abc.def"), JWT_MALFORMED);
    CHECK_INT(verify_str("a.b.c.d"), JWT_MALFORMED);
    make_token(&t, HS256, GOOD, SECRET);
    buf_append_str(&t, ".");
    CHECK_INT(verify(&t, &c), JWT_MALFORMED); /* four parts, last empty */
    make_token(&t, HS256, GOOD, SECRET);
    t.data[3] = '+'; /* standard alphabet in the header */
    CHECK_INT(verify(&t, &c), JWT_MALFORMED);
    make_token(&t, HS256, GOOD, SECRET);
    buf_t padded = BUF_INIT;
    const char *dot = strchr(t.data, '.');
    buf_append(&padded, t.data, (size_t)(dot - t.data));
    buf_append_str(&padded, "=");
    buf_append_str(&padded, dot);
    CHECK_INT(verify(&padded, &c), JWT_MALFORMED);
    buf_free(&padded);
    CHECK_INT(verify_str("eyJhbGciOiJIUzI1NiJ9.e$$.AAAA"), JWT_MALFORMED);

    /* Payloads, all correctly signed so that only the claims are at fault. */
    static const char *malformed[] = {
        "not json",
        "",
        "[]",
        "{\"role\":\"USER\",\"exp\":1800000000}",              /* missing sub */
        "{\"sub\":\"u1\",\"exp\":1800000000}",                 /* missing role */
        "{\"sub\":\"u1\",\"role\":\"USER\"}",                  /* missing exp */
        "{\"sub\":1,\"role\":\"USER\",\"exp\":1800000000}",    /* sub not a string */
        "{\"sub\":\"\",\"role\":\"USER\",\"exp\":1800000000}", /* empty sub */
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":\"1800000000\"}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1.8e9}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":18000000000000000000000}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":01800000000}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000} x",
        "{\"sub\":\"u1\",\"sub\":\"u2\",\"role\":\"USER\",\"exp\":1800000000}",
        "{\"sub\":\"u\\u0000\",\"role\":\"USER\",\"exp\":1800000000}",
        "{\"sub\":\"u\\ud800\",\"role\":\"USER\",\"exp\":1800000000}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"zones\":\"z1\"}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"zones\":[1]}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"zones\":[\"a,b\"]}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"zones\":[\"\"]}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"zones\":[\"z1\",]}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"x\":[[[[[[[[[[[[[[[[[[[[[[["
        "[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"x\":tru}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"x\":\"\\x\"}",
        "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"x\":\"\t\"}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        make_token(&t, HS256, malformed[i], SECRET);
        jwt_status_t st = verify(&t, &c);
        if (st != JWT_MALFORMED)
            fprintf(stderr, "payload %zu: %s\n", i, malformed[i]);
        CHECK_INT(st, JWT_MALFORMED);
    }

    /* Over-long values are refused rather than truncated: sub holds 63. */
    char payload[512];
    char sub[80];
    memset(sub, 'a', sizeof sub - 1);
    sub[sizeof sub - 1] = '\0';
    snprintf(payload, sizeof payload, "{\"sub\":\"%s\",\"role\":\"USER\",\"exp\":1800000000}", sub);
    make_token(&t, HS256, payload, SECRET);
    CHECK_INT(verify(&t, &c), JWT_MALFORMED);
    sub[63] = '\0';
    snprintf(payload, sizeof payload, "{\"sub\":\"%s\",\"role\":\"USER\",\"exp\":1800000000}", sub);
    make_token(&t, HS256, payload, SECRET);
    CHECK_INT(verify(&t, &c), JWT_OK);
    CHECK_INT(strlen(c.sub), 63);
    sub[63] = 'a';
    sub[64] = '\0';
    snprintf(payload, sizeof payload, "{\"sub\":\"%s\",\"role\":\"USER\",\"exp\":1800000000}", sub);
    make_token(&t, HS256, payload, SECRET);
    CHECK_INT(verify(&t, &c), JWT_MALFORMED); /* exactly 64: one too many */

    /* Zones that overflow the 255-byte field. */
    buf_t zp = BUF_INIT;
    buf_append_str(&zp, "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1800000000,\"zones\":[");
    for (int i = 0; i < 40; i++)
        buf_printf(&zp, "%s\"zone-%03d\"", i ? "," : "", i);
    buf_append_str(&zp, "]}");
    make_token(&t, HS256, zp.data, SECRET);
    CHECK_INT(verify(&t, &c), JWT_MALFORMED);
    buf_free(&zp);

    /* Extras that are fine: whitespace, escapes, unknown claims, negative iat,
     * non-ASCII text. */
    make_token(&t, HS256,
               " { \"sub\" : \"u\\u00e9\\ud83d\\ude00\" , \"role\":\"USER\",\"exp\":1800000000,"
               "\"iat\":-5,\"nbf\":null,\"zones\":[ \"z1\" , \"z\\/2\" ],\"jti\":\"j\"}\n",
               SECRET);
    CHECK_INT(verify(&t, &c), JWT_OK);
    CHECK_STR(c.sub, "u\xc3\xa9\xf0\x9f\x98\x80");
    CHECK_STR(c.zones, "z1,z/2");
    CHECK_INT(c.iat, -5);
    CHECK_STR(c.jti, "j");

    /* Expiry checked only after the signature and claims are good. */
    make_token(&t, HS256, "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1000}", SECRET);
    CHECK_INT(verify(&t, &c), JWT_EXPIRED);
    make_token(&t, HS256, "{\"sub\":\"u1\",\"role\":\"USER\",\"exp\":1000}", "wrong");
    CHECK_INT(verify(&t, &c), JWT_BAD_SIGNATURE);
    buf_free(&t);

    CHECK_STR(jwt_status_name(JWT_OK), "OK");
    CHECK_STR(jwt_status_name(JWT_MALFORMED), "TOKEN_MALFORMED");
    CHECK_STR(jwt_status_name(JWT_BAD_ALG), "TOKEN_BAD_ALG");
    CHECK_STR(jwt_status_name(JWT_BAD_SIGNATURE), "TOKEN_BAD_SIGNATURE");
    CHECK_STR(jwt_status_name(JWT_EXPIRED), "TOKEN_EXPIRED");
}

static void test_uuid(void)
{
    enum { N = 200 };
    static char ids[N][37];
    for (int i = 0; i < N; i++) {
        uuid_v4(ids[i]);
        CHECK_INT(strlen(ids[i]), 36);
        CHECK(uuid_valid(ids[i]));
        CHECK(ids[i][14] == '4');                         /* version */
        CHECK(strchr("89ab", ids[i][19]) != NULL);        /* variant */
        CHECK(strspn(ids[i], "0123456789abcdef-") == 36); /* lowercase */
    }
    int dup = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            dup += strcmp(ids[i], ids[j]) == 0;
    CHECK_INT(dup, 0);

    CHECK(uuid_valid("123e4567-e89b-12d3-a456-426614174000"));
    CHECK(uuid_valid("123E4567-E89B-12D3-A456-426614174000"));
    CHECK(uuid_valid("00000000-0000-0000-0000-000000000000"));
    CHECK(!uuid_valid(NULL));
    CHECK(!uuid_valid(""));
    CHECK(!uuid_valid("123e4567-e89b-12d3-a456-42661417400"));   /* short */
    CHECK(!uuid_valid("123e4567-e89b-12d3-a456-4266141740000")); /* long */
    CHECK(!uuid_valid("123e4567e89b-12d3-a456-4266141740000"));  /* dash moved */
    CHECK(!uuid_valid("123e4567-e89b-12d3-a456-42661417400g"));  /* not hex */
    CHECK(!uuid_valid("{123e4567-e89b-12d3-a456-426614174000}"));
    CHECK(!uuid_valid("123e4567e89b12d3a456426614174000"));
}

int main(void)
{
    test_b64();
    test_round_trip();
    test_known_vector();
    test_rejections();
    test_uuid();
    return check_summary();
}
