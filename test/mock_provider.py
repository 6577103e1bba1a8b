#!/usr/bin/env python3
"""Strict local fake of the SMS provider APIs used by the sms_ir tests and benchmarks.

Usage:
    python3 test/mock_provider.py --port PORT [--host 127.0.0.1] [--api-key test-key]
                                  [--tls-cert FILE --tls-key FILE] [--quiet]

--port 0 picks a free port.  Once listening, exactly one line "READY <port>" is
printed on stdout.  HTTP/1.1 with keep-alive; SIGTERM/SIGINT exit cleanly (0).

Providers (dispatched by path prefix, one class per provider):
    /v1/          sms.ir REST v1 (header X-API-KEY)            -- implemented
    /messages/, /account/   smsafzar (test/mock_smsafzar.py)  -- implemented
    /SendService.svc        MediaPayamak SOAP (test/mock_mediapayamak.py) -- implemented
    /users/v1/              legacy sms.ir "White SMS" (test/mock_legacy.py) -- implemented

sms.ir v1: POST /v1/send/bulk, POST /v1/send/likeToLike, POST /v1/send/verify,
GET /v1/send/{messageId}, GET /v1/send/pack/{packId}, GET /v1/credit, GET /v1/line,
DELETE /v1/send/scheduled/{packId}, GET /v1/receive/latest?count=N (destructive:
each message once), GET /v1/receive/live?pageNumber&pageSize&sortByNewest
(today's messages, read or not, no receiveReturnId).

Control API (no auth, never logged, never faulted):
    POST   /__mock/reset      -> {"ok":true}  clear log, faults, ids, credit, messages
    GET    /__mock/requests[?since=SEQ][&last=N] -> [{"seq","method","path","headers",
                                  "body","reply_status","t"}, ...]
    GET    /__mock/count      -> {"count": N}
    POST   /__mock/fault      {"match":"/v1/send/verify","method":"POST","kind":
                               "status|garbage|delay|reset|close|stall","count":1,
                               "status":500,"body":...,"headers":{},"delay_ms":2000,
                               "probability":0.3}  (object or array of objects;
                               "body_hex":"7b..." instead of body sends raw bytes)
    GET    /__mock/fault      -> active faults
    DELETE /__mock/fault      -> clear faults
    POST   /__mock/delivery   {"messageId":int,"state":int}  override deliveryState
    POST   /__mock/credit     {"credit":number}               set account credit
    POST   /__mock/inbox      {"number":int,"mobile":str,"messageText":str,
                               "receivedDateTime":int}        add a received message
"""

import argparse
import collections
import itertools
import json
import math
import random
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

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
                 "delay_ms": delay, "probability": prob, "applied": 0}
            self.next_id += 1
            self.items.append(f)
        return f["id"]

    def take(self, method, raw_path):
        if not self.items:  # cheap unlocked fast path
            return None
        with self.lock:
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


# --------------------------------------------------------------------------
# sms.ir REST v1
# --------------------------------------------------------------------------

SMSIR_LINES = [30004505000017, 3000505]
SMSIR_INITIAL_CREDIT = 10000.0
SMSIR_FIRST_MESSAGE_ID = 89545112
SMSIR_VERIFY_LINE = 30004505000017
SMSIR_TEMPLATES = {
    # templateId: (parameter names, text)
    123456: (("Code",), "کد تایید شما: #Code#"),
    100200: (("order",), "سفارش #order# ثبت شد"),
    100201: (("name", "code"), "#name# عزیز، کد شما #code# است"),
}
SMSIR_INBOX_SEED = [
    {"number": 30004505000017, "messageText": "سلام", "mobile": "989121111111",
     "receivedDateTime": 1700000000},
    {"number": 30004505000017, "messageText": "Hello", "mobile": "989122222222",
     "receivedDateTime": 1700000100},
    {"number": 3000505, "messageText": "لغو 11", "mobile": "989123333333",
     "receivedDateTime": 1700000200},
]
SMSIR_FIRST_RECEIVE_ID = 5001
TEHRAN_OFFSET_S = 3 * 3600 + 1800   # Asia/Tehran, no DST since 2022


def tehran_date(unix_seconds):
    try:
        return time.strftime("%Y-%m-%d", time.gmtime(unix_seconds + TEHRAN_OFFSET_S))
    except (OverflowError, OSError, ValueError, TypeError):
        return None


SMSIR_MOBILE_RE = re.compile(r"(?:0|98|\+98|0098)?(9[0-9]{9})")
SMSIR_GUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

MSG_OK = "موفق"
MSG_BAD_KEY = "کلید وارد شده معتبر نمیباشد"
MSG = {
    0: "خطای سرور",
    101: "شماره خط نامعتبر میباشد",
    102: "اعتبار کافی نمیباشد",
    103: "متن پیامک خالی میباشد",
    104: "شماره موبایل نامعتبر میباشد",
    105: "تعداد شماره موبایلها بیش از حد مجاز (100) میباشد",
    109: "زمان ارسال نامعتبر میباشد",
    110: "تعداد شماره موبایلها و متنهای پیامک باید برابر باشند",
    111: "شناسه ارسال نامعتبر میباشد",
    112: "موردی برای حذف یافت نشد",
    113: "قالب یافت نشد",
}

CANCEL_LEAD_S = 180   # scheduled sends can be cancelled until 3 minutes before

T_LONG = "System.Int64"
T_INT = "System.Int32"
T_STR = "System.String"
T_NLONG = "System.Nullable`1[System.Int64]"
T_STRLIST = "System.Collections.Generic.List`1[System.String]"
T_PARAMLIST = "System.Collections.Generic.List`1[SmsIr.Api.Models.VerifyParameterModel]"
T_PARAM = "SmsIr.Api.Models.VerifyParameterModel"


class ValidationError(Exception):
    """Carries the ProblemDetails "errors" object."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


class Model:
    """Case-insensitive view of a JSON object, mimicking System.Text.Json web defaults
    (property names case-insensitive, unknown properties ignored, no string->number)."""

    def __init__(self, obj, path, clrtype):
        if not isinstance(obj, dict):
            raise ValidationError({path or "$": [
                "The JSON value could not be converted to %s. Path: %s" % (clrtype, path or "$")]})
        self.path = path
        self.fields = {k.lower(): v for k, v in obj.items()}
        self.missing = {}

    def _p(self, name):
        return "%s.%s" % (self.path, name)

    @staticmethod
    def conv(path, clrtype):
        raise ValidationError({path: [
            "The JSON value could not be converted to %s. Path: %s" % (clrtype, path)]})

    def get(self, name, kind, required=True, lo=None, hi=None):
        """kind: 'long', 'int', 'str', 'nlong', 'strlist', 'list'."""
        v = self.fields.get(name.lower(), None)
        path = self._p(name)
        if v is None:
            if required:
                self.missing[path] = ["The %s field is required." % name]
            return None
        if kind == "long":
            if not is_int(v):
                self.conv(path, T_LONG)
        elif kind == "nlong":
            if not is_int(v):
                self.conv(path, T_NLONG)
        elif kind == "int":
            if not is_int(v, -(2 ** 31), 2 ** 31 - 1):
                self.conv(path, T_INT)
        elif kind == "str":
            if not isinstance(v, str):
                self.conv(path, T_STR)
        elif kind == "strlist":
            if not isinstance(v, list):
                self.conv(path, T_STRLIST)
            for i, x in enumerate(v):
                if x is not None and not isinstance(x, str):
                    self.conv("%s[%d]" % (path, i), T_STR)
        elif kind == "list":
            if not isinstance(v, list):
                self.conv(path, T_PARAMLIST)
        return v

    def finish(self):
        if self.missing:
            raise ValidationError(self.missing)


def smsir_parts(text):
    n = len(text)
    if any(ord(c) > 127 for c in text):
        return max(1, math.ceil(n / 70))
    return max(1, math.ceil(n / 160))


class SmsIrV1:
    name = "smsir"
    prefixes = ("/v1/",)

    ROUTES = [
        ("POST", re.compile(r"/v1/send/bulk/?", re.I), "send_bulk"),
        ("POST", re.compile(r"/v1/send/liketolike/?", re.I), "send_like_to_like"),
        ("POST", re.compile(r"/v1/send/verify/?", re.I), "send_verify"),
        ("GET", re.compile(r"/v1/send/pack/([^/]*)/?", re.I), "get_pack"),
        ("DELETE", re.compile(r"/v1/send/scheduled/([^/]*)/?", re.I), "cancel_scheduled"),
        ("GET", re.compile(r"/v1/send/([^/]+)/?", re.I), "get_message"),
        ("GET", re.compile(r"/v1/credit/?", re.I), "get_credit"),
        ("GET", re.compile(r"/v1/line/?", re.I), "get_lines"),
        ("GET", re.compile(r"/v1/receive/latest/?", re.I), "receive_latest"),
        ("GET", re.compile(r"/v1/receive/live/?", re.I), "receive_live"),
    ]

    def __init__(self, mock):
        self.mock = mock
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.credit = SMSIR_INITIAL_CREDIT
            self.next_msg_id = SMSIR_FIRST_MESSAGE_ID
            self.next_pack = 1
            self.messages = {}   # id -> dict
            self.packs = {}      # packId -> {"ids", "cost", "scheduled", "cancelled"}
            self.overrides = {}  # id -> deliveryState
            self.inbox = [dict(m, receiveReturnId=SMSIR_FIRST_RECEIVE_ID + i)
                          for i, m in enumerate(SMSIR_INBOX_SEED)]
            self.next_receive_id = SMSIR_FIRST_RECEIVE_ID + len(self.inbox)

    # --- envelopes -------------------------------------------------------
    @staticmethod
    def ok(data):
        return json_reply(200, {"status": 1, "message": MSG_OK, "data": data})

    @staticmethod
    def biz(code, message=None):
        return json_reply(400, {"status": code, "message": message or MSG[code], "data": None})

    def problem(self, errors):
        return json_reply(400, {
            "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "traceId": self.mock.next_trace_id(),
            "errors": errors,
        }, ctype="application/problem+json; charset=utf-8")

    # --- dispatch --------------------------------------------------------
    def handle(self, req):
        allowed = []
        for method, rx, fname in self.ROUTES:
            m = rx.fullmatch(req.path)
            if not m:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            key = req.headers.get("X-API-KEY")
            if key is None or key.strip() != self.mock.api_key:
                return json_reply(401, {"status": 10, "message": MSG_BAD_KEY, "data": None})
            try:
                if method == "POST":
                    body = self.json_body(req)
                    return getattr(self, fname)(req, body)
                return getattr(self, fname)(req, *[unquote(g) for g in m.groups()])
            except ValidationError as e:
                return self.problem(e.errors)
        if allowed:
            return method_not_allowed(req, allowed)
        return not_found()

    def json_body(self, req):
        ctype = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            raise ValidationError({"Content-Type": [
                "Unsupported Content-Type '%s'; expected application/json."
                % (req.headers.get("Content-Type") or "")]})
        if not req.body:
            raise ValidationError({"": ["A non-empty request body is required."]})
        if req.json is INVALID:
            raise ValidationError({"$": [
                "The request body is not valid JSON: %s. Path: $" % req.json_error]})
        return req.json

    # --- helpers -----------------------------------------------------------
    def check_line(self, line):
        if line not in SMSIR_LINES:
            return self.biz(101)
        return None

    @staticmethod
    def norm_mobile(m):
        if not isinstance(m, str):
            return None
        mm = SMSIR_MOBILE_RE.fullmatch(m)
        return mm.group(1) if mm else None

    def bad_mobile(self, m):
        return self.biz(104, "%s: %s" % (MSG[104], "null" if m is None else m))

    def check_send_time(self, sdt, now):
        if sdt is None:
            return None
        if not (now + 3600 - 120 <= sdt <= now + 365 * 86400 + 120):
            return self.biz(109)
        return None

    def _store_pack(self, line, texts, mobiles, sdt, now, cost):
        """Caller holds self.lock.  texts and mobiles are parallel lists."""
        pack_id = "00000000-0000-4000-8000-%012d" % self.next_pack
        self.next_pack += 1
        ids = []
        send_time = sdt if sdt is not None else now
        for text, mob in zip(texts, mobiles):
            mid = self.next_msg_id
            self.next_msg_id += 1
            ids.append(mid)
            self.messages[mid] = {
                "messageId": mid, "mobile": mob, "messageText": text,
                "sendDateTime": send_time, "lineNumber": line,
                "cost": float(smsir_parts(text)), "packId": pack_id, "cancelled": False,
            }
        self.packs[pack_id] = {"ids": ids, "cost": cost, "scheduled": sdt is not None,
                               "sendDateTime": send_time, "cancelled": False}
        self.credit -= cost
        return {"packId": pack_id, "messageIds": ids, "cost": cost}

    def report(self, m, now):
        mid = m["messageId"]
        state = self.overrides.get(mid)
        if state is None:
            if m["cancelled"]:
                state = 6
            elif m["sendDateTime"] > now:
                state = 3
            else:
                state = 1
        ddt = None
        if state in (1, 2, 6, 7) and m["sendDateTime"] <= now:
            ddt = m["sendDateTime"] + 1
        return {"messageId": mid, "mobile": m["mobile"], "messageText": m["messageText"],
                "sendDateTime": m["sendDateTime"], "lineNumber": m["lineNumber"],
                "cost": m["cost"], "deliveryState": state, "deliveryDateTime": ddt}

    # --- endpoints -------------------------------------------------------
    def send_bulk(self, req, body):
        mdl = Model(body, "$", "SmsIr.Api.Models.BulkSendModel")
        line = mdl.get("lineNumber", "long")
        text = mdl.get("messageText", "str")
        mobiles = mdl.get("mobiles", "strlist")
        sdt = mdl.get("sendDateTime", "nlong", required=False)
        mdl.finish()
        now = int(time.time())
        r = self.check_line(line)
        if r:
            return r
        if not text.strip():
            return self.biz(103)
        if not mobiles:
            return self.bad_mobile("[]")
        if len(mobiles) > 100:
            return self.biz(105)
        norm = []
        for m in mobiles:
            n = self.norm_mobile(m)
            if n is None:
                return self.bad_mobile(m)
            norm.append(n)
        r = self.check_send_time(sdt, now)
        if r:
            return r
        cost = float(len(norm) * smsir_parts(text))
        with self.lock:
            if cost > self.credit:
                return self.biz(102)
            data = self._store_pack(line, [text] * len(norm), norm, sdt, now, cost)
        return self.ok(data)

    def send_like_to_like(self, req, body):
        mdl = Model(body, "$", "SmsIr.Api.Models.LikeToLikeSendModel")
        line = mdl.get("lineNumber", "long")
        texts = mdl.get("messageTexts", "strlist")
        mobiles = mdl.get("mobiles", "strlist")
        sdt = mdl.get("sendDateTime", "nlong", required=False)
        mdl.finish()
        now = int(time.time())
        r = self.check_line(line)
        if r:
            return r
        if len(texts) != len(mobiles):
            return self.biz(110)
        if not mobiles:
            return self.bad_mobile("[]")
        if len(mobiles) > 100:
            return self.biz(105)
        for t in texts:
            if t is None or not t.strip():
                return self.biz(103)
        norm = []
        for m in mobiles:
            n = self.norm_mobile(m)
            if n is None:
                return self.bad_mobile(m)
            norm.append(n)
        r = self.check_send_time(sdt, now)
        if r:
            return r
        cost = float(sum(smsir_parts(t) for t in texts))
        with self.lock:
            if cost > self.credit:
                return self.biz(102)
            data = self._store_pack(line, texts, norm, sdt, now, cost)
        return self.ok(data)

    def send_verify(self, req, body):
        mdl = Model(body, "$", "SmsIr.Api.Models.VerifySendModel")
        mobile = mdl.get("mobile", "str")
        tid = mdl.get("templateId", "int")
        params = mdl.get("parameters", "list")
        mdl.finish()
        values = []  # (lower name, value)
        errors = {}
        for i, p in enumerate(params):
            pm = Model(p, "$.parameters[%d]" % i, T_PARAM)
            name = pm.get("name", "str")
            value = pm.get("value", "str")
            if name == "":
                pm.missing[pm._p("name")] = ["The name field is required."]
            if value == "":
                pm.missing[pm._p("value")] = ["The value field is required."]
            pm.finish()
            if len(value) > 25:
                errors[pm._p("value")] = ["max length 25"]
            values.append((name.lower(), value))
        if errors:
            raise ValidationError(errors)
        norm = self.norm_mobile(mobile)
        if norm is None:
            return self.bad_mobile(mobile)
        tpl = SMSIR_TEMPLATES.get(tid)
        if tpl is None:
            return self.biz(113)
        names, text = tpl
        given = {}
        for n, v in values:
            given.setdefault(n, v)
        missing = [n for n in names if n.lower() not in given]
        if missing:
            raise ValidationError({"$.parameters": [
                "Template %d requires parameter '%s'." % (tid, n) for n in missing]})
        for n in names:
            text = text.replace("#%s#" % n, given[n.lower()])
        now = int(time.time())
        with self.lock:
            if self.credit < 1.0:
                return self.biz(102)
            mid = self.next_msg_id
            self.next_msg_id += 1
            self.messages[mid] = {
                "messageId": mid, "mobile": norm, "messageText": text,
                "sendDateTime": now, "lineNumber": SMSIR_VERIFY_LINE, "cost": 1.0,
                "packId": None, "cancelled": False,
            }
            self.credit -= 1.0
        return self.ok({"messageId": mid, "cost": 1.0})

    def get_message(self, req, mid):
        try:
            if not re.fullmatch(r"-?[0-9]+", mid):
                raise ValueError
            mid = int(mid)
        except ValueError:
            raise ValidationError({"messageId": ["The value '%s' is not valid." % mid]})
        with self.lock:
            m = self.messages.get(mid)
            if m is None:
                return self.biz(111)
            return self.ok(self.report(m, int(time.time())))

    def get_pack(self, req, pack_id):
        if not SMSIR_GUID_RE.fullmatch(pack_id):
            raise ValidationError({"packId": ["The value '%s' is not valid." % pack_id]})
        now = int(time.time())
        with self.lock:
            p = self.packs.get(pack_id.lower())
            if p is None:
                return self.biz(111)
            return self.ok([self.report(self.messages[i], now) for i in p["ids"]])

    def cancel_scheduled(self, req, pack_id):
        if not SMSIR_GUID_RE.fullmatch(pack_id):
            raise ValidationError({"packId": ["The value '%s' is not valid." % pack_id]})
        now = int(time.time())
        with self.lock:
            p = self.packs.get(pack_id.lower())
            # sms.ir: 112 "nothing found to delete" for an unknown, sent or
            # cancelled pack, and within 3 minutes of its send time
            if (p is None or not p["scheduled"] or p["cancelled"] or
                    p["sendDateTime"] - CANCEL_LEAD_S <= now):
                return self.biz(112)
            p["cancelled"] = True
            for i in p["ids"]:
                self.messages[i]["cancelled"] = True
            self.credit += p["cost"]
            return self.ok({"returnedCreditCount": p["cost"], "smsCount": len(p["ids"])})

    def get_credit(self, req):
        with self.lock:
            return self.ok(float(self.credit))

    def get_lines(self, req):
        return self.ok(list(SMSIR_LINES))

    @staticmethod
    def _int_param(req, name, default, lo, hi):
        vals = req.query.get(name)
        if vals is None:
            return default
        v = vals[-1]
        if not re.fullmatch(r"[+-]?[0-9]{1,9}", v.strip()):
            raise ValidationError({name: ["The value '%s' is not valid." % v]})
        n = int(v)
        if not lo <= n <= hi:
            raise ValidationError({name: ["The field %s must be between %d and %d." % (name, lo, hi)]})
        return n

    def receive_latest(self, req):
        """Destructive, as on sms.ir: each unread message is returned once,
        then marked read and never returned by this call again."""
        count = self._int_param(req, "count", 100, 1, 100)
        with self.lock:
            unread = [m for m in self.inbox if not m.get("read")]
            msgs = sorted(unread, key=lambda m: m["receivedDateTime"], reverse=True)[:count]
            for m in msgs:
                m["read"] = True
            return self.ok([{k: v for k, v in m.items() if k != "read"} for m in msgs])

    def receive_live(self, req):
        """Today's (Tehran) received messages, read and unread, paged; no
        receiveReturnId.  Reading them consumes nothing."""
        # (query keys arrive lower-cased; ASP.NET binds them case-insensitively)
        page = self._int_param(req, "pagenumber", 1, 1, 1000000)
        size = self._int_param(req, "pagesize", 10, 1, 100)
        newest = (req.query.get("sortbynewest") or ["false"])[-1].lower() == "true"
        mobile = (req.query.get("mobile") or [None])[-1]
        today = tehran_date(time.time())
        with self.lock:
            msgs = [m for m in self.inbox if tehran_date(m["receivedDateTime"]) == today
                    and (mobile is None or str(m["mobile"]).endswith(mobile[-10:]))]
            msgs.sort(key=lambda m: m["receivedDateTime"], reverse=newest)
            msgs = msgs[(page - 1) * size:page * size]
            return self.ok([{k: v for k, v in m.items() if k not in ("read", "receiveReturnId")}
                            for m in msgs])

    # --- control hooks ---------------------------------------------------
    def set_delivery(self, mid, state):
        with self.lock:
            if mid not in self.messages:
                return False
            self.overrides[mid] = state
            return True

    def set_credit(self, credit):
        with self.lock:
            self.credit = float(credit)

    def add_inbox(self, msg):
        with self.lock:
            msg["receiveReturnId"] = self.next_receive_id
            self.next_receive_id += 1
            self.inbox.append(msg)


# Future providers go here, each a class with `prefixes`, `reset()` and
# `handle(req) -> Reply`:
#   SmsAfzar         prefixes ("/messages/", "/account/")
#   MediaPayamakSoap prefixes ("/SendService.svc",)
#   SmsIrLegacy      prefixes ("/users/v1/",)


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
    def __init__(self, api_key):
        self.api_key = api_key
        self.log = RequestLog()
        self.faults = Faults()
        self.trace_lock = threading.Lock()
        self.trace_n = 0
        self.smsir = SmsIrV1(self)
        self.providers = [self.smsir]
        try:  # smsafzar lives in its own module (test/mock_smsafzar.py)
            import mock_smsafzar
        except ImportError:
            mock_smsafzar = None
        if mock_smsafzar is not None:
            self.smsafzar = mock_smsafzar.SmsAfzar(self, Reply)
            self.providers.append(self.smsafzar)
        try:  # MediaPayamak SOAP lives in its own module (test/mock_mediapayamak.py)
            import mock_mediapayamak
        except ImportError:
            mock_mediapayamak = None
        if mock_mediapayamak is not None:
            self.mediapayamak = mock_mediapayamak.MediaPayamak(self, Reply)
            self.providers.append(self.mediapayamak)
        try:  # legacy sms.ir White SMS lives in its own module (test/mock_legacy.py)
            import mock_legacy
        except ImportError:
            mock_legacy = None
        if mock_legacy is not None:
            self.legacy = mock_legacy.SmsIrLegacy(self, Reply)
            self.providers.append(self.legacy)
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
            if p == "/__mock/delivery" and m == "POST":
                b = body()
                if not isinstance(b, dict) or not is_int(b.get("messageId")) \
                        or not is_int(b.get("state")):
                    return bad("expected {\"messageId\": int, \"state\": int}")
                if not self.smsir.set_delivery(b["messageId"], b["state"]):
                    return bad("unknown messageId", 404)
                return json_reply(200, {"ok": True})
            if p == "/__mock/credit" and m == "POST":
                b = body()
                c = b.get("credit") if isinstance(b, dict) else None
                if not isinstance(c, (int, float)) or isinstance(c, bool):
                    return bad("expected {\"credit\": number}")
                self.smsir.set_credit(c)
                return json_reply(200, {"ok": True})
            if p == "/__mock/inbox" and m == "POST":
                b = body()
                if not isinstance(b, dict):
                    return bad("expected an object")
                msg = {"number": b.get("number", SMSIR_LINES[0]),
                       "messageText": b.get("messageText", ""),
                       "mobile": b.get("mobile", "989120000000"),
                       "receivedDateTime": b.get("receivedDateTime", int(time.time()))}
                self.smsir.add_inbox(msg)
                return json_reply(200, {"ok": True})
            if p in ("/__mock/reset", "/__mock/requests", "/__mock/count",
                     "/__mock/delivery", "/__mock/credit", "/__mock/inbox"):
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
            sys.stderr.write("mock_provider: internal error on %s %s\n%s" % (
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
        self.quiet = quiet
        self.ssl_ctx = ssl_ctx
        self._abort = set()
        self._abort_lock = threading.Lock()

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
                sys.stderr.write("mock_provider: connection %s: %s\n" % (client_address, exc))
            return
        sys.stderr.write("mock_provider: error on connection %s\n%s" % (
            client_address, traceback.format_exc()))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local fake of the sms.ir (and other) SMS APIs.")
    ap.add_argument("--port", type=int, default=0, help="TCP port (0 = pick a free one)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--api-key", default="test-key")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

    def _stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    mock = Mock(args.api_key)
    server = MockHTTPServer((args.host, args.port), Handler, mock, args.quiet, ctx)
    sys.stdout.write("READY %d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.5)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
