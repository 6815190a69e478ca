/*
 * outbox - writing, numbering and publishing domain events (see outbox.h).
 */
#include "outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "proto.h"

/* The advisory lock that serialises numbering ("mandi outbox"). */
#define OUTBOX_LOCK "7309762069405218424"

int outbox_write(PGconn *db, const char *topic, const char *body, size_t len, const char *job_id)
{
    const char *params[] = {topic, body, job_id && job_id[0] ? job_id : NULL};
    int lengths[] = {0, (int)len, 0};
    int formats[] = {0, 1, 0};
    PGresult *res = PQexecParams(db, "INSERT INTO outbox (topic, body, job_id) VALUES ($1, $2, $3)",
                                 3, NULL, params, lengths, formats, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc < 0)
        log_msg(LOG_WARN, NULL, "outbox: recording %s failed: %s", topic,
                PQresultErrorMessage(res));
    PQclear(res);
    return rc;
}

/* Sends one row of (position, topic, body) as a three-frame event. */
static void publish_row(void *pub, PGresult *res, int row)
{
    const char *position = PQgetvalue(res, row, 0);
    proto_frame_t frames[] = {
        {PQgetvalue(res, row, 1), (size_t)PQgetlength(res, row, 1)},
        {PQgetvalue(res, row, 2), (size_t)PQgetlength(res, row, 2)},
        {position, strlen(position)},
    };
    proto_send(pub, frames, 3);
}

int outbox_relay(PGconn *db, void *pub, int limit)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *lock[] = {OUTBOX_LOCK};
    const char *params[] = {lim};
    /* Only the lock holder numbers, and it commits before the next one
     * starts; the UPDATE runs after the lock is held, so its snapshot sees
     * everything the previous holder committed. */
    if (db_exec(db, "BEGIN") < 0)
        return -1;
    PGresult *res =
        PQexecParams(db, "SELECT pg_advisory_xact_lock($1::bigint)", 1, NULL, lock, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!ok) {
        db_exec(db, "ROLLBACK");
        return -1;
    }
    /* The batch takes the numbers after the sequence's current value, in
     * the order the events were written, and the sequence is then moved
     * past them. Only the lock holder touches the sequence, so the numbers
     * are contiguous and follow the write order within a batch; row_number
     * makes that order explicit instead of trusting when nextval runs. The
     * body comes back binary, the position as text (sent as text). */
    res = PQexecParams(db,
                       "WITH waiting AS (SELECT id, row_number() OVER (ORDER BY id) AS k "
                       "  FROM (SELECT id FROM outbox WHERE position IS NULL ORDER BY id "
                       "        LIMIT $1::int FOR UPDATE) w), "
                       "base AS MATERIALIZED (SELECT CASE WHEN is_called THEN last_value "
                       "  ELSE last_value - 1 END AS b FROM outbox_position), "
                       "sent AS (UPDATE outbox o SET position = base.b + w.k, published_at = now() "
                       "  FROM waiting w, base WHERE o.id = w.id "
                       "  RETURNING o.position, o.topic, o.body) "
                       /* sent.position: the number, not the text column */
                       "SELECT position::text, topic, body FROM sent ORDER BY sent.position",
                       1, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_msg(LOG_WARN, NULL, "outbox: numbering failed: %s", PQresultErrorMessage(res));
        PQclear(res);
        db_exec(db, "ROLLBACK");
        return -1;
    }
    if (PQntuples(res) > 0) {
        const char *last[] = {PQgetvalue(res, PQntuples(res) - 1, 0)};
        PGresult *moved = PQexecParams(db, "SELECT setval('outbox_position', $1::bigint)", 1, NULL,
                                       last, NULL, NULL, 0);
        int moved_ok = PQresultStatus(moved) == PGRES_TUPLES_OK;
        if (!moved_ok)
            log_msg(LOG_WARN, NULL, "outbox: moving the sequence failed: %s",
                    PQresultErrorMessage(moved));
        PQclear(moved);
        if (!moved_ok) {
            PQclear(res);
            db_exec(db, "ROLLBACK");
            return -1;
        }
    }
    if (db_exec(db, "COMMIT") < 0) {
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    for (int i = 0; pub && i < n; i++)
        publish_row(pub, res, i);
    PQclear(res);
    return n;
}

PGresult *outbox_read_after(PGconn *db, int64_t after, int limit)
{
    char from[24], lim[16];
    snprintf(from, sizeof from, "%" PRId64, after);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {from, lim};
    PGresult *res =
        PQexecParams(db,
                     "SELECT position::text, topic, body FROM outbox "
                     "WHERE position > $1::bigint ORDER BY outbox.position LIMIT $2::int",
                     2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_msg(LOG_WARN, NULL, "outbox: reading after %s failed: %s", from,
                PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}
