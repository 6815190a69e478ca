/*
 * orders_offer - promotions from the customer's side: what each would save
 * on the cart (preview), attaching one (apply) and taking them off.
 *
 * A cart holds either one exclusive promotion or any number of stackable
 * ones, stacked in the order they were attached (pricing_attach). The cart
 * view, preview and checkout price them with the same code.
 */
#include <stdio.h>
#include <string.h>

#include "input.h"
#include "orders.h"

#define CODE_MAX 64

/* The optional {"code"} of a body that may be absent altogether. */
static int read_code(job_ctx_t *ctx, char code[CODE_MAX + 1], int *found)
{
    const msgpack_object *body = job_body(ctx->job);
    *found = IN_ABSENT;
    code[0] = '\0';
    if (!body || body->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (body->type != MSGPACK_OBJECT_MAP)
        return input_body(ctx, &body);
    return input_str(ctx, body, "code", IN_OPTIONAL, 1, CODE_MAX, code, CODE_MAX + 1, found);
}

/* Each offer with what it would save, the largest first (ties: the older
 * promotion, as promo_best), and the best one. */
#define PREVIEW_SQL                                                                                \
    "WITH d AS (SELECT * FROM unnest($2::uuid[], $3::bigint[], $4::text[]) "                       \
    "  WITH ORDINALITY d(id, discount, reason, ord)) "                                             \
    "SELECT jsonb_build_object('subtotal_paise', $1::bigint, "                                     \
    "  'best', (SELECT d.id FROM d WHERE d.discount > 0 ORDER BY d.discount DESC, d.ord LIMIT "    \
    "1), "                                                                                         \
    "  'promotions', (SELECT coalesce(jsonb_agg(jsonb_build_object('promotion_id', p.id, "         \
    "    'code', p.code, 'name', p.name, 'description', p.description, 'kind', p.kind, "           \
    "    'stackable', p.stackable, 'min_cart_paise', p.min_cart_paise, "                           \
    "    'ends_at', mandi_ts(p.ends_at), 'discount_paise', d.discount, "                           \
    "    'applies', d.discount > 0, 'reason', d.reason) ORDER BY d.discount DESC, d.ord), '[]') "  \
    "    FROM d JOIN promotions p ON p.id = d.id))::text"

int promotion_preview(job_ctx_t *ctx)
{
    char code[CODE_MAX + 1];
    int found, rc;
    if ((rc = read_code(ctx, code, &found)) || (rc = cart_open(ctx)))
        return rc;
    pricing_t pr = {0};
    if ((rc = pricing_load_lines(ctx, &pr)) ||
        (rc = pricing_load_offers(ctx, &pr, found == IN_PRESENT ? OFFERS_CODE : OFFERS_LIVE,
                                  code))) {
        pricing_free(&pr);
        return rc;
    }
    if (found == IN_PRESENT && pr.noffers == 0) {
        pricing_free(&pr);
        return job_fail(ctx, 422, "PROMOTION_NOT_FOUND", "no promotion has the code %s", code);
    }
    pricing_alone(&pr);
    int64_t subtotal = 0;
    promo_cart_subtotal(pr.lines, pr.nlines, &subtotal);
    buf_t ids = BUF_INIT, discounts = BUF_INIT, reasons = BUF_INIT;
    pricing_arrays(&pr, &ids, &discounts, &reasons);
    pricing_free(&pr);
    char sub[24];
    snprintf(sub, sizeof sub, "%lld", (long long)subtotal);
    const char *params[] = {sub, ids.data, discounts.data, reasons.data};
    rc = answer_json(ctx, 200, PREVIEW_SQL, 4, params, "PROMOTION_NOT_FOUND", "no promotion");
    buf_free(&ids);
    buf_free(&discounts);
    buf_free(&reasons);
    return rc;
}

/* Chooses what apply attaches: the named promotion, or the live one that
 * saves the most on its own. *added is its index; *replace says whether it
 * replaces the promotions attached before. */
static int choose(job_ctx_t *ctx, pricing_t *pr, const char *code, size_t *added, int *replace)
{
    size_t attached = pr->noffers;
    int rc = pricing_load_offers(ctx, pr, code ? OFFERS_CODE : OFFERS_LIVE, code);
    if (rc)
        return rc;
    if (code) {
        if (pr->noffers == attached)
            return job_fail(ctx, 422, "PROMOTION_NOT_FOUND", "no promotion has the code %s", code);
        if (pr->offers[attached].unusable[0])
            return offer_refuse(ctx, 422, "PROMOTION_UNAVAILABLE", &pr->offers[attached]);
        char id[37];
        snprintf(id, sizeof id, "%s", pr->offers[attached].id);
        *replace = pricing_attach(pr, attached);
        for (*added = 0; strcmp(pr->offers[*added].id, id) != 0; ++*added)
            ;
        return 0;
    }
    pricing_alone(pr);
    size_t best = pr->noffers;
    for (size_t i = attached; i < pr->noffers; i++)
        if (pr->offers[i].discount > 0 &&
            (best == pr->noffers || pr->offers[i].discount > pr->offers[best].discount))
            best = i;
    if (best == pr->noffers)
        return job_fail(ctx, 422, "PROMOTION_NOT_APPLICABLE",
                        "no promotion applies to this cart as it is");
    pricing_keep(pr, best); /* the best replaces whatever the cart held */
    *added = 0;
    *replace = 1;
    return 0;
}

int promotion_apply(job_ctx_t *ctx)
{
    char code[CODE_MAX + 1];
    int found, replace = 0, rc;
    size_t added = 0;
    if ((rc = read_code(ctx, code, &found)) || (rc = cart_open(ctx)))
        return rc;
    pricing_t pr = {0};
    if ((rc = pricing_load_lines(ctx, &pr)) ||
        (rc = pricing_load_offers(ctx, &pr, OFFERS_ATTACHED, NULL)) ||
        (rc = choose(ctx, &pr, found == IN_PRESENT ? code : NULL, &added, &replace)) ||
        (rc = pricing_stack(ctx, &pr))) {
        pricing_free(&pr);
        return rc;
    }
    const offer_t *o = &pr.offers[added];
    if (o->discount == 0) {
        rc = offer_refuse(ctx, 422, "PROMOTION_NOT_APPLICABLE", o);
        pricing_free(&pr);
        return rc;
    }
    const char *params[] = {ctx->job->user_id, o->id};
    if (replace)
        rc = answer_exec(ctx, "DELETE FROM cart_promotions WHERE user_id = $1", 1, params);
    if (!rc)
        rc = answer_exec(ctx,
                         "INSERT INTO cart_promotions (user_id, promotion_id) VALUES ($1, $2) "
                         "ON CONFLICT DO NOTHING",
                         2, params);
    pricing_free(&pr);
    return rc ? rc : cart_answer(ctx, 200);
}

int cart_detach_promotions(job_ctx_t *ctx)
{
    int rc = cart_open(ctx);
    if (rc)
        return rc;
    const char *params[] = {ctx->job->user_id};
    if ((rc = answer_exec(ctx, "DELETE FROM cart_promotions WHERE user_id = $1", 1, params)))
        return rc;
    return cart_answer(ctx, 200);
}
