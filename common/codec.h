/*
 * codec - conversion between JSON text and msgpack bytes.
 *
 * HTTP clients speak JSON; everything behind the frontend (broker, workers,
 * stored jobs) speaks msgpack. This module is the one place where the two
 * meet, so it is deliberately strict: input that could be read in more than
 * one way (duplicate keys, integers too large to hold exactly, invalid UTF-8)
 * is refused with a message precise enough to hand back to the API client,
 * rather than being silently "fixed".
 */
#ifndef MANDI_CODEC_H
#define MANDI_CODEC_H

#include <stddef.h>

#include <msgpack.h>

#include "buf.h"

typedef struct {
    size_t offset;     /* byte offset in the input where the problem is */
    int line, column;  /* 1-based, for JSON input (0 for msgpack input) */
    char message[160]; /* e.g. "expected ',' or '}' after object member" */
} codec_error_t;

/* Deepest nesting of arrays/objects accepted from JSON. Bounds the parser's
 * recursion so a hostile body cannot exhaust the stack, and keeps every body
 * readable by msgpack-c, which unpacks at most 32 levels: a request body sits
 * two levels down in its job envelope (envelope -> payload -> body). */
#define CODEC_MAX_DEPTH 30

/* Parses one JSON value (RFC 8259; surrounding whitespace allowed, anything
 * else after the value is an error) and appends its msgpack encoding to out.
 * Returns 0, or -1 with *err filled (err may be NULL). On error, out is
 * restored to the length it had on entry. */
int codec_json_to_msgpack(const char *json, size_t len, buf_t *out, codec_error_t *err);

/* Converts exactly one msgpack object (the whole input) to JSON text appended
 * to out. Returns 0, or -1 with *err filled; out restored on error. */
int codec_msgpack_to_json(const char *data, size_t len, buf_t *out, codec_error_t *err);

/* Appends the JSON text of an already-unpacked object. Returns 0 or -1
 * (unrepresentable content); out restored on error. */
int codec_object_to_json(const msgpack_object *obj, buf_t *out, codec_error_t *err);

/* Appends s (len bytes, valid UTF-8 assumed) as a quoted, escaped JSON string. */
void codec_json_string(buf_t *out, const char *s, size_t len);

#endif
