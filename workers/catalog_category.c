/*
 * catalog_category - the category hierarchy.
 *
 * Categories form a tree through parent_id. Reads show active categories
 * only, ordered by sort_order then name; the tree is built by PostgreSQL
 * (mandi_category_tree). Writes keep the tree a tree: a parent must exist
 * and must not be the category itself or one of its descendants, checked
 * under one advisory lock so two moves cannot make a cycle together. A
 * category with children, products or stores is not deleted (409).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "catalog_cache.h"
#include "input.h"

#define CATEGORY_NOT_FOUND "CATEGORY_NOT_FOUND", "the category does not exist"

/* Taken by every change of parent_id (any number works: it only has to
 * be the same for all of them). */
#define TREE_LOCK "SELECT pg_advisory_xact_lock(7100)"

/* Slugs that a route takes before /api/categories/:slug would. */
static const char *const reserved_slugs[] = {"tree", NULL};

int category_list(job_ctx_t *ctx)
{
    return answer_json(
        ctx, 200,
        "SELECT jsonb_build_object('items', coalesce(jsonb_agg(mandi_category_json(c) "
        "ORDER BY c.sort_order, c.name), '[]'))::text "
        "FROM categories c WHERE c.is_active",
        0, NULL, CATEGORY_NOT_FOUND);
}

int category_tree(job_ctx_t *ctx)
{
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('items', mandi_category_tree(NULL))::text", 0,
                       NULL, CATEGORY_NOT_FOUND);
}

int category_get(job_ctx_t *ctx)
{
    char slug[101 * 4];
    int rc =
        input_str(ctx, input_params(ctx), "slug", IN_REQUIRED, 1, 100, slug, sizeof slug, NULL);
    if (rc)
        return rc;
    const char *params[] = {slug};
    /* The category with its active children and its path from the root. */
    return answer_json(
        ctx, 200,
        "SELECT (mandi_category_json(c) || jsonb_build_object("
        "'children', mandi_category_tree(c.id), "
        "'path', (WITH RECURSIVE up AS (SELECT p.*, 1 AS depth FROM categories p "
        "WHERE p.id = c.parent_id UNION ALL SELECT p.*, up.depth + 1 FROM categories p "
        "JOIN up ON p.id = up.parent_id WHERE up.depth < 100) "
        "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'name', name, 'slug', slug) "
        "ORDER BY depth DESC), '[]') FROM up)))::text "
        "FROM categories c WHERE c.slug = $1 AND c.is_active",
        1, params, CATEGORY_NOT_FOUND);
}

/* A slug made of the name: lower-case letters and digits, other runs
 * turned into one '-'. Empty when the name has no latin letters or digits. */
static void slug_from_name(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    int dash = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && n + 2 < cap; p++) {
        if (isalnum(*p) && *p < 0x80) {
            if (dash && n)
                out[n++] = '-';
            out[n++] = (char)tolower(*p);
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[n] = '\0';
}

static int valid_slug(const char *s)
{
    if (!*s || *s == '-')
        return 0;
    for (const char *p = s; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                 (*p == '-' && p[1] && p[1] != '-');
        if (!ok)
            return 0;
    }
    for (int i = 0; reserved_slugs[i]; i++)
        if (strcmp(s, reserved_slugs[i]) == 0)
            return 0;
    return 1;
}

typedef struct {
    char name[101 * 4], slug[101], parent[37], description[1001 * 4], image[2049 * 4];
    int64_t sort_order;
    int is_active;
    int has_name, has_slug, has_parent, has_description, has_image, has_sort, has_active;
} category_input_t;

static int read_category(job_ctx_t *ctx, int creating, category_input_t *in)
{
    const msgpack_object *body;
    int rc;
    memset(in, 0, sizeof *in);
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "name", creating, 1, 100, in->name, sizeof in->name,
                        &in->has_name)) ||
        (rc = input_str(ctx, body, "slug", IN_OPTIONAL, 1, 100, in->slug, sizeof in->slug,
                        &in->has_slug)) ||
        (rc = input_uuid(ctx, body, "parent_id", IN_OPTIONAL, in->parent, &in->has_parent)) ||
        (rc = input_str(ctx, body, "description", IN_OPTIONAL, 1, 1000, in->description,
                        sizeof in->description, &in->has_description)) ||
        (rc = input_str(ctx, body, "image_url", IN_OPTIONAL, 1, 2048, in->image, sizeof in->image,
                        &in->has_image)) ||
        (rc = input_int(ctx, body, "sort_order", IN_OPTIONAL, -1000000, 1000000, &in->sort_order,
                        &in->has_sort)) ||
        (rc = input_bool(ctx, body, "is_active", "is_active", &in->is_active, &in->has_active)))
        return rc;
    if (in->has_name == IN_NULL)
        return input_fail(ctx, "name", "name cannot be removed");
    if (in->has_slug == IN_NULL)
        return input_fail(ctx, "slug", "slug cannot be removed");
    if (in->has_sort == IN_NULL)
        return input_fail(ctx, "sort_order", "sort_order must be a whole number");
    if (in->has_active == IN_NULL)
        return input_fail(ctx, "is_active", "is_active must be true or false");
    if (in->has_image == IN_PRESENT && strncmp(in->image, "https://", 8) != 0 &&
        strncmp(in->image, "http://", 7) != 0)
        return input_fail(ctx, "image_url", "image_url must be an http or https URL");
    if (creating && in->has_slug == IN_ABSENT) {
        slug_from_name(in->name, in->slug, sizeof in->slug);
        if (!in->slug[0])
            return input_fail(ctx, "slug",
                              "slug is required when the name has no latin letters or digits");
        in->has_slug = IN_PRESENT;
    }
    if (in->has_slug == IN_PRESENT && !valid_slug(in->slug))
        return input_fail(ctx, "slug",
                          "slug must be lower-case letters and digits joined by single '-' "
                          "(and not \"tree\")");
    return 0;
}

/* Checks the new parent of category id (NULL when creating): it exists and
 * is neither the category nor below it. */
static int check_parent(job_ctx_t *ctx, const char *id, const char *parent)
{
    PGresult *res = PQexec(ctx->db, TREE_LOCK);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    const char *params[] = {parent, id};
    res = PQexecParams(ctx->db,
                       "SELECT EXISTS (SELECT 1 FROM categories WHERE id = $1::uuid), "
                       "$2::uuid IS NOT NULL AND $1::uuid IN (WITH RECURSIVE below AS ("
                       "SELECT $2::uuid AS id UNION SELECT c.id FROM categories c "
                       "JOIN below b ON c.parent_id = b.id) SELECT id FROM below)",
                       2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int exists = PQgetvalue(res, 0, 0)[0] == 't', cycle = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (!exists)
        return input_fail(ctx, "parent_id", "parent_id names no category");
    if (cycle)
        return input_fail(ctx, "parent_id",
                          "parent_id cannot be the category itself or one of its descendants");
    return 0;
}

/* Fails with 409 SLUG_TAKEN when res is a unique violation, else 503. */
static int write_failed(job_ctx_t *ctx, PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && strcmp(state, "23505") == 0) {
        PQclear(res);
        return job_fail(ctx, 409, "SLUG_TAKEN", "another category has this slug");
    }
    return answer_db_failed(ctx, res);
}

static int answer_written(job_ctx_t *ctx, int status, PGresult *res)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return write_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, CATEGORY_NOT_FOUND);
    }
    int rc = answer_pack_json(ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc ? rc : status;
}

int category_create(job_ctx_t *ctx)
{
    category_input_t in;
    char sort[24], active[8];
    int rc;
    if ((rc = read_category(ctx, 1, &in)) ||
        (in.has_parent == IN_PRESENT && (rc = check_parent(ctx, NULL, in.parent))))
        return rc;
    snprintf(sort, sizeof sort, "%lld", (long long)in.sort_order);
    snprintf(active, sizeof active, "%s", in.has_active == IN_PRESENT && !in.is_active ? "f" : "t");
    const char *params[] = {input_value(in.has_parent, in.parent),
                            in.name,
                            in.slug,
                            input_value(in.has_description, in.description),
                            input_value(in.has_image, in.image),
                            sort,
                            active};
    PGresult *res = PQexecParams(
        ctx->db,
        "INSERT INTO categories AS c (parent_id, name, slug, description, image_url, "
        "sort_order, is_active) VALUES ($1::uuid, $2, $3, $4, $5, $6::integer, $7::boolean) "
        "RETURNING mandi_category_json(c)::text",
        7, NULL, params, NULL, NULL, 0);
    return answer_written(ctx, 201, res);
}

static int path_id(job_ctx_t *ctx, char id[37])
{
    return input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
}

int category_update(job_ctx_t *ctx)
{
    category_input_t in;
    char id[37], sort[24];
    int rc;
    if ((rc = path_id(ctx, id)) || (rc = read_category(ctx, 0, &in)) ||
        (in.has_parent == IN_PRESENT && (rc = check_parent(ctx, id, in.parent))))
        return rc;
    snprintf(sort, sizeof sort, "%lld", (long long)in.sort_order);
    const char *params[] = {id,
                            input_value(in.has_name, in.name),
                            input_value(in.has_slug, in.slug),
                            input_sent(in.has_parent),
                            input_value(in.has_parent, in.parent),
                            input_sent(in.has_description),
                            input_value(in.has_description, in.description),
                            input_sent(in.has_image),
                            input_value(in.has_image, in.image),
                            in.has_sort == IN_PRESENT ? sort : NULL,
                            in.has_active == IN_PRESENT ? (in.is_active ? "t" : "f") : NULL};
    PGresult *res = PQexecParams(
        ctx->db,
        "UPDATE categories c SET name = coalesce($2, name), slug = coalesce($3, slug), "
        "parent_id = CASE WHEN $4::boolean THEN $5::uuid ELSE parent_id END, "
        "description = CASE WHEN $6::boolean THEN $7 ELSE description END, "
        "image_url = CASE WHEN $8::boolean THEN $9 ELSE image_url END, "
        "sort_order = coalesce($10::integer, sort_order), "
        "is_active = coalesce($11::boolean, is_active), updated_at = now() "
        "WHERE id = $1::uuid RETURNING mandi_category_json(c)::text",
        11, NULL, params, NULL, NULL, 0);
    /* A move changes which products a category's list holds. */
    cache_bump_products(ctx, NULL);
    return answer_written(ctx, 200, res);
}

int category_delete(job_ctx_t *ctx)
{
    char id[37];
    int rc;
    if ((rc = path_id(ctx, id)))
        return rc;
    const char *params[] = {id};
    /* The row lock keeps products and stores from joining it meanwhile
     * (their foreign keys wait for it). */
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT EXISTS (SELECT 1 FROM categories WHERE parent_id = c.id), "
                                 "EXISTS (SELECT 1 FROM products WHERE category_id = c.id), "
                                 "EXISTS (SELECT 1 FROM stores WHERE category_id = c.id) "
                                 "FROM categories c WHERE c.id = $1::uuid FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, CATEGORY_NOT_FOUND);
    }
    static const char *const refusals[][2] = {
        {"CATEGORY_HAS_CHILDREN", "the category has sub-categories: move or delete them first"},
        {"CATEGORY_HAS_PRODUCTS", "the category has products: move them to another first"},
        {"CATEGORY_HAS_STORES", "stores are listed under the category: change them first"},
    };
    for (int i = 0; i < 3; i++)
        if (PQgetvalue(res, 0, i)[0] == 't') {
            PQclear(res);
            return job_fail(ctx, 409, refusals[i][0], "%s", refusals[i][1]);
        }
    PQclear(res);
    rc = answer_exec(ctx, "DELETE FROM categories WHERE id = $1::uuid", 1, params);
    if (!rc)
        cache_bump_products(ctx, NULL);
    return rc ? rc : answer_deleted(ctx, id);
}
