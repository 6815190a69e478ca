/*
 * roles - role names and the permission table (see roles.h).
 */
#include "roles.h"

#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} role_names[] = {
    {"USER", ROLE_USER},
    {"MERCHANT", ROLE_MERCHANT},
    {"MODERATOR", ROLE_MODERATOR},
    {"FINANCE", ROLE_FINANCE},
    {"LOCATION_ADMIN", ROLE_LOCATION_ADMIN},
    {"ADMIN", ROLE_ADMIN},
    {"SUPER_ADMIN", ROLE_SUPER_ADMIN},
};

#define ADMINS (ROLE_ADMIN | ROLE_SUPER_ADMIN)

/* clang-format off */
static const permission_t permissions[] = {
    /* action            roles                                   rule a worker adds */
    {"self",             ROLES_ANY,                              "the caller's own profile, preferences, addresses, KYC and session; another user's ids answer 404"},
    {"pools.read",       ADMINS,                                 NULL},
    {"users.read",       ADMINS | ROLE_MODERATOR | ROLE_LOCATION_ADMIN,
                                                                 "LOCATION_ADMIN sees only users sharing one of its zones"},
    {"users.status",     ADMINS | ROLE_LOCATION_ADMIN,           "LOCATION_ADMIN only for USER and MERCHANT accounts sharing one of its zones; nobody changes their own status"},
    {"users.role",       ADMINS,                                 "only SUPER_ADMIN grants or takes away ADMIN and SUPER_ADMIN; nobody changes their own role"},
    {"kyc.review",       ADMINS | ROLE_MODERATOR,                NULL},
    {"audit.read",       ADMINS,                                 NULL},
};
/* clang-format on */

#define PERMISSION_COUNT (int)(sizeof permissions / sizeof permissions[0])

unsigned role_bit(const char *name)
{
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (strcmp(role_names[i].name, name) == 0)
            return role_names[i].bit;
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
