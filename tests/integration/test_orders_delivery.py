"""
Delivery routes through the whole stack (orders and catalog pools): the
admin's reads and writes of routes, every bad field named, LOCATION_ADMIN
kept to its zones, other roles refused; assigning orders replaces a
route's list all or nothing (only ready orders of the route's zone, none on
another route, every bad one named), with its event and audit lines; two
assignments of one order at once give it to one route.
"""

import threading
import unittest
import uuid

from catalog_case import CatalogCase

ROUTES = "/api/delivery/routes"


class DeliveryRoutes(CatalogCase):
    # Two orders workers, so that racing assignments really run at once.
    pools = {"catalog": 1, "orders": 2}

    def setUp(self):
        super().setUp()
        _, self.seller = self.merchant()
        self.cat = self.category()
        self.shop = self.store(self.seller)
        self.goods = self.product(self.seller, self.shop, self.cat, stock=500)
        self.far_zone = "y-" + self.tag
        self.far_shop = self.store(self.seller, name="Far " + self.tag, zone=self.far_zone)
        self.far_goods = self.product(self.seller, self.far_shop, self.cat, stock=500)
        self.zone_admin = self.stack.token(str(uuid.uuid4()), "LOCATION_ADMIN", zones=[self.zone])

    # ---- helpers -----------------------------------------------------------

    def route(self, token=None, **fields):
        body = {"zone": self.zone, "driver_name": "Ravi", "route_date": "2026-03-02"}
        body.update(fields)
        r = self.c.post(ROUTES, body, token=token or self.admin)
        self.assertEqual(r.status, 201, r)
        return r.data

    def order(self, status="PROCESSING", far=False):
        """An order of this test's zone (or the far one) moved to status."""
        uid, tok = self.merchant(role="USER")
        addr = str(uuid.uuid4())
        self.stack.psql("INSERT INTO addresses (id, user_id, name, phone, line1, city, state, "
                        "pincode) VALUES ('%s', '%s', 'A', '+919876543210', '1 Road', 'Pune', "
                        "'MH', '411001')" % (addr, uid))
        goods = self.far_goods if far else self.goods
        r = self.c.post("/api/cart/items", {"product_id": goods["id"], "quantity": 1}, token=tok)
        self.assertEqual(r.status, 201, r)
        r = self.c.post("/api/orders", {"address_id": addr, "payment_method": "cod"}, token=tok)
        self.assertEqual(r.status, 201, r)
        order = r.data["orders"][0]
        if status == "CANCELLED":
            r = self.c.post("/api/orders/%s/cancel" % order["id"], {"reason": "no"}, token=tok)
            self.assertEqual(r.status, 200, r)
            return order["id"]
        steps = ["CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED"]
        for step in steps[1:steps.index(status) + 1]:
            r = self.c.put("/api/orders/%s/status" % order["id"], {"status": step},
                           token=self.admin)
            self.assertEqual(r.status, 200, r)
        return order["id"]

    def assign(self, route, ids, token=None):
        return self.c.patch("%s/%s/orders" % (ROUTES, route["id"]), {"order_ids": ids},
                            token=token or self.admin)

    def orders_on(self, route):
        r = self.c.get("%s/%s" % (ROUTES, route["id"]), token=self.admin)
        self.assertEqual(r.status, 200, r)
        return [o["id"] for o in r.data["orders"]]

    def events(self, route):
        return int(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE topic = 'delivery.route_assigned' AND "
            "position(convert_to('%s', 'UTF8') IN body) > 0" % route["id"]))

    def audit(self, route):
        return self.stack.psql("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log "
                               "WHERE target_type = 'delivery_route' AND target_id = '%s'"
                               % route["id"])

    # ---- the routes themselves ----------------------------------------------

    def test_create_read_update_delete(self):
        r = self.c.post(ROUTES, {"zone": self.zone, "driver_name": "Ravi Kumar",
                                 "driver_phone": "+91-9876543210", "route_date": "2026-03-02",
                                 "notes": "van 2\nback door"}, token=self.admin)
        self.assertEqual(r.status, 201, r)
        made = r.data
        self.assertEqual({k: made[k] for k in ("zone", "driver_name", "driver_phone",
                                               "route_date", "notes", "orders", "order_count")},
                         {"zone": self.zone, "driver_name": "Ravi Kumar",
                          "driver_phone": "+919876543210", "route_date": "2026-03-02",
                          "notes": "van 2\nback door", "orders": [], "order_count": 0})
        url = "%s/%s" % (ROUTES, made["id"])
        self.assertEqual(self.c.get(url, token=self.admin).data, made)
        # A partial update: unnamed fields stay, null clears what may be cleared.
        r = self.c.put(url, {"driver_name": "Sita", "notes": None, "route_date": "2026-03-03"},
                       token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["driver_name"], r.data["notes"], r.data["route_date"],
                          r.data["driver_phone"]), ("Sita", None, "2026-03-03", "+919876543210"))
        r = self.c.put(url, {"driver_phone": None}, token=self.zone_admin)
        self.assertEqual((r.status, r.data["driver_phone"]), (200, None), r)
        r = self.c.delete(url, token=self.admin)
        self.assertEqual((r.status, r.data), (200, {"id": made["id"], "deleted": True}), r)
        self.assertError(self.c.get(url, token=self.admin), 404, "ROUTE_NOT_FOUND")
        self.assertError(self.c.delete(url, token=self.admin), 404, "ROUTE_NOT_FOUND")
        self.assertEqual(self.audit(made), "delivery.route_create,delivery.route_update,"
                                           "delivery.route_update,delivery.route_delete")

    def test_list_filters_and_pages(self):
        a = self.route(route_date="2026-03-01")
        b = self.route(route_date="2026-03-02", driver_name="Second")
        c = self.route(route_date="2026-03-02", driver_name="Third")
        far = self.route(zone=self.far_zone, route_date="2026-03-02")
        shipped = self.order("SHIPPED")
        self.assertEqual(self.assign(b, [shipped]).status, 200)
        r = self.c.get(ROUTES + "?zone=" + self.zone, token=self.admin)
        self.assertEqual(r.status, 200, r)
        # The latest date first, then the newest made.
        self.assertEqual([x["id"] for x in r.data["items"]], [c["id"], b["id"], a["id"]])
        self.assertEqual(r.data["pagination"], {"page": 1, "limit": 20, "total": 3, "pages": 1})
        listed_b = r.data["items"][1]
        self.assertEqual(listed_b["order_count"], 1)
        self.assertEqual(set(listed_b["orders"][0]),
                         {"id", "number", "status", "store_id", "total_paise", "address", "stop",
                          "assigned_at"})
        self.assertEqual((listed_b["orders"][0]["id"], listed_b["orders"][0]["status"],
                          listed_b["orders"][0]["stop"], listed_b["orders"][0]["store_id"]),
                         (shipped, "SHIPPED", 1, self.shop["id"]))
        self.assertEqual(listed_b["orders"][0]["address"]["city"], "Pune")
        r = self.c.get(ROUTES + "?zone=%s&date=2026-03-02&limit=1&page=2" % self.zone,
                       token=self.admin)
        self.assertEqual([x["id"] for x in r.data["items"]], [b["id"]])
        self.assertEqual(r.data["pagination"], {"page": 2, "limit": 1, "total": 2, "pages": 2})
        r = self.c.get(ROUTES + "?zone=%s&date=2026-03-02" % self.far_zone, token=self.admin)
        self.assertEqual([x["id"] for x in r.data["items"]], [far["id"]])

    def test_bad_input_names_the_field(self):
        good = {"zone": self.zone, "driver_name": "Ravi", "route_date": "2026-03-02"}
        cases = [({k: v for k, v in good.items() if k != "zone"}, "zone"),
                 ({k: v for k, v in good.items() if k != "driver_name"}, "driver_name"),
                 ({k: v for k, v in good.items() if k != "route_date"}, "route_date"),
                 (dict(good, zone=""), "zone"),
                 (dict(good, zone="z" * 65), "zone"),
                 (dict(good, driver_name=7), "driver_name"),
                 (dict(good, driver_name="x" * 101), "driver_name"),
                 (dict(good, driver_name="a\nb"), "driver_name"),
                 (dict(good, driver_phone="12345"), "driver_phone"),
                 (dict(good, route_date="2026-02-30"), "route_date"),
                 (dict(good, route_date="02/03/2026"), "route_date"),
                 (dict(good, notes="n" * 501), "notes"),
                 ("a route", "body")]
        for body, field in cases:
            with self.subTest(field=field, body=body):
                self.assertError(self.c.post(ROUTES, body, token=self.admin), 400,
                                 "VALIDATION_ERROR", field)
        route = self.route()
        url = "%s/%s" % (ROUTES, route["id"])
        for body, field in [({}, "body"), ({"driver_name": None}, "driver_name"),
                            ({"zone": None}, "zone"), ({"route_date": None}, "route_date"),
                            ({"route_date": "tomorrow"}, "route_date")]:
            with self.subTest(field=field, body=body):
                self.assertError(self.c.put(url, body, token=self.admin), 400,
                                 "VALIDATION_ERROR", field)
        self.assertError(self.c.get(ROUTES + "/nope", token=self.admin), 400,
                         "VALIDATION_ERROR", "id")
        self.assertError(self.c.get(ROUTES + "?date=2026-13-01", token=self.admin), 400,
                         "VALIDATION_ERROR", "date")
        self.assertError(self.c.get(ROUTES + "?limit=0", token=self.admin), 400,
                         "VALIDATION_ERROR", "limit")
        a = str(uuid.uuid4())
        for body, field in [({}, "order_ids"), ({"order_ids": None}, "order_ids"),
                            ({"order_ids": a}, "order_ids"),
                            ({"order_ids": [a, "MND-00000001"]}, "order_ids"),
                            ({"order_ids": [a, a.upper()]}, "order_ids"),
                            ({"order_ids": [str(uuid.uuid4()) for _ in range(201)]},
                             "order_ids")]:
            with self.subTest(body=str(body)[:60]):
                self.assertError(self.c.patch(url + "/orders", body, token=self.admin), 400,
                                 "VALIDATION_ERROR", field)
        self.assertError(self.c.patch("%s/%s/orders" % (ROUTES, uuid.uuid4()),
                                      {"order_ids": []}, token=self.admin), 404,
                         "ROUTE_NOT_FOUND")
        self.assertEqual(self.c.get(url, token=self.admin).data, route)   # nothing changed

    def test_other_roles_are_refused(self):
        route = self.route()
        url = "%s/%s" % (ROUTES, route["id"])
        for role in ("USER", "MERCHANT", "MODERATOR", "FINANCE"):
            tok = self.stack.token(str(uuid.uuid4()), role, zones=[self.zone])
            for method, path, body in [("GET", ROUTES, None), ("POST", ROUTES, {}),
                                       ("GET", url, None), ("PUT", url, {"notes": "x"}),
                                       ("DELETE", url, None),
                                       ("PATCH", url + "/orders", {"order_ids": []})]:
                with self.subTest(role=role, method=method, path=path):
                    self.assertError(self.c.request(method, path, body, token=tok), 403,
                                     "FORBIDDEN")
        self.assertError(self.c.get(ROUTES), 401, "AUTH_REQUIRED")
        self.assertEqual(self.c.get(url, token=self.admin).data, route)
        boss = self.stack.token(str(uuid.uuid4()), "SUPER_ADMIN")
        self.assertEqual(self.c.get(url, token=boss).data, route)

    def test_location_admin_keeps_to_its_zones(self):
        far = self.route(zone=self.far_zone)
        far_url = "%s/%s" % (ROUTES, far["id"])
        near = self.route(token=self.zone_admin)
        self.assertEqual(near["zone"], self.zone)
        near_url = "%s/%s" % (ROUTES, near["id"])
        # Another zone's route does not exist for it.
        r = self.c.get(ROUTES, token=self.zone_admin)
        self.assertEqual([x["id"] for x in r.data["items"]], [near["id"]])
        r = self.c.get(ROUTES + "?zone=" + self.far_zone, token=self.zone_admin)
        self.assertEqual((r.data["items"], r.data["pagination"]["total"]), ([], 0))
        for method, path, body in [("GET", far_url, None), ("PUT", far_url, {"notes": "x"}),
                                   ("DELETE", far_url, None),
                                   ("PATCH", far_url + "/orders", {"order_ids": []})]:
            with self.subTest(method=method):
                self.assertError(self.c.request(method, path, body, token=self.zone_admin), 404,
                                 "ROUTE_NOT_FOUND")
        # Nor may it put a route there: 403 naming the zone.
        r = self.c.post(ROUTES, {"zone": self.far_zone, "driver_name": "Ravi",
                                 "route_date": "2026-03-02"}, token=self.zone_admin)
        self.assertError(r, 403, "FORBIDDEN", "zone")
        self.assertError(self.c.put(near_url, {"zone": self.far_zone}, token=self.zone_admin),
                         403, "FORBIDDEN", "zone")
        # An order of a zone it does not reach is not found either; the
        # admin hears why.
        far_order = self.order(far=True)
        r = self.assign(near, [far_order], token=self.zone_admin)
        self.assertError(r, 404, "ORDER_NOT_FOUND")
        self.assertEqual(r.error["details"], {"order_ids": [far_order], "problems": [
            {"order_id": far_order, "code": "ORDER_NOT_FOUND"}]})
        r = self.assign(near, [far_order])
        self.assertError(r, 409, "ORDER_NOT_IN_ZONE")
        self.assertEqual(r.error["details"]["problems"],
                         [{"order_id": far_order, "code": "ORDER_NOT_IN_ZONE",
                           "zone": self.far_zone}])
        # Within its zone it does everything.
        mine = self.order()
        r = self.assign(near, [mine], token=self.zone_admin)
        self.assertEqual((r.status, r.data["order_count"]), (200, 1), r)
        self.assertEqual(self.assign(near, [], token=self.zone_admin).status, 200)
        self.assertEqual(self.c.put(near_url, {"notes": "ok"}, token=self.zone_admin).status, 200)
        self.assertEqual(self.c.delete(near_url, token=self.zone_admin).status, 200)
        self.assertEqual(self.c.get(far_url, token=self.admin).data, far)   # untouched
        # A LOCATION_ADMIN of both zones reaches both.
        both = self.stack.token(str(uuid.uuid4()), "LOCATION_ADMIN",
                                zones=[self.zone, self.far_zone])
        self.assertEqual(self.c.get(far_url, token=both).status, 200)

    # ---- assigning orders ----------------------------------------------------

    def test_only_ready_orders_of_the_zone_are_assigned(self):
        route = self.route()
        processing, shipped = self.order("PROCESSING"), self.order("SHIPPED")
        r = self.assign(route, [shipped, processing])
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(o["id"], o["stop"], o["status"]) for o in r.data["orders"]],
                         [(shipped, 1, "SHIPPED"), (processing, 2, "PROCESSING")])
        self.assertEqual(r.data["order_count"], 2)
        confirmed, cancelled = self.order("CONFIRMED"), self.order("CANCELLED")
        delivered, far = self.order("DELIVERED"), self.order(far=True)
        missing = str(uuid.uuid4())
        for bad, code, extra in [(confirmed, "ORDER_NOT_READY", {"status": "CONFIRMED"}),
                                 (cancelled, "ORDER_NOT_READY", {"status": "CANCELLED"}),
                                 (delivered, "ORDER_NOT_READY", {"status": "DELIVERED"}),
                                 (far, "ORDER_NOT_IN_ZONE", {"zone": self.far_zone}),
                                 (missing, "ORDER_NOT_FOUND", {})]:
            with self.subTest(code=code, extra=extra):
                r = self.assign(route, [processing, bad])
                self.assertError(r, 404 if code == "ORDER_NOT_FOUND" else 409, code)
                self.assertIn(bad, r.error["message"])
                self.assertIn("order_ids", r.error["message"])
                self.assertEqual(r.error["details"], {
                    "order_ids": [bad], "problems": [dict(order_id=bad, code=code, **extra)]})
        # Several bad ones: the first sets the answer, every one is listed.
        r = self.assign(route, [confirmed, processing, missing, far])
        self.assertError(r, 409, "ORDER_NOT_READY")
        self.assertEqual(r.error["details"]["order_ids"], [confirmed, missing, far])
        self.assertEqual([p["code"] for p in r.error["details"]["problems"]],
                         ["ORDER_NOT_READY", "ORDER_NOT_FOUND", "ORDER_NOT_IN_ZONE"])
        self.assertIn("2 more", r.error["message"])
        # None of it changed anything, nor recorded anything.
        self.assertEqual(self.orders_on(route), [shipped, processing])
        self.assertEqual(self.events(route), 1)
        self.assertEqual(self.audit(route), "delivery.route_create,delivery.route_assign")

    def test_an_order_rides_on_one_route(self):
        first, second = self.route(), self.route(driver_name="Other")
        order = self.order()
        self.assertEqual(self.assign(first, [order]).status, 200)
        r = self.assign(second, [order])
        self.assertError(r, 409, "ORDER_ON_ANOTHER_ROUTE")
        self.assertEqual(r.error["details"]["problems"],
                         [{"order_id": order, "code": "ORDER_ON_ANOTHER_ROUTE",
                           "route_id": first["id"]}])
        self.assertEqual(self.orders_on(second), [])
        # The first route keeps its zone and exists while it holds orders.
        first_url = "%s/%s" % (ROUTES, first["id"])
        r = self.c.delete(first_url, token=self.admin)
        self.assertError(r, 409, "ROUTE_HAS_ORDERS")
        self.assertEqual(r.error["details"], {"order_count": 1})
        self.assertError(self.c.put(first_url, {"zone": self.far_zone}, token=self.admin), 409,
                         "ROUTE_HAS_ORDERS")
        self.assertEqual(self.c.put(first_url, {"zone": self.zone, "notes": "same zone"},
                                    token=self.admin).status, 200)
        # Emptied, it lets the order go.
        self.assertEqual(self.assign(first, []).data["orders"], [])
        self.assertEqual(self.assign(second, [order]).status, 200)
        self.assertEqual(self.c.delete(first_url, token=self.admin).status, 200)
        self.assertEqual(self.orders_on(second), [order])

    def test_a_list_replaces_the_one_before(self):
        route = self.route()
        a, b, c = self.order(), self.order(), self.order("SHIPPED")
        r = self.assign(route, [a, b])
        first_assigned = {o["id"]: o["assigned_at"] for o in r.data["orders"]}
        r = self.assign(route, [c, b])
        self.assertEqual(r.status, 200, r)
        self.assertEqual([(o["id"], o["stop"]) for o in r.data["orders"]], [(c, 1), (b, 2)])
        # b stayed on the route: it keeps the time it was assigned.
        self.assertEqual(r.data["orders"][1]["assigned_at"], first_assigned[b])
        # An order already on the route may stay as its delivery moves on.
        self.c.put("/api/orders/%s/status" % b, {"status": "SHIPPED"}, token=self.admin)
        self.c.put("/api/orders/%s/status" % b, {"status": "DELIVERED"}, token=self.admin)
        r = self.assign(route, [b, c])
        self.assertEqual([(o["id"], o["stop"], o["status"]) for o in r.data["orders"]],
                         [(b, 1, "DELIVERED"), (c, 2, "SHIPPED")])
        # a, dropped, is free for another route.
        other = self.route(driver_name="Other")
        self.assertEqual(self.assign(other, [a]).status, 200)
        r = self.assign(route, [])
        self.assertEqual((r.data["orders"], r.data["order_count"]), ([], 0))
        # Every assignment is an event naming the route and what changed.
        self.assertEqual(self.events(route), 4)
        body = self.stack.psql(
            "SELECT encode(body, 'escape') FROM outbox WHERE topic = 'delivery.route_assigned' "
            "AND position(convert_to('%s', 'UTF8') IN body) > 0 ORDER BY id LIMIT 1 OFFSET 1"
            % route["id"])
        for word in ("route_id", "order_ids", "added", "removed", c, self.zone):
            self.assertIn(word, body)
        self.assertEqual(self.stack.psql(
            "SELECT after::text FROM audit_log WHERE target_id = '%s' AND action = "
            "'delivery.route_assign' ORDER BY id LIMIT 1 OFFSET 1" % route["id"]),
            '{"order_ids": ["%s", "%s"]}' % (c, b))

    def test_two_routes_racing_for_one_order(self):
        routes = [self.route(driver_name="R%d" % i) for i in range(4)]
        order = self.order()
        results = []
        lock = threading.Lock()

        def take(route):
            r = self.assign(route, [order])
            with lock:
                results.append((r.status, r.code, route["id"]))

        threads = [threading.Thread(target=take, args=(r,)) for r in routes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        won = [rid for status, _, rid in results if status == 200]
        self.assertEqual(len(won), 1, results)
        self.assertEqual(sorted(code for status, code, _ in results if status != 200),
                         ["ORDER_ON_ANOTHER_ROUTE"] * 3, results)
        self.assertEqual(self.stack.psql(
            "SELECT route_id FROM delivery_route_orders WHERE order_id = '%s'" % order), won[0])


if __name__ == "__main__":
    unittest.main()
