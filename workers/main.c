/*
 * mandi-worker - one worker process of one pool.
 *
 *   mandi-worker --pool NAME
 *
 * Start as many as the load needs, on any host that reaches the broker.
 */
#include <stdio.h>
#include <string.h>

#include "pool_table.h"
#include "secret.h"

static int usage(void)
{
    char names[256];
    pools_list(names, sizeof names);
    fprintf(stderr, "usage: mandi-worker --pool NAME\npools: %s\n", names);
    return 2;
}

int main(int argc, char **argv)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strncmp(argv[i], "--pool=", 7) == 0)
            name = argv[i] + 7;
        else
            return usage();
    }
    if (!name)
        return usage();
    const pool_t *pool = pools_find(name);
    if (!pool) {
        fprintf(stderr, "mandi-worker: unknown pool \"%s\"\n", name);
        return usage();
    }
    if (secret_init() < 0) {
        fprintf(stderr, "mandi-worker: libsodium cannot start\n");
        return 1;
    }
    return worker_main(pool->name, pool->tables, pool->events);
}
