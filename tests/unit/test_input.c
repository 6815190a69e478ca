/*
 * test_input - the field checks of job bodies and the permission table.
 */
#include "check.h"
#include "input.h"
#include "roles.h"

static void test_phone(void)
{
    char out[14];
    CHECK(input_phone_normalise("+91-9876543210", out) == 0);
    CHECK_STR(out, "+919876543210");
    CHECK(input_phone_normalise("+916000000000", out) == 0);
    CHECK_STR(out, "+916000000000");
    /* Not an Indian mobile: wrong prefix, first digit, length or characters. */
    const char *bad[] = {"9876543210",
                         "+92-9876543210",
                         "+91-5876543210",
                         "+91-987654321",
                         "+91-98765432100",
                         "+91-98765a3210",
                         "+91--9876543210",
                         "+91 9876543210",
                         "",
                         "+91"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(input_phone_normalise(bad[i], out) < 0);
}

static void test_email(void)
{
    char out[255];
    CHECK(input_email_normalise("Asha.K+shop@Example.IN", out) == 0);
    CHECK_STR(out, "asha.k+shop@example.in");
    const char *bad[] = {"asha",        "@example.in",  "asha@",       "asha@example",
                         "asha@@ex.in", "as ha@ex.in",  "asha@ex..in", "asha@.in",
                         "asha@ex.in.", "asha@ex_a.in", "asha@ex.in\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(input_email_normalise(bad[i], out) < 0);
    char long_local[300];
    memset(long_local, 'a', 250);
    strcpy(long_local + 250, "@x.in");
    CHECK(input_email_normalise(long_local, out) < 0);
}

static void test_utf8_length(void)
{
    CHECK(input_utf8_length("abc", 3) == 3);
    CHECK(input_utf8_length("\xe0\xa4\xae\xe0\xa4\x82\xe0\xa4\xa1\xe0\xa5\x80", 12) == 4);
    CHECK(input_utf8_length("", 0) == 0);
}

static void test_permissions(void)
{
    const char *roles[] = {"USER",           "MERCHANT", "MODERATOR",  "FINANCE",
                           "LOCATION_ADMIN", "ADMIN",    "SUPER_ADMIN"};
    for (int i = 0; i < 7; i++) {
        CHECK(role_bit(roles[i]) == 1u << i);
        CHECK(permission_allows("self", roles[i]));
    }
    CHECK(role_bit("ROOT") == 0);
    CHECK(role_bit("admin") == 0); /* names are exact */
    CHECK(permission_allows("pools.read", "ADMIN"));
    CHECK(permission_allows("pools.read", "SUPER_ADMIN"));
    CHECK(!permission_allows("pools.read", "MODERATOR"));
    CHECK(!permission_allows("pools.read", "USER"));
    CHECK(permission_allows("users.read", "LOCATION_ADMIN"));
    CHECK(!permission_allows("users.read", "FINANCE"));
    CHECK(!permission_allows("users.role", "LOCATION_ADMIN"));
    CHECK(permission_allows("kyc.review", "MODERATOR"));
    CHECK(!permission_allows("audit.read", "MODERATOR"));
    CHECK(!permission_allows("no.such.action", "SUPER_ADMIN"));
    CHECK(!permission_allows("self", "ROOT"));
    int count;
    const permission_t *table = permission_table(&count);
    CHECK(count >= 7);
    for (int i = 0; i < count; i++)
        CHECK(permission_find(table[i].action) == &table[i]);
}

static void test_uuid(void)
{
    char out[37];
    CHECK(input_uuid_normalise("0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9", out) == 0);
    CHECK_STR(out, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    const char *bad[] = {"",
                         "me",
                         "0f1e2d3c4b5a49788695a4b3c2d1e0f9",
                         "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f",
                         "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fg",
                         "0f1e2d3c-4b5a-4978-8695_a4b3c2d1e0f9",
                         "{0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(input_uuid_normalise(bad[i], out) < 0);
}

/* A msgpack array of strings, as a job body holds it. */
static msgpack_object string_array(msgpack_object *members, const char *const *texts, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        members[i].type = MSGPACK_OBJECT_STR;
        members[i].via.str.ptr = texts[i];
        members[i].via.str.size = (uint32_t)strlen(texts[i]);
    }
    msgpack_object array = {.type = MSGPACK_OBJECT_ARRAY};
    array.via.array.ptr = members;
    array.via.array.size = n;
    return array;
}

static void test_uuid_list(void)
{
    msgpack_object members[3];
    char out[3][37];
    uint32_t bad = 99;
    const char *good[] = {"0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9",
                          "11111111-2222-4333-8444-555555555555"};
    msgpack_object array = string_array(members, good, 2);
    CHECK(input_uuid_list_normalise(&array, out, &bad) == 0);
    CHECK_STR(out[0], "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    CHECK_STR(out[1], "11111111-2222-4333-8444-555555555555");
    /* The same id in another case is a repeat. */
    const char *twice[] = {"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", good[1], good[0]};
    array = string_array(members, twice, 3);
    CHECK(input_uuid_list_normalise(&array, out, &bad) == -2);
    CHECK_INT(bad, 2);
    const char *not_uuid[] = {good[0], "order-1"};
    array = string_array(members, not_uuid, 2);
    CHECK(input_uuid_list_normalise(&array, out, &bad) == -1);
    CHECK_INT(bad, 1);
    members[0].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    members[0].via.u64 = 7;
    array.via.array.size = 1;
    CHECK(input_uuid_list_normalise(&array, out, &bad) == -1);
    CHECK_INT(bad, 0);
    array.via.array.size = 0;
    CHECK(input_uuid_list_normalise(&array, out, &bad) == 0);
}

static void test_dates(void)
{
    CHECK(input_date_valid("2024-02-29", 0));
    CHECK(input_date_valid("1900-01-01", 1));
    CHECK(input_date_valid("2999-12-31", 0));
    CHECK(!input_date_valid("2999-12-31", 1)); /* not in the past */
    CHECK(!input_date_valid("1899-12-31", 1));
    const char *bad[] = {"2023-02-29", "2024-13-01", "2024-04-31",    "2024-4-01",  "24-04-01",
                         "2024/04/01", "2024-04-0a", "2024-04-01T00", "+024-04-01", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!input_date_valid(bad[i], 0));
}

static void test_timestamp(void)
{
    const char *good[] = {"2026-11-23T18:30:00+05:30", "2026-11-23T13:00:00Z",
                          "2024-02-29T23:59:59.123456-03:00", "2026-01-01T00:00:00.5Z"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(input_timestamp_valid(good[i]));
    const char *bad[] = {"2026-11-23",
                         "2026-11-23T18:30:00",  /* no zone */
                         "2026-11-23 18:30:00Z", /* no T */
                         "2026-02-30T10:00:00Z", /* no such day */
                         "2026-11-23T24:00:00Z",
                         "2026-11-23T18:60:00Z",
                         "2026-11-23T18:30:60Z",
                         "2026-11-23T18:30:00.Z",
                         "2026-11-23T18:30:00.1234567Z",
                         "2026-11-23T18:30:00+0530",
                         "2026-11-23T18:30:00+15:00",
                         "2026-11-23T18:30:00Zjunk",
                         "2026-11-23T1a:30:00Z",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!input_timestamp_valid(bad[i]));
}

static void test_reach(void)
{
    CHECK(role_reach("SUPER_ADMIN") == ROLES_ANY);
    CHECK(role_reach("ADMIN") == (ROLES_ANY & ~ROLES_ADMIN));
    CHECK(role_reach("LOCATION_ADMIN") == (ROLE_USER | ROLE_MERCHANT));
    CHECK(role_reach("MODERATOR") == 0);
    CHECK(role_reach("USER") == 0);
    CHECK(role_reach("ROOT") == 0);
    for (unsigned i = 0; ROLE_NAMES[i]; i++)
        CHECK(role_bit(ROLE_NAMES[i]) == 1u << i);
}

int main(void)
{
    test_timestamp();
    test_uuid();
    test_uuid_list();
    test_dates();
    test_reach();
    test_phone();
    test_email();
    test_utf8_length();
    test_permissions();
    return check_summary();
}
