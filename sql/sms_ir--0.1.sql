-- sms_ir 0.1: synchronous sends through the sms.ir REST v1 API.
\echo Use "CREATE EXTENSION sms_ir" to load this file. \quit

CREATE FUNCTION sms_ir.normalize_mobile(mobile text) RETURNS text
  AS 'MODULE_PATHNAME', 'sms_normalize_mobile'
  LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION sms_ir.normalize_mobile(text) IS
  'Canonical 09xxxxxxxxx form of an Iranian mobile number; raises on anything else';

CREATE FUNCTION sms_ir.sms_send_bulk(message text, mobiles text[],
                                     line_number text DEFAULT NULL,
                                     send_at timestamptz DEFAULT NULL)
  RETURNS TABLE(pack_id text, message_ids text[], cost numeric)
  AS 'MODULE_PATHNAME', 'sms_send_bulk'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_send_bulk(text, text[], text, timestamptz) IS
  'Send one text to many mobiles; one row per provider request of up to 100 mobiles';

CREATE FUNCTION sms_ir.sms_send_like_to_like(messages text[], mobiles text[],
                                             line_number text DEFAULT NULL,
                                             send_at timestamptz DEFAULT NULL)
  RETURNS TABLE(pack_id text, message_ids text[], cost numeric)
  AS 'MODULE_PATHNAME', 'sms_send_like_to_like'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_send_like_to_like(text[], text[], text, timestamptz) IS
  'Send messages[i] to mobiles[i]; one row per provider request of up to 100 pairs';

CREATE FUNCTION sms_ir.sms_send_verify(mobile text, template_id bigint,
                                       parameters jsonb DEFAULT '{}')
  RETURNS TABLE(message_id text, cost numeric)
  AS 'MODULE_PATHNAME', 'sms_send_verify'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_send_verify(text, bigint, jsonb) IS
  'Send a verification (OTP) template message';

CREATE FUNCTION sms_ir.sms_send_template(recipient text, template_id text,
                                         parameters jsonb DEFAULT '{}',
                                         sender text DEFAULT NULL,
                                         send_at timestamptz DEFAULT NULL)
  RETURNS TABLE(batch_id text, message_id text, status text, parts int, cost numeric)
  AS 'MODULE_PATHNAME', 'sms_send_template'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_send_template(text, text, jsonb, text, timestamptz) IS
  'Send a template message (on sms.ir: a verify send)';

CREATE FUNCTION sms_ir.sms_delivery_status(message_id text)
  RETURNS TABLE(message_id text, mobile text, status text, provider_status text, detail text)
  AS 'MODULE_PATHNAME', 'sms_delivery_status'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_delivery_status(text) IS
  'Delivery report of one message: status is queued, sent, delivered, failed or unknown';

CREATE FUNCTION sms_ir.sms_delivery_status(message_ids text[])
  RETURNS TABLE(message_id text, mobile text, status text, provider_status text, detail text)
  AS 'MODULE_PATHNAME', 'sms_delivery_status_array'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_delivery_status(text[]) IS
  'Delivery reports of several messages';

CREATE FUNCTION sms_ir.sms_credit() RETURNS numeric
  AS 'MODULE_PATHNAME', 'sms_credit'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_credit() IS 'Remaining credit of the provider account';

CREATE FUNCTION sms_ir.sms_lines() RETURNS SETOF text
  AS 'MODULE_PATHNAME', 'sms_lines'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_lines() IS 'Sender line numbers of the provider account';

CREATE FUNCTION sms_ir.sms_cancel_scheduled(pack_id text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'sms_cancel_scheduled'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_cancel_scheduled(text) IS
  'Cancel a send scheduled at the provider; false if the pack is unknown or already sent';

CREATE FUNCTION sms_ir.sms_api(method text, path text, body jsonb DEFAULT NULL)
  RETURNS jsonb
  AS 'MODULE_PATHNAME', 'sms_api'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION sms_ir.sms_api(text, text, jsonb) IS
  'Call any JSON endpoint of the active provider with its authentication applied';

-- Functions are callable by superusers only until granted (README: Security).
REVOKE ALL ON FUNCTION
  sms_ir.sms_send_bulk(text, text[], text, timestamptz),
  sms_ir.sms_send_like_to_like(text[], text[], text, timestamptz),
  sms_ir.sms_send_verify(text, bigint, jsonb),
  sms_ir.sms_send_template(text, text, jsonb, text, timestamptz),
  sms_ir.sms_delivery_status(text),
  sms_ir.sms_delivery_status(text[]),
  sms_ir.sms_credit(),
  sms_ir.sms_lines(),
  sms_ir.sms_cancel_scheduled(text),
  sms_ir.sms_api(text, text, jsonb)
FROM PUBLIC;
