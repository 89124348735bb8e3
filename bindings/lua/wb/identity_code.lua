-- wb/identity_code.lua: wb.identity.code, the version of the training
-- code that is part of every run's identity (wb/identity.lua): which of the
-- library's Lua modules can change what a run trains or measures.
local _ENV = require "wb.std"
local wb, util = require "wb", require "wb.util"
local reads = require "wb.identity_reads"

local M = {}

-- Lua modules that only present runs (figures, tables, help, the REPL,
-- the runner's bookkeeping): editing them retrains nothing. Every other
-- module under wb/ can decide what a run trains or measures (a hook may
-- call any of them), so its source is part of the code version: the lab
-- bench's (wb.stats of a model) and the statistics' (wb.welch) too, which
-- a measure hook may compute its numbers with (they were outside it: an
-- edit there left such runs' measures as the old code made them).
M.presentation_modules = {"wb/plot", "wb/help", "wb/repl.lua", "wb/pretty.lua",
  "wb/runs.lua", "wb/runs_", "wb/run.lua", "wb/compare.lua", "wb/task.lua", "wb/task_",
  "wb/runner.lua", "wb/runner_", "wb/cockpit_run.lua", "wb/record.lua",
  "wb/nn_summary.lua", "wb/slurm", "wb/gather.lua"}

local function presentation(rel)
  for _, p in ipairs(M.presentation_modules) do
    if rel:sub(1, #p) == p then return true end
  end
  return false
end

-- Every Lua file under dir (relative names, sorted).
local function lua_files(root, rel, out)
  local ok, names = pcall(wb.sys.listdir, root .. "/" .. rel)
  if not ok then return out end
  for _, n in ipairs(names) do
    local r = rel .. "/" .. n
    if n:match("%.lua$") then out[#out + 1] = r
    elseif not n:find("%.") then lua_files(root, r, out) end
  end
  return out
end

-- The shared libraries this process computes numbers with besides its own code, as
-- "kind\0content id" sorted (kind: blas, libm): the BLAS (another OpenBLAS, or its pthread / OpenMP / serial
-- flavour chosen by update-alternatives, or a reference BLAS: other sums) and libm (a glibc
-- with other expf, logf), found among the files mapped into this process (/proc/self/maps).
-- Not the kernel OpenBLAS picks for this CPU as it starts (wb.sys.blas_core, in every
-- record): the machines of one sweep may differ in it, and each plans the same hashes.
function M.numeric_libs()
  local f = io.open("/proc/self/maps", "r")
  if not f then return {} end
  local set, out = {}, {}
  for line in f:lines() do
    local path = line:match("%s(/%S+)$")
    local name = path and path:match("[^/]+$")
    local kind = name and (name:match("^lib%w*blas") and "blas" or name:match("^libm[%.%-]")
      and "libm")
    if kind then set[path] = kind end
  end
  f:close()
  -- by kind and content: the same library at another path or name is the same
  for path, kind in pairs(set) do out[#out + 1] = kind .. "\0" .. reads.file_id(path) end
  table.sort(out)
  return out
end

local code_id
---wb.identity.code() -> string
---The version of the training code: 16 hex digits over the workbench
---version, the build id of the C sources a run can reach (the core and the
---bindings, hashed by the Makefile with the compiler, its version and the
---compile and link flags: a rebuild with -O0 or -ffast-math is other code),
---the BLAS and libm this process runs on (by content) and the source of
---every Lua module of the library except those that only present runs
---(wb.identity.presentation_modules). Part of every run's identity.
---@return string
---Example: print(wb.identity.code())
function M.code()
  if code_id then return code_id end
  local parts = {wb.version, wb.core_id or ""}
  for _, lib in ipairs(M.numeric_libs()) do parts[#parts + 1] = lib end
  local files = lua_files(wb.luadir, "wb", {})
  table.sort(files)
  for _, rel in ipairs(files) do
    if not presentation(rel) then
      local src = util.read_file(wb.luadir .. "/" .. rel)
      if not src then error("wb.identity: cannot read " .. wb.luadir .. "/" .. rel, 2) end
      parts[#parts + 1] = rel .. "\0" .. src
    end
  end
  code_id = util.fnv1a64(table.concat(parts, "\0"))
  return code_id
end

return M
