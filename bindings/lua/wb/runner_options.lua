-- wb/runner_options.lua: a task's command line (wb/runner.lua's first
-- phase), checked whole before anything is planned or trained: an unknown
-- option, a bad value, an option where a value belongs (`--root --quick`)
-- or a stray argument a task does not take (`quick` for `--quick`) is an
-- error naming it (exit 64), never a default run that looks like the one
-- asked for.
local util = require "wb.util"
local slurm = require "wb.slurm"
local cockpit_run = require "wb.cockpit_run"

local M = {}

M.USAGE = "options: --dataset mnist|fashion, --seeds N, --epochs N, --quick, --jobs N, "
  .. "--fresh, --root DIR, --list-runs, --run HASH, --cockpit, --slurm, --sbatch OPTS, --detach, "
  .. "--gather DIR, --help"
M.MAX_JOBS = 256
M.NAMES = {["-h"] = true} -- every option's name
for name in M.USAGE:gmatch("%-%-[%a-]+") do M.NAMES[name] = true end

local function usage_error(msg) return setmetatable({usage = msg}, {__tostring =
  function(e) return e.usage end}) end

---wb.runner.options(argv) -> table
---Parses a task's command line: --dataset mnist|fashion, --seeds N,
-----epochs N, --quick (2000 training / 500 test rows, 2 epochs for every
---run, 1 with --epochs 1; under <root>/quick), --jobs N (1..256), --fresh,
-----root DIR, --list-runs, --run HASH, --cockpit (the first run to train
---runs here, drawing wb.cockpit), --slurm, --sbatch OPTS, --detach, --gather
---DIR (repeatable; see wb.slurm), --help; other arguments are kept in rest (task 2's files).
---script_args are the options that decide the runs, for child commands. A
---bad option raises an error object with field usage.
---@param argv table
---@return table
---Example: local o = wb.runner.options{"--quick", "--seeds", "2"}; print(o.quick, o.seeds)
function M.options(argv)
  local o = {rest = {}, script_args = {}}
  local i = 1
  local function value(name)
    i = i + 1
    if argv[i] == nil then error(usage_error("option " .. name .. " needs a value"), 0) end
    -- `--root --quick` forgot the folder: never a root named --quick, nor quick lost
    if M.NAMES[argv[i]] then
      error(usage_error(string.format("option %s needs a value, got option %s", name,
        argv[i])), 0)
    end
    return argv[i]
  end
  local function int(name, max)
    local v = value(name)
    local n = math.tointeger(tonumber(v))
    if not n or n < 1 or n > (max or math.maxinteger) then
      error(usage_error(string.format("option %s expects an integer from 1 to %s, got '%s'",
        name, max and tostring(max) or "any", v)), 0)
    end
    return n
  end
  local function keep(...) for _, a in ipairs{...} do o.script_args[#o.script_args + 1] = a end end
  while i <= #argv do
    local a = argv[i]
    if a == "--dataset" then
      o.dataset = value(a)
      if o.dataset == "fashion_mnist" then o.dataset = "fashion" end
      if o.dataset ~= "mnist" and o.dataset ~= "fashion" then
        error(usage_error("--dataset expects 'mnist' or 'fashion', got '" .. o.dataset .. "'"), 0)
      end
      keep(a, o.dataset)
    elseif a == "--seeds" then o.seeds = int(a, 1000); keep(a, tostring(o.seeds))
    elseif a == "--epochs" then o.epochs = int(a, 100000); keep(a, tostring(o.epochs))
    elseif a == "--quick" then o.quick = true; keep(a)
    elseif a == "--root" then o.root = value(a)
    elseif a == "--jobs" then o.jobs = int(a, M.MAX_JOBS)
    elseif a == "--fresh" then o.fresh = true
    elseif a == "--run" then
      o.run = value(a)
      if not o.run:match("^%x+$") then
        error(usage_error("--run expects a run's hash (hex digits), got '" .. o.run .. "'"), 0)
      end
    elseif a == "--list-runs" then o.list_runs = true
    elseif a == "--slurm" or a == "--detach" or a == "--cockpit" then o[a:sub(3)] = true
    elseif a == "--sbatch" then o.sbatch = value(a)
    elseif a == "--gather" then o.gather = o.gather or {}; o.gather[#o.gather + 1] = value(a)
    elseif a == "--help" or a == "-h" then o.help = true
    elseif a:sub(1, 1) == "-" and #a > 1 then
      error(usage_error("unknown option " .. a .. " (" .. M.USAGE .. ")"), 0)
    else
      o.rest[#o.rest + 1] = a; keep(a)
    end
    i = i + 1
  end
  local why = slurm.check_options(o) or cockpit_run.check_options(o) -- which go together
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
