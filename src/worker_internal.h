/*
 * worker_internal.h -- what the outbox worker's modules share: the loop
 * (worker.c), the pipeline (worker_pipeline.c), delivery tracking
 * (worker_delivery.c), received messages (worker_inbox.c) and the per-provider settings they send with
 * (worker_config.c).
 */
#ifndef SMS_IR_WORKER_INTERNAL_H
#define SMS_IR_WORKER_INTERNAL_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "account.h"
#include "http.h"
#include "provider.h"
#include "secret.h"

/* longest last_error stored in the outbox (cut at a character boundary) */
#define OUTBOX_ERROR_MAX_BYTES 1000

/*
 * How a row held back (queued again, no attempt used) says why, in
 * last_error; the worker makes such rows due at once when the setting that
 * held them changes (outbox_store_release_held).
 */
#define HELD_DAILY_LIMIT "held by the daily limit"
#define HELD_QUIET_HOURS "held for quiet hours"

/* worker.c */
extern void worker_set_state(const char *state);
extern void worker_note_error(const char *text);
extern bool worker_should_abort(void *arg);
extern void worker_http_options(HttpRunOptions *opts);

/*
 * worker_config.c: connection settings, resolved once per set for each
 * account: a file secret costs a stat() per resolution, and a secret that
 * cannot be used is logged once per set, not once per row.  A session token
 * that cannot be fetched is tried once per set too.
 */
typedef struct AccountSettings
{
	const SmsAccount *account;
	const SmsProvider *provider;	/* the account's */
	bool		usable;
	SmsConfig	cfg;
	SmsSecretProblem problem;
	bool		token_failed;	/* the session token could not be fetched */
	SmsError	token_error;	/* ... and why */
} AccountSettings;

typedef struct WorkerConfigs WorkerConfigs;

/* A new, empty set in its own memory context under `parent`. */
extern WorkerConfigs *worker_configs_create(MemoryContext parent);
extern void worker_configs_free(WorkerConfigs *configs);
/* The settings of `account` in this set (resolved and logged on first use). */
extern AccountSettings *worker_configs_get(WorkerConfigs *configs, const SmsAccount *account);

/*
 * worker_pipeline.c: claim -> send -> judge -> record, slots refilled as
 * calls finish.
 */
typedef enum PipelineResult
{
	PIPELINE_IDLE,				/* nothing due, nothing in flight */
	PIPELINE_YIELD,				/* yield_at passed or settings to reload; rows kept */
	PIPELINE_STOPPED,			/* shutdown, postmaster death or database drop */
	PIPELINE_NO_OUTBOX			/* the extension is not (or no longer) there */
} PipelineResult;

extern void worker_pipeline_init(void);
extern PipelineResult worker_pipeline_run(TimestampTz yield_at);
/* Record outcomes an error left unrecorded; false if some row could not be. */
extern bool worker_pipeline_record_pending(void);
/* After an ERROR: abandon calls in flight and rows not yet sent. */
extern void worker_pipeline_reset_after_error(void);
/* Settings changed (SIGHUP): resolve them again before the next request. */
extern void worker_pipeline_forget_settings(void);
/*
 * Was some row left 'sending' since the last call (its outcome could not be
 * recorded)?  In-flight recovery settles it once the pipeline is idle.
 */
extern bool worker_pipeline_take_left_sending(void);
/* Rows claimed and not yet recorded (in flight, waiting or finished). */
extern bool worker_pipeline_busy(void);

/* worker_delivery.c */
extern void worker_track_delivery(void);

/* worker_inbox.c: store new received messages of every account (inbox_poll) */
extern void worker_poll_inbox(void);

#endif
