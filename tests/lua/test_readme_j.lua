-- Audit J (README walk-through as a new user): the README's recipes are
-- right whatever the runs folder holds (Fashion-MNIST's runs beside
-- MNIST's), switching --dataset is not called a change of the data files,
-- --gather tells a training with the same results and other provenance from
-- a conflict, a failed report with no earlier one says so, --run names the
-- other mode or dataset a hash belongs to, report.lua --help has a line per
-- option, and the README's numbers and examples match the code.
local T = dofile("tests/lua/harness.lua")
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path -- study.report_proc
local util = require "wb.util"
local function q(s) return util.shell_quote(s) end
local dir = T.tmpdir()
local readme = T.slurp("README.md")

-- A tiny task script at path: one variant, seeds 1..n, 200 training rows.
-- 600 test rows, above --quick's 500: its --quick runs are other runs (J11)
local function tiny(path, name, report)
  util.write_file(path, string.format([[
return wb.task{name = %q, experiment = {base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 600}}, seeds = {1}},
  report = function(task, runs) %s end}
]], name, report or ""))
  return path
end
local function run(script, args)
  return T.sh(string.format("WB_ECHO=0 %s %s %s", q(T.wb), q(script), args))
end

-- {==================== J2: the runner's "what changed" ====================

T.test("J2: another dataset is a config key's change (mnist -> fashion), not the data files",
    function()
  local root = T.tmpdir()
  local s = {hash = "ffffffffffffffff", variant = "base", seed = 1,
    config = {hidden = 8, seed = 1, dataset = "fashion"}, identity = {data = "f1"}}
  wb.record.write(wb.record.path(root, "ds", "0000000000000000"), {hash = "0000000000000000",
    task = "ds", variant = "base", seed = 1, status = "ok", finished_at = "2026-01-01T00:00:00Z",
    config = {hidden = 8, seed = 1, dataset = "mnist"}, identity = {data = "m1"}})
  local note = require("wb.runner_why").note({root = root, name = "ds"}, {s})
  T.ok(note and note:find("config key dataset (mnist -> fashion) changed since", 1, true), note)
  T.ok(not note:find("data files", 1, true), note)
  -- the same dataset, other files: said
  s.config.dataset = "mnist"
  note = require("wb.runner_why").note({root = root, name = "ds"}, {s})
  T.ok(note and note:find("the data files changed since", 1, true), note)
end)

-- }====

-- {==================== J3: --gather, same results, other provenance ====================

-- Record `path` rewritten by edit(r) (its checksum anew).
local function rewrite(path, edit)
  local r = assert(wb.record.read(path))
  edit(r)
  wb.record.write(path, r)
end

if pcall(wb.data.mnist) then
  T.test("J3: --gather: same results with other provenance is no conflict; other results are",
      function()
    local script = tiny(dir .. "/g.lua", "g")
    local here, there = dir .. "/here", dir .. "/there"
    for _, root in ipairs{here, there} do
      local st, _, err = run(script, "--root " .. q(root))
      T.eq(st, 0, err)
    end
    local rs = wb.runs.find{root = there, task = "g"}
    local r = rs[1]
    local rdir = there .. "/runs"
    local path = wb.record.path(there, "g", r.hash)
    -- the weights' metadata as a checkout with two uncommitted files writes it
    local w = rdir .. "/" .. r.weights
    local s = T.slurp(w)
    local n = string.unpack("<I8", s)
    local head, k = s:sub(9, 8 + n):gsub('("workbench.git_uncommitted":")%d(")', "%19%2")
    T.ok(k == 1 and #head == n, "metadata edited in place")
    util.write_file(w, s:sub(1, 8) .. head .. s:sub(9 + n))
    rewrite(path, function(x)
      x.git_uncommitted, x.pid, x.host = 9, 1, "elsewhere"
      x.history.epoch_time[1] = x.history.epoch_time[1] + 1
      x.weights_ids = wb.record.weights_ids(rdir, x)
    end)
    local st, _, err = run(script, "--root " .. q(here) .. " --gather " .. q(there))
    T.eq(st, 0, err) -- exit 1 before: "recorded here with other results"
    T.ok(err:find("same results as", 1, true) and err:find("git_uncommitted %d vs 9")
      and err:find("host", 1, true) and err:find("timings", 1, true)
      and err:find("weights metadata", 1, true), err)
    T.ok(not err:find("conflict", 1, true), err)
    T.ok(err:find("1 already here (1 with other provenance)", 1, true), err)
    -- a result that differs: still a conflict
    rewrite(path, function(x) x.metrics.test_accuracy = x.metrics.test_accuracy + 0.02 end)
    st, _, err = run(script, "--root " .. q(here) .. " --gather " .. q(there))
    T.eq(st, 1, err)
    T.ok(err:find("conflict: base seed 1 is recorded here with other results", 1, true), err)
    -- and so does a weight tensor (one byte of the data, past the header)
    rewrite(path, function(x) x.metrics.test_accuracy = x.metrics.test_accuracy - 0.02 end)
    s = T.slurp(w)
    local at = #s - 3
    util.write_file(w, s:sub(1, at - 1) .. string.char((s:byte(at) + 1) % 256) .. s:sub(at + 1))
    rewrite(path, function(x) x.weights_ids = wb.record.weights_ids(rdir, x) end)
    st, _, err = run(script, "--root " .. q(here) .. " --gather " .. q(there))
    T.eq(st, 1, err)
    T.ok(err:find("conflict", 1, true), err)
  end)
else
  T.skip("J3: --gather: same results with other provenance is no conflict", "no MNIST")
end

-- }====

-- {==================== J4, J11: a failed first report; --run ====================

if pcall(wb.data.mnist) then
  T.test("J4: a report that fails with no earlier README says there was none, every time",
      function()
    local script = tiny(dir .. "/bad.lua", "bad", 'task:text(runs:table{"gapp"})')
    local root = dir .. "/bad"
    for i = 1, 2 do -- the second failure took the first one's empty tail for a README
      local st, _, err = run(script, "--root " .. q(root))
      T.eq(st, 1, err)
      T.ok(err:find("says so on top (there was no earlier report)", 1, true), i .. ": " .. err)
      local md = T.slurp(root .. "/bad/README.md")
      T.ok(md:find("There is no earlier README.", 1, true)
        and not md:find("What follows is the README", 1, true), md)
      T.ok(md:find("Its 1 run is recorded", 1, true), md)
    end
  end)

  T.test("J11: --run in upper case; a hash of the other mode or dataset names the option",
      function()
    local script = tiny(dir .. "/r.lua", "r")
    local root = dir .. "/r"
    local st, out, err = run(script, "--quick --list-runs --root " .. q(root))
    T.eq(st, 0, err)
    local hash = out:match("%-%-run (%x+)")
    local prefix = hash:sub(1, 8):upper()
    st, _, err = run(script, "--run " .. prefix .. " --root " .. q(root))
    T.eq(st, 64, err) -- before: "no run with hash X" and nothing more
    T.ok(err:find("it is a run listed with --quick", 1, true) and err:find("add --quick", 1,
      true), err)
    st, _, err = run(script, "--quick --run " .. prefix .. " --root " .. q(root))
    T.eq(st, 0, err) -- refused before: not hex digits in lower case
    if pcall(wb.data.fashion_mnist) then
      st, out, err = run(script, "--dataset fashion --list-runs --root " .. q(root))
      T.eq(st, 0, err)
      hash = out:match("%-%-run (%x+)")
      st, _, err = run(script, "--run " .. hash:sub(1, 8) .. " --root " .. q(root))
      T.eq(st, 64, err)
      T.ok(err:find("it is a run on fashion", 1, true) and err:find("add --dataset fashion", 1,
        true), err)
      -- an MNIST run's hash given with --dataset fashion: leave that out, not "add --dataset
      -- mnist" beside it (review R5)
      st, out, err = run(script, "--list-runs --root " .. q(root))
      hash = out:match("%-%-run (%x+)")
      st, _, err = run(script, "--dataset fashion --run " .. hash:sub(1, 8) .. " --root " .. q(root))
      T.eq(st, 64, err)
      T.ok(err:find("leave out --dataset fashion", 1, true) and not err:find("add --dataset",
        1, true), err)
    end
  end)
else
  T.skip("J4, J11: failed report, --run hints", "no MNIST")
end

-- }====

-- {==================== J10: report.lua --help ====================

T.test("J10: report.lua --help: one line per option, as a task's --help says it", function()
  local st, out, err = T.sh(q(T.wb) .. " scripts/report.lua --help")
  T.eq(st, 0, err)
  local task_help = select(2, T.sh(q(T.wb) .. " scripts/task05_dropout.lua --help"))
  for _, o in ipairs(require("study.report_proc").OPTIONS) do
    local line = task_help:match("\n(  " .. o:gsub("%-", "%%-") .. "[^\n]*)")
    T.ok(line and out:find(line, 1, true), o .. ": " .. out)
  end
  T.ok(not out:find("--gather", 1, true) and out:find("--seeds 5", 1, true), out)
end)

-- }====

-- {==================== the README's recipes and numbers ====================

-- The tasks report.lua runs, from its list.
local function report_tasks()
  local src = T.slurp("scripts/report.lua")
  local list = src:match("local tasks = (%b{})")
  local n = 0
  for _ in list:gmatch('"task[%w_]+"') do n = n + 1 end
  return n
end

T.test("J6: README's count of tasks is report.lua's", function()
  local n = report_tasks()
  T.eq(n, 18)
  for count in readme:gmatch("all%s+(%d+)%s+tasks") do T.eq(tonumber(count), n) end
  T.ok(readme:find("all\n" .. n .. " tasks", 1, true) or readme:find("all " .. n .. " tasks", 1,
    true), "no 'all N tasks'")
end)

T.test("J1, J12: README's Python block takes an MNIST record; the export runs before it",
    function()
  local py = readme:match("```python\n(.-)```")
  T.ok(py:find('["config"]["dataset"] == "mnist"', 1, true), py)
  local export = readme:find("./workbench -e 'wb.runs.export_history(\"plots/history.csv\"", 1,
    true)
  T.ok(export and export < readme:find("```python", 1, true), "export after the block")
  -- the finds of the lab bench and curvature lines keep to MNIST
  for line in readme:gmatch("\n> [^\n]*wb%.runs%.find[^\n]*") do
    T.ok(line:find('dataset = "mnist"', 1, true), line)
  end
  T.ok(readme:find("One runs folder holds both datasets' runs", 1, true), "not said")
end)

T.test("J7, J8: README's examples write under plots/; the seed-count column is '<variant> n'",
    function()
  T.ok(not readme:find('"s.safetensors"', 1, true), "s.safetensors in the repository root")
  T.ok(not readme:find("scripts/my_width.lua", 1, true), "my_width under scripts/")
  T.ok(readme:find("-- plots/my_width.lua", 1, true), "no plots/my_width.lua")
  T.ok(T.slurp(".gitignore"):find("/plots/*", 1, true), ".gitignore")
  T.ok(readme:find("`<variant> n`", 1, true) and not readme:find("has a\ncolumn `n`", 1, true),
    "column n")
end)

T.test("J9: -Wno-psabi is passed, outside the build line (no run's identity changes)", function()
  local mk = T.slurp("Makefile")
  T.ok(mk:find("NO_NOTES := -Wno-psabi", 1, true), "no -Wno-psabi")
  T.ok(mk:find("override CFLAGS := $(BUILD_CFLAGS) $(NO_NOTES)", 1, true), "not in CFLAGS")
  local line = mk:match("\nBUILD_LINE := ([^\n]*)")
  T.ok(line and not line:find("NO_NOTES", 1, true), line)
end)

-- }====

T.done()
