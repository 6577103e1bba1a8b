--
-- enqueue: a queued row was made cheaper (issue 9: a partial unique index on
-- dedupe_key, queue_* rows inserted without SPI and not validated twice, the
-- search path pinned in C).  These check that nothing it guarded went with
-- it (SPEC §4, §8): dedupe, every column the extension owns, validation of
-- every row that was not validated by a queue function, the outbox's own
-- triggers, constraints and indexes, and the search path of what runs as the
-- extension's owner.  Everything made here is dropped at the end.
--
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS amcheck;
RESET client_min_messages;

-- dedupe_key: a partial unique index (rows without a key, nearly all, get no
-- entry), no unique constraint
SELECT indexname, indexdef FROM pg_indexes
 WHERE schemaname = 'sms_ir' AND tablename = 'outbox'
 ORDER BY indexname;
SELECT conname, contype FROM pg_constraint
 WHERE conrelid = 'sms_ir.outbox'::regclass
 ORDER BY conname;

-- ... and dedupe works as before: a repeated key returns the first row's id
-- and queues nothing
SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"d1"}', dedupe_key => 'enq:1')
     = sms_ir.queue_verify('09121234567', 123456, '{"code":"d2"}', dedupe_key => 'enq:1') AS same_id;
SELECT count(*) AS rows, min(payload -> 'parameters' -> 0 ->> 'value') AS code
  FROM sms_ir.outbox WHERE dedupe_key = 'enq:1';
-- queue_bulk keys its rows key, key#2, ...; again: the same ids, no new row
CREATE TEMP TABLE bulk_ids AS
  SELECT * FROM sms_ir.queue_bulk('hi', array_fill('09121234567'::text, ARRAY[150]),
                                  dedupe_key => 'enq:bulk') AS id;
SELECT (SELECT array_agg(id ORDER BY id) FROM bulk_ids)
     = (SELECT array_agg(id ORDER BY id)
          FROM sms_ir.queue_bulk('hi', array_fill('09121234567'::text, ARRAY[150]),
                                 dedupe_key => 'enq:bulk') AS id) AS same_ids;
SELECT dedupe_key, jsonb_array_length(payload -> 'mobiles') AS mobiles
  FROM sms_ir.outbox WHERE dedupe_key LIKE 'enq:bulk%' ORDER BY dedupe_key;
-- rows without a key never collide
SELECT count(DISTINCT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', g::text)))
       AS distinct_ids
  FROM generate_series(1, 3) g;
-- a plain INSERT: the key is unique; ON CONFLICT names the index's predicate
SELECT sms_test.try($$INSERT INTO sms_ir.outbox (kind, payload, dedupe_key)
  VALUES ('verify', '{"mobile":"09121234567","template_id":123456}', 'enq:1')$$);
INSERT INTO sms_ir.outbox (kind, payload, dedupe_key)
  VALUES ('verify', '{"mobile":"09121234567","template_id":123456}', 'enq:1')
  ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING;
SELECT count(*) AS rows FROM sms_ir.outbox WHERE dedupe_key = 'enq:1';

-- a row queue_verify inserts: id from the identity sequence, the payload
-- normalized, every column the extension owns set as the trigger sets it
BEGIN;
SELECT sms_ir.queue_verify('+98 912 123 4567', 123456, '{"code":"r1"}',
                           now() + interval '1 hour') AS id \gset
SELECT :id = currval(pg_get_serial_sequence('sms_ir.outbox', 'id')) AS id_from_sequence,
       provider, kind, payload, status, attempts,
       send_after = now() + interval '1 hour' AS send_after_ok,
       next_attempt_at = send_after AS next_attempt_at_ok, created_at = now() AS created_at_ok,
       sent_at, last_error, result, delivery_status, delivery_checked_at, dedupe_key
  FROM sms_ir.outbox WHERE id = :id;
COMMIT;
-- payloads are the jsonb jsonb_in makes of the same text (a statement does
-- not see the rows its own queue_* calls insert: collect the ids first)
CREATE TEMP TABLE kinds_ids AS
  SELECT sms_ir.queue_verify('09121234567', 9, '[{"name":"a","value":"1"},{"name":"b","value":"2"}]') AS id
  UNION ALL SELECT sms_ir.queue_template('09121234567', '100200', '{"x":"y"}')
  UNION ALL SELECT min(q) FROM sms_ir.queue_bulk('سلام "quoted" \ back', ARRAY['09121234567', '9351234567']) q
  UNION ALL SELECT min(q) FROM sms_ir.queue_like_to_like(ARRAY['a', 'b'], ARRAY['09121234567', '9351234567']) q;
CREATE TEMP TABLE kinds AS
  SELECT kind, payload, payload::text::jsonb AS reparsed
    FROM sms_ir.outbox WHERE id IN (SELECT id FROM kinds_ids);
SELECT kind, payload, payload = reparsed AS equal,
       pg_column_size(payload) = pg_column_size(reparsed) AS same_size
  FROM kinds ORDER BY kind;

-- The trigger skips validating a row only if it is the very row a queue
-- function validated.  A trigger of the table's owner that runs before it
-- (names sort: a_meddle < outbox_before_insert) shows that nothing else
-- rides on that: not a row inserted meanwhile, not a row changed on the way,
-- not a later INSERT after a failed one.
CREATE FUNCTION sms_test.outbox_meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  CASE coalesce(NEW.payload -> 'parameters' -> 0 ->> 'value', left(NEW.payload -> 'messages' ->> 0, 5))
    WHEN 'boom' THEN
      RAISE EXCEPTION 'boom';
    WHEN 'nest' THEN
      INSERT INTO sms_ir.outbox (kind, payload)
      VALUES ('verify', '{"mobile":"0912","template_id":1,"parameters":{"code":"nested"}}');
    WHEN 'tamper' THEN
      NEW.payload := pg_catalog.jsonb_set(NEW.payload, '{mobile}', '"0912"');
    WHEN 'forge' THEN
      NEW.status := 'sent';
      NEW.provider := 'elsewhere';
      NEW.attempts := 99;
      NEW.result := '{"forged": true}';
      NEW.last_error := 'forged';
      NEW.next_attempt_at := NULL;
    ELSE
      NULL;
  END CASE;
  RETURN NEW;
END
$$;
CREATE TRIGGER a_meddle BEFORE INSERT ON sms_ir.outbox
  FOR EACH ROW EXECUTE FUNCTION sms_test.outbox_meddle();

-- a row another trigger inserts while queue_verify's row is on its way is validated
SELECT sms_test.try($$SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"nest"}')$$);
-- a row changed on its way is validated again
SELECT sms_test.try($$SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"tamper"}')$$);
-- an insert that failed leaves nothing behind for the next INSERT
DO $$
BEGIN
  BEGIN
    PERFORM sms_ir.queue_verify('09121234567', 123456, '{"code":"boom"}');
  EXCEPTION WHEN raise_exception THEN
    RAISE NOTICE 'queue_verify failed: %', SQLERRM;
  END;
  INSERT INTO sms_ir.outbox (kind, payload)
  VALUES ('verify', '{"mobile":"0912","template_id":1,"parameters":{"code":"after-boom"}}');
END
$$;
SELECT count(*) AS unvalidated_rows FROM sms_ir.outbox WHERE payload ->> 'mobile' = '0912';
-- columns changed on the way are forced back (the payload, unchanged, is not
-- validated again)
SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"forge"}') AS id \gset
SELECT provider, status, attempts, result, last_error, next_attempt_at = send_after AS next_attempt_at_ok
  FROM sms_ir.outbox WHERE id = :id;
-- also for a large row (100 messages of 1,500 characters, a payload of 150 kB)
SELECT min(q) AS id
  FROM sms_ir.queue_like_to_like(array_fill(repeat('forge', 300), ARRAY[100]),
                                 array_fill('09121234567'::text, ARRAY[100])) q \gset
SELECT provider, status, attempts, result, last_error, next_attempt_at = send_after AS next_attempt_at_ok,
       length(payload::text) > 150000 AS large
  FROM sms_ir.outbox WHERE id = :id;
DROP TRIGGER a_meddle ON sms_ir.outbox;

-- the outbox's own triggers, constraints and indexes apply to queue_* rows:
-- an AFTER ROW trigger fires once per row ...
CREATE TABLE sms_test.seen (id bigint, status text, kind text);
CREATE FUNCTION sms_test.outbox_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sms_test.seen VALUES (NEW.id, NEW.status, NEW.kind);
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_seen AFTER INSERT ON sms_ir.outbox
  FOR EACH ROW EXECUTE FUNCTION sms_test.outbox_seen();
SELECT count(*) AS ids FROM sms_ir.queue_bulk('hi', array_fill('09121234567'::text, ARRAY[150]));
SELECT count(*) AS fired, min(status) AS status, min(kind) AS kind FROM sms_test.seen;
DROP TRIGGER outbox_seen ON sms_ir.outbox;
-- ... a statement trigger with a transition table sees them ...
CREATE FUNCTION sms_test.outbox_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'statement trigger: % new row(s), status %',
    (SELECT count(*) FROM new_rows), (SELECT min(status) FROM new_rows);
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_stmt AFTER INSERT ON sms_ir.outbox
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sms_test.outbox_stmt();
SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"stmt"}') > 0 AS queued;
DROP TRIGGER outbox_stmt ON sms_ir.outbox;
-- ... a CHECK constraint holds ...
ALTER TABLE sms_ir.outbox ADD CONSTRAINT enq_not_424242
  CHECK (payload ->> 'template_id' IS DISTINCT FROM '424242');
SELECT sms_test.try($$SELECT sms_ir.queue_verify('09121234567', 424242, '{"code":"1"}')$$);
ALTER TABLE sms_ir.outbox DROP CONSTRAINT enq_not_424242;
-- ... a column added with a default gets it ...
ALTER TABLE sms_ir.outbox ADD COLUMN enq_extra text DEFAULT 'the default';
SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"extra"}') AS id \gset
SELECT enq_extra FROM sms_ir.outbox WHERE id = :id;
ALTER TABLE sms_ir.outbox DROP COLUMN enq_extra;
SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"dropped"}') > 0 AS queued;
-- ... indexes made meanwhile get the rows: a partial one, an expression
-- index, a hash index (not btree: queue_* open the indexes as an INSERT does)
CREATE INDEX enq_partial_idx ON sms_ir.outbox (id) WHERE attempts = 0;
CREATE INDEX enq_expr_idx ON sms_ir.outbox ((payload ->> 'mobile'));
SELECT sms_ir.queue_verify('09351234567', 123456, '{"code":"idx1"}') > 0 AS queued;
CREATE INDEX enq_hash_idx ON sms_ir.outbox USING hash (kind);
SELECT sms_ir.queue_verify('09351234567', 123456, '{"code":"idx2"}') > 0 AS queued;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM sms_ir.outbox WHERE kind = 'verify';
SELECT count(*) AS verify_rows_by_hash_index FROM sms_ir.outbox WHERE kind = 'verify' \gset
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT :verify_rows_by_hash_index = count(*) AS hash_index_complete
  FROM sms_ir.outbox WHERE kind || '' = 'verify';
DROP INDEX sms_ir.enq_hash_idx;
SELECT sms_ir.queue_verify('09351234567', 123456, '{"code":"idx3"}') > 0 AS queued;
-- ... and every btree index holds exactly the rows it should (amcheck: every
-- heap row the index's predicate admits is in it)
SELECT c.relname, bt_index_check(i.indexrelid, true)::text = '' AS ok
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'sms_ir.outbox'::regclass
 ORDER BY c.relname;
SET enable_seqscan = off;
SELECT count(*) = (SELECT count(*) FROM sms_ir.outbox WHERE dedupe_key IS NOT NULL) AS dedupe_index_complete
  FROM sms_ir.outbox WHERE dedupe_key > '';
RESET enable_seqscan;
DROP INDEX sms_ir.enq_partial_idx, sms_ir.enq_expr_idx;

-- A granted role: queue_verify runs as the extension's owner, and what runs
-- as the owner inside it (here: a trigger of the owner's on the outbox)
-- resolves names in pg_catalog alone, whatever the caller's search_path;
-- the role's own plain INSERT runs as the role, with its path, and is still
-- validated and forced.
CREATE ROLE sms_enq NOLOGIN;
GRANT USAGE ON SCHEMA sms_ir TO sms_enq;
GRANT EXECUTE ON FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text, smallint, interval) TO sms_enq;
GRANT INSERT, SELECT ON sms_ir.outbox TO sms_enq;
CREATE TABLE sms_test.paths (who text, path text);
GRANT INSERT ON sms_test.paths TO sms_enq;
CREATE FUNCTION sms_test.outbox_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sms_test.paths VALUES (current_user, pg_catalog.current_schemas(true)::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_path AFTER INSERT ON sms_ir.outbox
  FOR EACH ROW EXECUTE FUNCTION sms_test.outbox_path();
SET ROLE sms_enq;
SET search_path = sms_test, public;
SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"role"}') > 0 AS queued;
INSERT INTO sms_ir.outbox (provider, kind, payload, status, attempts, result)
VALUES ('elsewhere', 'verify', '{"mobile":"+989121234567","template_id":"123456","parameters":{"code":"plain"}}',
        'sent', 7, '{"forged": true}');
SELECT sms_test.fail($$INSERT INTO sms_ir.outbox (kind, payload)
  VALUES ('verify', '{"mobile":"0912","template_id":1}')$$);
RESET search_path;
RESET ROLE;
SELECT who, regexp_replace(path, 'pg_temp_[0-9]+', 'pg_temp_N') AS path FROM sms_test.paths ORDER BY who;
SELECT provider, status, attempts, result, payload
  FROM sms_ir.outbox WHERE payload -> 'parameters' -> 0 ->> 'value' = 'plain';
DROP TRIGGER outbox_path ON sms_ir.outbox;

-- clean up
DELETE FROM sms_ir.outbox WHERE dedupe_key LIKE 'enq:%';
DROP TABLE sms_test.seen, sms_test.paths;
DROP FUNCTION sms_test.outbox_meddle(), sms_test.outbox_seen(), sms_test.outbox_stmt(),
  sms_test.outbox_path();
DROP OWNED BY sms_enq;
DROP ROLE sms_enq;
DROP EXTENSION amcheck;
