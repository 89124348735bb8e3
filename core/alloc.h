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
void wb_free(void *p);                     /* NULL-safe */

/* Fault injection for tests: make allocation number `nth` (1-based, counted
 * from this call) fail; with `persistent` every later one fails too.
 * nth = 0 turns injection off. */
void wb_alloc_fail_at(long nth, int persistent);
/* Allocations made since the last wb_alloc_fail_at / counter reset. */
long wb_alloc_count(void);
/* Allocations currently live (malloc'd and not yet freed). */
long wb_alloc_live(void);

#endif
