-- wb/gather.lua: wb.slurm.gather, --gather DIR: the records (and their
-- weights) of a task's runs, copied from another root (GNU parallel over
-- ssh without a shared folder, a copy of a cluster's root), each checked by
-- identity and never over a different record here.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local record = require "wb.record"
local reusable = require("wb.runner_records").reusable

-- The files of run `hash` in runs folder src besides its record and spec:
-- weights, best weights, artefacts ("<task>-<hash>.<kind>.json").
local function companions(names, task, hash)
  local out, prefix = {}, task .. "-" .. hash .. "."
  for _, n in ipairs(names) do
    local ext = n:sub(1, #prefix) == prefix and n:sub(#prefix + 1)
    if ext and ext ~= "json" and ext ~= "spec" and not ext:find("%.tmp%.%d+$") then
      out[#out + 1] = n
    end
  end
  return out
end

-- The weights files record r names (final, best) that are not among the
-- names of its folder, or nil: a record here means its weights are here.
local function lacking(r, names)
  local set, out = {}, {}
  for _, n in ipairs(names) do set[n] = true end
  for _, w in ipairs{r.weights or false, r.best_weights or false} do
    if w and not set[util.basename(w)] then out[#out + 1] = util.basename(w) end
  end
  return #out > 0 and table.concat(out, ", ") or nil
end

-- The hash of file `name` when it is named as a record of task `task`, else nil.
local function record_hash(task, name)
  return name:sub(1, #task + 1) == task .. "-" and name:sub(#task + 2):match("^(%x+)%.json$")
    or nil
end

-- The provenance fields in which record `name` of runs folder src differs
-- from the record of the same run at path dest, when their results are the
-- same (wb/runner_gather_same.lua); nil when they differ or one is unreadable.
local function same_results(dest, src, name)
  local a, b = record.read(dest), record.read(src .. "/" .. name)
  return a and b and require("wb.runner_gather_same").compare(a, util.dirname(dest), b, src)
    or nil
end

-- Why record r of run s, in runs folder src, would not be reused here (as
-- wb/runner_records.lua's reusable judges one in place: no checksum, its
-- weights not the files it was written with, a file or variable its hooks
-- read not as recorded), or nil when it would be.
local function unusable(s, r, src, memo)
  if r.variant ~= s.variant or r.seed ~= s.seed then
    return string.format("it is not this run's record (it says %s seed %s)", r.variant,
      tostring(r.seed))
  end
  if r.checksum == nil then return "it has no checksum: nothing vouches for its numbers" end
  local path, why = record.weights_changed(src, r)
  if not path then path, why = require("wb.identity_reads").changed(r.read_files, memo) end
  return path and (path .. " " .. why) or nil
end

local function copy(from, to)
  local s = util.read_file(from)
  if not s then error("--gather: cannot read " .. from, 0) end
  util.write_file(to, s)
end

---wb.slurm.gather(ex, dirs, quick) -> integer
---Imports into ex's root the records of ex's runs found in each of dirs (a
---root, or its runs folder; with quick, a root's quick runs, in DIR/quick
---when there are any), with their weights and artefacts: a record is
---taken when it is well formed, its content's hash and task are those of its
---file name and it is one of ex's runs; one already here is kept (an equal
---one is counted, and so is one with the same results (history, metrics,
---weight tensors) and other provenance (commit state, timings, command,
---host), which is named; one with other results is a conflict, unless the
---one here would not be reused (torn, malformed, no checksum, its weights
---changed, its hooks' reads not as recorded): it is then replaced, said,
---unless both are well formed and neither would be reused (the one here
---kept, said; the plan trains it again)); one whose weights are not beside
---it is not taken. Prints one line per dir and one per problem;
---returns the number of problems (conflicts, malformed, mislabelled or
---weightless records). A dir that is not a folder, or that holds no record
---of ex's runs (empty, the wrong folder, a full root given with --quick),
---raises, before any import, an error naming it (exit 66).
---@param ex wb.Experiment
---@param dirs table
---@param quick? boolean
---@return integer
---Example: -- workbench scripts/task05_dropout.lua --gather /mnt/other/plots
local function gather(ex, dirs, quick)
  local by_hash = {}
  for _, s in ipairs(ex.specs) do by_hash[s.hash] = s end
  local problems, found = 0, {}
  -- every folder first: a bad one imports nothing from the others either
  for i, dir in ipairs(dirs) do
    -- --quick: the quick runs of a copied root (a runs folder is taken as it is)
    local q = dir:gsub("/+$", "") .. "/quick"
    if quick and wb.sys.exists(q .. "/runs") then dir = q end
    local src = wb.sys.exists(dir .. "/runs") and (dir .. "/runs") or dir
    local ok, names = pcall(wb.sys.listdir, src)
    if not ok then
      error(require("wb.spec").input_error(string.format("[%s] --gather %s: %s (expected "
        .. "a root copied from another machine, or its runs folder)", ex.name, dir,
        tostring(names):match(": ([^:]*)$") or tostring(names)), "ENOENT"), 0)
    end
    table.sort(names)
    found[i] = {src, names, dir}
  end
  for _, f in ipairs(found) do
    local src, names, dir = f[1], f[2], f[3]
    -- a folder with none of the runs asked for (empty, the wrong one, a full root given
    -- with --quick) imports nothing: an error, never every run trained as if not asked
    local ours, others = 0, 0
    for _, name in ipairs(names) do
      local hash = record_hash(ex.name, name)
      if hash and by_hash[hash] then ours = ours + 1 elseif hash then others = others + 1 end
    end
    if ours == 0 then
      error(require("wb.spec").input_error(string.format("[%s] --gather %s: %s holds none of "
        .. "the %d runs this command asks for (%s); nothing imported, nothing trained",
        ex.name, dir, src, #ex.specs, others > 0 and string.format("it holds %d record%s of "
        .. "task %s made with other options or another script: --quick, --epochs, --seeds, "
        .. "--dataset as there?", others, others == 1 and "" or "s", ex.name) or string.format(
        "no record of task %s in it: expected a root copied from another machine, or its runs "
        .. "folder", ex.name)), "ENOENT"), 0)
    end
  end
  for _, f in ipairs(found) do
    local src, names = f[1], f[2]
    local n = {imported = 0, here = 0, other = 0, provenance = 0, replaced = 0}
    local memo = {}
    local function problem(name, what)
      problems = problems + 1
      io.stderr:write(string.format("[%s] --gather: %s/%s: %s\n", ex.name, src, name, what))
    end
    for _, name in ipairs(names) do
      local hash = record_hash(ex.name, name)
      local r, why -- (not `hash and record.read(...)`: `and` keeps one value, not why)
      if hash then r, why = record.read(src .. "/" .. name) end
      if not hash then -- another task's file, or not a record
      elseif not r then problem(name, "not taken: " .. why)
      elseif r.hash ~= hash or r.task ~= ex.name then
        problem(name, string.format("not taken: its content is run %s of task %s", r.hash,
          r.task))
      elseif not by_hash[hash] then n.other = n.other + 1
      else
        local dest = record.path(ex.root, ex.name, hash)
        local mine, theirs = util.read_file(dest), util.read_file(src .. "/" .. name)
        local same = mine and mine ~= theirs and same_results(dest, src, name)
        -- a record here that is torn, malformed or stale is no result to keep
        -- over a valid one (audit V5: kept as a "conflict", then retrained)
        local ok_here, bad, bad_why
        if mine and mine ~= theirs and not same then
          ok_here, bad, bad_why = reusable(ex, by_hash[hash], memo)
        end
        local stale_there = bad and unusable(by_hash[hash], r, src, memo)
        if mine == theirs then n.here = n.here + 1
        elseif same then -- the same training, made elsewhere: not a conflict
          n.here, n.provenance = n.here + 1, n.provenance + 1
          io.stderr:write(string.format("[%s] --gather: %s/%s: %s seed %d: same results as "
            .. "%s, other provenance (%s); kept this one\n", ex.name, src, name, r.variant,
            r.seed, dest, #same > 0 and table.concat(same, ", ") or "the checksum"))
        elseif mine and ok_here then
          problem(name, string.format("conflict: %s seed %d is recorded here with other "
            .. "results (%s); kept this one (remove it to take the other)", r.variant, r.seed,
            dest))
        elseif mine and stale_there and record.read(dest) then
          -- neither would be reused: the plan trains it again, and says why
          io.stderr:write(string.format("[%s] --gather: %s/%s: %s seed %d: not taken, and the "
            .. "record here not reusable either (here %s %s; there %s): kept the one here, "
            .. "trained again\n", ex.name, src, name, r.variant, r.seed, bad, bad_why,
            stale_there))
          n.here = n.here + 1
        elseif lacking(r, names) then
          problem(name, string.format("not taken: its weights %s are not beside it (copy "
            .. "them too)", lacking(r, names)))
        else
          -- weights first: a record here means its files are here
          for _, c in ipairs(companions(names, ex.name, hash)) do
            copy(src .. "/" .. c, record.dir(ex.root) .. "/" .. c)
          end
          util.write_file(dest, theirs)
          n.imported = n.imported + 1
          if mine then -- not a conflict: the one here could not be used
            n.replaced = n.replaced + 1
            io.stderr:write(string.format("[%s] --gather: %s/%s: %s seed %d: imported over "
              .. "the record here, which is not reusable (%s %s)%s\n", ex.name, src, name,
              r.variant, r.seed, bad, bad_why, stale_there and string.format("; this one is "
              .. "not reusable here either (%s): trained again", stale_there) or ""))
          end
        end
      end
    end
    io.stderr:write(string.format("[%s] gathered from %s: %d imported%s, %d already here%s, "
      .. "%d of other runs left\n", ex.name, src, n.imported, n.replaced > 0
      and string.format(" (%d over a record here not reusable)", n.replaced) or "", n.here,
      n.provenance > 0 and string.format(" (%d with other provenance)", n.provenance) or "",
      n.other))
  end
  return problems
end

return gather
