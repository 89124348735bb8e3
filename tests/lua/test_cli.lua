-- test_cli.lua: the workbench command line (bindings/workbench.c):
-- options, `arg`, exit statuses, errors, programs and REPLs on a pipe.
local T = dofile("tests/lua/harness.lua")

local q, run = T.quote, T.run_wb
local WB = q(T.wb)
-- No BLAS thread variables unless a test sets them.
local NOENV = "env -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS -u OMP_NUM_THREADS "
local dir = T.tmpdir()

local function write(name, text)
  local path = dir .. "/" .. name
  local fh = assert(io.open(path, "w"))
  fh:write(text)
  fh:close()
  return path
end

T.test("-v prints workbench, Lua, OpenBLAS, libpng and readline versions", function()
  local st, out = T.sh(NOENV .. WB .. " -v")
  T.eq(st, 0)
  T.ok(out:find("workbench " .. wb.version, 1, true), out)
  T.ok(out:find(_VERSION, 1, true), "Lua version missing: " .. out)
  T.ok(out:find("OpenBLAS%s+OpenBLAS %d+%.%d+"), "OpenBLAS config missing: " .. out)
  T.ok(out:find(", 1 thread)", 1, true), "expected 1 BLAS thread by default: " .. out)
  T.ok(out:find("libpng%s+1%.%d+%.%d+"), "libpng version missing: " .. out)
  T.ok(out:find("readline%s+%d+%.%d+"), "readline version missing: " .. out)
  local st2, out2 = T.sh(NOENV .. WB .. " --version")
  T.eq(st2, 0, "--version, the same as -v")
  T.eq(out2, out)
  T.eq(T.sh(NOENV .. WB .. " --versions"), 64, "--versions is not an option")
end)

T.test("OPENBLAS_NUM_THREADS is respected, else one thread", function()
  local st, out = T.sh(NOENV .. WB .. " -e 'io.write(wb.sys.blas_threads())'")
  T.eq(st, 0)
  T.eq(out, "1")
  local want = math.min(2, wb.sys.nproc())
  st, out = T.sh(NOENV .. "OPENBLAS_NUM_THREADS=2 " .. WB ..
    " -e 'io.write(wb.sys.blas_threads())'")
  T.eq(st, 0)
  T.eq(out, tostring(want))
  st, out = T.sh(NOENV .. "OMP_NUM_THREADS=2 " .. WB ..
    " -e 'io.write(wb.sys.blas_threads())'")
  T.eq(out, tostring(want))
end)

T.test("-h prints usage on stdout and exits 0", function()
  local st, out, err = run("-h")
  T.eq(st, 0)
  T.ok(out:find("usage: workbench", 1, true), out)
  T.ok(out:find("-e stat", 1, true), out)
  T.eq(err, "")
end)

T.test("--help works as -h: usage, or the help text of a name", function()
  local st, out, err = run("--help")
  T.eq(st, 0, err)
  local _, want = run("-h")
  T.eq(out, want)
  T.ok(out:find("--help", 1, true), "usage does not name --help: " .. out)
  st, out = run("--help wb.zeros")
  T.eq(st, 0)
  T.eq(out, select(2, run("-h wb.zeros")))
  T.ok(out:find("^wb.zeros%("), out)
end)

T.test("help is a global in scripts and -e chunks, as in the REPL", function()
  local st, out, err = run("-e 'help(wb.zeros)'")
  T.eq(st, 0, err)
  T.ok(out:find("wb.zeros(", 1, true), out)
  st, out, err = run(write("help.lua", "help(wb.seed)\nio.write(tostring(help == wb.help.show))"))
  T.eq(st, 0, err)
  T.ok(out:find("wb.seed(n)", 1, true) and out:find("true$"), out)
end)

T.test("-e chunks run in order with the global wb", function()
  local st, out = run("-e " .. q("io.write('a', type(wb), ' ')") ..
    " -e " .. q("io.write('b', type(wb.zeros))"))
  T.eq(st, 0)
  T.eq(out, "atable bfunction")
end)

T.test("arg table is built as lua5.4 does", function()
  local script = write("args.lua", [[
local parts = {}
for i = -3, #arg do parts[#parts + 1] = i .. "=" .. tostring(arg[i]) end
io.write(table.concat(parts, " "), " | ", select("#", ...), " ", (...))
]])
  local st, out, err = run("-e 'x=1' " .. q(script) .. " a 'b c'")
  T.eq(st, 0, err)
  T.eq(out, "-3=" .. T.wb .. " -2=-e -1=x=1 0=" .. script ..
    " 1=a 2=b c | 2 a")
  -- "--" ends the options; a script name that looks like an option follows.
  st, out = run("-- " .. q(script) .. " -v")
  T.eq(st, 0)
  T.eq(out, "-3=nil -2=" .. T.wb .. " -1=-- 0=" .. script .. " 1=-v | 1 -v")
  -- Without a script, arg[0] is the interpreter and the options follow.
  st, out = run("-e " .. q("io.write(arg[0], ' ', arg[1], ' ', #arg)"))
  T.eq(out, T.wb .. " -e 2")
end)

T.test("'-' runs the script from stdin with arguments", function()
  local st, out = run("- x y", "io.write(arg[0], ' ', arg[1], ' ', arg[2], ' ', 6 * 7)")
  T.eq(st, 0)
  T.eq(out, "- x y 42")
end)

T.test("a script error gives the message and a traceback on stderr, exit 1", function()
  local script = write("err.lua", "local function f()\n  error('bad thing')\nend\nf()\n")
  local st, out, err = run(q(script))
  T.eq(st, 1)
  T.eq(out, "")
  T.ok(err:find("err.lua:2: bad thing", 1, true), err)
  T.ok(err:find("stack traceback:", 1, true), err)
  T.ok(err:find("in local 'f'", 1, true) or err:find("in function 'f'", 1, true), err)
  -- A non-string error object is described, not lost.
  st, out, err = run("-e 'error({})'")
  T.eq(st, 1)
  T.ok(err:find("error object is a table value", 1, true), err)
end)

T.test("an -e error stops later -e chunks, exit 1", function()
  local st, out, err = run("-e 'error(\"first\")' -e 'io.write(\"second\")'")
  T.eq(st, 1)
  T.eq(out, "")
  T.ok(err:find("first", 1, true), err)
end)

T.test("unknown or incomplete option: usage on stderr, exit 64", function()
  local st, out, err = run("-x")
  T.eq(st, 64)
  T.eq(out, "")
  T.ok(err:find("unrecognized option '-x'", 1, true), err)
  T.ok(err:find("usage: workbench", 1, true), err)
  st, _, err = run("-e")
  T.eq(st, 64)
  T.ok(err:find("'-e' needs argument", 1, true), err)
  st = run("-vx")
  T.eq(st, 64)
  st = run("--x")
  T.eq(st, 64)
end)

T.test("missing script: message names the file, exit 66", function()
  local st, out, err = run(q(dir .. "/no_such_script.lua") .. " a b")
  T.eq(st, 66)
  T.eq(out, "")
  T.ok(err:find("cannot open " .. dir .. "/no_such_script.lua", 1, true), err)
  T.ok(err:find("No such file or directory", 1, true), err)
end)

T.test("syntax errors: exit 1 with file and line", function()
  local script = write("syn.lua", "local x = 1\nx = = 2\n")
  local st, out, err = run(q(script))
  T.eq(st, 1)
  T.eq(out, "")
  T.ok(err:find("syn.lua:2:", 1, true) and err:find("near '='", 1, true), err)
  st, _, err = run("-e 'x = = 1'")
  T.eq(st, 1)
  T.ok(err:find("(command line):1:", 1, true), err)
end)

T.test("a program piped on stdin runs like lua5.4", function()
  local st, out, err = run("", "local t = wb.zeros(2, 3)\nio.write(t:numel(), ' ', 6 * 7)\n")
  T.eq(st, 0, err)
  T.eq(out, "6 42")
  st, out, err = run("", "print('before')\nerror('piped failure')\n")
  T.eq(st, 1)
  T.eq(out, "before\n")
  T.ok(err:find("stdin:2: piped failure", 1, true), err)
  T.ok(err:find("stack traceback:", 1, true), err)
end)

T.test("a piped REPL (-i) auto-prints results and continues after errors", function()
  local st, out, err = run("-i", "1+1\nx = 3\nx * 2\n'str\\n'\nerror('oops')\n" ..
    "for i = 1, 2 do\n  io.write(i, ' ')\nend\n{1, 2, a = 'b'}\n=x\n")
  T.eq(st, 0, err)
  T.eq(out, '2\n6\n"str\\n"\n1 2 {1, 2, a = "b"}\n3\n')
  T.ok(err:find("stdin:1: oops", 1, true), err)
end)

T.test("EOF inside a statement in a piped REPL: clear error, exit 1, no hang", function()
  local st, out, err = run("-i", "x = 1\nfor i = 1, 3 do\n  print(i)\n")
  T.eq(st, 1)
  T.eq(out, "")
  T.ok(err:find("input ended inside an unfinished statement", 1, true), err)
  T.ok(err:find("'end' expected", 1, true), err)
  -- Same program without -i: lua5.4's "near <eof>" syntax error, exit 1.
  st, out, err = run("", "for i = 1, 3 do\n")
  T.eq(st, 1)
  T.ok(err:find("<eof>", 1, true), err)
end)

T.test("-i runs the REPL after the script", function()
  local script = write("pre.lua", "y = 21\n")
  local st, out = run("-i " .. q(script), "y * 2\n")
  T.eq(st, 0)
  T.eq(out, "42\n")
end)

T.test("-l requires a module into a global", function()
  local st, out = run("-l cjson -e " .. q("io.write(cjson.encode({1}))"))
  T.eq(st, 0)
  T.eq(out, "[1]")
  st = run("-l no_such_module_xyz")
  T.eq(st, 1)
end)

T.test("SIGINT during a script stops it with 'interrupted!' and exit 130", function()
  -- One SIGINT to the one process (timeout(1) would also signal its process
  -- group: a second SIGINT before the hook runs ends the process, as in lua.c).
  -- The signal goes once the loop runs (a marker file says so; the wait is
  -- bounded by a count of polls), however slow the machine is to start.
  local mark = dir .. "/looping"
  local st, out, err = T.sh("(" .. WB .. " -e 'io.open(\"" .. mark .. "\", \"w\"):close(); "
    .. "for i = 1, 1e12 do end' </dev/null & p=$!; n=0; while [ ! -e " .. q(mark) .. " ] "
    .. "&& [ $n -lt 30000 ]; do sleep 0.02; n=$((n+1)); done; kill -INT $p; wait $p; echo status=$?)")
  T.eq(st, 0)
  T.eq(out, "status=130\n") -- README "Exit status"
  T.ok(err:find("interrupted!", 1, true), err)
  T.ok(err:find("stack traceback:", 1, true), err)
end)

T.done()
