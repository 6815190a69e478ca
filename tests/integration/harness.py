"""
harness - runs a real mandi stack (broker, workers, front) for the
integration tests, against the PostgreSQL and Redis named by DATABASE_URL and
REDIS_URL (scripts/test provides both and applies the migrations).

    with Stack(pools={"orders": 2}, env={"MANDI_QUEUE_MAX": "2"}) as s:
        status, headers, body = s.request("GET", "/api/ping/orders")

Everything here is bounded: every wait polls with a deadline and gives up
with an AssertionError naming what it waited for, and stop() SIGTERMs every
process the stack started, then SIGKILLs what is left (the servers also die
with the test process if it is killed). stop() fails the test if a process
did not exit 0 on SIGTERM or a log holds a sanitizer report. Each process
logs to its own file in a temporary directory; StackTestCase prints the
tails of those files when a test fails and keeps the directory.

Every request carries an X-Request-Id starting with the stack's tag, so the
rows a test made in the shared database can be told apart; at stop() the
unfinished ones are closed, so the recovery sweep of a later test's front
does not pick them up.

Accounts tests: MANDI_VAR_DIR is the stack's log directory, so the
development SMS and email files land in <log_dir>/dev/ (sms_messages,
emails, wait_sms, wait_email read them), and MANDI_TRUST_PROXY is on, so a
test names its own client address with X-Forwarded-For (Client does it for
every request) and per-IP limits in the shared Redis stay apart.

Standard library only.
"""

import atexit
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

POOLS = ("accounts", "catalog", "orders", "payments", "notifications", "analytics")
JWT_SECRET = "dev-secret-change-me"

# What the development SMS and email bodies carry.
OTP_IN_SMS = re.compile(r"\b(\d{6})\b")
RESET_TOKEN_IN_EMAIL = re.compile(r"(?m)^([A-Za-z0-9_-]{43})$")


def require_env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            "%s is not set: run the integration tests through scripts/test (or ctest with "
            "MANDI_BIN_DIR, DATABASE_URL and REDIS_URL set)" % name)
    return value


def free_port():
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    ports = set()
    deadline = time.monotonic() + 10
    while len(ports) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("could not find %d free ports" % n)
        ports.add(free_port())
    return sorted(ports)


def wait_for(predicate, timeout, what, interval=0.1):
    """Calls predicate until it returns something truthy, at most timeout
    seconds; returns that value or fails naming `what` (and the last value
    or exception seen)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except (OSError, http.client.HTTPException, ValueError) as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(sub, role, zones=(), exp_delta=3600, alg="HS256", secret=None, extra=None):
    """An HS256 JWT as the front issues them. alg other than HS256 only
    changes the header (the signature stays HMAC-SHA256), which is what an
    attacker's token looks like."""
    now = int(time.time())
    header = {"alg": alg, "typ": "JWT"}
    claims = {"sub": sub, "role": role, "zones": list(zones), "iat": now,
              "exp": now + exp_delta, "jti": uuid.uuid4().hex}
    if extra:
        claims.update(extra)
    signing_input = b64url(json.dumps(header, separators=(",", ":"))) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")))
    key = (secret if secret is not None else JWT_SECRET).encode()
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def msgpack_pack(obj):
    """msgpack bytes of a JSON-like value (None, bool, int, str, bytes, list,
    dict): enough to write job envelopes."""
    out = bytearray()

    def head(small_tag, small_max, tags, n):
        if small_tag is not None and n <= small_max:
            out.append(small_tag | n)
        elif n < 1 << 8 and tags[0] is not None:
            out.extend((tags[0], n))
        elif n < 1 << 16:
            out.append(tags[1])
            out.extend(n.to_bytes(2, "big"))
        else:
            out.append(tags[2])
            out.extend(n.to_bytes(4, "big"))

    def pack(v):
        if v is None:
            out.append(0xc0)
        elif v is True or v is False:
            out.append(0xc3 if v else 0xc2)
        elif isinstance(v, int):
            if 0 <= v < 128:
                out.append(v)
            elif -32 <= v < 0:
                out.append(v & 0xff)
            elif v >= 0:
                out.append(0xcf)
                out.extend(v.to_bytes(8, "big"))
            else:
                out.append(0xd3)
                out.extend(v.to_bytes(8, "big", signed=True))
        elif isinstance(v, str):
            data = v.encode("utf-8")
            head(0xa0, 31, (0xd9, 0xda, 0xdb), len(data))
            out.extend(data)
        elif isinstance(v, (bytes, bytearray)):
            head(None, 0, (0xc4, 0xc5, 0xc6), len(v))
            out.extend(v)
        elif isinstance(v, (list, tuple)):
            head(0x90, 15, (None, 0xdc, 0xdd), len(v))
            for item in v:
                pack(item)
        elif isinstance(v, dict):
            head(0x80, 15, (None, 0xde, 0xdf), len(v))
            for k, item in v.items():
                pack(k)
                pack(item)
        else:
            raise TypeError("cannot pack %r" % (v,))

    pack(obj)
    return bytes(out)


def unique_phone():
    """+91 and 10 digits starting with 9: a mobile number no other test uses."""
    return "+919%09d" % random.randrange(10 ** 9)


def unique_email(label="user"):
    return "%s-%s@example.com" % (label, uuid.uuid4().hex)


def unique_ip():
    """A client address for X-Forwarded-For that no other test uses."""
    return "10.%d.%d.%d" % (random.randrange(256), random.randrange(256),
                            random.randrange(1, 255))


class Client:
    """JSON requests to a stack from one client address (X-Forwarded-For),
    so the per-IP limits of one test do not meet another's."""

    def __init__(self, stack, ip=None):
        self.stack = stack
        self.ip = ip or unique_ip()

    def request(self, method, path, body=None, token=None, headers=None, **kw):
        """body, unless None (no body), is sent as JSON: a str becomes a JSON
        string."""
        hdrs = {"X-Forwarded-For": self.ip}
        if body is not None:
            body = json.dumps(body, ensure_ascii=False)
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        return self.stack.request(method, path, body=body, headers=hdrs, token=token, **kw)

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token=token, **kw)

    def post(self, path, body=None, token=None, **kw):
        return self.request("POST", path, body=body, token=token, **kw)

    def put(self, path, body=None, token=None, **kw):
        return self.request("PUT", path, body=body, token=token, **kw)

    def patch(self, path, body=None, token=None, **kw):
        return self.request("PATCH", path, body=body, token=token, **kw)

    def delete(self, path, token=None, **kw):
        return self.request("DELETE", path, token=token, **kw)


def jwt_parts(token):
    """(header, claims) of a JWT, decoded without checking anything."""
    def part(text):
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    head, claims, _ = token.split(".")
    return part(head), part(claims)


class Response:
    """What request() returns; also unpacks as (status, headers, body)."""

    def __init__(self, status, headers, body, raw):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get()
        self.body = body        # parsed JSON, or text when not JSON
        self.raw = raw          # bytes as received

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return "<%d %s>" % (self.status, self.raw[:400].decode("utf-8", "replace"))

    @property
    def data(self):
        return self.body.get("data") if isinstance(self.body, dict) else None

    @property
    def error(self):
        return self.body.get("error") if isinstance(self.body, dict) else None

    @property
    def code(self):
        err = self.error
        return err.get("code") if isinstance(err, dict) else None


def _die_with_parent():
    """Runs in the child before exec: SIGKILL it if the test process dies
    (a test runner's timeout), so no server outlives its test."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_live_stacks = []


def _stop_live_stacks():
    for stack in list(_live_stacks):
        stack.stop(check=False)


def _on_sigterm(signum, frame):
    # unittest would take a SystemExit for a test's error and go on: stop the
    # servers here and leave at once.
    _stop_live_stacks()
    os._exit(128 + signum)


atexit.register(_stop_live_stacks)
if threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)


class Process:
    def __init__(self, name, argv, env, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.log.write(("---- start %s\n" % " ".join(argv[-2:] if len(argv) > 1 else argv))
                       .encode())
        self.log.flush()
        self.popen = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                      stdout=self.log, stderr=self.log,
                                      preexec_fn=_die_with_parent)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        """Exit status, or None if still running after timeout seconds."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        try:
            self.log.close()
        except OSError:
            pass


class Stack:
    """A broker, workers and a front on free ports.

    pools: {pool: count} of workers to start (default one per pool).
    env: settings overriding the defaults below for every process.
    """

    def __init__(self, pools=None, env=None, name="stack"):
        self.bin_dir = require_env("MANDI_BIN_DIR")
        self.source_dir = os.environ.get("MANDI_SOURCE_DIR") or \
            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.database_url = require_env("DATABASE_URL")
        self.redis_url = require_env("REDIS_URL")
        self.pools = dict(pools) if pools is not None else {p: 1 for p in POOLS}
        self.name = name
        self.tag = "it-%s-%s" % (name, uuid.uuid4().hex[:10])
        self.log_dir = tempfile.mkdtemp(prefix="mandi-%s-" % name)
        self.keep_logs = False
        self.http_port, broker_port, pub_port, sub_port = free_ports(4)
        self.broker_endpoint = "tcp://127.0.0.1:%d" % broker_port
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "MANDI_HTTP_HOST": "127.0.0.1",
            "MANDI_HTTP_PORT": str(self.http_port),
            "MANDI_BROKER": self.broker_endpoint,
            "MANDI_EVENTS_PUB": "tcp://127.0.0.1:%d" % pub_port,
            "MANDI_EVENTS_SUB": "tcp://127.0.0.1:%d" % sub_port,
            "MANDI_TEST_MODE": "1",
            "MANDI_HEARTBEAT_MS": "1000",
            "MANDI_HEARTBEAT_LIVENESS": "3",
            "MANDI_MAX_ATTEMPTS": "3",
            "MANDI_QUEUE_MAX": "10000",
            "MANDI_DEFAULT_WAIT_MS": "5000",
            "MANDI_MAX_WAIT_MS": "30000",
            "MANDI_JOB_LEASE_MS": "30000",
            "MANDI_MAX_BODY_BYTES": "1048576",
            "MANDI_LOG_LEVEL": "info",
            "MANDI_ENV": "test",
            "JWT_SECRET": JWT_SECRET,
            "MANDI_VAR_DIR": self.log_dir,
            "MANDI_TRUST_PROXY": "1",
        })
        self.env.update(env or {})
        self.jwt_secret = self.env["JWT_SECRET"]
        self.procs = {}      # name -> Process (the current one of that name)
        self.retired = []    # processes replaced by a restart, kept for stop()
        self._worker_seq = 0
        self._rid_seq = 0
        self._lock = threading.Lock()
        self._stopped = False

    # ---- processes ---------------------------------------------------------

    def _bin(self, name):
        path = os.path.join(self.bin_dir, name)
        if not os.access(path, os.X_OK):
            raise RuntimeError("%s is not built in MANDI_BIN_DIR" % name)
        return path

    def _spawn(self, name, argv):
        old = self.procs.get(name)
        if old is not None:
            self.retired.append(old)
        proc = Process(name, argv, self.env, os.path.join(self.log_dir, name + ".log"))
        self.procs[name] = proc
        return proc

    def start_broker(self):
        return self._spawn("broker", [self._bin("mandi-broker")])

    def start_front(self):
        return self._spawn("front", [self._bin("mandi-front")])

    def start_scheduler(self):
        self._scheduler_seq = getattr(self, "_scheduler_seq", 0) + 1
        return self._spawn("scheduler.%d" % self._scheduler_seq, [self._bin("mandi-scheduler")])

    def start_worker(self, pool):
        self._worker_seq += 1
        return self._spawn("%s.%d" % (pool, self._worker_seq),
                           [self._bin("mandi-worker"), "--pool", pool])

    def workers(self, pool=None, alive=True):
        return [p for n, p in sorted(self.procs.items())
                if n not in ("broker", "front") and (pool is None or n.split(".")[0] == pool)
                and (not alive or p.alive())]

    def proc_by_pid(self, pid):
        for p in list(self.procs.values()) + self.retired:
            if p.pid == pid:
                return p
        return None

    def kill(self, name, sig=signal.SIGKILL):
        """Sends sig to one of this stack's processes, by name or pid."""
        proc = self.proc_by_pid(name) if isinstance(name, int) else self.procs.get(name)
        if proc is None:
            raise KeyError("no process %r in this stack" % (name,))
        proc.signal(sig)
        return proc

    def start(self, wait=True, timeout=30):
        _live_stacks.append(self)
        try:
            self.start_broker()
            for pool, count in self.pools.items():
                for _ in range(count):
                    self.start_worker(pool)
            self.start_front()
            if wait:
                self.wait_started(timeout)
        except BaseException:
            self.keep_logs = True
            self.dump_logs()
            self.stop(check=False)
            raise
        return self

    def wait_started(self, timeout=30):
        """Waits until the front answers and every pool of this stack shows
        its workers registered (the whole of /ready when all pools run)."""
        if set(self.pools) == set(POOLS) and all(self.pools.values()):
            self.wait_ready(timeout)
        else:
            self.wait_http(timeout)
            self.wait_pools({p: n for p, n in self.pools.items() if n}, timeout)

    def wait_http(self, timeout=20):
        def up():
            for name in ("broker", "front"):
                proc = self.procs.get(name)
                if proc is not None and not proc.alive():
                    raise AssertionError("%s exited with %s" % (name, proc.popen.returncode))
            return self.request("GET", "/health", timeout=2).status == 200
        return wait_for(up, timeout, "the front to answer /health")

    def wait_ready(self, timeout=30):
        def ready():
            front = self.procs.get("front")
            if front is not None and not front.alive():
                raise AssertionError("front exited with %s" % front.popen.returncode)
            r = self.request("GET", "/ready", timeout=2)
            return r if r.status == 200 else None
        return wait_for(ready, timeout, "/ready to answer 200", interval=0.2)

    def pool_stats(self):
        """{pool: service stats} from GET /api/admin/pools."""
        r = self.request("GET", "/api/admin/pools", token=self.admin_token(), timeout=5)
        if r.status != 200:
            return None
        return {s["service"]: s for s in r.data["broker"]["services"]}

    def wait_pools(self, counts, timeout=30, exact=False):
        """Waits until each pool has at least (or, with exact, exactly) the
        given number of workers registered with the broker."""
        def enough():
            stats = self.pool_stats()
            if stats is None:
                return None
            for pool, n in counts.items():
                s = stats.get(pool)
                have = s["workers_idle"] + s["workers_busy"] if s else 0
                if (have != n) if exact else (have < n):
                    return None
            return stats
        return wait_for(enough, timeout, "workers %r registered" % (counts,), interval=0.2)

    def restart_broker(self, sig=signal.SIGTERM, timeout=10):
        """Stops the broker (with sig) and starts a new one on the same
        endpoint."""
        old = self.procs["broker"]
        old.signal(sig)
        if old.wait(timeout) is None:
            old.signal(signal.SIGKILL)
            old.wait(5)
        return self._retry_bind(self.start_broker)

    def restart_front(self, sig=signal.SIGTERM, timeout=10):
        old = self.procs["front"]
        old.signal(sig)
        if old.wait(timeout) is None:
            old.signal(signal.SIGKILL)
            old.wait(5)
        proc = self._retry_bind(self.start_front)
        self.wait_http(20)
        return proc

    def _retry_bind(self, start):
        """Starts a server again on its old port; if it exits at once (the
        port not yet free), tries again for a few seconds."""
        deadline = time.monotonic() + 10
        while True:
            proc = start()
            if proc.wait(0.5) is None:
                return proc
            if time.monotonic() > deadline:
                raise AssertionError("%s could not start again (exit %s)"
                                     % (proc.name, proc.popen.returncode))

    def stop(self, timeout=8, check=True):
        """SIGTERM to everything, SIGKILL to what is still there after
        timeout seconds. Leaves no process behind. Safe to call twice.

        Then checks what the processes left: every process still running
        must have exited 0 on SIGTERM, and no log may hold a sanitizer
        report. With check, a problem raises AssertionError (after the
        processes are gone); otherwise it is only printed."""
        if self in _live_stacks:
            _live_stacks.remove(self)
        elif self._stopped:
            return
        self._stopped = True
        procs = list(self.procs.values()) + self.retired
        order = [p for p in procs if p.name == "front"] + \
            [p for p in procs if p.name not in ("front", "broker")] + \
            [p for p in procs if p.name == "broker"]
        running = [p for p in order if p.alive()]
        for p in running:
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        problems = []
        for p in order:
            if p.wait(max(0.0, deadline - time.monotonic())) is None:
                p.signal(signal.SIGKILL)
                p.wait(5)
                problems.append("%s (pid %d) did not stop within %d s of SIGTERM"
                                % (p.name, p.pid, timeout))
            elif p in running and p.popen.returncode != 0:
                problems.append("%s (pid %d) exited %s on SIGTERM"
                                % (p.name, p.pid, p.popen.returncode))
        for p in order:
            p.close()
        problems += self.sanitizer_reports()
        self._forget_unfinished_jobs()
        if problems:
            self.keep_logs = True
            self.dump_logs()
            sys.stderr.write("stack %s: %s\n" % (self.name, "; ".join(problems)))
        if not self.keep_logs:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        else:
            sys.stderr.write("logs kept in %s\n" % self.log_dir)
        if problems and check:
            raise AssertionError("stack %s: %s" % (self.name, "; ".join(problems)))

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "WARNING: ThreadSanitizer", "ERROR: UndefinedBehaviorSanitizer")

    def sanitizer_reports(self):
        """One line per log file that holds a sanitizer report."""
        out = []
        try:
            logs = self.all_logs()
        except OSError:
            return out
        for name, text in logs.items():
            for mark in self.SANITIZER_MARKS:
                if mark in text:
                    line = next(l for l in text.splitlines() if mark in l)
                    out.append("%s: %s" % (name, line.strip()[:300]))
                    break
        return out

    def _forget_unfinished_jobs(self):
        """Jobs this stack left unfinished (a test killed their processes on
        purpose) would be picked up by the recovery sweep of the next test's
        front; close them so every test starts from a quiet table."""
        try:
            self.psql("UPDATE jobs SET status = 'failed', finished_at = now() "
                      "WHERE request_id LIKE '%s%%' AND status IN ('queued', 'running')"
                      % self.tag)
        except (OSError, subprocess.SubprocessError, AssertionError):
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.keep_logs = True
            self.dump_logs()
        # Problems found while stopping are raised only if the test passed:
        # they must not hide its own failure.
        self.stop(check=exc[0] is None)
        return False

    # ---- logs --------------------------------------------------------------

    def log_path(self, name):
        return self.procs[name].log_path

    def read_log(self, name):
        with open(os.path.join(self.log_dir, name + ".log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self, name):
        """The JSON lines of a process's log, parsed."""
        out = []
        for line in self.read_log(name).splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def all_logs(self):
        """{file name: text} for every log file of the stack."""
        out = {}
        for fn in sorted(os.listdir(self.log_dir)):
            if not os.path.isfile(os.path.join(self.log_dir, fn)):
                continue  # dev/, the development SMS and email files
            with open(os.path.join(self.log_dir, fn), "rb") as f:
                out[fn] = f.read().decode("utf-8", "replace")
        return out

    def dump_logs(self, lines=40):
        try:
            names = sorted(os.listdir(self.log_dir))
        except OSError:
            return
        for fn in names:
            try:
                with open(os.path.join(self.log_dir, fn), "rb") as f:
                    tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
            except OSError:
                continue
            sys.stderr.write("\n==== %s (last %d lines) ====\n" % (fn, len(tail)))
            sys.stderr.write("\n".join(tail) + "\n")
        sys.stderr.flush()

    # ---- HTTP --------------------------------------------------------------

    def request_id(self, label="r"):
        """A fresh X-Request-Id carrying this stack's tag."""
        with self._lock:
            self._rid_seq += 1
            return "%s-%s%d-%s" % (self.tag, label, self._rid_seq, uuid.uuid4().hex[:8])

    def request(self, method, path, body=None, headers=None, token=None, timeout=40,
                raw_body=None):
        """One HTTP request on a new connection. body (not None) is sent as
        JSON unless it is bytes or str; a str/bytes body is sent as given.
        Unless the caller names one (a header given as None is left out), an
        X-Request-Id tagged with this stack is sent. Returns a Response (unpacks as status, headers, body)."""
        hdrs = {}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False)
            hdrs["Content-Type"] = "application/json"
        if isinstance(body, str):
            body = body.encode("utf-8")
        if token:
            hdrs["Authorization"] = "Bearer " + token
        for k, v in (headers or {}).items():
            if v is None:
                hdrs.pop(k, None)
            else:
                hdrs[k] = v
        if not any(k.lower() == "x-request-id" for k in (headers or {})):
            hdrs["X-Request-Id"] = self.request_id()
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=body, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered before the whole body was taken (413): read the answer
            resp = conn.getresponse()
            raw = resp.read()
            return Response(resp.status, resp.headers, _parse(resp.headers, raw), raw)
        finally:
            conn.close()

    def request_chunked(self, method, path, chunks, headers=None, timeout=30):
        """Sends the body with Transfer-Encoding: chunked (no Content-Length)."""
        hdrs = {"Content-Type": "application/json", "X-Request-Id": self.request_id("c")}
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=iter(chunks), headers=hdrs, encode_chunked=True)
            except (BrokenPipeError, ConnectionResetError):
                # The front may answer and close before the whole body is
                # sent; what it answered is still in the socket.
                pass
            resp = conn.getresponse()
            raw = resp.read()
            return Response(resp.status, resp.headers, _parse(resp.headers, raw), raw)
        finally:
            conn.close()

    def request_raw(self, data, timeout=10):
        """Writes bytes to the front as they are and reads one response: for
        requests http.client would not send (a Content-Length with no body)."""
        with socket.create_connection(("127.0.0.1", self.http_port), timeout=timeout) as s:
            s.sendall(data)
            resp = http.client.HTTPResponse(s)
            resp.begin()
            raw = resp.read()
            return Response(resp.status, resp.headers, _parse(resp.headers, raw), raw)

    # ---- tokens ------------------------------------------------------------

    def token(self, sub, role="USER", zones=(), exp_delta=3600, alg="HS256", secret=None):
        return make_token(sub, role, zones, exp_delta, alg,
                          secret if secret is not None else self.jwt_secret)

    def admin_token(self):
        if not hasattr(self, "_admin_token"):
            self._admin_token = self.token("admin-" + self.tag, "ADMIN")
        return self._admin_token

    # ---- jobs --------------------------------------------------------------

    def job(self, job_id, token=None):
        return self.request("GET", "/api/jobs/" + job_id, token=token)

    def wait_job(self, job_id, statuses=("succeeded", "failed", "dead"), timeout=30,
                 token=None):
        """Polls GET /api/jobs/{id} until its status is one of statuses;
        returns the job's data."""
        def done():
            r = self.job(job_id, token=token or self.admin_token())
            if r.status == 200 and r.data["status"] in statuses:
                return r.data
            return None
        return wait_for(done, timeout, "job %s to be %s" % (job_id, "/".join(statuses)),
                        interval=0.2)

    def wait_row(self, job_id, statuses, timeout=30):
        """Polls the jobs table directly; returns the row as a dict."""
        def row():
            r = self.job_row(job_id)
            return r if r and r["status"] in statuses else None
        return wait_for(row, timeout, "row of job %s to be %s" % (job_id, "/".join(statuses)),
                        interval=0.1)

    def job_row(self, job_id):
        out = self.psql("SELECT status, attempts, coalesce(worker, ''), progress, "
                        "coalesce(http_status::text, ''), request_id FROM jobs "
                        "WHERE id = '%s'" % _uuid(job_id))
        if not out:
            return None
        status, attempts, worker, progress, http_status, request_id = out.split("|")
        return {"status": status, "attempts": int(attempts), "worker": worker,
                "progress": int(progress),
                "http_status": int(http_status) if http_status else None,
                "request_id": request_id}

    def effects(self, job_id):
        """The workers that committed test_effects rows for the job."""
        out = self.psql("SELECT worker FROM test_effects WHERE job_id = '%s' ORDER BY created_at"
                        % _uuid(job_id))
        return out.splitlines() if out else []

    def count_jobs_with_request_id(self, request_id):
        return int(self.psql("SELECT count(*) FROM jobs WHERE request_id = '%s'"
                             % _sql_text(request_id)))

    # ---- database ----------------------------------------------------------

    def psql(self, sql, timeout=20):
        """Runs sql with psql; returns its unaligned, tuples-only output."""
        p = subprocess.run(["psql", self.database_url, "-X", "-v", "ON_ERROR_STOP=1", "-Atc",
                            sql], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if p.returncode != 0:
            raise AssertionError("psql failed (%d): %s" % (p.returncode, p.stderr.strip()))
        return p.stdout.strip()

    # ---- development messages (MANDI_SMS_PROVIDER / MANDI_EMAIL_PROVIDER=file)

    def dev_messages(self, channel, to=None):
        """The lines the file provider appended to <var>/dev/<channel>.jsonl,
        parsed, oldest first; only those sent to `to` when given."""
        path = os.path.join(self.env["MANDI_VAR_DIR"], "dev", channel + ".jsonl")
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            if line.strip():
                msg = json.loads(line)
                if to is None or msg.get("to") == to:
                    out.append(msg)
        return out

    def sms_messages(self, to=None):
        return self.dev_messages("sms", to)

    def emails(self, to=None):
        return self.dev_messages("email", to)

    def wait_sms(self, phone, count=1, timeout=5):
        """Waits until at least count SMS went to phone; returns them all."""
        return wait_for(lambda: len(self.sms_messages(phone)) >= count and
                        self.sms_messages(phone), timeout, "%d SMS to %s" % (count, phone))

    def wait_email(self, address, count=1, timeout=5):
        """Waits until at least count emails went to address; returns them all."""
        return wait_for(lambda: len(self.emails(address)) >= count and self.emails(address),
                        timeout, "%d email(s) to %s" % (count, address))

    def wait_otp(self, phone, count=1, timeout=5):
        """The code in the count-th SMS to phone (waiting for it). Messages
        are in the order they were delivered: wait for each code before
        asking for the next one when the order matters."""
        msg = self.wait_sms(phone, count, timeout)[count - 1]
        m = OTP_IN_SMS.search(msg["body"])
        if not m:
            raise AssertionError("no 6-digit code in the SMS to %s" % phone)
        return m.group(1)

    def wait_reset_token(self, address, count=1, timeout=5):
        """The reset token in the count-th email to address (waiting for it)."""
        msg = self.wait_email(address, count, timeout)[count - 1]
        m = RESET_TOKEN_IN_EMAIL.search(msg["body"])
        if not m:
            raise AssertionError("no reset token in the email to %s" % address)
        return m.group(1)

    # ---- jobs made without a request ----------------------------------------

    def enqueue_job(self, service, type_, body, job_id=None):
        """Records a durable job for service the way a worker's job_enqueue
        does (a queued row whose lease has run out): the front's recovery
        sweep sends it within about a second. Returns the job id."""
        job_id = job_id or str(uuid.uuid4())
        rid = self.request_id("enq")
        envelope = msgpack_pack({
            "id": job_id, "service": service, "type": type_, "request_id": rid,
            "user_id": "", "role": "", "zones": "", "idempotency_key": "",
            "attempt": 1, "deadline": 0, "durable": True,
            "payload": {"body": body, "query": {}, "params": {}},
        })
        self.psql("INSERT INTO jobs (id, service, type, status, durable, max_attempts, "
                  "request_id, envelope, lease_until) VALUES ('%s', '%s', '%s', 'queued', true, "
                  "3, '%s', '\\x%s'::bytea, now())"
                  % (_uuid(job_id), _sql_text(service), _sql_text(type_), _sql_text(rid),
                     envelope.hex()))
        return job_id

    def job_envelope_size(self, job_id):
        return int(self.psql("SELECT length(envelope) FROM jobs WHERE id = '%s'" % _uuid(job_id)))

    # ---- tools -------------------------------------------------------------

    def mandictl(self, *args, password=None, stdin=None, timeout=60):
        """Runs mandictl from MANDI_BIN_DIR with the stack's settings; with
        password, that line is its standard input. Returns the
        CompletedProcess (text)."""
        if password is not None:
            stdin = password + "\n"
        return subprocess.run([self._bin("mandictl")] + list(args), env=self.env,
                              input=stdin if stdin is not None else "", capture_output=True,
                              text=True, timeout=timeout)

    # ---- metrics -----------------------------------------------------------

    def metrics(self):
        """{(name, frozenset(labels)): value} from GET /metrics."""
        r = self.request("GET", "/metrics")
        if r.status != 200:
            raise AssertionError("/metrics answered %d" % r.status)
        return parse_metrics(r.body)


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        if "{" in name_labels:
            name, _, rest = name_labels.partition("{")
            labels = _parse_labels(rest.rstrip("}"))
        else:
            name, labels = name_labels, {}
        out[(name, frozenset(labels.items()))] = float(value)
    return out


def _parse_labels(text):
    labels = {}
    i = 0
    while i < len(text):
        eq = text.index("=", i)
        key = text[i:eq].strip().lstrip(",").strip()
        assert text[eq + 1] == '"', text
        j = eq + 2
        val = []
        while text[j] != '"':
            if text[j] == "\\":
                j += 1
                val.append({"n": "\n"}.get(text[j], text[j]))
            else:
                val.append(text[j])
            j += 1
        labels[key] = "".join(val)
        i = j + 1
        while i < len(text) and text[i] in ", ":
            i += 1
    return labels


def metric(metrics, name, **labels):
    """The value of one series (0.0 when absent)."""
    return metrics.get((name, frozenset(labels.items())), 0.0)


def _parse(headers, raw):
    ctype = headers.get("Content-Type", "")
    text = raw.decode("utf-8", "replace")
    if "json" in ctype:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _uuid(value):
    return str(uuid.UUID(value))


def _sql_text(value):
    return value.replace("'", "''")


class StackTestCase(unittest.TestCase):
    """Base class: prints the stack's log tails when a test fails.

    Subclasses set cls.stack (usually in setUpClass); stacks made inside a
    test can be registered with self.watch(stack)."""

    stack = None

    def setUp(self):
        self._watched = []

    def watch(self, stack):
        self._watched.append(stack)
        return stack

    def assertError(self, r, status, code, field=None):
        """r is mandi's error answer: status, code, a message, and for a
        field error details {"field": field} with the field named in the
        message."""
        self.assertEqual(r.status, status, r)
        self.assertIs(r.body["success"], False, r)
        self.assertEqual(r.code, code, r)
        self.assertTrue(r.error["message"], r)
        if field is not None:
            self.assertEqual(r.error.get("details"), {"field": field}, r)
            self.assertIn(field, r.error["message"], r)

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            stacks = [self.stack] + getattr(self, "_watched", [])
            for s in stacks:
                if s is not None:
                    s.keep_logs = True
                    sys.stderr.write("\n######## logs of stack %s (%s) after %s\n"
                                     % (s.name, s.tag, self.id()))
                    s.dump_logs()
        return out
