/*
 * reply.c -- pure helpers for provider replies: recording and describing a
 * classified error, naming operations.  No ereport and no backend-only
 * calls, so the fuzz targets (fuzz/) link this file as it is.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "provider.h"

void
sms_set_error(SmsReply *reply, SmsErrorClass cls, int http_status,
			  const char *code, const char *message, const char *detail)
{
	reply->err.cls = cls;
	reply->err.http_status = http_status;
	reply->err.code = code ? pstrdup(code) : NULL;
	reply->err.message = message ? pstrdup(message) : NULL;
	reply->err.detail = detail ? pstrdup(detail) : NULL;
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

const char *
sms_op_name(SmsOp op)
{
	switch (op)
	{
		case SMS_OP_BULK:
			return "sms_send_bulk";
		case SMS_OP_LIKE_TO_LIKE:
			return "sms_send_like_to_like";
		case SMS_OP_VERIFY:
			return "sms_send_verify";
		case SMS_OP_TEMPLATE:
			return "sms_send_template";
		case SMS_OP_STATUS:
			return "sms_delivery_status";
		case SMS_OP_CREDIT:
			return "sms_credit";
		case SMS_OP_LINES:
			return "sms_lines";
		case SMS_OP_CANCEL:
			return "sms_cancel_scheduled";
		case SMS_OP_RAW:
			return "sms_api";
		case SMS_OP_INBOX:
			return "sms_inbox";
		case SMS_OP_CONTACTS:
			return "sms_send_to_contacts";
	}
	return "unknown operation";
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
	return buf.data;
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
