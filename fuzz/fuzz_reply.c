/*
 * fuzz_reply.c -- libFuzzer target for the providers' reply parsers.
 *
 * Input layout (printable on purpose, so seeds are plain text files):
 *   byte 0   operation:   (byte - '0') % 11  -> '0' BULK, '1' LIKE_TO_LIKE,
 *            '2' VERIFY, '3' TEMPLATE, '4' STATUS, '5' CREDIT, '6' LINES,
 *            '7' CANCEL, '8' RAW, '9' INBOX, ':' CONTACTS
 *   byte 1   HTTP status: (byte - 'a') % 13  -> 'a' 200, 'b' 201, 'c' 204,
 *            'd' 400, 'e' 401, 'f' 403, 'g' 404, 'h' 429, 'i' 500, 'j' 502,
 *            'k' 503, 'l' 302, 'm' 0
 *   rest     the reply body, handed over NUL-terminated with len = size - 2,
 *            exactly as src/http.c does.
 *
 * Every provider's parse_reply is called, and parse_token_reply where a
 * provider has one (smsir_legacy).  After each
 * parse the harness reads every string the reply exposes (ASan then sees
 * dangling or unterminated pointers) and checks what the callers in
 * functions.c and worker.c rely on: counts match arrays, success replies
 * carry the fields of their operation, a cost or credit is something
 * numeric_in() takes, and sms_api()'s JSON is something jsonb_in() takes.
 */
#include "postgres.h"

#include <stdint.h>

#include "mb/pg_wchar.h"

#include "arena.h"
#include "checks.h"
#include "provider.h"

/* every provider of the registry (provider_registry.c) */
#define providers sms_providers

static const long http_statuses[] = {
	200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503, 302, 0
};

#define NOPS SMS_OP_COUNT

static char *one_mobile[] = {"09121234567"};
static char *one_message[] = {"hello"};
static SmsParam verify_params[] = {{"Code", "12345"}};
static SmsParam template_params[] = {{"name", "Ali"}, {"code", "4321"}};
static int32 contact_groups[] = {12, 34};

/* Arguments as args.c would have validated them for `op`. */
static void
args_for(SmsOp op, SmsArgs *a)
{
	memset(a, 0, sizeof(*a));
	a->op = op;
	switch (op)
	{
		case SMS_OP_BULK:
			a->message = "hello";
			a->mobiles = one_mobile;
			a->nmobiles = 1;
			a->line_number = "30004505000017";
			break;
		case SMS_OP_LIKE_TO_LIKE:
			a->messages = one_message;
			a->mobiles = one_mobile;
			a->nmobiles = 1;
			a->line_number = "30004505000017";
			break;
		case SMS_OP_VERIFY:
			a->mobiles = one_mobile;
			a->nmobiles = 1;
			a->template_id = "123456";
			a->params = verify_params;
			a->nparams = lengthof(verify_params);
			break;
		case SMS_OP_TEMPLATE:
			a->mobiles = one_mobile;
			a->nmobiles = 1;
			a->template_id = "100201";
			a->params = template_params;
			a->nparams = lengthof(template_params);
			break;
		case SMS_OP_STATUS:
			a->id = "89545112";
			break;
		case SMS_OP_PACK_STATUS:
			a->id = "89545112";
			a->sent_as = SMS_OP_LIKE_TO_LIKE;
			break;
		case SMS_OP_CREDIT:
		case SMS_OP_LINES:
			break;
		case SMS_OP_CANCEL:
			a->id = "2b99e63c-9bf8-4a21-9bfe-3f72dc1b46f1";
			break;
		case SMS_OP_RAW:
			a->raw_method = "GET";
			a->raw_path = "/v1/receive/latest?count=10";
			break;
		case SMS_OP_INBOX:
			a->count = 10;
			break;
		case SMS_OP_COUNT:		/* not an operation */
			break;
		case SMS_OP_CONTACTS:
			a->message = "hello";
			a->group_ids = contact_groups;
			a->ngroup_ids = lengthof(contact_groups);
			a->continue_on_error = true;
			break;
	}
}

#define CHECK(cond, ...) \
	do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

static void
check_array(char **items, int n, const char *what)
{
	CHECK(n >= 0, "%s: negative count %d", what, n);
	CHECK(n == 0 || items != NULL, "%s: count %d but array is NULL", what, n);
	for (int i = 0; i < n; i++)
		touch_str(items[i]);
}

static void
check_reply(const SmsProvider *prov, SmsOp op, long http, const SmsReply *r)
{
	const char *name = prov->name;
	bool		ok = r->err.cls == SMS_OK;

	/* --- always: every exposed pointer is readable, counts are sane --- */
	touch_str(r->err.code);
	touch_str(r->err.message);
	touch_str(r->err.detail);
	touch_str(r->pack_id);
	touch_str(r->cost);
	touch_str(r->status);
	touch_str(r->number);
	touch_str(r->json);
	check_array(r->message_ids, r->nmessage_ids, "message_ids");
	check_array(r->lines, r->nlines, "lines");
	CHECK(r->ndeliveries >= 0, "%s: ndeliveries %d", name, r->ndeliveries);
	CHECK(r->ndeliveries == 0 || r->deliveries != NULL,
		  "%s: ndeliveries %d but deliveries is NULL", name, r->ndeliveries);
	for (int i = 0; i < r->ndeliveries; i++)
	{
		const SmsDelivery *d = &r->deliveries[i];

		touch_str(d->message_id);
		touch_str(d->mobile);
		touch_str(d->status);
		touch_str(d->provider_status);
		touch_str(d->detail);
	}
	touch_str(sms_error_text(&r->err));
	touch_str(sms_op_name(op));
	(void) sms_error_is_transient(r->err.cls);

	/* --- classification --- */
	CHECK(r->err.cls >= SMS_OK && r->err.cls <= SMS_ERR_BAD_REPLY,
		  "%s: parse_reply produced error class %d (transport classes are http.c's)",
		  name, (int) r->err.cls);
	if (!(http >= 200 && http < 300))
		CHECK(!ok, "%s: HTTP %ld accepted as success", name, http);
	if (!ok)
	{
		CHECK(r->err.http_status == http, "%s: err.http_status %d, reply was %ld",
			  name, r->err.http_status, http);
		return;
	}

	/* --- success: what functions.c / worker.c dereference without checks --- */
	CHECK(r->parts == -1 || r->parts >= 0, "%s: parts %d", name, r->parts);
	if (r->cost)
		CHECK(amount_is_canonical(r->cost),
			  "%s: cost \"%s\" is not a canonical amount (numeric_in, JSON)", name, r->cost);
	switch (op)
	{
		case SMS_OP_BULK:
		case SMS_OP_LIKE_TO_LIKE:
		case SMS_OP_COUNT:		/* not an operation */
			break;
		case SMS_OP_CONTACTS:
			CHECK(r->pack_id != NULL, "%s: send success without pack_id", name);
			CHECK(r->message_ids != NULL, "%s: send success without message_ids", name);
			break;
		case SMS_OP_VERIFY:
		case SMS_OP_TEMPLATE:
			CHECK(r->nmessage_ids >= 1 && r->message_ids[0] != NULL,
				  "%s: verify success without message_ids[0]", name);
			CHECK(r->status != NULL, "%s: template success without status", name);
			break;
		case SMS_OP_STATUS:
		case SMS_OP_PACK_STATUS:
			/* a multi-id report may leave unknown ids out, even all of them */
			CHECK(r->ndeliveries >= 1 || prov->max_status_ids > 1 || op == SMS_OP_PACK_STATUS,
				  "%s: status success without deliveries", name);
			for (int i = 0; i < r->ndeliveries; i++)
			{
				const SmsDelivery *d = &r->deliveries[i];
				static const char *const known[] = {
					"queued", "sent", "delivered", "failed", "unknown"
				};
				bool		found = false;

				CHECK(d->message_id != NULL, "%s: delivery without message_id", name);
				CHECK(d->status != NULL, "%s: delivery without status", name);
				for (size_t k = 0; k < lengthof(known); k++)
					found |= strcmp(d->status, known[k]) == 0;
				CHECK(found, "%s: delivery status \"%s\" is not documented", name, d->status);
			}
			break;
		case SMS_OP_CREDIT:
			CHECK(r->number != NULL, "%s: credit success without number", name);
			CHECK(amount_is_canonical(r->number),
				  "%s: credit \"%s\" is not a canonical amount (numeric_in, JSON)", name, r->number);
			break;
		case SMS_OP_LINES:
			CHECK(r->nlines == 0 || r->lines != NULL, "%s: lines", name);
			for (int i = 0; i < r->nlines; i++)
				CHECK(r->lines[i] != NULL, "%s: lines[%d] is NULL", name, i);
			break;
		case SMS_OP_CANCEL:
			CHECK(r->cancelled, "%s: cancel success but cancelled = false", name);
			break;
		case SMS_OP_RAW:
			CHECK(r->json != NULL, "%s: sms_api success without json", name);
			CHECK(pg_json_valid(r->json),
				  "%s: sms_api JSON would make jsonb_in() ereport: %.200s", name, r->json);
			break;
		case SMS_OP_INBOX:
			CHECK(r->ninbox == 0 || r->inbox != NULL, "%s: inbox", name);
			for (int i = 0; i < r->ninbox; i++)
				CHECK(r->inbox[i].message != NULL, "%s: inbox[%d] without message", name, i);
			break;
	}
	for (int i = 0; i < r->nmessage_ids; i++)
		CHECK(r->message_ids[i] != NULL, "%s: message_ids[%d] is NULL on success", name, i);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SmsOp		op;
	long		http;
	size_t		len;
	char	   *body;

	if (size < 2)
		return 0;
	op = (SmsOp) ((uint8_t) (data[0] - '0') % NOPS);
	http = http_statuses[(uint8_t) (data[1] - 'a') % lengthof(http_statuses)];
	len = size - 2;

	/* like http.c: an exact-size buffer with a NUL after the body */
	body = malloc(len + 1);
	memcpy(body, data + 2, len);
	body[len] = '\0';

	/* UTF-8 hygiene: the cleaned body is valid, clipping keeps it valid */
	{
		char	   *clean = sms_text_valid_utf8(body);
		int			n = (int) strlen(clean);

		CHECK(pg_encoding_verifymbstr(PG_UTF8, clean, n) == n,
			  "sms_text_valid_utf8 left invalid UTF-8 in \"%.100s\"", clean);
		CHECK((clean == body) == (pg_encoding_verifymbstr(PG_UTF8, body, (int) strlen(body)) ==
								  (int) strlen(body)),
			  "sms_text_valid_utf8 copied a valid string or kept an invalid one");
		for (int m = 0; m <= n && m < 8; m++)
		{
			char	   *c = sms_text_clip(clean, n - m);

			CHECK((int) strlen(c) <= n - m &&
				  pg_encoding_verifymbstr(PG_UTF8, c, (int) strlen(c)) == (int) strlen(c),
				  "sms_text_clip(%d) split a character", n - m);
		}
		{
			SmsError	err = {.message = body, .code = body};
			char	   *text = sms_error_text(&err);

			CHECK(pg_encoding_verifymbstr(PG_UTF8, text, (int) strlen(text)) ==
				  (int) strlen(text), "sms_error_text is not valid UTF-8");
		}
		arena_reset();
	}

	/* the amount rule itself, on the body as raw text, in both formats */
	for (int fmt = SMS_AMOUNT_PLAIN; fmt <= SMS_AMOUNT_THOUSANDS; fmt++)
	{
		char	   *amount = sms_amount_text(body, (SmsAmountFormat) fmt);

		if (amount != NULL)
		{
			CHECK(amount_is_canonical(amount),
				  "sms_amount_text(\"%.100s\") = \"%.100s\" is not canonical", body, amount);
			CHECK(strcmp(sms_amount_text(amount, SMS_AMOUNT_PLAIN), amount) == 0,
				  "sms_amount_text is not idempotent on \"%.100s\"", amount);
		}
		arena_reset();
	}

	for (int p = 0; p < sms_nproviders; p++)
	{
		SmsArgs		args;
		SmsReply	reply;

		args_for(op, &args);
		memset(&reply, 0, sizeof(reply));
		providers[p]->parse_reply(&args, http, body, len, &reply);
		check_reply(providers[p], op, http, &reply);
		arena_reset();
		if (providers[p]->parse_token_reply != NULL)
		{
			/* the token reply goes into a header: no CR/LF, never empty */
			memset(&reply, 0, sizeof(reply));
			providers[p]->parse_token_reply(http, body, len, &reply);
			touch_str(reply.token);
			touch_str(reply.err.message);
			touch_str(reply.err.code);
			if (reply.err.cls == SMS_OK)
				CHECK(reply.token != NULL && reply.token[0] != '\0' &&
					  strpbrk(reply.token, "\r\n") == NULL,
					  "%s: unusable token accepted", providers[p]->name);
			else
				CHECK(reply.token == NULL, "%s: token set on error", providers[p]->name);
			arena_reset();
		}
	}
	free(body);
	return 0;
}
