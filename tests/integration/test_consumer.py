"""
A pool's reactions to domain events (common/consumer.c), through the real
stack: the analytics pool runs the test-mode handler of test.published,
which records the event's stable id in test_effects, beside its own
recording of every event in analytics_events. Every event published
is applied exactly once, in order, by two workers of the pool at once and
across a worker killed with SIGKILL and a new one started; a handler that
keeps failing on an event has it set aside after MANDI_EVENT_MAX_ATTEMPTS
tries and the events after it still apply; the pool's position ends past
them all.
"""

import hashlib
import signal
import unittest
import uuid

from harness import Client, Stack, StackTestCase, wait_for


def event_job_id(consumer, position):
    """The stable id the consumer gives (consumer, position), computed here
    independently: SHA-256 of "consumer/position", 16 bytes, UUID bits."""
    h = bytearray(hashlib.sha256(("%s/%d" % (consumer, position)).encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50
    h[8] = (h[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(h)))


class Consumer(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1, "analytics": 2},
                          env={"MANDI_EVENT_MAX_ATTEMPTS": "3"}, name="consumer").start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        self.marker = uuid.uuid4().hex

    def publish(self, n, **body):
        for i in range(n):
            r = self.c.post("/api/_test/accounts/publish", dict(marker=self.marker, i=i, **body))
            self.assertEqual(r.status, 200, r)

    def positions(self):
        """Positions of this test's events, once the relay has numbered them."""
        def numbered():
            out = self.stack.psql(
                "SELECT string_agg(coalesce(position::text, '-'), ',' ORDER BY id) FROM outbox "
                "WHERE topic = 'test.published' AND position(convert_to('%s', 'UTF8') IN body) > 0"
                % self.marker)
            return out if out and "-" not in out else None
        return [int(p) for p in wait_for(numbered, 15, "the events to be numbered").split(",")]

    def applied(self, positions):
        ids = ",".join("'%s'" % event_job_id("analytics", p) for p in positions)
        return int(self.stack.psql("SELECT count(*) FROM test_effects WHERE job_id IN (%s)" % ids))

    def wait_applied(self, positions):
        wait_for(lambda: self.applied(positions) >= len(positions) or None, 20,
                 "the events to be applied")
        # Each once: no more rows than events.
        self.assertEqual(self.applied(positions), len(positions))
        ids = ",".join("'%s'" % event_job_id("analytics", p) for p in positions)
        self.assertEqual(self.stack.psql("SELECT count(DISTINCT job_id) = count(*) FROM "
                                         "test_effects WHERE job_id IN (%s)" % ids), "t")

    def test_each_event_applied_once_across_workers_and_a_crash(self):
        self.publish(20)
        first = self.positions()
        self.wait_applied(first)
        # One worker dies hard; more events; a fresh worker joins.
        victim = self.stack.workers("analytics")[0]
        victim.signal(signal.SIGKILL)
        self.publish(20, round=2)
        self.stack.start_worker("analytics")
        both = self.positions()
        self.assertEqual(len(both), 40)
        self.wait_applied(both)
        self.assertGreaterEqual(int(self.stack.psql(
            "SELECT position FROM event_consumers WHERE name = 'analytics'")), max(both))
        # The pool's own reaction ran on the same events, once each, dated
        # when they were written.
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM analytics_events a JOIN outbox o ON o.position IN (%s) "
            "AND a.event_key = CASE o.position %s END AND a.occurred_at = o.created_at "
            "WHERE a.source = 'domain'"
            % (",".join(map(str, both)),
               " ".join("WHEN %d THEN '%s'" % (p, event_job_id("analytics", p)) for p in both))),
            "40")

    def test_a_failing_event_is_set_aside_and_the_rest_apply(self):
        self.publish(1, fail_event=True)
        bad = self.positions()
        self.publish(3, after=True)
        every = self.positions()
        good = [p for p in every if p not in bad]
        self.wait_applied(good)
        self.assertEqual(self.applied(bad), 0)
        self.assertEqual(self.stack.psql(
            "SELECT attempts || ' ' || error FROM event_failures WHERE consumer = 'analytics' "
            "AND position = %d" % bad[0]), "3 TEST_FAILURE")


if __name__ == "__main__":
    unittest.main()
