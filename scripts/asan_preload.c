/*
 * asan_preload.c -- preloaded after the ASan runtime into the sanitizer
 * run's server (scripts/asan.sh); never part of the extension.
 *
 * Preloaded runtimes are initialized after every library the postgres
 * binary links, so ASan starts lazily, at the first malloc() of another
 * library's constructor.  In libgpg-error's and gnutls's that is inside
 * bindtextdomain(), which holds gettext's lock for writing; ASan's start-up
 * looks up swift_demangle with dlsym(), the failed lookup's dlerror()
 * translates its message through gettext, whose read lock fails under the
 * write lock (ignored) and whose unlock then corrupts the lock: the server
 * hangs in its own bindtextdomain() before main() has done anything.
 * Defining the symbol makes the lookup succeed, so nothing is translated.
 * It returns NULL ("not a Swift name") if ever called.
 */
typedef unsigned long size_t;

char	   *swift_demangle(const char *mangled, size_t len, char *out, size_t *outlen,
						   unsigned int flags);

char *
swift_demangle(const char *mangled, size_t len, char *out, size_t *outlen,
			   unsigned int flags)
{
	return 0;
}
