/* dataset.c - minibatch gathering. See dataset.h. */
#include "dataset.h"

#include <string.h>

#include "simd.h"

static size_t row_size(const wb_tensor *t)
{
    size_t n = 1;
    for (int i = 1; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

/* Rows are gathered from all over the set (47 MB for MNIST): a row's cache
 * misses would stall its copy, one row after another. So the copy of row i
 * first asks for row i + AHEAD, and the first AHEAD rows are asked for
 * before the loop (their misses overlap), as are the first AHEAD rows of
 * the next batch of the same index before returning (they may still be in
 * a cache at the next step). Hints only: no result depends on them;
 * indices out of range are skipped (the call that gathers them reports). */
#define AHEAD 8

/* always_inline: GCC finds a function of prefetches alone free of side
 * effects (ipa-pure-const) and drops its calls */
static inline __attribute__((always_inline)) void prefetch_row(const wb_tensor *images,
                                                            float at, size_t d)
{
    size_t n = (size_t)images->shape[0], esize = images->dtype == WB_U8 ? 1 : sizeof(float);
    if (!(at >= 1 && (double)at <= (double)n))
        return;
    const char *base = images->dtype == WB_U8 ? (const char *)wb_tensor_u8(images)
                                              : (const char *)wb_tensor_f32(images);
    size_t bytes = d * esize;
    const char *row = base + ((size_t)at - 1) * bytes;
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(row + off);
    __builtin_prefetch(row + bytes - 1);
}

/* dst [d] = src [d] / 255, divided, not times fl(1/255): the product is 1 ulp
 * off the quotient for 126 of the 256 values */
WB_SIMD_BODY to_f32_body(float *restrict dst, const uint8_t *restrict src, size_t d)
{
    for (size_t j = 0; j < d; j++)
        dst[j] = wb_pixel_f32(src[j]);
}
WB_SIMD_KERNEL(to_f32, to_f32_body,
               (float *restrict dst, const uint8_t *restrict src, size_t d),
               (dst, src, d))

void wb_pixels_to_f32(float *restrict dst, const uint8_t *restrict src, size_t n)
{
    WB_SIMD_CALL(to_f32)(dst, src, n);
}

wb_status wb_dataset_gather(wb_tensor *x, wb_tensor *y, const wb_tensor *images,
                            const wb_tensor *labels, const wb_tensor *idx,
                            int64_t first, int64_t count, wb_err *err)
{
    if (images->ndim < 1 || labels->ndim != 1 || labels->shape[0] != images->shape[0])
        return wb_err_shape(err, "gather: images and labels", images, labels);
    if (labels->dtype != WB_U8 || idx->dtype != WB_F32 || x->dtype != WB_F32 ||
        y->dtype != WB_U8)
        return wb_err_set(err, WB_EINVAL, "gather: expected uint8 labels, float32 "
                          "indices and batch, uint8 batch labels");
    size_t d = row_size(images), nidx = wb_tensor_numel(idx);
    if (first < 0 || count < 0 || (size_t)first > nidx || (size_t)count > nidx - (size_t)first)
        return wb_err_set(err, WB_ERANGE, "gather: rows %lld..%lld of an index of %zu",
                          (long long)wb_i64_add_sat(first, 1),
                          (long long)wb_i64_add_sat(first, count), nidx);
    if (x->ndim != 2 || (size_t)x->shape[1] != d || x->shape[0] < count ||
        wb_tensor_numel(y) < (size_t)count)
        return wb_err_set(err, WB_ESHAPE, "gather: batch buffer too small for %lld rows "
                          "of %zu", (long long)count, d);
    const float *ix = wb_tensor_f32(idx) + first;
    int64_t n = images->shape[0];
    /* compared in double, which holds n exactly: (float)n rounds up past
     * 2^24 (2^24 + 3 -> 2^24 + 4), which let an index one row past the end in */
    for (int64_t i = 0; i < count; i++)
        if (!(ix[i] >= 1 && (double)ix[i] <= (double)n) || ix[i] != (float)(int64_t)ix[i])
            return wb_err_set(err, WB_ERANGE, "gather: index %lld is %.9g, expected an "
                              "integer in 1..%lld", (long long)(first + i + 1),
                              (double)ix[i], (long long)n);
    float *xo = wb_tensor_f32(x);
    uint8_t *yo = wb_tensor_u8(y);
    const uint8_t *lab = wb_tensor_u8(labels);
    for (int64_t i = 0; i < count && i < AHEAD; i++)
        prefetch_row(images, ix[i], d);
    for (int64_t i = 0; i < count; i++) {
        if (i + AHEAD < count)
            prefetch_row(images, ix[i + AHEAD], d);
        size_t r = (size_t)ix[i] - 1;
        float *restrict dst = xo + (size_t)i * d;
        if (images->dtype == WB_U8) {
            wb_pixels_to_f32(dst, wb_tensor_u8(images) + r * d, d);
        } else {
            memcpy(dst, wb_tensor_f32(images) + r * d, d * sizeof(float));
        }
        yo[i] = lab[r];
    }
    for (size_t i = 0; i < AHEAD && i < (size_t)count && i < nidx - (size_t)(first + count); i++)
        prefetch_row(images, ix[count + (int64_t)i], d);
    return WB_OK;
}
