/* hvp_dvec.c - the double sweeps of Lanczos (see hvp_dvec.h): eigs' and
 * slq's reorthogonalisation, wb_hvp_top's three-term recurrence in double.
 * Moved from hvp_eig.c unchanged (the same numbers, in the same order).
 */
#include "hvp_dvec.h"

#include <stddef.h>

#include "simd.h"

/* Four chains: a single one waits on each add (the reorthogonalisation's
 * dots over all P parameters were most of a Lanczos step); four vectorise. */
double wb_dv_dot(const double *a, const double *b, int64_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i], s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2], s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* The reorthogonalisation's sweeps over P-long vectors, one body, compiled
 * for the baseline and AVX2 (core/simd.h): when upd, w += a x; when dot,
 * *out = y . w (the new w). Lane l of the vector sum is the chain of
 * entries l mod 4, added up as (l0 + l1) + (l2 + l3): dot()'s order. */
typedef double v4d __attribute__((vector_size(32), aligned(8)));

WB_SIMD_BODY sweep_body(double *restrict w, double a, const double *restrict x,
                        const double *restrict y, int64_t n, int upd, int dot,
                        double *out)
{
    v4d s = {0, 0, 0, 0}, av = {a, a, a, a};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d wv = *(const v4d *)(w + i);
        if (upd) {
            wv = wv + av * *(const v4d *)(x + i);
            *(v4d *)(w + i) = wv;
        }
        if (dot)
            s += *(const v4d *)(y + i) * wv;
    }
    double s0 = s[0];
    for (; i < n; i++) {
        if (upd)
            w[i] += a * x[i];
        if (dot)
            s0 += y[i] * w[i];
    }
    if (dot)
        *out = (s0 + s[1]) + (s[2] + s[3]);
}
WB_SIMD_KERNEL(sweep, sweep_body,
               (double *restrict w, double a, const double *restrict x,
                const double *restrict y, int64_t n, int upd, int dot, double *out),
               (w, a, x, y, n, upd, dot, out))

/* wb_hvp_top's passes over the basis, each one sweep (the vectors have P
 * entries, ~800 KB each for the baseline: their memory traffic, not the
 * arithmetic, is most of a step beside the product). */

/* qn = hq - a q - b qp; *nn = ||qn||^2 */
WB_SIMD_BODY recur_body(double *restrict qn, const double *restrict hq,
                        const double *restrict q, const double *restrict qp, double a,
                        double b, int64_t n, double *nn)
{
    v4d s = {0, 0, 0, 0}, av = {a, a, a, a}, bv = {b, b, b, b};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4d w = *(const v4d *)(hq + i) - av * *(const v4d *)(q + i) -
                bv * *(const v4d *)(qp + i);
        *(v4d *)(qn + i) = w;
        s += w * w;
    }
    double s0 = s[0];
    for (; i < n; i++) {
        qn[i] = hq[i] - a * q[i] - b * qp[i];
        s0 += qn[i] * qn[i];
    }
    *nn = (s0 + s[1]) + (s[2] + s[3]);
}
WB_SIMD_KERNEL(recur, recur_body,
               (double *restrict qn, const double *restrict hq, const double *restrict q,
                const double *restrict qp, double a, double b, int64_t n, double *nn),
               (qn, hq, q, qp, a, b, n, nn))

/* y = Q s over j rows (stride c); *yy = ||y||^2 */
WB_SIMD_BODY ritz_body(double *restrict y, const double *restrict Q,
                       const double *restrict sv, int j, int64_t c, double *yy)
{
    v4d sy = {0, 0, 0, 0};
    int64_t t = 0;
    for (; t + 4 <= c; t += 4) {
        v4d ay = {0, 0, 0, 0};
        for (int i = 0; i < j; i++) {
            v4d si = {sv[i], sv[i], sv[i], sv[i]};
            ay += si * *(const v4d *)(Q + (size_t)i * (size_t)c + t);
        }
        *(v4d *)(y + t) = ay;
        sy += ay * ay;
    }
    double y0 = sy[0];
    for (; t < c; t++) {
        double ay = 0;
        for (int i = 0; i < j; i++)
            ay += sv[i] * Q[(size_t)i * (size_t)c + t];
        y[t] = ay;
        y0 += ay * ay;
    }
    *yy = (y0 + sy[1]) + (sy[2] + sy[3]);
}
WB_SIMD_KERNEL(ritz, ritz_body,
               (double *restrict y, const double *restrict Q, const double *restrict sv,
                int j, int64_t c, double *yy),
               (y, Q, sv, j, c, yy))

/* *out = ||x||^2 (vectorised; dot() keeps eigs' and slq's order) */
WB_SIMD_BODY sumsq_body(const double *restrict x, int64_t n, double *out)
{
    v4d s = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        s += *(const v4d *)(x + i) * *(const v4d *)(x + i);
    double s0 = s[0];
    for (; i < n; i++)
        s0 += x[i] * x[i];
    *out = (s0 + s[1]) + (s[2] + s[3]);
}
WB_SIMD_KERNEL(sumsq, sumsq_body, (const double *restrict x, int64_t n, double *out),
               (x, n, out))

/* x = a x + b y */
WB_SIMD_BODY axpby_body(double *restrict x, double a, const double *restrict y, double b,
                        int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = a * x[i] + b * y[i];
}
WB_SIMD_KERNEL(axpby, axpby_body,
               (double *restrict x, double a, const double *restrict y, double b, int64_t n),
               (x, a, y, b, n))

void wb_dv_sweep(double *w, double a, const double *x, const double *y, int64_t n, int upd,
                 int dot, double *out)
{
    WB_SIMD_CALL(sweep)(w, a, x, y, n, upd, dot, out);
}

void wb_dv_recur(double *qn, const double *hq, const double *q, const double *qp, double a,
                 double b, int64_t n, double *nn)
{
    WB_SIMD_CALL(recur)(qn, hq, q, qp, a, b, n, nn);
}

void wb_dv_ritz(double *y, const double *Q, const double *sv, int j, int64_t c, double *yy)
{
    WB_SIMD_CALL(ritz)(y, Q, sv, j, c, yy);
}

void wb_dv_sumsq(const double *x, int64_t n, double *out)
{
    WB_SIMD_CALL(sumsq)(x, n, out);
}

void wb_dv_axpby(double *x, double a, const double *y, double b, int64_t n)
{
    WB_SIMD_CALL(axpby)(x, a, y, b, n);
}
