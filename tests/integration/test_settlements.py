"""
Merchant settlements through the whole stack (payments, orders and catalog
pools): a store's delivered orders in a period, less its commission
(rounded down), each order settled once; the status table; a cancelled
settlement frees its orders; who may read and write them; the commission
rate set by finance and audited.
"""

import datetime
import unittest
import uuid

from catalog_case import OrdersCase


def today():
    """Today's date in India, as settlements count days."""
    ist = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
    return datetime.datetime.now(ist).date().isoformat()


class Settlements(OrdersCase):
    pools = {"catalog": 1, "orders": 1, "payments": 1}

    def setUp(self):
        super().setUp()
        self.finance = self.stack.token(str(uuid.uuid4()), "FINANCE")
        self.seller_id, self.seller = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.seller)

    def delivered_order(self, shop, seller, price, quantity=1, deliver=True):
        p = self.product(seller, shop, self.cat, selling_price_paise=price,
                         original_price_paise=price)
        _, tok, addr = self.customer()
        self.add(tok, p, quantity)
        r = self.checkout(tok, addr)
        self.assertEqual(r.status, 201, r)
        order = r.data["orders"][0]
        for status in (("PROCESSING", "SHIPPED", "DELIVERED") if deliver else ()):
            self.assertEqual(self.c.put("/api/orders/%s/status" % order["id"],
                                        {"status": status}, token=self.admin).status, 200)
        return order

    def settle(self, shop, token=None, start=None, end=None):
        return self.c.post("/api/settlements", {"store_id": shop["id"],
                                                "period_start": start or today(),
                                                "period_end": end or today()},
                           token=token or self.finance)

    def test_a_period_is_settled_once_less_commission(self):
        a = self.delivered_order(self.shop, self.seller, 10001)
        b = self.delivered_order(self.shop, self.seller, 20000, quantity=2)
        self.delivered_order(self.shop, self.seller, 7000, deliver=False)     # not delivered
        other_id, other = self.merchant()
        other_shop = self.store(other)
        self.delivered_order(other_shop, other, 5000)                          # another store
        # The rate: finance sets it, audited; nobody else may.
        url = "/api/stores/%s/commission" % self.shop["id"]
        self.assertError(self.c.put(url, {"commission_bps": 1250}, token=self.seller), 403,
                         "FORBIDDEN")
        self.assertError(self.c.put(url, {"commission_bps": 10001}, token=self.finance), 400,
                         "VALIDATION_ERROR", "commission_bps")
        r = self.c.put(url, {"commission_bps": 1250}, token=self.finance)
        self.assertEqual((r.status, r.data["commission_bps"]), (200, 1250), r)
        self.assertEqual(self.stack.psql("SELECT count(*) FROM audit_log WHERE action = "
                                         "'store.commission' AND target_id = '%s'"
                                         % self.shop["id"]), "1")
        # Settled: 10001 + 40000 = 50001; 12.5% = 6250.125, rounded down.
        r = self.settle(self.shop)
        self.assertEqual(r.status, 201, r)
        s = r.data
        self.assertEqual((s["order_count"], s["gross_paise"], s["commission_bps"],
                          s["commission_paise"], s["refunds_paise"], s["net_paise"],
                          s["status"]), (2, 50001, 1250, 6250, 0, 43751, "pending"))
        self.assertEqual(sorted(s["order_ids"]), sorted([a["id"], b["id"]]))
        # Nothing left to settle in that period.
        self.assertError(self.settle(self.shop), 409, "NOTHING_TO_SETTLE")
        # Who reads: finance, and the store's merchant; not another.
        self.assertEqual(self.c.get("/api/settlements/" + s["id"], token=self.seller).status, 200)
        self.assertError(self.c.get("/api/settlements/" + s["id"], token=other), 404,
                         "SETTLEMENT_NOT_FOUND")
        self.assertEqual(self.c.get("/api/settlements?store=%s" % self.shop["id"],
                                    token=other).data["items"], [])
        self.assertEqual([x["id"] for x in self.c.get(
            "/api/settlements?store=%s" % self.shop["id"], token=self.seller).data["items"]],
            [s["id"]])
        self.assertError(self.settle(self.shop, token=self.seller), 403, "FORBIDDEN")
        # The status table.
        status = "/api/settlements/%s/status" % s["id"]
        self.assertError(self.c.patch(status, {"status": "paid"}, token=self.finance), 409,
                         "INVALID_STATUS_TRANSITION")
        for step in ("processing", "paid"):
            r = self.c.patch(status, {"status": step, "note": "utr 1234"}, token=self.finance)
            self.assertEqual((r.status, r.data["status"]), (200, step), r)
        self.assertError(self.c.patch(status, {"status": "cancelled"}, token=self.finance), 409,
                         "INVALID_STATUS_TRANSITION")
        self.assertError(self.c.patch(status, {"status": "lost"}, token=self.finance), 400,
                         "VALIDATION_ERROR", "status")

    def test_a_cancelled_settlement_frees_its_orders(self):
        order = self.delivered_order(self.shop, self.seller, 3000)
        first = self.settle(self.shop).data
        r = self.c.patch("/api/settlements/%s/status" % first["id"], {"status": "cancelled"},
                         token=self.finance)
        self.assertEqual(r.data["status"], "cancelled")
        again = self.settle(self.shop)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.data["order_ids"], [order["id"]])
        self.assertEqual((again.data["gross_paise"], again.data["commission_paise"]), (3000, 300))

    def test_bad_input(self):
        self.assertError(self.settle(self.shop, start="2026-02-02", end="2026-02-01"), 400,
                         "VALIDATION_ERROR", "period_end")
        self.assertError(self.settle(self.shop, start="2026-02-30"), 400, "VALIDATION_ERROR",
                         "period_start")
        self.assertError(self.settle({"id": str(uuid.uuid4())}), 404, "STORE_NOT_FOUND")
        self.assertError(self.settle({"id": "x"}), 400, "VALIDATION_ERROR", "store_id")
        self.assertError(self.settle(self.shop, start="2001-01-01", end="2001-01-31"), 409,
                         "NOTHING_TO_SETTLE")
        self.assertEqual(self.stack.psql("SELECT count(*) FROM settlements WHERE store_id = "
                                         "'%s'" % self.shop["id"]), "0")


if __name__ == "__main__":
    unittest.main()
