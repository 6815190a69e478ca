/*
 * roles - the roles a user can hold and the permission table.
 *
 * The table says which roles may take each action; it is the one place the
 * front (which refuses a route's caller by role before any job is made) and
 * the workers (which add the rules that need data: zones, ownership, who
 * may grant what) read it from. docs/API.md section "Authorization" is the
 * same table in prose, and the integration tests walk every row.
 */
#ifndef MANDI_ROLES_H
#define MANDI_ROLES_H

enum {
    ROLE_USER = 1u << 0,
    ROLE_MERCHANT = 1u << 1,
    ROLE_MODERATOR = 1u << 2,
    ROLE_FINANCE = 1u << 3,
    ROLE_LOCATION_ADMIN = 1u << 4,
    ROLE_ADMIN = 1u << 5,
    ROLE_SUPER_ADMIN = 1u << 6,
};
#define ROLES_ANY   0x7fu
#define ROLES_ADMIN (ROLE_ADMIN | ROLE_SUPER_ADMIN)

/* The role names, NULL-terminated; role i has the bit 1 << i. */
extern const char *const ROLE_NAMES[];

/* The roles whose accounts a caller holding role may manage (suspend,
 * re-activate, give another role): SUPER_ADMIN all, ADMIN all but the
 * admin roles, LOCATION_ADMIN users and merchants (of its zones), nobody
 * else any. */
unsigned role_reach(const char *role);

/* The bit of a role name ("USER", ...), or 0 for an unknown name. */
unsigned role_bit(const char *name);

/* Whether role holds one of the roles of mask. */
int role_in(const char *role, unsigned mask);

typedef struct {
    const char *action; /* e.g. "users.read" */
    unsigned roles;     /* who may take it */
    const char *limits; /* the rule a worker adds, for the docs; NULL if none */
} permission_t;

/* The action's row, or NULL when there is none. */
const permission_t *permission_find(const char *action);

/* Whether role may take action; an unknown action allows nobody. */
int permission_allows(const char *action, const char *role);

/* The whole table, for documentation checks. */
const permission_t *permission_table(int *count);

#endif
