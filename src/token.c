/*
 * token.c -- fetch, cache and forget provider session tokens (token.h).
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "account.h"
#include "token.h"


/*
 * A few tokens at once: the worker sends through every account, and two
 * accounts with tokens must not refetch each other's on every row.
 */
#define TOKEN_CACHE_SLOTS (SMS_MAX_ACCOUNTS + 1)

typedef struct CachedToken
{
	char	   *key;			/* provider, base_url and every credential */
	char	   *token;
	uint64		generation;		/* 0: slot empty */
} CachedToken;

static CachedToken cache[TOKEN_CACHE_SLOTS];
static uint64 last_generation = 0;	/* the last one fetched */
static uint64 applied_generation = 0;	/* the one sms_token_apply last gave */

static void
wipe(char *s)
{
	if (s != NULL)
	{
		/* keys and tokens hold secrets: wipe before freeing */
		explicit_bzero(s, strlen(s));
		pfree(s);
	}
}

static void
forget_slot(CachedToken *t)
{
	wipe(t->key);
	wipe(t->token);
	memset(t, 0, sizeof(*t));
}

void
sms_token_forget(void)
{
	for (int i = 0; i < TOKEN_CACHE_SLOTS; i++)
		forget_slot(&cache[i]);
	applied_generation = 0;
}

uint64
sms_token_generation(void)
{
	return applied_generation;
}

void
sms_token_forget_generation(uint64 generation)
{
	for (int i = 0; i < TOKEN_CACHE_SLOTS && generation != 0; i++)
		if (cache[i].generation == generation)
			forget_slot(&cache[i]);
}

bool
sms_token_refresh_helps(const SmsProvider *provider, const SmsConfig *cfg,
						SmsErrorClass cls)
{
	return cls == SMS_ERR_AUTH && sms_provider_uses_token(provider, cfg);
}

bool
sms_token_apply(const SmsProvider *provider, SmsConfig *cfg,
				const HttpRunOptions *opts, SmsError *err)
{
	char	   *key;
	SmsRequest	req;
	HttpCall	call;
	SmsReply	reply;

	if (!sms_provider_uses_token(provider, cfg))
		return true;

	key = psprintf("%s\x01%s\x01%s\x01%s\x01%s\x01%s\x01%s", provider->name, cfg->base_url,
				   cfg->api_key, cfg->secret_key, cfg->username, cfg->password, cfg->domain);
	for (int i = 0; i < TOKEN_CACHE_SLOTS; i++)
		if (cache[i].key != NULL && strcmp(cache[i].key, key) == 0)
		{
			explicit_bzero(key, strlen(key));
			cfg->token = cache[i].token;
			applied_generation = cache[i].generation;
			return true;
		}

	memset(&req, 0, sizeof(req));
	memset(&call, 0, sizeof(call));
	memset(&reply, 0, sizeof(reply));
	cfg->token = NULL;
	provider->build_token_request(cfg, &req);
	call.req = &req;
	if (opts == NULL)
		http_perform_one(&call);
	else if (!http_run(&call, 1, opts))
	{
		sms_set_error(&reply, SMS_ERR_NETWORK, 0, NULL,
					  "token request aborted", NULL);
		*err = reply.err;
		return false;
	}

	if (call.transport != SMS_OK)
		sms_set_error(&reply, call.transport, (int) call.status, NULL,
					  call.transport_message, NULL);
	else
		provider->parse_token_reply(call.status, call.body.data,
									(size_t) call.body.len, &reply);
	reply.err.retry_after = call.retry_after;
	if (call.body.data != NULL)
		pfree(call.body.data);
	/* the request body holds the secret */
	if (req.body != NULL)
		explicit_bzero(req.body, strlen(req.body));

	if (reply.err.cls != SMS_OK)
	{
		explicit_bzero(key, strlen(key));
		*err = reply.err;
		return false;
	}

	{
		/* an empty slot, else the oldest */
		CachedToken *slot = &cache[0];

		for (int i = 0; i < TOKEN_CACHE_SLOTS; i++)
			if (cache[i].generation < slot->generation)
				slot = &cache[i];
		forget_slot(slot);
		slot->key = MemoryContextStrdup(TopMemoryContext, key);
		slot->token = MemoryContextStrdup(TopMemoryContext, reply.token);
		slot->generation = ++last_generation;
		applied_generation = slot->generation;
		explicit_bzero(key, strlen(key));
		cfg->token = slot->token;
	}
	return true;
}
