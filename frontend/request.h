/*
 * request - one HTTP request's state while the front serves it.
 *
 * The MHD thread that reads the request fills the first part and suspends
 * the connection; the journal or dispatcher thread that settles it fills the
 * outcome and resumes it; the MHD thread then turns the outcome into the
 * response. Exactly one thread owns a request at a time, handed over through
 * the queues of journal.c and dispatch.c.
 */
#ifndef MANDI_REQUEST_H
#define MANDI_REQUEST_H

#include <microhttpd.h>
#include <stdint.h>

#include "buf.h"
#include "job.h"
#include "jwt.h"
#include "mailbox.h"
#include "routes.h"

typedef enum {
    OUT_NONE,
    OUT_REPLY,    /* out_body holds a msgpack reply envelope */
    OUT_ACCEPTED, /* 202 for job.id */
    OUT_ERROR,    /* out_status, out_code, out_message */
    OUT_DATA,     /* out_body holds JSON for "data", out_status set */
    OUT_RAW,      /* out_body is the whole response, of type out_content_type */
} outcome_t;

/* What a thread is asked to do with a request it receives in its mailbox. */
typedef enum {
    MAIL_DISPATCH,    /* dispatcher: send the job, wait for the reply */
    MAIL_RECORD,      /* journal: insert the job, then dispatch it */
    MAIL_ACCEPT_LATE, /* journal: record a read that ran out of time, answer 202 */
    MAIL_JOB_STATUS,  /* journal: answer GET /api/jobs/{id} */
    MAIL_FINISH,      /* journal: record a result the front received (journal_note_t) */
    MAIL_DISCARD,     /* journal: delete a job the broker refused (journal_note_t) */
} mail_kind_t;

typedef struct request {
    mail_t mail; /* first: requests travel through mailboxes; mail.kind is a mail_kind_t */
    struct MHD_Connection *conn; /* NULL for jobs nobody waits for (sweep, async) */
    int64_t started_us;
    char method[8];
    char *path;
    route_match_t match;
    char request_id[65];
    buf_t body;
    int body_too_large;
    int suspended;
    int streamed; /* answered by an event stream (stream.c); stream_rc is MHD's answer */
    enum MHD_Result stream_rc;

    /* The caller, when a valid token came with the request. */
    int authenticated;
    jwt_claims_t claims;

    /* The job made of the request. */
    job_t job;
    buf_t envelope;
    int wait_ms;
    int respond_async;
    unsigned char request_hash[32];

    /* The outcome, written by whichever thread settles the request. */
    outcome_t outcome;
    int out_status;
    char out_code[48];
    char out_message[256];
    buf_t out_body;
    int replayed; /* answered from an earlier request with the same Idempotency-Key */
    const char *out_content_type;
    char allow[64];       /* for 405 */
    int final_status;     /* what was sent, for the access log and metrics */
    char route_label[80]; /* "METHOD pattern", or "unmatched" */
} request_t;

/* A request for a job nobody waits for: a copy of req's job for the
 * dispatcher, or a job the recovery sweep found. */
request_t *request_new_detached(const job_t *job, const char *envelope, size_t len, int wait_ms);
void request_destroy(request_t **req_p);

/* Hands the request back to its MHD thread. Called once, by the thread that
 * owns it. */
void request_resume(request_t *req);

/* Sets an error outcome. */
void request_fail(request_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
