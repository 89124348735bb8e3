---@meta
-- bindings/lua/meta/instruments.lua: the C API of bindings/l_instruments.c
-- under wb.instruments (the public functions, per_sample and the fit
-- instruments, are Lua: bindings/lua/wb/instruments.lua). Hand-written
-- language-server annotations and help text; never run.

---wb.instruments.Scratch() -> wb.PerSample
---Scratch and per-batch accumulators (double) for per-sample gradient
---statistics of Dense layers (core/persample.h), grown to the largest batch
---seen and then reused.
---@return wb.PerSample
---Example: local ps = wb.instruments.Scratch(); ps:begin(32)
function wb.instruments.Scratch() end

---wb.instruments.keep_dz(layer, on) -> boolean
---Makes a wb.Dense keep dL/dz of every backward (a copy for linear layers
---and backward_logits) for the per-sample statistics; returns the previous
---setting. A forward discards the kept rows.
---@param layer wb.Dense
---@param on boolean
---@return boolean
---Example: local was = wb.instruments.keep_dz(m[1], true)
function wb.instruments.keep_dz(layer, on) end

---wb.PerSamplePair
---A Dense layer's last two batches kept for wb.PerSample:add_cross (their
---inputs and dL/dz, transposed side by side: core/persample.h
---wb_persample_pair), made by wb.instruments._pair(); storage grows to the
---largest batch put and is then reused.
---Example: local pair = wb.instruments._pair(); ps:add_cross(m[1], x, pair, true, 1, 32)
---@class wb.PerSamplePair
local PerSamplePair = {}

---wb.PerSamplePair:free()
---Releases the kept batches now (the collector would later); the pair is
---unusable afterwards.
---Example: pair:free()
function PerSamplePair:free() end

---wb.PerSample
---Per-sample statistics of one batch, accumulated layer by layer: begin,
---then add_* per Dense layer (its forward input a and scale B for a mean
---loss, after a backward with keep_dz on), then moments / tensor / counts.
---Example: ps:begin(B); ps:add_norms(m[1], m._h[1], B); print(ps:moments("sq"))
---@class wb.PerSample
local PerSample = {}

---wb.PerSample:begin(B, nbins, n2)
---Zeroes the accumulators for a batch of B rows (and nbins histogram bins,
---n2 bins of the 2-D histogram).
---@param B integer
---@param nbins? integer
---@param n2? integer
---Example: ps:begin(32, 64, 40 * 50)
function PerSample:begin(B, nbins, n2) end

---wb.PerSample:add_norms(layer, a, scale)
---sq[i] += ||g_i||^2 of the layer (kernel and bias).
---@param layer wb.Dense
---@param a wb.Tensor
---@param scale number
---Example: ps:add_norms(m[1], x, 32)
function PerSample:add_norms(layer, a, scale) end

---wb.PerSample:add_gram(layer, a, scale)
---gram[i, j] += g_i . g_j of the layer.
---@param layer wb.Dense
---@param a wb.Tensor
---@param scale number
---Example: ps:add_gram(m[1], x, 32)
function PerSample:add_gram(layer, a, scale) end

---wb.PerSample:add_dot(layer, a, scale, slot, v_w, v_b, ...)
---proj<slot>[i] += g_i . v for v = (v_w [n_in, n_out], v_b [n_out]); slot 1..3.
---Up to three (slot, v_w, v_b) triples in one call.
---@param layer wb.Dense
---@param a wb.Tensor
---@param scale number
---@param slot integer
---@param v_w wb.Tensor
---@param v_b? wb.Tensor
---Example: ps:add_dot(m[1], x, 32, 1, m[1].grad_weight, m[1].grad_bias)
function PerSample:add_dot(layer, a, scale, slot, v_w, v_b) end

---wb.PerSample:add_cross(layer, a, pair, put, slot, c, slot2, c2)
---With put true, first keeps this batch (a and the layer's kept dL/dz) in
---pair (a wb.instruments._pair()) as its newest, the newest so far becoming
---the older; then proj<slot>[i] += c * sum_m g_i . g2_m over the rows m of
---the pair's newest batch and proj<slot2>[i] += c2 * the same over its
---older batch; c holds both batches' scales and any factor (B for the
---projection on a mean gradient of a mean loss: B * B2 / B2).
---@param layer wb.Dense
---@param a wb.Tensor
---@param pair wb.PerSamplePair
---@param put boolean
---@param slot integer
---@param c number
---@param slot2? integer
---@param c2? number
---Example: ps:add_cross(m[1], x, pair, true, 1, 32) -- g_i . mean gradient
function PerSample:add_cross(layer, a, pair, put, slot, c, slot2, c2) end

---wb.PerSample:add_hist(layer, a, scale, lo, hi)
---Counts the layer's per-sample gradient entries in begin's bins over [lo, hi).
---@param layer wb.Dense
---@param a wb.Tensor
---@param scale number
---@param lo number
---@param hi number
---Example: ps:add_hist(m[1], x, 32, -1, 1)
function PerSample:add_hist(layer, a, scale, lo, hi) end

---wb.PerSample:add_hist2d(layer, a, scale, w, b, nx, xlo, xhi, ny, ylo, yhi)
---Counts the layer's per-sample gradient entries (x: nx bins over [xlo,
---xhi)) against their parameter's value in w (the kernel) and b (the bias;
---nil without one), ny bins over [ylo, yhi): Cockpit's GradHist2d, into
---begin's n2 = nx * ny bins. w [n_in, n_out] and b: the weights the gradient
---was taken at (in a loop of one's own, before the optimizer's step, or a
---copy taken then).
---@param layer wb.Dense
---@param a wb.Tensor
---@param scale number
---@param w wb.Tensor
---@param b? wb.Tensor
---@param nx integer
---@param xlo number
---@param xhi number
---@param ny integer
---@param ylo number
---@param yhi number
---Example: ps:add_hist2d(m[1], x, 32, m[1].weight, m[1].bias, 40, -1, 1, 50, -2, 2)
function PerSample:add_hist2d(layer, a, scale, w, b, nx, xlo, xhi, ny, ylo, yhi) end

---wb.PerSample:sum_sq(layer, a, scale, out_w, out_b)
---Writes sum_i g_i^2 of the kernel into out_w and of the bias into out_b.
---@param layer wb.Dense
---@param a wb.Tensor
---@param scale number
---@param out_w wb.Tensor
---@param out_b? wb.Tensor
---Example: ps:sum_sq(m[1], x, 32, wb.zeros(784, 128), wb.zeros(128))
function PerSample:sum_sq(layer, a, scale, out_w, out_b) end

---wb.PerSample:gsnr(layer, a, scale, eps) -> number
---The layer's terms of Cockpit's GSNR summed over its entries, m^2 / (v +
---eps) with m the mean of the per-sample gradients g_i and v = max(mean of
---g_i^2 - m^2, 0), from sums of the same per-sample products, in double
---over the B rows where v is under a tenth of the mean of g_i^2 (float32
---sums would leave v = 0 off by about 1e-9).
---@param layer wb.Dense
---@param a wb.Tensor
---@param scale number
---@param eps number
---@return number
---Example: local s = ps:gsnr(m[1], x, 32, 1e-5)
function PerSample:gsnr(layer, a, scale, eps) end

---wb.PerSample:hess_diag(layers, inputs, out, kernels) -> number
---The exact diagonal of the Hessian of the mean softmax cross-entropy on
---begin's B rows (L2 included) for a chain of Dense layers (relu or linear,
---the last softmax or linear), at the weights and forward state they hold
---now: with piecewise-linear activations it equals the Gauss-Newton
---diagonal, C backward columns per row (core/persample.h). inputs are the
---layers' forward inputs; out a list of float32 tensors shaped like their
---parameters (kernel, bias per layer), overwritten, or nil for the trace
---alone (no layer-sized product). kernels (nil: the layers' own weights):
---kernels[l] for l >= 2 is the weight [n_in, n_out] to take for layer l
---(nil entries: its own; the first layer's weight is in no product, its
---entry is not read), as the fit instruments take theta_t. Returns the
---trace (the diagonal's sum, in double).
---@param layers wb.Dense[]
---@param inputs wb.Tensor[]
---@param out? wb.Tensor[]
---@param kernels? wb.Tensor[]
---@return number
---Example: ps:begin(B); print(ps:hess_diag({m[1], m[2]}, {x, m._h[2]}, diag))
function PerSample:hess_diag(layers, inputs, out, kernels) end

---wb.PerSample:tic(layers, inputs, kernels, scale, eps) -> number, number
---Cockpit's TICDiag for the chain hess_diag takes: the sum over the
---parameters of (S / B) / (H + eps), S = sum_i g_i^2 at scale (sum_sq's,
---from the layers' kept dL/dz) and H the exact Hessian diagonal (hess_diag's,
---at kernels as there), each tensor's sum added in the layers' order, kernel
---before bias; and the diagonal's sum (the trace). The same numbers as
---sum_sq and hess_diag into tensors and wb.instruments._tic_diag over them,
---without the layer-sized tensors: a sparse input's products are summed
---input by input, over the inputs some row has.
---@param layers wb.Dense[]
---@param inputs wb.Tensor[]
---@param kernels? wb.Tensor[]
---@param scale number
---@param eps number
---@return number
---@return number
---Example: ps:begin(B); print(ps:tic({m[1], m[2]}, {x, m._h[2]}, nil, B, 1e-7))
function PerSample:tic(layers, inputs, kernels, scale, eps) end

---wb.PerSample:ce(z, y)
---Per-sample softmax cross-entropy losses of logits z [B, C] and uint8 labels y.
---@param z wb.Tensor
---@param y wb.Tensor
---Example: ps:ce(m[#m]:logits(), y)
function PerSample:ce(z, y) end

---wb.PerSample:moments(what) -> number, number
---Sum and sum of squares of "sq", "proj1", "proj2", "proj3" or "loss".
---@param what string
---@return number
---@return number
---Example: local s, s2 = ps:moments("proj1")
function PerSample:moments(what) end

---wb.PerSample:tensor(what) -> wb.Tensor
---A float32 copy of an accumulator: [B] vectors, "gram" [B, B], "hist".
---@param what string
---@return wb.Tensor
---Example: local g = ps:tensor("gram")
function PerSample:tensor(what) end

---wb.PerSample:counts() -> number[]
---The histogram counts (exact, as Lua numbers).
---@return number[]
---Example: local c = ps:counts()
function PerSample:counts() end

---wb.PerSample:counts2d() -> number[]
---The 2-D histogram's counts, bin (x, y) at (x - 1) * ny + y (exact).
---@return number[]
---Example: local c = ps:counts2d()
function PerSample:counts2d() end
