/*
 * inbound_sql.c -- sms_ir.inbound_intent(message text): 'opt-out', 'opt-in'
 * or NULL, the intent of inbound.c for a text in the server's encoding.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "inbound.h"

/* sms_ir.inbound_intent(message text) RETURNS text: 'opt-out', 'opt-in' or NULL */
PG_FUNCTION_INFO_V1(sms_inbound_intent_sql);
Datum
sms_inbound_intent_sql(PG_FUNCTION_ARGS)
{
	text	   *message = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(message);
	int			len = VARSIZE_ANY_EXHDR(message);
	char	   *utf8 = pg_server_to_any(s, len, PG_UTF8);

	if (utf8 != s)
		len = strlen(utf8);
	switch (sms_inbound_intent(utf8, len))
	{
		case SMS_INTENT_OPT_OUT:
			PG_RETURN_TEXT_P(cstring_to_text(SMS_INTENT_OPT_OUT_NAME));
		case SMS_INTENT_OPT_IN:
			PG_RETURN_TEXT_P(cstring_to_text(SMS_INTENT_OPT_IN_NAME));
		case SMS_INTENT_NONE:
			break;
	}
	PG_RETURN_NULL();
}
