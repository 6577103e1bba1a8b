--
-- input_bounds: SMS part counting (sms_parts, SPEC §12.5) and the
-- sms_ir.max_parts bound on every path that takes a message text (SPEC §8).
-- Every refusal happens before any request: the last query checks that the
-- mock saw none.
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');

------------------------------------------------------------------------
-- sms_parts
------------------------------------------------------------------------

-- the function's shape
SELECT p.oid::regprocedure AS function, pg_get_function_result(p.oid) AS returns,
       p.proisstrict AS strict, p.provolatile AS volatility, p.proparallel AS parallel
  FROM pg_proc p
 WHERE p.pronamespace = 'sms_ir'::regnamespace AND p.proname = 'sms_parts';

-- GSM 7-bit: 160 septets in one part, 153 per part beyond; extension
-- characters (^ { } \ [ ~ ] | €) count two septets; the backtick is not GSM
SELECT label, (sms_ir.sms_parts(t)).*
  FROM (VALUES ('empty', ''),
               ('hello', 'hello'),
               ('ascii 160', repeat('a', 160)),
               ('ascii 161', repeat('a', 161)),
               ('ascii 306', repeat('a', 306)),
               ('ascii 307', repeat('a', 307)),
               ('euro', '€'),
               ('euro x80', repeat('€', 80)),
               ('euro x81', repeat('€', 81)),
               ('extension', '^{}\[~]|'),
               ('gsm latin', 'Ünïcödé? no: ÄÖÜäöüßÉéèàùìò£¥§¿¡ΔΦΓΛΩΠΨΣΘΞ'),
               ('gsm latin ok', 'ÄÖÜäöüßÉéèàùìò£¥§¿¡ΔΦΓΛΩΠΨΣΘΞ @$_'),
               ('newlines', E'a\nb\r\nc'),
               ('backtick', 'a`b'),
               ('tab', E'a\tb')) AS v(label, t);

-- UCS-2: Persian is always UCS-2; 70 units in one part, 67 per part beyond;
-- a character outside the BMP (emoji) is two UTF-16 units
SELECT label, (sms_ir.sms_parts(t)).*
  FROM (VALUES ('persian 70', repeat('س', 70)),
               ('persian 71', repeat('س', 71)),
               ('persian 134', repeat('س', 134)),
               ('persian 135', repeat('س', 135)),
               ('persian digits', '۰۱۲۳'),
               ('mixed', 'Code: ۱۲۳۴ سلام'),
               ('emoji', '😀'),
               ('emoji x35', repeat('😀', 35)),
               ('emoji x36', repeat('😀', 36)),
               ('cyrillic', 'привет')) AS v(label, t);

-- STRICT: NULL in, no row out
SELECT count(*) AS rows_for_null FROM sms_ir.sms_parts(NULL);

------------------------------------------------------------------------
-- sms_ir.max_parts: 22023 before any request, in every path
------------------------------------------------------------------------
SHOW sms_ir.max_parts;
-- earlier suites leave rows in the outbox: count what is added here
SELECT count(*) AS outbox_before FROM sms_ir.outbox \gset

-- 10 parts is the limit: 1530 GSM septets, 670 UCS-2 units; one more is refused
SELECT (sms_ir.sms_parts(repeat('a', 1530))).parts AS ascii_1530,
       (sms_ir.sms_parts(repeat('س', 670))).parts AS persian_670;
SELECT sms_test.fail(format('SELECT sms_ir.sms_send_bulk(%L, ARRAY[%L])',
                            repeat('a', 1531), '09121234567'));
SELECT sms_test.fail(format('SELECT sms_ir.sms_send_bulk(%L, ARRAY[%L])',
                            repeat('س', 671), '09121234567'));
-- like_to_like names the array position
SELECT sms_test.fail(format('SELECT sms_ir.sms_send_like_to_like(ARRAY[%L, %L], ARRAY[%L, %L])',
                            'short', repeat('€', 766), '09121234567', '09121234568'));
SELECT sms_test.fail(format('SELECT sms_ir.queue_bulk(%L, ARRAY[%L])',
                            repeat('س', 671), '09121234567'));
SELECT sms_test.fail(format('SELECT sms_ir.queue_like_to_like(ARRAY[%L], ARRAY[%L])',
                            repeat('😀', 336), '09121234567'));

-- a plain INSERT of a bulk or like_to_like payload is checked the same way
SELECT sms_test.fail(format($$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', %L)$$,
                            jsonb_build_object('message', repeat('a', 1531),
                                               'mobiles', ARRAY['09121234567'])));
SELECT sms_test.fail(format($$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('like_to_like', %L)$$,
                            jsonb_build_object('messages', ARRAY['ok', 'ok', repeat('س', 671)],
                                               'mobiles', ARRAY['09121234567', '09121234568',
                                                                '09121234569'])));
SELECT count(*) - :outbox_before AS outbox_rows_added FROM sms_ir.outbox;

-- a lower bound applies at once (superuser setting)
SET sms_ir.max_parts = 1;
SELECT sms_test.try(format('SELECT sms_ir.sms_send_bulk(%L, ARRAY[%L])',
                           repeat('a', 161), '09121234567'));
SELECT sms_test.try(format('SELECT sms_ir.sms_send_bulk(%L, ARRAY[%L])',
                           repeat('س', 71), '09121234567'));
SELECT sms_test.try(format('SELECT * FROM sms_ir.queue_bulk(%L, ARRAY[%L])',
                           repeat('€', 81), '09121234567'));
RESET sms_ir.max_parts;

-- sms_send_to_contacts (provider smsir_legacy) refuses before its token request
SET sms_ir.provider = 'smsir_legacy';
SET sms_ir.secret_key = 'test-secret';
SELECT sms_test.fail(format('SELECT * FROM sms_ir.sms_send_to_contacts(%L, ARRAY[7])',
                            repeat('س', 671)));
RESET sms_ir.provider;
RESET sms_ir.secret_key;

------------------------------------------------------------------------
-- sms.ir template ids are 32-bit (its official SDK): 22023 above 2147483647
------------------------------------------------------------------------
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 2147483648, '{"Code": "1"}')$$);
SELECT label, sms_test.try(q)
  FROM (VALUES
    ('verify max bigint', $$SELECT sms_ir.sms_send_verify('09121234567', 9223372036854775807, '{"Code": "1"}')$$),
    ('queue_verify', $$SELECT sms_ir.queue_verify('09121234567', 2147483648, '{"Code": "1"}')$$),
    ('template', $$SELECT * FROM sms_ir.sms_send_template('09121234567', '2147483648', '{"Code": "1"}')$$),
    ('template 30 digits', format('SELECT * FROM sms_ir.sms_send_template(%L, %L)', '09121234567', repeat('9', 30))),
    ('queue_template', $$SELECT sms_ir.queue_template('09121234567', '4294967296', '{"Code": "1"}')$$),
    ('outbox insert', $$INSERT INTO sms_ir.outbox (kind, payload)
                        VALUES ('verify', '{"mobile": "09121234567", "template_id": 2147483648}')$$)
  ) AS t(label, q);
-- a non-numeric template id is still a missing feature on smsir (0A000)
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_template('09121234567', 'welcome')$$);

------------------------------------------------------------------------
-- Persian and Arabic-Indic digits in mobiles read as ASCII digits
------------------------------------------------------------------------
SELECT input, sms_ir.normalize_mobile(input)
  FROM unnest(ARRAY['۰۹۱۲۱۲۳۴۵۶۷', '٠٩١٢١٢٣٤٥٦٧', '+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷', '۰۰۹۸۹۱۲۱۲۳۴۵۶۷',
                    '09۱۲-123-٤٥٦٧', '۹۱۲۱۲۳۴۵۶۷']) AS input;
-- still a mobile's grammar: too short, a landline, a non-digit look-alike (U+06FA)
SELECT input, sms_test.try(format('SELECT sms_ir.normalize_mobile(%L)', input))
  FROM unnest(ARRAY['۰۹۱۲۱۲۳۴۵۶', '۰۲۱۱۲۳۴۵۶۷۸', U&'\06FA9121234567']) AS input;

------------------------------------------------------------------------
-- nothing above reached the provider
------------------------------------------------------------------------
SELECT sms_test.mock_count() AS provider_requests;

-- the limit itself is accepted: exactly 10 parts go out as one request
SELECT message_ids IS NOT NULL AS sent
  FROM sms_ir.sms_send_bulk(repeat('س', 670), ARRAY['09121234567']);
SELECT sms_test.mock_count() AS provider_requests;

------------------------------------------------------------------------
-- amounts: one canonical rule (src/reply.c sms_amount_text); an unreadable
-- amount leaves the send successful with cost NULL
------------------------------------------------------------------------
SELECT sms_test.fault(jsonb_build_object('match', '/v1/send/bulk', 'kind', 'status', 'status', 200,
         'body', '{"status":1,"message":"ok","data":{"packId":"p-1","messageIds":[11],"cost":"-0012.50"}}'));
SELECT pack_id, message_ids, cost FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567']);
SELECT sms_test.fault(jsonb_build_object('match', '/v1/send/bulk', 'kind', 'status', 'status', 200,
         'body', '{"status":1,"message":"ok","data":{"packId":"p-2","messageIds":[12],"cost":"1,800"}}'));
SELECT pack_id, message_ids, cost IS NULL AS cost_is_null
  FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567']);
SELECT sms_test.fault(jsonb_build_object('match', '/v1/send/bulk', 'kind', 'status', 'status', 200,
         'body', '{"status":1,"message":"ok","data":{"packId":"p-3","messageIds":[13],"cost":1.5E+002}}'));
SELECT pack_id, message_ids, cost FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567']);

------------------------------------------------------------------------
-- inbox time stamps: milliseconds are detected (> 1e11 is read as ms),
-- negative or past timestamptz's range is no time (NULL), never an ERROR
------------------------------------------------------------------------
SELECT sms_ir.sms_api('POST', '/__mock/reset');
SELECT sms_test.fault(jsonb_build_object('match', '/v1/receive/live', 'kind', 'status', 'status', 200,
         'body', jsonb_build_object('status', 1, 'message', 'ok', 'data',
           (SELECT jsonb_agg(jsonb_build_object('number', 30004505000017, 'mobile', '989351234567',
                                                'messageText', label, 'receivedDateTime', t))
              FROM (VALUES ('seconds', 1700000000::bigint), ('milliseconds', 1700000100000),
                           ('negative', -5), ('zero', 0), ('int64 max', 9223372036854775807),
                           ('12 digits', 99999999999)) AS v(label, t)))));
SELECT message, extract(epoch FROM received_at) AS unix_seconds
  FROM sms_ir.sms_inbox(10) ORDER BY message;

------------------------------------------------------------------------
-- provider text is valid UTF-8 by the time it is a result or an error:
-- invalid bytes become U+FFFD (the mock's body_hex sends raw bytes)
------------------------------------------------------------------------
-- hex(a) || 'ff' || hex(b): a reply with one invalid byte in it
CREATE FUNCTION sms_test.hex_with_bad_byte(a text, bad text, b text) RETURNS text
LANGUAGE sql IMMUTABLE AS
$$ SELECT encode(convert_to(a, 'UTF8'), 'hex') || bad || encode(convert_to(b, 'UTF8'), 'hex') $$;
SELECT sms_test.fault(jsonb_build_object('match', '/v1/send/bulk', 'kind', 'status', 'status', 400,
         'body_hex', sms_test.hex_with_bad_byte('{"status":101,"message":"bad ', 'ff', ' line","data":null}')));
SELECT sms_test.try($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'])$$) AS error_text;
SELECT sms_test.fault(jsonb_build_object('match', '/v1/receive/live', 'kind', 'status', 'status', 200,
         'body_hex', sms_test.hex_with_bad_byte(
           '{"status":1,"message":"ok","data":[{"number":30004505000017,"mobile":"989351234567","receivedDateTime":1700000000,"messageText":"hi ',
           'c328ff', ' there"}]}')));
SELECT message, message = U&'hi \FFFD(\FFFD there' AS replaced
  FROM sms_ir.sms_inbox(10);
