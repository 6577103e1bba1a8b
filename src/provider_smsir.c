/*
 * provider_smsir.c -- sms.ir REST v1 (seed 000, SPEC §3).
 *
 * JSON over HTTPS with the key in the X-API-KEY header.  Replies are the
 * envelope {status, message, data} (status 1 = success) or, for malformed
 * requests, ASP.NET ProblemDetails {type, title, status, errors}.
 * Mobiles are sent as 09xxxxxxxxx, which the API documents as accepted.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "mobile.h"
#include "provider_rest.h"

/* Meaning and class of sms.ir's reply status codes. */
/* the reply code of a send refused because the mobile is blacklisted */
#define SMSIR_CODE_BLACKLIST 115

static const SmsCodeInfo smsir_codes[] = {
	{0, SMS_ERR_SERVER, "server error"},
	{10, SMS_ERR_AUTH, "invalid API key"},
	{11, SMS_ERR_FORBIDDEN, "API key disabled"},
	{12, SMS_ERR_FORBIDDEN, "IP address not allowed for this key"},
	{13, SMS_ERR_FORBIDDEN, "account inactive"},
	{14, SMS_ERR_FORBIDDEN, "account suspended"},
	{15, SMS_ERR_FORBIDDEN, "the account's plan must be upgraded to use the web service"},
	{16, SMS_ERR_INVALID, "a parameter value is not valid"},
	{20, SMS_ERR_RATE_LIMITED, "too many requests"},
	{101, SMS_ERR_INVALID, "invalid line number"},
	{102, SMS_ERR_NO_CREDIT, "not enough credit"},
	{103, SMS_ERR_INVALID, "empty message text"},
	{104, SMS_ERR_INVALID, "invalid mobile number"},
	{105, SMS_ERR_INVALID, "more than 100 mobile numbers"},
	{106, SMS_ERR_INVALID, "more than 100 message texts"},
	{107, SMS_ERR_INVALID, "empty mobile list"},
	{108, SMS_ERR_INVALID, "empty message text list"},
	{109, SMS_ERR_INVALID, "invalid send time"},
	{110, SMS_ERR_INVALID, "number of mobiles and messages differ"},
	{111, SMS_ERR_NOT_FOUND, "unknown id"},
	{112, SMS_ERR_NOT_FOUND, "nothing found to delete (unknown or already sent pack)"},
	{113, SMS_ERR_NOT_FOUND, "template not found"},
	{114, SMS_ERR_INVALID, "a parameter value is longer than 25 characters"},
	{115, SMS_ERR_REJECTED, "mobile number on the blacklist"},
	{116, SMS_ERR_INVALID, "a template parameter was not given a value"},
	{117, SMS_ERR_REJECTED, "message text not approved"},
	{118, SMS_ERR_RATE_LIMITED, "too many messages"},
	{119, SMS_ERR_FORBIDDEN, "the account's plan must be upgraded for custom templates"},
	{123, SMS_ERR_FORBIDDEN, "the sender line must be activated"},
	{124, SMS_ERR_REJECTED, "only OTP sends are allowed now and the template is not an OTP template"},
};

/* deliveryState 7: the recipient is on the (telecom's) blacklist */
#define SMSIR_DELIVERY_BLACKLIST 7
/* receive/live and receive/archive: at most this many messages a page */
#define SMSIR_RECEIVE_PAGE_MAX 100

/* deliveryState of GET /v1/send/{id} and /v1/send/pack/{packId} */
static const SmsStatusInfo smsir_delivery[] = {
	{1, "delivered", "delivered to the handset"},
	{2, "failed", "not delivered to the handset"},
	{3, "sent", "at the operator"},
	{4, "failed", "did not reach the operator"},
	{5, "sent", "reached the operator"},
	{6, "failed", "failed"},
	{SMSIR_DELIVERY_BLACKLIST, "failed", "recipient is on the blacklist"},
};

extern const SmsProvider sms_provider_smsir;

static bool
is_digits(const char *s)
{
	return s != NULL && s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

static void
key_header(SmsRequest *req, const SmsConfig *cfg)
{
	req->headers[req->nheaders++] = psprintf("X-API-KEY: %s", cfg->api_key);
}

/* The key header, then the request tail. */
static void
smsir_request(SmsRequest *req, const SmsConfig *cfg, const char *method,
			  const char *path, struct json_object *body)
{
	key_header(req, cfg);
	sms_rest_request(req, cfg, method, path, body, false);
}

/* --- requests, one per operation ---------------------------------------- */

static struct json_object *
send_body(const SmsArgs *args)
{
	struct json_object *body = sms_json_new_object();

	json_object_object_add(body, "lineNumber",
						   json_object_new_int64(strtoll(args->line_number, NULL, 10)));
	return body;
}

static void
send_tail(const SmsArgs *args, struct json_object *body)
{
	json_object_object_add(body, "mobiles",
						   sms_rest_string_array(args->mobiles, args->nmobiles));
	json_object_object_add(body, "sendDateTime",
						   args->send_at ? json_object_new_int64(args->send_at) : NULL);
}

static void
build_bulk(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = send_body(args);

	json_object_object_add(body, "messageText", json_object_new_string(args->message));
	send_tail(args, body);
	smsir_request(req, cfg, "POST", "/v1/send/bulk", body);
}

static void
build_like_to_like(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = send_body(args);

	json_object_object_add(body, "messageTexts",
						   sms_rest_string_array(args->messages, args->nmobiles));
	send_tail(args, body);
	smsir_request(req, cfg, "POST", "/v1/send/likeToLike", body);
}

/* VERIFY, and TEMPLATE in the verify form supports_template allows */
static void
build_verify(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = sms_json_new_object();

	json_object_object_add(body, "mobile", json_object_new_string(args->mobiles[0]));
	json_object_object_add(body, "templateId",
						   json_object_new_int64(strtoll(args->template_id, NULL, 10)));
	json_object_object_add(body, "parameters", sms_rest_params(args));
	smsir_request(req, cfg, "POST", "/v1/send/verify", body);
}

static bool
supports_template(const SmsArgs *args, const char **hint)
{
	if (!is_digits(args->template_id) || args->line_number != NULL || args->send_at != 0)
	{
		*hint = "sms.ir sends templates only as verify messages: pass a numeric template_id "
			"with no sender and no send_at, or call sms_send_verify().";
		return false;
	}
	return true;
}

static void
build_status(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	smsir_request(req, cfg, "GET", psprintf("/v1/send/%s", sms_url_segment(args->id)), NULL);
}

/* the reports of every message of a pack, in one call */
static void
build_pack_status(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	smsir_request(req, cfg, "GET", psprintf("/v1/send/pack/%s", sms_url_segment(args->id)), NULL);
}

static void
build_credit(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	smsir_request(req, cfg, "GET", "/v1/credit", NULL);
}

static void
build_lines(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	smsir_request(req, cfg, "GET", "/v1/line", NULL);
}

static void
build_cancel(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	smsir_request(req, cfg, "DELETE",
				  psprintf("/v1/send/scheduled/%s", sms_url_segment(args->id)), NULL);
}

static void
build_raw(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	key_header(req, cfg);
	sms_rest_raw_request(req, cfg, args, false);
}

/*
 * Not /v1/receive/latest: that call is destructive (each message is returned
 * once, ever), so a SELECT would take messages away from the account's other
 * readers.  /live lists today's messages, read or not, and consumes nothing;
 * /archive lists older ones (up to yesterday) between two unix times, with
 * receiveReturnId.  Both page by pageNumber/pageSize (at most 100 a page).
 */
static void
build_inbox(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	int			page = Max(args->page, 1);

	if (args->from_time != 0 || args->to_time != 0)
		smsir_request(req, cfg, "GET",
					  psprintf("/v1/receive/archive?pageNumber=%d&pageSize=%d"
							   "&fromDate=" INT64_FORMAT "&toDate=" INT64_FORMAT,
							   page, args->count, args->from_time, args->to_time),
					  NULL);
	else
		smsir_request(req, cfg, "GET",
					  psprintf("/v1/receive/live?pageNumber=%d&pageSize=%d&sortByNewest=true",
							   page, args->count),
					  NULL);
}

/* --- replies -------------------------------------------------------------- */

/* Error from an envelope status code (or the HTTP status when none). */
static void
envelope_error(SmsReply *reply, long http_status, bool have_code, int64 code,
			   const char *message)
{
	const SmsCodeInfo *known = have_code ? sms_code_info(smsir_codes, lengthof(smsir_codes), code) : NULL;
	SmsErrorClass cls;
	char		codebuf[32];

	cls = known ? known->cls : sms_http_status_class(http_status);

	/* whatever the body says, a 5xx or 429 is worth a retry */
	if (http_status >= 500 && cls != SMS_ERR_AUTH)
		cls = SMS_ERR_SERVER;
	if (http_status == 429)
		cls = SMS_ERR_RATE_LIMITED;
	if (http_status == 401)
		cls = SMS_ERR_AUTH;

	if (have_code)
		snprintf(codebuf, sizeof(codebuf), INT64_FORMAT, code);
	sms_set_error(reply, cls, (int) http_status, have_code ? codebuf : NULL,
				  message ? message : (known ? known->meaning : NULL),
				  known ? psprintf("sms.ir: %s.", known->meaning) : NULL);
	reply->err.blacklisted = have_code && code == SMSIR_CODE_BLACKLIST;
}

/* ASP.NET ProblemDetails: {title, status, errors: {field: [msg, ...]}} */
static bool
problem_details(SmsReply *reply, long http_status, struct json_object *obj)
{
	struct json_object *title = sms_json_get_ci(obj, "title");
	struct json_object *errors = sms_json_get_ci(obj, "errors");
	StringInfoData detail;
	SmsErrorClass cls;

	if (title == NULL && errors == NULL)
		return false;
	initStringInfo(&detail);
	if (errors != NULL && json_object_is_type(errors, json_type_object))
	{
		json_object_iter it;

		json_object_object_foreachC(errors, it)
		{
			const char *field = it.key;
			struct json_object *msgs = it.val;

			appendStringInfo(&detail, "%s%s:", detail.len ? "; " : "", field);
			if (json_object_is_type(msgs, json_type_array))
			{
				size_t		n = json_object_array_length(msgs);

				for (size_t i = 0; i < n; i++)
				{
					char	   *m = sms_json_scalar_text(json_object_array_get_idx(msgs, i));

					if (m)
						appendStringInfo(&detail, " %s", m);
				}
			}
		}
	}
	/* a validation failure, unless the HTTP status says otherwise */
	cls = sms_http_status_class(http_status);
	sms_set_error(reply,
				  cls == SMS_ERR_REJECTED ? SMS_ERR_INVALID : cls,
				  (int) http_status, NULL,
				  title ? sms_json_scalar_text(title) : "validation failed",
				  detail.len ? detail.data : NULL);
	return true;
}

/* One report of GET /v1/send/{id} or an element of /v1/send/pack/{packId}. */
static void
delivery_row(struct json_object *data, SmsDelivery *d, const char *fallback_id)
{
	struct json_object *state = sms_json_get_ci(data, "deliveryState");
	int64		st;

	d->message_id = sms_json_scalar_text(sms_json_get_ci(data, "messageId"));
	if (d->message_id == NULL && fallback_id != NULL)
		d->message_id = pstrdup(fallback_id);
	d->mobile = sms_rest_mobile(sms_json_get_ci(data, "mobile"));
	d->provider_status = sms_json_scalar_text(state);
	if (state == NULL || json_object_is_type(state, json_type_null))
	{
		d->status = "queued";
		d->detail = "not sent yet";
		return;
	}
	d->status = "unknown";
	d->detail = "unknown delivery state";
	if (sms_json_int64(state, &st))
	{
		const SmsStatusInfo *info = sms_status_info(smsir_delivery, lengthof(smsir_delivery), st);

		if (info)
		{
			d->status = (char *) info->status;
			d->detail = (char *) info->meaning;
		}
		d->blacklisted = st == SMSIR_DELIVERY_BLACKLIST;
	}
}

/* data of a bulk or like-to-like send: {packId, messageIds, cost} */
static bool
read_send(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *data = (struct json_object *) payload;

	reply->pack_id = sms_json_scalar_text(sms_json_get_ci(data, "packId"));
	reply->message_ids = sms_rest_scalar_array(sms_json_get_ci(data, "messageIds"),
											   &reply->nmessage_ids);
	reply->cost = sms_rest_amount(sms_json_get_ci(data, "cost"), SMS_AMOUNT_PLAIN);
	return reply->pack_id != NULL && reply->message_ids != NULL;
}

/* data of a verify send: {messageId, cost} */
static bool
read_verify(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *data = (struct json_object *) payload;
	char	   *id = sms_json_scalar_text(sms_json_get_ci(data, "messageId"));

	if (id == NULL)
		return false;
	reply->message_ids = palloc(sizeof(char *));
	reply->message_ids[0] = id;
	reply->nmessage_ids = 1;
	reply->cost = sms_rest_amount(sms_json_get_ci(data, "cost"), SMS_AMOUNT_PLAIN);
	reply->status = "sent";
	return true;
}

static bool
read_status(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *data = (struct json_object *) payload;

	if (data == NULL || !json_object_is_type(data, json_type_object))
		return false;
	reply->deliveries = palloc0(sizeof(SmsDelivery));
	reply->ndeliveries = 1;
	delivery_row(data, &reply->deliveries[0], args->id);
	return true;
}

/* data of /v1/send/pack/{packId}: an array of reports, one per message */
static bool
read_pack_status(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *data = (struct json_object *) payload;
	size_t		n;

	if (data == NULL || !json_object_is_type(data, json_type_array))
		return false;
	n = json_object_array_length(data);
	reply->deliveries = palloc0(sizeof(SmsDelivery) * Max(n, 1));
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *m = json_object_array_get_idx(data, i);

		if (!json_object_is_type(m, json_type_object))
			return false;
		delivery_row(m, &reply->deliveries[reply->ndeliveries], NULL);
		if (reply->deliveries[reply->ndeliveries].message_id == NULL)
			return false;
		reply->ndeliveries++;
	}
	return true;
}

static bool
read_credit(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *data = (struct json_object *) payload;

	if (data == NULL || !(json_object_is_type(data, json_type_int) ||
						  json_object_is_type(data, json_type_double)))
		return false;
	reply->number = sms_rest_amount(data, SMS_AMOUNT_PLAIN);
	return reply->number != NULL;
}

static bool
read_lines(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	reply->lines = sms_rest_scalar_array((struct json_object *) payload, &reply->nlines);
	return reply->lines != NULL;
}

static bool
read_cancel(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	reply->cancelled = true;
	return true;
}

/*
 * data of GET /v1/receive/live (or /latest, /archive): [{number, messageText,
 * mobile, receivedDateTime, receiveReturnId (not in live)}]
 */
static bool
read_inbox(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *data = (struct json_object *) payload;

	if (data == NULL || !json_object_is_type(data, json_type_array))
		return false;
	reply->ninbox = (int) json_object_array_length(data);
	reply->inbox = palloc0(sizeof(SmsInboxRow) * Max(reply->ninbox, 1));
	for (int i = 0; i < reply->ninbox; i++)
	{
		struct json_object *m = json_object_array_get_idx(data, i);
		SmsInboxRow *row = &reply->inbox[i];
		int64		when;

		if (!json_object_is_type(m, json_type_object))
			return false;
		row->sender = sms_rest_mobile(sms_json_get_ci(m, "mobile"));
		row->line_number = sms_json_scalar_text(sms_json_get_ci(m, "number"));
		row->message = sms_json_scalar_text(sms_json_get_ci(m, "messageText"));
		row->provider_id = sms_json_scalar_text(sms_json_get_ci(m, "receiveReturnId"));
		if (sms_json_int64(sms_json_get_ci(m, "receivedDateTime"), &when))
			row->received_at = sms_unix_time(when);
		if (row->message == NULL)
			return false;
	}
	return true;
}

/* The envelope {status, message, data}; status 1 hands `data` to the op's reader. */
static void
smsir_parse_reply(const SmsArgs *args, long http_status, const char *body,
				  size_t len, SmsReply *reply)
{
	struct json_object *obj = sms_rest_reply_begin(reply, body, len);
	struct json_object *status;
	int64		code = 0;
	bool		have_code;
	char	   *message;

	status = sms_json_get_ci(obj, "status");
	have_code = sms_json_int64(status, &code);
	message = sms_json_scalar_text(sms_json_get_ci(obj, "message"));

	if (http_status >= 200 && http_status < 300)
	{
		if (obj == NULL)
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "reply is not JSON", NULL);
		else if (args->op == SMS_OP_RAW)
			(void) sms_rest_read_raw(args, obj, reply);
		else if (!have_code)
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "reply has no status field", NULL);
		else if (code != 1)
			envelope_error(reply, http_status, true, code, message);
		else if (!sms_provider_read(&sms_provider_smsir, args,
									sms_json_get_ci(obj, "data"), reply))
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "reply data has an unexpected shape", NULL);
	}
	else if (obj != NULL && problem_details(reply, http_status, obj))
		 /* ASP.NET validation reply */ ;
	else if (obj != NULL && json_object_is_type(obj, json_type_object))
		envelope_error(reply, http_status, have_code, code, message);
	else
		envelope_error(reply, http_status, false, 0,
					   psprintf("HTTP %ld with a non-JSON body", http_status));

	if (obj != NULL)
		sms_json_release(obj);
}

static bool
smsir_check_config(const SmsConfig *cfg, SmsConfigProblem *problem)
{
	if (cfg->api_key[0] != '\0')
		return true;
	problem->message = "sms_ir.api_key is not set";
	problem->hint = "A superuser sets it with ALTER SYSTEM SET sms_ir.api_key = 'file:/path/to/key' and SELECT pg_reload_conf().";
	return false;
}

const SmsProvider sms_provider_smsir = {
	.name = "smsir",
	.default_base_url = "https://api.sms.ir",
	.max_recipients = 100,
	.param_value_max = 25,
	.send_at_min_ahead = 3600,
	.send_at_max_ahead = 365 * 86400,
	.send_concurrency = 1,
	.max_status_ids = 1,
	/* templateId is an int (32-bit) in sms.ir's official .NET SDK */
	.max_template_id = PG_INT32_MAX,
	.ops = {
		[SMS_OP_BULK] = {build_bulk, read_send},
		[SMS_OP_LIKE_TO_LIKE] = {build_like_to_like, read_send},
		[SMS_OP_VERIFY] = {build_verify, read_verify},
		[SMS_OP_TEMPLATE] = {build_verify, read_verify, supports_template},
		[SMS_OP_STATUS] = {build_status, read_status},
		[SMS_OP_PACK_STATUS] = {build_pack_status, read_pack_status},
		[SMS_OP_CREDIT] = {build_credit, read_credit},
		[SMS_OP_LINES] = {build_lines, read_lines},
		[SMS_OP_CANCEL] = {build_cancel, read_cancel},
		[SMS_OP_RAW] = {build_raw, sms_rest_read_raw},
		[SMS_OP_INBOX] = {build_inbox, read_inbox},
		[SMS_OP_CONTACTS] = {.hint = "Contact groups belong to the legacy White SMS API "
			"(sms_ir.provider = 'smsir_legacy'); send to numbers with sms_send_bulk()."},
	},
	.parse_reply = smsir_parse_reply,
	.check_config = smsir_check_config,
	.auth_hint = "Check the key behind sms_ir.api_key: the file its 'file:' reference names, or its inline value.",
	/* live has no id, archive has receiveReturnId: one message, two shapes */
	.inbox = {.page_size = SMSIR_RECEIVE_PAGE_MAX, .pages = true, .archive = true,
			  .key_by_content = true},
};
