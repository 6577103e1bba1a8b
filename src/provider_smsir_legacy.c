/*
 * provider_smsir_legacy.c -- the legacy sms.ir "White SMS" API (seed 003, SPEC §3).
 *
 * JSON over HTTPS under /users/v1/.  Every call but Token/GetToken carries
 * the header x-sms-ir-secure-token with a token that
 * POST /users/v1/Token/GetToken {UserApiKey, SecretKey} returns as TokenKey
 * (valid 30 minutes, the seed says).  src/token.c fetches, caches and
 * refreshes it through this provider's build_token_request /
 * parse_token_reply hooks.  Every reply is an object with IsSuccessful,
 * Message and ErrorCode; HTTP 200 with IsSuccessful false is an error.
 *
 *   sms_send_bulk         POST Message/SendByMobileNumbers {Message, MobileNumbers[],
 *                         CanContinueInCaseOfError}  (SPEC §3; not in the seed)
 *   sms_send_to_contacts  POST Message/Send {Message, ContactGroupIds[],
 *                         ContactRelationIds[], CanContinueInCaseOfError}
 *   sms_delivery_status   GET  Message/GetSentMessagesMobileNumbers?lastId=0&batchKey=
 *   sms_credit            GET  WhiteSms/GetUserInfo -> Credit
 *   sms_api               any path, token applied
 *
 * What the seed does not document and this file decides (README
 * "smsir_legacy"): the error codes (none are listed: any IsSuccessful false
 * is a rejection carrying ErrorCode and Message, HTTP 401 or a Message
 * naming the token is an auth failure); the DeliveryStatus strings beyond
 * the three the seed names; SendByMobileNumbers' reply (taken to be
 * Message/Send's: BatchKey, Ids[{ID, MobileNumber}]); mobiles are sent as
 * 09xxxxxxxxx strings.  The seed has no template, scheduling, line-list,
 * cancel or inbox endpoint: those functions raise feature_not_supported.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "mobile.h"
#include "provider_rest.h"

#define LEGACY_PREFIX "/users/v1/"
/* GetSentMessagesMobileNumbers returns 50 rows a page (the seed) */
#define LEGACY_PAGE 50

typedef struct LegacyStatus
{
	const char *text;			/* DeliveryStatus, normalized (see norm_fa) */
	const char *status;
	const char *meaning;
} LegacyStatus;

/* The first three are the seed's examples; the rest README "smsir_legacy". */
static const LegacyStatus legacy_statuses[] = {
	{"رسیده به گوشی", "delivered", "delivered to the handset"},
	{"رسیده به مخابرات", "sent", "reached the operator"},
	{"نرسیده به گوشی", "failed", "not delivered to the handset"},
	{"نرسیده به مخابرات", "failed", "did not reach the operator"},
	{"در صف ارسال", "queued", "waiting in the send queue"},
	{"ارسال شده", "sent", "sent, no delivery report yet"},
	{"لیست سیاه", "failed", "the number is on the blacklist"},
};

extern const SmsProvider sms_provider_smsir_legacy;

static bool
supports_bulk(const SmsArgs *args, const char **hint)
{
	if (args->send_at != 0)
	{
		*hint = "The White SMS API cannot schedule a send: pass send_at => NULL, or queue it "
			"with sms_ir.queue_bulk(..., send_after => ...).";
		return false;
	}
	return true;
}

static bool
supports_status(const SmsArgs *args, const char **hint)
{
	if (args->nids > 1)
	{
		*hint = "Pass one batch key at a time.";
		return false;
	}
	return true;
}

static struct json_object *
int_array(const int32 *items, int n)
{
	struct json_object *arr = json_object_new_array_ext(Max(n, 1));

	for (int i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int(items[i]));
	return arr;
}

/* The token header; none on Token/GetToken, where cfg->token is NULL. */
static void
token_header(SmsRequest *req, const SmsConfig *cfg)
{
	if (cfg->token != NULL && cfg->token[0] != '\0')
		req->headers[req->nheaders++] = psprintf("x-sms-ir-secure-token: %s", cfg->token);
}

static void
legacy_request(SmsRequest *req, const SmsConfig *cfg, const char *method,
			   const char *path, struct json_object *body)
{
	token_header(req, cfg);
	/* the seed lists Content-Type: application/json for every method */
	sms_rest_request(req, cfg, method, path, body, true);
}

static void
build_bulk(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = sms_json_new_object();

	json_object_object_add(body, "Message", json_object_new_string(args->message));
	json_object_object_add(body, "MobileNumbers",
						   sms_rest_string_array(args->mobiles, args->nmobiles));
	json_object_object_add(body, "CanContinueInCaseOfError", json_object_new_boolean(true));
	legacy_request(req, cfg, "POST", LEGACY_PREFIX "Message/SendByMobileNumbers", body);
}

static void
build_contacts(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = sms_json_new_object();

	json_object_object_add(body, "Message", json_object_new_string(args->message));
	json_object_object_add(body, "ContactGroupIds",
						   int_array(args->group_ids, args->ngroup_ids));
	json_object_object_add(body, "ContactRelationIds",
						   int_array(args->relation_ids, args->nrelation_ids));
	json_object_object_add(body, "CanContinueInCaseOfError",
						   json_object_new_boolean(args->continue_on_error));
	legacy_request(req, cfg, "POST", LEGACY_PREFIX "Message/Send", body);
}

/* by batch key (the pack id): one page of a row per recipient */
static void
build_status(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	legacy_request(req, cfg, "GET",
				   psprintf(LEGACY_PREFIX "Message/GetSentMessagesMobileNumbers?lastId=%s&batchKey=%s",
							args->after_id ? sms_url_segment(args->after_id) : "0",
							sms_url_segment(args->nids > 0 ? args->ids[0] : args->id)),
				   NULL);
}

static void
build_credit(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	legacy_request(req, cfg, "GET", LEGACY_PREFIX "WhiteSms/GetUserInfo", NULL);
}

static void
build_raw(const SmsArgs *args, const SmsConfig *cfg, SmsRequest *req)
{
	token_header(req, cfg);
	sms_rest_raw_request(req, cfg, args, true);
}

static void
legacy_build_token_request(const SmsConfig *cfg, SmsRequest *req)
{
	struct json_object *body = sms_json_new_object();

	json_object_object_add(body, "UserApiKey", json_object_new_string(cfg->api_key));
	json_object_object_add(body, "SecretKey", json_object_new_string(cfg->secret_key));
	/* no token header on this one: cfg->token is NULL here */
	legacy_request(req, cfg, "POST", LEGACY_PREFIX "Token/GetToken", body);
}

/*
 * Normalize Persian text for comparison: Arabic yeh/kaf to Persian, ZWNJ and
 * runs of spaces to one space, trimmed.
 */
static char *
norm_fa(const char *s)
{
	StringInfoData buf;
	const unsigned char *p = (const unsigned char *) s;

	initStringInfo(&buf);
	while (*p)
	{
		bool		space = false;

		if (p[0] == 0xD9 && p[1] == 0x8A)
		{
			appendBinaryStringInfo(&buf, "\xDB\x8C", 2);	/* ی */
			p += 2;
			continue;
		}
		if (p[0] == 0xD9 && p[1] == 0x83)
		{
			appendBinaryStringInfo(&buf, "\xDA\xA9", 2);	/* ک */
			p += 2;
			continue;
		}
		if (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x8C)
		{
			space = true;
			p += 3;
		}
		else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		{
			space = true;
			p++;
		}
		if (space)
		{
			if (buf.len > 0 && buf.data[buf.len - 1] != ' ')
				appendStringInfoChar(&buf, ' ');
			continue;
		}
		appendStringInfoChar(&buf, (char) *p++);
	}
	if (buf.len > 0 && buf.data[buf.len - 1] == ' ')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

static void
map_status(const char *text, const char **status, const char **detail)
{
	*status = "unknown";
	*detail = "unknown delivery status";
	if (text == NULL)
		return;
	text = norm_fa(text);
	for (size_t i = 0; i < lengthof(legacy_statuses); i++)
	{
		if (strcmp(legacy_statuses[i].text, text) == 0)
		{
			*status = legacy_statuses[i].status;
			*detail = legacy_statuses[i].meaning;
			return;
		}
	}
}

/* Does this IsSuccessful:false message say the token is bad or expired? */
static bool
mentions_token(const char *message)
{
	if (message == NULL)
		return false;
	if (strstr(message, "توکن") != NULL)
		return true;
	for (const char *p = message; *p; p++)
		if (pg_strncasecmp(p, "token", 5) == 0)
			return true;
	return false;
}

/* An error reply: {IsSuccessful:false, Message, ErrorCode}, ProblemDetails or anything. */
static void
error_reply(SmsReply *reply, long http_status, struct json_object *obj)
{
	struct json_object *code_obj = sms_json_get_ci(obj, "ErrorCode");
	char	   *code = sms_json_scalar_text(code_obj);
	char	   *message = sms_json_scalar_text(sms_json_get_ci(obj, "Message"));
	SmsErrorClass cls;

	if (message == NULL)
		message = sms_json_scalar_text(sms_json_get_ci(obj, "title"));
	if (code != NULL && (code[0] == '\0' || strcmp(code, "0") == 0))
		code = NULL;

	if (http_status == 401 || (http_status >= 200 && http_status < 300 &&
							   mentions_token(message)))
		cls = SMS_ERR_AUTH;
	else if (http_status == 400)
		cls = SMS_ERR_INVALID;
	else
		cls = sms_http_status_class(http_status);

	if (message == NULL)
		message = obj == NULL ? psprintf("HTTP %ld with a non-JSON body", http_status) :
			(http_status >= 200 && http_status < 300 ? "IsSuccessful is false" : NULL);
	sms_set_error(reply, cls, (int) http_status, code, message, NULL);
}

/*
 * Common envelope check of a 2xx reply.  Returns false (with reply->err set)
 * when the reply is not a JSON object or IsSuccessful is not true.
 */
static bool
envelope_ok(long http_status, struct json_object *obj, SmsReply *reply)
{
	struct json_object *ok;

	if (obj == NULL)
	{
		sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
					  "reply is not JSON", NULL);
		return false;
	}
	if (!json_object_is_type(obj, json_type_object))
	{
		sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
					  "reply has an unexpected shape", NULL);
		return false;
	}
	ok = sms_json_get_ci(obj, "IsSuccessful");
	if (ok == NULL || !json_object_is_type(ok, json_type_boolean))
	{
		sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
					  "reply has no IsSuccessful", NULL);
		return false;
	}
	if (!json_object_get_boolean(ok))
	{
		error_reply(reply, http_status, obj);
		return false;
	}
	return true;
}

static char *
id_text(struct json_object *v)
{
	char	   *s;

	if (v == NULL || !(json_object_is_type(v, json_type_int) ||
					   json_object_is_type(v, json_type_string)))
		return NULL;
	s = sms_json_scalar_text(v);
	return (s != NULL && s[0] != '\0' && strlen(s) <= 128) ? s : NULL;
}

static bool
read_send(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *obj = (struct json_object *) payload;
	struct json_object *ids = sms_json_get_ci(obj, "Ids");
	size_t		n;

	reply->pack_id = id_text(sms_json_get_ci(obj, "BatchKey"));
	if (reply->pack_id == NULL)
		return false;
	if (ids == NULL || json_object_is_type(ids, json_type_null))
	{
		char	   *mid = id_text(sms_json_get_ci(obj, "MessageId"));

		reply->message_ids = palloc(sizeof(char *));
		if (mid != NULL)
			reply->message_ids[reply->nmessage_ids++] = mid;
		return true;
	}
	if (!json_object_is_type(ids, json_type_array))
		return false;
	n = json_object_array_length(ids);
	reply->message_ids = palloc(sizeof(char *) * Max(n, 1));
	for (size_t i = 0; i < n; i++)
	{
		char	   *id = id_text(sms_json_get_ci(json_object_array_get_idx(ids, i), "ID"));

		if (id == NULL)
			return false;
		reply->message_ids[reply->nmessage_ids++] = id;
	}
	return true;
}

/* Delivery rows; false on a bad shape, NOT_FOUND (set here) when the first page is empty. */
static bool
read_status(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	struct json_object *obj = (struct json_object *) payload;
	struct json_object *arr = sms_json_get_ci(obj, "Messages");
	size_t		n;

	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return false;
	n = json_object_array_length(arr);
	if (n == 0 && args->after_id != NULL)
		return true;			/* the page after a full last page */
	if (n == 0)
	{
		sms_set_error(reply, SMS_ERR_NOT_FOUND, 200, NULL,
					  "no sent messages with this batch key", NULL);
		return true;
	}
	reply->deliveries = palloc0(sizeof(SmsDelivery) * n);
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *m = json_object_array_get_idx(arr, i);
		SmsDelivery *d = &reply->deliveries[i];
		char	   *dstatus;
		const char *status;
		const char *detail;

		if (!json_object_is_type(m, json_type_object))
			return false;
		d->message_id = id_text(sms_json_get_ci(m, "Id"));
		if (d->message_id == NULL)
			return false;
		d->mobile = sms_rest_mobile(sms_json_get_ci(m, "MobileNumber"));
		dstatus = sms_json_scalar_text(sms_json_get_ci(m, "DeliveryStatus"));
		d->provider_status = dstatus;
		map_status(dstatus, &status, &detail);
		d->status = (char *) status;
		d->detail = (char *) detail;
		reply->ndeliveries++;
	}
	/* a full page: the next one starts after its last Id */
	if (n == LEGACY_PAGE)
		reply->next_id = pstrdup(reply->deliveries[n - 1].message_id);
	return true;
}

static bool
read_credit(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	reply->number = sms_rest_amount(sms_json_get_ci((struct json_object *) payload, "Credit"),
									SMS_AMOUNT_PLAIN);
	return reply->number != NULL;
}

/* Every reply: {IsSuccessful, Message, ErrorCode, ...}; success goes to the op's reader. */
static void
legacy_parse_reply(const SmsArgs *args, long http_status, const char *body,
				   size_t len, SmsReply *reply)
{
	struct json_object *obj = sms_rest_reply_begin(reply, body, len);

	if (!(http_status >= 200 && http_status < 300))
		error_reply(reply, http_status, obj);
	else if (args->op == SMS_OP_RAW && obj != NULL &&
			 sms_json_get_ci(obj, "IsSuccessful") == NULL)
		(void) sms_rest_read_raw(args, obj, reply); /* sms_api: any JSON without the envelope */
	else if (envelope_ok(http_status, obj, reply) &&
			 !sms_provider_read(&sms_provider_smsir_legacy, args, obj, reply))
	{
		/* drop what a half-parsed reply left behind */
		reply->pack_id = NULL;
		reply->message_ids = NULL;
		reply->nmessage_ids = 0;
		reply->deliveries = NULL;
		reply->ndeliveries = 0;
		sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
					  "reply has an unexpected shape", NULL);
	}
	if (obj != NULL)
		sms_json_release(obj);
}

static void
legacy_parse_token_reply(long http_status, const char *body, size_t len,
						 SmsReply *reply)
{
	struct json_object *obj = sms_rest_reply_begin(reply, body, len);

	if (!(http_status >= 200 && http_status < 300))
		error_reply(reply, http_status, obj);
	else if (envelope_ok(http_status, obj, reply))
	{
		struct json_object *t = sms_json_get_ci(obj, "TokenKey");
		char	   *token = json_object_is_type(t, json_type_string) ?
			sms_json_scalar_text(t) : NULL;

		/* the token goes into a header: refuse anything that could split it */
		if (token == NULL || token[0] == '\0' || strlen(token) > 4096 ||
			strpbrk(token, "\r\n") != NULL)
			sms_set_error(reply, SMS_ERR_BAD_REPLY, (int) http_status, NULL,
						  "token reply has no usable TokenKey", NULL);
		else
			reply->token = token;
	}
	else if (reply->err.cls != SMS_ERR_BAD_REPLY)
		/* IsSuccessful false on GetToken: the key or secret is wrong */
		reply->err.cls = SMS_ERR_AUTH;
	if (obj != NULL)
		sms_json_release(obj);
}

static bool
legacy_check_config(const SmsConfig *cfg, SmsConfigProblem *problem)
{
	if (cfg->api_key[0] == '\0')
	{
		problem->message = "sms_ir.api_key is not set";
		problem->hint = "A superuser sets it (the White SMS UserApiKey) with ALTER SYSTEM SET sms_ir.api_key = 'file:/path/to/key' and SELECT pg_reload_conf().";
		return false;
	}
	if (cfg->secret_key[0] == '\0')
	{
		problem->message = "sms_ir.secret_key must be set for provider smsir_legacy";
		problem->hint = "A superuser sets it with ALTER SYSTEM SET sms_ir.secret_key = 'file:/path/to/secret' and SELECT pg_reload_conf().";
		return false;
	}
	return true;
}

const SmsProvider sms_provider_smsir_legacy = {
	.name = "smsir_legacy",
	.default_base_url = "https://api.sms.ir",
	.max_recipients = 100,
	.param_value_max = 25,
	.send_at_min_ahead = 0,
	.send_at_max_ahead = 365 * 86400,
	.send_concurrency = 1,
	.max_status_ids = 1,
	.ops = {
		[SMS_OP_BULK] = {build_bulk, read_send, supports_bulk},
		[SMS_OP_CONTACTS] = {build_contacts, read_send},
		[SMS_OP_STATUS] = {build_status, read_status, supports_status},
		/* the batch key is the pack id: tracking asks once per pack */
		[SMS_OP_PACK_STATUS] = {build_status, read_status},
		[SMS_OP_CREDIT] = {build_credit, read_credit},
		[SMS_OP_RAW] = {build_raw, sms_rest_read_raw},
		[SMS_OP_LIKE_TO_LIKE] = {.hint = "The White SMS API sends one text to many numbers: "
			"call sms_send_bulk() once per text."},
		[SMS_OP_VERIFY] = {.hint = "The White SMS API has no template (ultra fast) send: set "
			"sms_ir.provider = 'smsir' and call sms_send_verify(), or send the text with sms_send_bulk()."},
		[SMS_OP_TEMPLATE] = {.hint = "The White SMS API has no template (ultra fast) send: set "
			"sms_ir.provider = 'smsir' and call sms_send_verify(), or send the text with sms_send_bulk()."},
		[SMS_OP_LINES] = {.hint = "White SMS sends from the account's own line and has no API "
			"listing lines: see the sms.ir panel."},
		[SMS_OP_CANCEL] = {.hint = "The White SMS API cannot schedule sends, so there is nothing "
			"to cancel: cancel queued rows with sms_ir.cancel(id)."},
		[SMS_OP_INBOX] = {.hint = "The White SMS API has no received-messages endpoint: set "
			"sms_ir.provider = 'smsir' to read the inbox."},
	},
	.parse_reply = legacy_parse_reply,
	.check_config = legacy_check_config,
	.auth_hint = "Check the secrets behind sms_ir.api_key (UserApiKey) and sms_ir.secret_key (SecretKey): the files their 'file:' references name, or their inline values.",
	.build_token_request = legacy_build_token_request,
	.parse_token_reply = legacy_parse_token_reply,
	.no_line_number = true,
};
