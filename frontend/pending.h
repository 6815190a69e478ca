/*
 * pending - the jobs the dispatcher waits for, by id and by deadline.
 *
 * A hash map finds the entry a reply belongs to; a binary heap yields the
 * entries whose wait ran out. Entries settled by a reply stay in the heap
 * until their deadline and are then dropped, which keeps both structures
 * simple and each operation O(log n) or O(1).
 */
#ifndef MANDI_PENDING_H
#define MANDI_PENDING_H

#include <stddef.h>
#include <stdint.h>

struct request;

typedef struct pending {
    char job_id[37];
    char service[32];
    struct request *req; /* NULL when nobody waits: only record the result */
    int64_t deadline_ms; /* monotonic */
    int settled;         /* a reply came or the wait ended */
    int durable;         /* the worker records the result itself */
    int in_map;
} pending_t;

typedef struct pending_set pending_set_t;

pending_set_t *pending_set_new(void);
void pending_set_destroy(pending_set_t **self_p);

/* Takes ownership of p (allocated with malloc). */
void pending_add(pending_set_t *self, pending_t *p);

/* The unsettled entry for job_id, or NULL. */
pending_t *pending_find(pending_set_t *self, const char *job_id, size_t len);

/* Removes p from the id map (it stays in the heap until its deadline). */
void pending_forget(pending_set_t *self, pending_t *p);

/* The entry with the earliest deadline if that deadline is <= now, removed
 * from both structures and handed to the caller (who frees it); else NULL. */
pending_t *pending_pop_expired(pending_set_t *self, int64_t now_ms);

/* Milliseconds until the earliest deadline (-1 when empty). */
int64_t pending_next_deadline(pending_set_t *self, int64_t now_ms);

size_t pending_count(pending_set_t *self);

#endif
