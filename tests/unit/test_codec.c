/*
 * test_codec - unit tests for common/codec.c (JSON <-> msgpack).
 *
 * Covers round trips, the exact msgpack bytes produced, every class of
 * rejected input together with the offset reported for it, and that a failed
 * conversion leaves the caller's buffer as it was. A seeded mutation run at
 * the end feeds damaged input through both directions to catch crashes
 * (under ASan/valgrind) and non-canonical round trips.
 */
#include "codec.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static buf_t g_json; /* output of the last rt() */

/* JSON -> msgpack -> JSON. Returns the final JSON text, or "ERR1: msg" /
 * "ERR2: msg" naming the direction that failed. */
static const char *rt_n(const char *json, size_t len)
{
    buf_t mp = BUF_INIT;
    codec_error_t err;
    buf_reset(&g_json);
    if (codec_json_to_msgpack(json, len, &mp, &err) != 0) {
        buf_printf(&g_json, "ERR1: %s", err.message);
    } else if (codec_msgpack_to_json(mp.data, mp.len, &g_json, &err) != 0) {
        buf_reset(&g_json);
        buf_printf(&g_json, "ERR2: %s", err.message);
    }
    buf_free(&mp);
    return g_json.data ? g_json.data : "";
}

static const char *rt(const char *json)
{
    return rt_n(json, strlen(json));
}

static void dump(const char *label, const void *data, size_t len)
{
    const unsigned char *b = data;
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < len; i++)
        fprintf(stderr, " %02x", b[i]);
    fputc('\n', stderr);
}

/* True if json converts to exactly the msgpack bytes want[0..n). */
static bool packs_to(const char *json, const void *want, size_t n)
{
    buf_t mp = BUF_INIT;
    codec_error_t err;
    bool ok = codec_json_to_msgpack(json, strlen(json), &mp, &err) == 0 && mp.len == n &&
              memcmp(mp.data, want, n) == 0;
    if (!ok) {
        fprintf(stderr, "packs_to(%s) mismatch\n", json);
        dump("got ", mp.data, mp.len);
        dump("want", want, n);
    }
    buf_free(&mp);
    return ok;
}

/* True if msgpack bytes data[0..n) convert to JSON text want. */
static bool unpacks_to(const void *data, size_t n, const char *want)
{
    buf_t out = BUF_INIT;
    codec_error_t err;
    int rc = codec_msgpack_to_json(data, n, &out, &err);
    bool ok = rc == 0 && out.data && strcmp(out.data, want) == 0;
    if (!ok) {
        fprintf(stderr, "unpacks_to: got %s, want %s\n",
                rc ? err.message : (out.data ? out.data : ""), want);
        dump("input", data, n);
    }
    buf_free(&out);
    return ok;
}

static const char PREFIX[] = "prior content";

/* Sets up a buffer holding PREFIX, as if the caller had written to it. */
static void prefill(buf_t *b)
{
    buf_append(b, PREFIX, sizeof PREFIX - 1);
}

/* True if the buffer still holds exactly PREFIX after a failed call. */
static bool still_prefix(const buf_t *b)
{
    return b->len == sizeof PREFIX - 1 && memcmp(b->data, PREFIX, b->len) == 0 &&
           b->data[b->len] == '\0';
}

/* True if JSON input json[0..len) is rejected with a message containing
 * `want` at byte offset `offset`, leaving the output buffer as it was. */
static bool json_fails_n(const char *json, size_t len, const char *want, size_t offset)
{
    buf_t out = BUF_INIT;
    prefill(&out);
    codec_error_t err = {0};
    int rc = codec_json_to_msgpack(json, len, &out, &err);
    bool ok = rc == -1 && strstr(err.message, want) && err.offset == offset && still_prefix(&out);
    if (!ok)
        fprintf(stderr, "json_fails(%.*s): rc=%d msg=\"%s\" offset=%zu (want \"%s\" at %zu)%s\n",
                (int)len, json, rc, err.message, err.offset, want, offset,
                still_prefix(&out) ? "" : " [out modified]");
    buf_free(&out);
    return ok;
}

static bool json_fails(const char *json, const char *want, size_t offset)
{
    return json_fails_n(json, strlen(json), want, offset);
}

/* Like json_fails_n, for msgpack input. */
static bool mp_fails(const void *data, size_t len, const char *want, size_t offset)
{
    buf_t out = BUF_INIT;
    prefill(&out);
    codec_error_t err = {0};
    int rc = codec_msgpack_to_json(data, len, &out, &err);
    bool ok = rc == -1 && strstr(err.message, want) && err.offset == offset && err.line == 0 &&
              err.column == 0 && still_prefix(&out);
    if (!ok) {
        fprintf(stderr, "mp_fails: rc=%d msg=\"%s\" offset=%zu (want \"%s\" at %zu)%s\n", rc,
                err.message, err.offset, want, offset, still_prefix(&out) ? "" : " [out modified]");
        dump("input", data, len);
    }
    buf_free(&out);
    return ok;
}

static void test_scalars(void)
{
    CHECK_STR(rt("null"), "null");
    CHECK_STR(rt("true"), "true");
    CHECK_STR(rt("false"), "false");
    CHECK_STR(rt("0"), "0");
    CHECK_STR(rt("-0"), "0");
    CHECK_STR(rt("42"), "42");
    CHECK_STR(rt("-17"), "-17");
    CHECK_STR(rt("\"abc\""), "\"abc\"");
    CHECK_STR(rt("\"\""), "\"\"");
    CHECK_STR(rt(" \t\r\n 7 \r\n\t "), "7");

    CHECK(packs_to("null", "\xc0", 1));
    CHECK(packs_to("true", "\xc3", 1));
    CHECK(packs_to("false", "\xc2", 1));
    CHECK(packs_to("127", "\x7f", 1));
    CHECK(packs_to("128", "\xcc\x80", 2));
    CHECK(packs_to("-1", "\xff", 1));
    CHECK(packs_to("-33", "\xd0\xdf", 2));
    CHECK(packs_to("\"hi\"", "\xa2hi", 3));
    CHECK(packs_to("\"\"", "\xa0", 1));
}

static void test_floats(void)
{
    CHECK_STR(rt("1.5"), "1.5");
    CHECK_STR(rt("0.1"), "0.1");
    CHECK_STR(rt("-2.25"), "-2.25");
    CHECK_STR(rt("1e300"), "1e+300");
    CHECK_STR(rt("1E2"), "100.0");
    CHECK_STR(rt("100.0"), "100.0");
    CHECK_STR(rt("2.5e-3"), "0.0025");
    CHECK_STR(rt("1e-7"), "1e-07");
    CHECK_STR(rt("-0.0"), "-0.0");
    CHECK_STR(rt("0.30000000000000004"), "0.30000000000000004");
    CHECK_STR(rt("1.7976931348623157e308"), "1.7976931348623157e+308");
    CHECK_STR(rt("123456789012345678901234567890.0"), "1.2345678901234568e+29");
    /* Too small for a double: rounds to zero (not an error, nothing is lost
     * that a double could have held). */
    CHECK_STR(rt("1e-400"), "0.0");

    /* A long mantissa is copied to a heap buffer before strtod. */
    char longnum[300] = "0.";
    memset(longnum + 2, '0', 200);
    strcpy(longnum + 202, "15");
    CHECK_STR(rt(longnum), "1.5e-201");

    /* The smallest subnormal still reads back to the same double. */
    const char *tiny = rt("5e-324");
    CHECK(strtod(tiny, NULL) == 5e-324);

    CHECK(packs_to("1.5", "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", 9));
    CHECK(packs_to("-0.0", "\xcb\x80\x00\x00\x00\x00\x00\x00\x00", 9));

    /* float32 is printed at float precision. */
    CHECK(unpacks_to("\xca\x3d\xcc\xcc\xcd", 5, "0.1"));
    CHECK(unpacks_to("\xca\x3f\xc0\x00\x00", 5, "1.5"));
    CHECK(unpacks_to("\xca\x42\xc8\x00\x00", 5, "100.0"));
    CHECK(unpacks_to("\xca\x80\x00\x00\x00", 5, "-0.0"));
    CHECK(unpacks_to("\xcb\x40\x59\x00\x00\x00\x00\x00\x00", 9, "100.0"));
}

static void test_integers(void)
{
    CHECK_STR(rt("9223372036854775807"), "9223372036854775807");
    CHECK_STR(rt("-9223372036854775808"), "-9223372036854775808");
    CHECK_STR(rt("18446744073709551615"), "18446744073709551615");
    CHECK_STR(rt("4294967296"), "4294967296");
    CHECK_STR(rt("-2147483649"), "-2147483649");

    CHECK(packs_to("18446744073709551615", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9));
    CHECK(packs_to("9223372036854775807", "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 9));
    CHECK(packs_to("-9223372036854775808", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9));
    CHECK(packs_to("65536", "\xce\x00\x01\x00\x00", 5));

    CHECK(json_fails("18446744073709551616", "integer out of range", 0));
    CHECK(json_fails("-9223372036854775809", "integer out of range", 0));
    CHECK(json_fails("[1, 99999999999999999999999]", "integer out of range", 4));
    /* The same magnitudes are fine as floats: the author asked for one. */
    CHECK_STR(rt("18446744073709551616.0"), "1.8446744073709552e+19");

    /* Other encodings of integers from msgpack producers. */
    CHECK(unpacks_to("\xd0\x05", 2, "5"));
    CHECK(unpacks_to("\xd3\xff\xff\xff\xff\xff\xff\xff\xff", 9, "-1"));
    CHECK(unpacks_to("\xcd\x01\x00", 3, "256"));
}

static void test_containers(void)
{
    CHECK_STR(rt("{}"), "{}");
    CHECK_STR(rt("[]"), "[]");
    CHECK_STR(rt("[ ]"), "[]");
    CHECK_STR(rt("{ }"), "{}");
    CHECK_STR(rt("[[],{},[[]]]"), "[[],{},[[]]]");
    CHECK_STR(rt("{ \"a\" : [ 1 , { \"b\" : null } ] , \"c\" : { \"d\" : [ ] } }"),
              "{\"a\":[1,{\"b\":null}],\"c\":{\"d\":[]}}");
    CHECK_STR(rt("{\"order\":{\"id\":\"o-1\",\"lines\":[{\"sku\":\"A\",\"qty\":2,\"paise\":"
                 "19900}],\"paid\":false}}"),
              "{\"order\":{\"id\":\"o-1\",\"lines\":[{\"sku\":\"A\",\"qty\":2,\"paise\":19900}],"
              "\"paid\":false}}");

    CHECK(packs_to("{\"a\":1}",
                   "\x81\xa1"
                   "a"
                   "\x01",
                   4));
    CHECK(packs_to("[1,[2]]", "\x92\x01\x91\x02", 4));
    CHECK(packs_to("{}", "\x80", 1));
    CHECK(packs_to("[]", "\x90", 1));

    /* 15 elements still fit a fixarray; 16 need array16, so the already
     * packed elements are moved up to make room for the wider header. */
    CHECK(packs_to("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]",
                   "\x9f\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", 16));
    CHECK(packs_to("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]",
                   "\xdc\x00\x10\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10",
                   19));

    /* Nested widening: an outer array16 holding objects that need map16,
     * inside another array. */
    buf_t big = BUF_INIT;
    buf_append_str(&big, "[[");
    for (int i = 0; i < 17; i++) {
        buf_append_str(&big, i ? ",{" : "{");
        for (int k = 0; k < 16; k++)
            buf_printf(&big, "%s\"k%d\":%d", k ? "," : "", k, i * 100 + k);
        buf_append_char(&big, '}');
    }
    buf_append_str(&big, "],\"tail\"]");
    CHECK_STR(rt(big.data), big.data);
    buf_t mp = BUF_INIT;
    CHECK_INT(codec_json_to_msgpack(big.data, big.len, &mp, NULL), 0);
    CHECK_INT((unsigned char)mp.data[0], 0x92);
    CHECK_INT((unsigned char)mp.data[1], 0xdc);
    CHECK_INT((unsigned char)mp.data[3], 17);
    CHECK_INT((unsigned char)mp.data[4], 0xde);
    CHECK_INT((unsigned char)mp.data[6], 16);
    CHECK(memcmp(mp.data + mp.len - 5, "\xa4tail", 5) == 0);
    buf_free(&mp);
    buf_free(&big);

    /* 65536 elements need an array32 header. */
    buf_append_char(&big, '[');
    for (int i = 0; i < 65536; i++)
        buf_append_str(&big, i ? ",0" : "0");
    buf_append_char(&big, ']');
    CHECK_INT(codec_json_to_msgpack(big.data, big.len, &mp, NULL), 0);
    CHECK_INT(mp.len, 5 + 65536);
    CHECK(memcmp(mp.data, "\xdd\x00\x01\x00\x00\x00\x00", 7) == 0);
    CHECK_STR(rt_n(big.data, big.len), big.data);
    buf_free(&mp);
    buf_free(&big);
}

static void test_strings(void)
{
    CHECK_STR(rt("\"नमस्ते\""), "\"नमस्ते\"");
    CHECK_STR(rt("\"₹ 499\""), "\"₹ 499\"");
    CHECK_STR(rt("\"\\u20b9\""), "\"₹\"");
    CHECK_STR(rt("\"\\u00E9\""), "\"é\"");
    CHECK_STR(rt("\"\\ud83d\\ude00\""), "\"\xf0\x9f\x98\x80\"");
    CHECK_STR(rt("\"\\uD83D\\uDE00!\""), "\"😀!\"");
    CHECK(packs_to("\"\\ud83d\\ude00\"", "\xa4\xf0\x9f\x98\x80", 5));
    CHECK(packs_to("\"\xf4\x8f\xbf\xbf\"", "\xa4\xf4\x8f\xbf\xbf", 5)); /* U+10FFFF */

    CHECK_STR(rt("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""), "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\"");
    CHECK_STR(rt("\"x\\u0001\\u001fy\""), "\"x\\u0001\\u001fy\"");
    CHECK_STR(rt("\"\\u0000\""), "\"\\u0000\"");
    CHECK(packs_to("\"\\u0000\"", "\xa1\x00", 2));
    CHECK_STR(rt("\"\x7f\""), "\"\x7f\"");
    /* Line/paragraph separators are escaped whether they came in raw or
     * escaped. */
    CHECK_STR(rt("\"\\u2028\""), "\"\\u2028\"");
    CHECK_STR(rt("\"a\xe2\x80\xa9"
                 "b\""),
              "\"a\\u2029b\"");
    CHECK(packs_to("\"a\\nb\"",
                   "\xa3"
                   "a\nb",
                   4));

    /* A string past 31 bytes uses str8; escapes in a long string. */
    char longstr[80];
    memset(longstr, 'x', sizeof longstr);
    longstr[0] = '"';
    memcpy(longstr + 40, "\\n", 2);
    longstr[78] = '"';
    longstr[79] = '\0';
    buf_t mp = BUF_INIT;
    CHECK_INT(codec_json_to_msgpack(longstr, strlen(longstr), &mp, NULL), 0);
    CHECK_INT((unsigned char)mp.data[0], 0xd9);
    CHECK_INT((unsigned char)mp.data[1], 76);
    CHECK_INT(mp.data[2 + 39], '\n');
    CHECK_STR(rt(longstr), longstr);
    buf_free(&mp);

    /* Keys with escapes. */
    CHECK_STR(rt("{\"\\u0041\\n\":1}"), "{\"A\\n\":1}");
}

static void test_json_string(void)
{
    buf_t b = BUF_INIT;
    codec_json_string(&b, "a\"b\\c\n\x01\xe2\x80\xa8₹", strlen("a\"b\\c\n\x01\xe2\x80\xa8₹"));
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\\u2028₹\"");
    buf_reset(&b);
    codec_json_string(&b, NULL, 0);
    CHECK_STR(b.data, "\"\"");
    buf_reset(&b);
    /* Garbage bytes still yield valid JSON: each becomes U+FFFD. */
    codec_json_string(&b,
                      "a\xff"
                      "b\xc3",
                      4);
    CHECK_STR(b.data, "\"a\xef\xbf\xbd"
                      "b\xef\xbf\xbd\"");
    buf_reset(&b);
    /* Appends, never overwrites. */
    buf_append_str(&b, "k=");
    codec_json_string(&b, "v", 1);
    CHECK_STR(b.data, "k=\"v\"");
    buf_free(&b);
}

static void test_depth(void)
{
    enum { D = CODEC_MAX_DEPTH };
    char deep[200], want[80];
    snprintf(want, sizeof want, "nesting deeper than %d levels", D);
    /* D nested arrays are accepted... */
    memset(deep, '[', D);
    memset(deep + D, ']', D);
    deep[2 * D] = '\0';
    buf_t mp = BUF_INIT;
    CHECK_INT(codec_json_to_msgpack(deep, 2 * D, &mp, NULL), 0);
    CHECK_INT(mp.len, D);
    CHECK_INT((unsigned char)mp.data[0], 0x91);
    CHECK_INT((unsigned char)mp.data[D - 2], 0x91);
    CHECK_INT((unsigned char)mp.data[D - 1], 0x90);
    buf_free(&mp);
    /* ... and round-trip; D + 1 are not, and the error points at the extra bracket. */
    CHECK_STR(rt(deep), deep);
    memset(deep, '[', D + 1);
    memset(deep + D + 1, ']', D + 1);
    deep[2 * D + 2] = '\0';
    CHECK(json_fails(deep, want, D));

    /* Same for objects. */
    buf_t obj = BUF_INIT;
    for (int i = 0; i < D; i++)
        buf_append_str(&obj, "{\"a\":");
    buf_append_str(&obj, "1");
    for (int i = 0; i < D; i++)
        buf_append_char(&obj, '}');
    CHECK_INT(codec_json_to_msgpack(obj.data, obj.len, &mp, NULL), 0);
    CHECK_INT(mp.len, D * 3 + 1);
    buf_free(&mp);
    buf_reset(&obj);
    for (int i = 0; i < D + 1; i++)
        buf_append_str(&obj, "{\"a\":");
    buf_append_str(&obj, "1");
    for (int i = 0; i < D + 1; i++)
        buf_append_char(&obj, '}');
    CHECK(json_fails(obj.data, want, D * 5));
    buf_free(&obj);

    /* libmsgpackc unpacks at most 32 levels; deeper msgpack is refused cleanly. */
    char mp_deep[40];
    memset(mp_deep, 0x91, 33);
    mp_deep[33] = (char)0x90;
    buf_t out = BUF_INIT;
    codec_error_t err;
    CHECK_INT(codec_msgpack_to_json(mp_deep, 34, &out, &err), -1);
    CHECK(strstr(err.message, "nested too deeply") != NULL);
    buf_reset(&out);

    /* An already-unpacked object is limited by CODEC_MAX_DEPTH too. */
    msgpack_object nest[D + 1];
    for (int i = 0; i < D + 1; i++) {
        nest[i].type = MSGPACK_OBJECT_ARRAY;
        nest[i].via.array.size = i < D ? 1 : 0;
        nest[i].via.array.ptr = i < D ? &nest[i + 1] : NULL;
    }
    CHECK_INT(codec_object_to_json(&nest[1], &out, &err), 0); /* D levels */
    CHECK_INT(out.len, 2 * D);
    CHECK_INT(out.data[D - 1], '[');
    CHECK_INT(out.data[D], ']');
    buf_reset(&out);
    CHECK_INT(codec_object_to_json(&nest[0], &out, &err), -1); /* D + 1 levels */
    CHECK(strstr(err.message, want) != NULL);
    CHECK_INT(out.len, 0);
    buf_free(&out);
}

static void test_json_errors(void)
{
    /* Trailing garbage. */
    CHECK(json_fails("{\"a\":1} x", "unexpected character 'x' after the JSON value", 8));
    CHECK(json_fails("[1] [2]", "unexpected character '[' after the JSON value", 4));
    CHECK(json_fails("truex", "unexpected character 'x' after the JSON value", 4));
    CHECK(json_fails("0x10", "unexpected character 'x' after the JSON value", 1));
    CHECK(json_fails_n("[1]\0", 4, "unexpected character U+0000 after the JSON value", 3));

    /* Strings. */
    CHECK(json_fails("{\"a\":\"abc", "unterminated string", 5));
    CHECK(json_fails("\"abc\\", "unterminated string", 0));
    CHECK(json_fails("\"abc\\\"", "unterminated string", 0));
    CHECK(json_fails("\"a\\qb\"", "invalid escape: '\\' followed by character 'q'", 2));
    CHECK(json_fails("\"a\\\x01\"", "invalid escape: '\\' followed by character U+0001", 2));
    CHECK(json_fails("\"\\u12G4\"", "invalid \\u escape", 1));
    CHECK(json_fails("\"\\u12\"", "invalid \\u escape", 1));
    CHECK(json_fails("\"\\u12", "invalid \\u escape", 1));
    CHECK(json_fails("\"\\ud800\"", "lone surrogate in \\u escape", 1));
    CHECK(json_fails("\"ab\\udc00\"", "lone surrogate in \\u escape", 3));
    CHECK(json_fails("\"\\ud83dx\"", "lone surrogate in \\u escape", 1));
    CHECK(json_fails("\"\\ud83d\\u0041\"", "lone surrogate in \\u escape", 1));
    CHECK(json_fails("\"\\ud83d\\ud83d\"", "lone surrogate in \\u escape", 1));
    CHECK(json_fails("\"\\ud83d\\uZZZZ\"", "invalid \\u escape", 7));
    CHECK(json_fails("\"a\nb\"", "control character U+000A in string must be escaped", 2));
    CHECK(json_fails("\"\t\"", "control character U+0009", 1));
    CHECK(json_fails("{\"k\x1f\":1}", "control character U+001F", 3));

    /* Invalid UTF-8: garbage, overlong forms, encoded surrogates, past
     * U+10FFFF, truncated sequences, stray continuation bytes. */
    CHECK(json_fails("\"a\xff\"", "invalid UTF-8 in string", 2));
    CHECK(json_fails("\"\xc0\xaf\"", "invalid UTF-8 in string", 1));
    CHECK(json_fails("\"\xc1\xbf\"", "invalid UTF-8 in string", 1));
    CHECK(json_fails("\"\xe0\x80\xaf\"", "invalid UTF-8 in string", 1));
    CHECK(json_fails("\"\xf0\x80\x80\xaf\"", "invalid UTF-8 in string", 1));
    CHECK(json_fails("\"\xed\xa0\x80\"", "invalid UTF-8 in string", 1));
    CHECK(json_fails("\"\xf4\x90\x80\x80\"", "invalid UTF-8 in string", 1));
    CHECK(json_fails("\"\xf5\x80\x80\x80\"", "invalid UTF-8 in string", 1));
    CHECK(json_fails("\"ok\xe2\x82\"", "invalid UTF-8 in string", 3));
    CHECK(json_fails("\"\x80\"", "invalid UTF-8 in string", 1));
    CHECK(json_fails("\"\xe2\x82", "invalid UTF-8 in string", 1));
    CHECK(json_fails("[\xff]", "unexpected byte 0xFF", 1));

    /* Numbers. */
    CHECK(json_fails("01", "leading zeros are not allowed", 0));
    CHECK(json_fails("-012", "leading zeros are not allowed", 1));
    CHECK(json_fails("[00]", "leading zeros are not allowed", 1));
    CHECK(json_fails("+1", "unexpected character '+'", 0));
    CHECK(json_fails(".5", "unexpected character '.'", 0));
    CHECK(json_fails("1.", "expected a digit after '.'", 2));
    CHECK(json_fails("1.e5", "expected a digit after '.'", 2));
    CHECK(json_fails("1e", "expected a digit in the exponent", 2));
    CHECK(json_fails("1e+", "expected a digit in the exponent", 3));
    CHECK(json_fails("-", "expected a digit after '-'", 1));
    CHECK(json_fails("-a", "expected a digit after '-'", 1));
    CHECK(json_fails("1e400", "number out of range", 0));
    CHECK(json_fails("[-1.5e99999]", "number out of range", 1));
    CHECK(json_fails("NaN", "unexpected character 'N'", 0));
    CHECK(json_fails("-NaN", "expected a digit after '-'", 1));
    CHECK(json_fails("Infinity", "unexpected character 'I'", 0));
    CHECK(json_fails("nan", "invalid literal, expected 'null'", 0));
    CHECK(json_fails("tru", "invalid literal, expected 'true'", 0));
    CHECK(json_fails("[fals]", "invalid literal, expected 'false'", 1));

    /* Structure. */
    CHECK(json_fails("[1,2,]", "trailing comma in array", 5));
    CHECK(json_fails("{\"a\":1,}", "trailing comma in object", 7));
    CHECK(json_fails("{\"a\" 1}", "expected ':' after object key, found character '1'", 5));
    CHECK(json_fails("{\"a\"", "expected ':' after object key, found end of input", 4));
    CHECK(json_fails("{\"a\":1 \"b\":2}", "expected ',' or '}' after object member", 7));
    CHECK(json_fails("{\"a\":1", "expected ',' or '}' after object member, found end of input", 6));
    CHECK(json_fails("[1 2]", "expected ',' or ']' after array element, found character '2'", 3));
    CHECK(json_fails("{1:2}", "expected a string key or '}', found character '1'", 1));
    CHECK(json_fails("{\"a\":1,2:3}", "expected a string key after ','", 7));
    CHECK(json_fails("{'a':1}", "found character '''", 1));
    CHECK(json_fails("{\"a\":}", "unexpected character '}'", 5));
    CHECK(json_fails("[", "unexpected end of input, expected a value", 1));
    CHECK(json_fails("[,1]", "unexpected character ','", 1));
    CHECK(json_fails("[1,,2]", "unexpected character ','", 3));
    CHECK(json_fails("]", "unexpected character ']'", 0));
    CHECK(json_fails("₹", "unexpected character '₹'", 0));

    /* Empty bodies. */
    CHECK(json_fails("", "empty body", 0));
    CHECK(json_fails(" \r\n\t ", "empty body", 5));
    CHECK(json_fails_n(NULL, 0, "empty body", 0));

    /* Duplicate keys, including ones spelled differently. */
    CHECK(json_fails("{\"a\":1,\"b\":2,\"a\":3}", "duplicate key \"a\"", 13));
    CHECK(json_fails("{\"é\":1,\"\\u00e9\":2}", "duplicate key \"é\"", 8));
    CHECK(json_fails("{\"\":1,\"\":2}", "duplicate key \"\"", 6));
    CHECK(json_fails("{\"x\":{\"k\\n\":1,\"k\\u000a\":2}}", "duplicate key \"k\\n\"", 14));
    /* Same key in different objects, or in an object and its child, is fine. */
    CHECK_STR(rt("{\"a\":{\"a\":1},\"b\":{\"a\":2},\"c\":[{\"a\":3},{\"a\":4}]}"),
              "{\"a\":{\"a\":1},\"b\":{\"a\":2},\"c\":[{\"a\":3},{\"a\":4}]}");
    /* Long duplicate keys are cut short in the message. */
    buf_t lk = BUF_INIT;
    char key[201];
    memset(key, 'k', 200);
    key[200] = '\0';
    buf_printf(&lk, "{\"%s\":1,\"%s\":2}", key, key);
    CHECK(json_fails(lk.data, "duplicate key \"kkkk", 206));
    codec_error_t err;
    buf_t mp = BUF_INIT;
    CHECK_INT(codec_json_to_msgpack(lk.data, lk.len, &mp, &err), -1);
    CHECK(strstr(err.message, "\"...") != NULL);
    CHECK(strlen(err.message) < sizeof err.message - 1);
    buf_free(&lk);

    /* Many keys in one object (grows the key table off its inline slots);
     * then the same with a duplicate at the very end. */
    buf_append_char(&lk, '{');
    for (int i = 0; i < 2000; i++)
        buf_printf(&lk, "%s\"key%d\":%d", i ? "," : "", i, i);
    buf_append_char(&lk, '}');
    CHECK_STR(rt(lk.data), lk.data);
    lk.len--;
    size_t dup_at = lk.len + 1;
    buf_append_str(&lk, ",\"key1234\":0}");
    CHECK(json_fails(lk.data, "duplicate key \"key1234\"", dup_at));
    buf_free(&lk);

    /* Around LINEAR_KEYS (16), where an object's keys move from a linear
     * run into the hash set: duplicates are caught on either side, and
     * equal keys in sibling or nested large objects are not confused. */
    for (int n = 14; n <= 19; n++) {
        buf_reset(&lk);
        buf_append_char(&lk, '{');
        for (int i = 0; i < n; i++)
            buf_printf(&lk, "\"k%d\":%d,", i, i);
        size_t at = lk.len;
        buf_append_str(&lk, "\"k3\":0}");
        CHECK(json_fails(lk.data, "duplicate key \"k3\"", at));
    }
    buf_reset(&lk);
    buf_append_str(&lk, "{");
    for (int i = 0; i < 20; i++) {
        buf_printf(&lk, "\"k%d\":", i);
        if (i == 10) {
            buf_append_str(&lk, "[{");
            for (int j = 0; j < 20; j++)
                buf_printf(&lk, "%s\"k%d\":%d", j ? "," : "", j, j);
            buf_append_str(&lk, "},{");
            for (int j = 0; j < 20; j++)
                buf_printf(&lk, "%s\"k%d\":%d", j ? "," : "", j, j);
            buf_append_str(&lk, "}],");
        } else {
            buf_printf(&lk, "%d,", i);
        }
    }
    lk.data[--lk.len] = '\0';
    buf_append_char(&lk, '}');
    CHECK_STR(rt(lk.data), lk.data);
    lk.data[--lk.len] = '\0';
    size_t dup15 = lk.len + 1;
    buf_append_str(&lk, ",\"k15\":1}");
    CHECK(json_fails(lk.data, "duplicate key \"k15\"", dup15));
    buf_free(&lk);

    /* err may be NULL. */
    CHECK_INT(codec_json_to_msgpack("x", 1, &mp, NULL), -1);
    CHECK_INT(mp.len, 0);
    buf_free(&mp);
}

static void test_json_positions(void)
{
    codec_error_t err;
    buf_t mp = BUF_INIT;
    const char *j = "[1,\n 2,\n x]";
    CHECK_INT(codec_json_to_msgpack(j, strlen(j), &mp, &err), -1);
    CHECK_INT(err.offset, 9);
    CHECK_INT(err.line, 3);
    CHECK_INT(err.column, 2);

    /* Columns count characters: "₹" is three bytes but one column. */
    j = "[\"₹\", x]";
    CHECK_INT(codec_json_to_msgpack(j, strlen(j), &mp, &err), -1);
    CHECK_INT(err.offset, 8);
    CHECK_INT(err.line, 1);
    CHECK_INT(err.column, 7);

    j = "{\r\n  \"a\": 1,\r\n  \"a\": 2\r\n}";
    CHECK_INT(codec_json_to_msgpack(j, strlen(j), &mp, &err), -1);
    CHECK_STR(err.message, "duplicate key \"a\"");
    CHECK_INT(err.offset, 16);
    CHECK_INT(err.line, 3);
    CHECK_INT(err.column, 3);

    CHECK_INT(codec_json_to_msgpack("", 0, &mp, &err), -1);
    CHECK_INT(err.line, 1);
    CHECK_INT(err.column, 1);
    CHECK_INT(mp.len, 0);
    buf_free(&mp);
}

static void test_msgpack_errors(void)
{
    CHECK(mp_fails("\xc4\x02"
                   "ab",
                   4, "binary data cannot be represented as JSON", 0));
    CHECK(mp_fails("\x92\x01\xc4\x01\x00", 5, "binary data cannot be represented as JSON", 2));
    CHECK(mp_fails("\xd4\x01\x00", 3, "extension type 1 cannot be represented", 0));
    CHECK(mp_fails("\x91\xc7\x01\x05\x00", 5, "extension type 5 cannot be represented", 1));
    CHECK(mp_fails("\x81\x01\x02", 3, "map key must be a string, found integer", 1));
    CHECK(mp_fails("\x82\xa1"
                   "a"
                   "\x01\xc0\x02",
                   6, "map key must be a string, found nil", 4));
    CHECK(mp_fails("\x81\x90\x01", 3, "map key must be a string, found array", 1));
    CHECK(mp_fails("\x81\xc4\x01"
                   "a"
                   "\x01",
                   5, "map key must be a string, found binary", 1));

    /* Truncated anywhere: in an array, in a string body, in a header. */
    CHECK(mp_fails("\x92\x01", 2, "truncated msgpack data", 2));
    CHECK(mp_fails("\xa5"
                   "ab",
                   3, "truncated msgpack data", 3));
    CHECK(mp_fails("\xcd\x01", 2, "truncated msgpack data", 2));
    CHECK(mp_fails("\xdb\x00\x00", 3, "truncated msgpack data", 3));
    /* A header announcing 2^32-1 elements in five bytes is refused before
     * msgpack-c would try to allocate room for them all. */
    CHECK(mp_fails("\xdd\xff\xff\xff\xff", 5, "truncated msgpack data", 5));
    CHECK(mp_fails("\xdf\xff\xff\xff\xff\x01", 6, "truncated msgpack data", 6));
    CHECK(mp_fails("", 0, "empty input", 0));

    CHECK(mp_fails("\x01\x02", 2, "trailing data", 1));
    CHECK(mp_fails("\x91\x01\xc0", 3, "trailing data", 2));
    CHECK(mp_fails("\xc1", 1, "invalid msgpack data", 0));
    CHECK(mp_fails("\x92\x01\xc1", 3, "invalid msgpack data", 2));

    CHECK(mp_fails("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", 9, "NaN cannot be represented", 0));
    CHECK(mp_fails("\x91\xcb\xff\xf0\x00\x00\x00\x00\x00\x00", 10, "infinity cannot be", 1));
    CHECK(mp_fails("\xca\x7f\xc0\x00\x00", 5, "NaN cannot be represented", 0));
    CHECK(mp_fails("\xca\x7f\x80\x00\x00", 5, "infinity cannot be", 0));

    /* Strings must be UTF-8; the offset is that of the bad byte itself. */
    CHECK(mp_fails("\xa2\xc3\x28", 3, "invalid UTF-8 in string", 1));
    CHECK(mp_fails("\x81\xa1"
                   "a"
                   "\xa2"
                   "b\xff",
                   6, "invalid UTF-8 in string", 5));
    CHECK(mp_fails("\x81\xa1\x80\x01", 4, "invalid UTF-8 in string", 2));
    CHECK(mp_fails("\xa3\xed\xa0\x80", 4, "invalid UTF-8 in string", 1));

    /* Every proper prefix of a valid message is rejected without a crash. */
    static const unsigned char msg[] = {
        0x83, 0xa2, 'i',  'd',  0xcd, 0x01, 0x00, 0xa5, 'l', 'i', 'n', 'e',  's', 0x92, 0x81, 0xa1,
        'q',  0x02, 0xcb, 0x3f, 0xf8, 0,    0,    0,    0,   0,   0,   0xa3, 'e', 'n',  'd',  0xc3};
    CHECK(unpacks_to(msg, sizeof msg, "{\"id\":256,\"lines\":[{\"q\":2},1.5],\"end\":true}"));
    int prefix_failures = 0;
    for (size_t n = 0; n < sizeof msg; n++) {
        buf_t out = BUF_INIT;
        codec_error_t err;
        if (codec_msgpack_to_json((const char *)msg, n, &out, &err) != -1 || out.len != 0)
            prefix_failures++;
        buf_free(&out);
    }
    CHECK_INT(prefix_failures, 0);

    /* codec_object_to_json on objects that were never packed: no offsets. */
    msgpack_object bin = {.type = MSGPACK_OBJECT_BIN};
    bin.via.bin.size = 1;
    bin.via.bin.ptr = "x";
    buf_t out = BUF_INIT;
    prefill(&out);
    codec_error_t err;
    CHECK_INT(codec_object_to_json(&bin, &out, &err), -1);
    CHECK_STR(err.message, "binary data cannot be represented as JSON");
    CHECK_INT(err.offset, 0);
    CHECK(still_prefix(&out));
    buf_free(&out);
}

static void test_object_to_json(void)
{
    msgpack_object items[4];
    items[0].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    items[0].via.u64 = 1;
    items[1].type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    items[1].via.i64 = -2;
    items[2].type = MSGPACK_OBJECT_BOOLEAN;
    items[2].via.boolean = true;
    items[3].type = MSGPACK_OBJECT_NIL;
    msgpack_object_kv kv[2];
    kv[0].key.type = MSGPACK_OBJECT_STR;
    kv[0].key.via.str.ptr = "k";
    kv[0].key.via.str.size = 1;
    kv[0].val.type = MSGPACK_OBJECT_ARRAY;
    kv[0].val.via.array.size = 4;
    kv[0].val.via.array.ptr = items;
    kv[1].key.type = MSGPACK_OBJECT_STR;
    kv[1].key.via.str.ptr = "f\"";
    kv[1].key.via.str.size = 2;
    kv[1].val.type = MSGPACK_OBJECT_FLOAT64;
    kv[1].val.via.f64 = 0.25;
    msgpack_object map = {.type = MSGPACK_OBJECT_MAP};
    map.via.map.size = 2;
    map.via.map.ptr = kv;

    buf_t out = BUF_INIT;
    buf_append_str(&out, "x=");
    CHECK_INT(codec_object_to_json(&map, &out, NULL), 0);
    CHECK_STR(out.data, "x={\"k\":[1,-2,true,null],\"f\\\"\":0.25}");

    /* Unrepresentable content deep inside: the partial output is removed. */
    kv[1].val.via.f64 = NAN;
    buf_reset(&out);
    prefill(&out);
    codec_error_t err;
    CHECK_INT(codec_object_to_json(&map, &out, &err), -1);
    CHECK_STR(err.message, "NaN cannot be represented as JSON");
    CHECK(still_prefix(&out));
    buf_free(&out);
}

/* The first bytes of out must be unchanged by a successful call too. */
static void test_appends(void)
{
    buf_t out = BUF_INIT;
    prefill(&out);
    CHECK_INT(codec_json_to_msgpack("{\"a\":1}", 7, &out, NULL), 0);
    CHECK_INT(out.len, sizeof PREFIX - 1 + 4);
    CHECK(memcmp(out.data, PREFIX, sizeof PREFIX - 1) == 0);
    CHECK(memcmp(out.data + sizeof PREFIX - 1,
                 "\x81\xa1"
                 "a\x01",
                 4) == 0);

    /* Header widening must move only this value's bytes, not the prefix. */
    buf_reset(&out);
    prefill(&out);
    const char *j = "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]";
    CHECK_INT(codec_json_to_msgpack(j, strlen(j), &out, NULL), 0);
    CHECK(memcmp(out.data, PREFIX, sizeof PREFIX - 1) == 0);
    CHECK(memcmp(out.data + sizeof PREFIX - 1, "\xdc\x00\x11", 3) == 0);
    CHECK_INT(out.len, sizeof PREFIX - 1 + 3 + 17);

    buf_t json = BUF_INIT;
    prefill(&json);
    CHECK_INT(codec_msgpack_to_json("\x91\x2a", 2, &json, NULL), 0);
    CHECK_STR(json.data, "prior content[42]");
    buf_free(&json);
    buf_free(&out);
}

/* Deterministic xorshift, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Damages a valid document at random and checks that whatever is accepted
 * round-trips canonically: JSON -> msgpack -> JSON -> msgpack gives the same
 * bytes twice. Random bytes go through msgpack -> JSON as well; ASan and
 * valgrind do the rest. */
static void test_mutations(void)
{
    static const char base[] =
        "{\"id\":\"o-42\",\"amount\":19900,\"neg\":-7,\"rate\":0.125,\"tags\":[\"₹\",\"\\u00e9\","
        "\"\\ud83d\\ude00\",null,true,false],\"nested\":{\"a\":[[],{}],\"b\":1e10}}";
    const char alphabet[] = "{}[]\",:\\u0123456789.eE+-tfn \x01\xc3\xa9\xff\xed";
    int bad_round_trips = 0, accepted = 0, crashes_would_show = 0;
    char doc[sizeof base + 8];
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(doc, base, sizeof base);
        size_t len = sizeof base - 1;
        int edits = 1 + (int)(rng() % 3);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = (size_t)(rng() % len);
            switch (rng() % 3) {
            case 0: /* overwrite */
                doc[at] = alphabet[rng() % (sizeof alphabet - 1)];
                break;
            case 1: /* delete */
                memmove(doc + at, doc + at + 1, len - at);
                len--;
                break;
            default: /* truncate */
                len = at;
                break;
            }
        }
        buf_t mp = BUF_INIT, json = BUF_INIT, mp2 = BUF_INIT;
        codec_error_t err;
        if (codec_json_to_msgpack(doc, len, &mp, &err) == 0) {
            accepted++;
            if (codec_msgpack_to_json(mp.data, mp.len, &json, &err) != 0 ||
                codec_json_to_msgpack(json.data, json.len, &mp2, &err) != 0 || mp.len != mp2.len ||
                memcmp(mp.data, mp2.data, mp.len) != 0) {
                bad_round_trips++;
                fprintf(stderr, "round trip broke for: %.*s\n", (int)len, doc);
            }
        } else if (err.offset > len || err.message[0] == '\0') {
            crashes_would_show++;
        }
        /* The same bytes, read as msgpack. */
        buf_reset(&json);
        if (codec_msgpack_to_json(doc, len, &json, &err) != 0 && (err.offset > len || json.len))
            crashes_would_show++;
        buf_free(&mp);
        buf_free(&mp2);
        buf_free(&json);
    }
    CHECK(accepted > 100); /* the run did exercise the success path */
    CHECK_INT(bad_round_trips, 0);
    CHECK_INT(crashes_would_show, 0);

    /* Random msgpack-ish bytes. */
    int odd = 0;
    for (int iter = 0; iter < 20000; iter++) {
        unsigned char bytes[24];
        size_t n = (size_t)(rng() % sizeof bytes);
        for (size_t i = 0; i < n; i++)
            bytes[i] = (unsigned char)rng();
        buf_t json = BUF_INIT;
        codec_error_t err;
        int rc = codec_msgpack_to_json((const char *)bytes, n, &json, &err);
        if (rc == 0) {
            buf_t mp = BUF_INIT;
            /* Whatever was accepted must be JSON this codec reads back,
             * except that msgpack maps are not checked for duplicate keys
             * (which the JSON side then refuses). */
            if (codec_json_to_msgpack(json.data, json.len, &mp, &err) != 0 &&
                strncmp(err.message, "duplicate key", 13) != 0) {
                odd++;
                fprintf(stderr, "unreadable output %s: %s\n", json.data, err.message);
            }
            buf_free(&mp);
        } else if (err.offset > n || json.len != 0) {
            odd++;
        }
        buf_free(&json);
    }
    CHECK_INT(odd, 0);
}

int main(void)
{
    test_scalars();
    test_floats();
    test_integers();
    test_containers();
    test_strings();
    test_json_string();
    test_depth();
    test_json_errors();
    test_json_positions();
    test_msgpack_errors();
    test_object_to_json();
    test_appends();
    test_mutations();
    buf_free(&g_json);
    return check_summary();
}
