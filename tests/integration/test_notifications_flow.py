"""
The notifications pool fed by the real event stream (no test-mode job):
a merchant ships a COD order and its buyer finds "Order ... shipped" in
the inbox, with the delivery rows of the rule's channels; a wallet top-up
paid through the built-in test gateway becomes "Payment received"; each
once, also after the pool's worker is killed and started again.
"""

import signal
import unittest

from catalog_case import OrdersCase
from harness import wait_for


class NotificationsFlow(OrdersCase):
    pools = {"catalog": 1, "orders": 1, "payments": 1, "notifications": 1}
    env = {"RAZORPAY_KEY_ID": "", "MANDI_QUIET_HOURS_START": "00:00",
           "MANDI_QUIET_HOURS_END": "00:00"}

    def inbox_titles(self, tok):
        r = self.c.get("/api/notifications", token=tok)
        self.assertEqual(r.status, 200, r)
        return [n["title"] for n in r.data["items"]]

    def wait_title(self, tok, title):
        return wait_for(lambda: title in self.inbox_titles(tok) or None, 20,
                        "%r in the inbox" % title)

    def test_a_shipped_order_and_a_topup_reach_the_inbox_once(self):
        _, seller = self.merchant()
        shop, cat = self.store(seller), self.category()
        p = self.product(seller, shop, cat)
        uid, tok, addr = self.customer()
        self.add(tok, p, 1)
        order = self.checkout(tok, addr).data["orders"][0]
        for status in ("PROCESSING", "SHIPPED"):
            r = self.c.put("/api/orders/%s/status" % order["id"], {"status": status},
                           token=seller)
            self.assertEqual(r.status, 200, r)
        title = "Order %s shipped" % order["number"]
        self.wait_title(tok, title)
        channels = self.stack.psql(
            "SELECT string_agg(channel, ',' ORDER BY channel) FROM notification_deliveries "
            "WHERE user_id = '%s' AND event = 'order.shipped'" % uid)
        # The rule says in-app, push and SMS; the buyer has a phone and no
        # device, so SMS is the one delivery.
        self.assertEqual(channels, "sms")

        # The pool's worker dies and another takes over: nothing is told twice.
        self.stack.workers("notifications")[0].signal(signal.SIGKILL)
        self.stack.start_worker("notifications")
        top = self.c.post("/api/payments/order", {"purpose": "wallet_topup", "amount": 25000},
                          token=tok)
        self.assertEqual(top.status, 201, top)
        paid = self.c.post("/api/payments/test/pay",
                           {"razorpay_order_id": top.data["razorpay_order_id"]}, token=tok)
        self.assertEqual(self.c.post("/api/payments/verify", paid.data, token=tok).status, 200)
        self.wait_title(tok, "Payment received")
        self.assertEqual(self.inbox_titles(tok).count(title), 1)
        self.assertEqual(self.inbox_titles(tok).count("Payment received"), 1)


    def test_a_listing_expiring_soon_reminds_its_owner(self):
        owner, tok = self.merchant(role="USER")
        self.stack.psql(
            "INSERT INTO listings (owner_id, title, price_paise, condition, city, status, "
            "expires_at) VALUES ('%s', 'Old sofa %s', 500000, 'good', 'Pune', 'ACTIVE', "
            "now() + interval '2 days')" % (owner, self.tag))
        r = self.c.post("/api/admin/listings/remind-expiring", token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(r.data["reminded"], 1)
        self.wait_title(tok, "Your listing expires soon")
        body = [n for n in self.c.get("/api/notifications", token=tok).data["items"]
                if n["title"] == "Your listing expires soon"][0]["body"]
        self.assertIn("Old sofa %s" % self.tag, body)

if __name__ == "__main__":
    unittest.main()
