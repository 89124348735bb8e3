-- wb/data_cache.lua: wb.data.for_config, the datasets of a run's config
-- (its dataset and subset checked as wb.experiment checks them: one check,
-- wb/spec_keys.lua), cached per config; and what shows that a dataset a
-- process caches was changed in place. The standard sets are loaded once
-- per process (wb.data) and their rows cached per config: a hook's
-- d.train.labels:set(...) or d.train.labels = y reached every later run of
-- the process (in process: ex:run(), the REPL), recorded as trained on the
-- files. Those caches keep a snapshot of the tensors they hand out and read
-- them again when it no longer matches. Not a copy: a hash of each tensor's
-- elements (wb.io._hash, about 4 ms for MNIST's 55 MB).
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local args = require "wb.args"
local K = require "wb.spec_keys"
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

-- {==================== wb.data.for_config ====================

-- cfg's dataset and subset as wb.experiment takes them (K.train's checks,
-- K.subset_rows), else an error at for_config's caller: a misspelt key
-- ({trian = 5}) gave all the rows, more than the set has the whole set, 0
-- an empty training set. n_rows: the loaded set's rows (nil: before loading).
local function check_cfg(cfg, n_rows)
  for _, k in ipairs{"dataset", "subset"} do
    local v = cfg[k]
    local why = (v ~= nil or k == "dataset") and K.train[k](v)
    if why then
      args.input_fail(string.format("for_config: cfg.%s: expected %s, got %s", k, why,
        v == nil and "nothing (it is missing)" or type(v) == "string" and
        string.format("string %q", v) or type(v) .. " " .. util.show(v)), 3)
    end
  end
  local why = K.subset_rows(cfg.subset, n_rows, cfg.dataset)
  if why then args.input_fail("for_config: cfg." .. why, 3) end
end

local data_cache = {}
---wb.data.for_config(cfg) -> table
---The datasets {train, test} of a run's config: cfg.dataset ("mnist" or
---"fashion") and, when cfg.subset = {train = n, test = n}, its first rows
---(--quick runs). Cached per process; run:data() uses it, so a run is
---evaluated on the rows it was tested on. dataset and subset are checked
---as wb.experiment checks them: an unknown key of subset, a count that is
---not a positive integer or more rows than the set has is an error.
---@param cfg table
---@return table
---Example: local d = wb.data.for_config{dataset = "mnist", subset = {test = 500}}
function wb.data.for_config(cfg)
  args.check("for_config", 1, cfg, "table")
  check_cfg(cfg)
  local key = cfg.dataset .. ":" .. util.canonical(cfg.subset or {})
  local d = data_cache[key]
  -- rows a hook changed in place (or replaced) are read again
  local changed = d and M.changed(d, d.loaded)
  if changed then data_cache = {} end
  if not d or changed then
    d = wb.data.load(cfg.dataset)
    check_cfg(cfg, {train = #d.train, test = #d.test})
    if cfg.subset then
      d = {train = d.train:subset(1, cfg.subset.train or #d.train),
           test = d.test:subset(1, cfg.subset.test or #d.test)}
    end
    d = {train = d.train, test = d.test, loaded = M.tensors(d)}
    data_cache[key] = d
  end
  -- the datasets cached, the pair a new one each call (strict, as wb.data.mnist()'s): a
  -- hook's d.train = d.train:subset(...) reached every later run of the process
  return wb.data._pair("wb.data.for_config()", d.train, d.test)
end

-- }====================

-- Tensor t as IDX file path holds it, for a message of wb.data's: "int8 [10000] (IDX type
-- 0x09, read as float32)". wb.data.idx reads every type but uint8 as float32: "got float32"
-- named no type the file has (audit X16e). A gzip file's type byte is compressed: unnamed.
local IDX_TYPES = {[8] = "uint8", [9] = "int8", [11] = "int16", [12] = "int32",
  [13] = "float32", [14] = "float64"}
function M.idx_kind(path, t)
  local shape = "[" .. table.concat(t:shape(), ", ") .. "]"
  local f = io.open(path, "rb")
  local head = f and f:read(4)
  if f then f:close() end
  local ty = head and #head == 4 and head:sub(1, 2) == "\0\0" and head:byte(3)
  if not ty or ty == 8 then
    return string.format("%s %s%s", t:dtype(), shape, t:dtype() == "uint8" and "" or
      " (as wb.data.idx reads a file of another type than uint8)")
  end
  return string.format("%s %s (IDX type 0x%02x, read as %s)", IDX_TYPES[ty] or "unknown",
    shape, ty, t:dtype())
end

-- {==================== the published files ====================

-- The files of the published sets, by their size and XXH3-128 (wb.sys.hash_file), as
-- wb.identity.data hashes them; "identity" is what it gives for the four. A damaged or
-- other copy with a valid layout (a flipped label, a partial download of the right size,
-- another $WB_DATA) trained and was reported as "mnist" without a word (audit X13).
-- MNIST's: computed from data/mnist after `make data` checked the files' SHA-256 against
-- DATA.md (sha256sum gave DATA.md's four sums). Fashion-MNIST's: DATA.md lists no
-- checksum; computed from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1 as
-- installed, whose files dpkg's md5sums vouch for.
M.PUBLISHED = {
  mnist = {title = "MNIST", source = "DATA.md", identity = "d3391accbb6ed050", files = {
    ["train-images-idx3-ubyte"] = "47040016:e12946a8ab9bd74359bf22c057c52478",
    ["train-labels-idx1-ubyte"] = "60008:81c6f5433a9d34628839fd1c4bb36825",
    ["t10k-images-idx3-ubyte"] = "7840016:a912d49f199ea2d36aa8aa9c0102c17c",
    ["t10k-labels-idx1-ubyte"] = "10008:507d8d921945ef3663c4bd8be7e7204f"}},
  fashion = {title = "Fashion-MNIST", source = "Debian's dataset-fashion-mnist",
    identity = "c697c8edd5c6303b", files = {
    ["train-images-idx3-ubyte.gz"] = "26421856:b400e059040c764e0f525c43a2e906d3",
    ["train-labels-idx1-ubyte.gz"] = "29491:52202c516aeeda56f338309ca07c7807",
    ["t10k-images-idx3-ubyte.gz"] = "4422079:68143dfaf0c9fe805acc4a4ac1fef547",
    ["t10k-labels-idx1-ubyte.gz"] = "5125:469a9828a6e199112aed4d6b5f4d274a"}},
}
M.PUBLISHED.fashion_mnist = M.PUBLISHED.fashion

-- Whether identity id (wb.identity.data(name)) is that of the published files of standard
-- set name: no file is read (the identity is computed anyway).
function M.published(name, id)
  local p = M.PUBLISHED[name or "mnist"]
  return p ~= nil and p.identity == id
end

-- Whether standard set name is read gzipped where only its plain files' checksums are
-- listed (MNIST as LeCun's site ships it): its files cannot be compared with the
-- published ones, and were "other data" when they may well be the same.
local function unchecked_gz(name, p)
  local _, suffix = wb.data._location(name)
  return suffix ~= "" and p.files["t10k-labels-idx1-ubyte" .. suffix] == nil
end

-- For a task README's Data files: "" when identity id is the published files' of set name,
-- else what they are not.
function M.files_note(name, id)
  local p = M.PUBLISHED[name or "mnist"]
  if not p or M.published(name, id) then return "" end
  if unchecked_gz(name or "mnist", p) then
    return string.format(" (gzip-compressed: not checked against the published %s (%s), "
      .. "whose checksums are of the plain files)", p.title, p.source)
  end
  return string.format(" (**not the published %s (%s): results are of other data**)",
    p.title, p.source)
end

-- nil when standard set name's files are the published ones, else one line naming the
-- folder and the files that differ ("... is not the published MNIST (DATA.md): ...").
-- Reads the files again only when their identity is not the published one.
function M.unpublished_note(name)
  name = name or "mnist"
  local p = M.PUBLISHED[name]
  if not p or M.published(name, (require("wb.identity").data(name))) then return nil end
  if unchecked_gz(name, p) then
    return string.format("%s in %s is gzip-compressed: not checked against the published %s "
      .. "(%s lists the plain files' checksums: gunzip them to have them checked)", name,
      (wb.data._location(name)), p.title, p.source)
  end
  local differ = {}
  for _, path in ipairs(wb.data._files(name)) do
    local base = path:match("[^/]+$")
    local f = io.open(path, "rb")
    local size = f and f:seek("end")
    if f then f:close() end
    local h = size and wb.sys.hash_file(path)
    if not h or string.format("%d:%s", size, h) ~= p.files[base] then
      differ[#differ + 1] = base
    end
  end
  return string.format("%s in %s is not the published %s (%s): %s %s other content; "
    .. "results are of other data", name, (wb.data._location(name)), p.title, p.source,
    table.concat(differ, ", "), #differ == 1 and "has" or "have")
end

-- }====================

return M
