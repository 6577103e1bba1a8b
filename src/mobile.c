/*
 * mobile.c -- Iranian mobile number normalisation and masking.
 *
 * The accepted forms are the ones SPEC §4 lists: 09xxxxxxxxx, 9xxxxxxxxx,
 * 989xxxxxxxxx, +989xxxxxxxxx and 00989xxxxxxxxx, with spaces and dashes
 * ignored.  The canonical form is 09xxxxxxxxx; providers convert from it.
 * Persian (U+06F0..U+06F9) and Arabic-Indic (U+0660..U+0669) digits count
 * as the ASCII digits they stand for, in any mix with ASCII ones.
 */
#include "postgres.h"

#include "mobile.h"

/* UTF-8 of U+0660 (Arabic-Indic zero) and U+06F0 (Persian zero): D9 A0, DB B0 */
#define UTF8_LEAD_ARABIC_INDIC	0xD9
#define UTF8_ZERO_ARABIC_INDIC	0xA0
#define UTF8_LEAD_PERSIAN		0xDB
#define UTF8_ZERO_PERSIAN		0xB0
#define DIGITS_IN_BASE			10

/*
 * The ASCII digit for the digit at p (ASCII, Persian or Arabic-Indic), or
 * -1; *len gets its length in bytes.
 */
static int
digit_at(const char *p, int *len)
{
	const unsigned char *u = (const unsigned char *) p;

	*len = 1;
	if (u[0] >= '0' && u[0] <= '9')
		return u[0];
	if ((u[0] == UTF8_LEAD_ARABIC_INDIC && u[1] >= UTF8_ZERO_ARABIC_INDIC &&
		 u[1] < UTF8_ZERO_ARABIC_INDIC + DIGITS_IN_BASE) ||
		(u[0] == UTF8_LEAD_PERSIAN && u[1] >= UTF8_ZERO_PERSIAN &&
		 u[1] < UTF8_ZERO_PERSIAN + DIGITS_IN_BASE))
	{
		*len = 2;
		return '0' + (u[1] - (u[0] == UTF8_LEAD_PERSIAN ? UTF8_ZERO_PERSIAN
							  : UTF8_ZERO_ARABIC_INDIC));
	}
	return -1;
}

bool
sms_mobile_normalize(const char *in, char *out)
{
	char		digits[32];
	int			n = 0;
	const char *p = in;
	const char *rest;

	/* keep digits (and one leading '+'), drop spaces and dashes */
	while (*p == ' ' || *p == '-' || *p == '\t')
		p++;
	if (*p == '+')
		digits[n++] = *p++;
	while (*p)
	{
		int			len;
		int			d;

		if (*p == ' ' || *p == '-' || *p == '\t')
		{
			p++;
			continue;
		}
		d = digit_at(p, &len);
		if (d < 0 || n >= (int) sizeof(digits) - 1)
			return false;
		digits[n++] = (char) d;
		p += len;
	}
	digits[n] = '\0';

	if (strncmp(digits, "+98", 3) == 0)
		rest = digits + 3;
	else if (strncmp(digits, "0098", 4) == 0)
		rest = digits + 4;
	else if (strncmp(digits, "98", 2) == 0 && n == 12)
		rest = digits + 2;
	else if (digits[0] == '0' && n == 11)
		rest = digits + 1;
	else
		rest = digits;

	/* what is left must be 9 followed by nine digits */
	if (strlen(rest) != 10 || rest[0] != '9')
		return false;

	out[0] = '0';
	memcpy(out + 1, rest, 10);
	out[SMS_MOBILE_LEN] = '\0';
	return true;
}

char *
sms_mobile_mask(const char *canonical)
{
	size_t		len = strlen(canonical);

	if (len < 8)
		return pstrdup("***");
	return psprintf("%.4s***%s", canonical, canonical + len - 4);
}
