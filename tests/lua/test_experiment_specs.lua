-- The experiment runner's declarations without training: run hashes and
-- group keys from configs and seeds, and the task options' parser (moved
-- out of test_experiment.lua, which trains, at its 400-line limit).
local T = dofile("tests/lua/harness.lua")

T.test("run hashes change with any config value and with the seed", function()
  local function ex(base) return wb.experiment{name = "h", base = base,
    vary = {l2 = {0, 1e-4}}, seeds = {1, 2}} end
  local e1 = ex{hidden = 8, epochs = 3}
  local seen = {}
  for _, s in ipairs(e1.specs) do
    T.ok(not seen[s.hash], "distinct hashes"); seen[s.hash] = true
  end
  T.ok(ex{hidden = 8, epochs = 4}.specs[1].hash ~= e1.specs[1].hash)
  T.eq(ex{hidden = 8, epochs = 3}.specs[1].hash, e1.specs[1].hash, "stable across calls")
  T.eq(e1.specs[1].group_key, e1.specs[2].group_key, "seeds of one variant: one group")
  T.ok(e1.specs[1].group_key ~= e1.specs[3].group_key, "two variants: two groups")
  T.check_error("unknown config key 'dropuot'", wb.experiment,
    {name = "h", base = {hidden = 8, dropuot = 0.1}})
end)

T.test("task options are parsed and bad ones rejected", function()
  local o = wb.runner.options({"--dataset", "fashion", "--seeds", "2", "--quick"})
  T.eq(o.dataset, "fashion"); T.eq(o.seeds, 2); T.ok(o.quick)
  local function usage(pat, argv)
    local ok, e = pcall(wb.runner.options, argv)
    T.ok(not ok and tostring(e):find(pat, 1, true), tostring(e))
  end
  usage("unknown option --bogus", {"--bogus"})
  usage("integer from 1", {"--seeds", "x"})
  usage("'mnist' or 'fashion'", {"--dataset", "cifar"})
  usage("--jobs expects an integer from 1 to 256, got '1e12'", {"--jobs", "1e12"})
  local st, _, err = T.sh(T.wb .. " scripts/task05_dropout.lua --bogus")
  T.eq(st, 64); T.ok(err:find("unknown option --bogus", 1, true), err)
  st, _, err = T.sh(T.wb .. " scripts/task05_dropout.lua --jobs 1e12")
  T.eq(st, 64); T.ok(err:find("--jobs expects", 1, true), err)
  local out
  st, out = T.sh(T.wb .. " scripts/task05_dropout.lua --help")
  T.eq(st, 0); T.ok(out:find("--list-runs", 1, true), out)
end)

T.done()
