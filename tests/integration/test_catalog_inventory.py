"""
Inventory, favourites and back-in-stock requests through the whole stack:
stock changes with history, events on threshold crossings (from the outbox),
no oversell under concurrent decrements, all-or-nothing bulk updates, the
merchant's stock views, idempotent favourites, and restocks that notify each
waiting subscriber once.
"""

import json
import os
import subprocess
import threading
import unittest
import uuid

from catalog_case import CatalogCase


def stored_events(stack, *prefixes):
    """What the outbox holds under prefixes, as mandi-events prints it."""
    argv = [os.path.join(stack.bin_dir, "mandi-events"), "--from", "0", "--stored"]
    p = subprocess.run(argv + list(prefixes), env=stack.env, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


class Inventory(CatalogCase):
    def setUp(self):
        super().setUp()
        self.mid, self.tok = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.tok)

    def stock(self, product, token=None, **body):
        return self.c.patch("/api/products/%s/stock" % product["id"], body,
                            token=token or self.tok)

    def events_of(self, product):
        """The stock events recorded for product, decoded by mandi-events
        from the outbox: [(topic, body)] in position order."""
        topics = "stock.", "notify."
        out = stored_events(self.stack, *topics)
        found = []
        for line in out.splitlines():
            e = json.loads(line)
            if e["body"].get("product_id") == product["id"]:
                found.append((e["topic"], e["body"]))
        return found

    def test_delta_set_history_and_events(self):
        p = self.product(self.tok, self.shop, self.cat, stock=10, low_stock_threshold=3)
        r = self.stock(p, delta=-6, reason="sold at the counter")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data, {"product_id": p["id"], "before": 10, "after": 4, "delta": -6,
                                  "reason": "sold at the counter", "in_stock": True})
        self.stock(p, delta=-2, reason="damaged")            # 4 -> 2: crosses 3, stock.low
        self.stock(p, set=0, reason="stock count")           # 2 -> 0: stock.out
        r = self.stock(p, delta=-1, reason="one more")
        self.assertError(r, 409, "INSUFFICIENT_STOCK")
        self.assertEqual(r.error["details"], {"product_id": p["id"], "available": 0})
        self.stock(p, delta=5, reason="delivery")            # 0 -> 5: stock.restocked
        self.stock(p, delta=1, reason="return")              # nothing crossed
        self.assertEqual(self.c.get("/api/products/" + p["id"]).data["stock"], 6)
        r = self.c.get("/api/inventory/history?product_id=" + p["id"], token=self.tok)
        self.assertEqual(r.status, 200, r)
        got = [(h["before"], h["after"], h["delta"], h["reason"]) for h in r.data["items"]]
        self.assertEqual(got, [(5, 6, 1, "return"), (0, 5, 5, "delivery"),
                               (2, 0, -2, "stock count"), (4, 2, -2, "damaged"),
                               (10, 4, -6, "sold at the counter"), (0, 10, 10, "initial stock")])
        self.assertTrue(all(h["actor_id"] == self.mid for h in r.data["items"]))
        self.assertEqual(r.data["pagination"]["total"], 6)
        events = self.events_of(p)
        self.assertEqual([t for t, _ in events], ["stock.low", "stock.out", "stock.restocked"])
        self.assertEqual(events[0][1], {"product_id": p["id"], "store_id": self.shop["id"],
                                        "owner_id": self.mid, "before": 4, "after": 2,
                                        "threshold": 3, "reason": "damaged"})

    def test_bad_stock_requests_change_nothing(self):
        p = self.product(self.tok, self.shop, self.cat, stock=5)
        for body, field in [({"reason": "x"}, "delta"),
                            ({"delta": 1, "set": 2, "reason": "x"}, "set"),
                            ({"delta": 0, "reason": "x"}, "delta"),
                            ({"delta": "1", "reason": "x"}, "delta"),
                            ({"set": -1, "reason": "x"}, "set"),
                            ({"delta": 1}, "reason"),
                            ({"delta": 1, "reason": ""}, "reason")]:
            self.assertError(self.stock(p, **body), 400, "VALIDATION_ERROR", field)
        r = self.c.patch("/api/products/%s/stock" % uuid.uuid4(), {"delta": 1, "reason": "x"},
                         token=self.tok)
        self.assertError(r, 404, "PRODUCT_NOT_FOUND")
        self.assertEqual(self.c.get("/api/products/" + p["id"]).data["stock"], 5)
        self.assertEqual(self.stack.psql("SELECT count(*) FROM stock_history "
                                         "WHERE product_id = '%s'" % p["id"]), "1")

    def test_concurrent_decrements_never_oversell(self):
        p = self.product(self.tok, self.shop, self.cat, stock=10)
        results = []
        lock = threading.Lock()

        def buy():
            r = self.stock(p, delta=-1, reason="order")
            with lock:
                results.append(r.status)

        threads = [threading.Thread(target=buy) for _ in range(25)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [200] * 10 + [409] * 15)
        self.assertEqual(self.stack.psql("SELECT stock FROM products WHERE id = '%s'" % p["id"]),
                         "0")
        # Every success is one history row, and the rows chain 10 -> 0.
        rows = self.stack.psql("SELECT before, after FROM stock_history WHERE product_id = '%s' "
                               "AND reason = 'order' ORDER BY id" % p["id"]).splitlines()
        self.assertEqual(rows, ["%d|%d" % (n, n - 1) for n in range(10, 0, -1)])
        self.assertEqual([t for t, _ in self.events_of(p)], ["stock.low", "stock.out"])

    def test_bulk_update_is_all_or_nothing(self):
        a = self.product(self.tok, self.shop, self.cat, stock=5)
        b = self.product(self.tok, self.shop, self.cat, stock=1)
        r = self.c.patch("/api/inventory/bulk-update", [
            {"product_id": a["id"], "delta": -2, "reason": "order"},
            {"product_id": b["id"], "delta": -2, "reason": "order"},   # only 1 left
        ], token=self.tok)
        self.assertError(r, 409, "INSUFFICIENT_STOCK")
        self.assertEqual(r.error["details"], {"product_id": b["id"], "available": 1})
        self.assertEqual(self.c.get("/api/products/" + a["id"]).data["stock"], 5)
        r = self.c.patch("/api/inventory/bulk-update", {"items": [
            {"product_id": a["id"], "delta": -2, "reason": "order"},
            {"product_id": b["id"], "delta": 1, "reason": "return"}]}, token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["updated"], 2)
        self.assertEqual([(i["product_id"], i["after"]) for i in r.data["items"]],
                         [(a["id"], 3), (b["id"], 2)])
        # Validation names the item; another merchant's product refuses all.
        r = self.c.patch("/api/inventory/bulk-update", [
            {"product_id": a["id"], "delta": 1, "reason": "x"},
            {"product_id": b["id"], "reason": "x"}], token=self.tok)
        self.assertError(r, 400, "VALIDATION_ERROR", "items[1].delta")
        for body in ([], {"items": "x"}, "text"):
            r = self.c.patch("/api/inventory/bulk-update", body, token=self.tok)
            self.assertEqual(r.status, 400, r)
        _, other = self.merchant()
        r = self.c.patch("/api/inventory/bulk-update", [
            {"product_id": a["id"], "delta": 1, "reason": "x"}], token=other)
        self.assertError(r, 403, "NOT_STORE_OWNER")
        self.assertEqual(self.c.get("/api/products/" + a["id"]).data["stock"], 3)

    def test_stock_views_and_report(self):
        ok = self.product(self.tok, self.shop, self.cat, stock=50, selling_price_paise=100,
                          original_price_paise=100)
        low = self.product(self.tok, self.shop, self.cat, stock=2, low_stock_threshold=5,
                           selling_price_paise=1000, original_price_paise=1000)
        out = self.product(self.tok, self.shop, self.cat, stock=0)
        _, other = self.merchant()
        other_shop = self.store(other)
        self.product(other, other_shop, self.cat, stock=0)
        q = "?store=" + self.shop["id"]
        r = self.c.get("/api/inventory/low-stock" + q, token=self.tok)
        self.assertEqual([p["id"] for p in r.data["items"]], [low["id"]])
        r = self.c.get("/api/inventory/out-of-stock" + q, token=self.tok)
        self.assertEqual([p["id"] for p in r.data["items"]], [out["id"]])
        # A merchant sees its own stores only, with or without ?store=.
        r = self.c.get("/api/inventory/out-of-stock", token=other)
        self.assertEqual(r.data["pagination"]["total"], 1)
        r = self.c.get("/api/inventory/out-of-stock" + q, token=other)
        self.assertEqual(r.data["items"], [])
        r = self.c.get("/api/inventory/report" + q, token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["totals"], {"products": 3, "in_stock": 1, "low_stock": 1,
                                            "out_of_stock": 1, "units": 52,
                                            "stock_value_paise": 50 * 100 + 2 * 1000})
        self.assertEqual(r.data["stores"][0]["store_id"], self.shop["id"])
        r = self.c.get("/api/inventory/history?product_id=" + ok["id"], token=other)
        self.assertError(r, 403, "NOT_STORE_OWNER")
        r = self.c.get("/api/inventory/history", token=self.tok)
        self.assertError(r, 400, "VALIDATION_ERROR", "product_id")
        _, user = self.merchant(role="USER")
        self.assertError(self.c.get("/api/inventory/report", token=user), 403, "FORBIDDEN")


class FavoritesAndNotifyMe(CatalogCase):
    def setUp(self):
        super().setUp()
        self.mid, self.tok = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.tok)

    def test_favorites_are_idempotent(self):
        uid, user = self.merchant(role="USER")
        a = self.product(self.tok, self.shop, self.cat)
        b = self.product(self.tok, self.shop, self.cat)
        for _ in range(2):
            r = self.c.post("/api/users/favorites/" + a["id"], token=user)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data, {"product_id": a["id"], "favorite": True})
        self.c.post("/api/users/favorites/" + b["id"], token=user)
        r = self.c.get("/api/users/favorites", token=user)
        self.assertEqual([p["id"] for p in r.data["items"]], [b["id"], a["id"]])
        self.assertIn("favorited_at", r.data["items"][0])
        for _ in range(2):
            r = self.c.delete("/api/users/favorites/" + a["id"], token=user)
            self.assertEqual(r.data, {"product_id": a["id"], "favorite": False})
        r = self.c.get("/api/users/favorites", token=user)
        self.assertEqual([p["id"] for p in r.data["items"]], [b["id"]])
        self.assertError(self.c.post("/api/users/favorites/" + str(uuid.uuid4()), token=user),
                         404, "PRODUCT_NOT_FOUND")
        self.assertError(self.c.post("/api/users/favorites/nope", token=user), 400,
                         "VALIDATION_ERROR", "productId")
        self.assertError(self.c.get("/api/users/favorites"), 401, "AUTH_REQUIRED")
        # A deleted product leaves the list.
        self.c.delete("/api/products/" + b["id"], token=self.tok)
        self.assertEqual(self.c.get("/api/users/favorites", token=user).data["items"], [])

    def test_restock_notifies_each_subscriber_once(self):
        p = self.product(self.tok, self.shop, self.cat, stock=0)
        users = [self.merchant(role="USER") for _ in range(3)]
        for uid, tok in users:
            r = self.c.post("/api/notify-me/" + p["id"], token=tok)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data["status"], "waiting")
        # Asking twice is one request.
        self.assertEqual(self.c.post("/api/notify-me/" + p["id"], token=users[0][1]).status, 200)
        # One changes their mind.
        r = self.c.delete("/api/notify-me/" + p["id"], token=users[2][1])
        self.assertEqual(r.status, 200, r)
        r = self.c.get("/api/notify-me/check/" + p["id"], token=users[0][1])
        self.assertEqual((r.data["subscribed"], r.data["in_stock"]), (True, False))
        r = self.c.get("/api/notify-me/my-subscriptions", token=users[0][1])
        self.assertEqual([s["product"]["id"] for s in r.data["items"]], [p["id"]])
        r = self.c.get("/api/notify-me/product/%s/requests" % p["id"], token=self.tok)
        self.assertEqual((r.data["waiting"], r.data["pagination"]["total"]), (2, 2))

        r = self.stock_up(p, 4)
        notified = sorted(b["user_id"] for t, b in self.notify_events(p))
        self.assertEqual(notified, sorted(u[0] for u in users[:2]))
        r = self.c.get("/api/notify-me/check/" + p["id"], token=users[0][1])
        self.assertEqual((r.data["subscribed"], r.data["in_stock"]), (False, True))
        self.assertEqual(r.data["request"]["status"], "notified")
        # In stock: nothing to wait for.
        self.assertError(self.c.post("/api/notify-me/" + p["id"], token=users[0][1]), 409,
                         "PRODUCT_IN_STOCK")
        # Out and back again: only who asked again hears again.
        self.c.patch("/api/products/%s/stock" % p["id"], {"set": 0, "reason": "sold"},
                     token=self.tok)
        self.c.post("/api/notify-me/" + p["id"], token=users[1][1])
        self.stock_up(p, 1)
        notified = [b["user_id"] for t, b in self.notify_events(p)]
        self.assertEqual(sorted(notified), sorted([users[0][0], users[1][0], users[1][0]]))
        r = self.c.get("/api/notify-me/stats", token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["total"], r.data["waiting"], r.data["notified"]), (2, 0, 2))
        _, other = self.merchant()
        r = self.c.get("/api/notify-me/product/%s/requests" % p["id"], token=other)
        self.assertError(r, 403, "NOT_STORE_OWNER")
        r = self.c.get("/api/notify-me/stats", token=users[0][1])
        self.assertError(r, 403, "FORBIDDEN")

    def stock_up(self, p, n):
        r = self.c.patch("/api/products/%s/stock" % p["id"], {"delta": n, "reason": "delivery"},
                         token=self.tok)
        self.assertEqual(r.status, 200, r)
        return r

    def notify_events(self, product):
        out = stored_events(self.stack, "notify.")
        events = [json.loads(line) for line in out.splitlines()]
        return [(e["topic"], e["body"]) for e in events
                if e["body"].get("product_id") == product["id"]]


if __name__ == "__main__":
    unittest.main()
