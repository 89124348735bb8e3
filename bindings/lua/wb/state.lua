-- wb/state.lua: model:save_state and fit's resume: the full training state
-- in one safetensors file (written atomically), so that training 3 epochs
-- straight and 2 epochs + save_state + fit{resume = path} 1 more give
-- bit-identical weights and histories.
--
-- The file (Python: safetensors.numpy.load_file, and the header's
-- __metadata__ for the rest):
--   tensors  layers.<i>.weight / .bias      the weights (as model:save)
--            fit.layer.<i>.<field>          a Lua layer's tensor fields
--                                           but its parameters (its running
--                                           mean: wb/state_layers.lua)
--            optimizer.<name>.m / .v        the optimizer's buffers per
--                                           parameter (SGD velocity is m,
--                                           RMSprop's mean square is m)
--   metadata format = "workbench-state"
--            workbench.state   JSON {epoch (completed), step (global step
--                              count), rng (wb.rng_state()), lua_rng
--                              (wb.sys.math_random_state(): the hooks'
--                              math.random), optimizer =
--                              {name, config, iterations}, stopped, fit =
--                              {batch_size, rows, shuffle, loss,
--                              validation_rows, images, labels, ...: the
--                              data's hashes, blas_core, blas_threads: the
--                              OpenBLAS kernel and thread count, start_lr:
--                              the lr as the fit started}: checked on resume, mid
--                              (saved inside an epoch by ModelCheckpoint
--                              {save_freq}: {epoch, step, the epoch's sums,
--                              epoch_lr}, with the tensor fit.perm, the
--                              epoch's permutation)}
--            workbench.history JSON of the History (numbers to 17 digits,
--                              so that they read back exactly)
--            workbench.history_integers  JSON list of the places in it
--                              holding Lua integers (wb/state_ints.lua)
--            workbench.callbacks JSON list {kind, state, settings} of
--                              fit's callbacks that have get_state (their
--                              tensors are callbacks.<j>.<key>..., j
--                              counting these only, not list positions;
--                              settings: a library callback's options)
--            workbench.hooks   JSON list {callback, values = {hook, name,
--                              value}}: the numbers, strings and booleans
--                              the hooks of fit's callbacks without
--                              get_state keep in their closures and fields
--                              (wb/state_hooks.lua), when any: compared on
--                              resume
--            workbench.callback_list  JSON list {kind, code, what, at}:
--                              fit's callbacks in order (their class, or a
--                              Lambda's hooks' code; wb/state_list.lua): a
--                              resume with one left out, added or moved is
--                              refused
--            workbench.tag     save_state's tag, when given
--            workbench.architecture  as model:save writes it: a resume
--                              into a model with other layers (an
--                              activation, l2, a dropout rate, a Lua
--                              layer's fields) is refused; wb.load
--                              rebuilds the model from it
--            workbench.layer_fields  JSON {[i] = {{field, value,
--                              integer}}}: the numbers, strings and booleans
--                              each Lua layer keeps (wb/state_layers.lua)
--            workbench.layer_code  the identity of each Lua layer's
--                              methods (wb/arch.lua): checked on resume
--            workbench.checksum  of the rest (tensors and metadata,
--                              wb/state_fit.lua): checked on resume
-- A callback keeps state across a resume when it has get_state() -> table
-- (plain data and tensors) and set_state(table) (wb/state_callbacks.lua):
-- on resume the j-th callback of a kind takes the j-th saved state of that
-- kind, and the resume is refused when a library callback's settings are
-- not the saved ones, when a stateful callback has no saved state or a
-- saved state no callback takes, and when fit's instruments are given or
-- dropped on resume (errors name the instruments option, as their
-- distance would otherwise start again at the resume). Not saved: the
-- dataset (its hash is, in workbench.state's fit, to compare) and the
-- other fit options.
local _ENV = require "wb.std"
local wb = require "wb"
local cjson = require "cjson"
local args = require "wb.args"
local History = require "wb.history"
local ckpt = require "wb.checkpoint"
local fitstate = require "wb.state_fit"
local midstate = require "wb.state_mid" -- a state inside an epoch
local cbstate = require "wb.state_callbacks"
local hookstate = require "wb.state_hooks"
local cblist = require "wb.state_list" -- the fit's callbacks, in order
local ends = require "wb.state_end"
local ints = require "wb.state_ints"
local layerstate = require "wb.state_layers" -- a Lua layer's tensor fields
local fa = require "wb.fit_args" -- the fit's record and its loss function
local given = require "wb.state_given" -- the optimizer and BLAS a resume is given
local check_epochs, same = fitstate.check_epochs, fitstate.same
local Sequential = wb.nn.SequentialClass
local M = {}

local SLOT_NAMES = {"m", "v"}

-- {==================== exact JSON ====================

-- Written by wb/checkpoint.lua's exact_json (every double exact, keys
-- sorted). Decoded JSON back to Lua: null -> NaN inside lists (a series keeps its
-- length), integral floats that were integers -> integers for counts.
local function undecode(v)
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = undecode(x) end
    return out
  end
  if v == cjson.null then return 0 / 0 end
  return v
end

-- }====================
-- {==================== callback state ====================

-- restore_callbacks(cbs, saved, path):
-- for fit, after the callbacks' on_train_begin: gives each callback with
-- set_state its saved state (wb/state_callbacks.lua, which refuses a
-- resume whose stateful callbacks are not the saved fit's).
M.restore_callbacks = cbstate.restore

-- }====================
-- {==================== save ====================

-- The state's math.random (wb.sys.math_random_state, at fit's end when it
-- ended: fin): only when the fit drew from it, or resumed one that had.
-- Lua seeds math.random anew in every process, so a state that always held
-- it differed, byte for byte, for one training saved by two processes.
local function lua_rng(model, fin)
  local now = fin.rng and fin.lua_rng or wb.sys.math_random_state()
  local at_start = rawget(model, "_fit_lua_rng0") -- "" after a resume that had one
  return now ~= at_start and now or nil
end

---wb.Sequential:save_state(path, opts) -> wb.Sequential
---Writes the full training state after a fit (weights, optimizer state with
---its moments and step count, completed epochs, global step, RNG state,
---history, the architecture and the code of Lua layers' methods (a resume
---into another model is refused; a Lua layer's tensor fields that are not
---its parameters, e.g. a running mean, are kept and given back on resume;
---wb.load and load_weights read the weights), the state of the fit's
---callbacks that have get_state:
---EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, with the options it
---depends on (a resume whose callbacks' differ, or that gives a stateful
---callback the saved fit had not, is refused naming them); whether the fit was
---stopped, the fit's batch_size, rows, shuffle, loss and validation rows
---that a resume must repeat) atomically to a safetensors file;
---model:fit(train, {resume = path, epochs = n}) continues from it bit for
---bit (but hess_max and plain SGD's alpha: to rounding, see wb.instruments; a stopped fit
---stays stopped) on the OpenBLAS kernel and thread count it records (a resume on others is
---refused naming them; a state saved before they were kept is not checked). The weights,
---RNG, optimizer (lr, moments, step count), stop and history are those the last epoch ended
---with, also when an on_train_end hook then changed them (EarlyStopping
---restoring the best weights: wb.load and load_weights of the file say so on
---stderr; a hook setting the lr, resetting the
---optimizer: history.optimizer_resets records it, the state's history not)
---or the generator was drawn from since (weights, lr or optimizer set by
---hand after fit are written as set). The numbers, strings and booleans a
---callback without get_state keeps in its hooks' closures or its fields are
---written too, and a resume whose callbacks hold others is refused naming
---them (a Lambda counting steps in a local: "upvalue k saved 40, given 0";
---a LearningRateScheduler's schedule counting its calls alike, and a loss
---function's, whose identity is taken at the save; tables are not
---compared, but a LearningRateScheduler's schedule is compared by its
---identity too, tables it closes over by content; wb/state_hooks.lua).
---The fit's callbacks are listed in order (their class; of a Lambda or a
---callback table, its hooks' code), and a resume must give the same, in the
---same order: one left out (a LearningRateScheduler), added or moved is
---refused, naming it and the saved list (a CSVLogger, which writes a file,
---may be added or left out; fit's instruments and cockpit are options). An
---optimizer given must have the saved config; its lr may be, instead of the saved one, the
---one the saved fit started with (the original script's, also when a schedule changed the lr
---in epoch 1 already) or its first epoch's (history.lr[1]; of a state saved before the start
---was kept, only this): said, and the fit goes on at the saved lr.
---Inside an epoch (a batch
---hook, on_epoch_end, a fit that raised there) there is no exact state: an
---error, except at the
---clean point after a step where ModelCheckpoint{save_state = true,
---save_freq = k} saves (the resume goes on inside the epoch). opts: tag (a
---string kept in the file as metadata workbench.tag, e.g. the run that
---wrote it). Python reads it as README's safetensors() does (tensors
---layers.<i>.weight, optimizer.<name>.m/.v, fit.layer.<i>.<field>: a Lua
---layer's tensor fields; fit.perm inside an epoch: its permutation, 1-based
---row indices as float32; callbacks.<j>.<key>: a callback state's tensors,
---e.g. EarlyStopping's best weights, j counting only the callbacks with
---get_state in fit's order, not positions in the callbacks list (after a
---CSVLogger, the first EarlyStopping's are callbacks.1.*; resume errors
---name a callback by its position, "EarlyStopping (callbacks[2])"); JSON in the metadata:
---workbench.state's optimizer has its config and iterations). In PyTorch's
---terms: Adam/AdamW's m and v are exp_avg and exp_avg_sq; SGD's m is
---Keras's velocity (m = momentum m - lr g; w += m), -lr times
---momentum_buffer at a constant lr; RMSprop's m is square_avg. The updates
---are Keras's: Adam's eps is added to sqrt(v) before bias correction,
---RMSprop's inside the square root (tests/lua/test_audit_loop4_state.lua).
---ModelCheckpoint{save_state = true} calls it after every epoch.
---@param path string
---@param opts? table
---@return wb.Sequential
---Example: m:fit(d.train, {epochs = 2}); m:save_state("s.safetensors")
---  m:fit(d.train, {epochs = 3, resume = "s.safetensors"})
function Sequential:save_state(path, opts)
  args.self(Sequential, self, "save_state", "model")
  args.check("save_state", 1, path, "string")
  opts = args.options("save_state", 2, opts, {"tag"})
  if opts.tag ~= nil and type(opts.tag) ~= "string" then
    args.input_fail("save_state: tag must be a string, got " .. type(opts.tag), 2)
  end
  local h, opt = rawget(self, "history"), rawget(self, "optimizer")
  if not h or not opt then
    args.input_fail("save_state: the model has no training state yet (call fit first)", 2)
  end
  if type(opt) ~= "userdata" or not opt.state then
    args.input_fail("save_state: the optimizer " .. tostring(opt) .. " cannot export its state "
      .. "(a wb.optim optimizer can)", 2)
  end
  local busy, mid = rawget(self, "_fit_busy"), rawget(self, "_fit_mid")
  if busy and not mid then
    args.input_fail("save_state: fit is (or was interrupted) " .. busy .. ", where its state "
      .. "cannot be resumed exactly (the epoch's position and sums, the other callbacks' counters "
      .. "are not saved): save with callbacks = {wb.callbacks.ModelCheckpoint{path, save_state = "
      .. "true}} (at epoch ends; add save_freq = k for every k steps), or after fit returns", 2)
  end
  local names, tensors = ckpt.named_params(self)
  local fin = rawget(self, "_fit_end") or {}
  local swapped = fin.weights and (fin.during or same(tensors, fin.after))
  if swapped then tensors = fin.weights end -- the last epoch's, not the model's
  local at = ends.at_save(self, fin) -- the rest of that moment
  local map = {}
  for i, name in ipairs(names) do map[name] = tensors[i] end
  local os = at.state or opt:state()
  for i, b in ipairs(os.buffers) do
    local p = (i - 1) // os.slots + 1
    map[string.format("optimizer.%s.%s", names[p], SLOT_NAMES[(i - 1) % os.slots + 1])] = b
  end
  layerstate.save(self, map) -- a Lua layer's running mean is state, as the weights are
  local config = at.config or opt:config()
  local midst
  if mid then -- ModelCheckpoint{save_freq}: a clean point inside an epoch (wb/fit_loop.lua)
    midst = midstate.mid_state(mid, rawget(self, "_fit_callbacks"))
    map["fit.perm"] = mid.perm
  end
  local st = {epoch = History._last_epoch(h), -- initial_epoch + epochs: the epoch's number
    step = mid and mid.gstep or rawget(self, "_fit_step") or 0, mid = midst,
    rng = fin.rng or wb.rng_state(), lua_rng = lua_rng(self, fin),
    optimizer = {name = config.name, config = config, iterations = at.iterations or
      os.iterations},
    stopped = at.stopped, fit = fa.record_now(rawget(self, "_fit_record")), -- its loss now
    weights_of = swapped and ends.weights_of(h) or nil} -- for wb.load's note
  local fcbs = rawget(self, "_fit_callbacks")
  local ok, cbs = pcall(cbstate.states, fcbs, map)
  if not ok then error(cbs, 2) end
  local hooks = hookstate.pack(at.hooks or hookstate.snapshot(fcbs,
    fa.loss_of(rawget(self, "_fit_record"))))
  local meta = {format = "workbench-state",
    ["workbench.version"] = tostring(wb.version),
    ["workbench.state"] = ckpt.exact_json(st),
    ["workbench.history"] = ckpt.exact_json(at.history),
    ["workbench.history_integers"] = ckpt.exact_json(ints.of(at.history)), -- JSON has 2.0 as 2
    ["workbench.callbacks"] = ckpt.exact_json(cbs), ["workbench.tag"] = opts.tag,
    ["workbench.hooks"] = hooks and ckpt.exact_json(hooks),
    [cblist.KEY] = ckpt.exact_json(cblist.of(fcbs)),
    ["workbench.architecture"] = ckpt.architecture(self),
    ["workbench.layer_code"] = require("wb.arch").layer_code(self),
    ["workbench.layer_fields"] = layerstate.fields(self)}
  meta[fitstate.CHECKSUM] = fitstate.checksum(map, meta) -- of all the above
  local okw, err = pcall(wb.io.save_safetensors, path, map, meta)
  if not okw then ckpt.reraise(err, 2) end
  return self
end

-- }====================
-- {==================== resume ====================

M.train_end = fitstate.train_end -- for fit: see wb/state_fit.lua

-- Restores the state of file `path` into model: weights, the optimizer's
-- state (into `opt` when given: it must be of the saved kind; else a new
-- optimizer with the saved hyper-parameters), the RNG. Returns {epoch,
-- step, history, optimizer, stopped, callbacks (for restore_callbacks)}.
-- Errors name the file.
function M.resume(model, path, opt, want)
  local okl, file, meta = pcall(wb.io.load_safetensors, path)
  if not okl then error(wb.is_error(file) and wb.Error{code = file.code, path = file.path,
    message = "fit: resume: " .. file.message} or file, 0) end -- fit's, with its code
  if type(meta) ~= "table" or meta.format ~= "workbench-state" then
    error(wb.Error{code = "EFORMAT", path = path, message = string.format("fit: resume: %s "
      .. "is not a training state (format %s, expected workbench-state, written by "
      .. "model:save_state)", path, tostring(meta and meta.format))}, 0)
  end
  -- its content as written, first: else EFORMAT before anything is read or restored
  -- (a resume from it went on from numbers no training made; an edited architecture was
  -- called another model, audit X16i; the runner trains such a run from scratch,
  -- wb/train_resume.lua); one without a checksum (an older one) is taken
  local changed = fitstate.changed(file, meta)
  if changed and meta[fitstate.CHECKSUM] ~= nil then
    fitstate.bad(path, "%s; not resumed from", changed)
  elseif changed then -- taken, and said: it was taken without a word (tryD 8)
    io.stderr:write(string.format("fit: resume: %s: %s; resumed from all the same\n", path,
      changed))
  end
  local ok, st = pcall(cjson.decode, meta["workbench.state"] or "")
  local ok2, hist = pcall(cjson.decode, meta["workbench.history"] or "")
  local okc, cbs = pcall(cjson.decode, meta["workbench.callbacks"] or "[]")
  local okh, hooks = pcall(cjson.decode, meta["workbench.hooks"] or "null")
  local okl, list = pcall(cjson.decode, meta[cblist.KEY] or "null")
  if not (ok and ok2 and okc and okh and okl and type(st) == "table" and type(hist) == "table")
  then
    fitstate.bad(path, "bad workbench.state, workbench.history, workbench.callbacks, "
      .. "workbench.hooks or %s metadata (not JSON)", cblist.KEY)
  end
  fitstate.check_state(path, st, hist, cbs)
  fitstate.check_arch(path, meta["workbench.architecture"], meta["workbench.layer_code"],
    model)
  local weights, buffers, cbt = {}, {}, {}
  for name, t in pairs(file) do
    if name:match("^optimizer%.") then buffers[name] = t
    elseif name:match("^callbacks%.") then cbt[name] = t
    elseif name:match("^fit%.") then buffers[name] = t
    else weights[name] = t end
  end
  cbstate.decode(cbs, cbt, path, fitstate.bad)
  local layer_tensors = layerstate.check(model, buffers, path, fitstate.bad)
  local layer_fields = layerstate.check_fields(model, meta["workbench.layer_fields"], path,
    fitstate.bad)
  want = want or {}
  local mid = midstate.mid_resume(path, st.mid, buffers["fit.perm"], want.epochs)
  check_epochs(path, math.tointeger(st.epoch) or 0, want, st.stopped == true)
  local sfit = type(st.fit) == "table" and st.fit or nil
  if want.fit and sfit then given.check_blas(path, sfit, want.fit) end -- another machine's
  if want.callbacks then -- before any change
    cbstate.match(want.callbacks, cbs, path)
    cblist.check(want.callbacks, list ~= cjson.null and list or nil, path, fitstate.bad)
    hookstate.check(want.callbacks, hooks ~= cjson.null and hooks or nil, path, fitstate.bad,
      fa.loss_of(want.fit))
  end
  local saved = st.optimizer or {}
  local start_lr = sfit and math.type(sfit.start_lr) and sfit.start_lr or nil -- or older
  if opt then
    if opt.name ~= saved.name then
      error(string.format("fit: resume: %s holds the state of optimizer '%s', the "
        .. "optimizer given is %s", path, tostring(saved.name), tostring(opt)), 0)
    end
    given.check_config(path, opt, saved.config or {}, type(hist.lr) == "table" and hist.lr[1]
      or nil, start_lr)
  else
    local cfg = {}
    for k, v in pairs(saved.config or {}) do if k ~= "name" then cfg[k] = v end end
    local oko, o = pcall(wb.optim.new, saved.name, cfg)
    if not oko then
      o = tostring(o)
      fitstate.bad(path, "workbench.state 'optimizer': %s", o:match("%((.*)%)$") or o)
    end
    opt = o
  end
  if want.fit and sfit then fitstate.check_fit(path, sfit, want.fit) end
  if want.fit then want.fit.start_lr = start_lr end -- the run's, for a state it saves
  local names = ckpt.named_params(model)
  local params = model:parameters()
  local iterations = math.tointeger(saved.iterations) or 0
  local bufs = iterations > 0 and fitstate.opt_buffers(path, names, params, buffers,
    SLOT_NAMES, opt:state().slots) or {}
  local okw, err = pcall(ckpt.apply, model, path, weights)
  if not okw then fitstate.bad(path, "%s", (tostring(err):gsub("^" .. path:gsub("%p", "%%%0")
    .. ": ", ""))) end
  layerstate.restore(layer_tensors)
  layerstate.restore_fields(layer_fields)
  opt:set_state(iterations > 0 and params or {}, bufs, iterations)
  wb.set_rng_state(st.rng)
  -- a hook's math.random draws on where the stopped fit had got to (it
  -- drew the seed's first numbers again); a file without one: as it is
  if st.lua_rng and wb.sys.math_random_state() then wb.sys.set_math_random_state(st.lua_rng) end
  local h = History.new()
  hist = undecode(hist)
  local okm, marks = pcall(cjson.decode, meta["workbench.history_integers"] or "[]")
  ints.apply(hist, okm and marks, function(...) fitstate.bad(path, ...) end) -- as saved
  for k, v in pairs(hist) do rawset(h, k, v) end -- its series' names are its own
  h.epochs = math.tointeger(h.epochs) or 0
  for _, k in ipairs{"best_epoch", "stopped_epoch", "weights_epoch", "initial_epoch"} do
    h[k] = math.tointeger(h[k])
  end
  for _, c in ipairs{h.lr_changes or {}, h.optimizer_resets or {}} do -- integers, as recorded
    for _, s in ipairs{c.step or {}, c.epoch or {}} do
      for i, v in ipairs(s) do s[i] = math.tointeger(v) or v end
    end
  end
  for _, k in ipairs{"step", "epoch", "batch_size"} do
    local s = h.steps and h.steps[k]
    if s then for i, v in ipairs(s) do s[i] = math.tointeger(v) or v end end
  end
  return {epoch = math.tointeger(st.epoch) or 0, step = math.tointeger(st.step) or 0,
    history = h, optimizer = opt, stopped = st.stopped == true, callbacks = cbs, mid = mid,
    lua_rng = st.lua_rng}
end

-- }====================

return M
