/* hvp_pass.h - the passes of core/hvp.c for one precision (no include guard:
 * hvp.c includes it twice, with R = float, SFX(n) = n##_f32, GEMM =
 * wb_sgemm, SPARSE = 1, and with R = double, n##_f64, wb_dgemm, SPARSE = 0).
 * With SPARSE, the first Dense's products read its input's non-zeros when
 * at most half of the chunk's inputs are non-zero (core/hvp_sparse.h).
 *
 * Legend: n = rows of the chunk, I/O = a layer's widths in/out, a = a
 * point's value, g = dL/da, ra = R{a}, rg = R{g}; z the pre-activation,
 * d1/d2 = f'(z), f''(z). Each pass has its R twin beside it:
 *   element-wise  y = f(z)              R{y} = f'(z) R{z}
 *                 gz = f'(z) gy         R{gz} = f'(z) R{gy} + f''(z) gy R{z}
 *   Dense         z = a W + b           R{z} = R{a} W + a V + Vb
 *                 dW = a^T gz           R{dW} = R{a}^T gz + a^T R{gz}
 *                 ga = gz W^T           R{ga} = R{gz} W^T + gz V^T
 *   softmax CE    g = (p - onehot) / N  R{g} = p (R{z} - <p, R{z}>) / N
 *                 (<p, R{z}> shifted by the likeliest class: loss_rforward)
 *   mse           g = 2 (y - t) / (N C) R{g} = 2 R{y} / (N C)
 * Parameter sums over rows are added into double vectors.
 */

/* ---------------------------------------------------------------------------
 * Element-wise stage */

static void SFX(ew_forward)(wb_act act, R *restrict y, R *restrict d1, R *restrict d2,
                            const R *restrict z, size_t cnt)
{
    for (size_t k = 0; k < cnt; k++) {
        double v = (double)z[k], e1, e2;
        wb_act_ref_d12(act, v, &e1, &e2);
        y[k] = (R)wb_act_ref(act, v);
        d1[k] = (R)e1;
        d2[k] = (R)e2;
    }
}

static void SFX(ew_rforward)(R *restrict ry, const R *restrict d1, const R *restrict rz,
                             size_t cnt)
{
    for (size_t k = 0; k < cnt; k++)
        ry[k] = d1[k] * rz[k];
}

static void SFX(ew_backward)(R *restrict gz, const R *restrict gy, const R *restrict d1,
                             size_t cnt)
{
    for (size_t k = 0; k < cnt; k++)
        gz[k] = gy[k] * d1[k];
}

static void SFX(ew_rbackward)(R *restrict rgz, const R *restrict rgy,
                              const R *restrict gy, const R *restrict rz,
                              const R *restrict d1, const R *restrict d2, size_t cnt)
{
    for (size_t k = 0; k < cnt; k++)
        rgz[k] = rgy[k] * d1[k] + d2[k] * gy[k] * rz[k];
}

/* ---------------------------------------------------------------------------
 * Input: point 0 <- rows [r0, r0 + n) of x (uint8 divided by 255 as Flatten does) */

static void SFX(load)(wb_hvp *h, int64_t r0, int64_t n)
{
    R *a = h->pts[0].a;
    int64_t w = h->pts[0].w;
    size_t cnt = (size_t)(n * w), at = (size_t)(r0 * w);
    if (h->x->dtype == WB_U8) {
        const uint8_t *s = wb_tensor_u8(h->x) + at;
        for (size_t k = 0; k < cnt; k++)
            a[k] = (R)wb_pixel_f32(s[k]);
    } else {
        const float *s = wb_tensor_f32(h->x) + at;
        for (size_t k = 0; k < cnt; k++)
            a[k] = (R)s[k];
    }
}

/* ---------------------------------------------------------------------------
 * Dense and Activation, forward and backward */

static void SFX(forward)(wb_hvp *h, int64_t n)
{
    const R *theta = h->theta;
    for (int k = 0; k < h->n; k++) {
        hl *l = &h->L[k];
        pt *pi = &h->pts[l->in], *po = &h->pts[l->out];
        size_t cnt = (size_t)(n * l->O);
        if (l->kind == WB_HVP_DENSE) {
            const R *W = theta + l->off, *b = W + l->I * l->O;
#if SPARSE
            if (k == h->first && h->sp_allow) { /* the input's non-zeros, once */
                h->sp_on = wb_hvp_csc(h->sp_start, h->sp_row, h->sp_val, h->sp_rs,
                                      h->sp_ci, h->sp_cv, pi->a, n, l->I) * 2 <= n * l->I;
                if (h->sp_on)
                    wb_hvp_pairs(h->sp_ps, h->sp_prow, h->sp_pa, h->sp_pb, h->sp_tmp,
                                 h->sp_rs, h->sp_ci, h->sp_cv, n, l->I);
            }
            if (k == h->first && h->sp_on)
                wb_hvp_pairs_xw(l->z, h->sp_ps, h->sp_prow, h->sp_pa, h->sp_pb, n, l->I, W,
                                l->O);
            else
#endif
                GEMM(0, 0, n, l->O, l->I, 1, pi->a, l->I, W, l->O, 0, l->z, l->O);
            if (l->use_bias)
                for (int64_t i = 0; i < n; i++)
                    for (int64_t j = 0; j < l->O; j++)
                        ((R *)l->z)[i * l->O + j] += b[j];
        }
        if (l->elem)
            SFX(ew_forward)(l->act, po->a, l->d1, l->d2, l->z, cnt);
    }
}

/* g of the last point is set; gz and g of every point below, and with grad,
 * the parameter gradient (added into grad). */
static void SFX(backward)(wb_hvp *h, int64_t n, double *grad)
{
    R *tmp = h->tmp;
    for (int k = h->n - 1; k >= 0; k--) {
        hl *l = &h->L[k];
        pt *pi = &h->pts[l->in], *po = &h->pts[l->out];
        if (l->kind == WB_HVP_IDENTITY || !po->g)
            continue;
        size_t cnt = (size_t)(n * l->O);
        if (l->elem)
            SFX(ew_backward)(l->gz, po->g, l->d1, cnt);
        if (l->kind != WB_HVP_DENSE)
            continue;
        const R *W = (const R *)h->theta + l->off;
        const R *gz = l->gz;
        if (grad) {
            size_t nw = (size_t)(l->I * l->O);
#if SPARSE
            if (k == h->first && h->sp_on)
                wb_hvp_csc_xtg(grad + l->off, 0, h->sp_start, h->sp_row, h->sp_val, l->I,
                               gz, l->O, tmp);
            else
#endif
            {
                GEMM(1, 0, l->I, l->O, n, 1, pi->a, l->I, gz, l->O, 0, tmp, l->O);
                for (size_t q = 0; q < nw; q++)
                    grad[l->off + (int64_t)q] += (double)tmp[q];
            }
            if (l->use_bias)
                for (int64_t i = 0; i < n; i++)
                    for (int64_t j = 0; j < l->O; j++)
                        grad[l->off + (int64_t)nw + j] += (double)gz[i * l->O + j];
        }
        if (pi->g)
            GEMM(0, 1, n, l->I, l->O, 1, gz, l->O, W, l->O, 0, pi->g, l->I);
    }
}

/* ---------------------------------------------------------------------------
 * R passes: V = h->vr (v in this precision) */

static void SFX(rforward)(wb_hvp *h, int64_t n)
{
    const R *theta = h->theta, *vr = h->vr;
    for (int k = 0; k < h->n; k++) {
        hl *l = &h->L[k];
        pt *pi = &h->pts[l->in], *po = &h->pts[l->out];
        size_t cnt = (size_t)(n * l->O);
        if (l->kind == WB_HVP_DENSE) {
            const R *W = theta + l->off, *V = vr + l->off, *vb = V + l->I * l->O;
            R *rz = l->rz;
#if SPARSE
            if (k == h->first && h->sp_on)
                wb_hvp_pairs_xw(rz, h->sp_ps, h->sp_prow, h->sp_pa, h->sp_pb, n, l->I, V,
                                l->O);
            else
#endif
                GEMM(0, 0, n, l->O, l->I, 1, pi->a, l->I, V, l->O, 0, rz, l->O);
            if (pi->ra)
                GEMM(0, 0, n, l->O, l->I, 1, pi->ra, l->I, W, l->O, 1, rz, l->O);
            if (l->use_bias)
                for (int64_t i = 0; i < n; i++)
                    for (int64_t j = 0; j < l->O; j++)
                        rz[i * l->O + j] += vb[j];
        }
        if (l->elem && po->ra)
            SFX(ew_rforward)(po->ra, l->d1, l->rz, cnt);
    }
}

/* hv (+)= this chunk's part of H v (set: hv is written, every entry); with
 * hvf (float32 only, one chunk), H v is written there in float instead,
 * L2's term included when dot (else NULL), and *dot = v . H v, each
 * layer's part summed as soon as it is written */
static void SFX(rbackward)(wb_hvp *h, int64_t n, double *hv, int set, float *hvf,
                           double *dot)
{
    R *tmp = h->tmp;
    const R *theta = h->theta, *vr = h->vr;
    for (int k = h->n - 1; k >= 0; k--) {
        hl *l = &h->L[k];
        pt *pi = &h->pts[l->in], *po = &h->pts[l->out];
        if (l->kind == WB_HVP_IDENTITY || !po->g)
            continue;
        size_t cnt = (size_t)(n * l->O);
        if (l->elem)
            SFX(ew_rbackward)(l->rgz, po->rg, po->g, l->rz, l->d1, l->d2, cnt);
        if (l->kind != WB_HVP_DENSE)
            continue;
        const R *W = theta + l->off, *V = vr + l->off;
        const R *gz = l->gz, *rgz = l->rgz;
        size_t nw = (size_t)(l->I * l->O);
#if SPARSE
        if (hvf) { /* the same sums, straight into float */
            float *out = hvf + l->off, l2 = (float)(2 * l->l2);
            const float *vo = (const float *)vr + l->off;
            if (k == h->first && h->sp_on)
                wb_hvp_csc_xtg_f32(out, h->sp_start, h->sp_row, h->sp_val, l->I, rgz, l->O,
                                   vo, l2, dot, dot != NULL);
            else {
                GEMM(1, 0, l->I, l->O, n, 1, pi->a, l->I, rgz, l->O, 0, out, l->O);
                if (pi->ra)
                    GEMM(1, 0, l->I, l->O, n, 1, pi->ra, l->I, gz, l->O, 1, out, l->O);
                if (dot)
                    *dot += wb_hvp_vdot(out, vo, l2, (int64_t)nw);
            }
            if (l->use_bias) {
                float *ob = out + nw;
                memset(ob, 0, (size_t)l->O * sizeof *ob);
                for (int64_t i = 0; i < n; i++)
                    for (int64_t j = 0; j < l->O; j++)
                        ob[j] += rgz[i * l->O + j];
                if (dot)
                    *dot += wb_hvp_vdot(ob, vo + nw, 0, l->O);
            }
        } else {
            if (k == h->first && h->sp_on) /* no R{a}: the input's */
                wb_hvp_csc_xtg(hv + l->off, set, h->sp_start, h->sp_row, h->sp_val, l->I,
                               rgz, l->O, tmp);
            else
#else
        (void)hvf, (void)dot;
        {
#endif
            {
                GEMM(1, 0, l->I, l->O, n, 1, pi->a, l->I, rgz, l->O, 0, tmp, l->O);
                if (pi->ra)
                    GEMM(1, 0, l->I, l->O, n, 1, pi->ra, l->I, gz, l->O, 1, tmp, l->O);
                double *out = hv + l->off;
                if (set)
                    for (size_t q = 0; q < nw; q++)
                        out[q] = (double)tmp[q];
                else
                    for (size_t q = 0; q < nw; q++)
                        out[q] += (double)tmp[q];
            }
            if (l->use_bias && set)
                memset(hv + l->off + (int64_t)nw, 0, (size_t)l->O * sizeof *hv);
            if (l->use_bias)
                for (int64_t i = 0; i < n; i++)
                    for (int64_t j = 0; j < l->O; j++)
                        hv[l->off + (int64_t)nw + j] += (double)rgz[i * l->O + j];
        }
        if (pi->rg) {
            GEMM(0, 1, n, l->I, l->O, 1, rgz, l->O, W, l->O, 0, pi->rg, l->I);
            GEMM(0, 1, n, l->I, l->O, 1, gz, l->O, V, l->O, 1, pi->rg, l->I);
        }
    }
}

/* ---------------------------------------------------------------------------
 * Loss: value and g of the last point, and its R twin */

/* Sum over the chunk's rows of their loss; g of the last point. */
static double SFX(loss_forward)(wb_hvp *h, int64_t r0, int64_t n)
{
    pt *o = &h->pts[h->L[h->n - 1].out];
    int64_t C = o->w;
    const R *a = o->a;
    R *g = o->g;
    double total = 0, inv = 1.0 / (double)h->N;
    if (h->loss == WB_HVP_MSE) {
        const float *t = wb_tensor_f32(h->y) + r0 * C;
        double s = 2.0 / ((double)h->N * (double)C);
        for (size_t k = 0; k < (size_t)(n * C); k++) {
            double e = (double)a[k] - (double)t[k];
            total += e * e / (double)C;
            g[k] = (R)(s * e);
        }
        return total;
    }
    R *p = h->prob;
    for (int64_t i = 0; i < n; i++) {
        const R *zr = a + i * C;
        R *pr = p + i * C, *gr = g + i * C;
        double m = (double)zr[0], s = 0;
        for (int64_t j = 1; j < C; j++)
            m = (double)zr[j] > m ? (double)zr[j] : m;
        for (int64_t j = 0; j < C; j++)
            s += exp((double)zr[j] - m);
        int32_t t = h->labels[r0 + i];
        total += log(s) + m - (double)zr[t];
        int64_t c = 0; /* the likeliest class, on the stored (rounded) p */
        for (int64_t j = 0; j < C; j++) {
            double pj = exp((double)zr[j] - m) / s;
            pr[j] = (R)pj;
            gr[j] = (R)((pj - (j == t)) * inv);
            c = pr[j] > pr[c] ? j : c;
        }
        h->cls[i] = (int32_t)c;
    }
    return total;
}

static void SFX(loss_rforward)(wb_hvp *h, int64_t n)
{
    pt *o = &h->pts[h->L[h->n - 1].out];
    int64_t C = o->w;
    const R *ra = o->ra;
    R *rg = o->rg;
    if (h->loss == WB_HVP_MSE) {
        R s = (R)(2.0 / ((double)h->N * (double)C));
        for (size_t k = 0; k < (size_t)(n * C); k++)
            rg[k] = s * ra[k];
        return;
    }
    /* R{z}_j - <p, R{z}> = (R{z}_j - R{z}_c) - sum_k p_k (R{z}_k - R{z}_c), c the
     * most likely class (sum_k p_k = 1): at j = c no R{z}_c - <p, R{z}> cancels,
     * which with p_c near 1 is all rounding (1 - p_c = sum_{k != c} p_k). In
     * double: 2 C subtractions a row more; c is loss_forward's (p is fixed). */
    const R *p = h->prob;
    double inv = 1.0 / (double)h->N;
    for (int64_t i = 0; i < n; i++) {
        const R *pr = p + i * C, *rr = ra + i * C;
        int64_t c = h->cls[i];
        double rc = (double)rr[c], dot = 0;
        for (int64_t j = 0; j < C; j++)
            dot += (double)pr[j] * ((double)rr[j] - rc);
        for (int64_t j = 0; j < C; j++)
            rg[i * C + j] = (R)((double)pr[j] * (((double)rr[j] - rc) - dot) * inv);
    }
}

/* theta <- t, v (double) -> vr */
static void SFX(to_real)(R *restrict dst, const double *restrict src, int64_t cnt)
{
    for (int64_t k = 0; k < cnt; k++)
        dst[k] = (R)src[k];
}
