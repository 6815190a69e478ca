/*
 * log - one JSON line per event on stderr (see log.h).
 *
 * A line is built in a fixed buffer on the caller's stack: no allocation, no
 * lock, and nothing shared but two values set once by log_init. The buffer
 * is PIPE_BUF bytes because the kernel only promises that writes up to that
 * size reach a pipe whole; longer content is cut, never split across writes.
 */
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"

#define LOG_LINE_MAX PIPE_BUF
/* Bytes kept free so a cut line can still be closed validly:
 * '"' + ',"truncated":true' + '}' + '\n' is 20 bytes. */
#define LOG_TAIL  24
#define LOG_LIMIT (LOG_LINE_MAX - LOG_TAIL)

static char log_process[64] = "mandi";
static log_level_t log_threshold = LOG_INFO;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *process_name)
{
    if (process_name)
        snprintf(log_process, sizeof log_process, "%s", process_name);
    const char *lv = config_get("MANDI_LOG_LEVEL");
    log_threshold = LOG_INFO;
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcasecmp(lv, log_level_names[i]) == 0)
            log_threshold = (log_level_t)i;
    if (strcasecmp(lv, "warning") == 0)
        log_threshold = LOG_WARN;
}

int log_enabled(log_level_t level)
{
    return level >= log_threshold;
}

typedef struct {
    char data[LOG_LINE_MAX];
    size_t len;
    int truncated;
} log_line_t;

/* Appends n bytes if they fit below `limit`; all or nothing. */
static int log_put(log_line_t *l, const char *s, size_t n, size_t limit)
{
    if (l->len + n > limit)
        return -1;
    memcpy(l->data + l->len, s, n);
    l->len += n;
    return 0;
}

/* Length of a well-formed UTF-8 sequence at s[0..n), or 0. Overlong forms,
 * surrogates and code points above U+10FFFF are not well-formed. */
static size_t log_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* Appends s[0..n) JSON-escaped (without quotes), one character at a time so
 * a cut never splits an escape or a UTF-8 sequence. Invalid UTF-8 becomes
 * U+FFFD: logs carry client input, and one bad byte must not make the whole
 * line unparseable. Returns -1 if it had to stop early. */
static int log_escape(log_line_t *l, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        char esc[8];
        const char *unit = esc;
        size_t ulen, adv = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            ulen = 2;
        } else if (c == '\n') {
            unit = "\\n", ulen = 2;
        } else if (c == '\r') {
            unit = "\\r", ulen = 2;
        } else if (c == '\t') {
            unit = "\\t", ulen = 2;
        } else if (c < 0x20) {
            ulen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
        } else if (c < 0x80) {
            unit = (const char *)s + i, ulen = 1;
        } else if ((adv = log_utf8_len(s + i, n - i)) != 0) {
            unit = (const char *)s + i, ulen = adv;
        } else {
            unit = "\\ufffd", ulen = 6, adv = 1;
        }
        if (log_put(l, unit, ulen, LOG_LIMIT) != 0)
            return -1;
        i += adv;
    }
    return 0;
}

/* Appends ,"key":"value". If even the key does not fit, the member is
 * dropped; if the value does not fit, it is cut. Either way the line is
 * marked truncated and later members are skipped. */
static void log_member_str(log_line_t *l, const char *key, const char *val, size_t val_len)
{
    if (l->truncated)
        return;
    size_t save = l->len;
    if (log_put(l, ",\"", 2, LOG_LIMIT) != 0 || log_escape(l, key, strlen(key)) != 0 ||
        log_put(l, "\":\"", 3, LOG_LIMIT) != 0) {
        l->len = save;
        l->truncated = 1;
        return;
    }
    if (log_escape(l, val, val_len) != 0)
        l->truncated = 1;
    /* The closing quote always fits: it comes out of the LOG_TAIL reserve. */
    log_put(l, "\"", 1, LOG_LINE_MAX);
}

/* Appends ,"key":<raw>, where raw is already valid JSON (a number, null). */
static void log_member_raw(log_line_t *l, const char *key, const char *raw)
{
    if (l->truncated)
        return;
    size_t save = l->len;
    if (log_put(l, ",\"", 2, LOG_LIMIT) != 0 || log_escape(l, key, strlen(key)) != 0 ||
        log_put(l, "\":", 2, LOG_LIMIT) != 0 || log_put(l, raw, strlen(raw), LOG_LIMIT) != 0) {
        l->len = save;
        l->truncated = 1;
    }
}

static void log_write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* stderr is gone; there is nowhere left to report it */
        p += w;
        n -= (size_t)w;
    }
}

static void log_emit(log_level_t level, const char *request_id, const char *msg, size_t msg_len,
                     int msg_cut, const log_kv_t *kv, size_t n)
{
    log_line_t l;
    l.len = 0;
    l.truncated = 0;

    int64_t now = clock_now_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t lv = level > LOG_ERROR ? LOG_ERROR : (size_t)level;
    /* The fixed prefix is far below LOG_LIMIT, so it cannot be cut. */
    int k = snprintf(l.data, LOG_LIMIT,
                     "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(now % 1000), log_level_names[lv]);
    l.len = (size_t)k;
    log_member_str(&l, "process", log_process, strlen(log_process));
    char num[24];
    snprintf(num, sizeof num, "%ld", (long)getpid());
    log_member_raw(&l, "pid", num);
    if (request_id)
        log_member_str(&l, "request_id", request_id, strlen(request_id));
    log_member_str(&l, "msg", msg, msg_len);
    if (msg_cut)
        l.truncated = 1;
    for (size_t i = 0; i < n; i++) {
        if (!kv[i].key)
            continue;
        if (kv[i].is_num) {
            snprintf(num, sizeof num, "%lld", (long long)kv[i].num);
            log_member_raw(&l, kv[i].key, num);
        } else if (kv[i].str) {
            log_member_str(&l, kv[i].key, kv[i].str, strlen(kv[i].str));
        } else {
            log_member_raw(&l, kv[i].key, "null");
        }
    }
    if (l.truncated)
        log_put(&l, ",\"truncated\":true", 17, LOG_LINE_MAX);
    log_put(&l, "}\n", 2, LOG_LINE_MAX);
    log_write_all(l.data, l.len);
}

void log_msg(log_level_t level, const char *request_id, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    int cut = (size_t)n >= sizeof msg;
    log_emit(level, request_id, msg, cut ? sizeof msg - 1 : (size_t)n, cut, NULL, 0);
}

void log_fields(log_level_t level, const char *request_id, const char *msg, const log_kv_t *kv,
                size_t n)
{
    if (!log_enabled(level))
        return;
    log_emit(level, request_id, msg ? msg : "", msg ? strlen(msg) : 0, 0, kv, n);
}
