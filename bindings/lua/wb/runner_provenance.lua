-- wb/runner_provenance.lua: parts of a task README's provenance paragraph
-- (wb/task.lua), from the records of its runs: which are copies of another
-- task's identical training, how many runs trained at once when they were
-- timed, and what their hooks read besides the config (files, environment
-- variables: read_files, wb/identity_reads.lua), which exports name too;
-- and whether this binary's C sources are its tree's (M.core_sources), which
-- the git fields of every record assume.
local _ENV = require "wb.std"
local wb = require "wb"

local M = {}

-- " (M of them copies of an identical training in T: ...)" for the records
-- `recs` that are a copy of another task's training (reused_from): their
-- numbers are that training's, it was not done again.
function M.copies(recs)
  local n, from, seen = 0, {}, {}
  for _, r in ipairs(recs) do
    if r.reused_from then
      n = n + 1
      local t = tostring(r.reused_from):match("^(.*)%-%x+$") or tostring(r.reused_from)
      if not seen[t] then seen[t] = true; from[#from + 1] = t end
    end
  end
  if n == 0 then return "" end
  return string.format(" (%d of them %s of an identical training in %s: same numbers, not "
    .. "trained again)", n, n == 1 and "a copy" or "copies", table.concat(from, ", "))
end

-- " (2 of them resumed ...)": the runs of recs this command finished from a stopped
-- training's saved state, not trained from the start (tryR 5: "4 trained by this command"
-- counted them with the runs trained whole).
function M.resumed(recs)
  local n, after = 0, {}
  for _, r in ipairs(recs) do
    local e = math.tointeger(r.resumed_after_epoch)
    if e and e > 0 then n = n + 1; after[#after + 1] = e end
  end
  if n == 0 then return "" end
  table.sort(after)
  return string.format(" (%d of them resumed from a stopped training's saved state, after "
    .. "epoch %s)", n, after[1] == after[#after] and tostring(after[1])
    or (after[1] .. " to " .. after[#after]))
end

-- How many runs trained at once when these were timed (seconds per epoch
-- depend on it): the records' concurrent_jobs and cores (wb/train.lua).
function M.timing(recs)
  local j, cores, seen, unknown = 0, {}, {}, 0
  for _, r in ipairs(recs) do
    local n = math.tointeger(r.concurrent_jobs) -- JSON may read 2 back as 2.0
    if n then
      j = math.max(j, n)
      local c = tostring(r.cores or "?")
      if not seen[c] then seen[c] = true; cores[#cores + 1] = c end
    else unknown = unknown + 1 end
  end
  if #recs == 0 then return "" end
  if j == 0 then
    return " Timings: how many runs trained at once (they share the cores) is not recorded."
  end
  return string.format(" Timings (seconds per epoch and the like) measured with up to %d "
    .. "run%s training at once on %s cores%s.", j, j == 1 and "" or "s",
    table.concat(cores, " or "), unknown > 0 and string.format(" (%d run%s: not recorded)",
    unknown, unknown == 1 and "" or "s") or "")
end

-- Path p as the README names it: relative to the current folder when under
-- it (where the command in the header ran), else as it is.
local function shown_path(p)
  local cwd = require("wb.runner_options").absolute(".")
  cwd = cwd:gsub("/%.$", "")
  if p:sub(1, #cwd + 1) == cwd .. "/" then return p:sub(#cwd + 2) end
  return p
end

-- The text of read_files entry e: "$SCALE=2", "$SCALE unset", "fac.txt
-- (xxh128 1a2b3c4d)" (the first 8 hex digits of its content id, XXH3-128:
-- xxhsum -H2), "fac.txt (absent)", "folder data (names 1a2b3c4d)", "command
-- io.popen(\"date\")", "module \"cfg\" (from package.preload, no file)";
-- paths as they are when absolute (an export, read from anywhere), else
-- relative to the current folder when under it.
function M.read_text(e, absolute)
  local shown_path = absolute and function(p) return p end or shown_path
  if type(e) ~= "table" or type(e.path) ~= "string" then return "?" end
  local reads = require "wb.identity_reads"
  local kind, id = reads.kind(e), tostring(e.id)
  if kind == "env" then
    if id == "env:unset" then return e.path .. " unset" end
    if type(e.value) == "string" then return e.path .. "=" .. e.value end
    return e.path .. (reads.secret_name(e.path:sub(2)) and " (set; its value is not kept: "
      .. "the name of a secret)" or " (set; its value was not recorded: an older record)")
  elseif kind == "command" then
    return "command " .. e.path
  elseif kind == "arg" then
    return "the command line (arg)"
  elseif kind == "clock" then -- never reused: the value is of its moment (wb/identity_reads_sys.lua)
    return e.path .. " (the clock, the process id or its peak memory" .. (e.value ~= nil
      and ", read at " .. tostring(e.value) or "") .. ")"
  elseif kind == "module" then -- no file holds it (wb/identity_require.lua)
    return string.format("module %s (from %s, no file)", (e.path:gsub("^require ", "", 1)),
      id:sub(8))
  elseif kind == "listing" then
    return string.format("folder %s (names %s)", shown_path(e.path), id:sub(7, 14))
  elseif kind == "runs" then -- the records a query answered (wb/identity_reads_runs.lua)
    local n, query, dir = 0, e.path:match("^(.-) in (/.*)$")
    for _ in pairs(type(e.found.records) == "table" and e.found.records or {}) do n = n + 1 end
    return string.format("%s (%d record%s)", query and (query .. " in " .. shown_path(dir))
      or e.path, n, n == 1 and "" or "s")
  elseif kind == "device" then -- never reused (wb/identity_reads_sys.lua)
    return e.path .. " (a device: other bytes at every read, never reused)"
  end
  return string.format("%s (%s)", shown_path(e.path), id == "absent" and "absent"
    or "xxh128 " .. id:sub(1, 8))
end

-- The texts of what the hooks of records `recs` read (their read_files),
-- each once, in the order first read; a path read as different contents by
-- different runs has each text with its count ("fac.txt (xxh128 1a2b3c4d)
-- in 2 runs").
function M.reads_of(recs)
  local order, texts = {}, {}
  for _, r in ipairs(recs) do
    for _, e in ipairs(type(r.read_files) == "table" and r.read_files or {}) do
      local p = type(e) == "table" and tostring(e.path) or "?"
      if not texts[p] then texts[p] = {order = {}, n = {}}; order[#order + 1] = p end
      local t, text = texts[p], M.read_text(e)
      if not t.n[text] then t.order[#t.order + 1] = text end
      t.n[text] = (t.n[text] or 0) + 1
    end
  end
  local out = {}
  for _, p in ipairs(order) do
    local t = texts[p]
    for _, text in ipairs(t.order) do
      out[#out + 1] = #t.order == 1 and text or string.format("%s in %d run%s", text, t.n[text],
        t.n[text] == 1 and "" or "s")
    end
  end
  return out
end

-- " Hooks read: $SCALE=2; fac.txt (xxh128 1a2b3c4d)." (the first `max`, then
-- how many more runs.json lists) for records `recs`; "" when they read none.
function M.hooks_read(recs, max)
  local all = M.reads_of(recs)
  if #all == 0 then return "" end
  max = max or 12
  local more = #all > max and string.format(" and %d more (runs.json: hooks_read)",
    #all - max) or ""
  return " Hooks read: " .. table.concat(all, "; ", 1, math.min(#all, max)) .. more .. "."
end

-- {==================== the binary's C sources and its tree ====================

-- The files of tree t that the Makefile's ID_SRC matches (core/*.c core/*.h
-- bindings/l_*.c bindings/lwb.c bindings/lwb.h bindings/wb.c), as a set.
local function id_files(t)
  local out = {}
  local function add(sub, keep)
    local ok, names = pcall(wb.sys.listdir, t .. "/" .. sub)
    for _, n in ipairs(ok and names or {}) do
      if n:sub(1, 1) ~= "." and keep(n) then out[sub .. "/" .. n] = true end
    end
  end
  add("core", function(n) return n:match("%.[ch]$") end)
  add("bindings", function(n)
    return n:match("^l_.*%.c$") or n == "lwb.c" or n == "lwb.h" or n == "wb.c"
  end)
  return out
end

-- M.core_sources() -> {tree = dir|nil, differ = {paths}|nil}: the source tree this
-- binary's Lua library is in (wb.luadir is <tree>/bindings/lua and it has core/; nil
-- when the binary runs without one, installed), and its files whose `cksum` is not the
-- one the binary was built from (wb.core_files), "(new)" or "(not in the tree)" for one
-- only on one side. The records' git fields name the tree's commit and uncommitted
-- files: beside numbers of a binary built before an edit (or after one, then edited
-- back) they named code that did not compute them (tryL 4). Once a process.
local checked
function M.core_sources()
  if checked then return checked end
  local t = wb.luadir:match("^(.*)/bindings/lua$")
  local built = rawget(wb, "core_files")
  if not t or wb.sys.kind(t .. "/core") ~= "folder" or type(built) ~= "string" then
    checked = {}
    return checked
  end
  local have, differ, seen = id_files(t), {}, {}
  for crc, size, path in built:gmatch("(%d+) (%d+) ([^\n]+)") do
    seen[path] = true
    local c, n = wb.sys._cksum(t .. "/" .. path)
    if not have[path] then differ[#differ + 1] = path .. " (not in the tree)"
    elseif c ~= tonumber(crc) or n ~= tonumber(size) then
      differ[#differ + 1] = path
    end
  end
  for path in pairs(have) do if not seen[path] then differ[#differ + 1] = path .. " (new)" end end
  table.sort(differ)
  checked = {tree = t, differ = #differ > 0 and differ or nil}
  return checked
end

-- Why this binary must not train here (nil when it may): it was built from other C
-- sources than its tree holds, so its numbers are not the tree's commit's.
function M.core_refusal()
  local src = M.core_sources()
  if not src.differ then return nil end
  local shown = {table.unpack(src.differ, 1, math.min(#src.differ, 5))}
  return string.format("this workbench binary was built from other C sources than %s holds "
    .. "(%s%s): its numbers would be recorded beside the tree's commit, which does not give "
    .. "them; run make in %s (or check out the sources it was built from)", src.tree,
    table.concat(shown, ", "), #src.differ > 5 and string.format(" and %d more",
    #src.differ - 5) or "", src.tree)
end

return M
