"""The provider-independent half of the sms_ir test mocks: HTTP server, request
log, fault injection, control API, TLS.  One module per provider API
(smsir.py, smsafzar.py, mediapayamak.py, legacy.py) plugs in; __main__.py
puts them together (`python3 test/mock --port 0 --quiet`).

HTTP/1.1 with keep-alive (idle connections dropped after 300 s), bodies by
Content-Length or chunked (at most 1 MiB, else 413), Expect: 100-continue,
IPv4 or IPv6, optional TLS (--tls-cert/--tls-key, handshake in the handler
thread).  The Server header says Kestrel, as sms.ir's does.

A provider is a class with `name`, `prefixes` (path prefixes it owns,
matched case-insensitively), `__init__(mock)`, `reset()`,
`handle(req) -> Reply` and optionally `control(req, path, method, body)`
returning a Reply for its own /__mock/... endpoints, or None.

Control API (no auth, never logged, never faulted):
    POST   /__mock/reset      -> {"ok":true}  clear log, faults and every provider's
                                  state (ids, credit, messages, tokens)
    GET    /__mock/requests[?since=SEQ][&last=N] -> [{"seq","method","path","headers",
                                  "body","reply_status","t"}, ...]
    GET    /__mock/count      -> {"count": N}
    POST   /__mock/fault      {"match":"/v1/send/verify","method":"POST","kind":
                               "status|garbage|delay|reset|close|stall","count":1,
                               "status":500,"body":...,"headers":{},"delay_ms":2000,
                               "probability":0.3,"for_ms":5000}  (object or array of
                               objects; "body_hex":"7b..." instead of body sends raw
                               bytes; "match" is a prefix of the raw path, query
                               included; "for_ms" limits the fault to that many ms
                               from when it was added: a storm for a time window)
    GET    /__mock/fault      -> active faults
    DELETE /__mock/fault      -> clear faults
    POST   /__mock/refuse     {"ms": 8000} -> {"ok":true}  a provider outage: the
                                  listening socket is closed (connections are
                                  refused, control requests too) and every open
                                  connection is shut, for ms; then the mock listens
                                  on the same port again.  Needs MockHTTPServer.run().
plus each provider's own (smsir.py: /__mock/delivery, /__mock/credit,
/__mock/inbox; smsafzar.py: /__mock/smsafzar/...; legacy.py: /__mock/legacy/...).

Every other request is logged (a JSON body as JSON, else as text; the body
may hold credentials: that is fine in a mock), then a matching fault applies,
then the provider owning the path prefix answers; unknown paths are 404.
"""

import collections
import itertools
import json
import random
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

MAX_BODY = 1024 * 1024
LOG_MAX = 100000

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


class Reply:
    __slots__ = ("status", "body", "ctype", "headers", "action")

    def __init__(self, status, body=b"", ctype="application/json; charset=utf-8",
                 headers=None, action=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = headers
        self.action = action  # None | "reset" | "close"


def jdump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(status, obj, ctype="application/json; charset=utf-8", headers=None):
    return Reply(status, jdump(obj), ctype, headers)


def _reject_constant(name):
    raise ValueError("invalid JSON literal %s" % name)


class _Invalid:
    pass


INVALID = _Invalid()


class Request:
    """One parsed HTTP request handed to a provider."""
    __slots__ = ("method", "raw_path", "path", "query", "headers", "body",
                 "json", "json_error")

    def __init__(self, method, raw_path, headers, body):
        self.method = method
        self.raw_path = raw_path
        path, _, qs = raw_path.partition("?")
        self.path = path
        self.query = {k.lower(): v for k, v in parse_qs(qs, keep_blank_values=True).items()}
        self.headers = headers  # email.message.Message (case-insensitive get)
        self.body = body
        self.json = INVALID
        self.json_error = None
        if body:
            try:
                text = body.decode("utf-8-sig")
                self.json = json.loads(text, parse_constant=_reject_constant)
            except Exception as e:  # noqa: BLE001 - any parse failure
                self.json_error = str(e) or e.__class__.__name__

    def log_body(self):
        if not self.body:
            return None
        if self.json is not INVALID:
            return self.json
        return self.body.decode("utf-8", "replace")


def is_int(v, lo=-(2 ** 63), hi=2 ** 63 - 1):
    return type(v) is int and lo <= v <= hi


# --------------------------------------------------------------------------
# request log and faults (shared by all providers)
# --------------------------------------------------------------------------


class RequestLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.entries = collections.deque(maxlen=LOG_MAX)
            self.seq = 0

    def add(self, req, t):
        headers = {k.lower(): v for k, v in req.headers.items()}
        with self.lock:
            self.seq += 1
            e = {"seq": self.seq, "method": req.method, "path": req.raw_path,
                 "headers": headers, "body": req.log_body(), "reply_status": None,
                 "t": t}
            self.entries.append(e)
        return e

    def set_status(self, entry, status):
        with self.lock:
            entry["reply_status"] = status

    def count(self):
        with self.lock:
            return self.seq

    def dump(self, since=None, last=None):
        with self.lock:
            if not self.entries:
                return b"[]"
            first = self.entries[0]["seq"]
            start = 0
            if since is not None:
                start = max(0, since - first + 1)
            n = len(self.entries)
            if last is not None:
                start = max(start, n - max(0, last))
            if start >= n:
                return b"[]"
            return jdump(list(itertools.islice(self.entries, start, n)))


FAULT_KINDS = ("status", "garbage", "delay", "reset", "close", "stall")


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.items = []
            self.next_id = 1
            self.rng = random.Random(42)

    def clear(self):
        with self.lock:
            self.items = []

    def add(self, spec):
        if not isinstance(spec, dict):
            raise ValueError("fault must be a JSON object")
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError("kind must be one of %s" % ", ".join(FAULT_KINDS))
        match = spec.get("match", "")
        if not isinstance(match, str):
            raise ValueError("match must be a string")
        method = spec.get("method")
        if method is not None and not isinstance(method, str):
            raise ValueError("method must be a string")
        count = spec.get("count", 1)
        if not is_int(count) or count < -1 or count == 0:
            raise ValueError("count must be a positive integer or -1")
        status = spec.get("status", 500)
        if not is_int(status, 100, 999):
            raise ValueError("status must be an integer 100..999")
        headers = spec.get("headers") or {}
        if not isinstance(headers, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int, float))
                for k, v in headers.items()):
            raise ValueError("headers must be an object of strings")
        default_delay = 30000 if kind == "stall" else 2000
        delay = spec.get("delay_ms", default_delay)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0:
            raise ValueError("delay_ms must be a non-negative number")
        prob = spec.get("probability")
        if prob is not None and (not isinstance(prob, (int, float)) or isinstance(prob, bool)
                                 or not 0 <= prob <= 1):
            raise ValueError("probability must be a number in [0,1]")
        for_ms = spec.get("for_ms")
        if for_ms is not None and (not isinstance(for_ms, (int, float)) or isinstance(for_ms, bool)
                                   or for_ms <= 0):
            raise ValueError("for_ms must be a positive number")
        body = spec.get("body")
        if body is not None and not isinstance(body, str):
            body = json.dumps(body, ensure_ascii=False)
        if spec.get("body_hex") is not None:
            # raw reply bytes (e.g. invalid UTF-8), which a JSON string cannot carry
            if body is not None or not isinstance(spec["body_hex"], str):
                raise ValueError("body_hex must be a hex string, and excludes body")
            body = bytes.fromhex(spec["body_hex"])
        with self.lock:
            f = {"id": self.next_id, "match": match, "method": method.upper() if method else None,
                 "kind": kind, "count": count, "remaining": count, "status": status,
                 "body": body, "headers": {k: str(v) for k, v in headers.items()},
                 "delay_ms": delay, "probability": prob, "applied": 0,
                 "until": time.time() + for_ms / 1000.0 if for_ms is not None else None}
            self.next_id += 1
            self.items.append(f)
        return f["id"]

    def take(self, method, raw_path):
        if not self.items:  # cheap unlocked fast path
            return None
        with self.lock:
            now = time.time()
            self.items = [f for f in self.items if f["until"] is None or f["until"] > now]
            for f in self.items:
                if f["remaining"] == 0:
                    continue
                if f["method"] and f["method"] != method:
                    continue
                if not raw_path.startswith(f["match"]):
                    continue
                if f["probability"] is not None and self.rng.random() >= f["probability"]:
                    continue
                if f["remaining"] > 0:
                    f["remaining"] -= 1
                f["applied"] += 1
                if f["remaining"] == 0:
                    self.items.remove(f)
                return dict(f)
        return None

    def dump(self):
        with self.lock:
            return [dict(f, body=f["body"].hex()) if isinstance(f["body"], bytes) else dict(f)
                    for f in self.items]


def not_found():
    return Reply(404, jdump({"status": 404, "title": "Not Found"}),
                 "application/problem+json; charset=utf-8")


def method_not_allowed(req, allowed):
    return Reply(405, jdump({"status": 405, "title": "Method Not Allowed"}),
                 "application/problem+json; charset=utf-8",
                 {"Allow": ", ".join(sorted(set(allowed)))})


# --------------------------------------------------------------------------
# the mock (state shared by all handler threads) and control API
# --------------------------------------------------------------------------


class Mock:
    def __init__(self, api_key, provider_classes):
        self.api_key = api_key
        self.server = None  # the MockHTTPServer serving it (refuse needs it)
        self.log = RequestLog()
        self.faults = Faults()
        self.trace_lock = threading.Lock()
        self.trace_n = 0
        self.providers = []
        for cls in provider_classes:
            prov = cls(self)
            setattr(self, prov.name, prov)
            self.providers.append(prov)
        self.prefix_table = [(p.lower(), prov) for prov in self.providers for p in prov.prefixes]

    def next_trace_id(self):
        with self.trace_lock:
            self.trace_n += 1
            n = self.trace_n
        return "00-%032x-%016x-00" % (n, n)

    def reset(self):
        self.log.reset()
        self.faults.reset()
        with self.trace_lock:
            self.trace_n = 0
        for p in self.providers:
            p.reset()

    def route(self, req):
        lp = req.path.lower()
        for prefix, prov in self.prefix_table:
            if lp.startswith(prefix):
                return prov.handle(req)
        return not_found()

    # --- control API -----------------------------------------------------
    def control(self, req):
        p = req.path.rstrip("/")
        m = req.method

        def bad(msg, status=400):
            return json_reply(status, {"ok": False, "error": msg})

        def body():
            if req.json is INVALID:
                raise ValueError("body must be JSON" + (": " + req.json_error
                                                        if req.json_error else ""))
            return req.json

        def qint(name):
            v = req.query.get(name)
            if v is None:
                return None
            return int(v[-1])

        try:
            if p == "/__mock/reset" and m == "POST":
                self.reset()
                return json_reply(200, {"ok": True})
            if p == "/__mock/requests" and m == "GET":
                return Reply(200, self.log.dump(qint("since"), qint("last")))
            if p == "/__mock/count" and m == "GET":
                return json_reply(200, {"count": self.log.count()})
            if p == "/__mock/fault":
                if m == "POST":
                    b = body()
                    specs = b if isinstance(b, list) else [b]
                    ids = [self.faults.add(s) for s in specs]
                    return json_reply(200, {"ok": True, "ids": ids})
                if m == "DELETE":
                    self.faults.clear()
                    return json_reply(200, {"ok": True})
                if m == "GET":
                    return json_reply(200, self.faults.dump())
                return method_not_allowed(req, ["GET", "POST", "DELETE"])
            if p == "/__mock/refuse" and m == "POST":
                b = body()
                ms = b.get("ms") if isinstance(b, dict) else None
                if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not 0 < ms <= 600000:
                    raise ValueError("ms must be a number in (0, 600000]")
                if self.server is None or not self.server.refuse_for(ms / 1000.0):
                    raise ValueError("this server cannot refuse connections (not run())")
                return json_reply(200, {"ok": True})
            if p in ("/__mock/reset", "/__mock/requests", "/__mock/count"):
                return method_not_allowed(req, ["GET" if p in ("/__mock/requests",
                                                               "/__mock/count") else "POST"])
            for prov in self.providers:  # a provider module's own controls
                r = prov.control(req, p, m, body) if hasattr(prov, "control") else None
                if r is not None:
                    return r
            return not_found()
        except ValueError as e:
            return bad(str(e))


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------


class BodyError(Exception):
    def __init__(self, status, title):
        super().__init__(title)
        self.status = status
        self.title = title


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Kestrel"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are dropped after this

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("%s - - [%s] %s\n" % (self.address_string(),
                                                    self.log_date_time_string(), fmt % args))

    def handle_expect_100(self):
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = 0
        if n > MAX_BODY:
            self.close_connection = True
            self._send(Reply(413, jdump({"status": 413, "title": "Payload Too Large"}),
                             "application/problem+json; charset=utf-8"))
            return False
        return super().handle_expect_100()

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = ""
                self.request_version = ""
                self.command = ""
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self.dispatch()
        except (TimeoutError, ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True

    # --- body ------------------------------------------------------------
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("eof in chunked body")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BodyError(400, "Bad chunked encoding")
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                total += size
                if total > MAX_BODY:
                    raise BodyError(413, "Payload Too Large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl.strip())
            if n < 0:
                raise ValueError
        except ValueError:
            raise BodyError(400, "Bad Content-Length")
        if n > MAX_BODY:
            raise BodyError(413, "Payload Too Large")
        if n == 0:
            return b""
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionError("short body")
        return data

    # --- reply -----------------------------------------------------------
    def _send(self, r):
        out = ["HTTP/1.1 %d %s\r\n" % (r.status, self.responses.get(r.status, ("",))[0]),
               "Date: %s\r\n" % self.date_time_string(),
               "Server: Kestrel\r\n"]
        hdrs = {"Content-Type": r.ctype}
        if r.headers:
            hdrs.update(r.headers)
        for k, v in hdrs.items():
            if k.lower() in ("content-length", "connection"):
                continue
            out.append("%s: %s\r\n" % (k, v))
        out.append("Content-Length: %d\r\n" % len(r.body))
        if self.close_connection:
            out.append("Connection: close\r\n")
        out.append("\r\n")
        data = "".join(out).encode("latin-1", "replace")
        if self.command != "HEAD":
            data += r.body
        self.wfile.write(data)
        if not self.server.quiet:
            self.log_request(r.status, len(r.body))

    def dispatch(self):
        server = self.server
        mock = server.mock
        t = time.time()
        raw_path = self.path
        is_control = raw_path.startswith("/__mock")
        try:
            body = self.read_body()
        except BodyError as e:
            self.close_connection = True
            req = Request(self.command, raw_path, self.headers, b"")
            if not is_control:
                entry = mock.log.add(req, t)
                mock.log.set_status(entry, e.status)
            self._send(Reply(e.status, jdump({"status": e.status, "title": e.title}),
                             "application/problem+json; charset=utf-8"))
            return
        entry = None
        try:
            req = Request(self.command, raw_path, self.headers, body)
            if is_control:
                r = mock.control(req) if req.method != "HEAD" else \
                    method_not_allowed(req, ["GET", "POST", "DELETE"])
                self._send(r)
                return
            entry = mock.log.add(req, t)
            fault = mock.faults.take(req.method, raw_path)
            if fault is not None:
                kind = fault["kind"]
                if kind in ("reset", "close", "stall"):
                    mock.log.set_status(entry, 0)
                    if kind == "stall":
                        time.sleep(fault["delay_ms"] / 1000.0)
                    self.close_connection = True
                    if kind == "reset":
                        server.mark_abort(self.request)
                    return
                if kind == "status":
                    b = fault["body"]
                    if b is None:
                        b = '{"status":0,"message":"server error","data":null}'
                    r = Reply(fault["status"], b if isinstance(b, bytes) else b.encode("utf-8"),
                              headers=fault["headers"] or None)
                    mock.log.set_status(entry, r.status)
                    self._send(r)
                    return
                if kind == "garbage":
                    b = fault["body"] if fault["body"] is not None else "<html>oops"
                    r = Reply(200, b if isinstance(b, bytes) else b.encode("utf-8"), "text/html",
                              headers=fault["headers"] or None)
                    mock.log.set_status(entry, 200)
                    self._send(r)
                    return
                if kind == "delay":
                    time.sleep(fault["delay_ms"] / 1000.0)
            if req.method == "HEAD":
                r = method_not_allowed(req, ["GET", "POST", "DELETE"])
            else:
                r = mock.route(req)
        except (ConnectionError, TimeoutError):
            raise
        except Exception as e:  # noqa: BLE001 - never crash
            sys.stderr.write("mock: internal error on %s %s\n%s" % (
                self.command, raw_path, traceback.format_exc()))
            r = json_reply(500, {"status": 0, "message": "mock internal error: %s" % e})
        if entry is not None:
            mock.log.set_status(entry, r.status)
        self._send(r)


class MockHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, mock, quiet, ssl_ctx=None):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, handler)
        self.mock = mock
        mock.server = self
        self.quiet = quiet
        self.ssl_ctx = ssl_ctx
        self._abort = set()
        self._abort_lock = threading.Lock()
        self._conns = set()  # open connections, shut when refusing
        self._refuse_secs = None  # set by refuse_for(), taken by run()
        self._running = False
        self._stopping = False

    # --- refusing connections for a while (a provider outage) ------------
    def run(self, poll_interval=0.5):
        """serve_forever(), except that refuse_for() closes the listening
        socket for a while and then listens on the same port again."""
        self._running = True
        try:
            while not self._stopping:
                self.serve_forever(poll_interval=poll_interval)
                with self._abort_lock:
                    secs, self._refuse_secs = self._refuse_secs, None
                    conns = list(self._conns)
                if secs is None:
                    break
                self.socket.close()
                for c in conns:
                    try:
                        c.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                deadline = time.time() + secs
                while not self._stopping and time.time() < deadline:
                    time.sleep(min(0.05, max(0.0, deadline - time.time())))
                self.socket = socket.socket(self.address_family, self.socket_type)
                self.server_bind()
                self.server_activate()
        finally:
            self._running = False

    def stop(self):
        """Ends run() (from another thread)."""
        self._stopping = True
        self.shutdown()

    def refuse_for(self, secs):
        if not self._running:
            return False
        with self._abort_lock:
            if self._refuse_secs is not None:
                return True
            self._refuse_secs = secs
        # shutdown() waits for serve_forever() to return: not in this handler
        # thread's way, and a little later, so that its reply goes out first
        def later():
            time.sleep(0.1)
            self.shutdown()

        threading.Thread(target=later, daemon=True).start()
        return True

    def process_request_thread(self, request, client_address):
        with self._abort_lock:
            self._conns.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._abort_lock:
                self._conns.discard(request)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_ctx is not None:
            # handshake happens in the handler thread (Handler.setup)
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False)
        return sock, addr

    def mark_abort(self, request):
        with self._abort_lock:
            self._abort.add(request)

    def shutdown_request(self, request):
        with self._abort_lock:
            abort = request in self._abort
            self._abort.discard(request)
        if abort:
            try:
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_request(request)  # RST, no FIN first
            return
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError, OSError)):
            if not self.quiet:
                sys.stderr.write("mock: connection %s: %s\n" % (client_address, exc))
            return
        sys.stderr.write("mock: error on connection %s\n%s" % (
            client_address, traceback.format_exc()))
