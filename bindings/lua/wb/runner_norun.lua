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
  local msg = string.format("%s: no run with hash %s in this task (%d runs)", ex.name, want,
    #ex.specs)
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
  if here and not ds then
    return string.format("%s; its %s says %s seed %s: other options made it (--epochs, "
      .. "--seeds...), the script has changed since it was listed, or a hook closes over a "
      .. "value that is not the same in every process (a time, a random number, $VAR)%s", msg,
      kind == "spec" and "spec file" or "record", tostring(t.variant),
      tostring(math.tointeger(t.seed) or t.seed), t.command and ("; its command: "
      .. tostring(t.command)) or "")
  end
  return string.format("%s; it is a run %s%s%s (its %s is in %s): %s", msg,
    here and "" or (kind2 == "spec" and "listed " or "recorded "),
    here and "" or (quick and "without --quick" or "with --quick"),
    ds and (here and "on " or " on ") .. tostring(ds) or "", here and kind or kind2,
    record.dir(here and root or other), table.concat(add, quick and ", " or " "))
end

return M
