/* persample_vec.c - the instruments' sums over parameter vectors: squared
 * norms and distances, Cockpit's GSNR (persample.h
 * "Vector helpers"), in double over float data.
 *
 * Why vectorised by hand: the compiler does not vectorise a reduction in
 * double without -ffast-math, and a loop of four scalar chains ran at about
 * one entry per cycle; four such sums over the baseline's 100k parameters
 * cost more than its whole training step (issue 16). Here each sum keeps
 * four vectors of eight double partial sums (explicit vector types, so the
 * baseline, AVX2 and AVX-512 copies of core/simd.h do the same operations
 * in the same order and give the same bits), folded in a fixed order.
 */
#include "persample.h"

#include "param_sums.h"
#include "simd.h"

typedef double v8d __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32), aligned(4)));

#define LOAD(p) __builtin_convertvector(*(const v8f *)(p), v8d)

static inline __attribute__((always_inline)) double fold(v8d s0, v8d s1, v8d s2, v8d s3)
{
    v8d s = (s0 + s1) + (s2 + s3);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* *out = sum (a - c b)^2 (b NULL: sum a^2). */
WB_SIMD_BODY sqdist_body(double *out, const float *a, const float *b, double c, int64_t n)
{
    v8d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int64_t k = 0;
    if (b) {
        for (; k + 32 <= n; k += 32) {
            v8d d0 = LOAD(a + k) - c * LOAD(b + k), d1 = LOAD(a + k + 8) - c * LOAD(b + k + 8);
            v8d d2 = LOAD(a + k + 16) - c * LOAD(b + k + 16);
            v8d d3 = LOAD(a + k + 24) - c * LOAD(b + k + 24);
            s0 += d0 * d0, s1 += d1 * d1, s2 += d2 * d2, s3 += d3 * d3;
        }
    } else {
        for (; k + 32 <= n; k += 32) {
            v8d d0 = LOAD(a + k), d1 = LOAD(a + k + 8), d2 = LOAD(a + k + 16);
            v8d d3 = LOAD(a + k + 24);
            s0 += d0 * d0, s1 += d1 * d1, s2 += d2 * d2, s3 += d3 * d3;
        }
    }
    double s = fold(s0, s1, s2, s3);
    for (; k < n; k++) {
        double d = (double)a[k] - (b ? c * b[k] : 0.0);
        s += d * d;
    }
    *out = s;
}
WB_SIMD_KERNEL(sqdist, sqdist_body,
               (double *out, const float *a, const float *b, double c, int64_t n),
               (out, a, b, c, n))

double wb_persample_sqdist(const float *a, const float *b, int64_t n)
{
    double s;
    WB_SIMD_CALL(sqdist)(&s, a, b, 1.0, n);
    return s;
}

/* *out = sum (r + b) d (b NULL: sum r d); two chains of eight lanes (a
 * scalar double chain was a cycle or four an entry: as long as the walk
 * that made r, at batch 128 and 128 outputs). */
WB_SIMD_BODY rowdot_body(double *out, const float *r, const float *b, const float *d,
                         int64_t n)
{
    v8d s0 = {0}, s1 = {0}, z = {0};
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        v8d r0 = LOAD(r + k), r1 = LOAD(r + k + 8);
        if (b)
            r0 += LOAD(b + k), r1 += LOAD(b + k + 8);
        s0 += r0 * LOAD(d + k), s1 += r1 * LOAD(d + k + 8);
    }
    double s = fold(s0, s1, z, z);
    for (; k < n; k++)
        s += ((double)r[k] + (b ? (double)b[k] : 0.0)) * d[k];
    *out = s;
}
WB_SIMD_KERNEL(rowdot, rowdot_body,
               (double *out, const float *r, const float *b, const float *d, int64_t n),
               (out, r, b, d, n))

double wb_persample_rowdot(const float *r, const float *b, const float *d, int64_t n)
{
    double s;
    WB_SIMD_CALL(rowdot)(&s, r, b, d, n);
    return s;
}

/* *out = sum (S / B) / (D + eps), as (sum S / (D + eps)) / B: one division
 * an entry, not two (a double division is a quarter of tic's cost). */
WB_SIMD_BODY ticd_body(double *out, const float *S, const float *D, int64_t n, double B,
                       double eps)
{
    v8d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int64_t k = 0;
    for (; k + 32 <= n; k += 32) {
        v8d r[4];
        for (int q = 0; q < 4; q++)
            r[q] = LOAD(S + k + 8 * q) / (LOAD(D + k + 8 * q) + eps);
        s0 += r[0], s1 += r[1], s2 += r[2], s3 += r[3];
    }
    double s = fold(s0, s1, s2, s3);
    for (; k < n; k++)
        s += (double)S[k] / ((double)D[k] + eps);
    *out = s / B;
}
WB_SIMD_KERNEL(ticd, ticd_body,
               (double *out, const float *S, const float *D, int64_t n, double B, double eps),
               (out, S, D, n, B, eps))

double wb_persample_tic_diag(const float *S, const float *D, int64_t n, double B, double eps)
{
    double s;
    WB_SIMD_CALL(ticd)(&s, S, D, n, B, eps);
    return s;
}

/* wb_persample_params in one pass, each of theta_t, theta0 and dir present
 * or not as a constant of the copy (the loop tests no pointer); without
 * theta_t it is theta + back g. The sums are param_sums.h's, which the
 * optimizer's watched update (optim_watch.c) walks a block at a time: the
 * same bits. */
WB_SIMD_BODY params_body(double *restrict s, const float *restrict g,
                         const float *restrict theta, const float *restrict theta_t,
                         const float *restrict theta0, float *restrict dir, double c,
                         double back, int64_t n, int hast, int has0, int hasdir)
{
    const int need = WB_PSUM_G | WB_PSUM_M | WB_PSUM_U | (has0 ? WB_PSUM_D : 0);
    wb_psums a = {{{0}}, {{0}}, {{0}}, {{0}}};
    int64_t k = wb_psums_add(&a, g, theta, theta_t, theta0, dir, c, back, n, hast, need,
                             hasdir);
    wb_psums_end(&a, s, g, theta, theta_t, theta0, dir, c, back, k, n, hast, need, hasdir);
}
#define PARAMS_PARAMS                                                              \
    (double *restrict s, const float *restrict g, const float *restrict theta,     \
     const float *restrict theta_t, const float *restrict theta0, float *restrict dir, \
     double c, double back, int64_t n)
#define PARAMS_KERNEL(name, t, z, d) \
    WB_SIMD_KERNEL(name, params_body, PARAMS_PARAMS, \
                   (s, g, theta, theta_t, theta0, dir, c, back, n, t, z, d))
PARAMS_KERNEL(params100, 1, 0, 0)
PARAMS_KERNEL(params101, 1, 0, 1)
PARAMS_KERNEL(params110, 1, 1, 0)
PARAMS_KERNEL(params111, 1, 1, 1)
PARAMS_KERNEL(params000, 0, 0, 0)
PARAMS_KERNEL(params010, 0, 1, 0)

/* Plain SGD with theta0 (c = 0, no theta_t): only sum g^2 and the
 * distance are read from the data, the rest follows from them. Blocks of
 * 64 entries are summed in float (eight-lane vectors, four terms per
 * lane: a relative rounding of about 1e-7, far below what the statistics
 * resolve) and the blocks in double: converting every entry to double cost
 * as much as the training step's whole update. */
#define LOADF(p) (*(const v8f *)(p))
#define WIDEN(v) __builtin_convertvector(v, v8d)

WB_SIMD_BODY sgd_dist_body(double *restrict s, const float *restrict g,
                           const float *restrict theta, const float *restrict theta0,
                           double back, int64_t n)
{
    v8d g2 = {0}, d2 = {0};
    float b = (float)back;
    int64_t k = 0;
    for (; k + 64 <= n; k += 64) {
        v8f ga = {0}, gb = {0}, da = {0}, db = {0};
        for (int q = 0; q < 64; q += 16) {
            v8f g0 = LOADF(g + k + q), g1 = LOADF(g + k + q + 8);
            v8f d0 = LOADF(theta + k + q) + b * g0 - LOADF(theta0 + k + q);
            v8f d1 = LOADF(theta + k + q + 8) + b * g1 - LOADF(theta0 + k + q + 8);
            ga += g0 * g0, gb += g1 * g1, da += d0 * d0, db += d1 * d1;
        }
        g2 += WIDEN(ga) + WIDEN(gb), d2 += WIDEN(da) + WIDEN(db);
    }
    v8d z = {0};
    s[0] = fold(g2, z, z, z), s[2] = fold(d2, z, z, z);
    for (; k < n; k++) {
        float gk = g[k], d = theta[k] + b * gk - theta0[k];
        s[0] += (double)(gk * gk), s[2] += (double)(d * d);
    }
}
WB_SIMD_KERNEL(sgd_dist, sgd_dist_body,
               (double *restrict s, const float *restrict g, const float *restrict theta,
                const float *restrict theta0, double back, int64_t n),
               (s, g, theta, theta0, back, n))

void wb_persample_params(double s[4], const float *g, const float *theta,
                         const float *theta_t, const float *theta0, float *dir, double c,
                         double back, int64_t n)
{
    if (!theta_t && c == 0.0) { /* plain SGD: all from sum g^2 and the distance */
        if (theta0)
            WB_SIMD_CALL(sgd_dist)(s, g, theta, theta0, back, n);
        else
            WB_SIMD_CALL(sqdist)(&s[0], g, NULL, 1.0, n), s[2] = 0.0;
        s[1] = s[0], s[3] = back * back * s[0];
    } else if (!theta_t) /* dir needs theta_t: without it, none is written */
        (theta0 ? WB_SIMD_CALL(params010) : WB_SIMD_CALL(params000))(
            s, g, theta, theta_t, theta0, NULL, c, back, n);
    else if (theta0)
        (dir ? WB_SIMD_CALL(params111) : WB_SIMD_CALL(params110))(s, g, theta, theta_t, theta0,
                                                                  dir, c, back, n);
    else
        (dir ? WB_SIMD_CALL(params101) : WB_SIMD_CALL(params100))(s, g, theta, theta_t, theta0,
                                                                  dir, c, back, n);
}
