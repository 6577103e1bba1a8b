--
-- setup: create the extension and the helpers the other suites use.
--
-- pg_regress runs the suites in order in one database, so everything made
-- here stays for validation, send, status, errors and security.  The mock
-- provider (test/mock) listens at sms_ir.base_url; the suites
-- drive it through sms_ir.sms_api('...', '/__mock/...').
--
CREATE EXTENSION sms_ir;

-- the suites print Persian provider messages and count characters
SELECT getdatabaseencoding();

-- the synchronous SQL API these suites cover (SPEC §4)
SELECT p.oid::regprocedure AS function, pg_get_function_result(p.oid) AS returns,
       p.proisstrict AS strict, p.provolatile AS volatility
  FROM pg_proc p
 WHERE p.pronamespace = 'sms_ir'::regnamespace
   AND p.proname IN ('normalize_mobile', 'sms_send_bulk', 'sms_send_like_to_like',
                     'sms_send_verify', 'sms_send_template', 'sms_delivery_status',
                     'sms_credit', 'sms_lines', 'sms_cancel_scheduled', 'sms_api')
 ORDER BY p.proname, 1::text;

-- settings from test/regress.conf (base_url's port changes from run to run)
SHOW sms_ir.provider;
SHOW sms_ir.line_number;
SHOW sms_ir.timeout;
SHOW sms_ir.connect_timeout;
SELECT current_setting('sms_ir.base_url') ~ '^http://127\.0\.0\.1:[0-9]+$' AS base_url_is_mock;

-- helpers ----------------------------------------------------------------
CREATE SCHEMA sms_test;
GRANT USAGE ON SCHEMA sms_test TO PUBLIC;

-- untime(s): curl's messages carry elapsed times; replace them by N
CREATE FUNCTION sms_test.untime(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS
$$ SELECT regexp_replace(s, '[0-9]+ (ms|milliseconds)', 'N \1', 'g') $$;

-- try(sql): runs sql; 'ok', or 'SQLSTATE: message' of the error it raised
-- (also catches query_canceled, which WHEN OTHERS leaves out)
CREATE FUNCTION sms_test.try(sql text) RETURNS text
LANGUAGE plpgsql AS
$$
DECLARE
  st  text;
  msg text;
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS OR query_canceled THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN st || ': ' || sms_test.untime(msg);
END
$$;

-- fail(sql): runs sql, which must fail, and raises its error again with the
-- SQLSTATE in front of the message, keeping DETAIL and HINT.  Suites run with
-- \set SHOW_CONTEXT never, so psql prints ERROR, DETAIL and HINT only, like
-- VERBOSITY verbose without the LOCATION line.
CREATE FUNCTION sms_test.fail(sql text) RETURNS void
LANGUAGE plpgsql AS
$$
DECLARE
  st  text;
  msg text;
  det text;
  hnt text;
  succeeded boolean := false;
BEGIN
  BEGIN
    EXECUTE sql;
    succeeded := true;
  EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
  END;
  IF succeeded THEN
    RAISE EXCEPTION 'expected an error, but the statement succeeded';
  END IF;
  msg := st || ': ' || sms_test.untime(msg);
  det := sms_test.untime(det);
  IF det <> '' AND hnt <> '' THEN
    RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det, HINT = hnt;
  ELSIF det <> '' THEN
    RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det;
  ELSIF hnt <> '' THEN
    RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, HINT = hnt;
  ELSE
    RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg;
  END IF;
END
$$;

-- mock_count(): number of provider requests the mock received since reset
-- (control calls under /__mock/ are not counted)
CREATE FUNCTION sms_test.mock_count() RETURNS int
LANGUAGE sql AS
$$ SELECT (sms_ir.sms_api('GET', '/__mock/count') ->> 'count')::int $$;

-- requests(n): the last n requests the mock received, oldest first, without
-- the time stamp and the headers (they carry the API key)
CREATE FUNCTION sms_test.requests(n int DEFAULT 1)
RETURNS TABLE(seq int, method text, path text, body jsonb)
LANGUAGE sql AS
$$
SELECT (e ->> 'seq')::int, e ->> 'method', e ->> 'path', e -> 'body'
  FROM jsonb_array_elements(sms_ir.sms_api('GET', '/__mock/requests?last=' || n))
       WITH ORDINALITY AS r(e, i)
 ORDER BY i
$$;

-- last_request(): the full log entry of the last request, time stamp removed
CREATE FUNCTION sms_test.last_request() RETURNS jsonb
LANGUAGE sql AS
$$ SELECT (sms_ir.sms_api('GET', '/__mock/requests?last=1') -> 0) - 't' $$;

-- fault(spec): add a fault to the mock; true when the mock accepted it
CREATE FUNCTION sms_test.fault(spec jsonb) RETURNS boolean
LANGUAGE sql AS
$$ SELECT (sms_ir.sms_api('POST', '/__mock/fault', spec) ->> 'ok')::boolean $$;

-- the helpers reach the mock
SELECT sms_ir.sms_api('POST', '/__mock/reset');
SELECT sms_test.mock_count();
SELECT sms_test.try('SELECT 1');
SELECT sms_test.try('SELECT 1/0');
\set SHOW_CONTEXT never
SELECT sms_test.fail('SELECT 1/0');
SELECT sms_test.fail($$SELECT sms_ir.normalize_mobile('1')$$);
SELECT sms_test.fail('SELECT 1');
