/*
 * template.c -- logical templates (template.h): looking one up, rendering
 * its body, and turning a template send into what one account sends.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/syscache.h"

#include "args.h"
#include "template.h"

/* longest {placeholder} name */
#define PLACEHOLDER_MAX 64

Oid
sms_ir_table_owner(const char *relname)
{
	Oid			nsp = get_namespace_oid("sms_ir", true);
	Oid			relid;
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(nsp))
		return InvalidOid;
	relid = get_relname_relid(relname, nsp);
	if (!OidIsValid(relid))
		return InvalidOid;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

bool
sms_ir_owner_select(const char *relname, SPIPlanPtr *plan, const char *sql, Oid argtype,
					Datum arg, long limit, SmsOwnerRowsReader reader, void *state)
{
	Oid			owner = sms_ir_table_owner(relname);
	Oid			save_user;
	int			save_sec;
	MemoryContext cxt = CurrentMemoryContext;

	if (!OidIsValid(owner))
		return false;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		MemoryContext old;

		SPI_connect();
		if (*plan == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(sql, 1, &argtype);

			if (p == NULL || SPI_keepplan(p) != 0)
				elog(ERROR, "could not prepare the sms_ir.%s lookup: %s", relname,
					 SPI_result_code_string(SPI_result));
			*plan = p;
		}
		if (SPI_execute_plan(*plan, &arg, NULL, true, limit) != SPI_OK_SELECT)
			elog(ERROR, "could not read sms_ir.%s", relname);
		old = MemoryContextSwitchTo(cxt);
		reader(SPI_tuptable, SPI_processed, state);
		MemoryContextSwitchTo(old);
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
	return true;
}

typedef struct TemplateLookup
{
	const char *name;
	SmsLogicalTemplate *tmpl;
	bool		found;
} TemplateLookup;

static void
read_template(SPITupleTable *rows, uint64 n, void *state)
{
	TemplateLookup *lookup = state;
	bool		isnull;
	Datum		d;

	if (n != 1)
		return;
	lookup->tmpl->name = pstrdup(lookup->name);
	d = SPI_getbinval(rows->vals[0], rows->tupdesc, 1, &isnull);
	lookup->tmpl->body = isnull ? NULL : TextDatumGetCString(d);
	d = SPI_getbinval(rows->vals[0], rows->tupdesc, 2, &isnull);
	lookup->tmpl->ids = isnull ? NULL : DatumGetJsonbPCopy(d);
	lookup->found = lookup->tmpl->body != NULL;
}

bool
sms_template_lookup(const char *name, SmsLogicalTemplate *tmpl)
{
	static SPIPlanPtr plan = NULL;
	TemplateLookup lookup = {name, tmpl, false};

	(void) sms_ir_owner_select("template", &plan,
							   "SELECT body, ids FROM sms_ir.template"
							   " WHERE name OPERATOR(pg_catalog.=) $1",
							   TEXTOID, CStringGetTextDatum(name), 1, read_template, &lookup);
	return lookup.found;
}

void
sms_template_from_jsonb(const char *name, Jsonb *j, SmsLogicalTemplate *tmpl)
{
	JsonbValue	v;

	tmpl->name = pstrdup(name);
	tmpl->body = NULL;
	tmpl->ids = NULL;
	if (getKeyJsonValueFromContainer(&j->root, "body", 4, &v) && v.type == jbvString)
		tmpl->body = pnstrdup(v.val.string.val, v.val.string.len);
	if (getKeyJsonValueFromContainer(&j->root, "ids", 3, &v) && v.type == jbvBinary)
		tmpl->ids = JsonbValueToJsonb(&v);
}

/* ids[account] as text (a string or a number), or NULL. */
static char *
account_template_id(const SmsLogicalTemplate *tmpl, const SmsAccount *account)
{
	JsonbValue	v;

	if (tmpl->ids == NULL || !JB_ROOT_IS_OBJECT(tmpl->ids) ||
		!getKeyJsonValueFromContainer(&tmpl->ids->root, account->name,
									  strlen(account->name), &v))
		return NULL;
	if (v.type == jbvString && v.val.string.len > 0)
		return pnstrdup(v.val.string.val, v.val.string.len);
	if (v.type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v.val.numeric)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("logical template \"%s\" has an invalid id for account %s", tmpl->name,
					account->name),
			 errhint("In sms_ir.template.ids, map each account name to a template id (a string or a number).")));
	return NULL;
}

/* body with each {name} replaced by that parameter's value */
static char *
render(const SmsLogicalTemplate *tmpl, const SmsArgs *in)
{
	StringInfoData out;
	const char *p = tmpl->body;

	initStringInfo(&out);
	while (*p)
	{
		const char *close;
		size_t		len;

		if (*p != '{' || (close = strchr(p + 1, '}')) == NULL ||
			(len = close - p - 1) == 0 || len > PLACEHOLDER_MAX ||
			strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len)
		{
			appendStringInfoChar(&out, *p++);
			continue;
		}
		{
			const char *value = NULL;

			for (int i = 0; i < in->nparams && value == NULL; i++)
				if (strlen(in->params[i].name) == len &&
					strncmp(in->params[i].name, p + 1, len) == 0)
					value = in->params[i].value;
			if (value == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("logical template \"%s\" needs parameter \"%.*s\"",
								tmpl->name, (int) len, p + 1),
						 errdetail("Its body is: %s", tmpl->body),
						 errhint("Pass every {name} of the body in parameters.")));
			appendStringInfoString(&out, value);
		}
		p = close + 1;
	}
	return out.data;
}

void
sms_template_route(const SmsLogicalTemplate *tmpl, const SmsAccount *account,
				   const SmsArgs *in, SmsArgs *out)
{
	const SmsProvider *provider = sms_account_provider(account);
	char	   *id;
	char	   *text;

	if (in->line_number != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a logical template takes no sender"),
				 errdetail("Template \"%s\" is sent from each account's own line.", tmpl->name),
				 errhint("Pass sender => NULL, or set the account's line_number.")));
	/* every placeholder must have its parameter, whatever this account sends */
	text = render(tmpl, in);
	id = account_template_id(tmpl, account);
	if (id != NULL)
	{
		*out = *in;
		out->template_id = id;
		return;
	}
	sms_args_init(out, SMS_OP_BULK);
	out->message = sms_args_message(text, "body");
	out->mobiles = in->mobiles;
	out->nmobiles = 1;
	out->line_number = sms_args_line_number(provider, *account->line_number);
}
