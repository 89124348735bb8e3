/* persample_impl.h - what persample.c shares with persample_hist.c (not
 * part of the public API). */
#ifndef WB_PERSAMPLE_IMPL_H
#define WB_PERSAMPLE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "persample.h"

/* p's doubles scratch, at least n (grown once; the old contents dropped);
 * NULL with err filled (WB_ENOMEM) when growing fails. */
double *wb_persample_dscratch(wb_persample *p, size_t n, wb_err *err);

/* The non-zeros of x [n] (NaN counts as one): their columns into idx and
 * values into val (n cells each), ascending; returns how many
 * (persample_cross.c; 16 lanes at a time in the AVX-512 copy). */
int wb_persample_nonzeros(int32_t *restrict idx, float *restrict val, const float *restrict x,
                          int64_t n);

#endif
