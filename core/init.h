/* init.h - weight initializers with Keras semantics.
 *
 * keras/src/initializers/random_initializers.py (VarianceScaling family):
 *   glorot_uniform  U(-l, l), l = sqrt(6 / (fan_in + fan_out))   (default)
 *   glorot_normal   truncated N(0, s), s = sqrt(2 / (fan_in + fan_out)) / .8796
 *   he_uniform      U(-l, l), l = sqrt(6 / fan_in)
 *   he_normal       truncated N(0, s), s = sqrt(2 / fan_in) / .8796
 *   lecun_uniform   U(-l, l), l = sqrt(3 / fan_in)
 *   lecun_normal    truncated N(0, s), s = sqrt(1 / fan_in) / .8796
 *   uniform         U(-0.05, 0.05)       (RandomUniform defaults)
 *   normal          N(0, 0.05)           (RandomNormal defaults, not truncated)
 *   zeros, ones
 * "Truncated" re-draws values beyond 2 standard deviations; .87962566103423978
 * is the std of a unit normal truncated to [-2, 2], which Keras divides out
 * so the result has the intended variance. For a kernel [n_in, n_out],
 * fan_in = n_in and fan_out = n_out. Draws come from the given generator in
 * row-major order, so a seed fixes every weight.
 */
#ifndef WB_INIT_H
#define WB_INIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rng.h"

typedef enum wb_init {
    WB_INIT_GLOROT_UNIFORM = 0,
    WB_INIT_GLOROT_NORMAL,
    WB_INIT_HE_UNIFORM,
    WB_INIT_HE_NORMAL,
    WB_INIT_LECUN_UNIFORM,
    WB_INIT_LECUN_NORMAL,
    WB_INIT_UNIFORM,
    WB_INIT_NORMAL,
    WB_INIT_ZEROS,
    WB_INIT_ONES,
    WB_INIT_COUNT
} wb_init;

const char *wb_init_name(wb_init k);
/* Name -> enum; NULL means glorot_uniform. Unknown: WB_EINVAL "init: unknown
 * 'x' (valid: glorot_uniform, ...)". */
wb_status wb_init_parse(const char *name, wb_init *out, wb_err *err);
/* Fill w[n] for a layer with the given fans. Cannot fail. */
void wb_init_fill(wb_init k, float *w, size_t n, int64_t fan_in, int64_t fan_out,
                  wb_rng *rng);

#endif
