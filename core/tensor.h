/* tensor.h - refcounted storage and contiguous tensor headers.
 *
 * A wb_storage is a 64-byte aligned buffer with a reference count. A
 * wb_tensor is a header (dtype, shape, element offset) holding exactly one
 * reference to a storage. Every tensor is contiguous and row-major: a view is
 * a new header over a contiguous range of the same storage (a row, a block
 * of rows, a reshape), so kernels can always take `wb_tensor_f32(t)` as a
 * flat array. A view keeps its storage alive after the parent is freed.
 *
 * Ownership: _new/_view return an owned header, freed with wb_tensor_free
 * (NULL-safe), which drops the storage reference. Functions without these
 * verbs borrow. All fallible calls return NULL/status and fill wb_err.
 */
#ifndef WB_TENSOR_H
#define WB_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define WB_MAX_DIM 8
/* Largest tensor we agree to allocate, in bytes (16 GiB): a size beyond it is
 * WB_ERANGE, never an attempt to allocate. */
#define WB_MAX_BYTES ((uint64_t)16 << 30)

typedef enum wb_dtype { WB_F32 = 0, WB_U8 = 1 } wb_dtype;

typedef struct wb_storage {
    void *data;       /* 64-byte aligned, owned */
    size_t nbytes;
    long refcount;
} wb_storage;

typedef struct wb_tensor {
    wb_storage *storage; /* one reference */
    size_t offset;       /* in elements */
    wb_dtype dtype;
    int ndim;            /* 0 .. WB_MAX_DIM; ndim 0 is a scalar of 1 elem */
    int64_t shape[WB_MAX_DIM];
} wb_tensor;

/* a + b, saturated at the int64 limits: for messages about ranges a caller
 * gave (first + count of rows), which must not overflow to say so. */
static inline int64_t wb_i64_add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

size_t wb_dtype_size(wb_dtype dt);
const char *wb_dtype_name(wb_dtype dt);

/* Number of elements of a shape; WB_ERANGE on overflow or over WB_MAX_BYTES,
 * WB_EINVAL on a negative dimension. */
wb_status wb_shape_numel(int ndim, const int64_t *shape, wb_dtype dt,
                         size_t *numel, wb_err *err);
/* "[32, 785]" into buf. Returns buf. */
char *wb_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
#define WB_SHAPE_STR_MAX 128

/* New zero-filled tensor. */
wb_tensor *wb_tensor_new(wb_dtype dt, int ndim, const int64_t *shape,
                         wb_err *err);
/* The same, its elements not set: for a caller that writes them all before
 * anything reads one (a file's data read into it; MNIST's 47 MB were
 * written twice). */
wb_tensor *wb_tensor_new_raw(wb_dtype dt, int ndim, const int64_t *shape,
                             wb_err *err);
/* New header over `numel(shape)` elements of t's storage starting at element
 * `offset` relative to t. Checks the range. */
wb_tensor *wb_tensor_view(const wb_tensor *t, size_t offset, int ndim,
                          const int64_t *shape, wb_err *err);
/* Rows [first, first + count) of dim 0 as a view (0-based). */
wb_tensor *wb_tensor_rows(const wb_tensor *t, int64_t first, int64_t count,
                          wb_err *err);
/* Deep copy into a new storage. */
wb_tensor *wb_tensor_clone(const wb_tensor *t, wb_err *err);
/* New float32 copy of any tensor (uint8 is converted as-is, not scaled). */
wb_tensor *wb_tensor_to_f32(const wb_tensor *t, wb_err *err);
void wb_tensor_free(wb_tensor *t);

/* Reshape header in place (same numel); one size of -1 is inferred. */
wb_status wb_tensor_reshape_inplace(wb_tensor *t, int ndim,
                                    const int64_t *shape, wb_err *err);

size_t wb_tensor_numel(const wb_tensor *t);
static inline float *wb_tensor_f32(const wb_tensor *t)
{
    return (float *)t->storage->data + t->offset;
}
static inline uint8_t *wb_tensor_u8(const wb_tensor *t)
{
    return (uint8_t *)t->storage->data + t->offset;
}
/* Same dtype and shape? */
int wb_tensor_same_shape(const wb_tensor *a, const wb_tensor *b);
/* Fill err with "<what>: expected [..], got [..]" style shape mismatch. */
wb_status wb_err_shape(wb_err *err, const char *what, const wb_tensor *a,
                       const wb_tensor *b);

/* Element-wise and reductions (float32 only unless stated). */
wb_status wb_tensor_fill(wb_tensor *t, float v, wb_err *err);
/* dst = src: the same shape (WB_ESHAPE otherwise); into uint8 only 0..255. */
wb_status wb_tensor_copy(wb_tensor *dst, const wb_tensor *src, wb_err *err);
double wb_tensor_get_flat(const wb_tensor *t, size_t i);   /* any dtype */
void wb_tensor_set_flat(wb_tensor *t, size_t i, double v); /* any dtype */
/* Can v be stored in dt as it is? uint8: an integer in 0..255; float32:
 * NaN, an infinity or a number within float32's range (a finite number
 * beyond it would silently become an infinity). WB_ERANGE otherwise;
 * wb_tensor_set_flat clamps and rounds, so callers taking user values check
 * them with this first. */
wb_status wb_dtype_check_value(wb_dtype dt, double v, wb_err *err);

typedef enum wb_binop { WB_ADD, WB_SUB, WB_MUL, WB_DIV } wb_binop;
/* out = a op b, same shape, or a [n, C] and b a row [C] or [1, C] applied to
 * every row (b may also be a scalar s when b is NULL). */
wb_tensor *wb_tensor_binop(const wb_tensor *a, const wb_tensor *b, float s,
                           wb_binop op, wb_err *err);

typedef struct wb_stats {
    double sum, mean, std, min, max, norm;
} wb_stats;
/* Reductions over all elements (any dtype); std is the population std; a
 * NaN element makes min and max NaN. */
wb_status wb_tensor_stats(const wb_tensor *t, wb_stats *st, wb_err *err);

/* min and max of wb_tensor_stats alone (the same values, bit for bit: a NaN
 * element makes both the last NaN), in one pass without its sums: t:min()
 * and t:max(). WB_EINVAL for an empty tensor, as wb_tensor_stats. */
wb_status wb_tensor_minmax(const wb_tensor *t, double *min, double *max, wb_err *err);

/* Argmax along dim (0-based) returning 0-based indices as float tensor
 * of the shape with that dim removed. */
wb_tensor *wb_tensor_argmax(const wb_tensor *t, int dim, wb_err *err);

/* c = a @ b for 2-D float tensors, through cblas_sgemm. */
wb_tensor *wb_matmul(const wb_tensor *a, const wb_tensor *b, wb_err *err);

#endif
