/*
 * notify_provider - the providers that carry a message out: one interface,
 * one table, chosen per channel by configuration.
 *
 *     channel  setting               providers
 *     sms      MANDI_SMS_PROVIDER    file, msg91    (MSG91 flow API v5)
 *     email    MANDI_EMAIL_PROVIDER  file, sendgrid (SendGrid v3 mail/send)
 *     push     MANDI_PUSH_PROVIDER   file, fcm      (FCM HTTP v1 messages:send)
 *
 * The HTTP providers talk to a configurable base URL with libcurl (tests
 * point it at the fakes in tests/fakes/), bounded by
 * MANDI_NOTIFY_CONNECT_TIMEOUT_MS and MANDI_NOTIFY_TIMEOUT_MS. A send makes
 * one attempt and says what the answer means; retrying is the delivery
 * job's business (notify_deliver.c), so that a retry waits in the jobs
 * table rather than in a worker.
 *
 * Not thread-safe: the worker runs handlers on one thread, and the HTTP
 * providers share one libcurl handle so that connections are kept alive.
 */
#ifndef MANDI_NOTIFY_PROVIDER_H
#define MANDI_NOTIFY_PROVIDER_H

#include <stddef.h>

#include "buf.h"

typedef struct {
    const char *channel; /* "sms", "email" or "push" */
    const char *to;      /* E.164 phone, email address, or device token */
    const char *subject; /* email subject, push title; "" for SMS */
    const char *body;    /* UTF-8 text */
    size_t body_len;
    const char *template_name; /* the event, for the file provider's line */
    const char *job_id;        /* the job sending it, for the file provider's line */
    const char *ref;           /* the delivery's id, or NULL when there is no row */
} notify_message_t;

typedef enum {
    NOTIFY_SENT,      /* the provider took the message */
    NOTIFY_RETRY,     /* passing: no answer, a timeout, 429 or 5xx */
    NOTIFY_REJECTED,  /* the provider refused it (4xx): sending again will not help */
    NOTIFY_BAD_TOKEN, /* push: the device token is unknown or invalid; forget it */
} notify_result_t;

typedef struct {
    notify_result_t result;
    long http_status;      /* 0 when there was no HTTP answer */
    char provider_id[128]; /* the provider's id of the message, when it gave one */
    char error[256];       /* what went wrong, for the dead-letter list and the logs */
} notify_outcome_t;

typedef struct {
    const char *channel;
    const char *name;
    void (*send)(const notify_message_t *msg, notify_outcome_t *out);
} notify_provider_t;

/* One POST of a JSON body (len bytes) to url with the extra header lines
 * (NULL-terminated), bounded like the providers' calls. Returns 0 with
 * *status set when an HTTP answer came (why then holds the start of a
 * non-2xx answer's body), else -1 with the reason in why. */
int notify_http_post(const char *url, const char *const *headers, const char *body, size_t len,
                     long *status, char *why, size_t why_cap);

/* One POST of body (len bytes, of content_type) to url with the extra
 * header lines (NULL-terminated), bounded like the providers' calls: what
 * a provider's helper (fcm_auth) uses to reach a service of its own.
 * Returns 0 with *status set and the answer's body (at most 64 KiB)
 * appended to answer when an HTTP answer came, else -1 with the reason in
 * why. */
int notify_http_exchange(const char *url, const char *content_type, const char *const *headers,
                         const char *body, size_t len, long *status, buf_t *answer, char *why,
                         size_t why_cap);

/* The provider configured for channel; NULL with a reason in why when the
 * setting names a provider that does not exist or lacks its settings. */
const notify_provider_t *notify_provider_for(const char *channel, char *why, size_t why_cap);

#endif
