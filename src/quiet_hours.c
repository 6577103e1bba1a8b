/*
 * quiet_hours.c -- the quiet-hours window's text form, "HH:MM-HH:MM"
 * (calendar.h): no server state, so the fuzz targets link it as frontend code.
 */
#include "postgres.h"

#include "datatype/timestamp.h"

#include "calendar.h"

#define MINUTES_PER_DAY (HOURS_PER_DAY * MINS_PER_HOUR)

/*
 * "H:MM" or "HH:MM" in text[0..len), ASCII digits only -> minutes after
 * midnight; false unless 00:00..24:00.  (sscanf's %d also took signs and
 * white space inside: "14:-0" was 14:00, "+8:+0" 08:00.)
 */
static bool
parse_clock(const char *text, size_t len, int *minutes)
{
	size_t		hdigits = 0;
	int			h = 0;
	int			m;

	while (hdigits < len && hdigits < 2 && text[hdigits] >= '0' && text[hdigits] <= '9')
		h = h * 10 + (text[hdigits++] - '0');
	if (hdigits == 0 || len != hdigits + 3 || text[hdigits] != ':' ||
		text[hdigits + 1] < '0' || text[hdigits + 1] > '9' ||
		text[hdigits + 2] < '0' || text[hdigits + 2] > '9')
		return false;
	m = (text[hdigits + 1] - '0') * 10 + (text[hdigits + 2] - '0');
	if (m >= MINS_PER_HOUR || h * MINS_PER_HOUR + m > MINUTES_PER_DAY)
		return false;
	*minutes = h * MINS_PER_HOUR + m;
	return true;
}

/* text[0..len) without the spaces around it */
static void
trim_spaces(const char **text, size_t *len)
{
	while (*len > 0 && **text == ' ')
		(*text)++, (*len)--;
	while (*len > 0 && (*text)[*len - 1] == ' ')
		(*len)--;
}

/*
 * The details never repeat the text: the callers' messages quote it
 * (bounded), and a 1 MB setting is not echoed twice.
 */
bool
sms_quiet_hours_parse(const char *text, SmsQuietHours *q, char **detail)
{
	const char *start = text;
	size_t		start_len = strlen(text);
	const char *end;
	size_t		end_len;
	const char *dash;

	q->start_min = q->end_min = 0;
	trim_spaces(&start, &start_len);
	if (start_len == 0)
		return true;
	dash = memchr(start, '-', start_len);
	if (dash == NULL)
	{
		*detail = psprintf("Quiet hours are \"HH:MM-HH:MM\" in sms_ir.timezone, such as \"22:00-08:00\".");
		return false;
	}
	end = dash + 1;
	end_len = start_len - (end - start);
	start_len = dash - start;
	trim_spaces(&start, &start_len);
	trim_spaces(&end, &end_len);
	if (!parse_clock(start, start_len, &q->start_min) || !parse_clock(end, end_len, &q->end_min))
	{
		*detail = psprintf("It is not two times of day between 00:00 and 24:00, such as \"22:00-08:00\".");
		return false;
	}
	q->start_min %= MINUTES_PER_DAY;
	q->end_min %= MINUTES_PER_DAY;
	if (q->start_min == q->end_min)
	{
		*detail = psprintf("The window starts where it ends; use an empty string for no quiet hours.");
		return false;
	}
	return true;
}
