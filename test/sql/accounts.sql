--
-- accounts: named provider accounts, who may use them, lanes, expiry,
-- logical templates and synchronous failover (SPEC §11), against the mock
-- (test/regress.conf declares "backup" on smsafzar and "vip" on sms.ir,
-- usable by members of sms_vip only).
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');

-- every account, with its provider; the breakers start closed
SELECT account, provider, breaker, fallback FROM sms_ir.account_status() ORDER BY account;

-- the declared accounts' settings exist, secrets hidden from SHOW ALL
SELECT name, context FROM pg_settings WHERE name LIKE 'sms_ir.backup\_%' ORDER BY name;
SELECT count(*) AS secrets_shown FROM pg_settings
 WHERE name IN ('sms_ir.backup_api_key', 'sms_ir.vip_api_key', 'sms_ir.backup_password');

------------------------------------------------------------------------
-- choosing an account
------------------------------------------------------------------------
SET sms_ir.account = 'nope';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.fail($$SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"1"}')$$);
RESET sms_ir.account;

-- a queued row records its account and that account's provider
SET sms_ir.account = 'backup';
SELECT sms_ir.queue_template('09121234567', 'TydSt1skQE', '{"code":"1","price":"2"}') AS backup_id \gset
RESET sms_ir.account;
SELECT account, provider, kind, priority FROM sms_ir.outbox WHERE id = :backup_id;

-- a synchronous call goes to the session's account: smsafzar's path
SET sms_ir.account = 'backup';
SELECT message_id IS NOT NULL AS sent FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code":"1","price":"2"}');
SELECT method, path FROM sms_test.requests();
RESET sms_ir.account;

------------------------------------------------------------------------
-- allowed roles
------------------------------------------------------------------------
CREATE ROLE sms_vip NOLOGIN;
CREATE ROLE sms_app NOLOGIN;
CREATE ROLE sms_vip_member NOLOGIN IN ROLE sms_vip;
GRANT USAGE ON SCHEMA sms_ir TO sms_app, sms_vip_member;
GRANT EXECUTE ON FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text, smallint, interval),
                          sms_ir.sms_send_verify(text, bigint, jsonb) TO sms_app, sms_vip_member;
GRANT INSERT ON sms_ir.outbox TO sms_app;

SET ROLE sms_app;
SET sms_ir.account = 'vip';
-- 42501 on every path: queue function, synchronous send, plain INSERT
SELECT sms_test.fail($$SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"1"}')$$);
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"Code":"1"}')$$);
SELECT sms_test.fail($$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile":"09121234567","template_id":123456}')$$);
-- the default account stays usable
RESET sms_ir.account;
SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"2"}') > 0 AS default_ok;
RESET ROLE;

-- a member of the allowed role may
SET ROLE sms_vip_member;
SET sms_ir.account = 'vip';
SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"3"}') AS vip_id \gset
RESET sms_ir.account;
RESET ROLE;
SELECT account, provider FROM sms_ir.outbox WHERE id = :vip_id;

-- nobody but a superuser may change who may use an account
SET ROLE sms_app;
SELECT sms_test.fail($$SET sms_ir.vip_allowed_roles = 'sms_app'$$);
SELECT sms_test.fail($$SHOW sms_ir.vip_api_key$$);
RESET ROLE;

------------------------------------------------------------------------
-- lanes and expiry
------------------------------------------------------------------------
SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"4"}') AS v1 \gset
SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"5"}', priority => 3::smallint,
                           valid_for => '30 seconds') AS v2 \gset
SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"6"}', valid_for => '0') AS v3 \gset
SELECT sms_ir.queue_bulk('hello', ARRAY['09121234567']) AS b1 \gset
SELECT sms_ir.queue_bulk('hello', ARRAY['09121234567'], valid_for => '1 hour', priority => 7::smallint) AS b2 \gset
INSERT INTO sms_ir.outbox (kind, payload, priority)
VALUES ('bulk', '{"message":"plain","mobiles":["09121234567"]}', 4) RETURNING priority, expires_at;
INSERT INTO sms_ir.outbox (kind, payload)
VALUES ('verify', '{"mobile":"09121234567","template_id":123456}')
RETURNING priority, expires_at - created_at AS valid_for;
SELECT id = :v1 AS v1, id = :v2 AS v2, id = :v3 AS v3, id = :b1 AS b1, id = :b2 AS b2,
       kind, priority, expires_at - created_at AS valid_for
  FROM sms_ir.outbox WHERE id IN (:v1, :v2, :v3, :b1, :b2) ORDER BY id;
SELECT sms_test.fail($$SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"7"}', priority => 11::smallint)$$);
SELECT sms_test.fail($$SELECT sms_ir.queue_bulk('x', ARRAY['09121234567'], priority => (-1)::smallint)$$);
SELECT sms_test.fail($$SELECT sms_ir.queue_verify('09121234567', 123456, '{"Code":"7"}', valid_for => '-1 minute')$$);
SELECT sms_test.fail($$INSERT INTO sms_ir.outbox (kind, payload, priority) VALUES ('bulk', '{"message":"x","mobiles":["09121234567"]}', 42)$$);
-- a CHECK constraint of the table applies to queue functions' rows too
-- (compiled once for their direct insert), also when added later
ALTER TABLE sms_ir.outbox ADD CONSTRAINT no_lane_eight CHECK (priority <> 8);
SELECT sms_test.try($$SELECT sms_ir.queue_bulk('x', ARRAY['09121234567'], priority => 8::smallint)$$);
SELECT count(*) AS lane_six FROM sms_ir.queue_bulk('x', ARRAY['09121234567'], priority => 6::smallint);
ALTER TABLE sms_ir.outbox DROP CONSTRAINT no_lane_eight;
SELECT count(*) AS lane_eight FROM sms_ir.queue_bulk('x', ARRAY['09121234567'], priority => 8::smallint);

------------------------------------------------------------------------
-- logical templates
------------------------------------------------------------------------
INSERT INTO sms_ir.template VALUES
  ('signup_otp', 'Your code is {Code}', '{"default": 123456, "backup": "123456"}'),
  ('text_only', 'Hi {name}, code {code}', '{}');
-- queued by name: validated for the session's account (every {param} given)
SELECT sms_ir.queue_template('09121234567', 'signup_otp', '{"Code":"4821"}') > 0 AS queued;
SELECT sms_test.fail($$SELECT sms_ir.queue_template('09121234567', 'signup_otp', '{"code":"4821"}')$$);
SELECT sms_test.fail($$SELECT sms_ir.queue_template('09121234567', 'text_only', '{"name":"Ali"}')$$);
SELECT sms_test.fail($$SELECT sms_ir.queue_template('09121234567', 'signup_otp', '{"Code":"1"}', sender => '3000505')$$);
-- a plain INSERT names it too (checked the same way)
SELECT sms_test.fail($$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('template', '{"recipient":"09121234567","template_id":"text_only","parameters":{"code":"1"}}')$$);

-- sent synchronously: the account's provider template where ids has one ...
SELECT sms_ir.sms_api('POST', '/__mock/reset');
SELECT message_id IS NOT NULL AS sent FROM sms_ir.sms_send_template('09121234567', 'signup_otp', '{"Code":"4821"}');
SELECT method, path, body FROM sms_test.requests();
-- ... else the body rendered, as a text from the account's line
SELECT message_id IS NOT NULL AS sent FROM sms_ir.sms_send_template('09121234567', 'text_only', '{"name":"Ali","code":"77"}');
SELECT method, path, body ->> 'messageText' AS text, body ->> 'lineNumber' AS line FROM sms_test.requests();
SET sms_ir.account = 'backup';
SELECT message_id IS NOT NULL AS sent FROM sms_ir.sms_send_template('09121234567', 'signup_otp', '{"Code":"4821"}');
SELECT method, path, body ->> 'templateId' AS template_id, body -> 'parameters' AS parameters FROM sms_test.requests();
RESET sms_ir.account;

------------------------------------------------------------------------
-- synchronous failover
------------------------------------------------------------------------
ALTER SYSTEM SET sms_ir.fallback = 'backup';
SELECT pg_reload_conf();
SELECT pg_sleep(0.2);
SHOW sms_ir.fallback;
SELECT sms_ir.sms_api('POST', '/__mock/reset');
-- sms.ir answers 500: the OTP goes out through smsafzar with its template id
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 500, "count": 1}');
SELECT message_id IS NOT NULL AS sent FROM sms_ir.sms_send_template('09121234567', 'signup_otp', '{"Code":"4821"}');
SELECT method, path, body ->> 'templateId' AS template_id FROM sms_test.requests(2);
SELECT account, breaker, consecutive_failures, last_error IS NOT NULL AS has_error, sent >= 1 AS sent
  FROM sms_ir.account_status() WHERE account IN ('default', 'backup') ORDER BY account;
-- a numeric template id fails over only to the same provider: smsafzar is not
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 500, "count": 1}');
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"Code":"1"}')$$);
SELECT count(*) AS smsafzar_requests FROM sms_test.requests(1) WHERE path LIKE '/messages/%';
-- a rejection of the message itself never fails over
SELECT sms_ir.sms_api('POST', '/__mock/reset');
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_template('09121234567', '999999', '{"Code":"1"}')$$);
SELECT sms_test.mock_count() AS requests;
-- a fallback must be a declared account
ALTER SYSTEM SET sms_ir.fallback = 'nowhere';
ALTER SYSTEM RESET sms_ir.fallback;
SELECT pg_reload_conf();

DELETE FROM sms_ir.template;
DELETE FROM sms_ir.outbox;
DROP OWNED BY sms_app, sms_vip_member;
DROP ROLE sms_app, sms_vip_member, sms_vip;
