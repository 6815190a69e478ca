/*
 * csv - CSV fields and records (see csv.h).
 */
#include "csv.h"

#include <stdio.h>
#include <string.h>

/* What a spreadsheet takes as the start of a formula. */
static int formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

void csv_text(buf_t *out, int first, const char *s, size_t len)
{
    if (!first)
        buf_append_char(out, ',');
    int guard = len > 0 && formula_start(s[0]);
    int quote = guard && s[0] == '\r';
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (quote)
        buf_append_char(out, '"');
    if (guard)
        buf_append_char(out, '\'');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            buf_append_char(out, '"');
        buf_append_char(out, s[i]);
    }
    if (quote)
        buf_append_char(out, '"');
}

void csv_int(buf_t *out, int first, int64_t v)
{
    if (!first)
        buf_append_char(out, ',');
    buf_printf(out, "%lld", (long long)v);
}

void csv_end(buf_t *out)
{
    buf_append(out, "\r\n", 2);
}
