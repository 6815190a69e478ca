"""
The caller's own account through the whole stack: reading and changing the
profile (PUT /api/users/me), preferences, and deactivation.

Every refused change is followed by a read showing that nothing changed.
Users are made through the API with unique emails and phones (PostgreSQL and
Redis are shared by every test); each test has its own client address.
"""

import datetime
import re
import unittest

from harness import Client, Stack, StackTestCase, unique_email, unique_phone, wait_for

PASSWORD = "profile pass 42"
DEFAULT_PREFERENCES = {"language": "en", "theme": "system",
                       "notifications": {"sms": True, "email": True, "push": True,
                                         "marketing": False},
                       # The service's quiet hours (MANDI_QUIET_HOURS_*) until set.
                       "quiet_hours": {"start": "22:00", "end": "08:00"}}


class Profile(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1, "notifications": 1}, name="profile",
                          env={"MANDI_OTP_RESEND_S": "0"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)

    # ---- helpers -----------------------------------------------------------

    def new_user(self, phone=None, name="Profile User"):
        """Registers a user; returns (user, access token, email)."""
        body = {"name": name, "email": unique_email("profile"), "password": PASSWORD}
        if phone:
            body["phone"] = phone
        r = self.c.post("/api/auth/register", body)
        self.assertEqual(r.status, 201, r)
        return r.data["user"], r.data["tokens"]["access_token"], body["email"]

    def me(self, token):
        r = self.c.get("/api/users/me", token=token)
        self.assertEqual(r.status, 200, r)
        return r.data

    def put_me(self, token, body):
        return self.c.put("/api/users/me", body, token=token)

    def preferences(self, token):
        r = self.c.get("/api/users/me/preferences", token=token)
        self.assertEqual(r.status, 200, r)
        return r.data

    # ---- profile -----------------------------------------------------------

    def test_update_every_field(self):
        user, token, _ = self.new_user()
        email = unique_email("Changed")
        change = {"name": "Meera Iyer", "email": email,
                  "avatar_url": "https://cdn.example.com/a/meera.png",
                  "date_of_birth": "1990-04-15", "gender": "female"}
        r = self.put_me(token, change)
        self.assertEqual(r.status, 200, r)
        d = r.data
        self.assertEqual(d["id"], user["id"])
        self.assertEqual(d["name"], "Meera Iyer")
        self.assertEqual(d["email"], email.lower())
        self.assertEqual(d["avatar_url"], change["avatar_url"])
        self.assertEqual(d["date_of_birth"], "1990-04-15")
        self.assertEqual(d["gender"], "female")
        self.assertGreaterEqual(d["updated_at"], user["updated_at"])
        self.assertEqual(d["created_at"], user["created_at"])
        self.assertEqual(self.me(token), d)
        # The new email is the one to log in with.
        r = self.c.post("/api/auth/login", {"email": email.lower(), "password": PASSWORD})
        self.assertEqual(r.status, 200, r)

    def test_partial_update_keeps_the_rest(self):
        user, token, email = self.new_user(name="Before")
        self.assertEqual(self.put_me(token, {"gender": "other"}).status, 200)
        r = self.put_me(token, {"name": "After"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["name"], "After")
        self.assertEqual(r.data["gender"], "other")
        self.assertEqual(r.data["email"], email)

    def test_unknown_fields_are_ignored(self):
        user, token, _ = self.new_user()
        r = self.put_me(token, {"name": "Still User", "role": "SUPER_ADMIN", "tier": "gold",
                                "status": "suspended", "kyc_status": "approved",
                                "zones": ["z1"], "id": "00000000-0000-4000-8000-000000000000",
                                "password": "sneaky password", "favourite_colour": "red"})
        self.assertEqual(r.status, 200, r)
        me = self.me(token)
        self.assertEqual(me["name"], "Still User")
        self.assertEqual((me["id"], me["role"], me["tier"], me["status"], me["kyc_status"],
                          me["zones"]),
                         (user["id"], "USER", "basic", "active", "pending", []))
        r = self.c.post("/api/auth/login", {"email": user["email"], "password": PASSWORD})
        self.assertEqual(r.status, 200, r)

    def test_null_clears_optional_fields(self):
        _, token, _ = self.new_user()
        self.assertEqual(self.put_me(token, {"avatar_url": "http://example.com/x.jpg",
                                             "date_of_birth": "2000-01-31",
                                             "gender": "male"}).status, 200)
        r = self.put_me(token, {"avatar_url": None, "date_of_birth": None, "gender": None})
        self.assertEqual(r.status, 200, r)
        me = self.me(token)
        self.assertEqual((me["avatar_url"], me["date_of_birth"], me["gender"]),
                         (None, None, None))

    def test_boundaries_accepted(self):
        _, token, _ = self.new_user()
        url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
        for change in ({"name": "N"}, {"name": "n" * 100}, {"date_of_birth": "1900-01-01"},
                       {"avatar_url": url}, {"gender": "undisclosed"}):
            with self.subTest(field=list(change)[0], value=str(list(change.values())[0])[:30]):
                r = self.put_me(token, change)
                self.assertEqual(r.status, 200, r)
                for k, v in change.items():
                    self.assertEqual(self.me(token)[k], v)

    def test_bad_fields_are_refused_and_change_nothing(self):
        _, token, _ = self.new_user()
        good = {"name": "Kept Name", "avatar_url": "https://example.com/kept.png",
                "date_of_birth": "1985-06-30", "gender": "male"}
        self.assertEqual(self.put_me(token, good).status, 200)
        before = self.me(token)
        tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
        cases = [
            ("name", ""), ("name", "n" * 101), ("name", None), ("name", 12), ("name", ["x"]),
            ("email", None), ("email", "nope"), ("email", "a@b"), ("email", "x" * 10000 + "@example.com"),
            ("email", 5),
            ("avatar_url", "ftp://example.com/a.png"), ("avatar_url", "javascript:alert(1)"),
            ("avatar_url", "example.com/a.png"), ("avatar_url", "https://example.com/" + "a" * 2029),
            ("avatar_url", 7),
            ("date_of_birth", "1899-12-31"), ("date_of_birth", tomorrow),
            ("date_of_birth", "2000-13-01"), ("date_of_birth", "2001-02-29"),
            ("date_of_birth", "15-04-1990"), ("date_of_birth", "1990-4-15"),
            ("date_of_birth", 19900415),
            ("gender", "robot"), ("gender", "Male"), ("gender", ""), ("gender", 1),
        ]
        for field, value in cases:
            with self.subTest(field=field, value=str(value)[:40]):
                before = self.me(token)  # one failure must not hide the others
                # A good change rides along: it must not be applied either.
                r = self.put_me(token, {"name": "Changed Name", field: value}
                                if field != "name" else {"gender": "female", field: value})
                self.assertError(r, 400, "VALIDATION_ERROR", field)
                self.assertEqual(self.me(token), before)

    def test_body_must_be_an_object(self):
        _, token, _ = self.new_user()
        before = self.me(token)
        for body in ([{"name": "x"}], "name", 3, None):
            with self.subTest(body=body):
                self.assertError(self.put_me(token, body), 400, "VALIDATION_ERROR", "body")
        self.assertEqual(self.me(token), before)

    def test_email_taken(self):
        _, _, other_email = self.new_user()
        _, token, email = self.new_user()
        r = self.put_me(token, {"email": other_email.upper(), "name": "Not Applied"})
        self.assertError(r, 409, "EMAIL_TAKEN")
        me = self.me(token)
        self.assertEqual((me["email"], me["name"]), (email, "Profile User"))
        # Keeping one's own email is no conflict.
        self.assertEqual(self.put_me(token, {"email": email}).status, 200)

    def test_profile_needs_a_token(self):
        self.assertError(self.c.get("/api/users/me"), 401, "AUTH_REQUIRED")
        self.assertError(self.c.put("/api/users/me", {"name": "x"}), 401, "AUTH_REQUIRED")
        self.assertError(self.c.get("/api/users/me/preferences"), 401, "AUTH_REQUIRED")
        self.assertError(self.c.delete("/api/users/me"), 401, "AUTH_REQUIRED")

    # ---- preferences -------------------------------------------------------

    def test_preferences_default_and_merge(self):
        _, token, _ = self.new_user()
        self.assertEqual(self.preferences(token), DEFAULT_PREFERENCES)
        r = self.c.put("/api/users/me/preferences", {"theme": "dark"}, token=token)
        self.assertEqual(r.status, 200, r)
        want = dict(DEFAULT_PREFERENCES, theme="dark")
        self.assertEqual(r.data, want)
        r = self.c.put("/api/users/me/preferences",
                       {"language": "ta", "notifications": {"marketing": True, "sms": False}},
                       token=token)
        self.assertEqual(r.status, 200, r)
        want = {"language": "ta", "theme": "dark",
                "notifications": {"sms": False, "email": True, "push": True, "marketing": True},
                "quiet_hours": {"start": "22:00", "end": "08:00"}}
        self.assertEqual(r.data, want)
        self.assertEqual(self.preferences(token), want)
        r = self.c.put("/api/users/me/preferences", {}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data, want)
        for lang in ("en", "hi", "ta", "te", "kn", "ml", "mr", "bn", "gu", "pa"):
            r = self.c.put("/api/users/me/preferences", {"language": lang}, token=token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data["language"], lang)
        for theme in ("light", "dark", "system"):
            r = self.c.put("/api/users/me/preferences", {"theme": theme}, token=token)
            self.assertEqual(r.data["theme"], theme)
        for start, end in (("23:30", "06:45"), ("00:00", "00:00"), ("13:00", "14:59")):
            r = self.c.put("/api/users/me/preferences",
                           {"quiet_hours": {"start": start, "end": end}}, token=token)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data["quiet_hours"], {"start": start, "end": end})
            self.assertEqual(self.preferences(token)["quiet_hours"], {"start": start, "end": end})

    def test_bad_preferences_change_nothing(self):
        _, token, _ = self.new_user()
        self.assertEqual(self.c.put("/api/users/me/preferences", {"theme": "light"},
                                    token=token).status, 200)
        before = self.preferences(token)
        cases = [
            ({"language": "fr"}, "language"), ({"language": "EN"}, "language"),
            ({"language": None}, "language"), ({"language": "x" * 5000}, "language"),
            ({"theme": "blue"}, "theme"), ({"theme": 1}, "theme"),
            ({"notifications": {"sms": "yes"}}, "notifications.sms"),
            ({"notifications": {"email": 1}}, "notifications.email"),
            ({"notifications": {"push": None}}, "notifications.push"),
            ({"notifications": {"marketing": "false"}}, "notifications.marketing"),
            ({"notifications": True}, "notifications"),
            ({"notifications": [True]}, "notifications"),
            ({"quiet_hours": None}, "quiet_hours"), ({"quiet_hours": "22:00"}, "quiet_hours"),
            ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
            ({"quiet_hours": {"end": "08:00"}}, "quiet_hours.start"),
            ({"quiet_hours": {"start": "24:00", "end": "08:00"}}, "quiet_hours.start"),
            ({"quiet_hours": {"start": "22:60", "end": "08:00"}}, "quiet_hours.start"),
            ({"quiet_hours": {"start": "9:00", "end": "08:00"}}, "quiet_hours.start"),
            ({"quiet_hours": {"start": "22:00", "end": 800}}, "quiet_hours.end"),
            ({"quiet_hours": {"start": "22:00", "end": "08:00:00"}}, "quiet_hours.end"),
        ]
        for body, field in cases:
            with self.subTest(field=field, body=str(body)[:40]):
                before = self.preferences(token)  # one failure must not hide the others
                # A good value rides along: it must not be applied either.
                body = dict(body, theme="dark") if "theme" not in body else \
                    dict(body, language="hi")
                r = self.c.put("/api/users/me/preferences", body, token=token)
                self.assertError(r, 400, "VALIDATION_ERROR", field)
                self.assertEqual(self.preferences(token), before)
        for body in (["theme"], "dark", None):
            with self.subTest(body=body):
                r = self.c.put("/api/users/me/preferences", body, token=token)
                self.assertError(r, 400, "VALIDATION_ERROR", "body")
        self.assertEqual(self.preferences(token), before)

    # ---- deactivation ------------------------------------------------------

    def test_deactivate(self):
        phone = unique_phone()
        user, token, email = self.new_user(phone=phone)
        r = self.c.delete("/api/users/me", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data, {"status": "deactivated"})
        r = wait_for(lambda: (lambda r: r if r.code == "TOKEN_REVOKED" else None)(
            self.c.get("/api/users/me", token=token)), 2, "the token to be revoked",
            interval=0.05)
        self.assertError(r, 401, "TOKEN_REVOKED")
        self.assertEqual(self.stack.psql("SELECT status FROM users WHERE id = '%s'" % user["id"]),
                         "deactivated")
        # No way back in: password ...
        r = self.c.post("/api/auth/login", {"email": email, "password": PASSWORD})
        self.assertError(r, 403, "ACCOUNT_DEACTIVATED")
        self.assertNotIn("tokens", r.raw.decode())
        # ... nor OTP (refused when the code is asked for or when it is used).
        before = len(self.stack.sms_messages(phone))
        r = self.c.post("/api/auth/send-otp", {"phone": phone})
        if r.status == 200:
            msg = self.stack.wait_sms(phone, before + 1)[-1]
            code = re.search(r"\b(\d{6})\b", msg["body"]).group(1)
            r = self.c.post("/api/auth/verify-otp", {"phone": phone, "otp": code})
        self.assertError(r, 403, "ACCOUNT_DEACTIVATED")
        self.assertNotIn("tokens", r.raw.decode())
        # Nor is a new account made for the phone or the email.
        self.assertEqual(self.stack.psql("SELECT count(*) FROM users WHERE phone = '%s' OR "
                                         "email = '%s'" % (phone, email)), "1")


if __name__ == "__main__":
    unittest.main()
