/* flatten.c - shape bookkeeping and uint8 conversion for Flatten. */
#include "flatten.h"

#include <string.h>

#include "alloc.h"
#include "dataset.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=cheap") /* see activation.c */
#endif

wb_flatten *wb_flatten_new(wb_err *err)
{
    wb_flatten *f = wb_calloc(1, sizeof *f);
    if (!f)
        wb_err_set(err, WB_ENOMEM, "out of memory allocating a Flatten layer");
    return f;
}

void wb_flatten_free(wb_flatten *f)
{
    if (f) {
        wb_tensor_free(f->buf);
        wb_free(f);
    }
}

wb_status wb_flatten_forward(wb_flatten *f, const wb_tensor *x, wb_err *err)
{
    char s[WB_SHAPE_STR_MAX];
    if (x->ndim < 2)
        return wb_err_set(err, WB_ESHAPE, "input: expected [n, ...] with at least 2 "
                          "dimensions, got %s", wb_shape_str(s, sizeof s, x->ndim,
                          x->shape));
    int64_t cols = 1;
    for (int i = 1; i < x->ndim; i++)
        cols *= x->shape[i];
    size_t n = wb_tensor_numel(x);
    if (x->dtype == WB_U8) {
        if (!f->buf || n > f->cap) {
            int64_t len = (int64_t)n;
            wb_tensor *b = wb_tensor_new(WB_F32, 1, &len, err);
            if (!b)
                return err ? err->code : WB_ENOMEM;
            wb_tensor_free(f->buf);
            f->buf = b;
            f->cap = n;
        }
        wb_pixels_to_f32(wb_tensor_f32(f->buf), wb_tensor_u8(x), n);
    }
    f->in_u8 = x->dtype == WB_U8;
    f->have_forward = 1;
    f->ndim = x->ndim;
    memcpy(f->shape, x->shape, sizeof f->shape);
    f->out_shape[0] = x->shape[0];
    f->out_shape[1] = cols;
    return WB_OK;
}

wb_status wb_flatten_backward(wb_flatten *f, const wb_tensor *grad_y, wb_err *err)
{
    char a[WB_SHAPE_STR_MAX], b[WB_SHAPE_STR_MAX];
    if (!f->have_forward)
        return wb_err_set(err, WB_ESTATE, "backward called before forward");
    if (grad_y->dtype != WB_F32)
        return wb_err_set(err, WB_EINVAL, "grad_output: expected a float32 tensor, "
                          "got %s", wb_dtype_name(grad_y->dtype));
    if (grad_y->ndim != 2 || grad_y->shape[0] != f->out_shape[0] ||
        grad_y->shape[1] != f->out_shape[1])
        return wb_err_set(err, WB_ESHAPE, "grad_output: expected %s (the output of the "
                          "last forward), got %s", wb_shape_str(a, sizeof a, 2,
                          f->out_shape), wb_shape_str(b, sizeof b, grad_y->ndim,
                          grad_y->shape));
    return WB_OK;
}
