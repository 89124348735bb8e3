/* hvp.c - exact Hessian-vector products: setup, data, and the chunk driver.
 * The passes themselves are in hvp_pass.h, compiled here once per
 * precision. See hvp.h.
 *
 * A "point" is an activation between layers: the input (point 0), and the
 * output of every Dense or Activation layer; Flatten and Dropout pass their
 * input point on (same buffers). Points downstream of the first Dense carry
 * g, R{a} and R{g}; those before it only a (their R is zero and their
 * gradient is never needed, so it is neither stored nor computed).
 */
#include "hvp.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "blas.h"
#include "dataset.h"
#include "hvp_sparse.h"

typedef struct pt {
    int64_t w;             /* width (elements per row) */
    void *a, *g, *ra, *rg; /* [cap, w] each; g, ra, rg NULL before the first Dense */
} pt;

typedef struct hl {
    wb_hvp_kind kind;
    wb_act act;             /* the element-wise stage's function */
    const wb_dense *d;      /* Dense only */
    int64_t I, O;           /* widths in and out */
    int use_bias;
    double l2;
    int64_t off;            /* theta offset of W [I, O]; b [O] follows; -1: none */
    int elem;               /* an element-wise stage runs */
    int in, out;            /* point indices */
    void *z, *gz, *rz, *rgz; /* [cap, O]: own for Dense with a non-linear
                                stage, else aliases of a point */
    void *d1, *d2;          /* [cap, O] f'(z), f''(z) when elem */
} hl;

struct wb_hvp {
    int n;                 /* layers */
    hl *L;                 /* [n] */
    pt *pts;               /* [n + 1] (the first npts used) */
    int npts;
    wb_hvp_loss loss;
    int f64;
    size_t rsz;            /* bytes per number: 4 or 8 */
    int64_t cap, P;
    void *theta, *vr;      /* [P] in the engine's precision */
    void *tmp;             /* [max I * O] */
    void *prob;            /* [cap, C] softmax of the last chunk (cross-entropy) */
    int32_t *cls;          /* [cap] each row's likeliest class in prob (loss_rforward's
                            * shift), found once with prob, not in every product */
    void **owned;          /* every buffer, for free */
    int n_owned, max_owned;
    wb_tensor *x, *y;      /* views of the data */
    int32_t *labels;       /* [N] (cross-entropy), room for labels_cap */
    int64_t labels_cap;
    int64_t N;
    int cached;            /* the single chunk's forward and backward are current */
    int64_t count;
    double *work;          /* wb_hvp_work's scratch, wcap doubles */
    size_t wcap;
    /* the first Dense's input, column by column (hvp_sparse.h) */
    int first;             /* the first Dense's index */
    int sp_allow;          /* float32 and not opts->dense_input */
    int sp_on;             /* the current chunk's input is in sp_*: its
                            * products skip the zeros */
    int32_t *sp_start;     /* [I + 1] */
    int32_t *sp_ps;        /* [3 ((I + 1) / 2) + 1] by pairs of columns */
    /* [sp_cells] each, in sp_mem: by columns, rows and values; by rows
     * (the way they are found), columns and values; by pairs of columns,
     * rows and values (hvp_sparse.h); the pairs' scratch; and row starts
     * [min(N, cap) + 1] */
    int32_t *sp_row, *sp_ci, *sp_prow, *sp_tmp, *sp_rs;
    float *sp_val, *sp_cv, *sp_pa, *sp_pb;
    void *sp_mem;
    size_t sp_cells;       /* min(N, cap) * I once data is set */
    int64_t *live;         /* [2 (I + 2)] wb_hvp_f32_live's segments */
};

#define R float
#define SFX(n) n##_f32
#define GEMM wb_sgemm
#define SPARSE 1
#include "hvp_pass.h"
#undef R
#undef SFX
#undef GEMM
#undef SPARSE
#define R double
#define SFX(n) n##_f64
#define GEMM wb_dgemm
#define SPARSE 0
#include "hvp_pass.h"
#undef R
#undef SFX
#undef GEMM
#undef SPARSE

/* ---------------------------------------------------------------------------
 * Setup */

/* A zeroed buffer of rows x cols numbers, recorded for wb_hvp_free. */
static void *buf(wb_hvp *h, int64_t rows, int64_t cols, wb_err *err)
{
    if (rows < 1 || cols < 1 || (uint64_t)rows > WB_MAX_BYTES / h->rsz / (uint64_t)cols) {
        wb_err_set(err, WB_ERANGE, "hvp: a buffer of [%lld, %lld] is too large",
                   (long long)rows, (long long)cols);
        return NULL;
    }
    void *p = wb_alloc_aligned((size_t)rows * (size_t)cols * h->rsz);
    if (!p || h->n_owned == h->max_owned) {
        wb_free(p);
        wb_err_set(err, WB_ENOMEM, "hvp: out of memory for [%lld, %lld]", (long long)rows,
                   (long long)cols);
        return NULL;
    }
    h->owned[h->n_owned++] = p;
    return p;
}

/* Check the layer list and fill h->L with widths, offsets and points. */
static wb_status plan(wb_hvp *h, const wb_hvp_layer *layers, wb_err *err)
{
    int64_t w = -1, P = 0;
    int first = -1, cur = 0, sce = h->loss == WB_HVP_SCE;
    for (int k = 0; k < h->n; k++) {
        hl *l = &h->L[k];
        l->kind = layers[k].kind;
        l->off = -1;
        l->in = cur;
        int last = k == h->n - 1;
        if (l->kind == WB_HVP_DENSE) {
            const wb_dense *d = layers[k].dense;
            if (!d)
                return wb_err_set(err, WB_EINVAL, "layer %d: no Dense given", k + 1);
            if (w >= 0 && d->n_in != w)
                return wb_err_set(err, WB_ESHAPE, "layer %d: Dense expects %lld inputs, "
                                  "the layers before give %lld", k + 1,
                                  (long long)d->n_in, (long long)w);
            int fused = last && sce;
            if (fused && d->act != WB_ACT_SOFTMAX && d->act != WB_ACT_LINEAR)
                return wb_err_set(err, WB_EINVAL, "layer %d: cross-entropy needs the "
                                  "last Dense to be softmax or linear, got %s", k + 1,
                                  wb_act_name(d->act));
            if (!fused && d->act == WB_ACT_SOFTMAX && last)
                return wb_err_set(err, WB_EINVAL, "layer %d: a softmax last Dense is "
                                  "supported with cross-entropy only, not with mse (the "
                                  "Hessian code has no softmax followed by mse): measure "
                                  "with loss = 'cross_entropy', or train the mse model "
                                  "with another last activation", k + 1);
            if (!fused && d->act == WB_ACT_SOFTMAX)
                return wb_err_set(err, WB_EINVAL, "layer %d: softmax is supported only "
                                  "on the last Dense, with cross-entropy", k + 1);
            l->d = d, l->I = d->n_in, l->O = d->n_out, l->use_bias = d->use_bias;
            l->l2 = d->l2, l->act = d->act, l->off = P;
            l->elem = !fused && d->act != WB_ACT_LINEAR;
            P += l->I * l->O + (l->use_bias ? l->O : 0);
            w = l->O;
            l->out = ++cur;
            if (first < 0)
                first = k;
        } else if (l->kind == WB_HVP_ACTIVATION) {
            if (layers[k].act == WB_ACT_SOFTMAX || layers[k].act >= WB_ACT_COUNT)
                return wb_err_set(err, WB_EINVAL, "layer %d: Activation %s is not "
                                  "supported (element-wise activations only)", k + 1,
                                  wb_act_name(layers[k].act));
            l->act = layers[k].act, l->I = l->O = w, l->elem = 1;
            l->out = ++cur;
        } else {
            l->I = l->O = w;
            l->out = cur;
        }
        if (last && sce && l->kind != WB_HVP_DENSE)
            return wb_err_set(err, WB_EINVAL, "layer %d: cross-entropy needs a Dense "
                              "last, got another layer", k + 1);
    }
    if (first < 0)
        return wb_err_set(err, WB_EINVAL, "layers: expected at least one Dense");
    /* widths of the layers before the first Dense are its input's */
    for (int k = 0; k < first; k++)
        h->L[k].I = h->L[k].O = h->L[first].I;
    h->npts = cur + 1;
    h->P = P;
    h->first = first;
    return WB_OK;
}

/* The point buffers and every layer's own or aliased ones. */
static wb_status allocate(wb_hvp *h, wb_err *err)
{
    int64_t cap = h->cap, maxw = 1;
    int first_r = h->npts; /* first point carrying R */
    for (int k = h->n - 1; k >= 0; k--)
        if (h->L[k].kind == WB_HVP_DENSE)
            first_r = h->L[k].out;
    h->pts[0].w = h->L[0].I;
    for (int k = 0; k < h->n; k++)
        h->pts[h->L[k].out].w = h->L[k].O;
    for (int p = 0; p < h->npts; p++) {
        pt *q = &h->pts[p];
        if (!(q->a = buf(h, cap, q->w, err)))
            return err->code;
        if (p >= first_r && (!(q->g = buf(h, cap, q->w, err)) ||
                             !(q->ra = buf(h, cap, q->w, err)) ||
                             !(q->rg = buf(h, cap, q->w, err))))
            return err->code;
    }
    for (int k = 0; k < h->n; k++) {
        hl *l = &h->L[k];
        pt *pi = &h->pts[l->in], *po = &h->pts[l->out];
        if (l->kind == WB_HVP_DENSE && l->I * l->O > maxw)
            maxw = l->I * l->O;
        if (l->kind == WB_HVP_ACTIVATION)
            l->z = pi->a, l->gz = pi->g, l->rz = pi->ra, l->rgz = pi->rg;
        else if (l->kind == WB_HVP_DENSE && l->elem) {
            if (!(l->z = buf(h, cap, l->O, err)) || !(l->gz = buf(h, cap, l->O, err)) ||
                !(l->rz = buf(h, cap, l->O, err)) || !(l->rgz = buf(h, cap, l->O, err)))
                return err->code;
        } else if (l->kind == WB_HVP_DENSE)
            l->z = po->a, l->gz = po->g, l->rz = po->ra, l->rgz = po->rg;
        if (l->elem && (!(l->d1 = buf(h, cap, l->O, err)) ||
                        !(l->d2 = buf(h, cap, l->O, err))))
            return err->code;
    }
    int64_t C = h->pts[h->npts - 1].w;
    if (!(h->theta = buf(h, h->P, 1, err)) || !(h->vr = buf(h, h->P, 1, err)) ||
        !(h->tmp = buf(h, maxw, 1, err)) ||
        (h->loss == WB_HVP_SCE && !(h->prob = buf(h, cap, C, err))))
        return err->code;
    if (h->loss == WB_HVP_SCE && !(h->cls = wb_calloc((size_t)cap, sizeof *h->cls)))
        return wb_err_set(err, WB_ENOMEM, "hvp: out of memory for %lld rows' classes",
                          (long long)cap);
    size_t I = (size_t)h->L[h->first].I;
    if ((h->sp_allow && (!(h->sp_start = wb_calloc(I + 1, sizeof *h->sp_start)) ||
                         !(h->sp_ps = wb_calloc(3 * ((I + 1) / 2) + 1, sizeof *h->sp_ps)))) ||
        (!h->f64 && !(h->live = wb_calloc(2 * (I + 2), sizeof *h->live))))
        return wb_err_set(err, WB_ENOMEM, "hvp: out of memory");
    return WB_OK;
}

wb_hvp *wb_hvp_new(const wb_hvp_layer *layers, int n_layers, const wb_hvp_opts *opts,
                   wb_err *err)
{
    if (n_layers < 1 || n_layers > 4096)
        return wb_err_set(err, WB_EINVAL, "layers: expected 1..4096 layers, got %d",
                          n_layers), NULL;
    if (opts->max_rows < 1 || opts->max_rows > ((int64_t)1 << 31))
        return wb_err_set(err, WB_ERANGE, "max_rows: expected 1..2^31, got %lld",
                          (long long)opts->max_rows), NULL;
    if (opts->loss != WB_HVP_SCE && opts->loss != WB_HVP_MSE)
        return wb_err_set(err, WB_EINVAL, "loss: unknown kind %d", (int)opts->loss), NULL;
    wb_hvp *h = wb_calloc(1, sizeof *h);
    if (!h)
        return wb_err_set(err, WB_ENOMEM, "hvp: out of memory"), NULL;
    h->n = n_layers;
    h->loss = opts->loss;
    h->f64 = opts->f64 != 0;
    h->rsz = h->f64 ? sizeof(double) : sizeof(float);
    h->cap = opts->max_rows;
    h->sp_allow = !h->f64 && !opts->dense_input;
    h->max_owned = 10 * n_layers + 8;
    h->L = wb_calloc((size_t)n_layers, sizeof *h->L);
    h->pts = wb_calloc((size_t)n_layers + 1, sizeof *h->pts);
    h->owned = wb_calloc((size_t)h->max_owned, sizeof *h->owned);
    if (!h->L || !h->pts || !h->owned) {
        wb_err_set(err, WB_ENOMEM, "hvp: out of memory");
        goto fail;
    }
    if (plan(h, layers, err))
        goto fail;
    /* the non-zeros' positions are int32 */
    if ((double)h->cap * (double)h->L[h->first].I > (double)INT32_MAX)
        h->sp_allow = 0;
    if (allocate(h, err))
        goto fail;
    wb_hvp_sync(h);
    return h;
fail:
    wb_hvp_free(h);
    return NULL;
}

void wb_hvp_free(wb_hvp *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n_owned; i++)
        wb_free(h->owned[i]);
    wb_free(h->owned);
    wb_free(h->L);
    wb_free(h->pts);
    wb_free(h->labels);
    wb_free(h->cls);
    wb_free(h->work);
    wb_free(h->sp_start);
    wb_free(h->live);
    wb_free(h->sp_ps);
    wb_free(h->sp_mem);
    wb_tensor_free(h->x);
    wb_tensor_free(h->y);
    wb_free(h);
}

double *wb_hvp_work(wb_hvp *h, size_t n, wb_err *err)
{
    if (n <= h->wcap)
        return h->work;
    double *w = wb_malloc(n * sizeof *w);
    if (!w)
        return wb_err_set(err, WB_ENOMEM, "out of memory for %zu doubles of Lanczos "
                          "work space", n), NULL;
    wb_free(h->work);
    h->work = w, h->wcap = n;
    return w;
}

int64_t wb_hvp_numel(const wb_hvp *h) { return h->P; }
int64_t wb_hvp_count(const wb_hvp *h) { return h->count; }
int wb_hvp_sparse(const wb_hvp *h) { return h->sp_on; }
int wb_hvp_f64(const wb_hvp *h) { return h->f64; }

wb_status wb_hvp_block(const wb_hvp *h, int layer, int64_t *first, int64_t *count,
                       wb_err *err)
{
    if (layer < 0 || layer >= h->n)
        return wb_err_set(err, WB_EINVAL, "layer: expected 1..%d, got %d", h->n, layer + 1);
    const hl *l = &h->L[layer];
    if (l->kind != WB_HVP_DENSE)
        return wb_err_set(err, WB_EINVAL, "layer: layer %d has no parameters", layer + 1);
    *first = l->off;
    *count = l->I * l->O + (l->use_bias ? l->O : 0);
    return WB_OK;
}

/* ---------------------------------------------------------------------------
 * Data and parameters */

static wb_status check_data(const wb_hvp *h, const wb_tensor *x, const wb_tensor *y,
                            wb_err *err)
{
    char sx[WB_SHAPE_STR_MAX], sy[WB_SHAPE_STR_MAX];
    wb_shape_str(sx, sizeof sx, x->ndim, x->shape);
    wb_shape_str(sy, sizeof sy, y->ndim, y->shape);
    int64_t w = h->pts[0].w, C = h->pts[h->npts - 1].w;
    if (x->dtype != WB_F32 && x->dtype != WB_U8)
        return wb_err_set(err, WB_EINVAL, "x: expected a float32 or uint8 tensor");
    if (x->ndim < 2 || x->shape[0] < 1 || (int64_t)wb_tensor_numel(x) / x->shape[0] != w)
        return wb_err_set(err, WB_ESHAPE, "x: expected [n, ...] with n >= 1 and %lld "
                          "numbers per row, got %s", (long long)w, sx);
    int64_t N = x->shape[0];
    if (h->loss == WB_HVP_MSE) {
        int ok = y->dtype == WB_F32 && y->shape[0] == N &&
                 ((y->ndim == 2 && y->shape[1] == C) || (y->ndim == 1 && C == 1));
        if (!ok)
            return wb_err_set(err, WB_ESHAPE, "y: expected float32 targets [%lld, %lld], "
                              "got %s %s", (long long)N, (long long)C,
                              wb_dtype_name(y->dtype), sy);
        return WB_OK;
    }
    if (y->ndim != 1 || y->shape[0] != N)
        return wb_err_set(err, WB_ESHAPE, "y: expected labels [%lld] (one per row of x "
                          "%s), got %s", (long long)N, sx, sy);
    for (int64_t i = 0; i < N; i++) {
        double v = wb_tensor_get_flat(y, (size_t)i);
        if (!(v >= 0 && v <= (double)(C - 1) && v == floor(v)))
            return wb_err_set(err, WB_ERANGE, "y: label %lld (1-based position) is %.9g, "
                              "expected an integer in 0..%lld", (long long)i + 1, v,
                              (long long)(C - 1));
    }
    return WB_OK;
}

/* The sparse input's buffers for chunks of min(N, cap) rows, grown only
 * (an engine reset with batches of one size allocates once). */
static wb_status sp_reserve(wb_hvp *h, int64_t N, wb_err *err)
{
    if (!h->sp_allow)
        return WB_OK;
    int64_t rows = N < h->cap ? N : h->cap;
    size_t cells = (size_t)rows * (size_t)h->L[h->first].I;
    if (cells <= h->sp_cells)
        return WB_OK;
    /* int32 and float cells alike (4 bytes): 7 arrays of cells, the pairs'
     * scratch (3 per non-zero, at most half the cells when sparse: 2
     * arrays), then rs */
    _Static_assert(sizeof(float) == sizeof(int32_t), "4-byte cells");
    int32_t *m = wb_malloc((9 * cells + (size_t)rows + 1) * sizeof *m);
    if (!m)
        return wb_err_set(err, WB_ENOMEM, "hvp: out of memory for the input's non-zeros "
                          "(%zu cells)", cells);
    wb_free(h->sp_mem);
    h->sp_mem = m, h->sp_cells = cells;
    h->sp_row = m, h->sp_ci = m + cells, h->sp_prow = m + 2 * cells;
    h->sp_val = (float *)(m + 3 * cells), h->sp_cv = (float *)(m + 4 * cells);
    h->sp_pa = (float *)(m + 5 * cells), h->sp_pb = (float *)(m + 6 * cells);
    h->sp_tmp = m + 7 * cells, h->sp_rs = m + 9 * cells;
    return WB_OK;
}

/* Is view v of the same storage, offset, type and shape as t? Then it reads
 * what t holds: a fit's batch buffer, given again at every measured step. */
static int same_view(const wb_tensor *v, const wb_tensor *t)
{
    return v && v->storage == t->storage && v->offset == t->offset &&
           v->dtype == t->dtype && v->ndim == t->ndim &&
           !memcmp(v->shape, t->shape, (size_t)t->ndim * sizeof *t->shape);
}

wb_status wb_hvp_set_data(wb_hvp *h, const wb_tensor *x, const wb_tensor *y, wb_err *err)
{
    if (check_data(h, x, y, err))
        return err->code;
    int64_t N = x->shape[0];
    if (sp_reserve(h, N, err))
        return err->code;
    /* the labels' room and the views are kept when they serve again: the
     * fit instruments reset the operator at every measured step, which
     * then allocates nothing (no allocation inside a training step) */
    int32_t *labels = h->labels;
    int grow = h->loss == WB_HVP_SCE && N > h->labels_cap;
    if (grow && !(labels = wb_malloc((size_t)N * sizeof *labels)))
        return wb_err_set(err, WB_ENOMEM, "hvp: out of memory for %lld labels",
                          (long long)N);
    wb_tensor *vx = same_view(h->x, x) ? h->x : wb_tensor_view(x, 0, x->ndim, x->shape, err);
    wb_tensor *vy = !vx ? NULL : same_view(h->y, y) ? h->y
                                : wb_tensor_view(y, 0, y->ndim, y->shape, err);
    if (!vy) {
        if (vx != h->x)
            wb_tensor_free(vx);
        if (grow)
            wb_free(labels);
        return err->code;
    }
    if (grow) {
        wb_free(h->labels);
        h->labels_cap = N;
    }
    for (int64_t i = 0; h->loss == WB_HVP_SCE && i < N; i++)
        labels[i] = (int32_t)wb_tensor_get_flat(y, (size_t)i);
    if (vx != h->x)
        wb_tensor_free(h->x);
    if (vy != h->y)
        wb_tensor_free(h->y);
    h->x = vx, h->y = vy, h->labels = labels, h->N = N;
    h->cached = 0;
    return WB_OK;
}

void wb_hvp_sync(wb_hvp *h)
{
    for (int k = 0; k < h->n; k++) {
        const hl *l = &h->L[k];
        if (l->kind != WB_HVP_DENSE)
            continue;
        size_t nw = (size_t)(l->I * l->O), nb = l->use_bias ? (size_t)l->O : 0;
        const float *W = wb_tensor_f32(l->d->weight);
        const float *b = nb ? wb_tensor_f32(l->d->bias) : NULL;
        if (!h->f64) { /* every op:reset in training: a copy, not a loop */
            memcpy((float *)h->theta + l->off, W, nw * sizeof *W);
            if (nb)
                memcpy((float *)h->theta + l->off + nw, b, nb * sizeof *b);
            continue;
        }
        double *t = (double *)h->theta + l->off;
        for (size_t q = 0; q < nw; q++)
            t[q] = W[q];
        for (size_t j = 0; j < nb; j++)
            t[nw + j] = b[j];
    }
    h->cached = 0;
}

void wb_hvp_set_theta_f32(wb_hvp *h, const float *const *parts, const int64_t *n,
                          int nparts)
{
    int64_t at = 0;
    for (int i = 0; i < nparts; at += n[i], i++) {
        if (!h->f64)
            memcpy((float *)h->theta + at, parts[i], (size_t)n[i] * sizeof(float));
        else
            for (int64_t q = 0; q < n[i]; q++)
                ((double *)h->theta)[at + q] = parts[i][q];
    }
    h->cached = 0;
}

void wb_hvp_set_theta(wb_hvp *h, const double *t)
{
    if (h->f64)
        to_real_f64(h->theta, t, h->P);
    else
        to_real_f32(h->theta, t, h->P);
    h->cached = 0;
}

void wb_hvp_get_theta(const wb_hvp *h, double *t)
{
    for (int64_t k = 0; k < h->P; k++)
        t[k] = h->f64 ? ((const double *)h->theta)[k] : ((const float *)h->theta)[k];
}

static double theta_at(const wb_hvp *h, int64_t k)
{
    return h->f64 ? ((const double *)h->theta)[k] : ((const float *)h->theta)[k];
}

/* ---------------------------------------------------------------------------
 * The chunk driver */

/* Forward, loss and backward of rows [r0, r0 + n); returns the loss sum. */
static double chunk_forward(wb_hvp *h, int64_t r0, int64_t n, double *grad)
{
    double s;
    if (h->f64) {
        load_f64(h, r0, n);
        forward_f64(h, n);
        s = loss_forward_f64(h, r0, n);
        backward_f64(h, n, grad);
    } else {
        load_f32(h, r0, n);
        forward_f32(h, n);
        s = loss_forward_f32(h, r0, n);
        backward_f32(h, n, grad);
    }
    return s;
}

static void chunk_r(wb_hvp *h, int64_t n, double *hv, int set)
{
    if (h->f64) {
        rforward_f64(h, n);
        loss_rforward_f64(h, n);
        rbackward_f64(h, n, hv, set, NULL, NULL);
    } else {
        rforward_f32(h, n);
        loss_rforward_f32(h, n);
        rbackward_f32(h, n, hv, set, NULL, NULL);
    }
}

wb_status wb_hvp_loss_grad(wb_hvp *h, double *loss, double *grad, wb_err *err)
{
    if (!h->x)
        return wb_err_set(err, WB_ESTATE, "hvp: no data (call set_data first)");
    if (grad)
        memset(grad, 0, (size_t)h->P * sizeof *grad);
    double total = 0;
    for (int64_t r0 = 0; r0 < h->N; r0 += h->cap) {
        int64_t n = h->N - r0 < h->cap ? h->N - r0 : h->cap;
        total += chunk_forward(h, r0, n, grad);
    }
    h->cached = h->N <= h->cap;
    total /= (double)h->N;
    for (int k = 0; k < h->n; k++) {
        const hl *l = &h->L[k];
        if (l->kind != WB_HVP_DENSE || l->l2 == 0)
            continue;
        for (int64_t q = l->off; q < l->off + l->I * l->O; q++) {
            double wq = theta_at(h, q);
            total += l->l2 * wq * wq;
            if (grad)
                grad[q] += 2 * l->l2 * wq;
        }
    }
    *loss = total;
    if (!isfinite(total))
        return wb_err_set(err, WB_ENONFINITE, "hvp: the loss is %g", total);
    return WB_OK;
}

wb_status wb_hvp_apply(wb_hvp *h, const double *v, double *hv, wb_err *err)
{
    if (!h->x)
        return wb_err_set(err, WB_ESTATE, "hvp: no data (call set_data first)");
    if (h->f64)
        to_real_f64(h->vr, v, h->P);
    else
        to_real_f32(h->vr, v, h->P);
    if (h->cached) { /* one chunk: it writes every entry of hv */
        chunk_r(h, h->N, hv, 1);
    } else {
        memset(hv, 0, (size_t)h->P * sizeof *hv);
        for (int64_t r0 = 0; r0 < h->N; r0 += h->cap) {
            int64_t n = h->N - r0 < h->cap ? h->N - r0 : h->cap;
            chunk_forward(h, r0, n, NULL);
            chunk_r(h, n, hv, 0);
        }
        h->cached = h->N <= h->cap;
    }
    for (int k = 0; k < h->n; k++) {
        const hl *l = &h->L[k];
        if (l->kind == WB_HVP_DENSE && l->l2 != 0)
            for (int64_t q = l->off; q < l->off + l->I * l->O; q++)
                hv[q] += 2 * l->l2 * v[q];
    }
    h->count++;
    return WB_OK;
}

/* hv = H v in float; with dot, *dot = v . H v too (hvp.h) */
static wb_status apply_f32(wb_hvp *h, const float *v, float *hv, double *dot, wb_err *err)
{
    if (!h->x)
        return wb_err_set(err, WB_ESTATE, "hvp: no data (call set_data first)");
    if (h->f64 || h->N > h->cap)
        return wb_err_set(err, WB_ESTATE, "hvp: float products need a float32 engine "
                          "and data in one chunk (%lld rows, max_rows %lld)",
                          (long long)h->N, (long long)h->cap);
    if (!h->cached) {
        chunk_forward(h, 0, h->N, NULL);
        h->cached = 1;
    }
    /* the passes read v in place as the product's direction (never write it) */
    void *own = h->vr;
    h->vr = (void *)(uintptr_t)v;
    if (dot)
        *dot = 0;
    rforward_f32(h, h->N);
    loss_rforward_f32(h, h->N);
    rbackward_f32(h, h->N, NULL, 1, hv, dot);
    h->vr = own;
    for (int k = 0; !dot && k < h->n; k++) { /* with dot, added as it was summed */
        const hl *l = &h->L[k];
        if (l->kind == WB_HVP_DENSE && l->l2 != 0)
            for (int64_t q = l->off; q < l->off + l->I * l->O; q++)
                hv[q] += (float)(2 * l->l2) * v[q];
    }
    h->count++;
    return WB_OK;
}

wb_status wb_hvp_apply_f32(wb_hvp *h, const float *v, float *hv, wb_err *err)
{
    return apply_f32(h, v, hv, NULL, err);
}

wb_status wb_hvp_apply_f32_dot(wb_hvp *h, const float *v, float *hv, double *vhv,
                               wb_err *err)
{
    return apply_f32(h, v, hv, vhv, err);
}

int wb_hvp_f32_ready(const wb_hvp *h) { return h->x && !h->f64 && h->N <= h->cap; }

const int64_t *wb_hvp_f32_live(wb_hvp *h, int *nseg, float *l2x2, wb_err *err)
{
    if (!wb_hvp_f32_ready(h))
        return wb_err_set(err, WB_ESTATE, "hvp: float products need a float32 engine "
                          "and data in one chunk"), NULL;
    if (!h->cached) {
        chunk_forward(h, 0, h->N, NULL);
        h->cached = 1;
    }
    const hl *l = &h->L[h->first];
    *l2x2 = (float)(2 * l->l2);
    if (!h->sp_on) {
        h->live[0] = 0, h->live[1] = h->P, *nseg = 1;
        return h->live;
    }
    int n = 0;
    int64_t at = 0; /* where the current live run began */
    for (int64_t c = 0; c < l->I; c++) {
        if (h->sp_start[c + 1] > h->sp_start[c])
            continue;
        int64_t row = l->off + c * l->O;
        if (row > at)
            h->live[2 * n] = at, h->live[2 * n + 1] = row, n++;
        at = row + l->O;
    }
    if (h->P > at)
        h->live[2 * n] = at, h->live[2 * n + 1] = h->P, n++;
    *nseg = n;
    return h->live;
}
