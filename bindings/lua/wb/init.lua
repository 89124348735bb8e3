-- wb/init.lua: the Lua half of the workbench library.
--
-- Called by luaopen_wb with the `wb` table that the C bindings filled in
-- (tensors, data, layers, optimizers, images, checkpoints). Each module
-- below adds its names to the same table (they `require "wb"` to reach it).
-- The list is explicit and a missing module is an error: nothing is skipped.
local _ENV = require "wb.std"
local args = require "wb.args"
local wb = ...

local modules = {
  "wb.data", "wb.nn", "wb.fit", "wb.callbacks", "wb.checkpoint", "wb.plot", "wb.image",
  "wb.record", "wb.inference", "wb.identity", "wb.spec", "wb.runs", "wb.runs_export",
  "wb.train", "wb.experiment", "wb.compare", "wb.slurm", "wb.runner", "wb.task",
  "wb.measures", "wb.hessian", "wb.instruments", "wb.cockpit", "wb.lab", "wb.help",
  "wb.noise_scale",
  "wb.landscape",
}
for _, name in ipairs(modules) do require(name) end

-- A call with more arguments than the function takes is an error naming it
-- (wb/args.lua at_most): Lua dropped them without a word (export_csv(path,
-- dir, {task = "x"}) wrote every task's runs). Applied to the modules whose
-- functions a user calls (statistics, runs, comparisons, experiments, run
-- records, a task's methods in its report: task:figure(name, plot, caption,
-- "x") drew without a word); the ones the library calls back with more
-- (hooks, callbacks) are not here.
do
  local args = require "wb.args"
  -- first under the names the docs give them (the messages' names)
  wb.welch = args.at_most(wb.welch, "wb.welch") -- and wb.inference.welch: the same checker
  wb.compare.compare = args.at_most(wb.compare.compare, "wb.compare")
  for _, m in ipairs{{wb.runs, "wb.runs."}, {wb.inference, "wb.inference."},
      {wb.compare, "wb.compare."}, {wb.experiment, "wb.experiment."},
      {wb.record, "wb.record."}, {wb, "wb."}, {wb.nn, "wb.nn."}, {wb.data, "wb.data."},
      {wb.measures, "wb.measures."}, {wb.noise_scale, "wb.noise_scale."},
      {wb.landscape, "wb.landscape."}, {wb.hessian, "wb.hessian."}, {wb.plot, "wb.plot."},
      {wb.image, "wb.image."}, {wb.lab, "wb.lab."}} do
    args.check_counts(m[1], m[2])
  end
  -- a model's and a dataset's methods too (m:forward(x, false, 1), ds:split(0.5, 1));
  -- fit's steps call forward, backward, zero_grad and batch past these checkers
  -- (args.unchecked: wb/fit_loop.lua, wb/losses.lua, wb/evaluate.lua)
  for _, c in ipairs{{wb.runs.RunList, "wb.Runs:"}, {wb.runs.Run, "wb.Run:"},
      {wb.experiment.Experiment, "wb.Experiment:"}, {wb.task._Task, "wb.Task:"},
      {wb.nn.SequentialClass, "wb.Sequential:"}, {wb.data._Dataset, "wb.Dataset:"},
      {wb.plot.Plot, "wb.Plot:"}, {wb.lab.Stats, "wb.Stats:"}} do
    args.check_counts(c[1], c[2], true)
  end
end

-- {==================== strict names ====================

-- Reading a name that wb or one of its modules (wb.nn, wb.data, ...) lacks
-- is an error naming the path and the nearest names: a typo (wb.nn.Dens)
-- would otherwise be nil, passed on silently or called as "a nil value".
-- Assigning a new name stays allowed (a user's own helper in wb.nn reads
-- back like the library's); library code that probes an optional name uses
-- rawget. wb.Error is a metatable, not a module: left as it is.

local nearest_names = require("wb.spec_keys").nearest_names

local strict_paths = {} -- table -> its path ("wb.nn"), for the hints

-- "did you mean wb.nn.Dense?" for wb.nn.Dens; for a name none of t's is
-- near, the same name elsewhere in wb, one edit away for six letters or
-- more (wb.Sequentil -> wb.nn.Sequential); for a class the docs name (wb.Tensor), help's name.
local function hint(t, path, k)
  local near = nearest_names(t, k)
  for i, n in ipairs(near) do near[i] = path .. "." .. n end
  if #near == 0 then
    for u, p in pairs(strict_paths) do
      for _, n in ipairs(nearest_names(u, k, #k >= 6 and 1 or 0)) do
        near[#near + 1] = p .. "." .. n
      end
    end
    table.sort(near)
  end
  local e = require("wb.help")._index()[path .. "." .. k]
  local class = e and e.kind == "class" -- wb.Tensor: a class the docs name, no field
    and string.format("%s.%s is a class, not a value (help(\"%s.%s\") says what it is)",
      path, k, path, k)
  if #near > 0 then
    return (class and class .. "; " or "") .. "did you mean " .. table.concat(near, " or ") .. "?"
  end
  return class or ("help(" .. path .. ") lists its names")
end

local function strict(t, path)
  strict_paths[t] = path
  local mt = getmetatable(t)
  if mt == nil then mt = {}; setmetatable(t, mt) end
  if rawget(mt, "__index") ~= nil then
    error("wb: " .. path .. " already has an __index (cannot make its names strict)")
  end
  mt.__index = function(_, k)
    if type(k) ~= "string" then
      error(string.format("%s[%s]: no such key in %s (its names are strings)", path,
        tostring(k), path), 2)
    end
    error(string.format("%s.%s: no such name in %s; %s", path, k, path, hint(t, path, k)), 2)
  end
end

for k, v in pairs(wb) do
  if type(v) == "table" and k ~= "Error" then strict(v, "wb." .. k) end
end
strict(wb, "wb")

-- }====================

-- Numbers stay in the C locale (audit X2). Lua and C format numbers with
-- the locale's decimal point, so a script's os.setlocale("de_DE.UTF-8")
-- made every CSV, JSON record and gnuplot script the library writes use a
-- comma ("0,882": records no longer parsed, figures read y = 0). A locale
-- whose numbers are not written with a point is refused for the numeric
-- category (and "all"), naming it and what to set instead; the other
-- categories (time, collate, ctype, monetary) are the script's to set.
do
  local setlocale = os.setlocale
  local function point() return string.format("%.1f", 0.5) == "0.5" end
  os.setlocale = function(locale, category, ...)
    if select("#", ...) > 0 then
      args.input_fail(string.format("bad argument #3 to 'setlocale' (at most 2 arguments expected, "
        .. "got %d)", 2 + select("#", ...)), 2)
    end
    local cat = category or "all"
    local before = locale ~= nil and setlocale(nil, cat) or nil
    local got = setlocale(locale, category)
    if got and not point() then
      setlocale(before, cat)
      args.input_fail(string.format("os.setlocale: the locale '%s' writes numbers with another "
        .. "decimal point than '.', and the workbench keeps numbers in the C locale: every CSV, "
        .. "run record and gnuplot script it writes would be unreadable; set only the categories "
        .. "you need (os.setlocale('%s', 'time'), 'collate', 'ctype' or 'monetary')",
        tostring(locale), tostring(locale)), 2)
    end
    return got
  end
end

-- The library as loaded, before any script runs: a value a script puts in
-- wb.* or a standard table later is the script's code (wb/identity_lib.lua).
require("wb.identity_lib").snapshot()
return wb
