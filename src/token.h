/*
 * token.h -- session tokens for providers that need one (SmsProvider's
 * build_token_request / parse_token_reply hooks, when uses_token says the
 * settings ask for one).
 *
 * Tokens are cached per process in TopMemoryContext (one per account at
 * most), keyed by provider, base URL and every credential, so a settings
 * change fetches a new one.  Both the
 * synchronous functions (functions.c) and the outbox worker (worker_*.c) use
 * these; providers without the hooks are untouched.
 */
#ifndef SMS_IR_TOKEN_H
#define SMS_IR_TOKEN_H

#include "http.h"
#include "provider.h"

/*
 * Put a token into cfg->token, fetching one when none is cached for these
 * settings.  opts NULL: a backend call (query cancel raises); otherwise the
 * worker's run options.  Returns false with *err set when the fetch failed
 * (SMS_ERR_AUTH: the key or secret is wrong).  Never ereports otherwise.
 * A no-op returning true when the provider or its settings use no token.
 */
extern bool sms_token_apply(const SmsProvider *provider, SmsConfig *cfg,
							const HttpRunOptions *opts, SmsError *err);

/* Drop every cached token (after a provider refused one). */
extern void sms_token_forget(void);

/*
 * Which fetched token is cached now (0: none); each fetch gets a new number.
 * The worker notes it when it builds a request, and on a refusal forgets
 * only that token: replies refusing an older one (requests that were in
 * flight with it) must not throw away the token fetched since.
 */
extern uint64 sms_token_generation(void);
extern void sms_token_forget_generation(uint64 generation);

/* Should an error of class cls be retried once with a fresh token? */
extern bool sms_token_refresh_helps(const SmsProvider *provider, const SmsConfig *cfg,
									SmsErrorClass cls);

#endif
