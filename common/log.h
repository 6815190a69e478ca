/*
 * log - structured logging: one JSON object per line on stderr.
 *
 * Every mandi process logs this way so that one tool can merge and search
 * the broker's, workers' and front end's output, and follow a request across
 * them by its request_id. Each line is formatted in a buffer on the caller's
 * stack and written with a single write(2) of at most PIPE_BUF bytes, so
 * lines from concurrent threads (or processes sharing a pipe) never
 * interleave and no lock is taken.
 *
 *   {"time":"2026-11-23T10:00:00.123Z","level":"info","process":"front",
 *    "pid":123,"request_id":"...","msg":"..."}
 */
#ifndef MANDI_LOG_H
#define MANDI_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Names the process in every line and reads the threshold from
 * MANDI_LOG_LEVEL (debug, info, warn or error; anything else means info).
 * Call once, before starting threads. Before it, lines are logged as process
 * "mandi" at threshold info. */
void log_init(const char *process_name);

/* 1 if a line at this level would be written: lets callers skip building
 * expensive arguments for suppressed debug lines. */
int log_enabled(log_level_t level);

/* printf-style message. request_id is omitted from the line when NULL. A
 * line that would exceed PIPE_BUF is cut short and gets "truncated":true. */
void log_msg(log_level_t level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One extra member of a structured line: a string (NULL writes null) or,
 * with is_num set, an integer. */
typedef struct {
    const char *key;
    const char *str;
    int64_t num;
    int is_num;
} log_kv_t;

#define LOG_STR(k, v) ((log_kv_t){.key = (k), .str = (v)})
#define LOG_NUM(k, v) ((log_kv_t){.key = (k), .num = (int64_t)(v), .is_num = 1})

/* A line with a fixed message and the given members after "msg", for access
 * and job lines that are meant to be queried by field. Keys should not repeat
 * the standard ones (time, level, process, pid, request_id, msg). */
void log_fields(log_level_t level, const char *request_id, const char *msg, const log_kv_t *kv,
                size_t n);

/* log_fields with the members listed inline:
 *   LOG_FIELDS(LOG_INFO, rid, "http", LOG_STR("path", path), LOG_NUM("status", 200)); */
#define LOG_FIELDS(level, request_id, msg, ...)                                                    \
    log_fields((level), (request_id), (msg), (const log_kv_t[]){__VA_ARGS__},                      \
               sizeof((const log_kv_t[]){__VA_ARGS__}) / sizeof(log_kv_t))

#endif
