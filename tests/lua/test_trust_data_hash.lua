-- The data's identity is every byte of its files: a copy of the data with
-- one pixel edited in the middle of the training images is other data, and
-- its runs are trained, not taken from the original's. Found by the trust
-- audit: the images (over 1 MiB) were identified by 64 blocks of 4 KiB, so
-- an edit between two blocks reused the runs trained on the other data.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

T.test("hash_file: XXH3-128 of the whole file, in chunks; nil and the file's name", function()
  util.write_file(dir .. "/empty", "")
  T.eq(wb.sys.hash_file(dir .. "/empty"), "99aa06d3014798d86001c324468d497f",
    "XXH3-128 of no bytes (xxHash's test vector)")
  -- 1 MiB and 3 bytes: 16 chunks of 64 KiB and a tail; one byte in the middle
  local n = (1 << 20) + 3
  local a = string.rep("\7", n)
  util.write_file(dir .. "/a", a)
  local h = wb.sys.hash_file(dir .. "/a")
  T.ok(h:match("^%x+$") and #h == 32, tostring(h))
  T.eq(wb.sys.hash_file(dir .. "/a"), h, "stable")
  util.write_file(dir .. "/b", a:sub(1, n // 2) .. "\8" .. a:sub(n // 2 + 2))
  T.ok(wb.sys.hash_file(dir .. "/b") ~= h, "one byte in the middle")
  util.write_file(dir .. "/c", a .. "\0")
  T.ok(wb.sys.hash_file(dir .. "/c") ~= h, "one byte more at the end")
  local none, err = wb.sys.hash_file(dir .. "/missing")
  T.eq(none, nil)
  T.ok(err:find(dir .. "/missing", 1, true) and err:find("No such file", 1, true), err)
  none, err = wb.sys.hash_file(dir)
  T.eq(none, nil)
  T.ok(err:find(dir, 1, true) and err:find("directory", 1, true), err)
  T.check_error("string expected", wb.sys.hash_file, nil)
end)

T.test("hash_string: the hash of its bytes, as hash_file's of a file holding them", function()
  T.eq(wb.sys.hash_string(""), "99aa06d3014798d86001c324468d497f", "no bytes")
  T.eq(wb.sys.hash_string("abc"), "06b05ab6733a618578af5f94892f3950",
    "XXH128 of abc, as xxhsum -H2 prints it")
  local a = string.rep("\7", (1 << 20) + 3) .. "\0x"
  util.write_file(dir .. "/s", a)
  T.eq(wb.sys.hash_string(a), wb.sys.hash_file(dir .. "/s"))
  T.ok(wb.sys.hash_string(a:sub(1, -2)) ~= wb.sys.hash_string(a), "one byte fewer")
  T.check_error("string expected", wb.sys.hash_string, nil)
end)

local real = wb.luadir:gsub("/bindings/lua$", "") .. "/data/mnist"
local files = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte"}

-- The data's identity as a child with $WB_DATA = data_dir computes it (it
-- is computed once per process).
local function data_id(data_dir)
  local st, out, err = T.sh(string.format("WB_DATA=%s %s -e 'io.write((wb.identity.data(%q)))'",
    util.shell_quote(data_dir), T.wb, "mnist"))
  T.eq(st, 0, err)
  return out
end

T.test("one byte of a training image changed mid-file: other data, retrained", function()
  local copy = dir .. "/data/mnist"
  wb.sys.mkdir_p(copy)
  for _, f in ipairs(files) do
    T.eq(T.sh(string.format("cp %s/%s %s/%s", real, f, copy, f)), 0)
  end
  local path = dir .. "/pixel.lua"
  util.write_file(path, [[
return wb.task{name = "pixel", experiment = {seeds = {1},
  base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}}}, report = function() end}
]])
  local function planned(env)
    local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s %s --root %s/r --jobs 1", env, T.wb,
      path, dir))
    T.eq(st, 0, err)
    return err
  end
  T.ok(planned(""):find("1 to train", 1, true))
  local same = data_id(dir .. "/data")
  T.eq(same, data_id(wb.luadir:gsub("/bindings/lua$", "") .. "/data"), "a byte-equal copy")
  T.ok(planned("WB_DATA=" .. dir .. "/data"):find("0 to train", 1, true),
    "a byte-equal copy: the same runs")
  -- the middle pixel of the middle training image, one grey level up
  local img = copy .. "/train-images-idx3-ubyte"
  local fh = assert(io.open(img, "r+b"))
  local size = fh:seek("end")
  local at = 16 + 784 * ((size - 16) // 784 // 2) + 392
  fh:seek("set", at)
  local b = fh:read(1):byte()
  fh:seek("set", at)
  fh:write(string.char((b + 1) % 256))
  fh:close()
  T.ok(data_id(dir .. "/data") ~= same, "one pixel edited: another data identity")
  T.ok(planned("WB_DATA=" .. dir .. "/data"):find("1 to train", 1, true),
    "one pixel edited: the run is trained again")
  T.ok(planned("WB_DATA=" .. dir .. "/data"):find("0 to train", 1, true),
    "and then cached under the edited data's identity")
end)

T.done()
