---@meta
-- bindings/lua/meta/tensor.lua: the C API of bindings/l_tensor.c, tensors:
-- wb.Tensor and its constructors.
-- Hand-written Lua language-server annotations, and the one source of
-- these names' help text: help() reads the `---` blocks as it reads the Lua
-- modules' (format: bindings/lua/wb/help.lua). Never run: bodies are empty.

---wb.Tensor
---An n-dimensional array (at most 8 dimensions), row-major and contiguous,
---float32 (all computation) or uint8 (datasets, images). Views (t[i],
---t:rows, t:reshape) share storage with their tensor. Indices are 1-based.
---Operators: t + u, t - u, t * u, t / u (same shape, or t [n, C] and u a
---row [C] or [1, C] applied to every row), t * s, t / s, s * t, -t give new
---tensors; #t is the size of dimension 1; t[i] is row i as a view (of a
---1-D tensor: element i, a number, as t:get(i), so labels[i] == 7 compares
---it) and t[i] = v sets element i (1-D) or fills/copies row i. tostring shows the
---shape and at most 6 x 8 values. Released by the GC, t:free() or <close>.
---An argument a function or method does not take (t:sum(1, 2)) is an
---error naming its position, never ignored.
---Example: local t = wb.tensor{{1, 2}, {3, 4}}; print(t[2], t:sum(), #t)
---@class wb.Tensor
local Tensor = {}

---wb.tensor(values, dtype) -> wb.Tensor
---A new tensor from nested tables of numbers ({{1, 2}, {3, 4}} is [2, 2])
---or from one number (a 0-d tensor). dtype: "float32" (default) or
---"uint8". Rows must have equal lengths; the error names the first that
---does not.
---@param values table|number
---@param dtype? string
---@return wb.Tensor
---Example: local x = wb.tensor{{0, 1}, {2, 3}}
function wb.tensor(values, dtype) end

---wb.zeros(d1, d2, ...) -> wb.Tensor
---A new tensor of the given shape, filled with 0. The shape may also be
---one table: wb.zeros({2, 3}). A last argument "float32" (the default)
---or "uint8" is the dtype: wb.zeros({2, 3}, "uint8"). Sizes are
---checked: an impossible size is an error, not a crash; so is anything
---after the shape table but a dtype.
---@return wb.Tensor
---Example: local z = wb.zeros(2, 3); local img = wb.zeros({28, 28}, "uint8")
function wb.zeros(d1, d2, ...) end

---wb.ones(d1, d2, ...) -> wb.Tensor
---A new tensor of the given shape (sizes or one table), filled with 1;
---dtype as in wb.zeros.
---@return wb.Tensor
---Example: local o = wb.ones(4)
function wb.ones(d1, d2, ...) end

---wb.full(shape, value [, dtype]) -> wb.Tensor
---A new tensor of shape (a table of sizes) filled with value; dtype
---"float32" (default) or "uint8" (value then an integer in 0..255).
---@param shape table
---@param value number
---@param dtype? string
---@return wb.Tensor
---Example: local t = wb.full({2, 3}, 7); local u = wb.full({2}, 255, "uint8")
function wb.full(shape, value, dtype) end

---wb.new_tensor(shape, dtype) -> wb.Tensor
---A new zero-filled tensor of shape (a table) and dtype "float32"
---(default) or "uint8".
---@param shape table
---@param dtype? string
---@return wb.Tensor
---Example: local img = wb.new_tensor({28, 28}, "uint8")
function wb.new_tensor(shape, dtype) end

---wb.matmul(a, b) -> wb.Tensor
---Matrix product of float32 a [n, k] and b [k, m] as a new [n, m] tensor
---(OpenBLAS sgemm). The error names both shapes when they do not fit.
---@param a wb.Tensor
---@param b wb.Tensor
---@return wb.Tensor
---Example: local y = wb.matmul(wb.ones(2, 3), wb.ones(3, 4))
function wb.matmul(a, b) end

---wb.Tensor:shape() -> table
---The sizes of the dimensions as a new table, e.g. {2, 3}.
---@return integer[]
---Example: print(table.concat(wb.zeros(2, 3):shape(), "x"))
function Tensor:shape() end

---wb.Tensor:size(dim) -> integer
---The size of dimension dim (1-based).
---@param dim integer
---@return integer
---Example: print(wb.zeros(2, 3):size(2)) --> 3
function Tensor:size(dim) end

---wb.Tensor:dim() -> integer
---The number of dimensions (0 for a scalar tensor).
---@return integer
---Example: print(wb.zeros(2, 3):dim()) --> 2
function Tensor:dim() end

---wb.Tensor:numel() -> integer
---The number of elements (the product of the sizes).
---@return integer
---Example: print(wb.zeros(2, 3):numel()) --> 6
function Tensor:numel() end

---wb.Tensor:dtype() -> string
---The element type: "float32" or "uint8".
---@return string
---Example: print(wb.data.mnist().test.images:dtype()) --> uint8
function Tensor:dtype() end

---wb.Tensor:get(i, j, ...) -> number
---The element at 1-based indices, one per dimension; out of range is an
---error naming the dimension, the index and its range ("dimension 1's
---index is 0, expected 1..3").
---@return number
---Example: print(wb.tensor{{1, 2}, {3, 4}}:get(2, 1)) --> 3
function Tensor:get(i, j, ...) end

---wb.Tensor:set(i, j, ..., value) -> wb.Tensor
---Sets the element at 1-based indices (one per dimension) to value. A
---uint8 tensor takes the integers 0..255 and a float32 one finite values
---within float32's range (and NaN, inf); anything else (300, 2.5, 1e39) is
---an error naming the value, never rounded or clamped.
---Example: local t = wb.zeros(2, 2); t:set(1, 2, 5)
function Tensor:set(i, j, ...) end

---wb.Tensor:row(i) -> wb.Tensor
---Row i as a view (dimension 1 removed); the same as t[i] but of a 1-D
---tensor, where t[i] is the number and t:row(i) a 0-d view. Writing to the
---view writes to t.
---@param i integer
---@return wb.Tensor
---Example: local w = model[1].weight; print(w:row(1):norm())
function Tensor:row(i) end

---wb.Tensor:rows(first, last) -> wb.Tensor
---Rows first..last (inclusive, 1-based; last defaults to first) as a view
---sharing storage; last = first - 1 gives no rows, first > last + 1 is an
---error (reverse order), as is a row out of range.
---@param first integer
---@param last? integer
---@return wb.Tensor
---Example: local batch = x:rows(1, 32)
function Tensor:rows(first, last) end

---wb.Tensor:reshape(d1, d2, ...) -> wb.Tensor
---wb.Tensor:view(d1, d2, ...) -> wb.Tensor
---A view with another shape and the same number of elements, sharing
---storage (sizes or one table; one size may be -1 and is inferred).
---@return wb.Tensor
---Example: local flat = wb.zeros(28, 28):reshape(784)
---  print(wb.zeros(28, 28):view(-1, 4):shape()[1]) --> 196
function Tensor:reshape(d1, d2, ...) end
function Tensor:view(d1, d2, ...) end

---wb.Tensor:clone() -> wb.Tensor
---A copy with its own storage (same dtype and shape). Use it to keep a
---layer's output, which the next forward overwrites.
---@return wb.Tensor
---Example: local y = model:forward(x):clone()
function Tensor:clone() end

---wb.Tensor:float() -> wb.Tensor
---A float32 copy (uint8 values unscaled: 255 stays 255.0).
---@return wb.Tensor
---Example: local f = ds.images:float() / 255
function Tensor:float() end

---wb.Tensor:fill(value) -> wb.Tensor
---Sets every element to value; returns t. The value must fit the dtype,
---as for wb.Tensor:set.
---@param value number
---@return wb.Tensor
---Example: model[1].bias:fill(0)
function Tensor:fill(value) end

---wb.Tensor:copy(src) -> wb.Tensor
---Copies src's values into t (the same shape: an error otherwise, so
---reshape src first to copy across shapes; dtypes convert);
---returns t. Into a uint8 tensor only the integers 0..255 copy: any other
---value is an error naming its element, never rounded or clamped.
---@param src wb.Tensor
---@return wb.Tensor
---Example: w:copy(saved)
function Tensor:copy(src) end

---wb.Tensor:totable() -> table
---The values as nested Lua tables (a number for a 0-d tensor); at most
---2^26 elements.
---@return table
---Example: print(wb.tensor{1, 2}:totable()[2])
function Tensor:totable() end

---wb.Tensor:sum(dim) -> number|wb.Tensor
---The sum of all elements (accumulated in double); with dim, the sums
---along that dimension as a new tensor with the dimension removed
---(PyTorch's keepdim = false): [n, C]:sum(2) is [n]. One dimension at
---a time: t:sum(1, 2) is an error (t:sum(1):sum(1), or t:sum(), instead).
---@param dim? integer
---@return number|wb.Tensor
---Example: print(wb.ones(2, 3):sum()) --> 6
---  print(wb.ones(2, 3):sum(1)) --> Tensor[3] 2 2 2
function Tensor:sum(dim) end

---wb.Tensor:mean(dim) -> number|wb.Tensor
---The mean of all elements; with dim, the means along that dimension (a
---new tensor without that dimension).
---@param dim? integer
---@return number|wb.Tensor
---Example: print(model[1].weight:mean(), wb.tensor{{1, 2}, {3, 5}}:mean(2))
function Tensor:mean(dim) end

---wb.Tensor:std() -> number
---The population standard deviation of all elements (divides by n).
---@return number
---Example: print(model[1].weight:std())
function Tensor:std() end

---wb.Tensor:min(dim) -> number|wb.Tensor
---The smallest element; with dim, the minima along that dimension (a new
---tensor without that dimension). NaN wins, as in PyTorch.
---@param dim? integer
---@return number|wb.Tensor
---Example: print(model[1].weight:min())
function Tensor:min(dim) end

---wb.Tensor:max(dim) -> number|wb.Tensor
---The largest element; with dim, the maxima along that dimension (a new
---tensor without that dimension). NaN wins, as in PyTorch.
---@param dim? integer
---@return number|wb.Tensor
---Example: print(model[1].weight:max(), wb.tensor{{1, 7}, {3, 2}}:max(2)) --> 7 3
function Tensor:max(dim) end

---wb.Tensor:exp() -> wb.Tensor
---wb.Tensor:log() -> wb.Tensor
---wb.Tensor:abs() -> wb.Tensor
---wb.Tensor:sqrt() -> wb.Tensor
---wb.Tensor:sign() -> wb.Tensor
---Element-wise e^x, natural log, |x|, square root and sign (-1, 0, 1) as a
---new float32 tensor. IEEE values as in PyTorch: log(0) = -inf, log and
---sqrt of a negative number NaN.
---@return wb.Tensor
---Example: local p = m:predict(x); local nll = -(p:clamp(1e-7, 1):log())
function Tensor:exp() end
function Tensor:log() end
function Tensor:abs() end
function Tensor:sqrt() end
function Tensor:sign() end

---wb.Tensor:pow(p) -> wb.Tensor
---Element-wise x^p as a new tensor.
---@param p number
---@return wb.Tensor
---Example: local mse = (out - target):pow(2):mean()
function Tensor:pow(p) end

---wb.Tensor:clamp(lo, hi) -> wb.Tensor
---Element-wise min(max(x, lo), hi) as a new tensor; lo <= hi.
---@param lo number
---@param hi number
---@return wb.Tensor
---Example: local p = probs:clamp(1e-7, 1 - 1e-7)
function Tensor:clamp(lo, hi) end

---wb.Tensor:t() -> wb.Tensor
---The transpose of a 2-D tensor ([m, n] -> [n, m]) as a new tensor.
---@return wb.Tensor
---Example: local g = wb.matmul(x:t(), grad) -- [784, n] x [n, 10]
function Tensor:t() end

---wb.Tensor:item() -> number
---The value of a tensor of one element (any shape); an error otherwise.
---@return number
---Example: print(wb.tensor{{3}}:item()) --> 3.0
function Tensor:item() end

---wb.Tensor:norm() -> number
---The L2 (Frobenius) norm: the square root of the sum of squares.
---@return number
---Example: print(model[1].weight:norm())
function Tensor:norm() end

---wb.Tensor:argmax(dim) -> wb.Tensor
---1-based indices of the largest value along dim (default: the last
---dimension), as a float32 tensor with that dimension removed. Its values
---are whole numbers, but :get and :item give floats (2.0):
---math.tointeger(v) makes one an integer (2), as a class index prints.
---A NaN wins, as in max (the first NaN's index, as in PyTorch and numpy).
---@param dim? integer
---@return wb.Tensor
---Example: local pred = model:predict(x):argmax(2) -- class + 1, one per row
---   print(math.tointeger(pred:get(1)) - 1) -- the first row's class: 7, not 7.0
function Tensor:argmax(dim) end

---wb.Tensor:free()
---Releases the tensor's storage now instead of at garbage collection;
---using it afterwards raises "attempt to use a released tensor".
---Example: big:free()
function Tensor:free() end
