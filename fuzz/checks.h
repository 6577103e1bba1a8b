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

#endif
