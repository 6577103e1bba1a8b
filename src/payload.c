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
#include "template.h"

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
			 errmsg("invalid outbox kind \"%s\"", sms_args_show(kind)),
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
			 errmsg("payload key \"%s\" must be a string", key),
			 errhint("Payload keys are the queue function's arguments: strings, and arrays of strings for messages and mobiles.")));
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
				 errmsg("payload key \"%s\" must be an array of strings", key),
				 errhint("Pass a JSON array of strings, such as [\"09121234567\"].")));
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
					 errdetail("Element %d is NULL.", *n + 1),
					 errhint("Remove the null elements.")));
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
				 errmsg("outbox payload must be a JSON object"),
				 errhint("Use the queue function's argument names as keys, such as {\"message\": \"hi\", \"mobiles\": [\"09121234567\"]}.")));
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
					 errmsg("unknown payload key \"%s\"",
							sms_args_show(pnstrdup(v.val.string.val, Min(v.val.string.len, 256)))),
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
sms_payload_parse(const SmsProvider *provider, const char *kind,
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
				char	   *end = NULL;
				long long	v = 0;
				bool		bad;

				check_keys(payload, verify_keys, lengthof(verify_keys));
				args->mobiles = palloc(sizeof(char *));
				args->mobiles[0] = sms_args_mobile(text_member(payload, "mobile", true), "mobile");
				args->nmobiles = 1;
				id = text_member(payload, "template_id", true);
				/* plain digits: strtoll() alone takes a sign and spaces */
				bad = id[0] == '\0' || strspn(id, "0123456789") != strlen(id);
				if (!bad)
				{
					errno = 0;
					v = strtoll(id, &end, 10);
					bad = errno != 0 || *end != '\0';
				}
				if (bad)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid template_id \"%s\"", sms_args_show(id)),
							 errdetail("A verify template id is a positive whole number of ASCII digits."),
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
			args->template_id = sms_args_template_name(text_member(payload, "template_id", true));
			sms_args_params(provider, params_member(payload), args);
			args->line_number = text_member(payload, "sender", false);
			if (args->line_number != NULL)
				args->line_number = sms_args_sender(args->line_number);
			break;
		default:
			break;
	}
}

void
sms_payload_to_args(const SmsProvider *provider, const char *kind,
					Jsonb *payload, SmsArgs *args)
{
	sms_payload_parse(provider, kind, payload, args);
	sms_args_check_supported(provider, args);
}

/*
 * A row's payload as `account` sends it.  A logical template (tmpl) becomes
 * the account's provider template or the rendered text.  Sent through
 * another account than the row's own (own = false, a failover), sender
 * lines are that account's: a line belongs to one account's panel.
 */
void
sms_payload_route(const SmsAccount *account, bool own, const char *kind, Jsonb *payload,
				  const SmsLogicalTemplate *tmpl, SmsArgs *args)
{
	const SmsProvider *provider = sms_account_provider(account);

	if (tmpl != NULL && sms_kind_op(kind) == SMS_OP_TEMPLATE)
	{
		SmsArgs		in;

		sms_payload_parse(provider, kind, payload, &in);
		sms_template_route(tmpl, account, &in, args);
	}
	else
	{
		sms_payload_parse(provider, kind, payload, args);
		if (!own && (args->op == SMS_OP_BULK || args->op == SMS_OP_LIKE_TO_LIKE))
			args->line_number = sms_args_line_number(provider, *account->line_number);
		else if (!own && args->op == SMS_OP_TEMPLATE)
			args->line_number = NULL;
	}
	sms_args_check_supported(provider, args);
}

/*
 * Payloads are built as a JsonbValue tree, not as JSON text parsed again by
 * jsonb_in (which was most of what building one cost): the same jsonb, byte
 * for byte (pushJsonbValue sorts and checks keys as jsonb_in does).
 */
static void
push_string(JsonbParseState **st, JsonbIteratorToken tok, const char *s)
{
	JsonbValue	v;

	if (s == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) s;
		v.val.string.len = strlen(s);
	}
	pushJsonbValue(st, tok, &v);
}

static void
push_key(JsonbParseState **st, const char *key)
{
	push_string(st, WJB_KEY, key);
}

static void
push_string_array(JsonbParseState **st, char **items, int n)
{
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
		push_string(st, WJB_ELEM, items[i]);
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
}

Jsonb *
sms_args_to_payload(const SmsArgs *args)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	JsonbValue	v;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	switch (args->op)
	{
		case SMS_OP_BULK:
			push_key(&st, "message");
			push_string(&st, WJB_VALUE, args->message);
			break;
		case SMS_OP_LIKE_TO_LIKE:
			push_key(&st, "messages");
			push_string_array(&st, args->messages, args->nmobiles);
			break;
		case SMS_OP_VERIFY:
			push_key(&st, "mobile");
			push_string(&st, WJB_VALUE, args->mobiles[0]);
			push_key(&st, "template_id");
			/* a number: sms_args_template_id() printed an int64 */
			v.type = jbvNumeric;
			v.val.numeric = int64_to_numeric(strtoi64(args->template_id, NULL, 10));
			pushJsonbValue(&st, WJB_VALUE, &v);
			break;
		case SMS_OP_TEMPLATE:
			push_key(&st, "recipient");
			push_string(&st, WJB_VALUE, args->mobiles[0]);
			push_key(&st, "template_id");
			push_string(&st, WJB_VALUE, args->template_id);
			if (args->line_number)
			{
				push_key(&st, "sender");
				push_string(&st, WJB_VALUE, args->line_number);
			}
			break;
		default:
			elog(ERROR, "operation %d cannot be queued", args->op);
	}
	if (args->op == SMS_OP_BULK || args->op == SMS_OP_LIKE_TO_LIKE)
	{
		push_key(&st, "mobiles");
		push_string_array(&st, args->mobiles, args->nmobiles);
		push_key(&st, "line_number");
		push_string(&st, WJB_VALUE, args->line_number);	/* NULL: JSON null */
	}
	else
	{
		push_key(&st, "parameters");
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		for (int i = 0; i < args->nparams; i++)
		{
			pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
			push_key(&st, "name");
			push_string(&st, WJB_VALUE, args->params[i].name);
			push_key(&st, "value");
			push_string(&st, WJB_VALUE, args->params[i].value);
			pushJsonbValue(&st, WJB_END_OBJECT, NULL);
		}
		pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}
