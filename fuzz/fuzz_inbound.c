/*
 * fuzz_inbound.c -- libFuzzer target for the inbound intent classifier
 * (src/inbound.c): the text of a received SMS, any bytes.
 *
 * sms_inbound_intent() reads an exact-size copy (ASan sees any read past
 * len) and is checked against what its normalization promises, by
 * rewriting the input in ways that must not change the intent:
 *   - a zero-width non-joiner (U+200C) or a right-to-left mark (U+200F)
 *     after every character of a valid UTF-8 text;
 *   - ASCII digits as Persian (U+06F0..) or Arabic-Indic (U+0660..) ones;
 *   - Persian yeh and keheh as Arabic yeh and kaf.
 * Invalid UTF-8 is never an intent.
 */
#include "postgres.h"

#include <stdint.h>

#include "mb/pg_wchar.h"

#include "arena.h"
#include "checks.h"
#include "inbound.h"

#define CHECK(cond, ...) \
	do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

typedef enum
{
	REWRITE_ZWNJ,
	REWRITE_RLM,
	REWRITE_PERSIAN_DIGITS,
	REWRITE_ARABIC_DIGITS,
	REWRITE_ARABIC_LETTERS,
	NREWRITES
} Rewrite;

static const char *const rewrite_names[] = {
	"ZWNJ after each character", "RLM after each character", "Persian digits",
	"Arabic-Indic digits", "Arabic yeh and kaf"
};

static SmsInboundIntent
intent_of(const unsigned char *s, size_t len)
{
	/* exact-size heap copy */
	unsigned char *copy = malloc(len ? len : 1);
	SmsInboundIntent i;

	memcpy(copy, s, len);
	i = sms_inbound_intent((const char *) copy, len);
	free(copy);
	return i;
}

static bool
valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t off = 0; off < len;)
	{
		int			clen = pg_utf_mblen(s + off);

		if ((size_t) clen > len - off || !pg_utf8_islegal(s + off, clen))
			return false;
		off += clen;
	}
	return true;
}

/* `s` rewritten; *outlen its length (malloc'd) */
static unsigned char *
rewrite(const unsigned char *s, size_t len, Rewrite how, size_t *outlen)
{
	unsigned char *out = malloc(len * 4 + 4);
	size_t		n = 0;

	for (size_t off = 0; off < len;)
	{
		int			clen = pg_utf_mblen(s + off);
		pg_wchar	c = utf8_to_unicode(s + off);

		switch (how)
		{
			case REWRITE_ZWNJ:
			case REWRITE_RLM:
				memcpy(out + n, s + off, clen);
				n += clen;
				unicode_to_utf8(how == REWRITE_ZWNJ ? 0x200C : 0x200F, out + n);
				n += pg_utf_mblen(out + n);
				break;
			case REWRITE_PERSIAN_DIGITS:
			case REWRITE_ARABIC_DIGITS:
				if (c >= '0' && c <= '9')
					c = (how == REWRITE_PERSIAN_DIGITS ? 0x06F0 : 0x0660) + (c - '0');
				unicode_to_utf8(c, out + n);
				n += pg_utf_mblen(out + n);
				break;
			case REWRITE_ARABIC_LETTERS:
				if (c == 0x06CC)
					c = 0x064A;
				else if (c == 0x06A9)
					c = 0x0643;
				unicode_to_utf8(c, out + n);
				n += pg_utf_mblen(out + n);
				break;
			case NREWRITES:
				break;
		}
		off += clen;
	}
	*outlen = n;
	return out;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SmsInboundIntent intent = intent_of(data, size);

	CHECK(intent == SMS_INTENT_NONE || intent == SMS_INTENT_OPT_OUT ||
		  intent == SMS_INTENT_OPT_IN, "intent %d", (int) intent);
	if (!valid_utf8(data, size))
	{
		CHECK(intent == SMS_INTENT_NONE, "invalid UTF-8 gave intent %d", (int) intent);
		return 0;
	}
	/* bounded: the rewrites of a long text are not needed to find a keyword */
	if (size <= 4096)
	{
		for (int how = 0; how < NREWRITES; how++)
		{
			size_t		len;
			unsigned char *r = rewrite(data, size, how, &len);
			SmsInboundIntent again = intent_of(r, len);

			CHECK(again == intent, "%s changed the intent %d -> %d of \"%.*s\"",
				  rewrite_names[how], (int) intent, (int) again, (int) size, data);
			free(r);
		}
	}
	arena_reset();
	return 0;
}
