-- wb/runner_norun.lua: what --run HASH says when no run of the command has
-- that hash (or prefix): where a run of it is (listed or recorded with the
-- other of --quick and not, on another --dataset, by a script changed since)
-- and which option to add.
local _ENV = require "wb.std"
local wb, util, record = require "wb", require "wb.util", require "wb.record"

local M = {}

-- The first spec or record of task `name` in runs folder dir whose hash
-- begins with want, and which it is ("spec", "record"); nil when none.
local function named_run(dir, name, want)
  local ok, files = pcall(wb.sys.listdir, dir)
  if not ok then return nil end
  table.sort(files)
  for _, kind in ipairs{{"spec", "spec"}, {"json", "record"}} do
    for _, f in ipairs(files) do
      local hash = f:sub(1, #name + 1) == name .. "-"
        and f:sub(#name + 2):match("^(%x+)%." .. kind[1] .. "$")
      local t = hash and hash:sub(1, #want) == want and util.read_json(dir .. "/" .. f)
      if type(t) == "table" then return t, kind[2] end
    end
  end
end

-- The files among spec file t's sources (the script and the modules it
-- required, as its plan loaded them: wb/runner_records.lua) whose content is
-- not as then; and what differs between t and this plan's run of its variant
-- and seed (wb/runner_why.lua), as text ("" when nothing is known).
local function since(ex, t)
  local files, reads = {}, require "wb.identity_reads"
  for _, f in ipairs(type(t.sources) == "table" and t.sources or {}) do
    if type(f) == "table" and type(f.path) == "string" and type(f.id) == "string"
        and reads.file_id(f.path) ~= f.id then
      files[#files + 1] = f.path .. (wb.sys.exists(f.path) and "" or " (gone)")
    end
  end
  local diff = {}
  for _, s in ipairs(ex.specs) do
    if s.variant == t.variant and s.seed == math.tointeger(t.seed) then
      diff = require("wb.runner_why").changes(s, t)
    end
  end
  if #files > 0 then
    return string.format("; since it was listed, %s changed (%s)%s", table.concat(files, ", "),
      #files == 1 and "the script or a module it requires" or "the script or modules it "
      .. "requires", #diff > 0 and (", and with it " .. table.concat(diff, ", ")) or "")
  end
  return #diff > 0 and ("; what differs from this plan's run of that variant and seed: "
    .. table.concat(diff, ", ")) or ""
end

-- The error of --run want when no run of ex has that hash (or prefix): the
-- run it names elsewhere (listed or recorded with the other of --quick and
-- not, on another --dataset: one runs folder holds both datasets' runs; or
-- by a script that has changed since) and what to add. Without it, a quick
-- run's prefix given without --quick said only "no run with hash X". A
-- dataset missing raises wb/runner_data.lua's error instead.
function M.message(ex, want, root, other, quick)
  -- a missing dataset changes every run's hash (the data is in a run's
  -- identity): its error (exit 66), not "no run with hash", before the rest
  require("wb.runner_data")(ex, ex.specs)
  local msg = string.format("%s: no run with hash %s in this task (%d run%s)", ex.name, want,
    #ex.specs, #ex.specs == 1 and "" or "s")
  local here, kind = named_run(record.dir(root), ex.name, want)
  local there, kind2 = named_run(record.dir(other), ex.name, want)
  local t = here or there
  if not t then return msg end
  local cfg, sets = type(t.config) == "table" and t.config or {}, {}
  for _, s in ipairs(ex.specs) do sets[s.config.dataset or "mnist"] = true end
  local ds = cfg.dataset ~= nil and not sets[cfg.dataset] and cfg.dataset
  local add = {}
  if not here then add[1] = quick and "leave out --quick" or "add --quick" end
  -- the dataset this command asked for (--dataset, or the task's own), when not MNIST
  local given
  for d in pairs(sets) do if d ~= "mnist" then given = d end end
  if ds and given then -- replaced, not added: "add --dataset mnist" beside --dataset fashion
    add[#add + 1] = ds == "mnist" and ("leave out --dataset " .. given) or string.format(
      "use --dataset %s instead of --dataset %s", tostring(ds), given)
  elseif ds then
    add[#add + 1] = (#add == 1 and not quick and "" or "add ") .. "--dataset " .. tostring(ds)
  end
  local changed = here and not ds and since(ex, t)
  if changed then
    -- a file edited since it was listed (a helper, in the middle of a sweep) is named;
    -- otherwise the ways a run's hash changes between processes
    local edited = changed:find("^; since it was listed") ~= nil
    return string.format("%s; its %s says %s seed %s%s%s%s%s", msg, kind == "spec"
      and "spec file" or "record", tostring(t.variant), tostring(math.tointeger(t.seed)
      or t.seed), edited and "" or (": other options made it (--epochs, --seeds...), the "
      .. "script has changed since it was listed, or a hook closes over a value that is not "
      .. "the same in every process (a time, a random number, $VAR)"), changed, edited
      and ": its runs have other hashes now; run the task again to plan them as they are"
      or "", t.command and ("; its command: " .. tostring(t.command)) or "")
  end
  return string.format("%s; it is a run %s%s%s (its %s is in %s): %s", msg,
    here and "" or (kind2 == "spec" and "listed " or "recorded "),
    here and "" or (quick and "without --quick" or "with --quick"),
    ds and (here and "on " or " on ") .. tostring(ds) or "", here and kind or kind2,
    record.dir(here and root or other), table.concat(add, quick and ", " or " "))
end

return M
