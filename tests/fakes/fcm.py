#!/usr/bin/env python3
"""
fcm - a local fake of Firebase Cloud Messaging's HTTP v1 API, for tests.

    POST /v1/projects/{project}/messages:send   Authorization: Bearer <token>
         {"message": {"token", "notification"?: {"title", "body"}, "data"?: {str: str}}}
    -> 200 {"name": "projects/{project}/messages/{id}"}

Errors are Google's {"error": {"code", "message", "status", "details"}}:
401 UNAUTHENTICATED for a wrong bearer token, 403 PERMISSION_DENIED for
another project, 400 INVALID_ARGUMENT for a malformed message or a token
that is not a registration token (details errorCode INVALID_ARGUMENT), and
404 NOT_FOUND with errorCode UNREGISTERED for a token the fake was told is
no longer registered (unregister(token), or POST /__fake/unregister
{"token"}). Messages taken are kept (messages()).

Standalone: python3 fcm.py --port 0 --project P --access-token T.

Standard library only.
"""

import argparse
import os
import re
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from provider_base import FakeProvider, json_answer, parse_json, serve_standalone  # noqa: E402

PATH = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
# Registration tokens are long runs of these; anything else is not one.
TOKEN = re.compile(r"^[A-Za-z0-9_:\-]{20,4096}$")
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def google_error(code, status, message, fcm_code=None):
    err = {"code": code, "message": message, "status": status}
    if fcm_code:
        err["details"] = [{"@type": FCM_ERROR, "errorCode": fcm_code}]
    return json_answer(code, {"error": err})


class FakeFcm(FakeProvider):
    name = "fcm"

    def __init__(self, project="mandi-test", access_token="fcm-test-token", **kw):
        self.project = project
        self.access_token = access_token
        super().__init__(**kw)

    def reset_state(self):
        self._messages = []
        self._unregistered = set()

    def unregister(self, token):
        with self._lock:
            self._unregistered.add(token)

    def messages(self):
        with self._lock:
            return [dict(m) for m in self._messages]

    def control(self, method, path, body):
        if path == "/__fake/unregister" and method == "POST" and isinstance(body, dict):
            self.unregister(str(body.get("token")))
            return 200, {"unregistered": body.get("token")}
        return None

    def serve(self, method, path, headers, raw):
        m = PATH.match(path)
        if not m:
            return google_error(404, "NOT_FOUND", "Requested entity was not found.")
        if method != "POST":
            return google_error(405, "METHOD_NOT_ALLOWED", "Method not allowed.")
        if headers.get("Authorization") != "Bearer " + self.access_token:
            return google_error(401, "UNAUTHENTICATED",
                                "Request had invalid authentication credentials.")
        if m.group(1) != self.project:
            return google_error(403, "PERMISSION_DENIED",
                                "Permission denied on project %s." % m.group(1))
        body = parse_json(raw)
        msg = body.get("message") if isinstance(body, dict) else None
        if not isinstance(msg, dict):
            return google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        token = msg.get("token")
        if not isinstance(token, str) or not TOKEN.match(token):
            return google_error(400, "INVALID_ARGUMENT",
                                "The registration token is not a valid FCM registration token",
                                "INVALID_ARGUMENT")
        data = msg.get("data", {})
        if not isinstance(data, dict) or any(not isinstance(v, str) for v in data.values()):
            return google_error(400, "INVALID_ARGUMENT",
                                "Invalid value at 'message.data': values must be strings")
        with self._lock:
            if token in self._unregistered:
                return google_error(404, "NOT_FOUND", "Requested entity was not found.",
                                    "UNREGISTERED")
            name = "projects/%s/messages/%s" % (self.project, secrets.token_hex(8))
            self._messages.append({"name": name, "token": token,
                                   "notification": msg.get("notification"), "data": data})
        return json_answer(200, {"name": name})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--project", default="mandi-test")
    p.add_argument("--access-token", default="fcm-test-token")
    a = p.parse_args()
    serve_standalone(FakeFcm(project=a.project, access_token=a.access_token, port=a.port))


if __name__ == "__main__":
    main()
