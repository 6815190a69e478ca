"""
Wallets on the double-entry ledger through the whole stack (payments,
orders and catalog pools): reading the wallet, its movements and stats;
finance staff's adjustments (audited, refused past the balance); paying a
checkout from the wallet in the checkout's own transaction, and the refund
on cancellation, once; a thousand concurrent debits on a small wallet.
After every test the ledger's invariants are checked on the whole table:
every entry sums to zero, so do all postings, each account's balance is
the sum of its postings, and no wallet is below zero.
"""

import collections
import concurrent.futures
import unittest
import uuid

from catalog_case import OrdersCase


class Wallet(OrdersCase):
    pools = {"catalog": 1, "orders": 2, "payments": 2}

    def setUp(self):
        super().setUp()
        self.finance = self.stack.token(str(uuid.uuid4()), "FINANCE")
        self.addCleanup(self.check_ledger)

    def check_ledger(self):
        one = lambda sql: self.stack.psql(sql)  # noqa: E731
        self.assertEqual(one("SELECT count(*) FROM (SELECT entry_id FROM ledger_postings "
                             "GROUP BY entry_id HAVING sum(amount_paise) <> 0) x"), "0")
        self.assertEqual(one("SELECT coalesce(sum(amount_paise), 0) FROM ledger_postings"), "0")
        self.assertEqual(one("SELECT coalesce(sum(balance_paise), 0) FROM ledger_accounts"), "0")
        self.assertEqual(one("SELECT count(*) FROM ledger_accounts a WHERE balance_paise <> "
                             "(SELECT coalesce(sum(amount_paise), 0) FROM ledger_postings p "
                             "WHERE p.account_id = a.id)"), "0")
        self.assertEqual(one("SELECT count(*) FROM ledger_accounts WHERE kind = 'wallet' "
                             "AND balance_paise < 0"), "0")
        # Each account's running balance is an unbroken chain.
        self.assertEqual(one("SELECT count(*) FROM (SELECT balance_after - amount_paise AS "
                             "before, lag(balance_after, 1, 0::bigint) OVER (PARTITION BY "
                             "account_id ORDER BY id) AS prev FROM ledger_postings) x "
                             "WHERE before <> prev"), "0")

    def wallet(self, tok):
        r = self.c.get("/api/wallet", token=tok)
        self.assertEqual(r.status, 200, r)
        return r.data

    def adjust(self, uid, amount, token=None, reason="goodwill credit"):
        return self.c.post("/api/admin/wallets/%s/adjust" % uid,
                           {"amount": amount, "reason": reason}, token=token or self.finance)

    def test_reading_and_adjusting(self):
        uid, tok = self.merchant(role="USER")
        self.assertEqual(self.wallet(tok), {"balance_paise": 0, "total_earned_paise": 0,
                                            "total_spent_paise": 0, "currency": "INR"})
        r = self.adjust(uid, 50000)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.data["type"], r.data["source"], r.data["amount_paise"],
                          r.data["balance_before_paise"], r.data["balance_after_paise"]),
                         ("credit", "adjustment", 50000, 0, 50000))
        self.assertEqual(self.adjust(uid, -20000, token=self.admin).status, 201)
        w = self.wallet(tok)
        self.assertEqual((w["balance_paise"], w["total_earned_paise"], w["total_spent_paise"]),
                         (30000, 50000, 20000))
        # Past the balance: refused, nothing moved.
        r = self.adjust(uid, -30001)
        self.assertError(r, 422, "INSUFFICIENT_BALANCE")
        self.assertEqual(self.wallet(tok)["balance_paise"], 30000)
        # Bad input names the field; others may not adjust.
        self.assertError(self.adjust(uid, 0), 400, "VALIDATION_ERROR", "amount")
        self.assertError(self.adjust(uid, 1.5), 400, "VALIDATION_ERROR", "amount")
        self.assertError(self.adjust(uid, 100, reason=""), 400, "VALIDATION_ERROR", "reason")
        self.assertError(self.adjust("nobody", 100), 400, "VALIDATION_ERROR", "user_id")
        self.assertError(self.adjust(str(uuid.uuid4()), 100), 404, "USER_NOT_FOUND")
        for role in ("USER", "MERCHANT", "LOCATION_ADMIN"):
            self.assertError(self.adjust(uid, 100, token=self.stack.token(
                str(uuid.uuid4()), role)), 403, "FORBIDDEN")
        self.assertEqual(self.wallet(tok)["balance_paise"], 30000)
        self.assertEqual(self.stack.psql("SELECT count(*) FROM audit_log WHERE action = "
                                         "'wallet.adjust' AND target_id = '%s'" % uid), "2")
        # The movements, newest first, with filters; the stats.
        r = self.c.get("/api/wallet/transactions", token=tok)
        self.assertEqual([(x["type"], x["amount_paise"], x["balance_after_paise"])
                          for x in r.data["items"]],
                         [("debit", 20000, 30000), ("credit", 50000, 50000)])
        r = self.c.get("/api/wallet/transactions?type=credit&source=adjustment", token=tok)
        self.assertEqual(r.data["pagination"]["total"], 1)
        self.assertEqual(self.c.get("/api/wallet/transactions?source=refund",
                                    token=tok).data["items"], [])
        self.assertError(self.c.get("/api/wallet/transactions?type=gift", token=tok), 400,
                         "VALIDATION_ERROR", "type")
        s = self.c.get("/api/wallet/stats", token=tok).data
        self.assertEqual((s["credit_paise"], s["debit_paise"]), (50000, 20000))
        self.assertEqual(s["by_source"]["adjustment"],
                         {"credit_paise": 50000, "debit_paise": 20000, "count": 2})
        self.assertEqual(sum(m["count"] for m in s["by_month"]), 2)

    def test_wallet_checkout_and_refund(self):
        seller_id, seller = self.merchant()
        cat, shop = self.category(), self.store(seller)
        p = self.product(seller, shop, cat, selling_price_paise=9000, stock=10)
        uid, tok, addr = self.customer()
        self.adjust(uid, 30000)
        self.add(tok, p, 3)                                   # 27000 + 4000 delivery
        r = self.checkout(tok, addr, "wallet")
        self.assertError(r, 422, "INSUFFICIENT_BALANCE")      # 31000 > 30000
        self.assertEqual((self.stock_of(p), self.wallet(tok)["balance_paise"]), (10, 30000))
        self.assertEqual(len(self.c.get("/api/cart", token=tok).data["items"]), 1)
        self.assertEqual(self.c.get("/api/orders", token=tok).data["items"], [])
        self.c.put("/api/cart/items/%s" % self.c.get("/api/cart", token=tok).data["items"][0]["id"],
                   {"quantity": 2}, token=tok)                # 18000 + 4000
        r = self.checkout(tok, addr, "wallet")
        self.assertEqual(r.status, 201, r)
        order = r.data["orders"][0]
        self.assertEqual((order["status"], order["payment_method"], order["total_paise"]),
                         ("CONFIRMED", "wallet", 22000))
        self.assertEqual(self.wallet(tok)["balance_paise"], 8000)
        got = self.c.get("/api/orders/" + order["id"], token=tok).data
        self.assertEqual(got["history"][0]["note"], "paid from the wallet at checkout")
        top = self.c.get("/api/wallet/transactions", token=tok).data["items"][0]
        self.assertEqual((top["type"], top["source"], top["amount_paise"], top["reference"]),
                         ("debit", "order", 22000, r.data["checkout_id"]))
        # Cancelling gives the money back to the wallet, once.
        url = "/api/orders/%s/cancel" % order["id"]
        self.assertEqual(self.c.post(url, {"reason": "changed my mind"}, token=tok).status, 200)
        self.assertEqual(self.wallet(tok)["balance_paise"], 30000)
        self.assertError(self.c.post(url, {"reason": "again"}, token=tok), 409,
                         "INVALID_STATUS_TRANSITION")
        self.assertEqual(self.wallet(tok)["balance_paise"], 30000)
        top = self.c.get("/api/wallet/transactions", token=tok).data["items"][0]
        self.assertEqual((top["type"], top["source"], top["amount_paise"], top["reference"]),
                         ("credit", "refund", 22000, order["id"]))
        self.assertEqual(self.stock_of(p), 10)

    def test_payouts(self):
        uid, tok = self.merchant(role="USER")
        self.adjust(uid, 6000000)
        bank = {"account_number": "123456781234", "ifsc": "hdfc0001234", "name": "A \"Q\" Rao"}
        request = lambda body, t=tok: self.c.post("/api/payouts/request", body, token=t)  # noqa
        bad = [({"amount": 9999, "vpa": "asha@okaxis"}, "amount"),          # below the minimum
               ({"amount": 20000}, "bank_account"),                          # no destination
               ({"amount": 20000, "vpa": "asha@okaxis", "bank_account": bank}, "bank_account"),
               ({"amount": 20000, "vpa": "not-an-address"}, "vpa"),
               ({"amount": 20000, "vpa": "a@b@c"}, "vpa"),
               ({"amount": 20000, "bank_account": dict(bank, ifsc="HDFC1001234")}, "ifsc"),
               ({"amount": 20000, "bank_account": dict(bank, account_number="12AB5678")},
                "account_number"),
               ({"amount": 20000, "bank_account": {"ifsc": "HDFC0001234", "name": "x"}},
                "account_number"),
               ({"amount": "20000", "vpa": "asha@okaxis"}, "amount")]
        for body, field in bad:
            with self.subTest(body=body):
                self.assertError(request(body), 400, "VALIDATION_ERROR", field)
        self.assertEqual(self.wallet(tok)["balance_paise"], 6000000)
        r = request({"amount": 30000, "vpa": "asha@okaxis"})
        self.assertEqual((r.status, r.data["status"], r.data["destination"]),
                         (201, "requested", {"address": "asha@okaxis"}), r)
        by_vpa = r.data
        r = self.c.post("/api/wallet/withdraw", {"amount": 20000, "bank_account": bank},
                        token=tok)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.data["destination"], {"account_number": "XXXX1234",
                                                 "ifsc": "HDFC0001234", "name": 'A "Q" Rao'})
        by_bank = r.data
        self.assertEqual(self.wallet(tok)["balance_paise"], 6000000 - 50000)
        # The daily limit (5,000,000 by default) counts what was asked today.
        r = request({"amount": 5000000 - 50000 + 1, "vpa": "asha@okaxis"})
        self.assertError(r, 422, "PAYOUT_LIMIT_REACHED")
        self.assertEqual(self.wallet(tok)["balance_paise"], 6000000 - 50000)
        # Cancelling gives the money back, once; only the owner can.
        _, stranger = self.merchant(role="USER")
        url = "/api/payouts/%s/cancel" % by_vpa["id"]
        self.assertError(self.c.post(url, {}, token=stranger), 404, "PAYOUT_NOT_FOUND")
        r = self.c.post(url, {}, token=tok)
        self.assertEqual((r.status, r.data["status"]), (200, "cancelled"), r)
        self.assertError(self.c.post(url, {}, token=tok), 409, "PAYOUT_NOT_REQUESTED")
        self.assertEqual(self.wallet(tok)["balance_paise"], 6000000 - 20000)
        # Finance sees everyone's and rejects with a reason.
        self.assertError(self.c.get("/api/payouts/all", token=tok), 403, "FORBIDDEN")
        r = self.c.get("/api/payouts/all?user=%s&status=requested" % uid, token=self.finance)
        self.assertEqual([p["id"] for p in r.data["items"]], [by_bank["id"]])
        url = "/api/payouts/%s/reject" % by_bank["id"]
        self.assertError(self.c.post(url, {}, token=self.finance), 400, "VALIDATION_ERROR",
                         "reason")
        self.assertError(self.c.post(url, {"reason": "kyc"}, token=tok), 403, "FORBIDDEN")
        r = self.c.post(url, {"reason": "name does not match KYC"}, token=self.finance)
        self.assertEqual((r.status, r.data["status"], r.data["reason"]),
                         (200, "rejected", "name does not match KYC"), r)
        self.assertEqual(self.wallet(tok)["balance_paise"], 6000000)
        mine = self.c.get("/api/payouts", token=tok).data
        self.assertEqual([p["status"] for p in mine["items"]], ["rejected", "cancelled"])
        self.assertEqual(self.c.get("/api/payouts", token=stranger).data["items"], [])
        # More than the wallet holds: refused, no payout written.
        _, poor = self.merchant(role="USER")
        self.assertError(request({"amount": 20000, "vpa": "poor@upi"}, poor), 422,
                         "INSUFFICIENT_BALANCE")
        self.assertEqual(self.c.get("/api/payouts", token=poor).data["items"], [])
        sources = [(x["source"], x["type"]) for x in self.c.get(
            "/api/wallet/transactions?source=payout", token=tok).data["items"]]
        self.assertEqual(sources, [("payout", "credit"), ("payout", "credit"),
                                   ("payout", "debit"), ("payout", "debit")])

    def test_a_thousand_concurrent_debits_on_a_small_wallet(self):
        uid, tok = self.merchant(role="USER")
        self.assertEqual(self.adjust(uid, 5000).status, 201)

        def debit(_):
            r = self.adjust(uid, -100, reason="concurrent debit")
            return r.status, r.code
        with concurrent.futures.ThreadPoolExecutor(max_workers=48) as pool:
            results = list(pool.map(debit, range(1000)))
        ok = [r for r in results if r[0] == 201]
        self.assertEqual(len(ok), 50, collections.Counter(results))
        self.assertTrue(all(r == (422, "INSUFFICIENT_BALANCE") for r in results if r[0] != 201),
                        collections.Counter(results))
        self.assertEqual(self.wallet(tok)["balance_paise"], 0)
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM ledger_postings p JOIN ledger_accounts a ON a.id = "
            "p.account_id WHERE a.user_id = '%s' AND p.amount_paise = -100" % uid), "50")


if __name__ == "__main__":
    unittest.main()
