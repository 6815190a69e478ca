/*
 * roles - role names and the permission table (see roles.h).
 */
#include "roles.h"

#include <string.h>

const char *const ROLE_NAMES[] = {"USER",           "MERCHANT", "MODERATOR",   "FINANCE",
                                  "LOCATION_ADMIN", "ADMIN",    "SUPER_ADMIN", NULL};

/* Who manages whom (role_reach). */
static const struct {
    unsigned caller;
    unsigned targets;
} reach[] = {
    {ROLE_SUPER_ADMIN, ROLES_ANY},
    {ROLE_ADMIN, ROLES_ANY & ~ROLES_ADMIN},
    {ROLE_LOCATION_ADMIN, ROLE_USER | ROLE_MERCHANT},
};

#define ADMINS ROLES_ADMIN

/* clang-format off */
static const permission_t permissions[] = {
    /* action            roles                                   rule a worker adds */
    {"self",             ROLES_ANY,                              "the caller's own profile, preferences, addresses, KYC and session; another user's ids answer 404"},
    {"pools.read",       ADMINS,                                 NULL},
    {"users.read",       ADMINS | ROLE_MODERATOR | ROLE_LOCATION_ADMIN,
                                                                 "LOCATION_ADMIN sees only users sharing one of its zones"},
    {"users.status",     ADMINS | ROLE_LOCATION_ADMIN,           "ADMIN not for ADMIN and SUPER_ADMIN accounts; LOCATION_ADMIN only for USER and MERCHANT accounts sharing one of its zones; nobody changes their own status"},
    {"users.role",       ADMINS,                                 "only SUPER_ADMIN grants or takes away ADMIN and SUPER_ADMIN; nobody changes their own role"},
    {"kyc.review",       ADMINS | ROLE_MODERATOR,                "nobody reviews their own submission"},
    {"audit.read",       ADMINS,                                 NULL},
    {"schedules.read",   ADMINS,                                 NULL},
    {"exports.read",     ADMINS | ROLE_FINANCE,                  NULL},
    {"webhooks.manage",  ADMINS,                                 NULL},
    {"catalog.manage",   ADMINS,                                 NULL},
    {"catalog.sell",     ADMINS | ROLE_MERCHANT,                 "MERCHANT only for the stores it owns and their products, stock and requests"},
    {"listings.review",  ADMINS | ROLE_MODERATOR,                NULL},
    {"promotions.manage", ADMINS,                                NULL},
    {"orders.admin",     ADMINS,                                 NULL},
    {"wallets.adjust",   ADMINS | ROLE_FINANCE,                  NULL},
    {"payouts.manage",   ADMINS | ROLE_FINANCE,                  NULL},
    {"payments.refund",  ADMINS | ROLE_FINANCE,                  NULL},
    {"settlements.manage", ADMINS | ROLE_FINANCE,                NULL},
    {"payments.reconcile", ADMINS | ROLE_FINANCE,                NULL},
    {"orders.manage",    ADMINS | ROLE_MERCHANT | ROLE_LOCATION_ADMIN,
                                                                 "MERCHANT only for the orders of its stores; LOCATION_ADMIN only for orders in its zones; others answer 404"},
    {"delivery.manage",  ADMINS | ROLE_LOCATION_ADMIN,           "LOCATION_ADMIN only for routes and orders in its zones; others answer 404"},
    {"analytics.read",   ADMINS | ROLE_LOCATION_ADMIN,           "LOCATION_ADMIN counts only its zones (another zone asked for gives zeros)"},
    {"analytics.manage", ADMINS,                                 NULL},
    {"notifications.send", ADMINS,                               NULL},
    {"notifications.manage", ADMINS,                             NULL},
    {"announcements.manage", ADMINS,                             NULL},
};
/* clang-format on */

#define PERMISSION_COUNT (int)(sizeof permissions / sizeof permissions[0])

unsigned role_bit(const char *name)
{
    for (unsigned i = 0; ROLE_NAMES[i]; i++)
        if (strcmp(ROLE_NAMES[i], name) == 0)
            return 1u << i;
    return 0;
}

unsigned role_reach(const char *role)
{
    unsigned bit = role_bit(role);
    for (size_t i = 0; i < sizeof reach / sizeof reach[0]; i++)
        if (reach[i].caller == bit)
            return reach[i].targets;
    return 0;
}

int role_in(const char *role, unsigned mask)
{
    return (role_bit(role) & mask) != 0;
}

const permission_t *permission_find(const char *action)
{
    for (int i = 0; i < PERMISSION_COUNT; i++)
        if (strcmp(permissions[i].action, action) == 0)
            return &permissions[i];
    return NULL;
}

int permission_allows(const char *action, const char *role)
{
    const permission_t *p = permission_find(action);
    return p && role_in(role, p->roles);
}

const permission_t *permission_table(int *count)
{
    *count = PERMISSION_COUNT;
    return permissions;
}
