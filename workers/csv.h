/*
 * csv - writing CSV (RFC 4180) that spreadsheets open safely.
 *
 * Fields are comma-separated, records end with CRLF. A text field is
 * quoted when it holds a comma, a double quote, CR or LF (quotes doubled
 * inside). A text field that a spreadsheet would read as a formula (it
 * starts with = + - @, a tab or CR) is written with a leading apostrophe,
 * which makes the cell plain text: an exported product name or address
 * can never run as a formula on the exporter's machine. Numbers are
 * written as they are: they come from integer columns, never from users.
 */
#ifndef MANDI_CSV_H
#define MANDI_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends a separator unless the field is the record's first. */
void csv_text(buf_t *out, int first, const char *s, size_t len);
void csv_int(buf_t *out, int first, int64_t v);
/* Ends the record (CRLF). */
void csv_end(buf_t *out);

#endif
