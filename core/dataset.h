/* dataset.h - gathering minibatches from uint8 image sets.
 *
 * Datasets stay uint8 in memory (MNIST's 60k training images are 47 MB,
 * not 188 MB as float); a batch is gathered and scaled to [0, 1] float32
 * into a buffer the caller owns and reuses, so a training step allocates
 * nothing. Legend: n = images in the set, d = pixels per image, k = batch.
 */
#ifndef WB_DATASET_H
#define WB_DATASET_H

#include "tensor.h"

/* Rows idx[first .. first+count) (idx holds 1-based row numbers as float,
 * e.g. a permutation from wb.randperm) of images [n, ...] (uint8 or float)
 * into x [>= count, d] (float, wb_pixels_to_f32 for uint8) and of labels [n]
 * (uint8) into y [>= count] (uint8). Checks every index before writing. */
wb_status wb_dataset_gather(wb_tensor *x, wb_tensor *y, const wb_tensor *images,
                            const wb_tensor *labels, const wb_tensor *idx,
                            int64_t first, int64_t count, wb_err *err);

/* dst [n] = src [n] / 255 in float32, correctly rounded: what numpy's
 * x.astype("float32") / 255 (Keras's MNIST example) gives, to the bit, so
 * uint8 pixels and a float32 array prepared in Python train the same. The
 * one place pixels become floats (gather, Flatten, Hessian products, and
 * float_images as x / 255). */
void wb_pixels_to_f32(float *restrict dst, const uint8_t *restrict src, size_t n);
static inline float wb_pixel_f32(uint8_t v) { return (float)v / 255.0f; }

#endif
