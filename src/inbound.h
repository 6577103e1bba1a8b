/*
 * inbound.h -- what a received message asks for: opt-out ("11", "لغو11")
 * or opt-in ("12", "عضویت12") of marketing sends (SPEC §12.2).
 */
#ifndef SMS_IR_INBOUND_H
#define SMS_IR_INBOUND_H

#include "postgres.h"

typedef enum SmsInboundIntent
{
	SMS_INTENT_NONE = 0,
	SMS_INTENT_OPT_OUT,
	SMS_INTENT_OPT_IN
} SmsInboundIntent;

/* The SQL names of the intents (sms_ir.inbound_intent()), NULL for none. */
#define SMS_INTENT_OPT_OUT_NAME "opt-out"
#define SMS_INTENT_OPT_IN_NAME "opt-in"

/*
 * The intent of a message text (UTF-8, len bytes): compared after Persian
 * and Arabic-Indic digits become ASCII, every space, zero-width and bidi
 * mark is dropped, and Arabic yeh/kaf become Persian ones.
 */
extern SmsInboundIntent sms_inbound_intent(const char *utf8, size_t len);

#endif
