"""
The cart through the whole stack (orders and catalog pools): lines merge,
prices come from the catalog at every look, totals and delivery fees in
paise, stock and quantity checks, owner-only lines, idle carts emptied, and
validation that lists every problem with a suggested quantity.
"""

import unittest
import uuid

from catalog_case import CatalogCase

FEE, FREE_FROM = 4000, 49900


class Cart(CatalogCase):
    pools = {"catalog": 1, "orders": 1}

    def setUp(self):
        super().setUp()
        _, self.seller = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.seller)
        self.uid, self.user = self.merchant(role="USER")

    def add(self, product, quantity=1, token=None, **extra):
        body = dict(product_id=product["id"], quantity=quantity, **extra)
        return self.c.post("/api/cart/items", body, token=token or self.user)

    def cart(self, token=None):
        r = self.c.get("/api/cart", token=token or self.user)
        self.assertEqual(r.status, 200, r)
        return r.data

    def test_lines_merge_and_totals_are_in_paise(self):
        a = self.product(self.seller, self.shop, self.cat, selling_price_paise=12345,
                         original_price_paise=15000, stock=10)
        b = self.product(self.seller, self.shop, self.cat, selling_price_paise=999,
                         original_price_paise=999, stock=10,
                         variants=[{"name": "Red"}, {"name": "Blue"}])
        self.assertEqual(self.cart()["items"], [])
        r = self.add(a, 2)
        self.assertEqual(r.status, 201, r)
        self.add(a, 1)                                   # merges: 3
        self.add(b, 1, variant="Red")
        self.add(b, 2, variant="Blue")                   # a line of its own
        c = self.cart()
        lines = {(i["product_id"], i["variant"]): i for i in c["items"]}
        self.assertEqual(len(lines), 3)
        self.assertEqual(lines[(a["id"], None)]["quantity"], 3)
        self.assertEqual(lines[(a["id"], None)]["line_total_paise"], 3 * 12345)
        subtotal = 3 * 12345 + 3 * 999
        self.assertEqual((c["subtotal_paise"], c["discount_paise"], c["tax_paise"]),
                         (subtotal, 0, 0))
        self.assertEqual(c["delivery_fee_paise"], FEE)            # one store, under 499
        self.assertEqual(c["total_paise"], subtotal + FEE)
        self.assertEqual(c["item_count"], 6)
        # Over the threshold, the store delivers free.
        self.add(a, 1)
        self.add(a, 1)
        c = self.cart()
        self.assertGreaterEqual(c["subtotal_paise"], FREE_FROM)
        self.assertEqual(c["delivery_fee_paise"], 0)
        # A second store under the threshold has its own fee.
        other_shop = self.store(self.seller, name="Other")
        d = self.product(self.seller, other_shop, self.cat, selling_price_paise=100,
                         original_price_paise=100)
        self.add(d)
        self.assertEqual(self.cart()["delivery_fee_paise"], FEE)

    def test_price_is_read_at_every_look(self):
        p = self.product(self.seller, self.shop, self.cat, selling_price_paise=5000,
                         original_price_paise=6000)
        self.add(p, 2)
        self.c.put("/api/products/" + p["id"], {"selling_price_paise": 4500}, token=self.seller)
        [line] = self.cart()["items"]
        self.assertEqual((line["unit_price_paise"], line["price_at_add_paise"],
                          line["line_total_paise"]), (4500, 5000, 9000))

    def test_bad_input_and_stock(self):
        p = self.product(self.seller, self.shop, self.cat, stock=3)
        for body, field in [({"quantity": 1}, "product_id"),
                            ({"product_id": p["id"]}, "quantity"),
                            ({"product_id": p["id"], "quantity": 0}, "quantity"),
                            ({"product_id": p["id"], "quantity": 1001}, "quantity"),
                            ({"product_id": p["id"], "quantity": "2"}, "quantity"),
                            ({"product_id": "x", "quantity": 1}, "product_id"),
                            ({"product_id": p["id"], "quantity": 1, "variant": "Green"},
                             "variant")]:
            r = self.c.post("/api/cart/items", body, token=self.user)
            self.assertError(r, 400, "VALIDATION_ERROR", field)
        self.assertError(self.add({"id": str(uuid.uuid4())}), 404, "PRODUCT_NOT_FOUND")
        self.add(p, 2)
        r = self.add(p, 2)                                  # 4 > 3 in stock
        self.assertError(r, 409, "INSUFFICIENT_STOCK")
        self.assertEqual(r.error["details"], {"product_id": p["id"], "available": 3})
        [line] = self.cart()["items"]
        self.assertEqual(line["quantity"], 2)               # nothing changed
        r = self.c.put("/api/cart/items/" + line["id"], {"quantity": 5}, token=self.user)
        self.assertError(r, 409, "INSUFFICIENT_STOCK")
        r = self.c.put("/api/cart/items/" + line["id"], {"quantity": 1}, token=self.user)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["items"][0]["quantity"], 1)
        self.assertError(self.c.get("/api/cart"), 401, "AUTH_REQUIRED")

    def test_lines_belong_to_their_owner(self):
        p = self.product(self.seller, self.shop, self.cat)
        self.add(p)
        [line] = self.cart()["items"]
        _, other = self.merchant(role="USER")
        self.assertEqual(self.cart(other)["items"], [])
        r = self.c.put("/api/cart/items/" + line["id"], {"quantity": 2}, token=other)
        self.assertError(r, 404, "CART_ITEM_NOT_FOUND")
        r = self.c.delete("/api/cart/items/" + line["id"], token=other)
        self.assertError(r, 404, "CART_ITEM_NOT_FOUND")
        r = self.c.delete("/api/cart/items/" + line["id"], token=self.user)
        self.assertEqual((r.status, r.data["items"]), (200, []))
        self.add(p)
        r = self.c.delete("/api/cart", token=self.user)
        self.assertEqual((r.status, r.data["items"], r.data["total_paise"]), (200, [], 0))

    def test_idle_cart_is_emptied(self):
        p = self.product(self.seller, self.shop, self.cat)
        self.add(p)
        self.stack.psql("UPDATE carts SET updated_at = now() - interval '31 days' "
                        "WHERE user_id = '%s'" % self.uid)
        self.assertEqual(self.cart()["items"], [])
        self.add(p)
        self.stack.psql("UPDATE carts SET updated_at = now() - interval '29 days' "
                        "WHERE user_id = '%s'" % self.uid)
        self.assertEqual(len(self.cart()["items"]), 1)

    def test_validate_lists_every_problem(self):
        self.c.put("/api/stores/" + self.shop["id"], {"min_order_paise": 100000},
                   token=self.seller)
        short = self.product(self.seller, self.shop, self.cat, stock=5, selling_price_paise=1000,
                             original_price_paise=1000)
        bulk = self.product(self.seller, self.shop, self.cat, stock=50, min_order_qty=6)
        gone = self.product(self.seller, self.shop, self.cat, stock=5)
        empty = self.product(self.seller, self.shop, self.cat, stock=5)
        self.add(short, 4)
        self.add(bulk, 6)
        self.add(gone, 1)
        self.add(empty, 1)
        # Then the world changes under the cart.
        self.c.patch("/api/products/%s/stock" % short["id"], {"set": 2, "reason": "count"},
                     token=self.seller)
        self.c.put("/api/products/" + short["id"], {"selling_price_paise": 900},
                   token=self.seller)
        self.c.put("/api/products/" + bulk["id"], {"min_order_qty": 10}, token=self.seller)
        self.c.delete("/api/products/" + gone["id"], token=self.seller)
        self.c.patch("/api/products/%s/stock" % empty["id"], {"set": 0, "reason": "count"},
                     token=self.seller)
        r = self.c.post("/api/cart/validate", {}, token=self.user)
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.data["valid"], False)
        got = {(p["code"], p.get("product_id")): p for p in r.data["problems"]}
        self.assertEqual(got[("INSUFFICIENT_STOCK", short["id"])]["suggested_quantity"], 2)
        self.assertEqual(got[("BELOW_MIN_ORDER_QTY", bulk["id"])]["suggested_quantity"], 10)
        self.assertIn(("PRODUCT_UNAVAILABLE", gone["id"]), got)
        self.assertIn(("OUT_OF_STOCK", empty["id"]), got)
        self.assertIs(got[("PRICE_CHANGED", short["id"])]["blocking"], False)
        store_problem = [p for p in r.data["problems"] if p["code"] == "STORE_MIN_ORDER_NOT_MET"]
        self.assertEqual([p["store_id"] for p in store_problem], [self.shop["id"]])
        self.assertEqual(len(r.data["problems"]), 6, r.data["problems"])
        self.assertIn("items", r.data["cart"])

    def test_validate_delivery_and_an_empty_cart(self):
        r = self.c.post("/api/cart/validate", {}, token=self.user)
        self.assertEqual([p["code"] for p in r.data["problems"]], ["CART_EMPTY"])
        self.assertIs(r.data["valid"], False)
        far_shop = self.store(self.seller, latitude=12.97, longitude=77.59, delivery_radius_km=5)
        p = self.product(self.seller, far_shop, self.cat, selling_price_paise=60000,
                         original_price_paise=60000)
        self.add(p)
        self.assertIs(self.c.post("/api/cart/validate", {}, token=self.user).data["valid"], True)
        near, far = str(uuid.uuid4()), str(uuid.uuid4())
        for addr_id, lat in ((near, 12.98), (far, 13.50)):
            self.stack.psql(
                "INSERT INTO addresses (id, user_id, name, phone, line1, city, state, pincode, "
                "latitude, longitude) VALUES ('%s', '%s', 'A', '+919876543210', 'l', 'c', 's', "
                "'560001', %f, 77.59)" % (addr_id, self.uid, lat))
        r = self.c.post("/api/cart/validate", {"address_id": near}, token=self.user)
        self.assertIs(r.data["valid"], True, r)
        r = self.c.post("/api/cart/validate", {"address_id": far}, token=self.user)
        self.assertEqual([p["code"] for p in r.data["problems"]], ["NOT_DELIVERABLE"])
        _, other = self.merchant(role="USER")
        r = self.c.post("/api/cart/validate", {"address_id": near}, token=other)
        self.assertError(r, 404, "ADDRESS_NOT_FOUND")
        r = self.c.post("/api/cart/validate", {"address_id": "x"}, token=self.user)
        self.assertError(r, 400, "VALIDATION_ERROR", "address_id")


if __name__ == "__main__":
    unittest.main()
