/*
 * notify_template - renders a notification template with an event's data.
 *
 * Templates live in the notification_templates table; this turns one into
 * text. "{{member}}" is replaced by the member of the data map (a dotted
 * name reaches into nested maps: "{{order.number}}"); strings go in as they
 * are, integers in decimal, booleans as true/false, and a member that is
 * absent or null as nothing (events carry optional members). A filter after
 * a bar changes how the value is shown; the filters are a table:
 *
 *     {{total_paise|rupees}}   12345 -> "₹123.45"
 *
 * Pure: no I/O, no globals, so it is unit-tested on its own.
 */
#ifndef MANDI_NOTIFY_TEMPLATE_H
#define MANDI_NOTIFY_TEMPLATE_H

#include <msgpack.h>
#include <stddef.h>

#include "buf.h"

/* Appends tpl (len bytes) rendered with data (a msgpack map, or NULL) to
 * out. Returns 0, or -1 with a reason in why (why_cap bytes) for a
 * placeholder that is not closed, an empty or malformed name, an unknown
 * filter, or a value the filter cannot show; out then holds a partial
 * rendering the caller discards. */
int notify_template_render(const char *tpl, size_t len, const msgpack_object *data, buf_t *out,
                           char *why, size_t why_cap);

#endif
