"""
Outbound webhooks for partners through the whole stack: an admin registers
a partner's URL (tests/fakes/webhook_receiver.py) for topic prefixes; the
notifications pool turns each matching domain event into one delivery,
POSTed with a signature the partner can check (HMAC-SHA256 of
"timestamp.body" under the secret); 5xx answers are retried with the same
delivery id and body until the partner takes it; a 4xx fails it at once;
the delivery log shows every attempt; a deleted webhook gets nothing more;
bad input and roles.
"""

import hashlib
import hmac
import json
import os
import sys
import unittest
import uuid

from harness import Client, Stack, StackTestCase, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from webhook_receiver import WebhookReceiver  # noqa: E402


class PartnerWebhooks(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(pools={"accounts": 1, "notifications": 1},
                          env={"MANDI_WEBHOOK_RETRY_MS": "200"}, name="webhooks").start()
        cls.admin = cls.stack.token(str(uuid.uuid4()), "ADMIN")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        super().setUp()
        self.c = Client(self.stack)
        self.hook = WebhookReceiver().__enter__()
        self.addCleanup(self.hook.__exit__, None, None, None)
        self.marker = uuid.uuid4().hex

    def register(self, events=("test.",), **extra):
        r = self.c.post("/api/admin/webhooks", dict(url=self.hook.url, events=list(events),
                                                     **extra), token=self.admin)
        self.assertEqual(r.status, 201, r)
        self.addCleanup(self.c.delete, "/api/admin/webhooks/" + r.data["id"], token=self.admin)
        return r.data

    def publish(self, **body):
        r = self.c.post("/api/_test/accounts/publish", dict(marker=self.marker, **body))
        self.assertEqual(r.status, 200, r)

    def mine(self, requests):
        return [q for q in requests if self.marker.encode() in q["body"]]

    def deliveries(self, hook_id):
        r = self.c.get("/api/admin/webhooks/%s/deliveries" % hook_id, token=self.admin)
        self.assertEqual(r.status, 200, r)
        return r.data["items"]

    def test_signed_delivery_retried_until_taken(self):
        made = self.register(secret="partner-secret-0123456789")
        self.assertEqual(made["secret"], "partner-secret-0123456789")
        self.hook.answer(500, 503)
        self.publish(n=1)
        got = wait_for(lambda: len(self.mine(self.hook.received())) >= 3 or None, 20,
                       "three attempts")
        attempts = self.mine(self.hook.received())
        self.assertEqual(len(attempts), 3, attempts)
        ids = {q["headers"]["X-Mandi-Delivery"] for q in attempts}
        self.assertEqual(len(ids), 1)
        self.assertEqual(len({q["body"] for q in attempts}), 1)
        for q in attempts:
            ts, sig = q["headers"]["X-Mandi-Timestamp"], q["headers"]["X-Mandi-Signature"]
            want = hmac.new(b"partner-secret-0123456789", ts.encode() + b"." + q["body"],
                            hashlib.sha256).hexdigest()
            self.assertEqual(sig, "v1=" + want)
            self.assertEqual(q["headers"]["X-Mandi-Event"], "test.published")
        doc = json.loads(attempts[0]["body"])
        self.assertEqual((doc["event"], doc["data"]["body"]["marker"]),
                         ("test.published", self.marker))
        self.assertTrue(got)
        log = wait_for(lambda: [d for d in self.deliveries(made["id"])
                                if d["status"] == "delivered"] or None, 10, "the log")
        self.assertEqual((log[0]["attempts"], log[0]["last_status"]), (3, 200))

    def test_a_refusal_is_final_and_only_matching_events_go(self):
        made = self.register(events=["test.published"])
        other = self.register(events=["order."])
        self.hook.answer(410)
        self.publish(n=2)
        wait_for(lambda: self.mine(self.hook.received()) or None, 20, "the delivery")
        log = wait_for(lambda: [d for d in self.deliveries(made["id"])
                                if d["status"] == "failed"] or None, 10, "the failure")
        self.assertEqual((log[0]["attempts"], log[0]["last_status"]), (1, 410))
        self.assertEqual(self.deliveries(other["id"]), [])
        self.assertEqual(len(self.mine(self.hook.received())), 1)

    def test_deleted_webhooks_get_nothing(self):
        made = self.register()
        r = self.c.delete("/api/admin/webhooks/" + made["id"], token=self.admin)
        self.assertEqual((r.status, r.data["deleted"]), (200, True), r)
        self.assertNotIn(made["id"], [w["id"] for w in self.c.get(
            "/api/admin/webhooks", token=self.admin).data["items"]])
        # Another webhook's delivery of the same event proves it was handled.
        seen = self.register()
        self.publish(n=3)
        wait_for(lambda: self.deliveries(seen["id"]) or None, 20, "the event to be handled")
        self.assertEqual(self.deliveries(made["id"]), [])
        self.assertError(self.c.delete("/api/admin/webhooks/" + made["id"], token=self.admin),
                         404, "WEBHOOK_NOT_FOUND")

    def test_bad_input_and_roles(self):
        post = lambda body, token=None: self.c.post(  # noqa: E731
            "/api/admin/webhooks", body, token=token or self.admin)
        self.assertError(post({"url": "ftp://x.invalid/h", "events": ["order."]}), 400,
                         "VALIDATION_ERROR", "url")
        self.assertError(post({"url": self.hook.url, "events": []}), 400, "VALIDATION_ERROR",
                         "events")
        self.assertError(post({"url": self.hook.url, "events": ["Order.*"]}), 400,
                         "VALIDATION_ERROR", "events")
        self.assertError(post({"url": self.hook.url}), 400, "VALIDATION_ERROR", "events")
        self.assertError(post({"url": self.hook.url, "events": ["order."], "secret": "short"}),
                         400, "VALIDATION_ERROR", "secret")
        user = self.stack.token(str(uuid.uuid4()), "FINANCE")
        self.assertError(post({"url": self.hook.url, "events": ["order."]}, token=user), 403,
                         "FORBIDDEN")
        made = post({"url": self.hook.url, "events": ["order."]})
        self.assertEqual(made.status, 201, made)
        # A secret of mandi's own: 32 random bytes, base64url.
        self.assertRegex(made.data["secret"], r"^[A-Za-z0-9_-]{43}$")
        self.c.delete("/api/admin/webhooks/" + made.data["id"], token=self.admin)


if __name__ == "__main__":
    unittest.main()
