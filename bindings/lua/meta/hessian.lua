---@meta
-- bindings/lua/meta/hessian.lua: the C API of bindings/l_hessian.c, the
-- Hessian operator under wb.hessian (the public functions, hvp, eigs, trace,
-- density and full, are Lua: bindings/lua/wb/hessian.lua). Hand-written
-- language-server annotations and help text; never run.

---wb.hessian.Operator(layers, x, y, loss, float64, max_rows) -> wb.HessianOperator
---The C operator under wb.hessian's functions: layers is a list of
---wb.Dense, wb.Activation (element-wise), wb.Dropout (off) and wb.Flatten;
---x float32 or uint8 [n, ...] (uint8 scaled by 1/255); y integer labels [n]
---for loss "cross_entropy" (softmax or linear last Dense), float32 targets
---[n, C] for "mse"; float64 true computes in double; max_rows rows per
---chunk. It copies the weights now and keeps the layers and data alive.
---@param layers table
---@param x wb.Tensor
---@param y wb.Tensor
---@param loss string
---@param float64 boolean
---@param max_rows integer
---@return wb.HessianOperator
---Example: local op = wb.hessian.Operator({m[1], m[2]}, x, y, "cross_entropy", false, 4096)
function wb.hessian.Operator(layers, x, y, loss, float64, max_rows) end

---wb.HessianOperator
---H of the mean loss (L2 included) at the weights it was made with. Vectors
---are lists of float32 tensors shaped like the parameters; layer arguments
---are a Dense's position in the list (nil: all parameters). Methods:
---hvp(v) -> list; loss_grad() -> loss, gradient list; eigs(k, tol,
---max_iter, v0, layer) -> values, vectors, converged; trace(probes,
---layer) -> mean, stderr; slq(probes, steps, layer) -> nodes, weights (per
---probe); full() -> [P, P]; numel() -> P; count() -> products so far;
---free(). Also a to-be-closed variable.
---Example: local op <close> = wb.hessian.Operator(layers, x, y, "cross_entropy", false, 4096); print(op:numel())
---@class wb.HessianOperator
local HessianOperator = {}
