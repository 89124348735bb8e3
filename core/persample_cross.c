/* persample_cross.c - sums of products of per-sample gradients with those of
 * a kept batch (persample.h wb_persample_pair, wb_persample_cross):
 *   proj_i += c sum_m (a_i . a2_m + 1) (dz_i . dz2_m).
 *
 * Why this shape (issue 16): at batch 32 on the baseline MLP these sums
 * went through a dense transpose of each batch (a memset of I x B floats and
 * a scatter), the sparse forward's kernel once per partner batch (32 columns
 * per pass: half a 512-bit register file idle) and an OpenBLAS sgemm per
 * B x B2 x O product, whose per-call overhead and packing copies cost more
 * than its arithmetic: a third of a plain training step. Here a pair keeps
 * the last two batches transposed side by side in one buffer (at [I, 2 half],
 * dzt [O, 2 half]), so one walk over row i's non-zeros (of a_i, and of dz_i:
 * a relu zeroes about half of a hidden layer's dz) gives its products with
 * both batches in registers, and the B x B2 products are never stored; a put
 * zeroes only the cells its half's batch wrote, not the whole half.
 */
#include "persample.h"

#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "simd.h"

#define LANES 16 /* columns per vector (a half is a multiple of it) */
#define MAXNB 8  /* vectors a walk keeps in registers: 128 columns */

struct wb_persample_pair {
    int64_t I, O, half, W; /* W = 2 half: a row of at and dzt */
    float *at;             /* [I, W]: column h half + i = a[i, k] of half h's batch */
    float *dzt;            /* [O, W]: the same for dz; zero past each batch's rows */
    int64_t rows[2];       /* 0: no batch */
    int newest;            /* the half put last */
    int32_t *iota, *didx;  /* [I] 0..I-1 (a dense row's columns), [O] */
    float *dval;           /* [O]: dz_i's non-zeros */
};

static void release(wb_persample_pair *q)
{
    wb_free(q->at);
    wb_free(q->dzt);
    wb_free(q->iota);
    wb_free(q->didx);
    wb_free(q->dval);
}

wb_persample_pair *wb_persample_pair_new(wb_err *err)
{
    wb_persample_pair *q = wb_calloc(1, sizeof *q);
    if (!q)
        return wb_err_set(err, WB_ENOMEM, "out of memory allocating a per-sample pair"), NULL;
    q->newest = 1; /* the first put goes to half 0 */
    return q;
}

void wb_persample_pair_free(wb_persample_pair *q)
{
    if (!q)
        return;
    release(q);
    wb_free(q);
}

int64_t wb_persample_pair_rows(const wb_persample_pair *q, int which)
{
    return which == 0 ? q->rows[q->newest] : q->rows[1 - q->newest];
}

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef double v8d __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

/* {---- transposing a batch into its half ---- */

/* Lane j of a 16 x 16 transpose's stage that swaps row bit b with column
 * bit b, for the rows r (bit b clear, first operand) and r + b (second):
 * LO the new row r, HI the new row r + b. */
#define LO(j, b) ((j) & (b) ? 16 + (j) - (b) : (j))
#define HI(j, b) ((j) & (b) ? 16 + (j) : (j) + (b))
#define MASK(F, b)                                                                     \
    (v16i){F(0, b), F(1, b), F(2, b), F(3, b), F(4, b), F(5, b), F(6, b), F(7, b),      \
           F(8, b), F(9, b), F(10, b), F(11, b), F(12, b), F(13, b), F(14, b), F(15, b)}
#define STAGE(b)                                                                       \
    _Pragma("GCC unroll 16") for (int r = 0; r < 16; r++) if (!(r & (b))) {            \
        v16 x = R[r], y = R[r + (b)];                                                  \
        R[r] = __builtin_shuffle(x, y, MASK(LO, b));                                   \
        R[r + (b)] = __builtin_shuffle(x, y, MASK(HI, b));                             \
    }

/* dst[k, i] (rows W apart) = src[i, k] for k < cols, i < half, src being
 * [rows, cols] and 0 for i >= rows: 16 x 16 blocks transposed in
 * registers (four stages of two-vector shuffles), so every write is a
 * whole cache line and the half needs no zeroing first (a scatter of the
 * non-zeros and the zeroing of the last batch's cost four times as much:
 * the writes went one float per line). */
WB_SIMD_BODY transpose_body(float *restrict dst, int64_t W, const float *restrict src,
                            int64_t rows, int64_t cols, int64_t half)
{
    int64_t k0 = 0;
    for (; k0 + 16 <= cols; k0 += 16)
        for (int64_t i0 = 0; i0 < half; i0 += 16) {
            v16 R[16];
#pragma GCC unroll 16
            for (int r = 0; r < 16; r++)
                R[r] = i0 + r < rows ? *(const v16 *)(src + (i0 + r) * cols + k0) : (v16){0};
            STAGE(1)
            STAGE(2)
            STAGE(4)
            STAGE(8)
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++)
                *(v16 *)(dst + (k0 + c) * W + i0) = R[c];
        }
    for (; k0 < cols; k0++)
        for (int64_t i = 0; i < half; i++)
            dst[k0 * W + i] = i < rows ? src[i * cols + k0] : 0.0f;
}
WB_SIMD_KERNEL(transpose, transpose_body,
               (float *restrict dst, int64_t W, const float *restrict src, int64_t rows,
                int64_t cols, int64_t half),
               (dst, W, src, rows, cols, half))

/* }---- */

/* Buffers for batches of up to B rows of a layer (I, O), zeroed. Of the
 * same layer's the newest batch is kept (moved to half 0, the next put
 * making it the older); of another layer's none. */
static wb_status grow(wb_persample_pair *q, int64_t B, int64_t I, int64_t O, wb_err *err)
{
    int64_t half = (B + LANES - 1) / LANES * LANES, W = 2 * half;
    if (I * W > INT32_MAX)
        return wb_err_set(err, WB_ERANGE, "per-sample pair: %lld inputs x %lld columns "
                          "exceed 2^31 cells", (long long)I, (long long)W);
    wb_persample_pair n = {.I = I, .O = O, .half = half, .W = W};
    /* aligned: a vector's 16 columns are one cache line, not two */
    n.at = wb_alloc_aligned((size_t)(I * W) * sizeof *n.at);
    n.dzt = wb_alloc_aligned((size_t)(O * W) * sizeof *n.dzt);
    n.iota = wb_malloc((size_t)I * sizeof *n.iota);
    n.didx = wb_malloc((size_t)O * sizeof *n.didx);
    n.dval = wb_malloc((size_t)O * sizeof *n.dval);
    if (!n.at || !n.dzt || !n.iota || !n.didx || !n.dval) {
        release(&n);
        return wb_err_set(err, WB_ENOMEM, "out of memory for a per-sample pair of %lld "
                          "rows x (%lld + %lld)", (long long)B, (long long)I, (long long)O);
    }
    for (int64_t k = 0; k < I; k++)
        n.iota[k] = (int32_t)k;
    int64_t keep = q->I == I && q->O == O ? q->rows[q->newest] : 0, c0 = q->newest * q->half;
    for (int64_t k = 0; k < I && keep; k++)
        memcpy(n.at + k * W, q->at + k * q->W + c0, (size_t)keep * sizeof *n.at);
    for (int64_t j = 0; j < O && keep; j++)
        memcpy(n.dzt + j * W, q->dzt + j * q->W + c0, (size_t)keep * sizeof *n.dzt);
    n.rows[0] = keep, n.newest = 0;
    release(q);
    *q = n;
    return WB_OK;
}

wb_status wb_persample_pair_put(wb_persample_pair *q, const float *a, const float *dz,
                                int64_t B, int64_t I, int64_t O, wb_err *err)
{
    if (B < 1 || I < 1 || O < 1)
        return wb_err_set(err, WB_EINVAL, "per-sample pair: %lld rows, %lld inputs, %lld "
                          "outputs (expected >= 1 each)", (long long)B, (long long)I,
                          (long long)O);
    if (I != q->I || O != q->O || B > q->half) {
        wb_status st = grow(q, B, I, O, err);
        if (st)
            return st;
    }
    int h = 1 - q->newest;
    int64_t c0 = h * q->half;
    WB_SIMD_CALL(transpose)(q->at + c0, q->W, a, B, I, q->half);
    WB_SIMD_CALL(transpose)(q->dzt + c0, q->W, dz, B, O, q->half);
    q->rows[h] = B;
    q->newest = h;
    return WB_OK;
}

/* {---- the kernel: one row against up to MAXNB vectors of columns ---- */

/* sum over 16 columns of (g + b) d, in double, in a fixed order */
static inline __attribute__((always_inline)) double block_sum(v16 g, v16 d, double b)
{
    v8f g0, g1, d0, d1;
    memcpy(&g0, &g, sizeof g0);
    memcpy(&g1, (const char *)&g + sizeof g0, sizeof g1);
    memcpy(&d0, &d, sizeof d0);
    memcpy(&d1, (const char *)&d + sizeof d0, sizeof d1);
    v8d s = (__builtin_convertvector(g0, v8d) + b) * __builtin_convertvector(d0, v8d) +
            (__builtin_convertvector(g1, v8d) + b) * __builtin_convertvector(d1, v8d);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* acc[q] += val[t] * m[idx[t], 16 q ...] for the nb vectors, in u chains
 * (t = c mod u into chain c, added up in a fixed order at the end) so that
 * the adds' latency does not bound a walk of few vectors: u nb = 8 chains
 * where nb <= 4. nb and u are constants after inlining: the loops unroll
 * and the accumulators stay in registers. */
WB_SIMD_BODY walk(v16 *restrict acc, const float *restrict m, int64_t W,
                  const int32_t *idx, const float *val, int n, int nb, int u)
{
    v16 c[8] = {{0}};
    int t = 0;
    for (; t + u <= n; t += u) {
#pragma GCC unroll 4
        for (int k = 0; k < u; k++) {
            const v16 *r = (const v16 *)(m + (int64_t)idx[t + k] * W);
            float v = val[t + k];
#pragma GCC unroll 8
            for (int q = 0; q < nb; q++)
                c[k * nb + q] += v * r[q];
        }
    }
    for (; t < n; t++) {
        const v16 *r = (const v16 *)(m + (int64_t)idx[t] * W);
        float v = val[t];
#pragma GCC unroll 8
        for (int q = 0; q < nb; q++)
            c[q] += v * r[q];
    }
#pragma GCC unroll 8
    for (int q = 0; q < nb; q++) {
        v16 s = c[q];
#pragma GCC unroll 4
        for (int k = 1; k < u; k++)
            s += c[k * nb + q];
        acc[q] = s;
    }
}

/* s[q] = sum over the 16 columns of vector q of (a_i . a2_m + b)(dz_i . dz2_m),
 * from row i's non-zeros (ia, va, na) and (id, vd, nd) and the columns'
 * rows at [., W] and dzt [., W]. Every copy does the same float and double
 * operations in the same order per column (the vector width only decides
 * which columns share a register): which copy ran never changes a result. */
WB_SIMD_BODY cross_body(double *restrict s, const float *restrict at,
                        const float *restrict dzt, int64_t W, const int32_t *ia,
                        const float *va, int na, const int32_t *id, const float *vd, int nd,
                        double b, int nb)
{
    int u = nb == 1 ? 4 : nb == 2 ? 4 : nb <= 4 ? 2 : 1;
    v16 g[8], d[8];
    walk(g, at, W, ia, va, na, nb, u);
    walk(d, dzt, W, id, vd, nd, nb, u);
#pragma GCC unroll 8
    for (int q = 0; q < nb; q++)
        s[q] = block_sum(g[q], d[q], b);
}

#define CROSS_ARGS s, at, dzt, W, ia, va, na, id, vd, nd, b
WB_SIMD_BODY cross_any(double *restrict s, const float *restrict at,
                       const float *restrict dzt, int64_t W, const int32_t *ia,
                       const float *va, int na, const int32_t *id, const float *vd, int nd,
                       double b, int nb)
{
    switch (nb) {
    case 1: cross_body(CROSS_ARGS, 1); break;
    case 2: cross_body(CROSS_ARGS, 2); break;
    case 3: cross_body(CROSS_ARGS, 3); break;
    case 4: cross_body(CROSS_ARGS, 4); break;
    case 5: cross_body(CROSS_ARGS, 5); break;
    case 6: cross_body(CROSS_ARGS, 6); break;
    case 7: cross_body(CROSS_ARGS, 7); break;
    default: cross_body(CROSS_ARGS, 8); break;
    }
}
WB_SIMD_KERNEL(cross_row, cross_any,
               (double *restrict s, const float *restrict at, const float *restrict dzt,
                int64_t W, const int32_t *ia, const float *va, int na, const int32_t *id,
                const float *vd, int nd, double b, int nb),
               (CROSS_ARGS, nb))

/* }---- */

/* The non-zeros of x [n] (NaN counts): their columns and values; how many.
 * Branch-free: a zero is written and then overwritten. */
static int nonzeros(int32_t *restrict idx, float *restrict val, const float *restrict x,
                    int64_t n)
{
    int k = 0;
    for (int64_t j = 0; j < n; j++) {
        idx[k] = (int32_t)j;
        val[k] = x[j];
        k += x[j] != 0.0f;
    }
    return k;
}

wb_status wb_persample_cross(wb_persample_pair *q, double *const proj[2], const double c[2],
                             const float *a, const wb_persample_csr *sp, const float *dz,
                             int64_t B, int64_t I, int64_t O, int bias, wb_err *err)
{
    for (int w = 0; w < 2; w++)
        if (proj[w] && wb_persample_pair_rows(q, w) < 1)
            return wb_err_set(err, WB_ESTATE, "per-sample pair: no %s batch kept",
                              w ? "older" : "newest");
    if ((proj[0] || proj[1]) && (I != q->I || O != q->O))
        return wb_err_set(err, WB_ESHAPE, "per-sample pair: kept batches of a layer %lld -> "
                          "%lld, expected %lld -> %lld", (long long)q->I, (long long)q->O,
                          (long long)I, (long long)O);
    if (!proj[0] && !proj[1])
        return WB_OK;
    /* the columns: both halves, or the one asked for */
    int hw[2] = {q->newest, 1 - q->newest}; /* the half of the newest, of the older */
    int64_t lo = 0, hi = q->W;
    if (!proj[0] || !proj[1]) {
        lo = hw[proj[0] ? 0 : 1] * q->half;
        hi = lo + q->half;
    }
    double b = bias ? 1.0 : 0.0, sb[MAXNB];
    for (int64_t i = 0; i < B; i++) {
        const int32_t *ia = sp ? sp->idx + sp->row[i] : q->iota;
        const float *va = sp ? sp->val + sp->row[i] : a + i * I;
        int na = (int)(sp ? sp->row[i + 1] - sp->row[i] : I);
        int nd = nonzeros(q->didx, q->dval, dz + i * O, O);
        double s[2] = {0, 0}; /* by half */
        for (int64_t c0 = lo; c0 < hi; c0 += MAXNB * LANES) {
            int nb = (int)((hi - c0) / LANES < MAXNB ? (hi - c0) / LANES : MAXNB);
            WB_SIMD_CALL(cross_row)(sb, q->at + c0, q->dzt + c0, q->W, ia, va, na, q->didx,
                                    q->dval, nd, b, nb);
            for (int v = 0; v < nb; v++)
                s[(c0 + v * LANES) / q->half] += sb[v];
        }
        for (int w = 0; w < 2; w++)
            if (proj[w])
                proj[w][i] += c[w] * s[hw[w]];
    }
    return WB_OK;
}
