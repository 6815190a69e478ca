/*
 * export_stream - a CSV export (the analytics pool's export_chunks) sent
 * as the response body, one stored chunk at a time.
 *
 * A route flagged ROUTE_CSV answers its job's success, which names an
 * export ({"export_id", "filename"}), with the export itself: text/csv, as
 * an attachment. The chunks are read from PostgreSQL as libmicrohttpd asks
 * for more, on a connection of the response's own, so a download of any
 * size holds one chunk in memory.
 */
#ifndef MANDI_EXPORT_STREAM_H
#define MANDI_EXPORT_STREAM_H

#include <microhttpd.h>

/* The response streaming export_id, with its headers; NULL when the
 * database cannot be reached. */
struct MHD_Response *export_stream_new(const char *export_id, const char *filename);

#endif
