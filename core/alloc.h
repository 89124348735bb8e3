/* alloc.h - the core's one allocation choke point.
 *
 * Every heap allocation in core/ goes through these functions so that a test
 * can make the Nth allocation fail (once, or from then on) and check that
 * every error path frees what it took. Buffers from wb_alloc_aligned are
 * 64-byte aligned (cache line, AVX-512) and freed with wb_free.
 */
#ifndef WB_ALLOC_H
#define WB_ALLOC_H

#include <stddef.h>

void *wb_malloc(size_t n);                 /* NULL on failure or n == 0 */
void *wb_calloc(size_t count, size_t size); /* overflow-checked, zeroed */
void *wb_realloc(void *p, size_t n);
void *wb_alloc_aligned(size_t n);          /* 64-byte aligned, zeroed */
void *wb_alloc_aligned_raw(size_t n);      /* the same, not zeroed: written whole next */
void wb_free(void *p);                     /* NULL-safe */
char *wb_strdup(const char *s);            /* a counted heap copy of s (wb_free), or NULL */

/* Fault injection for tests: make allocation number `nth` (1-based, counted
 * from this call) fail; with `persistent` every later one fails too.
 * nth = 0 turns injection off. From the command line, the environment
 * variable WB_FAULT_ALLOC=N makes the Nth allocation of the process fail,
 * once (read at the first allocation; a call here overrides it). */
void wb_alloc_fail_at(long nth, int persistent);
/* Failures injected so far (by either means) in this process. */
long wb_alloc_injected(void);
/* Allocations that returned NULL so far, injected or not: a caller whose
 * library returns NULL for two reasons (jansson: no memory, or a string
 * that is not UTF-8) compares it before and after to tell them apart. */
long wb_alloc_failures(void);
/* Allocations made since the last wb_alloc_fail_at / counter reset. */
long wb_alloc_count(void);
/* Allocations currently live (malloc'd and not yet freed). */
long wb_alloc_live(void);

#endif
