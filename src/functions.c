/*
 * functions.c -- the synchronous SQL functions of SPEC §4.
 *
 * Each function validates its arguments (args.c), asks the active provider
 * for a request, performs it (http.c), lets the provider parse the reply and
 * returns rows or raises.  One HTTP round trip per <= max_recipients mobiles.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "account.h"
#include "args.h"
#include "breaker.h"
#include "guc.h"
#include "http.h"
#include "mobile.h"
#include "provider.h"
#include "secret.h"
#include "token.h"
#include "template.h"
#include "calendar.h"
#include "suppression.h"
#include "throttle.h"

/* Error context for multi-request sends: what was already sent. */
typedef struct SendProgress
{
	int			done;
	int			total;
	StringInfoData packs;
} SendProgress;

/*
 * A string a provider sent (id, status, inbox text, delivery detail) as a
 * text Datum: invalid UTF-8 bytes become U+FFFD, so the result is always
 * valid text.
 */
static Datum
reply_text(const char *s)
{
	return CStringGetTextDatum(sms_text_valid_utf8(s));
}

static void
send_progress_context(void *arg)
{
	SendProgress *progress = (SendProgress *) arg;

	if (progress->done > 0)
		errcontext("%d of %d provider requests had already succeeded (pack ids: %s)",
				   progress->done, progress->total, progress->packs.data);
}

/*
 * The connection settings; raises when the provider's credentials are not
 * set (its check_config says which), warns when they are unsafe, and fetches
 * the session token of providers that use one.
 */
static void
checked_config(const SmsProvider *provider, SmsConfig *cfg)
{
	SmsConfigProblem problem = {0};

	sms_current_config(provider, cfg);
	if (!provider->check_config(cfg, &problem))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s", problem.message),
				 problem.hint ? errhint("%s", problem.hint) : 0));
	sms_config_warn(cfg, &problem);
	if (sms_provider_uses_token(provider, cfg))
	{
		SmsError	err;

		if (!sms_token_apply(provider, cfg, NULL, &err))
			sms_raise_error(provider, &err);
	}
}

/* Turn a finished call into a reply (no ereport). */
static void
finish_call(const SmsProvider *provider, const SmsArgs *args, HttpCall *call,
			SmsReply *reply)
{
	http_call_reply(provider, args, call, reply);
	pfree(call->body.data);
	/* a failed send that may have gone out: the error's hint says so */
	if (reply->err.cls != SMS_OK && sms_op_is_send(args->op))
		reply->err.maybe_sent = sms_outcome_unknown(&reply->err, call->request_sent,
													call->status);
}

/* Build, perform and parse one request with settings `cfg`. */
static void
perform(const SmsProvider *provider, const SmsArgs *args, SmsConfig *cfg, SmsReply *reply)
{
	SmsRequest	req;
	HttpCall	call;

	memset(&req, 0, sizeof(req));
	memset(&call, 0, sizeof(call));
	sms_provider_build(provider, args, cfg, &req);
	call.req = &req;
	http_perform_one(&call);
	finish_call(provider, args, &call, reply);
}

/*
 * Build, perform and parse one request through the current account, without
 * raising for what is the account's fault: settings that cannot be used come back as an SMS_ERR_AUTH
 * error (*config_problem set), provider errors in reply->err.  Query cancel
 * and out-of-memory still raise.
 */
static void
execute_try(const SmsProvider *provider, const SmsArgs *args, SmsReply *reply,
			bool *config_problem)
{
	SmsConfig	cfg;
	SmsSecretProblem secret;
	SmsConfigProblem problem = {0};

	*config_problem = false;
	memset(reply, 0, sizeof(*reply));
	if (!sms_try_current_config(provider, &cfg, &secret) ||
		!provider->check_config(&cfg, &problem))
	{
		*config_problem = true;
		sms_set_error(reply, SMS_ERR_AUTH, 0, NULL,
					  problem.message ? problem.message : secret.message, NULL);
		return;
	}
	sms_config_warn(&cfg, &problem);
	if (sms_provider_uses_token(provider, &cfg) &&
		!sms_token_apply(provider, &cfg, NULL, &reply->err))
		return;
	perform(provider, args, &cfg, reply);
	if (sms_token_refresh_helps(provider, &cfg, reply->err.cls))
	{
		sms_token_forget();
		if (!sms_token_apply(provider, &cfg, NULL, &reply->err))
			return;
		perform(provider, args, &cfg, reply);
	}
}

/* Did the provider send it, or may it have?  Then it counts against the limits. */
static bool
counts_as_sent(const SmsReply *reply)
{
	return reply->err.cls == SMS_OK || reply->err.maybe_sent;
}

/*
 * Raise a failed execute_try()'s error: what is wrong with the settings
 * first, else the provider's.
 */
static void
raise_failure(const SmsProvider *provider, SmsReply *reply, bool config_problem)
{
	if (config_problem)
	{
		SmsConfig	cfg;

		checked_config(provider, &cfg); /* raises what is wrong with them */
	}
	if (reply->err.cls != SMS_OK)
		sms_raise_error(provider, &reply->err);
}

/* execute_try(), raising on any failure (the settings' own error first). */
static void
execute(const SmsProvider *provider, const SmsArgs *args, SmsReply *reply)
{
	bool		config_problem;

	execute_try(provider, args, reply, &config_problem);
	raise_failure(provider, reply, config_problem);
}

/*
 * execute() of a send through the session's account, counted against its
 * daily limit (53400 before any request when it would pass it).
 */
static void
execute_send(const SmsProvider *provider, const SmsArgs *args, SmsReply *reply)
{
	const SmsAccount *account = sms_account_current();
	bool		config_problem;

	if (!sms_daily_take(account, args->nmobiles))
		sms_daily_refuse(account, args->nmobiles);
	execute_try(provider, args, reply, &config_problem);
	if (!counts_as_sent(reply))
		sms_daily_give_back(account, args->nmobiles);
	raise_failure(provider, reply, config_problem);
}

/* execute_try() through `account`; true if its settings cannot be used. */
static bool
execute_as(const SmsAccount *account, const SmsArgs *args, SmsReply *reply)
{
	const SmsAccount *prev = sms_account_use(account);
	bool		config_problem = false;

	PG_TRY();
	{
		execute_try(sms_account_provider(account), args, reply, &config_problem);
	}
	PG_FINALLY();
	{
		sms_account_use(prev);
	}
	PG_END_TRY();
	return config_problem;
}

/* Raise what is wrong with `account`'s settings, as checked_config() does. */
static void
raise_config_problem(const SmsAccount *account)
{
	SmsConfig	cfg;

	sms_account_use(account);
	PG_TRY();
	{
		checked_config(sms_account_provider(account), &cfg);
	}
	PG_FINALLY();
	{
		sms_account_use(NULL);
	}
	PG_END_TRY();
}

/*
 * An OTP send (verify or template) through the session's account and, when
 * that fails because of the account or its provider (not the message), each
 * account of its failover chain that can send it -- the same rule as the
 * worker's, circuit breakers included.  `in` was validated for the
 * session's account; a logical template (tmpl) is routed per account.
 * Raises the first account's error when no account could send it, or a
 * message rejection at once.  Returns the account that sent it.
 */
static const SmsAccount *
execute_with_failover(const SmsArgs *in, const SmsLogicalTemplate *tmpl, int throttle_mark,
					  SmsReply *reply)
{
	const SmsAccount *own = sms_account_current();
	const SmsAccount *account = own;
	const SmsAccount *first_account = NULL;
	SmsError	first_error = {0};
	bool		first_is_config = false;
	uint32		tried = 0;

	for (int i = 0; i <= sms_naccounts && account != NULL; i++)
	{
		const SmsProvider *provider = sms_account_provider(account);
		TimestampTz until;
		SmsArgs		args = *in;
		const char *hint;
		bool		usable = true;

		/* a numeric template id means something to its own provider only */
		if (account != own && tmpl == NULL &&
			provider != sms_account_provider(own))
			usable = false;
		if (usable && tmpl != NULL)
			sms_template_route(tmpl, account, in, &args);
		if (usable && account != own && !sms_provider_supports(provider, &args, &hint))
			usable = false;
		/* over its daily limit: refused for the session's account, skipped in its chain */
		if (usable && !sms_daily_take(account, 1))
		{
			if (account == own)
				sms_daily_refuse(account, 1);
			usable = false;
		}
		if (usable && sms_breaker_check(account, &until) == BREAKER_BLOCKED)
		{
			sms_daily_give_back(account, 1);
			usable = false;
		}
		if (usable)
		{
			bool		config_problem = execute_as(account, &args, reply);

			if (counts_as_sent(reply))
				sms_throttle_keep(throttle_mark);
			else
				sms_daily_give_back(account, 1);
			if (reply->err.cls == SMS_OK)
			{
				sms_breaker_report(account, false, NULL);
				sms_account_count(account, 1, 0);
				return account;
			}
			sms_breaker_report(account, sms_error_is_account_level(reply->err.cls),
							   sms_error_text(&reply->err));
			sms_account_count(account, 0, 1);
			/* the message itself, or maybe sent under at_most_once: no failover */
			if (!sms_error_is_account_level(reply->err.cls) ||
				(reply->err.maybe_sent && sms_ir_delivery_guarantee == SMS_AT_MOST_ONCE))
				sms_raise_error(provider, &reply->err);
			if (first_account == NULL)
			{
				first_account = account;
				first_error = reply->err;
				first_is_config = config_problem;
			}
		}
		tried |= SMS_ACCOUNT_BIT(account);
		account = sms_account_next(account, tried);
	}

	if (first_account == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("no sms_ir account can send now"),
				 errdetail("The circuit breaker of account %s is open, and no account of its failover chain can take the message.",
						   own->name),
				 errhint("See sms_ir.account_status(); the breaker lets a probe through after sms_ir.breaker_cooldown.")));
	if (first_is_config)
		raise_config_problem(first_account);	/* the same error as execute() raises */
	sms_raise_error(sms_account_provider(first_account), &first_error);
	return NULL;				/* keep compiler quiet */
}

static Datum
numeric_from_text(const char *s)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(s),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

static Datum
text_array_datum(char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = reply_text(items[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* One result row of a bulk/like-to-like request, and its progress. */
static void
put_send_row(ReturnSetInfo *rsinfo, const SmsReply *reply, SendProgress *progress)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = reply_text(reply->pack_id);
	values[1] = text_array_datum(reply->message_ids, reply->nmessage_ids);
	if (reply->cost)
		values[2] = numeric_from_text(reply->cost);
	else
		nulls[2] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

	appendStringInfo(&progress->packs, "%s%s", progress->done ? ", " : "", reply->pack_id);
	progress->done++;
}

/*
 * For providers with send_concurrency > 1: build every request first, run
 * them all at once, then return the results in input order.  The first
 * failure (in input order) is raised only after every request finished, with
 * the error context naming how many succeeded.
 */
static void
send_concurrently(const SmsProvider *provider, const SmsArgs *all,
				  ReturnSetInfo *rsinfo, SendProgress *progress)
{
	int			chunk = provider->max_recipients;
	int			n = progress->total;
	SmsArgs    *parts = palloc0(sizeof(SmsArgs) * n);
	SmsRequest *reqs = palloc0(sizeof(SmsRequest) * n);
	HttpCall   *calls = palloc0(sizeof(HttpCall) * n);
	SmsReply   *replies = palloc0(sizeof(SmsReply) * n);
	HttpRunOptions opts;
	SmsConfig	cfg;
	int			failed = -1;
	const SmsAccount *account = sms_account_current();

	checked_config(provider, &cfg);
	if (!sms_daily_take(account, all->nmobiles))
		sms_daily_refuse(account, all->nmobiles);
	for (int i = 0; i < n; i++)
	{
		int			off = i * chunk;

		parts[i] = sms_args_slice(all, off, chunk);
		sms_provider_build(provider, &parts[i], &cfg, &reqs[i]);
		calls[i].req = &reqs[i];
	}

	http_default_options(&opts);
	opts.max_concurrency = provider->send_concurrency;
	http_run_in_backend(calls, n, &opts);

	for (int i = 0; i < n; i++)
	{
		finish_call(provider, &parts[i], &calls[i], &replies[i]);
		if (!counts_as_sent(&replies[i]))
			sms_daily_give_back(account, parts[i].nmobiles);
	}

	/* results in input order; the successes count before any raise */
	for (int i = 0; i < n; i++)
	{
		if (replies[i].err.cls != SMS_OK)
		{
			if (failed < 0)
				failed = i;
			continue;
		}
		put_send_row(rsinfo, &replies[i], progress);
	}
	if (failed >= 0)
		sms_raise_error(provider, &replies[failed].err);
}

/*
 * Marketing sends are not made inside sms_ir.quiet_hours (55000): at the
 * time they are scheduled for (send_at), else now.
 */
static void
check_quiet_hours(const SmsArgs *all)
{
	TimestampTz at = all->send_at > 0 ? time_t_to_timestamptz((pg_time_t) all->send_at) :
		GetCurrentTimestamp();
	TimestampTz ends_at;

	if (sms_quiet_now(at, &ends_at))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bulk messages are not sent during quiet hours"),
				 errdetail("%s is inside sms_ir.quiet_hours (%02d:%02d-%02d:%02d in %s), which ends at %s.",
						   all->send_at > 0 ? "The send time" : "Now",
						   sms_ir_quiet_hours.start_min / 60, sms_ir_quiet_hours.start_min % 60,
						   sms_ir_quiet_hours.end_min / 60, sms_ir_quiet_hours.end_min % 60,
						   pg_get_timezone_name(sms_ir_timezone), timestamptz_to_str(ends_at)),
				 errhint("Queue it with sms_ir.queue_bulk() or sms_ir.queue_like_to_like(): the worker sends it when quiet hours end.")));
}

/*
 * Drop the suppressed recipients of a marketing send, with a NOTICE; false
 * when nobody is left (nothing is sent, no row returned).
 */
static bool
skip_suppressed(SmsArgs *all)
{
	int			total = all->nmobiles;
	int			nsuppressed;
	char	  **suppressed = sms_suppression_lookup(all, &nsuppressed);
	int			dropped = sms_suppression_apply(all, suppressed, nsuppressed);

	if (dropped == 0)
		return true;
	ereport(NOTICE,
			(errmsg("%d of %d recipients are suppressed and were skipped", dropped, total),
			 errdetail(all->nmobiles == 0 ? "Nothing was sent." : "The others are sent."),
			 errhint("See sms_ir.suppression; sms_ir.unsuppress() lets a mobile receive bulk messages again.")));
	return all->nmobiles > 0;
}

/* Shared body of sms_send_bulk and sms_send_like_to_like. */
static Datum
send_in_chunks(FunctionCallInfo fcinfo, SmsArgs *all)
{
	const SmsProvider *provider = sms_current_provider();
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			chunk = provider->max_recipients;
	SendProgress progress;
	ErrorContextCallback errcb;

	sms_args_check_supported(provider, all);
	InitMaterializedSRF(fcinfo, 0);
	check_quiet_hours(all);
	if (!skip_suppressed(all))
		return (Datum) 0;

	progress.done = 0;
	progress.total = (all->nmobiles + chunk - 1) / chunk;
	initStringInfo(&progress.packs);
	errcb.callback = send_progress_context;
	errcb.arg = &progress;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (provider->send_concurrency > 1 && progress.total > 1)
	{
		send_concurrently(provider, all, rsinfo, &progress);
		error_context_stack = errcb.previous;
		return (Datum) 0;
	}

	for (int off = 0; off < all->nmobiles; off += chunk)
	{
		SmsArgs		part = sms_args_slice(all, off, chunk);
		SmsReply	reply;

		execute_send(provider, &part, &reply);
		put_send_row(rsinfo, &reply, &progress);
	}
	error_context_stack = errcb.previous;
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(sms_send_bulk);
Datum
sms_send_bulk(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;

	sms_args_bulk_from_call(fcinfo, provider, &args);
	args.send_at = sms_args_send_at(provider, PG_ARGISNULL(3) ? 0 : PG_GETARG_TIMESTAMPTZ(3),
									PG_ARGISNULL(3));
	return send_in_chunks(fcinfo, &args);
}

PG_FUNCTION_INFO_V1(sms_send_like_to_like);
Datum
sms_send_like_to_like(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;

	sms_args_like_to_like_from_call(fcinfo, provider, &args);
	args.send_at = sms_args_send_at(provider, PG_ARGISNULL(3) ? 0 : PG_GETARG_TIMESTAMPTZ(3),
									PG_ARGISNULL(3));
	return send_in_chunks(fcinfo, &args);
}

PG_FUNCTION_INFO_V1(sms_send_verify);
Datum
sms_send_verify(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SmsArgs		args;
	SmsReply	reply;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	sms_args_verify_from_call(fcinfo, provider, &args);
	sms_args_check_supported(provider, &args);

	InitMaterializedSRF(fcinfo, 0);
	(void) execute_with_failover(&args, NULL, sms_throttle_otp(args.mobiles[0]), &reply);
	values[0] = reply_text(reply.message_ids[0]);
	if (reply.cost)
		values[1] = numeric_from_text(reply.cost);
	else
		nulls[1] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(sms_send_template);
Datum
sms_send_template(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SmsArgs		args;
	SmsReply	reply;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	SmsLogicalTemplate tmpl;
	bool		logical;

	sms_args_template_from_call(fcinfo, provider, &args);
	args.send_at = sms_args_send_at(provider, PG_ARGISNULL(4) ? 0 : PG_GETARG_TIMESTAMPTZ(4),
									PG_ARGISNULL(4));
	logical = sms_template_lookup(args.template_id, &tmpl);
	if (logical)
	{
		SmsArgs		routed;

		sms_template_route(&tmpl, sms_account_current(), &args, &routed);
		sms_args_check_supported(provider, &routed);
	}
	else
		sms_args_check_supported(provider, &args);

	InitMaterializedSRF(fcinfo, 0);
	(void) execute_with_failover(&args, logical ? &tmpl : NULL, sms_throttle_otp(args.mobiles[0]),
								 &reply);
	nulls[0] = reply.pack_id == NULL;
	values[0] = reply.pack_id ? reply_text(reply.pack_id) : (Datum) 0;
	values[1] = reply_text(reply.message_ids[0]);
	nulls[2] = reply.status == NULL;
	values[2] = reply.status ? reply_text(reply.status) : (Datum) 0;
	nulls[3] = reply.parts < 0;
	values[3] = Int32GetDatum(reply.parts);
	nulls[4] = reply.cost == NULL;
	values[4] = reply.cost ? numeric_from_text(reply.cost) : (Datum) 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

static char *
checked_id(char *id, const char *argname)
{
	return sms_args_id(id, argname);
}

/* Longest sms_api() path, in bytes (query string included). */
#define API_PATH_MAX_BYTES 2048

/*
 * An sms_api() path: relative to sms_ir.base_url, printable ASCII (percent-
 * encode the rest), no "." or ".." segment (which would climb out of the
 * base URL's path); NULL when fine, else why not.
 */
static const char *
api_path_problem(const char *path)
{
	size_t		len = strlen(path);
	const char *seg;

	if (path[0] != '/' || path[1] == '/')
		return "It must start with a single \"/\".";
	if (len > API_PATH_MAX_BYTES)
		return psprintf("It has %zu bytes; at most %d.", len, API_PATH_MAX_BYTES);
	for (const unsigned char *u = (const unsigned char *) path; *u; u++)
		if (*u <= 0x20 || *u >= 0x7F)
			return psprintf("Byte %d is not a printable ASCII character other than a space.",
							(int) ((const char *) u - path) + 1);
	for (seg = path + 1;; seg++)
	{
		size_t		n = strcspn(seg, "/?#");

		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return "It has a \".\" or \"..\" segment.";
		seg += n;
		if (*seg != '/')
			break;
	}
	return NULL;
}

static void
put_deliveries(ReturnSetInfo *rsinfo, const SmsReply *reply)
{
	for (int i = 0; i < reply->ndeliveries; i++)
	{
		const SmsDelivery *d = &reply->deliveries[i];
		const char *cols[5] = {d->message_id, d->mobile, d->status,
		d->provider_status, d->detail};
		Datum		values[5];
		bool		nulls[5];

		for (int c = 0; c < 5; c++)
		{
			nulls[c] = cols[c] == NULL;
			values[c] = cols[c] ? reply_text(cols[c]) : (Datum) 0;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

PG_FUNCTION_INFO_V1(sms_delivery_status);
Datum
sms_delivery_status(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;
	SmsReply	reply;

	sms_args_init(&args, SMS_OP_STATUS);
	sms_args_not_null(PG_ARGISNULL(0), "message_id");
	args.id = checked_id(text_to_cstring(PG_GETARG_TEXT_PP(0)), "message_id");
	sms_args_check_supported(provider, &args);
	InitMaterializedSRF(fcinfo, 0);
	execute(provider, &args, &reply);
	put_deliveries((ReturnSetInfo *) fcinfo->resultinfo, &reply);
	/* paged reports (smsir_legacy: 50 rows a page) */
	for (int page = 1; reply.next_id != NULL && page < 1000; page++)
	{
		args.after_id = reply.next_id;
		execute(provider, &args, &reply);
		put_deliveries((ReturnSetInfo *) fcinfo->resultinfo, &reply);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(sms_delivery_status_array);
Datum
sms_delivery_status_array(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	SmsArgs    *args;

	sms_args_not_null(PG_ARGISNULL(0), "message_ids");
	if (ARR_NDIM(PG_GETARG_ARRAYTYPE_P(0)) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("message_ids must be a one-dimensional array"),
				 errhint("Pass a plain array such as ARRAY['89545112', '89545113'].")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);

	/* check every id before the first request */
	args = palloc(sizeof(SmsArgs) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("message_ids must not contain NULL"),
					 errdetail("Element %d is NULL.", i + 1),
					 errhint("Remove the NULL elements.")));
		sms_args_init(&args[i], SMS_OP_STATUS);
		args[i].id = checked_id(TextDatumGetCString(elems[i]), "message_id");
		sms_args_check_supported(provider, &args[i]);
	}

	InitMaterializedSRF(fcinfo, 0);
	if (provider->max_status_ids > 1)
	{
		/* several ids per request, in input order */
		char	  **ids = palloc(sizeof(char *) * Max(n, 1));

		for (int i = 0; i < n; i++)
			ids[i] = args[i].id;
		for (int off = 0; off < n; off += provider->max_status_ids)
		{
			SmsArgs		batch;
			SmsReply	reply;

			sms_args_init(&batch, SMS_OP_STATUS);
			batch.id = ids[off];
			batch.ids = ids + off;
			batch.nids = Min(provider->max_status_ids, n - off);
			execute(provider, &batch, &reply);
			put_deliveries((ReturnSetInfo *) fcinfo->resultinfo, &reply);
		}
		return (Datum) 0;
	}
	for (int i = 0; i < n; i++)
	{
		SmsReply	reply;

		execute(provider, &args[i], &reply);
		put_deliveries((ReturnSetInfo *) fcinfo->resultinfo, &reply);
		for (int page = 1; reply.next_id != NULL && page < 1000; page++)
		{
			args[i].after_id = reply.next_id;
			execute(provider, &args[i], &reply);
			put_deliveries((ReturnSetInfo *) fcinfo->resultinfo, &reply);
		}
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(sms_credit);
Datum
sms_credit(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;
	SmsReply	reply;

	sms_args_init(&args, SMS_OP_CREDIT);
	sms_args_check_supported(provider, &args);
	execute(provider, &args, &reply);
	PG_RETURN_DATUM(numeric_from_text(reply.number));
}

PG_FUNCTION_INFO_V1(sms_lines);
Datum
sms_lines(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SmsArgs		args;
	SmsReply	reply;

	sms_args_init(&args, SMS_OP_LINES);
	sms_args_check_supported(provider, &args);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	execute(provider, &args, &reply);
	for (int i = 0; i < reply.nlines; i++)
	{
		Datum		value = reply_text(reply.lines[i]);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(sms_cancel_scheduled);
Datum
sms_cancel_scheduled(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	MemoryContext fncxt = CurrentMemoryContext;
	SmsArgs		args;
	SmsReply	reply;

	sms_args_init(&args, SMS_OP_CANCEL);
	sms_args_not_null(PG_ARGISNULL(0), "pack_id");
	args.id = checked_id(text_to_cstring(PG_GETARG_TEXT_PP(0)), "pack_id");
	sms_args_check_supported(provider, &args);

	/* an unknown or already-sent pack is "not cancelled", not an error */
	PG_TRY();
	{
		execute(provider, &args, &reply);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/*
		 * We are in ErrorContext here: copy the error out of it, since
		 * FlushErrorState() resets it.
		 */
		MemoryContextSwitchTo(fncxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_UNDEFINED_OBJECT)
			PG_RE_THROW();
		FlushErrorState();
		FreeErrorData(edata);
		PG_RETURN_BOOL(false);
	}
	PG_END_TRY();
	PG_RETURN_BOOL(reply.cancelled);
}

PG_FUNCTION_INFO_V1(sms_api);
Datum
sms_api(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
	SmsArgs		args;
	SmsReply	reply;
	char	   *method;
	char	   *path;
	const char *path_problem;

	sms_args_init(&args, SMS_OP_RAW);
	sms_args_not_null(PG_ARGISNULL(0), "method");
	sms_args_not_null(PG_ARGISNULL(1), "path");
	method = asc_toupper(text_to_cstring(PG_GETARG_TEXT_PP(0)),
						 VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)));
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	for (size_t i = 0; i < lengthof(methods); i++)
		if (strcmp(method, methods[i]) == 0)
			args.raw_method = (char *) methods[i];
	if (args.raw_method == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported HTTP method \"%s\"", sms_args_show(method)),
				 errhint("Use GET, POST, PUT, PATCH or DELETE.")));
	if ((path_problem = api_path_problem(path)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid API path \"%s\"", sms_args_show(path)),
				 errdetail_internal("%s", path_problem),
				 errhint("Pass a path relative to sms_ir.base_url that starts with '/', such as '/v1/credit', percent-encoding anything but printable ASCII.")));
	args.raw_path = path;
	if (!PG_ARGISNULL(2))
	{
		Jsonb	   *body = PG_GETARG_JSONB_P(2);

		args.raw_body = JsonbToCString(NULL, &body->root, VARSIZE(body));
	}
	sms_args_check_supported(provider, &args);
	execute(provider, &args, &reply);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(reply.json)));
}

PG_FUNCTION_INFO_V1(sms_normalize_mobile);
Datum
sms_normalize_mobile(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(sms_args_mobile(text_to_cstring(PG_GETARG_TEXT_PP(0)),
													 "normalize_mobile")));
}

/* sms_inbox(count int DEFAULT 100): the latest received messages. */
PG_FUNCTION_INFO_V1(sms_inbox);
Datum
sms_inbox(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SmsArgs		args;
	SmsReply	reply;

	sms_args_init(&args, SMS_OP_INBOX);
	sms_args_not_null(PG_ARGISNULL(0), "count");
	args.count = PG_GETARG_INT32(0);
	if (args.count < 1 || args.count > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must be between 1 and 100, not %d", args.count),
				 errhint("Providers return at most 100 received messages per request.")));
	sms_args_check_supported(provider, &args);
	InitMaterializedSRF(fcinfo, 0);
	execute(provider, &args, &reply);
	for (int i = 0; i < reply.ninbox; i++)
	{
		const SmsInboxRow *m = &reply.inbox[i];
		const char *cols[4] = {m->sender, m->line_number, m->message, m->provider_id};
		Datum		values[5];
		bool		nulls[5];

		nulls[0] = m->received_at == 0;
		values[0] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) m->received_at));
		for (int c = 0; c < 4; c++)
		{
			nulls[c + 1] = cols[c] == NULL;
			values[c + 1] = cols[c] ? reply_text(cols[c]) : (Datum) 0;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* int[] argument as int32s; NULL elements refused. */
static int32 *
int_array_arg(ArrayType *arr, int *n, const char *argname)
{
	Datum	   *elems;
	bool	   *nulls;
	int32	   *out;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", argname),
				 errhint("Pass a plain array such as ARRAY[7, 8].")));
	deconstruct_array(arr, INT4OID, sizeof(int32), true, TYPALIGN_INT,
					  &elems, &nulls, n);
	out = palloc(sizeof(int32) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname),
					 errdetail("Element %d is NULL.", i + 1),
					 errhint("Remove the NULL elements.")));
		out[i] = DatumGetInt32(elems[i]);
		if (out[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s element %d", argname, out[i]),
					 errdetail("Element %d is not a positive id.", i + 1),
					 errhint("Pass ids from the provider's contact groups (sms_api('GET', '/users/v1/Contacts/GetContactGroups')).")));
	}
	return out;
}

/*
 * sms_send_to_contacts(message, group_ids, contact_relation_ids,
 * continue_on_error): the legacy White SMS Message/Send to contact groups
 * and single contacts.  Same result shape as sms_send_bulk.
 */
PG_FUNCTION_INFO_V1(sms_send_to_contacts);
Datum
sms_send_to_contacts(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SmsArgs		args;
	SmsReply	reply;
	SendProgress progress;

	sms_args_init(&args, SMS_OP_CONTACTS);
	sms_args_check_supported(provider, &args);
	sms_args_not_null(PG_ARGISNULL(0), "message");
	sms_args_not_null(PG_ARGISNULL(1), "group_ids");
	sms_args_not_null(PG_ARGISNULL(2), "contact_relation_ids");
	sms_args_not_null(PG_ARGISNULL(3), "continue_on_error");
	args.message = sms_args_message(text_to_cstring(PG_GETARG_TEXT_PP(0)), "message");
	args.group_ids = int_array_arg(PG_GETARG_ARRAYTYPE_P(1), &args.ngroup_ids, "group_ids");
	args.relation_ids = int_array_arg(PG_GETARG_ARRAYTYPE_P(2), &args.nrelation_ids,
									  "contact_relation_ids");
	args.continue_on_error = PG_GETARG_BOOL(3);
	if (args.ngroup_ids == 0 && args.nrelation_ids == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no recipients given"),
				 errhint("Pass group_ids, contact_relation_ids or both.")));

	/*
	 * Advertising to the panel's contact groups: quiet hours apply.
	 * Suppression cannot: the provider expands the groups.
	 */
	check_quiet_hours(&args);
	InitMaterializedSRF(fcinfo, 0);
	execute(provider, &args, &reply);
	progress.done = 0;
	progress.total = 1;
	initStringInfo(&progress.packs);
	put_send_row(rsinfo, &reply, &progress);
	return (Datum) 0;
}

/*
 * provider_capabilities(): provider x operation from the registry's ops
 * tables; an unsupported one carries the hint its call raises with.
 */
PG_FUNCTION_INFO_V1(sms_provider_capabilities);
Datum
sms_provider_capabilities(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int p = 0; p < sms_nproviders; p++)
	{
		const SmsProvider *provider = sms_providers[p];

		for (int op = 0; op < SMS_OP_COUNT; op++)
		{
			const SmsOpEntry *entry = &provider->ops[op];
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			values[0] = CStringGetTextDatum(provider->name);
			values[1] = CStringGetTextDatum(sms_op_name((SmsOp) op));
			values[2] = BoolGetDatum(entry->build != NULL);
			if (entry->build == NULL && entry->hint != NULL)
				values[3] = CStringGetTextDatum(entry->hint);
			else
				nulls[3] = true;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
