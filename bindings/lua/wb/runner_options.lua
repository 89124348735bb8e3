-- wb/runner_options.lua: a task's command line (wb/runner.lua's first
-- phase), checked whole before anything is planned or trained: an unknown
-- option, a repeated one, a bad value, an option where a value belongs
-- (`--root --quick`), options that do not go together or a stray argument
-- a task does not take (`quick` for `--quick`) is an error naming it (exit
-- 64), never a default run that looks like the one asked for. A value
-- follows its option as the next argument or after '=' (`--seeds 2`,
-- `--seeds=2`), as in GNU tools. M.OPTIONS is the one list of options: the
-- parser, the usage line and --help are all made from it.
local _ENV = require "wb.std"
local util = require "wb.util"
local slurm = require "wb.slurm"
local cockpit_run = require "wb.cockpit_run"

local M = {}

M.MAX_JOBS = 256

local function usage_error(msg) return setmetatable({usage = msg}, {__tostring =
  function(e) return e.usage end}) end

local function int_in(max)
  return function(v, name)
    -- decimal digits only: tonumber took 0x2, ' 2', 2.0 and 1e1 (which
    -- trained 21 new runs as --seeds 10)
    local n = v:match("^%d+$") and math.tointeger(tonumber(v))
    if not n or n < 1 or n > max then
      return nil, string.format("option %s expects an integer from 1 to %d, got '%s'", name,
        max, v)
    end
    return n
  end
end

-- Every option: name, the value it takes (nil: none), what it does (one
-- line of --help), how its value is checked (value, name -> value or nil,
-- why), whether a child's command repeats it (it decides the runs: keep),
-- whether it may be given more than once (many: a list), its field in the
-- parsed options (default: the name without "--", - as _).
M.OPTIONS = {
  {"--dataset", "mnist|fashion", "the dataset of every run (default: the task's, else mnist)",
    keep = true, check = function(v)
      if v == "fashion_mnist" then v = "fashion" end
      if v ~= "mnist" and v ~= "fashion" then
        return nil, "--dataset expects 'mnist' or 'fashion', got '" .. v .. "'"
      end
      return v
    end},
  {"--seeds", "N", "seeds 1..N of every variant (N: 1 to 1000; default: the task's)",
    keep = true, check = int_in(1000)},
  {"--epochs", "N", "every run trains N epochs (default: each variant's own)", keep = true,
    check = int_in(100000)},
  {"--quick", nil, "smoke test: at most the first 2000 / 500 rows and 2 epochs; under <root>/quick",
    keep = true},
  {"--jobs", "N", "child processes training at once (1 to 256; default: one a core)",
    check = int_in(M.MAX_JOBS)},
  {"--fresh", nil, "retrain the runs even when they are recorded"},
  {"--root", "DIR", "the folder of figures and records (default: $WB_PLOTS, else plots)"},
  {"--list-runs", nil, "print one command per run (to train elsewhere) and train nothing"},
  {"--run", "HASH", "train only the run with this hash, or 8+ of its first digits (see "
    .. "--list-runs)",
    check = function(v)
      if not v:match("^%x+$") then
        return nil, "--run expects a run's hash (hex digits), got '" .. v .. "'"
      end
      return v:lower() -- as a table or a log shows it, in either case
    end},
  {"--cockpit", nil, "train the first pending run here, drawing the live cockpit"},
  {"--slurm", nil, "train the pending runs as Slurm job arrays (one unless MaxArraySize is less), wait, draw"},
  {"--sbatch", "OPTS", "more sbatch options for --slurm (shell text: quote a value with & | ; < > ( ))"},
  {"--detach", nil, "with --slurm: submit, print each array's job id and return at once"},
  {"--gather", "DIR", "import this task's records from another root first (repeatable)",
    many = true},
  {"--help", nil, "print this help and exit", alias = "-h"},
}

local BY_NAME = {} -- name or alias -> option
for _, opt in ipairs(M.OPTIONS) do
  BY_NAME[opt[1]] = opt
  if opt.alias then BY_NAME[opt.alias] = opt end
  opt.field = opt.field or opt[1]:sub(3):gsub("%-", "_")
end

M.NAMES = {} -- every option's name and alias, as a set
for name in pairs(BY_NAME) do M.NAMES[name] = true end

local function synopsis(opt) return opt[1] .. (opt[2] and (" " .. opt[2]) or "") end

do
  local parts = {}
  for i, opt in ipairs(M.OPTIONS) do parts[i] = synopsis(opt) end
  M.USAGE = "options: " .. table.concat(parts, ", ")
end

---wb.runner.help_text([only]) -> string
---The task options, one a line with what each does (a task's --help);
---with only (a list of option names, as wb.runner.options takes it), those
---options only (the report's --help: it passes them on to each task).
---@param only? table
---@return string
---Example: io.write(wb.runner.help_text())
function M.help_text(only)
  local options = M.OPTIONS
  if only then
    options = {}
    for i, n in ipairs(only) do
      options[i] = BY_NAME[n] or error("wb.runner.help_text: only[" .. i .. "]: unknown "
        .. "option " .. tostring(n) .. " (" .. M.USAGE .. ")", 2)
    end
  end
  local lines, width, many = {}, 0, false
  for _, opt in ipairs(options) do width = math.max(width, #synopsis(opt)) end
  for i, opt in ipairs(options) do
    lines[i] = string.format("  %-" .. width .. "s  %s%s", synopsis(opt), opt[3],
      opt.alias and (" (also " .. opt.alias .. ")") or "")
    many = many or opt.many
  end
  return string.format("options (each at most once%s; a value as --seeds 2 or --seeds=2):\n",
    many and ", but --gather" or "") .. table.concat(lines, "\n") .. "\n"
end

-- An option's value that is itself an option (`--root --quick`, `--root
-- --quick=1`) forgot the value: never a root named --quick, nor quick lost.
local function is_option(v)
  return M.NAMES[v] or M.NAMES[v:match("^(%-%-[%w-]+)=") or ""]
end

-- " (did you mean --seeds?)" for --seed: the one option it begins, else an
-- option a third of its letters away at most (the leading "--" aside).
local function hint(name, options)
  local distance = require("wb.spec_keys").distance
  local word, best, bd, starts = name:gsub("^%-+", ""), nil, math.huge, {}
  for _, opt in ipairs(options) do
    if #word >= 3 and opt[1]:sub(3, #word + 2) == word then starts[#starts + 1] = opt[1] end
    local d = distance(word, opt[1]:sub(3))
    if d < bd then best, bd = opt[1], d end
  end
  if #starts == 1 then best, bd = starts[1], 0 end
  if bd > math.max(1, #best // 3) then return "" end
  return " (did you mean " .. best .. "?)"
end

-- Options that are given together but do not go together, or that would
-- be ignored: why, or nil.
local function conflicts(o)
  if o.quick and o.epochs and o.epochs > 2 then
    return string.format("--epochs %d with --quick: a quick run trains at most 2 epochs; "
      .. "give --epochs 1 or 2, or leave --quick out", o.epochs)
  end
  if o.jobs and (o.run or o.list_runs) then
    return string.format("--jobs sets how many runs train at once here; --%s trains none "
      .. "of them in parallel (leave --jobs out)", o.run and "run" or "list-runs")
  end
  if o.run and o.list_runs then return "--run trains one run; --list-runs lists them: "
    .. "give one of them" end
  return slurm.check_options(o) or cockpit_run.check_options(o)
end

-- Option opt's value v (the next argument, or what follows '='), checked.
local function value(opt, v)
  if v == nil or v == "" then
    error(usage_error(string.format("option %s needs a value (%s)", opt[1], synopsis(opt))), 0)
  end
  if is_option(v) then
    error(usage_error(string.format("option %s needs a value, got option %s", opt[1], v)), 0)
  end
  if not opt.check then return v end
  local checked, why = opt.check(v, opt[1])
  if checked == nil then error(usage_error(why), 0) end
  return checked
end

---wb.runner.options(argv, only) -> table
---Parses a task's command line (wb.runner.help_text says what each option
---does): --dataset mnist|fashion, --seeds N, --epochs N, --quick (at most
---2000 training / 500 test rows, fewer when the task's own subset has fewer;
---at most 2 epochs a run, 1 with --epochs 1;
---under <root>/quick), --jobs N (1..256), --fresh, --root DIR, --list-runs,
-----run HASH, --cockpit (the first run to train runs here, drawing
---wb.cockpit), --slurm, --sbatch OPTS, --detach, --gather DIR (repeatable;
---see wb.slurm), --help. A value comes as the next argument or after '='
---(--seeds=2). Other arguments are kept in rest (task 2's files).
---script_args are the options that decide the runs, for child commands. An
---unknown or repeated option, a bad value or options that do not go
---together raise an error object with field usage. only (optional): the
---names of the options a command other than a task takes (a report's), the
---ones an unknown option's message lists and suggests.
---@param argv table
---@param only? table
---@return table
---Example: local o = wb.runner.options{"--quick", "--seeds=2"}; print(o.quick, o.seeds)
function M.options(argv, only)
  local o = {rest = {}, script_args = {}}
  local options, usage = M.OPTIONS, M.USAGE
  if only then -- a report suggested --slurm for --slrum, then refused it
    options = {}
    for i, n in ipairs(only) do
      options[i] = BY_NAME[n] or error("wb.runner.options: only[" .. i .. "]: unknown option "
        .. tostring(n) .. " (" .. M.USAGE .. ")", 2)
    end
    local parts = {}
    for i, opt in ipairs(options) do parts[i] = synopsis(opt) end
    usage = "options: " .. table.concat(parts, ", ")
  end
  local given = {} -- option -> the argument that gave it
  local i, ended = 1, false -- ended: after `--`, every argument is the task's own
  while i <= #argv do
    local a = argv[i]
    if ended or a == "--" then -- a PNG named -x.png: `-- -x.png`
      if ended then o.rest[#o.rest + 1] = a end
      table.insert(o.script_args, a) -- the child's command has `--` too
      ended, a = true, nil
    end
    local name, inline = (a or ""):match("^(%-%-[^=]+)=(.*)$")
    name = name or a
    local opt = a and BY_NAME[name]
    if not a then -- taken above
    elseif opt then
      local v = true
      if opt[2] then
        if inline == nil then i = i + 1 end
        v = value(opt, inline or argv[i])
      elseif inline then
        error(usage_error(string.format("option %s takes no value, got '%s'", opt[1], a)), 0)
      end
      local said = opt[2] and (opt[1] .. " " .. v) or a -- v as checked (fashion_mnist)
      if given[opt] and not opt.many then
        error(usage_error(string.format("option %s given twice (%s, then %s): give it once",
          opt[1], given[opt], said)), 0)
      end
      given[opt] = said
      if opt.many then
        o[opt.field] = o[opt.field] or {}
        table.insert(o[opt.field], v)
      else
        o[opt.field] = v
      end
      if opt.keep then
        table.insert(o.script_args, opt[1])
        if opt[2] then table.insert(o.script_args, tostring(v)) end
      end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      error(usage_error(string.format("unknown option %s%s (%s)", a, hint(name, options),
        usage)), 0)
    else
      o.rest[#o.rest + 1] = a
      table.insert(o.script_args, a)
    end
    i = i + 1
  end
  local why = conflicts(o)
  if why then error(usage_error(why), 0) end
  return o
end
-- The working directory, as the shell's `pwd` gives it: $PWD alone may be
-- stale (a parent that changed directory without updating it), and the
-- children would then run another folder's script or write to another root.
local cwd
local function getcwd()
  if cwd then return cwd end
  local p = io.popen("pwd 2>/dev/null")
  local out = p and p:read("l")
  if p then p:close() end
  cwd = (out and out:sub(1, 1) == "/") and out or os.getenv("PWD") or "."
  return cwd
end

M.cwd = getcwd

-- An absolute path (commands printed for other folders and machines).
function M.absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return (getcwd() .. "/" .. p):gsub("/%./", "/")
end

-- The executable (arg's lowest index: arg[-1] was taken, and `workbench -W t.lua` ran
-- "/dir/-W" in every child, tryL 5) and the options before the script the children need
-- too, each its own word: -W, -e and -l run in each child as here (a global they set that
-- a hook reads is in the run's identity). -i and -v are this process's alone.
function M.interpreter()
  local a, lo, passed = rawget(_G, "arg"), 0, {}
  if type(a) ~= "table" then return "workbench", passed end
  while a[lo - 1] ~= nil do lo = lo - 1 end
  for i = lo + 1, -1 do
    local o = a[i]
    if o == "-W" or tostring(o):match("^%-[el]") or tostring(a[i - 1]):match("^%-[el]$") then
      passed[#passed + 1] = tostring(o)
    end
  end
  local exe = lo < 0 and tostring(a[lo]) or "workbench"
  return exe:find("/", 1, true) and M.absolute(exe) or exe, passed -- on PATH: found there
end

-- The command that trains run `hash` alone: it goes to this folder first
-- and names the script (and its arguments) as this command line did, so
-- that a hook that closes over its script's path or folder (here =
-- debug.getinfo(1, "S").source ...) has the same identity in the child; a
-- child given the absolute path found another hash and failed. It works
-- from any folder (--list-runs, GNU parallel, Slurm: sh -c). root is the
-- one the command line named: with --quick the child goes to its quick
-- folder too.
function M.command_maker(script, opts, root)
  local cwd, exe, iopts = getcwd(), M.interpreter() -- its two results: one call
  return function(hash, raw)
    local parts = {"cd", util.shell_quote(cwd), "&&", util.shell_quote(exe)}
    for _, o in ipairs(iopts) do parts[#parts + 1] = util.shell_quote(o) end
    parts[#parts + 1] = util.shell_quote(script)
    local tail = {"--root", util.shell_quote(M.absolute(root)), "--run", raw and hash
      or util.shell_quote(hash), opts.fresh and "--fresh" or nil} -- --fresh: it retrains
    for _, a in ipairs(opts.script_args) do
      if a == "--" and tail then -- the options go before it: after, they are arguments
        for _, t in ipairs(tail) do parts[#parts + 1] = t end
        tail = nil
      end
      parts[#parts + 1] = util.shell_quote(a)
    end
    for _, t in ipairs(tail or {}) do parts[#parts + 1] = t end
    return table.concat(parts, " ")
  end
end

-- The command line as run ("workbench scripts/x.lua --quick"), each
-- argument shell-quoted: a record's command, and a task README's.
function M.command_line(script, argv)
  local cmd = {"workbench"}
  for _, o in ipairs(select(2, M.interpreter())) do cmd[#cmd + 1] = util.shell_quote(o) end
  cmd[#cmd + 1] = util.shell_quote(script or "?")
  for _, a in ipairs(argv or {}) do cmd[#cmd + 1] = util.shell_quote(a) end
  return table.concat(cmd, " ")
end

-- This process's own command, for the records of ex:run() from a plain
-- script ("workbench x.lua a"), from -e ("workbench -e '...'") or from the
-- REPL (no command line to give: said so); without it they had command null.
function M.this_command()
  local a = rawget(_G, "arg")
  if type(a) ~= "table" then return "workbench (no command line: embedded)" end
  if a[-1] ~= nil then return M.command_line(a[0], table.move(a, 1, #a, 1, {})) end
  if a[1] == nil then return "workbench (REPL: typed, no command line)" end
  local parts = {"workbench"}
  for i = 1, #a do parts[#parts + 1] = util.shell_quote(a[i]) end
  return table.concat(parts, " ")
end

-- The run --run names: its hash, or a unique prefix of it of at least 8 hex
-- digits (as git takes a commit's: a hash read off a table or a log line
-- is often cut short); returns the full hash (the argument itself when no
-- run matches: the caller says so), or nil and why (ambiguous, too short).
-- Too short is said whether or not a run begins with it: "no run with hash
-- 1234567" left the minimum unsaid, as if a longer prefix would not do.
M.MIN_RUN_DIGITS = 8
function M.resolve_run(want, specs)
  local found = {}
  for _, s in ipairs(specs) do
    if s.hash == want then return want end
    if s.hash:sub(1, #want) == want then found[#found + 1] = s end
  end
  if #want < M.MIN_RUN_DIGITS then
    return nil, string.format("--run %s: give at least %d hex digits of a run's hash, got "
      .. "%d (%s; --list-runs prints each run's full hash)", want, M.MIN_RUN_DIGITS, #want,
      #found == 0 and "no run's hash begins with these" or string.format("%d run%s begin%s "
      .. "with these", #found, #found == 1 and "" or "s", #found == 1 and "s" or ""))
  end
  if #found == 0 then return want end
  if #found == 1 then return found[1].hash end
  local names = {}
  for i, s in ipairs(found) do names[i] = string.format("%s (%s seed %d)", s.hash, s.variant,
    s.seed) end
  return nil, string.format("--run %s: %d runs begin with it: %s; give more digits", want,
    #found, table.concat(names, ", "))
end

-- The task options argv names ("--seeds", "--epochs=3" as "--epochs"), in
-- order, each once: a plain script's command line, which ex:run() does not
-- parse (wb/experiment.lua says so rather than train without them). Other
-- arguments are the script's own business, and are not looked at.
function M.named_in(argv)
  local out, seen = {}, {}
  for i = 1, #(argv or {}) do
    local a = argv[i]
    local name = type(a) == "string" and (a:match("^(%-%-[^=]+)=") or a)
    local opt = name and BY_NAME[name]
    if opt and not seen[opt] then seen[opt] = true; out[#out + 1] = opt[1] end
  end
  return out
end

-- Why task t cannot take opts' other arguments, or nil. Only a task that
-- declares `args` takes them (task 2's files); elsewhere `quick` for
-- `--quick` would run the full task as if nothing were said.
function M.check_rest(t, o)
  local a = o.rest[1]
  if a == nil or t.args then return nil end
  local hint = M.NAMES["--" .. a] and (" (did you mean --" .. a .. "?)") or ""
  return usage_error(string.format("unexpected argument '%s': this task takes no "
    .. "arguments%s (%s)", a, hint, M.USAGE))
end

return M
