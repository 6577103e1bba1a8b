--
-- validation: bad input is rejected with the right SQLSTATE, DETAIL and HINT
-- before any request reaches the provider (SPEC §4, §7).  The last query
-- checks that the mock saw no request at all.
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');

------------------------------------------------------------------------
-- normalize_mobile
------------------------------------------------------------------------

-- every accepted form becomes 09xxxxxxxxx; spaces and dashes are ignored
SELECT input, sms_ir.normalize_mobile(input)
  FROM unnest(ARRAY[
         '09121234567', '9121234567', '989121234567', '+989121234567',
         '00989121234567', '0912 123 4567', '0912-123-4567', ' +98 912 123 4567 ',
         '0098-912-123-4567', '98 912 123 45 67', '9901234567', '09981234567'
       ]) AS input;

-- rejects: too short, too long, letters, landlines, 0098/+98 followed by a
-- non-mobile, a '+' that is not leading, empty and blank, 40 digits
SELECT input, sms_test.try(format('SELECT sms_ir.normalize_mobile(%L)', input))
  FROM unnest(ARRAY[
         '0912123456', '912123456', '091212345678', '98912123456', '0912abc4567',
         '09121234567x', '02112345678', '2112345678', '00982112345678',
         '+982112345678', '+98', '+09121234567', '0912+1234567', '',
         '   ', repeat('9', 40)
       ]) AS input;

-- one reject in full: the HINT lists the accepted forms
SELECT sms_test.fail($$SELECT sms_ir.normalize_mobile('02112345678')$$);

-- STRICT: NULL in, NULL out
SELECT sms_ir.normalize_mobile(NULL) IS NULL AS null_is_null;

------------------------------------------------------------------------
-- sms_send_verify
------------------------------------------------------------------------

-- NULL mobile or template_id: 22004
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify(NULL, 123456, '{"Code": "1"}')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', NULL, '{"Code": "1"}')$$);

-- bad mobile: 22023 naming the argument
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('0912123', 123456, '{"Code": "1"}')$$);

-- template_id must be positive
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 0, '{"Code": "1"}')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', -5, '{"Code": "1"}')$$);

-- parameters must be a JSON object or array, not a scalar
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '"4821"')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '4821')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456, 'null')$$);

-- a null parameter value: 22004, in both the object and the array form
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": null}')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456,
                      '[{"name": "Code", "value": null}]')$$);

-- a container as a value, an empty name: 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": {"a": 1}}')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": [1]}')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"": "1"}')$$);

-- array elements must be {"name": string, "value": scalar}
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '["Code"]')$$);
SELECT elem, sms_test.try(format('SELECT sms_ir.sms_send_verify(%L, 123456, %L)',
                                 '09121234567', elem))
  FROM unnest(ARRAY[
         '[{"name": "Code"}]', '[{"value": "1"}]', '[{"name": 1, "value": "1"}]',
         '[{"name": "Code", "value": "1"}, 2]', '[[1, 2]]'
       ]) AS elem;

-- values longer than sms.ir's 25 characters: 22023, counted in characters
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456,
                       jsonb_build_object('Code', repeat('7', 26)))$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456,
                      jsonb_build_object('Code', repeat('ک', 26)))$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456,
                      jsonb_build_array(jsonb_build_object('name', 'Code',
                                                           'value', repeat('x', 40))))$$);

------------------------------------------------------------------------
-- sms_send_bulk
------------------------------------------------------------------------

-- NULL message or mobiles: 22004
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk(NULL, ARRAY['09121234567'])$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', NULL)$$);

-- empty and blank message: 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('', ARRAY['09121234567'])$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_bulk(E' \t\r\n ', ARRAY['09121234567'])$$);

-- empty array: 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', '{}')$$);

-- a NULL element: 22004 naming its position
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567', NULL])$$);

-- a bad number: 22023 naming the number and its position
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567', '9121234567', '12345'])$$);

-- a two-dimensional array: 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY[['09121234567'], ['09121234568']])$$);

-- line numbers: digits only, at most 18 of them, never empty
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], 'abc')$$);
SELECT line, sms_test.try(format('SELECT sms_ir.sms_send_bulk(%L, ARRAY[%L], %L)',
                                 'hi', '09121234567', line))
  FROM unnest(ARRAY['3000-505', '+983000505', ' 3000505', '1234567890123456789', '']) AS line;

-- no line number at all: neither the argument nor sms_ir.line_number
SET sms_ir.line_number = '';
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'])$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_like_to_like(ARRAY['hi'], ARRAY['09121234567'])$$);
RESET sms_ir.line_number;
SHOW sms_ir.line_number;

-- send_at outside sms.ir's window (1 hour to 365 days ahead): 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], NULL,
                       '2020-01-01 00:00:00+00')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], NULL,
                       '2100-01-01 00:00:00+00')$$);
SELECT ahead, regexp_replace(sms_test.try(format(
         'SELECT sms_ir.sms_send_bulk(%L, ARRAY[%L], NULL, now() + %L::interval)',
         'hi', '09121234567', ahead)),
         'send_at .* is outside', 'send_at <time> is outside') AS result
  FROM unnest(ARRAY['-1 minute', '10 minutes', '59 minutes', '366 days',
                    '400 days']) AS ahead;
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], NULL, 'infinity')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], NULL, '-infinity')$$);

------------------------------------------------------------------------
-- sms_send_like_to_like
------------------------------------------------------------------------

-- NULL arrays and NULL elements: 22004
SELECT sms_test.fail($$SELECT sms_ir.sms_send_like_to_like(NULL, ARRAY['09121234567'])$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_like_to_like(ARRAY['a'], NULL)$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_like_to_like(ARRAY['a', NULL], ARRAY['09121234567', '09121234568'])$$);

-- mismatched lengths: 22023 with both counts
SELECT sms_test.fail($$SELECT sms_ir.sms_send_like_to_like(ARRAY['a', 'b'],
                       ARRAY['09121234567', '09121234568', '09121234569'])$$);

-- an empty or blank message element: 22023 naming its position
SELECT sms_test.fail($$SELECT sms_ir.sms_send_like_to_like(ARRAY['a', ' '],
                       ARRAY['09121234567', '09121234568'])$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_like_to_like(ARRAY['', 'b'],
                      ARRAY['09121234567', '09121234568'])$$);

-- empty arrays and bad mobiles: 22023
SELECT sms_test.try($$SELECT sms_ir.sms_send_like_to_like('{}', '{}')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_like_to_like(ARRAY['a', 'b'],
                       ARRAY['09121234567', '0912'])$$);

-- send_at outside the window
SELECT sms_test.try($$SELECT sms_ir.sms_send_like_to_like(ARRAY['a'], ARRAY['09121234567'],
                      NULL, '2020-01-01 00:00:00+00')$$);

------------------------------------------------------------------------
-- sms_send_template
------------------------------------------------------------------------

-- NULL recipient or template_id: 22004; bad recipient, empty template id: 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_send_template(NULL, '123456')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_template('09121234567', NULL)$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_template('abc', '123456')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_template('09121234567', '')$$);

-- on sms.ir only a numeric id without sender and send_at can be sent (as a
-- verify message); anything else is 0A000 with a hint
SELECT sms_test.fail($$SELECT sms_ir.sms_send_template('09121234567', 'otp-login', '{"Code": "1"}')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_template('09121234567', '123456', '{"Code": "1"}',
                       sender => '3000505')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_template('09121234567', '123456', '{"Code": "1"}',
                       send_at => now() + interval '2 hours')$$);
SELECT id, sms_test.try(format('SELECT sms_ir.sms_send_template(%L, %L)', '09121234567', id))
  FROM unnest(ARRAY[' 123456', '123456 ', '-123456', '12.5', '1e5']) AS id;

-- the template's parameters are checked like sms_send_verify's
SELECT sms_test.try($$SELECT sms_ir.sms_send_template('09121234567', '123456',
                      jsonb_build_object('Code', repeat('7', 26)))$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_template('09121234567', '123456', '"x"')$$);

-- a send_at outside the window is 22023 before the 0A000 check
SELECT sms_test.try($$SELECT sms_ir.sms_send_template('09121234567', '123456', '{}',
                      send_at => '2020-01-01 00:00:00+00')$$);

------------------------------------------------------------------------
-- ids: delivery status and cancel
------------------------------------------------------------------------

-- NULL: 22004; empty or over-long id: 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_delivery_status(NULL::text)$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_delivery_status('')$$);
SELECT sms_test.try(format('SELECT sms_ir.sms_delivery_status(%L)', repeat('1', 129)))
       = format('22023: invalid message_id "%s... (129 bytes)"', repeat('1', 64)) AS id_over_128_rejected;
SELECT sms_test.try($$SELECT sms_ir.sms_delivery_status(NULL::text[])$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_delivery_status(ARRAY['89545112', NULL])$$);
SELECT sms_test.try($$SELECT sms_ir.sms_delivery_status(ARRAY['89545112', ''])$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_cancel_scheduled(NULL)$$);
SELECT sms_test.try($$SELECT sms_ir.sms_cancel_scheduled('')$$);

-- an empty array asks nothing and returns no rows
SELECT count(*) FROM sms_ir.sms_delivery_status('{}'::text[]);

------------------------------------------------------------------------
-- sms_api
------------------------------------------------------------------------

-- methods: GET, POST, PUT, PATCH, DELETE only; NULL method or path: 22004
SELECT sms_test.fail($$SELECT sms_ir.sms_api('FETCH', '/v1/credit')$$);
SELECT m, sms_test.try(format('SELECT sms_ir.sms_api(%L, %L)', m, '/v1/credit'))
  FROM unnest(ARRAY['', 'HEAD', 'OPTIONS', 'GET ', 'CONNECT']) AS m;
SELECT sms_test.try($$SELECT sms_ir.sms_api(NULL, '/v1/credit')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_api('GET', NULL)$$);

-- paths must start with '/' and hold no whitespace (no other host, no
-- header injection)
SELECT sms_test.fail($$SELECT sms_ir.sms_api('GET', 'v1/credit')$$);
SELECT label, sms_test.try(format('SELECT sms_ir.sms_api(%L, %L)', 'GET', p)) LIKE
         '22023: invalid API path %' AS rejected
  FROM (VALUES ('empty', ''),
               ('absolute URL', 'http://example.com/v1/credit'),
               ('user info', '@example.com/v1/credit'),
               ('space', '/v1/credit HTTP/1.1'),
               ('CR LF', E'/v1/credit\r\nX-Injected: 1'),
               ('LF', E'/v1/credit\nX-Injected: 1'),
               ('tab', E'/v1/\tcredit')) AS t(label, p);

------------------------------------------------------------------------
-- provider_capabilities(): provider x operation from the provider registry
------------------------------------------------------------------------
SELECT function,
       string_agg(provider || CASE WHEN supported THEN '+' ELSE '-' END, ' ' ORDER BY provider) AS providers
  FROM sms_ir.provider_capabilities() GROUP BY function ORDER BY function;
-- every unsupported combination says what to use instead
SELECT provider, function FROM sms_ir.provider_capabilities() WHERE NOT supported AND hint IS NULL;

------------------------------------------------------------------------
-- nothing above reached the provider
------------------------------------------------------------------------
SELECT sms_test.mock_count() AS provider_requests;
