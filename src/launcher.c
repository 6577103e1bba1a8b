/*
 * launcher.c -- shared memory and the "sms_ir launcher" background worker.
 *
 * The launcher is registered at preload and connects to no database, so it
 * can watch pg_database for sms_ir.database_name without keeping that
 * database busy.  While the database exists it keeps one dynamic
 * "sms_ir worker" running there (worker.c), restarting it a second after it
 * exits.  It is shaped like worker_spi: signal handlers before unblocking,
 * WaitLatch with WL_EXIT_ON_PM_DEATH.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "guc.h"
#include "worker.h"

#define LAUNCHER_CHECK_MS 1000

SmsWorkerShared *sms_worker_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
sms_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SmsWorkerShared)));
}

static void
sms_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	sms_worker_shared = ShmemInitStruct("sms_ir worker", sizeof(SmsWorkerShared), &found);
	if (!found)
	{
		memset(sms_worker_shared, 0, sizeof(SmsWorkerShared));
		SpinLockInit(&sms_worker_shared->mutex);
		strlcpy(sms_worker_shared->state, "stopped", sizeof(sms_worker_shared->state));
	}
	LWLockRelease(AddinShmemInitLock);
}

void
sms_worker_init_preload(void)
{
	BackgroundWorker worker;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sms_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sms_shmem_startup;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "sms_ir", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "sms_ir_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "sms_ir launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "sms_ir launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * Is there a database called `name`?  A heap scan of pg_database: without a
 * database connection, shared catalogs can be read but not through indexes
 * that need pg_class (get_database_oid would fail here).
 */
static bool
database_exists(const char *name)
{
	bool		exists = false;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!exists && (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		exists = strcmp(NameStr(db->datname), name) == 0;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return exists;
}

/* Is a worker alive (perhaps one a previous launcher started)? */
static bool
worker_alive(void)
{
	pid_t		pid;

	SpinLockAcquire(&sms_worker_shared->mutex);
	pid = sms_worker_shared->worker_pid;
	SpinLockRelease(&sms_worker_shared->mutex);
	return pid != 0;
}

static BackgroundWorkerHandle *
start_worker(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	uint32		generation;

	SpinLockAcquire(&sms_worker_shared->mutex);
	generation = ++sms_worker_shared->worker_generation;
	SpinLockRelease(&sms_worker_shared->mutex);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "sms_ir", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "sms_ir_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "sms_ir worker", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "sms_ir worker", BGW_MAXLEN);
	worker.bgw_notify_pid = MyProcPid;
	worker.bgw_main_arg = UInt32GetDatum(generation);

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("sms_ir launcher could not start the outbox worker"),
				 errhint("Raise max_worker_processes.")));
		return NULL;
	}
	return handle;
}

void
sms_ir_launcher_main(Datum arg)
{
	BackgroundWorkerHandle *handle = NULL;
	TimestampTz last_start = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: only shared catalogs (pg_database) are needed */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	SpinLockAcquire(&sms_worker_shared->mutex);
	sms_worker_shared->launcher_pid = MyProcPid;
	sms_worker_shared->launcher_latch = MyLatch;
	SpinLockRelease(&sms_worker_shared->mutex);

	for (;;)
	{
		pid_t		pid;
		bool		running = handle != NULL &&
			GetBackgroundWorkerPid(handle, &pid) != BGWH_STOPPED;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		if (!running)
		{
			if (handle != NULL)
			{
				pfree(handle);
				handle = NULL;
			}
			/* at most one start per second, however the worker ends */
			if (TimestampDifferenceExceeds(last_start, GetCurrentTimestamp(),
										   LAUNCHER_CHECK_MS) &&
				!worker_alive() &&
				database_exists(sms_ir_database_name))
			{
				last_start = GetCurrentTimestamp();
				handle = start_worker();
			}
		}

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_CHECK_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
