/*
 * account.c -- provider accounts (account.h).
 *
 * The unprefixed settings are account "default".  sms_ir.accounts
 * (postmaster) names more; for each name N the preloaded library defines
 * sms_ir.N_provider, the secrets sms_ir.N_api_key ... sms_ir.N_domain (the
 * same contexts and flags as the unprefixed ones: superuser-only, hidden,
 * file: references accepted), sms_ir.N_line_number, sms_ir.N_base_url,
 * sms_ir.N_fallback and sms_ir.N_allowed_roles.  PostgreSQL's configuration
 * file takes one dot in a setting name, hence N_.
 *
 * Failover chains (sms_ir.fallback, sms_ir.N_fallback) are followed with
 * every account visited once: a chain that comes back to an account it
 * passed stops there, so a cycle never loops.  A cycle is refused where it
 * is used (a WARNING names it, once per process and chain) -- a check hook
 * of one setting cannot see the values the same reload gives the others.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "account.h"
#include "args.h"
#include "guc.h"

int			sms_naccounts = 0;
SmsAccount *sms_accounts[SMS_MAX_ACCOUNTS + 1];

static char *accounts_setting = NULL;	/* sms_ir.accounts */
static char *session_account = NULL;	/* sms_ir.account */
static char *default_fallback = NULL;	/* sms_ir.fallback */
static const SmsAccount *in_use = NULL; /* sms_account_use() */

/* The per-account settings (the part after "sms_ir.N_"). */
static const char *const secret_suffixes[ACCOUNT_SECRETS] = {
	[ACCOUNT_API_KEY] = "api_key",
	[ACCOUNT_BEARER_TOKEN] = "bearer_token",
	[ACCOUNT_SECRET_KEY] = "secret_key",
	[ACCOUNT_USERNAME] = "username",
	[ACCOUNT_PASSWORD] = "password",
	[ACCOUNT_DOMAIN] = "domain",
};
static const char *const other_suffixes[] = {
	"provider", "line_number", "base_url", "fallback", "allowed_roles"
};

#define SECRET_FLAGS (GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE)

static bool
valid_account_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > SMS_ACCOUNT_NAME_MAX || name[0] < 'a' || name[0] > 'z')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789") == len;
}

/* An sms_ir.* setting already defined (not a placeholder) with this name? */
static bool
setting_taken(const char *name)
{
	int			flags = GetConfigOptionFlags(name, true);

	return flags != 0 && (flags & GUC_CUSTOM_PLACEHOLDER) == 0;
}

/* The names of sms_ir.accounts, split; NULL and *why on a bad list. */
static List *
split_accounts(const char *value, char **why)
{
	char	   *raw = pstrdup(value);
	List	   *names = NIL;
	ListCell   *lc;

	*why = NULL;
	if (!SplitIdentifierString(raw, ',', &names))
	{
		*why = psprintf("The list is not a comma-separated list of names.");
		return NULL;
	}
	if (list_length(names) > SMS_MAX_ACCOUNTS)
	{
		*why = psprintf("%d accounts are declared; at most %d may be.",
						list_length(names), SMS_MAX_ACCOUNTS);
		return NULL;
	}
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		ListCell   *other;

		if (!valid_account_name(name))
		{
			*why = psprintf("Account name \"%s\" does not match [a-z][a-z0-9]* (at most %d characters).",
							name, SMS_ACCOUNT_NAME_MAX);
			return NULL;
		}
		if (strcmp(name, SMS_DEFAULT_ACCOUNT) == 0)
		{
			*why = psprintf("\"default\" is the account of the unprefixed settings.");
			return NULL;
		}
		foreach(other, names)
			if (other != lc && strcmp(lfirst(other), name) == 0)
			{
				*why = psprintf("Account \"%s\" is named twice.", name);
				return NULL;
			}
		for (int s = 0; s < ACCOUNT_SECRETS + (int) lengthof(other_suffixes); s++)
		{
			const char *suffix = s < ACCOUNT_SECRETS ? secret_suffixes[s] :
				other_suffixes[s - ACCOUNT_SECRETS];
			char	   *setting = psprintf("sms_ir.%s_%s", name, suffix);

			if (setting_taken(setting))
			{
				*why = psprintf("Account \"%s\" would define %s, which is already a setting of sms_ir.",
								name, setting);
				return NULL;
			}
		}
	}
	return names;
}

static bool
check_accounts(char **newval, void **extra, GucSource source)
{
	char	   *why;

	if (split_accounts(*newval, &why) == NULL && why != NULL)
	{
		GUC_check_errdetail("%s", why);
		GUC_check_errhint("List names such as backup, shop2 (lower-case letters and digits).");
		return false;
	}
	return true;
}

/* A fallback must name a declared account (or be empty). */
static bool
check_fallback(char **newval, void **extra, GucSource source)
{
	if ((*newval)[0] == '\0' || sms_naccounts == 0)
		return true;			/* while defining: accounts are checked as used */
	if (sms_account_by_name(*newval) == NULL)
	{
		GUC_check_errdetail("There is no account \"%s\".", *newval);
		GUC_check_errhint("Name an account of sms_ir.accounts, or \"default\".");
		return false;
	}
	return true;
}

static SmsAccount *
new_account(const char *name)
{
	SmsAccount *a = MemoryContextAllocZero(TopMemoryContext, sizeof(SmsAccount));

	a->index = sms_naccounts;
	a->name = MemoryContextStrdup(TopMemoryContext, name);
	sms_accounts[sms_naccounts++] = a;
	return a;
}

static char **
new_string_var(void)
{
	return MemoryContextAllocZero(TopMemoryContext, sizeof(char *));
}

static void
define_account(const char *name)
{
	SmsAccount *a = new_account(name);
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	a->provider = palloc0(sizeof(int));
	DefineCustomEnumVariable(psprintf("sms_ir.%s_provider", name),
							 psprintf("SMS provider of account %s.", name),
							 NULL, a->provider, 0, sms_provider_guc_options(),
							 PGC_SUSET, 0, NULL, NULL, NULL);
	for (int s = 0; s < ACCOUNT_SECRETS; s++)
	{
		a->secrets[s] = new_string_var();
		a->secret_settings[s] = psprintf("sms_ir.%s_%s", name, secret_suffixes[s]);
		DefineCustomStringVariable(a->secret_settings[s],
								   psprintf("%s of account %s (secret).", secret_suffixes[s], name),
								   "Readable and settable by superusers only; a file: reference reads it from a file.",
								   a->secrets[s], "", PGC_SUSET, SECRET_FLAGS,
								   NULL, NULL, NULL);
	}
	a->line_number = new_string_var();
	DefineCustomStringVariable(psprintf("sms_ir.%s_line_number", name),
							   psprintf("Sender line number of account %s.", name),
							   NULL, a->line_number, "", PGC_SUSET, 0, NULL, NULL, NULL);
	a->base_url = new_string_var();
	DefineCustomStringVariable(psprintf("sms_ir.%s_base_url", name),
							   psprintf("Base URL of account %s's provider; empty means the provider's default.", name),
							   NULL, a->base_url, "", PGC_SUSET, 0, NULL, NULL, NULL);
	a->fallback = new_string_var();
	DefineCustomStringVariable(psprintf("sms_ir.%s_fallback", name),
							   psprintf("Account that sends when account %s cannot.", name),
							   NULL, a->fallback, "", PGC_SIGHUP, 0,
							   check_fallback, NULL, NULL);
	a->allowed_roles = new_string_var();
	DefineCustomStringVariable(psprintf("sms_ir.%s_allowed_roles", name),
							   psprintf("Roles whose members may use account %s (empty: any).", name),
							   NULL, a->allowed_roles, "", PGC_SUSET, 0, NULL, NULL, NULL);
	a->daily_limit = palloc0(sizeof(int));
	DefineCustomIntVariable(psprintf("sms_ir.%s_daily_limit", name),
							psprintf("Messages account %s may send per calendar day in sms_ir.timezone (0 = no limit).", name),
							"Past it, synchronous sends are refused and the worker holds the account's rows.",
							a->daily_limit, 0, 0, INT_MAX, PGC_SIGHUP, 0, NULL, NULL, NULL);
	MemoryContextSwitchTo(old);
}

void
sms_accounts_define_gucs(void)
{
	SmsAccount *def = new_account(SMS_DEFAULT_ACCOUNT);

	def->provider = &sms_ir_provider;
	def->secrets[ACCOUNT_API_KEY] = &sms_ir_api_key;
	def->secrets[ACCOUNT_BEARER_TOKEN] = &sms_ir_bearer_token;
	def->secrets[ACCOUNT_SECRET_KEY] = &sms_ir_secret_key;
	def->secrets[ACCOUNT_USERNAME] = &sms_ir_username;
	def->secrets[ACCOUNT_PASSWORD] = &sms_ir_password;
	def->secrets[ACCOUNT_DOMAIN] = &sms_ir_domain;
	for (int s = 0; s < ACCOUNT_SECRETS; s++)
		def->secret_settings[s] = psprintf("sms_ir.%s", secret_suffixes[s]);
	def->line_number = &sms_ir_line_number;
	def->base_url = &sms_ir_base_url;
	def->fallback = &default_fallback;
	def->allowed_roles = NULL;
	def->daily_limit = &sms_ir_daily_limit;

	DefineCustomStringVariable("sms_ir.account",
							   "Account of this session's sends and of the rows it queues.",
							   "\"default\" is the unprefixed settings; others are declared in sms_ir.accounts.",
							   &session_account, SMS_DEFAULT_ACCOUNT,
							   PGC_USERSET, 0, NULL, NULL, NULL);

	/*
	 * Only the preloaded library declares accounts: a PGC_POSTMASTER
	 * setting can only be defined at postmaster start.  Defined after every
	 * other sms_ir setting, so that its check sees them all.
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		List	   *names;
		char	   *why;
		ListCell   *lc;

		DefineCustomStringVariable("sms_ir.accounts",
								   "Provider accounts besides \"default\" (comma-separated names).",
								   "Each name N gets its own sms_ir.N_provider, sms_ir.N_api_key, ... settings.",
								   &accounts_setting, "",
								   PGC_POSTMASTER, 0, check_accounts, NULL, NULL);
		names = split_accounts(accounts_setting, &why);
		foreach(lc, names)
			define_account(lfirst(lc));
	}

	DefineCustomStringVariable("sms_ir.fallback",
							   "Account that sends when the default account cannot.",
							   NULL, &default_fallback, "", PGC_SIGHUP, 0,
							   check_fallback, NULL, NULL);
}

const SmsAccount *
sms_account_by_name(const char *name)
{
	for (int i = 0; i < sms_naccounts; i++)
		if (strcmp(sms_accounts[i]->name, name) == 0)
			return sms_accounts[i];
	return NULL;
}

const SmsAccount *
sms_account_use(const SmsAccount *account)
{
	const SmsAccount *prev = in_use;

	in_use = account;
	return prev;
}

bool
sms_account_overridden(void)
{
	return in_use != NULL;
}

static char *
declared_names(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < sms_naccounts; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", sms_accounts[i]->name);
	return buf.data;
}

const SmsAccount *
sms_account_current(void)
{
	const SmsAccount *a;

	if (in_use != NULL)
		return in_use;
	if (sms_naccounts == 0)
		elog(ERROR, "sms_ir accounts are not set up");
	/* the common case, without a lookup */
	if (session_account == NULL || strcmp(session_account, SMS_DEFAULT_ACCOUNT) == 0)
		return sms_accounts[0];
	a = sms_account_by_name(session_account);
	if (a == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown sms_ir account \"%s\"", sms_args_show(session_account)),
				 errdetail("The accounts are: %s.", declared_names()),
				 errhint("Set sms_ir.account to one of them; accounts are declared in sms_ir.accounts.")));
	return a;
}

void
sms_account_check_role(const SmsAccount *account, Oid role)
{
	char	   *raw;
	List	   *roles;
	ListCell   *lc;

	if (account->allowed_roles == NULL || (*account->allowed_roles)[0] == '\0')
		return;
	raw = pstrdup(*account->allowed_roles);
	if (SplitIdentifierString(raw, ',', &roles))
	{
		foreach(lc, roles)
		{
			Oid			r = get_role_oid(lfirst(lc), true);

			if (OidIsValid(r) && is_member_of_role(role, r))
				return;
		}
	}
	/* superusers are members of every role: only ordinary roles get here */
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to use sms_ir account \"%s\"", account->name),
			 errdetail("Only members of sms_ir.%s_allowed_roles (%s) may use it.",
					   account->name, *account->allowed_roles),
			 errhint("Use another account in sms_ir.account, or ask a superuser to grant membership.")));
}

const SmsProvider *
sms_account_provider(const SmsAccount *account)
{
	int			p = *account->provider;

	if (p < 0 || p >= sms_nproviders)
		elog(ERROR, "unknown provider %d of sms_ir account %s", p, account->name);
	return sms_providers[p];
}

bool
sms_account_try_config(const SmsAccount *account, SmsConfig *cfg,
					   SmsSecretProblem *problem)
{
	const SmsProvider *provider = sms_account_provider(account);
	const char *base = *account->base_url;
	const char **values[ACCOUNT_SECRETS] = {
		[ACCOUNT_API_KEY] = &cfg->api_key,
		[ACCOUNT_BEARER_TOKEN] = &cfg->bearer_token,
		[ACCOUNT_SECRET_KEY] = &cfg->secret_key,
		[ACCOUNT_USERNAME] = &cfg->username,
		[ACCOUNT_PASSWORD] = &cfg->password,
		[ACCOUNT_DOMAIN] = &cfg->domain,
	};

	if (base == NULL || base[0] == '\0')
		base = provider->default_base_url;
	/* strip one trailing slash so paths can start with '/' */
	if (base[strlen(base) - 1] == '/')
		base = pnstrdup(base, strlen(base) - 1);
	cfg->base_url = base;
	cfg->line_number = *account->line_number ? *account->line_number : "";
	cfg->token = NULL;
	for (int s = 0; s < ACCOUNT_SECRETS; s++)
		if (!sms_secret_resolve(account->secret_settings[s], *account->secrets[s],
								values[s], problem))
			return false;
	return true;
}

const SmsAccount *
sms_account_next(const SmsAccount *account, uint32 tried)
{
	static uint32 warned = 0;	/* chains whose cycle was said, by start */
	const char *name = *account->fallback;
	const SmsAccount *next;

	if (name == NULL || name[0] == '\0')
		return NULL;
	next = sms_account_by_name(name);
	if (next == NULL)
		return NULL;
	if ((tried & SMS_ACCOUNT_BIT(next)) == 0)
		return next;
	/* the chain comes back to an account it passed: refused, not followed */
	if ((warned & SMS_ACCOUNT_BIT(account)) == 0)
	{
		warned |= SMS_ACCOUNT_BIT(account);
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sms_ir failover chain has a cycle: account %s falls back to %s, which it already passed",
						account->name, next->name),
				 errhint("Fix sms_ir.fallback / sms_ir.N_fallback; failover stops at %s.",
						 account->name)));
	}
	return NULL;
}
