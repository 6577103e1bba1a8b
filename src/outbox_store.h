/*
 * outbox_store.h -- every SQL statement the outbox worker runs.
 *
 * Each statement is prepared once per worker (SPI_prepare + SPI_keepplan)
 * and run with parameters; PostgreSQL's plan cache re-plans it after DDL
 * (DROP and CREATE EXTENSION included).  All of them are schema-qualified
 * with qualified operators: the worker's search_path is pg_catalog alone.
 *
 * The caller brackets them with outbox_store_begin()/outbox_store_commit()
 * and checks outbox_store_present() first in every transaction.
 */
#ifndef SMS_IR_OUTBOX_STORE_H
#define SMS_IR_OUTBOX_STORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"

#include "provider.h"

/* The statuses of sms_ir.outbox_status the worker writes or reads. */
typedef enum OutboxStatus
{
	OUTBOX_QUEUED,
	OUTBOX_SENDING,
	OUTBOX_SENT,
	OUTBOX_FAILED,
	OUTBOX_CANCELLED,
	OUTBOX_UNKNOWN,
	OUTBOX_EXPIRED,
	OUTBOX_SUPPRESSED,
	OUTBOX_STATUS_COUNT
} OutboxStatus;

extern const char *outbox_status_name(OutboxStatus status);

/* A transaction with SPI connected and a snapshot; activity for pg_stat_activity. */
extern void outbox_store_begin(const char *activity);
extern void outbox_store_commit(void);

/* Is sms_ir (with its outbox) installed in this database?  In a transaction. */
extern bool outbox_store_present(void);

/*
 * Rows left 'sending' (in flight when a worker stopped): queued again when
 * requeue and attempts remain, else unknown.  Returns how many.
 */
extern uint64 outbox_store_recover(bool requeue, int max_attempts);

/* Lanes: outbox.priority 0 .. OUTBOX_LANE_MAX, higher first. */
#define OUTBOX_LANE_MAX 10
#define OUTBOX_LANES (OUTBOX_LANE_MAX + 1)

/*
 * Where the claim's index read of one lane starts: just after the last row
 * claimed from it (next_attempt_at, id).  valid = false: its first due row.
 */
typedef struct OutboxCursor
{
	bool		valid;
	TimestampTz next_attempt_at;
	int64		id;
} OutboxCursor;

/*
 * Claim up to `limit` due rows (FOR UPDATE SKIP LOCKED), lane by lane from
 * the highest down to lowest_lane, each after cursors[lane] when valid:
 * status 'sending', attempts + 1.  The rows are in SPI_tuptable (columns
 * below).  Returns how many.
 */
extern int	outbox_store_claim(int limit, const OutboxCursor *cursors, int lowest_lane);

#define OUTBOX_CLAIM_COL_ID 1
#define OUTBOX_CLAIM_COL_ATTEMPTS 2
#define OUTBOX_CLAIM_COL_PROVIDER 3
#define OUTBOX_CLAIM_COL_KIND 4
#define OUTBOX_CLAIM_COL_PAYLOAD 5
#define OUTBOX_CLAIM_COL_DUE 6
#define OUTBOX_CLAIM_COL_ACCOUNT 7
#define OUTBOX_CLAIM_COL_EXPIRES_AT 8	/* NULL: never */
#define OUTBOX_CLAIM_COL_PRIORITY 9
#define OUTBOX_CLAIM_COL_LOGICAL 10		/* {"body","ids"} of its logical template, or NULL */
#define OUTBOX_CLAIM_COL_SUPPRESSED 11	/* text[] of its suppressed recipients, or NULL */

/* The outcome of one claimed row, for outbox_store_record. */
typedef struct OutboxOutcome
{
	int64		id;
	OutboxStatus status;
	const char *result;			/* jsonb text, or NULL to keep */
	const char *last_error;		/* or NULL to keep */
	TimestampTz next_at;		/* for OUTBOX_QUEUED */
	bool		unstarted;		/* never sent: its claim's attempt is given back */
	const char *blacklisted;	/* a recipient refused as blacklisted (suppressed), or NULL */
} OutboxOutcome;

/*
 * Write outcomes[0..n-1] with one statement (rows still 'sending' only).
 * Raises on failure; the caller runs it in a subtransaction.
 */
extern void outbox_store_record(const OutboxOutcome *outcomes, int n);

/*
 * Queued rows held for later whose last_error starts with `held_prefix`
 * are due now (a limit was raised); returns how many.
 */
extern uint64 outbox_store_release_held(const char *held_prefix);

/* The earliest next_attempt_at of a queued row; false if none. */
extern bool outbox_store_next_due(TimestampTz *due);

/*
 * Sent rows whose delivery report is not final: sent after sent_after,
 * last checked before checked_before (or never), at most limit.  Rows in
 * SPI_tuptable: id int8, account text (the one that sent it), kind text,
 * result jsonb.
 */
extern int	outbox_store_tracked(TimestampTz sent_after, TimestampTz checked_before, int limit);

/* delivery_status of ids[i] := statuses[i] (NULL keeps it), checked now. */
extern void outbox_store_record_delivery(const int64 *ids, const char *const *statuses, int n);

/* Delete up to limit final rows finished before `before`; returns how many. */
extern uint64 outbox_store_purge(TimestampTz before, int limit);

/* --- received messages and suppression (worker_inbox.c, worker_delivery.c) --- */

/* What storing one page of received messages did. */
typedef struct InboxStoreResult
{
	int64		stored;			/* messages new to sms_ir.inbox */
	int64		opted_out;		/* senders suppressed ('opt-out') */
	int64		opted_in;		/* 'opt-out' suppressions removed */
} InboxStoreResult;

/*
 * Store rows[0..n-1] of `account` in sms_ir.inbox, each provider message
 * once (key_by_content: the provider's ids do not name its messages; see
 * SmsInboxPolling), and apply the opt-out/opt-in of the new ones, in one
 * statement.  Senders that are mobiles must be canonical (09xxxxxxxxx).
 */
extern InboxStoreResult outbox_store_inbox(const char *account, bool key_by_content,
										   const SmsInboxRow *rows, int n);

/*
 * Suppress ('blacklist', source delivery:<outbox id>) the mobile of each
 * blacklisted delivery: mobiles[i], or when NULL the recipient of
 * message_ids[i] in row outbox_ids[i].  Returns how many were new.
 */
extern uint64 outbox_store_blacklist(const int64 *outbox_ids, const char *const *message_ids,
									 const char *const *mobiles, int n);

#endif
