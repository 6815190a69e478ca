/*
 * journal - the front's thread for PostgreSQL and Redis.
 *
 * It records jobs before they are dispatched (the durable promise behind a
 * 202), answers GET /api/jobs/{id}, records results that reach the front
 * for reads answered 202, and runs the recovery sweep: jobs left queued or
 * running past their lease (their front, broker or worker died) are sent
 * again. Records are written in batches, one transaction per batch, so many
 * concurrent requests share one commit. It also keeps the health of the
 * database and Redis connections for /ready, and relays outbox events that
 * their worker left unpublished (see outbox.h).
 */
#ifndef MANDI_JOURNAL_H
#define MANDI_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"

/* zmq_ctx: for the outbox relay's PUB socket. */
int journal_start(void *zmq_ctx);
void journal_stop(void);

/* Takes ownership until it resumes the request or passes it on. */
void journal_record(request_t *req);
void journal_accept_late(request_t *req);
void journal_job_status(request_t *req);

/* Records the final reply of a job (state: succeeded, failed or dead)
 * unless the job already finished. */
void journal_finish(const char *job_id, const char *state, int status, const char *reply,
                    size_t len);

/* Deletes a queued job whose caller was told it was refused. */
void journal_discard(const char *job_id);

/* Milliseconds since the last successful round trip, -1 if none yet. */
int64_t journal_db_age_ms(void);
int64_t journal_redis_age_ms(void);

/* Jobs by state (queued, running, succeeded, failed, dead), as last counted;
 * returns -1 if never counted. */
#define JOURNAL_STATES 5
extern const char *const journal_state_names[JOURNAL_STATES];
int journal_job_counts(int64_t counts[JOURNAL_STATES]);

#endif
