/*
 * worker.c -- the "sms_ir worker": drains sms_ir.outbox.  This file is the
 * loop only; its steps live in their own files:
 *
 *   worker_pipeline.c  claim -> send -> judge -> record, requests always in
 *                      flight (at most max_concurrency), results recorded
 *                      in short group-commit transactions;
 *   worker_delivery.c  delivery reports of sent rows (track_delivery);
 *   worker_inbox.c     received messages into sms_ir.inbox (inbox_poll);
 *   outbox_store.c     every statement the worker runs, prepared once.
 *
 * Shaped like pg_cron's launcher and worker_spi: signal handlers before
 * unblocking signals, one WaitLatch (WL_EXIT_ON_PM_DEATH) per idle loop,
 * full transaction brackets around SPI, pgstat_report_activity.
 *
 * Rows still 'sending' when the worker starts were in flight when it
 * stopped: delivery_guarantee decides (at_least_once re-queues them,
 * at_most_once marks them unknown).
 */
#include "postgres.h"

#include "catalog/pg_database.h"
#include "libpq/pqsignal.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/pmsignal.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "http.h"
#include "outbox_store.h"
#include "throttle.h"
#include "worker.h"
#include "worker_internal.h"

/* Longest sleep, so a pending DROP DATABASE (which waits 5 s) sees us go. */
#define MAX_SLEEP_MS 500
/* The pipeline hands control back to the loop at least this often. */
#define PIPELINE_RUN_MS 1000
#define TRACK_EVERY_MS 10000
#define RETENTION_EVERY_MS 60000
#define RETENTION_ROWS 1000
#define RETENTION_MAX_ROUNDS 10
/* After an ERROR, the loop waits this long (no spinning on a persistent error). */
#define ERROR_PAUSE_MS 1000
/* CREATE EXTENSION wakes nobody: the worker looks again this often at most. */
#define NO_EXTENSION_RECHECK_MS 1000

void
worker_set_state(const char *state)
{
	SpinLockAcquire(&sms_worker_shared->mutex);
	strlcpy(sms_worker_shared->state, state, sizeof(sms_worker_shared->state));
	sms_worker_shared->paused = !sms_ir_worker_enabled;
	SpinLockRelease(&sms_worker_shared->mutex);
}

void
worker_note_error(const char *text)
{
	int			len = pg_mbcliplen(text, strlen(text), SMS_WORKER_ERROR_LEN - 1);

	SpinLockAcquire(&sms_worker_shared->mutex);
	memcpy(sms_worker_shared->last_error, text, len);
	sms_worker_shared->last_error[len] = '\0';
	sms_worker_shared->last_error_at = GetCurrentTimestamp();
	SpinLockRelease(&sms_worker_shared->mutex);
}

/* Give up the worker slot (only ours) and tell the launcher at once. */
static void
worker_detach(int code, Datum arg)
{
	Latch	   *launcher = NULL;

	SpinLockAcquire(&sms_worker_shared->mutex);
	if (sms_worker_shared->worker_pid == MyProcPid)
	{
		sms_worker_shared->worker_pid = 0;
		sms_worker_shared->worker_latch = NULL;
		sms_worker_shared->in_flight = 0;
		sms_worker_shared->paused = false;
		strlcpy(sms_worker_shared->state, "stopped", sizeof(sms_worker_shared->state));
		launcher = sms_worker_shared->launcher_latch;
	}
	SpinLockRelease(&sms_worker_shared->mutex);
	if (launcher != NULL)
		SetLatch(launcher);
}

/*
 * Take the one worker slot, or exit: another worker holds it, or a newer
 * registration than ours (generation) is on its way.
 */
static void
worker_attach(uint32 generation)
{
	pid_t		other;
	uint32		latest;

	SpinLockAcquire(&sms_worker_shared->mutex);
	other = sms_worker_shared->worker_pid;
	latest = sms_worker_shared->worker_generation;
	if (other == 0 && generation == latest)
	{
		sms_worker_shared->worker_pid = MyProcPid;
		sms_worker_shared->worker_latch = MyLatch;
		strlcpy(sms_worker_shared->state, "starting", sizeof(sms_worker_shared->state));
	}
	SpinLockRelease(&sms_worker_shared->mutex);
	if (other != 0 || generation != latest)
	{
		ereport(LOG,
				(errmsg("sms_ir worker exiting: %s",
						other != 0 ? psprintf("worker %d is already running", (int) other) :
						"a newer worker was registered")));
		proc_exit(0);
	}
	before_shmem_exit(worker_detach, (Datum) 0);
}

/*
 * Does someone wait to drop or rename our database?  DROP DATABASE holds
 * AccessExclusiveLock on the database object while it waits up to 5 s for
 * other sessions to leave; we must be one of those that leave.
 */
static bool
database_drop_pending(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, MyDatabaseId, 0);
	if (LockAcquire(&tag, AccessShareLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, AccessShareLock, true);
	return false;
}

/* Exit if our database is about to go (see database_drop_pending). */
static void
leave_if_database_dropped(void)
{
	if (database_drop_pending())
	{
		ereport(LOG,
				(errmsg("sms_ir worker leaving database \"%s\", which is being dropped or renamed",
						sms_ir_database_name)));
		proc_exit(0);
	}
}

/*
 * The worker runs as the bootstrap superuser: nothing a database owner or a
 * role with CREATE on a schema can set may reach its statements.  The
 * session overrides what ALTER DATABASE/ROLE ... SET may have given it:
 * search_path is pg_catalog alone (a planted public.* operator or function
 * is never a candidate), and no default makes its transactions read-only,
 * serializable or time-limited.  Every statement is schema-qualified too.
 */
static void
pin_session_settings(void)
{
	static const char *const pinned[][2] = {
		{"search_path", "pg_catalog"},
		{"default_transaction_read_only", "off"},
		{"default_transaction_isolation", "read committed"},
		{"default_transaction_deferrable", "off"},
		{"lock_timeout", "0"},
		{"statement_timeout", "0"},
		{"idle_in_transaction_session_timeout", "0"},
		{"session_replication_role", "origin"},
		/*
		 * enable_sort = off (below) costs any sort at 1e10, far above
		 * jit_above_cost: a plan with one would be JIT-compiled, about a
		 * second per statement.  The worker's statements are small.
		 */
		{"jit", "off"},
	};

	for (size_t i = 0; i < lengthof(pinned); i++)
		SetConfigOption(pinned[i][0], pinned[i][1], PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * Stop sending on shutdown, when the postmaster is gone, and when someone
 * waits to drop our database.  Until every child of a dead postmaster exits
 * a new one cannot start, and an orphaned worker would otherwise go on
 * draining the outbox (WaitLatch's WL_EXIT_ON_PM_DEATH only fires when the
 * loop sleeps); DROP DATABASE gives up after 5 s, less than a drain takes.
 */
bool
worker_should_abort(void *arg)
{
	return ProcDiePending || !PostmasterIsAlive() || database_drop_pending();
}

void
worker_http_options(HttpRunOptions *opts)
{
	http_default_options(opts);
	opts->max_concurrency = sms_ir_max_concurrency;
	opts->rate_limit = sms_ir_rate_limit;
	opts->should_abort = worker_should_abort;
	/* libcurl may not resend a request that perhaps reached the provider */
	opts->send_once = (sms_ir_delivery_guarantee == SMS_AT_MOST_ONCE);
}


/*
 * Rows found 'sending' were in flight when a worker stopped (or when this
 * one hit an error).  Each had its attempt counted at claim time, so the
 * attempt lost here counts too: a row that has used max_attempts ends
 * 'unknown' (its last request may or may not have reached the provider)
 * instead of being queued again, and no crash loop sends forever.
 * Returns false when there is no outbox.
 */
static bool
recover_in_flight(void)
{
	uint64		n = 0;
	bool		present;

	outbox_store_begin("sms_ir: recovering rows in flight");
	present = outbox_store_present();
	if (present)
		n = outbox_store_recover(sms_ir_delivery_guarantee == SMS_AT_LEAST_ONCE,
								 sms_ir_max_attempts);
	outbox_store_commit();
	if (n > 0)
		ereport(LOG,
				(errmsg("sms_ir worker found %llu outbox rows in flight; marked them %s",
						(unsigned long long) n,
						sms_ir_delivery_guarantee == SMS_AT_LEAST_ONCE ?
						"queued (unknown when out of attempts)" : "unknown")));
	return present;
}

/* Milliseconds until the next queued row is due (capped by poll_interval). */
static long
next_due_ms(void)
{
	long		ms = sms_ir_poll_interval_ms;
	TimestampTz due;

	outbox_store_begin("sms_ir: next due row");
	/* in the past: due now (a row the claim skipped as locked) */
	if (outbox_store_present() && outbox_store_next_due(&due))
	{
		TimestampTz now = GetCurrentTimestamp();

		if (due <= now)
			ms = 1;
		else if ((due - now) / 1000 < ms)
			ms = Max((due - now + 999) / 1000, 1);
	}
	outbox_store_commit();
	return ms;
}

/* Purge old final rows in small batches (sms_ir.retention). */
static void
purge_old_rows(void)
{
	TimestampTz before = GetCurrentTimestamp() -
		(TimestampTz) sms_ir_retention_s * USECS_PER_SEC;

	for (int round = 0; round < RETENTION_MAX_ROUNDS; round++)
	{
		uint64		deleted = 0;

		outbox_store_begin("sms_ir: purging old rows");
		if (outbox_store_present())
			deleted = outbox_store_purge(before, RETENTION_ROWS);
		outbox_store_commit();
		if (deleted < RETENTION_ROWS)
			break;
	}
}

/* How often the purge runs: every RETENTION_EVERY_MS, or more often for a short retention. */
static long
purge_every_ms(void)
{
	return (long) Min((int64) RETENTION_EVERY_MS, (int64) sms_ir_retention_s * 1000);
}

/* How often received messages are polled (sms_ir.inbox_poll), in ms. */
static int
inbox_every_ms(void)
{
	return (int) Min((int64) sms_ir_inbox_poll_s * 1000, (int64) INT_MAX);
}

/* When the loop next has upkeep to do (delivery tracking, retention, inbox). */
static TimestampTz
next_upkeep_at(TimestampTz last_track, TimestampTz last_purge, TimestampTz last_inbox)
{
	TimestampTz at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), PIPELINE_RUN_MS);

	if (sms_ir_track_delivery)
		at = Min(at, TimestampTzPlusMilliseconds(last_track, TRACK_EVERY_MS));
	if (sms_ir_retention_s > 0)
		at = Min(at, TimestampTzPlusMilliseconds(last_purge, purge_every_ms()));
	if (sms_ir_inbox_poll_s > 0)
		at = Min(at, TimestampTzPlusMilliseconds(last_inbox, inbox_every_ms()));
	return at;
}

/* Delivery tracking, retention and the inbox, each when it is due. */
static void
upkeep(TimestampTz *last_track, TimestampTz *last_purge, TimestampTz *last_inbox)
{
	if (sms_ir_track_delivery &&
		TimestampDifferenceExceeds(*last_track, GetCurrentTimestamp(), TRACK_EVERY_MS))
	{
		*last_track = GetCurrentTimestamp();
		worker_track_delivery();
	}
	if (sms_ir_retention_s > 0 &&
		TimestampDifferenceExceeds(*last_purge, GetCurrentTimestamp(), purge_every_ms()))
	{
		*last_purge = GetCurrentTimestamp();
		purge_old_rows();
	}
	if (sms_ir_inbox_poll_s > 0 &&
		TimestampDifferenceExceeds(*last_inbox, GetCurrentTimestamp(), inbox_every_ms()))
	{
		worker_poll_inbox();
		/* from the end of a poll: a slow provider never starves the outbox */
		*last_inbox = GetCurrentTimestamp();
	}
	sms_throttle_save();
}

/* What held rows wait for, to notice when it changes. */
typedef struct GuardRailSettings
{
	int			daily_limits[SMS_MAX_ACCOUNTS + 1];
	SmsQuietHours quiet_hours;
	pg_tz	   *timezone;
} GuardRailSettings;

static GuardRailSettings
guard_rail_settings(void)
{
	GuardRailSettings g;

	memset(&g, 0, sizeof(g));
	for (int i = 0; i < sms_naccounts; i++)
		g.daily_limits[i] = *sms_accounts[i]->daily_limit;
	g.quiet_hours = sms_ir_quiet_hours;
	g.timezone = sms_ir_timezone;
	return g;
}

/*
 * Rows held by a daily limit or quiet hours are due again at once when that
 * setting changed: a limit raised (or lifted), another window.  They are
 * held again if it still applies.  True if some row was released.
 */
static bool
release_held(const GuardRailSettings *before)
{
	GuardRailSettings now = guard_rail_settings();
	bool		daily = false;
	bool		quiet;
	uint64		n = 0;

	for (int i = 0; i < sms_naccounts; i++)
		if (now.daily_limits[i] != before->daily_limits[i])
			daily = true;
	quiet = now.quiet_hours.start_min != before->quiet_hours.start_min ||
		now.quiet_hours.end_min != before->quiet_hours.end_min;
	if (now.timezone != before->timezone)
		daily = quiet = true;
	if (!daily && !quiet)
		return false;

	outbox_store_begin("sms_ir: releasing held rows");
	if (outbox_store_present())
	{
		if (daily)
			n += outbox_store_release_held(HELD_DAILY_LIMIT);
		if (quiet)
			n += outbox_store_release_held(HELD_QUIET_HOURS);
	}
	outbox_store_commit();
	if (n > 0)
		ereport(LOG,
				(errmsg("sms_ir worker: " UINT64_FORMAT " held rows are due again after a settings change", n)));
	return n > 0;
}

/* Sleep until next_work_at (at most MAX_SLEEP_MS); true if the latch woke us. */
static bool
sleep_until(TimestampTz next_work_at)
{
	long		sleep_ms = MAX_SLEEP_MS;
	int			rc;

	/* statistics the store's transactions left pending */
	pgstat_report_stat(true);
	/* the pipeline may have consumed the latch that SIGHUP set */
	if (ConfigReloadPending)
		return true;

	if (sms_ir_worker_enabled)
	{
		long		secs;
		int			usecs;

		TimestampDifference(GetCurrentTimestamp(), next_work_at, &secs, &usecs);
		sleep_ms = Min(sleep_ms, secs * 1000 + usecs / 1000);
	}
	rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
				   Max(sleep_ms, 1), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	return (rc & WL_LATCH_SET) != 0;
}

void
sms_ir_worker_main(Datum arg)
{
	sigjmp_buf	local_sigjmp_buf;
	volatile bool recovered = false;
	volatile TimestampTz last_track = 0;
	volatile TimestampTz last_purge = 0;
	volatile TimestampTz last_inbox = 0;
	/* when the loop next looks for due rows (0: at once) */
	volatile TimestampTz next_work_at = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	worker_attach(DatumGetUInt32(arg));
	BackgroundWorkerInitializeConnection(sms_ir_database_name, NULL, 0);
	pgstat_report_appname("sms_ir worker");
	worker_pipeline_init();

	/*
	 * Right after a burst the outbox has no statistics, and the planner would
	 * sort the whole backlog on every claim instead of reading the due-rows
	 * index in order up to the LIMIT.  The worker's few queries are all best
	 * served by plain index scans.
	 */
	SetConfigOption("enable_sort", "off", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION);
	pin_session_settings();

	ereport(LOG, (errmsg("sms_ir worker started in database \"%s\"", sms_ir_database_name)));

	/*
	 * An ERROR (say, the outbox dropped under us) is logged and the loop
	 * goes on, as in autovacuum.  Requests in flight are abandoned; outcomes
	 * already judged are recorded before anything else, then rows left
	 * 'sending' are recovered before the next claim.
	 */
	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		ErrorData  *edata;

		/*
		 * The error's context callbacks lived in frames now gone (SPI's, the
		 * parser's): the next error must not call them.
		 */
		error_context_stack = NULL;
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		worker_note_error(edata->message);
		FreeErrorData(edata);
		worker_pipeline_reset_after_error();
		recovered = false;
		RESUME_INTERRUPTS();
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ERROR_PAUSE_MS,
						 PG_WAIT_EXTENSION);
	}
	PG_exception_stack = &local_sigjmp_buf;

	for (;;)
	{
		PipelineResult result;

		/* the pipeline holds no row here unless it yielded */
		if (!worker_pipeline_busy())
			CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			GuardRailSettings before = guard_rail_settings();

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			worker_pipeline_forget_settings();
			if (recovered && release_held(&before))
				next_work_at = 0;
		}
		if (!worker_pipeline_busy())
			leave_if_database_dropped();

		if (!recovered)
		{
			/* outcomes of requests that completed first, then the rest in flight */
			worker_set_state("recording");
			(void) worker_pipeline_record_pending();
			recovered = recover_in_flight();
		}

		if (!sms_ir_worker_enabled && !worker_pipeline_busy())
			worker_set_state("paused");
		else if (!recovered)
		{
			worker_set_state("no extension");
			next_work_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   Min(sms_ir_poll_interval_ms,
														   NO_EXTENSION_RECHECK_MS));
		}
		else if (GetCurrentTimestamp() >= next_work_at || worker_pipeline_busy())
		{
			worker_set_state("sending");
			result = worker_pipeline_run(next_upkeep_at(last_track, last_purge, last_inbox));
			switch (result)
			{
				case PIPELINE_STOPPED:
					/* what was in flight is recorded: leave now */
					if (!PostmasterIsAlive())
						proc_exit(1);
					leave_if_database_dropped();
					CHECK_FOR_INTERRUPTS();
					continue;
				case PIPELINE_NO_OUTBOX:
					recovered = false;
					continue;
				case PIPELINE_YIELD:
					upkeep((TimestampTz *) &last_track, (TimestampTz *) &last_purge,
						   (TimestampTz *) &last_inbox);
					continue;
				case PIPELINE_IDLE:
					/* a row no statement could record: in-flight recovery settles it */
					if (worker_pipeline_take_left_sending())
						recovered = false;
					upkeep((TimestampTz *) &last_track, (TimestampTz *) &last_purge,
						   (TimestampTz *) &last_inbox);
					worker_set_state("idle");
					next_work_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															   next_due_ms());
					break;
			}
		}

		/*
		 * Sleep until the next poll or due row, waking at least every
		 * MAX_SLEEP_MS to look for a pending DROP DATABASE.  A set latch (a
		 * commit that queued, requeue(), SIGHUP) means: look at once.
		 */
		if (sleep_until(next_work_at))
			next_work_at = 0;
	}
}
