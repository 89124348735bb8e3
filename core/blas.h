/* blas.h - the core's one door to BLAS (STYLE.md 6), and its naive twin.
 *
 * Row-major single-precision GEMM: C = alpha * op(A) @ op(B) + beta * C with
 * op(A) [m, k], op(B) [k, n], C [m, n]; lda/ldb/ldc are row strides of the
 * matrices as stored (A is [k, m] in memory when trans_a). Callers have
 * already validated every size (they must fit in int, as cblas takes int);
 * nothing here can fail. A zero m or n is a no-op; k == 0 scales C by beta.
 */
#ifndef WB_BLAS_H
#define WB_BLAS_H

#include <stdint.h>

/* Largest dimension we hand to cblas (its sizes are int). */
#define WB_BLAS_MAX_DIM 2147483647LL

void wb_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float *a, int64_t lda, const float *b,
              int64_t ldb, float beta, float *c, int64_t ldc);
/* The same in double precision (the Hessian-vector products' float64 mode,
 * core/hvp.h): C = alpha * op(A) @ op(B) + beta * C through cblas_dgemm. */
void wb_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              double alpha, const double *a, int64_t lda, const double *b,
              int64_t ldb, double beta, double *c, int64_t ldc);
/* The lower triangle of C [n, n] = A A^T, A [n, k] row-major (row stride
 * lda), C column-major (column stride ldc) as LAPACK reads it: cblas_dsyrk
 * (half a dgemm's work). */
void wb_dsyrk_lower(int64_t n, int64_t k, const double *a, int64_t lda, double *c,
                    int64_t ldc);
/* Y [m, n] row-major (row stride ldy) := op(L)^{-1} Y, L [m, m] lower
 * triangular column-major (column stride ldl), op(L) = L^T when trans:
 * a forward (or, trans, back) substitution for n right-hand sides at once,
 * cblas_dtrsm. */
void wb_dtrsm_lower(int trans, int64_t m, int64_t n, const double *l, int64_t ldl, double *y,
                    int64_t ldy);
/* The same product with plain loops and double accumulation (tests). */
void wb_sgemm_naive(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                    float alpha, const float *a, int64_t lda, const float *b,
                    int64_t ldb, float beta, float *c, int64_t ldc);

#endif
