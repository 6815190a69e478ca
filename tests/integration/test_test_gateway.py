"""
The built-in test gateway: with no RAZORPAY_KEY_ID the payments pool
answers Razorpay's calls in process, so a development stack takes
payments end to end without Razorpay. A top-up and a razorpay checkout
are paid through POST /api/payments/test/pay and verified like real ones
(signature, fetch, settle once); a cancelled paid order is refunded and
processed at once. With a key set, the test route is not there.
"""

import unittest
import uuid

from catalog_case import OrdersCase
from harness import Stack, wait_for


class TestGateway(OrdersCase):
    pools = {"catalog": 1, "orders": 1, "payments": 1}
    env = {"RAZORPAY_KEY_ID": ""}

    def pay(self, tok, razorpay_order_id):
        r = self.c.post("/api/payments/test/pay", {"razorpay_order_id": razorpay_order_id},
                        token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.data["razorpay_payment_id"].startswith("pay_test_"))
        v = self.c.post("/api/payments/verify", r.data, token=tok)
        self.assertEqual((v.status, v.data["status"]), (200, "captured"), v)
        return r.data

    def test_a_topup_and_a_checkout_paid_locally(self):
        uid, tok, addr = self.customer()
        r = self.c.post("/api/payments/order", {"purpose": "wallet_topup", "amount": 25000},
                        token=tok)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.data["razorpay_order_id"].startswith("order_test_"))
        paid = self.pay(tok, r.data["razorpay_order_id"])
        self.assertEqual(self.c.get("/api/wallet", token=tok).data["balance_paise"], 25000)
        # A forged signature is still refused: the verification is the real one.
        forged = dict(paid, razorpay_signature="0" * 64)
        self.assertError(self.c.post("/api/payments/verify", forged, token=tok), 400,
                         "INVALID_SIGNATURE")
        # Someone else cannot pay it; bad input names the field.
        _, other = self.merchant(role="USER")
        self.assertError(self.c.post("/api/payments/test/pay", {"razorpay_order_id":
                                                                r.data["razorpay_order_id"]},
                                     token=other), 404, "PAYMENT_NOT_FOUND")
        self.assertError(self.c.post("/api/payments/test/pay", {}, token=tok), 400,
                         "VALIDATION_ERROR", "razorpay_order_id")

        _, seller = self.merchant()
        shop, cat = self.store(seller), self.category()
        p = self.product(seller, shop, cat, selling_price_paise=60000,
                         original_price_paise=60000)
        self.add(tok, p, 1)
        made = self.checkout(tok, addr, "razorpay")
        self.assertEqual(made.status, 201, made)
        order = made.data["orders"][0]
        self.pay(tok, made.data["payment"]["razorpay_order_id"])
        self.assertEqual(self.c.get("/api/orders/" + order["id"], token=tok).data["status"],
                         "CONFIRMED")
        # Cancelled: the refund goes through the gateway and is processed at once.
        self.assertEqual(self.c.post("/api/orders/%s/cancel" % order["id"],
                                     {"reason": "changed my mind"}, token=tok).status, 200)
        status = wait_for(lambda: self.stack.psql(
            "SELECT status FROM refunds WHERE order_id = '%s'" % order["id"]) == "processed"
            or None, 15, "the refund to be processed")
        self.assertTrue(status)
        # Its money went through refunds pending to the clearing account.
        self.assertEqual(self.stack.psql(
            "SELECT string_agg(a.code || ' ' || p.amount_paise, ', ' ORDER BY p.amount_paise) "
            "FROM refunds r JOIN ledger_entries e ON e.reference = r.id || ':processed' "
            "JOIN ledger_postings p ON p.entry_id = e.id JOIN ledger_accounts a "
            "ON a.id = p.account_id WHERE r.order_id = '%s'" % order["id"]),
            "platform:refunds_pending -%d, platform:razorpay_clearing %d"
            % (order["total_paise"], order["total_paise"]))


class WithAKey(unittest.TestCase):
    def test_the_test_route_is_not_there(self):
        with Stack(pools={"payments": 1}, env={"RAZORPAY_KEY_ID": "rzp_test_k"},
                   name="withakey") as stack:
            tok = stack.token(str(uuid.uuid4()), "USER")
            r = stack.request("POST", "/api/payments/test/pay",
                              {"razorpay_order_id": "order_test_abc_100"}, token=tok)
            self.assertEqual(r.status, 404, r)
            self.assertEqual(r.code, "NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
