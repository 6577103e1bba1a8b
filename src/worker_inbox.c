/*
 * worker_inbox.c -- received messages (sms_ir.inbox_poll): the worker reads
 * every account's received messages through its provider's INBOX operation
 * and stores each new one in sms_ir.inbox, with the opt-out or opt-in it
 * asks for (outbox_store_inbox: one statement per page).
 *
 * Only listings that consume nothing are read (never sms.ir's destructive
 * receive/latest), so a page whose storing was lost to a crash or an error
 * is simply read again: ON CONFLICT DO NOTHING on the message key stores
 * what is missing and nothing twice, and the suppression effects commit
 * with the messages that cause them.
 *
 * Per account and poll (SmsInboxPolling says what the provider has):
 *   newest  pages 1, 2, ... of the newest messages (sms.ir receive/live,
 *           newest first) until a page holds nothing new, or ends short.
 *           A poll after an error (or the first since the worker started,
 *           or after LIVE_FULL_SCAN_SECS) reads to the end instead: a
 *           page that failed before must not be skipped because the pages
 *           before it hold nothing new.  At most LIVE_MAX_PAGES pages.
 *   archive (sms.ir receive/archive) yesterday, in sms_ir.timezone, to its
 *           end: on the first poll of each day (and the first since the
 *           worker started), and once more ARCHIVE_SETTLE_SECS into the
 *           day, so messages that arrived just before midnight, after the
 *           last poll of the day, are stored.  At most ARCHIVE_MAX_PAGES.
 * A provider error stops that account's poll for this round (logged once
 * until it recovers); what was stored stays, the rest is read next time.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "args.h"
#include "calendar.h"
#include "guc.h"
#include "mobile.h"
#include "outbox_store.h"
#include "token.h"
#include "worker_internal.h"

/* pages of the newest messages one poll reads at most (100 a page on sms.ir) */
#define LIVE_MAX_PAGES 50
/* read the newest messages to their end at least this often */
#define LIVE_FULL_SCAN_SECS 600
/* pages of yesterday's archive one read takes at most */
#define ARCHIVE_MAX_PAGES 100
/* yesterday's archive is read again this long after midnight */
#define ARCHIVE_SETTLE_SECS (2 * SECS_PER_HOUR)

/* What the worker remembers of each account between polls (this process). */
typedef struct InboxAccountState
{
	bool		newest_complete;	/* the newest messages were read to their end */
	TimestampTz last_full_scan; /* ... at this time */
	int32		archive_day;	/* sms_calendar_day() whose yesterday was read; 0 never */
	bool		archive_settled;	/* ... read again ARCHIVE_SETTLE_SECS into the day */
	bool		failing;		/* the last poll failed (said in the log) */
} InboxAccountState;

static InboxAccountState inbox_state[SMS_MAX_ACCOUNTS + 1];
static MemoryContext inbox_cxt = NULL;

/* One account's poll. */
typedef struct InboxPoll
{
	const SmsAccount *account;
	const SmsProvider *provider;
	SmsConfig	cfg;
	bool		uses_token;
	const HttpRunOptions *opts;
	InboxAccountState *state;
	SmsError	error;			/* why the poll stopped, when it failed */
	int64		stored;
	int64		opted_out;
	int64		opted_in;
} InboxPoll;

typedef enum ListingResult
{
	LISTING_DONE,				/* read as far as needed */
	LISTING_FAILED,				/* a request failed: poll->error */
	LISTING_ABORTED				/* shutdown or database drop */
} ListingResult;

static int64
unix_seconds(TimestampTz ts)
{
	return (int64) timestamptz_to_time_t(ts);
}

/*
 * One request of the listing; false with poll->error on failure.  The
 * reply is in *reply (in the current memory context).
 */
static bool
fetch_page(InboxPoll *poll, const SmsArgs *args, SmsReply *reply, bool *aborted)
{
	HttpCall	call = {0};
	SmsRequest *req = palloc0(sizeof(SmsRequest));

	sms_provider_build(poll->provider, args, &poll->cfg, req);
	call.req = req;
	*aborted = !http_run(&call, 1, poll->opts);
	if (*aborted)
		return false;
	http_call_reply(poll->provider, args, &call, reply);
	if (reply->err.cls != SMS_OK)
	{
		if (reply->err.cls == SMS_ERR_AUTH && poll->uses_token)
			sms_token_forget();
		poll->error = reply->err;
		return false;
	}
	return true;
}

/* Senders that are mobiles in canonical form (the opt-out key). */
static void
canonical_senders(SmsReply *reply)
{
	for (int i = 0; i < reply->ninbox; i++)
	{
		SmsInboxRow *row = &reply->inbox[i];
		char		canonical[SMS_MOBILE_LEN + 1];

		if (row->sender != NULL && sms_mobile_normalize(row->sender, canonical))
			row->sender = pstrdup(canonical);
	}
}

/* Store one page; returns how many of its messages were new. */
static int64
store_page(InboxPoll *poll, SmsReply *reply)
{
	InboxStoreResult res = {0};

	if (reply->ninbox == 0)
		return 0;
	canonical_senders(reply);
	outbox_store_begin("sms_ir: storing received messages");
	if (outbox_store_present())
		res = outbox_store_inbox(poll->account->name, poll->provider->inbox.key_by_content,
								 reply->inbox, reply->ninbox);
	outbox_store_commit();
	MemoryContextSwitchTo(inbox_cxt);
	poll->stored += res.stored;
	poll->opted_out += res.opted_out;
	poll->opted_in += res.opted_in;
	return res.stored;
}

/*
 * Read a listing page by page: the newest messages (from_time = to_time =
 * 0) or the archive of [from_time, to_time].  With stop_when_known, a page
 * with nothing new ends it; else it is read to its end (a short page).
 * *complete: the end was reached (or max_pages, said as a WARNING).
 */
static ListingResult
read_listing(InboxPoll *poll, int64 from_time, int64 to_time, bool stop_when_known,
			 int max_pages, bool *complete)
{
	const SmsInboxPolling *how = &poll->provider->inbox;

	*complete = false;
	for (int page = 1; page <= max_pages; page++)
	{
		SmsArgs		args;
		SmsReply	reply = {0};
		bool		aborted;
		int64		stored;

		sms_args_init(&args, SMS_OP_INBOX);
		args.count = how->page_size;
		args.page = how->pages ? page : 0;
		args.from_time = from_time;
		args.to_time = to_time;
		if (!fetch_page(poll, &args, &reply, &aborted))
			return aborted ? LISTING_ABORTED : LISTING_FAILED;
		stored = store_page(poll, &reply);
		if (reply.ninbox < how->page_size || !how->pages)
		{
			*complete = true;
			return LISTING_DONE;
		}
		if (stop_when_known && stored == 0)
			return LISTING_DONE;
		if (page == max_pages)
			ereport(WARNING,
					(errmsg("sms_ir worker read %d pages of received messages of account %s and stopped",
							max_pages, poll->account->name),
					 errdetail("Older messages of that listing are not read in this poll."),
					 errhint("Every poll reads at most %d pages of %d messages.",
							 max_pages, how->page_size)));
	}
	*complete = true;
	return LISTING_DONE;
}

/* The newest messages: to their end, or until a page holds nothing new. */
static ListingResult
poll_newest(InboxPoll *poll, TimestampTz now)
{
	InboxAccountState *st = poll->state;
	bool		full = !st->newest_complete ||
		TimestampDifferenceExceeds(st->last_full_scan, now, LIVE_FULL_SCAN_SECS * 1000);
	bool		complete;
	ListingResult r = read_listing(poll, 0, 0, !full, LIVE_MAX_PAGES, &complete);

	if (r != LISTING_DONE)
		st->newest_complete = false;
	else if (full && complete)
	{
		st->newest_complete = true;
		st->last_full_scan = now;
	}
	return r;
}

/* Yesterday's archive, when the day turned (or it is time to read it again). */
static ListingResult
poll_archive(InboxPoll *poll, TimestampTz now)
{
	InboxAccountState *st = poll->state;
	int32		today = sms_calendar_day(now, sms_ir_timezone);
	TimestampTz today_start = sms_calendar_day_start(today, sms_ir_timezone);
	bool		settled = TimestampDifferenceExceeds(today_start, now, ARCHIVE_SETTLE_SECS * 1000);
	bool		complete;
	ListingResult r;

	if (st->archive_day == today && (st->archive_settled || !settled))
		return LISTING_DONE;
	r = read_listing(poll, unix_seconds(sms_calendar_day_start(today - 1, sms_ir_timezone)),
					 unix_seconds(today_start) - 1, false, ARCHIVE_MAX_PAGES, &complete);
	if (r == LISTING_DONE)
	{
		st->archive_day = today;
		st->archive_settled = settled;
	}
	return r;
}

/* Say a failing account once, and when it works again. */
static void
note_outcome(InboxPoll *poll, bool failed)
{
	if (failed && !poll->state->failing)
	{
		char	   *text = sms_error_text(&poll->error);

		ereport(LOG,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("sms_ir worker could not read the received messages of account %s (provider %s): %s",
						poll->account->name, poll->provider->name, text),
				 errdetail("Messages stored so far are kept; the rest are read at the next poll."),
				 errhint("The worker tries again every sms_ir.inbox_poll.")));
		worker_note_error(text);
	}
	else if (!failed && poll->state->failing)
		ereport(LOG,
				(errmsg("sms_ir worker reads the received messages of account %s again",
						poll->account->name)));
	poll->state->failing = failed;
}

/* Poll one account; false if the run was aborted (shutdown, database drop). */
static bool
poll_account(const SmsAccount *account, WorkerConfigs *configs, const HttpRunOptions *opts)
{
	InboxPoll	poll = {0};
	AccountSettings *ps;
	SmsArgs		probe;
	const char *hint;
	SmsError	err;
	TimestampTz now = GetCurrentTimestamp();
	ListingResult r;

	poll.account = account;
	poll.provider = sms_account_provider(account);
	poll.opts = opts;
	poll.state = &inbox_state[account->index];
	sms_args_init(&probe, SMS_OP_INBOX);
	if (poll.provider->inbox.page_size <= 0 ||
		!sms_provider_supports(poll.provider, &probe, &hint))
		return true;
	ps = worker_configs_get(configs, account);
	/* settings that cannot be used are logged by worker_configs_get */
	if (!ps->usable)
		return true;
	poll.cfg = ps->cfg;
	poll.uses_token = sms_provider_uses_token(poll.provider, &poll.cfg);
	if (!sms_token_apply(poll.provider, &poll.cfg, opts, &err))
	{
		poll.error = err;
		note_outcome(&poll, true);
		return true;
	}

	r = poll_newest(&poll, now);
	if (r == LISTING_DONE && poll.provider->inbox.archive)
		r = poll_archive(&poll, now);
	if (r == LISTING_ABORTED)
		return false;
	note_outcome(&poll, r == LISTING_FAILED);
	if (poll.stored > 0)
		ereport(DEBUG1,
				(errmsg("sms_ir worker stored " INT64_FORMAT " received messages of account %s"
						" (" INT64_FORMAT " opt-outs, " INT64_FORMAT " opt-ins)",
						poll.stored, account->name, poll.opted_out, poll.opted_in)));
	return true;
}

void
worker_poll_inbox(void)
{
	WorkerConfigs *configs;
	HttpRunOptions opts;
	MemoryContext old;

	if (inbox_cxt == NULL)
		inbox_cxt = AllocSetContextCreate(TopMemoryContext, "sms_ir inbox polling",
										  ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(inbox_cxt);
	old = MemoryContextSwitchTo(inbox_cxt);
	configs = worker_configs_create(inbox_cxt);
	worker_http_options(&opts);
	/* one request at a time: pages follow each other */
	opts.max_concurrency = 1;

	for (int a = 0; a < sms_naccounts; a++)
		if (!poll_account(sms_accounts[a], configs, &opts))
			break;
	MemoryContextSwitchTo(old);
	MemoryContextReset(inbox_cxt);
}
