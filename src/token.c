/*
 * token.c -- fetch, cache and forget provider session tokens (token.h).
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "token.h"


static char *cached_key = NULL;		/* provider, base_url, api_key, secret_key */
static char *cached_token = NULL;
static uint64 cached_generation = 0;	/* of cached_token; 0 when none */
static uint64 last_generation = 0;

void
sms_token_forget(void)
{
	if (cached_key != NULL)
	{
		/* the key holds secrets: wipe before freeing */
		explicit_bzero(cached_key, strlen(cached_key));
		pfree(cached_key);
	}
	if (cached_token != NULL)
	{
		explicit_bzero(cached_token, strlen(cached_token));
		pfree(cached_token);
	}
	cached_key = NULL;
	cached_token = NULL;
	cached_generation = 0;
}

uint64
sms_token_generation(void)
{
	return cached_generation;
}

void
sms_token_forget_generation(uint64 generation)
{
	if (generation != 0 && generation == cached_generation)
		sms_token_forget();
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
	if (cached_key != NULL && strcmp(cached_key, key) == 0)
	{
		explicit_bzero(key, strlen(key));
		cfg->token = cached_token;
		return true;
	}
	sms_token_forget();

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

	cached_key = MemoryContextStrdup(TopMemoryContext, key);
	cached_token = MemoryContextStrdup(TopMemoryContext, reply.token);
	cached_generation = ++last_generation;
	explicit_bzero(key, strlen(key));
	cfg->token = cached_token;
	return true;
}
