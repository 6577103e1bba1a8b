"""Strict fake of the MediaPayamak SOAP web service (seed 002), served by
test/mock (base.py).

WCF BasicHttpBinding at POST /SendService.svc:
  - Content-Type must be text/xml; charset=utf-8 (else 415, as WCF does);
  - SOAPAction must be "http://tempuri.org/ISendService/<Method>" (quoted), and
    the Body's operation element must be {http://tempuri.org/}<Method>; an
    unknown action is a 500 a:ActionNotSupported fault;
  - the operation's children must be exactly the method's parameters, in
    order, in the http://tempuri.org/ namespace (WCF ref parameters recId and
    status may follow SendSMS's parameters, SendSmsLikeToLike has none);
    string arrays must be
    a:string items in http://schemas.microsoft.com/2003/10/Serialization/Arrays.
    Anything else is a 500 a:DeserializationFailed fault.
  - userName 'test-user' and password 'test-pass'.

Methods (reply shapes from the service's WSDL, SPEC §3.1): SendSMS (result,
recId long[], status base64 byte[]), SendSmsLikeToLike (messageContents
string[] parallel to toNumbers; result and ONE smsId int, no recId/status),
GetCredit, GetDelivery, GetDeliveryLikeToLike (smsId int -> result int,
numbers string[] as a:string items, deliveryStatus int[] as a:int items,
parallel to numbers), GetSenderNumbers (ONE string holding the lines),
GetMessages (MessageInfo[] in the SMSPanel.Domain.Models data contract, every
field in WCF's alphabetical order), GetInboxCount.  Result codes as the seed lists them: SendSMS 1 for bad
credentials, 3 for a sender that is not one of LINES, 5 for > 100 numbers,
7 for a text containing FILTERED; GetCredit -1 for bad credentials.

Behaviour switches in the user name, "test-user+<switch>" (password test-pass):
  codeN      the send methods return result code N (any N: code8 no credit,
             code23 the unofficial "temporary" code, ...)
  inactive   GetCredit returns -2
  prefix     replies use other prefixes (soapenv:, t:, arr:) and a Header
  ws         replies are indented, with an XML declaration, comments and CDATA
  empty      array results are empty elements (GetDeliveryLikeToLike too)
  nil        array results are i:nil="true" (GetDeliveryLikeToLike too)
  xxe        the reply has a DOCTYPE with an external entity used in the result
  garbage    the reply is not XML
  allzero    every status byte of a send is 0

Not in the seed, decided here and in src/provider_mediapayamak.c:
  - recIds are 1000000001 upwards; status is base64 of one byte per number
    (1 sent, 0 not sent: a number that is not a mobile).
  - GetDelivery(recId): the state is the last digit of the recipient's number
    (7 -> 1 delivered); recIds 8000000095..8000000112 report code recId -
    8000000100 (so -5..12; 12 is a code the seed does not list); unknown recIds -2.
  - SendSmsLikeToLike smsIds are 2000001 upwards; the mock remembers the
    numbers of each.  GetDeliveryLikeToLike(smsId) answers result 0 with those
    numbers in send order and, for each, the state GetDelivery's rule gives
    (last digit, 7 -> 1; 11 "not sent" for a number that is not a mobile).
    An smsId never issued: result -2 (the seed's "no message with this id"
    delivery code; our guess for this method) with empty arrays.  Bad
    credentials: a s:Client fault, as GetDelivery.
  - GetCredit 12345.5; GetSenderNumbers LINES joined with "," (the separator
    is not in the WSDL: a guess); ActionDateTime values without an offset.
  - Undocumented methods answer bad credentials with a s:Client fault.
"""

import base64
import re
import threading
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from base import Reply

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://tempuri.org/"
ARR = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DC = "http://schemas.datacontract.org/2004/07/SMSPanel.Domain.Models"
USER = "test-user"
PASSWORD = "test-pass"
LINES = ("30004505000017", "10001000")
MOBILE_RX = re.compile(r"(?:09|9|989)([0-9]{9})")
UNKNOWN_SMS_ID = -2   # GetDeliveryLikeToLike result for an smsId never issued (our guess)

SEND_PARAMS = ["userName", "password", "fromNumber", "toNumbers", "messageContent", "isFlash"]
PARAMS = {
    "SendSMS": SEND_PARAMS,
    "SendSmsLikeToLike": ["userName", "password", "fromNumber", "toNumbers",
                          "messageContents", "isFlash"],
    "GetCredit": ["userName", "password"],
    "GetDelivery": ["userName", "password", "recId"],
    "GetDeliveryLikeToLike": ["userName", "password", "smsId"],
    "GetSenderNumbers": ["userName", "password"],
    "GetMessages": ["userName", "password", "messageType", "fromNumbers", "index", "count"],
    "GetInboxCount": ["userName", "password", "isRead"],
}
REF_PARAMS = {"SendSMS": ["recId", "status"]}
ARRAYS = {"toNumbers", "messageContents", "fromNumbers"}

INBOX = [
    {"MessageId": "501", "Sender": "989121112233", "Receiver": "30004505000017",
     "Content": "سلام <ok> & bye", "ActionDateTime": "2026-11-20T10:15:30.123"},
    {"MessageId": "502", "Sender": "09351234567", "Receiver": "30004505000017",
     "Content": "second", "ActionDateTime": "2026-11-21T08:00:00Z"},
]
# the rest of a MessageInfo (values made up; None is i:nil)
MESSAGE_INFO_REST = {
    "Cost": "0", "Count": "1", "Desc": None, "Flash": "false", "IsRead": "false",
    "Lang": "fa", "MessageType": "1", "MoneyIsRefunded": "false", "NotSent": "0",
    "Pages": "1", "SendMethod": "0", "SendStatus": "0", "Sent": "0", "Status": "0",
    "Tariff": "0", "Title": None, "UserId": "1234",
}


class Fault(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class MediaPayamak:
    name = "mediapayamak"
    prefixes = ("/SendService.svc",)

    def __init__(self, mock):
        self.mock = mock
        self.Reply = Reply
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.next_rec = 1000000001
            self.next_sms = 2000001
            self.recs = {}  # recId -> mobile
            self.ltl = {}   # SendSmsLikeToLike smsId -> [toNumbers], in send order

    # --- replies -------------------------------------------------------------
    def xml(self, status, text):
        return self.Reply(status, text.encode("utf-8"), "text/xml; charset=utf-8")

    def envelope(self, method, inner, switch):
        if switch == "prefix":
            inner = inner.replace("<a:", "<arr:").replace("</a:", "</arr:") \
                .replace("xmlns:a=", "xmlns:arr=")
            inner = re.sub(r"<(/?)(?=[A-Za-z])(?!arr:|b:|i:)", r"<\1t:", inner)
            return ('<soapenv:Envelope xmlns:soapenv="%s"><soapenv:Header/><soapenv:Body>'
                    '<t:%sResponse xmlns:t="%s">%s</t:%sResponse></soapenv:Body>'
                    '</soapenv:Envelope>' % (SOAP, method, TNS, inner, method))
        if switch == "ws":
            inner = re.sub(r">([^<>]+)</", lambda m: "><![CDATA[ %s ]]></" % m.group(1)
                           if not m.group(1).isspace() and "&" not in m.group(1)
                           else m.group(0), inner)
            inner = inner.replace("><", ">\n      <")
            return ('<?xml version="1.0" encoding="utf-8"?>\n<!-- MediaPayamak -->\n'
                    '<s:Envelope xmlns:s="%s">\n  <s:Body>\n    <%sResponse xmlns="%s">\n'
                    '      %s\n    </%sResponse>\n  </s:Body>\n</s:Envelope>\n'
                    % (SOAP, method, TNS, inner, method))
        if switch == "xxe":
            inner = re.sub(r"(<%sResult[^>]*>)" % method, r"\1&xxe;", inner, count=1)
            return ('<?xml version="1.0"?>\n<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM '
                    '"file:///etc/passwd">]>\n<s:Envelope xmlns:s="%s"><s:Body>'
                    '<%sResponse xmlns="%s">%s</%sResponse></s:Body></s:Envelope>'
                    % (SOAP, method, TNS, inner, method))
        return ('<s:Envelope xmlns:s="%s"><s:Body><%sResponse xmlns="%s">%s</%sResponse>'
                '</s:Body></s:Envelope>' % (SOAP, method, TNS, inner, method))

    def fault(self, code, message):
        return self.xml(500, (
            '<s:Envelope xmlns:s="%s"><s:Body><s:Fault>'
            '<faultcode xmlns:a="http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher">%s</faultcode>'
            '<faultstring xml:lang="en-US">%s</faultstring></s:Fault></s:Body></s:Envelope>'
            % (SOAP, escape(code), escape(message))))

    @staticmethod
    def array(name, tag, items, switch, ns="a"):
        if switch == "nil":
            return '<%s i:nil="true" xmlns:i="%s"/>' % (name, XSI)
        if switch == "empty" or not items:
            return '<%s xmlns:a="%s" xmlns:i="%s"/>' % (name, ARR, XSI)
        return '<%s xmlns:a="%s" xmlns:i="%s">%s</%s>' % (
            name, ARR, XSI, "".join("<a:%s>%s</a:%s>" % (tag, escape(str(v)), tag)
                                    for v in items), name)

    # --- dispatch --------------------------------------------------------------
    def handle(self, req):
        if req.path.rstrip("/").lower() != "/sendservice.svc":
            return self.Reply(404, b"", "text/html")
        if req.method != "POST":
            return self.Reply(405, b"", "text/html", headers={"Allow": "POST"})
        ctype = (req.headers.get("Content-Type") or "").replace(" ", "").lower()
        if ctype != "text/xml;charset=utf-8":
            return self.Reply(415, b"", "text/html")
        action = (req.headers.get("SOAPAction") or "").strip()
        m = re.fullmatch(r'"http://tempuri\.org/ISendService/([A-Za-z]+)"', action)
        if m is None or m.group(1) not in PARAMS:
            return self.fault("a:ActionNotSupported",
                              "The message with Action '%s' cannot be processed at the receiver"
                              % action.strip('"'))
        method = m.group(1)
        try:
            args = self.read(req.body, method)
            user = args["userName"]
            switch = ""
            if user.startswith(USER + "+"):
                switch = user[len(USER) + 1:]
                user = USER
            good = user == USER and args["password"] == PASSWORD
            if switch == "garbage":
                return self.Reply(200, b"<html>oops", "text/html")
            inner = getattr(self, "m_" + method)(args, good, switch)
            return self.xml(200, self.envelope(method, inner, switch))
        except Fault as f:
            return self.fault(f.code, f.message)

    def read(self, body, method):
        """Parse and check the request envelope; returns {param: value}."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            raise Fault("a:DeserializationFailed", "bad XML: %s" % e)
        if root.tag != "{%s}Envelope" % SOAP:
            raise Fault("s:VersionMismatch", "not a SOAP 1.1 envelope")
        bodies = [c for c in root if c.tag == "{%s}Body" % SOAP]
        if len(bodies) != 1 or len(bodies[0]) != 1:
            raise Fault("s:Client", "the envelope needs one Body with one operation")
        op = bodies[0][0]
        if op.tag != "{%s}%s" % (TNS, method):
            raise Fault("a:DeserializationFailed", "operation element %s does not match the action"
                        % op.tag)
        names = []
        args = {}
        for c in op:
            if not c.tag.startswith("{%s}" % TNS):
                raise Fault("a:DeserializationFailed", "element %s is not in %s" % (c.tag, TNS))
            name = c.tag[len(TNS) + 2:]
            names.append(name)
            if name in ARRAYS:
                items = []
                for it in c:
                    if it.tag != "{%s}string" % ARR:
                        raise Fault("a:DeserializationFailed",
                                    "%s must hold a:string items, not %s" % (name, it.tag))
                    items.append(it.text or "")
                args[name] = items
            else:
                args[name] = c.text or ""
        want = PARAMS[method]
        if names[:len(want)] != want or names[len(want):] not in ([], REF_PARAMS.get(method)):
            raise Fault("a:DeserializationFailed",
                        "expected parameters %s, got %s" % (",".join(want), ",".join(names)))
        return args

    # --- methods ------------------------------------------------------------------
    def send(self, method, args, good, switch, texts):
        if not good:
            code = 1
        elif switch.startswith("code"):
            code = int(switch[4:])
        elif args["fromNumber"] not in LINES:
            code = 3
        elif len(args["toNumbers"]) > 100:
            code = 5
        elif any("FILTERED" in t for t in texts):
            code = 7
        else:
            code = 0
        if args["isFlash"] not in ("true", "false"):
            raise Fault("a:DeserializationFailed", "isFlash must be a boolean")
        if not args["toNumbers"] or any(t == "" for t in texts):
            raise Fault("s:Client", "toNumbers and the message text must not be empty")
        if method == "SendSmsLikeToLike":
            sms_id = 0
            if code == 0:
                with self.lock:
                    sms_id = self.next_sms
                    self.next_sms += 1
                    self.ltl[sms_id] = list(args["toNumbers"])
            return ("<%sResult>%d</%sResult><smsId>%d</smsId>"
                    % (method, code, method, sms_id))
        ids, status = [], []
        if code == 0:
            with self.lock:
                for n in args["toNumbers"]:
                    ok = MOBILE_RX.fullmatch(n) is not None and switch != "allzero"
                    ids.append(self.next_rec if ok else 0)
                    status.append(1 if ok else 0)
                    if ok:
                        self.recs[self.next_rec] = n
                        self.next_rec += 1
        st = base64.b64encode(bytes(status)).decode("ascii")
        return ("<%sResult>%d</%sResult>%s<status>%s</status>"
                % (method, code, method, self.array("recId", "long", ids, switch if switch in ("empty", "nil") else ""), st))

    def m_SendSMS(self, args, good, switch):
        return self.send("SendSMS", args, good, switch, [args["messageContent"]])

    def m_SendSmsLikeToLike(self, args, good, switch):
        if len(args["messageContents"]) != len(args["toNumbers"]):
            raise Fault("s:Client", "messageContents and toNumbers differ in length")
        return self.send("SendSmsLikeToLike", args, good, switch, args["messageContents"])

    def m_GetCredit(self, args, good, switch):
        v = "-1" if not good else ("-2" if switch == "inactive" else "12345.5")
        return "<GetCreditResult>%s</GetCreditResult>" % v

    def m_GetDelivery(self, args, good, switch):
        if not good:
            raise Fault("s:Client", "invalid user name or password")
        try:
            rec = int(args["recId"])
        except ValueError:
            raise Fault("a:DeserializationFailed", "recId must be a long")
        if 8000000095 <= rec <= 8000000112:
            code = rec - 8000000100
        else:
            with self.lock:
                n = self.recs.get(rec)
            code = -2 if n is None else self.delivery_of(n)
        return "<GetDeliveryResult>%d</GetDeliveryResult>" % code

    @staticmethod
    def delivery_of(number):
        """The delivery code GetDelivery and GetDeliveryLikeToLike report for
        a number: its last digit, 7 -> 1 (delivered); 11 (not sent) for a
        number that is not a mobile."""
        if MOBILE_RX.fullmatch(number) is None:
            return 11
        return {"7": 1}.get(number[-1], int(number[-1]))

    def m_GetDeliveryLikeToLike(self, args, good, switch):
        if not good:
            raise Fault("s:Client", "invalid user name or password")
        if not re.fullmatch(r"-?[0-9]{1,10}", args["smsId"]) \
                or not -2 ** 31 <= int(args["smsId"]) < 2 ** 31:
            raise Fault("a:DeserializationFailed", "smsId must be an int")
        with self.lock:
            numbers = self.ltl.get(int(args["smsId"]))
        code = 0
        if numbers is None:
            code, numbers = UNKNOWN_SMS_ID, []
        arr_switch = switch if switch in ("empty", "nil") else ""
        return ("<GetDeliveryLikeToLikeResult>%d</GetDeliveryLikeToLikeResult>%s%s" % (
            code, self.array("numbers", "string", numbers, arr_switch),
            self.array("deliveryStatus", "int", [self.delivery_of(n) for n in numbers],
                       arr_switch)))

    def m_GetSenderNumbers(self, args, good, switch):
        if not good:
            raise Fault("s:Client", "invalid user name or password")
        if switch == "nil":
            return '<GetSenderNumbersResult i:nil="true" xmlns:i="%s"/>' % XSI
        if switch == "empty":
            return "<GetSenderNumbersResult/>"
        return "<GetSenderNumbersResult>%s</GetSenderNumbersResult>" % ",".join(LINES)

    def m_GetMessages(self, args, good, switch):
        if not good:
            raise Fault("s:Client", "invalid user name or password")
        if args["messageType"] not in ("1", "2"):
            raise Fault("s:Client", "messageType must be 1 or 2")
        count = int(args["count"])
        index = int(args["index"])
        if not 1 <= count <= 1000 or index < 1:
            raise Fault("s:Client", "index starts at 1, count is 1..1000")
        rows = [r for r in INBOX if not args["fromNumbers"] or r["Receiver"] in args["fromNumbers"]]
        rows = rows[index - 1:index - 1 + count]
        if switch == "nil":
            return '<GetMessagesResult i:nil="true" xmlns:i="%s"/>' % XSI
        if switch == "empty" or not rows:
            return '<GetMessagesResult xmlns:b="%s" xmlns:i="%s"/>' % (DC, XSI)
        def field(k, v):
            if v is None:
                return '<b:%s i:nil="true"/>' % k
            return "<b:%s>%s</b:%s>" % (k, escape(v), k)

        items = "".join(
            "<b:MessageInfo>%s</b:MessageInfo>" % "".join(
                field(k, v) for k, v in sorted(dict(MESSAGE_INFO_REST, **r).items(),
                                               key=lambda kv: kv[0].encode()))
            for r in rows)
        return '<GetMessagesResult xmlns:b="%s" xmlns:i="%s">%s</GetMessagesResult>' % (
            DC, XSI, items)

    def m_GetInboxCount(self, args, good, switch):
        return "<GetInboxCountResult>%d</GetInboxCountResult>" % (len(INBOX) if good else -1)
