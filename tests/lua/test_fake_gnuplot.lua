-- test_fake_gnuplot.lua - training and reports never hang or die because of
-- gnuplot; a figure that could not be drawn is a clear error (or a README
-- note in a task), and its CSV and .gp are kept.
--
-- Fake gnuplots (shell scripts, selected with wb.plot.gnuplot or
-- $WB_GNUPLOT): absent, exits at once with status 1, crashes (SIGSEGV)
-- after reading part of its script, hangs (killed by wb.plot.timeout),
-- never reads anything and draws nothing, reads stdin, floods stderr with
-- 10 MB (one line, and many lines). Each plot call must raise within a
-- bounded time with a message of bounded size naming the figure, leave
-- name.csv and name.gp, and leave no process behind. Then a task script
-- runs with --quick and a failing gnuplot: it finishes (status 0) and its
-- README says which figures could not be drawn.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()
local bin = dir .. "/bin"
assert(os.execute("mkdir -p " .. bin))

local function fake(name, body)
  local path = bin .. "/" .. name
  local fh = assert(io.open(path, "wb"))
  fh:write("#!/bin/sh\n", body, "\n")
  fh:close()
  assert(os.execute("chmod +x " .. path))
  return path
end

local MARK = T.sleep_mark(1000) -- a sleep length no other process uses
local fakes = {
  {"absent", bin .. "/no-such-gnuplot", "not found"},
  {"exit1", fake("exit1", "echo 'line 1: some gnuplot error' >&2; exit 1"), "exit 1"},
  {"segv", fake("segv", 'head -c 40 "$2" >/dev/null; kill -SEGV $$'), "signal 11"},
  {"hang", fake("hang", "sleep " .. MARK), "timed out"},
  {"silent", fake("silent", "exit 0"), "no image"},
  {"stdin", fake("stdin", "cat >/dev/null; exit 0"), "no image"},
  {"flood1", fake("flood1", "head -c 10485760 /dev/zero | tr '\\0' e >&2; exit 1"), "exit 1"},
  {"floodn", fake("floodn", "yes 'error line' | head -c 10485760 >&2; exit 1"), "exit 1"},
}

-- The hung fake is killed after 1 s; the others end by themselves, and a
-- loaded machine may take seconds to run even a shell script: their
-- timeout only guards against a hang.
local function plot_with(prog, out)
  wb.plot.gnuplot = prog
  wb.plot.timeout = prog:find("/hang$") and 1 or 600
  local ok, err = pcall(function()
    return wb.plot.lines{title = "t", series = {{label = "a", y = {1, 2, 3}}}}:save(out)
  end)
  wb.plot.gnuplot, wb.plot.timeout = nil, 60
  return ok, tostring(err)
end

for _, f in ipairs(fakes) do
  local name, prog, want = f[1], f[2], f[3]
  T.test("gnuplot " .. name .. ": a clear error, CSV and .gp kept", function()
    local sub = dir .. "/" .. name
    assert(os.execute("mkdir -p " .. sub))
    -- stdin stays open and silent for the whole call (as in a pipeline)
    local ok, err = plot_with(prog, sub .. "/fig.png")
    T.ok(not ok, "plot succeeded with gnuplot " .. name)
    T.ok(err:find(want, 1, true), "message lacks '" .. want .. "': " .. err:sub(1, 300))
    T.ok(err:find("wb.plot", 1, true), err:sub(1, 300))
    T.ok(#err < 4096, "message of " .. #err .. " bytes")
    T.ok(not err:find("\n.*\n.*\n.*\n.*\n.*\n.*\n.*\n"), "more than 8 lines: " .. err:sub(1, 300))
    T.ok(wb.sys.exists(sub .. "/fig.csv") and wb.sys.exists(sub .. "/fig.gp"),
      "CSV or .gp missing")
    T.ok(not wb.sys.exists(sub .. "/fig.png"), "a PNG appeared")
  end)
end

T.test("no gnuplot process is left behind (the hung one was killed)", function()
  -- (the [p] keeps pgrep from matching the shell that runs it)
  -- its group was sent SIGTERM as the call ended: a loaded machine may run
  -- the sleep a moment longer; a sleep left running goes on for 1000 s
  T.wait_until("no 'sleep " .. MARK .. "' left running", 120, function()
    local st, out = T.sh("(pgrep -fx 'slee[p] " .. MARK .. "' || true)")
    T.eq(st, 0)
    return out == ""
  end)
end)

T.test("a gnuplot that reads stdin does not wait for the caller's stdin", function()
  -- the plot runs inside a workbench whose stdin is a FIFO held open by a
  -- silent writer: gnuplot must get /dev/null (end of file), not that
  local sub = dir .. "/stdin2"
  assert(os.execute("mkdir -p " .. sub))
  local script = dir .. "/stdin_plot.lua"
  local fh = assert(io.open(script, "wb"))
  fh:write(string.format([[
wb.plot.gnuplot = %q
wb.plot.timeout = 300
local ok, err = pcall(function()
  return wb.plot.lines{series = {{y = {1, 2}}}}:save(%q)
end)
io.stderr:write(tostring(err), "\n")
]], bin .. "/stdin", sub .. "/fig.png"))
  fh:close()
  local fifo = dir .. "/stdin.fifo"
  local _, _, err = T.sh("(mkfifo " .. fifo .. "; sleep 600 > " .. fifo .. " & h=$!; "
    .. T.wb .. " " .. script .. " < " .. fifo .. "; kill $h)")
  -- On the caller's stdin the fake's `cat` would block until the timeout
  -- (300 s: the writer stays 600 s; a loaded machine never takes that long
  -- to run the fake that reads /dev/null).
  T.ok(err:find("no image", 1, true) and not err:find("timed out", 1, true),
    "gnuplot read the caller's stdin: " .. err)
end)

T.test("a task run with --quick finishes with a failing gnuplot, README notes it", function()
  local root = dir .. "/task"
  local st, out, err = T.sh("WB_GNUPLOT=" .. bin .. "/exit1 " .. T.wb
    .. " scripts/task05_dropout.lua --quick --root " .. root)
  T.eq(st, 0, "task status; stderr: " .. err:sub(-500))
  root = root .. "/quick" -- --root DIR --quick: DIR/quick
  local fh = io.open(root .. "/task05_dropout/README.md", "rb")
  T.ok(fh, "no README; stdout: " .. out:sub(-300))
  local readme = fh:read("a")
  fh:close()
  T.ok(readme:find("could not be drawn", 1, true), "README does not say so")
  local names = wb.sys.listdir(root .. "/task05_dropout")
  local csv, gp, png = 0, 0, 0
  for _, n in ipairs(names) do
    if n:find("%.csv$") then csv = csv + 1 end
    if n:find("%.gp$") then gp = gp + 1 end
    if n:find("%.png$") then png = png + 1 end
  end
  T.ok(csv > 0 and gp > 0, "CSV/.gp files: " .. csv .. ", " .. gp)
  T.eq(png, 0, "PNG files")
end)

T.done()
