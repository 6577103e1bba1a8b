/*
 * calendar.h -- days and times of day in sms_ir.timezone: the calendar day
 * the daily limits count in, and the quiet-hours window.
 */
#ifndef SMS_IR_CALENDAR_H
#define SMS_IR_CALENDAR_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "pgtime.h"

#include "guc.h"

/* The calendar day of `t` in `tz` (days since 2000-01-01). */
extern int32 sms_calendar_day(TimestampTz t, pg_tz *tz);

/* The first moment of calendar day `day` (as sms_calendar_day()) in `tz`. */
extern TimestampTz sms_calendar_day_start(int32 day, pg_tz *tz);

/* The first moment of the day after `t`'s, in `tz`. */
extern TimestampTz sms_calendar_next_day(TimestampTz t, pg_tz *tz);

/*
 * Parse "HH:MM-HH:MM" (spaces ignored; "" is no window).  False with a
 * palloc'd *detail when it is not one.
 */
extern bool sms_quiet_hours_parse(const char *text, SmsQuietHours *q, char **detail);

/* Is there a window at all? */
#define SMS_QUIET_HOURS_SET(q) ((q)->start_min != (q)->end_min)

/*
 * Is `t` inside the window `q` in `tz`?  Then *ends_at is when that window
 * ends (the next day's end time when the window crosses midnight).
 */
extern bool sms_quiet_hours_at(TimestampTz t, const SmsQuietHours *q, pg_tz *tz,
							   TimestampTz *ends_at);

/* sms_quiet_hours_at() with sms_ir.quiet_hours and sms_ir.timezone. */
extern bool sms_quiet_now(TimestampTz t, TimestampTz *ends_at);

#endif
