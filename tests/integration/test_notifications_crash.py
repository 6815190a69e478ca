"""
At most once per (event, user, channel) across a worker crash: the
notifications worker is killed while the SMS provider (tests/fakes/msg91.py)
holds its request, so the message may or may not have gone. The job is
given to another worker, which finds the send claimed by the lost run and
does not send again: the delivery is dead "in doubt" (409
DELIVERY_IN_DOUBT), the provider saw one request, and an admin's retry
sends it once more on purpose. A crash before any send is not in doubt:
the next run sends.
"""

import json
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "fakes"))
from msg91 import FakeMsg91  # noqa: E402
from notify_case import NotifyCase  # noqa: E402

from harness import wait_for  # noqa: E402

FLOW = "/api/v5/flow/"


class CrashWhileSending(NotifyCase):
    pools = {"accounts": 1, "notifications": 1}

    @classmethod
    def stack_env(cls):
        cls.msg91 = FakeMsg91(auth_key="msg91-key-1", template_id="tmpl-content").start()
        return {
            "MANDI_SMS_PROVIDER": "msg91", "MSG91_API_BASE": cls.msg91.url,
            "MSG91_AUTH_KEY": "msg91-key-1", "MSG91_TEMPLATE_ID": "tmpl-content",
            "MSG91_SENDER": "MANDIX",
            # Long enough that the worker is still waiting when it is killed.
            "MANDI_NOTIFY_TIMEOUT_MS": "20000",
        }

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.msg91.stop()

    def setUp(self):
        super().setUp()
        self.msg91.clear_faults()

    def requests_to(self, user):
        mobiles = user["phone"][1:]
        return [r for r in self.msg91.requests(FLOW)
                if mobiles in json.dumps(r.get("body"))]

    def kill_the_worker(self):
        victim = self.stack.workers("notifications")[0]
        victim.signal(signal.SIGKILL)
        self.stack.start_worker("notifications")

    def test_a_send_cut_off_by_a_crash_is_not_sent_again(self):
        u = self.user()
        self.msg91.add_fault(FLOW, kind="hang", seconds=15, count=1)
        _, ref = self.event("order.status_changed", self.order(u))
        sms = lambda: [d for d in self.deliveries(ref) if d["channel"] == "sms"]  # noqa: E731
        wait_for(lambda: self.requests_to(u) or None, 15, "the SMS request at the provider")
        self.kill_the_worker()

        dead = wait_for(lambda: [d for d in sms() if d["status"] == "dead"] or None, 60,
                        "the SMS delivery to be given up as in doubt")[0]
        self.assertIn("in doubt", dead["last_error"])
        self.assertEqual(len(self.requests_to(u)), 1)
        job = self.stack.wait_job(dead["job_id"], statuses=("failed",), timeout=10)
        self.assertEqual(job["http_status"], 409, job)
        self.assertEqual(job["error"]["code"], "DELIVERY_IN_DOUBT")
        # The email of the same event was not in doubt: it went once.
        mail = [d for d in self.deliveries(ref) if d["channel"] == "email"]
        self.assertEqual([d["status"] for d in mail], ["sent"])

        # On the admins' dead-letter list; a retry sends it, once.
        admin = self.user(role="ADMIN")
        r = self.c.get("/api/admin/notifications/failed", token=admin["token"])
        self.assertEqual(r.status, 200, r)
        self.assertIn(dead["id"], [x["id"] for x in r.data["items"]])
        r = self.c.post("/api/admin/notifications/failed/%s/retry" % dead["id"],
                        token=admin["token"])
        self.assertIn(r.status, (200, 202), r)
        wait_for(lambda: [d for d in sms() if d["status"] == "sent"] or None, 20,
                 "the retried SMS to be sent")
        self.assertEqual(len(self.requests_to(u)), 2)

    def test_a_failure_given_back_is_sent_by_the_next_try(self):
        """A passing failure returns its claim: the retry is not in doubt."""
        u = self.user()
        self.msg91.add_fault(FLOW, status=503, count=1)
        _, ref = self.event("order.status_changed", self.order(u))
        sent = wait_for(lambda: [d for d in self.deliveries(ref)
                                 if d["channel"] == "sms" and d["status"] == "sent"] or None,
                        20, "the SMS to be sent after one 503")
        self.assertEqual(sent[0]["attempts"], 2)
        self.assertEqual(len(self.requests_to(u)), 2)


if __name__ == "__main__":
    unittest.main()
