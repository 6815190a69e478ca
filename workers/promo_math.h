/*
 * promo_math - the discount arithmetic of promotions: pure functions, no
 * database, no I/O. docs/PROMOTIONS.md states the rules these implement.
 *
 * Money is integer paise (int64_t). Every function checks its inputs: a
 * negative price or quantity, a malformed promotion or an amount that would
 * not fit in int64_t is reported as an error (never clamped, never undefined
 * behaviour). Scope is all, categories, products, stores or zones.
 */
#ifndef MANDI_PROMO_MATH_H
#define MANDI_PROMO_MATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ids are UUID text: 36 characters and the NUL; zone names are at most 64. */
#define PROMO_ID_SIZE   37
#define PROMO_ZONE_SIZE 65

/* What promo_discount returns on an error (why says which). */
#define PROMO_ERROR (-1)

typedef struct {
    char product_id[PROMO_ID_SIZE];
    char category_id[PROMO_ID_SIZE];
    char store_id[PROMO_ID_SIZE];
    char zone[PROMO_ZONE_SIZE]; /* the store's zone */
    int64_t unit_price_paise;   /* >= 0 */
    int64_t quantity;           /* >= 0 */
} cart_line_t;

typedef enum {
    PROMO_PERCENTAGE = 1,
    PROMO_FIXED,
    PROMO_BUY_X_GET_Y,
    PROMO_BUNDLE,
} promo_kind_t;

typedef enum {
    PROMO_SCOPE_ALL = 0,
    PROMO_SCOPE_CATEGORIES,
    PROMO_SCOPE_PRODUCTS,
    PROMO_SCOPE_STORES,
    PROMO_SCOPE_ZONES,
} promo_scope_kind_t;

typedef struct {
    promo_scope_kind_t kind;
    const char *const *ids; /* the categories, products, stores or zones; n_ids >= 1 unless ALL */
    size_t n_ids;
} promo_scope_t;

typedef struct {
    char product_id[PROMO_ID_SIZE];
    int64_t qty; /* units needed per bundle, >= 1 */
} promo_bundle_item_t;

typedef struct {
    promo_kind_t kind;
    int64_t percent_bps;                     /* PERCENTAGE: 1..10000 */
    int64_t cap_paise;                       /* PERCENTAGE: >= 0, 0 = no cap */
    int64_t amount_paise;                    /* FIXED: >= 1 */
    int64_t buy_qty;                         /* BUY_X_GET_Y: >= 1 */
    int64_t get_qty;                         /* BUY_X_GET_Y: >= 1 */
    const promo_bundle_item_t *bundle_items; /* BUNDLE: distinct products */
    size_t n_bundle_items;                   /* BUNDLE: >= 1 */
    int64_t bundle_price_paise;              /* BUNDLE: >= 0 */
    int64_t min_cart_paise;                  /* >= 0, against the whole cart */
    promo_scope_t scope;
    bool stackable;
} promo_t;

/* Why a promotion gives what it gives. The first three are answers (the
 * promotion applies, or does not); the rest are errors. */
typedef enum {
    PROMO_OK = 0,            /* applies: the discount is > 0 */
    PROMO_WHY_BELOW_MINIMUM, /* cart subtotal < min_cart_paise */
    PROMO_WHY_NOT_IN_SCOPE,  /* no line in scope with quantity > 0 */
    PROMO_WHY_NOT_ENOUGH,    /* fewer than buy+get units, or not one whole bundle */
    PROMO_WHY_NO_SAVING,     /* applies but saves nothing (rounds to 0, bundle not cheaper) */
    PROMO_WHY_NOTHING_LEFT,  /* promo_stack: earlier promotions used up the cart */
    PROMO_WHY_INVALID_PROMO, /* error: a field of the promotion is out of range */
    PROMO_WHY_INVALID_CART,  /* error: a negative price or quantity, or no lines array */
    PROMO_WHY_OVERFLOW,      /* error: an amount or count does not fit in int64_t */
    PROMO_WHY_NO_MEMORY,     /* error: allocation failed */
    PROMO_WHY_NOT_STACKABLE, /* error: promo_stack given a promotion not marked stackable */
} promo_why_t;

/* True for the codes that are errors rather than answers. */
bool promo_why_is_error(promo_why_t why);

/* A short snake_case name for why, e.g. "below_minimum". */
const char *promo_why_name(promo_why_t why);

/* The cart subtotal (sum of unit price x quantity over all lines) in *out.
 * PROMO_OK, PROMO_WHY_INVALID_CART or PROMO_WHY_OVERFLOW. */
promo_why_t promo_cart_subtotal(const cart_line_t *lines, size_t n, int64_t *out);

/* The subtotal of the lines in p's scope in *out. Also checks the cart. */
promo_why_t promo_eligible_subtotal(const promo_t *p, const cart_line_t *lines, size_t n,
                                    int64_t *out);

/* The discount p gives on the cart: > 0 when it applies, 0 when it does
 * not, PROMO_ERROR on an error. *why (may be NULL) says which. */
int64_t promo_discount(const promo_t *p, const cart_line_t *lines, size_t n, promo_why_t *why);

/* The index of the promotion with the highest discount, ties to the earlier
 * index; n when none gives a discount. *discount (may be NULL) receives it
 * (0 when none). A promotion whose own fields are invalid is skipped; an
 * invalid or overflowing cart returns n with *discount = PROMO_ERROR. */
size_t promo_best(const promo_t *const *ps, size_t n, const cart_line_t *lines, size_t nlines,
                  int64_t *discount);

/* Applies ps[0], ps[1], ... in that order, each on what the earlier ones
 * left of the lines it works on, and splits each discount over those lines
 * (see docs/PROMOTIONS.md). Every promotion must be stackable when n > 1.
 * each (may be NULL, n entries) receives each promotion's discount, shares
 * (may be NULL, n x nlines entries, promotion-major) each promotion's part
 * of each line, and *total the sum. No line is discounted beyond its own
 * value, so the total never exceeds the cart subtotal. Returns PROMO_OK or
 * an error code, in which case each, shares and *total are 0. */
promo_why_t promo_stack(const promo_t *const *ps, size_t n, const cart_line_t *lines, size_t nlines,
                        int64_t *each, int64_t *shares, int64_t *total);

#endif
