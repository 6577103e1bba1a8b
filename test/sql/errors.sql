--
-- errors: every way a provider call can fail maps to its own SQLSTATE, with
-- the provider's code and message in the error, no secret in it, and the
-- backend still working afterwards (SPEC §7, §8).  Faults are injected
-- through the mock's /__mock/fault.
--
\set SHOW_CONTEXT never
\set VERBOSITY default
SELECT sms_ir.sms_api('POST', '/__mock/reset');

-- error_text(sql): message, DETAIL, HINT and CONTEXT of the error sql
-- raises, as one text (to search it for secrets)
CREATE FUNCTION sms_test.error_text(sql text) RETURNS text
LANGUAGE plpgsql AS
$$
DECLARE
  msg text;
  det text;
  hnt text;
  ctx text;
BEGIN
  EXECUTE sql;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                          hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
  RETURN concat_ws(' | ', msg, det, hnt, ctx);
END
$$;

------------------------------------------------------------------------
-- authentication
------------------------------------------------------------------------

-- a wrong key: the provider's 401 (code 10) is 28000
SET sms_ir.api_key = 'wrong-key-4f7d';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);

-- the key is in none of message, DETAIL, HINT or CONTEXT
SELECT position('wrong-key-4f7d' IN sms_test.error_text($$SELECT sms_ir.sms_credit()$$)) = 0
         AS credit_error_has_no_key,
       position('wrong-key-4f7d' IN sms_test.error_text(
         $$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'])$$)) = 0
         AS bulk_error_has_no_key;
RESET sms_ir.api_key;

-- ... though it was the key sent (the log is read with the right key)
SELECT r -> 'headers' ->> 'x-api-key' = 'wrong-key-4f7d' AS wrong_key_was_sent,
       r ->> 'reply_status' AS reply_status
  FROM sms_test.last_request() AS r;

-- no key at all: 28000 before any request
SELECT sms_test.mock_count() AS requests_before \gset
SET sms_ir.api_key = '';
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.try($$SELECT sms_ir.sms_api('GET', '/v1/credit')$$);
RESET sms_ir.api_key;
SELECT sms_test.mock_count() - :requests_before AS new_requests;

-- an HTTP 401 whatever the body says is 28000
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 401}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);

-- HTTP 403 with code 12 (IP not allowed) is 42501
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 403,
  "body": {"status": 12, "message": "آی پی مجاز نیست", "data": null}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);

-- the codes of sms.ir's complete table keep their class: 16 (a parameter
-- value is wrong) is 22023, 118 (too many messages) 53400, 123 (line must be
-- activated) 42501, 124 (only OTP templates now) 38000
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 400,
  "body": {"status": 16, "message": "مقدار پارامتر نامعتبر است", "data": null}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 400,
  "body": {"status": 118, "message": "تعداد پیامک ها بیش از حد مجاز است", "data": null}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 400,
  "body": {"status": 123, "message": "خط ارسال کننده باید فعال شود", "data": null}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 400,
  "body": {"status": 124, "message": "فقط ارسال با قالب کد تایید مجاز است", "data": null}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);

------------------------------------------------------------------------
-- provider-side failures
------------------------------------------------------------------------

-- HTTP 500: 58000 (system_error), and the next call works
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 500}');
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);
SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}');

-- HTTP 502 with an HTML body: 58000 too
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 502,
  "body": "<html><body>Bad Gateway</body></html>"}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);

-- HTTP 429 with Retry-After: 53400 (configuration_limit_exceeded), whatever
-- the body says; code 20 (rate limited) likewise
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 429,
  "headers": {"Retry-After": "7"}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 429,
  "headers": {"Retry-After": "7"}, "body": ""}');
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 429,
  "body": {"status": 20, "message": "تعداد درخواست بیش از حد مجاز", "data": null}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);

-- an ASP.NET ProblemDetails 400: 22023 with the field errors in DETAIL
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 400,
  "body": {"type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
           "title": "One or more validation errors occurred.", "status": 400,
           "traceId": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
           "errors": {"Mobile": ["The Mobile field is required."],
                      "Parameters[0].Value": ["The Value field is required.",
                                              "max length 25"]}}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);

-- ProblemDetails with other statuses keep the status's meaning
SELECT sms_test.fault('[{"match": "/v1/credit", "kind": "status", "status": 500,
                         "body": {"title": "An error occurred.", "status": 500}},
                        {"match": "/v1/credit", "kind": "status", "status": 429,
                         "body": {"title": "Too Many Requests", "status": 429}}]');
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);

-- an envelope code the extension does not know: 38000 with code and message
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 400,
  "body": {"status": 777, "message": "new rule", "data": null}}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);

-- out of credit: code 102 is 53000 (insufficient_resources)
SELECT sms_ir.sms_api('POST', '/__mock/credit', '{"credit": 0}');
SELECT sms_test.fail($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'])$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);

-- a split send that fails half way: the error says which requests had
-- already gone out (150 credit: the first 100 pass, the next 100 do not,
-- and the last 50 are not tried)
SELECT sms_ir.sms_api('POST', '/__mock/credit', '{"credit": 150}');
SELECT sms_test.mock_count() AS requests_before \gset
\set SHOW_CONTEXT errors
SELECT * FROM sms_ir.sms_send_bulk('Sale!',
  ARRAY(SELECT '0912' || lpad(i::text, 7, '0') FROM generate_series(1, 250) AS i));
\set SHOW_CONTEXT never
SELECT sms_test.mock_count() - :requests_before AS new_requests;
SELECT sms_ir.sms_credit();
SELECT sms_ir.sms_api('POST', '/__mock/credit', '{"credit": 10000}');

------------------------------------------------------------------------
-- replies that cannot be understood: 08P01 (protocol_violation)
------------------------------------------------------------------------

-- an HTML page with status 200, and the backend is fine afterwards
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "garbage"}');
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);
SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}');

-- sms_api too
SELECT sms_test.fault('{"match": "/v1/line", "kind": "garbage", "body": "not json"}');
SELECT sms_test.try($$SELECT sms_ir.sms_api('GET', '/v1/line')$$);

-- truncated JSON, trailing garbage, an empty body
SELECT sms_test.fault('[{"match": "/v1/credit", "kind": "status", "status": 200,
                         "body": "{\"status\": 1, \"data\": 10"},
                        {"match": "/v1/credit", "kind": "status", "status": 200,
                         "body": "{\"status\": 1, \"data\": 10} x"},
                        {"match": "/v1/credit", "kind": "status", "status": 200,
                         "body": ""}]');
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);

-- JSON of the wrong shape: no status field, data of the wrong type
SELECT sms_test.fault('[{"match": "/v1/credit", "kind": "status", "status": 200,
                         "body": {"ok": true}},
                        {"match": "/v1/credit", "kind": "status", "status": 200,
                         "body": {"status": 1, "message": "موفق", "data": "lots"}},
                        {"match": "/v1/send/verify", "kind": "status", "status": 200,
                         "body": {"status": 1, "message": "موفق", "data": null}},
                        {"match": "/v1/send/bulk", "kind": "status", "status": 200,
                         "body": {"status": 1, "message": "موفق", "data": {"packId": "p"}}},
                        {"match": "/v1/line", "kind": "status", "status": 200,
                         "body": {"status": 1, "message": "موفق", "data": [1, [2]]}}]');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}')$$);
SELECT sms_test.try($$SELECT sms_ir.sms_send_bulk('hi', ARRAY['09121234567'])$$);
SELECT sms_test.try($$SELECT sms_ir.sms_lines()$$);

-- a reply over 4 MB is refused: fill the mock's request log with six
-- ~900 kB requests, then ask for the whole log
SELECT sms_ir.sms_api('POST', '/__mock/reset');
SELECT sms_test.try(format('SELECT sms_ir.sms_api(%L, %L, %L)', 'POST', '/v1/pad',
                           jsonb_build_object('pad', repeat('x', 900000))))
  FROM generate_series(1, 6);
SELECT sms_test.fail($$SELECT sms_ir.sms_api('GET', '/__mock/requests')$$);
-- four of them (3.6 MB) are still fine, and so is the backend
SELECT jsonb_array_length(sms_ir.sms_api('GET', '/__mock/requests?last=4')) AS entries;
SELECT sms_ir.sms_api('POST', '/__mock/reset');
SELECT sms_ir.sms_credit();

------------------------------------------------------------------------
-- network failures
------------------------------------------------------------------------

-- a reply slower than sms_ir.timeout: 58030 (io_error)
SET sms_ir.timeout = '300ms';
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "delay", "delay_ms": 2000}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
RESET sms_ir.timeout;
SELECT sms_ir.sms_credit();

-- the connection closed or reset with no reply: 08006 (connection_failure);
-- each fault is armed twice, since libcurl retries once on a fresh
-- connection when a reused one dies before any reply
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "close", "count": 2}');
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
SELECT sms_ir.sms_api('DELETE', '/__mock/fault');
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "reset", "count": 2}');
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
SELECT sms_ir.sms_api('DELETE', '/__mock/fault');
SELECT sms_ir.sms_credit();

-- nobody listening: 08001 (sqlclient_unable_to_establish_sqlconnection)
SET sms_ir.base_url = 'http://127.0.0.1:1';
SELECT sms_test.fail($$SELECT sms_ir.sms_credit()$$);
-- only http and https are spoken
SET sms_ir.base_url = 'file:///etc';
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
SET sms_ir.base_url = 'ftp://127.0.0.1:1';
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
RESET sms_ir.base_url;
SELECT sms_ir.sms_credit();

-- a base_url with a trailing slash still makes clean paths
SELECT set_config('sms_ir.base_url', current_setting('sms_ir.base_url') || '/', false) LIKE '%/'
         AS trailing_slash;
SELECT sms_ir.sms_credit();
SELECT method, path FROM sms_test.requests();
RESET sms_ir.base_url;

------------------------------------------------------------------------
-- statement_timeout and cancel interrupt a call in flight
------------------------------------------------------------------------

-- the provider takes 3 s; statement_timeout (200 ms) stops the call with
-- 57014 well before that, and the next call works
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "delay", "delay_ms": 3000}');
SELECT clock_timestamp() AS started \gset
SET statement_timeout = '200ms';
SELECT sms_test.try($$SELECT sms_ir.sms_credit()$$);
RESET statement_timeout;
SELECT clock_timestamp() - :'started'::timestamptz < interval '1.5 s' AS interrupted_early;
SELECT sms_ir.sms_credit();

-- the same for a send (to an unknown template, so that the mock, which
-- goes on after the delay, changes nothing)
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "delay", "delay_ms": 3000}');
SET statement_timeout = '200ms';
SELECT sms_test.fail($$SELECT sms_ir.sms_send_verify('09121234567', 999, '{"Code": "1"}')$$);
RESET statement_timeout;
SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}');

-- a reply that is a bare number keeps its spelling (json-c keeps a parsed
-- double's text in the object's userdata, where the reply's owner used to
-- go: sms_api returned the owner's bytes; found by the json fuzz target)
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 200, "body_hex": "372e3432"}');
SELECT sms_ir.sms_api('GET', '/v1/credit') AS bare_double;
SELECT sms_test.fault('{"match": "/v1/credit", "kind": "status", "status": 200, "body_hex": "31652b33"}');
SELECT sms_ir.sms_api('GET', '/v1/credit') AS bare_exponent;
