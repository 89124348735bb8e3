/* alloc.c - counting allocator with fault injection. See alloc.h.
 *
 * Not thread-safe by design: the core is single-threaded (OpenBLAS has its
 * own pool and never calls back into us). The live counter lets tests assert
 * that a steady-state training step allocates nothing.
 */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long fail_nth;       /* 0: off */
static int fail_persistent;
static long counter;
static long live;

static int should_fail(void)
{
    counter++;
    if (fail_nth == 0)
        return 0;
    if (counter == fail_nth)
        return 1;
    return fail_persistent && counter > fail_nth;
}

void wb_alloc_fail_at(long nth, int persistent)
{
    fail_nth = nth;
    fail_persistent = persistent;
    counter = 0;
}

long wb_alloc_count(void) { return counter; }
long wb_alloc_live(void) { return live; }

void *wb_malloc(size_t n)
{
    if (n == 0 || should_fail())
        return NULL;
    void *p = malloc(n);
    if (p)
        live++;
    return p;
}

void *wb_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0 || count > SIZE_MAX / size || should_fail())
        return NULL;
    void *p = calloc(count, size);
    if (p)
        live++;
    return p;
}

void *wb_realloc(void *p, size_t n)
{
    if (!p)
        return wb_malloc(n);
    if (n == 0 || should_fail())
        return NULL;
    return realloc(p, n);
}

void *wb_alloc_aligned(size_t n)
{
    if (n == 0 || n > SIZE_MAX - 64 || should_fail())
        return NULL;
    size_t rounded = (n + 63) & ~(size_t)63; /* aligned_alloc wants a multiple */
    void *p = aligned_alloc(64, rounded);
    if (p) {
        memset(p, 0, rounded);
        live++;
    }
    return p;
}

void wb_free(void *p)
{
    if (p) {
        live--;
        free(p);
    }
}
