/*
 * provider_registry.c -- the one list of providers, and the generic side of
 * their ops tables (operation names, supports/build/read lookups).  Pure: the
 * fuzz harness links it too.
 *
 * The order here is the sms_ir.provider setting's enum order (guc.c builds
 * its options from this list), so a new provider is one file plus one line
 * below.  Lookups by name (outbox rows, the fuzz harness) and
 * sms_ir.provider_capabilities() read the same list.
 */
#include "postgres.h"

#include "provider.h"

extern const SmsProvider sms_provider_smsir;
extern const SmsProvider sms_provider_smsafzar;
extern const SmsProvider sms_provider_mediapayamak;
extern const SmsProvider sms_provider_smsir_legacy;

const SmsProvider *const sms_providers[] = {
	&sms_provider_smsir,
	&sms_provider_smsafzar,
	&sms_provider_mediapayamak,
	&sms_provider_smsir_legacy,
};

const int	sms_nproviders = lengthof(sms_providers);

/* Provider named in an outbox row; NULL if this build has no such provider. */
const SmsProvider *
sms_provider_by_name(const char *name)
{
	for (int i = 0; i < sms_nproviders; i++)
		if (strcmp(name, sms_providers[i]->name) == 0)
			return sms_providers[i];
	return NULL;
}

/* What each operation is called in SQL, and whether it sends messages. */
static const struct
{
	const char *function;
	bool		sends;
}			op_info[SMS_OP_COUNT] = {
	[SMS_OP_BULK] = {"sms_send_bulk", true},
	[SMS_OP_LIKE_TO_LIKE] = {"sms_send_like_to_like", true},
	[SMS_OP_VERIFY] = {"sms_send_verify", true},
	[SMS_OP_TEMPLATE] = {"sms_send_template", true},
	[SMS_OP_STATUS] = {"sms_delivery_status", false},
	[SMS_OP_CREDIT] = {"sms_credit", false},
	[SMS_OP_LINES] = {"sms_lines", false},
	[SMS_OP_CANCEL] = {"sms_cancel_scheduled", false},
	[SMS_OP_RAW] = {"sms_api", false},
	[SMS_OP_INBOX] = {"sms_inbox", false},
	[SMS_OP_CONTACTS] = {"sms_send_to_contacts", true},
	[SMS_OP_PACK_STATUS] = {"delivery tracking by pack", false},
};

const char *
sms_op_name(SmsOp op)
{
	if (op < 0 || op >= SMS_OP_COUNT)
		return "unknown operation";
	return op_info[op].function;
}

/* Does `op` send messages (so a failure after the request went out may not be one)? */
bool
sms_op_is_send(SmsOp op)
{
	return op >= 0 && op < SMS_OP_COUNT && op_info[op].sends;
}

/* Can `provider` do `args`?  On false, *hint says what to use instead. */
bool
sms_provider_supports(const SmsProvider *provider, const SmsArgs *args,
					  const char **hint)
{
	const SmsOpEntry *entry = &provider->ops[args->op];

	*hint = NULL;
	if (entry->build == NULL)
	{
		*hint = entry->hint;
		return false;
	}
	return entry->supports == NULL || entry->supports(args, hint);
}

/* The request for `args`; the operation was checked with sms_provider_supports. */
void
sms_provider_build(const SmsProvider *provider, const SmsArgs *args,
				   const SmsConfig *cfg, SmsRequest *req)
{
	const SmsOpEntry *entry = &provider->ops[args->op];

#ifndef FRONTEND
	if (entry->build == NULL)
		elog(ERROR, "provider %s has no request for %s", provider->name,
			 sms_op_name(args->op));
#endif
	memset(req, 0, sizeof(*req));
	entry->build(args, cfg, req);
}

/*
 * For a provider's envelope parser: the operation's reader applied to a
 * successful reply's payload.  False (a reply we cannot read) when the
 * operation has no reader.
 */
bool
sms_provider_read(const SmsProvider *provider, const SmsArgs *args,
				  const void *payload, SmsReply *reply)
{
	const SmsOpEntry *entry = &provider->ops[args->op];

	return entry->read != NULL && entry->read(args, payload, reply);
}

/* Do these settings make `provider` call with a session token? */
bool
sms_provider_uses_token(const SmsProvider *provider, const SmsConfig *cfg)
{
	return provider->build_token_request != NULL &&
		(provider->uses_token == NULL || provider->uses_token(cfg));
}

