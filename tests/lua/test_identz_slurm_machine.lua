-- A value of the machine a hook reads (wb.sys.hostname()) is recorded by
-- value: reused where it is the same. On Slurm the login node checks the
-- records and the nodes train, so such a run was trained again at every
-- submission, and the only advice was "give the elements what the hooks
-- read (--export=ALL)", which does nothing for a host name. The message now
-- says what happened and what to do; reads.machine_only tells the runs that
-- differ only so (for the Slurm side to leave them to the node: see the
-- identZ report). The cluster is slurm_cluster.lua's; the login node has a
-- host name of its own (a UTS namespace: unshare -u, as root).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()
local C = dofile("tests/lua/slurm_cluster.lua")(T, dir)

local ADVICE = "such a run is reused only on a machine that gives the same value (on a cluster, "
  .. "the node that trained it and the login node that checks records are two machines); to "
  .. "have it reused anywhere, put what the hook derives from the value in the config"

T.test("a machine's value not as recorded says what to do; machine_only tells such runs",
  function()
  local t = reads.track{}
  local function hook() return wb.sys.hostname(), wb.sys.nproc() end
  hook()
  local list = t:stop()
  T.eq(#list, 2, util.canonical(list))
  T.eq(reads.machine_only(list), nil, "as recorded")
  list[1].id, list[1].value = "env:" .. util.fnv1a64("node7"), "node7"
  local path, what = reads.machine_only(list)
  T.eq(path, "wb.sys.hostname()")
  T.ok(what:find("(node7 then, " .. wb.sys.hostname() .. " now): " .. ADVICE, 1, true), what)
  T.eq(select(2, reads.changed(list)), what)
  -- another entry not as recorded: not the machine's alone
  list[3] = {path = dir .. "/gone.txt", id = "1:00"}
  T.eq(reads.machine_only(list), nil)
end)

C.run(function()
  T.test("--slurm from a login node of another host name: the message says what happened",
    function()
    T.eq(T.sh("unshare -u true"), 0, "unshare -u (root) makes another host here")
    local f, root = dir .. "/mach.lua", dir .. "/mach"
    util.write_file(f, (C.TINY:gsub('name = "tiny"', 'name = "mach"')
      :gsub("seeds = {1, 2}", "seeds = {1}")
      :gsub("return {}", "return {h = #wb.sys.hostname()}")))
    local login = "cd / && unshare -u sh -c " .. T.quote("hostname identz-login && timeout "
      .. C.TIMEOUT .. " " .. C.exe .. " " .. f .. " --slurm --root " .. root)
    for i = 1, 2 do
      local st, out, err = C.sh(login)
      T.eq(st, 0, out .. err .. C.logs())
      T.ok(err:find("(" .. wb.sys.hostname() .. " then, identz-login now): " .. ADVICE, 1, true),
        i .. ": " .. err)
      -- the element's record, said as another environment's: no --export advice for it
      T.ok(err:find("A value of the machine cannot be exported", 1, true)
        and not err:find("--export=ALL", 1, true), i .. ": " .. err)
    end
  end)
end)
T.done()
