--
-- provider_smsafzar: every SQL function on the smsafzar provider (seed 001)
-- against the mock (test/mock/smsafzar.py).  After the reset, batch ids are
-- 00000000-0000-4000-a000-000000000001 upwards and message ids
-- 00000000-0000-4000-b000-000000000001 upwards; every part costs "1,800".
--
\set SHOW_CONTEXT never
SET sms_ir.provider = 'smsafzar';
SHOW sms_ir.provider;
SELECT sms_ir.sms_api('POST', '/__mock/reset');

------------------------------------------------------------------------
-- sms_send_template
------------------------------------------------------------------------

-- the seed's example: batch id, message id, status of messageStatus 1,
-- parts "1" -> 1 and cost "1,800" -> 1800
SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE',
  '{"code": "123456", "price": "1,000,000"}');

-- POST /messages/send/template: sender from sms_ir.line_number, the
-- recipient as 09..., templateId a JSON string, parameters [{name, value}]
SELECT method, path, body FROM sms_test.requests();
SELECT jsonb_typeof(body -> 'senderNumber') AS sender_type,
       jsonb_typeof(body -> 'recipientNumber') AS recipient_type,
       jsonb_typeof(body -> 'templateId') AS template_id_type,
       jsonb_typeof(body -> 'parameters') AS parameters_type,
       body ? 'sendTimestamp' AS has_send_timestamp
  FROM sms_test.requests();

-- auth: the key in X-Api-Key, no Authorization header; JSON both ways
SELECT r -> 'headers' ->> 'x-api-key' = 'test-key' AS api_key_header_ok,
       r -> 'headers' ? 'authorization' AS has_authorization,
       position('test-key' IN (r -> 'body')::text) = 0 AS key_not_in_body,
       r -> 'headers' ->> 'content-type' AS content_type,
       r -> 'headers' ->> 'accept' AS accept,
       r ->> 'reply_status' AS reply_status
  FROM sms_test.last_request() AS r;

-- an explicit sender in another documented form, the recipient in any
-- accepted form, parameters as an array, 100 characters accepted
SELECT batch_id, message_id, status, parts, cost
  FROM sms_ir.sms_send_template('+989121234567', '123456',
    jsonb_build_array(jsonb_build_object('name', 'Code', 'value', repeat('ک', 100))),
    '9810001000');
SELECT body -> 'senderNumber' AS sender, body -> 'recipientNumber' AS recipient,
       length(body -> 'parameters' -> 0 ->> 'value') AS value_length
  FROM sms_test.requests();

-- send_at: sendTimestamp in unix seconds; a scheduled message is messageStatus 0
SELECT status FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE',
  '{"code": "1", "price": "2"}', NULL, now() + interval '2 hours');
SELECT jsonb_typeof(body -> 'sendTimestamp') AS ts_type,
       abs((body ->> 'sendTimestamp')::bigint
           - extract(epoch FROM now() + interval '2 hours')::bigint) <= 5 AS ts_ok
  FROM sms_test.requests();

-- bearer token: Authorization: Bearer instead of X-Api-Key
SET sms_ir.bearer_token = 'test-bearer';
SELECT message_id FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE',
  '{"code": "1", "price": "2"}');
SELECT r -> 'headers' ->> 'authorization' = 'Bearer test-bearer' AS bearer_ok,
       r -> 'headers' ? 'x-api-key' AS has_api_key
  FROM sms_test.last_request() AS r;
-- a wrong token is an auth failure (28000) even with a good key
SET sms_ir.bearer_token = 'wrong-token';
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1", "price": "2"}')$$);
RESET sms_ir.bearer_token;

-- a bad key: 401 -> 28000
SET sms_ir.api_key = 'bad-key';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
-- the bearer token alone is enough
SET sms_ir.api_key = '';
SET sms_ir.bearer_token = 'test-bearer';
SELECT sms_ir.sms_credit() > 0 AS credit_with_bearer_only;
RESET sms_ir.bearer_token;
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
RESET sms_ir.api_key;

------------------------------------------------------------------------
-- mapped errors
------------------------------------------------------------------------

-- 1107: unknown template -> 42704
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'NoSuchTpl', '{"code": "1"}')$$);

-- 1053: a sender line not in the account -> 22023
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1", "price": "2"}', '20002000')$$);

-- 1001 with validationErrors: DETAIL names every invalid field
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1", "price": "2"}', '+980123')$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1"}')$$);

-- no sender at all: the provider's own validation error
SET sms_ir.line_number = '';
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1", "price": "2"}')$$);
RESET sms_ir.line_number;

-- parameter values: at most 100 characters, checked before any request
SELECT sms_test.mock_count() AS before \gset
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', jsonb_build_object('code', repeat('x', 101)))$$);
-- send_at must be in the future (one minute of margin)
SELECT regexp_replace(sms_test.try($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1"}', NULL, now() + interval '30 seconds')$$),
  'send_at .* is outside', 'send_at T is outside') AS too_soon;
SELECT sms_test.mock_count() - :before AS requests_made;

-- 403 1005 / 1006 -> 42501 with a hint (bodies as the seed shows them)
SELECT sms_test.fault('{"match": "/messages/send/template", "kind": "status", "status": 403,
  "body": {"errorCode": 1005, "errorMessage": ".مجوز دسترسی به متد برای حساب کاربری تعریف نشده است"}}');
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1", "price": "2"}')$$);
SELECT sms_test.fault('{"match": "/account/balance", "kind": "status", "status": 403,
  "body": {"errorCode": 1006, "errorMessage": ".آدرس آی پی جهت دسترسی به سرویس معتبر نمی باشد"}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);

-- 500: the support reference code in DETAIL -> 58000
SELECT sms_test.fault('{"match": "/account/balance", "kind": "status", "status": 500,
  "body": {"errorCode": 1000011011, "errorMessage": "خطایی در سرور رخ داده است. | شناسه خطا : 1000011011"}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);

-- 429 -> 53400; an undocumented 400 code -> 38000 with code and message
SELECT sms_test.fault('{"match": "/account/balance", "kind": "status", "status": 429,
  "body": {"errorCode": 429, "errorMessage": "Too many requests"}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.fault('{"match": "/account/balance", "kind": "status", "status": 400,
  "body": {"errorCode": 1999, "errorMessage": "something else"}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);

-- a 200 that is not the documented shape -> 08P01
SELECT sms_test.fault('{"match": "/messages/send/template", "kind": "status", "status": 200,
  "body": {"batchId": "x"}}');
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1", "price": "2"}')$$);

------------------------------------------------------------------------
-- sms_send_verify: a template send with the numeric id as a string
------------------------------------------------------------------------

SELECT * FROM sms_ir.sms_send_verify('9121234567', 123456, '{"Code": "4821"}');
SELECT method, path, body FROM sms_test.requests();

------------------------------------------------------------------------
-- sms_send_bulk and sms_send_like_to_like: POST /messages/send/bulk, up to
-- 100 recipients in one request; more than 100 run concurrently, results
-- in input order
------------------------------------------------------------------------

-- three recipients: ONE request with the arrays, one sender and one text
SELECT sms_test.mock_count() AS before \gset
CREATE TEMP TABLE bulk AS
  SELECT * FROM sms_ir.sms_send_bulk('Hello',
    ARRAY['09121000003', '989121000001', '+989121000002'])
    WITH ORDINALITY AS s(pack_id, message_ids, cost, n);
SELECT sms_test.mock_count() - :before AS requests_made;
SELECT method, path, body FROM sms_test.requests(1);
-- one row: the batch, a message id per recipient in input order, the summed cost
SELECT b.n, cardinality(b.message_ids) AS ids, b.cost,
       b.pack_id ~ '^00000000-0000-4000-a000-[0-9]{12}$' AS pack_id_ok
  FROM bulk b;
SELECT i, d.mobile FROM bulk b,
  LATERAL unnest(b.message_ids) WITH ORDINALITY AS m(id, i),
  LATERAL sms_ir.sms_delivery_status(m.id) d ORDER BY i;
DROP TABLE bulk;

-- 150 recipients: two requests (100 + 50), run at once, rows in input order
SELECT sms_test.mock_count() AS before \gset
SELECT n, cardinality(message_ids) AS ids, cost
  FROM sms_ir.sms_send_bulk('Many',
         ARRAY(SELECT '0912' || lpad(g::text, 7, '0') FROM generate_series(1, 150) g))
       WITH ORDINALITY AS s(pack_id, message_ids, cost, n) ORDER BY n;
SELECT sms_test.mock_count() - :before AS requests_made;
SELECT jsonb_array_length(body -> 'recipientNumbers') AS recipients,
       body -> 'recipientNumbers' ->> 0 AS first
  FROM sms_test.requests(2) ORDER BY 2;

-- like to like: each recipient its own text, in one request; a Persian text
-- of 71 characters is 2 parts ("3,600"), so the cost is 1,800 + 3,600
SELECT n, cardinality(message_ids) AS ids, cost
  FROM sms_ir.sms_send_like_to_like(ARRAY['one', repeat('س', 71)],
         ARRAY['09121000001', '09121000002'], '10001000')
       WITH ORDINALITY AS s(pack_id, message_ids, cost, n);
SELECT body -> 'senderNumbers' AS senders, body -> 'recipientNumbers' AS recipients,
       jsonb_array_length(body -> 'contents') AS texts,
       length(body -> 'contents' ->> 1) AS second_length
  FROM sms_test.requests(1);

-- scheduled bulk: sendTimestamp in the request
SELECT count(*) FROM sms_ir.sms_send_bulk('Later', ARRAY['09121000001', '09121000002'],
  NULL, now() + interval '1 day');
SELECT count(*) FILTER (WHERE jsonb_typeof(body -> 'sendTimestamp') = 'number') AS scheduled
  FROM sms_test.requests(1);

-- a failure of the one request is raised with the provider's code
SELECT sms_test.fault('{"match": "/messages/send/bulk", "kind": "status", "status": 500, "count": 1,
  "body": {"errorCode": 1000011012, "errorMessage": "خطایی در سرور رخ داده است. | شناسه خطا : 1000011012"}}');
SELECT sms_test.mock_count() AS before \gset
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_bulk('Fails', ARRAY['09121000001', '09121000002', '09121000003'])$$);
SELECT sms_test.mock_count() - :before AS requests_made;

------------------------------------------------------------------------
-- sms_delivery_status
------------------------------------------------------------------------

SELECT sms_ir.sms_api('POST', '/__mock/reset');
-- recipients ending in 1, 2, 3, 4, 5 and 9 (the mock reports 1, 2, 3, 4,
-- 5 and the unmapped 9), one scheduled (0) and one cancelled (6)
SELECT count(*) FROM sms_ir.sms_send_bulk('Status',
  ARRAY['09121000001', '09121000002', '09121000003', '09121000004',
        '09121000005', '09121000009']);
SELECT message_id AS scheduled_id FROM sms_ir.sms_send_template('09121000007', 'TydSt1skQE',
  '{"code": "1", "price": "2"}', NULL, now() + interval '2 hours') \gset
SELECT batch_id AS cancel_batch FROM sms_ir.sms_send_template('09121000008', 'TydSt1skQE',
  '{"code": "1", "price": "2"}', NULL, now() + interval '2 hours') \gset

-- one id: POST /messages/status {"sentMessageIdes": [id]}
SELECT * FROM sms_ir.sms_delivery_status(:'scheduled_id');
SELECT method, path, body FROM sms_test.requests();

-- sms_cancel_scheduled: DELETE /messages/send/scheduled/{batchId}; true
-- once, then false; an unknown batch is false
SELECT sms_ir.sms_cancel_scheduled(:'cancel_batch');
SELECT method, path FROM sms_test.requests();
SELECT sms_ir.sms_cancel_scheduled(:'cancel_batch');
SELECT sms_ir.sms_cancel_scheduled('no-such-batch');

-- every status in one request
SELECT mobile, status, provider_status, detail FROM sms_ir.sms_delivery_status(ARRAY(
  SELECT '00000000-0000-4000-b000-' || lpad(i::text, 12, '0') FROM generate_series(1, 8) i))
 ORDER BY mobile;
SELECT method, path, jsonb_array_length(body -> 'sentMessageIdes') AS ids FROM sms_test.requests();

-- 250 ids: requests of 100, 100 and 50
SELECT sms_test.mock_count() AS before \gset
SELECT count(*) FROM sms_ir.sms_delivery_status(ARRAY(
  SELECT '00000000-0000-4000-b000-' || lpad(i::text, 12, '0') FROM generate_series(1, 250) i));
SELECT sms_test.mock_count() - :before AS requests_made;
SELECT jsonb_array_length(body -> 'sentMessageIdes') AS ids FROM sms_test.requests(3);

------------------------------------------------------------------------
-- sms_credit, sms_lines, sms_api
------------------------------------------------------------------------

-- GET /account/balance {"balance": "9,985,600"}: 10,000,000 less 8 sends at 1,800
SELECT sms_ir.sms_credit();
SELECT method, path, body FROM sms_test.requests();

-- no sender line API: feature_not_supported with a hint
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_lines()$$);

-- sms_api with smsafzar's auth
SELECT sms_ir.sms_api('GET', '/account/balance');
SELECT sms_test.fail($$SELECT sms_ir.sms_api('GET', '/messages/nothing-here')$$);

------------------------------------------------------------------------
-- token login: POST /auth/token {userName, password, domain} once, the
-- token sent as Bearer, a new one fetched when the provider refuses it
------------------------------------------------------------------------
SET sms_ir.username = 'test-user';
SET sms_ir.password = 'test-pass';
SET sms_ir.domain = 'test-domain';
-- (this control call fetches a token; the reset clears the log and forgets
-- the mock's tokens, so the first call below is refused and logs in again)
SELECT sms_ir.sms_api('POST', '/__mock/reset');
SELECT sms_ir.sms_credit() > 0 AS credit_with_token;
SELECT sms_ir.sms_credit() > 0 AS again_same_token;
SELECT e ->> 'method' AS method, e ->> 'path' AS path, e ->> 'reply_status' AS status,
       e -> 'headers' ->> 'authorization' ~ '^Bearer ' AND
       e -> 'headers' ->> 'authorization' <> 'Bearer test-bearer' AS issued_bearer,
       e -> 'headers' ->> 'x-api-key' IS NULL AS no_key
  FROM jsonb_array_elements(sms_ir.sms_api('GET', '/__mock/requests')) e;
SELECT sms_ir.sms_api('POST', '/__mock/smsafzar/expire_tokens') ->> 'ok' AS expired;
SELECT sms_ir.sms_api('POST', '/__mock/reset');
-- the expired token: 401, one login, the call again
SELECT sms_ir.sms_credit() > 0 AS credit_after_refresh;
SELECT e ->> 'method' AS method, e ->> 'path' AS path, e ->> 'reply_status' AS status,
       CASE WHEN jsonb_typeof(e -> 'body') = 'object' THEN (e -> 'body') - 'password'::text END AS body
  FROM jsonb_array_elements(sms_ir.sms_api('GET', '/__mock/requests')) e;
-- a wrong password: the login is refused, 28000
SET sms_ir.password = 'wrong';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
RESET sms_ir.username;
RESET sms_ir.password;
RESET sms_ir.domain;

RESET sms_ir.provider;
SHOW sms_ir.provider;
