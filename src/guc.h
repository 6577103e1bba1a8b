/*
 * guc.h -- the sms_ir.* settings.
 *
 * Every setting lives here so the rest of the code reads plain C variables.
 */
#ifndef SMS_IR_GUC_H
#define SMS_IR_GUC_H

typedef enum SmsProviderId
{
	SMS_PROVIDER_SMSIR = 0
} SmsProviderId;

extern int	sms_ir_provider;
extern char *sms_ir_api_key;
extern char *sms_ir_line_number;
extern char *sms_ir_base_url;
extern int	sms_ir_timeout_ms;
extern int	sms_ir_connect_timeout_ms;
extern char *sms_ir_ca_bundle;

extern void sms_ir_define_gucs(void);

#endif
