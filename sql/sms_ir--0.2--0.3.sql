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

-- Trust boundary.
-- The SECURITY DEFINER queue functions run as the extension's owner: pin
-- their search_path so nothing a caller (or a role with CREATE on a schema
-- in the caller's path) planted can resolve inside them.  ALTER FUNCTION
-- keeps the GRANTs users gave on them.
ALTER FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text)
  SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION sms_ir.queue_template(text, text, jsonb, text, timestamptz, text)
  SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION sms_ir.queue_bulk(text, text[], text, timestamptz, text)
  SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION sms_ir.queue_like_to_like(text[], text[], text, timestamptz, text)
  SET search_path = pg_catalog, pg_temp;

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

-- The queue functions pin their search path in C instead (an override search
-- path of pg_catalog alone around their INSERT, src/outbox.c enqueue()): a
-- function-level SET costs a GUC save and restore and a recomputed search
-- path on every call.  They stay SECURITY DEFINER; ALTER FUNCTION keeps the
-- GRANTs users gave on them.
ALTER FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text)
  RESET search_path;
ALTER FUNCTION sms_ir.queue_template(text, text, jsonb, text, timestamptz, text)
  RESET search_path;
ALTER FUNCTION sms_ir.queue_bulk(text, text[], text, timestamptz, text)
  RESET search_path;
ALTER FUNCTION sms_ir.queue_like_to_like(text[], text[], text, timestamptz, text)
  RESET search_path;
