"""Quick self-check of the mocks (scripts/test.sh runs it before the suites):
    python3 test/mock/selftest.py
Starts the mock in-process on a free port and checks the endpoints the C side
relies on whose shapes are not already pinned by test/sql (the smsafzar bulk
send and token, MediaPayamak GetDeliveryLikeToLike, sms.ir pack reports and
received messages).  Pure standard library; prints "selftest ok" or fails
with an AssertionError.
"""

import http.client
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import base  # noqa: E402
import legacy  # noqa: E402
import mediapayamak  # noqa: E402
import smsafzar  # noqa: E402
import smsir  # noqa: E402

PROVIDERS = (smsir.SmsIrV1, smsafzar.SmsAfzar, mediapayamak.MediaPayamak, legacy.SmsIrLegacy)


class Client:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, headers=None, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, data, h)
        r = c.getresponse()
        text = r.read().decode("utf-8")
        c.close()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


def check_smsafzar(c):
    key = {"X-Api-Key": "test-key"}
    st, b = c.call("POST", "/messages/send/bulk", {
        "senderNumbers": ["10001000"], "recipientNumbers": ["09121234567", "09121234562"],
        "contents": ["hi"], "sendTimestamp": int(time.time()) + 7200}, key)
    assert st == 200 and set(b) == {"batchId", "messages"}, (st, b)
    assert [m["recipientNumber"] for m in b["messages"]] == ["09121234567", "09121234562"]
    assert all(set(m) == {"sentMessageId", "senderNumber", "recipientNumber", "content",
                          "language", "operator", "parts", "cost", "messageStatus"}
               for m in b["messages"]), b
    ids = [m["sentMessageId"] for m in b["messages"]]
    st, _ = c.call("DELETE", "/messages/send/scheduled/" + b["batchId"], headers=key)
    assert st == 200
    st, s = c.call("POST", "/messages/status", {"sentMessageIdes": ids}, key)
    assert [m["messageStatus"] for m in s["messages"]] == [6, 6], s
    st, b = c.call("POST", "/messages/send/bulk", {
        "senderNumbers": ["10001000"], "recipientNumbers": ["09120000000"] * 101,
        "contents": ["x"]}, key)
    assert st == 400 and b["errorCode"] == 1001 and \
        b["validationErrors"][0]["field"] == "recipientNumbers", b
    st, b = c.call("POST", "/messages/send/bulk", {
        "senderNumbers": ["10001000"] * 2, "recipientNumbers": ["09120000000"] * 3,
        "contents": ["x"]}, key)
    assert st == 400 and b["errorCode"] == 1001, b

    cred = {"userName": "test-user", "password": "test-pass", "domain": "test-domain"}
    st, b = c.call("POST", "/auth/token", dict(cred, password="no"))
    assert st == 401 and b["errorCode"] == 401, b
    st, b = c.call("POST", "/auth/token", cred)
    assert st == 200 and b["expiresIn"] == 3600 and b["token"], b
    st, b2 = c.call("POST", "/auth/token", cred)
    assert b2["token"] != b["token"]
    bearer = {"Authorization": "Bearer " + b["token"]}
    assert c.call("GET", "/account/balance", headers=bearer)[0] == 200
    assert c.call("GET", "/account/balance",
                  headers={"Authorization": "Bearer test-bearer"})[0] == 200
    assert c.call("POST", "/__mock/smsafzar/expire_tokens")[0] == 200
    assert c.call("GET", "/account/balance", headers=bearer)[0] == 401

    assert c.call("GET", "/messages/received/recent", headers=key)[0] == 400
    assert c.call("GET", "/messages/received/recent?count=101", headers=key)[0] == 400
    assert c.call("POST", "/__mock/smsafzar/received",
                  {"receivedMessageId": "r-9", "senderNumber": "09121112222",
                   "recipientNumber": "10001000", "content": "12"})[0] == 200
    st, b = c.call("GET", "/messages/received/recent?count=1", headers=key)
    assert [m["receivedMessageId"] for m in b["messages"]] == ["r-9"], b
    st, b = c.call("GET", "/messages/received/recent?count=1", headers=key)
    assert st == 200 and len(b["messages"]) == 1, b


def soap(c, method, user, inner):
    body = ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            '<%s xmlns="http://tempuri.org/" xmlns:a="%s"><userName>%s</userName>'
            '<password>test-pass</password>%s</%s></s:Body></s:Envelope>'
            % (method, mediapayamak.ARR, user, inner, method))
    return c.call("POST", "/SendService.svc", raw=body.encode(), headers={
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://tempuri.org/ISendService/%s"' % method})


def check_mediapayamak(c):
    nums = ["09121234567", "09121234562", "09121234560"]
    st, x = soap(c, "SendSmsLikeToLike", "test-user",
                 "<fromNumber>30004505000017</fromNumber><toNumbers>%s</toNumbers>"
                 "<messageContents>%s</messageContents><isFlash>false</isFlash>" % (
                     "".join("<a:string>%s</a:string>" % n for n in nums),
                     "<a:string>t</a:string>" * 3))
    sms_id = re.search(r"<smsId>(\d+)</smsId>", x).group(1)
    st, x = soap(c, "GetDeliveryLikeToLike", "test-user", "<smsId>%s</smsId>" % sms_id)
    assert st == 200 and "<GetDeliveryLikeToLikeResult>0<" in x, x
    assert re.findall(r"<a:string>([^<]*)</a:string>", x) == nums, x
    assert re.findall(r"<a:int>([^<]*)</a:int>", x) == ["1", "2", "0"], x
    st, x = soap(c, "GetDeliveryLikeToLike", "test-user", "<smsId>1</smsId>")
    assert "<GetDeliveryLikeToLikeResult>-2<" in x and "<a:" not in x, x
    st, x = soap(c, "SendSMS", "test-user+code23",
                 "<fromNumber>30004505000017</fromNumber><toNumbers><a:string>09121234567"
                 "</a:string></toNumbers><messageContent>t</messageContent><isFlash>false</isFlash>")
    assert "<SendSMSResult>23<" in x, x


def check_smsir(c):
    key = {"X-API-KEY": "test-key"}
    st, b = c.call("POST", "/v1/send/bulk", {"lineNumber": 30004505000017, "messageText": "hi",
                                              "mobiles": ["09121234567", "09351234567"]}, key)
    assert st == 200 and b["status"] == 1, b
    pack, ids = b["data"]["packId"], b["data"]["messageIds"]
    c.call("POST", "/__mock/delivery", {"messageId": ids[1], "state": 2})
    st, b = c.call("GET", "/v1/send/pack/" + pack, headers=key)
    assert st == 200 and b["status"] == 1 and [r["messageId"] for r in b["data"]] == ids, b
    assert [r["deliveryState"] for r in b["data"]] == [1, 2], b
    assert all(set(r) == {"messageId", "mobile", "messageText", "sendDateTime", "lineNumber",
                          "cost", "deliveryState", "deliveryDateTime"} for r in b["data"]), b
    st, b = c.call("GET", "/v1/send/pack/00000000-0000-4000-8000-000000000099", headers=key)
    assert st == 400 and b["status"] == 111, b
    st, b = c.call("GET", "/v1/send/1", headers=key)
    assert st == 400 and b["status"] == 111, b
    st, b = c.call("DELETE", "/v1/send/scheduled/00000000-0000-4000-8000-000000000099",
                   headers=key)
    assert st == 400 and b["status"] == 112, b
    st, b = c.call("GET", "/v1/receive/latest?count=100", headers=key)
    assert len(b["data"]) == 3, b
    st, b = c.call("GET", "/v1/receive/latest?count=100", headers=key)
    assert b["data"] == [], b
    c.call("POST", "/__mock/inbox", {"messageText": "today"})
    for _ in range(2):
        st, b = c.call("GET", "/v1/receive/live", headers=key)
        assert [m["messageText"] for m in b["data"]] == ["today"], b


def check_smsir_receive(c, key):
    """receive/live and receive/archive as the sms.ir docs describe them:
    numbers for mobile and line, no id in live, pages, date windows."""
    c.call("POST", "/__mock/reset")
    now = int(time.time())
    for i in range(5):
        c.call("POST", "/__mock/inbox", {"mobile": "09121234567", "messageText": "t%d" % i,
                                         "receivedDateTime": now - 10 + i})
    c.call("POST", "/__mock/inbox", {"mobile": "989121234568", "messageText": "y",
                                     "receivedDateTime": now - 86400})
    st, b = c.call("GET", "/v1/receive/live?pageNumber=1&pageSize=2&sortByNewest=true", headers=key)
    assert st == 200 and [m["messageText"] for m in b["data"]] == ["t4", "t3"], b
    assert all(set(m) == {"messageText", "number", "mobile", "receivedDateTime"} for m in b["data"]), b
    assert b["data"][0]["mobile"] == 9121234567 and type(b["data"][0]["number"]) is int, b
    st, b = c.call("GET", "/v1/receive/live?pageNumber=3&pageSize=2&sortByNewest=true", headers=key)
    assert [m["messageText"] for m in b["data"]] == ["t0"], b
    st, b = c.call("GET", "/v1/receive/live?pageNumber=1&pageSize=2", headers=key)
    assert [m["messageText"] for m in b["data"]] == ["t0", "t1"], b   # oldest first by default
    st, b = c.call("GET", "/v1/receive/live?pageSize=101", headers=key)
    assert st == 400 and "errors" in b, b
    # the archive: days before today only, with receiveReturnId, in a window
    st, b = c.call("GET", "/v1/receive/archive?pageNumber=1&pageSize=100&fromDate=%d&toDate=%d"
                   % (now - 2 * 86400, now), headers=key)
    assert [m["messageText"] for m in b["data"]] == ["y"], b
    assert is_int(b["data"][0]["receiveReturnId"]) and b["data"][0]["mobile"] == 9121234568, b
    st, b = c.call("GET", "/v1/receive/archive?fromDate=%d" % (now - 3600), headers=key)
    assert b["data"] == [], b
    st, b = c.call("GET", "/v1/receive/archive?fromDate=x", headers=key)
    assert st == 400 and "errors" in b, b
    assert c.call("POST", "/__mock/inbox", [{"messageText": "b%d" % i, "receivedDateTime": now - 20}
                                            for i in range(2)])[0] == 200
    st, b = c.call("GET", "/v1/receive/live?pageNumber=1&pageSize=100", headers=key)
    assert [m["messageText"] for m in b["data"]][:2] == ["b0", "b1"], b
    # the first hours of a day: live lists yesterday's too (when the mock is told)
    c.call("POST", "/__mock/receive", {"liveIncludesYesterday": True})
    st, b = c.call("GET", "/v1/receive/live?pageSize=100", headers=key)
    assert [m["messageText"] for m in b["data"]][0] == "y" and len(b["data"]) == 8, b
    assert all("receiveReturnId" not in m for m in b["data"]), b
    # none of it consumed anything: /latest still has every message
    st, b = c.call("GET", "/v1/receive/latest?count=100", headers=key)
    assert len(b["data"]) == 11, b
    c.call("POST", "/__mock/reset")


def check_faults(c):
    """The chaos faults: a fault for a time window (for_ms) and refusing
    connections for a while (/__mock/refuse), then listening again."""
    key = {"X-API-KEY": "test-key"}
    verify = {"mobile": "09121234567", "templateId": 123456,
              "parameters": [{"name": "Code", "value": "1"}]}
    c.call("POST", "/__mock/reset")
    st, _ = c.call("POST", "/__mock/fault", {"match": "/v1/send/verify", "kind": "status",
                                             "status": 429, "count": -1, "for_ms": 300,
                                             "headers": {"Retry-After": "1"}})
    assert st == 200
    st, _ = c.call("POST", "/v1/send/verify", verify, key)
    assert st == 429, st
    time.sleep(0.35)
    st, _ = c.call("POST", "/v1/send/verify", verify, key)
    assert st == 200, st
    st, f = c.call("GET", "/__mock/fault")
    assert f == [], f
    st, b = c.call("POST", "/__mock/fault", {"kind": "delay", "for_ms": 0})
    assert st == 400 and "for_ms" in b["error"], b

    st, b = c.call("POST", "/__mock/refuse", {"ms": 0})
    assert st == 400, b
    # an idle keep-alive connection is shut too
    idle = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
    idle.request("GET", "/__mock/count")
    assert idle.getresponse().read()
    st, _ = c.call("POST", "/__mock/refuse", {"ms": 600})
    assert st == 200
    t0 = time.time()
    refused = False
    while time.time() < t0 + 5 and not refused:
        try:
            socket.create_connection(("127.0.0.1", c.port), timeout=1).close()
            time.sleep(0.02)
        except (ConnectionRefusedError, ConnectionResetError):
            refused = True
    assert refused, "connections still accepted"
    t_refused = time.time()
    try:
        idle.request("GET", "/__mock/count")
        idle.getresponse().read()
        raise AssertionError("the idle connection still answers")
    except (ConnectionError, http.client.HTTPException, OSError):
        pass
    idle.close()
    while time.time() < t_refused + 5:
        try:
            socket.create_connection(("127.0.0.1", c.port), timeout=1).close()
            break
        except (ConnectionRefusedError, ConnectionResetError):
            time.sleep(0.02)
    back = time.time() - t_refused
    assert 0.3 < back < 2, back
    st, _ = c.call("POST", "/v1/send/verify", verify, key)
    assert st == 200, st
    c.call("POST", "/__mock/reset")


def is_int(v):
    return type(v) is int


def main():
    mock = base.Mock("test-key", PROVIDERS)
    server = base.MockHTTPServer(("127.0.0.1", 0), base.Handler, mock, True)
    threading.Thread(target=server.run, kwargs={"poll_interval": 0.05}, daemon=True).start()
    c = Client(server.server_address[1])
    try:
        check_smsafzar(c)
        check_mediapayamak(c)
        check_smsir(c)
        st, log = c.call("GET", "/__mock/requests")
        paths = {e["path"] for e in log}
        assert {"/messages/send/bulk", "/auth/token", "/SendService.svc"} <= paths, paths
        check_smsir_receive(c, {"X-API-KEY": "test-key"})   # resets the mock
        check_faults(c)
    finally:
        server.stop()
        server.server_close()
    print("selftest ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
