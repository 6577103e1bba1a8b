/*
 * reply.c -- pure helpers for provider replies: recording and describing a
 * classified error, naming operations.  No ereport and no backend-only
 * calls, so the fuzz targets (fuzz/) link this file as it is.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "provider.h"

void
sms_set_error(SmsReply *reply, SmsErrorClass cls, int http_status,
			  const char *code, const char *message, const char *detail)
{
	reply->err.cls = cls;
	reply->err.http_status = http_status;
	/* provider text: valid UTF-8 from here on (it ends up in ERRORs, logs) */
	reply->err.code = code ? pstrdup(sms_text_valid_utf8(code)) : NULL;
	reply->err.message = message ? pstrdup(sms_text_valid_utf8(message)) : NULL;
	reply->err.detail = detail ? pstrdup(sms_text_valid_utf8(detail)) : NULL;
}

#define HTTP_SERVICE_UNAVAILABLE 503

/*
 * May the provider have acted on a request that failed this way?  A
 * timeout or broken connection after the request went out, a 5xx other
 * than 503 (a gateway in front of a provider that did act, or the provider
 * failing half-way: the legacy SDK warns that SendByMobileNumbers can fail
 * after sending), or a success status with a body we cannot read.  Only
 * 503, 429 and replies we can read say the request was not taken.
 */
bool
sms_outcome_unknown(const SmsError *err, bool request_sent, long http_status)
{
	if (err->cls == SMS_ERR_BAD_REPLY)
		return http_status >= 200 && http_status < 300;
	if (!request_sent)
		return false;
	return err->cls == SMS_ERR_TIMEOUT || err->cls == SMS_ERR_NETWORK ||
		(err->cls == SMS_ERR_SERVER && err->http_status >= 500 &&
		 err->http_status != HTTP_SERVICE_UNAVAILABLE);
}

bool
sms_error_is_transient(SmsErrorClass cls)
{
	switch (cls)
	{
		case SMS_ERR_RATE_LIMITED:
		case SMS_ERR_SERVER:
		case SMS_ERR_CONNECT:
		case SMS_ERR_NETWORK:
		case SMS_ERR_TIMEOUT:
			return true;
		default:
			return false;
	}
}

/*
 * Is this a failure of the account or the provider rather than of the
 * message: could not connect, no reply in time, 5xx, 429 and "try later"
 * codes, credentials, permissions, credit?  Those fail over to another
 * account and count for the circuit breaker; a rejection of the message
 * itself (bad number, unknown template, text not approved) does neither.
 */
bool
sms_error_is_account_level(SmsErrorClass cls)
{
	switch (cls)
	{
		case SMS_ERR_AUTH:
		case SMS_ERR_FORBIDDEN:
		case SMS_ERR_NO_CREDIT:
			return true;
		default:
			return sms_error_is_transient(cls);
	}
}

/* One-line description of an error for logs and outbox.last_error. */
char *
sms_error_text(const SmsError *err)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (err->code)
		appendStringInfo(&buf, "provider code %s: ", err->code);
	appendStringInfoString(&buf, err->message ? err->message : "error");
	if (err->detail)
		appendStringInfo(&buf, " (%s)", err->detail);
	if (err->http_status)
		appendStringInfo(&buf, " [HTTP %d]", err->http_status);
	/* err may not come from sms_set_error: check again */
	return sms_text_valid_utf8(buf.data);
}

/* Percent-encode one URL path segment (RFC 3986 unreserved characters pass). */
char *
sms_url_segment(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			appendStringInfoChar(&buf, (char) *p);
		else
			appendStringInfo(&buf, "%%%02X", *p);
	}
	return buf.data;
}

const SmsCodeInfo *
sms_code_info(const SmsCodeInfo *table, size_t n, int64 code)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].code == code)
			return &table[i];
	return NULL;
}

const SmsStatusInfo *
sms_status_info(const SmsStatusInfo *table, size_t n, int64 code)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].code == code)
			return &table[i];
	return NULL;
}

/* Error class of a failed HTTP status, when the body names no known code. */
SmsErrorClass
sms_http_status_class(long http_status)
{
	if (http_status == 401)
		return SMS_ERR_AUTH;
	if (http_status == 403)
		return SMS_ERR_FORBIDDEN;
	if (http_status == 429)
		return SMS_ERR_RATE_LIMITED;
	if (http_status >= 500)
		return SMS_ERR_SERVER;
	if (http_status == 404)
		return SMS_ERR_NOT_FOUND;
	return SMS_ERR_REJECTED;
}

/*
 * Canonical numeric text of a provider's amount (cost, credit), or NULL.
 *
 * Accepted: [-] digits [. digits] [(e|E) [+|-] digits], where with
 * SMS_AMOUNT_THOUSANDS the integer digits may be grouped by ',' (1 to 3
 * digits first, then groups of exactly 3: "1,800", "12,345.5"; "0,5" and
 * "1,80" are refused).  The exponent must lie within
 * +-SMS_AMOUNT_MAX_EXPONENT, else NULL: numeric_in() takes far larger ones,
 * but no real amount needs them and a huge one costs memory.
 *
 * The result is both a JSON number and something numeric_in() takes:
 * no leading zeros ("007" -> "7", "-0012.50" -> "-12.50"), no '+', no sign
 * on zero ("-0.0" -> "0.0"), the exponent as 'e' [-] digits without leading
 * zeros ("1E+03" -> "1e3").  The fraction keeps its digits (a scale is data).
 */
char *
sms_amount_text(const char *raw, SmsAmountFormat fmt)
{
	StringInfoData buf;
	const char *p = raw;
	bool		negative = false;
	bool		nonzero = false;
	int			digits = 0;
	int			group = 0;		/* digits since the last ',' (or start) */
	bool		grouped = false;
	bool		leading_zero = false;
	bool		exp_negative = false;
	int			exponent = 0;

	if (raw == NULL || strlen(raw) > SMS_AMOUNT_MAX_LEN)
		return NULL;
	initStringInfo(&buf);
	if (*p == '-')
	{
		negative = true;
		p++;
	}
	/* integer part: copy without leading zeros */
	for (;; p++)
	{
		if (*p >= '0' && *p <= '9')
		{
			if (digits == 0)
				leading_zero = *p == '0';
			if (*p != '0' || nonzero)
				appendStringInfoChar(&buf, *p);
			nonzero |= *p != '0';
			digits++;
			group++;
			if (grouped && group > SMS_THOUSANDS_GROUP)
				return NULL;
		}
		else if (*p == ',' && fmt == SMS_AMOUNT_THOUSANDS)
		{
			/* first group 1..3 digits not starting with 0, then exactly 3 */
			if (grouped ? group != SMS_THOUSANDS_GROUP
				: (group == 0 || group > SMS_THOUSANDS_GROUP || leading_zero))
				return NULL;
			grouped = true;
			group = 0;
		}
		else
			break;
	}
	if (digits == 0 || (grouped && group != SMS_THOUSANDS_GROUP))
		return NULL;
	if (!nonzero)
		appendStringInfoChar(&buf, '0');
	if (*p == '.')
	{
		appendStringInfoChar(&buf, *p++);
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		for (; *p >= '0' && *p <= '9'; p++)
		{
			appendStringInfoChar(&buf, *p);
			nonzero |= *p != '0';
		}
	}
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			exp_negative = *p++ == '-';
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		for (; *p >= '0' && *p <= '9'; p++)
			if ((exponent = exponent * 10 + (*p - '0')) > SMS_AMOUNT_MAX_EXPONENT)
				return NULL;
		if (exponent != 0)
			appendStringInfo(&buf, "e%s%d", exp_negative ? "-" : "", exponent);
	}
	if (*p != '\0')
		return NULL;
	if (negative && nonzero)
	{
		char	   *out = psprintf("-%s", buf.data);

		pfree(buf.data);
		return out;
	}
	return buf.data;
}

/*
 * A provider's unix time stamp as seconds, or 0 (none) when unusable.
 *
 * Rule: a value above SMS_UNIX_SECONDS_PLAUSIBLE (1e11 s, the year 5138)
 * is read as milliseconds and divided by 1000: a 13-digit millisecond stamp
 * is 2001..2286, a 12-digit second stamp would be year 5138 or later.
 * Zero, negative (before 1970: no inbox holds such a message) and anything
 * past the end of PostgreSQL's timestamptz range give 0, so the row's
 * received_at is NULL rather than silently wrong or an ERROR.
 */
int64
sms_unix_time(int64 raw)
{
	/* END_TIMESTAMP is microseconds since 2000-01-01; as unix seconds: */
	const int64 pg_max_unix = END_TIMESTAMP / USECS_PER_SEC +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY - 1;

	if (raw <= 0)
		return 0;
	if (raw > SMS_UNIX_SECONDS_PLAUSIBLE)
		raw /= SMS_MSECS_PER_SEC;
	return raw < pg_max_unix ? raw : 0;
}

/* UTF-8 of U+FFFD REPLACEMENT CHARACTER */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/*
 * s when it is valid UTF-8, else a palloc'd copy with every byte that does
 * not start a valid sequence replaced by U+FFFD.  (NUL cannot occur inside
 * a C string; an embedded NUL in a reply simply ends it.)  NULL stays NULL.
 */
char *
sms_text_valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		n;
	StringInfoData buf;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n <= PG_INT32_MAX && pg_encoding_verifymbstr(PG_UTF8, s, (int) n) == (int) n)
		return unconstify(char *, s);
	initStringInfo(&buf);
	while (*p)
	{
		int			len = pg_utf_mblen(p);

		if ((size_t) len <= strnlen((const char *) p, len) &&
			pg_utf8_islegal(p, len))
		{
			appendBinaryStringInfo(&buf, (const char *) p, len);
			p += len;
		}
		else
		{
			appendStringInfoString(&buf, UTF8_REPLACEMENT);
			p++;
		}
	}
	return buf.data;
}

/*
 * s cut to at most maxbytes bytes at a UTF-8 character boundary: s itself
 * when it fits, else a palloc'd copy.  Never splits a sequence.
 */
char *
sms_text_clip(const char *s, int maxbytes)
{
	size_t		n;
	size_t		cut;

	if (s == NULL || maxbytes < 0 || (n = strlen(s)) <= (size_t) maxbytes)
		return unconstify(char *, s);
	cut = (size_t) maxbytes;
	/* step back over continuation bytes 10xxxxxx to a lead byte */
	while (cut > 0 && (((unsigned char) s[cut]) & 0xC0) == 0x80)
		cut--;
	return pnstrdup(s, cut);
}
