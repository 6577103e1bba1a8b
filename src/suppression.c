/*
 * suppression.c -- the recipients marketing sends skip (suppression.h).
 *
 * The worker's claim returns each marketing row's suppressed mobiles with
 * the row (outbox_store.c); the synchronous functions look them up here.
 * Both drop them at send time, so a mobile suppressed after a row was
 * queued is still skipped.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "suppression.h"
#include "template.h"

bool
sms_suppression_applies(SmsOp op)
{
	return op == SMS_OP_BULK || op == SMS_OP_LIKE_TO_LIKE;
}

static int
compare_mobiles(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int
sms_suppression_apply(SmsArgs *args, char **suppressed, int nsuppressed)
{
	char	  **sorted;
	char	  **mobiles;
	char	  **messages = NULL;
	int			kept = 0;

	if (nsuppressed == 0 || args->nmobiles == 0)
		return 0;
	sorted = palloc(sizeof(char *) * nsuppressed);
	memcpy(sorted, suppressed, sizeof(char *) * nsuppressed);
	qsort(sorted, nsuppressed, sizeof(char *), compare_mobiles);

	mobiles = palloc(sizeof(char *) * args->nmobiles);
	if (args->messages)
		messages = palloc(sizeof(char *) * args->nmobiles);
	for (int i = 0; i < args->nmobiles; i++)
	{
		if (bsearch(&args->mobiles[i], sorted, nsuppressed, sizeof(char *), compare_mobiles))
			continue;
		mobiles[kept] = args->mobiles[i];
		if (messages)
			messages[kept] = args->messages[i];
		kept++;
	}
	pfree(sorted);
	if (kept == args->nmobiles)
		return 0;
	kept = args->nmobiles - kept;
	args->nmobiles -= kept;
	args->mobiles = mobiles;
	if (messages)
		args->messages = messages;
	return kept;
}

char **
sms_suppression_lookup(const SmsArgs *args, int *n)
{
	static SPIPlanPtr plan = NULL;
	Oid			owner = sms_ir_table_owner("suppression");
	Oid			save_user;
	int			save_sec;
	char	  **found = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	*n = 0;
	if (!OidIsValid(owner) || args->nmobiles == 0)
		return NULL;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		Datum	   *elems = palloc(sizeof(Datum) * args->nmobiles);
		Datum		arg;
		Oid			argtype = TEXTARRAYOID;

		for (int i = 0; i < args->nmobiles; i++)
			elems[i] = CStringGetTextDatum(args->mobiles[i]);
		arg = PointerGetDatum(construct_array(elems, args->nmobiles, TEXTOID, -1, false,
											  TYPALIGN_INT));
		SPI_connect();
		if (plan == NULL)
		{
			SPIPlanPtr	p = SPI_prepare("SELECT mobile FROM sms_ir.suppression"
										" WHERE mobile OPERATOR(pg_catalog.=) ANY ($1)",
										1, &argtype);

			if (p == NULL || SPI_keepplan(p) != 0)
				elog(ERROR, "could not prepare the sms_ir.suppression lookup: %s",
					 SPI_result_code_string(SPI_result));
			plan = p;
		}
		if (SPI_execute_plan(plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read sms_ir.suppression");
		if (SPI_processed > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			found = palloc(sizeof(char *) * SPI_processed);
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1,
											  &isnull);

				if (!isnull)
					found[(*n)++] = TextDatumGetCString(d);
			}
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
	return found;
}
