--
-- provider_legacy: every SQL function on the legacy sms.ir White SMS API
-- (provider smsir_legacy, seed 003) against the mock (test/mock/legacy.py):
-- the token (fetch, reuse, expiry, bad secret), sends, delivery status with
-- the Persian DeliveryStatus strings, credit, sms_api, IsSuccessful:false.
-- After the reset, BatchKeys are wb-000001 upwards and recipient ids
-- 5000001 upwards.
--
\set SHOW_CONTEXT never

-- helpers that talk to the mock's control API as provider smsir, so they
-- never fetch a legacy token themselves
CREATE FUNCTION sms_test.legacy_reset() RETURNS boolean
LANGUAGE sql SET sms_ir.provider = 'smsir' AS
$$ SELECT (sms_ir.sms_api('POST', '/__mock/reset') ->> 'ok')::boolean $$;
CREATE FUNCTION sms_test.legacy_expire() RETURNS boolean
LANGUAGE sql SET sms_ir.provider = 'smsir' AS
$$ SELECT (sms_ir.sms_api('POST', '/__mock/legacy/expire') ->> 'ok')::boolean $$;
CREATE FUNCTION sms_test.legacy_fault(spec jsonb) RETURNS boolean
LANGUAGE sql SET sms_ir.provider = 'smsir' AS
$$ SELECT (sms_ir.sms_api('POST', '/__mock/fault', spec) ->> 'ok')::boolean $$;
CREATE FUNCTION sms_test.legacy_seq() RETURNS int
LANGUAGE sql SET sms_ir.provider = 'smsir' AS
$$ SELECT (sms_ir.sms_api('GET', '/__mock/count') ->> 'count')::int $$;
-- the requests after `since`: method, path, reply status, whether a token
-- header was sent, and the body (secrets in GetToken bodies masked)
CREATE FUNCTION sms_test.legacy_log(since int)
RETURNS TABLE(method text, path text, status int, token boolean, body jsonb)
LANGUAGE sql SET sms_ir.provider = 'smsir' AS
$$
SELECT e ->> 'method', e ->> 'path', (e ->> 'reply_status')::int,
       e -> 'headers' ? 'x-sms-ir-secure-token',
       CASE WHEN e -> 'body' ? 'SecretKey'
            THEN jsonb_build_object('UserApiKey', 'KEY', 'SecretKey', 'SECRET')
            ELSE e -> 'body' END
  FROM jsonb_array_elements(sms_ir.sms_api('GET', '/__mock/requests?since=' || since))
       WITH ORDINALITY AS r(e, i)
 ORDER BY i
$$;

SET sms_ir.provider = 'smsir_legacy';
SET sms_ir.secret_key = 'test-secret';
SHOW sms_ir.provider;
SELECT sms_test.legacy_reset();

------------------------------------------------------------------------
-- the token: fetched once, sent as x-sms-ir-secure-token, reused
------------------------------------------------------------------------

-- sms_credit: GetToken {UserApiKey, SecretKey}, then WhiteSms/GetUserInfo -> Credit
SELECT sms_ir.sms_credit();
SELECT * FROM sms_test.legacy_log(0);
-- the GetToken body carried exactly the two settings
SELECT e -> 'body' ->> 'UserApiKey' = 'test-key' AS user_api_key_ok,
       e -> 'body' ->> 'SecretKey' = 'test-secret' AS secret_key_ok,
       e -> 'headers' ->> 'content-type' AS content_type,
       e -> 'headers' ? 'x-api-key' AS has_x_api_key
  FROM jsonb_array_elements(sms_ir.sms_api('GET', '/__mock/requests?last=2')) e
 WHERE e ->> 'path' LIKE '%GetToken';

-- more calls reuse the cached token: still one GetToken
SELECT sms_ir.sms_credit();
SELECT jsonb_array_length(sms_ir.sms_api('GET', '/users/v1/Contacts/GetContactGroups') -> 'ContactGroups') AS groups;
SELECT count(*) FILTER (WHERE path LIKE '%GetToken') AS token_fetches,
       count(*) FILTER (WHERE NOT token AND path NOT LIKE '%GetToken') AS calls_without_token,
       count(*) AS calls
  FROM sms_test.legacy_log(0);

------------------------------------------------------------------------
-- sms_send_bulk: Message/SendByMobileNumbers
------------------------------------------------------------------------

SELECT sms_test.legacy_seq() AS s \gset
SELECT * FROM sms_ir.sms_send_bulk('Hello', ARRAY['09121000001', '+989121000002', '9121000008']);
-- MobileNumbers as 09..., CanContinueInCaseOfError true; no line number
-- (White SMS sends from the account's line)
SELECT * FROM sms_test.legacy_log(:s);
-- send_at: the API cannot schedule
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_bulk('Later', ARRAY['09121000001'], NULL,
  now() + interval '1 day')$$);
-- 150 mobiles: two requests of 100 and 50
SELECT sms_test.legacy_seq() AS s \gset
SELECT pack_id, cardinality(message_ids) AS ids, cost FROM sms_ir.sms_send_bulk('Many',
  ARRAY(SELECT '0912100' || lpad(i::text, 4, '0') FROM generate_series(1, 150) i));
SELECT path, jsonb_array_length(body -> 'MobileNumbers') AS mobiles FROM sms_test.legacy_log(:s);

------------------------------------------------------------------------
-- sms_delivery_status: Message/GetSentMessagesMobileNumbers by BatchKey,
-- one row per recipient, Persian DeliveryStatus mapped
------------------------------------------------------------------------

SELECT pack_id AS status_batch FROM sms_ir.sms_send_bulk('Status',
  ARRAY(SELECT '0912100000' || i FROM generate_series(0, 9) i)) \gset
SELECT * FROM sms_ir.sms_delivery_status(:'status_batch') ORDER BY mobile;
SELECT method, path, body FROM sms_test.legacy_log(sms_test.legacy_seq() - 1);
-- the text[] overload: one request per batch key
SELECT message_id, mobile, status FROM sms_ir.sms_delivery_status(ARRAY['wb-000001', 'wb-000002'])
 WHERE mobile IN ('09121000001', '09121000002', '09121000008') ORDER BY message_id;
-- 100 recipients: two pages of 50, then an empty third (lastId = the last
-- Id of the page before)
SELECT sms_test.legacy_seq() AS s \gset
SELECT count(*), count(DISTINCT message_id) FROM sms_ir.sms_delivery_status('wb-000002');
SELECT path FROM sms_test.legacy_log(:s);
-- 50 recipients: the second page is empty, not an error
SELECT sms_test.legacy_seq() AS s \gset
SELECT count(*) FROM sms_ir.sms_delivery_status(ARRAY['wb-000003']);
SELECT path FROM sms_test.legacy_log(:s);
-- an unknown batch key is undefined_object
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_delivery_status('wb-999999')$$);

------------------------------------------------------------------------
-- sms_send_to_contacts: Message/Send
------------------------------------------------------------------------

SELECT sms_test.legacy_seq() AS s \gset
SELECT * FROM sms_ir.sms_send_to_contacts('Hi all', ARRAY[7], ARRAY[901]);
SELECT * FROM sms_ir.sms_send_to_contacts('Staff only', '{8}');
SELECT * FROM sms_ir.sms_send_to_contacts('Some', contact_relation_ids => '{702,801}',
  continue_on_error => false);
-- ContactGroupIds and ContactRelationIds always sent (empty arrays too)
SELECT method, path, body FROM sms_test.legacy_log(:s);
-- bad input
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_to_contacts('x')$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_to_contacts('x', ARRAY[7, NULL])$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_to_contacts('x', ARRAY[-1])$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_to_contacts(NULL, ARRAY[7])$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_to_contacts('  ', ARRAY[7])$$);
-- an unknown group: HTTP 200, IsSuccessful false, ErrorCode and Message kept
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_to_contacts('x', ARRAY[99])$$);

------------------------------------------------------------------------
-- sms_api: contacts, drafts, reports, with the token
------------------------------------------------------------------------

SELECT sms_ir.sms_api('GET', '/users/v1/Contacts/GetContactGroups') -> 'ContactGroups' -> 0 AS first_group;
SELECT sms_ir.sms_api('get', '/users/v1/DraftMessage/GetDraftMessages') -> 'DraftMessageDetails' -> 0 ->> 'Message' AS draft;
SELECT m ->> 'BatchKey' AS batch_key, m ->> 'DistinctRecipientsCount' AS recipients
  FROM jsonb_array_elements(sms_ir.sms_api('GET', '/users/v1/Message/GetLastSentMessagesByPageId?pageId=0') -> 'Messages') m
 LIMIT 3;
-- IsSuccessful false through sms_api is an error too
SELECT sms_test.fail($$SELECT sms_ir.sms_api('POST', '/users/v1/Message/Send', '{"Message": "x"}')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_api('GET', '/users/v1/Nothing/Here')$$);

------------------------------------------------------------------------
-- token expiry: one refresh (exactly one more GetToken) and one retry
------------------------------------------------------------------------

SELECT sms_test.legacy_expire();
SELECT sms_test.legacy_seq() AS s \gset
SELECT sms_ir.sms_credit() > 0 AS credit_ok;
SELECT * FROM sms_test.legacy_log(:s);
-- the new token is reused
SELECT sms_test.legacy_seq() AS s \gset
SELECT sms_ir.sms_credit() > 0 AS credit_ok;
SELECT method, path, status FROM sms_test.legacy_log(:s);

-- a send across an expiry: sent once, not lost
SELECT sms_test.legacy_expire();
SELECT sms_test.legacy_seq() AS s \gset
SELECT pack_id, message_ids FROM sms_ir.sms_send_bulk('After expiry', ARRAY['09121000003']);
SELECT method, path, status FROM sms_test.legacy_log(:s);

-- HTTP 200 with IsSuccessful false and a Message about the token is an
-- auth failure as well: refreshed and retried once
SELECT sms_test.legacy_fault('{"match": "/users/v1/WhiteSms/GetUserInfo", "kind": "status", "status": 200,
  "body": {"IsSuccessful": false, "Message": "توکن امنیتی منقضی شده است", "ErrorCode": 2}}');
SELECT sms_test.legacy_seq() AS s \gset
SELECT sms_ir.sms_credit() > 0 AS credit_ok;
SELECT method, path, status FROM sms_test.legacy_log(:s);

-- refused again after the refresh: 28000, and only one retry
SELECT sms_test.legacy_fault('{"match": "/users/v1/WhiteSms/GetUserInfo", "kind": "status", "status": 401, "count": 2,
  "body": {"IsSuccessful": false, "Message": "توکن امنیتی نامعتبر است", "ErrorCode": 2}}');
SELECT sms_test.legacy_seq() AS s \gset
SELECT sms_test.fail('SELECT sms_ir.sms_credit()');
SELECT method, path, status FROM sms_test.legacy_log(:s);

------------------------------------------------------------------------
-- bad credentials: 28000, neither key nor secret in the error
------------------------------------------------------------------------

SET sms_ir.secret_key = 'wrong-secret';
SELECT sms_test.legacy_seq() AS s \gset
SELECT sms_test.fail('SELECT sms_ir.sms_credit()');
SELECT method, path, status FROM sms_test.legacy_log(:s);
DO $$
DECLARE
  msg text; det text; hnt text;
BEGIN
  PERFORM sms_ir.sms_credit();
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
  RAISE NOTICE 'leaks secret: %, leaks key: %',
    position('wrong-secret' IN msg || det || hnt) > 0, position('test-key' IN msg || det || hnt) > 0;
END
$$;
SET sms_ir.secret_key = '';
SELECT sms_test.fail('SELECT sms_ir.sms_credit()');
-- back to the right secret: the token cached for these credentials is used again
SET sms_ir.secret_key = 'test-secret';
SELECT sms_test.legacy_seq() AS s \gset
SELECT sms_ir.sms_credit() > 0 AS credit_ok;
SELECT method, path, status FROM sms_test.legacy_log(:s);

------------------------------------------------------------------------
-- IsSuccessful false and odd replies
------------------------------------------------------------------------

-- not enough credit: HTTP 200, IsSuccessful false -> the provider's code and message
SELECT sms_test.legacy_fault('{"match": "/users/v1/Message/SendByMobileNumbers", "kind": "status", "status": 200,
  "body": {"IsSuccessful": false, "Message": "اعتبار کافی برای ارسال پیامک وجود ندارد", "ErrorCode": 4}}');
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_bulk('x', ARRAY['09121000001'])$$);
-- HTTP 200 without IsSuccessful: a reply we cannot trust
SELECT sms_test.legacy_fault('{"match": "/users/v1/WhiteSms/GetUserInfo", "kind": "status", "status": 200,
  "body": {"Credit": 5}}');
SELECT sms_test.fail('SELECT sms_ir.sms_credit()');
-- a server error is 5xx with the message kept
SELECT sms_test.legacy_fault('{"match": "/users/v1/WhiteSms/GetUserInfo", "kind": "status", "status": 500,
  "body": {"Message": "An error has occurred."}}');
SELECT sms_test.fail('SELECT sms_ir.sms_credit()');

-- no sender line is needed: White SMS sends from the account's line
SET sms_ir.line_number = '';
SELECT pack_id, message_ids FROM sms_ir.sms_send_bulk('No line', ARRAY['09121000001']);
RESET sms_ir.line_number;

------------------------------------------------------------------------
-- what the White SMS API does not have: feature_not_supported + hint
------------------------------------------------------------------------

SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['a'], ARRAY['09121000001'])$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_verify('09121000001', 123456, '{"Code": "1"}')$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121000001', '123456', '{"Code": "1"}')$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_lines()$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_cancel_scheduled('wb-000001')$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_inbox()$$);

-- queue_bulk needs no sender line on this provider either
SET sms_ir.line_number = '';
SELECT count(*) AS rows FROM sms_ir.queue_bulk('queued', ARRAY['+989121000001']);
SELECT provider, kind, payload FROM sms_ir.outbox ORDER BY id DESC LIMIT 1;
RESET sms_ir.line_number;

-- and sms_send_to_contacts on any other provider
RESET sms_ir.provider;
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_to_contacts('x', ARRAY[7])$$);

-- sms_ir.secret_key is a secret: hidden from other roles and from SHOW ALL
CREATE ROLE legacy_reader;
SET ROLE legacy_reader;
SELECT sms_test.try('SHOW sms_ir.secret_key');
SELECT count(*) AS visible FROM pg_settings WHERE name = 'sms_ir.secret_key';
RESET ROLE;
DROP ROLE legacy_reader;
-- not even a superuser sees it in SHOW ALL / pg_settings (GUC_NO_SHOW_ALL)
SELECT count(*) AS in_show_all FROM pg_settings WHERE name = 'sms_ir.secret_key';
RESET sms_ir.secret_key;
SHOW sms_ir.provider;
