/*
 * metrics.h -- the outbox worker's counters and latency histograms in shared
 * memory, read by sms_ir.metrics (metrics.c).
 */
#ifndef SMS_IR_METRICS_H
#define SMS_IR_METRICS_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "account.h"

/* What the worker recorded for a row (one count each). */
typedef enum SmsMetricOutcome
{
	METRIC_SENT,
	METRIC_FAILED,
	METRIC_UNKNOWN,
	METRIC_RETRIED,				/* queued again after a request */
	METRIC_EXPIRED,
	METRIC_SUPPRESSED,
	METRIC_OUTCOMES
} SmsMetricOutcome;

/* Shared memory (sms_ir.c, when preloaded). */
extern void sms_metrics_init_preload(void);

/*
 * Count one row's recorded outcome for `account` (NULL: an account not
 * declared, counted as "_other") and its kind.
 */
extern void sms_metrics_count(SmsMetricOutcome outcome, const SmsAccount *account,
							  const char *kind);

/* A row of lane `priority`, due at `due`, had its first request started at `started`. */
extern void sms_metrics_commit_to_send(int priority, TimestampTz due, TimestampTz started);

/* A request of `account` ran from `started` to `finished`. */
extern void sms_metrics_request(const SmsAccount *account, TimestampTz started,
								TimestampTz finished);

#endif
