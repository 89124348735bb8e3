-- The code version (wb.identity.code) covers the build, not only the
-- sources: a rebuild with other flags, another compiler, or a process on
-- another BLAS or libm computes other numbers from the same sources, and must
-- not reuse the runs recorded before (runner3 audit).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local code = require "wb.identity_code"
local q = T.quote
local dir = T.tmpdir()

-- The WB_CORE_ID `make` would compile into wb.o with these variables.
local function core_id(vars)
  local _, out, err = T.sh(string.format("make -n O=%s OUT=%s %s %s 2>&1", q(dir .. "/o"),
    q(dir .. "/o"), vars, q(dir .. "/o/bindings/wb.o")))
  return out:match("WB_CORE_ID='\"(%d+)\"'") or error("no WB_CORE_ID in: " .. out .. err)
end

T.test("the build id covers the compile and link flags, not the folder built in", function()
  -- before: a cksum of the sources alone; a rebuild with -O0 or -ffast-math reused every run
  local plain = core_id("")
  T.eq(core_id(""), plain, "the same build, the same id")
  for _, vars in ipairs{"OPT=-O0", "OPT='-O2 -ffast-math'", "LDFLAGS=-ffast-math",
      "CFLAGS=-DWB_X=1"} do
    T.ok(core_id(vars) ~= plain, vars .. " is another build")
  end
  -- where it is built is no fact of the numbers
  local _, out = T.sh(string.format("make -n O=%s OUT=%s %s 2>&1", q(dir .. "/elsewhere"),
    q(dir .. "/elsewhere"), q(dir .. "/elsewhere/bindings/wb.o")))
  T.eq(out:match("WB_CORE_ID='\"(%d+)\"'"), plain)
end)

T.test("this binary's id is the Makefile's for its build", function()
  T.eq(wb.core_id, util.read_file(T.build_dir() .. "/core_id"):match("%d+"))
end)

T.test("the code version covers the BLAS and libm this process runs on, by content",
  function()
  -- before: an OpenBLAS of another version or flavour (update-alternatives, or
  -- LD_LIBRARY_PATH) reused the runs trained on the other one
  local libs = code.numeric_libs()
  local kinds = {}
  for _, l in ipairs(libs) do kinds[l:match("^(%w+)%z")] = true end
  T.ok(kinds.blas and kinds.libm, "BLAS and libm among " .. table.concat(libs, "; "):gsub("%z",
    " "))
  -- the same BLAS at another path: the same code; a BLAS of other content: another
  local path
  for line in io.lines("/proc/self/maps") do
    local p = line:match("%s(/%S+)$")
    if p and p:match("[^/]+$"):match("^lib%w*blas") then path = p end
  end
  local soname = assert(io.popen("ldd " .. q(T.wb) .. " | awk '/blas/ {print $1}'")):read("l")
  T.ok(path and soname, tostring(path) .. " " .. tostring(soname))
  local function code_with(libdir)
    local st, out, err = T.sh(string.format("LD_LIBRARY_PATH=%s %s -e %s", q(libdir), q(T.wb),
      q("io.write(wb.identity.code())")))
    T.eq(st, 0, err)
    return out
  end
  local same, other = dir .. "/same", dir .. "/other"
  wb.sys.mkdir_p(same); wb.sys.mkdir_p(other)
  local bytes = assert(util.read_file(path))
  util.write_file(same .. "/" .. soname, bytes)
  util.write_file(other .. "/" .. soname, bytes .. "\0") -- another build of it, as the loader sees
  local mine = code_with(dir)
  T.eq(mine, wb.identity.code())
  T.eq(code_with(same), mine, "the same library elsewhere")
  T.ok(code_with(other) ~= mine, "another library")
end)

T.done()
