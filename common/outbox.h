/*
 * outbox - domain events written in the writer's transaction and published
 * after it commits (GUIDE §2 Events; docs/PROTOCOL.md section 11).
 *
 * Handlers call outbox_write on their connection, inside the job's
 * transaction. After the commit the worker runtime calls outbox_relay, and
 * every front runs it once a second for events whose worker died between
 * commit and relay. The relay numbers the waiting events in commit order
 * (see sql/005_outbox.sql) and sends each as [topic, body, position] on the
 * bus. Subscribers that were away read what they missed with
 * outbox_read_after.
 */
#ifndef MANDI_OUTBOX_H
#define MANDI_OUTBOX_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Records one event; body is one msgpack value. Returns 0 or -1 (logged). */
int outbox_write(PGconn *db, const char *topic, const char *body, size_t len, const char *job_id);

/* Numbers up to limit waiting events and publishes them on pub (a PUB
 * socket; NULL numbers them without sending). The connection must be idle
 * (not inside a transaction). Returns how many were published, or -1. */
int outbox_relay(PGconn *db, void *pub, int limit);

/* Events with a position above after, in order, at most limit of them: a
 * result with columns position, topic, body (binary). NULL on error. */
PGresult *outbox_read_after(PGconn *db, int64_t after, int limit);

#endif
