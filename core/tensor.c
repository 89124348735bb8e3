/* tensor.c - refcounted storage, contiguous tensors, element-wise ops,
 * reductions and the matmul wrapper. See tensor.h.
 */
#include "tensor.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

size_t wb_dtype_size(wb_dtype dt) { return dt == WB_U8 ? 1 : 4; }
const char *wb_dtype_name(wb_dtype dt) { return dt == WB_U8 ? "uint8" : "float32"; }

char *wb_shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
    return buf;
}

wb_status wb_shape_numel(int ndim, const int64_t *shape, wb_dtype dt,
                         size_t *numel, wb_err *err)
{
    char s[WB_SHAPE_STR_MAX];
    if (ndim < 0 || ndim > WB_MAX_DIM)
        return wb_err_set(err, WB_ERANGE, "%d dimensions, expected 0..%d", ndim,
                          WB_MAX_DIM);
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return wb_err_set(err, WB_EINVAL, "shape %s: dimension %d is negative",
                              wb_shape_str(s, sizeof s, ndim, shape), i + 1);
        if (shape[i] && n > WB_MAX_BYTES / (uint64_t)shape[i])
            return wb_err_set(err, WB_ERANGE,
                              "shape %s is too large (limit %llu bytes)",
                              wb_shape_str(s, sizeof s, ndim, shape),
                              (unsigned long long)WB_MAX_BYTES);
        n *= (uint64_t)shape[i];
    }
    if (n * wb_dtype_size(dt) > WB_MAX_BYTES)
        return wb_err_set(err, WB_ERANGE, "shape %s is too large (limit %llu bytes)",
                          wb_shape_str(s, sizeof s, ndim, shape),
                          (unsigned long long)WB_MAX_BYTES);
    *numel = (size_t)n;
    return WB_OK;
}

static wb_storage *storage_new(size_t nbytes, int zeroed, wb_err *err)
{
    wb_storage *s = wb_malloc(sizeof *s);
    if (!s) {
        wb_err_set(err, WB_ENOMEM, "out of memory allocating a tensor header");
        return NULL;
    }
    s->data = (zeroed ? wb_alloc_aligned : wb_alloc_aligned_raw)(nbytes ? nbytes : 1);
    if (!s->data) {
        wb_free(s);
        wb_err_set(err, WB_ENOMEM, "out of memory allocating %zu bytes", nbytes);
        return NULL;
    }
    s->nbytes = nbytes;
    s->refcount = 1;
    return s;
}

static void storage_release(wb_storage *s)
{
    if (s && --s->refcount == 0) {
        wb_free(s->data);
        wb_free(s);
    }
}

static wb_tensor *header_new(wb_storage *s, size_t offset, wb_dtype dt, int ndim,
                             const int64_t *shape, wb_err *err)
{
    wb_tensor *t = wb_malloc(sizeof *t);
    if (!t) {
        wb_err_set(err, WB_ENOMEM, "out of memory allocating a tensor header");
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->storage = s;
    s->refcount++;
    t->offset = offset;
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    return t;
}

static wb_tensor *tensor_new(wb_dtype dt, int ndim, const int64_t *shape, int zeroed,
                             wb_err *err)
{
    size_t n;
    if (wb_shape_numel(ndim, shape, dt, &n, err) != WB_OK)
        return NULL;
    wb_storage *s = storage_new(n * wb_dtype_size(dt), zeroed, err);
    if (!s)
        return NULL;
    wb_tensor *t = header_new(s, 0, dt, ndim, shape, err);
    storage_release(s); /* the header holds the only reference now */
    return t;
}

wb_tensor *wb_tensor_new(wb_dtype dt, int ndim, const int64_t *shape, wb_err *err)
{
    return tensor_new(dt, ndim, shape, 1, err);
}

wb_tensor *wb_tensor_new_raw(wb_dtype dt, int ndim, const int64_t *shape, wb_err *err)
{
    return tensor_new(dt, ndim, shape, 0, err);
}

size_t wb_tensor_numel(const wb_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

wb_tensor *wb_tensor_view(const wb_tensor *t, size_t offset, int ndim,
                          const int64_t *shape, wb_err *err)
{
    size_t n;
    if (wb_shape_numel(ndim, shape, t->dtype, &n, err) != WB_OK)
        return NULL;
    size_t have = t->storage->nbytes / wb_dtype_size(t->dtype);
    if (t->offset + offset > have || n > have - t->offset - offset)
        return wb_err_set(err, WB_ERANGE,
                          "view of %zu elements at offset %zu exceeds the %zu "
                          "elements of its storage", n, t->offset + offset, have),
               NULL;
    return header_new(t->storage, t->offset + offset, t->dtype, ndim, shape, err);
}

wb_tensor *wb_tensor_rows(const wb_tensor *t, int64_t first, int64_t count,
                          wb_err *err)
{
    if (t->ndim < 1)
        return wb_err_set(err, WB_ESHAPE, "cannot take rows of a scalar"), NULL;
    if (first < 0 || count < 0 || first > t->shape[0] || count > t->shape[0] - first)
        return wb_err_set(err, WB_ERANGE, "rows %lld..%lld out of range 1..%lld",
                          (long long)wb_i64_add_sat(first, 1),
                          (long long)wb_i64_add_sat(first, count),
                          (long long)t->shape[0]),
               NULL;
    size_t row = 1;
    for (int i = 1; i < t->ndim; i++)
        row *= (size_t)t->shape[i];
    int64_t shape[WB_MAX_DIM];
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = count;
    return wb_tensor_view(t, (size_t)first * row, t->ndim, shape, err);
}

wb_tensor *wb_tensor_clone(const wb_tensor *t, wb_err *err)
{
    wb_tensor *c = wb_tensor_new(t->dtype, t->ndim, t->shape, err);
    if (c)
        memcpy(c->storage->data, (char *)t->storage->data + t->offset * wb_dtype_size(t->dtype),
               wb_tensor_numel(t) * wb_dtype_size(t->dtype));
    return c;
}

wb_tensor *wb_tensor_to_f32(const wb_tensor *t, wb_err *err)
{
    if (t->dtype == WB_F32)
        return wb_tensor_clone(t, err);
    wb_tensor *c = wb_tensor_new(WB_F32, t->ndim, t->shape, err);
    if (c) {
        size_t n = wb_tensor_numel(t);
        const uint8_t *src = wb_tensor_u8(t);
        float *dst = wb_tensor_f32(c);
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)src[i];
    }
    return c;
}

void wb_tensor_free(wb_tensor *t)
{
    if (t) {
        storage_release(t->storage);
        wb_free(t);
    }
}

/* One size of -1 in shape is inferred from numel, as numpy's and torch's
 * reshape do; into out. A second -1, another negative size, a numel the
 * other sizes do not divide, or a -1 beside a 0 (any size would do) fail. */
static wb_status infer_shape(const wb_tensor *t, int ndim, const int64_t *shape,
                             int64_t *out, wb_err *err)
{
    char a[WB_SHAPE_STR_MAX], b[WB_SHAPE_STR_MAX];
    int at = -1;
    size_t numel = wb_tensor_numel(t), rest;
    wb_shape_str(a, sizeof a, t->ndim, t->shape);
    wb_shape_str(b, sizeof b, ndim, shape);
    for (int i = 0; i < ndim; i++) {
        out[i] = shape[i];
        if (shape[i] == -1 && at >= 0)
            return wb_err_set(err, WB_EINVAL, "reshape to %s: only one size may be -1 "
                              "(inferred), got sizes %d and %d", b, at + 1, i + 1);
        if (shape[i] < -1)
            return wb_err_set(err, WB_EINVAL, "reshape to %s: size %d is %lld, expected "
                              ">= 0 or -1 (inferred)", b, i + 1, (long long)shape[i]);
        if (shape[i] == -1) {
            at = i;
            out[i] = 1;
        }
    }
    if (at < 0)
        return WB_OK;
    if (wb_shape_numel(ndim, out, t->dtype, &rest, err) != WB_OK)
        return err ? err->code : WB_EINVAL;
    if (rest == 0)
        return wb_err_set(err, WB_ESHAPE, "cannot reshape %s (%zu elements) to %s: with a "
                          "size 0 beside it, the -1 could be any size", a, numel, b);
    if (numel % rest)
        return wb_err_set(err, WB_ESHAPE, "cannot reshape %s (%zu elements) to %s: %zu "
                          "is not a multiple of %zu (the other sizes' product)", a, numel,
                          b, numel, rest);
    out[at] = (int64_t)(numel / rest);
    return WB_OK;
}

wb_status wb_tensor_reshape_inplace(wb_tensor *t, int ndim, const int64_t *inshape,
                                    wb_err *err)
{
    size_t n;
    int64_t shape[WB_MAX_DIM];
    if (ndim < 0 || ndim > WB_MAX_DIM)
        return wb_err_set(err, WB_EINVAL, "reshape: %d dimensions, expected 0..%d", ndim,
                          WB_MAX_DIM);
    if (infer_shape(t, ndim, inshape, shape, err) != WB_OK)
        return err ? err->code : WB_EINVAL;
    if (wb_shape_numel(ndim, shape, t->dtype, &n, err) != WB_OK)
        return err ? err->code : WB_EINVAL;
    if (n != wb_tensor_numel(t)) {
        char a[WB_SHAPE_STR_MAX], b[WB_SHAPE_STR_MAX];
        return wb_err_set(err, WB_ESHAPE, "cannot reshape %s (%zu elements) to %s "
                          "(%zu elements)", wb_shape_str(a, sizeof a, t->ndim, t->shape),
                          wb_tensor_numel(t), wb_shape_str(b, sizeof b, ndim, shape), n);
    }
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    return WB_OK;
}

int wb_tensor_same_shape(const wb_tensor *a, const wb_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

wb_status wb_err_shape(wb_err *err, const char *what, const wb_tensor *a,
                       const wb_tensor *b)
{
    char sa[WB_SHAPE_STR_MAX], sb[WB_SHAPE_STR_MAX];
    return wb_err_set(err, WB_ESHAPE, "%s: shapes %s and %s do not match", what,
                      wb_shape_str(sa, sizeof sa, a->ndim, a->shape),
                      wb_shape_str(sb, sizeof sb, b->ndim, b->shape));
}

static wb_status need_f32(const wb_tensor *t, const char *what, wb_err *err)
{
    if (t->dtype != WB_F32)
        return wb_err_set(err, WB_EINVAL, "%s: expected a float32 tensor, got %s "
                          "(use :float())", what, wb_dtype_name(t->dtype));
    return WB_OK;
}

wb_status wb_dtype_check_value(wb_dtype dt, double v, wb_err *err)
{
    if (dt == WB_U8 && !(v >= 0 && v <= 255 && v == floor(v)))
        return wb_err_set(err, WB_ERANGE, "%g does not fit in uint8 (expected an integer "
                          "in 0..255)", v);
    if (dt == WB_F32 && isfinite(v) && fabs(v) > FLT_MAX)
        return wb_err_set(err, WB_ERANGE, "%g is beyond float32's range (+-%g)", v,
                          (double)FLT_MAX);
    return WB_OK;
}

wb_status wb_tensor_fill(wb_tensor *t, float v, wb_err *err)
{
    size_t n = wb_tensor_numel(t);
    if (t->dtype == WB_U8) {
        if (!(v >= 0 && v <= 255 && v == floorf(v)))
            return wb_err_set(err, WB_ERANGE, "fill: %g does not fit in uint8 (expected "
                              "an integer in 0..255)", v);
        memset(wb_tensor_u8(t), (int)v, n);
        return WB_OK;
    }
    float *p = wb_tensor_f32(t);
    for (size_t i = 0; i < n; i++)
        p[i] = v;
    return WB_OK;
}

/* Same shape, not only the same count: a [2, 3] copied into a [3, 2] (a
 * PyTorch Linear weight into a Dense kernel) would scramble it without a
 * word; across shapes, copy src:reshape(...) (which says what is meant). */
wb_status wb_tensor_copy(wb_tensor *dst, const wb_tensor *src, wb_err *err)
{
    if (!wb_tensor_same_shape(dst, src)) {
        char sa[WB_SHAPE_STR_MAX], sb[WB_SHAPE_STR_MAX];
        return wb_err_set(err, WB_ESHAPE, "copy: expected a source of shape %s (the "
                          "destination's), got %s (reshape it first to copy across shapes)",
                          wb_shape_str(sa, sizeof sa, dst->ndim, dst->shape),
                          wb_shape_str(sb, sizeof sb, src->ndim, src->shape));
    }
    size_t n = wb_tensor_numel(src);
    if (dst->dtype == src->dtype) {
        memmove((char *)dst->storage->data + dst->offset * wb_dtype_size(dst->dtype),
                (char *)src->storage->data + src->offset * wb_dtype_size(src->dtype),
                n * wb_dtype_size(src->dtype));
        return WB_OK;
    }
    /* float32 into uint8: every value must fit, checked before any write */
    for (size_t i = 0; dst->dtype == WB_U8 && i < n; i++)
        if (wb_dtype_check_value(WB_U8, wb_tensor_get_flat(src, i), err))
            return wb_err_set(err, WB_ERANGE, "copy: element %zu is %g, expected an "
                              "integer in 0..255 (the destination is uint8)", i + 1,
                              wb_tensor_get_flat(src, i));
    for (size_t i = 0; i < n; i++)
        wb_tensor_set_flat(dst, i, wb_tensor_get_flat(src, i));
    return WB_OK;
}

double wb_tensor_get_flat(const wb_tensor *t, size_t i)
{
    return t->dtype == WB_U8 ? (double)wb_tensor_u8(t)[i] : (double)wb_tensor_f32(t)[i];
}

void wb_tensor_set_flat(wb_tensor *t, size_t i, double v)
{
    if (t->dtype == WB_U8) {
        double r = v < 0 ? 0 : v > 255 ? 255 : v;
        wb_tensor_u8(t)[i] = (uint8_t)lrint(r);
    } else {
        wb_tensor_f32(t)[i] = (float)v;
    }
}

wb_tensor *wb_tensor_binop(const wb_tensor *a, const wb_tensor *b, float s,
                           wb_binop op, wb_err *err)
{
    static const char *names[] = {"add", "sub", "mul", "div"};
    if (need_f32(a, names[op], err) || (b && need_f32(b, names[op], err)))
        return NULL;
    /* b of a's shape, or a row ([C] or [1, C]) repeated over a's rows */
    size_t period = 0;
    if (b && !wb_tensor_same_shape(a, b)) {
        int row = a->ndim == 2 && b->ndim >= 1 && b->shape[b->ndim - 1] == a->shape[1] &&
                  (b->ndim == 1 || (b->ndim == 2 && b->shape[0] == 1));
        if (!row) {
            char sa[WB_SHAPE_STR_MAX], sb[WB_SHAPE_STR_MAX];
            return wb_err_set(err, WB_ESHAPE, "%s: shapes %s and %s do not fit (expected "
                              "the same shape, or [n, C] and a row [C] or [1, C])",
                              names[op], wb_shape_str(sa, sizeof sa, a->ndim, a->shape),
                              wb_shape_str(sb, sizeof sb, b->ndim, b->shape)), NULL;
        }
        period = (size_t)a->shape[1];
    }
    wb_tensor *c = wb_tensor_new(WB_F32, a->ndim, a->shape, err);
    if (!c)
        return NULL;
    size_t n = wb_tensor_numel(a);
    const float *x = wb_tensor_f32(a);
    const float *y = b ? wb_tensor_f32(b) : NULL;
    float *z = wb_tensor_f32(c);
    for (size_t i = 0; i < n; i++) {
        float r = y ? y[period ? i % period : i] : s;
        switch (op) {
        case WB_ADD: z[i] = x[i] + r; break;
        case WB_SUB: z[i] = x[i] - r; break;
        case WB_MUL: z[i] = x[i] * r; break;
        case WB_DIV: z[i] = x[i] / r; break;
        }
    }
    return c;
}

wb_status wb_tensor_stats(const wb_tensor *t, wb_stats *st, wb_err *err)
{
    size_t n = wb_tensor_numel(t);
    if (n == 0)
        return wb_err_set(err, WB_EINVAL, "reduction of an empty tensor");
    double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = wb_tensor_get_flat(t, i);
        sum += v;
        sq += v * v;
        /* a NaN is the min and max, as in reductions along a dim (never skipped) */
        if (v < mn || v != v) mn = v;
        if (v > mx || v != v) mx = v;
    }
    double mean = sum / (double)n, var = 0;
    for (size_t i = 0; i < n; i++) { /* two-pass: no cancellation */
        double d = wb_tensor_get_flat(t, i) - mean;
        var += d * d;
    }
    st->sum = sum;
    st->mean = mean;
    st->std = sqrt(var / (double)n);
    st->min = mn;
    st->max = mx;
    st->norm = sqrt(sq);
    return WB_OK;
}

wb_status wb_tensor_minmax(const wb_tensor *t, double *min, double *max, wb_err *err)
{
    size_t n = wb_tensor_numel(t);
    if (n == 0)
        return wb_err_set(err, WB_EINVAL, "reduction of an empty tensor");
    if (t->dtype != WB_F32) {
        wb_stats st;
        wb_tensor_stats(t, &st, NULL);
        *min = st.min, *max = st.max;
        return WB_OK;
    }
    /* wb_tensor_stats's tests on the floats themselves (a float's double
     * is exact and ordered alike); its sums are a chain of dependent double
     * adds, four times the cost of this pass, twice over */
    const float *x = wb_tensor_f32(t);
    float mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (v < mn || v != v) mn = v;
        if (v > mx || v != v) mx = v;
    }
    *min = mn, *max = mx;
    return WB_OK;
}

wb_tensor *wb_tensor_argmax(const wb_tensor *t, int dim, wb_err *err)
{
    if (dim < 0 || dim >= t->ndim)
        return wb_err_set(err, WB_ERANGE, "argmax: dim %d out of range 1..%d", dim + 1,
                          t->ndim), NULL;
    int64_t shape[WB_MAX_DIM];
    int nd = 0;
    size_t outer = 1, inner = 1, len = (size_t)t->shape[dim];
    for (int i = 0; i < t->ndim; i++) {
        if (i < dim) outer *= (size_t)t->shape[i];
        if (i > dim) inner *= (size_t)t->shape[i];
        if (i != dim) shape[nd++] = t->shape[i];
    }
    if (len == 0)
        return wb_err_set(err, WB_ESHAPE, "argmax over an empty dimension"), NULL;
    wb_tensor *r = wb_tensor_new(WB_F32, nd, shape, err);
    if (!r)
        return NULL;
    float *out = wb_tensor_f32(r);
    for (size_t o = 0; o < outer; o++)
        for (size_t in = 0; in < inner; in++) {
            size_t best = 0;
            double bv = wb_tensor_get_flat(t, o * len * inner + in);
            for (size_t k = 1; k < len; k++) {
                double v = wb_tensor_get_flat(t, (o * len + k) * inner + in);
                /* the first NaN wins, as in max (and torch, numpy) */
                if (bv == bv && (v > bv || v != v)) { bv = v; best = k; }
            }
            out[o * inner + in] = (float)best;
        }
    return r;
}

wb_tensor *wb_matmul(const wb_tensor *a, const wb_tensor *b, wb_err *err)
{
    if (need_f32(a, "matmul", err) || need_f32(b, "matmul", err))
        return NULL;
    char sa[WB_SHAPE_STR_MAX], sb[WB_SHAPE_STR_MAX];
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
        return wb_err_set(err, WB_ESHAPE, "matmul: shapes %s and %s do not fit "
                          "(expected [m, k] and [k, n])",
                          wb_shape_str(sa, sizeof sa, a->ndim, a->shape),
                          wb_shape_str(sb, sizeof sb, b->ndim, b->shape)), NULL;
    int64_t shape[2] = {a->shape[0], b->shape[1]};
    wb_tensor *c = wb_tensor_new(WB_F32, 2, shape, err);
    if (!c)
        return NULL;
    int m = (int)a->shape[0], k = (int)a->shape[1], n = (int)b->shape[1];
    if (m && n && k)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f,
                    wb_tensor_f32(a), k, wb_tensor_f32(b), n, 0.0f, wb_tensor_f32(c), n);
    return c;
}
