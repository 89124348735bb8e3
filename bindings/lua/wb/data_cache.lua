-- wb/data_cache.lua: what shows that a dataset a process caches was
-- changed in place. The standard sets are loaded once per process (wb.data)
-- and their rows cached per config (wb.data.for_config): a hook's
-- d.train.labels:set(...) or d.train.labels = y reached every later run of
-- the process (in process: ex:run(), the REPL), recorded as trained on the
-- files. Those caches keep a snapshot of the tensors they hand out and read
-- them again when it no longer matches. Not a copy: a hash of each tensor's
-- elements (wb.io._hash, about 4 ms for MNIST's 55 MB).
local _ENV = require "wb.std"
local wb = require "wb"
local M = {}

-- The tensors of a {train, test} pair of datasets as they are, and their hashes.
function M.tensors(d)
  local out = {}
  for _, split in ipairs{"train", "test"} do
    for _, field in ipairs{"images", "labels"} do
      local t = rawget(d[split], field)
      out[#out + 1] = {split = split, field = field, t = t, hash = wb.io._hash(t)}
    end
  end
  return out
end

-- What of pair d differs from M.tensors's snapshot ("train labels", "train
-- labels replaced"), or nil.
function M.changed(d, snapshot)
  for _, e in ipairs(snapshot) do
    local t = rawget(d[e.split], e.field)
    if t ~= e.t then return string.format("%s %s replaced", e.split, e.field) end
    if wb.io._hash(t) ~= e.hash then return string.format("%s %s", e.split, e.field) end
  end
  return nil
end

return M
