"""
Shared set-up of the catalog's integration tests: a stack with the catalog
pool, an admin token, and helpers that make merchants, categories, stores
and products, each under names unique to the test (the database is shared).
"""

import uuid

from harness import Client, Stack, StackTestCase, unique_phone


class CatalogCase(StackTestCase):
    """Shared set-up: a stack with the catalog pool (and the pools a
    subclass names), an admin, helpers that make merchants, categories,
    stores and products."""

    pools = {"catalog": 1}
    env = None  # settings for the stack's processes, over the defaults

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools=cls.pools, env=cls.env, name=cls.__name__.lower()).start()
        cls.admin = cls.stack.token(str(uuid.uuid4()), "ADMIN")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        self.tag = uuid.uuid4().hex[:8]
        self.zone = "z-" + self.tag

    def merchant(self, role="MERCHANT"):
        """A user row of role and a token for it: (id, token)."""
        user_id = str(uuid.uuid4())
        self.stack.psql("INSERT INTO users (id, phone, name, role) VALUES ('%s', '%s', 'M', '%s')"
                        % (user_id, unique_phone(), role))
        return user_id, self.stack.token(user_id, role)

    def category(self, name="Cat", parent=None):
        body = {"name": name, "slug": "%s-%s" % (name.lower(), self.tag + uuid.uuid4().hex[:4])}
        if parent:
            body["parent_id"] = parent["id"]
        r = self.c.post("/api/categories", body, token=self.admin)
        self.assertEqual(r.status, 201, r)
        return r.data

    def store(self, token, **fields):
        body = {"name": "Store " + self.tag, "city": "Pune", "zone": self.zone}
        body.update(fields)
        r = self.c.post("/api/stores", body, token=token)
        self.assertEqual(r.status, 201, r)
        return r.data

    def product(self, token, store, category, **fields):
        body = {"store_id": store["id"], "category_id": category["id"],
                "name": "Thing " + uuid.uuid4().hex[:6], "sku": "SKU-" + uuid.uuid4().hex[:8],
                "original_price_paise": 10000, "selling_price_paise": 9000, "stock": 10}
        body.update(fields)
        r = self.c.post("/api/products", body, token=token)
        self.assertEqual(r.status, 201, r)
        return r.data

    def listed(self, query):
        r = self.c.get("/api/products?zone=%s&%s" % (self.zone, query))
        self.assertEqual(r.status, 200, r)
        return r.data


class OrdersCase(CatalogCase):
    """CatalogCase with the orders pool too, and helpers for customers,
    carts and checkout."""

    pools = {"catalog": 1, "orders": 2}

    def customer(self):
        """A user with an address: (id, token, address id)."""
        uid, tok = self.merchant(role="USER")
        addr = str(uuid.uuid4())
        self.stack.psql("INSERT INTO addresses (id, user_id, name, phone, line1, city, state, "
                        "pincode) VALUES ('%s', '%s', 'A', '+919876543210', '1 Road', 'Pune', "
                        "'MH', '411001')" % (addr, uid))
        return uid, tok, addr

    def add(self, tok, product, quantity=1):
        r = self.c.post("/api/cart/items", {"product_id": product["id"], "quantity": quantity},
                        token=tok)
        self.assertEqual(r.status, 201, r)
        return r.data

    def checkout(self, tok, addr, method="cod", headers=None, **extra):
        return self.c.post("/api/orders", dict(address_id=addr, payment_method=method, **extra),
                           token=tok, headers=headers)

    def stock_of(self, product):
        return int(self.stack.psql("SELECT stock FROM products WHERE id = '%s'" % product["id"]))
