-- wb/runs_same.lua: variants whose configs differ but whose runs trained the
-- same, seed for seed (bit-identical losses). A key declared for a build
-- hook that replaces the default model, and then applied by no hook,
-- changes nothing: a new user's vary = {dropout = {0, 0.5}} trained two
-- identical runs, and the README's table and wb.compare ranked them
-- ("not decided by the seeds: difference +0.00") without a word (tryI 1).
-- Variants that are one training by identity (--quick over a varied epochs)
-- are wb.compare's same_training, not this. Read by wb.compare and by a
-- task's README (wb/task_readme.lua).
local _ENV = require "wb.std"
local util = require "wb.util"
local args = require "wb.args"

local M = {}

local function same_list(a, b)
  if type(a) ~= "table" or type(b) ~= "table" or #a ~= #b or #a == 0 then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

-- Whether finished records ra and rb trained the same: every epoch's loss
-- and val_loss, and the test loss, equal to the bit.
local function identical(ra, rb)
  local ha, hb = ra.history, rb.history
  if type(ha) ~= "table" or type(hb) ~= "table" or ra.status ~= "ok" or rb.status ~= "ok" then
    return false
  end
  local ma, mb = type(ra.metrics) == "table" and ra.metrics or {},
    type(rb.metrics) == "table" and rb.metrics or {}
  return same_list(ha.loss, hb.loss) and (ha.val_loss == nil and hb.val_loss == nil
    or same_list(ha.val_loss, hb.val_loss)) and rawget(ma, "test_loss") ~= nil
    and rawget(ma, "test_loss") == rawget(mb, "test_loss")
end
-- seeds of one variant that trained the same (wb/runs_copies.lua): this test
M.identical = identical

-- Keys that watch a training and never change it (instruments: a history
-- with them is bit-identical to one without, tested): runs that differ only
-- in them train the same by design.
local WATCH = {seed = true, instruments = true, every = true, log_every = true}

-- The config keys records ra and rb differ in, sorted (WATCH's left out).
local function differing(ra, rb)
  local ca, cb = type(ra.config) == "table" and ra.config or {},
    type(rb.config) == "table" and rb.config or {}
  local keys, seen = {}, {}
  for _, c in ipairs{ca, cb} do
    for k in pairs(c) do
      if not seen[k] and not WATCH[k] then
        seen[k] = true
        if not util.same_json(ca[k], cb[k]) then keys[#keys + 1] = tostring(k) end
      end
    end
  end
  table.sort(keys)
  return keys
end

---wb.runs.same_histories(runs, a, b) -> string[]|nil
---When variants a and b of runs (a wb.Runs) differ in their configs but
---trained the same in every seed they share (bit-identical losses, at least
---one seed): the config keys they differ in, which then changed nothing of
---the training (a key a build hook must apply, or one only a measure hook
---reads); else nil. wb.compare does not compare such variants, and a
---task's README says so.
---@param runs wb.Runs
---@param a string
---@param b string
---@return string[]|nil
---Example: print(wb.runs.same_histories(runs, "dropout=0", "dropout=0.5"))
function M.same_histories(runs, a, b)
  args.check("same_histories", 1, runs, "wb.Runs")
  args.check("same_histories", 2, a, "string")
  args.check("same_histories", 3, b, "string")
  local by_seed, shared, keys = {}, 0, nil
  for _, r in ipairs(runs:of(a)) do by_seed[r.seed] = r end
  for _, r in ipairs(runs:of(b)) do
    local o = by_seed[r.seed]
    if o then
      -- one training by identity (--quick's epochs, task 4's patiences on
      -- task 3's runs): wb.compare's same_training says why, not this
      if not identical(o, r) or (o.train_key ~= nil and o.train_key == r.train_key) then
        return nil
      end
      shared = shared + 1
      keys = keys or differing(o, r)
    end
  end
  return shared > 0 and keys and #keys > 0 and keys or nil
end

-- The README's lines: each pair of variants that trained the same.
function M.lines(runs)
  local out, vs = {}, runs:variants()
  for i = 1, #vs do
    for j = i + 1, #vs do
      local keys = M.same_histories(runs, vs[i], vs[j])
      if keys then
        out[#out + 1] = string.format("- %s and %s trained the same, seed for seed "
          .. "(bit-identical losses), though their configs differ in %s: it changes nothing "
          .. "of the training (with a build hook, the default model's keys do nothing unless "
          .. "the hook applies them)", vs[i], vs[j], table.concat(keys, ", "))
      end
    end
  end
  return out
end

return M
