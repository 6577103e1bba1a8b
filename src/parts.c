/*
 * parts.c -- SMS part counting (GSM 03.38 7-bit or UCS-2, SPEC §12.5) and
 * the SQL function sms_ir.sms_parts(message).
 *
 * A text is GSM 7-bit when every character is in the GSM 03.38 default
 * alphabet or its extension table (an extension character costs two
 * septets: escape + code); otherwise the whole text goes as UCS-2 and
 * counts UTF-16 code units (a character outside the BMP costs two).
 * One part holds 160 septets / 70 units; a longer text is split into
 * concatenated parts of 153 septets / 67 units (the rest is the UDH).
 * Like most gateways' calculators this does not move an escape sequence or
 * a surrogate pair that straddles a part boundary into the next part.
 *
 * Empty text: 0 characters and 1 part (gsm7).  sms_parts() is a preview,
 * not a send: refusing empty text is args.c's job (22023 "must not be
 * empty"), so the preview answers what the counter says.
 */
#include "postgres.h"

#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "parts.h"

/* Non-ASCII code points of the GSM 03.38 default alphabet. */
static const pg_wchar gsm7_basic_nonascii[] = {
	0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6,
	0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4,
	0x00E5, 0x00E6, 0x00E8, 0x00E9, 0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8,
	0x00F9, 0x00FC, 0x0393, 0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3,
	0x03A6, 0x03A8, 0x03A9
};

/* The extension table: each costs two septets. */
static const pg_wchar gsm7_extension[] = {
	0x000C, '^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC
};

#define UNICODE_BMP_LIMIT	0x10000
#define UTF8_MAX_SEQ		4

/* Septets `c` costs in GSM 7-bit, or 0 when it has no GSM 7-bit form. */
static int
gsm7_septets(pg_wchar c)
{
	for (size_t i = 0; i < lengthof(gsm7_extension); i++)
		if (gsm7_extension[i] == c)
			return 2;
	/* printable ASCII except the backtick; LF and CR */
	if ((c >= 0x20 && c < 0x7F && c != '`') || c == '\n' || c == '\r')
		return 1;
	for (size_t i = 0; i < lengthof(gsm7_basic_nonascii); i++)
		if (gsm7_basic_nonascii[i] == c)
			return 1;
	return 0;
}

/* Decode one UTF-8 character at s (n bytes left); *c = -1 when invalid. */
static int
next_char(const unsigned char *s, size_t n, int32 *c)
{
	int			len = pg_utf_mblen(s);

	if (len < 1 || len > UTF8_MAX_SEQ || (size_t) len > n ||
		!pg_utf8_islegal(s, len))
	{
		*c = -1;
		return 1;
	}
	*c = (int32) utf8_to_unicode(s);
	return len;
}

static int64
parts_for(int64 units, int single, int multi)
{
	if (units <= single)
		return 1;
	return (units + multi - 1) / multi;
}

void
sms_parts_count(const char *utf8, size_t len, SmsParts *out)
{
	const unsigned char *s = (const unsigned char *) utf8;
	int64		septets = 0;
	int64		units = 0;
	bool		gsm7 = true;
	size_t		off = 0;

	while (off < len)
	{
		int32		c;
		int			septs;

		off += next_char(s + off, len - off, &c);
		if (c < 0)
		{
			gsm7 = false;
			units++;
			continue;
		}
		units += (c >= UNICODE_BMP_LIMIT) ? 2 : 1;
		if (gsm7)
		{
			septs = gsm7_septets((pg_wchar) c);
			if (septs == 0)
				gsm7 = false;
			septets += septs;
		}
	}
	if (gsm7)
	{
		out->encoding = SMS_ENC_GSM7;
		out->characters = septets;
		out->parts = parts_for(septets, SMS_GSM7_SINGLE_PART, SMS_GSM7_MULTI_PART);
	}
	else
	{
		out->encoding = SMS_ENC_UCS2;
		out->characters = units;
		out->parts = parts_for(units, SMS_UCS2_SINGLE_PART, SMS_UCS2_MULTI_PART);
	}
}

const char *
sms_encoding_name(SmsEncoding enc)
{
	return enc == SMS_ENC_GSM7 ? "gsm7" : "ucs2";
}

#ifndef FRONTEND
void
sms_parts_of_text(const char *s, SmsParts *out)
{
	/* pg_server_to_any returns s itself when the database is UTF-8 */
	char	   *utf8 = pg_server_to_any(s, strlen(s), PG_UTF8);

	sms_parts_count(utf8, strlen(utf8), out);
	if (utf8 != s)
		pfree(utf8);
}

/* sms_ir.sms_parts(message text) RETURNS TABLE(encoding, characters, parts) */
PG_FUNCTION_INFO_V1(sms_parts);
Datum
sms_parts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SmsParts	p;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	sms_parts_of_text(text_to_cstring(PG_GETARG_TEXT_PP(0)), &p);
	InitMaterializedSRF(fcinfo, 0);
	values[0] = CStringGetTextDatum(sms_encoding_name(p.encoding));
	/* a text is at most 1 GB, so both fit an int4 */
	values[1] = Int32GetDatum((int32) p.characters);
	values[2] = Int32GetDatum((int32) p.parts);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
#endif
