/*
 * throttle.h -- the guard rails that count: OTPs per mobile and per number
 * range (sms_ir.recipient_limit, sms_ir.prefix_limit) and each account's
 * messages per calendar day (sms_ir.daily_limit, sms_ir.N_daily_limit).
 */
#ifndef SMS_IR_THROTTLE_H
#define SMS_IR_THROTTLE_H

#include "postgres.h"

#include "account.h"

/* Shared memory and its file (sms_ir.c, when preloaded). */
extern void sms_throttle_init_preload(void);

/*
 * Count one verify or template message to `mobile` (canonical) against
 * recipient_limit and prefix_limit, or raise 53400 (counting nothing) when
 * it would pass either.  The count is taken back if the (sub)transaction
 * aborts, unless sms_throttle_keep() was called with the mark returned.
 */
extern int	sms_throttle_otp(const char *mobile);

/* The counts taken since `mark` stay, whatever the transaction does (a request was made). */
extern void sms_throttle_keep(int mark);

/*
 * Take `n` messages of `account`'s allowance for today; false (nothing
 * taken) when that would pass its daily limit.
 */
extern bool sms_daily_take(const SmsAccount *account, int n);
/* Give back what sms_daily_take() took for messages that were not sent. */
extern void sms_daily_give_back(const SmsAccount *account, int n);
/* Raise 53400: `account` reached its daily limit. */
extern void sms_daily_refuse(const SmsAccount *account, int n) pg_attribute_noreturn();
/* Messages `account` sent today and its limit (0 = none). */
extern void sms_daily_status(const SmsAccount *account, int64 *sent_today, int *limit);

/*
 * Write the counts to their file if they changed since the last save (the
 * worker, every few seconds): a restart, even a crash, does not reset them.
 */
extern void sms_throttle_save(void);

#endif
