/*
 * json.c -- json-c helpers shared by the providers.
 *
 * Nothing here ereports: the providers call these between creating and
 * releasing json-c objects, so a jump out would leak them.
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>

#include "json.h"

struct json_object *
sms_json_parse(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;

	if (text == NULL || len == 0 || len > INT_MAX)
		return NULL;
	tok = json_tokener_new();
	if (tok == NULL)
		return NULL;
	obj = json_tokener_parse_ex(tok, text, (int) len);
	if (obj != NULL)
	{
		/* the whole input must be one value, maybe followed by whitespace */
		size_t		off = json_tokener_get_parse_end(tok);

		while (off < len && (text[off] == ' ' || text[off] == '\n' ||
							 text[off] == '\r' || text[off] == '\t'))
			off++;
		if (off != len)
		{
			json_object_put(obj);
			obj = NULL;
		}
	}
	else if (json_tokener_get_error(tok) == json_tokener_continue)
	{
		/* truncated input: finish parsing to flush partial numbers */
		obj = json_tokener_parse_ex(tok, "", -1);
		if (obj != NULL && json_object_get_type(obj) != json_type_int &&
			json_object_get_type(obj) != json_type_double)
		{
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	return obj;
}

char *
sms_json_to_cstring(struct json_object *obj)
{
	return pstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
												  JSON_C_TO_STRING_NOSLASHESCAPE));
}

struct json_object *
sms_json_get(struct json_object *obj, const char *key)
{
	struct json_object *val = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &val))
		return NULL;
	return val;
}

struct json_object *
sms_json_get_ci(struct json_object *obj, const char *key)
{
	struct json_object *val = sms_json_get(obj, key);

	if (val != NULL || obj == NULL || !json_object_is_type(obj, json_type_object))
		return val;
	{
		json_object_object_foreach(obj, k, v)
		{
			if (pg_strcasecmp(k, key) == 0)
				return v;
		}
	}
	return NULL;
}

char *
sms_json_scalar_text(struct json_object *obj)
{
	if (obj == NULL)
		return NULL;
	switch (json_object_get_type(obj))
	{
		case json_type_string:
			return pnstrdup(json_object_get_string(obj),
							json_object_get_string_len(obj));
		case json_type_int:
		case json_type_double:
		case json_type_boolean:
			return pstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		default:
			return NULL;
	}
}

bool
sms_json_int64(struct json_object *obj, int64 *out)
{
	if (obj == NULL)
		return false;
	if (json_object_is_type(obj, json_type_int))
	{
		errno = 0;
		*out = json_object_get_int64(obj);
		return errno == 0;
	}
	if (json_object_is_type(obj, json_type_string))
	{
		const char *s = json_object_get_string(obj);
		char	   *end;
		long long	v;

		if (*s == '\0')
			return false;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0')
			return false;
		*out = (int64) v;
		return true;
	}
	return false;
}
