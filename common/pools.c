/*
 * pools - the names of mandi's worker pools (see pools.h).
 */
#include "pools.h"

#include <string.h>

const char *const pool_names[] = {
    "accounts", "catalog", "orders", "payments", "notifications", "analytics",
};
const size_t pool_count = sizeof pool_names / sizeof pool_names[0];

int pool_is_known(const char *name, size_t len)
{
    for (size_t i = 0; i < pool_count; i++)
        if (strlen(pool_names[i]) == len && memcmp(pool_names[i], name, len) == 0)
            return 1;
    return 0;
}
