"""
Requests through the whole stack: the front, the broker and every pool.

One stack with a worker in each pool (two in the pools the slow tests hold).
"""

import datetime
import json
import re
import time
import unittest
import uuid

from harness import POOLS, Stack, StackTestCase, wait_for

WORKER_NAME = re.compile(r"^[^:]+:(\d+)$")


def parse_ts(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


class Requests(StackTestCase):
    @classmethod
    def setUpClass(cls):
        pools = {p: 1 for p in POOLS}
        pools["catalog"] = 2  # the slow tests hold catalog workers
        pools["orders"] = 2
        cls.stack = Stack(pools=pools, name="requests").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def assertWorkerOf(self, worker, pool):
        """worker is "host:pid" of a live worker process of pool in this stack."""
        m = WORKER_NAME.match(worker)
        self.assertIsNotNone(m, "worker %r is not host:pid" % worker)
        pids = {p.pid for p in self.stack.workers(pool)}
        self.assertIn(int(m.group(1)), pids, "worker %s is not one of %s's workers" % (worker, pool))

    # ---- ping --------------------------------------------------------------

    def test_ping_every_pool(self):
        for pool in POOLS:
            with self.subTest(pool=pool):
                before = int(time.time() * 1000)
                r = self.stack.request("GET", "/api/ping/" + pool)
                after = int(time.time() * 1000)
                self.assertEqual(r.status, 200, r)
                self.assertIs(r.body["success"], True)
                self.assertEqual(r.data["pong"], pool)
                self.assertEqual(r.data["attempt"], 1)
                self.assertWorkerOf(r.data["worker"], pool)
                self.assertTrue(before - 1000 <= r.data["time_ms"] <= after + 1000, r.data)

    def test_ping_unknown_pool(self):
        r = self.stack.request("GET", "/api/ping/warehouse")
        self.assertEqual(r.status, 404, r)
        self.assertIs(r.body["success"], False)
        self.assertEqual(r.code, "UNKNOWN_POOL")
        self.assertTrue(r.error["message"])

    # ---- echo --------------------------------------------------------------

    def test_echo_round_trip(self):
        body = {
            "max_u64": 18446744073709551615,
            "min_i64": -9223372036854775808,
            "max_i64": 9223372036854775807,
            "zero": 0,
            "neg": -1,
            "float": 3.25,
            "small": 1.5e-07,
            "text": "नमस्ते मंडी · ñ · 漢字 · 😀",
            "escapes": "quote \" backslash \\ tab \t newline \n nul \u0000 ls \u2028",
            "nested": {"list": [1, "two", None, True, False, [], {}], "empty": ""},
        }
        rid = self.stack.request_id("echo")
        r = self.stack.request("POST", "/api/_test/orders/echo?color=red&q=%E0%A4%86%E0%A4%AE",
                               body=body, headers={"X-Request-Id": rid})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["X-Request-Id"], rid)
        d = r.data
        self.assertEqual(d["body"], body)
        # Python's json reads big integers exactly; check the text as well so a
        # float on the way would show.
        self.assertIn(b"18446744073709551615", r.raw)
        self.assertIn(b"-9223372036854775808", r.raw)
        self.assertEqual(d["query"], {"color": "red", "q": "आम"})
        self.assertEqual(d["params"], {"pool": "orders", "type": "echo"})
        self.assertEqual(d["request_id"], rid)
        self.assertEqual(d["attempt"], 1)
        self.assertTrue(d["durable"])
        self.assertEqual(d["user_id"], "")
        self.assertWorkerOf(d["worker"], "orders")

    def test_echo_get_is_not_durable(self):
        rid = self.stack.request_id("get")
        r = self.stack.request("GET", "/api/_test/payments/echo?x=1", headers={"X-Request-Id": rid})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["params"], {"pool": "payments", "type": "echo"})
        self.assertEqual(r.data["query"], {"x": "1"})
        self.assertIsNone(r.data["body"])
        self.assertFalse(r.data["durable"])
        # A read answered in time is not recorded.
        self.assertEqual(self.stack.count_jobs_with_request_id(rid), 0)

    def test_request_id_made_up_when_missing_or_invalid(self):
        for given in (None, "has space", "x" * 65, "semi;colon"):
            with self.subTest(given=given):
                r = self.stack.request("GET", "/api/_test/accounts/echo",
                                       headers={"X-Request-Id": given} if given else
                                       {"X-Request-Id": None})
                self.assertEqual(r.status, 200, r)
                rid = r.headers["X-Request-Id"]
                self.assertTrue(rid)
                self.assertNotEqual(rid, given)
                uuid.UUID(rid)  # a made-up id is a UUID
                self.assertEqual(r.data["request_id"], rid)

    def test_echo_carries_the_caller(self):
        token = self.stack.token("user-42", "MERCHANT", zones=("z1", "z2"))
        r = self.stack.request("POST", "/api/_test/private/accounts/echo", body={"a": 1},
                               token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["user_id"], "user-42")
        self.assertEqual(r.data["role"], "MERCHANT")
        self.assertEqual(r.data["body"], {"a": 1})

    # ---- waiting and 202 ---------------------------------------------------

    def test_respond_async_then_poll(self):
        t0 = time.monotonic()
        r = self.stack.request("POST", "/api/_test/catalog/slow", body={"ms": 1500},
                               headers={"Prefer": "respond-async"})
        self.assertLess(time.monotonic() - t0, 1.0, "respond-async must not wait for the job")
        self.assertEqual(r.status, 202, r)
        job_id = r.data["job_id"]
        uuid.UUID(job_id)
        self.assertEqual(r.data["status"], "queued")
        self.assertEqual(r.headers["Location"], "/api/jobs/" + job_id)
        self.assertEqual(r.data["status_url"], "/api/jobs/" + job_id)
        job = self.stack.wait_job(job_id, timeout=15)
        self.assertEqual(job["status"], "succeeded")
        self.assertEqual(job["job_id"], job_id)
        self.assertEqual(job["service"], "catalog")
        self.assertEqual(job["type"], "test.slow")
        self.assertEqual(job["http_status"], 201)
        self.assertEqual(job["attempts"], 1)
        self.assertEqual(job["max_attempts"], 3)
        self.assertEqual(job["progress"], 100)
        self.assertIsNone(job["error"])
        self.assertEqual(job["result"]["slept_ms"], 1500)
        self.assertEqual(job["result"]["attempt"], 1)
        self.assertWorkerOf(job["result"]["worker"], "catalog")
        self.assertEqual(len(self.stack.effects(job_id)), 1)

    def test_prefer_values_the_front_cannot_read_are_ignored(self):
        # An unreadable wait keeps the default wait: a short job answers in line.
        for prefer in ("wait=abc", "wait=-1", "wait=1.5", "wait=", "wait=2x"):
            with self.subTest(prefer=prefer):
                r = self.stack.request("POST", "/api/_test/orders/slow", body={"ms": 50},
                                       headers={"Prefer": prefer})
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.data["slept_ms"], 50)
        # wait=0 means do not wait, with or without spaces around the items.
        for prefer in ("wait=0", " wait=0 ;foo=bar", "RESPOND-ASYNC "):
            with self.subTest(prefer=prefer):
                r = self.stack.request("POST", "/api/_test/orders/slow", body={"ms": 50},
                                       headers={"Prefer": prefer})
                self.assertEqual(r.status, 202, r)
                self.assertEqual(self.stack.wait_job(r.data["job_id"])["status"], "succeeded")
        # A huge wait is capped, not overflowed: the job still answers in line.
        r = self.stack.request("POST", "/api/_test/orders/slow", body={"ms": 50},
                               headers={"Prefer": "wait=99999999999999999999999"})
        self.assertEqual(r.status, 201, r)

    def test_wait_runs_out_then_202_with_progress(self):
        t0 = time.monotonic()
        r = self.stack.request("POST", "/api/_test/catalog/slow", body={"ms": 3000},
                               headers={"Prefer": "wait=1"})
        waited = time.monotonic() - t0
        self.assertEqual(r.status, 202, r)
        self.assertTrue(0.9 <= waited < 2.5, "answered after %.2f s, expected about 1 s" % waited)
        job_id = r.data["job_id"]
        self.assertEqual(r.headers["Location"], "/api/jobs/" + job_id)
        # While it runs, a poll shows it running with partial progress.
        seen = set()
        deadline = time.monotonic() + 15
        final = None
        while time.monotonic() < deadline:
            j = self.stack.job(job_id).data
            if j["status"] == "running":
                seen.add(j["progress"])
            if j["status"] in ("succeeded", "failed", "dead"):
                final = j
                break
            time.sleep(0.1)
        self.assertIsNotNone(final, "job did not finish")
        self.assertTrue([p for p in seen if 0 < p < 100],
                        "no partial progress seen while running: %s" % sorted(seen))
        self.assertEqual(final["status"], "succeeded")
        self.assertEqual(final["http_status"], 201)
        self.assertEqual(final["progress"], 100)
        self.assertEqual(final["result"]["slept_ms"], 3000)
        self.assertEqual(len(self.stack.effects(job_id)), 1)

    def test_finished_job_timestamps(self):
        r = self.stack.request("POST", "/api/_test/orders/slow", body={"ms": 1000},
                               headers={"Prefer": "respond-async"})
        self.assertEqual(r.status, 202, r)
        job = self.stack.wait_job(r.data["job_id"], timeout=15)
        self.assertEqual(job["status"], "succeeded")
        created, updated, finished = (parse_ts(job[k]) for k in
                                      ("created_at", "updated_at", "finished_at"))
        # The job slept a whole second between being recorded and finishing.
        self.assertGreaterEqual((finished - created).total_seconds(), 0.95, job)
        self.assertGreaterEqual(updated, finished, job)

    def test_sync_get_times_out_with_504(self):
        for prefer in ("wait=1", "respond-async, wait=1"):
            with self.subTest(prefer=prefer):
                t0 = time.monotonic()
                r = self.stack.request("GET", "/api/_test/catalog/slow?ms=2500",
                                       headers={"Prefer": prefer})
                waited = time.monotonic() - t0
                self.assertEqual(r.status, 504, r)
                self.assertEqual(r.code, "TIMEOUT")
                self.assertIsNone(r.headers.get("Location"))
                self.assertTrue(0.9 <= waited < 2.4, "answered after %.2f s" % waited)
        # A GET that is in time answers 200 with the slow job's reply.
        r = self.stack.request("GET", "/api/_test/analytics/slow?ms=200")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["slept_ms"], 200)

    def test_wait_settings(self):
        # MANDI_DEFAULT_WAIT_MS is the wait without Prefer; Prefer: wait=N is
        # capped at MANDI_MAX_WAIT_MS.
        with Stack(pools={"orders": 1}, name="waits",
                   env={"MANDI_DEFAULT_WAIT_MS": "1500", "MANDI_MAX_WAIT_MS": "1000"}) as s:
            for prefer, low, high in ((None, 1.4, 2.2), ("wait=20", 0.9, 1.6)):
                with self.subTest(prefer=prefer):
                    s.wait_pools({"orders": 1})
                    wait_for(lambda: s.pool_stats()["orders"]["workers_idle"] == 1, 5,
                             "the worker to be idle")
                    t0 = time.monotonic()
                    r = s.request("POST", "/api/_test/orders/slow", body={"ms": 2500},
                                  headers={"Prefer": prefer} if prefer else None)
                    waited = time.monotonic() - t0
                    self.assertEqual(r.status, 202, r)
                    self.assertTrue(low <= waited < high, "answered after %.2f s" % waited)
                    job = s.wait_job(r.data["job_id"], timeout=10)
                    self.assertEqual(job["status"], "succeeded")
            # A job shorter than the wait is answered in line.
            r = s.request("POST", "/api/_test/orders/slow", body={"ms": 300})
            self.assertEqual(r.status, 201, r)

    def test_repeated_query_parameter(self):
        r = self.stack.request("GET", "/api/_test/accounts/echo?a=1&a=2&flag&sp=%20x+y")
        self.assertEqual(r.status, 200, r)
        # The reply must be JSON a client can read without guessing: an
        # object never has the same key twice.
        pairs = []
        json.loads(r.raw, object_pairs_hook=lambda kv: pairs.append([k for k, _ in kv]) or
                   dict(kv))
        for keys in pairs:
            self.assertEqual(len(keys), len(set(keys)),
                             "duplicate keys %s in %s" % (keys, r.raw[:300]))
        query = r.data["query"]
        self.assertEqual(query["flag"], "")
        self.assertEqual(query["sp"], " x y")
        self.assertIn(query["a"], ("1", "2", ["1", "2"]))

    def test_too_many_query_parameters(self):
        ok = "&".join("p%d=%d" % (i, i) for i in range(64))
        r = self.stack.request("GET", "/api/_test/accounts/echo?" + ok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.data["query"]), 64)
        r = self.stack.request("GET", "/api/_test/accounts/echo?" + ok + "&p64=64")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.code, "TOO_MANY_QUERY_PARAMETERS")
        self.assertIn("64", r.error["message"])

    # ---- failures ------------------------------------------------------------

    def test_fail_is_422(self):
        r = self.stack.request("GET", "/api/_test/notifications/fail")
        self.assertEqual(r.status, 422, r)
        self.assertIs(r.body["success"], False)
        self.assertEqual(r.code, "TEST_FAILURE")
        self.assertTrue(r.error["message"])

        rid = self.stack.request_id("fail")
        r = self.stack.request("POST", "/api/_test/notifications/fail", body={"x": 1},
                               headers={"X-Request-Id": rid})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.code, "TEST_FAILURE")
        row = self.stack.psql("SELECT status, http_status FROM jobs WHERE request_id = '%s'" % rid)
        self.assertEqual(row, "failed|422")

    def test_failed_job_status_carries_the_error(self):
        r = self.stack.request("POST", "/api/_test/notifications/fail",
                               headers={"Prefer": "respond-async"})
        self.assertEqual(r.status, 202, r)
        job = self.stack.wait_job(r.data["job_id"], timeout=10)
        self.assertEqual(job["status"], "failed")
        self.assertEqual(job["http_status"], 422)
        self.assertIsNone(job["result"])
        self.assertEqual(job["error"]["code"], "TEST_FAILURE")
        self.assertTrue(job["error"]["message"])

    def test_unknown_job_type_is_501(self):
        r = self.stack.request("GET", "/api/_test/orders/no-such-type")
        self.assertEqual(r.status, 501, r)
        self.assertEqual(r.code, "JOB_TYPE_UNKNOWN")

        rid = self.stack.request_id("unknown")
        r = self.stack.request("POST", "/api/_test/orders/no-such-type", body={},
                               headers={"X-Request-Id": rid})
        self.assertEqual(r.status, 501, r)
        self.assertEqual(r.code, "JOB_TYPE_UNKNOWN")
        # The job was recorded before dispatch; answered, it must not stay
        # unfinished (the recovery sweep would send it again for ever).
        def row():
            return self.stack.psql("SELECT status || '|' || coalesce(http_status::text, '') "
                                   "FROM jobs WHERE request_id = '%s'" % rid)
        try:
            wait_for(lambda: not row().startswith(("queued", "running")), 5,
                     "the answered job to be finished")
        except AssertionError:
            pass
        self.assertIn(row(), ("", "failed|501"),
                      "the answered job's row stayed unfinished: %r" % row())

    # ---- job status and who may read it -----------------------------------

    def test_job_status_owner_rules(self):
        owner = self.stack.token("owner-" + self.stack.tag, "USER")
        other = self.stack.token("other-" + self.stack.tag, "USER")
        admin = self.stack.token("admin-" + self.stack.tag, "ADMIN")
        super_admin = self.stack.token("root-" + self.stack.tag, "SUPER_ADMIN")
        r = self.stack.request("POST", "/api/_test/private/accounts/echo", body={"k": "v"},
                               token=owner, headers={"Prefer": "respond-async"})
        self.assertEqual(r.status, 202, r)
        job_id = r.data["job_id"]
        job = self.stack.wait_job(job_id, token=owner, timeout=10)
        self.assertEqual(job["status"], "succeeded")
        self.assertEqual(job["result"]["user_id"], "owner-" + self.stack.tag)
        self.assertEqual(job["result"]["body"], {"k": "v"})

        r = self.stack.job(job_id, token=other)
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.code, "JOB_NOT_FOUND")

        r = self.stack.job(job_id)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.code, "AUTH_REQUIRED")
        self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")

        for tok in (admin, super_admin):
            r = self.stack.job(job_id, token=tok)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data["job_id"], job_id)

        # An invalid token is refused even where a token is optional.
        r = self.stack.job(job_id, token=self.stack.token("x", "ADMIN", secret="not-the-secret"))
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.code, "TOKEN_BAD_SIGNATURE")

    def test_anonymous_job_readable_by_id(self):
        r = self.stack.request("POST", "/api/_test/payments/echo", body=[1, 2, 3],
                               headers={"Prefer": "respond-async"})
        self.assertEqual(r.status, 202, r)
        job_id = r.data["job_id"]
        job = self.stack.wait_job(job_id, timeout=10)
        r = self.stack.job(job_id)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.data["status"], "succeeded")
        self.assertEqual(r.data["result"]["body"], [1, 2, 3])
        # Any user may read it too.
        r = self.stack.job(job_id, token=self.stack.token("someone", "USER"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(job["http_status"], 200)

    def test_job_status_unknown_and_malformed_ids(self):
        for jid in (str(uuid.uuid4()), "not-a-uuid", "1234", str(uuid.uuid4()) + "0",
                    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"):
            with self.subTest(id=jid):
                r = self.stack.job(jid)
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.code, "JOB_NOT_FOUND")

    # ---- admin ---------------------------------------------------------------

    def test_admin_pools(self):
        r = self.stack.request("GET", "/api/admin/pools", token=self.stack.admin_token())
        self.assertEqual(r.status, 200, r)
        d = r.data
        for key in ("stats_age_ms", "in_flight", "broker"):
            self.assertIn(key, d)
        self.assertGreaterEqual(d["stats_age_ms"], 0)
        self.assertLess(d["stats_age_ms"], 2000)
        broker = d["broker"]
        self.assertGreater(broker["uptime_ms"], 0)
        bounds = broker["latency_bounds_us"]
        self.assertTrue(bounds and bounds == sorted(bounds) and len(set(bounds)) == len(bounds),
                        bounds)
        services = {s["service"]: s for s in broker["services"]}
        for pool in POOLS:
            s = services.get(pool)
            self.assertIsNotNone(s, "pool %s missing from %s" % (pool, sorted(services)))
            self.assertEqual(s["workers_idle"] + s["workers_busy"], self.stack.pools[pool])
            for key in ("queue_depth", "done", "failed", "requeued", "refused", "dead",
                        "latency_count", "latency_sum_us"):
                self.assertGreaterEqual(s[key], 0, key)
            self.assertEqual(len(s["latency_buckets"]), len(bounds) + 1)
            self.assertEqual(sum(s["latency_buckets"]), s["latency_count"])

        r = self.stack.request("GET", "/api/admin/pools",
                               token=self.stack.token("root", "SUPER_ADMIN"))
        self.assertEqual(r.status, 200, r)

        r = self.stack.request("GET", "/api/admin/pools", token=self.stack.token("u", "USER"))
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.code, "FORBIDDEN")

        r = self.stack.request("GET", "/api/admin/pools")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.code, "AUTH_REQUIRED")
        self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer")

    def test_admin_pools_counts_move(self):
        def done(pool):
            stats = self.stack.pool_stats()
            return stats[pool]["done"], stats[pool]["latency_count"]
        before = done("analytics")
        for _ in range(3):
            self.assertEqual(self.stack.request("GET", "/api/ping/analytics").status, 200)
        # The front refreshes the broker's figures twice a second.
        deadline = time.monotonic() + 5
        after = before
        while time.monotonic() < deadline and after[0] < before[0] + 3:
            time.sleep(0.2)
            after = done("analytics")
        self.assertEqual(after[0], before[0] + 3, (before, after))
        self.assertEqual(after[1], before[1] + 3, (before, after))

    def test_private_and_admin_routes(self):
        r = self.stack.request("POST", "/api/_test/private/payments/echo", body={})
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.code, "AUTH_REQUIRED")

        r = self.stack.request("POST", "/api/_test/admin/payments/echo", body={},
                               token=self.stack.token("u", "USER"))
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.code, "FORBIDDEN")

        for role in ("ADMIN", "SUPER_ADMIN"):
            r = self.stack.request("POST", "/api/_test/admin/payments/echo", body={"r": role},
                                   token=self.stack.token("a-" + role, role))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.data["role"], role)
            self.assertEqual(r.data["user_id"], "a-" + role)


if __name__ == "__main__":
    unittest.main()
