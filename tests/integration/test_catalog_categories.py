"""
Categories through the whole stack: public reads (flat list, tree, by slug),
admin writes, the tree kept a tree, and deletion refused while in use.

Categories are shared by every test (one database): each test makes its own
under a unique slug prefix and reads back only those.
"""

import unittest
import uuid

from harness import Client, Stack, StackTestCase


class Categories(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1, "catalog": 1}, name="categories").start()
        cls.admin = cls.stack.token(str(uuid.uuid4()), "ADMIN")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        self.prefix = "t" + uuid.uuid4().hex[:8]

    def create(self, name, **fields):
        body = dict(fields, name=name)
        body.setdefault("slug", "%s-%s" % (self.prefix, name.lower().replace(" ", "-")))
        r = self.c.post("/api/categories", body, token=self.admin)
        self.assertEqual(r.status, 201, r)
        return r.data

    def mine(self, items):
        return [c for c in items if c["slug"].startswith(self.prefix)]

    def test_create_read_update(self):
        root = self.create("Groceries", sort_order=2, description="Daily needs")
        self.assertEqual((root["parent_id"], root["sort_order"], root["is_active"]),
                         (None, 2, True))
        fruit = self.create("Fruit", parent_id=root["id"], sort_order=1)
        dairy = self.create("Dairy", parent_id=root["id"], sort_order=1)
        apples = self.create("Apples", parent_id=fruit["id"])

        # Flat: active only, by sort_order then name.
        r = self.c.get("/api/categories")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([c["name"] for c in self.mine(r.data["items"])],
                         ["Apples", "Dairy", "Fruit", "Groceries"])

        # Tree: nested children in the same order.
        tree = [c for c in self.c.get("/api/categories/tree").data["items"]
                if c["id"] == root["id"]]
        self.assertEqual(len(tree), 1)
        self.assertEqual([c["name"] for c in tree[0]["children"]], ["Dairy", "Fruit"])
        self.assertEqual([c["name"] for c in tree[0]["children"][1]["children"]], ["Apples"])

        # By slug: children and the path from the root.
        r = self.c.get("/api/categories/" + fruit["slug"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual([c["id"] for c in r.data["children"]], [apples["id"]])
        self.assertEqual([p["id"] for p in r.data["path"]], [root["id"]])
        r = self.c.get("/api/categories/" + apples["slug"])
        self.assertEqual([p["name"] for p in r.data["path"]], ["Groceries", "Fruit"])

        # Update: partial; moving a subtree; deactivating hides it.
        r = self.c.put("/api/categories/" + apples["id"],
                       {"parent_id": dairy["id"], "name": "Green apples", "sort_order": 5},
                       token=self.admin)
        self.assertEqual((r.status, r.data["parent_id"], r.data["name"], r.data["slug"]),
                         (200, dairy["id"], "Green apples", apples["slug"]), r)
        r = self.c.put("/api/categories/" + dairy["id"], {"is_active": False}, token=self.admin)
        self.assertEqual((r.status, r.data["is_active"]), (200, False))
        names = [c["name"] for c in self.mine(self.c.get("/api/categories").data["items"])]
        self.assertNotIn("Dairy", names)
        self.assertEqual(self.c.get("/api/categories/" + dairy["slug"]).code,
                         "CATEGORY_NOT_FOUND")
        r = self.c.put("/api/categories/" + root["id"], {"parent_id": None}, token=self.admin)
        self.assertEqual((r.status, r.data["parent_id"]), (200, None))

    def test_slug_is_made_from_the_name_and_unique(self):
        r = self.c.post("/api/categories", {"name": "%s Home & Kitchen!" % self.prefix},
                        token=self.admin)
        self.assertEqual((r.status, r.data["slug"]), (201, "%s-home-kitchen" % self.prefix), r)
        r = self.c.post("/api/categories", {"name": "Other", "slug": r.data["slug"]},
                        token=self.admin)
        self.assertError(r, 409, "SLUG_TAKEN")
        r = self.c.post("/api/categories", {"name": "किराना"}, token=self.admin)
        self.assertError(r, 400, "VALIDATION_ERROR", "slug")

    def test_bad_input_changes_nothing(self):
        cat = self.create("Snacks")
        cases = [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                 ({"name": "A", "slug": "Has Caps"}, "slug"), ({"name": "A", "slug": "a--b"}, "slug"),
                 ({"name": "A", "slug": "tree"}, "slug"), ({"name": "A", "slug": "-a"}, "slug"),
                 ({"name": "A", "parent_id": "x"}, "parent_id"),
                 ({"name": "A", "parent_id": str(uuid.uuid4())}, "parent_id"),
                 ({"name": "A", "sort_order": "1"}, "sort_order"),
                 ({"name": "A", "sort_order": 10 ** 7}, "sort_order"),
                 ({"name": "A", "image_url": "ftp://x"}, "image_url"),
                 ({"name": "A", "is_active": 1}, "is_active")]
        for body, field in cases:
            if "slug" not in body and "name" in body and body["name"]:
                body["slug"] = self.prefix + "-bad"
            r = self.c.post("/api/categories", body, token=self.admin)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        self.assertEqual([c["id"] for c in self.mine(self.c.get("/api/categories").data["items"])],
                         [cat["id"]])
        for body, field in (({"name": None}, "name"), ({"slug": None}, "slug"),
                            ({"parent_id": cat["id"]}, "parent_id")):
            r = self.c.put("/api/categories/" + cat["id"], body, token=self.admin)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        self.assertEqual(self.c.get("/api/categories/" + cat["slug"]).data["name"], "Snacks")
        r = self.c.put("/api/categories/" + str(uuid.uuid4()), {"name": "X"}, token=self.admin)
        self.assertError(r, 404, "CATEGORY_NOT_FOUND")

    def test_no_cycles(self):
        a = self.create("A")
        b = self.create("B", parent_id=a["id"])
        c = self.create("C", parent_id=b["id"])
        r = self.c.put("/api/categories/" + a["id"], {"parent_id": c["id"]}, token=self.admin)
        self.assertError(r, 400, "VALIDATION_ERROR", "parent_id")
        self.assertIsNone(self.c.get("/api/categories/" + a["slug"]).data["parent_id"])

    def test_delete(self):
        parent = self.create("Parent")
        child = self.create("Child", parent_id=parent["id"])
        r = self.c.delete("/api/categories/" + parent["id"], token=self.admin)
        self.assertError(r, 409, "CATEGORY_HAS_CHILDREN")
        # A product under the child keeps it too (made with SQL: products
        # come with their own routes).
        owner = self.stack.psql("WITH u AS (INSERT INTO users (email) VALUES ('%s@shop.test') "
                                "RETURNING id) SELECT id FROM u" % self.prefix)
        store = self.stack.psql("WITH s AS (INSERT INTO stores (owner_id, name, city, zone) "
                                "VALUES ('%s', 'S', 'Pune', 'pune-1') RETURNING id) "
                                "SELECT id FROM s" % owner)
        self.stack.psql("INSERT INTO products (store_id, category_id, name, sku, "
                        "original_price_paise, selling_price_paise) VALUES "
                        "('%s', '%s', 'P', 'SKU1', 100, 90)" % (store, child["id"]))
        r = self.c.delete("/api/categories/" + child["id"], token=self.admin)
        self.assertError(r, 409, "CATEGORY_HAS_PRODUCTS")
        self.stack.psql("DELETE FROM products WHERE store_id = '%s'" % store)
        r = self.c.delete("/api/categories/" + child["id"], token=self.admin)
        self.assertEqual((r.status, r.data), (200, {"id": child["id"], "deleted": True}), r)
        r = self.c.delete("/api/categories/" + parent["id"], token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.mine(self.c.get("/api/categories").data["items"]), [])
        r = self.c.delete("/api/categories/" + parent["id"], token=self.admin)
        self.assertError(r, 404, "CATEGORY_NOT_FOUND")

    def test_writes_need_catalog_manage(self):
        for role in ("USER", "MERCHANT", "MODERATOR", "FINANCE", "LOCATION_ADMIN"):
            token = self.stack.token(str(uuid.uuid4()), role)
            r = self.c.post("/api/categories", {"name": "X", "slug": self.prefix}, token=token)
            self.assertError(r, 403, "FORBIDDEN")
        self.assertError(self.c.post("/api/categories", {"name": "X"}), 401, "AUTH_REQUIRED")
        sa = self.stack.token(str(uuid.uuid4()), "SUPER_ADMIN")
        r = self.c.post("/api/categories", {"name": "X", "slug": self.prefix}, token=sa)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.mine(self.c.get("/api/categories").data["items"])[0]["id"],
                         r.data["id"])


if __name__ == "__main__":
    unittest.main()
