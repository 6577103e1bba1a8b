/*
 * json.h -- small json-c helpers: strict parsing and typed getters that copy
 * into palloc'd memory, so callers can json_object_put() right away.
 */
#ifndef SMS_IR_JSON_H
#define SMS_IR_JSON_H

#include "postgres.h"

#include <json-c/json.h>

/*
 * Parse exactly `len` bytes of JSON; NULL if invalid or trailing garbage.
 * The root is owned by CurrentMemoryContext (freed if it is reset, e.g. by
 * an ERROR); release it early with sms_json_release(), not json_object_put.
 */
extern struct json_object *sms_json_parse(const char *text, size_t len);

/* A new empty object, owned like sms_json_parse's roots. */
extern struct json_object *sms_json_new_object(void);

/* Put a root from sms_json_parse/sms_json_new_object now; NULL is fine. */
extern void sms_json_release(struct json_object *obj);

/* Serialize compactly into a palloc'd string. */
extern char *sms_json_to_cstring(struct json_object *obj);

/* Member `key` of object `obj`, or NULL if obj is not an object or lacks it. */
extern struct json_object *sms_json_get(struct json_object *obj, const char *key);

/* Case-insensitive variant of sms_json_get (ASP.NET replies vary in case). */
extern struct json_object *sms_json_get_ci(struct json_object *obj, const char *key);

/*
 * Scalar as palloc'd text: strings as-is, numbers in their original spelling
 * (json-c keeps it), booleans as true/false.  NULL for null, objects, arrays.
 */
extern char *sms_json_scalar_text(struct json_object *obj);

/* Integer value of an int (or integral numeric string); false otherwise. */
extern bool sms_json_int64(struct json_object *obj, int64 *out);

#endif
