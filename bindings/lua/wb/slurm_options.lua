-- wb/slurm_options.lua: wb.slurm.check_options, what --slurm, --sbatch,
-- --detach and --gather may be given (before anything is planned or
-- submitted).
local _ENV = require "wb.std"

local M = {}

-- sbatch options the array itself sets: given in --sbatch they would break
-- the mapping from elements to runs, the wait or the logs (--open-mode=append:
-- a requeued element's attempt goes after the earlier one's lines).
M.RESERVED = {"--array", "-a", "--output", "-o", "--error", "-e", "--wait", "-W",
  "--parsable", "--wrap", "--open-mode"}

-- sbatch options asking for several processes (an element runs one) or
-- CPUs (a run trains on one BLAS thread, wb/train.lua: its numbers must
-- not depend on the thread count)
local MANY = {["--ntasks"] = "process", ["-n"] = "process", ["--nodes"] = "process",
  ["-N"] = "process", ["--ntasks-per-node"] = "process", ["--cpus-per-task"] = "CPU",
  ["-c"] = "CPU"}

-- sbatch's environment variables for them (sbatch reads them as options)
local RESERVED_ENV = {{"SBATCH_ARRAY_INX", "--array"}, {"SBATCH_OUTPUT", "--output"},
  {"SBATCH_ERROR", "--error"}, {"SBATCH_WAIT", "--wait"},
  {"SBATCH_OPEN_MODE", "--open-mode"}}

-- sbatch's short options that take no value: in a bundle (-vW) the letters
-- after one of them are more options, after any other its value (-pdebug).
local FLAGS = {h = true, H = true, I = true, k = true, O = true, Q = true, s = true,
  v = true, V = true, W = true}

-- word as the options getopt reads in it: "-vW" -> {"-v", "-W"}, "-Hc4" ->
-- {"-H", "-c4"}; any other word as it is (audit V4: -vW passed the check,
-- and --detach waited for the array).
local function unbundled(word)
  local letters = word:match("^%-(%a%w+)$")
  if not letters then return {word} end
  local out, i = {}, 1
  while i <= #letters do
    local c = letters:sub(i, i)
    if not FLAGS[c] then out[#out + 1] = "-" .. letters:sub(i); break end
    out[#out + 1] = "-" .. c
    i = i + 1
  end
  return out
end

-- The first shell operator character of text outside quotes (OPTS goes to
-- sh -c: --constraint=intel&avx ran 'avx' as a command), or nil.
local function unquoted_operator(text)
  local q
  for i = 1, #text do
    local c = text:sub(i, i)
    if q then
      if c == q then q = nil end
    elseif c == "'" or c == '"' then
      q = c
    elseif c == "\\" then
      return nil -- an escape: the shell's own business past here
    elseif c:find("[&|;<>`()]") then
      return c
    end
  end
  return nil
end

---wb.slurm.check_options(opts) -> string | nil
---Why a parsed command line's --slurm, --sbatch, --detach and --gather
---options do not go together (nil when they do): --sbatch and --detach need
-----slurm; --slurm and --gather train or import, so not with --run or
-----list-runs; --jobs is for local processes; --sbatch may not set the
---options the array sets itself (M.RESERVED, or their starts), nor may
---sbatch's variables for them be set with --slurm (SBATCH_OUTPUT, ...).
---@param opts table
---@return string|nil
---Example: print(wb.slurm.check_options{sbatch = "--time=5"})
function M.check_options(o)
  if o.sbatch and not o.slurm then return "--sbatch passes options to sbatch: it needs --slurm" end
  if o.detach and not o.slurm then return "--detach leaves a Slurm job array: it needs --slurm" end
  for _, x in ipairs{"slurm", "gather"} do
    for _, y in ipairs{"run", "list_runs"} do
      if o[x] and o[y] then
        return string.format("--%s does not go with --%s", x, (y:gsub("_", "-")))
      end
    end
  end
  if o.slurm and o.jobs then
    return "--jobs is the number of local processes; with --slurm, Slurm places the runs, "
      .. "one CPU each (give it --sbatch \"--time=...\" and the like)"
  end
  for _, e in ipairs(RESERVED_ENV) do
    -- SBATCH_WAIT made --detach wait; SBATCH_ERROR took errors out of the logs
    local v = e[1]
    if o.slurm and os.getenv(v) then
      return string.format("--slurm: %s=%s is set: sbatch reads it as %s, which workbench "
        .. "sets itself (one array element per run, its log, the wait); unset it for this "
        .. "command (env -u %s workbench ...)", v, os.getenv(v), e[2], v)
    end
  end
  local shell = unquoted_operator(o.sbatch or "")
  if shell then
    return string.format("--sbatch: OPTS is shell text, and an unquoted '%s' would end or "
      .. "redirect the sbatch command there; quote the value that holds it "
      .. "(--constraint='intel&avx')", shell)
  end
  local words = {}
  for word in (o.sbatch or ""):gmatch("%S+") do
    -- short options bundled (-vW is -v -W) are checked one by one
    for _, w in ipairs(unbundled(word)) do words[#words + 1] = w end
  end
  for i, word in ipairs(words) do
    local name = word:match("^(%-%-?[%w%-]+)")
    -- an element runs its run as one process: more were allocated and idle
    local inline = MANY[name] and word:match("=(.*)$")
      or MANY[word:sub(1, 2)] and #word > 2 and word:sub(3)
    local many = inline or MANY[name] and words[i + 1]
    if many and many ~= "1" and many ~= "1-1" then
      local what = inline and word or (word .. " " .. many)
      if (MANY[name] or MANY[word:sub(1, 2)]) == "CPU" then
        return string.format("--sbatch: %s asks for more than one CPU, but a run trains on "
          .. "one BLAS thread, whatever the CPUs (more threads sum in another order: other "
          .. "numbers under the same run), so the others would sit idle; leave it out", what)
      end
      return string.format("--sbatch: %s asks for more than one process, but an array "
        .. "element trains its run as one process on one CPU (the others would sit idle); "
        .. "leave it out", what)
    end
    for _, r in ipairs(M.RESERVED) do
      -- sbatch takes the start of a long option for it (--out=F: --output),
      -- which was let through: ignored, or a log without its errors
      local start = name and name ~= r and #name > 2 and name:sub(1, 2) == "--"
        and r:sub(1, #name) == name
      if name == r or start or (#r == 2 and word:sub(1, 2) == r) then
        return string.format("--sbatch: %s%s is set by workbench (one array element per run, "
          .. "its log, the wait); leave it out", word, start and (" (sbatch reads " .. r .. ")")
          or "")
      end
    end
  end
  return nil
end

return M
