/* tensor_math.h - element-wise maths, transpose and per-dimension
 * reductions on float32 tensors, enough to write a loss by hand.
 *
 * Every function returns a NEW tensor (owned, free with wb_tensor_free) or
 * NULL with err filled (nothing changed). IEEE semantics for values: log of
 * 0 is -inf, log/sqrt of a negative number NaN, as in PyTorch and NumPy;
 * only shapes, dtypes and arguments are checked.
 */
#ifndef WB_TENSOR_MATH_H
#define WB_TENSOR_MATH_H

#include "err.h"
#include "tensor.h"

typedef enum wb_unop { WB_EXP, WB_LOG, WB_ABS, WB_SQRT, WB_SIGN } wb_unop;
/* out = f(a) element-wise; sign is -1, 0 or 1 (NaN stays NaN). */
wb_tensor *wb_tensor_unop(const wb_tensor *a, wb_unop op, wb_err *err);
/* out = a ^ p element-wise (powf). */
wb_tensor *wb_tensor_pow(const wb_tensor *a, float p, wb_err *err);
/* out = min(max(a, lo), hi); WB_EINVAL when lo > hi or either is NaN. */
wb_tensor *wb_tensor_clamp(const wb_tensor *a, float lo, float hi, wb_err *err);
/* The transpose of a 2-D tensor [m, n] -> [n, m] (a copy). */
wb_tensor *wb_tensor_transpose(const wb_tensor *a, wb_err *err);

typedef enum wb_reduce { WB_RED_SUM, WB_RED_MEAN, WB_RED_MAX, WB_RED_MIN } wb_reduce;
/* Reduction along dim (0-based) with that dim removed (PyTorch's
 * keepdim = false): [n, C] summed over dim 1 gives [n]. Sums in double.
 * WB_ERANGE for a bad dim, WB_ESHAPE for an empty dimension. */
wb_tensor *wb_tensor_reduce_dim(const wb_tensor *a, int dim, wb_reduce op, wb_err *err);

#endif
