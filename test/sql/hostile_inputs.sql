--
-- hostile_inputs: every SQL function of sms_ir that takes an argument, and a
-- plain INSERT into sms_ir.outbox, fed hostile values: huge arrays (100,000
-- elements), 1 MB texts, control bytes, invalid UTF-8, emoji and
-- bidirectional marks, Persian and Arabic digits, negative, zero and
-- overflowing ids, NULL elements, non-string jsonb parameters, SQL-looking
-- strings, infinite times and huge intervals.  As the superuser and as an
-- application role holding the README's GRANTs.
--
-- Part 1 is a table of cases, each with the SQLSTATE it must raise; part 2
-- runs every argument slot with every hostile value and lists what got
-- through validation.  Then: the outbox gained no row, the mock received no
-- request (the synchronous sends refuse before any HTTP request), every
-- error of sms_ir's carries a hint, no message echoes a huge value, no
-- message holds the API key.
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');
SELECT count(*) AS outbox_before FROM sms_ir.outbox \gset

CREATE SCHEMA hostile;
GRANT USAGE ON SCHEMA hostile TO PUBLIC;

-- shown(s): a message as the tables print it: at most 90 characters, control
-- and invisible characters as \uXXXX (so the .out stays readable)
CREATE FUNCTION hostile.shown(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS
$$
SELECT CASE WHEN length(e) > 90 THEN left(e, 87) || '...' ELSE e END
  FROM (SELECT string_agg(CASE WHEN c ~ '[[:cntrl:]]' OR c IN (U&'\200B', U&'\200C', U&'\200D',
                                    U&'\200E', U&'\200F', U&'\202A', U&'\202B', U&'\202C',
                                    U&'\202D', U&'\202E', U&'\2066', U&'\2067', U&'\2068',
                                    U&'\2069', U&'\FEFF')
                               THEN '\u' || lpad(to_hex(ascii(c)), 4, '0') ELSE c END, '' ORDER BY i)
          FROM regexp_split_to_table(s, '') WITH ORDINALITY AS t(c, i)) AS x(e)
$$;

-- outcome(sql): runs sql and undoes whatever it did; its SQLSTATE, message,
-- detail and hint, or 'ok' when it succeeded
CREATE FUNCTION hostile.outcome(sql text, OUT state text, OUT message text,
                                OUT detail text, OUT hint text)
LANGUAGE plpgsql AS
$$
BEGIN
  BEGIN
    EXECUTE sql;
    RAISE EXCEPTION USING ERRCODE = 'HOSOK', MESSAGE = 'accepted';   -- undo it
  EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  END;
  IF state = 'HOSOK' THEN
    state := 'ok';
    message := NULL;
  END IF;
END
$$;

-- the application role of the README's "Security" section
DROP ROLE IF EXISTS hostile_app;
CREATE ROLE hostile_app NOLOGIN;
GRANT USAGE ON SCHEMA sms_ir TO hostile_app;
GRANT EXECUTE ON FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text, smallint, interval),
                          sms_ir.queue_bulk(text, text[], text, timestamptz, text, smallint, interval) TO hostile_app;
GRANT EXECUTE ON FUNCTION sms_ir.sms_send_verify(text, bigint, jsonb) TO hostile_app;
GRANT SELECT ON sms_ir.outbox, sms_ir.outbox_stats TO hostile_app;
GRANT INSERT ON sms_ir.outbox TO hostile_app;

------------------------------------------------------------------------
-- Part 1: cases.  want: the SQLSTATE; pg: the error is PostgreSQL's own
-- (a literal it cannot read, a cast that overflows), raised before sms_ir
-- runs; app: run as hostile_app too (what it was granted).
------------------------------------------------------------------------
CREATE TABLE hostile.cases (
  n     int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  fn    text NOT NULL,
  label text NOT NULL,
  want  text NOT NULL,
  sql   text NOT NULL,
  pg    boolean NOT NULL DEFAULT false,
  app   boolean NOT NULL DEFAULT false,
  provider text NOT NULL DEFAULT 'smsir'
);
CREATE TABLE hostile.results (n int, who text, state text, message text, detail text, hint text);
GRANT SELECT ON hostile.cases TO hostile_app;
GRANT INSERT ON hostile.results TO hostile_app;

-- 100,000 valid mobiles (a huge but well-formed list)
CREATE FUNCTION hostile.mobiles(n int) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$ SELECT array_fill('09121234567'::text, ARRAY[n]) $$;
-- n template parameters p1..pn
CREATE FUNCTION hostile.params(n int) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS
$$ SELECT coalesce(jsonb_object_agg('p' || i, '1'), '{}') FROM generate_series(1, n) AS i $$;

INSERT INTO hostile.cases (fn, label, want, sql, pg, app, provider) VALUES
-- normalize_mobile
('normalize_mobile', '1 MB text', '22023', $$SELECT sms_ir.normalize_mobile(repeat('9', 1048576))$$, false, false, 'smsir'),
('normalize_mobile', 'RLM before the number', '22023', $$SELECT sms_ir.normalize_mobile(U&'\200F09121234567')$$, false, false, 'smsir'),
('normalize_mobile', 'LRE ... PDF around it', '22023', $$SELECT sms_ir.normalize_mobile(U&'\202A09121234567\202C')$$, false, false, 'smsir'),
('normalize_mobile', 'Persian digits', 'ok', $$SELECT sms_ir.normalize_mobile('۰۹۱۲۱۲۳۴۵۶۷')$$, false, false, 'smsir'),
('normalize_mobile', 'Arabic-Indic digits', 'ok', $$SELECT sms_ir.normalize_mobile('٠٩١٢١٢٣٤٥٦٧')$$, false, false, 'smsir'),
('normalize_mobile', 'emoji', '22023', $$SELECT sms_ir.normalize_mobile('0912😀1234567')$$, false, false, 'smsir'),
('normalize_mobile', 'control byte', '22023', $$SELECT sms_ir.normalize_mobile(E'0912\x011234567')$$, false, false, 'smsir'),
('normalize_mobile', 'ANSI escape', '22023', $$SELECT sms_ir.normalize_mobile(E'\x1b[2J09121234567')$$, false, false, 'smsir'),
('normalize_mobile', 'invalid UTF-8', '22021', $$SELECT sms_ir.normalize_mobile(convert_from('\x30393132c328'::bytea, 'UTF8'))$$, true, false, 'smsir'),
('normalize_mobile', 'SQL', '22023', $$SELECT sms_ir.normalize_mobile($q$0912'; DROP TABLE sms_ir.outbox; --$q$)$$, false, false, 'smsir'),
-- sms_send_bulk
('sms_send_bulk', '100,000 mobiles, the last bad', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', hostile.mobiles(99999) || '0912'::text)$$, false, false, 'smsir'),
('sms_send_bulk', '100,000 mobiles, the last NULL', '22004', $$SELECT * FROM sms_ir.sms_send_bulk('hi', hostile.mobiles(99999) || NULL::text)$$, false, false, 'smsir'),
('sms_send_bulk', 'mobiles {NULL}', '22004', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY[NULL]::text[])$$, false, false, 'smsir'),
('sms_send_bulk', 'mobiles 2-D', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY[['09121234567'], ['09121234568']])$$, false, false, 'smsir'),
('sms_send_bulk', '1 MB message', '22023', $$SELECT * FROM sms_ir.sms_send_bulk(repeat('x', 1048576), ARRAY['09121234567'])$$, false, false, 'smsir'),
('sms_send_bulk', '1 MB Persian message', '22023', $$SELECT * FROM sms_ir.sms_send_bulk(repeat('س', 524288), ARRAY['09121234567'])$$, false, false, 'smsir'),
('sms_send_bulk', 'control byte in message', '22023', $$SELECT * FROM sms_ir.sms_send_bulk(E'hi\x07there', ARRAY['09121234567'])$$, false, false, 'smsir'),
('sms_send_bulk', 'ANSI escape in message', '22023', $$SELECT * FROM sms_ir.sms_send_bulk(E'\x1b[31mred', ARRAY['09121234567'])$$, false, false, 'smsir'),
('sms_send_bulk', 'C1 control in message', '22023', $$SELECT * FROM sms_ir.sms_send_bulk(U&'next\0085line', ARRAY['09121234567'])$$, false, false, 'smsir'),
('sms_send_bulk', 'line_number 0', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], '0')$$, false, false, 'smsir'),
('sms_send_bulk', 'line_number 000', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], '000')$$, false, false, 'smsir'),
('sms_send_bulk', 'line_number -1', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], '-1')$$, false, false, 'smsir'),
('sms_send_bulk', 'line_number 1 MB of digits', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], repeat('3', 1048576))$$, false, false, 'smsir'),
('sms_send_bulk', 'line_number Persian digits', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], '۳۰۰۰۴۵۰۵')$$, false, false, 'smsir'),
('sms_send_bulk', 'line_number SQL', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], $q$3000' OR '1'='1$q$)$$, false, false, 'smsir'),
('sms_send_bulk', 'send_at infinity', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], NULL, 'infinity')$$, false, false, 'smsir'),
('sms_send_bulk', 'send_at -infinity', '22023', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], NULL, '-infinity')$$, false, false, 'smsir'),
-- sms_send_like_to_like
('sms_send_like_to_like', '100,000 each, the last message NULL', '22004', $$SELECT * FROM sms_ir.sms_send_like_to_like(array_fill('hi'::text, ARRAY[99999]) || NULL::text, hostile.mobiles(100000))$$, false, false, 'smsir'),
('sms_send_like_to_like', '1 message, 100,000 mobiles', '22023', $$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['hi'], hostile.mobiles(100000))$$, false, false, 'smsir'),
('sms_send_like_to_like', 'an empty message', '22023', $$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['hi', ' '], ARRAY['09121234567', '09121234568'])$$, false, false, 'smsir'),
('sms_send_like_to_like', 'control byte in element 2', '22023', $$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['hi', E'a\x02'], ARRAY['09121234567', '09121234568'])$$, false, false, 'smsir'),
('sms_send_like_to_like', 'send_at -infinity', '22023', $$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['hi'], ARRAY['09121234567'], NULL, '-infinity')$$, false, false, 'smsir'),
-- sms_send_verify
('sms_send_verify', 'template_id 0', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 0, '{"code": "1"}')$$, false, true, 'smsir'),
('sms_send_verify', 'template_id -1', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', -1, '{"code": "1"}')$$, false, true, 'smsir'),
('sms_send_verify', 'template_id bigint max', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 9223372036854775807, '{"code": "1"}')$$, false, true, 'smsir'),
('sms_send_verify', 'template_id bigint max + 1', '22003', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 9223372036854775808::bigint, '{"code": "1"}')$$, true, true, 'smsir'),
('sms_send_verify', 'Persian-digit mobile, object parameter', '22023', $$SELECT * FROM sms_ir.sms_send_verify('۰۹۱۲۱۲۳۴۵۶۷', 123456, '{"code": {"a": 1}}')$$, false, true, 'smsir'),
('sms_send_verify', 'array parameter value', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"code": [1, 2]}')$$, false, true, 'smsir'),
('sms_send_verify', 'parameters a number', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '5')$$, false, true, 'smsir'),
('sms_send_verify', 'parameters true', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, 'true')$$, false, true, 'smsir'),
('sms_send_verify', 'parameters JSON null', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, 'null')$$, false, true, 'smsir'),
('sms_send_verify', 'parameters a string', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '"code"')$$, false, true, 'smsir'),
('sms_send_verify', 'parameters [1, 2]', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '[1, 2]')$$, false, true, 'smsir'),
('sms_send_verify', 'a null value', '22004', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"code": null}')$$, false, true, 'smsir'),
('sms_send_verify', 'a huge number (1e1000)', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"code": 1e1000}')$$, false, true, 'smsir'),
('sms_send_verify', '100,000 parameters', '54000', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, hostile.params(100000))$$, false, true, 'smsir'),
('sms_send_verify', '101 parameters', '54000', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, hostile.params(101))$$, false, true, 'smsir'),
('sms_send_verify', '101 parameters as an array', '54000', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, (SELECT jsonb_agg(jsonb_build_object('name', 'p' || i, 'value', '1')) FROM generate_series(1, 101) i))$$, false, true, 'smsir'),
('sms_send_verify', 'a 1 MB parameter name', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, jsonb_build_object(repeat('n', 1048576), '1'))$$, false, true, 'smsir'),
('sms_send_verify', 'a parameter name with a control byte', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"co\u0001de": "1"}')$$, false, true, 'smsir'),
('sms_send_verify', 'an empty parameter name', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"": "1"}')$$, false, true, 'smsir'),
('sms_send_verify', 'a parameter name twice', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '[{"name": "code", "value": "1"}, {"name": "code", "value": "2"}]')$$, false, true, 'smsir'),
('sms_send_verify', 'a value with a control byte', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"code": "12\u001b34"}')$$, false, true, 'smsir'),
('sms_send_verify', 'a 1 MB value', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, jsonb_build_object('code', repeat('1', 1048576)))$$, false, true, 'smsir'),
('sms_send_verify', 'array element not an object', '22023', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '[{"name": "code", "value": "1"}, 7]')$$, false, true, 'smsir'),
('sms_send_verify', 'mobile SQL', '22023', $$SELECT * FROM sms_ir.sms_send_verify($q$09121234567' OR 1=1 --$q$, 123456, '{}')$$, false, true, 'smsir'),
-- sms_send_template
('sms_send_template', 'template_id 0', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', '0', '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id 000', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', '000', '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id -1', '0A000', $$SELECT * FROM sms_ir.sms_send_template('09121234567', '-1', '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id +123', '0A000', $$SELECT * FROM sms_ir.sms_send_template('09121234567', '+123', '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id 40 digits', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', repeat('9', 40), '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id Persian digits', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', '۱۲۳۴۵۶', '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id 1 MB', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', repeat('t', 1048576), '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id control byte', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', E'12\x0134', '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id with a space', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', ' 123', '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'template_id SQL', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', $q$1'; DROP TABLE sms_ir.template; --$q$, '{"code": "1"}')$$, false, false, 'smsir'),
('sms_send_template', 'send_at infinity', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', '123456', '{"code": "1"}', NULL, 'infinity')$$, false, false, 'smsir'),
('sms_send_template', 'smsafzar: template_id control byte', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', E'Tyd\x7fSt', '{"code": "1"}')$$, false, false, 'smsafzar'),
('sms_send_template', 'smsafzar: template_id 0', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', '0', '{"code": "1"}')$$, false, false, 'smsafzar'),
('sms_send_template', 'smsafzar: sender with a control byte', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1"}', E'1000\x0a2000')$$, false, false, 'smsafzar'),
('sms_send_template', 'smsafzar: sender 0', '22023', $$SELECT * FROM sms_ir.sms_send_template('09121234567', 'TydSt1skQE', '{"code": "1"}', '0')$$, false, false, 'smsafzar'),
-- sms_delivery_status (text and text[]), sms_cancel_scheduled: opaque ids
('sms_delivery_status', 'empty id', '22023', $$SELECT * FROM sms_ir.sms_delivery_status('')$$, false, false, 'smsir'),
('sms_delivery_status', '1 MB id', '22023', $$SELECT * FROM sms_ir.sms_delivery_status(repeat('1', 1048576))$$, false, false, 'smsir'),
('sms_delivery_status', 'control byte', '22023', $$SELECT * FROM sms_ir.sms_delivery_status(E'895\x0d\x0a45112')$$, false, false, 'smsir'),
('sms_delivery_status', 'Persian digits', '22023', $$SELECT * FROM sms_ir.sms_delivery_status('۸۹۵۴۵۱۱۲')$$, false, false, 'smsir'),
('sms_delivery_status', 'SQL with spaces', '22023', $$SELECT * FROM sms_ir.sms_delivery_status($q$1' OR '1'='1$q$)$$, false, false, 'smsir'),
('sms_delivery_status', 'RLO mark', '22023', $$SELECT * FROM sms_ir.sms_delivery_status(U&'\202E21154598')$$, false, false, 'smsir'),
('sms_delivery_status', '100,000 ids, the last NULL', '22004', $$SELECT * FROM sms_ir.sms_delivery_status(array_fill('89545112'::text, ARRAY[99999]) || NULL::text)$$, false, false, 'smsir'),
('sms_delivery_status', '100,000 ids, the last empty', '22023', $$SELECT * FROM sms_ir.sms_delivery_status(array_fill('89545112'::text, ARRAY[99999]) || ''::text)$$, false, false, 'smsir'),
('sms_delivery_status', 'ids 2-D', '22023', $$SELECT * FROM sms_ir.sms_delivery_status(ARRAY[['1'], ['2']])$$, false, false, 'smsir'),
('sms_cancel_scheduled', 'empty pack id', '22023', $$SELECT sms_ir.sms_cancel_scheduled('')$$, false, false, 'smsir'),
('sms_cancel_scheduled', 'control byte', '22023', $$SELECT sms_ir.sms_cancel_scheduled(E'2b99e63c\x03')$$, false, false, 'smsir'),
('sms_cancel_scheduled', 'NUL byte', '22021', $$SELECT sms_ir.sms_cancel_scheduled(E'2b99e63c\x00')$$, true, false, 'smsir'),
('sms_cancel_scheduled', 'tab', '22023', $$SELECT sms_ir.sms_cancel_scheduled(E'2b99e63c\t9bf8')$$, false, false, 'smsir'),
('sms_cancel_scheduled', '1 MB pack id', '22023', $$SELECT sms_ir.sms_cancel_scheduled(repeat('a', 1048576))$$, false, false, 'smsir'),
-- sms_api
('sms_api', '1 MB method', '22023', $$SELECT sms_ir.sms_api(repeat('G', 1048576), '/v1/credit')$$, false, false, 'smsir'),
('sms_api', 'method with a control byte', '22023', $$SELECT sms_ir.sms_api(E'GET\x01', '/v1/credit')$$, false, false, 'smsir'),
('sms_api', 'path with a control byte', '22023', $$SELECT sms_ir.sms_api('GET', E'/v1/credit\x01')$$, false, false, 'smsir'),
('sms_api', 'path with DEL', '22023', $$SELECT sms_ir.sms_api('GET', E'/v1/credit\x7f')$$, false, false, 'smsir'),
('sms_api', 'path with ESC', '22023', $$SELECT sms_ir.sms_api('GET', E'/v1/\x1b[2Jcredit')$$, false, false, 'smsir'),
('sms_api', 'path with CR LF (header injection)', '22023', $$SELECT sms_ir.sms_api('GET', E'/v1/credit\r\nX-Evil: 1')$$, false, false, 'smsir'),
('sms_api', 'path with an RLO mark', '22023', $$SELECT sms_ir.sms_api('GET', U&'/v1/\202Etiderc')$$, false, false, 'smsir'),
('sms_api', 'path with Persian text', '22023', $$SELECT sms_ir.sms_api('GET', '/v1/receive/live?mobile=۰۹۱۲')$$, false, false, 'smsir'),
('sms_api', 'path without a leading /', '22023', $$SELECT sms_ir.sms_api('GET', 'v1/credit')$$, false, false, 'smsir'),
('sms_api', 'absolute URL', '22023', $$SELECT sms_ir.sms_api('GET', 'http://evil.example/v1/credit')$$, false, false, 'smsir'),
('sms_api', 'scheme-relative URL', '22023', $$SELECT sms_ir.sms_api('GET', '//evil.example/v1/credit')$$, false, false, 'smsir'),
('sms_api', 'dot-dot segment', '22023', $$SELECT sms_ir.sms_api('GET', '/v1/../__mock/reset')$$, false, false, 'smsir'),
('sms_api', 'trailing dot-dot', '22023', $$SELECT sms_ir.sms_api('GET', '/v1/..')$$, false, false, 'smsir'),
('sms_api', '1 MB path', '22023', $$SELECT sms_ir.sms_api('GET', '/' || repeat('a', 1048576))$$, false, false, 'smsir'),
('sms_api', 'SQL in the path', '22023', $$SELECT sms_ir.sms_api('GET', $q$/v1/credit'; DROP TABLE sms_ir.outbox; --$q$)$$, false, false, 'smsir'),
-- sms_inbox
('sms_inbox', 'count 0', '22023', $$SELECT * FROM sms_ir.sms_inbox(0)$$, false, false, 'smsir'),
('sms_inbox', 'count -1', '22023', $$SELECT * FROM sms_ir.sms_inbox(-1)$$, false, false, 'smsir'),
('sms_inbox', 'count int max', '22023', $$SELECT * FROM sms_ir.sms_inbox(2147483647)$$, false, false, 'smsir'),
('sms_inbox', 'count int max + 1', '22003', $$SELECT * FROM sms_ir.sms_inbox(2147483648::int)$$, true, false, 'smsir'),
-- sms_send_to_contacts (smsir_legacy)
('sms_send_to_contacts', '100,000 group ids, the last 0', '22023', $$SELECT * FROM sms_ir.sms_send_to_contacts('hi', array_fill(7, ARRAY[99999]) || 0)$$, false, false, 'smsir_legacy'),
('sms_send_to_contacts', 'a NULL group id', '22004', $$SELECT * FROM sms_ir.sms_send_to_contacts('hi', ARRAY[7, NULL])$$, false, false, 'smsir_legacy'),
('sms_send_to_contacts', 'a negative relation id', '22023', $$SELECT * FROM sms_ir.sms_send_to_contacts('hi', '{}', ARRAY[-5])$$, false, false, 'smsir_legacy'),
('sms_send_to_contacts', 'group id int max + 1', '22003', $$SELECT * FROM sms_ir.sms_send_to_contacts('hi', ARRAY[2147483648]::int[])$$, true, false, 'smsir_legacy'),
('sms_send_to_contacts', 'group ids 2-D', '22023', $$SELECT * FROM sms_ir.sms_send_to_contacts('hi', ARRAY[[7], [8]])$$, false, false, 'smsir_legacy'),
('sms_send_to_contacts', 'control byte in message', '22023', $$SELECT * FROM sms_ir.sms_send_to_contacts(E'hi\x08', ARRAY[7])$$, false, false, 'smsir_legacy'),
('sms_send_to_contacts', '1 MB message', '22023', $$SELECT * FROM sms_ir.sms_send_to_contacts(repeat('x', 1048576), ARRAY[7])$$, false, false, 'smsir_legacy'),
-- queue_verify
('queue_verify', 'template_id 0', '22023', $$SELECT sms_ir.queue_verify('09121234567', 0)$$, false, true, 'smsir'),
('queue_verify', 'send_after infinity', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, '{}', 'infinity')$$, false, true, 'smsir'),
('queue_verify', 'send_after -infinity', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, '{}', '-infinity')$$, false, true, 'smsir'),
('queue_verify', 'valid_for -1 minute', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, valid_for => '-1 minute')$$, false, true, 'smsir'),
('queue_verify', 'valid_for 367 days', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, valid_for => '367 days')$$, false, true, 'smsir'),
('queue_verify', 'valid_for 177999999 years', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, valid_for => '177999999 years')$$, false, true, 'smsir'),
('queue_verify', 'valid_for 2147483647 days', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, valid_for => '2147483647 days')$$, false, true, 'smsir'),
('queue_verify', 'valid_for past the interval type', '22008', $$SELECT sms_ir.queue_verify('09121234567', 123456, valid_for => '999999999 years')$$, true, true, 'smsir'),
('queue_verify', 'valid_for 366 days', 'ok', $$SELECT sms_ir.queue_verify('09121234567', 123456, valid_for => '366 days')$$, false, true, 'smsir'),
('queue_verify', 'dedupe_key of 1001 bytes', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, dedupe_key => repeat('k', 1001))$$, false, true, 'smsir'),
('queue_verify', 'dedupe_key of 1 MB', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, dedupe_key => repeat('k', 1048576))$$, false, true, 'smsir'),
('queue_verify', 'dedupe_key of 1000 bytes (Persian)', 'ok', $$SELECT sms_ir.queue_verify('09121234567', 123456, dedupe_key => repeat('ک', 500))$$, false, true, 'smsir'),
('queue_verify', 'dedupe_key SQL', 'ok', $$SELECT sms_ir.queue_verify('09121234567', 123456, dedupe_key => $q$x'); DELETE FROM sms_ir.outbox; --$q$)$$, false, true, 'smsir'),
('queue_verify', 'priority 11', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, priority => 11::smallint)$$, false, true, 'smsir'),
('queue_verify', 'priority -1', '22023', $$SELECT sms_ir.queue_verify('09121234567', 123456, priority => (-1)::smallint)$$, false, true, 'smsir'),
('queue_verify', 'priority 32768', '22003', $$SELECT sms_ir.queue_verify('09121234567', 123456, priority => 32768::smallint)$$, true, true, 'smsir'),
('queue_verify', '101 parameters', '54000', $$SELECT sms_ir.queue_verify('09121234567', 123456, hostile.params(101))$$, false, true, 'smsir'),
('queue_verify', '100 parameters', 'ok', $$SELECT sms_ir.queue_verify('09121234567', 123456, hostile.params(100))$$, false, true, 'smsir'),
('queue_verify', 'boolean and number values', 'ok', $$SELECT sms_ir.queue_verify('09121234567', 123456, '{"a": true, "b": 12.50, "c": "۱۲۳"}')$$, false, true, 'smsir'),
('queue_verify', 'Arabic-Indic digit mobile', 'ok', $$SELECT sms_ir.queue_verify('٠٩١٢١٢٣٤٥٦٧', 123456)$$, false, true, 'smsir'),
-- queue_template
('queue_template', 'template_id 0', '22023', $$SELECT sms_ir.queue_template('09121234567', '0')$$, false, false, 'smsir'),
('queue_template', 'template_id control byte', '22023', $$SELECT sms_ir.queue_template('09121234567', E'1\x0123')$$, false, false, 'smsir'),
('queue_template', 'template_id 1 MB', '22023', $$SELECT sms_ir.queue_template('09121234567', repeat('1', 1048576))$$, false, false, 'smsir'),
('queue_template', 'send_after infinity', '22023', $$SELECT sms_ir.queue_template('09121234567', '123456', '{}', NULL, 'infinity')$$, false, false, 'smsir'),
('queue_template', 'valid_for 177999999 years', '22023', $$SELECT sms_ir.queue_template('09121234567', '123456', valid_for => '177999999 years')$$, false, false, 'smsir'),
('queue_template', 'dedupe_key of 1001 bytes', '22023', $$SELECT sms_ir.queue_template('09121234567', '123456', dedupe_key => repeat('k', 1001))$$, false, false, 'smsir'),
-- queue_bulk
('queue_bulk', '100,000 mobiles, the last bad', '22023', $$SELECT * FROM sms_ir.queue_bulk('hi', hostile.mobiles(99999) || '+98'::text)$$, false, true, 'smsir'),
('queue_bulk', '100,000 mobiles, one NULL', '22004', $$SELECT * FROM sms_ir.queue_bulk('hi', hostile.mobiles(50000) || NULL::text || hostile.mobiles(49999))$$, false, true, 'smsir'),
('queue_bulk', '100,000 valid mobiles: 1000 rows', 'ok', $$SELECT * FROM sms_ir.queue_bulk('hi', hostile.mobiles(100000))$$, false, true, 'smsir'),
('queue_bulk', '1 MB message', '22023', $$SELECT * FROM sms_ir.queue_bulk(repeat('x', 1048576), ARRAY['09121234567'])$$, false, true, 'smsir'),
('queue_bulk', 'control byte in message', '22023', $$SELECT * FROM sms_ir.queue_bulk(E'\x1b[5mblink', ARRAY['09121234567'])$$, false, true, 'smsir'),
('queue_bulk', 'emoji, RLM and SQL in message', 'ok', $$SELECT * FROM sms_ir.queue_bulk(U&'\200Fسلام 😀 ''); DROP TABLE x; --', ARRAY['09121234567'])$$, false, true, 'smsir'),
('queue_bulk', 'line_number 0', '22023', $$SELECT * FROM sms_ir.queue_bulk('hi', ARRAY['09121234567'], '0')$$, false, true, 'smsir'),
('queue_bulk', 'line_number 19 digits', '22023', $$SELECT * FROM sms_ir.queue_bulk('hi', ARRAY['09121234567'], '3000450500001700000')$$, false, true, 'smsir'),
('queue_bulk', 'send_after -infinity', '22023', $$SELECT * FROM sms_ir.queue_bulk('hi', ARRAY['09121234567'], NULL, '-infinity')$$, false, true, 'smsir'),
('queue_bulk', 'valid_for 177999999 years', '22023', $$SELECT * FROM sms_ir.queue_bulk('hi', ARRAY['09121234567'], valid_for => '177999999 years')$$, false, true, 'smsir'),
('queue_bulk', 'dedupe_key of 1001 bytes', '22023', $$SELECT * FROM sms_ir.queue_bulk('hi', ARRAY['09121234567'], dedupe_key => repeat('k', 1001))$$, false, true, 'smsir'),
('queue_bulk', 'dedupe_key of 999 bytes, 2 rows (key#2)', '22023', $$SELECT * FROM sms_ir.queue_bulk('hi', hostile.mobiles(101), dedupe_key => repeat('k', 999))$$, false, true, 'smsir'),
-- queue_like_to_like
('queue_like_to_like', '100,000 each, a NULL mobile', '22004', $$SELECT * FROM sms_ir.queue_like_to_like(array_fill('hi'::text, ARRAY[100000]), hostile.mobiles(99999) || NULL::text)$$, false, false, 'smsir'),
('queue_like_to_like', 'control byte in a message', '22023', $$SELECT * FROM sms_ir.queue_like_to_like(ARRAY[E'\x7f'], ARRAY['09121234567'])$$, false, false, 'smsir'),
('queue_like_to_like', 'send_after infinity', '22023', $$SELECT * FROM sms_ir.queue_like_to_like(ARRAY['hi'], ARRAY['09121234567'], NULL, 'infinity')$$, false, false, 'smsir'),
-- a plain INSERT into sms_ir.outbox
('insert', 'verify template_id "+123"', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": "+123"}')$$, false, true, 'smsir'),
('insert', 'verify template_id " 123"', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": " 123"}')$$, false, true, 'smsir'),
('insert', 'verify template_id "123 "', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": "123 "}')$$, false, true, 'smsir'),
('insert', 'verify template_id "0"', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": "0"}')$$, false, true, 'smsir'),
('insert', 'verify template_id -1', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": -1}')$$, false, true, 'smsir'),
('insert', 'verify template_id 123.5', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": 123.5}')$$, false, true, 'smsir'),
('insert', 'verify template_id 1e100', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": 1e100}')$$, false, true, 'smsir'),
('insert', 'verify template_id Persian digits', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": "۱۲۳۴۵۶"}')$$, false, true, 'smsir'),
('insert', 'verify template_id true', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": true}')$$, false, true, 'smsir'),
('insert', 'verify template_id an object', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": {"id": 1}}')$$, false, true, 'smsir'),
('insert', 'verify 101 parameters', '54000', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', jsonb_build_object('mobile', '09121234567', 'template_id', 123456, 'parameters', hostile.params(101)))$$, false, true, 'smsir'),
('insert', 'verify parameters nested', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": 123456, "parameters": {"a": {"b": {"c": [1]}}}}')$$, false, true, 'smsir'),
('insert', 'verify parameters a number', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": "09121234567", "template_id": 123456, "parameters": 5}')$$, false, true, 'smsir'),
('insert', 'verify mobile a number', 'ok', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', '{"mobile": 9121234567, "template_id": 123456}')$$, false, true, 'smsir'),
('insert', 'template template_id "0"', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('template', '{"recipient": "09121234567", "template_id": "0"}')$$, false, true, 'smsir'),
('insert', 'template template_id " 123"', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('template', '{"recipient": "09121234567", "template_id": " 123"}')$$, false, true, 'smsir'),
('insert', 'template template_id control byte', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('template', '{"recipient": "09121234567", "template_id": "12\u000734"}')$$, false, true, 'smsir'),
('insert', 'kind of 1 MB', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES (repeat('v', 1048576), '{}')$$, false, true, 'smsir'),
('insert', 'kind with a control byte', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES (E'verify\x0b', '{}')$$, false, true, 'smsir'),
('insert', 'kind with a NUL byte', '22021', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES (E'verify\x00', '{}')$$, true, true, 'smsir'),
('insert', 'kind SQL', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ($q$verify'; --$q$, '{}')$$, false, true, 'smsir'),
('insert', 'kind NULL', '22004', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES (NULL, '{}')$$, false, true, 'smsir'),
('insert', 'payload NULL', '22004', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', NULL)$$, false, true, 'smsir'),
('insert', 'payload JSON null', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', 'null')$$, false, true, 'smsir'),
('insert', 'payload an array', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '[{"message": "hi"}]')$$, false, true, 'smsir'),
('insert', 'payload key of 1 MB', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', jsonb_build_object(repeat('m', 1048576), 'hi'))$$, false, true, 'smsir'),
('insert', 'bulk 100,000 mobiles', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', jsonb_build_object('message', 'hi', 'mobiles', hostile.mobiles(100000)))$$, false, true, 'smsir'),
('insert', 'bulk mobiles with a NULL', '22004', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567", null]}')$$, false, true, 'smsir'),
('insert', 'bulk mobiles holding an array', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi", "mobiles": [["09121234567"]]}')$$, false, true, 'smsir'),
('insert', 'bulk mobiles a string', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi", "mobiles": "09121234567"}')$$, false, true, 'smsir'),
('insert', 'bulk message a number', 'ok', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": 42, "mobiles": ["09121234567"]}')$$, false, true, 'smsir'),
('insert', 'bulk message an object', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": {"text": "hi"}, "mobiles": ["09121234567"]}')$$, false, true, 'smsir'),
('insert', 'bulk message with \u0000', '22P05', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi\u0000", "mobiles": ["09121234567"]}')$$, true, true, 'smsir'),
('insert', 'bulk message with \u0001', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi\u0001", "mobiles": ["09121234567"]}')$$, false, true, 'smsir'),
('insert', 'bulk message with ESC', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi\u001b[0m", "mobiles": ["09121234567"]}')$$, false, true, 'smsir'),
('insert', 'bulk 1 MB message', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', jsonb_build_object('message', repeat('x', 1048576), 'mobiles', ARRAY['09121234567']))$$, false, true, 'smsir'),
('insert', 'bulk line_number "0"', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"], "line_number": "0"}')$$, false, true, 'smsir'),
('insert', 'bulk line_number -30004505', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"], "line_number": -30004505}')$$, false, true, 'smsir'),
('insert', 'bulk line_number 1e30', '22023', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"], "line_number": 1e30}')$$, false, true, 'smsir'),
('insert', 'send_after infinity', '22023', $$INSERT INTO sms_ir.outbox (kind, payload, send_after) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', 'infinity')$$, false, true, 'smsir'),
('insert', 'send_after -infinity', '22023', $$INSERT INTO sms_ir.outbox (kind, payload, send_after) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', '-infinity')$$, false, true, 'smsir'),
('insert', 'expires_at -infinity', '22023', $$INSERT INTO sms_ir.outbox (kind, payload, expires_at) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', '-infinity')$$, false, true, 'smsir'),
('insert', 'expires_at infinity (never)', 'ok', $$INSERT INTO sms_ir.outbox (kind, payload, expires_at) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', 'infinity')$$, false, true, 'smsir'),
('insert', 'priority 11', '22023', $$INSERT INTO sms_ir.outbox (kind, payload, priority) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', 11)$$, false, true, 'smsir'),
('insert', 'priority 32768', '22003', $$INSERT INTO sms_ir.outbox (kind, payload, priority) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', 32768)$$, true, true, 'smsir'),
('insert', 'dedupe_key of 1001 bytes', '22023', $$INSERT INTO sms_ir.outbox (kind, payload, dedupe_key) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', repeat('k', 1001))$$, false, true, 'smsir'),
('insert', 'dedupe_key of 1 MB', '22023', $$INSERT INTO sms_ir.outbox (kind, payload, dedupe_key) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', repeat('k', 1048576))$$, false, true, 'smsir'),
('insert', 'an id of its own', '428C9', $$INSERT INTO sms_ir.outbox (id, kind, payload) VALUES (-1, 'bulk', '{"message": "hi", "mobiles": ["09121234567"]}')$$, true, true, 'smsir'),
-- cancel, requeue: ids of rows that do not exist are "not done"
('cancel', 'id -1', 'ok', $$SELECT sms_ir.cancel(-1)$$, false, false, 'smsir'),
('cancel', 'id 0', 'ok', $$SELECT sms_ir.cancel(0)$$, false, false, 'smsir'),
('cancel', 'id bigint max + 1', '22003', $$SELECT sms_ir.cancel(9223372036854775808::bigint)$$, true, false, 'smsir'),
('requeue', 'id bigint min', 'ok', $$SELECT sms_ir.requeue(-9223372036854775808)$$, false, false, 'smsir'),
-- suppress, unsuppress
('suppress', 'mobile 1 MB', '22023', $$SELECT sms_ir.suppress(repeat('0', 1048576))$$, false, false, 'smsir'),
('suppress', 'mobile with an RLM', '22023', $$SELECT sms_ir.suppress(U&'09121234567\200F')$$, false, false, 'smsir'),
('suppress', 'empty reason', '23514', $$SELECT sms_ir.suppress('09121234567', '')$$, true, false, 'smsir'),
('unsuppress', 'mobile SQL', '22023', $$SELECT sms_ir.unsuppress($q$' OR 1=1 --$q$)$$, false, false, 'smsir'),
-- quiet_hours_end
('quiet_hours_end', 'signs in the clock: +8:+0-09:00', '22023', $$SELECT sms_ir.quiet_hours_end(now(), '+8:+0-09:00', 'UTC')$$, false, false, 'smsir'),
('quiet_hours_end', 'signs in the clock: 22:00-+8:00', '22023', $$SELECT sms_ir.quiet_hours_end(now(), '22:00-+8:00', 'UTC')$$, false, false, 'smsir'),
('quiet_hours_end', 'a space inside a number: 2 2:00-08:00', '22023', $$SELECT sms_ir.quiet_hours_end(now(), '2 2:00-08:00', 'UTC')$$, false, false, 'smsir'),
('quiet_hours_end', 'one-digit minutes: 22:0-08:00', '22023', $$SELECT sms_ir.quiet_hours_end(now(), '22:0-08:00', 'UTC')$$, false, false, 'smsir'),
('quiet_hours_end', 'Persian digits', '22023', $$SELECT sms_ir.quiet_hours_end(now(), '۲۲:۰۰-۰۸:۰۰', 'UTC')$$, false, false, 'smsir'),
('quiet_hours_end', 'spaces around the parts', 'ok', $$SELECT sms_ir.quiet_hours_end(now(), ' 22:00 - 8:00 ', 'UTC')$$, false, false, 'smsir'),
('quiet_hours_end', '1 MB window', '22023', $$SELECT sms_ir.quiet_hours_end(now(), repeat('2', 1048576), 'UTC')$$, false, false, 'smsir'),
('quiet_hours_end', '1 MB time zone', '22023', $$SELECT sms_ir.quiet_hours_end(now(), '22:00-08:00', repeat('z', 1048576))$$, false, false, 'smsir'),
('quiet_hours_end', 'time zone with a control byte', '22023', $$SELECT sms_ir.quiet_hours_end(now(), '22:00-08:00', E'Asia/Tehran\x01')$$, false, false, 'smsir'),
('quiet_hours_end', 'at -infinity', '22023', $$SELECT sms_ir.quiet_hours_end('-infinity', '22:00-08:00', 'UTC')$$, false, false, 'smsir'),
-- sms_parts, inbound_intent: any text is fine
('sms_parts', '1 MB of emoji', 'ok', $$SELECT * FROM sms_ir.sms_parts(repeat('😀', 262144))$$, false, false, 'smsir'),
('inbound_intent', '1 MB', 'ok', $$SELECT sms_ir.inbound_intent(repeat('۱', 524288))$$, false, false, 'smsir'),
('inbound_intent', 'RLM, ZWNJ and Persian digits around 11', 'ok', $$SELECT sms_ir.inbound_intent(U&'\200Fلغو\200C۱۱')$$, false, false, 'smsir'),
-- the session's account
('sms_ir.account', 'SQL', '22023', $$SELECT set_config('sms_ir.account', $q$default'; --$q$, true) IS NULL OR sms_ir.queue_verify('09121234567', 123456) > 0$$, false, true, 'smsir'),
('sms_ir.account', 'a control byte', '22023', $$SELECT set_config('sms_ir.account', E'backup\x01', true) IS NULL OR sms_ir.queue_verify('09121234567', 123456) > 0$$, false, true, 'smsir'),
('sms_ir.account', 'DEFAULT in capitals', '22023', $$SELECT set_config('sms_ir.account', 'DEFAULT', true) IS NULL OR sms_ir.queue_verify('09121234567', 123456) > 0$$, false, true, 'smsir'),
('sms_ir.account', 'a 1 MB name', '22023', $$SELECT set_config('sms_ir.account', repeat('a', 1048576), true) IS NULL OR sms_ir.queue_verify('09121234567', 123456) > 0$$, false, true, 'smsir');

-- as the superuser, through each case's provider
SET sms_ir.secret_key = 'test-secret';   -- smsir_legacy's second secret
SET sms_ir.provider = 'smsir';
INSERT INTO hostile.results SELECT n, 'superuser', (hostile.outcome(sql)).* FROM hostile.cases WHERE provider = 'smsir';
SET sms_ir.provider = 'smsafzar';
INSERT INTO hostile.results SELECT n, 'superuser', (hostile.outcome(sql)).* FROM hostile.cases WHERE provider = 'smsafzar';
SET sms_ir.provider = 'smsir_legacy';
INSERT INTO hostile.results SELECT n, 'superuser', (hostile.outcome(sql)).* FROM hostile.cases WHERE provider = 'smsir_legacy';
RESET sms_ir.provider;
RESET sms_ir.secret_key;
-- as the application role: what it was granted
SET ROLE hostile_app;
INSERT INTO hostile.results SELECT n, 'app', (hostile.outcome(sql)).* FROM hostile.cases WHERE app;
-- and what it was not
INSERT INTO hostile.results (n, who, state, message, detail, hint)
  SELECT 0, 'app', o.* FROM hostile.outcome($$SELECT sms_ir.queue_template('09121234567', '0')$$) AS o;
RESET ROLE;

SELECT c.n, c.fn AS function, c.label AS "case", c.want,
       CASE WHEN r.state = c.want THEN r.state ELSE r.state || ' (!)' END AS got,
       CASE WHEN r.hint IS NOT NULL AND r.hint <> '' THEN 'hint' ELSE '' END AS hint,
       hostile.shown(r.message) AS message
  FROM hostile.cases c JOIN hostile.results r ON r.n = c.n AND r.who = 'superuser'
 ORDER BY c.n;

-- the application role gets the same answers; its one ungranted call is 42501
SELECT c.n, c.fn AS function, c.label AS "case", s.state AS superuser, a.state AS app
  FROM hostile.cases c
  JOIN hostile.results s ON s.n = c.n AND s.who = 'superuser'
  JOIN hostile.results a ON a.n = c.n AND a.who = 'app'
 WHERE a.state IS DISTINCT FROM s.state;
SELECT state, hostile.shown(message) AS message FROM hostile.results WHERE n = 0;
-- the synchronous sends above refused before any HTTP request
SELECT sms_test.mock_count() AS provider_requests;

------------------------------------------------------------------------
-- Part 2: every argument slot with every hostile value.  The synchronous
-- functions talk to a closed port here: a value that gets through
-- validation shows as a connection failure (08001), not as a request.
------------------------------------------------------------------------
CREATE TABLE hostile.vals (label text PRIMARY KEY, expr text NOT NULL);
INSERT INTO hostile.vals VALUES
  ('empty', $$''$$),
  ('spaces', $$'   '$$),
  ('1 MB', $$repeat('x', 1048576)$$),
  ('1 MB of digits', $$repeat('9', 1048576)$$),
  ('1 MB Persian', $$repeat('س', 524288)$$),
  ('control bytes', $$E'a\x01b\x02'$$),
  ('ANSI escape', $$E'\x1b[2J\x1b[31m'$$),
  ('CR LF', $$E'a\r\nX-Injected: 1'$$),
  ('DEL', $$E'a\x7f'$$),
  ('C1 control', $$U&'a\0085b'$$),
  ('emoji', $$'😀🔥'$$),
  ('RLM + mobile', $$U&'\200F09121234567'$$),
  ('RLO', $$U&'\202Eabc'$$),
  ('ZWNJ', $$U&'\200C'$$),
  ('BOM', $$U&'\FEFF123'$$),
  ('Persian digits', $$'۰۹۱۲۱۲۳۴۵۶۷'$$),
  ('Arabic-Indic digits', $$'٠٩١٢١٢٣٤٥٦٧'$$),
  ('Persian id', $$'۱۲۳۴۵۶'$$),
  ('-1', $$'-1'$$),
  ('0', $$'0'$$),
  ('000', $$'000'$$),
  ('+123', $$'+123'$$),
  (' 123', $$' 123'$$),
  ('int64 max + 1', $$'9223372036854775808'$$),
  ('40 digits', $$repeat('9', 40)$$),
  ('SQL', $$'''; DROP TABLE sms_ir.outbox; --'$$),
  ('SQL 2', $$'1 OR 1=1'$$),
  ('path traversal', $$'/../../etc/passwd'$$),
  ('URL', $$'http://evil.example/'$$),
  ('format string', $$'%s%n%x'$$);

CREATE TABLE hostile.slots (slot text PRIMARY KEY, tmpl text NOT NULL);
INSERT INTO hostile.slots VALUES
  ('normalize_mobile', $$SELECT sms_ir.normalize_mobile(%s)$$),
  ('sms_send_bulk.message', $$SELECT * FROM sms_ir.sms_send_bulk(%s, ARRAY['09121234567'])$$),
  ('sms_send_bulk.mobiles', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY[%s])$$),
  ('sms_send_bulk.line_number', $$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121234567'], %s)$$),
  ('sms_send_like_to_like.messages', $$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY[%s], ARRAY['09121234567'])$$),
  ('sms_send_like_to_like.mobiles', $$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['hi'], ARRAY[%s])$$),
  ('sms_send_verify.mobile', $$SELECT * FROM sms_ir.sms_send_verify(%s, 123456, '{"code": "1"}')$$),
  ('sms_send_verify.parameter name', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, jsonb_build_object(%s, '1'))$$),
  ('sms_send_verify.parameter value', $$SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, jsonb_build_object('code', %s))$$),
  ('sms_send_template.recipient', $$SELECT * FROM sms_ir.sms_send_template(%s, '123456', '{"code": "1"}')$$),
  ('sms_send_template.template_id', $$SELECT * FROM sms_ir.sms_send_template('09121234567', %s, '{"code": "1"}')$$),
  ('sms_delivery_status.message_id', $$SELECT * FROM sms_ir.sms_delivery_status(%s)$$),
  ('sms_delivery_status.message_ids', $$SELECT * FROM sms_ir.sms_delivery_status(ARRAY[%s])$$),
  ('sms_cancel_scheduled.pack_id', $$SELECT sms_ir.sms_cancel_scheduled(%s)$$),
  ('sms_api.method', $$SELECT sms_ir.sms_api(%s, '/v1/credit')$$),
  ('sms_api.path', $$SELECT sms_ir.sms_api('GET', %s)$$),
  ('sms_api.path tail', $$SELECT sms_ir.sms_api('GET', '/v1/' || %s)$$),
  ('queue_verify.mobile', $$SELECT sms_ir.queue_verify(%s, 123456)$$),
  ('queue_verify.parameter value', $$SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', %s))$$),
  ('queue_verify.dedupe_key', $$SELECT sms_ir.queue_verify('09121234567', 123456, dedupe_key => %s)$$),
  ('queue_template.template_id', $$SELECT sms_ir.queue_template('09121234567', %s)$$),
  ('queue_template.sender', $$SELECT sms_ir.queue_template('09121234567', '123456', '{}', %s)$$),
  ('queue_bulk.message', $$SELECT * FROM sms_ir.queue_bulk(%s, ARRAY['09121234567'])$$),
  ('queue_bulk.mobiles', $$SELECT * FROM sms_ir.queue_bulk('hi', ARRAY[%s])$$),
  ('queue_bulk.line_number', $$SELECT * FROM sms_ir.queue_bulk('hi', ARRAY['09121234567'], %s)$$),
  ('queue_like_to_like.messages', $$SELECT * FROM sms_ir.queue_like_to_like(ARRAY[%s], ARRAY['09121234567'])$$),
  ('insert verify.mobile', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', jsonb_build_object('mobile', %s, 'template_id', 123456))$$),
  ('insert verify.template_id', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('verify', jsonb_build_object('mobile', '09121234567', 'template_id', %s))$$),
  ('insert template.template_id', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('template', jsonb_build_object('recipient', '09121234567', 'template_id', %s))$$),
  ('insert bulk.message', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', jsonb_build_object('message', %s, 'mobiles', ARRAY['09121234567']))$$),
  ('insert bulk.line_number', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES ('bulk', jsonb_build_object('message', 'hi', 'mobiles', ARRAY['09121234567'], 'line_number', %s))$$),
  ('insert.kind', $$INSERT INTO sms_ir.outbox (kind, payload) VALUES (%s, '{"message": "hi", "mobiles": ["09121234567"]}')$$),
  ('insert.dedupe_key', $$INSERT INTO sms_ir.outbox (kind, payload, dedupe_key) VALUES ('bulk', '{"message": "hi", "mobiles": ["09121234567"]}', %s)$$),
  ('quiet_hours_end.quiet_hours', $$SELECT sms_ir.quiet_hours_end(now(), %s, 'UTC')$$),
  ('quiet_hours_end.timezone', $$SELECT sms_ir.quiet_hours_end(now(), '22:00-08:00', %s)$$),
  ('suppress.mobile', $$SELECT sms_ir.suppress(%s)$$);

CREATE TABLE hostile.matrix (slot text, val text, state text, message text, detail text, hint text);
SET sms_ir.base_url = 'http://127.0.0.1:9';
INSERT INTO hostile.matrix
  SELECT s.slot, v.label, (hostile.outcome(format(s.tmpl, v.expr))).*
    FROM hostile.slots s CROSS JOIN hostile.vals v;
RESET sms_ir.base_url;
SELECT count(*) AS runs FROM hostile.matrix;

-- what each slot let through (ok: queued and undone; 08001: validated, then
-- the closed port); everything else was refused
SELECT slot, string_agg(val, ', ' ORDER BY val) AS accepted
  FROM hostile.matrix WHERE state IN ('ok', '08001')
 GROUP BY slot ORDER BY slot;
-- how the rest were refused
SELECT state, count(*) FROM hostile.matrix WHERE state NOT IN ('ok', '08001')
 GROUP BY state ORDER BY state;

------------------------------------------------------------------------
-- Assertions
------------------------------------------------------------------------
-- every case raised what it must
SELECT c.n, c.fn, c.label, c.want, r.who, r.state AS got
  FROM hostile.cases c JOIN hostile.results r ON r.n = c.n
 WHERE r.state IS DISTINCT FROM c.want;
-- every error sms_ir raised has a hint
SELECT c.n, c.fn, c.label, r.state, hostile.shown(r.message) AS message
  FROM hostile.cases c JOIN hostile.results r ON r.n = c.n
 WHERE r.state <> 'ok' AND NOT c.pg AND coalesce(r.hint, '') = '';
SELECT slot, val, state, hostile.shown(message) AS message
  FROM hostile.matrix
 WHERE state NOT IN ('ok', '08001', '22021') AND coalesce(hint, '') = '';
-- no error echoes a huge value: message, detail and hint stay short
SELECT 'case ' || n AS "where", length(message) AS message, length(detail) AS detail, length(hint) AS hint
  FROM hostile.results
 WHERE coalesce(length(message), 0) + coalesce(length(detail), 0) + coalesce(length(hint), 0) > 600
UNION ALL
SELECT slot || ' / ' || val, length(message), length(detail), length(hint)
  FROM hostile.matrix
 WHERE coalesce(length(message), 0) + coalesce(length(detail), 0) + coalesce(length(hint), 0) > 600;
-- no error holds the API key (test/regress.conf: a file holding "test-key")
SELECT count(*) AS errors_with_the_key
  FROM (SELECT message, detail, hint FROM hostile.results
        UNION ALL SELECT message, detail, hint FROM hostile.matrix) e
 WHERE concat(message, detail, hint) LIKE '%test-key%' OR concat(message, detail, hint) LIKE '%test-secret%';
-- nothing was queued
SELECT count(*) - :outbox_before AS outbox_rows_added FROM sms_ir.outbox;
-- nothing was sent: the mock saw no request
SELECT sms_test.mock_count() AS provider_requests;

DROP SCHEMA hostile CASCADE;
REVOKE ALL ON sms_ir.outbox, sms_ir.outbox_stats FROM hostile_app;
REVOKE ALL ON FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text, smallint, interval),
                       sms_ir.queue_bulk(text, text[], text, timestamptz, text, smallint, interval),
                       sms_ir.sms_send_verify(text, bigint, jsonb) FROM hostile_app;
REVOKE ALL ON SCHEMA sms_ir FROM hostile_app;
DROP ROLE hostile_app;
