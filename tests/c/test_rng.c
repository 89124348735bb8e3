/* test_rng.c - xoshiro256** outputs, distributions, permutation, global. */
#include <stdint.h>
#include <stdlib.h>

#include "../../core/rng.h"
#include "harness.h"

static void test_reference_outputs(void)
{
    /* xoshiro256** seeded by splitmix64, computed independently (Python) */
    static const uint64_t want0[3] = {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL,
                                      0x1a5f849d4933e6e0ULL};
    static const uint64_t want42[3] = {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL,
                                       0xae17533239e499a1ULL};
    wb_rng r;
    wb_rng_seed(&r, 0);
    for (int i = 0; i < 3; i++)
        CHECK(wb_rng_next(&r) == want0[i], "seed 0 output %d", i);
    wb_rng_seed(&r, 42);
    for (int i = 0; i < 3; i++)
        CHECK(wb_rng_next(&r) == want42[i], "seed 42 output %d", i);
}

static void test_same_seed_same_stream(void)
{
    wb_rng a, b, c;
    wb_rng_seed(&a, 7);
    wb_rng_seed(&b, 7);
    wb_rng_seed(&c, 8);
    int diff = 0;
    for (int i = 0; i < 1000; i++) {
        double x = wb_rng_normal(&a), y = wb_rng_normal(&b), z = wb_rng_normal(&c);
        CHECK(x == y, "same seed diverged at %d", i);
        diff += x != z;
    }
    CHECK(diff > 990, "seeds 7 and 8 agree too often (%d differ)", diff);
    /* reseeding forgets the cached second normal */
    wb_rng_seed(&a, 3);
    double first = wb_rng_normal(&a);
    wb_rng_seed(&a, 3);
    CHECK(wb_rng_normal(&a) == first, "reseed did not reset the normal cache");
}

static void test_global_default_seed(void)
{
    wb_rng r;
    wb_rng_seed(&r, 0);
    wb_rng *g = wb_rng_global();
    REQUIRE(g == wb_rng_global(), "global generator is not one object");
    CHECK(wb_rng_next(g) == wb_rng_next(&r), "global is not seeded with 0");
}

static void test_uniform_moments(void)
{
    wb_rng r;
    wb_rng_seed(&r, 1);
    int n = 200000;
    double s = 0, s2 = 0, mn = 1, mx = 0;
    for (int i = 0; i < n; i++) {
        double u = wb_rng_uniform(&r);
        s += u;
        s2 += u * u;
        mn = u < mn ? u : mn;
        mx = u > mx ? u : mx;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    CHECK_NEAR(mean, 0.5, 0.005);
    CHECK_NEAR(var, 1.0 / 12, 0.002);
    CHECK(mn >= 0 && mx < 1, "uniform out of [0, 1): %g %g", mn, mx);
    float f[1001];
    wb_rng_fill_uniform(&r, f, 1001, -0.25, 0.75);
    for (int i = 0; i < 1001; i++)
        CHECK(f[i] >= -0.25f && f[i] <= 0.75f, "fill_uniform %g", f[i]);
}

static void test_normal_moments(void)
{
    wb_rng r;
    wb_rng_seed(&r, 2);
    int n = 200000;
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; i++) {
        double z = wb_rng_normal(&r);
        s += z;
        s2 += z * z;
        s4 += z * z * z * z;
    }
    CHECK_NEAR(s / n, 0.0, 0.01);
    CHECK_NEAR(s2 / n, 1.0, 0.015);
    CHECK_NEAR(s4 / n, 3.0, 0.1); /* kurtosis of a normal */
}

static void test_truncated_normal(void)
{
    wb_rng r;
    wb_rng_seed(&r, 3);
    enum { N = 100000 };
    static float w[N];
    wb_rng_fill_truncated_normal(&r, w, N, 1.0, 0.5);
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        CHECK(fabs(w[i] - 1.0) <= 1.0 + 1e-6, "value %g beyond 2 std", w[i]);
        s += w[i];
        s2 += (w[i] - 1.0) * (w[i] - 1.0);
    }
    CHECK_NEAR(s / N, 1.0, 0.005);
    /* std of N(0,1) truncated to [-2, 2] is 0.8796 */
    CHECK_NEAR(sqrt(s2 / N), 0.5 * 0.87962566103423978, 0.004);
}

static void test_below_uniform(void)
{
    wb_rng r;
    wb_rng_seed(&r, 4);
    int count[10] = {0};
    int n = 100000;
    for (int i = 0; i < n; i++) {
        uint64_t v = wb_rng_below(&r, 10);
        REQUIRE(v < 10, "below(10) gave %llu", (unsigned long long)v);
        count[v]++;
    }
    double chi2 = 0;
    for (int i = 0; i < 10; i++)
        chi2 += (count[i] - n / 10.0) * (count[i] - n / 10.0) / (n / 10.0);
    CHECK(chi2 < 30, "chi2 %g over 9 dof", chi2); /* p ~ 4e-4 */
    CHECK(wb_rng_below(&r, 1) == 0, "below(1)");
}

static void test_permutation(void)
{
    wb_rng r;
    wb_rng_seed(&r, 5);
    enum { N = 1000 };
    float p[N];
    int seen[N];
    wb_rng_permutation_f32(&r, p, N, 1);
    memset(seen, 0, sizeof seen);
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        int v = (int)p[i];
        REQUIRE(v >= 1 && v <= N && (float)v == p[i], "value %g", p[i]);
        CHECK(!seen[v - 1], "value %d twice", v);
        seen[v - 1] = 1;
        fixed += v == i + 1;
    }
    CHECK(fixed < 10, "%d fixed points: not shuffled", fixed);
    /* position of element 1 over many shuffles of 4 is uniform */
    int where[4] = {0};
    for (int t = 0; t < 40000; t++) {
        float q[4];
        wb_rng_permutation_f32(&r, q, 4, 0);
        for (int i = 0; i < 4; i++)
            if (q[i] == 0.0f)
                where[i]++;
    }
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(where[i], 10000, 400);
    float one[1] = {-1};
    wb_rng_permutation_f32(&r, one, 1, 1);
    CHECK(one[0] == 1.0f, "n = 1");
    wb_rng_permutation_f32(&r, NULL, 0, 1); /* n = 0 touches nothing */
    /* same seed -> same permutation */
    float a[50], b[50];
    wb_rng_seed(&r, 9);
    wb_rng_permutation_f32(&r, a, 50, 1);
    wb_rng_seed(&r, 9);
    wb_rng_permutation_f32(&r, b, 50, 1);
    CHECK(memcmp(a, b, sizeof a) == 0, "permutation not reproducible");
}

int main(void)
{
    RUN(test_reference_outputs);
    RUN(test_same_seed_same_stream);
    RUN(test_global_default_seed);
    RUN(test_uniform_moments);
    RUN(test_normal_moments);
    RUN(test_truncated_normal);
    RUN(test_below_uniform);
    RUN(test_permutation);
    TH_EXIT();
}
