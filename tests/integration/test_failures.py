"""
Failures of real processes: workers killed mid-job or crashing, the broker
and the front killed and restarted, a full queue, a worker told to stop
while busy. Each test runs its own stack with the settings it needs.
"""

import signal
import threading
import time
import unittest

from harness import Stack, StackTestCase, wait_for


def pid_of(worker):
    """The pid in a "host:pid" worker name."""
    return int(worker.rsplit(":", 1)[1])


class Failures(StackTestCase):
    def submit(self, stack, path, body=None, **headers):
        hdrs = {"Prefer": "respond-async"}
        hdrs.update(headers)
        r = stack.request("POST", path, body=body, headers=hdrs)
        self.assertEqual(r.status, 202, r)
        return r.data["job_id"]

    def pool_stat(self, stack, pool, key):
        stats = stack.pool_stats() or {}
        return stats.get(pool, {}).get(key, 0)

    # (a) -----------------------------------------------------------------------

    def test_worker_killed_mid_job_is_redelivered_once(self):
        with Stack(pools={"orders": 2}, name="killworker") as s:
            job_id = self.submit(s, "/api/_test/orders/slow", {"ms": 3000})
            row = s.wait_row(job_id, ("running",), timeout=10)
            victim = row["worker"]
            self.assertEqual(row["attempts"], 1)
            proc = s.proc_by_pid(pid_of(victim))
            self.assertIsNotNone(proc, "job runs on %s, not a worker of this stack" % victim)
            s.kill(proc.pid, signal.SIGKILL)
            self.assertEqual(proc.wait(5), -signal.SIGKILL)

            job = s.wait_job(job_id, timeout=25)
            self.assertEqual(job["status"], "succeeded", job)
            self.assertEqual(job["http_status"], 201)
            self.assertEqual(job["attempts"], 2, job)
            finisher = job["result"]["worker"]
            self.assertNotEqual(finisher, victim)
            self.assertIsNotNone(s.proc_by_pid(pid_of(finisher)))
            self.assertEqual(job["result"]["attempt"], 2)
            effects = s.effects(job_id)
            self.assertEqual(effects, [finisher], "the work must be committed exactly once")
            self.assertEqual(s.job_row(job_id)["worker"], finisher)
            wait_for(lambda: self.pool_stat(s, "orders", "requeued") == 1, 5,
                     "the broker to count the requeue")

    # (b) -----------------------------------------------------------------------

    def test_crashing_job_ends_dead(self):
        # Three attempts kill three workers; the fourth is there to see the
        # broker give the job up.
        with Stack(pools={"catalog": 4}, name="crash") as s:
            job_id = self.submit(s, "/api/_test/catalog/crash", {"boom": True})
            job = s.wait_job(job_id, statuses=("dead", "succeeded", "failed"), timeout=30)
            self.assertEqual(job["status"], "dead", job)
            self.assertEqual(job["http_status"], 500)
            self.assertIsNone(job["result"])
            self.assertEqual(job["error"]["code"], "JOB_DEAD", job)
            self.assertEqual(job["attempts"], 3, job)
            dead = [p for p in s.workers("catalog", alive=False) if not p.alive()]
            self.assertEqual(len(dead), 3, "each attempt kills one worker")
            for p in dead:
                self.assertEqual(p.wait(5), -signal.SIGKILL, p.name)
            stats = wait_for(lambda: (lambda st: st if st["catalog"]["dead"] == 1 else None)(
                s.pool_stats()), 5, "the broker to count the dead job")["catalog"]
            self.assertEqual(stats["dead"], 1, stats)
            # Two losses put the job back; the third, its last attempt, is
            # answered dead instead of going back to the queue.
            self.assertEqual(stats["requeued"], 2, stats)
            self.assertEqual(stats["done"], 0, stats)
            self.assertEqual(stats["queue_depth"], 0, stats)
            self.assertEqual(stats["workers_idle"], 1, stats)
            m = s.metrics()
            self.assertEqual(m.get(("mandi_pool_jobs_total",
                                    frozenset({"pool": "catalog", "outcome": "dead"}.items()))),
                             1.0)
            self.assertEqual(m.get(("mandi_pool_jobs_total",
                                    frozenset({"pool": "catalog",
                                               "outcome": "requeued"}.items()))), 2.0)
            # The survivor still serves.
            r = s.request("GET", "/api/ping/catalog")
            self.assertEqual(r.status, 200, r)

    def test_crash_that_kills_the_last_worker_is_dead_at_once(self):
        # Here the third attempt takes the pool's last worker with it: the
        # attempts are used up all the same, so the job must be answered dead
        # when that worker is dropped, not left in the broker's queue until
        # the lease runs out (30 s here) or a worker turns up.
        with Stack(pools={"catalog": 3}, name="crashall") as s:
            job_id = self.submit(s, "/api/_test/catalog/crash", {"boom": True})
            wait_for(lambda: not any(p.alive() for p in s.workers("catalog", alive=False)), 20,
                     "the three workers to die")
            s.wait_pools({"catalog": 0}, timeout=6, exact=True)
            job = s.wait_job(job_id, statuses=("dead", "succeeded", "failed"), timeout=4)
            self.assertEqual(job["status"], "dead", job)
            self.assertEqual(job["error"]["code"], "JOB_DEAD", job)
            stats = s.pool_stats()["catalog"]
            self.assertEqual(stats["dead"], 1, stats)
            self.assertEqual(stats["queue_depth"], 0, stats)

    # (c) -----------------------------------------------------------------------

    def test_broker_killed_and_restarted(self):
        with Stack(pools={"payments": 2}, name="killbroker",
                   env={"MANDI_JOB_LEASE_MS": "2000"}) as s:
            jobs = [self.submit(s, "/api/_test/payments/slow", {"ms": 800, "n": i})
                    for i in range(4)]
            # Two run, two wait in the broker's queue.
            wait_for(lambda: sum(1 for j in jobs if s.job_row(j)["status"] == "running") >= 1,
                     10, "a job to start")
            old = s.kill("broker", signal.SIGKILL)
            self.assertEqual(old.wait(5), -signal.SIGKILL)
            # Accepted while there is no broker: recorded, so promised.
            jobs.append(self.submit(s, "/api/_test/payments/slow", {"ms": 800, "n": 4}))
            time.sleep(0.5)
            s.restart_broker()
            s.wait_pools({"payments": 2}, timeout=15, exact=True)
            self.assertTrue(all(p.alive() for p in s.workers("payments", alive=False)),
                            "a worker died with the broker")
            for job_id in jobs:
                job = s.wait_job(job_id, timeout=30)
                self.assertEqual(job["status"], "succeeded", job)
                self.assertEqual(len(s.effects(job_id)), 1, "job %s: effects %s"
                                 % (job_id, s.effects(job_id)))
            # And the new broker serves as before.
            r = s.request("GET", "/api/ping/payments")
            self.assertEqual(r.status, 200, r)

    # (d) -----------------------------------------------------------------------

    def test_front_killed_after_202(self):
        with Stack(pools={"notifications": 1}, name="killfront",
                   env={"MANDI_JOB_LEASE_MS": "2000"}) as s:
            jobs = [self.submit(s, "/api/_test/notifications/slow", {"ms": 700, "n": i})
                    for i in range(2)]
            old = s.kill("front", signal.SIGKILL)
            self.assertEqual(old.wait(5), -signal.SIGKILL)
            new = s.restart_front()
            self.assertNotEqual(new.pid, old.pid)
            for job_id in jobs:
                job = s.wait_job(job_id, timeout=25)
                self.assertEqual(job["status"], "succeeded", job)
                self.assertEqual(job["http_status"], 201)
                self.assertEqual(len(s.effects(job_id)), 1)
                # Pollable without a token: the jobs were made anonymously.
                r = s.job(job_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.data["result"]["slept_ms"], 700)

    def test_front_sigterm_while_requests_wait(self):
        with Stack(pools={"orders": 1, "accounts": 1}, name="termfront") as s:
            rid = s.request_id("term")
            rid_get = s.request_id("term")
            out = {}

            def call(key, *args, **kwargs):
                try:
                    out[key] = s.request(*args, **kwargs)
                except Exception as e:  # reported below
                    out[key] = e
            threads = [
                threading.Thread(target=call, args=("post", "POST", "/api/_test/orders/slow"),
                                 kwargs={"body": {"ms": 2000}, "headers": {"X-Request-Id": rid}}),
                threading.Thread(target=call, args=("get", "GET", "/api/_test/accounts/slow?ms=2000"),
                                 kwargs={"headers": {"X-Request-Id": rid_get}}),
            ]
            for t in threads:
                t.start()
            def post_running():
                job_id = s.psql("SELECT id FROM jobs WHERE request_id = '%s'" % rid)
                return job_id and s.job_row(job_id)["status"] == "running"
            wait_for(post_running, 10, "the POST's job to run")
            time.sleep(0.3)  # the GET is with its worker too by now
            front = s.kill("front", signal.SIGTERM)
            self.assertEqual(front.wait(10), 0, "front exit status after SIGTERM")
            for t in threads:
                t.join(10)
            self.assertFalse(any(t.is_alive() for t in threads), "a waiting client got no answer")

            # The read has nothing recorded: "try again" is the answer.
            get = out["get"]
            self.assertNotIsInstance(get, Exception, get)
            self.assertEqual(get.status, 503, get)
            self.assertEqual(get.code, "SHUTTING_DOWN")
            self.assertIsNotNone(get.headers.get("Retry-After"))

            # The write was recorded and goes on without the front.
            job_id = s.psql("SELECT id FROM jobs WHERE request_id = '%s'" % rid)
            s.restart_front()
            job = s.wait_job(job_id, timeout=15)
            self.assertEqual(job["status"], "succeeded", job)
            self.assertEqual(len(s.effects(job_id)), 1)
            # So its caller must be told where to find it, not to send it again
            # (a retry would do the work twice).
            post = out["post"]
            self.assertNotIsInstance(post, Exception, post)
            self.assertEqual(post.status, 202, "a recorded job answered %r" % post)
            self.assertEqual(post.headers.get("Location"), "/api/jobs/" + job_id)

    # (e) -----------------------------------------------------------------------

    def test_queue_bound(self):
        # Prefetch 1: the worker holds only the job it runs, the rest waits
        # in the broker's queue, which holds two.
        with Stack(pools={"orders": 1}, name="queuemax",
                   env={"MANDI_QUEUE_MAX": "2", "MANDI_JOB_LEASE_MS": "4000",
                        "MANDI_WORKER_PREFETCH": "1"}) as s:
            busy = self.submit(s, "/api/_test/orders/slow", {"ms": 2500})
            s.wait_row(busy, ("running",), timeout=10)
            queued = [self.submit(s, "/api/_test/orders/slow", {"ms": 50, "n": i})
                      for i in range(2)]
            wait_for(lambda: self.pool_stat(s, "orders", "queue_depth") == 2, 5,
                     "two jobs queued")

            rid = s.request_id("over")
            r = s.request("POST", "/api/_test/orders/slow", body={"ms": 50},
                          headers={"X-Request-Id": rid})
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.code, "OVERLOADED")
            self.assertEqual(r.headers.get("Retry-After"), "1")
            self.assertEqual(r.headers.get("X-Request-Id"), rid)
            wait_for(lambda: s.count_jobs_with_request_id(rid) == 0, 3,
                     "the refused job's row to be gone")

            rid_get = s.request_id("over")
            r = s.request("GET", "/api/_test/orders/echo", headers={"X-Request-Id": rid_get})
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.code, "OVERLOADED")
            self.assertIsNotNone(r.headers.get("Retry-After"))
            self.assertEqual(s.count_jobs_with_request_id(rid_get), 0)

            # A 202 is a promise: a job the broker refuses after it was
            # accepted waits for the recovery sweep and still runs.
            late = self.submit(s, "/api/_test/orders/slow", {"ms": 50, "late": True})

            refused = wait_for(lambda: self.pool_stat(s, "orders", "refused") >= 3 and
                               self.pool_stat(s, "orders", "refused"), 5,
                               "the broker to count the refusals")
            self.assertEqual(refused, 3)
            for job_id in [busy] + queued + [late]:
                job = s.wait_job(job_id, timeout=30)
                self.assertEqual(job["status"], "succeeded", job)
                self.assertEqual(len(s.effects(job_id)), 1)
            self.assertEqual(s.count_jobs_with_request_id(rid), 0)
            r = s.request("POST", "/api/_test/orders/slow", body={"ms": 10})
            self.assertEqual(r.status, 201, r)

    # (f) -----------------------------------------------------------------------

    def test_worker_sigterm_finishes_the_job_in_hand(self):
        with Stack(pools={"analytics": 1, "accounts": 1}, name="sigterm") as s:
            job_id = self.submit(s, "/api/_test/analytics/slow", {"ms": 2000})
            row = s.wait_row(job_id, ("running",), timeout=10)
            # A second job, handed to the same worker ahead of time (prefetch).
            second = self.submit(s, "/api/_test/analytics/slow", {"ms": 200, "second": True})
            wait_for(lambda: s.pool_stats()["analytics"]["queue_depth"] == 0, 5,
                     "the second job to leave the broker's queue")
            proc = s.proc_by_pid(pid_of(row["worker"]))
            self.assertIsNotNone(proc)
            t0 = time.monotonic()
            s.kill(proc.pid, signal.SIGTERM)
            rc = proc.wait(10)
            self.assertEqual(rc, 0, "worker exit status after SIGTERM")
            job = s.wait_job(job_id, timeout=5)
            self.assertEqual(job["status"], "succeeded", job)
            self.assertEqual(job["attempts"], 1)
            self.assertEqual(job["result"]["worker"], row["worker"])
            self.assertEqual(s.effects(job_id), [row["worker"]])
            # It said goodbye: the broker drops it at once, not after the
            # heartbeats run out (3 s here).
            s.wait_pools({"analytics": 0}, timeout=2.5, exact=True)
            self.assertLess(time.monotonic() - t0, 2 + 3)

            # The job it had not started is neither run nor lost: it waits
            # for the next worker, its attempt not counted.
            self.assertEqual(s.job_row(second)["status"], "queued")
            self.assertEqual(s.effects(second), [])
            newcomer = s.start_worker("analytics")
            job = s.wait_job(second, timeout=10)
            self.assertEqual(job["status"], "succeeded", job)
            self.assertEqual(job["attempts"], 1)
            self.assertEqual(job["result"]["attempt"], 1)
            self.assertEqual(pid_of(job["result"]["worker"]), newcomer.pid)
            self.assertEqual(len(s.effects(second)), 1)

            # An idle worker stops promptly too.
            idle = s.workers("accounts")[0]
            t0 = time.monotonic()
            s.kill(idle.pid, signal.SIGTERM)
            self.assertEqual(idle.wait(5), 0)
            self.assertLess(time.monotonic() - t0, 3)
            s.wait_pools({"accounts": 0}, timeout=2.5, exact=True)

if __name__ == "__main__":
    unittest.main()
