/*
 * http.c -- libcurl transport for every provider request.
 *
 * One CURLM handle per process owns the connection cache, so keep-alive
 * connections are reused across SQL calls (backends) and requests (worker).
 * Easy handles are pooled and reset per request.  Requests run through the
 * multi interface with bounded concurrency, an optional token-bucket rate
 * limit and a caller-supplied abort check polled at least every 50 ms; the
 * synchronous path uses it to honour statement cancel and statement_timeout.
 * The worker's pipeline starts calls one at a time (http_pipe_start) and
 * collects them as they finish; an http_run meanwhile (a token fetch)
 * shares the multi handle and its connections.
 *
 * Nothing here prints request headers or bodies: they hold credentials.
 * CURLOPT_VERBOSE is never set.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "http.h"

#define POLL_MS 50

/* One request in flight: its easy handle and the memory curl needs. */
typedef struct HttpSlot
{
	CURL	   *easy;
	struct curl_slist *headers;
	HttpCall   *call;
	bool		piped;			/* started by http_pipe_start, not http_run */
	char		errbuf[CURL_ERROR_SIZE];
	/* a send_once request body, handed to curl through read_cb */
	const char *body;
	size_t		body_len;
	size_t		body_pos;
} HttpSlot;

static CURLM *multi = NULL;
static HttpSlot **slots = NULL;	/* TopMemoryContext, nslots entries */
static int	nslots = 0;

/*
 * Pipeline calls that finished while an http_run (a token fetch, say) was
 * driving the multi handle: kept here until http_pipe_collect hands them
 * out.  TopMemoryContext, room for nslots.
 */
static HttpCall **pipe_finished = NULL;
static int	npipe_finished = 0;
static int	npipe_running = 0;

/* token bucket for rate_limit, kept across runs */
static double bucket_tokens = 1.0;
static TimestampTz bucket_at = 0;

static void
http_init(void)
{
	if (multi != NULL)
		return;
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libcurl")));
	multi = curl_multi_init();
	if (multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 64L);
}

/*
 * Make sure `want` slots exist; new ones get an easy handle each.  Each slot
 * is allocated on its own and never moves: curl holds pointers to it
 * (CURLOPT_PRIVATE, the error buffer, read_cb's data) while its request is
 * in flight, and the pipeline adds slots while others are busy.
 */
static void
ensure_slots(int want)
{
	if (want <= nslots)
		return;
	if (slots == NULL)
	{
		slots = MemoryContextAllocZero(TopMemoryContext, sizeof(HttpSlot *) * want);
		pipe_finished = MemoryContextAllocZero(TopMemoryContext, sizeof(HttpCall *) * want);
	}
	else
	{
		slots = repalloc(slots, sizeof(HttpSlot *) * want);
		pipe_finished = repalloc(pipe_finished, sizeof(HttpCall *) * want);
	}
	for (int i = nslots; i < want; i++)
	{
		HttpSlot   *slot = MemoryContextAllocZero(TopMemoryContext, sizeof(HttpSlot));

		slot->easy = curl_easy_init();
		if (slot->easy == NULL)
		{
			pfree(slot);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create a libcurl handle")));
		}
		slots[i] = slot;
		nslots = i + 1;
	}
}

/* Detach a slot from the multi handle and free its header list. */
static void
release_slot(HttpSlot *slot)
{
	if (slot->call != NULL)
	{
		curl_multi_remove_handle(multi, slot->easy);
		slot->call->handle = NULL;
		slot->call = NULL;
		if (slot->piped)
			npipe_running--;
		slot->piped = false;
	}
	slot->body = NULL;
	if (slot->headers != NULL)
	{
		curl_slist_free_all(slot->headers);
		slot->headers = NULL;
	}
}

/*
 * Release the busy slots of http_run (piped = false) or of the pipeline
 * (piped = true); the calls they point to must still be valid.  Calls cut
 * short may have reached the provider already: say so, as finish_call()
 * does, so that the caller does not take them for unsent (and at_most_once
 * does not send them twice).
 */
static void
release_slots(bool piped)
{
	for (int i = 0; i < nslots; i++)
	{
		long		request_size = 0;

		HttpSlot   *slot = slots[i];

		if (slot->call == NULL || slot->piped != piped)
			continue;
		curl_easy_getinfo(slot->easy, CURLINFO_REQUEST_SIZE, &request_size);
		slot->call->request_sent = slot->call->request_sent || request_size > 0;
		release_slot(slot);
	}
}

/* A free slot (growing the pool if every one is busy). */
static HttpSlot *
free_slot(void)
{
	for (int s = 0; s < nslots; s++)
		if (slots[s]->call == NULL)
			return slots[s];
	ensure_slots(nslots + 1);
	return slots[nslots - 1];
}

/* Reset a call's outputs before it starts. */
static void
init_call(HttpCall *call)
{
	initStringInfo(&call->body);
	call->status = 0;
	call->retry_after = -1;
	call->transport = SMS_OK;
	call->transport_message = NULL;
	call->request_sent = false;
	call->done = false;
	call->handle = NULL;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	HttpCall   *call = (HttpCall *) userdata;
	size_t		len = size * nmemb;

	if ((size_t) call->body.len + len > SMS_HTTP_MAX_REPLY)
	{
		call->transport = SMS_ERR_BAD_REPLY;
		call->transport_message = "reply is larger than the 4 MB limit";
		return 0;				/* makes curl fail with CURLE_WRITE_ERROR */
	}
	appendBinaryStringInfo(&call->body, ptr, (int) len);
	return len;
}

static size_t
header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	HttpCall   *call = (HttpCall *) userdata;
	size_t		len = size * nitems;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && pg_strncasecmp(buffer, name, sizeof(name) - 1) == 0)
	{
		char		value[32];
		size_t		vlen = Min(len - (sizeof(name) - 1), sizeof(value) - 1);
		char	   *end;
		long		secs;

		memcpy(value, buffer + sizeof(name) - 1, vlen);
		value[vlen] = '\0';
		secs = strtol(value, &end, 10);
		/* delta-seconds only; an HTTP-date is ignored (default back-off) */
		if (end != value && secs >= 0 && secs <= 86400)
			call->retry_after = (int) secs;
	}
	return len;
}

static size_t
read_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	HttpSlot   *slot = (HttpSlot *) userdata;
	size_t		n = Min(size * nitems, slot->body_len - slot->body_pos);

	memcpy(buffer, slot->body + slot->body_pos, n);
	slot->body_pos += n;
	return n;
}

/*
 * When a reused keep-alive connection dies before any reply, libcurl sends
 * the request again on a fresh connection, rewinding the body through this
 * callback (see CURLOPT_SEEKFUNCTION).  The provider may well have acted on
 * the first copy, so a send_once request refuses that rewind: the transfer
 * fails with CURLE_SEND_FAIL_REWIND and its outcome is unknown, instead of
 * a silent duplicate that at_most_once promised never to make.
 */
static int
seek_cb(void *userdata, curl_off_t offset, int origin)
{
	HttpSlot   *slot = (HttpSlot *) userdata;

	if (origin == SEEK_SET && offset == 0 && slot->body_pos == 0)
		return CURL_SEEKFUNC_OK;
	return CURL_SEEKFUNC_FAIL;
}

static void
start_call(HttpSlot *slot, HttpCall *call, const HttpRunOptions *opts)
{
	CURL	   *h = slot->easy;
	SmsRequest *req = call->req;

	curl_easy_reset(h);
	slot->call = call;
	slot->errbuf[0] = '\0';
	call->handle = h;

	for (int i = 0; i < req->nheaders; i++)
		slot->headers = curl_slist_append(slot->headers, req->headers[i]);
	/* no "Expect: 100-continue" round trip for larger bodies */
	slot->headers = curl_slist_append(slot->headers, "Expect:");

	curl_easy_setopt(h, CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, slot->headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sms_ir/" EXTVERSION);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) opts->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long) opts->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (opts->ca_bundle != NULL && opts->ca_bundle[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, opts->ca_bundle);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, slot->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(h, CURLOPT_PRIVATE, slot);

	if (strcmp(req->method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else
	{
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body != NULL || strcmp(req->method, "POST") == 0)
		{
			const char *body = req->body ? req->body : "";

			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
			if (opts->send_once)
			{
				slot->body = body;
				slot->body_len = strlen(body);
				slot->body_pos = 0;
				curl_easy_setopt(h, CURLOPT_POST, 1L);
				curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
				curl_easy_setopt(h, CURLOPT_READDATA, slot);
				curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
				curl_easy_setopt(h, CURLOPT_SEEKDATA, slot);
			}
			else
				curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		}
	}

	curl_multi_add_handle(multi, h);
}

static void
finish_call(HttpSlot *slot, CURLcode rc)
{
	HttpCall   *call = slot->call;
	CURL	   *h = slot->easy;
	long		request_size = 0;

	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size);
	/* a refused rewind (seek_cb) means the body went out once already */
	call->request_sent = request_size > 0 || rc == CURLE_SEND_FAIL_REWIND;
	call->done = true;

	if (rc == CURLE_OK)
	{
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &call->status);
		return;
	}

	if (call->transport == SMS_OK)
	{
		curl_off_t	connect_time = 0;

		curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_time);
		switch (rc)
		{
			case CURLE_OPERATION_TIMEDOUT:

				/*
				 * A reused keep-alive connection has no connect time: a
				 * request that went out timed out waiting for the reply,
				 * whatever connect_time says.
				 */
				call->transport = (connect_time > 0 || call->request_sent) ?
					SMS_ERR_TIMEOUT : SMS_ERR_CONNECT;
				break;
			case CURLE_COULDNT_RESOLVE_HOST:
			case CURLE_COULDNT_RESOLVE_PROXY:
			case CURLE_COULDNT_CONNECT:
			case CURLE_SSL_CONNECT_ERROR:
			case CURLE_PEER_FAILED_VERIFICATION:
			case CURLE_SSL_CACERT_BADFILE:
			case CURLE_UNSUPPORTED_PROTOCOL:
			case CURLE_URL_MALFORMAT:
				call->transport = SMS_ERR_CONNECT;
				break;
			default:
				call->transport = SMS_ERR_NETWORK;
				break;
		}
		if (rc == CURLE_SEND_FAIL_REWIND)
			call->transport_message =
				pstrdup("connection closed after the request was sent, before any reply");
		else
			call->transport_message = pstrdup(slot->errbuf[0] ? slot->errbuf
											  : curl_easy_strerror(rc));
	}
	call->status = 0;
}

/* Take a rate-limit token; if none, set *wait_ms to when one will exist. */
static bool
take_token(double rate, long *wait_ms)
{
	TimestampTz now;

	*wait_ms = 0;
	if (rate <= 0)
		return true;
	now = GetCurrentTimestamp();
	if (bucket_at != 0)
	{
		bucket_tokens += (double) (now - bucket_at) / USECS_PER_SEC * rate;
		/* allow a burst of at most one second's worth */
		bucket_tokens = Min(bucket_tokens, Max(rate, 1.0));
	}
	bucket_at = now;
	if (bucket_tokens >= 1.0)
	{
		bucket_tokens -= 1.0;
		return true;
	}
	*wait_ms = (long) ((1.0 - bucket_tokens) / rate * 1000.0) + 1;
	return false;
}

/*
 * Collect what curl has finished.  A call of http_run is counted in
 * *finished; a pipeline call is kept in pipe_finished for http_pipe_collect.
 */
static void
read_finished(int *finished)
{
	CURLMsg    *msg;
	int			queued;

	while ((msg = curl_multi_info_read(multi, &queued)) != NULL)
	{
		HttpSlot   *slot = NULL;
		HttpCall   *call;
		bool		piped;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &slot);
		call = slot->call;
		piped = slot->piped;
		finish_call(slot, msg->data.result);
		release_slot(slot);
		if (piped)
			pipe_finished[npipe_finished++] = call;
		else
			(*finished)++;
	}
}

/* The body of http_run: start, drive and finish the calls. */
static bool
run_calls(HttpCall *calls, int n, const HttpRunOptions *opts)
{
	int			maxc = Max(1, opts->max_concurrency);
	int			next = 0;
	int			running = 0;
	int			finished = 0;
	long		wait_ms = 0;

	for (int i = 0; i < n; i++)
		init_call(&calls[i]);

	while (finished < n)
	{
		int			still_running;
		int			before = finished;

		/* start as many as concurrency and the rate limit allow */
		while (next < n && running < maxc && take_token(opts->rate_limit, &wait_ms))
		{
			start_call(free_slot(), &calls[next], opts);
			next++;
			running++;
		}

		curl_multi_perform(multi, &still_running);
		read_finished(&finished);
		running -= finished - before;
		if (finished >= n)
			break;

		if (opts->should_abort && opts->should_abort(opts->abort_arg))
		{
			release_slots(false);
			return false;
		}

		/* a slot freed up and a token is there: start at once */
		if (next < n && running < maxc && wait_ms == 0)
			continue;

		curl_multi_poll(multi, NULL, 0,
						wait_ms > 0 ? (int) Min(wait_ms, POLL_MS) : POLL_MS,
						NULL);
	}
	return true;
}

/*
 * Run the calls; false when should_abort stopped them.
 *
 * The multi handle and the slots are static and outlive the calls, which
 * live in the caller's memory context.  An ERROR escaping the loop (out of
 * memory in write_cb's appendBinaryStringInfo, or should_abort raising)
 * used to leave easy handles attached to the multi handle and slot->call
 * pointing at calls that the error's context reset then frees: a later run wrote through those pointers, and curl could
 * call write_cb with a freed HttpCall.  So every slot of this run is
 * released in PG_CATCH, while the calls are still valid (the context reset
 * comes later, in the outer handler), and the error goes on.  Pipeline
 * calls in flight meanwhile keep going (their owner releases them with
 * http_pipe_abandon); those that finish are kept for http_pipe_collect.
 */
bool
http_run(HttpCall *calls, int n, const HttpRunOptions *opts)
{
	volatile bool ok = false;

	http_init();
	PG_TRY();
	{
		ok = run_calls(calls, n, opts);
	}
	PG_CATCH();
	{
		release_slots(false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return ok;
}

void
http_pipe_start(HttpCall *call, const HttpRunOptions *opts)
{
	HttpSlot   *slot;

	http_init();
	init_call(call);
	slot = free_slot();
	start_call(slot, call, opts);
	slot->piped = true;
	npipe_running++;
}

int
http_pipe_running(void)
{
	return npipe_running;
}

int
http_pipe_collect(HttpCall **done, int max, long wait_ms)
{
	int			n = 0;

	if (multi == NULL)
		return 0;
	for (int pass = 0; pass < 2; pass++)
	{
		int			still_running;
		int			ignored = 0;

		curl_multi_perform(multi, &still_running);
		read_finished(&ignored);
		if (npipe_finished > 0 || pass == 1 || wait_ms <= 0 || npipe_running == 0)
			break;
		curl_multi_poll(multi, NULL, 0, (int) Min(wait_ms, (long) INT_MAX), NULL);
	}
	n = Min(npipe_finished, max);
	memcpy(done, pipe_finished, sizeof(HttpCall *) * n);
	memmove(pipe_finished, pipe_finished + n, sizeof(HttpCall *) * (npipe_finished - n));
	npipe_finished -= n;
	return n;
}

void
http_pipe_abandon(void)
{
	if (multi == NULL)
		return;
	release_slots(true);
	npipe_finished = 0;
}

bool
http_rate_take(double rate, long *wait_ms)
{
	return take_token(rate, wait_ms);
}

void
http_call_reply(const SmsProvider *provider, const SmsArgs *args,
				const HttpCall *call, SmsReply *reply)
{
	memset(reply, 0, sizeof(*reply));
	if (call->transport != SMS_OK)
		sms_set_error(reply, call->transport, (int) call->status, NULL,
					  call->transport_message, NULL);
	else
		provider->parse_reply(args, call->status, call->body.data,
							  (size_t) call->body.len, reply);
	reply->err.retry_after = call->retry_after;
}

static bool
backend_should_abort(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

void
http_default_options(HttpRunOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_concurrency = 1;
	opts->rate_limit = 0;
	opts->timeout_ms = sms_ir_timeout_ms;
	opts->connect_timeout_ms = sms_ir_connect_timeout_ms;
	opts->ca_bundle = sms_ir_ca_bundle;
	opts->should_abort = backend_should_abort;
}

void
http_run_in_backend(HttpCall *calls, int n, const HttpRunOptions *opts)
{
	if (!http_run(calls, n, opts))
	{
		CHECK_FOR_INTERRUPTS();
		/* the interrupt was held off: stop all the same */
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling provider request")));
	}
}

void
http_perform_one(HttpCall *call)
{
	HttpRunOptions opts;

	http_default_options(&opts);
	http_run_in_backend(call, 1, &opts);
}
