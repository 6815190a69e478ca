"""
Quiet hours: with MANDI_QUIET_HOURS_START/END set around the present India
time, a promotional SMS, email or push is held (its delivery row "held",
its job waiting in the jobs table until the hours end) while order and
security messages and the inbox go at once; a held message goes when its
time comes. Also the window arithmetic of mandi_quiet_until, over midnight.
"""

import datetime
import unittest
import uuid

from notify_case import NotifyCase

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
NOW = datetime.datetime.now(IST)
START = (NOW - datetime.timedelta(hours=1)).strftime("%H:%M")
END = (NOW + datetime.timedelta(hours=1)).strftime("%H:%M")


class QuietHours(NotifyCase):
    env = {"MANDI_QUIET_HOURS_START": START, "MANDI_QUIET_HOURS_END": END}

    def test_promotional_messages_wait_for_the_end(self):
        u = self.user(preferences={"notifications": {"marketing": True}})
        self.device(u)
        result, ref = self.event("notify.back_in_stock",
                                 {"user_id": u["id"], "product_id": str(uuid.uuid4()),
                                  "product_name": "Saffron"})
        self.assertEqual(result, {"in_app": 1, "deliveries": 2, "held": 2})
        self.assertEqual(self.inbox(u)["items"][0]["title"], "Saffron is back")
        held = self.deliveries(ref)
        self.assertEqual([(d["channel"], d["status"]) for d in held],
                         [("email", "held"), ("push", "held")])
        # Each job waits until the end of quiet hours (END today or, past
        # midnight, tomorrow), not sooner.
        ends = self.rows("SELECT j.status, j.attempts, extract(epoch FROM j.lease_until) AS at "
                         "FROM jobs j JOIN notification_deliveries d ON d.job_id = j.id "
                         "WHERE d.ref = '%s'" % ref)
        end = NOW.replace(hour=int(END[:2]), minute=int(END[3:]), second=0, microsecond=0)
        if end < NOW:
            end += datetime.timedelta(days=1)
        for j in ends:
            self.assertEqual((j["status"], j["attempts"]), ("queued", 0))
            self.assertAlmostEqual(j["at"], end.timestamp(), delta=1)
        self.assertEqual(self.stack.emails(u["email"]), [])

        # When the time comes (here: made to come), they go.
        self.stack.psql("UPDATE jobs SET lease_until = now() WHERE id IN (SELECT job_id FROM "
                        "notification_deliveries WHERE ref = '%s')" % ref)
        sent = self.wait_deliveries(ref, count=2)
        self.assertEqual([d["status"] for d in sent], ["sent", "sent"])
        self.assertEqual(len(self.stack.wait_email(u["email"])), 1)

    def test_order_and_security_messages_are_not_held(self):
        u = self.user(preferences={"notifications": {"marketing": True}})
        result, ref = self.event("order.status_changed", self.order(u))
        self.assertEqual((result["deliveries"], result["held"]), (2, 0))
        self.wait_deliveries(ref, count=2)
        result, ref = self.event("notify.otp", {"user_id": u["id"], "code": "111222"})
        self.assertEqual((result["deliveries"], result["held"]), (1, 0))
        self.wait_deliveries(ref, count=1)

    def test_the_window(self):
        def until(at, start, end):
            return self.stack.psql(
                "SELECT coalesce(to_char(mandi_quiet_until('%s'::timestamptz, '%s', '%s') "
                "AT TIME ZONE 'Asia/Kolkata', 'YYYY-MM-DD HH24:MI'), 'none')" % (at, start, end))
        self.assertEqual(until("2026-03-01 23:30+05:30", "22:00", "08:00"), "2026-03-02 08:00")
        self.assertEqual(until("2026-03-01 07:59+05:30", "22:00", "08:00"), "2026-03-01 08:00")
        self.assertEqual(until("2026-03-01 08:00+05:30", "22:00", "08:00"), "none")
        self.assertEqual(until("2026-03-01 21:59+05:30", "22:00", "08:00"), "none")
        self.assertEqual(until("2026-03-01 22:00+05:30", "22:00", "08:00"), "2026-03-02 08:00")
        self.assertEqual(until("2026-03-01 13:00+05:30", "12:00", "14:00"), "2026-03-01 14:00")
        self.assertEqual(until("2026-03-01 14:00+05:30", "12:00", "14:00"), "none")
        self.assertEqual(until("2026-03-01 13:00+05:30", "00:00", "00:00"), "none")
        # 23:30 India time is 18:00 UTC: the zone is India's, not the server's.
        self.assertEqual(until("2026-03-01 18:00+00", "22:00", "08:00"), "2026-03-02 08:00")


if __name__ == "__main__":
    unittest.main()
