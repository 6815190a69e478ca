"""
GET /api/events/stream: the caller's domain events as Server-Sent Events.
Frames carry the outbox position as id, the topic as event and the body as
JSON; callers see their own events, merchants also those of their stores'
orders, LOCATION_ADMINs their zones', admins all; keep-alive comments flow;
Last-Event-ID replays exactly what was missed; a stream ends with an "end"
frame when its token expires or is revoked; the number of streams is
bounded and a client that leaves frees its slot; SIGTERM ends the streams
cleanly.

Most events here are written straight into the outbox as a worker whose
relay never ran would leave them, so the front's own relay numbers and
publishes them: the path every event takes, with bodies the test chooses.
One test goes through a real COD checkout.
"""

import http.client
import json
import re
import time
import unittest
import uuid

from catalog_case import OrdersCase
from harness import jwt_parts, msgpack_pack, unique_email, wait_for

MAX_STREAMS = 4


class EventStream:
    """An open stream, read incrementally, frame by frame."""

    def __init__(self, stack, token=None, headers=None, query=""):
        self.conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        self.conn.request("GET", "/api/events/stream" + query, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        if self.status != 200:
            self.body = json.loads(self.resp.read())

    def frame(self):
        """The next frame as {field: value}; comments under ":"; None at
        the end of the stream."""
        fields = {}
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if fields:
                    return fields
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    def event(self):
        """The next event frame, past comments and the retry hint."""
        while True:
            f = self.frame()
            if f is None or "id" in f:
                return f

    def close(self):
        self.resp.close()
        self.conn.close()


class EventsStream(OrdersCase):
    pools = dict(OrdersCase.pools, accounts=1)  # sign-in and logout
    env = {"MANDI_SSE_KEEPALIVE_MS": "300", "MANDI_SSE_MAX_STREAMS": str(MAX_STREAMS)}

    def setUp(self):
        super().setUp()
        self.streams = []

    def tearDown(self):
        for s in self.streams:
            s.close()
        # Every slot free again before the next test counts them.
        wait_for(lambda: self.open_streams() == 0, 10, "streams closed")
        super().tearDown()

    def open(self, token=None, **kw):
        s = EventStream(self.stack, token, **kw)
        if s.status == 200:
            self.streams.append(s)
        return s

    def open_streams(self):
        text = self.c.get("/metrics").raw.decode()
        m = re.search(r"^mandi_sse_streams (\d+)$", text, re.M)
        return int(m.group(1))

    def emit(self, topic, body):
        """An event as a worker that died before its relay leaves it."""
        self.stack.psql("INSERT INTO outbox (topic, body, created_at) VALUES ('%s', '\\x%s', "
                        "now() - interval '5 seconds')" % (topic, msgpack_pack(body).hex()))

    def user(self, role="USER", zones=()):
        uid = str(uuid.uuid4())
        return uid, self.stack.token(uid, role, zones)

    def assertEvent(self, frame, topic, **body):
        self.assertIsNotNone(frame, "the stream ended")
        self.assertEqual(frame["event"], topic, frame)
        data = json.loads(frame["data"])
        for k, v in body.items():
            self.assertEqual(data.get(k), v, frame)
        self.assertRegex(frame["id"], r"^\d+$")
        return data

    # ---- tests ------------------------------------------------------------

    def test_stream_carries_own_events_only(self):
        a, ta = self.user()
        b, _ = self.user()
        s = self.open(ta)
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers["Content-Type"].startswith("text/event-stream"))
        self.assertEqual(s.headers["Cache-Control"], "no-cache")
        self.assertEqual(s.frame(), {"retry": "3000"})
        m1, m2 = uuid.uuid4().hex, uuid.uuid4().hex
        # B's event comes first: A's stream, which gets events in order,
        # skipping it proves it was withheld, not late.
        self.emit("order.status_changed", {"user_id": b, "marker": m1, "zone": "z"})
        self.emit("stock.changed", {"user_id": a, "marker": "not streamed"})
        self.emit("wallet.credited", {"user_id": a, "marker": m2, "amount_paise": 500})
        e = s.event()
        self.assertEvent(e, "wallet.credited", user_id=a, marker=m2, amount_paise=500)
        pos = int(self.stack.psql(
            "SELECT position FROM outbox WHERE body = '\\x%s'"
            % msgpack_pack({"user_id": a, "marker": m2, "amount_paise": 500}).hex()))
        self.assertEqual(int(e["id"]), pos)

    def test_access_token_in_query_and_auth_errors(self):
        a, ta = self.user()
        r = self.open()
        self.assertEqual(r.status, 401)
        self.assertEqual(r.body["error"]["code"], "AUTH_REQUIRED")
        r = self.open(query="?access_token=not.a.token")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.body["error"]["code"], "TOKEN_MALFORMED")
        r = self.open(ta, headers={"Last-Event-ID": "12x"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.body["error"]["code"], "INVALID_LAST_EVENT_ID")
        s = self.open(query="?access_token=" + ta)
        self.assertEqual(s.status, 200)
        m = uuid.uuid4().hex
        self.emit("notification.created", {"user_id": a, "marker": m})
        self.assertEvent(s.event(), "notification.created", marker=m)

    def test_location_admin_sees_its_zones_and_admin_all(self):
        zone, other = "z-" + uuid.uuid4().hex[:8], "z-" + uuid.uuid4().hex[:8]
        _, local = self.user("LOCATION_ADMIN", [zone])
        _, far = self.user("LOCATION_ADMIN", [other])
        _, admin = self.user("ADMIN")
        s_local, s_far, s_admin = self.open(local), self.open(far), self.open(admin)
        buyer = str(uuid.uuid4())
        m1, m2 = uuid.uuid4().hex, uuid.uuid4().hex
        self.emit("order.created", {"user_id": buyer, "zone": other, "marker": m1})
        self.emit("order.created", {"user_id": buyer, "zone": zone, "marker": m2})
        self.assertEvent(s_local.event(), "order.created", zone=zone, marker=m2)
        self.assertEvent(s_far.event(), "order.created", zone=other, marker=m1)
        self.assertEvent(s_admin.event(), "order.created", marker=m1)
        self.assertEvent(s_admin.event(), "order.created", marker=m2)

    def test_merchant_sees_its_stores_orders(self):
        seller_id, seller = self.merchant()
        rival_id, rival = self.merchant()
        cat = self.category()
        mine = self.product(seller, self.store(seller), cat, stock=5)
        theirs = self.product(rival, self.store(rival), cat, stock=5)
        buyer, tok, addr = self.customer()
        s_seller, s_rival = self.open(seller), self.open(rival)
        # First an order at the rival's store and a wallet event of the
        # buyer's: the seller's stream, which gets events in order, skipping
        # both proves they were withheld, not late.
        self.add(tok, theirs)
        r = self.checkout(tok, addr)
        self.assertEqual(r.status, 201, r)
        self.emit("wallet.credited", {"user_id": buyer, "amount_paise": 100})
        self.add(tok, mine)
        r = self.checkout(tok, addr)
        self.assertEqual(r.status, 201, r)
        order = self.assertEvent(s_seller.event(), "order.created", user_id=buyer,
                                 store_id=mine["store_id"], merchant_id=seller_id)
        self.assertEvent(s_rival.event(), "order.created", user_id=buyer,
                         store_id=theirs["store_id"], merchant_id=rival_id)
        # The seller moves its order on and hears of it; the rival does not.
        r = self.c.put("/api/orders/%s/status" % order["id"], {"status": "PROCESSING"},
                       token=seller)
        self.assertEqual(r.status, 200, r)
        self.assertEvent(s_seller.event(), "order.status_changed", id=order["id"],
                         status="PROCESSING", merchant_id=seller_id)
        self.emit("refund.created", {"user_id": buyer, "merchant_id": rival_id, "marker": "m"})
        self.assertEvent(s_rival.event(), "refund.created", marker="m")

    def end_frame(self, s, timeout):
        """The frame that ends s (past keep-alives), within timeout seconds;
        then checks that the response ended there."""
        deadline = time.monotonic() + timeout
        while True:
            f = s.frame()
            self.assertIsNotNone(f, "the stream ended without an end frame")
            if f != {"": "keep-alive"}:
                break
            self.assertLess(time.monotonic(), deadline, "no end frame in time")
        self.assertIsNone(s.frame(), "the stream went on after its end frame")
        return f

    def test_stream_ends_when_its_token_expires(self):
        uid = str(uuid.uuid4())
        tok = self.stack.token(uid, "USER", exp_delta=3)
        exp = jwt_parts(tok)[1]["exp"]
        s = self.open(tok)
        self.assertEqual(s.status, 200)
        m = uuid.uuid4().hex
        self.emit("wallet.credited", {"user_id": uid, "marker": m})
        last = s.event()
        self.assertEvent(last, "wallet.credited", marker=m)
        f = self.end_frame(s, 10)
        ended = time.time()
        self.assertEqual(f, {"event": "end", "data": '{"reason":"token_expired"}'})
        # Within a second or two of exp, not before (exp is in whole seconds).
        self.assertGreaterEqual(ended, exp - 0.5)
        self.assertLess(ended, exp + 2)
        self.assertGreaterEqual(self.metric_ended("token_expired"), 1)
        # The spent token opens nothing; a fresh one resumes after the last
        # event seen, missing nothing published in between.
        spent = self.open(tok)
        spent.close()
        self.assertEqual((spent.status, spent.body["error"]["code"]), (401, "TOKEN_EXPIRED"))
        m2 = uuid.uuid4().hex
        self.emit("wallet.credited", {"user_id": uid, "marker": m2})
        r = self.open(self.stack.token(uid, "USER"), headers={"Last-Event-ID": last["id"]})
        self.assertEvent(r.event(), "wallet.credited", marker=m2)

    def test_stream_ends_when_its_token_is_revoked(self):
        r = self.c.post("/api/auth/register", {"name": "Streamer", "email": unique_email(),
                                               "password": "correct horse 42"})
        self.assertEqual(r.status, 201, r)
        tok = r.data["tokens"]["access_token"]
        s = self.open(tok)
        self.assertEqual(s.status, 200)
        self.assertEqual(s.frame(), {"retry": "3000"})
        r = self.c.post("/api/auth/logout", token=tok)
        self.assertEqual(r.status, 200, r)
        started = time.monotonic()
        f = self.end_frame(s, 5)
        self.assertEqual(f, {"event": "end", "data": '{"reason":"token_revoked"}'})
        self.assertLess(time.monotonic() - started, 5)
        self.assertGreaterEqual(self.metric_ended("token_revoked"), 1)

    def metric_ended(self, reason):
        text = self.c.get("/metrics").raw.decode()
        m = re.search(r'^mandi_sse_streams_ended_total\{reason="%s"\} (\d+)$' % reason, text,
                      re.M)
        self.assertIsNotNone(m, "no ended counter for " + reason)
        return int(m.group(1))

    def test_keep_alive_comments(self):
        _, t = self.user()
        s = self.open(t)
        self.assertEqual(s.frame(), {"retry": "3000"})
        started = time.monotonic()
        self.assertEqual(s.frame(), {"": "keep-alive"})
        self.assertEqual(s.frame(), {"": "keep-alive"})
        self.assertLess(time.monotonic() - started, 5)

    def test_last_event_id_resumes_without_loss_or_repeat(self):
        a, ta = self.user()
        b, _ = self.user()
        s = self.open(ta)
        marks = [uuid.uuid4().hex for _ in range(6)]
        for m in marks[:2]:
            self.emit("order.status_changed", {"user_id": a, "marker": m})
        first = [s.event(), s.event()]
        self.assertEqual([json.loads(f["data"])["marker"] for f in first], marks[:2])
        s.close()
        self.streams.remove(s)
        # Missed while away: two of A's, one of B's between them.
        self.emit("order.status_changed", {"user_id": a, "marker": marks[2]})
        self.emit("order.status_changed", {"user_id": b, "marker": "b"})
        self.emit("refund.created", {"user_id": a, "marker": marks[3]})
        wait_for(lambda: int(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE position IS NULL")) == 0, 10, "events relayed")
        for how in ({"headers": {"Last-Event-ID": first[1]["id"]}},
                    {"query": "?last_event_id=" + first[1]["id"]}):
            r = self.open(ta, **how)
            self.assertEqual(r.status, 200)
            got = [r.event(), r.event()]
            self.assertEqual([json.loads(f["data"])["marker"] for f in got], marks[2:4])
            self.assertEqual([f["event"] for f in got], ["order.status_changed",
                                                         "refund.created"])
            ids = [int(f["id"]) for f in got]
            self.assertTrue(int(first[1]["id"]) < ids[0] < ids[1], ids)
            r.last = ids[1]
        # Both resumed streams now follow live events, each exactly once.
        self.emit("payout.processed", {"user_id": a, "marker": marks[4]})
        self.emit("payout.processed", {"user_id": a, "marker": marks[5]})
        for r in self.streams:
            got = [r.event(), r.event()]
            self.assertEqual([json.loads(f["data"])["marker"] for f in got], marks[4:6])
            self.assertGreater(int(got[0]["id"]), r.last)

    def test_long_replay_is_paged(self):
        # More than a page of the table (200 rows) to replay, most of it
        # someone else's: every one of the caller's comes, in order.
        a, ta = self.user()
        start = self.stack.psql("SELECT coalesce(max(position), 0) FROM outbox")
        other = str(uuid.uuid4())
        self.stack.psql(
            "INSERT INTO outbox (topic, body, created_at) SELECT 'order.created', "
            "CASE WHEN i %% 50 = 0 THEN '\\x%s'::bytea || int4send(i) ELSE '\\x%s' END, "
            "now() - interval '5 seconds' FROM generate_series(1, 450) i"
            % (msgpack_pack({"user_id": a, "n": None})[:-1].hex() + "d2",
               msgpack_pack({"user_id": other}).hex()))
        wait_for(lambda: int(self.stack.psql(
            "SELECT count(*) FROM outbox WHERE position IS NULL")) == 0, 15, "events relayed")
        s = self.open(ta, headers={"Last-Event-ID": start})
        got = [json.loads(s.event()["data"])["n"] for _ in range(9)]
        self.assertEqual(got, list(range(50, 451, 50)))

    def test_stream_limit_and_freed_slot(self):
        tokens = [self.user()[1] for _ in range(MAX_STREAMS + 1)]
        opened = [self.open(t) for t in tokens[:MAX_STREAMS]]
        self.assertEqual([s.status for s in opened], [200] * MAX_STREAMS)
        wait_for(lambda: self.open_streams() == MAX_STREAMS, 5, "streams counted")
        r = self.open(tokens[-1])
        self.assertEqual(r.status, 503)
        self.assertEqual(r.body["error"]["code"], "TOO_MANY_STREAMS")
        self.assertEqual(r.headers["Retry-After"], "5")
        # A client that just goes away frees its slot (noticed at the latest
        # on the next keep-alive).
        opened[0].close()
        self.streams.remove(opened[0])
        wait_for(lambda: self.open_streams() == MAX_STREAMS - 1, 5, "slot freed")
        r = self.open(tokens[-1])
        self.assertEqual(r.status, 200)

    def test_cod_checkout_events_reach_the_buyer(self):
        seller_id, seller = self.merchant()
        shop = self.store(seller)
        cat = self.category()
        p = self.product(seller, shop, cat, stock=5, selling_price_paise=20000,
                         original_price_paise=20000)
        uid, tok, addr = self.customer()
        s = self.open(tok)
        other_id, other = self.user()
        s_other = self.open(other)
        self.add(tok, p, 1)
        r = self.checkout(tok, addr)
        self.assertEqual(r.status, 201, r)
        order = self.assertEvent(s.event(), "order.created", user_id=uid)
        self.assertEqual(order["store_id"], shop["id"])
        # The other user's stream skipped it: its first event is a later one.
        self.emit("order.status_changed", {"user_id": other_id, "marker": "later"})
        self.assertEvent(s_other.event(), "order.status_changed", marker="later")

    def test_zz_sigterm_ends_streams_cleanly(self):
        _, t = self.user()
        s = self.open(t)
        self.assertEqual(s.frame(), {"retry": "3000"})
        front = self.stack.procs["front"]
        self.stack.restart_front()
        self.assertEqual(front.popen.returncode, 0)
        # The stream ended with the end of its chunked body, not a reset.
        while s.frame() is not None:
            pass
        self.assertTrue(s.resp.isclosed())


if __name__ == "__main__":
    unittest.main()
