/* param_sums.h - the instruments' four parameter sums over a tensor, walked
 * in pieces (internal to core, not part of the public API).
 *
 * Two callers must give the same bits: persample_vec.c's
 * wb_persample_params (one pass over a whole tensor, after the step) and
 * the optimizer's watched update (optim_watch.c: the step itself, a block
 * of a tensor at a time, from the level-1 cache). So the accumulation is
 * written once, here: eight double lanes per sum carried across the pieces
 * (wb_psums), entries in groups of eight in tensor order, then one fold and
 * the tail of fewer than eight entries in scalar double. A piece must start
 * at a multiple of eight entries of its tensor for the lanes to line up.
 *
 * Legend (persample.h wb_persample_params): g the batch gradient, theta =
 * theta_{t+1} after the step, theta_t before it (hast = 0: theta + back g),
 * theta0 at the start of training (has0), dir = theta - theta_t written
 * when hasdir, c = 2 l2 of the tensor's L2 term. The flags are constants
 * of each caller's copy, so the loops test no pointer.
 */
#ifndef WB_PARAM_SUMS_H
#define WB_PARAM_SUMS_H

#include <stdint.h>

typedef double wb_v8d __attribute__((vector_size(64)));
typedef float wb_v8f __attribute__((vector_size(32), aligned(4)));

/* Lane sums of g^2, (g - c theta_t)^2, (theta_t - theta0)^2 and
 * (theta - theta_t)^2; zeroed before a tensor's first piece. */
typedef struct wb_psums {
    wb_v8d g2, m2, d2, u2;
} wb_psums;

#define WB_PSUMS_INLINE static inline __attribute__((always_inline))
#define WB_PSUMS_LOAD(p) __builtin_convertvector(*(const wb_v8f *)(p), wb_v8d)

/* Add entries [0, n - n % 8) of a piece to a; returns how many it took. */
WB_PSUMS_INLINE int64_t wb_psums_add(wb_psums *a, const float *restrict g,
                                     const float *restrict theta,
                                     const float *restrict theta_t,
                                     const float *restrict theta0, float *restrict dir,
                                     double c, double back, int64_t n, int hast, int has0,
                                     int hasdir)
{
    wb_v8d g2 = a->g2, m2 = a->m2, d2 = a->d2, u2 = a->u2;
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        wb_v8d gk = WB_PSUMS_LOAD(g + k), th = WB_PSUMS_LOAD(theta + k);
        wb_v8d tt = hast ? WB_PSUMS_LOAD(theta_t + k) : th + back * gk;
        wb_v8d m = gk - c * tt, u = th - tt;
        g2 += gk * gk, m2 += m * m, u2 += u * u;
        if (has0) {
            wb_v8d d = tt - WB_PSUMS_LOAD(theta0 + k);
            d2 += d * d;
        }
        if (hasdir)
            for (int q = 0; q < 8; q++)
                dir[k + q] = theta[k + q] - theta_t[k + q];
    }
    a->g2 = g2, a->m2 = m2, a->d2 = d2, a->u2 = u2;
    return k;
}

/* persample_vec.c's fold of four lane sums with three of them zero */
WB_PSUMS_INLINE double wb_psums_fold(wb_v8d s0)
{
    wb_v8d z = {0};
    wb_v8d s = (s0 + z) + (z + z);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* The tensor's sums into s[4] (overwritten): a's lanes folded, then the
 * entries [k, n) of the last piece (pointers as given to its
 * wb_psums_add, k what that returned) one by one. */
WB_PSUMS_INLINE void wb_psums_end(const wb_psums *a, double *restrict s,
                                  const float *restrict g, const float *restrict theta,
                                  const float *restrict theta_t,
                                  const float *restrict theta0, float *restrict dir,
                                  double c, double back, int64_t k, int64_t n, int hast,
                                  int has0, int hasdir)
{
    s[0] = wb_psums_fold(a->g2), s[1] = wb_psums_fold(a->m2);
    s[2] = wb_psums_fold(a->d2), s[3] = wb_psums_fold(a->u2);
    for (; k < n; k++) {
        double gk = g[k], th = theta[k], tt = hast ? (double)theta_t[k] : th + back * gk;
        double m = gk - c * tt, u = th - tt, d = has0 ? tt - theta0[k] : 0.0;
        s[0] += gk * gk, s[1] += m * m, s[2] += d * d, s[3] += u * u;
        if (hasdir)
            dir[k] = theta[k] - theta_t[k];
    }
}

#endif
