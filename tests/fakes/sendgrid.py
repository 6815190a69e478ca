#!/usr/bin/env python3
"""
sendgrid - a local fake of SendGrid's v3 Mail Send API, for tests.

    POST /v3/mail/send   Authorization: Bearer <API key>
         {"personalizations": [{"to": [{"email", "name"?}], "subject"?}],
          "from": {"email", "name"?}, "subject"?, "content": [{"type", "value"}],
          "custom_args"?: {str: str}}
    -> 202 Accepted, empty body, X-Message-Id: <id>

Like SendGrid, a missing or wrong key answers 401, and a malformed mail 400,
both as {"errors": [{"message", "field", "help"}]}; a subject is required
(on the mail or on every personalization), content values must be
non-empty, and custom_args values must be strings. Mails taken are kept
(mails()).

    with FakeSendGrid(api_key="SG.x") as f:
        f.url; f.mails(); f.add_fault("/v3/mail/send", status=503)

Control API: provider_base.py. Standalone: python3 sendgrid.py --port 0
--api-key K.

Standard library only.
"""

import argparse
import os
import re
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from provider_base import FakeProvider, json_answer, parse_json, serve_standalone  # noqa: E402

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def error(status, message, field=None):
    return json_answer(status, {"errors": [{"message": message, "field": field,
                                            "help": None}]})


class FakeSendGrid(FakeProvider):
    name = "sendgrid"

    def __init__(self, api_key="SG.test-key", **kw):
        self.api_key = api_key
        super().__init__(**kw)

    def reset_state(self):
        self._mails = []

    def mails(self):
        with self._lock:
            return [dict(m) for m in self._mails]

    def _check(self, body):
        """None, or the (message, field) of the first problem."""
        if not isinstance(body, dict):
            return "Bad Request", None
        pers = body.get("personalizations")
        if not isinstance(pers, list) or not pers:
            return "The personalizations field is required.", "personalizations"
        for i, p in enumerate(pers):
            to = p.get("to") if isinstance(p, dict) else None
            if not isinstance(to, list) or not to:
                return "The to array is required.", "personalizations.%d.to" % i
            for t in to:
                if not isinstance(t, dict) or not EMAIL.match(str(t.get("email", ""))):
                    return "Does not contain a valid address.", "personalizations.%d.to" % i
            if not body.get("subject") and not p.get("subject"):
                return "The subject is required.", "subject"
        frm = body.get("from")
        if not isinstance(frm, dict) or not EMAIL.match(str(frm.get("email", ""))):
            return "The from email does not contain a valid address.", "from.email"
        content = body.get("content")
        if not isinstance(content, list) or not content:
            return "The content field is required.", "content"
        for c in content:
            if not isinstance(c, dict) or not c.get("type") or \
                    not isinstance(c.get("value"), str) or not c["value"]:
                return "The content value must be a string at least one character in length.", \
                    "content.0.value"
        args = body.get("custom_args", {})
        if not isinstance(args, dict) or any(not isinstance(v, str) for v in args.values()):
            return "Custom args values must be strings.", "custom_args"
        return None

    def serve(self, method, path, headers, raw):
        if path != "/v3/mail/send":
            return error(404, "Not found")
        if method != "POST":
            return error(405, "Method not allowed")
        if headers.get("Authorization") != "Bearer " + self.api_key:
            return error(401, "The provided authorization grant is invalid, expired, or revoked")
        body = parse_json(raw)
        problem = self._check(body)
        if problem:
            return error(400, problem[0], problem[1])
        message_id = secrets.token_urlsafe(16)
        with self._lock:
            for p in body["personalizations"]:
                self._mails.append({"message_id": message_id,
                                    "to": [t["email"] for t in p["to"]],
                                    "from": body["from"]["email"],
                                    "subject": p.get("subject") or body.get("subject"),
                                    "content": body["content"],
                                    "custom_args": body.get("custom_args", {})})
        return 202, {"X-Message-Id": message_id}, b""


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--api-key", default="SG.test-key")
    a = p.parse_args()
    serve_standalone(FakeSendGrid(api_key=a.api_key, port=a.port))


if __name__ == "__main__":
    main()
