/* activation.h - element-wise activations and their derivatives.
 *
 * Each activation has a forward y = f(z) and a backward dz = dy * f'(z), side
 * by side in activation.c. Arrays are [rows, cols] row-major and contiguous;
 * only softmax is row-wise (max-subtracted), the others are element-wise.
 * The backward takes both caches of the forward, z (pre-activation) and y
 * (output), and uses whichever is cheaper: relu, tanh, sigmoid, softsign,
 * elu, selu and softmax need only y; gelu, gelu_tanh and swish need z.
 *
 * Formulas (Keras 3, keras/src/activations/activations.py):
 *   linear    z                     relu     max(z, 0) (f'(0) = 0)
 *   tanh      tanh z                softsign z / (|z| + 1)
 *   sigmoid   1 / (1 + e^-z)        swish    z * sigmoid(z)
 *   gelu      z/2 (1 + erf(z/sqrt 2))              (exact; Keras "gelu")
 *   gelu_tanh z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
 *   elu       z > 0 ? z : e^z - 1   (alpha 1)
 *   selu      scale * (z > 0 ? z : alpha (e^z - 1)), alpha 1.67326324,
 *             scale 1.05070098
 *   softmax   e^(z_j - max z) / sum_k e^(z_k - max z) per row
 * Nothing here allocates or can fail except the name lookup.
 */
#ifndef WB_ACTIVATION_H
#define WB_ACTIVATION_H

#include <stdint.h>

#include "err.h"
#include "tensor.h"

typedef enum wb_act {
    WB_ACT_LINEAR = 0,
    WB_ACT_RELU,
    WB_ACT_TANH,
    WB_ACT_SOFTSIGN,
    WB_ACT_GELU,
    WB_ACT_GELU_TANH,
    WB_ACT_SIGMOID,
    WB_ACT_ELU,
    WB_ACT_SELU,
    WB_ACT_SWISH,
    WB_ACT_SOFTMAX,
    WB_ACT_COUNT
} wb_act;

/* "relu" for WB_ACT_RELU; "?" out of range. */
const char *wb_act_name(wb_act a);
/* Name -> enum. NULL means "linear". Unknown: WB_EINVAL, "activation:
 * unknown 'x' (valid: linear, relu, ...)" with `what` in place of
 * "activation". */
wb_status wb_act_parse(const char *name, const char *what, wb_act *out,
                       wb_err *err);

/* Fused bias + activation, one pass per row after a GEMM: z[i, :] += bias
 * (when bias is not NULL; bias [cols]), then y = f(z). y and z must not
 * overlap, except that for linear y may equal z (then y is z + bias). */
void wb_act_forward(wb_act a, float *y, float *z, const float *bias,
                    int64_t rows, int64_t cols);
/* dz = dy * f'(z) for [rows, cols] given the forward's caches z and y
 * (linear: both may be NULL, dz is a copy of dy). dz overlaps nothing. */
void wb_act_backward(wb_act a, float *dz, const float *dy, const float *z,
                     const float *y, int64_t rows, int64_t cols);

/* ---------------------------------------------------------------------------
 * The Activation layer: y = f(x) for a float32 x of any shape with at least
 * one dimension; softmax runs over the last dimensions of each row of dim 1
 * (rows = shape[0], cols = numel / rows). Caches y (the input is passed
 * again to backward, where it serves as z). y and dx are flat buffers of
 * cap / gcap elements viewed with the input's shape; grown once, reused. */
typedef struct wb_activation {
    wb_act act;
    int have_forward;
    int ndim;                  /* the last forward's input shape */
    int64_t shape[WB_MAX_DIM];
    size_t cap, gcap;
    wb_tensor *y, *dx;         /* [cap], [gcap] flat */
} wb_activation;

/* NULL name: linear. Unknown name: WB_EINVAL listing the valid names. */
wb_activation *wb_activation_new(const char *name, wb_err *err);
void wb_activation_free(wb_activation *a);
wb_status wb_activation_forward(wb_activation *a, const wb_tensor *x, wb_err *err);
/* dx = dy * f'(x): x and grad_y must have the last forward's shape;
 * WB_ESTATE before any forward. Nothing is computed without need_grad_input. */
wb_status wb_activation_backward(wb_activation *a, const wb_tensor *x,
                                 const wb_tensor *grad_y, int need_grad_input,
                                 wb_err *err);
const wb_tensor *wb_activation_output(const wb_activation *a);     /* [cap] */
const wb_tensor *wb_activation_grad_input(const wb_activation *a); /* [gcap] */

/* Scalar references in double (tests): f(z) and f'(z); softmax excluded. */
double wb_act_ref(wb_act a, double z);
double wb_act_ref_grad(wb_act a, double z);
/* f'(z) and f''(z) in double, the second derivatives of the Hessian-vector
 * products (core/hvp.c); softmax excluded (NaN). */
void wb_act_ref_d12(wb_act a, double z, double *d1, double *d2);

#endif
