-- Audit N follow-up (NC): Lua code a hook loads from a file (a module it
-- requires, a file it runs with dofile or compiles with loadfile) was
-- identified by its source text only. A global that code reads (arch.lua
-- `return {w = WIDTH}`, or a function of it reading WIDTH when the hook
-- calls it) was in no identity: WIDTH = 16 in the task's script, trained,
-- edited to 24, and the run trained with 16 was reused without a word.
-- Now the read_files entry of such a file keeps the globals its code names
-- as they were when the run started (wb/identity_chunk.lua), and the runner
-- retrains when one differs, naming the global and the file; a chunk that
-- reads globals by computed names is never reused. A module that reads no
-- global of the script keeps its runs cached.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()
package.path = dir .. "/?.lua;" .. package.path

util.write_file(dir .. "/nc_arch.lua", "return {w = NC_WIDTH}\n")
util.write_file(dir .. "/nc_fun.lua",
  "local M = {}\nfunction M.w() return NC_WIDTH2 end\nreturn M\n")
util.write_file(dir .. "/nc_plain.lua",
  "local M = {}\nfunction M.w(n) return math.floor(n) + #string.rep('x', 2) end\nreturn M\n")
util.write_file(dir .. "/nc_dyn.lua", "local n = 'NC_' .. 'WIDTH'\nreturn {w = _G[n]}\n")
util.write_file(dir .. "/nc_do.lua", "return NC_WIDTH3\n")

-- what a tracked run of f read
local function tracked(f)
  local t = reads.track{}
  f()
  return t:stop()
end
local function entry(list, name)
  for _, e in ipairs(list) do
    if e.path:sub(-#name) == name then return e end
  end
end

T.test("a module's global is recorded as it was when the run started, and checked", function()
  NC_WIDTH = 16
  local list = tracked(function() return require("nc_arch").w end)
  local e = entry(list, "/nc_arch.lua")
  T.ok(e and e.code == true, "recorded as code")
  T.eq(e.globals and e.globals.NC_WIDTH, "16")
  T.eq(reads.changed(list), nil, "as it was")
  NC_WIDTH = 24
  local path, what = reads.changed(list)
  T.eq(path, dir .. "/nc_arch.lua")
  T.ok(what and what:find("global NC_WIDTH", 1, true) and what:find("16 then, 24 now", 1, true),
    tostring(what))
  -- wb.runs.find's check (not here) agrees on a global set both then and now
  T.ok(reads.entry_changed(e, {}), "find's check")
  -- unset here: the runner retrains; find (another process than the script) does not say
  NC_WIDTH = nil
  T.ok(reads.changed(list), "unset now")
  T.eq(reads.entry_changed(e, {}), nil)
  package.loaded.nc_arch = nil
end)

T.test("a global unset when the run started and set now is a change", function()
  NC_WIDTH = nil
  local list = tracked(function() return require("nc_arch").w end)
  T.eq(reads.changed(list), nil)
  NC_WIDTH = 8
  local _, what = reads.changed(list)
  T.ok(what and what:find("unset then, 8 now", 1, true), tostring(what))
  NC_WIDTH = nil
  package.loaded.nc_arch = nil
end)

T.test("a function of a module, dofile and loadfile are covered", function()
  NC_WIDTH2, NC_WIDTH3 = 16, 16
  local list = tracked(function()
    local m = require("nc_fun")
    dofile(dir .. "/nc_do.lua")
    loadfile(dir .. "/nc_arch.lua")
    return m.w()
  end)
  for _, n in ipairs{"/nc_fun.lua", "/nc_do.lua", "/nc_arch.lua"} do
    T.ok(entry(list, n) and entry(list, n).code == true, n)
  end
  T.eq(reads.changed(list), nil)
  NC_WIDTH2 = 24
  T.ok(select(2, reads.changed(list)):find("NC_WIDTH2", 1, true), "a module's function")
  NC_WIDTH2, NC_WIDTH3 = 16, 24
  T.ok(select(2, reads.changed(list)):find("NC_WIDTH3", 1, true), "dofile")
  NC_WIDTH3 = 16
  -- a global function: by its code
  NC_WIDTH3 = function() return 1 end
  list = tracked(function() dofile(dir .. "/nc_do.lua") end)
  T.eq(reads.changed(list), nil)
  NC_WIDTH3 = function() return 2 end
  T.ok(reads.changed(list), "a global function edited")
  NC_WIDTH2, NC_WIDTH3 = nil, nil
  package.loaded.nc_fun = nil
end)

T.test("a module reading globals by computed names is never reused", function()
  local list = tracked(function() return require("nc_dyn") end)
  local e = entry(list, "/nc_dyn.lua")
  T.ok(type(e.globals_why) == "string", "why recorded")
  local _, what = reads.changed(list)
  T.ok(what and what:find("never reused", 1, true), tostring(what))
  local w, checkable = reads.entry_changed(e, {})
  T.ok(w and checkable == false, "find does not count it as stale")
  package.loaded.nc_dyn = nil
end)

T.test("a module of standard globals only stays as recorded", function()
  local list = tracked(function() return require("nc_plain").w(3) end)
  T.eq(reads.changed(list), nil)
  package.loaded.nc_plain = nil
end)

-- the auditor's script: a build hook requiring a module that reads WIDTH
local function script(file, name, width, module)
  util.write_file(dir .. "/" .. file, string.format([[
package.path = %q .. "/?.lua;" .. package.path
WIDTH = %d
return wb.task{name = %q, title = "t",
  experiment = {base = {epochs = 1, subset = {train = 200, test = 100}},
    build = function(cfg, data)
      local w = require(%q).w
      if type(w) == "function" then w = w(16) end
      return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
        wb.nn.Dense(w, 10, {activation = "softmax"})}
    end,
    seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], dir, width, name, module))
end
local acc = function(s) return s:match("| base | 1 | ([%d%.]+ %%) |") end
util.write_file(dir .. "/nc_w.lua", "return {w = WIDTH}\n")

T.test("the runner: a module's global edited in the script retrains, naming both", function()
  script("t.lua", "nc_t", 16, "nc_w")
  local st, out16, err = T.run_wb(dir .. "/t.lua --root " .. dir .. "/r")
  T.eq(st, 0, err)
  st, _, err = T.run_wb(dir .. "/t.lua --root " .. dir .. "/r")
  T.ok(err:find("1 cached, 0 to train", 1, true), "cached as it was: " .. err)
  script("t.lua", "nc_t", 24, "nc_w")
  local out24
  st, out24, err = T.run_wb(dir .. "/t.lua --root " .. dir .. "/r")
  T.eq(st, 0, err)
  T.ok(err:find("0 cached, 1 to train", 1, true), "reused: " .. err)
  T.ok(err:find(dir .. "/nc_w.lua", 1, true) and err:find("global WIDTH", 1, true)
    and err:find("16 then, 24 now", 1, true), err)
  local _, fresh = T.run_wb(dir .. "/t.lua --root " .. dir .. "/r24")
  T.ok(acc(out16) and acc(out24) and acc(out16) ~= acc(out24), out16 .. out24)
  T.eq(acc(out24), acc(fresh), "width 24's numbers")
  -- wb.runs.find agrees: stale for a script setting 16 again, quiet for 24 (as recorded)
  local q = "wb.runs.find{root = %q, task = 'nc_t'}"
  local _, _, said = T.run_wb("-e " .. T.quote("WIDTH = 16; " .. q:format(dir .. "/r")))
  T.ok(said:find("1 of 1 runs read what is not as it was", 1, true)
    and said:find("global WIDTH", 1, true), said)
  _, _, said = T.run_wb("-e " .. T.quote("WIDTH = 24; " .. q:format(dir .. "/r")))
  T.ok(not said:find("not as it was", 1, true), said)
end)

T.test("the runner: a module without globals of the script keeps its runs cached", function()
  util.write_file(dir .. "/nc_p.lua",
    "local M = {}\nfunction M.w(n) return math.floor(n) end\nreturn M\n")
  script("p.lua", "nc_p", 16, "nc_p")
  local st, _, err = T.run_wb(dir .. "/p.lua --root " .. dir .. "/rp")
  T.eq(st, 0, err)
  script("p.lua", "nc_p", 24, "nc_p") -- WIDTH is not the module's
  st, _, err = T.run_wb(dir .. "/p.lua --root " .. dir .. "/rp")
  T.eq(st, 0, err)
  T.ok(err:find("1 cached, 0 to train", 1, true), "a spurious retrain: " .. err)
end)

T.done()
