-- wb/fit_args.lua: argument checks shared by fit, evaluate and predict:
-- option keys (with Keras aliases), integers, datasets or tensors as data,
-- and the loss head the model must end with.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
-- a mistake in fit/evaluate/predict's arguments: its line alone, no traceback
local fail = args.input_fail
local arch = require "wb.arch"
local kind_of, member = arch.kind_of, arch.member
-- a wb.nn.Activation's metatable: head_logits tests it each step in one compare
local ACTIVATION = debug.getregistry()["wb.Activation"]
local M = {}


function M.check_keys(opts, valid, fname)
  util.check_options(opts, valid, fname, 3)
end

local OPTIMIZER_KEYS = {lr = "SGD", learning_rate = "SGD", momentum = "SGD",
  nesterov = "SGD", beta1 = "Adam", beta2 = "Adam", eps = "Adam", rho = "RMSprop",
  weight_decay = "AdamW"}

-- opts with aliases renamed; an unknown key is an error listing the names
-- and the aliases, an alias given with its name is an error naming both.
function M.resolve_keys(opts, valid, aliases, fname)
  args.check_not_object(opts, fname, 3)
  local known, out = {}, {}
  for _, k in ipairs(valid) do known[k] = true end
  for k, v in pairs(opts) do
    local name = aliases[k]
    if name and opts[name] ~= nil then
      fail(string.format("%s: options '%s' and '%s' are the same (%s is Keras's name " ..
        "for %s); give one", fname, k, name, k, name), 3)
    end
    if not (name or known[k]) then
      local al = {}
      for a, n in pairs(aliases) do al[#al + 1] = a .. " = " .. n end
      table.sort(al)
      -- an optimizer's setting is the optimizer's: fit{lr = ...} named no way to it
      local opt = OPTIMIZER_KEYS[k] and string.format(" (%s is the optimizer's: optimizer = "
        .. "wb.optim.%s{%s = ...})", k, OPTIMIZER_KEYS[k], k) or ""
      fail(string.format("%s: unknown option '%s' (valid: %s; Keras names: %s)%s", fname,
        tostring(k), table.concat(valid, ", "), table.concat(al, ", "), opt), 3)
    end
    out[name or k] = v
  end
  return out
end

function M.check_int(v, name, fname, min)
  if math.type(v) ~= "integer" then -- (3.0 is 3; inf and 2^63 are no integer: epochs = inf ran on)
    if type(v) == "number" and math.tointeger(v) then v = math.tointeger(v)
    else fail(string.format("%s: %s must be an integer, got %s", fname, name,
      type(v) == "string" and string.format("string %q", v) or tostring(v)), 3) end
  end
  if v < min then
    fail(string.format("%s: %s must be >= %d, got %d", fname, name, min, v), 3)
  end
  return v
end

-- fit's shuffle, verbose, seed and optimizer checked before any work: a
-- value of the wrong type would otherwise be taken as true (shuffle =
-- "false" shuffles) or fail deep inside ("attempt to call a nil value").
function M.check_fit_types(o)
  if o.shuffle ~= nil and type(o.shuffle) ~= "boolean" then
    fail("fit: shuffle must be true or false, got " .. type(o.shuffle) .. " "
      .. tostring(o.shuffle), 3)
  end
  if o.grad_check ~= nil and type(o.grad_check) ~= "boolean" then
    fail("fit: grad_check must be true or false, got " .. tostring(o.grad_check), 3)
  end
  local v = o.verbose
  if v ~= nil and type(v) ~= "boolean" and v ~= 0 and v ~= 1 and v ~= 2 then
    fail("fit: verbose must be true, false, 0, 1 or 2, got " .. tostring(v), 3)
  end
  if o.seed ~= nil and not (type(o.seed) == "number" and math.tointeger(o.seed)) then -- (2^63)
    fail("fit: seed must be an integer, got " .. type(o.seed) .. " " .. tostring(o.seed), 3)
  end
  local opt = o.optimizer
  if opt ~= nil and type(opt) ~= "string" then
    local ok, step = pcall(function() return opt.step end)
    if not (ok and type(step) == "function") then
      fail("fit: optimizer must be a name (adam, adamw, sgd, rmsprop) or an optimizer "
        .. "(wb.optim.SGD{lr = 0.1}, ...), got " .. tostring(opt), 3)
    end
  end
  if type(o.instruments) == "table" then -- a name twice: one instrument, counted once
    for i, name in ipairs(o.instruments) do
      for j = 1, i - 1 do
        if o.instruments[j] == name then
          fail(string.format("fit: instruments: '%s' is given twice (entries %d and %d)",
            tostring(name), j, i), 3)
        end
      end
    end
  end
  if o.validation ~= nil and o.validation_split ~= nil then
    fail("fit: validation (validation_data) and validation_split both given: give one "
      .. "(Keras would drop validation_split without a word)", 3)
  end
end

-- A dataset's tensor as "dtype [shape] hash" (wb.io._hash of its elements).
local function digest(t)
  return string.format("%s [%s] %s", t:dtype(), table.concat(t:shape(), ", "), wb.io._hash(t))
end

-- A loss function by its identity (its code and the values it closes over).
local function loss_text(f)
  local id = require("wb.identity").hook(f)
  return id and "a function " .. id or "a function"
end

-- The loss function of a fit's record (fit_record), not in the record (it
-- is written as JSON): a state takes its identity and the values it keeps
-- in locals when it is saved, not when fit began (audit Z2: a loss counting
-- its calls resumed from a fresh count, and the identity from the start
-- still matched the resumed fit's).
local loss_fn = setmetatable({}, {__mode = "k"})

-- What a resume must give again to continue bit for bit (save_state keeps
-- it, wb/state_fit.lua compares): steps per epoch and their rows, the
-- shuffling, the loss, the validation rows (history's val series), and the
-- data themselves (a hash of the images and labels of both sets: the same
-- number of rows is not the same data), and log_every (0: none; history.steps
-- would otherwise stop at the save, or change its spacing there). A loss
-- function is "a function <wb.identity.hook>" (its bytecode and the values
-- it closes over), or "a function" when it cannot be identified. Kept
-- besides (wb/state_given.lua): the BLAS kernel and thread count (checked),
-- and the lr optimizer opt had as the fit started (an original script's
-- optimizer is accepted by that; a resume's record takes the saved one's).
function M.fit_record(o, bs, n, train, val, opt)
  local loss = o.loss or "sparse_categorical_crossentropy"
  local rec = {batch_size = bs, rows = n, shuffle = o.shuffle ~= false,
    log_every = o.log_every or 0, validation_rows = val and #val or 0,
    loss = type(loss) == "string" and loss or loss_text(loss),
    images = digest(train.images), labels = digest(train.labels),
    seed = o.seed ~= nil and math.tointeger(o.seed) or false, -- a resume's is checked
    validation_images = val and digest(val.images), validation_labels = val and
    digest(val.labels), start_lr = type(opt) == "userdata" and opt.config and opt:config().lr
    or nil}
  rec.blas_core, rec.blas_threads = require("wb.state_given").blas()
  if type(loss) ~= "string" then loss_fn[rec] = loss end
  return rec
end

-- The loss function of fit record rec when it is a function (nil: a name,
-- or no record).
function M.loss_of(rec)
  return rec and loss_fn[rec]
end

-- Record rec as a state saved now holds it: a loss function's identity
-- taken again (a copy; rec itself stays what the fit began with).
function M.record_now(rec)
  local f = rec and loss_fn[rec]
  if not f then return rec end
  local now = {}
  for k, v in pairs(rec) do now[k] = v end
  now.loss = loss_text(f)
  return now
end

-- Labels beyond the model's outputs, checked before training: in the step
-- they were found only when their batch came (mid-epoch, hours in) and
-- named by their place in the shuffled batch, not their row. Only for the
-- named losses: a loss function may read labels its own way. The message is
-- wb.args.class_ids's, raised at the caller of fit; labels:max() first, as
-- class_ids makes a Lua table of every label.
function M.check_labels(model, ds, loss, what, fname)
  if loss ~= nil and type(loss) ~= "string" then return end
  local labels = ds.labels
  local n_out
  for i = #model, 1, -1 do
    local ok, v = pcall(function() return model[i].n_out end)
    if ok and math.type(v) == "integer" then n_out = v; break end
  end
  if not (n_out and M.is_tensor(labels) and labels:numel() > 0) then return end
  if labels:max() < n_out then return end
  args.class_ids(fname or "fit", labels, n_out, string.format(" (the model has %d outputs)",
    n_out), 3, "the " .. what .. "'s labels")
end

-- The values per row of dataset ds (what: "training set") against what the
-- model's first Dense takes (only Dropout, Activation, Flatten before it),
-- before any step: a validation set's was found after a whole epoch, as
-- "layer 1 (Dense 784->16): input: ...", and the training set's named a batch.
function M.check_features(model, ds, what)
  if args.typename(ds) ~= "wb.Dataset" then return end
  for i = 1, #model do
    local kind = args.typename(model[i])
    if kind == "wb.Dense" then
      local got, want, x = ds:input_size(), model[i].n_in, ds.images
      if got == want then return end
      fail(string.format("fit: the %s: x [%s] has %d values per row, the model takes %d "
        .. "(layer %d: %s)", what, table.concat(x:shape(), ", "), got, want, i,
        tostring(model[i])), 3)
    elseif kind ~= "wb.Dropout" and kind ~= "wb.Activation" and kind ~= "wb.Flatten" then
      return
    end
  end
end

-- A wb.Dataset or a table that acts as one (batch, labels). Another of
-- wb's types (wb.data.mnist()'s {train, test}) is none and is not probed:
-- it raises on a name it lacks.
function M.is_dataset(x)
  if type(x) ~= "table" then return false end
  local name = args.typename(x)
  if name ~= "wb.Dataset" and name:match("^wb%.") then return false end
  return type(x.batch) == "function" and x.labels ~= nil
end

function M.is_tensor(x)
  return type(x) == "userdata" and pcall(function() return x.numel end)
    and type(x.numel) == "function"
end

-- Argument 1 of evaluate and predict: a dataset (or a table that acts as
-- one) or a tensor.
function M.check_data(x, fname)
  if not (M.is_dataset(x) or M.is_tensor(x)) then
    args.check(fname, 1, x, "wb.Dataset|wb.Tensor", 4)
  end
end

-- A dataset over a tensor of inputs x ([n, ...] float as given, or uint8 / 255)
-- and labels y (uint8 [n]); unlabelled (predict): y is nil and the labels
-- zeros, which nothing reads. Else a missing y (evaluate(x) would score x
-- against zeros) or one that is not uint8 [n] is an error naming fname's y,
-- raised at fname's caller (level: 3, that of as_dataset's caller's caller).
function M.as_dataset(x, y, fname, unlabelled, level)
  level = level or 3
  if M.is_dataset(x) then return x end
  if not M.is_tensor(x) then
    fail(fname .. ": expected a dataset or a tensor [n, 784], got " .. tostring(x), level)
  end
  local n = #x
  if unlabelled then return wb.data.Dataset(x, wb.new_tensor({n}, "uint8"), "input") end
  if y == nil then
    fail(string.format("%s: no labels: %s(x) needs y, the class ids of x's %d rows (uint8 "
      .. "[%d]): %s(x, y, opts), or a dataset", fname, fname, n, n, fname), level)
  end
  local shape = "[" .. table.concat(y:shape(), ", ") .. "]"
  if y:dtype() ~= "uint8" or shape ~= "[" .. n .. "]" then
    local hint = ""
    if y:dim() == 2 and y:size(1) == n and y:size(2) > 1 then -- Keras's to_categorical rows
      hint = string.format(" (one-hot rows, as Keras's categorical_crossentropy takes them: "
        .. "their class ids are wb.new_tensor({%d}, \"uint8\"):copy(y:argmax(2) - 1); every "
        .. "loss here takes class ids)", n)
    elseif y:dtype() ~= "uint8" then
      hint = string.format(" (float class ids: wb.new_tensor({%d}, \"uint8\"):copy(y))", n)
    end
    fail(string.format("%s: y: expected labels uint8 [%d] (class ids, one per row of x), got "
      .. "%s %s%s", fname, n, y:dtype(), shape, hint), level)
  end
  return wb.data.Dataset(x, y, "input")
end

-- The activation of the model's head, the last layer: a Dense's or an
-- Activation's (Keras's Dense then Activation("softmax")), or a Lua
-- layer's with backward_logits and logits, else nil.
function M.head_activation(model)
  local last = #model > 0 and model[#model] -- (model[0] is an error: no such layer)
  local kind = last and kind_of(last)
  if kind == "Dense" or kind == "Activation" then return last.activation end
  -- a Lua layer of one's own with the Dense's logits methods
  if type(last) == "table" and member(last, "backward_logits") and member(last, "logits") then
    return member(last, "activation")
  end
  return nil
end

-- An Activation('linear') last (or several) passes on what the layer before
-- gives: after a softmax, probabilities, which the default cross-entropy took
-- as logits (a second softmax: a new user's loss 1.71 for 0.56, tryG 1);
-- after a relu, sigmoid or tanh, a head refused alone. An error naming it.
function M.check_hidden_head(model, fname, level)
  local i = #model
  while i > 1 and kind_of(model[i]) == "Activation" and model[i].activation == "linear" do
    i = i - 1
  end
  if i == #model then return end
  local kind = kind_of(model[i])
  local act = (kind == "Dense" or kind == "Activation") and model[i].activation
  if act and act ~= "linear" then
    fail(string.format("%s: the last layer (%s) passes on layer %d's %s output unchanged, "
      .. "which the loss would take as logits; remove the Activation('linear') (a softmax "
      .. "head's output is taken as probabilities)", fname, tostring(model[#model]), i, act),
      level)
  end
end

-- The loss layer: the last layer must be a Dense or an Activation with
-- softmax (or linear logits); the cross-entropy is fused with it.
function M.check_head(self, fname, level)
  level = level or 3
  if #self == 0 then fail(fname .. ": the model has no layers", level) end
  local last = self[#self]
  local act = M.head_activation(self)
  M.check_hidden_head(self, fname, level + 1)
  if act ~= "softmax" and act ~= "linear" then
    -- per_sample reads a Dense head's logits: it refused the Activation this offered
    fail(string.format("%s: the last layer must be Dense(..., {activation = "
      .. "'softmax'})%s (cross-entropy is fused with it; 'linear': "
      .. "its output taken as logits), got %s", fname, fname == "per_sample" and ""
      or " or Activation('softmax')", tostring(last)), level)
  end
  return last
end

-- The logits of the model's last forward, which the fused cross-entropy
-- takes: a Dense head's pre-activation, an Activation head's input (the
-- gradient w.r.t. them goes to model:backward_logits). A view, valid until
-- the next forward.
function M.head_logits(model)
  local n = #model
  if getmetatable(model[n]) == ACTIVATION then return model._h[n] end
  return model[n]:logits()
end

-- fit's optimizer option, another model's refused: wb/fit_optimizer.lua
M.make_optimizer = require("wb.fit_optimizer").make_optimizer

-- The order of shuffle = false.
function M.identity_perm(n)
  local t = {}
  for i = 1, n do t[i] = i end
  return wb.tensor(t)
end

-- grad_check given where there is nothing to check: a built-in loss
-- (loss_obj.user false: wb's own gradient) and no Lua layer. It did
-- nothing, without a word: true checked nothing, false skipped nothing.
function M.check_grad_check(opts, model, loss_obj)
  if opts.grad_check == nil or loss_obj.user then return end
  for i = 1, #model do if type(model[i]) == "table" then return end end
  fail(string.format("fit: grad_check = %s %s a Lua loss function's gradient (loss = "
    .. "function(output, labels) -> value, grad_output) and Lua layers' backward, but the "
    .. "loss %s is built in and the model has no Lua layer: nothing to check (drop "
    .. "grad_check)", tostring(opts.grad_check), opts.grad_check and "checks"
    or "skips the check of", opts.loss == nil
    and "\"sparse_categorical_crossentropy\" (the default)"
    or string.format("%q", tostring(opts.loss))), 3)
end

-- log_every = k logs the global steps k, 2k, ... (counted over the run, from
-- 1; a resume goes on counting): a run ending before step k logged none,
-- and history.steps came back empty without a word (audit tryW, finding
-- 4). Known before any step (unless a hook stops the run early), so said
-- then, on stderr. Not an error: k is an interval, meant for the full data;
-- the same config on a few hundred rows (a study's --quick, README's
-- example in a test) is a short run, not a mistake. rs: a resume's state
-- (its step, its epochs done, a mid-epoch position; a stopped one trains
-- nothing and is left alone).
function M.warn_log_every(every, rs, epochs, initial, per_epoch)
  if not every or (rs and rs.stopped) then return end
  local done = rs and rs.step or 0
  local last = done + (epochs - initial) * per_epoch - (rs and rs.mid and rs.mid.step or 0)
  if last >= every then return end
  io.stderr:write(string.format("fit: log_every = %d but %s: no step will be logged in "
    .. "history.steps (it records the steps %d, %d, ...)\n", every, rs and string.format("the "
    .. "run, resumed after step %d, ends at step %d", done, last) or string.format("the fit "
    .. "has %d steps (%d epoch%s of %d)", last, epochs - initial, epochs - initial == 1 and ""
    or "s", per_epoch), every, 2 * every))
end

-- fit's validation set (opts.validation: a dataset or Keras's pair {x, y}
-- of tensors; or the tail of train, opts.validation_split) and the training
-- set left; errors at fit's caller.
function M.validation(train, opts)
  local val = opts.validation
  if val == nil and opts.validation_split ~= nil then
    local ok, tr, va = pcall(train.split, train, opts.validation_split)
    if not ok then fail("fit: " .. tostring(tr), 3) end
    train, val = tr, va
  end
  if type(val) == "table" and not M.is_dataset(val) and M.is_tensor(rawget(val, 1)) then
    -- Keras's validation_data = (x_val, y_val): a pair {x, y} of tensors
    local keys = 0
    for _ in pairs(val) do keys = keys + 1 end
    if #val ~= 2 or keys ~= 2 then
      fail("fit: validation as a pair is {x, y} (two tensors), got a table of " .. keys
        .. " entries", 3)
    end
    val = M.as_dataset(val[1], val[2], "fit: validation", nil, 4)
  end
  if val ~= nil and not M.is_dataset(val) then
    fail("fit: validation must be a dataset or a pair {x, y} of tensors, got "
      .. tostring(val), 3)
  end
  return train, val
end

return M
