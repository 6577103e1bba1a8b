#!/usr/bin/env python3
"""Write the hand-made seed inputs: corpus/{reply,json,mobile,quiet,inbound}/seed-*.

    python3 fuzz/gen_seeds.py        (from anywhere; rewrites only seed-* files)

Replies are taken from the sms.ir documentation (seeds/000) and from
test/mock/smsir.py, plus hostile shapes.  A reply seed is
<op char><status char><body> (see fuzz_reply.c):
  op:     0 bulk 1 like_to_like 2 verify 3 template 4 status 5 credit
          6 lines 7 cancel 8 raw
  status: a 200 b 201 c 204 d 400 e 401 f 403 g 404 h 429 i 500 j 502
          k 503 l 302 m 0
Files libFuzzer adds with `make merge` are named by their SHA-1 and are
left alone here.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OK = "موفق"
PACK = "2b99e63c-9bf8-4a21-9bfe-3f72dc1b46f1"
MSG = {
    0: "خطای سرور",
    10: "کلید وارد شده معتبر نمیباشد",
    20: "تعداد درخواست بیش از حد مجاز است",
    101: "شماره خط نامعتبر میباشد",
    102: "اعتبار کافی نمیباشد",
    103: "متن پیامک خالی میباشد",
    104: "شماره موبایل نامعتبر میباشد",
    105: "تعداد شماره موبایلها بیش از حد مجاز (100) میباشد",
    109: "زمان ارسال نامعتبر میباشد",
    110: "تعداد شماره موبایلها و متنهای پیامک باید برابر باشند",
    111: "شناسه ارسال نامعتبر میباشد",
    113: "قالب یافت نشد",
}
# The complete list of sms.ir reply status codes (SPEC, what the real API
# does): each as a send's error reply, with a placeholder message where the
# docs give none in Persian.
SMSIR_CODES = [0, 10, 11, 12, 13, 14, 15, 16, 20, 101, 102, 103, 104, 105, 106, 107, 108,
               109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 123, 124]
STATUS_CHAR = {200: "a", 201: "b", 204: "c", 400: "d", 401: "e", 403: "f", 404: "g",
               429: "h", 500: "i", 502: "j", 503: "k", 302: "l", 0: "m"}
OP_CHAR = {"bulk": "0", "l2l": "1", "verify": "2", "template": "3", "status": "4",
           "credit": "5", "lines": "6", "cancel": "7", "raw": "8", "inbox": "9",
           "contacts": ":"}


def j(obj, pretty=False):
    if pretty:
        return json.dumps(obj, ensure_ascii=False, indent=4)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def ok(data):
    return j({"status": 1, "message": OK, "data": data})


def biz(code, message=None):
    return j({"status": code, "message": message or MSG[code], "data": None})


def problem(errors, status=400):
    return j({"type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
              "title": "One or more validation errors occurred.", "status": status,
              "traceId": "00-%032x-%016x-00" % (1, 1), "errors": errors})


SEND = {"packId": PACK, "messageIds": [86522023, 86522024], "cost": 2.0}
VERIFY = {"messageId": 89545112, "cost": 1.0}


def report(state, **kw):
    r = {"messageId": 89545112, "mobile": "9121234567", "messageText": "کد تایید شما: 12345",
         "sendDateTime": 1700000000, "lineNumber": 30004505000017, "cost": 1.0,
         "deliveryState": state, "deliveryDateTime": 1700000001 if state else None}
    r.update(kw)
    return r


INBOX = [{"number": 30004505000017, "messageText": "سلام", "mobile": "989121111111",
          "receivedDateTime": 1700000000},
         {"number": 3000505, "messageText": "لغو 11", "mobile": "989123333333",
          "receivedDateTime": 1700000200}]

DEEP_ARR = "[" * 40 + "1" + "]" * 40
DEEP_OBJ = '{"data":' * 40 + "1" + "}" * 40
HTML = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\r\n"

REPLIES = {
    # --- success envelopes, one (or more) per operation ---
    "bulk-ok": ("bulk", 200, ok(SEND)),
    "bulk-ok-doc": ("bulk", 200, j({"status": 1, "message": OK, "data": SEND}, pretty=True)),
    "bulk-ok-scheduled-null-cost": ("bulk", 200, ok({"packId": PACK, "messageIds": [1], "cost": None})),
    "bulk-ok-string-ids": ("bulk", 201, ok({"packId": PACK, "messageIds": ["86522023"], "cost": "2.0"})),
    "l2l-ok": ("l2l", 200, ok(SEND)),
    "l2l-ok-case": ("l2l", 200, '{"Status":1,"Message":"ok","Data":{"PackId":"%s","MessageIds":[86522023],"Cost":1}}' % PACK),
    "verify-ok": ("verify", 200, ok(VERIFY)),
    "verify-ok-doc": ("verify", 200, j({"status": 1, "message": OK, "data": VERIFY}, pretty=True)),
    "template-ok": ("template", 200, ok({"messageId": 89545113, "cost": 1.0})),
    "status-delivered": ("status", 200, ok(report(1))),
    "status-failed": ("status", 200, ok(report(2))),
    "status-at-operator": ("status", 200, ok(report(3, mobile="+989121234567"))),
    "status-blacklist": ("status", 200, ok(report(7, mobile="not a mobile"))),
    "status-queued-null": ("status", 200, ok(report(None))),
    "status-unknown-state": ("status", 200, ok(report(99))),
    "status-string-state": ("status", 200, ok(report("5", messageId=None))),
    "credit-ok": ("credit", 200, ok(10000.0)),
    "credit-int": ("credit", 200, ok(10000)),
    "credit-string": ("credit", 200, ok("10000")),
    "lines-ok": ("lines", 200, ok([30004505000017, 3000505])),
    "lines-empty": ("lines", 200, ok([])),
    "cancel-ok": ("cancel", 200, ok({"returnedCreditCount": 2.0, "smsCount": 2})),
    "cancel-204": ("cancel", 204, ""),
    "raw-inbox": ("raw", 200, ok(INBOX)),
    "raw-scalar": ("raw", 200, "42"),
    "raw-bare-true": ("raw", 200, "true"),
    "raw-bare-false-cr": ("raw", 200, "false\r"),
    "raw-string-escapes": ("raw", 200, '{"a":"\\u0627\\n\\t\\"\\\\\\/","b":"\\ud83d\\ude00"}'),
    # --- envelope errors ---
    "bulk-401-bad-key": ("bulk", 401, biz(10)),
    "verify-400-101": ("verify", 400, biz(101)),
    "bulk-400-102-credit": ("bulk", 400, biz(102)),
    "bulk-400-103": ("bulk", 400, biz(103)),
    "bulk-400-104": ("bulk", 400, biz(104, MSG[104] + ": 0912")),
    "bulk-400-105": ("bulk", 400, biz(105)),
    "bulk-400-109": ("bulk", 400, biz(109)),
    "l2l-400-110": ("l2l", 400, biz(110)),
    "status-400-111": ("status", 400, biz(111)),
    "cancel-400-111": ("cancel", 400, biz(111)),
    "verify-400-113": ("verify", 400, biz(113)),
    "verify-429-20": ("verify", 429, biz(20)),
    "credit-500-0": ("credit", 500, biz(0)),
    "verify-503-10": ("verify", 503, biz(10)),
    "bulk-200-102": ("bulk", 200, biz(102)),
    "bulk-200-unknown-code": ("bulk", 200, j({"status": 777, "message": None, "data": None})),
    "bulk-403-no-message": ("bulk", 403, '{"status":12}'),
    "bulk-200-string-status": ("bulk", 200, j({"status": "1", "message": OK, "data": SEND})),
    "bulk-200-no-status": ("bulk", 200, j({"message": OK, "data": SEND})),
    "bulk-200-neg-status": ("bulk", 200, '{"status":-9223372036854775808,"message":"x"}'),
    # --- ProblemDetails ---
    "verify-400-problem": ("verify", 400, problem({"$.parameters[0].value": ["max length 25"],
                                                   "$.mobile": ["The mobile field is required."]})),
    "bulk-400-problem-ctype": ("bulk", 400, problem({"Content-Type": ["Unsupported Content-Type ''; expected application/json."]})),
    "status-400-problem-id": ("status", 400, problem({"messageId": ["The value 'abc' is not valid."]})),
    "raw-404-notfound": ("raw", 404, '{"status":404,"title":"Not Found"}'),
    "raw-400-405": ("raw", 400, '{"status":405,"title":"Method Not Allowed"}'),
    "bulk-400-problem-odd": ("bulk", 400, '{"title":{"x":1},"errors":{"a":[null,1,true,{"b":2},"m"],"b":"not an array","":[]}}'),
    "bulk-400-problem-errors-array": ("bulk", 400, '{"title":"t","errors":["x","y"]}'),
    "bulk-400-problem-only-errors": ("bulk", 400, '{"ERRORS":{"lineNumber":["The JSON value could not be converted to System.Int64. Path: $.lineNumber"]}}'),
    # --- garbage, truncation, transport-ish ---
    "bulk-502-html": ("bulk", 502, HTML),
    "bulk-200-html": ("bulk", 200, HTML),
    "raw-302-html": ("raw", 302, "<html><body>Moved</body></html>"),
    "credit-0-empty": ("credit", 0, ""),
    "credit-200-empty": ("credit", 200, ""),
    "bulk-200-truncated": ("bulk", 200, ok(SEND)[:60]),
    "verify-200-truncated-number": ("verify", 200, '{"status":1,"data":{"messageId":8954'),
    "credit-200-bare-number-truncated": ("credit", 200, "1000"),
    "bulk-200-trailing-garbage": ("bulk", 200, ok(SEND) + "xyz"),
    "bulk-200-trailing-space": ("bulk", 200, ok(SEND) + " \r\n\t"),
    "bulk-200-embedded-nul": ("bulk", 200, ok(SEND)[:20] + "\0" + ok(SEND)[20:]),
    "bulk-200-bom": ("bulk", 200, "\ufeff" + ok(SEND)),
    "raw-200-nonstrict": ("raw", 200, "{'a':[1,2,],/*c*/\"b\":TRUE,}"),
    "raw-200-nan": ("raw", 200, '{"a":NaN,"b":Infinity,"c":-Infinity,"d":1.}'),
    "raw-200-nul-escape": ("raw", 200, '{"a":"x\\u0000y"}'),
    "raw-200-lone-surrogate": ("raw", 200, '["\\ud800","\\udc00x"]'),
    "raw-200-invalid-utf8": ("raw", 200, '["\udcff\udcfe", "\udcc3"]'),  # raw bytes ff fe, c3
    # --- huge numbers ---
    "bulk-200-huge-status": ("bulk", 200, '{"status":99999999999999999999,"data":null}'),
    "bulk-200-huge-cost": ("bulk", 200, '{"status":1,"data":{"packId":"p","messageIds":[18446744073709551616,-99999999999999999999],"cost":1.5e1000000}}'),
    "verify-200-cost-1e400": ("verify", 200, '{"status":1,"data":{"messageId":1e400,"cost":1e400}}'),
    "credit-200-huge": ("credit", 200, '{"status":1,"data":1e999999}'),
    "credit-200-neg-zero": ("credit", 200, '{"status":1,"data":-0.0e-0}'),
    "credit-200-string-cost": ("verify", 200, '{"status":1,"data":{"messageId":5,"cost":"abc"}}'),
    # --- nesting and nulls ---
    "raw-200-deep-array": ("raw", 200, DEEP_ARR),
    "status-200-deep-object": ("status", 200, '{"status":1,"data":' + DEEP_OBJ + "}"),
    "lines-200-deep-ok": ("lines", 200, '{"status":1,"data":' + "[" * 31 + "]" * 31 + "}"),
    "bulk-200-null-in-ids": ("bulk", 200, ok({"packId": PACK, "messageIds": [1, None, 3], "cost": 2})),
    "lines-200-null-in-lines": ("lines", 200, ok([30004505000017, None])),
    "lines-200-object-in-lines": ("lines", 200, ok([{"a": 1}, 3000505])),
    "bulk-200-ids-not-array": ("bulk", 200, ok({"packId": PACK, "messageIds": 1})),
    "bulk-200-pack-object": ("bulk", 200, ok({"packId": {}, "messageIds": []})),
    "status-200-data-array": ("status", 200, ok([report(1), report(2)])),
    "status-200-data-null": ("status", 200, ok(None)),
    "credit-200-data-null": ("credit", 200, ok(None)),
    "verify-200-dup-keys": ("verify", 200, '{"status":1,"status":2,"data":{"messageId":1,"MESSAGEID":2}}'),
    "raw-200-big-array": ("raw", 200, "[" + ",".join(str(i) for i in range(2000)) + "]"),
}

# every documented code as an error reply; delivery states 1..8 in one
# pack report (GET /v1/send/pack/{packId}); received messages from
# receive/live (no receiveReturnId) and receive/archive (with it)
for _code in SMSIR_CODES:
    REPLIES["smsir-code-%d" % _code] = (
        "bulk", 400 if _code else 500, biz(_code, MSG.get(_code, "خطا %d" % _code)))
REPLIES["smsir-cancel-112"] = ("cancel", 400, biz(112, "موردی برای حذف یافت نشد"))
REPLIES["smsir-pack-reports"] = ("status", 200, ok([report(s, messageId=89545112 + s)
                                                    for s in range(1, 9)]))
REPLIES["smsir-receive-live"] = ("inbox", 200, ok([
    {"messageText": "لغو 11", "number": 30004505000017, "mobile": 9121234567,
     "receivedDateTime": 1700000000},
    {"messageText": "‏۱۱‎", "number": 3000505, "mobile": 989123333333,
     "receivedDateTime": 1700000300}]))
REPLIES["smsir-receive-archive"] = ("inbox", 200, ok([
    {"receiveReturnId": 4470088, "messageText": "عضویت12", "number": 30004505000017,
     "mobile": 9121234567, "receivedDateTime": 1699990000}]))

# sms_ir.quiet_hours / quiet_hours_end() texts (fuzz_quiet)
QUIET = ["22:00-08:00", "13:00-14:00", "", "   ", " 22:00 - 08:00 ", "22:00-24:00",
         "00:00-24:00", "22:00-22:00", "25:00-08:00", "22:00", "-", "22:00-08:00-",
         "9:05-10:00", "22:60-08:00", "24:01-08:00", "2200-0800", "22:00-8:00",
         "00:00-00:01", "23:59-00:00"]

# received SMS texts (fuzz_inbound): the keywords as phones type them
INBOUND = ["11", "12", "لغو11", "لغو ۱۱", "لغو ١١", " لغو  11 ", "لغو\u200c11",
           "\u200f11\u200e", "\u202bلغو 11\u202c", "عضویت12", "عضويت ١٢",
           "\u0639\u0636\u0648\u06cc\u200c\u062a 12", "\u0639\u0636\u0648\u0649\u062a12",
           "111", "11 لغو", "لطفا لغو 11", "\u3000\u200b11\ufeff", "\t11\n",
           "\u0644\u0640\u063a\u0648 11", "", "1" * 70, "سلام", "\u06f1\u06f2"]
INBOUND_BYTES = {"invalid-utf8": b"\xd9\x8411\xff", "truncated-utf8": b"11\xd9",
                 "overlong": b"\xc0\xb11"}

JSON_EXTRA = {
    "empty-object": "{}",
    "empty-array": "[]",
    "literals": "[true,false,null]",
    "bare-true": "true",
    "bare-true-cr": "true\r",   # found by fuzz_json: accepted, but "true" was not
    "bare-null": "null",
    "numbers": "[0,-0,1.5,-1e-7,1E+2,9223372036854775807,-9223372036854775808]",
    "string-int": '{"status":" 1","x":"1 ","y":"+1","z":"0x1","w":"99999999999999999999"}',
    "unicode-keys": '{"\\u0645":1,"status":{"STATUS":2}}',
    "deep-32": "[" * 32 + "]" * 32,
    "deep-33": "[" * 33 + "]" * 33,
    "long-string": '"' + "a" * 5000 + '"',
}

MOBILES = ["09121234567", "9121234567", "989121234567", "+989121234567", "00989121234567",
           "0912 123 4567", "0912-123-4567", "+98 912 123 4567", " \t-09121234567- ",
           "+98-912-123-4567", "0098 9121234567", "98912345678", "9891234567",
           "+9121234567", "+0989121234567", "++989121234567", "0919xxxx904", "1000xxxx",
           "00981000123", "+981000123", "981000123", "09100000000", "12345", "", "+", "+98",
           "0" * 40, "9" * 31, "۰۹۱۲۱۲۳۴۵۶۷", "0912123456\x00 7",
           # Persian / Arabic-Indic digits, mixed with ASCII, short, a look-alike, truncated
           "٠٩١٢١٢٣٤٥٦٧", "+۹۸ 912 ۱۲۳-٤٥٦٧", "۰۹۱۲۱۲۳۴۵۶", "\u06fa9121234567",
           "00۹۸۹۱۲۱۲۳۴۵۶۷", "09121234\udcdb", "0912123456\udcd9\udca9"]


def write(dirname, name, data):
    d = os.path.join(HERE, "corpus", dirname)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def main():
    for d in ("reply", "json", "mobile", "quiet", "inbound"):
        p = os.path.join(HERE, "corpus", d)
        if os.path.isdir(p):
            for f in os.listdir(p):
                if f.startswith("seed-"):
                    os.unlink(os.path.join(p, f))
    bodies = {}
    for name, (op, status, body) in REPLIES.items():
        write("reply", name, OP_CHAR[op] + STATUS_CHAR[status] + body)
        if body:
            bodies.setdefault(body, name)
    for body, name in bodies.items():
        write("json", name, body)
    for name, text in JSON_EXTRA.items():
        write("json", name, text)
    for i, m in enumerate(MOBILES):
        write("mobile", "%02d" % i, m)
    for i, t in enumerate(QUIET):
        write("quiet", "%02d" % i, t)
    for i, t in enumerate(INBOUND):
        write("inbound", "%02d" % i, t)
    for name, b in INBOUND_BYTES.items():
        write("inbound", name, b)


if __name__ == "__main__":
    main()
