"""
Outbound partner webhooks: registering, listing and deleting them (admins
only, bad input refused naming the field), every matching domain event
POSTed to a local receiver with a signature the test checks, 5xx retried
until it goes, other answers final, each event once per webhook, and the
delivery log.
"""

import hashlib
import hmac
import http.server
import json
import threading
import time
import unittest
import uuid

from harness import wait_for
from notify_case import NotifyCase


class Receiver:
    """A partner's endpoint: records each request; answers the statuses
    queued in `answers` first, then 200."""

    def __init__(self):
        self.requests = []
        self.answers = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.requests.append({"headers": {k.lower(): v for k, v in
                                                          self.headers.items()},
                                              "raw": raw, "status": status,
                                              "path": self.path})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def got(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


class Webhooks(NotifyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.receiver.stop()
        super().tearDownClass()

    def webhook(self, events, path=None, **extra):
        path = path or "/hook-" + uuid.uuid4().hex
        body = {"url": self.receiver.url + path, "events": events}
        body.update(extra)
        r = self.c.post("/api/admin/webhooks", body, token=self.admin)
        self.assertEqual(r.status, 201, r)
        return r.data, path

    def check_signature(self, req, secret):
        sig = dict(part.split("=", 1) for part in req["headers"]["x-mandi-signature"].split(","))
        want = hmac.new(secret.encode(), sig["t"].encode() + b"." + req["raw"],
                        hashlib.sha256).hexdigest()
        self.assertEqual(sig["v1"], want)
        self.assertLess(abs(int(sig["t"]) - time.time()), 60)

    def log(self, hook):
        r = self.c.get("/api/admin/webhooks/%s/deliveries" % hook["id"], token=self.admin)
        self.assertEqual(r.status, 200, r)
        return r.data["items"]

    def test_matching_events_are_posted_signed_and_once(self):
        hook, path = self.webhook(["order.", "refund.processed"])
        self.assertEqual(len(hook["secret"]), 43)
        u = self.user()
        order = self.order(u)
        _, ref = self.event("order.status_changed", order)
        self.event("order.status_changed", order, ref=ref)  # the same event again
        self.event("payout.processed", {"id": "po", "user_id": u["id"], "amount_paise": 1})
        got = wait_for(lambda: self.receiver.got(path), 15, "the webhook")
        time.sleep(1.5)
        got = self.receiver.got(path)
        self.assertEqual(len(got), 1, got)
        req = got[0]
        self.check_signature(req, hook["secret"])
        body = json.loads(req["raw"])
        self.assertEqual((body["event"], body["data"]), ("order.status_changed", order))
        self.assertEqual(req["headers"]["x-mandi-event"], "order.status_changed")
        self.assertEqual(req["headers"]["x-mandi-delivery"], body["id"])
        log = self.log(hook)
        self.assertEqual([(d["id"], d["status"], d["attempts"]) for d in log],
                         [(body["id"], "sent", 1)])
        # The secret is shown once.
        listed = [w for w in self.c.get("/api/admin/webhooks?limit=100",
                                        token=self.admin).data["items"] if w["id"] == hook["id"]]
        self.assertEqual(len(listed), 1)
        self.assertNotIn("secret", listed[0])

    def test_5xx_is_retried_and_4xx_is_final(self):
        hook, path = self.webhook(["refund."], secret="s" * 20)
        u = self.user()
        with self.receiver.lock:
            self.receiver.answers = [500, 503]
        self.event("refund.processed", {"id": "r1", "user_id": u["id"], "amount_paise": 1})
        wait_for(lambda: [d for d in self.log(hook) if d["status"] == "sent"], 20,
                 "the delivery to go")
        got = self.receiver.got(path)
        self.assertEqual([r["status"] for r in got], [500, 503, 200])
        self.assertEqual(len({r["headers"]["x-mandi-delivery"] for r in got}), 1)
        self.check_signature(got[-1], "s" * 20)
        with self.receiver.lock:
            self.receiver.answers = [410]
        self.event("refund.processed", {"id": "r2", "user_id": u["id"], "amount_paise": 1})
        dead = wait_for(lambda: [d for d in self.log(hook) if d["status"] == "dead"], 20,
                        "the refused delivery to be dead")
        self.assertEqual((dead[0]["attempts"], dead[0]["last_status"]), (1, 410))
        time.sleep(1.0)
        self.assertEqual(len(self.receiver.got(path)), 4)

    def test_a_deleted_webhook_gets_nothing(self):
        hook, path = self.webhook(["stock."])
        r = self.c.delete("/api/admin/webhooks/%s" % hook["id"], token=self.admin)
        self.assertEqual((r.status, r.data), (200, {"id": hook["id"], "deleted": True}), r)
        self.assertError(self.c.delete("/api/admin/webhooks/%s" % hook["id"], token=self.admin),
                         404, "WEBHOOK_NOT_FOUND")
        m = self.user(role="MERCHANT")
        self.event("stock.low", {"product_id": "p", "owner_id": m["id"], "after": 1})
        time.sleep(1.5)
        self.assertEqual(self.receiver.got(path), [])
        self.assertEqual(self.log(hook), [])

    def test_bad_input_and_roles(self):
        path = "/api/admin/webhooks"
        good = {"url": "https://partner.example/hook", "events": ["order."]}
        for change, field in (({"url": "ftp://x.example/h"}, "url"),
                              ({"url": "https://a b.example"}, "url"),
                              ({"url": 7}, "url"),
                              ({"events": []}, "events"),
                              ({"events": "order."}, "events"),
                              ({"events": ["Order!"]}, "events"),
                              ({"secret": "short"}, "secret")):
            self.assertError(self.c.post(path, dict(good, **change), token=self.admin), 400,
                             "VALIDATION_ERROR", field)
        self.assertError(self.c.post(path, {"events": ["order."]}, token=self.admin), 400,
                         "VALIDATION_ERROR", "url")
        user = self.user()
        self.assertError(self.c.post(path, good, token=user["token"]), 403, "FORBIDDEN")
        self.assertError(self.c.get(path, token=user["token"]), 403, "FORBIDDEN")
        self.assertError(self.c.get(path), 401, "AUTH_REQUIRED")
        self.assertError(self.c.get("/api/admin/webhooks/%s/deliveries" % uuid.uuid4(),
                                    token=self.admin), 404, "WEBHOOK_NOT_FOUND")


if __name__ == "__main__":
    unittest.main()
