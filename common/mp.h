/*
 * mp - small helpers over msgpack-c for reading and writing envelopes.
 *
 * msgpack-c leaves map look-up and string copying to the caller; these keep
 * that code (bounds checks, NUL termination) in one place.
 */
#ifndef MANDI_MP_H
#define MANDI_MP_H

#include <msgpack.h>
#include <stdint.h>
#include <string.h>

/* The value under key in a map, or NULL (also when map is not a map). */
const msgpack_object *mp_get(const msgpack_object *map, const char *key);

/* Whether o is a string equal to s. */
int mp_str_is(const msgpack_object *o, const char *s);

/* Copies a string into dst (cap bytes with the NUL). Returns 0, or -1 when o
 * is not a string, is too long or holds a NUL byte; dst is then "". */
int mp_copy_str(const msgpack_object *o, char *dst, size_t cap);

/* Reads an integer that fits int64. Returns 0 or -1. */
int mp_get_i64(const msgpack_object *o, int64_t *out);

static inline void mp_pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t len = strlen(s);
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

static inline void mp_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

/* Key/value pairs for building maps. */
static inline void mp_kv_str(msgpack_packer *pk, const char *key, const char *value)
{
    mp_pack_cstr(pk, key);
    mp_pack_cstr(pk, value);
}

static inline void mp_kv_i64(msgpack_packer *pk, const char *key, int64_t value)
{
    mp_pack_cstr(pk, key);
    msgpack_pack_int64(pk, value);
}

#endif
