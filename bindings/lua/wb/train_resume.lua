-- wb/train_resume.lua: resuming a killed run (wb/train.lua). After every epoch the run's
-- full training state is written beside its record (<task>-<hash>.state.safetensors),
-- tagged; training that run again resumes from it only when the tag is this training's:
-- its task and hash (or a hash the plan no longer holds of the same training: a run
-- renamed, M.renamed), and the files and environment variables its hooks had read by that
-- save (before fit began, or as it trained: a Lua layer reading a file on its first
-- forward), as they are now (wb/identity_reads.lua). The hash alone does not say those: a
-- run retrained because a file its build hook read changed resumed the training made with
-- the file as it was, and recorded the new one. A run whose hooks cannot be identified
-- (its hash does not cover their code) is never resumed. Nor is a state whose content is
-- not as written (its checksum, wb/state_fit.lua: a bit flipped, a partial copy, an edit,
-- or none), nor one fit{resume} would refuse for its callbacks (saved before their settings
-- were kept), nor one saved by training with another OpenBLAS kernel (wb.sys.blas_core: its
-- record would name one kernel for epochs of two): the run trains from scratch, warned.
-- Private to wb/train.lua (M.unplanned and M.renamed: to the runner's plan,
-- wb/runner_checks.lua, too).
local _ENV = require "wb.std"
local wb, cjson, util = require "wb", require "cjson", require "wb.util"
local record = require "wb.record"
local reads = require "wb.identity_reads"
local fitstate = require "wb.state_fit"

local M = {}

-- Why the run cannot be resumed (nil when it can): every callback must keep
-- its state (or keep none but what a resume compares: LearningRateScheduler's
-- schedule, wb/state_hooks.lua), no instruments (a resumed run's would differ by rounding:
-- test_instruments_resume), fit's options the runner's own, hooks identified.
-- Instruments: the message says why (it said "it measures instruments" only,
-- as if their state were lost; their series are whole, trained again).
-- Which it measures is said: a run of grad_norm and gsnr read as refused for alpha's and
-- hess_max's rounding, which it did not measure (tryAA E1). The runner resumes none: the state
-- check compares the callbacks given, without the fit's own instruments callback.
local INSTRUMENTS = "it measures instruments (%s), and the runner resumes no run that does: "
  .. "their series a resumed fit would continue equal to an uninterrupted run's only to "
  .. "rounding where they include alpha or hess_max (plain SGD's alpha at the step after the "
  .. "save, hess_max's Lanczos warm start: wb/instruments_state.lua)"
local function not_resumable(spec, fit_opts, callbacks, extra, opt)
  if not spec.cacheable then return "its hooks cannot be identified (see 'not cached')" end
  local ins = fit_opts.instruments
  if ins then
    return string.format(INSTRUMENTS, type(ins) == "table" and table.concat(ins, ", ")
      or tostring(ins))
  end
  if fit_opts.resume then return "its fit_options set resume" end
  if fit_opts.callbacks ~= callbacks then return "its fit_options replace the callbacks" end
  if fit_opts.optimizer ~= opt then return "its fit_options give the optimizer" end
  for i, cb in ipairs(extra) do
    local mt = getmetatable(cb) -- --cockpit's (wb/cockpit_run.lua): not the hook's
    if type(mt) == "table" and rawget(mt, "__name") == "wb.cockpit" then
      return "it draws the live cockpit (--cockpit), whose panels start at the run's first step"
    end
    local stateless, why = require("wb.state_hooks").resumable(cb) -- LearningRateScheduler
    if why then
      return string.format("callback %d of the callbacks hook (%s): %s", i,
        require("wb.fit_hooks").describe(cb), why)
    end
    for _, m in ipairs(stateless and {} or {"get_state", "set_state"}) do
      if type(cb[m]) ~= "function" then
        return string.format("callback %d of the callbacks hook (%s) has no %s", i,
          require("wb.fit_hooks").describe(cb), m)
      end
    end
  end
  return nil
end

-- The tag of a state saved after `reads` (the files and variables the run's hooks had read
-- by then, wb/identity_reads.lua): the run's task and hash, the OpenBLAS kernel it trained
-- with (wb.sys.blas_core), then the reads as JSON.
local KERNEL = "+kernel:"
local function tag_of(base, reads_list)
  base = base .. KERNEL .. wb.sys.blas_core()
  return #reads_list > 0 and (base .. "+reads:" .. cjson.encode(reads_list)) or base
end

-- Why a state tagged `tag` is not one this training may go on from (nil when it is),
-- and the reads it lists. Every file or variable the killed training had read by its save
-- (before fit began, or as it trained: a Lua layer that reads a file on its first
-- forward) must be as it was, and every one this training has read so far among them. A
-- state of training with another OpenBLAS kernel than this process's is refused too, its
-- kernel the third result (the caller says why): resumed, the run's epochs would come from
-- two kernels.
local function refused(tag, base, so_far)
  local core = type(tag) == "string" and tag:sub(1, #base + #KERNEL) == base .. KERNEL
    and tag:sub(#base + #KERNEL + 1):match("^[^+]+")
  if not core then
    local old = type(tag) == "string" and (tag == base or tag:sub(1, #base + 7) == base .. "+reads:")
    return old and "saved by an older workbench, which did not record its OpenBLAS kernel"
      or "its tag: " .. tostring(tag)
  end
  if core ~= wb.sys.blas_core() then return "its kernel", nil, core end
  base = base .. KERNEL .. core
  if tag ~= base and tag:sub(1, #base + 7) ~= base .. "+reads:" then
    return "its tag: " .. tostring(tag)
  end
  local saved = {}
  if tag ~= base then
    local ok, list = pcall(cjson.decode, tag:sub(#base + 8))
    if not ok or type(list) ~= "table" then return "its tag's reads are not a JSON list" end
    saved = util.denull(list)
  end
  local path, what = reads.changed(saved)
  if path then return path .. " " .. what .. " by the training saved there" end
  local had = {}
  for _, e in ipairs(saved) do had[e.path] = e.id end
  for _, e in ipairs(so_far) do
    if had[e.path] ~= e.id then
      return e.path .. " is read now, not as by the training saved there"
    end
  end
  return nil, saved
end

-- Whether the run of ex's task with hash h trains as run spec does: its spec file (written
-- when it was planned) names h, and its training identity is spec's, and h is what
-- experiment.lua's identify makes of them (a spec file not of run h is not believed). A run
-- renamed (its variant's label) or with another measure hook has another hash and the
-- same training: a state saved by one is the other's (test_runner_rename_resume).
-- old: that spec file when read already (false: none), else it is read here.
local function same_training(ex, spec, h, old)
  if h == spec.hash then return true end
  if type(spec.identity) ~= "table" then return false end
  if old == nil then old = util.read_json(record.path(ex.root, ex.name, h, "spec")) end
  local id = type(old) == "table" and old.identity
  return type(id) == "table" and old.task == ex.name and old.hash == h
    and id.train == spec.identity.train and util.fnv1a64(util.canonical({task = ex.name,
      variant = old.variant, train = id.train, measure = id.measure})) == h
end

-- M.unplanned(ex) -> list | nil: the saved training states in ex's runs folder
-- (<task>-<hash>.state.safetensors) of runs its plan (ex.specs) does not hold, in the order
-- of their file names, each {hash =, file = its name, spec = its run's spec file, false
-- when none}; nil when the folder cannot be listed. Listed once a plan: the runner's
-- M.renamed of every pending run, and its word on the states kept (wb/runner_checks.lua).
function M.unplanned(ex)
  local ok, files = pcall(wb.sys.listdir, record.dir(ex.root))
  if not ok then return nil end
  table.sort(files)
  local planned, prefix, states = {}, ex.name .. "-", {}
  for _, s in ipairs(ex.specs) do planned[s.hash] = true end
  for _, f in ipairs(files) do
    local h = f:sub(1, #prefix) == prefix
      and f:sub(#prefix + 1):match("^(%x+)%.state%.safetensors$")
    if h and not planned[h] then
      states[#states + 1] = {hash = h, file = f,
        spec = util.read_json(record.path(ex.root, ex.name, h, "spec")) or false}
    end
  end
  return states
end

-- M.renamed(ex, spec, states) -> hash, table | nil: a run this plan does not hold whose saved
-- state (interrupted) is of spec's training: its label or its measure hook changed since;
-- and that run's spec. The state was named among those "this plan does not hold", and the
-- run restarted from epoch 1 (tryI). None with reuse = false (--fresh): that retrains; none
-- without a plan (ex.specs) or spec's identity. states: M.unplanned(ex), nil to list them.
function M.renamed(ex, spec, states)
  if not spec.cacheable or ex.reuse == false or not ex.specs or not spec.identity then
    return nil
  end
  for _, st in ipairs(states or M.unplanned(ex) or {}) do
    if same_training(ex, spec, st.hash, st.spec) then return st.hash, st.spec end
  end
  return nil
end

-- What fit{resume} would refuse of the state saved at `path` (its decoded workbench.state
-- `st`) for the data this fit trains and validates on (train, split as fit splits it;
-- wb/fit_args.lua), else nil: other rows (a hook's read the hash missed, tryL 6) failed
-- the run on every rerun, --fresh too. The fit's other options are the run's config's.
local DATA = {rows = true, validation_rows = true, images = true, labels = true,
  validation_images = true, validation_labels = true}
local function other_data(path, st, train, fit_opts)
  local saved = type(st) == "table" and type(st.fit) == "table" and st.fit
  if not saved or not train then return nil end
  local fa = require "wb.fit_args"
  local ok, tr, val = pcall(fa.validation, train, fit_opts)
  if not ok then return nil end -- fit says it
  local now = fa.fit_record({}, 1, #tr, tr, val)
  for k, v in pairs(saved) do if not DATA[k] then now[k] = v end end
  local okc, err = pcall(fitstate.check_fit, path, saved, now)
  return not okc and tostring(err):gsub("^fit: resume: " .. path:gsub("%p", "%%%0") .. " ", "")
    or nil
end

-- M.from(ex, spec, model, fit_opts, callbacks, extra, opt, tracker, train) -> integer|nil,
-- table|nil
-- Sets fit_opts up to save the state after every epoch and, when this run's state file is
-- there with this training's tag, to resume from it; returns the epoch resumed after (nil
-- when training starts afresh) and the reads of the training resumed (its record lists
-- them: a file read before the kill only is one this run depends on). A run that cannot
-- be resumed says why as it starts (a callback without get_state, instruments): a rerun
-- after a kill restarted from epoch 1 without a word. tracker: the run's
-- reads (wb/identity_reads.lua) so far; each save's tag lists them as they are then.
-- A state saved from another model than `model` (a Lua layer counting in a local its
-- method closes over: the hash is the same, the layer is not) is trained over from
-- scratch with a warning: fit would refuse it, and the run would fail on every try; so is
-- one of training on other data than `train` (d.train) gives.
local RESTARTS = ": an interrupted run restarts from epoch 1"
function M.from(ex, spec, model, fit_opts, callbacks, extra, opt, tracker, train)
  local cannot = not_resumable(spec, fit_opts, callbacks, extra, opt)
  if cannot then -- said as it starts: a rerun after a kill restarted without a word
    io.stderr:write(string.format("[%s] run %s (%s seed %d): %s%s\n", ex.name, spec.hash,
      spec.variant, spec.seed, cannot, RESTARTS))
    return nil
  end
  local path = record.path(ex.root, ex.name, spec.hash, "state.safetensors")
  local base = ex.name .. "-" .. spec.hash
  local function so_far() return tracker and reads.so_far(tracker) or {} end
  local ckpt = wb.callbacks.ModelCheckpoint{path, save_state = true, tag = tag_of(base,
    so_far())}
  -- before each save: the reads by then, those made as it trained too
  callbacks[#callbacks + 1] = wb.callbacks.Lambda{on_epoch_end = function()
    ckpt.tag = tag_of(base, so_far())
  end}
  require("wb.state_fit").still[callbacks[#callbacks]] = true -- moves no weights
  callbacks[#callbacks + 1] = ckpt
  -- the run's own: a caller's (the runner's watch) joins its fit outside the checkpoints
  for _, cb in ipairs(callbacks) do require("wb.state_list").run[cb] = true end
  if not wb.sys.exists(path) then
    -- a renamed run's state, taken by a rename (of two runs of this training, one takes it)
    local h = M.renamed(ex, spec)
    if not h or not os.rename(record.path(ex.root, ex.name, h, "state.safetensors"), path) then
      return nil
    end
    io.stderr:write(string.format("[%s] run %s (%s seed %d): resumes the saved state of run %s, "
      .. "the same training\n", ex.name, spec.hash, spec.variant, spec.seed, h))
  end
  local other_kernel, other -- the kernel of a state refused for it; its other data
  local ok, epoch, saved = pcall(function()
    local tensors, meta = wb.io.load_safetensors(path)
    -- its content as written (a bit flipped, a partial copy, an edit: a resume from it
    -- went on from numbers no training made), then its tag: this run's, this training's
    local changed = fitstate.changed(tensors, meta)
    if changed then error(changed, 0) end
    -- a renamed run's (taken above, or before a kill): tagged with its own hash
    local tag, prefix = meta["workbench.tag"], ex.name .. "-"
    local h = type(tag) == "string" and tag:sub(1, #prefix) == prefix
      and tag:sub(#prefix + 1):match("^(%x+)%+")
    local why, list, core = refused(tag, h and same_training(ex, spec, h) and prefix .. h
      or base, so_far())
    other_kernel = core
    if why then error(why, 0) end
    local diff = fitstate.arch_diff(path, meta["workbench.architecture"],
      meta["workbench.layer_code"], model)
    if diff then error("it was saved from another model: " .. diff, 0) end
    -- as fit{resume} would refuse it (one saved before the callbacks' settings were kept)
    local cbs = require("wb.state_callbacks").refusal(path, tensors, meta, callbacks)
    if cbs then error("its callbacks: " .. cbs, 0) end
    local st = cjson.decode(meta["workbench.state"])
    other = other_data(path, st, train, fit_opts)
    if other then error(other, 0) end
    return math.tointeger(st.epoch), list
  end)
  if other_kernel then
    io.stderr:write(string.format("warning: %s: the epochs run %s trained before it stopped "
      .. "were computed with OpenBLAS's %s kernel, this process has %s (OPENBLAS_CORETYPE, "
      .. "another CPU): not resumed, as its epochs would come from two kernels (another kernel "
      .. "sums in another order; no training on one kernel gives such numbers); training "
      .. "from scratch with %s\n", path, base, other_kernel, wb.sys.blas_core(),
      wb.sys.blas_core()))
    os.remove(path)
    return nil
  elseif other then
    io.stderr:write(string.format("warning: %s, the state run %s saved before it stopped, %s: "
      .. "not resumed; training from scratch\n", path, base, other))
    os.remove(path)
    return nil
  elseif not ok or not epoch then
    local older = tostring(epoch):find("^saved by an older workbench")
    io.stderr:write(older and string.format("warning: %s, a training state of run %s, was %s: "
      .. "not resumed; training from scratch\n", path, base, tostring(epoch))
      or string.format("warning: %s is not a training state of run %s (%s); "
      .. "training from scratch\n", path, base, util.error_line(epoch))) -- no library line
    os.remove(path)
    return nil
  end
  -- the optimizer comes from the file: its lr may have been changed by a callback
  fit_opts.resume, fit_opts.optimizer = path, nil
  return epoch, #saved > 0 and saved or nil
end

-- A task's runner relays a line a run printed (a run trains in a child,
-- whose stderr goes to its log) when it says why the run cannot resume:
-- once a reason (said: the reasons relayed), not once a run (task 11's 18
-- runs with instruments said it 18 times).
function M.relay(said, line, task, tty)
  local why = line:sub(-#RESTARTS) == RESTARTS and line:match("^%[[^]]*%] run %x+ %(.-%): (.*)$")
  if why and not said[why] then
    said[why] = true
    io.stderr:write(tty and "\r\27[K" or "", string.format("[%s] %s (said once for the runs "
      .. "it applies to)\n", task, why))
  end
end

return M
