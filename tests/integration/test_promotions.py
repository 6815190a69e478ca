"""
Promotions through the whole stack (catalog and orders pools): admin CRUD
with its checks and the exclusive-overlap rule, the cart's discount, apply
and preview, checkout splitting the discount over the orders of each store,
usage limits (per user, and in total under concurrent checkouts), the use
given back when a checkout is cancelled, and refusals that change nothing.

The database is shared with other tests, so every promotion here is scoped
to this test's zone or stores, and exclusive promotions of scope "all" live
in a window far in the future that nothing else uses.
"""

import datetime
import random
import threading
import unittest
import uuid

from catalog_case import OrdersCase


def ts(days=0, year=None):
    """An instant days from now, or from this date in year."""
    t = datetime.datetime.now(datetime.timezone.utc).replace(month=1, day=1)
    t = t.replace(year=year) if year else datetime.datetime.now(datetime.timezone.utc)
    return (t + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Promotions(OrdersCase):
    def setUp(self):
        super().setUp()
        self.seller_id, self.seller = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.seller)

    def code(self, prefix="P"):
        return "%s%s" % (prefix, uuid.uuid4().hex[:10].upper())

    def promo(self, expect=201, **fields):
        body = {"code": self.code(), "name": "Promo", "kind": "percentage", "percent_bps": 1000,
                "scope": "zones", "scope_ids": [self.zone], "starts_at": ts(-1),
                "ends_at": ts(30)}
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not ...}
        r = self.c.post("/api/promotions", body, token=self.admin)
        self.assertEqual(r.status, expect, r)
        return r.data if expect == 201 else r

    def cart(self, tok):
        r = self.c.get("/api/cart", token=tok)
        self.assertEqual(r.status, 200, r)
        return r.data

    def apply(self, tok, code=None):
        return self.c.post("/api/promotions/apply", {"code": code} if code else {}, token=tok)

    def count(self, sql):
        return int(self.stack.psql(sql))

    # ---- administration -----------------------------------------------------

    def test_admin_crud(self):
        code = self.code("crud")
        p = self.promo(code=code.lower(), description="ten off", usage_limit=5, cap_paise=2000)
        self.assertEqual(p["code"], code.upper())
        self.assertEqual((p["kind"], p["percent_bps"], p["cap_paise"], p["usage_limit"]),
                         ("percentage", 1000, 2000, 5))
        self.assertEqual(p["scope_ids"], [self.zone])
        self.assertEqual(p["redemptions"], {"checkouts": 0, "discount_paise": 0})
        r = self.c.get("/api/promotions/" + p["id"], token=self.admin)
        self.assertEqual((r.status, r.data["id"]), (200, p["id"]))
        r = self.c.get("/api/promotions?q=%s&kind=percentage&status=active" % code,
                       token=self.admin)
        self.assertEqual([x["id"] for x in r.data["items"]], [p["id"]])
        self.assertEqual(self.c.get("/api/promotions?q=%s&status=expired" % code,
                                    token=self.admin).data["items"], [])
        # q is plain text: a LIKE wildcard matches only itself.
        self.assertEqual(self.c.get("/api/promotions?q=%25", token=self.admin)
                         .data["pagination"]["total"], 0)
        # A partial update changes what it names; null clears a limit.
        r = self.c.put("/api/promotions/" + p["id"],
                       {"name": "Twelve", "percent_bps": 1200, "usage_limit": None},
                       token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["name"], r.data["percent_bps"], r.data["usage_limit"],
                          r.data["cap_paise"]), ("Twelve", 1200, None, 2000))
        self.assertEqual(self.count("SELECT count(*) FROM audit_log WHERE target_id = '%s'"
                                    % p["id"]), 2)
        # Codes are unique among live promotions, case aside.
        self.assertError(self.promo(expect=409, code=code.lower()), 409, "PROMOTION_CODE_TAKEN")
        r = self.c.delete("/api/promotions/" + p["id"], token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertError(self.c.get("/api/promotions/" + p["id"], token=self.admin), 404,
                         "PROMOTION_NOT_FOUND")
        self.assertError(self.c.put("/api/promotions/" + p["id"], {"name": "x"},
                                    token=self.admin), 404, "PROMOTION_NOT_FOUND")
        self.promo(code=code)  # the code is free again
        # Only admins manage promotions.
        _, user = self.merchant(role="USER")
        for tok in (user, self.seller):
            self.assertError(self.c.get("/api/promotions", token=tok), 403, "FORBIDDEN")
            self.assertError(self.c.post("/api/promotions", {}, token=tok), 403, "FORBIDDEN")

    def test_bad_input_names_the_field_and_writes_nothing(self):
        p = self.promo()
        other = self.product(self.seller, self.shop, self.cat)
        before = self.count("SELECT count(*) FROM promotions")
        cases = [
            ({"code": "a"}, "code"),
            ({"code": "has space"}, "code"),
            ({"code": None}, "code"),
            ({"name": ""}, "name"),
            ({"kind": "weird"}, "kind"),
            ({"percent_bps": ...}, "percent_bps"),          # percentage needs it
            ({"percent_bps": 10001}, "percent_bps"),
            ({"percent_bps": "10"}, "percent_bps"),
            ({"kind": "fixed", "amount_paise": 100}, "percent_bps"),   # not for fixed
            ({"kind": "fixed", "percent_bps": ...}, "amount_paise"),   # fixed needs it
            ({"cap_paise": -1}, "cap_paise"),
            ({"kind": "buy_x_get_y", "percent_bps": ..., "buy_qty": 2}, "get_qty"),
            ({"kind": "bundle", "percent_bps": ..., "bundle_price_paise": 100,
              "bundle_items": [{"product_id": other["id"], "qty": 1},
                               {"product_id": other["id"], "qty": 2}]}, "bundle_items"),
            ({"kind": "bundle", "percent_bps": ..., "bundle_price_paise": 100,
              "bundle_items": [{"product_id": str(uuid.uuid4()), "qty": 1}]}, "bundle_items"),
            ({"kind": "bundle", "percent_bps": ..., "bundle_price_paise": 100,
              "bundle_items": [{"product_id": other["id"], "qty": 0}]}, "bundle_items"),
            ({"kind": "bundle", "percent_bps": ..., "bundle_items": [
                {"product_id": other["id"], "qty": 1}]}, "bundle_price_paise"),
            ({"scope": "categories", "scope_ids": []}, "scope_ids"),
            ({"scope": "products", "scope_ids": [str(uuid.uuid4())]}, "scope_ids"),
            ({"scope": "stores", "scope_ids": ["not-a-store"]}, "scope_ids"),
            ({"scope": "all"}, "scope_ids"),                  # all takes no list
            ({"scope": "zones", "scope_ids": ["a,b"]}, "scope_ids"),
            ({"scope": "planets"}, "scope"),
            ({"ends_at": ts(-2)}, "ends_at"),                 # before starts_at
            ({"ends_at": "tomorrow"}, "ends_at"),
            ({"ends_at": "2030-01-01T00:00:00"}, "ends_at"),   # no zone
            ({"ends_at": ...}, "ends_at"),
            ({"starts_at": "2030-02-30T00:00:00Z"}, "starts_at"),
            ({"usage_limit": 0}, "usage_limit"),
            ({"per_user_limit": -3}, "per_user_limit"),
            ({"min_cart_paise": None}, "min_cart_paise"),
            ({"stackable": "yes"}, "stackable"),
        ]
        for fields, field in cases:
            with self.subTest(fields=fields):
                r = self.promo(expect=400, **fields)
                self.assertError(r, 400, "VALIDATION_ERROR", field)
        # Updates: the same checks, the kind stays, and a limit cannot drop
        # below the uses so far.
        for fields, field in [({"kind": "fixed"}, "kind"), ({"percent_bps": 0}, "percent_bps"),
                              ({"amount_paise": 5}, "amount_paise"),
                              ({"ends_at": ts(-5)}, "ends_at"),
                              ({"scope": "stores"}, "scope_ids")]:
            with self.subTest(update=fields):
                self.assertError(self.c.put("/api/promotions/" + p["id"], fields,
                                            token=self.admin), 400, "VALIDATION_ERROR", field)
        self.stack.psql("UPDATE promotions SET used_count = 3 WHERE id = '%s'" % p["id"])
        self.assertError(self.c.put("/api/promotions/" + p["id"], {"usage_limit": 2},
                                    token=self.admin), 400, "VALIDATION_ERROR", "usage_limit")
        self.assertEqual(self.count("SELECT count(*) FROM promotions"), before)
        r = self.c.get("/api/promotions/" + p["id"], token=self.admin)
        self.assertEqual((r.data["percent_bps"], r.data["usage_limit"], r.data["scope"]),
                         (1000, None, "zones"))
        self.assertError(self.c.get("/api/promotions/nope", token=self.admin), 400,
                         "VALIDATION_ERROR", "id")
        self.assertError(self.c.get("/api/promotions?status=later", token=self.admin), 400,
                         "VALIDATION_ERROR", "status")

    def test_exclusive_promotions_may_not_overlap(self):
        # A window of its own far ahead, so promotions of other tests are
        # never in it.
        year = random.randrange(2200, 2900)
        window = {"starts_at": ts(year=year), "ends_at": ts(days=10, year=year)}
        everything = self.promo(scope="all", scope_ids=..., **window)
        r = self.promo(expect=409, **window)            # zone scope inside "all"
        self.assertError(r, 409, "PROMOTION_OVERLAP")
        self.assertEqual(r.error["details"]["promotion_id"], everything["id"])
        self.promo(stackable=True, **window)            # stackable ones may overlap
        later = {"starts_at": ts(days=10, year=year), "ends_at": ts(days=20, year=year)}
        zoned = self.promo(**later)                     # touching windows do not overlap
        # Same scope kind: overlap only on a shared entry.
        other_shop = self.store(self.seller)
        by_store = self.promo(scope="stores", scope_ids=[self.shop["id"]],
                              starts_at=ts(days=30, year=year), ends_at=ts(days=40, year=year))
        self.assertError(self.promo(expect=409, scope="stores",
                                    scope_ids=[other_shop["id"], self.shop["id"]],
                                    starts_at=ts(days=35, year=year),
                                    ends_at=ts(days=45, year=year)), 409, "PROMOTION_OVERLAP")
        self.promo(scope="stores", scope_ids=[other_shop["id"]], starts_at=ts(days=35, year=year),
                   ends_at=ts(days=45, year=year))
        # An update into an overlap is refused the same way, and changes nothing.
        r = self.c.put("/api/promotions/" + zoned["id"], window, token=self.admin)
        self.assertError(r, 409, "PROMOTION_OVERLAP")
        self.assertEqual(self.c.get("/api/promotions/" + zoned["id"],
                                    token=self.admin).data["starts_at"][:4], str(year))
        # Inactive promotions do not block.
        self.c.put("/api/promotions/" + everything["id"], {"is_active": False}, token=self.admin)
        self.promo(**window)
        self.assertEqual(self.c.put("/api/promotions/" + by_store["id"], {"name": "renamed"},
                                    token=self.admin).status, 200)

    # ---- the customer's side ------------------------------------------------

    def test_apply_stack_and_detach(self):
        _, tok, _ = self.customer()
        p = self.product(self.seller, self.shop, self.cat, selling_price_paise=9000)
        self.add(tok, p, 2)                                   # 18000
        ten = self.promo(percent_bps=1000, cap_paise=1000)    # 1800, capped at 1000
        r = self.apply(tok, ten["code"].lower())
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["subtotal_paise"], r.data["discount_paise"],
                          r.data["delivery_fee_paise"], r.data["total_paise"]),
                         (18000, 1000, 4000, 21000))
        self.assertEqual([(x["code"], x["discount_paise"], x["applies"], x["reason"])
                          for x in r.data["promotions"]], [(ten["code"], 1000, True, "ok")])
        self.assertEqual(self.cart(tok)["discount_paise"], 1000)
        # Refusals leave the cart as it was.
        self.assertError(self.apply(tok, "NOSUCHCODE1"), 422, "PROMOTION_NOT_FOUND")
        far = self.promo(kind="fixed", percent_bps=..., amount_paise=500, min_cart_paise=50000,
                         stackable=True)
        r = self.apply(tok, far["code"])
        self.assertError(r, 422, "PROMOTION_NOT_APPLICABLE")
        self.assertEqual((r.error["details"]["reason"], r.error["details"]["min_cart_paise"]),
                         ("below_minimum", 50000))
        old = self.promo(starts_at=ts(-10), ends_at=ts(-5), stackable=True)
        r = self.apply(tok, old["code"])
        self.assertError(r, 422, "PROMOTION_UNAVAILABLE")
        self.assertEqual(r.error["details"]["reason"], "expired")
        self.assertEqual([x["code"] for x in self.cart(tok)["promotions"]], [ten["code"]])
        # Stackable ones stack in the order attached; an exclusive one
        # replaces them; applying the same one twice changes nothing.
        a = self.promo(kind="fixed", percent_bps=..., amount_paise=500, stackable=True)
        b = self.promo(percent_bps=1000, stackable=True)
        self.assertEqual(self.apply(tok, a["code"]).data["promotions"][0]["code"], a["code"])
        r = self.apply(tok, b["code"])
        self.assertEqual([(x["code"], x["discount_paise"]) for x in r.data["promotions"]],
                         [(a["code"], 500), (b["code"], 1750)])    # 10% of the 17500 left
        self.assertEqual(r.data["discount_paise"], 2250)
        self.assertEqual(self.apply(tok, b["code"]).data["discount_paise"], 2250)
        r = self.apply(tok, ten["code"])
        self.assertEqual([x["code"] for x in r.data["promotions"]], [ten["code"]])
        # Taken off.
        r = self.c.delete("/api/cart/promotions", token=tok)
        self.assertEqual((r.status, r.data["discount_paise"], r.data["promotions"]), (200, 0, []))
        # A promotion deleted by an admin leaves the carts holding it.
        self.apply(tok, a["code"])
        self.c.delete("/api/promotions/" + a["id"], token=self.admin)
        self.assertEqual(self.cart(tok)["promotions"], [])
        # The body is checked.
        self.assertError(self.c.post("/api/promotions/apply", {"code": 5}, token=tok), 400,
                         "VALIDATION_ERROR", "code")

    def test_each_kind_priced_on_the_cart(self):
        _, tok, addr = self.customer()
        prices = [500, 300, 300, 200]
        items = [self.product(self.seller, self.shop, self.cat, selling_price_paise=x,
                              original_price_paise=x) for x in prices]
        for p in items:
            self.add(tok, p)                                   # 1300 in all
        # Stackable, so that they may all be live at once.
        b2g1 = self.promo(kind="buy_x_get_y", percent_bps=..., buy_qty=2, get_qty=1,
                          stackable=True)
        bundle = self.promo(kind="bundle", percent_bps=..., bundle_price_paise=600,
                            bundle_items=[{"product_id": items[0]["id"], "qty": 1},
                                          {"product_id": items[1]["id"], "qty": 1}],
                            stackable=True)
        fixed = self.promo(kind="fixed", percent_bps=..., amount_paise=5000,
                           stackable=True)                     # beyond the cart
        pct = self.promo(percent_bps=1250, stackable=True)     # 12.5% of 1300 = 162.5
        other_zone = self.promo(scope_ids=["elsewhere-" + self.tag], stackable=True)
        expected = {b2g1["code"]: 300, bundle["code"]: 200, fixed["code"]: 1300,
                    pct["code"]: 162, other_zone["code"]: 0}
        for code, saving in expected.items():
            with self.subTest(code=code):
                r = self.c.post("/api/promotions/preview", {"code": code}, token=tok)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.data["subtotal_paise"], 1300)
                self.assertEqual(r.data["promotions"][0]["discount_paise"], saving)
        r = self.c.post("/api/promotions/preview", {"code": other_zone["code"]}, token=tok)
        self.assertEqual((r.data["promotions"][0]["reason"], r.data["best"]),
                         ("not_in_scope", None))
        # Without a code: every live promotion, the largest saving first.
        r = self.c.post("/api/promotions/preview", token=tok)
        mine = [(x["code"], x["discount_paise"]) for x in r.data["promotions"]
                if x["code"] in expected]
        self.assertEqual(mine, sorted(((c, d) for c, d in expected.items()),
                                      key=lambda cd: -cd[1]))
        # Apply without a code attaches the best: the fixed one, all 1300.
        r = self.apply(tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["discount_paise"], r.data["total_paise"]), (1300, 4000))
        # Bundle shares: split over the bundle's own lines only.
        self.c.delete("/api/cart/promotions", token=tok)
        self.apply(tok, bundle["code"])
        r = self.checkout(tok, addr)
        self.assertEqual(r.status, 201, r)
        order = r.data["orders"][0]
        self.assertEqual((order["subtotal_paise"], order["discount_paise"],
                          order["total_paise"]), (1300, 200, 1300 - 200 + 4000))
        self.assertEqual(order["promotions"], [{"promotion_id": bundle["id"],
                                                "code": bundle["code"], "discount_paise": 200}])

    def test_checkout_splits_the_discount_per_store_and_counts_uses(self):
        uid, tok, addr = self.customer()
        second = self.store(self.seller)
        p1 = self.product(self.seller, self.shop, self.cat, selling_price_paise=10000)
        p2 = self.product(self.seller, second, self.cat, selling_price_paise=5000)
        self.add(tok, p1, 1)
        self.add(tok, p2, 2)                                      # 10000 + 10000
        promo = self.promo(kind="fixed", percent_bps=..., amount_paise=1001, per_user_limit=1)
        r = self.checkout(tok, addr, promotion_code=promo["code"])   # no apply needed
        self.assertEqual(r.status, 201, r)
        orders = {o["store_id"]: o for o in r.data["orders"]}
        # 1001 over two equal stores: 500.5 each; the paisa to the earlier line.
        self.assertEqual(orders[self.shop["id"]]["discount_paise"], 501)
        self.assertEqual(orders[second["id"]]["discount_paise"], 500)
        for o in orders.values():
            self.assertEqual(o["total_paise"],
                             o["subtotal_paise"] - o["discount_paise"] + o["delivery_fee_paise"])
            self.assertEqual(o["promotions"][0]["code"], promo["code"])
        got = self.c.get("/api/promotions/" + promo["id"], token=self.admin).data
        self.assertEqual((got["used_count"], got["redemptions"]),
                         (1, {"checkouts": 1, "discount_paise": 1001}))
        # Once per user: the second checkout is refused and changes nothing.
        self.add(tok, p1, 1)
        r = self.checkout(tok, addr, promotion_code=promo["code"])
        self.assertError(r, 422, "PROMOTION_UNAVAILABLE")
        self.assertEqual(r.error["details"]["reason"], "user_limit")
        self.assertEqual(len(self.cart(tok)["items"]), 1)
        self.assertEqual(self.stock_of(p1), 9)
        # Cancelling one order keeps the use; cancelling the last gives it back.
        ids = [o["id"] for o in r_orders(self, uid)]
        self.c.post("/api/orders/%s/cancel" % ids[0], {"reason": "changed mind"}, token=tok)
        self.assertEqual(self.c.get("/api/promotions/" + promo["id"],
                                    token=self.admin).data["used_count"], 1)
        self.c.post("/api/orders/%s/cancel" % ids[1], {"reason": "changed mind"}, token=tok)
        self.assertEqual(self.c.get("/api/promotions/" + promo["id"],
                                    token=self.admin).data["used_count"], 0)
        r = self.checkout(tok, addr, promotion_code=promo["code"])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.data["orders"][0]["discount_paise"], 1001)

    def test_an_attached_promotion_that_lapsed_refuses_checkout(self):
        _, tok, addr = self.customer()
        p = self.product(self.seller, self.shop, self.cat)
        self.add(tok, p, 1)
        promo = self.promo()
        self.assertEqual(self.apply(tok, promo["code"]).status, 200)
        self.c.put("/api/promotions/" + promo["id"], {"is_active": False}, token=self.admin)
        cart = self.cart(tok)
        self.assertEqual((cart["discount_paise"], cart["promotions"][0]["reason"]),
                         (0, "inactive"))
        r = self.checkout(tok, addr)
        self.assertError(r, 409, "PROMOTION_UNAVAILABLE")
        self.assertEqual(r.error["details"]["code"], promo["code"])
        self.assertEqual(self.stock_of(p), 10)
        self.assertEqual(len(self.cart(tok)["items"]), 1)
        self.c.delete("/api/cart/promotions", token=tok)
        self.assertEqual(self.checkout(tok, addr).status, 201)

    def test_usage_limit_holds_under_concurrent_checkouts(self):
        limit, buyers = 3, 10
        p = self.product(self.seller, self.shop, self.cat, stock=100)
        promo = self.promo(kind="fixed", percent_bps=..., amount_paise=700, usage_limit=limit)
        people = [self.customer() for _ in range(buyers)]
        for _, tok, _ in people:
            self.add(tok, p, 1)
            self.assertEqual(self.apply(tok, promo["code"]).status, 200)
        barrier = threading.Barrier(buyers)
        results = []
        lock = threading.Lock()

        def buy(tok, addr):
            barrier.wait()
            r = self.checkout(tok, addr)
            with lock:
                results.append((r.status, r.code, tok))

        threads = [threading.Thread(target=buy, args=(tok, addr)) for _, tok, addr in people]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        won = [r for r in results if r[0] == 201]
        lost = [r for r in results if r[0] != 201]
        self.assertEqual(len(won), limit, results)
        self.assertTrue(all(s == 409 and c == "PROMOTION_UNAVAILABLE" for s, c, _ in lost),
                        results)
        self.assertEqual(self.count("SELECT used_count FROM promotions WHERE id = '%s'"
                                    % promo["id"]), limit)
        self.assertEqual(self.count("SELECT count(*) FROM promotion_redemptions WHERE "
                                    "promotion_id = '%s' AND released_at IS NULL"
                                    % promo["id"]), limit)
        self.assertEqual(self.count("SELECT coalesce(sum(discount_paise), 0) FROM "
                                    "order_promotions WHERE promotion_id = '%s'" % promo["id"]),
                         700 * limit)
        # The losers were told, kept their carts, and took no stock.
        self.assertEqual(self.stock_of(p), 100 - limit)
        for _, _, tok in lost:
            cart = self.cart(tok)
            self.assertEqual((len(cart["items"]), cart["promotions"][0]["reason"]),
                             (1, "exhausted"))


def r_orders(case, uid):
    """The user's orders, oldest first."""
    rows = case.stack.psql("SELECT id FROM orders WHERE user_id = '%s' ORDER BY number" % uid)
    return [{"id": x} for x in rows.split()]


if __name__ == "__main__":
    unittest.main()
