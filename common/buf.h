/*
 * buf - a growable byte buffer.
 *
 * Every encoder in mandi (JSON, msgpack, log lines, HTTP bodies) appends into a
 * buf_t so that a message is built once, in one allocation that grows
 * geometrically, and handed on without further copies.
 */
#ifndef MANDI_BUF_H
#define MANDI_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *data; /* NUL-terminated after every append (not counted in len) */
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Makes room for at least `extra` more bytes. Aborts on allocation failure:
 * a process that cannot allocate a few kilobytes cannot report anything. */
void buf_reserve(buf_t *self, size_t extra);
void buf_append(buf_t *self, const void *data, size_t len);
void buf_append_str(buf_t *self, const char *str);
void buf_append_char(buf_t *self, char c);
void buf_printf(buf_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf_t *self, const char *fmt, va_list ap);
/* Empties the buffer but keeps its memory for reuse. */
void buf_reset(buf_t *self);
/* Frees the memory; the buffer may be used again afterwards. */
void buf_free(buf_t *self);
/* Hands the memory to the caller (who frees it) and empties the buffer. */
char *buf_detach(buf_t *self, size_t *len_out);

/* msgpack-c write callback: lets msgpack_packer append straight into a buf_t. */
int buf_msgpack_write(void *self, const char *data, size_t len);

#endif
