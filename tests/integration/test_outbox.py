"""
The event outbox through the whole stack: an event is published after its
job commits and never when the job's writes roll back; every published
event has a position; a subscriber that was away catches up from the table;
events whose worker died before relaying them are published by a front.
"""

import json
import os
import subprocess
import unittest
import uuid

from harness import Client, Stack, StackTestCase, wait_for


class Outbox(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1}, name="outbox").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)

    def events(self, *args, count=1, timeout=15):
        """Starts mandi-events; returns the process (read with collect)."""
        argv = [os.path.join(self.stack.bin_dir, "mandi-events"), "--count", str(count)]
        return subprocess.Popen(argv + list(args), env=self.stack.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def collect(self, proc, timeout=15):
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.fail("mandi-events got too few events; printed %r, said %r" % (out, err))
        self.assertEqual(proc.returncode, 0, err)
        return [json.loads(line) for line in out.splitlines()]

    def outbox_rows(self, job_id):
        out = self.stack.psql("SELECT coalesce(position::text, ''), topic FROM outbox "
                              "WHERE job_id = '%s' ORDER BY id" % job_id)
        return [line.split("|") for line in out.splitlines() if line]

    def publish(self, body, **kw):
        return self.c.post("/api/_test/accounts/publish", body, **kw)

    def test_committed_event_is_published_with_its_position(self):
        marker = uuid.uuid4().hex
        # Catch-up from the current end plus the bus: nothing is missed even
        # though the subscription needs a moment to be in place.
        start = self.stack.psql("SELECT coalesce(max(position), 0) FROM outbox")
        proc = self.events("--from", start, "test.published", count=1)
        r = self.publish({"marker": marker})
        self.assertEqual(r.status, 200, r)
        [event] = self.collect(proc)
        self.assertEqual(event["topic"], "test.published")
        self.assertEqual(event["body"]["body"], {"marker": marker})
        job_id = event["body"]["job_id"]
        rows = self.outbox_rows(job_id)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0], [str(event["position"]), "test.published"])
        self.assertGreater(event["position"], int(start))

    def test_rolled_back_job_leaves_no_event(self):
        r = self.publish({"then_fail": True}, headers={"Prefer": "wait=10"})
        self.assertError(r, 422, "TEST_FAILURE")
        job_id = self.stack.psql("SELECT id FROM jobs WHERE request_id = '%s'"
                                 % r.headers["X-Request-Id"])
        self.assertTrue(job_id)
        self.assertEqual(self.outbox_rows(job_id), [])
        # The same job without the failure leaves exactly one event.
        r = self.publish({"then_fail": False})
        self.assertEqual(r.status, 200, r)
        job_id = self.stack.psql("SELECT id FROM jobs WHERE request_id = '%s'"
                                 % r.headers["X-Request-Id"])
        self.assertEqual(len(self.outbox_rows(job_id)), 1)

    def test_positions_follow_commit_order_and_catch_up_replays_them(self):
        # Move the numbering to just below a power of ten (skipping numbers
        # is allowed), so that the positions change their number of digits
        # here: they must sort as numbers, not as text.
        start = int(self.stack.psql(
            "SELECT setval('outbox_position', greatest(10 ^ ceil(log(greatest(last_value, 1) + "
            "10)) - 3, last_value)::bigint) FROM outbox_position"))
        markers = [uuid.uuid4().hex for _ in range(5)]
        for m in markers:
            self.assertEqual(self.publish({"marker": m}).status, 200)
        # Published by the worker right after each commit.
        wait_for(lambda: int(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE position IS NULL AND topic = 'test.published'"))
            == 0, 10, "events numbered")
        proc = self.events("--from", str(start), "test.published", count=5)
        got = self.collect(proc)
        self.assertEqual([e["body"]["body"]["marker"] for e in got], markers)
        positions = [e["position"] for e in got]
        self.assertEqual(positions, sorted(positions))
        self.assertTrue(all(p > start for p in positions))
        # A prefix that matches nothing stored prints nothing from the table
        # (--stored: stop after the table, so the check ends by itself).
        p = subprocess.run([os.path.join(self.stack.bin_dir, "mandi-events"), "--from",
                            str(start), "--stored", "no.such"], env=self.stack.env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual((p.returncode, p.stdout), (0, ""), p.stderr)
        # ... while the same call on the topic prints the five events.
        p = subprocess.run([os.path.join(self.stack.bin_dir, "mandi-events"), "--from",
                            str(start), "--stored", "test.published"], env=self.stack.env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(len(p.stdout.splitlines()), 5, p.stdout)

    def test_orphaned_event_is_relayed_by_the_front(self):
        # As if a worker committed and died before relaying: the row is
        # there without a position; the front publishes it within seconds.
        marker = uuid.uuid4().hex
        start = self.stack.psql("SELECT coalesce(max(position), 0) FROM outbox")
        proc = self.events("--from", start, "test.orphan", count=1)
        self.stack.psql("INSERT INTO outbox (topic, body) VALUES ('test.orphan', "
                        "decode('81a6' || encode(convert_to('marker', 'UTF8'), 'hex') "
                        "|| 'd920' || encode(convert_to('%s', 'UTF8'), 'hex'), 'hex'))" % marker)
        [event] = self.collect(proc, timeout=20)
        self.assertEqual(event["topic"], "test.orphan")
        self.assertEqual(event["body"], {"marker": marker})
        self.assertIsInstance(event["position"], int)

    def test_bad_arguments(self):
        argv = [os.path.join(self.stack.bin_dir, "mandi-events")]
        for args in (["--from", "-1"], ["--from", "x"], ["--count", "0"], ["--bogus"],
                     ["--stored"]):
            p = subprocess.run(argv + args, env=self.stack.env, capture_output=True, text=True,
                               timeout=10)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("usage", p.stderr)


if __name__ == "__main__":
    unittest.main()
