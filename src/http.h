/*
 * http.h -- the HTTP client (libcurl multi interface).
 *
 * One multi handle per process holds the connection cache, so keep-alive
 * connections survive across calls and batches.  http_run() performs a set
 * of requests with bounded concurrency and an optional rate limit.
 */
#ifndef SMS_IR_HTTP_H
#define SMS_IR_HTTP_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "provider.h"

/* Replies larger than this are refused (a provider reply is a few KB). */
#define SMS_HTTP_MAX_REPLY (4 * 1024 * 1024)

typedef struct HttpCall
{
	SmsRequest *req;			/* in */
	long		status;			/* out: HTTP status, 0 if none */
	StringInfoData body;		/* out: reply body, NUL-terminated */
	int			retry_after;	/* out: Retry-After seconds, -1 if none */
	SmsErrorClass transport;	/* out: SMS_OK, or CONNECT/NETWORK/TIMEOUT/BAD_REPLY */
	char	   *transport_message;	/* out: what went wrong (no secrets) */
	bool		request_sent;	/* out: some of the request reached the wire */
	bool		done;			/* out */
	void	   *user;			/* caller's own pointer */
	void	   *handle;			/* private: the easy handle while running */
} HttpCall;

typedef struct HttpRunOptions
{
	int			max_concurrency;	/* >= 1 */
	double		rate_limit;		/* requests per second, 0 = unlimited */
	int			timeout_ms;
	int			connect_timeout_ms;
	const char *ca_bundle;		/* NULL or "" = system CAs */
	/* never let libcurl resend a request body on its own (at_most_once) */
	bool		send_once;
	/* polled at least every 50 ms; true aborts the run */
	bool		(*should_abort) (void *arg);
	void	   *abort_arg;
} HttpRunOptions;

/*
 * Perform calls[0..n-1].  Returns false if should_abort() stopped the run;
 * unfinished calls then have done = false.  Never ereports except on out of
 * memory; every curl object is released before it returns.
 */
extern bool http_run(HttpCall *calls, int n, const HttpRunOptions *opts);

/*
 * The provider's reading of a finished call: a transport failure becomes a
 * classified error, anything else goes to provider->parse_reply.  Never
 * ereports (beyond out of memory).
 */
extern void http_call_reply(const SmsProvider *provider, const SmsArgs *args,
							const HttpCall *call, SmsReply *reply);

/* Options from the sms_ir.* settings, aborting on query cancel/die. */
extern void http_default_options(HttpRunOptions *opts);

/* http_run in a backend: raises on statement cancel / statement_timeout. */
extern void http_run_in_backend(HttpCall *calls, int n, const HttpRunOptions *opts);

/* Run one call synchronously in a backend; raises on cancel. */
extern void http_perform_one(HttpCall *call);

/*
 * The worker's pipeline: calls started one at a time, collected as they
 * finish, on the same multi handle (and connections) as http_run.
 * http_pipe_start never waits; the call and its request must stay valid
 * until the call is collected or abandoned.
 */
extern void http_pipe_start(HttpCall *call, const HttpRunOptions *opts);
/* pipeline calls started and not yet finished */
extern int	http_pipe_running(void);

/*
 * Drive the transfers and hand out up to `max` finished pipeline calls in
 * done[]; if none has finished, wait up to wait_ms for one.  Returns how
 * many were handed out.
 */
extern int	http_pipe_collect(HttpCall **done, int max, long wait_ms);

/*
 * Stop every pipeline call not yet collected: done stays false and
 * request_sent says whether some of it reached the wire.
 */
extern void http_pipe_abandon(void);

/* Take a rate_limit token; false (and *wait_ms until one) if none is left. */
extern bool http_rate_take(double rate, long *wait_ms);

#endif
