--
-- security: an ordinary role can neither read nor set the API key, cannot
-- call the provider until granted, and once granted can send without ever
-- seeing the key (SPEC §5, §8).  Roles are dropped at the end so that the
-- suite can run again.
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');

DROP ROLE IF EXISTS sms_app;
CREATE ROLE sms_app NOLOGIN;

-- of the extension's functions, PUBLIC may only run normalize_mobile
SELECT p.oid::regprocedure AS function,
       has_function_privilege('sms_app', p.oid, 'EXECUTE') AS sms_app_can_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'sms_ir'::regnamespace
   AND p.proname IN ('normalize_mobile', 'sms_send_bulk', 'sms_send_like_to_like',
                     'sms_send_verify', 'sms_send_template', 'sms_delivery_status',
                     'sms_credit', 'sms_lines', 'sms_cancel_scheduled', 'sms_api')
 ORDER BY p.proname, 1::text;

-- without USAGE on the schema nothing in it can be reached
SET ROLE sms_app;
SELECT sms_test.try($$SELECT sms_ir.normalize_mobile('09121234567')$$);
RESET ROLE;

GRANT USAGE ON SCHEMA sms_ir TO sms_app;
SET ROLE sms_app;
SELECT current_user;

-- the key is neither shown nor readable: 42501
SELECT sms_test.fail('SHOW sms_ir.api_key');
SELECT sms_test.fail($$SELECT current_setting('sms_ir.api_key')$$);
SELECT sms_test.try($$SELECT current_setting('sms_ir.api_key', true)$$);

-- pg_settings and SHOW ALL have no row for it
SELECT count(*) AS api_key_rows FROM pg_settings WHERE name = 'sms_ir.api_key';
SELECT count(*) AS api_key_rows FROM pg_show_all_settings() WHERE name = 'sms_ir.api_key';
-- while the other settings are listed
SELECT name, setting, context FROM pg_settings
 WHERE name IN ('sms_ir.provider', 'sms_ir.line_number', 'sms_ir.timeout')
 ORDER BY name;

-- the key cannot be set, nor can the settings that choose where it is sent
SELECT sms_test.fail($$SET sms_ir.api_key = 'stolen'$$);
SELECT sms_test.try($$SELECT set_config('sms_ir.api_key', 'stolen', false)$$);
SELECT sms_test.try($$SET sms_ir.base_url = 'http://attacker.example'$$);
SELECT sms_test.try($$SET sms_ir.provider = 'smsir'$$);
SELECT sms_test.try($$SET sms_ir.line_number = '3000505'$$);
-- the timeouts are the caller's choice
SELECT sms_test.try($$SET sms_ir.timeout = '5s'$$);
RESET sms_ir.timeout;

-- no send, report or raw call before a GRANT: 42501
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);
SELECT f, sms_test.try('SELECT ' || f)
  FROM unnest(ARRAY[
         $$sms_ir.sms_send_bulk('hi', ARRAY['09121234567'])$$,
         $$sms_ir.sms_send_like_to_like(ARRAY['hi'], ARRAY['09121234567'])$$,
         $$sms_ir.sms_send_template('09121234567', '123456')$$,
         $$sms_ir.sms_delivery_status('89545112')$$,
         $$sms_ir.sms_delivery_status(ARRAY['89545112'])$$,
         $$sms_ir.sms_credit()$$,
         $$sms_ir.sms_lines()$$,
         $$sms_ir.sms_cancel_scheduled('00000000-0000-4000-8000-000000000001')$$,
         $$sms_ir.sms_api('GET', '/v1/credit')$$
       ]) AS f;

-- normalize_mobile is for everybody
SELECT sms_ir.normalize_mobile('+98 912 123 4567');
RESET ROLE;

-- nothing reached the provider
SELECT sms_test.mock_count() AS provider_requests;

-- after a GRANT the role can send, with the key applied for it ...
GRANT EXECUTE ON FUNCTION sms_ir.sms_send_verify(text, bigint, jsonb) TO sms_app;
SET ROLE sms_app;
SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}');
-- ... the other functions stay closed ...
SELECT sms_test.try($$SELECT sms_ir.sms_api('GET', '/v1/credit')$$);
-- ... and the key stays hidden
SELECT sms_test.try('SHOW sms_ir.api_key');
SELECT sms_test.try($$SELECT current_setting('sms_ir.api_key')$$);
SELECT sms_test.try($$SET sms_ir.api_key = 'stolen'$$);
-- a failed send does not show it either
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 999, '{"Code": "1"}')$$);
RESET ROLE;

-- the mock got the key with both requests
SELECT count(*) AS requests,
       bool_and(e -> 'headers' ->> 'x-api-key' = 'test-key') AS api_key_header_ok
  FROM jsonb_array_elements(sms_ir.sms_api('GET', '/__mock/requests')) AS e;

-- the setting holds a file reference, never the key: what a superuser
-- (or any role, before the library is loaded) reads is a path
SELECT current_setting('sms_ir.api_key') LIKE 'file:/%' AS api_key_is_reference,
       position('test-key' IN current_setting('sms_ir.api_key')) = 0 AS setting_has_no_key;

-- the server log (pg_regress keeps it in log/ beside tmp_check/) holds the
-- errors of all the suites, but neither the key nor the wrong key of errors
SELECT position('request rejected by provider smsir' IN log) > 0 AS log_has_provider_errors,
       position('authentication failed at provider smsir' IN log) > 0 AS log_has_auth_errors,
       position('test-key' IN log) = 0 AS log_has_no_api_key,
       position('wrong-key-4f7d' IN log) = 0 AS log_has_no_wrong_key
  FROM pg_read_file(current_setting('data_directory') || '/../../log/postmaster.log') AS log;

-- clean up
DROP OWNED BY sms_app;
DROP ROLE sms_app;
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname = 'sms_app';

-- the SECURITY DEFINER functions pin their search_path (the queue functions
-- in C, around their INSERT: see enqueue.sql); ids are the extension's
SELECT p.proname, p.prosecdef, p.proconfig
  FROM pg_proc p
 WHERE p.pronamespace = 'sms_ir'::regnamespace AND p.prosecdef
 ORDER BY p.proname;
SELECT attidentity FROM pg_attribute
 WHERE attrelid = 'sms_ir.outbox'::regclass AND attname = 'id';
