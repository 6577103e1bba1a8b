--
-- send: the send functions against the mock provider.  Each block checks
-- what the function returns and the request the provider received
-- (SPEC §3, §4).  After the reset, message ids start at 89545112 and pack
-- ids at 00000000-0000-4000-8000-000000000001.
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');

------------------------------------------------------------------------
-- sms_send_verify
------------------------------------------------------------------------

-- happy path: the message id and cost of the reply
SELECT * FROM sms_ir.sms_send_verify('0912 123 4567', 123456, '{"Code": "4821"}');

-- the request: POST /v1/send/verify with the mobile as a "09..." string,
-- templateId a JSON integer and parameters as [{name, value}]
SELECT method, path, body FROM sms_test.requests();
SELECT jsonb_typeof(body -> 'mobile') AS mobile_type,
       jsonb_typeof(body -> 'templateId') AS template_id_type,
       (body -> 'templateId')::bigint AS template_id,
       jsonb_typeof(body -> 'parameters') AS parameters_type,
       jsonb_typeof(body -> 'parameters' -> 0 -> 'value') AS value_type
  FROM sms_test.requests();

-- headers: the key travels in X-API-KEY only (never in the path or the
-- body), JSON both ways; the key itself is not printed
SELECT r -> 'headers' ->> 'x-api-key' = 'test-key' AS api_key_header_ok,
       position('test-key' IN r ->> 'path') = 0 AS key_not_in_path,
       position('test-key' IN (r -> 'body')::text) = 0 AS key_not_in_body,
       r -> 'headers' ->> 'content-type' AS content_type,
       r -> 'headers' ->> 'accept' AS accept,
       r ->> 'reply_status' AS reply_status
  FROM sms_test.last_request() AS r;

-- parameters as an array of {name, value}: sent as given, in order
SELECT * FROM sms_ir.sms_send_verify('+989121234567', 100201,
  '[{"name": "name", "value": "Ali"}, {"name": "code", "value": "77"}]');
SELECT body -> 'mobile' AS mobile, body -> 'parameters' AS parameters FROM sms_test.requests();

-- parameters as an object with several keys (in jsonb's key order)
SELECT * FROM sms_ir.sms_send_verify('00989121234567', 100201, '{"name": "علی", "code": "55"}');
SELECT body -> 'parameters' AS parameters FROM sms_test.requests();

-- numbers and booleans are sent as strings, numbers as spelled
SELECT * FROM sms_ir.sms_send_verify('09121234567', 100200, '{"order": 1234}');
SELECT body -> 'parameters' AS parameters,
       jsonb_typeof(body -> 'parameters' -> 0 -> 'value') AS value_type
  FROM sms_test.requests();
SELECT message_id FROM sms_ir.sms_send_verify('09121234567', 100201,
  '[{"name": "name", "value": true}, {"name": "code", "value": 12.50}]');
SELECT body -> 'parameters' AS parameters FROM sms_test.requests();

-- exactly 25 characters is accepted, in ASCII and in Persian
SELECT message_id FROM sms_ir.sms_send_verify('09121234567', 123456,
  jsonb_build_object('Code', repeat('7', 25)));
SELECT message_id FROM sms_ir.sms_send_verify('09121234567', 123456,
  jsonb_build_object('Code', repeat('ک', 25)));
SELECT body -> 'parameters' -> 0 ->> 'value' = repeat('ک', 25) AS persian_value_sent
  FROM sms_test.requests();

-- 26 characters: 22023 before any request (the mock's count stays)
SELECT sms_test.mock_count() AS requests_before \gset
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456,
                       jsonb_build_object('Code', repeat('ک', 26)))$$);
SELECT sms_test.mock_count() - :requests_before AS new_requests;

-- unknown template: provider code 113 is 42704, the provider's Persian
-- message kept in the error and its code in DETAIL
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 999, '{"Code": "1"}')$$);

-- no parameters (default '{}', NULL, '[]'): the provider's ProblemDetails
-- reply is 22023 with the field error in DETAIL
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456)$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456, NULL)$$);
SELECT body -> 'parameters' AS parameters FROM sms_test.requests();
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '[]')$$);

-- a template id beyond the API's Int32: refused here (22023), no request
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 3000000000, '{"Code": "1"}')$$);

------------------------------------------------------------------------
-- sms_send_template (on sms.ir: a verify send)
------------------------------------------------------------------------

-- numeric id, no sender, no send_at: (NULL batch_id, message_id, 'sent',
-- NULL parts, cost)
SELECT * FROM sms_ir.sms_send_template('0912 123 4567', '123456', '{"Code": "9090"}');
SELECT method, path, body FROM sms_test.requests();
SELECT jsonb_typeof(body -> 'templateId') AS template_id_type FROM sms_test.requests();

-- array parameters too
SELECT batch_id IS NULL AS no_batch, status, parts IS NULL AS no_parts, cost
  FROM sms_ir.sms_send_template('09121234567', '100200', '[{"name": "order", "value": "A-1"}]');

-- unknown template: 42704 as for sms_send_verify
SELECT sms_test.try($$SELECT sms_ir.sms_send_template('09121234567', '999', '{"Code": "1"}')$$);

------------------------------------------------------------------------
-- sms_send_bulk
------------------------------------------------------------------------

-- two mobiles in mixed forms: one request, one row
SELECT * FROM sms_ir.sms_send_bulk('Hello', ARRAY['+989121111111', '0912-222-2222']);

-- the request: lineNumber from sms_ir.line_number as a JSON integer,
-- mobiles normalized, sendDateTime null (send now)
SELECT method, path, body FROM sms_test.requests();
SELECT jsonb_typeof(body -> 'lineNumber') AS line_number_type,
       jsonb_typeof(body -> 'sendDateTime') AS send_date_time_type
  FROM sms_test.requests();

-- an explicit line_number wins over sms_ir.line_number
SELECT pack_id, message_ids FROM sms_ir.sms_send_bulk('Hello', ARRAY['09121111111'], '3000505');
SELECT body -> 'lineNumber' AS line_number, jsonb_typeof(body -> 'lineNumber') AS type
  FROM sms_test.requests();

-- the default is read at call time
SET sms_ir.line_number = '3000505';
SELECT pack_id FROM sms_ir.sms_send_bulk('Hello', ARRAY['09121111111']);
SELECT body -> 'lineNumber' AS line_number FROM sms_test.requests();
RESET sms_ir.line_number;

-- a line the account does not have: provider code 101 is 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('Hello', ARRAY['09121111111'], '3000999')$$);

-- cost is the provider's: 71 Persian characters are 2 parts per mobile
SELECT pack_id, cardinality(message_ids) AS n, cost
  FROM sms_ir.sms_send_bulk(repeat('س', 71), ARRAY['09121111111', '09122222222']);
SELECT body ->> 'messageText' = repeat('س', 71) AS text_sent FROM sms_test.requests();

-- 250 mobiles: three requests of 100, 100 and 50, one row each
SELECT pack_id, cardinality(message_ids) AS n, message_ids[1] AS first_id,
       message_ids[cardinality(message_ids)] AS last_id, cost
  FROM sms_ir.sms_send_bulk('Sale!',
         ARRAY(SELECT '0912' || lpad(i::text, 7, '0') FROM generate_series(1, 250) AS i));
SELECT seq, path, jsonb_array_length(body -> 'mobiles') AS mobiles,
       body -> 'mobiles' ->> 0 AS first_mobile,
       body -> 'mobiles' ->> (jsonb_array_length(body -> 'mobiles') - 1) AS last_mobile
  FROM sms_test.requests(3);

-- exactly 100 mobiles: a single request
SELECT pack_id, cardinality(message_ids) AS n
  FROM sms_ir.sms_send_bulk('Sale!',
         ARRAY(SELECT '0912' || lpad(i::text, 7, '0') FROM generate_series(1, 100) AS i));

-- send_at two hours ahead: sendDateTime is a JSON integer, that time in
-- unix seconds
SELECT now() + interval '2 hours' AS send_at \gset
SELECT pack_id, cardinality(message_ids) AS n, cost
  FROM sms_ir.sms_send_bulk('Later', ARRAY['09121111111'], send_at => :'send_at');
SELECT jsonb_typeof(body -> 'sendDateTime') AS send_date_time_type,
       abs((body ->> 'sendDateTime')::bigint - extract(epoch FROM :'send_at'::timestamptz)) < 5
         AS is_send_at
  FROM sms_test.requests();

-- the edges of sms.ir's window are accepted: 61 minutes and 364 days ahead
SELECT pack_id FROM sms_ir.sms_send_bulk('Later', ARRAY['09121111111'],
                                         send_at => now() + interval '61 minutes');
SELECT pack_id FROM sms_ir.sms_send_bulk('Later', ARRAY['09121111111'],
                                         send_at => now() + interval '364 days');

------------------------------------------------------------------------
-- sms_send_like_to_like
------------------------------------------------------------------------

-- messages[i] goes to mobiles[i]: messageTexts and mobiles arrays
SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['Hi Ali', 'Hi Sara'],
                                           ARRAY['09121111111', '989122222222']);
SELECT method, path, body FROM sms_test.requests();

-- explicit line number and send_at
SELECT pack_id, cardinality(message_ids) AS n
  FROM sms_ir.sms_send_like_to_like(ARRAY['Later'], ARRAY['09121111111'], '3000505',
                                    now() + interval '2 hours');
SELECT body -> 'lineNumber' AS line_number,
       jsonb_typeof(body -> 'sendDateTime') AS send_date_time_type
  FROM sms_test.requests();

-- 150 pairs: two requests, and the second keeps each text with its mobile
SELECT pack_id, cardinality(message_ids) AS n, cost
  FROM sms_ir.sms_send_like_to_like(
         ARRAY(SELECT 'msg ' || i FROM generate_series(1, 150) AS i),
         ARRAY(SELECT '0912' || lpad(i::text, 7, '0') FROM generate_series(1, 150) AS i));
SELECT seq, jsonb_array_length(body -> 'messageTexts') AS texts,
       jsonb_array_length(body -> 'mobiles') AS mobiles,
       body -> 'messageTexts' ->> 0 AS first_text, body -> 'mobiles' ->> 0 AS first_mobile
  FROM sms_test.requests(2);

-- the mock logged every request made above: 24 sends and 6 rejected
SELECT sms_test.mock_count() AS provider_requests;
