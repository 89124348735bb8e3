-- test_loaders.lua - every loader (PNG: wb.image.load; checkpoint: wb.load,
-- wb.io.load_safetensors; IDX: wb.data.idx) refuses what is not a regular
-- file at once, exit 66 "<path>: not a regular file"; over-long paths keep
-- their reason ("File name too long", 66); a corrupted architecture exits 65
-- naming the file; wb.io.save_safetensors works in its documented forms.
--
-- Each case runs in a child `workbench` under `timeout 300`: a loader that
-- blocks in open (a FIFO without a writer) is then a failure (124), not a
-- hung suite. The guard is a hang detector, never a speed assertion.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local dir = T.tmpdir()

local loaders = {
  png = "wb.image.load", checkpoint = "wb.load",
  safetensors = "wb.io.load_safetensors", idx = "wb.data.idx",
}
local order = {"png", "checkpoint", "safetensors", "idx"}

local script = dir .. "/load.lua"
do
  local fh = assert(io.open(script, "w"))
  fh:write("local f = load('return ' .. arg[1])()\nf(arg[2])\n")
  fh:close()
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Exit status and stderr of loading path with the named loader.
local function try(kind, path)
  local st, _, err = T.sh("timeout 300 " .. T.wb .. " " .. script .. " " .. loaders[kind]
    .. " " .. q(path) .. " </dev/null")
  return st, err
end

local fifo = dir .. "/fifo"
local has_fifo = T.sh("mkfifo " .. q(fifo)) == 0

for _, case in ipairs{
  {"a FIFO", fifo, "a FIFO"},
  {"/dev/null", "/dev/null", "a character device"},
  {"/dev/zero", "/dev/zero", "a character device"},
  {"a directory", dir, "a directory"},
} do
  local what, path, kind = case[1], case[2], case[3]
  for _, loader in ipairs(order) do
    local name = string.format("%s refuses %s at once: exit 66", loaders[loader], what)
    if path == fifo and not has_fifo then
      T.skip(name, "mkfifo failed")
    else
      T.test(name, function()
        local st, err = try(loader, path)
        T.eq(st, 66, "exit status (124: it blocked) " .. err)
        T.ok(err:find(path .. ": not a regular file (" .. kind .. ")", 1, true), err)
      end)
    end
  end
end

T.test("over-long paths: the reason survives, elided path, exit 66", function()
  local long_name = dir .. "/" .. string.rep("n", 300) .. ".bin"  -- NAME_MAX
  local long_path = dir .. "/" .. string.rep("d/", 2100) .. "x.bin" -- PATH_MAX
  for _, path in ipairs{long_name, long_path} do
    for _, loader in ipairs(order) do
      local st, err = try(loader, path)
      T.eq(st, 66, loaders[loader] .. " exit status: " .. err:sub(1, 300))
      T.ok(err:find("File name too long", 1, true), loaders[loader] .. ": " .. err:sub(1, 600))
      T.ok(err:find("...", 1, true) and err:find(path:sub(1, 40), 1, true)
        and err:find(path:sub(-40), 1, true), "elided path: " .. err:sub(1, 600))
      T.ok(#err < 1500, loaders[loader] .. ": message of " .. #err .. " bytes")
    end
  end
end)

T.test("wb.io.save_safetensors(path, tensors): the documented form", function()
  local path = dir .. "/w.safetensors"
  local w = wb.zeros(2, 3)
  w:fill(1.5)
  wb.io.save_safetensors(path, {w = w})
  local ts, meta, names = wb.io.load_safetensors(path)
  T.eq(ts.w:get(2, 3), 1.5)
  T.eq(next(meta), nil, "no metadata")
  T.eq(names[1], "w")
  wb.io.save_safetensors(path, {w = w}, {note = "x"})
  T.eq(select(2, wb.io.load_safetensors(path)).note, "x")
  wb.io.save_safetensors(path, {w = w}, nil)
  T.check_error("metadata keys and values must be strings", wb.io.save_safetensors, path,
    {w = w}, {note = 1})
  T.check_error("table expected, got number", wb.io.save_safetensors, path, {w = w}, 7)
end)

-- A saved model whose architecture field is replaced by `arch`: loading must
-- exit 65 and name the file and what is wrong.
T.test("corrupted workbench.architecture: exit 65 naming the file", function()
  local path = dir .. "/m.safetensors"
  wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "relu"}), wb.nn.Dense(3, 2)}:save(path)
  local ts, meta = wb.io.load_safetensors(path)
  meta["workbench.checksum"] = nil -- written by hand: its architecture is what is checked
  local good = meta["workbench.architecture"]
  for _, c in ipairs{
    {good:gsub('"n_in":4', '"n_in":null', 1), "layer 1 (Dense): n_in must be a positive integer"},
    {good:gsub('"n_in":4', '"nin":4', 1), "n_in must be a positive integer, got nil"},
    {good:gsub('"relu"', '"nope"', 1), "layer 1 (Dense): bad argument #3 to 'Dense'"},
    {good:gsub('"Dense"', '"Bogus"', 1), "layer 1 (Bogus): cannot be rebuilt"},
    {'[{"kind":"Dropout","rate":"x"}]', "rate must be a number, got string"},
    {'{"a":1}', "expected a list of layers"},
    {"[1]", "layer 1 (?): expected an object, got number"},
    {"not json", "bad workbench.architecture metadata"},
  } do
    meta["workbench.architecture"] = c[1]
    wb.io.save_safetensors(path, ts, meta)
    local st, _, err = T.sh(T.wb .. " -e " .. q("wb.load(" .. string.format("%q", path) .. ")"))
    T.eq(st, 65, c[1] .. ": exit status: " .. err)
    T.ok(err:find(path .. ": bad workbench.architecture metadata", 1, true), err)
    T.ok(err:find(c[2], 1, true), c[1] .. ": " .. err)
    T.ok(not err:find("attempt to", 1, true), err)
  end
  meta["workbench.architecture"] = good
  wb.io.save_safetensors(path, ts, meta)
  T.eq(tostring(wb.load(path)[1]), tostring(wb.nn.Dense(4, 3, {activation = "relu"})))
end)

T.done()
