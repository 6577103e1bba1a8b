/*
 * provider.c -- provider registry and the one place provider errors become
 * ereports.  The SQLSTATE of each error class is decided here (README
 * "Errors" lists them).
 */
#include "postgres.h"

#include "guc.h"
#include "provider.h"
#include "secret.h"

const SmsProvider *
sms_current_provider(void)
{
	switch (sms_ir_provider)
	{
		case SMS_PROVIDER_SMSIR:
			return &sms_provider_smsir;
		case SMS_PROVIDER_SMSAFZAR:
			return &sms_provider_smsafzar;
		case SMS_PROVIDER_MEDIAPAYAMAK:
			return &sms_provider_mediapayamak;
		case SMS_PROVIDER_SMSIR_LEGACY:
			return &sms_provider_legacy;
	}
	elog(ERROR, "unknown sms_ir.provider %d", sms_ir_provider);
	return NULL;				/* keep compiler quiet */
}

/* Provider named in an outbox row; NULL if this build has no such provider. */
const SmsProvider *
sms_provider_by_name(const char *name)
{
	if (strcmp(name, sms_provider_smsir.name) == 0)
		return &sms_provider_smsir;
	if (strcmp(name, sms_provider_smsafzar.name) == 0)
		return &sms_provider_smsafzar;
	if (strcmp(name, sms_provider_mediapayamak.name) == 0)
		return &sms_provider_mediapayamak;
	if (strcmp(name, sms_provider_legacy.name) == 0)
		return &sms_provider_legacy;
	return NULL;
}

/*
 * The connection settings of `provider`, secrets resolved (secret.c).  On
 * false, *problem says which secret cannot be used; nothing is raised.
 */
bool
sms_try_current_config(const SmsProvider *provider, SmsConfig *cfg,
					   SmsSecretProblem *problem)
{
	const char *base = sms_ir_base_url;

	if (base == NULL || base[0] == '\0')
		base = provider->default_base_url;
	/* strip one trailing slash so paths can start with '/' */
	if (base[strlen(base) - 1] == '/')
		base = pnstrdup(base, strlen(base) - 1);
	cfg->base_url = base;
	cfg->line_number = sms_ir_line_number ? sms_ir_line_number : "";
	cfg->token = NULL;
	return sms_secret_resolve("sms_ir.api_key", sms_ir_api_key, &cfg->api_key, problem) &&
		sms_secret_resolve("sms_ir.bearer_token", sms_ir_bearer_token, &cfg->bearer_token, problem) &&
		sms_secret_resolve("sms_ir.secret_key", sms_ir_secret_key, &cfg->secret_key, problem) &&
		sms_secret_resolve("sms_ir.username", sms_ir_username, &cfg->username, problem) &&
		sms_secret_resolve("sms_ir.password", sms_ir_password, &cfg->password, problem);
}

/* sms_try_current_config, raising 28000 when a secret cannot be used. */
void
sms_current_config(const SmsProvider *provider, SmsConfig *cfg)
{
	SmsSecretProblem problem;

	if (!sms_try_current_config(provider, cfg, &problem))
		sms_secret_raise(&problem);
}

int
sms_error_sqlstate(SmsErrorClass cls)
{
	switch (cls)
	{
		case SMS_OK:
			break;
		case SMS_ERR_INVALID:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case SMS_ERR_NOT_FOUND:
			return ERRCODE_UNDEFINED_OBJECT;
		case SMS_ERR_AUTH:
			return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		case SMS_ERR_FORBIDDEN:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case SMS_ERR_NO_CREDIT:
			return ERRCODE_INSUFFICIENT_RESOURCES;
		case SMS_ERR_REJECTED:
			return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
		case SMS_ERR_RATE_LIMITED:
			return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
		case SMS_ERR_SERVER:
			return ERRCODE_SYSTEM_ERROR;
		case SMS_ERR_BAD_REPLY:
			return ERRCODE_PROTOCOL_VIOLATION;
		case SMS_ERR_CONNECT:
			return ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
		case SMS_ERR_NETWORK:
			return ERRCODE_CONNECTION_FAILURE;
		case SMS_ERR_TIMEOUT:
			return ERRCODE_IO_ERROR;
	}
	return ERRCODE_INTERNAL_ERROR;
}

static const char *
error_hint(SmsErrorClass cls)
{
	switch (cls)
	{
		case SMS_ERR_INVALID:
			return "Check the values passed against the provider's rules.";
		case SMS_ERR_NOT_FOUND:
			return "Check the id against the provider's panel.";
		case SMS_ERR_AUTH:
			return "Check the secret behind sms_ir.api_key (and the other credentials): the file its 'file:' reference names, or its inline value.";
		case SMS_ERR_FORBIDDEN:
			return "Allow this server's IP address and this method in the provider's panel.";
		case SMS_ERR_NO_CREDIT:
			return "Top up the provider account.";
		case SMS_ERR_RATE_LIMITED:
		case SMS_ERR_SERVER:
			return "This is temporary; retry later.";
		case SMS_ERR_CONNECT:
		case SMS_ERR_NETWORK:
			return "Check sms_ir.base_url and the network path to the provider.";
		case SMS_ERR_TIMEOUT:
			return "Raise sms_ir.timeout, or retry later.";
		default:
			return NULL;
	}
}

void
sms_raise_error(const SmsProvider *provider, const SmsError *err)
{
	const char *hint = err->maybe_sent ?
		"The provider may have sent the message before this failure: check sms_delivery_status() or the provider's panel before sending it again." :
		error_hint(err->cls);
	const char *what;

	switch (err->cls)
	{
		case SMS_ERR_CONNECT:
			what = "could not connect to";
			break;
		case SMS_ERR_NETWORK:
			what = "connection failed to";
			break;
		case SMS_ERR_TIMEOUT:
			what = "request timed out to";
			break;
		case SMS_ERR_BAD_REPLY:
			what = "unexpected reply from";
			break;
		case SMS_ERR_AUTH:
			what = "authentication failed at";
			break;
		default:
			what = "request rejected by";
			break;
	}

	ereport(ERROR,
			(errcode(sms_error_sqlstate(err->cls)),
			 errmsg("%s provider %s%s%s", what, provider->name,
					err->message ? ": " : "", err->message ? err->message : ""),
			 err->code ?
			 (err->detail ?
			  errdetail("Provider code %s (HTTP %d). %s", err->code,
						err->http_status, err->detail) :
			  errdetail("Provider code %s (HTTP %d).", err->code,
						err->http_status)) :
			 (err->detail ? errdetail("%s", err->detail) :
			  (err->http_status ? errdetail("HTTP status %d.", err->http_status) : 0)),
			 hint ? errhint("%s", hint) : 0));
}
