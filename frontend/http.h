/*
 * http - the libmicrohttpd side of the front.
 *
 * Reads each request, checks it (route, method, content type, size, JSON,
 * token), turns it into a job and hands it to the journal or the dispatcher
 * with the connection suspended, so that no thread waits for a pool. When
 * the reply is in, the connection is resumed and the response queued.
 */
#ifndef MANDI_HTTP_H
#define MANDI_HTTP_H

int http_start(void);

/* Stops accepting connections and answers new requests 503. */
void http_quiesce(void);

/* Stops the daemon; every suspended connection must be resumed before. */
void http_stop(void);

#endif
