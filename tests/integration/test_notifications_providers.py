"""
The notifications pool against local fakes of its providers
(tests/fakes/msg91.py, sendgrid.py, fcm.py), which check the real request
shapes and credentials: every channel on the wire, retries with back-off on
5xx and timeouts, no retry on 4xx, the dead-letter list and its retry, and
push tokens FCM reports invalid removed. FCM's access tokens are bought
from the (fake) Google token endpoint with the service account's signed
assertion, kept, and replaced when FCM refuses one. Also the accounts
pool's OTP going out through MSG91.
"""

import os
import shutil
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "fakes"))
from fcm import FakeFcm, make_service_account  # noqa: E402
from msg91 import FakeMsg91  # noqa: E402
from notify_case import NotifyCase  # noqa: E402
from sendgrid import FakeSendGrid  # noqa: E402

from harness import wait_for  # noqa: E402

FLOW = "/api/v5/flow/"
MAIL = "/v3/mail/send"
PUSH = "/v1/projects/mandi-test/messages:send"


class Providers(NotifyCase):
    @classmethod
    def stack_env(cls):
        cls.msg91 = FakeMsg91(auth_key="msg91-key-1", template_id="tmpl-content").start()
        cls.sendgrid = FakeSendGrid(api_key="SG.key-1").start()
        cls.fcm = FakeFcm(project="mandi-test",
                          client_email="mandi-push@mandi-test.iam.gserviceaccount.com").start()
        # The key file names the fake's token endpoint and the project, as
        # a real one names Google's: FCM_TOKEN_URL and FCM_PROJECT_ID stay
        # unset, so the worker reads both from the file.
        cls.key_dir = tempfile.mkdtemp(prefix="mandi-fcm-")
        key_file, cls.fcm.public_key = make_service_account(
            cls.key_dir, project="mandi-test", client_email=cls.fcm.client_email,
            token_uri=cls.fcm.token_url)
        return {
            "MANDI_SMS_PROVIDER": "msg91", "MSG91_API_BASE": cls.msg91.url,
            "MSG91_AUTH_KEY": "msg91-key-1", "MSG91_TEMPLATE_ID": "tmpl-content",
            "MSG91_SENDER": "MANDIX",
            "MANDI_EMAIL_PROVIDER": "sendgrid", "SENDGRID_API_BASE": cls.sendgrid.url,
            "SENDGRID_API_KEY": "SG.key-1", "MANDI_EMAIL_FROM": "orders@mandi.example",
            "MANDI_PUSH_PROVIDER": "fcm", "FCM_API_BASE": cls.fcm.url,
            "FCM_SERVICE_ACCOUNT_FILE": key_file,
            "MANDI_NOTIFY_TIMEOUT_MS": "1000", "MANDI_MAX_ATTEMPTS": "3",
            "MANDI_OTP_RESEND_S": "0",
        }

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for fake in (cls.msg91, cls.sendgrid, cls.fcm):
            fake.stop()
        shutil.rmtree(cls.key_dir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        for fake in (self.msg91, self.sendgrid, self.fcm):
            fake.clear_faults()

    def fcm_token(self):
        return "fcm" + uuid.uuid4().hex + ":" + uuid.uuid4().hex

    # ---- the wire --------------------------------------------------------------

    def test_every_channel_on_the_wire(self):
        u = self.user()
        token = self.device(u, token=self.fcm_token())
        order = self.order(u)
        _, ref = self.event("order.status_changed", order)
        d = {x["channel"]: x for x in self.wait_deliveries(ref, count=3)}

        mobiles = u["phone"][1:]
        sms = [m for m in self.msg91.sms() if m["mobiles"] == mobiles]
        self.assertEqual(len(sms), 1, sms)
        self.assertEqual(sms[0]["variables"]["content"],
                         "mandi: order %s (\u20b91234.50) confirmed." % order["number"])
        self.assertEqual(sms[0]["sender"], "MANDIX")
        self.assertEqual(d["sms"]["provider_id"], sms[0]["request_id"])
        self.assertEqual(d["sms"]["provider"], "msg91")

        mails = [m for m in self.sendgrid.mails() if m["to"] == [u["email"]]]
        self.assertEqual(len(mails), 1, mails)
        m = mails[0]
        self.assertEqual((m["from"], m["subject"]),
                         ("orders@mandi.example", "Order %s confirmed" % order["number"]))
        self.assertEqual(m["content"], [{"type": "text/plain", "value":
                                         "Your order %s of \u20b91234.50 is confirmed."
                                         % order["number"]}])
        self.assertEqual(m["custom_args"], {"delivery_id": d["email"]["id"]})
        self.assertEqual(d["email"]["provider_id"], m["message_id"])

        pushes = [p for p in self.fcm.messages() if p["token"] == token]
        self.assertEqual(len(pushes), 1, pushes)
        self.assertEqual(pushes[0]["notification"],
                         {"title": "Order %s confirmed" % order["number"],
                          "body": "Your order %s of \u20b91234.50 is confirmed."
                          % order["number"]})
        self.assertEqual(pushes[0]["data"], {"event": "order.confirmed",
                                             "delivery_id": d["push"]["id"]})
        self.assertEqual(d["push"]["provider_id"], pushes[0]["name"])
        # Sent with a token the token endpoint sold for the account's
        # assertion (the fake verified its RS256 signature with the key).
        grant = self.fcm.grants()[-1]
        self.assertEqual((grant["iss"], grant["aud"], grant["scope"]),
                         (self.fcm.client_email, self.fcm.token_url,
                          "https://www.googleapis.com/auth/firebase.messaging"))
        self.assertEqual(grant["exp"] - grant["iat"], 3600)
        sent = [r for r in self.fcm.requests(PUSH) if r["body"]["message"]["token"] == token]
        self.assertTrue(sent[0]["headers"]["authorization"].startswith("Bearer ya29.c."))

    # ---- retries ---------------------------------------------------------------

    def test_5xx_is_retried_with_back_off_until_it_goes(self):
        u = self.user(phone=False)
        self.sendgrid.add_fault(MAIL, status=500, count=2)
        self.sendgrid.clear_requests()
        _, ref = self.event("refund.processed", {"id": "rf", "user_id": u["id"],
                                                 "amount_paise": 250000})
        d = self.wait_deliveries(ref, count=1)
        self.assertEqual((d[0]["status"], d[0]["attempts"], d[0]["last_status"]),
                         ("sent", 3, 202))
        tries = [r for r in self.sendgrid.requests(MAIL)
                 if (r["body"].get("custom_args") or {}).get("delivery_id") == d[0]["id"]]
        self.assertEqual([r["status"] for r in tries], [500, 500, 202])
        job = self.stack.wait_job(d[0]["job_id"])
        self.assertEqual((job["status"], job["attempts"]), ("succeeded", 3))

    def test_a_timeout_is_retried(self):
        u = self.user(email=False)
        self.msg91.add_fault(FLOW, kind="hang", seconds=3, count=1)
        _, ref = self.event("order.status_changed", self.order(u, status="SHIPPED"))
        d = self.wait_deliveries(ref, count=1, timeout=30)
        self.assertEqual((d[0]["channel"], d[0]["attempts"]), ("sms", 2))

    def test_4xx_is_not_retried_and_waits_in_the_dead_letters(self):
        u = self.user(email=False)
        self.msg91.add_fault(FLOW, status=400, count=1,
                             body={"type": "error", "message": "Invalid mobile number"})
        self.msg91.clear_requests()
        _, ref = self.event("order.status_changed", self.order(u, status="SHIPPED"))
        d = self.wait_deliveries(ref, statuses=("dead",), count=1)[0]
        self.assertEqual((d["attempts"], d["last_status"]), (1, 400))
        self.assertIn("Invalid mobile number", d["last_error"])
        job = self.stack.wait_job(d["job_id"])
        self.assertEqual((job["status"], job["attempts"], job["http_status"]), ("failed", 1, 502))
        time.sleep(1.0)
        mine = [r for r in self.msg91.requests(FLOW)
                if r["body"]["recipients"][0]["mobiles"] == u["phone"][1:]]
        self.assertEqual(len(mine), 1, mine)

        r = self.c.get("/api/admin/notifications/failed?channel=sms&limit=100", token=self.admin)
        self.assertEqual(r.status, 200, r)
        listed = [x for x in r.data["items"] if x["id"] == d["id"]]
        self.assertEqual(len(listed), 1, r.data)
        self.assertEqual((listed[0]["status"], listed[0]["recipient"]), ("dead", u["phone"]))
        r = self.c.get("/api/admin/notifications/failed?channel=email&limit=100",
                       token=self.admin)
        self.assertNotIn(d["id"], [x["id"] for x in r.data["items"]])
        self.assertError(self.c.get("/api/admin/notifications/failed?channel=fax",
                                    token=self.admin), 400, "VALIDATION_ERROR", "channel")

        # Retried by an admin, it goes (the fault is spent).
        r = self.c.post("/api/admin/notifications/failed/%s/retry" % d["id"], token=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.data["status"], r.data["attempts"]), ("queued", 0))
        d = self.wait_deliveries(ref, count=1)[0]
        self.assertEqual((d["status"], d["attempts"]), ("sent", 1))
        r = self.c.post("/api/admin/notifications/failed/%s/retry" % d["id"], token=self.admin)
        self.assertError(r, 409, "DELIVERY_NOT_DEAD")
        self.assertEqual(r.error["details"], {"status": "sent"})
        self.assertError(self.c.post("/api/admin/notifications/failed/%s/retry" % uuid.uuid4(),
                                     token=self.admin), 404, "DELIVERY_NOT_FOUND")
        self.assertError(self.c.post("/api/admin/notifications/failed/nope/retry",
                                     token=self.admin), 400, "VALIDATION_ERROR", "id")

    def test_5xx_on_every_attempt_ends_dead(self):
        u = self.user(email=False)
        self.msg91.add_fault(FLOW, status=503, count=3)
        _, ref = self.event("order.status_changed", self.order(u, status="SHIPPED"))
        d = self.wait_deliveries(ref, statuses=("dead",), count=1)[0]
        self.assertEqual((d["attempts"], d["last_status"]), (3, 503))
        job = self.stack.wait_job(d["job_id"])
        self.assertEqual((job["status"], job["attempts"]), ("failed", 3))
        self.assertEqual(job["error"]["code"], "PROVIDER_UNAVAILABLE")

    def test_wrong_credentials_are_a_refusal(self):
        # A 401 from the provider is not retried either.
        u = self.user(phone=False)
        self.sendgrid.api_key = "SG.rotated"
        try:
            _, ref = self.event("refund.processed", {"id": "rf", "user_id": u["id"],
                                                     "amount_paise": 100})
            d = self.wait_deliveries(ref, statuses=("dead",), count=1)[0]
        finally:
            self.sendgrid.api_key = "SG.key-1"
        self.assertEqual((d["attempts"], d["last_status"]), (1, 401))

    # ---- push tokens -----------------------------------------------------------

    def test_tokens_fcm_reports_invalid_are_removed(self):
        u = self.user(phone=False, preferences={"notifications": {"email": False}})
        good, gone = self.fcm_token(), self.fcm_token()
        self.device(u, token=good)
        self.device(u, token=gone)
        self.device(u, token="short-token")  # not a registration token: 400 from FCM
        self.fcm.unregister(gone)
        _, ref = self.event("order.status_changed", self.order(u, status="DELIVERED"))
        d = self.wait_deliveries(ref, count=1)[0]
        self.assertEqual(d["channel"], "push")
        self.assertEqual([p["token"] for p in self.fcm.messages() if p["token"] in
                          (good, gone, "short-token")], [good])
        tokens = self.rows("SELECT token FROM device_tokens WHERE user_id = '%s'" % u["id"])
        self.assertEqual(tokens, [{"token": good}])
        # With no valid device left, the message is skipped, not dead.
        self.fcm.unregister(good)
        _, ref = self.event("order.status_changed", self.order(u, status="DELIVERED"))
        d = self.wait_deliveries(ref, statuses=("skipped",), count=1)[0]
        self.assertIn("no valid device token", d["last_error"])
        self.assertEqual(self.rows("SELECT token FROM device_tokens WHERE user_id = '%s'"
                                   % u["id"]), [])

    # ---- FCM's access token -------------------------------------------------------

    def push_user(self):
        u = self.user(phone=False, preferences={"notifications": {"email": False}})
        self.device(u, token=self.fcm_token())
        return u

    def push(self, u, statuses=("sent",)):
        _, ref = self.event("order.status_changed", self.order(u, status="DELIVERED"))
        return self.wait_deliveries(ref, statuses=statuses, count=1)[0]

    def test_the_access_token_is_bought_once_and_kept(self):
        self.push(self.push_user())  # holds a token from here on
        bought = len(self.fcm.grants())
        for _ in range(3):
            d = self.push(self.push_user())
            self.assertEqual((d["channel"], d["attempts"]), ("push", 1))
        self.assertEqual(len(self.fcm.grants()), bought)
        self.assertEqual(self.fcm.requests("/token")[-1]["headers"]["content-type"],
                         "application/x-www-form-urlencoded")

    def test_a_refused_access_token_is_replaced(self):
        self.push(self.push_user())
        bought = len(self.fcm.grants())
        self.fcm.revoke_tokens()
        self.fcm.clear_requests()
        d = self.push(self.push_user())
        self.assertEqual((d["attempts"], d["last_status"]), (2, 200))
        self.assertEqual([r["status"] for r in self.fcm.requests(PUSH)], [401, 200])
        self.assertEqual(len(self.fcm.grants()), bought + 1)

    def test_a_token_endpoint_outage_is_retried(self):
        self.push(self.push_user())
        self.fcm.revoke_tokens()
        self.fcm.clear_requests()
        self.fcm.add_fault("/token", status=503, count=1)
        d = self.push(self.push_user())
        self.assertEqual((d["status"], d["attempts"]), ("sent", 3))
        self.assertEqual([(r["path"], r["status"]) for r in self.fcm.requests()],
                         [(PUSH, 401), ("/token", 503), ("/token", 200), (PUSH, 200)])

    def test_an_account_google_refuses_is_dead_at_once(self):
        # The key the fake trusts is no longer the file's: as when the key
        # was deleted in the console. No retry mends that.
        self.push(self.push_user())
        trusted = self.fcm.public_key
        _, self.fcm.public_key = make_service_account(self.key_dir)
        self.fcm.revoke_tokens()
        self.fcm.clear_requests()
        try:
            d = self.push(self.push_user(), statuses=("dead",))
        finally:
            self.fcm.public_key = trusted
        self.assertEqual((d["attempts"], d["last_status"]), (2, 400))
        self.assertIn("invalid_grant (Invalid JWT Signature.)", d["last_error"])
        self.assertEqual([(r["path"], r["status"]) for r in self.fcm.requests()],
                         [(PUSH, 401), ("/token", 400)])

    # ---- the accounts pool's direct sends --------------------------------------

    def test_login_codes_go_through_msg91(self):
        phone = "+9198%08d" % (uuid.uuid4().int % 10 ** 8)
        r = self.c.post("/api/auth/send-otp", {"phone": phone})
        self.assertEqual(r.status, 200, r)
        sms = wait_for(lambda: [m for m in self.msg91.sms() if m["mobiles"] == phone[1:]], 10,
                       "the OTP at the fake MSG91")
        self.assertRegex(sms[0]["variables"]["content"], r"\b\d{6}\b")


if __name__ == "__main__":
    unittest.main()
