-- scripts/study/noise.lua (`local Z = require "study.noise"`): task 14's
-- gradient noise scale (McCandlish et al. 2018) on the study's MLP: the
-- runs (one tracked run, a batch-size sweep with a small learning-rate grid
-- per batch size), their per-step hooks, and the best learning rate per
-- batch size; the figures are study/noise_report.lua's. The estimators and
-- the tradeoff fit are wb.noise_scale's; this file only decides which rows,
-- which steps and which runs.

local M = {}

-- Every run holds out the last 10 % of the training rows (the study's
-- validation split) and judges the target on the first VAL_ROWS of them.
M.VALIDATION, M.VAL_ROWS = 0.1, 2000
-- The fixed target: held-out accuracy. 90 % keeps the largest batch within
-- about 40 steps (measured: 36 at lr 1); a higher target multiplies the
-- large batches' cost, which the report's 2-minute budget cannot carry.
M.TARGET = 0.90

-- The sweep. Learning rate: McCandlish et al. tune it per batch size; we
-- try three per batch size, 1/2, 1 and 2 times lr(B) = LR_MAX / (1 + B_LR /
-- B), the form of their optimal step with guessed constants (probed on
-- seed 1: about 0.15 is best at B = 8, 1 at B = 6,000, 2 diverges there);
-- the report says when the best sits at an end of its grid.
M.BATCHES = {8, 32, 128, 512, 2048, 6000}
M.LR_MAX, M.B_LR = 1, 30
M.LR_FACTORS = {0.5, 1, 2}
-- A run stops at the target, at CAP_EXAMPLES examples or MAX_STEPS steps,
-- or as failed (a diverged or dead network) once past FAIL_EXAMPLES
-- examples when its held-out accuracy is below FAIL[i].acc at step
-- FAIL[i].step or later (probing, seed 1: the runs that reached the target
-- were above 0.55 when first checked so, the diverging ones below 0.3).
M.CAP_EXAMPLES, M.MAX_STEPS, M.FAIL_EXAMPLES = 600000, 4000, 20000
M.FAIL = {{step = 10, acc = 0.3}, {step = 30, acc = 0.5}}
-- held-out accuracy is checked at steps 1..10, then every 12 % more steps
M.CHECK_GROWTH = 1.12

-- The tracked run: SGD at batch TRACK_BATCH and its centre learning rate,
-- TRACK_EPOCHS epochs; B_simple every EVERY steps on MEASURE_ROWS training
-- rows (a different block each time; two-batch with small batches of
-- SMALL), B_noise three times (first step, a quarter, last step) with
-- NOISE_SAMPLES per-example gradients, H on MEASURE_ROWS other rows and G
-- on up to G_ROWS more (one gradient: late in training G is small and
-- G^T H G needs a large batch): NOISE_SAMPLES + 1 Hessian-vector products.
M.TRACK_BATCH, M.TRACK_EPOCHS, M.EVERY = 128, 2, 50
M.MEASURE_ROWS, M.SMALL, M.G_ROWS, M.NOISE_SAMPLES = 512, 32, 8192, 32

local function round2(x)
  local e = 10 ^ (math.floor(math.log(x, 10)) - 1)
  return math.floor(x / e + 0.5) * e
end

---Z.lr_centre(B) -> number
---The centre of batch size B's learning-rate grid, LR_MAX / (1 + B_LR / B)
---to two significant digits.
---Example: print(Z.lr_centre(8)) --> 0.21
function M.lr_centre(B) return round2(M.LR_MAX / (1 + M.B_LR / B)) end

---Z.variants(quick) -> table
---The experiment's variants: "track" (the tracked run) and "B=b lr=x" for
---each batch size and factor of its grid; quick: three batch sizes (8,
---128, 2048) at their centre learning rate.
---Example: experiment = {variants = Z.variants(false), ...}
function M.variants(quick)
  local out = {{label = "track", batch_size = M.TRACK_BATCH,
    lr = M.lr_centre(M.TRACK_BATCH), epochs = M.TRACK_EPOCHS, log_every = M.EVERY}}
  local batches = quick and {8, 128, 2048} or M.BATCHES
  for _, B in ipairs(batches) do
    for _, f in ipairs(quick and {1} or M.LR_FACTORS) do
      local lr = round2(f * M.lr_centre(B))
      local steps = math.min(M.MAX_STEPS, math.ceil(M.CAP_EXAMPLES / B))
      -- epochs enough for the cap on MNIST's 54,000 training rows (the stopper stops)
      out[#out + 1] = {label = string.format("B=%d lr=%g", B, lr), batch_size = B, lr = lr,
        epochs = math.ceil(steps * B / 54000)}
    end
  end
  return out
end

-- rows first .. first + count - 1 of a dataset as float inputs and labels
-- (copies: a dataset's batches live in reused buffers)
local function rows(ds, first, count)
  local x, y = ds:subset(first, first + count - 1):batch(wb.measures.iota(count), 1, count)
  return {x = x:clone(), y = y:clone()}
end

-- the number of rows fit trains on (its validation_split holds out the
-- tail) and the first VAL_ROWS held-out rows
local function split(train)
  local n = #train
  local ntr = math.floor(n * (1 - M.VALIDATION))
  return ntr, rows(train, ntr + 1, math.min(n - ntr, M.VAL_ROWS))
end

local function accuracy(model, v)
  local _, acc = wb.measures.loss_and_grads(model, v.x, v.y)
  return acc
end

-- {==================== the hooks ====================

-- The tracked run's callback: B_simple (both ways) every `every` steps
-- (EVERY, or a fifth of a shorter run) and B_noise at its first step, a
-- quarter of the way and its last, at the weights the step starts from.
local function tracker(cfg, d)
  local ntr, val = split(d.train)
  local total = math.ceil(ntr / cfg.batch_size) * cfg.epochs
  local every = math.max(1, math.min(M.EVERY, total // 5))
  local cb = {series = {step = {}, loss = {}, val_accuracy = {}, ps_g2 = {}, ps_trace = {},
    tb_g2 = {}, tb_trace = {}, noise_step = {}, trace_h = {}, ghg = {}, trace_h_se = {},
    hvps = {}}, seconds = 0}
  local blocks = math.max(1, (ntr - 3 * M.MEASURE_ROWS) // M.MEASURE_ROWS)
  -- a short run (--quick) measures B_noise at its ends only
  local noise_at = {[1] = true, [total] = true}
  if total >= 4 * M.EVERY then noise_at[total // 4] = true end
  function cb:on_train_begin(model) self.model = model end
  function cb:on_train_batch_begin(step)
    local simple = step == 1 or step % every == 0
    if not simple and not noise_at[step] then return end
    local t0, s = wb.sys.time(), self.series
    local k = #s.step
    if simple then
      local b = rows(d.train, (k % blocks) * M.MEASURE_ROWS + 1, M.MEASURE_ROWS)
      local r = wb.noise_scale.simple(self.model, b.x, b.y, {small = M.SMALL})
      k = k + 1
      s.step[k], s.loss[k], s.val_accuracy[k] = step, r.loss, accuracy(self.model, val)
      s.ps_g2[k], s.ps_trace[k] = r.per_sample.g2, r.per_sample.trace
      s.tb_g2[k], s.tb_trace[k] = r.two_batch.g2, r.two_batch.trace
    end
    if noise_at[step] then
      -- three disjoint blocks at the end of the training rows: samples, H, G
      local top = ntr - M.NOISE_SAMPLES - M.MEASURE_ROWS
      local g_rows = math.min(M.G_ROWS, top // 2)
      local r = wb.noise_scale.noise(self.model,
        rows(d.train, top + 1, M.NOISE_SAMPLES),
        rows(d.train, top + M.NOISE_SAMPLES + 1, M.MEASURE_ROWS),
        rows(d.train, top - g_rows + 1, g_rows))
      local j = #s.noise_step + 1
      s.noise_step[j], s.trace_h[j], s.ghg[j] = step, r.trace_h, r.ghg
      s.trace_h_se[j], s.hvps[j] = r.stderr, r.hvps
    end
    self.seconds = self.seconds + wb.sys.time() - t0
  end
  -- the series (their length picks the next block) and the seconds: without
  -- them a run interrupted and resumed (the runner's saved state) restarted
  -- from epoch 1
  function cb:get_state() return {series = self.series, seconds = self.seconds} end
  function cb:set_state(st) self.series, self.seconds = st.series, st.seconds end
  return cb
end

-- A sweep run's callback: held-out accuracy at growing intervals; stops at
-- the target, at the cap, or on failure. series: the checks (step,
-- examples, val_accuracy).
local function stopper(cfg, d)
  local _, val = split(d.train)
  local cap = math.min(M.MAX_STEPS, math.ceil(M.CAP_EXAMPLES / cfg.batch_size))
  local cb = {series = {step = {}, examples = {}, val_accuracy = {}}, seen = 0, next = 1}
  function cb:on_train_begin(model) self.model = model end
  function cb:on_train_batch_end(step, logs)
    self.seen = self.seen + logs.batch_size
    if step < self.next and step < cap then return end
    self.next = step <= 10 and step + 1 or math.ceil(step * M.CHECK_GROWTH)
    local acc, s = accuracy(self.model, val), self.series
    s.step[#s.step + 1], s.examples[#s.examples + 1], s.val_accuracy[#s.val_accuracy + 1] =
      step, self.seen, acc
    if acc >= M.TARGET then self.hit = true; return true end
    if step >= cap then self.capped = true; return true end
    for _, f in ipairs(M.FAIL) do
      if step >= f.step and self.seen >= M.FAIL_EXAMPLES and acc < f.acc then
        self.failed = true
        return true
      end
    end
  end
  -- the checks, the examples seen, the next check's step and why it stopped
  -- (a state saved as the stop ends the epoch): without them a run
  -- interrupted and resumed (the runner's saved state) restarted from epoch 1
  function cb:get_state()
    return {series = self.series, seen = self.seen, next = self.next, hit = self.hit,
      capped = self.capped, failed = self.failed}
  end
  function cb:set_state(st)
    self.series, self.seen, self.next = st.series, st.seen, st.next
    self.hit, self.capped, self.failed = st.hit, st.capped, st.failed
  end
  return cb
end

---Z.callbacks(cfg, model, data) -> table
---The callbacks hook: the tracked run (the one with log_every) gets the
---noise-scale tracker, a sweep run the target stopper.
---Example: experiment = {callbacks = Z.callbacks, measure = Z.measure, ...}
function M.callbacks(cfg, _, d)
  if cfg.log_every then return {tracker(cfg, d)} end
  return {stopper(cfg, d)}
end

---Z.measure(model, cfg, data, history, callbacks) -> table
---A sweep run's steps and examples to the target (linearly interpolated
---between the last check below it and the first at or above it; nil when
---never reached) and why it stopped (stop: "target", "cap", "failed",
---"end"); the tracked run's measuring seconds and Hessian-vector products.
---Example: experiment = {callbacks = Z.callbacks, measure = Z.measure}
function M.measure(_, cfg, _, _, cbs)
  local cb = cbs[1]
  if cfg.log_every then
    local h = 0
    for _, v in ipairs(cb.series.hvps) do h = h + v end
    return {measure_seconds_track = cb.seconds, hvps = h}
  end
  local s = cb.series
  local m = {target = M.TARGET, stop = cb.hit and "target" or cb.capped and "cap"
    or cb.failed and "failed" or "end", checks = #s.step}
  if cb.hit then
    local n = #s.step
    local st, ex = s.step[n], s.examples[n]
    if n > 1 then
      local a0, a1 = s.val_accuracy[n - 1], s.val_accuracy[n]
      local t = (M.TARGET - a0) / (a1 - a0)
      st = s.step[n - 1] + t * (s.step[n] - s.step[n - 1])
      ex = s.examples[n - 1] + t * (s.examples[n] - s.examples[n - 1])
    end
    m.steps_to_target, m.examples_to_target = st, ex
  end
  return m
end

-- }====================
-- {==================== reading the records ====================

---Z.best(records) -> table
---Per batch size (ascending) the sweep's learning rates and the one that
---reaches the target in the fewest steps: {B, runs = {{lr, steps,
---examples (means over the seeds that reached it), reached, seeds, stop}},
---best (a run or nil), edge (the best lr is the lowest or highest tried)}.
---Example: for _, b in ipairs(Z.best(runs.records)) do print(b.B, b.best and b.best.steps) end
function M.best(records)
  local by = {}
  for _, r in ipairs(records) do
    if r.variant ~= "track" then
      local B, lr, m = r.config.batch_size, r.config.lr, r.measures or {}
      by[B] = by[B] or {B = B, runs = {}, at_lr = {}}
      local run = by[B].at_lr[lr]
      if not run then
        run = {lr = lr, seeds = 0, reached = 0, sum_s = 0, sum_e = 0}
        by[B].at_lr[lr] = run
        table.insert(by[B].runs, run)
      end
      run.seeds = run.seeds + 1
      if m.steps_to_target then
        run.reached, run.sum_s = run.reached + 1, run.sum_s + m.steps_to_target
        run.sum_e = run.sum_e + m.examples_to_target
      end
      run.stop = run.stop or (r.status ~= "ok" and r.status or m.stop)
    end
  end
  local out = {}
  for _, b in pairs(by) do
    table.sort(b.runs, function(x, y) return x.lr < y.lr end)
    for i, run in ipairs(b.runs) do
      if run.reached > 0 then
        run.steps, run.examples = run.sum_s / run.reached, run.sum_e / run.reached
        if run.reached < run.seeds then
          run.stop = string.format("%d of %d seeds", run.reached, run.seeds)
        end
      end
      if run.steps and (not b.best or run.steps < b.best.steps) then b.best, b.at = run, i end
    end
    b.edge = b.best and #b.runs > 1 and (b.at == 1 or b.at == #b.runs)
    out[#out + 1] = b
  end
  table.sort(out, function(x, y) return x.B < y.B end)
  return out
end

-- }====================

return M
