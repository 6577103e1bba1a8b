/*
 * breaker.c -- each account's health, shared by every process: its circuit
 * breaker, its last error and its sent / failed counts
 * (sms_ir.account_status()).
 *
 * The breaker: after sms_ir.breaker_failures account-level failures in a
 * row (could not connect, no reply in time, 5xx, 429, try-later codes,
 * credentials, credit), all within BREAKER_WINDOW_SECS of the first,
 * the breaker opens: the account's sends go straight to its fallback (or
 * wait) for sms_ir.breaker_cooldown.  Then one request is let through as a
 * probe (half open); its reply decides: any reply of the provider closes the
 * breaker, another account-level failure opens it for another cooldown.  A
 * probe that never reports (its process died) is replaced after a cooldown.
 * So an outage costs about breaker_failures timeouts, not one per message.
 *
 * In shared memory when sms_ir is preloaded (one breaker for the worker and
 * every session); otherwise each process keeps its own.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "account.h"
#include "breaker.h"
#include "guc.h"
#include "provider.h"
#include "throttle.h"

/* failures further apart than this do not add up */
#define BREAKER_WINDOW_SECS 30
#define ACCOUNT_ERROR_LEN 256
/* a half-open breaker's probe reports within sms_ir.timeout plus this */
#define BREAKER_PROBE_MARGIN_MS 500

typedef struct AccountHealth
{
	slock_t		mutex;
	BreakerState state;
	int			failures;		/* consecutive account-level failures */
	TimestampTz first_failure_at;	/* of the current streak */
	TimestampTz opened_at;
	TimestampTz probe_at;		/* half open: when the probe started */
	char		last_error[ACCOUNT_ERROR_LEN];
	TimestampTz last_error_at;
	int64		sent;
	int64		failed;
} AccountHealth;

static AccountHealth *health = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
health_size(void)
{
	return mul_size(SMS_MAX_ACCOUNTS + 1, sizeof(AccountHealth));
}

static void
init_entries(AccountHealth *h)
{
	memset(h, 0, health_size());
	for (int i = 0; i <= SMS_MAX_ACCOUNTS; i++)
		SpinLockInit(&h[i].mutex);
}

static void
breaker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(health_size()));
}

static void
breaker_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	health = ShmemInitStruct("sms_ir accounts", health_size(), &found);
	if (!found)
		init_entries(health);
	LWLockRelease(AddinShmemInitLock);
}

void
sms_breaker_init_preload(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = breaker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = breaker_shmem_startup;
}

static AccountHealth *
entry(const SmsAccount *account)
{
	if (health == NULL)
	{
		/* not preloaded: this process's own */
		health = MemoryContextAlloc(TopMemoryContext, health_size());
		init_entries(health);
	}
	return &health[account->index];
}

BreakerVerdict
sms_breaker_check(const SmsAccount *account, TimestampTz *retry_at)
{
	AccountHealth *h = entry(account);
	TimestampTz now = GetCurrentTimestamp();
	BreakerVerdict v = BREAKER_PASS;

	*retry_at = 0;
	SpinLockAcquire(&h->mutex);
	if (h->state == BREAKER_OPEN || h->state == BREAKER_HALF_OPEN)
	{
		TimestampTz since = h->state == BREAKER_OPEN ? h->opened_at : h->probe_at;
		TimestampTz until = TimestampTzPlusMilliseconds(since, sms_ir_breaker_cooldown_ms);

		if (now >= until)
		{
			/* cooled down (or the probe never reported): this one probes */
			h->state = BREAKER_HALF_OPEN;
			h->probe_at = now;
			v = BREAKER_PROBE;
		}
		else
		{
			TimestampTz probe_due = TimestampTzPlusMilliseconds(h->probe_at,
																sms_ir_timeout_ms + BREAKER_PROBE_MARGIN_MS);

			v = BREAKER_BLOCKED;
			/*
			 * Half open: the probe has its reply within one request's time,
			 * so look again then, not a whole cooldown later (rows checked
			 * while the probe was out waited out another cooldown even when
			 * it closed the breaker at once).  Once that moment has passed
			 * (the probe is slow or its process died), the cooldown's end:
			 * never a time in the past, which would make the row loop.
			 */
			if (h->state == BREAKER_HALF_OPEN && probe_due > now && probe_due < until)
				until = probe_due;
			*retry_at = until;
		}
	}
	SpinLockRelease(&h->mutex);
	return v;
}

void
sms_breaker_report(const SmsAccount *account, bool account_failure, const char *error)
{
	AccountHealth *h = entry(account);
	TimestampTz now = GetCurrentTimestamp();
	char	   *clipped = error ? sms_text_clip(error, ACCOUNT_ERROR_LEN - 1) : NULL;

	SpinLockAcquire(&h->mutex);
	if (!account_failure)
	{
		/* the provider answered: the account works */
		h->state = BREAKER_CLOSED;
		h->failures = 0;
		h->probe_at = 0;
	}
	else
	{
		/* a streak counts within BREAKER_WINDOW_SECS of its first failure */
		if (h->failures > 0 &&
			TimestampDifferenceExceeds(h->first_failure_at, now, BREAKER_WINDOW_SECS * 1000))
			h->failures = 0;
		if (h->failures == 0)
			h->first_failure_at = now;
		h->failures++;
		if (h->state == BREAKER_HALF_OPEN ||
			(h->state == BREAKER_CLOSED && h->failures >= sms_ir_breaker_failures))
		{
			h->state = BREAKER_OPEN;
			h->opened_at = now;
			h->probe_at = 0;
		}
	}
	if (clipped != NULL)
	{
		strlcpy(h->last_error, clipped, sizeof(h->last_error));
		h->last_error_at = now;
	}
	SpinLockRelease(&h->mutex);
}

bool
sms_breaker_open(const SmsAccount *account)
{
	AccountHealth *h = entry(account);
	bool		open;

	SpinLockAcquire(&h->mutex);
	open = h->state != BREAKER_CLOSED;
	SpinLockRelease(&h->mutex);
	return open;
}

void
sms_account_count(const SmsAccount *account, int64 sent, int64 failed)
{
	AccountHealth *h = entry(account);

	SpinLockAcquire(&h->mutex);
	h->sent += sent;
	h->failed += failed;
	SpinLockRelease(&h->mutex);
}

static const char *const state_names[] = {
	[BREAKER_CLOSED] = "closed",
	[BREAKER_OPEN] = "open",
	[BREAKER_HALF_OPEN] = "half_open",
};

#define ACCOUNT_STATUS_COLS 12

/* sms_ir.account_status(): one row per account. */
PG_FUNCTION_INFO_V1(sms_account_status);
Datum
sms_account_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < sms_naccounts; i++)
	{
		const SmsAccount *a = sms_accounts[i];
		AccountHealth *h = entry(a);
		AccountHealth snap;
		Datum		values[ACCOUNT_STATUS_COLS];
		bool		nulls[ACCOUNT_STATUS_COLS];
		const char *fallback = *a->fallback;
		int64		sent_today;
		int			daily_limit;

		SpinLockAcquire(&h->mutex);
		memcpy(&snap, h, sizeof(snap));
		SpinLockRelease(&h->mutex);
		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(a->name);
		values[1] = CStringGetTextDatum(sms_account_provider(a)->name);
		values[2] = CStringGetTextDatum(state_names[snap.state]);
		values[3] = Int32GetDatum(snap.failures);
		nulls[4] = snap.last_error_at == 0;
		values[4] = CStringGetTextDatum(snap.last_error);
		nulls[5] = snap.last_error_at == 0;
		values[5] = TimestampTzGetDatum(snap.last_error_at);
		values[6] = Int64GetDatum(snap.sent);
		values[7] = Int64GetDatum(snap.failed);
		nulls[8] = fallback == NULL || fallback[0] == '\0';
		values[8] = nulls[8] ? (Datum) 0 : CStringGetTextDatum(fallback);
		sms_daily_status(a, &sent_today, &daily_limit);
		values[9] = Int64GetDatum(sent_today);
		nulls[10] = daily_limit == 0;
		values[10] = Int32GetDatum(daily_limit);
		/* the worker holds the account's rows until the day turns */
		values[11] = CStringGetTextDatum(daily_limit > 0 && sent_today >= daily_limit ?
										 "over daily limit" : "ok");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
