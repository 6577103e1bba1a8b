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
