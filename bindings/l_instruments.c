/* l_instruments.c - wb.instruments.Scratch and keep_dz: the C half of
 * wb.instruments (the Lua half, bindings/lua/wb/instruments.lua, is the
 * public API: per_sample, the presets and the fit instruments).
 *
 * A wb.PerSample holds core/persample.h's scratch and the per-batch
 * accumulators, in double: sq [B] (per-sample squared norms), gram [B, B],
 * three projections proj1..proj3 [B], per-sample losses [B] and a histogram.
 * begin(B, nbins) zeroes them (the gram at its first use); the add_* methods
 * take one Dense layer, its input a [B, n_in] (the forward's input) and the
 * scale s (B for a mean loss), and read the layer's kept dL/dz (keep_dz on
 * before the backward). The fit instruments call these every measured step:
 * the methods check their arguments against metatables held as upvalues
 * and moments takes slot numbers, several at once (no lookups by name).
 */
#include <string.h>

#include "lwb.h"

#include "../core/alloc.h"
#include "../core/dense.h"
#include "../core/persample.h"

#define LWB_PS "wb.PerSample"

/* l_nn.c's layer box: the core object first (NULL once released). */
typedef struct layer_box {
    void *p;
} layer_box;

typedef struct ps_box {
    wb_persample *p;
    double *acc; /* sq, proj1..3, loss [B each], gram [B, B], hist [nbins] */
    int64_t cap, B; /* rows the accumulators hold, rows of this batch */
    int nbins, hcap;
    double *h2; /* the 2-D histogram [n2] (add_hist2d), apart: 2000 bins */
    int n2, h2cap;
    int gram_zeroed; /* gram zeroed since begin: at its first use (gram_of), not
                      * at begin, which the fit instruments call every step
                      * without a gram (cap^2 doubles to clear) */
} ps_box;

enum { SQ, P1, P2, P3, LOSS, NVEC };

/* The methods' upvalues: the metatables of their argument types. */
enum { UP_PS = 1, UP_DENSE, UP_TENSOR, UP_PAIR, NUP };

/* The userdata at idx when its metatable is upvalue up: luaL_checkudata's
 * check without its registry lookup by name (a string hash and compare per
 * argument, and the fit instruments pass several arguments to several of
 * these methods each step); anything else gets luaL_checkudata's error. */
static void *checkud(lua_State *L, int idx, int up, const char *tname)
{
    void *p = lua_touserdata(L, idx);
    if (p && lua_getmetatable(L, idx)) {
        int same = lua_rawequal(L, -1, lua_upvalueindex(up));
        lua_pop(L, 1);
        if (same)
            return p;
    }
    return lwb_checkudata(L, idx, tname);
}

static ps_box *checkps(lua_State *L)
{
    ps_box *b = checkud(L, 1, UP_PS, LWB_PS);
    if (!b->p)
        luaL_error(L, "attempt to use a released per-sample scratch");
    return b;
}

/* lwb_checktensor's check, by checkud: the tensor at idx. */
static const wb_tensor *checkt(lua_State *L, int idx)
{
    lwb_tensor_box *tb = checkud(L, idx, UP_TENSOR, LWB_TENSOR);
    if (!tb->t)
        luaL_error(L, "attempt to use a released tensor");
    return tb->t;
}

static double *vec(ps_box *b, int which) { return b->acc + which * b->cap; }
static double *gram(ps_box *b) { return b->acc + NVEC * b->cap; }
static double *hist(ps_box *b) { return gram(b) + b->cap * b->cap; }

/* The gram accumulator of this batch, zeroed at its first use. */
static double *gram_of(ps_box *b)
{
    if (!b->gram_zeroed && b->acc) /* no acc: no batch begun, no rows */
        memset(gram(b), 0, (size_t)(b->cap * b->cap) * sizeof(double));
    b->gram_zeroed = 1;
    return gram(b);
}

static int ps_gc(lua_State *L)
{
    ps_box *b = lwb_checkudata(L, 1, LWB_PS);
    wb_persample_free(b->p);
    wb_free(b->acc);
    wb_free(b->h2);
    b->p = NULL, b->acc = NULL, b->h2 = NULL;
    return 0;
}

static int l_scratch(lua_State *L)
{
    ps_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, LWB_PS);
    wb_err err;
    if (!(b->p = wb_persample_new(&err)))
        return lwb_raise(L, 0, &err);
    return 1;
}

/* begin(B, nbins, n2): zero the accumulators for a batch of B rows (n2:
 * the 2-D histogram's bins, 0 or absent for none). */
static int ps_begin(lua_State *L)
{
    ps_box *b = checkps(L);
    lua_Integer B = lwb_checkinteger(L, 2), nb = lwb_optinteger(L, 3, 0);
    lua_Integer n2 = lwb_optinteger(L, 4, 0);
    lwb_argcheck(L, B >= 1 && B <= 65536, 2, "expected a batch of 1..65536 rows");
    lwb_argcheck(L, nb >= 0 && nb <= 100000, 3, "expected 0..100000 bins");
    lwb_argcheck(L, n2 >= 0 && n2 <= 100000, 4, "expected 0..100000 bins");
    if (n2 > b->h2cap) {
        double *h2 = wb_malloc((size_t)n2 * sizeof *h2);
        if (!h2)
            return luaL_error(L, "out of memory for a 2-D histogram of %d bins", (int)n2);
        wb_free(b->h2);
        b->h2 = h2, b->h2cap = (int)n2;
    }
    b->n2 = (int)n2;
    if (n2 > 0)
        memset(b->h2, 0, (size_t)n2 * sizeof *b->h2);
    if (B > b->cap || nb > b->hcap) {
        int64_t cap = B > b->cap ? B : b->cap;
        int hcap = nb > b->hcap ? (int)nb : b->hcap;
        size_t n = (size_t)(NVEC * cap + cap * cap + hcap);
        double *acc = wb_malloc(n * sizeof *acc);
        if (!acc)
            return luaL_error(L, "out of memory for per-sample accumulators of %d rows",
                              (int)B);
        wb_free(b->acc);
        b->acc = acc, b->cap = cap, b->hcap = hcap;
    }
    b->B = B, b->nbins = (int)nb, b->gram_zeroed = 0;
    memset(b->acc, 0, (size_t)(NVEC * b->cap) * sizeof(double));
    memset(hist(b), 0, (size_t)b->hcap * sizeof(double));
    return 0;
}

/* The non-zeros layer d kept of its forward's input a [B, n_in] (dense.h
 * sp_*), or NULL when it kept none of that input. */
static const wb_persample_csr *kept(const wb_dense *d, const float *a, int64_t B,
                                    wb_persample_csr *sp)
{
    if (d->sp_x != a || d->sp_n != B)
        return NULL;
    sp->row = d->sp_row, sp->idx = d->sp_idx, sp->val = d->sp_val;
    return sp;
}

/* The Dense layer at idx and its input at idx + 1, checked. */
static wb_dense *dense_and_a(lua_State *L, ps_box *b, int idx, const float **a)
{
    layer_box *lb = checkud(L, idx, UP_DENSE, "wb.Dense");
    if (!lb->p)
        luaL_error(L, "attempt to use a released layer");
    wb_dense *d = lb->p;
    const wb_tensor *x = checkt(L, idx + 1);
    if (x->dtype != WB_F32 || x->ndim != 2 || x->shape[0] != b->B || x->shape[1] != d->n_in)
        lwb_argerror(L, idx + 1, lua_pushfstring(L, "expected the layer's float32 input "
                      "[%d, %d]", (int)b->B, (int)d->n_in));
    *a = wb_tensor_f32(x);
    return d;
}

/* The same and the layer's kept dz, checked. */
static wb_dense *dense_and_input(lua_State *L, ps_box *b, int idx, const float **a)
{
    wb_dense *d = dense_and_a(L, b, idx, a);
    if (d->dz_n != b->B || !d->dz)
        luaL_error(L, "the layer kept no dL/dz of %d rows (keep_dz before the backward; "
                   "a forward discards it)", (int)b->B);
    return d;
}

/* add_norms(layer, a, scale) */
static int ps_add_norms(lua_State *L)
{
    ps_box *b = checkps(L);
    const float *a;
    wb_dense *d = dense_and_input(L, b, 2, &a);
    wb_persample_csr sp;
    wb_persample_norms(vec(b, SQ), a, kept(d, a, b->B, &sp), wb_tensor_f32(d->dz), b->B,
                       d->n_in, d->n_out, d->use_bias, lwb_checknumber(L, 4));
    return 0;
}

/* add_gram(layer, a, scale) */
static int ps_add_gram(lua_State *L)
{
    ps_box *b = checkps(L);
    const float *a;
    wb_dense *d = dense_and_input(L, b, 2, &a);
    wb_err err;
    if (wb_persample_gram(b->p, gram_of(b), a, wb_tensor_f32(d->dz), b->B, d->n_in, d->n_out,
                          d->use_bias, lwb_checknumber(L, 4), &err))
        return lwb_raise(L, 0, &err);
    return 0;
}

/* A float32 tensor at idx with n elements (or nil when `opt`). */
static const float *checkvec(lua_State *L, int idx, int64_t n, int opt)
{
    if (opt && lua_isnoneornil(L, idx))
        return NULL;
    const wb_tensor *t = checkt(L, idx);
    if (t->dtype != WB_F32 || (int64_t)wb_tensor_numel(t) != n)
        lwb_argerror(L, idx, lua_pushfstring(L, "expected float32 with %d elements",
                      (int)n));
    return wb_tensor_f32(t);
}

/* add_dot(layer, a, scale, slot, v_w, v_b [, slot, v_w, v_b [, ...]]):
 * proj<slot> += g_i . v for up to three (slot, v) triples, in one walk
 * over the rows (v_b nil when the layer has no bias) */
static int ps_add_dot(lua_State *L)
{
    ps_box *b = checkps(L);
    const float *a;
    wb_dense *d = dense_and_input(L, b, 2, &a);
    int nv = (lua_gettop(L) - 4 + 2) / 3;
    lwb_argcheck(L, nv >= 1 && nv <= 3, 5, "expected 1 to 3 (slot, v_w, v_b) triples");
    double *proj[3];
    const float *vw[3], *vb[3];
    for (int q = 0; q < nv; q++) {
        int at = 5 + 3 * q;
        lua_Integer slot = lwb_checkinteger(L, at);
        lwb_argcheck(L, slot >= 1 && slot <= 3, at, "expected 1, 2 or 3");
        proj[q] = vec(b, P1 + (int)slot - 1);
        vw[q] = checkvec(L, at + 1, d->n_in * d->n_out, 0);
        vb[q] = d->use_bias ? checkvec(L, at + 2, d->n_out, 0) : NULL;
    }
    wb_err err;
    wb_persample_csr sp;
    if (wb_persample_dots(b->p, proj, nv, a, kept(d, a, b->B, &sp), wb_tensor_f32(d->dz),
                          b->B, d->n_in, d->n_out, vw, vb, lwb_checknumber(L, 4), &err))
        return lwb_raise(L, 0, &err);
    return 0;
}

/* A layer's kept batches (persample.h wb_persample_pair): wb.instruments._pair() */
#define LWB_PAIR "wb.PerSamplePair"

typedef struct pair_box {
    wb_persample_pair *q;
} pair_box;

static wb_persample_pair *checkpair(lua_State *L, int idx)
{
    pair_box *pb = checkud(L, idx, UP_PAIR, LWB_PAIR);
    if (!pb->q)
        luaL_error(L, "attempt to use a released per-sample pair");
    return pb->q;
}

static int pair_gc(lua_State *L)
{
    pair_box *pb = lwb_checkudata(L, 1, LWB_PAIR);
    wb_persample_pair_free(pb->q);
    pb->q = NULL;
    return 0;
}

static int l_pair(lua_State *L)
{
    pair_box *pb = lua_newuserdatauv(L, sizeof *pb, 0);
    pb->q = NULL;
    luaL_setmetatable(L, LWB_PAIR);
    wb_err err;
    if (!(pb->q = wb_persample_pair_new(&err)))
        return lwb_raise(L, 0, &err);
    return 1;
}

/* add_cross(layer, a, pair, put, slot, c [, slot2, c2]): with put true,
 * first keep this batch (a and the layer's kept dL/dz) in pair as the
 * newest; then proj<slot> += c * sum_m g_i . g2_m over the rows m of the
 * pair's newest batch, proj<slot2> += c2 * the same over its older batch
 * (c: both batches' scales and any factor, B for the projection on a mean
 * gradient of a mean loss). The put and the products in one call: only
 * then are the rows known to be the newest batch (whose terms are
 * symmetric, persample.h wb_persample_cross's self). */
static int ps_add_cross(lua_State *L)
{
    ps_box *b = checkps(L);
    const float *a;
    wb_dense *d = dense_and_input(L, b, 2, &a);
    wb_persample_pair *q = checkpair(L, 4);
    lwb_checktype(L, 5, LUA_TBOOLEAN);
    int put = lua_toboolean(L, 5);
    double *proj[2] = {NULL, NULL}, c[2] = {0, 0};
    for (int w = 0; w < 2; w++) {
        if (w == 1 && lua_isnoneornil(L, 8))
            break;
        lua_Integer slot = lwb_checkinteger(L, 6 + 2 * w);
        lwb_argcheck(L, slot >= 1 && slot <= 3, 6 + 2 * w, "expected 1, 2 or 3");
        proj[w] = vec(b, P1 + (int)slot - 1);
        c[w] = lwb_checknumber(L, 7 + 2 * w);
    }
    wb_err err;
    wb_persample_csr sp;
    if (put && wb_persample_pair_put(q, a, wb_tensor_f32(d->dz), b->B, d->n_in, d->n_out, &err))
        return lwb_raise(L, 0, &err);
    if (wb_persample_cross(q, proj, c, a, kept(d, a, b->B, &sp), wb_tensor_f32(d->dz), b->B,
                           d->n_in, d->n_out, d->use_bias, put, &err))
        return lwb_raise(L, 0, &err);
    return 0;
}

/* add_hist(layer, a, scale, lo, hi) */
static int ps_add_hist(lua_State *L)
{
    ps_box *b = checkps(L);
    const float *a;
    wb_dense *d = dense_and_input(L, b, 2, &a);
    double lo = lwb_checknumber(L, 5), hi = lwb_checknumber(L, 6);
    lwb_argcheck(L, b->nbins > 0, 1, "begin was given no bins");
    lwb_argcheck(L, hi > lo, 6, "expected hi > lo");
    wb_err err;
    wb_persample_csr sp;
    if (wb_persample_hist(b->p, hist(b), b->nbins, lo, hi, a, kept(d, a, b->B, &sp),
                          wb_tensor_f32(d->dz), b->B, d->n_in, d->n_out, d->use_bias,
                          lwb_checknumber(L, 4), &err))
        return lwb_raise(L, 0, &err);
    return 0;
}

/* add_hist2d(layer, a, scale, w, b, nx, xlo, xhi, ny, ylo, yhi): the 2-D
 * histogram of the layer's per-sample gradient entries against the
 * parameters' values w [n_in, n_out] and b [n_out] (nil without a bias):
 * the weights the gradient was taken at, which the caller keeps */
static int ps_add_hist2d(lua_State *L)
{
    ps_box *b = checkps(L);
    const float *a;
    wb_dense *d = dense_and_input(L, b, 2, &a);
    const wb_tensor *wt = checkt(L, 5);
    if (wt->dtype != WB_F32 || wt->ndim != 2 || wt->shape[0] != d->n_in ||
        wt->shape[1] != d->n_out) /* a transposed w has as many elements */
        lwb_argerror(L, 5, lua_pushfstring(L, "expected float32 [%d, %d] (the layer's kernel)",
                                            (int)d->n_in, (int)d->n_out));
    const float *w = wb_tensor_f32(wt);
    const float *bias = d->use_bias ? checkvec(L, 6, d->n_out, 0) : NULL;
    lua_Integer nx = lwb_checkinteger(L, 7), ny = lwb_checkinteger(L, 10);
    if (!(nx >= 1 && ny >= 1 && nx <= b->n2 && ny <= b->n2 && nx * ny == b->n2))
        return luaL_error(L, "add_hist2d: %I x %I bins, expected nx * ny = %d (begin's n2)",
                          (LUAI_UACINT)nx, (LUAI_UACINT)ny, b->n2);
    wb_err err;
    wb_persample_csr sp;
    if (wb_persample_hist2d(b->p, b->h2, (int)nx, lwb_checknumber(L, 8),
                            lwb_checknumber(L, 9), (int)ny, lwb_checknumber(L, 11),
                            lwb_checknumber(L, 12), a, kept(d, a, b->B, &sp),
                            wb_tensor_f32(d->dz), w, bias, b->B, d->n_in, d->n_out,
                            lwb_checknumber(L, 4), &err))
        return lwb_raise(L, 0, &err);
    return 0;
}

/* sum_sq(layer, a, scale, out_w, out_b): sum_i g_i^2 into float32 tensors */
static int ps_sum_sq(lua_State *L)
{
    ps_box *b = checkps(L);
    const float *a;
    wb_dense *d = dense_and_input(L, b, 2, &a);
    float *ow = (float *)checkvec(L, 5, d->n_in * d->n_out, 0);
    float *ob = d->use_bias ? (float *)checkvec(L, 6, d->n_out, 0) : NULL;
    wb_err err;
    wb_persample_csr sp;
    if (wb_persample_sum_sq(b->p, ow, ob, a, kept(d, a, b->B, &sp), wb_tensor_f32(d->dz),
                            b->B, d->n_in, d->n_out, lwb_checknumber(L, 4), &err))
        return lwb_raise(L, 0, &err);
    return 0;
}

/* gsnr(layer, a, scale, eps) -> the layer's GSNR terms summed (persample.h) */
static int ps_gsnr(lua_State *L)
{
    ps_box *b = checkps(L);
    const float *a;
    wb_dense *d = dense_and_input(L, b, 2, &a);
    wb_err err;
    wb_persample_csr sp;
    double sum;
    if (wb_persample_gsnr_layer(b->p, &sum, a, kept(d, a, b->B, &sp), wb_tensor_f32(d->dz),
                                b->B, d->n_in, d->n_out, d->use_bias, lwb_checknumber(L, 4),
                                lwb_checknumber(L, 5), &err))
        return lwb_raise(L, 0, &err);
    lua_pushnumber(L, sum);
    return 1;
}

#define MAX_CHAIN 64

/* A chain of Dense layers (the table at 2) and their inputs (at 3) and,
 * when the table at kidx is given, the weights to take for layers 2 .. n
 * (its entry 1 is not read: the first layer's weight is in no product;
 * nil entries: the layer's own). Returns n. */
typedef struct chain {
    const wb_dense *ls[MAX_CHAIN];
    const float *in[MAX_CHAIN], *kw[MAX_CHAIN];
    wb_persample_csr sp[MAX_CHAIN];
    const wb_persample_csr *sps[MAX_CHAIN];
} chain;

static int check_chain(lua_State *L, ps_box *b, chain *c, int kidx)
{
    lwb_checktype(L, 2, LUA_TTABLE);
    lwb_checktype(L, 3, LUA_TTABLE);
    int kern = !lua_isnoneornil(L, kidx);
    if (kern)
        lwb_checktype(L, kidx, LUA_TTABLE);
    int n = (int)luaL_len(L, 2);
    lwb_argcheck(L, n >= 1 && n <= MAX_CHAIN && luaL_len(L, 3) == n, 2,
                  "expected 1..64 Dense layers and as many inputs");
    for (int l = 0; l < n; l++) {
        lua_geti(L, 2, l + 1);
        lua_geti(L, 3, l + 1);
        wb_dense *d = dense_and_a(L, b, lua_gettop(L) - 1, &c->in[l]);
        c->ls[l] = d, c->sps[l] = kept(d, c->in[l], b->B, &c->sp[l]);
        lua_pop(L, 2);
        c->kw[l] = NULL;
        if (!kern || l == 0)
            continue;
        lua_geti(L, kidx, l + 1);
        if (!lua_isnil(L, -1)) {
            const wb_tensor *t = checkt(L, lua_gettop(L));
            /* the shape, not the count: a transposed kernel has as many */
            if (t->dtype != WB_F32 || t->ndim != 2 || t->shape[0] != d->n_in ||
                t->shape[1] != d->n_out)
                lwb_argerror(L, kidx, lua_pushfstring(L, "entry %d: expected float32 "
                              "[%d, %d] (the layer's kernel)", l + 1, (int)d->n_in,
                              (int)d->n_out));
            c->kw[l] = wb_tensor_f32(t);
        }
        lua_pop(L, 1);
    }
    return n;
}

/* hess_diag(layers, inputs [, out [, kernels]]) -> trace: the exact Hessian
 * diagonal of the chain of Dense layers (core/persample.h) at their current
 * state (or at kernels, check_chain's), into out (a list of float32 tensors
 * shaped like the layers' parameters); out nil: the trace alone. */
static int ps_hess_diag(lua_State *L)
{
    ps_box *b = checkps(L);
    int diag = !lua_isnoneornil(L, 4); /* nil: the trace alone */
    if (diag)
        lwb_checktype(L, 4, LUA_TTABLE);
    chain c;
    int n = check_chain(L, b, &c, 5), q = 1;
    float *dw[MAX_CHAIN], *db[MAX_CHAIN];
    for (int l = 0; l < n && diag; l++) {
        const wb_dense *d = c.ls[l];
        lua_geti(L, 4, q++);
        dw[l] = (float *)checkvec(L, lua_gettop(L), d->n_in * d->n_out, 0);
        lua_geti(L, 4, q);
        db[l] = d->use_bias ? (float *)checkvec(L, lua_gettop(L), d->n_out, 0) : NULL;
        q += d->use_bias;
        lua_pop(L, 2);
    }
    wb_err err;
    double trace;
    if (wb_persample_hess_diag(b->p, n, c.ls, c.in, c.sps, c.kw, b->B, diag ? dw : NULL,
                               diag ? db : NULL, &trace, &err))
        return lwb_raise(L, 0, &err);
    lua_pushnumber(L, trace);
    return 1;
}

/* tic(layers, inputs, kernels, scale, eps) -> tic, trace: Cockpit's TICDiag
 * of the chain (core/persample.h wb_persample_tic) from the layers' kept
 * dL/dz, and the Hessian diagonal's sum; kernels as hess_diag's (nil: the
 * layers' own weights) */
static int ps_tic(lua_State *L)
{
    ps_box *b = checkps(L);
    chain c;
    int n = check_chain(L, b, &c, 4);
    wb_err err;
    double tic, trace;
    if (wb_persample_tic(b->p, n, c.ls, c.in, c.sps, c.kw, b->B, lwb_checknumber(L, 5),
                         lwb_checknumber(L, 6), &tic, &trace, &err))
        return lwb_raise(L, 0, &err);
    lua_pushnumber(L, tic);
    lua_pushnumber(L, trace);
    return 2;
}

/* ce(z, y): the per-sample losses of softmax cross-entropy */
static int ps_ce(lua_State *L)
{
    ps_box *b = checkps(L);
    const wb_tensor *z = checkt(L, 2), *y = checkt(L, 3);
    lwb_argcheck(L, z->dtype == WB_F32 && z->ndim == 2 && z->shape[0] == b->B, 2,
                  "expected float32 logits [B, C] of this batch");
    lwb_argcheck(L, y->dtype == WB_U8 && (int64_t)wb_tensor_numel(y) == b->B, 3,
                  "expected uint8 labels [B]");
    wb_err err;
    if (wb_persample_ce(vec(b, LOSS), wb_tensor_f32(z), wb_tensor_u8(y), b->B, z->shape[1],
                        &err))
        return lwb_raise(L, 3, &err);
    return 0;
}

static const char *const VECS[] = {"sq", "proj1", "proj2", "proj3", "loss", "gram",
                                   "hist", NULL};
enum { GRAM = NVEC, HIST };

/* moments(what [, what ...]) -> sum, sum of squares of each what (up to
 * five): sq, proj1..proj3, loss, or its slot number 1..5 in that order (a
 * number skips the option's string compares: the fit instruments ask for
 * several every step, in one call). */
static int ps_moments(lua_State *L)
{
    ps_box *b = checkps(L);
    int n = lua_gettop(L) - 1;
    lwb_argcheck(L, n >= 1 && n <= NVEC, 2, "expected 1 to 5 of sq, proj1..proj3, loss");
    for (int k = 0; k < n; k++) {
        int at = 2 + k, w;
        if (lua_type(L, at) == LUA_TNUMBER) {
            lua_Integer slot = lwb_checkinteger(L, at);
            lwb_argcheck(L, slot >= 1 && slot <= NVEC, at, "expected a slot 1..5");
            w = (int)slot - 1;
        } else {
            w = lwb_checkoption(L, at, NULL, VECS);
            lwb_argcheck(L, w < NVEC, at, "expected sq, proj1, proj2, proj3 or loss");
        }
        const double *v = vec(b, w);
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < b->B; i++)
            s += v[i], s2 += v[i] * v[i];
        lua_pushnumber(L, s);
        lua_pushnumber(L, s2);
    }
    return 2 * n;
}

/* tensor(what) -> a new float32 tensor: [B] vectors, gram [B, B], hist */
static int ps_tensor(lua_State *L)
{
    ps_box *b = checkps(L);
    int w = lwb_checkoption(L, 2, NULL, VECS);
    int64_t shape[2] = {w == HIST ? b->nbins : b->B, b->B};
    const double *src = w < NVEC ? vec(b, w) : w == GRAM ? gram_of(b) : hist(b);
    wb_err err;
    wb_tensor *t = wb_tensor_new(WB_F32, w == GRAM ? 2 : 1, shape, &err);
    if (t) {
        float *o = wb_tensor_f32(t);
        for (size_t k = 0; k < wb_tensor_numel(t); k++)
            o[k] = (float)src[k];
    }
    lwb_pushtensor(L, t, &err);
    return 1;
}

/* counts() -> the histogram's counts, a list of nbins numbers (exact:
 * doubles, where a float32 tensor would round counts above 2^24) */
static int ps_counts(lua_State *L)
{
    ps_box *b = checkps(L);
    lua_createtable(L, b->nbins, 0);
    for (int k = 0; k < b->nbins; k++) {
        lua_pushnumber(L, hist(b)[k]);
        lua_rawseti(L, -2, k + 1);
    }
    return 1;
}

/* counts2d() -> the 2-D histogram's counts, a list of n2 numbers, bin
 * (x, y) at (x - 1) ny + y (x-major, 1-based) */
static int ps_counts2d(lua_State *L)
{
    ps_box *b = checkps(L);
    lua_createtable(L, b->n2, 0);
    for (int k = 0; k < b->n2; k++) {
        lua_pushnumber(L, b->h2[k]);
        lua_rawseti(L, -2, k + 1);
    }
    return 1;
}

/* wb.instruments.keep_dz(layer, on) -> the previous setting */
static int l_keep_dz(lua_State *L)
{
    layer_box *lb = lwb_checkudata(L, 1, "wb.Dense");
    if (!lb->p)
        return luaL_error(L, "attempt to use a released layer");
    wb_dense *d = lb->p;
    lwb_checktype(L, 2, LUA_TBOOLEAN); /* on = "yes" was taken as true */
    lwb_no_extra(L, 2, "wb.instruments.keep_dz(layer, on)");
    lua_pushboolean(L, d->keep_dz);
    d->keep_dz = lua_toboolean(L, 2);
    return 1;
}

/* A float32 tensor at idx with as many elements as the one at `like`. */
static const float *samevec(lua_State *L, int idx, int like)
{
    return checkvec(L, idx, (int64_t)wb_tensor_numel(lwb_checktensor(L, like)), 0);
}

/* _params(g, theta, theta_t | nil, theta0 | nil, dir | nil, c [, back]) ->
 * sum g^2, sum (g - c theta_t)^2, sum (theta_t - theta0)^2, sum (theta -
 * theta_t)^2; dir = theta - theta_t; theta_t nil: theta + back g
 * (persample.h wb_persample_params) */
static int l_params(lua_State *L)
{
    const float *g = samevec(L, 1, 1), *th = samevec(L, 2, 1);
    const float *tt = lua_isnoneornil(L, 3) ? NULL : samevec(L, 3, 1);
    const float *t0 = lua_isnoneornil(L, 4) ? NULL : samevec(L, 4, 1);
    float *dir = lua_isnoneornil(L, 5) ? NULL : (float *)samevec(L, 5, 1);
    double s[4];
    wb_persample_params(s, g, th, tt, t0, dir, lwb_checknumber(L, 6), lwb_optnumber(L, 7, 0),
                        (int64_t)wb_tensor_numel(lwb_checktensor(L, 1)));
    for (int k = 0; k < 4; k++)
        lua_pushnumber(L, s[k]);
    return 4;
}

/* _tic_diag(S, D, B, eps) -> Cockpit's TICDiag summed over the entries */
static int l_tic_diag(lua_State *L)
{
    const float *S = samevec(L, 1, 1), *D = samevec(L, 2, 1);
    lua_pushnumber(L, wb_persample_tic_diag(S, D, (int64_t)wb_tensor_numel(lwb_checktensor(L, 1)),
                                            lwb_checknumber(L, 3), lwb_checknumber(L, 4)));
    return 1;
}

/* _record_step(steps, logs, i, keep) -> written [, key]: wb/fit_loop.lua's
 * record_step walk in one call (with instruments every step it was about
 * 300 VM instructions and 40 C calls, a type() and a next() per key): each
 * number logs[k] goes to steps[k][i] (a new series padded with NaN below
 * i); with keep (a set), the keys not in it are removed from logs in the
 * same walk. Returns how many were written, -1 when a series was created
 * (the caller's padding pass then runs), and the key of the first entry
 * that is not a number, if one is (a hook's string: the caller says so).
 * Raw accesses: both are the fit's plain tables. */
static int l_record_step(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TTABLE);
    lwb_checktype(L, 2, LUA_TTABLE);
    lua_Integer i = lwb_checkinteger(L, 3);
    int keep = !lua_isnoneornil(L, 4);
    if (keep)
        lwb_checktype(L, 4, LUA_TTABLE);
    lua_Integer written = 0;
    int created = 0, bad = 0;
    lua_settop(L, 4);
    lua_pushnil(L);
    while (lua_next(L, 2)) { /* key at 5, value at 6 */
        if (keep) {
            lua_pushvalue(L, 5);
            if (lua_rawget(L, 4) == LUA_TNIL || !lua_toboolean(L, -1)) {
                lua_pushvalue(L, 5);
                lua_pushnil(L);
                lua_rawset(L, 2); /* clearing a field during the walk is allowed */
            }
            lua_pop(L, 1);
        }
        if (lua_type(L, 6) != LUA_TNUMBER && !bad) { /* the first entry that is none */
            bad = 1;
            lua_pushvalue(L, 5);
            lua_replace(L, 3); /* i is read */
        }
        if (lua_type(L, 6) == LUA_TNUMBER) {
            lua_pushvalue(L, 5);
            if (lua_rawget(L, 1) == LUA_TNIL) {
                lua_pop(L, 1);
                /* Lua's 0 / 0, computed when run (the x86 default NaN has
                 * its sign bit set, NAN not: "%a" prints -nan, nan) */
                volatile lua_Number zero = 0;
                lua_Number nan = zero / zero;
                lua_createtable(L, (int)(i > 1 ? i - 1 : 0), 0);
                for (lua_Integer j = 1; j < i; j++) {
                    lua_pushnumber(L, nan);
                    lua_rawseti(L, -2, j);
                }
                lua_pushvalue(L, 5);
                lua_pushvalue(L, -2);
                lua_rawset(L, 1);
                created = 1;
            }
            lua_pushvalue(L, 6);
            lua_rawseti(L, -2, i);
            lua_pop(L, 1);
            written++;
        }
        lua_pop(L, 1); /* the value; the key stays for lua_next */
    }
    lua_pushinteger(L, created ? -1 : written);
    if (!bad)
        return 1;
    lua_pushvalue(L, 3);
    return 2;
}

/* _first_diff(s, c, from, n, pad, deferred) -> i | nil: wb/history_guard.lua's
 * compare of a live list s with fit's copy c over [from, n], in one call
 * (with instruments every step, about 20 step series a step, the Lua loop
 * was 850 VM instructions a step): the first i where s[i] is not c[i]
 * (NaN is NaN; with pad, nil in c is a NaN, the padding of a series absent
 * at a row); with deferred, a NaN in c that s holds a number for takes
 * that number (a series an instrument fills at a later step) and is no
 * difference. Raw accesses, as the Lua loop's rawget. */
static int l_first_diff(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TTABLE);
    lwb_checktype(L, 2, LUA_TTABLE);
    lua_Integer from = lwb_checkinteger(L, 3), n = lwb_checkinteger(L, 4);
    int pad = lua_toboolean(L, 5), deferred = lua_toboolean(L, 6);
    lua_settop(L, 6);
    for (lua_Integer i = from; i <= n; i++) {
        int tw = lua_rawgeti(L, 2, i), tn = lua_rawgeti(L, 1, i); /* was at 7, now at 8 */
        int was_nan = (tw == LUA_TNIL && pad) ||
                      (tw == LUA_TNUMBER && lua_tonumber(L, 7) != lua_tonumber(L, 7));
        int now_nan = tn == LUA_TNUMBER && lua_tonumber(L, 8) != lua_tonumber(L, 8);
        int same = was_nan ? now_nan : lua_rawequal(L, 7, 8);
        if (!same && deferred && was_nan && tn == LUA_TNUMBER) {
            lua_rawseti(L, 2, i); /* pops now */
            same = 1;
        }
        lua_settop(L, 6);
        if (!same) {
            lua_pushinteger(L, i);
            return 1;
        }
    }
    return 0;
}

int lwb_open_instruments(lua_State *L)
{
    static const luaL_Reg meta[] = {{"__gc", ps_gc}, {"__close", ps_gc}, {NULL, NULL}};
    static const luaL_Reg methods[] = {
        {"begin", ps_begin}, {"add_norms", ps_add_norms}, {"add_gram", ps_add_gram},
        {"add_dot", ps_add_dot}, {"add_cross", ps_add_cross}, {"add_hist", ps_add_hist},
        {"sum_sq", ps_sum_sq}, {"gsnr", ps_gsnr}, {"ce", ps_ce}, {"hess_diag", ps_hess_diag},
        {"tic", ps_tic},
        {"moments", ps_moments}, {"tensor", ps_tensor}, {"counts", ps_counts},
        {"add_hist2d", ps_add_hist2d}, {"counts2d", ps_counts2d}, {NULL, NULL},
    };
    static const luaL_Reg pair_meta[] = {{"__gc", pair_gc}, {"__close", pair_gc}, {NULL, NULL}};
    static const luaL_Reg pair_methods[] = {{"free", pair_gc}, {NULL, NULL}};
    int wb = lua_absindex(L, 1);
    luaL_newmetatable(L, LWB_PAIR);
    luaL_setfuncs(L, pair_meta, 0);
    luaL_newlib(L, pair_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newmetatable(L, LWB_PS);
    luaL_setfuncs(L, meta, 0);
    luaL_newlibtable(L, methods);
    lua_pushvalue(L, -2);              /* UP_PS */
    luaL_getmetatable(L, "wb.Dense");  /* UP_DENSE (l_nn.c opened first; else nil) */
    luaL_getmetatable(L, LWB_TENSOR);  /* UP_TENSOR */
    luaL_getmetatable(L, LWB_PAIR);    /* UP_PAIR */
    luaL_setfuncs(L, methods, NUP - 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lwb_subtable(L, wb, "instruments");
    lua_pushcfunction(L, l_scratch);
    lua_setfield(L, -2, "Scratch");
    lua_pushcfunction(L, l_keep_dz);
    lua_setfield(L, -2, "keep_dz");
    static const luaL_Reg helpers[] = {
        {"_tic_diag", l_tic_diag},
        {"_params", l_params}, {"_pair", l_pair}, {"_record_step", l_record_step},
        {"_first_diff", l_first_diff},
        {NULL, NULL},
    };
    luaL_setfuncs(L, helpers, 0);
    lua_pop(L, 1);
    return 0;
}
