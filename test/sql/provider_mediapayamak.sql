--
-- provider_mediapayamak: every SQL function on the MediaPayamak SOAP provider
-- (seed 002) against the mock (test/mock/mediapayamak.py).  After the reset,
-- recIds are 1000000001 upwards.  The user name "test-user+<switch>" makes the
-- mock return a result code (codeN) or an odd but valid XML reply (prefix,
-- ws, empty, nil), or a bad one (xxe, garbage).
--
\set SHOW_CONTEXT never

-- sms_api is JSON-only and not available on mediapayamak: the helpers reach
-- the mock's control API through the smsir provider.
-- The mock's root URL; sms_ir.base_url points at the service below it.
SELECT set_config('sms_test.root', current_setting('sms_ir.base_url'), false) IS NOT NULL AS root_set;

-- mp_api(method, path, body): sms_api on the smsir provider at the mock's
-- root (the SET clauses restore both settings on return)
CREATE FUNCTION sms_test.mp_api(m text, p text, b jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SET sms_ir.provider = 'smsir' SET sms_ir.base_url = '' AS
$$
BEGIN
  PERFORM set_config('sms_ir.base_url', current_setting('sms_test.root'), true);
  RETURN sms_ir.sms_api(m, p, b);
END
$$;

CREATE FUNCTION sms_test.mp_reset() RETURNS boolean
LANGUAGE sql AS
$$ SELECT (sms_test.mp_api('POST', '/__mock/reset') ->> 'ok')::boolean $$;

-- the last n requests: SOAPAction, Content-Type, the body (password masked)
CREATE FUNCTION sms_test.mp_requests(n int DEFAULT 1)
RETURNS TABLE(method text, path text, soapaction text, content_type text, body text,
              reply_status int)
LANGUAGE sql AS
$$
SELECT e ->> 'method', e ->> 'path', e -> 'headers' ->> 'soapaction',
       e -> 'headers' ->> 'content-type', replace(e ->> 'body', 'test-pass', '***'),
       (e ->> 'reply_status')::int
  FROM jsonb_array_elements(sms_test.mp_api('GET', '/__mock/requests?last=' || n))
       WITH ORDINALITY AS r(e, i)
 ORDER BY i
$$;

CREATE FUNCTION sms_test.mp_fault(spec jsonb) RETURNS boolean
LANGUAGE sql AS
$$ SELECT (sms_test.mp_api('POST', '/__mock/fault', spec) ->> 'ok')::boolean $$;

-- mp_try_user(user, sql): sql run with sms_ir.username = user
CREATE FUNCTION sms_test.mp_try_user(u text, sql text) RETURNS text
LANGUAGE plpgsql AS
$$
BEGIN
  PERFORM set_config('sms_ir.username', u, true);
  RETURN sms_test.try(sql);
END
$$;

SET sms_ir.provider = 'mediapayamak';
SHOW sms_ir.provider;
SELECT set_config('sms_ir.base_url', current_setting('sms_test.root') || '/SendService.svc', false)
       LIKE 'http://127.0.0.1:%/SendService.svc' AS base_url_set;

-- no credentials: 28000 before any request
SELECT sms_test.mp_reset();
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SET sms_ir.username = 'test-user';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SET sms_ir.password = 'test-pass';
SELECT count(*) AS requests FROM sms_test.mp_requests(10);

------------------------------------------------------------------------
-- sms_send_bulk -> SendSMS
------------------------------------------------------------------------

-- pack id = first recId, message ids = recId long[], no cost
SELECT * FROM sms_ir.sms_send_bulk('Hello <b> & "you"', ARRAY['09121234567', '+989351234560']);

-- the request: POST to the service URL, SOAP 1.1 headers, every value
-- escaped by libxml2, numbers as a:string items in 09 form, sender from
-- sms_ir.line_number, WCF's empty ref parameters
SELECT method, path, soapaction, content_type, reply_status FROM sms_test.mp_requests();
SELECT body FROM sms_test.mp_requests();

-- an explicit line number
SELECT pack_id FROM sms_ir.sms_send_bulk('x', ARRAY['9121000001'], '10001000');
SELECT position('<fromNumber>10001000</fromNumber>' IN body) > 0 AS from_ok,
       position('<a:string>09121000001</a:string>' IN body) > 0 AS to_ok
  FROM sms_test.mp_requests();

-- 150 numbers: two SendSMS calls of 100 and 50
SELECT pack_id, cardinality(message_ids) AS ids, cost
  FROM sms_ir.sms_send_bulk('many', ARRAY(SELECT '0912' || lpad(g::text, 7, '0')
                                           FROM generate_series(1, 150) g));
SELECT (SELECT count(*) FROM regexp_matches(body, '<a:string>', 'g')) AS numbers
  FROM sms_test.mp_requests(2);

-- send_at: SendSMS has no send time
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'], NULL, '2099-01-01 00:00:00+00')$$);

-- every SendSMS result code the seed lists
SELECT n, sms_test.mp_try_user('test-user+code' || n,
         $$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'])$$) AS result
  FROM generate_series(1, 11) n;
-- DETAIL keeps the code, HINT says what to do
SET sms_ir.username = 'test-user+code8';
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'])$$);
SET sms_ir.username = 'test-user+code9';
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'])$$);
SET sms_ir.username = 'test-user';

-- the mock's own checks: a wrong password (1), a sender not in the account
-- (3), filtered words (7), no number accepted (every status byte 0)
SET sms_ir.password = 'wrong';
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'])$$);
SET sms_ir.password = 'test-pass';
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'], '5555')$$);
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_bulk('FILTERED words', ARRAY['09121234567'])$$);
SELECT sms_test.mp_try_user('test-user+allzero',
         $$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'])$$);

-- odd but valid XML: other prefixes and a Header; indentation, comments and CDATA
SELECT sms_test.mp_reset();
SET sms_ir.username = 'test-user+prefix';
SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567', '09121234568']);
SET sms_ir.username = 'test-user+ws';
SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567']);
-- an empty recId array for one number is a bad reply
SET sms_ir.username = 'test-user+empty';
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'])$$);
SET sms_ir.username = 'test-user+garbage';
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'])$$);
SET sms_ir.username = 'test-user';

------------------------------------------------------------------------
-- sms_send_like_to_like -> SendSmsLikeToLike
------------------------------------------------------------------------
-- the reply is the result code and ONE smsId for the whole send (WSDL): the
-- pack id is the smsId, message_ids is empty (an smsId is not a recId)
SELECT sms_test.mp_reset();
SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['one', 'two'], ARRAY['09121234567', '09351234561']);
SELECT soapaction,
       position('<messageContents xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><a:string>one</a:string><a:string>two</a:string></messageContents>' IN body) > 0 AS contents_ok,
       position('<messageContent>' IN body) = 0 AS no_single_content,
       position('<recId' IN body) = 0 AND position('<status' IN body) = 0 AS no_send_sms_ref_params
  FROM sms_test.mp_requests();
SELECT pack_id, message_ids FROM sms_ir.sms_send_like_to_like(ARRAY['three'], ARRAY['09121234567']);
SELECT count(*) AS requests FROM sms_test.mp_requests(10);
-- a result code: no smsId needed
SELECT sms_test.mp_try_user('test-user+code7',
         $$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['x'], ARRAY['09121234567'])$$);
-- a success without an smsId is a bad reply
SELECT sms_test.mp_fault('{"match": "/SendService.svc", "kind": "status", "status": 200, "count": 1, "body": "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><SendSmsLikeToLikeResponse xmlns=\"http://tempuri.org/\"><SendSmsLikeToLikeResult>0</SendSmsLikeToLikeResult></SendSmsLikeToLikeResponse></s:Body></s:Envelope>"}');
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['x'], ARRAY['09121234567'])$$);

------------------------------------------------------------------------
-- sms_delivery_status -> GetDelivery(recId)
------------------------------------------------------------------------
-- recIds 1000000001 and 1000000002 (a like-to-like send has none)
SELECT pack_id, message_ids FROM sms_ir.sms_send_bulk('for delivery', ARRAY['09121234567', '09351234561']);
SELECT * FROM sms_ir.sms_delivery_status('1000000001');
SELECT soapaction, position('<recId>1000000001</recId>' IN body) > 0 AS rec_id_ok
  FROM sms_test.mp_requests();
SELECT * FROM sms_ir.sms_delivery_status(ARRAY['1000000001', '1000000002']);
-- every delivery code of the seed (the mock reports code recId - 8000000100)
SELECT * FROM sms_ir.sms_delivery_status(ARRAY(
  SELECT (8000000100 + c)::text FROM unnest(ARRAY[-5, -4, -3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) c));
-- -2: no such message; -1: error reaching the operator (transient)
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_delivery_status('8000000098')$$);
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_delivery_status('8000000099')$$);
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_delivery_status('1234567')$$);
-- a recId is a number
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_delivery_status('abc')$$);
-- bad credentials: the service's SOAP fault
SET sms_ir.password = 'wrong';
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_delivery_status('1000000001')$$);
SET sms_ir.password = 'test-pass';

------------------------------------------------------------------------
-- sms_credit -> GetCredit
------------------------------------------------------------------------
SELECT sms_ir.sms_credit();
SELECT soapaction, body FROM sms_test.mp_requests();
SET sms_ir.password = 'wrong';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SET sms_ir.password = 'test-pass';
SET sms_ir.username = 'test-user+inactive';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SET sms_ir.username = 'test-user+prefix';
SELECT sms_ir.sms_credit();
SET sms_ir.username = 'test-user+ws';
SELECT sms_ir.sms_credit();
-- an external entity in a reply is never expanded: a DOCTYPE is refused
SET sms_ir.username = 'test-user+xxe';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SET sms_ir.username = 'test-user';

------------------------------------------------------------------------
-- sms_lines -> GetSenderNumbers
------------------------------------------------------------------------
SELECT * FROM sms_ir.sms_lines();
SELECT soapaction, position('<GetSenderNumbers xmlns="http://tempuri.org/">' IN body) > 0 AS op_ok
  FROM sms_test.mp_requests();
SET sms_ir.username = 'test-user+prefix';
SELECT * FROM sms_ir.sms_lines();
SET sms_ir.username = 'test-user+ws';
SELECT * FROM sms_ir.sms_lines();
SET sms_ir.username = 'test-user+empty';
SELECT count(*) FROM sms_ir.sms_lines();
SET sms_ir.username = 'test-user+nil';
SELECT count(*) FROM sms_ir.sms_lines();
SET sms_ir.username = 'test-user';
-- the result is ONE string: commas, semicolons and whitespace separate lines
SELECT sms_test.mp_fault('{"match": "/SendService.svc", "kind": "status", "status": 200, "count": 1, "body": "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><GetSenderNumbersResponse xmlns=\"http://tempuri.org/\"><GetSenderNumbersResult> 30004505000017;10001000\n 2000 ,, 3000 </GetSenderNumbersResult></GetSenderNumbersResponse></s:Body></s:Envelope>"}');
SELECT * FROM sms_ir.sms_lines();
-- "-1": bad credentials
SELECT sms_test.mp_fault('{"match": "/SendService.svc", "kind": "status", "status": 200, "count": 1, "body": "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><GetSenderNumbersResponse xmlns=\"http://tempuri.org/\"><GetSenderNumbersResult>-1</GetSenderNumbersResult></GetSenderNumbersResponse></s:Body></s:Envelope>"}');
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_lines()$$);

------------------------------------------------------------------------
-- sms_inbox -> GetMessages(messageType 1)
------------------------------------------------------------------------
-- MessageInfo: MessageId, Sender, Receiver, Content, ActionDateTime (an
-- ActionDateTime without an offset is Tehran time, +03:30)
SET TimeZone = 'UTC';
SELECT * FROM sms_ir.sms_inbox();
RESET TimeZone;
SELECT soapaction,
       position('<messageType>1</messageType><fromNumbers xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays"><a:string>30004505000017</a:string></fromNumbers><index>1</index><count>100</count>' IN body) > 0 AS args_ok
  FROM sms_test.mp_requests();
-- without sms_ir.line_number: an empty fromNumbers array (every line)
SET sms_ir.line_number = '';
SELECT count(*) FROM sms_ir.sms_inbox();
SELECT position('<fromNumbers xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays"/>' IN body) > 0 AS empty_array_ok
  FROM sms_test.mp_requests();
-- a send without any sender is refused before any request
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121234567'])$$);
RESET sms_ir.line_number;
SELECT provider_id FROM sms_ir.sms_inbox(1);
SELECT position('<count>1</count>' IN body) > 0 AS count_ok FROM sms_test.mp_requests();
SET sms_ir.username = 'test-user+prefix';
SELECT sender, message FROM sms_ir.sms_inbox();
SET sms_ir.username = 'test-user+ws';
SELECT received_at, sender, message FROM sms_ir.sms_inbox();
SET sms_ir.username = 'test-user+empty';
SELECT count(*) FROM sms_ir.sms_inbox();
SET sms_ir.username = 'test-user+nil';
SELECT count(*) FROM sms_ir.sms_inbox();
SET sms_ir.username = 'test-user';

------------------------------------------------------------------------
-- not available on MediaPayamak: feature_not_supported with a hint
------------------------------------------------------------------------
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_verify('09121234567', 100000, '{"code": "1"}')$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'tpl')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_cancel_scheduled('1000000001')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_api('GET', '/GetInboxCount')$$);

------------------------------------------------------------------------
-- transport: faults of the mock's fault API, garbage, SOAP faults
------------------------------------------------------------------------
SELECT sms_test.mp_reset();
SELECT sms_test.mp_fault('{"match": "/SendService.svc", "kind": "status", "status": 500}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.mp_fault('{"match": "/SendService.svc", "kind": "garbage", "body": "<s:Envelope><unclosed>"}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.mp_fault('{"match": "/SendService.svc", "kind": "garbage", "body": "<a xmlns=\"urn:x\">not soap</a>"}');
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
-- a client fault (will not get better) and a server fault
SELECT sms_test.mp_fault('{"match": "/SendService.svc", "kind": "status", "status": 500, "body": "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>bad request</faultstring></s:Fault></s:Body></s:Envelope>"}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.mp_fault('{"match": "/SendService.svc", "kind": "status", "status": 500, "body": "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>down</faultstring></soap:Fault></soap:Body></soap:Envelope>"}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_ir.sms_credit();

------------------------------------------------------------------------
-- the credentials are secrets: hidden from a non-superuser
------------------------------------------------------------------------
CREATE ROLE sms_mp_reader NOLOGIN;
SET ROLE sms_mp_reader;
SELECT sms_test.try('SHOW sms_ir.username');
SELECT sms_test.try('SHOW sms_ir.password');
SELECT sms_test.try($$SELECT set_config('sms_ir.password', 'x', false)$$);
SELECT count(*) AS visible_rows FROM pg_settings
 WHERE name IN ('sms_ir.username', 'sms_ir.password');
RESET ROLE;
DROP ROLE sms_mp_reader;
-- a superuser can read them
SELECT current_setting('sms_ir.username') AS username;

RESET sms_ir.username;
RESET sms_ir.password;
RESET sms_ir.base_url;
RESET sms_ir.provider;
SHOW sms_ir.provider;
