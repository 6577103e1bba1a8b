/*
 * guc.c -- defines every sms_ir.* setting (context, flags, defaults).
 *
 * Secrets (api_key) are PGC_SUSET and GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL:
 * only superusers may read or set them, and SHOW ALL / pg_settings hide them
 * from everybody else.  Keep them in postgresql.conf or ALTER SYSTEM, never in
 * ALTER DATABASE/ROLE ... SET (readable in pg_db_role_setting).
 */
#include "postgres.h"

#include "utils/guc.h"

#include "guc.h"

int			sms_ir_provider = SMS_PROVIDER_SMSIR;
char	   *sms_ir_api_key = NULL;
char	   *sms_ir_line_number = NULL;
char	   *sms_ir_base_url = NULL;
int			sms_ir_timeout_ms = 10000;
int			sms_ir_connect_timeout_ms = 3000;
char	   *sms_ir_ca_bundle = NULL;

static const struct config_enum_entry provider_options[] = {
	{"smsir", SMS_PROVIDER_SMSIR, false},
	{NULL, 0, false}
};

#define SECRET_FLAGS (GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE)

void
sms_ir_define_gucs(void)
{
	DefineCustomEnumVariable("sms_ir.provider",
							 "SMS provider that sms_ir talks to.",
							 NULL,
							 &sms_ir_provider,
							 SMS_PROVIDER_SMSIR,
							 provider_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("sms_ir.api_key",
							   "API key of the provider account (secret).",
							   "Readable and settable by superusers only.",
							   &sms_ir_api_key,
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

	MarkGUCPrefixReserved("sms_ir");
}
