/*
 * quiet_hours.c -- the quiet-hours window's text form, "HH:MM-HH:MM"
 * (calendar.h): no server state, so the fuzz targets link it as frontend code.
 */
#include "postgres.h"

#include "datatype/timestamp.h"

#include "calendar.h"

#define MINUTES_PER_DAY (HOURS_PER_DAY * MINS_PER_HOUR)

/* "HH:MM" -> minutes after midnight; false unless 00:00..24:00 */
static bool
parse_clock(const char *text, int *minutes)
{
	int			h,
				m,
				used = 0;

	if (sscanf(text, "%2d:%2d%n", &h, &m, &used) != 2 || text[used] != '\0' ||
		h < 0 || m < 0 || m >= MINS_PER_HOUR || h * MINS_PER_HOUR + m > MINUTES_PER_DAY)
		return false;
	*minutes = h * MINS_PER_HOUR + m;
	return true;
}

bool
sms_quiet_hours_parse(const char *text, SmsQuietHours *q, char **detail)
{
	char	   *compact = palloc(strlen(text) + 1);
	char	   *w = compact;
	char	   *dash;

	q->start_min = q->end_min = 0;
	for (const char *r = text; *r; r++)
		if (*r != ' ')
			*w++ = *r;
	*w = '\0';
	if (compact[0] == '\0')
		return true;
	dash = strchr(compact, '-');
	if (dash == NULL)
	{
		*detail = psprintf("Quiet hours are \"HH:MM-HH:MM\" in sms_ir.timezone, such as \"22:00-08:00\".");
		return false;
	}
	*dash = '\0';
	if (!parse_clock(compact, &q->start_min) || !parse_clock(dash + 1, &q->end_min))
	{
		*detail = psprintf("\"%s\" is not two times of day between 00:00 and 24:00.", text);
		return false;
	}
	q->start_min %= MINUTES_PER_DAY;
	q->end_min %= MINUTES_PER_DAY;
	if (q->start_min == q->end_min)
	{
		*detail = psprintf("The window \"%s\" starts where it ends; use an empty string for no quiet hours.",
						   text);
		return false;
	}
	return true;
}
