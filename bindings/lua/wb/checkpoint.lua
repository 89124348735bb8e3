-- wb/checkpoint.lua: model:save, model:save_weights, model:load_weights,
-- wb.load. Files are safetensors (wb.io, core/safetensors.c), written
-- atomically, readable from Python (`safetensors.numpy.load_file`).
--
-- Tensor names: layers.<i>.weight and layers.<i>.bias (i = 1-based index of
-- the layer in the Sequential; kernels [n_in, n_out], Keras layout). A layer
-- with other parameters gets layers.<i>.param<k>. Metadata (string ->
-- string): "format" = "workbench", "workbench.version", and for model:save
-- "workbench.architecture", a JSON list of layer configs
--   [{"kind":"Dense","n_in":784,"n_out":128,"activation":"relu","l2":0,
--     "init":"glorot_uniform","use_bias":true}, {"kind":"Dropout","rate":0.3},
--    {"kind":"Activation","activation":"tanh"}, {"kind":"Flatten"}]
-- from which wb.load rebuilds the model (wb/arch.lua writes it; a Lua
-- layer as its config() or {"kind":"unknown",...,"fields":{...}}). Rebuilding draws initial weights
-- from the global generator (then overwritten): wb.load advances it.
--
-- load_weights checks every name, shape, dtype and value (finite) first,
-- then the file's workbench.architecture when it has one (what computes,
-- not l2 or init), and copies only when all match: on any mismatch the
-- model is unchanged and the error names the file and the tensor or layer.
-- save refuses non-finite weights. load_weights and wb.load also read a
-- training state (model:save_state, format "workbench-state"): its
-- layers.<i>.* tensors, not its optimizer.*, callbacks.* and fit.* ones,
-- after its checksum (workbench.checksum) as fit's resume checks it.
local _ENV = require "wb.std"
local args = require "wb.args"
local wb = require "wb"
local cjson = require "cjson"
local Sequential = wb.nn.SequentialClass

local arch = require "wb.arch"
local fitstate = require "wb.state_fit"
local build_layer = require "wb.checkpoint_build"
local kind_of = arch.kind_of

-- Names and tensors of the model's parameters, in order.
local function named_params(model)
  local names, tensors = {}, {}
  for i = 1, #model do
    local layer = model[i]
    if layer.parameters then
      local ps = layer:parameters()
      for k, p in ipairs(ps) do
        local suffix = (k == 1 and "weight") or (k == 2 and "bias") or ("param" .. k)
        if kind_of(layer) == "Dense" and k == 2 and not layer.use_bias then
          suffix = "param2"
        end
        names[#names + 1] = string.format("layers.%d.%s", i, suffix)
        tensors[#tensors + 1] = p
      end
    end
  end
  return names, tensors
end

-- The keys save writes or a loader reads: a caller's metadata may not set
-- them (a workbench.checksum of its own would make the file refused).
local RESERVED = {"format", "workbench.version", "workbench.architecture",
  "workbench.checksum"}

-- The file's metadata: the library's, then the caller's (opts.metadata:
-- string -> string, as safetensors keeps it; checked, raised at level as
-- the caller's mistake: one line, no traceback into here, tryZ C2).
local function metadata(model, with_arch, extra, fname, level)
  local meta = {format = "workbench", ["workbench.version"] = tostring(wb.version)}
  if with_arch then meta["workbench.architecture"] = arch.architecture(model) end
  if extra == nil then return meta end
  if type(extra) ~= "table" then
    args.input_fail(string.format("%s: metadata must be a table of strings, got %s", fname,
      type(extra)), level + 1)
  end
  for k, v in pairs(extra) do
    if type(k) ~= "string" or type(v) ~= "string" then -- no tostring: 1 and 1.0 differ
      args.input_fail(string.format("%s: metadata %s: expected a string %s (safetensors "
        .. "metadata is string -> string), got a %s", fname, type(k) == "string"
        and "'" .. k .. "'" or "key " .. tostring(k), type(k) == "string" and "value" or "key",
        type(k) == "string" and type(v) or type(k)), level + 1)
    end
    for _, r in ipairs(RESERVED) do
      if k == r then
        args.input_fail(string.format("%s: metadata '%s' is the library's (it writes or "
          .. "reads %s)", fname, k, table.concat(RESERVED, ", ")), level + 1)
      end
    end
    meta[k] = v
  end
  return meta
end

-- err raised again at the caller of the function calling this (`level` as
-- error's), keeping a wb.Error's code: the position goes into its message.
local function reraise(err, level)
  if not wb.is_error(err) then error(err, level + 1) end
  local at = debug.getinfo(level + 1, "Sl")
  local pos = at and at.currentline > 0 and (at.short_src .. ":" .. at.currentline .. ": ") or ""
  error(wb.Error{code = err.code, path = err.path, message = pos .. err.message}, 0)
end

-- Raise (code, naming the file, the tensor and the first NaN or infinity's
-- position) when tensor t, named name in the file at path, is not finite:
-- a checkpoint of NaN weights would load and score plausibly wrong numbers.
local function check_finite(path, name, t, code, prefix)
  local ok, e = pcall(args.check_finite, path, "tensor '" .. name .. "'", t, 1)
  if not ok then
    error(wb.Error{code = code, path = path, message = prefix .. (wb.is_error(e)
      and e.message or tostring(e))}, 0)
  end
end

local function write(model, path, with_arch, fname, opts)
  if type(path) ~= "string" then
    error(fname .. ": expected a file name, got " .. type(path), 3)
  end
  opts = args.options(fname, 2, opts, {"metadata"}, 4)
  local meta = metadata(model, with_arch, opts.metadata, fname, 3)
  local names, tensors = named_params(model)
  local map = {}
  for i, name in ipairs(names) do map[name] = tensors[i] end
  for i, name in ipairs(names) do -- before the file is touched
    local ok, err = pcall(check_finite, path, name, tensors[i], "ENONFINITE", fname .. ": ")
    if not ok then reraise(err, 3) end
  end
  -- the checksum save_state writes (audit X10: an edited architecture or a
  -- flipped weight bit loaded without a word); a loader refuses a file its
  -- content no longer matches, and takes one without (Python's)
  meta[fitstate.CHECKSUM] = fitstate.checksum(map, meta)
  local ok, err = pcall(wb.io.save_safetensors, path, map, meta)
  -- a path that cannot be created (a missing folder) is the caller's to
  -- fix: one line with its status (73), not a traceback (tryZ C2)
  if not ok and wb.is_error(err) and err.code == "ECREATE" then
    args.raise(require("wb.spec_keys").input_error(err.message, err.code), 3)
  end
  if not ok then reraise(err, 3) end
end

---wb.Sequential:save(path, opts) -> wb.Sequential
---Writes the weights and the architecture to a safetensors file
---(atomically), so that wb.load rebuilds the model. A NaN or infinite
---weight is an error (ENONFINITE) naming the tensor and position, and
---nothing is written. Tensor names
---layers.<i>.weight / .bias (kernels [n_in, n_out], Keras layout); readable
---from Python (safetensors.numpy.load_file). opts: metadata, {key =
---string} added to the file's metadata (safetensors keeps strings only: a
---number is an error; format, workbench.version, workbench.architecture and
---workbench.checksum are the library's: an error). Python reads it from
---the header's __metadata__ (safetensors.safe_open(path, "np").metadata()).
---workbench.checksum is a hash of the tensors and the rest of the metadata:
---wb.load and load_weights refuse a file it no longer matches (a file
---written anew from Python leaves it out, and loads by its content alone).
---The experiment runner writes the run's provenance there
---(workbench.task, hash, seed, git_commit, epoch...: help(wb.train)).
---@param path string
---@param opts? table
---@return wb.Sequential
---Example: m:save("m.safetensors", {metadata = {["workbench.note"] = "lr 1e-3"}})
function Sequential:save(path, opts)
  args.self(Sequential, self, "save", "model")
  write(self, path, true, "save", opts)
  return self
end

---wb.Sequential:save_weights(path, opts) -> wb.Sequential
---Writes the weights only (load them into a model of the same architecture
---with model:load_weights). Non-finite weights: an error, as save's. opts:
---metadata, as save's.
---@param path string
---@param opts? table
---@return wb.Sequential
---Example: m:save_weights("w.safetensors")
function Sequential:save_weights(path, opts)
  args.self(Sequential, self, "save_weights", "model")
  write(self, path, false, "save_weights", opts)
  return self
end

local function shape_str(t) return "[" .. table.concat(t:shape(), ", ") .. "]" end

-- A file whose tensors do not fit: EFORMAT (exit status 65), naming it.
local function mismatch(path, fmt, ...)
  error(wb.Error{code = "EFORMAT", path = path, message = string.format(fmt, ...)}, 0)
end

-- Check the file's tensors against the model's; raise naming the first
-- mismatch. Copies nothing.
local function check_tensors(model, path, file)
  local names, tensors = named_params(model)
  local expected = {}
  for i, name in ipairs(names) do
    expected[name] = true
    local t = file[name]
    if t == nil then
      mismatch(path, "%s: missing tensor '%s' (expected %s)", path, name,
        shape_str(tensors[i]))
    end
    if t:dtype() ~= tensors[i]:dtype() then
      mismatch(path, "%s: tensor '%s': expected dtype %s, got %s", path, name,
        tensors[i]:dtype(), t:dtype())
    end
    if shape_str(t) ~= shape_str(tensors[i]) then
      local s = t:shape()
      local swapped = #s == 2 and s[1] ~= s[2] -- a Python user's likeliest slip
        and shape_str(tensors[i]) == string.format("[%d, %d]", s[2], s[1])
      mismatch(path, "%s: tensor '%s': expected shape %s, got %s%s", path, name,
        shape_str(tensors[i]), shape_str(t), swapped and " (the transpose: kernels are "
        .. "[n_in, n_out], Keras's layout; PyTorch's nn.Linear.weight is [n_out, n_in])" or "")
    end
    check_finite(path, name, t, "EFORMAT", "")
  end
  local extra = {}
  for name in pairs(file) do
    if not expected[name] then extra[#extra + 1] = name end
  end
  if #extra > 0 then
    table.sort(extra)
    mismatch(path, "%s: unexpected tensor '%s' (the model has no such "
      .. "parameter: different architecture?)", path, extra[1])
  end
  return names, tensors
end

-- A file that names the architecture its weights are for (workbench.architecture:
-- model:save's, save_state's) loads only into that one: the same shapes under
-- another activation, dropout rate or layer kind compute another function of
-- them. Compared: what decides the function (wb/arch.lua's arch_diff with
-- weights_only: not a Dense's l2 or init, which only train). A Dense key the
-- file leaves out (written by hand) is the default, as wb.load builds it. A
-- file without it (save_weights', Python's) loads by names and shapes alone.
local function check_arch(model, path, meta)
  local json = meta["workbench.architecture"]
  if json == nil then return end
  local ok, saved = pcall(cjson.decode, json)
  if not ok or type(saved) ~= "table" then
    mismatch(path, "%s: bad workbench.architecture metadata (not a JSON list)", path)
  end
  local d = wb.nn.Dense(1, 1, {init = "zeros"}) -- the defaults; "zeros" draws nothing
  for _, cfg in ipairs(saved) do
    if type(cfg) == "table" and cfg.kind == "Dense" then
      for _, k in ipairs{"activation", "l2", "use_bias"} do
        if cfg[k] == nil then cfg[k] = d[k] end
      end
    end
  end
  local diff = arch.arch_diff(saved, model, true)
  if diff then
    mismatch(path, "%s: saved from another architecture (%s; there: the file's "
      .. "workbench.architecture, here: this model): nothing loaded (wb.load(path) rebuilds "
      .. "the saved model)", path, diff)
  end
end

-- Copy the file's weights into model when they fit it (check_tensors) and,
-- given the file's metadata (load_weights), its architecture is model's.
local function apply(model, path, file, meta)
  local names, tensors = check_tensors(model, path, file)
  if meta then check_arch(model, path, meta) end
  for i, name in ipairs(names) do tensors[i]:copy(file[name]) end
end

-- The file at path read (errors raised at the caller of the function
-- calling this, keeping their code); a training state (model:save_state)
-- keeps its weights, layers.<i>.*: its optimizer.*, callbacks.* and fit.*
-- tensors are the training's, not the model's (wb/state.lua).
local function read(path, fname)
  local ok, file, meta = pcall(wb.io.load_safetensors, path)
  if not ok then reraise(file, 3) end
  -- a file that carries a checksum (save's, save_weights', save_state's)
  -- loads only as written: the resume's check (wb/state_fit.lua), refused as
  -- it refuses (EFORMAT, exit status 65); of the whole file, optimizer.* too,
  -- before any is set aside. One without (Python's, an older workbench's) is
  -- taken, as by the resume.
  if meta[fitstate.CHECKSUM] ~= nil then
    local changed = fitstate.changed(file, meta)
    if changed then
      reraise(wb.Error{code = "EFORMAT", path = path, message = path .. ": " .. changed
        .. "; nothing loaded"}, 3)
    end
  end
  if meta.format == "workbench-state" then
    local note = require("wb.state_end").note(fname, path, meta) -- not the model's weights
    if note then io.stderr:write(note) end
    local weights = {}
    for name, t in pairs(file) do
      if name:match("^layers%.") then weights[name] = t end
    end
    file = weights
  end
  return file, meta
end

---wb.Sequential:load_weights(path) -> wb.Sequential
---Copies the weights of a file written by save or save_weights into this
---model (same architecture), or the weights of a training state
---(save_state: the weights its last epoch ended with, not those an
---on_train_end hook or EarlyStopping's restore_best_weights left in the
---model: a line on stderr says so, naming both). Every name, shape, dtype
---and value is checked first (a NaN or infinite weight is EFORMAT naming its
---position): on any mismatch
---nothing is copied and the error names the file and the tensor. A file
---with the architecture (save's and save_state's metadata
---workbench.architecture) loads only into a model computing the same
---function: another layer kind or count, activation or dropout rate is
---EFORMAT naming the file, the layer and both values (a width or use_bias
---changes the tensors: named by them; a Dense's l2 and init are not
---compared: they only train; a Lua layer is compared by its kind or
---config()). A file without it (save_weights',
---one written by Python) loads by names and shapes alone (wb.load refuses
---it: it has nothing to build from). A file with a checksum (save's,
---save_weights', save_state's) that its content no longer matches (a bit
---flipped, an edit of a tensor or of the metadata) is EFORMAT naming it, as
---fit's resume refuses it.
---@param path string
---@return wb.Sequential
---Example: m:load_weights(run:weights_path())
function Sequential:load_weights(path)
  args.self(Sequential, self, "load_weights", "model")
  if type(path) ~= "string" then
    error("load_weights: expected a file name, got " .. type(path), 2)
  end
  local file, meta = read(path, "load_weights")
  local ok, err = pcall(apply, self, path, file, meta)
  if not ok then reraise(err, 2) end
  return self
end

-- A malformed file: exit status 65 (README, Exit status), naming the file,
-- raised at wb.load's caller (wb.sys.fail here gave checkpoint.lua's line).
local function bad_arch(path, fmt, ...)
  reraise(wb.Error{code = "EFORMAT", path = path, message = path
    .. ": bad workbench.architecture metadata: " .. string.format(fmt, ...)}, 3)
end

---wb.load(path) -> wb.Sequential
---Rebuilds a model saved with model:save (or model:save_state: with the
---weights its last epoch ended with, not those EarlyStopping's
---restore_best_weights or an on_train_end hook left in the model, which
---model:save writes; a line on stderr then says so, naming both): its layers
---from the stored architecture, then its weights (a file without one, as
---save_weights writes: EFORMAT; so is a NaN or infinite weight, naming the
---tensor and its position). Building the layers draws from the global
---generator (wb.seed), so wb.load advances it. A layer's key its kind does
---not take (a misspelt "activaton" in a file written by hand) is EFORMAT
---naming it, never its default. A Lua layer is rebuilt only
---from its config() by wb.nn[kind](config); any other: EFORMAT naming it
---(build the model and call model:load_weights). A file with a checksum
---(save's, save_weights', save_state's) that its content no longer matches
---(a bit flipped, an edit of a tensor or of the metadata) is EFORMAT naming
---it, as fit's resume refuses it.
---@param path string
---@return wb.Sequential
---Example: local run = wb.runs.find{task = "task05_dropout", dropout = 0.3, seed = 1}[1]
---  local m = wb.load(run:weights_path()) -- <root>/runs/task05_dropout-<hash>.safetensors
function wb.load(path)
  if type(path) ~= "string" then error("load: expected a file name, got " .. type(path), 2) end
  local file, meta = read(path, "wb.load")
  local arch_json = meta["workbench.architecture"]
  if not arch_json then -- not a file wb.load reads: EFORMAT (exit status 65)
    reraise(wb.Error{code = "EFORMAT", path = path, message = path .. ": no "
      .. "'workbench.architecture' metadata (" .. (meta.format == "workbench-state"
        and "a training state written before save_state kept it" or "saved with save_weights?")
      .. "): build the model and call model:load_weights"}, 2)
  end
  local ok, cfgs = pcall(cjson.decode, arch_json)
  if not ok then bad_arch(path, "%s", tostring(cfgs)) end
  if type(cfgs) ~= "table" then bad_arch(path, "expected a list, got %s", type(cfgs)) end
  for k in pairs(cfgs) do
    if math.type(k) ~= "integer" or k < 1 or k > #cfgs then
      bad_arch(path, "expected a list of layers, got the key %s", tostring(k))
    end
  end
  for i, cfg in ipairs(cfgs) do -- a Lua layer: not the file's fault, say what to do
    if type(cfg) == "table" and cfg.kind == "unknown" then -- as save wrote a Lua layer
      local desc = cfg.description ~= "a Lua layer" and cfg.description -- its __tostring's
      reraise(wb.Error{code = "EFORMAT", path = path, message = string.format("%s: layer %d "
        .. "is a Lua layer%s, which wb.load cannot rebuild: build the model as it was "
        .. "built and call model:load_weights(path), which reads its weights (a training "
        .. "state's too)", path, i, desc and " (" .. tostring(desc) .. ")" or "")}, 2)
    end
  end
  local model = wb.nn.Sequential{}
  for i, cfg in ipairs(cfgs) do
    local okl, layer = pcall(build_layer, cfg)
    if not okl then
      local why = tostring(layer):gsub("^[^\n:]+%.lua:%d+: ", "") -- the file is at fault
      bad_arch(path, "layer %d (%s): %s", i, type(cfg) == "table" and tostring(cfg.kind)
        or "?", why)
    end
    local okadd, e = pcall(model.add, model, layer) -- widths that do not chain
    if not okadd then bad_arch(path, "%s", (tostring(e):gsub("^[^\n:]+%.lua:%d+: ", ""))) end
  end
  local oka, err = pcall(apply, model, path, file)
  if not oka then reraise(err, 2) end
  return model
end

-- For wb/state.lua (save_state and fit's resume): the parameter names and
-- the checked copy of a file's weights into a model.
return {named_params = named_params, apply = apply, architecture = arch.architecture,
  reraise = reraise, exact_json = arch.exact_json}
