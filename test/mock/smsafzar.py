"""Strict fake of the smsafzar REST API (seed 001), served by test/mock (base.py).

Auth: header X-Api-Key equal to the mock's API key, or Authorization: Bearer
test-bearer; anything else is 401 {"errorCode":401,...}.

    POST   /messages/send/template   {senderNumber, recipientNumber, templateId,
                                      parameters[{name,value}], sendTimestamp?}
    POST   /messages/send            {senderNumber, recipientNumber, content, sendTimestamp?}
    POST   /messages/status          {"sentMessageIdes": [id, ...]}  (1..100 ids)
    GET    /account/balance
    DELETE /messages/send/scheduled/{batchId}

Every error is {errorCode, errorMessage, validationErrors?[{field, errorMessage}]}
as the seed shows: 400 1001 (validation), 1053 (sender line not in the
account), 1107 (unknown template); 401.  403 and 500 come from fault
injection (POST /__mock/fault) with the seed's bodies.

Not in the seed, decided here and in src/provider_smsafzar.c (README "smsafzar"):
  - messageStatus: 0 scheduled, 1 accepted, 2 at the operator, 3 delivered,
    4 not delivered, 5 rejected by the operator, 6 cancelled.  A send replies 1
    (0 when scheduled); /messages/status reports, by the recipient's last
    digit, 1->1, 2->2, 4->4, 5->5, 9->9 (a code the extension does not know),
    any other -> 3; scheduled messages 0, cancelled ones 6.
  - /messages/status replies {"messages":[{sentMessageId, recipientNumber,
    messageStatus}]}; unknown ids are left out.
  - /account/balance replies {"balance": "10,000,000"} (rials, thousands separators).
  - DELETE /messages/send/scheduled/{batchId} replies 200 {"batchId": ...} for a
    scheduled batch, and, as smsafzar's manual says, 400 {"errorCode": 1106, ...}
    for any other (unknown, already sent, or within 30 s of its send time).
Ids: batchId 00000000-0000-4000-a000-000000000001 upwards, sentMessageId
00000000-0000-4000-b000-000000000001 upwards.  Cost: 1,800 rials per part.
"""

import json
import math
import re
import threading
import time

from base import Reply

BEARER = "test-bearer"
LINES = ("10001000", "30004505000017")
TEMPLATES = {
    # id: (parameter names, text)
    "TydSt1skQE": (("code", "price"), "code #code# price #price#"),
    "123456": (("Code",), "Your code is #Code#"),
}
INITIAL_BALANCE = 10000000
PART_COST = 1800

MSG_VALIDATION = ".مقادیر پارامترهای ارسالی معتبر نمی باشند"
MSG_AUTH = ".خطای احراز هویت رخ داده است"
MSG_LINE = ".شماره خط فرستنده در حساب کاربر تعریف نشده است"
MSG_TEMPLATE = ".شناسه قالب ارسال پیام مورد نظر معتبر نمی باشد"
MSG_NOT_FOUND = ".مجموعه پیام زمان بندی شده مورد نظر یافت نشد"
FIELD_LABEL = {
    "senderNumber": "شماره فرستنده",
    "recipientNumber": "شماره گیرنده",
    "content": "متن پیام",
    "templateId": "شناسه قالب ارسال پیام",
    "parameters": "پارامترها",
    "sendTimestamp": "زمان ارسال",
    "sentMessageIdes": "شناسه پیام ها",
}

SENDER_RX = re.compile(r"(?:0098|\+98|98)?([1-9][0-9]{3,13})")
RECIPIENT_RX = re.compile(r"(?:09|9|00989|\+989|989)([0-9]{9})")


def fmt_amount(n):
    return "{:,}".format(int(n))


def parts_of(text):
    if all(ord(c) < 128 for c in text):
        return 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    return 1 if len(text) <= 70 else math.ceil(len(text) / 67)


class Invalid(Exception):
    def __init__(self, errors):
        super().__init__("validation")
        self.errors = errors  # [(field, message)]


class SmsAfzar:
    name = "smsafzar"
    prefixes = ("/messages/", "/account/")

    ROUTES = [
        ("POST", re.compile(r"/messages/send/template/?", re.I), "send_template"),
        ("POST", re.compile(r"/messages/send/?", re.I), "send"),
        ("POST", re.compile(r"/messages/status/?", re.I), "status"),
        ("GET", re.compile(r"/account/balance/?", re.I), "balance"),
        ("DELETE", re.compile(r"/messages/send/scheduled/([^/]+)/?", re.I), "cancel"),
        ("GET", re.compile(r"/messages/received/recent/?", re.I), "received"),
    ]

    def __init__(self, mock):
        self.mock = mock
        self.Reply = Reply
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.credit = INITIAL_BALANCE
            self.next_batch = 1
            self.next_msg = 1
            self.messages = {}  # sentMessageId -> dict
            self.batches = {}   # batchId -> {"ids", "scheduled", "cancelled"}

    # --- replies -------------------------------------------------------------
    def reply(self, status, obj):
        return self.Reply(status, json.dumps(obj, ensure_ascii=False,
                                             separators=(",", ":")).encode("utf-8"))

    def error(self, status, code, message, verrs=None):
        obj = {"errorCode": code, "errorMessage": message}
        if verrs:
            obj["validationErrors"] = [{"field": f, "errorMessage": m} for f, m in verrs]
        return self.reply(status, obj)

    # --- dispatch --------------------------------------------------------------
    def authorized(self, req):
        key = req.headers.get("X-Api-Key")
        auth = req.headers.get("Authorization")
        if auth is not None:
            return auth.strip() == "Bearer " + BEARER
        return key is not None and key.strip() == self.mock.api_key

    def handle(self, req):
        allowed = []
        for method, rx, fname in self.ROUTES:
            m = rx.fullmatch(req.path)
            if not m:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            if not self.authorized(req):
                return self.error(401, 401, MSG_AUTH)
            try:
                if method == "POST":
                    return getattr(self, fname)(req, self.json_body(req))
                return getattr(self, fname)(req, *m.groups())
            except Invalid as e:
                return self.error(400, 1001, MSG_VALIDATION, e.errors)
        if allowed:
            return self.Reply(405, b'{"errorCode":405,"errorMessage":"Method Not Allowed"}',
                              headers={"Allow": ", ".join(sorted(set(allowed)))})
        return self.Reply(404, b'{"errorCode":404,"errorMessage":"Not Found"}')

    def json_body(self, req):
        ctype = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            raise Invalid([("Content-Type", "expected application/json")])
        if req.json_error is not None or not isinstance(req.json, dict):
            raise Invalid([("body", "the request body must be a JSON object")])
        return req.json

    # --- field checks --------------------------------------------------------------
    @staticmethod
    def fields(body, required, optional=()):
        errs = []
        for k in body:
            if k not in required and k not in optional:
                errs.append((k, ".فیلد [ %s ] شناخته شده نیست" % k))
        for k in required:
            v = body.get(k)
            if v is None or v == "" or v == []:
                errs.append((k, ".فیلد [ %s ] را وارد نمایید" % FIELD_LABEL.get(k, k)))
        return errs

    @staticmethod
    def bad(field):
        return (field, ".مقدار فیلد [ %s ] معتبر نمی باشد" % FIELD_LABEL.get(field, field))

    def check_numbers(self, body, errs, now):
        sender = body.get("senderNumber")
        rcpt = body.get("recipientNumber")
        s = r = None
        if sender is not None and sender != "":
            m = SENDER_RX.fullmatch(sender) if isinstance(sender, str) else None
            if m is None:
                errs.append(self.bad("senderNumber"))
            else:
                s = m.group(1)
        if rcpt is not None and rcpt != "":
            m = RECIPIENT_RX.fullmatch(rcpt) if isinstance(rcpt, str) else None
            if m is None:
                errs.append(self.bad("recipientNumber"))
            else:
                r = "09" + m.group(1)
        ts = body.get("sendTimestamp")
        if "sendTimestamp" in body and (type(ts) is not int or ts <= now):
            errs.append(self.bad("sendTimestamp"))
        return s, r, ts

    def store(self, sender, rcpt, text, ts):
        """Record one sent message; returns the 200 reply."""
        parts = parts_of(text)
        cost = parts * PART_COST
        with self.lock:
            bid = "00000000-0000-4000-a000-%012d" % self.next_batch
            mid = "00000000-0000-4000-b000-%012d" % self.next_msg
            self.next_batch += 1
            self.next_msg += 1
            self.credit -= cost
            self.messages[mid] = {"recipient": rcpt, "batch": bid, "scheduled": ts is not None}
            self.batches[bid] = {"ids": [mid], "scheduled": ts is not None, "cancelled": False}
        return self.reply(200, {
            "batchId": bid,
            "message": {
                "sentMessageId": mid,
                "senderNumber": sender,
                "recipientNumber": rcpt,
                "content": text,
                "language": "English" if all(ord(c) < 128 for c in text) else "Persian",
                "operator": "Mci",
                "parts": str(parts),
                "cost": fmt_amount(cost),
                "messageStatus": 0 if ts is not None else 1,
            },
        })

    # --- methods ------------------------------------------------------------------
    def send_template(self, req, body):
        now = int(time.time())
        errs = self.fields(body, ("senderNumber", "recipientNumber", "templateId", "parameters"),
                           ("sendTimestamp",))
        for k in ("senderNumber", "recipientNumber", "templateId"):
            if k in body and not isinstance(body[k], str):
                errs.append(self.bad(k))
        params = body.get("parameters")
        given = {}
        if "parameters" in body and not isinstance(params, list):
            errs.append(self.bad("parameters"))
        elif isinstance(params, list):
            for i, p in enumerate(params):
                if not isinstance(p, dict) or set(p) != {"name", "value"} \
                        or not isinstance(p["name"], str) or not isinstance(p["value"], str) \
                        or p["name"] == "":
                    errs.append(self.bad("parameters[%d]" % i))
                elif len(p["value"]) > 100:
                    errs.append(("parameters[%d].value" % i,
                                 ".مقدار پارامتر حداکثر 100 کاراکتر می باشد"))
                else:
                    given.setdefault(p["name"].lower(), p["value"])
        s, r, ts = self.check_numbers(body, errs, now)
        if errs:
            raise Invalid(errs)
        if s not in LINES:
            return self.error(400, 1053, MSG_LINE)
        tpl = TEMPLATES.get(body["templateId"])
        if tpl is None:
            return self.error(400, 1107, MSG_TEMPLATE)
        names, text = tpl
        missing = [n for n in names if n.lower() not in given]
        if missing:
            raise Invalid([("parameters", ".پارامتر [ %s ] را وارد نمایید" % n) for n in missing])
        for n in names:
            text = text.replace("#%s#" % n, given[n.lower()])
        return self.store(body["senderNumber"], body["recipientNumber"], text, ts)

    def send(self, req, body):
        now = int(time.time())
        errs = self.fields(body, ("senderNumber", "recipientNumber", "content"),
                           ("sendTimestamp",))
        for k in ("senderNumber", "recipientNumber", "content"):
            if k in body and not isinstance(body[k], str):
                errs.append(self.bad(k))
        s, r, ts = self.check_numbers(body, errs, now)
        if errs:
            raise Invalid(errs)
        if s not in LINES:
            return self.error(400, 1053, MSG_LINE)
        return self.store(body["senderNumber"], body["recipientNumber"], body["content"], ts)

    def status(self, req, body):
        errs = self.fields(body, ("sentMessageIdes",))
        ids = body.get("sentMessageIdes")
        if "sentMessageIdes" in body and (not isinstance(ids, list) or len(ids) > 100
                                          or not all(isinstance(i, str) for i in ids)):
            errs.append(self.bad("sentMessageIdes"))
        if errs:
            raise Invalid(errs)
        out = []
        with self.lock:
            for mid in ids:
                m = self.messages.get(mid)
                if m is None:
                    continue
                b = self.batches[m["batch"]]
                if b["cancelled"]:
                    st = 6
                elif m["scheduled"]:
                    st = 0
                else:
                    st = {"1": 1, "2": 2, "4": 4, "5": 5, "9": 9}.get(m["recipient"][-1], 3)
                out.append({"sentMessageId": mid, "recipientNumber": m["recipient"],
                            "messageStatus": st})
        return self.reply(200, {"messages": out})

    def balance(self, req):
        with self.lock:
            return self.reply(200, {"balance": fmt_amount(self.credit)})

    # Not in the seed (issue 4 names the endpoint): the reply shape below is
    # this project's reading, mirrored by src/provider_smsafzar.c.
    RECEIVED = [
        {"receivedMessageId": "r-3", "senderNumber": "09123333333",
         "recipientNumber": "10001000", "content": "لغو 11", "receivedTimestamp": 1700000200},
        {"receivedMessageId": "r-2", "senderNumber": "989122222222",
         "recipientNumber": "10001000", "content": "Hello", "receivedTimestamp": 1700000100},
    ]

    def received(self, req):
        # count: 1..100 as smsafzar's manual says; required here so a client
        # that forgets it is caught (the real default is not documented)
        vals = req.query.get("count")
        if not vals or not re.fullmatch(r"[0-9]{1,3}", vals[-1]) or not 1 <= int(vals[-1]) <= 100:
            return self.error(400, 1001, "count must be between 1 and 100")
        return self.reply(200, {"messages": self.RECEIVED[:int(vals[-1])]})

    def cancel(self, req, bid):
        with self.lock:
            b = self.batches.get(bid)
            if b is None or not b["scheduled"] or b["cancelled"]:
                return self.error(400, 1106, MSG_NOT_FOUND)
            b["cancelled"] = True
        return self.reply(200, {"batchId": bid})
