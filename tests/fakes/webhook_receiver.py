#!/usr/bin/env python3
"""
webhook_receiver - a partner's endpoint for mandi's outbound webhooks, for
tests: it records every request (path, headers, body) and answers each
with the next status of a script (200 once the script is used up).

    with WebhookReceiver() as hook:
        hook.url                     # http://127.0.0.1:PORT/hook
        hook.answer(500, 500)        # the next two requests get 500
        hook.wait(3)                 # at least three requests, then all of them

Standard library only.
"""

import http.server
import threading
import time


class WebhookReceiver:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.requests = []
        self.script = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body, "at": time.time()})
                    status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self):
        return "http://%s:%d/hook" % (self.host, self._server.server_address[1])

    def answer(self, *statuses):
        with self._lock:
            self.script.extend(statuses)

    def received(self):
        with self._lock:
            return list(self.requests)

    def wait(self, n, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.received()
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError("the receiver got %d requests, not %d" % (len(self.received()), n))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
