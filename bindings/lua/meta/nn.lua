---@meta
-- bindings/lua/meta/nn.lua: the C API of bindings/l_nn.c, the C layers
-- (Dense, Dropout, Activation, Flatten), the fused loss and the generator.
-- Hand-written Lua language-server annotations, and the one source of
-- these names' help text: help() reads the `---` blocks as it reads the Lua
-- modules' (format: bindings/lua/wb/help.lua). Never run: bodies are empty.

---wb.nn.Dense(n_in, n_out, opts) -> wb.Dense
---A fully connected layer y = act(x W + b), W [n_in, n_out] (Keras layout).
---opts: activation ("linear" default, "relu", "tanh", "softsign", "gelu",
---"gelu_tanh", "sigmoid", "elu", "selu", "swish", "softmax"), init
---("glorot_uniform" default, "glorot_normal", "he_uniform", "he_normal",
---"lecun_uniform", "lecun_normal", "uniform", "normal", "zeros", "ones"),
---l2 (0: penalty l2 * sum(W^2) added to the loss), bias (true). Weights are
---drawn from the global generator (wb.seed); bias starts at 0.
---@param n_in integer
---@param n_out integer
---@param opts? table
---@return wb.Dense
---Example: local l = wb.nn.Dense(784, 128, {activation = "relu", l2 = 1e-4})
function wb.nn.Dense(n_in, n_out, opts) end

---wb.Dense
---A Dense layer (C). Fields: weight [n_in, n_out], bias [n_out],
---grad_weight, grad_bias (tensors sharing the layer's storage: writing to
---them changes the layer; l.weight == l.weight), n_in, n_out, activation,
---init, l2, use_bias, kind = "Dense". Outputs are views of layer-owned
---buffers, valid until the next call on the layer.
---Example: local l = m[1]; print(l, l.weight:norm(), l.activation)
---@class wb.Dense
local Dense = {}

---wb.nn.Dropout(rate) -> wb.Dropout
---Inverted dropout: in training, each input is zeroed with probability
---rate and the rest scaled by 1 / (1 - rate); at inference it passes x
---through unchanged. Masks come from the global generator.
---@param rate number
---@return wb.Dropout
---Example: wb.nn.Dropout(0.3)
function wb.nn.Dropout(rate) end

---wb.Dropout
---A Dropout layer (C). Fields: rate, kind = "Dropout". No parameters.
---Example: print(m[2].rate)
---@class wb.Dropout
local Dropout = {}

---wb.nn.Activation(name) -> wb.Activation
---An activation as its own layer (a name as for Dense's activation option).
---Last after a linear Dense (Keras's Dense then Activation("softmax")), fit
---and evaluate train it as that Dense with the activation, bit for bit (the
---fused cross-entropy takes its input as the logits). wb.hessian takes it
---(an element-wise one anywhere; softmax only last, after a linear Dense,
---with cross-entropy); the instruments take an element-wise one between
---Dense layers (tic excepted: it needs relu/linear Dense layers) and refuse
---a last Activation("softmax") (use Dense's activation option).
---@param name string
---@return wb.Activation
---Example: wb.nn.Activation("tanh")
function wb.nn.Activation(name) end

---wb.Activation
---An Activation layer (C). Fields: activation, kind = "Activation".
---Example: print(wb.nn.Activation("gelu").activation)
---@class wb.Activation
local Activation = {}

---wb.nn.Flatten() -> wb.Flatten
---Flattens [n, ...] to [n, features]: a float input is reshaped (a view), a
---uint8 input is also divided by 255 (Keras's Flatten does not scale).
---@return wb.Flatten
---Example: wb.nn.Sequential{wb.nn.Flatten(), wb.nn.Dense(784, 10)}
function wb.nn.Flatten() end

---wb.Flatten
---A Flatten layer (C). Fields: kind = "Flatten". No parameters.
---Example: print(wb.nn.Flatten())
---@class wb.Flatten
local Flatten = {}

---wb.nn.SparseCrossEntropy() -> wb.SparseCrossEntropy
---Softmax cross-entropy on logits with integer labels, fused with the
---softmax (what fit uses on a softmax head).
---@return wb.SparseCrossEntropy
---Example: local ce = wb.nn.SparseCrossEntropy()
---   m:forward(x); local loss, correct = ce:forward(m[#m]:logits(), y)
function wb.nn.SparseCrossEntropy() end

---wb.SparseCrossEntropy
---The fused softmax cross-entropy loss (C): forward(logits, labels),
---backward(). Fields: kind = "SparseCrossEntropy".
---Example: local ce = wb.nn.SparseCrossEntropy()
---@class wb.SparseCrossEntropy
local SparseCrossEntropy = {}

---wb.Dense:forward(x, training) -> wb.Tensor
---wb.Dropout:forward(x, training) -> wb.Tensor
---wb.Activation:forward(x, training) -> wb.Tensor
---wb.Flatten:forward(x, training) -> wb.Tensor
---The layer's output for a batch x [n, n_in] (float32); training = true
---turns dropout on (default false). The result is a view of a layer-owned
---buffer (the same object each call): valid until the next call, clone to
---keep. Shape errors name both shapes.
---@param x wb.Tensor
---@param training? boolean
---@return wb.Tensor
---Example: local h = m[1]:forward(x):clone()
function Dense:forward(x, training) end
function Dropout:forward(x, training) end
function Activation:forward(x, training) end
function Flatten:forward(x, training) end

---wb.Dense:backward(x, grad_y, need_grad_input) -> wb.Tensor|nil
---wb.Dropout:backward(x, grad_y, need_grad_input) -> wb.Tensor|nil
---wb.Activation:backward(x, grad_y, need_grad_input) -> wb.Tensor|nil
---wb.Flatten:backward(x, grad_y, need_grad_input) -> wb.Tensor|nil
---Given the x of the last forward and the gradient w.r.t. its output,
---accumulates the parameter gradients (grad_weight += ...; a Dense with l2
---adds its penalty's gradient 2 l2 W too, which the loss layers' values
---leave out: add l2_penalty() to a hand-written loop's loss, not the
---gradient again) and returns the
---gradient w.r.t. x (overwritten each call), or nil when need_grad_input is
---false. Backward without a matching forward is an error.
---@param x wb.Tensor
---@param grad_y wb.Tensor
---@param need_grad_input? boolean
---@return wb.Tensor|nil
---Example: local gx = layer:backward(x, gy)
function Dense:backward(x, grad_y, need_grad_input) end
function Dropout:backward(x, grad_y, need_grad_input) end
function Activation:backward(x, grad_y, need_grad_input) end
function Flatten:backward(x, grad_y, need_grad_input) end

---wb.Dense:backward_logits(x, grad_z, need_grad_input) -> wb.Tensor|nil
---Like backward, with grad_z the gradient w.r.t. the pre-activation z =
---x W + b (the fused softmax + cross-entropy path).
---@param x wb.Tensor
---@param grad_z wb.Tensor
---@param need_grad_input? boolean
---@return wb.Tensor|nil
---Example: m[#m]:backward_logits(h, ce:backward())
function Dense:backward_logits(x, grad_z, need_grad_input) end

---wb.Dense:logits() -> wb.Tensor
---The pre-activation z = x W + b of the last forward (a view, [n, n_out]);
---an error before any forward.
---@return wb.Tensor
---Example: m:forward(x); local z = m[#m]:logits()
function Dense:logits() end

---wb.Dense:parameters() -> table, table
---wb.Dropout:parameters() -> table, table
---wb.Activation:parameters() -> table, table
---wb.Flatten:parameters() -> table, table
---The layer's parameters {weight, bias} and gradients {grad_weight,
---grad_bias} (empty lists for layers without weights).
---@return wb.Tensor[] params
---@return wb.Tensor[] grads
---Example: local ps, gs = m[1]:parameters()
function Dense:parameters() end
function Dropout:parameters() end
function Activation:parameters() end
function Flatten:parameters() end

---wb.Dense:zero_grad() -> wb.Dense
---wb.Dropout:zero_grad() -> wb.Dropout
---wb.Activation:zero_grad() -> wb.Activation
---wb.Flatten:zero_grad() -> wb.Flatten
---Sets the parameter gradients to 0 (nothing for layers without weights);
---returns the layer.
---Example: m[1]:zero_grad()
function Dense:zero_grad() end
function Dropout:zero_grad() end
function Activation:zero_grad() end
function Flatten:zero_grad() end

---wb.Dense:l2_penalty() -> number
---wb.Dropout:l2_penalty() -> number
---wb.Activation:l2_penalty() -> number
---wb.Flatten:l2_penalty() -> number
---The layer's L2 penalty l2 * sum(W^2) (0 without l2 or weights).
---@return number
---Example: print(m[1]:l2_penalty())
function Dense:l2_penalty() end
function Dropout:l2_penalty() end
function Activation:l2_penalty() end
function Flatten:l2_penalty() end

---wb.Dense:free()
---wb.Dropout:free()
---wb.Activation:free()
---wb.Flatten:free()
---wb.SparseCrossEntropy:free()
---Releases the layer now instead of at garbage collection; using it
---afterwards raises "attempt to use a released layer". Tensors taken from
---it (l.weight) keep their own storage.
---Example: l:free()
function Dense:free() end
function Dropout:free() end
function Activation:free() end
function Flatten:free() end
function SparseCrossEntropy:free() end

---wb.SparseCrossEntropy:forward(logits, labels, scores) -> number, integer
---The mean cross-entropy of softmax(logits) [n, C] against labels [n]
---(uint8 or float, values 0..C-1) and the number of rows whose argmax
---(first maximum) is the label: the argmax of scores (float32, the logits'
---shape) when given, else of the logits. Keras's accuracy takes the argmax
---of the model's output: fit and evaluate pass a softmax head's
---probabilities as scores (logits 0 and 1e-9 are two probabilities 0.5:
---class 0, as Keras and predict say; the logits would say class 1).
---@param logits wb.Tensor
---@param labels wb.Tensor
---@param scores? wb.Tensor
---@return number loss
---@return integer correct
---Example: local loss, correct = ce:forward(z, y)
function SparseCrossEntropy:forward(logits, labels, scores) end

---wb.SparseCrossEntropy:backward() -> wb.Tensor
---The gradient of the last forward's mean loss w.r.t. the logits,
---(softmax - onehot) / n, [n, C] (a view).
---@return wb.Tensor
---Example: m[#m]:backward_logits(h, ce:backward())
function SparseCrossEntropy:backward() end

---wb.seed(n)
---Reseeds the global generator that Dense initialisation, Dropout masks,
---shuffling, wb.rand, wb.randn and wb.randperm draw from (seed 0 at
---start-up). Same seed, same numbers.
---@param n integer
---Example: wb.seed(1); local m = build()
function wb.seed(n) end

---wb.rng_state() -> string
---The global generator's whole state (81 hex digits), for an exact resume
---(model:save_state stores it).
---@return string
---Example: local s = wb.rng_state(); local a = wb.rand(3); wb.set_rng_state(s)
function wb.rng_state() end

---wb.set_rng_state(s)
---Restores a state returned by wb.rng_state: the generator then draws the
---same numbers as after that call.
---@param s string
---Example: wb.set_rng_state(s)
function wb.set_rng_state(s) end

---wb.rand(d1, d2, ...) -> wb.Tensor
---A float32 tensor of the given shape (sizes or one table) with values
---uniform in [0, 1), from the global generator.
---@return wb.Tensor
---Example: local u = wb.rand(2, 3)
function wb.rand(d1, d2, ...) end

---wb.randn(d1, d2, ...) -> wb.Tensor
---A float32 tensor of the given shape with standard normal values N(0, 1),
---from the global generator.
---@return wb.Tensor
---Example: local noise = wb.randn(784) * 0.1
function wb.randn(d1, d2, ...) end

---wb.randperm(n) -> wb.Tensor
---1..n in random order as a float32 [n] tensor (n <= 2^24, exact as
---float32), from the global generator; ds:batch takes it as indices.
---@param n integer
---@return wb.Tensor
---Example: local x, y = ds:batch(wb.randperm(#ds), 1, 32)
function wb.randperm(n) end
