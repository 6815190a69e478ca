"""
What operators see: /health, /ready, /metrics, and the JSON logs of the
front and the workers (one access line per request, one job line per job,
tied by the request id, and never a secret).
"""

import json
import signal
import time
import unittest
import uuid

from harness import POOLS, Stack, StackTestCase, metric, parse_metrics, wait_for

SECRET = "obs-secret-" + uuid.uuid4().hex


class Observability(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(name="obs", env={"JWT_SECRET": SECRET}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    # ---- health and readiness --------------------------------------------------

    def test_health(self):
        r = self.stack.request("GET", "/health")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, {"success": True, "data": {"status": "ok"}})

    def test_ready_with_every_pool(self):
        r = self.stack.request("GET", "/ready")
        self.assertEqual(r.status, 200, r)
        d = r.data
        self.assertEqual(d["status"], "ready")
        checks = d["checks"]
        self.assertIs(checks["broker"], True)
        self.assertIs(checks["database"], True)
        self.assertIs(checks["redis"], True)
        self.assertEqual(checks["pools"], {p: 1 for p in POOLS})

    def test_not_ready_names_what_is_missing(self):
        pools = {p: 1 for p in POOLS if p != "analytics"}
        with Stack(pools=pools, name="notready") as s:
            # The front learns of the database and Redis from its own
            # periodic checks, which may lag its start on a loaded machine.
            def seen():
                r = s.request("GET", "/ready")
                d = (r.error or {}).get("details") or {}
                return r if d.get("database") is True and d.get("redis") is True else None
            r = wait_for(seen, 10, "/ready to see the database and Redis")
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.code, "NOT_READY")
            self.assertIn("pool:analytics", r.error["message"])
            for p in pools:
                self.assertNotIn("pool:" + p, r.error["message"])
            details = r.error["details"]
            self.assertEqual(details["pools"]["analytics"], 0)
            for p in pools:
                self.assertEqual(details["pools"][p], 1, details)
            self.assertIs(details["broker"], True)
            self.assertIs(details["database"], True)
            self.assertIs(details["redis"], True)
            # Checked last, so the rest is tested whatever this says.
            retry_after = r.headers.get("Retry-After")

            # A worker for the pool makes it ready.
            s.start_worker("analytics")
            r = s.wait_ready(15)
            self.assertEqual(r.data["checks"]["pools"]["analytics"], 1)

            # No broker: not ready, and the broker is named.
            old = s.kill("broker", signal.SIGTERM)
            self.assertEqual(old.wait(10), 0, "broker exit status after SIGTERM")

            def not_ready():
                r = s.request("GET", "/ready")
                return r if r.status == 503 and r.error["details"]["broker"] is False else None
            r = wait_for(not_ready, 8, "/ready to report the broker gone")
            self.assertIn("broker", r.error["message"])
            self.assertIs(r.error["details"]["database"], True)
            s.restart_broker()
            s.wait_ready(20)
            self.assertEqual(retry_after, "1", "503 NOT_READY without Retry-After")

    # ---- metrics ---------------------------------------------------------------

    def test_metrics_format(self):
        r = self.stack.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain"), r.headers)
        families = {}
        for line in r.body.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                families[name] = kind
        for name, kind in (("mandi_http_requests_total", "counter"),
                           ("mandi_http_request_duration_seconds", "histogram"),
                           ("mandi_jobs", "gauge"),
                           ("mandi_pool_workers", "gauge"),
                           ("mandi_pool_queue_depth", "gauge"),
                           ("mandi_pool_jobs_total", "counter"),
                           ("mandi_pool_job_duration_seconds", "histogram")):
            self.assertEqual(families.get(name), kind, name)
        m = parse_metrics(r.body)  # every sample line parses
        for state in ("queued", "running", "succeeded", "failed", "dead"):
            self.assertIn(("mandi_jobs", frozenset({"state": state}.items())), m)
        for pool in POOLS:
            self.assertEqual(metric(m, "mandi_pool_workers", pool=pool, state="idle") +
                             metric(m, "mandi_pool_workers", pool=pool, state="busy"), 1, pool)
            self.assertIn(("mandi_pool_queue_depth", frozenset({"pool": pool}.items())), m)
            for outcome in ("done", "failed", "requeued", "refused", "dead"):
                self.assertIn(("mandi_pool_jobs_total",
                               frozenset({"pool": pool, "outcome": outcome}.items())), m)

    def assertHistogram(self, m, name, **labels):
        """Buckets are cumulative, and +Inf equals _count."""
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in m.items()
                          if k[0] == name + "_bucket" and
                          all(dict(k[1]).get(a) == b for a, b in labels.items())))
        self.assertTrue(buckets, "no buckets for %s %s" % (name, labels))
        values = [v for _, v in buckets]
        self.assertEqual(values, sorted(values), "buckets not cumulative")
        self.assertEqual(buckets[-1][0], float("inf"))
        self.assertEqual(buckets[-1][1], metric(m, name + "_count", **labels))
        return buckets

    def settled_metrics(self):
        """The metrics once the requests of earlier tests are all counted:
        a request is counted when its connection is done with, which can be
        after its client moved on, so two reads apart must agree."""
        def counts(m):
            # Not the /metrics route: each read counts itself.
            return {k: v for k, v in m.items() if k[0] == "mandi_http_requests_total" and
                    dict(k[1]).get("route") != "GET /metrics"}

        def same_twice():
            first = self.stack.metrics()
            time.sleep(0.3)
            return first if counts(self.stack.metrics()) == counts(first) else None
        return wait_for(same_twice, 10, "the metrics to settle")

    def test_http_metrics_move(self):
        route = "GET /api/ping/:pool"
        before = self.settled_metrics()
        n = 5
        for _ in range(n):
            self.assertEqual(self.stack.request("GET", "/api/ping/accounts").status, 200)
        self.assertEqual(self.stack.request("GET", "/api/ping/nowhere").status, 404)
        self.assertEqual(self.stack.request("GET", "/no/such/path").status, 404)
        name = "mandi_http_request_duration_seconds"

        # A request is counted when its connection is done with, which can be
        # just after the client has its answer: wait for the counts to land.
        def landed():
            m = self.stack.metrics()

            def moved(name, **labels):
                return metric(m, name, **labels) - metric(before, name, **labels)
            # Every counter asserted below has moved at least as far as it
            # should (the histogram and the totals are not updated at the
            # same instant, so each is waited for on its own).
            return m if (moved(name + "_count", route=route) >= n + 1 and
                         moved("mandi_http_requests_total", route=route, status="200") >= n and
                         moved("mandi_http_requests_total", route=route, status="404") >= 1 and
                         moved("mandi_http_requests_total", route="unmatched",
                               status="404") >= 1) else None
        after = wait_for(landed, 5, "the requests to be counted")
        self.assertEqual(metric(after, "mandi_http_requests_total", route=route, status="200") -
                         metric(before, "mandi_http_requests_total", route=route, status="200"),
                         n)
        self.assertEqual(metric(after, "mandi_http_requests_total", route=route, status="404") -
                         metric(before, "mandi_http_requests_total", route=route, status="404"),
                         1)
        self.assertEqual(
            metric(after, "mandi_http_requests_total", route="unmatched", status="404") -
            metric(before, "mandi_http_requests_total", route="unmatched", status="404"), 1)
        self.assertEqual(metric(after, name + "_count", route=route) -
                         metric(before, name + "_count", route=route), n + 1)
        self.assertGreater(metric(after, name + "_sum", route=route),
                           metric(before, name + "_sum", route=route))
        self.assertHistogram(after, name, route=route)

    def test_pool_metrics_move(self):
        def pool_figures():
            m = self.stack.metrics()
            return (metric(m, "mandi_pool_jobs_total", pool="payments", outcome="done"),
                    metric(m, "mandi_pool_job_duration_seconds_count", pool="payments"))
        before = pool_figures()
        n = 4
        for _ in range(n):
            self.assertEqual(self.stack.request("GET", "/api/ping/payments").status, 200)
        after = wait_for(lambda: (lambda f: f if f[0] >= before[0] + n else None)(pool_figures()),
                         5, "the pool's counters to move")
        self.assertEqual(after[0] - before[0], n)
        self.assertEqual(after[1] - before[1], n)
        self.assertHistogram(self.stack.metrics(), "mandi_pool_job_duration_seconds",
                             pool="payments")

        # A busy worker shows as busy.
        r = self.stack.request("POST", "/api/_test/notifications/slow", body={"ms": 1500},
                               headers={"Prefer": "respond-async"})
        self.assertEqual(r.status, 202, r)
        wait_for(lambda: metric(self.stack.metrics(), "mandi_pool_workers", pool="notifications",
                                state="busy") == 1, 5, "the notifications worker to be busy")
        self.stack.wait_job(r.data["job_id"], timeout=10)
        wait_for(lambda: metric(self.stack.metrics(), "mandi_pool_workers", pool="notifications",
                                state="idle") == 1, 5, "the notifications worker to be idle")

    def test_job_gauges_move(self):
        def succeeded():
            return metric(self.stack.metrics(), "mandi_jobs", state="succeeded")
        before = wait_for(lambda: ("mandi_jobs", frozenset({"state": "succeeded"}.items()))
                          in self.stack.metrics() and succeeded() + 1, 8,
                          "the job counts") - 1
        r = self.stack.request("POST", "/api/_test/catalog/echo", body={"count": "me"})
        self.assertEqual(r.status, 200, r)
        # The counts are refreshed every few seconds.
        wait_for(lambda: succeeded() >= before + 1, 8, "mandi_jobs{state=succeeded} to grow")

    # ---- logs ------------------------------------------------------------------

    def wait_log(self, name, pred, what, timeout=5):
        return wait_for(lambda: [l for l in self.stack.log_lines(name) if pred(l)], timeout, what)

    def test_access_and_job_log_lines(self):
        rid = self.stack.request_id("log")
        r = self.stack.request("POST", "/api/_test/orders/echo?x=1", body={"log": "me"},
                               headers={"X-Request-Id": rid})
        self.assertEqual(r.status, 200, r)
        lines = self.wait_log("front", lambda l: l.get("request_id") == rid and
                              l.get("msg") == "http", "the access log line")
        time.sleep(0.3)  # a second line, if any, would be there now
        lines = [l for l in self.stack.log_lines("front")
                 if l.get("request_id") == rid and l.get("msg") == "http"]
        self.assertEqual(len(lines), 1, lines)
        line = lines[0]
        self.assertEqual(line["method"], "POST")
        self.assertEqual(line["route"], "POST /api/_test/:pool/:type")
        self.assertEqual(line["status"], 200)
        self.assertIsInstance(line["duration_ms"], int)
        self.assertGreaterEqual(line["duration_ms"], 0)
        self.assertEqual(line["level"], "info")
        self.assertEqual(line["process"], "front")
        self.assertTrue(line["time"])
        job_id = line["job_id"]
        uuid.UUID(job_id)

        worker = [n for n in self.stack.procs if n.startswith("orders.")][0]
        jl = self.wait_log(worker, lambda l: l.get("request_id") == rid, "the job log line")
        self.assertEqual(len(jl), 1, jl)
        self.assertEqual(jl[0]["msg"], "job")
        self.assertEqual(jl[0]["job_id"], job_id)
        self.assertEqual(jl[0]["type"], "test.echo")
        self.assertEqual(jl[0]["status"], 200)
        self.assertEqual(jl[0]["attempt"], 1)
        self.assertIsInstance(jl[0]["duration_ms"], int)
        self.assertEqual(jl[0]["process"], "orders")

    def test_log_lines_for_refusals_and_timeouts(self):
        rid = self.stack.request_id("log404")
        self.assertEqual(self.stack.request("GET", "/not/here",
                                            headers={"X-Request-Id": rid}).status, 404)
        line = self.wait_log("front", lambda l: l.get("request_id") == rid, "the 404 line")[0]
        self.assertEqual((line["route"], line["status"], line["method"]),
                         ("unmatched", 404, "GET"))

        rid = self.stack.request_id("log504")
        r = self.stack.request("GET", "/api/_test/analytics/slow?ms=1500",
                               headers={"X-Request-Id": rid, "Prefer": "wait=1"})
        self.assertEqual(r.status, 504, r)
        line = self.wait_log("front", lambda l: l.get("request_id") == rid, "the 504 line")[0]
        self.assertEqual(line["status"], 504)
        self.assertEqual(line["level"], "warn")
        self.assertGreaterEqual(line["duration_ms"], 900)
        self.assertEqual(line["route"], "GET /api/_test/:pool/:type")

    def test_every_log_line_is_json(self):
        self.stack.request("GET", "/api/ping/catalog")
        logs = self.stack.all_logs()
        self.assertIn("front.log", logs)
        for name, text in logs.items():
            for line in text.splitlines():
                if line.startswith("---- start"):
                    continue  # the harness's own marker
                try:
                    obj = json.loads(line)
                except ValueError:
                    self.fail("%s: not a JSON line: %r" % (name, line[:200]))
                self.assertIn(obj.get("level"), ("debug", "info", "warn", "error"), line)
                self.assertTrue(obj.get("msg") is not None and obj.get("time"), line)

    def test_secrets_never_logged(self):
        user = self.stack.token("secret-user", "USER")
        admin = self.stack.token("secret-admin", "ADMIN")
        expired = self.stack.token("secret-user", "USER", exp_delta=-60)
        forged = self.stack.token("secret-user", "ADMIN", secret="forged")
        r = self.stack.request("POST", "/api/_test/private/accounts/echo", body={"a": 1},
                               token=user, headers={"Prefer": "respond-async"})
        self.assertEqual(r.status, 202, r)
        job_id = r.data["job_id"]
        self.stack.wait_job(job_id, token=user, timeout=10)
        self.assertEqual(self.stack.job(job_id, token=admin).status, 200)
        self.assertEqual(self.stack.request("GET", "/api/admin/pools", token=admin).status, 200)
        self.assertEqual(self.stack.request("POST", "/api/_test/private/accounts/echo",
                                            body={}, token=expired).status, 401)
        self.assertEqual(self.stack.request("POST", "/api/_test/private/accounts/echo",
                                            body={}, token=forged).status, 401)
        self.assertEqual(self.stack.request("POST", "/api/_test/private/accounts/echo",
                                            body={}, token=user + "garbage").status, 401)
        time.sleep(0.5)  # let the access lines land
        logs = self.stack.all_logs()
        for name, text in logs.items():
            for tok in (user, admin, expired, forged):
                for part in [tok] + tok.split(".")[1:]:
                    self.assertNotIn(part, text, "%s logs a token (or its payload/signature)"
                                     % name)
            self.assertNotIn(SECRET, text, "%s logs the JWT secret" % name)
            self.assertNotIn("Bearer ", text, "%s logs an Authorization header" % name)


if __name__ == "__main__":
    unittest.main()
