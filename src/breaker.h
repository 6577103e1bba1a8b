/*
 * breaker.h -- each account's health: circuit breaker, last error, counts
 * (breaker.c).
 */
#ifndef SMS_IR_BREAKER_H
#define SMS_IR_BREAKER_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "account.h"

typedef enum BreakerState
{
	BREAKER_CLOSED,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN
} BreakerState;

typedef enum BreakerVerdict
{
	BREAKER_PASS,				/* closed: send */
	BREAKER_PROBE,				/* cooled down: send this one as the probe */
	BREAKER_BLOCKED				/* open (or a probe is out): not before *retry_at */
} BreakerVerdict;

/* In shared memory (preload). */
extern void sms_breaker_init_preload(void);

/* May a request go to `account` now? */
extern BreakerVerdict sms_breaker_check(const SmsAccount *account, TimestampTz *retry_at);

/*
 * What a request of `account` met: an account-level failure, or a reply of
 * the provider (a success or a rejection of the message).  `error`, when
 * not NULL, becomes the account's last error.
 */
extern void sms_breaker_report(const SmsAccount *account, bool account_failure,
							   const char *error);

/* Is the account's breaker open or half open (its new rows go elsewhere)? */
extern bool sms_breaker_open(const SmsAccount *account);

/* Count messages the account sent or failed (sms_ir.account_status()). */
extern void sms_account_count(const SmsAccount *account, int64 sent, int64 failed);

#endif
