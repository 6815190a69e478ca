"""
Bad requests are refused with the right status and code, and leave nothing
behind: every refused request carries its own X-Request-Id, and no row of
`jobs` may have it.
"""

import re
import time
import unittest
import uuid

from harness import Stack, StackTestCase, b64url, make_token

ECHO = "/api/_test/orders/echo"
PRIVATE = "/api/_test/private/orders/echo"
ADMIN = "/api/_test/admin/orders/echo"
MAX_BODY = 1048576


def rid_key():
    return "key-" + uuid.uuid4().hex


class BadInput(StackTestCase):
    refused = []  # request ids of every refused request of the module

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"orders": 1}, name="badinput",
                          env={"MANDI_MAX_BODY_BYTES": str(MAX_BODY)}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def send(self, method, path, body=None, headers=None, token=None):
        rid = self.stack.request_id("bad")
        hdrs = dict(headers or {})
        hdrs["X-Request-Id"] = rid
        return rid, self.stack.request(method, path, body=body, headers=hdrs, token=token)

    def assertRefused(self, rid, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertIsInstance(r.body, dict, r)
        self.assertIs(r.body.get("success"), False, r)
        self.assertEqual(r.code, code, r)
        self.assertTrue(r.error.get("message"), r)
        self.assertEqual(r.headers.get("X-Request-Id"), rid)
        self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"), r)
        self.assertEqual(self.stack.count_jobs_with_request_id(rid), 0,
                         "a refused request (%s) left a row in jobs" % code)
        type(self).refused.append(rid)

    # ---- JSON ----------------------------------------------------------------

    def test_invalid_json_names_line_and_column(self):
        cases = [
            (b'{"a": [1, 2,\n\n   ]}', 3, 4),          # trailing comma
            (b'{\n"a" 2}', 2, 5),                      # missing colon
            (b'{"a": 1,\n  "b": tru}', 2, 8),          # bad literal
            (b'[1] [2]', 1, 5),                        # a second value
            (b'{"a":"\xc3"}', 1, 7),                   # invalid UTF-8
            (b'\n\n\n  {"x": [1, 2}', 4, 14),          # wrong closer
        ]
        for body, line, column in cases:
            with self.subTest(body=body):
                rid, r = self.send("POST", ECHO, body=body,
                                   headers={"Content-Type": "application/json"})
                self.assertRefused(rid, r, 400, "INVALID_JSON")
                m = re.search(r"line (\d+), column (\d+)", r.error["message"])
                self.assertIsNotNone(m, r.error["message"])
                self.assertEqual((int(m.group(1)), int(m.group(2))), (line, column),
                                 r.error["message"])

    def test_invalid_json_values(self):
        bodies = [b"[NaN]", b"[01]", b'["\\ud800"]', b"[18446744073709551616]",
                  b"[-9223372036854775809]", b"[1e400]", b"  ", b"{'a': 1}", b'{"a":1,}',
                  b"[" * 100 + b"]" * 100, b'"unterminated', b"\xef\xbb\xbf[1]"]
        for body in bodies:
            with self.subTest(body=body[:30]):
                rid, r = self.send("POST", ECHO, body=body,
                                   headers={"Content-Type": "application/json"})
                self.assertRefused(rid, r, 400, "INVALID_JSON")
                self.assertRegex(r.error["message"], r"line \d+, column \d+")

    def test_invalid_json_on_authenticated_and_async_requests(self):
        # Refused before anything is recorded even when a 202 was asked for.
        rid, r = self.send("POST", PRIVATE, body=b"{", token=self.stack.token("u1", "USER"),
                           headers={"Content-Type": "application/json",
                                    "Prefer": "respond-async", "Idempotency-Key": rid_key()})
        self.assertRefused(rid, r, 400, "INVALID_JSON")

    # ---- media type ------------------------------------------------------------

    def test_unsupported_media_type(self):
        for ctype in ("text/plain", None, "application/x-www-form-urlencoded",
                      "application/jsonx", "text/json", "multipart/form-data; boundary=x"):
            with self.subTest(content_type=ctype):
                rid, r = self.send("POST", ECHO, body=b'{"a": 1}',
                                   headers={"Content-Type": ctype})
                self.assertRefused(rid, r, 415, "UNSUPPORTED_MEDIA_TYPE")
        # Chunked bodies are bodies too.
        rid = self.stack.request_id("bad")
        r = self.stack.request_chunked("POST", ECHO, [b'{"a":', b" 1}"],
                                       headers={"Content-Type": "text/plain",
                                                "X-Request-Id": rid})
        self.assertRefused(rid, r, 415, "UNSUPPORTED_MEDIA_TYPE")

    def test_json_media_type_variants_accepted(self):
        for ctype in ("application/json", "application/json; charset=utf-8",
                      "APPLICATION/JSON", "application/json;charset=UTF-8"):
            with self.subTest(content_type=ctype):
                r = self.stack.request("POST", ECHO, body=b'{"a": 1}',
                                       headers={"Content-Type": ctype})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.data["body"], {"a": 1})
        # No body: no Content-Type needed.
        r = self.stack.request("POST", ECHO)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.data["body"])

    # ---- size ------------------------------------------------------------------

    def test_body_too_large_by_content_length(self):
        body = b'"' + b"a" * (MAX_BODY - 1) + b'"'  # MAX_BODY + 1 bytes
        rid, r = self.send("POST", ECHO, body=body, headers={"Content-Type": "application/json"})
        self.assertRefused(rid, r, 413, "BODY_TOO_LARGE")

        # Refused on the header alone: the body is never sent.
        rid = self.stack.request_id("bad")
        r = self.stack.request_raw(
            ("POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
             "Content-Length: 50000000\r\nX-Request-Id: %s\r\n\r\n" % (ECHO, rid)).encode())
        self.assertRefused(rid, r, 413, "BODY_TOO_LARGE")

        # And before "100 Continue" invites the body.
        rid = self.stack.request_id("bad")
        r = self.stack.request_raw(
            ("POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
             "Expect: 100-continue\r\nContent-Length: 50000000\r\nX-Request-Id: %s\r\n\r\n"
             % (ECHO, rid)).encode())
        self.assertRefused(rid, r, 413, "BODY_TOO_LARGE")

    def test_body_at_the_limit_accepted(self):
        text = "b" * (MAX_BODY - 2)
        r = self.stack.request("POST", ECHO, body=('"%s"' % text).encode(),
                               headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["body"], text)

    def test_body_too_large_chunked(self):
        chunk = b"1," * 32768  # 64 KiB
        chunks = [b"["] + [chunk] * (MAX_BODY // len(chunk) + 1) + [b"1]"]
        rid = self.stack.request_id("bad")
        r = self.stack.request_chunked("POST", ECHO, chunks, headers={"X-Request-Id": rid})
        self.assertRefused(rid, r, 413, "BODY_TOO_LARGE")

        # A chunked body under the limit is fine.
        r = self.stack.request_chunked("POST", ECHO, [b'{"parts":', b" [1, ", b"2]}"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["body"], {"parts": [1, 2]})

    # ---- routes ----------------------------------------------------------------

    def test_unknown_path(self):
        for method, path in (("GET", "/nope"), ("POST", "/api/_test/orders"),
                             ("GET", "/api/ping/"), ("GET", "/api/ping/orders/extra"),
                             ("POST", "/api/_test/orders/echo/more"), ("GET", "/"),
                             ("GET", "/api/jobs/")):
            with self.subTest(method=method, path=path):
                rid, r = self.send(method, path, body={"a": 1} if method == "POST" else None)
                self.assertRefused(rid, r, 404, "NOT_FOUND")

    def test_unknown_pool_and_bad_job_type(self):
        rid, r = self.send("POST", "/api/_test/warehouse/echo", body={"a": 1})
        self.assertRefused(rid, r, 404, "UNKNOWN_POOL")
        rid, r = self.send("POST", "/api/_test/orders/bad%21type", body={"a": 1})
        self.assertRefused(rid, r, 404, "UNKNOWN_JOB_TYPE")

    def test_method_not_allowed(self):
        cases = [("DELETE", ECHO, {"GET", "POST"}), ("PUT", ECHO, {"GET", "POST"}),
                 ("POST", "/health", {"GET"}), ("POST", "/api/ping/orders", {"GET"}),
                 ("PATCH", "/api/jobs/00000000-0000-4000-8000-000000000000", {"GET"}),
                 ("GET", PRIVATE, {"POST"}), ("DELETE", "/metrics", {"GET"})]
        for method, path, allowed in cases:
            with self.subTest(method=method, path=path):
                rid, r = self.send(method, path,
                                   body={"a": 1} if method in ("PUT", "PATCH", "POST") else None)
                self.assertRefused(rid, r, 405, "METHOD_NOT_ALLOWED")
                allow = r.headers.get("Allow")
                self.assertIsNotNone(allow, "405 without Allow")
                self.assertEqual({m.strip() for m in allow.split(",")}, allowed)

    # ---- tokens ----------------------------------------------------------------

    def test_token_errors(self):
        good = self.stack.token("u1", "USER")
        header, payload, sig = good.split(".")
        tampered_payload = b64url(
            '{"sub":"u1","role":"ADMIN","zones":[],"iat":1,"exp":99999999999,"jti":"x"}')
        cases = [
            ("missing", {}, "AUTH_REQUIRED"),
            ("not a jwt", {"Authorization": "Bearer abc"}, "TOKEN_MALFORMED"),
            ("two parts", {"Authorization": "Bearer %s.%s" % (header, payload)},
             "TOKEN_MALFORMED"),
            ("bad base64", {"Authorization": "Bearer %s.%s.%s" % (header, payload + "!", sig)},
             "TOKEN_MALFORMED"),
            ("basic scheme", {"Authorization": "Basic dXNlcjpwYXNz"}, "TOKEN_MALFORMED"),
            ("empty bearer", {"Authorization": "Bearer "}, "TOKEN_MALFORMED"),
            ("alg none", {"Authorization": "Bearer " + make_token("u1", "ADMIN", alg="none")},
             "TOKEN_BAD_ALG"),
            ("alg none unsigned",
             {"Authorization": "Bearer " + make_token("u1", "ADMIN", alg="none")
              .rsplit(".", 1)[0] + "."}, "TOKEN_BAD_ALG"),
            ("alg HS512", {"Authorization": "Bearer " + make_token("u1", "USER", alg="HS512")},
             "TOKEN_BAD_ALG"),
            ("wrong secret",
             {"Authorization": "Bearer " + self.stack.token("u1", "USER", secret="guess")},
             "TOKEN_BAD_SIGNATURE"),
            ("tampered payload",
             {"Authorization": "Bearer %s.%s.%s" % (header, tampered_payload, sig)},
             "TOKEN_BAD_SIGNATURE"),
            ("expired", {"Authorization": "Bearer " + self.stack.token("u1", "USER",
                                                                      exp_delta=-5)},
             "TOKEN_EXPIRED"),
        ]
        for label, headers, code in cases:
            for path in (PRIVATE, ECHO):
                if code == "AUTH_REQUIRED" and path == ECHO:
                    continue  # a token is optional there
                with self.subTest(case=label, path=path):
                    rid, r = self.send("POST", path, body={"a": 1}, headers=headers)
                    self.assertRefused(rid, r, 401, code)
                    self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")
        # The same token, unchanged, is accepted.
        r = self.stack.request("POST", PRIVATE, body={"a": 1}, token=good)
        self.assertEqual(r.status, 200, r)

    def test_forbidden(self):
        for role in ("USER", "MERCHANT", "admin", "FINANCE"):
            with self.subTest(role=role):
                rid, r = self.send("POST", ADMIN, body={"a": 1},
                                   token=self.stack.token("u-" + role, role))
                self.assertRefused(rid, r, 403, "FORBIDDEN")
        rid, r = self.send("GET", "/api/admin/pools", token=self.stack.token("u", "USER"))
        self.assertRefused(rid, r, 403, "FORBIDDEN")

    # ---- Idempotency-Key -------------------------------------------------------

    def test_invalid_idempotency_key(self):
        for key in ("bad key", "semi;colon", "k" * 129, "slash/key", "quote\"", "caf\xe9"):
            with self.subTest(key=key):
                rid, r = self.send("POST", ECHO, body={"a": 1}, headers={"Idempotency-Key": key})
                self.assertRefused(rid, r, 400, "INVALID_IDEMPOTENCY_KEY")
        # The longest valid key, with every allowed punctuation mark.
        key = ("Az09-_.:" + rid_key())[:128].ljust(128, "x")
        r = self.stack.request("POST", ECHO, body={"a": 1}, headers={"Idempotency-Key": key})
        self.assertEqual(r.status, 200, r)

    # ---- last: nothing was written, and the front still serves -------------------

    def test_zz_nothing_recorded_and_still_serving(self):
        refused = type(self).refused
        self.assertGreater(len(refused), 40)
        time.sleep(0.5)  # anything recorded late would be in by now
        ids = ",".join("'%s'" % rid for rid in refused)
        self.assertEqual(self.stack.psql("SELECT count(*) FROM jobs WHERE request_id IN (%s)"
                                         % ids), "0")
        r = self.stack.request("GET", "/api/ping/orders")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(self.stack.procs["front"].alive())


if __name__ == "__main__":
    unittest.main()
