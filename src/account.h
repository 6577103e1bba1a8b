/*
 * account.h -- provider accounts: the unprefixed settings (account
 * "default") and the accounts sms_ir.accounts declares, each with its own
 * sms_ir.N_* settings; which account a session uses, who may use it, and
 * where it fails over to.
 */
#ifndef SMS_IR_ACCOUNT_H
#define SMS_IR_ACCOUNT_H

#include "postgres.h"

#include "provider.h"
#include "secret.h"

/* the secret settings of an account, in one order everywhere */
typedef enum SmsAccountSecret
{
	ACCOUNT_API_KEY,
	ACCOUNT_BEARER_TOKEN,
	ACCOUNT_SECRET_KEY,
	ACCOUNT_USERNAME,
	ACCOUNT_PASSWORD,
	ACCOUNT_DOMAIN,
	ACCOUNT_SECRETS
} SmsAccountSecret;

/* most accounts sms_ir.accounts may declare (plus "default") */
#define SMS_MAX_ACCOUNTS 16
/* longest account name */
#define SMS_ACCOUNT_NAME_MAX 32
#define SMS_DEFAULT_ACCOUNT "default"

typedef struct SmsAccount
{
	int			index;			/* 0: default */
	const char *name;
	/* the account's settings (GUC variables) and their names */
	int		   *provider;		/* index into sms_providers[] */
	char	  **secrets[ACCOUNT_SECRETS];
	const char *secret_settings[ACCOUNT_SECRETS];	/* "sms_ir.N_api_key" */
	char	  **line_number;
	char	  **base_url;
	char	  **fallback;		/* account name, "" = none */
	char	  **allowed_roles;	/* NULL for default: any role */
	int		   *daily_limit;	/* messages per calendar day, 0 = none */
} SmsAccount;

extern int	sms_naccounts;
extern SmsAccount *sms_accounts[];

/* Defines sms_ir.accounts and every declared account's settings (guc.c). */
extern void sms_accounts_define_gucs(void);

/* The account of that name, or NULL. */
extern const SmsAccount *sms_account_by_name(const char *name);

/*
 * The account calls are made with: the one sms_account_use() set (the
 * worker, failover), else the session's sms_ir.account (22023 if unknown).
 */
extern const SmsAccount *sms_account_current(void);
/* Make `account` current (NULL: back to sms_ir.account); returns the previous. */
extern const SmsAccount *sms_account_use(const SmsAccount *account);

/* Is an account made current by sms_account_use()? */
extern bool sms_account_overridden(void);

/* Raise 42501 unless `role` may use the account (N_allowed_roles). */
extern void sms_account_check_role(const SmsAccount *account, Oid role);

extern const SmsProvider *sms_account_provider(const SmsAccount *account);

/* Connection settings of the account for its provider; see sms_try_current_config. */
extern bool sms_account_try_config(const SmsAccount *account, SmsConfig *cfg,
								   SmsSecretProblem *problem);

/* a set of accounts (the ones a row has tried) */
#define SMS_ACCOUNT_BIT(a) ((uint32) 1 << (a)->index)

/*
 * The account `account` fails over to, if it is not in `tried`; NULL at
 * the end of the chain.  A chain back to an account in `tried` is a cycle:
 * refused with a WARNING (once per process and account), never followed.
 */
extern const SmsAccount *sms_account_next(const SmsAccount *account, uint32 tried);

#endif
