/* imgproc.h - small grey-image operations and the MNIST preprocessing recipe.
 *
 * What it is: resampling (area / bilinear), invert, crop, bounding box,
 * centre of mass, grey -> RGB stacking, and wb_img_to_mnist, which turns a
 * digit photo or drawing into a [1, 784] input the way MNIST was made.
 * What it is not: a general image library (no colour, no rotation, no
 * deskewing). Images are float32 [h, w], row-major, values nominally in
 * [0, 1]. Coordinates are 0-based here; pixel (y, x) has its centre at
 * (y, x), so the centre of mass of a single lit pixel is its index.
 * Every function returns a new tensor (or a status) and fills err on
 * failure: WB_ESHAPE for a non-image, WB_ERANGE for bad sizes.
 */
#ifndef WB_IMGPROC_H
#define WB_IMGPROC_H

#include <stdint.h>

#include "err.h"
#include "tensor.h"

/* MNIST geometry: the digit's longer side is scaled to WB_MNIST_BOX pixels
 * and its intensity centre of mass is put at (WB_MNIST_CENTRE,
 * WB_MNIST_CENTRE) of a WB_MNIST_SIDE square. The mean centre of mass of
 * the 10k MNIST test digits is (13.99, 14.01) in these coordinates. */
#define WB_MNIST_SIDE 28
#define WB_MNIST_BOX 20
#define WB_MNIST_CENTRE 14.0
/* Crop level: pixels above this fraction of the maximum (after background
 * removal) define the bounding box. */
#define WB_MNIST_CROP_LEVEL 0.1f
/* The box is that of the ink's large parts: 8-connected parts of the
 * pixels above the crop level holding at least WB_MNIST_PART_MIN of the
 * ink's mass, plus the smaller parts that touch that box grown by
 * WB_MNIST_PART_MARGIN of its longer side (at least 1 px); far specks and
 * noise are left out of the box. */
#define WB_MNIST_PART_MIN 0.02
#define WB_MNIST_PART_MARGIN 0.1
/* Largest side accepted by resize (as for PNG files). */
#define WB_IMG_MAX_SIDE 16384

typedef enum wb_resample {
    WB_RESAMPLE_AREA = 0,  /* box filter: each output pixel is the mean of
                              the source area it covers (anti-aliased) */
    WB_RESAMPLE_BILINEAR   /* pixel centres aligned, edges clamped */
} wb_resample;

/* Resample img [h, w] to [out_h, out_w] (each 1 .. WB_IMG_MAX_SIDE).
 * Separable; area weights are the overlap of source pixel j, [j, j+1),
 * with the output pixel's source interval [i s, (i+1) s), s = in / out. */
wb_tensor *wb_img_resize(const wb_tensor *img, int64_t out_h, int64_t out_w,
                         wb_resample method, wb_err *err);

/* 1 - x for every pixel (any float32 tensor). */
wb_tensor *wb_img_invert(const wb_tensor *img, wb_err *err);

/* Copy of rows [y, y + h) and columns [x, x + w) of img; must lie inside. */
wb_tensor *wb_img_crop(const wb_tensor *img, int64_t y, int64_t x, int64_t h,
                       int64_t w, wb_err *err);

/* Bounding box {y, x, h, w} of the pixels strictly above `level`; WB_EINVAL
 * ("no pixel above ...") when there is none, box untouched. */
wb_status wb_img_bbox(const wb_tensor *img, float level, int64_t box[4],
                      wb_err *err);

/* Intensity-weighted centre (sum v*y / sum v, sum v*x / sum v); negative
 * values count as 0. WB_EINVAL when the image has no positive pixel. */
wb_status wb_img_centre_of_mass(const wb_tensor *img, double *cy, double *cx,
                                wb_err *err);

/* Stack three grey [h, w] images into RGB [h, w, 3]; g and b may be NULL
 * (then r is repeated: a grey picture in an RGB file). */
wb_tensor *wb_img_rgb(const wb_tensor *r, const wb_tensor *g,
                      const wb_tensor *b, wb_err *err);

/* Intermediate images of wb_img_to_mnist, all owned by the struct
 * (wb_mnist_steps_free releases them; NULL-safe on fields). */
typedef struct wb_mnist_steps {
    wb_tensor *inverted; /* [h, w]: ink bright on black, background removed,
                            max 1 */
    wb_tensor *cropped;  /* [bh, bw]: bounding box of pixels > 0.1 */
    wb_tensor *scaled;   /* [sh, sw]: longer side 20 */
    wb_tensor *centred;  /* [28, 28]: centre of mass at (14, 14), max 1 */
    int light_background;  /* 1 when the input was dark ink on light paper */
    float background;      /* border median after inversion, subtracted */
    int64_t bbox[4];       /* {y, x, h, w} of the crop in the input */
    int64_t offset[2];     /* {y, x} where `scaled` sits in `centred` */
} wb_mnist_steps;

void wb_mnist_steps_free(wb_mnist_steps *s);

/* The MNIST recipe, for any grey float32 [h, w] image (h, w >= 1):
 * (1) the median of the border pixels decides the background: above 0.5
 *     the image is inverted so ink is bright on black; then that border
 *     median (the paper's level) is subtracted and the result divided by
 *     (ink max - background), clamped to [0, 1]. The ink max is the
 *     brightest pixel inside the box of step (2) (found first with the
 *     K-th brightest pixel of the image, K = pixels / 400 in 1..16), so a
 *     black speck outside the digit does not set the scale; when the box
 *     holds the image's maximum this is the maximum, as in MNIST;
 * (2) crop to the bounding box of the ink: pixels above
 *     WB_MNIST_CROP_LEVEL, without the small parts away from the digit
 *     (WB_MNIST_PART_MIN, WB_MNIST_PART_MARGIN: a dust speck in a corner
 *     does not stretch the box); no thresholding of the pixels themselves,
 *     and a speck inside the box stays;
 * (3) scale so the longer side is 20 px, keeping the aspect ratio (the
 *     shorter side is rounded, at least 1): area resampling when
 *     shrinking, bilinear when enlarging;
 * (4) paste into a black 28x28 at the integer offset round(14 - com) per
 *     axis (no sub-pixel shift, so no extra blur), clamped so the digit
 *     stays inside;
 * (5) divide by the maximum, so the brightest pixel is 1 as in MNIST.
 * Returns a new float32 [1, 784]. steps, when not NULL, receives the
 * intermediates (caller frees with wb_mnist_steps_free; zeroed on
 * failure). WB_EINVAL "no digit found" when the image has no contrast
 * (max - background < 0.02). */
wb_tensor *wb_img_to_mnist(const wb_tensor *img, wb_mnist_steps *steps,
                           wb_err *err);

#endif
