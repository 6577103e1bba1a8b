/*
 * secret.h -- values of the secret settings: inline, or 'file:/path'
 * references read from a file only the server's user can read.
 */
#ifndef SMS_IR_SECRET_H
#define SMS_IR_SECRET_H

/* true in processes started from a postmaster that preloaded sms_ir */
extern bool sms_ir_preloaded;

/* Why a secret setting cannot be used (no secret in any field). */
typedef struct SmsSecretProblem
{
	const char *setting;		/* "sms_ir.api_key" */
	char	   *message;
	char	   *detail;
	const char *hint;
} SmsSecretProblem;

/*
 * The value of secret `setting` whose raw GUC text is `raw`: "" when unset.
 * On false, *problem says why (raise it with sms_secret_raise, or record
 * it).  Never raises except on out of memory.
 */
extern bool sms_secret_resolve(const char *setting, const char *raw,
							   const char **value, SmsSecretProblem *problem);

/* ereport(ERROR) with SQLSTATE 28000. */
extern void sms_secret_raise(const SmsSecretProblem *problem) pg_attribute_noreturn();

#endif
