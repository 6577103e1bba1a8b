/*
 * quiet_hours.c -- the quiet-hours window's text form, "HH:MM-HH:MM"
 * (calendar.h): no server state, so the fuzz targets link it as frontend code.
 */
#include "postgres.h"

#include "datatype/timestamp.h"

#include "calendar.h"

#define MINUTES_PER_DAY (HOURS_PER_DAY * MINS_PER_HOUR)

/*
 * "H:MM" or "HH:MM", digits only -> minutes after midnight; false unless
 * 00:00..24:00.  (sscanf's %d also took signs and leading white space:
 * "14:-0" was 14:00.)
 */
static bool
parse_clock(const char *text, int *minutes)
{
	int			h = 0;
	int			m;
	int			i;

	for (i = 0; text[i] >= '0' && text[i] <= '9'; i++)
	{
		if (i == 2)
			return false;
		h = h * 10 + (text[i] - '0');
	}
	if (i == 0 || text[i] != ':')
		return false;
	text += i + 1;
	if (text[0] < '0' || text[0] > '9' || text[1] < '0' || text[1] > '9' || text[2] != '\0')
		return false;
	m = (text[0] - '0') * 10 + (text[1] - '0');
	if (m >= MINS_PER_HOUR || h * MINS_PER_HOUR + m > MINUTES_PER_DAY)
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
