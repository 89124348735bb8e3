-- wb/run_train.lua: training one run of an experiment (or adopting an
-- identical finished training) and writing its record and weights. Split
-- from wb/experiment.lua, which keeps the grid, the cache and the parallel
-- children; every function here is also wb.experiment.<name>.
local wb = require "wb"
local util = require "wb.util"
local runs = require "wb.runs"

local M = {}

---wb.experiment.runs_dir(root) -> string
---The folder of run records: <root>/runs (root default $WB_PLOTS or
---"plots").
---@param root? string
---@return string
---Example: print(wb.experiment.runs_dir())
function M.runs_dir(root) return (root or util.plots_root()) .. "/runs" end
---wb.experiment.record_path(ex, hash) -> string
---The record file of run hash of experiment ex: <runs_dir>/<name>-<hash>.json.
---@param ex wb.Experiment
---@param hash string
---@return string
---Example: print(wb.experiment.record_path(ex, ex.specs[1].hash))
function M.record_path(ex, hash) return M.runs_dir(ex.root) .. "/" .. ex.name .. "-" .. hash .. ".json" end
---wb.experiment.weights_path(ex, hash) -> string
---The final weights of run hash of experiment ex, beside its record:
---<runs_dir>/<name>-<hash>.safetensors.
---@param ex wb.Experiment
---@param hash string
---@return string
---Example: local m = wb.load(wb.experiment.weights_path(ex, ex.specs[1].hash))
function M.weights_path(ex, hash)
  return M.runs_dir(ex.root) .. "/" .. ex.name .. "-" .. hash .. ".safetensors"
end


-- {==================== building and training one run ====================

---wb.experiment.build_model(cfg, n_in) -> wb.Sequential
---The study's default model for a config: Dense(n_in (784) -> hidden,
---activation) [-> Dropout(dropout)] -> Dense(hidden -> 10, softmax), l2 on
---both kernels (Keras kernel_regularizer), init for both.
---@param cfg table
---@param n_in? integer
---@return wb.Sequential
---Example: local m = wb.experiment.build_model{hidden = 64, activation = "tanh", dropout = 0}
function M.build_model(cfg, n_in)
  local l2 = cfg.l2 ~= 0 and cfg.l2 or nil
  local layers = {wb.nn.Dense(n_in or 784, cfg.hidden, {activation = cfg.activation,
    l2 = l2, init = cfg.init})}
  if cfg.dropout and cfg.dropout > 0 then layers[#layers + 1] = wb.nn.Dropout(cfg.dropout) end
  layers[#layers + 1] = wb.nn.Dense(cfg.hidden, 10, {activation = "softmax", l2 = l2,
    init = cfg.init})
  return wb.nn.Sequential(layers)
end

local opt_keys = {"lr", "momentum", "nesterov", "beta1", "beta2", "eps", "weight_decay",
  "rho"}
---wb.experiment.build_optimizer(cfg) -> wb.Optimizer
---The optimizer of a config: cfg.optimizer by name with the keys lr,
---momentum, nesterov, beta1, beta2, eps, weight_decay, rho it sets.
---@param cfg table
---@return wb.Optimizer
---Example: local opt = wb.experiment.build_optimizer{optimizer = "sgd", lr = 0.1}
function M.build_optimizer(cfg)
  local o = {}
  for _, k in ipairs(opt_keys) do o[k] = cfg[k] end
  return wb.optim.new(cfg.optimizer, o)
end

-- Datasets for a config, cached per process; `subset` = {train = n, test = n}
-- takes the first rows (used by --quick).
local data_cache = {}
---wb.experiment.data_for(cfg) -> table
---The datasets {train, test} of a config (cfg.dataset), cached per process;
---cfg.subset = {train = n, test = n} takes the first rows (--quick).
---run:data() uses it, so a run is evaluated on the data it was tested on.
---@param cfg table
---@return table
---Example: local d = wb.experiment.data_for{dataset = "mnist", subset = {test = 500}}
function M.data_for(cfg)
  local key = cfg.dataset .. ":" .. util.canonical(cfg.subset or {})
  if data_cache[key] then return data_cache[key] end
  local d = wb.data.load(cfg.dataset)
  if cfg.subset then
    d = {train = d.train:subset(1, math.min(cfg.subset.train or #d.train, #d.train)),
         test = d.test:subset(1, math.min(cfg.subset.test or #d.test, #d.test))}
  end
  data_cache[key] = d
  return d
end

local function final_metrics(h, test)
  local n = #h.loss
  local m = {test_loss = test.loss, test_accuracy = test.accuracy,
    loss = h.loss[n], accuracy = h.accuracy[n], epochs_run = n}
  if h.val_loss and #h.val_loss > 0 then
    m.val_loss, m.val_accuracy = h.val_loss[n], h.val_accuracy[n]
    m.gap = h.val_loss[n] - h.loss[n]
    m.acc_gap = h.accuracy[n] - h.val_accuracy[n]
    local best, at = math.huge, 1
    for i, v in ipairs(h.val_loss) do if v < best then best, at = v, i end end
    m.best_val_loss, m.best_epoch = best, at
    m.best_val_accuracy = math.max(table.unpack(h.val_accuracy))
  end
  local t = 0
  for _, s in ipairs(h.epoch_time or {}) do t = t + s end
  m.train_seconds = t
  m.sec_per_epoch = n > 0 and t / n or 0
  return m
end

-- {==================== reusing identical trainings ====================
-- Tasks share reference runs: the dropout-0, L2-0 and Adam variants are the
-- same training as the 20-epoch baseline of task 3. A run's `train_key`
-- hashes what determines its training (config and version, not the task);
-- a pending run whose key matches a finished run of another task adopts
-- that run's weights and history instead of training again, and then runs
-- its own measurements. Experiments whose callbacks change training (or
-- read the last-epoch weights, like task 4's) say `reuse = false`;
-- observing callbacks (wb.measures.track) keep their series in the record
-- (`callback_series`), so an adopter gets them back.

---wb.experiment.train_key(cfg) -> string
---The hash of what determines a run's training (its config and the
---version, not its task): runs of different tasks with the same key share
---one training (a pending run adopts the finished one and runs only its own
---measurements).
---@param cfg table
---@return string
---Example: print(wb.experiment.train_key(run.config))
function M.train_key(cfg)
  return util.fnv1a64(util.canonical({config = cfg, version = wb.version}))
end

local donors -- train_key -> record, built once per process
local function find_donor(ex, spec)
  if ex.reuse == false or ex.build then return nil end
  if not donors then
    donors = {}
    for _, r in ipairs(runs.load_all(M.runs_dir(ex.root))) do
      if r.status == "ok" and r.train_key and r.weights and not r.reused_from then
        donors[r.train_key] = donors[r.train_key] or r
      end
    end
  end
  local r = donors[M.train_key(spec.config)]
  if not r or not util.read_file(M.runs_dir(ex.root) .. "/" .. r.weights) then return nil end
  if ex.callbacks and not (r.callback_series and #r.callback_series > 0) then return nil end
  return r
end

-- }====================

---wb.experiment.best_keeper() -> table
---A callback that keeps a copy of the weights of the epoch with the lowest
---validation loss (copied into tensors cloned once, at the first
---improvement); keeper:save(model, final_path) writes them beside the final
---weights as <name>.best.safetensors and returns that file name, or nil
---when the last epoch was the best (the final weights are the best ones)
---or there was no validation. The model's weights are left as they were.
---Example: local k = wb.experiment.best_keeper(); m:fit(d.train, {validation = d.test, callbacks = {k}})
function M.best_keeper()
  local k = {best = math.huge}
  function k:on_train_begin(model) self.model = model end
  function k:on_epoch_end(epoch, logs)
    if not logs.val_loss or not (logs.val_loss < self.best) then return end
    local ps = self.model:parameters()
    self.saved = self.saved or {}
    for i, p in ipairs(ps) do
      if self.saved[i] then self.saved[i]:copy(p) else self.saved[i] = p:clone() end
    end
    self.best, self.epoch = logs.val_loss, epoch
  end
  function k:on_epoch_begin(epoch) self.last = epoch end
  function k:save(model, final_path)
    if self.skip or not self.saved or self.epoch == self.last then return nil end
    local ps = model:parameters()
    local final = {}
    for i, p in ipairs(ps) do final[i] = p:clone(); p:copy(self.saved[i]) end
    local path = final_path:gsub("%.safetensors$", ".best.safetensors")
    util.mkdir_p(util.dirname(path))
    local ok, err = pcall(model.save, model, path)
    for i, p in ipairs(ps) do p:copy(final[i]) end
    if not ok then error(err, 0) end
    return util.basename(path)
  end
  return k
end

---wb.experiment.train_run(ex, spec) -> table, wb.Sequential
---Trains the run spec ({variant, seed, config, hash}) of experiment ex in
---this process, or adopts an identical finished training, and writes its
---record; returns the record and the model. ex:run calls it (in child
---processes when jobs > 1).
---@param ex wb.Experiment
---@param spec table
---@return table record
---@return wb.Sequential model
---Example: local rec = wb.experiment.train_run(ex, ex.specs[1])
function M.train_run(ex, spec)
  local cfg = spec.config
  local d = M.data_for(cfg)
  local donor = find_donor(ex, spec)
  if donor then return M.adopt_run(ex, spec, donor, d) end
  wb.seed(cfg.seed)
  local model = ex.build and ex.build(cfg, d) or M.build_model(cfg, d.train:input_size())
  local opt = M.build_optimizer(cfg)
  -- hook callbacks first: their on_train_end sees the last-epoch weights
  -- before EarlyStopping restores the best ones
  local extra = ex.callbacks and ex.callbacks(cfg, model, d) or {}
  local keeper = M.best_keeper()
  -- EarlyStopping that restores the best weights makes the final ones best
  keeper.skip = cfg.early_stopping and cfg.early_stopping.restore_best_weights
  local callbacks = {table.unpack(extra)}
  callbacks[#callbacks + 1] = keeper
  if cfg.early_stopping then
    callbacks[#callbacks + 1] = wb.callbacks.EarlyStopping(util.copy(cfg.early_stopping))
  end
  local fit_opts = {epochs = cfg.epochs, batch_size = cfg.batch_size, optimizer = opt,
    seed = cfg.seed, verbose = false, callbacks = callbacks, shuffle = cfg.shuffle}
  if cfg.validation == "test" then fit_opts.validation = d.test
  elseif type(cfg.validation) == "number" then fit_opts.validation_split = cfg.validation end
  if ex.fit_options then
    for k, v in pairs(ex.fit_options(cfg, model, d) or {}) do fit_opts[k] = v end
  end
  local t0 = util.now()
  local ok, hist = pcall(model.fit, model, d.train, fit_opts)
  local status = "ok"
  if not ok then
    if type(hist) == "table" and hist.kind == "diverged" then
      status, hist = "diverged", hist.history or {}
    else
      error(hist, 0)
    end
  elseif hist.stopped and tostring(hist.stopped):find("diverged") then
    status = "diverged"
  end
  local record = {hash = spec.hash, task = ex.name, variant = spec.variant,
    seed = cfg.seed, config = cfg, status = status, history = util.plain(hist),
    train_key = M.train_key(cfg)}
  if status == "ok" then
    record.best_weights = keeper:save(model, M.weights_path(ex, spec.hash))
    return M.finish_run(ex, spec, record, model, hist, extra, d, t0)
  end
  return M.write_record(ex, spec, record, t0), model
end

---wb.experiment.finish_run(ex, spec, record, model, hist, extra, d, t0) -> table, wb.Sequential
---Completes a trained (or adopted) run: final metrics on the test set, the
---measure hook's numbers, the callbacks' series, the weights saved beside
---the record, then the record written (wb.experiment.write_record).
---@return table record
---@return wb.Sequential model
---Example: -- used by train_run and adopt_run
function M.finish_run(ex, spec, record, model, hist, extra, d, t0)
  local cfg = spec.config
  record.metrics = final_metrics(hist, model:evaluate(d.test))
  local series = {}
  for i, cb in ipairs(extra) do series[i] = cb.series end
  if #series > 0 then record.callback_series = util.plain(series) end
  if ex.measure then
    local tm = util.now()
    record.measures = util.plain(ex.measure(model, cfg, d, hist, extra)) or {}
    -- the cost of the extra measurements: the hook, plus callbacks that
    -- timed themselves (wb.measures.track)
    local cost = util.now() - tm
    for _, cb in ipairs(extra) do cost = cost + (cb.seconds or 0) end
    record.measure_seconds = cost
    for k, v in pairs(record.measures or {}) do
      if type(v) == "number" then record.metrics[k] = v end
    end
  end
  local wpath = M.weights_path(ex, spec.hash)
  util.mkdir_p(M.runs_dir(ex.root))
  model:save(wpath)
  record.weights = util.basename(wpath)
  return M.write_record(ex, spec, record, t0), model
end

---wb.experiment.adopt_run(ex, spec, donor, d) -> table, wb.Sequential
---Makes run spec from donor, a finished record with the same train_key:
---loads its weights, takes its history and callback series, and finishes
---the run with this experiment's own measurements (reused_from names the
---donor).
---@return table record
---@return wb.Sequential model
---Example: -- used by train_run
function M.adopt_run(ex, spec, donor, d)
  local t0 = util.now()
  local model = wb.load(M.runs_dir(ex.root) .. "/" .. donor.weights)
  local extra = {}
  for i, series in ipairs(donor.callback_series or {}) do extra[i] = {series = series} end
  local record = {hash = spec.hash, task = ex.name, variant = spec.variant,
    seed = spec.config.seed, config = spec.config, status = "ok", history = donor.history,
    train_key = donor.train_key, reused_from = donor.task .. "-" .. donor.hash,
    best_weights = donor.best_weights} -- the donor's file, in the same folder
  return M.finish_run(ex, spec, record, model, donor.history, extra, d, t0)
end

---wb.experiment.write_record(ex, spec, record, t0) -> table
---Adds wall_time, host, version, git_commit and finished_at to a record and
---writes it atomically to <root>/runs/<task>-<hash>.json.
---@return table
---Example: -- used by finish_run
function M.write_record(ex, spec, record, t0)
  record.wall_time = util.now() - t0
  record.sec_per_epoch = record.metrics and record.metrics.sec_per_epoch
  record.host = wb.sys and wb.sys.hostname and wb.sys.hostname() or nil
  record.version = wb.version
  record.git_commit = util.git_commit()
  record.finished_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  util.write_json(M.record_path(ex, spec.hash), record)
  return record
end

-- }====================

return M
