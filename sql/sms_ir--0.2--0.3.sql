-- sms_ir 0.2 -> 0.3: trust and reality.
\echo Use "ALTER EXTENSION sms_ir UPDATE TO '0.3'" to load this file. \quit

-- Message parts (GSM 03.38 or UCS-2) and the sms_ir.max_parts bound.
-- (section owned by the input-hygiene work; see src/parts.c)
