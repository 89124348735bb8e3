/* test_optim_watch.c - the update's sums for instruments (core/optim.h
 * wb_optim_watch, core/optim_watch.c). Plain SGD: an armed step sums g^2
 * and (w - theta0)^2 over the weights before the update in the update's
 * own loop, checked against sums in double written here, on sizes that
 * take the 128-entry blocks and the tail. Any other step (momentum,
 * nesterov, Adam, AdamW, RMSprop, plain SGD with an L2 coefficient or an
 * update asked for) sums in the update's own loop or walks each tensor a
 * block at a time: its four sums must be wb_persample_params' bit for bit
 * when L2's term is summed (c != 0), else within the float blocks'
 * rounding, and the update bit for bit, on sizes that are and are not
 * multiples of the block, of 128 and of eight. In both the update
 * (weights and state) must stay bit for bit the unarmed one, and every
 * SIMD width must give the same bits. Then when it does not measure (not
 * armed, other tensors, a refused step, stopped), arming's errors, and
 * that armed steps allocate nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../core/alloc.h"
#include "../../core/optim.h"
#include "../../core/persample.h"
#include "../../core/simd.h"
#include "../../core/tensor.h"
#include "harness.h"

enum { NT = 3, ALL = WB_OPTIM_SUM_ALL };
static const int64_t SIZES[NT] = {100352, 129, 127}; /* blocks + tail, tail, tail only */

typedef struct setup {
    wb_tensor *w[NT], *g[NT], *w0[NT];
    const float *p0[NT];
    size_t numel[NT];
} setup;

static wb_tensor *vec(int64_t n) { return wb_tensor_new(WB_F32, 1, &n, NULL); }

static void setup_init(setup *s)
{
    for (int t = 0; t < NT; t++) {
        s->w[t] = vec(SIZES[t]), s->g[t] = vec(SIZES[t]), s->w0[t] = vec(SIZES[t]);
        for (int64_t k = 0; k < SIZES[t]; k++) {
            wb_tensor_f32(s->w[t])[k] = (float)cos(0.37 * k + t);
            wb_tensor_f32(s->g[t])[k] = (float)(sin(1.3 * k - t) * 1e-2 * (1 + k % 7));
            wb_tensor_f32(s->w0[t])[k] = (float)cos(0.37 * k + t) + (float)(1e-3 * sin(0.1 * k));
        }
        s->p0[t] = wb_tensor_f32(s->w0[t]);
        s->numel[t] = (size_t)SIZES[t];
    }
}

static void setup_free(setup *s)
{
    for (int t = 0; t < NT; t++) {
        wb_tensor_free(s->w[t]);
        wb_tensor_free(s->g[t]);
        wb_tensor_free(s->w0[t]);
    }
}

static wb_optim *sgd(double lr, double momentum)
{
    wb_optim_config c;
    wb_optim_defaults(WB_OPTIM_SGD, &c);
    c.lr = lr, c.momentum = momentum;
    return wb_optim_new(&c, NULL);
}

static int step(wb_optim *o, setup *s, int n)
{
    return wb_optim_step(o, n, s->w, (const wb_tensor *const *)s->g, NULL);
}

static void test_sums_match_double_and_update_unchanged(void)
{
    int top = wb_simd_allow_avx2(1);
    double first[2 * NT];
    for (int lv = 0; lv <= top; lv++) {
        for (int with0 = 0; with0 <= 1; with0++) {
            CHECK(wb_simd_allow_avx2(lv) == lv, "level %d", lv);
            setup a, b;
            setup_init(&a);
            setup_init(&b);
            wb_optim *oa = sgd(0.05, 0), *ob = sgd(0.05, 0);
            REQUIRE(oa && ob, "optimizers");
            REQUIRE(wb_optim_watch(oa, NT, with0 ? a.p0 : NULL, a.numel, NULL, WB_OPTIM_SUM_ALL,
                                   NULL) == WB_OK, "watch");
            double want[2 * NT];
            for (int t = 0; t < NT; t++) { /* the reference, before the step */
                double g2 = 0, d2 = 0;
                for (int64_t k = 0; k < SIZES[t]; k++) {
                    double g = wb_tensor_f32(a.g[t])[k];
                    double d = (double)wb_tensor_f32(a.w[t])[k] - a.p0[t][k];
                    g2 += g * g, d2 += d * d;
                }
                want[2 * t] = g2, want[2 * t + 1] = with0 ? d2 : 0;
            }
            REQUIRE(wb_optim_arm(oa, 0, NULL, NULL) == WB_OK, "arm");
            CHECK(step(oa, &a, NT) == 0 && step(ob, &b, NT) == 0, "steps");
            int n = -1, per = -1;
            const double *got = wb_optim_watched(oa, &n, &per);
            REQUIRE(got && n == NT && per == 2, "measured: n = %d, per = %d", n, per);
            for (int q = 0; q < 2 * NT; q++) {
                double tol = 2e-6 * want[q] + 1e-30;
                CHECK(fabs(got[q] - want[q]) <= tol, "level %d theta0 %d sum %d: %.12g vs %.12g",
                      lv, with0, q, got[q], want[q]);
            }
            if (with0 && lv == 0)
                memcpy(first, got, sizeof first);
            else if (with0)
                CHECK(memcmp(first, got, sizeof first) == 0, "level %d: other bits than level 0",
                      lv);
            for (int t = 0; t < NT; t++)
                CHECK(memcmp(wb_tensor_f32(a.w[t]), wb_tensor_f32(b.w[t]),
                             (size_t)SIZES[t] * sizeof(float)) == 0,
                      "level %d tensor %d: the armed update differs from the plain one", lv, t);
            wb_optim_free(oa);
            wb_optim_free(ob);
            setup_free(&a);
            setup_free(&b);
        }
    }
    wb_simd_allow_avx2(1);
}

/* ---- any optimizer: a block at a time ---------------------------------- */

/* sizes, for blocks of 256 (optim_impl.h): blocks and a tail of 5, whole
 * blocks, blocks and a part of one (a multiple of eight), under a block, a
 * tail only */
enum { NG = 5 };
static const int64_t GSIZES[NG] = {3 * 1024 + 5, 2048, 1000, 200, 7};
/* 2 l2 per tensor: some 0, some not */
static const double GC[NG] = {0.02, 0.0, 0.5, 0.0, 0.1};

typedef struct gcase {
    const char *name;
    wb_optim_kind kind;
    double momentum;
    int nesterov;
    double weight_decay;
    int plain_c; /* plain SGD: into the block walk by c != 0 (else by dirs) */
} gcase;

static const gcase GCASES[] = {
    {"sgd momentum", WB_OPTIM_SGD, 0.9, 0, 0, 0},
    {"sgd nesterov", WB_OPTIM_SGD, 0.9, 1, 0, 0},
    {"adam", WB_OPTIM_ADAM, 0, 0, 0, 0},
    {"adamw", WB_OPTIM_ADAMW, 0, 0, 0.1, 0},
    {"rmsprop", WB_OPTIM_RMSPROP, 0, 0, 0, 0},
    {"plain sgd, c", WB_OPTIM_SGD, 0, 0, 0, 1},
    {"plain sgd, dirs", WB_OPTIM_SGD, 0, 0, 0, 0},
};
#define N_GCASES ((int)(sizeof GCASES / sizeof GCASES[0]))

typedef struct gset {
    wb_tensor *w[NG], *g[NG], *dir[NG];
    float *w0[NG], *old[NG], *ref[NG]; /* theta0, theta_t, wb_persample_params' dir */
} gset;

static void gset_init(gset *s)
{
    for (int t = 0; t < NG; t++) {
        int64_t n = GSIZES[t];
        s->w[t] = vec(n), s->g[t] = vec(n), s->dir[t] = vec(n);
        s->w0[t] = wb_malloc((size_t)n * sizeof(float));
        s->old[t] = wb_malloc((size_t)n * sizeof(float));
        s->ref[t] = wb_malloc((size_t)n * sizeof(float));
        for (int64_t k = 0; k < n; k++) {
            wb_tensor_f32(s->w[t])[k] = (float)cos(0.37 * k + t);
            s->w0[t][k] = (float)cos(0.37 * k + t) + (float)(1e-3 * sin(0.1 * k));
        }
    }
}

static void gset_grads(gset *s, int step)
{
    for (int t = 0; t < NG; t++)
        for (int64_t k = 0; k < GSIZES[t]; k++)
            wb_tensor_f32(s->g[t])[k] = (float)(sin(1.3 * k - t + step) * 1e-2 * (1 + k % 7));
}

static void gset_free(gset *s)
{
    for (int t = 0; t < NG; t++) {
        wb_tensor_free(s->w[t]), wb_tensor_free(s->g[t]), wb_tensor_free(s->dir[t]);
        wb_free(s->w0[t]), wb_free(s->old[t]), wb_free(s->ref[t]);
    }
}

static wb_optim *gopt(const gcase *gc)
{
    wb_optim_config c;
    wb_optim_defaults(gc->kind, &c);
    c.lr = gc->kind == WB_OPTIM_SGD ? 0.05 : 1e-2;
    c.momentum = gc->momentum, c.nesterov = gc->nesterov;
    if (gc->kind == WB_OPTIM_ADAMW)
        c.weight_decay = gc->weight_decay;
    return wb_optim_new(&c, NULL);
}

static int gstep(wb_optim *o, gset *s)
{
    return wb_optim_step(o, NG, s->w, (const wb_tensor *const *)s->g, NULL);
}

/* Whether o's state equals p's, bit for bit. */
static int same_state(const wb_optim *o, const wb_optim *p)
{
    int same = wb_optim_n_slots(o) == wb_optim_n_slots(p);
    for (int t = 0; same && t < NG; t++)
        for (int k = 0; same && k < wb_optim_n_slots(o); k++) {
            wb_tensor *a = wb_optim_state_get(o, t, k, NULL);
            wb_tensor *b = wb_optim_state_get(p, t, k, NULL);
            same = a && b && memcmp(wb_tensor_f32(a), wb_tensor_f32(b),
                                    wb_tensor_numel(a) * sizeof(float)) == 0;
            wb_tensor_free(a), wb_tensor_free(b);
        }
    return same;
}

/* The float blocks' relative rounding (optim.h: at most 10 units of
 * 2^-24 a term, 6e-7), with a margin. */
#define FLOAT_SUMS_TOL 1.2e-6

/* One case at one width, theta0 (with0) and dirs (withdir) on or off, the
 * sums in need: three steps of a watched optimizer (the first unarmed, the
 * others armed) and an unwatched one; after each armed step the sums asked
 * for and dir must be wb_persample_params' on theta_t, the others 0, and
 * the weights the same. Returns the last step's sums in last[4 NG]. */
static void general_case(const gcase *gc, int lv, int with0, int withdir, int need,
                         double *last)
{
    gset a, b;
    gset_init(&a);
    gset_init(&b);
    wb_optim *oa = gopt(gc), *ob = gopt(gc);
    size_t numel[NG];
    const float *p0[NG];
    double c[NG];
    for (int t = 0; t < NG; t++)
        numel[t] = (size_t)GSIZES[t], p0[t] = a.w0[t], c[t] = gc->plain_c || gc->momentum ||
        gc->kind != WB_OPTIM_SGD ? GC[t] : 0.0;
    /* plain SGD without c takes the block walk only for the update */
    int dirs = withdir || (gc->kind == WB_OPTIM_SGD && gc->momentum == 0 && !gc->plain_c);
    REQUIRE(oa && ob, "%s: optimizers", gc->name);
    REQUIRE(wb_optim_watch(oa, NG, with0 ? p0 : NULL, numel, c, need, NULL) == WB_OK, "watch");
    for (int st = 1; st <= 3; st++) {
        gset_grads(&a, st), gset_grads(&b, st);
        for (int t = 0; t < NG; t++)
            memcpy(a.old[t], wb_tensor_f32(a.w[t]), numel[t] * sizeof(float));
        if (st > 1)
            REQUIRE(wb_optim_arm(oa, NG, dirs ? a.dir : NULL, NULL) == WB_OK, "arm");
        REQUIRE(gstep(oa, &a) == 0 && gstep(ob, &b) == 0, "%s: steps", gc->name);
        for (int t = 0; t < NG; t++)
            CHECK(memcmp(wb_tensor_f32(a.w[t]), wb_tensor_f32(b.w[t]),
                         numel[t] * sizeof(float)) == 0,
                  "%s level %d step %d tensor %d: the watched update differs", gc->name, lv,
                  st, t);
        CHECK(same_state(oa, ob), "%s level %d step %d: the state differs", gc->name, lv, st);
        int n = -1, per = -1;
        const double *got = wb_optim_watched(oa, &n, &per);
        if (st == 1) {
            CHECK(!got && n == 0 && per == 0, "%s: an unarmed step measured", gc->name);
            continue;
        }
        REQUIRE(got && n == NG && per == 4, "%s: measured n = %d per = %d", gc->name, n, per);
        for (int t = 0; t < NG; t++) {
            double want[4];
            wb_persample_params(want, wb_tensor_f32(a.g[t]), wb_tensor_f32(a.w[t]), a.old[t],
                                with0 ? a.w0[t] : NULL, a.ref[t], c[t], 0.0, GSIZES[t]);
            /* with L2's term the double sums, else float blocks */
            int exact = (need & WB_OPTIM_SUM_M2) && c[t] != 0.0;
            for (int q = 0; q < 4; q++) {
                double w = need >> q & 1 ? want[q] : 0.0, d = fabs(got[4 * t + q] - w);
                CHECK(exact ? memcmp(&got[4 * t + q], &w, sizeof(double)) == 0
                            : d <= FLOAT_SUMS_TOL * w,
                      "%s level %d theta0 %d dir %d need %d step %d tensor %d sum %d: %a vs %a "
                      "(%s)", gc->name, lv, with0, withdir, need, st, t, q, got[4 * t + q], w,
                      exact ? "bit for bit" : "float blocks");
            }
            if (dirs)
                CHECK(memcmp(wb_tensor_f32(a.dir[t]), a.ref[t], numel[t] * sizeof(float)) == 0,
                      "%s level %d step %d tensor %d: the update differs", gc->name, lv, st, t);
        }
        if (st == 3)
            memcpy(last, got, 4 * NG * sizeof *last);
    }
    wb_optim_free(oa);
    wb_optim_free(ob);
    gset_free(&a);
    gset_free(&b);
}

static void test_general_bits(void)
{
    int top = wb_simd_allow_avx2(1) ? (wb_simd_avx512() ? 2 : 1) : 0;
    /* all four sums, or one, or two: the fit's sets */
    static const int needs[] = {WB_OPTIM_SUM_ALL, WB_OPTIM_SUM_G2, WB_OPTIM_SUM_M2,
                                WB_OPTIM_SUM_D2, WB_OPTIM_SUM_U2,
                                WB_OPTIM_SUM_G2 | WB_OPTIM_SUM_M2};
    for (int ci = 0; ci < N_GCASES; ci++)
        for (int v = 0; v < 4 * 6; v++) {
            double first[4 * NG], got[4 * NG];
            /* levels: baseline, AVX2 (2 allows no AVX-512), all (1) */
            static const int allow[3] = {0, 2, 1};
            for (int l = 0; l <= top; l++) {
                wb_simd_allow_avx2(allow[l]);
                memset(got, 0, sizeof got);
                general_case(&GCASES[ci], allow[l], v & 1, v >> 1 & 1, needs[v / 4], got);
                if (l == 0)
                    memcpy(first, got, sizeof first);
                else
                    CHECK(memcmp(first, got, sizeof got) == 0, "%s level %d: other bits than "
                          "the baseline's", GCASES[ci].name, allow[l]);
            }
        }
    wb_simd_allow_avx2(1);
}

static void test_when_it_does_not_measure(void)
{
    setup s;
    setup_init(&s);
    wb_optim *o = sgd(0.05, 0), *m = sgd(0.05, 0.9);
    REQUIRE(o && m, "optimizers");
    int n = -1, per = -1;
    CHECK(wb_optim_watched(o, &n, &per) == NULL && n == 0 && per == 0,
          "nothing before any step");
    CHECK(wb_optim_arm(o, 0, NULL, NULL) == WB_OK, "not watched: arming does nothing");
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL, NULL), "armed but not watched");
    REQUIRE(wb_optim_watch(o, NT, s.p0, s.numel, NULL, ALL, NULL) == WB_OK, "watch");
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL, NULL), "not armed");
    wb_optim_arm(o, 0, NULL, NULL);
    CHECK(step(o, &s, NT) == 0 && wb_optim_watched(o, NULL, NULL), "armed");
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL, NULL), "the step disarmed");
    wb_optim_arm(o, 0, NULL, NULL);
    /* a refused step (non-finite gradient) disarms too */
    float keep = wb_tensor_f32(s.g[1])[5];
    wb_tensor_f32(s.g[1])[5] = NAN;
    CHECK(step(o, &s, NT) == WB_ENONFINITE && !wb_optim_watched(o, NULL, NULL),
          "refused step");
    wb_tensor_f32(s.g[1])[5] = keep;
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL, NULL),
          "disarmed by the refused step");
    REQUIRE(wb_optim_watch(m, NT, s.p0, s.numel, NULL, ALL, NULL) == WB_OK, "watch momentum");
    wb_optim_arm(m, 0, NULL, NULL);
    CHECK(step(m, &s, NT) == 0 && wb_optim_watched(m, NULL, &per) && per == 4,
          "momentum measures four sums");
    wb_optim *o2 = sgd(0.05, 0);
    REQUIRE(o2 && wb_optim_watch(o2, NT, s.p0, s.numel, NULL, ALL, NULL) == WB_OK, "o2");
    wb_optim_arm(o2, 0, NULL, NULL);
    CHECK(step(o2, &s, NT - 1) == 0 && !wb_optim_watched(o2, NULL, NULL), "fewer tensors");
    size_t other[NT] = {s.numel[0], s.numel[2], s.numel[1]}; /* same count, other sizes */
    wb_optim *o3 = sgd(0.05, 0);
    REQUIRE(o3 && wb_optim_watch(o3, NT, s.p0, other, NULL, ALL, NULL) == WB_OK, "o3");
    wb_optim_arm(o3, 0, NULL, NULL);
    CHECK(step(o3, &s, NT) == 0 && !wb_optim_watched(o3, NULL, NULL), "other sizes");
    CHECK(wb_optim_watch(o, 0, NULL, NULL, NULL, 0, NULL) == WB_OK, "stop");
    wb_optim_arm(o, 0, NULL, NULL);
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL, NULL), "stopped");
    wb_optim_free(o), wb_optim_free(m), wb_optim_free(o2), wb_optim_free(o3);
    setup_free(&s);
}

/* Bad updates for wb_optim_arm: refused with the error the header gives,
 * and the next step does not measure; unknown sums for wb_optim_watch:
 * refused, the watch kept. */
static void test_arm_errors(void)
{
    setup s;
    setup_init(&s);
    wb_optim *o = sgd(0.05, 0.9);
    REQUIRE(o && wb_optim_watch(o, NT, s.p0, s.numel, NULL, ALL, NULL) == WB_OK, "watch");
    wb_tensor *d[NT] = {vec(SIZES[0]), vec(SIZES[1]), vec(SIZES[2])};
    int64_t nb = SIZES[1];
    wb_tensor *bytes = wb_tensor_new(WB_U8, 1, &nb, NULL), *short1 = vec(SIZES[1] - 1);
    REQUIRE(d[0] && d[1] && d[2] && bytes && short1, "tensors");
    wb_err err;
    CHECK(wb_optim_arm(o, NT - 1, d, &err) == WB_EINVAL && strstr(err.msg, "2 updates for 3"),
          "count: %s", err.msg);
    wb_tensor *bad[NT] = {d[0], bytes, d[2]};
    CHECK(wb_optim_arm(o, NT, bad, &err) == WB_EINVAL && strstr(err.msg, "update 2") &&
          strstr(err.msg, "float32"), "dtype: %s", err.msg);
    bad[1] = short1;
    CHECK(wb_optim_arm(o, NT, bad, &err) == WB_ESHAPE && strstr(err.msg, "update 2: expected "
          "129 elements"), "size: %s", err.msg);
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL, NULL), "refused arming");
    /* unknown sums: refused, the watch as it was */
    CHECK(wb_optim_watch(o, NT, s.p0, s.numel, NULL, 16, &err) == WB_EINVAL &&
          strstr(err.msg, "unknown sums 0x10"), "need: %s", err.msg);
    bad[1] = NULL; /* none for that tensor */
    CHECK(wb_optim_arm(o, NT, bad, &err) == WB_OK, "a NULL entry: %s", err.msg);
    CHECK(step(o, &s, NT) == 0 && wb_optim_watched(o, NULL, NULL), "measured");
    wb_optim_free(o);
    for (int t = 0; t < NT; t++)
        wb_tensor_free(d[t]);
    wb_tensor_free(bytes), wb_tensor_free(short1);
    setup_free(&s);
}

static void test_armed_steps_allocate_nothing(void)
{
    setup s;
    setup_init(&s);
    long live0 = wb_alloc_live();
    wb_tensor *d[NT] = {vec(SIZES[0]), vec(SIZES[1]), vec(SIZES[2])};
    double c[NT] = {0.1, 0, 0.2};
    for (int kind = 0; kind < 2; kind++) { /* plain SGD's loop, Adam's blocks */
        wb_optim_config cfg;
        wb_optim_defaults(kind ? WB_OPTIM_ADAM : WB_OPTIM_SGD, &cfg);
        wb_optim *o = wb_optim_new(&cfg, NULL);
        REQUIRE(o && wb_optim_watch(o, NT, s.p0, s.numel, kind ? c : NULL, ALL, NULL) == WB_OK,
                "watch");
        CHECK(step(o, &s, NT) == 0, "first step");
        wb_alloc_fail_at(0, 0); /* resets the counter */
        for (int k = 0; k < 5; k++) {
            int per = 0;
            wb_optim_arm(o, kind ? NT : 0, kind ? d : NULL, NULL);
            CHECK(step(o, &s, NT) == 0 && wb_optim_watched(o, NULL, &per) &&
                  per == (kind ? 4 : 2), "kind %d armed step %d", kind, k);
        }
        CHECK(wb_alloc_count() == 0, "%ld allocations in armed steps", wb_alloc_count());
        wb_optim_free(o);
    }
    for (int t = 0; t < NT; t++)
        wb_tensor_free(d[t]);
    CHECK(wb_alloc_live() == live0, "leak: %ld live, was %ld", wb_alloc_live(), live0);
    setup_free(&s);
}

int main(void)
{
    RUN(test_sums_match_double_and_update_unchanged);
    RUN(test_general_bits);
    RUN(test_when_it_does_not_measure);
    RUN(test_arm_errors);
    RUN(test_armed_steps_allocate_nothing);
    TH_EXIT();
}
