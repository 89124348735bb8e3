/* rng.c - xoshiro256** seeded by splitmix64, uniform, normal, permutation.
 * See rng.h. Reference: https://prng.di.unimi.it/xoshiro256starstar.c
 */
#include "rng.h"

#include <math.h>

static wb_rng global_rng;
static int global_seeded;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* splitmix64: a good 64-bit mix, used only to expand the seed. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void wb_rng_seed(wb_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->spare = 0;
    r->has_spare = 0;
}

wb_rng *wb_rng_global(void)
{
    if (!global_seeded) {
        wb_rng_seed(&global_rng, 0);
        global_seeded = 1;
    }
    return &global_rng;
}

uint64_t wb_rng_next(wb_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double wb_rng_uniform(wb_rng *r)
{
    return (double)(wb_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t wb_rng_below(wb_rng *r, uint64_t n)
{
    /* Lemire's multiply-shift with rejection of the biased low range. */
    unsigned __int128 m = (unsigned __int128)wb_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)wb_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double wb_rng_normal(wb_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do { /* a point uniform in the unit disc, not at the origin */
        u = 2.0 * wb_rng_uniform(r) - 1.0;
        v = 2.0 * wb_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

void wb_rng_fill_uniform(wb_rng *r, float *out, size_t n, double lo, double hi)
{
    double w = hi - lo;
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(lo + w * wb_rng_uniform(r));
}

void wb_rng_fill_normal(wb_rng *r, float *out, size_t n, double mean, double std)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(mean + std * wb_rng_normal(r));
}

void wb_rng_fill_truncated_normal(wb_rng *r, float *out, size_t n, double mean,
                                  double std)
{
    for (size_t i = 0; i < n; i++) {
        double z;
        do
            z = wb_rng_normal(r);
        while (fabs(z) > 2.0);
        out[i] = (float)(mean + std * z);
    }
}

void wb_rng_permutation_f32(wb_rng *r, float *out, size_t n, int64_t base)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(base + (int64_t)i);
    for (size_t i = n; i > 1; i--) { /* swap out[i-1] with a random out[j], j < i */
        size_t j = (size_t)wb_rng_below(r, i);
        float t = out[i - 1];
        out[i - 1] = out[j];
        out[j] = t;
    }
}
