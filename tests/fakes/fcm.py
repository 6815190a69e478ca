#!/usr/bin/env python3
"""
fcm - a local fake of Firebase Cloud Messaging's HTTP v1 API and of the
Google OAuth 2 token endpoint a server buys FCM's access tokens from, for
tests.

    POST /token   application/x-www-form-urlencoded
         grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>
    -> 200 {"access_token", "expires_in", "token_type": "Bearer"}

The assertion is checked the way Google checks it: an RS256 JWT whose
signature verifies with the service account's public key, iss the
account's client_email, aud this endpoint's URL, scope including
firebase.messaging, iat near now and exp at most an hour after it. A
refusal is 400 {"error": "invalid_grant" | "invalid_scope" |
"unsupported_grant_type", "error_description"}.

    POST /v1/projects/{project}/messages:send   Authorization: Bearer <token>
         {"message": {"token", "notification"?: {"title", "body"}, "data"?: {str: str}}}
    -> 200 {"name": "projects/{project}/messages/{id}"}

Errors are Google's {"error": {"code", "message", "status", "details"}}:
401 UNAUTHENTICATED for a bearer token the token endpoint did not issue,
that expired or was revoked (revoke_tokens()), 403 PERMISSION_DENIED for
another project, 400 INVALID_ARGUMENT for a malformed message or a token
that is not a registration token (details errorCode INVALID_ARGUMENT), and
404 NOT_FOUND with errorCode UNREGISTERED for a token the fake was told is
no longer registered (unregister(token), or POST /__fake/unregister
{"token"}). Messages taken are kept (messages()).

make_service_account(dir) writes a key file as the Firebase console does
(a fresh RSA key from the openssl command) and returns its path and the
public key the fake verifies with.

Standalone: python3 fcm.py --port 0 --project P --key-file F.

Standard library only (and the openssl command for make_service_account).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from provider_base import FakeProvider, json_answer, parse_json, serve_standalone  # noqa: E402

PATH = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
# Registration tokens are long runs of these; anything else is not one.
TOKEN = re.compile(r"^[A-Za-z0-9_:\-]{20,4096}$")
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The DER prefix of a SHA-256 DigestInfo, which PKCS#1 v1.5 signs.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def make_service_account(directory, project="mandi-test",
                         client_email="mandi-push@mandi-test.iam.gserviceaccount.com",
                         token_uri="https://oauth2.googleapis.com/token"):
    """Writes a service account key file; returns (path, (n, e))."""
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA",
                          "-pkeyopt", "rsa_keygen_bits:2048"],
                         check=True, capture_output=True, text=True).stdout
    mod = subprocess.run(["openssl", "rsa", "-noout", "-modulus"], input=pem, check=True,
                         capture_output=True, text=True).stdout
    n = int(mod.strip().split("=", 1)[1], 16)
    path = os.path.join(directory, "fcm-%s.json" % secrets.token_hex(4))
    with open(path, "w") as f:
        json.dump({"type": "service_account", "project_id": project,
                   "private_key_id": secrets.token_hex(20), "private_key": pem,
                   "client_email": client_email, "client_id": str(secrets.randbits(64)),
                   "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                   "token_uri": token_uri}, f)
    return path, (n, 65537)


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rs256_verifies(public, signing_input, signature):
    """RSASSA-PKCS1-v1_5 with SHA-256, by the book."""
    n, e = public
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    em = pow(int.from_bytes(signature, "big"), e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    want = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(em, want)


def oauth_error(error, description):
    return json_answer(400, {"error": error, "error_description": description})


def google_error(code, status, message, fcm_code=None):
    err = {"code": code, "message": message, "status": status}
    if fcm_code:
        err["details"] = [{"@type": FCM_ERROR, "errorCode": fcm_code}]
    return json_answer(code, {"error": err})


class FakeFcm(FakeProvider):
    name = "fcm"

    def __init__(self, project="mandi-test", client_email=None, public_key=None,
                 token_lifetime=3599, **kw):
        self.project = project
        self.client_email = client_email
        self.public_key = public_key  # (n, e) of the service account's key
        self.token_lifetime = token_lifetime
        super().__init__(**kw)

    @property
    def token_url(self):
        return self.url + "/token"

    def reset_state(self):
        self._messages = []
        self._unregistered = set()
        self._tokens = {}  # access token -> monotonic expiry
        self._grants = []  # the claims of every assertion accepted

    def unregister(self, token):
        with self._lock:
            self._unregistered.add(token)

    def revoke_tokens(self):
        """Every access token issued so far is refused from now on."""
        with self._lock:
            self._tokens = {}

    def grants(self):
        with self._lock:
            return [dict(g) for g in self._grants]

    def messages(self):
        with self._lock:
            return [dict(m) for m in self._messages]

    def control(self, method, path, body):
        if path == "/__fake/unregister" and method == "POST" and isinstance(body, dict):
            self.unregister(str(body.get("token")))
            return 200, {"unregistered": body.get("token")}
        return None

    def token_grant(self, headers, raw):
        if not (headers.get("Content-Type") or "").startswith(
                "application/x-www-form-urlencoded"):
            return oauth_error("invalid_request", "Content-Type must be "
                               "application/x-www-form-urlencoded")
        form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
        if form.get("grant_type") != JWT_BEARER:
            return oauth_error("unsupported_grant_type",
                               "Invalid grant_type: %s" % form.get("grant_type", ""))
        parts = form.get("assertion", "").split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not three parts")
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, TypeError) as e:
            return oauth_error("invalid_grant", "Invalid JWT: %s" % e)
        if header.get("alg") != "RS256" or not isinstance(claims, dict):
            return oauth_error("invalid_grant", "Invalid JWT: alg must be RS256")
        if claims.get("iss") != self.client_email:
            return oauth_error("invalid_grant", "Invalid grant: account not found")
        signed = (parts[0] + "." + parts[1]).encode()
        if not self.public_key or not rs256_verifies(self.public_key, signed, signature):
            return oauth_error("invalid_grant", "Invalid JWT Signature.")
        if claims.get("aud") != self.token_url:
            return oauth_error("invalid_grant", "Invalid JWT: audience must be "
                               + self.token_url)
        if SCOPE not in str(claims.get("scope", "")).split():
            return oauth_error("invalid_scope",
                               "Invalid OAuth scope or ID token audience provided.")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (not isinstance(iat, int) or not isinstance(exp, int) or abs(iat - now) > 300
                or exp <= iat or exp - iat > 3600):
            return oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived "
                               "token (60 minutes) and in a reasonable timeframe. Check "
                               "your iat and exp values in the JWT claim.")
        token = "ya29.c." + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
            self._grants.append(claims)
        return json_answer(200, {"access_token": token, "expires_in": self.token_lifetime,
                                 "token_type": "Bearer"})

    def bearer_ok(self, headers):
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        with self._lock:
            expiry = self._tokens.get(auth[len("Bearer "):])
        return expiry is not None and time.monotonic() < expiry

    def serve(self, method, path, headers, raw):
        if path == "/token" and method == "POST":
            return self.token_grant(headers, raw)
        m = PATH.match(path)
        if not m:
            return google_error(404, "NOT_FOUND", "Requested entity was not found.")
        if method != "POST":
            return google_error(405, "METHOD_NOT_ALLOWED", "Method not allowed.")
        if not self.bearer_ok(headers):
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
    p.add_argument("--key-file", help="a key file from make_service_account; a new one "
                   "is written to the current directory when absent")
    a = p.parse_args()
    if a.key_file:
        with open(a.key_file) as f:
            account = json.load(f)
        mod = subprocess.run(["openssl", "rsa", "-noout", "-modulus"],
                             input=account["private_key"], check=True, capture_output=True,
                             text=True).stdout
        path, public = a.key_file, (int(mod.strip().split("=", 1)[1], 16), 65537)
    else:
        path, public = make_service_account(".", project=a.project)
        with open(path) as f:
            account = json.load(f)
    print("key file: %s" % path, flush=True)
    serve_standalone(FakeFcm(project=a.project, client_email=account["client_email"],
                             public_key=public, port=a.port))


if __name__ == "__main__":
    main()
