"""
Idempotency-Key: a retried POST gets the first outcome back and does the
work once, however many copies arrive and however they race.
"""

import threading
import unittest
import uuid

from harness import Stack, StackTestCase

SLOW = "/api/_test/orders/slow"


def new_key(label="k"):
    return "%s-%s" % (label, uuid.uuid4().hex)


class Idempotency(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"orders": 2, "accounts": 1}, name="idem").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def rows_with_key(self, key):
        return self.stack.psql("SELECT id FROM jobs WHERE idempotency_key = '%s' ORDER BY "
                               "created_at" % key).splitlines()

    def test_replay_returns_the_first_outcome(self):
        key = new_key()
        first = self.stack.request("POST", SLOW, body={"ms": 100},
                                   headers={"Idempotency-Key": key})
        self.assertEqual(first.status, 201, first)
        self.assertIsNone(first.headers.get("Idempotent-Replayed"))
        rows = self.rows_with_key(key)
        self.assertEqual(len(rows), 1)
        for _ in range(2):
            again = self.stack.request("POST", SLOW, body={"ms": 100},
                                       headers={"Idempotency-Key": key})
            self.assertEqual(again.status, 201, again)
            self.assertEqual(again.raw, first.raw)
            self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
            # The replay answers for the new request (its own request id).
            self.assertNotEqual(again.headers["X-Request-Id"], first.headers["X-Request-Id"])
        self.assertEqual(self.rows_with_key(key), rows)
        self.assertEqual(len(self.stack.effects(rows[0])), 1)

    def test_replay_of_a_failure(self):
        key = new_key()
        first = self.stack.request("POST", "/api/_test/accounts/fail", body={"n": 1},
                                   headers={"Idempotency-Key": key})
        self.assertEqual(first.status, 422, first)
        again = self.stack.request("POST", "/api/_test/accounts/fail", body={"n": 1},
                                   headers={"Idempotency-Key": key})
        self.assertEqual(again.status, 422, again)
        self.assertEqual(again.raw, first.raw)
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(len(self.rows_with_key(key)), 1)

    def test_echo_replay_is_the_first_reply(self):
        key = new_key()
        first = self.stack.request("POST", "/api/_test/accounts/echo", body={"v": "ü"},
                                   headers={"Idempotency-Key": key})
        self.assertEqual(first.status, 200, first)
        again = self.stack.request("POST", "/api/_test/accounts/echo", body={"v": "ü"},
                                   headers={"Idempotency-Key": key})
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.data, first.data)  # the first request id and worker included
        self.assertEqual(again.data["request_id"], first.headers["X-Request-Id"])

    def test_same_key_different_request_is_refused(self):
        key = new_key()
        first = self.stack.request("POST", SLOW, body={"ms": 50}, headers={"Idempotency-Key": key})
        self.assertEqual(first.status, 201, first)
        variants = [("POST", SLOW, {"ms": 51}),                       # another body
                    ("POST", SLOW, {"ms": 50, "x": 1}),
                    ("POST", "/api/_test/orders/echo", {"ms": 50}),   # another path
                    ("POST", "/api/_test/accounts/slow", {"ms": 50})]
        for method, path, body in variants:
            with self.subTest(path=path, body=body):
                rid = self.stack.request_id("reuse")
                r = self.stack.request(method, path, body=body,
                                       headers={"Idempotency-Key": key, "X-Request-Id": rid})
                self.assertEqual(r.status, 422, r)
                self.assertEqual(r.code, "IDEMPOTENCY_KEY_REUSED")
                self.assertEqual(self.stack.count_jobs_with_request_id(rid), 0)
        self.assertEqual(len(self.rows_with_key(key)), 1)
        # The original still replays.
        again = self.stack.request("POST", SLOW, body={"ms": 50}, headers={"Idempotency-Key": key})
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.raw, first.raw)

    def test_keys_belong_to_their_caller(self):
        key = new_key()
        alice = self.stack.token("alice-" + self.stack.tag, "USER")
        bob = self.stack.token("bob-" + self.stack.tag, "USER")
        path = "/api/_test/private/accounts/echo"
        ra = self.stack.request("POST", path, body={"same": True}, token=alice,
                                headers={"Idempotency-Key": key})
        rb = self.stack.request("POST", path, body={"same": True}, token=bob,
                                headers={"Idempotency-Key": key})
        rn = self.stack.request("POST", "/api/_test/accounts/echo", body={"same": True},
                                headers={"Idempotency-Key": key})
        for r in (ra, rb, rn):
            self.assertEqual(r.status, 200, r)
            self.assertIsNone(r.headers.get("Idempotent-Replayed"))
        self.assertEqual(ra.data["user_id"], "alice-" + self.stack.tag)
        self.assertEqual(rb.data["user_id"], "bob-" + self.stack.tag)
        self.assertEqual(rn.data["user_id"], "")
        self.assertEqual(len(self.rows_with_key(key)), 3)
        # Each replays its own.
        again = self.stack.request("POST", path, body={"same": True}, token=bob,
                                   headers={"Idempotency-Key": key})
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(again.data["user_id"], "bob-" + self.stack.tag)

    def test_replay_while_the_first_still_runs(self):
        key = new_key()
        first = self.stack.request("POST", SLOW, body={"ms": 2000},
                                   headers={"Idempotency-Key": key, "Prefer": "respond-async"})
        self.assertEqual(first.status, 202, first)
        job_id = first.data["job_id"]
        again = self.stack.request("POST", SLOW, body={"ms": 2000},
                                   headers={"Idempotency-Key": key})
        self.assertEqual(again.status, 202, again)
        self.assertEqual(again.data["job_id"], job_id)
        self.assertEqual(again.headers["Location"], "/api/jobs/" + job_id)
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        job = self.stack.wait_job(job_id, timeout=15)
        self.assertEqual(job["status"], "succeeded")
        done = self.stack.request("POST", SLOW, body={"ms": 2000},
                                  headers={"Idempotency-Key": key})
        self.assertEqual(done.status, 201, done)
        self.assertEqual(done.data, job["result"])
        self.assertEqual(done.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(self.rows_with_key(key), [job_id])
        self.assertEqual(len(self.stack.effects(job_id)), 1)

    def test_concurrent_copies_do_the_work_once(self):
        key = new_key("race")
        copies = 8
        barrier = threading.Barrier(copies)
        results = [None] * copies

        def send(i):
            try:
                barrier.wait(timeout=10)
                results[i] = self.stack.request("POST", SLOW, body={"ms": 1500},
                                                headers={"Idempotency-Key": key})
            except Exception as e:  # reported below
                results[i] = e

        threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertFalse(any(t.is_alive() for t in threads), "a request did not return")
        for r in results:
            self.assertNotIsInstance(r, Exception, r)
        rows = self.rows_with_key(key)
        self.assertEqual(len(rows), 1, "copies made %d jobs" % len(rows))
        job_id = rows[0]
        statuses = sorted(r.status for r in results)
        self.assertTrue(set(statuses) <= {201, 202}, statuses)
        self.assertEqual(sum(1 for r in results if r.headers.get("Idempotent-Replayed")
                             != "true"), 1, "exactly one copy is the original: %s" % results)
        for r in results:
            if r.status == 202:
                self.assertEqual(r.data["job_id"], job_id)
        final = self.stack.wait_job(job_id, timeout=15)
        self.assertEqual(final["status"], "succeeded")
        self.assertEqual(final["attempts"], 1)
        for r in results:
            if r.status == 201:
                self.assertEqual(r.data, final["result"])
        self.assertEqual(len(self.stack.effects(job_id)), 1)


if __name__ == "__main__":
    unittest.main()
