/*
 * provider_rest.c -- what the JSON providers share (provider_rest.h).
 */
#include "postgres.h"

#include "mobile.h"
#include "provider_rest.h"

void
sms_rest_request(SmsRequest *req, const SmsConfig *cfg, const char *method,
				 const char *path, struct json_object *body,
				 bool content_type_always)
{
	req->method = method;
	req->url = psprintf("%s%s", cfg->base_url, path);
	req->headers[req->nheaders++] = "Accept: application/json";
	if (body != NULL)
	{
		req->body = sms_json_to_cstring(body);
		sms_json_release(body);
	}
	if (req->body != NULL || content_type_always)
		req->headers[req->nheaders++] = "Content-Type: application/json";
}

void
sms_rest_raw_request(SmsRequest *req, const SmsConfig *cfg, const SmsArgs *args,
					 bool content_type_always)
{
	if (args->raw_body != NULL)
		req->body = pstrdup(args->raw_body);
	sms_rest_request(req, cfg, args->raw_method, args->raw_path, NULL,
					 content_type_always);
}

struct json_object *
sms_rest_params(const SmsArgs *args)
{
	struct json_object *params = json_object_new_array_ext(args->nparams);

	for (int i = 0; i < args->nparams; i++)
	{
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "name", json_object_new_string(args->params[i].name));
		json_object_object_add(p, "value", json_object_new_string(args->params[i].value));
		json_object_array_add(params, p);
	}
	return params;
}

struct json_object *
sms_rest_string_array(char *const *items, int n)
{
	struct json_object *arr = json_object_new_array_ext(n);

	for (int i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(items[i]));
	return arr;
}

char	  **
sms_rest_scalar_array(struct json_object *arr, int *n)
{
	char	  **out;

	*n = 0;
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return NULL;
	*n = (int) json_object_array_length(arr);
	out = palloc0(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		out[i] = sms_json_scalar_text(json_object_array_get_idx(arr, i));
		if (out[i] == NULL)
		{
			*n = 0;				/* never a count without its array */
			return NULL;
		}
	}
	return out;
}

char *
sms_rest_amount(struct json_object *obj, SmsAmountFormat fmt)
{
	return sms_amount_text(sms_json_scalar_text(obj), fmt);
}

char *
sms_rest_mobile(struct json_object *obj)
{
	char	   *mobile = sms_json_scalar_text(obj);
	char		canonical[SMS_MOBILE_LEN + 1];

	if (mobile != NULL && sms_mobile_normalize(mobile, canonical))
		return pstrdup(canonical);
	return mobile;
}

struct json_object *
sms_rest_reply_begin(SmsReply *reply, const char *body, size_t len)
{
	reply->parts = -1;
	return sms_json_parse(body, len);
}

bool
sms_rest_read_raw(const SmsArgs *args, const void *payload, SmsReply *reply)
{
	reply->json = sms_json_to_cstring((struct json_object *) payload);
	return true;
}
