/* dataset.c - minibatch gathering. See dataset.h. */
#include "dataset.h"

#include <string.h>

static size_t row_size(const wb_tensor *t)
{
    size_t n = 1;
    for (int i = 1; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
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
                          (long long)first + 1, (long long)(first + count), nidx);
    if (x->ndim != 2 || (size_t)x->shape[1] != d || x->shape[0] < count ||
        wb_tensor_numel(y) < (size_t)count)
        return wb_err_set(err, WB_ESHAPE, "gather: batch buffer too small for %lld rows "
                          "of %zu", (long long)count, d);
    const float *ix = wb_tensor_f32(idx) + first;
    int64_t n = images->shape[0];
    for (int64_t i = 0; i < count; i++)
        if (!(ix[i] >= 1 && ix[i] <= (float)n) || ix[i] != (float)(int64_t)ix[i])
            return wb_err_set(err, WB_ERANGE, "gather: index %lld is %g, expected an "
                              "integer in 1..%lld", (long long)(first + i + 1),
                              (double)ix[i], (long long)n);
    float *xo = wb_tensor_f32(x);
    uint8_t *yo = wb_tensor_u8(y);
    const uint8_t *lab = wb_tensor_u8(labels);
    const float scale = 1.0f / 255.0f;
    for (int64_t i = 0; i < count; i++) {
        size_t r = (size_t)ix[i] - 1;
        float *restrict dst = xo + (size_t)i * d;
        if (images->dtype == WB_U8) {
            const uint8_t *restrict src = wb_tensor_u8(images) + r * d;
            for (size_t j = 0; j < d; j++)
                dst[j] = (float)src[j] * scale;
        } else {
            memcpy(dst, wb_tensor_f32(images) + r * d, d * sizeof(float));
        }
        yo[i] = lab[r];
    }
    return WB_OK;
}
