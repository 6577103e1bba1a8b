/*
 * worker_config.c -- per-account connection settings for the outbox
 * worker, resolved once per set (worker_internal.h).
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "worker_internal.h"

/* every account there can be: one set holds each at most once */
#define WORKER_CONFIG_SLOTS (SMS_MAX_ACCOUNTS + 1)

struct WorkerConfigs
{
	MemoryContext cxt;
	int			n;
	AccountSettings slot[WORKER_CONFIG_SLOTS];
};

WorkerConfigs *
worker_configs_create(MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "sms_ir provider settings",
											  ALLOCSET_SMALL_SIZES);
	WorkerConfigs *configs = MemoryContextAllocZero(cxt, sizeof(WorkerConfigs));

	configs->cxt = cxt;
	return configs;
}

void
worker_configs_free(WorkerConfigs *configs)
{
	if (configs != NULL)
		MemoryContextDelete(configs->cxt);
}

AccountSettings *
worker_configs_get(WorkerConfigs *configs, const SmsAccount *account)
{
	AccountSettings *c;
	const SmsProvider *provider = sms_account_provider(account);
	MemoryContext old;

	for (int i = 0; i < configs->n; i++)
		if (configs->slot[i].account == account)
			return &configs->slot[i];
	if (configs->n == WORKER_CONFIG_SLOTS)
		elog(ERROR, "more than %d accounts in one set of settings", WORKER_CONFIG_SLOTS);

	old = MemoryContextSwitchTo(configs->cxt);
	c = &configs->slot[configs->n++];
	c->account = account;
	c->provider = provider;
	c->usable = sms_account_try_config(account, &c->cfg, &c->problem);
	if (c->usable)
	{
		SmsConfigProblem cp = {0};

		if (!provider->check_config(&c->cfg, &cp))
		{
			/* credentials not set: every row fails as with a wrong key */
			c->usable = false;
			c->problem.message = (char *) cp.message;
			c->problem.detail = NULL;
			c->problem.hint = cp.hint;
		}
		else
			sms_config_warn(&c->cfg, &cp);
	}
	if (!c->usable)
		ereport(LOG,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("sms_ir worker cannot use the settings of account %s (provider %s): %s",
						account->name, provider->name, c->problem.message),
				 c->problem.detail ? errdetail("%s", c->problem.detail) : 0,
				 c->problem.hint ? errhint("%s", c->problem.hint) : 0));
	MemoryContextSwitchTo(old);
	return c;
}
