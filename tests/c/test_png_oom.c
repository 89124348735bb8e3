/* test_png_oom.c - an allocation failure inside libpng is reported as
 * WB_ENOMEM. libpng tells it only in words ("Out of memory", "insufficient
 * memory", "IDAT: insufficient memory to read chunk"); png.c hands libpng an
 * allocator that records the failure, so the kind is a value whatever the
 * words. libpng's allocations do not go through wb_malloc (so the fault
 * hook of alloc.h cannot reach them): this binary is linked with
 * -Wl,--wrap=malloc (Makefile) and fails the Nth malloc of the core,
 * libpng's through png.c's allocator included, for N = 1, 2, ... until a
 * load (a save) succeeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/alloc.h"
#include "../../core/png.h"
#include "../../core/tensor.h"
#include "harness.h"

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

static long arm, calls;

void *__wrap_malloc(size_t n)
{
    if (arm && ++calls == arm)
        return NULL;
    return __real_malloc(n);
}

static void test_libpng_oom_is_enomem(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/wb_png_oom_%ld.png", (long)getpid());
    int64_t s[2] = {20, 30};
    wb_err err;
    wb_tensor *t = wb_tensor_new(WB_F32, 2, s, &err);
    REQUIRE(t, "%s", err.msg);
    for (int64_t i = 0; i < 20 * 30; i++)
        wb_tensor_set_flat(t, (size_t)i, (double)(i % 7) / 7.0);
    REQUIRE(wb_png_save(t, path, &err) == WB_OK, "%s", err.msg);
    int failures = 0, by_libpng = 0, loaded = 0;
    for (long n = 1; n <= 200 && !loaded; n++) {
        long live = wb_alloc_live();
        memset(&err, 0, sizeof err);
        calls = 0;
        arm = n;
        wb_tensor *b = wb_png_load(path, &err);
        arm = 0;
        if (b) {
            loaded = 1;
            wb_tensor_free(b);
            break;
        }
        failures++;
        by_libpng += strstr(err.msg, "libpng:") != NULL;
        CHECK(err.code == WB_ENOMEM, "malloc %ld failed: %s, '%s'", n,
              wb_status_name(err.code), err.msg);
        CHECK(wb_alloc_live() == live, "malloc %ld failed: leaked", n);
    }
    CHECK(loaded, "no load succeeded in 200 tries");
    CHECK(failures >= 5, "only %d failures", failures);
    CHECK(by_libpng >= 2, "only %d failures inside libpng", by_libpng);
    unlink(path);
    wb_tensor_free(t);
}

/* Saving: every failure is WB_ENOMEM, and the file saved before stays. */
static void test_libpng_oom_on_save(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/wb_png_oom_s%ld.png", (long)getpid());
    int64_t s[2] = {20, 30};
    wb_err err;
    wb_tensor *t = wb_tensor_new(WB_F32, 2, s, &err);
    REQUIRE(t, "%s", err.msg);
    REQUIRE(wb_png_save(t, path, &err) == WB_OK, "%s", err.msg);
    for (int64_t i = 0; i < 20 * 30; i++)
        wb_tensor_set_flat(t, (size_t)i, (double)(i % 5) / 5.0);
    int failures = 0, by_libpng = 0, saved = 0;
    for (long n = 1; n <= 200 && !saved; n++) {
        long live = wb_alloc_live();
        memset(&err, 0, sizeof err);
        calls = 0;
        arm = n;
        wb_status st = wb_png_save(t, path, &err);
        arm = 0;
        if (st == WB_OK || strstr(err.msg, "written, but")) {
            saved = 1; /* fsutil: only the folder's fsync failed; the file is in place */
            break;
        }
        failures++;
        by_libpng += strstr(err.msg, "libpng:") != NULL;
        CHECK(st == WB_ENOMEM && err.code == WB_ENOMEM, "malloc %ld failed: %s, '%s'", n,
              wb_status_name(err.code), err.msg);
        CHECK(wb_alloc_live() == live, "malloc %ld failed: leaked", n);
        wb_tensor *back = wb_png_load(path, &err);
        CHECK(back && wb_tensor_get_flat(back, 1) == 0, "malloc %ld failed: the "
              "earlier file is gone or changed (%s)", n, back ? "changed" : err.msg);
        wb_tensor_free(back);
    }
    CHECK(saved, "no save succeeded in 200 tries");
    CHECK(failures >= 3, "only %d failures", failures);
    CHECK(by_libpng >= 1, "only %d failures inside libpng", by_libpng);
    unlink(path);
    wb_tensor_free(t);
}

int main(void)
{
    RUN(test_libpng_oom_is_enomem);
    RUN(test_libpng_oom_on_save);
    TH_EXIT();
}
