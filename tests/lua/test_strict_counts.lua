-- test_strict_counts.lua: a call with more arguments than a public Lua
-- function takes was run as if the extras were not there (audit I 5):
-- wb.runs.export_csv(path, dir, {task = "other"}) wrote every task's runs,
-- rs:table(names, nil, "x"), wb.compare(..., nil, "x"), wb.welch(a, b,
-- opts, "x") and ci_half(xs, .95, "x") said nothing. Now each is an error
-- naming the function, what it takes and what it got, at the caller's line.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local args = require "wb.args"

-- The modules and classes whose public functions are checked (wb/init.lua).
local MODULES = {{wb.runs, "wb.runs."}, {wb.inference, "wb.inference."},
  {wb.compare, "wb.compare."}, {wb.experiment, "wb.experiment."}}
local CLASSES = {{wb.runs.RunList, "wb.Runs:"}, {wb.runs.Run, "wb.Run:"},
  {wb.experiment.Experiment, "wb.Experiment:"}}

T.test("the audit's calls are errors naming the function, at the caller's line", function()
  local dir = T.tmpdir()
  local err = T.check_error("wb.runs.export_csv: takes at most 2 arguments (path, "
    .. "runs_or_dir), got 3", function() wb.runs.export_csv(dir .. "/x.csv", dir,
      {task = "other"}) end)
  T.ok(err:find("^[^:]*test_strict_counts%.lua:%d+: wb%.runs%.export_csv"), err)
  T.ok(not io.open(dir .. "/x.csv"), "nothing written")
  local rs = wb.runs.Runs({})
  T.check_error("wb.Runs:table: takes at most 2 arguments (names, opts), got 3",
    function() rs:table({"test_accuracy"}, nil, "x") end)
  T.check_error("wb.compare: takes at most 3 arguments (runs, metric, opts), got 4",
    function() wb.compare(rs, "test_accuracy", nil, "x") end)
  T.check_error("wb.welch: takes at most 3 arguments (a, b, opts), got 4",
    function() wb.welch({1, 2, 3}, {2, 3, 4}, {}, "x") end)
  T.check_error("wb.inference.ci_half: takes at most 2 arguments", function()
    wb.inference.ci_half({1, 2, 3}, .95, "x") end)
  -- the right number still works, as before
  T.eq(wb.welch({1, 2, 3}, {2, 3, 4}).n_a, 3)
  T.ok(wb.inference.ci_half({1, 2, 3}, .95) > 0)
  -- trailing nils are no input (table.unpack(t, 1, n) passes them)
  T.eq(wb.welch({1, 2, 3}, {2, 3, 4}, nil, nil).n_a, 3)
end)

T.test("every public function of the checked modules refuses one argument more", function()
  local n = 0
  local function each(t, prefix, method)
    for k, f in pairs(t) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" and type(f) == "function" then
        local orig = args.unchecked(f)
        local info = debug.getinfo(orig, "u")
        if not info.isvararg then
          T.ok(orig ~= f, prefix .. k .. " is not checked")
          local nils = {}
          for i = 1, info.nparams + 1 do nils[i] = false end
          local ok, err = pcall(f, table.unpack(nils, 1, info.nparams + 1))
          T.ok(not ok and tostring(err):find(": takes at most %d+ arguments? %(.*%), got %d+"),
            prefix .. k .. ": " .. tostring(err))
          n = n + 1
        end
      end
    end
  end
  for _, m in ipairs(MODULES) do each(m[1], m[2]) end
  for _, c in ipairs(CLASSES) do each(c[1], c[2], true) end
  each({welch = wb.welch}, "wb.")
  T.ok(n >= 30, "functions checked: " .. n)
end)

T.test("help and identity still find the checked functions", function()
  T.eq(wb.welch, wb.inference.welch, "one checker wherever the function is stored")
  T.eq(wb.help.find(wb.welch).name, "wb.welch")
  T.eq(wb.help.find(wb.runs.export_csv).name, "wb.runs.export_csv")
  T.eq(wb.help.find(wb.runs.RunList.table).name, "wb.Runs:table")
  T.eq(wb.help.find(wb.experiment.Experiment.run).name, "wb.Experiment:run")
  -- (test_help.lua checks the whole coverage, with objects of every class)
  local missing = wb.help.check()
  T.eq(#missing, 0, table.concat(missing, ", "))
end)

T.done()
