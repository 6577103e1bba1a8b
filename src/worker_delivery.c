/*
 * worker_delivery.c -- delivery tracking (sms_ir.track_delivery): the worker
 * asks the provider for the delivery reports of recently sent rows until
 * they are final.  One request per pack where the provider reports a whole
 * pack at once, else one per message id.  A report saying a recipient is
 * on the blacklist (SmsDelivery.blacklisted) suppresses that mobile
 * (reason 'blacklist') in the transaction that records the status.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "args.h"
#include "outbox_store.h"
#include "payload.h"
#include "token.h"
#include "worker_internal.h"

/* sent rows looked at per round */
#define TRACK_ROWS 50
/* status requests one tracked row may need: one per message id of a pack */
#define TRACK_CALLS_PER_ROW 100
/* rows sent longer ago than this are no longer tracked */
#define TRACK_MAX_AGE_SECS (3 * SECS_PER_DAY)
/* a row is asked about again after this long */
#define TRACK_RECHECK_SECS 30

/* One tracked row. */
typedef struct TrackedRow
{
	int64		id;
	const SmsAccount *account;	/* the one that sent it */
	const SmsProvider *provider;	/* the account's */
	bool		uses_token;
	bool		by_pack;		/* one report for the whole pack */
	const char *status;			/* combined delivery status, NULL if none yet */
} TrackedRow;

static MemoryContext delivery_cxt = NULL;

/* Call c of a round: `a` for row `row`, built with `cfg`. */
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

/*
 * A row is delivered when all its messages are, failed when all are final
 * and some failed, else still on its way.
 */
static const char *
combine_status(const char *so_far, const char *st)
{
	if (so_far == NULL || strcmp(so_far, st) == 0)
		return st;
	if (strcmp(st, "queued") == 0 || strcmp(so_far, "queued") == 0)
		return "queued";
	if (strcmp(st, "sent") == 0 || strcmp(so_far, "sent") == 0)
		return "sent";
	return "failed";			/* mix of delivered and failed */
}

/* The requests for one tracked row (appended to calls[*ncalls..max-1]). */
static void
plan_row(TrackedRow *row, int r, const char *kind, Jsonb *result, WorkerConfigs *configs,
		 const HttpRunOptions *token_opts, HttpCall *calls, int *call_row, int *ncalls, int max)
{
	AccountSettings *ps = worker_configs_get(configs, row->account);
	SmsConfig	cfg = ps->cfg;
	SmsArgs		pack = {0};
	JsonbValue	v;
	SmsError	err;
	const char *hint;

	sms_args_init(&pack, SMS_OP_PACK_STATUS);
	pack.sent_as = sms_kind_op(kind);
	if (getKeyJsonValueFromContainer(&result->root, "pack_id", 7, &v) && v.type == jbvString)
		pack.id = pnstrdup(v.val.string.val, v.val.string.len);
	row->uses_token = sms_provider_uses_token(row->provider, &cfg);
	row->by_pack = pack.id != NULL && sms_provider_supports(row->provider, &pack, &hint);
	if (!sms_token_apply(row->provider, &cfg, token_opts, &err))
		return;

	if (row->by_pack)
	{
		SmsArgs    *a;

		if (*ncalls >= max)
			return;
		a = palloc(sizeof(SmsArgs));
		*a = pack;
		track_call(&calls[*ncalls], call_row, *ncalls, r, row->provider, a, &cfg);
		(*ncalls)++;
	}
	else if (getKeyJsonValueFromContainer(&result->root, "message_ids", 11, &v) &&
			 v.type == jbvBinary)
	{
		JsonbIterator *it = JsonbIteratorInit(v.val.binary.data);
		JsonbValue	elem;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		{
			SmsArgs    *a;

			if (tok != WJB_ELEM || elem.type != jbvString || *ncalls >= max)
				continue;
			a = palloc(sizeof(SmsArgs));
			sms_args_init(a, SMS_OP_STATUS);
			a->id = pnstrdup(elem.val.string.val, elem.val.string.len);
			track_call(&calls[*ncalls], call_row, *ncalls, r, row->provider, a, &cfg);
			(*ncalls)++;
		}
	}
}

void
worker_track_delivery(void)
{
	TrackedRow *rows;
	int			n;
	HttpCall   *calls;
	int		   *call_row;
	int			ncalls = 0;
	int			max_calls;
	HttpRunOptions opts;
	WorkerConfigs *configs;
	MemoryContext old;
	TimestampTz now = GetCurrentTimestamp();
	int64	   *ids;
	const char **statuses;
	/* blacklisted recipients: outbox row, message id, mobile (NULL: from the row) */
	int64	   *bl_rows;
	const char **bl_message_ids;
	const char **bl_mobiles;
	int			nblacklisted = 0;

	if (delivery_cxt == NULL)
		delivery_cxt = AllocSetContextCreate(TopMemoryContext, "sms_ir delivery tracking",
											 ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(delivery_cxt);
	configs = worker_configs_create(delivery_cxt);
	worker_http_options(&opts);

	outbox_store_begin("sms_ir: tracking delivery");
	if (!outbox_store_present() ||
		(n = outbox_store_tracked(now - (TimestampTz) TRACK_MAX_AGE_SECS * USECS_PER_SEC,
								  now - (TimestampTz) TRACK_RECHECK_SECS * USECS_PER_SEC,
								  TRACK_ROWS)) == 0)
	{
		outbox_store_commit();
		return;
	}
	old = MemoryContextSwitchTo(delivery_cxt);
	max_calls = n * TRACK_CALLS_PER_ROW;
	rows = palloc0(sizeof(TrackedRow) * n);
	calls = palloc0(sizeof(HttpCall) * max_calls);
	call_row = palloc0(sizeof(int) * max_calls);
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *account = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));

		rows[i].id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		rows[i].account = sms_account_by_name(account);
		/* an account gone, or whose secret cannot be used, is skipped (logged once) */
		if (rows[i].account == NULL || !worker_configs_get(configs, rows[i].account)->usable)
			continue;
		rows[i].provider = sms_account_provider(rows[i].account);
		plan_row(&rows[i], i, TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)),
				 DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 4, &isnull)),
				 configs, &opts, calls, call_row, &ncalls, max_calls);
	}
	MemoryContextSwitchTo(old);
	outbox_store_commit();

	old = MemoryContextSwitchTo(delivery_cxt);
	bl_rows = palloc(sizeof(int64) * Max(max_calls, 1));
	bl_message_ids = palloc(sizeof(char *) * Max(max_calls, 1));
	bl_mobiles = palloc(sizeof(char *) * Max(max_calls, 1));
	if (ncalls > 0)
		(void) http_run(calls, ncalls, &opts);
	for (int c = 0; c < ncalls; c++)
	{
		SmsReply	reply;
		TrackedRow *row = &rows[call_row[c]];

		if (!calls[c].done || calls[c].transport != SMS_OK)
			continue;
		http_call_reply(row->provider, (SmsArgs *) calls[c].user, &calls[c], &reply);
		if (reply.err.cls != SMS_OK || reply.ndeliveries < 1)
		{
			if (reply.err.cls == SMS_ERR_AUTH && row->uses_token)
				sms_token_forget();
			continue;
		}
		/* by message id: one delivery a call; by pack id: one per recipient */
		for (int d = 0; d < (row->by_pack ? reply.ndeliveries : 1); d++)
		{
			const SmsDelivery *dl = &reply.deliveries[d];

			row->status = combine_status(row->status, dl->status);
			if (dl->blacklisted && nblacklisted < max_calls)
			{
				bl_rows[nblacklisted] = row->id;
				bl_message_ids[nblacklisted] = dl->message_id ? dl->message_id :
					((SmsArgs *) calls[c].user)->id;
				bl_mobiles[nblacklisted] = dl->mobile;
				nblacklisted++;
			}
		}
	}
	ids = palloc(sizeof(int64) * n);
	statuses = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		ids[i] = rows[i].id;
		statuses[i] = rows[i].status;
	}
	MemoryContextSwitchTo(old);

	outbox_store_begin("sms_ir: recording delivery");
	if (outbox_store_present())
	{
		outbox_store_record_delivery(ids, statuses, n);
		if (nblacklisted > 0)
			(void) outbox_store_blacklist(bl_rows, bl_message_ids, bl_mobiles, nblacklisted);
	}
	outbox_store_commit();
}
