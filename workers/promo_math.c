/*
 * promo_math - the discount arithmetic of promotions (see promo_math.h and
 * docs/PROMOTIONS.md). Every sum and product goes through the overflow
 * builtins; an amount that does not fit is an error, never wrapped.
 */
#include "promo_math.h"

#include <stdlib.h>
#include <string.h>

bool promo_why_is_error(promo_why_t why)
{
    return why >= PROMO_WHY_INVALID_PROMO;
}

const char *promo_why_name(promo_why_t why)
{
    switch (why) {
    case PROMO_OK:
        return "ok";
    case PROMO_WHY_BELOW_MINIMUM:
        return "below_minimum";
    case PROMO_WHY_NOT_IN_SCOPE:
        return "not_in_scope";
    case PROMO_WHY_NOT_ENOUGH:
        return "not_enough_items";
    case PROMO_WHY_NO_SAVING:
        return "no_saving";
    case PROMO_WHY_NOTHING_LEFT:
        return "nothing_left";
    case PROMO_WHY_INVALID_PROMO:
        return "invalid_promotion";
    case PROMO_WHY_INVALID_CART:
        return "invalid_cart";
    case PROMO_WHY_OVERFLOW:
        return "overflow";
    case PROMO_WHY_NO_MEMORY:
        return "no_memory";
    case PROMO_WHY_NOT_STACKABLE:
        return "not_stackable";
    }
    return "unknown";
}

/* Ids compare as NUL-terminated text of at most PROMO_ID_SIZE bytes, so an
 * unterminated array is never read past its end. */
static bool id_equal(const char *a, const char *b)
{
    return strncmp(a, b, PROMO_ID_SIZE) == 0;
}

promo_why_t promo_cart_subtotal(const cart_line_t *lines, size_t n, int64_t *out)
{
    *out = 0;
    if (n > 0 && !lines)
        return PROMO_WHY_INVALID_CART;
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t line;
        if (lines[i].unit_price_paise < 0 || lines[i].quantity < 0)
            return PROMO_WHY_INVALID_CART;
        if (__builtin_mul_overflow(lines[i].unit_price_paise, lines[i].quantity, &line) ||
            __builtin_add_overflow(sum, line, &sum))
            return PROMO_WHY_OVERFLOW;
    }
    *out = sum;
    return PROMO_OK;
}

static bool scope_valid(const promo_scope_t *s)
{
    switch (s->kind) {
    case PROMO_SCOPE_ALL:
        return true;
    case PROMO_SCOPE_CATEGORIES:
    case PROMO_SCOPE_PRODUCTS:
    case PROMO_SCOPE_STORES:
    case PROMO_SCOPE_ZONES:
        if (s->n_ids == 0 || !s->ids)
            return false;
        for (size_t i = 0; i < s->n_ids; i++)
            if (!s->ids[i])
                return false;
        return true;
    }
    return false;
}

static bool in_scope(const promo_scope_t *s, const cart_line_t *line)
{
    const char *id;
    switch (s->kind) {
    case PROMO_SCOPE_ALL:
        return true;
    case PROMO_SCOPE_CATEGORIES:
        id = line->category_id;
        break;
    case PROMO_SCOPE_PRODUCTS:
        id = line->product_id;
        break;
    case PROMO_SCOPE_STORES:
        id = line->store_id;
        break;
    case PROMO_SCOPE_ZONES:
        for (size_t i = 0; i < s->n_ids; i++)
            if (strncmp(line->zone, s->ids[i], PROMO_ZONE_SIZE) == 0)
                return true;
        return false;
    default:
        return false;
    }
    for (size_t i = 0; i < s->n_ids; i++)
        if (id_equal(id, s->ids[i]))
            return true;
    return false;
}

static bool promo_valid(const promo_t *p)
{
    if (!p || p->min_cart_paise < 0 || !scope_valid(&p->scope))
        return false;
    switch (p->kind) {
    case PROMO_PERCENTAGE:
        return p->percent_bps >= 1 && p->percent_bps <= 10000 && p->cap_paise >= 0;
    case PROMO_FIXED:
        return p->amount_paise >= 1;
    case PROMO_BUY_X_GET_Y: {
        int64_t group;
        return p->buy_qty >= 1 && p->get_qty >= 1 &&
               !__builtin_add_overflow(p->buy_qty, p->get_qty, &group);
    }
    case PROMO_BUNDLE:
        if (p->n_bundle_items == 0 || !p->bundle_items || p->bundle_price_paise < 0)
            return false;
        for (size_t i = 0; i < p->n_bundle_items; i++) {
            if (p->bundle_items[i].qty < 1)
                return false;
            for (size_t j = 0; j < i; j++)
                if (id_equal(p->bundle_items[i].product_id, p->bundle_items[j].product_id))
                    return false;
        }
        return true;
    }
    return false;
}

/* The eligible subtotal and whether any in-scope line has units. The cart
 * has been checked (promo_cart_subtotal), so no line total overflows. */
static promo_why_t eligible(const promo_t *p, const cart_line_t *lines, size_t n, int64_t *out,
                            bool *any)
{
    int64_t sum = 0;
    *any = false;
    for (size_t i = 0; i < n; i++) {
        if (!in_scope(&p->scope, &lines[i]))
            continue;
        int64_t line;
        if (__builtin_mul_overflow(lines[i].unit_price_paise, lines[i].quantity, &line) ||
            __builtin_add_overflow(sum, line, &sum))
            return PROMO_WHY_OVERFLOW;
        if (lines[i].quantity > 0)
            *any = true;
    }
    *out = sum;
    return PROMO_OK;
}

promo_why_t promo_eligible_subtotal(const promo_t *p, const cart_line_t *lines, size_t n,
                                    int64_t *out)
{
    int64_t subtotal;
    bool any;
    *out = 0;
    if (!promo_valid(p))
        return PROMO_WHY_INVALID_PROMO;
    promo_why_t why = promo_cart_subtotal(lines, n, &subtotal);
    if (why != PROMO_OK)
        return why;
    return eligible(p, lines, n, out, &any);
}

/* floor(base x bps / 10000) without a wider type: base = q x 10000 + r, so
 * the result is q x bps + floor(r x bps / 10000). With bps <= 10000 the
 * first term is at most base and r x bps < 10^8. */
static int64_t percent_floor(int64_t base, int64_t bps)
{
    int64_t q = base / 10000, r = base % 10000;
    return q * bps + r * bps / 10000;
}

/* One in-scope line for buy-x-get-y: its price, units and cart position. */
typedef struct {
    int64_t price;
    int64_t qty;
    size_t index;
} unit_run_t;

static int run_order(const void *a, const void *b)
{
    const unit_run_t *x = a, *y = b;
    if (x->price != y->price)
        return x->price > y->price ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The free units among positions [0, pos) of the price-ordered walk, with
 * groups of g = buy + get whose last get positions are free. Only called
 * for pos within the complete groups. */
static int64_t free_before(int64_t pos, int64_t buy, int64_t get)
{
    int64_t g = buy + get;
    int64_t in_group = pos % g;
    return pos / g * get + (in_group > buy ? in_group - buy : 0);
}

static int64_t buy_x_get_y(const promo_t *p, const cart_line_t *lines, size_t n, promo_why_t *why)
{
    size_t runs = 0;
    for (size_t i = 0; i < n; i++)
        if (lines[i].quantity > 0 && in_scope(&p->scope, &lines[i]))
            runs++;
    unit_run_t *run = malloc(runs * sizeof *run);
    if (!run) {
        *why = PROMO_WHY_NO_MEMORY;
        return PROMO_ERROR;
    }
    int64_t units = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (lines[i].quantity == 0 || !in_scope(&p->scope, &lines[i]))
            continue;
        run[k++] = (unit_run_t){lines[i].unit_price_paise, lines[i].quantity, i};
        if (__builtin_add_overflow(units, lines[i].quantity, &units)) {
            free(run);
            *why = PROMO_WHY_OVERFLOW;
            return PROMO_ERROR;
        }
    }
    int64_t group = p->buy_qty + p->get_qty; /* checked by promo_valid */
    if (units < group) {
        free(run);
        *why = PROMO_WHY_NOT_ENOUGH;
        return 0;
    }
    qsort(run, runs, sizeof *run, run_order);
    int64_t walked = units / group * group; /* units in complete groups */
    int64_t start = 0, discount = 0;
    for (size_t i = 0; i < runs && start < walked; i++) {
        int64_t end = run[i].qty > walked - start ? walked : start + run[i].qty;
        int64_t free_units =
            free_before(end, p->buy_qty, p->get_qty) - free_before(start, p->buy_qty, p->get_qty);
        int64_t saved;
        if (__builtin_mul_overflow(free_units, run[i].price, &saved) ||
            __builtin_add_overflow(discount, saved, &discount)) {
            free(run);
            *why = PROMO_WHY_OVERFLOW;
            return PROMO_ERROR;
        }
        start = end;
    }
    free(run);
    *why = discount > 0 ? PROMO_OK : PROMO_WHY_NO_SAVING;
    return discount;
}

static int64_t bundle(const promo_t *p, const cart_line_t *lines, size_t n, promo_why_t *why)
{
    int64_t sets = INT64_MAX, set_price = 0;
    for (size_t b = 0; b < p->n_bundle_items; b++) {
        const promo_bundle_item_t *item = &p->bundle_items[b];
        int64_t have = 0, lowest = -1;
        for (size_t i = 0; i < n; i++) {
            if (lines[i].quantity == 0 || !id_equal(lines[i].product_id, item->product_id) ||
                !in_scope(&p->scope, &lines[i]))
                continue;
            if (__builtin_add_overflow(have, lines[i].quantity, &have)) {
                *why = PROMO_WHY_OVERFLOW;
                return PROMO_ERROR;
            }
            if (lowest < 0 || lines[i].unit_price_paise < lowest)
                lowest = lines[i].unit_price_paise;
        }
        if (have / item->qty < sets)
            sets = have / item->qty;
        if (sets == 0) {
            *why = PROMO_WHY_NOT_ENOUGH;
            return 0;
        }
        int64_t part;
        if (__builtin_mul_overflow(lowest, item->qty, &part) ||
            __builtin_add_overflow(set_price, part, &set_price)) {
            *why = PROMO_WHY_OVERFLOW;
            return PROMO_ERROR;
        }
    }
    if (set_price <= p->bundle_price_paise) {
        *why = PROMO_WHY_NO_SAVING;
        return 0;
    }
    int64_t discount;
    if (__builtin_mul_overflow(sets, set_price - p->bundle_price_paise, &discount)) {
        *why = PROMO_WHY_OVERFLOW;
        return PROMO_ERROR;
    }
    *why = PROMO_OK;
    return discount;
}

/* The discount of p on the cart when at most left paise of it remain to be
 * discounted (INT64_MAX for a promotion on its own). */
static int64_t discount_within(const promo_t *p, const cart_line_t *lines, size_t n, int64_t left,
                               promo_why_t *why)
{
    int64_t subtotal, base, d;
    bool any;
    if (!promo_valid(p)) {
        *why = PROMO_WHY_INVALID_PROMO;
        return PROMO_ERROR;
    }
    if ((*why = promo_cart_subtotal(lines, n, &subtotal)) != PROMO_OK)
        return PROMO_ERROR;
    if (subtotal < p->min_cart_paise) {
        *why = PROMO_WHY_BELOW_MINIMUM;
        return 0;
    }
    if ((*why = eligible(p, lines, n, &base, &any)) != PROMO_OK)
        return PROMO_ERROR;
    if (!any) {
        *why = PROMO_WHY_NOT_IN_SCOPE;
        return 0;
    }
    switch (p->kind) {
    case PROMO_PERCENTAGE:
        d = percent_floor(base < left ? base : left, p->percent_bps);
        if (p->cap_paise > 0 && d > p->cap_paise)
            d = p->cap_paise;
        *why = d > 0 ? PROMO_OK : PROMO_WHY_NO_SAVING;
        break;
    case PROMO_FIXED:
        d = p->amount_paise < base ? p->amount_paise : base;
        *why = d > 0 ? PROMO_OK : PROMO_WHY_NO_SAVING;
        break;
    case PROMO_BUY_X_GET_Y:
        d = buy_x_get_y(p, lines, n, why);
        break;
    case PROMO_BUNDLE:
        d = bundle(p, lines, n, why);
        break;
    default: /* excluded by promo_valid */
        *why = PROMO_WHY_INVALID_PROMO;
        return PROMO_ERROR;
    }
    if (d > left) {
        d = left;
        if (d == 0)
            *why = PROMO_WHY_NOTHING_LEFT;
    }
    return d;
}

int64_t promo_discount(const promo_t *p, const cart_line_t *lines, size_t n, promo_why_t *why)
{
    promo_why_t ignored;
    return discount_within(p, lines, n, INT64_MAX, why ? why : &ignored);
}

size_t promo_best(const promo_t *const *ps, size_t n, const cart_line_t *lines, size_t nlines,
                  int64_t *discount)
{
    int64_t subtotal, best_d = 0;
    size_t best = n;
    if (promo_cart_subtotal(lines, nlines, &subtotal) != PROMO_OK) {
        if (discount)
            *discount = PROMO_ERROR;
        return n;
    }
    for (size_t i = 0; ps && i < n; i++) {
        promo_why_t why;
        int64_t d = promo_discount(ps[i], lines, nlines, &why);
        if (d > best_d) { /* strictly greater: ties keep the earlier index */
            best_d = d;
            best = i;
        }
    }
    if (discount)
        *discount = best_d;
    return best;
}

/* Whether p's discount is taken from line l: a line in scope with units,
 * and for a bundle one of the bundle's products. */
static bool works_on(const promo_t *p, const cart_line_t *l)
{
    if (l->quantity == 0 || !in_scope(&p->scope, l))
        return false;
    if (p->kind != PROMO_BUNDLE)
        return true;
    for (size_t b = 0; b < p->n_bundle_items; b++)
        if (id_equal(l->product_id, p->bundle_items[b].product_id))
            return true;
    return false;
}

typedef struct {
    int64_t remainder;
    size_t index;
} remainder_t;

static int remainder_order(const void *a, const void *b)
{
    const remainder_t *x = a, *y = b;
    if (x->remainder != y->remainder)
        return x->remainder > y->remainder ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Splits d over the lines p works on in proportion to what is left of each
 * (room), each part rounded down; the paise the rounding leaves go one each
 * to the lines with the largest remainders, ties to the earlier line. With
 * d <= left (the sum of those rooms) no part exceeds its line's room: a
 * part below its exact share by a fraction can only round up to it. */
static promo_why_t split(const promo_t *p, const cart_line_t *lines, size_t n, int64_t d,
                         int64_t left, int64_t *room, int64_t *share)
{
    size_t k = 0;
    remainder_t *rem = malloc((n ? n : 1) * sizeof *rem);
    if (!rem)
        return PROMO_WHY_NO_MEMORY;
    int64_t given = 0;
    for (size_t l = 0; l < n; l++) {
        share[l] = 0;
        if (d == 0 || room[l] == 0 || !works_on(p, &lines[l]))
            continue;
        /* d x room <= left^2 < 2^126: exact in 128 bits. */
        unsigned __int128 exact = (unsigned __int128)d * (unsigned __int128)room[l];
        share[l] = (int64_t)(exact / (unsigned __int128)left);
        given += share[l];
        rem[k++] = (remainder_t){(int64_t)(exact % (unsigned __int128)left), l};
    }
    qsort(rem, k, sizeof *rem, remainder_order);
    for (size_t i = 0; given < d && i < k; i++, given++)
        share[rem[i].index]++;
    for (size_t l = 0; l < n; l++)
        room[l] -= share[l];
    free(rem);
    return PROMO_OK;
}

promo_why_t promo_stack(const promo_t *const *ps, size_t n, const cart_line_t *lines, size_t nlines,
                        int64_t *each, int64_t *shares, int64_t *total)
{
    int64_t subtotal, sum = 0;
    promo_why_t why;
    *total = 0;
    if (each)
        memset(each, 0, n * sizeof *each);
    if (shares)
        memset(shares, 0, n * nlines * sizeof *shares);
    if (n > 0 && !ps)
        return PROMO_WHY_INVALID_PROMO;
    if ((why = promo_cart_subtotal(lines, nlines, &subtotal)) != PROMO_OK)
        return why;
    for (size_t i = 0; i < n; i++) {
        if (!promo_valid(ps[i]))
            return PROMO_WHY_INVALID_PROMO;
        if (n > 1 && !ps[i]->stackable)
            return PROMO_WHY_NOT_STACKABLE;
    }
    /* What is left of each line; the subtotal fits, so every line does. */
    int64_t *room = malloc((nlines ? nlines : 1) * sizeof *room);
    int64_t *part = malloc((nlines ? nlines : 1) * sizeof *part);
    if (!room || !part) {
        free(room);
        free(part);
        return PROMO_WHY_NO_MEMORY;
    }
    for (size_t l = 0; l < nlines; l++)
        room[l] = lines[l].unit_price_paise * lines[l].quantity;
    promo_why_t err = PROMO_OK;
    for (size_t i = 0; i < n && err == PROMO_OK; i++) {
        int64_t left = 0;
        for (size_t l = 0; l < nlines; l++)
            if (works_on(ps[i], &lines[l]))
                left += room[l];
        int64_t d = discount_within(ps[i], lines, nlines, left, &why);
        if (d < 0) {
            err = why;
            break;
        }
        if ((err = split(ps[i], lines, nlines, d, left, room, part)) != PROMO_OK)
            break;
        if (each)
            each[i] = d;
        if (shares)
            memcpy(shares + i * nlines, part, nlines * sizeof *part);
        sum += d;
    }
    free(room);
    free(part);
    if (err != PROMO_OK) {
        if (each)
            memset(each, 0, n * sizeof *each);
        if (shares)
            memset(shares, 0, n * nlines * sizeof *shares);
        return err;
    }
    *total = sum;
    return PROMO_OK;
}
