/*
 * metrics.c -- the outbox worker's counters and latency histograms, in
 * shared memory, and sms_ir._metrics(), the C half of the sms_ir.metrics view
 * (the other half, queue depth and the oldest due row, is SQL over the
 * outbox's partial indexes in the view itself: see sql/sms_ir--0.2--0.3.sql).
 *
 * What is counted.  Each outcome the worker records (sent, failed, unknown,
 * queued again after a request = retried, expired, suppressed), counted
 * after the transaction that records it commits, per account and kind; the
 * first request of every row, as the time from when the row was due (its
 * next_attempt_at: the queueing transaction's start, or its send_after, or
 * the end of a hold) to the request's start, in a Prometheus histogram per
 * lane; and each request's duration per account, in a log-bucket histogram
 * that gives quantiles over the last REQUEST_PERIOD_SECS to twice that.
 * Synchronous sends (sms_send_* in sessions) are not counted here.
 *
 * Label sets are bounded: accounts are the ones sms_ir.accounts declares (a
 * postmaster setting, so their indexes never change while shared memory
 * lives) plus one slot, labelled "_other", for rows of an account that is
 * not declared ("_other" cannot be an account's name: names are
 * [a-z][a-z0-9]*); kinds are the four the insert trigger allows plus
 * "_other"; lanes are priorities 0 .. OUTBOX_LANE_MAX.
 *
 * Concurrency: counters and histogram buckets are pg_atomic_uint64, added to
 * with fetch-add, so the worker never waits for a reader and a reader never
 * blocks the worker; a reader sees each number whole but not all of them
 * at one instant, which Prometheus does not need (a histogram's _count is
 * the sum of the buckets read, so its +Inf bucket always equals it).  The
 * request-duration windows are rotated, so each account's window has a
 * spinlock held for one increment or a copy of its buckets (a few hundred
 * bytes): no LWLock is needed anywhere.
 *
 * Lifetime: shared memory, so the counts survive a restart of the worker
 * and start from zero when the postmaster restarts (or after a crash
 * restart).  Prometheus counters handle that: rate() and increase() treat
 * any decrease as a reset.  Without sms_ir in shared_preload_libraries
 * there is no worker, and each process has its own (zero) copy.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "account.h"
#include "breaker.h"
#include "metrics.h"
#include "outbox_store.h"
#include "worker.h"

/* declared accounts by index, then the one for accounts not declared */
#define ACCOUNT_SLOTS (SMS_MAX_ACCOUNTS + 2)
#define OTHER_ACCOUNT (SMS_MAX_ACCOUNTS + 1)
#define OTHER_LABEL "_other"

static const char *const kind_names[] = {"bulk", "like_to_like", "verify", "template"};

#define NKINDS lengthof(kind_names)
#define KIND_SLOTS (NKINDS + 1)
#define OTHER_KIND NKINDS

static const char *const outcome_names[METRIC_OUTCOMES] = {
	[METRIC_SENT] = "sms_ir_sent_total",
	[METRIC_FAILED] = "sms_ir_failed_total",
	[METRIC_UNKNOWN] = "sms_ir_unknown_total",
	[METRIC_RETRIED] = "sms_ir_retried_total",
	[METRIC_EXPIRED] = "sms_ir_expired_total",
	[METRIC_SUPPRESSED] = "sms_ir_suppressed_total",
};

/* commit -> first request: the histogram's upper bounds (seconds), then +Inf */
static const double latency_bounds[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800
};

#define LATENCY_BUCKETS (lengthof(latency_bounds) + 1)

/*
 * Request durations: bucket i holds (bound(i-1), bound(i)] with bound(i) =
 * REQUEST_BUCKET_BASE * 2^(i / REQUEST_BUCKETS_PER_OCTAVE): 1 ms to about
 * 55 s in steps of 19%, the last bucket also everything longer.  A quantile
 * is its bucket's upper bound: at most 19% above the true value.
 */
#define REQUEST_BUCKETS 64
#define REQUEST_BUCKETS_PER_OCTAVE 4
#define REQUEST_BUCKET_BASE 0.001
/* quantiles cover the current period and the previous one */
#define REQUEST_PERIOD_SECS 300
#define REQUEST_WINDOWS 2

static const double quantiles[] = {0.5, 0.9, 0.99};

typedef struct RequestWindow
{
	slock_t		mutex;
	int64		period[REQUEST_WINDOWS];	/* the period counts[w] holds (seconds / period) */
	uint32		counts[REQUEST_WINDOWS][REQUEST_BUCKETS];
} RequestWindow;

typedef struct MetricsShared
{
	pg_atomic_uint64 outcomes[METRIC_OUTCOMES][ACCOUNT_SLOTS][KIND_SLOTS];
	pg_atomic_uint64 latency[OUTBOX_LANES][LATENCY_BUCKETS];	/* not cumulative */
	pg_atomic_uint64 latency_sum_us[OUTBOX_LANES];
	pg_atomic_uint64 request_count[ACCOUNT_SLOTS];
	pg_atomic_uint64 request_sum_us[ACCOUNT_SLOTS];
	RequestWindow windows[ACCOUNT_SLOTS];
} MetricsShared;

static MetricsShared *metrics = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
init_metrics(MetricsShared *m)
{
	memset(m, 0, sizeof(MetricsShared));
	for (int o = 0; o < METRIC_OUTCOMES; o++)
		for (int a = 0; a < ACCOUNT_SLOTS; a++)
			for (int k = 0; k < (int) KIND_SLOTS; k++)
				pg_atomic_init_u64(&m->outcomes[o][a][k], 0);
	for (int l = 0; l < OUTBOX_LANES; l++)
	{
		for (int b = 0; b < (int) LATENCY_BUCKETS; b++)
			pg_atomic_init_u64(&m->latency[l][b], 0);
		pg_atomic_init_u64(&m->latency_sum_us[l], 0);
	}
	for (int a = 0; a < ACCOUNT_SLOTS; a++)
	{
		pg_atomic_init_u64(&m->request_count[a], 0);
		pg_atomic_init_u64(&m->request_sum_us[a], 0);
		SpinLockInit(&m->windows[a].mutex);
	}
}

static void
metrics_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(MetricsShared)));
}

static void
metrics_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	metrics = ShmemInitStruct("sms_ir metrics", sizeof(MetricsShared), &found);
	if (!found)
		init_metrics(metrics);
	LWLockRelease(AddinShmemInitLock);
}

void
sms_metrics_init_preload(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = metrics_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = metrics_shmem_startup;
}

static MetricsShared *
shared(void)
{
	if (metrics == NULL)
	{
		/* not preloaded: this process's own */
		metrics = MemoryContextAlloc(TopMemoryContext, sizeof(MetricsShared));
		init_metrics(metrics);
	}
	return metrics;
}

static int
account_slot(const SmsAccount *account)
{
	return account != NULL && account->index >= 0 && account->index <= SMS_MAX_ACCOUNTS ?
		account->index : OTHER_ACCOUNT;
}

static int
kind_slot(const char *kind)
{
	for (int k = 0; k < (int) NKINDS; k++)
		if (kind != NULL && strcmp(kind, kind_names[k]) == 0)
			return k;
	return OTHER_KIND;
}

void
sms_metrics_count(SmsMetricOutcome outcome, const SmsAccount *account, const char *kind)
{
	Assert(outcome >= 0 && outcome < METRIC_OUTCOMES);
	pg_atomic_fetch_add_u64(&shared()->outcomes[outcome][account_slot(account)][kind_slot(kind)], 1);
}

void
sms_metrics_commit_to_send(int priority, TimestampTz due, TimestampTz started)
{
	MetricsShared *m = shared();
	int64		us = Max(started - due, 0);
	double		secs = (double) us / USECS_PER_SEC;
	int			lane = Max(0, Min(priority, OUTBOX_LANE_MAX));
	int			b = 0;

	while (b < (int) lengthof(latency_bounds) && secs > latency_bounds[b])
		b++;
	pg_atomic_fetch_add_u64(&m->latency[lane][b], 1);
	pg_atomic_fetch_add_u64(&m->latency_sum_us[lane], (uint64) us);
}

static double
request_bound(int bucket)
{
	return REQUEST_BUCKET_BASE * pow(2.0, (double) bucket / REQUEST_BUCKETS_PER_OCTAVE);
}

static int
request_bucket(double secs)
{
	double		i;

	if (secs <= REQUEST_BUCKET_BASE)
		return 0;
	i = ceil(log2(secs / REQUEST_BUCKET_BASE) * REQUEST_BUCKETS_PER_OCTAVE);
	return i >= REQUEST_BUCKETS - 1 ? REQUEST_BUCKETS - 1 : (int) i;
}

static int64
request_period(TimestampTz at)
{
	return at / (USECS_PER_SEC * (int64) REQUEST_PERIOD_SECS);
}

void
sms_metrics_request(const SmsAccount *account, TimestampTz started, TimestampTz finished)
{
	MetricsShared *m = shared();
	int			a = account_slot(account);
	int64		us = Max(finished - started, 0);
	int			b = request_bucket((double) us / USECS_PER_SEC);
	int64		period = request_period(finished);
	RequestWindow *w = &m->windows[a];
	int			slot = (int) (period % REQUEST_WINDOWS);

	pg_atomic_fetch_add_u64(&m->request_count[a], 1);
	pg_atomic_fetch_add_u64(&m->request_sum_us[a], (uint64) us);
	SpinLockAcquire(&w->mutex);
	if (w->period[slot] != period)
	{
		/* a new period: this half starts over */
		memset(w->counts[slot], 0, sizeof(w->counts[slot]));
		w->period[slot] = period;
	}
	w->counts[slot][b]++;
	SpinLockRelease(&w->mutex);
}

/* ---- reading: sms_ir._metrics() ---------------------------------------- */

typedef struct MetricsOut
{
	ReturnSetInfo *rsinfo;
	StringInfoData labels;
} MetricsOut;

/* Start a labels object; add pairs with label(), emit with put(). */
static void
labels_begin(MetricsOut *out)
{
	resetStringInfo(&out->labels);
	appendStringInfoChar(&out->labels, '{');
}

static void
label(MetricsOut *out, const char *key, const char *value)
{
	if (out->labels.len > 1)
		appendStringInfoChar(&out->labels, ',');
	escape_json(&out->labels, key);
	appendStringInfoChar(&out->labels, ':');
	escape_json(&out->labels, value);
}

static void
put(MetricsOut *out, const char *name, double value)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	appendStringInfoChar(&out->labels, '}');
	values[0] = CStringGetTextDatum(name);
	values[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(out->labels.data));
	values[2] = Float8GetDatum(value);
	tuplestore_putvalues(out->rsinfo->setResult, out->rsinfo->setDesc, values, nulls);
}

static const char *
account_label(int slot)
{
	return slot == OTHER_ACCOUNT ? OTHER_LABEL : sms_accounts[slot]->name;
}

/* The declared accounts' slots, then the "_other" one when `used` says it counted something. */
static int
account_slots(int *slots, bool other_used)
{
	int			n = 0;

	for (int i = 0; i < sms_naccounts && i <= SMS_MAX_ACCOUNTS; i++)
		slots[n++] = i;
	if (other_used)
		slots[n++] = OTHER_ACCOUNT;
	return n;
}

static void
put_outcomes(MetricsOut *out, MetricsShared *m)
{
	for (int o = 0; o < METRIC_OUTCOMES; o++)
	{
		uint64		counts[ACCOUNT_SLOTS][KIND_SLOTS];
		bool		other_account = false;
		bool		other_kind = false;
		int			slots[ACCOUNT_SLOTS];
		int			nslots;

		for (int a = 0; a < ACCOUNT_SLOTS; a++)
			for (int k = 0; k < (int) KIND_SLOTS; k++)
			{
				counts[a][k] = pg_atomic_read_u64(&m->outcomes[o][a][k]);
				if (counts[a][k] > 0)
				{
					other_account |= a == OTHER_ACCOUNT;
					other_kind |= k == OTHER_KIND;
				}
			}
		nslots = account_slots(slots, other_account);
		for (int i = 0; i < nslots; i++)
			for (int k = 0; k < (int) KIND_SLOTS; k++)
			{
				if (k == OTHER_KIND && !other_kind)
					continue;
				labels_begin(out);
				label(out, "account", account_label(slots[i]));
				label(out, "kind", k == OTHER_KIND ? OTHER_LABEL : kind_names[k]);
				put(out, outcome_names[o], (double) counts[slots[i]][k]);
			}
	}
}

/* commit -> first request, per lane that has seen a row (cumulative buckets) */
static void
put_latency(MetricsOut *out, MetricsShared *m)
{
	for (int lane = 0; lane < OUTBOX_LANES; lane++)
	{
		uint64		total = 0;
		char		prio[16];
		uint64		buckets[LATENCY_BUCKETS];

		for (int b = 0; b < (int) LATENCY_BUCKETS; b++)
		{
			buckets[b] = pg_atomic_read_u64(&m->latency[lane][b]);
			total += buckets[b];
		}
		if (total == 0)
			continue;
		snprintf(prio, sizeof(prio), "%d", lane);
		total = 0;
		for (int b = 0; b < (int) LATENCY_BUCKETS; b++)
		{
			char		le[32];

			total += buckets[b];
			if (b < (int) lengthof(latency_bounds))
				snprintf(le, sizeof(le), "%g", latency_bounds[b]);
			else
				strlcpy(le, "+Inf", sizeof(le));
			labels_begin(out);
			label(out, "le", le);
			label(out, "priority", prio);
			put(out, "sms_ir_commit_to_send_seconds_bucket", (double) total);
		}
		labels_begin(out);
		label(out, "priority", prio);
		put(out, "sms_ir_commit_to_send_seconds_sum",
			(double) pg_atomic_read_u64(&m->latency_sum_us[lane]) / USECS_PER_SEC);
		labels_begin(out);
		label(out, "priority", prio);
		put(out, "sms_ir_commit_to_send_seconds_count", (double) total);
	}
}

/* request durations: quantiles over the window, all-time _sum and _count */
static void
put_requests(MetricsOut *out, MetricsShared *m)
{
	int64		now_period = request_period(GetCurrentTimestamp());
	int			slots[ACCOUNT_SLOTS];
	int			nslots = account_slots(slots,
									   pg_atomic_read_u64(&m->request_count[OTHER_ACCOUNT]) > 0);

	for (int i = 0; i < nslots; i++)
	{
		int			a = slots[i];
		RequestWindow *w = &m->windows[a];
		RequestWindow snap;
		uint64		counts[REQUEST_BUCKETS] = {0};
		uint64		n = 0;

		SpinLockAcquire(&w->mutex);
		memcpy(snap.period, w->period, sizeof(snap.period));
		memcpy(snap.counts, w->counts, sizeof(snap.counts));
		SpinLockRelease(&w->mutex);
		for (int s = 0; s < REQUEST_WINDOWS; s++)
		{
			if (snap.period[s] != now_period && snap.period[s] != now_period - 1)
				continue;		/* an older period's */
			for (int b = 0; b < REQUEST_BUCKETS; b++)
			{
				counts[b] += snap.counts[s][b];
				n += snap.counts[s][b];
			}
		}
		/* no request in the window: no quantiles (as a Prometheus summary's NaN) */
		for (int q = 0; q < (int) lengthof(quantiles) && n > 0; q++)
		{
			uint64		rank = (uint64) ceil(quantiles[q] * (double) n);
			uint64		seen = 0;
			int			b = 0;
			char		qs[16];

			rank = Max(rank, 1);
			for (b = 0; b < REQUEST_BUCKETS - 1; b++)
			{
				seen += counts[b];
				if (seen >= rank)
					break;
			}
			snprintf(qs, sizeof(qs), "%g", quantiles[q]);
			labels_begin(out);
			label(out, "account", account_label(a));
			label(out, "quantile", qs);
			put(out, "sms_ir_request_seconds", request_bound(b));
		}
		labels_begin(out);
		label(out, "account", account_label(a));
		put(out, "sms_ir_request_seconds_sum",
			(double) pg_atomic_read_u64(&m->request_sum_us[a]) / USECS_PER_SEC);
		labels_begin(out);
		label(out, "account", account_label(a));
		put(out, "sms_ir_request_seconds_count", (double) pg_atomic_read_u64(&m->request_count[a]));
	}
}

static void
put_gauges(MetricsOut *out)
{
	int			in_flight = 0;

	for (int i = 0; i < sms_naccounts; i++)
	{
		labels_begin(out);
		label(out, "account", sms_accounts[i]->name);
		put(out, "sms_ir_breaker_open", sms_breaker_open(sms_accounts[i]) ? 1 : 0);
	}
	if (sms_worker_shared != NULL)
	{
		SpinLockAcquire(&sms_worker_shared->mutex);
		in_flight = sms_worker_shared->worker_pid != 0 ? sms_worker_shared->in_flight : 0;
		SpinLockRelease(&sms_worker_shared->mutex);
	}
	labels_begin(out);
	put(out, "sms_ir_inflight", in_flight);
}

/*
 * sms_ir._metrics(): the counters, histograms and gauges kept in shared
 * memory, as (name, labels, value) rows.
 */
PG_FUNCTION_INFO_V1(sms_metrics);
Datum
sms_metrics(PG_FUNCTION_ARGS)
{
	MetricsOut	out;
	MetricsShared *m = shared();

	InitMaterializedSRF(fcinfo, 0);
	out.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	initStringInfo(&out.labels);
	put_outcomes(&out, m);
	put_latency(&out, m);
	put_requests(&out, m);
	put_gauges(&out);
	return (Datum) 0;
}
