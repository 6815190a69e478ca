"""
The notifications pool with the development "file" providers: domain events
through the rules and templates to the inbox and the SMS, email and push
files, the users' preferences, once per (event, user, channel), the inbox
routes, devices, admins' send-outs with progress, announcements, and bad
input and roles on every route.
"""

import time
import re
import unittest
import uuid

from notify_case import NotifyCase


class Notifications(NotifyCase):
    env = {"MANDI_NOTIFY_FANOUT_BATCH": "2"}

    # ---- events to messages ----------------------------------------------------

    def test_order_confirmed_reaches_every_channel(self):
        u = self.user()
        token = self.device(u)
        order = self.order(u)
        result, ref = self.event("order.status_changed", order)
        self.assertEqual(result, {"in_app": 1, "deliveries": 3, "held": 0})
        d = self.wait_deliveries(ref, count=3)
        self.assertEqual([x["channel"] for x in d], ["email", "push", "sms"])
        self.assertTrue(all(x["provider"] == "file" and x["attempts"] == 1 for x in d), d)

        text = "Your order %s of \u20b91234.50 is confirmed." % order["number"]
        sms = self.stack.sms_messages(u["phone"])
        self.assertEqual(len(sms), 1, sms)
        self.assertEqual(sms[0]["body"], "mandi: order %s (\u20b91234.50) confirmed."
                         % order["number"])
        self.assertEqual(sms[0]["template"], "order.confirmed")
        mail = self.stack.emails(u["email"])
        self.assertEqual(len(mail), 1, mail)
        self.assertEqual(mail[0]["subject"], "Order %s confirmed" % order["number"])
        self.assertEqual(mail[0]["body"], text)
        push = self.stack.dev_messages("push", token)
        self.assertEqual(len(push), 1, push)
        self.assertEqual(push[0]["subject"], "Order %s confirmed" % order["number"])

        inbox = self.inbox(u)
        self.assertEqual(inbox["unread_count"], 1)
        n = inbox["items"][0]
        self.assertEqual((n["event"], n["category"], n["title"], n["body"], n["read"]),
                         ("order.confirmed", "order", "Order %s confirmed" % order["number"],
                          text, False))
        self.assertEqual(n["data"]["number"], order["number"])

    def test_a_status_without_a_rule_tells_nobody(self):
        u = self.user()
        result, ref = self.event("order.status_changed", self.order(u, status="packed"))
        self.assertEqual(result, {"in_app": 0, "deliveries": 0, "held": 0})
        result, _ = self.event("order.created", self.order(u))
        self.assertEqual(result["in_app"], 0)
        self.assertEqual(self.inbox(u)["pagination"]["total"], 0)

    def test_a_redelivered_event_is_sent_once(self):
        u = self.user()
        order = self.order(u, status="SHIPPED")
        first, ref = self.event("order.status_changed", order)
        self.assertEqual(first["deliveries"], 1)  # sms; no device, shipped has no email
        again, _ = self.event("order.status_changed", order, ref=ref)
        self.assertEqual(again, {"in_app": 0, "deliveries": 0, "held": 0})
        self.wait_deliveries(ref, count=1)
        time.sleep(1.5)  # a second job would have been swept by now
        self.assertEqual(len(self.stack.sms_messages(u["phone"])), 1)
        self.assertEqual(self.inbox(u)["pagination"]["total"], 1)
        # Another event (another ref) about the same order is another message.
        other, _ = self.event("order.status_changed", order)
        self.assertEqual(other["deliveries"], 1)

    def test_preferences_choose_the_channels(self):
        u = self.user(preferences={"notifications": {"sms": False, "email": False}})
        self.device(u)
        result, ref = self.event("refund.processed",
                                 {"id": str(uuid.uuid4()), "user_id": u["id"],
                                  "amount_paise": 5000})
        self.assertEqual(result, {"in_app": 1, "deliveries": 1, "held": 0})
        d = self.wait_deliveries(ref, count=1)
        self.assertEqual(d[0]["channel"], "push")
        self.assertEqual(self.stack.sms_messages(u["phone"]), [])
        self.assertEqual(self.inbox(u)["items"][0]["body"],
                         "Your refund of \u20b950.00 has been processed.")

    def test_promotional_messages_need_marketing(self):
        off = self.user()  # marketing is off by default
        on = self.user(preferences={"notifications": {"marketing": True}})
        for u in (off, on):
            self.device(u)
        body = {"product_id": str(uuid.uuid4()), "product_name": "Alphonso mangoes"}
        r_off, _ = self.event("notify.back_in_stock", dict(body, user_id=off["id"]))
        r_on, ref_on = self.event("notify.back_in_stock", dict(body, user_id=on["id"]))
        self.assertEqual(r_off, {"in_app": 1, "deliveries": 0, "held": 0})
        self.assertEqual(r_on, {"in_app": 1, "deliveries": 2, "held": 0})
        self.assertEqual([x["channel"] for x in self.wait_deliveries(ref_on, count=2)],
                         ["email", "push"])
        self.assertEqual(self.inbox(off)["items"][0]["title"], "Alphonso mangoes is back")

    def test_security_messages_ignore_preferences(self):
        """A sign-in code goes by SMS to a user who turned SMS off, in their
        language, and is no domain event: no inbox row, no delivery row, no
        outbox event holds it."""
        u = self.user(preferences={"language": "hi", "notifications": {
            "sms": False, "email": False, "push": False}})
        r = self.c.post("/api/auth/send-otp", {"phone": u["phone"]})
        self.assertEqual(r.status, 200, r)
        sms = self.stack.wait_sms(u["phone"])
        code = re.search(r"\b(\d{6})\b", sms[0]["body"]).group(1)
        self.assertEqual(sms[0]["body"],
                         "%s आपका mandi साइन-इन कोड है। यह 5 मिनट में समाप्त हो जाएगा। "
                         "इसे किसी से साझा न करें।" % code)
        self.assertEqual(self.inbox(u)["items"], [])
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM notification_deliveries WHERE user_id = '%s'" % u["id"]), "0")
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE body::text LIKE '%%%s%%'" % code), "0")

    def test_every_rule_has_words_on_its_channels_in_english_and_hindi(self):
        missing = self.rows(
            "SELECT r.event, ch, lang FROM notification_rules r, unnest(r.channels) ch, "
            "unnest(ARRAY['en', 'hi']) lang WHERE NOT EXISTS (SELECT 1 FROM "
            "notification_templates t WHERE t.event = r.event AND t.channel = ch "
            "AND t.language = lang) ORDER BY 1, 2, 3")
        self.assertEqual(missing, [])
        for event, channel in (("otp", "sms"), ("password_reset", "email")):
            self.assertEqual(self.stack.psql(
                "SELECT string_agg(language, ',' ORDER BY language) FROM notification_templates "
                "WHERE event = '%s' AND channel = '%s'" % (event, channel)), "en,hi")

    def test_the_users_language(self):
        u = self.user(preferences={"language": "hi"})
        ta = self.user(preferences={"language": "ta"})  # no Tamil rows: English
        order = self.order(u)
        self.event("order.status_changed", order)
        self.assertEqual(self.inbox(u)["items"][0]["title"],
                         "\u0911\u0930\u094d\u0921\u0930 %s \u0915\u0940 \u092a\u0941\u0937\u094d"
                         "\u091f\u093f \u0939\u0941\u0908" % order["number"])
        self.event("order.status_changed", self.order(ta, number="MND-TA"))
        self.assertEqual(self.inbox(ta)["items"][0]["title"], "Order MND-TA confirmed")

    def test_merchants_hear_of_low_stock_and_inactive_users_of_nothing(self):
        m = self.user(role="MERCHANT")
        result, ref = self.event("stock.low", {"product_id": "p-1", "store_id": str(uuid.uuid4()),
                                               "owner_id": m["id"], "before": 6, "after": 3,
                                               "threshold": 5})
        self.assertEqual(result, {"in_app": 1, "deliveries": 1, "held": 0})
        self.assertEqual(self.inbox(m)["items"][0]["body"], "Product p-1 is down to 3 in stock.")
        gone = self.user(status="suspended")
        result, _ = self.event("order.status_changed", self.order(gone))
        self.assertEqual(result["in_app"], 0)
        # A recipient member that is not a user id names nobody.
        result, _ = self.event("order.status_changed", dict(self.order(gone), user_id="x'1"))
        self.assertEqual(result["in_app"], 0)

    # ---- the inbox ---------------------------------------------------------------

    def test_inbox_unread_first_filters_and_reading(self):
        u = self.user(phone=False, email=True)
        self.event("payout.processed", {"id": "p1", "user_id": u["id"], "amount_paise": 100})
        self.event("order.status_changed", self.order(u, number="MND-A"))
        self.event("order.status_changed", self.order(u, number="MND-B", status="DELIVERED"))
        inbox = self.inbox(u)
        self.assertEqual((inbox["unread_count"], inbox["pagination"]["total"]), (3, 3))
        newest = inbox["items"][0]
        self.assertEqual(newest["event"], "order.delivered")
        r = self.c.put("/api/notifications/%s/read" % newest["id"], token=u["token"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["read"], r.data["unread_count"]), (True, 2))
        first_read = r.data["read_at"]
        r = self.c.put("/api/notifications/%s/read" % newest["id"], token=u["token"])
        self.assertEqual((r.data["read_at"], r.data["unread_count"]), (first_read, 2))
        # Unread first: the one just read goes last.
        inbox = self.inbox(u)
        self.assertEqual([n["read"] for n in inbox["items"]], [False, False, True])
        self.assertEqual(inbox["items"][-1]["id"], newest["id"])
        earning = self.inbox(u, "?category=earning")
        self.assertEqual([n["event"] for n in earning["items"]], ["payout.processed"])
        self.assertEqual(earning["unread_count"], 2)
        self.assertEqual(self.inbox(u, "?unread=false")["pagination"]["total"], 1)
        page = self.inbox(u, "?limit=1&page=2")
        self.assertEqual((len(page["items"]), page["pagination"]["pages"]), (1, 3))
        # Someone else's notification is not there for them.
        other = self.user()
        r = self.c.put("/api/notifications/%s/read" % inbox["items"][0]["id"],
                       token=other["token"])
        self.assertError(r, 404, "NOTIFICATION_NOT_FOUND")
        r = self.c.put("/api/notifications/read-all", token=u["token"])
        self.assertEqual((r.status, r.data), (200, {"marked_read": 2, "unread_count": 0}), r)
        self.assertEqual(self.inbox(u)["unread_count"], 0)

    def test_inbox_bad_input(self):
        u = self.user()
        self.assertError(self.c.get("/api/notifications?category=spam", token=u["token"]), 400,
                         "VALIDATION_ERROR", "category")
        self.assertError(self.c.get("/api/notifications?unread=yes", token=u["token"]), 400,
                         "VALIDATION_ERROR", "unread")
        self.assertError(self.c.get("/api/notifications?limit=0", token=u["token"]), 400,
                         "VALIDATION_ERROR", "limit")
        self.assertError(self.c.put("/api/notifications/not-a-uuid/read", token=u["token"]),
                         400, "VALIDATION_ERROR", "id")
        self.assertError(self.c.get("/api/notifications"), 401, "AUTH_REQUIRED")
        self.assertError(self.c.put("/api/notifications/read-all"), 401, "AUTH_REQUIRED")

    # ---- devices -----------------------------------------------------------------

    def test_devices_register_move_and_unregister(self):
        a, b = self.user(), self.user()
        token = self.device(a, platform="ios")
        rows = self.rows("SELECT user_id, platform FROM device_tokens WHERE token = '%s'" % token)
        self.assertEqual(rows, [{"user_id": a["id"], "platform": "ios"}])
        # The same device signed in by b is b's now.
        self.device(b, token=token, platform="android")
        rows = self.rows("SELECT user_id, platform FROM device_tokens WHERE token = '%s'" % token)
        self.assertEqual(rows, [{"user_id": b["id"], "platform": "android"}])
        # a cannot remove b's device; b can.
        r = self.c.post("/api/notifications/unregister-token", {"token": token},
                        token=a["token"])
        self.assertEqual((r.status, r.data["registered"]), (200, False), r)
        self.assertEqual(len(self.rows("SELECT 1 FROM device_tokens WHERE token = '%s'"
                                       % token)), 1)
        r = self.c.post("/api/notifications/unregister-token", {"token": token},
                        token=b["token"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.rows("SELECT 1 FROM device_tokens WHERE token = '%s'" % token), [])

    def test_devices_bad_input(self):
        u = self.user()
        path = "/api/notifications/register-token"
        for body, field in (({"platform": "ios"}, "token"),
                            ({"token": "", "platform": "ios"}, "token"),
                            ({"token": "has space", "platform": "ios"}, "token"),
                            ({"token": "x" * 4097, "platform": "ios"}, "token"),
                            ({"token": 42, "platform": "ios"}, "token"),
                            ({"token": "abc"}, "platform"),
                            ({"token": "abc", "platform": "symbian"}, "platform")):
            self.assertError(self.c.post(path, body, token=u["token"]), 400, "VALIDATION_ERROR",
                             field)
        self.assertError(self.c.post(path, ["token"], token=u["token"]), 400, "VALIDATION_ERROR",
                         "body")
        self.assertError(self.c.post("/api/notifications/unregister-token", {},
                                     token=u["token"]), 400, "VALIDATION_ERROR", "token")
        self.assertError(self.c.post(path, {"token": "abc", "platform": "ios"}), 401,
                         "AUTH_REQUIRED")

    # ---- admins' send-outs -------------------------------------------------------

    def test_send_to_zone_is_a_job_with_progress(self):
        users = [self.user() for _ in range(5)]
        self.user(zones=["elsewhere-" + self.zone])
        r = self.c.post("/api/notifications/send-to-zone",
                        {"zone": self.zone, "title": "Diwali", "body": "Shops open late",
                         "channels": ["in_app", "sms"]},
                        token=self.admin, headers={"Prefer": "respond-async"})
        self.assertEqual(r.status, 202, r)
        job = self.stack.wait_job(r.data["job_id"], token=self.admin)
        self.assertEqual(job["status"], "succeeded", job)
        self.assertEqual(job["progress"], 100)
        self.assertEqual(job["result"], {"recipients": 5, "in_app": 5, "deliveries": 5,
                                         "held": 0})
        for u in users:
            items = self.inbox(u)["items"]
            self.assertEqual([(n["title"], n["body"], n["category"]) for n in items],
                             [("Diwali", "Shops open late", "general")])
            self.stack.wait_sms(u["phone"])

    def test_send_to_user_and_to_admins(self):
        u = self.user()
        r = self.c.post("/api/notifications/send-to-user",
                        {"user_id": u["id"], "title": "Hello", "body": "Welcome to mandi",
                         "category": "promotional"}, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["recipients"], 1)
        self.assertEqual(self.inbox(u)["items"][0]["category"], "promotional")
        r = self.c.post("/api/notifications/send-to-user",
                        {"user_id": str(uuid.uuid4()), "title": "x", "body": "y"},
                        token=self.admin)
        self.assertError(r, 404, "USER_NOT_FOUND")
        admin = self.user(role="ADMIN")
        r = self.c.post("/api/notifications/send-to-admins",
                        {"title": "Ops", "body": "Queue is long"}, token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(r.data["recipients"], 1)
        self.assertEqual(self.inbox(admin)["items"][0]["title"], "Ops")
        self.assertEqual(self.inbox(u)["pagination"]["total"], 1)

    def test_send_outs_bad_input_and_roles(self):
        path = "/api/notifications/send-to-zone"
        good = {"zone": self.zone, "title": "t", "body": "b"}
        for change, field in (({"zone": None}, "zone"), ({"zone": ""}, "zone"),
                              ({"title": ""}, "title"), ({"title": "x" * 201}, "title"),
                              ({"body": None}, "body"), ({"category": "spam"}, "category"),
                              ({"channels": []}, "channels"), ({"channels": "sms"}, "channels"),
                              ({"channels": ["sms", "fax"]}, "channels"),
                              ({"channels": ["sms", "sms"]}, "channels")):
            body = dict(good, **change)
            if change.get("zone", "") is None or change.get("body", "") is None:
                body = {k: v for k, v in body.items() if v is not None}
            self.assertError(self.c.post(path, body, token=self.admin), 400, "VALIDATION_ERROR",
                             field)
        self.assertError(self.c.post("/api/notifications/send-to-user", {"title": "t",
                                                                          "body": "b"},
                                     token=self.admin), 400, "VALIDATION_ERROR", "user_id")
        user = self.user()
        for p in (path, "/api/notifications/send-to-user", "/api/notifications/send-to-admins"):
            self.assertError(self.c.post(p, good, token=user["token"]), 403, "FORBIDDEN")
            self.assertError(self.c.post(p, good), 401, "AUTH_REQUIRED")
        merchant = self.stack.token(str(uuid.uuid4()), "MERCHANT")
        self.assertError(self.c.get("/api/admin/notifications/failed", token=merchant), 403,
                         "FORBIDDEN")
        self.assertError(self.c.post("/api/admin/notifications/failed/%s/retry" % uuid.uuid4(),
                                     token=user["token"]), 403, "FORBIDDEN")

    def test_every_notifications_row_of_the_authorization_table(self):
        """Each protected route with each role: 403 FORBIDDEN from the front,
        or served (whatever the pool then says); 401 without a token."""
        roles = ("USER", "MERCHANT", "MODERATOR", "FINANCE", "LOCATION_ADMIN", "ADMIN",
                 "SUPER_ADMIN")
        admins = {"ADMIN", "SUPER_ADMIN"}
        nobody = str(uuid.uuid4())
        quiet_zone = "nobody-" + self.zone
        table = [
            ("POST", "/api/notifications/send-to-user",
             {"user_id": nobody, "title": "t", "body": "b"}, admins),
            ("POST", "/api/notifications/send-to-zone",
             {"zone": quiet_zone, "title": "t", "body": "b"}, admins),
            ("GET", "/api/admin/notifications/failed", None, admins),
            ("POST", "/api/admin/notifications/failed/%s/retry" % nobody, None, admins),
            ("POST", "/api/announcements", {"title": "t", "body": "b", "zone": quiet_zone},
             admins),
            ("GET", "/api/admin/webhooks", None, admins),
            ("DELETE", "/api/admin/webhooks/%s" % nobody, None, admins),
            ("GET", "/api/admin/webhooks/%s/deliveries" % nobody, None, admins),
            ("GET", "/api/notifications", None, set(roles)),
            ("GET", "/api/announcements", None, set(roles)),
        ]
        for method, path, body, allowed in table:
            for role in roles:
                with self.subTest(path=path, role=role):
                    token = self.stack.token(str(uuid.uuid4()), role)
                    r = self.c.request(method, path, body, token=token)
                    if role in allowed:
                        self.assertIn(r.status, (200, 201, 404), r)
                    else:
                        self.assertError(r, 403, "FORBIDDEN")
            self.assertError(self.c.request(method, path, body), 401, "AUTH_REQUIRED")

    # ---- announcements -------------------------------------------------------------

    def test_announcements(self):
        r = self.c.post("/api/announcements", {"title": "Everyone", "body": "Hello all"},
                        token=self.admin)
        self.assertEqual(r.status, 201, r)
        everyone = r.data
        self.assertEqual((everyone["zone"], everyone["created_by"]), (None, self.admin_id))
        r = self.c.post("/api/announcements", {"title": "Zone", "body": "Line 1\nLine 2",
                                               "zone": self.zone}, token=self.admin)
        self.assertEqual(r.status, 201, r)
        zoned = r.data
        inside, outside = self.user(), self.user(zones=[])
        ids = [a["id"] for a in self.c.get("/api/announcements?limit=100",
                                           token=inside["token"]).data["items"]]
        self.assertLess(ids.index(zoned["id"]), ids.index(everyone["id"]))  # newest first
        r = self.c.get("/api/announcements?limit=100", token=outside["token"])
        ids = [a["id"] for a in r.data["items"]]
        self.assertIn(everyone["id"], ids)
        self.assertNotIn(zoned["id"], ids)
        for body, field in (({"body": "b"}, "title"), ({"title": "t"}, "body"),
                            ({"title": "t", "body": "b", "zone": ""}, "zone"),
                            ({"title": "t", "body": "x" * 5001}, "body")):
            self.assertError(self.c.post("/api/announcements", body, token=self.admin), 400,
                             "VALIDATION_ERROR", field)
        self.assertError(self.c.post("/api/announcements", {"title": "t", "body": "b"},
                                     token=inside["token"]), 403, "FORBIDDEN")
        self.assertError(self.c.get("/api/announcements"), 401, "AUTH_REQUIRED")


if __name__ == "__main__":
    unittest.main()
