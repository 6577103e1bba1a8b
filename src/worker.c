/*
 * worker.c -- the "sms_ir worker": drains sms_ir.outbox.
 *
 * Shaped like worker_spi: signal handlers before unblocking signals, one
 * WaitLatch (WL_EXIT_ON_PM_DEATH) per loop, full transaction brackets around
 * SPI, pgstat_report_activity.  Each batch:
 *
 *   1. claim: one transaction that picks due rows FOR UPDATE SKIP LOCKED,
 *      marks them 'sending', attempts + 1, and COMMITS before any request;
 *   2. send: every row's request through the same provider code as the
 *      synchronous functions, with the libcurl multi interface
 *      (max_concurrency in flight, rate_limit, keep-alive across batches);
 *   3. record: one short transaction updates every row of the batch:
 *      sent, queued again with back-off, failed, or unknown.
 *
 * Rows still 'sending' when the worker starts were in flight when it
 * stopped: delivery_guarantee decides (at_least_once re-queues them,
 * at_most_once marks them unknown).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "libpq/pqsignal.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/pmsignal.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "args.h"
#include "http.h"
#include "mobile.h"
#include "payload.h"
#include "provider.h"
#include "secret.h"
#include "token.h"
#include "worker.h"

/* Longest sleep, so a pending DROP DATABASE (which waits 5 s) sees us go. */
#define MAX_SLEEP_MS 500
#define TRACK_EVERY_MS 10000
#define TRACK_ROWS 50
/* status requests one tracked row may need: one per message id of a pack */
#define TRACK_CALLS_PER_ROW 100
#define RETENTION_EVERY_MS 60000
#define RETENTION_ROWS 1000
#define RETENTION_MAX_ROUNDS 10
/* longest last_error stored in the outbox (cut at a character boundary) */
#define OUTBOX_ERROR_MAX_BYTES 1000
/* a row stuck in recording is retried this often */
#define RECORD_RETRY_MS 1000

/* One claimed outbox row and what happened to it. */
typedef struct OutboxRow
{
	int64		id;
	int			attempts;
	const SmsProvider *provider;
	SmsArgs		args;
	SmsRequest	req;
	HttpCall	call;
	/* outcome */
	const char *status;			/* sent, queued, failed, unknown, sending */
	char	   *result;			/* jsonb text or NULL */
	char	   *last_error;
	TimestampTz next_at;		/* for 'queued' */
	bool		token_failed;	/* the provider token could not be fetched */
	SmsError	token_error;	/* ... and why */
	bool		uses_token;		/* sent with a session token (settings decide) */
	bool		by_pack;		/* delivery tracking: one report for the pack */
} OutboxRow;

static MemoryContext batch_cxt = NULL;

/* when the main loop next looks for due rows (0: at once) */
static TimestampTz next_work_at = 0;

static void
set_state(const char *state)
{
	SpinLockAcquire(&sms_worker_shared->mutex);
	strlcpy(sms_worker_shared->state, state, sizeof(sms_worker_shared->state));
	sms_worker_shared->paused = !sms_ir_worker_enabled;
	SpinLockRelease(&sms_worker_shared->mutex);
}

static void
note_error(const char *text)
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

static void
begin_xact(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
end_xact(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);
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
	};

	for (size_t i = 0; i < lengthof(pinned); i++)
		SetConfigOption(pinned[i][0], pinned[i][1], PGC_SUSET, PGC_S_OVERRIDE);
}

/* Is sms_ir (with its outbox) installed in this database?  In a transaction. */
static bool
outbox_exists(void)
{
	Oid			nsp;

	if (!OidIsValid(get_extension_oid("sms_ir", true)))
		return false;
	nsp = get_namespace_oid("sms_ir", true);
	return OidIsValid(nsp) && OidIsValid(get_relname_relid("outbox", nsp));
}

/*
 * Rows found 'sending' were in flight when a worker stopped (or when this
 * one hit an error).  Each had its attempt counted at claim time, so the
 * attempt lost here counts too: a row that has used max_attempts ends
 * 'unknown' (its last request may or may not have reached the provider)
 * instead of being queued again, and no crash loop sends forever.
 */
static void
recover_in_flight(void)
{
	Datum		args[2];
	Oid			argtypes[2] = {BOOLOID, INT4OID};

	args[0] = BoolGetDatum(sms_ir_delivery_guarantee == SMS_AT_LEAST_ONCE);
	args[1] = Int32GetDatum(sms_ir_max_attempts);
	begin_xact("sms_ir: recovering rows in flight");
	if (SPI_execute_with_args(
							  "UPDATE sms_ir.outbox"
							  "   SET status = (CASE WHEN $1 AND attempts OPERATOR(pg_catalog.<) $2"
							  "                      THEN 'queued' ELSE 'unknown' END)::sms_ir.outbox_status,"
							  "       next_attempt_at = pg_catalog.now(),"
							  "       last_error = CASE WHEN $1 AND attempts OPERATOR(pg_catalog.<) $2"
							  "                         THEN 'the worker stopped while this request was in flight'"
							  "                         ELSE 'the worker stopped while this request was in flight; its outcome is unknown'"
							  "                    END"
							  " WHERE status OPERATOR(pg_catalog.=) 'sending'",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not recover in-flight outbox rows");
	if (SPI_processed > 0)
		ereport(LOG,
				(errmsg("sms_ir worker found %llu outbox rows in flight; marked them %s",
						(unsigned long long) SPI_processed,
						sms_ir_delivery_guarantee == SMS_AT_LEAST_ONCE ?
						"queued (unknown when out of attempts)" : "unknown")));
	end_xact();
}

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
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* Decide what a finished (or abandoned) request means for its row. */
static void
judge(OutboxRow *row)
{
	SmsReply	reply;
	SmsErrorClass cls;
	bool		outcome_unknown;

	if (!row->call.done)
	{
		/* aborted by shutdown: unsent rows go back, sent ones stay in flight */
		row->status = row->call.request_sent ? "sending" : "queued";
		row->next_at = GetCurrentTimestamp();
		return;
	}

	if (row->token_failed)
	{
		memset(&reply, 0, sizeof(reply));
		reply.err = row->token_error;
	}
	else
		http_call_reply(row->provider, &row->args, &row->call, &reply);
	cls = reply.err.cls;

	if (cls == SMS_OK)
	{
		row->status = "sent";
		row->result = result_json(row, &reply);
		return;
	}

	row->last_error = sms_text_clip(sms_error_text(&reply.err), OUTBOX_ERROR_MAX_BYTES);

	/*
	 * The provider refused its session token (expired or revoked): forget it
	 * and send again at once; the next batch fetches a new token.  A token
	 * that cannot be fetched (token_failed) is a real auth failure.
	 */
	if (cls == SMS_ERR_AUTH && row->uses_token && !row->token_failed &&
		row->attempts < sms_ir_max_attempts)
	{
		sms_token_forget();
		row->status = "queued";
		row->next_at = GetCurrentTimestamp();
		return;
	}

	/*
	 * Did the provider perhaps act on it?  A timeout or broken connection
	 * after the request went out, or a success status with a body we cannot
	 * read, leaves the outcome unknown.
	 */
	outcome_unknown = sms_outcome_unknown(&reply.err, row->call.request_sent, row->call.status);

	if (outcome_unknown && sms_ir_delivery_guarantee == SMS_AT_MOST_ONCE)
		row->status = "unknown";
	else if ((sms_error_is_transient(cls) || outcome_unknown) &&
			 row->attempts < sms_ir_max_attempts)
	{
		row->status = "queued";
		row->next_at = retry_time(row->attempts, reply.err.retry_after);
		if (reply.err.retry_next_day)
			row->next_at = Max(row->next_at, next_tehran_day());
	}
	else
		row->status = "failed";

	if (strcmp(row->status, "queued") != 0)
		ereport(LOG,
				(errmsg("sms_ir outbox row " INT64_FORMAT " to %s is %s after %d attempt(s): %s",
						row->id, sms_mobile_mask(row->args.mobiles[0]), row->status,
						row->attempts, row->last_error)));
}

/* Claim due rows; returns how many (or -1 if the outbox is missing). */
static int
claim(int limit, OutboxRow **rows_out)
{
	Datum		arg = Int32GetDatum(limit);
	Oid			argtype = INT4OID;
	OutboxRow  *rows;
	int			n;

	begin_xact("sms_ir: claiming due rows");
	if (!outbox_exists())
	{
		end_xact();
		return -1;
	}
	if (SPI_execute_with_args(
							  "WITH due AS ("
							  "  SELECT id FROM sms_ir.outbox"
							  "   WHERE status OPERATOR(pg_catalog.=) 'queued'::sms_ir.outbox_status"
							  "     AND next_attempt_at OPERATOR(pg_catalog.<=) pg_catalog.now()"
							  "   ORDER BY next_attempt_at, id"
							  "   LIMIT $1 FOR UPDATE SKIP LOCKED)"
							  " UPDATE sms_ir.outbox o"
							  "    SET status = 'sending', attempts = o.attempts OPERATOR(pg_catalog.+) 1"
							  "   FROM due WHERE o.id OPERATOR(pg_catalog.=) due.id"
							  " RETURNING o.id, o.attempts, o.provider, o.kind, o.payload",
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not claim outbox rows");

	n = (int) SPI_processed;
	rows = MemoryContextAllocZero(batch_cxt, sizeof(OutboxRow) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		OutboxRow  *row = &rows[i];
		MemoryContext old;
		char	   *provider;
		char	   *kind;
		Jsonb	   *payload;

		row->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		row->attempts = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		if (row->attempts > sms_ir_max_attempts)
		{
			/* max_attempts was lowered, or requeue() raced a crash: no more requests */
			row->status = "failed";
			row->last_error = psprintf("no attempt left: %d of sms_ir.max_attempts = %d used",
									   row->attempts - 1, sms_ir_max_attempts);
			continue;
		}

		old = MemoryContextSwitchTo(batch_cxt);
		provider = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		kind = TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull));
		payload = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 5, &isnull));
		row->provider = sms_provider_by_name(provider);
		if (row->provider == NULL)
		{
			row->status = "failed";
			row->last_error = psprintf("provider \"%s\" is not available in this version of sms_ir",
									   provider);
		}
		else
		{
			/* payloads were validated at insert; settings may have changed since */
			PG_TRY();
			{
				sms_payload_to_args(row->provider, kind, payload, &row->args);
			}
			PG_CATCH();
			{
				ErrorData  *edata;

				MemoryContextSwitchTo(batch_cxt);
				edata = CopyErrorData();
				FlushErrorState();
				row->status = "failed";
				row->last_error = psprintf("invalid payload: %s", edata->message);
			}
			PG_END_TRY();
		}
		MemoryContextSwitchTo(old);
	}

	/*
	 * Under at_least_once the claim need not be durable before the requests
	 * go out: a claim lost in a crash only means the rows are sent again,
	 * which that guarantee allows.  Committing it without waiting for the
	 * WAL flush takes one fsync off the commit-to-request path.  The batch's
	 * result transaction flushes it anyway.  at_most_once keeps it durable.
	 */
	if (n > 0 && sms_ir_delivery_guarantee == SMS_AT_LEAST_ONCE)
		(void) set_config_option("synchronous_commit", "off", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
	end_xact();
	*rows_out = rows;
	return n;
}

static Datum
array_datum(Datum *values, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/* Every row's outcome, written by one statement (arrays of equal length). */
#define RECORD_SQL \
	"UPDATE sms_ir.outbox o" \
	"   SET status = r.status::sms_ir.outbox_status," \
	"       sent_at = CASE WHEN r.status OPERATOR(pg_catalog.=) 'sent'" \
	"                      THEN pg_catalog.clock_timestamp() ELSE o.sent_at END," \
	"       result = COALESCE(r.result, o.result)," \
	"       last_error = CASE WHEN r.status OPERATOR(pg_catalog.=) 'sent' THEN NULL" \
	"                         ELSE COALESCE(r.last_error, o.last_error) END," \
	"       next_attempt_at = COALESCE(r.next_at, o.next_attempt_at)" \
	"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), pg_catalog.unnest($2::pg_catalog.text[])," \
	"                  pg_catalog.unnest($3::pg_catalog.jsonb[]), pg_catalog.unnest($4::pg_catalog.text[])," \
	"                  pg_catalog.unnest($5::pg_catalog.timestamptz[]))" \
	"       AS r(id, status, result, last_error, next_at)" \
	" WHERE o.id OPERATOR(pg_catalog.=) r.id" \
	"   AND o.status OPERATOR(pg_catalog.=) 'sending'::sms_ir.outbox_status"

/*
 * Run RECORD_SQL for rows[0..n-1] in a subtransaction; false (and the
 * error's message in *why) if it raised.  The current transaction goes on.
 */
static bool
record_rows_try(OutboxRow **rows, int n, char **why)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *statuses = palloc(sizeof(Datum) * n);
	Datum	   *results = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	Datum	   *next_ats = palloc(sizeof(Datum) * n);
	bool	   *no_result = palloc(sizeof(bool) * n);
	bool	   *no_error = palloc(sizeof(bool) * n);
	bool	   *no_next = palloc(sizeof(bool) * n);
	Datum		args[5];
	Oid			argtypes[5] = {INT8ARRAYOID, TEXTARRAYOID, JSONBARRAYOID,
	TEXTARRAYOID, TIMESTAMPTZARRAYOID};
	volatile bool ok = true;
	int			holdoff = InterruptHoldoffCount;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		for (int i = 0; i < n; i++)
		{
			OutboxRow  *row = rows[i];

			ids[i] = Int64GetDatum(row->id);
			statuses[i] = CStringGetTextDatum(row->status);
			no_result[i] = row->result == NULL;
			results[i] = row->result ?
				DirectFunctionCall1(jsonb_in, CStringGetDatum(row->result)) : (Datum) 0;
			no_error[i] = row->last_error == NULL;
			errors[i] = row->last_error ? CStringGetTextDatum(row->last_error) : (Datum) 0;
			no_next[i] = strcmp(row->status, "queued") != 0;
			next_ats[i] = TimestampTzGetDatum(row->next_at);
		}
		args[0] = array_datum(ids, NULL, n, INT8OID);
		args[1] = array_datum(statuses, NULL, n, TEXTOID);
		args[2] = array_datum(results, no_result, n, JSONBOID);
		args[3] = array_datum(errors, no_error, n, TEXTOID);
		args[4] = array_datum(next_ats, no_next, n, TIMESTAMPTZOID);
		if (SPI_execute_with_args(RECORD_SQL, 5, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record outbox results");
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
 * Record every row's outcome in one short transaction.  One statement for
 * the whole batch; if it fails, each row alone, and a row whose outcome
 * still cannot be stored (a reply the table refuses, say) is recorded as
 * 'failed' -- 'unknown' under at_most_once when its request went out --
 * with the reason in last_error.  It is never re-sent with the rest of its
 * batch.  Returns false if some row could not be recorded at all (it stays
 * 'sending' and in-flight recovery settles it).
 */
static bool
record(OutboxRow *rows, int n)
{
	OutboxRow **all = palloc(sizeof(OutboxRow *) * n);
	int64		sent = 0,
				failed = 0,
				retried = 0;
	char	   *why = NULL;
	bool		complete = true;

	for (int i = 0; i < n; i++)
		all[i] = &rows[i];

	begin_xact("sms_ir: recording results");
	if (!record_rows_try(all, n, &why))
	{
		ereport(LOG,
				(errmsg("sms_ir worker could not record a batch of %d outbox rows at once; recording them one by one",
						n),
				 errdetail("%s", why)));
		for (int i = 0; i < n; i++)
		{
			OutboxRow  *row = all[i];

			if (record_rows_try(&row, 1, &why))
				continue;
			row->status = (sms_ir_delivery_guarantee == SMS_AT_MOST_ONCE &&
						   row->call.request_sent) ? "unknown" : "failed";
			row->result = NULL;
			row->last_error = sms_text_clip(psprintf("the outcome could not be recorded: %s", why),
											OUTBOX_ERROR_MAX_BYTES);
			ereport(LOG,
					(errmsg("sms_ir outbox row " INT64_FORMAT " is %s: its outcome could not be recorded",
							row->id, row->status),
					 errdetail("%s", why)));
			if (!record_rows_try(&row, 1, &why))
			{
				ereport(WARNING,
						(errmsg("sms_ir worker could not record outbox row " INT64_FORMAT, row->id),
						 errdetail("%s", why)));
				row->status = "sending";
				complete = false;
			}
		}
	}
	end_xact();

	for (int i = 0; i < n; i++)
	{
		OutboxRow  *row = &rows[i];

		if (strcmp(row->status, "sent") == 0)
			sent++;
		else if (strcmp(row->status, "failed") == 0 || strcmp(row->status, "unknown") == 0)
			failed++;
		else if (strcmp(row->status, "queued") == 0 && row->call.done)
			retried++;
		if (row->last_error)
			note_error(row->last_error);
	}
	SpinLockAcquire(&sms_worker_shared->mutex);
	sms_worker_shared->sent += sent;
	sms_worker_shared->failed += failed;
	sms_worker_shared->retried += retried;
	SpinLockRelease(&sms_worker_shared->mutex);
	return complete;
}

/*
 * Stop sending on shutdown, when the postmaster is gone, and when someone
 * waits to drop our database.  Until every child of a dead postmaster exits
 * a new one cannot start, and an orphaned worker would otherwise go on
 * draining the outbox (WaitLatch's WL_EXIT_ON_PM_DEATH only fires between
 * batches); DROP DATABASE gives up after 5 s, less than a batch can take.
 */
static bool
worker_should_abort(void *arg)
{
	return ProcDiePending || !PostmasterIsAlive() || database_drop_pending();
}

static void
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
 * Connection settings, resolved once per batch for each provider in it: a
 * file secret costs a stat() per resolution, and a secret that cannot be
 * used is logged once, not once per row.
 */
typedef struct BatchConfig
{
	const SmsProvider *provider;
	bool		usable;
	SmsConfig	cfg;
	SmsSecretProblem problem;
} BatchConfig;

#define BATCH_CONFIG_SLOTS 8

typedef struct BatchConfigs
{
	int			n;
	BatchConfig slot[BATCH_CONFIG_SLOTS];
} BatchConfigs;

/* The settings of `provider` for this batch; NULL (logged) if unusable. */
static const BatchConfig *
batch_config(BatchConfigs *configs, const SmsProvider *provider)
{
	BatchConfig *c;

	for (int i = 0; i < configs->n; i++)
		if (configs->slot[i].provider == provider)
			return &configs->slot[i];
	if (configs->n == BATCH_CONFIG_SLOTS)
		elog(ERROR, "more than %d providers in one batch", BATCH_CONFIG_SLOTS);
	c = &configs->slot[configs->n++];
	c->provider = provider;
	c->usable = sms_try_current_config(provider, &c->cfg, &c->problem);
	if (c->usable)
	{
		SmsConfigProblem cp = {0};

		if (!provider->check_config(&c->cfg, &cp))
		{
			/* credentials not set: every row fails as with a wrong key */
			c->usable = false;
			c->problem.message = (char *) cp.message;
			c->problem.detail = NULL;
			c->problem.hint = cp.hint;
		}
		else
			sms_config_warn(&c->cfg, &cp);
	}
	if (!c->usable)
		ereport(LOG,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("sms_ir worker cannot use the settings of provider %s: %s",
						provider->name, c->problem.message),
				 c->problem.detail ? errdetail("%s", c->problem.detail) : 0,
				 c->problem.hint ? errhint("%s", c->problem.hint) : 0));
	return c;
}

/* Send the requests of rows[0..n-1] that still need sending. */
static void
send_rows(OutboxRow *rows, int n)
{
	HttpCall  **order = palloc(sizeof(HttpCall *) * Max(n, 1));
	HttpCall   *calls;
	HttpRunOptions opts;
	int			ncalls = 0;
	SmsConfig	cfg;
	const SmsProvider *token_failed = NULL;
	SmsError	token_err;
	BatchConfigs configs = {0};

	worker_http_options(&opts);
	for (int i = 0; i < n; i++)
	{
		const BatchConfig *bc;

		if (rows[i].status != NULL)
			continue;			/* already judged (bad payload, no attempt left) */
		bc = batch_config(&configs, rows[i].provider);
		if (!bc->usable)
		{
			/* a secret that cannot be used: nothing is sent, as with a bad key */
			rows[i].status = "failed";
			rows[i].last_error = psprintf("%s: %s", bc->problem.message,
										  bc->problem.detail ? bc->problem.detail : "");
			continue;
		}
		cfg = bc->cfg;
		/* providers with a session token: fetched at most once per batch */
		rows[i].uses_token = sms_provider_uses_token(rows[i].provider, &cfg);
		if (rows[i].uses_token &&
			(rows[i].provider == token_failed ||
			 !sms_token_apply(rows[i].provider, &cfg, &opts, &token_err)))
		{
			token_failed = rows[i].provider;
			rows[i].token_failed = true;
			rows[i].token_error = token_err;
			rows[i].call.done = true;
			rows[i].call.transport = token_err.cls;
			rows[i].call.status = token_err.http_status;
			rows[i].call.transport_message = token_err.message;
			rows[i].call.retry_after = token_err.retry_after;
			judge(&rows[i]);
			continue;
		}
		sms_provider_build(rows[i].provider, &rows[i].args, &cfg, &rows[i].req);
		rows[i].call.req = &rows[i].req;
		rows[i].call.user = &rows[i];
		order[ncalls++] = &rows[i].call;
	}
	if (ncalls == 0)
		return;

	/* http_run wants a contiguous array: copy in, run, copy back */
	calls = palloc(sizeof(HttpCall) * ncalls);
	for (int i = 0; i < ncalls; i++)
		calls[i] = *order[i];

	SpinLockAcquire(&sms_worker_shared->mutex);
	sms_worker_shared->in_flight = ncalls;
	SpinLockRelease(&sms_worker_shared->mutex);
	pgstat_report_activity(STATE_RUNNING, "sms_ir: sending");

	(void) http_run(calls, ncalls, &opts);

	SpinLockAcquire(&sms_worker_shared->mutex);
	sms_worker_shared->in_flight = 0;
	SpinLockRelease(&sms_worker_shared->mutex);

	for (int i = 0; i < ncalls; i++)
	{
		OutboxRow  *row = (OutboxRow *) calls[i].user;

		row->call = calls[i];
		judge(row);
	}
}

/*
 * The batch whose outcomes are judged but not yet committed.  If recording
 * raises (the database refuses writes for a while, say), they are recorded
 * again before anything new is claimed: a request that completed is never
 * sent again because its bookkeeping failed.
 */
static OutboxRow *unrecorded_rows = NULL;
static int	unrecorded_count = 0;

/* Record the pending batch; false if some row is left to in-flight recovery. */
static bool
record_pending(void)
{
	bool		complete;
	MemoryContext old = MemoryContextSwitchTo(batch_cxt);

	/* keep shutdown from interrupting the bookkeeping */
	HOLD_INTERRUPTS();
	complete = record(unrecorded_rows, unrecorded_count);
	RESUME_INTERRUPTS();
	MemoryContextSwitchTo(old);
	unrecorded_rows = NULL;
	unrecorded_count = 0;
	return complete;
}

/*
 * One claim-send-record cycle; returns rows handled, -1 without outbox.
 * *complete is false when a row could not be recorded at all.
 */
static int
run_batch(bool *complete)
{
	OutboxRow  *rows;
	int			n;

	*complete = true;
	MemoryContextReset(batch_cxt);
	n = claim(sms_ir_batch_size, &rows);
	if (n <= 0)
		return n;

	{
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);

		send_rows(rows, n);
		MemoryContextSwitchTo(old);
	}
	unrecorded_rows = rows;
	unrecorded_count = n;
	*complete = record_pending();
	return n;
}

/* Milliseconds until the next queued row is due (capped by poll_interval). */
static long
next_due_ms(void)
{
	long		ms = sms_ir_poll_interval_ms;

	begin_xact("sms_ir: next due row");
	if (outbox_exists() &&
		SPI_execute("SELECT pg_catalog.min(next_attempt_at) FROM sms_ir.outbox"
					" WHERE status OPERATOR(pg_catalog.=) 'queued'::sms_ir.outbox_status",
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		/* NULL: nothing queued; in the past: due now (a row the claim skipped as locked) */
		if (!isnull && !TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(d)))
		{
			TimestampTz now = GetCurrentTimestamp();
			TimestampTz due = DatumGetTimestampTz(d);

			if (due <= now)
				ms = 1;
			else if ((due - now) / 1000 < ms)
				ms = Max((due - now + 999) / 1000, 1);
		}
	}
	end_xact();
	return ms;
}

/* Call c of delivery tracking: `a` for row `row`, built with `cfg`. */
static void
track_call(HttpCall *call, int *call_row, int c, int row, const SmsProvider *provider,
		   SmsArgs *a, const SmsConfig *cfg)
{
	SmsRequest *req = palloc0(sizeof(SmsRequest));

	sms_provider_build(provider, a, cfg, req);
	call->req = req;
	call->user = a;
	call_row[c] = row;
}

/* Poll delivery reports of recently sent rows (sms_ir.track_delivery). */
static void
track_delivery(void)
{
	OutboxRow  *rows;
	int			n;
	HttpCall   *calls;
	HttpRunOptions opts;
	int			ncalls = 0;
	int		   *call_row;
	char	  **row_status;
	HttpRunOptions token_opts;
	BatchConfigs configs = {0};

	MemoryContextReset(batch_cxt);
	worker_http_options(&token_opts);
	begin_xact("sms_ir: tracking delivery");
	if (!outbox_exists() ||
		SPI_execute(psprintf("SELECT id, provider, kind::pg_catalog.text, result FROM sms_ir.outbox"
							 " WHERE status OPERATOR(pg_catalog.=) 'sent'::sms_ir.outbox_status"
							 "   AND result IS NOT NULL"
							 "   AND (delivery_status IS NULL"
							 "        OR delivery_status OPERATOR(pg_catalog.=) ANY ('{queued,sent}'::pg_catalog.text[]))"
							 "   AND sent_at OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) '3 days'::pg_catalog.interval)"
							 "   AND (delivery_checked_at IS NULL"
							 "        OR delivery_checked_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) '30 seconds'::pg_catalog.interval))"
							 " ORDER BY delivery_checked_at NULLS FIRST, id LIMIT %d", TRACK_ROWS),
					true, 0) != SPI_OK_SELECT || SPI_processed == 0)
	{
		end_xact();
		return;
	}
	n = (int) SPI_processed;
	rows = MemoryContextAllocZero(batch_cxt, sizeof(OutboxRow) * n);
	calls = MemoryContextAllocZero(batch_cxt, sizeof(HttpCall) * n * TRACK_CALLS_PER_ROW);
	call_row = MemoryContextAllocZero(batch_cxt, sizeof(int) * n * TRACK_CALLS_PER_ROW);
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);
		char	   *provider = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		Jsonb	   *result = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 4, &isnull));
		JsonbValue	ids;
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;
		SmsArgs		pack = {0};
		const char *hint;
		bool		continue_row = false;

		rows[i].id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		rows[i].provider = sms_provider_by_name(provider);
		/* a provider whose secret cannot be used is skipped (logged once) */
		if (rows[i].provider != NULL && !batch_config(&configs, rows[i].provider)->usable)
			rows[i].provider = NULL;
		pack.op = SMS_OP_PACK_STATUS;
		if (rows[i].provider != NULL)
		{
			char	   *kind = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));

			sms_args_init(&pack, SMS_OP_PACK_STATUS);
			pack.sent_as = sms_kind_op(kind);
			if (getKeyJsonValueFromContainer(&result->root, "pack_id", 7, &ids) &&
				ids.type == jbvString)
				pack.id = pnstrdup(ids.val.string.val, ids.val.string.len);
		}
		if (rows[i].provider != NULL)
			rows[i].uses_token = sms_provider_uses_token(rows[i].provider,
														 &batch_config(&configs, rows[i].provider)->cfg);
		rows[i].by_pack = rows[i].provider != NULL && pack.id != NULL &&
			sms_provider_supports(rows[i].provider, &pack, &hint);
		if (rows[i].by_pack)
		{
			/* one request for the whole pack, with the session token if any */
			SmsConfig	cfg = batch_config(&configs, rows[i].provider)->cfg;
			SmsError	err;

			if (ncalls < n * TRACK_CALLS_PER_ROW &&
				sms_token_apply(rows[i].provider, &cfg, &token_opts, &err))
			{
				SmsArgs    *a = palloc(sizeof(SmsArgs));

				*a = pack;
				track_call(&calls[ncalls], call_row, ncalls, i, rows[i].provider, a, &cfg);
				ncalls++;
			}
		}
		else if (rows[i].provider != NULL &&
				 getKeyJsonValueFromContainer(&result->root, "message_ids", 11, &ids) &&
				 ids.type == jbvBinary)
		{
			SmsConfig	cfg = batch_config(&configs, rows[i].provider)->cfg;
			SmsError	err;

			if (!sms_token_apply(rows[i].provider, &cfg, &token_opts, &err))
				continue_row = true;
			it = JsonbIteratorInit(ids.val.binary.data);
			while (!continue_row && (tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			{
				SmsArgs    *a;

				if (tok != WJB_ELEM || v.type != jbvString || ncalls >= n * TRACK_CALLS_PER_ROW)
					continue;
				a = palloc(sizeof(SmsArgs));
				sms_args_init(a, SMS_OP_STATUS);
				a->id = pnstrdup(v.val.string.val, v.val.string.len);
				track_call(&calls[ncalls], call_row, ncalls, i, rows[i].provider, a, &cfg);
				ncalls++;
			}
		}
		MemoryContextSwitchTo(old);
	}
	end_xact();

	{
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);
		Datum	   *idd = palloc(sizeof(Datum) * n);
		Datum	   *std = palloc(sizeof(Datum) * n);
		bool	   *stn = palloc(sizeof(bool) * n);
		Datum		args[2];
		Oid			argtypes[2] = {INT8ARRAYOID, TEXTARRAYOID};

		worker_http_options(&opts);
		if (ncalls > 0)
			(void) http_run(calls, ncalls, &opts);

		/* a row is delivered when all its messages are, failed when all are final */
		row_status = palloc0(sizeof(char *) * n);
		for (int c = 0; c < ncalls; c++)
		{
			SmsReply	reply;
			int			r = call_row[c];
			const char *st;

			if (!calls[c].done || calls[c].transport != SMS_OK)
				continue;
			http_call_reply(rows[r].provider, (SmsArgs *) calls[c].user, &calls[c], &reply);
			if (reply.err.cls != SMS_OK || reply.ndeliveries < 1)
			{
				if (reply.err.cls == SMS_ERR_AUTH && rows[r].uses_token)
					sms_token_forget();
				continue;
			}
			/* by message id: one delivery a call; by pack id: one per recipient */
			for (int d = 0; d < (rows[r].by_pack ? reply.ndeliveries : 1); d++)
			{
				st = reply.deliveries[d].status;
				if (row_status[r] == NULL || strcmp(row_status[r], st) == 0)
					row_status[r] = (char *) st;
				else if (strcmp(st, "queued") == 0 || strcmp(row_status[r], "queued") == 0)
					row_status[r] = "queued";
				else if (strcmp(st, "sent") == 0 || strcmp(row_status[r], "sent") == 0)
					row_status[r] = "sent";
				else
					row_status[r] = "failed";	/* mix of delivered and failed */
			}
		}
		for (int i = 0; i < n; i++)
		{
			idd[i] = Int64GetDatum(rows[i].id);
			stn[i] = row_status[i] == NULL;
			std[i] = row_status[i] ? CStringGetTextDatum(row_status[i]) : (Datum) 0;
		}
		MemoryContextSwitchTo(old);

		begin_xact("sms_ir: recording delivery");
		/* array_datum looks up the element type: only inside a transaction */
		args[0] = array_datum(idd, NULL, n, INT8OID);
		args[1] = array_datum(std, stn, n, TEXTOID);
		if (outbox_exists() &&
			SPI_execute_with_args("UPDATE sms_ir.outbox o"
								  "   SET delivery_status = COALESCE(r.st, o.delivery_status),"
								  "       delivery_checked_at = pg_catalog.now()"
								  "  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), pg_catalog.unnest($2::pg_catalog.text[])) AS r(id, st)"
								  " WHERE o.id OPERATOR(pg_catalog.=) r.id",
								  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record delivery status");
		end_xact();
	}
}

/* Purge old final rows in small batches (sms_ir.retention). */
static void
purge_old_rows(void)
{
	Datum		args[2];
	Oid			argtypes[2] = {TIMESTAMPTZOID, INT4OID};

	args[0] = TimestampTzGetDatum(GetCurrentTimestamp() -
								  (TimestampTz) sms_ir_retention_s * USECS_PER_SEC);
	args[1] = Int32GetDatum(RETENTION_ROWS);
	for (int round = 0; round < RETENTION_MAX_ROUNDS; round++)
	{
		uint64		deleted = 0;

		begin_xact("sms_ir: purging old rows");
		if (outbox_exists() &&
			SPI_execute_with_args("DELETE FROM sms_ir.outbox WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
								  " SELECT id FROM sms_ir.outbox"
								  "  WHERE status OPERATOR(pg_catalog.=) ANY ('{sent,failed,cancelled}'::sms_ir.outbox_status[])"
								  "    AND COALESCE(sent_at, created_at) OPERATOR(pg_catalog.<) $1"
								  "  LIMIT $2 FOR UPDATE SKIP LOCKED))",
								  2, argtypes, args, NULL, false, 0) == SPI_OK_DELETE)
			deleted = SPI_processed;
		end_xact();
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

void
sms_ir_worker_main(Datum arg)
{
	sigjmp_buf	local_sigjmp_buf;
	volatile bool recovered = false;
	volatile TimestampTz last_track = 0;
	volatile TimestampTz last_purge = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	worker_attach(DatumGetUInt32(arg));
	BackgroundWorkerInitializeConnection(sms_ir_database_name, NULL, 0);
	pgstat_report_appname("sms_ir worker");

	batch_cxt = AllocSetContextCreate(TopMemoryContext, "sms_ir batch",
									  ALLOCSET_DEFAULT_SIZES);

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
	 * An ERROR in a batch (say, the outbox dropped under us) is logged and
	 * the loop goes on, as in autovacuum.  Outcomes already judged are
	 * recorded before anything else (unrecorded_rows); rows left 'sending'
	 * otherwise are recovered before the next claim.
	 */
	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		ErrorData  *edata;

		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		note_error(edata->message);
		FreeErrorData(edata);
		if (unrecorded_rows == NULL)
			recovered = false;
		RESUME_INTERRUPTS();
		/* do not spin on a persistent error */
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000, PG_WAIT_EXTENSION);
	}
	PG_exception_stack = &local_sigjmp_buf;

	for (;;)
	{
		long		sleep_ms;
		int			rc;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		leave_if_database_dropped();

		if (unrecorded_rows != NULL)
		{
			/* outcomes of requests that completed: record them first */
			set_state("recording");
			if (!record_pending())
				recovered = false;
		}
		if (!sms_ir_worker_enabled)
			set_state("paused");
		else if (GetCurrentTimestamp() >= next_work_at)
		{
			int			n;
			bool		complete = true;

			if (!recovered)
			{
				bool		present;

				begin_xact("sms_ir: checking for the outbox");
				present = outbox_exists();
				end_xact();
				if (present)
				{
					recover_in_flight();
					recovered = true;
				}
			}

			set_state("sending");
			while ((n = run_batch(&complete)) == sms_ir_batch_size && complete &&
				   !worker_should_abort(NULL) && !ConfigReloadPending)
				CHECK_FOR_INTERRUPTS();
			/* a row no statement could record: in-flight recovery settles it */
			if (!complete)
				recovered = false;

			/* a batch cut short for these reasons is recorded: leave now */
			if (!PostmasterIsAlive())
				proc_exit(1);
			leave_if_database_dropped();

			if (n < 0)
			{
				set_state("no extension");
				recovered = false;
				/* CREATE EXTENSION wakes nobody: look again within a second */
				next_work_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														   Min(sms_ir_poll_interval_ms, 1000));
			}
			else
			{
				if (sms_ir_track_delivery &&
					TimestampDifferenceExceeds(last_track, GetCurrentTimestamp(), TRACK_EVERY_MS))
				{
					last_track = GetCurrentTimestamp();
					track_delivery();
				}
				if (sms_ir_retention_s > 0 &&
					TimestampDifferenceExceeds(last_purge, GetCurrentTimestamp(),
											   purge_every_ms()))
				{
					last_purge = GetCurrentTimestamp();
					purge_old_rows();
				}
				set_state("idle");
				next_work_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														   Min(sms_ir_poll_interval_ms, next_due_ms()));
			}
		}

		/*
		 * Sleep until the next poll or due row, waking at least every
		 * MAX_SLEEP_MS to look for a pending DROP DATABASE.  A set latch (a
		 * commit that queued, requeue(), SIGHUP) means: look at once.
		 */
		sleep_ms = MAX_SLEEP_MS;
		if (sms_ir_worker_enabled)
		{
			long		secs;
			int			usecs;

			TimestampDifference(GetCurrentTimestamp(), next_work_at, &secs, &usecs);
			sleep_ms = Min(sleep_ms, secs * 1000 + usecs / 1000);
		}
		rc = WaitLatch(MyLatch,
					   WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   Max(sleep_ms, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (rc & WL_LATCH_SET)
			next_work_at = 0;
	}
}
