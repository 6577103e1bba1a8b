/*
 * mobile.h -- Iranian mobile number normalisation, shared by all providers.
 */
#ifndef SMS_IR_MOBILE_H
#define SMS_IR_MOBILE_H

#include <stdbool.h>

/* Length of the canonical form "09xxxxxxxxx". */
#define SMS_MOBILE_LEN 11

/*
 * Normalise `in` into `out` (SMS_MOBILE_LEN + 1 bytes) as "09xxxxxxxxx".
 * Accepts 09x, 9x, 989x, +989x and 00989x forms; spaces and dashes are
 * ignored; Persian and Arabic-Indic digits (UTF-8) count as ASCII digits.
 * Returns false (out undefined) when the number is not a mobile.
 */
extern bool sms_mobile_normalize(const char *in, char *out);

/* Mask a canonical number for logs: "0912***4567". Returns a palloc'd string. */
extern char *sms_mobile_mask(const char *canonical);

#endif
