-- test_audit_repl.lua: the REPL and the command line as a new user meets
-- them in the first hour: a global named like a standard module, a strict
-- _G, an expression typed over several lines, -h beside other options,
-- Tab in a huge table, help of a malformed name. What test_repl.lua,
-- test_cli.lua and test_help.lua cover is not repeated here.
local T = dofile("tests/lua/harness.lua")
local R = require "wb.repl"

local q, run = T.quote, T.run_wb

-- {==== the REPL keeps working whatever the user's globals are ====

T.test("a global named table, string or type does not break printing or Tab", function()
  -- (a user's `table = runs:table()`: the printer and the completer used
  -- the global table.concat and type, and every later result failed)
  local st, out, err = run("-i", "table = {1, 2}\nstring = 's'\ntype = 1\nmath = 2\n" ..
    "{1, x = 2.0}\n'str'\n")
  T.eq(st, 0, err)
  T.eq(out, '{1, x = 2}\n"str"\n')
  T.eq(err, "")
  st, out, err = run("-e " .. q("local R = require 'wb.repl'; table, type = 1, 1; " ..
    "io.write(R.complete('wb.ze')[1], ' ', R.complete('string.for')[1])"))
  T.eq(st, 0, err)
  T.eq(out, "wb.zeros string.format")
end)

T.test("help still works after a global named table, string or math", function()
  -- (help looked them up at call time: "attempt to call a nil value (field
  -- 'unpack')". The rest of wb still does: see the audit's report)
  local st, out, err = run("-i", "table = {1}\nstring = 's'\nmath = 2\nhelp(wb.zeros)\n" ..
    "help(wb.nn.Dense(2, 2))\nhelp('wb.runs')\nhelp('wb.instruments.economy')\n")
  T.eq(st, 0, err)
  T.eq(err, "")
  for _, want in ipairs{"\nwb.zeros(", "\nwb.Dense\n", "\nwb.runs\n",
      "\nwb.instruments.economy ("} do
    T.ok(("\n" .. out):find(want, 1, true), want .. " in: " .. out:sub(1, 300))
  end
end)

T.test("a strict _G or a failing _PROMPT does not end the REPL", function()
  -- (the prompt was read with lua_getglobal outside any pcall: a strict
  -- _G's error for _PROMPT ended the REPL with status 1)
  local st, out, err = run("-i", "setmetatable(_G, {__index = function(_, k) " ..
    "error('undefined global ' .. k, 2) end}) == _G\nundefined_x\n6 * 7\n")
  T.eq(st, 0, err)
  T.eq(out, "true\n42\n")
  T.ok(err:find("stdin:1: undefined global undefined_x", 1, true), err)
  T.ok(not err:find("_PROMPT", 1, true), err)
  st, out, err = run("-i", "_PROMPT = setmetatable({}, {__tostring = function() " ..
    "error('bad prompt') end})\n6 * 7\n")
  T.eq(st, 0, err)
  T.eq(out, "42\n")
end)

T.test("a failing _PROMPT shows its error as the prompt (on a terminal)", function()
  if T.sh("command -v script") ~= 0 then return end
  local hist = T.tmpdir() .. "/history"
  local st, out = T.sh("printf '%s' " .. q("_PROMPT = setmetatable({}, {__tostring = " ..
    "function() error('bad prompt') end})\n_PROMPT2 = 7\nfor i = 1, 1 do\nend\n") ..
    " | timeout 300 script -qc " .. q("env INPUTRC=/dev/null WB_HISTORY=" .. hist .. " " ..
    q(T.wb)) .. " /dev/null")
  T.eq(st, 0, out)
  T.ok(out:find("(bad _PROMPT: stdin:1: bad prompt) for i", 1, true), out)
  T.ok(out:find("7end", 1, true), out) -- a number is a prompt too, as in lua.c
end)

-- }====

-- {==== expressions over several lines ====

T.test("an expression over several lines prints its value", function()
  -- (lua.c's way: only the first line was tried as an expression, so
  -- "wb.zeros(2,\n3)" printed nothing and "{1,\n2}" was "unexpected
  -- symbol near '{'" on its first line)
  local st, out, err = run("-i", "wb.zeros(2,\n3):numel()\n{1,\n2}\n1 +\n41\n" ..
    "m = {\n  a = 1,\n}\nm.a\nfor i = 1, 2 do\n  io.write(i, ' ')\nend\n")
  T.eq(st, 0, err)
  T.eq(out, "6\n{1, 2}\n42\n1\n1 2 ")
  T.eq(err, "")
  -- input that ends inside one says what was missing
  st, out, err = run("-i", "{a = 1,\n")
  T.eq(st, 1)
  T.ok(err:find("input ended inside an unfinished statement (stdin:1: unexpected " ..
    "symbol near <eof>)", 1, true), err)
end)

T.test("a whole expression used as a statement is an error, not more '>>' lines", function()
  -- (lua.c reads on after "syntax error near <eof>": the REPL then took
  -- every later line into the statement until Ctrl-C or another error)
  local st, out, err = run("-i", "(1 +\n2)\nx = 1; (1 +\n2)\n'after'\n")
  T.eq(st, 0, err)
  T.eq(out, '3\n"after"\n')
  T.ok(err:find("stdin:2: syntax error near <eof>", 1, true), err)
end)

-- }====

-- {==== the command line: -h runs nothing, and says so ====

T.test("-h beside another option, or twice: a usage error naming it", function()
  -- (-h printed the usage or the help text and silently skipped -e, -i, -l,
  -- -v, -W and a second -h)
  local cases = {
    {"-h -e 'print(1)'", "-e"}, {"-e 'print(1)' -h", "-e"}, {"-h wb.zeros -i", "-i"},
    {"-i --help", "-i"}, {"-h -h", "-h"}, {"-h wb.zeros -h wb.ones", "-h"},
    {"-v -h", "-v"}, {"-h -W", "-W"}, {"-h -l cjson", "-l"}, {"-h -", "-"},
  }
  for _, c in ipairs(cases) do
    local st, out, err = run(c[1])
    T.eq(st, 64, c[1] .. ": " .. err)
    T.eq(out, "", c[1])
    T.ok(err:find("unexpected argument '" .. c[2] .. "': -h takes at most one NAME " ..
      "and runs nothing", 1, true), c[1] .. ": " .. err)
  end
  -- alone, or with its NAME, as before
  local st, out = run("-h wb.zeros")
  T.eq(st, 0)
  T.ok(out:find("^wb.zeros%("), out)
  T.eq((run("--help")), 0)
end)

-- }====

-- {==== completion of a huge table ====

T.test("Tab in a table of more keys than max_scan offers nothing, at once", function()
  -- (a table of 10^6 keys took seconds inside readline, where Ctrl-C
  -- cannot stop it; a part of the keys would complete wrong)
  local big = {}
  for i = 1, R.max_scan + 1 do big["k" .. i] = i end
  local env = {big = big, small = {k1 = 1, k2 = 2, x = 3}}
  T.eq(#R.complete("big.k1", env), 0)
  T.eq(#R.complete("big.", env), 0)
  big["k" .. (R.max_scan + 1)] = nil
  T.eq(#R.complete("big.k9999", env), 11)
  T.eq(table.concat(R.complete("small.k", env), " "), "small.k1 small.k2")
  -- the bound counts every table on the way (the object and its class)
  local saved = R.max_scan
  R.max_scan = 3
  local obj = setmetatable({a = 1, b = 2}, {__index = {c = 3, d = 4}})
  local ok, c = pcall(R.complete, "obj.", {obj = obj})
  R.max_scan = saved
  T.ok(ok, c)
  T.eq(#c, 0)
end)

-- }====

-- {==== help ====

T.test("Tab offers a layer's and an optimizer's fields, not only their methods", function()
  -- the fields live behind a C __index function, which Tab never calls: it
  -- offered weight, bias, n_in, rate, lr ... nowhere
  local env = {d = wb.nn.Dense(3, 2), dr = wb.nn.Dropout(0.5), o = wb.optim.SGD{lr = 0.1},
    a = wb.nn.Activation("tanh")}
  local function has(list, w)
    for _, x in ipairs(list) do if x == w then return true end end
    return false
  end
  for _, w in ipairs{"d.weight", "d.bias", "d.n_in", "d.n_out", "d.activation", "d.kind",
      "d.grad_weight", "d.forward"} do
    T.ok(has(R.complete("d.", env), w), w)
  end
  T.eq(table.concat(R.complete("d.we", env), " "), "d.weight")
  T.ok(not has(R.complete("d:", env), "d:weight(")
    and not has(R.complete("d:", env), "d:weight"), "':' offers methods only")
  T.ok(has(R.complete("dr.", env), "dr.rate") and has(R.complete("a.", env), "a.activation"))
  for _, w in ipairs{"o.lr", "o.iterations", "o.name", "o.n_params", "o.step"} do
    T.ok(has(R.complete("o.", env), w), w)
  end
  -- each offered field is one the object answers
  for _, w in ipairs(R.complete("d.", env)) do
    T.ok(env.d[w:sub(3)] ~= nil, w .. " is nil")
  end
  for _, w in ipairs(R.complete("o.", env)) do
    T.ok(env.o[w:sub(3)] ~= nil, w .. " is nil")
  end
end)

T.test("Tab goes through a layer's fields and [n]: m[1].weight:<Tab> offers Tensor methods", function()
  -- a field's value was never read (true stood for it) and "m[1]" was not a
  -- name: both offered nothing; inside an open bracket globals are offered
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(3, 2), wb.nn.Dense(2, 1)}
  local env = {m = m, d = m[1], key = 1, keys = 2}
  T.eq(table.concat(R.complete("d.weight:nu", env), " "), "d.weight:numel(")
  T.eq(table.concat(R.complete("m[1].weight:sh", env), " "), "m[1].weight:shape(")
  T.eq(table.concat(R.complete("m[2].n_o", env), " "), "m[2].n_out")
  T.eq(table.concat(R.complete("m[1][ke", env), " "), "m[1][key m[1][keys")
  T.eq(#R.complete("m[9].", env), 0)
  T.eq(#R.complete("m[x].", env), 0)
  T.eq(#R.complete("d.n_in:", env), 0, "a number has no methods")
end)

T.test("help of a name with an empty part is 'no help', not the overview", function()
  -- ("wb..", ":" and "wb.:" walked no part, so they were wb itself)
  for _, name in ipairs{"wb..", ":", "wb.:", "wb.nn..Dense", "wb.nn.Dense."} do
    local text, msg = wb.help.text(name)
    T.eq(text, nil, name)
    T.ok(msg:find("no help for '" .. name .. "'", 1, true), msg)
  end
  T.ok(wb.help.text("wb.nn.Dense"):find("^wb.nn.Dense%("))
  T.ok(wb.help.text("wb"):find("^wb\n"))
end)

T.test("help with two arguments is an error, not the first one's text", function()
  T.check_error("help: one argument expected (a value or a name), got 2",
    wb.help.show, wb.zeros, wb.ones)
  local st, out, err = run("-e 'help(wb.zeros, wb.ones)'")
  T.eq(st, 1)
  T.eq(out, "")
  T.ok(err:find("(command line):1: help: one argument expected", 1, true), err)
end)

-- }====

T.test("help and a documented function typed alone say what they are", function()
  -- (both printed "function: 0x55...": a new user typing `help`, or a name to
  -- see what it takes, learnt nothing; an undocumented function still prints
  -- its address, as lua.c does)
  local st, out, err = run("-i", "help\nwb.nn.Dense\nm = wb.nn.Sequential{wb.nn.Dense(2, 2)}\n"
    .. "m.fit\nprint\n")
  T.eq(st, 0, err)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.ok(lines[1]:find("^help%(x%): the documentation of x"), lines[1])
  T.eq(lines[2], "function wb.nn.Dense(n_in, n_out, opts) -> wb.Dense  "
    .. "(help(wb.nn.Dense) says more)")
  T.eq(lines[3], 'function wb.Sequential:fit(train, opts) -> wb.History  '
    .. '(help("wb.Sequential:fit") says more)')
  T.ok(lines[4]:find("^function: 0x"), lines[4])
end)

T.test("a line declaring a local says, once, that the local ends with the line", function()
  -- (README's first block typed line by line: `local m = ...`, then `m:fit`
  -- failed with "attempt to index a nil value (global 'm')", nothing saying why)
  local note = "(the REPL runs each line as its own chunk: local x lasts only this line; "
    .. "drop 'local' to keep it)\n"
  local st, out, err = run("-i", "y = 1\nfor i = 1, 2 do local z = i end\nlocal x = 1\n"
    .. "print(x)\nlocal w = 2\n")
  T.eq(st, 0, err)
  T.eq(out, "nil\n")
  T.eq(err, note)
  st, out, err = run("-i", "  local function f() end\nprint(f)\n")
  T.eq(st, 0, err)
  T.eq(out, "nil\n")
  T.eq(err, (note:gsub("local x", "local f")))
  -- a script, stdin as one program, keeps its locals and says nothing
  st, out, err = run("", "local x = 1\nprint(x)\n")
  T.eq(st, 0, err)
  T.eq(out, "1\n")
  T.eq(err, "")
end)

T.test("a wb.runs.find query's mistake is its line alone; a Lua error keeps its traceback",
  function()
  -- (tryV 11: a misspelt key printed its good line, then a traceback into
  -- runs_find.lua, in a script, -e and the REPL alike)
  local root = T.tmpdir()
  local find = string.format("rs = wb.runs.find{tsk = 1, root = %q}", root)
  local path = root .. "/find.lua"
  local f = assert(io.open(path, "w"))
  f:write(find, "\n")
  f:close()
  local want = ": wb.runs.find: unknown key 'tsk' (did you mean 'task'?)"
  for _, c in ipairs{{q(path), path .. ":1"}, {"-e " .. q(find), "(command line):1"},
      {"-e " .. q(string.format("wb.runs.find{root = %q}", root .. "/none")), nil,
       "wb.runs.find: no runs folder " .. root .. "/none/runs: root "}} do
    local st, out, err = run(c[1])
    T.eq(st, 1, err)
    T.eq(out, "")
    T.ok(err:find((c[2] or "") .. (c[3] or want), 1, true), err)
    T.eq(select(2, err:gsub("\n", "")), 1, "one line: " .. err)
  end
  local st, out, err = run("-i", find .. "\nt = nil\nprint(t.x)\n'after'\n")
  T.eq(st, 0, err)
  T.eq(out, '"after"\n')
  local first, rest = err:match("^([^\n]*)\n(.*)$")
  T.ok(first and first:find("stdin:1" .. want, 1, true), err)
  T.ok(rest:find("^stdin:1: attempt to index a nil value %(global 't'%)\nstack traceback:"), err)
end)

T.done()
