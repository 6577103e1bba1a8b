/*
 * parts.h -- how many SMS parts a message text needs (SPEC §12.5).
 *
 * The counter is pure (no ereport, no I/O) so args.c and the SQL function
 * sms_ir.sms_parts() share one rule.
 */
#ifndef SMS_IR_PARTS_H
#define SMS_IR_PARTS_H

#include "postgres.h"

/* GSM 03.38 7-bit: septets in a single part, and per part of a long text */
#define SMS_GSM7_SINGLE_PART	160
#define SMS_GSM7_MULTI_PART		153
/* UCS-2: UTF-16 code units in a single part, and per part of a long text */
#define SMS_UCS2_SINGLE_PART	70
#define SMS_UCS2_MULTI_PART		67

typedef enum SmsEncoding
{
	SMS_ENC_GSM7,
	SMS_ENC_UCS2
} SmsEncoding;

typedef struct SmsParts
{
	SmsEncoding encoding;
	int64		characters;		/* septets (gsm7) or UTF-16 code units (ucs2) */
	int64		parts;
} SmsParts;

/*
 * Count `len` bytes of UTF-8 text.  An invalid byte counts as one UCS-2 unit
 * (it would go out as U+FFFD).  Empty text: 0 characters, 1 part, gsm7.
 */
extern void sms_parts_count(const char *utf8, size_t len, SmsParts *out);

/* The same for a NUL-terminated text in the database encoding (backend only). */
extern void sms_parts_of_text(const char *s, SmsParts *out);

/* "gsm7" or "ucs2" */
extern const char *sms_encoding_name(SmsEncoding enc);

#endif
