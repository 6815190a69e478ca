"""
Razorpay checkout and refunds, end to end against the fake Razorpay: a
razorpay checkout opens the Razorpay order before it locks any stock and
waits in PENDING until the payment is captured; Razorpay down at checkout
changes nothing. Refunds: finance's (partial, full, past what is left,
spent top-ups), a cancelled paid order's (sent by a job, retried with the
same idempotency key while Razorpay fails, never twice), an order
cancelled before its payment arrived, a checkout paid twice, and
Razorpay's refund webhooks in any order, redelivered, or ahead of our
record of the refund. The ledger's invariants are checked after every
test (PaymentsCase).
"""

import unittest

from harness import wait_for
from payments_case import PaymentsCase


class Refunds(PaymentsCase):
    extra_env = {"MANDI_REFUND_RETRY_MS": "300"}

    def setUp(self):
        super().setUp()
        self.rzp.clear_faults()
        self.rzp.clear_requests()
        self.seller_id, self.seller = self.merchant()
        self.shop, self.cat = self.store(self.seller), self.category()
        self.finance = self.stack.token(self.merchant(role="FINANCE")[0], "FINANCE")

    # ---- helpers ------------------------------------------------------------

    def razorpay_checkout(self, price=20000, quantity=1):
        """A customer's razorpay checkout of one product: (token, product,
        the answer's data)."""
        p = self.product(self.seller, self.shop, self.cat, selling_price_paise=price,
                         original_price_paise=price)
        _, tok, addr = self.customer()
        self.add(tok, p, quantity)
        r = self.checkout(tok, addr, "razorpay")
        self.assertEqual(r.status, 201, r)
        return tok, p, r.data

    def pay(self, tok, payment):
        """The customer pays the Razorpay order and the app verifies it."""
        made = self.rzp.pay(payment["razorpay_order_id"])
        v = self.c.post("/api/payments/verify", made["checkout"], token=tok)
        self.assertEqual((v.status, v.data["status"]), (200, "captured"), v)
        return made["payment"]["id"]

    def refunds_of(self, payment_id):
        r = self.c.get("/api/payments/refunds?payment_id=" + payment_id, token=self.finance)
        self.assertEqual(r.status, 200, r)
        return r.data["items"]

    def sent_refund(self, payment_id):
        """The refund of payment_id once the job has had Razorpay take it."""
        return wait_for(lambda: next((x for x in self.refunds_of(payment_id)
                                      if x["razorpay_refund_id"]), None), 15,
                        "the refund to reach Razorpay")

    def razorpay_id(self, payment_id):
        return self.stack.psql("SELECT razorpay_payment_id FROM payments WHERE id = '%s'"
                               % payment_id)

    def fake_refunds(self, payment_id):
        """The fake's refunds of our payment payment_id."""
        rzp_id = self.razorpay_id(payment_id)
        return [x for x in self.rzp.state()["refunds"] if x["payment_id"] == rzp_id]

    def balance(self, tok):
        return self.c.get("/api/wallet", token=tok).data["balance_paise"]

    def account(self, code):
        return int(self.stack.psql("SELECT balance_paise FROM ledger_accounts WHERE code = '%s'"
                                   % code))

    def topup(self, tok, amount):
        r = self.c.post("/api/payments/order", {"purpose": "wallet_topup", "amount": amount},
                        token=tok)
        self.assertEqual(r.status, 201, r)
        self.pay(tok, r.data)
        return r.data["payment_id"]

    # ---- checkout -----------------------------------------------------------

    def test_razorpay_checkout_waits_for_the_payment(self):
        tok, p, made = self.razorpay_checkout(price=30000, quantity=2)
        order, payment = made["orders"][0], made["payment"]
        self.assertEqual((order["status"], payment["amount"]), ("PENDING", order["total_paise"]))
        self.assertEqual(self.stock_of(p), 8)
        self.assertEqual(self.c.get("/api/cart", token=tok).data["items"], [])
        self.pay(tok, payment)
        got = self.c.get("/api/orders/" + order["id"], token=tok).data
        self.assertEqual(got["status"], "CONFIRMED")
        self.assertEqual(self.stack.psql("SELECT paid_by FROM orders WHERE id = '%s'"
                                         % order["id"]), payment["payment_id"])

    def test_razorpay_down_at_checkout_changes_nothing(self):
        p = self.product(self.seller, self.shop, self.cat)
        uid, tok, addr = self.customer()
        self.add(tok, p, 2)
        # Every attempt of the call fails (the first and its two retries).
        self.rzp.add_fault("/v1/orders", "error", count=3, status=503)
        self.assertError(self.checkout(tok, addr, "razorpay"), 502, "PAYMENT_GATEWAY_ERROR")
        self.assertEqual(self.stock_of(p), 10)
        self.assertEqual(len(self.c.get("/api/cart", token=tok).data["items"]), 1)
        one = self.stack.psql
        self.assertEqual(one("SELECT count(*) FROM orders WHERE user_id = '%s'" % uid), "0")
        self.assertEqual(one("SELECT count(*) FROM payments WHERE user_id = '%s'" % uid), "0")
        # Razorpay back: the same cart checks out.
        r = self.checkout(tok, addr, "razorpay")
        self.assertEqual((r.status, r.data["orders"][0]["status"]), (201, "PENDING"), r)

    # ---- finance's refunds --------------------------------------------------

    def test_finance_refunds_part_then_the_rest(self):
        uid, tok = self.merchant(role="USER")
        payment = self.topup(tok, 50000)
        refund = lambda body, token=None: self.c.post(  # noqa: E731
            "/api/payments/refund", body, token=token or self.finance)
        r = refund({"payment_id": payment, "amount": 20000, "reason": "asked by the customer"})
        self.assertEqual((r.status, r.data["status"], r.data["amount_paise"]),
                         (201, "pending", 20000), r)
        self.assertTrue(r.data["razorpay_refund_id"].startswith("rfnd_"))
        sent = self.rzp.requests(method="POST", path="/v1/payments/*/refund")[-1]
        self.assertEqual(sent["idempotency_key"], payment + "-1")
        self.assertEqual(self.balance(tok), 30000)
        # More than is left: refused, naming the field, nothing changed.
        self.assertError(refund({"payment_id": payment, "amount": 40000, "reason": "again"}),
                         422, "REFUND_TOO_LARGE", "amount")
        # The rest, by leaving the amount out.
        r = refund({"payment_id": payment, "reason": "the rest"})
        self.assertEqual((r.status, r.data["amount_paise"]), (201, 30000), r)
        self.assertEqual(self.rzp.requests(method="POST", path="/v1/payments/*/refund")[-1]
                         ["idempotency_key"], payment + "-2")
        self.assertError(refund({"payment_id": payment, "reason": "more"}), 409,
                         "PAYMENT_FULLY_REFUNDED")
        self.assertEqual(self.balance(tok), 0)
        # Razorpay's word settles both, once each.
        for item in self.refunds_of(payment):
            self.rzp.webhook("refund.processed", item["razorpay_refund_id"], url=self.hook)
        self.assertEqual(sorted(x["status"] for x in self.refunds_of(payment)),
                         ["processed", "processed"])
        fake = [x for x in self.rzp.state()["payments"] if x["id"] == self.razorpay_id(payment)]
        self.assertEqual(fake[0]["amount_refunded"], 50000)
        # Who may, and bad input.
        self.assertError(refund({"payment_id": payment, "reason": "x" * 5}, token=tok), 403,
                         "FORBIDDEN")
        self.assertError(refund({"payment_id": "nope", "reason": "wrong"}), 400,
                         "VALIDATION_ERROR", "payment_id")
        self.assertError(refund({"payment_id": payment}), 400, "VALIDATION_ERROR", "reason")
        self.assertError(refund({"payment_id": payment, "amount": 0, "reason": "zero"}), 400,
                         "VALIDATION_ERROR", "amount")
        self.assertError(refund({"payment_id": "00000000-0000-4000-8000-000000000000",
                                 "reason": "unknown"}), 404, "PAYMENT_NOT_FOUND")
        unpaid = self.c.post("/api/payments/order", {"purpose": "wallet_topup", "amount": 5000},
                             token=tok).data["payment_id"]
        self.assertError(refund({"payment_id": unpaid, "reason": "not paid"}), 409,
                         "PAYMENT_NOT_CAPTURED")

    def test_a_spent_topup_cannot_be_refunded(self):
        uid, tok = self.merchant(role="USER")
        payment = self.topup(tok, 10000)
        r = self.c.post("/api/admin/wallets/%s/adjust" % uid,
                        {"amount": -6000, "reason": "spent it"}, token=self.finance)
        self.assertEqual(r.status, 201, r)
        self.assertError(self.c.post("/api/payments/refund", {"payment_id": payment,
                                                              "reason": "all of it"},
                                     token=self.finance), 422, "INSUFFICIENT_BALANCE")
        self.assertEqual(self.refunds_of(payment), [])
        self.assertEqual(self.rzp.requests(method="POST", path="/v1/payments/%s/refund"
                                           % self.razorpay_id(payment)), [])

    def test_a_failed_refund_gives_the_money_back(self):
        uid, tok = self.merchant(role="USER")
        payment = self.topup(tok, 10000)
        r = self.c.post("/api/payments/refund", {"payment_id": payment, "amount": 4000,
                                                 "reason": "asked"}, token=self.finance)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.balance(tok), 6000)
        failed = self.rzp.webhook("refund.failed", r.data["razorpay_refund_id"], url=self.hook)
        self.assertEqual(failed["delivery"]["status"], 200, failed)
        got = self.c.get("/api/payments/refunds/" + r.data["id"], token=self.finance).data
        self.assertEqual(got["status"], "failed")
        self.assertEqual(self.balance(tok), 10000)
        # A processed after the failure, and the failure again: no effect.
        self.rzp.webhook("refund.processed", r.data["razorpay_refund_id"], url=self.hook,
                         apply=False)
        self.assertEqual(self.rzp.deliver(failed["id"], url=self.hook)["status"], 200)
        self.assertEqual(self.balance(tok), 10000)
        # The payment can be refunded again, under the next key.
        again = self.c.post("/api/payments/refund", {"payment_id": payment, "amount": 10000,
                                                     "reason": "second try"},
                            token=self.finance)
        self.assertEqual((again.status, again.data["amount_paise"]), (201, 10000), again)
        self.assertEqual(self.rzp.requests(method="POST", path="/v1/payments/*/refund")[-1]
                         ["idempotency_key"], payment + "-2")

    def test_a_refund_of_a_delivered_order_comes_off_its_settlement(self):
        tok, p, made = self.razorpay_checkout(price=40000)
        order, payment = made["orders"][0], made["payment"]
        self.pay(tok, payment)
        for status in ("PROCESSING", "SHIPPED", "DELIVERED"):
            self.assertEqual(self.c.put("/api/orders/%s/status" % order["id"],
                                        {"status": status}, token=self.admin).status, 200)
        refund = lambda body: self.c.post("/api/payments/refund",  # noqa: E731
                                          dict(payment_id=payment["payment_id"], **body),
                                          token=self.finance)
        r = refund({"order_id": order["id"], "amount": 5000, "reason": "one item damaged"})
        self.assertEqual((r.status, r.data["order_id"], r.data["cancellation"]),
                         (201, order["id"], False), r)
        # No more than is left of the order; an order the payment did not pay
        # is refused by name.
        self.assertError(refund({"order_id": order["id"], "amount": order["total_paise"],
                                 "reason": "too much"}), 422, "REFUND_TOO_LARGE", "amount")
        _, _, other = self.razorpay_checkout()
        self.assertError(refund({"order_id": other["orders"][0]["id"], "reason": "not it"}),
                         400, "VALIDATION_ERROR", "order_id")
        india_today = self.stack.psql("SELECT (now() AT TIME ZONE 'Asia/Kolkata')::date")
        s = self.c.post("/api/settlements", {"store_id": self.shop["id"],
                                             "period_start": india_today,
                                             "period_end": india_today}, token=self.finance)
        self.assertEqual(s.status, 201, s)
        s = s.data
        self.assertEqual((s["gross_paise"], s["refunds_paise"]), (40000, 5000), s)
        self.assertEqual(s["net_paise"], 40000 - s["commission_paise"] - 5000)

    # ---- cancellations --------------------------------------------------------

    def test_cancelling_a_paid_order_refunds_it_once(self):
        tok, p, made = self.razorpay_checkout(price=25000)
        order, payment = made["orders"][0], made["payment"]
        rzp_payment = self.pay(tok, payment)
        r = self.c.post("/api/orders/%s/cancel" % order["id"], {"reason": "changed my mind"},
                        token=tok)
        self.assertEqual((r.status, r.data["status"]), (200, "CANCELLED"), r)
        self.assertEqual(self.stock_of(p), 10)
        refund = self.sent_refund(payment["payment_id"])
        self.assertEqual((refund["order_id"], refund["amount_paise"], refund["status"]),
                         (order["id"], order["total_paise"], "pending"))
        sent = self.rzp.requests(method="POST", path="/v1/payments/%s/refund" % rzp_payment)
        self.assertEqual([s["idempotency_key"] for s in sent], [payment["payment_id"] + "-1"])
        # Razorpay processes it; the event redelivered changes nothing more.
        before = self.account("platform:razorpay_clearing")
        done = self.rzp.webhook("refund.processed", refund["razorpay_refund_id"], url=self.hook)
        self.assertEqual(self.rzp.deliver(done["id"], url=self.hook)["status"], 200)
        self.assertEqual(self.account("platform:razorpay_clearing") - before,
                         order["total_paise"])
        self.assertEqual(self.refunds_of(payment["payment_id"])[0]["status"], "processed")
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE topic = 'refund.processed' AND "
            "position(convert_to('%s', 'UTF8') IN body) > 0" % refund["id"]), "1")
        # Every step names the store's owner, for the merchant's event stream.
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE topic LIKE 'refund.%%' AND "
            "position(convert_to('%s', 'UTF8') IN body) > 0 AND "
            "position(convert_to('merchant_id', 'UTF8') || '\\xd924'::bytea || "
            "convert_to('%s', 'UTF8') IN body) > 0" % (refund["id"], self.seller_id)), "2")

    def test_a_refund_razorpay_fails_to_take_is_tried_again_with_the_same_key(self):
        tok, p, made = self.razorpay_checkout()
        order, payment = made["orders"][0], made["payment"]
        path = "/v1/payments/%s/refund" % self.pay(tok, payment)
        # The first try's three attempts fail; the answers of the next are
        # lost after Razorpay made the refund; the one after that gets it.
        self.rzp.add_fault(path, "error", count=3, status=500)
        self.rzp.add_fault(path, "error", count=3, status=500, phase="after")
        r = self.c.post("/api/orders/%s/cancel" % order["id"], {"reason": "late"}, token=tok)
        self.assertEqual(r.status, 200, r)
        refund = self.sent_refund(payment["payment_id"])
        sent = self.rzp.requests(method="POST", path=path)
        self.assertEqual({s["idempotency_key"] for s in sent}, {payment["payment_id"] + "-1"})
        self.assertEqual(len(sent), 7)
        refunds = self.fake_refunds(payment["payment_id"])
        self.assertEqual(len(refunds), 1)
        self.assertEqual(refund["razorpay_refund_id"], refunds[0]["id"])

    def test_a_webhook_ahead_of_our_record_finds_the_refund_by_its_key(self):
        tok, p, made = self.razorpay_checkout()
        order, payment = made["orders"][0], made["payment"]
        path = "/v1/payments/%s/refund" % self.pay(tok, payment)
        # Every answer lost: Razorpay makes the refund, mandi does not learn
        # its id, and the job waits to try again.
        self.rzp.add_fault(path, "error", count=30, status=500, phase="after")
        self.assertEqual(self.c.post("/api/orders/%s/cancel" % order["id"],
                                     {"reason": "late"}, token=tok).status, 200)
        ours = wait_for(lambda: self.fake_refunds(payment["payment_id"]), 15, "a refund")
        self.assertEqual(len(ours), 1, ours)
        self.assertEqual(ours[0]["notes"], {"mandi_refund_key": payment["payment_id"] + "-1"})
        self.assertEqual(self.refunds_of(payment["payment_id"])[0]["razorpay_refund_id"], None)
        self.rzp.webhook("refund.processed", ours[0]["id"], url=self.hook)
        got = self.refunds_of(payment["payment_id"])[0]
        self.assertEqual((got["status"], got["razorpay_refund_id"]), ("processed", ours[0]["id"]))
        self.rzp.clear_faults()
        self.rzp.clear_requests()

    def test_an_order_cancelled_before_its_payment_is_refunded_when_paid(self):
        tok, p, made = self.razorpay_checkout()
        order, payment = made["orders"][0], made["payment"]
        r = self.c.post("/api/orders/%s/cancel" % order["id"], {"reason": "too slow"}, token=tok)
        self.assertEqual((r.status, r.data["status"]), (200, "CANCELLED"), r)
        self.assertEqual(self.refunds_of(payment["payment_id"]), [])
        # The customer pays anyway: the order stays cancelled, the money goes back.
        self.pay(tok, payment)
        got = self.c.get("/api/orders/" + order["id"], token=tok).data
        self.assertEqual(got["status"], "CANCELLED")
        refund = self.sent_refund(payment["payment_id"])
        self.assertEqual((refund["order_id"], refund["amount_paise"]),
                         (order["id"], order["total_paise"]))

    def test_a_checkout_paid_twice_refunds_the_second_payment(self):
        tok, p, made = self.razorpay_checkout()
        order, first = made["orders"][0], made["payment"]
        second = self.c.post("/api/payments/order", {"purpose": "order", "order_id": order["id"]},
                             token=tok).data
        self.pay(tok, first)
        self.pay(tok, second)
        self.assertEqual(self.c.get("/api/orders/" + order["id"], token=tok).data["status"],
                         "CONFIRMED")
        self.assertEqual(self.refunds_of(first["payment_id"]), [])
        refund = self.sent_refund(second["payment_id"])
        self.assertEqual((refund["order_id"], refund["amount_paise"]),
                         (None, order["total_paise"]))
        # Cancelling the order now refunds the payment that paid it.
        self.c.post("/api/orders/%s/cancel" % order["id"], {"reason": "no"}, token=tok)
        self.assertEqual(self.sent_refund(first["payment_id"])["order_id"], order["id"])


if __name__ == "__main__":
    unittest.main()
