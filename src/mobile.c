/*
 * mobile.c -- Iranian mobile number normalisation and masking.
 *
 * The accepted forms are the ones SPEC §4 lists: 09xxxxxxxxx, 9xxxxxxxxx,
 * 989xxxxxxxxx, +989xxxxxxxxx and 00989xxxxxxxxx, with spaces and dashes
 * ignored.  The canonical form is 09xxxxxxxxx; providers convert from it.
 */
#include "postgres.h"

#include "mobile.h"

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
	for (; *p; p++)
	{
		if (*p == ' ' || *p == '-' || *p == '\t')
			continue;
		if (*p < '0' || *p > '9' || n >= (int) sizeof(digits) - 1)
			return false;
		digits[n++] = *p;
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
