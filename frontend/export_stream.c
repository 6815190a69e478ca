/*
 * export_stream - streaming a stored CSV export (see export_stream.h).
 */
#include "export_stream.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"

#define BLOCK_SIZE (64 * 1024)

typedef struct {
    PGconn *db;
    char id[37];
    int seq; /* the next chunk to read */
    PGresult *chunk;
    size_t offset; /* how much of chunk was sent */
} stream_t;

/* The next stored chunk, or 0 at the end; -1 on a database error. */
static int next_chunk(stream_t *s)
{
    PQclear(s->chunk);
    s->chunk = NULL;
    s->offset = 0;
    char seq[16];
    snprintf(seq, sizeof seq, "%d", s->seq++);
    const char *params[] = {s->id, seq};
    s->chunk = PQexecParams(s->db,
                            "SELECT data FROM export_chunks WHERE export_id = $1::uuid "
                            "AND seq = $2::int",
                            2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(s->chunk) != PGRES_TUPLES_OK) {
        log_msg(LOG_WARN, NULL, "export %s: %s", s->id, PQresultErrorMessage(s->chunk));
        return -1;
    }
    return PQntuples(s->chunk) == 1;
}

static ssize_t read_block(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_t *s = cls;
    while (!s->chunk || s->offset == (size_t)PQgetlength(s->chunk, 0, 0)) {
        int more = next_chunk(s);
        if (more < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (more == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t left = (size_t)PQgetlength(s->chunk, 0, 0) - s->offset;
    size_t n = left < max ? left : max;
    memcpy(buf, PQgetvalue(s->chunk, 0, 0) + s->offset, n);
    s->offset += n;
    return (ssize_t)n;
}

static void free_stream(void *cls)
{
    stream_t *s = cls;
    PQclear(s->chunk);
    db_close(&s->db);
    free(s);
}

struct MHD_Response *export_stream_new(const char *export_id, const char *filename)
{
    stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->id, sizeof s->id, "%s", export_id);
    s->db = db_connect(config_get("DATABASE_URL"));
    if (!s->db) {
        free(s);
        return NULL;
    }
    struct MHD_Response *response =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_SIZE, read_block, s, free_stream);
    if (!response) {
        free_stream(s);
        return NULL;
    }
    char disposition[128];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
    MHD_add_response_header(response, "Content-Type", "text/csv; charset=utf-8");
    MHD_add_response_header(response, "Content-Disposition", disposition);
    return response;
}
