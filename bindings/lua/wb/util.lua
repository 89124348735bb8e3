-- wb/util.lua: small helpers shared by the Lua library (tables, hashing,
-- JSON files, shell quoting, time, the task command line). Not part of the
-- public API; scripts use wb.* instead.
local _ENV = require "wb.std"
local wb = require "wb"
local cjson = require "cjson"
local args = require "wb.args"
local json = require "wb.util_json"

local M = {}

-- {==================== tables ====================

function M.copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = M.copy(x) end
  return t
end

function M.sorted_keys(t, skip)
  local keys = {}
  for k in pairs(t) do
    if not (skip and skip[k]) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Short text for a config value: 0.001 -> "0.001", 1e-4 -> "0.0001".
function M.show(v)
  if type(v) == "number" then
    if math.type(v) == "integer" or v == math.floor(v) and math.abs(v) < 1e15 then
      return string.format("%d", v)
    end
    return string.format("%.6g", v)
  elseif type(v) == "table" then
    local parts = {}
    for _, k in ipairs(M.sorted_keys(v)) do parts[#parts + 1] = k .. "=" .. M.show(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return tostring(v)
end

M.number_text = json.number_text

-- The settings of the one canonical text (M.canonical's: none; M.state_text's: STATE).
-- exact: numbers as their bits (%a; 1 and 1.0 apart), a tensor by shape, sum and norm; raw:
-- a table's own fields (next, rawget: no __pairs or __index) and its metatable's identity;
-- depth: a table past that depth, or met again (a cycle), by its identity.
local STATE = {exact = true, raw = true, depth = 6}

local function text(v, o, seen, depth)
  local t = type(v)
  if t == "number" then
    if o.exact then
      return math.type(v) == "integer" and tostring(v) or string.format("%a", v)
    end
    if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", v) end
    return string.format("%.17g", v)
  elseif t == "string" then
    return string.format("%q", v)
  elseif t == "userdata" and o.exact then
    -- a fill or copy into a tensor shows; its bytes are not hashed
    local ok, s = pcall(function()
      return string.format("T%s:%a:%a", table.concat(v:shape(), "x"), v:sum(), v:norm())
    end)
    return ok and s or tostring(v)
  elseif t ~= "table" then
    return tostring(v)
  end
  if o.depth then
    if seen[v] or depth > o.depth then return "@" .. tostring(v) end
    seen[v] = true
  end
  local keys, parts = nil, {}
  if o.raw then
    keys = {}
    for k in next, v do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return text(a, o, {}, 0) < text(b, o, {}, 0) end)
    parts[1] = tostring(getmetatable(v) or "")
  else
    keys = M.sorted_keys(v)
  end
  for _, k in ipairs(keys) do
    local x
    if o.raw then x = rawget(v, k) else x = v[k] end
    parts[#parts + 1] = text(k, o, {}, 0) .. ":" .. text(x, o, seen, depth + 1)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- A canonical text of a value: sorted keys, numbers with 17 digits, so equal
-- configs hash equal across processes. (Run identities are hashes of it: its
-- text for a value must never change, or every recorded run's would.)
function M.canonical(v) return text(v, {}, nil, 0) end

-- The content of v as text, to tell within a process whether something changed it (a
-- training, a hook's upvalue: wb/train_remeasure.lua): as M.canonical, but numbers exactly,
-- a tensor by its shape, sum and norm, a table by its own fields and its metatable, to
-- depth 6, a cycle by its first visit. Not for hashes kept across processes (identities).
function M.state_text(v) return text(v, STATE, {}, 0) end

-- FNV-1a, 64 bits, as 16 hex digits (Lua integers wrap modulo 2^64).
function M.fnv1a64(s)
  local h = -3750763034362895579 -- 0xcbf29ce484222325
  for i = 1, #s do
    h = h ~ s:byte(i)
    h = h * 1099511628211
  end
  return string.format("%016x", h)
end

-- Copy of a history/metrics table with only plain data (numbers, strings,
-- booleans, nested tables): safe to encode as JSON. NaN/inf become nil
-- (null inside lists, which stay lists).
function M.plain(v)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil end
    return v
  elseif t == "string" or t == "boolean" then
    return v
  elseif t == "table" then
    local out = {}
    for k, x in pairs(v) do
      if type(k) == "string" or type(k) == "number" then
        local p = M.plain(x)
        -- a missing or non-finite entry of a list (a step series measured on
        -- some steps only) becomes JSON null, so the list stays a list;
        -- reading turns it back into a hole (util.denull)
        if p == nil and math.type(k) == "integer" then p = cjson.null end
        out[k] = p
      end
    end
    return out
  end
  return nil
end

-- wb.args.check_keys: "fname: unknown option 'k' (valid: a, b)"; `level`
-- is error()'s level as seen by the caller.
function M.check_options(opts, valid, fname, level)
  args.check_keys(opts, valid, fname, level + 1)
end

-- }====================

-- {==================== files ====================

-- The largest integer key of list t: its length past holes (a record read
-- back has nil where the run had NaN, stored as JSON null, and # may stop
-- at any hole).
function M.maxn(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) == "integer" and k > n then n = k end
  end
  return n
end

function M.basename(p) return (p:match("[^/]*$")) end
function M.dirname(p) return p:match("^(.*)/[^/]*$") or "." end

function M.shell_quote(s)
  s = tostring(s)
  if s:match("^[%w%./_%-=:,+]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- s as the text of one Markdown table cell: a "|" split the row (a file
-- named 1_a|b.png put every value of task 2's row under the wrong header,
-- audit X16m), * _ ` ~ turned into emphasis or code, [ ] < > into links or
-- HTML, a newline ended the table; each is backslash-escaped (a newline: a
-- space). The one escaping of a cell: tasks and scripts/report.lua use it.
function M.md_cell(s)
  return (tostring(s):gsub("[\\`*_~%[%]<>|]", "\\%0"):gsub("\r?\n", " "))
end

function M.mkdir_p(path) return wb.sys.mkdir_p(path) end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Write a file atomically (temporary file + fsync + rename).
function M.write_file(path, s)
  M.mkdir_p(M.dirname(path))
  return wb.sys.write_atomic(path, s)
end

-- JSON (wb/util_json.lua): M.encode_json(v, opts), M.write_json(path, v, opts),
-- M.read_json(path), M.array(t) (a list written [] even when empty),
-- M.same_json(a, b) (tables compared by their JSON).
M.encode_json, M.write_json, M.read_json = json.encode_json, json.write_json, json.read_json
M.same_json = json.same_json
M.array, M.ARRAY = json.array, json.ARRAY

-- cjson decodes JSON null as a lightuserdata sentinel: turn it into nil
-- (in place, at every depth; wb.io._json_clean walks it in C).
function M.denull(v)
  return wb.io._json_clean(v, cjson.null)
end

function M.tail(path, n)
  local s = M.read_file(path) or ""
  local lines = {}
  for l in s:gmatch("[^\n]+") do lines[#lines + 1] = l end
  return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end

-- Whether process pid is running: it exists and is not a zombie (a killed
-- process whose parent has not reaped it yet has written its last byte).
function M.pid_alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return false end
  local stat = f:read("a") or ""
  f:close()
  local state = stat:match("%)%s+(%a)")
  return state ~= "Z" and state ~= "X"
end

-- Stops process group pgid (a runner's children, a report's task): SIGTERM,
-- then waits until none of it is left (its members stop at their next step
-- and write what they must), SIGKILL after `seconds`. The caller's exit once
-- came first, leaving trainers running after the task had said it stopped.
-- Returns true when some of it was still there then, and was killed.
function M.stop_group(pgid, seconds)
  local p = io.popen(string.format("{ kill -TERM -%d; i=0; while kill -0 -%d && [ $i -lt %d ]; "
    .. "do sleep 0.1; i=$((i+1)); done; kill -KILL -%d && echo KILLED; } 2>/dev/null", pgid, pgid,
    math.floor(seconds * 10), pgid))
  local said = p:read("a")
  p:close()
  return said:find("KILLED", 1, true) ~= nil
end

-- Remove temporary files "<name>.tmp.<pid>" (atomic writes: core/fsutil)
-- left in dir by a process that was killed: their pid is gone. A live
-- writer's temporary is left alone. Returns how many were removed.
function M.sweep_stale(dir)
  local ok, names = pcall(wb.sys.listdir, dir)
  if not ok then return 0 end
  local n = 0
  for _, name in ipairs(names) do
    local pid = name:match("%.tmp%.(%d+)$")
    if pid and not M.pid_alive(pid) then
      if os.remove(dir .. "/" .. name) then n = n + 1 end
    end
  end
  return n
end

-- The error line of a failed child's log: the executable's report of the
-- error ("workbench: ..."), else its first line that is not a traceback, a
-- progress line ("epoch 1/2 ...", written before the error) or the runner's
-- "EXIT n"; else its last lines.
function M.first_error(path)
  return M.first_error_of(M.read_file(path) or "") or M.tail(path, 3)
end

-- A new empty temporary file (kind "dir": folder) in $TMPDIR, else /tmp
-- (os.tmpname ignores TMPDIR); the caller removes it. One that cannot be
-- made is one line naming the folder and TMPDIR (73), not a traceback.
function M.tmpname(kind)
  local ok, path = pcall(wb.sys.mktemp, kind)
  if ok then return path end
  if not wb.is_error(path) then error(path, 0) end
  error(require("wb.spec").input_error(path.message, path.code), 0)
end

-- An error's first line without the library's "file.lua:123: " in front
-- (what the user did, not where in wb it was found).
function M.error_line(err)
  return (tostring(err):match("[^\n]*"):gsub("^[^:]*%.lua:%d+: ", ""))
end

-- The same, of a child's output s; nil when no line is an error's.
function M.first_error_of(s)
  local first
  for l in s:gmatch("[^\n]+") do
    if l:match("^workbench: ") then return l end
    if not (l:match("^%s") or l:match("^stack traceback") or l:match("^%[")
        or l:match("^epoch %d+/%d+") or l:match("^EXIT %d+$")) then
      first = first or l
    end
  end
  return first
end

-- }====================

-- {==================== process and environment ====================

function M.now() return wb.sys.time() end

function M.duration(s)
  if s < 60 then return string.format("%.0fs", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, math.floor(s % 60)) end
  return string.format("%dh%02dm", s // 3600, math.floor(s % 3600 / 60))
end

-- git: whether it runs (and why not), the workbench's commit and its
-- uncommitted files, a folder's git output (wb/util_git.lua)
local G = require "wb.util_git"
for _, k in ipairs{"git_found", "git_why", "low_fd_limit", "git", "git_commit", "git_changes",
  "git_uncommitted", "commit_text"} do
  M[k] = G[k]
end

-- Root folder for figures and run records: $WB_PLOTS or "plots".
function M.plots_root()
  local r = os.getenv("WB_PLOTS")
  -- set but empty (`WB_PLOTS= workbench ...`): the root was "", so files
  -- went to /runs and /<task> while the children wrote under the cwd
  if r == "" then
    error(require("wb.spec").input_error("$WB_PLOTS is set but empty: unset it (the root "
      .. "is then plots) or set it to a folder"), 0)
  end
  return r or "plots"
end

-- }====================

return M
