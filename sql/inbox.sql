--
-- inbox: sms_inbox() on sms.ir (GET /v1/receive/latest), its limits, and
-- the providers that have no received-messages API.
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');

-- the mock account has three received messages, newest first; senders come
-- back canonical, times as timestamptz
SET TIME ZONE 'UTC';
SELECT * FROM sms_ir.sms_inbox();
SELECT method, path FROM sms_test.requests();

-- count is passed through
SELECT count(*) FROM sms_ir.sms_inbox(2);
SELECT method, path FROM sms_test.requests();

-- a message received later shows up first
SELECT sms_ir.sms_api('POST', '/__mock/inbox',
  '{"number": 30004505000017, "mobile": "989351234567", "messageText": "yes", "receivedDateTime": 1700000300}');
SELECT sender, line_number, message FROM sms_ir.sms_inbox(1);

-- count outside 1..100, and NULL, fail before any request
SELECT sms_test.mock_count() AS before \gset
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox(0)');
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox(101)');
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox(NULL)');
SELECT sms_test.mock_count() - :before AS new_requests;

-- a reply of the wrong shape is a protocol error, not a crash
SELECT sms_test.fault('{"match": "/v1/receive/latest", "kind": "status", "status": 200,
                        "body": {"status": 1, "message": "ok", "data": {"not": "a list"}}}');
SELECT sms_test.fail('SELECT * FROM sms_ir.sms_inbox()');

-- smsafzar: GET /messages/received/recent, count applied to the reply
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
