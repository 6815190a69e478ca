/*
 * buf - a growable byte buffer (see buf.h).
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_reserve(buf_t *self, size_t extra)
{
    size_t need = self->len + extra + 1; /* +1 keeps room for the trailing NUL */
    if (need <= self->cap)
        return;
    size_t cap = self->cap ? self->cap : 256;
    while (cap < need)
        cap *= 2;
    char *data = realloc(self->data, cap);
    if (!data) {
        fputs("mandi: out of memory\n", stderr);
        abort();
    }
    self->data = data;
    self->cap = cap;
}

void buf_append(buf_t *self, const void *data, size_t len)
{
    buf_reserve(self, len);
    if (len)
        memcpy(self->data + self->len, data, len);
    self->len += len;
    self->data[self->len] = '\0';
}

void buf_append_str(buf_t *self, const char *str)
{
    buf_append(self, str, strlen(str));
}

void buf_append_char(buf_t *self, char c)
{
    buf_reserve(self, 1);
    self->data[self->len++] = c;
    self->data[self->len] = '\0';
}

void buf_vprintf(buf_t *self, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        va_end(again);
        return;
    }
    if ((size_t)n < sizeof small) {
        buf_append(self, small, (size_t)n);
    } else {
        buf_reserve(self, (size_t)n);
        vsnprintf(self->data + self->len, (size_t)n + 1, fmt, again);
        self->len += (size_t)n;
    }
    va_end(again);
}

void buf_printf(buf_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(self, fmt, ap);
    va_end(ap);
}

void buf_reset(buf_t *self)
{
    self->len = 0;
    if (self->data)
        self->data[0] = '\0';
}

void buf_free(buf_t *self)
{
    free(self->data);
    self->data = NULL;
    self->len = self->cap = 0;
}

char *buf_detach(buf_t *self, size_t *len_out)
{
    if (!self->data)
        buf_reserve(self, 0);
    char *data = self->data;
    if (len_out)
        *len_out = self->len;
    self->data = NULL;
    self->len = self->cap = 0;
    return data;
}

int buf_msgpack_write(void *self, const char *data, size_t len)
{
    buf_append((buf_t *)self, data, len);
    return 0;
}
