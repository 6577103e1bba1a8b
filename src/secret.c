/*
 * secret.c -- the values of the secret settings (api_key, secret_key,
 * bearer_token, username, password, domain).
 *
 * A secret setting holds either the secret itself ("inline") or a reference
 * to a file that holds it: 'file:/absolute/path'.  With a reference no
 * setting, placeholder, reload log line, ALTER SYSTEM statement or
 * pg_db_role_setting row ever carries the secret: only the path.
 *
 * The file must be a regular file owned by the server's OS user and
 * unreadable by group and others (the rule PostgreSQL applies to its own
 * ssl_key_file).  It is read when first needed and again whenever its
 * inode, size, modification or status-change time changes (a chmod or chown
 * is checked at once), so rotating a key is "write the
 * new file, done"; a SIGHUP changes the path and so also re-reads.  The value
 * is cached in TopMemoryContext (wiped before it is freed) and never enters
 * a GUC, an error message or a log line.
 *
 * An inline secret is honoured only when sms_ir was loaded through
 * shared_preload_libraries: before the library defines its settings,
 * PostgreSQL keeps them as placeholders that any role reads with SHOW.
 * Otherwise every call that would use it raises 28000 with a hint.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "secret.h"

/* A secret is a key or a password: anything longer is not one. */
#define SECRET_FILE_MAX_BYTES 4096
#define SECRET_FILE_PREFIX "file:"

bool		sms_ir_preloaded = false;

/* One cache entry per secret setting, keyed by its name. */
typedef struct SecretCache
{
	const char *setting;
	char	   *path;			/* the file it was read from, or NULL */
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	struct timespec ctime;		/* chmod and chown change only this */
	char	   *value;			/* file contents, trailing newline stripped */
} SecretCache;

#define SECRET_SETTINGS 5
static SecretCache cache[SECRET_SETTINGS];

static SecretCache *
cache_entry(const char *setting)
{
	for (int i = 0; i < SECRET_SETTINGS; i++)
	{
		if (cache[i].setting == NULL)
		{
			cache[i].setting = setting;
			return &cache[i];
		}
		if (strcmp(cache[i].setting, setting) == 0)
			return &cache[i];
	}
	elog(ERROR, "too many secret settings");
	return NULL;				/* keep compiler quiet */
}

static void
cache_clear(SecretCache *c)
{
	if (c->value != NULL)
	{
		explicit_bzero(c->value, strlen(c->value));
		pfree(c->value);
	}
	if (c->path != NULL)
		pfree(c->path);
	c->value = NULL;
	c->path = NULL;
}

static bool
problem(SmsSecretProblem *p, const char *setting, char *message, char *detail,
		const char *hint)
{
	p->setting = setting;
	p->message = message;
	p->detail = detail;
	p->hint = hint;
	return false;
}

static const char *const file_hint =
"The file must be a regular file owned by the operating-system user that runs the server, "
"with no access for group or others (chmod 600).";

/* Read the secret file `path` into c (c->path == path on success). */
static bool
read_secret_file(SecretCache *c, const char *setting, const char *path,
				 SmsSecretProblem *p)
{
	struct stat st;
	int			fd;
	char		buf[SECRET_FILE_MAX_BYTES + 1];
	ssize_t		len;

	if (path[0] != '/')
		return problem(p, setting,
					   psprintf("%s must name an absolute path after \"%s\"", setting,
								SECRET_FILE_PREFIX),
					   psprintf("The path is \"%s\".", path),
					   "Write it as 'file:/absolute/path/to/secret'.");

	/* cheap check first: unchanged file, cached value */
	if (c->path != NULL && strcmp(c->path, path) == 0 && stat(path, &st) == 0 &&
		st.st_dev == c->dev && st.st_ino == c->ino && st.st_size == c->size &&
		st.st_mtim.tv_sec == c->mtime.tv_sec && st.st_mtim.tv_nsec == c->mtime.tv_nsec &&
		st.st_ctim.tv_sec == c->ctime.tv_sec && st.st_ctim.tv_nsec == c->ctime.tv_nsec)
		return true;

	cache_clear(c);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return problem(p, setting,
					   psprintf("could not open the secret file of %s", setting),
					   psprintf("File \"%s\": %s.", path, strerror(errno)),
					   file_hint);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		return problem(p, setting,
					   psprintf("the secret file of %s is not a regular file", setting),
					   psprintf("File \"%s\".", path), file_hint);
	}
	if (st.st_uid != geteuid())
	{
		close(fd);
		return problem(p, setting,
					   psprintf("the secret file of %s is not owned by the server's user", setting),
					   psprintf("File \"%s\" belongs to uid %d, the server runs as uid %d.",
								path, (int) st.st_uid, (int) geteuid()),
					   file_hint);
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		close(fd);
		return problem(p, setting,
					   psprintf("the secret file of %s is accessible by group or others", setting),
					   psprintf("File \"%s\" has mode %04o.", path,
								(unsigned int) (st.st_mode & 07777)),
					   file_hint);
	}
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len < 0 || len > SECRET_FILE_MAX_BYTES)
	{
		explicit_bzero(buf, sizeof(buf));
		return problem(p, setting,
					   psprintf("could not read the secret file of %s", setting),
					   len < 0 ? psprintf("File \"%s\": %s.", path, strerror(errno)) :
					   psprintf("File \"%s\" is longer than %d bytes.", path,
								SECRET_FILE_MAX_BYTES),
					   file_hint);
	}
	/* a trailing newline (echo, editors) is not part of the secret */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL)
	{
		explicit_bzero(buf, sizeof(buf));
		return problem(p, setting,
					   psprintf("the secret file of %s contains a NUL byte", setting),
					   psprintf("File \"%s\".", path),
					   "Write the secret as text, on one line.");
	}

	c->value = MemoryContextStrdup(TopMemoryContext, buf);
	explicit_bzero(buf, sizeof(buf));
	c->path = MemoryContextStrdup(TopMemoryContext, path);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = st.st_size;
	c->mtime = st.st_mtim;
	c->ctime = st.st_ctim;
	return true;
}

bool
sms_secret_resolve(const char *setting, const char *raw, const char **value,
				   SmsSecretProblem *p)
{
	SecretCache *c;

	if (raw == NULL || raw[0] == '\0')
	{
		*value = "";
		return true;
	}
	c = cache_entry(setting);
	if (strncmp(raw, SECRET_FILE_PREFIX, strlen(SECRET_FILE_PREFIX)) == 0)
	{
		if (!read_secret_file(c, setting, raw + strlen(SECRET_FILE_PREFIX), p))
			return false;
		*value = c->value;
		return true;
	}
	cache_clear(c);
	if (!sms_ir_preloaded)
		return problem(p, setting,
					   psprintf("%s holds an inline secret, but sms_ir is not in shared_preload_libraries",
								setting),
					   pstrdup("Until the library is loaded, PostgreSQL keeps the setting as a placeholder that any role can read with SHOW."),
					   "Put the secret in a file owned by the server's user (chmod 600) and set it to 'file:/path/to/that/file', or add sms_ir to shared_preload_libraries.");
	*value = raw;
	return true;
}

void
sms_secret_raise(const SmsSecretProblem *p)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("%s", p->message),
			 p->detail ? errdetail("%s", p->detail) : 0,
			 p->hint ? errhint("%s", p->hint) : 0));
}
