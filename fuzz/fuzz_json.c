/*
 * fuzz_json.c -- libFuzzer target for src/json.c.
 *
 * The whole input is the text (NUL-terminated copy, len = size).  When
 * sms_json_parse() accepts it, every node of the tree goes through the typed
 * getters, and the compact serialization (what sms_api() hands to jsonb_in)
 * must be accepted by PostgreSQL's own JSON parser and by sms_json_parse()
 * again, giving the same serialization (round trip).
 */
#include "postgres.h"

#include <errno.h>
#include <stdint.h>

#include "arena.h"
#include "checks.h"
#include "json.h"

#define CHECK(cond, ...) \
	do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

static const char *const probe_keys[] = {
	"status", "STATUS", "message", "data", "title", "errors", "packId",
	"messageIds", "cost", "deliveryState", "", "\xd9\x85"
};

static void
walk(struct json_object *obj, int depth)
{
	char	   *text;
	int64		v;
	bool		is_int;

	CHECK(depth < 1000, "json nesting deeper than 1000 got through");
	text = sms_json_scalar_text(obj);
	touch_str(text);
	is_int = sms_json_int64(obj, &v);

	switch (json_object_get_type(obj))
	{
		case json_type_null:
			CHECK(text == NULL, "scalar_text(null) = \"%s\"", text);
			CHECK(!is_int, "int64(null) succeeded");
			break;
		case json_type_boolean:
			CHECK(text && (strcmp(text, "true") == 0 || strcmp(text, "false") == 0),
				  "scalar_text(bool) = \"%s\"", text ? text : "(null)");
			CHECK(!is_int, "int64(bool) succeeded");
			break;
		case json_type_int:
		case json_type_double:
			CHECK(text != NULL, "scalar_text(number) = NULL");
			break;
		case json_type_string:
			CHECK(text != NULL, "scalar_text(string) = NULL");
			/* text stops at an embedded NUL; never longer than the value */
			CHECK(strlen(text) <= (size_t) json_object_get_string_len(obj),
				  "scalar_text longer than the string");
			if (is_int)
			{
				char	   *end;
				long long	w;

				errno = 0;
				w = strtoll(json_object_get_string(obj), &end, 10);
				CHECK(errno == 0 && *end == '\0' && w == v,
					  "int64(\"%s\") = " INT64_FORMAT, json_object_get_string(obj), v);
			}
			break;
		case json_type_object:
			CHECK(text == NULL, "scalar_text(object) = \"%s\"", text);
			CHECK(!is_int, "int64(object) succeeded");
			{
				json_object_object_foreach(obj, key, val)
				{
					/* json-c stores a JSON null member as a NULL pointer */
					CHECK(sms_json_get(obj, key) == val, "get(\"%s\") is not the member", key);
					if (val != NULL)
					{
						CHECK(sms_json_get_ci(obj, key) != NULL, "get_ci(\"%s\") = NULL", key);
						walk(val, depth + 1);
					}
				}
			}
			for (size_t i = 0; i < lengthof(probe_keys); i++)
			{
				struct json_object *exact = sms_json_get(obj, probe_keys[i]);
				struct json_object *ci = sms_json_get_ci(obj, probe_keys[i]);

				CHECK(exact == NULL || ci == exact, "get_ci prefers another key over an exact match");
				if (ci != NULL)
					touch_str(sms_json_scalar_text(ci));
			}
			break;
		case json_type_array:
			CHECK(text == NULL, "scalar_text(array) = \"%s\"", text);
			CHECK(!is_int, "int64(array) succeeded");
			CHECK(sms_json_get(obj, "status") == NULL, "get on an array");
			for (size_t i = 0; i < json_object_array_length(obj); i++)
			{
				struct json_object *el = json_object_array_get_idx(obj, i);

				if (el != NULL)
					walk(el, depth + 1);
				else
					CHECK(sms_json_scalar_text(el) == NULL && !sms_json_int64(el, &v),
						  "getters on NULL");
			}
			break;
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	struct json_object *obj;

	memcpy(text, data, size);
	text[size] = '\0';

	obj = sms_json_parse(text, size);
	if (obj != NULL)
	{
		char	   *out;
		struct json_object *again;

		walk(obj, 0);
		out = sms_json_to_cstring(obj);
		CHECK(pg_json_valid(out), "serialization is not JSON to PostgreSQL: %.300s", out);
		again = sms_json_parse(out, strlen(out));
		CHECK(again != NULL, "serialization does not parse again: %.300s", out);
		CHECK(strcmp(sms_json_to_cstring(again), out) == 0,
			  "round trip changed the text: %.300s", out);
		sms_json_release(again);
		sms_json_release(obj);
	}

	/* the getters must also take NULL and non-objects */
	CHECK(sms_json_get(NULL, "a") == NULL && sms_json_get_ci(NULL, "a") == NULL,
		  "getters on NULL");

	/* a root never released explicitly (as after an ERROR): the context
	 * reset (arena_reset) must put it, or LeakSanitizer reports it */
	(void) sms_json_parse(text, size);

	arena_reset();
	free(text);
	return 0;
}
