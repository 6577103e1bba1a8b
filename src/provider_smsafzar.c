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
 * sms_send_bulk/like_to_like go through POST /messages/send/bulk, up to 100
 * recipients a request; more than 100 are requests run concurrently
 * (send_concurrency).  The cost of a bulk send is the sum of its messages'
 * whole-rial costs (NULL when one is missing or fractional).  Recipients are sent as 09xxxxxxxxx, one of the forms
 * the seed lists; the sender is sent as given (sms_ir.line_number or the
 * argument).
 *
 * What the seed does not document and this file decides (README "smsafzar"):
 * the messageStatus codes, the shapes of the status, balance and cancel
 * replies, and sms_send_verify (a template send with the numeric id).
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "mobile.h"
#include "provider_rest.h"

/* longest token that goes into the Authorization header */
#define SMS_TOKEN_MAX_LEN 4096

/* digits of one message's cost that sum safely in an int64 over 100 messages */
#define SMS_COST_MAX_DIGITS 15
/* GET /messages/received/recent: count 1..this (smsafzar's manual) */
#define SMSAFZAR_RECENT_MAX 100

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

extern const SmsProvider sms_provider_smsafzar;

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

/* The auth header (Bearer when a token is set, else the key), then the tail. */
static void
auth_headers(SmsRequest *req, const SmsConfig *cfg)
{
	if (cfg->token != NULL && cfg->token[0] != '\0')
		req->headers[req->nheaders++] = psprintf("Authorization: Bearer %s", cfg->token);
	else if (cfg->bearer_token != NULL && cfg->bearer_token[0] != '\0')
		req->headers[req->nheaders++] = psprintf("Authorization: Bearer %s", cfg->bearer_token);
	else
		req->headers[req->nheaders++] = psprintf("X-Api-Key: %s", cfg->api_key);
	req->headers[req->nheaders++] = "Cache-Control: no-cache";
}

static void
smsafzar_request(SmsRequest *req, const SmsConfig *cfg, const char *method,
				 const char *path, struct json_object *body)
{
	auth_headers(req, cfg);
	sms_rest_request(req, cfg, method, path, body, false);
}

/* sender, recipient and send time of a one-recipient send */
static struct json_object *
send_body(const SmsArgs *args, const SmsConfig *cfg)
{
	struct json_object *body = sms_json_new_object();
	const char *sender = sender_of(args, cfg);

	if (sender)
		json_object_object_add(body, "senderNumber", json_object_new_string(sender));
	json_object_object_add(body, "recipientNumber", json_object_new_string(args->mobiles[0]));
	return body;
}

static void
add_send_time(const SmsArgs *args, struct json_object *body)
{
	if (args->send_at)
		json_object_object_add(body, "sendTimestamp", json_object_new_int64(args->send_at));
}

/*
 * BULK and LIKE_TO_LIKE: POST /messages/send/bulk, up to max_recipients in
 * one request.  One sender for all; one text for all (bulk) or one per
 * recipient (like-to-like).
 */
static void
build_send(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = sms_json_new_object();
	const char *sender = sender_of(args, cfg);

	if (sender)
		json_object_object_add(body, "senderNumbers",
							   sms_rest_string_array((char *const *) &sender, 1));
	json_object_object_add(body, "recipientNumbers",
						   sms_rest_string_array(args->mobiles, args->nmobiles));
	json_object_object_add(body, "contents",
						   args->op == SMS_OP_BULK ?
						   sms_rest_string_array(&args->message, 1) :
						   sms_rest_string_array(args->messages, args->nmobiles));
	add_send_time(args, body);
	smsafzar_request(req, cfg, "POST", "/messages/send/bulk", body);
}

/* VERIFY and TEMPLATE */
static void
build_template(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = send_body(args, cfg);

	json_object_object_add(body, "templateId", json_object_new_string(args->template_id));
	json_object_object_add(body, "parameters", sms_rest_params(args));
	add_send_time(args, body);
	smsafzar_request(req, cfg, "POST", "/messages/send/template", body);
}

static void
build_status(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = sms_json_new_object();

	json_object_object_add(body, "sentMessageIdes",
						   args->nids > 0 ? sms_rest_string_array(args->ids, args->nids) :
						   sms_rest_string_array(&args->id, 1));
	smsafzar_request(req, cfg, "POST", "/messages/status", body);
}

static void
build_credit(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	smsafzar_request(req, cfg, "GET", "/account/balance", NULL);
}

/* the newest first, at most count (1..SMSAFZAR_RECENT_MAX, smsafzar's manual) */
static void
build_inbox(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	smsafzar_request(req, cfg, "GET",
					 psprintf("/messages/received/recent?count=%d", args->count), NULL);
}

static void
build_cancel(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	smsafzar_request(req, cfg, "DELETE",
					 psprintf("/messages/send/scheduled/%s", sms_url_segment(args->id)), NULL);
}

static void
build_raw(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	auth_headers(req, cfg);
	sms_rest_raw_request(req, cfg, args, false);
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
	const char *status;
	const char *detail;

	d->message_id = sms_json_scalar_text(sms_json_get_ci(m, "sentMessageId"));
	d->mobile = sms_rest_mobile(sms_json_get_ci(m, "recipientNumber"));
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
read_inbox(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *obj = (struct json_object *) payload;
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
		int64		when;

		if (!json_object_is_type(m, json_type_object))
			return false;
		row->provider_id = sms_json_scalar_text(sms_json_get_ci(m, "receivedMessageId"));
		row->sender = sms_rest_mobile(sms_json_get_ci(m, "senderNumber"));
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

/* a send: {batchId, message: {sentMessageId, parts, cost, messageStatus, ...}} */
static bool
read_send(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *obj = (struct json_object *) payload;
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
	reply->cost = sms_rest_amount(sms_json_get_ci(msg, "cost"), SMS_AMOUNT_THOUSANDS);
	if (parts != NULL && parts[0] != '\0' && strlen(parts) < 6 &&
		strspn(parts, "0123456789") == strlen(parts))
		reply->parts = atoi(parts);
	map_status(sms_json_get_ci(msg, "messageStatus"), &status, &detail);
	reply->status = (char *) status;
	return true;
}

/* Add a whole-rial cost to *total; false when it is absent, fractional or too large. */
static bool
add_cost(int64 *total, const char *cost)
{
	size_t		len = cost ? strlen(cost) : 0;

	if (len == 0 || len > SMS_COST_MAX_DIGITS || strspn(cost, "0123456789") != len)
		return false;
	*total += strtoll(cost, NULL, 10);
	return true;
}

/*
 * /messages/send/bulk: {batchId, messages: [{sentMessageId, parts, cost,
 * messageStatus, ...}]}, one per recipient in input order (README: the
 * manual does not show this reply; read as the template reply with a list).
 * cost is the sum; status the first message's.
 */
static bool
read_bulk(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *obj = (struct json_object *) payload;
	struct json_object *msgs = sms_json_get_ci(obj, "messages");
	int64		total = 0;
	bool		summed = true;
	size_t		n;

	reply->pack_id = sms_json_scalar_text(sms_json_get_ci(obj, "batchId"));
	if (reply->pack_id == NULL || msgs == NULL || !json_object_is_type(msgs, json_type_array))
		return false;
	n = json_object_array_length(msgs);
	if (n != (size_t) args->nmobiles)
		return false;
	reply->message_ids = palloc(sizeof(char *) * Max(n, 1));
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *m = json_object_array_get_idx(msgs, i);
		char	   *id = sms_json_scalar_text(sms_json_get_ci(m, "sentMessageId"));

		if (id == NULL)
			return false;
		reply->message_ids[reply->nmessage_ids++] = id;
		summed = summed && add_cost(&total, sms_rest_amount(sms_json_get_ci(m, "cost"),
														SMS_AMOUNT_THOUSANDS));
	}
	reply->cost = summed ? psprintf(INT64_FORMAT, total) : NULL;
	return true;
}

/* {"messages": [...]} or a bare array; ids the provider does not know are left out */
static bool
read_status(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *arr = (struct json_object *) payload;
	size_t		n;

	if (!json_object_is_type(arr, json_type_array))
		arr = sms_json_get_ci(arr, "messages");
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
	return true;
}

static bool
read_credit(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	reply->number = sms_rest_amount(sms_json_get_ci((struct json_object *) payload, "balance"),
									SMS_AMOUNT_THOUSANDS);
	return reply->number != NULL;
}

static bool
read_cancel(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	reply->cancelled = true;
	return true;
}

static void
smsafzar_parse_reply(const SmsArgs *args, long http_status, const char *body,
					 size_t len, SmsReply *reply)
{
	struct json_object *obj = sms_rest_reply_begin(reply, body, len);

	if (http_status >= 200 && http_status < 300)
	{
		if (args->op == SMS_OP_CANCEL && len == 0)
			reply->cancelled = true;
		else if (obj == NULL)
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "reply is not JSON", NULL);
		else if (!sms_provider_read(&sms_provider_smsafzar, args, obj, reply))
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "reply has an unexpected shape", NULL);
	}
	else
		error_reply(reply, http_status, obj);

	if (obj != NULL)
		sms_json_release(obj);
}

/*
 * Token login: POST /auth/token {userName, password, domain} when
 * sms_ir.username and sms_ir.password are set and no static
 * sms_ir.bearer_token is; src/token.c caches the token and fetches a new one
 * when a call is refused with 401.
 */
static bool
smsafzar_uses_token(const SmsConfig *cfg)
{
	return cfg->bearer_token[0] == '\0' && cfg->username[0] != '\0' &&
		cfg->password[0] != '\0';
}

static void
smsafzar_build_token_request(const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = sms_json_new_object();

	json_object_object_add(body, "userName", json_object_new_string(cfg->username));
	json_object_object_add(body, "password", json_object_new_string(cfg->password));
	json_object_object_add(body, "domain", json_object_new_string(cfg->domain));
	req->headers[req->nheaders++] = "Cache-Control: no-cache";
	sms_rest_request(req, cfg, "POST", "/auth/token", body, false);
}

/*
 * The token reply is not in our copy of the manual (README guesses): read
 * {token} (also accessToken / access_token), a string that can go into a
 * header; errors as every other smsafzar reply, a refusal being an auth
 * failure.
 */
static void
smsafzar_parse_token_reply(long http_status, const char *body, size_t len,
						   SmsReply *reply)
{
	struct json_object *obj = sms_rest_reply_begin(reply, body, len);

	if (http_status >= 200 && http_status < 300)
	{
		static const char *const names[] = {"token", "accessToken", "access_token"};
		char	   *token = NULL;

		for (size_t i = 0; i < lengthof(names) && token == NULL; i++)
		{
			struct json_object *t = sms_json_get_ci(obj, names[i]);

			if (t != NULL && json_object_is_type(t, json_type_string))
				token = sms_json_scalar_text(t);
		}
		if (token == NULL || token[0] == '\0' || strlen(token) > SMS_TOKEN_MAX_LEN ||
			strpbrk(token, "\r\n") != NULL)
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "token reply has no usable token", NULL);
		else
			reply->token = token;
	}
	else
	{
		error_reply(reply, http_status, obj);
		/* a refused login is bad credentials, whatever the code */
		if (http_status == 400 || http_status == 401 || http_status == 403)
			reply->err.cls = SMS_ERR_AUTH;
	}
	if (obj != NULL)
		sms_json_release(obj);
}

static bool
smsafzar_check_config(const SmsConfig *cfg, SmsConfigProblem *problem)
{
	if (cfg->api_key[0] != '\0' || cfg->bearer_token[0] != '\0' || smsafzar_uses_token(cfg))
		return true;
	problem->message = "neither sms_ir.api_key nor sms_ir.bearer_token is set";
	problem->hint = "A superuser sets one with ALTER SYSTEM SET sms_ir.api_key = 'file:/path/to/key' (or sms_ir.username, sms_ir.password and sms_ir.domain for a token login) and SELECT pg_reload_conf().";
	return false;
}

const SmsProvider sms_provider_smsafzar = {
	.name = "smsafzar",
	.default_base_url = "https://api.smsafzar.ir",
	/* /messages/send/bulk: at most 100 recipients a request */
	.max_recipients = 100,
	.param_value_max = 100,
	/* the seed: sendTimestamp must be later than now; one minute of margin */
	.send_at_min_ahead = 60,
	.send_at_max_ahead = 365 * 86400,
	.send_concurrency = 10,
	.max_status_ids = 100,
	.ops = {
		[SMS_OP_BULK] = {build_send, read_bulk},
		[SMS_OP_LIKE_TO_LIKE] = {build_send, read_bulk},
		[SMS_OP_VERIFY] = {build_template, read_send},
		[SMS_OP_TEMPLATE] = {build_template, read_send},
		[SMS_OP_STATUS] = {build_status, read_status},
		[SMS_OP_CREDIT] = {build_credit, read_credit},
		[SMS_OP_CANCEL] = {build_cancel, read_cancel},
		[SMS_OP_RAW] = {build_raw, sms_rest_read_raw},
		[SMS_OP_INBOX] = {build_inbox, read_inbox},
		[SMS_OP_PACK_STATUS] = {.hint = "smsafzar reports per message id: delivery tracking asks "
			"POST /messages/status."},
		[SMS_OP_LINES] = {.hint = "smsafzar has no API for listing sender lines: see them in the "
			"smsafzar panel and set sms_ir.line_number."},
		[SMS_OP_CONTACTS] = {.hint = "Contact groups belong to the legacy White SMS API "
			"(sms_ir.provider = 'smsir_legacy'); send to numbers with sms_send_bulk()."},
	},
	.parse_reply = smsafzar_parse_reply,
	.check_config = smsafzar_check_config,
	.auth_hint = "Check the secret behind sms_ir.api_key, or sms_ir.bearer_token when set, or sms_ir.username/password/domain for a token login: the file its 'file:' reference names, or its inline value.",
	.build_token_request = smsafzar_build_token_request,
	.parse_token_reply = smsafzar_parse_token_reply,
	.uses_token = smsafzar_uses_token,
	/* received/recent: the newest `count` (1..100), no pages, no archive */
	.inbox = {.page_size = SMSAFZAR_RECENT_MAX},
};
