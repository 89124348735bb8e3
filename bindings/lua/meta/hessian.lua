---@meta
-- bindings/lua/meta/hessian.lua: the C API of bindings/l_hessian.c, the
-- Hessian operator under wb.hessian (the public functions, hvp, eigs, trace,
-- density and full, are Lua: bindings/lua/wb/hessian.lua). Hand-written
-- language-server annotations and help text; never run.

---wb.hessian.Operator(layers, x, y, loss, float64, max_rows, seed, reduce) -> wb.HessianOperator
---The C operator under wb.hessian's functions: layers is a list of
---wb.Dense, wb.Activation (element-wise), wb.Dropout (off) and wb.Flatten;
---x float32 or uint8 [n, ...] (uint8 divided by 255); y integer labels [n]
---for loss "cross_entropy" (the default: softmax or linear last Dense),
---float32 targets [n, C] for "mse"; float64 true computes in double (nil:
---false); max_rows rows per chunk; seed (default 1) seeds the operator's
---own generator for random probes and start vectors (the global one is
---never drawn from); reduce true lets op:top work in the first Dense's
---row space (core/hvp_reduce.h: the same eigenvalue from cheaper
---products) on a batch reset with params, where that Dense has at least
---10 inputs a row of max_rows and only Flatten or Dropout comes before it
---(float32). It copies the weights now and keeps the layers and data alive.
---@param layers table
---@param x wb.Tensor
---@param y wb.Tensor
---@param loss? string
---@param float64? boolean
---@param max_rows integer
---@param seed? integer
---@param reduce? boolean
---@return wb.HessianOperator
---Example: local op = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, 4096)
function wb.hessian.Operator(layers, x, y, loss, float64, max_rows, seed, reduce) end

---wb.HessianOperator
---H of the mean loss (L2 included) at the weights it was made with. Vectors
---are lists of float32 tensors shaped like the parameters; a layer argument
---is a Dense's position in the list (nil: all parameters). Products are
---counted (count). Also a to-be-closed variable.
---Example: local op <close> = wb.hessian.Operator({m[1], m[2]}, x, y, "mse", true, 64)
---@class wb.HessianOperator
local HessianOperator = {}

---wb.HessianOperator:hvp(v) -> table
---H v, a new list of float32 tensors shaped like the parameters.
---@param v wb.Tensor[]
---@return wb.Tensor[]
---Example: local hv = op:hvp(m:get_weights())
function HessianOperator:hvp(v) end

---wb.HessianOperator:reset(x, y, params, z)
---Takes new data (checked as Operator checks it) and the layers' current
---weights, or with params (a list of float32 tensors shaped like the
---parameters, as hvp's v) those weights instead (the model's are left as
---they are), reusing the operator's buffers: one operator kept across
---training steps allocates nothing per step (the fit instruments do this).
---z, for an operator made with reduce: the first Dense's pre-activation
---on x at params (its logits() after a forward of x; float32 [rows of x or
---more, n_out]), from which the row space's kernel is read (checked on its
---first and last rows with a non-zero input: another batch's is not used).
---@param x wb.Tensor
---@param y wb.Tensor
---@param params? wb.Tensor[]
---@param z? wb.Tensor
---Example: op:reset(x2, y2); print(op:eigs(1, 1e-3, 10)[1])
function HessianOperator:reset(x, y, params, z) end

---wb.HessianOperator:loss_grad() -> number, table
---The mean loss (L2 included) and its gradient (a list like hvp's).
---@return number
---@return wb.Tensor[]
---Example: local loss, g = op:loss_grad()
function HessianOperator:loss_grad() end

---wb.HessianOperator:eigs(k, tol, max_iter, v0, layer) -> table, table, boolean
---The k largest eigenvalues (largest first), their unit eigenvectors (lists
---like hvp's, zero outside the layer's block) and whether tol was met, by
---Lanczos with full reorthogonalisation from v0 (nil: a Gaussian start).
---@param k integer
---@param tol number
---@param max_iter integer
---@param v0? wb.Tensor[]
---@param layer? integer
---@return number[]
---@return table
---@return boolean
---Example: local values, vectors = op:eigs(3, 1e-4, 100)
function HessianOperator:eigs(k, tol, max_iter, v0, layer) end

---wb.HessianOperator:top(max_iter, tol, v0, gmix, g) -> number, number, integer
---The largest eigenvalue cheaply, for measuring during training: at most
---max_iter Lanczos steps (three-term recurrence) from v0, else from the
---last op:top's Ritz vector (kept in the operator across reset: a warm
---start), else from a Gaussian start; with gmix > 0 the gradient of the
---loss, which lies mostly in the top eigenspace, is a start too (without
---another: the start): with v0 or a kept vector, the two are kept apart,
---band Lanczos of block size 2 (core/hvp_band.h: 6 products taking turns
---between them, then Lanczos from the top Ritz vector; any gmix > 0 the
---same), so that their shares of the top eigenvector cannot cancel;
---stops early when the Kato-Temple estimate of the value's relative
---error, r^2 / (gap |value|) with the residual r and the gap to the
---second Ritz value less its residual, is at most tol, or the relative
---residual r / |value| is (a top eigenvalue that is multiple leaves no
---gap; with two starts on a float32 engine, also at a residual under 1e-6,
---its rounding) (0: never; with
---two starts, not before 6 products). Returns the value, the relative residual ||H y - value
---y|| / |value| of its Ritz vector y (exact up to rounding, no extra
---product) and the products used. g, a list shaped like the parameters,
---is the batch gradient to start from (a training step has just computed it);
---without it the operator computes it (a forward and a backward pass).
---@param max_iter integer
---@param tol number
---@param v0? wb.Tensor[]
---@param gmix? number
---@param g? wb.Tensor[]
---@return number
---@return number
---@return integer
---Example: op:reset(x2, y2); local lam, res, n = op:top(8, 1e-3, nil, 1)
function HessianOperator:top(max_iter, tol, v0, gmix, g) end

---wb.HessianOperator:top_vector() -> table|nil
---op:top's last unit Ritz vector (a list like hvp's), nil before the first
---(from the row space: mapped out of it, and still kept there).
---@return wb.Tensor[]|nil
---Example: local v = op:top_vector()
function HessianOperator:top_vector() end

---wb.HessianOperator:reduced() -> boolean
---Whether op:top works in the first Dense's row space on the batch reset
---last (made with reduce, reset with params, a batch of at most max_rows).
---@return boolean
---Example: op:reset(x, y, params); print(op:reduced())
function HessianOperator:reduced() end

---wb.HessianOperator:trace(probes, layer) -> number, number
---Hutchinson's trace estimate over Rademacher probes: mean, standard error.
---@param probes integer
---@param layer? integer
---@return number
---@return number
---Example: local mean, se = op:trace(100)
function HessianOperator:trace(probes, layer) end

---wb.HessianOperator:slq(probes, steps, layer) -> table, table
---Stochastic Lanczos quadrature: per Gaussian probe, the nodes (Ritz
---values) and weights (summing to 1) of `steps` Lanczos steps.
---@param probes integer
---@param steps integer
---@param layer? integer
---@return table
---@return table
---Example: local nodes, weights = op:slq(5, 80)
function HessianOperator:slq(probes, steps, layer) end

---wb.HessianOperator:full() -> wb.Tensor
---The whole Hessian, float32 [P, P] (column j is H e_j; P products).
---@return wb.Tensor
---Example: local H = op:full()
function HessianOperator:full() end

---wb.HessianOperator:numel() -> integer
---P, the number of parameters.
---@return integer
---Example: print(op:numel())
function HessianOperator:numel() end

---wb.HessianOperator:count() -> integer
---Hessian-vector products computed so far.
---@return integer
---Example: print(op:count())
function HessianOperator:count() end

---wb.HessianOperator:free()
---Releases the operator now (also done by the garbage collector and on
---leaving a to-be-closed variable's scope); using it afterwards raises.
---Example: op:free()
function HessianOperator:free() end
