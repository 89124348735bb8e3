-- wb/run.lua: one finished run as an object (wb.Run): its record, plus
-- methods that load its trained model and data and plot its curves. Items
-- of wb.runs.find's and ex:run()'s lists (wb/runs.lua) are Run objects.
--
-- A Run is the record table itself (as read from <plots>/runs/*.json) with
-- this metatable: records stay plain data, and the folder each one was read
-- from is kept aside in a weak table, so nothing ends up in their JSON.
-- Reads records and weights only; never trains.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"
local args = require "wb.args"

local M = {}
local Run = {__name = "wb.Run"}
Run.__index = Run

local dir_of = setmetatable({}, {__mode = "k"})

-- The final metrics the training loop writes (wb/train.lua final_metrics):
-- names a run may lack (val_* and gap without validation), so reading one
-- gives nil, not an error; wb.runs' tables ask for them by these names.
M.FINAL_METRICS = {"test_loss", "test_accuracy", "loss", "accuracy", "epochs_run", "val_loss",
  "val_accuracy", "gap", "acc_gap", "best_val_loss", "best_epoch", "best_val_accuracy",
  "train_seconds", "sec_per_epoch", "weights_epoch"}

-- A run's metrics table, strict: a name it lacks that is neither a final
-- metric nor one of its measures (or those recorded missing, not finite)
-- is an error naming the nearest
-- (run.metrics.tset_accuracy was a silent nil). Code asking for a name
-- some runs lack (a measure one run did not return) uses rawget.
local function strict_metrics(r)
  local m = rawget(r, "metrics")
  if type(m) ~= "table" or getmetatable(m) ~= nil then return end
  local fields = {}
  for _, n in ipairs(M.FINAL_METRICS) do fields[n] = true end
  for _, t in ipairs{rawget(r, "measures"), rawget(r, "measures_missing")} do
    for k, v in pairs(type(t) == "table" and t or {}) do
      fields[math.type(k) == "integer" and v or k] = true -- a measure, one recorded missing
    end
  end
  local mt = {__name = "wb.Run's metrics", __fields = fields}
  mt.__index = function(_, k)
    if fields[k] then return nil end
    error(require("wb.spec_keys").no_field(mt.__name, k, mt), 2)
  end
  setmetatable(m, mt)
end

-- r as a Run (a plain record gets the metatable) read from folder dir. A
-- seed decoded from JSON as a float (1.0) becomes the integer it is.
function M.as_run(r, dir)
  if type(r) == "table" and math.type(r.seed) == "float" then
    r.seed = math.tointeger(r.seed) or r.seed
  end
  if type(r) == "table" and getmetatable(r) == nil then
    setmetatable(r, Run)
    strict_metrics(r)
  end
  if type(r) == "table" and dir and not dir_of[r] then dir_of[r] = dir end
  return r
end

---wb.Run
---One finished run: its record (fields hash, task, variant, seed, config,
---status, history, metrics, measures, weights, wall_time, host, blas_core
---(the BLAS kernel that computed it: wb.sys.blas_core), concurrent_jobs and cores
---(how many runs trained at once, on how many cores: its times depend on them; nil
---when not known; a copy's are its donor's), reused_from (a copy of that run's
---training in another task: its numbers, not trained again), version,
---git_commit, git_uncommitted: how many files differed from (or were not in) that
---commit, git_changes: which (git status's paths, the first 100); checksum: of the record's content, weights_ids: of its weights
---files, wb.record.write) with methods to load its model and plot its curves. Items of
---wb.runs.find's list and of ex:run()'s list are Run objects. Its metrics
---(what rs:table and wb.compare name): test_loss and test_accuracy (the
---final weights on the test set), loss and accuracy (the last epoch's:
---Keras's running mean over it, dropout on), with validation val_loss and
---val_accuracy (the last epoch's), gap (val_loss - loss), acc_gap
---(accuracy - val_accuracy), best_epoch (of the lowest val_loss; with
---early_stopping, the epoch its EarlyStopping took as best: its monitor,
---min_delta) and best_val_loss (val_loss at best_epoch; the "best"
---weights are that epoch's), best_val_accuracy (the highest val_accuracy of any
---epoch: not best_epoch's, nor the restored weights' when they differ); epochs_run,
---train_seconds and sec_per_epoch; weights_epoch: the epoch whose weights
---the test metrics and the final weights file are of: epochs_run, but with
---early_stopping's restore_best_weights the best epoch's (as in Keras: loss,
---val_loss and gap stay the last epoch's), absent when an on_train_end hook
---set weights of no epoch (history.weights_changed_by names it); tostring
---and ex:run()'s lines say so when they are not the last epoch's. Its
---measures: what the experiment's measure hook returned (a number is in
---its metrics too). A name its metrics lack that is neither one of those
---above nor one of its measures is an error naming the nearest
---(run.metrics.tset_accuracy); one of them it lacks is nil.
---Example: local r = wb.runs.find{task = "task05_dropout"}[1]
---  print(r, r.config.dropout, r.metrics.test_accuracy)

---wb.Run:__tostring() -> string
---One line: task, variant, seed and test accuracy, e.g.
---"Run dropout dropout=0.3 seed 2: test acc 97.91 %" (or the status
---when the run did not finish normally); the label wb.runs.find listed it
---under when that tells it from other runs of its variant and seed:
---"Run t width=64 [identity.build=096f3f8b...] seed 1: ...".
---Example: print(wb.runs.find{}[1])
function Run:__tostring() return M.describe(self) end

-- " (weights of epoch 3 of 5)" when record r's test metrics and weights are
-- not its last epoch's (restore_best_weights), " (weights set by ...)" when
-- an on_train_end hook set weights of no epoch; "" otherwise or unknown.
function M.weights_note(r)
  local m = type(r.metrics) == "table" and r.metrics or {}
  local h = type(r.history) == "table" and r.history or {}
  if type(h.weights_changed_by) == "string" then
    return " (weights set after training by " .. h.weights_changed_by .. ")"
  end
  if m.weights_epoch and m.epochs_run and m.weights_epoch ~= m.epochs_run then
    return string.format(" (weights of epoch %s of %s)", util.show(m.weights_epoch),
      util.show(m.epochs_run))
  end
  return ""
end

-- The label wb.runs.find listed a run under when it differs from its variant
-- ("width=64 [identity.build=096f3f8b...]"): tostring of that run alone shows it
-- too; print(rs[1]) of an old run after an edit looked like the current one (tryV 4).
local label_of = setmetatable({}, {__mode = "k"})
function M.labels(labels)
  for r, l in pairs(labels or {}) do label_of[r] = l end
end

-- The head of a run list's text: "Runs(6 runs, 3 variants)"; "Runs(6 runs, 1
-- variant under 6 identities)" when the list labels runs of a variant apart
-- (n_labels of them: rs:variants()), as "6 variants" said of one.
function M.list_head(recs, n_labels)
  local seen, n = {}, 0
  for _, r in ipairs(recs) do
    if not seen[r.variant] then seen[r.variant], n = true, n + 1 end
  end
  return string.format("Runs(%d run%s, %d variant%s%s)", #recs, #recs == 1 and "" or "s", n,
    n == 1 and "" or "s", n_labels > n and string.format(" under %d identities", n_labels) or "")
end

-- An accuracy (a fraction) as the run list, tables and the runner's lines show it: "92.33 %".
function M.pct(acc) return require("wb.runs_fmt").fmt_mean_std(acc, nil, "test_accuracy") end

-- The one line of run r, listed under label (default the label find gave it, else its
-- variant).
function M.describe(r, label)
  local what
  local acc = type(r.metrics) == "table" and r.metrics.test_accuracy
  if r.status == "ok" and type(acc) == "number" then
    -- as tables and the runner's lines show it: "92.3%" was both 92.33 and 92.35 % (tryV 11)
    what = "test acc " .. M.pct(acc) .. M.weights_note(r)
  else
    what = tostring(r.status)
  end
  return string.format("Run %s %s seed %s: %s", tostring(r.task),
    tostring(label or label_of[r] or r.variant),
    util.show(r.seed), what)
end

---wb.Run:weights_path(which) -> string
---The safetensors file of the run's weights: which = "final" (default, the
---weights at the end of training, `<task>-<hash>.safetensors` beside the
---record) or "best" (the best epoch's weights: the record's best_weights
---file, else `<task>-<hash>.best.safetensors`, else the final weights when
---the last epoch was the best: metrics.best_epoch). Raises when the run has no
---such file, or when it is not the file its record was written with
---(wb.record.weights_changed: replaced by another run's, damaged, gone).
---@param which? string
---@return string
---Example: print(run:weights_path())
-- The weights file of run r (see Run:weights_path); a bad `which` or a
-- missing file is an error at `level` naming fname, the method called.
local function path_of(r, which, fname, level)
  which = which or "final"
  local dir = dir_of[r] or record.dir()
  local name
  if which == "final" then
    name = r.weights
  elseif which == "best" then
    name = r.best_weights
    if not name and r.weights then
      local alt = r.weights:gsub("%.safetensors$", ".best.safetensors")
      if wb.sys.exists(dir .. "/" .. alt) then name = alt end
    end
  else
    error(string.format('wb.Run:%s: which: expected "final" or "best", got %q', fname,
      which), level + 1)
  end
  -- a last epoch that was the best writes no best file: its weights are the final ones
  -- ("no best weights (status ok)" was all run:model("best") said)
  local m = type(r.metrics) == "table" and r.metrics or {}
  local final_epoch = m.weights_epoch -- restore_best_weights: the best's; a record before
  if final_epoch == nil and not (type(r.history) == "table" and r.history.weights_changed_by) then
    final_epoch = m.epochs_run -- it was kept: the last epoch's
  end
  if not name and which == "best" and m.best_epoch and m.best_epoch == final_epoch then
    name = r.weights
  end
  if not name then
    error(string.format("wb.Run:%s: %s: no %s weights (status %s%s)", fname, tostring(r), which,
      tostring(r.status), which == "best" and r.status == "ok" and not m.best_epoch
      and ": trained without validation, it has no best epoch" or ""), level + 1)
  end
  if name:sub(1, 1) == "/" then return name end
  -- the file the record was written with (its weights_ids), not one put in its place
  local bad, why = record.weights_changed(dir, {weights_ids = type(r.weights_ids) == "table"
    and {[util.basename(name)] = r.weights_ids[util.basename(name)]} or nil})
  if bad then
    error(string.format("wb.Run:%s: %s: %s %s; running its task retrains it", fname,
      tostring(r), bad, why), level + 1)
  end
  return dir .. "/" .. util.basename(name)
end

function Run:weights_path(which)
  args.self(Run, self, "weights_path", "run")
  args.opt("weights_path", 1, which, "string")
  local path = path_of(self, which, "weights_path", 2)
  return path -- not a tail call: the error names the caller's line
end

---wb.Run:model(which) -> wb.Sequential
---The run's trained model, loaded with wb.load from its weights file (see
---run:weights_path): which = "final" (default) or "best". Each call loads a
---fresh copy; loading draws from the global generator (wb.load rebuilds the
---layers, then overwrites their weights). The model keeps the run's
---config.loss: wb.hessian's functions default to it (an mse run's
---sharpness is mse's); evaluate does not (run:evaluate passes it).
---@param which? string
---@return wb.Sequential
---Example: local m = run:model(); print(m:summary())
function Run:model(which)
  args.self(Run, self, "model", "run")
  args.opt("model", 1, which, "string")
  local m = wb.load(path_of(self, which, "model", 2))
  -- the loss it was trained with: wb.hessian's default (wb/hessian_ops.lua default_loss)
  if type(self.config) == "table" and type(self.config.loss) == "string" then
    rawset(m, "_trained_loss", require("wb.losses")._canonical(self.config.loss))
  end
  return m
end

---wb.Run:data() -> table
---The run's datasets {train = ds, test = ds}, as its config names them: its
---dataset and, for --quick runs, the same subset (config.subset). test is
---the set its test metrics are of. train is the whole training set: with
---validation = v (default 0.1) fit trained on the first part of
---d.train:split(v) and validated on the tail. A run whose hook chose other
---training rows (its record's train_data) has no train here: reading it is
---an error naming the hook and the rows, as the config's rows are not those
---it trained on. Cached per process. Raises when the dataset's files are not
---those the run was trained on (its record's identity.data: files edited
---since, or $WB_DATA pointing at another copy).
---@return table
---Example: local d = run:data(); print(#d.test)
-- The training rows a hook chose (record r.train_data, td), found again when its
-- name says they are rows of the config's set (train, "mnist-train[1:1000]") taken
-- with :subset or :split ("mnist-train[1:1000][1:400]") and the rows so taken have
-- the content id recorded; else nil (a transform, a shuffle: not recoverable).
local function rows_again(train, td)
  local name, base = tostring(td.name), tostring(train.name)
  if name:sub(1, #base) ~= base then return nil end
  local ds = train
  for a, b in name:sub(#base + 1):gmatch("%[(%d+):(%d+)%]") do
    a, b = math.tointeger(tonumber(a)), math.tointeger(tonumber(b))
    if not (a and b and a >= 1 and a <= b and b <= #ds) then return nil end
    ds = ds:subset(a, b)
  end
  if name:sub(#base + 1):gsub("%[%d+:%d+%]", "") ~= "" then return nil end
  return require("wb.train_hooks").content_id(ds) == td.id and ds or nil
end

-- Run r's datasets; an error at `level` naming fname when their files are
-- not those r was trained on.
local function data_of(r, fname, level)
  local id = type(r.identity) == "table" and r.identity.data
  local now = id and wb.identity.data(r.config.dataset)
  if id and now ~= id then
    error(string.format("wb.Run:%s: %s was trained on other %s files than those in %s now "
      .. "(data identity %s there, %s here): they were edited, or $WB_DATA points at another "
      .. "copy", fname, tostring(r), tostring(r.config.dataset),
      (wb.data._location(r.config.dataset)), tostring(id), tostring(now)), level + 1)
  end
  local d = wb.data.for_config(r.config)
  local td = type(r.train_data) == "table" and r.train_data
  if not td then return d end
  local rows = rows_again(d.train, td)
  if rows then return wb.data._pair(getmetatable(d).__name, rows, d.test) end
  -- the config's training rows are not the ones a hook handed to fit: handing them out
  -- as the run's would make a training accuracy or a dead-unit count on them silently
  -- about other rows (the record keeps only their count and content id, not the rows)
  local why = string.format("wb.Run:data: %s trained on %s rows chosen by %s (%s; %s, content "
    .. "id %s), not on its config's %d training rows: run:data() has no train set for it "
    .. "(its test set, run:data().test, is the config's)", tostring(r), tostring(td.rows),
    tostring(td.changed_by), tostring(td.how), tostring(td.name), tostring(td.id), #d.train)
  local mt = getmetatable(d)
  local out = {test = d.test}
  return setmetatable(out, {__name = mt.__name, __fields = mt.__fields,
    __newindex = mt.__newindex,
    __index = function(t, k)
      if k == "train" then error(why, 2) end
      return mt.__index(t, k)
    end,
    __tostring = function() return tostring(mt.__name) .. ": {test = " .. tostring(d.test)
      .. "} (train: the rows a hook chose, not kept)" end})
end

function Run:data()
  args.self(Run, self, "data", "run")
  local d = data_of(self, "data", 2)
  return d -- not a tail call: the error names the caller's line
end

---wb.Run:evaluate(which) -> table
---Loads the run's model (which = "final" by default) and evaluates it on
---the run's test set (run:data().test) with the loss it trained with
---(config.loss, default sparse_categorical_crossentropy): {loss = l,
---accuracy = a}. For a run that finished normally this reproduces
---record.metrics.test_loss and test_accuracy.
---@param which? string
---@return table
---Example: print(run:evaluate().accuracy, run.metrics.test_accuracy)
function Run:evaluate(which)
  args.self(Run, self, "evaluate", "run")
  if which ~= nil and type(which) ~= "string" then -- model:evaluate(ds, opts)'s shape
    error(string.format("bad argument #1 to 'evaluate' (which: \"final\" or \"best\", the "
      .. "weights evaluated on the run's own test set; got %s)", args.typename(which)), 2)
  end
  local path = path_of(self, which, "evaluate", 2)
  local test = data_of(self, "evaluate", 2).test
  -- the run's own loss: a loss = "mse" run's test_loss is mse, and the default
  -- (cross-entropy) gave another number beside the record's, without a word
  return wb.load(path):evaluate(test, {loss = self.config.loss})
end

---wb.Run:plot(metric, opts) -> wb.Plot
---The run's per-epoch curve of `metric` (default "loss") as wb.plot.lines:
---from its history, its measures, or "gap" (val_loss - loss). For "loss"
---and "accuracy" the validation curve (val_loss, val_accuracy) is drawn
---too. A name the run has no series of is an error listing those it has
---(nearest first); the per-step series (history.steps) are drawn by
---wb.Runs:plot_curves(name, {x = "step"}). opts: title, ylabel, logy. Its
---CSV and gnuplot script begin with "# " lines naming the run (hash, task,
---epochs, data), the command drawing it and the commit. An accuracy (a name the
---tables show in percent) is drawn in percent, in the CSV too, its y label ending "(%)".
---@param metric? string
---@param opts? table
---@return wb.Plot
---Example: run:plot("loss"):show()
function Run:plot(metric, o)
  args.self(Run, self, "plot", "run")
  args.opt("plot", 1, metric, "string")
  args.opt("plot", 2, o, "table")
  metric, o = metric or "loss", o or {}
  util.check_options(o, {"title", "ylabel", "logy"}, "wb.Run:plot", 2)
  local stats = require("wb.runs_stats").raw
  local step = stats.names_of({self}, "steps")[metric]
    and string.format(" per epoch ('%s' is a step series: wb.runs.find{hash = \"%s\"}"
      .. ':plot_curves("%s", {x = "step"}))', metric, tostring(self.hash), metric) or ""
  stats.check_name({self}, metric, "series", "wb.Run:plot", "series", 2,
    string.format("wb.Run:plot: %s has no series '%s'%s", tostring(self), metric, step))
  local names = {metric}
  if (metric == "loss" or metric == "accuracy") and wb.runs.series(self, "val_" .. metric) then
    names[2] = "val_" .. metric
  end
  local ss, note = {}, require "wb.runs_curve_note"
  for _, n in ipairs(names) do
    local y = wb.runs.series(self, n)
    local x = {}
    for e = 1, #y do x[e] = e end
    ss[#ss + 1] = note.in_unit(n, {label = n, x = x, y = y}) -- an accuracy in percent
  end
  local title = o.title or string.format("%s %s seed %s: %s", tostring(self.task),
    tostring(self.variant), util.show(self.seed), metric)
  return wb.plot.lines{title = note.quick_title({self}, title),
    xlabel = "epoch", ylabel = note.ylabel(metric, o.ylabel), series = ss, logy = o.logy,
    comment = note.provenance({records = {self},
      dir = dir_of[self]}, metric, "wb.Run:plot")} -- its CSV says which run, drawn how
end

M.Run = Run
return M
