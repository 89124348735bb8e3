/* test_simd_widths.c - every copy of the vector kernels (baseline, AVX2,
 * AVX-512; core/simd.h) gives the same bits: Dense's sparse-input forward
 * and backward (the non-zero scan, the 128-wide AVX-512 blocks, the 32-wide
 * blocks and the scalar tail) and an Adam step, at each level the CPU runs.
 * test_optim.c compares the baseline with the widest copy; this also
 * compares the middle one and widths that leave every kind of tail.
 */
#include <math.h>
#include <string.h>

#include "../../core/dense.h"
#include "../../core/hvp_fvec.h"
#include "../../core/optim.h"
#include "../../core/simd.h"
#include "harness.h"

/* allow_avx2 argument for level 0 (baseline), 1 (AVX2), 2 (widest) */
static const int LEVEL_ARG[3] = {0, 2, 1};

static int levels(void)
{
    wb_simd_allow_avx2(1);
    int top = wb_simd_avx512() ? 2 : wb_simd_avx2() ? 1 : 0;
    return top;
}

/* z and dW of one forward/backward on a sparse input x [n, I] -> out. */
static void dense_run(int64_t n, int64_t I, int64_t O, float *zout, float *dwout)
{
    wb_rng r;
    wb_rng_seed(&r, 7 + (uint64_t)(n * I + O));
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    wb_dense *d = wb_dense_new(I, O, &o, &r, &err);
    REQUIRE(d, "%s", err.msg);
    int64_t sx[2] = {n, I}, sz[2] = {n, O};
    wb_tensor *x = wb_tensor_new(WB_F32, 2, sx, NULL), *dz = wb_tensor_new(WB_F32, 2, sz, NULL);
    REQUIRE(x && dz, "alloc");
    float *xv = wb_tensor_f32(x);
    for (int64_t k = 0; k < n * I; k++) /* ~25% non-zero, some -0.0 (a zero) */
        xv[k] = wb_rng_uniform(&r) < 0.25 ? (float)(wb_rng_uniform(&r) - 0.5)
                                          : (k % 3 ? 0.0f : -0.0f);
    for (int64_t k = 0; k < n * O; k++)
        wb_tensor_f32(dz)[k] = (float)(wb_rng_uniform(&r) - 0.5);
    REQUIRE(wb_dense_forward(d, x, &err) == WB_OK, "%s", err.msg);
    memcpy(zout, wb_tensor_f32(wb_dense_logits(d)), (size_t)(n * O) * sizeof(float));
    wb_dense_zero_grad(d);
    REQUIRE(wb_dense_backward_logits(d, x, dz, 0, &err) == WB_OK, "%s", err.msg);
    memcpy(dwout, wb_tensor_f32(d->grad_weight), (size_t)(I * O) * sizeof(float));
    wb_tensor_free(x);
    wb_tensor_free(dz);
    wb_dense_free(d);
}

static void test_dense_sparse_same_bits(void)
{
    /* O: one 128 block; 128 + 32-blocks + tail; only 32-blocks + tail. I: a
     * multiple of 16 and not (the scan's tail). n: within and across chunks. */
    static const int64_t cases[][3] = {{8, 784, 128}, {3, 300, 173}, {25, 781, 37},
                                       {1, 257, 16}};
    static float z[3][25 * 173], dw[3][784 * 173];
    int top = levels();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t n = cases[c][0], I = cases[c][1], O = cases[c][2];
        for (int lv = 0; lv <= top; lv++) {
            wb_simd_allow_avx2(LEVEL_ARG[lv]);
            dense_run(n, I, O, z[lv], dw[lv]);
            CHECK(memcmp(z[lv], z[0], (size_t)(n * O) * sizeof(float)) == 0,
                  "z differs at level %d (n %lld, I %lld, O %lld)", lv, (long long)n,
                  (long long)I, (long long)O);
            CHECK(memcmp(dw[lv], dw[0], (size_t)(I * O) * sizeof(float)) == 0,
                  "dW differs at level %d (n %lld, I %lld, O %lld)", lv, (long long)n,
                  (long long)I, (long long)O);
        }
    }
    wb_simd_allow_avx2(1);
}

/* The levels the CPU runs are reported as such (a test of the test). */
static void test_levels(void)
{
    int top = levels();
    for (int lv = 0; lv <= top; lv++) {
        wb_simd_allow_avx2(LEVEL_ARG[lv]);
        CHECK(wb_simd_avx2() == (lv >= 1) && wb_simd_avx512() == (lv >= 2), "level %d", lv);
    }
    wb_simd_allow_avx2(1);
}

/* Three Adam steps over 1013 elements (a tail for every width). */
static void test_adam_same_bits(void)
{
    enum { N = 1013 };
    static float out[3][N];
    int top = levels();
    for (int lv = 0; lv <= top; lv++) {
        wb_simd_allow_avx2(LEVEL_ARG[lv]);
        int64_t len = N;
        wb_tensor *w = wb_tensor_new(WB_F32, 1, &len, NULL), *g = wb_tensor_new(WB_F32, 1, &len, NULL);
        wb_optim_config c;
        wb_optim_defaults(WB_OPTIM_ADAM, &c);
        wb_optim *o = wb_optim_new(&c, NULL);
        REQUIRE(w && g && o, "setup");
        for (int k = 0; k < N; k++)
            wb_tensor_f32(w)[k] = (float)k / N - 0.5f;
        for (int s = 1; s <= 3; s++) {
            for (int k = 0; k < N; k++)
                wb_tensor_f32(g)[k] = (float)((k * 37 + s * 11) % 101) / 101.0f - 0.5f;
            CHECK(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL) == WB_OK, "step");
        }
        memcpy(out[lv], wb_tensor_f32(w), sizeof out[lv]);
        CHECK(memcmp(out[lv], out[0], sizeof out[lv]) == 0, "Adam differs at level %d", lv);
        wb_tensor_free(w);
        wb_tensor_free(g);
        wb_optim_free(o);
    }
    wb_simd_allow_avx2(1);
}

/* The Lanczos sweeps (core/hvp_fvec.c) write a subnormal result as a zero
 * of its sign and every other one as the plain formula's float, at every
 * width: a Lanczos vector's component in the Hessian's null space shrank
 * step by step into the subnormals, each operation on one a microcode
 * assist (hess_max 1.3x slower). */
static void test_lanczos_flush(void)
{
    enum { N = 1013 };
    static float w[N], up[N], u[N], y[N], F[2 * N];
    int top = levels();
    for (int lv = 0; lv <= top; lv++) {
        wb_simd_allow_avx2(LEVEL_ARG[lv]);
        for (int k = 0; k < N; k++) {
            /* every third a value whose result is subnormal, of either sign */
            float tiny = (k % 2 ? -1 : 1) * 3e-39f;
            w[k] = k % 3 ? (float)k / N - 0.5f : tiny;
            up[k] = k % 3 ? (float)(k % 7) / 7 : 0;
            u[k] = k % 3 ? (float)(k % 5) / 5 - 0.4f : 0;
            F[k] = k % 3 ? (float)k / N : tiny, F[N + k] = k % 3 ? 0.25f : 0;
        }
        double nn, wu, yy = 0;
        static float want[N];
        for (int k = 0; k < N; k++)
            want[k] = 0.5f * w[k] - 0.25f * up[k] - 0.125f * u[k];
        wb_fv_frec(w, up, u, 0.5f, 0.25f, 0.125f, N, &nn, &wu);
        int bad = 0;
        for (int k = 0; k < N; k++) {
            int sub = want[k] != 0 && fabsf(want[k]) < 1.17549435e-38f;
            float expect = sub ? copysignf(0.0f, want[k]) : want[k];
            bad += memcmp(&w[k], &expect, sizeof expect) != 0;
        }
        CHECK(bad == 0, "frec at level %d: %d entries not the formula's or a signed zero", lv,
              bad);
        wb_fv_fmix(y, F, F + N, 0.5f, 1.0f, N, &yy);
        bad = 0;
        for (int k = 0; k < N; k++) {
            float f = 0.5f * F[k] + 1.0f * F[N + k];
            int sub = f != 0 && fabsf(f) < 1.17549435e-38f;
            float expect = sub ? copysignf(0.0f, f) : f;
            bad += memcmp(&y[k], &expect, sizeof expect) != 0;
        }
        CHECK(bad == 0, "fmix at level %d: %d entries", lv, bad);
        /* band Lanczos's sweeps (core/hvp_band.c): frec2, frec2n and frot
         * flush as frec does, and their sums are of what they wrote */
        for (int k = 0; k < N; k++) {
            w[k] = k % 3 ? (float)k / N - 0.5f : (k % 2 ? -1 : 1) * 3e-39f;
            want[k] = 0.5f * w[k] - 0.25f * up[k] - 0.125f * u[k];
        }
        double d1, d2, s1 = 0, s2 = 0, a1 = 0, a2 = 0; /* float sums within a block */
        wb_fv_frec2(w, up, u, F, F + N, 0.5f, 0.25f, 0.125f, N, &d1, &d2);
        bad = 0;
        for (int k = 0; k < N; k++) {
            int sub = want[k] != 0 && fabsf(want[k]) < 1.17549435e-38f;
            float expect = sub ? copysignf(0.0f, want[k]) : want[k];
            bad += memcmp(&w[k], &expect, sizeof expect) != 0;
            s1 += (double)w[k] * (fabsf(F[k]) < 1.17549435e-38f ? 0 : F[k]);
            s2 += (double)w[k] * F[N + k];
            a1 += fabs((double)w[k] * F[k]), a2 += fabs((double)w[k] * F[N + k]);
        }
        CHECK(bad == 0, "frec2 at level %d: %d entries", lv, bad);
        CHECK(fabs(d1 - s1) <= 1e-6 * a1 && fabs(d2 - s2) <= 1e-6 * a2,
              "frec2 at level %d: dots %g %g, want %g %g", lv, d1, d2, s1, s2);
        for (int k = 0; k < N; k++)
            want[k] = 1.0f * w[k] - 0.5f * up[k] - 0.5f * u[k];
        wb_fv_frec2n(w, up, u, 1.0f, 0.5f, 0.5f, N, &d1);
        bad = 0, s1 = 0;
        for (int k = 0; k < N; k++) {
            int sub = want[k] != 0 && fabsf(want[k]) < 1.17549435e-38f;
            float expect = sub ? copysignf(0.0f, want[k]) : want[k];
            bad += memcmp(&w[k], &expect, sizeof expect) != 0;
            s1 += (double)w[k] * w[k];
        }
        CHECK(bad == 0, "frec2n at level %d: %d entries", lv, bad);
        CHECK(fabs(d1 - s1) <= 1e-6 * s1, "frec2n at level %d: norm %g, want %g", lv, d1, s1);
        static float rx[N], ry[N], ex[N], ey[N];
        for (int k = 0; k < N; k++) {
            rx[k] = k % 3 ? (float)k / N : 3e-39f, ry[k] = k % 3 ? 0.25f : -3e-39f;
            ex[k] = 0.6f * rx[k] + 0.8f * ry[k], ey[k] = -0.8f * rx[k] + 0.6f * ry[k];
        }
        wb_fv_frot(rx, ry, 0.6f, 0.8f, -0.8f, 0.6f, N);
        bad = 0;
        for (int k = 0; k < N; k++)
            for (int q = 0; q < 2; q++) {
                float f = q ? ey[k] : ex[k], got = q ? ry[k] : rx[k];
                int sub = f != 0 && fabsf(f) < 1.17549435e-38f;
                float expect = sub ? copysignf(0.0f, f) : f;
                bad += memcmp(&got, &expect, sizeof expect) != 0;
            }
        CHECK(bad == 0, "frot at level %d: %d entries", lv, bad);
        /* squares of entries below 2^-63 are left out of the norms (they were
         * subnormal floats), not those of entries above it */
        static float a[N], z[N], zero[N];
        for (int k = 0; k < N; k++) {
            a[k] = k % 4 ? (float)k / N : (k % 8 ? 1e-21f : -1e-21f);
            z[k] = k % 4 ? a[k] : 0.0f;
        }
        double na, nz, xa, xz;
        memcpy(w, a, sizeof a);
        wb_fv_frec(w, zero, zero, 1.0f, 0.0f, 0.0f, N, &na, &xa);
        memcpy(w, z, sizeof z);
        wb_fv_frec(w, zero, zero, 1.0f, 0.0f, 0.0f, N, &nz, &xz);
        CHECK(memcmp(&na, &nz, sizeof na) == 0, "level %d: tiny entries moved the norm", lv);
        for (int k = 0; k < N; k++)
            w[k] = 1e-18f;
        wb_fv_frec(w, zero, zero, 1.0f, 0.0f, 0.0f, N, &na, &xa);
        CHECK(na > 0.9e-36 * N && na < 1.1e-36 * N, "level %d: entries of 1e-18 give %g", lv,
              na);
    }
    wb_simd_allow_avx2(1);
}

int main(void)
{
    RUN(test_levels);
    RUN(test_dense_sparse_same_bits);
    RUN(test_adam_same_bits);
    RUN(test_lanczos_flush);
    TH_EXIT();
}
