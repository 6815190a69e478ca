/*
 * mailbox - hands work from one thread to another (see mailbox.h).
 */
#include "mailbox.h"

#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int mailbox_init(mailbox_t *self)
{
    self->head = self->tail = NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return self->fd < 0 ? -1 : 0;
}

void mailbox_fini(mailbox_t *self)
{
    pthread_mutex_destroy(&self->lock);
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
}

void mailbox_post(mailbox_t *self, mail_t *m)
{
    m->next = NULL;
    pthread_mutex_lock(&self->lock);
    int was_empty = self->head == NULL;
    if (self->tail)
        self->tail->next = m;
    else
        self->head = m;
    self->tail = m;
    pthread_mutex_unlock(&self->lock);
    /* Only the first message after the receiver drained the box needs to
     * wake it: saves a syscall per message under load. */
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(self->fd, &one, sizeof one);
        (void)n;
    }
}

mail_t *mailbox_take_all(mailbox_t *self)
{
    uint64_t count;
    ssize_t n = read(self->fd, &count, sizeof count);
    (void)n;
    pthread_mutex_lock(&self->lock);
    mail_t *all = self->head;
    self->head = self->tail = NULL;
    pthread_mutex_unlock(&self->lock);
    return all;
}

void mailbox_wait(mailbox_t *self, int timeout_ms)
{
    struct pollfd p = {.fd = self->fd, .events = POLLIN};
    poll(&p, 1, timeout_ms);
}
