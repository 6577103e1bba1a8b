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

typedef struct SuppressedFound
{
	char	  **mobiles;
	int			n;
} SuppressedFound;

static void
read_suppressed(SPITupleTable *rows, uint64 n, void *state)
{
	SuppressedFound *found = state;

	if (n == 0)
		return;
	found->mobiles = palloc(sizeof(char *) * n);
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull);

		if (!isnull)
			found->mobiles[found->n++] = TextDatumGetCString(d);
	}
}

char **
sms_suppression_lookup(const SmsArgs *args, int *n)
{
	static SPIPlanPtr plan = NULL;
	SuppressedFound found = {NULL, 0};
	Datum	   *elems;

	*n = 0;
	if (args->nmobiles == 0)
		return NULL;
	elems = palloc(sizeof(Datum) * args->nmobiles);
	for (int i = 0; i < args->nmobiles; i++)
		elems[i] = CStringGetTextDatum(args->mobiles[i]);
	(void) sms_ir_owner_select("suppression", &plan,
							   "SELECT mobile FROM sms_ir.suppression"
							   " WHERE mobile OPERATOR(pg_catalog.=) ANY ($1)",
							   TEXTARRAYOID,
							   PointerGetDatum(construct_array(elems, args->nmobiles, TEXTOID,
															   -1, false, TYPALIGN_INT)),
							   0, read_suppressed, &found);
	*n = found.n;
	return found.mobiles;
}
