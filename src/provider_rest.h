/*
 * provider_rest.h -- what the JSON providers (smsir, smsafzar, smsir_legacy)
 * share: the request tail, template parameters, id and amount readers, and
 * the start of every reply.  No I/O, never raises.
 */
#ifndef SMS_IR_PROVIDER_REST_H
#define SMS_IR_PROVIDER_REST_H

#include "json.h"
#include "provider.h"

/*
 * Finish `req`: method, base_url + path, "Accept: application/json", and
 * the body (serialized and released; "Content-Type: application/json" when
 * there is one, or always when content_type_always).  Auth headers go in
 * before or after, as the provider likes.
 */
extern void sms_rest_request(SmsRequest *req, const SmsConfig *cfg,
							 const char *method, const char *path,
							 struct json_object *body, bool content_type_always);

/* sms_api: the caller's method, path and JSON body text. */
extern void sms_rest_raw_request(SmsRequest *req, const SmsConfig *cfg,
								 const SmsArgs *args, bool content_type_always);

/* [{"name": ..., "value": ...}, ...] of args->params */
extern struct json_object *sms_rest_params(const SmsArgs *args);

/* ["a", "b", ...] */
extern struct json_object *sms_rest_string_array(char *const *items, int n);

/* Scalars of a JSON array as text; NULL (and *n = 0) unless every one is a scalar. */
extern char **sms_rest_scalar_array(struct json_object *arr, int *n);

/* An amount (cost, credit) as canonical numeric text, else NULL (one rule: reply.c). */
extern char *sms_rest_amount(struct json_object *obj, SmsAmountFormat fmt);

/* A mobile the provider sent, canonical (09xxxxxxxxx) when it is one, else as sent. */
extern char *sms_rest_mobile(struct json_object *obj);

/* Start of every parse_reply: the reply reset, the body parsed (or NULL). */
extern struct json_object *sms_rest_reply_begin(SmsReply *reply, const char *body,
												size_t len);

/* sms_api's reply: the whole JSON body. */
extern bool sms_rest_read_raw(const SmsArgs *args, const void *payload, SmsReply *reply);

#endif
