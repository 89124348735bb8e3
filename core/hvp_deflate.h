/* hvp_deflate.h - the check after wb_hvp_eigs (core/hvp_eig.c) converged on
 * k > 1 pairs: are there copies it missed?
 *
 * One start vector sees one vector of each eigenspace: when the Krylov space
 * does not end early (no breakdown, so no restart), the copies of a repeated
 * eigenvalue, and the near copies of a tight cluster, lie outside it, and the
 * k-th Ritz value converges to a smaller eigenvalue (an audit of 1600 tiny
 * models: 14.44 x2 returned as 14.44, 14.00, converged). So Lanczos runs
 * again on the operator with the k Ritz vectors projected out (every new
 * vector orthogonalised against them and its own basis, twice), from a fixed
 * hash-made direction (hvp_restart.h, streams WB_DEFLATE_R + pass: no random
 * number is drawn). If its top Ritz value, converged, lies above the k-th
 * value by more than tol / 100 times the largest |value|, it is a missed
 * eigenvalue: its pair takes its place in the top k (the last one leaves)
 * and the check runs again, at most k passes. (ARPACK's implicit restarts
 * and block Lanczos guard against the same; a deflated pass is the cheap
 * form: the first run's values stay bit-identical when nothing is missed.)
 */
#ifndef WB_HVP_DEFLATE_H
#define WB_HVP_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hvp.h"

/* the restart streams of the passes: far from wb_hvp_eigs' own (0, 1, ...) */
#define WB_DEFLATE_R 0x100000000u

/* Work space (doubles, from the start of wb_hvp_work's) of a pass of at most
 * m steps on a block of count of the P parameters. */
size_t wb_deflate_need(int64_t P, int64_t count, int m);

/* values [k] (largest first) and Y [k, count] (their orthonormal Ritz
 * vectors, not in the engine's work space below wb_deflate_need(P, count,
 * min(budget, count - k))): the first run's, on return the checked top k.
 * At most budget products (*used: how many). *ok 1 when the last pass found
 * nothing above the k-th value (or no direction is left), 0 when the budget
 * or the k passes ran out first. Errors: WB_ENOMEM, failures of
 * wb_hvp_apply, of the tridiagonal eigensolver. */
wb_status wb_hvp_deflate(wb_hvp *h, int64_t first, int64_t count, int k, double tol,
                         int budget, double *values, double *Y, int *used, int *ok,
                         wb_err *err);

#endif
