-- wb/train_donor.lua: an equal finished training to adopt instead of
-- training (another task's with the same training identity, or this run's
-- own record when only its measure hook changed: re-measured on it). Part
-- of wb.train (wb/train.lua).
local _ENV = require "wb.std"
local wb = require "wb"
local record = require "wb.record"
local reads = require "wb.identity_reads"

local M = {}

local donors -- train identity -> records, read once per process and root

-- Why donor r cannot give an adopted run what training gives it, nil when
-- it can: its hooks trained on other rows than the config's (audit W17: the
-- measure hook of an adopted run gets the config's data, not the hook's, so
-- the same hash measured 2000 rows where its training saw 300), or its
-- model does not load (W18: a Lua layer, which wb.load cannot rebuild:
-- every rerun failed until --fresh). The model is returned when it loads.
local function unfit(ex, r)
  if r.train_data ~= nil then
    return "its hooks trained it on other rows than the config's, which a measure hook "
      .. "would not see"
  end
  local ok, model = pcall(wb.load, record.dir(ex.root) .. "/" .. r.weights)
  if not ok then
    return "its weights do not load as a model (" .. tostring(wb.is_error(model)
      and model.message or model):gsub("^[^:]*: ", ""):sub(1, 160) .. ")"
  end
  return nil, model
end

-- The finished trainings of ex's root by training identity, read once per
-- process and root.
local function index(ex)
  if not donors or donors.root ~= ex.root then
    donors = {root = ex.root, by = {}}
    for _, r in ipairs(wb.runs.load_all(record.dir(ex.root))) do
      -- none without a checksum: its numbers would be vouched for anew as this run's
      if r.status == "ok" and r.train_key and r.weights and not r.reused_from
          and r.checksum then
        donors.by[r.train_key] = donors.by[r.train_key] or {}
        table.insert(donors.by[r.train_key], r)
      end
    end
  end
end

-- The records spec may adopt, before the checks that load their weights;
-- and those a re-measure would not give a fresh training's numbers on, with
-- why (wb/train_remeasure.lua). memo: a table kept across calls while no hook runs (M.count's
-- runs), for the walk of the hooks' upvalues and of the globals the records name
-- (remeasure.look_up): once, not once per record or run; a new one per look-up.
local function candidates(ex, spec, memo)
  local out, refused = {}, {}
  memo = memo or {}
  local remeasure = require "wb.train_remeasure"
  for _, r in ipairs(donors.by[spec.identity.train] or {}) do
    if wb.sys.exists(record.dir(ex.root) .. "/" .. r.weights)
        and not record.weights_changed(record.dir(ex.root), r)
        and not reads.changed(r.read_files) then
      memo.look = memo.look or remeasure.look_up(ex)
      local why = remeasure.refusal(ex, r, memo.look)
      if why then refused[#refused + 1] = {r, why} else out[#out + 1] = r end
    end
  end
  return out, refused
end

local function say(ex, spec, r, why)
  io.stderr:write(string.format("[%s] run %s (%s seed %s): not measured on the recorded "
    .. "training %s-%s: %s; trained again\n", ex.name, spec.hash, tostring(spec.variant),
    tostring(spec.seed), r.task, r.hash, why))
end
M.say = say

-- How many of the runs `pending` have an equal recorded training to be
-- measured on rather than trained (the plan says so: it said "2 to train"
-- for runs only measured again), as M.find would find, but for the loading
-- of its weights.
function M.count(ex, pending)
  if ex.reuse == false then return 0 end
  index(ex)
  local n, memo = 0, {}
  for _, s in ipairs(pending) do
    if s.cacheable and #candidates(ex, s, memo) > 0 then n = n + 1 end
  end
  return n
end

-- M.find(ex, spec) -> record, model | nil: a finished run with spec's
-- training identity whose weights are there and load, its hooks' reads
-- unchanged; none with reuse = false. One that cannot be adopted is said
-- on stderr (the run trains instead).
function M.find(ex, spec)
  if ex.reuse == false or not spec.cacheable then return nil end
  index(ex)
  -- not one whose hooks read a file that has changed since (this run's own
  -- stale record among them: the runner retrains it for that reason)
  local out, refused = candidates(ex, spec)
  for _, r in ipairs(out) do
    local why, model = unfit(ex, r)
    if not why then return r, model end
    say(ex, spec, r, why)
  end
  local said = {} -- a reason of the hooks' (a shared upvalue) is every record's: once
  for _, rw in ipairs(refused) do
    if not said[rw[2]] then said[rw[2]] = true; say(ex, spec, rw[1], rw[2]) end
  end
  return nil
end

-- Forgets the records read (a test's second experiment on one root, in
-- one process, sees the first's record as a new process would).
function M.forget() donors = nil end

return M
