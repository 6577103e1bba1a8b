/*
 * provider.h -- the provider interface and the provider registry.
 *
 * A provider turns validated arguments (SmsArgs) into an HTTP request
 * (SmsRequest) and an HTTP reply into a result or a classified error
 * (SmsReply).  Providers do no I/O and never ereport, so the synchronous SQL
 * functions, the outbox worker and the fuzz targets all share them.
 *
 * Each provider is one SmsProvider: its limits, an ops table with one entry
 * per operation (an entry without `build` is an operation the provider cannot
 * do, and its `hint` says what to use instead), one reply parser for its
 * envelope, and a check of its credentials.  The registry
 * (provider_registry.c) lists every provider once; the sms_ir.provider
 * setting, lookups by name, sms_ir.provider_capabilities() and the fuzz
 * harness all come from it.
 */
#ifndef SMS_IR_PROVIDER_H
#define SMS_IR_PROVIDER_H

#include "postgres.h"

typedef enum SmsOp
{
	SMS_OP_BULK,
	SMS_OP_LIKE_TO_LIKE,
	SMS_OP_VERIFY,
	SMS_OP_TEMPLATE,
	SMS_OP_STATUS,
	SMS_OP_CREDIT,
	SMS_OP_LINES,
	SMS_OP_CANCEL,
	SMS_OP_RAW,
	SMS_OP_INBOX,
	SMS_OP_CONTACTS,		/* sms_send_to_contacts (contact groups) */
	SMS_OP_PACK_STATUS,		/* delivery reports of a whole pack (tracking) */
	SMS_OP_COUNT
} SmsOp;

typedef struct SmsParam
{
	char	   *name;
	char	   *value;
} SmsParam;

/* Validated arguments of one provider request (see args.c). */
typedef struct SmsArgs
{
	SmsOp		op;
	char	   *message;		/* BULK */
	char	  **messages;		/* LIKE_TO_LIKE, parallel to mobiles */
	char	  **mobiles;		/* canonical 09xxxxxxxxx */
	int			nmobiles;
	char	   *line_number;	/* BULK, LIKE_TO_LIKE; TEMPLATE sender */
	int64		send_at;		/* unix seconds, 0 = send now */
	char	   *template_id;	/* VERIFY (decimal), TEMPLATE */
	SmsParam   *params;
	int			nparams;
	char	   *id;				/* STATUS message id, CANCEL pack id */
	char	  **ids;			/* STATUS: several ids (max_status_ids > 1) */
	int			nids;
	char	   *raw_method;		/* RAW */
	char	   *raw_path;
	char	   *raw_body;		/* JSON text or NULL */
	int			count;			/* INBOX: how many messages at most */
	/* CONTACTS (message in `message`) */
	int32	   *group_ids;
	int			ngroup_ids;
	int32	   *relation_ids;
	int			nrelation_ids;
	bool		continue_on_error;
	char	   *after_id;		/* STATUS: next page after this id (NULL: first page) */
	SmsOp		sent_as;		/* PACK_STATUS: the operation that sent the pack */
	/* INBOX, as the worker polls it (SmsInboxPolling): */
	int			page;			/* 1-based page of `count` messages; 0 = the first */
	int64		from_time;		/* unix seconds: the archive of [from_time, to_time] */
	int64		to_time;		/* (both 0: the newest messages, today's) */
} SmsArgs;

/* Connection settings a request is built with (a snapshot of the GUCs). */
typedef struct SmsConfig
{
	const char *base_url;		/* never empty: provider default applied */
	const char *api_key;
	const char *bearer_token;	/* "" when not set */
	const char *line_number;	/* sms_ir.line_number, "" when not set */
	const char *secret_key;		/* sms_ir.secret_key, "" when not set */
	const char *token;		/* session token (providers with token hooks), or NULL */
	const char *username;		/* sms_ir.username, "" when not set (mediapayamak) */
	const char *password;		/* sms_ir.password, "" when not set (mediapayamak) */
	const char *domain;			/* sms_ir.domain, "" when not set (smsafzar login) */
} SmsConfig;

#define SMS_MAX_HEADERS 6

typedef struct SmsRequest
{
	const char *method;			/* GET, POST, PUT, PATCH, DELETE */
	char	   *url;
	char	   *headers[SMS_MAX_HEADERS];	/* "Name: value"; may hold secrets */
	int			nheaders;
	char	   *body;			/* NULL for no body */
} SmsRequest;

/* How a failure should be treated; drives both SQLSTATEs and worker retries. */
typedef enum SmsErrorClass
{
	SMS_OK = 0,
	SMS_ERR_INVALID,			/* provider rejected our values: permanent */
	SMS_ERR_NOT_FOUND,			/* unknown template, message or pack id */
	SMS_ERR_AUTH,				/* bad credentials */
	SMS_ERR_FORBIDDEN,			/* account/IP/method not allowed */
	SMS_ERR_NO_CREDIT,			/* out of credit */
	SMS_ERR_REJECTED,			/* any other permanent rejection */
	SMS_ERR_RATE_LIMITED,		/* try later (429 or provider code) */
	SMS_ERR_SERVER,				/* provider-side failure (5xx): try later */
	SMS_ERR_BAD_REPLY,			/* reply we cannot understand */
	SMS_ERR_CONNECT,			/* could not connect */
	SMS_ERR_NETWORK,			/* connection broke mid-request */
	SMS_ERR_TIMEOUT				/* no complete reply in time */
} SmsErrorClass;

typedef struct SmsError
{
	SmsErrorClass cls;
	int			http_status;	/* 0 when no HTTP reply */
	char	   *code;			/* provider's own code, or NULL */
	char	   *message;		/* provider's message or transport error */
	char	   *detail;			/* extra detail (e.g. field errors), or NULL */
	int			retry_after;	/* seconds from Retry-After, -1 if none */
	bool		retry_next_day; /* a daily limit: try again after Tehran midnight */
	bool		maybe_sent;		/* a send whose outcome is unknown (hint) */
	bool		blacklisted;	/* refused: the recipient is on the operators' blacklist */
} SmsError;

typedef struct SmsDelivery
{
	char	   *message_id;
	char	   *mobile;
	char	   *status;			/* queued, sent, delivered, failed, unknown */
	char	   *provider_status;
	char	   *detail;
	bool		blacklisted;	/* the report says the mobile is on the blacklist */
} SmsDelivery;

/* One received message (sms_inbox). */
typedef struct SmsInboxRow
{
	int64		received_at;	/* unix seconds; 0 when the provider gave none */
	char	   *sender;			/* the mobile that sent it (canonical when possible) */
	char	   *line_number;	/* our line that received it */
	char	   *message;
	char	   *provider_id;	/* the provider's id of the message, or NULL */
} SmsInboxRow;

typedef struct SmsReply
{
	SmsError	err;			/* err.cls == SMS_OK on success */
	/* sends */
	char	   *pack_id;
	char	  **message_ids;
	int			nmessage_ids;
	char	   *cost;			/* numeric text, or NULL */
	char	   *status;			/* TEMPLATE: normalized status */
	int			parts;			/* TEMPLATE: -1 when unknown */
	/* STATUS */
	SmsDelivery *deliveries;
	int			ndeliveries;
	/* CREDIT */
	char	   *number;
	/* LINES */
	char	  **lines;
	int			nlines;
	/* CANCEL */
	bool		cancelled;
	/* RAW */
	char	   *json;
	/* INBOX */
	SmsInboxRow *inbox;
	int			ninbox;
	/* token request (build_token_request) */
	char	   *token;
	/* STATUS: more rows follow; ask again with args->after_id = next_id */
	char	   *next_id;
} SmsReply;

typedef void (*SmsBuildFn) (const SmsArgs *args, const SmsConfig *cfg,
							SmsRequest *req);

/*
 * Reads what a successful reply of one operation carries into `reply`;
 * false when its shape is not the one expected.  `payload` is the part of
 * the reply the provider's envelope parser hands on (a json_object for the
 * JSON providers, the response xmlNode for SOAP).
 */
typedef bool (*SmsReadFn) (const SmsArgs *args, const void *payload,
						   SmsReply *reply);

/* Finer check of one operation's arguments; on false, *hint says why. */
typedef bool (*SmsSupportsFn) (const SmsArgs *args, const char **hint);

typedef struct SmsOpEntry
{
	SmsBuildFn	build;			/* NULL: the provider cannot do this */
	SmsReadFn	read;
	SmsSupportsFn supports;		/* optional */
	const char *hint;			/* without build: what to use instead */
} SmsOpEntry;

/*
 * How the worker can read a provider's received messages (SMS_OP_INBOX,
 * src/worker_inbox.c).  All zero for a provider without them.
 */
typedef struct SmsInboxPolling
{
	int			page_size;		/* messages it asks for per request (the API's most) */
	bool		pages;			/* args->page selects older pages of the newest */
	bool		archive;		/* args->from_time/to_time read past days */
	/*
	 * Its message ids do not name a message across its endpoints (sms.ir:
	 * receive/live has none, receive/archive has receiveReturnId): messages
	 * are keyed by sender, line, time and text instead of by id.
	 */
	bool		key_by_content;
} SmsInboxPolling;

/* Why a provider's credentials cannot be used (check_config). */
typedef struct SmsConfigProblem
{
	const char *message;
	const char *hint;
	const char *warning;		/* usable, but unsafe: said as a WARNING */
} SmsConfigProblem;

typedef struct SmsProvider
{
	const char *name;
	const char *default_base_url;
	int			max_recipients; /* per request */
	int			param_value_max;	/* characters */
	int			send_at_min_ahead;	/* seconds */
	int			send_at_max_ahead;	/* seconds */
	/* sms_send_bulk/like_to_like: requests run at once (1 = one by one) */
	int			send_concurrency;
	int			max_status_ids; /* message ids per STATUS request */
	/* largest numeric template id (VERIFY, TEMPLATE) it takes; 0 = no limit */
	int64		max_template_id;

	SmsOpEntry	ops[SMS_OP_COUNT];

	/*
	 * The provider's reply envelope: HTTP status, error bodies and codes;
	 * on success it hands the payload to ops[args->op].read.
	 */
	void		(*parse_reply) (const SmsArgs *args, long http_status,
								const char *body, size_t len, SmsReply *reply);

	/* Are the credentials in `cfg` enough to call?  On false, *problem. */
	bool		(*check_config) (const SmsConfig *cfg, SmsConfigProblem *problem);
	/* HINT for an authentication failure: which settings hold the secrets */
	const char *auth_hint;

	/*
	 * Optional session token (NULL for providers without one).  When set,
	 * and uses_token (if given) says the settings ask for one, src/token.c
	 * fetches a token with this request before the first call, caches it
	 * per process in cfg->token, and on an SMS_ERR_AUTH reply fetches a new
	 * one and retries once.  parse_token_reply sets reply->token, or an
	 * error (SMS_ERR_AUTH for bad credentials).
	 */
	void		(*build_token_request) (const SmsConfig *cfg, SmsRequest *req);
	void		(*parse_token_reply) (long http_status, const char *body,
									  size_t len, SmsReply *reply);
	bool		(*uses_token) (const SmsConfig *cfg);
	/* sends go out from the account's own line: no sender line needed */
	bool		no_line_number;
	/* the worker's polling of received messages */
	SmsInboxPolling inbox;
} SmsProvider;

/* provider_registry.c: every provider, in sms_ir.provider's enum order */
extern const SmsProvider *const sms_providers[];
extern const int sms_nproviders;
extern const SmsProvider *sms_current_provider(void);
extern const SmsProvider *sms_provider_by_name(const char *name);

/* provider.c: the generic side of the ops tables */
extern bool sms_provider_supports(const SmsProvider *provider, const SmsArgs *args,
								  const char **hint);
extern void sms_provider_build(const SmsProvider *provider, const SmsArgs *args,
							   const SmsConfig *cfg, SmsRequest *req);
extern bool sms_provider_read(const SmsProvider *provider, const SmsArgs *args,
							  const void *payload, SmsReply *reply);
extern bool sms_provider_uses_token(const SmsProvider *provider, const SmsConfig *cfg);
extern bool sms_op_is_send(SmsOp op);
extern char *sms_error_text(const SmsError *err);
extern char *sms_url_segment(const char *s);
extern SmsErrorClass sms_http_status_class(long http_status);

/* A provider's reply code: what class of failure it is, and its meaning. */
typedef struct SmsCodeInfo
{
	int64		code;
	SmsErrorClass cls;
	const char *meaning;
} SmsCodeInfo;

/* A provider's delivery code: SPEC §4's normalized status, and its meaning. */
typedef struct SmsStatusInfo
{
	int64		code;
	const char *status;
	const char *meaning;
} SmsStatusInfo;

/* Entry for `code` in a provider's table, or NULL. */
extern const SmsCodeInfo *sms_code_info(const SmsCodeInfo *table, size_t n, int64 code);
extern const SmsStatusInfo *sms_status_info(const SmsStatusInfo *table, size_t n, int64 code);
extern void sms_current_config(const SmsProvider *provider, SmsConfig *cfg);
extern void sms_config_warn(const SmsConfig *cfg, const SmsConfigProblem *problem);
struct SmsSecretProblem;
extern bool sms_try_current_config(const SmsProvider *provider, SmsConfig *cfg,
								   struct SmsSecretProblem *problem);
extern const char *sms_op_name(SmsOp op);
extern bool sms_error_is_transient(SmsErrorClass cls);
extern bool sms_error_is_account_level(SmsErrorClass cls);
extern bool sms_outcome_unknown(const SmsError *err, bool request_sent, long http_status);
extern int	sms_error_sqlstate(SmsErrorClass cls);
extern void sms_set_error(SmsReply *reply, SmsErrorClass cls, int http_status,
						  const char *code, const char *message,
						  const char *detail);
/* reply.c: one rule for amounts (cost, credit) in every provider's replies */
typedef enum SmsAmountFormat
{
	SMS_AMOUNT_PLAIN,			/* 1800, 12.5, 1.5e3 */
	SMS_AMOUNT_THOUSANDS		/* also 1,800 and 12,345.5 (',' groups of 3) */
} SmsAmountFormat;

#define SMS_AMOUNT_MAX_LEN		1000	/* characters of raw text */
#define SMS_AMOUNT_MAX_EXPONENT 1000
#define SMS_THOUSANDS_GROUP		3

extern char *sms_amount_text(const char *raw, SmsAmountFormat fmt);

/*
 * Tehran's offset from UTC: +03:30 all year (Iran has had no daylight saving
 * time since 2022).  Provider stamps without an offset and daily limits that
 * reset at Tehran midnight use it.
 */
#define SMS_TEHRAN_UTC_OFFSET_SECS (3 * 3600 + 30 * 60)

/* reply.c: unix seconds from a provider's stamp (ms detected), 0 = none */
#define SMS_UNIX_SECONDS_PLAUSIBLE INT64CONST(100000000000)
#define SMS_MSECS_PER_SEC		1000
extern int64 sms_unix_time(int64 raw);

/* reply.c: provider strings as valid UTF-8 (U+FFFD for bad bytes), clipped */
extern char *sms_text_valid_utf8(const char *s);
extern char *sms_text_clip(const char *s, int maxbytes);

extern void sms_raise_error(const SmsProvider *provider, const SmsError *err)
			pg_attribute_noreturn();

#endif
