/* loss.c - fused softmax + sparse cross-entropy. See loss.h. */
#include "loss.h"

#include <math.h>
#include <string.h>

#include "alloc.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=cheap") /* see activation.c */
#endif

wb_sce *wb_sce_new(wb_err *err)
{
    wb_sce *ce = wb_calloc(1, sizeof *ce);
    if (!ce)
        return wb_err_set(err, WB_ENOMEM, "out of memory allocating a loss"), NULL;
    ce->n_batch = -1;
    return ce;
}

void wb_sce_free(wb_sce *ce)
{
    if (ce) {
        wb_tensor_free(ce->grad);
        wb_free(ce);
    }
}

static wb_status check_logits(const wb_tensor *z, wb_err *err)
{
    char a[WB_SHAPE_STR_MAX];
    if (z->dtype != WB_F32)
        return wb_err_set(err, WB_EINVAL, "logits: expected a float32 tensor, got %s",
                          wb_dtype_name(z->dtype));
    if (z->ndim != 2 || z->shape[0] < 1 || z->shape[1] < 1)
        return wb_err_set(err, WB_ESHAPE, "logits: expected [n, classes] with n, "
                          "classes >= 1, got %s", wb_shape_str(a, sizeof a, z->ndim, z->shape));
    return WB_OK;
}

/* Labels t against logits z, which check_logits accepted. */
static wb_status check_labels(const wb_tensor *z, const wb_tensor *t, wb_err *err)
{
    char a[WB_SHAPE_STR_MAX], b[WB_SHAPE_STR_MAX];
    /* the shapes are formatted only for the error: every training step checks */
    if (t->ndim != 1 || t->shape[0] != z->shape[0])
        return wb_err_set(err, WB_ESHAPE, "labels: expected [%lld] (one per row of "
                          "logits %s), got %s", (long long)z->shape[0],
                          wb_shape_str(a, sizeof a, z->ndim, z->shape),
                          wb_shape_str(b, sizeof b, t->ndim, t->shape));
    int64_t n = z->shape[0], C = z->shape[1];
    for (int64_t i = 0; i < n; i++) {
        double v = wb_tensor_get_flat(t, (size_t)i);
        if (!(v >= 0 && v <= (double)(C - 1) && v == floor(v)))
            return wb_err_set(err, WB_ERANGE, "labels: label %lld (1-based position) "
                              "is %.9g, expected an integer in 0..%lld",
                              (long long)i + 1, v, (long long)(C - 1));
    }
    return WB_OK;
}

/* Scores s (may be NULL) against logits z, which check_logits accepted. */
static wb_status check_scores(const wb_tensor *z, const wb_tensor *s, wb_err *err)
{
    char a[WB_SHAPE_STR_MAX], b[WB_SHAPE_STR_MAX];
    if (s && (s->dtype != WB_F32 || s->ndim != 2 || s->shape[0] != z->shape[0] ||
              s->shape[1] != z->shape[1]))
        return wb_err_set(err, WB_ESHAPE, "scores: expected float32 %s (the logits' "
                          "shape), got %s %s", wb_shape_str(a, sizeof a, z->ndim, z->shape),
                          wb_dtype_name(s->dtype), wb_shape_str(b, sizeof b, s->ndim,
                                                                s->shape));
    return WB_OK;
}

wb_status wb_sce_forward(wb_sce *ce, const wb_tensor *logits, const wb_tensor *labels,
                         double *loss, int64_t *correct, wb_err *err)
{
    return wb_sce_forward_scored(ce, logits, labels, NULL, loss, correct, err);
}

wb_status wb_sce_forward_scored(wb_sce *ce, const wb_tensor *logits, const wb_tensor *labels,
                                const wb_tensor *scores, double *loss, int64_t *correct,
                                wb_err *err)
{
    if (wb_err_arg(err, 2, check_logits(logits, err)) ||
        wb_err_arg(err, 3, check_labels(logits, labels, err)) ||
        wb_err_arg(err, 4, check_scores(logits, scores, err)))
        return err ? err->code : WB_EINVAL;
    int64_t n = logits->shape[0], C = logits->shape[1];
    size_t need = (size_t)(n * C);
    if (!ce->grad || need > ce->cap) {
        int64_t len = (int64_t)need;
        wb_tensor *g = wb_tensor_new(WB_F32, 1, &len, err);
        if (!g)
            return err ? err->code : WB_ENOMEM;
        wb_tensor_free(ce->grad);
        ce->grad = g;
        ce->cap = need;
    }
    const float *z = wb_tensor_f32(logits);
    float *g = wb_tensor_f32(ce->grad);
    const uint8_t *t8 = labels->dtype == WB_U8 ? wb_tensor_u8(labels) : NULL;
    const float *tf = labels->dtype == WB_U8 ? NULL : wb_tensor_f32(labels);
    float inv_n = 1.0f / (float)n;
    double total = 0;
    int64_t hits = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *restrict zr = z + i * C;
        float *restrict gr = g + i * C;
        int64_t label = t8 ? (int64_t)t8[i] : (int64_t)tf[i];
        int64_t best = 0;
        float m = zr[0];
        for (int64_t j = 1; j < C; j++)
            if (zr[j] > m) {
                m = zr[j];
                best = j;
            }
        if (scores) { /* the first maximum of the scores' row instead */
            const float *sr = wb_tensor_f32(scores) + i * C;
            best = 0;
            for (int64_t j = 1; j < C; j++)
                if (sr[j] > sr[best])
                    best = j;
        }
        double s = 0;
        for (int64_t j = 0; j < C; j++) {
            gr[j] = expf(zr[j] - m);
            s += gr[j];
        }
        /* loss_i = log sum exp(z - m) + m - z_label */
        total += log(s) - ((double)zr[label] - (double)m);
        hits += best == label;
        float scale = (float)(1.0 / s) * inv_n;
        for (int64_t j = 0; j < C; j++)
            gr[j] *= scale;
        gr[label] -= inv_n;
    }
    ce->n_batch = n;
    ce->n_classes = C;
    *loss = total / (double)n;
    *correct = hits;
    return WB_OK;
}

wb_status wb_sce_backward(const wb_sce *ce, const wb_tensor **grad, wb_err *err)
{
    if (ce->n_batch < 0)
        return wb_err_set(err, WB_ESTATE, "backward called before forward");
    *grad = ce->grad;
    return WB_OK;
}
