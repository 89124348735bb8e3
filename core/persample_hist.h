/* persample_hist.h - what persample_hist.c shares with persample_hist_grid.c
 * (not part of the public API): the bins, their edges and the counts. */
#ifndef WB_PERSAMPLE_HIST_H
#define WB_PERSAMPLE_HIST_H

#include <math.h>
#include <stdint.h>

/* The bin of e: equal bins over [lo, hi) (inv = nbins / (hi - lo)), the
 * outside into the end bins; truncation is floor for f >= 0. */
static inline int bin_of(double e, double lo, double inv, int nbins)
{
    double f = (e - lo) * inv;
    if (!(f >= 0)) /* also NaN: counted, in the first bin */
        return 0;
    return f >= nbins ? nbins - 1 : (int)f;
}

/* E_b: the smallest double e with bin_of(e) >= b (0 < b < nbins; +inf
 * when none is). */
double wb_hist_edge_of(int b, double lo, double w, double inv, int nbins);

/* The per-call state: bins, their edges (E_b found on first use, NaN
 * before) and the counts, kept as integers until the end. The bin counts
 * are a difference array: with D = cnt (one array, then four copies, all
 * summed) and X = x (four copies summed; X[0] = X[nbins] = 0), bin b
 * holds D[b] + X[b] - X[b + 1]. An output whose n entries lie in bins lo
 * .. hi adds n to D[lo] and, for each edge b in (lo, hi], its entries >=
 * E_b to X[b]: no running total from edge to edge. Counts that are known
 * bin by bin go to D alone. */
typedef struct hist_ctx {
    int64_t *cnt; /* [9 nbins] */
    int64_t *x; /* [4 nbins]: X[b] = x[4 b] + .. + x[4 b + 3] */
    double *edge; /* [nbins + 1] */
    double lo, w, inv;
    int nbins;
} hist_ctx;

static inline double edge(hist_ctx *h, int b)
{
    if (isnan(h->edge[b]))
        h->edge[b] = wb_hist_edge_of(b, h->lo, h->w, h->inv, h->nbins);
    return h->edge[b];
}

/* D[b] += w for each j < O with x[j] = y[j] = b, b0 .. b1 the range of
 * x: by byte counters in vector lanes when the bins are fewer than 33 and
 * the outputs 32 or more (the counters past b1 add 0 to the copies after
 * D), else one add an output to the copies from `copy` on, four in turn. */
void wb_hist_tally(hist_ctx *h, int copy, const int32_t *x, const int32_t *y, int64_t O, int b0,
                   int b1, int64_t w);

/* Rows whose non-zero inputs are 8-bit pixels, counted by key
 * (persample_hist_grid.c). */
typedef struct grid {
    uint32_t *bits; /* [256] the float of key k as bits, 0 before one is seen */
    double *V; /* [257] s times key k's float (or stand-in): monotone in k */
    int32_t *S; /* [258] the row's inputs of key k or above (kmin .. kmax + 1) */
    int32_t *c4; /* [4 * 256] a row's counts by key, four copies; 0 outside rows */
    int32_t *pj, *pb; /* [O (nbins - 1) + 8] each: a row's (output, edge) pairs */
    int32_t *ge; /* [the same] their counts */
    int32_t *nonfin; /* [O] the outputs of a non-finite d */
    int64_t n; /* the row's non-zero inputs */
    int kmin, kmax; /* its smallest and largest key */
    double s;
} grid;

/* The grid's int32 scratch for O outputs and nbins bins. */
#define WB_GRID_INTS(O, nbins) (256 + 258 + 4 * 256 + 3 * ((O) * ((nbins)-1) + 8) + (O))
/* ... and doubles. */
#define WB_GRID_DOUBLES 257

/* Whether a row's n non-zero inputs f look like 8-bit pixels (each within
 * 2^-10 of k / 255, k in 1 .. 255): worth setting up a grid for. */
int wb_hist_grid_plausible(const float *f, int64_t n);

/* Lays g out in ints [WB_GRID_INTS] and dbl [WB_GRID_DOUBLES] for a call of
 * scale s (finite). */
void wb_hist_grid_begin(grid *g, int32_t *ints, double *dbl, int64_t O, int nbins, double s);

/* Takes a row's n > 0 non-zero inputs f into g's tables (key [n]:
 * scratch); 0 (nothing taken) when the row is off the grid. */
int wb_hist_grid_row(grid *g, const float *f, int64_t n, int32_t *key);

/* Counts the row taken last by wb_hist_grid_row against its O gradients d
 * (lo, hi [O]: the bins of each output's smallest and largest entries;
 * bb [O] the bias's, added when bias; e [7]: persample_hist.c's ends's,
 * elo = e[0], ehi = e[1] the least lo and the largest hi of the outputs
 * with lo < hi). */
void wb_hist_grid_count(hist_ctx *h, grid *g, const float *d, int64_t O, const int32_t *lo,
                        const int32_t *hi, const int32_t *bb, int bias, const int32_t *e);

#endif
