"""
Quiet hours: with MANDI_QUIET_HOURS_START/END set around the present India
time, a promotional SMS, email or push is held (its delivery row "held",
its job waiting in the jobs table until the hours end) while order and
security messages and the inbox go at once; a held message goes when its
time comes; a user's own quiet hours replace the service's. Also the window arithmetic of mandi_quiet_until, over midnight.
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
        # A sign-in code is a direct send: quiet hours never hold it.
        r = self.c.post("/api/auth/send-otp", {"phone": u["phone"]})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.stack.wait_sms(u["phone"])), 1)

    def test_the_users_own_quiet_hours(self):
        """A user's preferences.quiet_hours win over the service's: one who
        set none outside the present holds nothing; one who set hours around
        the present gets the message held until their end."""
        open_all_day = self.user(preferences={"notifications": {"marketing": True},
                                              "quiet_hours": {"start": "00:00", "end": "00:00"}})
        own_start = (NOW - datetime.timedelta(minutes=30)).strftime("%H:%M")
        own_end = (NOW + datetime.timedelta(minutes=30)).strftime("%H:%M")
        own = self.user(preferences={"notifications": {"marketing": True},
                                     "quiet_hours": {"start": own_start, "end": own_end}})
        body = {"product_id": str(uuid.uuid4()), "product_name": "Kesar"}
        result, ref = self.event("notify.back_in_stock", dict(body, user_id=open_all_day["id"]))
        self.assertEqual(result, {"in_app": 1, "deliveries": 1, "held": 0})
        self.assertEqual(self.wait_deliveries(ref, count=1)[0]["status"], "sent")
        result, ref = self.event("notify.back_in_stock", dict(body, user_id=own["id"]))
        self.assertEqual(result, {"in_app": 1, "deliveries": 1, "held": 1})
        at = float(self.stack.psql(
            "SELECT extract(epoch FROM j.lease_until) FROM jobs j JOIN notification_deliveries d "
            "ON d.job_id = j.id WHERE d.ref = '%s'" % ref))
        end = NOW.replace(hour=int(own_end[:2]), minute=int(own_end[3:]), second=0,
                          microsecond=0)
        if end < NOW:
            end += datetime.timedelta(days=1)
        self.assertAlmostEqual(at, end.timestamp(), delta=1)

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
