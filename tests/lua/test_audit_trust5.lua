-- test_audit_trust5.lua: a task that reads another task's runs assumed
-- every one of them finished. Task 4 reads its early stops off task 3's
-- 20-epoch runs; one that diverged (NaN loss) has no stops or test metrics
-- (its measure hook never ran), and task 4's report raised "attempt to
-- index a nil value (field 'metrics')": no README, no figure, the report's
-- task failed. It now leaves a diverged run out of every number and the
-- figure, as the rest of the report does (test_audit_trust3), and says how
-- many it left out. The same for the report's claims (C1 named the epochs
-- of a diverged first seed: none) and its "Seeds:" (a diverged seed was
-- missing), task 7c (it took the best rate of a task-7b grid with runs
-- unrecorded) and task 10 (it loaded the weights of seed 1 whatever its
-- status).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

-- A sandbox of the study (T.report_sandbox) whose tasks have a seed that
-- diverges: `diverge.lua` wraps the callbacks of every experiment S.experiment
-- makes so that seed 1 trains at lr 1e35 after its first epoch and diverges
-- (a NaN written into the weights by the hook, as before, is now the hook's
-- error, not a divergence: test_hook_nonfinite) (the same
-- hook in tasks 3 and 4, or 1 and 2, so that one adopts the other's
-- trainings as in the study).
local dir = T.report_sandbox()
util.write_file(dir .. "/diverge.lua", [[
local S = require "study"
local experiment = S.experiment
function S.experiment(spec)
  local e = experiment(spec)
  local track = e.callbacks
  e.callbacks = function(cfg, m, d)
    local cbs = track and track(cfg, m, d) or {}
    if cfg.seed == 1 then
      cbs[#cbs + 1] = {on_train_begin = function(self, model) self.model = model end,
        on_epoch_end = function(self, epoch)
          if epoch == 1 then self.model.optimizer.lr = 1e35 end
        end}
    end
    return cbs
  end
  return e
end
]])
for _, t in ipairs{"task01_predictions", "task02_custom_digit", "task03_epochs",
    "task04_early_stopping", "task06_l2"} do
  local src = assert(util.read_file("scripts/" .. t .. ".lua"))
  local n
  src, n = src:gsub("\nlocal S = require \"study\"\n", "\nlocal S = require \"study\"\n"
    .. "require \"diverge\"\n")
  T.eq(n, 1, t .. ": one require \"study\"")
  util.write_file(dir .. "/" .. t .. ".lua", src)
end
local root = dir .. "/r"
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb) -- (cd dir)

local function task(name)
  return T.sh(string.format("cd %s && %s %s.lua --quick --seeds 3 --jobs 3 --root %s",
    T.quote(dir), T.quote(exe), name, T.quote(root)))
end

-- the records of a task's runs, by seed
local function records(name)
  local out = {}
  for _, r in ipairs(wb.runs.find{root = root .. "/quick", task = name}.records) do
    out[r.seed] = r
  end
  return out
end

T.test("task 4: a diverged run of task 3's is left out of its numbers and figure, counted",
    function()
  local st, _, err = task("task04_early_stopping")
  T.eq(st, 0, err)
  T.ok(err:find("seed 1: diverged", 1, true), err)
  local recs = records("task04_early_stopping")
  T.eq(recs[1].status, "diverged")
  local md = util.read_file(root .. "/quick/task04_early_stopping/README.md") or ""
  T.ok(md:find("(mean ± sd over 2 seeds): 1 of 3 seeds diverged (NaN loss), left out of "
    .. "every number and curve here", 1, true), md)
  T.ok(md:find("| patience=2 | 0 of 2 |", 1, true), md)
  -- the table's mean is the two finished seeds'
  local m, s = wb.runs.mean_std{recs[2].metrics.test_loss_2, recs[3].metrics.test_loss_2}
  local cell = wb.runs.fmt_mean_std(m, s, "test_loss")
  T.ok(md:find("| patience=2 | 0 of 2 | 2 ± 0 | 2 ± 0 | " .. cell .. " | ", 1, true),
    cell .. "\n" .. md)
  -- the figure: the finished seeds' validation loss (seed 1's epoch 1 was
  -- finite: it is in no mean all the same)
  local csv = T.csv_rows(root .. "/quick/task04_early_stopping/val_loss.csv")
  local want = (recs[2].history.val_loss[1] + recs[3].history.val_loss[1]) / 2
  T.eq(csv[2][1], "1", "the figure's data: " .. table.concat(csv[1], ","))
  T.near(tonumber(csv[2][2]), want, 1e-6, "epoch 1: the mean over the finished seeds")
  local gp = util.read_file(root .. "/quick/task04_early_stopping/val_loss.gp") or ""
  T.ok(gp:find("over 2 seeds; 1 diverged, not", 1, true), gp) -- (wrapped before "shown")
end)

T.test("task 3 beside it: its table of the finished seeds", function()
  local st, _, err = task("task03_epochs")
  T.eq(st, 0, err)
  T.ok(err:find("seed 1: diverged", 1, true), err)
  local recs = records("task03_epochs")
  local md = util.read_file(root .. "/quick/task03_epochs/README.md") or ""
  local m, s = wb.runs.mean_std{recs[2].history.val_loss[1], recs[3].history.val_loss[1]}
  T.ok(md:find("| 1 | " .. wb.runs.fmt_mean_std(recs[2].history.loss[1] / 2
    + recs[3].history.loss[1] / 2, nil, "loss"), 1, true)
    and md:find(" | " .. wb.runs.fmt_mean_std(m, s, "val_loss") .. " | ", 1, true), md)
  T.ok(md:find("(per seed: " .. recs[2].metrics.best_epoch .. ", "
    .. recs[3].metrics.best_epoch .. ")", 1, true), md)
end)

T.test("report: the claims of tasks 3 and 4 leave the diverged run out, and say so; its "
  .. "seed is one of the report's", function()
  local st, _, err = T.sh(string.format("cd %s && WB_ECHO=0 %s report.lua --quick --seeds 3 "
    .. "--jobs 3 --root %s task03_epochs task04_early_stopping", T.quote(dir),
    T.quote(exe), T.quote(root)))
  T.eq(st, 0, err)
  local md = util.read_file(root .. "/quick/REPORT.md") or ""
  local c1 = md:match("\n| C1 |[^\n]*") or ""
  local c2 = md:match("\n| C2 |[^\n]*") or ""
  -- C1 named the epochs of seed 1's run, which diverged (none: "at the last epoch minus")
  T.ok(c1:find("val loss at the last epoch (2) minus", 1, true), c1)
  T.ok(c1:find("1 of 3 seeds diverged or failed (left out)", 1, true), c1)
  T.ok(select(2, c2:gsub("1 of 3 seeds diverged or failed %(left out%)", "")) == 6, c2)
  -- the report's first line (the tasks' own follow); was "Seeds: 2, 3": the
  -- seeds of the finished runs
  T.eq(md:match("Seeds: [^.]*"), "Seeds: 1, 2, 3")
  T.ok(md:find("| task04_early_stopping | base | 2 of 3 (1 diverged) |", 1, true), md)
end)

-- {==== task 7c reads task 7b's grid ====

T.test("task 7c refuses a grid with runs unrecorded (its best rate may be one left out)",
    function()
  -- a 7b child that failed left no record, and 7c took the best of the
  -- other rates: a tuned rate from a grid missing (say) the best one
  package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path -- (require "study")
  local groot = T.tmpdir()
  local opts = wb.runner.options{"--quick", "--root", groot}
  local t7b = dofile("scripts/task07b_lr_grid.lua")
  local ex = wb.experiment.new(t7b.experiment, {name = t7b.name, options = opts,
    root = wb.runner.root_of(opts)})
  wb.sys.mkdir_p(groot .. "/quick/runs")
  local left
  for _, sp in ipairs(ex.specs) do
    if sp.config.optimizer == "adam" and sp.config.lr == 1e-2 then left = sp
    else
      util.write_json(wb.record.path(groot .. "/quick", "task07b_lr_grid", sp.hash, "json"),
        {hash = sp.hash, task = "task07b_lr_grid", variant = sp.variant, seed = sp.seed,
          config = sp.config, status = "ok", metrics = {val_loss = 1 + sp.config.lr}})
    end
  end
  local cmd = T.quote(T.wb) .. " scripts/task07c_tuned_optimizers.lua --quick --list-runs "
    .. "--root " .. T.quote(groot)
  local st, _, err = T.sh(cmd)
  T.ok(st ~= 0, "refused: " .. err)
  T.ok(err:find("task07c: 1 of task07b_lr_grid's 28 runs have no record (Adam lr=0.01 seed 1): "
    .. "the best rate could be one of those", 1, true), err)
  -- recorded: Adam's rate is the grid's best (1e-4 elsewhere)
  util.write_json(wb.record.path(groot .. "/quick", "task07b_lr_grid", left.hash, "json"),
    {hash = left.hash, task = "task07b_lr_grid", variant = left.variant, seed = left.seed,
      config = left.config, status = "ok", metrics = {val_loss = 0.5}})
  local out
  st, out, err = T.sh(cmd)
  T.eq(st, 0, err)
  T.ok(out:find("--run %x+"), out)
  -- 7c with --seeds 2 beside a grid of 7b's own seed (as the report runs them):
  -- seed 2 of the grid is not required
  st, out, err = T.sh(cmd .. " --seeds 2")
  T.eq(st, 0, err)
end)

-- }====

T.test("task 10: a diverged seed 1 has no weights: the first finished seed's are shown, "
  .. "named", function()
  -- it loaded seed 1's model whatever its status: a diverged run has no
  -- weights file, and the report raised
  local texts, titles = {}, {}
  local fake = {name = "task10_weights", text = function(_, x) texts[#texts + 1] = x end,
    section = function(_, x) titles[#titles + 1] = x end, figure = function() end}
  local model = {{weight = wb.randn(784, 128)}, {weight = wb.randn(128, 10)}}
  local recs = {{task = "task10_weights", variant = "base", seed = 1, status = "diverged",
    hash = "h1", config = {seed = 1}, history = {loss = {1}}}}
  for sd = 2, 3 do
    recs[sd] = {task = "task10_weights", variant = "base", seed = sd, status = "ok",
      hash = "h" .. sd, config = {seed = sd}, metrics = {dead_units = 3},
      measures = {weight_norm_1 = {50, 40}, weight_norm_2 = {5, 5}, lambda_max = {2, 1},
        lambda_max_hvps = {10, 10}}, history = {loss = {1, 0.5}}}
  end
  local runs = wb.runs.Runs(recs)
  for _, r in ipairs(runs.records) do
    r.model = function(self)
      if self.status ~= "ok" then error("no weights file for " .. self.hash) end
      return model
    end
  end
  dofile("scripts/task10_weights.lua").report(fake, runs)
  local md = table.concat(texts, "\n")
  T.eq(titles[1], "First-layer weights (seed 2)")
  T.ok(md:find("density is measured on seed 1 only, which did not finish", 1, true), md)
end)

T.test("tasks 1 and 2 (the baseline's trainings): a diverged seed 1 is left out of the "
  .. "predictions, said; task 6's histogram shows a finished seed", function()
  -- each loaded every run's model (a diverged run has no weights file): the
  -- report raised
  local st, _, err = task("task01_predictions")
  T.eq(st, 0, err)
  T.ok(err:find("seed 1: diverged", 1, true), err)
  local md = util.read_file(root .. "/quick/task01_predictions/README.md") or ""
  T.ok(md:find("## Confusion matrix (seed 2)", 1, true), md)
  T.ok(md:find("| base | 2 of 3 (1 diverged) |", 1, true), md)
  st, _, err = task("task02_custom_digit")
  T.eq(st, 0, err)
  md = util.read_file(root .. "/quick/task02_custom_digit/README.md") or ""
  T.ok(md:find("Probabilities are the mean over 2 seeds (1 more did not finish: left out).",
    1, true), md)
  st, _, err = task("task06_l2")
  T.eq(st, 0, err)
  T.ok(wb.sys.exists(root .. "/quick/task06_l2/weights_hist.png"), err)
  local gp = util.read_file(root .. "/quick/task06_l2/weights_hist.gp") or ""
  T.ok(gp:find("(seed 2)", 1, true), gp)
end)

T.done()
