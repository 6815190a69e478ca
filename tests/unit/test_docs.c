/*
 * test_docs - docs/API.md says what the code does: its authorization table
 * (section 6) is the permission table of common/roles.c row for row, and
 * its routes table (section 2) lists every route of frontend/routes.c.
 */
#include <stdlib.h>

#include "check.h"
#include "roles.h"
#include "routes.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    if (text)
        text[n] = '\0';
    fclose(f);
    return text;
}

/* The doc's row for action: "| `action` | yes | | ... | limits |". */
static void check_permission_row(const char *doc, const permission_t *p)
{
    char head[64];
    snprintf(head, sizeof head, "\n| `%s` |", p->action);
    const char *row = strstr(doc, head);
    CHECK(row != NULL);
    if (!row) {
        fprintf(stderr, "  docs/API.md has no row for %s\n", p->action);
        return;
    }
    const char *cell = row + strlen(head);
    unsigned documented = 0;
    for (unsigned i = 0; ROLE_NAMES[i]; i++) {
        const char *end = strchr(cell, '|');
        if (!end)
            break;
        if (memmem(cell, (size_t)(end - cell), "yes", 3))
            documented |= 1u << i;
        cell = end + 1;
    }
    if (documented != p->roles)
        fprintf(stderr, "  roles of %s differ: docs %#x, code %#x\n", p->action, documented,
                p->roles);
    CHECK(documented == p->roles);
    /* The limits cell holds the code's text (or nothing). */
    while (*cell == ' ')
        cell++;
    const char *end = strchr(cell, '\n');
    size_t len = end ? (size_t)(end - cell) : strlen(cell);
    while (len && (cell[len - 1] == ' ' || cell[len - 1] == '|'))
        len--;
    const char *want = p->limits ? p->limits : "";
    if (len != strlen(want) || memcmp(cell, want, len) != 0)
        fprintf(stderr, "  limits of %s differ:\n  docs: %.*s\n  code: %s\n", p->action, (int)len,
                cell, want);
    CHECK(len == strlen(want) && memcmp(cell, want, len) == 0);
}

static void check_routes(const char *doc)
{
    size_t count;
    const route_t *routes = route_table(&count);
    for (size_t i = 0; i < count; i++) {
        /* A row starts "| METHOD | `path`" (or lists it after a comma). */
        char row[160], listed[160];
        snprintf(row, sizeof row, "| %s | `%s`", routes[i].method, routes[i].pattern);
        snprintf(listed, sizeof listed, ", `%s` |", routes[i].pattern);
        int found = strstr(doc, row) != NULL || strstr(doc, listed) != NULL;
        if (!found)
            fprintf(stderr, "  docs/API.md does not list %s %s\n", routes[i].method,
                    routes[i].pattern);
        CHECK(found);
    }
}

int main(void)
{
    char *doc = read_all(MANDI_SOURCE_DIR "/docs/API.md");
    CHECK(doc != NULL);
    if (!doc)
        return check_summary();
    int count;
    const permission_t *table = permission_table(&count);
    for (int i = 0; i < count; i++)
        check_permission_row(doc, &table[i]);
    check_routes(doc);
    free(doc);
    return check_summary();
}
