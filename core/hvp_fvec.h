/* hvp_fvec.h - the float sweeps of Lanczos on a float32 HVP engine
 * (core/hvp_eig.c wb_hvp_top_f32; internal to the HVP code).
 *
 * Each sweeps float vectors of P entries (100,000s): their memory traffic,
 * not the arithmetic, is most of a Lanczos step beside the product, so
 * each does all it can in one pass. Float arithmetic 16 lanes wide, each
 * block of 256 entries' sums added into double (a float sum over 100,000
 * entries would lose digits; over 256 it keeps what the products' own
 * float precision has). Compiled for the baseline, AVX2 and AVX-512
 * (core/simd.h), the same operations in the same order in each.
 */
#ifndef WB_HVP_FVEC_H
#define WB_HVP_FVEC_H

#include <stdint.h>

/* Entries per block whose float sums are added into double (the header's
 * 256; also the fused product's v . H v, core/hvp_sparse.c). */
#define WB_FV_BLOCK 256

/* The sum of a float vector's 16 lanes in double, as a tree (depth 4: a
 * chain of 16 adds was a quarter of a sweep over 128-float rows).
 * always_inline: a 512-bit argument to a function compiled once for the
 * baseline breaks the calling convention from the AVX-512 copies when the
 * compiler does not inline it (at -O1, the sanitizer build: NaN sums). */
typedef float wb_v16f __attribute__((vector_size(64), aligned(4)));
static inline __attribute__((always_inline)) double wb_fv_lanes(wb_v16f v)
{
    double t[8];
    for (int l = 0; l < 8; l++)
        t[l] = (double)v[l] + (double)v[l + 8];
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}

/* r, each lane that is subnormal made a zero of its sign. A component of a
 * Lanczos vector in the Hessian's null space (the weights of a pixel 0 in
 * the whole batch) shrinks at every step, and the warm start carries it
 * from one measured step to the next, down into the subnormal floats, on
 * which Intel CPUs take a microcode assist per operation: hess_max took 1.7
 * times as long on one. A subnormal component moves no eigenvalue a float
 * holds (it is 2^-126 of the vector's unit norm). */
typedef int32_t wb_v16i __attribute__((vector_size(64), aligned(4)));
static inline __attribute__((always_inline)) wb_v16f wb_fv_flush(wb_v16f r)
{
    wb_v16i bits = (wb_v16i)r;
    wb_v16i tiny = (bits & 0x7fffffff) < 0x00800000; /* -1 where zero or subnormal */
    return (wb_v16f)(bits & ~(tiny & 0x7fffffff));
}
/* r, each lane below 2^-63 in magnitude made +0, for a sum of squares (or
 * of products with another such lane): its square, below 2^-126, is a
 * subnormal float, each one a microcode assist on Intel CPUs (hess_max's
 * sweeps 1.15x slower), and it adds nothing a sum over a vector of norm
 * above about 1e-7 holds (blocks of 256 summed in float, then in double:
 * the same bits; test_simd_widths). */
static inline __attribute__((always_inline)) wb_v16f wb_fv_small0(wb_v16f r)
{
    wb_v16i bits = (wb_v16i)r;
    wb_v16i tiny = (bits & 0x7fffffff) < 0x20000000; /* |r| < 2^-63 */
    return (wb_v16f)(bits & ~tiny);
}
/* The same for one float. */
static inline __attribute__((always_inline)) float wb_fv_flush1(float r)
{
    return r > -1.17549435e-38f && r < 1.17549435e-38f ? r * 0.0f : r;
}

/* *out = ||x [n]||^2 */
void wb_fv_fsumsq(const float *x, int64_t n, double *out);
/* y = a x + b g; *yy += ||y||^2 */
void wb_fv_fmix(float *y, const float *x, const float *g, float a, float b, int64_t n,
                double *yy);
/* w = a w - b up - c u (in place); *nn = ||w||^2, *wu = w . u */
void wb_fv_frec(float *w, const float *up, const float *u, float a, float b, float c,
                int64_t n, double *nn, double *wu);
/* w = a w - b1 x1 - b2 x2 (in place); *d1 = w . u1, *d2 = w . u2 (x1, x2,
 * u1, u2 may be the same rows, not w); frec2n: *nn = ||w||^2 instead */
void wb_fv_frec2(float *w, const float *x1, const float *x2, const float *u1, const float *u2,
                 float a, float b1, float b2, int64_t n, double *d1, double *d2);
void wb_fv_frec2n(float *w, const float *x1, const float *x2, float a, float b1, float b2,
                  int64_t n, double *nn);
/* x, y = a11 x + a12 y, a21 x + a22 y (in place) */
void wb_fv_frot(float *x, float *y, float a11, float a12, float a21, float a22, int64_t n);
/* *xx = ||x||^2, *xy = x . y, *yy = ||y||^2 */
void wb_fv_fgram(const float *x, const float *y, int64_t n, double *xx, double *xy, double *yy);
/* y [n] = sum_i sv_i F_i over j <= 64 float rows (stride st), in double
 * (fritz) or float (fritzf); *yy += ||y||^2 */
void wb_fv_fritz(double *y, const float *F, const double *sv, int j, int64_t st, int64_t n,
                 double *yy);
void wb_fv_fritzf(float *y, const float *F, const double *sv, int j, int64_t st, int64_t n,
                  double *yy);

#endif
