/* blas.c - the cblas wrappers and a naive reference GEMM. See blas.h. */
#include "blas.h"

#include <cblas.h>

void wb_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float *a, int64_t lda, const float *b,
              int64_t ldb, float beta, float *c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) { /* BLAS would do this too, but some skip beta == 0 */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha,
                a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void wb_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
              double alpha, const double *a, int64_t lda, const double *b,
              int64_t ldb, double beta, double *c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0 ? 0.0 : beta * c[i * ldc + j];
        return;
    }
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha,
                a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void wb_dsyrk_lower(int64_t n, int64_t k, const double *a, int64_t lda, double *c,
                    int64_t ldc)
{
    if (n == 0)
        return;
    /* column-major, A^T A of the k x n matrix A's rows are: X X^T */
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)n, (int)k, 1.0, a, (int)lda, 0.0,
                c, (int)ldc);
}

void wb_dtrsm_lower(int trans, int64_t m, int64_t n, const double *l, int64_t ldl, double *y,
                    int64_t ldy)
{
    if (m == 0 || n == 0)
        return;
    /* Y row-major is Y^T column-major: op(L)^{-1} Y = (Y^T op(L)^{-T})^T */
    cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, trans ? CblasNoTrans : CblasTrans,
                CblasNonUnit, (int)n, (int)m, 1.0, l, (int)ldl, y, (int)ldy);
}

void wb_sgemm_naive(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                    float alpha, const float *a, int64_t lda, const float *b,
                    int64_t ldb, float beta, float *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0;
            for (int64_t p = 0; p < k; p++) {
                double av = trans_a ? a[p * lda + i] : a[i * lda + p];
                double bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                acc += av * bv;
            }
            double old = beta == 0.0f ? 0.0 : (double)beta * c[i * ldc + j];
            c[i * ldc + j] = (float)(alpha * acc + old);
        }
}
