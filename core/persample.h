/* persample.h - per-sample gradient statistics of Dense layers, without a
 * B x P tensor of per-sample gradients.
 *
 * Legend: B = rows of the batch, I = n_in, O = n_out, s = scale. For a Dense
 * layer with input rows a_i [I] and dz_i [O] = dL/dz_i of a batch-mean loss
 * L = (1/B) sum_i l_i (Keras reduction), row i's own gradient is
 *   kernel  g_i = s a_i dz_i^T  [I, O]     bias  s dz_i  [O]      (s = B)
 * so, with d_i = s dz_i,
 *   ||g_i||^2        = (||a_i||^2 + 1) ||d_i||^2           (+1: the bias)
 *   g_i . g_j        = (a_i . a_j + 1) (d_i . d_j)          two B x B products
 *   sum_i g_i (.) g_i = (a (.) a)^T (d (.) d), colsum(d (.) d) one I x O product
 *   g_i . v          = a_i^T V d_i + d_i . v_b              one B x O product
 * (Dangel, Kunstner, Hennig, BackPACK, ICLR 2020, sec. 2 and appendix A: the
 * same identities, used there for the batch L2 norms and dot products).
 * The +1 terms are absent when the layer has no bias (bias = 0).
 *
 * A wb_persample holds scratch buffers grown to the largest B seen (once);
 * later calls with that B or fewer allocate nothing. Results ACCUMULATE
 * (+=) over layers where documented: the caller zeroes them once per batch.
 * Inputs are trusted to have the shapes given (the binding checks them).
 */
#ifndef WB_PERSAMPLE_H
#define WB_PERSAMPLE_H

#include <stdint.h>

#include "dense.h"
#include "err.h"

typedef struct wb_persample wb_persample;

/* The non-zeros of a [B, I] row by row (a Dense layer keeps them from its
 * forward, dense.h sp_*): row i's are idx/val[row[i] .. row[i+1]). Where a
 * function takes `sp`, NULL means "read a" and otherwise a is not read:
 * the products then skip the zeros (MNIST pixels are about 80 % zeros). */
typedef struct wb_persample_csr {
    const int64_t *row;
    const int32_t *idx;
    const float *val;
} wb_persample_csr;

wb_persample *wb_persample_new(wb_err *err);
void wb_persample_free(wb_persample *p);

/* sq [B] += ||g_i||^2 of this layer's parameters (no scratch). */
void wb_persample_norms(double *sq, const float *a, const wb_persample_csr *sp,
                        const float *dz, int64_t B, int64_t I, int64_t O, int bias,
                        double scale);

/* gram [B, B] += g_i . g_j of this layer. WB_ENOMEM growing scratch. */
wb_status wb_persample_gram(wb_persample *p, double *gram, const float *a,
                            const float *dz, int64_t B, int64_t I, int64_t O,
                            int bias, double scale, wb_err *err);

/* A pair keeps a layer's last two batches (input rows a2_m and dz2_m) for
 * wb_persample_cross: transposed side by side, at [I, 2 H] and dzt [O, 2 H]
 * with H = B rounded up to 16, so that one walk over a row's non-zeros
 * meets both batches (persample_cross.c). Storage is grown at a put with
 * more rows than H (the batches kept) or another I or O (dropped); puts of
 * that many rows or fewer allocate nothing. */
typedef struct wb_persample_pair wb_persample_pair;

wb_persample_pair *wb_persample_pair_new(wb_err *err);
void wb_persample_pair_free(wb_persample_pair *q);

/* Keep the batch (a [B, I], dz [B, O]) as the pair's newest; the newest
 * so far becomes the older, the older is dropped (its half overwritten
 * whole, in 16 x 16 blocks: no zeroing first). a is read densely, zeros and
 * all. Errors: B, I or O < 1 (WB_EINVAL), WB_ENOMEM or WB_ERANGE (I * 2 H
 * >= 2^31) growing. */
wb_status wb_persample_pair_put(wb_persample_pair *q, const float *a, const float *dz,
                                int64_t B, int64_t I, int64_t O, wb_err *err);

/* Rows of the newest (which 0) or the older (1) kept batch; 0: none. */
int64_t wb_persample_pair_rows(const wb_persample_pair *q, int which);

/* proj[w] [B] += c[w] * sum_m g_i . g2_m over the rows m of the pair's
 * newest (w = 0) or older (w = 1) batch, for each w with proj[w] not NULL,
 * c[w] including both batches' scales and any factor:
 *   (a_i . a2_m + 1) (dz_i . dz2_m) per pair of rows (+1: bias).
 * With this batch put as the newest and c = s^2 / B it is g_i . g, the
 * projection on the mean gradient; with the last batch, on its mean
 * gradient. The a_i . a2_m are walked over the rows' non-zeros (of a_i or
 * its sp) against the kept columns 16 at a time, all rows per block (the
 * block's lines stay in the level-1 cache), then each row's dz_i . dz2_m
 * over dz_i's non-zeros, the products in registers. self = 1 says the
 * rows are the newest batch (put just before): its terms are then
 * symmetric and each is walked once, not twice. Errors: another I or O than the pair's
 * (WB_ESHAPE), no batch kept where asked for (WB_ESTATE), self with
 * another number of rows than the newest batch's (WB_EINVAL). */
wb_status wb_persample_cross(wb_persample_pair *q, double *const proj[2], const double c[2],
                             const float *a, const wb_persample_csr *sp, const float *dz,
                             int64_t B, int64_t I, int64_t O, int bias, int self,
                             wb_err *err);

/* *sum = Cockpit's GSNR terms of one Dense layer summed over its entries,
 * m^2 / (v + eps) with m = (1/B) sum_i g_i and v = max((1/B) sum_i g_i^2 -
 * m^2, 0), g_i = scale a_i dz_i^T (bias: scale dz_i): from float32 sums
 * of the same per-sample products, and, for an entry whose variance is
 * under a tenth of its second moment, or whose float32 sums overflowed
 * (inf or NaN: entries past about 1.8e19), from its B products in double.
 * Why: the float32 sums round by about 1e-7 of the second moment, which
 * against eps = 1e-5 moved a term whose g_i are all equal (v = 0) by up to
 * 1e-3, either way; an overflowed one made the term a silent 0.
 * WB_ENOMEM growing scratch. */
wb_status wb_persample_gsnr_layer(wb_persample *p, double *sum, const float *a,
                                  const wb_persample_csr *sp, const float *dz, int64_t B,
                                  int64_t I, int64_t O, int bias, double scale, double eps,
                                  wb_err *err);

/* sq_w [I, O] = sum_i (g_i)^2 of the kernel, sq_b [O] that of the bias
 * (NULL: none): overwritten, not accumulated. WB_ENOMEM growing scratch. */
wb_status wb_persample_sum_sq(wb_persample *p, float *sq_w, float *sq_b,
                              const float *a, const wb_persample_csr *sp,
                              const float *dz, int64_t B, int64_t I, int64_t O,
                              double scale, wb_err *err);

/* proj [B] += g_i . v for v = (v_w [I, O], v_b [O] or NULL): one vector of
 * wb_persample_dots. */
wb_status wb_persample_dot(wb_persample *p, double *proj, const float *a,
                           const wb_persample_csr *sp, const float *dz, int64_t B,
                           int64_t I, int64_t O, const float *v_w, const float *v_b,
                           double scale, wb_err *err);

/* proj[q] [B] += g_i . v_q for nv (1 to 3) vectors v_q = (v_w[q] [I, O],
 * v_b[q] [O] or NULL): a_i^T V_q from the non-zeros, for a wide layer
 * from 32 rows on 16 columns of V_q at a time (copied at the inputs the
 * batch uses), else by the sparse forward's kernel (dense.h
 * wb_dense_sparse_rows); without non-zeros one GEMM per vector.
 * Errors: WB_EINVAL for another nv, WB_ENOMEM growing scratch. */
wb_status wb_persample_dots(wb_persample *p, double *const *proj, int nv, const float *a,
                            const wb_persample_csr *sp, const float *dz, int64_t B,
                            int64_t I, int64_t O, const float *const *v_w,
                            const float *const *v_b, double scale, wb_err *err);

/* hist [nbins] += the per-sample gradient entries of this layer (B * (I + 1)
 * * O numbers, the bias's included when bias) counted in nbins equal bins
 * over [lo, hi); entries outside go to the first or last bin, NaN to the
 * first. Exact: the counts of the entries (s a_ik) * dz_ij computed in
 * double one by one (a zero input's entries are 0), without visiting them
 * (persample_hist.c): for a finite dz_ij the entries are monotone in
 * a_ik, so an output whose smallest and largest entries share a bin takes
 * O(1), and another one count per bin edge it spans: of the row's
 * non-zero inputs whose entries reach the edge, from a table of the
 * row's inputs by key when they are 8-bit pixels (at most 255 floats, one
 * a key; the boundary keys of all the row's (output, edge) pairs guessed
 * and checked in one vector loop), else, for an output spanning 2 to 32
 * bins, by each entry's bin in byte counters held in vector lanes, or by
 * a grouping of the row (no sort). A non-finite input or dz_ij is counted
 * one by one.
 * WB_ENOMEM growing scratch. */
wb_status wb_persample_hist(wb_persample *p, double *hist, int nbins, double lo,
                            double hi, const float *a, const wb_persample_csr *sp,
                            const float *dz, int64_t B, int64_t I, int64_t O, int bias,
                            double scale, wb_err *err);

/* hist [nx ny] += the 2-D histogram (Cockpit's GradHist2d) of this layer's
 * per-sample gradient entries x, as wb_persample_hist's (a zero input's
 * are 0), against their parameter's value y: the kernel's w [I, O] (W_kj
 * for entry (k, j)) and, when bias is not NULL, the bias's bias [O]; bin
 * (bx, by) at hist [bx ny + by], nx equal bins over [xlo, xhi) and ny over
 * [ylo, yhi), outside into the end bins, NaN into the first. Exact, and
 * without binning the entries one by one (persample_hist2d.c): every entry
 * starts in x's bin of 0 and only those of non-zero inputs move; an output
 * whose entries share an x bin moves its counts by y bin, found for all
 * outputs at once from the inputs' rows of the kernel's y bins, and one
 * whose entries span x bins (64 outputs or more) moves them by runs of one
 * x bin along the row's inputs sorted by value.
 * WB_EINVAL for bins other than nx >= 1, 1 <= ny <= 255 or lo < hi (finite),
 * WB_ERANGE for more than 2^29 bins; WB_ENOMEM growing scratch. */
wb_status wb_persample_hist2d(wb_persample *p, double *hist, int nx, double xlo, double xhi,
                              int ny, double ylo, double yhi, const float *a,
                              const wb_persample_csr *sp, const float *dz, const float *w,
                              const float *bias, int64_t B, int64_t I, int64_t O, double scale,
                              wb_err *err);

/* The exact diagonal of the Hessian of the mean softmax cross-entropy over
 * B rows for a chain of n Dense layers (layer l's output is layer l+1's
 * input inputs[l + 1]; layers before the last relu or linear, the last's
 * pre-activation z its logits), at the weights and forward state the
 * layers hold now, L2 included: diag_w[l] [I, O] and diag_b[l] [O] (NULL
 * when the layer has no bias), overwritten, and their sum, the Hessian's
 * trace, into *trace (summed in double). With piecewise-linear
 * activations (f'' = 0 almost everywhere) the Hessian equals the
 * generalised Gauss-Newton matrix J^T H_z J, whose diagonal is
 *   diag(W) = sum_i sum_c (a_i (.) a_i) (x) (s_ic (.) s_ic)
 * with s_ic = column c of a symmetric factor of row i's softmax Hessian
 * (diag(p) - p p^T = S S^T, S = diag(sqrt p) - p sqrt(p)^T, over B for
 * the mean) backpropagated to the layer's output: C backward columns per
 * row, as matrix products (Dangel et al., BackPACK, DiagGGNExact).
 * With diag_w (and diag_b) NULL only the trace is computed, as
 * sum_i ||a_i||^2 sum_j (d2)_ij per layer (d2 = sum_c s_ic (.) s_ic),
 * without the I x O product (the trace instruments need no more).
 * kernels (NULL, or NULL entries: the layers' own weights) gives the
 * weights [I, O] of layers 1 .. n - 1 (0-based; the first layer's is never
 * read) at which the diagonal is taken, with the forward state the layers
 * hold: the fit instruments pass their copies of theta_t, not swapping
 * them into the model.
 * Errors: WB_EINVAL for another activation (naming the layer, 1-based) or
 * a layer's n_in not the width before it; WB_ENOMEM growing scratch. */
wb_status wb_persample_hess_diag(wb_persample *p, int n, const wb_dense *const *layers,
                                 const float *const *inputs,
                                 const wb_persample_csr *const *sps,
                                 const float *const *kernels, int64_t B,
                                 float *const *diag_w, float *const *diag_b,
                                 double *trace, wb_err *err);

/* Cockpit's TICDiag for the same chain: *tic = sum over the parameters of
 * (S / B) / (H + eps), S = sum_i g_i^2 (wb_persample_sum_sq's, at scale,
 * from each layer's kept dL/dz, dz_n == B) and H the diagonal
 * (wb_persample_hess_diag's, at kernels), each parameter tensor's sum
 * added in the order of the layers, kernel before bias; *trace: the
 * diagonal's sum. The same values as those calls and
 * wb_persample_tic_diag on their outputs, without their [I, O] outputs: a
 * sparse layer's S and H are summed input by input (column of a) in
 * registers, over the inputs some row has (the others' terms are 0), one
 * walk of the non-zeros for both. Errors: hess_diag's; WB_ESTATE for a
 * layer without a kept dL/dz of B rows. */
wb_status wb_persample_tic(wb_persample *p, int n, const wb_dense *const *layers,
                           const float *const *inputs, const wb_persample_csr *const *sps,
                           const float *const *kernels, int64_t B, double scale, double eps,
                           double *tic, double *trace, wb_err *err);

/* loss [B] = each row's softmax cross-entropy from logits z [B, C] and
 * class ids y [B] (uint8). Errors: a label >= C (WB_ERANGE, naming its
 * row, 1-based). */
wb_status wb_persample_ce(double *loss, const float *z, const uint8_t *y, int64_t B,
                          int64_t C, wb_err *err);

/* Vector helpers of the instruments, in double over float data (n >= 0):
 * sum (a - b)^2 (b NULL: sum a^2). */
double wb_persample_sqdist(const float *a, const float *b, int64_t n);
/* sum (r_k + b_k) d_k (b NULL: sum r_k d_k) in double, vectorised: a
 * projection's last step, (a_i^T V + v_b) . dz_i. */
double wb_persample_rowdot(const float *r, const float *b, const float *d, int64_t n);
/* Cockpit's TICDiag term summed over n entries: sum (S_k / B) / (D_k +
 * eps), S the sum of squared per-sample gradients, D the Hessian diagonal
 * (wb_persample_hess_diag's), in double; NaN where a D_k is inf (a float32
 * sum that overflowed: its term was a silent 0), as in wb_persample_tic. */
double wb_persample_tic_diag(const float *S, const float *D, int64_t n, double B, double eps);

/* The parameter sums of a step's instruments in one pass over a tensor of
 * n entries (g its batch gradient, theta = theta_{t+1} after the step,
 * theta_t before it or NULL for theta + back g (plain SGD's step back),
 * theta0 at the start of training or NULL, c = 2 l2 of its L2 term or 0):
 * s[0] = sum g^2, s[1] = sum (g - c theta_t)^2 (the mean per-sample
 * gradient's), s[2] = sum (theta_t - theta0)^2 (0 without theta0), s[3] =
 * sum (theta - theta_t)^2; and dir = theta - theta_t when dir and theta_t
 * are not NULL. Overwrites s. One pass instead of five: the baseline's
 * tensors are larger than the cache, so the sums cost what they read. */
void wb_persample_params(double s[4], const float *g, const float *theta,
                         const float *theta_t, const float *theta0, float *dir, double c,
                         double back, int64_t n);

#endif
