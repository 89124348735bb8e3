/* hvp_sparse.c - the first Dense layer's products over its input's
 * non-zeros (see hvp_sparse.h). */
#include "hvp_sparse.h"

#include <string.h>

#include "dense.h"
#include "hvp_fvec.h"
#include "simd.h"

int64_t wb_hvp_csc(int32_t *start, int32_t *row, float *val, int32_t *rs, int32_t *ci,
                   float *cv, const float *a, int64_t n, int64_t I)
{
    /* row by row first (the sparse forward's vector scan), then counting-
     * sorted into columns: each pass touches the non-zeros, not the zeros
     * (a scalar scan of every entry, twice, was most of this function) */
    rs[0] = 0;
    for (int64_t i = 0; i < n; i++)
        rs[i + 1] = rs[i] + wb_dense_row_nonzeros(ci + rs[i], cv + rs[i], a + i * I, I);
    int32_t nnz = rs[n];
    memset(start, 0, (size_t)(I + 1) * sizeof *start);
    for (int32_t t = 0; t < nnz; t++)
        start[ci[t] + 1]++;
    for (int64_t k = 0; k < I; k++)
        start[k + 1] += start[k];
    /* start[k] as column k's cursor (rows arrive in order), then shifted back */
    for (int64_t i = 0; i < n; i++)
        for (int32_t t = rs[i]; t < rs[i + 1]; t++) {
            int32_t at = start[ci[t]]++;
            row[at] = (int32_t)i;
            val[at] = cv[t];
        }
    for (int64_t k = I; k > 0; k--)
        start[k] = start[k - 1];
    start[0] = 0;
    return nnz;
}

/* The kernels hold blocks of output columns in registers (GNU vector
 * extension): 128 columns as 8 x 16 floats in the AVX-512 copy (wide = 1),
 * 32 as 4 x 8 in every copy, then one at a time; per element, every copy
 * does the same multiplies and adds in the same order. */
typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef float v16 __attribute__((vector_size(64), aligned(4)));
#define BLOCK 32
#define WIDE 128

void wb_hvp_pairs(int32_t *pstart, int32_t *prow, float *pa, float *pb, int32_t *tmp,
                  const int32_t *rs, const int32_t *ci, const float *cv, int64_t n, int64_t I)
{
    int64_t np = (I + 1) / 2;
    int32_t nnz = rs[n], m = 0, *key = tmp, *head = tmp + nnz, *hrow = tmp + 2 * nnz;
    /* each list entry's list, from its neighbours in the row, with no
     * branch on the pixels and no step depending on the last (either made
     * this most of the pairs' time): key 3p, both columns of pair p; 3p +
     * 1, the first alone; 3p + 2, the second alone. The second of a pair
     * listed with the first is written and then overwritten (m stays). */
    for (int64_t i = 0; i < n; i++) {
        int32_t b = rs[i], e = rs[i + 1];
        for (int32_t t = b; t < e; t++) {
            int32_t c = ci[t], pc = ci[t > b ? t - 1 : t], nc = ci[t + 1 < e ? t + 1 : t];
            int32_t sec = (t > b) & (c & 1) & (pc == c - 1);
            int32_t first = (t + 1 < e) & !(c & 1) & (nc == c + 1);
            key[m] = 3 * (c >> 1) + (1 + (c & 1)) * !first;
            head[m] = t, hrow[m] = (int32_t)i;
            m += !sec;
        }
    }
    /* counting-sorted into the lists (rows stay in order) */
    memset(pstart, 0, (size_t)(3 * np + 1) * sizeof *pstart);
    for (int32_t q = 0; q < m; q++)
        pstart[key[q] + 1]++;
    for (int64_t k = 0; k < 3 * np; k++)
        pstart[k + 1] += pstart[k];
    for (int32_t q = 0; q < m; q++) {
        int32_t at = pstart[key[q]]++, t = head[q];
        float nb = cv[t + 1 < nnz ? t + 1 : t];
        prow[at] = hrow[q], pa[at] = cv[t];
        pb[at] = nb * (float)(key[q] % 3 == 0); /* read for both-column lists only */
    }
    for (int64_t k = 3 * np; k > 0; k--)
        pstart[k] = pstart[k - 1];
    pstart[0] = 0;
}

/* z [n, O] += a W, two columns (c, c + 1) at a time: both blocks of W's
 * rows c and c + 1 are loaded once, then each row of z that either column
 * touches is read and written once, getting (z + a w_c) + b w_{c+1} (both),
 * z + a w_c or z + a w_{c+1}: per element the adds one column at a time
 * would make, in the same order. Neighbouring pixels are mostly non-zero
 * together (MNIST at batch 32: 0.58 rows of z stored per non-zero). */
WB_SIMD_BODY scatter_body(float *restrict z, const float *restrict W, int64_t I, int64_t O,
                          const int32_t *ps, const int32_t *row, const float *pa,
                          const float *pb, int wide)
{
    for (int64_t p = 0; p < (I + 1) / 2; p++) {
        int32_t b0 = ps[3 * p], b1 = ps[3 * p + 1], b2 = ps[3 * p + 2], e = ps[3 * p + 3];
        if (e == b0)
            continue;
        const float *w = W + 2 * p * O, *x = 2 * p + 1 < I ? w + O : w;
        int64_t j0 = 0;
        for (; wide && j0 + WIDE <= O; j0 += WIDE) {
            const v16 *wr = (const v16 *)(w + j0), *xr = (const v16 *)(x + j0);
            v16 w0 = wr[0], w1 = wr[1], w2 = wr[2], w3 = wr[3];
            v16 w4 = wr[4], w5 = wr[5], w6 = wr[6], w7 = wr[7];
            v16 x0 = xr[0], x1 = xr[1], x2 = xr[2], x3 = xr[3];
            v16 x4 = xr[4], x5 = xr[5], x6 = xr[6], x7 = xr[7];
            for (int32_t t = b0; t < b1; t++) {
                v16 *zr = (v16 *)(z + (int64_t)row[t] * O + j0);
                float a = pa[t], b = pb[t];
                zr[0] = (zr[0] + a * w0) + b * x0; zr[1] = (zr[1] + a * w1) + b * x1;
                zr[2] = (zr[2] + a * w2) + b * x2; zr[3] = (zr[3] + a * w3) + b * x3;
                zr[4] = (zr[4] + a * w4) + b * x4; zr[5] = (zr[5] + a * w5) + b * x5;
                zr[6] = (zr[6] + a * w6) + b * x6; zr[7] = (zr[7] + a * w7) + b * x7;
            }
            for (int32_t t = b1; t < b2; t++) {
                v16 *zr = (v16 *)(z + (int64_t)row[t] * O + j0);
                float a = pa[t];
                zr[0] += a * w0; zr[1] += a * w1; zr[2] += a * w2; zr[3] += a * w3;
                zr[4] += a * w4; zr[5] += a * w5; zr[6] += a * w6; zr[7] += a * w7;
            }
            for (int32_t t = b2; t < e; t++) {
                v16 *zr = (v16 *)(z + (int64_t)row[t] * O + j0);
                float a = pa[t];
                zr[0] += a * x0; zr[1] += a * x1; zr[2] += a * x2; zr[3] += a * x3;
                zr[4] += a * x4; zr[5] += a * x5; zr[6] += a * x6; zr[7] += a * x7;
            }
        }
        for (; j0 + BLOCK <= O; j0 += BLOCK) {
            const v8 *wr = (const v8 *)(w + j0), *xr = (const v8 *)(x + j0);
            v8 w0 = wr[0], w1 = wr[1], w2 = wr[2], w3 = wr[3];
            v8 x0 = xr[0], x1 = xr[1], x2 = xr[2], x3 = xr[3];
            for (int32_t t = b0; t < b1; t++) {
                v8 *zr = (v8 *)(z + (int64_t)row[t] * O + j0);
                float a = pa[t], b = pb[t];
                zr[0] = (zr[0] + a * w0) + b * x0; zr[1] = (zr[1] + a * w1) + b * x1;
                zr[2] = (zr[2] + a * w2) + b * x2; zr[3] = (zr[3] + a * w3) + b * x3;
            }
            for (int32_t t = b1; t < b2; t++) {
                v8 *zr = (v8 *)(z + (int64_t)row[t] * O + j0);
                float a = pa[t];
                zr[0] += a * w0; zr[1] += a * w1; zr[2] += a * w2; zr[3] += a * w3;
            }
            for (int32_t t = b2; t < e; t++) {
                v8 *zr = (v8 *)(z + (int64_t)row[t] * O + j0);
                float a = pa[t];
                zr[0] += a * x0; zr[1] += a * x1; zr[2] += a * x2; zr[3] += a * x3;
            }
        }
        for (; j0 < O; j0++) {
            for (int32_t t = b0; t < b1; t++) {
                float *zr = z + (int64_t)row[t] * O + j0;
                *zr = (*zr + pa[t] * w[j0]) + pb[t] * x[j0];
            }
            for (int32_t t = b1; t < b2; t++)
                z[(int64_t)row[t] * O + j0] += pa[t] * w[j0];
            for (int32_t t = b2; t < e; t++)
                z[(int64_t)row[t] * O + j0] += pa[t] * x[j0];
        }
    }
}
WB_SIMD_KERNEL_W(scatter, scatter_body,
                 (float *restrict z, const float *restrict W, int64_t I, int64_t O,
                  const int32_t *ps, const int32_t *row, const float *pa, const float *pb),
                 (z, W, I, O, ps, row, pa, pb, 0), (z, W, I, O, ps, row, pa, pb, 1))

void wb_hvp_pairs_xw(float *z, const int32_t *pstart, const int32_t *prow, const float *pa,
                     const float *pb, int64_t n, int64_t I, const float *W, int64_t O)
{
    memset(z, 0, (size_t)(n * O) * sizeof *z);
    WB_SIMD_CALL(scatter)(z, W, I, O, pstart, prow, pa, pb);
}

/* hv [O] (+)= sum_t val[t] * g[row[t], :] over a column's entries: the
 * sparse forward's kernel (dense.h wb_dense_sparse_rows: the sum in float,
 * from 0, in t order) into tmp, then added (or, with set, written) in
 * double. */
void wb_hvp_csc_xtg(double *hv, int set, const int32_t *start, const int32_t *row,
                    const float *val, int64_t I, const float *g, int64_t O, float *tmp)
{
    for (int64_t c = 0; c < I; c++) {
        double *h = hv + c * O;
        if (start[c + 1] > start[c]) {
            wb_dense_sparse_rows(tmp, g, O, row + start[c], val + start[c],
                                 start[c + 1] - start[c]);
            if (set)
                for (int64_t j = 0; j < O; j++)
                    h[j] = (double)tmp[j];
            else
                for (int64_t j = 0; j < O; j++)
                    h[j] += (double)tmp[j];
        } else if (set) {
            memset(h, 0, (size_t)O * sizeof *hv);
        }
    }
}

/* hv += l v (add); *out = v . hv, in float over blocks of WB_FV_BLOCK entries
 * added in double (a float sum over 100,000 entries would lose digits;
 * over 256 it keeps what the product's own precision has) */
WB_SIMD_BODY vdot_body(float *restrict hv, const float *restrict v, float l, int64_t n,
                       int add, double *out)
{
    double d = 0;
    int64_t i = 0;
    while (i + 16 <= n) {
        v16 acc = {0};
        int64_t e = i + WB_FV_BLOCK < n ? i + WB_FV_BLOCK : n;
        for (; i + 16 <= e; i += 16) {
            v16 vv = *(const v16 *)(v + i), r = *(const v16 *)(hv + i);
            if (add) {
                r = r + l * vv;
                *(v16 *)(hv + i) = r;
            }
            acc += vv * r;
        }
        d += wb_fv_lanes(acc);
    }
    for (; i < n; i++) {
        if (add)
            hv[i] += l * v[i];
        d += (double)v[i] * (double)hv[i];
    }
    *out = d;
}
WB_SIMD_KERNEL(vdot, vdot_body,
               (float *restrict hv, const float *restrict v, float l, int64_t n, double *out),
               (hv, v, l, n, 0, out))
WB_SIMD_KERNEL(vdotl, vdot_body,
               (float *restrict hv, const float *restrict v, float l, int64_t n, double *out),
               (hv, v, l, n, 1, out))

double wb_hvp_vdot(float *hv, const float *v, float l, int64_t n)
{
    double d;
    if (l != 0)
        WB_SIMD_CALL(vdotl)(hv, v, l, n, &d);
    else
        WB_SIMD_CALL(vdot)(hv, v, l, n, &d);
    return d;
}

void wb_hvp_csc_xtg_f32(float *hv, const int32_t *start, const int32_t *row,
                        const float *val, int64_t I, const float *g, int64_t O,
                        const float *v, float l, double *dot, int skip)
{
    int64_t done = 0; /* rows before it are summed (or skipped) */
    for (int64_t c = 0; c < I; c++) {
        int empty = start[c + 1] == start[c];
        if (!empty)
            wb_dense_sparse_rows(hv + c * O, g, O, row + start[c], val + start[c],
                                 start[c + 1] - start[c]);
        else if (!skip)
            memset(hv + c * O, 0, (size_t)O * sizeof *hv);
        int64_t end = empty && skip ? c : c + 1; /* rows [done, end) to sum */
        if (dot && end > done && (end - done == 16 || end == c || c + 1 == I)) {
            *dot += wb_hvp_vdot(hv + done * O, v + done * O, l, (end - done) * O);
            done = end;
        }
        if (empty && skip)
            done = c + 1;
    }
}
