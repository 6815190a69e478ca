"""
Stores and products through the whole stack: merchants' stores (filters,
nearby by distance and delivery radius, ownership), products (validation,
ownership, filters, full-text search with ranking, the sort allow-list,
pagination edges, soft delete) and the Redis cache of product reads (used,
and never stale after a write returns).

The catalog is shared by every test (one database): each test makes its own
zone, category and stores under unique names and filters on them.
"""

import random
import unittest
import uuid
from urllib.parse import quote

from catalog_case import CatalogCase

DROP = object()  # a field left out of a request body


class Stores(CatalogCase):
    def test_merchant_opens_and_changes_its_store(self):
        mid, tok = self.merchant()
        s = self.store(tok, latitude=18.52, longitude=73.85, delivery_radius_km=7,
                       min_order_paise=20000, cashback_bps=250,
                       hours={"mon": ["09:00", "21:00"], "sun": None})
        self.assertEqual(s["owner_id"], mid)
        self.assertEqual(s["cashback_bps"], 250)
        self.assertEqual(s["hours"], {"mon": ["09:00", "21:00"], "sun": None})
        r = self.c.put("/api/stores/" + s["id"], {"min_order_paise": 0, "name": "Renamed"},
                       token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["name"], r.data["min_order_paise"]), ("Renamed", 0))
        self.assertEqual(r.data["delivery_radius_km"], 7)
        got = self.c.get("/api/stores/" + s["id"])
        self.assertEqual(got.data["name"], "Renamed")

    def test_store_validation(self):
        _, tok = self.merchant()
        base = {"name": "S", "city": "Pune", "zone": self.zone}
        cases = [
            ({"city": DROP}, "city"),
            ({"zone": ""}, "zone"),
            ({"latitude": 18.5}, "longitude"),
            ({"latitude": 91, "longitude": 70}, "latitude"),
            ({"delivery_radius_km": 101}, "delivery_radius_km"),
            ({"cashback_bps": -1}, "cashback_bps"),
            ({"min_order_paise": 1.5}, "min_order_paise"),
            ({"hours": {"funday": ["09:00", "10:00"]}}, "hours"),
            ({"hours": {"mon": ["9am", "10:00"]}}, "hours"),
            ({"hours": {"mon": ["24:00", "10:00"]}}, "hours"),
            ({"category_id": str(uuid.uuid4())}, "category_id"),
        ]
        for change, field in cases:
            body = {k: v for k, v in dict(base, **change).items() if v is not DROP}
            r = self.c.post("/api/stores", body, token=tok)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        count = self.stack.psql("SELECT count(*) FROM stores WHERE zone = '%s'" % self.zone)
        self.assertEqual(count, "0")

    def test_ownership(self):
        _, owner = self.merchant()
        _, other = self.merchant()
        _, user = self.merchant(role="USER")
        s = self.store(owner)
        r = self.c.put("/api/stores/" + s["id"], {"name": "Mine now"}, token=other)
        self.assertError(r, 403, "NOT_STORE_OWNER")
        r = self.c.put("/api/stores/" + s["id"], {"name": "Mine now"}, token=user)
        self.assertError(r, 403, "FORBIDDEN")
        r = self.c.put("/api/stores/" + s["id"], {"name": "By admin"}, token=self.admin)
        self.assertEqual(r.status, 200, r)
        r = self.c.put("/api/stores/" + str(uuid.uuid4()), {"name": "x"}, token=owner)
        self.assertError(r, 404, "STORE_NOT_FOUND")
        # An admin names the merchant; a merchant cannot open for another.
        r = self.c.post("/api/stores", {"name": "A", "city": "Pune", "zone": self.zone},
                        token=self.admin)
        self.assertError(r, 400, "VALIDATION_ERROR", "owner_id")
        mid, _ = self.merchant()
        uid, _ = self.merchant(role="USER")
        r = self.c.post("/api/stores", {"name": "A", "city": "Pune", "zone": self.zone,
                                        "owner_id": uid}, token=self.admin)
        self.assertError(r, 400, "VALIDATION_ERROR", "owner_id")
        s2 = self.store(self.admin, owner_id=mid)
        self.assertEqual(s2["owner_id"], mid)
        r = self.c.post("/api/stores", {"name": "A", "city": "Pune", "zone": self.zone,
                                        "owner_id": mid}, token=other)
        self.assertError(r, 403, "NOT_STORE_OWNER")

    def test_list_filters_and_inactive_stores(self):
        _, tok = self.merchant()
        cat = self.category("Grocery")
        a = self.store(tok, name="Alpha", city="Pune", category_id=cat["id"])
        b = self.store(tok, name="Beta", city="Mumbai")
        c = self.store(tok, name="Gamma", city="Pune")
        self.c.put("/api/stores/" + c["id"], {"is_active": False}, token=tok)
        r = self.c.get("/api/stores?zone=" + self.zone)
        self.assertEqual([s["name"] for s in r.data["items"]], ["Alpha", "Beta"])
        self.assertEqual(r.data["pagination"]["total"], 2)
        r = self.c.get("/api/stores?zone=%s&city=pune" % self.zone)
        self.assertEqual([s["id"] for s in r.data["items"]], [a["id"]])
        r = self.c.get("/api/stores?zone=%s&category=%s" % (self.zone, cat["slug"]))
        self.assertEqual([s["id"] for s in r.data["items"]], [a["id"]])
        r = self.c.get("/api/stores?zone=%s&limit=1&page=2" % self.zone)
        self.assertEqual([s["id"] for s in r.data["items"]], [b["id"]])
        self.assertEqual(r.data["pagination"], {"page": 2, "limit": 1, "total": 2, "pages": 2})
        self.assertError(self.c.get("/api/stores/" + c["id"]), 404, "STORE_NOT_FOUND")
        self.assertError(self.c.get("/api/stores?limit=101"), 400, "VALIDATION_ERROR", "limit")

    def test_nearby_orders_by_distance_within_delivery_radius(self):
        _, tok = self.merchant()
        # A random point (tests share the database), stores around it; only
        # this test's zone is looked at.
        lat, lng = random.uniform(-60, 60), random.uniform(-170, 170)
        near = self.store(tok, name="Near", latitude=lat + 0.01, longitude=lng,
                          delivery_radius_km=5)          # ~1.1 km away
        far = self.store(tok, name="Far", latitude=lat + 0.05, longitude=lng,
                         delivery_radius_km=10)          # ~5.6 km away
        self.store(tok, name="Small radius", latitude=lat + 0.03, longitude=lng,
                   delivery_radius_km=2)                 # ~3.3 km, delivers 2 km only
        self.store(tok, name="Too far", latitude=lat + 0.5, longitude=lng,
                   delivery_radius_km=100)               # ~55 km
        def nearby(radius):
            r = self.c.get("/api/stores/nearby?lat=%f&lng=%f&radius_km=%d" % (lat, lng, radius))
            self.assertEqual(r.status, 200, r)
            return [s for s in r.data["items"] if s["zone"] == self.zone]

        got = nearby(20)
        self.assertEqual([s["id"] for s in got], [near["id"], far["id"]])
        self.assertAlmostEqual(got[0]["distance_km"], 1.11, delta=0.02)
        self.assertAlmostEqual(got[1]["distance_km"], 5.56, delta=0.05)
        self.assertEqual([s["id"] for s in nearby(3)], [near["id"]])
        self.assertError(self.c.get("/api/stores/nearby?lng=1"), 400, "VALIDATION_ERROR", "lat")
        self.assertError(self.c.get("/api/stores/nearby?lat=x&lng=1"), 400, "VALIDATION_ERROR",
                         "lat")
        self.assertError(self.c.get("/api/stores/nearby?lat=1&lng=1&radius_km=500"), 400,
                         "VALIDATION_ERROR", "radius_km")


class Products(CatalogCase):
    def test_create_read_update_delete(self):
        mid, tok = self.merchant()
        cat = self.category()
        s = self.store(tok)
        p = self.product(tok, s, cat, tags=["red", "cotton"],
                         images=["https://img.example/1.jpg"],
                         variants=[{"name": "M", "sku": "M1"}],
                         specifications={"fabric": "cotton", "weight_g": 200})
        self.assertEqual(p["tags"], ["red", "cotton"])
        self.assertEqual(p["variants"], [{"name": "M", "sku": "M1"}])
        self.assertEqual(p["specifications"], {"fabric": "cotton", "weight_g": 200})
        self.assertEqual(p["rating"], {"average": 0, "count": 0})
        self.assertTrue(p["in_stock"])
        got = self.c.get("/api/products/" + p["id"])
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.data, p)
        # The first stock is history.
        hist = self.stack.psql("SELECT before, after, reason, actor_id FROM stock_history "
                               "WHERE product_id = '%s'" % p["id"])
        self.assertEqual(hist, "0|10|initial stock|" + mid)
        r = self.c.put("/api/products/" + p["id"], {"selling_price_paise": 8000,
                                                    "tags": [], "description": "Soft"},
                       token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["selling_price_paise"], r.data["tags"], r.data["description"]),
                         (8000, [], "Soft"))
        self.assertEqual(r.data["original_price_paise"], 10000)
        r = self.c.delete("/api/products/" + p["id"], token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data, {"id": p["id"], "deleted": True})
        self.assertError(self.c.get("/api/products/" + p["id"]), 404, "PRODUCT_NOT_FOUND")
        self.assertError(self.c.delete("/api/products/" + p["id"], token=tok), 404,
                         "PRODUCT_NOT_FOUND")
        # Soft: the row stays for the orders that point at it.
        self.assertEqual(self.stack.psql("SELECT deleted_at IS NOT NULL FROM products "
                                         "WHERE id = '%s'" % p["id"]), "t")

    def test_validation_writes_nothing(self):
        _, tok = self.merchant()
        cat = self.category()
        s = self.store(tok)
        base = {"store_id": s["id"], "category_id": cat["id"], "name": "N", "sku": "S-1",
                "original_price_paise": 1000, "selling_price_paise": 900}
        cases = [
            ({"selling_price_paise": 1001}, "selling_price_paise"),
            ({"original_price_paise": 0}, "original_price_paise"),
            ({"original_price_paise": "1000"}, "original_price_paise"),
            ({"selling_price_paise": 9.5}, "selling_price_paise"),
            ({"sku": "has space"}, "sku"),
            ({"name": ""}, "name"),
            ({"stock": -1}, "stock"),
            ({"tags": ["ok", ""]}, "tags"),
            ({"tags": "red"}, "tags"),
            ({"images": ["ftp://x/y.png"]}, "images"),
            ({"images": ["https://x/%d.png" % i for i in range(11)]}, "images"),
            ({"variants": [{"sku": "no name"}]}, "variants"),
            ({"specifications": {"a": {"nested": 1}}}, "specifications"),
            ({"category_id": str(uuid.uuid4())}, "category_id"),
            ({"category_id": "not-a-uuid"}, "category_id"),
            ({"min_order_qty": 0}, "min_order_qty"),
        ]
        for change, field in cases:
            r = self.c.post("/api/products", dict(base, **change), token=tok)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        missing = dict(base)
        del missing["sku"]
        self.assertError(self.c.post("/api/products", missing, token=tok), 400,
                         "VALIDATION_ERROR", "sku")
        self.assertEqual(self.stack.psql("SELECT count(*) FROM products WHERE store_id = '%s'"
                                         % s["id"]), "0")
        p = self.product(tok, s, cat, sku="DUP-1")
        r = self.c.post("/api/products", dict(base, sku="DUP-1"), token=tok)
        self.assertError(r, 409, "SKU_TAKEN")
        # Updates: the stored price pair is checked too; stock has its own route.
        r = self.c.put("/api/products/" + p["id"], {"selling_price_paise": 20000}, token=tok)
        self.assertError(r, 400, "VALIDATION_ERROR", "selling_price_paise")
        r = self.c.put("/api/products/" + p["id"], {"stock": 5}, token=tok)
        self.assertError(r, 400, "VALIDATION_ERROR", "stock")
        r = self.c.put("/api/products/" + p["id"], {"store_id": s["id"]}, token=tok)
        self.assertError(r, 400, "VALIDATION_ERROR", "store_id")
        r = self.c.put("/api/products/" + p["id"], {"name": None}, token=tok)
        self.assertError(r, 400, "VALIDATION_ERROR", "name")
        self.assertEqual(self.c.get("/api/products/" + p["id"]).data, p)

    def test_merchant_touches_only_its_own_products(self):
        _, owner = self.merchant()
        _, other = self.merchant()
        cat = self.category()
        s = self.store(owner)
        p = self.product(owner, s, cat)
        body = {"store_id": s["id"], "category_id": cat["id"], "name": "Intruder",
                "sku": "X-1", "original_price_paise": 100, "selling_price_paise": 100}
        self.assertError(self.c.post("/api/products", body, token=other), 403, "NOT_STORE_OWNER")
        self.assertError(self.c.put("/api/products/" + p["id"], {"name": "x"}, token=other),
                         403, "NOT_STORE_OWNER")
        self.assertError(self.c.delete("/api/products/" + p["id"], token=other), 403,
                         "NOT_STORE_OWNER")
        self.assertError(self.c.patch("/api/products/%s/stock" % p["id"],
                                      {"delta": -1, "reason": "x"}, token=other),
                         403, "NOT_STORE_OWNER")
        _, user = self.merchant(role="USER")
        self.assertError(self.c.post("/api/products", body, token=user), 403, "FORBIDDEN")
        self.assertError(self.c.post("/api/products", body), 401, "AUTH_REQUIRED")
        r = self.c.put("/api/products/" + p["id"], {"name": "Fixed by admin"}, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.c.get("/api/products/" + p["id"]).data["name"], "Fixed by admin")

    def test_filters(self):
        _, tok = self.merchant()
        root = self.category("Root")
        child = self.category("Child", parent=root)
        other = self.category("Other")
        s1 = self.store(tok)
        s2 = self.store(tok, name="Second")
        a = self.product(tok, s1, root, selling_price_paise=1000, original_price_paise=1000)
        b = self.product(tok, s1, child, selling_price_paise=5000, stock=0)
        c = self.product(tok, s2, other, selling_price_paise=9000)
        hidden = self.product(tok, s2, other, is_active=False)

        def ids(query):
            return {p["id"] for p in self.listed(query)["items"]}

        self.assertEqual(ids(""), {a["id"], b["id"], c["id"]})
        self.assertNotIn(hidden["id"], ids(""))
        # A category includes its descendants, by slug or id.
        self.assertEqual(ids("category=" + root["slug"]), {a["id"], b["id"]})
        self.assertEqual(ids("category=" + child["id"]), {b["id"]})
        self.assertEqual(ids("category=no-such-" + self.tag), set())
        self.assertEqual(ids("store=" + s2["id"]), {c["id"]})
        self.assertEqual(ids("min_price=2000"), {b["id"], c["id"]})
        self.assertEqual(ids("max_price=5000"), {a["id"], b["id"]})
        self.assertEqual(ids("min_price=2000&max_price=5000"), {b["id"]})
        self.assertEqual(ids("in_stock=true"), {a["id"], c["id"]})
        # The store's own list.
        r = self.c.get("/api/stores/%s/products" % s1["id"])
        self.assertEqual({p["id"] for p in r.data["items"]}, {a["id"], b["id"]})
        # A store that closes takes its products out of the lists.
        self.c.put("/api/stores/" + s2["id"], {"is_active": False}, token=tok)
        self.assertEqual(ids(""), {a["id"], b["id"]})
        for bad, field in [("min_price=-1", "min_price"), ("max_price=abc", "max_price"),
                           ("min_price=5&max_price=4", "max_price"), ("in_stock=yes", "in_stock"),
                           ("store=nope", "store"), ("limit=0", "limit"), ("page=0", "page")]:
            self.assertError(self.c.get("/api/products?" + bad), 400, "VALIDATION_ERROR", field)

    def test_sort_allow_list_and_pagination(self):
        _, tok = self.merchant()
        cat = self.category()
        s = self.store(tok)
        made = [self.product(tok, s, cat, name=n, selling_price_paise=p, original_price_paise=p)
                for n, p in [("Cherry", 300), ("Apple", 200), ("Banana", 100)]]
        self.stack.psql("UPDATE products SET rating_avg = 4.5 WHERE id = '%s'" % made[2]["id"])

        def names(query):
            return [p["name"] for p in self.listed(query)["items"]]

        self.assertEqual(names("sort=name"), ["Apple", "Banana", "Cherry"])
        self.assertEqual(names("sort=price"), ["Banana", "Apple", "Cherry"])
        self.assertEqual(names("sort=price_desc"), ["Cherry", "Apple", "Banana"])
        self.assertEqual(names("sort=newest"), ["Banana", "Apple", "Cherry"])
        self.assertEqual(names("sort=rating")[0], "Banana")
        for injected in ["name;DROP TABLE products", "name DESC", "price,id", "random()",
                         "relevance"]:
            r = self.c.get("/api/products?zone=%s&sort=%s" % (self.zone, quote(injected)))
            self.assertError(r, 400, "VALIDATION_ERROR", "sort")
        self.assertEqual(self.stack.psql("SELECT count(*) > 0 FROM products"), "t")
        # Pagination edges: the last partial page, a page past the end.
        page = self.listed("sort=name&limit=2&page=2")
        self.assertEqual([p["name"] for p in page["items"]], ["Cherry"])
        self.assertEqual(page["pagination"], {"page": 2, "limit": 2, "total": 3, "pages": 2})
        page = self.listed("sort=name&limit=2&page=9")
        self.assertEqual(page["items"], [])
        self.assertEqual(page["pagination"]["total"], 3)
        self.assertError(self.c.get("/api/products?limit=101"), 400, "VALIDATION_ERROR", "limit")

    def test_search_ranks_name_above_description(self):
        _, tok = self.merchant()
        cat = self.category()
        s = self.store(tok)
        word = "zq" + self.tag
        in_desc = self.product(tok, s, cat, name="Plain mug", description="a %s finish" % word)
        in_name = self.product(tok, s, cat, name="The %s kettle" % word)
        in_tags = self.product(tok, s, cat, name="Teapot", tags=[word])
        in_sku = self.product(tok, s, cat, name="Cup", sku="SKU-" + word)
        self.product(tok, s, cat, name="Unrelated")
        r = self.listed("q=" + word)
        got = [p["id"] for p in r["items"]]
        self.assertEqual(set(got), {in_desc["id"], in_name["id"], in_tags["id"], in_sku["id"]})
        self.assertEqual(got[-1], in_desc["id"])       # description weighs least
        self.assertLess(got.index(in_name["id"]), got.index(in_tags["id"]))
        self.assertEqual(r["pagination"]["total"], 4)
        # Two words: both must match; search text is data, not syntax.
        self.assertEqual([p["id"] for p in self.listed("q=%s+kettle" % word)["items"]],
                         [in_name["id"]])
        self.assertEqual(self.listed("q=%27%3B+DROP+TABLE+products%3B+--")["items"], [])
        self.assertEqual(self.listed("q=%s&sort=name" % word)["items"][0]["name"], "Cup")

    def test_cache_is_used_and_never_stale_after_a_write(self):
        _, tok = self.merchant()
        cat = self.category()
        s = self.store(tok)
        p = self.product(tok, s, cat, name="Cached")
        url = "/api/products/" + p["id"]
        self.assertEqual(self.c.get(url).data["name"], "Cached")
        self.assertEqual(self.listed("")["items"][0]["name"], "Cached")
        # Behind the API's back the database changes: reads come from the
        # cache, so they do not see it ...
        self.stack.psql("UPDATE products SET name = 'Changed in SQL' WHERE id = '%s'" % p["id"])
        self.assertEqual(self.c.get(url).data["name"], "Cached")
        self.assertEqual(self.listed("")["items"][0]["name"], "Cached")
        # ... and a write through the API is seen by the very next read.
        r = self.c.put(url, {"name": "Renamed"}, token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.c.get(url).data["name"], "Renamed")
        self.assertEqual(self.listed("")["items"][0]["name"], "Renamed")
        r = self.c.patch(url + "/stock", {"set": 0, "reason": "count"}, token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertIs(self.c.get(url).data["in_stock"], False)
        self.assertEqual(self.listed("in_stock=true")["items"], [])
        self.c.delete(url, token=tok)
        self.assertError(self.c.get(url), 404, "PRODUCT_NOT_FOUND")
        self.assertEqual(self.listed("")["items"], [])


if __name__ == "__main__":
    unittest.main()
