/*
 * payload.h -- outbox payloads <-> validated SmsArgs.
 *
 * A payload's keys are the argument names of the matching queue function
 * (queue_bulk: message, mobiles, line_number; queue_verify: mobile,
 * template_id, parameters; ...).  Validation goes through args.c, so a bad
 * payload gets the same error as the same value passed to sms_send_*.
 */
#ifndef SMS_IR_PAYLOAD_H
#define SMS_IR_PAYLOAD_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "provider.h"

/* Operation of an outbox kind ('bulk', 'like_to_like', 'verify', 'template'). */
extern SmsOp sms_kind_op(const char *kind);

/* Validate `payload` of `kind` into args; raises like the sync functions. */
extern void sms_payload_to_args(const SmsProvider *provider, const char *kind,
								Jsonb *payload, SmsArgs *args);

/* The same without the provider's check of what it can send. */
extern void sms_payload_parse(const SmsProvider *provider, const char *kind,
							  Jsonb *payload, SmsArgs *args);

struct SmsAccount;
struct SmsLogicalTemplate;
/* The payload as `account` sends it (payload.c); raises like the above. */
extern void sms_payload_route(const struct SmsAccount *account, bool own, const char *kind,
							  Jsonb *payload, const struct SmsLogicalTemplate *tmpl,
							  SmsArgs *args);

/* The canonical payload of validated args (mobiles normalized, line resolved). */
extern Jsonb *sms_args_to_payload(const SmsArgs *args);

#endif
