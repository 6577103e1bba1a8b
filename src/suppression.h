/*
 * suppression.h -- the recipients marketing sends (bulk, like-to-like)
 * skip: the mobiles in sms_ir.suppression.  Verify and template sends
 * never look.
 */
#ifndef SMS_IR_SUPPRESSION_H
#define SMS_IR_SUPPRESSION_H

#include "postgres.h"

#include "provider.h"

/* Does suppression apply to sends of this operation? */
extern bool sms_suppression_applies(SmsOp op);

/*
 * Drop from `args` the mobiles listed in `suppressed` (canonical, any
 * order), with their messages for like-to-like; returns how many went.
 */
extern int	sms_suppression_apply(SmsArgs *args, char **suppressed, int nsuppressed);

/*
 * The suppressed mobiles among args->mobiles (read as the table's owner);
 * NULL with *n = 0 when there are none or there is no table.
 */
extern char **sms_suppression_lookup(const SmsArgs *args, int *n);

#endif
