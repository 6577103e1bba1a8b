/*
 * soap.c -- SOAP 1.1 envelopes with libxml2.  See soap.h for the rules.
 */
#include "postgres.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "soap.h"

/* palloc that reports failure instead of throwing (see soap.h) */
static void *
soft_alloc(size_t size)
{
	return palloc_extended(size, MCXT_ALLOC_NO_OOM);
}

static char *
soft_strndup(const char *s, size_t len)
{
	char	   *out = soft_alloc(len + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

/* --- building ------------------------------------------------------------ */

void
soap_begin(SoapBuilder *b, const char *ns, const char *method)
{
	xmlNodePtr	env;
	xmlNodePtr	body;
	xmlNsPtr	sns;

	memset(b, 0, sizeof(*b));
	b->doc = xmlNewDoc(BAD_CAST "1.0");
	if (b->doc == NULL)
	{
		b->failed = true;
		return;
	}
	env = xmlNewDocNode(b->doc, NULL, BAD_CAST "Envelope", NULL);
	if (env == NULL)
		goto fail;
	xmlDocSetRootElement(b->doc, env);
	sns = xmlNewNs(env, BAD_CAST SOAP_ENV_NS, BAD_CAST "s");
	if (sns == NULL)
		goto fail;
	xmlSetNs(env, sns);
	body = xmlNewChild(env, sns, BAD_CAST "Body", NULL);
	if (body == NULL)
		goto fail;
	b->op = xmlNewChild(body, NULL, BAD_CAST method, NULL);
	if (b->op == NULL)
		goto fail;
	b->ns = xmlNewNs(b->op, BAD_CAST ns, NULL);
	if (b->ns == NULL)
		goto fail;
	xmlSetNs(b->op, b->ns);
	return;
fail:
	b->failed = true;
}

void
soap_add_string(SoapBuilder *b, const char *name, const char *value)
{
	if (b->failed)
		return;
	/* xmlNewTextChild escapes the value (xmlNewChild would not) */
	if (xmlNewTextChild(b->op, b->ns, BAD_CAST name, BAD_CAST value) == NULL)
		b->failed = true;
}

void
soap_add_int(SoapBuilder *b, const char *name, int64 value)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), INT64_FORMAT, value);
	soap_add_string(b, name, buf);
}

void
soap_add_bool(SoapBuilder *b, const char *name, bool value)
{
	soap_add_string(b, name, value ? "true" : "false");
}

void
soap_add_string_array(SoapBuilder *b, const char *name, char **items, int n)
{
	xmlNodePtr	arr;
	xmlNsPtr	a;

	if (b->failed)
		return;
	arr = xmlNewChild(b->op, b->ns, BAD_CAST name, NULL);
	if (arr == NULL)
		goto fail;
	a = xmlNewNs(arr, BAD_CAST SOAP_ARRAYS_NS, BAD_CAST "a");
	if (a == NULL)
		goto fail;
	for (int i = 0; i < n; i++)
		if (xmlNewTextChild(arr, a, BAD_CAST "string", BAD_CAST items[i]) == NULL)
			goto fail;
	return;
fail:
	b->failed = true;
}

void
soap_add_empty(SoapBuilder *b, const char *name)
{
	if (b->failed)
		return;
	if (xmlNewChild(b->op, b->ns, BAD_CAST name, NULL) == NULL)
		b->failed = true;
}

char *
soap_finish(SoapBuilder *b)
{
	xmlChar    *buf = NULL;
	int			len = 0;
	char	   *out = NULL;

	if (b->doc != NULL && !b->failed)
		xmlDocDumpMemoryEnc(b->doc, &buf, &len, "UTF-8");
	if (b->doc != NULL)
		xmlFreeDoc(b->doc);
	b->doc = NULL;
	if (buf != NULL)
	{
		out = soft_strndup((const char *) buf, (size_t) len);
		xmlFree(buf);
	}
	return out;
}

/* --- parsing ---------------------------------------------------------------- */

xmlDocPtr
soap_parse(const char *body, size_t len)
{
	xmlDocPtr	doc;

	if (body == NULL || len == 0 || len > INT_MAX)
		return NULL;

	/*
	 * No XML_PARSE_NOENT (entities stay references), no XML_PARSE_DTDLOAD /
	 * DTDATTR / DTDVALID (no external subset), no network.
	 */
	doc = xmlReadMemory(body, (int) len, "reply.xml", NULL,
						XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return NULL;
	if (doc->intSubset != NULL || doc->extSubset != NULL ||
		xmlDocGetRootElement(doc) == NULL)
	{
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

void
soap_free(xmlDocPtr doc)
{
	if (doc != NULL)
		xmlFreeDoc(doc);
}

static bool
is_elem(xmlNodePtr n, const char *localname, const char *ns)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE || n->name == NULL)
		return false;
	if (strcmp((const char *) n->name, localname) != 0)
		return false;
	if (ns != NULL)
		return n->ns != NULL && n->ns->href != NULL &&
			strcmp((const char *) n->ns->href, ns) == 0;
	return true;
}

xmlNodePtr
soap_child(xmlNodePtr parent, const char *localname)
{
	if (parent == NULL)
		return NULL;
	for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
		if (is_elem(c, localname, NULL))
			return c;
	return NULL;
}

xmlNodePtr
soap_body_child(xmlDocPtr doc)
{
	xmlNodePtr	root = xmlDocGetRootElement(doc);
	xmlNodePtr	body = NULL;

	if (!is_elem(root, "Envelope", SOAP_ENV_NS))
		return NULL;
	for (xmlNodePtr c = root->children; c != NULL; c = c->next)
		if (is_elem(c, "Body", SOAP_ENV_NS))
			body = c;
	if (body == NULL)
		return NULL;
	for (xmlNodePtr c = body->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return c;
	return NULL;
}

bool
soap_is_fault(xmlNodePtr node)
{
	return is_elem(node, "Fault", SOAP_ENV_NS);
}

bool
soap_is_nil(xmlNodePtr node)
{
	for (xmlAttrPtr a = node ? node->properties : NULL; a != NULL; a = a->next)
	{
		if (a->name != NULL && strcmp((const char *) a->name, "nil") == 0 &&
			a->ns != NULL && a->ns->href != NULL &&
			strcmp((const char *) a->ns->href, "http://www.w3.org/2001/XMLSchema-instance") == 0 &&
			a->children != NULL && a->children->content != NULL &&
			strcmp((const char *) a->children->content, "true") == 0)
			return true;
	}
	return false;
}

/*
 * Text content: only text and CDATA children count, so an entity reference
 * (left unexpanded) contributes nothing.
 */
char *
soap_text(xmlNodePtr node)
{
	size_t		total = 0;
	char	   *out;
	size_t		pos = 0;
	size_t		start;
	size_t		end;

	if (node == NULL)
		return NULL;
	for (xmlNodePtr c = node->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
			total += strlen((const char *) c->content);
	out = soft_alloc(total + 1);
	if (out == NULL)
		return NULL;
	for (xmlNodePtr c = node->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
		{
			size_t		l = strlen((const char *) c->content);

			memcpy(out + pos, c->content, l);
			pos += l;
		}
	out[pos] = '\0';
	start = 0;
	while (start < pos && strchr(" \t\r\n", out[start]) != NULL)
		start++;
	end = pos;
	while (end > start && strchr(" \t\r\n", out[end - 1]) != NULL)
		end--;
	if (start > 0)
		memmove(out, out + start, end - start);
	out[end - start] = '\0';
	return out;
}

bool
soap_string_array(xmlNodePtr node, char ***items, int *n)
{
	int			count = 0;
	int			i = 0;

	*items = NULL;
	*n = 0;
	if (node == NULL)
		return true;
	for (xmlNodePtr c = node->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			count++;
	*items = soft_alloc(sizeof(char *) * (count > 0 ? count : 1));
	if (*items == NULL)
		return false;
	for (xmlNodePtr c = node->children; c != NULL; c = c->next)
	{
		if (c->type != XML_ELEMENT_NODE)
			continue;
		(*items)[i] = soap_text(c);
		if ((*items)[i] == NULL)
			return false;
		i++;
	}
	*n = count;
	return true;
}

bool
soap_is_integer(const char *s)
{
	const char *p = s;
	size_t		digits;

	if (s == NULL)
		return false;
	if (*p == '-')
		p++;
	digits = strspn(p, "0123456789");
	return digits > 0 && digits <= 19 && p[digits] == '\0';
}

bool
soap_long_array(xmlNodePtr node, char ***items, int *n)
{
	if (!soap_string_array(node, items, n))
		return false;
	for (int i = 0; i < *n; i++)
		if (!soap_is_integer((*items)[i]))
			return false;
	return true;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool
soap_base64(xmlNodePtr node, unsigned char **out, int *n)
{
	char	   *text = soap_text(node);
	size_t		len;
	uint32		acc = 0;
	int			bits = 0;
	int			pad = 0;
	int			o = 0;

	*out = NULL;
	*n = 0;
	if (text == NULL)
		return false;
	len = strlen(text);
	*out = soft_alloc(len / 4 * 3 + 3);
	if (*out == NULL)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = text[i];
		int			v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=')
		{
			pad++;
			continue;
		}
		if (pad > 0)
			return false;		/* data after padding */
		v = b64_value(c);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			(*out)[o++] = (unsigned char) ((acc >> bits) & 0xFF);
		}
	}
	/* leftover bits must be padding bits; at most two '=' */
	if (pad > 2 || bits >= 6)
		return false;
	*n = o;
	return true;
}
