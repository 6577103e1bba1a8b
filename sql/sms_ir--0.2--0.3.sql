-- sms_ir 0.2 -> 0.3: trust and reality.
\echo Use "ALTER EXTENSION sms_ir UPDATE TO '0.3'" to load this file. \quit

-- Message parts (GSM 03.38 or UCS-2) and the sms_ir.max_parts bound.
-- (section owned by the input-hygiene work; see src/parts.c)
CREATE FUNCTION sms_ir.sms_parts(message text)
  RETURNS TABLE(encoding text, characters int, parts int)
  AS 'MODULE_PATHNAME', 'sms_parts'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1;
COMMENT ON FUNCTION sms_ir.sms_parts(text) IS
  'SMS parts a text needs: gsm7 (septets, 160 in one part, 153 per part beyond) or ucs2 (UTF-16 units, 70 / 67); sends nothing';

-- A plain INSERT may only queue: ids are the extension's (the trigger sets
-- every other column the extension owns).  COPY, as in a restore, still
-- writes the dumped ids.
ALTER TABLE sms_ir.outbox ALTER COLUMN id SET GENERATED ALWAYS;

-- What each provider can do, read from the provider registry's ops tables
-- (the README capability table is this, with notes).
CREATE FUNCTION sms_ir.provider_capabilities()
  RETURNS TABLE(provider text, function text, supported boolean, hint text)
  AS 'MODULE_PATHNAME', 'sms_provider_capabilities'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sms_ir.provider_capabilities() IS
  'Every provider x operation of this build: supported, or the hint an unsupported call raises with';

-- ===========================================================================
-- Cheaper enqueue (issue 9).
-- (section owned by the enqueue work; see src/outbox.c; keep it last)
-- ===========================================================================

-- dedupe_key: a partial unique index.  Rows without a key (nearly all) get no
-- index entry; the key stays unique where it is set.  An INSERT ... ON
-- CONFLICT on it names the predicate so that the index is inferred:
--   ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
ALTER TABLE sms_ir.outbox DROP CONSTRAINT outbox_dedupe_key_key;
CREATE UNIQUE INDEX outbox_dedupe_key_idx ON sms_ir.outbox (dedupe_key)
  WHERE dedupe_key IS NOT NULL;

-- The queue functions pin their search path in C (an override search path
-- of pg_catalog alone around their INSERT, src/outbox.c enqueue()) instead
-- of a per-call SET: they are recreated below without one.

-- ===========================================================================
-- Accounts, failover, lanes, expiry, logical templates (issue 10).
-- (section owned by the routing work; see src/account.c, src/breaker.c,
-- src/template.c, src/worker_pipeline.c)
-- ===========================================================================

-- A row not sent by its expires_at ends 'expired'.  (Not used in this
-- script: a new enum value cannot be used in the transaction that adds it.)
ALTER TYPE sms_ir.outbox_status ADD VALUE 'expired';

-- account: the sms_ir.account the row was queued with (the trigger sets it);
-- priority: the lane, higher first (by kind unless given); expires_at: no
-- request starts after it.  Rows already queued are the default account's;
-- queued OTP rows join the OTP lane.  No column defaults: the trigger
-- decides (and a queue function's direct insert sets every column).
ALTER TABLE sms_ir.outbox
  ADD COLUMN account text NOT NULL DEFAULT 'default',
  ADD COLUMN priority smallint NOT NULL DEFAULT 0
    CONSTRAINT outbox_priority_check CHECK (priority BETWEEN 0 AND 10),
  ADD COLUMN expires_at timestamptz;
ALTER TABLE sms_ir.outbox
  ALTER COLUMN account DROP DEFAULT,
  ALTER COLUMN priority DROP DEFAULT;
UPDATE sms_ir.outbox SET priority = 10
 WHERE status = 'queued' AND kind IN ('verify', 'template');

-- The claim reads each lane in due order: one index, lane first.  (The
-- worker's claim statement in src/outbox_store.c shows the plan.)
DROP INDEX sms_ir.outbox_due_idx;
CREATE INDEX outbox_lane_idx ON sms_ir.outbox (priority, next_attempt_at, id)
  WHERE status = 'queued';

-- Logical templates: one name for a message every account can send.
CREATE TABLE sms_ir.template (
  name text PRIMARY KEY CONSTRAINT template_name_check CHECK (name <> ''),
  body text NOT NULL,
  ids  jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT template_ids_check CHECK (jsonb_typeof(ids) = 'object')
);
COMMENT ON TABLE sms_ir.template IS
  'Logical templates: body with {param} placeholders, and ids mapping account name -> that provider''s template id';
SELECT pg_catalog.pg_extension_config_dump('sms_ir.template', '');
REVOKE ALL ON TABLE sms_ir.template FROM PUBLIC;

CREATE FUNCTION sms_ir.account_status(
    OUT account text, OUT provider text, OUT breaker text, OUT consecutive_failures int,
    OUT last_error text, OUT last_error_at timestamptz, OUT sent bigint, OUT failed bigint,
    OUT fallback text, OUT sent_today bigint, OUT daily_limit int, OUT daily_state text)
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'sms_account_status'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION sms_ir.account_status() IS
  'Each account: provider, circuit breaker (closed, open, half_open), consecutive failures, last error, sent and failed since server start, fallback, messages sent today against its daily limit (daily_state: ok or over daily limit)';
REVOKE ALL ON FUNCTION sms_ir.account_status() FROM PUBLIC;

-- The queue functions gain priority and valid_for.  New signatures are new
-- functions: created beside the old ones, given the old ones' GRANTs, then
-- the old ones are dropped, so the roles users granted EXECUTE keep it.
CREATE FUNCTION sms_ir.queue_verify(mobile text, template_id bigint,
                                    parameters jsonb DEFAULT '{}',
                                    send_after timestamptz DEFAULT now(),
                                    dedupe_key text DEFAULT NULL,
                                    priority smallint DEFAULT NULL,
                                    valid_for interval DEFAULT NULL)
  RETURNS bigint
  AS 'MODULE_PATHNAME', 'sms_queue_verify'
  LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text, smallint, interval) IS
  'Queue a verification (OTP) template message; sent by the worker after commit';

CREATE FUNCTION sms_ir.queue_template(recipient text, template_id text,
                                      parameters jsonb DEFAULT '{}',
                                      sender text DEFAULT NULL,
                                      send_after timestamptz DEFAULT now(),
                                      dedupe_key text DEFAULT NULL,
                                      priority smallint DEFAULT NULL,
                                      valid_for interval DEFAULT NULL)
  RETURNS bigint
  AS 'MODULE_PATHNAME', 'sms_queue_template'
  LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION sms_ir.queue_template(text, text, jsonb, text, timestamptz, text, smallint, interval) IS
  'Queue a template message (a provider template id, or the name of a logical template in sms_ir.template)';

CREATE FUNCTION sms_ir.queue_bulk(message text, mobiles text[],
                                  line_number text DEFAULT NULL,
                                  send_after timestamptz DEFAULT now(),
                                  dedupe_key text DEFAULT NULL,
                                  priority smallint DEFAULT NULL,
                                  valid_for interval DEFAULT NULL)
  RETURNS SETOF bigint
  AS 'MODULE_PATHNAME', 'sms_queue_bulk'
  LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION sms_ir.queue_bulk(text, text[], text, timestamptz, text, smallint, interval) IS
  'Queue one text to many mobiles: one outbox row per provider request';

CREATE FUNCTION sms_ir.queue_like_to_like(messages text[], mobiles text[],
                                          line_number text DEFAULT NULL,
                                          send_after timestamptz DEFAULT now(),
                                          dedupe_key text DEFAULT NULL,
                                          priority smallint DEFAULT NULL,
                                          valid_for interval DEFAULT NULL)
  RETURNS SETOF bigint
  AS 'MODULE_PATHNAME', 'sms_queue_like_to_like'
  LANGUAGE C VOLATILE SECURITY DEFINER;
COMMENT ON FUNCTION sms_ir.queue_like_to_like(text[], text[], text, timestamptz, text, smallint, interval) IS
  'Queue messages[i] to mobiles[i]: one outbox row per provider request';

REVOKE ALL ON FUNCTION
  sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text, smallint, interval),
  sms_ir.queue_template(text, text, jsonb, text, timestamptz, text, smallint, interval),
  sms_ir.queue_bulk(text, text[], text, timestamptz, text, smallint, interval),
  sms_ir.queue_like_to_like(text[], text[], text, timestamptz, text, smallint, interval)
FROM PUBLIC;

-- Every privilege granted on an old function, granted again on its new one.
DO $regrant$
DECLARE
  g record;
BEGIN
  FOR g IN
    SELECT m.new_fn, a.grantee, a.is_grantable
      FROM (VALUES
        ('sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text)'::pg_catalog.regprocedure,
         'sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text, smallint, interval)'::pg_catalog.regprocedure),
        ('sms_ir.queue_template(text, text, jsonb, text, timestamptz, text)',
         'sms_ir.queue_template(text, text, jsonb, text, timestamptz, text, smallint, interval)'),
        ('sms_ir.queue_bulk(text, text[], text, timestamptz, text)',
         'sms_ir.queue_bulk(text, text[], text, timestamptz, text, smallint, interval)'),
        ('sms_ir.queue_like_to_like(text[], text[], text, timestamptz, text)',
         'sms_ir.queue_like_to_like(text[], text[], text, timestamptz, text, smallint, interval)')
      ) AS m(old_fn, new_fn)
      JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) m.old_fn
      CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) AS a
     WHERE a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
       AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
  LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', g.new_fn,
      CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
           ELSE g.grantee::pg_catalog.regrole::pg_catalog.text END,  -- quoted as needed
      CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END
$regrant$;

DROP FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text);
DROP FUNCTION sms_ir.queue_template(text, text, jsonb, text, timestamptz, text);
DROP FUNCTION sms_ir.queue_bulk(text, text[], text, timestamptz, text);
DROP FUNCTION sms_ir.queue_like_to_like(text[], text[], text, timestamptz, text);

-- ===========================================================================
-- Guard rails: suppression, opt-out, throttles, quiet hours (issue 11).
-- (section owned by the guard-rails work; see src/suppression.c,
-- src/throttle.c, src/quiet_hours.c)
-- ===========================================================================

-- A bulk or like-to-like row whose every recipient is suppressed ends
-- 'suppressed' with no request.
ALTER TYPE sms_ir.outbox_status ADD VALUE 'suppressed';

-- Mobiles marketing sends (bulk, like-to-like) skip: opted out by an
-- inbound "11", blacklisted by the operator, or suppressed by hand.
-- Verify and template sends ignore it.
CREATE TABLE sms_ir.suppression (
  mobile     text PRIMARY KEY CONSTRAINT suppression_mobile_check CHECK (mobile ~ '^09[0-9]{9}$'),
  reason     text NOT NULL CONSTRAINT suppression_reason_check CHECK (reason <> ''),
  source     text,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE sms_ir.suppression IS
  'Mobiles bulk and like-to-like sends skip (reason: opt-out, blacklist, manual, ...); normalized 09xxxxxxxxx';
SELECT pg_catalog.pg_extension_config_dump('sms_ir.suppression', '');
REVOKE ALL ON TABLE sms_ir.suppression FROM PUBLIC;

-- true when the mobile was not suppressed before (an existing entry keeps
-- its reason); the mobile is normalized, a bad one is 22023.
CREATE FUNCTION sms_ir.suppress(mobile text, reason text DEFAULT 'manual')
  RETURNS boolean
  LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    WITH added AS (
      INSERT INTO sms_ir.suppression (mobile, reason, source)
      VALUES (sms_ir.normalize_mobile(suppress.mobile), suppress.reason, 'sql:' || session_user)
      ON CONFLICT ON CONSTRAINT suppression_pkey DO NOTHING
      RETURNING 1)
    SELECT count(*) > 0 FROM added
  $$;
COMMENT ON FUNCTION sms_ir.suppress(text, text) IS
  'Stop bulk and like-to-like sends to a mobile; true if it was not suppressed already';

-- true when the mobile was suppressed (for any reason).
CREATE FUNCTION sms_ir.unsuppress(mobile text)
  RETURNS boolean
  LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    WITH removed AS (
      DELETE FROM sms_ir.suppression s
       WHERE s.mobile = sms_ir.normalize_mobile(unsuppress.mobile)
      RETURNING 1)
    SELECT count(*) > 0 FROM removed
  $$;
COMMENT ON FUNCTION sms_ir.unsuppress(text) IS
  'Let bulk and like-to-like sends reach a mobile again; true if it was suppressed';
REVOKE ALL ON FUNCTION sms_ir.suppress(text, text), sms_ir.unsuppress(text) FROM PUBLIC;

-- When the quiet window holding `at` ends (NULL outside it): the time a
-- bulk row due at `at` is sent.  NULL window / zone: the current settings.
CREATE FUNCTION sms_ir.quiet_hours_end(at timestamptz, quiet_hours text DEFAULT NULL,
                                       timezone text DEFAULT NULL)
  RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'sms_quiet_hours_end'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION sms_ir.quiet_hours_end(timestamptz, text, text) IS
  'End of the quiet-hours window holding a time (NULL outside it): when a bulk row due then is sent';

-- ===========================================================================
-- Inbound messages, stored (issue 11).
-- (section owned by the inbox work; see src/worker_inbox.c)
-- ===========================================================================

-- Received messages, each stored once: the worker polls every account whose
-- provider lists received messages (sms_ir.inbox_poll) and inserts what it
-- has not stored yet (ON CONFLICT DO NOTHING on the message key), in the
-- same transaction as the opt-out/opt-in each new message asks for.
--
-- message_key names a provider message within its account; the worker
-- derives it (src/outbox_store.c, STMT_INBOX_STORE):
--   'id:' || the provider's id, where that id names the message in every
--          listing the provider has (smsafzar receivedMessageId, MediaPayamak
--          MessageId);
--   'text:' || md5 of [sender, receiving line, received unix second, text]
--          otherwise: sms.ir lists today's messages in receive/live with no
--          id and older ones in receive/archive with receiveReturnId, so one
--          message reaches us in both shapes, a day apart.  Two identical
--          texts from one sender to one line within the same second are one
--          message here.
-- (A key column rather than a unique index over the columns: a long text
-- does not fit a btree entry, and NULLs must compare equal.)
CREATE TABLE sms_ir.inbox (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account     text NOT NULL,
  provider_id text,
  received_at timestamptz,
  sender      text,
  line_number text,
  message     text,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  message_key text NOT NULL CONSTRAINT inbox_message_key_check CHECK (message_key <> ''),
  CONSTRAINT inbox_account_message_key_key UNIQUE (account, message_key)
);
COMMENT ON TABLE sms_ir.inbox IS
  'Received messages the worker stored (sms_ir.inbox_poll), each provider message once; sender normalized 09xxxxxxxxx when it is a mobile';
-- a sender's messages in time order: which opt-out/opt-in came last
CREATE INDEX inbox_sender_idx ON sms_ir.inbox (sender, received_at);
SELECT pg_catalog.pg_extension_config_dump('sms_ir.inbox', '');
REVOKE ALL ON TABLE sms_ir.inbox FROM PUBLIC;

-- What a received text asks for: 'opt-out' ("11", "لغو11"), 'opt-in' ("12",
-- "عضویت12") or NULL, after Persian/Arabic digits, spaces, ZWNJ and other
-- invisible marks, and Arabic yeh/kaf are normalized (src/inbound.c).
CREATE FUNCTION sms_ir.inbound_intent(message text)
  RETURNS text
  AS 'MODULE_PATHNAME', 'sms_inbound_intent_sql'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sms_ir.inbound_intent(text) IS
  'opt-out, opt-in or NULL: what a received message asks of marketing sends (11 / لغو11, 12 / عضویت12, normalized)';

-- ===========================================================================
-- Metrics (issue 12).
-- (section owned by the metrics work; see src/metrics.c)
-- ===========================================================================

-- The worker's counters, histograms and gauges in shared memory (counts since
-- the postmaster started; src/metrics.c says what each one counts).
CREATE FUNCTION sms_ir._metrics(OUT name text, OUT labels jsonb, OUT value double precision)
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'sms_metrics'
  LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

-- Rows 'sending' are at most a couple of max_concurrency: this small
-- partial index counts them without reading the outbox (queued rows are
-- counted through outbox_lane_idx, final rows are never read).
CREATE INDEX outbox_sending_idx ON sms_ir.outbox (priority) WHERE status = 'sending';

-- Prometheus-style series, one row each: name, labels (every value a
-- string; contrib/postgres_exporter/sms_ir_queries.yaml turns them into
-- label columns), value.  Cheap to read: the counters come from shared
-- memory, and the outbox is read only through its partial indexes on rows
-- not final, one lane (priority) at a time:
--   sms_ir_queue_depth{status,priority}: rows queued (outbox_lane_idx) and
--     sending (outbox_sending_idx) per lane, every lane listed;
--   sms_ir_oldest_queued_seconds: how long the queued row due longest ago
--     has waited since it became due (a row scheduled for later, waiting out
--     a back-off or held by quiet hours, is not late): one index probe per
--     lane, 0 when nothing is overdue.
-- The view reads the outbox with its owner's rights: a monitoring role needs
-- no privilege on the outbox (which holds numbers and texts).
CREATE VIEW sms_ir.metrics AS
  SELECT m.name, m.labels, m.value FROM sms_ir._metrics() m
  UNION ALL
  SELECT 'sms_ir_queue_depth',
         pg_catalog.jsonb_build_object('status', s.status::text, 'priority', l.priority::text),
         (CASE s.status
            WHEN 'queued' THEN (SELECT pg_catalog.count(*) FROM sms_ir.outbox o
                                 WHERE o.status = 'queued' AND o.priority = l.priority)
            ELSE (SELECT pg_catalog.count(*) FROM sms_ir.outbox o
                   WHERE o.status = 'sending' AND o.priority = l.priority)
          END)::double precision
    FROM pg_catalog.unnest('{queued,sending}'::sms_ir.outbox_status[]) AS s(status),
         pg_catalog.generate_series(0, 10) AS l(priority)
  UNION ALL
  SELECT 'sms_ir_oldest_queued_seconds', '{}'::jsonb,
         COALESCE(EXTRACT(epoch FROM pg_catalog.now() - pg_catalog.min(d.next_attempt_at)),
                  0)::double precision
    FROM pg_catalog.generate_series(0, 10) AS l(priority),
         LATERAL (SELECT o.next_attempt_at FROM sms_ir.outbox o
                   WHERE o.status = 'queued' AND o.priority = l.priority
                     AND o.next_attempt_at <= pg_catalog.now()
                   ORDER BY o.next_attempt_at LIMIT 1) d;
COMMENT ON VIEW sms_ir.metrics IS
  'Counters and gauges of the outbox worker in Prometheus naming (name, labels, value); readable by pg_monitor';

-- Monitoring roles read it, as they read the pg_stat views: pg_monitor gets
-- the schema (every other object in it stays revoked from PUBLIC, or is a
-- pure function), the view and the function behind it, and nothing else.
REVOKE ALL ON FUNCTION sms_ir._metrics() FROM PUBLIC;
REVOKE ALL ON TABLE sms_ir.metrics FROM PUBLIC;
GRANT USAGE ON SCHEMA sms_ir TO pg_monitor;
GRANT EXECUTE ON FUNCTION sms_ir._metrics() TO pg_monitor;
GRANT SELECT ON TABLE sms_ir.metrics TO pg_monitor;
