/*
 * throttle.c -- the guard rails that count (throttle.h).
 *
 * OTP throttles.  Every verify or template message, synchronous or queued,
 * is counted for its mobile and for its number range (the first 7 digits,
 * 0912123xxxx) in one table shared by the whole cluster.  Each entry splits
 * its rolling window into THROTTLE_STEPS steps and keeps one count per step,
 * plus one more step: a message is counted for at least the whole window
 * and at most one step (a sixteenth of it) longer, so the limit is never
 * exceeded within any window.  A queued message counts when it is queued,
 * and is taken back if its transaction (or subtransaction) rolls back: a
 * rolled-back queue sends nothing.  A synchronous send's count is kept once
 * its request was made.  An entry belongs to the window it was counted
 * with: after a change of a throttle's interval, counts start afresh.
 *
 * The table holds THROTTLE_ENTRIES numbers and ranges; each key may sit in
 * THROTTLE_PROBES slots from its hash.  When those are all in use, the one
 * idle longest is forgotten (that number's count starts over): with more
 * than about THROTTLE_ENTRIES distinct numbers within one window, a
 * forgotten number could get up to twice its limit.
 *
 * Daily limits.  Each account's messages of the current calendar day in
 * sms_ir.timezone (recipients, not parts), taken when a request starts and
 * given back when it certainly sent nothing.
 *
 * Persistence.  The worker writes the table to THROTTLE_FILE every
 * THROTTLE_SAVE_MS while it changes, and the postmaster at shutdown; it is
 * read back at start, also after a crash.  So a restart costs at most the
 * last few seconds of counts.
 *
 * Shared memory needs sms_ir in shared_preload_libraries; without it each
 * process counts on its own (and nothing is saved).
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "calendar.h"
#include "guc.h"
#include "mobile.h"
#include "throttle.h"

/* numbers and ranges remembered at once (a power of two) */
#define THROTTLE_ENTRIES 65536
/* slots a key may use, from its hash on */
#define THROTTLE_PROBES 16
/* a window is counted in this many steps ... */
#define THROTTLE_STEPS 16
/* ... kept in a ring one longer */
#define THROTTLE_RING (THROTTLE_STEPS + 1)
#define THROTTLE_COUNT_MAX PG_UINT16_MAX
/* the digits of a number range */
#define PREFIX_DIGITS 7

/* key spaces */
#define KEY_MOBILE ((uint64) 1 << 60)
#define KEY_PREFIX ((uint64) 2 << 60)

#define THROTTLE_FILE "pg_stat/sms_ir_throttle.stat"
/* the worker saves the counts this often while they change */
#define THROTTLE_SAVE_MS 5000
#define THROTTLE_FILE_MAGIC 0x534d5449	/* "SMTI" */
#define THROTTLE_FILE_VERSION 1

typedef struct ThrottleEntry
{
	uint64		key;			/* 0: free */
	int64		newest;			/* the newest step counted (time / step length) */
	int32		window_s;		/* the window its steps divide */
	uint16		counts[THROTTLE_RING];	/* counts[step % THROTTLE_RING] */
} ThrottleEntry;

typedef struct DailyCount
{
	char		account[SMS_ACCOUNT_NAME_MAX + 1];
	int32		day;			/* sms_calendar_day() it counts */
	int64		sent;
} DailyCount;

typedef struct ThrottleShared
{
	LWLock	   *lock;			/* NULL: this process's own copy */
	bool		dirty;			/* changed since it was saved */
	DailyCount	daily[SMS_MAX_ACCOUNTS + 1];	/* by account index */
	ThrottleEntry entries[THROTTLE_ENTRIES];
} ThrottleShared;

static ThrottleShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* A count this transaction took, given back if it aborts. */
typedef struct PendingCount
{
	uint64		key;
	int32		window_s;
	int64		step;
	SubTransactionId subid;
} PendingCount;

static PendingCount *pending = NULL;
static int	npending = 0;
static int	pending_size = 0;
static bool callbacks_registered = false;

static void
lock(LWLockMode mode)
{
	if (shared->lock)
		LWLockAcquire(shared->lock, mode);
}

static void
unlock(void)
{
	if (shared->lock)
		LWLockRelease(shared->lock);
}

/* ---- the file ---------------------------------------------------------- */

/* Read the saved table into `s` (at start); a missing or foreign file is ignored. */
static void
load_counts_file(ThrottleShared *s)
{
	FILE	   *f = AllocateFile(THROTTLE_FILE, PG_BINARY_R);
	uint32		header[2];
	ThrottleShared *copy;

	if (f == NULL)
		return;
	copy = palloc_extended(sizeof(ThrottleShared), MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (copy != NULL &&
		fread(header, sizeof(header), 1, f) == 1 &&
		header[0] == THROTTLE_FILE_MAGIC && header[1] == THROTTLE_FILE_VERSION &&
		fread(copy->daily, sizeof(copy->daily), 1, f) == 1 &&
		fread(copy->entries, sizeof(copy->entries), 1, f) == 1)
	{
		memcpy(s->daily, copy->daily, sizeof(s->daily));
		memcpy(s->entries, copy->entries, sizeof(s->entries));
	}
	else
		ereport(LOG,
				(errmsg("sms_ir: ignoring the throttle counts in \"%s\": not a complete file of this version",
						THROTTLE_FILE)));
	if (copy)
		pfree(copy);
	FreeFile(f);
}

/*
 * Write the table (a temporary file renamed into place).  It is copied
 * under the lock and written without it: the OTP paths are not held up by
 * the file system.
 */
static void
write_counts_file(void)
{
	const char *tmp = THROTTLE_FILE ".tmp";
	uint32		header[2] = {THROTTLE_FILE_MAGIC, THROTTLE_FILE_VERSION};
	ThrottleShared *copy = palloc_extended(sizeof(ThrottleShared), MCXT_ALLOC_NO_OOM);
	FILE	   *f;
	bool		ok;

	if (copy == NULL)
		return;					/* saved next time */
	lock(LW_SHARED);
	memcpy(copy, shared, sizeof(ThrottleShared));
	unlock();
	f = AllocateFile(tmp, PG_BINARY_W);
	if (f == NULL)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("sms_ir: could not write throttle counts to \"%s\": %m", tmp)));
		pfree(copy);
		return;
	}
	ok = fwrite(header, sizeof(header), 1, f) == 1 &&
		fwrite(copy->daily, sizeof(copy->daily), 1, f) == 1 &&
		fwrite(copy->entries, sizeof(copy->entries), 1, f) == 1;
	pfree(copy);
	if (FreeFile(f) != 0)
		ok = false;
	if (!ok)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("sms_ir: could not write throttle counts to \"%s\": %m", tmp)));
		unlink(tmp);
		return;
	}
	(void) durable_rename(tmp, THROTTLE_FILE, LOG);
}

void
sms_throttle_save(void)
{
	static TimestampTz last_save = 0;
	bool		dirty;

	if (shared == NULL || shared->lock == NULL ||
		!TimestampDifferenceExceeds(last_save, GetCurrentTimestamp(), THROTTLE_SAVE_MS))
		return;
	last_save = GetCurrentTimestamp();
	lock(LW_EXCLUSIVE);
	dirty = shared->dirty;
	shared->dirty = false;
	unlock();
	if (dirty)
		write_counts_file();
}

/* postmaster exit: the counts as they are at shutdown */
static void
save_at_shutdown(int code, Datum arg)
{
	if (code == 0 && shared != NULL)
		write_counts_file();
}

/* ---- shared memory ----------------------------------------------------- */

static void
throttle_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(ThrottleShared)));
	RequestNamedLWLockTranche("sms_ir throttle", 1);
}

static void
throttle_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("sms_ir throttle", sizeof(ThrottleShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(ThrottleShared));
		shared->lock = &(GetNamedLWLockTranche("sms_ir throttle"))->lock;
		load_counts_file(shared);
	}
	LWLockRelease(AddinShmemInitLock);
	/* the postmaster saves them when it shuts down */
	if (!IsUnderPostmaster)
		on_shmem_exit(save_at_shutdown, (Datum) 0);
}

void
sms_throttle_init_preload(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = throttle_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = throttle_shmem_startup;
}

static void
attach(void)
{
	if (shared == NULL)
		shared = MemoryContextAllocExtended(TopMemoryContext, sizeof(ThrottleShared),
											MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* ---- the counting table ------------------------------------------------ */

static int64
step_usecs(int window_s)
{
	return (int64) window_s * USECS_PER_SEC / THROTTLE_STEPS;
}

static int64
step_at(TimestampTz now, int window_s)
{
	return now / step_usecs(window_s);
}

/* Move the entry's ring on to `step`: steps that left the ring are zeroed. */
static void
advance(ThrottleEntry *e, int64 step)
{
	if (step <= e->newest)
		return;
	if (step - e->newest >= THROTTLE_RING)
		memset(e->counts, 0, sizeof(e->counts));
	else
		for (int64 s = e->newest + 1; s <= step; s++)
			e->counts[s % THROTTLE_RING] = 0;
	e->newest = step;
}

static int
window_count(const ThrottleEntry *e)
{
	int			sum = 0;

	for (int i = 0; i < THROTTLE_RING; i++)
		sum += e->counts[i];
	return sum;
}

/* when the entry last counted something */
static TimestampTz
last_used(const ThrottleEntry *e)
{
	return (e->newest + 1) * step_usecs(e->window_s);
}

static bool
entry_idle(const ThrottleEntry *e, TimestampTz now)
{
	return e->key == 0 || step_at(now, e->window_s) - e->newest >= THROTTLE_RING;
}

/*
 * The entry of `key` counted in `window_s`, moved on to `now`; created (in a
 * free, idle or else the longest idle slot) when `create`, else NULL.
 */
static ThrottleEntry *
find_entry(uint64 key, int window_s, TimestampTz now, bool create)
{
	uint32		h = hash_bytes_extended((const unsigned char *) &key, sizeof(key), 0);
	int64		now_step = step_at(now, window_s);
	ThrottleEntry *victim = NULL;
	bool		victim_idle = false;
	ThrottleEntry *e;

	for (int p = 0; p < THROTTLE_PROBES; p++)
	{
		bool		idle;

		e = &shared->entries[(h + p) & (THROTTLE_ENTRIES - 1)];
		if (e->key == key)
		{
			if (e->window_s != window_s && !create)
				return NULL;	/* counted with another interval since */
			if (e->window_s != window_s)
			{
				/* counted with another interval: start afresh */
				memset(e->counts, 0, sizeof(e->counts));
				e->window_s = window_s;
				e->newest = now_step;
			}
			advance(e, now_step);
			return e;
		}

		/*
		 * A slot never used ends the search: slots are never freed, and a
		 * key takes the first idle slot of its run, so it is in no later
		 * one.  Else the first idle slot, or failing that the one idle
		 * longest, is where a new key goes.
		 */
		if (e->key == 0)
		{
			if (!victim_idle)
				victim = e;
			break;
		}
		idle = e->window_s == window_s ? now_step - e->newest >= THROTTLE_RING :
			entry_idle(e, now);
		if (idle)
		{
			if (!victim_idle)
				victim = e;
			victim_idle = true;
		}
		else if (!victim_idle && (victim == NULL || last_used(e) < last_used(victim)))
			victim = e;
	}
	if (!create)
		return NULL;
	e = victim;
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->window_s = window_s;
	e->newest = now_step;
	return e;
}

static void
count_up(ThrottleEntry *e)
{
	uint16	   *c = &e->counts[e->newest % THROTTLE_RING];

	if (*c < THROTTLE_COUNT_MAX)
		(*c)++;
}

/* Take back a count made at `step`, if the entry still holds it. */
static void
count_down(uint64 key, int window_s, int64 step, TimestampTz now)
{
	ThrottleEntry *e = find_entry(key, window_s, now, false);
	uint16	   *c;

	if (e == NULL || e->window_s != window_s || step > e->newest ||
		e->newest - step >= THROTTLE_RING)
		return;
	c = &e->counts[step % THROTTLE_RING];
	if (*c > 0)
		(*c)--;
}

/* ---- taking counts back on abort --------------------------------------- */

static void
give_back_pending(SubTransactionId subid, bool all)
{
	TimestampTz now = GetCurrentTimestamp();
	int			kept = 0;

	if (npending == 0)
		return;
	lock(LW_EXCLUSIVE);
	for (int i = 0; i < npending; i++)
	{
		PendingCount *p = &pending[i];

		if (all || p->subid == subid)
			count_down(p->key, p->window_s, p->step, now);
		else
			pending[kept++] = *p;
	}
	shared->dirty = true;
	unlock();
	npending = kept;
}

static void
throttle_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			give_back_pending(InvalidSubTransactionId, true);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			npending = 0;
			break;
		default:
			break;
	}
}

static void
throttle_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		give_back_pending(mySubid, false);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		/* its counts now belong to the parent */
		for (int i = 0; i < npending; i++)
			if (pending[i].subid == mySubid)
				pending[i].subid = parentSubid;
	}
}

static void
remember_pending(uint64 key, int window_s, int64 step)
{
	if (!callbacks_registered)
	{
		RegisterXactCallback(throttle_xact_callback, NULL);
		RegisterSubXactCallback(throttle_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (npending == pending_size)
	{
		int			size = Max(pending_size * 2, 16);

		pending = pending == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(PendingCount) * size) :
			repalloc(pending, sizeof(PendingCount) * size);
		pending_size = size;
	}
	pending[npending].key = key;
	pending[npending].window_s = window_s;
	pending[npending].step = step;
	pending[npending].subid = GetCurrentSubTransactionId();
	npending++;
}

/* ---- OTP throttles ----------------------------------------------------- */

typedef struct ThrottleCheck
{
	const char *setting;
	const SmsRateSetting *limit;
	uint64		key;
	ThrottleEntry *entry;
} ThrottleCheck;

static char *
window_text(int window_s)
{
	if (window_s % SECS_PER_HOUR == 0)
		return psprintf("%dh", window_s / SECS_PER_HOUR);
	if (window_s % SECS_PER_MINUTE == 0)
		return psprintf("%dmin", window_s / SECS_PER_MINUTE);
	return psprintf("%ds", window_s);
}

static char *
limit_text(const SmsRateSetting *limit)
{
	return psprintf("%d/%s", limit->count, window_text(limit->window_s));
}

int
sms_throttle_otp(const char *mobile)
{
	ThrottleCheck checks[2];
	int			nchecks = 0;
	TimestampTz now = GetCurrentTimestamp();
	int			mark = npending;
	uint64		number;
	char	   *end;

	if (sms_ir_recipient_limit.count == 0 && sms_ir_prefix_limit.count == 0)
		return mark;
	number = strtoull(mobile, &end, 10);
	Assert(strlen(mobile) == SMS_MOBILE_LEN && *end == '\0');
	attach();
	if (sms_ir_recipient_limit.count > 0)
		checks[nchecks++] = (ThrottleCheck)
		{
			"sms_ir.recipient_limit", &sms_ir_recipient_limit, KEY_MOBILE | number, NULL
		};
	if (sms_ir_prefix_limit.count > 0)
	{
		uint64		prefix = number;

		for (int i = PREFIX_DIGITS; i < SMS_MOBILE_LEN; i++)
			prefix /= 10;
		checks[nchecks++] = (ThrottleCheck)
		{
			"sms_ir.prefix_limit", &sms_ir_prefix_limit, KEY_PREFIX | prefix, NULL
		};
	}

	lock(LW_EXCLUSIVE);
	for (int i = 0; i < nchecks; i++)
	{
		ThrottleCheck *c = &checks[i];
		int			count;

		c->entry = find_entry(c->key, c->limit->window_s, now, true);
		count = window_count(c->entry);
		if (count >= c->limit->count)
		{
			unlock();
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("too many messages to %s", sms_mobile_mask(mobile)),
					 c->limit == &sms_ir_recipient_limit ?
					 errdetail("%d verify or template messages went to this mobile within the last %s; %s is \"%s\".",
							   count, window_text(c->limit->window_s), c->setting,
							   limit_text(c->limit)) :
					 errdetail("%d verify or template messages went to mobiles starting %.*s within the last %s; %s is \"%s\".",
							   count, PREFIX_DIGITS, mobile, window_text(c->limit->window_s),
							   c->setting, limit_text(c->limit)),
					 errhint("Ask the user to wait before requesting another code; a superuser may raise %s.",
							 c->setting)));
		}
	}
	for (int i = 0; i < nchecks; i++)
	{
		count_up(checks[i].entry);
		remember_pending(checks[i].key, checks[i].limit->window_s, checks[i].entry->newest);
	}
	shared->dirty = true;
	unlock();
	return mark;
}

void
sms_throttle_keep(int mark)
{
	if (mark < npending)
		npending = mark;
}

/* ---- daily limits ------------------------------------------------------ */

static int
daily_limit(const SmsAccount *account)
{
	return account->daily_limit ? *account->daily_limit : 0;
}

/* The account's count, moved on to today (caller holds the lock). */
static DailyCount *
daily_entry(const SmsAccount *account, int32 today)
{
	DailyCount *d = &shared->daily[account->index];

	if (strcmp(d->account, account->name) != 0 || d->day != today)
	{
		/* a new day, or the slot counted an account no longer declared there */
		if (strcmp(d->account, account->name) != 0)
			strlcpy(d->account, account->name, sizeof(d->account));
		d->day = today;
		d->sent = 0;
	}
	return d;
}

bool
sms_daily_take(const SmsAccount *account, int n)
{
	int			limit = daily_limit(account);
	int32		today = sms_calendar_day(GetCurrentTimestamp(), sms_ir_timezone);
	DailyCount *d;
	bool		ok;

	attach();
	lock(LW_EXCLUSIVE);
	d = daily_entry(account, today);
	ok = limit == 0 || d->sent + n <= limit;
	if (ok)
	{
		d->sent += n;
		shared->dirty = true;
	}
	unlock();
	return ok;
}

void
sms_daily_give_back(const SmsAccount *account, int n)
{
	int32		today = sms_calendar_day(GetCurrentTimestamp(), sms_ir_timezone);
	DailyCount *d;

	attach();
	lock(LW_EXCLUSIVE);
	d = daily_entry(account, today);
	d->sent = Max(d->sent - n, 0);
	shared->dirty = true;
	unlock();
}

void
sms_daily_status(const SmsAccount *account, int64 *sent_today, int *limit)
{
	int32		today = sms_calendar_day(GetCurrentTimestamp(), sms_ir_timezone);

	attach();
	lock(LW_EXCLUSIVE);
	*sent_today = daily_entry(account, today)->sent;
	unlock();
	*limit = daily_limit(account);
}

void
sms_daily_refuse(const SmsAccount *account, int n)
{
	int64		sent;
	int			limit;
	const char *setting = account->index == 0 ? "sms_ir.daily_limit" :
		psprintf("sms_ir.%s_daily_limit", account->name);

	sms_daily_status(account, &sent, &limit);
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("account %s reached its daily limit", account->name),
			 errdetail("It sent " INT64_FORMAT " of %d messages today (in %s); this send needs %d more; %s is %d.",
					   sent, limit, pg_get_timezone_name(sms_ir_timezone), n, setting, limit),
			 errhint("Queue the message instead: the worker sends it after midnight, or as soon as a superuser raises %s.",
					 setting)));
}
