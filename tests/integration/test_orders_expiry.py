"""
The cancellation of razorpay orders left unpaid (order.expire_unpaid):
only PENDING razorpay orders older than MANDI_UNPAID_ORDER_MINUTES are
cancelled, with their stock and promotion uses given back; everything else
is left alone; only admins may run it.

Checkout cannot make a PENDING razorpay order until the payments pool
exists, so the test turns checked-out orders into that state in the
database; from there on everything goes through the API.
"""

import unittest

from catalog_case import OrdersCase


class OrdersExpiry(OrdersCase):
    def setUp(self):
        super().setUp()
        self.seller_id, self.seller = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.seller)

    def order(self, product, quantity, minutes_ago, method="razorpay", status="PENDING"):
        _, tok, addr = self.customer()
        self.add(tok, product, quantity)
        r = self.checkout(tok, addr)
        self.assertEqual(r.status, 201, r)
        o = r.data["orders"][0]
        self.stack.psql("UPDATE orders SET payment_method = '%s', status = '%s', created_at = "
                        "now() - interval '%d minutes' WHERE id = '%s'"
                        % (method, status, minutes_ago, o["id"]))
        return o, tok

    def expire(self, token=None):
        return self.c.post("/api/admin/orders/expire-unpaid", {}, token=token or self.admin)

    def status_of(self, o):
        return self.stack.psql("SELECT status FROM orders WHERE id = '%s'" % o["id"])

    def test_only_stale_unpaid_razorpay_orders_are_cancelled(self):
        p = self.product(self.seller, self.shop, self.cat, stock=20)
        promo = self.c.post("/api/promotions", {
            "code": "EXP" + self.tag.upper(), "name": "x", "kind": "fixed", "amount_paise": 100,
            "scope": "stores", "scope_ids": [self.shop["id"]], "ends_at": "2099-01-01T00:00:00Z",
            "stackable": True}, token=self.admin).data
        _, tok, addr = self.customer()
        self.add(tok, p, 3)
        r = self.checkout(tok, addr, promotion_code=promo["code"])
        self.assertEqual(r.status, 201, r)
        stale = r.data["orders"][0]
        self.stack.psql("UPDATE orders SET payment_method = 'razorpay', status = 'PENDING', "
                        "created_at = now() - interval '31 minutes' WHERE id = '%s'"
                        % stale["id"])
        fresh, _ = self.order(p, 2, minutes_ago=5)
        paid, _ = self.order(p, 1, minutes_ago=90, status="CONFIRMED")
        cod, _ = self.order(p, 1, minutes_ago=90, method="cod", status="PENDING")
        self.assertEqual(self.stock_of(p), 20 - 3 - 2 - 1 - 1)
        self.assertEqual(int(self.stack.psql("SELECT used_count FROM promotions WHERE id = '%s'"
                                             % promo["id"])), 1)

        _, user = self.merchant(role="USER")
        self.assertError(self.expire(user), 403, "FORBIDDEN")
        self.assertError(self.expire(self.seller), 403, "FORBIDDEN")

        r = self.expire()
        self.assertEqual(r.status, 200, r)
        self.assertIn(stale["number"], r.data["orders"])
        for o in (fresh, paid, cod):
            self.assertNotIn(o["number"], r.data["orders"])
        self.assertEqual(self.status_of(stale), "CANCELLED")
        self.assertEqual([self.status_of(o) for o in (fresh, paid, cod)],
                         ["PENDING", "CONFIRMED", "PENDING"])
        self.assertEqual(self.stock_of(p), 20 - 2 - 1 - 1)
        self.assertEqual(int(self.stack.psql("SELECT used_count FROM promotions WHERE id = '%s'"
                                             % promo["id"])), 0)
        got = self.c.get("/api/orders/" + stale["id"], token=tok).data
        self.assertEqual((got["cancel_reason"], got["history"][-1]["to"]),
                         ("not paid in time", "CANCELLED"))
        self.assertEqual(int(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE topic = 'order.status_changed' "
            "AND position(convert_to('%s', 'UTF8') in body) > 0" % stale["id"])), 1)
        # Running it again finds nothing more of this test's.
        r = self.expire()
        self.assertNotIn(stale["number"], r.data["orders"])
        self.assertEqual(self.stock_of(p), 20 - 2 - 1 - 1)


if __name__ == "__main__":
    unittest.main()
