-- test_hook_place.lua - an error a hook's tail call raises names the hook's
-- place, not the library's line. A hook whose body ends in a tail call
-- (`return wb.nn.Sequential{...}`) leaves no frame of its own, so the
-- library's error(msg, 2) landed on the frame that called the hook:
-- "FAILED (exit 1): workbench: .../wb/identity_reads_sys.lua:201:
-- Sequential: layer 2 ..." (tryM 7). The hook is called from a frame at its
-- first line: "hook.lua:4: Sequential: ...". A hook's error at a line of
-- its own (not a tail call) keeps that line, and nothing is caught on the
-- way: the traceback goes through the hook's frames.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

-- a model whose layer 2 does not take layer 1's outputs: Sequential's error, at its caller's line
local BAD = "wb.nn.Sequential{wb.nn.Dense(784, 16), wb.nn.Dense(8, 10, {activation = 'softmax'})}"
local GOOD = "wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = 'relu'}), "
  .. "wb.nn.Dense(8, 10, {activation = 'softmax'})}"
local HOOKS = {
  build = {"function(cfg)", GOOD},
  callbacks = {"function(cfg, model, d)", "{}"},
  fit_options = {"function(cfg, model, d)", "{}"},
  measure = {"function(model, cfg, d)", "{}"},
}

-- The task file (its hook `name` on line 4), and the FAILED line of its run.
local function failed(name, body)
  local task = dir .. "/" .. name .. ".lua"
  local lines = {"return wb.task{name = 'place', title = 'hook place',", "  experiment = {",
    "    base = {epochs = 1, subset = {train = 200, test = 100}, validation = false}, seeds = {1},"}
  lines[4] = string.format("    %s = %s %s end,", name, HOOKS[name][1], body)
  for _, h in ipairs{"build", "callbacks", "fit_options", "measure"} do
    if h ~= name then
      table.insert(lines, string.format("    %s = %s return %s end,", h, HOOKS[h][1], HOOKS[h][2]))
    end
  end
  table.insert(lines, "  }, report = function(task, runs) end}")
  util.write_file(task, table.concat(lines, "\n") .. "\n")
  local st, _, err = T.run_wb(T.quote(task) .. " --quick --root " .. T.quote(dir .. "/r_" .. name))
  T.ok(st ~= 0, err)
  return err:match("FAILED %(exit %d+%): ([^\n]*)") or err
end

for _, h in ipairs{"build", "callbacks", "fit_options", "measure"} do
  T.test("a " .. h .. " hook's tail call fails: the error names the hook's line", function()
    local line = failed(h, "return " .. BAD)
    T.ok(line:find(h .. ".lua:4: Sequential: layer 2", 1, true), line)
    T.ok(not line:find("wb/", 1, true), line)
  end)
  T.test("a " .. h .. " hook's call at a line of its own keeps that line", function()
    local line = failed(h, "local x = " .. BAD .. "; return x")
    T.ok(line:find(h .. ".lua:4: Sequential: layer 2", 1, true), line)
  end)
end

T.test("as_hook: a library function's error at its own line keeps it; a user's hook", function()
  local as_hook = require("wb.identity_reads").sys.as_hook
  local own = debug.getinfo(as_hook, "S").source:match("^@(.*/)[^/]*$")
  -- a function of the library's (its chunk named as wb's files are): error at its own line 2,
  -- or (level 2) at its caller's
  local lib = load("return function(level)\n  error('boom', level)\nend",
    "@" .. own .. "fake.lua")()
  local function hook(level) return lib(level) end -- a tail call
  local place = {src = "bad.lua", line = 7}
  local ok, e = pcall(as_hook, place, hook, 1)
  T.ok(not ok and e:find("fake.lua:2: boom$"), e)
  ok, e = pcall(as_hook, place, hook, 2)
  T.eq(e, "bad.lua:7: boom")
  local function direct(level) -- not a tail call: this file's line
    local r = lib(level)
    return r
  end
  ok, e = pcall(as_hook, place, direct, 2)
  T.ok(e:find("test_hook_place.lua:%d+: boom$"), e)
  T.eq(select(2, pcall(as_hook, nil, hook, 2)):match("identity_reads_sys"), "identity_reads_sys")
  -- nothing caught on the way: a traceback taken where it fails goes through the hook
  local function inner_of_hook() error("deep") end
  local function deep() inner_of_hook(); return 1 end
  local _, tb = xpcall(as_hook, debug.traceback, place, deep)
  T.ok(tb:find("in %a* ?'?inner_of_hook'?") and tb:find("bad.lua:7: in function <bad.lua:7>",
    1, true), tb)
  -- results pass through, nil and several
  local a, b, c = as_hook(place, function() return 1, nil, 3 end)
  T.ok(a == 1 and b == nil and c == 3)
end)

T.done()
