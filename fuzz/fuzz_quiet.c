/*
 * fuzz_quiet.c -- libFuzzer target for the quiet-hours parser
 * (src/quiet_hours.c, sms_ir.quiet_hours and quiet_hours_end()'s argument).
 *
 * The input, up to its first NUL, is the setting's text.  Checked:
 *   - accepted: both ends are minutes of a day (0..1439), they differ
 *     unless the text is only spaces (no window), the text is the
 *     documented grammar once spaces are dropped (H?H:MM-H?H:MM, hours and
 *     minutes digits only), and printing the window as "HH:MM-HH:MM" parses
 *     back to the same window;
 *   - refused: a detail message is given (the GUC check hook prints it).
 */
#include "postgres.h"

#include <stdint.h>

#include "arena.h"
#include "checks.h"
#include "calendar.h"

#define CHECK(cond, ...) \
	do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

#define MINUTES_PER_DAY (24 * 60)

/* one clock of the documented grammar: 1-2 digits ':' 2 digits */
static const char *
clock_ok(const char *s)
{
	int			h = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (++h > 2)
			return NULL;
	if (*s++ != ':')
		return NULL;
	for (int i = 0; i < 2; i++, s++)
		if (*s < '0' || *s > '9')
			return NULL;
	return s;
}

static bool
grammar_ok(const char *text)
{
	char	   *compact = malloc(strlen(text) + 1);
	char	   *w = compact;
	const char *p;
	bool		ok;

	for (const char *r = text; *r; r++)
		if (*r != ' ')
			*w++ = *r;
	*w = '\0';
	ok = compact[0] == '\0' ||
		((p = clock_ok(compact)) != NULL && *p == '-' &&
		 (p = clock_ok(p + 1)) != NULL && *p == '\0');
	free(compact);
	return ok;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	SmsQuietHours q = {-1, -1};
	char	   *detail = NULL;

	memcpy(text, data, size);
	text[size] = '\0';

	if (sms_quiet_hours_parse(text, &q, &detail))
	{
		bool		blank = strspn(text, " ") == strlen(text);

		CHECK(q.start_min >= 0 && q.start_min < MINUTES_PER_DAY &&
			  q.end_min >= 0 && q.end_min < MINUTES_PER_DAY,
			  "\"%s\" gave %d-%d", text, q.start_min, q.end_min);
		CHECK(blank == !SMS_QUIET_HOURS_SET(&q),
			  "\"%s\" gave %d-%d (blank %d)", text, q.start_min, q.end_min, blank);
		CHECK(grammar_ok(text), "\"%s\" accepted, not HH:MM-HH:MM", text);
		if (!blank)
		{
			char		again[32];
			SmsQuietHours q2;
			char	   *detail2 = NULL;

			snprintf(again, sizeof(again), "%02d:%02d-%02d:%02d",
					 q.start_min / 60, q.start_min % 60, q.end_min / 60, q.end_min % 60);
			CHECK(sms_quiet_hours_parse(again, &q2, &detail2) &&
				  q2.start_min == q.start_min && q2.end_min == q.end_min,
				  "\"%s\" -> \"%s\" does not parse back", text, again);
		}
	}
	else
	{
		CHECK(detail != NULL, "\"%s\" refused without a detail", text);
		touch_str(detail);
	}

	arena_reset();
	free(text);
	return 0;
}
