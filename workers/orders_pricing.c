/*
 * orders_pricing - what promotions take off the caller's cart.
 *
 * The cart's lines and the promotions in play are read from PostgreSQL
 * into the plain structs of promo_math, which does the arithmetic; this
 * file only loads, chooses and reports. The same code prices the cart view,
 * the preview, apply and checkout, so what a customer is shown is what a
 * checkout charges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mp.h"
#include "orders.h"

/* ---- loading ------------------------------------------------------------- */

/* The lines that count: those still for sale, in cart order (the order the
 * cart view lists them in, which also settles promo_math's ties). */
#define LINES_SQL                                                                                  \
    "SELECT ci.product_id, p.category_id, p.store_id, s.zone, p.selling_price_paise, "             \
    "ci.quantity FROM cart_items ci JOIN products p ON p.id = ci.product_id "                      \
    "JOIN stores s ON s.id = p.store_id WHERE ci.user_id = $1::uuid "                              \
    "AND p.deleted_at IS NULL AND p.is_active AND s.is_active ORDER BY ci.added_at, ci.id"

/* A promotion as promo_math needs it, plus why it cannot be used ($1: the
 * caller). Bundle items come as "id:qty,..." and scope ids comma-separated
 * (ids and zone names hold no commas). */
#define OFFER_COLUMNS                                                                              \
    "SELECT p.id, p.code, p.kind, p.percent_bps, p.cap_paise, p.amount_paise, p.buy_qty, "         \
    "p.get_qty, (SELECT string_agg((e->>'product_id') || ':' || (e->>'qty'), ',' ORDER BY o) "     \
    "  FROM jsonb_array_elements(p.bundle_items) WITH ORDINALITY b(e, o)), "                       \
    "p.bundle_price_paise, p.min_cart_paise, p.scope, array_to_string(p.scope_ids, ','), "         \
    "p.stackable, coalesce(mandi_promotion_unusable(p, $1::uuid), '') "

static const char *const offer_sql[] = {
    [OFFERS_ATTACHED] = OFFER_COLUMNS "FROM cart_promotions cp JOIN promotions p "
                                      "ON p.id = cp.promotion_id WHERE cp.user_id = $1::uuid "
                                      "ORDER BY cp.position",
    [OFFERS_CODE] = OFFER_COLUMNS "FROM promotions p WHERE p.code = upper($2) "
                                  "AND p.deleted_at IS NULL",
    [OFFERS_LIVE] = OFFER_COLUMNS "FROM promotions p WHERE p.deleted_at IS NULL AND p.is_active "
                                  "AND p.starts_at <= now() AND now() < p.ends_at "
                                  "ORDER BY p.created_at, p.id",
};

/* The kinds and scopes by their SQL names (the order of the enums). */
static const struct {
    const char *name;
    promo_kind_t kind;
} kinds[] = {
    {"percentage", PROMO_PERCENTAGE},
    {"fixed", PROMO_FIXED},
    {"buy_x_get_y", PROMO_BUY_X_GET_Y},
    {"bundle", PROMO_BUNDLE},
};
static const struct {
    const char *name;
    promo_scope_kind_t scope;
} scopes[] = {
    {"all", PROMO_SCOPE_ALL},           {"categories", PROMO_SCOPE_CATEGORIES},
    {"products", PROMO_SCOPE_PRODUCTS}, {"stores", PROMO_SCOPE_STORES},
    {"zones", PROMO_SCOPE_ZONES},
};

static int64_t int_or_zero(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : atoll(PQgetvalue(res, row, col));
}

/* Counts the comma-separated parts of s ("" has none). */
static size_t parts(const char *s)
{
    size_t n = *s ? 1 : 0;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

/* Fills o from row r of an OFFER_COLUMNS result; -1 when out of memory. */
static int offer_read(offer_t *o, const PGresult *res, int r)
{
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", PQgetvalue(res, r, 0));
    snprintf(o->code, sizeof o->code, "%s", PQgetvalue(res, r, 1));
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, PQgetvalue(res, r, 2)) == 0)
            o->p.kind = kinds[i].kind;
    o->p.percent_bps = int_or_zero(res, r, 3);
    o->p.cap_paise = int_or_zero(res, r, 4);
    o->p.amount_paise = int_or_zero(res, r, 5);
    o->p.buy_qty = int_or_zero(res, r, 6);
    o->p.get_qty = int_or_zero(res, r, 7);
    o->p.bundle_price_paise = int_or_zero(res, r, 9);
    o->p.min_cart_paise = int_or_zero(res, r, 10);
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
        if (strcmp(scopes[i].name, PQgetvalue(res, r, 11)) == 0)
            o->p.scope.kind = scopes[i].scope;
    o->p.stackable = PQgetvalue(res, r, 13)[0] == 't';
    snprintf(o->unusable, sizeof o->unusable, "%s", PQgetvalue(res, r, 14));

    /* Scope ids: one block holding the text, pointers into it. */
    const char *ids = PQgetvalue(res, r, 12);
    size_t n = parts(ids);
    if (n) {
        o->id_text = strdup(ids);
        o->id_ptrs = calloc(n, sizeof *o->id_ptrs);
        if (!o->id_text || !o->id_ptrs)
            return -1;
        char *save = NULL, *tok = strtok_r(o->id_text, ",", &save);
        for (size_t i = 0; tok && i < n; tok = strtok_r(NULL, ",", &save))
            o->id_ptrs[i++] = tok;
        o->p.scope.ids = (const char *const *)o->id_ptrs;
        o->p.scope.n_ids = n;
    }
    const char *items = PQgetisnull(res, r, 8) ? "" : PQgetvalue(res, r, 8);
    n = parts(items);
    if (n) {
        o->items = calloc(n, sizeof *o->items);
        if (!o->items)
            return -1;
        const char *s = items;
        for (size_t i = 0; i < n; i++) {
            const char *colon = strchr(s, ':');
            if (!colon)
                break;
            snprintf(o->items[i].product_id, sizeof o->items[i].product_id, "%.*s",
                     (int)(colon - s), s);
            o->items[i].qty = atoll(colon + 1);
            const char *comma = strchr(colon, ',');
            s = comma ? comma + 1 : colon + strlen(colon);
        }
        o->p.bundle_items = o->items;
        o->p.n_bundle_items = n;
    }
    return 0;
}

static void offer_free(offer_t *o)
{
    free(o->id_text);
    free(o->id_ptrs);
    free(o->items);
    o->id_text = NULL;
    o->id_ptrs = NULL;
    o->items = NULL;
}

void pricing_free(pricing_t *pr)
{
    for (size_t i = 0; i < pr->noffers; i++)
        offer_free(&pr->offers[i]);
    free(pr->offers);
    free(pr->lines);
    free(pr->shares);
    memset(pr, 0, sizeof *pr);
}

int pricing_load_lines(job_ctx_t *ctx, pricing_t *pr)
{
    const char *params[] = {ctx->job->user_id};
    PGresult *res = PQexecParams(ctx->db, LINES_SQL, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    size_t n = (size_t)PQntuples(res);
    pr->lines = calloc(n ? n : 1, sizeof *pr->lines);
    if (!pr->lines) {
        PQclear(res);
        return job_fail(ctx, 503, "OUT_OF_MEMORY", "the cart could not be priced");
    }
    for (size_t i = 0; i < n; i++) {
        cart_line_t *l = &pr->lines[i];
        snprintf(l->product_id, sizeof l->product_id, "%s", PQgetvalue(res, (int)i, 0));
        snprintf(l->category_id, sizeof l->category_id, "%s", PQgetvalue(res, (int)i, 1));
        snprintf(l->store_id, sizeof l->store_id, "%s", PQgetvalue(res, (int)i, 2));
        snprintf(l->zone, sizeof l->zone, "%s", PQgetvalue(res, (int)i, 3));
        l->unit_price_paise = atoll(PQgetvalue(res, (int)i, 4));
        l->quantity = atoll(PQgetvalue(res, (int)i, 5));
    }
    pr->nlines = n;
    PQclear(res);
    return 0;
}

int pricing_load_offers(job_ctx_t *ctx, pricing_t *pr, offer_source_t source, const char *code)
{
    const char *params[] = {ctx->job->user_id, code};
    PGresult *res = PQexecParams(ctx->db, offer_sql[source], source == OFFERS_CODE ? 2 : 1, NULL,
                                 params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    size_t n = (size_t)PQntuples(res);
    offer_t *more = realloc(pr->offers, (pr->noffers + n + 1) * sizeof *more);
    if (!more) {
        PQclear(res);
        return job_fail(ctx, 503, "OUT_OF_MEMORY", "the promotions could not be read");
    }
    pr->offers = more;
    for (size_t i = 0; i < n; i++) {
        int failed = offer_read(&pr->offers[pr->noffers], res, (int)i);
        pr->noffers++; /* counted either way, so pricing_free frees it */
        if (failed) {
            PQclear(res);
            return job_fail(ctx, 503, "OUT_OF_MEMORY", "the promotions could not be read");
        }
    }
    PQclear(res);
    return 0;
}

/* ---- choosing and pricing ------------------------------------------------ */

int pricing_attach(pricing_t *pr, size_t added)
{
    offer_t *o = pr->offers, keep = o[added];
    /* Already attached: nothing moves. */
    for (size_t i = 0; i < added; i++)
        if (strcmp(o[i].id, keep.id) == 0) {
            offer_free(&o[added]);
            pr->noffers = added;
            return 0;
        }
    int alone = !keep.p.stackable;
    for (size_t i = 0; i < added && !alone; i++)
        alone = !o[i].p.stackable;
    if (!alone)
        return 0;
    for (size_t i = 0; i < added; i++)
        offer_free(&o[i]);
    o[0] = keep;
    pr->noffers = 1;
    return 1;
}

void pricing_keep(pricing_t *pr, size_t keep)
{
    offer_t kept = pr->offers[keep];
    for (size_t i = 0; i < pr->noffers; i++)
        if (i != keep)
            offer_free(&pr->offers[i]);
    pr->offers[0] = kept;
    pr->noffers = 1;
}

const char *offer_reason(const offer_t *o)
{
    return o->unusable[0] ? o->unusable : promo_why_name(o->why);
}

int pricing_stack(job_ctx_t *ctx, pricing_t *pr)
{
    /* The usable offers, in attach order. Promotions edited since they were
     * attached may no longer stack: then the latest exclusive one counts on
     * its own and the others are reported as not stackable. */
    const promo_t **ps = calloc(pr->noffers + 1, sizeof *ps);
    size_t *at = calloc(pr->noffers + 1, sizeof *at), n = 0, exclusive = pr->noffers;
    free(pr->shares);
    pr->shares = calloc(pr->noffers * pr->nlines + 1, sizeof *pr->shares);
    if (!ps || !at || !pr->shares) {
        free(ps);
        free(at);
        return job_fail(ctx, 503, "OUT_OF_MEMORY", "the cart could not be priced");
    }
    for (size_t i = 0; i < pr->noffers; i++) {
        pr->offers[i].discount = 0;
        pr->offers[i].why = PROMO_WHY_NO_SAVING;
        if (!pr->offers[i].unusable[0] && !pr->offers[i].p.stackable)
            exclusive = i;
    }
    for (size_t i = 0; i < pr->noffers; i++) {
        offer_t *o = &pr->offers[i];
        if (o->unusable[0])
            continue;
        if (exclusive < pr->noffers && i != exclusive) {
            snprintf(o->unusable, sizeof o->unusable, "not_stackable");
            continue;
        }
        ps[n] = &o->p;
        at[n++] = i;
    }
    int64_t *each = calloc(n + 1, sizeof *each),
            *shares = calloc(n * pr->nlines + 1, sizeof *shares);
    promo_why_t why = each && shares
                          ? promo_stack(ps, n, pr->lines, pr->nlines, each, shares, &pr->total)
                          : PROMO_WHY_NO_MEMORY;
    for (size_t k = 0; why == PROMO_OK && k < n; k++) {
        offer_t *o = &pr->offers[at[k]];
        o->discount = each[k];
        /* Why, as on its own (a stack only limits to what is left). */
        if (promo_discount(&o->p, pr->lines, pr->nlines, &o->why) > 0 && each[k] == 0)
            o->why = PROMO_WHY_NOTHING_LEFT;
        memcpy(pr->shares + at[k] * pr->nlines, shares + k * pr->nlines,
               pr->nlines * sizeof *shares);
    }
    free(ps);
    free(at);
    free(each);
    free(shares);
    if (why != PROMO_OK)
        return job_fail(ctx, 500, "PROMOTION_ARITHMETIC",
                        "the discount could not be worked out: %s", promo_why_name(why));
    return 0;
}

void pricing_alone(pricing_t *pr)
{
    for (size_t i = 0; i < pr->noffers; i++) {
        offer_t *o = &pr->offers[i];
        o->discount = 0;
        o->why = PROMO_WHY_NO_SAVING;
        if (!o->unusable[0]) {
            int64_t d = promo_discount(&o->p, pr->lines, pr->nlines, &o->why);
            o->discount = d > 0 ? d : 0;
        }
    }
}

/* ---- reporting ----------------------------------------------------------- */

void pricing_arrays(const pricing_t *pr, buf_t *ids, buf_t *discounts, buf_t *reasons)
{
    /* PostgreSQL array literals of uuids, integers and snake_case words:
     * nothing in them needs quoting. */
    buf_append_char(ids, '{');
    buf_append_char(discounts, '{');
    buf_append_char(reasons, '{');
    for (size_t i = 0; i < pr->noffers; i++) {
        const offer_t *o = &pr->offers[i];
        const char *sep = i ? "," : "";
        buf_printf(ids, "%s%s", sep, o->id);
        buf_printf(discounts, "%s%lld", sep, (long long)o->discount);
        buf_printf(reasons, "%s%s", sep, offer_reason(o));
    }
    buf_append_char(ids, '}');
    buf_append_char(discounts, '}');
    buf_append_char(reasons, '}');
}

int offer_refuse(job_ctx_t *ctx, int status, const char *error, const offer_t *o)
{
    job_fail(ctx, status, error, "promotion %s %s: %s", o->code,
             strcmp(error, "PROMOTION_UNAVAILABLE") == 0 ? "cannot be used"
                                                         : "does not apply to this cart",
             offer_reason(o));
    buf_t details = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &details, buf_msgpack_write);
    msgpack_pack_map(&pk, 4);
    mp_kv_str(&pk, "promotion_id", o->id);
    mp_kv_str(&pk, "code", o->code);
    mp_kv_str(&pk, "reason", offer_reason(o));
    mp_kv_i64(&pk, "min_cart_paise", o->p.min_cart_paise);
    job_fail_details(ctx, details.data, details.len);
    buf_free(&details);
    return status;
}
