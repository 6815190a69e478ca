"""
Sign-in through the whole stack: OTP by SMS, registration and password
login, refresh-token rotation and reuse detection, logout, password reset,
and the front's token checks; and the notifications pool's delivery jobs
that carry the codes.

PostgreSQL and Redis are shared by every test (and by both builds of a
scripts/test run): each test uses its own phone numbers, emails and client
address (X-Forwarded-For), so counters and rows never meet.

Stacks run one at a time (one per class): the front's recovery sweep sends
any queued job in the shared table, so a second stack alive at the same time
could deliver another stack's SMS into its own directory.
"""

import base64
import datetime
import json
import re
import time
import unittest
import uuid

from harness import (RESET_TOKEN_IN_EMAIL, Client, Stack, StackTestCase, jwt_parts, unique_email,
                     unique_phone, wait_for)

PASSWORD = "correct horse 42"
USER_KEYS = {"id", "phone", "email", "name", "role", "zones", "status", "tier", "kyc_status",
             "avatar_url", "date_of_birth", "gender", "last_login_at", "created_at",
             "updated_at"}
JTI = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.[^.]+$")
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse_ts(text):
    return datetime.datetime.strptime(text, TS_FORMAT)


def wrong_code(code):
    return "%06d" % ((int(code) + 1) % 1000000)


class AccountsTestCase(StackTestCase):
    """Assertions and flows shared by the accounts test classes."""

    def client(self, ip=None):
        return Client(self.stack, ip)

    def assertRetryAfter(self, r, low, high):
        value = r.headers.get("Retry-After")
        self.assertIsNotNone(value, "%r has no Retry-After" % r)
        self.assertTrue(value.isdigit() and low <= int(value) <= high,
                        "Retry-After %r not in %d..%d" % (value, low, high))

    def assertUser(self, user):
        self.assertEqual(set(user), USER_KEYS, user)
        uuid.UUID(user["id"])
        self.assertIsInstance(user["zones"], list)
        for key in ("created_at", "updated_at"):
            parse_ts(user[key])

    def assertTokens(self, tokens, user):
        """A token pair for user, with an access token as the spec shapes it;
        returns the access token's family id."""
        self.assertEqual(tokens["token_type"], "Bearer")
        self.assertEqual(tokens["expires_in"], 3600)
        self.assertTrue(tokens["refresh_token"])
        header, claims = jwt_parts(tokens["access_token"])
        self.assertEqual(header["alg"], "HS256")
        self.assertEqual(claims["sub"], user["id"])
        self.assertEqual(claims["role"], user["role"])
        self.assertEqual(claims["zones"], user["zones"])
        self.assertEqual(claims["exp"] - claims["iat"], 3600)
        self.assertLess(abs(claims["iat"] - time.time()), 60)
        m = JTI.match(claims["jti"])
        self.assertIsNotNone(m, "jti %r is not <family uuid>.<random>" % claims["jti"])
        return m.group(1)

    def send_otp(self, client, phone):
        """Sends an OTP and returns the code from the SMS."""
        before = len(self.stack.sms_messages(phone))
        r = client.post("/api/auth/send-otp", {"phone": phone})
        self.assertEqual(r.status, 200, r)
        return self.stack.wait_otp(phone, before + 1)

    def otp_login(self, client, phone):
        """send-otp + verify-otp; returns the verify answer's data."""
        code = self.send_otp(client, phone)
        r = client.post("/api/auth/verify-otp", {"phone": phone, "otp": code})
        self.assertEqual(r.status, 200, r)
        return r.data

    def register(self, client, email=None, password=PASSWORD, name="Test User", phone=None):
        body = {"name": name, "email": email or unique_email(), "password": password}
        if phone is not None:
            body["phone"] = phone
        r = client.post("/api/auth/register", body)
        self.assertEqual(r.status, 201, r)
        return r.data

    def login(self, client, email, password=PASSWORD):
        r = client.post("/api/auth/login", {"email": email, "password": password})
        self.assertEqual(r.status, 200, r)
        return r.data

    def me(self, client, token):
        return client.get("/api/auth/me", token=token)

    def wait_code(self, request, code, timeout=2.0):
        """Polls request() until it answers with error code `code`."""
        return wait_for(lambda: (lambda r: r if r.code == code else None)(request()), timeout,
                        "answer %s" % code, interval=0.05)

    def user_count(self, where, *values):
        return int(self.stack.psql("SELECT count(*) FROM users WHERE " + where % tuple(
            "'%s'" % v.replace("'", "''") for v in values)))


class Auth(AccountsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1, "notifications": 1}, name="auth").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    # ---- send-otp ----------------------------------------------------------

    def test_send_otp_delivers_a_code_by_sms(self):
        c = self.client()
        for given in ("+91-%s", "+91%s"):
            with self.subTest(form=given):
                phone = unique_phone()
                t0 = datetime.datetime.utcnow()
                r = c.post("/api/auth/send-otp", {"phone": given % phone[3:]})
                self.assertEqual(r.status, 200, r)
                self.assertIs(r.body["success"], True)
                self.assertEqual(r.data, {"expires_in": 300})
                msg = self.stack.wait_sms(phone)[0]
                self.assertEqual(set(msg), {"channel", "to", "template", "body", "job_id",
                                            "created_at"}, msg)
                self.assertEqual(msg["channel"], "sms")
                self.assertEqual(msg["to"], phone)
                self.assertEqual(msg["template"], "otp")
                code = re.search(r"\b(\d{6})\b", msg["body"]).group(1)
                self.assertNotIn(code.encode(), r.raw)
                created = parse_ts(msg["created_at"])
                self.assertLess(abs((created - t0).total_seconds()), 10, msg)
                # The delivery job finished and its envelope (with the code)
                # was emptied.
                row = self.stack.wait_row(msg["job_id"], ("succeeded",), timeout=5)
                self.assertEqual(row["http_status"], 200)
                self.assertEqual(self.stack.job_envelope_size(msg["job_id"]), 0)
                job = self.stack.wait_job(msg["job_id"])
                self.assertEqual((job["service"], job["type"]),
                                 ("notifications", "notify.send_sms"))
                self.assertEqual(job["result"], {"delivered": True, "provider": "file",
                                                 "channel": "sms"})
                # The message (and so the code) is in no log.
                for name, text in self.stack.all_logs().items():
                    self.assertNotIn(msg["body"], text, "%s logs the OTP message" % name)

    def test_send_otp_refuses_bad_phones(self):
        c = self.client()
        phone = unique_phone()
        bad = ["12345", phone[3:], "+91-5" + phone[4:], "+91" + phone[3:-1],
               phone + "0", "+92" + phone[3:], "+91 " + phone[3:], int(phone[1:]), None, ""]
        for value in bad:
            with self.subTest(phone=value):
                self.assertError(c.post("/api/auth/send-otp", {"phone": value}), 400,
                                 "VALIDATION_ERROR", "phone")
        self.assertError(c.post("/api/auth/send-otp", {}), 400, "VALIDATION_ERROR", "phone")
        for body in ([phone], "text", 7, None):
            with self.subTest(body=body):
                self.assertError(c.post("/api/auth/send-otp", body), 400, "VALIDATION_ERROR",
                                 "body")
        # None of them sent anything, and the phone is not held back.
        time.sleep(1.5)
        self.assertEqual(self.stack.sms_messages(phone), [])
        self.assertEqual(c.post("/api/auth/send-otp", {"phone": phone}).status, 200)

    def test_second_send_within_30_s_is_too_soon(self):
        c = self.client()
        phone = unique_phone()
        self.assertEqual(c.post("/api/auth/send-otp", {"phone": phone}).status, 200)
        r = c.post("/api/auth/send-otp", {"phone": "+91-" + phone[3:]})
        self.assertError(r, 429, "OTP_TOO_SOON")
        self.assertRetryAfter(r, 1, 30)
        # Another client address changes nothing: the limit is the phone's.
        r = self.client().post("/api/auth/send-otp", {"phone": phone})
        self.assertError(r, 429, "OTP_TOO_SOON")
        self.stack.wait_sms(phone)
        time.sleep(1.5)
        self.assertEqual(len(self.stack.sms_messages(phone)), 1)

    # ---- verify-otp --------------------------------------------------------

    def test_verify_otp_creates_a_user(self):
        c = self.client()
        phone = unique_phone()
        code = self.send_otp(c, phone)
        r = c.post("/api/auth/verify-otp", {"phone": "+91-" + phone[3:], "otp": code})
        self.assertEqual(r.status, 200, r)
        d = r.data
        self.assertIs(d["is_new_user"], True)
        user = d["user"]
        self.assertUser(user)
        self.assertEqual(user["phone"], phone)
        self.assertIsNone(user["email"])
        self.assertEqual((user["role"], user["tier"], user["kyc_status"], user["status"]),
                         ("USER", "basic", "pending", "active"))
        self.assertEqual(user["zones"], [])
        self.assertIsNotNone(user["last_login_at"])
        parse_ts(user["last_login_at"])
        self.assertNotIn(b"password", r.raw)
        self.assertTokens(d["tokens"], user)
        me = self.me(c, d["tokens"]["access_token"])
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.data["id"], user["id"])
        self.assertEqual(self.user_count("phone = %s", phone), 1)

    def test_a_code_works_once(self):
        c = self.client()
        phone = unique_phone()
        code = self.send_otp(c, phone)
        self.assertEqual(c.post("/api/auth/verify-otp", {"phone": phone, "otp": code}).status,
                         200)
        r = c.post("/api/auth/verify-otp", {"phone": phone, "otp": code})
        self.assertError(r, 401, "OTP_EXPIRED")

    def test_wrong_codes_count_down_then_burn_the_code(self):
        c = self.client()
        phone = unique_phone()
        code = self.send_otp(c, phone)
        bad = wrong_code(code)
        for left in (4, 3, 2, 1):
            r = c.post("/api/auth/verify-otp", {"phone": phone, "otp": bad})
            self.assertError(r, 401, "OTP_INVALID")
            self.assertEqual(r.error["details"], {"attempts_left": left}, r)
        # The fifth wrong try uses the last attempt.
        r = c.post("/api/auth/verify-otp", {"phone": phone, "otp": bad})
        self.assertError(r, 401, "OTP_INVALID")
        self.assertEqual(r.error["details"], {"attempts_left": 0}, r)
        # Now even the right code is refused, and no user was made.
        self.assertError(c.post("/api/auth/verify-otp", {"phone": phone, "otp": code}), 401,
                         "OTP_EXPIRED")
        self.assertEqual(self.user_count("phone = %s", phone), 0)

    def test_verify_without_a_live_code(self):
        c = self.client()
        phone = unique_phone()
        self.assertError(c.post("/api/auth/verify-otp", {"phone": phone, "otp": "123456"}),
                         401, "OTP_EXPIRED")
        self.assertEqual(self.user_count("phone = %s", phone), 0)

    def test_verify_otp_refuses_bad_input(self):
        c = self.client()
        phone = unique_phone()
        for otp in ("12345", "1234567", "abcdef", "12 456", 123456, None, ""):
            with self.subTest(otp=otp):
                self.assertError(c.post("/api/auth/verify-otp", {"phone": phone, "otp": otp}),
                                 400, "VALIDATION_ERROR", "otp")
        self.assertError(c.post("/api/auth/verify-otp", {"phone": phone}), 400,
                         "VALIDATION_ERROR", "otp")
        self.assertError(c.post("/api/auth/verify-otp", {"phone": "98765", "otp": "123456"}),
                         400, "VALIDATION_ERROR", "phone")
        self.assertError(c.post("/api/auth/verify-otp", [phone, "123456"]), 400,
                         "VALIDATION_ERROR", "body")

    # ---- register and login --------------------------------------------------

    def test_register_then_login(self):
        c = self.client()
        local = "Mixed.Case-" + uuid.uuid4().hex
        phone = unique_phone()
        d = self.register(c, email=local + "@Example.COM", name="Asha Rao", phone=phone)
        user = d["user"]
        self.assertUser(user)
        self.assertEqual(user["email"], local.lower() + "@example.com")
        self.assertEqual(user["name"], "Asha Rao")
        self.assertEqual(user["phone"], phone)
        self.assertEqual((user["role"], user["tier"], user["kyc_status"], user["status"]),
                         ("USER", "basic", "pending", "active"))
        self.assertTokens(d["tokens"], user)
        self.assertEqual(self.me(c, d["tokens"]["access_token"]).data["id"], user["id"])
        stored = self.stack.psql("SELECT password_hash FROM users WHERE id = '%s'" % user["id"])
        self.assertTrue(stored.startswith("$argon2id$"), "password stored as %r" % stored[:12])

        logged = self.login(c, user["email"])
        self.assertEqual(logged["user"]["id"], user["id"])
        self.assertNotEqual(logged["tokens"]["refresh_token"], d["tokens"]["refresh_token"])
        family = self.assertTokens(logged["tokens"], logged["user"])
        self.assertNotEqual(family, self.assertTokens(d["tokens"], user),
                            "a login starts a new token family")
        self.assertIsNotNone(logged["user"]["last_login_at"])
        me = self.me(c, logged["tokens"]["access_token"])
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.data["last_login_at"], logged["user"]["last_login_at"])

    def test_register_boundaries(self):
        c = self.client()
        d = self.register(c, password="p" * 8, name="n" * 100)
        self.assertEqual(d["user"]["name"], "n" * 100)
        self.login(c, d["user"]["email"], "p" * 8)
        d = self.register(c, password="q" * 128, name="N")
        self.login(c, d["user"]["email"], "q" * 128)

    def test_register_refuses_bad_input_and_changes_nothing(self):
        c = self.client()
        emails = []

        def body(**over):
            b = {"name": "Bad Input", "email": unique_email("bad"), "password": PASSWORD}
            b.update(over)
            b = {k: v for k, v in b.items() if v is not ...}
            if isinstance(b.get("email"), str):
                emails.append(b["email"].lower())
            return b

        cases = [
            (body(name=...), "name"), (body(name=""), "name"), (body(name="n" * 101), "name"),
            (body(name=42), "name"), (body(name=None), "name"),
            (body(email=...), "email"), (body(email="not-an-email"), "email"),
            (body(email="a@b"), "email"), (body(email="two@@example.com"), "email"),
            (body(email="x" * 250 + "@example.com"), "email"), (body(email=7), "email"),
            (body(password=...), "password"), (body(password="seven77"), "password"),
            (body(password="p" * 129), "password"), (body(password=12345678), "password"),
            (body(phone="12345"), "phone"), (body(phone="+91-1234567890"), "phone"),
        ]
        for b, field in cases:
            with self.subTest(body={k: (v[:20] + "..." if isinstance(v, str) and len(v) > 20
                                        else v) for k, v in b.items()}):
                self.assertError(c.post("/api/auth/register", b), 400, "VALIDATION_ERROR",
                                 field)
        for b in ([], "text", None):
            with self.subTest(body=b):
                r = c.post("/api/auth/register", b)
                self.assertError(r, 400, "VALIDATION_ERROR", "body")
        self.assertEqual(self.user_count("email = ANY (ARRAY[%s])" % ",".join(
            ["%s"] * len(emails)), *emails), 0)

    def test_register_taken_email_and_phone(self):
        c = self.client()
        email, phone = unique_email(), unique_phone()
        first = self.register(c, email=email, phone=phone)["user"]
        r = c.post("/api/auth/register", {"name": "Other", "email": email.upper(),
                                          "password": "another pass 1"})
        self.assertError(r, 409, "EMAIL_TAKEN")
        other = unique_email()
        r = c.post("/api/auth/register", {"name": "Other", "email": other,
                                          "password": "another pass 1", "phone": phone})
        self.assertError(r, 409, "PHONE_TAKEN")
        # Nothing changed: the first account keeps its password, the second
        # email has no account.
        self.assertEqual(self.login(c, email)["user"]["id"], first["id"])
        self.assertError(c.post("/api/auth/login", {"email": email,
                                                    "password": "another pass 1"}),
                         401, "INVALID_CREDENTIALS")
        self.assertEqual(self.user_count("email = %s", other), 0)

    def test_login_failures_say_the_same(self):
        c = self.client()
        email = self.register(c)["user"]["email"]
        wrong = c.post("/api/auth/login", {"email": email, "password": "wrong password"})
        self.assertError(wrong, 401, "INVALID_CREDENTIALS")
        unknown = c.post("/api/auth/login", {"email": unique_email(), "password": PASSWORD})
        self.assertError(unknown, 401, "INVALID_CREDENTIALS")
        self.assertEqual(wrong.error["message"], unknown.error["message"])
        self.assertNotIn("tokens", wrong.raw.decode())
        self.assertError(c.post("/api/auth/login", {"email": email}), 400, "VALIDATION_ERROR",
                         "password")
        self.assertError(c.post("/api/auth/login", {"password": PASSWORD}), 400,
                         "VALIDATION_ERROR", "email")
        self.assertError(c.post("/api/auth/login", []), 400, "VALIDATION_ERROR", "body")

    def test_login_locked_after_five_failures(self):
        c = self.client()
        email = self.register(c)["user"]["email"]
        for i in range(5):
            r = c.post("/api/auth/login", {"email": email, "password": "wrong %d pass" % i})
            self.assertError(r, 401, "INVALID_CREDENTIALS")
        r = c.post("/api/auth/login", {"email": email, "password": PASSWORD})
        self.assertError(r, 429, "LOGIN_LOCKED")
        self.assertRetryAfter(r, 1, 900)
        self.assertNotIn("tokens", r.raw.decode())
        # The lock is the account's, whatever the address.
        r = self.client().post("/api/auth/login", {"email": email, "password": PASSWORD})
        self.assertError(r, 429, "LOGIN_LOCKED")
        # Other accounts are not affected.
        self.login(c, self.register(c)["user"]["email"])

    # ---- refresh ---------------------------------------------------------------

    def test_refresh_rotates_and_reuse_revokes_the_family(self):
        c = self.client()
        d = self.register(c)
        user, first = d["user"], d["tokens"]
        family = self.assertTokens(first, user)
        other = self.login(c, user["email"])["tokens"]  # a second session

        r = c.post("/api/auth/refresh", {"refresh_token": first["refresh_token"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.data), {"tokens"})
        second = r.data["tokens"]
        self.assertEqual(self.assertTokens(second, user), family)
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertNotEqual(second["access_token"], first["access_token"])
        self.assertEqual(self.me(c, second["access_token"]).status, 200)

        # The retired token shown again: theft; the whole family goes.
        r = c.post("/api/auth/refresh", {"refresh_token": first["refresh_token"]})
        self.assertError(r, 401, "REFRESH_TOKEN_REUSED")
        r = c.post("/api/auth/refresh", {"refresh_token": second["refresh_token"]})
        self.assertError(r, 401, "REFRESH_TOKEN_REVOKED")
        for access in (first["access_token"], second["access_token"]):
            r = self.wait_code(lambda: self.me(c, access), "TOKEN_REVOKED")
            self.assertError(r, 401, "TOKEN_REVOKED")
            self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")
        # The other session is another family: untouched.
        self.assertEqual(self.me(c, other["access_token"]).status, 200)
        r = c.post("/api/auth/refresh", {"refresh_token": other["refresh_token"]})
        self.assertEqual(r.status, 200, r)

    def test_refresh_refuses_unknown_tokens(self):
        c = self.client()
        for token in (uuid.uuid4().hex + uuid.uuid4().hex, "x"):
            with self.subTest(token=token):
                self.assertError(c.post("/api/auth/refresh", {"refresh_token": token}), 401,
                                 "REFRESH_TOKEN_INVALID")
        self.assertError(c.post("/api/auth/refresh", {}), 400, "VALIDATION_ERROR",
                         "refresh_token")
        self.assertError(c.post("/api/auth/refresh", {"refresh_token": 5}), 400,
                         "VALIDATION_ERROR", "refresh_token")

    # ---- logout --------------------------------------------------------------

    def test_logout(self):
        c = self.client()
        d = self.register(c)
        tokens = d["tokens"]
        other = self.login(c, d["user"]["email"])["tokens"]
        self.assertError(c.post("/api/auth/logout"), 401, "AUTH_REQUIRED")
        r = c.post("/api/auth/logout", token=tokens["access_token"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data, {"logged_out": True})
        r = self.wait_code(lambda: self.me(c, tokens["access_token"]), "TOKEN_REVOKED")
        self.assertError(r, 401, "TOKEN_REVOKED")
        self.assertError(c.post("/api/auth/refresh", {"refresh_token": tokens["refresh_token"]}),
                         401, "REFRESH_TOKEN_REVOKED")
        self.assertError(c.post("/api/auth/logout", token=tokens["access_token"]), 401,
                         "TOKEN_REVOKED")
        # Only that session ended.
        self.assertEqual(self.me(c, other["access_token"]).status, 200)

    # ---- forgot and reset password ---------------------------------------------

    def test_forgot_password_says_the_same_for_unknown_emails(self):
        c = self.client()
        email = self.register(c)["user"]["email"]
        unknown = unique_email("nobody")
        known = c.post("/api/auth/forgot-password", {"email": email.upper()})
        self.assertEqual(known.status, 200, known)
        nobody = c.post("/api/auth/forgot-password", {"email": unknown})
        self.assertEqual(nobody.status, 200, nobody)
        self.assertEqual(known.body, nobody.body)
        msg = self.stack.wait_email(email)[0]
        self.assertEqual(set(msg), {"channel", "to", "template", "subject", "body", "job_id",
                                    "created_at"}, msg)
        self.assertEqual(msg["channel"], "email")
        self.assertEqual(msg["template"], "password_reset")
        self.assertTrue(msg["subject"])
        token = RESET_TOKEN_IN_EMAIL.search(msg["body"]).group(1)
        self.assertNotIn(token.encode(), known.raw)
        self.assertEqual(self.stack.job_envelope_size(msg["job_id"]), 0)
        time.sleep(1.5)
        self.assertEqual(self.stack.emails(unknown), [])
        for name, text in self.stack.all_logs().items():
            self.assertNotIn(token, text, "%s logs the reset token" % name)

    def test_reset_password(self):
        c = self.client()
        d = self.register(c)
        email = d["user"]["email"]
        old_session = self.login(c, email)["tokens"]
        self.assertEqual(c.post("/api/auth/forgot-password", {"email": email}).status, 200)
        token = self.stack.wait_reset_token(email)

        # A refused new password leaves the token usable.
        self.assertError(c.post("/api/auth/reset-password", {"token": token, "password": "short"}),
                         400, "VALIDATION_ERROR", "password")
        self.assertError(c.post("/api/auth/reset-password", {"password": "new password 1"}),
                         400, "VALIDATION_ERROR", "token")
        self.login(c, email)

        new = "brand new password"
        r = c.post("/api/auth/reset-password", {"token": token, "password": new})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data, {"reset": True})
        self.assertError(c.post("/api/auth/login", {"email": email, "password": PASSWORD}), 401,
                         "INVALID_CREDENTIALS")
        for access in (d["tokens"]["access_token"], old_session["access_token"]):
            r = self.wait_code(lambda: self.me(c, access), "TOKEN_REVOKED")
            self.assertError(r, 401, "TOKEN_REVOKED")
        r = c.post("/api/auth/refresh", {"refresh_token": old_session["refresh_token"]})
        self.assertEqual(r.status, 401, r)
        fresh = self.login(c, email, new)["tokens"]
        self.assertEqual(self.me(c, fresh["access_token"]).status, 200)

        # Single use; unknown tokens likewise.
        r = c.post("/api/auth/reset-password", {"token": token, "password": "third password"})
        self.assertError(r, 400, "RESET_TOKEN_INVALID")
        self.login(c, email, new)
        r = c.post("/api/auth/reset-password", {"token": "A" * 43, "password": "third password"})
        self.assertError(r, 400, "RESET_TOKEN_INVALID")

    # ---- tokens at the front -----------------------------------------------

    def test_front_refuses_bad_tokens(self):
        c = self.client()
        user = self.register(c)["user"]
        access = self.login(c, user["email"])["tokens"]["access_token"]
        head, claims, sig = access.split(".")
        i = len(sig) // 2
        bad_sig = head + "." + claims + "." + sig[:i] + ("A" if sig[i] != "A" else "B") + \
            sig[i + 1:]
        _, decoded = jwt_parts(access)
        forged = dict(decoded, role="ADMIN")
        forged_claims = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=")
        bad_payload = head + "." + forged_claims.decode() + "." + sig
        cases = [
            (bad_sig, "TOKEN_BAD_SIGNATURE"),
            (bad_payload, "TOKEN_BAD_SIGNATURE"),
            (self.stack.token(user["id"], "USER", alg="none"), "TOKEN_BAD_ALG"),
            (self.stack.token(user["id"], "USER", exp_delta=-60), "TOKEN_EXPIRED"),
            (self.stack.token(user["id"], "USER", secret="not the secret"),
             "TOKEN_BAD_SIGNATURE"),
        ]
        for token, code in cases:
            with self.subTest(code=code):
                r = self.me(c, token)
                self.assertError(r, 401, code)
                self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")
        self.assertError(c.get("/api/auth/me"), 401, "AUTH_REQUIRED")
        self.assertEqual(self.me(c, access).status, 200)

    def test_me_on_both_paths(self):
        c = self.client()
        d = self.register(c, name="Both Paths")
        access = d["tokens"]["access_token"]
        a = c.get("/api/auth/me", token=access)
        b = c.get("/api/users/me", token=access)
        self.assertEqual(a.status, 200, a)
        self.assertEqual(b.status, 200, b)
        self.assertEqual(a.data, b.data)
        self.assertUser(a.data)
        self.assertEqual(a.data["id"], d["user"]["id"])
        self.assertEqual(a.data["name"], "Both Paths")
        self.assertNotIn(b"argon2", a.raw)
        self.assertNotIn(b"password", a.raw)


class AuthLimits(AccountsTestCase):
    """Limits that take too long at their defaults: one stack with no wait
    between OTPs, 3 OTPs per address and hour, and 2 wrong passwords."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1, "notifications": 1}, name="auth-limits",
                          env={"MANDI_OTP_RESEND_S": "0", "MANDI_OTP_PER_IP_HOUR": "3",
                               "MANDI_LOGIN_FAILS_MAX": "2"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_returning_user_is_not_new(self):
        phone = unique_phone()
        first = self.otp_login(self.client(), phone)
        self.assertIs(first["is_new_user"], True)
        again = self.otp_login(self.client(), phone)
        self.assertIs(again["is_new_user"], False)
        self.assertEqual(again["user"]["id"], first["user"]["id"])
        self.assertGreaterEqual(parse_ts(again["user"]["last_login_at"]),
                                parse_ts(first["user"]["last_login_at"]))
        self.assertNotEqual(self.assertTokens(again["tokens"], again["user"]),
                            self.assertTokens(first["tokens"], first["user"]))
        self.assertEqual(self.user_count("phone = %s", phone), 1)

    def test_a_new_code_replaces_the_old(self):
        c = self.client()
        phone = unique_phone()
        old = self.send_otp(c, phone)
        new = self.send_otp(self.client(), phone)
        if old != new:
            self.assertError(c.post("/api/auth/verify-otp", {"phone": phone, "otp": old}), 401,
                             "OTP_INVALID")
        self.assertEqual(c.post("/api/auth/verify-otp", {"phone": phone, "otp": new}).status,
                         200)

    def test_five_sends_per_phone_and_hour(self):
        phone = unique_phone()
        for i in range(5):
            r = self.client().post("/api/auth/send-otp", {"phone": phone})
            self.assertEqual(r.status, 200, "send %d: %r" % (i + 1, r))
        r = self.client().post("/api/auth/send-otp", {"phone": phone})
        self.assertError(r, 429, "OTP_RATE_LIMITED")
        self.assertRetryAfter(r, 1, 3600)
        self.stack.wait_sms(phone, 5)
        time.sleep(1.5)
        self.assertEqual(len(self.stack.sms_messages(phone)), 5)
        # The last code sent still works. Messages sent together need not be
        # delivered in order: the newest is that of the newest job.
        msgs = {m["job_id"]: m for m in self.stack.sms_messages(phone)}
        newest = self.stack.psql("SELECT id FROM jobs WHERE id IN (%s) ORDER BY created_at DESC "
                                 "LIMIT 1" % ",".join("'%s'" % i for i in msgs))
        code = re.search(r"\b(\d{6})\b", msgs[newest]["body"]).group(1)
        r = self.client().post("/api/auth/verify-otp", {"phone": phone, "otp": code})
        self.assertEqual(r.status, 200, r)

    def test_sends_per_address_and_hour(self):
        c = self.client()
        phones = [unique_phone() for _ in range(4)]
        for phone in phones[:3]:
            self.assertEqual(c.post("/api/auth/send-otp", {"phone": phone}).status, 200)
        r = c.post("/api/auth/send-otp", {"phone": phones[3]})
        self.assertError(r, 429, "IP_RATE_LIMITED")
        self.assertRetryAfter(r, 1, 3600)
        time.sleep(1.5)
        self.assertEqual(self.stack.sms_messages(phones[3]), [])
        # Another address may.
        self.assertEqual(self.client().post("/api/auth/send-otp", {"phone": phones[3]}).status,
                         200)
        self.stack.wait_sms(phones[3])

    def test_wrong_passwords_per_address(self):
        # MANDI_LOGIN_FAILS_MAX=2: an account locks after 2 failures, an
        # address after 8. Eight accounts fail once each from one address.
        c = self.client()
        emails = [self.register(self.client())["user"]["email"] for _ in range(9)]
        for email in emails[:8]:
            self.assertError(c.post("/api/auth/login", {"email": email, "password": "nope nope"}),
                             401, "INVALID_CREDENTIALS")
        r = c.post("/api/auth/login", {"email": emails[8], "password": PASSWORD})
        self.assertError(r, 429, "LOGIN_LOCKED")
        self.assertRetryAfter(r, 1, 900)
        # The accounts are not locked: from another address they log in.
        self.login(self.client(), emails[8])
        self.login(self.client(), emails[0])

    def test_account_locks_after_max_failures(self):
        c = self.client()
        email = self.register(c)["user"]["email"]
        for _ in range(2):
            self.assertError(c.post("/api/auth/login", {"email": email, "password": "nope nope"}),
                             401, "INVALID_CREDENTIALS")
        self.assertError(c.post("/api/auth/login", {"email": email, "password": PASSWORD}), 429,
                         "LOGIN_LOCKED")


class Expiry(AccountsTestCase):
    """Codes and tokens with lives of 2 seconds."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1, "notifications": 1}, name="auth-expiry",
                          env={"MANDI_OTP_TTL_S": "2", "MANDI_ACCESS_TOKEN_TTL_S": "2",
                               "MANDI_REFRESH_TOKEN_TTL_S": "2"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_codes_and_tokens_expire(self):
        c = self.client()
        phone = unique_phone()
        r = c.post("/api/auth/send-otp", {"phone": phone})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data, {"expires_in": 2})
        code = self.stack.wait_otp(phone)
        d = self.register(c)
        issued = time.monotonic()  # after the code was made, too
        tokens = d["tokens"]
        self.assertEqual(tokens["expires_in"], 2)
        _, claims = jwt_parts(tokens["access_token"])
        self.assertEqual(claims["exp"] - claims["iat"], 2)
        self.assertEqual(self.me(c, tokens["access_token"]).status, 200)

        # exp is in whole seconds: 3.2 s later every one of them has passed.
        time.sleep(max(0.0, 3.2 - (time.monotonic() - issued)))
        self.assertError(c.post("/api/auth/verify-otp", {"phone": phone, "otp": code}), 401,
                         "OTP_EXPIRED")
        self.assertEqual(self.user_count("phone = %s", phone), 0)
        self.assertError(self.me(c, tokens["access_token"]), 401, "TOKEN_EXPIRED")
        self.assertError(c.post("/api/auth/refresh", {"refresh_token": tokens["refresh_token"]}),
                         401, "REFRESH_TOKEN_INVALID")


class NotifyJobs(StackTestCase):
    """notify.send_sms / notify.send_email on their own, as the accounts
    pool enqueues them: recorded jobs the front's sweep sends. Email goes
    to SendGrid with no API key configured, so it must be refused, not
    faked."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"notifications": 2}, name="notify",
                          env={"MANDI_EMAIL_PROVIDER": "sendgrid"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def run_job(self, type_, body):
        job_id = self.stack.enqueue_job("notifications", type_, body)
        return job_id, self.stack.wait_job(job_id, timeout=15)

    def test_sms_line(self):
        """The text is the template's, filled with the job's data; JSON
        specials and non-ASCII in a member survive the provider's line."""
        phone = unique_phone()
        code = "12\"3\\4\t5\n6 नमस्ते 😀"
        job_id, job = self.run_job("notify.send_sms", {
            "to": phone, "template": "otp", "data": {"code": code, "minutes": 5}})
        self.assertEqual(job["status"], "succeeded", job)
        self.assertEqual(job["http_status"], 200)
        self.assertEqual(job["result"], {"delivered": True, "provider": "file", "channel": "sms"})
        msgs = self.stack.sms_messages(phone)
        self.assertEqual(len(msgs), 1)
        msg = msgs[0]
        text = ("%s is your mandi sign-in code. It expires in 5 minutes. "
                "Do not share it with anyone." % code)
        self.assertEqual(msg, {"channel": "sms", "to": phone, "template": "otp", "body": text,
                               "job_id": job_id, "created_at": msg["created_at"]})
        parse_ts(msg["created_at"])
        self.assertEqual(self.stack.job_envelope_size(job_id), 0)
        for name, text_ in self.stack.all_logs().items():
            self.assertNotIn("sign-in code", text_, "%s logs the message" % name)

    def test_language_from_the_job_then_the_user_then_english(self):
        """The job's language wins; without one, the preference of the user
        who has the address; a language with no text of its own is English."""
        hindi_user = unique_phone()
        self.stack.psql("INSERT INTO users (phone, preferences) VALUES ('%s', "
                        "'{\"language\": \"hi\"}')" % hindi_user)
        tamil_user = unique_phone()
        self.stack.psql("INSERT INTO users (phone, preferences) VALUES ('%s', "
                        "'{\"language\": \"ta\"}')" % tamil_user)
        stranger = unique_phone()
        cases = [(hindi_user, None, "साइन-इन कोड"), (hindi_user, "en", "sign-in code"),
                 (stranger, "hi", "साइन-इन कोड"), (stranger, None, "sign-in code"),
                 (tamil_user, None, "sign-in code")]
        for phone, language, words in cases:
            with self.subTest(phone=phone, language=language):
                body = {"to": phone, "template": "otp", "data": {"code": "654321", "minutes": 7}}
                if language:
                    body["language"] = language
                _, job = self.run_job("notify.send_sms", body)
                self.assertEqual(job["status"], "succeeded", job)
                text = self.stack.sms_messages(phone)[-1]["body"]
                self.assertIn(words, text)
                self.assertIn("654321", text)
                self.assertIn("7", text)

    def test_bad_jobs_are_refused_naming_the_field(self):
        phone = unique_phone()
        good = {"to": phone, "template": "otp", "data": {"code": "111111", "minutes": 5}}
        mail = {"to": "a@example.com", "template": "password_reset",
                "data": {"token": "t", "minutes": 30}}
        cases = [
            ("notify.send_sms", dict(good, to=None), "to"),
            ("notify.send_sms", {k: v for k, v in good.items() if k != "to"}, "to"),
            ("notify.send_sms", dict(good, to="98765"), "to"),
            ("notify.send_sms", dict(good, to=phone + "x"), "to"),
            ("notify.send_sms", {k: v for k, v in good.items() if k != "template"}, "template"),
            ("notify.send_sms", dict(good, template="Bad Name"), "template"),
            ("notify.send_sms", dict(good, template="no_such_template"), "template"),
            # password_reset is worded for email only.
            ("notify.send_sms", dict(good, template="password_reset"), "template"),
            ("notify.send_sms", dict(good, language="Hindi"), "language"),
            ("notify.send_sms", dict(good, language=5), "language"),
            ("notify.send_sms", {k: v for k, v in good.items() if k != "data"}, "data"),
            ("notify.send_sms", dict(good, data=["111111"]), "data"),
            ("notify.send_sms", dict(good, data={"code": "x" * 1601}), "data"),
            ("notify.send_sms", dict(good, data={"code": {"nested": 1}}), "data"),
            ("notify.send_sms", [phone], "body"),
            ("notify.send_email", dict(mail, to="no-at-sign"), "to"),
            ("notify.send_email", dict(mail, template="otp"), "template"),
        ]
        ids = [self.stack.enqueue_job("notifications", type_, body) for type_, body, _ in cases]
        for job_id, (type_, body, field) in zip(ids, cases):
            with self.subTest(type=type_, field=field, body=str(body)[:60]):
                job = self.stack.wait_job(job_id, timeout=15)
                self.assertEqual(job["status"], "failed", job)
                self.assertEqual(job["http_status"], 400)
                self.assertEqual(job["error"]["code"], "VALIDATION_ERROR")
                self.assertIn(field, job["error"]["message"])
                self.assertEqual(job["error"]["details"], {"field": field})
        self.assertEqual(self.stack.sms_messages(phone), [])

    def test_provider_without_its_settings_is_refused(self):
        address = unique_email()
        job_id, job = self.run_job("notify.send_email", {
            "to": address, "template": "password_reset", "data": {"token": "t", "minutes": 30}})
        self.assertEqual(job["status"], "failed", job)
        self.assertEqual(job["http_status"], 503)
        self.assertEqual(job["error"]["code"], "PROVIDER_UNAVAILABLE")
        self.assertIn("SENDGRID_API_KEY", job["error"]["message"])
        self.assertEqual(self.stack.emails(), [])

    def test_concurrent_lines_never_interleave(self):
        phone = unique_phone()
        codes = ["%02d:" % i + chr(ord("a") + i % 26) * 1400 for i in range(40)]
        ids = [self.stack.enqueue_job("notifications", "notify.send_sms",
                                      {"to": phone, "template": "otp",
                                       "data": {"code": c, "minutes": 5}})
               for c in codes]
        for job_id in ids:
            self.assertEqual(self.stack.wait_job(job_id, timeout=20)["status"], "succeeded")
        msgs = self.stack.sms_messages(phone)  # parses every line of the file
        self.assertEqual(sorted(m["body"].split(" ", 1)[0] for m in msgs), sorted(codes))
        self.assertEqual(sorted(m["job_id"] for m in msgs), sorted(ids))


if __name__ == "__main__":
    unittest.main()
