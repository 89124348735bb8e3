/* hvp_restart.c - a Lanczos restart's direction (see hvp_restart.h). */
#include "hvp_restart.h"
#include "hvp_dvec.h"

#include <math.h>
#include <stddef.h>

double wb_restart_entry(uint64_t r, uint64_t i)
{
    uint64_t z = r * 0x9E3779B97F4A7C15u + i * 0xBF58476D1CE4E5B9u + 0x94D049BB133111EBu;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-52 - 1;
}

int wb_restart_dv(double *y, const double *Q, int j, int64_t c, uint64_t r)
{
    if (j >= c)
        return 0;
    for (int64_t i = 0; i < c; i++)
        y[i] = wb_restart_entry(r, (uint64_t)i);
    double n0 = sqrt(wb_dv_dot(y, y, c));
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < j; i++) { /* y -= (q_i . y) q_i */
            const double *q = Q + (size_t)i * (size_t)c;
            double a = wb_dv_dot(q, y, c);
            for (int64_t t = 0; t < c; t++)
                y[t] -= a * q[t];
        }
    double n1 = sqrt(wb_dv_dot(y, y, c));
    if (!(n1 > 1e-10 * n0))
        return 0;
    for (int64_t t = 0; t < c; t++)
        y[t] /= n1;
    return 1;
}

/* the live part's y . u */
static double fdot(const float *u, const float *y, const int64_t *seg, int nseg)
{
    double d = 0;
    for (int s = 0; s < nseg; s++)
        for (int64_t t = seg[2 * s]; t < seg[2 * s + 1]; t++)
            d += (double)u[t] * (double)y[t];
    return d;
}

int wb_restart_fv(float *y, const float *F, const double *sig, const double *gam, double dd,
                  const int64_t *seg, int nseg, int j, int64_t c, uint64_t r, double *g,
                  double *nn)
{
    for (int s = 0; s < nseg; s++)
        for (int64_t t = seg[2 * s]; t < seg[2 * s + 1]; t++)
            y[t] = (float)wb_restart_entry(r, (uint64_t)t);
    double n0 = sqrt(fdot(y, y, seg, nseg)), gy = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < j; i++) {
            const float *u = F + (size_t)i * (size_t)c;
            /* y -= (q_i . y) q_i, q_i = sig_i u_i, the off-live share too */
            double a = (fdot(u, y, seg, nseg) + gy * gam[i] * dd) * sig[i] * sig[i];
            for (int s = 0; s < nseg; s++)
                for (int64_t t = seg[2 * s]; t < seg[2 * s + 1]; t++)
                    y[t] = (float)((double)y[t] - a * (double)u[t]);
            gy -= a * gam[i];
        }
    *g = gy;
    *nn = sqrt(fdot(y, y, seg, nseg) + gy * gy * dd);
    return *nn > 1e-5 * n0;
}
