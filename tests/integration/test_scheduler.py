"""
The scheduler (mandi-scheduler) against the real stack: with two
schedulers running at once, a due occurrence fires exactly once (one
schedule_runs row, one job, which runs); its body's {{today}} and
{{yesterday}} become India dates; a schedule with a broken cron holds up
no other; a schedule never planned is planned, not fired; the seeded
schedules are there; GET /api/admin/schedules shows the last and next
runs and is for admins.
"""

import json
import time
import unittest
import uuid

from harness import Client, Stack, StackTestCase, wait_for


class Scheduler(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"orders": 1, "analytics": 1},
                          env={"MANDI_SCHEDULER_TICK_MS": "100"}, name="scheduler").start()
        cls.admin = cls.stack.token(str(uuid.uuid4()), "ADMIN")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        self.name = "test-" + uuid.uuid4().hex[:10]
        self.addCleanup(self.forget)

    def forget(self):
        self.stack.psql("DELETE FROM schedule_runs WHERE schedule LIKE '%s%%'; "
                        "DELETE FROM schedules WHERE name LIKE '%s%%'" % (self.name, self.name))

    def schedule(self, name, cron, body="{}", next_run="now() - interval '30 seconds'"):
        self.stack.psql("INSERT INTO schedules (name, cron, service, job_type, body, "
                        "description, next_run_at) VALUES ('%s', '%s', 'orders', 'test.echo', "
                        "'%s', 'a test', %s)" % (name, cron, body, next_run))

    def runs(self, name):
        return self.stack.psql("SELECT job_id || ' ' || scheduler FROM schedule_runs WHERE "
                               "schedule = '%s'" % name).split("\n")

    def test_two_schedulers_fire_an_occurrence_once(self):
        one, two = self.stack.start_scheduler(), self.stack.start_scheduler()
        try:
            self.schedule(self.name + "-broken", "61 * * * *")
            # Due now, and next on 1 January: any second run would be a repeat.
            self.schedule(self.name, "0 0 1 1 *",
                          body='{"day": "{{today}}", "before": "{{yesterday}}"}')
            wait_for(lambda: self.stack.psql("SELECT count(*) FROM schedule_runs WHERE "
                                             "schedule = '%s'" % self.name) == "1" or None, 15,
                     "the occurrence to fire")
            # Both schedulers keep looking; the occurrence stays fired once.
            time.sleep(1.0)
            runs = self.runs(self.name)
            self.assertEqual(len(runs), 1, runs)
            job_id = runs[0].split(" ")[0]
            self.assertEqual(self.stack.psql("SELECT count(*) FROM jobs WHERE request_id LIKE "
                                             "'schedule-%s-%%'" % self.name), "1")
            done = self.stack.wait_row(job_id, ("succeeded",))
            echoed = self.stack.job(job_id, token=self.admin).data["result"]["body"]
            # The occurrence's dates (30 seconds ago, India time).
            when = "(SELECT occurrence FROM schedule_runs WHERE schedule = '%s')" % self.name
            today = self.stack.psql("SELECT (%s AT TIME ZONE 'Asia/Kolkata')::date" % when)
            yesterday = self.stack.psql("SELECT (%s AT TIME ZONE 'Asia/Kolkata')::date - 1"
                                        % when)
            self.assertEqual(echoed, {"day": today, "before": yesterday}, done)
            # Moved on to 1 January; the broken one stays due, unfired.
            self.assertEqual(self.stack.psql(
                "SELECT to_char(next_run_at AT TIME ZONE 'Asia/Kolkata', 'MM-DD HH24:MI') || ' ' "
                "|| (last_job_id = '%s') FROM schedules WHERE name = '%s'"
                % (job_id, self.name)), "01-01 00:00 true")
            self.assertEqual(self.stack.psql("SELECT count(*) FROM schedule_runs WHERE "
                                             "schedule = '%s-broken'" % self.name), "0")
            # A schedule never planned is planned, not fired.
            self.schedule(self.name + "-new", "0 0 1 1 *", next_run="NULL")
            wait_for(lambda: self.stack.psql("SELECT next_run_at IS NOT NULL FROM schedules "
                                             "WHERE name = '%s-new'" % self.name) == "t" or None,
                     10, "the new schedule to be planned")
            self.assertEqual(self.stack.psql(
                "SELECT to_char(next_run_at AT TIME ZONE 'Asia/Kolkata', 'MM-DD HH24:MI') "
                "FROM schedules WHERE name = '%s-new'" % self.name), "01-01 00:00")
            self.assertEqual(self.runs(self.name + "-new"), [""])
        finally:
            for p in (one, two):
                p.close()

    def test_the_schedules_view(self):
        self.schedule(self.name, "*/15 * * * *", next_run="now() + interval '1 hour'")
        r = self.c.get("/api/admin/schedules", token=self.admin)
        self.assertEqual(r.status, 200, r)
        by_name = {s["name"]: s for s in r.data["items"]}
        for seeded in ("unpaid-orders", "listing-expiry", "reconciliation"):
            self.assertIn(seeded, by_name)
        self.assertEqual(by_name["reconciliation"]["job_type"], "payment.reconcile")
        self.assertEqual(json.dumps(by_name["reconciliation"]["body"], sort_keys=True),
                         '{"from": "{{yesterday}}", "to": "{{yesterday}}"}')
        mine = by_name[self.name]
        self.assertEqual((mine["cron"], mine["timezone"], mine["last_run_at"]),
                         ("*/15 * * * *", "Asia/Kolkata", None))
        self.assertIsNotNone(mine["next_run_at"])
        self.assertError(self.c.get("/api/admin/schedules",
                                    token=self.stack.token(str(uuid.uuid4()), "USER")), 403,
                         "FORBIDDEN")
        self.assertEqual(self.c.get("/api/admin/schedules").status, 401)


if __name__ == "__main__":
    unittest.main()
