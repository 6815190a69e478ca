#!/usr/bin/env python3
"""
razorpay - a local fake of the Razorpay API, for tests.

It speaks Razorpay's wire format for the calls mandi makes: HTTP Basic auth
with a key id and secret, JSON entities shaped like Razorpay's (orders,
payments, refunds, RazorpayX contacts, fund accounts and payouts), its error body
{"error": {"code", "description", "source", "step", "reason", "metadata",
"field"}}, the X-Refund-Idempotency and X-Payout-Idempotency headers, and
webhooks signed with X-Razorpay-Signature (HMAC-SHA256 hex of the raw body
under the webhook secret). Like Razorpay, it does not dedupe orders by
receipt, and an empty "notes" comes back as [] rather than {}. Like
RazorpayX, it answers a contact (or a fund account) whose details all match
an existing one with that one rather than making another, and it pays out
only to a fund account it has (UPI to a vpa, IMPS/NEFT/RTGS to a bank
account) from the RazorpayX account number it was given, if given one.

Standalone (prints its URL, then serves until SIGINT or SIGTERM):

    python3 tests/fakes/razorpay.py --port 0 --key-id K --key-secret S \\
        --webhook-secret W [--webhook-url URL] [--account-number N]

In process (what Python tests do):

    sys.path.insert(0, "<source dir>/tests/fakes")
    from razorpay import FakeRazorpay
    with FakeRazorpay(key_id="rzp_test_x", key_secret="s", webhook_secret="w") as rzp:
        rzp.url                               # e.g. http://127.0.0.1:41234
        rzp.pay(order_id)                     # the customer pays
        rzp.add_fault("/v1/payments/*/refund", "error", count=2)
        rzp.requests(path="/v1/orders")       # what it received
        rzp.webhook("payment.captured", payment_id, url=...)

Control API, for tests in other languages, under /__fake/ (no auth; never a
Razorpay path). Bodies and answers are JSON.

    POST   /__fake/orders/{order_id}/pay    the customer pays the order:
           {"outcome": "captured"|"authorized"|"failed", "failures_first": N,
            "method": "upi", "amount": paise}  -> {"payment", "payments", "checkout"}
           (failures_first: failed attempts before the one with the outcome,
            as when a UPI collect times out and the customer tries again;
            checkout: what Razorpay's checkout hands the app, signature included)
    POST   /__fake/refunds/{id}/status      {"status": "processed"|"failed"}
    POST   /__fake/payouts/{id}/status      {"status": "processed"|"reversed"|"failed"}
    POST   /__fake/faults                   {"path": glob, "method": M?, "kind":
           "error"|"hang"|"close", "count": N, "status": 500, "seconds": S,
           "phase": "before"|"after"}       -> the fault with its id
           (the next N requests matching path (fnmatch, e.g. /v1/payments/*/refund)
            answer status / hang S seconds then close / close at once; "before"
            leaves the request undone, "after" does it, then loses the answer)
    GET    /__fake/faults                   DELETE /__fake/faults
    GET    /__fake/requests?method=&path=   -> {"count", "items": [{seq, method, path,
           query, headers, body, auth_user, idempotency_key, client_port, status,
           fault}]} (path matched as a glob)
    DELETE /__fake/requests
    GET    /__fake/state                    -> counts and every entity
    POST   /__fake/reset                    forgets everything but the keys
    POST   /__fake/webhooks                 one event: {"event", "entity_id", "url"?,
           "deliver": true, "tamper": false, "apply": true}, or several:
           {"url", "events": [{"event", "entity_id"}, ...], "order":
           "given"|"reverse"|"shuffle"}     -> the event(s) and their deliveries
    POST   /__fake/webhooks/{event_id}/deliver  {"url"?, "tamper": false}: send a
           stored event again, same id, body and signature
    GET    /__fake/webhooks                 -> {"events", "deliveries"}

Webhook events: payment.authorized, payment.captured, payment.failed,
order.paid, refund.processed, refund.failed, payout.processed,
payout.reversed, payout.failed. With "apply" (the default) a refund or payout
event also moves its entity to that state first. With a webhook URL
configured, the fake also sends the events of its own state changes (a
payment, a capture, a refund or payout status set through the control API)
in order from a background thread, the way Razorpay would.

Standard library only.
"""

import argparse
import base64
import copy
import fnmatch
import hashlib
import hmac
import http.client
import http.server
import json
import queue
import random
import re
import signal
import socket
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_KEY_ID = "rzp_test_dev"
DEFAULT_KEY_SECRET = "dev-razorpay-secret"
DEFAULT_WEBHOOK_SECRET = "dev-webhook-secret"
DEFAULT_ACCOUNT_ID = "acc_FakeMandi00001"

ID_CHARS = string.ascii_letters + string.digits
MIN_AMOUNT = 100  # paise; Razorpay's minimum for orders, refunds and payouts
PAYOUT_MODES = ("NEFT", "RTGS", "IMPS", "UPI", "card", "amazonpay")
EVENTS = ("payment.authorized", "payment.captured", "payment.failed", "order.paid",
          "refund.processed", "refund.failed", "payout.processed", "payout.reversed",
          "payout.failed")

# Fields each create call accepts; anything else is refused as Razorpay does.
ORDER_FIELDS = {"amount", "currency", "receipt", "notes", "partial_payment",
                "first_payment_min_amount", "payment_capture", "offer_id"}
CAPTURE_FIELDS = {"amount", "currency"}
REFUND_FIELDS = {"amount", "speed", "notes", "receipt"}
CONTACT_FIELDS = {"name", "email", "contact", "type", "reference_id", "notes"}
FUND_ACCOUNT_FIELDS = {"contact_id", "account_type", "bank_account", "vpa"}
BANK_ACCOUNT_FIELDS = {"name", "ifsc", "account_number"}
CONTACT_TYPES = ("customer", "vendor", "employee", "self")
# Razorpay's names: letters, digits, space and \u2019 - _ / ( ) , . only,
# not ending in one of the specials other than '.'.
NAME_CHARS = re.compile(r"^[A-Za-z0-9 \u2019\-_/(),.]+$")
IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
VPA = re.compile(r"^[A-Za-z0-9.\-_]{1,256}@[A-Za-z]{2,64}$")
BANKS = {"HDFC": "HDFC Bank", "ICIC": "ICICI Bank", "SBIN": "State Bank of India",
         "UTIB": "Axis Bank", "KKBK": "Kotak Mahindra Bank"}
# A payout's mode must suit its fund account.
MODES_FOR = {"bank_account": ("NEFT", "RTGS", "IMPS"), "vpa": ("UPI",)}
PAYOUT_FIELDS = {"account_number", "fund_account_id", "amount", "currency", "mode", "purpose",
                 "queue_if_low_balance", "reference_id", "narration", "notes"}

REFUND_KEY = re.compile(r"^[A-Za-z0-9_-]{10,}$")
PAYOUT_KEY = re.compile(r"^[A-Za-z0-9_ -]{4,36}$")


class ApiError(Exception):
    """An error answer in Razorpay's shape."""

    def __init__(self, status, description, field=None, code="BAD_REQUEST_ERROR",
                 source="business", step="payment_initiation", reason="input_validation_failed"):
        super().__init__(description)
        self.status = status
        self.body = {"error": {"code": code, "description": description, "source": source,
                               "step": step, "reason": reason, "metadata": {}, "field": field}}


def bad_request(description, field=None):
    return ApiError(400, description, field)


def not_found_id():
    return ApiError(400, "The id provided does not exist", "id")


def injected_error(status):
    """The answer of an "error" fault: Razorpay's server error, or for a 4xx
    status (429, 409) the refusal Razorpay gives with it."""
    if status >= 500:
        return ApiError(status, "The server encountered an error. The incident has been "
                        "reported to admins.", code="SERVER_ERROR", source="NA", step="NA",
                        reason="NA")
    texts = {429: "Too many requests", 409: "A request with this idempotency key is already "
             "being processed"}
    return ApiError(status, texts.get(status, "Request refused"), source="NA", step="NA",
                    reason="NA")


def auth_error(description):
    return ApiError(401, description, code="BAD_REQUEST_ERROR", source="NA", step="NA",
                    reason="NA")


def collection(items):
    return 200, {"entity": "collection", "count": len(items), "items": items}


def sign(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notes_out(notes):
    # Razorpay's API is PHP underneath: an empty notes map comes back as [].
    return dict(notes) if notes else []


def check_fields(body, allowed):
    for key in body:
        if key not in allowed:
            raise bad_request("%s is/are not required and should not be sent" % key, key)


def check_amount(value, field="amount", minimum=MIN_AMOUNT):
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request("The %s must be an integer." % field, field)
    if value < minimum:
        raise bad_request("The %s must be atleast INR %d.%02d." % (field, minimum // 100,
                                                                    minimum % 100), field)
    return value


def check_currency(body, required=True):
    cur = body.get("currency")
    if cur is None and not required:
        return "INR"
    if cur is None:
        raise bad_request("The currency field is required.", "currency")
    if cur != "INR":
        raise bad_request("Currency is not supported", "currency")
    return cur


def check_notes(notes):
    if notes is None:
        return {}
    if isinstance(notes, list) and not notes:
        return {}
    if not isinstance(notes, dict):
        raise bad_request("The notes must be an array.", "notes")
    if len(notes) > 15:
        raise bad_request("Number of notes should be less than or equal to 15", "notes")
    for key, value in notes.items():
        if isinstance(value, (dict, list)) or len(str(value)) > 256:
            raise bad_request("notes.%s should be a string of at most 256 characters" % key,
                              "notes")
    return dict(notes)


class FakeRazorpay:
    """The fake: its state, the operations of the control API, and the HTTP
    server that serves both (started by start(), stopped by stop())."""

    def __init__(self, key_id=DEFAULT_KEY_ID, key_secret=DEFAULT_KEY_SECRET,
                 webhook_secret=DEFAULT_WEBHOOK_SECRET, host="127.0.0.1", port=0,
                 account_id=DEFAULT_ACCOUNT_ID, webhook_url=None, refund_status="pending",
                 payout_balance=None, account_number=None):
        self.key_id = key_id
        self.key_secret = key_secret
        self.webhook_secret = webhook_secret
        self.account_id = account_id
        self.webhook_url = webhook_url
        if refund_status not in ("pending", "processed"):
            raise ValueError("refund_status is pending or processed")
        self.refund_status = refund_status
        self.initial_payout_balance = payout_balance
        # The RazorpayX account payouts must come from; None takes any.
        self.account_number = account_number
        self.host = host
        self.port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._rng = random.Random()
        self._server = None
        self._thread = None
        self._outbox = queue.Queue()
        self._sender = None
        self.reset()

    # ---- lifetime -----------------------------------------------------------

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        fake = self

        class Handler(FakeHandler):
            pass

        Handler.fake = fake
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-razorpay", daemon=True)
        self._thread.start()
        self._sender = threading.Thread(target=self._send_queued, name="fake-razorpay-webhooks",
                                        daemon=True)
        self._sender.start()
        return self

    def stop(self):
        self._stopping.set()  # wakes hanging requests
        self._outbox.put(None)
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for t in (self._thread, self._sender):
            if t:
                t.join(timeout=10)
        self._thread = self._sender = None

    def serve_forever(self):
        """Starts if need be, then returns once stop() was called (from
        another thread or a signal handler)."""
        if not self._server:
            self.start()
        while self._thread and self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def reset(self):
        with self._lock:
            self.orders = {}
            self.payments = {}
            self.refunds = {}
            self.payouts = {}
            self.contacts = {}
            self.fund_accounts = {}
            self.refund_keys = {}  # key -> (request body, refund id)
            self.payout_keys = {}  # key -> (request body, payout id)
            self.faults = []
            self.log = []
            self.events = {}  # event id -> stored event (body bytes, signature, ...)
            self.event_order = []
            self.deliveries = []
            self.payout_balance = self.initial_payout_balance
            self._seq = 0
            self._fault_seq = 0
        return {"reset": True}

    # ---- helpers --------------------------------------------------------------

    def _new_id(self, prefix, taken):
        while True:
            ident = prefix + "".join(self._rng.choice(ID_CHARS) for _ in range(14))
            if ident not in taken:
                return ident

    @staticmethod
    def _get(table, ident):
        """The entity ident of table, or Razorpay's 400 for an unknown id."""
        entity = table.get(ident)
        if not entity:
            raise not_found_id()
        return entity

    # ---- the Razorpay API -------------------------------------------------------

    def create_order(self, body):
        check_fields(body, ORDER_FIELDS)
        amount = check_amount(body.get("amount"))
        currency = check_currency(body)
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise bad_request("The receipt may not be greater than 40 characters.", "receipt")
        notes = check_notes(body.get("notes"))
        order = {
            "id": self._new_id("order_", self.orders), "entity": "order", "amount": amount,
            "amount_paid": 0, "amount_due": amount, "currency": currency, "receipt": receipt,
            "offer_id": None, "status": "created", "attempts": 0, "notes": notes_out(notes),
            "created_at": int(time.time()),
        }
        self.orders[order["id"]] = order
        return 200, order

    def fetch_order(self, order_id):
        return 200, self._get(self.orders, order_id)

    def children(self, parents, parent_id, children, field):
        """The entities of children whose field is parent_id (an order's
        payments, a payment's refunds), once parent_id is known."""
        self._get(parents, parent_id)
        return collection([c for c in children.values() if c[field] == parent_id])

    def fetch_payment(self, payment_id):
        return 200, self._get(self.payments, payment_id)

    def list_payments(self, query):
        def number(name, default, lo, hi):
            raw = query.get(name)
            if raw is None:
                return default
            if not re.fullmatch(r"[0-9]+", raw) or not lo <= int(raw) <= hi:
                raise bad_request("The %s must be an integer between %d and %d." % (name, lo, hi),
                                  name)
            return int(raw)

        start = number("from", 0, 0, 2 ** 40)
        end = number("to", 2 ** 40, 0, 2 ** 40)
        count = number("count", 10, 1, 100)
        skip = number("skip", 0, 0, 2 ** 31)
        items = [p for p in self.payments.values() if start <= p["created_at"] <= end]
        # Newest first, as Razorpay lists them; creation order breaks ties.
        items = [p for _, p in sorted(enumerate(items), key=lambda ip: (-ip[1]["created_at"],
                                                                         -ip[0]))]
        items = items[skip:skip + count]
        return collection(items)

    def capture_payment(self, payment_id, body):
        payment = self._get(self.payments, payment_id)
        check_fields(body, CAPTURE_FIELDS)
        amount = check_amount(body.get("amount"))
        if check_currency(body) != payment["currency"]:
            raise bad_request("Currency should be same as payment currency", "currency")
        if payment["status"] == "captured" or payment["captured"]:
            raise bad_request("This payment has already been captured")
        if payment["status"] != "authorized":
            raise bad_request("Only payments which have been authorized and not yet captured "
                              "can be captured")
        if amount != payment["amount"]:
            raise bad_request("Capture amount must be equal to the amount authorized", "amount")
        self._capture(payment)
        return 200, payment

    def refund_payment(self, payment_id, body, key):
        if key is not None:
            if not REFUND_KEY.match(key):
                raise bad_request("The idempotency key must be at least 10 characters of "
                                  "letters, digits, hyphens and underscores",
                                  "X-Refund-Idempotency")
            seen = self.refund_keys.get(key)
            if seen:
                if seen[0] != (payment_id, body):
                    raise bad_request("A different request was made earlier with the same "
                                      "idempotency key", "X-Refund-Idempotency")
                return 200, self.refunds[seen[1]]
        payment = self._get(self.payments, payment_id)
        check_fields(body, REFUND_FIELDS)
        if not payment["captured"]:
            raise bad_request("The payment has not been captured, so it cannot be refunded")
        left = payment["amount"] - payment["amount_refunded"]
        if left == 0:
            raise bad_request("The payment has been fully refunded already")
        amount = body.get("amount", left)
        check_amount(amount)
        if amount > left:
            raise bad_request("The refund amount provided is greater than amount captured",
                              "amount")
        notes = check_notes(body.get("notes"))
        refund = {
            "id": self._new_id("rfnd_", self.refunds), "entity": "refund", "amount": amount,
            "currency": payment["currency"], "payment_id": payment_id, "notes": notes_out(notes),
            "receipt": body.get("receipt"), "acquirer_data": {"arn": None},
            "created_at": int(time.time()), "batch_id": None, "status": self.refund_status,
            "speed_processed": "normal", "speed_requested": body.get("speed", "normal"),
        }
        self.refunds[refund["id"]] = refund
        self._count_refund(payment, amount)
        if key is not None:
            self.refund_keys[key] = ((payment_id, copy.deepcopy(body)), refund["id"])
        if refund["status"] == "processed":
            self._emit("refund.processed", refund["id"])
        return 200, refund

    def fetch_refund(self, refund_id):
        return 200, self._get(self.refunds, refund_id)

    def create_payout(self, body, key):
        if not key:
            raise bad_request("Idempotency key is missing. Include idempotency header and key "
                              "in the request.", "X-Payout-Idempotency")
        if not PAYOUT_KEY.match(key):
            raise bad_request("The idempotency key must be 4 to 36 characters of letters, "
                              "digits, hyphens, underscores and spaces", "X-Payout-Idempotency")
        seen = self.payout_keys.get(key)
        if seen:
            if seen[0] != body:
                raise bad_request("A different request was made earlier with the same "
                                  "idempotency key", "X-Payout-Idempotency")
            return 200, self.payouts[seen[1]]
        check_fields(body, PAYOUT_FIELDS)
        for field in ("account_number", "fund_account_id", "mode", "purpose"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise bad_request("The %s field is required." % field, field)
        if self.account_number is not None and body["account_number"] != self.account_number:
            raise bad_request("The account number is invalid.", "account_number")
        if not body["fund_account_id"].startswith("fa_"):
            raise bad_request("The fund account id provided is invalid", "fund_account_id")
        if body["mode"] not in PAYOUT_MODES:
            raise bad_request("Invalid payout mode", "mode")
        fund_account = self.fund_accounts.get(body["fund_account_id"])
        if not fund_account:
            raise ApiError(400, "The id provided does not exist", "fund_account_id")
        if body["mode"] not in MODES_FOR[fund_account["account_type"]]:
            raise bad_request("Invalid combination of payout mode (%s) and beneficiary account "
                              "type (%s)" % (body["mode"], fund_account["account_type"]), "mode")
        amount = check_amount(body.get("amount"))
        check_currency(body)
        ref = body.get("reference_id")
        if ref is not None and (not isinstance(ref, str) or len(ref) > 40):
            raise bad_request("The reference id may not be greater than 40 characters.",
                              "reference_id")
        narration = body.get("narration")
        if narration is not None and (not isinstance(narration, str) or len(narration) > 30
                                      or not re.fullmatch(r"[A-Za-z0-9 ]*", narration)):
            raise bad_request("The narration must be at most 30 letters, digits and spaces",
                              "narration")
        queue_low = body.get("queue_if_low_balance", False)
        if not isinstance(queue_low, bool):
            raise bad_request("The queue if low balance field must be true or false.",
                              "queue_if_low_balance")
        notes = check_notes(body.get("notes"))
        status = "processing"
        if self.payout_balance is not None:
            if amount > self.payout_balance:
                if not queue_low:
                    raise bad_request("Your account does not have enough balance to carry out "
                                      "the payout operation.")
                status = "queued"
            else:
                self.payout_balance -= amount
        payout = {
            "id": self._new_id("pout_", self.payouts), "entity": "payout",
            "fund_account_id": body["fund_account_id"], "amount": amount, "currency": "INR",
            "notes": notes_out(notes), "fees": 0, "tax": 0, "status": status, "utr": None,
            "mode": body["mode"], "purpose": body["purpose"], "reference_id": ref,
            "narration": narration, "batch_id": None, "status_details": None,
            "created_at": int(time.time()), "fee_type": "",
        }
        self.payouts[payout["id"]] = payout
        self.payout_keys[key] = (copy.deepcopy(body), payout["id"])
        return 200, payout

    def fetch_payout(self, payout_id):
        return 200, self._get(self.payouts, payout_id)

    @staticmethod
    def _check_name(value, field, longest):
        if not isinstance(value, str) or not value:
            raise bad_request("The %s field is required." % field, field)
        if not 3 <= len(value) <= longest or not NAME_CHARS.match(value) or \
                not (value[-1].isalnum() or value[-1] == "."):
            raise bad_request("The %s field is invalid." % field, field)
        return value

    @staticmethod
    def _optional_str(body, field, longest):
        value = body.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > longest):
            raise bad_request("The %s may not be greater than %d characters." % (field, longest),
                              field)
        return value

    def create_contact(self, body):
        check_fields(body, CONTACT_FIELDS)
        name = self._check_name(body.get("name"), "name", 50)
        kind = body.get("type")
        if kind is not None and kind not in CONTACT_TYPES:
            raise bad_request("Invalid type: %s" % kind, "type")
        ref = self._optional_str(body, "reference_id", 40)
        email = self._optional_str(body, "email", 254)
        phone = self._optional_str(body, "contact", 32)
        notes = check_notes(body.get("notes"))
        details = (name, email, phone, kind, ref)
        for c in self.contacts.values():
            if (c["name"], c["email"], c["contact"], c["type"], c["reference_id"]) == details:
                return 200, c
        contact = {
            "id": self._new_id("cont_", self.contacts), "entity": "contact", "name": name,
            "contact": phone, "email": email, "type": kind, "reference_id": ref,
            "batch_id": None, "active": True, "notes": notes_out(notes),
            "created_at": int(time.time()),
        }
        self.contacts[contact["id"]] = contact
        return 200, contact

    def create_fund_account(self, body):
        check_fields(body, FUND_ACCOUNT_FIELDS)
        contact_id = body.get("contact_id")
        if not isinstance(contact_id, str) or not contact_id:
            raise bad_request("The contact id field is required.", "contact_id")
        if contact_id not in self.contacts:
            raise ApiError(400, "The id provided does not exist", "contact_id")
        kind = body.get("account_type")
        if kind not in MODES_FOR:
            raise bad_request("Invalid account type: %s" % kind, "account_type")
        other = "vpa" if kind == "bank_account" else "bank_account"
        if other in body:
            raise bad_request("%s is/are not required and should not be sent" % other, other)
        given = body.get(kind)
        if not isinstance(given, dict):
            raise bad_request("The %s field is required." % kind, kind)
        if kind == "bank_account":
            check_fields(given, BANK_ACCOUNT_FIELDS)
            name = self._check_name(given.get("name"), "name", 120)
            ifsc = given.get("ifsc")
            if not isinstance(ifsc, str) or not IFSC.match(ifsc):
                raise bad_request("Invalid IFSC Code in Bank Account", "ifsc")
            number = given.get("account_number")
            if not isinstance(number, str) or not re.fullmatch(r"[A-Za-z0-9]{5,35}", number):
                raise bad_request("The account number format is invalid.", "account_number")
            details = {"ifsc": ifsc, "bank_name": BANKS.get(ifsc[:4], ifsc[:4] + " Bank"),
                       "name": name, "account_number": number, "notes": []}
            same = lambda fa: (fa["bank_account"]["ifsc"], fa["bank_account"]["name"],  # noqa
                               fa["bank_account"]["account_number"]) == (ifsc, name, number)
        else:
            check_fields(given, {"address"})
            address = given.get("address")
            if not isinstance(address, str) or not VPA.match(address):
                raise bad_request("Invalid VPA. Please enter a valid Virtual Payment Address",
                                  "address")
            handle, _, provider = address.partition("@")
            details = {"username": handle, "handle": provider, "address": address}
            same = lambda fa: fa["vpa"]["address"] == address  # noqa
        for fa in self.fund_accounts.values():
            if fa["contact_id"] == contact_id and fa["account_type"] == kind and same(fa):
                return 200, fa
        account = {
            "id": self._new_id("fa_", self.fund_accounts), "entity": "fund_account",
            "contact_id": contact_id, "account_type": kind, kind: details, "active": True,
            "batch_id": None, "created_at": int(time.time()),
        }
        self.fund_accounts[account["id"]] = account
        return 200, account

    # ---- state changes that Razorpay makes on its own ---------------------------------

    def _capture(self, payment):
        payment["status"] = "captured"
        payment["captured"] = True
        payment["fee"] = payment["amount"] * 2 // 100
        payment["tax"] = payment["fee"] * 18 // 100
        order = self.orders.get(payment["order_id"])
        if order:
            order["amount_paid"] += payment["amount"]
            order["amount_due"] = max(0, order["amount"] - order["amount_paid"])
            if order["amount_due"] == 0:
                order["status"] = "paid"
        self._emit("payment.captured", payment["id"])
        if order and order["status"] == "paid":
            self._emit("order.paid", order["id"])

    def _count_refund(self, payment, delta):
        payment["amount_refunded"] += delta
        refunded = payment["amount_refunded"]
        payment["refund_status"] = None if refunded == 0 else \
            "full" if refunded >= payment["amount"] else "partial"
        payment["status"] = "refunded" if refunded >= payment["amount"] else "captured"

    def pay(self, order_id, outcome="captured", failures_first=0, method="upi", amount=None,
            email="customer@example.com", contact="+919000090000"):
        """The customer pays order_id at the checkout: failures_first failed
        attempts, then one that ends authorized, captured or failed."""
        if outcome not in ("captured", "authorized", "failed"):
            raise bad_request("outcome is captured, authorized or failed", "outcome")
        if isinstance(failures_first, bool):
            failures_first = int(failures_first)
        if not isinstance(failures_first, int) or not 0 <= failures_first <= 10:
            raise bad_request("failures_first is 0 to 10", "failures_first")
        with self._lock:
            order = self._get(self.orders, order_id)
            if order["status"] == "paid":
                raise bad_request("Order is already paid", "order_id")
            amount = order["amount_due"] if amount is None else amount
            outcomes = ["failed"] * failures_first + [outcome]
            made = []
            for end in outcomes:
                payment = self._new_payment(order, amount, method, email, contact)
                order["attempts"] += 1
                if order["status"] == "created":
                    order["status"] = "attempted"
                if end == "failed":
                    payment.update({
                        "status": "failed", "error_code": "BAD_REQUEST_ERROR",
                        "error_description": "Payment was unsuccessful as the customer did not "
                        "approve the request in time.", "error_source": "customer",
                        "error_step": "payment_authorization", "error_reason": "payment_timed_out"})
                    self._emit("payment.failed", payment["id"])
                else:
                    payment["status"] = "authorized"
                    self._emit("payment.authorized", payment["id"])
                    if end == "captured":
                        self._capture(payment)
                made.append(payment)
            last = made[-1]
            checkout = None
            if last["status"] != "failed":
                checkout = {"razorpay_order_id": order_id, "razorpay_payment_id": last["id"],
                            "razorpay_signature": sign(self.key_secret, (
                                order_id + "|" + last["id"]).encode())}
            return {"payment": last, "payments": made, "order": order, "checkout": checkout}

    def _new_payment(self, order, amount, method, email, contact):
        payment = {
            "id": self._new_id("pay_", self.payments), "entity": "payment", "amount": amount,
            "currency": order["currency"], "status": "created", "order_id": order["id"],
            "invoice_id": None, "international": False, "method": method,
            "amount_refunded": 0, "refund_status": None, "captured": False,
            "description": None, "card_id": None, "bank": None, "wallet": None,
            "vpa": "customer@okhdfcbank" if method == "upi" else None, "email": email,
            "contact": contact, "notes": [], "fee": None, "tax": None, "error_code": None,
            "error_description": None, "error_source": None, "error_step": None,
            "error_reason": None, "acquirer_data": {}, "created_at": int(time.time()),
        }
        self.payments[payment["id"]] = payment
        return payment

    def set_refund_status(self, refund_id, status, emit=True):
        if status not in ("processed", "failed"):
            raise bad_request("status is processed or failed", "status")
        with self._lock:
            refund = self._get(self.refunds, refund_id)
            if refund["status"] != status:
                if refund["status"] != "pending":
                    raise bad_request("refund %s is already %s" % (refund_id, refund["status"]))
                refund["status"] = status
                if status == "failed":
                    self._count_refund(self.payments[refund["payment_id"]], -refund["amount"])
            if emit:
                self._emit("refund." + status, refund_id)
            return refund

    def set_payout_status(self, payout_id, status, emit=True):
        details = {
            "processed": ("Payout is processed and the money has been credited into the "
                          "beneficiary account.", "beneficiary_bank", "payout_processed"),
            "reversed": ("Payout was reversed by the beneficiary bank.", "beneficiary_bank",
                         "bank_account_closed"),
            "failed": ("Payout failed. Contact support for help.", "internal",
                       "server_error"),
        }
        if status not in details:
            raise bad_request("status is processed, reversed or failed", "status")
        with self._lock:
            payout = self._get(self.payouts, payout_id)
            was = payout["status"]
            if was != status:
                if was in ("reversed", "failed") or (was == "processed" and status != "reversed"):
                    raise bad_request("payout %s is already %s" % (payout_id, was))
                # A queued payout has not left the balance yet; any other has.
                if self.payout_balance is not None:
                    if was == "queued" and status == "processed":
                        self.payout_balance -= payout["amount"]
                    elif was != "queued" and status != "processed":
                        self.payout_balance += payout["amount"]
                payout["status"] = status
                desc, source, reason = details[status]
                payout["status_details"] = {"description": desc, "source": source,
                                            "reason": reason}
                if status == "processed":
                    payout["utr"] = "FAKE" + "".join(self._rng.choice(string.digits)
                                                     for _ in range(12))
            if emit:
                self._emit("payout." + status, payout_id)
            return payout

    # ---- faults and the request log -------------------------------------------------

    def add_fault(self, path, kind="error", count=1, method=None, status=500, seconds=30.0,
                  phase="before"):
        if kind not in ("error", "hang", "close"):
            raise bad_request("kind is error, hang or close", "kind")
        if phase not in ("before", "after"):
            raise bad_request("phase is before or after", "phase")
        if not isinstance(count, int) or count < 1:
            raise bad_request("count is a positive integer", "count")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise bad_request("status is 400 to 599", "status")
        with self._lock:
            self._fault_seq += 1
            fault = {"id": self._fault_seq, "path": path, "method": method, "kind": kind,
                     "count": count, "status": status, "seconds": float(seconds),
                     "phase": phase, "hits": 0}
            self.faults.append(fault)
            return dict(fault)

    def clear_faults(self):
        with self._lock:
            self.faults = []
        return {"faults": []}

    def _take_fault(self, method, path):
        for fault in self.faults:
            if fault["hits"] < fault["count"] and fnmatch.fnmatchcase(path, fault["path"]) and \
                    (not fault["method"] or fault["method"] == method):
                fault["hits"] += 1
                return dict(fault)
        return None

    def requests(self, method=None, path=None):
        with self._lock:
            return [copy.deepcopy(e) for e in self.log
                    if (not method or e["method"] == method) and
                    (not path or fnmatch.fnmatchcase(e["path"], path))]

    def clear_requests(self):
        with self._lock:
            self.log = []
        return {"count": 0, "items": []}

    def state(self):
        with self._lock:
            return copy.deepcopy({
                "counts": {"orders": len(self.orders), "payments": len(self.payments),
                           "refunds": len(self.refunds), "payouts": len(self.payouts),
                           "contacts": len(self.contacts),
                           "fund_accounts": len(self.fund_accounts),
                           "requests": len(self.log), "events": len(self.events),
                           "deliveries": len(self.deliveries)},
                "orders": list(self.orders.values()),
                "payments": list(self.payments.values()),
                "refunds": list(self.refunds.values()),
                "payouts": list(self.payouts.values()),
                "contacts": list(self.contacts.values()),
                "fund_accounts": list(self.fund_accounts.values()),
                "payout_balance": self.payout_balance,
            })

    # ---- webhooks ---------------------------------------------------------------------

    def _event_payload(self, event, entity_id):
        """contains and payload of an event about entity_id, as Razorpay
        shapes them."""
        kind = event.split(".")[0]
        if kind == "payment":
            payment = self._get(self.payments, entity_id)
            return ["payment"], {"payment": {"entity": payment}}
        if kind == "order":
            if entity_id in self.payments:
                payment = self.payments[entity_id]
                order = self._get(self.orders, payment["order_id"])
            else:
                order = self._get(self.orders, entity_id)
                paid = [p for p in self.payments.values()
                        if p["order_id"] == order["id"] and p["captured"]]
                if not paid:
                    raise bad_request("order %s has no captured payment" % order["id"])
                payment = paid[-1]
            return ["payment", "order"], {"payment": {"entity": payment},
                                          "order": {"entity": order}}
        if kind == "refund":
            refund = self._get(self.refunds, entity_id)
            return ["refund", "payment"], {"refund": {"entity": refund},
                                           "payment": {"entity": self.payments[refund[
                                               "payment_id"]]}}
        if kind == "payout":
            return ["payout"], {"payout": {"entity": self._get(self.payouts, entity_id)}}
        raise bad_request("unknown event %s" % event, "event")

    def _make_event(self, event, entity_id):
        contains, payload = self._event_payload(event, entity_id)
        event_id = self._new_id("", self.events)
        doc = {"entity": "event", "account_id": self.account_id, "event": event,
               "contains": contains, "payload": copy.deepcopy(payload),
               "created_at": int(time.time())}
        body = json.dumps(doc, separators=(",", ":")).encode()
        stored = {"id": event_id, "event": event, "entity_id": entity_id, "body": body,
                  "signature": sign(self.webhook_secret, body)}
        self.events[event_id] = stored
        self.event_order.append(event_id)
        return stored

    def _emit(self, event, entity_id):
        """An event of the fake's own state changes: sent in order by the
        background sender when a webhook URL is configured."""
        if self.webhook_url:
            self._outbox.put(self._make_event(event, entity_id)["id"])

    def _send_queued(self):
        while True:
            event_id = self._outbox.get()
            if event_id is None or self._stopping.is_set():
                return
            self.deliver(event_id)

    def webhook(self, event, entity_id, url=None, deliver=True, tamper=False, apply=True):
        """Makes (and by default sends) one event about entity_id. apply
        moves a refund or payout to the event's state first."""
        if event not in EVENTS:
            raise bad_request("event is one of " + ", ".join(EVENTS), "event")
        with self._lock:
            kind, _, what = event.partition(".")
            if apply and kind == "refund":
                self.set_refund_status(entity_id, what, emit=False)
            elif apply and kind == "payout":
                self.set_payout_status(entity_id, what, emit=False)
            stored = self._make_event(event, entity_id)
        result = self._describe(stored)
        if deliver:
            result["delivery"] = self.deliver(stored["id"], url=url, tamper=tamper)
        return result

    def webhooks(self, url, events, order="given", tamper=False):
        """Several events made first, then sent in the order asked: "given",
        "reverse" or "shuffle" (for handlers that must not rely on order)."""
        made = [self.webhook(e["event"], e["entity_id"], deliver=False,
                             apply=e.get("apply", True)) for e in events]
        sequence = list(made)
        if order == "reverse":
            sequence.reverse()
        elif order == "shuffle":
            self._rng.shuffle(sequence)
        elif order != "given":
            raise bad_request("order is given, reverse or shuffle", "order")
        for ev in sequence:
            ev["delivery"] = self.deliver(ev["id"], url=url, tamper=tamper)
        return sequence

    def deliver(self, event_id, url=None, tamper=False):
        """POSTs a stored event: the same id, body and signature every time.
        tamper changes the body after it was signed."""
        with self._lock:
            stored = self.events.get(event_id)
            if not stored:
                raise ApiError(404, "no such event", "event_id")
            url = url or self.webhook_url
            if not url:
                raise bad_request("no webhook url given or configured", "url")
            body = stored["body"]
            if tamper:
                body = re.sub(rb'"amount":(\d+)', lambda m: b'"amount":' + str(
                    int(m.group(1)) + 100).encode(), body, count=1)
                if body == stored["body"]:
                    body += b" "
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "Razorpay-Webhook/v1",
            "X-Razorpay-Signature": stored["signature"], "X-Razorpay-Event-Id": event_id})
        delivery = {"event_id": event_id, "event": stored["event"], "url": url,
                    "tampered": bool(tamper), "status": None, "response": None, "error": None,
                    "time": time.time()}
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                delivery["status"] = resp.status
                delivery["response"] = resp.read(65536).decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            delivery["status"] = e.code
            delivery["response"] = e.read(65536).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as e:
            delivery["error"] = str(e)
        with self._lock:
            self.deliveries.append(delivery)
        return dict(delivery)

    def _describe(self, stored):
        return {"id": stored["id"], "event": stored["event"], "entity_id": stored["entity_id"],
                "body": stored["body"].decode(), "signature": stored["signature"]}

    def webhook_log(self):
        with self._lock:
            return {"events": [self._describe(self.events[i]) for i in self.event_order],
                    "deliveries": copy.deepcopy(self.deliveries)}

    def wait_deliveries(self, n, timeout=10):
        """Waits until at least n deliveries were made; returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.deliveries) >= n:
                    return copy.deepcopy(self.deliveries)
            if time.monotonic() >= deadline:
                raise AssertionError("timed out waiting for %d webhook deliveries (have %d)"
                                     % (n, len(self.deliveries)))
            time.sleep(0.05)


# ---- HTTP -------------------------------------------------------------------------------

ID = r"(?P<id>[A-Za-z0-9_]+)"

# (method, path pattern, handler(fake, match, body, query, idempotency key)).
API_ROUTES = [
    ("POST", r"/v1/orders", lambda f, m, b, q, k: f.create_order(b)),
    ("GET", r"/v1/orders/" + ID, lambda f, m, b, q, k: f.fetch_order(m["id"])),
    ("GET", r"/v1/orders/" + ID + "/payments",
     lambda f, m, b, q, k: f.children(f.orders, m["id"], f.payments, "order_id")),
    ("GET", r"/v1/payments", lambda f, m, b, q, k: f.list_payments(q)),
    ("GET", r"/v1/payments/" + ID, lambda f, m, b, q, k: f.fetch_payment(m["id"])),
    ("POST", r"/v1/payments/" + ID + "/capture",
     lambda f, m, b, q, k: f.capture_payment(m["id"], b)),
    ("POST", r"/v1/payments/" + ID + "/refund",
     lambda f, m, b, q, k: f.refund_payment(m["id"], b, k)),
    ("GET", r"/v1/payments/" + ID + "/refunds",
     lambda f, m, b, q, k: f.children(f.payments, m["id"], f.refunds, "payment_id")),
    ("GET", r"/v1/refunds/" + ID, lambda f, m, b, q, k: f.fetch_refund(m["id"])),
    ("POST", r"/v1/contacts", lambda f, m, b, q, k: f.create_contact(b)),
    ("POST", r"/v1/fund_accounts", lambda f, m, b, q, k: f.create_fund_account(b)),
    ("POST", r"/v1/payouts", lambda f, m, b, q, k: f.create_payout(b, k)),
    ("GET", r"/v1/payouts/" + ID, lambda f, m, b, q, k: f.fetch_payout(m["id"])),
]


def _ok(value):
    return 200, value


def _webhooks_post(f, body):
    if "events" in body:
        return _ok({"events": f.webhooks(body.get("url"), body["events"],
                                         body.get("order", "given"), body.get("tamper", False))})
    return _ok(f.webhook(body.get("event", ""), body.get("entity_id", ""), url=body.get("url"),
                         deliver=body.get("deliver", True), tamper=body.get("tamper", False),
                         apply=body.get("apply", True)))


def _pay(f, order_id, body):
    opts = {k: body[k] for k in ("outcome", "failures_first", "method", "amount", "email",
                                 "contact") if k in body}
    return _ok(f.pay(order_id, **opts))


def _requests(f, query):
    items = f.requests(query.get("method"), query.get("path"))
    return _ok({"count": len(items), "items": items})


# (method, path pattern, handler(fake, match, body, query)).
CONTROL_ROUTES = [
    ("POST", r"/__fake/orders/" + ID + "/pay", lambda f, m, b, q: _pay(f, m["id"], b)),
    ("POST", r"/__fake/refunds/" + ID + "/status",
     lambda f, m, b, q: _ok(f.set_refund_status(m["id"], b.get("status")))),
    ("POST", r"/__fake/payouts/" + ID + "/status",
     lambda f, m, b, q: _ok(f.set_payout_status(m["id"], b.get("status")))),
    ("POST", r"/__fake/faults", lambda f, m, b, q: _ok(f.add_fault(**b))),
    ("GET", r"/__fake/faults", lambda f, m, b, q: _ok({"faults": list(f.faults)})),
    ("DELETE", r"/__fake/faults", lambda f, m, b, q: _ok(f.clear_faults())),
    ("GET", r"/__fake/requests", lambda f, m, b, q: _requests(f, q)),
    ("DELETE", r"/__fake/requests", lambda f, m, b, q: _ok(f.clear_requests())),
    ("GET", r"/__fake/state", lambda f, m, b, q: _ok(f.state())),
    ("POST", r"/__fake/reset", lambda f, m, b, q: _ok(f.reset())),
    ("POST", r"/__fake/webhooks", lambda f, m, b, q: _webhooks_post(f, b)),
    ("GET", r"/__fake/webhooks", lambda f, m, b, q: _ok(f.webhook_log())),
    ("POST", r"/__fake/webhooks/(?P<id>[A-Za-z0-9]+)/deliver",
     lambda f, m, b, q: _ok(f.deliver(m["id"], url=b.get("url"), tamper=b.get("tamper", False)))),
]


def _route(routes, method, path):
    """(handler, match) for method and path; (None, None) when no path
    matches, ("405", None) when only the method is wrong."""
    wrong_method = False
    for m, pattern, handler in routes:
        match = re.fullmatch(pattern, path)
        if match:
            if m == method:
                return handler, match
            wrong_method = True
    return ("405" if wrong_method else None), None


class FakeHandler(http.server.BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, as Razorpay's API offers."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-razorpay"
    sys_version = ""
    fake = None  # set on the per-server subclass

    def log_message(self, fmt, *args):
        pass  # the request log is the record; stderr stays quiet

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_PATCH(self):
        self._handle()

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _parse_json(self, raw):
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise bad_request("The request body is not valid JSON")
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object")
        return body

    def _handle(self):
        fake = self.fake
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        try:
            raw = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        if path.startswith("/__fake/"):
            self._control(fake, path, query, raw)
        else:
            self._api(fake, path, parsed.query, query, raw)

    def _control(self, fake, path, query, raw):
        try:
            handler, match = _route(CONTROL_ROUTES, self.command, path)
            if handler is None:
                raise ApiError(404, "no such control path", "path")
            if handler == "405":
                raise ApiError(405, "method not allowed", "method")
            status, doc = handler(fake, match, self._parse_json(raw), query)
        except ApiError as e:
            status, doc = e.status, e.body
        except (TypeError, KeyError) as e:
            status, doc = 400, bad_request("bad control request: %s" % e).body
        self._send(status, doc)

    def _auth_user(self):
        """The key id when Basic auth matches, else raises the 401 Razorpay
        answers. The scheme is matched exactly, as Razorpay does."""
        fake = self.fake
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            raise auth_error("Please provide your api key for authentication purposes.")
        try:
            user, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise auth_error("Please provide your api key for authentication purposes.")
        if not hmac.compare_digest(user, fake.key_id):
            raise auth_error("The api key provided is invalid")
        if not hmac.compare_digest(secret, fake.key_secret):
            raise auth_error("Authentication failed")
        return user

    def _api(self, fake, path, raw_query, query, raw):
        key = self.headers.get("X-Refund-Idempotency") or self.headers.get("X-Payout-Idempotency")
        entry = {"method": self.command, "path": path, "query": raw_query,
                 "headers": {k: v for k, v in self.headers.items()},
                 "body": raw.decode("utf-8", "replace"), "auth_user": None,
                 "idempotency_key": key, "client_port": self.client_address[1],
                 "status": None, "fault": None, "time": time.time()}
        if "Authorization" in entry["headers"]:
            entry["headers"]["Authorization"] = "(redacted)"
        with fake._lock:
            fake._seq += 1
            entry["seq"] = fake._seq
            fake.log.append(entry)
            fault = fake._take_fault(self.command, path)
        if fault:
            entry["fault"] = fault["kind"] + ":" + fault["phase"]
        if fault and fault["phase"] == "before":
            self._apply_fault(fault, entry)
            return
        try:
            entry["auth_user"] = self._auth_user()
            handler, match = _route(API_ROUTES, self.command, path)
            if handler is None:
                raise ApiError(404, "The requested URL was not found on the server.",
                               source="NA", step="NA", reason="NA")
            if handler == "405":
                raise ApiError(405, "The requested method is not allowed for this URL.",
                               source="NA", step="NA", reason="NA")
            body = self._parse_json(raw)
            with fake._lock:
                status, doc = handler(fake, match, body, query, key)
                doc = copy.deepcopy(doc)
        except ApiError as e:
            status, doc = e.status, e.body
        entry["status"] = status
        if fault:  # phase "after": done, but the answer is lost
            self._apply_fault(fault, entry)
            return
        self._send(status, doc)

    def _apply_fault(self, fault, entry):
        if fault["kind"] == "error":
            entry["status"] = fault["status"]
            self._send(fault["status"], injected_error(fault["status"]).body)
            return
        if fault["kind"] == "hang":
            self.fake._stopping.wait(fault["seconds"])
        # hang (once its time is up) and close: drop the connection unanswered.
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description="A local fake of the Razorpay API for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--key-id", default=DEFAULT_KEY_ID)
    parser.add_argument("--key-secret", default=DEFAULT_KEY_SECRET)
    parser.add_argument("--webhook-secret", default=DEFAULT_WEBHOOK_SECRET)
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument("--webhook-url", default=None,
                        help="where the fake sends the events of its own state changes")
    parser.add_argument("--refund-status", choices=("pending", "processed"), default="pending",
                        help="status of a new refund")
    parser.add_argument("--payout-balance", type=int, default=None,
                        help="RazorpayX balance in paise (default: unlimited)")
    parser.add_argument("--account-number", default=None,
                        help="the RazorpayX account payouts must come from (default: any)")
    args = parser.parse_args(argv)
    fake = FakeRazorpay(key_id=args.key_id, key_secret=args.key_secret,
                        webhook_secret=args.webhook_secret, host=args.host, port=args.port,
                        account_id=args.account_id, webhook_url=args.webhook_url,
                        refund_status=args.refund_status, payout_balance=args.payout_balance,
                        account_number=args.account_number)

    def on_signal(signum, frame):
        threading.Thread(target=fake.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake.start()
    print(fake.url, flush=True)
    fake.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
