/*
 * outbox_store.c -- every SQL statement the outbox worker runs (outbox_store.h).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "outbox_store.h"
#include "provider.h"

static const char *const status_names[OUTBOX_STATUS_COUNT] = {
	[OUTBOX_QUEUED] = "queued",
	[OUTBOX_SENDING] = "sending",
	[OUTBOX_SENT] = "sent",
	[OUTBOX_FAILED] = "failed",
	[OUTBOX_CANCELLED] = "cancelled",
	[OUTBOX_UNKNOWN] = "unknown",
	[OUTBOX_EXPIRED] = "expired",
	[OUTBOX_SUPPRESSED] = "suppressed",
};

const char *
outbox_status_name(OutboxStatus status)
{
	Assert(status >= 0 && status < OUTBOX_STATUS_COUNT);
	return status_names[status];
}

typedef enum OutboxStatement
{
	STMT_RECOVER,
	STMT_CLAIM,
	STMT_RECORD,
	STMT_NEXT_DUE,
	STMT_TRACKED,
	STMT_RECORD_DELIVERY,
	STMT_PURGE,
	STMT_BLACKLIST_REFUSED,
	STMT_RELEASE_HELD,
	/* received messages and suppression (worker_inbox.c, worker_delivery.c) */
	STMT_INBOX_STORE,
	STMT_BLACKLIST,
	STMT_COUNT
} OutboxStatement;

#define MAX_STMT_ARGS 7

typedef struct StatementDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[MAX_STMT_ARGS];
} StatementDef;

/*
 * The claim reads outbox_lane_idx (priority, next_attempt_at, id), lane by
 * lane from the highest: for each lane ($2, highest first) an index range
 * read of its due rows in order, from just after that lane's cursor ($3,
 * $4), stopping as soon as LIMIT rows are found.  A lane with nothing due
 * costs one index probe, so a claim is O(limit + lanes), whatever the
 * backlog in lower lanes or rows scheduled for later.  The plan:
 *
 *   Update on outbox o
 *     -> Nested Loop
 *          -> Subquery Scan on due
 *               -> Limit
 *                    -> Nested Loop
 *                         -> Function Scan on unnest l      (the lanes, in order)
 *                         -> Limit
 *                              -> LockRows
 *                                   -> Index Scan using outbox_lane_idx on outbox
 *                                        Index Cond: priority = l.priority AND
 *                                          next_attempt_at <= now() AND
 *                                          ROW(next_attempt_at, id) > ROW(l.after_at, l.after_id)
 *          -> Index Scan using outbox_pkey on outbox o
 *
 * A session holding an old snapshot keeps the index entries of rows already
 * claimed alive (they cannot be marked dead), so a read from the first due
 * row would visit every one of them again on each claim: O(n) a claim,
 * O(n^2) a drain.  Each lane's cursor starts just after the last row
 * claimed from it instead; the pipeline resets them (-infinity) when that
 * comes up short, at most once per rescan interval (its CLAIM_RESCAN_MS),
 * for rows due before a cursor (a send_after in the past, a long
 * transaction committing late).  The row's logical template (kind
 * template, template_id naming a row of sms_ir.template) comes with it,
 * and so do a marketing row's suppressed recipients (one primary-key probe
 * of sms_ir.suppression per recipient).
 */
#define CLAIM_SQL \
	"WITH due AS (" \
	"  SELECT c.id FROM ROWS FROM (pg_catalog.unnest($2::pg_catalog.int2[])," \
	"                              pg_catalog.unnest($3::pg_catalog.timestamptz[])," \
	"                              pg_catalog.unnest($4::pg_catalog.int8[]))" \
	"         AS l(priority, after_at, after_id)," \
	"       LATERAL (SELECT id FROM sms_ir.outbox" \
	"                 WHERE status OPERATOR(pg_catalog.=) 'queued'::sms_ir.outbox_status" \
	"                   AND priority OPERATOR(pg_catalog.=) l.priority" \
	"                   AND next_attempt_at OPERATOR(pg_catalog.<=) pg_catalog.now()" \
	"                   AND (next_attempt_at, id) OPERATOR(pg_catalog.>) (l.after_at, l.after_id)" \
	"                 ORDER BY next_attempt_at, id" \
	"                 LIMIT $1 FOR UPDATE SKIP LOCKED) c" \
	"  LIMIT $1)" \
	" UPDATE sms_ir.outbox o" \
	"    SET status = 'sending', attempts = o.attempts OPERATOR(pg_catalog.+) 1" \
	"   FROM due WHERE o.id OPERATOR(pg_catalog.=) due.id" \
	" RETURNING o.id, o.attempts, o.provider, o.kind, o.payload, o.next_attempt_at," \
	"           o.account, o.expires_at, o.priority," \
	"           (SELECT pg_catalog.jsonb_build_object('body', t.body, 'ids', t.ids)" \
	"              FROM sms_ir.template t" \
	"             WHERE o.kind OPERATOR(pg_catalog.=) 'template'" \
	"               AND t.name OPERATOR(pg_catalog.=) (o.payload OPERATOR(pg_catalog.->>) 'template_id'))," \
	"           (SELECT pg_catalog.array_agg(s.mobile) FROM sms_ir.suppression s" \
	"             WHERE o.kind OPERATOR(pg_catalog.=) ANY ('{bulk,like_to_like}'::pg_catalog.text[])" \
	"               AND s.mobile OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT pg_catalog.jsonb_array_elements_text(" \
	"                     o.payload OPERATOR(pg_catalog.->) 'mobiles'))))"

/*
 * One page of received messages of account $1, stored with what they ask
 * for, in one statement (one transaction): a crash or a fault either keeps
 * the page and its effects or neither, and the next poll reads the page
 * again (the listings consume nothing) and stores only what is missing.
 *
 * The key (sql/sms_ir--0.2--0.3.sql, sms_ir.inbox): the provider's id, or,
 * when $2 (key_by_content) or the row has no id, an md5 of the JSON array
 * [sender, line, received unix second, text].  A listing that repeats a
 * message (pages shifting under new arrivals) stores it once (ON CONFLICT
 * DO NOTHING also skips a repeat within the page).  No statement here
 * sorts: the worker runs with enable_sort off.  Where a
 * message was first stored without an id (sms.ir live) and the archive
 * later gives one, the id is filled in.
 *
 * Opt-out/opt-in: per sender (a normalized mobile), the newest of the new
 * messages with an intent acts, unless a message with an intent received
 * later was stored before (a late "11" from the archive must not undo a
 * "12" already acted on).  Opt-out adds an 'opt-out' suppression (one
 * there already, for any reason, is kept); opt-in removes an 'opt-out'
 * one only, never 'blacklist' or 'manual'.
 */
#define INBOX_STORE_SQL \
	"WITH m AS (" \
	"  SELECT r.provider_id, r.received, r.sender, r.line_number, r.message," \
	"         CASE WHEN NOT $2 AND r.provider_id IS NOT NULL" \
	"              THEN 'id:' OPERATOR(pg_catalog.||) r.provider_id" \
	"              ELSE 'text:' OPERATOR(pg_catalog.||) pg_catalog.md5(pg_catalog.jsonb_build_array(" \
	"                     r.sender, r.line_number, r.received, r.message)::pg_catalog.text)" \
	"         END AS message_key" \
	"    FROM ROWS FROM (pg_catalog.unnest($3::pg_catalog.text[]), pg_catalog.unnest($4::pg_catalog.int8[])," \
	"                    pg_catalog.unnest($5::pg_catalog.text[]), pg_catalog.unnest($6::pg_catalog.text[])," \
	"                    pg_catalog.unnest($7::pg_catalog.text[]))" \
	"         AS r(provider_id, received, sender, line_number, message))," \
	" ins AS (" \
	"  INSERT INTO sms_ir.inbox (account, provider_id, received_at, sender, line_number, message, message_key)" \
	"  SELECT $1, m.provider_id," \
	"         pg_catalog.to_timestamp(m.received::pg_catalog.float8), m.sender, m.line_number," \
	"         m.message, m.message_key FROM m" \
	"  ON CONFLICT ON CONSTRAINT inbox_account_message_key_key DO NOTHING" \
	"  RETURNING id, sender, received_at, message)," \
	" fill AS (" \
	"  UPDATE sms_ir.inbox i SET provider_id = m.provider_id FROM m" \
	"   WHERE i.account OPERATOR(pg_catalog.=) $1" \
	"     AND i.message_key OPERATOR(pg_catalog.=) m.message_key" \
	"     AND i.provider_id IS NULL AND m.provider_id IS NOT NULL)," \
	" with_intent AS (" \
	"  SELECT ins.id, ins.sender, ins.received_at, sms_ir.inbound_intent(ins.message) AS intent" \
	"    FROM ins" \
	"   WHERE ins.sender OPERATOR(pg_catalog.~) '^09[0-9]{9}$'" \
	"     AND sms_ir.inbound_intent(ins.message) IS NOT NULL)," \
	" newest AS (" \
	"  SELECT l.id, l.sender, l.received_at, l.intent FROM with_intent l" \
	"   WHERE NOT EXISTS (SELECT FROM with_intent n" \
	"                      WHERE n.sender OPERATOR(pg_catalog.=) l.sender" \
	"                        AND (COALESCE(n.received_at, '-infinity'), n.id) OPERATOR(pg_catalog.>)" \
	"                            (COALESCE(l.received_at, '-infinity'), l.id)))," \
	" act AS (" \
	"  SELECT l.id, l.sender, l.intent FROM newest l" \
	"   WHERE NOT EXISTS (SELECT FROM sms_ir.inbox i" \
	"                      WHERE i.sender OPERATOR(pg_catalog.=) l.sender" \
	"                        AND i.received_at OPERATOR(pg_catalog.>) l.received_at" \
	"                        AND sms_ir.inbound_intent(i.message) IS NOT NULL))," \
	" opt_out AS (" \
	"  INSERT INTO sms_ir.suppression (mobile, reason, source)" \
	"  SELECT a.sender, 'opt-out', 'inbox:' OPERATOR(pg_catalog.||) a.id::pg_catalog.text FROM act a" \
	"   WHERE a.intent OPERATOR(pg_catalog.=) 'opt-out'" \
	"  ON CONFLICT ON CONSTRAINT suppression_pkey DO NOTHING RETURNING 1)," \
	" opt_in AS (" \
	"  DELETE FROM sms_ir.suppression s USING act a" \
	"   WHERE a.intent OPERATOR(pg_catalog.=) 'opt-in'" \
	"     AND s.mobile OPERATOR(pg_catalog.=) a.sender" \
	"     AND s.reason OPERATOR(pg_catalog.=) 'opt-out' RETURNING 1)" \
	" SELECT (SELECT pg_catalog.count(*) FROM ins), (SELECT pg_catalog.count(*) FROM opt_out)," \
	"        (SELECT pg_catalog.count(*) FROM opt_in)"

/*
 * Mobiles a delivery report says are on the blacklist: reason 'blacklist',
 * source 'delivery:<outbox id>'.  A report without the mobile (MediaPayamak
 * GetDelivery reports one recId) takes it from the row: the payload's
 * mobiles[i] for message_ids[i] (one request per row, in recipient order),
 * or its single mobile.  A mobile suppressed already keeps its reason.
 */
#define BLACKLIST_SQL \
	"INSERT INTO sms_ir.suppression (mobile, reason, source)" \
	" SELECT b.mobile, 'blacklist'," \
	"        'delivery:' OPERATOR(pg_catalog.||) b.outbox_id::pg_catalog.text" \
	"   FROM (SELECT r.outbox_id, COALESCE(r.mobile," \
	"          (SELECT COALESCE(o.payload OPERATOR(pg_catalog.->) 'mobiles'" \
	"                             OPERATOR(pg_catalog.->>) (e.n OPERATOR(pg_catalog.-) 1)::pg_catalog.int4," \
	"                           o.payload OPERATOR(pg_catalog.->>) 'mobile'," \
	"                           o.payload OPERATOR(pg_catalog.->>) 'recipient')" \
	"             FROM sms_ir.outbox o," \
	"                  pg_catalog.jsonb_array_elements_text(o.result OPERATOR(pg_catalog.->) 'message_ids')" \
	"                    WITH ORDINALITY AS e(message_id, n)" \
	"            WHERE o.id OPERATOR(pg_catalog.=) r.outbox_id" \
	"              AND e.message_id OPERATOR(pg_catalog.=) r.message_id LIMIT 1)) AS mobile" \
	"           FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), pg_catalog.unnest($2::pg_catalog.text[])," \
	"                           pg_catalog.unnest($3::pg_catalog.text[])) AS r(outbox_id, message_id, mobile)) b" \
	"  WHERE b.mobile OPERATOR(pg_catalog.~) '^09[0-9]{9}$'" \
	" ON CONFLICT ON CONSTRAINT suppression_pkey DO NOTHING"

static const StatementDef statements[STMT_COUNT] = {
	[STMT_RECOVER] = {
		"UPDATE sms_ir.outbox"
		"   SET status = (CASE WHEN $1 AND attempts OPERATOR(pg_catalog.<) $2"
		"                      THEN 'queued' ELSE 'unknown' END)::sms_ir.outbox_status,"
		"       next_attempt_at = pg_catalog.now(),"
		"       last_error = CASE WHEN $1 AND attempts OPERATOR(pg_catalog.<) $2"
		"                         THEN 'the worker stopped while this request was in flight'"
		"                         ELSE 'the worker stopped while this request was in flight; its outcome is unknown'"
		"                    END"
		" WHERE status OPERATOR(pg_catalog.=) 'sending'",
		2, {BOOLOID, INT4OID}
	},
	[STMT_CLAIM] = {CLAIM_SQL, 4, {INT4OID, INT2ARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID}},
	[STMT_RECORD] = {
		"UPDATE sms_ir.outbox o"
		"   SET status = r.status::sms_ir.outbox_status,"
		"       attempts = CASE WHEN r.unstarted THEN o.attempts OPERATOR(pg_catalog.-) 1"
		"                       ELSE o.attempts END,"
		"       sent_at = CASE WHEN r.status OPERATOR(pg_catalog.=) 'sent'"
		"                      THEN pg_catalog.clock_timestamp() ELSE o.sent_at END,"
		"       result = COALESCE(r.result, o.result),"
		"       last_error = CASE WHEN r.status OPERATOR(pg_catalog.=) 'sent' THEN r.last_error"
		"                         ELSE COALESCE(r.last_error, o.last_error) END,"
		"       next_attempt_at = COALESCE(r.next_at, o.next_attempt_at)"
		"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), pg_catalog.unnest($2::pg_catalog.text[]),"
		"                  pg_catalog.unnest($3::pg_catalog.jsonb[]), pg_catalog.unnest($4::pg_catalog.text[]),"
		"                  pg_catalog.unnest($5::pg_catalog.timestamptz[]), pg_catalog.unnest($6::pg_catalog.bool[]))"
		"       AS r(id, status, result, last_error, next_at, unstarted)"
		" WHERE o.id OPERATOR(pg_catalog.=) r.id"
		"   AND o.status OPERATOR(pg_catalog.=) 'sending'::sms_ir.outbox_status",
		6, {INT8ARRAYOID, TEXTARRAYOID, JSONBARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, BOOLARRAYOID}
	},
	[STMT_NEXT_DUE] = {
		"SELECT pg_catalog.min(d.next_attempt_at)"
		"  FROM pg_catalog.generate_series(0, " CppAsString2(OUTBOX_LANE_MAX) ") AS l(priority),"
		"       LATERAL (SELECT next_attempt_at FROM sms_ir.outbox"
		"                 WHERE status OPERATOR(pg_catalog.=) 'queued'::sms_ir.outbox_status"
		"                   AND priority OPERATOR(pg_catalog.=) l.priority"
		"                 ORDER BY next_attempt_at LIMIT 1) d",
		0, {InvalidOid}
	},
	[STMT_TRACKED] = {
		"SELECT id, COALESCE(result OPERATOR(pg_catalog.->>) 'account', account),"
		"       kind::pg_catalog.text, result FROM sms_ir.outbox"
		" WHERE status OPERATOR(pg_catalog.=) 'sent'::sms_ir.outbox_status"
		"   AND result IS NOT NULL"
		"   AND (delivery_status IS NULL"
		"        OR delivery_status OPERATOR(pg_catalog.=) ANY ('{queued,sent}'::pg_catalog.text[]))"
		"   AND sent_at OPERATOR(pg_catalog.>) $1"
		"   AND (delivery_checked_at IS NULL OR delivery_checked_at OPERATOR(pg_catalog.<) $2)"
		" ORDER BY delivery_checked_at NULLS FIRST, id LIMIT $3",
		3, {TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID}
	},
	[STMT_RECORD_DELIVERY] = {
		"UPDATE sms_ir.outbox o"
		"   SET delivery_status = COALESCE(r.st, o.delivery_status),"
		"       delivery_checked_at = pg_catalog.now()"
		"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.int8[]), pg_catalog.unnest($2::pg_catalog.text[])) AS r(id, st)"
		" WHERE o.id OPERATOR(pg_catalog.=) r.id",
		2, {INT8ARRAYOID, TEXTARRAYOID}
	},
	[STMT_PURGE] = {
		"DELETE FROM sms_ir.outbox WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
		" SELECT id FROM sms_ir.outbox"
		"  WHERE status OPERATOR(pg_catalog.=) ANY ('{sent,failed,cancelled,expired,suppressed}'::sms_ir.outbox_status[])"
		"    AND COALESCE(sent_at, created_at) OPERATOR(pg_catalog.<) $1"
		"  LIMIT $2 FOR UPDATE SKIP LOCKED))",
		2, {TIMESTAMPTZOID, INT4OID}
	},
	[STMT_BLACKLIST_REFUSED] = {
		"INSERT INTO sms_ir.suppression (mobile, reason, source)"
		" SELECT r.mobile, 'blacklist', 'outbox:' OPERATOR(pg_catalog.||) r.id"
		"   FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.int8[]))"
		"        AS r(mobile, id)"
		" ON CONFLICT (mobile) DO NOTHING",
		2, {TEXTARRAYOID, INT8ARRAYOID}
	},
	[STMT_RELEASE_HELD] = {
		"UPDATE sms_ir.outbox SET next_attempt_at = pg_catalog.now()"
		" WHERE status OPERATOR(pg_catalog.=) 'queued'::sms_ir.outbox_status"
		"   AND next_attempt_at OPERATOR(pg_catalog.>) pg_catalog.now()"
		"   AND pg_catalog.starts_with(last_error, $1)",
		1, {TEXTOID}
	},
	/* received messages and suppression */
	[STMT_INBOX_STORE] = {
		INBOX_STORE_SQL, 7,
		{TEXTOID, BOOLOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID}
	},
	[STMT_BLACKLIST] = {BLACKLIST_SQL, 3, {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID}},
};

/* TopMemoryContext, through SPI_keepplan */
static SPIPlanPtr plans[STMT_COUNT];

static SPIPlanPtr
plan(OutboxStatement stmt)
{
	if (plans[stmt] == NULL)
	{
		const StatementDef *def = &statements[stmt];
		SPIPlanPtr	p = SPI_prepare(def->sql, def->nargs, (Oid *) def->argtypes);

		if (p == NULL)
			elog(ERROR, "could not prepare an sms_ir worker statement: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "could not keep an sms_ir worker statement");
		plans[stmt] = p;
	}
	return plans[stmt];
}

/* Run a prepared statement; raise unless it returns `expect`. */
static void
run(OutboxStatement stmt, Datum *args, const char *nulls, bool read_only, long limit,
	int expect)
{
	int			rc = SPI_execute_plan(plan(stmt), args, nulls, read_only, limit);

	if (rc != expect)
		elog(ERROR, "sms_ir worker statement %d failed: %s", (int) stmt,
			 SPI_result_code_string(rc));
}

void
outbox_store_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

void
outbox_store_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* at most once a second while busy; the loop forces it before sleeping */
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

bool
outbox_store_present(void)
{
	Oid			nsp;
	Oid			relid;

	if (!OidIsValid(get_extension_oid("sms_ir", true)))
		return false;

	nsp = get_namespace_oid("sms_ir", true);
	if (!OidIsValid(nsp) || !OidIsValid(relid = get_relname_relid("outbox", nsp)))
		return false;

	/*
	 * The 0.2 objects under this library (before ALTER EXTENSION sms_ir
	 * UPDATE): no lanes, accounts or expiry.  The worker waits for the
	 * update as for a missing extension; rows queued meanwhile are sent
	 * after it.
	 */
	return get_attnum(relid, "priority") != InvalidAttrNumber;
}

uint64
outbox_store_recover(bool requeue, int max_attempts)
{
	Datum		args[2] = {BoolGetDatum(requeue), Int32GetDatum(max_attempts)};

	run(STMT_RECOVER, args, NULL, false, 0, SPI_OK_UPDATE);
	return SPI_processed;
}

static Datum array_datum(Datum *values, bool *nulls, int n, Oid elemtype);

int
outbox_store_claim(int limit, const OutboxCursor *cursors, int lowest_lane)
{
	Datum		lanes[OUTBOX_LANES];
	Datum		after_at[OUTBOX_LANES];
	Datum		after_id[OUTBOX_LANES];
	Datum		args[4];
	int			n = 0;

	for (int lane = OUTBOX_LANE_MAX; lane >= lowest_lane; lane--)
	{
		const OutboxCursor *c = &cursors[lane];

		lanes[n] = Int16GetDatum((int16) lane);
		after_at[n] = TimestampTzGetDatum(c->valid ? c->next_attempt_at : DT_NOBEGIN);
		after_id[n] = Int64GetDatum(c->valid ? c->id : PG_INT64_MIN);
		n++;
	}
	args[0] = Int32GetDatum(limit);
	args[1] = array_datum(lanes, NULL, n, INT2OID);
	args[2] = array_datum(after_at, NULL, n, TIMESTAMPTZOID);
	args[3] = array_datum(after_id, NULL, n, INT8OID);
	run(STMT_CLAIM, args, NULL, false, 0, SPI_OK_UPDATE_RETURNING);
	return (int) SPI_processed;
}

/* A one-dimensional array of n values (nulls may be NULL: none). */
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

/* Recipients the provider refused as blacklisted: no marketing send goes to them again. */
static void
record_blacklisted(const OutboxOutcome *outcomes, int n)
{
	Datum	   *mobiles = palloc(sizeof(Datum) * n);
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum		args[2];
	int			nblack = 0;

	for (int i = 0; i < n; i++)
	{
		if (outcomes[i].blacklisted == NULL)
			continue;
		mobiles[nblack] = CStringGetTextDatum(outcomes[i].blacklisted);
		ids[nblack] = Int64GetDatum(outcomes[i].id);
		nblack++;
	}
	if (nblack == 0)
		return;
	args[0] = array_datum(mobiles, NULL, nblack, TEXTOID);
	args[1] = array_datum(ids, NULL, nblack, INT8OID);
	run(STMT_BLACKLIST_REFUSED, args, NULL, false, 0, SPI_OK_INSERT);
}

void
outbox_store_record(const OutboxOutcome *outcomes, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *statuses = palloc(sizeof(Datum) * n);
	Datum	   *results = palloc(sizeof(Datum) * n);
	Datum	   *errors = palloc(sizeof(Datum) * n);
	Datum	   *next_ats = palloc(sizeof(Datum) * n);
	Datum	   *unstarted = palloc(sizeof(Datum) * n);
	bool	   *no_result = palloc(sizeof(bool) * n);
	bool	   *no_error = palloc(sizeof(bool) * n);
	bool	   *no_next = palloc(sizeof(bool) * n);
	Datum		args[6];

	for (int i = 0; i < n; i++)
	{
		const OutboxOutcome *o = &outcomes[i];

		ids[i] = Int64GetDatum(o->id);
		statuses[i] = CStringGetTextDatum(outbox_status_name(o->status));
		no_result[i] = o->result == NULL;
		results[i] = o->result ?
			DirectFunctionCall1(jsonb_in, CStringGetDatum(o->result)) : (Datum) 0;
		no_error[i] = o->last_error == NULL;
		errors[i] = o->last_error ? CStringGetTextDatum(o->last_error) : (Datum) 0;
		no_next[i] = o->status != OUTBOX_QUEUED;
		next_ats[i] = TimestampTzGetDatum(o->next_at);
		unstarted[i] = BoolGetDatum(o->unstarted);
	}
	args[0] = array_datum(ids, NULL, n, INT8OID);
	args[1] = array_datum(statuses, NULL, n, TEXTOID);
	args[2] = array_datum(results, no_result, n, JSONBOID);
	args[3] = array_datum(errors, no_error, n, TEXTOID);
	args[4] = array_datum(next_ats, no_next, n, TIMESTAMPTZOID);
	args[5] = array_datum(unstarted, NULL, n, BOOLOID);
	run(STMT_RECORD, args, NULL, false, 0, SPI_OK_UPDATE);

	record_blacklisted(outcomes, n);
}

uint64
outbox_store_release_held(const char *held_prefix)
{
	Datum		arg = CStringGetTextDatum(held_prefix);

	run(STMT_RELEASE_HELD, &arg, NULL, false, 0, SPI_OK_UPDATE);
	return SPI_processed;
}

bool
outbox_store_next_due(TimestampTz *due)
{
	bool		isnull;
	Datum		d;

	run(STMT_NEXT_DUE, NULL, NULL, true, 1, SPI_OK_SELECT);
	if (SPI_processed != 1)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull || TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(d)))
		return false;
	*due = DatumGetTimestampTz(d);
	return true;
}

int
outbox_store_tracked(TimestampTz sent_after, TimestampTz checked_before, int limit)
{
	Datum		args[3] = {TimestampTzGetDatum(sent_after),
	TimestampTzGetDatum(checked_before), Int32GetDatum(limit)};

	run(STMT_TRACKED, args, NULL, true, 0, SPI_OK_SELECT);
	return (int) SPI_processed;
}

void
outbox_store_record_delivery(const int64 *ids, const char *const *statuses, int n)
{
	Datum	   *idd = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *std = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *stn = palloc(sizeof(bool) * Max(n, 1));
	Datum		args[2];

	for (int i = 0; i < n; i++)
	{
		idd[i] = Int64GetDatum(ids[i]);
		stn[i] = statuses[i] == NULL;
		std[i] = statuses[i] ? CStringGetTextDatum(statuses[i]) : (Datum) 0;
	}
	args[0] = array_datum(idd, NULL, n, INT8OID);
	args[1] = array_datum(std, stn, n, TEXTOID);
	run(STMT_RECORD_DELIVERY, args, NULL, false, 0, SPI_OK_UPDATE);
}

uint64
outbox_store_purge(TimestampTz before, int limit)
{
	Datum		args[2] = {TimestampTzGetDatum(before), Int32GetDatum(limit)};

	run(STMT_PURGE, args, NULL, false, 0, SPI_OK_DELETE);
	return SPI_processed;
}

/* --- received messages and suppression ------------------------------------ */

/* A text[] of strs[0..n-1], NULL entries as NULLs, as valid UTF-8. */
static Datum
text_array_datum(const char *const *strs, int n)
{
	Datum	   *values = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		nulls[i] = strs[i] == NULL;
		values[i] = strs[i] ? CStringGetTextDatum(sms_text_valid_utf8(strs[i])) : (Datum) 0;
	}
	return array_datum(values, nulls, n, TEXTOID);
}

InboxStoreResult
outbox_store_inbox(const char *account, bool key_by_content, const SmsInboxRow *rows, int n)
{
	const char **ids = palloc(sizeof(char *) * Max(n, 1));
	const char **senders = palloc(sizeof(char *) * Max(n, 1));
	const char **lines = palloc(sizeof(char *) * Max(n, 1));
	const char **messages = palloc(sizeof(char *) * Max(n, 1));
	Datum	   *received = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *no_time = palloc(sizeof(bool) * Max(n, 1));
	Datum		args[7];
	InboxStoreResult res = {0};
	bool		isnull;

	for (int i = 0; i < n; i++)
	{
		ids[i] = rows[i].provider_id;
		senders[i] = rows[i].sender;
		lines[i] = rows[i].line_number;
		messages[i] = rows[i].message;
		no_time[i] = rows[i].received_at == 0;
		received[i] = Int64GetDatum(rows[i].received_at);
	}
	args[0] = CStringGetTextDatum(account);
	args[1] = BoolGetDatum(key_by_content);
	args[2] = text_array_datum(ids, n);
	args[3] = array_datum(received, no_time, n, INT8OID);
	args[4] = text_array_datum(senders, n);
	args[5] = text_array_datum(lines, n);
	args[6] = text_array_datum(messages, n);
	run(STMT_INBOX_STORE, args, NULL, false, 0, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		res.stored = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		res.opted_out = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		res.opted_in = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	}
	return res;
}

uint64
outbox_store_blacklist(const int64 *outbox_ids, const char *const *message_ids,
					   const char *const *mobiles, int n)
{
	Datum	   *idd = palloc(sizeof(Datum) * Max(n, 1));
	Datum		args[3];

	for (int i = 0; i < n; i++)
		idd[i] = Int64GetDatum(outbox_ids[i]);
	args[0] = array_datum(idd, NULL, n, INT8OID);
	args[1] = text_array_datum(message_ids, n);
	args[2] = text_array_datum(mobiles, n);
	run(STMT_BLACKLIST, args, NULL, false, 0, SPI_OK_INSERT);
	return SPI_processed;
}
