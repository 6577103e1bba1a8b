/*
 * arena.c -- palloc & co. for the FRONTEND fuzz builds; see arena.h.
 *
 * Why this links cleanly: libpgcommon.a's fe_memutils.o also defines palloc,
 * palloc0, repalloc, pfree, pstrdup and pnstrdup.  A static archive member is
 * only pulled in to resolve a symbol that is still undefined, and every
 * symbol of fe_memutils.o that the linked code uses (psprintf.o and
 * stringinfo.o need palloc, repalloc, pfree; jsonapi.o needs palloc0 and
 * pstrdup; src/ needs pnstrdup too) is defined here first, so the member is
 * never pulled and there is no duplicate definition.  If a future object
 * needs another of its symbols (pg_malloc, palloc_extended, ...), the link
 * fails loudly with "multiple definition of `palloc'": then define that
 * symbol here as well (see the palloc_extended below for the pattern).
 *
 * Backend semantics are kept where a difference would hide bugs: requests
 * over MaxAllocSize, pfree(NULL) and pfree/repalloc of a pointer that palloc
 * did not return abort (in the backend they ereport or crash).
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>

#include "arena.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#if !defined(ARENA_ASAN) && defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#endif

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define HDR_POISON(h)	ASAN_POISON_MEMORY_REGION((h), sizeof(ArenaChunk))
#define HDR_UNPOISON(h) ASAN_UNPOISON_MEMORY_REGION((h), sizeof(ArenaChunk))
#else
#define HDR_POISON(h)	((void) 0)
#define HDR_UNPOISON(h) ((void) 0)
#endif

/* utils/memutils.h MaxAllocSize: larger requests ereport in the backend */
#define ARENA_MAX_ALLOC ((Size) 0x3fffffff)

#define ARENA_MAGIC UINT64CONST(0x5a4d535f4152454e)	/* live chunk */

/* 32 bytes: keeps the caller's pointer 16-byte aligned like malloc's. */
typedef struct ArenaChunk
{
	struct ArenaChunk *prev;
	struct ArenaChunk *next;
	size_t		size;
	uint64		magic;
} ArenaChunk;

StaticAssertDecl(sizeof(ArenaChunk) % 16 == 0, "arena header must keep alignment");

static ArenaChunk *arena_head = NULL;
static size_t arena_count = 0;

/*
 * Memory context reset callbacks (src/json.c hands json-c roots to the
 * current context): the arena is the one context, so arena_reset() runs
 * them, newest first as MemoryContextReset() does, before freeing chunks.
 */
MemoryContext CurrentMemoryContext = NULL;
static MemoryContextCallback *arena_callbacks = NULL;

void
MemoryContextRegisterResetCallback(MemoryContext context, MemoryContextCallback *cb)
{
	cb->next = arena_callbacks;
	arena_callbacks = cb;
}

void
fuzz_fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "\n==FUZZ== harness check failed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	abort();
}

static inline ArenaChunk *
chunk_of(void *ptr, const char *what)
{
	ArenaChunk *h;

	if (ptr == NULL)
		fuzz_fail("%s(NULL)", what);
	h = (ArenaChunk *) ((char *) ptr - sizeof(ArenaChunk));
	HDR_UNPOISON(h);
	if (h->magic != ARENA_MAGIC)
		fuzz_fail("%s(%p): not a live palloc'd chunk", what, ptr);
	return h;					/* header left unpoisoned: caller frees it */
}

static void *
arena_alloc(size_t size, bool zero, const char *what)
{
	ArenaChunk *h;

	if (size > ARENA_MAX_ALLOC)
		fuzz_fail("%s(%zu): over MaxAllocSize, would ereport(ERROR) in the backend",
				  what, size);
	h = malloc(sizeof(ArenaChunk) + size);
	if (h == NULL)
		fuzz_fail("%s(%zu): out of memory", what, size);
	h->prev = NULL;
	h->next = arena_head;
	h->size = size;
	h->magic = ARENA_MAGIC;
	if (arena_head)
	{
		HDR_UNPOISON(arena_head);
		arena_head->prev = h;
		HDR_POISON(arena_head);
	}
	arena_head = h;
	arena_count++;
	HDR_POISON(h);
	if (zero)
		memset(h + 1, 0, size);
	return h + 1;
}

/* Unlink h from the list; leaves h's header unpoisoned, ready for free(). */
static void
arena_unlink(ArenaChunk *h)
{
	HDR_UNPOISON(h);
	if (h->prev)
	{
		HDR_UNPOISON(h->prev);
		h->prev->next = h->next;
		HDR_POISON(h->prev);
	}
	else
		arena_head = h->next;
	if (h->next)
	{
		HDR_UNPOISON(h->next);
		h->next->prev = h->prev;
		HDR_POISON(h->next);
	}
	h->magic = 0;
	arena_count--;
}

void *
palloc(Size size)
{
	return arena_alloc(size, false, "palloc");
}

void *
palloc0(Size size)
{
	return arena_alloc(size, true, "palloc0");
}

void *
palloc_extended(Size size, int flags)
{
	/* MCXT_ALLOC_HUGE is not honoured: nothing here should need 1 GB */
	return arena_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0, "palloc_extended");
}

void
pfree(void *pointer)
{
	ArenaChunk *h = chunk_of(pointer, "pfree");

	arena_unlink(h);
	free(h);
}

void *
repalloc(void *pointer, Size size)
{
	ArenaChunk *h = chunk_of(pointer, "repalloc");
	size_t		oldsize = h->size;
	void	   *p;

	if (size > ARENA_MAX_ALLOC)
		fuzz_fail("repalloc(%zu): over MaxAllocSize, would ereport(ERROR) in the backend",
				  size);
	/*
	 * Always move (never realloc in place), so ASan catches a caller that
	 * keeps using the old pointer.
	 */
	p = arena_alloc(size, false, "repalloc");
	memcpy(p, pointer, Min(size, oldsize));
	arena_unlink(h);
	free(h);
	return p;
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = arena_alloc(len + 1, false, "pstrdup");

	memcpy(out, in, len + 1);
	return out;
}

char *
pnstrdup(const char *in, Size size)
{
	size_t		len = strnlen(in, size);
	char	   *out = arena_alloc(len + 1, false, "pnstrdup");

	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

void
arena_reset(void)
{
	ArenaChunk *h;

	while (arena_callbacks != NULL)
	{
		MemoryContextCallback *cb = arena_callbacks;

		arena_callbacks = cb->next;
		cb->func(cb->arg);
	}
	h = arena_head;

	while (h)
	{
		ArenaChunk *next;

		HDR_UNPOISON(h);
		next = h->next;
		h->magic = 0;
		free(h);
		h = next;
	}
	arena_head = NULL;
	arena_count = 0;
}

size_t
arena_live_chunks(void)
{
	return arena_count;
}
