"""Strict fake of the legacy sms.ir "White SMS" API (seed 003), served by test/mock (base.py).

Every path is under /users/v1/.  Auth: POST Token/GetToken {UserApiKey, SecretKey}
(the mock's API key, test-secret) -> {TokenKey, IsSuccessful, Message, ErrorCode};
every other call needs the header x-sms-ir-secure-token with a live token, else
HTTP 401 {IsSuccessful:false, Message, ErrorCode}.  Every reply carries
IsSuccessful, Message and ErrorCode; a rejected call is HTTP 200 with
IsSuccessful false, as the seed shows.

    POST Token/GetToken
    POST Message/SendByMobileNumbers  {Message, MobileNumbers[1..100], CanContinueInCaseOfError?}
    POST Message/Send                 {Message, ContactGroupIds[], ContactRelationIds[],
                                       CanContinueInCaseOfError?}
    GET  Message/GetSentMessagesMobileNumbers?lastId=&batchKey=
    GET  Message/GetLastSentMessagesByPageId?pageId=
    GET  WhiteSms/GetUserInfo
    GET  Contacts/GetContactGroups
    GET  DraftMessage/GetDraftMessages

Control (POST, not logged):
    /__mock/legacy/expire        every issued token stops working (as after 30 minutes)
    /__mock/legacy/token_uses    {"uses": N|null}: tokens issued from now on work for N calls

Not in the seed, decided here and in src/provider_legacy.c (README "smsir_legacy"):
  - ErrorCode values: 1 bad UserApiKey/SecretKey, 2 missing/expired token (HTTP 401),
    3 invalid request fields (Message names them), 4 not enough credit,
    5 unknown contact group or relation id.
  - SendByMobileNumbers replies like Message/Send: {MessageId, BatchKey, Ids[{ID, MobileNumber}]}.
  - DeliveryStatus by the recipient's last digit: 1 "رسیده به مخابرات", 2 "نرسیده به گوشی",
    3 "در صف ارسال", 4 "لیست سیاه", 5 "نرسیده به مخابرات", 6 "ارسال شده",
    8 "رسيده به گوشي" (Arabic yeh: still delivered), 9 "وضعیت نامشخص" (not known to the
    extension), any other "رسیده به گوشی".  MobileNumber is an integer (9121234567).
Ids: MessageId 1 upwards, BatchKey "wb-000001" upwards, per-recipient ID 5000001 upwards.
Credit: 1000 at reset, one per recipient.
"""

import json
import re
import secrets
import threading

from base import Reply

SECRET = "test-secret"
PREFIX = "/users/v1/"
INITIAL_CREDIT = 1000
PAGE = 50  # GetSentMessagesMobileNumbers rows per page (the seed: 50, after lastId)
GROUPS = {  # GroupId -> (name, [(relation id, mobile)])
    7: ("customers", [(701, "09120000701"), (702, "09120000702"), (703, "09120000703")]),
    8: ("staff", [(801, "09120000801"), (702, "09120000702")]),
}
RELATIONS = {rid: m for _, (_, members) in GROUPS.items() for rid, m in members}
RELATIONS[901] = "09120000901"

MSG_OK = "عملیات با موفقیت انجام شد"
MSG_BAD_CREDENTIALS = "کلید وب سرویس یا کد امنیتی نامعتبر است"
MSG_BAD_TOKEN = "توکن امنیتی نامعتبر است یا منقضی شده است"
MSG_INVALID = "پارامتر [ %s ] معتبر نمی باشد"
MSG_CREDIT = "اعتبار کافی برای ارسال پیامک وجود ندارد"
MSG_GROUP = "شناسه گروه یا مخاطب [ %s ] یافت نشد"

DELIVERY = {"1": "رسیده به مخابرات", "2": "نرسیده به گوشی", "3": "در صف ارسال",
            "4": "لیست سیاه", "5": "نرسیده به مخابرات", "6": "ارسال شده",
            "8": "رسيده به گوشي", "9": "وضعیت نامشخص"}
MOBILE_RX = re.compile(r"(?:0|98|\+98|0098)?(9[0-9]{9})")


class Invalid(Exception):
    pass


class SmsIrLegacy:
    name = "smsir_legacy"
    prefixes = (PREFIX,)

    ROUTES = {
        "token/gettoken": ("POST", "get_token"),
        "message/sendbymobilenumbers": ("POST", "send_numbers"),
        "message/send": ("POST", "send_contacts"),
        "message/getsentmessagesmobilenumbers": ("GET", "sent_numbers"),
        "message/getlastsentmessagesbypageid": ("GET", "last_sent"),
        "whitesms/getuserinfo": ("GET", "user_info"),
        "contacts/getcontactgroups": ("GET", "contact_groups"),
        "draftmessage/getdraftmessages": ("GET", "drafts"),
    }

    def __init__(self, mock):
        self.mock = mock
        self.Reply = Reply
        self.lock = threading.RLock()
        self.tokens = {}          # token -> remaining uses (None: unlimited)
        self.tokens_issued = 0
        self.reset()

    def reset(self):
        # issued tokens survive a reset (clients cache them); /__mock/legacy/expire ends them
        with self.lock:
            self.token_uses = None
            self.credit = INITIAL_CREDIT
            self.next_msg = 1
            self.next_batch = 1
            self.next_id = 5000001
            self.batches = {}     # BatchKey -> {"text", "recipients": [(ID, mobile)]}
            self.order = []

    # --- replies ---------------------------------------------------------------
    def reply(self, obj, status=200):
        return self.Reply(status, json.dumps(obj, ensure_ascii=False,
                                             separators=(",", ":")).encode("utf-8"))

    def ok(self, **fields):
        fields.update({"IsSuccessful": True, "Message": MSG_OK, "ErrorCode": 0})
        return self.reply(fields)

    def fail(self, code, message, status=200, **fields):
        fields.update({"IsSuccessful": False, "Message": message, "ErrorCode": code})
        return self.reply(fields, status)

    # --- control ---------------------------------------------------------------
    def control(self, req, path, method, body):
        if path == "/__mock/legacy/expire" and method == "POST":
            with self.lock:
                self.tokens.clear()
            return self.reply({"ok": True})
        if path == "/__mock/legacy/token_uses" and method == "POST":
            uses = body().get("uses") if isinstance(body(), dict) else None
            with self.lock:
                self.token_uses = uses if isinstance(uses, int) and uses > 0 else None
            return self.reply({"ok": True})
        return None

    # --- dispatch ----------------------------------------------------------------
    def handle(self, req):
        key = req.path[len(PREFIX):].strip("/").lower()
        route = self.ROUTES.get(key)
        if route is None:
            return self.reply({"Message": "No HTTP resource was found that matches the request URI."}, 404)
        method, fname = route
        if req.method != method:
            return self.Reply(405, b'{"Message":"The requested resource does not support this http method."}',
                              headers={"Allow": method})
        ctype = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if fname != "get_token":
            if not self.use_token(req.headers.get("x-sms-ir-secure-token")):
                return self.fail(2, MSG_BAD_TOKEN, 401)
        try:
            if method == "POST":
                if ctype != "application/json":
                    raise Invalid("Content-Type")
                if req.json_error is not None or not isinstance(req.json, dict):
                    raise Invalid("body")
                return getattr(self, fname)(req, req.json)
            if req.body:
                raise Invalid("body")
            return getattr(self, fname)(req)
        except Invalid as e:
            return self.fail(3, MSG_INVALID % e.args[0])

    def use_token(self, token):
        if token is None:
            return False
        token = token.strip()
        with self.lock:
            if token not in self.tokens:
                return False
            left = self.tokens[token]
            if left is not None:
                if left <= 0:
                    del self.tokens[token]
                    return False
                self.tokens[token] = left - 1
            return True

    @staticmethod
    def fields(body, required, optional=()):
        for k in body:
            if k not in required and k not in optional:
                raise Invalid(k)
        for k in required:
            if k not in body:
                raise Invalid(k)

    # --- methods -------------------------------------------------------------------
    def get_token(self, req, body):
        self.fields(body, ("UserApiKey", "SecretKey"))
        if not all(isinstance(body[k], str) for k in ("UserApiKey", "SecretKey")):
            raise Invalid("UserApiKey")
        if body["UserApiKey"] != self.mock.api_key or body["SecretKey"] != SECRET:
            return self.fail(1, MSG_BAD_CREDENTIALS, TokenKey=None)
        with self.lock:
            self.tokens_issued += 1
            token = "%d-%s" % (self.tokens_issued, secrets.token_hex(16))
            self.tokens[token] = self.token_uses
        return self.ok(TokenKey=token)

    def store(self, text, mobiles):
        with self.lock:
            if self.credit < len(mobiles):
                return self.fail(4, MSG_CREDIT)
            self.credit -= len(mobiles)
            mid = self.next_msg
            bkey = "wb-%06d" % self.next_batch
            self.next_msg += 1
            self.next_batch += 1
            ids = []
            for m in mobiles:
                ids.append((self.next_id, m))
                self.next_id += 1
            self.batches[bkey] = {"id": mid, "text": text, "recipients": ids}
            self.order.append(bkey)
        return self.ok(MessageId=mid, BatchKey=bkey,
                       Ids=[{"ID": i, "MobileNumber": m} for i, m in ids])

    @staticmethod
    def check_text(body):
        t = body.get("Message")
        if not isinstance(t, str) or t.strip() == "":
            raise Invalid("Message")
        cc = body.get("CanContinueInCaseOfError")
        if "CanContinueInCaseOfError" in body and not isinstance(cc, bool):
            raise Invalid("CanContinueInCaseOfError")
        return t

    def send_numbers(self, req, body):
        self.fields(body, ("Message", "MobileNumbers"), ("CanContinueInCaseOfError",))
        text = self.check_text(body)
        nums = body["MobileNumbers"]
        if not isinstance(nums, list) or not 1 <= len(nums) <= 100:
            raise Invalid("MobileNumbers")
        mobiles = []
        for n in nums:
            m = MOBILE_RX.fullmatch(n) if isinstance(n, str) else None
            if m is None:
                raise Invalid("MobileNumbers")
            mobiles.append("0" + m.group(1))
        return self.store(text, mobiles)

    def send_contacts(self, req, body):
        self.fields(body, ("Message", "ContactGroupIds", "ContactRelationIds"),
                    ("CanContinueInCaseOfError",))
        text = self.check_text(body)
        mobiles = []
        for k in ("ContactGroupIds", "ContactRelationIds"):
            v = body[k]
            if not isinstance(v, list) or not all(type(i) is int for i in v):
                raise Invalid(k)
        for g in body["ContactGroupIds"]:
            if g not in GROUPS:
                return self.fail(5, MSG_GROUP % g)
            mobiles += [m for _, m in GROUPS[g][1]]
        for r in body["ContactRelationIds"]:
            if r not in RELATIONS:
                return self.fail(5, MSG_GROUP % r)
            mobiles.append(RELATIONS[r])
        mobiles = list(dict.fromkeys(mobiles))
        if not mobiles:
            raise Invalid("ContactGroupIds")
        return self.store(text, mobiles)

    def sent_numbers(self, req):
        bkey = (req.query.get("batchkey") or [""])[-1]
        last = (req.query.get("lastid") or ["0"])[-1]
        if bkey == "":
            raise Invalid("batchKey")
        if not re.fullmatch(r"[0-9]+", last):
            raise Invalid("lastId")
        with self.lock:
            b = self.batches.get(bkey)
            out = []
            if b is not None:
                for i, m in b["recipients"]:
                    if i <= int(last) or len(out) == PAGE:
                        continue
                    out.append({"Id": i, "BatchKey": bkey, "MobileNumber": int(m[1:]),
                                "SendDateTime": "2026-11-23T10:00:00",
                                "PersianSendDateTime": "1405/09/02 10:00:00",
                                "DeliveryStatus": DELIVERY.get(m[-1], "رسیده به گوشی"),
                                "SmsMessageBody": b["text"]})
        return self.ok(Messages=out)

    def last_sent(self, req):
        with self.lock:
            out = [{"Id": self.batches[k]["id"], "BatchKey": k,
                    "SendDateTime": "2026-11-23T10:00:00",
                    "PersianSendDateTime": "1405/09/02 10:00:00",
                    "DistinctRecipientsCount": len(self.batches[k]["recipients"]),
                    "Message": self.batches[k]["text"]} for k in reversed(self.order[-50:])]
        return self.ok(Messages=out)

    def user_info(self, req):
        with self.lock:
            credit = self.credit
        return self.ok(FirstName="Test", LastName="User", BusinessName="Mock",
                       PersianExpirationDateTime="1406/01/01", IsExpired=False, IsTrial=False,
                       SentCount=INITIAL_CREDIT - credit, ExpirationDateTime="2027-03-21T00:00:00",
                       MembershipKeyword="join", CancelMembershipKeyword="leave", Credit=credit,
                       HasUploadedNationalCard=True, MobileNumber="09120000000",
                       ReagentCode="ABC123", ExpirationLeftDays=118)

    def contact_groups(self, req):
        return self.ok(ContactGroups=[{"GroupId": g, "Name": n, "Color": "#ffffff",
                                       "ContactsCount": len(ms), "InvalidContactsCount": 0}
                                      for g, (n, ms) in sorted(GROUPS.items())])

    def drafts(self, req):
        return self.ok(DraftMessageDetails=[{"Message": "draft one",
                                             "CreationDateTime": "2026-11-01T08:00:00",
                                             "PersianCreationDateTime": "1405/08/10 08:00:00"}])
