-- scripts/study/init.lua (`local S = require "study"`): what the study's task
-- scripts share, so each
-- script stays short and declarative: the baseline experiment (reused by
-- tasks 1, 2 and 10), the measures and hooks the tasks share, and (from
-- study/predictions.lua) confusion matrices and the most confidently wrong
-- predictions.

local M = {}

M.classes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
M.fashion_classes = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
  "Shirt", "Sneaker", "Bag", "Boot"}

---study.class_names(dataset) -> table
---The ten class names of a dataset: "0".."9" for "mnist" (S.classes),
---"T-shirt" .. "Boot" for "fashion" (S.fashion_classes).
---@param dataset? string
---@return string[]
---Example: print(S.class_names("fashion")[10])
function M.class_names(dataset)
  return dataset == "fashion" and M.fashion_classes or M.classes
end

-- The study's MLP: 784 -> Dense 128 -> Dense 10 softmax; every other key at
-- the library's Keras defaults (Adam, batch 32, relu, glorot_uniform).
M.defaults = {hidden = 128}
M.baseline_epochs = 10

-- Epochs of the large-batch run (6,000, task 8; 9 steps an epoch). It was
-- 100, a fifth of the whole report's CPU time, and still ended at twice
-- batch 32's training loss. Its lambda_max falls as it trains (seed 1,
-- measured while budgeting: 8.0 at epoch 5, 3.4 at 50, 2.5 at 100, against
-- 0.7 for batch 32), so at 50 the claim "large batches reach sharper
-- minima" is read where the large batch stopped, further from a minimum;
-- task 8's README says so beside the `loss` column.
M.LARGE_BATCH_EPOCHS = 50
-- Epochs of batch 8 (task 8): C6 reads its gradient noise and seconds per
-- epoch, neither of which needs 10 epochs; 5 epochs are 33,750 steps,
-- twice batch 32's 10 epochs, at half of batch 8's cost.
M.SMALL_BATCH_EPOCHS = 5

---S.target(dataset) -> number
---The validation accuracy that counts as "converged" on a dataset (97 % on
---MNIST, 85 % on Fashion-MNIST: reachable by every optimizer of task 7).
---@param dataset string
---@return number
---Example: print(S.target("fashion"))
function M.target(dataset) return dataset == "fashion" and 0.85 or 0.97 end

-- Said under every gap figure: why the gap starts negative.
M.GAP_NOTE = "Training loss is the running mean over each epoch, with dropout active "
  .. "when there is dropout (Keras's semantics), while validation loss is computed after "
  .. "the epoch without dropout: the gap of epoch 1 is therefore negative."

M.CLEAN_GAP_NOTE = "clean_gap is the last epoch's validation loss minus the loss on the "
  .. "rows trained on, both in inference mode (no dropout) with the final weights: dropout "
  .. "and the running mean do not enter it, as they enter gap (see the gap figure)."

---study.clean_gap(model, cfg, data, history) -> number
---A measure hook's generalisation gap without Keras's training-loss
---artefacts: the last epoch's val_loss minus model:evaluate on the rows
---fit trained on (the head of data.train under a validation fraction,
---Keras's split; all of it when validation is the test set), in inference
---mode, with the final weights (those of that val_loss).
---Example: measure = function(m, cfg, d, h) return {clean_gap = S.clean_gap(m, cfg, d, h)} end
function M.clean_gap(model, cfg, d, hist)
  local rows = type(cfg.validation) == "number" and d.train:split(cfg.validation) or d.train
  return hist.val_loss[#hist.val_loss] - model:evaluate(rows, {loss = cfg.loss}).loss
end

---study.experiment(spec) -> table
---An experiment spec with the study's MLP: hidden = 128 added to base
---(unless spec has its own build hook or base sets hidden).
---@param spec table
---@return table
---Example: experiment = S.experiment{base = {epochs = 20}, vary = {dropout = {0, 0.3}}}
function M.experiment(spec)
  local e = {}
  for k, v in pairs(spec) do e[k] = v end
  if not spec.build then
    e.base = {}
    for k, v in pairs(M.defaults) do e.base[k] = v end
    for k, v in pairs(spec.base or {}) do e.base[k] = v end
  end
  return e
end

---study.track(cfg, model, data) -> table
---The callbacks hook that tracks per-epoch kernel and gradient norms
---(wb.measures.track on the training set). One function shared by every
---task, so their equal trainings have equal identities and are trained once.
---Example: experiment = S.experiment{callbacks = S.track}
function M.track(_, _, d) return {wb.measures.track{data = d.train}} end

-- per-epoch norms from the tracker, and the dead ReLU units at the end
local function baseline_measure(model, _, d, _, cbs)
  local m = cbs[1].series
  m.dead_units = wb.measures.dead_units(model, d.test)
  return m
end

-- {==================== early stopping read off the 20-epoch runs (tasks 3, 4) ====

-- the hooks: their own file (study/patience.lua), here under the names the
-- tasks use
local ES = require "study.patience"
M.PATIENCES, M.LONG_EPOCHS = ES.PATIENCES, ES.LONG_EPOCHS
M.patience_track, M.patience_measure = ES.patience_track, ES.patience_measure

---S.long_runs() -> table
---The experiment of tasks 3 and 4 (one spec, so task 4 adopts task 3's
---trainings): the study's MLP for S.LONG_EPOCHS epochs with
---S.patience_track and S.patience_measure.
---Example: return wb.task{name = "t", experiment = S.long_runs(), report = ...}
function M.long_runs()
  return M.experiment{base = {epochs = M.LONG_EPOCHS}, callbacks = M.patience_track,
    measure = M.patience_measure}
end

-- }====================

-- {==================== optimizers (tasks 7, 7b, 7c) ====================

---S.convergence_measure(model, cfg, data, history) -> table
---The measure hook of the optimizer tasks: target (S.target), the first
---epoch and the training seconds with validation accuracy >= target
---(epochs_to_target, seconds_to_target; false when never: a record tells
---that from a name no hook returns), and
---late_val_loss_jitter, the sd of the epoch-to-epoch change of validation
---loss over the last five epochs (absent with fewer than three epochs).
---Example: experiment = S.experiment{measure = S.convergence_measure}
function M.convergence_measure(_, cfg, _, h)
  local m = {target = M.target(cfg.dataset), epochs_to_target = false,
    seconds_to_target = false}
  local t = 0
  for e, acc in ipairs(h.val_accuracy) do
    t = t + h.epoch_time[e]
    if acc >= m.target and not m.epochs_to_target then
      m.epochs_to_target, m.seconds_to_target = e, t
    end
  end
  local late, n = {}, #h.val_loss
  for e = math.max(2, n - 4), n do late[#late + 1] = h.val_loss[e] - h.val_loss[e - 1] end
  -- an sd needs two changes (three epochs): one change's "sd" would be 0
  if #late >= 2 then m.late_val_loss_jitter = select(2, wb.runs.mean_std(late)) end
  return m
end

-- The optimizers of claim C5, and the learning-rate grid of their tuning
-- (7 values, log-spaced from 1e-4 to 1, DeepOBS's protocol).
M.OPTIMIZERS = {{label = "SGD", config = {optimizer = "sgd"}},
  {label = "SGD+momentum 0.9", config = {optimizer = "sgd", momentum = 0.9}},
  {label = "Adam", config = {optimizer = "adam"}},
  {label = "AdamW", config = {optimizer = "adamw"}}}
M.LR_GRID = {1e-4, 4.64e-4, 2.15e-3, 1e-2, 4.64e-2, 0.215, 1}
M.TUNE_EPOCHS = 10

---S.best_lr(runs, opt) -> number|nil, number|nil
---The learning rate of task 7b's grid with the lowest final held-out
---validation loss for optimizer opt (an entry of S.OPTIMIZERS), and that
---loss: the mean over the rate's seeds when the grid has several (--seeds),
---never the luckiest single seed of all rates (the minimum of noisy values
---picks noise). A rate any of whose seeds diverged (or has no finite
---validation loss) does not count: its mean over the others would flatter it.
---Example: local lr = S.best_lr(wb.runs.find{task = "task07b_lr_grid"}, S.OPTIMIZERS[3])
function M.best_lr(runs, o)
  local sum, n, bad, order = {}, {}, {}, {}
  for _, r in ipairs(runs.records or runs) do
    if r.variant:sub(1, #o.label + 4) == o.label .. " lr=" then
      local lr, v = r.config.lr, r.metrics and r.metrics.val_loss
      if not sum[lr] then sum[lr], n[lr] = 0, 0; order[#order + 1] = lr end
      if r.status == "ok" and type(v) == "number" and v == v and v < math.huge then
        sum[lr], n[lr] = sum[lr] + v, n[lr] + 1
      else
        bad[lr] = true
      end
    end
  end
  local best, loss
  for _, lr in ipairs(order) do
    local m = not bad[lr] and n[lr] > 0 and sum[lr] / n[lr]
    if m and (not loss or m < loss) then best, loss = lr, m end
  end
  return best, loss
end

---S.grid_runs() -> wb.Runs, table, integer
---Task 7b's records of the runs it plans under this command line's options
---(root, dataset, --quick, --epochs): task 7c reads them when it is
---loaded. Records of the same grid under other options or code (a root
---keeps them all) are not among them: their best rate is not this grid's.
---Second: the runs of the grid as task 7b plans it by default (its own
---seeds: the report runs it so) that have no record (a child that failed,
---a grid cut short): a rate left out of the search could have been the best;
---third, how many runs that grid has.
---Example: local grid, missing = S.grid_runs()
function M.grid_runs()
  local opts = wb.runner.options(rawget(_G, "arg") or {})
  local root = wb.runner.root_of(opts)
  local here = debug.getinfo(1, "S").source:match("^@(.*)/study/[^/]*$") or "scripts"
  local task = dofile(here .. "/task07b_lr_grid.lua")
  local ex = wb.experiment.new(task.experiment, {name = task.name, options = opts,
    root = root})
  local hashes = {}
  for _, sp in ipairs(ex.specs) do hashes[#hashes + 1] = sp.hash end
  local runs = wb.runs.find{root = root, task = "task07b_lr_grid", hash = hashes,
    allow_empty = true}
  local have, missing, own = {}, {}, {}
  for _, r in ipairs(runs.records) do have[r.hash] = true end
  for k, v in pairs(opts) do own[k] = v end
  own.seeds = nil -- more seeds than 7b's own are used when recorded, not required
  local planned = wb.experiment.new(task.experiment, {name = task.name, options = own,
    root = root}).specs
  for _, sp in ipairs(planned) do
    if not have[sp.hash] then missing[#missing + 1] = sp end
  end
  return runs, missing, #planned
end

-- }====================

-- The fixed training sample curvature is measured on: the first 2,048 rows.
M.CURVATURE_ROWS = 2048

---S.curvature_track(cfg, model, data) -> table
---The callbacks hook of task 10: wb.measures.track as S.track, and
---lambda_max of the training-loss Hessian on the first 2,048 training rows
---after every epoch (Lanczos to 1e-3, warm-started from the previous
---epoch's eigenvector; series lambda_max and lambda_max_hvps, the products
---each epoch used).
---Example: experiment = S.experiment{callbacks = S.curvature_track}
function M.curvature_track(_, _, d)
  local sample = d.train:subset(1, math.min(M.CURVATURE_ROWS, #d.train))
  local cb = {series = {lambda_max = {}, lambda_max_hvps = {}}}
  function cb:on_train_begin(model) self.model = model end
  function cb:on_epoch_end(epoch)
    local e = wb.hessian.eigs(self.model, sample, {k = 1, tol = 1e-3, v0 = self.v})
    self.v = e.vectors[1]
    self.series.lambda_max[epoch], self.series.lambda_max_hvps[epoch] = e.values[1], e.hvps
  end
  -- the series and the warm start: without them a run interrupted and
  -- resumed (the runner's saved state) restarted from epoch 1
  function cb:get_state() return {series = self.series, v = self.v} end
  function cb:set_state(st) self.series, self.v = st.series, st.v end
  return {wb.measures.track{data = d.train}, cb}
end

-- task 10's measurements: the baseline's, lambda_max per epoch, and for the
-- first seed the Hessian's eigenvalue density and its top 20 eigenvalues
local function curvature_measure(model, cfg, d, h, cbs)
  local m = baseline_measure(model, cfg, d, h, cbs)
  for k, v in pairs(cbs[2].series) do m[k] = v end
  if cfg.seed == 1 then
    local sample = d.train:subset(1, math.min(M.CURVATURE_ROWS, #d.train))
    -- two probes: in 101,770 dimensions one random probe's quadrature is
    -- already close to the mean (the variance falls with the dimension)
    local dens = wb.hessian.density(model, sample, {steps = 80, probes = 2})
    m.density_x, m.density_y = dens.x, dens.y
    m.top_eigenvalues = wb.hessian.eigs(model, sample, {k = 20, tol = 1e-3,
      max_iter = 200}).values
  end
  return m
end

---S.baseline_curvature() -> table
---The baseline experiment with the Hessian instruments of task 10
---(S.curvature_track; the density and top eigenvalues of the first seed).
---Example: return wb.task{name = "t", experiment = S.baseline_curvature(), report = ...}
function M.baseline_curvature()
  return M.experiment{base = {epochs = M.baseline_epochs}, callbacks = M.curvature_track,
    measure = curvature_measure}
end

---study.baseline() -> table
---The study's baseline experiment (tasks 1, 2 and 10 share it): 784 ->
---Dense 128 relu -> Dense 10 softmax, Adam, batch 32, 10 epochs, tracking
---per-epoch kernel and gradient norms and counting dead ReLU units.
---Example: return wb.task{name = "t", experiment = S.baseline(), report = ...}
function M.baseline()
  return M.experiment{base = {epochs = M.baseline_epochs}, callbacks = M.track,
    measure = baseline_measure}
end

-- confusion matrices and the most confidently wrong predictions: their own
-- file (study/predictions.lua), here under the names the tasks use
local P = require "study.predictions"
M.confusion, M.per_class_accuracy, M.top_confusions = P.confusion, P.per_class_accuracy,
  P.top_confusions
M.confident_errors, M.images = P.confident_errors, P.images

---study.finished(recs) -> table, integer
---The finished runs (status "ok") of a list of records, and how many are
---not (diverged, failed): a run that did not finish has no weights or
---measures, and is left out of every number and figure, and counted.
---Example: local done, n_out = S.finished(runs:of(v))
M.finished = require("study.claim_parts").finished

---study.pct(x) -> string
---x as a percentage with 2 decimals: 0.9812 -> "98.12%".
---@param x number
---@return string
---Example: print(S.pct(0.9812))
function M.pct(x) return string.format("%.2f%%", 100 * x) end

local OPTIMIZER_NAMES = {adam = "Adam", adamw = "AdamW", sgd = "SGD", rmsprop = "RMSprop"}

---S.trained(cfg) -> string
---The model and training of a run's config in words, for a task's intro
---("784 -> 128 relu -> 10 softmax, Adam, batch 32, 10 epochs"; "on the first
---N training rows" with a subset): --quick, --epochs and --dataset change
---them, so an intro cannot be a fixed string.
---@param cfg table
---@return string
---Example: task:text("The baseline (" .. S.trained(runs.records[1].config) .. ") ...")
function M.trained(cfg)
  local layers = {"784"}
  for _, h in ipairs(type(cfg.hidden) == "table" and cfg.hidden or {cfg.hidden}) do
    layers[#layers + 1] = string.format("%d %s", h, cfg.activation) -- 128.0: JSON
  end
  layers[#layers + 1] = "10 softmax"
  return string.format("%s, %s, batch %d, %d epoch%s%s", table.concat(layers, " -> "),
    OPTIMIZER_NAMES[cfg.optimizer] or cfg.optimizer, cfg.batch_size, cfg.epochs,
    cfg.epochs == 1 and "" or "s", cfg.subset and string.format(" on the first %d "
    .. "training rows", cfg.subset.train) or "")
end

return M
