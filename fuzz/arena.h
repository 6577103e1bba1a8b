/*
 * arena.h -- per-input memory arena for the fuzz targets.
 *
 * The extension's code allocates with palloc() and relies on memory contexts
 * to free it.  Frontend libpgcommon's palloc is plain malloc, so every input
 * would leak.  arena.c defines palloc & co. itself (so fe_memutils.o is never
 * linked); each chunk is a separate malloc() with a poisoned header, so ASan
 * still sees overflows, underflows and use-after-free of single chunks, and
 * arena_reset() frees whatever the input left behind.
 */
#ifndef SMS_FUZZ_ARENA_H
#define SMS_FUZZ_ARENA_H

#include <stddef.h>

/* Free every chunk allocated since the last reset. */
extern void arena_reset(void);

/* Number of live chunks (for the harness's own sanity checks). */
extern size_t arena_live_chunks(void);

/* Report a harness-detected bug and abort (libFuzzer saves the input). */
extern void fuzz_fail(const char *fmt,...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
