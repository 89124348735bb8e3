-- wb/runs_warn.lua: what wb.runs.find (wb/runs_find.lua) says on stderr of
-- the runs it returns whose numbers may not be what this workbench, its data
-- and their training gave: hooks' reads changed since, other training code
-- or data, records without a checksum. Each is a line counting them; the
-- runner retrains such runs, an analysis would take their numbers as they
-- are. Private to wb.runs.find.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"
local reads = require "wb.identity_reads"

local M = {}

-- Say (one line on stderr) which of runs recs read a file, folder or
-- environment variable that is not as it was when they were recorded: the
-- runner retrains them, but an analysis in the REPL or a script would take
-- their numbers for the file as it is now. A command a hook ran cannot be
-- checked (the runner never reuses such a run): not counted.
function M.stale(recs)
  local memo, n, first = {}, 0, nil
  for _, r in ipairs(recs) do
    for _, e in ipairs(type(r.read_files) == "table" and r.read_files or {}) do
      local what, checkable = reads.entry_changed(e, memo)
      if what and checkable then
        n = n + 1
        first = first or string.format("%s %s", tostring(type(e) == "table" and e.path), what)
        break
      end
    end
  end
  if n == 0 then return end
  io.stderr:write(string.format("wb.runs.find: %d of %d runs read what is not as it was when "
    .. "they were recorded (%s%s): their numbers are of it as it was; running their task "
    .. "retrains them\n", n, #recs, first, n > 1 and ", ..." or ""))
end

-- Say (a line each on stderr) how many of runs recs were trained by other training code
-- than this workbench's (identity.code: the core as built, wb's modules, the BLAS and
-- libm) or on other data files than those found now (identity.data: $WB_DATA, a file
-- replaced): the runner retrains them, but an analysis here would take their numbers for
-- what this workbench and data give. Records without those identities are not counted.
function M.other(recs)
  local identity = require "wb.identity"
  local code, data, n_code, n_data, sets = nil, {}, 0, 0, {}
  for _, r in ipairs(recs) do
    local id = type(r.identity) == "table" and r.identity or {}
    if type(id.code) == "string" then
      code = code or identity.code()
      if id.code ~= code then n_code = n_code + 1 end
    end
    local ds = type(r.config) == "table" and r.config.dataset
    if type(id.data) == "string" and type(ds) == "string" then
      if data[ds] == nil then
        local ok, d = pcall(identity.data, ds)
        data[ds] = ok and d or false
      end
      if data[ds] and id.data ~= data[ds] then
        n_data = n_data + 1
        sets[ds] = true
      end
    end
  end
  if n_code > 0 then
    io.stderr:write(string.format("wb.runs.find: %d of %d runs were trained by other training "
      .. "code than this workbench's (the core as built, wb's modules, the BLAS or libm; "
      .. "wb.identity.code() %s): their numbers are of that code; running their task "
      .. "retrains them\n", n_code, #recs, code))
  end
  if n_data > 0 then
    local names = util.sorted_keys(sets)
    for i, ds in ipairs(names) do names[i] = ds .. " " .. wb.data._location(ds) end
    io.stderr:write(string.format("wb.runs.find: %d of %d runs were trained on other data "
      .. "files than those found now (%s; $WB_DATA or the tree's data/): their numbers are of "
      .. "those files; running their task retrains them\n", n_data, #recs,
      table.concat(names, ", ")))
  end
end

-- Say (one line on stderr) how many of runs recs have no checksum (wb.record.write): nothing
-- tells whether their numbers were edited since; the runner retrains them.
function M.unchecked(recs, dir)
  local n, first = 0, nil
  for _, r in ipairs(recs) do
    if r.checksum == nil then
      n, first = n + 1, first or (dir .. "/" .. util.basename(record.path(nil, r.task, r.hash)))
    end
  end
  if n == 0 then return end
  io.stderr:write(string.format("wb.runs.find: %d of %d runs have records without a checksum "
    .. "(%s%s; written by a workbench from before records had one, or by hand): nothing says "
    .. "their numbers were not edited since; running their task retrains them\n", n, #recs,
    first, n > 1 and ", ..." or ""))
end

-- Say (one line on stderr) how many task/variant/seed triples have more than one of runs
-- recs (each edit of a hook, a key or --epochs leaves the older records): the list holds
-- them all, in label order, so rs[1] may be an old run (tryV 4).
function M.several(recs)
  local count, n = {}, 0
  for _, r in ipairs(recs) do
    local k = util.canonical({r.task, r.variant, r.seed})
    count[k] = (count[k] or 0) + 1
    if count[k] == 2 then n = n + 1 end
  end
  if n == 0 then return end
  io.stderr:write(string.format("wb.runs.find: %d variant/seed pair%s ha%s several records "
    .. "(other identities); latest = true keeps the newest\n", n, n == 1 and "" or "s",
    n == 1 and "s" or "ve"))
end

-- Say (one line on stderr) which groups of runs recs, by their labels in the list find
-- returns (labels: wb/runs_group.lua's label_apart, nil when each is its variant), have
-- seeds trained with more than one OpenBLAS kernel: they pool as seeds of one
-- configuration (the kernel is no part of a run's identity), and a mean over them mixes
-- two kernels' rounding (wb/runs_kernels.lua).
function M.kernels(recs, labels)
  local kernels = require "wb.runs_kernels"
  local groups = kernels.groups(recs, function(r)
    return tostring(r.task) .. " " .. tostring(labels and labels[r] or r.variant)
  end)
  if #groups == 0 then return end
  io.stderr:write(string.format("wb.runs.find: %d group%s of seeds %s trained with more than "
    .. "one OpenBLAS kernel (%s), and a mean over %s mixes them: %s\n", #groups,
    #groups == 1 and "" or "s", #groups == 1 and "was" or "were", table.concat(groups, "; "),
    #groups == 1 and "it" or "each", kernels.WHY))
end

return M
