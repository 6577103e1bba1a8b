/*
 * provider_smsafzar.c -- smsafzar REST API (seed 001, SPEC §3).
 *
 * JSON over HTTPS.  Auth is the X-Api-Key header, or Authorization: Bearer
 * when sms_ir.bearer_token is set.  A successful send replies HTTP 200
 * {batchId, message{sentMessageId, ..., parts, cost, messageStatus}} where
 * parts and cost are strings and cost has a thousands separator ("1,800").
 * Every other reply is {errorCode, errorMessage, validationErrors?[{field,
 * errorMessage}]}.
 *
 * The API sends to one recipient per request, so max_recipients is 1 and
 * sms_send_bulk/like_to_like run their requests concurrently
 * (send_concurrency).  Recipients are sent as 09xxxxxxxxx, one of the forms
 * the seed lists; the sender is sent as given (sms_ir.line_number or the
 * argument).
 *
 * What the seed does not document and this file decides (README "smsafzar"):
 * the messageStatus codes, the shapes of the status, balance and cancel
 * replies, and sms_send_verify (a template send with the numeric id).
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "json.h"
#include "mobile.h"
#include "provider.h"

/* errorCode values the seed and smsafzar's manual document */
static const SmsCodeInfo smsafzar_codes[] = {
	{401, SMS_ERR_AUTH, "authentication failed (API key or token is not valid)"},
	{1001, SMS_ERR_INVALID, "request parameter values are not valid"},
	{1005, SMS_ERR_FORBIDDEN, "this method is not allowed for the account"},
	{1006, SMS_ERR_FORBIDDEN, "this IP address is not allowed to use the service"},
	{1053, SMS_ERR_INVALID, "sender line number is not defined in the account"},
	{1106, SMS_ERR_NOT_FOUND, "no scheduled batch with this id (unknown, sent, or within 30 seconds of its send time)"},
	{1107, SMS_ERR_NOT_FOUND, "template id is not valid"},
};

/* messageStatus (not in the seed; README "smsafzar" documents this choice) */
static const SmsStatusInfo smsafzar_statuses[] = {
	{0, "queued", "scheduled, not sent yet"},
	{1, "queued", "accepted, waiting to be sent"},
	{2, "sent", "sent to the operator"},
	{3, "delivered", "delivered to the handset"},
	{4, "failed", "not delivered to the handset"},
	{5, "failed", "rejected by the operator"},
	{6, "failed", "cancelled"},
};

static bool
smsafzar_supports(const SmsArgs *args, const char **hint)
{
	if (args->op == SMS_OP_LINES)
	{
		*hint = "smsafzar has no API for listing sender lines: see them in the smsafzar panel "
			"and set sms_ir.line_number.";
		return false;
	}
	return true;
}

/* The sender: the argument, else sms_ir.line_number; NULL leaves it out. */
static const char *
sender_of(const SmsArgs *args, const SmsConfig *cfg)
{
	if (args->line_number != NULL && args->line_number[0] != '\0')
		return args->line_number;
	if (cfg->line_number != NULL && cfg->line_number[0] != '\0')
		return cfg->line_number;
	return NULL;
}

static void
smsafzar_build_request(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = NULL;
	const char *path = NULL;
	const char *sender = sender_of(args, cfg);

	req->method = "GET";
	switch (args->op)
	{
		case SMS_OP_BULK:
		case SMS_OP_LIKE_TO_LIKE:
			/* one recipient per request (max_recipients = 1) */
			req->method = "POST";
			path = "/messages/send";
			body = sms_json_new_object();
			if (sender)
				json_object_object_add(body, "senderNumber", json_object_new_string(sender));
			json_object_object_add(body, "recipientNumber",
								   json_object_new_string(args->mobiles[0]));
			json_object_object_add(body, "content",
								   json_object_new_string(args->op == SMS_OP_BULK ?
														  args->message : args->messages[0]));
			if (args->send_at)
				json_object_object_add(body, "sendTimestamp",
									   json_object_new_int64(args->send_at));
			break;
		case SMS_OP_VERIFY:
		case SMS_OP_TEMPLATE:
			{
				struct json_object *params = json_object_new_array_ext(args->nparams);

				req->method = "POST";
				path = "/messages/send/template";
				body = sms_json_new_object();
				if (sender)
					json_object_object_add(body, "senderNumber", json_object_new_string(sender));
				json_object_object_add(body, "recipientNumber",
									   json_object_new_string(args->mobiles[0]));
				json_object_object_add(body, "templateId",
									   json_object_new_string(args->template_id));
				for (int i = 0; i < args->nparams; i++)
				{
					struct json_object *p = json_object_new_object();

					json_object_object_add(p, "name", json_object_new_string(args->params[i].name));
					json_object_object_add(p, "value", json_object_new_string(args->params[i].value));
					json_object_array_add(params, p);
				}
				json_object_object_add(body, "parameters", params);
				if (args->send_at)
					json_object_object_add(body, "sendTimestamp",
										   json_object_new_int64(args->send_at));
			}
			break;
		case SMS_OP_STATUS:
			{
				struct json_object *ids = json_object_new_array();

				req->method = "POST";
				path = "/messages/status";
				body = sms_json_new_object();
				if (args->nids > 0)
					for (int i = 0; i < args->nids; i++)
						json_object_array_add(ids, json_object_new_string(args->ids[i]));
				else
					json_object_array_add(ids, json_object_new_string(args->id));
				json_object_object_add(body, "sentMessageIdes", ids);
			}
			break;
		case SMS_OP_CREDIT:
			path = "/account/balance";
			break;
		case SMS_OP_LINES:
		case SMS_OP_CONTACTS:
			path = "/";			/* never used: supports() refuses these */
			break;
		case SMS_OP_INBOX:
			/* the newest first, at most count (1..100, smsafzar's manual) */
			path = psprintf("/messages/received/recent?count=%d", args->count);
			break;
		case SMS_OP_CANCEL:
			req->method = "DELETE";
			path = psprintf("/messages/send/scheduled/%s", sms_url_segment(args->id));
			break;
		case SMS_OP_RAW:
			req->method = args->raw_method;
			path = args->raw_path;
			break;
	}

	req->url = psprintf("%s%s", cfg->base_url, path);
	req->nheaders = 0;
	if (cfg->bearer_token != NULL && cfg->bearer_token[0] != '\0')
		req->headers[req->nheaders++] = psprintf("Authorization: Bearer %s", cfg->bearer_token);
	else
		req->headers[req->nheaders++] = psprintf("X-Api-Key: %s", cfg->api_key);
	req->headers[req->nheaders++] = "Accept: application/json";
	req->headers[req->nheaders++] = "Cache-Control: no-cache";
	if (body != NULL)
	{
		req->body = sms_json_to_cstring(body);
		sms_json_release(body);
	}
	else if (args->op == SMS_OP_RAW && args->raw_body != NULL)
		req->body = pstrdup(args->raw_body);
	else
		req->body = NULL;
	if (req->body != NULL)
		req->headers[req->nheaders++] = "Content-Type: application/json";
}

/*
 * Amount as canonical numeric text: a JSON number, or a string with
 * thousands separators and an optional fraction ("1,800", "12,345.5").
 * NULL when absent or not such a number (sms_amount_text's rule).
 */
static char *
amount_text(struct json_object *obj)
{
	return sms_amount_text(sms_json_scalar_text(obj), SMS_AMOUNT_THOUSANDS);
}

static void
map_status(struct json_object *st, const char **status, const char **detail)
{
	int64		code;

	*status = "unknown";
	*detail = "unknown message status";
	if (!sms_json_int64(st, &code))
		return;
	{
		const SmsStatusInfo *info = sms_status_info(smsafzar_statuses,
													lengthof(smsafzar_statuses), code);

		if (info)
		{
			*status = info->status;
			*detail = info->meaning;
		}
	}
}

/* A non-200 reply: {errorCode, errorMessage, validationErrors?} or anything. */
static void
error_reply(SmsReply *reply, long http_status, struct json_object *obj)
{
	struct json_object *code_obj = sms_json_get_ci(obj, "errorCode");
	char	   *code = sms_json_scalar_text(code_obj);
	char	   *message = sms_json_scalar_text(sms_json_get_ci(obj, "errorMessage"));
	struct json_object *verrs = sms_json_get_ci(obj, "validationErrors");
	const SmsCodeInfo *known = NULL;
	int64		ncode;
	SmsErrorClass cls;
	StringInfoData detail;

	if (sms_json_int64(code_obj, &ncode))
		known = sms_code_info(smsafzar_codes, lengthof(smsafzar_codes), ncode);

	/* the HTTP status decides auth, permission, rate and server errors */
	cls = sms_http_status_class(http_status);
	if (cls == SMS_ERR_REJECTED || cls == SMS_ERR_NOT_FOUND)
	{
		if (known)
			cls = known->cls;
		else if (cls == SMS_ERR_REJECTED && verrs != NULL)
			cls = SMS_ERR_INVALID;
	}

	initStringInfo(&detail);
	if (http_status >= 500 && code != NULL)
		appendStringInfo(&detail, "smsafzar support reference code %s.", code);
	else if (known)
		appendStringInfo(&detail, "smsafzar: %s.", known->meaning);
	if (verrs != NULL && json_object_is_type(verrs, json_type_array))
	{
		size_t		n = json_object_array_length(verrs);

		appendStringInfoString(&detail, detail.len ? " Invalid fields:" : "Invalid fields:");
		for (size_t i = 0; i < n; i++)
		{
			struct json_object *e = json_object_array_get_idx(verrs, i);
			char	   *field = sms_json_scalar_text(sms_json_get_ci(e, "field"));
			char	   *msg = sms_json_scalar_text(sms_json_get_ci(e, "errorMessage"));

			appendStringInfo(&detail, "%s %s", i ? ";" : "", field ? field : "?");
			if (msg)
				appendStringInfo(&detail, " (%s)", msg);
		}
		appendStringInfoChar(&detail, '.');
	}
	if (message == NULL && obj == NULL)
		message = psprintf("HTTP %ld with a non-JSON body", http_status);
	sms_set_error(reply, cls, (int) http_status, code,
				  message ? message : (known ? known->meaning : NULL),
				  detail.len ? detail.data : NULL);
}

/* One row of the status reply. */
static void
delivery_row(struct json_object *m, SmsDelivery *d)
{
	struct json_object *st = sms_json_get_ci(m, "messageStatus");
	char	   *mobile = sms_json_scalar_text(sms_json_get_ci(m, "recipientNumber"));
	char		canonical[SMS_MOBILE_LEN + 1];
	const char *status;
	const char *detail;

	d->message_id = sms_json_scalar_text(sms_json_get_ci(m, "sentMessageId"));
	d->mobile = (mobile && sms_mobile_normalize(mobile, canonical)) ? pstrdup(canonical) : mobile;
	d->provider_status = sms_json_scalar_text(st);
	map_status(st, &status, &detail);
	d->status = (char *) status;
	d->detail = (char *) detail;
}

/*
 * GET /messages/received/recent (issue 4; not in the seed): read as
 * {"messages": [{receivedMessageId, senderNumber, recipientNumber, content,
 * receivedTimestamp}]} or a bare array of those, newest first.
 */
static bool
inbox_rows(const SmsArgs *args, struct json_object *obj, SmsReply *reply)
{
	struct json_object *arr = json_object_is_type(obj, json_type_array) ? obj
		: sms_json_get_ci(obj, "messages");
	int			n;

	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return false;
	n = (int) Min(json_object_array_length(arr), (size_t) Max(args->count, 0));
	reply->inbox = palloc0(sizeof(SmsInboxRow) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		struct json_object *m = json_object_array_get_idx(arr, i);
		SmsInboxRow *row = &reply->inbox[i];
		char		canonical[SMS_MOBILE_LEN + 1];
		int64		when;

		if (!json_object_is_type(m, json_type_object))
			return false;
		row->provider_id = sms_json_scalar_text(sms_json_get_ci(m, "receivedMessageId"));
		row->sender = sms_json_scalar_text(sms_json_get_ci(m, "senderNumber"));
		if (row->sender && sms_mobile_normalize(row->sender, canonical))
			row->sender = pstrdup(canonical);
		row->line_number = sms_json_scalar_text(sms_json_get_ci(m, "recipientNumber"));
		row->message = sms_json_scalar_text(sms_json_get_ci(m, "content"));
		if (sms_json_int64(sms_json_get_ci(m, "receivedTimestamp"), &when))
			row->received_at = sms_unix_time(when);
		if (row->message == NULL)
			return false;
		reply->ninbox++;
	}
	return true;
}

/* Parse a successful reply; false if its shape is wrong. */
static bool
parse_ok(const SmsArgs *args, struct json_object *obj, SmsReply *reply)
{
	switch (args->op)
	{
		case SMS_OP_BULK:
		case SMS_OP_LIKE_TO_LIKE:
		case SMS_OP_VERIFY:
		case SMS_OP_TEMPLATE:
			{
				struct json_object *msg = sms_json_get_ci(obj, "message");
				char	   *id = sms_json_scalar_text(sms_json_get_ci(msg, "sentMessageId"));
				char	   *parts = sms_json_scalar_text(sms_json_get_ci(msg, "parts"));
				const char *status;
				const char *detail;

				reply->pack_id = sms_json_scalar_text(sms_json_get_ci(obj, "batchId"));
				if (id == NULL || reply->pack_id == NULL)
					return false;
				reply->message_ids = palloc(sizeof(char *));
				reply->message_ids[0] = id;
				reply->nmessage_ids = 1;
				reply->cost = amount_text(sms_json_get_ci(msg, "cost"));
				if (parts != NULL && parts[0] != '\0' && strlen(parts) < 6 &&
					strspn(parts, "0123456789") == strlen(parts))
					reply->parts = atoi(parts);
				map_status(sms_json_get_ci(msg, "messageStatus"), &status, &detail);
				reply->status = (char *) status;
				return true;
			}
		case SMS_OP_STATUS:
			{
				struct json_object *arr = obj;
				size_t		n;

				if (!json_object_is_type(arr, json_type_array))
					arr = sms_json_get_ci(obj, "messages");
				if (arr == NULL || !json_object_is_type(arr, json_type_array))
					return false;
				n = json_object_array_length(arr);
				reply->deliveries = palloc0(sizeof(SmsDelivery) * Max(n, 1));
				for (size_t i = 0; i < n; i++)
				{
					struct json_object *m = json_object_array_get_idx(arr, i);

					if (!json_object_is_type(m, json_type_object))
						return false;
					delivery_row(m, &reply->deliveries[reply->ndeliveries]);
					if (reply->deliveries[reply->ndeliveries].message_id == NULL)
						return false;
					reply->ndeliveries++;
				}
				/* ids the provider does not know are left out of its report */
				return true;
			}
		case SMS_OP_CREDIT:
			reply->number = amount_text(sms_json_get_ci(obj, "balance"));
			return reply->number != NULL;
		case SMS_OP_INBOX:
			return inbox_rows(args, obj, reply);
		case SMS_OP_LINES:
		case SMS_OP_CONTACTS:
			return false;
		case SMS_OP_CANCEL:
			reply->cancelled = true;
			return true;
		case SMS_OP_RAW:
			return true;
	}
	return false;
}

static void
smsafzar_parse_reply(const SmsArgs *args, long http_status, const char *body,
					 size_t len, SmsReply *reply)
{
	struct json_object *obj = sms_json_parse(body, len);

	reply->parts = -1;
	if (http_status >= 200 && http_status < 300)
	{
		if (args->op == SMS_OP_CANCEL && len == 0)
			reply->cancelled = true;
		else if (obj == NULL)
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "reply is not JSON", NULL);
		else if (args->op == SMS_OP_RAW)
			reply->json = sms_json_to_cstring(obj);
		else if (!parse_ok(args, obj, reply))
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "reply has an unexpected shape", NULL);
	}
	else
		error_reply(reply, http_status, obj);

	if (obj != NULL)
		sms_json_release(obj);
}

const SmsProvider sms_provider_smsafzar = {
	.name = "smsafzar",
	.default_base_url = "https://api.smsafzar.ir",
	.max_recipients = 1,
	.param_value_max = 100,
	/* the seed: sendTimestamp must be later than now; one minute of margin */
	.send_at_min_ahead = 60,
	.send_at_max_ahead = 365 * 86400,
	.send_concurrency = 10,
	.max_status_ids = 100,
	.supports = smsafzar_supports,
	.build_request = smsafzar_build_request,
	.parse_reply = smsafzar_parse_reply,
};
