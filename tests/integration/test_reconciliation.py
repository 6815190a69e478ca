"""
Reconciliation with Razorpay and the ledger check, against the fake
Razorpay (tests/fakes/razorpay.py): each kind of mismatch made for real
(a payment Razorpay took that mandi never heard of, our rows tampered with,
a payment Razorpay has lost, an order we never made) and reported exactly;
a clean period reports none; the list read across pages; bad periods
refused naming the field; only finance staff; Razorpay failing answers 502
and records nothing. The ledger check passes on the real ledger and names
the rows of invariants broken on purpose.

Each test works in a period of its own: it starts on a fresh second and
reconciles from then to its last second, so other tests' payments (the
database is shared) stay out of it.
"""

import time
import unittest
import urllib.parse
import uuid

from payments_case import PaymentsCase

KINDS = ("captured_at_razorpay_only", "captured_here_only", "amount_differs",
         "refunded_differs", "unknown_order")
WAIT = {"Prefer": "wait=60"}


def query(request):
    """The query of a request the fake received, as a dict."""
    return dict(urllib.parse.parse_qsl(request["query"] or ""))


class Reconciliation(PaymentsCase):
    pools = {"payments": 1}

    def setUp(self):
        super().setUp()
        self.rzp.clear_faults()
        self.addCleanup(self.rzp.clear_faults)
        self.uid, self.tok = self.merchant(role="USER")
        _, self.finance = self.merchant(role="FINANCE")
        # The period starts on the next whole second: nothing made before
        # this test falls in it.
        self.start = int(time.time()) + 1
        time.sleep(max(0.0, self.start - time.time()))

    # ---- helpers ------------------------------------------------------------------

    def period(self):
        """From the test's first second to now, with now over: whatever was
        made so far is in it."""
        end = int(time.time())
        time.sleep(max(0.0, end + 1 - time.time()))
        return {"from": self.start, "to": end}

    def reconcile(self, body, token=None):
        return self.c.post("/api/admin/reconciliation", body, token=token or self.finance,
                           headers=WAIT)

    def topup(self, amount=50000):
        r = self.c.post("/api/payments/order", {"purpose": "wallet_topup", "amount": amount},
                        token=self.tok)
        self.assertEqual(r.status, 201, r)
        return r.data

    def paid_topup(self, amount=50000, **pay):
        """A top-up paid at Razorpay and verified by the app: settled here."""
        order = self.topup(amount)
        made = self.rzp.pay(order["razorpay_order_id"], **pay)
        r = self.c.post("/api/payments/verify", made["checkout"], token=self.tok)
        self.assertEqual((r.status, r.data["status"]), (200, "captured"), r)
        return order, made["payment"]

    def tamper(self, payment_id, assignments, restore):
        """Changes our payment row, and puts it back after the test (other
        tests check the ledger against every payment)."""
        sql = "UPDATE payments SET %s WHERE id = '%s'"
        self.stack.psql(sql % (assignments, payment_id))
        self.addCleanup(self.stack.psql, sql % (restore, payment_id))

    def runs(self):
        return int(self.stack.psql("SELECT count(*) FROM reconciliation_runs"))

    def mismatches(self, report):
        return sorted((m["kind"], m["payment_id"], m["razorpay_payment_id"])
                      for m in report["mismatches"])

    def ledger_check(self):
        r = self.c.get("/api/admin/ledger/check", token=self.finance)
        self.assertEqual(r.status, 200, r)
        return r.data, {c["name"]: c for c in r.data["checks"]}

    # ---- reconciliation ---------------------------------------------------------------

    def test_a_clean_period_reports_nothing(self):
        once, _ = self.paid_topup(20000, failures_first=1)  # a failed attempt, then paid
        twice, _ = self.paid_topup(30000)
        self.topup(40000)  # never paid
        held = self.topup(45000)  # authorized at Razorpay, captured nowhere
        self.rzp.pay(held["razorpay_order_id"], outcome="authorized")
        period = self.period()
        r = self.reconcile(period)
        self.assertEqual(r.status, 201, r)
        run = r.data
        self.assertEqual((run["status"], run["mismatch_count"], run["mismatches"]),
                         ("clean", 0, []), run)
        self.assertEqual(run["counts"], {k: 0 for k in KINDS})
        self.assertEqual((run["razorpay_payments"], run["our_payments"]), (4, 4))
        self.assertEqual((run["from_unix"], run["to_unix"]), (period["from"], period["to"]))
        listed = self.rzp.requests(method="GET", path="/v1/payments")
        self.assertEqual(query(listed[-1])["count"], "100", listed[-1])
        # Recorded, listed, read again, audited.
        got = self.c.get("/api/admin/reconciliation/" + run["id"], token=self.finance)
        self.assertEqual((got.status, got.data), (200, run))
        page = self.c.get("/api/admin/reconciliation?limit=5", token=self.finance).data
        self.assertEqual(page["items"][0]["id"], run["id"])
        self.assertNotIn("mismatches", page["items"][0])
        self.assertGreaterEqual(page["pagination"]["total"], 1)
        clean = self.c.get("/api/admin/reconciliation?status=mismatches&limit=100",
                           token=self.finance).data["items"]
        self.assertNotIn(run["id"], [i["id"] for i in clean])
        audit = self.stack.psql("SELECT actor_role || ' ' || target_type || ' ' || "
                                "(after->>'mismatch_count') FROM audit_log WHERE action = "
                                "'payments.reconcile' AND target_id = '%s'" % run["id"])
        self.assertEqual(audit, "FINANCE reconciliation_run 0")
        # Nothing was moved by looking.
        self.assertEqual(self.stack.psql(
            "SELECT string_agg(status, ',' ORDER BY amount_paise) FROM payments WHERE id IN "
            "('%s', '%s')" % (once["payment_id"], twice["payment_id"])), "captured,captured")

    def test_each_kind_is_reported_exactly(self):
        # Paid at Razorpay, never verified and no webhook: money taken,
        # nothing credited.
        unseen = self.topup(11100)
        unseen_pay = self.rzp.pay(unseen["razorpay_order_id"])["payment"]["id"]
        # Authorized only at Razorpay, yet captured in our row.
        claimed = self.topup(12200)
        claimed_pay = self.rzp.pay(claimed["razorpay_order_id"],
                                   outcome="authorized")["payment"]["id"]
        self.tamper(claimed["payment_id"],
                    "status = 'captured', razorpay_payment_id = '%s', captured_at = now()"
                    % claimed_pay,
                    "status = 'created', razorpay_payment_id = NULL, captured_at = NULL")
        # The same payment, another amount or another refund on our side.
        priced, priced_pay = self.paid_topup(13300)
        self.tamper(priced["payment_id"], "amount_paise = 13400", "amount_paise = 13300")
        refunded, refunded_pay = self.paid_topup(14400)
        self.tamper(refunded["payment_id"], "amount_refunded_paise = 500",
                    "amount_refunded_paise = 0")
        # Paid for an order that mandi never made.
        stranger = self.rzp.create_order({"amount": 15500, "currency": "INR"})[1]
        stranger_pay = self.rzp.pay(stranger["id"])["payment"]["id"]
        # And one that is fine.
        self.paid_topup(16600)
        r = self.reconcile(self.period())
        self.assertEqual(r.status, 201, r)
        run = r.data
        self.assertEqual(self.mismatches(run), sorted([
            ("captured_at_razorpay_only", unseen["payment_id"], unseen_pay),
            ("captured_here_only", claimed["payment_id"], claimed_pay),
            ("amount_differs", priced["payment_id"], priced_pay["id"]),
            ("refunded_differs", refunded["payment_id"], refunded_pay["id"]),
            ("unknown_order", None, stranger_pay)]), run)
        self.assertEqual(run["counts"], {k: 1 for k in KINDS})
        self.assertEqual((run["status"], run["mismatch_count"]), ("mismatches", 5))
        self.assertEqual((run["razorpay_payments"], run["our_payments"]), (6, 5))
        by_kind = {m["kind"]: m for m in run["mismatches"]}
        self.assertEqual((by_kind["captured_at_razorpay_only"]["ours_status"],
                          by_kind["captured_at_razorpay_only"]["theirs_status"]),
                         ("created", "captured"))
        self.assertEqual((by_kind["captured_here_only"]["ours_status"],
                          by_kind["captured_here_only"]["theirs_status"]),
                         ("captured", "authorized"))
        self.assertEqual((by_kind["amount_differs"]["ours_amount_paise"],
                          by_kind["amount_differs"]["theirs_amount_paise"]), (13400, 13300))
        self.assertEqual((by_kind["refunded_differs"]["ours_refunded_paise"],
                          by_kind["refunded_differs"]["theirs_refunded_paise"]), (500, 0))
        self.assertEqual((by_kind["unknown_order"]["razorpay_order_id"],
                          by_kind["unknown_order"]["theirs_amount_paise"]),
                         (stranger["id"], 15500))
        self.assertTrue(all(m["detail"] for m in run["mismatches"]))
        got = self.c.get("/api/admin/reconciliation/" + run["id"], token=self.finance).data
        self.assertEqual(self.mismatches(got), self.mismatches(run))
        # The row captured without a posting is what the ledger check names.
        _, checks = self.ledger_check()
        posted = checks["captured_payments_posted_once"]
        self.assertFalse(posted["ok"])
        self.assertIn({"payment_id": claimed["payment_id"], "status": "captured", "entries": 0},
                      posted["offenders"])

    def test_an_order_paid_twice_is_money_taken_once_too_often(self):
        # The first attempt is only authorized; the customer pays again and
        # the app settles that one; then Razorpay captures the first as well.
        order = self.topup(17700)
        first = self.rzp.pay(order["razorpay_order_id"], outcome="authorized")["payment"]["id"]
        second = self.rzp.pay(order["razorpay_order_id"])
        r = self.c.post("/api/payments/verify", second["checkout"], token=self.tok)
        self.assertEqual(r.data["status"], "captured", r)
        self.rzp.capture_payment(first, {"amount": 17700, "currency": "INR"})
        r = self.reconcile(self.period())
        self.assertEqual(self.mismatches(r.data),
                         [("captured_at_razorpay_only", order["payment_id"], first)], r)
        only = r.data["mismatches"][0]
        self.assertEqual((only["ours_status"], only["theirs_status"]), ("captured", "captured"))

    def test_a_payment_razorpay_lost_is_fetched_and_reported(self):
        kept, _ = self.paid_topup(21000)
        lost, lost_pay = self.paid_topup(22000)
        # Razorpay's list no longer holds it, nor does Razorpay know it.
        with self.rzp._lock:
            gone = self.rzp.payments.pop(lost_pay["id"])
        self.addCleanup(self.rzp.payments.__setitem__, lost_pay["id"], gone)
        period = self.period()
        # Fetching it on its own fails: 502, nothing recorded.
        before = self.runs()
        self.rzp.add_fault("/v1/payments/pay_*", "error", count=10)
        r = self.reconcile(period)
        self.assertError(r, 502, "PAYMENT_GATEWAY_ERROR")
        self.assertEqual(self.runs(), before)
        self.rzp.clear_faults()
        self.rzp.clear_requests()
        r = self.reconcile(period)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.mismatches(r.data),
                         [("captured_here_only", lost["payment_id"], lost_pay["id"])], r)
        self.assertIsNone(r.data["mismatches"][0]["theirs_status"])
        self.assertEqual((r.data["razorpay_payments"], r.data["our_payments"]), (1, 2))
        fetched = [q["path"] for q in self.rzp.requests(method="GET", path="/v1/payments/*")]
        self.assertEqual(fetched, ["/v1/payments/" + lost_pay["id"]])
        self.assertNotIn(kept["payment_id"], str(r.data["mismatches"]))

    def test_every_page_is_read(self):
        ours = [self.paid_topup(1000 + i)[1]["id"] for i in range(3)]
        strangers = []
        for i in range(120):
            order = self.rzp.create_order({"amount": 2000 + i, "currency": "INR"})[1]
            strangers.append(self.rzp.pay(order["id"])["payment"]["id"])
        self.rzp.clear_requests()
        r = self.reconcile(self.period())
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.data["razorpay_payments"], 123)
        self.assertEqual(self.mismatches(r.data),
                         sorted(("unknown_order", None, p) for p in strangers))
        self.assertEqual(r.data["counts"]["unknown_order"], 120)
        pages = [(query(q)["count"], query(q).get("skip", "0"))
                 for q in self.rzp.requests(method="GET", path="/v1/payments")]
        self.assertEqual(pages, [("100", "0"), ("100", "100")])
        self.assertFalse(set(ours) & {m["razorpay_payment_id"] for m in r.data["mismatches"]
                                      if m["kind"] != "unknown_order"})

    def test_razorpay_failing_records_nothing(self):
        self.paid_topup(31000)
        period = self.period()
        before = self.runs()
        self.rzp.add_fault("/v1/payments", "error", count=10)
        self.assertError(self.reconcile(period), 502, "PAYMENT_GATEWAY_ERROR")
        self.assertEqual(self.runs(), before)
        self.assertEqual(self.stack.psql("SELECT count(*) FROM reconciliation_mismatches m WHERE "
                                         "NOT EXISTS (SELECT 1 FROM reconciliation_runs r "
                                         "WHERE r.id = m.run_id)"), "0")
        self.rzp.clear_faults()
        self.rzp.add_fault("/v1/payments", "error", count=10, status=503)
        self.assertError(self.reconcile(period), 502, "PAYMENT_GATEWAY_ERROR")
        self.assertEqual(self.runs(), before)
        self.rzp.clear_faults()
        self.assertEqual(self.reconcile(period).status, 201)
        self.assertEqual(self.runs(), before + 1)

    def test_bad_periods_name_the_field(self):
        cases = [
            ({"to": "2026-01-31"}, "from"),
            ({"from": "2026-01-01"}, "to"),
            ({"from": None, "to": "2026-01-31"}, "from"),
            ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
            ({"from": "yesterday", "to": "2026-03-01"}, "from"),
            ({"from": "2026-01-01", "to": "2026-1-31"}, "to"),
            ({"from": -5, "to": "2026-01-31"}, "from"),
            ({"from": True, "to": "2026-01-31"}, "from"),
            ({"from": 1.5, "to": "2026-01-31"}, "from"),
            ({"from": "2026-01-10", "to": "2026-01-09"}, "to"),
            ({"from": 1767225600, "to": 1767225599}, "to"),
            ({"from": "2026-01-01", "to": "2026-02-01"}, "to"),  # 32 days
            ({"from": 1767225600, "to": 1767225600 + 31 * 86400}, "to"),
        ]
        before = self.runs()
        for body, field in cases:
            with self.subTest(body=body):
                self.assertError(self.reconcile(body), 400, "VALIDATION_ERROR", field)
        self.assertError(self.c.post("/api/admin/reconciliation", [1], token=self.finance),
                         400, "VALIDATION_ERROR")
        self.assertEqual(self.runs(), before)
        # 31 days exactly, by dates and by seconds, in a year without payments.
        for body in ({"from": "2001-01-01", "to": "2001-01-31"},
                     {"from": 978287400, "to": 978287400 + 31 * 86400 - 1}):
            r = self.reconcile(body)
            self.assertEqual((r.status, r.data["status"], r.data["our_payments"]),
                             (201, "clean", 0), r)
        # 2001-01-01 00:00 India time is 2000-12-31 18:30 UTC.
        self.assertEqual((r.data["from"], r.data["from_unix"]),
                         ("2000-12-31T18:30:00.000Z", 978287400))
        self.assertError(self.c.get("/api/admin/reconciliation?status=odd", token=self.finance),
                         400, "VALIDATION_ERROR", "status")
        self.assertError(self.c.get("/api/admin/reconciliation/" + str(uuid.uuid4()),
                                    token=self.finance), 404, "RECONCILIATION_NOT_FOUND")

    def test_only_finance_staff(self):
        period = {"from": "2001-02-01", "to": "2001-02-02"}
        _, merchant = self.merchant(role="MERCHANT")
        for token in (self.tok, merchant):
            self.assertError(self.reconcile(period, token=token), 403, "FORBIDDEN")
            for path in ("/api/admin/reconciliation", "/api/admin/ledger/check",
                         "/api/admin/reconciliation/" + str(uuid.uuid4())):
                self.assertError(self.c.get(path, token=token), 403, "FORBIDDEN")
        self.assertEqual(self.c.post("/api/admin/reconciliation", period, headers=WAIT).status,
                         401)
        self.assertEqual(self.reconcile(period, token=self.admin).status, 201)
        self.assertEqual(self.c.get("/api/admin/ledger/check", token=self.admin).status, 200)

    # ---- the ledger check --------------------------------------------------------------

    def test_ledger_check_names_what_breaks_it(self):
        self.paid_topup(41000)
        ok, checks = self.ledger_check()
        self.assertIs(ok["ok"], True, ok)
        self.assertEqual(sorted(checks), sorted(["postings_sum_to_zero", "entries_balanced",
                                                 "wallets_not_negative",
                                                 "balances_match_postings",
                                                 "captured_payments_posted_once"]))
        self.assertTrue(all(c["ok"] and c["count"] == 0 and c["offenders"] == []
                            for c in checks.values()), checks)
        psql = self.stack.psql
        # One posting alone: the ledger and its entry no longer sum to
        # zero, and the account's balance is not its postings' sum.
        lone = psql("INSERT INTO ledger_entries (source, reference) VALUES ('adjustment', "
                    "'recon-test-%s') RETURNING id" % uuid.uuid4()).split("\n")[0]
        self.addCleanup(psql, "DELETE FROM ledger_entries WHERE id = %s" % lone)
        psql("INSERT INTO ledger_postings (entry_id, account_id, amount_paise, balance_after) "
             "SELECT %s, id, 12345, 0 FROM ledger_accounts WHERE code = 'platform:adjustments'"
             % lone)
        self.addCleanup(psql, "DELETE FROM ledger_postings WHERE entry_id = %s" % lone)
        # A balanced entry that takes a wallet below zero behind its back.
        # The top-up above made the user's wallet.
        wallet = psql("SELECT id FROM ledger_accounts WHERE user_id = '%s'" % self.uid)
        sneaky = psql("INSERT INTO ledger_entries (source, reference) VALUES ('adjustment', "
                      "'recon-test-%s') RETURNING id" % uuid.uuid4()).split("\n")[0]
        self.addCleanup(psql, "DELETE FROM ledger_entries WHERE id = %s" % sneaky)
        psql("INSERT INTO ledger_postings (entry_id, account_id, amount_paise, balance_after) "
             "SELECT %s, %s, -99999999, 0 UNION ALL SELECT %s, id, 99999999, 0 "
             "FROM ledger_accounts WHERE code = 'platform:adjustments'" % (sneaky, wallet, sneaky))
        self.addCleanup(psql, "DELETE FROM ledger_postings WHERE entry_id = %s" % sneaky)
        bad, checks = self.ledger_check()
        self.assertIs(bad["ok"], False, bad)
        self.assertEqual(checks["postings_sum_to_zero"]["offenders"], [{"sum_paise": 12345}])
        self.assertEqual(checks["entries_balanced"]["offenders"],
                         [{"entry_id": int(lone), "sum_paise": 12345, "postings": 1}])
        negative = checks["wallets_not_negative"]
        self.assertEqual(negative["count"], 1, negative)
        self.assertEqual(negative["offenders"][0]["account"], "wallet:" + self.uid)
        self.assertEqual(negative["offenders"][0]["postings_sum_paise"],
                         41000 - 99999999)
        mismatched = {o["account"] for o in checks["balances_match_postings"]["offenders"]}
        self.assertEqual(mismatched, {"wallet:" + self.uid, "platform:adjustments"})
        self.assertTrue(checks["captured_payments_posted_once"]["ok"])
        # Put back: clean again.
        psql("DELETE FROM ledger_postings WHERE entry_id IN (%s, %s); "
             "DELETE FROM ledger_entries WHERE id IN (%s, %s)" % (lone, sneaky, lone, sneaky))
        self.assertIs(self.ledger_check()[0]["ok"], True)


if __name__ == "__main__":
    unittest.main()
