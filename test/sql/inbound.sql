--
-- inbound: what a received message asks for (sms_ir.inbound_intent), the
-- normalization behind the worker's opt-out/opt-in (SPEC §12.2), and the
-- sms_ir.inbox table the worker stores messages in (SPEC §12.3).  The worker
-- itself is covered by test/t/017_inbox.pl.
--

-- opt-out: "11" or "لغو11" once digits, spaces and invisible marks are normalized
SELECT to_json(m) AS message, sms_ir.inbound_intent(m) AS intent
  FROM (VALUES ('11'), ('۱۱'), ('١١'), (' ١١ '), ('1۱'), ('لغو11'), ('لغو ۱۱'),
               ('لغو ١١'), (' لغو  11 '), (E'\u0644\u063a\u0648\u200c11'),     -- ZWNJ
               (E'\u200f11\u200e'), (E'\u202b\u0644\u063a\u0648 11\u202c'),    -- RLM/LRM, RLE/PDF
               (E'\u206711\u2069'), (E'11\u00a0'), (E'\u00a0\u0644\u063a\u0648\u00a0\u06f1\u06f1'),
               (E'\u3000\u200b11\ufeff'), (E'\t11\n'), (E'\u0644\u0640\u063a\u0648 11')  -- tatweel
       ) AS t(m);

-- opt-in: "12" or "عضویت12", Persian or Arabic yeh (ی / ي)
SELECT to_json(m) AS message, sms_ir.inbound_intent(m) AS intent
  FROM (VALUES ('12'), ('۱۲'), ('١٢'), ('عضویت12'), ('عضویت ۱۲'), ('عضويت ١٢'),
               (E'\u0639\u0636\u0648\u06cc\u200c\u062a 12'), (E'\u0639\u0636\u0648\u0649\u062a12'),
               (' عضویت ۱۲ ')
       ) AS t(m);

-- near misses: no intent
SELECT to_json(m) AS message, sms_ir.inbound_intent(m) AS intent
  FROM (VALUES ('111'), ('1'), ('112'), ('11x'), ('لغو 1 1x'), ('لغو'), ('11لغو'),
               ('لغو12'), ('عضویت11'), ('عضویت'), ('لغو 11 لطفا'), ('STOP'), ('۱۳'),
               ('11.'), ('-11'), ('Ⅺ'), ('¹¹'), ('１１'), ('لغو 11 11'), ('عضو 12')
       ) AS t(m);

-- NULL (STRICT) and empty text
SELECT sms_ir.inbound_intent(NULL) IS NULL AS null_is_null,
       sms_ir.inbound_intent('') IS NULL AS empty_is_null,
       sms_ir.inbound_intent('   ') IS NULL AS spaces_are_null,
       sms_ir.inbound_intent(E'\u200c\u200f') IS NULL AS marks_are_null;
-- a long text is never a keyword (and is cheap to look at)
SELECT sms_ir.inbound_intent(repeat(' ', 100000) || '11') AS padded,
       sms_ir.inbound_intent(repeat('1', 100000)) IS NULL AS long_digits;

SELECT p.oid::regprocedure AS function, p.provolatile AS volatility, p.proisstrict AS strict,
       p.proparallel AS parallel
  FROM pg_proc p WHERE p.oid = 'sms_ir.inbound_intent(text)'::regprocedure;

-- the inbox: its columns, its key, dumped with the database, not for PUBLIC
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull AS not_null,
       attidentity AS identity
  FROM pg_attribute
 WHERE attrelid = 'sms_ir.inbox'::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'sms_ir.inbox'::regclass ORDER BY conname;
SELECT 'sms_ir.inbox'::regclass = ANY (extconfig) AS inbox_dumped
  FROM pg_extension WHERE extname = 'sms_ir';
SELECT has_table_privilege('public', 'sms_ir.inbox', 'SELECT') AS public_can_read;

-- a message is stored once per account and key
INSERT INTO sms_ir.inbox (account, sender, message, message_key) VALUES ('default', '09121234567', '11', 'k1');
INSERT INTO sms_ir.inbox (account, sender, message, message_key) VALUES ('default', '09121234567', '11', 'k1')
  ON CONFLICT DO NOTHING;
INSERT INTO sms_ir.inbox (account, sender, message, message_key) VALUES ('backup', '09121234567', '11', 'k1');
SELECT account, count(*) FROM sms_ir.inbox GROUP BY account ORDER BY account;
TRUNCATE sms_ir.inbox;
