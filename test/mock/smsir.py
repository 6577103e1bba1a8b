"""Strict fake of the sms.ir REST API v1 (seed 000), paths under /v1/.

Auth: header X-API-KEY equal to the mock's API key (--api-key, default
test-key); anything else is HTTP 401 {"status":10,...}.

    POST   /v1/send/bulk          {lineNumber, messageText, mobiles[1..100], sendDateTime?}
    POST   /v1/send/likeToLike    {lineNumber, messageTexts[], mobiles[], sendDateTime?}
    POST   /v1/send/verify        {mobile, templateId, parameters[{name, value}]}
    GET    /v1/send/{messageId}   one message's report
    GET    /v1/send/pack/{packId} the reports of every message of the pack
    GET    /v1/credit, GET /v1/line
    DELETE /v1/send/scheduled/{packId}
    GET    /v1/receive/latest?count=N
    GET    /v1/receive/live?pageNumber&pageSize&sortByNewest&mobile
    GET    /v1/receive/archive?fromDate&toDate&pageNumber&pageSize&mobile

What it mirrors of the real API (SPEC §3.1, sms.ir developer docs and SDKs):
  - every reply is the envelope {status, message, data}; status 1 is ok, a
    business error is HTTP 400 with its status code (101 bad line, 102 no
    credit, 103 empty text, 104 bad mobile, 105 > 100 mobiles, 109 bad send
    time, 110 count mismatch, 111 no send with this id, 112 nothing found to
    delete, 113 template not found);
  - a body that does not bind (wrong JSON type, missing field, not JSON, not
    application/json) is an ASP.NET ProblemDetails 400 {type,title,status,
    traceId,errors}; property names bind case-insensitively, unknown ones are
    ignored, strings are never converted to numbers (System.Text.Json);
  - reports carry messageId, mobile, messageText, sendDateTime, lineNumber,
    cost, deliveryState, deliveryDateTime; GET /v1/send/pack/{packId} returns
    them for every message of the pack in one call; an unknown id or pack is
    status 111 (HTTP 400), as GET /v1/send/{id} answers;
  - DELETE /v1/send/scheduled/{packId} works until 3 minutes before the send
    time; an unknown, sent or cancelled pack answers 112;
  - GET /v1/receive/latest is destructive (each message returned once, then
    marked read); GET /v1/receive/live (today's, Tehran time, read and
    unread, no receiveReturnId; pageSize 1..100, default 100; pageNumber
    from 1; oldest first unless sortByNewest=true) and GET
    /v1/receive/archive (days before today, Tehran time, with
    receiveReturnId; fromDate/toDate unix seconds, both optional and
    inclusive; same paging, oldest first) consume nothing;
  - received messages carry `mobile` (the sender) and `number` (our line) as
    JSON numbers, the mobile without 0 or 98 (9121234567), and
    receivedDateTime in unix seconds.

The developer docs say live also lists yesterday's messages "in the first
hours of the day"; how long is not said.  The mock does so only when told
(POST /__mock/receive {"liveIncludesYesterday": true}), so that tests do not
depend on the hour they run at.

Decided here (not in the docs): delivery state 3 while a send is scheduled, 6
once cancelled, else 1 (POST /__mock/delivery overrides it, for single and
pack reports alike); one credit per part (70 chars Persian, 160 Latin).

Control (see base.py; no auth, never logged):
    POST /__mock/delivery  {"messageId":int,"state":int}  override deliveryState
    POST /__mock/credit    {"credit":number}               set account credit
    POST /__mock/inbox     {"number":int,"mobile":str|int,"messageText":str,
                            "receivedDateTime":int}        add a received message
                           (or an array of them, added at once)
    POST /__mock/receive   {"liveIncludesYesterday":bool}  live lists yesterday's too
"""

import math
import re
import threading
import time
from urllib.parse import unquote

from base import INVALID, is_int, json_reply, method_not_allowed, not_found

LINES = [30004505000017, 3000505]
INITIAL_CREDIT = 10000.0
FIRST_MESSAGE_ID = 89545112
VERIFY_LINE = 30004505000017
TEMPLATES = {
    # templateId: (parameter names, text)
    123456: (("Code",), "کد تایید شما: #Code#"),
    100200: (("order",), "سفارش #order# ثبت شد"),
    100201: (("name", "code"), "#name# عزیز، کد شما #code# است"),
}
INBOX_SEED = [
    {"number": 30004505000017, "messageText": "سلام", "mobile": "989121111111",
     "receivedDateTime": 1700000000},
    {"number": 30004505000017, "messageText": "Hello", "mobile": "989122222222",
     "receivedDateTime": 1700000100},
    {"number": 3000505, "messageText": "لغو 11", "mobile": "989123333333",
     "receivedDateTime": 1700000200},
]
FIRST_RECEIVE_ID = 5001
TEHRAN_OFFSET_S = 3 * 3600 + 1800   # Asia/Tehran, no DST since 2022


def _mobile_number(m):
    """A sender as sms.ir gives it: a JSON number without 0 or 98 (9121234567);
    a sender that is not a mobile stays as it is."""
    mm = MOBILE_RE.fullmatch(str(m))
    return int(mm.group(1)) if mm else m


def tehran_date(unix_seconds):
    try:
        return time.strftime("%Y-%m-%d", time.gmtime(unix_seconds + TEHRAN_OFFSET_S))
    except (OverflowError, OSError, ValueError, TypeError):
        return None


MOBILE_RE = re.compile(r"(?:0|98|\+98|0098)?(9[0-9]{9})")
GUID_RE = re.compile(
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
        ("GET", re.compile(r"/v1/receive/archive/?", re.I), "receive_archive"),
    ]

    def __init__(self, mock):
        self.mock = mock
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.credit = INITIAL_CREDIT
            self.next_msg_id = FIRST_MESSAGE_ID
            self.next_pack = 1
            self.messages = {}   # id -> dict
            self.packs = {}      # packId -> {"ids", "cost", "scheduled", "cancelled"}
            self.overrides = {}  # id -> deliveryState
            self.inbox = [dict(m, receiveReturnId=FIRST_RECEIVE_ID + i)
                          for i, m in enumerate(INBOX_SEED)]
            self.next_receive_id = FIRST_RECEIVE_ID + len(self.inbox)
            self.live_includes_yesterday = False

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
        if line not in LINES:
            return self.biz(101)
        return None

    @staticmethod
    def norm_mobile(m):
        if not isinstance(m, str):
            return None
        mm = MOBILE_RE.fullmatch(m)
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
        tpl = TEMPLATES.get(tid)
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
                "sendDateTime": now, "lineNumber": VERIFY_LINE, "cost": 1.0,
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
        if not GUID_RE.fullmatch(pack_id):
            raise ValidationError({"packId": ["The value '%s' is not valid." % pack_id]})
        now = int(time.time())
        with self.lock:
            p = self.packs.get(pack_id.lower())
            if p is None:
                return self.biz(111)
            return self.ok([self.report(self.messages[i], now) for i in p["ids"]])

    def cancel_scheduled(self, req, pack_id):
        if not GUID_RE.fullmatch(pack_id):
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
        return self.ok(list(LINES))

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

    @staticmethod
    def _received(m, with_id):
        """A stored message as the API shows it: mobile and number as JSON
        numbers (9121234567), receiveReturnId only where the endpoint has it."""
        out = {"messageText": m["messageText"], "number": m["number"],
               "mobile": _mobile_number(m["mobile"]), "receivedDateTime": m["receivedDateTime"]}
        if with_id:
            out = dict({"receiveReturnId": m["receiveReturnId"]}, **out)
        return out

    @staticmethod
    def _mobile_filter(req):
        mobile = (req.query.get("mobile") or [None])[-1]
        if mobile is None:
            return lambda m: True
        return lambda m: str(_mobile_number(m["mobile"])).endswith(mobile[-10:])

    def _page(self, req, msgs, newest):
        page = self._int_param(req, "pagenumber", 1, 1, 1000000)
        size = self._int_param(req, "pagesize", 100, 1, 100)
        msgs.sort(key=lambda m: m["receivedDateTime"], reverse=newest)   # stable: ties in arrival order
        return msgs[(page - 1) * size:page * size]

    def receive_latest(self, req):
        """Destructive, as on sms.ir: each unread message is returned once,
        then marked read and never returned by this call again."""
        count = self._int_param(req, "count", 100, 1, 100)
        with self.lock:
            unread = [m for m in self.inbox if not m.get("read")]
            msgs = sorted(unread, key=lambda m: m["receivedDateTime"], reverse=True)[:count]
            for m in msgs:
                m["read"] = True
            return self.ok([self._received(m, True) for m in msgs])

    def receive_live(self, req):
        """Today's (Tehran) received messages, read and unread, paged; no
        receiveReturnId.  Reading them consumes nothing."""
        # (query keys arrive lower-cased; ASP.NET binds them case-insensitively)
        newest = (req.query.get("sortbynewest") or ["false"])[-1].lower() == "true"
        now = time.time()
        days = {tehran_date(now)}
        if self.live_includes_yesterday:
            days.add(tehran_date(now - 86400))
        wanted = self._mobile_filter(req)
        with self.lock:
            msgs = [m for m in self.inbox if tehran_date(m["receivedDateTime"]) in days
                    and wanted(m)]
            return self.ok([self._received(m, False) for m in self._page(req, msgs, newest)])

    def receive_archive(self, req):
        """Received messages of the days before today (Tehran), with
        receiveReturnId, between fromDate and toDate (unix seconds, each
        optional, inclusive), paged, oldest first.  Consumes nothing."""
        lo = self._long_param(req, "fromdate")
        hi = self._long_param(req, "todate")
        today = tehran_date(time.time())
        wanted = self._mobile_filter(req)
        with self.lock:
            msgs = [m for m in self.inbox if tehran_date(m["receivedDateTime"]) < today
                    and (lo is None or m["receivedDateTime"] >= lo)
                    and (hi is None or m["receivedDateTime"] <= hi) and wanted(m)]
            return self.ok([self._received(m, True) for m in self._page(req, msgs, False)])

    @staticmethod
    def _long_param(req, name):
        vals = req.query.get(name)
        if vals is None:
            return None
        v = vals[-1]
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", v.strip()):
            raise ValidationError({name: ["The value '%s' is not valid." % v]})
        return int(v)

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

    # --- control API (called by base.Mock.control) ------------------------
    def control(self, req, path, method, body):
        def bad(msg, status=400):
            return json_reply(status, {"ok": False, "error": msg})

        if path not in ("/__mock/delivery", "/__mock/credit", "/__mock/inbox",
                        "/__mock/receive"):
            return None
        if method != "POST":
            return method_not_allowed(req, ["POST"])
        b = body()
        if path == "/__mock/delivery":
            if not isinstance(b, dict) or not is_int(b.get("messageId")) \
                    or not is_int(b.get("state")):
                return bad("expected {\"messageId\": int, \"state\": int}")
            if not self.set_delivery(b["messageId"], b["state"]):
                return bad("unknown messageId", 404)
            return json_reply(200, {"ok": True})
        if path == "/__mock/credit":
            c = b.get("credit") if isinstance(b, dict) else None
            if not isinstance(c, (int, float)) or isinstance(c, bool):
                return bad("expected {\"credit\": number}")
            self.set_credit(c)
            return json_reply(200, {"ok": True})
        if path == "/__mock/inbox" and isinstance(b, list):
            if not all(isinstance(m, dict) for m in b):
                return bad("expected an object or an array of objects")
            for m in b:   # a batch arrives at once (one lock), as a burst would
                self.add_inbox(self._inbox_message(m))
            return json_reply(200, {"ok": True})
        if not isinstance(b, dict):
            return bad("expected an object")
        if path == "/__mock/receive":
            v = b.get("liveIncludesYesterday")
            if not isinstance(v, bool):
                return bad("expected {\"liveIncludesYesterday\": bool}")
            with self.lock:
                self.live_includes_yesterday = v
            return json_reply(200, {"ok": True})
        self.add_inbox(self._inbox_message(b))
        return json_reply(200, {"ok": True})

    @staticmethod
    def _inbox_message(b):
        return {"number": b.get("number", LINES[0]),
                "messageText": b.get("messageText", ""),
                "mobile": b.get("mobile", "989120000000"),
                "receivedDateTime": b.get("receivedDateTime", int(time.time()))}
