/*
 * respond - turns a request's outcome into the HTTP response.
 *
 * Every JSON answer has the envelope of docs/API.md: {"success": true,
 * "data": ...} or {"success": false, "error": {"code", "message",
 * "details"}}, with the headers that go with its status (Location for 202,
 * Allow for 405, Retry-After for 429 and 503, WWW-Authenticate for 401).
 */
#ifndef MANDI_RESPOND_H
#define MANDI_RESPOND_H

#include "request.h"

/* Queues the response for req's outcome on its connection. */
enum MHD_Result respond_queue(request_t *req);

#endif
