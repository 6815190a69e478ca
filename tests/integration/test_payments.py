"""
Payments through Razorpay, end to end against the fake Razorpay server
(tests/fakes/razorpay.py, which speaks Razorpay's API and signs its
webhooks): a wallet top-up paid at the checkout and settled by the app's
verification, by the webhook, or by both at once, always exactly once; a
forged signature changes nothing; webhooks redelivered, reordered, failed
before captured, or tampered with; an authorized payment captured at
verification. The ledger's invariants are checked after every test.
"""

import json
import threading
import unittest

from payments_case import PaymentsCase


class Payments(PaymentsCase):
    def setUp(self):
        super().setUp()
        self.uid, self.tok = self.merchant(role="USER")

    def topup(self, amount=50000):
        r = self.c.post("/api/payments/order", {"purpose": "wallet_topup", "amount": amount},
                        token=self.tok)
        self.assertEqual(r.status, 201, r)
        return r.data

    def balance(self):
        return self.c.get("/api/wallet", token=self.tok).data["balance_paise"]

    def verify(self, checkout):
        return self.c.post("/api/payments/verify", checkout, token=self.tok)

    def test_topup_verified_once(self):
        order = self.topup(50000)
        self.assertEqual((order["amount"], order["currency"], order["key_id"]),
                         (50000, "INR", self.rzp.key_id))
        self.assertTrue(order["razorpay_order_id"].startswith("order_"))
        sent = self.rzp.requests(method="POST", path="/v1/orders")[-1]
        body = sent["body"] if isinstance(sent["body"], dict) else json.loads(sent["body"])
        self.assertEqual((body["receipt"], sent["auth_user"]),
                         (order["payment_id"], self.rzp.key_id))
        paid = self.rzp.pay(order["razorpay_order_id"])["checkout"]
        # A forged signature is refused and changes nothing.
        forged = dict(paid, razorpay_signature="0" * 64)
        self.assertError(self.verify(forged), 400, "INVALID_SIGNATURE")
        self.assertEqual(self.balance(), 0)
        r = self.verify(paid)
        self.assertEqual((r.status, r.data["status"]), (200, "captured"), r)
        self.assertEqual(self.balance(), 50000)
        # Again: the same answer, no second credit.
        self.assertEqual(self.verify(paid).data["status"], "captured")
        self.assertEqual(self.balance(), 50000)
        top = self.c.get("/api/wallet/transactions", token=self.tok).data["items"][0]
        self.assertEqual((top["source"], top["amount_paise"]), ("topup", 50000))
        # Someone else's order is not found; bad input names the field.
        _, other = self.merchant(role="USER")
        self.assertError(self.c.post("/api/payments/verify", paid, token=other), 404,
                         "PAYMENT_NOT_FOUND")
        self.assertError(self.c.post("/api/payments/order", {"purpose": "wallet_topup"},
                                     token=self.tok), 400, "VALIDATION_ERROR", "amount")
        self.assertError(self.c.post("/api/payments/order", {"purpose": "wallet_topup",
                                                             "amount": 99}, token=self.tok),
                         400, "VALIDATION_ERROR", "amount")
        self.assertError(self.c.post("/api/payments/order", {"purpose": "gift"},
                                     token=self.tok), 400, "VALIDATION_ERROR", "purpose")

    def test_an_authorized_payment_is_captured_at_verification(self):
        order = self.topup(12345)
        paid = self.rzp.pay(order["razorpay_order_id"], outcome="authorized")["checkout"]
        r = self.verify(paid)
        self.assertEqual((r.status, r.data["status"]), (200, "captured"), r)
        self.assertEqual(len(self.rzp.requests(method="POST", path="/v1/payments/*/capture")), 1)
        self.assertEqual(self.balance(), 12345)

    def test_webhook_settles_once_whatever_the_order(self):
        order = self.topup(20000)
        made = self.rzp.pay(order["razorpay_order_id"], failures_first=1)
        failed, captured = made["payments"][0]["id"], made["payment"]["id"]
        # Captured first, then the failed attempt and a late authorized:
        # neither undoes the capture.
        sent = self.rzp.webhooks(self.hook, [
            {"event": "payment.captured", "entity_id": captured},
            {"event": "payment.failed", "entity_id": failed},
            {"event": "payment.authorized", "entity_id": captured}])
        self.assertEqual([d["delivery"]["status"] for d in sent], [200, 200, 200], sent)
        self.assertEqual(self.balance(), 20000)
        # The same event again (same id), and order.paid for it: once.
        again = self.rzp.deliver(sent[0]["id"], url=self.hook)
        self.assertEqual(again["status"], 200, again)
        self.assertIn("duplicate", again["response"])
        self.rzp.webhook("order.paid", captured, url=self.hook)
        self.assertEqual(self.balance(), 20000)
        row = self.stack.psql("SELECT status || ' ' || razorpay_payment_id FROM payments "
                              "WHERE id = '%s'" % order["payment_id"])
        self.assertEqual(row, "captured " + captured)
        # A tampered body is refused before anything is recorded.
        other = self.topup(30000)
        pay = self.rzp.pay(other["razorpay_order_id"])["payment"]["id"]
        bad = self.rzp.webhook("payment.captured", pay, url=self.hook, tamper=True)
        self.assertEqual(bad["delivery"]["status"], 400, bad)
        self.assertEqual(self.stack.psql("SELECT count(*) FROM webhook_events WHERE event_id = "
                                         "'%s'" % bad["id"]), "0")
        self.assertEqual(self.balance(), 20000)
        # The genuine one settles it.
        self.assertEqual(self.rzp.deliver(bad["id"], url=self.hook)["status"], 200)
        self.assertEqual(self.balance(), 50000)

    def test_an_order_paid_through_razorpay_is_confirmed_once(self):
        seller_id, seller = self.merchant()
        shop, cat = self.store(seller), self.category()
        p = self.product(seller, shop, cat, selling_price_paise=9000)
        uid, tok, addr = self.customer()
        self.add(tok, p, 1)
        made = self.checkout(tok, addr, "razorpay")
        self.assertEqual(made.status, 201, made)
        order = made.data["orders"][0]
        self.assertEqual(order["status"], "PENDING")
        # The checkout answers the Razorpay order the app's checkout pays.
        first = made.data["payment"]
        self.assertEqual((first["amount"], first["currency"], first["key_id"]),
                         (order["total_paise"], "INR", self.rzp.key_id))
        sent = self.rzp.requests(method="POST", path="/v1/orders")[-1]
        body = sent["body"] if isinstance(sent["body"], dict) else json.loads(sent["body"])
        self.assertEqual((body["receipt"], body["amount"]),
                         (order["checkout_id"], order["total_paise"]))
        self.assertEqual(self.stock_of(p), 9)
        # The app may ask for another Razorpay order for it (it lost the first).
        r = self.c.post("/api/payments/order", {"purpose": "order", "order_id": order["id"]},
                        token=tok)
        self.assertEqual((r.status, r.data["amount"], r.data["checkout_id"]),
                         (201, order["total_paise"], order["checkout_id"]), r)
        _, other = self.merchant(role="USER")
        self.assertError(self.c.post("/api/payments/order", {"purpose": "order",
                                                             "order_id": order["id"]},
                                     token=other), 404, "ORDER_NOT_FOUND")
        paid = self.rzp.pay(r.data["razorpay_order_id"])
        self.rzp.webhook("payment.captured", paid["payment"]["id"], url=self.hook)
        v = self.c.post("/api/payments/verify", paid["checkout"], token=tok)
        self.assertEqual((v.status, v.data["status"]), (200, "captured"), v)
        got = self.c.get("/api/orders/" + order["id"], token=tok).data
        self.assertEqual(got["status"], "CONFIRMED")
        self.assertEqual([(h["from"], h["to"]) for h in got["history"]][-1:],
                         [("PENDING", "CONFIRMED")])
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE topic = 'order.status_changed' AND "
            "position(convert_to('%s', 'UTF8') IN body) > 0" % order["id"]), "1")
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM ledger_entries WHERE source = 'order' AND reference = '%s'"
            % r.data["payment_id"]), "1")
        # Paid now: another Razorpay order for it is refused.
        self.assertError(self.c.post("/api/payments/order", {"purpose": "order",
                                                             "order_id": order["id"]},
                                     token=tok), 409, "ORDER_NOT_PAYABLE")

    def test_verification_and_webhook_racing(self):
        for _ in range(8):
            order = self.topup(1000)
            made = self.rzp.pay(order["razorpay_order_id"])
            event = self.rzp.webhook("payment.captured", made["payment"]["id"], deliver=False)
            barrier = threading.Barrier(3)
            answers = {}

            def by_app():
                barrier.wait()
                answers["verify"] = self.verify(made["checkout"]).status

            def by_razorpay(key):
                barrier.wait()
                answers[key] = self.rzp.deliver(event["id"], url=self.hook)["status"]

            threads = [threading.Thread(target=by_app),
                       threading.Thread(target=by_razorpay, args=("hook",)),
                       threading.Thread(target=by_razorpay, args=("hook again",))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(answers, {"verify": 200, "hook": 200, "hook again": 200})
        self.assertEqual(self.balance(), 8000)
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM ledger_entries e JOIN payments p ON e.reference = p.id::text "
            "WHERE p.user_id = '%s'" % self.uid), "8")


if __name__ == "__main__":
    unittest.main()
