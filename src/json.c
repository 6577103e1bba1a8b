/*
 * json.c -- json-c helpers shared by the providers.
 *
 * Nothing here ereports.  json-c objects live outside palloc, so every root
 * a provider gets from here is owned by the memory context that was current
 * (sms_json_own): a reset callback json_object_put()s it when the context
 * is reset or deleted, which is what an ERROR does, so a palloc failing
 * between parse and release leaks nothing.  The normal path releases it
 * early with sms_json_release(), which disarms the callback (no double
 * put).  PostgreSQL 15 cannot unregister a callback, so it stays, disarmed.
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>

#include <json-c/printbuf.h>

#include "json.h"

/*
 * Is s a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * Even in strict mode json-c takes NaN, Infinity and "1.", and keeps a
 * double's spelling for serialization, which jsonb_in() would then refuse.
 */
static bool
is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.')
	{
		if (!(*++s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E')
	{
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* Are all doubles in the tree spelled as JSON numbers?  (depth <= 32) */
static bool
numbers_are_json(struct json_object *obj)
{
	switch (json_object_get_type(obj))
	{
		case json_type_double:
			return is_json_number(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		case json_type_array:
			for (size_t i = 0; i < json_object_array_length(obj); i++)
				if (!numbers_are_json(json_object_array_get_idx(obj, i)))
					return false;
			return true;
		case json_type_object:
			{
				json_object_object_foreach(obj, k, v)
				{
					(void) k;
					if (!numbers_are_json(v))
						return false;
				}
			}
			return true;
		default:
			return true;
	}
}

/* The callback that puts one root when its memory context goes away. */
typedef struct SmsJsonOwner
{
	MemoryContextCallback cb;
	struct json_object *obj;	/* NULL once released */
	char	   *spelling;		/* a root double's text as parsed */
} SmsJsonOwner;

static void
owner_reset(void *arg)
{
	SmsJsonOwner *owner = (SmsJsonOwner *) arg;

	if (owner->obj != NULL)
		json_object_put(owner->obj);
	owner->obj = NULL;
}

/* A disarmed owner, allocated before the object exists (palloc may fail). */
static SmsJsonOwner *
new_owner(void)
{
	SmsJsonOwner *owner = palloc0(sizeof(SmsJsonOwner));

	owner->cb.func = owner_reset;
	owner->cb.arg = owner;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &owner->cb);
	return owner;
}

/* json-c serializer of an armed root double: its spelling, kept by its owner */
static int
print_spelling(struct json_object *obj, struct printbuf *pb, int level, int flags)
{
	SmsJsonOwner *owner = (SmsJsonOwner *) json_object_get_userdata(obj);
	char		buf[64];
	const char *text = owner != NULL ? owner->spelling : NULL;

	if (text == NULL)
	{
		snprintf(buf, sizeof(buf), "%.17g", json_object_get_double(obj));
		text = buf;
	}
	return printbuf_memappend(pb, text, (int) strlen(text));
}

/*
 * Arm `owner` with obj (NULL is fine); the object's userdata finds it again.
 * A parsed double keeps its spelling in its userdata, printed by json-c's
 * userdata serializer: a root double would print the owner's bytes instead
 * (the json fuzz target found it with the input "7.42").  Its spelling moves
 * to the owner, with a serializer that prints it from there.
 */
static struct json_object *
arm(SmsJsonOwner *owner, struct json_object *obj)
{
	if (obj == NULL)
		return NULL;
	owner->obj = obj;
	if (json_object_is_type(obj, json_type_double))
	{
		owner->spelling = pstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		json_object_set_serializer(obj, print_spelling, owner, NULL);
	}
	else
		json_object_set_userdata(obj, owner, NULL);
	return obj;
}

struct json_object *
sms_json_new_object(void)
{
	SmsJsonOwner *owner = new_owner();

	return arm(owner, json_object_new_object());
}

void
sms_json_release(struct json_object *obj)
{
	SmsJsonOwner *owner;

	if (obj == NULL)
		return;
	owner = (SmsJsonOwner *) json_object_get_userdata(obj);
	if (owner != NULL)
	{
		owner->obj = NULL;
		json_object_set_userdata(obj, NULL, NULL);
	}
	json_object_put(obj);
}

struct json_object *
sms_json_parse(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	SmsJsonOwner *owner;

	if (text == NULL || len == 0 || len > INT_MAX)
		return NULL;
	owner = new_owner();
	tok = json_tokener_new();
	if (tok == NULL)
		return NULL;
	/* no comments, single quotes, trailing commas, TRUE, 01 ... */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
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
		/*
		 * json-c waits for a delimiter after a top-level number, true or
		 * false: flush it.  Truly truncated input ("tru", "[1") stays an
		 * error, so whatever this returns is a complete value.
		 */
		obj = json_tokener_parse_ex(tok, "", -1);
	}
	json_tokener_free(tok);
	if (obj != NULL && !numbers_are_json(obj))
	{
		json_object_put(obj);
		obj = NULL;
	}
	return arm(owner, obj);
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
