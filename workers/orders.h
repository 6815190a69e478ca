/*
 * orders - the orders pool: the cart, orders and their state machine,
 * delivery routes (and, as the pool grows, promotions).
 */
#ifndef MANDI_ORDERS_H
#define MANDI_ORDERS_H

#include "answer.h"
#include "buf.h"
#include "promo_math.h"
#include "worker.h"

extern const job_handler_t orders_jobs[];

int cart_get(job_ctx_t *ctx);
int cart_add_item(job_ctx_t *ctx);
int cart_update_item(job_ctx_t *ctx);
int cart_remove_item(job_ctx_t *ctx);
int cart_clear(job_ctx_t *ctx);
int cart_validate(job_ctx_t *ctx);

typedef enum {
    CART_VALID,          /* no problem blocks the checkout */
    CART_SHORT_OF_STOCK, /* only stock problems block it */
    CART_BLOCKED,        /* other problems block it (maybe stock ones too) */
} cart_verdict_t;

/* Validates the caller's cart: *verdict says what blocks it, and json
 * receives {"valid", "problems"}, with "cart" too with with_cart. address (may be NULL) must be the
 * caller's (else 404 ADDRESS_NOT_FOUND). Returns 0 or the status answered. */
int cart_problems(job_ctx_t *ctx, const char *address, int with_cart, cart_verdict_t *verdict,
                  buf_t *json);

/* Opens (and locks) the caller's cart, emptying it when idle too long. */
int cart_open(job_ctx_t *ctx);

/* ---- pricing (orders_pricing.c) ---- */

/* A promotion in play on a cart. */
typedef struct {
    char id[37];
    char code[33];
    char unusable[16]; /* "" when it can be used now, else why (expired, exhausted...) */
    promo_t p;         /* points into the three blocks below */
    char *id_text;
    char **id_ptrs;
    promo_bundle_item_t *items;
    int64_t discount; /* what it takes where it was priced */
    promo_why_t why;  /* why discount is what it is (when usable) */
} offer_t;

/* The caller's cart lines (those for sale) and the offers priced on it.
 * shares (after pricing_stack) holds each offer's part of each line,
 * offer-major. Zero-initialise; pricing_free frees. */
typedef struct {
    cart_line_t *lines;
    size_t nlines;
    offer_t *offers;
    size_t noffers;
    int64_t *shares;
    int64_t total;
} pricing_t;

typedef enum {
    OFFERS_ATTACHED, /* the cart's, in attach order */
    OFFERS_CODE,     /* the one with a code (none when unknown or deleted) */
    OFFERS_LIVE,     /* every promotion active now, oldest first */
} offer_source_t;

int pricing_load_lines(job_ctx_t *ctx, pricing_t *pr);
/* Appends the offers of source to pr (code: for OFFERS_CODE). */
int pricing_load_offers(job_ctx_t *ctx, pricing_t *pr, offer_source_t source, const char *code);
/* Attaches offers[added] (the last) to the ones before it: an exclusive
 * promotion, or any promotion joining an exclusive one, replaces them all;
 * a stackable one joins stackable ones; one already there changes nothing
 * (and is dropped from the end). Returns 1 when the others were replaced. */
int pricing_attach(pricing_t *pr, size_t added);
/* Keeps offers[keep] alone (as offers[0]), freeing the others. */
void pricing_keep(pricing_t *pr, size_t keep);
/* Prices the offers as a stack, in order (usable ones only). */
int pricing_stack(job_ctx_t *ctx, pricing_t *pr);
/* Prices each usable offer on its own. */
void pricing_alone(pricing_t *pr);
/* What to report for o: its unusable reason or promo_why_name. */
const char *offer_reason(const offer_t *o);
/* PostgreSQL array literals of the offers' ids, discounts and reasons. */
void pricing_arrays(const pricing_t *pr, buf_t *ids, buf_t *discounts, buf_t *reasons);
void pricing_free(pricing_t *pr);
/* Fails with error (PROMOTION_UNAVAILABLE or PROMOTION_NOT_APPLICABLE)
 * about o: details {"promotion_id", "code", "reason", "min_cart_paise"}. */
int offer_refuse(job_ctx_t *ctx, int status, const char *error, const offer_t *o);

/* The caller's cart as JSON, priced with its promotions, appended to out. */
int cart_json(job_ctx_t *ctx, buf_t *out);
/* Answers the caller's cart with ok_status, priced with its promotions. */
int cart_answer(job_ctx_t *ctx, int ok_status);

/* ---- promotions (orders_promotion.c, orders_offer.c) ---- */

int promotion_list(job_ctx_t *ctx);
int promotion_create(job_ctx_t *ctx);
int promotion_get(job_ctx_t *ctx);
int promotion_update(job_ctx_t *ctx);
int promotion_delete(job_ctx_t *ctx);
int promotion_preview(job_ctx_t *ctx);
int promotion_apply(job_ctx_t *ctx);
int cart_detach_promotions(job_ctx_t *ctx);

int order_create(job_ctx_t *ctx);
int order_list(job_ctx_t *ctx);
int order_stats(job_ctx_t *ctx);
int order_get(job_ctx_t *ctx);
int order_set_status(job_ctx_t *ctx);
int order_cancel(job_ctx_t *ctx);
int order_expire_unpaid(job_ctx_t *ctx);

/* Records the event topic about order id in the outbox, in the job's
 * transaction: the order without items and address, merged with extra
 * (JSON text or NULL). Used by every pool that moves an order. */
int order_event(job_ctx_t *ctx, const char *topic, const char *id, const char *extra);

int route_list(job_ctx_t *ctx);
int route_get(job_ctx_t *ctx);
int route_create(job_ctx_t *ctx);
int route_update(job_ctx_t *ctx);
int route_delete(job_ctx_t *ctx);
int route_assign(job_ctx_t *ctx);

#endif
