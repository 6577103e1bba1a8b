/*
 * provider.c -- the backend side of the provider interface: the active
 * provider, its connection settings, and the one place provider errors
 * become ereports.  The SQLSTATE of each error class is decided here
 * (README "Errors" lists them).
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "miscadmin.h"

#include "account.h"
#include "guc.h"
#include "provider.h"
#include "secret.h"

/*
 * The provider of the current account (sms_ir.account, or the one the
 * worker or a failover made current).  A session's own account is checked
 * against its allowed roles with the current user: the synchronous
 * functions and a plain INSERT into the outbox come through here.
 */
const SmsProvider *
sms_current_provider(void)
{
	const SmsAccount *account = sms_account_current();

	if (!sms_account_overridden())
		sms_account_check_role(account, GetUserId());
	return sms_account_provider(account);
}

/*
 * The connection settings of the current account, secrets resolved
 * (secret.c).  On false, *problem says which secret cannot be used; nothing
 * is raised.  `provider` is the account's.
 */
bool
sms_try_current_config(const SmsProvider *provider, SmsConfig *cfg,
					   SmsSecretProblem *problem)
{
	const SmsAccount *account = sms_account_current();

	Assert(provider == sms_account_provider(account));
	return sms_account_try_config(account, cfg, problem);
}

/*
 * Say check_config's warning (credentials usable but unsafe) once per
 * process and base URL, not once per call: a session or the worker that
 * keeps using the same URL is told the first time.
 */
void
sms_config_warn(const SmsConfig *cfg, const SmsConfigProblem *problem)
{
	static char *warned_url = NULL;

	if (problem->warning == NULL ||
		(warned_url != NULL && strcmp(warned_url, cfg->base_url) == 0))
		return;
	if (warned_url != NULL)
		pfree(warned_url);
	warned_url = MemoryContextStrdup(TopMemoryContext, cfg->base_url);
	ereport(WARNING,
			(errmsg("%s", problem->warning),
			 errhint("Use an https:// URL in sms_ir.base_url.")));
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
error_hint(const SmsProvider *provider, SmsErrorClass cls)
{
	switch (cls)
	{
		case SMS_ERR_INVALID:
			return "Check the values passed against the provider's rules.";
		case SMS_ERR_NOT_FOUND:
			return "Check the id against the provider's panel.";
		case SMS_ERR_AUTH:
			return provider->auth_hint;
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
		error_hint(provider, err->cls);
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
