---@meta
-- bindings/lua/meta/optim.lua: the C API of bindings/l_optim.c, optimizers
-- (wb.optim, wb.Optimizer).
-- Hand-written Lua language-server annotations, and the one source of
-- these names' help text: help() reads the `---` blocks as it reads the Lua
-- modules' (format: bindings/lua/wb/help.lua). Never run: bodies are empty.

---wb.optim
---Optimizers with Keras defaults (SGD, Adam, AdamW, RMSprop), as used by
---model:fit{optimizer = ...} or by a hand-written loop through opt:step.
---Each is a wb.Optimizer. Keras's option names are accepted too:
---learning_rate (= lr), beta_1, beta_2 (= beta1, beta2), epsilon (= eps).
---Example: local opt = wb.optim.Adam{lr = 1e-3}
wb.optim = {}

---wb.Optimizer
---An optimizer (core/optim.c). Fields: lr (readable and writable, e.g. by
---ReduceLROnPlateau), name ("adam" ...), iterations (steps taken),
---n_params, and each hyper-parameter (beta1, momentum ...) read-only.
---Per-parameter state (moments) is allocated at the first step; later
---steps allocate nothing.
---Example: local opt = wb.optim.SGD{lr = 0.1, momentum = 0.9}; print(opt, opt.lr)
---@class wb.Optimizer
local Optimizer = {}

---wb.optim.SGD(opts) -> wb.Optimizer
---Stochastic gradient descent: opts lr = 0.01, momentum = 0, nesterov =
---false (Keras defaults); nesterov = true needs a momentum > 0 (without
---one it is plain SGD: refused, as PyTorch does; Keras lets it through). An
---unknown option is an error listing the valid ones.
---@param opts? table
---@return wb.Optimizer
---Example: wb.optim.SGD{lr = 0.1, momentum = 0.9, nesterov = true}
function wb.optim.SGD(opts) end

---wb.optim.Adam(opts) -> wb.Optimizer
---Adam: opts lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-7 (Keras
---defaults).
---@param opts? table
---@return wb.Optimizer
---Example: model:fit(d.train, {optimizer = wb.optim.Adam{lr = 3e-4}})
function wb.optim.Adam(opts) end

---wb.optim.AdamW(opts) -> wb.Optimizer
---Adam with decoupled weight decay: opts lr = 1e-3, beta1 = 0.9, beta2 =
---0.999, eps = 1e-7, weight_decay = 0.004 (Keras defaults).
---@param opts? table
---@return wb.Optimizer
---Example: wb.optim.AdamW{weight_decay = 0.01}
function wb.optim.AdamW(opts) end

---wb.optim.RMSprop(opts) -> wb.Optimizer
---RMSprop: opts lr = 1e-3, rho = 0.9, eps = 1e-7 (Keras defaults).
---@param opts? table
---@return wb.Optimizer
---Example: wb.optim.RMSprop{lr = 1e-3}
function wb.optim.RMSprop(opts) end

---wb.optim.new(name, opts) -> wb.Optimizer
---An optimizer by name: "sgd", "adam", "adamw" or "rmsprop" (as in an
---experiment config), with the same options as its constructor.
---@param name string
---@param opts? table
---@return wb.Optimizer
---Example: local opt = wb.optim.new("sgd", {lr = 0.1})
function wb.optim.new(name, opts) end

---wb.Optimizer:step(params, grads) -> wb.Optimizer
---One update of the float32 tensors params from grads (two lists of the
---same length and shapes, as model:parameters() returns). Applies fully or
---not at all: a non-finite gradient is an error naming the parameter. Later
---calls must pass the same count and shapes.
---@param params table
---@param grads table
---@return wb.Optimizer
---Example: local ps, gs = model:parameters(); opt:step(ps, gs)
function Optimizer:step(params, grads) end

---wb.Optimizer:config() -> table
---The optimizer's settings: {name = "adam", lr = ..., beta1 = ..., ...}.
---@return table
---Example: print(wb.optim.Adam{}:config().beta2)
function Optimizer:config() end

---wb.Optimizer:reset() -> wb.Optimizer
---Forgets the per-parameter state and the step count (the next step starts
---as the first did).
---@return wb.Optimizer
---Example: opt:reset()
function Optimizer:reset() end

---wb.Optimizer:state() -> table
---A copy of the optimizer's state for an exact resume: {iterations (steps
---taken), slots (buffers per parameter: 0, 1 or 2), buffers (float32
---copies, parameter-major: Adam's m then v of parameter 1, then 2, ...)}.
---@return table
---Example: print(opt:state().iterations)
function Optimizer:state() end

---wb.Optimizer:set_state(params, buffers, iterations) -> wb.Optimizer
---Replaces the state, as if the optimizer had taken `iterations` steps over
---params (the list model:parameters() gives): buffers as state() returns
---them, each of its parameter's shape. Checked first: on an error nothing
---changes.
---@param params table
---@param buffers table
---@param iterations integer
---@return wb.Optimizer
---Example: opt2:set_state(m:parameters(), opt:state().buffers, opt:state().iterations)
function Optimizer:set_state(params, buffers, iterations) end
