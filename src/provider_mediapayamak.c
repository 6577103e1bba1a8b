/*
 * provider_mediapayamak.c -- MediaPayamak SOAP 1.1 web service (seed 002,
 * SPEC §3).
 *
 * WCF BasicHttpBinding: every call is a POST of a SOAP envelope to the
 * service URL (sms_ir.base_url, default MP_DEFAULT_URL: https, since the
 * credentials travel in every body; an http:// base_url is used as given)
 * with Content-Type: text/xml; charset=utf-8 and
 * SOAPAction: "http://tempuri.org/ISendService/<Method>"; the operation
 * element is in the namespace http://tempuri.org/ and carries userName and
 * password (sms_ir.username, sms_ir.password).  String arrays are WCF's
 * <x xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">
 * <a:string>...</a:string></x>.  XML is built and parsed by soap.c.
 *
 * Operations (shapes from the service's WSDL, SPEC §3.1):
 *   sms_send_bulk          SendSMS (<= 100 numbers): result code, recId long[]
 *                          (message ids), status byte[] (base64, 1 sent / 0 not)
 *   sms_send_like_to_like  SendSmsLikeToLike: messageContents string[] parallel
 *                          to toNumbers; result code and ONE smsId int for the
 *                          whole send (no recId[], no status[]).  pack_id is the
 *                          smsId and message_ids is empty: the smsId is not a
 *                          recId (GetDelivery would report on some other
 *                          message)
 *   delivery tracking      GetDeliveryLikeToLike(smsId) for like-to-like sends:
 *                          numbers string[] + deliveryStatus int[], one call a
 *                          send; GetDelivery per recId for SendSMS
 *   sms_delivery_status    GetDelivery(recId) -> one delivery code
 *   sms_credit             GetCredit -> decimal (-1 bad credentials, -2 inactive)
 *   sms_lines              GetSenderNumbers -> ONE string holding the lines,
 *                          split on commas, semicolons and whitespace (a WCF
 *                          string array is accepted too)
 *   sms_inbox              GetMessages(messageType 1, fromNumbers, index 1, count)
 *                          -> MessageInfo[] (data contract SMSPanel.Domain.Models):
 *                          MessageId, Sender, Receiver, Content, ActionDateTime
 * Not available: verify/template (no template API), send_at (SendSMS has no
 * schedule), sms_cancel_scheduled, sms_api (JSON only).  SendBatchSms and
 * GetBatchDelivery are not used: SendSMS returns a recId per recipient, which
 * GetDelivery reports on one by one; a batchSmsId needs the numbers again.
 *
 * What the WSDL leaves open and this file decides (README "mediapayamak"):
 * the pack id of a SendSMS (the first recId: the method has no batch id),
 * an ActionDateTime without an offset is Tehran time, fixed +03:30 (Iran has
 * had no daylight saving time since 2022; older summer dates are an hour off),
 * the separators of GetSenderNumbers' string, delivery code "1: cancelled by
 * the operator" read as 10, and GetDelivery -2 (no such message) as not found.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "mobile.h"
#include "provider.h"
#include "soap.h"

#define MP_NS "http://tempuri.org/"
#define MP_ACTION_PREFIX "http://tempuri.org/ISendService/"
#define MP_DEFAULT_URL "https://payamak-service.ir/SendService.svc"
/* what separates the lines in GetSenderNumbers' one string */
#define MP_LINE_SEPARATORS ",; \t\r\n"
/* GetMessages' count: at most this many, this many when not given */
#define MP_INBOX_MAX 1000
#define MP_INBOX_DEFAULT 100

/* delivery code 7: the recipient blocks (blacklists) the sender */
#define MP_DELIVERY_BLACKLIST 7

/* send result 4: the daily limit, which resets the next day (Tehran time) */
#define MP_CODE_DAILY_LIMIT 4

/* return codes of SendSMS / SendBatchSms (seed 002) */
static const SmsCodeInfo send_codes[] = {
	{1, SMS_ERR_AUTH, "user name or password is not valid"},
	{2, SMS_ERR_FORBIDDEN, "the user is blocked"},
	{3, SMS_ERR_INVALID, "the sender number is not valid"},
	{4, SMS_ERR_RATE_LIMITED, "daily sending limit reached (resets the next day, Tehran time)"},
	{5, SMS_ERR_INVALID, "at most 100 recipients per call"},
	{6, SMS_ERR_REJECTED, "the sender line is inactive"},
	{7, SMS_ERR_REJECTED, "the message contains filtered words"},
	{8, SMS_ERR_NO_CREDIT, "not enough credit"},
	{9, SMS_ERR_SERVER, "the system is being updated"},
	{10, SMS_ERR_FORBIDDEN, "the web service is disabled for the account"},
	/* not in the seed or the WSDL: public clients of the service retry it */
	{23, SMS_ERR_SERVER, "temporary failure, try again (unofficial code)"},
};

/* GetDelivery codes (seed 002); -2 and -1 are errors, handled apart */
static const SmsStatusInfo delivery_codes[] = {
	{-5, "queued", "ask for the delivery report at least one minute after sending"},
	{-4, "queued", "in the operator's send queue; no delivery report yet"},
	{-3, "unknown", "the one-week window for delivery reports has passed"},
	{0, "sent", "sent to the operator"},
	{1, "delivered", "delivered to the handset"},
	{2, "failed", "not delivered to the handset"},
	{3, "failed", "operator error"},
	{4, "failed", "unknown error"},
	{5, "sent", "reached the operator"},
	{6, "failed", "did not reach the operator"},
	{MP_DELIVERY_BLACKLIST, "failed", "blocked by the recipient"},
	{8, "unknown", "unknown"},
	{9, "failed", "rejected by the operator"},
	{10, "failed", "cancelled by the operator"},
	{11, "failed", "not sent"},
};

/*
 * An error found while the parsed document is alive: recorded here and
 * handed to sms_set_error() (which pallocs) only after soap_free().
 */
typedef struct MpPending
{
	SmsErrorClass cls;
	char		code[32];
	const char *codep;			/* code, or NULL */
	const char *message;
	bool		next_day;		/* the daily limit (code 4): retry tomorrow */
} MpPending;

static void
pend(MpPending *pe, SmsErrorClass cls, const char *code, const char *message)
{
	pe->cls = cls;
	pe->codep = NULL;
	if (code != NULL)
	{
		strlcpy(pe->code, code, sizeof(pe->code));
		pe->codep = pe->code;
	}
	pe->message = message;
}

extern const SmsProvider sms_provider_mediapayamak;

/* The SOAP method of each operation this provider has. */
static const char *const mp_method[SMS_OP_COUNT] = {
	[SMS_OP_BULK] = "SendSMS",
	[SMS_OP_LIKE_TO_LIKE] = "SendSmsLikeToLike",
	[SMS_OP_STATUS] = "GetDelivery",
	[SMS_OP_PACK_STATUS] = "GetDeliveryLikeToLike",
	[SMS_OP_CREDIT] = "GetCredit",
	[SMS_OP_LINES] = "GetSenderNumbers",
	[SMS_OP_INBOX] = "GetMessages",
};

/* What a reader gets: the response element, its <Method>Result, pending errors. */
typedef struct MpPayload
{
	xmlNodePtr	resp;
	xmlNodePtr	result;
	MpPending  *pe;
} MpPayload;

static bool
supports_send(const SmsArgs *args, const char **hint)
{
	if (args->send_at != 0)
	{
		*hint = "MediaPayamak's SendSMS has no send time: pass send_at NULL, or "
			"use the outbox (queue_bulk with send_after).";
		return false;
	}
	return true;
}

static bool
supports_status(const SmsArgs *args, const char **hint)
{
	for (int i = 0; i < (args->nids > 0 ? args->nids : 1); i++)
	{
		const char *id = args->nids > 0 ? args->ids[i] : args->id;

		if (id == NULL || !soap_is_integer(id))
		{
			*hint = "MediaPayamak message ids are the numeric recId values sms_send_bulk returns.";
			return false;
		}
	}
	return true;
}

/* GetDeliveryLikeToLike reports on a like-to-like smsId only (a SendSMS has recIds) */
static bool
supports_pack_status(const SmsArgs *args, const char **hint)
{
	if (args->sent_as != SMS_OP_LIKE_TO_LIKE || args->id == NULL || !soap_is_integer(args->id))
	{
		*hint = "MediaPayamak reports on a whole send only for like-to-like sends (their smsId).";
		return false;
	}
	return true;
}

/* <Method xmlns="http://tempuri.org/"><userName/><password/>... */
static void
mp_begin(SoapBuilder *b, const SmsArgs *args, const SmsConfig *cfg)
{
	soap_begin(b, MP_NS, mp_method[args->op]);
	soap_add_string(b, "userName", cfg->username ? cfg->username : "");
	soap_add_string(b, "password", cfg->password ? cfg->password : "");
}

static void
mp_finish(SoapBuilder *b, const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	req->method = "POST";
	req->url = pstrdup(cfg->base_url);
	req->headers[req->nheaders++] = "Content-Type: text/xml; charset=utf-8";
	req->headers[req->nheaders++] = psprintf("SOAPAction: \"%s%s\"", MP_ACTION_PREFIX,
											 mp_method[args->op]);
	req->headers[req->nheaders++] = "Accept: text/xml";
	req->body = soap_finish(b);
	if (req->body == NULL)
		req->body = pstrdup("");	/* out of memory: the server will refuse it */
}

/* SendSMS and SendSmsLikeToLike */
static void
build_send(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	const char *from = args->line_number != NULL && args->line_number[0] != '\0' ?
		args->line_number : (cfg->line_number ? cfg->line_number : "");
	SoapBuilder b;

	mp_begin(&b, args, cfg);
	soap_add_string(&b, "fromNumber", from);
	soap_add_string_array(&b, "toNumbers", args->mobiles, args->nmobiles);
	if (args->op == SMS_OP_BULK)
		soap_add_string(&b, "messageContent", args->message);
	else
		soap_add_string_array(&b, "messageContents", args->messages, args->nmobiles);
	soap_add_bool(&b, "isFlash", false);
	/* SendSMS's ref parameters: WCF clients send them too */
	if (args->op == SMS_OP_BULK)
	{
		soap_add_empty(&b, "recId");
		soap_add_empty(&b, "status");
	}
	mp_finish(&b, args, cfg, req);
}

static void
build_status(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	SoapBuilder b;

	mp_begin(&b, args, cfg);
	soap_add_string(&b, "recId", args->nids > 0 ? args->ids[0] : args->id);
	mp_finish(&b, args, cfg, req);
}

static void
build_pack_status(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	SoapBuilder b;

	mp_begin(&b, args, cfg);
	soap_add_int(&b, "smsId", strtoll(args->id, NULL, 10));
	mp_finish(&b, args, cfg, req);
}

/* GetCredit and GetSenderNumbers: the credentials only */
static void
build_plain(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	SoapBuilder b;

	mp_begin(&b, args, cfg);
	mp_finish(&b, args, cfg, req);
}

/* received messages (messageType 1) of sms_ir.line_number, the newest page */
static void
build_inbox(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	char	   *line = (char *) (cfg->line_number ? cfg->line_number : "");
	int			count = args->count > 0 ? Min(args->count, MP_INBOX_MAX) : MP_INBOX_DEFAULT;
	SoapBuilder b;

	mp_begin(&b, args, cfg);
	soap_add_int(&b, "messageType", 1);
	soap_add_string_array(&b, "fromNumbers", &line, line[0] != '\0' ? 1 : 0);
	soap_add_int(&b, "index", 1);
	soap_add_int(&b, "count", count);
	mp_finish(&b, args, cfg, req);
}

/* --- replies --------------------------------------------------------------- */

static bool
parse_int(const char *s, int64 *v)
{
	if (!soap_is_integer(s))
		return false;
	*v = strtoll(s, NULL, 10);
	return true;
}

/* decimal as numeric text ("12.5", "-1", "1E3" is refused) */
static bool
is_decimal(const char *s)
{
	const char *p = s;
	size_t		d;

	if (s == NULL)
		return false;
	if (*p == '-')
		p++;
	d = strspn(p, "0123456789");
	if (d == 0 || d > 40)
		return false;
	p += d;
	if (*p == '.')
	{
		p++;
		d = strspn(p, "0123456789");
		if (d == 0 || d > 40)
			return false;
		p += d;
	}
	return *p == '\0';
}

static void
send_code_error(MpPending *pe, int64 code)
{
	char		codebuf[32];

	snprintf(codebuf, sizeof(codebuf), INT64_FORMAT, code);
	{
		const SmsCodeInfo *info = sms_code_info(send_codes, lengthof(send_codes), code);

		if (info)
		{
			pend(pe, info->cls, codebuf, info->meaning);
			pe->next_day = code == MP_CODE_DAILY_LIMIT;
			return;
		}
	}
	pend(pe, SMS_ERR_REJECTED, codebuf, "unknown MediaPayamak result code");
}

/* Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64
days_from_civil(int64 y, int m, int d)
{
	int64		era;
	int64		yoe;
	int64		doy;
	int64		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * xs:dateTime "YYYY-MM-DDTHH:MM:SS[.f][Z|+HH:MM|-HH:MM]" -> unix seconds;
 * without an offset the time is Tehran time (+03:30).  false if malformed.
 */
static bool
parse_datetime(const char *s, int64 *out)
{
	int			y, mo, d, h, mi, sec;
	int			n = 0;
	int64		offset = SMS_TEHRAN_UTC_OFFSET_SECS;	/* none given: Tehran time */
	const char *p;

	if (s == NULL || strlen(s) < 19)
		return false;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
		return false;
	if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h > 23 || mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
		return false;
	p = s + 19;
	if (*p == '.')
	{
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z')
	{
		offset = 0;
		p++;
	}
	else if (*p == '+' || *p == '-')
	{
		int			oh, om;

		if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && p[3] == ':' &&
			  p[4] >= '0' && p[4] <= '9' && p[5] >= '0' && p[5] <= '9'))
			return false;
		oh = (p[1] - '0') * 10 + (p[2] - '0');
		om = (p[4] - '0') * 10 + (p[5] - '0');
		if (oh > 14 || om > 59)
			return false;
		offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	}
	if (*p != '\0')
		return false;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
	return true;
}

/* Text of the first child with one of these local names, or NULL. */
static char *
field_text(xmlNodePtr parent, const char *const *names)
{
	for (; *names != NULL; names++)
	{
		xmlNodePtr	c = soap_child(parent, *names);

		if (c != NULL && !soap_is_nil(c))
			return soap_text(c);
	}
	return NULL;
}

/* MessageInfo's fields (WSDL, data contract SMSPanel.Domain.Models) */
static const char *const f_id[] = {"MessageId", NULL};
static const char *const f_sender[] = {"Sender", NULL};
static const char *const f_receiver[] = {"Receiver", NULL};
static const char *const f_body[] = {"Content", NULL};
static const char *const f_date[] = {"ActionDateTime", NULL};

static bool
read_inbox(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	xmlNodePtr	result = ((const MpPayload *) payload)->result;
	int			count = 0;

	if (result == NULL)
		return false;
	if (soap_is_nil(result))
		return true;			/* a nil array: no messages */
	for (xmlNodePtr c = result->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			count++;
	reply->inbox = palloc_extended(sizeof(SmsInboxRow) * Max(count, 1),
								   MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (reply->inbox == NULL)
		return false;
	for (xmlNodePtr c = result->children; c != NULL; c = c->next)
	{
		SmsInboxRow *row = &reply->inbox[reply->ninbox];
		char	   *date;
		char		canonical[SMS_MOBILE_LEN + 1];

		if (c->type != XML_ELEMENT_NODE)
			continue;
		row->provider_id = field_text(c, f_id);
		row->sender = field_text(c, f_sender);
		row->line_number = field_text(c, f_receiver);
		row->message = field_text(c, f_body);
		date = field_text(c, f_date);
		if (row->message == NULL || row->sender == NULL)
			return false;
		if (sms_mobile_normalize(row->sender, canonical))
		{
			char	   *copy = palloc_extended(strlen(canonical) + 1, MCXT_ALLOC_NO_OOM);

			if (copy == NULL)
				return false;
			strcpy(copy, canonical);
			row->sender = copy;
		}
		if (date != NULL && date[0] != '\0' && !parse_datetime(date, &row->received_at))
			return false;
		/* the shared rule: before 1970 (or past timestamptz) is no time */
		row->received_at = sms_unix_time(row->received_at);
		reply->ninbox++;
	}
	return true;
}

/*
 * SendSmsLikeToLike after result 0: one smsId (int) for the whole send.
 * pack_id is the smsId; message_ids is an empty (non-NULL) array, since the
 * smsId is no recId and sms_delivery_status (GetDelivery) must not get it.
 */
static bool
like_to_like_ids(xmlNodePtr resp, SmsReply *reply)
{
	char	   *smsid = soap_text(soap_child(resp, "smsId"));
	int64		v;

	if (!parse_int(smsid, &v) || v <= 0 || v > PG_INT32_MAX)
		return false;
	reply->message_ids = palloc_extended(sizeof(char *), MCXT_ALLOC_NO_OOM);
	if (reply->message_ids == NULL)
		return false;
	reply->nmessage_ids = 0;
	reply->pack_id = smsid;
	return true;
}

/*
 * GetSenderNumbers: ONE string holding the account's lines, split here on
 * MP_LINE_SEPARATORS (which ones the service uses is not in the WSDL).  Some
 * public clients read WCF a:string items instead: an element with child
 * elements is read that way.  Empty or nil: no lines.  "-1" is read as bad
 * credentials (what a public client of the same contract checks for).
 */
static bool
read_lines(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	xmlNodePtr	result = ((const MpPayload *) payload)->result;
	MpPending  *pe = ((const MpPayload *) payload)->pe;
	char	   *text;
	int			count = 0;
	char	   *p;

	if (result == NULL)
		return false;
	if (soap_is_nil(result))
		return true;
	for (xmlNodePtr c = result->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return soap_string_array(result, &reply->lines, &reply->nlines);
	text = soap_text(result);
	if (text == NULL)
		return false;
	if (strcmp(text, "-1") == 0)
	{
		pend(pe, SMS_ERR_AUTH, "-1", "user name or password is not valid");
		return true;
	}
	for (p = text; *p != '\0';)
	{
		p += strspn(p, MP_LINE_SEPARATORS);
		if (*p == '\0')
			break;
		count++;
		p += strcspn(p, MP_LINE_SEPARATORS);
	}
	reply->lines = palloc_extended(sizeof(char *) * Max(count, 1), MCXT_ALLOC_NO_OOM);
	if (reply->lines == NULL)
		return false;
	for (p = text; *p != '\0';)
	{
		size_t		l;

		p += strspn(p, MP_LINE_SEPARATORS);
		if (*p == '\0')
			break;
		l = strcspn(p, MP_LINE_SEPARATORS);
		reply->lines[reply->nlines++] = p;
		if (p[l] == '\0')
			break;
		p[l] = '\0';
		p += l + 1;
	}
	return true;
}

/*
 * The result code of a send (SendSMS, SendSmsLikeToLike); false if it is
 * unreadable.  *refused: the code was not 0 and is now pending in pe.
 */
static bool
send_result_read(xmlNodePtr result, MpPending *pe, bool *refused)
{
	int64		code;

	if (!parse_int(soap_text(result), &code))
		return false;
	*refused = code != 0;
	if (*refused)
		send_code_error(pe, code);
	return true;
}

static bool
read_like_to_like(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	const MpPayload *p = payload;
	bool		refused;

	if (!send_result_read(p->result, p->pe, &refused))
		return false;
	return refused || like_to_like_ids(p->resp, reply);
}

/* SendSMS: result code, recId long[] (one per number), status byte[] (base64) */
static bool
read_bulk(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	const MpPayload *p = payload;
	char	  **ids;
	int			nids;
	unsigned char *st = NULL;
	int			nst = 0;
	xmlNodePtr	stnode;
	bool		refused;

	if (!send_result_read(p->result, p->pe, &refused))
		return false;
	if (refused)
		return true;
	if (!soap_long_array(soap_child(p->resp, "recId"), &ids, &nids))
		return false;
	if (nids != args->nmobiles)
		return false;
	stnode = soap_child(p->resp, "status");
	if (stnode != NULL && !soap_is_nil(stnode))
	{
		if (!soap_base64(stnode, &st, &nst))
			return false;
		if (nst != 0 && nst != args->nmobiles)
			return false;
	}
	/* no recipient accepted at all: the send failed */
	if (nst > 0)
	{
		bool		any = false;

		for (int i = 0; i < nst; i++)
			any |= st[i] != 0;
		if (!any)
		{
			pend(p->pe, SMS_ERR_REJECTED, "0", "no recipient was sent to (every status byte is 0)");
			return true;
		}
	}
	reply->message_ids = ids;
	reply->nmessage_ids = nids;
	reply->pack_id = ids[0];
	return true;
}

/* A delivery code as SmsDelivery's status and detail. */
static void
delivery_of(const char *text, int64 code, SmsDelivery *d)
{
	const SmsStatusInfo *info = sms_status_info(delivery_codes, lengthof(delivery_codes), code);

	d->provider_status = (char *) text;
	d->status = info ? (char *) info->status : "unknown";
	d->detail = info ? (char *) info->meaning : "unknown delivery code";
	d->blacklisted = code == MP_DELIVERY_BLACKLIST;
}

/* GetDelivery: one delivery code, -2 no such recId, -1 operator connection error */
static bool
read_status(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	const MpPayload *p = payload;
	char	   *text = soap_text(p->result);
	SmsDelivery *d;
	int64		code;

	if (!parse_int(text, &code))
		return false;
	if (code == -2)
	{
		pend(p->pe, SMS_ERR_NOT_FOUND, "-2", "no message with this recId");
		return true;
	}
	if (code == -1)
	{
		pend(p->pe, SMS_ERR_SERVER, "-1", "error in the connection to the operator");
		return true;
	}
	d = palloc_extended(sizeof(SmsDelivery), MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (d == NULL)
		return false;
	d->message_id = args->nids > 0 ? args->ids[0] : args->id;
	delivery_of(text, code, d);
	reply->deliveries = d;
	reply->ndeliveries = 1;
	return true;
}

/*
 * GetDeliveryLikeToLike(smsId): result code (0 ok; any other is read as a
 * send result code), numbers string[] and deliveryStatus int[] parallel to
 * it: one delivery per number, each under the smsId.
 */
static bool
read_pack_status(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	const MpPayload *p = payload;
	char	  **numbers;
	char	  **codes;
	int			nnumbers;
	int			ncodes;
	bool		refused;

	if (!send_result_read(p->result, p->pe, &refused))
		return false;
	if (refused)
		return true;
	if (!soap_string_array(soap_child(p->resp, "numbers"), &numbers, &nnumbers) ||
		!soap_long_array(soap_child(p->resp, "deliveryStatus"), &codes, &ncodes) ||
		nnumbers != ncodes)
		return false;
	reply->deliveries = palloc_extended(sizeof(SmsDelivery) * Max(nnumbers, 1),
										MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (reply->deliveries == NULL)
		return false;
	for (int i = 0; i < nnumbers; i++)
	{
		SmsDelivery *d = &reply->deliveries[i];
		char		canonical[SMS_MOBILE_LEN + 1];

		d->message_id = args->id;
		d->mobile = numbers[i];
		if (numbers[i] != NULL && sms_mobile_normalize(numbers[i], canonical))
		{
			d->mobile = palloc_extended(strlen(canonical) + 1, MCXT_ALLOC_NO_OOM);
			if (d->mobile == NULL)
				return false;
			strcpy(d->mobile, canonical);
		}
		delivery_of(codes[i], strtoll(codes[i], NULL, 10), d);
		reply->ndeliveries++;
	}
	return true;
}

/* GetCredit: a decimal; -1 bad credentials, -2 inactive user */
static bool
read_credit(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	const MpPayload *p = payload;
	char	   *text = soap_text(p->result);

	if (!is_decimal(text))
		return false;
	if (strcmp(text, "-1") == 0)
		pend(p->pe, SMS_ERR_AUTH, "-1", "user name or password is not valid");
	else if (strcmp(text, "-2") == 0)
		pend(p->pe, SMS_ERR_FORBIDDEN, "-2", "the user is inactive");
	else if (text[0] == '-')
		return false;
	else if ((reply->number = sms_amount_text(text, SMS_AMOUNT_PLAIN)) == NULL)
		return false;
	return true;
}

/*
 * A successful (HTTP 200) SOAP reply: <Method>Response with its
 * <Method>Result goes to the operation's reader; false when its shape is
 * wrong.
 */
static bool
read_response(const SmsArgs *args, xmlNodePtr resp, SmsReply *reply, MpPending *pe)
{
	const char *method = mp_method[args->op];
	char		name[64];
	MpPayload	payload;

	if (method == NULL)
		return false;
	snprintf(name, sizeof(name), "%sResponse", method);
	if (resp == NULL || strcmp((const char *) resp->name, name) != 0)
		return false;
	snprintf(name, sizeof(name), "%sResult", method);
	payload.resp = resp;
	payload.result = soap_child(resp, name);
	payload.pe = pe;
	return sms_provider_read(&sms_provider_mediapayamak, args, &payload, reply);
}

/* A SOAP fault (WCF replies HTTP 500 with one). */
static void
fault_error(xmlNodePtr fault, MpPending *pe)
{
	char	   *code = soap_text(soap_child(fault, "faultcode"));
	char	   *message = soap_text(soap_child(fault, "faultstring"));
	SmsErrorClass cls = SMS_ERR_SERVER;

	/* the client's fault (bad request, bad arguments) will not get better */
	if (code != NULL && (strstr(code, "Client") != NULL ||
						 strstr(code, "DeserializationFailed") != NULL ||
						 strstr(code, "ActionNotSupported") != NULL))
		cls = SMS_ERR_REJECTED;
	pe->cls = cls;
	pe->codep = code;			/* palloc'd by soap_text: outlives the document */
	pe->message = message ? message : "SOAP fault";
}

static void
mp_parse_reply(const SmsArgs *args, long http_status, const char *body,
			   size_t len, SmsReply *reply)
{
	xmlDocPtr	doc;
	xmlNodePtr	top;
	MpPending	pe;
	char		msg[64];

	memset(&pe, 0, sizeof(pe));
	pe.cls = SMS_OK;
	reply->parts = -1;
	doc = soap_parse(body, len);
	top = doc ? soap_body_child(doc) : NULL;

	/* no ereport (no palloc that can throw) until soap_free() */
	if (top != NULL && soap_is_fault(top))
		fault_error(top, &pe);
	else if (http_status < 200 || http_status >= 300)
	{
		snprintf(msg, sizeof(msg), "HTTP %ld without a SOAP fault", http_status);
		/* a 404 is a wrong service URL here, not an unknown id */
		pe.cls = http_status == 404 ? SMS_ERR_REJECTED : sms_http_status_class(http_status);
		pe.message = msg;
	}
	else if (doc == NULL)
		pend(&pe, SMS_ERR_BAD_REPLY, NULL,
			 "reply is not a SOAP envelope (malformed XML or a DOCTYPE)");
	else if (top == NULL || !read_response(args, top, reply, &pe))
		pend(&pe, SMS_ERR_BAD_REPLY, NULL, "reply has an unexpected shape");
	soap_free(doc);

	if (pe.cls != SMS_OK)
	{
		/* a partial result must not survive an error */
		reply->message_ids = NULL;
		reply->nmessage_ids = 0;
		reply->pack_id = NULL;
		reply->deliveries = NULL;
		reply->ndeliveries = 0;
		reply->lines = NULL;
		reply->nlines = 0;
		reply->inbox = NULL;
		reply->ninbox = 0;
		reply->number = NULL;
		sms_set_error(reply, pe.cls, (int) http_status, pe.codep, pe.message, NULL);
		reply->err.retry_next_day = pe.next_day;
	}
}

static bool
mp_check_config(const SmsConfig *cfg, SmsConfigProblem *problem)
{
	if (cfg->username[0] == '\0' || cfg->password[0] == '\0')
	{
		problem->message = "sms_ir.username and sms_ir.password must be set for provider mediapayamak";
		problem->hint = "A superuser sets them with ALTER SYSTEM SET sms_ir.username = '...', ALTER SYSTEM SET sms_ir.password = 'file:/path/to/password' and SELECT pg_reload_conf().";
		return false;
	}
	/* the user name and password travel in every body */
	if (pg_strncasecmp(cfg->base_url, "http://", 7) == 0)
		problem->warning = "sms_ir.base_url sends the MediaPayamak user name and password unencrypted (http://)";
	return true;
}

const SmsProvider sms_provider_mediapayamak = {
	.name = "mediapayamak",
	.default_base_url = MP_DEFAULT_URL,
	.max_recipients = 100,
	.param_value_max = 100,
	.send_at_min_ahead = 0,
	.send_at_max_ahead = 0,
	.send_concurrency = 1,
	.max_status_ids = 1,
	.ops = {
		[SMS_OP_BULK] = {build_send, read_bulk, supports_send},
		[SMS_OP_LIKE_TO_LIKE] = {build_send, read_like_to_like, supports_send},
		[SMS_OP_STATUS] = {build_status, read_status, supports_status},
		[SMS_OP_PACK_STATUS] = {build_pack_status, read_pack_status, supports_pack_status},
		[SMS_OP_CREDIT] = {build_plain, read_credit},
		[SMS_OP_LINES] = {build_plain, read_lines},
		[SMS_OP_INBOX] = {build_inbox, read_inbox},
		[SMS_OP_VERIFY] = {.hint = "MediaPayamak has no template API: use sms_send_bulk with the full text."},
		[SMS_OP_TEMPLATE] = {.hint = "MediaPayamak has no template API: use sms_send_bulk with the full text."},
		[SMS_OP_CANCEL] = {.hint = "MediaPayamak cannot schedule sends, so there is nothing to cancel: "
			"use the outbox (queue_bulk with send_after) and sms_ir.cancel(id)."},
		[SMS_OP_RAW] = {.hint = "sms_api() calls JSON endpoints and MediaPayamak is a SOAP service: "
			"use sms_credit(), sms_lines(), sms_inbox() and sms_delivery_status()."},
		[SMS_OP_CONTACTS] = {.hint = "MediaPayamak has no contact groups: use sms_send_bulk with the numbers."},
	},
	.parse_reply = mp_parse_reply,
	.check_config = mp_check_config,
	.auth_hint = "Check the secrets behind sms_ir.username and sms_ir.password: the files their 'file:' references name, or their inline values.",
	/*
	 * GetMessages' newest page only: the WSDL does not say whether `index`
	 * counts pages or rows, so the worker asks for index 1 alone.
	 */
	.inbox = {.page_size = MP_INBOX_DEFAULT},
};
