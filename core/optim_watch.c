/* optim_watch.c - the update's own sums for instruments (optim.h
 * wb_optim_watch): a watched step armed by wb_optim_arm sums, per tensor,
 * what instruments read from the parameters (gradient norm, distance from
 * theta0, update size, the update itself) in the pass that updates them.
 *
 * Why: the baseline MLP's parameters (100k floats, 400 KB a tensor set) do
 * not fit the cache, so a pass of the instruments' own after the step
 * (persample.h wb_persample_params), which rereads gradient, weights,
 * theta_t (a copy taken before the step) and theta0, cost as much as the
 * update, and the copy as much again.
 *
 * Two ways, both giving the update's bits unchanged:
 *  - plain SGD (no momentum, no L2 coefficient, no update asked for):
 *    sgd_watch, the update's loop with g^2 and (w - theta0)^2 summed in
 *    it (two sums; the rest follows from them, optim.h);
 *  - any other step: each tensor a block of WB_OPTIM_WATCH_BLOCK entries at
 *    a time, its old weights copied aside, the optimizer's own kernel run
 *    on the block (optim_impl.h: elementwise, so the bits of one call),
 *    then the four sums of param_sums.h read from the level-1 cache, which
 *    are wb_persample_params' bit for bit (the same lanes in the same
 *    order), and the update written where asked.
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
 * eight: g, the new weights w, the old ones, w0 (has0) and the update
 * written to dir (hasdir), constants of each copy. */
WB_SIMD_BODY block_sums_body(wb_psums *restrict a, const float *restrict g,
                             const float *restrict w, const float *restrict old,
                             const float *restrict w0, float *restrict dir, double c,
                             int64_t n, int has0, int hasdir)
{
    wb_psums_add(a, g, w, old, w0, dir, c, 0.0, n, 1, has0, hasdir);
}
#define BLOCK_SUMS_PARAMS                                                        \
    (wb_psums *restrict a, const float *restrict g, const float *restrict w,     \
     const float *restrict old, const float *restrict w0, float *restrict dir, double c, \
     int64_t n)
#define BLOCK_SUMS(name, z, d) \
    WB_SIMD_KERNEL(name, block_sums_body, BLOCK_SUMS_PARAMS, (a, g, w, old, w0, dir, c, n, z, d))
BLOCK_SUMS(block_sums00, 0, 0)
BLOCK_SUMS(block_sums01, 0, 1)
BLOCK_SUMS(block_sums10, 1, 0)
BLOCK_SUMS(block_sums11, 1, 1)

/* Tensor i's update, a block at a time, and its four sums into
 * o->sums[4 i ..]; the update into o->dirs[i] when the step has dirs. */
static void watch_blocks(wb_optim *o, int i, float *w, const float *g,
                         const wb_optim_coef *k)
{
    const wb_optim_pstate *p = &o->params[i];
    const float *w0 = o->w0[i];
    float *dir = o->has_dirs ? o->dirs[i] : NULL, *old = o->old;
    const double c = o->w_c[i];
    void (*add) BLOCK_SUMS_PARAMS = w0 ? (dir ? WB_SIMD_CALL(block_sums11)
                                              : WB_SIMD_CALL(block_sums10))
                                       : (dir ? WB_SIMD_CALL(block_sums01)
                                              : WB_SIMD_CALL(block_sums00));
    wb_psums a = {{0}, {0}, {0}, {0}};
    const size_t n = p->numel;
    for (size_t off = 0, len;; off += len) {
        len = n - off < WB_OPTIM_WATCH_BLOCK ? n - off : WB_OPTIM_WATCH_BLOCK;
        if (len)
            memcpy(old, w + off, len * sizeof *old);
        wb_optim_update(o->cfg.kind, k, w + off, g + off, p->m ? p->m + off : NULL,
                        p->v ? p->v + off : NULL, len);
        /* whole groups of eight; blocks are multiples of eight, so only
         * the last block leaves a tail, which ends the tensor's sums */
        size_t body = len & ~(size_t)7;
        const float *b0 = w0 ? w0 + off : NULL;
        float *bd = dir ? dir + off : NULL;
        add(&a, g + off, w + off, old, b0, bd, c, (int64_t)body);
        if (off + len == n) {
            wb_psums_end(&a, o->sums + 4 * (size_t)i, g + off, w + off, old, b0, bd, c,
                         0.0, (int64_t)body, (int64_t)len, 1, w0 != NULL, dir != NULL);
            return;
        }
    }
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
        watch_blocks(o, i, w, g, k);
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

wb_status wb_optim_watch(wb_optim *o, int n, const float *const *theta0,
                         const size_t *numel, const double *c, wb_err *err)
{
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
    o->n_watch = n;
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
