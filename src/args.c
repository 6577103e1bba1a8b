/*
 * args.c -- turns SQL arguments into validated SmsArgs.
 *
 * All input checks of SPEC §7 live here: mobiles, counts, empty text,
 * parameter lengths, send_at windows and NULLs.  They run before any request
 * is made, and the provider's limits come from its SmsProvider entry.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "account.h"
#include "args.h"
#include "guc.h"
#include "mobile.h"
#include "parts.h"

/* Characters of a caller's value an error message shows (never all of 1 MB). */
#define SHOW_MAX_CHARS 64
/* Longest opaque id (message, pack, provider template id) and template name, in bytes. */
#define ID_MAX_BYTES 128
/* Longest template parameter name, in bytes (a template placeholder's name). */
#define PARAM_NAME_MAX_BYTES 64
/* Longest sender line number, in digits. */
#define LINE_NUMBER_MAX_DIGITS 18

/*
 * The code point at p (valid UTF-8: the server checked it) and its length in
 * bytes.
 */
static pg_wchar
code_point_at(const char *p, int *len)
{
	const unsigned char *u = (const unsigned char *) p;

	*len = pg_utf_mblen(u);
	return utf8_to_unicode(u);
}

/* C0 controls, DEL and C1 controls. */
static bool
is_control(pg_wchar c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

/*
 * Invisible characters that change how text around them reads: zero-width
 * and direction marks, embeddings, overrides and isolates, the BOM.
 */
static bool
is_invisible(pg_wchar c)
{
	return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
		(c >= 0x2060 && c <= 0x2069) || c == 0xFEFF;
}

char *
sms_args_show(const char *value)
{
	StringInfoData out;
	const char *p = value;
	int			shown = 0;

	if (value == NULL)
		return pstrdup("(null)");
	initStringInfo(&out);
	while (*p && shown < SHOW_MAX_CHARS)
	{
		int			len = 1;
		pg_wchar	c;

		if (GetDatabaseEncoding() == PG_UTF8)
			c = code_point_at(p, &len);
		else
		{
			c = (unsigned char) *p;
			len = pg_mblen(p);
		}
		if (is_control(c) || is_invisible(c))
			appendStringInfo(&out, "\\u%04X", (unsigned int) c);
		else
			appendBinaryStringInfo(&out, p, len);
		p += len;
		shown++;
	}
	if (*p)
		appendStringInfo(&out, "... (%zu bytes)", strlen(value));
	return out.data;
}

/*
 * The 1-based position of the first control character of `text` (C0 but
 * tab, line feed and carriage return; DEL; C1), 0 when there is none;
 * *cp gets it.
 */
static int
first_control(const char *text, pg_wchar *cp)
{
	int			pos = 1;

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		for (const unsigned char *u = (const unsigned char *) text; *u; u++, pos++)
			if ((*u < 0x20 && *u != '\t' && *u != '\n' && *u != '\r') || *u == 0x7F)
			{
				*cp = *u;
				return pos;
			}
		return 0;
	}
	for (const char *p = text; *p; pos++)
	{
		int			len;
		pg_wchar	c = code_point_at(p, &len);

		if (is_control(c) && c != '\t' && c != '\n' && c != '\r')
		{
			*cp = c;
			return pos;
		}
		p += len;
	}
	return 0;
}

/*
 * Refuse a text a handset cannot show: control characters other than tab
 * and line breaks.  `position` is the 1-based array element, or 0.
 */
static void
check_controls(const char *text, const char *argname, int position)
{
	pg_wchar	c;
	int			at = first_control(text, &c);

	if (at == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 position > 0 ?
			 errmsg("%s element %d contains a control character", argname, position) :
			 errmsg("%s contains a control character", argname),
			 errdetail("Character %d of \"%s\" is U+%04X.", at, sms_args_show(text),
					   (unsigned int) c),
			 errhint("Remove control characters; tabs and line breaks are fine.")));
}

char *
sms_args_id(const char *id, const char *argname)
{
	size_t		len = strlen(id);
	const char *why = NULL;

	if (len == 0)
		why = "It is empty.";
	else if (len > ID_MAX_BYTES)
		why = psprintf("It has %zu bytes; ids have at most %d.", len, ID_MAX_BYTES);
	else
		for (const unsigned char *u = (const unsigned char *) id; *u && why == NULL; u++)
			if (*u <= 0x20 || *u >= 0x7F)
				why = psprintf("Character %d is not a printable ASCII character other than a space.",
							   (int) ((const char *) u - id) + 1);
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", argname, sms_args_show(id)),
				 errdetail_internal("%s", why),
				 errhint("Pass an id as a send function returned it: 1 to %d printable ASCII characters, no spaces.",
						 ID_MAX_BYTES)));
	return (char *) id;
}

char *
sms_args_template_name(const char *id)
{
	size_t		len = strlen(id);
	const char *why = NULL;

	if (len == 0)
		why = "It is empty.";
	else if (len > ID_MAX_BYTES)
		why = psprintf("It has %zu bytes; template ids and names have at most %d.", len,
					   ID_MAX_BYTES);
	else if (GetDatabaseEncoding() == PG_UTF8)
		for (const char *p = id; *p && why == NULL;)
		{
			int			clen;
			pg_wchar	c = code_point_at(p, &clen);

			if (is_control(c) || is_invisible(c) || c == ' ')
				why = psprintf("It holds U+%04X.", (unsigned int) c);
			p += clen;
		}
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid template_id \"%s\"", sms_args_show(id)),
				 errdetail_internal("%s", why),
				 errhint("Pass a template id from the provider's panel or the name of a row of sms_ir.template: no spaces, control or invisible characters.")));
	return (char *) id;
}

void
sms_args_init(SmsArgs *args, SmsOp op)
{
	memset(args, 0, sizeof(*args));
	args->op = op;
}

void
sms_args_not_null(bool isnull, const char *argname)
{
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname),
				 errhint("Pass a value for %s.", argname)));
}

char *
sms_args_mobile(const char *in, const char *argname)
{
	char		canonical[SMS_MOBILE_LEN + 1];

	if (!sms_mobile_normalize(in, canonical))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid mobile number \"%s\" in %s", sms_args_show(in), argname),
				 errhint("Use an Iranian mobile number such as 09121234567, 9121234567, 989121234567, +989121234567 or 00989121234567.")));
	return pstrdup(canonical);
}

/* Deconstruct a text[] into C strings; raises on NULL elements. */
static char **
text_array_elements(ArrayType *arr, int *n, const char *argname)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", argname),
				 errdetail("It has %d dimensions.", ARR_NDIM(arr)),
				 errhint("Pass a plain array such as ARRAY['a', 'b'].")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, n);
	if (*n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname),
				 errhint("Pass at least one element.")));
	out = palloc(sizeof(char *) * *n);
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname),
					 errdetail("Element %d is NULL.", i + 1),
					 errhint("Remove the NULL elements.")));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

char **
sms_args_mobiles(ArrayType *arr, int *n, const char *argname)
{
	char	  **raw = text_array_elements(arr, n, argname);

	return sms_args_mobile_list(raw, *n, argname);
}

char **
sms_args_mobile_list(char **raw, int n, const char *argname)
{
	char	  **out = palloc(sizeof(char *) * Max(n, 1));

	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname),
				 errhint("Pass at least one element.")));
	for (int i = 0; i < n; i++)
	{
		char		canonical[SMS_MOBILE_LEN + 1];

		if (!sms_mobile_normalize(raw[i], canonical))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid mobile number \"%s\" in %s", sms_args_show(raw[i]), argname),
					 errdetail("The number is element %d of the array.", i + 1),
					 errhint("Use an Iranian mobile number such as 09121234567, 9121234567, 989121234567, +989121234567 or 00989121234567.")));
		out[i] = pstrdup(canonical);
	}
	return out;
}

/*
 * Refuse a text needing more than sms_ir.max_parts parts (SPEC §8, §12.5).
 * `position` is the 1-based array element, or 0 for a single message.
 */
static void
check_parts(const char *text, const char *argname, int position)
{
	SmsParts	p;

	sms_parts_of_text(text, &p);
	if (p.parts <= sms_ir_max_parts)
		return;
	if (position > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s element %d is too long", argname, position),
				 errdetail("Element %d needs " INT64_FORMAT " SMS parts (" INT64_FORMAT " %s characters); sms_ir.max_parts is %d.",
						   position, p.parts, p.characters,
						   sms_encoding_name(p.encoding), sms_ir_max_parts),
				 errhint("Shorten the message, or ask a superuser to raise sms_ir.max_parts.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s is too long", argname),
			 errdetail("The text needs " INT64_FORMAT " SMS parts (" INT64_FORMAT " %s characters); sms_ir.max_parts is %d.",
					   p.parts, p.characters, sms_encoding_name(p.encoding),
					   sms_ir_max_parts),
			 errhint("Shorten the message, or ask a superuser to raise sms_ir.max_parts.")));
}

char *
sms_args_message(const char *text, const char *argname)
{
	const char *p = text;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname),
				 errhint("Pass the text of the message.")));
	check_controls(text, argname, 0);
	check_parts(text, argname, 0);
	return pstrdup(text);
}

char **
sms_args_messages(ArrayType *arr, int *n, const char *argname)
{
	/* not one expression: *n is only set once text_array_elements() returns */
	char	  **raw = text_array_elements(arr, n, argname);

	return sms_args_message_list(raw, *n, argname);
}

char **
sms_args_message_list(char **out, int n, const char *argname)
{
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname),
				 errhint("Pass at least one element.")));
	for (int i = 0; i < n; i++)
	{
		const char *p = out[i];

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not contain empty messages", argname),
					 errdetail("Element %d is empty.", i + 1),
					 errhint("Pass the text of every message.")));
		check_controls(out[i], argname, i + 1);
		check_parts(out[i], argname, i + 1);
	}
	return out;
}

char *
sms_args_template_id(int64 template_id)
{
	if (template_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid template_id " INT64_FORMAT, template_id),
				 errdetail("A template id is positive."),
				 errhint("Use the id of a verify template from the provider's panel.")));
	return psprintf(INT64_FORMAT, template_id);
}

void
sms_args_same_length(int nmessages, int nmobiles)
{
	if (nmessages != nmobiles)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("messages and mobiles must have the same length"),
				 errdetail("There are %d messages and %d mobiles.", nmessages, nmobiles),
				 errhint("Pass one message per mobile, in the same order.")));
}

/* A line number's digits: 1 to LINE_NUMBER_MAX_DIGITS ASCII digits, not all zeros. */
static bool
is_line_digits(const char *s)
{
	size_t		len = strlen(s);

	return len > 0 && len <= LINE_NUMBER_MAX_DIGITS && strspn(s, "0123456789") == len &&
		strspn(s, "0") != len;
}

char *
sms_args_line_number(const SmsProvider *provider, const char *arg)
{
	const char *line = arg ? arg : *sms_account_current()->line_number;

	/* a provider that sends no sender line needs none */
	if (provider->no_line_number && (line == NULL || line[0] == '\0'))
		return NULL;

	if (line == NULL || line[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no sender line number given"),
				 errhint("Pass line_number, or set sms_ir.line_number.")));
	if (!is_line_digits(line))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid line number \"%s\"", sms_args_show(line)),
				 errdetail("A line number is 1 to %d ASCII digits, not all zeros.",
						   LINE_NUMBER_MAX_DIGITS),
				 errhint("A line number is the sender number's digits, such as 30004505000017.")));
	return pstrdup(line);
}

char *
sms_args_sender(const char *sender)
{
	const char *digits = sender[0] == '+' ? sender + 1 : sender;

	if (!is_line_digits(digits))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid sender \"%s\"", sms_args_show(sender)),
				 errdetail("A sender is 1 to %d ASCII digits, not all zeros, after an optional \"+\".",
						   LINE_NUMBER_MAX_DIGITS),
				 errhint("Pass a line number of the account, such as 30004505000017, or NULL for the default.")));
	return pstrdup(sender);
}

int64
sms_args_send_at(const SmsProvider *provider, TimestampTz ts, bool isnull)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		ahead;

	if (isnull)
		return 0;
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("send_at must be a finite time"),
				 errdetail("send_at is %s.", timestamptz_to_str(ts)),
				 errhint("Pass NULL to send now, or use the outbox (send_after) to send later.")));
	ahead = (ts - now) / USECS_PER_SEC;
	if (ahead < provider->send_at_min_ahead || ahead > provider->send_at_max_ahead)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("send_at %s is outside the window %s accepts",
						timestamptz_to_str(ts), provider->name),
				 errdetail("%s schedules sends from %d minutes to %d days ahead.",
						   provider->name, provider->send_at_min_ahead / 60,
						   provider->send_at_max_ahead / 86400),
				 errhint("Pass NULL to send now, or use the outbox (send_after) to send at any time.")));
	return ts / USECS_PER_SEC +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* Text of a scalar jsonb parameter value; raises for NULL and containers. */
static char *
param_value_text(JsonbValue *v, const char *name)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvNull:
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("template parameter \"%s\" is null", sms_args_show(name)),
					 errhint("Give every parameter a string value.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("template parameter \"%s\" must be a string", sms_args_show(name)),
					 errhint("Give every parameter a string value.")));
	}
	return NULL;				/* keep compiler quiet */
}

static void
add_param(const SmsProvider *provider, SmsArgs *args, int *cap,
		  char *name, char *value)
{
	int			len = pg_mbstrlen(value);
	pg_wchar	c;

	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template parameter name must not be empty"),
				 errhint("Name every parameter as its template does, such as {\"code\": \"4821\"}.")));
	if (strlen(name) > PARAM_NAME_MAX_BYTES || first_control(name, &c) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid template parameter name \"%s\"", sms_args_show(name)),
				 errdetail("A parameter name has 1 to %d bytes and no control characters.",
						   PARAM_NAME_MAX_BYTES),
				 errhint("Name every parameter as its template does, such as {\"code\": \"4821\"}.")));
	for (int i = 0; i < args->nparams; i++)
		if (strcmp(args->params[i].name, name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("template parameter \"%s\" is given twice", sms_args_show(name)),
					 errhint("Give each parameter once.")));
	if (len > provider->param_value_max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template parameter \"%s\" is too long for %s", sms_args_show(name),
						provider->name),
				 errdetail("The value has %d characters; %s accepts at most %d.",
						   len, provider->name, provider->param_value_max),
				 errhint("Shorten the value or put the text in the template itself.")));
	if (first_control(value, &c) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template parameter \"%s\" contains a control character",
						sms_args_show(name)),
				 errdetail("Its value \"%s\" holds U+%04X.", sms_args_show(value), (unsigned int) c),
				 errhint("Remove control characters; tabs and line breaks are fine.")));
	if (args->nparams >= *cap)
	{
		*cap = *cap ? *cap * 2 : 8;
		args->params = args->params ? repalloc(args->params, sizeof(SmsParam) * *cap)
			: palloc(sizeof(SmsParam) * *cap);
	}
	args->params[args->nparams].name = name;
	args->params[args->nparams].value = value;
	args->nparams++;
}

void
sms_args_params(const SmsProvider *provider, Jsonb *params, SmsArgs *args)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			cap = 0;
	bool		is_object;

	args->params = NULL;
	args->nparams = 0;
	if (params == NULL)
		return;
	if (JB_ROOT_IS_SCALAR(params) ||
		!(JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_ARRAY(params)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameters must be a JSON object or array"),
				 errhint("Use {\"code\": \"4821\"} or [{\"name\": \"code\", \"value\": \"4821\"}].")));
	is_object = JB_ROOT_IS_OBJECT(params);
	/* counted before any is read: 100,000 keys cost nothing */
	if (JsonContainerSize(&params->root) > SMS_MAX_PARAMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many template parameters"),
				 errdetail("There are %u parameters; a message takes at most %d.",
						   JsonContainerSize(&params->root), SMS_MAX_PARAMS),
				 errhint("Pass only the parameters the template uses.")));

	it = JsonbIteratorInit(&params->root);
	tok = JsonbIteratorNext(&it, &v, true); /* BEGIN_OBJECT / BEGIN_ARRAY */
	(void) tok;
	if (is_object)
	{
		char	   *name = NULL;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				name = pnstrdup(v.val.string.val, v.val.string.len);
			else if (tok == WJB_VALUE)
				add_param(provider, args, &cap, name, param_value_text(&v, name));
		}
		return;
	}

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue	namev;
		JsonbValue	valuev;
		char	   *name;

		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data) ||
			!getKeyJsonValueFromContainer(v.val.binary.data, "name", 4, &namev) ||
			!getKeyJsonValueFromContainer(v.val.binary.data, "value", 5, &valuev) ||
			namev.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameters array element %d is not a {\"name\", \"value\"} object",
							args->nparams + 1),
					 errhint("Use [{\"name\": \"code\", \"value\": \"4821\"}].")));
		name = pnstrdup(namev.val.string.val, namev.val.string.len);
		add_param(provider, args, &cap, name, param_value_text(&valuev, name));
	}
}

/*
 * A provider template id: printable ASCII without spaces, and a numeric one
 * (digits only) neither all zeros nor over the provider's max_template_id.
 * Bad values (22023), not missing features: checked before supports() so a
 * digits-only id too large for int64 never reaches strtoll() in a request
 * builder.  Other non-numeric ids are left to supports().
 */
static void
check_template_id(const SmsProvider *provider, const SmsArgs *args)
{
	const char *id = args->template_id;
	const char *digits;
	bool		over = false;
	int64		v = 0;

	if (id == NULL || (args->op != SMS_OP_VERIFY && args->op != SMS_OP_TEMPLATE))
		return;
	(void) sms_args_id(id, "template_id");
	if (strspn(id, "0123456789") != strlen(id))
		return;
	if (strspn(id, "0") == strlen(id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid template_id %s", id),
				 errdetail("A numeric template id is positive."),
				 errhint("Use the id of a template from the provider's panel.")));
	if (provider->max_template_id <= 0)
		return;
	for (digits = id; *digits && !over; digits++)
	{
		int			d = *digits - '0';

		/* v * 10 + d > max, without overflowing */
		over = v > (provider->max_template_id - d) / 10;
		if (!over)
			v = v * 10 + d;
	}
	if (over)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template_id %s is out of range for %s", id, provider->name),
				 errdetail("%s takes template ids up to " INT64_FORMAT ".",
						   provider->name, provider->max_template_id),
				 errhint("Use the id of a template from the provider's panel.")));
}

void
sms_args_check_supported(const SmsProvider *provider, const SmsArgs *args)
{
	const char *hint = NULL;

	check_template_id(provider, args);

	if (!sms_provider_supports(provider, args, &hint))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("provider %s does not support %s", provider->name,
						sms_op_name(args->op)),
				 hint ? errhint("%s", hint) : 0));
}

void
sms_args_bulk_from_call(FunctionCallInfo fcinfo, const SmsProvider *provider, SmsArgs *args)
{
	sms_args_init(args, SMS_OP_BULK);
	sms_args_not_null(PG_ARGISNULL(0), "message");
	sms_args_not_null(PG_ARGISNULL(1), "mobiles");
	args->message = sms_args_message(text_to_cstring(PG_GETARG_TEXT_PP(0)), "message");
	args->mobiles = sms_args_mobiles(PG_GETARG_ARRAYTYPE_P(1), &args->nmobiles, "mobiles");
	args->line_number = sms_args_line_number(provider, PG_ARGISNULL(2) ? NULL :
											 text_to_cstring(PG_GETARG_TEXT_PP(2)));
}

void
sms_args_like_to_like_from_call(FunctionCallInfo fcinfo, const SmsProvider *provider,
								SmsArgs *args)
{
	int			nmessages;

	sms_args_init(args, SMS_OP_LIKE_TO_LIKE);
	sms_args_not_null(PG_ARGISNULL(0), "messages");
	sms_args_not_null(PG_ARGISNULL(1), "mobiles");
	args->messages = sms_args_messages(PG_GETARG_ARRAYTYPE_P(0), &nmessages, "messages");
	args->mobiles = sms_args_mobiles(PG_GETARG_ARRAYTYPE_P(1), &args->nmobiles, "mobiles");
	sms_args_same_length(nmessages, args->nmobiles);
	args->line_number = sms_args_line_number(provider, PG_ARGISNULL(2) ? NULL :
											 text_to_cstring(PG_GETARG_TEXT_PP(2)));
}

void
sms_args_verify_from_call(FunctionCallInfo fcinfo, const SmsProvider *provider, SmsArgs *args)
{
	sms_args_init(args, SMS_OP_VERIFY);
	sms_args_not_null(PG_ARGISNULL(0), "mobile");
	sms_args_not_null(PG_ARGISNULL(1), "template_id");
	args->mobiles = palloc(sizeof(char *));
	args->mobiles[0] = sms_args_mobile(text_to_cstring(PG_GETARG_TEXT_PP(0)), "mobile");
	args->nmobiles = 1;
	args->template_id = sms_args_template_id(PG_GETARG_INT64(1));
	sms_args_params(provider, PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), args);
}

void
sms_args_template_from_call(FunctionCallInfo fcinfo, const SmsProvider *provider,
							SmsArgs *args)
{
	sms_args_init(args, SMS_OP_TEMPLATE);
	sms_args_not_null(PG_ARGISNULL(0), "recipient");
	sms_args_not_null(PG_ARGISNULL(1), "template_id");
	args->mobiles = palloc(sizeof(char *));
	args->mobiles[0] = sms_args_mobile(text_to_cstring(PG_GETARG_TEXT_PP(0)), "recipient");
	args->nmobiles = 1;
	args->template_id = sms_args_template_name(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	sms_args_params(provider, PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), args);
	/* sender: only the explicit argument; the provider decides its default */
	args->line_number = PG_ARGISNULL(3) ? NULL : sms_args_sender(text_to_cstring(PG_GETARG_TEXT_PP(3)));
}

SmsArgs
sms_args_slice(const SmsArgs *all, int off, int chunk)
{
	SmsArgs		part = *all;

	part.mobiles = all->mobiles + off;
	if (all->messages)
		part.messages = all->messages + off;
	part.nmobiles = Min(chunk, all->nmobiles - off);
	return part;
}
