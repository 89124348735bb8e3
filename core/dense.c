/* dense.c - fully connected layer, forward and backward. See dense.h.
 *
 * Legend: B = rows of the batch, I = n_in, O = n_out.
 *   forward   z = x @ W (GEMM, beta 0); z += b and y = act(z) in one pass
 *   backward  dz = dy * act'(z)        (skipped for linear / backward_logits)
 *             dW += x^T @ dz (GEMM, beta 1); db += colsum(dz); dW += 2 l2 W
 *             dx = dz @ W^T (GEMM, beta 0), only when asked for
 *
 * Sparse inputs: MNIST pixels are 81% zeros, so for a wide input that is
 * mostly zeros (at most half non-zero) the two products with x skip the
 * zeros: z[i,:] = sum over non-zero x[i,k] of x[i,k] W[k,:], and dW[k,:] +=
 * x[i,k] dz[i,:] for the same (i, k). Same sums, fewer terms. Forward keeps
 * the non-zeros it found (layer-owned buffers, grown once) and backward
 * reuses them when it is given the same input tensor data; backward given
 * other data scans that (an input changed in place between the two calls
 * is not supported, as in other frameworks). The dense GEMM serves
 * everything else (and tests check both against double references).
 */
#include "dense.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "blas.h"
#include "simd.h"

#ifdef WB_SIMD_HAVE_AVX2
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=cheap") /* see activation.c */
#endif

wb_dense_opts wb_dense_defaults(void)
{
    wb_dense_opts o = {NULL, NULL, 0.0, 1};
    return o;
}

static wb_status check_size(int64_t v, const char *what, wb_err *err)
{
    if (v < 1 || v > WB_BLAS_MAX_DIM)
        return wb_err_set(err, v < 1 ? WB_EINVAL : WB_ERANGE,
                          "%s: expected a size in 1..%lld, got %lld", what,
                          (long long)WB_BLAS_MAX_DIM, (long long)v);
    return WB_OK;
}

wb_dense *wb_dense_new(int64_t n_in, int64_t n_out, const wb_dense_opts *opts,
                       wb_rng *rng, wb_err *err)
{
    wb_dense_opts o = opts ? *opts : wb_dense_defaults();
    wb_act act;
    wb_init init;
    if (wb_err_arg(err, 1, check_size(n_in, "n_in", err)) ||
        wb_err_arg(err, 2, check_size(n_out, "n_out", err)) ||
        wb_err_arg(err, 3, wb_act_parse(o.activation, "activation", &act, err)) ||
        wb_err_arg(err, 3, wb_init_parse(o.init, &init, err)))
        return NULL;
    if (!(o.l2 >= 0.0) || !isfinite(o.l2))
        return wb_err_arg(err, 3, wb_err_set(err, WB_EINVAL, "l2: expected a finite "
                                             "number >= 0, got %g", o.l2)), NULL;
    wb_dense *d = wb_calloc(1, sizeof *d);
    if (!d)
        return wb_err_set(err, WB_ENOMEM, "out of memory allocating a Dense layer"), NULL;
    d->n_in = n_in;
    d->n_out = n_out;
    d->act = act;
    d->init = init;
    d->l2 = o.l2;
    d->use_bias = o.use_bias != 0;
    d->n_batch = -1;
    d->dz_n = -1;
    int64_t wshape[2] = {n_in, n_out};
    if (!(d->weight = wb_tensor_new(WB_F32, 2, wshape, err)) ||
        !(d->grad_weight = wb_tensor_new(WB_F32, 2, wshape, err)))
        goto fail;
    if (d->use_bias && (!(d->bias = wb_tensor_new(WB_F32, 1, &n_out, err)) ||
                        !(d->grad_bias = wb_tensor_new(WB_F32, 1, &n_out, err))))
        goto fail;
    wb_init_fill(init, wb_tensor_f32(d->weight), (size_t)(n_in * n_out), n_in, n_out,
                 rng);
    return d;
fail:
    wb_err_prefix(err, "weight [%lld, %lld]: ", (long long)n_in, (long long)n_out);
    wb_dense_free(d);
    return NULL;
}

void wb_dense_free(wb_dense *d)
{
    if (!d)
        return;
    wb_tensor_free(d->weight);
    wb_tensor_free(d->bias);
    wb_tensor_free(d->grad_weight);
    wb_tensor_free(d->grad_bias);
    wb_tensor_free(d->z);
    wb_tensor_free(d->y);
    wb_tensor_free(d->dz);
    wb_tensor_free(d->dx);
    wb_free(d->sp_idx);
    wb_free(d->sp_val);
    wb_free(d->sp_row);
    wb_free(d);
}

/* "what: expected [*, I], got [..]" unless t is float32 [B, cols]. With
 * rows >= 0 the batch must also be exactly rows. */
static wb_status check_2d(const wb_tensor *t, const char *what, int64_t rows,
                          int64_t cols, wb_err *err)
{
    char got[WB_SHAPE_STR_MAX];
    /* uint8 here is pixels given raw: :float() alone would feed 0..255 to a
     * model trained on the datasets' 0..1, wrong without a word */
    if (t->dtype != WB_F32)
        return wb_err_set(err, WB_EINVAL, "%s: expected a float32 tensor, got %s (pixels: "
                          "x:float() / 255, the scale of the datasets, predict and "
                          "evaluate; other values: x:float())", what, wb_dtype_name(t->dtype));
    int bad = t->ndim != 2 || t->shape[1] != cols || (rows >= 0 && t->shape[0] != rows) ||
              t->shape[0] > WB_BLAS_MAX_DIM;
    if (!bad)
        return WB_OK; /* the shape is formatted for an error only: a step calls this often */
    wb_shape_str(got, sizeof got, t->ndim, t->shape);
    if (t->ndim != 2 || t->shape[1] != cols) {
        if (rows < 0)
            return wb_err_set(err, WB_ESHAPE, "%s: expected [*, %lld], got %s", what,
                              (long long)cols, got);
        return wb_err_set(err, WB_ESHAPE, "%s: expected [%lld, %lld], got %s", what,
                          (long long)rows, (long long)cols, got);
    }
    if (rows >= 0 && t->shape[0] != rows)
        return wb_err_set(err, WB_ESHAPE, "%s: expected [%lld, %lld] (the batch of "
                          "the last forward), got %s", what, (long long)rows,
                          (long long)cols, got);
    if (t->shape[0] > WB_BLAS_MAX_DIM)
        return wb_err_set(err, WB_ERANGE, "%s: %s has too many rows (limit %lld)", what,
                          got, (long long)WB_BLAS_MAX_DIM);
    return WB_OK;
}

/* t shares storage with buf (one of this layer's own buffers)? Feeding a
 * layer its own output back would overwrite the input while it is read. */
static wb_status check_not_own(const wb_tensor *t, const wb_tensor *b1, const wb_tensor *b2,
                               const char *what, wb_err *err)
{
    if ((b1 && t->storage == b1->storage) || (b2 && t->storage == b2->storage))
        return wb_err_set(err, WB_EINVAL, "%s: is this layer's own output buffer, "
                          "which the call overwrites (pass a :clone())", what);
    return WB_OK;
}

/* Make *a [rows, ca] and (when b) *b [rows, cb] hold at least `rows` rows,
 * all or nothing; old buffers are released only after both are made. */
static wb_status grow2(wb_tensor **a, int64_t ca, wb_tensor **b, int64_t cb,
                       int64_t rows, wb_err *err)
{
    int64_t sa[2] = {rows, ca}, sb[2] = {rows, cb};
    wb_tensor *na = wb_tensor_new(WB_F32, 2, sa, err);
    wb_tensor *nb = na && b ? wb_tensor_new(WB_F32, 2, sb, err) : NULL;
    if (!na || (b && !nb)) {
        wb_tensor_free(na);
        return err ? err->code : WB_ENOMEM;
    }
    wb_tensor_free(*a);
    *a = na;
    if (b) {
        wb_tensor_free(*b);
        *b = nb;
    }
    return WB_OK;
}

/* ---------------------------------------------------------------------------
 * Sparse-input products */

#define SP_MAX 16384 /* non-zeros handled per chunk (stack arrays) */

/* Worth it for wide layers whose input is at least half zeros. */
static int use_sparse(const float *restrict x, int64_t n, int64_t I, int64_t O)
{
    if (I < 256 || I > SP_MAX || O < 16)
        return 0;
    size_t total = (size_t)(n * I), nz = 0;
    for (size_t k = 0; k < total; k++)
        nz += x[k] != 0.0f;
    return nz * 2 <= total;
}

/* The kernels work on blocks of output columns held in registers (GNU
 * vector extension): 32 columns as 4 x 8 floats, and in the AVX-512 copy
 * (wide = 1) first 128 columns as 8 x 16 floats, so that one pass over the
 * non-zeros serves a whole 128-wide layer. Compiled for the baseline, AVX2
 * and AVX-512 (core/simd.h); every copy does, per output element, the same
 * multiplies and adds in the same order (the block width only decides
 * which elements share a register), so results are identical. */
typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef float v16 __attribute__((vector_size(64), aligned(4)));
#define SP_BLOCK 32
#define SP_WIDE 128

/* zr [O] = sum_t val[t] * w[idx[t], :] */
WB_SIMD_BODY xw_body(float *restrict zr, const float *restrict w, int64_t O,
                     const int32_t *idx, const float *val, int nnz, int wide)
{
    int64_t j0 = 0;
    for (; wide && j0 + SP_WIDE <= O; j0 += SP_WIDE) {
        v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
        for (int t = 0; t < nnz; t++) {
            const v16 *wr = (const v16 *)(w + (int64_t)idx[t] * O + j0);
            float v = val[t];
            a0 += v * wr[0]; a1 += v * wr[1]; a2 += v * wr[2]; a3 += v * wr[3];
            a4 += v * wr[4]; a5 += v * wr[5]; a6 += v * wr[6]; a7 += v * wr[7];
        }
        v16 *out = (v16 *)(zr + j0);
        out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
        out[4] = a4; out[5] = a5; out[6] = a6; out[7] = a7;
    }
    for (; j0 + SP_BLOCK <= O; j0 += SP_BLOCK) {
        v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int t = 0; t < nnz; t++) {
            const v8 *wr = (const v8 *)(w + (int64_t)idx[t] * O + j0);
            float v = val[t];
            a0 += v * wr[0]; a1 += v * wr[1]; a2 += v * wr[2]; a3 += v * wr[3];
        }
        v8 *out = (v8 *)(zr + j0);
        out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
    }
    for (; j0 < O; j0++) {
        float acc = 0.0f;
        for (int t = 0; t < nnz; t++)
            acc += val[t] * w[(int64_t)idx[t] * O + j0];
        zr[j0] = acc;
    }
}
WB_SIMD_KERNEL_W(xw, xw_body,
                 (float *restrict zr, const float *restrict w, int64_t O,
                  const int32_t *idx, const float *val, int nnz),
                 (zr, w, O, idx, val, nnz, 0), (zr, w, O, idx, val, nnz, 1))

void wb_dense_sparse_rows(float *restrict out, const float *restrict w, int64_t O,
                          const int32_t *idx, const float *val, int nnz)
{
    WB_SIMD_CALL(xw)(out, w, O, idx, val, nnz);
}

/* dwr [O] += sum_t val[t] * dz[row[t], :] */
WB_SIMD_BODY xtdz_body(float *restrict dwr, const float *restrict dz, int64_t O,
                       const int32_t *row, const float *val, int nnz, int wide)
{
    int64_t j0 = 0;
    for (; wide && j0 + SP_WIDE <= O; j0 += SP_WIDE) {
        v16 *out = (v16 *)(dwr + j0);
        v16 a0 = out[0], a1 = out[1], a2 = out[2], a3 = out[3];
        v16 a4 = out[4], a5 = out[5], a6 = out[6], a7 = out[7];
        for (int t = 0; t < nnz; t++) {
            const v16 *dr = (const v16 *)(dz + (int64_t)row[t] * O + j0);
            float v = val[t];
            a0 += v * dr[0]; a1 += v * dr[1]; a2 += v * dr[2]; a3 += v * dr[3];
            a4 += v * dr[4]; a5 += v * dr[5]; a6 += v * dr[6]; a7 += v * dr[7];
        }
        out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
        out[4] = a4; out[5] = a5; out[6] = a6; out[7] = a7;
    }
    for (; j0 + SP_BLOCK <= O; j0 += SP_BLOCK) {
        v8 *out = (v8 *)(dwr + j0);
        v8 a0 = out[0], a1 = out[1], a2 = out[2], a3 = out[3];
        for (int t = 0; t < nnz; t++) {
            const v8 *dr = (const v8 *)(dz + (int64_t)row[t] * O + j0);
            float v = val[t];
            a0 += v * dr[0]; a1 += v * dr[1]; a2 += v * dr[2]; a3 += v * dr[3];
        }
        out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
    }
    for (; j0 < O; j0++) {
        float acc = dwr[j0];
        for (int t = 0; t < nnz; t++)
            acc += val[t] * dz[(int64_t)row[t] * O + j0];
        dwr[j0] = acc;
    }
}
WB_SIMD_KERNEL_W(xtdz, xtdz_body,
                 (float *restrict dwr, const float *restrict dz, int64_t O,
                  const int32_t *row, const float *val, int nnz),
                 (dwr, dz, O, row, val, nnz, 0), (dwr, dz, O, row, val, nnz, 1))

/* The non-zeros of row xr [I]: their columns and values; returns how many.
 * Branch-free (a zero is written and then overwritten), since pixels are
 * zero or not at random. */
static int row_nonzeros_base(int32_t *restrict idx, float *restrict val,
                             const float *restrict xr, int64_t I)
{
    int nnz = 0;
    for (int64_t k = 0; k < I; k++) {
        float v = xr[k];
        idx[nnz] = (int32_t)k;
        val[nnz] = v;
        nnz += v != 0.0f;
    }
    return nnz;
}

#ifdef WB_SIMD_HAVE_AVX2
/* The same, 16 columns per instruction: compress the non-zeros of a vector
 * (not-equal-unordered, as C's != : NaN counts as non-zero) and store all
 * 16 lanes, the ones past the non-zeros to be overwritten like the scalar
 * loop's extra cell. Every caller's buffer holds I cells per row scanned so
 * far, so a store at nnz <= k never passes the cells of the current row. */
__attribute__((WB_SIMD_AVX512_TARGET)) static int
row_nonzeros_avx512(int32_t *restrict idx, float *restrict val, const float *restrict xr,
                    int64_t I)
{
    int nnz = 0;
    int64_t k = 0;
    __m512i col = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sixteen = _mm512_set1_epi32(16);
    for (; k + 16 <= I; k += 16) {
        __m512 v = _mm512_loadu_ps(xr + k);
        __mmask16 m = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        _mm512_storeu_ps(val + nnz, _mm512_maskz_compress_ps(m, v));
        _mm512_storeu_si512(idx + nnz, _mm512_maskz_compress_epi32(m, col));
        nnz += __builtin_popcount((unsigned)m);
        col = _mm512_add_epi32(col, sixteen);
    }
    for (; k < I; k++) {
        float v = xr[k];
        idx[nnz] = (int32_t)k;
        val[nnz] = v;
        nnz += v != 0.0f;
    }
    return nnz;
}
#endif

int wb_dense_row_nonzeros(int32_t *restrict idx, float *restrict val,
                          const float *restrict xr, int64_t I)
{
#ifdef WB_SIMD_HAVE_AVX2
    if (wb_simd_avx512())
        return row_nonzeros_avx512(idx, val, xr, I);
#endif
    return row_nonzeros_base(idx, val, xr, I);
}

/* dw [I, O] += x[i0..i1)^T @ dz for one chunk of rows whose non-zeros are
 * cidx/cval (row by row, rowlen[i - i0] each; at most SP_MAX in all): they
 * are counting-sorted into column lists (rows stay in order), then each
 * input k adds sum over its rows of x[i,k] dz[i,:] to dw[k,:]. */
static void xtdz_chunk(float *restrict dw, const float *restrict dz, int64_t I,
                       int64_t O, int64_t i0, int64_t i1, const int32_t *cidx,
                       const float *cval, const int32_t *rowlen)
{
    int32_t crow[SP_MAX], end[SP_MAX + 1];
    float sval[SP_MAX];
    memset(end, 0, (size_t)(I + 1) * sizeof(int32_t));
    int total = 0;
    for (int64_t i = i0; i < i1; i++)
        total += rowlen[i - i0];
    for (int t = 0; t < total; t++)
        end[cidx[t] + 1]++;
    for (int64_t k = 0; k < I; k++) /* end[k] = begin of column k */
        end[k + 1] += end[k];
    int q = 0;
    for (int64_t i = i0; i < i1; i++)
        for (int r = 0; r < rowlen[i - i0]; r++, q++) {
            int32_t at = end[cidx[q]]++;
            crow[at] = (int32_t)i;
            sval[at] = cval[q];
        }
    /* end[k] is now the end of column k, and end[k-1] its begin; the copy
     * of the kernel is picked once, not per column */
    void (*kernel)(float *restrict, const float *restrict, int64_t, const int32_t *,
                   const float *, int) = WB_SIMD_CALL(xtdz);
    for (int64_t k = 0; k < I; k++) {
        int32_t b = k ? end[k - 1] : 0, e = end[k];
        if (e > b)
            kernel(dw + k * O, dz, O, crow + b, sval + b, e - b);
    }
}

/* dw [I, O] += x [n, I]^T @ dz [n, O], skipping zeros of x, scanning x. */
static void sparse_xtdz(float *restrict dw, const float *restrict x,
                        const float *restrict dz, int64_t n, int64_t I, int64_t O)
{
    int32_t cidx[SP_MAX + 1], rowlen[SP_MAX];
    float cval[SP_MAX + 1];
    int64_t chunk = SP_MAX / I; /* rows per chunk: every non-zero fits */
    for (int64_t i0 = 0; i0 < n; i0 += chunk) {
        int64_t i1 = i0 + chunk < n ? i0 + chunk : n;
        int total = 0;
        for (int64_t i = i0; i < i1; i++) {
            rowlen[i - i0] = wb_dense_row_nonzeros(cidx + total, cval + total, x + i * I, I);
            total += rowlen[i - i0];
        }
        xtdz_chunk(dw, dz, I, O, i0, i1, cidx, cval, rowlen);
    }
}

/* The same from the non-zeros the forward kept (no second scan of x). */
static void sparse_xtdz_kept(const wb_dense *d, float *restrict dw,
                             const float *restrict dz, int64_t n)
{
    int64_t I = d->n_in, O = d->n_out;
    int32_t rowlen[SP_MAX];
    int64_t chunk = SP_MAX / I;
    for (int64_t i0 = 0; i0 < n; i0 += chunk) {
        int64_t i1 = i0 + chunk < n ? i0 + chunk : n;
        for (int64_t i = i0; i < i1; i++)
            rowlen[i - i0] = (int32_t)(d->sp_row[i + 1] - d->sp_row[i]);
        xtdz_chunk(dw, dz, I, O, i0, i1, d->sp_idx + d->sp_row[i0],
                   d->sp_val + d->sp_row[i0], rowlen);
    }
}

/* Forward's sparse attempt: keep the non-zeros of x [n, I] row by row
 * (buffers grown once for n rows, all or nothing); when at most half are
 * non-zero, z = x @ W from them and 1 is returned, else 0 (use the GEMM). */
static int sparse_forward(wb_dense *d, float *restrict z, const float *restrict x,
                          int64_t n, wb_err *err, wb_status *st)
{
    int64_t I = d->n_in, O = d->n_out;
    *st = WB_OK;
    d->sp_x = NULL;
    /* no rows: nothing to keep (the buffers may not exist yet, sp_cap 0) */
    if (I < 256 || I > SP_MAX || O < 16 || n < 1)
        return 0;
    if (n > d->sp_cap) {
        size_t cells = (size_t)(n * I) + 1;
        int32_t *idx = wb_malloc(cells * sizeof *idx);
        float *val = wb_malloc(cells * sizeof *val);
        int64_t *row = wb_malloc((size_t)(n + 1) * sizeof *row);
        if (!idx || !val || !row) {
            wb_free(idx);
            wb_free(val);
            wb_free(row);
            *st = wb_err_set(err, WB_ENOMEM, "out of memory for the sparse input of "
                             "%lld rows", (long long)n);
            return 0;
        }
        wb_free(d->sp_idx);
        wb_free(d->sp_val);
        wb_free(d->sp_row);
        d->sp_idx = idx, d->sp_val = val, d->sp_row = row, d->sp_cap = n;
    }
    int64_t total = 0;
    d->sp_row[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        total += wb_dense_row_nonzeros(d->sp_idx + total, d->sp_val + total, x + i * I, I);
        d->sp_row[i + 1] = total;
    }
    if (total * 2 > n * I)
        return 0;
    for (int64_t i = 0; i < n; i++)
        WB_SIMD_CALL(xw)(z + i * O, wb_tensor_f32(d->weight), O, d->sp_idx + d->sp_row[i],
                         d->sp_val + d->sp_row[i], (int)(d->sp_row[i + 1] - d->sp_row[i]));
    d->sp_x = x;
    d->sp_n = n;
    return 1;
}

/* ---------------------------------------------------------------------------
 * Forward */

wb_status wb_dense_forward(wb_dense *d, const wb_tensor *x, wb_err *err)
{
    if (wb_err_arg(err, 2, check_2d(x, "input", -1, d->n_in, err)) ||
        wb_err_arg(err, 2, check_not_own(x, d->z, d->y, "input", err)))
        return err ? err->code : WB_ESHAPE;
    int64_t n = x->shape[0], I = d->n_in, O = d->n_out;
    if (n > d->cap || !d->z) {
        int linear = d->act == WB_ACT_LINEAR;
        if (grow2(&d->z, O, linear ? NULL : &d->y, O, n, err))
            return err ? err->code : WB_ENOMEM;
        d->cap = n;
    }
    float *z = wb_tensor_f32(d->z);
    float *y = d->y ? wb_tensor_f32(d->y) : z;
    wb_status st;
    if (!sparse_forward(d, z, wb_tensor_f32(x), n, err, &st)) {
        if (st != WB_OK)
            return st;
        wb_sgemm(0, 0, n, O, I, 1.0f, wb_tensor_f32(x), I, wb_tensor_f32(d->weight), O,
                 0.0f, z, O);
    }
    wb_act_forward(d->act, y, z, d->bias ? wb_tensor_f32(d->bias) : NULL, n, O);
    d->n_batch = n;
    d->dz_n = -1;
    return WB_OK;
}

const wb_tensor *wb_dense_output(const wb_dense *d) { return d->y ? d->y : d->z; }
const wb_tensor *wb_dense_logits(const wb_dense *d) { return d->z; }
const wb_tensor *wb_dense_grad_input(const wb_dense *d) { return d->dx; }

/* ---------------------------------------------------------------------------
 * Backward */

/* Parameter gradients and dx from dz [B, O] (shapes already checked, dx
 * allocated when needed). */
static void backward_from_dz(wb_dense *d, const float *restrict dz,
                             const float *restrict x, int64_t n, int need_grad_input)
{
    int64_t I = d->n_in, O = d->n_out;
    float *restrict dw = wb_tensor_f32(d->grad_weight);
    if (d->sp_x == x && d->sp_n == n) /* dW += x^T dz: the input forward kept */
        sparse_xtdz_kept(d, dw, dz, n);
    else if (use_sparse(x, n, I, O)) /* another input than forward's */
        sparse_xtdz(dw, x, dz, n, I, O);
    else
        wb_sgemm(1, 0, I, O, n, 1.0f, x, I, dz, O, 1.0f, dw, O);
    if (d->grad_bias) {
        float *restrict db = wb_tensor_f32(d->grad_bias);
        for (int64_t i = 0; i < n; i++) {
            const float *restrict row = dz + i * O;
            for (int64_t j = 0; j < O; j++)
                db[j] += row[j];
        }
    }
    if (d->l2 > 0) { /* d/dW l2 sum W^2 = 2 l2 W */
        const float *restrict w = wb_tensor_f32(d->weight);
        float c = (float)(2.0 * d->l2);
        size_t nw = (size_t)(I * O);
        for (size_t k = 0; k < nw; k++)
            dw[k] += c * w[k];
    }
    if (need_grad_input) /* dx = dz W^T */
        wb_sgemm(0, 1, n, I, O, 1.0f, dz, O, wb_tensor_f32(d->weight), O, 0.0f,
                 wb_tensor_f32(d->dx), I);
}

/* Shared checks and allocation of both backward entries. `grad_name` names
 * the gradient argument; need_dz asks for the dz buffer. */
static wb_status backward_prepare(wb_dense *d, const wb_tensor *x, const wb_tensor *g,
                                  const char *grad_name, int need_dz,
                                  int need_grad_input, wb_err *err)
{
    if (d->n_batch < 0)
        return wb_err_set(err, WB_ESTATE, "backward called before forward");
    if (wb_err_arg(err, 2, check_2d(x, "input", d->n_batch, d->n_in, err)) ||
        wb_err_arg(err, 3, check_2d(g, grad_name, d->n_batch, d->n_out, err)) ||
        wb_err_arg(err, 3, check_not_own(g, d->dz, d->dx, grad_name, err)))
        return err ? err->code : WB_ESHAPE;
    int64_t n = d->n_batch;
    /* one capacity gcap for both buffers: growing remakes whichever exist or
     * are wanted; otherwise only a wanted, missing buffer is made */
    int grow = n > d->gcap;
    int64_t rows = grow ? n : d->gcap;
    int make_dz = (need_dz || d->dz) && (grow || !d->dz);
    int make_dx = (need_grad_input || d->dx) && (grow || !d->dx);
    wb_tensor *ndz = NULL, *ndx = NULL;
    if ((make_dz && grow2(&ndz, d->n_out, NULL, 0, rows, err)) ||
        (make_dx && grow2(&ndx, d->n_in, NULL, 0, rows, err))) {
        wb_tensor_free(ndz);
        return err ? err->code : WB_ENOMEM;
    }
    if (make_dz) {
        wb_tensor_free(d->dz);
        d->dz = ndz;
    }
    if (make_dx) {
        wb_tensor_free(d->dx);
        d->dx = ndx;
    }
    d->gcap = rows;
    return WB_OK;
}

/* dz [n, O] into the dz buffer (keep_dz: the gradient was handed in). */
static void keep(wb_dense *d, const float *dz, int64_t n)
{
    memcpy(wb_tensor_f32(d->dz), dz, (size_t)(n * d->n_out) * sizeof(float));
}

wb_status wb_dense_backward(wb_dense *d, const wb_tensor *x, const wb_tensor *grad_y,
                            int need_grad_input, wb_err *err)
{
    int linear = d->act == WB_ACT_LINEAR;
    if (backward_prepare(d, x, grad_y, "grad_output", !linear || d->keep_dz,
                         need_grad_input, err))
        return err ? err->code : WB_EINVAL;
    int64_t n = d->n_batch;
    const float *dz = wb_tensor_f32(grad_y); /* linear: dz is dy */
    if (!linear) {
        wb_act_backward(d->act, wb_tensor_f32(d->dz), wb_tensor_f32(grad_y),
                        wb_tensor_f32(d->z), wb_tensor_f32(d->y), n, d->n_out);
        dz = wb_tensor_f32(d->dz);
    } else if (d->keep_dz) {
        keep(d, dz, n);
    }
    backward_from_dz(d, dz, wb_tensor_f32(x), n, need_grad_input);
    d->dz_n = d->keep_dz ? n : -1;
    return WB_OK;
}

wb_status wb_dense_backward_logits(wb_dense *d, const wb_tensor *x,
                                   const wb_tensor *grad_z, int need_grad_input,
                                   wb_err *err)
{
    if (backward_prepare(d, x, grad_z, "grad_logits", d->keep_dz, need_grad_input, err))
        return err ? err->code : WB_EINVAL;
    if (d->keep_dz)
        keep(d, wb_tensor_f32(grad_z), d->n_batch);
    backward_from_dz(d, wb_tensor_f32(grad_z), wb_tensor_f32(x), d->n_batch,
                     need_grad_input);
    d->dz_n = d->keep_dz ? d->n_batch : -1;
    return WB_OK;
}

void wb_dense_zero_grad(wb_dense *d)
{
    memset(wb_tensor_f32(d->grad_weight), 0,
           (size_t)(d->n_in * d->n_out) * sizeof(float));
    if (d->grad_bias)
        memset(wb_tensor_f32(d->grad_bias), 0, (size_t)d->n_out * sizeof(float));
}

double wb_dense_l2_penalty(const wb_dense *d)
{
    if (d->l2 == 0)
        return 0;
    /* computed at every training step (the loss includes it, as in Keras):
     * 16 float lanes per block of 1024 weights, blocks summed in double */
    const float *w = wb_tensor_f32(d->weight);
    size_t nw = (size_t)(d->n_in * d->n_out), k = 0;
    double s = 0;
    typedef float v4 __attribute__((vector_size(16))); /* one SSE register */
    for (; k + 1024 <= nw; k += 1024) {
        v4 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, v0, v1, v2, v3;
        for (size_t j = 0; j < 1024; j += 16) {
            memcpy(&v0, w + k + j, sizeof v0);
            memcpy(&v1, w + k + j + 4, sizeof v1);
            memcpy(&v2, w + k + j + 8, sizeof v2);
            memcpy(&v3, w + k + j + 12, sizeof v3);
            a0 += v0 * v0; a1 += v1 * v1; a2 += v2 * v2; a3 += v3 * v3;
        }
        v4 acc = (a0 + a1) + (a2 + a3);
        s += (double)acc[0] + acc[1] + acc[2] + acc[3];
    }
    for (; k < nw; k++)
        s += (double)w[k] * w[k];
    return d->l2 * s;
}
