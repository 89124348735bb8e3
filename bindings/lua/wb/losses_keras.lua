-- wb/losses_keras.lua: Keras's categorical_crossentropy (on probabilities),
-- hinge and squared_hinge on one-hot targets, as plain arithmetic on Lua
-- numbers (float64): rows is a list of n rows of C outputs, ids the n class
-- ids from 0. Each returns the batch mean of the per-row loss and its
-- gradient w.r.t. the outputs, as rows. wb/losses.lua wraps them for
-- tensors; the tests take finite differences of these in float64.
--
-- The subgradients at the kinks are TensorFlow's, the backend whose
-- semantics the rest of fit follows (the fused default is TF's
-- softmax_cross_entropy_with_logits):
--  * clip_by_value passes the gradient for lo <= x <= hi, bounds included
--    (TF's _ClipByValueGrad zeroes it only where x < lo or x > hi);
--  * maximum(a, 0) passes it to a when a >= 0 (TF's _MaximumGrad selects
--    with greater_equal), so hinge's gradient at exactly 1 - y*out = 0 is
--    -y/(n C), not 0. squared_hinge's is 0 there either way (2 a = 0).
--    PyTorch's clamp(min = 0) agrees; relu would give 0 for hinge.
local _ENV = require "wb.std"
local M = {}

-- keras.backend.epsilon(), the clipping bound of the probability path.
M.EPS = 1e-7

-- Keras's categorical_crossentropy on an output that is not a softmax (its
-- probability path): each row divided by its sum, clipped to
-- [eps, 1 - eps], -sum(onehot * log(p)), then the mean over the batch.
-- With a one-hot target only the true class's p enters:
-- d(-log p_y)/d out_j = -(delta_jy - p_y) / (p_y s) for s the row sum.
function M.categorical_crossentropy(rows, ids)
  local n, eps = #rows, M.EPS
  local v, g = 0, {}
  for i = 1, n do
    local r, y = rows[i], ids[i] + 1
    local s = 0
    for j = 1, #r do s = s + r[j] end
    local p = r[y] / s
    local q = math.min(math.max(p, eps), 1 - eps)
    v = v - math.log(q)
    local d = 0 -- d(row loss)/dp: 0 where the clip is active
    if p >= eps and p <= 1 - eps then d = -1 / (q * n) end
    local gi = {}
    for j = 1, #r do gi[j] = d * ((j == y and 1 or 0) - p) / s end
    g[i] = gi
  end
  return v / n, g
end

-- Keras's hinge (squared = false) or squared_hinge (true): one-hot targets
-- 0/1 made -1/+1 (Keras converts labels that are all 0 or 1), per row the
-- mean over classes of max(1 - t out, 0) (or its square), then the mean
-- over the batch: the sum over all entries / (n C).
function M.hinge(rows, ids, squared)
  local n = #rows
  local v, g = 0, {}
  for i = 1, n do
    local r, y = rows[i], ids[i] + 1
    local c = #r
    local scale = 1 / (n * c)
    local gi = {}
    for j = 1, c do
      local t = j == y and 1 or -1
      local a = 1 - t * r[j]
      if a >= 0 then -- TF's maximum: the gradient goes to a on a tie
        if squared then
          v = v + a * a
          gi[j] = -2 * a * t * scale
        else
          v = v + a
          gi[j] = -t * scale
        end
      else
        gi[j] = 0
      end
    end
    g[i] = gi
  end
  local nc = n * (rows[1] and #rows[1] or 0)
  return nc > 0 and v / nc or 0, g
end

return M
