"""
Shared set-up of the payments tests: OrdersCase with the payments pool, a
fake Razorpay (tests/fakes/razorpay.py) that the stack is pointed at, the
webhook URL of the stack, and the ledger's invariants checked after every
test.
"""

import os
import sys

from catalog_case import OrdersCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from razorpay import FakeRazorpay  # noqa: E402


class PaymentsCase(OrdersCase):
    pools = {"catalog": 1, "orders": 1, "payments": 2}
    extra_env = {}     # a subclass's settings, over the fake's
    fake_options = {}  # a subclass's FakeRazorpay arguments

    @classmethod
    def setUpClass(cls):
        cls.rzp = FakeRazorpay(**cls.fake_options)
        cls.rzp.start()
        cls.env = {"RAZORPAY_API_BASE": cls.rzp.url, "RAZORPAY_KEY_ID": cls.rzp.key_id,
                   "RAZORPAY_KEY_SECRET": cls.rzp.key_secret,
                   "RAZORPAY_WEBHOOK_SECRET": cls.rzp.webhook_secret,
                   "RAZORPAY_RETRY_BASE_MS": "20", **cls.extra_env}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.rzp.stop()

    def setUp(self):
        super().setUp()
        self.addCleanup(self.check_ledger)
        self.hook = "http://127.0.0.1:%d/api/payments/webhook" % self.stack.http_port

    def check_ledger(self):
        one = self.stack.psql
        self.assertEqual(one("SELECT coalesce(sum(amount_paise), 0) FROM ledger_postings"), "0")
        self.assertEqual(one("SELECT count(*) FROM ledger_entries e WHERE (SELECT sum("
                             "amount_paise) FROM ledger_postings p WHERE p.entry_id = e.id) "
                             "<> 0"), "0")
        self.assertEqual(one("SELECT count(*) FROM ledger_accounts WHERE kind = 'wallet' "
                             "AND balance_paise < 0"), "0")
        self.assertEqual(one("SELECT count(*) FROM ledger_accounts a WHERE balance_paise <> "
                             "(SELECT coalesce(sum(amount_paise), 0) FROM ledger_postings p "
                             "WHERE p.account_id = a.id)"), "0")
        # Every captured payment is posted exactly once.
        self.assertEqual(one("SELECT count(*) FROM payments p WHERE p.status = 'captured' AND "
                             "(SELECT count(*) FROM ledger_entries e WHERE e.reference = "
                             "p.id::text) <> 1"), "0")
        # What refunds hold is what the payments say was refunded.
        self.assertEqual(one("SELECT count(*) FROM payments p WHERE amount_refunded_paise <> "
                             "(SELECT coalesce(sum(amount_paise), 0) FROM refunds r "
                             "WHERE r.payment_id = p.id AND r.status <> 'failed')"), "0")
