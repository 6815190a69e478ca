"""
Payouts through RazorpayX, end to end against the fake Razorpay server
(tests/fakes/razorpay.py): finance processes a requested payout (a
contact, a fund account, then the payout under the payout's own id as its
idempotency key), and Razorpay's payout webhooks settle it: processed once
however often it is delivered, reversed or failed giving the money back to
the wallet exactly once, in whatever order the events come, and nothing
after a final state. A Razorpay failure while processing leaves the payout
requested, and processing it again makes one payout, not two. The
ledger's invariants are checked after every test.
"""

import json
import unittest
import uuid

from payments_case import PaymentsCase

ACCOUNT = "7878780080316316"
WAIT = {"Prefer": "wait=30"}


def body_of(request):
    return request["body"] if isinstance(request["body"], dict) else json.loads(request["body"])


class Payouts(PaymentsCase):
    pools = {"payments": 2}
    fake_options = {"account_number": ACCOUNT}
    extra_env = {"RAZORPAY_ACCOUNT_NUMBER": ACCOUNT}

    def setUp(self):
        super().setUp()
        self.finance = self.stack.token(str(uuid.uuid4()), "FINANCE")
        self.uid, self.tok = self.merchant(role="USER")
        self.stack.psql("UPDATE users SET name = 'Asha Rao' WHERE id = '%s'" % self.uid)
        r = self.c.post("/api/admin/wallets/%s/adjust" % self.uid,
                        {"amount": 200000, "reason": "payout float"}, token=self.finance)
        self.assertEqual(r.status, 201, r)

    def check_ledger(self):
        super().check_ledger()
        one = self.stack.psql
        # In transit is exactly what is requested or on its way; RazorpayX
        # has paid out exactly what is processed (and not reversed since).
        self.assertEqual(one("SELECT balance_paise = (SELECT coalesce(sum(amount_paise), 0) "
                             "FROM payouts WHERE status IN ('requested', 'processing')) "
                             "FROM ledger_accounts WHERE code = 'platform:payouts_in_transit'"),
                         "t")
        self.assertEqual(one("SELECT balance_paise = (SELECT coalesce(sum(amount_paise), 0) "
                             "FROM payouts WHERE status = 'processed') "
                             "FROM ledger_accounts WHERE code = 'platform:razorpayx'"), "t")
        # Every final payout has its one entry.
        self.assertEqual(one("SELECT count(*) FROM payouts p WHERE status IN ('processed', "
                             "'reversed', 'failed') AND NOT EXISTS (SELECT 1 FROM ledger_entries "
                             "e WHERE e.source = 'payout' AND e.reference = p.id || ':' || "
                             "p.status)"), "0")

    # ---- helpers ------------------------------------------------------------

    def request(self, amount, **destination):
        r = self.c.post("/api/payouts/request", dict(destination, amount=amount), token=self.tok)
        self.assertEqual(r.status, 201, r)
        return r.data

    def process(self, payout_id, token=None):
        return self.c.post("/api/payouts/%s/process" % payout_id, token=token or self.finance,
                           headers=WAIT)

    def processed(self, amount=30000, **destination):
        p = self.request(amount, **(destination or {"vpa": "asha.rao@okaxis"}))
        r = self.process(p["id"])
        self.assertEqual((r.status, r.data["status"]), (200, "processing"), r)
        return r.data

    def balance(self):
        return self.c.get("/api/wallet", token=self.tok).data["balance_paise"]

    def payout(self, payout_id):
        return json.loads(self.stack.psql("SELECT mandi_payout_json(p) FROM payouts p "
                                          "WHERE id = '%s'" % payout_id))

    def entries(self, payout_id):
        return self.stack.psql("SELECT string_agg(reference, ' ' ORDER BY id) FROM "
                               "ledger_entries WHERE source = 'payout' AND (reference = '%s' OR reference "
                               "LIKE '%s:%%')" % (payout_id, payout_id))

    def events(self, topic, payout_id):
        return self.stack.psql("SELECT count(*) FROM outbox WHERE topic = '%s' AND position("
                               "convert_to('%s', 'UTF8') IN body) > 0" % (topic, payout_id))

    def outcome(self, delivery):
        self.assertEqual(delivery["status"], 200, delivery)
        return json.loads(delivery["response"])["data"].get("outcome", "duplicate")

    def sent(self, path, **match):
        """The fake's requests to path whose JSON body has the members of match."""
        return [r for r in self.rzp.requests(method="POST", path=path)
                if all(body_of(r).get(k) == v for k, v in match.items())]

    # ---- the tests ------------------------------------------------------------

    def test_process_bank_and_upi(self):
        bank = self.request(30000, bank_account={"account_number": "123456781234",
                                                 "ifsc": "hdfc0001234", "name": 'A "Q" Rao'})
        upi = self.request(20000, vpa="asha.rao@okaxis")
        r = self.process(bank["id"])
        self.assertEqual((r.status, r.data["status"]), (200, "processing"), r)
        self.assertTrue(r.data["razorpay_payout_id"].startswith("pout_"), r)
        self.assertTrue(r.data["razorpay_fund_account_id"].startswith("fa_"), r)
        # The contact is the user, by id; the fund account the bank account,
        # with the holder's name as RazorpayX takes it.
        contact = self.sent("/v1/contacts", reference_id=self.uid)
        self.assertEqual(len(contact), 1, contact)
        self.assertEqual(body_of(contact[0]), {"name": "Asha Rao", "type": "customer",
                                               "reference_id": self.uid})
        self.assertEqual(contact[0]["auth_user"], self.rzp.key_id)
        fa = [f for f in self.rzp.state()["fund_accounts"]
              if f["id"] == r.data["razorpay_fund_account_id"]][0]
        self.assertEqual((fa["account_type"], fa["bank_account"]["name"],
                          fa["bank_account"]["ifsc"], fa["bank_account"]["account_number"]),
                         ("bank_account", "A Q Rao", "HDFC0001234", "123456781234"))
        sent = self.sent("/v1/payouts", reference_id=bank["id"])
        self.assertEqual(len(sent), 1, sent)
        self.assertEqual(body_of(sent[0]), {
            "account_number": ACCOUNT, "fund_account_id": fa["id"], "amount": 30000,
            "currency": "INR", "mode": "IMPS", "purpose": "payout",
            "queue_if_low_balance": True, "reference_id": bank["id"],
            "narration": "Mandi wallet withdrawal"})
        self.assertEqual(sent[0]["idempotency_key"], bank["id"])
        self.assertEqual(sent[0]["auth_user"], self.rzp.key_id)
        # UPI: a vpa fund account under the same contact, mode UPI.
        r = self.process(upi["id"])
        self.assertEqual((r.status, r.data["status"]), (200, "processing"), r)
        self.assertEqual(len(self.sent("/v1/contacts", reference_id=self.uid)), 1)
        fa2 = [f for f in self.rzp.state()["fund_accounts"]
               if f["id"] == r.data["razorpay_fund_account_id"]][0]
        self.assertEqual((fa2["account_type"], fa2["vpa"]["address"], fa2["contact_id"]),
                         ("vpa", "asha.rao@okaxis", fa["contact_id"]))
        sent = self.sent("/v1/payouts", reference_id=upi["id"])
        self.assertEqual((len(sent), body_of(sent[0])["mode"], sent[0]["idempotency_key"]),
                         (1, "UPI", upi["id"]))
        # Money is in transit until Razorpay says; both are audited.
        self.assertEqual(self.balance(), 200000 - 50000)
        self.assertEqual(self.entries(bank["id"]), bank["id"])
        self.assertEqual(self.stack.psql(
            "SELECT count(*) FROM audit_log WHERE action = 'payout.process' AND target_id IN "
            "('%s', '%s')" % (bank["id"], upi["id"])), "2")
        mine = self.c.get("/api/payouts?status=processing", token=self.tok).data["items"]
        self.assertEqual(sorted(p["id"] for p in mine), sorted([bank["id"], upi["id"]]))

    def test_processed_webhook_finalises_once(self):
        p = self.processed(30000)
        rzp_id = p["razorpay_payout_id"]
        ev = self.rzp.webhook("payout.processed", rzp_id, url=self.hook)
        self.assertEqual(self.outcome(ev["delivery"]), "applied")
        got = self.payout(p["id"])
        self.assertEqual(got["status"], "processed")
        self.assertIsNotNone(got["processed_at"])
        # Redelivered (same event id), and sent again under a new id: once.
        again = self.rzp.deliver(ev["id"], url=self.hook)
        self.assertIn("duplicate", again["response"])
        dup = self.rzp.webhook("payout.processed", rzp_id, url=self.hook)
        self.assertIn("duplicate", dup["delivery"]["response"])
        self.assertEqual(self.entries(p["id"]), "%s %s:processed" % (p["id"], p["id"]))
        self.assertEqual(self.events("payout.processed", p["id"]), "1")
        self.assertEqual(self.balance(), 200000 - 30000)
        self.assertEqual(self.stack.psql(
            "SELECT a.code FROM ledger_postings x JOIN ledger_accounts a ON a.id = x.account_id "
            "JOIN ledger_entries e ON e.id = x.entry_id WHERE e.reference = '%s:processed' "
            "AND x.amount_paise > 0" % p["id"]), "platform:razorpayx")
        # A failure after it was processed is not a Razorpay flow: ignored.
        late = self.rzp.webhook("payout.failed", rzp_id, url=self.hook, apply=False)
        self.assertEqual(self.outcome(late["delivery"]), "ignored: the payout is processed")
        self.assertEqual(self.payout(p["id"])["status"], "processed")
        self.assertEqual(self.balance(), 200000 - 30000)

    def test_reversed_and_failed_return_money_once(self):
        failed = self.processed(30000)
        ev = self.rzp.webhook("payout.failed", failed["razorpay_payout_id"], url=self.hook)
        self.assertEqual(self.outcome(ev["delivery"]), "applied")
        got = self.payout(failed["id"])
        self.assertEqual((got["status"], got["reason"]),
                         ("failed", "Payout failed. Contact support for help."))
        self.assertEqual(self.balance(), 200000)
        self.rzp.deliver(ev["id"], url=self.hook)
        # An event after a final state changes nothing.
        late = self.rzp.webhook("payout.processed", failed["razorpay_payout_id"], url=self.hook,
                                apply=False)
        self.assertEqual(self.outcome(late["delivery"]), "ignored: the payout is failed")
        self.assertEqual(self.payout(failed["id"])["status"], "failed")
        self.assertEqual(self.entries(failed["id"]), "%s %s:failed" % (failed["id"], failed["id"]))
        self.assertEqual(self.events("payout.failed", failed["id"]), "1")
        self.assertEqual(self.balance(), 200000)

        # Processed, then reversed by the beneficiary's bank: the money
        # comes back from RazorpayX to the wallet, once.
        back = self.processed(40000)
        rid = back["razorpay_payout_id"]
        self.rzp.webhook("payout.processed", rid, url=self.hook)
        self.assertEqual(self.balance(), 200000 - 40000)
        rev = self.rzp.webhook("payout.reversed", rid, url=self.hook)
        self.assertEqual(self.outcome(rev["delivery"]), "applied")
        self.rzp.deliver(rev["id"], url=self.hook)
        got = self.payout(back["id"])
        self.assertEqual((got["status"], got["reason"]),
                         ("reversed", "Payout was reversed by the beneficiary bank."))
        self.assertEqual(self.balance(), 200000)
        self.assertEqual(self.entries(back["id"]), "%s %s:processed %s:reversed"
                         % (back["id"], back["id"], back["id"]))
        self.assertEqual(self.events("payout.reversed", back["id"]), "1")

        # Both events delivered newest first: reversed settles it, the late
        # processed is ignored; the money is back once.
        order = self.processed(50000)
        sent = self.rzp.webhooks(self.hook, [
            {"event": "payout.processed", "entity_id": order["razorpay_payout_id"]},
            {"event": "payout.reversed", "entity_id": order["razorpay_payout_id"]}],
            order="reverse")
        self.assertEqual([self.outcome(d["delivery"]) for d in sent],
                         ["applied", "ignored: the payout is reversed"])
        self.assertEqual(self.payout(order["id"])["status"], "reversed")
        self.assertEqual(self.entries(order["id"]), "%s %s:reversed" % (order["id"], order["id"]))
        self.assertEqual(self.balance(), 200000)

    def test_rejected_and_non_requested_payouts(self):
        p = self.processed(30000)
        self.assertError(self.process(p["id"]), 409, "PAYOUT_NOT_REQUESTED")
        self.rzp.webhook("payout.processed", p["razorpay_payout_id"], url=self.hook)
        self.assertError(self.process(p["id"]), 409, "PAYOUT_NOT_REQUESTED")
        # Rejected: the money is back, and it can no longer be processed.
        q = self.request(25000, vpa="asha.rao@okaxis")
        r = self.c.post("/api/payouts/%s/reject" % q["id"], {"reason": "name does not match"},
                        token=self.finance)
        self.assertEqual((r.status, r.data["status"]), (200, "rejected"), r)
        self.assertError(self.process(q["id"]), 409, "PAYOUT_NOT_REQUESTED")
        c = self.request(15000, vpa="asha.rao@okaxis")
        self.c.post("/api/payouts/%s/cancel" % c["id"], {}, token=self.tok)
        self.assertError(self.process(c["id"]), 409, "PAYOUT_NOT_REQUESTED")
        self.assertEqual(self.sent("/v1/payouts", reference_id=q["id"]), [])
        self.assertEqual(self.balance(), 200000 - 30000)
        # A payout of the RazorpayX account that is not one of ours: its
        # webhook is recorded as not found, and nothing moves.
        with self.rzp._lock:
            contact = self.rzp.create_contact({"name": "Someone Else", "type": "vendor"})[1]
            fa = self.rzp.create_fund_account({"contact_id": contact["id"], "account_type": "vpa",
                                               "vpa": {"address": "someone@okaxis"}})[1]
            stray = self.rzp.create_payout({
                "account_number": ACCOUNT, "fund_account_id": fa["id"], "amount": 30000,
                "currency": "INR", "mode": "UPI", "purpose": "payout",
                "reference_id": "not ours"}, "stray-" + self.tag)[1]
        ev = self.rzp.webhook("payout.processed", stray["id"], url=self.hook)
        self.assertEqual(self.outcome(ev["delivery"]), "failed: PAYOUT_NOT_FOUND")
        self.assertEqual(self.balance(), 200000 - 30000)

    def test_gateway_failure_leaves_it_requested_then_one_payout(self):
        p = self.request(30000, bank_account={"account_number": "998877665544",
                                              "ifsc": "SBIN0005943", "name": "Asha Rao"})
        # Every attempt (the first and both retries) is made, then its
        # answer lost in a 500: Razorpay has the payout, we do not know it.
        self.rzp.add_fault("/v1/payouts", "error", count=3, status=500, phase="after")
        r = self.process(p["id"])
        self.assertError(r, 502, "PAYMENT_GATEWAY_ERROR")
        got = self.payout(p["id"])
        self.assertEqual((got["status"], got["razorpay_payout_id"]), ("requested", None))
        self.assertTrue(got["razorpay_fund_account_id"].startswith("fa_"), got)
        self.assertEqual(self.balance(), 200000 - 30000)
        self.assertEqual(self.stack.psql("SELECT count(*) FROM audit_log WHERE action = "
                                         "'payout.process' AND target_id = '%s'" % p["id"]), "0")
        # RazorpayX may hold it: giving the money back now could pay twice.
        self.assertError(self.c.post("/api/payouts/%s/reject" % p["id"],
                                     {"reason": "not now"}, token=self.finance), 409,
                         "PAYOUT_IN_DOUBT")
        self.assertError(self.c.post("/api/payouts/%s/cancel" % p["id"], {}, token=self.tok), 409,
                         "PAYOUT_IN_DOUBT")
        self.assertEqual(self.balance(), 200000 - 30000)
        # Processed again: the same key and body, and still one payout.
        r = self.process(p["id"])
        self.assertEqual((r.status, r.data["status"]), (200, "processing"), r)
        sent = self.sent("/v1/payouts", reference_id=p["id"])
        self.assertEqual(len(sent), 4, sent)
        self.assertEqual({s["idempotency_key"] for s in sent}, {p["id"]})
        self.assertEqual(len({s["body"] if isinstance(s["body"], str) else json.dumps(
            s["body"], sort_keys=True) for s in sent}), 1)
        made = [x for x in self.rzp.state()["payouts"] if x["reference_id"] == p["id"]]
        self.assertEqual(len(made), 1, made)
        self.assertEqual(r.data["razorpay_payout_id"], made[0]["id"])
        # The fund account kept from the first attempt was not made again.
        made_fa = [x for x in self.rzp.requests(method="POST", path="/v1/fund_accounts")
                   if body_of(x).get("bank_account", {}).get("account_number") == "998877665544"]
        self.assertEqual(len(made_fa), 1, made_fa)
        self.assertEqual(self.balance(), 200000 - 30000)

    def test_an_answer_lost_for_good_is_linked_by_the_webhook(self):
        p = self.request(30000, vpa="asha.rao@okaxis")
        self.rzp.add_fault("/v1/payouts", "error", count=3, status=503, phase="after")
        self.assertError(self.process(p["id"]), 502, "PAYMENT_GATEWAY_ERROR")
        made = [x for x in self.rzp.state()["payouts"] if x["reference_id"] == p["id"]]
        self.assertEqual(len(made), 1, made)
        # Razorpay settles it: its webhook finds ours by the reference.
        ev = self.rzp.webhook("payout.processed", made[0]["id"], url=self.hook)
        self.assertEqual(self.outcome(ev["delivery"]), "applied")
        got = self.payout(p["id"])
        self.assertEqual((got["status"], got["razorpay_payout_id"]), ("processed", made[0]["id"]))
        self.assertError(self.process(p["id"]), 409, "PAYOUT_NOT_REQUESTED")
        self.assertEqual(self.balance(), 200000 - 30000)

    def test_razorpay_refusal_changes_nothing(self):
        p = self.request(30000, vpa="asha.rao@okaxis")
        self.rzp.add_fault("/v1/payouts", "error", count=1, status=400, phase="before")
        self.assertError(self.process(p["id"]), 502, "PAYMENT_GATEWAY_ERROR")
        self.assertEqual(self.payout(p["id"])["status"], "requested")
        self.assertEqual(len(self.sent("/v1/payouts", reference_id=p["id"])), 1)  # no retry
        r = self.process(p["id"])
        self.assertEqual((r.status, r.data["status"]), (200, "processing"), r)

    def test_roles_and_bad_ids(self):
        p = self.request(30000, vpa="asha.rao@okaxis")
        for role in ("USER", "MERCHANT", "LOCATION_ADMIN"):
            self.assertError(self.process(p["id"], token=self.stack.token(str(uuid.uuid4()),
                                                                          role)),
                             403, "FORBIDDEN")
        self.assertError(self.process(p["id"], token=self.tok), 403, "FORBIDDEN")
        self.assertError(self.c.post("/api/payouts/%s/process" % p["id"]), 401, "AUTH_REQUIRED")
        self.assertError(self.process("nope"), 400, "VALIDATION_ERROR", "id")
        self.assertError(self.process(str(uuid.uuid4())), 404, "PAYOUT_NOT_FOUND")
        self.assertEqual(self.sent("/v1/payouts", reference_id=p["id"]), [])
        self.assertEqual(self.payout(p["id"])["status"], "requested")
        # An admin may.
        r = self.process(p["id"], token=self.admin)
        self.assertEqual((r.status, r.data["status"]), (200, "processing"), r)


if __name__ == "__main__":
    unittest.main()
