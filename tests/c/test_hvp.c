/* test_hvp.c - Hessian-vector products (core/hvp.c) and the spectrum
 * instruments (core/hvp_eig.c).
 *
 * Known answers and independent checks, all in the float64 mode unless
 * stated:
 *   - central differences of the engine's own float64 gradient, (g(t + e v)
 *     - g(t - e v)) / 2e with e = 1e-5: relative error |Hv - fd| / |fd| <
 *     1e-6 for every activation, for Activation, Flatten and Dropout layers,
 *     both losses, with L2;
 *   - linear least squares: H = 2 [X 1]^T [X 1] / N exactly (mse, 1 output);
 *   - softmax regression: H = (1/N) sum_i (diag p_i - p_i p_i^T) (x) x_i x_i^T;
 *   - a 784-4-10 net (3,190 parameters): the full Hessian is symmetric to
 *     1e-10 and eigs{k = 5} equals LAPACK dsyev's top 5 to 1e-6 (relative);
 *     wb_hvp_top run to convergence equals LAPACK's top, capped at 3
 *     products reports the residual an explicit product gives, started
 *     from the gradient (and from a vector plus it) it finds the top too,
 *     warm from the converged vector it stops at once without allocating;
 *   - Hutchinson over 1,000 probes within 3 standard errors of the exact
 *     trace; SLQ weights sum to 1 and its first moment matches tr(H)/P;
 *   - float32 mode within 1e-4 (relative norm) of float64, chunked runs
 *     equal to one chunk, no allocation per product, errors;
 *   - float32 products over the input's non-zeros (core/hvp_sparse.c) equal
 *     the dense float32 ones to 2e-6 (relative norm; the same sums in
 *     another order), in one chunk and in 7-row chunks, with float32 and
 *     uint8 inputs with 80 % zeros (a zero row and column among them), and
 *     a batch without zeros runs dense;
 *   - hess_max's Lanczos (wb_hvp_top_f32, cold then warm, first layer 301
 *     by 168: every block width of the sparse kernels, a lone last column)
 *     gives the same bits with the baseline, AVX2 and AVX-512 kernels.
 */
#include <stdlib.h>

#include "../../core/alloc.h"
#include "../../core/hvp.h"
#include "../../core/hvp_eig.h"
#include "../../core/simd.h"
#include "harness.h"

void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, size_t l1, size_t l2);

static wb_rng rng;

/* A Dense layer with its weights and bias drawn uniform in [-s, s]. */
static wb_dense *dense(int64_t i, int64_t o, const char *act, double l2, double s)
{
    wb_dense_opts op = wb_dense_defaults();
    op.activation = act;
    op.l2 = l2;
    wb_dense *d = wb_dense_new(i, o, &op, &rng, NULL);
    if (d) {
        wb_rng_fill_uniform(&rng, wb_tensor_f32(d->weight), (size_t)(i * o), -s, s);
        wb_rng_fill_uniform(&rng, wb_tensor_f32(d->bias), (size_t)o, -s, s);
    }
    return d;
}

static wb_tensor *uniform(int64_t r, int64_t c, double lo, double hi)
{
    int64_t s[2] = {r, c};
    wb_tensor *t = wb_tensor_new(WB_F32, c > 0 ? 2 : 1, s, NULL);
    if (t)
        wb_rng_fill_uniform(&rng, wb_tensor_f32(t), wb_tensor_numel(t), lo, hi);
    return t;
}

static wb_tensor *labels(int64_t n, int C)
{
    wb_tensor *t = wb_tensor_new(WB_U8, 1, &n, NULL);
    for (int64_t i = 0; t && i < n; i++)
        wb_tensor_u8(t)[i] = (uint8_t)wb_rng_below(&rng, (uint64_t)C);
    return t;
}

static wb_hvp *engine(wb_hvp_layer *ls, int n, wb_hvp_loss loss, int f64, int64_t rows)
{
    wb_hvp_opts o = {loss, f64, rows, 0};
    wb_err err;
    wb_hvp *h = wb_hvp_new(ls, n, &o, &err);
    if (!h)
        printf("# wb_hvp_new: %s\n", err.msg);
    return h;
}

static double *vec(int64_t n)
{
    double *v = wb_calloc((size_t)n, sizeof *v);
    for (int64_t i = 0; v && i < n; i++)
        v[i] = wb_rng_normal(&rng);
    return v;
}

static double norm_diff(const double *a, const double *b, int64_t n, double *nb)
{
    double d = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        s += b[i] * b[i];
    }
    *nb = sqrt(s);
    return sqrt(d);
}

/* |Hv - fd| / |fd| at a random v, fd the central difference of the gradient */
static double fd_error(wb_hvp *h)
{
    int64_t P = wb_hvp_numel(h);
    double *t = vec(P), *v = vec(P), *hv = vec(P), *gp = vec(P), *gm = vec(P), loss, e = 1e-5;
    wb_hvp_get_theta(h, t);
    wb_err err;
    double rel = INFINITY, nb;
    if (wb_hvp_apply(h, v, hv, &err))
        goto out;
    for (int64_t i = 0; i < P; i++)
        t[i] += e * v[i];
    wb_hvp_set_theta(h, t);
    wb_hvp_loss_grad(h, &loss, gp, &err);
    for (int64_t i = 0; i < P; i++)
        t[i] -= 2 * e * v[i];
    wb_hvp_set_theta(h, t);
    wb_hvp_loss_grad(h, &loss, gm, &err);
    for (int64_t i = 0; i < P; i++)
        gp[i] = (gp[i] - gm[i]) / (2 * e);
    rel = norm_diff(hv, gp, P, &nb) / nb;
out:
    wb_free(t), wb_free(v), wb_free(hv), wb_free(gp), wb_free(gm);
    return rel;
}

/* ---------------------------------------------------------------------------
 * Finite differences, every activation */

static const char *const acts[] = {"linear", "relu", "tanh", "softsign", "gelu",
                                   "gelu_tanh", "sigmoid", "elu", "selu", "swish"};

static void test_fd_every_activation(void)
{
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        for (int batch = 1; batch <= 9; batch += 8) {
            wb_dense *d1 = dense(5, 6, acts[a], 0.01, 0.8), *d2 = dense(6, 4, acts[a], 0, 0.8);
            wb_dense *d3 = dense(4, 3, "softmax", 0.02, 0.8);
            wb_tensor *x = uniform(batch, 5, -1, 1), *y = labels(batch, 3);
            wb_hvp_layer ls[] = {{WB_HVP_DENSE, d1, 0}, {WB_HVP_IDENTITY, NULL, 0},
                                 {WB_HVP_DENSE, d2, 0}, {WB_HVP_DENSE, d3, 0}};
            wb_hvp *h = engine(ls, 4, WB_HVP_SCE, 1, 16);
            REQUIRE(h && !wb_hvp_set_data(h, x, y, NULL), "setup %s", acts[a]);
            double rel = fd_error(h);
            CHECK(rel < 1e-6, "%s batch %d: relative error %g", acts[a], batch, rel);
            wb_hvp_free(h);
            wb_dense_free(d1), wb_dense_free(d2), wb_dense_free(d3);
            wb_tensor_free(x), wb_tensor_free(y);
        }
    }
}

/* Activation layers, Flatten of a 3-D input, mse on a non-linear output */
static void test_fd_activation_layer_and_mse(void)
{
    for (size_t a = 1; a < sizeof acts / sizeof acts[0]; a++) {
        wb_act act;
        wb_act_parse(acts[a], "act", &act, NULL);
        wb_dense *d1 = dense(6, 5, "linear", 0, 0.8), *d2 = dense(5, 2, acts[a], 0.05, 0.8);
        int64_t s3[3] = {7, 2, 3};
        wb_tensor *x = wb_tensor_new(WB_F32, 3, s3, NULL), *t = uniform(7, 2, -1, 1);
        wb_rng_fill_uniform(&rng, wb_tensor_f32(x), 42, -1, 1);
        wb_hvp_layer ls[] = {{WB_HVP_IDENTITY, NULL, 0}, {WB_HVP_DENSE, d1, 0},
                             {WB_HVP_ACTIVATION, NULL, act}, {WB_HVP_DENSE, d2, 0}};
        wb_hvp *h = engine(ls, 4, WB_HVP_MSE, 1, 3); /* 3 chunks */
        REQUIRE(h && !wb_hvp_set_data(h, x, t, NULL), "setup %s", acts[a]);
        double rel = fd_error(h);
        CHECK(rel < 1e-6, "%s: relative error %g", acts[a], rel);
        wb_hvp_free(h);
        wb_dense_free(d1), wb_dense_free(d2);
        wb_tensor_free(x), wb_tensor_free(t);
    }
}

/* ---------------------------------------------------------------------------
 * Closed forms */

/* column j of H into col (P numbers) */
static void full(wb_hvp *h, double *H)
{
    int64_t P = wb_hvp_numel(h);
    double *e = wb_calloc((size_t)P, sizeof *e);
    for (int64_t j = 0; j < P; j++) {
        e[j] = 1;
        wb_hvp_apply(h, e, H + j * P, NULL);
        e[j] = 0;
    }
    wb_free(e);
}

static void test_least_squares(void)
{
    int64_t N = 11, I = 3;
    wb_dense *d = dense(I, 1, "linear", 0, 1);
    wb_tensor *x = uniform(N, I, -2, 2), *t = uniform(N, 1, -1, 1);
    wb_hvp_layer ls[] = {{WB_HVP_DENSE, d, 0}};
    wb_hvp *h = engine(ls, 1, WB_HVP_MSE, 1, 64);
    REQUIRE(h && !wb_hvp_set_data(h, x, t, NULL), "setup");
    double H[16], worst = 0;
    full(h, H);
    const float *X = wb_tensor_f32(x);
    for (int a = 0; a <= I; a++)
        for (int b = 0; b <= I; b++) {
            double s = 0;
            for (int64_t i = 0; i < N; i++)
                s += (a < I ? X[i * I + a] : 1.0) * (b < I ? X[i * I + b] : 1.0);
            double want = 2 * s / (double)N, got = H[a * 4 + b];
            worst = fmax(worst, fabs(got - want));
        }
    CHECK(worst < 1e-12, "max |H - 2 X^T X / N| = %g", worst);
    wb_hvp_free(h);
    wb_dense_free(d);
    wb_tensor_free(x), wb_tensor_free(t);
}

static void test_softmax_regression(void)
{
    int64_t N = 13, I = 4, C = 3, P = I * C + C;
    wb_dense *d = dense(I, C, "softmax", 0, 1);
    wb_tensor *x = uniform(N, I, -1, 1), *y = labels(N, (int)C);
    wb_hvp_layer ls[] = {{WB_HVP_DENSE, d, 0}};
    wb_hvp *h = engine(ls, 1, WB_HVP_SCE, 1, 64);
    REQUIRE(h && !wb_hvp_set_data(h, x, y, NULL), "setup");
    double *H = wb_calloc((size_t)(P * P), sizeof *H), worst = 0;
    full(h, H);
    const float *X = wb_tensor_f32(x), *W = wb_tensor_f32(d->weight), *B = wb_tensor_f32(d->bias);
    /* index of (input a, class c): W is a * C + c, the bias I * C + c */
    for (int64_t p = 0; p < P; p++)
        for (int64_t q = 0; q < P; q++) {
            int64_t a = p < I * C ? p / C : I, c = p < I * C ? p % C : p - I * C;
            int64_t b = q < I * C ? q / C : I, e = q < I * C ? q % C : q - I * C;
            double s = 0;
            for (int64_t i = 0; i < N; i++) {
                double z[3], m = 0, pr[3];
                for (int64_t k = 0; k < C; k++) {
                    z[k] = B[k];
                    for (int64_t j = 0; j < I; j++)
                        z[k] += (double)X[i * I + j] * W[j * C + k];
                    m += exp(z[k]);
                }
                for (int64_t k = 0; k < C; k++)
                    pr[k] = exp(z[k]) / m;
                double xa = a < I ? X[i * I + a] : 1, xb = b < I ? X[i * I + b] : 1;
                s += xa * xb * ((c == e) * pr[c] - pr[c] * pr[e]);
            }
            worst = fmax(worst, fabs(H[p * P + q] - s / (double)N));
        }
    CHECK(worst < 1e-12, "max |H - closed form| = %g", worst);
    wb_free(H);
    wb_hvp_free(h);
    wb_dense_free(d);
    wb_tensor_free(x), wb_tensor_free(y);
}

/* ---------------------------------------------------------------------------
 * 784-4-10: symmetry, eigs against LAPACK, Hutchinson, SLQ */

static void test_mnist_shape_spectrum(void)
{
    int64_t N = 48;
    wb_dense *d1 = dense(784, 4, "tanh", 1e-3, 0.1), *d2 = dense(4, 10, "softmax", 0, 0.5);
    wb_tensor *x = uniform(N, 784, 0, 1), *y = labels(N, 10);
    wb_hvp_layer ls[] = {{WB_HVP_DENSE, d1, 0}, {WB_HVP_DENSE, d2, 0}};
    wb_hvp *h = engine(ls, 2, WB_HVP_SCE, 1, 64);
    REQUIRE(h && !wb_hvp_set_data(h, x, y, NULL), "setup");
    int64_t P = wb_hvp_numel(h);
    REQUIRE(P == 3190, "P = %lld", (long long)P);
    double *H = wb_calloc((size_t)(P * P), sizeof *H), asym = 0, hmax = 0;
    full(h, H);
    for (int64_t i = 0; i < P; i++)
        for (int64_t j = 0; j < i; j++) {
            asym = fmax(asym, fabs(H[i * P + j] - H[j * P + i]));
            hmax = fmax(hmax, fabs(H[i * P + j]));
        }
    CHECK(asym <= 1e-10 * fmax(1, hmax), "asymmetry %g (max |H| %g)", asym, hmax);
    double tr = 0;
    for (int64_t i = 0; i < P; i++)
        tr += H[i * P + i];
    int n = (int)P, lwork = -1, info;
    double *w = wb_calloc((size_t)P, sizeof *w), q;
    dsyev_("N", "U", &n, H, &n, w, &q, &lwork, &info, 1, 1);
    lwork = (int)q;
    double *work = wb_calloc((size_t)lwork, sizeof *work);
    dsyev_("N", "U", &n, H, &n, w, work, &lwork, &info, 1, 1);
    REQUIRE(info == 0, "dsyev info %d", info);
    double vals[5];
    int found, conv;
    wb_eigs_opts o = {5, 1e-10, 300, NULL};
    long before = wb_hvp_count(h);
    REQUIRE(!wb_hvp_eigs(h, 0, P, &o, &rng, vals, NULL, &found, &conv, NULL), "eigs");
    CHECK(found == 5 && conv, "found %d converged %d", found, conv);
    for (int i = 0; i < 5; i++)
        CHECK(fabs(vals[i] - w[P - 1 - i]) <= 1e-6 * fabs(w[P - 1]), "eig %d: %.12g vs "
              "LAPACK %.12g", i + 1, vals[i], w[P - 1 - i]);
    printf("# eigs: %lld products; lambda_max %.9g (LAPACK %.9g)\n",
           (long long)(wb_hvp_count(h) - before), vals[0], w[P - 1]);
    /* wb_hvp_top: run to convergence it finds LAPACK's top; capped at 3
     * products its residual (from the recurrence) equals the explicit
     * ||H y - l y|| / |l| and its value is below the top; warm from the
     * converged vector it stops at once; once grown it allocates nothing */
    double *x0 = wb_calloc((size_t)P, sizeof *x0), *x1 = vec(P), *hy = vec(P), val, res, e2;
    int steps;
    wb_err err;
    REQUIRE(!wb_hvp_top(h, 0, P, 120, 1e-14, 0, x0, 0, &rng, &val, &res, &steps, NULL), "top");
    CHECK(fabs(val - w[P - 1]) <= 1e-6 * fabs(w[P - 1]) && res < 1e-5, "cold top %.12g vs "
          "LAPACK %.12g (residual %.3g, %d products)", val, w[P - 1], res, steps);
    REQUIRE(!wb_hvp_top(h, 0, P, 3, 0, 0, x1, 1, &rng, &val, &res, &steps, NULL), "capped top");
    wb_hvp_apply(h, x1, hy, NULL);
    for (int64_t i = 0; i < P; i++)
        hy[i] -= val * x1[i];
    e2 = 0;
    for (int64_t i = 0; i < P; i++)
        e2 += hy[i] * hy[i];
    e2 = sqrt(e2) / fabs(val);
    CHECK(steps == 3 && fabs(res - e2) <= 1e-6 * e2 && val <= w[P - 1] * (1 + 1e-12),
          "capped: %d products, value %.9g (top %.9g), residual %.9g, explicit %.9g", steps,
          val, w[P - 1], res, e2);
    /* gmix: from the gradient alone (no x: its contents, here NaN, are not
     * read), then the vector plus it */
    for (int64_t i = 0; i < P; i++)
        x1[i] = NAN;
    REQUIRE(!wb_hvp_top(h, 0, P, 120, 1e-14, 1, x1, 0, &rng, &val, &res, &steps, NULL),
            "top from the gradient");
    CHECK(fabs(val - w[P - 1]) <= 1e-6 * fabs(w[P - 1]), "from the gradient: %.12g", val);
    REQUIRE(!wb_hvp_top(h, 0, P, 120, 1e-14, 1, x1, 1, &rng, &val, &res, &steps, NULL),
            "top from the vector and the gradient");
    CHECK(fabs(val - w[P - 1]) <= 1e-6 * fabs(w[P - 1]), "vector and gradient: %.12g", val);
    CHECK(wb_hvp_top(h, 0, P, 3, 0, -1, x1, 1, &rng, &val, &res, &steps, &err) == WB_EINVAL,
          "gmix -1");
    /* the gradient given (wb_hvp_top_g) is the gradient computed: the same
     * start, the same numbers, from the same vector */
    {
        double *g = vec(P), *xa = vec(P), *xb = vec(P), loss, va, vb, ra, rb;
        int sa, sb;
        REQUIRE(!wb_hvp_loss_grad(h, &loss, g, NULL), "gradient");
        for (int64_t i = 0; i < P; i++)
            xa[i] = xb[i] = x0[(i * 7) % P] + 0.1;
        REQUIRE(!wb_hvp_top(h, 0, P, 4, 0, 1, xa, 1, &rng, &va, &ra, &sa, NULL), "computed");
        REQUIRE(!wb_hvp_top_g(h, 0, P, 4, 0, 1, g, xb, 1, &rng, &vb, &rb, &sb, NULL), "given");
        CHECK(va == vb && ra == rb && sa == sb && memcmp(xa, xb, (size_t)P * sizeof *xa) == 0,
              "given gradient: %.17g vs computed %.17g", vb, va);
        for (int64_t i = 0; i < P; i++) /* another gradient: another start */
            g[i] = i % 2 ? 1.0 : -1.0, xb[i] = x0[(i * 7) % P] + 0.1;
        REQUIRE(!wb_hvp_top_g(h, 0, P, 4, 0, 1, g, xb, 1, &rng, &vb, &rb, &sb, NULL), "other");
        CHECK(vb != va, "the given gradient is used");
        wb_free(g), wb_free(xa), wb_free(xb);
    }
    /* a float32 engine: the basis in float (the products' precision) */
    wb_hvp *hf = engine(ls, 2, WB_HVP_SCE, 0, 64);
    REQUIRE(hf && !wb_hvp_set_data(hf, x, y, NULL), "float32 engine");
    REQUIRE(!wb_hvp_top(hf, 0, P, 120, 1e-12, 1, x1, 0, &rng, &val, &res, &steps, NULL),
            "float top");
    CHECK(fabs(val - w[P - 1]) <= 1e-4 * fabs(w[P - 1]), "float32 top %.9g vs LAPACK %.9g",
          val, w[P - 1]);
    for (int64_t i = 0; i < P; i++)
        x1[i] += 0.3 * x0[(i * 7) % P];
    REQUIRE(!wb_hvp_top(hf, 0, P, 3, 0, 0, x1, 1, &rng, &val, &res, &steps, NULL), "capped");
    wb_hvp_apply(h, x1, hy, NULL);
    e2 = 0;
    for (int64_t i = 0; i < P; i++)
        e2 += (hy[i] - val * x1[i]) * (hy[i] - val * x1[i]);
    e2 = sqrt(e2) / fabs(val);
    CHECK(steps == 3 && fabs(res - e2) <= 1e-2 * e2 + 1e-5, "float32 capped: residual %.6g, "
          "explicit (float64) %.6g", res, e2);
    wb_hvp_free(hf);
    long a0 = wb_alloc_count();
    REQUIRE(!wb_hvp_top(h, 0, P, 8, 1e-10, 0, x0, 1, &rng, &val, &res, &steps, NULL), "warm");
    CHECK(steps <= 2 && fabs(val - w[P - 1]) <= 1e-6 * fabs(w[P - 1]), "warm: %d products, "
          "%.12g", steps, val);
    CHECK(wb_alloc_count() == a0, "%ld allocations in a warm top", wb_alloc_count() - a0);
    memset(x1, 0, (size_t)P * sizeof *x1);
    CHECK(wb_hvp_top(h, 0, P, 3, 0, 0, x1, 1, &rng, &val, &res, &steps, &err) == WB_EINVAL &&
          strstr(err.msg, "non-zero"), "zero start: %s", err.msg);
    CHECK(wb_hvp_top(h, 0, P, 0, 0, 0, x0, 1, &rng, &val, &res, &steps, &err) == WB_EINVAL,
          "max_iter 0");
    wb_free(x0), wb_free(x1), wb_free(hy);
    double mean, se;
    REQUIRE(!wb_hvp_trace(h, 0, P, 1000, &rng, &mean, &se, NULL), "trace");
    CHECK(fabs(mean - tr) <= 3 * se, "Hutchinson %.6g +- %.3g, exact %.6g", mean, se, tr);
    wb_free(H), wb_free(w), wb_free(work);
    wb_hvp_free(h);
    wb_dense_free(d1), wb_dense_free(d2);
    wb_tensor_free(x), wb_tensor_free(y);
}

static void test_slq_moments(void)
{
    wb_dense *d1 = dense(3, 3, "tanh", 0, 1), *d2 = dense(3, 2, "softmax", 0, 1);
    wb_tensor *x = uniform(9, 3, -1, 1), *y = labels(9, 2);
    wb_hvp_layer ls[] = {{WB_HVP_DENSE, d1, 0}, {WB_HVP_DENSE, d2, 0}};
    wb_hvp *h = engine(ls, 2, WB_HVP_SCE, 1, 64);
    REQUIRE(h && !wb_hvp_set_data(h, x, y, NULL), "setup");
    int64_t P = wb_hvp_numel(h);
    double *H = wb_calloc((size_t)(P * P), sizeof *H), tr = 0, tr2 = 0;
    full(h, H);
    for (int64_t i = 0; i < P; i++) {
        tr += H[i * P + i];
        for (int64_t j = 0; j < P; j++)
            tr2 += H[i * P + j] * H[j * P + i];
    }
    enum { PR = 400, ST = 30 };
    static double nodes[PR * ST], wts[PR * ST];
    int taken[PR];
    REQUIRE(!wb_hvp_slq(h, 0, P, PR, ST, &rng, nodes, wts, taken, NULL), "slq");
    double m1[PR], m2[PR], s1 = 0, s2 = 0, q1 = 0, q2 = 0;
    for (int p = 0; p < PR; p++) {
        double w0 = 0;
        m1[p] = m2[p] = 0;
        for (int i = 0; i < taken[p]; i++) {
            double th = nodes[p * ST + i], ww = wts[p * ST + i];
            w0 += ww, m1[p] += ww * th, m2[p] += ww * th * th;
        }
        CHECK(fabs(w0 - 1) < 1e-12, "probe %d: weights sum to %.15g", p, w0);
        s1 += m1[p], s2 += m2[p], q1 += m1[p] * m1[p], q2 += m2[p] * m2[p];
    }
    double e1 = s1 / PR, e2 = s2 / PR;
    double se1 = sqrt((q1 / PR - e1 * e1) / PR), se2 = sqrt((q2 / PR - e2 * e2) / PR);
    CHECK(fabs(e1 - tr / P) <= 4 * se1, "first moment %.6g +- %.2g, tr(H)/P %.6g", e1, se1,
          tr / P);
    CHECK(fabs(e2 - tr2 / P) <= 4 * se2, "second moment %.6g +- %.2g, tr(H^2)/P %.6g", e2,
          se2, tr2 / P);
    wb_free(H);
    wb_hvp_free(h);
    wb_dense_free(d1), wb_dense_free(d2);
    wb_tensor_free(x), wb_tensor_free(y);
}

/* ---------------------------------------------------------------------------
 * float32 mode, chunks, allocation, errors */

static void test_f32_chunks_alloc(void)
{
    wb_dense *d1 = dense(30, 16, "gelu", 1e-3, 0.3), *d2 = dense(16, 10, "softmax", 0, 0.3);
    wb_tensor *x = uniform(50, 30, 0, 1), *y = labels(50, 10);
    wb_hvp_layer ls[] = {{WB_HVP_DENSE, d1, 0}, {WB_HVP_DENSE, d2, 0}};
    wb_hvp *h64 = engine(ls, 2, WB_HVP_SCE, 1, 64), *h32 = engine(ls, 2, WB_HVP_SCE, 0, 64);
    wb_hvp *hc = engine(ls, 2, WB_HVP_SCE, 1, 7);
    REQUIRE(h64 && h32 && hc, "engines");
    REQUIRE(!wb_hvp_set_data(h64, x, y, NULL) && !wb_hvp_set_data(h32, x, y, NULL) &&
            !wb_hvp_set_data(hc, x, y, NULL), "data");
    int64_t P = wb_hvp_numel(h64);
    double *v = vec(P), *a = vec(P), *b = vec(P), *c = vec(P), nb;
    wb_hvp_apply(h64, v, a, NULL);
    wb_hvp_apply(h32, v, b, NULL);
    wb_hvp_apply(hc, v, c, NULL);
    double r32 = norm_diff(b, a, P, &nb) / nb, rc = norm_diff(c, a, P, &nb) / nb;
    CHECK(r32 < 1e-4, "float32 vs float64: relative %g", r32);
    CHECK(rc < 1e-12, "7-row chunks vs one: relative %g", rc);
    long n0 = wb_alloc_count();
    wb_hvp_apply(h32, a, b, NULL);
    wb_hvp_apply(hc, a, c, NULL);
    CHECK(wb_alloc_count() == n0, "%ld allocations in two products", wb_alloc_count() - n0);
    CHECK(wb_hvp_count(h32) == 2, "count %lld", (long long)wb_hvp_count(h32));
    wb_free(v), wb_free(a), wb_free(b), wb_free(c);
    wb_hvp_free(h64), wb_hvp_free(h32), wb_hvp_free(hc);
    wb_dense_free(d1), wb_dense_free(d2);
    wb_tensor_free(x), wb_tensor_free(y);
}

/* ---------------------------------------------------------------------------
 * float32 products over the input's non-zeros equal the dense ones */

/* hv and the gradient of engines a and b on the same data and v: relative
 * differences (norms) in *dh, *dg, and the losses' in *dl. */
static void compare(wb_hvp *a, wb_hvp *b, const double *v, double *dh, double *dg,
                    double *dl)
{
    int64_t P = wb_hvp_numel(a);
    double *ha = vec(P), *hb = vec(P), *ga = vec(P), *gb = vec(P), la = 0, lb = 0, nb;
    wb_hvp_apply(a, v, ha, NULL);
    wb_hvp_apply(b, v, hb, NULL);
    wb_hvp_apply(a, v, ha, NULL); /* the cached pass (one chunk) too */
    *dh = norm_diff(ha, hb, P, &nb) / nb;
    wb_hvp_loss_grad(a, &la, ga, NULL);
    wb_hvp_loss_grad(b, &lb, gb, NULL);
    *dg = norm_diff(ga, gb, P, &nb) / nb;
    *dl = fabs(la - lb) / fabs(lb);
    wb_free(ha), wb_free(hb), wb_free(ga), wb_free(gb);
}

static void test_sparse_input(void)
{
    wb_dense *d1 = dense(300, 40, "tanh", 1e-3, 0.2), *d2 = dense(40, 10, "softmax", 0, 0.3);
    wb_hvp_layer ls[] = {{WB_HVP_IDENTITY, NULL, 0}, {WB_HVP_DENSE, d1, 0},
                         {WB_HVP_DENSE, d2, 0}};
    wb_hvp_opts os = {WB_HVP_SCE, 0, 64, 0}, od = {WB_HVP_SCE, 0, 64, 1},
                oc = {WB_HVP_SCE, 0, 7, 0}, o64 = {WB_HVP_SCE, 1, 64, 0};
    wb_hvp *hs = wb_hvp_new(ls, 3, &os, NULL), *hd = wb_hvp_new(ls, 3, &od, NULL);
    wb_hvp *hc = wb_hvp_new(ls, 3, &oc, NULL), *h64 = wb_hvp_new(ls, 3, &o64, NULL);
    int64_t su8[2] = {50, 300};
    wb_tensor *zeros = uniform(50, 300, 0, 1), *full = uniform(50, 300, 0.1, 1);
    wb_tensor *u8 = wb_tensor_new(WB_U8, 2, su8, NULL), *y = labels(50, 10);
    REQUIRE(hs && hd && hc && h64 && zeros && full && u8 && y, "setup");
    /* MNIST-like: 80 % zeros, a row all zeros, a column all zeros */
    float *z = wb_tensor_f32(zeros);
    for (int64_t k = 0; k < 50 * 300; k++) {
        if (wb_rng_uniform(&rng) < 0.8 || k / 300 == 3 || k % 300 == 17)
            z[k] = 0;
        wb_tensor_u8(u8)[k] = z[k] == 0 ? 0 : (uint8_t)(1 + wb_rng_below(&rng, 255));
    }
    const wb_tensor *xs[] = {zeros, u8, full};
    const char *names[] = {"80% zeros", "uint8, 80% zeros", "no zeros"};
    int64_t P = wb_hvp_numel(hs);
    double *v = vec(P), dh, dg, dl;
    for (int c = 0; c < 3; c++) {
        REQUIRE(!wb_hvp_set_data(hs, xs[c], y, NULL) && !wb_hvp_set_data(hd, xs[c], y, NULL) &&
                !wb_hvp_set_data(hc, xs[c], y, NULL) && !wb_hvp_set_data(h64, xs[c], y, NULL),
                "data");
        compare(hs, hd, v, &dh, &dg, &dl);
        CHECK(wb_hvp_sparse(hs) == (c < 2) && !wb_hvp_sparse(hd), "%s: sparse %d, dense %d",
              names[c], wb_hvp_sparse(hs), wb_hvp_sparse(hd));
        CHECK(dh < 2e-6 && dg < 2e-6 && dl < 1e-6, "%s: sparse vs dense float32: H v %.3g, "
              "gradient %.3g, loss %.3g", names[c], dh, dg, dl);
        compare(hc, hd, v, &dh, &dg, &dl);
        CHECK(wb_hvp_sparse(hc) == (c < 2), "%s: 7-row chunks sparse", names[c]);
        CHECK(dh < 2e-6 && dg < 2e-6 && dl < 1e-6, "%s: 7-row chunks vs dense: H v %.3g, "
              "gradient %.3g, loss %.3g", names[c], dh, dg, dl);
        compare(hs, h64, v, &dh, &dg, &dl);
        CHECK(dh < 1e-5 && dg < 1e-5 && dl < 1e-6, "%s: sparse vs float64: H v %.3g, "
              "gradient %.3g, loss %.3g", names[c], dh, dg, dl);
    }
    REQUIRE(!wb_hvp_set_data(hs, zeros, y, NULL), "data");
    /* float in, float out: the same products as the double interface's */
    float *vf = wb_calloc((size_t)P, sizeof *vf), *hff = wb_calloc((size_t)P, sizeof *hff);
    double *hdd = vec(P), dd = 0, n2 = 0;
    REQUIRE(vf && hff && hdd, "vectors");
    for (int64_t k = 0; k < P; k++)
        vf[k] = (float)v[k];
    wb_hvp_apply(hs, v, hdd, NULL);
    wb_err err;
    CHECK(!wb_hvp_apply_f32(hs, vf, hff, &err), "apply_f32: %s", err.msg);
    for (int64_t k = 0; k < P; k++)
        dd += (hff[k] - hdd[k]) * (hff[k] - hdd[k]), n2 += hdd[k] * hdd[k];
    CHECK(sqrt(dd / n2) < 1e-6, "float vs double interface: relative %.3g", sqrt(dd / n2));
    /* with v . H v summed inside (wb_hvp_apply_f32_dot): on the live
     * segments the same H v, bit for bit, and its sum, through the sparse
     * and the dense first layer (whose L2 term it adds too); off them
     * (the all-zero input column 17: its rows of W) H v is l2x2 v and not
     * written */
    for (int e = 0; e < 2; e++) {
        wb_hvp *he = e ? hd : hs;
        float *h2 = wb_calloc((size_t)P, sizeof *h2), l2x2;
        double vhv = 0, ref = 0;
        int nseg, same = 1, dead = 0;
        for (int64_t k = 0; h2 && k < P; k++)
            h2[k] = 7;
        const int64_t *seg = wb_hvp_f32_live(he, &nseg, &l2x2, &err);
        CHECK(h2 && seg && !wb_hvp_apply_f32(he, vf, hff, &err) &&
              !wb_hvp_apply_f32_dot(he, vf, h2, &vhv, &err), "apply_f32_dot: %s", err.msg);
        for (int i = 0, in = 0; h2 && seg && i < P; i++, in = 0) {
            for (int q = 0; q < nseg; q++)
                in |= i >= seg[2 * q] && i < seg[2 * q + 1];
            ref += in ? (double)vf[i] * (double)hff[i] : 0;
            same &= in ? hff[i] == h2[i] : h2[i] == 7 && hff[i] == l2x2 * vf[i];
            dead += !in;
        }
        CHECK(same && fabs(vhv - ref) <= 1e-6 * fabs(ref) && dead == (e ? 0 : 40) &&
              fabs(l2x2 - 2e-3) < 1e-9, "%s: v . H v %.9g, summed apart %.9g (%d not live)",
              e ? "dense" : "sparse", vhv, ref, dead);
        wb_free(h2);
    }
    CHECK(wb_hvp_apply_f32(hc, vf, hff, &err) == WB_ESTATE && strstr(err.msg, "one chunk"),
          "7-row chunks: %s", err.msg);
    CHECK(wb_hvp_apply_f32(h64, vf, hff, &err) == WB_ESTATE, "float64 engine");
    wb_free(vf), wb_free(hff), wb_free(hdd);
    double *hv = vec(P);
    wb_hvp_apply(hs, v, hv, NULL);
    long n0 = wb_alloc_count();
    wb_hvp_apply(hs, hv, v, NULL);
    wb_hvp_apply(hc, hv, v, NULL);
    CHECK(wb_alloc_count() == n0, "%ld allocations in two sparse products",
          wb_alloc_count() - n0);
    wb_free(v), wb_free(hv);
    wb_hvp_free(hs), wb_hvp_free(hd), wb_hvp_free(hc), wb_hvp_free(h64);
    wb_dense_free(d1), wb_dense_free(d2);
    wb_tensor_free(zeros), wb_tensor_free(full), wb_tensor_free(u8), wb_tensor_free(y);
}

/* wb_hvp_top_f32 (hess_max's): to convergence it finds the float64
 * engine's top; the gradient given in pieces is the gradient computed;
 * capped, it gives the double interface's numbers to float rounding and
 * x / *xnorm has the residual it reports; warm (x's norm known or not) it
 * allocates nothing; errors */
static void test_top_f32(void)
{
    /* L2 large enough that the rows off the live segments matter */
    wb_dense *d1 = dense(300, 40, "tanh", 0.05, 0.2), *d2 = dense(40, 10, "softmax", 0, 0.3);
    wb_hvp_layer ls[] = {{WB_HVP_DENSE, d1, 0}, {WB_HVP_DENSE, d2, 0}};
    wb_hvp *hf = engine(ls, 2, WB_HVP_SCE, 0, 64), *h64 = engine(ls, 2, WB_HVP_SCE, 1, 64);
    wb_tensor *x = uniform(50, 300, 0, 1), *y = labels(50, 10);
    REQUIRE(hf && h64 && x && y, "setup");
    float *z = wb_tensor_f32(x); /* MNIST-like: the sparse first layer, and a fifth
                                  * of the input never non-zero (a border) */
    for (int64_t k = 0; k < 50 * 300; k++)
        z[k] = wb_rng_uniform(&rng) < 0.8 || k % 300 < 60 ? 0 : z[k];
    REQUIRE(!wb_hvp_set_data(hf, x, y, NULL) && !wb_hvp_set_data(h64, x, y, NULL), "data");
    int64_t P = wb_hvp_numel(hf), gn[2] = {1000, P - 1000};
    double *g = vec(P), *xd = vec(P), *hy = vec(P), top, loss, va, vb, ra, rb, na = 0, nb = 0;
    float *gf = wb_calloc((size_t)P, sizeof *gf), *xa = wb_calloc((size_t)P, sizeof *xa);
    float *xb = wb_calloc((size_t)P, sizeof *xb), *x0 = wb_calloc((size_t)P, sizeof *x0);
    const float *gp[2] = {gf, gf + 1000};
    int found, conv, sa, sb;
    wb_eigs_opts o = {1, 1e-10, 300, NULL};
    wb_err err;
    REQUIRE(g && xd && hy && gf && xa && xb && x0, "vectors");
    REQUIRE(!wb_hvp_eigs(h64, 0, P, &o, &rng, &top, NULL, &found, &conv, NULL), "eigs");
    REQUIRE(!wb_hvp_loss_grad(hf, &loss, g, NULL), "gradient");
    for (int64_t i = 0; i < P; i++)
        gf[i] = (float)g[i], x0[i] = xa[i] = xb[i] = (float)xd[i];
    int nseg;
    float l2x2;
    const int64_t *seg = wb_hvp_f32_live(hf, &nseg, &l2x2, NULL);
    CHECK(seg && nseg == 1 && seg[0] == 60 * 40 && seg[1] == P, "live: %d segments",
          nseg); /* the border's rows of W are not swept (their part is a scalar) */
    REQUIRE(!wb_hvp_top_f32(hf, 64, 1e-12, 1, NULL, NULL, 0, xa, &na, 1, &rng, &va, &ra, &sa,
                            &err), "top_f32: %s", err.msg);
    CHECK(fabs(va - top) <= 1e-4 * top, "float top %.9g vs float64 %.9g", va, top);
    REQUIRE(!wb_hvp_top_f32(hf, 64, 1e-12, 1, gp, &P, 1, xb, &nb, 1, &rng, &vb, &rb, &sb,
                            NULL), "given gradient");
    CHECK(va == vb && ra == rb && sa == sb && na == nb &&
          memcmp(xa, xb, (size_t)P * sizeof *xa) == 0, "given gradient %.17g, computed %.17g",
          vb, va);
    memcpy(xb, x0, (size_t)P * sizeof *xb), nb = 0; /* in two pieces: their sums' rounding */
    REQUIRE(!wb_hvp_top_f32(hf, 64, 1e-12, 1, gp, gn, 2, xb, &nb, 1, &rng, &vb, &rb, &sb,
                            NULL), "two pieces");
    CHECK(fabs(va - vb) <= 1e-6 * va, "two pieces %.17g, one %.17g", vb, va);
    REQUIRE(!wb_hvp_top_g(hf, 0, P, 3, 0, 1, g, xd, 1, &rng, &va, &ra, &sa, NULL), "double");
    memcpy(xa, x0, (size_t)P * sizeof *xa), na = 0;
    REQUIRE(!wb_hvp_top_f32(hf, 3, 0, 1, gp, gn, 2, xa, &na, 1, &rng, &vb, &rb, &sb, NULL),
            "capped");
    for (int64_t i = 0; i < P; i++)
        xd[i] = xa[i] / na;
    wb_hvp_apply(h64, xd, hy, NULL);
    double e2 = 0;
    for (int64_t i = 0; i < P; i++)
        e2 += (hy[i] - vb * xd[i]) * (hy[i] - vb * xd[i]);
    e2 = sqrt(e2) / fabs(vb);
    CHECK(sa == 3 && sb == 3 && fabs(va - vb) <= 1e-5 * fabs(va) &&
          fabs(ra - rb) <= 1e-3 * ra && fabs(rb - e2) <= 1e-2 * e2 + 1e-5, "capped: %.9g "
          "(double interface %.9g), residual %.6g (%.6g; explicit %.6g)", vb, va, rb, ra, e2);
    memcpy(xb, xa, (size_t)P * sizeof *xa), nb = 0;
    long a0 = wb_alloc_count();
    REQUIRE(!wb_hvp_top_f32(hf, 8, 1e-3, 1, gp, gn, 2, xa, &na, 1, &rng, &va, &ra, &sa, NULL),
            "warm");
    CHECK(wb_alloc_count() == a0, "%ld allocations in a warm top", wb_alloc_count() - a0);
    REQUIRE(!wb_hvp_top_f32(hf, 8, 1e-3, 1, gp, gn, 2, xb, &nb, 1, &rng, &vb, &rb, &sb, NULL),
            "warm, norm not known");
    CHECK(sa == sb && fabs(va - vb) <= 1e-6 * fabs(va), "warm: %.9g vs %.9g", va, vb);
    CHECK(wb_hvp_top_f32(hf, WB_HVP_TOP_F32_MAX + 1, 0, 1, gp, gn, 2, xa, &na, 1, &rng, &va,
                         &ra, &sa, &err) == WB_ESTATE, "max_iter over the float basis's");
    CHECK(wb_hvp_top_f32(h64, 3, 0, 1, gp, gn, 2, xa, &na, 1, &rng, &va, &ra, &sa, &err) ==
          WB_ESTATE && strstr(err.msg, "float32"), "float64 engine: %s", err.msg);
    gn[1] = P;
    CHECK(wb_hvp_top_f32(hf, 3, 0, 1, gp, gn, 2, xa, &na, 1, &rng, &va, &ra, &sa, &err) ==
          WB_EINVAL && strstr(err.msg, "g:"), "pieces: %s", err.msg);
    memset(xa, 0, (size_t)P * sizeof *xa), na = 0;
    CHECK(wb_hvp_top_f32(hf, 3, 0, 0, NULL, NULL, 0, xa, &na, 1, &rng, &va, &ra, &sa, &err) ==
          WB_EINVAL && strstr(err.msg, "non-zero"), "zero start: %s", err.msg);
    wb_free(g), wb_free(xd), wb_free(hy), wb_free(gf), wb_free(xa), wb_free(xb), wb_free(x0);
    wb_tensor_free(x), wb_tensor_free(y);
    wb_hvp_free(hf), wb_hvp_free(h64);
    wb_dense_free(d1), wb_dense_free(d2);
}

/* Every SIMD level: the same value, residual, steps and Ritz vector, bit for
 * bit (core/simd.h), through a cold and a warm call on a new batch. */
static void test_simd_levels(void)
{
    wb_dense *d1 = dense(301, 168, "relu", 1e-3, 0.1), *d2 = dense(168, 10, "softmax", 0, 0.3);
    wb_hvp_layer ls[] = {{WB_HVP_DENSE, d1, 0}, {WB_HVP_DENSE, d2, 0}};
    wb_hvp *h = engine(ls, 2, WB_HVP_SCE, 0, 32);
    wb_tensor *x = uniform(32, 301, 0, 1), *x2 = uniform(32, 301, 0, 1), *y = labels(32, 10);
    REQUIRE(h && x && x2 && y, "setup");
    for (int64_t k = 0; k < 32 * 301; k++) { /* MNIST-like, a border never non-zero */
        wb_tensor_f32(x)[k] *= !(wb_rng_uniform(&rng) < 0.8 || k % 301 < 30);
        wb_tensor_f32(x2)[k] *= !(wb_rng_uniform(&rng) < 0.8 || k % 301 < 20);
    }
    /* an odd width: the last pair of columns (hvp_sparse.h) is one column */
    wb_hvp_opts od = {WB_HVP_SCE, 0, 32, 1};
    wb_hvp *hd = wb_hvp_new(ls, 2, &od, NULL);
    double *v = vec(wb_hvp_numel(h)), dh, dg, dl;
    REQUIRE(hd && !wb_hvp_set_data(h, x, y, NULL) && !wb_hvp_set_data(hd, x, y, NULL),
            "dense engine");
    compare(h, hd, v, &dh, &dg, &dl);
    CHECK(wb_hvp_sparse(h) && dh < 2e-6 && dg < 2e-6 && dl < 1e-6, "301 inputs: sparse vs "
          "dense float32: H v %.3g, gradient %.3g, loss %.3g", dh, dg, dl);
    wb_free(v), wb_hvp_free(hd);
    int64_t P = wb_hvp_numel(h);
    float *xs[3];
    double val[3][2], res[3][2], xn[3];
    int steps[3][2], levels[3] = {0, 2, 1};
    for (int l = 0; l < 3; l++) {
        wb_simd_allow_avx2(levels[l]);
        wb_rng r;
        wb_rng_seed(&r, 3);
        xs[l] = wb_calloc((size_t)P, sizeof(float));
        REQUIRE(xs[l] && !wb_hvp_set_data(h, x, y, NULL), "data");
        xn[l] = 0;
        REQUIRE(!wb_hvp_top_f32(h, 30, 1e-4, 1, NULL, NULL, 0, xs[l], &xn[l], 0, &r,
                                &val[l][0], &res[l][0], &steps[l][0], NULL), "cold");
        REQUIRE(!wb_hvp_set_data(h, x2, y, NULL) &&
                !wb_hvp_top_f32(h, 16, 1e-5, 1, NULL, NULL, 0, xs[l], &xn[l], 1, &r,
                                &val[l][1], &res[l][1], &steps[l][1], NULL), "warm");
    }
    wb_simd_allow_avx2(1);
    for (int l = 1; l < 3; l++)
        CHECK(memcmp(val[l], val[0], sizeof val[0]) == 0 &&
              memcmp(res[l], res[0], sizeof res[0]) == 0 && xn[l] == xn[0] &&
              memcmp(steps[l], steps[0], sizeof steps[0]) == 0 &&
              memcmp(xs[l], xs[0], (size_t)P * sizeof(float)) == 0,
              "level %d: %.17g %.17g (%d, %d steps), baseline %.17g %.17g (%d, %d)",
              levels[l], val[l][0], val[l][1], steps[l][0], steps[l][1], val[0][0],
              val[0][1], steps[0][0], steps[0][1]);
    for (int l = 0; l < 3; l++)
        wb_free(xs[l]);
    wb_tensor_free(x), wb_tensor_free(x2), wb_tensor_free(y);
    wb_hvp_free(h);
    wb_dense_free(d1), wb_dense_free(d2);
}

static void test_errors(void)
{
    wb_dense *d1 = dense(4, 3, "softmax", 0, 1), *d2 = dense(3, 2, "relu", 0, 1);
    wb_dense *d3 = dense(5, 2, "linear", 0, 1);
    wb_hvp_opts o = {WB_HVP_SCE, 1, 8, 0};
    wb_err err;
    wb_hvp_layer a[] = {{WB_HVP_DENSE, d1, 0}, {WB_HVP_DENSE, d2, 0}};
    CHECK(!wb_hvp_new(a, 2, &o, &err) && strstr(err.msg, "layer 1: softmax"), "%s", err.msg);
    CHECK(!wb_hvp_new(a + 1, 1, &o, &err) && strstr(err.msg, "softmax or linear, got relu"),
          "%s", err.msg);
    wb_hvp_layer b[] = {{WB_HVP_DENSE, d2, 0}, {WB_HVP_DENSE, d3, 0}};
    CHECK(!wb_hvp_new(b, 2, &o, &err) && err.code == WB_ESHAPE &&
          strstr(err.msg, "expects 5 inputs, the layers before give 2"), "%s", err.msg);
    wb_hvp_layer c[] = {{WB_HVP_IDENTITY, NULL, 0}};
    CHECK(!wb_hvp_new(c, 1, &o, &err) && strstr(err.msg, "Dense"), "%s", err.msg);
    wb_hvp *h = engine(b + 1, 1, WB_HVP_SCE, 1, 8);
    REQUIRE(h, "engine");
    double loss, v[12] = {0}, hv[12];
    CHECK(wb_hvp_apply(h, v, hv, &err) == WB_ESTATE, "apply without data");
    CHECK(wb_hvp_loss_grad(h, &loss, NULL, &err) == WB_ESTATE, "loss without data");
    wb_tensor *x = uniform(3, 4, 0, 1), *x5 = uniform(3, 5, 0, 1), *y = labels(3, 2);
    CHECK(wb_hvp_set_data(h, x, y, &err) == WB_ESHAPE &&
          strstr(err.msg, "x: expected [n, ...] with n >= 1 and 5 numbers per row, got "
                 "[3, 4]"), "%s", err.msg);
    wb_tensor_u8(y)[1] = 2;
    CHECK(wb_hvp_set_data(h, x5, y, &err) == WB_ERANGE &&
          strstr(err.msg, "label 2 (1-based position) is 2, expected an integer in 0..1"),
          "%s", err.msg);
    int64_t first, count;
    CHECK(wb_hvp_block(h, 1, &first, &count, &err) == WB_EINVAL, "block out of range");
    CHECK(!wb_hvp_block(h, 0, &first, &count, &err) && first == 0 && count == 12, "block");
    wb_hvp_free(h);
    wb_dense_free(d1), wb_dense_free(d2), wb_dense_free(d3);
    wb_tensor_free(x), wb_tensor_free(x5), wb_tensor_free(y);
}

int main(void)
{
    wb_rng_seed(&rng, 15);
    RUN(test_fd_every_activation);
    RUN(test_fd_activation_layer_and_mse);
    RUN(test_least_squares);
    RUN(test_softmax_regression);
    RUN(test_mnist_shape_spectrum);
    RUN(test_slq_moments);
    RUN(test_f32_chunks_alloc);
    RUN(test_sparse_input);
    RUN(test_top_f32);
    RUN(test_simd_levels);
    RUN(test_errors);
    TH_EXIT();
}
