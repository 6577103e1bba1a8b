/*
 * worker.h -- shared state of the outbox launcher and worker.
 *
 * With sms_ir in shared_preload_libraries, a static "sms_ir launcher"
 * (connected to no database) starts a dynamic "sms_ir worker" in
 * sms_ir.database_name whenever that database exists.  The worker exits when
 * someone waits to drop or rename its database, so it never blocks DROP
 * DATABASE; the launcher starts it again when the database is back.
 *
 * Exactly one worker runs per database, also after the launcher itself
 * restarts (its handle of the old worker is then lost): the launcher
 * registers a worker only while worker_pid is 0, numbering each
 * registration (worker_generation, passed as the worker's argument), and a
 * worker starts only if no other holds worker_pid and its number is the
 * latest; otherwise it exits at once.
 */
#ifndef SMS_IR_WORKER_H
#define SMS_IR_WORKER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

#define SMS_WORKER_ERROR_LEN 256

typedef struct SmsWorkerShared
{
	slock_t		mutex;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	pid_t		worker_pid;		/* the one live worker, 0 if none */
	Latch	   *worker_latch;
	uint32		worker_generation;	/* of the worker the launcher last registered */
	char		state[32];		/* starting, idle, sending, recording, paused, no extension */
	bool		paused;			/* worker_enabled is off: commits need not wake it */
	int64		sent;
	int64		failed;
	int64		retried;
	int			in_flight;
	char		last_error[SMS_WORKER_ERROR_LEN];
	TimestampTz last_error_at;
} SmsWorkerShared;

/* NULL unless sms_ir was loaded through shared_preload_libraries */
extern SmsWorkerShared *sms_worker_shared;

/* launcher.c */
extern void sms_worker_init_preload(void);

/* outbox.c: wake the worker when the current transaction commits */
extern void sms_outbox_wake_at_commit(void);
extern void sms_outbox_init(void);

/* worker.c */
extern PGDLLEXPORT void sms_ir_launcher_main(Datum arg);
extern PGDLLEXPORT void sms_ir_worker_main(Datum arg);

#endif
