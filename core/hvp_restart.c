/* hvp_restart.c - a Lanczos restart's direction (see hvp_restart.h). */
#include "hvp_restart.h"

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

static double dot(const double *a, const double *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

int wb_restart_dv(double *y, const double *Q, int j, int64_t c, uint64_t r)
{
    if (j >= c)
        return 0;
    for (int64_t i = 0; i < c; i++)
        y[i] = wb_restart_entry(r, (uint64_t)i);
    double n0 = sqrt(dot(y, y, c));
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < j; i++) { /* y -= (q_i . y) q_i */
            const double *q = Q + (size_t)i * (size_t)c;
            double a = dot(q, y, c);
            for (int64_t t = 0; t < c; t++)
                y[t] -= a * q[t];
        }
    double n1 = sqrt(dot(y, y, c));
    if (!(n1 > 1e-10 * n0))
        return 0;
    for (int64_t t = 0; t < c; t++)
        y[t] /= n1;
    return 1;
}
