/* persample_impl.h - what persample.c shares with persample_hist.c (not
 * part of the public API). */
#ifndef WB_PERSAMPLE_IMPL_H
#define WB_PERSAMPLE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "persample.h"

/* p's doubles scratch, at least n (grown once; the old contents dropped);
 * NULL with err filled (WB_ENOMEM) when growing fails. */
double *wb_persample_dscratch(wb_persample *p, size_t n, wb_err *err);

/* p's bin edges E_b [nbins + 1] for nbins bins over [lo, hi) (persample_hist.h
 * edge: NaN until found), kept from call to call while the bins stay the
 * same: each edge is a bisection over the doubles, found once a fit, not
 * once a call. NULL with err filled (WB_ENOMEM) when growing fails. */
double *wb_persample_edges(wb_persample *p, int nbins, double lo, double hi, wb_err *err);

/* out [I, O] = (a (.) a)^T d2 for d2 [B, O] (sum_sq's and the Hessian
 * diagonal's product): from sp's non-zeros (a not read), or one GEMM with
 * a2 [B, I] scratch. Overwrites out. */
void wb_persample_a2t_d2(float *out, const float *a, const wb_persample_csr *sp,
                         const float *d2, int64_t B, int64_t I, int64_t O, float *a2);

/* One layer's part of a walk: l, its d2 [B, O] = sum_c s_ic (.) s_ic (the
 * Hessian diagonal's right factor, persample.h), the walk's a2 scratch
 * [B, widest]. A status other than WB_OK stops the walk. */
typedef wb_status (*wb_persample_layer_fn)(void *ctx, int l, const float *d2, float *a2,
                                           wb_err *err);

/* The backward walk of wb_persample_hess_diag: the softmax factor's C
 * columns per row from the last layer back to the first, fn called at each
 * layer (the last first) with its d2. kernels[l] (l >= 1; kernels or the
 * entry NULL: the layer's own weight) are the weights walked back through:
 * the fit passes its copies of theta_t, so that it need not swap them into
 * the model. *xp: `extra` floats of p's scratch for fn, after the walk's. */
wb_status wb_persample_hess_walk(wb_persample *p, int n, const wb_dense *const *layers,
                                 const float *const *kernels, int64_t B, size_t extra,
                                 float **xp, wb_persample_layer_fn fn, void *ctx, wb_err *err);

/* One layer's part of the Hessian's trace from its d2 [B, O] (as above),
 * sum_i ||a_i||^2 sum_j d2_ij plus L2's and the bias's, in double without
 * the I x O diagonal: what the trace alone sums, and tic's trace too, so
 * that hess_trace has the same bits with tic measured or not. */
double wb_persample_layer_trace(const wb_dense *d, const float *a, const wb_persample_csr *sp,
                                const float *d2, int64_t B);

#endif
