/*
 * outbox.c -- the SQL side of the outbox: payload validation for the
 * outbox's BEFORE INSERT trigger, the commit-time wake-up of the worker,
 * and worker_status().
 *
 * Waking: validating a row marks the transaction; a transaction callback
 * sets the worker's latch once at COMMIT (never at abort), so a rolled-back
 * transaction costs the worker nothing and one transaction that queues a
 * thousand rows wakes it once.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "payload.h"
#include "provider.h"
#include "worker.h"

static bool wake_at_commit = false;

static void
outbox_xact_callback(XactEvent event, void *arg)
{
	if (!wake_at_commit)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (sms_worker_shared != NULL)
			{
				Latch	   *latch;

				SpinLockAcquire(&sms_worker_shared->mutex);
				latch = sms_worker_shared->worker_latch;
				SpinLockRelease(&sms_worker_shared->mutex);
				if (latch != NULL)
					SetLatch(latch);
			}
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

void
sms_outbox_init(void)
{
	RegisterXactCallback(outbox_xact_callback, NULL);
}

void
sms_outbox_wake_at_commit(void)
{
	wake_at_commit = true;
}

/*
 * sms_ir._outbox_validate(kind text, payload jsonb) RETURNS jsonb
 * Validates like the synchronous functions; returns the canonical payload.
 */
PG_FUNCTION_INFO_V1(sms_outbox_validate);
Datum
sms_outbox_validate(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("outbox kind must not be NULL"),
				 errhint("Use bulk, like_to_like, verify or template.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("outbox payload must not be NULL")));
	sms_payload_to_args(provider, text_to_cstring(PG_GETARG_TEXT_PP(0)),
						PG_GETARG_JSONB_P(1), &args);
	sms_outbox_wake_at_commit();
	PG_RETURN_JSONB_P(sms_args_to_payload(&args));
}

/* sms_ir._wake_worker(): wake the worker when this transaction commits. */
PG_FUNCTION_INFO_V1(sms_outbox_wake);
Datum
sms_outbox_wake(PG_FUNCTION_ARGS)
{
	sms_outbox_wake_at_commit();
	PG_RETURN_VOID();
}

/* sms_ir.worker_status(): one row from shared memory. */
PG_FUNCTION_INFO_V1(sms_worker_status);
Datum
sms_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8];
	SmsWorkerShared snap;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, 0, sizeof(nulls));

	if (sms_worker_shared == NULL)
	{
		memset(&snap, 0, sizeof(snap));
		strlcpy(snap.state, "not preloaded", sizeof(snap.state));
	}
	else
	{
		SpinLockAcquire(&sms_worker_shared->mutex);
		memcpy(&snap, sms_worker_shared, sizeof(snap));
		SpinLockRelease(&sms_worker_shared->mutex);
	}

	nulls[0] = snap.worker_pid == 0;
	values[0] = Int32GetDatum(snap.worker_pid);
	values[1] = CStringGetTextDatum(snap.state);
	values[2] = Int64GetDatum(snap.sent);
	values[3] = Int64GetDatum(snap.failed);
	values[4] = Int64GetDatum(snap.retried);
	values[5] = Int32GetDatum(snap.in_flight);
	nulls[6] = snap.last_error[0] == '\0';
	values[6] = CStringGetTextDatum(snap.last_error);
	nulls[7] = snap.last_error_at == 0;
	values[7] = TimestampTzGetDatum(snap.last_error_at);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
