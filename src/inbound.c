/*
 * inbound.c -- the intent of a received message (inbound.h); no server
 * state, so the fuzz targets link it as frontend code (its SQL face,
 * sms_ir.inbound_intent(), is in inbound_sql.c).
 *
 * Replies to marketing messages are typed on phones: Persian or Arabic
 * keyboards, digits in any of three scripts, spaces, ZWNJ between letters,
 * bidi marks that some phones insert around digits.  The text is compared
 * after:
 *   - Persian (U+06F0..U+06F9) and Arabic-Indic (U+0660..U+0669) digits
 *     become ASCII digits;
 *   - every Unicode space (White_Space, NBSP included), every zero-width
 *     and bidi control (ZWSP, ZWNJ, ZWJ, LRM, RLM, ALM, embeddings,
 *     overrides, isolates, word joiner, BOM, soft hyphen) and the Arabic
 *     tatweel (a stretch of a joined letter, never a letter) are dropped;
 *   - Arabic yeh (U+064A) and alef maksura (U+0649) become Persian yeh
 *     (U+06CC), Arabic kaf (U+0643) Persian keheh (U+06A9).
 * "11" and "لغو11" are opt-out, "12" and "عضویت12" opt-in; anything else
 * (also "111", "11 لغو" reversed, or a sentence around the keyword) is no
 * intent.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "inbound.h"

/* longer than any keyword after normalization: no intent */
#define INTENT_MAX_BYTES 64

/* the keywords, normalized (UTF-8) */
#define KEYWORD_OPT_OUT_DIGITS "11"
#define KEYWORD_OPT_OUT_WORD "\u0644\u063a\u0648" "11"	/* لغو11 */
#define KEYWORD_OPT_IN_DIGITS "12"
#define KEYWORD_OPT_IN_WORD "\u0639\u0636\u0648\u06cc\u062a" "12"	/* عضویت12 */

#define CP_ARABIC_INDIC_ZERO 0x0660
#define CP_PERSIAN_ZERO 0x06F0
#define DIGITS 10
#define CP_ARABIC_KAF 0x0643
#define CP_ALEF_MAKSURA 0x0649
#define CP_ARABIC_YEH 0x064A
#define CP_PERSIAN_KEHEH 0x06A9
#define CP_PERSIAN_YEH 0x06CC

/* Unicode White_Space, and the invisible format characters listed above */
static bool
is_dropped(pg_wchar c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 ||
		c == 0x00AD ||			/* soft hyphen */
		c == 0x061C ||			/* Arabic letter mark */
		c == 0x0640 ||			/* tatweel */
		c == 0x1680 || c == 0x180E ||
		(c >= 0x2000 && c <= 0x200A) ||	/* en quad .. hair space */
		(c >= 0x200B && c <= 0x200F) ||	/* ZWSP, ZWNJ, ZWJ, LRM, RLM */
		c == 0x2028 || c == 0x2029 ||
		(c >= 0x202A && c <= 0x202E) ||	/* embeddings, overrides */
		c == 0x202F || c == 0x205F ||
		(c >= 0x2060 && c <= 0x2064) ||	/* word joiner, invisible operators */
		(c >= 0x2066 && c <= 0x2069) ||	/* isolates */
		c == 0x3000 || c == 0xFEFF;
}

/* The character as it is compared. */
static pg_wchar
unified(pg_wchar c)
{
	if (c >= CP_ARABIC_INDIC_ZERO && c < CP_ARABIC_INDIC_ZERO + DIGITS)
		return '0' + (c - CP_ARABIC_INDIC_ZERO);
	if (c >= CP_PERSIAN_ZERO && c < CP_PERSIAN_ZERO + DIGITS)
		return '0' + (c - CP_PERSIAN_ZERO);
	if (c == CP_ARABIC_YEH || c == CP_ALEF_MAKSURA)
		return CP_PERSIAN_YEH;
	if (c == CP_ARABIC_KAF)
		return CP_PERSIAN_KEHEH;
	return c;
}

SmsInboundIntent
sms_inbound_intent(const char *utf8, size_t len)
{
	unsigned char norm[INTENT_MAX_BYTES + MAX_MULTIBYTE_CHAR_LEN + 1];
	int			n = 0;
	const unsigned char *p = (const unsigned char *) utf8;
	const unsigned char *end = p + len;

	/* each turn consumes at least one byte: at most len turns */
	while (p < end)
	{
		int			clen = pg_utf_mblen(p);
		pg_wchar	c;

		if (clen > end - p || !pg_utf8_islegal(p, clen))
			return SMS_INTENT_NONE; /* not UTF-8: no keyword */
		c = utf8_to_unicode(p);
		p += clen;
		if (is_dropped(c))
			continue;
		if (n > INTENT_MAX_BYTES)
			return SMS_INTENT_NONE;
		unicode_to_utf8(unified(c), norm + n);
		n += pg_utf_mblen(norm + n);
	}
	norm[n] = '\0';

	if (strcmp((char *) norm, KEYWORD_OPT_OUT_DIGITS) == 0 ||
		strcmp((char *) norm, KEYWORD_OPT_OUT_WORD) == 0)
		return SMS_INTENT_OPT_OUT;
	if (strcmp((char *) norm, KEYWORD_OPT_IN_DIGITS) == 0 ||
		strcmp((char *) norm, KEYWORD_OPT_IN_WORD) == 0)
		return SMS_INTENT_OPT_IN;
	return SMS_INTENT_NONE;
}
