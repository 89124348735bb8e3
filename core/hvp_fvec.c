/* hvp_fvec.c - the float sweeps of Lanczos (see hvp_fvec.h). */
#include "hvp_fvec.h"

#include <stddef.h>

#include "simd.h"

typedef wb_v16f v16f;

/* *out = ||x||^2 */
WB_SIMD_BODY fsumsq_body(const float *restrict x, int64_t n, double *out)
{
    double s = 0;
    int64_t i = 0;
    while (i + 16 <= n) {
        v16f acc = {0};
        int64_t e = i + WB_FV_BLOCK < n ? i + WB_FV_BLOCK : n;
        for (; i + 16 <= e; i += 16) {
            v16f xs = wb_fv_small0(*(const v16f *)(x + i));
            acc += xs * xs;
        }
        s += wb_fv_lanes(acc);
    }
    for (; i < n; i++)
        s += (double)x[i] * (double)x[i];
    *out = s;
}
WB_SIMD_KERNEL(fsumsq, fsumsq_body, (const float *restrict x, int64_t n, double *out),
               (x, n, out))

/* y = a x + b g; *yy += ||y||^2 (the start: unit Ritz vector plus gradient) */
WB_SIMD_BODY fmix_body(float *restrict y, const float *restrict x, const float *restrict g,
                       float a, float b, int64_t n, double *yy)
{
    double s = 0;
    int64_t i = 0;
    while (i + 16 <= n) {
        v16f acc = {0};
        int64_t e = i + WB_FV_BLOCK < n ? i + WB_FV_BLOCK : n;
        for (; i + 16 <= e; i += 16) {
            v16f w = wb_fv_flush(a * *(const v16f *)(x + i) + b * *(const v16f *)(g + i));
            *(v16f *)(y + i) = w;
            w = wb_fv_small0(w);
            acc += w * w;
        }
        s += wb_fv_lanes(acc);
    }
    for (; i < n; i++) {
        y[i] = wb_fv_flush1(a * x[i] + b * g[i]);
        s += (double)y[i] * (double)y[i];
    }
    *yy += s;
}
WB_SIMD_KERNEL(fmix, fmix_body,
               (float *restrict y, const float *restrict x, const float *restrict g, float a,
                float b, int64_t n, double *yy),
               (y, x, g, a, b, n, yy))

/* w = a w - b up - c u; *nn = ||w||^2, *wu = w . u (the step's one sweep,
 * in place) */
WB_SIMD_BODY frec_body(float *restrict w, const float *restrict up, const float *restrict u,
                       float a, float b, float c, int64_t n, double *nn, double *wu)
{
    double s = 0, x = 0;
    int64_t i = 0;
    while (i + 16 <= n) {
        v16f acc = {0}, acx = {0};
        int64_t e = i + WB_FV_BLOCK < n ? i + WB_FV_BLOCK : n;
        for (; i + 16 <= e; i += 16) {
            v16f uv = *(const v16f *)(u + i);
            v16f r = wb_fv_flush(a * *(const v16f *)(w + i) - b * *(const v16f *)(up + i) -
                                 c * uv);
            *(v16f *)(w + i) = r;
            v16f rs = wb_fv_small0(r);
            acc += rs * rs;
            acx += rs * wb_fv_small0(uv);
        }
        s += wb_fv_lanes(acc);
        x += wb_fv_lanes(acx);
    }
    for (; i < n; i++) {
        w[i] = wb_fv_flush1(a * w[i] - b * up[i] - c * u[i]);
        s += (double)w[i] * (double)w[i];
        x += (double)w[i] * (double)u[i];
    }
    *nn = s, *wu = x;
}
WB_SIMD_KERNEL(frec, frec_body,
               (float *restrict w, const float *restrict up, const float *restrict u, float a,
                float b, float c, int64_t n, double *nn, double *wu),
               (w, up, u, a, b, c, n, nn, wu))

/* w = a w - b1 x1 - b2 x2; then (dots) *d1 = w . u1, *d2 = w . u2, or
 * (not dots) *d1 = ||w||^2 (band Lanczos, core/hvp_band.c: the known rows
 * off with the dots of the rows not yet multiplied in one pass, then
 * those rows off with the norm). Only the sums asked for: with all
 * three, the second sweep of a product cost about as much as the first
 * (AMD EPYC, AVX-512), though it reads two rows fewer. */
WB_SIMD_BODY frec2_body(float *restrict w, const float *restrict x1, const float *restrict x2,
                        const float *restrict u1, const float *restrict u2, float a, float b1,
                        float b2, int64_t n, double *d1, double *d2, int dots)
{
    double y1 = 0, y2 = 0;
    int64_t i = 0;
    while (i + 16 <= n) {
        v16f ac1 = {0}, ac2 = {0};
        int64_t e = i + WB_FV_BLOCK < n ? i + WB_FV_BLOCK : n;
        for (; i + 16 <= e; i += 16) {
            v16f r = wb_fv_flush(a * *(const v16f *)(w + i) - b1 * *(const v16f *)(x1 + i) -
                                 b2 * *(const v16f *)(x2 + i));
            *(v16f *)(w + i) = r;
            v16f rs = wb_fv_small0(r);
            if (dots) {
                ac1 += rs * wb_fv_small0(*(const v16f *)(u1 + i));
                ac2 += rs * wb_fv_small0(*(const v16f *)(u2 + i));
            } else {
                ac1 += rs * rs;
            }
        }
        y1 += wb_fv_lanes(ac1);
        if (dots)
            y2 += wb_fv_lanes(ac2);
    }
    for (; i < n; i++) {
        w[i] = wb_fv_flush1(a * w[i] - b1 * x1[i] - b2 * x2[i]);
        if (dots)
            y1 += (double)w[i] * (double)u1[i], y2 += (double)w[i] * (double)u2[i];
        else
            y1 += (double)w[i] * (double)w[i];
    }
    *d1 = y1;
    if (dots)
        *d2 = y2;
}
WB_SIMD_KERNEL(frec2, frec2_body,
               (float *restrict w, const float *restrict x1, const float *restrict x2,
                const float *restrict u1, const float *restrict u2, float a, float b1,
                float b2, int64_t n, double *d1, double *d2),
               (w, x1, x2, u1, u2, a, b1, b2, n, d1, d2, 1))
WB_SIMD_KERNEL(frec2n, frec2_body,
               (float *restrict w, const float *restrict x1, const float *restrict x2,
                float a, float b1, float b2, int64_t n, double *nn),
               (w, x1, x2, NULL, NULL, a, b1, b2, n, nn, NULL, 0))

/* x, y = a11 x + a12 y, a21 x + a22 y (in place) */
WB_SIMD_BODY frot_body(float *restrict x, float *restrict y, float a11, float a12, float a21,
                       float a22, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16f u = *(const v16f *)(x + i), v = *(const v16f *)(y + i);
        *(v16f *)(x + i) = wb_fv_flush(a11 * u + a12 * v);
        *(v16f *)(y + i) = wb_fv_flush(a21 * u + a22 * v);
    }
    for (; i < n; i++) {
        float u = x[i], v = y[i];
        x[i] = wb_fv_flush1(a11 * u + a12 * v), y[i] = wb_fv_flush1(a21 * u + a22 * v);
    }
}
WB_SIMD_KERNEL(frot, frot_body,
               (float *restrict x, float *restrict y, float a11, float a12, float a21,
                float a22, int64_t n),
               (x, y, a11, a12, a21, a22, n))

/* *xx = ||x||^2, *xy = x . y, *yy = ||y||^2 (reads only) */
WB_SIMD_BODY fgram_body(const float *restrict x, const float *restrict y, int64_t n,
                        double *xx, double *xy, double *yy)
{
    double s = 0, t = 0, u = 0;
    int64_t i = 0;
    while (i + 16 <= n) {
        v16f a = {0}, b = {0}, c = {0};
        int64_t e = i + WB_FV_BLOCK < n ? i + WB_FV_BLOCK : n;
        for (; i + 16 <= e; i += 16) {
            v16f xs = wb_fv_small0(*(const v16f *)(x + i)), ys = wb_fv_small0(*(const v16f *)(y + i));
            a += xs * xs, b += xs * ys, c += ys * ys;
        }
        s += wb_fv_lanes(a), t += wb_fv_lanes(b), u += wb_fv_lanes(c);
    }
    for (; i < n; i++) {
        s += (double)x[i] * (double)x[i], t += (double)x[i] * (double)y[i];
        u += (double)y[i] * (double)y[i];
    }
    *xx = s, *xy = t, *yy = u;
}
WB_SIMD_KERNEL(fgram, fgram_body,
               (const float *restrict x, const float *restrict y, int64_t n, double *xx,
                double *xy, double *yy),
               (x, y, n, xx, xy, yy))

/* y [c] = sum_i s_i F_i over j <= 64 float rows (stride st), written in
 * double (dbl) or float; *yy += ||y||^2 */
WB_SIMD_BODY fritz_body(double *restrict y, float *restrict yf, const float *restrict F,
                        const double *restrict sv, int j, int64_t st, int64_t c, double *yy,
                        int dbl)
{
    float sf[64];
    for (int i = 0; i < j && i < 64; i++)
        sf[i] = (float)sv[i];
    double s = 0;
    int64_t t = 0;
    while (t + 16 <= c) {
        v16f acc = {0};
        int64_t e = t + WB_FV_BLOCK < c ? t + WB_FV_BLOCK : c;
        for (; t + 16 <= e; t += 16) {
            v16f ay = {0};
            for (int i = 0; i < j; i++)
                ay += sf[i] * *(const v16f *)(F + (size_t)i * (size_t)st + t);
            if (dbl)
                for (int l = 0; l < 16; l++)
                    y[t + l] = (double)ay[l];
            else
                *(v16f *)(yf + t) = ay = wb_fv_flush(ay);
            ay = wb_fv_small0(ay);
            acc += ay * ay;
        }
        s += wb_fv_lanes(acc);
    }
    for (; t < c; t++) {
        float ay = 0;
        for (int i = 0; i < j; i++)
            ay += sf[i] * F[(size_t)i * (size_t)st + t];
        if (dbl)
            y[t] = (double)ay;
        else
            yf[t] = ay = wb_fv_flush1(ay);
        s += (double)ay * (double)ay;
    }
    *yy += s;
}
WB_SIMD_KERNEL(fritz, fritz_body,
               (double *restrict y, const float *restrict F, const double *restrict sv,
                int j, int64_t st, int64_t c, double *yy),
               (y, NULL, F, sv, j, st, c, yy, 1))
WB_SIMD_KERNEL(fritzf, fritz_body,
               (float *restrict y, const float *restrict F, const double *restrict sv,
                int j, int64_t st, int64_t c, double *yy),
               (NULL, y, F, sv, j, st, c, yy, 0))


void wb_fv_fsumsq(const float *x, int64_t n, double *out)
{
    WB_SIMD_CALL(fsumsq)(x, n, out);
}

void wb_fv_fmix(float *y, const float *x, const float *g, float a, float b, int64_t n,
                double *yy)
{
    WB_SIMD_CALL(fmix)(y, x, g, a, b, n, yy);
}

void wb_fv_frec(float *w, const float *up, const float *u, float a, float b, float c,
                int64_t n, double *nn, double *wu)
{
    WB_SIMD_CALL(frec)(w, up, u, a, b, c, n, nn, wu);
}

void wb_fv_fritz(double *y, const float *F, const double *sv, int j, int64_t st, int64_t n,
                 double *yy)
{
    WB_SIMD_CALL(fritz)(y, F, sv, j, st, n, yy);
}

void wb_fv_fritzf(float *y, const float *F, const double *sv, int j, int64_t st, int64_t n,
                  double *yy)
{
    WB_SIMD_CALL(fritzf)(y, F, sv, j, st, n, yy);
}

void wb_fv_frec2(float *w, const float *x1, const float *x2, const float *u1, const float *u2,
                 float a, float b1, float b2, int64_t n, double *d1, double *d2)
{
    WB_SIMD_CALL(frec2)(w, x1, x2, u1, u2, a, b1, b2, n, d1, d2);
}

void wb_fv_frec2n(float *w, const float *x1, const float *x2, float a, float b1, float b2,
                  int64_t n, double *nn)
{
    WB_SIMD_CALL(frec2n)(w, x1, x2, a, b1, b2, n, nn);
}

void wb_fv_frot(float *x, float *y, float a11, float a12, float a21, float a22, int64_t n)
{
    WB_SIMD_CALL(frot)(x, y, a11, a12, a21, a22, n);
}

void wb_fv_fgram(const float *x, const float *y, int64_t n, double *xx, double *xy, double *yy)
{
    WB_SIMD_CALL(fgram)(x, y, n, xx, xy, yy);
}
