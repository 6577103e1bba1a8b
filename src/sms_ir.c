/*
 * sms_ir.c -- module entry point: settings, the commit-time wake-up, and,
 * when preloaded, shared memory and the outbox launcher.  Nothing else.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "breaker.h"
#include "guc.h"
#include "metrics.h"
#include "secret.h"
#include "throttle.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	sms_ir_define_gucs();
	sms_outbox_init();
	if (process_shared_preload_libraries_in_progress)
	{
		/* inherited by every backend the postmaster forks: secret.c */
		sms_ir_preloaded = true;
		sms_worker_init_preload();
		sms_breaker_init_preload();
		sms_throttle_init_preload();
		sms_metrics_init_preload();
	}
}
