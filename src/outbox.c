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

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/latch.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "args.h"
#include "payload.h"
#include "provider.h"
#include "worker.h"

/*
 * Set while a queue_* function inserts a payload it has just validated and
 * normalized: the BEFORE INSERT trigger then skips validating it again.
 * Reset at transaction end, so an error cannot leave it set.
 */
static int	prevalidated_inserts = 0;

static bool wake_at_commit = false;

static void
outbox_xact_callback(XactEvent event, void *arg)
{
	prevalidated_inserts = 0;
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
				latch = sms_worker_shared->paused ? NULL : sms_worker_shared->worker_latch;
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

/* Columns the trigger sets, whatever the INSERT said (see below). */
typedef enum ForcedColumn
{
	FORCED_PAYLOAD,
	FORCED_PROVIDER,
	FORCED_STATUS,
	FORCED_ATTEMPTS,
	FORCED_SEND_AFTER,
	FORCED_NEXT_ATTEMPT_AT,
	FORCED_CREATED_AT,
	FORCED_SENT_AT,
	FORCED_LAST_ERROR,
	FORCED_RESULT,
	FORCED_DELIVERY_STATUS,
	FORCED_DELIVERY_CHECKED_AT,
	FORCED_COLUMNS
} ForcedColumn;

static const char *const forced_column_names[FORCED_COLUMNS] = {
	"payload", "provider", "status", "attempts", "send_after", "next_attempt_at",
	"created_at", "sent_at", "last_error", "result", "delivery_status",
	"delivery_checked_at"
};

/* A send_after the worker can compute with: finite. */
static void
check_send_after(TimestampTz send_after)
{
	if (TIMESTAMP_NOT_FINITE(send_after))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("send_after must be a finite time"),
				 errdetail("send_after is %s.", timestamptz_to_str(send_after)),
				 errhint("Pass a time, or now() to send as soon as possible.")));
}

/*
 * The outbox's BEFORE INSERT trigger.  A caller may only queue: it chooses
 * kind, payload, send_after and dedupe_key, nothing else.  The trigger
 * validates kind + payload like the synchronous functions (unless a queue_*
 * function just did), stores the payload normalized, and sets every other
 * column the extension owns: provider from the session's configuration
 * (never the caller's: the row is sent with that provider's credentials),
 * status 'queued', attempts 0, next_attempt_at = send_after, created_at now,
 * and no result, error or delivery state.  id is GENERATED ALWAYS, so the
 * table itself refuses a caller's id.  Then it asks for a wake-up at commit.
 */
PG_FUNCTION_INFO_V1(sms_outbox_before_insert);
Datum
sms_outbox_before_insert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	static Oid	status_type = InvalidOid;
	static Datum queued_label;
	const SmsProvider *provider = sms_current_provider();
	TupleDesc	desc;
	HeapTuple	tuple;
	int			cols[FORCED_COLUMNS];
	Datum		values[FORCED_COLUMNS];
	bool		nulls[FORCED_COLUMNS];
	int			ncols = 0;
	static int	attnums[FORCED_COLUMNS];
	static Oid	attnums_relid = InvalidOid;
	bool		isnull;
	Datum		send_after;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "sms_outbox_before_insert must be a BEFORE INSERT FOR EACH ROW trigger");

	desc = RelationGetDescr(trigdata->tg_relation);
	tuple = trigdata->tg_trigtuple;
	/* column numbers never change for a table (dropped columns keep theirs) */
	if (attnums_relid != RelationGetRelid(trigdata->tg_relation))
	{
		for (int c = 0; c < FORCED_COLUMNS; c++)
		{
			attnums[c] = SPI_fnumber(desc, forced_column_names[c]);
			if (attnums[c] <= 0)
				elog(ERROR, "sms_ir.outbox has no column \"%s\"", forced_column_names[c]);
		}
		attnums_relid = RelationGetRelid(trigdata->tg_relation);
	}
	memset(nulls, 0, sizeof(nulls));

	if (prevalidated_inserts > 0)
		prevalidated_inserts--;
	else
	{
		Datum		kind = SPI_getbinval(tuple, desc, SPI_fnumber(desc, "kind"), &isnull);
		Datum		payload;
		SmsArgs		args;

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("outbox kind must not be NULL"),
					 errhint("Use bulk, like_to_like, verify or template.")));
		payload = SPI_getbinval(tuple, desc, attnums[FORCED_PAYLOAD], &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("outbox payload must not be NULL")));
		sms_payload_to_args(provider, TextDatumGetCString(kind),
							DatumGetJsonbP(payload), &args);
		cols[ncols] = attnums[FORCED_PAYLOAD];
		values[ncols++] = JsonbPGetDatum(sms_args_to_payload(&args));
	}

	cols[ncols] = attnums[FORCED_PROVIDER];
	values[ncols++] = CStringGetTextDatum(provider->name);

	if (TupleDescAttr(desc, attnums[FORCED_STATUS] - 1)->atttypid != status_type)
	{
		status_type = TupleDescAttr(desc, attnums[FORCED_STATUS] - 1)->atttypid;
		queued_label = DirectFunctionCall2(enum_in, CStringGetDatum("queued"),
										   ObjectIdGetDatum(status_type));
	}
	cols[ncols] = attnums[FORCED_STATUS];
	values[ncols++] = queued_label;

	cols[ncols] = attnums[FORCED_ATTEMPTS];
	values[ncols++] = Int32GetDatum(0);

	send_after = SPI_getbinval(tuple, desc, attnums[FORCED_SEND_AFTER], &isnull);
	if (isnull)
		send_after = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	check_send_after(DatumGetTimestampTz(send_after));
	cols[ncols] = attnums[FORCED_SEND_AFTER];
	values[ncols++] = send_after;
	cols[ncols] = attnums[FORCED_NEXT_ATTEMPT_AT];
	values[ncols++] = send_after;
	cols[ncols] = attnums[FORCED_CREATED_AT];
	values[ncols++] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());

	for (int c = FORCED_SENT_AT; c <= FORCED_DELIVERY_CHECKED_AT; c++)
	{
		cols[ncols] = attnums[c];
		nulls[ncols] = true;
		values[ncols++] = (Datum) 0;
	}

	sms_outbox_wake_at_commit();
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, ncols, cols,
													 values, nulls));
}

/*
 * Insert one validated, normalized payload; returns its id, or the id of the
 * row that already holds dedupe_key.  The statements resolve no name through
 * search_path, which matters in these SECURITY DEFINER functions.
 */
static int64
enqueue(const char *kind, Jsonb *payload, TimestampTz send_after,
		const char *dedupe_key)
{
	static SPIPlanPtr insert_plan = NULL;	/* without a key */
	static SPIPlanPtr upsert_plan = NULL;	/* with a key: ON CONFLICT */
	static SPIPlanPtr lookup_plan = NULL;
	SPIPlanPtr *plan = dedupe_key ? &upsert_plan : &insert_plan;
	Oid			types[4] = {TEXTOID, JSONBOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int64		id = 0;
	bool		isnull;

	values[0] = CStringGetTextDatum(kind);
	values[1] = JsonbPGetDatum(payload);
	values[2] = TimestampTzGetDatum(send_after);
	values[3] = dedupe_key ? CStringGetTextDatum(dedupe_key) : (Datum) 0;
	nulls[3] = dedupe_key ? ' ' : 'n';

	SPI_connect();
	if (*plan == NULL)
	{
		/* speculative insertion costs extra: only when there is a key */
		*plan = SPI_prepare(dedupe_key ?
							"INSERT INTO sms_ir.outbox (kind, payload, send_after, dedupe_key)"
							" VALUES ($1, $2, $3, $4)"
							" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id" :
							"INSERT INTO sms_ir.outbox (kind, payload, send_after, dedupe_key)"
							" VALUES ($1, $2, $3, $4) RETURNING id",
							4, types);
		if (*plan == NULL || SPI_keepplan(*plan) != 0)
			elog(ERROR, "could not prepare the outbox insert: %s",
				 SPI_result_code_string(SPI_result));
	}
	prevalidated_inserts = 1;
	if (SPI_execute_plan(*plan, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not insert into sms_ir.outbox");
	prevalidated_inserts = 0;

	if (SPI_processed == 1)
		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	else
	{
		if (lookup_plan == NULL)
		{
			lookup_plan = SPI_prepare("SELECT id FROM sms_ir.outbox"
									  " WHERE dedupe_key OPERATOR(pg_catalog.=) $1",
									  1, &types[3]);
			if (lookup_plan == NULL || SPI_keepplan(lookup_plan) != 0)
				elog(ERROR, "could not prepare the outbox lookup: %s",
					 SPI_result_code_string(SPI_result));
		}
		/*
		 * ON CONFLICT DO NOTHING waited for the transaction that holds the
		 * key and found it committed (or it is our own, earlier in this
		 * statement).  Not read-only: SPI then takes a new snapshot, which
		 * sees that row under READ COMMITTED.  Under REPEATABLE READ or
		 * SERIALIZABLE the row can stay invisible: that is a serialization
		 * failure, which the caller retries.
		 */
		if (SPI_execute_plan(lookup_plan, &values[3], &nulls[3], false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not look up dedupe_key in sms_ir.outbox");
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not queue: dedupe_key \"%s\" was taken by a concurrent transaction",
							dedupe_key),
					 errdetail("The row holding it is not visible to this transaction's snapshot."),
					 errhint("Retry the transaction.")));
		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	return id;
}

static TimestampTz
send_after_arg(FunctionCallInfo fcinfo, int argno)
{
	TimestampTz ts = PG_ARGISNULL(argno) ? GetCurrentTransactionStartTimestamp()
		: PG_GETARG_TIMESTAMPTZ(argno);

	check_send_after(ts);
	return ts;
}

static char *
dedupe_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* queue_verify(mobile, template_id bigint, parameters, send_after, dedupe_key) */
PG_FUNCTION_INFO_V1(sms_queue_verify);
Datum
sms_queue_verify(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;

	sms_args_verify_from_call(fcinfo, provider, &args);
	sms_args_check_supported(provider, &args);
	PG_RETURN_INT64(enqueue("verify", sms_args_to_payload(&args),
							send_after_arg(fcinfo, 3), dedupe_arg(fcinfo, 4)));
}

/* queue_template(recipient, template_id text, parameters, sender, send_after, dedupe_key) */
PG_FUNCTION_INFO_V1(sms_queue_template);
Datum
sms_queue_template(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;

	sms_args_template_from_call(fcinfo, provider, &args);
	sms_args_check_supported(provider, &args);
	PG_RETURN_INT64(enqueue("template", sms_args_to_payload(&args),
							send_after_arg(fcinfo, 4), dedupe_arg(fcinfo, 5)));
}

/* Shared body of queue_bulk and queue_like_to_like: one row per chunk. */
static Datum
queue_in_chunks(FunctionCallInfo fcinfo, const SmsProvider *provider, SmsArgs *all,
				const char *kind)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			chunk = provider->max_recipients;
	TimestampTz send_after = send_after_arg(fcinfo, 3);
	char	   *dedupe_key = dedupe_arg(fcinfo, 4);

	sms_args_check_supported(provider, all);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int off = 0, part_no = 1; off < all->nmobiles; off += chunk, part_no++)
	{
		SmsArgs		part = sms_args_slice(all, off, chunk);
		Datum		id;
		bool		isnull = false;

		/* row 1 keeps the key; rows 2.. get key#2, key#3, ... */
		id = Int64GetDatum(enqueue(kind, sms_args_to_payload(&part), send_after,
								   dedupe_key == NULL || part_no == 1 ? dedupe_key :
								   psprintf("%s#%d", dedupe_key, part_no)));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &id, &isnull);
	}
	return (Datum) 0;
}

/* queue_bulk(message, mobiles, line_number, send_after, dedupe_key) */
PG_FUNCTION_INFO_V1(sms_queue_bulk);
Datum
sms_queue_bulk(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;

	sms_args_bulk_from_call(fcinfo, provider, &args);
	return queue_in_chunks(fcinfo, provider, &args, "bulk");
}

/* queue_like_to_like(messages, mobiles, line_number, send_after, dedupe_key) */
PG_FUNCTION_INFO_V1(sms_queue_like_to_like);
Datum
sms_queue_like_to_like(PG_FUNCTION_ARGS)
{
	const SmsProvider *provider = sms_current_provider();
	SmsArgs		args;

	sms_args_like_to_like_from_call(fcinfo, provider, &args);
	return queue_in_chunks(fcinfo, provider, &args, "like_to_like");
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
