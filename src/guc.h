/*
 * guc.h -- the sms_ir.* settings.
 *
 * Every setting lives here so the rest of the code reads plain C variables.
 */
#ifndef SMS_IR_GUC_H
#define SMS_IR_GUC_H

/* index into sms_providers[] (provider_registry.c) */
extern int	sms_ir_provider;
extern char *sms_ir_api_key;
extern char *sms_ir_bearer_token;
extern char *sms_ir_secret_key;
extern char *sms_ir_username;
extern char *sms_ir_password;
extern char *sms_ir_domain;
extern char *sms_ir_line_number;
extern char *sms_ir_base_url;
extern int	sms_ir_timeout_ms;
extern int	sms_ir_connect_timeout_ms;
extern char *sms_ir_ca_bundle;

typedef enum SmsDeliveryGuarantee
{
	SMS_AT_LEAST_ONCE = 0,
	SMS_AT_MOST_ONCE
} SmsDeliveryGuarantee;

/* outbox worker */
extern char *sms_ir_database_name;
extern bool sms_ir_worker_enabled;
extern int	sms_ir_batch_size;
extern int	sms_ir_max_concurrency;
extern int	sms_ir_rate_limit;
extern int	sms_ir_max_attempts;
extern int	sms_ir_retry_base_delay_ms;
extern int	sms_ir_retry_max_delay_ms;
extern int	sms_ir_poll_interval_ms;
extern int	sms_ir_delivery_guarantee;
extern bool sms_ir_track_delivery;
extern int	sms_ir_retention_s;
extern int	sms_ir_max_parts;
extern int	sms_ir_breaker_failures;
extern int	sms_ir_breaker_cooldown_ms;
extern int	sms_ir_otp_valid_for_s;

/* guard rails */

/* "N/interval": at most `count` messages within `window_s` (count 0 = off) */
typedef struct SmsRateSetting
{
	int			count;
	int			window_s;
} SmsRateSetting;

/* "HH:MM-HH:MM" in sms_ir.timezone, minutes after midnight (off: start == end) */
typedef struct SmsQuietHours
{
	int			start_min;
	int			end_min;
} SmsQuietHours;

extern SmsRateSetting sms_ir_recipient_limit;
extern SmsRateSetting sms_ir_prefix_limit;
extern int	sms_ir_daily_limit;
extern SmsQuietHours sms_ir_quiet_hours;
/* sms_ir.timezone, loaded (never NULL once the settings are defined) */
extern struct pg_tz *sms_ir_timezone;
extern int	sms_ir_inbox_poll_s;

struct config_enum_entry;
/* sms_ir.provider's (and sms_ir.N_provider's) options: the registry */
extern const struct config_enum_entry *sms_provider_guc_options(void);

extern void sms_ir_define_gucs(void);

#endif
