"""
provider_base - what the fakes of the notification providers share (msg91.py,
sendgrid.py, fcm.py): a threaded HTTP server on a free port, a log of every
request received, faults, and a control API under /__fake/ (no auth; never a
provider path):

    GET    /__fake/requests?path=GLOB    -> {"count", "items": [{seq, method, path,
           headers, body, status, fault}]}
    DELETE /__fake/requests
    POST   /__fake/faults                {"path": glob, "kind": "error"|"hang",
           "status": 500, "count": N, "seconds": S, "body": any}
           (the next N requests matching path answer status with body, or hang
            S seconds and then close without an answer)
    DELETE /__fake/faults
    POST   /__fake/reset                 forgets requests, faults and state

A subclass implements serve(method, path, headers, body) -> (status,
headers, body bytes) in its provider's wire format, and may add control
routes with control(method, path, body) -> (status, obj) or None.

Standard library only.
"""

import fnmatch
import http.server
import json
import threading
import time
import urllib.parse


class FakeProvider:
    name = "provider"

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self._lock = threading.RLock()
        self._server = None
        self._thread = None
        self._stopping = threading.Event()
        self.reset()

    # ---- lifetime -----------------------------------------------------------

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def start(self):
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-" + self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- state ----------------------------------------------------------------

    def reset(self):
        with self._lock:
            self._requests = []
            self._faults = []
            self._seq = 0
            self.reset_state()

    def reset_state(self):
        """Subclasses forget what they hold."""

    def add_fault(self, path, kind="error", status=500, count=1, seconds=0, body=None):
        if kind not in ("error", "hang"):
            raise ValueError("kind is error or hang")
        fault = {"path": path, "kind": kind, "status": int(status), "count": int(count),
                 "seconds": float(seconds), "body": body}
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self):
        with self._lock:
            self._faults = []

    def requests(self, path=None):
        with self._lock:
            return [dict(r) for r in self._requests
                    if path is None or fnmatch.fnmatchcase(r["path"], path)]

    def clear_requests(self):
        with self._lock:
            self._requests = []

    def wait_requests(self, count, path=None, timeout=15):
        """Waits until at least count requests matched path; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests(path)
            if len(got) >= count:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError("fake %s got %d request(s) to %s, wanted %d"
                                     % (self.name, len(got), path, count))
            time.sleep(0.05)

    # ---- serving --------------------------------------------------------------

    def _take_fault(self, path):
        with self._lock:
            for f in self._faults:
                if f["count"] > 0 and fnmatch.fnmatchcase(path, f["path"]):
                    f["count"] -= 1
                    return dict(f)
        return None

    def _record(self, method, path, headers, body, status, fault):
        with self._lock:
            self._seq += 1
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = body.decode("utf-8", "replace")
            self._requests.append({"seq": self._seq, "method": method, "path": path,
                                   "headers": {k.lower(): v for k, v in headers.items()},
                                   "body": parsed, "status": status, "fault": fault})

    def serve(self, method, path, headers, body):
        raise NotImplementedError

    def control(self, method, path, body):
        return None

    def _control(self, method, path, query, body):
        if path == "/__fake/requests" and method == "GET":
            items = self.requests(query.get("path"))
            return 200, {"count": len(items), "items": items}
        if path == "/__fake/requests" and method == "DELETE":
            self.clear_requests()
            return 200, {"deleted": True}
        if path == "/__fake/faults" and method == "POST":
            b = body or {}
            try:
                return 200, self.add_fault(b.get("path", "*"), b.get("kind", "error"),
                                           b.get("status", 500), b.get("count", 1),
                                           b.get("seconds", 0), b.get("body"))
            except (TypeError, ValueError) as e:
                return 400, {"error": str(e)}
        if path == "/__fake/faults" and method == "DELETE":
            self.clear_faults()
            return 200, {"deleted": True}
        if path == "/__fake/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}
        out = self.control(method, path, body)
        return out if out is not None else (404, {"error": "no such control route"})


class _Handler(http.server.BaseHTTPRequestHandler):
    fake = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, headers, body):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        fake = self.fake
        if path.startswith("/__fake/"):
            query = dict(urllib.parse.parse_qsl(parts.query))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            status, obj = fake._control(self.command, path, query, body)
            self._answer(status, {"Content-Type": "application/json"},
                         json.dumps(obj).encode())
            return
        fault = fake._take_fault(path)
        if fault and fault["kind"] == "hang":
            fake._record(self.command, path, self.headers, raw, None, "hang")
            fake._stopping.wait(fault["seconds"])
            self.close_connection = True
            return
        if fault:
            body = fault["body"] if fault["body"] is not None else {"error": "injected fault"}
            fake._record(self.command, path, self.headers, raw, fault["status"], "error")
            self._answer(fault["status"], {"Content-Type": "application/json"},
                         json.dumps(body).encode())
            return
        status, headers, body = fake.serve(self.command, path, self.headers, raw)
        fake._record(self.command, path, self.headers, raw, status, None)
        self._answer(status, headers, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


def json_answer(status, obj, extra=None):
    headers = {"Content-Type": "application/json"}
    headers.update(extra or {})
    return status, headers, json.dumps(obj).encode()


def parse_json(raw):
    """The body as JSON, or None when it is not JSON."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def serve_standalone(fake):
    """Starts fake, prints its URL, serves until SIGINT: the standalone
    mode every provider fake offers."""
    fake.start()
    print(fake.url, flush=True)
    try:
        fake._stopping.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
