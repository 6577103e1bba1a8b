/*
 * checks.h -- oracles shared by the fuzz targets.
 */
#ifndef SMS_FUZZ_CHECKS_H
#define SMS_FUZZ_CHECKS_H

#include "postgres.h"

/* Read every byte of s (ASan checks the whole range); NULL is fine. */
extern void touch_str(const char *s);

/* Would PostgreSQL's JSON parser (what jsonb_in uses) accept s? */
extern bool pg_json_valid(const char *s);

/*
 * Is s a number numeric_in() accepts without ereport?  Deliberately a safe
 * subset: [sign] digits [. digits] [e [sign] digits] with |exponent| <= 1000
 * and at most 1000 characters, or NaN / [sign]Infinity.
 */
extern bool pg_numeric_ok(const char *s);

/*
 * Is s sms_amount_text()'s canonical form (src/reply.c):
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?(e-?[1-9][0-9]*)?, exponent <= 1000, no sign
 * on zero, and both a JSON number and numeric_in() input?
 */
extern bool amount_is_canonical(const char *s);

#endif
