/* dropout.c - inverted dropout with a reusable mask. See dropout.h. */
#include "dropout.h"

#include <math.h>
#include <string.h>

#include "alloc.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=cheap") /* see activation.c */
#endif

wb_dropout *wb_dropout_new(double rate, wb_err *err)
{
    if (!(rate >= 0.0 && rate < 1.0))
        return wb_err_set(err, WB_EINVAL, "rate: expected a number in [0, 1), got %g",
                          rate), NULL;
    wb_dropout *d = wb_calloc(1, sizeof *d);
    if (!d)
        return wb_err_set(err, WB_ENOMEM, "out of memory allocating a Dropout layer"),
               NULL;
    d->rate = rate;
    return d;
}

void wb_dropout_free(wb_dropout *d)
{
    if (!d)
        return;
    wb_tensor_free(d->y);
    wb_tensor_free(d->mask);
    wb_tensor_free(d->dx);
    wb_free(d);
}

static wb_tensor *flat_new(size_t n, wb_err *err)
{
    int64_t s = (int64_t)n;
    return wb_tensor_new(WB_F32, 1, &s, err);
}

/* mask[k] = scale with probability 1 - rate, else 0. One 64-bit draw gives
 * two 32-bit uniforms u; an element is dropped when u < rate * 2^32. */
static void draw_mask(float *restrict mask, size_t n, double rate, wb_rng *rng)
{
    uint64_t thr = (uint64_t)(rate * 4294967296.0);
    float scale = (float)(1.0 / (1.0 - rate));
    size_t k = 0;
    for (; k + 1 < n; k += 2) {
        uint64_t r = wb_rng_next(rng);
        mask[k] = (r & 0xffffffffu) >= thr ? scale : 0.0f;
        mask[k + 1] = (r >> 32) >= thr ? scale : 0.0f;
    }
    if (k < n)
        mask[k] = (wb_rng_next(rng) & 0xffffffffu) >= thr ? scale : 0.0f;
}

wb_status wb_dropout_forward(wb_dropout *d, const wb_tensor *x, int training,
                             wb_rng *rng, wb_err *err)
{
    if (x->dtype != WB_F32)
        return wb_err_set(err, WB_EINVAL, "input: expected a float32 tensor, got %s "
                          "(use :float())", wb_dtype_name(x->dtype));
    if (d->y && x->storage == d->y->storage)
        return wb_err_set(err, WB_EINVAL, "input: is this layer's own output buffer, "
                          "which the call overwrites (pass a :clone())");
    size_t n = wb_tensor_numel(x);
    int masked = training && d->rate > 0;
    if (masked && (n > d->cap || !d->y)) {
        wb_tensor *ny = flat_new(n, err), *nm = ny ? flat_new(n, err) : NULL;
        if (!nm) {
            wb_tensor_free(ny);
            return err ? err->code : WB_ENOMEM;
        }
        wb_tensor_free(d->y);
        wb_tensor_free(d->mask);
        d->y = ny;
        d->mask = nm;
        d->cap = n;
    }
    if (masked) {
        float *restrict m = wb_tensor_f32(d->mask), *restrict y = wb_tensor_f32(d->y);
        const float *restrict xs = wb_tensor_f32(x);
        draw_mask(m, n, d->rate, rng);
        for (size_t k = 0; k < n; k++)
            y[k] = xs[k] * m[k];
    }
    d->masked = masked;
    d->have_forward = 1;
    d->ndim = x->ndim;
    memcpy(d->shape, x->shape, sizeof d->shape);
    return WB_OK;
}

wb_status wb_dropout_backward(wb_dropout *d, const wb_tensor *grad_y,
                              int need_grad_input, wb_err *err)
{
    if (!d->have_forward)
        return wb_err_set(err, WB_ESTATE, "backward called before forward");
    if (grad_y->dtype != WB_F32)
        return wb_err_set(err, WB_EINVAL, "grad_output: expected a float32 tensor, "
                          "got %s", wb_dtype_name(grad_y->dtype));
    int same = grad_y->ndim == d->ndim;
    for (int i = 0; same && i < d->ndim; i++)
        same = grad_y->shape[i] == d->shape[i];
    if (!same) {
        char a[WB_SHAPE_STR_MAX], b[WB_SHAPE_STR_MAX];
        return wb_err_set(err, WB_ESHAPE, "grad_output: expected %s (the shape of the "
                          "last forward), got %s", wb_shape_str(a, sizeof a, d->ndim,
                          d->shape), wb_shape_str(b, sizeof b, grad_y->ndim,
                          grad_y->shape));
    }
    if (d->dx && grad_y->storage == d->dx->storage)
        return wb_err_set(err, WB_EINVAL, "grad_output: is this layer's own output "
                          "buffer, which the call overwrites (pass a :clone())");
    if (!d->masked || !need_grad_input)
        return WB_OK;
    size_t n = wb_tensor_numel(grad_y);
    if (n > d->gcap || !d->dx) {
        wb_tensor *ndx = flat_new(d->cap, err);
        if (!ndx)
            return err ? err->code : WB_ENOMEM;
        wb_tensor_free(d->dx);
        d->dx = ndx;
        d->gcap = d->cap;
    }
    float *restrict dx = wb_tensor_f32(d->dx);
    const float *restrict dy = wb_tensor_f32(grad_y), *restrict m = wb_tensor_f32(d->mask);
    for (size_t k = 0; k < n; k++)
        dx[k] = dy[k] * m[k];
    return WB_OK;
}

const wb_tensor *wb_dropout_output(const wb_dropout *d) { return d->y; }
const wb_tensor *wb_dropout_grad_input(const wb_dropout *d) { return d->dx; }
