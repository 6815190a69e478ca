"""
Checkout under load through the whole stack, with several orders workers so
that checkouts really run side by side in PostgreSQL:

- two buyers racing for the last unit, round after round: exactly one gets
  the order, the other 409 OUT_OF_STOCK, and nothing is sold twice;
- many customers checking out mixed carts at once (some double-clicking:
  the same checkout twice under one Idempotency-Key) while owners cancel
  (alone, twice at once, or racing the merchant) and merchants move orders
  along to DELIVERED or cancel them: afterwards the books must balance,
  product by product (stock + reserved + sold = initial), the stock history
  must be an unbroken ledger of exactly the orders and cancellations, every
  successful checkout must hold its cart and every refused one must have
  left its cart and the database as they were, each order must have
  exactly its events, and the catalog's cache, read all along, must serve
  the final stock; a promotion with a usage limit, attached to a third of
  the carts, is used at most that many times, and its use count equals the
  uses recorded (less those given back when a checkout was cancelled in
  full), with each order's discount accounted for;
- a checkout finds the orders it made through an index, so that what it
  costs does not grow with every order taken.

Set MANDI_RACE_SEED to replay the carts and plans of a failed run (the seed
is named in the failure).
"""

import collections
import os
import queue
import random
import re
import threading
import types
import unittest
import uuid

from catalog_case import OrdersCase
from harness import unique_phone

# Writes wait for their answer well past the default, so that a queue of
# checkouts never turns into 202s.
WAIT = {"Prefer": "wait=25"}
FEE, FREE_FROM = 4000, 49900
PROMO_OFF, PROMO_USES = 150, 6
DONE = object()


def together(*calls, timeout=60):
    """Runs each call in its own thread, all released at once by a barrier;
    returns their results in order. An exception in a call is raised here."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=timeout)
            results[i] = call()
        except BaseException as e:  # noqa: B036 - handed to the caller
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, c), daemon=True)
               for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        if t.is_alive():
            raise AssertionError("a concurrent call did not finish in %d s" % timeout)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def ids(values):
    """A SQL list of quoted ids."""
    return ", ".join("'%s'" % v for v in values)


class OrdersRace(OrdersCase):
    # Checkouts side by side in PostgreSQL need workers side by side.
    pools = {"catalog": 1, "orders": 4}

    def setUp(self):
        super().setUp()
        _, self.seller = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.seller)

    def customers(self, n):
        """n users with an address each, made in one statement (a psql
        call each would take most of the test's time): [(id, token,
        address id)]."""
        made = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(n)]
        users = ", ".join("('%s', '%s', 'C', 'USER')" % (uid, unique_phone()) for uid, _ in made)
        addresses = ", ".join("('%s', '%s', 'A', '+919876543210', '1 Road', 'Pune', 'MH', "
                              "'411001')" % (addr, uid) for uid, addr in made)
        self.stack.psql("INSERT INTO users (id, phone, name, role) VALUES %s; "
                        "INSERT INTO addresses (id, user_id, name, phone, line1, city, state, "
                        "pincode) VALUES %s" % (users, addresses))
        return [(uid, self.stack.token(uid, "USER"), addr) for uid, addr in made]

    def rows(self, sql):
        out = self.stack.psql(sql)
        return [line.split("|") for line in out.splitlines()] if out else []

    def books(self, users, products):
        """What the database holds for these users and products, read in a
        few statements: carts {user: {product: quantity}}, orders {id:
        row}, items {order: [row]}, stock {product: stock}, stock history
        {product: [(before, after, reason)]}, status history {order:
        [(from, to)]} and the events that name one of the users, counted
        by {(order, topic, job): n} (order '' when they name none of the
        user's orders)."""
        u, p = ids(users), ids(products)
        b = types.SimpleNamespace()
        b.carts = {uid: {} for uid in users}
        for uid, pid, q in self.rows("SELECT user_id, product_id, quantity FROM cart_items "
                                     "WHERE user_id IN (%s)" % u):
            b.carts[uid][pid] = int(q)
        b.orders = {}
        for oid, uid, checkout, store, number, status, sub, disc, fee, total in self.rows(
                "SELECT id, user_id, checkout_id, store_id, number, status, subtotal_paise, "
                "discount_paise, delivery_fee_paise, total_paise FROM orders "
                "WHERE user_id IN (%s)" % u):
            b.orders[oid] = types.SimpleNamespace(
                id=oid, user=uid, checkout=checkout, store=store, number=number,
                status=status, subtotal=int(sub), discount=int(disc), fee=int(fee),
                total=int(total))
        b.items = collections.defaultdict(list)
        for oid, pid, q, price, line in self.rows(
                "SELECT i.order_id, i.product_id, i.quantity, i.unit_price_paise, "
                "i.line_total_paise FROM order_items i JOIN orders o ON o.id = i.order_id "
                "WHERE o.user_id IN (%s) OR i.product_id IN (%s)" % (u, p)):
            b.items[oid].append((pid, int(q), int(price), int(line)))
        b.stock = {pid: int(n) for pid, n in self.rows(
            "SELECT id, stock FROM products WHERE id IN (%s)" % p)}
        b.stock_history = collections.defaultdict(list)
        for pid, before, after, reason in self.rows(
                "SELECT product_id, before, after, reason FROM stock_history "
                "WHERE product_id IN (%s) ORDER BY id" % p):
            b.stock_history[pid].append((int(before), int(after), reason))
        b.status_history = collections.defaultdict(list)
        for oid, from_, to in self.rows(
                "SELECT h.order_id, coalesce(h.from_status, '-'), h.to_status "
                "FROM order_status_history h JOIN orders o ON o.id = h.order_id "
                "WHERE o.user_id IN (%s) ORDER BY h.id" % u):
            b.status_history[oid].append((from_, to))
        # An order's events name it, and name its user.
        b.events = collections.Counter()
        for oid, topic, job, n in self.rows(
                "SELECT o.id, e.topic, coalesce(e.job_id, ''), count(*) FROM outbox e "
                "JOIN users u ON position(convert_to(u.id::text, 'UTF8') IN e.body) > 0 "
                "LEFT JOIN orders o ON o.user_id = u.id "
                "  AND position(convert_to(o.id::text, 'UTF8') IN e.body) > 0 "
                "WHERE u.id IN (%s) AND e.topic LIKE 'order.%%' "
                "GROUP BY o.id, e.topic, e.job_id" % u):
            b.events[oid, topic, job] += int(n)
        return b

    def assertShortfall(self, r, cart):
        """r is the refusal of a buyer of cart ({product: quantity}) who lost
        the stock: 409 OUT_OF_STOCK with the problems the validation saw, or
        the product whose reservation failed and less than the cart wanted
        of it."""
        self.assertError(r, 409, "OUT_OF_STOCK")
        details = r.error["details"]
        if "problems" in details:
            codes = {p["code"] for p in details["problems"] if p["blocking"]}
            self.assertTrue(codes and codes <= {"OUT_OF_STOCK", "INSUFFICIENT_STOCK"}, r)
            self.assertTrue({p["product_id"] for p in details["problems"]} <= set(cart), r)
        else:
            self.assertIn(details["product_id"], cart, r)
            self.assertLess(details["available"], cart[details["product_id"]], r)

    def test_checkout_finds_its_orders_by_index(self):
        """A checkout looks up the orders it made by checkout_id (to reserve
        their stock, record their events and answer them): with a plain
        scan of orders instead, every checkout would cost more than the one
        before, and a busy shop would slow to a crawl."""
        checkout = "'%s'::uuid" % uuid.uuid4()
        plans = self.stack.psql(
            "SET enable_seqscan = off; "
            "EXPLAIN SELECT id FROM orders WHERE checkout_id = %s ORDER BY number; "
            "EXPLAIN SELECT i.product_id FROM order_items i JOIN orders o ON o.id = i.order_id "
            "  WHERE o.checkout_id = %s; "
            "EXPLAIN SELECT jsonb_agg(mandi_order_json(o)) FROM orders o "
            "  WHERE o.checkout_id = %s" % (checkout, checkout, checkout))
        # Each of the three finds its rows through an index on checkout_id,
        # not by reading all of them (a scan of the table, or of an index on
        # another column, filtered).
        self.assertEqual(len(re.findall(r"Index Cond: \(checkout_id = ", plans)), 3, plans)
        self.assertNotIn("Filter: (checkout_id", plans)

    def checkout_twice(self, tok, addr):
        """A double click: the same checkout sent twice at once under one
        Idempotency-Key. Exactly one copy is the original; the other replays
        its answer or, while it runs, points at its job. Returns the
        original's answer."""
        headers = dict(WAIT, **{"Idempotency-Key": uuid.uuid4().hex})
        answers = together(*[lambda: self.checkout(tok, addr, headers=headers)] * 2)
        firsts = [r for r in answers if r.headers.get("Idempotent-Replayed") != "true"]
        self.assertEqual(len(firsts), 1, answers)
        first = firsts[0]
        copy = answers[1] if answers[0] is first else answers[0]
        self.assertNotEqual(first.status, 202, first)
        if copy.status != 202:
            self.assertEqual((copy.status, copy.body), (first.status, first.body))
        elif first.status == 201:
            self.assertEqual(copy.data["job_id"], first.data["checkout_id"])
        return first

    def test_last_unit_goes_to_exactly_one_buyer(self):
        rounds = 10
        products = [self.product(self.seller, self.shop, self.cat, stock=1)
                    for _ in range(rounds)]
        buyers = self.customers(2 * rounds)
        pairs = [buyers[2 * k:2 * k + 2] for k in range(rounds)]
        for p, pair in zip(products, pairs):
            for _, tok, _ in pair:
                self.add(tok, p)
        outcome = {}
        for p, pair in zip(products, pairs):
            answers = together(*[lambda tok=tok, addr=addr: self.checkout(tok, addr, headers=WAIT)
                                 for _, tok, addr in pair])
            self.assertEqual(sorted(r.status for r in answers), [201, 409], answers)
            won = 0 if answers[0].status == 201 else 1
            self.assertShortfall(answers[1 - won], {p["id"]: 1})
            outcome[p["id"]] = (pair[won][0], pair[1 - won][0], answers[won].data)
        b = self.books([uid for uid, _, _ in buyers], list(outcome))
        for pid, (winner, loser, checkout) in outcome.items():
            order = checkout["orders"][0]
            self.assertEqual(b.stock[pid], 0)
            sold = [(oid, b.orders[oid].user, q) for oid, items in b.items.items()
                    for product, q, _, _ in items if product == pid]
            self.assertEqual(sold, [(order["id"], winner, 1)])
            self.assertEqual(b.stock_history[pid],
                             [(0, 1, "initial stock"), (1, 0, "order " + order["number"])])
            self.assertEqual((b.carts[winner], b.carts[loser]), ({}, {pid: 1}))
            self.assertEqual([o.id for o in b.orders.values() if o.user == loser], [])
            self.assertEqual(b.events[order["id"], "order.created", checkout["checkout_id"]], 1)
        self.assertEqual(sum(b.events.values()), rounds, b.events)

    def test_concurrent_checkouts_keep_the_books(self):
        seed = int(os.environ.get("MANDI_RACE_SEED") or random.randrange(1 << 30))
        with self.subTest(seed=seed):
            self.books_balance_after_a_rush(random.Random(seed))

    def books_balance_after_a_rush(self, rng):
        # Three stores of two merchants; eight products with some stock.
        _, other = self.merchant()
        second = self.store(self.seller, name="Second " + self.tag)
        third = self.store(other, name="Third " + self.tag)
        owner_token = {self.shop["id"]: self.seller, second["id"]: self.seller,
                       third["id"]: other}
        shops = [self.shop, second, third]
        # Carts first, so the stock can be set against the demand.
        n_products, n_customers = 8, 40
        carts = [{j: rng.randint(1, 3) for j in rng.sample(range(n_products), rng.randint(2, 4))}
                 for _ in range(n_customers)]
        demand = collections.Counter()
        for cart in carts:
            demand.update(cart)
        products, initial = [], {}
        for j in range(n_products):
            price = rng.choice((4900, 12000, 25000))
            # About half the demand: many checkouts must lose some stock.
            stock = max(3, demand[j] // 2)
            shop = shops[j % len(shops)]
            p = self.product(owner_token[shop["id"]], shop, self.cat, stock=stock,
                             selling_price_paise=price, original_price_paise=price)
            products.append(p)
            initial[p["id"]] = stock
        by_id = {p["id"]: p for p in products}
        customers = self.customers(n_customers)
        carts = [{products[j]["id"]: q for j, q in cart.items()} for cart in carts]
        for (_, tok, _), cart in zip(customers, carts):
            for pid, q in cart.items():
                self.add(tok, by_id[pid], q)
        # A third of the carts hold a promotion that may be used 6 times.
        promo = self.c.post("/api/promotions", {
            "code": "RUSH" + self.tag.upper(), "name": "rush", "kind": "fixed",
            "amount_paise": PROMO_OFF, "scope": "zones", "scope_ids": [self.zone],
            "stackable": True, "usage_limit": PROMO_USES, "ends_at": "2099-01-01T00:00:00Z"},
            token=self.admin).data
        holders = set(range(1, n_customers, 3))
        for i in holders:
            r = self.c.post("/api/promotions/apply", {"code": promo["code"]},
                            token=customers[i][1])
            self.assertEqual(r.status, 200, r)

        # What happens to each order after checkout, by its place.
        plans = ("keep", "cancel", "deliver", "double_cancel", "contest", "staff_cancel")
        expected = {}          # order id -> final status
        lock = threading.Lock()
        staff_work = queue.Queue()

        def expect(order, status):
            with lock:
                expected[order["id"]] = status

        def cancel(tok, order):
            return self.c.post("/api/orders/%s/cancel" % order["id"], {"reason": "race"},
                               token=tok, headers=WAIT)

        def move(order, status):
            return self.c.put("/api/orders/%s/status" % order["id"], {"status": status},
                              token=owner_token[order["store_id"]], headers=WAIT)

        def moved(r, status):
            self.assertEqual((r.status, r.data and r.data["status"]), (200, status), r)

        def refused(r):
            self.assertError(r, 409, "INVALID_STATUS_TRANSITION")

        def follow(tok, order, plan):
            """The owner's part of the order's plan; the merchant's goes to
            the staff threads."""
            if plan == "keep":
                expect(order, "CONFIRMED")
            elif plan == "cancel":
                moved(cancel(tok, order), "CANCELLED")
                expect(order, "CANCELLED")
            elif plan == "double_cancel":
                answers = together(lambda: cancel(tok, order), lambda: cancel(tok, order))
                self.assertEqual(sorted(r.status for r in answers), [200, 409], answers)
                refused(max(answers, key=lambda r: r.status))
                expect(order, "CANCELLED")
            elif plan == "contest":
                # The owner cancels while the merchant starts processing.
                mine, theirs = together(lambda: cancel(tok, order),
                                        lambda: move(order, "PROCESSING"))
                self.assertEqual(sorted((mine.status, theirs.status)), [200, 409],
                                 (mine, theirs))
                if mine.status == 200:
                    refused(theirs)
                    expect(order, "CANCELLED")
                else:
                    refused(mine)
                    staff_work.put((order, ("SHIPPED", "DELIVERED"), False))
                    expect(order, "DELIVERED")
            elif plan == "deliver":
                staff_work.put((order, ("PROCESSING", "SHIPPED", "DELIVERED"), False))
                expect(order, "DELIVERED")
            else:
                staff_work.put((order, ("PROCESSING",), True))
                expect(order, "CANCELLED")

        outcomes = [None] * n_customers

        def buy(i):
            _, tok, addr = customers[i]
            if i % 4 == 0:
                r = self.checkout_twice(tok, addr)
            else:
                r = self.checkout(tok, addr, headers=WAIT)
            outcomes[i] = r
            if r.status == 201:
                for k, order in enumerate(r.data["orders"]):
                    follow(tok, order, plans[(i + k) % len(plans)])
            elif r.code == "PROMOTION_UNAVAILABLE":
                # Its uses ran out before this checkout counted one.
                self.assertIn(i, holders)
                self.assertEqual((r.status, r.error["details"]["reason"]), (409, "exhausted"))
            else:
                self.assertShortfall(r, carts[i])

        def staff():
            """Merchants moving orders along (and cancelling some once
            they are processing, which only staff may do)."""
            while True:
                work = staff_work.get()
                if work is DONE:
                    return
                order, steps, then_cancel = work
                for status in steps:
                    moved(move(order, status), status)
                if then_cancel:
                    moved(cancel(owner_token[order["store_id"]], order), "CANCELLED")

        staff_errors = []

        def staff_guarded():
            try:
                staff()
            except BaseException as e:  # noqa: B036 - reported below
                staff_errors.append(e)
                while staff_work.get() is not DONE:  # let the buyers finish
                    pass

        # Meanwhile a shopper reads the products over and over, so that the
        # catalog's cache holds them at every stock level along the way.
        rush_over = threading.Event()
        reads = []

        def browse():
            while not rush_over.is_set():
                p = products[len(reads) % n_products]
                reads.append(self.c.get("/api/products/" + p["id"]))

        staff_threads = [threading.Thread(target=staff_guarded, daemon=True) for _ in range(2)]
        threads = staff_threads + [threading.Thread(target=browse, daemon=True)]
        for t in threads:
            t.start()
        try:
            together(*[lambda i=i: buy(i) for i in range(n_customers)], timeout=120)
        finally:
            rush_over.set()
            for _ in staff_threads:
                staff_work.put(DONE)
            for t in threads:
                t.join(60)
        if staff_errors:
            raise staff_errors[0]
        self.assertEqual({r.status for r in reads}, {200}, reads[:3])

        won = [i for i in range(n_customers) if outcomes[i].status == 201]
        lost = [i for i in range(n_customers) if outcomes[i].status != 201]
        # A rush where everyone or no one gets through tests nothing.
        self.assertTrue(won and lost, [r.status for r in outcomes])
        b = self.books([uid for uid, _, _ in customers], list(initial))
        self.check_checkouts(b, customers, carts, outcomes, by_id, won, lost)
        self.check_orders(b, expected)
        self.check_stock(b, initial)
        self.check_promotion(b, promo, [outcomes[i] for i in won if i in holders])
        # The cache serves what the database holds once the rush is over.
        for p in products:
            r = self.c.get("/api/products/" + p["id"])
            self.assertEqual(r.data["stock"], b.stock[p["id"]], p["id"])

    def check_checkouts(self, b, customers, carts, outcomes, by_id, won, lost):
        """A successful checkout made one order per store of its cart,
        holding exactly its lines at the products' prices, and emptied the
        cart; a refused one left the cart as it was and wrote no order."""
        orders_of = collections.defaultdict(list)
        for o in b.orders.values():
            orders_of[o.user].append(o)
        for i in won:
            uid = customers[i][0]
            checkout = outcomes[i].data["checkout_id"]
            self.assertEqual({o.checkout for o in orders_of[uid]}, {checkout})
            per_store = collections.defaultdict(dict)
            for pid, q in carts[i].items():
                per_store[by_id[pid]["store_id"]][pid] = q
            self.assertEqual(sorted(o.store for o in orders_of[uid]), sorted(per_store))
            for o in orders_of[uid]:
                items = b.items[o.id]
                self.assertEqual({pid: q for pid, q, _, _ in items}, per_store[o.store])
                self.assertEqual(len(items), len(per_store[o.store]))
                for pid, q, price, line in items:
                    self.assertEqual((price, line), (by_id[pid]["selling_price_paise"],
                                                     by_id[pid]["selling_price_paise"] * q))
                subtotal = sum(line for _, _, _, line in items)
                fee = 0 if subtotal >= FREE_FROM else FEE
                self.assertEqual((o.subtotal, o.fee, o.total),
                                 (subtotal, fee, subtotal - o.discount + fee))
            self.assertEqual(b.carts[uid], {})
        for i in lost:
            uid = customers[i][0]
            self.assertEqual(b.carts[uid], carts[i])
            self.assertEqual(orders_of[uid], [])
        # Events belong to orders, and each came from the checkout that made
        # the order or the job that changed it: none for a refused checkout.
        self.assertEqual([k for k in b.events if not k[0]], [])
        for (oid, topic, job), n in b.events.items():
            if topic == "order.created":
                self.assertEqual((job, n), (b.orders[oid].checkout, 1), oid)

    def check_promotion(self, b, promo, used):
        """The promotion's uses held at the end are at most its limit (a use
        given back may be taken again), recorded for exactly the winning
        checkouts that held it; its count is its uses not given back (a use
        comes back when every order of its checkout is cancelled); and the
        orders carry exactly its amount per use."""
        pid = promo["id"]
        count = int(self.stack.psql("SELECT used_count FROM promotions WHERE id = '%s'" % pid))
        uses = {c: r for c, r in self.rows(
            "SELECT checkout_id, released_at IS NOT NULL FROM promotion_redemptions "
            "WHERE promotion_id = '%s'" % pid)}
        self.assertEqual(set(uses), {r.data["checkout_id"] for r in used})
        # Uses given back may be taken again, so only those held count
        # against the limit.
        self.assertLessEqual(sum(1 for r in uses.values() if r == "f"), PROMO_USES)
        by_checkout = collections.defaultdict(list)
        for o in b.orders.values():
            by_checkout[o.checkout].append(o)
        for checkout, released in uses.items():
            all_cancelled = all(o.status == "CANCELLED" for o in by_checkout[checkout])
            self.assertEqual(released == "t", all_cancelled, checkout)
            self.assertEqual(sum(o.discount for o in by_checkout[checkout]), PROMO_OFF)
        self.assertEqual(count, sum(1 for r in uses.values() if r == "f"))
        parts = int(self.stack.psql("SELECT coalesce(sum(discount_paise), 0) FROM "
                                    "order_promotions WHERE promotion_id = '%s'" % pid))
        self.assertEqual(parts, PROMO_OFF * len(uses))

    def check_orders(self, b, expected):
        """Every order has items, ended where its plan took it through an
        unbroken status history, and has exactly one order.created and one
        order.status_changed per change."""
        self.assertEqual([oid for oid in b.orders if not b.items[oid]], [])
        self.assertEqual({oid: o.status for oid, o in b.orders.items()}, expected)
        self.assertEqual(set(b.status_history), set(b.orders))
        events = collections.Counter()
        for (oid, topic, _), n in b.events.items():
            events[oid, topic] += n
        for oid, steps in b.status_history.items():
            self.assertEqual(steps[0], ("-", "CONFIRMED"), (oid, steps))
            for prev, step in zip(steps, steps[1:]):
                self.assertEqual(step[0], prev[1], (oid, steps))
            self.assertEqual(steps[-1][1], b.orders[oid].status, (oid, steps))
            self.assertEqual((events[oid, "order.created"], events[oid, "order.status_changed"]),
                             (1, len(steps) - 1), oid)

    def check_stock(self, b, initial):
        """Per product: stock + reserved + sold = initial stock, and the
        stock history is an unbroken chain from the initial stock whose
        rows are exactly one reservation per order line and one release per
        line of a cancelled order."""
        reserved, sold = collections.Counter(), collections.Counter()
        expected = collections.defaultdict(collections.Counter)
        for oid, items in b.items.items():
            o = b.orders[oid]
            for pid, q, _, _ in items:
                if o.status == "DELIVERED":
                    sold[pid] += q
                elif o.status != "CANCELLED":
                    reserved[pid] += q
                expected[pid]["order " + o.number, -q] += 1
                if o.status == "CANCELLED":
                    expected[pid]["order %s cancelled" % o.number, q] += 1
        self.assertEqual(set(b.stock), set(initial))
        for pid, stock in b.stock.items():
            self.assertEqual(stock + reserved[pid] + sold[pid], initial[pid],
                             (pid, stock, reserved[pid], sold[pid]))
        self.assertEqual(set(b.stock_history), set(initial))
        for pid, rows in b.stock_history.items():
            self.assertEqual(rows[0], (0, initial[pid], "initial stock"), pid)
            for prev, row in zip(rows, rows[1:]):
                self.assertEqual(row[0], prev[1], (pid, rows))
            self.assertEqual(rows[-1][1], b.stock[pid], (pid, rows))
            deltas = [(reason, after - before) for before, after, reason in rows[1:]]
            self.assertEqual(sum(d for _, d in deltas), b.stock[pid] - initial[pid], pid)
            self.assertEqual(collections.Counter(deltas), expected[pid], pid)


if __name__ == "__main__":
    unittest.main()
