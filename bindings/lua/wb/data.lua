-- wb/data.lua: datasets (MNIST, Fashion-MNIST, any IDX pair).
--
-- A Dataset holds images as uint8 [n, 28, 28] exactly as stored and labels
-- as uint8 [n] (values 0..9, unshifted). Batches are gathered and scaled to
-- [0, 1] into float buffers the dataset owns and reuses: `ds:batch` makes
-- no allocation once a batch size has been seen (views are cached per size).
local _ENV = require "wb.std"
local wb = require "wb"
local args, spec_keys = require "wb.args", require "wb.spec_keys"
local where = require "wb.data_files"
local data, TENSOR, mtype = wb.data, debug.getregistry()["wb.Tensor"], math.type -- no alloc

---wb.data
---Datasets: MNIST (wb.data.mnist), Fashion-MNIST, any IDX pair; the
---Dataset class; the IDX reader and the batch gatherer (C).
---Example: local d = wb.data.mnist(); print(d.train, d.test)
-- Other libraries' names for a dataset's fields (torchvision's data and targets, x
-- and y), near misses too far for the edit rule: refused read or set (__aliases).
local ALIAS = {x = "images", data = "images", inputs = "images", imgs = "images",
  img = "images", y = "labels", targets = "labels", target = "labels", lbls = "labels"}
local Dataset = {__name = "wb.Dataset", __aliases = ALIAS}
data._Dataset = Dataset -- for wb/init.lua: its methods refuse extra arguments
-- Strict (wb.spec_keys.strict): a name a dataset lacks is an error naming
-- the nearest (ds.imgs was nil), as is setting one near its names.
Dataset.__fields = {images = true, labels = true, name = true, _views = true, _x = true, _y = true}
spec_keys.strict("wb.Dataset", Dataset, "ds")
local strict_index = Dataset.__index
function Dataset.__index(ds, k)
  if ALIAS[k] then
    error(string.format("wb.Dataset has no field '%s'; did you mean %s?", k, ALIAS[k]), 2)
  elseif math.type(k) == "integer" then -- Python's ds[0], torch's dataset[i]
    error(string.format("wb.Dataset has no key %d: row i is ds.images:row(i) with label "
      .. "ds.labels:get(i), or the dataset ds:subset(i, i) (rows count from 1)", k), 2)
  end
  return strict_index(ds, k)
end

-- Batch indices are float32 (wb.randperm, the gather's index), whose
-- integers are exact up to 2^24: row 2^24 + 1 would read row 2^24.
local MAX_ROWS = 1 << 24
---wb.data.MAX_ROWS
---@type integer
---The most rows a wb.Dataset may have (2^24 = 16,777,216): batches index
---rows with float32, exact up to there. A larger set is an error; split it.
---Example: print(wb.data.MAX_ROWS)
data.MAX_ROWS = MAX_ROWS

local function shape_str(t) return "[" .. table.concat(t:shape(), ", ") .. "]" end

---wb.data.Dataset(images, labels, name) -> wb.Dataset
---A dataset over images [n, ...] and labels (uint8 [n], class ids from 0,
---unshifted); name is shown by tostring (default "dataset"). uint8 images
---are pixels, divided by 255 into batches; float32 images are taken as
---they are (scale 0..255 data yourself: x / 255). The counts must agree,
---labels must be uint8 and n at most wb.data.MAX_ROWS (2^24: batches index
---rows with float32).
---@param images wb.Tensor
---@param labels wb.Tensor
---@param name? string
---@return wb.Dataset
---Example: local ds = wb.data.Dataset(x_u8, y_u8, "mine")
function data.Dataset(images, labels, name)
  args.check("Dataset", 1, images, "wb.Tensor")
  args.check("Dataset", 2, labels, "wb.Tensor")
  args.opt("Dataset", 3, name, "string")
  if images:dim() < 1 then -- #images of a 0-d tensor is 1: there are no rows to take
    args.input_fail(string.format("%s: images must be [n, ...] (one row per sample), got a tensor "
      .. "[]", name or "dataset"), 2)
  end
  local n = #images
  if n > MAX_ROWS then -- a float32 index past 2^24 rounds to a neighbouring row, silently
    args.input_fail(string.format("%s: %d rows, more than the %d a dataset can hold (batches index "
      .. "rows with float32, exact only up to 2^24): split it into datasets of fewer rows",
      name or "dataset", n, MAX_ROWS), 2)
  end
  if labels:dim() ~= 1 or #labels ~= n then
    args.input_fail(string.format("%s: %d images but labels of shape %s (expected [%d])",
      name or "dataset", n, shape_str(labels), n), 2)
  end
  if labels:dtype() ~= "uint8" then -- an int32 IDX file loads as float32, for one
    args.input_fail(string.format("%s: labels must be uint8, got %s (class ids as floats: "
      .. "wb.new_tensor({%d}, \"uint8\"):copy(labels))", name or "dataset", labels:dtype(), n), 2)
  end
  return setmetatable({images = images, labels = labels, name = name or "dataset",
    _views = {}}, Dataset)
end

---wb.Dataset
---Images and labels of one split: ds.images (uint8 [n, 28, 28] for MNIST),
---ds.labels (uint8 [n], 0..9), ds.name; #ds is n. Batches are gathered and
---scaled to [0, 1] into float buffers the dataset owns and reuses, so
---ds:batch allocates nothing once a batch size has been seen. Reading a
---name it lacks (ds.imgs, ds.targets) is an error naming the nearest, as is
---setting one near its names.
---Example: local ds = wb.data.mnist().test; print(ds, #ds, ds.labels:get(1))
function Dataset:__len() return #self.labels end

function Dataset:__tostring()
  return string.format("Dataset(%s: %d image%s %s)", self.name, #self, #self == 1 and "" or "s",
    shape_str(self.images))
end

---wb.Dataset:input_size() -> integer
---Values per sample (784 for MNIST).
---@return integer
---Example: print(wb.data.mnist().train:input_size())
function Dataset:input_size()
  args.self(Dataset, self, "input_size", "ds")
  local size = 1 -- from the shape: an empty set's rows have a size too
  for i, d in ipairs(self.images:shape()) do
    if i > 1 then size = size * d end
  end
  return size
end

---wb.Dataset:subset(first, last) -> wb.Dataset
---Samples first..last (1-based, inclusive; both given: subset(64) for the
---first 64 rows took rows 64 to the end) as a dataset of views: no copy
---(first > last + 1: an error). --quick runs train on subset(1, 2000).
---@param first integer
---@param last integer
---@return wb.Dataset
---Example: local small = wb.data.mnist().test:subset(1, 500)
function Dataset:subset(first, last)
  args.self(Dataset, self, "subset", "ds")
  args.check("subset", 1, first, "integer")
  if last == nil then args.input_fail("bad argument #2 to 'subset' (last expected: subset(1, 64) "
    .. "is the first 64 rows, subset(64, #ds) row 64 to the end)", 2) end
  args.check("subset", 2, last, "integer") -- 500.0 (#ds / 2 is a float in Lua) is 500
  first, last = math.tointeger(first) or first, math.tointeger(last) or last
  if first < 1 or last > #self or first > last + 1 then
    local rev = first >= 1 and first <= #self and last >= 1 and last <= #self -- in range
    args.input_fail(string.format("subset: rows %s..%s " .. (rev and "are in reverse order, "
      .. "expected first <= last (in 1..%d)" or "out of range 1..%d"), first, last, #self), 2)
  end
  local images, labels
  if last >= first then
    images, labels = self.images:rows(first, last), self.labels:rows(first, last)
  else
    images, labels = self.images:rows(1, 0), self.labels:rows(1, 0)
  end
  return data.Dataset(images, labels, string.format("%s[%d:%d]", self.name, first, last))
end

---wb.Dataset:split(v) -> wb.Dataset, wb.Dataset
---Keras's validation_split: the first floor(n (1 - v)) rows to train on and
---the tail to validate on (views, no copy), as fit{validation_split = v}
---splits. v in (0, 1); an empty part is an error.
---@param v number
---@return wb.Dataset
---Example: local tr, val = wb.data.mnist().train:split(0.1) -- 54000, 6000 rows
function Dataset:split(v)
  args.self(Dataset, self, "split", "ds")
  args.check("split", 1, v, "number")
  if not (v > 0 and v < 1) then -- NaN too
    args.input_fail("validation_split must be a number in (0, 1), got " .. tostring(v), 2)
  end
  local n = #self
  local ntr = math.floor(n * (1 - v))
  if ntr < 1 or ntr >= n then
    args.input_fail(string.format("validation_split %g of %d rows leaves an empty part", v, n), 2)
  end
  return self:subset(1, ntr), self:subset(ntr + 1, n)
end

---wb.Dataset:float_images() -> wb.Tensor
---All images as a new float32 [n, input_size] tensor, as batches hold
---them: uint8 pixels scaled to [0, 1], float32 images as they are.
---@return wb.Tensor
---Example: local x = wb.data.mnist().test:subset(1, 10):float_images()
function Dataset:float_images()
  args.self(Dataset, self, "float_images", "ds")
  local n = #self
  local x = self.images:float() -- a copy either way; / 255 in float32 as the gather does
  if self.images:dtype() == "uint8" then x = x / 255 end
  return x:reshape(n, self:input_size())
end

local function buffers(self, count)
  local v = self._views[count]
  if v then return v end
  if not self._x or #self._x < count then
    self._x = wb.zeros(count, self:input_size())
    self._y = wb.new_tensor({count}, "uint8")
    self._views = {}
  end
  v = {self._x:rows(1, count), self._y:rows(1, count)}
  self._views[count] = v
  return v
end

---wb.Dataset:batch(perm, first, count) -> wb.Tensor, wb.Tensor
---perm[first .. first+count-1] (1-based rows: a float tensor or a table) as
---x float32 [count, input_size] (uint8 pixels / 255 in [0, 1], float32 images
---as they are) and y uint8 [count]; first defaults to 1, count to the rest of
---perm. x and y are views of reused buffers valid until the next call (clone).
---@param perm wb.Tensor|table
---@param first? integer
---@param count? integer
---@return wb.Tensor x
---@return wb.Tensor y
---Example: local x, y = ds:batch({1, 2, 3})
function Dataset:batch(perm, first, count)
  if getmetatable(perm) ~= TENSOR or mtype(first) ~= "integer" or mtype(count) ~= "integer" then
    args.check("batch", 1, perm, "wb.Tensor|table")
    args.opt("batch", 2, first, "integer")
    args.opt("batch", 3, count, "integer")
  end
  if type(perm) == "table" then perm = wb.tensor(perm) end
  if perm:dtype() ~= "float32" then -- the gather's own message names no argument
    args.input_fail(string.format("bad argument #1 to 'batch' (perm: expected row numbers as a "
      .. "table or a float32 tensor, got %s [%s]; perm:float() converts it)", perm:dtype(),
      table.concat(perm:shape(), ", ")), 2)
  end
  first = first or 1
  local avail = perm:numel() - first + 1
  -- checked before the buffers are sized by count: a bad count names itself
  if first < 1 or avail < 0 then
    args.input_fail(string.format("bad argument #2 to 'batch' (first: expected 1..%d for an index "
      .. "of %d, got %s)", perm:numel() + 1, perm:numel(), tostring(first)), 2)
  end
  count = count or avail
  if count < 0 or count > avail then
    args.input_fail(string.format("bad argument #3 to 'batch' (count: rows %s..%s of an index of "
      .. "%d, expected a count in 0..%d)", tostring(first), tostring(first + count - 1),
      perm:numel(), avail), 2)
  end
  local v = buffers(self, count) -- (pcall: gather's error at the caller's line, as perm's)
  local ok, err = pcall(data.gather, v[1], v[2], self.images, self.labels, perm, first, count)
  if not ok then args.rethrow(err, "bad argument #1 to 'batch' (perm: %s)", 3) end
  return v[1], v[2]
end

-- {==================== the standard sets ====================

local cache = {}

-- The {train, test} pair of a standard set (tname: "wb.data.mnist()"): a
-- name it lacks is an error naming the nearest (d.trian was nil), or, for a
-- dataset's name (d.images), the datasets that have it.
local function pair(tname, train, test)
  local mt = {__name = tname, __fields = {train = true, test = true}}
  mt.__index = function(_, k)
    if type(k) == "string" and (Dataset[k] ~= nil or Dataset.__fields[k] or ALIAS[k]) then
      error(string.format("%s has no field '%s': it is {train, test}, two wb.Dataset "
        .. "(d.train.%s)", tname, k, ALIAS[k] or k), 2)
    end
    error(spec_keys.no_field(tname, k, mt), 2)
  end
  mt.__newindex = spec_keys.newindex(tname, mt, "d")
  mt.__tostring = function(d) return tname .. ": {train = " .. tostring(rawget(d, "train"))
    .. ", test = " .. tostring(rawget(d, "test")) .. "}" end -- was "...: 0x5589..."
  return setmetatable({train = train, test = test}, mt)
end
data._pair = pair -- wb.data.for_config's (wb/data_cache.lua)

-- A standard set's file that parses but is not what the set holds:
-- EFORMAT (exit status 65), naming the file.
local function bad_file(path, fmt, ...)
  error(wb.Error{code = "EFORMAT", path = path, message = path .. ": " .. string.format(fmt,
    ...)}, 0)
end

-- Images uint8 [n, 28, 28] and labels uint8 [n] in 0..9, checked here: a
-- label of 12 or a count that disagrees would otherwise surface as an
-- error of fit or evaluate that names no file.
local function load_pair(dir, prefix, name, suffix)
  local ipath = dir .. "/" .. prefix .. "-images-idx3-ubyte" .. suffix
  local lpath = dir .. "/" .. prefix .. "-labels-idx1-ubyte" .. suffix
  local images, labels = data.idx(ipath), data.idx(lpath)
  local snap = require "wb.data_cache" -- idx_kind: the file's own type in a message
  if images:dtype() ~= "uint8" or images:dim() ~= 3 or images:size(2) ~= 28
      or images:size(3) ~= 28 then
    bad_file(ipath, "expected uint8 images [n, 28, 28], got %s", snap.idx_kind(ipath, images))
  end
  if labels:dtype() ~= "uint8" or labels:dim() ~= 1 then
    bad_file(lpath, "expected uint8 labels [n], got %s", snap.idx_kind(lpath, labels))
  end
  if #labels ~= #images then
    bad_file(lpath, "%d labels, but %s holds %d images", #labels, ipath, #images)
  end
  if #labels > 0 and labels:float():max() > 9 then
    local row = labels:float():argmax(1):item()
    bad_file(lpath, "label %d at row %d, expected 0..9", labels:get(row), row)
  end
  return data.Dataset(images, labels, name)
end

-- The train/test pair of a standard set in dir (file suffix "" or ".gz"),
-- its datasets loaded once per process, the pair a new table each call (a
-- script's d.train = d.train:subset(1, 1000) shrank every later
-- wb.data.mnist() of the process); a missing set is an error saying how to
-- get it.
local function load_standard(key, dir, suffix, title, how)
  local fname = string.format("wb.data.%s()", key == "fashion" and "fashion_mnist" or key)
  local c = cache[key]
  local snap = require "wb.data_cache" -- a hook's in-place change reached later runs
  local changed = c and snap.changed(c, c.loaded)
  if c and not changed then return pair(fname, c.train, c.test) end
  if changed then
    io.stderr:write(string.format("%s: its datasets were changed in place since this process "
      .. "loaded them (%s): read again from %s\n", fname, changed, dir))
    cache[key] = nil
  end
  local missing = where.missing(dir, suffix, title, how)
  if missing then wb.sys.fail("ENOENT", missing) end
  c = {train = load_pair(dir, "train", key .. "-train", suffix),
    test = load_pair(dir, "t10k", key .. "-test", suffix)}
  -- what identifies the runs of this process is the files as loaded here
  require("wb.identity")._data_loaded(key)
  c.loaded = snap.tensors(c)
  cache[key] = c
  return pair(fname, c.train, c.test)
end

-- A standard set's loader takes no argument: a folder or an option given to
-- it was once ignored without a word (wb.data.mnist("other/dir") read the
-- usual MNIST).
local function no_arguments(fname, where, ...)
  if select("#", ...) > 0 then
    args.input_fail(string.format("wb.data.%s: takes no arguments, got %d (a %s): %s; another "
      .. "folder of IDX files: wb.data.Dataset(wb.data.idx(images_path), "
      .. "wb.data.idx(labels_path))", fname, select("#", ...), type((...)), where), 3)
  end
end

---wb.data.mnist() -> table
---MNIST as {train = Dataset (60000), test = Dataset (10000)} (another key,
---d.trian, is an error naming the nearest), loaded once per process from
---$WB_DATA/mnist (WB_DATA is the folder that holds mnist/), else the source
---tree's data/mnist (make data fetches it, SHA-256 checked), else
---./data/mnist. The four IDX files are read plain, or gzipped (name.gz, as
---LeCun's site ships them) when none is there plain.
---@return table
---Example: local d = wb.data.mnist(); print(#d.train, #d.test)
function data.mnist(...)
  no_arguments("mnist", "MNIST's folder is $WB_DATA/mnist, else data/mnist", ...)
  local dir, suffix = where.location("mnist")
  return load_standard("mnist", dir, suffix, "MNIST", where.mnist_how)
end

data.fashion_dir = "/usr/share/datasets/fashion-mnist"

-- Where the standard sets' files are (wb/data_files.lua), for wb.identity,
-- the runner's checks and a task README.
data._location, data._files = where.location, where.files

---wb.data.fashion_mnist() -> table
---Fashion-MNIST, same shape as MNIST ({train, test}), from Debian's
---dataset-fashion-mnist package (wb.data.fashion_dir).
---@return table
---Example: local f = wb.data.fashion_mnist()
function data.fashion_mnist(...)
  no_arguments("fashion_mnist", "Fashion-MNIST's folder is wb.data.fashion_dir", ...)
  return load_standard("fashion", data.fashion_dir, ".gz", "Fashion-MNIST",
    "install Debian's dataset-fashion-mnist (make deps)")
end

---wb.data.load(name) -> table
---A dataset pair by name: "mnist" (default) or "fashion" (also
---"fashion_mnist"), as an experiment config's dataset key.
---@param name? string
---@return table
---Example: local d = wb.data.load("fashion")
function data.load(name)
  args.opt("load", 1, name, "string")
  if name == nil or name == "mnist" then return data.mnist() end
  if name == "fashion" or name == "fashion_mnist" then return data.fashion_mnist() end
  args.input_fail("unknown dataset '" .. tostring(name) .. "' (expected 'mnist' or 'fashion')", 2)
end

-- }====================

return data
