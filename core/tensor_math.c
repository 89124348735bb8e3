/* tensor_math.c - see tensor_math.h. Plain loops: these serve losses and
 * analysis written in Lua, not the training step's hot path. */
#include "tensor_math.h"

#include <math.h>

static wb_status need_f32(const wb_tensor *t, const char *what, wb_err *err)
{
    if (t->dtype != WB_F32)
        return wb_err_set(err, WB_EINVAL, "%s: expected a float32 tensor, got %s "
                          "(use :float())", what, wb_dtype_name(t->dtype));
    return WB_OK;
}

static float sign(float v)
{
    if (v > 0) return 1.0f;
    if (v < 0) return -1.0f;
    return v; /* 0, -0 and NaN as they are */
}

wb_tensor *wb_tensor_unop(const wb_tensor *a, wb_unop op, wb_err *err)
{
    static const char *names[] = {"exp", "log", "abs", "sqrt", "sign"};
    if (need_f32(a, names[op], err))
        return NULL;
    wb_tensor *c = wb_tensor_new(WB_F32, a->ndim, a->shape, err);
    if (!c)
        return NULL;
    size_t n = wb_tensor_numel(a);
    const float *x = wb_tensor_f32(a);
    float *y = wb_tensor_f32(c);
    for (size_t i = 0; i < n; i++) {
        switch (op) {
        case WB_EXP: y[i] = expf(x[i]); break;
        case WB_LOG: y[i] = logf(x[i]); break;
        case WB_ABS: y[i] = fabsf(x[i]); break;
        case WB_SQRT: y[i] = sqrtf(x[i]); break;
        case WB_SIGN: y[i] = sign(x[i]); break;
        }
    }
    return c;
}

wb_tensor *wb_tensor_pow(const wb_tensor *a, float p, wb_err *err)
{
    if (need_f32(a, "pow", err))
        return NULL;
    wb_tensor *c = wb_tensor_new(WB_F32, a->ndim, a->shape, err);
    if (!c)
        return NULL;
    size_t n = wb_tensor_numel(a);
    const float *x = wb_tensor_f32(a);
    float *y = wb_tensor_f32(c);
    for (size_t i = 0; i < n; i++)
        y[i] = p == 2.0f ? x[i] * x[i] : powf(x[i], p);
    return c;
}

wb_tensor *wb_tensor_clamp(const wb_tensor *a, float lo, float hi, wb_err *err)
{
    if (need_f32(a, "clamp", err))
        return NULL;
    if (!(lo <= hi))
        return wb_err_set(err, WB_EINVAL, "clamp: expected lo <= hi, got %g and %g",
                          (double)lo, (double)hi), NULL;
    wb_tensor *c = wb_tensor_new(WB_F32, a->ndim, a->shape, err);
    if (!c)
        return NULL;
    size_t n = wb_tensor_numel(a);
    const float *x = wb_tensor_f32(a);
    float *y = wb_tensor_f32(c);
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
    return c;
}

wb_tensor *wb_tensor_transpose(const wb_tensor *a, wb_err *err)
{
    if (need_f32(a, "t", err))
        return NULL;
    if (a->ndim != 2) {
        char s[WB_SHAPE_STR_MAX];
        return wb_err_set(err, WB_ESHAPE, "t: expected a 2-D tensor, got %s",
                          wb_shape_str(s, sizeof s, a->ndim, a->shape)), NULL;
    }
    int64_t shape[2] = {a->shape[1], a->shape[0]};
    wb_tensor *c = wb_tensor_new(WB_F32, 2, shape, err);
    if (!c)
        return NULL;
    size_t m = (size_t)a->shape[0], n = (size_t)a->shape[1];
    const float *x = wb_tensor_f32(a);
    float *y = wb_tensor_f32(c);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            y[j * m + i] = x[i * n + j];
    return c;
}

wb_tensor *wb_tensor_reduce_dim(const wb_tensor *a, int dim, wb_reduce op, wb_err *err)
{
    static const char *names[] = {"sum", "mean", "max", "min"};
    if (need_f32(a, names[op], err))
        return NULL;
    if (dim < 0 || dim >= a->ndim)
        return wb_err_set(err, WB_ERANGE, "%s: dim %d out of range 1..%d", names[op],
                          dim + 1, a->ndim), NULL;
    int64_t shape[WB_MAX_DIM];
    int nd = 0;
    size_t outer = 1, inner = 1, len = (size_t)a->shape[dim];
    for (int i = 0; i < a->ndim; i++) {
        if (i < dim) outer *= (size_t)a->shape[i];
        if (i > dim) inner *= (size_t)a->shape[i];
        if (i != dim) shape[nd++] = a->shape[i];
    }
    if (len == 0)
        return wb_err_set(err, WB_ESHAPE, "%s over an empty dimension %d", names[op],
                          dim + 1), NULL;
    wb_tensor *r = wb_tensor_new(WB_F32, nd, shape, err);
    if (!r)
        return NULL;
    const float *x = wb_tensor_f32(a);
    float *out = wb_tensor_f32(r);
    for (size_t o = 0; o < outer; o++)
        for (size_t in = 0; in < inner; in++) {
            const float *p = x + o * len * inner + in;
            double acc = p[0];
            for (size_t k = 1; k < len; k++) {
                double v = p[k * inner];
                if (op == WB_RED_MAX) acc = v > acc || v != v ? v : acc;
                else if (op == WB_RED_MIN) acc = v < acc || v != v ? v : acc;
                else acc += v;
            }
            out[o * inner + in] = (float)(op == WB_RED_MEAN ? acc / (double)len : acc);
        }
    return r;
}
