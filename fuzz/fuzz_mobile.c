/*
 * fuzz_mobile.c -- libFuzzer target for src/mobile.c.
 *
 * The input, up to its first NUL, is a mobile number as a user would pass
 * it.  sms_mobile_normalize() writes into an exact-size heap buffer (ASan
 * catches a write past SMS_MOBILE_LEN + 1) and is compared with a reference
 * model of the documented grammar (mobile.h, SPEC §4):
 *
 *   read Persian (U+06F0..9) and Arabic-Indic (U+0660..9) digits as ASCII,
 *   drop every ' ', '-', '\t'; then  (+98 | 0098 | 98 | 0)? 9 d{9}
 *
 * A canonical result must be a fixed point, and sms_mobile_mask() of it
 * must have the documented "0912***4567" shape.  The mask is also fed the raw
 * input, which callers never do but which must not break memory safety.
 */
#include "postgres.h"

#include <stdint.h>

#include "arena.h"
#include "checks.h"
#include "mobile.h"

#define CHECK(cond, ...) \
	do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Reference model; `out` gets the canonical form when true. */
static bool
model(const char *in, char *out)
{
	size_t		n = 0;
	size_t		cap = strlen(in) + 1;
	char	   *s = malloc(cap);
	const char *rest;
	bool		ok = false;

	for (const unsigned char *p = (const unsigned char *) in; *p; p++)
	{
		if ((p[0] == 0xD9 && p[1] >= 0xA0 && p[1] <= 0xA9) ||
			(p[0] == 0xDB && p[1] >= 0xB0 && p[1] <= 0xB9))
		{
			/* second bytes A0..A9 and B0..B9: the low nibble is the digit */
			s[n++] = (char) ('0' + (p[1] & 0x0F));
			p++;
		}
		else if (*p != ' ' && *p != '-' && *p != '\t')
			s[n++] = (char) *p;
	}
	s[n] = '\0';

	if (strncmp(s, "+98", 3) == 0)
		rest = s + 3;
	else if (strncmp(s, "0098", 4) == 0)
		rest = s + 4;
	else if (strncmp(s, "98", 2) == 0 && n == 12)
		rest = s + 2;
	else if (s[0] == '0' && n == 11)
		rest = s + 1;
	else
		rest = s;
	if (strlen(rest) == 10 && rest[0] == '9' && all_digits(rest, 10))
	{
		out[0] = '0';
		memcpy(out + 1, rest, 10);
		out[11] = '\0';
		ok = true;
	}
	free(s);
	return ok;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *in = malloc(size + 1);
	char	   *out = malloc(SMS_MOBILE_LEN + 1);
	char		expect[SMS_MOBILE_LEN + 1];
	bool		got,
				want;

	memcpy(in, data, size);
	in[size] = '\0';

	got = sms_mobile_normalize(in, out);
	want = model(in, expect);
	CHECK(got == want, "normalize(\"%s\") = %s, the documented grammar says %s",
		  in, got ? "true" : "false", want ? "true" : "false");
	if (got)
	{
		char	   *again = malloc(SMS_MOBILE_LEN + 1);
		char	   *mask;

		CHECK(strlen(out) == SMS_MOBILE_LEN && strncmp(out, "09", 2) == 0 &&
			  all_digits(out, SMS_MOBILE_LEN),
			  "normalize(\"%s\") = \"%s\" is not 09xxxxxxxxx", in, out);
		CHECK(strcmp(out, expect) == 0, "normalize(\"%s\") = \"%s\", expected \"%s\"",
			  in, out, expect);
		CHECK(sms_mobile_normalize(out, again) && strcmp(out, again) == 0,
			  "normalize is not idempotent on \"%s\"", out);
		free(again);

		mask = sms_mobile_mask(out);
		CHECK(strlen(mask) == 11 && strncmp(mask, out, 4) == 0 &&
			  strncmp(mask + 4, "***", 3) == 0 && strcmp(mask + 7, out + 7) == 0,
			  "mask(\"%s\") = \"%s\"", out, mask);
	}
	touch_str(sms_mobile_mask(in));

	arena_reset();
	free(out);
	free(in);
	return 0;
}
