-- test_walkthrough.lua: README's "Lab bench" walkthrough, typed line by line
-- into the REPL on a terminal (workbench in a detached tmux session on our
-- own socket, read back with capture-pane, every wait bounded), against a
-- small set of real runs (task 5 --quick in a temporary folder, which is
-- the REPL's working directory, so the default plots/ root is there).
-- The lines come from README.md itself; each has an expectation below, and
-- a README line without one fails the test.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- {==== the walkthrough's lines, from README.md ====

local function readme_lines()
  local text = assert(util.read_file("README.md"), "README.md not found")
  local section = text:match("\n## Lab bench\n(.-)\n## ") or text:match("\n## Lab bench\n(.*)$")
  assert(section, "README.md has no '## Lab bench' section")
  local block = assert(section:match("```lua\n(.-)```"), "no ```lua block in Lab bench")
  local lines = {}
  for l in block:gmatch("[^\n]*") do
    local cmd = l:match("^> (.*)$")
    if cmd then lines[#lines + 1] = cmd end
  end
  return lines
end

-- }====

local have_tmux = T.sh("command -v tmux") == 0
local have_mnist = pcall(wb.data.mnist)
if not have_tmux then
  T.skip("README lab bench walkthrough in the REPL", "tmux is not installed")
  T.done()
end
if not have_mnist then
  T.skip("README lab bench walkthrough in the REPL", "MNIST missing (make data)")
  T.done()
end

local dir = T.tmpdir()
local wbexe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)
local sock = dir .. "/tmux.sock"
local function tmux(args)
  return T.sh("tmux -S " .. q(sock) .. " -f /dev/null " .. args)
end

-- Runs, as the README says: task 5 in --quick mode, into <dir>/plots.
local st, _, err = T.sh(string.format("cd %s && WB_ECHO=0 %s %s --quick", q(dir), q(wbexe),
  q(os.getenv("PWD") .. "/scripts/task05_dropout.lua")))
T.test("task 5 --quick makes the runs the walkthrough reads", function()
  T.eq(st, 0, err)
  T.eq(#wb.runs.find{root = dir .. "/plots/quick", task = "task05_dropout"}, 9)
end)

-- {==== driving the REPL ====

local function screen()
  local _, out = tmux("capture-pane -p -J -S -3000 -t lab")
  return out
end
local function last_line(s)
  local last = ""
  for line in s:gmatch("[^\n]*") do if line:find("%S") then last = line end end
  return (last:gsub("%s+$", ""))
end
local function wait_for(pred, what, secs)
  local t0 = wb.sys.time()
  local s
  repeat
    s = screen()
    if pred(s) then return s end
    os.execute("sleep 0.05")
  until wb.sys.time() - t0 > (secs or 600) -- a guard against a hang (ASan on a loaded machine)
  error("timed out waiting for " .. what .. "; screen:\n" .. s, 2)
end

-- Type one line and return what it printed (between its prompt line and
-- the next prompt), trailing blanks removed from each line.
local function run_line(line)
  local before = screen()
  local n_before = select(2, before:gsub("\n> ", ""))
  tmux("send-keys -t lab -l " .. q(line))
  tmux("send-keys -t lab Enter")
  local s = wait_for(function(x)
    return select(2, x:gsub("\n> ", "")) > n_before and last_line(x) == ">"
  end, "the prompt after: " .. line)
  local at = 0
  while true do -- the last echo of the line
    local i = s:find("> " .. line, at + 1, true)
    if not i then break end
    at = i
  end
  local out = s:sub(at + #line + 2):gsub("\n>%s*$", ""):gsub("^\n", "")
  return (out:gsub("[ \t]+\n", "\n"):gsub("[ \t]+$", ""):gsub("\n+$", ""))
end

-- }====

-- {==== what each line must print ====

local rs = wb.runs.find{root = dir .. "/plots/quick", task = "task05_dropout", dataset = "mnist",
  dropout = {0, 0.3}, seed = 1}
local function stats_text(r)
  return tostring(wb.stats(r:model(), {data = rs[1]:data().test})):gsub("[ \t]+\n", "\n")
end

local expect = {
  ['rs = wb.runs.find{root = "plots/quick", task = "task05_dropout", dataset = "mnist", '
    .. 'dropout = {0, 0.3}, seed = 1}'] =
    function(out) T.eq(out, "") end,
  ["rs"] = function(out)
    T.eq(out, tostring(rs))
    T.ok(out:find("^Runs%(2 runs, 2 variants%)\n  %[1%] Run task05_dropout dropout=0 seed 1: "
      .. "test acc %d+%.%d%d %%\n  %[2%] Run task05_dropout dropout=0.3 seed 1: test acc "), out)
  end,
  ["plain, drop = rs[1]:model(), rs[2]:model()"] = function(out) T.eq(out, "") end,
  ["test = rs[1]:data().test"] = function(out) T.eq(out, "") end,
  ["wb.stats(plain, {data = test})"] = function(out)
    T.ok(out:find("^layer%s+param%s+shape%s+mean%s+std%s+min%s+max%s+|w|<0.001%s+L2 norm%s+dead"),
      out)
    T.ok(out:find("\n1 Dense%(784 %-> 128, relu%)%s+weight%s+%[784, 128%].-%d+/128"), out)
    T.eq(out, stats_text(rs[1]))
  end,
  ["wb.stats(drop, {data = test})"] = function(out) T.eq(out, stats_text(rs[2])) end,
  ["wb.lab.weight_grid(drop, {units = 8, cols = 4}):show()"] = function(out)
    T.ok(out:find("weights into 8 of 128 units of Dense(784 -> 128, relu)", 1, true), out)
    T.ok(select(2, out:gsub("[#=+-]", "")) > 300, "no tiles drawn:\n" .. out)
    T.ok(out:find('\nPlot%(images, "weights into 8 of 128 units'), out)
  end,
  ['wb.lab.compare_weights(wb.runs.find{root = "plots/quick", task = "task05_dropout", '
    .. 'dataset = "mnist", dropout = {0, 0.3}}, 1)'
    .. ':save("plots/lab/hidden_weights.png")'] = function(out)
    -- --quick runs alone: marked as a task's --quick figures are (tryM 6)
    -- the seeds of a variant pooled, said in the title (tryZ E4)
    T.ok(out:find('^Plot%(histogram, "QUICK %(smoke test, not the results%): Layer 1 weights '
      .. '%(pooled over 3 seeds%)"%)%s+"plots/lab/hidden_weights.png"$'), out)
    local fh = assert(io.open(dir .. "/plots/lab/hidden_weights.png", "rb"))
    T.eq(fh:read(8), "\137PNG\r\n\26\n")
    fh:close()
    T.ok(wb.sys.exists(dir .. "/plots/lab/hidden_weights.csv"), "the histogram's CSV")
  end,
  ["drop:evaluate(test).accuracy == rs[2].metrics.test_accuracy"] =
    function(out) T.eq(out, "true") end,
  ["help(wb.lab.compare_weights)"] = function(out)
    T.eq(out, (wb.help.text(wb.lab.compare_weights):gsub("[ \t]+\n", "\n"):gsub("\n+$", "")))
  end,
}

-- }====

local lines = readme_lines()

-- The output README prints under a REPL line (up to the next line or "..."),
-- spaces squeezed.
local function readme_output(line)
  local text = assert(util.read_file("README.md"))
  local block = text:match("\n## Lab bench\n.-```lua\n(.-)```")
  local out, on = {}, false
  for l in block:gmatch("[^\n]*") do
    if l:match("^> ") or l == "..." then on = (l == "> " .. line)
    elseif on then out[#out + 1] = (l:gsub("%s+", " ")) end
  end
  return out
end

T.test("README's printed runs and weight statistics are what these runs print", function()
  -- they were from an older --quick run (87.2 % / 85.8 %, 15.81): a new
  -- user's screen differed from README's
  local want = readme_output("rs")
  T.eq(table.concat(want, "\n"), (tostring(rs):gsub("[ \t]+", " ")))
  local got = {}
  for l in stats_text(rs[1]):gmatch("[^\n]+") do got[#got + 1] = (l:gsub("%s+", " ")) end
  want = readme_output("wb.stats(plain, {data = test})")
  T.ok(#want >= 2, "README prints the header and the first row of wb.stats")
  for i, l in ipairs(want) do T.eq(l, got[i], "wb.stats line " .. i) end
end)
T.test("README's walkthrough has about ten REPL lines, each with an expectation", function()
  T.ok(#lines >= 8 and #lines <= 14, #lines .. " lines")
  for _, l in ipairs(lines) do
    T.ok(expect[l], "no expectation for README line (update test_walkthrough.lua): " .. l)
  end
end)

local started = false
T.test("the REPL starts in the runs' folder", function()
  local cmd = string.format("cd %s && env HOME=%s INPUTRC=/dev/null WB_HISTORY=%s TERM=xterm %s",
    q(dir), q(dir), q(dir .. "/history"), q(wbexe))
  local s, _, e = tmux("new-session -d -s lab -x 220 -y 50 " .. q(cmd))
  T.eq(s, 0, "tmux new-session: " .. e)
  wait_for(function(x) return last_line(x) == ">" end, "the first prompt")
  started = true
end)

if started then
  for i, line in ipairs(lines) do
    T.test(string.format("walkthrough line %d: %s", i, line), function()
      local check = expect[line]
      if not check then error("no expectation for this line") end
      check(run_line(line))
    end)
  end
  tmux("kill-server")
end

T.done()
