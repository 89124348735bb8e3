-- test_std_env.lua: a script's or a REPL user's globals that share a
-- standard name (`type = "relu"`, `table = runs:table()`) do not reach into
-- the library (wb/std.lua), and every library module runs in that
-- environment. Before: "attempt to call a string value (global 'type')"
-- from args.lua in the middle of fit, and print(model) failing on
-- table.concat.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- The names a user might well reuse, and the ones a script could clobber by
-- mistake; the child script keeps its own references first.
local CLOBBER = {"type", "table", "string", "tostring", "tonumber", "pairs", "ipairs", "math",
  "error", "pcall", "select", "next", "setmetatable", "getmetatable", "rawget", "assert",
  "os", "io"}

local CHILD = [[
local pcall, write, exit, tostr = pcall, io.write, os.exit, tostring
local wb, names = wb, {...}
local x = wb.rand(64, 6)
local y = wb.new_tensor({64}, "uint8")
for i = 1, 64 do y[i] = i %% 3 end
local data = wb.data.Dataset(x, y)
wb.seed(1)
local m = wb.nn.Sequential{wb.nn.Dense(6, 8, {activation = "relu"}), wb.nn.Dropout(0.2),
  wb.nn.Dense(8, 3, {activation = "softmax"})}
for _, n in ipairs(names) do _G[n] = "clobbered" end
local function try(what, f)
  local ok, e = pcall(f)
  write(what, ": ", ok and "ok" or ("FAILED " .. tostr(e):gsub("\n.*", "")), "\n")
end
try("fit", function()
  m:fit(data, {optimizer = "sgd", loss = "sparse_categorical_crossentropy", epochs = 2,
    batch_size = 16, verbose = 0, validation_split = 0.25,
    instruments = wb.instruments.economy})
end)
try("evaluate", function() m:evaluate(data) end)
try("predict", function() m:predict(x) end)
try("summary", function() write(#tostr(m:summary()), "\n") end)
try("tostring", function() write(#tostr(m), "\n") end)
try("save", function() m:save_weights("%s/w.safetensors"); m:load_weights("%s/w.safetensors") end)
try("stats", function() wb.stats(m, {data = data}) end)
try("hessian", function() wb.hessian.eigs(m, data, {k = 2}) end)
try("help", function() wb.help.text("wb.stats") end)
try("error", function()
  local ok, e = pcall(m.fit, m, data, {epoch = 1})
  -- (an input error, wb.spec.is_input_error: its text is tostring's)
  if ok or not tostr(e):find("unknown option 'epoch'", 1, true) then exit(9) end
end)
]]

T.test("globals named like standard functions do not break the library", function()
  local dir = T.tmpdir()
  local path = dir .. "/child.lua"
  local fh = assert(io.open(path, "w"))
  fh:write(CHILD:format(dir, dir))
  fh:close()
  local st, out, err = T.run_wb(T.quote(path) .. " " .. table.concat(CLOBBER, " "))
  T.eq(st, 0, err)
  T.ok(not out:find("FAILED"), out)
  local steps = select(2, out:gsub(": ok\n", ""))
  T.eq(steps, 10, out)
end)

T.test("every library module runs in wb.std; library code cannot assign a global", function()
  local dir = package.searchpath("wb.util", package.path):match("^(.*)/util%.lua$")
  local st, out = T.sh("cd " .. T.quote(dir) .. " && find . -name '*.lua'")
  T.eq(st, 0)
  local n = 0
  for rel in out:gmatch("%./([^\n]+)") do
    if rel ~= "std.lua" then
      n = n + 1
      local code
      for line in io.lines(dir .. "/" .. rel) do
        if not line:match("^%-%-") and line:match("%S") then code = line; break end
      end
      T.eq(code, 'local _ENV = require "wb.std"', rel .. ": first line of code")
    end
  end
  T.ok(n > 60, "found the modules: " .. n)
  local std = require "wb.std"
  T.check_error("wb: library code assigns the global 'oops' (missing local?)",
    function() std.oops = 1 end)
  T.eq(std.type, type)
  T.eq(std.wb, wb, "other names are read from _G")
  -- a traceback names Lua's functions as Lua's, not as wb.std's
  T.eq(next(std), nil, "the module table itself holds no functions")
  local dir = T.tmpdir()
  local fh = assert(io.open(dir .. "/e.lua", "w"))
  fh:write('error("boom")\n')
  fh:close()
  local st, _, err = T.run_wb(T.quote(dir .. "/e.lua"))
  T.eq(st, 1, err)
  T.ok(err:find("in function 'error'", 1, true) and not err:find("wb.std", 1, true), err)
end)

T.done()
