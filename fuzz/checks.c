/*
 * checks.c -- oracles shared by the fuzz targets; see checks.h.
 */
#include "postgres.h"

#include <ctype.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "arena.h"
#include "checks.h"

static volatile size_t touch_sink;

void
touch_str(const char *s)
{
	if (s != NULL)
		touch_sink += strlen(s);
}

bool
pg_json_valid(const char *s)
{
	JsonLexContext *lex;

	/*
	 * need_escapes = false: syntax only.  jsonb_in also refuses \u0000 in
	 * strings (22P05); that is a documented jsonb limit, not a parser bug.
	 */
	lex = makeJsonLexContextCstringLen(unconstify(char *, s), (int) strlen(s),
									   PG_UTF8, false);
	return pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS;
}

bool
pg_numeric_ok(const char *s)
{
	const char *p = s;
	int			ndigits = 0;

	if (strlen(s) > 1000)
		return false;
	if (pg_strcasecmp(s, "NaN") == 0)
		return true;
	if (*p == '+' || *p == '-')
		p++;
	if (pg_strcasecmp(p, "Infinity") == 0)
		return true;
	while (isdigit((unsigned char) *p))
		p++, ndigits++;
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
			p++, ndigits++;
	}
	if (ndigits == 0)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		long		exponent = 0;
		int			nexp = 0;

		p++;
		if (*p == '+' || *p == '-')
			p++;
		while (isdigit((unsigned char) *p))
		{
			if (exponent <= 100000)
				exponent = exponent * 10 + (*p - '0');
			p++, nexp++;
		}
		if (nexp == 0 || exponent > 1000)
			return false;
	}
	return *p == '\0';
}

bool
amount_is_canonical(const char *s)
{
	const char *p = s;
	bool		negative = false;
	bool		nonzero = false;

	if (*p == '-')
		negative = true, p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		for (nonzero = true; isdigit((unsigned char) *p); p++);
	else
		return false;
	if (*p == '.')
	{
		if (!isdigit((unsigned char) *++p))
			return false;
		for (; isdigit((unsigned char) *p); p++)
			nonzero |= *p != '0';
	}
	if (*p == 'e')
	{
		long		exponent = 0;

		if (*++p == '-')
			p++;
		if (!(*p >= '1' && *p <= '9'))
			return false;
		for (; isdigit((unsigned char) *p) && exponent <= 1000; p++)
			exponent = exponent * 10 + (*p - '0');
		if (exponent > 1000)
			return false;
	}
	if (*p != '\0' || (negative && !nonzero))
		return false;
	return pg_numeric_ok(s) && pg_json_valid(s);
}
