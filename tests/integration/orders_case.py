"""
Shared set-up of the orders pool's integration tests: a stack with the
catalog and orders pools, and helpers that make customers with an address,
fill their carts, check them out and read a product's stock.
"""

import uuid

from catalog_case import CatalogCase
from harness import Stack, unique_phone


class OrdersCase(CatalogCase):
    """A stack with one catalog worker and ORDERS_WORKERS orders workers."""

    ORDERS_WORKERS = 2

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"catalog": 1, "orders": cls.ORDERS_WORKERS},
                          name=cls.__name__.lower()).start()
        cls.admin = cls.stack.token(str(uuid.uuid4()), "ADMIN")

    def customer(self):
        """A user with an address: (id, token, address id)."""
        return self.customers(1)[0]

    def customers(self, n):
        """n users with an address each, made in one statement:
        [(id, token, address id)]."""
        made = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(n)]
        users = ", ".join("('%s', '%s', 'C', 'USER')" % (uid, unique_phone()) for uid, _ in made)
        addresses = ", ".join("('%s', '%s', 'A', '+919876543210', '1 Road', 'Pune', 'MH', "
                              "'411001')" % (addr, uid) for uid, addr in made)
        self.stack.psql("INSERT INTO users (id, phone, name, role) VALUES %s; "
                        "INSERT INTO addresses (id, user_id, name, phone, line1, city, state, "
                        "pincode) VALUES %s" % (users, addresses))
        return [(uid, self.stack.token(uid, "USER"), addr) for uid, addr in made]

    def add(self, tok, product, quantity=1):
        r = self.c.post("/api/cart/items", {"product_id": product["id"], "quantity": quantity},
                        token=tok)
        self.assertEqual(r.status, 201, r)

    def checkout(self, tok, addr, method="cod", headers=None, **extra):
        return self.c.post("/api/orders", dict(address_id=addr, payment_method=method, **extra),
                           token=tok, headers=headers)

    def stock_of(self, product):
        return int(self.stack.psql("SELECT stock FROM products WHERE id = '%s'" % product["id"]))
