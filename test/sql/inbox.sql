--
-- inbox: sms_inbox() on sms.ir (GET /v1/receive/live), its limits, and
-- the providers that have no received-messages API.
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');

-- sms.ir: GET /v1/receive/live lists today's messages, read or not, newest
-- first; it consumes nothing (GET /v1/receive/latest would: each message is
-- returned once, ever).  The mock account's three seeded messages are from
-- 2023: not today's, so not listed.
SET TIME ZONE 'UTC';
SELECT count(*) FROM sms_ir.sms_inbox();
SELECT sms_ir.sms_api('POST', '/__mock/inbox',
  '{"number": 30004505000017, "mobile": "989121111111", "messageText": "سلام"}');
SELECT sms_ir.sms_api('POST', '/__mock/inbox',
  '{"number": 3000505, "mobile": "989123333333", "messageText": "لغو 11"}');
-- senders come back canonical, times as timestamptz; live has no receiveReturnId
SELECT received_at > now() - interval '1 day' AS today, sender, line_number, message, provider_id
  FROM sms_ir.sms_inbox();
-- reading again returns the same messages: nothing was consumed
SELECT count(*) AS second_read FROM sms_ir.sms_inbox();
SELECT method, path FROM sms_test.requests();

-- count is the page size
SELECT count(*) FROM sms_ir.sms_inbox(1);
SELECT method, path FROM sms_test.requests();

-- the mock's /latest is destructive, as the real one: a second call is empty
SELECT jsonb_array_length(sms_ir.sms_api('GET', '/v1/receive/latest?count=100') -> 'data') AS first_latest,
       jsonb_array_length(sms_ir.sms_api('GET', '/v1/receive/latest?count=100') -> 'data') AS second_latest;

-- a message received later shows up first
SELECT sms_ir.sms_api('POST', '/__mock/inbox',
  jsonb_build_object('number', 30004505000017, 'mobile', '989351234567', 'messageText', 'yes',
                     'receivedDateTime', extract(epoch FROM now())::bigint + 1));
SELECT sender, line_number, message FROM sms_ir.sms_inbox(1);

-- count outside 1..100, and NULL, fail before any request
SELECT sms_test.mock_count() AS before \gset
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox(0)');
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox(101)');
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox(NULL)');
SELECT sms_test.mock_count() - :before AS new_requests;

-- a reply of the wrong shape is a protocol error, not a crash
SELECT sms_test.fault('{"match": "/v1/receive/live", "kind": "status", "status": 200,
                        "body": {"status": 1, "message": "ok", "data": {"not": "a list"}}}');
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox()');

-- smsafzar: GET /messages/received/recent?count=N (the mock refuses it without count)
SET sms_ir.provider = 'smsafzar';
SELECT * FROM sms_ir.sms_inbox();
SELECT * FROM sms_ir.sms_inbox(1);
SELECT method, path FROM sms_test.requests();
RESET sms_ir.provider;

-- the White SMS API has none
SET sms_ir.provider = 'smsir_legacy';
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox()');
RESET sms_ir.provider;
RESET TIME ZONE;
