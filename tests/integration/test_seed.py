"""
mandictl seed: a made-up catalog written straight into the database, found
again by its markers (merchant emails @seed.mandi.invalid, category slugs
seed-..., SKUs SEED-...), refused a second time, replaced with --reset and
deleted with --remove, all or nothing.

The database is shared with the other tests: every test starts and ends
with no seeded rows, and never touches rows without the markers.
"""

import re
import unittest

from harness import Client, Stack, StackTestCase, unique_phone

SMALL = ("--products", "2000", "--categories", "40", "--stores", "10", "--merchants", "5")

SEEDED_USER = "u.email LIKE 'seed-merchant-%@seed.mandi.invalid'"
SEEDED_STORES = ("(SELECT s.id FROM stores s JOIN users u ON u.id = s.owner_id WHERE %s)"
                 % SEEDED_USER)
SEEDED_CATEGORIES = "(SELECT c.id FROM categories c WHERE c.slug LIKE 'seed-%')"


class Seed(StackTestCase):
    @classmethod
    def setUpClass(cls):
        # The catalog pool answers the category reads that check the tree.
        cls.stack = Stack(pools={"catalog": 1}, name="seed").start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.mandictl("seed", "--remove")
        finally:
            cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        p = self.seed("--remove")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.addCleanup(self.seed, "--remove")

    def seed(self, *args):
        return self.stack.mandictl("seed", *args, timeout=120)

    def sql(self, query):
        return self.stack.psql(query)

    def count(self, query):
        return int(self.sql(query))

    def counts(self):
        """(merchants, categories, stores, products) carrying the markers."""
        row = self.sql(
            "SELECT (SELECT count(*) FROM users u WHERE %s), "
            "(SELECT count(*) FROM categories c WHERE c.slug LIKE 'seed-%%'), "
            "(SELECT count(*) FROM stores WHERE id IN %s), "
            "(SELECT count(*) FROM products WHERE sku LIKE 'SEED-%%')"
            % (SEEDED_USER, SEEDED_STORES))
        return tuple(int(x) for x in row.split("|"))

    def product_ids(self):
        return set(self.sql("SELECT id FROM products WHERE sku LIKE 'SEED-%'").split())

    def test_seed_makes_a_consistent_catalog(self):
        p = self.seed(*SMALL)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        for line in ("merchants 5", "categories 40", "stores 10", "products 2000"):
            self.assertIn(line, " ".join(p.stdout.split()))
        self.assertRegex(p.stdout, r"committed in \d+\.\d\d s")
        self.assertIn("25 roots, 15 children", p.stdout)
        self.assertEqual(self.counts(), (5, 40, 10, 2000))

        # Merchants: valid Indian mobile numbers in the reserved block.
        rows = self.sql("SELECT phone, role, status FROM users u WHERE %s ORDER BY phone"
                        % SEEDED_USER).splitlines()
        self.assertEqual(len(rows), 5)
        for row in rows:
            phone, role, status = row.split("|")
            self.assertRegex(phone, r"^\+91600\d{7}$")
            self.assertRegex(phone, r"^\+91[6-9]\d{9}$")
            self.assertEqual((role, status), ("MERCHANT", "active"))

        # Categories: 25 roots, the rest their children; unique, valid slugs.
        self.assertEqual(self.count("SELECT count(*) FROM categories WHERE slug LIKE 'seed-%' "
                                    "AND parent_id IS NULL"), 25)
        self.assertEqual(self.count(
            "SELECT count(*) FROM categories c JOIN categories p ON p.id = c.parent_id "
            "WHERE c.slug LIKE 'seed-%' AND p.slug LIKE 'seed-%' AND p.parent_id IS NULL"), 15)
        self.assertEqual(self.count("SELECT count(DISTINCT slug) FROM categories "
                                    "WHERE slug LIKE 'seed-%'"), 40)
        self.assertEqual(self.count("SELECT count(DISTINCT name) FROM categories "
                                    "WHERE slug LIKE 'seed-%'"), 40)

        # Stores: owned by seeded merchants, in India, with delivery terms.
        self.assertEqual(self.count(
            "SELECT count(*) FROM stores s WHERE s.id IN %s AND NOT (latitude BETWEEN 8 AND 30 "
            "AND longitude BETWEEN 72 AND 89 AND delivery_radius_km > 0 AND city <> '' "
            "AND zone ~ '^[a-z]+-[a-z]+$' AND hours ? 'mon' AND min_order_paise >= 0 "
            "AND category_id IN %s)" % (SEEDED_STORES, SEEDED_CATEGORIES)), 0)
        self.assertGreaterEqual(self.count("SELECT count(DISTINCT city) FROM stores "
                                           "WHERE id IN %s" % SEEDED_STORES), 5)

        # Products: the invariants the schema does not all enforce.
        seeded = "FROM products p WHERE p.sku LIKE 'SEED-%'"
        self.assertEqual(self.count(
            "SELECT count(*) %s AND NOT (p.selling_price_paise <= p.original_price_paise "
            "AND p.selling_price_paise > 0 AND p.store_id IN %s AND p.category_id IN %s "
            "AND jsonb_typeof(p.images) = 'array' AND jsonb_array_length(p.images) >= 1 "
            "AND p.images->>0 LIKE 'https://%%' AND cardinality(p.tags) >= 3 "
            "AND p.description <> '' AND p.rating_avg BETWEEN 0 AND 5)"
            % (seeded, SEEDED_STORES, SEEDED_CATEGORIES)), 0)
        # Only in leaf categories.
        self.assertEqual(self.count(
            "SELECT count(*) %s AND EXISTS (SELECT 1 FROM categories x "
            "WHERE x.parent_id = p.category_id)" % seeded), 0)
        self.assertEqual(self.count("SELECT count(DISTINCT sku) %s" % seeded), 2000)
        # Variety: some out of stock, some below the low-stock threshold,
        # some discounted, with variants, specifications and ratings.
        for what, cond in (("out of stock", "p.stock = 0"),
                           ("low stock", "p.stock > 0 AND p.stock < p.low_stock_threshold"),
                           ("in stock", "p.stock >= p.low_stock_threshold"),
                           ("discounted", "p.selling_price_paise < p.original_price_paise"),
                           ("full price", "p.selling_price_paise = p.original_price_paise"),
                           ("variants", "jsonb_array_length(p.variants) > 0"),
                           ("specifications", "p.specifications <> '{}'"),
                           ("rated", "p.rating_count > 0")):
            with self.subTest(products=what):
                self.assertGreater(self.count("SELECT count(*) %s AND %s" % (seeded, cond)), 20)
        self.assertGreater(self.count("SELECT count(DISTINCT name) %s" % seeded), 500)

        # The catalog pool reads the tree as it reads any other.
        child = self.sql("SELECT c.slug || '|' || p.id FROM categories c "
                         "JOIN categories p ON p.id = c.parent_id "
                         "WHERE c.slug LIKE 'seed-%' LIMIT 1")
        slug, root_id = child.split("|")
        r = self.c.get("/api/categories/" + slug)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x["id"] for x in r.data["path"]], [root_id])

    def test_a_second_run_refuses(self):
        p = self.seed(*SMALL)
        self.assertEqual(p.returncode, 0, p.stderr)
        before = self.product_ids()
        for args in (SMALL, ()):
            with self.subTest(args=args):
                again = self.seed(*args)
                self.assertEqual(again.returncode, 1, again.stderr)
                self.assertEqual(again.stdout, "")
                self.assertIn("already holds seeded rows", again.stderr)
                self.assertIn("--reset", again.stderr)
                self.assertEqual(self.counts(), (5, 40, 10, 2000))
                self.assertEqual(self.product_ids(), before)

    def test_reset_replaces_and_remove_deletes(self):
        p = self.seed(*SMALL)
        self.assertEqual(p.returncode, 0, p.stderr)
        before = self.product_ids()
        p = self.seed("--reset", "--products", "300", "--categories", "30", "--stores", "4",
                      "--merchants", "3")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("removed 2000 products, 10 stores, 40 categories, 5 merchants", p.stdout)
        self.assertEqual(self.counts(), (3, 30, 4, 300))
        self.assertEqual(self.product_ids() & before, set())
        # No trace of the first seed's merchants either.
        self.assertEqual(self.count("SELECT count(*) FROM users WHERE phone BETWEEN "
                                    "'+916000000004' AND '+916000000005'"), 0)

        p = self.seed("--remove")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("removed 300 products, 4 stores, 30 categories, 3 merchants", p.stdout)
        self.assertEqual(self.counts(), (0, 0, 0, 0))
        self.assertNotIn("seeded:", p.stdout)

    def test_a_failure_changes_nothing(self):
        p = self.seed(*SMALL)
        self.assertEqual(p.returncode, 0, p.stderr)
        before = self.product_ids()
        # Someone outside the seed holds a phone the next seed would give
        # its 7th merchant: the reset has already deleted everything when
        # that insert fails, and all of it must come back.
        outsider = self.sql("INSERT INTO users (phone, name) VALUES ('+916000000007', "
                            "'Not seeded') RETURNING id").splitlines()[0]
        self.addCleanup(self.sql, "DELETE FROM users WHERE id = '%s'" % outsider)
        p = self.seed("--reset", "--merchants", "8", "--products", "100")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn("nothing was changed", p.stderr)
        self.assertIn("users_phone_key", p.stderr)
        self.assertEqual(self.counts(), (5, 40, 10, 2000))
        self.assertEqual(self.product_ids(), before)
        self.assertEqual(self.sql("SELECT name FROM users WHERE id = '%s'" % outsider),
                         "Not seeded")

    def test_the_catalog_pool_serves_the_seed(self):
        p = self.seed(*SMALL)
        self.assertEqual(p.returncode, 0, p.stderr)
        row = self.sql("SELECT p.id, c.id, r.slug, p.selling_price_paise FROM products p "
                       "JOIN categories c ON c.id = p.category_id "
                       "JOIN categories r ON r.id = c.parent_id "
                       "WHERE p.sku LIKE 'SEED-%' ORDER BY p.sku LIMIT 1")
        product_id, category_id, root_slug, selling = row.split("|")

        r = self.c.get("/api/products/" + product_id)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["id"], r.data["category_id"], r.data["selling_price_paise"]),
                         (product_id, category_id, int(selling)))
        self.assertTrue(r.data["sku"].startswith("SEED-"), r.data)
        self.assertLessEqual(r.data["selling_price_paise"], r.data["original_price_paise"])

        # The first page of a leaf category, and of a root with its children.
        for category, where in ((category_id, "c.id = '%s'" % category_id),
                                (root_slug, "r.slug = '%s'" % root_slug)):
            with self.subTest(category=category):
                total = self.count(
                    "SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id "
                    "JOIN categories r ON r.id = c.parent_id WHERE " + where)
                self.assertGreater(total, 0)
                r = self.c.get("/api/products?category=%s&page=1&limit=20" % category)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.data["pagination"]["total"], total, r.data["pagination"])
                self.assertEqual(len(r.data["items"]), min(20, total))

        # Both answers are cached now; removing the seed must not leave them
        # to be served.
        p = self.seed("--remove")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        r = self.c.get("/api/products/" + product_id)
        self.assertEqual((r.status, r.code), (404, "PRODUCT_NOT_FOUND"), r)
        r = self.c.get("/api/products?category=%s&page=1&limit=20" % category_id)
        self.assertEqual((r.status, r.data["items"]), (200, []), r)

    def test_remove_takes_what_hangs_off_seeded_rows(self):
        p = self.seed(*SMALL)
        self.assertEqual(p.returncode, 0, p.stderr)
        product_id = self.sql("SELECT id FROM products WHERE sku = 'SEED-0000001'")
        merchant_id = self.sql("SELECT id FROM users WHERE phone = '+916000000001'")
        outsider = self.sql("INSERT INTO users (phone, name) VALUES ('%s', 'Not seeded') "
                            "RETURNING id" % unique_phone()).splitlines()[0]
        self.addCleanup(self.sql, "DELETE FROM users WHERE id = '%s'" % outsider)
        self.sql("INSERT INTO favorites (user_id, product_id) VALUES ('%s', '%s')"
                 % (outsider, product_id))
        self.sql("INSERT INTO notify_requests (user_id, product_id) VALUES ('%s', '%s')"
                 % (outsider, product_id))
        self.sql("INSERT INTO stock_history (product_id, before, after, reason) "
                 "VALUES ('%s', 3, 4, 'test')" % product_id)
        self.sql("INSERT INTO token_families (user_id) VALUES ('%s')" % merchant_id)

        p = self.seed("--remove")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.counts(), (0, 0, 0, 0))
        for table, column, value in (("favorites", "product_id", product_id),
                                     ("notify_requests", "product_id", product_id),
                                     ("stock_history", "product_id", product_id),
                                     ("token_families", "user_id", merchant_id)):
            self.assertEqual(self.count("SELECT count(*) FROM %s WHERE %s = '%s'"
                                        % (table, column, value)), 0, table)
        self.assertEqual(self.sql("SELECT name FROM users WHERE id = '%s'" % outsider),
                         "Not seeded")

    def test_a_foreign_reference_stops_the_removal(self):
        p = self.seed(*SMALL)
        self.assertEqual(p.returncode, 0, p.stderr)
        # A store made by someone else, listed under a seeded category: the
        # category cannot go, so nothing goes.
        outsider = self.sql("INSERT INTO users (phone, name, role) VALUES ('%s', 'Not seeded', "
                            "'MERCHANT') RETURNING id" % unique_phone()).splitlines()[0]
        store = self.sql(
            "INSERT INTO stores (owner_id, name, city, zone, category_id) SELECT '%s', "
            "'Outside store', 'Pune', 'pun-east', id FROM categories WHERE slug LIKE 'seed-%%' "
            "LIMIT 1 RETURNING id" % outsider).splitlines()[0]
        self.addCleanup(self.sql, "DELETE FROM users WHERE id = '%s'" % outsider)
        self.addCleanup(self.sql, "DELETE FROM stores WHERE id = '%s'" % store)
        before = self.product_ids()
        for args in (("--remove",), ("--reset",) + SMALL):
            with self.subTest(args=args[0]):
                p = self.seed(*args)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(p.stdout, "")
                self.assertIn("removing the seeded categories failed", p.stderr)
                self.assertIn("nothing was changed", p.stderr)
                self.assertEqual(self.counts(), (5, 40, 10, 2000))
                self.assertEqual(self.product_ids(), before)

    def test_bad_arguments(self):
        cases = [
            ("--products", "-1"),
            ("--products", "abc"),
            ("--products",),
            ("--products", ""),
            ("--products", "1e5"),
            ("--products", " 5"),
            ("--products", "10000001"),
            ("--categories", "0"),
            ("--stores", "1.5"),
            ("--merchants", "+3"),
            ("--verbose",),
            ("--reset", "--remove"),
            ("--remove", "--products", "5"),
        ]
        for args in cases:
            with self.subTest(args=" ".join(args)):
                p = self.seed(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(p.stdout, "")
                self.assertIn("usage: mandictl seed", p.stderr)
                self.assertTrue(re.search(r"^mandictl seed: \S", p.stderr), p.stderr)
        p = self.seed("--products", "-1")
        self.assertIn("--products must be a whole number from 0 to 10000000, not '-1'",
                      p.stderr)
        p = self.seed("--products", "abc")
        self.assertIn("not 'abc'", p.stderr)
        self.assertEqual(self.counts(), (0, 0, 0, 0))

    def test_help(self):
        p = self.stack.mandictl("help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("mandictl seed [--products N] [--categories N] [--stores N]", p.stdout)
        self.assertIn("--reset", p.stdout)


if __name__ == "__main__":
    unittest.main()
