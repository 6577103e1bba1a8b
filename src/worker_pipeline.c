/*
 * worker_pipeline.c -- the outbox worker's pipeline: claim -> send -> judge
 * -> record, with no barrier between batches.
 *
 * Up to max_concurrency requests are in flight at any time.  Claimed rows
 * wait in a small local queue; when a request finishes, its row is judged
 * and its slot goes to the next waiting row at once, so a stalled request
 * holds one slot, never the outbox.  Outcomes are recorded in short
 * transactions that take whatever finished since the previous one (group
 * commit), and the same transaction claims more rows when the local queue
 * runs low.  A crash can re-send only the requests in flight and those
 * finished since the last record commit, never a whole claim.
 *
 * A claim marks its rows 'sending' and counts their attempt, and commits
 * before any of their requests start (durably under at_most_once).  Rows
 * claimed but never started (shutdown) are queued again with that attempt
 * given back.  Rows found 'sending' at start-up are the worker loop's
 * business (in-flight recovery).
 *
 * Each row lives in a memory context of its own, deleted once its outcome
 * is committed.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "account.h"
#include "breaker.h"
#include "calendar.h"
#include "guc.h"
#include "metrics.h"
#include "mobile.h"
#include "outbox_store.h"
#include "payload.h"
#include "suppression.h"
#include "template.h"
#include "throttle.h"
#include "token.h"
#include "worker.h"
#include "worker_internal.h"

/* The local queue holds at most this many claimed rows per request slot. */
#define QUEUE_ROWS_PER_SLOT 2
/* A claim from the first due row (not the cursor) at most this often. */
#define CLAIM_RESCAN_MS 1000
/* Connection settings (file secrets) are resolved again this often. */
#define SETTINGS_REFRESH_MS 1000
/* Every slot busy: wait at most this long for a request to finish. */
#define BUSY_WAIT_MS 50
/* Free slots and nothing to claim: look for new rows this often. */
#define FREE_SLOT_WAIT_MS 5
/* How often the pipeline asks whether someone waits to drop the database. */
#define DROP_CHECK_MS 50

/* One claimed outbox row and what happened to it. */
typedef struct OutboxRow
{
	dlist_node	node;			/* in waiting, in_flight or finished */
	MemoryContext cxt;			/* everything of this row */
	int64		id;
	int			attempts;
	int			priority;		/* its lane */
	bool		expires;		/* expires_at is set */
	TimestampTz expires_at;		/* no request starts after it */
	char	   *kind;
	Jsonb	   *payload;
	SmsLogicalTemplate *tmpl;	/* its logical template, or NULL */
	const SmsAccount *own;		/* the account it was queued with */
	const SmsAccount *account;	/* the account sending it now */
	uint32		tried;			/* accounts passed in its chain (SMS_ACCOUNT_BIT) */
	uint32		failed_on;		/* ... of which those that failed it */
	char	   *first_error;	/* the first account's error, after a failover */
	char	  **suppressed;		/* a marketing row's suppressed recipients, from its claim */
	int			nsuppressed;
	int			skipped;		/* ... of which in its request: not sent to */
	int			daily_taken;	/* messages taken of `account`'s daily limit */
	char	   *blacklisted;	/* the recipient the provider refused as blacklisted */
	bool		failover;		/* judged: send again at once through `account` */
	const SmsProvider *provider;	/* account's, as built */
	SmsArgs		args;
	SmsRequest	req;
	HttpCall	call;
	bool		built;			/* req is ready to start */
	bool		started;		/* its request was handed to libcurl */
	TimestampTz due;			/* its next_attempt_at when claimed */
	TimestampTz started_at;		/* when its current request started */
	bool		uses_token;		/* sent with a session token (settings decide) */
	uint64		token_generation;	/* ... that one (sms_token_generation) */
	/* outcome, once judged */
	OutboxStatus status;
	char	   *result;			/* jsonb text or NULL */
	char	   *last_error;
	TimestampTz next_at;		/* for OUTBOX_QUEUED */
} OutboxRow;

static MemoryContext pipeline_cxt = NULL;

static dlist_head waiting = DLIST_STATIC_INIT(waiting);
static dlist_head in_flight = DLIST_STATIC_INIT(in_flight);
static dlist_head finished = DLIST_STATIC_INIT(finished);
static int	nwaiting = 0;
static int	nin_flight = 0;
static int	nfinished = 0;

/* where the next claim starts in each lane, and when one last started from the first rows */
static OutboxCursor cursors[OUTBOX_LANES];
static TimestampTz last_rescan = 0;

/* no due row was left at the last claim: claim again after this (0: at once) */
static TimestampTz exhausted_until = 0;

/* a row could not be recorded at all: it is left to in-flight recovery */
static bool left_sending = false;

static WorkerConfigs *settings = NULL;
static TimestampTz settings_at = 0;

/* collected calls, room for every one in flight */
static HttpCall **collected = NULL;
static int	collected_size = 0;

void
worker_pipeline_init(void)
{
	pipeline_cxt = AllocSetContextCreate(TopMemoryContext, "sms_ir pipeline",
										 ALLOCSET_DEFAULT_SIZES);
}

bool
worker_pipeline_busy(void)
{
	return nwaiting + nin_flight + nfinished > 0;
}

static OutboxRow *
row_create(void)
{
	MemoryContext cxt = AllocSetContextCreate(pipeline_cxt, "sms_ir outbox row",
											  ALLOCSET_SMALL_SIZES);
	OutboxRow  *row = MemoryContextAllocZero(cxt, sizeof(OutboxRow));

	row->cxt = cxt;
	return row;
}

static void
row_free(OutboxRow *row)
{
	MemoryContextDelete(row->cxt);
}

static void
push_finished(OutboxRow *row)
{
	dlist_push_tail(&finished, &row->node);
	nfinished++;
}

/* Free every row of a list (their outcomes are given up). */
static void
drop_rows(dlist_head *list, int *count)
{
	dlist_mutable_iter it;

	dlist_foreach_modify(it, list)
	{
		OutboxRow  *row = dlist_container(OutboxRow, node, it.cur);

		dlist_delete(&row->node);
		row_free(row);
	}
	*count = 0;
}

/* worker_status().in_flight, written when it changes */
static void
publish_in_flight(void)
{
	static int	published = -1;

	if (nin_flight == published)
		return;
	published = nin_flight;
	SpinLockAcquire(&sms_worker_shared->mutex);
	sms_worker_shared->in_flight = nin_flight;
	SpinLockRelease(&sms_worker_shared->mutex);
}

/* The current settings, resolved again every SETTINGS_REFRESH_MS. */
static WorkerConfigs *
current_settings(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (settings != NULL && TimestampDifferenceExceeds(settings_at, now, SETTINGS_REFRESH_MS))
	{
		worker_configs_free(settings);
		settings = NULL;
	}
	if (settings == NULL)
	{
		settings = worker_configs_create(pipeline_cxt);
		settings_at = now;
	}
	return settings;
}

void
worker_pipeline_forget_settings(void)
{
	/* no row points into them: requests are built (copied) when they start */
	worker_configs_free(settings);
	settings = NULL;
}

/*
 * Retry-After speaks for the account, not only for the row it came with:
 * after a reply asking to wait, no request of that account starts before
 * the wait is over (its rows wait or fail over, as behind an open breaker).
 * The worker's own view: it is the one process sending outbox rows.
 */
static TimestampTz account_wait_until[SMS_MAX_ACCOUNTS + 1];

static void
account_wait(const SmsAccount *account, int retry_after_secs)
{
	TimestampTz until;

	if (account->index < 0 || account->index > SMS_MAX_ACCOUNTS || retry_after_secs <= 0)
		return;
	until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), (int64) retry_after_secs * 1000);
	account_wait_until[account->index] = Max(account_wait_until[account->index], until);
}

/* Does the account wait for a Retry-After now?  Until *until, then. */
static bool
account_waiting(const SmsAccount *account, TimestampTz *until)
{
	if (account->index < 0 || account->index > SMS_MAX_ACCOUNTS)
		return false;
	*until = account_wait_until[account->index];
	return *until > GetCurrentTimestamp();
}

/* ---- judging ---------------------------------------------------------- */

/* Full-jitter exponential back-off, at least Retry-After. */
static TimestampTz
retry_time(int attempts, int retry_after)
{
	double		cap = (double) sms_ir_retry_base_delay_ms * pow(2.0, Max(attempts - 1, 0));
	double		delay_ms;

	cap = Min(cap, (double) sms_ir_retry_max_delay_ms);
	delay_ms = pg_prng_double(&pg_global_prng_state) * cap;
	if (retry_after >= 0)
		delay_ms = Max(delay_ms, retry_after * 1000.0);
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(), (int64) delay_ms);
}

/* The first moment of the next day in Tehran, for a provider's daily limit. */
static TimestampTz
next_tehran_day(void)
{
	int64		local = (int64) time(NULL) + SMS_TEHRAN_UTC_OFFSET_SECS;
	int64		midnight = (local / SECS_PER_DAY + 1) * SECS_PER_DAY - SMS_TEHRAN_UTC_OFFSET_SECS;

	return time_t_to_timestamptz((pg_time_t) midnight);
}

/* outbox.result of a successful send */
static char *
result_json(const OutboxRow *row, const SmsReply *reply)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	/* who sent it, and every account tried before */
	appendStringInfoString(&buf, "\"account\":");
	escape_json(&buf, row->account->name);
	appendStringInfoChar(&buf, ',');
	if (row->failed_on != 0)
	{
		bool		first = true;

		appendStringInfoString(&buf, "\"failed_over_from\":[");
		for (int i = 0; i < sms_naccounts; i++)
			if (row->failed_on & SMS_ACCOUNT_BIT(sms_accounts[i]))
			{
				if (!first)
					appendStringInfoChar(&buf, ',');
				escape_json(&buf, sms_accounts[i]->name);
				first = false;
			}
		appendStringInfoString(&buf, "],");
	}
	if (reply->pack_id)
	{
		appendStringInfoString(&buf, "\"pack_id\":");
		escape_json(&buf, sms_text_valid_utf8(reply->pack_id));
		appendStringInfoChar(&buf, ',');
	}
	appendStringInfoString(&buf, "\"message_ids\":[");
	for (int i = 0; i < reply->nmessage_ids; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		escape_json(&buf, sms_text_valid_utf8(reply->message_ids[i]));
	}
	appendStringInfoChar(&buf, ']');
	if (reply->cost)
	{
		/* canonical numeric text (sms_amount_text): a valid JSON number */
		appendStringInfoString(&buf, ",\"cost\":");
		appendStringInfoString(&buf, reply->cost);
	}
	if (reply->status)
	{
		appendStringInfoString(&buf, ",\"status\":");
		escape_json(&buf, sms_text_valid_utf8(reply->status));
	}
	if (row->skipped > 0)
		appendStringInfo(&buf, ",\"suppressed\":%d", row->skipped);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* A row that ends without a request (or whose request is given up). */
static void
judge_without_request(OutboxRow *row, OutboxStatus status, char *last_error)
{
	row->status = status;
	row->last_error = last_error ? sms_text_clip(last_error, OUTBOX_ERROR_MAX_BYTES) : NULL;
	row->next_at = GetCurrentTimestamp();
}

/*
 * Can `account` send this row for its own account?  A numeric template id
 * (verify, or a template without a logical one) means something only to
 * the provider it was queued for: such rows fail over only to accounts of
 * the same provider.  Everything else is checked when the row is built.
 */
static bool
can_send_through(const OutboxRow *row, const SmsAccount *account)
{
	SmsOp		op = sms_kind_op(row->kind);

	if ((op == SMS_OP_VERIFY || (op == SMS_OP_TEMPLATE && row->tmpl == NULL)) &&
		sms_account_provider(account) != sms_account_provider(row->own))
		return false;
	return true;
}

/* The next account of the row's failover chain that can send it, or NULL. */
static const SmsAccount *
next_account(OutboxRow *row)
{
	const SmsAccount *a = row->account;

	row->tried |= SMS_ACCOUNT_BIT(row->account);
	for (int i = 0; i < sms_naccounts; i++)
	{
		a = sms_account_next(a, row->tried);
		if (a == NULL || can_send_through(row, a))
			return a;
		row->tried |= SMS_ACCOUNT_BIT(a);
	}
	return NULL;
}

/*
 * Send the row again at once through the next account of its chain, if
 * there is one: remembers the first account's error (last_error keeps it).
 */
static bool
fail_over(OutboxRow *row, const char *error)
{
	const SmsAccount *from = row->account;
	const SmsAccount *next = next_account(row);

	if (next == NULL)
	{
		row->tried &= ~SMS_ACCOUNT_BIT(from);
		return false;
	}
	if (row->first_error == NULL)
		row->first_error = sms_text_clip(psprintf("account %s: %s", from->name, error),
										 OUTBOX_ERROR_MAX_BYTES);
	ereport(DEBUG1,
			(errmsg("sms_ir outbox row " INT64_FORMAT " fails over from account %s to %s: %s",
					row->id, from->name, next->name, error)));
	row->failed_on |= SMS_ACCOUNT_BIT(from);
	row->account = next;
	row->built = false;
	row->failover = true;
	memset(&row->req, 0, sizeof(row->req));
	memset(&row->call, 0, sizeof(row->call));
	return true;
}

/* Has the row's validity run out (no request may start now)? */
static bool
row_expired(const OutboxRow *row, TimestampTz at)
{
	return row->expires && at >= row->expires_at;
}

static char *
expired_text(const OutboxRow *row, const char *why)
{
	return psprintf("expired at %s before it could be sent%s%s",
					timestamptz_to_str(row->expires_at), why ? ": " : "", why ? why : "");
}

/* The row's request sent nothing: its account's daily allowance comes back. */
static void
give_back_daily(OutboxRow *row)
{
	if (row->daily_taken > 0)
		sms_daily_give_back(row->account, row->daily_taken);
	row->daily_taken = 0;
}

/* Decide what a finished (or abandoned) request means for its row. */
static void
judge(OutboxRow *row, const SmsError *token_error)
{
	SmsReply	reply;
	SmsErrorClass cls;
	bool		outcome_unknown;
	bool		account_level;
	char	   *error;
	MemoryContext old = MemoryContextSwitchTo(row->cxt);

	row->failover = false;
	if (token_error == NULL && !row->call.done)
	{
		if (!row->call.request_sent)
			give_back_daily(row);
		/* stopped by shutdown: unsent rows go back, sent ones stay in flight */
		row->status = row->call.request_sent ? OUTBOX_SENDING : OUTBOX_QUEUED;
		row->next_at = GetCurrentTimestamp();
		MemoryContextSwitchTo(old);
		return;
	}

	if (token_error != NULL)
	{
		memset(&reply, 0, sizeof(reply));
		reply.err = *token_error;
	}
	else
		http_call_reply(row->provider, &row->args, &row->call, &reply);
	cls = reply.err.cls;

	if (cls == SMS_OK)
	{
		sms_breaker_report(row->account, false, NULL);
		sms_account_count(row->account, 1, 0);
		row->status = OUTBOX_SENT;
		row->result = result_json(row, &reply);
		row->last_error = row->first_error;
		MemoryContextSwitchTo(old);
		return;
	}

	error = sms_error_text(&reply.err);
	row->last_error = sms_text_clip(error, OUTBOX_ERROR_MAX_BYTES);

	/*
	 * The provider refused its session token (expired or revoked): forget it
	 * and send again at once; the next start fetches a new token.  A token
	 * that cannot be fetched (token_error) is a real auth failure.
	 */
	if (cls == SMS_ERR_AUTH && row->uses_token && token_error == NULL &&
		row->attempts < sms_ir_max_attempts)
	{
		give_back_daily(row);
		sms_token_forget_generation(row->token_generation);
		row->status = OUTBOX_QUEUED;
		row->next_at = GetCurrentTimestamp();
		MemoryContextSwitchTo(old);
		return;
	}

	/*
	 * Did the provider perhaps act on it?  A timeout or broken connection
	 * after the request went out, or a success status with a body we cannot
	 * read, leaves the outcome unknown.
	 */
	outcome_unknown = token_error == NULL &&
		sms_outcome_unknown(&reply.err, row->call.request_sent, row->call.status);
	account_level = sms_error_is_account_level(cls);
	if (!outcome_unknown)
		give_back_daily(row);
	/* one recipient refused as blacklisted: marketing sends skip it from now on */
	if (reply.err.blacklisted && row->args.nmobiles == 1)
		row->blacklisted = pstrdup(row->args.mobiles[0]);
	sms_breaker_report(row->account, account_level, error);
	if (token_error == NULL && sms_error_is_transient(cls))
		account_wait(row->account, reply.err.retry_after);

	if (outcome_unknown && sms_ir_delivery_guarantee == SMS_AT_MOST_ONCE)
		row->status = OUTBOX_UNKNOWN;
	else if (account_level && fail_over(row, error))
	{
		/* at once, through the next account (an at_least_once duplicate is possible) */
		row->status = OUTBOX_QUEUED;
		MemoryContextSwitchTo(old);
		return;
	}
	else if ((sms_error_is_transient(cls) || outcome_unknown) &&
			 row->attempts < sms_ir_max_attempts)
	{
		row->status = OUTBOX_QUEUED;
		row->next_at = retry_time(row->attempts, reply.err.retry_after);
		if (reply.err.retry_next_day)
			row->next_at = Max(row->next_at, next_tehran_day());
		if (row_expired(row, row->next_at))
		{
			/* its next attempt would come too late: it ends now */
			row->status = OUTBOX_EXPIRED;
			row->last_error = sms_text_clip(expired_text(row, error), OUTBOX_ERROR_MAX_BYTES);
		}
	}
	else
		row->status = OUTBOX_FAILED;

	if (row->first_error != NULL && row->status != OUTBOX_QUEUED)
		row->last_error = sms_text_clip(psprintf("%s; then account %s: %s", row->first_error,
												 row->account->name, row->last_error),
										OUTBOX_ERROR_MAX_BYTES);
	if (row->status == OUTBOX_FAILED || row->status == OUTBOX_UNKNOWN ||
		row->status == OUTBOX_EXPIRED)
		sms_account_count(row->account, 0, 1);
	if (row->status != OUTBOX_QUEUED)
		ereport(LOG,
				(errmsg("sms_ir outbox row " INT64_FORMAT " to %s is %s after %d attempt(s): %s",
						row->id, sms_mobile_mask(row->args.mobiles[0]),
						outbox_status_name(row->status), row->attempts, row->last_error)));
	MemoryContextSwitchTo(old);
}

/* ---- claiming --------------------------------------------------------- */

/*
 * How many claimed rows the pipeline holds at most, in flight and waiting.
 * Under at_least_once the local queue holds another max_concurrency rows,
 * so a finished request's slot is refilled without a transaction.  Under
 * at_most_once it holds none: every row found 'sending' after a crash ends
 * 'unknown', so only rows whose request starts at once are claimed.
 */
static int
claim_capacity(void)
{
	int			slots = Max(sms_ir_max_concurrency, 1);
	int			capacity = slots;

	if (sms_ir_delivery_guarantee == SMS_AT_LEAST_ONCE)
		capacity += slots * (QUEUE_ROWS_PER_SLOT - 1);
	/* under a rate limit, no more than a second's worth waits 'sending' */
	if (sms_ir_rate_limit > 0)
		capacity = Min(capacity, Max(1, (int) ceil(sms_ir_rate_limit)));
	return capacity;
}

/* How many rows to claim now (0: the pipeline holds enough). */
static int
claim_wanted(void)
{
	int			capacity = claim_capacity();
	int			held = nwaiting + nin_flight;
	/* top up when the local queue is half empty (at once without one) */
	int			low_water = capacity - Max(1, (capacity - Max(sms_ir_max_concurrency, 1)) / 2);

	if (held > low_water)
		return 0;
	return Min(capacity - held, sms_ir_batch_size);
}

/* Put a claimed row into the local queue behind every row of its lane or a higher one. */
static void
queue_waiting(OutboxRow *row)
{
	dlist_iter	it;

	nwaiting++;
	dlist_reverse_foreach(it, &waiting)
	{
		OutboxRow  *w = dlist_container(OutboxRow, node, it.cur);

		if (w->priority >= row->priority)
		{
			dlist_insert_after(&w->node, &row->node);
			return;
		}
	}
	dlist_push_head(&waiting, &row->node);
}

/* A claimed tuple becomes a waiting row (or a finished one if it cannot be sent). */
static void
take_claimed_row(HeapTuple tup, TupleDesc desc)
{
	OutboxRow  *row = row_create();
	MemoryContext old = MemoryContextSwitchTo(row->cxt);
	bool		isnull;
	char	   *account;
	TimestampTz due;
	Datum		d;
	OutboxCursor *cursor;

	row->id = DatumGetInt64(SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_ID, &isnull));
	row->attempts = DatumGetInt32(SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_ATTEMPTS, &isnull));
	due = DatumGetTimestampTz(SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_DUE, &isnull));
	row->priority = DatumGetInt16(SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_PRIORITY, &isnull));
	row->priority = Max(0, Min(row->priority, OUTBOX_LANE_MAX));
	row->due = due;
	cursor = &cursors[row->priority];
	if (!cursor->valid || due > cursor->next_attempt_at ||
		(due == cursor->next_attempt_at && row->id > cursor->id))
	{
		cursor->valid = true;
		cursor->next_attempt_at = due;
		cursor->id = row->id;
	}
	d = SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_EXPIRES_AT, &isnull);
	row->expires = !isnull;
	row->expires_at = isnull ? 0 : DatumGetTimestampTz(d);
	row->kind = TextDatumGetCString(SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_KIND, &isnull));
	row->payload = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_PAYLOAD, &isnull));
	d = SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_LOGICAL, &isnull);
	if (!isnull)
	{
		JsonbValue	v;

		row->tmpl = palloc0(sizeof(SmsLogicalTemplate));
		if (getKeyJsonValueFromContainer(&row->payload->root, "template_id",
										 strlen("template_id"), &v) && v.type == jbvString)
			sms_template_from_jsonb(pnstrdup(v.val.string.val, v.val.string.len),
									DatumGetJsonbPCopy(d), row->tmpl);
		else
			row->tmpl = NULL;
	}
	account = TextDatumGetCString(SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_ACCOUNT, &isnull));
	row->own = row->account = sms_account_by_name(account);
	d = SPI_getbinval(tup, desc, OUTBOX_CLAIM_COL_SUPPRESSED, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *elem_nulls;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elem_nulls, &row->nsuppressed);
		row->suppressed = palloc(sizeof(char *) * Max(row->nsuppressed, 1));
		for (int i = 0; i < row->nsuppressed; i++)
			row->suppressed[i] = elem_nulls[i] ? "" : TextDatumGetCString(elems[i]);
	}

	if (row->attempts > sms_ir_max_attempts)
	{
		/* max_attempts was lowered, or requeue() raced a crash: no more requests */
		judge_without_request(row, OUTBOX_FAILED,
							  psprintf("no attempt left: %d of sms_ir.max_attempts = %d used",
									   row->attempts - 1, sms_ir_max_attempts));
		MemoryContextSwitchTo(old);
		push_finished(row);
		return;
	}
	if (row->own == NULL)
	{
		judge_without_request(row, OUTBOX_FAILED,
							  psprintf("account \"%s\" is not declared in sms_ir.accounts", account));
		MemoryContextSwitchTo(old);
		push_finished(row);
		return;
	}
	MemoryContextSwitchTo(old);
	queue_waiting(row);
}

/*
 * Claim up to `want` rows of lanes lowest_lane and up into the local queue;
 * in the store transaction.  From the lanes' cursors first; from their
 * first due rows when that comes up short and a rescan is allowed.
 * Returns how many were claimed.
 */
static int
claim_rows(int want, bool rescan_allowed, int lowest_lane)
{
	int			got = 0;
	bool		from_cursors = false;

	for (int lane = lowest_lane; lane <= OUTBOX_LANE_MAX; lane++)
		from_cursors |= cursors[lane].valid;
	for (int pass = 0; pass < 2 && got < want; pass++)
	{
		int			n;

		if (pass == 1)
		{
			if (!rescan_allowed || !from_cursors)
				break;
			for (int lane = lowest_lane; lane <= OUTBOX_LANE_MAX; lane++)
				cursors[lane].valid = false;
			last_rescan = GetCurrentTimestamp();
		}
		else if (!from_cursors)
			last_rescan = GetCurrentTimestamp();
		n = outbox_store_claim(want - got, cursors, lowest_lane);
		for (int i = 0; i < n; i++)
			take_claimed_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
		got += n;
	}
	return got;
}

/* ---- recording -------------------------------------------------------- */

static OutboxOutcome
outcome_of(const OutboxRow *row)
{
	OutboxOutcome o;

	o.id = row->id;
	o.status = row->status;
	o.result = row->result;
	o.last_error = row->last_error;
	o.next_at = row->next_at;
	/* claimed and never tried at all (shutdown): not an attempt */
	o.unstarted = !row->started && !row->call.done && row->status == OUTBOX_QUEUED;
	o.blacklisted = row->blacklisted;
	return o;
}

/*
 * Record rows[0..n-1] in a subtransaction; false (and the error's message in
 * *why) if it raised.  The current transaction goes on.
 */
static bool
record_try(OutboxRow **rows, int n, char **why)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	OutboxOutcome *outcomes = palloc(sizeof(OutboxOutcome) * n);
	volatile bool ok = true;
	int			holdoff = InterruptHoldoffCount;

	for (int i = 0; i < n; i++)
		outcomes[i] = outcome_of(rows[i]);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		outbox_store_record(outcomes, n);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* errfinish() zeroed it: the caller's HOLD_INTERRUPTS must still hold */
		InterruptHoldoffCount = holdoff;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		*why = pstrdup(edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * The last resort for a row whose request went out and whose outcome and
 * 'failed' were both refused (a user's trigger on the outbox that raises on
 * final states, say): 'unknown'.  Left 'sending', in-flight recovery would
 * queue it again under at_least_once and send it once more per attempt,
 * though its request is known to have finished.
 */
static bool
record_unknown_if_requested(OutboxRow *row, char **why)
{
	if (!row->call.request_sent || row->status == OUTBOX_UNKNOWN)
		return false;
	row->status = OUTBOX_UNKNOWN;
	if (!record_try(&row, 1, why))
		return false;
	ereport(LOG,
			(errmsg("sms_ir outbox row " INT64_FORMAT " is unknown: its request went out and neither its outcome nor failed could be recorded",
					row->id)));
	return true;
}

/*
 * Record rows[0..n-1]: one statement for all; if it fails, each row alone,
 * and a row whose outcome still cannot be stored (a reply the table
 * refuses, say) is recorded as 'failed' -- 'unknown' under at_most_once
 * when its request went out -- with the reason in last_error, and 'unknown'
 * if 'failed' is refused too.  It is never re-sent with the others.
 * Returns false if some row could not be recorded at all (it stays
 * 'sending' and in-flight recovery settles it).
 */
static bool
record_rows(OutboxRow **rows, int n)
{
	char	   *why = NULL;
	bool		complete = true;
	MemoryContext old;

	if (record_try(rows, n, &why))
		return true;
	ereport(LOG,
			(errmsg("sms_ir worker could not record %d outbox rows at once; recording them one by one",
					n),
			 errdetail("%s", why)));
	for (int i = 0; i < n; i++)
	{
		OutboxRow  *row = rows[i];

		if (record_try(&row, 1, &why))
			continue;
		row->status = (sms_ir_delivery_guarantee == SMS_AT_MOST_ONCE &&
					   row->call.request_sent) ? OUTBOX_UNKNOWN : OUTBOX_FAILED;
		row->result = NULL;
		/* in the row's context: the caller's is SPI's, gone at the commit */
		old = MemoryContextSwitchTo(row->cxt);
		row->last_error = sms_text_clip(psprintf("the outcome could not be recorded: %s", why),
										OUTBOX_ERROR_MAX_BYTES);
		MemoryContextSwitchTo(old);
		ereport(LOG,
				(errmsg("sms_ir outbox row " INT64_FORMAT " is %s: its outcome could not be recorded",
						row->id, outbox_status_name(row->status)),
				 errdetail("%s", why)));
		if (!record_try(&row, 1, &why) &&
			!record_unknown_if_requested(row, &why))
		{
			ereport(WARNING,
					(errmsg("sms_ir worker could not record outbox row " INT64_FORMAT, row->id),
					 errdetail("%s", why)));
			row->status = OUTBOX_SENDING;
			complete = false;
		}
	}
	return complete;
}

/* sms_ir.metrics: what the row was recorded as, if it counts there */
static void
count_metric(const OutboxRow *row)
{
	SmsMetricOutcome outcome;

	switch (row->status)
	{
		case OUTBOX_SENT:
			outcome = METRIC_SENT;
			break;
		case OUTBOX_FAILED:
			outcome = METRIC_FAILED;
			break;
		case OUTBOX_UNKNOWN:
			outcome = METRIC_UNKNOWN;
			break;
		case OUTBOX_EXPIRED:
			outcome = METRIC_EXPIRED;
			break;
		case OUTBOX_SUPPRESSED:
			outcome = METRIC_SUPPRESSED;
			break;
		case OUTBOX_QUEUED:
			if (!row->call.done)
				return;			/* held, or never started: not a retry */
			outcome = METRIC_RETRIED;
			break;
		default:
			return;				/* left 'sending' */
	}
	sms_metrics_count(outcome, row->account, row->kind);
}

/* Count what was recorded, publish the last error, free the rows. */
static void
account_recorded(OutboxRow **rows, int n)
{
	int64		sent = 0,
				failed = 0,
				retried = 0;

	for (int i = 0; i < n; i++)
	{
		OutboxRow  *row = rows[i];

		if (row->status == OUTBOX_SENT)
			sent++;
		else if (row->status == OUTBOX_FAILED || row->status == OUTBOX_UNKNOWN)
			failed++;
		else if (row->status == OUTBOX_QUEUED && row->call.done)
			retried++;
		if (row->status == OUTBOX_QUEUED && row->call.done &&
			exhausted_until != 0 && row->next_at < exhausted_until)
			exhausted_until = row->next_at; /* a retry due soon: claim then */
		count_metric(row);
		if (row->last_error)
			worker_note_error(row->last_error);
		dlist_delete(&row->node);
		nfinished--;
		row_free(row);
	}
	SpinLockAcquire(&sms_worker_shared->mutex);
	sms_worker_shared->sent += sent;
	sms_worker_shared->failed += failed;
	sms_worker_shared->retried += retried;
	SpinLockRelease(&sms_worker_shared->mutex);
}

/*
 * One store transaction: record every finished row, then claim up to
 * `want` rows.  Interrupts are held: a shutdown waits for the commit.
 * Finished rows stay in their list until the commit is done, so an ERROR
 * (the database refusing writes, say) leaves them to record again.
 * Returns false if the outbox is gone (every row is dropped then);
 * *complete is false when a row could not be recorded at all.
 */
static bool
store_cycle(int want, bool rescan_allowed, int lowest_lane, bool *complete)
{
	OutboxRow **rows = NULL;
	int			n = 0;
	dlist_iter	it;

	*complete = true;
	if (nfinished > 0)
	{
		rows = MemoryContextAlloc(pipeline_cxt, sizeof(OutboxRow *) * nfinished);
		dlist_foreach(it, &finished)
			rows[n++] = dlist_container(OutboxRow, node, it.cur);
	}

	HOLD_INTERRUPTS();
	outbox_store_begin(n > 0 ? "sms_ir: recording results" : "sms_ir: claiming due rows");
	if (!outbox_store_present())
	{
		outbox_store_commit();
		RESUME_INTERRUPTS();
		if (rows)
			pfree(rows);
		worker_pipeline_reset_after_error();
		drop_rows(&finished, &nfinished);
		return false;
	}
	if (n > 0)
		*complete = record_rows(rows, n);
	if (!*complete)
		left_sending = true;
	if (want > 0)
	{
		int			got = claim_rows(want, rescan_allowed, lowest_lane);

		if (lowest_lane == 0)
			exhausted_until = 0;
		if (got < want && lowest_lane == 0)
			exhausted_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														  Min(sms_ir_poll_interval_ms,
															  CLAIM_RESCAN_MS));

		/*
		 * Under at_least_once a claim need not be durable before its
		 * requests go out: a claim lost in a crash only means its rows are
		 * sent again, which that guarantee allows.  A claim that records
		 * nothing commits without waiting for the WAL flush (one fsync off
		 * the commit-to-request path); the next record commit flushes it.
		 * at_most_once keeps every claim durable.  Record commits always
		 * wait: they bound what a crash re-sends.
		 */
		if (n == 0 && got > 0 && sms_ir_delivery_guarantee == SMS_AT_LEAST_ONCE)
			(void) set_config_option("synchronous_commit", "off", PGC_USERSET,
									 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
	}
	outbox_store_commit();
	RESUME_INTERRUPTS();

	if (n > 0)
	{
		account_recorded(rows, n);
		pfree(rows);
	}
	return true;
}

/* ---- sending ---------------------------------------------------------- */

/*
 * Which account sends the row now: its current one, unless that account's
 * circuit breaker is open or it waits for a Retry-After -- then the next of
 * its chain that can send it.  False when none may now: the row waits
 * (queued again, its attempt given back, at *retry_at).
 */
static bool
pick_account(OutboxRow *row, TimestampTz *retry_at)
{
	for (int i = 0; i <= sms_naccounts; i++)
	{
		TimestampTz until;
		const SmsAccount *next;

		/* a waiting account is not asked for its breaker (that could take the probe) */
		if (!account_waiting(row->account, &until) &&
			sms_breaker_check(row->account, &until) != BREAKER_BLOCKED)
			return true;
		*retry_at = i == 0 ? until : Min(*retry_at, until);
		next = next_account(row);
		if (next == NULL)
			break;
		row->account = next;
	}
	return false;
}

/*
 * The row's request arguments for its current account.  False (the row
 * judged, or set to fail over) when that account cannot send it.
 */
static bool
route_row(OutboxRow *row)
{
	MemoryContext old = MemoryContextSwitchTo(row->cxt);
	volatile bool routed = false;

	/* payloads were validated at insert; settings may have changed since */
	row->provider = sms_account_provider(row->account);
	/* defaults (a sender line) come from the row's account, not the worker's session */
	(void) sms_account_use(row->account);
	PG_TRY();
	{
		sms_payload_route(row->account, row->account == row->own, row->kind, row->payload,
						  row->tmpl, &row->args);
		routed = true;
		(void) sms_account_use(NULL);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		(void) sms_account_use(NULL);
		MemoryContextSwitchTo(row->cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (row->account == row->own || !fail_over(row, edata->message))
			judge_without_request(row, OUTBOX_FAILED,
								  psprintf("invalid payload for account %s: %s",
										   row->account->name, edata->message));
		else
			row->status = OUTBOX_QUEUED;	/* this account cannot send it: the next */
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return routed;
}

/*
 * The row waits, queued again without using an attempt, until `until` --
 * or ends expired now if that is past its validity.
 */
static void
hold_row(OutboxRow *row, TimestampTz until, char *why)
{
	judge_without_request(row, OUTBOX_QUEUED, why);
	row->next_at = Max(until, GetCurrentTimestamp());
	if (row_expired(row, row->next_at))
	{
		row->status = OUTBOX_EXPIRED;
		row->last_error = sms_text_clip(expired_text(row, row->last_error),
										OUTBOX_ERROR_MAX_BYTES);
		sms_account_count(row->account, 0, 1);
	}
}

/*
 * A marketing row's request goes to its recipients that are not
 * suppressed; false (the row ends 'suppressed', no request) when none is
 * left.
 */
static bool
skip_suppressed(OutboxRow *row)
{
	MemoryContext old;

	if (row->nsuppressed == 0 || !sms_suppression_applies(sms_kind_op(row->kind)))
		return true;
	old = MemoryContextSwitchTo(row->cxt);
	row->skipped = sms_suppression_apply(&row->args, row->suppressed, row->nsuppressed);
	if (row->args.nmobiles == 0)
		judge_without_request(row, OUTBOX_SUPPRESSED,
							  psprintf("every recipient (%d) is suppressed: nothing was sent",
									   row->skipped));
	MemoryContextSwitchTo(old);
	return row->args.nmobiles > 0;
}

/*
 * The row's messages from its account's daily allowance; false (the row
 * held to the next day) when it has not that many left.
 */
static bool
take_daily(OutboxRow *row)
{
	int64		sent;
	int			limit;

	if (sms_daily_take(row->account, row->args.nmobiles))
	{
		row->daily_taken = row->args.nmobiles;
		return true;
	}
	sms_daily_status(row->account, &sent, &limit);
	hold_row(row, sms_calendar_next_day(GetCurrentTimestamp(), sms_ir_timezone),
			 psprintf(HELD_DAILY_LIMIT " of account %s: " INT64_FORMAT " of %d messages sent today",
					  row->account->name, sent, limit));
	return false;
}

/*
 * Make a waiting row ready to start: its account (breaker, failover), its
 * request for that account's provider (a logical template routed), the
 * account's settings and session token.  False if the row ended without a
 * request, or fails over again (it is judged then).
 */
static bool
build_row(OutboxRow *row, const HttpRunOptions *opts)
{
	AccountSettings *ps;
	SmsConfig	cfg;
	MemoryContext old;
	TimestampTz retry_at = 0;

	if (row->built)
		return true;
	if (row_expired(row, GetCurrentTimestamp()))
	{
		judge_without_request(row, OUTBOX_EXPIRED,
							  expired_text(row, row->first_error));
		sms_account_count(row->account, 0, 1);
		return false;
	}
	if (sms_suppression_applies(sms_kind_op(row->kind)) &&
		sms_quiet_now(GetCurrentTimestamp(), &retry_at))
	{
		hold_row(row, retry_at, psprintf(HELD_QUIET_HOURS " until %s", timestamptz_to_str(retry_at)));
		return false;
	}
	if (!pick_account(row, &retry_at))
	{
		/* every account that could send it is held by its breaker or a Retry-After */
		hold_row(row, retry_at,
				 psprintf("account %s is not used for now: its circuit breaker is open"
						  " or its provider asked to wait (Retry-After)",
						  row->account->name));
		return false;
	}

	if (!route_row(row))
		return false;
	if (!skip_suppressed(row))
		return false;

	ps = worker_configs_get(current_settings(), row->account);
	if (!ps->usable)
	{
		/* a secret that cannot be used: nothing is sent, as with a bad key */
		char	   *why = psprintf("%s: %s", ps->problem.message,
								   ps->problem.detail ? ps->problem.detail : "");

		if (!fail_over(row, why))
			judge_without_request(row, OUTBOX_FAILED, why);
		return false;
	}
	/* from here on a request starts, or judge() gives the allowance back */
	if (!take_daily(row))
		return false;
	cfg = ps->cfg;
	old = MemoryContextSwitchTo(row->cxt);
	row->uses_token = sms_provider_uses_token(row->provider, &cfg);
	if (row->uses_token &&
		(ps->token_failed || !sms_token_apply(row->provider, &cfg, opts, &ps->token_error)))
	{
		/* fetched at most once per set of settings */
		ps->token_failed = true;
		row->call.done = true;
		judge(row, &ps->token_error);
		MemoryContextSwitchTo(old);
		return false;
	}
	row->token_generation = row->uses_token ? sms_token_generation() : 0;
	sms_provider_build(row->provider, &row->args, &cfg, &row->req);
	row->call.req = &row->req;
	row->call.user = row;
	row->built = true;
	MemoryContextSwitchTo(old);
	return true;
}

/* A row judged or built to fail over goes back to the head of the local queue. */
static void
push_judged(OutboxRow *row)
{
	if (row->failover)
	{
		row->failover = false;
		dlist_push_head(&waiting, &row->node);
		nwaiting++;
	}
	else
		push_finished(row);
}

/*
 * Start waiting rows while slots are free and rate_limit allows; *rate_wait_ms
 * is how long until the rate limit allows the next one (0 if it was not the
 * limit).  Each row is built at most once per account of its chain.
 */
static void
start_waiting(const HttpRunOptions *opts, long *rate_wait_ms)
{
	*rate_wait_ms = 0;
	while (nin_flight < Max(sms_ir_max_concurrency, 1) && nwaiting > 0)
	{
		OutboxRow  *row = dlist_container(OutboxRow, node, dlist_pop_head_node(&waiting));
		MemoryContext old;

		nwaiting--;
		if (!build_row(row, opts))
		{
			push_judged(row);
			continue;
		}
		if (!http_rate_take(opts->rate_limit, rate_wait_ms))
		{
			dlist_push_head(&waiting, &row->node);
			nwaiting++;
			break;
		}
		old = MemoryContextSwitchTo(row->cxt);
		http_pipe_start(&row->call, opts);
		MemoryContextSwitchTo(old);
		row->started_at = GetCurrentTimestamp();
		if (!row->started && row->attempts == 1)
			sms_metrics_commit_to_send(row->priority, row->due, row->started_at);
		row->started = true;
		dlist_push_tail(&in_flight, &row->node);
		nin_flight++;
	}
}

/* Judge the calls that finished (waiting up to wait_ms for one). */
static void
collect_finished(long wait_ms)
{
	int			n;

	if (nin_flight == 0)
		return;
	if (collected_size < nin_flight)
	{
		collected = collected ? repalloc(collected, sizeof(HttpCall *) * nin_flight) :
			MemoryContextAlloc(pipeline_cxt, sizeof(HttpCall *) * nin_flight);
		collected_size = nin_flight;
	}
	n = http_pipe_collect(collected, nin_flight, wait_ms);
	for (int i = 0; i < n; i++)
	{
		OutboxRow  *row = (OutboxRow *) collected[i]->user;

		dlist_delete(&row->node);
		nin_flight--;
		sms_metrics_request(row->account, row->started_at, GetCurrentTimestamp());
		judge(row, NULL);
		push_judged(row);
	}
}

/*
 * Stop: requests in flight are abandoned (unsent ones go back to the queue,
 * sent ones stay 'sending' for in-flight recovery), rows never started are
 * queued again with their attempt given back, and all of it is recorded.
 */
static void
stop_pipeline(void)
{
	dlist_mutable_iter it;
	bool		complete;

	collect_finished(0);
	http_pipe_abandon();
	dlist_foreach_modify(it, &in_flight)
	{
		OutboxRow  *row = dlist_container(OutboxRow, node, it.cur);

		dlist_delete(&row->node);
		nin_flight--;
		judge(row, NULL);
		push_finished(row);
	}
	dlist_foreach_modify(it, &waiting)
	{
		OutboxRow  *row = dlist_container(OutboxRow, node, it.cur);

		dlist_delete(&row->node);
		nwaiting--;
		judge_without_request(row, OUTBOX_QUEUED, NULL);
		push_finished(row);
	}
	publish_in_flight();
	if (nfinished > 0)
		(void) store_cycle(0, false, 0, &complete);
}

/* The lowest lane of a row in the local queue (OUTBOX_LANE_MAX if none). */
static int
lowest_waiting_lane(void)
{
	int			lowest = OUTBOX_LANE_MAX;
	dlist_iter	it;

	if (nwaiting == 0)
		return OUTBOX_LANE_MAX;
	dlist_foreach(it, &waiting)
		lowest = Min(lowest, dlist_container(OutboxRow, node, it.cur)->priority);
	return lowest;
}

/* Shutdown, postmaster death, or a DROP DATABASE waiting for us? */
static bool
should_stop(TimestampTz now, TimestampTz *drop_checked_at)
{
	if (ProcDiePending || !PostmasterIsAlive())
		return true;
	if (TimestampDifferenceExceeds(*drop_checked_at, now, DROP_CHECK_MS))
	{
		*drop_checked_at = now;
		return worker_should_abort(NULL);
	}
	return false;
}

static long
ms_until(TimestampTz now, TimestampTz then)
{
	if (then <= now)
		return 0;
	return (long) Min((then - now + 999) / 1000, (int64) BUSY_WAIT_MS);
}

PipelineResult
worker_pipeline_run(TimestampTz yield_at)
{
	HttpRunOptions opts;
	TimestampTz drop_checked_at = 0;
	bool		first_claim = true;

	worker_http_options(&opts);
	/* the loop calls us when rows may be due */
	exhausted_until = 0;
	/* a drain from idle resolves the settings afresh (a secret file changed, say) */
	if (!worker_pipeline_busy())
		worker_pipeline_forget_settings();
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		bool		complete;
		bool		claimable;
		long		rate_wait_ms;
		long		wait_ms;
		int			want;
		int			lowest_lane = 0;
		bool		woken = false;

		if (should_stop(now, &drop_checked_at))
		{
			stop_pipeline();
			return PIPELINE_STOPPED;
		}

		/* a commit that queued, requeue(), SIGHUP: look for rows at once */
		if (MyLatch->is_set)
		{
			ResetLatch(MyLatch);
			exhausted_until = 0;
			woken = true;
		}

		/*
		 * Finished calls are judged first; their slots are handed out only
		 * after the store cycle, so that rows it claims ahead of the local
		 * queue (a higher lane) get the first free slot.  Nothing is lost
		 * by waiting: a started request goes out on libcurl's next turn,
		 * which comes after the store cycle anyway.
		 */
		collect_finished(0);

		want = claim_wanted();
		claimable = sms_ir_worker_enabled && want > 0 &&
			(exhausted_until == 0 || now >= exhausted_until) &&
			!ConfigReloadPending && now < yield_at;
		if (!claimable && want == 0 && woken && sms_ir_worker_enabled && !ConfigReloadPending)
		{
			/*
			 * The local queue is full, and a commit queued something: rows
			 * of a higher lane than every waiting one (an OTP behind a bulk
			 * backlog) are claimed now, ahead of the queue, instead of
			 * waiting for it to run low.  At most max_concurrency more.
			 */
			lowest_lane = lowest_waiting_lane() + 1;
			if (lowest_lane <= OUTBOX_LANE_MAX)
			{
				want = Max(sms_ir_max_concurrency, 1);
				claimable = true;
			}
		}
		if (nfinished > 0 || claimable)
		{
			bool		rescan = first_claim ||
				TimestampDifferenceExceeds(last_rescan, now, CLAIM_RESCAN_MS);

			if (!store_cycle(claimable ? want : 0, rescan, lowest_lane, &complete))
				return PIPELINE_NO_OUTBOX;
			if (claimable)
				first_claim = false;
		}

		/*
		 * A commit can return with the server going away: postmaster death
		 * (or a shutdown) ends a wait for a synchronous standby early, with
		 * the commit on this node only.  A request started now would be
		 * re-sent by a promoted standby on top of every one in flight.
		 */
		if (ProcDiePending || !PostmasterIsAlive())
		{
			stop_pipeline();
			return PIPELINE_STOPPED;
		}
		start_waiting(&opts, &rate_wait_ms);
		publish_in_flight();

		if (!worker_pipeline_busy() && !claimable)
			return PIPELINE_IDLE;
		if (now >= yield_at || ConfigReloadPending)
			return PIPELINE_YIELD;

		/* wait for a request to finish, the rate limit, or new rows */
		if (nfinished > 0)
			continue;
		if (nwaiting > 0 && nin_flight < Max(sms_ir_max_concurrency, 1))
			wait_ms = rate_wait_ms > 0 ? Min(rate_wait_ms, BUSY_WAIT_MS) : 0;
		else if (nin_flight < Max(sms_ir_max_concurrency, 1))
			wait_ms = Min(FREE_SLOT_WAIT_MS, ms_until(now, exhausted_until));
		else
			wait_ms = BUSY_WAIT_MS;
		wait_ms = Min(wait_ms, ms_until(now, yield_at));
		if (nin_flight > 0)
			collect_finished(wait_ms);
		else if (wait_ms > 0)
		{
			/* rate-limited with nothing in flight */
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 wait_ms, PG_WAIT_EXTENSION);
		}
	}
}

bool
worker_pipeline_take_left_sending(void)
{
	bool		left = left_sending;

	left_sending = false;
	return left;
}

bool
worker_pipeline_record_pending(void)
{
	bool		complete = true;

	if (nfinished > 0 && !store_cycle(0, false, 0, &complete))
		return true;
	return complete;
}

void
worker_pipeline_reset_after_error(void)
{
	/* the calls still point into the rows: stop them before freeing those */
	http_pipe_abandon();
	drop_rows(&in_flight, &nin_flight);
	drop_rows(&waiting, &nwaiting);
	worker_pipeline_forget_settings();
	exhausted_until = 0;
	for (int lane = 0; lane < OUTBOX_LANES; lane++)
		cursors[lane].valid = false;
	if (sms_worker_shared != NULL)
		publish_in_flight();
}
