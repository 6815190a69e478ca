"""
The analytics pool through the whole stack: app events (one, or batches of
mixed good and bad events up to 500, with a token or anonymous with a
device_id), domain events recorded once per delivery id, the dashboard and
the reports against figures worked out by hand from orders, users, events
and back-in-stock requests made with psql in a zone of their own (India
days, zone limits), range checks, who may read them, and the daily
snapshot.
"""

import datetime
import unittest
import uuid

from harness import Client, Stack, StackTestCase, unique_phone

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
ROLES = ("USER", "MERCHANT", "MODERATOR", "FINANCE", "LOCATION_ADMIN", "ADMIN", "SUPER_ADMIN")


class JobAnswer:
    """An ingestion's outcome, read from its job as a direct answer would
    be read: the route answers 202 at once and the job holds the report."""

    def __init__(self, job):
        self.status = job["http_status"]
        self.body = {"success": job["error"] is None, "data": job["result"],
                     "error": job["error"]}

    data = property(lambda self: self.body["data"])
    error = property(lambda self: self.body["error"])
    code = property(lambda self: (self.body["error"] or {}).get("code"))

    def __repr__(self):
        return "<job %s %r>" % (self.status, self.body)


class Analytics(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"analytics": 1}, name="analytics").start()
        cls.admin = cls.stack.token(str(uuid.uuid4()), "ADMIN")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        self.tag = uuid.uuid4().hex[:8]
        self.zone = "za-" + self.tag

    # ---- fixtures ----------------------------------------------------------

    def ingest(self, body, token=None, headers=None):
        """POST /api/analytics/event: 202 at once, then the job's outcome."""
        r = self.c.post("/api/analytics/event", body, token=token, headers=headers)
        if r.status != 202:
            return r
        self.assertEqual(r.headers["Location"], "/api/jobs/" + r.data["job_id"])
        return JobAnswer(self.stack.wait_job(r.data["job_id"], token=token))

    def sql(self, text):
        """psql's output; for an INSERT ... RETURNING, the value returned
        (psql prints the command tag after it)."""
        out = self.stack.psql(text)
        return out.splitlines()[0] if " RETURNING " in text else out

    def user(self, created, zones=()):
        """A USER created at `created` (timestamptz text, or "now()")."""
        uid = str(uuid.uuid4())
        at = created if created == "now()" else "'%s'" % created
        self.sql("INSERT INTO users (id, phone, role, zones, created_at) VALUES ('%s', '%s', "
                 "'USER', '{%s}', %s)" % (uid, unique_phone(), ",".join(zones), at))
        return uid

    def shop(self, zone):
        """A store in zone with two products, A at 100 rupees and B at 25."""
        owner = self.user("2020-01-01 00:00+00")
        cat = self.sql("INSERT INTO categories (name, slug) VALUES ('C', 'an-%s') RETURNING id"
                       % uuid.uuid4().hex[:10])
        store = self.sql("INSERT INTO stores (owner_id, name, city, zone) VALUES ('%s', 'S', "
                         "'Pune', '%s') RETURNING id" % (owner, zone))
        products = {}
        for name, price in (("A", 10000), ("B", 2500)):
            products[name] = (self.sql(
                "INSERT INTO products (store_id, category_id, name, sku, original_price_paise, "
                "selling_price_paise) VALUES ('%s', '%s', '%s', '%s', %d, %d) RETURNING id"
                % (store, cat, name, "SK-" + uuid.uuid4().hex[:8], price, price)), price)
        return store, products

    def order(self, store, zone, user, at, status, lines, fee=0, discount=0):
        """An order placed at `at` (a PostgreSQL timestamptz text) with
        lines [(product, quantity)]."""
        subtotal = sum(p[1] * q for p, q in lines)
        oid = self.sql(
            "INSERT INTO orders (checkout_id, user_id, store_id, zone, status, payment_method, "
            "address, subtotal_paise, discount_paise, delivery_fee_paise, total_paise, "
            "created_at) VALUES (gen_random_uuid(), '%s', '%s', '%s', '%s', 'cod', '{}', %d, %d, "
            "%d, %d, %s) RETURNING id"
            % (user, store, zone, status, subtotal, discount, fee, subtotal - discount + fee, at))
        for (pid, price), q in lines:
            self.sql("INSERT INTO order_items (order_id, product_id, name, sku, unit_price_paise, "
                     "quantity, line_total_paise) VALUES ('%s', '%s', 'P', 'SKU', %d, %d, %d)"
                     % (oid, pid, price, q, price * q))
        return oid

    def app_event(self, at, name, zone, user=None, session=None, props="{}"):
        self.sql("INSERT INTO analytics_events (source, event_key, name, user_id, session_id, "
                 "zone, properties, occurred_at) VALUES ('app', '%s', '%s', %s, %s, '%s', '%s', "
                 "'%s')" % (uuid.uuid4(), name, "'%s'" % user if user else "NULL",
                            "'%s'" % session if session else "NULL", zone, props, at))

    def zone_admin(self, zone):
        return self.stack.token(str(uuid.uuid4()), "LOCATION_ADMIN", zones=[zone])

    def get(self, path, token):
        r = self.c.get(path, token=token)
        self.assertEqual(r.status, 200, r)
        return r.data

    # ---- ingestion ---------------------------------------------------------

    def events_of(self, device):
        return self.sql("SELECT name || '|' || coalesce(user_id, '-') || '|' || "
                        "coalesce(session_id, '-') || '|' || properties::text FROM "
                        "analytics_events WHERE device_id = '%s' ORDER BY event_key" % device)

    def test_batch_keeps_good_events_and_reports_bad_ones(self):
        device = "dev-" + self.tag
        user = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.timezone.utc)
        old = (now - datetime.timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ahead = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        when = (now - datetime.timedelta(hours=2)).astimezone(IST).replace(microsecond=0)
        events = [
            {"name": "app_open"},
            {"properties": {}},
            {"name": "x", "timestamp": "yesterday"},
            {"name": "x", "timestamp": old},
            {"name": "x", "timestamp": ahead},
            {"name": "x", "properties": [1]},
            {"name": "has space"},
            {"name": "product_view", "properties": {"product_id": "p1"}, "session_id": "s9",
             "timestamp": when.isoformat()},
            "not an event",
        ]
        r = self.ingest({"events": events, "device_id": device},
                        token=self.stack.token(user))
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["accepted"], r.data["rejected"]), (2, 7))
        self.assertEqual([(e["index"], e["field"]) for e in r.data["errors"]],
                         [(1, "name"), (2, "timestamp"), (3, "timestamp"), (4, "timestamp"),
                          (5, "properties"), (6, "name"), (8, "event")])
        for e in r.data["errors"]:
            self.assertIn(e["field"], e["message"])
        self.assertEqual(self.events_of(device).splitlines(), [
            "app_open|%s|-|{}" % user,
            'product_view|%s|s9|{"product_id": "p1"}' % user])
        self.assertEqual(self.sql("SELECT occurred_at = '%s'::timestamptz FROM analytics_events "
                                  "WHERE device_id = '%s' AND name = 'product_view'"
                                  % (when.isoformat(), device)), "t")

    def test_batch_limit_and_shape(self):
        device = "dev-" + self.tag
        r = self.ingest(
                        {"device_id": device, "events": [{"name": "tap"}] * 500})
        self.assertEqual((r.status, r.data["accepted"], r.data["rejected"]), (200, 500, 0), r)
        self.assertEqual(self.sql("SELECT count(*) FROM analytics_events WHERE device_id = '%s'"
                                  % device), "500")
        for body in ({"device_id": device, "events": [{"name": "tap"}] * 501},
                     {"device_id": device, "events": []},
                     {"device_id": device, "events": {"name": "tap"}}):
            self.assertError(self.ingest(body), 400, "VALIDATION_ERROR",
                             "events")
        self.assertEqual(self.sql("SELECT count(*) FROM analytics_events WHERE device_id = '%s'"
                                  % device), "500")

    def test_single_event_anonymous_needs_a_device(self):
        device = "dev-" + self.tag
        self.assertError(self.ingest({"name": "app_open"}), 400,
                         "VALIDATION_ERROR", "device_id")
        self.assertError(self.ingest(
                                     {"name": "app_open", "device_id": device,
                                      "timestamp": "2026-02-30T10:00:00Z"}),
                         400, "VALIDATION_ERROR", "timestamp")
        r = self.ingest({"name": "app_open", "device_id": device,
                                                 "zone": self.zone, "properties": {"a": [1, 2]}})
        self.assertEqual((r.status, r.data), (201, {"accepted": 1, "rejected": 0, "errors": []}),
                         r)
        self.assertEqual(self.events_of(device), 'app_open|-|-|{"a": [1, 2]}')
        self.assertEqual(self.sql("SELECT zone FROM analytics_events WHERE device_id = '%s'"
                                  % device), self.zone)
        # A replayed request (same Idempotency-Key) records nothing more.
        key = uuid.uuid4().hex
        for _ in range(2):
            r = self.ingest({"name": "again", "device_id": device},
                            headers={"Idempotency-Key": key})
            self.assertEqual(r.status, 201, r)
        self.assertEqual(self.sql("SELECT count(*) FROM analytics_events WHERE device_id = '%s' "
                                  "AND name = 'again'" % device), "1")

    def test_domain_event_recorded_once(self):
        delivery = "consumer-test:" + self.tag
        user = str(uuid.uuid4())
        body = {"topic": "order.created", "id": delivery,
                "body": {"user_id": user, "zone": self.zone, "total_paise": 4200}}
        first = self.c.post("/api/_test/analytics/analytics_event", body)
        self.assertEqual((first.status, first.data), (200, {"recorded": True}), first)
        again = self.c.post("/api/_test/analytics/analytics_event", body)
        self.assertEqual((again.status, again.data), (200, {"recorded": False}), again)
        self.assertEqual(self.sql(
            "SELECT source || '|' || name || '|' || user_id || '|' || zone || '|' || "
            "(properties->>'total_paise') FROM analytics_events WHERE event_key = '%s'"
            % delivery), "domain|order.created|%s|%s|4200" % (user, self.zone))
        # A body that is not an object is kept under "value".
        r = self.c.post("/api/_test/analytics/analytics_event",
                        {"topic": "otp.requested", "id": delivery + "-2", "body": 7})
        self.assertEqual(r.data, {"recorded": True}, r)
        self.assertEqual(self.sql("SELECT properties::text FROM analytics_events WHERE "
                                  "event_key = '%s-2'" % delivery), '{"value": 7}')
        self.assertError(self.c.post("/api/_test/analytics/analytics_event", {"id": "x"}), 400,
                         "VALIDATION_ERROR", "topic")

    # ---- reports -----------------------------------------------------------

    def report_fixture(self):
        """Orders of 3 to 11 March 2025 (Monday to the next Tuesday) in
        self.zone, and one in another zone that must never count."""
        z = self.zone
        self.other = "zb-" + self.tag
        store, p = self.shop(z)
        far_store, far = self.shop(self.other)
        u1 = self.user("2025-03-03 09:00+05:30", [z])
        u2 = self.user("2025-03-04 00:30+05:30", [z])   # 3 March in UTC
        u3 = self.user("2025-03-05 11:00+05:30", [z])
        a, b = p["A"], p["B"]
        self.order(store, z, u1, "'2025-03-03 10:00+05:30'", "DELIVERED", [(a, 2)])
        self.order(store, z, u2, "'2025-03-03 23:30+05:30'", "CONFIRMED", [(b, 1)], fee=4000)
        self.order(store, z, u1, "'2025-03-04 00:30+05:30'", "CANCELLED", [(a, 1)])
        self.order(store, z, u3, "'2025-03-05 12:00+05:30'", "PENDING", [(b, 2)], fee=4000)
        self.order(store, z, u2, "'2025-03-11 12:00+05:30'", "SHIPPED", [(a, 1), (b, 2)],
                   discount=1000)
        self.order(store, z, u2, "'2025-03-12 00:10+05:30'", "DELIVERED", [(a, 5)])  # after
        self.order(far_store, self.other, u1, "'2025-03-03 10:00+05:30'", "DELIVERED",
                   [(far["A"], 9)])
        self.app_event("2025-03-10 12:00+05:30", "product_view", z, user=u3, session="s1",
                       props='{"product_id": "%s"}' % a[0])
        self.app_event("2025-03-10 13:00+05:30", "product_view", z, session="s2",
                       props='{"product_id": "%s"}' % a[0])
        self.app_event("2025-03-11 09:00+05:30", "product_view", z, session="s3",
                       props='{"product_id": "%s"}' % b[0])
        self.app_event("2025-03-11 09:00+05:30", "product_view", self.other, user=u1,
                       session="s4", props='{"product_id": "%s"}' % far["A"][0])
        for user, product, at, notified in ((u1, a, "2025-03-05", "NULL"),
                                            (u2, a, "2025-03-06", "'2025-03-07'"),
                                            (u3, b, "2025-03-06", "NULL"),
                                            (u1, far["A"], "2025-03-06", "NULL")):
            self.sql("INSERT INTO notify_requests (user_id, product_id, created_at, notified_at) "
                     "VALUES ('%s', '%s', '%s 12:00+05:30', %s)" % (user, product[0], at,
                                                                    notified))
        return a[0], b[0]

    RANGE = "startDate=2025-03-03&endDate=2025-03-11"

    def test_reports_by_day_week_and_month(self):
        a, b = self.report_fixture()
        la = self.zone_admin(self.zone)
        sales = self.get("/api/analytics/sales?%s&granularity=week" % self.RANGE, la)
        self.assertEqual((sales["granularity"], sales["startDate"], sales["endDate"]),
                         ("week", "2025-03-03", "2025-03-11"))
        self.assertEqual(sales["items"], [
            {"period": "2025-03-03", "orders": 4, "revenue_orders": 2, "cancelled_orders": 1,
             "items_sold": 3, "revenue_paise": 26500},
            {"period": "2025-03-10", "orders": 1, "revenue_orders": 1, "cancelled_orders": 0,
             "items_sold": 3, "revenue_paise": 14000}])
        self.assertEqual(sales["totals"], {"orders": 5, "revenue_orders": 3,
                                           "cancelled_orders": 1, "items_sold": 6,
                                           "revenue_paise": 40500})
        by_day = self.get("/api/analytics/sales?" + self.RANGE, la)
        self.assertEqual(len(by_day["items"]), 9)
        self.assertEqual([(d["period"], d["orders"], d["revenue_paise"])
                          for d in by_day["items"] if d["orders"]],
                         [("2025-03-03", 2, 26500), ("2025-03-04", 1, 0), ("2025-03-05", 1, 0),
                          ("2025-03-11", 1, 14000)])
        month = self.get("/api/analytics/sales?%s&granularity=month" % self.RANGE, la)
        self.assertEqual(month["items"], [dict(period="2025-03-01", **sales["totals"])])

        revenue = self.get("/api/analytics/revenue?%s&granularity=week" % self.RANGE, la)
        self.assertEqual(revenue["items"], [
            {"period": "2025-03-03", "revenue_orders": 2, "subtotal_paise": 22500,
             "discount_paise": 0, "delivery_fee_paise": 4000, "revenue_paise": 26500,
             "average_order_value_paise": 13250},
            {"period": "2025-03-10", "revenue_orders": 1, "subtotal_paise": 15000,
             "discount_paise": 1000, "delivery_fee_paise": 0, "revenue_paise": 14000,
             "average_order_value_paise": 14000}])
        self.assertEqual(revenue["totals"]["average_order_value_paise"], 13500)

        users = self.get("/api/analytics/users?%s&granularity=week" % self.RANGE, la)
        self.assertEqual(users["items"], [
            {"period": "2025-03-03", "new_users": 3, "active_users": 3},
            {"period": "2025-03-10", "new_users": 0, "active_users": 2}])
        self.assertEqual(users["totals"], {"new_users": 3, "active_users": 3})
        self.assertEqual(users["retention"], [{"week": "2025-03-03", "users": 3,
                                               "active": [3, 2]}])
        days = self.get("/api/analytics/users?" + self.RANGE, la)["items"]
        self.assertEqual([(d["new_users"], d["active_users"]) for d in days[:3]],
                         [(1, 2), (1, 1), (1, 1)])

        products = self.get("/api/analytics/products?" + self.RANGE, la)
        self.assertEqual([(t["product_id"], t["units"], t["revenue_paise"], t["orders"])
                          for t in products["top_sellers"]], [(a, 3, 30000, 2), (b, 3, 7500, 2)])
        self.assertEqual([(v["product_id"], v["views"], v["orders"], v["conversion_bps"])
                          for v in products["views_to_orders"]],
                         [(a, 2, 2, 10000), (b, 1, 2, 20000)])
        one = self.get("/api/analytics/products?limit=1&" + self.RANGE, la)
        self.assertEqual(len(one["top_sellers"]), 1)

        notify = self.get("/api/analytics/notify-requests?" + self.RANGE, la)
        self.assertEqual(notify["totals"], {"requests": 3, "waiting": 2, "notified": 1})
        self.assertEqual([(n["product_id"], n["requests"], n["waiting"], n["notified"])
                          for n in notify["products"]], [(a, 2, 1, 1), (b, 1, 1, 0)])

        # An admin naming the zone sees the same; another zone's admin sees none.
        self.assertEqual(self.get("/api/analytics/sales?zone=%s&granularity=week&%s"
                                  % (self.zone, self.RANGE), self.admin)["items"],
                         sales["items"])
        far = self.zone_admin(self.other)
        self.assertEqual(self.get("/api/analytics/sales?zone=%s&%s" % (self.zone, self.RANGE),
                                  far)["totals"]["orders"], 0)
        theirs = self.get("/api/analytics/sales?" + self.RANGE, far)["totals"]
        self.assertEqual((theirs["orders"], theirs["revenue_paise"]), (1, 90000))
        nobody = self.zone_admin("zn-" + self.tag)
        self.assertEqual(self.get("/api/analytics/products?" + self.RANGE, nobody),
                         {"startDate": "2025-03-03", "endDate": "2025-03-11",
                          "timezone": "Asia/Kolkata", "top_sellers": [], "views_to_orders": []})
        self.assertEqual(self.get("/api/analytics/notify-requests?" + self.RANGE,
                                  nobody)["totals"], {"requests": 0, "waiting": 0, "notified": 0})

    def test_range_checks(self):
        la = self.zone_admin(self.zone)
        for query, field in (("startDate=2025-02-30", "startDate"),
                             ("endDate=soon", "endDate"),
                             ("startDate=2025-03-11&endDate=2025-03-10", "endDate"),
                             ("startDate=2020-01-01&endDate=2025-01-01", "endDate"),
                             ("granularity=year", "granularity"), ("limit=0", "limit")):
            for route in ("sales", "revenue", "users", "products", "notify-requests"):
                with self.subTest(query=query, route=route):
                    r = self.c.get("/api/analytics/%s?%s" % (route, query), token=la)
                    self.assertError(r, 400, "VALIDATION_ERROR", field)
        # Without a range: the 30 days up to today (India).
        today = datetime.datetime.now(IST).date()
        r = self.get("/api/analytics/sales", la)
        self.assertEqual((r["startDate"], r["endDate"], len(r["items"])),
                         (str(today - datetime.timedelta(days=29)), str(today), 30))

    def test_dashboard(self):
        z = self.zone
        store, p = self.shop(z)
        today = datetime.datetime.now(IST).date()

        def noon(days_ago):
            return "'%s 12:00+05:30'" % (today - datetime.timedelta(days=days_ago))

        u4 = self.user("now()", [z])
        u5 = self.user((today - datetime.timedelta(days=3)).isoformat() + " 12:00+05:30", [z])
        u6 = self.user((today - datetime.timedelta(days=40)).isoformat() + " 12:00+05:30", [z])
        a = p["A"]
        self.order(store, z, u4, "now()", "DELIVERED", [(a, 3)])
        self.order(store, z, u5, "now()", "CANCELLED", [(p["B"], 2)])
        self.order(store, z, u5, noon(3), "CONFIRMED", [(p["B"], 4)], fee=2000)
        self.order(store, z, u6, noon(3), "PENDING", [(p["B"], 2)], fee=2000)
        self.order(store, z, u6, noon(20), "DELIVERED", [(a, 1), (p["B"], 3)], fee=500)
        self.order(store, z, u6, noon(40), "DELIVERED", [(a, 5)])
        # Two sessions today, sent through the API.
        r = self.ingest({"events": [
            {"name": "product_view", "session_id": "s1", "zone": z,
             "properties": {"product_id": a[0]}},
            {"name": "app_open", "session_id": "s1", "zone": z}]}, token=self.stack.token(u4))
        self.assertEqual(r.data["accepted"], 2, r)
        r = self.ingest({"name": "app_open", "session_id": "s2",
                                                 "zone": z, "device_id": "d-" + self.tag})
        self.assertEqual(r.status, 201, r)

        d = self.get("/api/analytics/dashboard", self.zone_admin(z))
        self.assertEqual((d["date"], d["timezone"]), (str(today), "Asia/Kolkata"))
        self.assertEqual(d["today"], {
            "from": str(today), "to": str(today), "orders": 2, "revenue_orders": 1,
            "cancelled_orders": 1, "revenue_paise": 30000, "average_order_value_paise": 30000,
            "active_users": 2, "new_users": 1, "sessions": 2, "product_views": 1,
            "conversion_bps": 10000})
        week = d["last_7_days"]
        self.assertEqual(week["from"], str(today - datetime.timedelta(days=6)))
        self.assertEqual((week["orders"], week["revenue_orders"], week["revenue_paise"],
                          week["average_order_value_paise"], week["active_users"],
                          week["new_users"], week["conversion_bps"]),
                         (4, 2, 42000, 21000, 3, 2, 20000))
        month = d["last_30_days"]
        self.assertEqual((month["orders"], month["revenue_orders"], month["revenue_paise"],
                          month["average_order_value_paise"], month["active_users"],
                          month["new_users"], month["sessions"], month["conversion_bps"]),
                         (5, 3, 60000, 20000, 3, 2, 2, 25000))
        self.assertEqual(self.get("/api/analytics/dashboard?zone=" + z, self.admin), d)
        far = self.get("/api/analytics/dashboard?zone=" + z, self.zone_admin("zz-" + self.tag))
        self.assertEqual((far["last_30_days"]["orders"], far["last_30_days"]["revenue_paise"],
                          far["last_30_days"]["conversion_bps"]), (0, 0, None))

        # The snapshot of three days ago: all zones, and this zone's row.
        day = str(today - datetime.timedelta(days=3))
        for _ in range(2):
            r = self.c.post("/api/admin/analytics/snapshot", {"day": day}, token=self.admin)
            self.assertEqual(r.status, 200, r)
            mine = [row for row in r.data["zones"] if row["zone"] == z]
            self.assertEqual([{k: v for k, v in row.items() if k != "computed_at"}
                              for row in mine],
                             [{"day": day, "zone": z, "orders": 2, "revenue_orders": 1,
                               "cancelled_orders": 0, "revenue_paise": 10000 + 2000,
                               "active_users": 2, "new_users": 1, "sessions": 0,
                               "product_views": 0}])
            self.assertEqual(r.data["zones"][0]["zone"], "*")
            self.assertGreaterEqual(r.data["zones"][0]["orders"], 2)
        self.assertEqual(self.sql("SELECT count(*) || ' ' || sum(orders) FROM analytics_daily "
                                  "WHERE day = '%s' AND zone = '%s'" % (day, z)), "1 2")
        tomorrow = str(today + datetime.timedelta(days=1))
        for body in ({"day": tomorrow}, {"day": "2025-13-01"}, {}):
            self.assertError(self.c.post("/api/admin/analytics/snapshot", body,
                                         token=self.admin), 400, "VALIDATION_ERROR", "day")
        self.assertEqual(self.sql("SELECT job_type || ' ' || cron || ' ' || (body->>'day') FROM "
                                  "schedules WHERE name = 'analytics-snapshot'"),
                         "analytics.snapshot 5 0 * * * {{yesterday}}")

    def test_who_may_read(self):
        tokens = {role: self.stack.token(str(uuid.uuid4()), role, zones=[self.zone])
                  for role in ROLES}
        readers = {"LOCATION_ADMIN", "ADMIN", "SUPER_ADMIN"}
        routes = [("GET", "/api/analytics/" + name, None, readers)
                  for name in ("dashboard", "sales", "revenue", "users", "products",
                               "notify-requests")]
        routes.append(("POST", "/api/admin/analytics/snapshot", {"day": "2025-03-03"},
                       {"ADMIN", "SUPER_ADMIN"}))
        for method, path, body, allowed in routes:
            for role in ROLES:
                with self.subTest(path=path, role=role):
                    r = self.c.request(method, path, body, token=tokens[role])
                    if role in allowed:
                        self.assertEqual(r.status, 200, r)
                    else:
                        self.assertError(r, 403, "FORBIDDEN")
            self.assertError(self.c.request(method, path, body), 401, "AUTH_REQUIRED")


if __name__ == "__main__":
    unittest.main()
