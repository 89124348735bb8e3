-- test_repl.lua: the REPL. First wb.repl (result printer, completion)
-- directly, then the real thing on a terminal: workbench in a detached tmux
-- session, driven with send-keys and read back with capture-pane.
local T = dofile("tests/lua/harness.lua")
local R = require "wb.repl"
local P = require "wb.pretty"

-- {==== wb.repl.format / print ====

T.test("format: strings quoted, scalars plain", function()
  T.eq(R.format("a\nb\t\"c\""), '"a\\nb\\9\\"c\\""')
  T.eq(R.format(42), "42")
  T.eq(R.format(2.5), "2.5")
  T.eq(R.format(nil), "nil")
  T.eq(R.format(true), "true")
  local long = R.format(string.rep("x", P.max_string + 5))
  T.ok(long:find('" ... (' .. (P.max_string + 5) .. ' bytes)', 1, true), long:sub(-40))
end)

T.test("format: whole floats print as integers (JSON numbers), others as they are", function()
  T.eq(R.format(1.0), "1")
  T.eq(R.format(-3.0), "-3")
  T.eq(R.format(2^53 + 0.0), tostring(2^53 + 0.0))
  T.eq(R.format(0.5), "0.5")
  T.eq(R.format(1/0), tostring(1/0))
  T.eq(R.format(0/0), "nan"); T.eq(R.format(-(0/0)), "nan") -- Lua's tostring: "-nan"
  T.eq(R.format({seed = 1.0, epochs = 20.0, lr = 0.001}), "{epochs = 20, lr = 0.001, seed = 1}")
  local rec = require("cjson").decode('{"seed": 1.0, "n": 3}')
  T.eq(R.format(rec), "{n = 3, seed = 1}")
end)

T.test("format: tables shallow, sorted, whole up to a screenful", function()
  T.eq(R.format({}), "{}")
  T.eq(R.format({1, "two", {3}, x = 1, ["a b"] = {}, f = print}),
    '{1, "two", {...}, ["a b"] = {}, f = function, x = 1}')
  -- 100 numbers: packed several to a line, all shown.
  local big = {}
  for i = 1, 100 do big[i] = i end
  local s = R.format(big)
  T.ok(s:find("^{\n  1, 2, 3,") and s:find(" 100\n}$") and not s:find("more"), s)
  -- Long lines break into one entry per line.
  local wide = {}
  for i = 1, 5 do wide["key_number_" .. i] = string.rep("v", 10) end
  s = R.format(wide)
  T.ok(s:find('^{\n  key_number_1 = "vvvvvvvvvv",\n  key_number_2'), s)
  -- A run's metrics (17 entries): every one shown, test_accuracy too.
  local metrics = {test_accuracy = 0.98}
  for i = 1, 16 do metrics["metric_" .. i] = i + 0.5 end
  s = R.format(metrics)
  T.ok(s:find("test_accuracy = 0.98", 1, true) and not s:find("more"), s)
  -- __tostring is used, and a failing one does not raise.
  T.eq(R.format(setmetatable({}, {__tostring = function() return "Thing()" end})),
    "Thing()")
  s = R.format(setmetatable({}, {__tostring = function() error("boom") end}))
  T.ok(s:find("__tostring failed", 1, true) and s:find("boom", 1, true), s)
end)

T.test("format: past a screenful, the rest is counted and wb.show named", function()
  local t = {}
  for i = 1, 60 do t[string.format("key_%02d", i)] = i end
  local function lines(s) return select(2, s:gsub("\n", "")) + 1 end
  P.max_lines = 20
  local s = R.format(t)
  T.eq(lines(s), 20, s)
  -- 17 entries shown ({, 17 lines, the hint, }), 43 left
  T.ok(s:find("key_17 = 17,\n  ... 43 more: wb.show(x, {all = true}) prints all\n}", 1, true)
    and s:sub(-1) == "}", s)
  T.ok(not s:find("key_18", 1, true), s)
  -- The default: $LINES minus the typed line and the prompt, else 40.
  P.max_lines = nil
  T.eq(lines(R.format(t)), tonumber(os.getenv("LINES") or "42") - 2)
  local st, out = T.sh("LINES=30 " .. T.wb .. [[ -e 'local t = {} for i = 1, 60 do t[i] = ("x"):rep(50) end
    io.write(require("wb.repl").format(t))']])
  T.eq(st, 0, out)
  T.eq(lines(out), 28, out)
  T.ok(out:find("... 35 more", 1, true), out) -- 25 shown
  -- wb.show prints the whole table, or a screenful.
  st, out = T.sh(T.wb .. [[ -e 'local t = {} for i = 1, 60 do t[("k%02d"):format(i)] = i end
    wb.show(t, {all = true})']])
  T.eq(st, 0, out)
  T.eq(lines(out), 63, out) -- {, 60 entries, }, and the final newline
  T.ok(out:find("k60 = 60\n}\n$") and not out:find("more"), out)
  local err
  st, _, err = T.sh(T.wb .. [[ -e 'wb.show({1}, {every = true})']])
  T.ok(st ~= 0 and err:find("wb.show: unknown option 'every' (valid: all)", 1, true), err)
  st, _, err = T.sh(T.wb .. [[ -e 'wb.show({1}, 5)']])
  T.ok(st ~= 0 and err:find("bad argument #2 to 'show' (table expected, got number)", 1, true),
    err)
end)

T.test("format: tensors print through their tostring", function()
  local t = wb.zeros(2, 3)
  T.eq(R.format(t), tostring(t))
  T.ok(R.format(t):find("[2, 3]", 1, true), R.format(t))
  -- Inside a table, a tensor is its first line.
  T.eq(R.format({w = t}), "{w = " .. tostring(t):match("^[^\n]*") .. "}")
end)

T.test("print: results tab-separated, newline-separated when multi-line", function()
  local st, out = T.sh(T.wb .. [[ -e 'require("wb.repl").print(1, "s", nil)' ]])
  T.eq(st, 0)
  T.eq(out, '1\t"s"\tnil\n')
  st, out = T.sh(T.wb .. [[ -e 'require("wb.repl").print(1, wb.zeros(2, 2))' ]])
  T.ok(out:find("^1\nTensor"), out)
end)

-- }====

-- {==== wb.repl.complete ====

local function has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

T.test("complete: globals and keywords", function()
  local c = R.complete("pri")
  T.ok(has(c, "print"), table.concat(c, " "))
  T.ok(has(R.complete("whi"), "while"))
  T.ok(has(R.complete("wb"), "wb"))
  local all = R.complete("")
  T.ok(has(all, "string") and has(all, "wb") and has(all, "function"), "empty prefix")
  T.eq(#R.complete("zzz_nothing"), 0)
end)

T.test("complete: fields along dotted paths", function()
  T.ok(has(R.complete("wb.ze"), "wb.zeros"), table.concat(R.complete("wb.ze"), " "))
  T.eq(table.concat(R.complete("wb.sys.getp"), " "), "wb.sys.getpid")
  T.eq(table.concat(R.complete("string.for"), " "), "string.format")
  local env = {a = {b = {cc = 1, cd = 2, _priv = 3}}}
  T.eq(table.concat(R.complete("a.b.c", env), " "), "a.b.cc a.b.cd")
  T.eq(table.concat(R.complete("a.b.", env), " "), "a.b.cc a.b.cd")
  T.eq(table.concat(R.complete("a.b._", env), " "), "a.b._priv")
  T.eq(#R.complete("a.x.", env), 0)
  T.eq(#R.complete("a[1].", env), 0)
  T.eq(#R.complete("1.", env), 0)
end)

T.test("complete: methods through metatables, ':' lists functions only", function()
  local Class = {}
  Class.__index = Class
  function Class.method_one() end
  Class.field_x = 1
  local Sub = setmetatable({}, {__index = Class})
  Sub.__index = Sub
  function Sub.method_two() end
  local env = {obj = setmetatable({own = 1}, Sub)}
  -- a method's "(" comes with it: obj:name is only ever a call
  T.eq(table.concat(R.complete("obj:", env), " "), "obj:method_one( obj:method_two(")
  T.eq(table.concat(R.complete("obj.", env), " "),
    "obj.field_x obj.method_one obj.method_two obj.own")
  -- Strings complete their methods; tensors through __methods.
  env.s = "text"
  T.ok(has(R.complete("s:up", env), "s:upper("))
  env.t = wb.zeros(2, 2)
  local c = R.complete("t:sh", env)
  T.eq(table.concat(c, " "), "t:shape(")
  T.ok(has(R.complete("t:", env), "t:numel("))
end)

T.test("complete: never calls an __index function", function()
  local calls = 0
  local env = {p = setmetatable({}, {__index = function() calls = calls + 1 return {} end})}
  R.complete("p.x.", env)
  R.complete("p:", env)
  T.eq(calls, 0)
end)

-- }====

-- {==== the REPL on a terminal (tmux) ====

local have_tmux = T.sh("command -v tmux") == 0
local tmpdir = T.tmpdir()
local sock = tmpdir .. "/tmux.sock" -- our own server, removed with tmpdir
local hist = tmpdir .. "/history"

local function tmux(args)
  return T.sh("tmux -S " .. sock .. " -f /dev/null " .. args)
end

local function start(name)
  local cmd = string.format("env HOME=%s INPUTRC=/dev/null WB_HISTORY=%s TERM=xterm %s",
    tmpdir, hist, T.wb)
  local st, _, err = tmux("new-session -d -s " .. name .. " -x 120 -y 40 '" .. cmd .. "'")
  T.eq(st, 0, "tmux new-session: " .. err)
end

-- The whole pane (with scrollback), wrapped lines joined.
local function screen(name)
  local _, out = tmux("capture-pane -p -J -S -500 -t " .. name)
  return out
end

local function last_line(s)
  local last = ""
  for line in s:gmatch("[^\n]*") do if line:find("%S") then last = line end end
  return (last:gsub("%s+$", ""))
end

-- Poll (at most `secs`, default 5 s) until pred(screen) is true.
local function wait_for(name, pred, what, secs)
  local t0 = wb.sys.time()
  local s
  repeat
    s = screen(name)
    if pred(s) then return s end
    os.execute("sleep 0.05")
  until wb.sys.time() - t0 > (secs or 60) -- a guard against a hang, generous for a loaded machine
  error("timed out waiting for " .. what .. "; screen:\n" .. s, 2)
end

local function at_prompt(s) return last_line(s) == ">" end

local function count(s, line)
  local n = 0
  for l in s:gmatch("[^\n]*") do if l:gsub("%s+$", "") == line then n = n + 1 end end
  return n
end

local function type_line(name, text)
  tmux("send-keys -t " .. name .. " -l '" .. text:gsub("'", "'\\''") .. "'")
  tmux("send-keys -t " .. name .. " Enter")
end

if not have_tmux then
  T.skip("REPL on a terminal", "tmux is not installed")
else
  T.test("the REPL starts with a banner and a prompt", function()
    start("a")
    local s = wait_for("a", at_prompt, "the first prompt")
    T.ok(s:find("workbench " .. wb.version, 1, true), s)
  end)

  T.test("expressions are printed, statements are not", function()
    type_line("a", "6*7")
    wait_for("a", function(s) return count(s, "42") == 1 end, "42")
    type_line("a", "x = 5")
    type_line("a", "x + 1, 'str'")
    -- (tmux shows the tab between results as spaces)
    wait_for("a", function(s) return s:find('\n6%s+"str"%s*\n') end, "6 \"str\"")
    type_line("a", "wb.zeros(2, 3)")
    wait_for("a", function(s) return s:find("Tensor[2, 3]", 1, true) end, "the tensor")
  end)

  T.test("a record of 18 entries is shown whole, whole floats as integers", function()
    type_line("a", "m = {seed = 1.0, test_accuracy = 0.98} for i = 1, 16 do m['m' .. i] = i end")
    type_line("a", "m")
    local s = wait_for("a", function(s) return s:find("test_accuracy = 0.98", 1, true) end,
      "test_accuracy")
    T.ok(s:find("\n%s*seed = 1,\n") and not s:find("more", 1, true), s)
  end)

  T.test("a multi-line for statement", function()
    type_line("a", "for i = 1, 3 do")
    wait_for("a", function(s) return last_line(s) == ">>" end, "the >> prompt")
    type_line("a", "print(i * 11)")
    type_line("a", "end")
    wait_for("a", function(s) return s:find("\n11%s*\n22%s*\n33%s*\n") end, "11 22 33")
  end)

  T.test("Tab completes wb.ze to wb.zeros and t:sh to t:shape(", function()
    wait_for("a", at_prompt, "a prompt")
    tmux("send-keys -t a -l wb.ze")
    tmux("send-keys -t a Tab")
    wait_for("a", function(s) return last_line(s) == "> wb.zeros" end, "> wb.zeros")
    tmux("send-keys -t a C-u")
    type_line("a", "t = wb.ones(2, 2)")
    tmux("send-keys -t a -l t:sh")
    tmux("send-keys -t a Tab")
    wait_for("a", function(s) return last_line(s) == "> t:shape(" end, "> t:shape(")
    tmux("send-keys -t a -l ')[2]'")
    tmux("send-keys -t a Enter")
    wait_for("a", function(s) return count(s, "2") == 1 end, "the shape's 2")
  end)

  T.test("Ctrl-C stops a long loop; the REPL still answers", function()
    -- Ctrl-C only once the loop runs (the marker file says so), however slow
    -- the machine: an earlier one would cancel the line being read instead
    local mark = tmpdir .. "/looping"
    type_line("a", "io.open('" .. mark .. "', 'w'):close(); for i = 1, 1e12 do end")
    wait_for("a", function() return wb.sys.exists(mark) end, "the loop to start")
    tmux("send-keys -t a C-c")
    wait_for("a", function(s) return s:find("interrupted!", 1, true) end, "interrupted!")
    wait_for("a", at_prompt, "the prompt after the interrupt")
    type_line("a", "1+1")
    wait_for("a", function(s) return count(s, "2") == 2 end, "1+1 -> 2")
  end)

  T.test("Ctrl-C at the prompt clears the line and cancels a statement", function()
    -- each key's effect is awaited on the screen before the next: typed
    -- on while Ctrl-C was still being handled, a line was lost
    tmux("send-keys -t a -l zzz_partial")
    wait_for("a", function(s) return last_line(s) == "> zzz_partial" end, "the partial line")
    tmux("send-keys -t a C-c")
    wait_for("a", at_prompt, "a fresh prompt after Ctrl-C")
    type_line("a", "'after' .. 1")
    wait_for("a", function(s) return count(s, '"after1"') == 1 end, '"after1"')
    type_line("a", "if true then")
    wait_for("a", function(s) return last_line(s) == ">>" end, "the >> prompt")
    tmux("send-keys -t a C-c")
    wait_for("a", at_prompt, "the > prompt after Ctrl-C")
    type_line("a", "3*3")
    wait_for("a", function(s) return count(s, "9") == 1 end, "3*3 -> 9")
  end)

  T.test("Ctrl-D exits; the history file has the lines", function()
    wait_for("a", at_prompt, "a prompt")
    tmux("send-keys -t a C-d")
    local t0 = wb.sys.time()
    while tmux("has-session -t a") == 0 and wb.sys.time() - t0 < 60 do
      os.execute("sleep 0.05")
    end
    T.ok(tmux("has-session -t a") ~= 0, "workbench did not exit on Ctrl-D")
    local fh = assert(io.open(hist))
    local text = fh:read("a")
    fh:close()
    T.ok(text:find("\n3*3\n", 1, true), text)
    T.ok(text:find("for i = 1, 3 do\nprint(i * 11)\nend\n", 1, true), text)
  end)

  T.test("history survives a restart (Up recalls the last line)", function()
    start("b")
    wait_for("b", at_prompt, "the first prompt")
    tmux("send-keys -t b Up")
    wait_for("b", function(s) return last_line(s) == "> 3*3" end, "> 3*3")
    tmux("send-keys -t b Enter")
    wait_for("b", function(s) return count(s, "9") == 1 end, "9")
    tmux("send-keys -t b C-d")
  end)

  tmux("kill-server")
end

-- }====

T.done()
