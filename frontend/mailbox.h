/*
 * mailbox - hands work from one thread to another.
 *
 * A mutex-guarded FIFO of messages and an eventfd that becomes readable when
 * the box is non-empty, so the receiving thread can wait on it with poll (or
 * zmq_poll) alongside its sockets. The receiver takes everything at once,
 * which keeps the lock short under load.
 */
#ifndef MANDI_MAILBOX_H
#define MANDI_MAILBOX_H

#include <pthread.h>

typedef struct mail {
    struct mail *next;
    int kind; /* what the receiver is asked to do; the sender's enum */
} mail_t;

typedef struct {
    pthread_mutex_t lock;
    mail_t *head, *tail;
    int fd; /* eventfd */
} mailbox_t;

int mailbox_init(mailbox_t *self);
void mailbox_fini(mailbox_t *self);

/* Appends m (embedded as the first member of the sender's struct). */
void mailbox_post(mailbox_t *self, mail_t *m);

/* Takes every message, oldest first (NULL when empty) and clears the fd. */
mail_t *mailbox_take_all(mailbox_t *self);

/* Waits until the box has mail or timeout_ms passes. */
void mailbox_wait(mailbox_t *self, int timeout_ms);

#endif
