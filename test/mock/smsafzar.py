"""Strict fake of the smsafzar REST API (seed 001), served by test/mock (base.py).

Auth: header X-Api-Key equal to the mock's API key, or Authorization: Bearer
with either the static token test-bearer or a live token issued by
POST /auth/token; anything else is 401 {"errorCode":401,...}.

    POST   /auth/token               {userName, password, domain}  (no auth header)
    POST   /messages/send/template   {senderNumber, recipientNumber, templateId,
                                      parameters[{name,value}], sendTimestamp?}
    POST   /messages/send            {senderNumber, recipientNumber, content, sendTimestamp?}
    POST   /messages/send/bulk       {senderNumbers[], recipientNumbers[], contents[],
                                      sendTimestamp?}
    POST   /messages/status          {"sentMessageIdes": [id, ...]}  (1..100 ids)
    GET    /account/balance
    DELETE /messages/send/scheduled/{batchId}
    GET    /messages/received/recent?count=N   (count required, 1..100)

Every error is {errorCode, errorMessage, validationErrors?[{field, errorMessage}]}
as the seed shows: 400 1001 (validation), 1053 (sender line not in the
account), 1106 (cancel of an unknown batch), 1107 (unknown template); 401.
403 and 500 come from fault injection (POST /__mock/fault) with the seed's
bodies.  Unknown body fields are rejected (1001).

What it mirrors of the real API (smsafzar's manual pages, SPEC §3.1):
  - /messages/send/bulk sends many messages in one request: the three arrays
    of equal length, or senderNumbers and/or contents of length 1 meaning
    "the same for all"; 1..100 recipients (more: 1001 with a validationErrors
    entry for recipientNumbers); each sender must be a line of the account
    (1053), each recipient a mobile, each content non-empty, sendTimestamp
    (unix seconds) in the future, as for /messages/send.  All the messages of
    a request are ONE batch: cancelling its batchId cancels them all, and
    /messages/status knows every sentMessageId.
  - /auth/token {userName, password, domain} returns a Bearer token that
    expires; the mock's credentials are test-user / test-pass / test-domain
    (a wrong one: 401 {"errorCode":401,...}; a missing or non-string field:
    400 1001).  Each call issues a fresh random token.
  - cancel of an unknown batch: 400 1106; status requests: at most 100 ids.
  - /messages/received/recent takes count 1..100.

Our guesses (not in our copy of the manual), mirrored by src/provider_smsafzar.c
and the README's list of guesses:
  - the /messages/send/bulk reply: the single send's reply with a list,
    200 {"batchId", "messages": [{sentMessageId, senderNumber, recipientNumber,
    content, language, operator, parts, cost, messageStatus}, ...]} in input order;
  - the /auth/token reply {"token": "...", "expiresIn": seconds} (default
    lifetime 3600 s);
  - messageStatus: 0 scheduled, 1 accepted, 2 at the operator, 3 delivered,
    4 not delivered, 5 rejected by the operator, 6 cancelled.  A send replies 1
    (0 when scheduled); /messages/status reports, by the recipient's last
    digit, 1->1, 2->2, 4->4, 5->5, 9->9 (a code the extension does not know),
    any other -> 3; scheduled messages 0 until their time, cancelled ones 6.
  - /messages/status replies {"messages":[{sentMessageId, recipientNumber,
    messageStatus}]}; unknown ids are left out.
  - /account/balance replies {"balance": "10,000,000"} (rials, thousands separators).
  - DELETE /messages/send/scheduled/{batchId} replies 200 {"batchId": ...} for a
    scheduled batch, and, as smsafzar's manual says, 400 {"errorCode": 1106, ...}
    for any other (unknown, already sent, or within 30 s of its send time).
  - /messages/received/recent replies {"messages": [{receivedMessageId,
    senderNumber, recipientNumber, content, receivedTimestamp}]}, newest first,
    at most count of them; a missing or bad count is 400 1001.
Ids: batchId 00000000-0000-4000-a000-000000000001 upwards, sentMessageId
00000000-0000-4000-b000-000000000001 upwards.  Cost: 1,800 rials per part.

Control (see base.py; no auth, never logged):
    POST /__mock/smsafzar/expire_tokens   every token issued by /auth/token
                                          stops working at once -> {"ok":true,"expired":N}
    POST /__mock/smsafzar/token_lifetime  {"seconds": N}: tokens issued from now
                                          on live N seconds (reset: 3600)
    POST /__mock/smsafzar/received        {"receivedMessageId","senderNumber",
                                          "recipientNumber","content","receivedTimestamp"}:
                                          a new received message (listed first)
"""

import json
import math
import re
import secrets
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
    "senderNumbers": "شماره های فرستنده",
    "recipientNumbers": "شماره های گیرنده",
    "contents": "متن پیام ها",
    "userName": "نام کاربری",
    "password": "رمز عبور",
    "domain": "دامنه",
}
MAX_BULK = 100
CANCEL_LEAD_S = 30   # a scheduled batch can be cancelled until 30 s before its time
# POST /auth/token credentials and the lifetime of the tokens it issues
AUTH_USER = "test-user"
AUTH_PASSWORD = "test-pass"
AUTH_DOMAIN = "test-domain"
TOKEN_LIFETIME = 3600
MSG_LOGIN = ".نام کاربری، رمز عبور یا دامنه اشتباه است"

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
    prefixes = ("/messages/", "/account/", "/auth/")

    ROUTES = [
        ("POST", re.compile(r"/messages/send/template/?", re.I), "send_template"),
        ("POST", re.compile(r"/messages/send/bulk/?", re.I), "send_bulk"),
        ("POST", re.compile(r"/messages/send/?", re.I), "send"),
        ("POST", re.compile(r"/messages/status/?", re.I), "status"),
        ("GET", re.compile(r"/account/balance/?", re.I), "balance"),
        ("DELETE", re.compile(r"/messages/send/scheduled/([^/]+)/?", re.I), "cancel"),
        ("GET", re.compile(r"/messages/received/recent/?", re.I), "received"),
        ("POST", re.compile(r"/auth/token/?", re.I), "auth_token"),
    ]
    NO_AUTH = {"auth_token"}   # /auth/token is how a client gets a Bearer token

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
            self.tokens = {}    # token issued by /auth/token -> expiry (time.time())
            self.token_lifetime = TOKEN_LIFETIME
            self.received_messages = [dict(m) for m in self.RECEIVED]

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
            auth = auth.strip()
            if not auth.startswith("Bearer "):
                return False
            token = auth[len("Bearer "):].strip()
            if token == BEARER:
                return True
            with self.lock:
                exp = self.tokens.get(token)
                if exp is not None and exp <= time.time():
                    del self.tokens[token]
                    exp = None
            return exp is not None
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
            if fname not in self.NO_AUTH and not self.authorized(req):
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

    def store_batch(self, items, ts):
        """Record one batch of sent messages, items [(sender, recipient, text)]
        in input order; returns (batchId, [message objects as replied])."""
        out = []
        with self.lock:
            bid = "00000000-0000-4000-a000-%012d" % self.next_batch
            self.next_batch += 1
            ids = []
            for sender, rcpt, text in items:
                parts = parts_of(text)
                cost = parts * PART_COST
                mid = "00000000-0000-4000-b000-%012d" % self.next_msg
                self.next_msg += 1
                self.credit -= cost
                self.messages[mid] = {"recipient": rcpt, "batch": bid, "scheduled": ts is not None}
                ids.append(mid)
                out.append({
                    "sentMessageId": mid,
                    "senderNumber": sender,
                    "recipientNumber": rcpt,
                    "content": text,
                    "language": "English" if all(ord(c) < 128 for c in text) else "Persian",
                    "operator": "Mci",
                    "parts": str(parts),
                    "cost": fmt_amount(cost),
                    "messageStatus": 0 if ts is not None else 1,
                })
            self.batches[bid] = {"ids": ids, "scheduled": ts is not None, "cancelled": False,
                                 "sendTimestamp": ts}
        return bid, out

    def store(self, sender, rcpt, text, ts):
        """Record one sent message; returns the 200 reply."""
        bid, msgs = self.store_batch([(sender, rcpt, text)], ts)
        return self.reply(200, {"batchId": bid, "message": msgs[0]})

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

    def send_bulk(self, req, body):
        """POST /messages/send/bulk: arrays of equal length, or senderNumbers
        and/or contents of length 1 for all; 1..100 recipients; one batch."""
        now = int(time.time())
        keys = ("senderNumbers", "recipientNumbers", "contents")
        errs = self.fields(body, keys, ("sendTimestamp",))
        lists = {}
        for k in keys:
            v = body.get(k)
            if k not in body or v is None or v == []:
                continue
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                errs.append(self.bad(k))
            else:
                lists[k] = v
        rcpts = lists.get("recipientNumbers")
        n = len(rcpts) if rcpts is not None else None
        if n is not None and n > MAX_BULK:
            errs.append(("recipientNumbers",
                         ".حداکثر %d شماره گیرنده در هر درخواست مجاز است" % MAX_BULK))
        for k in ("senderNumbers", "contents"):
            if k in lists and n is not None and len(lists[k]) not in (1, n):
                errs.append((k, ".تعداد [ %s ] باید 1 یا برابر تعداد شماره های گیرنده باشد"
                             % FIELD_LABEL[k]))
        norm_senders = []
        for i, x in enumerate(lists.get("senderNumbers", ())):
            m = SENDER_RX.fullmatch(x)
            if m is None:
                errs.append(self.bad("senderNumbers[%d]" % i))
            else:
                norm_senders.append(m.group(1))
        for i, x in enumerate(rcpts or ()):
            if RECIPIENT_RX.fullmatch(x) is None:
                errs.append(self.bad("recipientNumbers[%d]" % i))
        for i, x in enumerate(lists.get("contents", ())):
            if x == "":
                errs.append(("contents[%d]" % i, ".فیلد [ %s ] را وارد نمایید" % FIELD_LABEL["content"]))
        ts = body.get("sendTimestamp")
        if "sendTimestamp" in body and (type(ts) is not int or ts <= now):
            errs.append(self.bad("sendTimestamp"))
        if errs:
            raise Invalid(errs)
        if any(x not in LINES for x in norm_senders):
            return self.error(400, 1053, MSG_LINE)
        senders, contents = lists["senderNumbers"], lists["contents"]
        items = [(senders[i if len(senders) > 1 else 0], r,
                  contents[i if len(contents) > 1 else 0]) for i, r in enumerate(rcpts)]
        bid, msgs = self.store_batch(items, ts)
        return self.reply(200, {"batchId": bid, "messages": msgs})

    def auth_token(self, req, body):
        """POST /auth/token {userName, password, domain} -> {token, expiresIn}."""
        keys = ("userName", "password", "domain")
        errs = self.fields(body, keys)
        for k in keys:
            if k in body and body[k] is not None and not isinstance(body[k], str):
                errs.append(self.bad(k))
        if errs:
            raise Invalid(errs)
        if (body["userName"], body["password"], body["domain"]) != \
                (AUTH_USER, AUTH_PASSWORD, AUTH_DOMAIN):
            return self.error(401, 401, MSG_LOGIN)
        token = secrets.token_urlsafe(32)
        with self.lock:
            lifetime = self.token_lifetime
            self.tokens[token] = time.time() + lifetime
        return self.reply(200, {"token": token, "expiresIn": lifetime})

    # --- control API (called by base.Mock.control) ------------------------------
    def control(self, req, path, method, body):
        if path == "/__mock/smsafzar/expire_tokens":
            if method != "POST":
                return self.Reply(405, b'{"ok":false,"error":"POST only"}',
                                  headers={"Allow": "POST"})
            with self.lock:
                n = len(self.tokens)
                self.tokens.clear()
            return self.reply(200, {"ok": True, "expired": n})
        if path == "/__mock/smsafzar/token_lifetime":
            if method != "POST":
                return self.Reply(405, b'{"ok":false,"error":"POST only"}',
                                  headers={"Allow": "POST"})
            b = body()
            sec = b.get("seconds") if isinstance(b, dict) else None
            if type(sec) is not int or sec < 1:
                return self.reply(400, {"ok": False, "error": "expected {\"seconds\": int >= 1}"})
            with self.lock:
                self.token_lifetime = sec
            return self.reply(200, {"ok": True})
        if path == "/__mock/smsafzar/received":
            if method != "POST":
                return self.Reply(405, b'{"ok":false,"error":"POST only"}',
                                  headers={"Allow": "POST"})
            b = body()
            keys = ("receivedMessageId", "senderNumber", "recipientNumber", "content")
            if not isinstance(b, dict) or not all(isinstance(b.get(k), str) for k in keys):
                return self.reply(400, {"ok": False, "error": "expected strings %s" % ", ".join(keys)})
            m = {k: b[k] for k in keys}
            m["receivedTimestamp"] = b.get("receivedTimestamp", int(time.time()))
            with self.lock:
                self.received_messages.insert(0, m)   # newest first
            return self.reply(200, {"ok": True})
        return None

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
                elif m["scheduled"] and b["sendTimestamp"] > time.time():
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
            return self.error(400, 1001, MSG_VALIDATION,
                              [("count", ".مقدار فیلد [ count ] باید بین 1 و 100 باشد")])
        with self.lock:
            return self.reply(200, {"messages": self.received_messages[:int(vals[-1])]})

    def cancel(self, req, bid):
        with self.lock:
            b = self.batches.get(bid)
            # as smsafzar's manual says: allowed until 30 s before the send time
            if b is None or not b["scheduled"] or b["cancelled"] \
                    or b["sendTimestamp"] - CANCEL_LEAD_S <= time.time():
                return self.error(400, 1106, MSG_NOT_FOUND)
            b["cancelled"] = True
        return self.reply(200, {"batchId": bid})
