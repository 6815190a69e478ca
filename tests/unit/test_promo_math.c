/*
 * test_promo_math - the discount arithmetic of promotions: the worked
 * examples of docs/PROMOTIONS.md, the boundaries, overflow, and a
 * randomised comparison against direct formulas and a unit-by-unit model.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "promo_math.h"

static cart_line_t line(const char *product, const char *category, const char *store, int64_t price,
                        int64_t qty)
{
    cart_line_t l;
    memset(&l, 0, sizeof l);
    snprintf(l.product_id, sizeof l.product_id, "%s", product);
    snprintf(l.category_id, sizeof l.category_id, "%s", category);
    snprintf(l.store_id, sizeof l.store_id, "%s", store);
    l.unit_price_paise = price;
    l.quantity = qty;
    return l;
}

static promo_t percentage(int64_t bps, int64_t cap)
{
    promo_t p = {.kind = PROMO_PERCENTAGE, .percent_bps = bps, .cap_paise = cap};
    return p;
}

static promo_t fixed(int64_t amount)
{
    promo_t p = {.kind = PROMO_FIXED, .amount_paise = amount};
    return p;
}

static promo_t bxgy(int64_t buy, int64_t get)
{
    promo_t p = {.kind = PROMO_BUY_X_GET_Y, .buy_qty = buy, .get_qty = get};
    return p;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_percentage(void)
{
    promo_why_t why;
    cart_line_t cart[] = {line("p1", "c1", "s1", 123456, 1)};
    promo_t p = percentage(1000, 0);
    CHECK_INT(promo_discount(&p, cart, 1, &why), 12345); /* 12345.6 rounds down */
    CHECK_INT(why, PROMO_OK);
    p.cap_paise = 10000; /* the cap reached */
    CHECK_INT(promo_discount(&p, cart, 1, &why), 10000);
    p.cap_paise = 12345; /* exactly at the cap */
    CHECK_INT(promo_discount(&p, cart, 1, &why), 12345);
    p.cap_paise = 12346;
    CHECK_INT(promo_discount(&p, cart, 1, &why), 12345);

    cart_line_t small[] = {line("p1", "c1", "s1", 999, 1)};
    p = percentage(1250, 0); /* 12.5% of 999 = 124.875 */
    CHECK_INT(promo_discount(&p, small, 1, &why), 124);
    p = percentage(1, 0); /* 1 bps: 0.0999 rounds to nothing */
    CHECK_INT(promo_discount(&p, small, 1, &why), 0);
    CHECK_INT(why, PROMO_WHY_NO_SAVING);
    cart_line_t ten_k[] = {line("p1", "c1", "s1", 10000, 1)};
    CHECK_INT(promo_discount(&p, ten_k, 1, &why), 1); /* 1 bps of 10000 */
    CHECK_INT(why, PROMO_OK);
    cart_line_t below[] = {line("p1", "c1", "s1", 9999, 1)};
    CHECK_INT(promo_discount(&p, below, 1, &why), 0);
    p = percentage(10000, 0); /* everything */
    CHECK_INT(promo_discount(&p, small, 1, &why), 999);

    /* Out of range fields. */
    int64_t bad_bps[] = {0, -1, 10001, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < N(bad_bps); i++) {
        p = percentage(bad_bps[i], 0);
        CHECK_INT(promo_discount(&p, small, 1, &why), PROMO_ERROR);
        CHECK_INT(why, PROMO_WHY_INVALID_PROMO);
    }
    p = percentage(1000, -1);
    CHECK_INT(promo_discount(&p, small, 1, &why), PROMO_ERROR);
}

static void test_fixed(void)
{
    promo_why_t why;
    cart_line_t cart[] = {line("p1", "c1", "s1", 1000, 3)};
    promo_t p = fixed(5000); /* larger than the cart */
    CHECK_INT(promo_discount(&p, cart, 1, &why), 3000);
    CHECK_INT(why, PROMO_OK);
    p = fixed(2999);
    CHECK_INT(promo_discount(&p, cart, 1, &why), 2999);
    p = fixed(INT64_MAX);
    CHECK_INT(promo_discount(&p, cart, 1, &why), 3000);
    p = fixed(0);
    CHECK_INT(promo_discount(&p, cart, 1, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_INVALID_PROMO);
    p = fixed(-5);
    CHECK_INT(promo_discount(&p, cart, 1, &why), PROMO_ERROR);
    /* Free items: in scope but worth nothing. */
    cart_line_t free_items[] = {line("p1", "c1", "s1", 0, 4)};
    p = fixed(100);
    CHECK_INT(promo_discount(&p, free_items, 1, &why), 0);
    CHECK_INT(why, PROMO_WHY_NO_SAVING);
}

static void test_minimum_and_scope(void)
{
    promo_why_t why;
    const char *veg[] = {"veg"};
    cart_line_t cart[] = {line("carrot", "veg", "s1", 20000, 1),
                          line("soap", "home", "s2", 29999, 1)};
    promo_t p = fixed(1000);
    p.min_cart_paise = 50000; /* one paisa above the cart */
    CHECK_INT(promo_discount(&p, cart, 2, &why), 0);
    CHECK_INT(why, PROMO_WHY_BELOW_MINIMUM);
    cart[1].unit_price_paise = 30000; /* exactly the minimum */
    CHECK_INT(promo_discount(&p, cart, 2, &why), 1000);
    CHECK_INT(why, PROMO_OK);

    /* The minimum is against the whole cart, the discount against the scope. */
    p = percentage(1000, 0);
    p.min_cart_paise = 50000;
    p.scope = (promo_scope_t){PROMO_SCOPE_CATEGORIES, veg, 1};
    CHECK_INT(promo_discount(&p, cart, 2, &why), 2000);
    int64_t eligible;
    CHECK_INT(promo_eligible_subtotal(&p, cart, 2, &eligible), PROMO_OK);
    CHECK_INT(eligible, 20000);

    const char *s2[] = {"nowhere", "s2"};
    p.scope = (promo_scope_t){PROMO_SCOPE_STORES, s2, 2};
    CHECK_INT(promo_discount(&p, cart, 2, &why), 3000);
    const char *carrot[] = {"carrot"};
    p.scope = (promo_scope_t){PROMO_SCOPE_PRODUCTS, carrot, 1};
    CHECK_INT(promo_discount(&p, cart, 2, &why), 2000);
    const char *none[] = {"fruit"};
    p.scope = (promo_scope_t){PROMO_SCOPE_CATEGORIES, none, 1};
    CHECK_INT(promo_discount(&p, cart, 2, &why), 0);
    CHECK_INT(why, PROMO_WHY_NOT_IN_SCOPE);
    /* A scope line with no units is not in scope either. */
    cart[0].quantity = 0;
    p.scope = (promo_scope_t){PROMO_SCOPE_CATEGORIES, veg, 1};
    p.min_cart_paise = 0;
    CHECK_INT(promo_discount(&p, cart, 2, &why), 0);
    CHECK_INT(why, PROMO_WHY_NOT_IN_SCOPE);
    /* An empty list is a broken promotion, not "everything". */
    p.scope = (promo_scope_t){PROMO_SCOPE_CATEGORIES, veg, 0};
    CHECK_INT(promo_discount(&p, cart, 2, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_INVALID_PROMO);
    p.scope = (promo_scope_t){PROMO_SCOPE_ALL, NULL, 0};
    p.min_cart_paise = -1;
    CHECK_INT(promo_discount(&p, cart, 2, &why), PROMO_ERROR);
    /* An empty cart is below any positive minimum and has nothing in scope. */
    p.min_cart_paise = 0;
    CHECK_INT(promo_discount(&p, NULL, 0, &why), 0);
    CHECK_INT(why, PROMO_WHY_NOT_IN_SCOPE);
    p.min_cart_paise = 1;
    CHECK_INT(promo_discount(&p, NULL, 0, &why), 0);
    CHECK_INT(why, PROMO_WHY_BELOW_MINIMUM);
    CHECK(promo_discount(NULL, cart, 2, NULL) == PROMO_ERROR);
}

static void test_buy_x_get_y(void)
{
    promo_why_t why;
    /* The example: buy 2 get 1 over 500, 300, 300, 200. */
    cart_line_t cart[] = {line("a", "c", "s", 300, 1), line("b", "c", "s", 200, 1),
                          line("c", "c", "s", 500, 1), line("d", "c", "s", 300, 1)};
    promo_t p = bxgy(2, 1);
    CHECK_INT(promo_discount(&p, cart, 4, &why), 300);
    CHECK_INT(why, PROMO_OK);
    /* Buy 1 get 1 over 400 x3 and 100 x2: (400,400) (400,100), a 100 left. */
    cart_line_t two[] = {line("a", "c", "s", 100, 2), line("b", "c", "s", 400, 3)};
    p = bxgy(1, 1);
    CHECK_INT(promo_discount(&p, two, 2, &why), 500);
    /* Ties: all the same price, the grouping counts units, not lines. */
    cart_line_t tie[] = {line("a", "c", "s", 250, 2), line("b", "c", "s", 250, 3),
                         line("c", "c", "s", 250, 2)};
    p = bxgy(2, 1); /* 7 units: two groups, one left over */
    CHECK_INT(promo_discount(&p, tie, 3, &why), 500);
    p = bxgy(3, 2); /* 7 units: one group of five, two free, two left */
    CHECK_INT(promo_discount(&p, tie, 3, &why), 500);
    /* Not enough units for a group. */
    cart_line_t few[] = {line("a", "c", "s", 250, 2)};
    p = bxgy(2, 1);
    CHECK_INT(promo_discount(&p, few, 1, &why), 0);
    CHECK_INT(why, PROMO_WHY_NOT_ENOUGH);
    few[0].quantity = 3; /* exactly one group */
    CHECK_INT(promo_discount(&p, few, 1, &why), 250);
    /* The free units are the cheapest in scope; lines out of scope do not count. */
    const char *cat[] = {"c"};
    cart_line_t mixed[] = {line("a", "c", "s", 900, 2), line("b", "x", "s", 10, 5),
                           line("c", "c", "s", 400, 1)};
    p = bxgy(2, 1);
    p.scope = (promo_scope_t){PROMO_SCOPE_CATEGORIES, cat, 1};
    CHECK_INT(promo_discount(&p, mixed, 3, &why), 400);
    /* Zero-priced units still fill groups and are free first. */
    cart_line_t zero[] = {line("a", "c", "s", 0, 1), line("b", "c", "s", 100, 2)};
    p = bxgy(2, 1);
    CHECK_INT(promo_discount(&p, zero, 2, &why), 0);
    CHECK_INT(why, PROMO_WHY_NO_SAVING);
    /* Groups within one line of huge quantity, with no per-unit work. */
    cart_line_t huge[] = {line("a", "c", "s", 1, INT64_MAX)};
    p = bxgy(1, 1);
    CHECK_INT(promo_discount(&p, huge, 1, &why), INT64_MAX / 2);
    p = bxgy(2, 3); /* INT64_MAX = 5q + 2: q groups, 3q free */
    CHECK_INT(promo_discount(&p, huge, 1, &why), INT64_MAX / 5 * 3);
    /* Bad fields. */
    promo_t bad[] = {bxgy(0, 1), bxgy(1, 0), bxgy(-1, 1), bxgy(INT64_MAX, 1)};
    for (size_t i = 0; i < N(bad); i++) {
        CHECK_INT(promo_discount(&bad[i], few, 1, &why), PROMO_ERROR);
        CHECK_INT(why, PROMO_WHY_INVALID_PROMO);
    }
}

static void test_bundle(void)
{
    promo_why_t why;
    promo_bundle_item_t items[] = {{"atta", 2}, {"dal", 1}};
    promo_t p = {.kind = PROMO_BUNDLE,
                 .bundle_items = items,
                 .n_bundle_items = 2,
                 .bundle_price_paise = 20000};
    /* atta on two lines (the lower price counts), dal x2: two bundles. */
    cart_line_t cart[] = {line("atta", "c", "s1", 10000, 3), line("dal", "c", "s1", 8000, 2),
                          line("atta", "c", "s2", 9000, 2), line("rice", "c", "s1", 5000, 4)};
    CHECK_INT(promo_discount(&p, cart, 4, &why), 12000); /* 2 x (9000x2 + 8000 - 20000) */
    CHECK_INT(why, PROMO_OK);
    /* Partial sets: 5 atta and 1 dal make one bundle. */
    cart[1].quantity = 1;
    CHECK_INT(promo_discount(&p, cart, 4, &why), 6000);
    /* 1 atta: no whole bundle. */
    cart[1].quantity = 2;
    cart[0].quantity = 1;
    cart[2].quantity = 0;
    CHECK_INT(promo_discount(&p, cart, 4, &why), 0);
    CHECK_INT(why, PROMO_WHY_NOT_ENOUGH);
    /* A product missing altogether. */
    cart_line_t no_dal[] = {line("atta", "c", "s1", 10000, 4)};
    CHECK_INT(promo_discount(&p, no_dal, 1, &why), 0);
    CHECK_INT(why, PROMO_WHY_NOT_ENOUGH);
    /* Bundle price at or above the regular price saves nothing. */
    cart[0].quantity = 2;
    p.bundle_price_paise = 28000; /* 10000x2 + 8000 */
    CHECK_INT(promo_discount(&p, cart, 4, &why), 0);
    CHECK_INT(why, PROMO_WHY_NO_SAVING);
    p.bundle_price_paise = 27999;
    CHECK_INT(promo_discount(&p, cart, 4, &why), 1);
    /* Bad fields: duplicate products, zero quantity, negative price, no items. */
    promo_bundle_item_t dup[] = {{"atta", 1}, {"atta", 1}};
    promo_t bad = p;
    bad.bundle_items = dup;
    CHECK_INT(promo_discount(&bad, cart, 4, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_INVALID_PROMO);
    promo_bundle_item_t zero[] = {{"atta", 0}};
    bad = p;
    bad.bundle_items = zero;
    bad.n_bundle_items = 1;
    CHECK_INT(promo_discount(&bad, cart, 4, &why), PROMO_ERROR);
    bad = p;
    bad.bundle_price_paise = -1;
    CHECK_INT(promo_discount(&bad, cart, 4, &why), PROMO_ERROR);
    bad = p;
    bad.n_bundle_items = 0;
    CHECK_INT(promo_discount(&bad, cart, 4, &why), PROMO_ERROR);
    /* The biggest bundle that fits. */
    promo_bundle_item_t all[] = {{"x", INT64_MAX}};
    cart_line_t huge[] = {line("x", "c", "s", 1, INT64_MAX)};
    p.bundle_items = all;
    p.n_bundle_items = 1;
    p.bundle_price_paise = 0;
    CHECK_INT(promo_discount(&p, huge, 1, &why), INT64_MAX);
    /* Units that overflow when summed, at price 0 so the subtotal fits. */
    cart_line_t units[] = {line("x", "c", "s", 0, INT64_MAX), line("x", "c", "s", 0, 1)};
    CHECK_INT(promo_discount(&p, units, 2, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_OVERFLOW);
}

static void test_overflow(void)
{
    promo_why_t why;
    int64_t subtotal;
    cart_line_t max[] = {line("a", "c", "s", INT64_MAX, 1)};
    promo_t p = percentage(10000, 0);
    CHECK_INT(promo_discount(&p, max, 1, &why), INT64_MAX);
    p = percentage(5000, 0);
    CHECK_INT(promo_discount(&p, max, 1, &why), INT64_MAX / 2);
    p = percentage(9999, 0); /* floor(INT64_MAX x 9999 / 10000) */
    CHECK_INT(promo_discount(&p, max, 1, &why), (int64_t)((__int128)INT64_MAX * 9999 / 10000));
    p = fixed(INT64_MAX);
    CHECK_INT(promo_discount(&p, max, 1, &why), INT64_MAX);

    cart_line_t twice[] = {line("a", "c", "s", INT64_MAX, 2)};
    CHECK_INT(promo_cart_subtotal(twice, 1, &subtotal), PROMO_WHY_OVERFLOW);
    CHECK_INT(promo_discount(&p, twice, 1, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_OVERFLOW);
    cart_line_t qty[] = {line("a", "c", "s", 2, INT64_MAX)};
    CHECK_INT(promo_discount(&p, qty, 1, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_OVERFLOW);
    cart_line_t sum[] = {line("a", "c", "s", INT64_MAX, 1), line("b", "c", "s", 1, 1)};
    CHECK_INT(promo_discount(&p, sum, 2, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_OVERFLOW);
    /* Units overflow in buy-x-get-y while the subtotal fits. */
    cart_line_t units[] = {line("a", "c", "s", 0, INT64_MAX), line("b", "c", "s", 0, 1)};
    p = bxgy(1, 1);
    CHECK_INT(promo_discount(&p, units, 2, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_OVERFLOW);
    /* Negative inputs. */
    cart_line_t neg[] = {line("a", "c", "s", -1, 1)};
    CHECK_INT(promo_discount(&p, neg, 1, &why), PROMO_ERROR);
    CHECK_INT(why, PROMO_WHY_INVALID_CART);
    neg[0] = line("a", "c", "s", 1, -1);
    CHECK_INT(promo_discount(&p, neg, 1, &why), PROMO_ERROR);
    CHECK_INT(promo_discount(&p, NULL, 1, &why), PROMO_ERROR);
    neg[0] = line("a", "c", "s", INT64_MIN, INT64_MIN);
    CHECK_INT(promo_cart_subtotal(neg, 1, &subtotal), PROMO_WHY_INVALID_CART);
    /* promo_best and promo_stack on an overflowing cart. */
    promo_t f = fixed(1);
    const promo_t *ps[] = {&f};
    int64_t d = 0, total = 7;
    CHECK_INT(promo_best(ps, 1, twice, 1, &d), 1);
    CHECK_INT(d, PROMO_ERROR);
    CHECK_INT(promo_stack(ps, 1, twice, 1, NULL, NULL, &total), PROMO_WHY_OVERFLOW);
    CHECK_INT(total, 0);
}

static void test_best(void)
{
    cart_line_t cart[] = {line("a", "c", "s", 500, 1), line("b", "c", "s", 300, 2),
                          line("c", "c", "s", 200, 1)};
    promo_t ten = percentage(1000, 0); /* 130 */
    promo_t flat = fixed(300);         /* 300 */
    promo_t b2g1 = bxgy(2, 1);         /* 300 */
    promo_t big = fixed(5000);
    big.min_cart_paise = 100000; /* does not apply */
    promo_t broken = fixed(0);   /* skipped */
    const promo_t *ps[] = {&ten, &broken, &big, &flat, &b2g1};
    int64_t d;
    CHECK_INT(promo_best(ps, 5, cart, 3, &d), 3); /* the tie goes to the earlier */
    CHECK_INT(d, 300);
    const promo_t *rev[] = {&b2g1, &flat};
    CHECK_INT(promo_best(rev, 2, cart, 3, &d), 0);
    const promo_t *none[] = {&big, &broken};
    CHECK_INT(promo_best(none, 2, cart, 3, &d), 2);
    CHECK_INT(d, 0);
    CHECK_INT(promo_best(NULL, 0, cart, 3, &d), 0);
    CHECK_INT(d, 0);
}

static void test_stack(void)
{
    cart_line_t cart[] = {line("a", "c", "s", 10000, 1)};
    promo_t flat = fixed(1000);
    promo_t ten = percentage(1000, 0);
    flat.stackable = ten.stackable = true;
    int64_t each[3], total;
    const promo_t *order1[] = {&flat, &ten};
    CHECK_INT(promo_stack(order1, 2, cart, 1, each, NULL, &total), PROMO_OK);
    CHECK_INT(each[0], 1000);
    CHECK_INT(each[1], 900); /* 10% of the 9000 left */
    CHECK_INT(total, 1900);
    const promo_t *order2[] = {&ten, &flat};
    CHECK_INT(promo_stack(order2, 2, cart, 1, each, NULL, &total), PROMO_OK);
    CHECK_INT(each[0], 1000);
    CHECK_INT(each[1], 1000);
    CHECK_INT(total, 2000);
    /* Never more than the cart. */
    promo_t most = fixed(9500);
    most.stackable = true;
    const promo_t *over[] = {&most, &flat, &ten};
    CHECK_INT(promo_stack(over, 3, cart, 1, each, NULL, &total), PROMO_OK);
    CHECK_INT(each[0], 9500);
    CHECK_INT(each[1], 500);
    CHECK_INT(each[2], 0);
    CHECK_INT(total, 10000);
    /* A promotion that does not apply contributes nothing. */
    promo_t far = fixed(100);
    far.stackable = true;
    far.min_cart_paise = 20000;
    const promo_t *with_far[] = {&far, &flat};
    CHECK_INT(promo_stack(with_far, 2, cart, 1, each, NULL, &total), PROMO_OK);
    CHECK_INT(each[0], 0);
    CHECK_INT(total, 1000);
    /* Every promotion must be stackable; one on its own need not be. */
    promo_t lone = fixed(700);
    const promo_t *mixed[] = {&flat, &lone};
    CHECK_INT(promo_stack(mixed, 2, cart, 1, each, NULL, &total), PROMO_WHY_NOT_STACKABLE);
    CHECK_INT(total, 0);
    CHECK_INT(each[0], 0);
    const promo_t *single[] = {&lone};
    CHECK_INT(promo_stack(single, 1, cart, 1, NULL, NULL, &total), PROMO_OK);
    CHECK_INT(total, 700);
    promo_t broken = fixed(-1);
    broken.stackable = true;
    const promo_t *bad[] = {&flat, &broken};
    CHECK_INT(promo_stack(bad, 2, cart, 1, each, NULL, &total), PROMO_WHY_INVALID_PROMO);
    CHECK_INT(promo_stack(NULL, 0, cart, 1, NULL, NULL, &total), PROMO_OK);
    CHECK_INT(total, 0);
}

/* Stacked promotions take from what is left of their own lines, and each
 * discount is split over those lines by the documented rounding rule. */
static void test_stack_shares(void)
{
    int64_t each[2], shares[2 * 3], total;
    /* Two promotions on store a's single 100-paise line: the second finds
     * nothing left there, whatever store b holds. */
    cart_line_t two_stores[] = {line("p1", "c", "a", 100, 1), line("p2", "c", "b", 10000, 1)};
    const char *a[] = {"a"};
    promo_t first = fixed(100), second = fixed(50);
    first.stackable = second.stackable = true;
    first.scope = second.scope = (promo_scope_t){PROMO_SCOPE_STORES, a, 1};
    const promo_t *both[] = {&first, &second};
    CHECK_INT(promo_stack(both, 2, two_stores, 2, each, shares, &total), PROMO_OK);
    CHECK_INT(each[0], 100);
    CHECK_INT(each[1], 0);
    CHECK_INT(total, 100);
    CHECK_INT(shares[0], 100); /* first, line a */
    CHECK_INT(shares[1], 0);   /* first, line b */
    CHECK_INT(shares[2], 0);
    CHECK_INT(shares[3], 0);

    /* 100 paise over three equal lines: 33 each, the paisa left to the first. */
    cart_line_t three[] = {line("p1", "c", "s", 1000, 1), line("p2", "c", "s", 500, 2),
                           line("p3", "c", "s", 250, 4)};
    promo_t hundred = fixed(100);
    const promo_t *one[] = {&hundred};
    CHECK_INT(promo_stack(one, 1, three, 3, each, shares, &total), PROMO_OK);
    CHECK_INT(shares[0], 34);
    CHECK_INT(shares[1], 33);
    CHECK_INT(shares[2], 33);
    /* In proportion: 10% (capped at 300) of 1000 + 2000 split 1:2. */
    cart_line_t uneven[] = {line("p1", "c", "s", 1000, 1), line("p2", "c", "s", 1000, 2)};
    promo_t capped = percentage(1000, 250);
    const promo_t *cp[] = {&capped};
    CHECK_INT(promo_stack(cp, 1, uneven, 2, each, shares, &total), PROMO_OK);
    CHECK_INT(total, 250);
    CHECK_INT(shares[0], 83);  /* 83.33 */
    CHECK_INT(shares[1], 167); /* 166.67 + the paisa of the larger remainder */

    /* A bundle is taken from its own products' lines only. */
    cart_line_t mixed[] = {line("atta", "c", "s", 10000, 2), line("dal", "c", "s", 8000, 1),
                           line("rice", "c", "s", 5000, 1)};
    promo_bundle_item_t items[] = {{"atta", 2}, {"dal", 1}};
    promo_t deal = {.kind = PROMO_BUNDLE,
                    .bundle_items = items,
                    .n_bundle_items = 2,
                    .bundle_price_paise = 20000};
    const promo_t *dp[] = {&deal};
    CHECK_INT(promo_stack(dp, 1, mixed, 3, each, shares, &total), PROMO_OK);
    CHECK_INT(total, 8000);
    CHECK_INT(shares[0], 5714); /* 8000 x 20000 / 28000 = 5714.29 */
    CHECK_INT(shares[1], 2286); /* 2285.71, rounded up by the larger remainder */
    CHECK_INT(shares[2], 0);

    /* A zone scope takes the lines of stores in those zones. */
    cart_line_t zoned[] = {line("p1", "c", "s1", 1000, 1), line("p2", "c", "s2", 3000, 1)};
    snprintf(zoned[0].zone, sizeof zoned[0].zone, "pune");
    snprintf(zoned[1].zone, sizeof zoned[1].zone, "mumbai");
    const char *pune[] = {"pune"};
    promo_t local = percentage(1000, 0);
    local.scope = (promo_scope_t){PROMO_SCOPE_ZONES, pune, 1};
    const promo_t *lp[] = {&local};
    CHECK_INT(promo_stack(lp, 1, zoned, 2, each, shares, &total), PROMO_OK);
    CHECK_INT(total, 100);
    CHECK_INT(shares[0], 100);
    CHECK_INT(shares[1], 0);
    local.scope.n_ids = 0; /* an empty zone list is invalid, not everything */
    CHECK_INT(promo_discount(&local, zoned, 2, NULL), PROMO_ERROR);
}

static void test_names(void)
{
    CHECK_STR(promo_why_name(PROMO_OK), "ok");
    CHECK_STR(promo_why_name(PROMO_WHY_BELOW_MINIMUM), "below_minimum");
    CHECK_STR(promo_why_name(PROMO_WHY_NOT_ENOUGH), "not_enough_items");
    CHECK_STR(promo_why_name((promo_why_t)99), "unknown");
    CHECK(!promo_why_is_error(PROMO_WHY_NO_SAVING));
    CHECK(!promo_why_is_error(PROMO_WHY_NOTHING_LEFT));
    CHECK(promo_why_is_error(PROMO_WHY_OVERFLOW));
}

/* A small deterministic generator, so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static int64_t rnd(int64_t below)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (int64_t)(rng_state % (uint64_t)below);
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Buy-x-get-y unit by unit, as the rule reads. */
static int64_t model_bxgy(const promo_t *p, const cart_line_t *lines, size_t n,
                          const char *category)
{
    int64_t units[100], count = 0, d = 0;
    for (size_t i = 0; i < n; i++)
        if (!category || strcmp(lines[i].category_id, category) == 0)
            for (int64_t q = 0; q < lines[i].quantity; q++)
                units[count++] = lines[i].unit_price_paise;
    qsort(units, (size_t)count, sizeof units[0], cmp_desc);
    int64_t g = p->buy_qty + p->get_qty;
    for (int64_t i = 0; i < count / g * g; i++)
        if (i % g >= p->buy_qty)
            d += units[i];
    return d;
}

/* A bundle as the rule reads: sum each product's units, take its lowest price. */
static int64_t model_bundle(const promo_t *p, const cart_line_t *lines, size_t n,
                            const char *category)
{
    int64_t sets = -1, regular = 0;
    for (size_t b = 0; b < p->n_bundle_items; b++) {
        int64_t have = 0, lowest = INT64_MAX;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(lines[i].product_id, p->bundle_items[b].product_id) != 0 ||
                (category && strcmp(lines[i].category_id, category) != 0) || !lines[i].quantity)
                continue;
            have += lines[i].quantity;
            if (lines[i].unit_price_paise < lowest)
                lowest = lines[i].unit_price_paise;
        }
        int64_t k = have / p->bundle_items[b].qty;
        if (sets < 0 || k < sets)
            sets = k;
        if (k > 0)
            regular += lowest * p->bundle_items[b].qty;
    }
    if (sets <= 0 || regular <= p->bundle_price_paise)
        return 0;
    return sets * (regular - p->bundle_price_paise);
}

static void test_random(void)
{
    static const char *cats[] = {"c0", "c1", "c2"};
    static const char *prods[] = {"p0", "p1", "p2", "p3"};
    int bad = 0;
    for (int round = 0; round < 10000; round++) {
        cart_line_t cart[8];
        size_t n = (size_t)rnd(9);
        for (size_t i = 0; i < n; i++)
            cart[i] =
                line(prods[rnd(4)], cats[rnd(3)], "s", rnd(4) ? rnd(100000) : rnd(3), rnd(10));
        const char *cat = rnd(2) ? cats[rnd(3)] : NULL;
        promo_bundle_item_t items[2] = {{"p0", 1 + rnd(3)}, {"p1", 1 + rnd(3)}};
        promo_t p;
        switch (rnd(4)) {
        case 0:
            p = percentage(1 + rnd(10000), rnd(3) ? 0 : rnd(50000));
            break;
        case 1:
            p = fixed(1 + rnd(200000));
            break;
        case 2:
            p = bxgy(1 + rnd(3), 1 + rnd(3));
            break;
        default:
            p = (promo_t){.kind = PROMO_BUNDLE,
                          .bundle_items = items,
                          .n_bundle_items = 1 + (size_t)rnd(2),
                          .bundle_price_paise = rnd(150000)};
        }
        if (cat)
            p.scope = (promo_scope_t){PROMO_SCOPE_CATEGORIES, &cat, 1};
        p.min_cart_paise = rnd(4) ? 0 : rnd(400000);

        int64_t subtotal = 0, eligible = 0, d;
        promo_why_t why;
        for (size_t i = 0; i < n; i++) {
            int64_t t = cart[i].unit_price_paise * cart[i].quantity;
            subtotal += t;
            if (!cat || strcmp(cart[i].category_id, cat) == 0)
                eligible += t;
        }
        d = promo_discount(&p, cart, n, &why);
        int ok = d >= 0 && d <= eligible && (d > 0) == (why == PROMO_OK);
        int64_t want = -1;
        if (subtotal < p.min_cart_paise) {
            want = 0;
        } else if (p.kind == PROMO_PERCENTAGE) {
            want = (int64_t)((__int128)eligible * p.percent_bps / 10000);
            if (p.cap_paise > 0 && want > p.cap_paise)
                want = p.cap_paise;
        } else if (p.kind == PROMO_FIXED) {
            want = p.amount_paise < eligible ? p.amount_paise : eligible;
        } else if (p.kind == PROMO_BUY_X_GET_Y) {
            want = model_bxgy(&p, cart, n, cat);
        } else {
            want = model_bundle(&p, cart, n, cat);
        }
        if (want >= 0 && d != want)
            ok = 0;
        if (!ok && bad++ < 5)
            fprintf(stderr, "round %d: kind %d discount %lld want %lld eligible %lld\n", round,
                    (int)p.kind, (long long)d, (long long)want, (long long)eligible);
        CHECK(ok);

        /* Best and stack over a second promotion keep their bounds. */
        promo_t other = fixed(1 + rnd(100000));
        p.stackable = other.stackable = true;
        const promo_t *ps[] = {&p, &other};
        int64_t best_d, each[2], total;
        size_t best = promo_best(ps, 2, cart, n, &best_d);
        int64_t d2 = promo_discount(&other, cart, n, NULL);
        CHECK(best_d == (d >= d2 ? d : d2));
        CHECK(best == (best_d == 0 ? 2 : d >= d2 ? 0 : 1));
        int64_t shares[2 * 8];
        CHECK(promo_stack(ps, 2, cart, n, each, shares, &total) == PROMO_OK);
        CHECK(total == each[0] + each[1] && total <= subtotal && each[0] == d && each[1] >= 0);
        /* The split: each promotion's parts add up to its discount, and no
         * line is discounted below zero. */
        for (size_t k = 0; k < 2; k++) {
            int64_t parts = 0;
            for (size_t i = 0; i < n; i++) {
                CHECK(shares[k * n + i] >= 0);
                parts += shares[k * n + i];
            }
            CHECK(parts == each[k]);
        }
        for (size_t i = 0; i < n; i++)
            CHECK(shares[i] + shares[n + i] <= cart[i].unit_price_paise * cart[i].quantity);
    }
}

int main(void)
{
    test_percentage();
    test_fixed();
    test_minimum_and_scope();
    test_buy_x_get_y();
    test_bundle();
    test_overflow();
    test_best();
    test_stack();
    test_stack_shares();
    test_names();
    test_random();
    return check_summary();
}
