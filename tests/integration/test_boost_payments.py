"""
Paying for a listing boost through Razorpay, end to end against the fake
Razorpay: the boost's price is ours (the plan's, copied when it was asked
for), the capture starts the boost once whichever of the app's verification
and the webhook comes first, a second boost extends the first, a boost that
stopped waiting before its payment arrived is refunded in full, and the
money sits in boost sales on a balanced ledger; the owner finds the news
in the inbox. Bad requests name the field and write nothing.
"""

import datetime
import unittest
import uuid

from harness import wait_for
from payments_case import PaymentsCase


def parse_ts(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


class BoostPayments(PaymentsCase):
    pools = {"catalog": 1, "orders": 1, "payments": 2, "notifications": 1}

    def setUp(self):
        super().setUp()
        self.rzp.clear_faults()
        self.city = "City-" + uuid.uuid4().hex[:10]
        self.seller, self.tok = self.merchant(role="USER")
        self.mod = self.merchant(role="MODERATOR")[1]
        self.finance = self.merchant(role="FINANCE")[1]

    # ---- helpers ------------------------------------------------------------

    def plans(self):
        r = self.c.get("/api/boost-plans")
        self.assertEqual(r.status, 200, r)
        return {p["duration_days"]: p for p in r.data["items"]}

    def listing(self, title="Used scooter"):
        r = self.c.post("/api/listings", {"title": title, "price_paise": 3500000,
                                          "condition": "good", "city": self.city},
                        token=self.tok)
        self.assertEqual(r.status, 201, r)
        r = self.c.post("/api/listings/%s/review" % r.data["id"], {"decision": "approve"},
                        token=self.mod)
        self.assertEqual((r.status, r.data["status"]), (200, "ACTIVE"), r)
        return r.data

    def boost(self, listing, days=3):
        r = self.c.post("/api/listings/%s/boost" % listing["id"],
                        {"plan_id": self.plans()[days]["id"]}, token=self.tok)
        self.assertEqual(r.status, 201, r)
        return r.data["boost"]

    def order_for(self, boost, token=None):
        return self.c.post("/api/payments/order", {"purpose": "listing_boost",
                                                   "boost_id": boost["id"]},
                           token=token or self.tok)

    def pay(self, order):
        made = self.rzp.pay(order["razorpay_order_id"])
        v = self.c.post("/api/payments/verify", made["checkout"], token=self.tok)
        self.assertEqual((v.status, v.data["status"]), (200, "captured"), v)
        return made

    def boost_row(self, boost_id):
        out = self.stack.psql("SELECT status, coalesce(extract(epoch FROM starts_at)::bigint, 0), "
                              "coalesce(extract(epoch FROM ends_at)::bigint, 0) "
                              "FROM listing_boosts WHERE id = '%s'" % boost_id)
        status, starts, ends = out.split("|")
        return status, int(starts), int(ends)

    def boost_sales(self):
        return int(self.stack.psql("SELECT balance_paise FROM ledger_accounts "
                                   "WHERE code = 'platform:boost_sales'"))

    def shown(self, listing):
        r = self.c.get("/api/listings/" + listing["id"], token=self.tok)
        self.assertEqual(r.status, 200, r)
        return r.data

    # ---- the flow -----------------------------------------------------------

    def test_a_paid_boost_starts_once_and_puts_the_listing_first(self):
        plain = self.listing("Plain cooler")
        boosted = self.listing("Boosted scooter")
        boost = self.boost(boosted, days=7)
        sales = self.boost_sales()

        r = self.order_for(boost)
        self.assertEqual(r.status, 201, r)
        order = r.data
        self.assertEqual((order["purpose"], order["boost_id"], order["amount"],
                          order["currency"]), ("listing_boost", boost["id"], 9900, "INR"))
        self.assertEqual(self.boost_row(boost["id"])[0], "pending_payment")

        made = self.pay(order)
        # The webhook arriving after the verification changes nothing more.
        self.rzp.webhook("payment.captured", made["payment"]["id"], url=self.hook)
        self.assertEqual(self.c.post("/api/payments/verify", made["checkout"],
                                     token=self.tok).data["status"], "captured")

        status, starts, ends = self.boost_row(boost["id"])
        self.assertEqual(status, "active")
        self.assertEqual(ends - starts, 7 * 86400)
        until = parse_ts(self.shown(boosted)["boosted_until"])
        self.assertAlmostEqual(until.timestamp(), ends, delta=1)
        ids = [i["id"] for i in self.c.get("/api/listings?city=" + self.city).data["items"]]
        self.assertEqual(ids, [boosted["id"], plain["id"]])

        self.assertEqual(self.boost_sales(), sales + 9900)
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM ledger_entries WHERE source = 'boost' AND reference = '%s'"
            % order["payment_id"]), "1")
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE topic = 'listing.boosted' AND "
            "position(convert_to('%s', 'UTF8') IN body) > 0" % boost["id"]), "1")
        # The owner hears of it once, worded by the listing.boosted template.
        def told():
            items = self.c.get("/api/notifications", token=self.tok).data["items"]
            return [(n["title"], n["body"]) for n in items if n["event"] == "listing.boosted"]
        self.assertEqual(wait_for(told, 20, "listing.boosted in the inbox"),
                         [("Your listing is boosted", 'Your listing "Boosted scooter" is boosted '
                           "for 7 days and shows first in the list.")])
        # Paid now: another Razorpay order for it is refused.
        self.assertError(self.order_for(boost), 409, "BOOST_NOT_PAYABLE")
        check = self.c.get("/api/admin/ledger/check", token=self.finance)
        self.assertEqual((check.status, check.data["ok"]), (200, True), check)

    def test_a_second_boost_extends_the_first(self):
        listing = self.listing()
        first = self.boost(listing, days=3)
        self.pay(self.order_for(first).data)
        _, _, first_end = self.boost_row(first["id"])
        second = self.boost(listing, days=7)
        self.pay(self.order_for(second).data)
        status, starts, ends = self.boost_row(second["id"])
        self.assertEqual((status, starts, ends), ("active", first_end, first_end + 7 * 86400))
        self.assertAlmostEqual(parse_ts(self.shown(listing)["boosted_until"]).timestamp(), ends,
                               delta=1)

    def test_a_boost_replaced_before_its_payment_is_refunded_in_full(self):
        listing = self.listing()
        stale = self.boost(listing)
        order = self.order_for(stale).data
        fresh = self.boost(listing, days=7)  # asking again cancels the first
        self.assertEqual(self.boost_row(stale["id"])[0], "cancelled")
        sales = self.boost_sales()
        self.pay(order)  # the customer paid the first one anyway
        self.assertEqual(self.boost_row(stale["id"])[0], "cancelled")
        self.assertEqual(self.boost_row(fresh["id"])[0], "pending_payment")
        self.assertIsNone(self.shown(listing)["boosted_until"])
        # Nothing kept: the money came in and went straight out as a refund.
        self.assertEqual(self.boost_sales(), sales)
        refunds = wait_for(lambda: [x for x in self.c.get(
            "/api/payments/refunds?payment_id=" + order["payment_id"],
            token=self.finance).data["items"] if x["razorpay_refund_id"]], 15,
            "the refund to reach Razorpay")
        self.assertEqual([(x["amount_paise"], x["reason"]) for x in refunds],
                         [(4900, "the boost was no longer waiting for payment")])

    def test_a_sold_listing_boost_is_not_payable(self):
        listing = self.listing()
        boost = self.boost(listing)
        r = self.c.post("/api/listings/%s/sold" % listing["id"], {}, token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertError(self.order_for(boost), 409, "BOOST_NOT_PAYABLE")

    # ---- bad requests ---------------------------------------------------------

    def test_bad_requests_name_the_field_and_write_nothing(self):
        listing = self.listing()
        boost = self.boost(listing)
        before = self.stack.psql("SELECT count(*) FROM payments")
        cases = [
            ({"purpose": "listing_boost"}, 400, "VALIDATION_ERROR", "boost_id"),
            ({"purpose": "listing_boost", "boost_id": "nope"}, 400, "VALIDATION_ERROR",
             "boost_id"),
            ({"purpose": "listing_boost", "boost_id": str(uuid.uuid4())}, 404,
             "BOOST_NOT_FOUND", None),
        ]
        for body, status, code, field in cases:
            with self.subTest(body=body):
                self.assertError(self.c.post("/api/payments/order", body, token=self.tok),
                                 status, code, field)
        # Someone else's boost is not found for them.
        _, other = self.merchant(role="USER")
        self.assertError(self.order_for(boost, token=other), 404, "BOOST_NOT_FOUND")
        # The app cannot name its own price: an amount given is not used.
        r = self.c.post("/api/payments/order", {"purpose": "listing_boost",
                                                "boost_id": boost["id"], "amount": 100},
                        token=self.tok)
        self.assertEqual((r.status, r.data["amount"]), (201, 4900), r)
        self.assertEqual(int(self.stack.psql("SELECT count(*) FROM payments")), int(before) + 1)


if __name__ == "__main__":
    unittest.main()
