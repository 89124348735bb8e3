-- test_sigx_readonly.lua - `--list-runs` on a root this process cannot write
-- lists the runs (audit X16c): it only reads, and README's own example lists
-- a shared root (`--root /shared/wb --list-runs`); it was refused ("cannot
-- write its runs folder ... Read-only file system", exit 73). The specs are
-- not written there, said once on stderr. Reading records (wb.runs.find)
-- works there too; training is still refused (73).
--
-- Read-only: a bind mount remounted read-only in a mount namespace of its
-- own (unshare -m), as root (chmod does not stop root); else chmod -R a-w.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local task = dir .. "/ro_task.lua"
util.write_file(task, [[
return wb.task{name = "ro_task", title = "read-only",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    seeds = {1, 2}},
  report = function(task, runs) task:text("runs recorded: " .. #runs.records) end}
]])
local root = dir .. "/ro/root"
local st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
if st ~= 0 then error("the root could not be made: " .. err) end

-- `cmd` (a shell command) run with dir/ro read-only; nil, why when that
-- cannot be arranged here
local function readonly(cmd)
  local ro = dir .. "/ro"
  local _, uid = T.sh("id -u")
  if uid:match("^0\n") then
    local c = string.format("mount --bind %s %s && mount -o remount,bind,ro %s && "
      .. "if touch %s/probe 2>/dev/null; then echo NOT-READ-ONLY; exit 99; fi && %s",
      T.quote(ro), T.quote(ro), T.quote(ro), T.quote(ro), cmd)
    local s, out, e = T.sh("unshare -m --propagation private sh -c " .. T.quote(c))
    if s == 99 or (s ~= 0 and e:find("unshare", 1, true) and not e:find("workbench", 1, true))
    then
      return nil, "unshare -m / mount --bind failed here: " .. e .. out
    end
    return s, out, e
  end
  T.sh("chmod -R a-w " .. T.quote(ro))
  local s, out, e = T.sh(cmd)
  T.sh("chmod -R u+w " .. T.quote(ro))
  return s, out, e
end

local function wb_cmd(args) return T.quote(T.wb) .. " " .. args .. " </dev/null" end

T.test("--list-runs on a read-only root lists its runs (0), the specs not written, said",
  function()
  local s, out, e = readonly(wb_cmd(T.quote(task) .. " --root " .. T.quote(root)
    .. " --list-runs"))
  if s == nil then error(out) end
  T.eq(s, 0, e)
  local n = 0
  for _ in out:gmatch("%-%-run %x+\n") do n = n + 1 end
  T.eq(n, 2, out)
  T.ok(e:find("Read-only file system", 1, true) or e:find("Permission denied", 1, true), e)
  T.ok(e:find("listed without writing the runs' specs", 1, true), e)
  T.ok(not e:find("stack traceback", 1, true), e)
end)

T.test("reading a read-only root's records works; training there is refused (73)", function()
  local s, out, e = readonly(wb_cmd("-e " .. T.quote(string.format(
    "print(#wb.runs.find{root = %q, task = 'ro_task'})", root))))
  if s == nil then error(out) end
  T.eq(s, 0, e)
  T.eq(out, "2\n")
  s, _, e = readonly(wb_cmd(T.quote(task) .. " --root " .. T.quote(root) .. " --fresh"))
  T.eq(s, 73, e)
  T.ok(e:find("cannot write its runs folder", 1, true), e)
end)

T.done()
