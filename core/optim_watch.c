/* optim_watch.c - the update's own sums for instruments (optim.h
 * wb_optim_watch): a watched step armed by wb_optim_arm sums, per tensor,
 * what instruments read from the parameters (gradient norm, distance from
 * theta0, update size, the update itself) in the pass that updates them.
 *
 * Why: a pass of the instruments' own after the step (persample.h
 * wb_persample_params) rereads gradient, weights, theta0 and theta_t, a
 * copy of the weights taken before the step; the baseline MLP's
 * parameters (100k floats, 400 KB a tensor set) do not fit the level-2
 * cache, and the copy and the pass each cost about what the update does.
 *
 * Three ways, all giving the update's bits unchanged:
 *  - plain SGD (no momentum, no L2 coefficient, no update asked for):
 *    sgd_watch, the update's loop with g^2 and (w - theta0)^2 summed in
 *    it (two sums; the rest follows from them, optim.h);
 *  - momentum, Nesterov, Adam, AdamW and RMSprop without L2's term
 *    g - c theta_t: fused_body, the update's loop (optim_impl.h's entry
 *    functions, so the same operations) with g^2, (w - theta0)^2 and the
 *    update's square summed in it, in float blocks of 128 widened to
 *    double as sgd_watch's, and the update written;
 *  - any other step: each tensor a block of WB_OPTIM_WATCH_BLOCK entries at
 *    a time, the optimizer's own kernel run on the block (optim_impl.h:
 *    elementwise, so the bits of one call) and the sums read from the
 *    level-1 cache: after the update from a copy of the block's old
 *    weights when they need the new ones (the update's size, the update
 *    itself), else before it, from the block. Only those asked for are
 *    taken. Without L2's term (plain SGD asked for the update) in float
 *    blocks of 128 (fblock_body); with it param_sums.h's double sums,
 *    wb_persample_params' bit for bit, as g - c theta_t may cancel.
 * The double sums convert every float they read and are bound by that
 * arithmetic, not by memory. In a profile of the economy instruments with
 * Adam at batch 32 the watched update took 14 % of the time with them (a
 * copy, the kernel, the sums), 9.7 % with float blocks after the kernel,
 * 7.3 % fused (the plain kernel: 5.6 %).
 * Legend: w weights, g gradient, w0 theta0, n entries of a tensor.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "optim_impl.h"
#include "param_sums.h"
#include "simd.h"

/* ------------------------------------------------------------------------
 * Plain SGD: the sums in the update's own loop
 * ------------------------------------------------------------------------ */

/* sgd_plain's update, op for op, that also sums g^2 into s[0] and, with
 * w0 (has0), (w - w0)^2 over the weights before the update into s[1].
 * Blocks of 128 entries are summed in float (sixteen lanes, eight terms
 * each: a relative rounding of about 5e-7), the blocks in double. */
typedef float v16f __attribute__((vector_size(64), aligned(4)));
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef double v8d __attribute__((vector_size(64)));
#define V16(p) (*(v16f *)(p))
/* acc (8 doubles) += the sixteen lanes of v, widened, pairwise */
#define WIDEN16(acc, v)                                                            \
    do {                                                                           \
        v8f lo_, hi_;                                                            \
        memcpy(&lo_, &(v), sizeof lo_);                                            \
        memcpy(&hi_, (const char *)&(v) + sizeof lo_, sizeof hi_);                 \
        (acc) += __builtin_convertvector(lo_, v8d) + __builtin_convertvector(hi_, v8d); \
    } while (0)

WB_SIMD_BODY sgd_watch_body(float *restrict w, const float *restrict g,
                            const float *restrict w0, size_t n, const wb_optim_coef *k,
                            double *restrict s, int has0)
{
    const float lr = k->lr;
    v8d sg = {0}, sd = {0};
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        /* four named sums (an array of them was kept in memory, not
         * registers), two terms each per block */
        v16f g0 = {0}, g1 = {0}, g2 = {0}, g3 = {0}, d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
#define SGD_WATCH_ONE(q, ga, da)                                \
    do {                                                        \
        v16f gv = V16(g + i + 16 * (q)), wv = V16(w + i + 16 * (q)); \
        ga += gv * gv;                                          \
        if (has0) {                                             \
            v16f d = wv - V16(w0 + i + 16 * (q));                \
            da += d * d;                                        \
        }                                                       \
        V16(w + i + 16 * (q)) = wv - gv * lr;                   \
    } while (0)
        SGD_WATCH_ONE(0, g0, d0);
        SGD_WATCH_ONE(1, g1, d1);
        SGD_WATCH_ONE(2, g2, d2);
        SGD_WATCH_ONE(3, g3, d3);
        SGD_WATCH_ONE(4, g0, d0);
        SGD_WATCH_ONE(5, g1, d1);
        SGD_WATCH_ONE(6, g2, d2);
        SGD_WATCH_ONE(7, g3, d3);
#undef SGD_WATCH_ONE
        v16f gs = (g0 + g1) + (g2 + g3), ds = (d0 + d1) + (d2 + d3);
        WIDEN16(sg, gs);
        if (has0)
            WIDEN16(sd, ds);
    }
    double a = 0, b = 0;
    for (int q = 0; q < 8; q++)
        a += sg[q], b += sd[q];
    for (; i < n; i++) {
        float gi = g[i], d = has0 ? w[i] - w0[i] : 0.0f;
        a += (double)(gi * gi), b += (double)(d * d);
        w[i] -= gi * lr;
    }
    s[0] = a, s[1] = b;
}
#define SGD_WATCH_PARAMS                                                        \
    (float *restrict w, const float *restrict g, const float *restrict w0, size_t n, \
     const wb_optim_coef *k, double *restrict s)
WB_SIMD_KERNEL(sgd_watch0, sgd_watch_body, SGD_WATCH_PARAMS, (w, g, w0, n, k, s, 1))
WB_SIMD_KERNEL(sgd_watch, sgd_watch_body, SGD_WATCH_PARAMS, (w, g, w0, n, k, s, 0))

/* ------------------------------------------------------------------------
 * Any optimizer: a block at a time
 * ------------------------------------------------------------------------ */

/* a += a block's sums (param_sums.h) over its n entries, n a multiple of
 * eight: g, the new weights w, the old ones, w0 and the update written to
 * dir (hasdir); need says which sums. Both are constants of each copy:
 * with need tested in the loop the distance alone took twice as long. */
WB_SIMD_BODY block_sums_body(wb_psums *restrict a, const float *restrict g,
                             const float *restrict w, const float *restrict old,
                             const float *restrict w0, float *restrict dir, double c,
                             int64_t n, int need, int hasdir)
{
    wb_psums_add(a, g, w, old, w0, dir, c, 0.0, n, 1, need, hasdir);
}
#define BLOCK_SUMS_PARAMS                                                        \
    (wb_psums *restrict a, const float *restrict g, const float *restrict w,     \
     const float *restrict old, const float *restrict w0, float *restrict dir, double c, \
     int64_t n)
typedef void(*block_sums_fn) BLOCK_SUMS_PARAMS;
/* the copies: every set of sums (WB_PSUM_* bits) without dir, those with
 * the update's sum with it (a dir without it takes it too) */
#define BLOCK_SUMS_COPIES(X)                                                     \
    X(1, 0) X(2, 0) X(3, 0) X(4, 0) X(5, 0) X(6, 0) X(7, 0) X(8, 0) X(9, 0)      \
    X(10, 0) X(11, 0) X(12, 0) X(13, 0) X(14, 0) X(15, 0)                       \
    X(8, 1) X(9, 1) X(10, 1) X(11, 1) X(12, 1) X(13, 1) X(14, 1) X(15, 1)
#define BLOCK_SUMS_DEFINE(m, d)                                                  \
    WB_SIMD_KERNEL(block_sums_##m##_##d, block_sums_body, BLOCK_SUMS_PARAMS,    \
                   (a, g, w, old, w0, dir, c, n, m, d))
BLOCK_SUMS_COPIES(BLOCK_SUMS_DEFINE)

/* The copy for need and hasdir (need has WB_PSUM_U when hasdir), or NULL
 * when there is nothing to do. */
static block_sums_fn block_sums(int need, int hasdir)
{
    switch (need | hasdir << 4) {
#define BLOCK_SUMS_CASE(m, d) \
    case (m) | (d) << 4: return WB_SIMD_CALL(block_sums_##m##_##d);
        BLOCK_SUMS_COPIES(BLOCK_SUMS_CASE)
    }
    return NULL;
}

/* Tensor i's update, a block at a time, and its sums into o->sums[4 i ..];
 * the update into o->dirs[i] when the step has dirs. Without the update
 * size and dir the sums read only the weights before the update, so they
 * are taken before it, from the block itself; else from a copy. */
static void watch_blocks(wb_optim *o, int i, float *w, const float *g,
                         const wb_optim_coef *k, int need)
{
    const wb_optim_pstate *p = &o->params[i];
    const float *w0 = o->w0[i];
    float *dir = o->has_dirs ? o->dirs[i] : NULL;
    const double c = o->w_c[i];
    const block_sums_fn add = block_sums(need, dir != NULL);
    const int before = !(need & WB_PSUM_U);
    double *s = o->sums + 4 * (size_t)i;
    wb_psums a = {{{0}}, {{0}}, {{0}}, {{0}}};
    const size_t n = p->numel;
    for (size_t off = 0, len;; off += len) {
        len = n - off < WB_OPTIM_WATCH_BLOCK ? n - off : WB_OPTIM_WATCH_BLOCK;
        /* whole groups of eight; blocks are multiples of eight, so only
         * the last block leaves a tail, which ends the tensor's sums */
        const int64_t body = (int64_t)(len & ~(size_t)7);
        const int last = off + len == n;
        const float *b0 = w0 ? w0 + off : NULL, *old = before ? w + off : o->old;
        float *bd = dir ? dir + off : NULL;
        if (before && add) {
            add(&a, g + off, old, old, b0, NULL, c, body);
            if (last)
                wb_psums_end(&a, s, g + off, old, old, b0, NULL, c, 0.0, body,
                             (int64_t)len, 1, need, 0);
        } else if (!before && len) {
            memcpy(o->old, w + off, len * sizeof *o->old);
        }
        wb_optim_update(o->cfg.kind, k, w + off, g + off, p->m ? p->m + off : NULL,
                        p->v ? p->v + off : NULL, len);
        if (!before) {
            add(&a, g + off, w + off, old, b0, bd, c, body);
            if (last)
                wb_psums_end(&a, s, g + off, w + off, old, b0, bd, c, 0.0, body,
                             (int64_t)len, 1, need, dir != NULL);
        }
        if (last)
            break;
    }
    if (!add)
        s[0] = s[1] = s[2] = s[3] = 0.0;
}

/* ------------------------------------------------------------------------
 * Any optimizer without L2's term: float sums in blocks of 128
 * ------------------------------------------------------------------------ */

/* The three sums of a tensor walked in pieces: eight double lanes each
 * (g^2, (theta_t - w0)^2, (theta - theta_t)^2), zeroed before its first. */
typedef struct fsums {
    v8d g2, d2, u2;
} fsums;

/* a += the sums over entries [0, n) of a piece, n a multiple of 128, as
 * sgd_watch_body sums: per 128 entries, sixteen float lanes of eight terms
 * (four sums of two, then pairwise) widened to double. g, the weights
 * after (w) and before (old) the update, w0, and the update w - old
 * written to dir (hasdir); need (WB_PSUM_G, _D, _U) and hasdir are
 * constants of each copy. The float lanes do per lane what the scalar
 * code would, so every SIMD width gives the same bits. */
WB_SIMD_BODY fblock_body(fsums *restrict a, const float *restrict g,
                         const float *restrict w, const float *restrict old,
                         const float *restrict w0, float *restrict dir, int64_t n, int need,
                         int hasdir)
{
    v8d sg = a->g2, sd = a->d2, su = a->u2;
    for (int64_t i = 0; i + 128 <= n; i += 128) {
        v16f g0 = {0}, g1 = {0}, g2 = {0}, g3 = {0}, d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
        v16f u0 = {0}, u1 = {0}, u2 = {0}, u3 = {0};
#define FBLOCK_ONE(q, ga, da, ua)                                                  \
    do {                                                                           \
        const int64_t j = i + 16 * (q);                                            \
        v16f tt = V16(old + j);                                                    \
        if (need & WB_PSUM_G) {                                                    \
            v16f gv = V16(g + j);                                                  \
            ga += gv * gv;                                                         \
        }                                                                          \
        if (need & WB_PSUM_D) {                                                    \
            v16f d = tt - V16(w0 + j);                                             \
            da += d * d;                                                           \
        }                                                                          \
        if (need & WB_PSUM_U) {                                                    \
            v16f u = V16(w + j) - tt;                                              \
            ua += u * u;                                                           \
            if (hasdir)                                                            \
                V16(dir + j) = u;                                                  \
        }                                                                          \
    } while (0)
        FBLOCK_ONE(0, g0, d0, u0);
        FBLOCK_ONE(1, g1, d1, u1);
        FBLOCK_ONE(2, g2, d2, u2);
        FBLOCK_ONE(3, g3, d3, u3);
        FBLOCK_ONE(4, g0, d0, u0);
        FBLOCK_ONE(5, g1, d1, u1);
        FBLOCK_ONE(6, g2, d2, u2);
        FBLOCK_ONE(7, g3, d3, u3);
#undef FBLOCK_ONE
        if (need & WB_PSUM_G) {
            v16f s = (g0 + g1) + (g2 + g3);
            WIDEN16(sg, s);
        }
        if (need & WB_PSUM_D) {
            v16f s = (d0 + d1) + (d2 + d3);
            WIDEN16(sd, s);
        }
        if (need & WB_PSUM_U) {
            v16f s = (u0 + u1) + (u2 + u3);
            WIDEN16(su, s);
        }
    }
    a->g2 = sg, a->d2 = sd, a->u2 = su;
}
#define FBLOCK_PARAMS                                                            \
    (fsums *restrict a, const float *restrict g, const float *restrict w,        \
     const float *restrict old, const float *restrict w0, float *restrict dir, int64_t n)
typedef void(*fblock_fn) FBLOCK_PARAMS;
/* the copies: every set of g, d and u without dir, those with u with it */
#define FBLOCK_COPIES(X) \
    X(1, 0) X(4, 0) X(5, 0) X(8, 0) X(9, 0) X(12, 0) X(13, 0) X(8, 1) X(9, 1) X(12, 1) X(13, 1)
#define FBLOCK_DEFINE(m, d)                                                      \
    WB_SIMD_KERNEL(fblock_##m##_##d, fblock_body, FBLOCK_PARAMS,                \
                   (a, g, w, old, w0, dir, n, m, d))
FBLOCK_COPIES(FBLOCK_DEFINE)

/* The copy for need (no WB_PSUM_M; WB_PSUM_U when hasdir) and hasdir, or
 * NULL when there is nothing to do. */
static fblock_fn fblock(int need, int hasdir)
{
    switch (need | hasdir << 4) {
#define FBLOCK_CASE(m, d) \
    case (m) | (d) << 4: return WB_SIMD_CALL(fblock_##m##_##d);
        FBLOCK_COPIES(FBLOCK_CASE)
    }
    return NULL;
}

/* The tensor's sums into s[4] (s[1] 0): a's lanes folded in order, then
 * entries [k, n) of the last piece one by one, float squares added in
 * double as sgd_watch_body's tail. */
static void fblock_end(const fsums *a, double *s, const float *g, const float *w,
                       const float *old, const float *w0, float *dir, int64_t k, int64_t n,
                       int need)
{
    double t[3] = {0, 0, 0};
    for (int q = 0; q < 8; q++)
        t[0] += a->g2[q], t[1] += a->d2[q], t[2] += a->u2[q];
    for (; k < n; k++) {
        float gk = g[k], d = w0 ? old[k] - w0[k] : 0.0f, u = w[k] - old[k];
        t[0] += (double)(gk * gk), t[1] += (double)(d * d), t[2] += (double)(u * u);
        if (dir)
            dir[k] = u;
    }
    s[0] = need & WB_PSUM_G ? t[0] : 0.0, s[1] = 0.0;
    s[2] = need & WB_PSUM_D ? t[1] : 0.0, s[3] = need & WB_PSUM_U ? t[2] : 0.0;
}

/* Tensor i's update, a block at a time, and its sums (need: no
 * WB_PSUM_M) in float blocks into o->sums[4 i ..]; the update into
 * o->dirs[i] when the step has dirs. As watch_blocks: from the block
 * before the update when the update's size is not needed, else after it
 * from a copy of the block's old weights. */
static void watch_fblocks(wb_optim *o, int i, float *w, const float *g,
                          const wb_optim_coef *k, int need)
{
    const wb_optim_pstate *p = &o->params[i];
    const float *w0 = o->w0[i];
    float *dir = o->has_dirs ? o->dirs[i] : NULL;
    const fblock_fn add = fblock(need, dir != NULL);
    const int before = !(need & WB_PSUM_U);
    double *s = o->sums + 4 * (size_t)i;
    fsums a = {{0}, {0}, {0}};
    const size_t n = p->numel;
    for (size_t off = 0, len;; off += len) {
        len = n - off < WB_OPTIM_WATCH_BLOCK ? n - off : WB_OPTIM_WATCH_BLOCK;
        /* whole groups of 128; blocks are multiples of 128, so only the
         * last block leaves a tail, which ends the tensor's sums */
        const int64_t body = (int64_t)(len & ~(size_t)127);
        const int last = off + len == n;
        const float *b0 = w0 ? w0 + off : NULL, *old = before ? w + off : o->old;
        float *bd = dir ? dir + off : NULL;
        if (before && add) {
            add(&a, g + off, old, old, b0, NULL, body);
            if (last)
                fblock_end(&a, s, g + off, old, old, b0, NULL, body, (int64_t)len, need);
        } else if (!before && len) {
            memcpy(o->old, w + off, len * sizeof *o->old);
        }
        wb_optim_update(o->cfg.kind, k, w + off, g + off, p->m ? p->m + off : NULL,
                        p->v ? p->v + off : NULL, len);
        if (!before) {
            add(&a, g + off, w + off, old, b0, bd, body);
            if (last)
                fblock_end(&a, s, g + off, w + off, old, b0, bd, body, (int64_t)len, need);
        }
        if (last)
            break;
    }
    if (!add)
        s[0] = s[1] = s[2] = s[3] = 0.0;
}

/* ------------------------------------------------------------------------
 * Momentum, Nesterov, Adam, AdamW, RMSprop without L2's term: the sums in
 * the update's own loop
 * ------------------------------------------------------------------------ */

/* The kernels fused with the sums (kind of fused_body) */
enum { F_MOMENTUM, F_NESTEROV, F_ADAM, F_ADAMW, F_RMSPROP };

/* One entry of the update of kind (optim_impl.h), the new weight. */
static inline __attribute__((always_inline)) float fused_one(int kind, float w, float g,
                                                              float *m, float *v,
                                                              const wb_optim_coef *k)
{
    switch (kind) {
    case F_MOMENTUM: return wb_optim_momentum_one(w, g, m, k, 0);
    case F_NESTEROV: return wb_optim_momentum_one(w, g, m, k, 1);
    case F_ADAM: return wb_optim_adam_one(w, g, m, v, k, 0);
    case F_ADAMW: return wb_optim_adam_one(w, g, m, v, k, 1);
    default: return wb_optim_rmsprop_one(w, g, m, k);
    }
}

#define ADAMS(kind) ((kind) == F_ADAM || (kind) == F_ADAMW)
/* Entries [at, at + h) of a chunk: update, and the terms g^2, (w - w0)^2 (0
 * without has0) and u^2, u = the new w - the old, into lanes of tg, td,
 * tu (of h floats); u into dir (hasdir). */
#define FUSED_LANES(at, h, tg, td, tu)                                             \
    for (int j = 0; j < (h); j++) {                                                \
        const int64_t e = (at) + j;                                                \
        float wi = w[e], gi = g[e];                                                \
        float wn = fused_one(kind, wi, gi, m + e, ADAMS(kind) ? v + e : NULL, k);  \
        float u = wn - wi, d = has0 ? wi - w0[e] : 0.0f;                           \
        w[e] = wn;                                                                 \
        if (hasdir)                                                                \
            dir[e] = u;                                                            \
        tg[j] = gi * gi, td[j] = d * d, tu[j] = u * u;                             \
    }

/* The update of kind over a whole tensor of n entries and its sums into
 * s[4] (s[1] = 0; theta0 w0 when has0, the update into dir when hasdir;
 * the three sums always: g^2 and u^2 cost a few float operations on what
 * the update holds). As sgd_watch_body: per 128 entries sixteen float
 * lanes (entry 16 q + j to lane j) of eight terms, added in order, widened
 * to double; then the lanes in order and the tail one by one. wide: the
 * sixteen lanes as one vector (AVX-512), else as two of eight (GCC kept a
 * sixteen-float temporary in memory in the AVX2 copy): the same
 * operations per lane, so the same bits. */
WB_SIMD_BODY fused_body(float *restrict w, const float *restrict g, float *restrict m,
                        float *restrict v, const float *restrict w0, float *restrict dir,
                        int64_t n, const wb_optim_coef *k, double *restrict s, int kind,
                        int has0, int hasdir, int wide)
{
    v8d sg = {0}, sd = {0}, su = {0};
    int64_t i = 0;
    for (; i + 128 <= n;) {
        if (wide) {
            v16f bg = {0}, bd = {0}, bu = {0};
            for (int q = 0; q < 8; q++, i += 16) {
                v16f tg, td, tu;
                FUSED_LANES(i, 16, tg, td, tu)
                bg += tg, bd += td, bu += tu;
            }
            WIDEN16(sg, bg);
            WIDEN16(sd, bd);
            WIDEN16(su, bu);
        } else {
            v8f bg0 = {0}, bd0 = {0}, bu0 = {0}, bg1 = {0}, bd1 = {0}, bu1 = {0};
            for (int q = 0; q < 8; q++, i += 16) {
                v8f tg, td, tu;
                FUSED_LANES(i, 8, tg, td, tu)
                bg0 += tg, bd0 += td, bu0 += tu;
                FUSED_LANES(i + 8, 8, tg, td, tu)
                bg1 += tg, bd1 += td, bu1 += tu;
            }
            sg += __builtin_convertvector(bg0, v8d) + __builtin_convertvector(bg1, v8d);
            sd += __builtin_convertvector(bd0, v8d) + __builtin_convertvector(bd1, v8d);
            su += __builtin_convertvector(bu0, v8d) + __builtin_convertvector(bu1, v8d);
        }
    }
    double a = 0, b = 0, c = 0;
    for (int q = 0; q < 8; q++)
        a += sg[q], b += sd[q], c += su[q];
    for (; i < n; i++) {
        float wi = w[i], gi = g[i];
        float wn = fused_one(kind, wi, gi, m + i, ADAMS(kind) ? v + i : NULL, k);
        float u = wn - wi, d = has0 ? wi - w0[i] : 0.0f;
        w[i] = wn;
        if (hasdir)
            dir[i] = u;
        a += (double)(gi * gi), b += (double)(d * d), c += (double)(u * u);
    }
    s[0] = a, s[1] = 0.0, s[2] = b, s[3] = c;
}
#undef FUSED_LANES
#undef ADAMS
#define FUSED_PARAMS                                                             \
    (float *restrict w, const float *restrict g, float *restrict m, float *restrict v, \
     const float *restrict w0, float *restrict dir, int64_t n, const wb_optim_coef *k, \
     double *restrict s)
typedef void(*fused_fn) FUSED_PARAMS;
/* the copies: each kind with and without theta0 and dir */
#define FUSED_COPIES(X)                                                          \
    X(F_MOMENTUM, 0, 0) X(F_MOMENTUM, 0, 1) X(F_MOMENTUM, 1, 0) X(F_MOMENTUM, 1, 1) \
    X(F_NESTEROV, 0, 0) X(F_NESTEROV, 0, 1) X(F_NESTEROV, 1, 0) X(F_NESTEROV, 1, 1) \
    X(F_ADAM, 0, 0) X(F_ADAM, 0, 1) X(F_ADAM, 1, 0) X(F_ADAM, 1, 1)              \
    X(F_ADAMW, 0, 0) X(F_ADAMW, 0, 1) X(F_ADAMW, 1, 0) X(F_ADAMW, 1, 1)          \
    X(F_RMSPROP, 0, 0) X(F_RMSPROP, 0, 1) X(F_RMSPROP, 1, 0) X(F_RMSPROP, 1, 1)
#define FUSED_DEFINE(f, z, d)                                                    \
    WB_SIMD_KERNEL_W(fused_##f##_##z##_##d, fused_body, FUSED_PARAMS,           \
                     (w, g, m, v, w0, dir, n, k, s, f, z, d, 0),                  \
                     (w, g, m, v, w0, dir, n, k, s, f, z, d, 1))
FUSED_COPIES(FUSED_DEFINE)

/* The fused copy for this step's kernel (optim.c wb_optim_update), theta0
 * (has0) and dir (hasdir), or NULL for plain SGD. */
static fused_fn fused(const wb_optim *o, const wb_optim_coef *k, int has0, int hasdir)
{
    int f;
    switch (o->cfg.kind) {
    case WB_OPTIM_SGD:
        if (o->cfg.momentum == 0.0)
            return NULL;
        f = k->nesterov ? F_NESTEROV : F_MOMENTUM;
        break;
    case WB_OPTIM_ADAM:
    case WB_OPTIM_ADAMW: f = k->dk != 0.0f ? F_ADAMW : F_ADAM; break;
    default: f = F_RMSPROP; break;
    }
    switch (f << 2 | has0 << 1 | hasdir) {
#define FUSED_CASE(f, z, d) \
    case (f) << 2 | (z) << 1 | (d): return WB_SIMD_CALL(fused_##f##_##z##_##d);
        FUSED_COPIES(FUSED_CASE)
    }
    return NULL;
}

/* Tensor i's watched update: the sums asked for (o->need) into
 * o->sums[4 i ..], in float blocks unless L2's term is asked for. */
static void watch_tensor(wb_optim *o, int i, float *w, const float *g,
                         const wb_optim_coef *k)
{
    /* with c = 0, g - c theta_t is g (theta_t finite): its sum is g^2's */
    int need = o->w0[i] ? o->need : o->need & ~WB_PSUM_D;
    if (o->w_c[i] == 0.0 && (need & WB_PSUM_M))
        need = (need & ~WB_PSUM_M) | WB_PSUM_G;
    if (o->has_dirs && o->dirs[i])
        need |= WB_PSUM_U;
    double *s = o->sums + 4 * (size_t)i;
    float *dir = o->has_dirs ? o->dirs[i] : NULL;
    const fused_fn f = need & WB_PSUM_M ? NULL : fused(o, k, (need & WB_PSUM_D) != 0, !!dir);
    const wb_optim_pstate *p = &o->params[i];
    if (f)
        f(w, g, p->m, p->v, o->w0[i], dir, (int64_t)p->numel, k, s);
    else if (need & WB_PSUM_M)
        watch_blocks(o, i, w, g, k, need);
    else
        watch_fblocks(o, i, w, g, k, need);
    if ((o->need & WB_PSUM_M) && !(need & WB_PSUM_M))
        s[1] = s[0];
    for (int q = 0; q < 4; q++) /* taken for another, not asked for */
        if (!(o->need >> q & 1))
            s[q] = 0.0;
}

/* ------------------------------------------------------------------------
 * The step's side (optim_impl.h) and the public calls
 * ------------------------------------------------------------------------ */

int wb_optim_watch_begin(wb_optim *o, int n, int armed)
{
    int measure = armed && n == o->n_watch;
    for (int i = 0; measure && i < n; i++)
        measure = o->params[i].numel == o->w_numel[i];
    /* plain SGD's loop gives what the rest follows from, without L2's
     * term and when no update is asked for */
    int plain = measure && o->cfg.kind == WB_OPTIM_SGD && o->cfg.momentum == 0.0 &&
                !o->has_dirs;
    for (int i = 0; plain && i < n; i++)
        plain = o->w_c[i] == 0.0;
    o->form = plain ? 2 : 4;
    return measure;
}

void wb_optim_watch_update(wb_optim *o, int i, float *w, const float *g,
                           const wb_optim_coef *k)
{
    if (o->form == 2)
        (o->w0[i] ? WB_SIMD_CALL(sgd_watch0) : WB_SIMD_CALL(sgd_watch))(
            w, g, o->w0[i], o->params[i].numel, k, o->sums + 2 * (size_t)i);
    else
        watch_tensor(o, i, w, g, k);
}

void wb_optim_watch_clear(wb_optim *o)
{
    wb_free(o->w0);
    wb_free(o->w_numel);
    wb_free(o->w_c);
    wb_free(o->dirs);
    wb_free(o->sums);
    wb_free(o->old);
    o->w0 = NULL, o->w_numel = NULL, o->w_c = NULL, o->dirs = NULL, o->sums = NULL;
    o->old = NULL;
    o->n_watch = o->armed = o->measured = o->has_dirs = 0;
}

_Static_assert((int)WB_OPTIM_SUM_G2 == WB_PSUM_G && (int)WB_OPTIM_SUM_M2 == WB_PSUM_M &&
               (int)WB_OPTIM_SUM_D2 == WB_PSUM_D && (int)WB_OPTIM_SUM_U2 == WB_PSUM_U,
               "optim.h's sums are param_sums.h's");

wb_status wb_optim_watch(wb_optim *o, int n, const float *const *theta0,
                         const size_t *numel, const double *c, int need, wb_err *err)
{
    if (n > 0 && (need & ~WB_OPTIM_SUM_ALL))
        return wb_err_set(err, WB_EINVAL, "watch: unknown sums 0x%x (known: 0x%x)",
                          (unsigned)need, (unsigned)WB_OPTIM_SUM_ALL);
    wb_optim_watch_clear(o);
    if (n <= 0)
        return WB_OK;
    o->w0 = wb_malloc((size_t)n * sizeof *o->w0);
    o->w_numel = wb_malloc((size_t)n * sizeof *o->w_numel);
    o->w_c = wb_malloc((size_t)n * sizeof *o->w_c);
    o->dirs = wb_malloc((size_t)n * sizeof *o->dirs);
    o->sums = wb_malloc(4 * (size_t)n * sizeof *o->sums);
    o->old = wb_alloc_aligned(WB_OPTIM_WATCH_BLOCK * sizeof *o->old);
    if (!o->w0 || !o->w_numel || !o->w_c || !o->dirs || !o->sums || !o->old) {
        wb_optim_watch_clear(o);
        return wb_err_set(err, WB_ENOMEM, "out of memory watching %d tensors", n);
    }
    for (int i = 0; i < n; i++) {
        o->w0[i] = theta0 ? theta0[i] : NULL, o->w_numel[i] = numel[i];
        o->w_c[i] = c ? c[i] : 0.0, o->dirs[i] = NULL;
    }
    o->n_watch = n, o->need = need;
    return WB_OK;
}

wb_status wb_optim_arm(wb_optim *o, int n, wb_tensor *const *dirs, wb_err *err)
{
    if (!o->n_watch)
        return WB_OK; /* nothing to measure: not armed */
    if (dirs && n != o->n_watch)
        return wb_err_set(err, WB_EINVAL, "%d updates for %d watched tensors", n,
                          o->n_watch);
    for (int i = 0; dirs && i < o->n_watch; i++) {
        const wb_tensor *d = dirs[i];
        if (d && d->dtype != WB_F32)
            return wb_err_set(err, WB_EINVAL, "update %d: expected float32, got %s", i + 1,
                              wb_dtype_name(d->dtype));
        if (d && wb_tensor_numel(d) != o->w_numel[i])
            return wb_err_set(err, WB_ESHAPE, "update %d: expected %zu elements (the "
                              "watched parameter's), got %zu", i + 1, o->w_numel[i],
                              wb_tensor_numel(d));
    }
    for (int i = 0; i < o->n_watch; i++)
        o->dirs[i] = dirs && dirs[i] ? wb_tensor_f32(dirs[i]) : NULL;
    o->has_dirs = dirs != NULL;
    o->armed = 1;
    return WB_OK;
}

const double *wb_optim_watched(const wb_optim *o, int *n, int *per)
{
    if (n)
        *n = o->measured ? o->n_watch : 0;
    if (per)
        *per = o->measured ? o->form : 0;
    return o->measured ? o->sums : NULL;
}
