-- test_audit_readme.lua: README.md and the man page (bindings/workbench.1)
-- as a new user reads them: the names, options, files and variables they
-- mention exist, the options the code takes are the ones they list, and a
-- program piped on stdin behaves as README's exit-status section says.
-- Reads the two files each time, so they cannot drift silently; trains
-- nothing.
local T = dofile("tests/lua/harness.lua")

local slurp = T.slurp

local README = slurp("README.md")
local MAN = slurp("bindings/workbench.1")

local function sorted_keys(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- The names in a that are not in b, sorted, as one string ("" when none).
local function missing(a, b)
  local out = {}
  for _, k in ipairs(sorted_keys(a)) do
    if not b[k] then out[#out + 1] = k end
  end
  return table.concat(out, ", ")
end

-- {==== a program piped on stdin is a script ====

T.test("a program piped on stdin: what it returns is the exit status, as a script's", function()
  -- it was run as lua5.4 runs one (its results dropped: exit 0), where
  -- `workbench -` and a script file used them
  for _, args in ipairs{"", "-"} do
    local st = T.run_wb(args, "return 7\n")
    T.eq(st, 7, "'return 7' piped to workbench " .. args)
    local st2, _, err = T.run_wb(args, 'return wb.Error{code = "EIO", message = "disk gone"}\n')
    T.eq(st2, 74, "an error object returned, piped to workbench " .. args)
    T.ok(err:find("disk gone", 1, true), err)
    local st3, out = T.run_wb(args, "return setmetatable({}, {__main = function(t, a) "
      .. "print('main ran'); return 5 end})\n")
    T.eq(st3, 5, "a task returned, piped to workbench " .. args)
    T.ok(out:find("main ran", 1, true), out)
  end
  -- and what was right before stays so
  T.eq((T.run_wb("", "print(1)\n")), 0)
  T.eq((T.run_wb("", "error('x')\n")), 1)
  T.eq((T.run_wb("", "print(1)\n{1,\n")), 1)
end)

-- }====

-- {==== names, options, files README and the man page mention ====

-- Words that look like wb names but are files or the library's internal
-- environment module, not public names with help.
local NOT_NAMES = {["wb.c"] = true, ["wb.lua"] = true, ["wb.std"] = true}

T.test("README and the man page: every wb.name they mention has a help text", function()
  local names = {}
  for n in (README .. "\n" .. MAN):gmatch("wb%.[%a_][%w_%.:]*") do
    n = n:gsub("[%.:]+$", "")
    if not NOT_NAMES[n] then names[n] = true end
  end
  T.ok(next(names) ~= nil, "no wb names found in README")
  local bad = {}
  for _, n in ipairs(sorted_keys(names)) do
    if not wb.help.find(n) then bad[#bad + 1] = n end
  end
  T.eq(table.concat(bad, ", "), "", "names README mentions without help")
end)

-- The task options of the runner: every name and alias, as a set.
local function runner_options()
  local set = {}
  for _, opt in ipairs(require("wb.runner_options").OPTIONS) do
    set[opt[1]] = true
    if opt.alias then set[opt.alias] = true end
  end
  return set
end

T.test("README: the task options it lists are the ones a task takes", function()
  local para = README:match("\nTask options: (.-)\n\n")
  T.ok(para, "README has no 'Task options:' paragraph")
  local listed = {}
  -- an option as README writes it: `--seeds N`, `--help`, or `-h`
  for o in para:gmatch("`(%-%-?[%a][%w-]*)[ =`]") do listed[o] = true end
  local took = runner_options()
  T.eq(missing(took, listed), "", "task options README does not list")
  T.eq(missing(listed, took), "", "options README lists that a task refuses")
end)

-- The options of a roff fragment: `\-x` and `\-\-word` after .B/.BI/.BR.
local function man_options(text)
  local set = {}
  for line in text:gmatch("[^\n]+") do
    if line:match("^%.B[IR]? ") then
      line = line:gsub("\\%-", "-")
      for o in line:gmatch("%f[%w%-](%-%-?[%a][%w-]*)") do set[o] = true end
      if line:match("^%.B %-%-?$") then set[line:match("(%-%-?)$")] = true end
    end
  end
  return set
end

T.test("man page: the task options it lists are the ones a task takes", function()
  local para = MAN:match("\nTask scripts (.-)\n%.SH")
  T.ok(para, "no 'Task scripts' paragraph in bindings/workbench.1")
  local listed, took = man_options(para), runner_options()
  T.eq(missing(took, listed), "", "task options the man page does not list")
  T.eq(missing(listed, took), "", "options the man page lists that a task refuses")
end)

T.test("man page: its options are those of workbench -h", function()
  local st, usage = T.run_wb("-h")
  T.eq(st, 0)
  local shown = {}
  for line in usage:gmatch("[^\n]+") do
    local o = line:match("^%s+(%-%-?[%a]*)")
    if o then shown[o] = true end
  end
  local section = MAN:match("\n%.SH OPTIONS\n(.-)\nTask scripts ")
  T.ok(section, "no OPTIONS section in bindings/workbench.1")
  local listed = man_options(section)
  T.eq(missing(shown, listed), "", "options of workbench -h the man page leaves out")
  T.eq(missing(listed, shown), "", "options in the man page that workbench -h does not show")
end)

T.test("README and the man page: every WB_ variable the code reads is documented", function()
  -- internal: set by the runner and report.lua for their children
  local internal = {WB_ECHO = true, WB_RUNNER_FD = true, WB_CONCURRENT_JOBS = true}
  local st, out = T.sh("grep -rhoE 'getenv\\(\"WB_[A-Z_]+' bindings core")
  T.eq(st, 0)
  local read = {}
  for v in out:gmatch("WB_[%u_]+") do
    if not internal[v] then read[v] = true end
  end
  T.ok(read.WB_PLOTS and read.WB_DATA, "the grep found no WB_ variables: " .. out)
  local doc = {}
  for v in (README .. MAN):gmatch("WB_[%u_]+") do doc[v] = true end
  T.eq(missing(read, doc), "", "variables read but documented nowhere")
end)

T.test("README: the files and folders it names are in the tree", function()
  -- the tour's example a user writes; patterns of names, not files
  local examples = {["scripts/my_width.lua"] = true}
  local bad, n = {}, 0
  for p in README:gmatch("%f[%w%.](%.?[%a]+/[%w_%./%*-]+)") do
    local top = p:match("^([^/]+)/")
    local ours = ({scripts = 1, tests = 1, bindings = 1, core = 1, [".ci"] = 1})[top]
    p = p:gsub("[%.,]+$", "")
    if ours and not examples[p] then
      n = n + 1
      local st = T.sh("ls -d " .. p)
      if st ~= 0 then bad[#bad + 1] = p end
    end
  end
  T.ok(n > 10, "too few paths found in README: " .. n)
  T.eq(table.concat(bad, ", "), "", "paths README names that are not there")
  -- nor files outside the clone (it pointed at the team's ../shared notes)
  local outside = README:match("[^%s(`]*%.%./[^%s)`]*")
  T.ok(not outside, "README names a file outside the repository: " .. tostring(outside))
end)

T.test("README: the scripts its commands run exist and take --help", function()
  local seen = {}
  for script in README:gmatch("%./workbench (scripts/[%w_/]+%.lua)") do
    if not seen[script] then
      seen[script] = true
      local st, out, err = T.run_wb(script .. " --help")
      T.eq(st, 0, script .. " --help: " .. err)
      T.ok(out:find("usage", 1, true), script .. " --help: " .. out)
    end
  end
  T.ok(seen["scripts/task05_dropout.lua"] and seen["scripts/report.lua"],
    "README's tour scripts not found")
end)

-- The keys an error lists after "(valid: " (up to ";" or ")").
local function valid_keys(f, ...)
  local ok, err = pcall(f, ...)
  T.ok(not ok, "expected an unknown-key error")
  local list = tostring(err):match("%(valid: ([^;%)]+)")
  T.ok(list, "no valid list in: " .. tostring(err))
  local keys = {}
  for k in list:gmatch("[%w_]+") do keys[#keys + 1] = k end
  return keys
end

T.test("help texts README points to name every key the code takes", function()
  -- README: "workbench -h wb.experiment lists every key"; fit's options in
  -- Sequential:fit's help; a task's keys in wb.task's
  local function body(name)
    local e = assert(wb.help.find(name), name)
    return table.concat(e.body, "\n")
  end
  local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "softmax"})}
  local cases = {
    {"wb.experiment", valid_keys(wb.experiment, {name = "e", base = {hidden = 8}, zzz = 1})},
    {"wb.experiment", valid_keys(wb.experiment, {name = "e", base = {hidden = 8, zzz = 1}})},
    {"wb.task", valid_keys(wb.task, {name = "e", zzz = 1, experiment = {base = {hidden = 8}}})},
    {"wb.Sequential:fit", valid_keys(m.fit, m, wb.zeros(2, 4), wb.new_tensor({2}, "uint8"),
      {zzz = 1})},
  }
  for _, c in ipairs(cases) do
    local text, bad = body(c[1]), {}
    T.ok(#c[2] > 3, c[1] .. ": too few keys parsed")
    for _, k in ipairs(c[2]) do
      if not text:find("%f[%w_]" .. k .. "%f[^%w_]") then bad[#bad + 1] = k end
    end
    T.eq(table.concat(bad, ", "), "", c[1] .. "'s help leaves out keys the code takes")
  end
end)

T.test("README's bench command: a misspelt argument is an error, not the whole bench", function()
  -- tests/bench.lua ran every table (minutes, PyTorch too) for any argument
  -- but --training, --child and --hessian
  for _, args in ipairs{"--trainig", "--training extra", "--hessian x"} do
    local st, _, err = T.run_wb("tests/bench.lua " .. args)
    T.eq(st, 64, "bench.lua " .. args .. ": " .. err)
    T.ok(err:find("expected none, or --training", 1, true), err)
  end
  T.ok(README:find("./workbench tests/bench.lua --training", 1, true),
    "README no longer names bench.lua --training")
end)

-- }====

-- {==== README's Lua examples run as written ====

-- The first ```lua block after the line starting with `after`.
local function lua_block(after)
  local at = README:find("\n" .. after, 1, true)
  T.ok(at, "README has no line starting " .. after)
  local block = README:match("```lua\n(.-)```", at)
  T.ok(block, "no lua block after " .. after)
  return block
end

local function replace(s, old, new)
  local i, j = s:find(old, 1, true)
  T.ok(i, "README's block no longer has " .. old)
  return s:sub(1, i - 1) .. new .. s:sub(j + 1)
end

T.test("README: the training loop's example (fit, save_state, resume) runs", function()
  -- the resume fit had no log_every where the saved one had 50: resume
  -- refused the file, so the example failed at its last line
  local dir = T.tmpdir()
  local code = lua_block("## The training loop, step by step")
  -- a few hundred rows, and the state in a temporary folder
  code = replace(code, "wb.data.mnist()", "{train = wb.data.mnist().train:subset(1, 320)}")
  code = code:gsub('"plots/s%.safetensors"', string.format("%q", dir .. "/s.safetensors"))
  local path = dir .. "/loop.lua"
  local f = assert(io.open(path, "w"))
  f:write(code, "\nprint('resumed to epoch ' .. #model.history.loss)\n")
  f:close()
  local st, out, err = T.run_wb(T.quote(path))
  T.eq(st, 0, err)
  T.ok(out:find("resumed to epoch 4", 1, true), out .. err)
end)

T.test("README: the ablation it shows how to write is a valid task", function()
  local dir = T.tmpdir()
  local code = lua_block("### Writing an ablation")
  local name = code:match("^%-%- plots/([%w_]+%.lua)") -- under plots/: git ignores it (J7)
  T.ok(name, "the block's first line names its file: " .. code:sub(1, 40))
  local f = assert(io.open(dir .. "/" .. name, "w"))
  f:write(code)
  f:close()
  -- --list-runs checks the whole declaration and trains nothing
  local st, out, err = T.run_wb(T.quote(dir .. "/" .. name) .. " --quick --list-runs --root "
    .. T.quote(dir .. "/root"))
  T.eq(st, 0, err)
  local n = select(2, out:gsub("%-%-run %x+", ""))
  T.eq(n, 9, "3 widths x 3 seeds: " .. out)
end)

T.test("README: 'Your first model' runs as written and reads its PNG as a 7", function()
  -- the first code a new user sees that trains (tryM 17: it was at line 1072)
  local dir = T.tmpdir()
  local code = lua_block("### Your first model")
  -- what it saves goes under plots/ (git-ignored): a file in the clone's root made
  -- every later record "with uncommitted changes to 1 file" (tryV 1)
  local saved = 0
  for path in code:gmatch(':save%("([^"]*)"') do
    T.ok(path:find("^plots/[^/]+$"), "saved under plots/: " .. path)
    saved = saved + 1
  end
  T.eq(saved, 1, "the block saves one file")
  code = code:gsub('"plots/my_mlp%.safetensors"', string.format("%q", dir .. "/my_mlp.safetensors"))
  local path = dir .. "/first.lua"
  local f = assert(io.open(path, "w"))
  f:write(code)
  f:close()
  local st, out, err = T.run_wb(T.quote(path))
  T.eq(st, 0, err)
  T.ok(out:find("History(2 epochs, loss", 1, true), out .. err)
  T.ok(out:find("{loss = ", 1, true), out .. err)
  T.ok(out:find("digit 7 (p = ", 1, true), out .. err)
  T.ok(wb.sys.exists(dir .. "/my_mlp.safetensors"), "saved")
end)

-- }====

T.done()
