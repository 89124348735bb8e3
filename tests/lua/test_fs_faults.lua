-- test_fs_faults.lua - a read-only folder, a full disk and a file size
-- limit: saves fail with a clear error and the documented exit status, the
-- previous checkpoint survives byte for byte, no temporary file is left.
--
-- Which ran is printed (# lines):
--   read-only folder: root ignores mode bits, so as root the writer runs
--     as nobody through `setpriv --reuid=65534 --regid=65534
--     --clear-groups`; as another user the folder's mode is enough.
--   full disk: a 64 KiB tmpfs (`mount -t tmpfs -o size=64k`) when the
--     machine allows mounting; skipped otherwise.
--   file size limit: `ulimit -f` (EFBIG, and no death by SIGXFSZ); always.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

local slurp = require("wb.util").read_file -- the file's bytes, nil when absent

local function write(path, s)
  local fh = assert(io.open(path, "wb"))
  fh:write(s)
  fh:close()
end

local function temporaries(d)
  local names = {}
  for _, f in ipairs(wb.sys.listdir(d)) do
    if f:find("%.tmp%.") then names[#names + 1] = f end
  end
  return table.concat(names, " ")
end

-- The writer: saves a small model (must work when `small` is given), then a
-- ~400 KB one, then a run record; the first failure ends it uncaught.
local writer = dir .. "/writer.lua"
write(writer, [[
local d, small = arg[1], arg[2] == "small"
if small then wb.nn.Sequential{wb.nn.Dense(4, 2)}:save(d .. "/m.safetensors") end
wb.nn.Sequential{wb.nn.Dense(784, 128), wb.nn.Dense(128, 10)}:save(d .. "/m.safetensors")
wb.sys.write_atomic(d .. "/run.json", string.rep("x", 300000))
]])

local is_root = T.sh("test \"$(id -u)\" = 0") == 0

T.test("read-only folder: exit 73, the old checkpoint and record intact", function()
  local ro = dir .. "/ro"
  assert(os.execute("mkdir -p " .. ro))
  wb.nn.Sequential{wb.nn.Dense(4, 2)}:save(ro .. "/m.safetensors")
  write(ro .. "/run.json", "{\"old\": true}")
  local before_ck, before_rec = slurp(ro .. "/m.safetensors"), slurp(ro .. "/run.json")
  assert(os.execute("chmod 0555 " .. ro))
  local prefix = ""
  if is_root then
    if T.sh("command -v setpriv >/dev/null") ~= 0 then
      assert(os.execute("chmod 0755 " .. ro))
      return T.skip("read-only folder", "running as root and setpriv is missing")
    end
    prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups "
  end
  local st, _, err = T.sh(prefix .. T.wb .. " " .. writer .. " " .. ro)
  assert(os.execute("chmod 0755 " .. ro))
  T.eq(st, 73, err)
  T.ok(err:find("cannot create temporary file", 1, true)
    and err:find("Permission denied", 1, true), err)
  T.eq(slurp(ro .. "/m.safetensors"), before_ck, "checkpoint changed")
  T.eq(slurp(ro .. "/run.json"), before_rec, "record changed")
  T.eq(temporaries(ro), "")
  print("# read-only folder ran " .. (is_root and "as nobody (setpriv)" or "as this user"))
end)

T.test("full disk (64 KiB tmpfs): exit 74, the old checkpoint intact, space given back",
  function()
  local full = dir .. "/full"
  assert(os.execute("mkdir -p " .. full))
  if T.sh("mount -t tmpfs -o size=64k tmpfs " .. full) ~= 0 then
    return T.skip("full disk", "this machine refuses `mount -t tmpfs` (not root, or no "
      .. "CAP_SYS_ADMIN); the file size limit test below covers a failing write")
  end
  local ok, why = pcall(function()
    local st, _, err = T.sh(T.wb .. " " .. writer .. " " .. full .. " small")
    T.eq(st, 74, err)
    T.ok(err:find("No space left on device", 1, true), err)
    local m = wb.load(full .. "/m.safetensors") -- the small one survived whole
    T.eq(m[1].n_in, 4)
    T.eq(temporaries(full), "")
    -- the space the temporary file took is free again: a small save works
    local st2, _, err2 = T.sh(T.wb .. " -e 'wb.nn.Sequential{wb.nn.Dense(4, 2)}:save(\""
      .. full .. "/m2.safetensors\")'")
    T.eq(st2, 0, err2)
  end)
  os.execute("umount " .. full)
  if not ok then error(why, 0) end
  print("# full disk ran on a 64 KiB tmpfs")
end)

T.test("file size limit (ulimit -f): exit 74 with EFBIG, no death by SIGXFSZ", function()
  local lim = dir .. "/lim"
  assert(os.execute("mkdir -p " .. lim))
  -- dash counts ulimit -f in 512-byte blocks: 100 KiB
  local st, _, err = T.sh("ulimit -f 200; " .. T.wb .. " " .. writer .. " " .. lim .. " small")
  T.eq(st, 74, err)
  T.ok(err:find("File too large", 1, true), err)
  local m = wb.load(lim .. "/m.safetensors")
  T.eq(m[1].n_in, 4)
  T.eq(temporaries(lim), "")
end)

T.done()
