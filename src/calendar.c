/*
 * calendar.c -- days and times of day in sms_ir.timezone (calendar.h).
 *
 * Local times are turned back into instants with PostgreSQL's own rules
 * (DetermineTimeZoneOffset), so a zone's daylight-saving changes are
 * handled as the server handles them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "args.h"
#include "calendar.h"

/* `t` as a local date and time in `tz` */
static void
local_time(TimestampTz t, pg_tz *tz, struct pg_tm *tm)
{
	int			offset;
	fsec_t		fsec;

	if (timestamp2tm(t, &offset, tm, &fsec, NULL, tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
}

/* The instant of local day `julian` at `minutes` after midnight, in `tz` */
static TimestampTz
local_instant(int julian, int minutes, pg_tz *tz)
{
	struct pg_tm tm = {0};
	int			offset;
	TimestampTz result;

	j2date(julian, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tm.tm_hour = minutes / MINS_PER_HOUR;
	tm.tm_min = minutes % MINS_PER_HOUR;
	offset = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, 0, &offset, &result) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return result;
}

int32
sms_calendar_day(TimestampTz t, pg_tz *tz)
{
	struct pg_tm tm;

	local_time(t, tz, &tm);
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
}

TimestampTz
sms_calendar_day_start(int32 day, pg_tz *tz)
{
	return local_instant(day + POSTGRES_EPOCH_JDATE, 0, tz);
}

TimestampTz
sms_calendar_next_day(TimestampTz t, pg_tz *tz)
{
	return sms_calendar_day_start(sms_calendar_day(t, tz) + 1, tz);
}

bool
sms_quiet_hours_at(TimestampTz t, const SmsQuietHours *q, pg_tz *tz, TimestampTz *ends_at)
{
	struct pg_tm tm;
	int			now_min;
	int			today;
	bool		inside;
	bool		ends_tomorrow = false;

	if (!SMS_QUIET_HOURS_SET(q))
		return false;
	local_time(t, tz, &tm);
	now_min = tm.tm_hour * MINS_PER_HOUR + tm.tm_min;
	today = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
	if (q->start_min < q->end_min)
		inside = now_min >= q->start_min && now_min < q->end_min;
	else
	{
		/* across midnight: from start to 24:00, then from 00:00 to end */
		inside = now_min >= q->start_min || now_min < q->end_min;
		ends_tomorrow = now_min >= q->start_min;
	}
	if (inside)
		*ends_at = local_instant(today + (ends_tomorrow ? 1 : 0), q->end_min, tz);
	return inside;
}

bool
sms_quiet_now(TimestampTz t, TimestampTz *ends_at)
{
	return sms_quiet_hours_at(t, &sms_ir_quiet_hours, sms_ir_timezone, ends_at);
}

/*
 * sms_ir.quiet_hours_end(at timestamptz, quiet_hours text DEFAULT NULL,
 * timezone text DEFAULT NULL): when the quiet window holding `at` ends, or
 * NULL when `at` is outside it -- the time a bulk row due at `at` goes.
 * NULL arguments mean the current settings.
 */
PG_FUNCTION_INFO_V1(sms_quiet_hours_end);
Datum
sms_quiet_hours_end(PG_FUNCTION_ARGS)
{
	TimestampTz at;
	SmsQuietHours q = sms_ir_quiet_hours;
	pg_tz	   *tz = sms_ir_timezone;
	TimestampTz ends_at;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	at = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("at must be a finite time, not %s", timestamptz_to_str(at)),
				 errhint("Pass the time a row would be due, such as now().")));
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		char	   *window = text_to_cstring(PG_GETARG_TEXT_PP(1));
		char	   *detail = NULL;

		if (!sms_quiet_hours_parse(window, &q, &detail))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid quiet hours \"%s\"", sms_args_show(window)),
					 errdetail_internal("%s", detail),
					 errhint("Pass \"HH:MM-HH:MM\", such as \"22:00-08:00\", or NULL for sms_ir.quiet_hours.")));
	}
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
	{
		char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(2));

		tz = pg_tzset(name);
		if (tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" not recognized", sms_args_show(name)),
					 errhint("Use a time zone name such as Asia/Tehran.")));
	}
	if (!sms_quiet_hours_at(at, &q, tz, &ends_at))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(ends_at);
}
