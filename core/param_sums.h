/* param_sums.h - the instruments' four parameter sums over a tensor, walked
 * in pieces (internal to core, not part of the public API).
 *
 * Two callers must give the same bits: persample_vec.c's
 * wb_persample_params (one pass over a whole tensor, after the step) and
 * the optimizer's watched update when it sums L2's term g - c theta_t
 * (optim_watch.c: the step itself, a block of a tensor at a time, from
 * the level-1 cache; without that term it sums in float blocks). So the accumulation is
 * written once, here: eight double lanes per sum carried across the pieces
 * (wb_psums), entries in groups of eight in tensor order (entry 8 i + j to
 * lane j), then one fold and the tail of fewer than eight entries in
 * scalar double. A piece must start at a multiple of eight entries of its
 * tensor for the lanes to line up.
 *
 * The eight lanes are held as two vectors of four (lanes 0-3, 4-7): the
 * same operations per lane, but GCC 12 kept 64-byte vectors in memory in
 * the AVX2 copy (each add a store and a reload) and converted eight floats
 * with two shuffles in the AVX-512 one. The sums are bound by their double
 * arithmetic (four conversions, subtractions, squares and adds per entry),
 * not by memory, so each extra instruction shows.
 *
 * Legend (persample.h wb_persample_params): g the batch gradient, theta =
 * theta_{t+1} after the step, theta_t before it (hast = 0: theta + back g),
 * theta0 at the start of training, dir = theta - theta_t written when
 * hasdir, c = 2 l2 of the tensor's L2 term. need (WB_PSUM_*) says which
 * sums to take; the others stay 0. The flags are constants of each
 * caller's copy, so the loops test no pointer.
 */
#ifndef WB_PARAM_SUMS_H
#define WB_PARAM_SUMS_H

#include <stdint.h>

typedef double wb_v4d __attribute__((vector_size(32)));

/* which sums (bits of need) */
enum {
    WB_PSUM_G = 1, /* sum g^2 */
    WB_PSUM_M = 2, /* sum (g - c theta_t)^2 */
    WB_PSUM_D = 4, /* sum (theta_t - theta0)^2 (reads theta0) */
    WB_PSUM_U = 8, /* sum (theta - theta_t)^2 */
    WB_PSUM_ALL = 15
};

/* Lane sums of g^2, (g - c theta_t)^2, (theta_t - theta0)^2 and
 * (theta - theta_t)^2, lanes 0-3 in [0] and 4-7 in [1]; zeroed before a
 * tensor's first piece. */
typedef struct wb_psums {
    wb_v4d g2[2], m2[2], d2[2], u2[2];
} wb_psums;

#define WB_PSUMS_INLINE static inline __attribute__((always_inline))
/* four floats as doubles: written entry by entry, GCC 12 makes it one
 * vcvtps2pd from memory (__builtin_convertvector loaded two and two and
 * shuffled) */
#define WB_PSUMS_LOAD(p) ((wb_v4d){(p)[0], (p)[1], (p)[2], (p)[3]})

/* Add entries [0, n - n % 8) of a piece to a; returns how many it took. */
WB_PSUMS_INLINE int64_t wb_psums_add(wb_psums *a, const float *restrict g,
                                     const float *restrict theta,
                                     const float *restrict theta_t,
                                     const float *restrict theta0, float *restrict dir,
                                     double c, double back, int64_t n, int hast, int need,
                                     int hasdir)
{
    wb_v4d g0 = a->g2[0], g1 = a->g2[1], m0 = a->m2[0], m1 = a->m2[1];
    wb_v4d d0 = a->d2[0], d1 = a->d2[1], u0 = a->u2[0], u1 = a->u2[1];
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        /* lanes 0-3 (h = 0) and 4-7 (h = 4), each with its own sums */
#define WB_PSUMS_HALF(h, ga, ma, da, ua)                                           \
    do {                                                                           \
        wb_v4d gk = WB_PSUMS_LOAD(g + k + h), th = WB_PSUMS_LOAD(theta + k + h);   \
        wb_v4d tt = hast ? WB_PSUMS_LOAD(theta_t + k + h) : th + back * gk;       \
        if (need & WB_PSUM_G)                                                      \
            ga += gk * gk;                                                         \
        if (need & WB_PSUM_M) {                                                    \
            wb_v4d m = gk - c * tt;                                                \
            ma += m * m;                                                           \
        }                                                                          \
        if (need & WB_PSUM_U) {                                                    \
            wb_v4d u = th - tt;                                                    \
            ua += u * u;                                                           \
        }                                                                          \
        if (need & WB_PSUM_D) {                                                    \
            wb_v4d d = tt - WB_PSUMS_LOAD(theta0 + k + h);                         \
            da += d * d;                                                           \
        }                                                                          \
    } while (0)
        WB_PSUMS_HALF(0, g0, m0, d0, u0);
        WB_PSUMS_HALF(4, g1, m1, d1, u1);
#undef WB_PSUMS_HALF
        if (hasdir)
            for (int q = 0; q < 8; q++)
                dir[k + q] = theta[k + q] - theta_t[k + q];
    }
    a->g2[0] = g0, a->g2[1] = g1, a->m2[0] = m0, a->m2[1] = m1;
    a->d2[0] = d0, a->d2[1] = d1, a->u2[0] = u0, a->u2[1] = u1;
    return k;
}

/* persample_vec.c's fold of four eight-lane sums, three of them zero:
 * (s + 0) + (0 + 0) per lane, then the lanes pairwise */
WB_PSUMS_INLINE double wb_psums_fold(const wb_v4d s[2])
{
    wb_v4d z = {0};
    wb_v4d lo = (s[0] + z) + (z + z), hi = (s[1] + z) + (z + z);
    return ((lo[0] + lo[1]) + (lo[2] + lo[3])) + ((hi[0] + hi[1]) + (hi[2] + hi[3]));
}

/* The tensor's sums into s[4] (overwritten; those not in need 0): a's
 * lanes folded, then the entries [k, n) of the last piece (pointers as
 * given to its wb_psums_add, k what that returned) one by one. */
WB_PSUMS_INLINE void wb_psums_end(const wb_psums *a, double *restrict s,
                                  const float *restrict g, const float *restrict theta,
                                  const float *restrict theta_t,
                                  const float *restrict theta0, float *restrict dir,
                                  double c, double back, int64_t k, int64_t n, int hast,
                                  int need, int hasdir)
{
    s[0] = wb_psums_fold(a->g2), s[1] = wb_psums_fold(a->m2);
    s[2] = wb_psums_fold(a->d2), s[3] = wb_psums_fold(a->u2);
    for (; k < n; k++) {
        double gk = g[k], th = theta[k], tt = hast ? (double)theta_t[k] : th + back * gk;
        double m = gk - c * tt, u = th - tt;
        double d = need & WB_PSUM_D ? tt - theta0[k] : 0.0;
        if (need & WB_PSUM_G)
            s[0] += gk * gk;
        if (need & WB_PSUM_M)
            s[1] += m * m;
        s[2] += d * d;
        if (need & WB_PSUM_U)
            s[3] += u * u;
        if (hasdir)
            dir[k] = theta[k] - theta_t[k];
    }
}

#endif
