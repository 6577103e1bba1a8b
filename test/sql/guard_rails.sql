--
-- guard rails: OTP throttles per mobile and per number range, daily
-- limits, suppression per kind, quiet hours.  The instance runs with
-- sms_ir.recipient_limit = '0' (regress.conf); this suite turns the
-- throttles on with ALTER SYSTEM and a reload, and off again at the end.
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');
CREATE FUNCTION pg_temp.reload() RETURNS void LANGUAGE sql AS
$$ SELECT pg_reload_conf(); SELECT pg_sleep(0.3) $$;
-- the error sql raises: SQLSTATE, message and detail, counts of the whole
-- run (three digits and more) as N
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS
$$
DECLARE st text; msg text; det text;
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  RETURN st || ': ' || msg || E'\n' || regexp_replace(det, '[0-9]{3,}', 'N', 'g');
END
$$;

-- ---------------------------------------------------------------------------
-- Throttle settings: "N/interval" or "0"; a bad one is refused with a reason
ALTER SYSTEM SET sms_ir.recipient_limit = '5';
ALTER SYSTEM SET sms_ir.recipient_limit = 'x/10min';
ALTER SYSTEM SET sms_ir.recipient_limit = '5/0s';
ALTER SYSTEM SET sms_ir.prefix_limit = '5/tomorrow';
ALTER SYSTEM SET sms_ir.quiet_hours = '22:00-22:00';
ALTER SYSTEM SET sms_ir.timezone = 'Mars/Olympus';
-- the documented default
SELECT boot_val FROM pg_settings WHERE name = 'sms_ir.recipient_limit';
SELECT name, context FROM pg_settings
 WHERE name IN ('sms_ir.recipient_limit', 'sms_ir.prefix_limit', 'sms_ir.daily_limit',
                'sms_ir.quiet_hours', 'sms_ir.timezone', 'sms_ir.backup_daily_limit')
 ORDER BY name;

-- ---------------------------------------------------------------------------
-- 3 codes per mobile within 2 seconds
ALTER SYSTEM SET sms_ir.recipient_limit = '3/2s';
SELECT pg_temp.reload();
SHOW sms_ir.recipient_limit;

-- synchronous: the 4th is refused before any request, with the masked
-- mobile, the count and the setting
SELECT sms_test.mock_count() AS before \gset
SELECT count(*) FROM sms_ir.sms_send_verify('09121110001', 123456, '{"Code": "1"}');
SELECT count(*) FROM sms_ir.sms_send_verify('09121110001', 123456, '{"Code": "2"}');
SELECT count(*) FROM sms_ir.sms_send_verify('+989121110001', 123456, '{"Code": "3"}');
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_verify('09121110001', 123456, '{"Code": "4"}')$$);
SELECT sms_test.mock_count() - :before AS requests;
-- another mobile is not affected
SELECT count(*) FROM sms_ir.sms_send_verify('09121110002', 123456, '{"Code": "1"}');

-- queued and synchronous count together, plain INSERTs too
SELECT sms_ir.queue_verify('09121110003', 123456, '{"Code": "1"}') > 0 AS queued;
SELECT count(*) FROM sms_ir.sms_send_verify('09121110003', 123456, '{"Code": "2"}');
INSERT INTO sms_ir.outbox (kind, payload)
VALUES ('verify', '{"mobile": "09121110003", "template_id": 123456, "parameters": {"Code": "3"}}');
SELECT sms_test.fail($$SELECT sms_ir.queue_verify('09121110003', 123456, '{"Code": "4"}')$$);
SELECT sms_test.fail($$INSERT INTO sms_ir.outbox (kind, payload)
  VALUES ('verify', '{"mobile": "09121110003", "template_id": 123456, "parameters": {"Code": "5"}}')$$);
-- nothing of the refused ones was queued
SELECT count(*) FROM sms_ir.outbox
 WHERE payload ->> 'mobile' = '09121110003' OR payload ->> 'recipient' = '09121110003';

-- a rolled-back transaction queued nothing, so it counts nothing
BEGIN;
SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "1"}') > 0 AS queued;
SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "2"}') > 0 AS queued;
SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "3"}') > 0 AS queued;
ROLLBACK;
-- ... nor a rolled-back savepoint
BEGIN;
SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "1"}') > 0 AS queued;
SAVEPOINT s;
SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "2"}') > 0 AS queued;
SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "3"}') > 0 AS queued;
ROLLBACK TO SAVEPOINT s;
SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "4"}') > 0 AS queued;
SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "5"}') > 0 AS queued;
COMMIT;
SELECT sms_test.fail($$SELECT sms_ir.queue_verify('09121110004', 123456, '{"Code": "6"}')$$);
-- a synchronous send's count stays when its transaction rolls back: the SMS went out
BEGIN;
SELECT count(*) FROM sms_ir.sms_send_verify('09121110007', 123456, '{"Code": "1"}');
SELECT count(*) FROM sms_ir.sms_send_verify('09121110007', 123456, '{"Code": "2"}');
SELECT count(*) FROM sms_ir.sms_send_verify('09121110007', 123456, '{"Code": "3"}');
ROLLBACK;
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_verify('09121110007', 123456, '{"Code": "4"}')$$);
-- the same dedupe_key queues nothing new and counts nothing
SELECT sms_ir.queue_verify('09121110005', 123456, '{"Code": "1"}', dedupe_key => 'signup-5') AS id \gset
SELECT sms_ir.queue_verify('09121110005', 123456, '{"Code": "1"}', dedupe_key => 'signup-5') = :id AS same_row;
SELECT sms_ir.queue_verify('09121110005', 123456, '{"Code": "1"}', dedupe_key => 'signup-5') = :id AS same_row;
SELECT sms_ir.queue_verify('09121110005', 123456, '{"Code": "2"}') > 0 AS queued;
SELECT sms_ir.queue_verify('09121110005', 123456, '{"Code": "3"}') > 0 AS queued;

-- a failed request sent nothing: it does not count
SELECT sms_test.fault('{"match": "/v1/send/verify", "kind": "status", "status": 400,
                        "body": {"status": 113, "message": "template not found", "data": null}, "count": 3}');
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_verify('09121110006', 123456, '{"Code": "1"}')$$);
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_verify('09121110006', 123456, '{"Code": "1"}')$$);
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_verify('09121110006', 123456, '{"Code": "1"}')$$);
SELECT count(*) FROM sms_ir.sms_send_verify('09121110006', 123456, '{"Code": "2"}');

-- bulk sends are not OTPs: not counted
SELECT count(*) FROM sms_ir.sms_send_bulk('hello', ARRAY['09121110001', '09121110001']);

-- the window rolls: after it, the mobile may get codes again
SELECT pg_sleep(2.3);
SELECT count(*) FROM sms_ir.sms_send_verify('09121110001', 123456, '{"Code": "5"}');

-- ---------------------------------------------------------------------------
-- per number range: the first 7 digits (0912111xxxx)
ALTER SYSTEM SET sms_ir.recipient_limit = '0';
ALTER SYSTEM SET sms_ir.prefix_limit = '4/10min';
SELECT pg_temp.reload();
SELECT count(*) FROM sms_ir.sms_send_verify('09125550001', 123456, '{"Code": "1"}');
SELECT sms_ir.queue_verify('09125550002', 123456, '{"Code": "1"}') > 0 AS queued;
SELECT count(*) FROM sms_ir.sms_send_verify('09125550003', 123456, '{"Code": "1"}');
SELECT count(*) FROM sms_ir.sms_send_verify('09125551234', 123456, '{"Code": "1"}');
SELECT sms_test.fail($$SELECT * FROM sms_ir.sms_send_verify('09125559999', 123456, '{"Code": "1"}')$$);
-- 0912556 is another range
SELECT count(*) FROM sms_ir.sms_send_verify('09125560001', 123456, '{"Code": "1"}');
ALTER SYSTEM RESET sms_ir.prefix_limit;
ALTER SYSTEM RESET sms_ir.recipient_limit;
SELECT pg_temp.reload();
-- off again for the rest of the run (regress.conf)
SHOW sms_ir.recipient_limit;
SHOW sms_ir.prefix_limit;

-- ---------------------------------------------------------------------------
-- Daily limit of an account: counted in recipients, refused before any request
SELECT sent_today + 3 AS lim FROM sms_ir.account_status() WHERE account = 'default' \gset
ALTER SYSTEM SET sms_ir.daily_limit = :lim;
SELECT pg_temp.reload();
SELECT daily_limit - sent_today AS left_today, daily_state FROM sms_ir.account_status() WHERE account = 'default';
SELECT count(*) FROM sms_ir.sms_send_bulk('hi', ARRAY['09121110011', '09121110012']);
SELECT sms_test.mock_count() AS before \gset
-- two more would pass it: refused, nothing sent
SELECT pg_temp.error_of($$SELECT * FROM sms_ir.sms_send_bulk('hi', ARRAY['09121110011', '09121110012'])$$);
SELECT count(*) FROM sms_ir.sms_send_verify('09121110013', 123456, '{"Code": "1"}');
SELECT pg_temp.error_of($$SELECT * FROM sms_ir.sms_send_verify('09121110014', 123456, '{"Code": "1"}')$$);
SELECT sms_test.mock_count() - :before AS requests;
SELECT daily_limit - sent_today AS left_today, daily_state FROM sms_ir.account_status() WHERE account = 'default';
-- another account has its own allowance
SET sms_ir.account = 'backup';
SELECT count(*) FROM sms_ir.sms_send_verify('09121110014', 123456, '{"Code": "1"}');
RESET sms_ir.account;
SELECT account, daily_limit IS NOT NULL AS limited, daily_state FROM sms_ir.account_status() ORDER BY account;
ALTER SYSTEM RESET sms_ir.daily_limit;
SELECT pg_temp.reload();
SELECT daily_limit, daily_state FROM sms_ir.account_status() WHERE account = 'default';

-- ---------------------------------------------------------------------------
-- Suppression
SELECT sms_ir.suppress('+98 912 111 0021');
SELECT sms_ir.suppress('09121110021');                 -- already suppressed
SELECT sms_ir.suppress('09121110022', 'opt-out');
SELECT mobile, reason, source FROM sms_ir.suppression ORDER BY mobile;
SELECT sms_test.fail($$SELECT sms_ir.suppress('12345')$$);
SELECT sms_test.try($$SELECT sms_ir.suppress('09121110023', '')$$);
-- roles without a grant may not touch it
CREATE ROLE sms_guard_nobody;
GRANT USAGE ON SCHEMA sms_ir TO sms_guard_nobody;
SET ROLE sms_guard_nobody;
SELECT sms_test.try($$SELECT sms_ir.suppress('09121110023')$$);
SELECT sms_test.try($$SELECT * FROM sms_ir.suppression$$);
RESET ROLE;
REVOKE USAGE ON SCHEMA sms_ir FROM sms_guard_nobody;
DROP ROLE sms_guard_nobody;

-- bulk: the request goes to the others only
SELECT count(*) FROM sms_ir.sms_send_bulk('news', ARRAY['09121110021', '09121110031', '09121110022']);
SELECT body -> 'mobiles' AS mobiles FROM sms_test.requests();
-- like-to-like: a suppressed mobile's text goes with it
SELECT count(*) FROM sms_ir.sms_send_like_to_like(ARRAY['a', 'b', 'c'],
                                                  ARRAY['09121110031', '09121110021', '09121110032']);
SELECT body -> 'messageTexts' AS texts, body -> 'mobiles' AS mobiles FROM sms_test.requests();
-- everybody suppressed: no request, no row, a NOTICE with the count
SELECT sms_test.mock_count() AS before \gset
SELECT * FROM sms_ir.sms_send_bulk('news', ARRAY['09121110021', '09121110022']);
SELECT sms_test.mock_count() - :before AS requests;
-- verify and template ignore it
SELECT count(*) FROM sms_ir.sms_send_verify('09121110021', 123456, '{"Code": "1"}');
SELECT body ->> 'mobile' AS mobile FROM sms_test.requests();
-- unsuppress: bulk reaches it again
SELECT sms_ir.unsuppress('9121110021'), sms_ir.unsuppress('09121110021');
SELECT count(*) FROM sms_ir.sms_send_bulk('news', ARRAY['09121110021']);
SELECT body -> 'mobiles' AS mobiles FROM sms_test.requests();

-- ---------------------------------------------------------------------------
-- Quiet hours: the window's arithmetic (sms_ir.quiet_hours_end), in Tehran
SET TIME ZONE 'Asia/Tehran';
SELECT t, sms_ir.quiet_hours_end(t::timestamptz, '22:00-08:00', 'Asia/Tehran') AS ends
  FROM unnest(ARRAY['2026-03-19 21:59', '2026-03-19 22:00', '2026-03-19 23:59:59',
                    '2026-03-20 00:00', '2026-03-20 03:30', '2026-03-20 07:59:59',
                    '2026-03-20 08:00', '2026-12-31 23:00']) AS t
 ORDER BY t;
-- a window within one day, and one ending at midnight
SELECT sms_ir.quiet_hours_end('2026-05-01 13:30', '13:00-14:00', 'Asia/Tehran') AS inside,
       sms_ir.quiet_hours_end('2026-05-01 14:00', '13:00-14:00', 'Asia/Tehran') AS after,
       sms_ir.quiet_hours_end('2026-05-01 23:10', '22:00-24:00', 'Asia/Tehran') AS to_midnight;
-- the window is in sms_ir.timezone's clock, not the session's: 23:00 UTC is 02:30 in Tehran
SELECT sms_ir.quiet_hours_end('2026-05-01 23:00+00', '22:00-08:00', 'Asia/Tehran') AS tehran,
       sms_ir.quiet_hours_end('2026-05-01 23:00+00', '22:00-08:00', 'UTC') AS utc;
-- a daylight-saving change inside the window: Berlin's 2026-03-29 02:00 -> 03:00
SELECT sms_ir.quiet_hours_end('2026-03-28 23:00+01', '22:00-08:00', 'Europe/Berlin') AT TIME ZONE 'Europe/Berlin' AS berlin_end,
       sms_ir.quiet_hours_end('2026-03-28 23:00+01', '22:00-08:00', 'Europe/Berlin')
       - '2026-03-28 23:00+01'::timestamptz AS held_for;
SELECT sms_test.fail($$SELECT sms_ir.quiet_hours_end(now(), '22:00', NULL)$$);
SELECT sms_test.fail($$SELECT sms_ir.quiet_hours_end(now(), '25:00-08:00', NULL)$$);
SELECT sms_test.fail($$SELECT sms_ir.quiet_hours_end(now(), NULL, 'Mars/Olympus')$$);
SELECT sms_test.fail($$SELECT sms_ir.quiet_hours_end('infinity', '22:00-08:00', NULL)$$);
SELECT sms_ir.quiet_hours_end(now()) IS NULL AS off_by_default;
RESET TIME ZONE;

-- a synchronous bulk send inside the window: 55000 with a hint; OTPs go
SELECT to_char(now() AT TIME ZONE 'Asia/Tehran' - interval '1 hour', 'HH24:MI') || '-' ||
       to_char(now() AT TIME ZONE 'Asia/Tehran' + interval '1 hour', 'HH24:MI') AS win \gset
ALTER SYSTEM SET sms_ir.quiet_hours = :'win';
SELECT pg_temp.reload();
SELECT sms_ir.quiet_hours_end(now()) BETWEEN now() + interval '58 minutes' AND now() + interval '61 minutes' AS ends_in_an_hour;
SELECT sms_test.mock_count() AS before \gset
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_bulk('news', ARRAY['09121110041'])$$);
SELECT sms_test.try($$SELECT * FROM sms_ir.sms_send_like_to_like(ARRAY['a'], ARRAY['09121110041'])$$);
SELECT sms_test.mock_count() - :before AS requests;
SELECT count(*) FROM sms_ir.sms_send_verify('09121110041', 123456, '{"Code": "1"}');
-- scheduled by the provider for after the window: allowed
SELECT count(*) FROM sms_ir.sms_send_bulk('news', ARRAY['09121110041'], NULL,
                                          now() + interval '2 hours');
-- queueing is always allowed (the worker holds the row)
SELECT count(*) FROM sms_ir.queue_bulk('news', ARRAY['09121110041']);
ALTER SYSTEM RESET sms_ir.quiet_hours;
SELECT pg_temp.reload();
SELECT count(*) FROM sms_ir.sms_send_bulk('news', ARRAY['09121110041']);
DELETE FROM sms_ir.outbox;
DELETE FROM sms_ir.suppression;
