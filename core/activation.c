/* activation.c - activations: forward and derivative side by side.
 * See activation.h for the formulas. Loops are written per row with restrict
 * pointers so the compiler vectorises the ones without libm calls (linear,
 * relu, softsign, the bias add, every backward without a transcendental).
 */
#include "activation.h"

#include "alloc.h"

/* GCC 12 at -O2 uses the "very cheap" vectoriser cost model, which skips any
 * loop whose trip count is not known to be a multiple of the vector width
 * (all of ours). The "cheap" model vectorises them with a scalar epilogue. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=cheap")
#endif

#include <math.h>
#include <stddef.h>
#include <string.h>

#define SQRT1_2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794 /* 1 / sqrt(2 pi) */
#define SQRT_2_PI 0.79788456080286535588    /* sqrt(2 / pi) */
#define GELU_C 0.044715
/* SELU's constants to double precision (Klambauer et al. 2017, as torch
 * and Keras): the float32 kernels round them to the same floats as the
 * 9-digit values did, but the float64 Hessian paths read them whole */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

static const char *const names[WB_ACT_COUNT] = {
    "linear", "relu", "tanh", "softsign", "gelu", "gelu_tanh",
    "sigmoid", "elu", "selu", "swish", "softmax",
};

const char *wb_act_name(wb_act a)
{
    return (unsigned)a < WB_ACT_COUNT ? names[a] : "?";
}

wb_status wb_act_parse(const char *name, const char *what, wb_act *out, wb_err *err)
{
    if (!name) {
        *out = WB_ACT_LINEAR;
        return WB_OK;
    }
    for (int i = 0; i < WB_ACT_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (wb_act)i;
            return WB_OK;
        }
    return wb_err_set(err, WB_EINVAL, "%s: unknown '%s' (valid: linear, relu, tanh, "
                      "softsign, gelu, gelu_tanh, sigmoid, elu, selu, swish, softmax)",
                      what ? what : "activation", name);
}

/* ---------------------------------------------------------------------------
 * Forward: one row at a time; z (already holding x @ W) gets the bias, then
 * y = f(z). `F(v)` is the element formula on the float v. */

#define FORWARD_ROWS(F)                                                       \
    for (int64_t i = 0; i < rows; i++) {                                      \
        float *restrict zr = z + i * cols;                                    \
        float *restrict yr = y + i * cols;                                    \
        if (bias)                                                             \
            for (int64_t j = 0; j < cols; j++)                                \
                zr[j] += bias[j];                                             \
        for (int64_t j = 0; j < cols; j++) {                                  \
            float v = zr[j];                                                  \
            yr[j] = (F);                                                      \
        }                                                                     \
    }

static void softmax_rows(float *restrict y, float *restrict z,
                         const float *restrict bias, int64_t rows, int64_t cols)
{
    for (int64_t i = 0; i < rows; i++) {
        float *restrict zr = z + i * cols;
        float *restrict yr = y + i * cols;
        if (bias)
            for (int64_t j = 0; j < cols; j++)
                zr[j] += bias[j];
        float m = zr[0];
        for (int64_t j = 1; j < cols; j++)
            m = zr[j] > m ? zr[j] : m;
        float s = 0;
        for (int64_t j = 0; j < cols; j++) {
            yr[j] = expf(zr[j] - m);
            s += yr[j];
        }
        float inv = 1.0f / s;
        for (int64_t j = 0; j < cols; j++)
            yr[j] *= inv;
    }
}

static void linear_rows(float *y, float *restrict z, const float *restrict bias,
                        int64_t rows, int64_t cols)
{
    for (int64_t i = 0; i < rows; i++) {
        float *restrict zr = z + i * cols;
        if (bias)
            for (int64_t j = 0; j < cols; j++)
                zr[j] += bias[j];
    }
    if (y != z)
        memcpy(y, z, (size_t)(rows * cols) * sizeof *y);
}

void wb_act_forward(wb_act a, float *restrict y, float *restrict z,
                    const float *restrict bias, int64_t rows, int64_t cols)
{
    if (rows <= 0 || cols <= 0)
        return;
    switch (a) {
    case WB_ACT_LINEAR: linear_rows(y, z, bias, rows, cols); break;
    /* NaN passes through, as PyTorch's relu: "v > 0 ? v : 0" made a NaN
     * input 0, so evaluate on data holding NaN gave a finite score */
    case WB_ACT_RELU: FORWARD_ROWS(v > 0.0f || v != v ? v : 0.0f); break;
    case WB_ACT_TANH: FORWARD_ROWS(tanhf(v)); break;
    case WB_ACT_SOFTSIGN: FORWARD_ROWS(v / (fabsf(v) + 1.0f)); break;
    case WB_ACT_GELU:
        FORWARD_ROWS(0.5f * v * (1.0f + erff(v * (float)SQRT1_2)));
        break;
    case WB_ACT_GELU_TANH:
        FORWARD_ROWS(0.5f * v * (1.0f + tanhf((float)SQRT_2_PI *
                                              (v + (float)GELU_C * v * v * v))));
        break;
    case WB_ACT_SIGMOID: FORWARD_ROWS(1.0f / (1.0f + expf(-v))); break;
    case WB_ACT_ELU: FORWARD_ROWS(v > 0.0f ? v : expm1f(v)); break;
    case WB_ACT_SELU:
        FORWARD_ROWS((float)SELU_SCALE * (v > 0.0f ? v : (float)SELU_ALPHA * expm1f(v)));
        break;
    case WB_ACT_SWISH: FORWARD_ROWS(v / (1.0f + expf(-v))); break;
    case WB_ACT_SOFTMAX: softmax_rows(y, z, bias, rows, cols); break;
    default: break;
    }
}

/* ---------------------------------------------------------------------------
 * Backward: dz = dy * f'(.), element-wise over the whole [rows, cols] block
 * (contiguous), except softmax: dz = y * (dy - <dy, y>) per row. `D` is the
 * element formula using g = dy[k], v = z[k] and o = y[k]. */

#define BACKWARD_ALL(D)                                                       \
    for (size_t k = 0; k < n; k++) {                                          \
        float g = dy[k];                                                      \
        dz[k] = (D);                                                          \
    }

static void softmax_backward(float *restrict dz, const float *restrict dy,
                             const float *restrict y, int64_t rows, int64_t cols)
{
    for (int64_t i = 0; i < rows; i++) {
        const float *restrict yr = y + i * cols, *restrict gr = dy + i * cols;
        float *restrict dr = dz + i * cols;
        float dot = 0;
        for (int64_t j = 0; j < cols; j++)
            dot += gr[j] * yr[j];
        for (int64_t j = 0; j < cols; j++)
            dr[j] = yr[j] * (gr[j] - dot);
    }
}

static inline float gelu_grad(float v)
{
    /* d/dz [z Phi(z)] = Phi(z) + z phi(z) */
    return 0.5f * (1.0f + erff(v * (float)SQRT1_2)) +
           v * (float)INV_SQRT_2PI * expf(-0.5f * v * v);
}

static inline float gelu_tanh_grad(float v)
{
    float t = tanhf((float)SQRT_2_PI * (v + (float)GELU_C * v * v * v));
    float sech2 = 1.0f - t * t; /* 0 once tanh saturates: avoid 0 * inf */
    return 0.5f * (1.0f + t) + (sech2 > 0.0f ? 0.5f * v * sech2 * (float)SQRT_2_PI *
                                                   (1.0f + 3.0f * (float)GELU_C * v * v)
                                             : 0.0f);
}

static inline float swish_grad(float v)
{
    float s = 1.0f / (1.0f + expf(-v)); /* s + z s (1 - s) */
    return s * (1.0f + v * (1.0f - s));
}

void wb_act_backward(wb_act a, float *restrict dz, const float *restrict dy,
                     const float *restrict z, const float *restrict y, int64_t rows,
                     int64_t cols)
{
    if (rows <= 0 || cols <= 0)
        return;
    size_t n = (size_t)(rows * cols);
    switch (a) {
    case WB_ACT_LINEAR: memcpy(dz, dy, n * sizeof *dz); break;
    case WB_ACT_RELU: BACKWARD_ALL(y[k] > 0.0f ? g : 0.0f); break;
    case WB_ACT_TANH: BACKWARD_ALL(g * (1.0f - y[k] * y[k])); break;
    case WB_ACT_SOFTSIGN: {
        BACKWARD_ALL(g / ((1.0f + fabsf(z[k])) * (1.0f + fabsf(z[k]))));
        break;
    }
    case WB_ACT_GELU: BACKWARD_ALL(g * gelu_grad(z[k])); break;
    case WB_ACT_GELU_TANH: BACKWARD_ALL(g * gelu_tanh_grad(z[k])); break;
    case WB_ACT_SIGMOID: BACKWARD_ALL(g * y[k] * (1.0f - y[k])); break;
    case WB_ACT_ELU: BACKWARD_ALL(y[k] > 0.0f ? g : g * (y[k] + 1.0f)); break;
    case WB_ACT_SELU:
        BACKWARD_ALL(y[k] > 0.0f ? g * (float)SELU_SCALE
                                 : g * (y[k] + (float)(SELU_SCALE * SELU_ALPHA)));
        break;
    case WB_ACT_SWISH: BACKWARD_ALL(g * swish_grad(z[k])); break;
    case WB_ACT_SOFTMAX: softmax_backward(dz, dy, y, rows, cols); break;
    default: break;
    }
}

/* ---------------------------------------------------------------------------
 * The Activation layer */

wb_activation *wb_activation_new(const char *name, wb_err *err)
{
    wb_act act;
    if (wb_act_parse(name, "activation", &act, err))
        return NULL;
    wb_activation *a = wb_calloc(1, sizeof *a);
    if (!a)
        return wb_err_set(err, WB_ENOMEM, "out of memory allocating an Activation "
                          "layer"), NULL;
    a->act = act;
    return a;
}

void wb_activation_free(wb_activation *a)
{
    if (a) {
        wb_tensor_free(a->y);
        wb_tensor_free(a->dx);
        wb_free(a);
    }
}

/* Replace *buf with a flat float buffer of n elements unless it holds n. */
static wb_status ensure_flat(wb_tensor **buf, size_t *cap, size_t n, wb_err *err)
{
    if (*buf && n <= *cap)
        return WB_OK;
    int64_t s = (int64_t)n;
    wb_tensor *t = wb_tensor_new(WB_F32, 1, &s, err);
    if (!t)
        return err ? err->code : WB_ENOMEM;
    wb_tensor_free(*buf);
    *buf = t;
    *cap = n;
    return WB_OK;
}

static void rows_cols(int ndim, const int64_t *shape, size_t n, int64_t *rows,
                      int64_t *cols)
{
    *rows = ndim >= 2 ? shape[0] : 1;
    *cols = *rows > 0 ? (int64_t)(n / (size_t)*rows) : 0;
}

static wb_status check_not_own(const wb_tensor *t, const wb_tensor *buf,
                               const char *what, wb_err *err)
{
    if (buf && t->storage == buf->storage)
        return wb_err_set(err, WB_EINVAL, "%s: is this layer's own output buffer, "
                          "which the call overwrites (pass a :clone())", what);
    return WB_OK;
}

static wb_status check_like(const wb_activation *a, const wb_tensor *t,
                            const char *what, wb_err *err)
{
    char s1[WB_SHAPE_STR_MAX], s2[WB_SHAPE_STR_MAX];
    if (t->dtype != WB_F32)
        return wb_err_set(err, WB_EINVAL, "%s: expected a float32 tensor, got %s "
                          "(use :float())", what, wb_dtype_name(t->dtype));
    int same = t->ndim == a->ndim;
    for (int i = 0; same && i < a->ndim; i++)
        same = t->shape[i] == a->shape[i];
    if (!same)
        return wb_err_set(err, WB_ESHAPE, "%s: expected %s (the shape of the last "
                          "forward), got %s", what, wb_shape_str(s1, sizeof s1,
                          a->ndim, a->shape), wb_shape_str(s2, sizeof s2, t->ndim,
                          t->shape));
    return WB_OK;
}

wb_status wb_activation_forward(wb_activation *a, const wb_tensor *x, wb_err *err)
{
    if (x->dtype != WB_F32)
        return wb_err_arg(err, 2, wb_err_set(err, WB_EINVAL, "input: expected a float32 "
                          "tensor, got %s (use :float())", wb_dtype_name(x->dtype)));
    if (x->ndim < 1)
        return wb_err_arg(err, 2, wb_err_set(err, WB_ESHAPE, "input: expected at least "
                          "one dimension, got a scalar"));
    if (wb_err_arg(err, 2, check_not_own(x, a->y, "input", err)))
        return WB_EINVAL;
    size_t n = wb_tensor_numel(x);
    if (ensure_flat(&a->y, &a->cap, n, err))
        return err ? err->code : WB_ENOMEM;
    int64_t rows, cols;
    rows_cols(x->ndim, x->shape, n, &rows, &cols);
    /* bias NULL: z is only read, the cast is safe */
    wb_act_forward(a->act, wb_tensor_f32(a->y), (float *)wb_tensor_f32(x), NULL, rows,
                   cols);
    a->have_forward = 1;
    a->ndim = x->ndim;
    memcpy(a->shape, x->shape, sizeof a->shape);
    return WB_OK;
}

wb_status wb_activation_backward(wb_activation *a, const wb_tensor *x,
                                 const wb_tensor *grad_y, int need_grad_input,
                                 wb_err *err)
{
    if (!a->have_forward)
        return wb_err_set(err, WB_ESTATE, "backward called before forward");
    if (wb_err_arg(err, 2, check_like(a, x, "input", err)) ||
        wb_err_arg(err, 3, check_like(a, grad_y, "grad_output", err)) ||
        wb_err_arg(err, 2, check_not_own(x, a->dx, "input", err)) ||
        wb_err_arg(err, 3, check_not_own(grad_y, a->dx, "grad_output", err)))
        return err ? err->code : WB_ESHAPE;
    if (!need_grad_input)
        return WB_OK;
    size_t n = wb_tensor_numel(x);
    if (ensure_flat(&a->dx, &a->gcap, n, err))
        return err ? err->code : WB_ENOMEM;
    int64_t rows, cols;
    rows_cols(x->ndim, x->shape, n, &rows, &cols);
    wb_act_backward(a->act, wb_tensor_f32(a->dx), wb_tensor_f32(grad_y),
                    wb_tensor_f32(x), wb_tensor_f32(a->y), rows, cols);
    return WB_OK;
}

const wb_tensor *wb_activation_output(const wb_activation *a) { return a->y; }
const wb_tensor *wb_activation_grad_input(const wb_activation *a) { return a->dx; }

/* ---------------------------------------------------------------------------
 * Double-precision references for the tests. */

double wb_act_ref(wb_act a, double v)
{
    switch (a) {
    case WB_ACT_LINEAR: return v;
    case WB_ACT_RELU: return v > 0 || v != v ? v : 0;
    case WB_ACT_TANH: return tanh(v);
    case WB_ACT_SOFTSIGN: return v / (fabs(v) + 1);
    case WB_ACT_GELU: return 0.5 * v * (1 + erf(v * SQRT1_2));
    case WB_ACT_GELU_TANH:
        return 0.5 * v * (1 + tanh(SQRT_2_PI * (v + GELU_C * v * v * v)));
    case WB_ACT_SIGMOID: return 1 / (1 + exp(-v));
    case WB_ACT_ELU: return v > 0 ? v : expm1(v);
    case WB_ACT_SELU: return SELU_SCALE * (v > 0 ? v : SELU_ALPHA * expm1(v));
    case WB_ACT_SWISH: return v / (1 + exp(-v));
    default: return NAN;
    }
}

double wb_act_ref_grad(wb_act a, double v)
{
    switch (a) {
    case WB_ACT_LINEAR: return 1;
    case WB_ACT_RELU: return v > 0 ? 1 : 0;
    case WB_ACT_TANH: return 1 - tanh(v) * tanh(v);
    case WB_ACT_SOFTSIGN: return 1 / ((1 + fabs(v)) * (1 + fabs(v)));
    case WB_ACT_GELU: return 0.5 * (1 + erf(v * SQRT1_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
    case WB_ACT_GELU_TANH: {
        double t = tanh(SQRT_2_PI * (v + GELU_C * v * v * v));
        return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_PI * (1 + 3 * GELU_C * v * v);
    }
    case WB_ACT_SIGMOID: {
        double s = 1 / (1 + exp(-v));
        return s * (1 - s);
    }
    case WB_ACT_ELU: return v > 0 ? 1 : exp(v);
    case WB_ACT_SELU: return v > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * exp(v);
    case WB_ACT_SWISH: {
        double s = 1 / (1 + exp(-v));
        return s * (1 + v * (1 - s));
    }
    default: return NAN;
    }
}

/* f'(z) and f''(z) in double (the Hessian-vector products, core/hvp.c):
 *   tanh      1 - t^2,  -2 t (1 - t^2)           t = tanh z
 *   softsign  1/(1+|z|)^2,  -2 sign(z)/(1+|z|)^3
 *   sigmoid   s(1-s),  s(1-s)(1-2s)
 *   swish     s + z s(1-s),  s(1-s)(2 + z(1-2s))
 *   gelu      Phi + z phi,  phi (2 - z^2)
 *   gelu_tanh (1+t)/2 + z/2 (1-t^2) u',  (1-t^2)(u' + z/2 (u'' - 2 t u'^2)),
 *             u = c (z + a z^3)
 *   elu/selu  z > 0 ? (1 | scale), 0 : the exponential branch, twice
 * relu and linear have f'' = 0 (relu: f'(0) = 0, as the backward). */
void wb_act_ref_d12(wb_act a, double v, double *d1, double *d2)
{
    *d2 = 0;
    switch (a) {
    case WB_ACT_TANH: {
        double t = tanh(v);
        *d1 = 1 - t * t;
        *d2 = -2 * t * *d1;
        return;
    }
    case WB_ACT_SOFTSIGN: {
        double q = 1 / (1 + fabs(v));
        *d1 = q * q;
        *d2 = v > 0 ? -2 * q * q * q : v < 0 ? 2 * q * q * q : 0;
        return;
    }
    case WB_ACT_SIGMOID: {
        double s = 1 / (1 + exp(-v));
        *d1 = s * (1 - s);
        *d2 = *d1 * (1 - 2 * s);
        return;
    }
    case WB_ACT_SWISH: {
        double s = 1 / (1 + exp(-v));
        *d1 = s * (1 + v * (1 - s));
        *d2 = s * (1 - s) * (2 + v * (1 - 2 * s));
        return;
    }
    case WB_ACT_GELU: {
        double phi = INV_SQRT_2PI * exp(-0.5 * v * v);
        *d1 = 0.5 * (1 + erf(v * SQRT1_2)) + v * phi;
        *d2 = phi * (2 - v * v);
        return;
    }
    case WB_ACT_GELU_TANH: {
        double t = tanh(SQRT_2_PI * (v + GELU_C * v * v * v));
        double u1 = SQRT_2_PI * (1 + 3 * GELU_C * v * v), u2 = SQRT_2_PI * 6 * GELU_C * v;
        *d1 = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * u1;
        *d2 = (1 - t * t) * (u1 + 0.5 * v * (u2 - 2 * t * u1 * u1));
        return;
    }
    case WB_ACT_ELU:
        *d1 = v > 0 ? 1 : exp(v);
        *d2 = v > 0 ? 0 : exp(v);
        return;
    case WB_ACT_SELU:
        *d1 = v > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * exp(v);
        *d2 = v > 0 ? 0 : SELU_SCALE * SELU_ALPHA * exp(v);
        return;
    case WB_ACT_RELU: *d1 = v > 0 ? 1 : 0; return;
    case WB_ACT_LINEAR: *d1 = 1; return;
    default: *d1 = NAN; *d2 = NAN; return;
    }
}
