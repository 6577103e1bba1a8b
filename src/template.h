/*
 * template.h -- logical templates (table sms_ir.template): one name, a text
 * body with {param} placeholders, and each account's provider template id.
 * A template send names one; on each account it becomes that provider's
 * template send when the account has an id, else the body rendered as a
 * plain text send from the account's line (template.c).
 */
#ifndef SMS_IR_TEMPLATE_H
#define SMS_IR_TEMPLATE_H

#include "postgres.h"

#include "executor/spi.h"

#include "utils/jsonb.h"

#include "account.h"
#include "provider.h"

typedef struct SmsLogicalTemplate
{
	char	   *name;
	char	   *body;
	Jsonb	   *ids;			/* {"account": provider template id, ...} */
} SmsLogicalTemplate;

/*
 * The row of sms_ir.template named `name`, read as the table's owner; false
 * when there is none (or no such table).
 */
/*
 * Owner of table sms_ir.<relname>, or InvalidOid when there is none.  The
 * extension's own tables are read as their owner (under
 * SECURITY_RESTRICTED_OPERATION): a role that may send needs no right on
 * them, and nothing of the caller's runs inside.
 */
extern Oid	sms_ir_table_owner(const char *relname);

/* Reads the rows of sms_ir_owner_select() (in the caller's memory context). */
typedef void (*SmsOwnerRowsReader) (SPITupleTable *rows, uint64 n, void *state);

/*
 * Run `sql` (one parameter, prepared once into *plan) read-only as the
 * owner of sms_ir.<relname> and hand its rows to `reader`; false, reading
 * nothing, when there is no such table.
 */
extern bool sms_ir_owner_select(const char *relname, SPIPlanPtr *plan, const char *sql,
								Oid argtype, Datum arg, long limit,
								SmsOwnerRowsReader reader, void *state);

extern bool sms_template_lookup(const char *name, SmsLogicalTemplate *tmpl);

/* The same from {"body": ..., "ids": ...} (what the worker's claim returns). */
extern void sms_template_from_jsonb(const char *name, Jsonb *j, SmsLogicalTemplate *tmpl);

/*
 * The template send `in` (recipient, parameters; template_id = the logical
 * name) as `account` sends it: ids[account] as its provider's template, or
 * the body rendered as a one-mobile BULK send from the account's line.
 * Raises 22023 when the body needs a parameter `in` lacks, or a sender is
 * given.
 */
extern void sms_template_route(const SmsLogicalTemplate *tmpl, const SmsAccount *account,
							   const SmsArgs *in, SmsArgs *out);

#endif
