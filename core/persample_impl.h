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

/* p's bin edges E_b [nbins + 1] for nbins bins over [lo, hi) (persample_hist.h
 * edge: NaN until found), kept from call to call while the bins stay the
 * same: each edge is a bisection over the doubles, found once a fit, not
 * once a call. NULL with err filled (WB_ENOMEM) when growing fails. */
double *wb_persample_edges(wb_persample *p, int nbins, double lo, double hi, wb_err *err);

#endif
