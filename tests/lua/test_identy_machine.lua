-- The machine's values a hook reads (wb.sys.hostname, nproc, blas_core) are
-- recorded by value, wb.sys.peak_rss_kb as the clock is
-- (wb/identity_reads_sys.lua). Untracked, a hook that branched on the host or
-- the number of processors was reused on another machine, where it trains
-- otherwise.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()

T.test("the machine's values a hook reads are recorded by value, peak memory as the clock",
  function()
  local t = reads.track{}
  local n, h, c = wb.sys.nproc(), wb.sys.hostname(), wb.sys.blas_core()
  local _ = wb.sys.peak_rss_kb()
  local list = t:stop()
  T.eq(#list, 4, util.canonical(list))
  local by = {}
  for _, e in ipairs(list) do by[e.path] = e end
  T.eq(by["wb.sys.nproc()"].value, tostring(n))
  T.eq(by["wb.sys.hostname()"].value, h)
  T.eq(by["wb.sys.blas_core()"].value, c)
  T.eq(by["wb.sys.peak_rss_kb()"].id, reads.sys.CLOCK)
  T.eq(reads.changed(list) == nil, false, "peak memory: never as recorded")
  table.remove(list, 4)
  T.eq(reads.changed(list), nil, "the same machine: as recorded")
  -- recorded on a machine with 64 processors
  local e = util.copy(by["wb.sys.nproc()"])
  e.id, e.value = "env:" .. util.fnv1a64("64"), "64"
  local what = reads.entry_changed(e, {}, true)
  T.ok(what and what:find("(64 then, " .. n .. " now)", 1, true), tostring(what))
  T.eq(require("wb.runner_provenance").read_text(by["wb.sys.nproc()"]), "wb.sys.nproc()=" .. n)
  -- the library's own reads (a record's host) are not a hook's
  t = reads.track{}
  require("wb.root_lock")
  T.eq(#t:stop(), 0)
end)

T.test("a run whose hook branches on the host is cached there, retrained on another host",
  function()
  local path = dir .. "/host.lua"
  util.write_file(path, string.format([[
local ex = wb.experiment({name = "host", base = {epochs = 1,
  subset = {train = 300, test = 100}, validation = false}, seeds = {1},
  build = function(cfg)
    local w = wb.sys.hostname() == "identy-other" and 24 or 16
    return wb.nn.Sequential{wb.nn.Dense(784, w, {activation = "relu"}),
      wb.nn.Dense(w, 10, {activation = "softmax"})}
  end,
  measure = function(model) return {width = model:get_weights()[1]:size(2)} end}, {root = %q})
for _, r in ipairs(ex:run()) do print("width", r.measures.width) end
]], dir .. "/plots"))
  local cmd = "WB_ECHO=0 " .. T.wb .. " " .. path
  local st, out, err = T.sh(cmd)
  T.eq(st, 0, err); T.ok(out:find("width\t16", 1, true), out .. err)
  st, out, err = T.sh(cmd)
  T.eq(st, 0, err); T.ok(err:find("1 cached, 0 to train", 1, true), "not cached: " .. err)
  -- another machine: a host name of its own (a UTS namespace; needs root)
  T.eq(T.sh("unshare -u true"), 0, "unshare -u (root) makes another host here")
  st, out, err = T.sh("unshare -u sh -c " .. T.quote("hostname identy-other && " .. cmd))
  T.eq(st, 0, err)
  T.ok(out:find("width\t24", 1, true), "stale on another host: " .. out .. err)
  T.ok(err:find("wb.sys.hostname() (a value of the machine a hook read) is not as it was",
    1, true), err)
end)

T.done()
