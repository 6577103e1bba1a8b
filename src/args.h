/*
 * args.h -- validation of user input into SmsArgs.
 *
 * The synchronous functions and (later) the queue functions build their
 * arguments through these helpers, so both reject the same input with the
 * same errors.  Every helper ereports on bad input.
 */
#ifndef SMS_IR_ARGS_H
#define SMS_IR_ARGS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "provider.h"

/*
 * Most parameters one template message takes.  Neither sms.ir's v1 docs nor
 * the other providers' name a limit; templates use a handful, and 100 is the
 * bound of every other per-request list (mobiles, ids).
 */
#define SMS_MAX_PARAMS 100

extern void sms_args_init(SmsArgs *args, SmsOp op);

/*
 * A caller's value as an error message shows it: at most 64 characters
 * (then "... (N bytes)"), control and invisible characters as \u and four hex digits (\u200F).
 */
extern char *sms_args_show(const char *value);

/*
 * An opaque id a provider gave (message id, pack id, template id): 1 to 128
 * printable ASCII characters, no spaces; raises 22023 naming `argname`.
 */
extern char *sms_args_id(const char *id, const char *argname);

/*
 * A template_id argument (a provider template id or a logical template's
 * name): 1 to 128 bytes, no spaces, control or invisible characters.
 */
extern char *sms_args_template_name(const char *id);

/* A template's explicit sender: digits after an optional '+', not all zeros. */
extern char *sms_args_sender(const char *sender);

/* Raise 22004 if `isnull`; `argname` names the SQL argument. */
extern void sms_args_not_null(bool isnull, const char *argname);

/* One mobile number in canonical form; raises 22023 naming `argname`. */
extern char *sms_args_mobile(const char *in, const char *argname);

/* A text[] of mobiles, each normalized; raises on NULL, empty or bad entries. */
extern char **sms_args_mobiles(ArrayType *arr, int *n, const char *argname);

/* The same checks on C strings (outbox payloads); n may be 0 (raises). */
extern char **sms_args_mobile_list(char **raw, int n, const char *argname);
extern char **sms_args_message_list(char **raw, int n, const char *argname);

/* A text[] of non-empty message texts. */
extern char **sms_args_messages(ArrayType *arr, int *n, const char *argname);

/* Non-empty message text. */
extern char *sms_args_message(const char *text, const char *argname);

/* A verify template id (positive) as decimal text. */
extern char *sms_args_template_id(int64 template_id);

/* Raise unless there are as many messages as mobiles. */
extern void sms_args_same_length(int nmessages, int nmobiles);

/*
 * Sender line: the argument, or sms_ir.line_number when NULL; NULL when the
 * provider sends no line (no_line_number) and none is set.
 */
extern char *sms_args_line_number(const SmsProvider *provider, const char *arg);

/* send_at as unix seconds (0 when NULL), within the provider's window. */
extern int64 sms_args_send_at(const SmsProvider *provider, TimestampTz ts,
							  bool isnull);

/* Template parameters from jsonb: {"k":"v"} or [{"name":..,"value":..}]. */
extern void sms_args_params(const SmsProvider *provider, Jsonb *params,
							SmsArgs *args);

/*
 * The leading arguments shared by a send function and its queue twin
 * (sms_send_X / queue_X), read from the call and validated:
 *   bulk:          message, mobiles, line_number
 *   like_to_like:  messages, mobiles, line_number
 *   verify:        mobile, template_id bigint, parameters
 *   template:      recipient, template_id text, parameters, sender
 */
extern void sms_args_bulk_from_call(FunctionCallInfo fcinfo, const SmsProvider *provider,
									SmsArgs *args);
extern void sms_args_like_to_like_from_call(FunctionCallInfo fcinfo,
											const SmsProvider *provider, SmsArgs *args);
extern void sms_args_verify_from_call(FunctionCallInfo fcinfo, const SmsProvider *provider,
									  SmsArgs *args);
extern void sms_args_template_from_call(FunctionCallInfo fcinfo, const SmsProvider *provider,
										SmsArgs *args);

/* The part of `all` holding at most `chunk` mobiles from position `off`. */
extern SmsArgs sms_args_slice(const SmsArgs *all, int off, int chunk);

/* Raise feature_not_supported unless the provider can do `args`. */
extern void sms_args_check_supported(const SmsProvider *provider,
									 const SmsArgs *args);

#endif
