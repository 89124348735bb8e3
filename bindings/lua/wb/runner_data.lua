-- wb/runner_data.lua: the standard datasets a task's pending runs train on
-- are where wb.data reads them, checked before any run starts. $WB_DATA
-- naming a folder without mnist/ (an empty one, or one holding the IDX
-- files themselves) failed every run in its own child, each with the
-- library's file:line ("FAILED (exit 66): workbench: .../wb/data.lua:315:
-- MNIST not found ..."), then a table of none (audit N6); now one error,
-- naming the folder and what it should hold, and nothing is trained.
-- Each file's header and size are checked too (a stat and 16 bytes a
-- file, what wb.data checks as it loads): a corrupt file (a truncated
-- image file) failed every run in its child the same way, then the report
-- with a traceback (audit X3). And the one line that says when the files
-- are not the published ones (audit X13, wb/data_cache.lua): once a task,
-- as the data is checked, not once a run or a subset.
-- Private to the runner.
local _ENV = require "wb.std"
local wb = require "wb"
local published = require "wb.data_cache"

-- What load_pair (wb/data.lua) expects of each file: IDX type 0x08 (uint8),
-- its dimension count and, after the count, its fixed dimensions.
local KINDS = {["images-idx3"] = {what = "uint8 images [n, 28, 28]", nd = 3, dims = {28, 28}},
  ["labels-idx1"] = {what = "uint8 labels [n]", nd = 1, dims = {}}}

local function bad(ex, name, path, fmt, ...)
  error(wb.spec.input_error(string.format("[%s] dataset '%s': %s: %s; nothing trained",
    ex.name, name, path, string.format(fmt, ...)), "EFORMAT"), 0)
end

-- The row count file path's header declares, after checking it and the file's size as
-- wb.data.idx would (raises naming the file); nil for a gzip file, whose header is
-- compressed (its magic is checked: the loader sniffs it).
local function header_rows(ex, name, path)
  local f, err = io.open(path, "rb")
  if not f then bad(ex, name, path, "cannot be read (%s)", tostring(err)) end
  local size = f:seek("end")
  f:seek("set", 0)
  local head = f:read(16) or ""
  f:close()
  if path:find("%.gz$") then
    if head:sub(1, 2) ~= "\31\139" or size < 18 then
      bad(ex, name, path, "not a gzip file (%d bytes%s), expected a gzip-compressed IDX file",
        size, #head >= 2 and string.format(", starting %02x %02x", head:byte(1, 2)) or "")
    end
    return nil
  end
  local kind = KINDS[path:match("%-(%a+%-idx%d)%-ubyte$")]
  if #head < 4 + 4 * kind.nd then
    bad(ex, name, path, "truncated header: %d bytes, expected %d (%s)", #head, 4 + 4 * kind.nd,
      kind.what)
  end
  local z1, z2, ty, nd = head:byte(1, 4)
  if z1 ~= 0 or z2 ~= 0 or ty ~= 8 or nd ~= kind.nd then
    bad(ex, name, path, "magic %02x%02x%02x%02x, expected 000008%02x (%s)", z1, z2, ty, nd,
      kind.nd, kind.what)
  end
  local dims, total = {}, 1
  for i = 1, nd do
    dims[i] = string.unpack(">I4", head, 1 + 4 * i)
    total = total * dims[i]
  end
  for i, d in ipairs(kind.dims) do
    if dims[i + 1] ~= d then
      bad(ex, name, path, "header declares [%s], expected %s", table.concat(dims, ", "),
        kind.what)
    end
  end
  local want = 4 + 4 * nd + total
  if size ~= want then
    bad(ex, name, path, "%s: header declares [%s] (%d data bytes), expected a file of %d "
      .. "bytes, got %d", size < want and "truncated" or string.format("%d bytes of trailing "
      .. "data", size - want), table.concat(dims, ", "), total, want, size)
  end
  return dims[1]
end

-- The four files of set name: each header and size, the images and labels counts agree.
local function check_headers(ex, name)
  local rows = {}
  for _, path in ipairs(wb.data._files(name)) do
    rows[path] = header_rows(ex, name, path)
  end
  for _, path in ipairs(wb.data._files(name)) do
    local ipath = path:gsub("%-labels%-idx1%-", "-images-idx3-")
    if path ~= ipath and rows[path] and rows[ipath] and rows[path] ~= rows[ipath] then
      bad(ex, name, path, "%d labels, but %s holds %d images", rows[path], ipath, rows[ipath])
    end
  end
end

-- What to do to get standard set name, and where it is looked for.
local function how(name)
  if name == "fashion" or name == "fashion_mnist" then
    return "install Debian's dataset-fashion-mnist package"
  end
  local env = os.getenv("WB_DATA")
  if not env then return "run 'make data' (or set $WB_DATA to a folder holding mnist/)" end
  local where = string.format("$WB_DATA is %s: the folder that holds mnist/", env)
  if wb.sys.exists(env .. "/t10k-labels-idx1-ubyte")
      or wb.sys.exists(env .. "/t10k-labels-idx1-ubyte.gz") then
    where = where .. " (the files are in it directly: move them to " .. env .. "/mnist)"
  end
  return where
end

-- Raises an input error (exit 66) when a dataset of a run in `pending` (of
-- task ex) has a file missing.
return function(ex, pending)
  local seen = {}
  for _, s in ipairs(pending) do
    local name = s.config.dataset or "mnist"
    if not seen[name] then
      seen[name] = true
      local missing, all, other = {}, {}, {}
      for _, f in ipairs(wb.data._files(name)) do
        all[#all + 1] = f:match("[^/]+$")
        if not wb.sys.exists(f) then
          missing[#missing + 1] = all[#all]
          -- the same file with the other suffix: a folder half gunzipped
          local alt = f:find("%.gz$") and f:sub(1, -4) or f .. ".gz"
          if wb.sys.exists(alt) then other[#other + 1] = alt:match("[^/]+$") end
        end
      end
      if #missing > 0 then
        local dir = wb.data._location(name)
        local what = #missing == #all and string.format("none of its %d files (%s)", #all,
          table.concat(all, ", ")) or string.format("no %s (of %s)%s",
          table.concat(missing, ", "), table.concat(all, ", "), #other == 0 and ""
          or "; found " .. table.concat(other, ", ") .. ": the four files are read all "
          .. "plain or all gzipped")
        error(wb.spec.input_error(string.format("[%s] dataset '%s' not found: %s has %s; %s; "
          .. "nothing trained", ex.name, name, dir, what, how(name)), "ENOENT"), 0)
      end
      check_headers(ex, name)
      local note = published.unpublished_note(name)
      if note then io.stderr:write(string.format("[%s] %s\n", ex.name, note)) end
    end
  end
end
