-- report.lua: run the ten tasks and write <plots>/REPORT.md.
--
--   workbench scripts/report.lua [--dataset fashion] [--seeds N] [--quick]
--                                [--jobs N] [--fresh] [--root DIR]   (5 seeds by default)
-- Each task runs as its own process (the tasks' runs are cached, so a second
-- report retrains nothing); then the tasks' READMEs are gathered into one
-- report with a summary table of every variant. A failing task is reported
-- and the others still run; the exit status is 1 if any failed.
local claims = require "study.claims"
local ok_opts, opts = pcall(wb.runner.options, arg)
if not ok_opts then
  io.stderr:write("report: ", tostring(opts), "\n")
  os.exit(64)
end
local tasks = {"task01_predictions", "task02_custom_digit", "task03_epochs",
  "task04_early_stopping", "task05_dropout", "task06_l2", "task07_optimizers",
  "task07b_lr_grid", "task07c_tuned_optimizers",
  "task08_batch_size", "task09_activations", "task10_weights", "task13_weight_spectra"}
-- Experiments beyond the notebook's ten (issue 17), under their own heading;
-- only those costing seconds once the study's runs are recorded join here
-- (task 12, the edge of stability, trains for about a minute: run it alone).
local beyond = {task13_weight_spectra = true}
if opts.rest[1] then tasks = opts.rest end

local function q(s)
  s = tostring(s)
  if s:match("^[%w%./_%-=:,+]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
local root = wb.runner.root_of(opts)
local out_dir = opts.dataset == "fashion" and root .. "/fashion" or root
-- five seeds unless told: enough for the intervals to decide most parts
opts.seeds = opts.seeds or 5
local pass = {"--root", q(root)}
for _, k in ipairs{"dataset", "epochs", "jobs"} do
  if opts[k] then pass[#pass + 1] = "--" .. k .. " " .. q(opts[k]) end
end
-- the learning-rate grid keeps its one seed per rate (DeepOBS's protocol)
local one_seed = {task07b_lr_grid = true}
if opts.quick then pass[#pass + 1] = "--quick" end
if opts.fresh then pass[#pass + 1] = "--fresh" end

local exe = arg[-1] or "workbench"
local script_dir = arg[0]:match("^(.*)/[^/]*$") or "."
local t0, failed, timings = wb.sys.time(), {}, {}
for _, t in ipairs(tasks) do
  io.stderr:write(string.format("== %s\n", t))
  local ts = wb.sys.time()
  local ok, how, code = os.execute(string.format("WB_ECHO=0 %s %s %s%s", q(exe),
    q(script_dir .. "/" .. t .. ".lua"), table.concat(pass, " "),
    one_seed[t] and "" or " --seeds " .. opts.seeds))
  timings[t] = wb.sys.time() - ts
  -- a task stopped by a signal stops the report: nothing is written
  if how == "signal" or code == 130 or code == 143 then
    io.stderr:write("report: stopped while running ", t, "\n")
    os.exit(how == "signal" and 128 + code or code)
  end
  if not ok then failed[#failed + 1] = t end
end
local total = wb.sys.time() - t0

local function duration(s)
  if s < 60 then return string.format("%.0f s", s) end
  return string.format("%d min %02d s", s // 60, math.floor(s % 60))
end
local function commit()
  local p = io.popen("git -C " .. q(wb.luadir .. "/../..")
    .. " rev-parse --short HEAD 2>/dev/null")
  local c = p and p:read("l")
  if p then p:close() end
  return c or "unknown"
end
local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- {==================== REPORT.md ====================
-- Only the runs each task's README was made from (its runs.json), never
-- other records that happen to share the folder.
local recs, by_task, all = {}, {}, {}
for _, r in ipairs(wb.runs.load_all(wb.record.dir(root))) do all[r.task .. "-" .. r.hash] = r end
for _, t in ipairs(tasks) do
  local list = read(out_dir .. "/" .. t .. "/runs.json")
  local ok, hashes = pcall(function() return require("cjson").decode(list).runs end)
  by_task[t] = {}
  for _, h in ipairs(ok and hashes or {}) do
    local r = all[t .. "-" .. h]
    if r and r.status == "ok" then recs[#recs + 1] = r; table.insert(by_task[t], r) end
  end
end
local first = recs[1] and recs[1].config or {}
local seeds = {}
for _, r in ipairs(recs) do seeds[r.seed] = true end
local seed_list = {}
for sd in pairs(seeds) do seed_list[#seed_list + 1] = sd end
table.sort(seed_list)
local cmd = {"workbench", arg[0]}
for _, a in ipairs(arg) do cmd[#cmd + 1] = q(a) end
local lines = {"# Ten ablations of an MNIST MLP, re-run with several seeds", "",
  string.format("*Produced by `%s` (workbench %s, commit %s) on %s, %s, in %s (this "
    .. "invocation; recorded runs are reused). Data: **%s**, %s. Validation: the last 10 %% "
    .. "of the training rows, held out (Keras's validation_split); the test set only gives "
    .. "the final test metrics. Seeds: %s. Every task's README below names its epochs.*",
    table.concat(cmd, " "), wb.version, commit(), wb.sys.hostname(),
    os.date("!%Y-%m-%d %H:%M UTC"), duration(total), opts.dataset or "mnist",
    first.subset and string.format("first %d training / %d test rows (--quick)",
      first.subset.train, first.subset.test) or "full training and test sets",
    table.concat(seed_list, ", ")), ""}
if #failed > 0 then
  lines[#lines + 1] = "**Failed tasks:** " .. table.concat(failed, ", ") .. "\n"
end
lines[#lines + 1] = claims.claims_section(by_task, opts.dataset or "mnist")

lines[#lines + 1] = "## Summary of every variant (mean ± std over seeds)\n"
lines[#lines + 1] = "| task | variant | seeds | test accuracy | test loss | gap (val - train "
  .. "loss) | s/epoch |"
lines[#lines + 1] = "|---|---|---|---|---|---|---|"
for _, t in ipairs(tasks) do
  local rs = wb.runs.Runs(by_task[t])
  for _, v in ipairs(rs:variants()) do
    local function col(name)
      local m, s = rs:stat(v, name)
      return wb.runs.fmt_mean_std(m, s, name, #rs:values(v, name))
    end
    lines[#lines + 1] = string.format("| %s | %s | %d | %s | %s | %s | %s |", t, v,
      #rs:of(v), col("test_accuracy"), col("test_loss"), col("gap"), col("sec_per_epoch"))
  end
end
local train_s, measure_s = 0, 0
for _, r in ipairs(recs) do
  if not r.reused_from then train_s = train_s + (r.metrics and r.metrics.train_seconds or 0) end
  measure_s = measure_s + (r.measure_seconds or 0)
end
lines[#lines + 1] = string.format("\n%d runs. Training time summed over runs: %s; the "
  .. "extra measurements behind the claims (gradient noise, sharpness, silenced units, "
  .. "per-epoch norms, dead units) added %s (%.1f %%), summed over runs.\n", #recs,
  duration(train_s), duration(measure_s), 100 * measure_s / math.max(train_s, 1e-9))
local beyond_said = false
for _, t in ipairs(tasks) do
  if beyond[t] and not beyond_said then
    beyond_said = true
    lines[#lines + 1] = "## Beyond the study\n\nExperiments the notebook did not run, each "
      .. "held against a published result and saying where ours agrees and where not.\n"
  end
  local md = read(out_dir .. "/" .. t .. "/README.md")
  if md then
    md = md:gsub("^# ", "## "):gsub("\n## ", "\n### ")
    md = md:gsub("%]%(([%w_%-]+%.png)%)", "](" .. t .. "/%1)")
    lines[#lines + 1] = md
    lines[#lines + 1] = string.format("*(task time in this invocation: %s)*\n",
      duration(timings[t]))
  else
    lines[#lines + 1] = "## " .. t .. "\n\n*No README: the task failed.*\n"
  end
end
wb.sys.write_atomic(out_dir .. "/REPORT.md", table.concat(lines, "\n"))
io.stderr:write(string.format("report: wrote %s in %s\n", out_dir .. "/REPORT.md",
  duration(total)))
-- }====================
os.exit(#failed == 0 and 0 or 1)
