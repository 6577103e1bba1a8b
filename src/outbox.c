/*
 * outbox.c -- the SQL side of the outbox: payload validation for the
 * outbox's BEFORE INSERT trigger, the commit-time wake-up of the worker,
 * and worker_status().
 *
 * Waking: validating a row marks the transaction; a transaction callback
 * sets the worker's latch once at COMMIT (never at abort), so a rolled-back
 * transaction costs the worker nothing and one transaction that queues a
 * thousand rows wakes it once.
 *
 * Enqueueing cheaply (issue 9): a queue_* call costs no more than a trigger
 * writing a hand-written outbox row.  The row a queue function has just
 * validated is not validated again by the BEFORE INSERT trigger (see
 * "prevalidated" below), and a row without a dedupe_key is inserted without
 * SPI or a plan (direct_insert()), through the executor's simple-insert path:
 * the same BEFORE/AFTER row triggers, constraints and index entries as an
 * INSERT, minus parse, plan, executor start-up, snapshot and RETURNING.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/memutils.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/relcache.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "account.h"
#include "args.h"
#include "guc.h"
#include "payload.h"
#include "provider.h"
#include "template.h"
#include "throttle.h"
#include "worker.h"

/*
 * Set only by C code, only while a queue_* function inserts the payload it
 * has just validated and normalized: kind and payload exactly as inserted.
 * The BEFORE INSERT trigger skips validating a row only if its kind and
 * payload are byte for byte these (so nothing else -- a row a trigger on the
 * outbox inserts meanwhile, or a row some earlier trigger changed -- rides on
 * it), and clears it at once: one row per validation.  Cleared again when the
 * insert returns or fails (PG_FINALLY) and at transaction end.  No SQL can
 * set it.  The other columns are forced by the trigger whatever happened.
 */
static const char *prevalidated_kind = NULL;
static Jsonb *prevalidated_payload = NULL;
static int	direct_depth = 0;	/* direct_insert() calls running */

static bool wake_at_commit = false;

static void
outbox_xact_callback(XactEvent event, void *arg)
{
	prevalidated_kind = NULL;
	prevalidated_payload = NULL;
	direct_depth = 0;
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

static void outbox_relcache_callback(Datum arg, Oid relid);

void
sms_outbox_init(void)
{
	RegisterXactCallback(outbox_xact_callback, NULL);
	CacheRegisterRelcacheCallback(outbox_relcache_callback, (Datum) 0);
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
	FORCED_PRIORITY,			/* kept when given (0..10), else by kind */
	FORCED_EXPIRES_AT,			/* kept when given, else by kind */
	FORCED_ACCOUNT,
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
	"payload", "priority", "expires_at", "account", "provider", "status", "attempts", "send_after", "next_attempt_at",
	"created_at", "sent_at", "last_error", "result", "delivery_status",
	"delivery_checked_at"
};

/* Column numbers of the outbox (never change for a table: dropped columns keep theirs). */
static int	attnums[FORCED_COLUMNS];
static int	attnums_kind;
static int	attnums_dedupe_key;
static Oid	attnums_relid = InvalidOid;

/*
 * Longest dedupe_key, in bytes: far below what a btree entry holds (about
 * 2,700 bytes), so a long key is a clear 22023, never an index error.
 */
#define DEDUPE_KEY_MAX_BYTES 1000
/* Longest valid_for: a message not sent within a year is not worth sending. */
#define VALID_FOR_MAX_DAYS 366

/*
 * A send_after the worker can compute with: finite.  A bad value like a bad
 * send_at (22023), not a datetime overflow.
 */
static void
check_send_after(TimestampTz send_after)
{
	if (TIMESTAMP_NOT_FINITE(send_after))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("send_after must be a finite time"),
				 errdetail("send_after is %s.", timestamptz_to_str(send_after)),
				 errhint("Pass a time, or now() to send as soon as possible.")));
}

static void
check_dedupe_key(size_t len)
{
	if (len > DEDUPE_KEY_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dedupe_key is too long"),
				 errdetail("It has %zu bytes; a dedupe_key has at most %d.", len,
						   DEDUPE_KEY_MAX_BYTES),
				 errhint("Use a short key such as 'order:42:shipped', or a hash of a long one.")));
}

/* Is this varlena datum exactly these bytes?  (Compressed or external: no.) */
static bool
datum_is_bytes(Datum d, const char *bytes, Size len)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
		return false;
	return VARSIZE_ANY_EXHDR(v) == len && memcmp(VARDATA_ANY(v), bytes, len) == 0;
}

/*
 * Is this row the one a queue_* function validated and is inserting right
 * now: its kind and payload byte for byte what was validated?
 */
static bool
row_is_prevalidated(HeapTuple tuple, TupleDesc desc)
{
	Datum		d;
	bool		isnull;

	if (prevalidated_payload == NULL)
		return false;
	d = heap_getattr(tuple, attnums_kind, desc, &isnull);
	if (isnull || !datum_is_bytes(d, prevalidated_kind, strlen(prevalidated_kind)))
		return false;
	d = heap_getattr(tuple, attnums[FORCED_PAYLOAD], desc, &isnull);
	return !isnull && datum_is_bytes(d, VARDATA_ANY(prevalidated_payload),
									 VARSIZE_ANY_EXHDR(prevalidated_payload));
}

/* Does the row already hold these values in these columns? */
static bool
row_holds(HeapTuple tuple, TupleDesc desc, int ncols, const int *cols,
		  const Datum *values, const bool *nulls)
{
	Datum	   *tv = palloc(sizeof(Datum) * desc->natts);
	bool	   *tn = palloc(sizeof(bool) * desc->natts);
	bool		same = true;

	heap_deform_tuple(tuple, desc, tv, tn);
	for (int i = 0; i < ncols && same; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, cols[i] - 1);
		Datum		have = tv[cols[i] - 1];

		if (nulls[i] || tn[cols[i] - 1])
			same = nulls[i] && tn[cols[i] - 1];
		else if (att->attlen == -1)
		{
			struct varlena *want = (struct varlena *) DatumGetPointer(values[i]);

			same = !VARATT_IS_EXTENDED(want) &&
				datum_is_bytes(have, VARDATA(want), VARSIZE(want) - VARHDRSZ);
		}
		else
			same = datumIsEqual(values[i], have, att->attbyval, att->attlen);
	}
	pfree(tv);
	pfree(tn);
	return same;
}

/*
 * Lanes: higher priority goes first.  OTP kinds (verify, template) are the
 * OTP lane by default, bulk kinds the bulk lane.
 */
#define PRIORITY_MIN 0
#define PRIORITY_MAX 10
#define PRIORITY_OTP 10
#define PRIORITY_BULK 0

static bool
kind_is_otp(SmsOp op)
{
	return op == SMS_OP_VERIFY || op == SMS_OP_TEMPLATE;
}

static int16
checked_priority(int64 p)
{
	if (p < PRIORITY_MIN || p > PRIORITY_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid priority " INT64_FORMAT, p),
				 errdetail("A priority is between %d and %d; higher goes first.",
						   PRIORITY_MIN, PRIORITY_MAX),
				 errhint("Leave it NULL for the kind's default: %d for verify and template, %d for bulk and like_to_like.",
						 PRIORITY_OTP, PRIORITY_BULK)));
	return (int16) p;
}

/*
 * When a row expires by default: OTP kinds sms_ir.otp_valid_for after they
 * are due (from now when send_after is past); bulk kinds never.  False: never.
 */
static bool
default_expiry(SmsOp op, TimestampTz send_after, TimestampTz *expires_at)
{
	TimestampTz from = Max(send_after, GetCurrentTransactionStartTimestamp());

	if (!kind_is_otp(op) || sms_ir_otp_valid_for_s <= 0)
		return false;
	*expires_at = TimestampTzPlusMilliseconds(from, (int64) sms_ir_otp_valid_for_s * 1000);
	return true;
}

/*
 * Validate a template send: a template_id naming a logical template
 * (sms_ir.template) must render for `account` (every parameter given) and
 * be what its provider can send; any other is checked as a provider
 * template id.
 */
static void
check_template_send(const SmsAccount *account, const SmsArgs *args)
{
	const SmsProvider *provider = sms_account_provider(account);
	SmsLogicalTemplate tmpl;

	if (sms_template_lookup(args->template_id, &tmpl))
	{
		SmsArgs		routed;

		sms_template_route(&tmpl, account, args, &routed);
		sms_args_check_supported(provider, &routed);
	}
	else
		sms_args_check_supported(provider, args);
}

/*
 * kind + payload of a plain INSERT validated for `account`, normalized; an
 * OTP counted against the throttles.  (A queue function counts its rows
 * itself, after the insert: a duplicate dedupe_key counts nothing.)
 */
static Jsonb *
validated_payload(const SmsAccount *account, const char *kind, Jsonb *payload)
{
	SmsArgs		args;

	sms_payload_parse(sms_account_provider(account), kind, payload, &args);
	if (args.op == SMS_OP_TEMPLATE)
		check_template_send(account, &args);
	else
		sms_args_check_supported(sms_account_provider(account), &args);
	if (kind_is_otp(args.op))
		(void) sms_throttle_otp(args.mobiles[0]);
	return sms_args_to_payload(&args);
}

/*
 * The outbox's BEFORE INSERT trigger.  A caller may only queue: it chooses
 * kind, payload, send_after, dedupe_key, priority and expires_at, nothing else.  The trigger
 * validates kind + payload like the synchronous functions (unless a queue_*
 * function just did), stores the payload normalized, and sets every other
 * column the extension owns: account and provider from the session's
 * sms_ir.account, which the current user must be allowed to use (never the
 * caller's: the row is sent with that account's credentials), priority by
 * kind unless given (0..10), expires_at by kind unless given (a queue
 * function always decides it: NULL from one means never),
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
	/* checks the current user may use the session's account */
	const SmsProvider *provider = sms_current_provider();
	const SmsAccount *account = sms_account_current();
	TupleDesc	desc;
	HeapTuple	tuple;
	int			cols[FORCED_COLUMNS];
	Datum		values[FORCED_COLUMNS];
	bool		nulls[FORCED_COLUMNS];
	int			ncols = 0;
	bool		isnull;
	bool		prevalidated;
	Datum		kind;
	Datum		send_after;
	Datum		d;
	SmsOp		op;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "sms_outbox_before_insert must be a BEFORE INSERT FOR EACH ROW trigger");

	desc = RelationGetDescr(trigdata->tg_relation);
	tuple = trigdata->tg_trigtuple;
	/* column numbers never change for a table (dropped columns keep theirs) */
	if (attnums_relid != RelationGetRelid(trigdata->tg_relation))
	{
		attnums_relid = InvalidOid;
		for (int c = 0; c < FORCED_COLUMNS; c++)
		{
			attnums[c] = SPI_fnumber(desc, forced_column_names[c]);
			/* 0.2's table (before ALTER EXTENSION UPDATE) lacks these */
			if (attnums[c] <= 0 && (c == FORCED_PRIORITY || c == FORCED_EXPIRES_AT ||
									c == FORCED_ACCOUNT))
				attnums[c] = InvalidAttrNumber;
			else if (attnums[c] <= 0)
				elog(ERROR, "sms_ir.outbox has no column \"%s\"", forced_column_names[c]);
		}
		attnums_kind = SPI_fnumber(desc, "kind");
		attnums_dedupe_key = SPI_fnumber(desc, "dedupe_key");
		if (attnums_kind <= 0 || attnums_dedupe_key <= 0)
			elog(ERROR, "sms_ir.outbox has no column \"kind\" or \"dedupe_key\"");
		attnums_relid = RelationGetRelid(trigdata->tg_relation);
	}
	memset(nulls, 0, sizeof(nulls));

	kind = SPI_getbinval(tuple, desc, attnums_kind, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("outbox kind must not be NULL"),
				 errhint("Use bulk, like_to_like, verify or template.")));
	op = sms_kind_op(TextDatumGetCString(kind));
	prevalidated = row_is_prevalidated(tuple, desc);
	if (prevalidated)
	{
		/* one row per validation */
		prevalidated_kind = NULL;
		prevalidated_payload = NULL;
	}
	else
	{
		Datum		payload = SPI_getbinval(tuple, desc, attnums[FORCED_PAYLOAD], &isnull);

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("outbox payload must not be NULL"),
					 errhint("Pass the queue function's arguments as a JSON object.")));
		cols[ncols] = attnums[FORCED_PAYLOAD];
		values[ncols++] = JsonbPGetDatum(validated_payload(account, TextDatumGetCString(kind),
														   DatumGetJsonbP(payload)));
	}

	send_after = SPI_getbinval(tuple, desc, attnums[FORCED_SEND_AFTER], &isnull);
	if (isnull)
		send_after = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	check_send_after(DatumGetTimestampTz(send_after));

	/* a caller may choose the lane (checked) and the expiry */
	if (attnums[FORCED_PRIORITY] != InvalidAttrNumber)
	{
		d = SPI_getbinval(tuple, desc, attnums[FORCED_PRIORITY], &isnull);
		cols[ncols] = attnums[FORCED_PRIORITY];
		values[ncols++] = Int16GetDatum(isnull ? (kind_is_otp(op) ? PRIORITY_OTP : PRIORITY_BULK) :
										checked_priority(DatumGetInt16(d)));
	}
	d = SPI_getbinval(tuple, desc, attnums_dedupe_key, &isnull);
	if (!isnull)
		check_dedupe_key(toast_raw_datum_size(d) - VARHDRSZ);

	isnull = false;
	if (attnums[FORCED_EXPIRES_AT] != InvalidAttrNumber)
	{
		d = SPI_getbinval(tuple, desc, attnums[FORCED_EXPIRES_AT], &isnull);
		if (!isnull && TIMESTAMP_IS_NOBEGIN(DatumGetTimestampTz(d)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expires_at must not be -infinity"),
					 errdetail("A row that expired before it was queued is never sent."),
					 errhint("Pass a time, 'infinity' to never expire, or NULL for the kind's default.")));
	}
	if (isnull && !prevalidated)
	{
		/* a queue function decided already (NULL there: never) */
		TimestampTz expires_at = 0;
		bool		expires = default_expiry(op, DatumGetTimestampTz(send_after), &expires_at);

		cols[ncols] = attnums[FORCED_EXPIRES_AT];
		nulls[ncols] = !expires;
		values[ncols++] = TimestampTzGetDatum(expires_at);
	}

	if (attnums[FORCED_ACCOUNT] != InvalidAttrNumber)
	{
		cols[ncols] = attnums[FORCED_ACCOUNT];
		values[ncols++] = CStringGetTextDatum(account->name);
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
	/* forcing is idempotent: a row direct_insert() built needs no copy */
	if (row_holds(tuple, desc, ncols, cols, values, nulls))
		return PointerGetDatum(tuple);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, ncols, cols,
													 values, nulls));
}

/* What a queue function decided for its rows besides kind and payload. */
typedef struct QueueOptions
{
	const SmsAccount *account;
	int16		priority;
	bool		expires;		/* false: never */
	TimestampTz expires_at;
} QueueOptions;

/*
 * The outbox relation as direct_insert() sees it: looked up once, forgotten
 * on any relcache invalidation of it (ALTER TABLE, CREATE TRIGGER, DROP
 * EXTENSION, ...), which is processed when the table is locked.
 */
typedef enum DirectColumn
{
	DC_ID,
	DC_KIND,
	DC_PAYLOAD,
	DC_DEDUPE_KEY,
	DC_PROVIDER,
	DC_STATUS,
	DC_ATTEMPTS,
	DC_SEND_AFTER,
	DC_NEXT_ATTEMPT_AT,
	DC_CREATED_AT,
	DC_ACCOUNT,
	DC_PRIORITY,
	DC_EXPIRES_AT,
	DC_COLUMNS
} DirectColumn;

static const char *const direct_column_names[DC_COLUMNS] = {
	"id", "kind", "payload", "dedupe_key", "provider", "status", "attempts",
	"send_after", "next_attempt_at", "created_at", "account", "priority", "expires_at"
};

static Oid	outbox_relid = InvalidOid;	/* InvalidOid: look it up again */
static bool outbox_direct_ok;	/* the table's shape allows direct_insert() */
static bool outbox_routing;		/* it has account, priority, expires_at (0.3) */
static Oid	outbox_id_seq;
static Datum outbox_queued;		/* the 'queued' label of status' enum */
static AttrNumber outbox_att[DC_COLUMNS];

/*
 * The outbox's indexes, when all are btree: their IndexInfo with predicates
 * and expressions compiled once (an INSERT's executor compiles the partial
 * indexes' predicates again for every statement, here every row), in
 * outbox_cxt.  A context replaced while a direct_insert() is running (an
 * invalidation processed by a nested call) is left alone, not freed.
 */
static MemoryContext outbox_cxt = NULL;
static int	outbox_nindexes = -1;	/* -1: ExecOpenIndices() per row */
static Oid *outbox_index_oids;
static IndexInfo **outbox_index_infos;
/*
 * Its CHECK constraints compiled once, in the relcache's order (what
 * ExecConstraints() would compile for every row's fresh ResultRelInfo).
 */
static ExprState **outbox_checks = NULL;

static void outbox_learn_indexes(Relation rel);

static void
outbox_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == outbox_relid)
		outbox_relid = InvalidOid;
}

/*
 * Can a row be inserted directly, with the values direct_insert() knows?  Only
 * when every column it does not set has no default (NULL is what an INSERT
 * would store) and id is an identity column.  A column added later with a
 * default makes queue_* use the SPI INSERT (correct, only slower) until
 * direct_insert() learns to set it.
 */
static void
outbox_learn(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		ok = true;

	for (int c = 0; c < DC_COLUMNS; c++)
		outbox_att[c] = InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		known = false;

		if (att->attisdropped)
			continue;
		for (int c = 0; c < DC_COLUMNS; c++)
			if (strcmp(NameStr(att->attname), direct_column_names[c]) == 0)
			{
				outbox_att[c] = att->attnum;
				known = true;
			}
		if (!known && (att->atthasdef || att->attidentity || att->attgenerated))
			ok = false;
	}
	for (int c = 0; c < DC_COLUMNS; c++)
		if (outbox_att[c] == InvalidAttrNumber && c < DC_ACCOUNT)
			ok = false;
	/* 0.2's table, before ALTER EXTENSION UPDATE: without them */
	outbox_routing = outbox_att[DC_ACCOUNT] != InvalidAttrNumber &&
		outbox_att[DC_PRIORITY] != InvalidAttrNumber &&
		outbox_att[DC_EXPIRES_AT] != InvalidAttrNumber;
	if (ok && (TupleDescAttr(desc, outbox_att[DC_ID] - 1)->attidentity == '\0' ||
			   TupleDescAttr(desc, outbox_att[DC_ATTEMPTS] - 1)->atttypid != INT4OID ||
			   TupleDescAttr(desc, outbox_att[DC_SEND_AFTER] - 1)->atttypid != TIMESTAMPTZOID ||
			   TupleDescAttr(desc, outbox_att[DC_NEXT_ATTEMPT_AT] - 1)->atttypid != TIMESTAMPTZOID ||
			   TupleDescAttr(desc, outbox_att[DC_CREATED_AT] - 1)->atttypid != TIMESTAMPTZOID ||
			   TupleDescAttr(desc, outbox_att[DC_PAYLOAD] - 1)->atttypid != JSONBOID ||
			   (outbox_routing &&
				(TupleDescAttr(desc, outbox_att[DC_PRIORITY] - 1)->atttypid != INT2OID ||
				 TupleDescAttr(desc, outbox_att[DC_EXPIRES_AT] - 1)->atttypid != TIMESTAMPTZOID)) ||
			   TupleDescAttr(desc, outbox_att[DC_ID] - 1)->atttypid != INT8OID))
		ok = false;
	if (ok)
	{
		outbox_id_seq = getIdentitySequence(RelationGetRelid(rel), outbox_att[DC_ID], true);
		ok = OidIsValid(outbox_id_seq);
	}
	if (ok)
		outbox_queued = DirectFunctionCall2(enum_in, CStringGetDatum("queued"),
											ObjectIdGetDatum(TupleDescAttr(desc, outbox_att[DC_STATUS] - 1)->atttypid));
	if (ok)
		outbox_learn_indexes(rel);
	outbox_direct_ok = ok;
}

/* sms_ir.outbox, locked for an INSERT */
static void
outbox_learn_indexes(Relation rel)
{
	List	   *oids = RelationGetIndexList(rel);
	MemoryContext cxt;
	MemoryContext old;
	ListCell   *lc;
	int			n = 0;
	bool		all_btree = true;

	cxt = AllocSetContextCreate(CacheMemoryContext, "sms_ir outbox indexes",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	outbox_index_oids = palloc(sizeof(Oid) * Max(list_length(oids), 1));
	outbox_index_infos = palloc(sizeof(IndexInfo *) * Max(list_length(oids), 1));
	foreach(lc, oids)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *ii;

		if (idx->rd_rel->relam != BTREE_AM_OID)
			all_btree = false;
		ii = BuildIndexInfo(idx);
		if (ii->ii_Predicate != NIL)
			ii->ii_PredicateState =
				ExecInitQual((List *) expression_planner((Expr *) ii->ii_Predicate), NULL);
		if (ii->ii_Expressions != NIL)
		{
			ListCell   *e;

			foreach(e, ii->ii_Expressions)
				ii->ii_ExpressionsState =
					lappend(ii->ii_ExpressionsState,
							ExecInitExpr(expression_planner((Expr *) lfirst(e)), NULL));
		}
		outbox_index_oids[n] = lfirst_oid(lc);
		outbox_index_infos[n++] = ii;
		index_close(idx, NoLock);
	}
	outbox_checks = NULL;
	if (rel->rd_att->constr != NULL && rel->rd_att->constr->num_check > 0)
	{
		int			ncheck = rel->rd_att->constr->num_check;

		outbox_checks = palloc(sizeof(ExprState *) * ncheck);
		for (int i = 0; i < ncheck; i++)
			outbox_checks[i] =
				ExecInitExpr(expression_planner((Expr *) stringToNode(rel->rd_att->constr->check[i].ccbin)),
							 NULL);
	}
	MemoryContextSwitchTo(old);
	list_free(oids);
	if (outbox_cxt != NULL && direct_depth == 0)
		MemoryContextDelete(outbox_cxt);
	outbox_cxt = cxt;
	outbox_nindexes = all_btree ? n : -1;
}

static Relation
outbox_open(void)
{
	Relation	rel;
	volatile Oid relid = outbox_relid;

	if (!OidIsValid(relid))
	{
		Oid			nsp = get_namespace_oid("sms_ir", false);

		relid = get_relname_relid("outbox", nsp);
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation \"sms_ir.outbox\" does not exist")));
	}
	rel = table_open(relid, RowExclusiveLock);

	/*
	 * The lock processed invalidations: the cache may just have been reset.
	 * Marked valid before learning, so that an invalidation processed while
	 * learning (opening an index locks it) -- say CREATE INDEX CONCURRENTLY
	 * adding one -- resets it again and it is learnt again, never kept stale.
	 */
	while (outbox_relid != relid)
	{
		outbox_relid = relid;
		PG_TRY();
		{
			outbox_learn(rel);
		}
		PG_CATCH();
		{
			outbox_relid = InvalidOid;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return rel;
}

/*
 * Insert a row without a dedupe_key the way the executor's simple-insert path
 * does (ExecSimpleRelationInsert(), what logical replication applies rows
 * with): BEFORE ROW triggers (ours
 * validates nothing for this row, see prevalidated, and forces the columns
 * it owns), constraints, the heap and index entries, AFTER ROW triggers (a
 * user's, foreign keys) at the end of this "query"; only the indexes the row
 * goes into are opened (a partial index whose predicate it fails is not).
 * What the path does not
 * do, a table with it falls back for: statement-level INSERT triggers,
 * transition tables, rules, row-level security.  No ACL check: these
 * functions run as the extension's owner, who may insert.  Returns false
 * (nothing done) when the table's shape needs the SPI INSERT.
 */
static bool
direct_insert(const char *kind, Jsonb *payload, TimestampTz send_after,
			  const QueueOptions *opts, int64 *id)
{
	Relation	rel = outbox_open();
	TriggerDesc *trig = rel->trigdesc;
	TupleDesc	desc = RelationGetDescr(rel);
	EState	   *estate;
	RangeTblEntry *rte;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	Datum	   *values;
	bool	   *nulls;

	if (!outbox_direct_ok || rel->rd_rules != NULL || rel->rd_rel->relrowsecurity ||
		rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relispartition ||
		(desc->constr != NULL && desc->constr->has_generated_stored) ||
		(trig != NULL && (trig->trig_insert_before_statement ||
						  trig->trig_insert_after_statement ||
						  trig->trig_insert_new_table ||
						  trig->trig_insert_instead_row)))
	{
		table_close(rel, NoLock);
		return false;
	}

	values = palloc0(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	memset(nulls, true, sizeof(bool) * desc->natts);
#define SET_COL(c, v) (values[outbox_att[c] - 1] = (v), nulls[outbox_att[c] - 1] = false)
	*id = nextval_internal(outbox_id_seq, false);
	SET_COL(DC_ID, Int64GetDatum(*id));
	SET_COL(DC_KIND, CStringGetTextDatum(kind));
	SET_COL(DC_PAYLOAD, JsonbPGetDatum(payload));
	/* what the BEFORE INSERT trigger forces: the same row if it is disabled */
	SET_COL(DC_PROVIDER, CStringGetTextDatum(sms_account_provider(opts->account)->name));
	if (outbox_routing)
	{
		SET_COL(DC_ACCOUNT, CStringGetTextDatum(opts->account->name));
		SET_COL(DC_PRIORITY, Int16GetDatum(opts->priority));
		if (opts->expires)
			SET_COL(DC_EXPIRES_AT, TimestampTzGetDatum(opts->expires_at));
	}
	SET_COL(DC_STATUS, outbox_queued);
	SET_COL(DC_ATTEMPTS, Int32GetDatum(0));
	SET_COL(DC_SEND_AFTER, TimestampTzGetDatum(send_after));
	SET_COL(DC_NEXT_ATTEMPT_AT, TimestampTzGetDatum(send_after));
	SET_COL(DC_CREATED_AT, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
#undef SET_COL

	estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(estate, list_make1(rte));
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	rri->ri_ConstraintExprs = outbox_checks;	/* NULL: ExecConstraints compiles them */
	/*
	 * As logical replication does: listed, so that the AFTER triggers find
	 * it (ExecGetTriggerResultRel), but never closed through the list (no
	 * ExecCloseResultRelations(): rel is closed below).
	 */
	estate->es_opened_result_relations = list_make1(rri);
	estate->es_output_cid = GetCurrentCommandId(true);

	slot = ExecInitExtraTupleSlot(estate, desc, &TTSOpsHeapTuple);
	ExecStoreHeapTuple(heap_form_tuple(desc, values, nulls), slot, true);

	/* ExecSimpleRelationInsert(), opening only the indexes the row goes into */
	direct_depth++;
	AfterTriggerBeginQuery();
	if (trig == NULL || !trig->trig_insert_before_row ||
		ExecBRInsertTriggers(estate, rri, slot))
	{
		List	   *recheck = NIL;

		if (desc->constr)
			ExecConstraints(rri, slot, estate);
		simple_table_tuple_insert(rel, slot);
		if (outbox_nindexes < 0)
			ExecOpenIndices(rri, false);
		else if (outbox_nindexes > 0)
		{
			ExprContext *econtext = GetPerTupleExprContext(estate);
			int			n = 0;

			/* a partial index whose predicate the row fails gets no entry */
			econtext->ecxt_scantuple = slot;
			rri->ri_IndexRelationDescs = palloc(sizeof(Relation) * outbox_nindexes);
			rri->ri_IndexRelationInfo = palloc(sizeof(IndexInfo *) * outbox_nindexes);
			for (int i = 0; i < outbox_nindexes; i++)
			{
				IndexInfo  *ii = outbox_index_infos[i];

				if (ii->ii_PredicateState != NULL &&
					!ExecQual(ii->ii_PredicateState, econtext))
					continue;
				rri->ri_IndexRelationDescs[n] = index_open(outbox_index_oids[i], RowExclusiveLock);
				rri->ri_IndexRelationInfo[n++] = ii;
			}
			rri->ri_NumIndices = n;
		}
		if (rri->ri_NumIndices > 0)
			recheck = ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
		ExecARInsertTriggers(estate, rri, slot, recheck, NULL);
		list_free(recheck);
	}
	AfterTriggerEndQuery(estate);
	direct_depth--;

	ExecCloseIndices(rri);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	return true;
}

/*
 * The SPI INSERT: rows with a dedupe_key (ON CONFLICT on the partial unique
 * index outbox_dedupe_key_idx, its predicate spelled out so that it is
 * inferred), and any row when the table's shape rules direct_insert() out.
 * Returns the new id, or the id of the row that already holds dedupe_key.
 */
static int64
spi_insert(const char *kind, Jsonb *payload, TimestampTz send_after,
		   const char *dedupe_key, const QueueOptions *opts, bool *inserted)
{
	/* [routing columns?][with a key: ON CONFLICT] */
	static SPIPlanPtr insert_plans[2][2];
	static SPIPlanPtr lookup_plan = NULL;
	bool		routing;
	SPIPlanPtr *plan;
	Oid			types[6] = {TEXTOID, JSONBOID, TIMESTAMPTZOID, TEXTOID, INT2OID, TIMESTAMPTZOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int64		id = 0;
	bool		isnull;

	values[0] = CStringGetTextDatum(kind);
	values[1] = JsonbPGetDatum(payload);
	values[2] = TimestampTzGetDatum(send_after);
	values[3] = dedupe_key ? CStringGetTextDatum(dedupe_key) : (Datum) 0;
	nulls[3] = dedupe_key ? ' ' : 'n';
	values[4] = Int16GetDatum(opts->priority);
	values[5] = TimestampTzGetDatum(opts->expires_at);
	nulls[5] = opts->expires ? ' ' : 'n';

	table_close(outbox_open(), NoLock);
	routing = outbox_routing;
	plan = &insert_plans[routing][dedupe_key != NULL];
	SPI_connect();
	if (*plan == NULL)
	{
		/* speculative insertion costs extra: only when there is a key */
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfo(&sql, "INSERT INTO sms_ir.outbox (kind, payload, send_after, dedupe_key%s)"
						 " VALUES ($1, $2, $3, $4%s)%s RETURNING id",
						 routing ? ", priority, expires_at" : "",
						 routing ? ", $5, $6" : "",
						 dedupe_key ? " ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING" : "");
		*plan = SPI_prepare(sql.data, routing ? 6 : 4, types);
		if (*plan == NULL || SPI_keepplan(*plan) != 0)
			elog(ERROR, "could not prepare the outbox insert: %s",
				 SPI_result_code_string(SPI_result));
	}
	if (SPI_execute_plan(*plan, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not insert into sms_ir.outbox");

	*inserted = SPI_processed == 1;
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
							sms_args_show(dedupe_key)),
					 errdetail("The row holding it is not visible to this transaction's snapshot."),
					 errhint("Retry the transaction.")));
		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	return id;
}

/*
 * The search path of pg_catalog alone around the queue functions' INSERT.
 * PostgreSQL 15 and 16 have override search paths (cheap: no GUC work);
 * from 17 on they are gone and the path is set as a function's SET clause
 * would set it (a GUC nest level, undone on return or on error).
 */
typedef struct SearchPathPin
{
#if PG_VERSION_NUM >= 170000
	int			nest_level;
#else
	OverrideSearchPath path;
#endif
} SearchPathPin;

static void
pin_search_path(SearchPathPin *pin)
{
#if PG_VERSION_NUM >= 170000
	pin->nest_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
#else
	memset(&pin->path, 0, sizeof(pin->path));
	pin->path.schemas = NIL;
	pin->path.addCatalog = true;
	pin->path.addTemp = false;
	PushOverrideSearchPath(&pin->path);
#endif
}

static void
unpin_search_path(SearchPathPin *pin)
{
#if PG_VERSION_NUM >= 170000
	AtEOXact_GUC(true, pin->nest_level);
#else
	PopOverrideSearchPath();
#endif
}

/*
 * Insert one validated, normalized payload; returns its id, or the id of the
 * row that already holds dedupe_key.
 *
 * These functions are SECURITY DEFINER: what runs inside the INSERT (the
 * outbox's triggers, defaults, constraints) runs as the extension's owner.
 * Instead of a per-call SET search_path (a GUC save and restore, and the
 * caller's search path recomputed afterwards, on every call), the INSERT runs
 * under an override search path of pg_catalog alone -- no schema a caller can
 * create objects in, not even pg_temp -- pushed here and popped when it
 * returns (on error, (sub)transaction abort pops it).  The C code itself
 * resolves no name through the search path.
 */
static int64
enqueue(const char *kind, Jsonb *payload, TimestampTz send_after,
		const char *dedupe_key, const QueueOptions *opts, bool *inserted)
{
	SearchPathPin pin;
	int64		id = 0;

	*inserted = true;
	if (dedupe_key != NULL)
		check_dedupe_key(strlen(dedupe_key));

	pin_search_path(&pin);

	prevalidated_kind = kind;
	prevalidated_payload = payload;
	PG_TRY();
	{
		if (dedupe_key != NULL ||
			!direct_insert(kind, payload, send_after, opts, &id))
			id = spi_insert(kind, payload, send_after, dedupe_key, opts, inserted);
	}
	PG_CATCH();
	{
		prevalidated_kind = NULL;
		prevalidated_payload = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	prevalidated_kind = NULL;
	prevalidated_payload = NULL;
	unpin_search_path(&pin);
	return id;
}

static bool
has_arg(FunctionCallInfo fcinfo, int argno)
{
	/* the 0.2 SQL definitions (before ALTER EXTENSION UPDATE) pass fewer */
	return PG_NARGS() > argno && !PG_ARGISNULL(argno);
}

static TimestampTz
send_after_arg(FunctionCallInfo fcinfo, int argno)
{
	TimestampTz ts = has_arg(fcinfo, argno) ? PG_GETARG_TIMESTAMPTZ(argno) :
		GetCurrentTransactionStartTimestamp();

	check_send_after(ts);
	return ts;
}

static char *
dedupe_arg(FunctionCallInfo fcinfo, int argno)
{
	return has_arg(fcinfo, argno) ? text_to_cstring(PG_GETARG_TEXT_PP(argno)) : NULL;
}

/*
 * The session's account, which the calling role must be allowed to use.
 * The queue functions are SECURITY DEFINER: the role checked is the one
 * outside them (GetOuterUserId(): the session's role, as SET ROLE set it),
 * not their owner.
 */
static const SmsAccount *
queue_account(void)
{
	const SmsAccount *account = sms_account_current();

	sms_account_check_role(account, GetOuterUserId());
	return account;
}

/*
 * priority (smallint) and valid_for (interval) from positions argno,
 * argno + 1: NULL priority = by kind; NULL valid_for = by kind
 * (sms_ir.otp_valid_for for OTP kinds), a zero interval = never expire.
 */
static void
queue_options(FunctionCallInfo fcinfo, int argno, SmsOp op, TimestampTz send_after,
			  const SmsAccount *account, QueueOptions *opts)
{
	opts->account = account;
	opts->priority = has_arg(fcinfo, argno) ? checked_priority(PG_GETARG_INT16(argno)) :
		(kind_is_otp(op) ? PRIORITY_OTP : PRIORITY_BULK);
	opts->expires_at = 0;
	if (has_arg(fcinfo, argno + 1))
	{
		Interval   *valid_for = PG_GETARG_INTERVAL_P(argno + 1);
		Interval	zero;

		Interval	longest;

		memset(&zero, 0, sizeof(zero));
		memset(&longest, 0, sizeof(longest));
		longest.day = VALID_FOR_MAX_DAYS;
		if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(valid_for),
											  IntervalPGetDatum(&zero))) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("valid_for must not be negative"),
					 errdetail("valid_for is %s.",
							   DatumGetCString(DirectFunctionCall1(interval_out,
																   IntervalPGetDatum(valid_for)))),
					 errhint("Pass how long the message is worth sending, such as '2 minutes', up to '%d days'; '0' never expires.",
							 VALID_FOR_MAX_DAYS)));
		if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(valid_for),
											  IntervalPGetDatum(&longest))) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("valid_for is out of range"),
					 errdetail("valid_for is %s; it is between 0 and %d days.",
							   DatumGetCString(DirectFunctionCall1(interval_out,
																   IntervalPGetDatum(valid_for))),
							   VALID_FOR_MAX_DAYS),
					 errhint("Pass how long the message is worth sending, such as '2 minutes', up to '%d days'; '0' never expires.",
							 VALID_FOR_MAX_DAYS)));
		opts->expires = DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(valid_for),
														  IntervalPGetDatum(&zero))) > 0;
		if (opts->expires)
			opts->expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
																	   TimestampTzGetDatum(Max(send_after, GetCurrentTransactionStartTimestamp())),
																	   IntervalPGetDatum(valid_for)));
	}
	else
		opts->expires = default_expiry(op, send_after, &opts->expires_at);
}

/* queue_verify(mobile, template_id bigint, parameters, send_after, dedupe_key, priority, valid_for) */
PG_FUNCTION_INFO_V1(sms_queue_verify);
Datum
sms_queue_verify(PG_FUNCTION_ARGS)
{
	const SmsAccount *account = queue_account();
	const SmsProvider *provider = sms_account_provider(account);
	TimestampTz send_after;
	QueueOptions opts;
	SmsArgs		args;
	int64		id;
	bool		inserted;

	sms_args_verify_from_call(fcinfo, provider, &args);
	sms_args_check_supported(provider, &args);
	send_after = send_after_arg(fcinfo, 3);
	queue_options(fcinfo, 5, SMS_OP_VERIFY, send_after, account, &opts);
	id = enqueue("verify", sms_args_to_payload(&args), send_after,
				 dedupe_arg(fcinfo, 4), &opts, &inserted);
	/* a refusal undoes the row with everything else of the statement */
	if (inserted)
		(void) sms_throttle_otp(args.mobiles[0]);
	PG_RETURN_INT64(id);
}

/* queue_template(recipient, template_id text, parameters, sender, send_after, dedupe_key, priority, valid_for) */
PG_FUNCTION_INFO_V1(sms_queue_template);
Datum
sms_queue_template(PG_FUNCTION_ARGS)
{
	const SmsAccount *account = queue_account();
	const SmsProvider *provider = sms_account_provider(account);
	TimestampTz send_after;
	QueueOptions opts;
	SmsArgs		args;
	int64		id;
	bool		inserted;

	sms_args_template_from_call(fcinfo, provider, &args);
	check_template_send(account, &args);
	send_after = send_after_arg(fcinfo, 4);
	queue_options(fcinfo, 6, SMS_OP_TEMPLATE, send_after, account, &opts);
	id = enqueue("template", sms_args_to_payload(&args), send_after,
				 dedupe_arg(fcinfo, 5), &opts, &inserted);
	if (inserted)
		(void) sms_throttle_otp(args.mobiles[0]);
	PG_RETURN_INT64(id);
}

/* Shared body of queue_bulk and queue_like_to_like: one row per chunk. */
static Datum
queue_in_chunks(FunctionCallInfo fcinfo, const SmsAccount *account, SmsArgs *all,
				const char *kind)
{
	const SmsProvider *provider = sms_account_provider(account);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			chunk = provider->max_recipients;
	TimestampTz send_after = send_after_arg(fcinfo, 3);
	char	   *dedupe_key = dedupe_arg(fcinfo, 4);
	QueueOptions opts;

	sms_args_check_supported(provider, all);
	queue_options(fcinfo, 5, all->op, send_after, account, &opts);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int off = 0, part_no = 1; off < all->nmobiles; off += chunk, part_no++)
	{
		SmsArgs		part = sms_args_slice(all, off, chunk);
		Datum		id;
		bool		isnull = false;
		bool		inserted;

		/* row 1 keeps the key; rows 2.. get key#2, key#3, ... */
		id = Int64GetDatum(enqueue(kind, sms_args_to_payload(&part), send_after,
								   dedupe_key == NULL || part_no == 1 ? dedupe_key :
								   psprintf("%s#%d", dedupe_key, part_no),
								   &opts, &inserted));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &id, &isnull);
	}
	return (Datum) 0;
}

/* queue_bulk(message, mobiles, line_number, send_after, dedupe_key, priority, valid_for) */
PG_FUNCTION_INFO_V1(sms_queue_bulk);
Datum
sms_queue_bulk(PG_FUNCTION_ARGS)
{
	const SmsAccount *account = queue_account();
	SmsArgs		args;

	sms_args_bulk_from_call(fcinfo, sms_account_provider(account), &args);
	return queue_in_chunks(fcinfo, account, &args, "bulk");
}

/* queue_like_to_like(messages, mobiles, line_number, send_after, dedupe_key, priority, valid_for) */
PG_FUNCTION_INFO_V1(sms_queue_like_to_like);
Datum
sms_queue_like_to_like(PG_FUNCTION_ARGS)
{
	const SmsAccount *account = queue_account();
	SmsArgs		args;

	sms_args_like_to_like_from_call(fcinfo, sms_account_provider(account), &args);
	return queue_in_chunks(fcinfo, account, &args, "like_to_like");
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
