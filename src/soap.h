/*
 * soap.h -- SOAP 1.1 envelopes with libxml2 (MediaPayamak, SPEC §3).
 *
 * Building: every value goes through libxml2's tree API, so it is escaped by
 * the serializer; nothing is pasted into XML text.
 *
 * Parsing: XML_PARSE_NONET, no entity substitution, no DTD loading, and a
 * document that carries a DOCTYPE at all is refused (SOAP 1.1 §3: "A SOAP
 * message MUST NOT contain a Document Type Declaration").  Elements are found
 * by local name whatever their namespace prefix.  Everything handed back is
 * palloc'd; the parsed document is freed by soap_free() on every path.
 *
 * No ereport anywhere: provider code (and the fuzz targets) call this.
 * Allocations made while a libxml2 object is alive use palloc_extended(...,
 * MCXT_ALLOC_NO_OOM) so that nothing can longjmp past an xmlFreeDoc().
 */
#ifndef SMS_IR_SOAP_H
#define SMS_IR_SOAP_H

#include "postgres.h"

#include <libxml/tree.h>

#define SOAP_ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP_ARRAYS_NS "http://schemas.microsoft.com/2003/10/Serialization/Arrays"

/* --- building ------------------------------------------------------------ */

typedef struct SoapBuilder
{
	xmlDocPtr	doc;
	xmlNodePtr	op;				/* the operation element inside Body */
	xmlNsPtr	ns;				/* the operation's (default) namespace */
	bool		failed;			/* an allocation failed somewhere */
} SoapBuilder;

/* <s:Envelope><s:Body><method xmlns="ns"/></s:Body></s:Envelope> */
extern void soap_begin(SoapBuilder *b, const char *ns, const char *method);
extern void soap_add_string(SoapBuilder *b, const char *name, const char *value);
extern void soap_add_int(SoapBuilder *b, const char *name, int64 value);
extern void soap_add_bool(SoapBuilder *b, const char *name, bool value);

/* <name xmlns:a="...Arrays"><a:string>v</a:string>...</name> */
extern void soap_add_string_array(SoapBuilder *b, const char *name,
								  char **items, int n);

/* <name/>: an empty element (for WCF ref parameters) */
extern void soap_add_empty(SoapBuilder *b, const char *name);

/* The envelope as palloc'd UTF-8 text; frees the tree.  NULL on failure. */
extern char *soap_finish(SoapBuilder *b);

/* --- parsing ---------------------------------------------------------------- */

/* NULL when not well-formed, too deep, or carrying a DOCTYPE. */
extern xmlDocPtr soap_parse(const char *body, size_t len);
extern void soap_free(xmlDocPtr doc);

/* The first element inside soap:Body, or NULL when not a SOAP envelope. */
extern xmlNodePtr soap_body_child(xmlDocPtr doc);

/* Is this element soap:Fault? */
extern bool soap_is_fault(xmlNodePtr node);

/* First child element with this local name (any namespace), or NULL. */
extern xmlNodePtr soap_child(xmlNodePtr parent, const char *localname);

/* Does the element carry xsi:nil="true"? */
extern bool soap_is_nil(xmlNodePtr node);

/* Text content, leading/trailing XML whitespace removed; NULL for none/OOM. */
extern char *soap_text(xmlNodePtr node);

/* Text of every child element, in order.  false on OOM. */
extern bool soap_string_array(xmlNodePtr node, char ***items, int *n);

/* Like soap_string_array, but every item must be a decimal integer. */
extern bool soap_long_array(xmlNodePtr node, char ***items, int *n);

/* Base64 text (whitespace allowed) decoded; false when not base64. */
extern bool soap_base64(xmlNodePtr node, unsigned char **out, int *n);

/* Is s an optionally signed decimal integer of at most 19 digits? */
extern bool soap_is_integer(const char *s);

#endif
