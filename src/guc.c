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
#include "pgtime.h"
#include "utils/memutils.h"

#include "guc.h"
#include "calendar.h"
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

SmsRateSetting sms_ir_recipient_limit = {5, 10 * 60};
SmsRateSetting sms_ir_prefix_limit = {0, 0};
int			sms_ir_daily_limit = 0;
SmsQuietHours sms_ir_quiet_hours = {0, 0};
pg_tz	   *sms_ir_timezone = NULL;
int			sms_ir_inbox_poll_s = 60;

static char *recipient_limit_setting = NULL;
static char *prefix_limit_setting = NULL;
static char *quiet_hours_setting = NULL;
static char *timezone_setting = NULL;

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

/*
 * "N/interval" (a throttle): N messages within the interval, which takes
 * the units of a time setting ("10min", "1h", "30s"; a bare number is
 * seconds).  "0" or "" turns the throttle off.
 */
static bool
check_rate(char **newval, void **extra, GucSource source)
{
	const char *value = *newval;
	const char *slash;
	char	   *count_text;
	int			count;
	int			window_s;
	const char *hint = NULL;
	SmsRateSetting *parsed;

	while (*value == ' ')
		value++;
	if (value[0] == '\0' || strcmp(value, "0") == 0)
		count = window_s = 0;
	else
	{
		slash = strchr(value, '/');
		if (slash == NULL)
		{
			GUC_check_errdetail("A throttle is \"N/interval\", such as \"5/10min\", or \"0\" for none.");
			return false;
		}
		count_text = pnstrdup(value, slash - value);
		if (!parse_int(count_text, &count, 0, NULL) || count < 0)
		{
			GUC_check_errdetail("The count \"%s\" is not a whole number of messages.", count_text);
			return false;
		}
		if (!parse_int(slash + 1, &window_s, GUC_UNIT_S, &hint) || window_s < 1)
		{
			GUC_check_errdetail("The interval \"%s\" is not a time of at least 1s (use a unit: s, min, h, d).",
								slash + 1);
			return false;
		}
		if (count == 0)
			window_s = 0;
	}
	parsed = malloc(sizeof(SmsRateSetting));	/* GUC extras are free()d by guc.c */
	if (parsed == NULL)
		return false;
	parsed->count = count;
	parsed->window_s = window_s;
	*extra = parsed;
	return true;
}

static void
assign_recipient_limit(const char *newval, void *extra)
{
	sms_ir_recipient_limit = *(SmsRateSetting *) extra;
}

static void
assign_prefix_limit(const char *newval, void *extra)
{
	sms_ir_prefix_limit = *(SmsRateSetting *) extra;
}

/* "HH:MM-HH:MM" (may cross midnight); "" is off */
static bool
check_quiet_hours(char **newval, void **extra, GucSource source)
{
	SmsQuietHours q;
	SmsQuietHours *parsed;
	char	   *detail = NULL;

	if (!sms_quiet_hours_parse(*newval, &q, &detail))
	{
		GUC_check_errdetail("%s", detail);
		return false;
	}
	parsed = malloc(sizeof(SmsQuietHours));	/* GUC extras are free()d by guc.c */
	if (parsed == NULL)
		return false;
	*parsed = q;
	*extra = parsed;
	return true;
}

static void
assign_quiet_hours(const char *newval, void *extra)
{
	sms_ir_quiet_hours = *(SmsQuietHours *) extra;
}

/* a time zone name PostgreSQL knows (pg_tzset caches what it loads) */
static bool
check_timezone(char **newval, void **extra, GucSource source)
{
	pg_tz	   *tz = pg_tzset(*newval);
	pg_tz	  **parsed;

	if (tz == NULL)
	{
		GUC_check_errdetail("\"%s\" is not a time zone name PostgreSQL knows, such as \"Asia/Tehran\".",
							*newval);
		return false;
	}
	parsed = malloc(sizeof(pg_tz *));	/* GUC extras are free()d by guc.c */
	if (parsed == NULL)
		return false;
	*parsed = tz;
	*extra = parsed;
	return true;
}

static void
assign_timezone(const char *newval, void *extra)
{
	sms_ir_timezone = *(pg_tz **) extra;
}

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

	DefineCustomStringVariable("sms_ir.recipient_limit",
							   "Most verify and template messages to one mobile within an interval (\"N/interval\", \"0\" = none).",
							   "Counted across sessions, the synchronous and the queued paths; the next one is refused with SQLSTATE 53400.",
							   &recipient_limit_setting, "5/10min",
							   PGC_SIGHUP, 0,
							   check_rate, assign_recipient_limit, NULL);

	DefineCustomStringVariable("sms_ir.prefix_limit",
							   "Most verify and template messages to mobiles sharing their first 7 digits within an interval (\"0\" = none).",
							   "Stops pumping through sequential numbers; refused with SQLSTATE 53400.",
							   &prefix_limit_setting, "0",
							   PGC_SIGHUP, 0,
							   check_rate, assign_prefix_limit, NULL);

	DefineCustomIntVariable("sms_ir.daily_limit",
							"Messages the default account may send per calendar day in sms_ir.timezone (0 = no limit).",
							"Past it, synchronous sends are refused and the worker holds the account's rows.",
							&sms_ir_daily_limit,
							0, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.quiet_hours",
							   "Daily window in which bulk and like-to-like messages are held (\"HH:MM-HH:MM\", empty = none).",
							   "Queued rows due inside it wait for its end; synchronous bulk sends are refused. OTPs are never held.",
							   &quiet_hours_setting, "",
							   PGC_SIGHUP, 0,
							   check_quiet_hours, assign_quiet_hours, NULL);

	DefineCustomStringVariable("sms_ir.timezone",
							   "Time zone of sms_ir.quiet_hours and of the daily limits' calendar day.",
							   NULL,
							   &timezone_setting, "Asia/Tehran",
							   PGC_SIGHUP, 0,
							   check_timezone, assign_timezone, NULL);

	DefineCustomIntVariable("sms_ir.inbox_poll",
							"How often the worker stores new received messages in sms_ir.inbox (0 = never).",
							"Every account whose provider lists received messages is polled; opt-out replies act on sms_ir.suppression.",
							&sms_ir_inbox_poll_s,
							60, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	/* last: sms_ir.accounts checks its names against every setting above */
	sms_accounts_define_gucs();

	MarkGUCPrefixReserved("sms_ir");
}
