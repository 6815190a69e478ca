#!/usr/bin/env python3
"""
msg91 - a local fake of MSG91's flow API (SMS), for tests.

    POST /api/v5/flow/   header authkey: <key>
         {"template_id", "sender"?, "short_url"?, "recipients": [{"mobiles": "91XXXXXXXXXX",
          <variable>: value, ...}]}
    -> 200 {"type": "success", "message": "<request id>"}

Like MSG91, a bad authkey answers 401 {"type": "error", "message": ...}, a
template the account does not have or a malformed recipient answers 400 in
the same shape, and every variable of the template must be given (here the
template's variables are configured, "content" by default). Messages taken
are kept with their request id (sms()).

    with FakeMsg91(auth_key="k", template_id="t") as f:
        f.url; f.sms(); f.add_fault("/api/v5/flow/", status=500, count=2)

Control API: provider_base.py. Standalone: python3 msg91.py --port 0
--auth-key K --template-id T (prints its URL, serves until killed).

Standard library only.
"""

import argparse
import os
import re
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from provider_base import FakeProvider, json_answer, parse_json, serve_standalone  # noqa: E402

MOBILE = re.compile(r"^91[6-9][0-9]{9}$")


class FakeMsg91(FakeProvider):
    name = "msg91"

    def __init__(self, auth_key="msg91-test-key", template_id="mandi-content",
                 variables=("content",), **kw):
        self.auth_key = auth_key
        self.template_id = template_id
        self.variables = tuple(variables)
        super().__init__(**kw)

    def reset_state(self):
        self._sms = []

    def sms(self):
        with self._lock:
            return [dict(m) for m in self._sms]

    def serve(self, method, path, headers, raw):
        if path not in ("/api/v5/flow/", "/api/v5/flow"):
            return json_answer(404, {"type": "error", "message": "Not found"})
        if method != "POST":
            return json_answer(405, {"type": "error", "message": "Method not allowed"})
        if headers.get("authkey") != self.auth_key:
            return json_answer(401, {"type": "error", "message": "Authentication failure"})
        body = parse_json(raw)
        if not isinstance(body, dict):
            return json_answer(400, {"type": "error", "message": "Invalid JSON"})
        if body.get("template_id") != self.template_id:
            return json_answer(400, {"type": "error", "message": "Invalid template id"})
        recipients = body.get("recipients")
        if not isinstance(recipients, list) or not recipients:
            return json_answer(400, {"type": "error", "message": "recipients are required"})
        for r in recipients:
            if not isinstance(r, dict) or not isinstance(r.get("mobiles"), str) or \
                    not MOBILE.match(r["mobiles"]):
                return json_answer(400, {"type": "error", "message": "Invalid mobile number"})
            for v in self.variables:
                if not isinstance(r.get(v), str) or not r[v]:
                    return json_answer(400, {"type": "error",
                                             "message": "Missing variable %s" % v})
        request_id = secrets.token_hex(12)
        with self._lock:
            for r in recipients:
                self._sms.append({"request_id": request_id, "mobiles": r["mobiles"],
                                  "sender": body.get("sender"),
                                  "variables": {v: r[v] for v in self.variables}})
        return json_answer(200, {"type": "success", "message": request_id})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--auth-key", default="msg91-test-key")
    p.add_argument("--template-id", default="mandi-content")
    a = p.parse_args()
    serve_standalone(FakeMsg91(auth_key=a.auth_key, template_id=a.template_id, port=a.port))


if __name__ == "__main__":
    main()
