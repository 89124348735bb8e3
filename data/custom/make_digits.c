/* make_digits.c - draws the custom test digits in data/custom/ (not MNIST).
 *
 * Each digit 0-9 is a few pen strokes (cubic Bezier segments in a 100x100
 * design box, y down) drawn with a round pen whose radius swells and
 * tapers along the stroke, after a per-file jitter of every control point,
 * a slant, a small rotation and a scale. Coverage is anti-aliased
 * analytically (distance to the flattened stroke minus the pen radius).
 * Each file is written with libpng in a different format (grey 1/8/16-bit,
 * grey+alpha, RGB, RGBA, palette with and without tRNS, interlaced),
 * dark-on-light or light-on-dark, at various sizes; the label is the first
 * character of the file name. Deterministic: the same binary writes the same
 * files. Not part of the workbench build.
 *
 *   cc -O2 -std=c11 -o /tmp/make_digits data/custom/make_digits.c \
 *      $(pkg-config --cflags --libs libpng) -lm && /tmp/make_digits data/custom
 */
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXSEG 8
#define MAXSTROKE 3

typedef struct { double x, y; } pt;
typedef struct { int nseg; pt p[1 + 3 * MAXSEG]; } stroke; /* p0, then c1 c2 end */
typedef struct { int nstroke; stroke s[MAXSTROKE]; } glyph;

/* The ten glyphs, as a hand would draw them (start point, then per segment
 * two control points and an end point). */
static const glyph GLYPHS[10] = {
    {1, {{4, {{52, 10}, {30, 8}, {19, 35}, {22, 58}, {24, 85}, {45, 96}, {58, 88},
              {75, 78}, {80, 45}, {74, 25}, {68, 8}, {52, 4}, {44, 15}}}}},
    {1, {{2, {{36, 26}, {42, 20}, {50, 14}, {56, 7}, {55, 35}, {52, 65}, {51, 93}}}}},
    {1, {{3, {{24, 28}, {27, 9}, {62, 2}, {70, 22}, {76, 40}, {45, 64}, {20, 90},
              {40, 85}, {62, 88}, {82, 89}}}}},
    {1, {{4, {{24, 16}, {44, 0}, {76, 8}, {68, 28}, {63, 42}, {50, 46}, {40, 47},
              {70, 45}, {82, 66}, {72, 81}, {62, 97}, {34, 95}, {21, 81}}}}},
    {2, {{2, {{52, 7}, {42, 30}, {30, 50}, {20, 64}, {40, 63}, {62, 62}, {82, 60}}},
         {1, {{64, 30}, {62, 52}, {61, 75}, {60, 96}}}}},
    {2, {{3, {{33, 11}, {31, 22}, {30, 34}, {28, 46}, {48, 32}, {80, 44}, {75, 70},
              {70, 96}, {34, 98}, {21, 83}}},
         {1, {{33, 11}, {46, 11}, {60, 9}, {74, 7}}}}},
    {1, {{3, {{69, 9}, {44, 12}, {21, 45}, {24, 70}, {27, 96}, {66, 98}, {72, 75},
              {77, 54}, {50, 44}, {26, 62}}}}},
    {1, {{2, {{20, 13}, {40, 12}, {60, 12}, {79, 10}, {62, 38}, {49, 64}, {43, 93}}}}},
    {1, {{4, {{68, 20}, {63, 4}, {29, 5}, {30, 23}, {31, 39}, {71, 49}, {72, 71},
              {74, 93}, {29, 96}, {28, 72}, {28, 55}, {69, 41}, {68, 20}}}}},
    {1, {{3, {{70, 24}, {65, 6}, {28, 7}, {27, 28}, {27, 49}, {63, 50}, {70, 24},
              {70, 55}, {66, 76}, {62, 95}}}}},
};

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double rnd(void) /* uniform [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double rnd_sym(double a) { return (2 * rnd() - 1) * a; }

/* ------------------------------------------------------------ drawing */

typedef struct canvas {
    int w, h;
    float *cov; /* [h * w] ink coverage in [0, 1] */
} canvas;

/* Placement of the 100x100 design box on the canvas. */
typedef struct pose {
    double cx, cy, scale, slant, angle, jitter, pen;
} pose;

static pt place(const pose *ps, pt p)
{
    double x = (p.x - 50) + ps->slant * (50 - p.y), y = p.y - 50;
    double c = cos(ps->angle), s = sin(ps->angle);
    return (pt){ps->cx + ps->scale * (c * x - s * y), ps->cy + ps->scale * (s * x + c * y)};
}

static pt bezier(pt a, pt b, pt c, pt d, double t)
{
    double u = 1 - t;
    return (pt){u * u * u * a.x + 3 * u * u * t * b.x + 3 * u * t * t * c.x + t * t * t * d.x,
                u * u * u * a.y + 3 * u * u * t * b.y + 3 * u * t * t * c.y + t * t * t * d.y};
}

/* Stamp a round-pen segment p->q with radii rp->rq (pixels) into cov. */
static void segment(canvas *cv, pt p, pt q, double rp, double rq)
{
    double r = fmax(rp, rq) + 1;
    int x0 = (int)floor(fmin(p.x, q.x) - r), x1 = (int)ceil(fmax(p.x, q.x) + r);
    int y0 = (int)floor(fmin(p.y, q.y) - r), y1 = (int)ceil(fmax(p.y, q.y) + r);
    double dx = q.x - p.x, dy = q.y - p.y, len2 = dx * dx + dy * dy;
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < cv->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < cv->w; x++) {
            double px = x + 0.5 - p.x, py = y + 0.5 - p.y;
            double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = px - t * dx, ey = py - t * dy;
            double d = sqrt(ex * ex + ey * ey) - (rp + t * (rq - rp));
            double c = 0.5 - d; /* 1 px anti-aliasing ramp */
            c = c < 0 ? 0 : c > 1 ? 1 : c;
            float *v = &cv->cov[y * cv->w + x];
            if (c > *v)
                *v = (float)c;
        }
}

static void draw_glyph(canvas *cv, const glyph *g, const pose *ps)
{
    for (int k = 0; k < g->nstroke; k++) {
        const stroke *s = &g->s[k];
        pt ctl[1 + 3 * MAXSEG];
        int n = 1 + 3 * s->nseg;
        for (int i = 0; i < n; i++) {
            pt j = {s->p[i].x + rnd_sym(ps->jitter), s->p[i].y + rnd_sym(ps->jitter)};
            ctl[i] = place(ps, j);
        }
        double pressure = 0.85 + rnd_sym(0.15);
        /* a slow hand tremor: two sines per axis, random phase */
        double fx = 2 + 3 * rnd(), fy = 2 + 3 * rnd(), ax = rnd_sym(1.2), ay = rnd_sym(1.2);
        double phx = 6.3 * rnd(), phy = 6.3 * rnd();
        int steps = 24 * s->nseg;
        pt prev = ctl[0];
        double rprev = 0;
        for (int i = 0; i <= steps; i++) {
            double u = (double)i / steps; /* along the whole stroke */
            int seg = i == steps ? s->nseg - 1 : i / 24;
            double t = i == steps ? 1 : (double)(i % 24) / 24;
            pt p = bezier(ctl[3 * seg], ctl[3 * seg + 1], ctl[3 * seg + 2],
                          ctl[3 * seg + 3], t);
            p.x += ps->scale * ax * sin(6.2832 * fx * u + phx);
            p.y += ps->scale * ay * sin(6.2832 * fy * u + phy);
            /* swell in the middle, taper at both ends, a little wobble */
            double r = ps->pen * pressure * (0.55 + 0.45 * sin(3.14159265358979 * u)) *
                       (1 + 0.08 * sin(17 * u + k));
            if (i > 0)
                segment(cv, prev, p, rprev, r);
            prev = p, rprev = r;
        }
    }
}

/* ------------------------------------------------------------ writing */

typedef struct look {
    double paper[3], ink[3]; /* RGB in [0, 1] */
    double noise;            /* paper texture amplitude */
} look;

typedef enum fmt { GREY1, GREY8, GREY16, GREYA8, RGB8, RGB16, RGBA8, RGBA16,
                   PAL4, PAL8_TRNS } fmt;

static double colour(const canvas *cv, const look *lk, int i, int c, double *noise)
{
    double a = cv->cov[i];
    return lk->paper[c] + noise[i] + a * (lk->ink[c] - lk->paper[c] - noise[i]);
}

static unsigned q(double v, unsigned max)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (unsigned)floor(v * max + 0.5);
}

static void put(png_bytep row, int depth, int idx, unsigned v)
{
    if (depth == 16) {
        row[2 * idx] = (png_byte)(v >> 8);
        row[2 * idx + 1] = (png_byte)v;
    } else if (depth == 8) {
        row[idx] = (png_byte)v;
    } else {
        int bit = idx * depth;
        row[bit / 8] |= (png_byte)(v << (8 - depth - bit % 8));
    }
}

static int write_file(const char *dir, const char *name, const canvas *cv,
                      const look *lk, fmt f, int interlace)
{
    static const int ctype[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY,
        PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
        PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA, PNG_COLOR_TYPE_RGB_ALPHA,
        PNG_COLOR_TYPE_PALETTE, PNG_COLOR_TYPE_PALETTE};
    static const int depths[] = {1, 8, 16, 8, 8, 16, 8, 16, 4, 8};
    static const int nch[] = {1, 1, 1, 2, 3, 3, 4, 4, 1, 1};
    int d = depths[f], ch = nch[f], n = cv->w * cv->h;
    unsigned max = (1u << d) - 1;
    int alpha = f == GREYA8 || f == RGBA8 || f == RGBA16 || f == PAL8_TRNS;
    double *noise = calloc((size_t)n, sizeof *noise);
    for (int i = 0; i < n; i++)
        noise[i] = alpha ? 0 : rnd_sym(lk->noise);
    size_t rowbytes = ((size_t)cv->w * ch * d + 7) / 8;
    png_bytep pix = calloc((size_t)cv->h, rowbytes);
    png_bytep *rows = malloc(sizeof *rows * (size_t)cv->h);
    for (int y = 0; y < cv->h; y++) {
        rows[y] = pix + (size_t)y * rowbytes;
        for (int x = 0; x < cv->w; x++) {
            int i = y * cv->w + x;
            double rgb[3], a = cv->cov[i];
            for (int c = 0; c < 3; c++)
                rgb[c] = alpha ? lk->ink[c] : colour(cv, lk, i, c, noise);
            double grey = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
            switch (f) {
            case GREY1: put(rows[y], d, x, grey > 0.5); break;
            case GREY8: case GREY16: put(rows[y], d, x, q(grey, max)); break;
            case GREYA8:
                put(rows[y], d, 2 * x, q(grey, max));
                put(rows[y], d, 2 * x + 1, q(a, max));
                break;
            case PAL4: case PAL8_TRNS: put(rows[y], d, x, q(a, max)); break;
            default:
                for (int c = 0; c < 3; c++)
                    put(rows[y], d, ch * x + c, q(rgb[c], max));
                if (ch == 4)
                    put(rows[y], d, ch * x + 3, q(a, max));
            }
        }
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        return 1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, 0, 0, 0);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "%s: libpng failed\n", path);
        return 1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)cv->w, (png_uint_32)cv->h, d, ctype[f],
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (f == PAL4 || f == PAL8_TRNS) { /* index = coverage level */
        png_color pal[256];
        png_byte trans[256];
        for (unsigned j = 0; j <= max; j++) {
            double a = (double)j / max;
            const double *bg = f == PAL8_TRNS ? lk->ink : lk->paper;
            pal[j].red = (png_byte)q(bg[0] + a * (lk->ink[0] - bg[0]), 255);
            pal[j].green = (png_byte)q(bg[1] + a * (lk->ink[1] - bg[1]), 255);
            pal[j].blue = (png_byte)q(bg[2] + a * (lk->ink[2] - bg[2]), 255);
            trans[j] = (png_byte)q(a, 255);
        }
        png_set_PLTE(png, info, pal, (int)max + 1);
        if (f == PAL8_TRNS)
            png_set_tRNS(png, info, trans, (int)max + 1, NULL);
    }
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(fp);
    free(rows);
    free(pix);
    free(noise);
    printf("%s %dx%d\n", path, cv->w, cv->h);
    return 0;
}

/* ------------------------------------------------------------ the set */

typedef struct job {
    const char *name;
    int digit, w, h, interlace;
    fmt f;
    int look;        /* index into LOOKS */
    double height;   /* digit height as a fraction of the canvas height */
} job;

static const look LOOKS[] = {
    {{1, 1, 1}, {0.05, 0.05, 0.08}, 0},           /* 0 black pen on white */
    {{1, 1, 1}, {0.10, 0.15, 0.55}, 0},           /* 1 blue ballpoint */
    {{0.96, 0.94, 0.86}, {0.35, 0.35, 0.38}, 0.02}, /* 2 pencil on cream paper */
    {{0.10, 0.22, 0.15}, {0.92, 0.93, 0.90}, 0.03}, /* 3 chalk on a green board */
    {{0, 0, 0}, {1, 1, 1}, 0},                    /* 4 white on black */
    {{0.98, 0.98, 0.98}, {0.55, 0.08, 0.08}, 0.01}, /* 5 red marker */
};

static const job JOBS[] = {
    {"0_grey8.png", 0, 96, 96, 0, GREY8, 0, 0.70},
    {"1_rgb_white.png", 1, 120, 160, 0, RGB8, 1, 0.75},
    {"2_rgba.png", 2, 140, 110, 0, RGBA8, 0, 0.80},
    {"3_grey16.png", 3, 200, 200, 0, GREY16, 2, 0.60},
    {"4_palette.png", 4, 72, 72, 0, PAL4, 5, 0.80},
    {"5_rgb_interlaced.png", 5, 150, 150, 1, RGB8, 1, 0.65},
    {"6_grey8_dark.png", 6, 80, 100, 0, GREY8, 4, 0.75},
    {"7_grey_alpha.png", 7, 64, 64, 0, GREYA8, 0, 0.80},
    {"8_palette_trns.png", 8, 128, 96, 1, PAL8_TRNS, 1, 0.85},
    {"9_rgb_paper.png", 9, 240, 180, 0, RGB8, 2, 0.70},
    {"4_rgb_chalk.png", 4, 160, 120, 0, RGB8, 3, 0.75},
    {"7_grey1.png", 7, 56, 56, 0, GREY1, 0, 0.75},
    {"2_rgba16_interlaced.png", 2, 90, 120, 1, RGBA16, 5, 0.70},
    {"0_rgb16_dark.png", 0, 110, 110, 0, RGB16, 3, 0.70},
};

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/custom";
    int rc = 0;
    for (size_t k = 0; k < sizeof JOBS / sizeof JOBS[0]; k++) {
        const job *jb = &JOBS[k];
        canvas cv = {jb->w, jb->h, calloc((size_t)jb->w * jb->h, sizeof(float))};
        double scale = jb->height * jb->h / 100.0;
        pose ps = {jb->w / 2.0 + rnd_sym(0.08 * jb->w), jb->h / 2.0 + rnd_sym(0.05 * jb->h),
                   scale * (0.95 + rnd_sym(0.05)), 0.12 + rnd_sym(0.12),
                   rnd_sym(0.08), 3.5, scale * (6.5 + rnd_sym(2.0))};
        draw_glyph(&cv, &GLYPHS[jb->digit], &ps);
        rc |= write_file(dir, jb->name, &cv, &LOOKS[jb->look], jb->f, jb->interlace);
        free(cv.cov);
    }
    return rc;
}
