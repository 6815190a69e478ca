"""
Checkout and the order workflow through the whole stack (orders and catalog
pools): one order per store, items copied, stock reserved and released,
the cart emptied, events recorded; refusals that change nothing; the state
machine with its reach (merchant, LOCATION_ADMIN, admin, customer); no
oversell when many customers check out the last units at once.
"""

import threading
import unittest
import uuid

from catalog_case import OrdersCase


class Orders(OrdersCase):
    def setUp(self):
        super().setUp()
        self.seller_id, self.seller = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.seller)

    def test_checkout_makes_one_order_per_store(self):
        uid, tok, addr = self.customer()
        other_shop = self.store(self.seller, name="Second")
        a = self.product(self.seller, self.shop, self.cat, stock=10, selling_price_paise=30000,
                         original_price_paise=30000)
        b = self.product(self.seller, other_shop, self.cat, stock=10, selling_price_paise=1000,
                         original_price_paise=1000)
        self.add(tok, a, 2)
        self.add(tok, b, 3)
        r = self.checkout(tok, addr, notes="ring twice")
        self.assertEqual(r.status, 201, r)
        orders = {o["store_id"]: o for o in r.data["orders"]}
        self.assertEqual(set(orders), {self.shop["id"], other_shop["id"]})
        big, small = orders[self.shop["id"]], orders[other_shop["id"]]
        self.assertEqual((big["status"], big["payment_method"], big["notes"]),
                         ("CONFIRMED", "cod", "ring twice"))
        self.assertEqual((big["subtotal_paise"], big["delivery_fee_paise"], big["total_paise"]),
                         (60000, 0, 60000))
        self.assertEqual((small["subtotal_paise"], small["delivery_fee_paise"],
                          small["total_paise"]), (3000, 4000, 7000))
        self.assertEqual(big["items"], [{"product_id": a["id"], "name": a["name"], "sku": a["sku"],
                                         "variant": None, "unit_price_paise": 30000,
                                         "quantity": 2, "line_total_paise": 60000}])
        self.assertEqual(big["address"]["city"], "Pune")
        self.assertTrue(big["number"].startswith("MND-"))
        # Stock reserved with history naming the order; the cart is empty.
        self.assertEqual((self.stock_of(a), self.stock_of(b)), (8, 7))
        self.assertEqual(self.stack.psql(
            "SELECT reason FROM stock_history WHERE product_id = '%s' ORDER BY id DESC LIMIT 1"
            % a["id"]), "order " + big["number"])
        self.assertEqual(self.c.get("/api/cart", token=tok).data["items"], [])
        # The price is the one sold at, whatever happens to the product later.
        self.c.put("/api/products/" + a["id"], {"selling_price_paise": 100}, token=self.seller)
        r = self.c.get("/api/orders/" + big["id"], token=tok)
        self.assertEqual(r.data["items"][0]["unit_price_paise"], 30000)
        self.assertEqual([(h["from"], h["to"]) for h in r.data["history"]], [(None, "CONFIRMED")])
        self.assertEqual(int(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE topic = 'order.created' AND position(convert_to("
            "'%s', 'UTF8') IN body) > 0" % r.data["checkout_id"])), 2)

    def test_refusals_change_nothing(self):
        uid, tok, addr = self.customer()
        p = self.product(self.seller, self.shop, self.cat, stock=3)
        self.assertError(self.checkout(tok, addr), 409, "CART_INVALID")      # empty cart
        self.add(tok, p, 2)
        self.assertError(self.checkout(tok, addr, "wallet"), 422, "INSUFFICIENT_BALANCE")
        self.assertError(self.checkout(tok, addr, promotion_code="DIWALI"), 422,
                         "PROMOTION_NOT_FOUND")
        self.assertError(self.checkout(tok, addr, "upi"), 400, "VALIDATION_ERROR",
                         "payment_method")
        self.assertError(self.checkout(tok, "nope"), 400, "VALIDATION_ERROR", "address_id")
        _, _, someone_elses = self.customer()
        self.assertError(self.checkout(tok, someone_elses), 404, "ADDRESS_NOT_FOUND")
        self.c.patch("/api/products/%s/stock" % p["id"], {"set": 1, "reason": "count"},
                     token=self.seller)
        r = self.checkout(tok, addr)
        self.assertError(r, 409, "OUT_OF_STOCK")      # only stock is short
        self.assertEqual([x["code"] for x in r.error["details"]["problems"]],
                         ["INSUFFICIENT_STOCK"])
        self.assertEqual(self.stock_of(p), 1)
        self.assertEqual(len(self.c.get("/api/cart", token=tok).data["items"]), 1)
        self.assertEqual(self.c.get("/api/orders", token=tok).data["items"], [])

    def test_idempotency_key_makes_one_checkout(self):
        uid, tok, addr = self.customer()
        p = self.product(self.seller, self.shop, self.cat, stock=10)
        self.add(tok, p, 1)
        key = uuid.uuid4().hex
        first = self.checkout(tok, addr, headers={"Idempotency-Key": key})
        self.assertEqual(first.status, 201, first)
        again = self.checkout(tok, addr, headers={"Idempotency-Key": key})
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.data, first.data)
        self.assertEqual(self.stock_of(p), 9)
        self.assertEqual(self.c.get("/api/orders", token=tok).data["pagination"]["total"], 1)

    def test_state_machine_and_reach(self):
        uid, tok, addr = self.customer()
        p = self.product(self.seller, self.shop, self.cat, stock=10)
        self.add(tok, p, 1)
        order = self.checkout(tok, addr).data["orders"][0]
        url = "/api/orders/%s/status" % order["id"]
        _, stranger = self.merchant()
        self.assertError(self.c.put(url, {"status": "PROCESSING"}, token=stranger), 404,
                         "ORDER_NOT_FOUND")
        self.assertError(self.c.put(url, {"status": "PROCESSING"}, token=tok), 403, "FORBIDDEN")
        far_admin = self.stack.token(str(uuid.uuid4()), "LOCATION_ADMIN", zones=["elsewhere"])
        self.assertError(self.c.put(url, {"status": "PROCESSING"}, token=far_admin), 404,
                         "ORDER_NOT_FOUND")
        r = self.c.put(url, {"status": "DELIVERED"}, token=self.seller)
        self.assertError(r, 409, "INVALID_STATUS_TRANSITION")
        self.assertEqual(r.error["details"], {"from": "CONFIRMED", "to": "DELIVERED",
                                              "allowed": ["PROCESSING", "CANCELLED"]})
        self.assertError(self.c.put(url, {"status": "SENT"}, token=self.seller), 400,
                         "VALIDATION_ERROR", "status")
        r = self.c.put(url, {"status": "PROCESSING", "note": "packing"}, token=self.seller)
        self.assertEqual((r.status, r.data["status"]), (200, "PROCESSING"), r)
        zone_admin = self.stack.token(str(uuid.uuid4()), "LOCATION_ADMIN", zones=[self.zone])
        self.assertEqual(self.c.put(url, {"status": "SHIPPED"}, token=zone_admin).status, 200)
        r = self.c.put(url, {"status": "DELIVERED"}, token=self.admin)
        self.assertEqual(r.data["status"], "DELIVERED")
        self.assertEqual([(h["from"], h["to"], h["actor_role"]) for h in r.data["history"]],
                         [(None, "CONFIRMED", "USER"), ("CONFIRMED", "PROCESSING", "MERCHANT"),
                          ("PROCESSING", "SHIPPED", "LOCATION_ADMIN"),
                          ("SHIPPED", "DELIVERED", "ADMIN")])
        r = self.c.put(url, {"status": "CANCELLED"}, token=self.admin)
        self.assertEqual(r.error["details"]["allowed"], [])
        n = int(self.stack.psql("SELECT count(*) FROM outbox WHERE topic = "
                                "'order.status_changed' AND position(convert_to('%s', 'UTF8') "
                                "IN body) > 0" % order["id"]))
        self.assertEqual(n, 3)

    def test_every_transition_legal_or_not(self):
        """Each of the 36 (from, to) pairs, by an admin: the legal ones move
        the order, the others are 409 naming what is allowed."""
        legal = {"PENDING": ["CONFIRMED", "CANCELLED"], "CONFIRMED": ["PROCESSING", "CANCELLED"],
                 "PROCESSING": ["SHIPPED", "CANCELLED"], "SHIPPED": ["DELIVERED"],
                 "DELIVERED": [], "CANCELLED": []}
        path = {"CONFIRMED": [], "PROCESSING": ["PROCESSING"],
                "SHIPPED": ["PROCESSING", "SHIPPED"],
                "DELIVERED": ["PROCESSING", "SHIPPED", "DELIVERED"], "CANCELLED": ["CANCELLED"]}
        p = self.product(self.seller, self.shop, self.cat, stock=100)
        _, tok, addr = self.customer()
        for start in legal:
            for to in legal:
                with self.subTest(start=start, to=to):
                    self.add(tok, p, 1)
                    order = self.checkout(tok, addr).data["orders"][0]
                    url = "/api/orders/%s/status" % order["id"]
                    if start == "PENDING":
                        # Only a payment-pending checkout makes one; until
                        # payments exist, the test sets the state itself.
                        self.stack.psql("UPDATE orders SET status = 'PENDING' WHERE id = '%s'"
                                        % order["id"])
                    for step in path.get(start, []):
                        self.assertEqual(self.c.put(url, {"status": step},
                                                    token=self.admin).status, 200)
                    r = self.c.put(url, {"status": to}, token=self.admin)
                    if to in legal[start]:
                        self.assertEqual((r.status, r.data["status"]), (200, to), r)
                        self.assertEqual(r.data["history"][-1]["from"], start)
                    else:
                        self.assertError(r, 409, "INVALID_STATUS_TRANSITION")
                        self.assertEqual(r.error["details"]["allowed"], legal[start])
                        got = self.c.get("/api/orders/" + order["id"], token=tok).data
                        self.assertEqual(got["status"], start)

    def test_cancel_releases_stock(self):
        uid, tok, addr = self.customer()
        p = self.product(self.seller, self.shop, self.cat, stock=10)
        self.add(tok, p, 4)
        order = self.checkout(tok, addr).data["orders"][0]
        self.assertEqual(self.stock_of(p), 6)
        url = "/api/orders/%s/cancel" % order["id"]
        self.assertError(self.c.post(url, {}, token=tok), 400, "VALIDATION_ERROR", "reason")
        _, other, _ = self.customer()
        self.assertError(self.c.post(url, {"reason": "x"}, token=other), 404, "ORDER_NOT_FOUND")
        r = self.c.post(url, {"reason": "changed my mind"}, token=tok)
        self.assertEqual((r.status, r.data["status"], r.data["cancel_reason"]),
                         (200, "CANCELLED", "changed my mind"), r)
        self.assertEqual(self.stock_of(p), 10)
        self.assertError(self.c.post(url, {"reason": "again"}, token=tok), 409,
                         "INVALID_STATUS_TRANSITION")
        self.assertEqual(self.stock_of(p), 10)
        # Once processing, only staff may cancel.
        self.add(tok, p, 1)
        order = self.checkout(tok, addr).data["orders"][0]
        self.c.put("/api/orders/%s/status" % order["id"], {"status": "PROCESSING"},
                   token=self.seller)
        url = "/api/orders/%s/cancel" % order["id"]
        r = self.c.post(url, {"reason": "late"}, token=tok)
        self.assertError(r, 409, "INVALID_STATUS_TRANSITION")
        self.assertEqual(r.error["details"]["allowed"], [])
        r = self.c.post(url, {"reason": "out of packaging"}, token=self.seller)
        self.assertEqual(r.data["status"], "CANCELLED", r)
        self.assertEqual(self.stock_of(p), 10)

    def test_lists_and_stats_keep_to_their_reach(self):
        uid, tok, addr = self.customer()
        _, tok2, addr2 = self.customer()
        p = self.product(self.seller, self.shop, self.cat, stock=20, selling_price_paise=1000,
                         original_price_paise=1000)
        self.add(tok, p, 1)
        mine = self.checkout(tok, addr).data["orders"][0]
        self.add(tok2, p, 2)
        theirs = self.checkout(tok2, addr2).data["orders"][0]
        r = self.c.get("/api/orders", token=tok)
        self.assertEqual([o["id"] for o in r.data["items"]], [mine["id"]])
        self.assertError(self.c.get("/api/orders/" + theirs["id"], token=tok), 404,
                         "ORDER_NOT_FOUND")
        r = self.c.get("/api/orders?store=" + self.shop["id"], token=self.seller)
        self.assertEqual({o["id"] for o in r.data["items"]}, {mine["id"], theirs["id"]})
        r = self.c.get("/api/orders?store=%s&user=%s" % (self.shop["id"], uid), token=self.admin)
        self.assertEqual([o["id"] for o in r.data["items"]], [mine["id"]])
        _, stranger = self.merchant()
        self.assertEqual(self.c.get("/api/orders?store=" + self.shop["id"],
                                    token=stranger).data["items"], [])
        self.c.post("/api/orders/%s/cancel" % theirs["id"], {"reason": "x"}, token=tok2)
        r = self.c.get("/api/orders/stats", token=self.seller)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["orders"], 2)
        self.assertEqual(r.data["revenue_paise"], mine["total_paise"])
        self.assertEqual(r.data["by_status"]["CANCELLED"]["orders"], 1)
        # Dates are India days: an order at 00:30 India time on 3 March (19:00
        # UTC on the 2nd) is the 3rd's, not the 2nd's.
        self.stack.psql("UPDATE orders SET created_at = '2003-03-03 00:30+05:30' WHERE id = '%s'"
                        % mine["id"])
        for day, found in (("2003-03-03", [mine["id"]]), ("2003-03-02", [])):
            r = self.c.get("/api/orders?from=%s&to=%s" % (day, day), token=tok)
            self.assertEqual([o["id"] for o in r.data["items"]], found, day)
            r = self.c.get("/api/orders/stats?store=%s&from=%s&to=%s" % (self.shop["id"], day,
                                                                        day), token=self.seller)
            self.assertEqual(r.data["orders"], len(found), (day, r))
        self.assertError(self.c.get("/api/orders/stats", token=tok), 403, "FORBIDDEN")
        self.assertError(self.c.get("/api/orders?status=LOST", token=tok), 400,
                         "VALIDATION_ERROR", "status")
        self.assertError(self.c.get("/api/orders/stats?from=2026-02-02&to=2026-02-01",
                                    token=self.seller), 400, "VALIDATION_ERROR", "to")
        self.assertError(self.c.get("/api/orders?from=2026-02-30", token=tok), 400,
                         "VALIDATION_ERROR", "from")

    def test_concurrent_checkouts_never_oversell(self):
        p = self.product(self.seller, self.shop, self.cat, stock=5)
        buyers = [self.customer() for _ in range(8)]
        for _, tok, _ in buyers:
            self.add(tok, p, 1)
        statuses = []
        lock = threading.Lock()

        def buy(tok, addr):
            r = self.checkout(tok, addr)
            with lock:
                statuses.append((r.status, r.code if r.status >= 400 else None))

        threads = [threading.Thread(target=buy, args=(tok, addr)) for _, tok, addr in buyers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sum(1 for s, _ in statuses if s == 201), 5, statuses)
        self.assertTrue(all(s == 409 and c == "OUT_OF_STOCK"
                            for s, c in statuses if s != 201), statuses)
        self.assertEqual(self.stock_of(p), 0)
        self.assertEqual(int(self.stack.psql(
            "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = '%s'"
            % p["id"])), 5)


if __name__ == "__main__":
    unittest.main()
