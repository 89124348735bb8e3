/* rng.h - the workbench's deterministic random number generator.
 *
 * xoshiro256** (Blackman & Vigna, 2018), seeded through splitmix64 so that
 * any 64-bit seed (0 included) gives a good state. Fast (about 1 ns per
 * 64-bit draw), 2^256 - 1 period, and bit-identical on every platform: the
 * same seed always gives the same initial weights, dropout masks and
 * shuffles. Not cryptographic.
 *
 * A wb_rng is a plain value: tests may keep their own. The Lua bindings use
 * one process-wide generator, wb_rng_global(), seeded with 0 at start-up and
 * reseeded by wb.seed(n); Dense initialisation, Dropout masks, wb.rand/randn
 * and wb.randperm all draw from it. Nothing here allocates or can fail.
 */
#ifndef WB_RNG_H
#define WB_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct wb_rng {
    uint64_t s[4];
    double spare;  /* second normal of the last polar pair */
    int has_spare;
} wb_rng;

/* Reset r to the state for `seed` (also forgets a cached normal). */
void wb_rng_seed(wb_rng *r, uint64_t seed);
/* The process-wide generator of the bindings (seed 0 until reseeded). */
wb_rng *wb_rng_global(void);

/* Next raw 64-bit output. */
uint64_t wb_rng_next(wb_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double wb_rng_uniform(wb_rng *r);
/* Uniform integer in [0, n) without modulo bias (Lemire); n > 0. */
uint64_t wb_rng_below(wb_rng *r, uint64_t n);
/* Standard normal N(0, 1) (Marsaglia's polar method, pairs cached). */
double wb_rng_normal(wb_rng *r);

/* out[i] = lo + (hi - lo) * U[0, 1), for i < n. */
void wb_rng_fill_uniform(wb_rng *r, float *out, size_t n, double lo, double hi);
/* out[i] = mean + std * N(0, 1). */
void wb_rng_fill_normal(wb_rng *r, float *out, size_t n, double mean, double std);
/* Truncated normal as Keras/TF draw it: N(0, 1) re-drawn while |z| > 2,
 * then out[i] = mean + std * z. */
void wb_rng_fill_truncated_normal(wb_rng *r, float *out, size_t n, double mean,
                                  double std);
/* out = a random permutation of base, base + 1, ..., base + n - 1
 * (Fisher-Yates, uniform). Exact as float for n <= 2^24. */
void wb_rng_permutation_f32(wb_rng *r, float *out, size_t n, int64_t base);

#endif
