/*
 * uuid - random v4 UUIDs from a per-thread getrandom(2) pool (see uuid.h).
 */
#include "uuid.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* 16 bytes per UUID: one refill serves 32 ids. */
#define UUID_POOL_BYTES 512

typedef struct {
    unsigned char bytes[UUID_POOL_BYTES];
    size_t avail; /* unused bytes at the end of `bytes` */
} uuid_pool_t;

static _Thread_local uuid_pool_t uuid_pool;
static pthread_once_t uuid_atfork_once = PTHREAD_ONCE_INIT;

/* A forked child inherits a copy of the pool; without this the parent and the
 * child would hand out the same ids. Only the forking thread exists in the
 * child, so emptying that thread's pool is enough. */
static void uuid_atfork_child(void)
{
    explicit_bzero(uuid_pool.bytes, sizeof uuid_pool.bytes);
    uuid_pool.avail = 0;
}

static void uuid_register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, uuid_atfork_child);
}

/* Reads /dev/urandom only if getrandom(2) is missing (very old kernels or
 * seccomp filters that forbid it). */
static int uuid_urandom(unsigned char *dst, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, dst + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        got += (size_t)n;
    }
    close(fd);
    return 0;
}

static void uuid_refill(void)
{
    size_t got = 0;
    while (got < sizeof uuid_pool.bytes) {
        ssize_t n = getrandom(uuid_pool.bytes + got, sizeof uuid_pool.bytes - got, 0);
        if (n >= 0) {
            got += (size_t)n; /* short reads are possible for large requests */
            continue;
        }
        if (errno == EINTR)
            continue;
        if (uuid_urandom(uuid_pool.bytes + got, sizeof uuid_pool.bytes - got) == 0)
            break;
        fputs("mandi: no source of random bytes for uuid_v4\n", stderr);
        abort();
    }
    uuid_pool.avail = sizeof uuid_pool.bytes;
}

void uuid_v4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    (void)pthread_once(&uuid_atfork_once, uuid_register_atfork);
    if (uuid_pool.avail < 16)
        uuid_refill();
    unsigned char *r = uuid_pool.bytes + (sizeof uuid_pool.bytes - uuid_pool.avail);
    unsigned char b[16];
    memcpy(b, r, 16);
    /* Wipe bytes once used, so a later memory disclosure (core dump, stray
     * read) cannot reveal ids already handed out. */
    explicit_bzero(r, 16);
    uuid_pool.avail -= 16;

    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */

    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
}

int uuid_valid(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < 36; i++) {
        char c = s[i]; /* stops at a NUL before reading further */
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return s[36] == '\0';
}

void uuid_format(const unsigned char bytes[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[bytes[i] >> 4];
        out[o++] = hex[bytes[i] & 15];
    }
    out[o] = '\0';
}
