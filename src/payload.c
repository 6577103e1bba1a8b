/*
 * payload.c -- reads and writes outbox payloads (see payload.h).
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "args.h"
#include "payload.h"

SmsOp
sms_kind_op(const char *kind)
{
	if (kind != NULL)
	{
		if (strcmp(kind, "bulk") == 0)
			return SMS_OP_BULK;
		if (strcmp(kind, "like_to_like") == 0)
			return SMS_OP_LIKE_TO_LIKE;
		if (strcmp(kind, "verify") == 0)
			return SMS_OP_VERIFY;
		if (strcmp(kind, "template") == 0)
			return SMS_OP_TEMPLATE;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid outbox kind \"%s\"", kind ? kind : "(null)"),
			 errhint("Use bulk, like_to_like, verify or template.")));
	return SMS_OP_BULK;			/* keep compiler quiet */
}

/* Member `key`; false when absent or JSON null. */
static bool
member(Jsonb *payload, const char *key, JsonbValue *v)
{
	if (!getKeyJsonValueFromContainer(&payload->root, key, strlen(key), v))
		return false;
	return v->type != jbvNull;
}

static char *
scalar_text(JsonbValue *v, const char *key)
{
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v->val.numeric)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("payload key \"%s\" must be a string", key)));
	return NULL;				/* keep compiler quiet */
}

/* String member, or NULL when optional and absent; 22004 when required. */
static char *
text_member(Jsonb *payload, const char *key, bool required)
{
	JsonbValue	v;

	if (!member(payload, key, &v))
	{
		sms_args_not_null(required, key);
		return NULL;
	}
	return scalar_text(&v, key);
}

/* Array-of-strings member; raises when absent, not an array, or holding NULLs. */
static char **
text_array_member(Jsonb *payload, const char *key, int *n)
{
	JsonbValue	v;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	char	  **out;
	int			cap = 8;

	*n = 0;
	sms_args_not_null(!member(payload, key, &v), key);
	if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("payload key \"%s\" must be an array of strings", key)));
	out = palloc(sizeof(char *) * cap);
	it = JsonbIteratorInit(v.val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (v.type == jbvNull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", key),
					 errdetail("Element %d is NULL.", *n + 1)));
		if (*n >= cap)
		{
			cap *= 2;
			out = repalloc(out, sizeof(char *) * cap);
		}
		out[(*n)++] = scalar_text(&v, key);
	}
	return out;
}

static void
check_keys(Jsonb *payload, const char *const *allowed, int nallowed)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(payload) || JB_ROOT_IS_SCALAR(payload))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("outbox payload must be a JSON object")));
	it = JsonbIteratorInit(&payload->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		known = false;

		if (tok != WJB_KEY)
			continue;
		for (int i = 0; i < nallowed; i++)
			if (strlen(allowed[i]) == (size_t) v.val.string.len &&
				strncmp(allowed[i], v.val.string.val, v.val.string.len) == 0)
				known = true;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown payload key \"%.*s\"", v.val.string.len,
							v.val.string.val),
					 errhint("Payload keys are the queue function's argument names.")));
	}
}

static Jsonb *
params_member(Jsonb *payload)
{
	JsonbValue	v;

	if (!member(payload, "parameters", &v))
		return NULL;
	if (v.type != jbvBinary)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must be a JSON object or array"),
				 errhint("Use {\"code\": \"4821\"} or [{\"name\": \"code\", \"value\": \"4821\"}].")));
	return JsonbValueToJsonb(&v);
}

void
sms_payload_to_args(const SmsProvider *provider, const char *kind,
					Jsonb *payload, SmsArgs *args)
{
	static const char *const bulk_keys[] = {"message", "mobiles", "line_number"};
	static const char *const l2l_keys[] = {"messages", "mobiles", "line_number"};
	static const char *const verify_keys[] = {"mobile", "template_id", "parameters"};
	static const char *const template_keys[] = {"recipient", "template_id", "parameters", "sender"};
	SmsOp		op = sms_kind_op(kind);
	char	  **raw;
	int			n;

	sms_args_init(args, op);
	switch (op)
	{
		case SMS_OP_BULK:
			check_keys(payload, bulk_keys, lengthof(bulk_keys));
			args->message = sms_args_message(text_member(payload, "message", true), "message");
			raw = text_array_member(payload, "mobiles", &n);
			args->mobiles = sms_args_mobile_list(raw, n, "mobiles");
			args->nmobiles = n;
			args->line_number = sms_args_line_number(provider, text_member(payload, "line_number", false));
			if (n > provider->max_recipients)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("an outbox row holds at most %d mobiles for %s, not %d",
								provider->max_recipients, provider->name, n),
						 errhint("Use sms_ir.queue_bulk(), which splits the list into rows.")));
			break;
		case SMS_OP_LIKE_TO_LIKE:
			{
				int			nmessages = 0;
				char	  **messages;

				check_keys(payload, l2l_keys, lengthof(l2l_keys));
				/* two statements: argument evaluation order is unspecified */
				messages = text_array_member(payload, "messages", &nmessages);
				args->messages = sms_args_message_list(messages, nmessages, "messages");
				raw = text_array_member(payload, "mobiles", &n);
				args->mobiles = sms_args_mobile_list(raw, n, "mobiles");
				args->nmobiles = n;
				sms_args_same_length(nmessages, n);
				if (n > provider->max_recipients)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("an outbox row holds at most %d mobiles for %s, not %d",
									provider->max_recipients, provider->name, n),
							 errhint("Use sms_ir.queue_like_to_like(), which splits the lists into rows.")));
				args->line_number = sms_args_line_number(provider, text_member(payload, "line_number", false));
			}
			break;
		case SMS_OP_VERIFY:
			{
				char	   *id;
				char	   *end;
				long long	v;

				check_keys(payload, verify_keys, lengthof(verify_keys));
				args->mobiles = palloc(sizeof(char *));
				args->mobiles[0] = sms_args_mobile(text_member(payload, "mobile", true), "mobile");
				args->nmobiles = 1;
				id = text_member(payload, "template_id", true);
				errno = 0;
				v = strtoll(id, &end, 10);
				if (errno != 0 || *end != '\0' || end == id)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid template_id %s", id),
							 errhint("Use the id of a verify template from the provider's panel.")));
				args->template_id = sms_args_template_id((int64) v);
				sms_args_params(provider, params_member(payload), args);
			}
			break;
		case SMS_OP_TEMPLATE:
			check_keys(payload, template_keys, lengthof(template_keys));
			args->mobiles = palloc(sizeof(char *));
			args->mobiles[0] = sms_args_mobile(text_member(payload, "recipient", true), "recipient");
			args->nmobiles = 1;
			args->template_id = text_member(payload, "template_id", true);
			if (args->template_id[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("template_id must not be empty")));
			sms_args_params(provider, params_member(payload), args);
			args->line_number = text_member(payload, "sender", false);
			break;
		default:
			break;
	}
	sms_args_check_supported(provider, args);
}

static void
append_string_array(StringInfo buf, char **items, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		escape_json(buf, items[i]);
	}
	appendStringInfoChar(buf, ']');
}

static void
append_key(StringInfo buf, const char *key)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

Jsonb *
sms_args_to_payload(const SmsArgs *args)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	switch (args->op)
	{
		case SMS_OP_BULK:
			append_key(&buf, "message");
			escape_json(&buf, args->message);
			break;
		case SMS_OP_LIKE_TO_LIKE:
			append_key(&buf, "messages");
			append_string_array(&buf, args->messages, args->nmobiles);
			break;
		case SMS_OP_VERIFY:
			append_key(&buf, "mobile");
			escape_json(&buf, args->mobiles[0]);
			append_key(&buf, "template_id");
			appendStringInfoString(&buf, args->template_id);
			break;
		case SMS_OP_TEMPLATE:
			append_key(&buf, "recipient");
			escape_json(&buf, args->mobiles[0]);
			append_key(&buf, "template_id");
			escape_json(&buf, args->template_id);
			if (args->line_number)
			{
				append_key(&buf, "sender");
				escape_json(&buf, args->line_number);
			}
			break;
		default:
			elog(ERROR, "operation %d cannot be queued", args->op);
	}
	if (args->op == SMS_OP_BULK || args->op == SMS_OP_LIKE_TO_LIKE)
	{
		append_key(&buf, "mobiles");
		append_string_array(&buf, args->mobiles, args->nmobiles);
		append_key(&buf, "line_number");
		if (args->line_number)
			escape_json(&buf, args->line_number);
		else
			appendStringInfoString(&buf, "null");
	}
	else
	{
		append_key(&buf, "parameters");
		appendStringInfoChar(&buf, '[');
		for (int i = 0; i < args->nparams; i++)
		{
			appendStringInfoString(&buf, i ? ",{\"name\":" : "{\"name\":");
			escape_json(&buf, args->params[i].name);
			appendStringInfoString(&buf, ",\"value\":");
			escape_json(&buf, args->params[i].value);
			appendStringInfoChar(&buf, '}');
		}
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
