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
 * transposes its batch into the older half in register blocks, overwriting
 * it whole (no memset, no scatter). What is left is the walks' arithmetic,
 * (nnz(a_i) + nnz(dz_i)) (B + B2) multiplies and adds per row. at is kept
 * as blocks of 16 columns ([W / 16][I][16], a row's 16 one cache line), and
 * the a_i . a2_m are walked a block at a time for all the rows (walk_a):
 * the lines of a block that the batch uses stay in the level-1 cache,
 * where walking all of a row's columns per non-zero took at's rows from
 * level 2 (at 784 inputs and batch 32 the call is 1.3 times faster: 21 ->
 * 16 us; batch 64 1.2 times, batch 16 the same). Tried without gain
 * (issue 16): passes over ranges of inputs so that their rows of at stay
 * in the level-1 cache (a call per row and range cost what the cache
 * saved), prefetching the rows of at (slower), FMA (-ffp-contract=fast:
 * 2 %).
 */
#include "persample.h"
#include "persample_impl.h"

#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "simd.h"

#define LANES 16 /* columns per block (a half is a multiple of it) */

struct wb_persample_pair {
    int64_t I, O, half, W; /* W = 2 half columns: both halves' batches */
    float *at;             /* [W / 16][I][16]: column c = h half + i of input k, a[i, k]
                            * of half h's batch, at (c / 16) 16 I + 16 k + c % 16 */
    float *dzt;            /* [O, W]: column h half + i of row j, dz[i, j] (both zero
                            * past each batch's rows) */
    int64_t rows[2];       /* 0: no batch */
    int newest;            /* the half put last */
    int32_t *iota, *didx;  /* [I] 0..I-1 (a dense row's columns), [O] */
    float *dval;           /* [O]: dz_i's non-zeros */
    float *g;              /* [half, W]: row i % half, column m: a_i . a2_m (walk_a) */
    double *sb;            /* [W]: a row's terms, per column */
    double *col, *own;     /* [half]: the symmetric terms (see cross) */
};

static void release(wb_persample_pair *q)
{
    wb_free(q->at);
    wb_free(q->dzt);
    wb_free(q->iota);
    wb_free(q->didx);
    wb_free(q->dval);
    wb_free(q->g);
    wb_free(q->sb);
    wb_free(q->col);
    wb_free(q->own);
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
typedef int32_t v8i __attribute__((vector_size(32)));

/* {---- transposing a batch into its half ---- */

/* Lane j of an n x n transpose's stage that swaps row bit b with column
 * bit b, for the rows r (bit b clear, first operand) and r + b (second):
 * LO the new row r, HI the new row r + b. */
#define LO(n, j, b) ((j) & (b) ? (n) + (j) - (b) : (j))
#define HI(n, j, b) ((j) & (b) ? (n) + (j) : (j) + (b))
#define MASK8(F, b) (v8i){F(8, 0, b), F(8, 1, b), F(8, 2, b), F(8, 3, b),               \
                          F(8, 4, b), F(8, 5, b), F(8, 6, b), F(8, 7, b)}
#define MASK16(F, b)                                                                   \
    (v16i){F(16, 0, b), F(16, 1, b), F(16, 2, b), F(16, 3, b), F(16, 4, b), F(16, 5, b), \
           F(16, 6, b), F(16, 7, b), F(16, 8, b), F(16, 9, b), F(16, 10, b), F(16, 11, b), \
           F(16, 12, b), F(16, 13, b), F(16, 14, b), F(16, 15, b)}
#define STAGE(VT, n, b)                                                                \
    _Pragma("GCC unroll 16") for (int r = 0; r < (n); r++) if (!(r & (b))) {           \
        VT x = R[r], y = R[r + (b)];                                                   \
        R[r] = __builtin_shuffle(x, y, MASK##n(LO, b));                                \
        R[r + (b)] = __builtin_shuffle(x, y, MASK##n(HI, b));                          \
    }
/* the n x n block at (i0, k0) of src into dst at (k0, i0) */
#define BLOCK(VT, n, ...)                                                              \
    do {                                                                               \
        VT R[n];                                                                       \
        _Pragma("GCC unroll 16") for (int r = 0; r < (n); r++)                         \
            R[r] = i0 + r < rows ? *(const VT *)(src + (i0 + r) * cols + k0) : (VT){0}; \
        __VA_ARGS__                                                                    \
        _Pragma("GCC unroll 16") for (int c = 0; c < (n); c++)                         \
            *(VT *)(dst + (k0 + c) * rs + i0 / 16 * bs + i0 % 16) = R[c];              \
    } while (0)

/* dst[k rs + i / 16 bs + i % 16] = src[i, k] for k < cols, i < half, src
 * being [rows, cols] and 0 for i >= rows (rs = W, bs = 16: rows of W
 * columns; rs = 16, bs = 16 I: blocks of 16 columns): blocks transposed in
 * registers (stages of two-vector shuffles; 16 x 16 in the AVX-512 copy,
 * wide, else 8 x 8), so every write is a whole vector and the half needs
 * no zeroing first (a scatter of the non-zeros and the zeroing of the last
 * batch's cost four times as much: the writes went one float per line). */
WB_SIMD_BODY transpose_body(float *restrict dst, int64_t rs, int64_t bs,
                            const float *restrict src, int64_t rows, int64_t cols,
                            int64_t half, int wide)
{
    int64_t k0 = 0;
    for (; wide && k0 + 16 <= cols; k0 += 16)
        for (int64_t i0 = 0; i0 < half; i0 += 16)
            BLOCK(v16, 16, STAGE(v16, 16, 1) STAGE(v16, 16, 2) STAGE(v16, 16, 4)
                  STAGE(v16, 16, 8));
    for (; !wide && k0 + 8 <= cols; k0 += 8)
        for (int64_t i0 = 0; i0 < half; i0 += 8)
            BLOCK(v8f, 8, STAGE(v8f, 8, 1) STAGE(v8f, 8, 2) STAGE(v8f, 8, 4));
    for (; k0 < cols; k0++)
        for (int64_t i = 0; i < half; i++)
            dst[k0 * rs + i / 16 * bs + i % 16] = i < rows ? src[i * cols + k0] : 0.0f;
}
WB_SIMD_KERNEL_W(transpose, transpose_body,
                 (float *restrict dst, int64_t rs, int64_t bs, const float *restrict src,
                  int64_t rows, int64_t cols, int64_t half),
                 (dst, rs, bs, src, rows, cols, half, 0),
                 (dst, rs, bs, src, rows, cols, half, 1))

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
    n.g = wb_alloc_aligned((size_t)(half * W) * sizeof *n.g);
    n.sb = wb_malloc((size_t)W * sizeof *n.sb);
    n.col = wb_malloc((size_t)half * sizeof *n.col);
    n.own = wb_malloc((size_t)half * sizeof *n.own);
    if (!n.at || !n.dzt || !n.iota || !n.didx || !n.dval || !n.g || !n.sb || !n.col ||
        !n.own) {
        release(&n);
        return wb_err_set(err, WB_ENOMEM, "out of memory for a per-sample pair of %lld "
                          "rows x (%lld + %lld)", (long long)B, (long long)I, (long long)O);
    }
    for (int64_t k = 0; k < I; k++)
        n.iota[k] = (int32_t)k;
    int64_t keep = q->I == I && q->O == O ? q->rows[q->newest] : 0, c0 = q->newest * q->half;
    if (keep) /* the half's blocks, whole (zero past its rows) */
        memcpy(n.at, q->at + c0 * I, (size_t)(q->half * I) * sizeof *n.at);
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
    WB_SIMD_CALL(transpose)(q->at + c0 * I, LANES, LANES * I, a, B, I, q->half);
    WB_SIMD_CALL(transpose)(q->dzt + c0, q->W, LANES, dz, B, O, q->half);
    q->rows[h] = B;
    q->newest = h;
    return WB_OK;
}

/* {---- the kernel: one row against the kept columns ---- */

/* t[0..16) = (g + b) d in double for 16 columns (lanes 0-7 in g0, d0, 8-15
 * in g1, d1) */
static inline __attribute__((always_inline)) void lanes(double *t, v8f g0, v8f g1, v8f d0,
                                                        v8f d1, double b)
{
    v8d t0 = (__builtin_convertvector(g0, v8d) + b) * __builtin_convertvector(d0, v8d);
    v8d t1 = (__builtin_convertvector(g1, v8d) + b) * __builtin_convertvector(d1, v8d);
    memcpy(t, &t0, sizeof t0);
    memcpy(t + 8, &t1, sizeof t1);
}

static inline __attribute__((always_inline)) void halves(v16 x, v8f *lo, v8f *hi)
{
    memcpy(lo, &x, sizeof *lo);
    memcpy(hi, (const char *)&x + sizeof *lo, sizeof *hi);
}

/* acc[q] = sum_t val[t] * m[idx[t], VT q ...] for the nv vectors (nv a
 * constant after inlining: the loops unroll and acc stays in registers),
 * in two chains (even and odd t, added at the end) so that the adds'
 * latency does not bound a walk of few vectors */
#define WALK(VT, acc, nv, m, idx, val, n)                                              \
    do {                                                                               \
        VT odd_[nv];                                                                   \
        _Pragma("GCC unroll 16") for (int q = 0; q < (nv); q++)                        \
            acc[q] = (VT){0}, odd_[q] = (VT){0};                                       \
        int t = 0;                                                                     \
        for (; t + 2 <= (n); t += 2) {                                                 \
            const VT *r0 = (const VT *)((m) + (int64_t)(idx)[t] * W);                  \
            const VT *r1 = (const VT *)((m) + (int64_t)(idx)[t + 1] * W);              \
            float v0 = (val)[t], v1 = (val)[t + 1];                                    \
            _Pragma("GCC unroll 16") for (int q = 0; q < (nv); q++)                    \
                acc[q] += v0 * r0[q], odd_[q] += v1 * r1[q];                           \
        }                                                                              \
        if (t < (n)) {                                                                 \
            const VT *r0 = (const VT *)((m) + (int64_t)(idx)[t] * W);                  \
            float v0 = (val)[t];                                                       \
            _Pragma("GCC unroll 16") for (int q = 0; q < (nv); q++) acc[q] += v0 * r0[q]; \
        }                                                                              \
        _Pragma("GCC unroll 16") for (int q = 0; q < (nv); q++) acc[q] += odd_[q];     \
    } while (0)

/* s[16 q + l] = (g[16 q + l] + b)(dz_i . dz2_m) for the columns m of nb (a
 * constant) blocks of 16, g being a_i . a2_m (gwalk's): the AVX-512 copy
 * holds up to 8 blocks as 16-float vectors, the others 2 as pairs of
 * 8-float ones (16 registers of each width). Every copy does, per column,
 * the same float multiplies and adds in the same order: which copy ran
 * never changes a result. */
#define CROSS_PARAMS                                                                   \
    double *restrict s, const float *restrict g, const float *restrict dzt, int64_t W, \
        const int32_t *id, const float *vd, int nd, double b
#define CROSS_ARGS s, g, dzt, W, id, vd, nd, b
WB_SIMD_BODY blocks(CROSS_PARAMS, int nb, int wide)
{
    if (wide) {
        v16 d[8];
        WALK(v16, d, nb, dzt, id, vd, nd);
        _Pragma("GCC unroll 8") for (int q = 0; q < nb; q++) {
            v8f g0, g1, d0, d1;
            halves(((const v16 *)g)[q], &g0, &g1);
            halves(d[q], &d0, &d1);
            lanes(s + 16 * q, g0, g1, d0, d1, b);
        }
    } else {
        v8f d[4];
        const v8f *gv = (const v8f *)g;
        WALK(v8f, d, 2 * nb, dzt, id, vd, nd);
        _Pragma("GCC unroll 2") for (int q = 0; q < nb; q++)
            lanes(s + 16 * q, gv[2 * q], gv[2 * q + 1], d[2 * q], d[2 * q + 1], b);
    }
}

/* the same for nb blocks of 16 columns from g and dzt on, in chunks of
 * what the copy holds in registers */
WB_SIMD_BODY cross_body(CROSS_PARAMS, int nb, int wide)
{
    int most = wide ? 8 : 2;
    for (int q0 = 0; q0 < nb; q0 += most, s += 16 * most, g += 16 * most, dzt += 16 * most) {
        switch (nb - q0 < most ? nb - q0 : most) {
        case 1: blocks(CROSS_ARGS, 1, wide); break;
        case 2: blocks(CROSS_ARGS, 2, wide); break;
        case 3: blocks(CROSS_ARGS, 3, 1); break;
        case 4: blocks(CROSS_ARGS, 4, 1); break;
        case 5: blocks(CROSS_ARGS, 5, 1); break;
        case 6: blocks(CROSS_ARGS, 6, 1); break;
        case 7: blocks(CROSS_ARGS, 7, 1); break;
        default: blocks(CROSS_ARGS, 8, 1); break;
        }
    }
}
WB_SIMD_KERNEL_W(cross_row, cross_body, (CROSS_PARAMS, int nb), (CROSS_ARGS, nb, 0),
                 (CROSS_ARGS, nb, 1))

/* g[0..16) = sum_t va[t] m[16 ia[t] ..] (a_i . a2_m for a block of at's 16
 * columns m): one line per non-zero, in four chains (t mod 4, added as
 * (0 + 1) + (2 + 3)) so that the adds' latency does not bound the walk;
 * every copy adds in this order. */
WB_SIMD_BODY gwalk_body(float *restrict g, const float *restrict m, const int32_t *ia,
                        const float *va, int na, int wide)
{
    if (wide) {
        v16 c[4] = {{0}};
        int t = 0;
        for (; t + 4 <= na; t += 4)
            _Pragma("GCC unroll 4") for (int u = 0; u < 4; u++)
                c[u] += va[t + u] * *(const v16 *)(m + 16 * (int64_t)ia[t + u]);
        for (; t < na; t++)
            c[0] += va[t] * *(const v16 *)(m + 16 * (int64_t)ia[t]);
        v16 r = (c[0] + c[1]) + (c[2] + c[3]);
        memcpy(g, &r, sizeof r);
    } else {
        v8f c[8] = {{0}}; /* lanes 0-7 of chain u in c[u], 8-15 in c[4 + u] */
        int t = 0;
        for (; t + 4 <= na; t += 4)
            _Pragma("GCC unroll 4") for (int u = 0; u < 4; u++) {
                const v8f *r = (const v8f *)(m + 16 * (int64_t)ia[t + u]);
                c[u] += va[t + u] * r[0], c[4 + u] += va[t + u] * r[1];
            }
        for (; t < na; t++) {
            const v8f *r = (const v8f *)(m + 16 * (int64_t)ia[t]);
            c[0] += va[t] * r[0], c[4] += va[t] * r[1];
        }
        v8f lo = (c[0] + c[1]) + (c[2] + c[3]), hi = (c[4] + c[5]) + (c[6] + c[7]);
        memcpy(g, &lo, sizeof lo);
        memcpy(g + 8, &hi, sizeof hi);
    }
}
WB_SIMD_KERNEL_W(gwalk, gwalk_body,
                 (float *restrict g, const float *restrict m, const int32_t *ia,
                  const float *va, int na),
                 (g, m, ia, va, na, 0), (g, m, ia, va, na, 1))

/* }---- */

/* the sum of a block's 16 terms, in a fixed order */
static double block_sum(const double *t)
{
    v8d x, y;
    memcpy(&x, t, sizeof x);
    memcpy(&y, t + 8, sizeof y);
    v8d s = x + y;
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Row i's part of a block of terms with its own batch, rows m0 .. m0 + 15
 * (cross's symmetric walk): a term with m on the walked side of the
 * diagonal (m > i, or m < i when below) is row i's and row m's (col[m],
 * which skipped it), m = i row i's alone, the rest belong to the rows
 * that walk them. */
static double own_block(const double *t, int64_t m0, int64_t i, int below, double *col)
{
    double r[LANES];
    for (int l = 0; l < LANES; l++) {
        int64_t m = m0 + l;
        int side = below ? m < i : m > i;
        r[l] = side || m == i ? t[l] : 0.0;
        col[m] += side ? t[l] : 0.0;
    }
    return block_sum(r);
}

/* row i's columns [lo_i, hi_i) of the call's [lo, hi) (cross's symmetric
 * walk: from its diagonal block on, or up to it) */
static void columns(int64_t lo, int64_t hi, int64_t half, int sym, int below, int64_t i,
                    int64_t *lo_i, int64_t *hi_i)
{
    int64_t r0 = i / LANES * LANES;
    *lo_i = sym && !below ? r0 : lo;
    *hi_i = sym && below ? half + r0 + LANES : hi;
}

/* g's rows i % half = a_i . a2_m for the rows i0 <= i < i1, a block of
 * at's 16 columns at a time, every row's walk against it (why: the header;
 * at 784 inputs the lines of a block the batch uses are about 30 KB of its
 * 50) */
static void walk_a(wb_persample_pair *q, int64_t lo, int64_t hi, int sym, int below,
                   const float *a, const wb_persample_csr *sp, int64_t i0, int64_t i1)
{
    int64_t I = q->I, half = q->half;
    for (int64_t c0 = lo; c0 < hi; c0 += LANES)
        for (int64_t i = i0; i < i1; i++) {
            int64_t lo_i, hi_i;
            columns(lo, hi, half, sym, below, i, &lo_i, &hi_i);
            if (c0 < lo_i || c0 >= hi_i)
                continue;
            WB_SIMD_CALL(gwalk)(q->g + i % half * q->W + c0, q->at + c0 * I,
                                sp ? sp->idx + sp->row[i] : q->iota,
                                sp ? sp->val + sp->row[i] : a + i * I,
                                (int)(sp ? sp->row[i + 1] - sp->row[i] : I));
        }
}

wb_status wb_persample_cross(wb_persample_pair *q, double *const proj[2], const double c[2],
                             const float *a, const wb_persample_csr *sp, const float *dz,
                             int64_t B, int64_t I, int64_t O, int bias, int self, wb_err *err)
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
    int sym = self && proj[0];
    if (sym && B != q->rows[q->newest])
        return wb_err_set(err, WB_EINVAL, "per-sample pair: %lld rows given as the newest "
                          "batch, which has %lld", (long long)B,
                          (long long)q->rows[q->newest]);
    /* the columns: both halves, or the one asked for */
    int hw[2] = {q->newest, 1 - q->newest}; /* the half of the newest, of the older */
    int64_t lo = 0, hi = q->W, half = q->half;
    if (!proj[0] || !proj[1]) {
        lo = hw[proj[0] ? 0 : 1] * half;
        hi = lo + half;
    }
    /* With the rows the newest batch, its terms are symmetric: row i walks
     * only the blocks from its diagonal one on (the newest half first) or
     * up to it (second), so that its columns stay one range, and the terms
     * it skips come from the rows that walk them (col). */
    int below = q->newest == 1;
    if (sym)
        memset(q->col, 0, (size_t)half * sizeof *q->col);
    double b = bias ? 1.0 : 0.0;
    for (int64_t i = 0; i < B; i++) {
        if (i % half == 0) /* g holds half rows (a batch not put may have more) */
            walk_a(q, lo, hi, sym, below, a, sp, i, B - i < half ? B : i + half);
        int64_t lo_i, hi_i;
        columns(lo, hi, half, sym, below, i, &lo_i, &hi_i);
        int nb = (int)((hi_i - lo_i) / LANES);
        int nd = wb_dense_row_nonzeros(q->didx, q->dval, dz + i * O, O);
        WB_SIMD_CALL(cross_row)(q->sb, q->g + i % half * q->W + lo_i, q->dzt + lo_i, q->W,
                                q->didx, q->dval, nd, b, nb);
        double s[2] = {0, 0}; /* by half */
        for (int v = 0; v < nb; v++) {
            int64_t c0 = lo_i + v * LANES;
            int h = (int)(c0 / half);
            s[h] += sym && h == q->newest ? own_block(q->sb + v * LANES, c0 - h * half, i,
                                                      below, q->col)
                                          : block_sum(q->sb + v * LANES);
        }
        if (proj[1])
            proj[1][i] += c[1] * s[hw[1]];
        if (sym)
            q->own[i] = s[hw[0]];
        else if (proj[0])
            proj[0][i] += c[0] * s[hw[0]];
    }
    for (int64_t i = 0; sym && i < B; i++)
        proj[0][i] += c[0] * (q->own[i] + q->col[i]);
    return WB_OK;
}
