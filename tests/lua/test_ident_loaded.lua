-- tryL 1: a hook calling require("params") in its body was identified by
-- params.lua's text only. When the script's top level had required the
-- module already (outside any run), what the module read as it loaded (a
-- file, $VAR) and the fields the script set on it were in no identity: a
-- changed value reused the old run. A module a hook requires by name is now
-- identified by its value as loaded (wb/identity.lua), as an upvalue table
-- is, and the reads made while it loaded are added to the run that
-- requires it (wb/identity_require.lua), so the runner names them.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local task = dofile("tests/lua/ident_task.lua")(T)
local dir = T.tmpdir()
local WB = T.wb:sub(1, 1) == "/" and T.wb or select(2, T.sh("pwd")):match("[^\n]+") .. "/" .. T.wb
package.path = dir .. "/?.lua;" .. package.path

-- A script whose top level is `top` (it requires the module) and whose build
-- hook calls require(module).w in its body; it prints the model's width.
local function script(name, module, top)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, task.task(string.format("package.path = %q .. package.path\n%s",
    dir .. "/?.lua;", top), string.format("require(%q).w", module), name))
  return function(env)
    return T.sh(table.concat({"cd", dir, "&&", "WB_ECHO=0", env or "", WB, path, "--root",
      dir .. "/plots"}, " "))
  end
end

local trained, cached = task.trained, task.cached

T.test("a file the module read as it loaded at the top, changed, retrains naming it", function()
  util.write_file(dir .. "/l1_w.txt", "16\n")
  util.write_file(dir .. "/l1_params.lua", [[
local f = io.open("l1_w.txt"); local w = f:read("n"); f:close(); return {w = w}
]])
  local run = script("l1", "l1_params", 'local P = require "l1_params"')
  trained(16, run())
  local st, _, err = run()
  cached(st, err)
  util.write_file(dir .. "/l1_w.txt", "24\n")
  local out
  st, out, err = run()
  trained(24, st, out, err)
  T.ok(err:find("l1_w.txt", 1, true), "names the file: " .. err)
  st, _, err = run()
  cached(st, err)
end)

T.test("a $VAR the module read as it loaded at the top, changed, retrains naming it", function()
  util.write_file(dir .. "/l2_env.lua", 'return {w = tonumber(os.getenv("L2_WIDTH"))}\n')
  local run = script("l2", "l2_env", 'local P = require "l2_env"')
  trained(16, run("L2_WIDTH=16"))
  local st, _, err = run("L2_WIDTH=16")
  cached(st, err)
  local out
  st, out, err = run("L2_WIDTH=24")
  trained(24, st, out, err)
  T.ok(err:find("$L2_WIDTH", 1, true), "names the variable: " .. err)
end)

T.test("a field the script set on the module at its top, changed, retrains", function()
  util.write_file(dir .. "/l3_hp.lua", "return {w = 8}\n")
  local function run(w)
    return script("l3", "l3_hp", string.format('require("l3_hp").w = %d', w))()
  end
  trained(16, run(16))
  local st, _, err = run(16)
  cached(st, err)
  local out
  st, out, err = run(24)
  trained(24, st, out, err)
end)

T.test("a module's reads as it loaded are added to a run requiring it later", function()
  util.write_file(dir .. "/l4_w.txt", "16\n")
  util.write_file(dir .. "/l4_inner.lua", string.format(
    'local f = io.open(%q); local w = f:read("n"); f:close(); return {w = w}\n',
    dir .. "/l4_w.txt"))
  util.write_file(dir .. "/l4_outer.lua", 'return {w = require("l4_inner").w}\n')
  require("l4_inner") -- at the top, before the module needing it
  require("l4_outer") -- loads outside a run, requiring an already loaded one
  local t = reads.track{}
  local _ = require("l4_outer").w
  local list = t:stop()
  local paths = {}
  for _, e in ipairs(list) do paths[#paths + 1] = e.path end
  T.ok(table.concat(paths, " "):find(dir .. "/l4_w.txt", 1, true), util.canonical(paths))
  T.eq(reads.changed(list), nil, "as recorded")
  util.write_file(dir .. "/l4_w.txt", "24\n")
  T.eq(reads.changed(list), dir .. "/l4_w.txt", "changed")
end)

T.test("a module value that cannot be identified leaves the hook uncached, naming it", function()
  util.write_file(dir .. "/l5_fh.lua", 'return {f = io.tmpfile()}\n')
  require("l5_fh")
  local id, why = wb.identity.hook(function() return require("l5_fh").f end)
  T.eq(id, nil)
  T.ok(tostring(why):find("l5_fh", 1, true), tostring(why))
  package.loaded.l5_fh = nil
end)

T.done()
