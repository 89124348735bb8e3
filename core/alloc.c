/* alloc.c - counting allocator with fault injection. See alloc.h.
 *
 * Not thread-safe by design: the core is single-threaded (OpenBLAS has its
 * own pool and never calls back into us). The live counter lets tests assert
 * that a steady-state training step allocates nothing. WB_FAULT_ALLOC is
 * read at the first allocation, so no entry point needs an init call and a
 * whole `workbench` run counts from its first core allocation.
 */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static long fail_nth;       /* 0: off */
static int fail_persistent;
static int configured;      /* by WB_FAULT_ALLOC or wb_alloc_fail_at */
static long counter;
static long live;
static long injected, failures;

static int should_fail(void)
{
    if (!configured) {
        const char *s = getenv("WB_FAULT_ALLOC");
        configured = 1;
        fail_nth = s ? strtol(s, NULL, 10) : 0;
        fail_nth = fail_nth > 0 ? fail_nth : 0;
    }
    counter++;
    int fail = fail_nth != 0 && (counter == fail_nth ||
                                 (fail_persistent && counter > fail_nth));
    injected += fail;
    failures += fail;
    return fail;
}

void wb_alloc_fail_at(long nth, int persistent)
{
    configured = 1;
    fail_nth = nth;
    fail_persistent = persistent;
    counter = 0;
}

long wb_alloc_count(void) { return counter; }
long wb_alloc_live(void) { return live; }
long wb_alloc_injected(void) { return injected; }
long wb_alloc_failures(void) { return failures; }

void *wb_malloc(size_t n)
{
    if (n == 0 || should_fail())
        return NULL;
    void *p = malloc(n);
    live += p != NULL;
    failures += p == NULL;
    return p;
}

void *wb_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0 || count > SIZE_MAX / size || should_fail())
        return NULL;
    void *p = calloc(count, size);
    live += p != NULL;
    failures += p == NULL;
    return p;
}

void *wb_realloc(void *p, size_t n)
{
    if (!p)
        return wb_malloc(n);
    if (n == 0 || should_fail())
        return NULL;
    void *q = realloc(p, n);
    failures += q == NULL;
    return q;
}

/* Buffers of at least this many bytes (a dataset: MNIST's training images
 * are 47 MB) are aligned to a huge page and asked to be backed by huge
 * pages where the kernel gives them on request (transparent_hugepage
 * "madvise", as on these machines): every run's process loads the data,
 * and faulting 47 MB in 4 KiB pages cost 12,000 faults and 0.2 s of
 * system time on a virtual machine. A hint only: without it, or refused,
 * the pages are the small ones. */
#define HUGE_BYTES ((size_t)2 << 20)

void *wb_alloc_aligned_raw(size_t n)
{
    if (n == 0 || n > SIZE_MAX - HUGE_BYTES || should_fail())
        return NULL;
    int huge = n >= HUGE_BYTES;
    size_t align = huge ? HUGE_BYTES : 64;
    size_t rounded = (n + align - 1) & ~(align - 1); /* aligned_alloc wants a multiple */
    void *p = aligned_alloc(align, rounded);
#ifdef MADV_HUGEPAGE
    if (p && huge)
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    live += p != NULL;
    failures += p == NULL;
    return p;
}

void *wb_alloc_aligned(size_t n)
{
    void *p = wb_alloc_aligned_raw(n);
    if (p)
        memset(p, 0, (n + 63) & ~(size_t)63);
    return p;
}

char *wb_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = wb_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void wb_free(void *p)
{
    if (p) {
        live--;
        free(p);
    }
}
