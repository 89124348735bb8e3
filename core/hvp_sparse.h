/* hvp_sparse.h - the first Dense layer's products over the non-zeros of its
 * input, for core/hvp.c's float32 passes (internal to the HVP engine).
 *
 * The input a [n, I] of the first Dense carries no R (it does not depend on
 * theta), and MNIST pixels are about 80 % zeros: its products
 *   z = a W, R{z} = a V (forward and R-forward)
 *   R{dW} = a^T R{gz} (R-backward's weight gradient)
 * only need a's non-zeros. They are gathered once per chunk, when the
 * forward runs, row by row (the vector scan), then column by column
 * (compressed sparse columns: rows stay in order within a column) and by
 * pairs of neighbouring columns; every product then reads them. Pairs
 * serve a W and a V: the forward loads the two touched rows of W (or V)
 * once and adds them into each row of z that uses either, reading and
 * writing that row once (neighbouring pixels are mostly non-zero
 * together); columns serve the weight gradient: its row k is the sum over
 * column k's entries, held in one buffer row and written once. (Row by
 * row, a W or a V gathered a row of W per entry from L2 instead of storing
 * a row of z in L1: the same sums in the same order, in a tenth more
 * time.) Kernels are compiled for the baseline, AVX2 and AVX-512
 * (core/simd.h); every copy does the same operations per element in the
 * same order, so which runs never changes a result.
 */
#ifndef WB_HVP_SPARSE_H
#define WB_HVP_SPARSE_H

#include <stdint.h>

/* a [n, I] row by row: rs [n + 1] (row i's entries are ci/cv[rs[i] ..
 * rs[i + 1]), columns ascending), ci, cv [n * I cells]; and column by
 * column: start [I + 1] (column k's entries are row/val[start[k] ..
 * start[k + 1]), rows ascending), row, val [n * I cells]. NaN counts as
 * non-zero. Returns the number of non-zeros. */
int64_t wb_hvp_csc(int32_t *start, int32_t *row, float *val, int32_t *rs, int32_t *ci,
                   float *cv, const float *a, int64_t n, int64_t I);

/* The entries again by pairs of columns p = (2p, 2p + 1), p < (I + 1) / 2,
 * from the rows (rs, ci, cv: wb_hvp_csc's): pstart [3 ((I + 1) / 2) + 1]
 * delimits, for each pair, the rows where both columns
 * are non-zero (their values in pa and pb), then the rows of the first
 * alone, then of the second alone (the value in pa); rows ascending in
 * each list. prow, pa, pb: as many cells as non-zeros; tmp scratch for
 * three times as many. */
void wb_hvp_pairs(int32_t *pstart, int32_t *prow, float *pa, float *pb, int32_t *tmp,
                  const int32_t *rs, const int32_t *ci, const float *cv, int64_t n, int64_t I);

/* z [n, O] = a W from the pairs (z is overwritten; W [I, O]): z_i summed
 * from 0 over row i's non-zeros in column order, in float, as column by
 * column. */
void wb_hvp_pairs_xw(float *z, const int32_t *pstart, const int32_t *prow, const float *pa,
                     const float *pb, int64_t n, int64_t I, const float *W, int64_t O);

/* hv [I, O] (+)= a^T g for g [n, O]: row k is the sum over column k's
 * entries t of val[t] * g[row[t], :], in float, then added into hv in
 * double (with set: written, rows of columns without entries zeroed; else
 * those rows are not touched). tmp [O] scratch. */
void wb_hvp_csc_xtg(double *hv, int set, const int32_t *start, const int32_t *row,
                    const float *val, int64_t I, const float *g, int64_t O, float *tmp);

/* hv [n] += l v (when l is not 0); returns v . hv, in float over blocks of
 * at most 256 entries added in double: the product's direction times the
 * product, for Lanczos (hvp.h wb_hvp_apply_f32_dot). */
double wb_hvp_vdot(float *hv, const float *v, float l, int64_t n);

/* The same written in float32 (every row: rows of columns without entries
 * zeroed, or with skip, not written), the sums held in hv's rows; with
 * dot (else NULL), every 16 rows written, while still in cache, go
 * through wb_hvp_vdot with v (the rows' part of the direction) and L2
 * term l, its sum added into *dot. */
void wb_hvp_csc_xtg_f32(float *hv, const int32_t *start, const int32_t *row,
                        const float *val, int64_t I, const float *g, int64_t O,
                        const float *v, float l, double *dot, int skip);

#endif
