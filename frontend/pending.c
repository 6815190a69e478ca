/*
 * pending - the jobs the dispatcher waits for (see pending.h).
 */
#include "pending.h"

#include <stdlib.h>
#include <string.h>

struct pending_set {
    /* Open addressing with linear probing; TOMBSTONE marks deleted slots. */
    pending_t **slots;
    size_t cap, used, live;
    /* Min-heap on deadline_ms. */
    pending_t **heap;
    size_t heap_len, heap_cap;
};

static pending_t tombstone_entry;
#define TOMBSTONE (&tombstone_entry)

static uint64_t hash_id(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

pending_set_t *pending_set_new(void)
{
    pending_set_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    self->cap = 1024;
    self->slots = calloc(self->cap, sizeof *self->slots);
    if (!self->slots)
        abort();
    return self;
}

void pending_set_destroy(pending_set_t **self_p)
{
    pending_set_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->heap_len; i++)
        free(self->heap[i]);
    free(self->heap);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

static void map_insert(pending_set_t *self, pending_t *p);

static void map_grow(pending_set_t *self)
{
    pending_t **old = self->slots;
    size_t old_cap = self->cap;
    self->cap = self->live * 4 > old_cap ? old_cap * 2 : old_cap;
    self->slots = calloc(self->cap, sizeof *self->slots);
    if (!self->slots)
        abort();
    self->used = self->live = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] && old[i] != TOMBSTONE)
            map_insert(self, old[i]);
    free(old);
}

static void map_insert(pending_set_t *self, pending_t *p)
{
    if ((self->used + 1) * 4 > self->cap * 3)
        map_grow(self);
    size_t mask = self->cap - 1;
    size_t i = hash_id(p->job_id, strlen(p->job_id)) & mask;
    while (self->slots[i] && self->slots[i] != TOMBSTONE)
        i = (i + 1) & mask;
    if (!self->slots[i])
        self->used++;
    self->slots[i] = p;
    self->live++;
    p->in_map = 1;
}

static size_t map_slot(pending_set_t *self, const char *id, size_t len)
{
    size_t mask = self->cap - 1;
    size_t i = hash_id(id, len) & mask;
    while (self->slots[i]) {
        pending_t *p = self->slots[i];
        if (p != TOMBSTONE && strlen(p->job_id) == len && memcmp(p->job_id, id, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return (size_t)-1;
}

pending_t *pending_find(pending_set_t *self, const char *job_id, size_t len)
{
    size_t i = map_slot(self, job_id, len);
    return i == (size_t)-1 ? NULL : self->slots[i];
}

void pending_forget(pending_set_t *self, pending_t *p)
{
    if (!p->in_map)
        return;
    size_t i = map_slot(self, p->job_id, strlen(p->job_id));
    if (i != (size_t)-1) {
        self->slots[i] = TOMBSTONE;
        self->live--;
    }
    p->in_map = 0;
}

static void heap_swap(pending_set_t *self, size_t a, size_t b)
{
    pending_t *t = self->heap[a];
    self->heap[a] = self->heap[b];
    self->heap[b] = t;
}

void pending_add(pending_set_t *self, pending_t *p)
{
    map_insert(self, p);
    if (self->heap_len == self->heap_cap) {
        self->heap_cap = self->heap_cap ? self->heap_cap * 2 : 1024;
        self->heap = realloc(self->heap, self->heap_cap * sizeof *self->heap);
        if (!self->heap)
            abort();
    }
    size_t i = self->heap_len++;
    self->heap[i] = p;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent]->deadline_ms <= self->heap[i]->deadline_ms)
            break;
        heap_swap(self, parent, i);
        i = parent;
    }
}

pending_t *pending_pop_expired(pending_set_t *self, int64_t now_ms)
{
    if (!self->heap_len || self->heap[0]->deadline_ms > now_ms)
        return NULL;
    pending_t *top = self->heap[0];
    self->heap[0] = self->heap[--self->heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < self->heap_len && self->heap[l]->deadline_ms < self->heap[m]->deadline_ms)
            m = l;
        if (r < self->heap_len && self->heap[r]->deadline_ms < self->heap[m]->deadline_ms)
            m = r;
        if (m == i)
            break;
        heap_swap(self, i, m);
        i = m;
    }
    pending_forget(self, top);
    return top;
}

int64_t pending_next_deadline(pending_set_t *self, int64_t now_ms)
{
    if (!self->heap_len)
        return -1;
    int64_t d = self->heap[0]->deadline_ms - now_ms;
    return d < 0 ? 0 : d;
}

size_t pending_count(pending_set_t *self)
{
    return self->live;
}
