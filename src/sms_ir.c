/*
 * sms_ir.c -- module entry point: defines the settings.  Nothing else.
 */
#include "postgres.h"

#include "fmgr.h"

#include "guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	sms_ir_define_gucs();
}
