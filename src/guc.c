/*
 * guc.c -- defines every sms_ir.* setting (context, flags, defaults).
 *
 * Secrets (api_key) are PGC_SUSET and GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL:
 * only superusers may read or set them, and SHOW ALL / pg_settings hide them
 * from everybody else.  Keep them in postgresql.conf or ALTER SYSTEM, never in
 * ALTER DATABASE/ROLE ... SET (readable in pg_db_role_setting).
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "guc.h"
#include "account.h"
#include "provider.h"

int			sms_ir_provider = 0;	/* the registry's first: smsir */
char	   *sms_ir_api_key = NULL;
char	   *sms_ir_bearer_token = NULL;
char	   *sms_ir_secret_key = NULL;
char	   *sms_ir_username = NULL;
char	   *sms_ir_password = NULL;
char	   *sms_ir_domain = NULL;
char	   *sms_ir_line_number = NULL;
char	   *sms_ir_base_url = NULL;
int			sms_ir_timeout_ms = 10000;
int			sms_ir_connect_timeout_ms = 3000;
char	   *sms_ir_ca_bundle = NULL;

char	   *sms_ir_database_name = NULL;
bool		sms_ir_worker_enabled = true;
int			sms_ir_batch_size = 200;
int			sms_ir_max_concurrency = 16;
int			sms_ir_rate_limit = 0;
int			sms_ir_max_attempts = 5;
int			sms_ir_retry_base_delay_ms = 1000;
int			sms_ir_retry_max_delay_ms = 300000;
int			sms_ir_poll_interval_ms = 1000;
int			sms_ir_delivery_guarantee = SMS_AT_LEAST_ONCE;
bool		sms_ir_track_delivery = false;
int			sms_ir_retention_s = 7 * 86400;
int			sms_ir_max_parts = 10;
int			sms_ir_breaker_failures = 5;
int			sms_ir_breaker_cooldown_ms = 30000;
int			sms_ir_otp_valid_for_s = 5 * 60;

static const struct config_enum_entry guarantee_options[] = {
	{"at_least_once", SMS_AT_LEAST_ONCE, false},
	{"at_most_once", SMS_AT_MOST_ONCE, false},
	{NULL, 0, false}
};

/* sms_ir.provider's options: the provider registry, in its order */
const struct config_enum_entry *
sms_provider_guc_options(void)
{
	static struct config_enum_entry *opts = NULL;

	if (opts != NULL)
		return opts;

	opts = MemoryContextAllocZero(TopMemoryContext,
								  sizeof(struct config_enum_entry) * (sms_nproviders + 1));
	for (int i = 0; i < sms_nproviders; i++)
	{
		opts[i].name = sms_providers[i]->name;
		opts[i].val = i;
	}
	return opts;
}

#define SECRET_FLAGS (GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE)

void
sms_ir_define_gucs(void)
{
	DefineCustomEnumVariable("sms_ir.provider",
							 "SMS provider that sms_ir talks to.",
							 NULL,
							 &sms_ir_provider,
							 0,
							 sms_provider_guc_options(),
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.api_key",
							   "API key of the provider account (secret).",
							   "Readable and settable by superusers only.",
							   &sms_ir_api_key,
							   "",
							   PGC_SUSET, SECRET_FLAGS,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.bearer_token",
							   "Bearer token of the provider account (secret; smsafzar).",
							   "When set, smsafzar requests carry Authorization: Bearer instead of X-Api-Key.  Readable and settable by superusers only.",
							   &sms_ir_bearer_token,
							   "",
							   PGC_SUSET, SECRET_FLAGS,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.secret_key",
							   "Secret key of the provider account (secret; smsir_legacy).",
							   "Sent as SecretKey, with sms_ir.api_key as UserApiKey, to fetch the legacy sms.ir token.  Readable and settable by superusers only.",
							   &sms_ir_secret_key,
							   "",
							   PGC_SUSET, SECRET_FLAGS,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.username",
							   "User name of the provider account (secret; mediapayamak, smsafzar token login).",
							   "Sent as userName in every MediaPayamak SOAP request.  Readable and settable by superusers only.",
							   &sms_ir_username,
							   "",
							   PGC_SUSET, SECRET_FLAGS,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.password",
							   "Password of the provider account (secret; mediapayamak, smsafzar token login).",
							   "Sent as password in every MediaPayamak SOAP request.  Readable and settable by superusers only.",
							   &sms_ir_password,
							   "",
							   PGC_SUSET, SECRET_FLAGS,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.domain",
							   "Domain of the provider account (secret; smsafzar token login).",
							   "Sent as domain, with sms_ir.username and sms_ir.password, to POST /auth/token.  Readable and settable by superusers only.",
							   &sms_ir_domain,
							   "",
							   PGC_SUSET, SECRET_FLAGS,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.line_number",
							   "Default sender line number.",
							   NULL,
							   &sms_ir_line_number,
							   "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.base_url",
							   "Base URL of the provider API; empty means the provider's default.",
							   NULL,
							   &sms_ir_base_url,
							   "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.timeout",
							"Total time allowed for one provider request.",
							NULL,
							&sms_ir_timeout_ms,
							10000, 100, 600000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.connect_timeout",
							"Time allowed to connect to the provider.",
							NULL,
							&sms_ir_connect_timeout_ms,
							3000, 100, 600000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.ca_bundle",
							   "CA certificate file used to verify the provider (empty = system CAs).",
							   NULL,
							   &sms_ir_ca_bundle,
							   "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	/*
	 * outbox worker: all reload on SIGHUP except the database, which only the
	 * preloaded library can define (a PGC_POSTMASTER setting defined after
	 * startup is a FATAL error; without preload there is no worker anyway).
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("sms_ir.database_name",
								   "Database whose sms_ir.outbox the background worker drains.",
								   NULL,
								   &sms_ir_database_name,
								   "postgres",
								   PGC_POSTMASTER, 0,
								   NULL, NULL, NULL);

	DefineCustomBoolVariable("sms_ir.worker_enabled",
							 "Whether the outbox worker sends; off pauses it.",
							 NULL,
							 &sms_ir_worker_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.batch_size",
							"Most outbox rows the worker claims in one transaction.",
							NULL,
							&sms_ir_batch_size,
							200, 1, 10000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.max_concurrency",
							"Provider requests the worker keeps in flight.",
							NULL,
							&sms_ir_max_concurrency,
							16, 1, 256,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.rate_limit",
							"Provider requests per second the worker may start (0 = no limit).",
							NULL,
							&sms_ir_rate_limit,
							0, 0, 100000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.max_attempts",
							"Attempts per outbox row before it is marked failed.",
							NULL,
							&sms_ir_max_attempts,
							5, 1, 100,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.retry_base_delay",
							"First retry delay; doubles per attempt, with full jitter.",
							NULL,
							&sms_ir_retry_base_delay_ms,
							1000, 1, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.retry_max_delay",
							"Longest retry delay.",
							NULL,
							&sms_ir_retry_max_delay_ms,
							300000, 1, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.poll_interval",
							"How often the worker looks for due rows without being woken.",
							NULL,
							&sms_ir_poll_interval_ms,
							1000, 10, 600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("sms_ir.delivery_guarantee",
							 "What a restarted worker does with rows that were in flight.",
							 "at_least_once re-queues them (a duplicate SMS is possible); "
							 "at_most_once marks them unknown.",
							 &sms_ir_delivery_guarantee,
							 SMS_AT_LEAST_ONCE,
							 guarantee_options,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("sms_ir.track_delivery",
							 "Whether the worker polls delivery reports of sent rows.",
							 NULL,
							 &sms_ir_track_delivery,
							 false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.retention",
							"Age after which sent, failed and cancelled rows are purged (0 = keep).",
							NULL,
							&sms_ir_retention_s,
							7 * 86400, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.max_parts",
							"Most SMS parts one message text may need.",
							"Longer texts are refused before any request, in every path.",
							&sms_ir_max_parts,
							10, 1, 255,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.breaker_failures",
							"Consecutive account-level failures that open an account's circuit breaker.",
							"While it is open, the account's sends go straight to its fallback.",
							&sms_ir_breaker_failures,
							5, 1, 1000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.breaker_cooldown",
							"How long an open circuit breaker keeps an account out before one probe request.",
							NULL,
							&sms_ir_breaker_cooldown_ms,
							30000, 100, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("sms_ir.otp_valid_for",
							"How long a queued verify or template row may wait before it expires (0 = never).",
							"A queue function's valid_for argument overrides it; bulk rows never expire by default.",
							&sms_ir_otp_valid_for_s,
							5 * 60, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	/* last: sms_ir.accounts checks its names against every setting above */
	sms_accounts_define_gucs();

	MarkGUCPrefixReserved("sms_ir");
}
